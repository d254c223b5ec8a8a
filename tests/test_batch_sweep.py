"""Sweep files: parameters, ranges, seeds and run ids; every mistake refused before anything runs."""

import glob
import math
from pathlib import Path

import numpy as np
import pytest

from sim.protest import kind as protest_kind
from sim.run.batch import run_batch
from sim.run.metrics import metric_label, metric_names, metric_value
from sim.run.sweep import derive_seed, load_sweep
from sim.run.batch_plots import mean_ci, t975
from sim.errors import ScenarioError

ROOT = Path(__file__).resolve().parent.parent
SQUARE = ROOT / "scenarios" / "examples" / "square_and_street.toml"
SHIPPED = sorted(glob.glob(str(ROOT / "scenarios" / "sweeps" / "*.toml")))


def _sweep(tmp_path, body: str, *, head: str | None = None, name: str = "s.toml") -> Path:
    head = head if head is not None else f'scenario = "{SQUARE}"\nreplicates = 2\nbase_seed = 3\n'
    path = tmp_path / name
    path.write_text(f"[sweep]\n{head}\n[parameters]\n{body}\n")
    return path


def test_grid_points_ranges_and_plan(tmp_path):
    sweep = load_sweep(_sweep(tmp_path, 'crowds.main.count = [40, 80]\n'
                                        '"events.0.count" = { start = 10, stop = 30, step = 10 }\n'))
    assert sweep.parameters == {"crowds.main.count": (40, 80), "events.0.count": (10, 20, 30)}
    assert [p for p, _ in sweep.points][:2] == [{"crowds.main.count": 40, "events.0.count": 10},
                                                {"crowds.main.count": 40, "events.0.count": 20}]
    # each point's scenario really carries its values
    params, scenario = sweep.points[-1]
    assert scenario.crowds[0].count == 80 and scenario.events[0].count == 30
    plan = sweep.plan()
    assert len(plan) == 6 * 2 and len({r.run_id for r in plan}) == 12 and len({r.seed for r in plan}) == 12
    assert plan == load_sweep(sweep.source).plan()  # ids and seeds are reproducible


def test_ranges_num_log_and_zip(tmp_path):
    sweep = load_sweep(_sweep(tmp_path, 'protest.k = { start = 1.0, stop = 3.0, num = 5 }\n'
                                        'protest.threshold = { start = 0.01, stop = 1, num = 3, log = true }\n'
                                        'crowds.main.count = { start = 20, stop = 60, num = 3 }\n'))
    assert sweep.parameters["protest.k"] == (1.0, 1.5, 2.0, 2.5, 3.0)
    assert sweep.parameters["protest.threshold"] == (0.01, 0.1, 1.0)
    assert sweep.parameters["crowds.main.count"] == (20, 40, 60)
    assert all(isinstance(v, int) for v in sweep.parameters["crowds.main.count"])
    zipped = load_sweep(_sweep(tmp_path, 'crowds.main.count = [40, 60, 80]\nevents.0.count = [10, 20, 30]\n',
                               head=f'scenario = "{SQUARE}"\nmode = "zip"\n', name="z.toml"))
    assert [p for p, _ in zipped.points] == [{"crowds.main.count": c, "events.0.count": e}
                                             for c, e in [(40, 10), (60, 20), (80, 30)]]


def test_seeds_depend_on_content_not_order(tmp_path):
    a = load_sweep(_sweep(tmp_path, "crowds.main.count = [40, 80]\n", name="a.toml")).plan()
    b = load_sweep(_sweep(tmp_path, "crowds.main.count = [80, 60, 40]\n", name="b.toml")).plan()
    by_params = {(r.params["crowds.main.count"], r.replicate): (r.run_id, r.seed) for r in b}
    for r in a:  # adding or reordering values keeps the other runs' ids and seeds, so they are reused
        assert by_params[(r.params["crowds.main.count"], r.replicate)] == (r.run_id, r.seed)
    common = load_sweep(_sweep(tmp_path, "crowds.main.count = [40, 80]\n", name="c.toml",
                               head=f'scenario = "{SQUARE}"\nreplicates = 3\nseeds = "common"\n')).plan()
    assert [r.seed for r in common[:3]] == [r.seed for r in common[3:]]
    assert derive_seed(1, 5, 0) == derive_seed(1, 5, 0) != derive_seed(1, 5, 1) != derive_seed(2, 5, 1)


def test_no_parameters_means_replicates_of_the_base(tmp_path):
    sweep = load_sweep(_sweep(tmp_path, ""))
    assert [p for p, _ in sweep.points] == [{}] and len(sweep.plan()) == 2


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: Path(p).name)
def test_shipped_sweeps_validate(path):
    sweep = load_sweep(path)
    if sweep.mode == "zip":  # a family of named variants (counterfactuals.toml): the first key names them
        lengths = {len(v) for v in sweep.parameters.values()}
        names = next(iter(sweep.parameters.values()))
        assert len(lengths) == 1 and len(set(names)) == len(names) and sweep.replicates >= 3
        assert len(sweep.plan()) == sweep.replicates * len(names)
        return
    assert len(sweep.parameters) == 2 and sweep.replicates >= 3 and sweep.mode == "grid"
    assert len(sweep.plan()) == sweep.replicates * math.prod(len(v) for v in sweep.parameters.values())


