"""Write docs/outputs.md, the data dictionary of run folders, from the model kinds' own dictionaries
(``sim/protest/outputs.py``, ``sim/epstein/outputs.py``), so the document cannot drift from the code.

    python scripts/write_outputs_doc.py           # rewrite docs/outputs.md
    python scripts/write_outputs_doc.py --check   # exit 1 if it is out of date (tests/test_outputs.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.kinds import dictionaries  # noqa: E402
from sim.schema import markdown  # noqa: E402

DOC = ROOT / "docs" / "outputs.md"
INTRO = """\
# What a run writes

`protest-sim run` writes one folder per run (by default `results/runs/<scenario file>-seed<seed>/`):

| file | what it holds |
| --- | --- |
| `summary.json` | the run in numbers: counts at the end, injuries by cause, arrests, means used, first use of force, timings |
| `timeseries.parquet` | counts over time: protesters and police by state and by place, who left by which exit, the gas, the gate |
| `events.csv` | every scenario event, trigger, use of force, injury and arrest, with clock, unit and place |
| `schema.json` | type, unit and meaning of every column and key this run wrote (this document, for that run) |
| `scenario.toml` | the scenario as it ran, defaults filled in |
| `manifest.json` | versions, seed, engine, wall time, commit |
| `figures/` | protest: `timeline.png`, `injuries.png`, `density.png`; Epstein: `counts.png`, `grid.png` |
| `trajectories.parquet` | protest, only with `--trajectories` or `[output] trajectories_every_s`: everyone's position every few seconds, in map metres |
| `gas.parquet` | protest, written with `trajectories.parquet`: the tear-gas cloud the browser view draws, at the same frames (so a replay draws it) |
| `harm_cells.parquet` | protest, only with `[output] harm_cells = true`: per map cell, visits and injuries by cause (the input of `protest-sim harm`) |
| `analysis/` | only after `protest-sim analyze RUN_DIR`: PedPy's densities, speeds and flows (its `about.json` says how) |

Protesters and police are always counted apart: a column or key names its side (`protesters_quiet`,
`police_injured`, `final_counts.police.on_duty`). Types: `number` (a float), `integer`, `text`, `clock`
(text, `HH:MM:SS`), `list`, `object`. Units: `s` seconds, `m` metres, `g` grams, `people` persons,
`share` a fraction from 0 to 1; counts that are not people say what they count (`canisters`). A
`<word>` in a name stands for any name of that kind: `protesters_in_<place>` is one column per place of
the map. In `summary.json` names are paths into the JSON objects: `final_counts.protesters.quiet` is
`summary["final_counts"]["protesters"]["quiet"]`.

`sim.results.read_run(folder)` reads a folder with every column typed as `schema.json` says; with
pandas alone, read `events.csv` with `keep_default_na=False` so that empty text stays empty.

This file is written from `sim/protest/outputs.py` and `sim/epstein/outputs.py` by
`python scripts/write_outputs_doc.py`; a test fails when a run writes a column or key they do not
describe, or when this file is out of date.
"""


def render() -> str:
    return markdown(dictionaries(), intro=INTRO)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.is_file() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC.relative_to(ROOT)} is out of date: run python scripts/write_outputs_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
