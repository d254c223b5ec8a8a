"""The suite's verdict: rows of all seeds combined into one table, and that table as Markdown.

:func:`aggregate` combines the seeds of each (model, case, variant, quantity): the mean, or the
worst seed where a row asks for it (``agg`` = min / max: "everybody through" holds only if it
holds for every seed), and says ``pass``, ``FAIL``, ``info`` (no band: reported for reading) or
``n/a`` (a case the model cannot express). :func:`markdown` writes ``report.md``.
"""

from __future__ import annotations

import math

import pandas as pd

KEYS = ["model", "case", "variant", "quantity"]
COLUMNS = KEYS + ["measured", "low", "high", "unit", "status", "seeds", "spread", "source", "detail"]


def _combine(values: pd.Series, how: str) -> float:
    if values.isna().any():
        return float("nan")
    return float({"min": values.min, "max": values.max}.get(how, values.mean)())


def status(measured: float, low: float, high: float, quantity: str = "") -> str:
    if quantity == "not applicable":
        return "n/a"
    if math.isnan(low) and math.isnan(high):
        return "info"
    if math.isnan(measured):
        return "FAIL"
    ok = (math.isnan(low) or measured >= low - 1e-12) and (math.isnan(high) or measured <= high + 1e-12)
    return "pass" if ok else "FAIL"


def aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per model, case, variant and quantity, in the order first measured."""
    out = []
    for key, g in rows.groupby(KEYS, sort=False, dropna=False):
        first = g.iloc[0]
        measured = _combine(g["measured"], first["agg"])
        seeds = int((g["seed"] >= 0).sum())
        finite = g["measured"].dropna()
        spread = f"{finite.min():.3g}-{finite.max():.3g}" if seeds > 1 and len(finite) else ""
        out.append({**dict(zip(KEYS, key)), "measured": measured, "low": first["low"], "high": first["high"],
                    "unit": first["unit"], "status": status(measured, first["low"], first["high"], first["quantity"]),
                    "seeds": seeds, "spread": spread, "source": first["source"], "detail": first["detail"]})
    return pd.DataFrame(out, columns=COLUMNS)


def all_pass(table: pd.DataFrame) -> bool:
    return not (table["status"] == "FAIL").any()


def _num(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if v == int(v) and abs(v) < 1e6:
        return f"{int(v)}"
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.1f}"


def band_text(low: float, high: float, unit: str) -> str:
    if math.isnan(low) and math.isnan(high):
        return ""
    if math.isnan(high):
        text = f">= {_num(low)}"
    elif math.isnan(low):
        text = f"<= {_num(high)}"
    elif abs(low - high) < 1e-12:
        text = _num(low)
    else:
        text = f"{_num(low)}-{_num(high)}"
    return f"{text} {unit}".strip()


def _cell(text) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def table_markdown(table: pd.DataFrame) -> str:
    lines = ["| model | case | variant | quantity | measured | band | | source, note |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in table.itertuples(index=False):
        measured = "" if r.status == "n/a" else f"{_num(r.measured)} {r.unit}".strip()
        if r.spread:
            measured += f" (seeds {r.spread})"
        note = "; ".join(t for t in (r.source, r.detail) if t)
        mark = {"pass": "pass", "FAIL": "**FAIL**", "info": "", "n/a": "n/a"}[r.status]
        lines.append("| " + " | ".join(_cell(c) for c in (r.model, r.case, r.variant, r.quantity, measured,
                                                          band_text(r.low, r.high, r.unit), mark, note)) + " |")
    return "\n".join(lines)


def markdown(table: pd.DataFrame, *, title: str, facts: dict[str, str], figures: list[str],
             cases_text: list[tuple[str, str, str]]) -> str:
    """``report.md``: what ran, the verdict, the table, the cases with their bands, the figures."""
    counts = table["status"].value_counts()
    verdict = ("all bands met" if all_pass(table) else
               f"{int(counts.get('FAIL', 0))} of {int(counts.get('pass', 0) + counts.get('FAIL', 0))} checks fail")
    out = [f"# {title}", "", f"**{verdict}** ({int(counts.get('pass', 0))} pass, {int(counts.get('FAIL', 0))} fail, "
           f"{int(counts.get('info', 0))} reported without a band, {int(counts.get('n/a', 0))} not applicable)", ""]
    out += [f"- {k}: {v}" for k, v in facts.items()]
    out += ["", "## Results", "", table_markdown(table), "", "## Cases and their bands", ""]
    out += [f"- **{name}** ({title_}): {band}" for name, title_, band in cases_text]
    if figures:
        out += ["", "## Figures", ""] + [f"![{_stem(f)}]({f})" for f in figures]
    return "\n".join(out) + "\n"


def _stem(path: str) -> str:
    """``figures/door_flow.png`` -> ``door flow`` (the figure's alt text)."""
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("_", " ")

