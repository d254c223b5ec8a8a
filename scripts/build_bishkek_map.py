"""Build sim/geo/maps/bishkek_center.json from ../shared/research/bishkek_center_sources.json.

The research file holds street centrelines, footprints, open areas and landmark points, each
with a confidence grade and its sources. This script copies those it needs (grades and sources
included) and adds the hand decisions a walkable map needs, every one of them listed below
and marked in the JSON (``"hand": ...``), so the map can be rebuilt and argued with:

1. Box and projection: the research "core" box, lat 42.871-42.882, lon 74.594-74.614, local
   equirectangular metres about lat 42.876 (1 deg lat = 110,574 m, 1 deg lon = 81,578 m).
2. Streets: every research street whose corridor reaches into the box, drawn as a floor
   corridor as wide as the middle of its building-to-building range. Tynystanov's estimated
   south end (42.8715, 55 m short of the box edge) is cut back to Toktogul Street, so the map
   has no dead-end stub there.
3. Ala-Too Square is sourced as "Kievskaya (S) to Pushkin (N) ~300 m, Panfilov (W) to Razzakov
   (E) ~130 m": its floor is drawn building line to building line between those four streets
   (the research polygons covered only the paved 110 m and stopped in front of the museum), in
   three parts (south half, the Chuy crossing, north half). The museum stands in the north half
   as an obstacle; its estimated footprint is moved 5 m south so that it stays off Pushkin.
4. Panfilov Park is "surrounded by Frunze St and Panfilov St" and "passes into the White House
   grounds in the south": the research rectangle is stretched to Panfilov Street's building
   line (east), Frunze's (north) and the fence (south). Old Square is stretched north to
   Abdymomunov Street ("on Abdymomunov St"). Oak Park is stretched west to Orozbekov and east to
   Tynystanov Street (its east side in the research notes), keeping its research north/south.
5. The open ground between Chuy and the White House fence ("in front of the White House the road
   is flanked by open space", research) is floor: place ``white_house_forecourt``, from Chuy's
   north building line to the fence, 24 m either side of the fenced frontage up to Panfilov St.
6. White House: the fence is the research rectangle (820 m perimeter, sourced length) drawn as a
   1 m wall; its grounds are floor (police stand there) reachable only through the main gate, an
   8 m gap in the south fence at the research gate point (lon 74.601), which is its own place
   ``white_house_gate_line`` (a later rule closes and opens it). In front of it the public apron
   ``white_house_gate`` (40 m x 15 m), behind it ``white_house_yard`` (40 m x 20 m).
7. Places on streets: Chuy and Kievskaya are split at the square's axis (lon 74.6037) into
   ``*_west`` and ``*_east``; Erkindik at Chuy into ``erkindik`` (south, with its green median)
   and ``erkindik_north`` (up to Oak Park). Where streets cross, the bigger street owns the
   junction (painting order below: minor streets, secondary streets, Erkindik, Abdrakhmanov,
   Chuy), then open areas, then the small White House places; later paint wins.
8. Exits: where a street's centreline crosses the box edge, ``exit_<street>_<side>``: the
   street's floor cells in the outermost metre of the map.

Run it from the repository root: ``python scripts/build_bishkek_map.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT.parent / "shared" / "research" / "bishkek_center_sources.json"
OUT = ROOT / "sim" / "geo" / "maps" / "bishkek_center.json"

BBOX = {"south": 42.871, "west": 74.594, "north": 42.882, "east": 74.614}  # the research "core" box
PROJECTION = {"lat0": 42.876, "m_per_deg_lat": 110574.0, "m_per_deg_lon": 81578.0}
M_LAT, M_LON = PROJECTION["m_per_deg_lat"], PROJECTION["m_per_deg_lon"]

SQUARE_AXIS_LON = 74.6037  # Manas statue / museum / Aitmatov monument line (estimated)
GATE = (42.8765, 74.601)  # White House main gate on Chuy (research point, estimated)
GATE_WIDTH_M = 8.0
APRON = (40.0, 15.0)  # width, depth of the public apron in front of the gate (m)
YARD = (40.0, 20.0)  # width, depth of the yard behind the gate (m)
OVERLAP_M = 1.0  # open areas reach this far into the street they border, so they touch it
MUSEUM_SHIFT_M = -5.0  # north, metres (hand decision 3)
FORECOURT_SIDE_M = 24.0  # forecourt beyond the fence's west side (hand decision 5)

# streets: painting order, minor first (the bigger street owns a junction)
STREET_ORDER = ["logvinenko", "tynystanov", "shopokov", "isanov", "ibraimov", "bokonbaev", "pushkin", "abdymomunov",
                "orozbekov", "razzakov", "panfilov", "togolok_moldo", "frunze", "toktogul", "moskovskaya",
                "zhibek_zholu", "manas_ave", "kievskaya", "erkindik", "abdrakhmanov", "chuy"]
STREET_NAMES = {  # short display names (the research file's names_en carry notes in brackets)
    "chuy": "Chuy Ave", "kievskaya": "Kievskaya St", "toktogul": "Toktogul St", "frunze": "Frunze St",
    "abdrakhmanov": "Abdrakhmanov St", "togolok_moldo": "Togolok Moldo St", "erkindik": "Erkindik Blvd",
    "panfilov": "Panfilov St", "razzakov": "Razzakov St", "orozbekov": "Orozbekov St", "logvinenko": "Logvinenko St",
    "tynystanov": "Tynystanov St", "pushkin": "Pushkin St", "abdymomunov": "Abdymomunov St", "shopokov": "Shopokov St",
    "isanov": "Isanov St", "moskovskaya": "Moskovskaya St", "zhibek_zholu": "Zhibek Zholu Ave",
}
LABEL_ALONG = {  # street label anchors kept off the square and the parks the street runs into
    "panfilov": {"lat_min": 42.8715, "lat_max": 42.8745}, "pushkin": {"lon_min": 74.6047, "lon_max": 74.6057},
    "abdymomunov": {"lon_min": 74.6031, "lon_max": 74.6044},
}
LABEL_OFFSETS_M = {  # crowded small places: name written this far (x, y m) from the place, with a leader line
    "white_house_gate": (45.0, -95.0), "white_house_forecourt": (-30.0, -105.0), "white_house_yard": (0.0, 24.0),
}
OBSTACLE_LABELS = {"white_house": "White House", "historical_museum": "Historical Museum",
                   "government_house": "Government House", "omurzakov_stadium": "Spartak stadium"}
SPLIT_STREETS = {  # street -> its places (hand decision 7)
    "chuy": [("chuy_west", {"lon_max": SQUARE_AXIS_LON}), ("chuy_east", {"lon_min": SQUARE_AXIS_LON})],
    "kievskaya": [("kievskaya_west", {"lon_max": SQUARE_AXIS_LON}), ("kievskaya_east", {"lon_min": SQUARE_AXIS_LON})],
}


def dlat(m: float) -> float:
    return m / M_LAT


def dlon(m: float) -> float:
    return m / M_LON


def rect(s, w, n, e):
    return [[s, w], [s, e], [n, e], [n, w], [s, w]]


def r6(poly):
    return [[round(float(a), 6), round(float(b), 6)] for a, b in poly]


class Street:
    def __init__(self, src: dict):
        self.id = src["id"]
        self.src = src
        lo, hi = src["width_m"]["row_building_to_building"]
        self.width = (lo + hi) / 2
        self.half = self.width / 2
        self.line = np.asarray(src["centerline_latlon"], dtype=float)

    def lat_at(self, lon: float) -> float:
        """Centreline latitude at a longitude (for east-west streets)."""
        order = np.argsort(self.line[:, 1])
        return float(np.interp(lon, self.line[order, 1], self.line[order, 0]))

    def lon_at(self, lat: float) -> float:
        """Centreline longitude at a latitude (for north-south streets)."""
        order = np.argsort(self.line[:, 0])
        return float(np.interp(lat, self.line[order, 0], self.line[order, 1]))

    def north_line(self, lon):  # building line on the north side, OVERLAP_M into the street
        return self.lat_at(lon) + dlat(self.half - OVERLAP_M)

    def south_line(self, lon):
        return self.lat_at(lon) - dlat(self.half - OVERLAP_M)

    def east_line(self, lat):
        return self.lon_at(lat) + dlon(self.half - OVERLAP_M)

    def west_line(self, lat):
        return self.lon_at(lat) - dlon(self.half - OVERLAP_M)

    def xy(self) -> np.ndarray:
        return np.column_stack([(self.line[:, 1] - BBOX["west"]) * M_LON, (self.line[:, 0] - BBOX["south"]) * M_LAT])


def corner(lat_of_lon, lon_of_lat, lat0, lon0):
    """Intersection of a line given as lat(lon) and one given as lon(lat), by fixed-point iteration."""
    lat, lon = lat0, lon0
    for _ in range(6):
        lon = lon_of_lat(lat)
        lat = lat_of_lon(lon)
    return [lat, lon]


def quad(south, north, west, east, lat0, lon0):
    """Quadrilateral bounded by four building lines: south/north as lat(lon), west/east as lon(lat)."""
    sw = corner(south, west, lat0, lon0)
    se = corner(south, east, lat0, lon0)
    ne = corner(north, east, lat0, lon0)
    nw = corner(north, west, lat0, lon0)
    return r6([sw, se, ne, nw, sw])


def const(v):
    return lambda _: v


def box_distance_m(xy: np.ndarray) -> np.ndarray:
    """Distance (m) of points to the box, 0 inside."""
    w, h = (BBOX["east"] - BBOX["west"]) * M_LON, (BBOX["north"] - BBOX["south"]) * M_LAT
    dx = np.maximum(np.maximum(-xy[:, 0], xy[:, 0] - w), 0)
    dy = np.maximum(np.maximum(-xy[:, 1], xy[:, 1] - h), 0)
    return np.hypot(dx, dy)


def densify(xy: np.ndarray, step: float = 1.0) -> np.ndarray:
    out = [xy[:1]]
    for a, b in zip(xy[:-1], xy[1:]):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        t = np.linspace(0, 1, n + 1)[1:, None]
        out.append(a + t * (b - a))
    return np.vstack(out)


def in_box(lat, lon) -> bool:
    return BBOX["south"] <= lat <= BBOX["north"] and BBOX["west"] <= lon <= BBOX["east"]


def sides_crossed(line) -> list[tuple[str, list[float]]]:
    """Which edges of the box the polyline crosses, and where (it leaves the map there)."""
    out = {}
    for a, b in zip(line[:-1], line[1:]):
        if in_box(*a) == in_box(*b):
            continue
        inner, outer = (a, b) if in_box(*a) else (b, a)
        best = None
        for side, k, v in (("south", 0, BBOX["south"]), ("north", 0, BBOX["north"]),
                           ("west", 1, BBOX["west"]), ("east", 1, BBOX["east"])):
            beyond = outer[k] < v if side in ("south", "west") else outer[k] > v
            if beyond:
                t = (v - inner[k]) / (outer[k] - inner[k])
                if best is None or t < best[0]:
                    best = (t, side)
        t, side = best
        at = [round(inner[0] + t * (outer[0] - inner[0]), 6), round(inner[1] + t * (outer[1] - inner[1]), 6)]
        out.setdefault(side, at)
    return list(out.items())


def clip_line_to_box(line: np.ndarray, lat_min=None, lat_max=None, lon_min=None, lon_max=None) -> np.ndarray:
    """The part of a polyline inside the box and the given bounds (densified), for label anchors."""
    pts = densify(line, 0.00002)
    keep = ((pts[:, 0] >= max(BBOX["south"], lat_min or -90)) & (pts[:, 0] <= min(BBOX["north"], lat_max or 90))
            & (pts[:, 1] >= max(BBOX["west"], lon_min or -180)) & (pts[:, 1] <= min(BBOX["east"], lon_max or 180)))
    return pts[keep]


def street_label(line: np.ndarray, **bounds) -> dict:
    """A label anchor halfway along the street's part in the box, and the point 20 m further (the direction)."""
    pts = clip_line_to_box(line, **bounds)
    xy = np.column_stack([pts[:, 1] * M_LON, pts[:, 0] * M_LAT])
    s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))])
    k = int(np.searchsorted(s, s[-1] / 2))
    j = min(len(pts) - 1, int(np.searchsorted(s, s[k] + 20)))
    if j == k:
        k = max(0, k - 1)
    return {"at": r6([pts[k]])[0], "toward": r6([pts[j]])[0]}


