"""A zipped family of named variants (as scenarios/sweeps/counterfactuals.toml): its figures compare them."""

import json
from pathlib import Path

from sim.run.batch import run_batch

PURSUIT = Path(__file__).resolve().parent.parent / "scenarios" / "examples" / "pursuit.toml"


def test_a_family_of_variants_gets_figures_of_injuries_actives_and_where_people_went(tmp_path):
    sweep = tmp_path / "family.toml"
    sweep.write_text(f"""
[sweep]
name = "family"
scenario = "{PURSUIT}"
replicates = 2
duration_s = 60
mode = "zip"
metrics = ["arrested", "injured_protesters", "injured_police"]

[parameters]
"scenario.name" = ["indiscriminate", "targeted", "held back"]
"police.unit.targeting" = ["indiscriminate", "targeted", "indiscriminate"]
"triggers.0.posture" = ["pursue", "pursue", "hold"]
""")
    out = run_batch(sweep, workers=1, out=tmp_path / "batch", progress=False)
    info = json.loads((out / "batch.json").read_text())
    assert info["status"] == "complete" and "figures_error" not in info["session"]
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"actives_over_time.png", "injuries_both_sides.png", "where_people_went.png",
            "arrested__vs__scenario.name.png"} <= figures
    # values that repeat (zipped) make no x axis of their own
    assert not any("police.unit.targeting" in f or "triggers.0.posture" in f for f in figures)
    assert all((out / "figures" / f).stat().st_size > 5000 for f in figures if f.endswith(".png"))
