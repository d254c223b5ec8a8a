"""A tiny OpenStreetMap scene written as .osm XML, so import tests need no download (about 230 x 230 m
of made-up Helsinki: a street, a footway through two fences, a square, a building, a fenced park)."""

from __future__ import annotations

BBOX = (24.940, 60.170, 24.944, 60.172)
BBOX_TEXT = ",".join(str(v) for v in BBOX)


def scene_xml() -> str:
    nodes: dict[int, tuple] = {}
    ways: list[tuple] = []

    def node(lon, lat, **tags):
        nodes[len(nodes) + 1] = (lon, lat, tags)
        return len(nodes)

    def way(ids, **tags):
        ways.append((ids, tags))

    def rect(w, s, e, n):
        a, b, c, d = node(w, s), node(e, s), node(e, n), node(w, n)
        return [a, b, c, d, a]

    # a street crossing the box from west to east: 2 lanes x 3.25 m, no sidewalks
    way([node(24.939, 60.171), node(24.942, 60.171), node(24.945, 60.171)], highway="residential",
        name="Testikatu", sidewalk="no")
    # a footway north from the street, through a fence at a shared node and a gate in another, out of the box
    shared, gate = node(24.9423, 60.1715), node(24.9423, 60.1718, barrier="gate")
    way([node(24.9423, 60.1710), shared, gate, node(24.9423, 60.1725)], highway="footway")
    way([node(24.9418, 60.1715), shared, node(24.9428, 60.1715)], barrier="fence")
    way([node(24.9418, 60.1718), gate, node(24.9428, 60.1718)], barrier="fence")
    # a named square south of the street, a notable building east of it
    way(rect(24.9405, 60.17075, 24.9415, 60.17098), highway="pedestrian", area="yes", place="square",
        name="Koetori")
    way(rect(24.9425, 60.1705, 24.9435, 60.1709), building="yes", name="Testitalo", wikidata="Q1")
    # a park with a fence across it (one 2 m gate) and a pond
    way(rect(24.9403, 60.1712, 24.9415, 60.1720), leisure="park", name="Testipuisto")
    way([node(24.9400, 60.1716), node(24.9409, 60.1716, barrier="gate", width="2"), node(24.9418, 60.1716)],
        barrier="fence")
    way(rect(24.9404, 60.17125, 24.9406, 60.17135), natural="water")
    # a tunnel under it all: not walkable
    way([node(24.9401, 60.1703), node(24.9439, 60.1703)], highway="footway", tunnel="yes")
    return osm_xml(nodes, ways)


def cell_at(gridmap, frame, lon: float, lat: float) -> tuple[int, int]:
    """The cell holding a lon/lat point of the scene (``frame``: the import's LocalFrame)."""
    x, y = frame.xy(lon, lat)
    return int(float(x) // gridmap.cell_size), int(float(y) // gridmap.cell_size)


def osm_xml(nodes: dict[int, tuple], ways: list[tuple], relations: list[tuple] = ()) -> str:
    """Hand-written OSM XML: ``nodes`` {id: (lon, lat, tags)}, ``ways`` [(node ids, tags)] (ids from 1),
    ``relations`` [(members [(type, ref, role)], tags)] (ids from 1)."""
    def tags_xml(tags):
        return "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())

    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="protest-sim tests">']
    for nid, (lon, lat, tags) in nodes.items():
        out.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}">{tags_xml(tags)}</node>')
    for k, (ids, tags) in enumerate(ways, start=1):
        out.append(f'<way id="{k}" version="1">' + "".join(f'<nd ref="{i}"/>' for i in ids) + tags_xml(tags)
                   + "</way>")
    for k, (members, tags) in enumerate(relations, start=1):
        out.append(f'<relation id="{k}" version="1">' + "".join(
            f'<member type="{t}" ref="{r}" role="{role}"/>' for t, r, role in members) + tags_xml(tags)
                   + "</relation>")
    out.append("</osm>")
    return "\n".join(out) + "\n"


def to_pbf(osm_path, pbf_path) -> None:
    """The same data as .osm.pbf (pyosmium's writer), for tests of the binary format."""
    import osmium

    writer = osmium.SimpleWriter(str(pbf_path))
    try:
        for obj in osmium.FileProcessor(str(osm_path)):
            writer.add(obj)
    finally:
        writer.close()