def centroid(polys) -> list[float]:
    pts = np.vstack([np.asarray(p)[:-1] for p in polys])
    return r6([pts.mean(axis=0)])[0]


def main() -> None:
    src = json.loads(SOURCES.read_text())
    streets = {s["id"]: Street(s) for s in src["streets"]}
    srcpoly = {b["id"]: b for b in src["buildings"] + src["open_areas"] + src["barriers"]}
    points = {p["id"]: p for p in src["points"]}

    # --- 2. streets whose corridor reaches into the box -------------------------------------------
    chosen = []
    for sid in STREET_ORDER:
        s = streets[sid]
        if box_distance_m(densify(s.xy())).min() < s.half:
            chosen.append(sid)
    leftovers = set(streets) - set(STREET_ORDER)
    assert not leftovers, f"street(s) not placed in STREET_ORDER: {leftovers}"
    tt, tk = streets["tynystanov"], streets["toktogul"]
    end_lat = tk.lat_at(tt.lon_at(tk.lat_at(tt.line[0, 1])))
    cut = np.vstack([[end_lat, tt.lon_at(end_lat)], tt.line[tt.line[:, 0] > end_lat]])
    tt.line = cut
    out_streets = []
    for sid in chosen:
        s = streets[sid]
        entry = {
            "id": sid, "name": s.src["name_en"], "short_name": STREET_NAMES[sid], "name_ru": s.src.get("name_ru", ""),
            "width_m": s.width, "width_range_m": s.src["width_m"]["row_building_to_building"],
            "centerline": r6(s.line), "confidence": s.src["geometry_confidence"].split(" ")[0],
            "source": s.src["source"],
        }
        if sid == "tynystanov":
            entry["hand"] = "south end cut back from lat 42.8715 to Toktogul Street (decision 2)"
        out_streets.append(entry)

    P, R, K, C, PU, AB, OR, TY, FR = (streets[k] for k in ("panfilov", "razzakov", "kievskaya", "chuy", "pushkin",
                                                          "abdymomunov", "orozbekov", "tynystanov", "frunze"))
    fence = srcpoly["white_house_fence"]
    f_s, f_w = fence["polygon"][0]
    f_n, f_e = fence["polygon"][2]

    def area(aid, polygon=None, *, name=None, confidence=None, source=None, hand=None, surface="paved", based_on=None):
        p = srcpoly.get(based_on or aid, {})
        out = {"id": aid, "name": name or p.get("name", aid), "polygon": r6(polygon or p["polygon"]),
               "surface": surface, "confidence": (confidence or p.get("confidence", "estimated")).split(" ")[0],
               "source": source if source is not None else p.get("source", "")}
        if hand:
            out["hand"] = hand
        return out

    # --- 3. Ala-Too Square, building line to building line ----------------------------------------
    lat0, lon0 = 42.8758, SQUARE_AXIS_LON
    sq_w, sq_e = P.east_line, R.west_line
    square_source = ("'square spans Kievskaya->Pushkin 300 m and Razzakov->Panfilov 130 m' (liikola.ru); "
                     "split by Chuy into a northern and a southern half (nomadsland, turkestantravel)")
    square_hand = "drawn between the building lines of Panfilov, Razzakov, Kievskaya and Pushkin (decision 3)"
    ala_south = quad(K.north_line, C.south_line, sq_w, sq_e, lat0, lon0)
    ala_cross = quad(C.south_line, C.north_line, sq_w, sq_e, lat0, lon0)
    ala_north = quad(C.north_line, PU.south_line, sq_w, sq_e, lat0, lon0)
    # --- 4. parks stretched to their bounding streets ---------------------------------------------
    pp = srcpoly["panfilov_park"]["polygon"]
    park_w = pp[0][1]
    panfilov_park = quad(const(f_n), FR.south_line, const(park_w), P.west_line, 42.8795, 74.601)
    osq = srcpoly["old_square"]["polygon"]
    old_square = rect(osq[0][0], osq[0][1], AB.south_line((osq[0][1] + osq[1][1]) / 2), osq[1][1])
    op = srcpoly["oak_park"]["polygon"]
    oak_park = quad(const(op[0][0]), const(op[2][0]), OR.east_line, TY.west_line, 42.878, 74.6075)
    # --- 5. forecourt between Chuy and the fence --------------------------------------------------
    fc_w = f_w - dlon(FORECOURT_SIDE_M)
    forecourt = quad(C.north_line, const(f_s), const(fc_w), P.west_line, 42.8763, 74.601)
    # --- 6. the gate, its apron and the yard ------------------------------------------------------
    g_lat, g_lon = GATE
    apron = rect(g_lat - dlat(1 + APRON[1]), g_lon - dlon(APRON[0] / 2), g_lat - dlat(1), g_lon + dlon(APRON[0] / 2))
    yard = rect(g_lat + dlat(1), g_lon - dlon(YARD[0] / 2), g_lat + dlat(1 + YARD[1]), g_lon + dlon(YARD[0] / 2))
    # Erkindik's green median, stopped at Chuy's south building line
    med = srcpoly["erkindik_median"]["polygon"]
    med_top = C.south_line(streets["erkindik"].lon_at(42.8755)) - dlat(1)
    median = [[med[0][0], med[0][1]], [med[1][0], med[1][1]], [med_top, med[2][1]], [med_top, med[3][1]],
              [med[0][0], med[0][1]]]

    areas = [
        area("ala_too_south", ala_south, confidence="estimated", source=square_source, hand=square_hand),
        area("ala_too_chuy_crossing", ala_cross, confidence="estimated", source=square_source, hand=square_hand),
        area("ala_too_north", ala_north, confidence="estimated", source=square_source, hand=square_hand),
        area("old_square", old_square, hand="stretched north to Abdymomunov Street (decision 4)"),
        area("oak_park", oak_park, surface="park",
             hand="stretched west to Orozbekov and east to Tynystanov (decision 4)"),
        area("panfilov_park", panfilov_park, surface="park",
             hand="stretched to Panfilov St (east), Frunze (north) and the White House fence (south) (decision 4)"),
        area("erkindik_median", median, surface="park", hand="stopped at Chuy's building line"),
        area("white_house_forecourt", forecourt, name="Open ground between Chuy and the White House fence",
             confidence="estimated", source="research: 'in front of the White House and Ala-Too the road is flanked "
             "by open space, not buildings'", hand="decision 5"),
        area("white_house_grounds", surface="grounds"),
        area("white_house_gate_apron", apron, name="Public apron in front of the White House main gate",
             confidence="estimated", source=points["white_house_main_gate"]["source"], hand="decision 6: 40 m x 15 m"),
        area("white_house_yard", yard, name="White House yard behind the main gate (inside the fence)",
             surface="grounds", confidence="estimated", source="special forces assembled 'in the White House yard' "
             "(misk.org.kz)", hand="decision 6: 40 m x 20 m"),
    ]
    museum = [[a + dlat(MUSEUM_SHIFT_M), b] for a, b in srcpoly["historical_museum"]["polygon"]]
    obstacles = [
        area("white_house", surface="building"),
        area("historical_museum", museum, surface="building", based_on="historical_museum",
             hand="moved 5 m south to stay off Pushkin Street (decision 3)"),
        area("government_house", surface="building"),
        area("omurzakov_stadium", surface="building"),
    ]
    for o in obstacles:
        o["short_name"] = OBSTACLE_LABELS[o["id"]]
    barriers = [{
        "id": "white_house_fence", "name": fence["name"], "polygon": fence["polygon"], "thickness_m": 1.0,
        "confidence": "estimated", "source": fence["source"], "notes": fence.get("notes", ""),
        "gaps": [{"place": "white_house_gate_line", "at": list(GATE), "width_m": GATE_WIDTH_M,
                  "name": "White House main gate", "confidence": "estimated",
                  "source": points["white_house_main_gate"]["source"]}],
    }]

    # --- places and the order their cells are painted in ------------------------------------------
    painting, places = [], {}

    def place(pid, kind, label, confidence, name=None):
        if pid not in places:
            label = dict(label) if isinstance(label, dict) else {"at": label}
            if pid in LABEL_OFFSETS_M:
                label["offset_m"] = list(LABEL_OFFSETS_M[pid])
            places[pid] = {"id": pid, "name": name or pid.replace("_", " "), "kind": kind, "label": label,
                           "confidence": confidence}

    erk = streets["erkindik"]
    erk_split = C.lat_at(erk.lon_at(42.8759))
    for sid in chosen:
        s = streets[sid]
        conf = s.src["geometry_confidence"].split(" ")[0]
        if sid in SPLIT_STREETS:
            for pid, bounds in SPLIT_STREETS[sid]:
                painting.append({"id": pid, "street": sid, **bounds})
                place(pid, "street", street_label(s.line, **bounds), conf,
                      f"{STREET_NAMES[sid]} ({pid.rsplit('_', 1)[1]})")
        elif sid == "erkindik":
            painting.append({"id": "erkindik", "street": sid, "lat_max": erk_split})
            painting.append({"id": "erkindik_north", "street": sid, "lat_min": erk_split})
            painting.append({"id": "erkindik", "area": "erkindik_median"})
            place("erkindik", "street", street_label(s.line, lat_max=erk_split), conf, STREET_NAMES[sid])
            place("erkindik_north", "street", street_label(s.line, lat_min=erk_split, lat_max=op[0][0]), conf,
                  f"{STREET_NAMES[sid]} (north)")
        else:
            painting.append({"id": sid, "street": sid})
            place(sid, "street", street_label(s.line, **LABEL_ALONG.get(sid, {})), conf, STREET_NAMES[sid])

    for pid, area_id in (("white_house_forecourt", "white_house_forecourt"),
                         ("white_house_grounds", "white_house_grounds"),
                         ("panfilov_park", "panfilov_park"), ("oak_park", "oak_park"), ("old_square", "old_square"),
                         ("ala_too_square", "ala_too_south"), ("ala_too_square", "ala_too_chuy_crossing"),
                         ("ala_too_square", "ala_too_north"), ("white_house_gate", "white_house_gate_apron"),
                         ("white_house_yard", "white_house_yard")):
        painting.append({"id": pid, "area": area_id})
    painting.append({"id": "white_house_gate_line", "gap": "white_house_fence"})

    by_id = {a["id"]: a for a in areas}
    place("ala_too_square", "square", centroid([ala_south, ala_cross]), "estimated", "Ala-Too Square")
    fc_label = [(forecourt[0][0] + forecourt[3][0]) / 2 + dlat(3), fc_w + dlon(60)]  # west part, clear of the apron
    place("white_house_forecourt", "square", r6([fc_label])[0], "estimated", "White House forecourt")
    place("white_house_gate", "gate", centroid([apron]), "estimated", "White House gate apron")
    place("white_house_yard", "grounds", centroid([yard]), "estimated", "White House yard")
    place("white_house_gate_line", "gate", list(GATE), "estimated", "White House main gate")
    wh = srcpoly["white_house"]["polygon"]
    place("white_house_grounds", "grounds", [round((wh[2][0] + f_n) / 2, 6), round((f_w + f_e) / 2, 6)], "estimated",
          "White House grounds")
    for pid, kind, name in (("panfilov_park", "park", "Panfilov Park"), ("oak_park", "park", "Oak Park"),
                            ("old_square", "square", "Old Square")):
        place(pid, kind, centroid([by_id[pid]["polygon"]]), by_id[pid]["confidence"], name)
    # place list in painting order of first appearance
    order = list(dict.fromkeys(p["id"] for p in painting))
    place_list = [places[p] for p in order]

    # --- 8. exits ----------------------------------------------------------------------------------
    exits = []
    for sid in chosen:
        for side, at in sides_crossed(streets[sid].line.tolist()):
            exits.append({"id": f"exit_{sid}_{side}", "street": sid, "side": side, "label": {"at": at},
                          "confidence": streets[sid].src["geometry_confidence"].split(" ")[0]})

    landmarks = []
    for pid in ("manas_statue_alatoo", "flagpole", "aitmatov_monument", "white_house_main_gate",
                "police_booth_chuy_orozbekov", "april2010_memorial_fence"):
        p = points[pid]
        landmarks.append({"id": pid, "name": p["name"], "latlon": p["latlon"],
                          "confidence": p["confidence"].split(" ")[0], "source": p["source"]})

    data = {
        "name": "bishkek_center",
        "title": "Central Bishkek (Ala-Too Square, White House), October 2020",
        "schema": (
            "Coordinates are [lat, lon] (WGS84), projected locally to metres from the box's south-west corner: "
            "x = (lon - bbox.west) * projection.m_per_deg_lon (east), "
            "y = (lat - bbox.south) * projection.m_per_deg_lat (north). sim/geo/raster.py starts with every cell built-up (not walkable), then paints as floor: "
            "'streets' (corridors width_m wide about 'centerline'), 'areas' (polygons); then as walls: 'obstacles' "
            "(polygons) and 'barriers' (closed polylines thickness_m thick, with 'gaps' left open as their own "
            "place). 'painting' gives, in order (later wins), how the cells of each place are found: {street, "
            "lat_min/lat_max/lon_min/lon_max} = that street's corridor cells within the bounds; {area} = that "
            "polygon's cells; {gap} = that barrier gap's cells. 'places' lists every place (kind: street, square, "
            "park, grounds, gate; label = where to write its name, street labels 'toward' = its direction); "
            "'exits' are places too: the floor cells of 'street' in the outermost metre of the box on 'side'. "
            "Every feature keeps the research 'confidence' grade (legend in confidence_legend) and 'source'; "
            "'hand' says where this map departs from the research file (see scripts/build_bishkek_map.py). "
            "'landmarks' are points for drawing only."),
        "generated_by": "scripts/build_bishkek_map.py from ../shared/research/bishkek_center_sources.json",
        "confidence_legend": src["meta"]["confidence_legend"],
        "bbox": BBOX,
        "projection": PROJECTION,
        "streets": out_streets,
        "areas": areas,
        "obstacles": obstacles,
        "barriers": barriers,
        "landmarks": landmarks,
        "painting": painting,
        "places": place_list,
        "exits": exits,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(out_streets)} streets ({', '.join(chosen)}), "
          f"{len(place_list)} places, {len(exits)} exits")


if __name__ == "__main__":
    main()
