"""The validation suite's bands as the tests assert them: measured once per case, model and
variants (a case takes seconds to minutes), every band that holds or fails listed on failure."""

from __future__ import annotations

import functools

import pandas as pd

from sim.verify.cases import measure
from sim.verify.report import band_text


@functools.lru_cache(maxsize=None)
def measured(case: str, values: tuple | None = None, seeds: int = 2, model: str = "grid") -> pd.DataFrame:
    return measure(case, model=model, values=values, seeds=seeds)


def assert_bands(table: pd.DataFrame) -> None:
    """Every band the table holds or fails is held; a failure names each miss with its source."""
    held = table[table["status"].isin(["pass", "FAIL"])]
    assert not held.empty
    failed = held[held["status"] == "FAIL"]
    assert failed.empty, "\n" + "\n".join(
        f"{r.case} {r.variant}: {r.quantity} = {r.measured:.3g} {r.unit}, band {band_text(r.low, r.high, r.unit)} "
        f"({r.source}; {r.detail})" for r in failed.itertuples())
