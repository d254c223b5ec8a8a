"""Draw the text maps of scenarios/validation/ (0.5 m cells): ``python scripts/draw_validation_maps.py``.

The maps are checked in; this script says how each was drawn, so a change of geometry is a
change here and a fresh run of it. ``#`` wall, ``.`` floor, letters the places and exits that the
scenario files name. North is up; x runs east from the left wall.
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "scenarios" / "validation"
CELL = 0.5


def cells(metres: float) -> int:
    n = metres / CELL
    assert abs(n - round(n)) < 1e-9, f"{metres} m is not a whole number of {CELL} m cells"
    return int(round(n))


def framed_row_exit(rows: list[str], exit_letter: str = "E") -> list[str]:
    """``rows`` walled north, south and west, each ending in an exit cell on the east."""
    width = max(len(r) for r in rows)
    wall = "#" * (width + 2)
    return [wall] + ["#" + r + exit_letter for r in rows] + [wall]


def fundamental_diagram(width_m: float) -> list[str]:
    # 200 m corridor, every floor cell in place C (the crowd is spread uniformly over it)
    return framed_row_exit(["C" * cells(200)] * cells(width_m))


def rimea_6() -> list[str]:
    # RiMEA test 6: 12 m east along a 2 m corridor, then a left turn into a 2 m corridor running
    # 10 m north to the exit; 20 people start in the first 6 m (A)
    arm_x = cells(10)  # the northern arm's west wall is 10 m from the start
    north = ["#" * (arm_x + 1) + "E" * cells(2) + "#"]
    north += ["#" * (arm_x + 1) + "." * cells(2) + "#" for _ in range(cells(10))]
    east = ["#" + "A" * cells(6) + "." * cells(6) + "#" for _ in range(cells(2))]
    return north + east + ["#" * (cells(12) + 2)]


def rimea_7() -> list[str]:
    # 50 start cells (A) one above the other with a free row between (50 walkers 1 m apart, so
    # nobody slows anybody), a 60 m walk east to the exit column
    rows = []
    for k in range(2 * 50 - 1):
        rows.append(("A" if k % 2 == 0 else ".") + "." * (cells(60) - 1))
    return framed_row_exit(rows)


def rimea_9(north_exits: bool) -> list[str]:
    # RiMEA test 9: a 30 m x 20 m room (R); each 30 m wall has two 1 m exits, at 4-5 m and
    # 25-26 m from the west wall (the geometry of JuPedSim's RiMEA 9 test)
    def wall(open_: bool) -> str:
        row = ["#"] * (cells(30) + 2)
        if open_:
            for start in (4, 25):
                for c in range(cells(start), cells(start + 1)):
                    row[1 + c] = "E"
        return "".join(row)

    return [wall(north_exits)] + ["#" + "R" * cells(30) + "#" for _ in range(cells(20))] + [wall(True)]


def bottleneck(door_cells: int) -> list[str]:
    # a 15 m deep, 20 m wide waiting room (R), a 1 m thick wall with a door (D) in its middle,
    # 10 m of open floor behind it and an exit column
    height = cells(20)
    lo = (height - door_cells) // 2
    rows = []
    for y in range(height):
        door = "DD" if lo <= y < lo + door_cells else "##"
        rows.append("R" * cells(15) + door + "." * cells(10))
    return framed_row_exit(rows)


def counterflow(block_m: float) -> list[str]:
    # 50 m x 4 m: eastbound walkers start in the west ``block_m`` (W), westbound in the east
    # ``block_m`` (O); each walks to the exit at the far end (X west, Y east)
    row = "X" + "W" * cells(block_m) + "." * cells(50 - 2 * block_m) + "O" * cells(block_m) + "Y"
    wall = "#" * len(row)
    return [wall] + [row] * cells(4) + [wall]


def crossing() -> list[str]:
    # two 4 m wide, 40 m long corridors crossing at right angles in their middles; eastbound
    # walkers start in the west 10 m (W) and leave east (Y), northbound start in the south 10 m
    # (S) and leave north (N)
    n = cells(40)
    lo, hi = (n - cells(4)) // 2, (n + cells(4)) // 2
    grid = [["#"] * (n + 2) for _ in range(n + 2)]  # [row from the top][column]
    for r in range(n):  # map row r (top = north), column c; floor cell (c, r) at grid[r + 1][c + 1]
        for c in range(n):
            horizontal, vertical = lo <= r < hi, lo <= c < hi
            if horizontal or vertical:
                grid[r + 1][c + 1] = "."
            if horizontal and c < cells(10):
                grid[r + 1][c + 1] = "W"
            if vertical and r >= n - cells(10):
                grid[r + 1][c + 1] = "S"
    for r in range(lo, hi):
        grid[r + 1][n + 1] = "Y"
    for c in range(lo, hi):
        grid[0][c + 1] = "N"
    return ["".join(row) for row in grid]


MAPS = {
    "rimea01_corridor.txt": lambda: framed_row_exit(["A" + "." * (cells(40) - 1)] * cells(2)),
    "rimea04_corridor_4m.txt": lambda: fundamental_diagram(4),
    "rimea04_corridor_10m.txt": lambda: fundamental_diagram(10),
    "rimea06_corner.txt": rimea_6,
    "rimea07_demographics.txt": rimea_7,
    "rimea09_room_4_exits.txt": lambda: rimea_9(True),
    "rimea09_room_2_exits.txt": lambda: rimea_9(False),
    **{f"bottleneck_door_{n}_cells.txt": (lambda n=n: bottleneck(n)) for n in (2, 3, 4, 5)},
    "counterflow.txt": lambda: counterflow(10),
    "counterflow_20m_blocks.txt": lambda: counterflow(20),
    "crossing.txt": crossing,
}


def main() -> None:
    for name, draw in MAPS.items():
        (OUT / name).write_text("\n".join(draw()) + "\n", encoding="utf-8")
        print(OUT / name)


if __name__ == "__main__":
    main()
