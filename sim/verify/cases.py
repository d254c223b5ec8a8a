"""The validation cases: what each runs, what it varies, what it measures, and the band it must meet.

A :class:`Case` names its scenario file under ``scenarios/validation/``, the parameter it varies
with the values of a full and of a quick run, the function that runs and measures one value
(``sim.verify.experiments``), an optional summary across values (a ratio, a fit), and the published
band with its source. Cases a grid model cannot express are listed with the reason
(``not_applicable``) rather than faked.

Adding a case: a scenario file (text map, comments with the band's source) under
``scenarios/validation/``, a function in ``experiments`` returning rows made by ``row(...)`` with
their bands, and one entry in :data:`CASES`. ``tests/test_verify.py`` loads every scenario file
and holds every case to its bands (the slow ones under the ``slow`` marker).

From a script::

    from sim.verify.cases import measure
    measure("counterflow", quick=True)          # a DataFrame, one row per quantity and variant
    measure("fundamental_diagram", values=[1.0, 2.0], seeds=3, model="grid")
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable, Iterable

import pandas as pd

from ..errors import ScenarioError
from . import experiments as ex
from .models import WALKING_MODELS, WalkingModel, walking_model


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    scenario: str | None  # file under scenarios/validation/
    parameter: str = ""  # what the case varies ("" if nothing)
    values: tuple = (None,)
    quick_values: tuple | None = None  # None: the same values
    run: Callable | None = None  # (Context, value) -> experiments.Outcome
    summarise: Callable | None = None  # rows of all values of one seed -> more rows
    band: str = ""  # the published band, in words, with its source
    not_applicable: str | None = None  # why a grid model cannot express it

    def values_for(self, quick: bool) -> tuple:
        return self.quick_values if quick and self.quick_values is not None else self.values


CASES: tuple[Case, ...] = (
    Case("rimea_1", "RiMEA 1: walking speed in a corridor", "rimea01_corridor.toml", run=ex.rimea_1,
         band="40 m at 1.33 m/s in 26-34 s (RiMEA 3.0/4.1.1 annex 1, test 1)"),
    Case("rimea_2", "RiMEA 2: walking speed up stairs", None,
         not_applicable="the grid model has no stairs: floor cells have no slope or stair speed"),
    Case("rimea_3", "RiMEA 3: walking speed down stairs", None,
         not_applicable="the grid model has no stairs: floor cells have no slope or stair speed"),
    Case("fundamental_diagram", "RiMEA 4: fundamental diagram, 200 m x 4 m corridor",
         "rimea04_fundamental_diagram.toml", parameter="density /m2",
         values=(0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0), quick_values=(0.5, 1.0, 2.0, 3.0),
         run=ex.fundamental_diagram, summarise=ex.fd_peak_flow,
         band="speed within 10 % of Weidmann (1993) at 0.5-3.5 /m2, and the largest flow within 10 % of "
              "Weidmann's 1.22 /(m s) (issue #21); Zhang et al. 2011's data drawn beside it"),
    Case("fd_wide_corridor", "Fundamental diagram, 200 m x 10 m corridor at 1 /m2", "fd_wide_corridor.toml",
         parameter="density /m2", values=(1.0,), run=ex.fundamental_diagram_wide,
         band="speed within 10 % of Weidmann (1993): about 1.06 m/s (issue #21)"),
    Case("rimea_5", "RiMEA 5: pre-movement time", None,
         not_applicable="not in issue #21's list; a scenario has no per-person pre-movement time (events move "
                        "whole groups), so it is left out rather than approximated"),
    Case("rimea_6", "RiMEA 6: 20 people round a left corner", "rimea06_corner.toml", run=ex.rimea_6,
         band="all go round the corner, nobody through a wall (RiMEA test 6)"),
    Case("rimea_7", "RiMEA 7: demographic walking speeds", "rimea07_demographics.toml", run=ex.rimea_7,
         band="measured speed of each age group within 5 % of its range after Weidmann (RiMEA test 7)"),
    Case("rimea_8", "RiMEA 8: parameter study on a three-storey building", None,
         not_applicable="the grid model is one floor: no storeys or stairs to connect them"),
    Case("rimea_9", "RiMEA 9: 1000 people leave a 30 m x 20 m room", "rimea09_large_room.toml",
         parameter="open exits", values=(4, 2), run=ex.rimea_9, summarise=ex.rimea_9_ratio,
         band="evacuation time about doubles with 2 of 4 exits: 1.6-2.4 (RiMEA test 9; JuPedSim)"),
    Case("bottleneck", "Bottleneck flow against door width", "bottleneck.toml", parameter="door width m",
         values=(0.8, 1.0, 1.2, 1.6, 2.0, 2.5), quick_values=(1.0, 1.6, 2.5), run=ex.bottleneck,
         summarise=ex.bottleneck_linearity,
         band="1.2-1.9 /(m s) (Seyfried et al. 2009; Kretz et al. 2006); total flow linear in width, R2 >= 0.95"),
    Case("counterflow", "Counterflow in a 50 m x 4 m corridor", "counterflow.toml",
         parameter="(people each way, start block m)", values=((60, 10), (80, 10), (160, 20)), run=ex.counterflow,
         band="everybody through within 300 s; lane order >= 0.6 where the streams meet (issue #21)"),
    Case("crossing", "Two 4 m corridors crossing at right angles", "crossing.toml", parameter="people each way",
         values=(80,), run=ex.crossing, band="everybody through the junction within 300 s (issue #21)"),
)


def get(name: str) -> Case:
    for case in CASES:
        if case.name == name:
            return case
    names = [c.name for c in CASES]
    close = difflib.get_close_matches(str(name), names, n=3)
    hint = f"did you mean {', '.join(map(repr, close))}?" if close else f"the cases: {', '.join(names)}"
    raise ScenarioError(f"unknown case {name!r}; {hint}")


def plan(case: Case, *, quick: bool, values: Iterable | None = None) -> tuple:
    """The parameter values a run of ``case`` takes."""
    return tuple(values) if values is not None else case.values_for(quick)


def run_value(case: Case, value, ctx: ex.Context) -> ex.Outcome:
    """One value of one case for one walking model and seed; rows labelled with case, model and seed."""
    outcome = case.run(ctx, value)
    for r in outcome.rows:
        r.update(case=case.name, model=ctx.model.name, seed=ctx.seed)
    return outcome


def summarise(case: Case, rows: list[dict], model: WalkingModel, seed: int) -> list[dict]:
    if case.summarise is None:
        return []
    extra = case.summarise([r for r in rows if r["case"] == case.name and r["model"] == model.name
                            and r["seed"] == seed])
    for r in extra:
        r.update(case=case.name, model=model.name, seed=seed)
    return extra


def not_applicable_rows(case: Case, model: WalkingModel) -> list[dict]:
    return [dict(ex.row("not applicable", None, detail=case.not_applicable), case=case.name, model=model.name,
                 seed=-1)]


def measure(case: str | Case, *, model: str | WalkingModel = "grid", seeds: int | Iterable[int] = 1,
            quick: bool = False, values: Iterable | None = None, engine: str = "numba") -> pd.DataFrame:
    """Run one case (all its values, or ``values``) for one walking model and each seed, and return
    the aggregated table (:func:`sim.verify.report.aggregate`): one row per variant and quantity with
    ``measured``, ``low``, ``high``, ``passed``."""
    from .report import aggregate

    case = get(case) if isinstance(case, str) else case
    model = walking_model(model) if isinstance(model, str) else model
    seed_list = list(range(1, seeds + 1)) if isinstance(seeds, int) else list(seeds)
    if case.not_applicable:
        return aggregate(pd.DataFrame(not_applicable_rows(case, model)))
    rows: list[dict] = []
    for seed in seed_list:
        ctx = ex.Context(model=model, seed=seed, engine=engine)
        for value in plan(case, quick=quick, values=values):
            rows.extend(run_value(case, value, ctx).rows)
        rows.extend(summarise(case, rows, model, seed))
    return aggregate(pd.DataFrame(rows))


__all__ = ["CASES", "Case", "WALKING_MODELS", "get", "measure", "plan", "run_value", "summarise"]
