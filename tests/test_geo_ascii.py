"""Text maps: orientation, legends, ragged rows and the mistakes users make."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.geo.ascii import parse_ascii_map


def test_rows_read_north_up_and_columns_east():
    gm = parse_ascii_map("""
        #####
        #A..#
        #..E#
        #####
    """, places={"A": "top_left"}, exits={"E": "door"}, cell_size=2.0, name="room")
    assert gm.shape == (5, 4) and gm.size_m == (10.0, 8.0)
    assert gm.name == "room" and gm.cell_size == 2.0 and gm.origin_latlon is None
    assert gm.walkable.dtype == np.uint8 and gm.place_id.dtype == np.int16
    # the top row is the north edge: 'A' on the second row from the top is at y = 2
    assert gm.place_id[1, 2] == gm.place_index("top_left")
    assert gm.exit_mask()[3, 1] and gm.exit_mask().sum() == 1
    assert gm.places == ("top_left", "door") and gm.exits == ("door",)
    assert gm.walkable.sum() == 6
    assert gm.walkable[:, 0].sum() == 0 and gm.walkable[:, 3].sum() == 0  # the wall rows
    assert gm.place_id[2, 2] == -1  # plain floor belongs to no place


def test_a_corridor_running_north():
    gm = parse_ascii_map("#N#\n#.#\n#.#\n#S#", places={"S": "start"}, exits={"N": "north_exit"})
    assert gm.place_mask("start")[1, 0] and gm.place_mask("north_exit")[1, 3]


def test_several_letters_may_name_one_place():
    gm = parse_ascii_map("ab.\n.ab", places={"a": "square", "b": "square"}, exits={})
    assert gm.places == ("square",) and gm.place_cell_counts() == {"square": 4}


def test_ragged_rows_are_padded_with_wall_and_indentation_is_ignored():
    gm = parse_ascii_map("""

            ......
            ..
            ....A

    """, places={"A": "a"}, exits={})
    assert gm.shape == (6, 3)
    assert gm.walkable[:, 2].tolist() == [1, 1, 1, 1, 1, 1]
    assert gm.walkable[:, 1].tolist() == [1, 1, 0, 0, 0, 0]
    assert gm.walkable[:, 0].tolist() == [1, 1, 1, 1, 1, 0]
    assert gm.place_mask("a")[4, 0]


@pytest.mark.parametrize("text, places, exits, path, words", [
    ("#A#\n#x#", {"A": "a"}, {}, "map.ascii", "not in the legend"),
    ("#A#\n#?#", {"A": "a"}, {}, "map.ascii", "unknown character"),
    ("#A#", {"A": "a", "B": "b"}, {}, "map.places.B", "does not appear"),
    ("#A#", {"A": "a"}, {"E": "e"}, "map.exits.E", "does not appear"),
    ("#A#", {"A": "a"}, {"A": "a"}, "map.exits.A", "both a place and an exit"),
    ("#AE#", {"A": "door"}, {"E": "door"}, "map.exits.E", "both a place and an exit"),
    ("\n   \n\n", {}, {}, "map.ascii", "empty"),
    ("", {}, {}, "map.ascii", "empty"),
    ("###\n###", {}, {}, "map.ascii", "no floor"),
    ("#.#", {"#": "a"}, {}, "map.places.#", "reserved"),
    ("#.#", {"AB": "a"}, {}, "map.places.AB", "single character"),
    ("#A#", {"A": ""}, {}, "map.places.A", "name"),
])
def test_mistakes_name_the_key(text, places, exits, path, words):
    with pytest.raises(ScenarioError) as err:
        parse_ascii_map(text, places=places, exits=exits)
    assert err.value.path == path
    assert words in str(err.value)


def test_the_error_says_where_the_bad_character_is():
    with pytest.raises(ScenarioError, match="row 2, column 3"):
        parse_ascii_map("....\n..z.", places={}, exits={})


def test_bad_cell_size():
    with pytest.raises(ScenarioError) as err:
        parse_ascii_map("..", places={}, exits={}, cell_size=0)
    assert err.value.path == "map.cell_size"


rows = st.lists(st.text(alphabet="#.ABE", min_size=0, max_size=12), min_size=1, max_size=10)


@settings(max_examples=80, deadline=None)
@given(rows, st.integers(0, 6))
def test_random_maps_round_trip(lines, indent):
    text = "\n".join(" " * indent + line for line in lines)
    if not any(c in text for c in ".ABE"):
        text += "\n" + " " * indent + "."
    used = set(text)
    places = {k: v for k, v in (("A", "a"), ("B", "b")) if k in used}
    exits = {"E": "out"} if "E" in used else {}
    gm = parse_ascii_map(text, places=places, exits=exits)
    floor = sum(text.count(c) for c in ".ABE")
    assert gm.walkable.sum() == floor
    counts = gm.place_cell_counts()
    for letter, name in {**places, **exits}.items():
        assert counts[name] == text.count(letter)
    assert gm.exit_mask().sum() == text.count("E")
    # drawing the grid back gives the text (rows top = north, trailing wall trimmed)
    back = {-1: "."} | {k: {v: l for l, v in {**places, **exits}.items()}[n] for k, n in enumerate(gm.places)}
    drawn = ["".join(back[int(gm.place_id[x, y])] if gm.walkable[x, y] else "#" for x in range(gm.shape[0]))
             for y in range(gm.shape[1] - 1, -1, -1)]
    original = [line.rstrip() for line in text.splitlines()]
    while original and not original[0].strip():
        original.pop(0)
    while original and not original[-1].strip():
        original.pop()
    strip = min(len(line) - len(line.lstrip(" ")) for line in original if line.strip())
    original = [line[strip:].replace(" ", "#") for line in original]
    assert [d.rstrip("#") for d in drawn] == [o.rstrip("#") for o in original]
