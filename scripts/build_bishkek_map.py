"""Build sim/geo/maps/bishkek_center.json from ../shared/research/bishkek_center_sources.json.

The research file holds street centrelines, footprints and open areas with confidence grades
and sources. This script keeps those, adds the hand decisions a walkable map needs (which
open areas are public floor, where the White House gate and its apron are, how streets are
split into named places) and works out where each street leaves the map box (the exits).
Run it from the repository root: ``python scripts/build_bishkek_map.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT.parent / "shared" / "research" / "bishkek_center_sources.json"
OUT = ROOT / "sim" / "geo" / "maps" / "bishkek_center.json"

BBOX = {"south": 42.871, "west": 74.594, "north": 42.882, "east": 74.614}  # the research "core" box
PROJECTION = {"lat0": 42.876, "m_per_deg_lat": 110574.0, "m_per_deg_lon": 81578.0}

# streets of the research file that cross the core box, drawn at the middle of their
# building-to-building width range
STREETS = ["chuy", "kievskaya", "toktogul", "frunze", "abdrakhmanov", "togolok_moldo", "erkindik", "panfilov",
           "razzakov", "orozbekov", "logvinenko", "tynystanov", "pushkin", "abdymomunov"]

SQUARE_W, SQUARE_E = 74.603026, 74.604374  # Ala-Too Square between Panfilov and Razzakov
CHUY_LAT_AT_ERKINDIK = 42.875876
GATE_LON = 74.601  # White House main gate on Chuy (estimated)
FENCE = {"south": 42.8765, "north": 42.878, "west": 74.5995, "east": 74.6025}


def rect(s, w, n, e):
    return [[s, w], [s, e], [n, e], [n, w], [s, w]]


def main() -> None:
    src = json.loads(SOURCES.read_text())
    streets = {s["id"]: s for s in src["streets"]}
    polys = {b["id"]: b for b in src["buildings"] + src["open_areas"] + src["barriers"]}

    out_streets = []
    for sid in STREETS:
        s = streets[sid]
        lo, hi = s["width_m"]["row_building_to_building"]
        out_streets.append({
            "id": sid, "name": s["name_en"], "width_m": (lo + hi) / 2, "centerline": s["centerline_latlon"],
            "confidence": s["geometry_confidence"].split(" ")[0], "source": s["source"],
        })

    def area(aid, polygon=None, name=None, confidence=None, source=None):
        p = polys.get(aid, {})
        return {"id": aid, "name": name or p.get("name", aid), "polygon": polygon or p["polygon"],
                "confidence": confidence or p.get("confidence", "estimated").split(" ")[0],
                "source": source or p.get("source", "")}

    gate_half = 4.0 / PROJECTION["m_per_deg_lon"]  # an 8 m gate
    apron_half = 20.0 / PROJECTION["m_per_deg_lon"]
    areas = [  # public open floor, painted over the built-up background
        area("ala_too_south"), area("ala_too_chuy_crossing"), area("ala_too_north"),
        area("old_square"), area("oak_park"), area("panfilov_park"), area("erkindik_median"),
        area("white_house_forecourt", rect(CHUY_LAT_AT_ERKINDIK, FENCE["west"] - 0.0003, FENCE["south"],
                                           FENCE["east"] + 0.0003),
             name="Open ground between Chuy and the White House fence", confidence="estimated",
             source="research: 'in front of the White House ... the road is flanked by open space'"),
        area("white_house_grounds"),
    ]
    obstacles = [area("white_house"), area("historical_museum"), area("government_house"), area("omurzakov_stadium")]
    fence = polys["white_house_fence"]
    barriers = [{
        "id": "white_house_fence", "name": fence["name"], "polygon": fence["polygon"], "thickness_m": 1.0,
        "confidence": "estimated", "source": fence["source"],
        "gaps": [{"place": "white_house_gate_line", "at": [FENCE["south"], GATE_LON], "width_m": 8.0}],
    }]

    places = [
        # streets first; later entries override earlier ones where they overlap
        {"id": "chuy_west", "street": "chuy", "lon_max": SQUARE_W},
        {"id": "chuy_east", "street": "chuy", "lon_min": SQUARE_W},
        {"id": "kievskaya_west", "street": "kievskaya", "lon_max": SQUARE_W},
        {"id": "kievskaya_east", "street": "kievskaya", "lon_min": SQUARE_W},
        {"id": "erkindik", "street": "erkindik", "lat_max": CHUY_LAT_AT_ERKINDIK},
        {"id": "erkindik_north", "street": "erkindik", "lat_min": CHUY_LAT_AT_ERKINDIK},
        {"id": "erkindik", "area": "erkindik_median"},
    ] + [{"id": sid, "street": sid} for sid in STREETS if sid not in ("chuy", "kievskaya", "erkindik")] + [
        {"id": "white_house_forecourt", "area": "white_house_forecourt"},
        {"id": "white_house_grounds", "area": "white_house_grounds"},
        {"id": "ala_too_square", "area": "ala_too_south"},
        {"id": "ala_too_square", "area": "ala_too_chuy_crossing"},
        {"id": "ala_too_square", "area": "ala_too_north"},
        {"id": "old_square", "area": "old_square"},
        {"id": "oak_park", "area": "oak_park"},
        {"id": "panfilov_park", "area": "panfilov_park"},
        {"id": "white_house_gate", "polygon": rect(FENCE["south"] - 16 / PROJECTION["m_per_deg_lat"],
                                                   GATE_LON - apron_half, FENCE["south"] - 1 / PROJECTION["m_per_deg_lat"],
                                                   GATE_LON + apron_half),
         "note": "the public apron in front of the main gate, 40 m x 15 m"},
        {"id": "white_house_yard", "polygon": rect(FENCE["south"] + 1 / PROJECTION["m_per_deg_lat"],
                                                   GATE_LON - apron_half, FENCE["south"] + 21 / PROJECTION["m_per_deg_lat"],
                                                   GATE_LON + apron_half),
         "note": "inside the fence behind the gate, where police stood"},
        {"id": "white_house_gate_line", "gap": "white_house_fence",
         "note": "the gate itself: an 8 m gap in the fence that scenarios may close"},
    ]
    seen, unique = set(), []
    for p in places:
        if p["id"] not in seen:
            seen.add(p["id"])
            unique.append({"id": p["id"]})

    exits = []
    for s in out_streets:
        for side in _sides_crossed(s["centerline"]):
            exits.append({"id": f"exit_{s['id']}_{side}", "street": s["id"], "side": side})

    data = {
        "name": "bishkek_center",
        "title": "Central Bishkek (Ala-Too Square, White House), as of October 2020",
        "schema": ("Coordinates [lat, lon] (WGS84), projected locally: x = (lon - bbox.west) * m_per_deg_lon, "
                   "y = (lat - bbox.south) * m_per_deg_lat. Rasterized by sim/geo/raster.py: everything is built-up "
                   "(not walkable) but streets (corridors of width_m), areas (walkable polygons) and not obstacles or "
                   "barriers (closed polygons drawn as lines of thickness_m, with gaps). 'places' lists the named "
                   "places; 'painting' says how their cells are found, in order, later overriding earlier; 'exits' "
                   "are the edge cells of streets that leave the box."),
        "generated_by": "scripts/build_bishkek_map.py from ../shared/research/bishkek_center_sources.json",
        "confidence_legend": src["meta"]["confidence_legend"],
        "bbox": BBOX,
        "projection": PROJECTION,
        "streets": out_streets,
        "areas": areas,
        "obstacles": obstacles,
        "barriers": barriers,
        "painting": places,
        "places": unique,
        "exits": exits,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}: {len(out_streets)} streets, {len(unique)} places, {len(exits)} exits")


def _sides_crossed(line) -> list[str]:
    """Which edges of the box the polyline crosses (it leaves the map there)."""
    sides = []
    inside = [BBOX["south"] <= la <= BBOX["north"] and BBOX["west"] <= lo <= BBOX["east"] for la, lo in line]
    for (a, b), (ia, ib) in zip(zip(line, line[1:]), zip(inside, inside[1:])):
        if ia == ib:
            continue
        outer = b if ia else a
        la, lo = outer
        if la < BBOX["south"]:
            sides.append("south")
        elif la > BBOX["north"]:
            sides.append("north")
        elif lo < BBOX["west"]:
            sides.append("west")
        else:
            sides.append("east")
    return list(dict.fromkeys(sides))


if __name__ == "__main__":
    main()