# (parameters body, sweep head or None for the default, words the message must contain)
BAD = [
    ("police.guard.count = [1, 2]", None, ["parameters.police.guard.count", "unknown key path", "nothing at"]),
    ("tear_gas.rate_per_mn = [1, 2]", None, ["parameters.tear_gas.rate_per_mn", "did you mean 'rate_per_min'"]),
    ("events.3.count = [1]", None, ["parameters.events.3.count", "no item 3"]),
    ("crowds.main.count = [40, -5]", None, ["parameters.crowds.main.count", "-5", "must be >= 1"]),
    ("crowds.main.count = [40, 5000]", None, ["parameters.crowds.main.count", "holds at most"]),
    ("crowds.main.count = 40", None, ["parameters.crowds.main.count", "expected a list"]),
    ("crowds.main.count = []", None, ["parameters.crowds.main.count", "no values"]),
    ("crowds.main.count = [40, 40]", None, ["parameters.crowds.main.count", "listed twice"]),
    ("scenario.seed = [1, 2]", None, ["parameters.scenario.seed", "base_seed"]),
    ("crowds.main.count = { start = 40, stop = 10, step = 10 }", None, ["parameters.crowds.main.count.step",
                                                                         "never gets"]),
    ("crowds.main.count = { start = 10, stop = 40, step = 10, num = 4 }", None, ["exactly one of step"]),
    ("crowds.main.count = { start = 10, stop = 40, stride = 10 }", None, ["stride"]),
    ("crowds.main.count = [40, 60]\nevents.0.count = [10]", 'scenario = "{s}"\nmode = "zip"', ["equal lengths"]),
    ("", 'scenario = "{s}"\nmetrics = ["injured"]', ["sweep.metrics.0", "unknown metric 'injured'",
                                                     "did you mean"]),
    ("", 'scenario = "{s}"\nmetrics = ["final_counts.active"]', ["sweep.metrics.0", "is now",
                                                                   "final_counts.protesters.active"]),
    ("", 'scenario = "{s}"\nmetrics = ["arrested", "means_used.water_cannon"]',
     ["sweep.metrics.1", "means_used.water_cannon_s", "seconds"]),
    ("", 'scenario = "{s}"\nreplicate = 3', ["sweep.replicate", "did you mean 'replicates'"]),
    ("", 'scenario = "{s}"\nreplicates = 0', ["sweep.replicates", "must be >= 1"]),
    ("", 'scenario = "{s}"\nduration_s = -1', ["sweep.duration_s"]),
    ("", 'scenario = "{s}"\nseeds = "shared"', ["sweep.seeds", "independent"]),
    ("", 'replicates = 2', ["sweep.scenario", "missing"]),
    ("", 'scenario = "no/such/scenario.toml"', ["sweep.scenario", "no such scenario file"]),
]


@pytest.mark.parametrize("body,head,words", BAD, ids=[w[-1][0] + "-" + str(k) for k, w in enumerate(BAD)])
def test_bad_sweeps_are_refused_with_the_key_path(tmp_path, body, head, words):
    path = _sweep(tmp_path, body, head=None if head is None else head.format(s=SQUARE))
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for word in words:
        assert word in message, message


def test_other_file_problems(tmp_path):
    with pytest.raises(ScenarioError, match="no such sweep file"):
        load_sweep(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("[sweep\nscenario = 1")
    with pytest.raises(ScenarioError, match="malformed TOML"):
        load_sweep(tmp_path / "bad.toml")
    (tmp_path / "b.toml").write_text(f'[sweep]\nscenario = "{SQUARE}"\n[batch]\nworkers = 0\n')
    with pytest.raises(ScenarioError, match="batch.workers"):
        load_sweep(tmp_path / "b.toml")
    (tmp_path / "c.toml").write_text(f'[sweep]\nscenario = "{SQUARE}"\n[grid]\n')
    with pytest.raises(ScenarioError, match="unknown key 'grid'"):
        load_sweep(tmp_path / "c.toml")


def test_a_bad_sweep_runs_nothing(tmp_path):
    out = tmp_path / "batch"
    with pytest.raises(ScenarioError, match="unknown key path"):
        run_batch(_sweep(tmp_path, "police.guard.count = [1, 2]"), out=out, progress=False)
    assert not out.exists()


def test_metric_values():
    summary = {"injured_protesters": 3, "first_force_s": None,
               "final_counts": {"protesters": {"quiet": 5}, "police": {"on_duty": 4}},
               "injuries_by_cause": {"protesters": {"gas": 2}, "police": {}}, "means_used": {"water_cannon_s": 12.5}}
    assert metric_value(summary, "injured_protesters", protest_kind) == 3.0
    assert math.isnan(metric_value(summary, "first_force_s", protest_kind))  # no force used
    assert metric_value(summary, "injuries_by_cause.protesters.gas", protest_kind) == 2
    assert metric_value(summary, "injuries_by_cause.police.baton", protest_kind) == 0  # absent from a count family: zero
    assert math.isnan(metric_value(summary, "gate_strength", protest_kind))  # absent: unknown
    assert metric_value(summary, "final_counts.police.on_duty", protest_kind) == 4
    assert metric_value(summary, "final_counts.protesters.left", protest_kind) == 0
    assert metric_value(summary, "means_used.water_cannon_s", protest_kind) == 12.5
    names = metric_names(protest_kind)
    assert "final_counts.protesters.left" in names and "final_counts.police.injured" in names
    assert not set(protest_kind.RENAMED_METRICS) & set(names)
    assert metric_label(protest_kind, "final_counts.police.on_duty") == "police on duty at the end"
    assert metric_label(protest_kind, "means_used.water_cannon_s").startswith("seconds of water cannon jet")


def test_confidence_intervals():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 5, 29, 30, 31, 50, 200):
        assert t975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=2e-3)
    m, lo, hi, n = mean_ci([1.0, 2.0, 3.0, float("nan")])
    assert (m, n) == (2.0, 3) and hi - m == pytest.approx(stats.t.ppf(0.975, 2) / np.sqrt(3), abs=1e-3)
    assert math.isnan(mean_ci([4.0])[1])
