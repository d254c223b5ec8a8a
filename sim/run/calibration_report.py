"""What a calibration leaves behind: the posterior as a table, the posterior-predictive check (new
runs at settings drawn from the posterior, with fresh seeds, against the reported bands), the
best-supported settings as a scenario file, summaries in ``calibration.json``, and figures.

The best-supported settings are the particle of the last generation where pyabc's kernel density
estimate of the posterior (its ``MultivariateNormalTransition`` fitted to that generation, in the
parameters' unit coordinates, where the prior is uniform) is highest, so where the posterior most
exceeds the prior: a setting that was simulated and accepted, not a mixture of marginal medians
that may lie where the posterior has no mass.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..atomic import write_file, write_json, write_text

QUANTILES = (0.025, 0.5, 0.975)


def posterior_frame(spec, history, keys, stats) -> pd.DataFrame:
    """Every generation's accepted particles: weight, distance, the applied parameter values, statistics."""
    d = spec.design
    pops = history.get_all_populations()
    eps = dict(zip(pops["t"], pops["epsilon"]))
    rows = []
    for t in range(history.max_t + 1):
        for k, p in enumerate(history.get_population(t).particles):
            row = {"generation": t, "epsilon": float(eps.get(t, math.nan)), "particle": k,
                   "weight": float(p.weight), "distance": float(p.distance)}
            row.update(d.point([q.from_unit(p.parameter[key]) for q, key in zip(d.parameters, keys)]))
            row.update({tg.metric.name: float(p.sum_stat[s]) for s, tg in zip(stats, spec.targets)})
            rows.append(row)
    df = pd.DataFrame(rows)
    for t in df["generation"].unique():  # weights of a generation sum to 1
        sel = df["generation"] == t
        df.loc[sel, "weight"] = df.loc[sel, "weight"] / df.loc[sel, "weight"].sum()
    return df


def write_report(spec, history, ev, out, keys, stats, evaluations_by_generation, info, *, figures=True) -> None:
    from pyabc import MultivariateNormalTransition
    from pyabc.weighted_statistics import effective_sample_size

    d = spec.design
    names = d.names
    post = posterior_frame(spec, history, keys, stats)
    write_file(out / "posterior.parquet", lambda fh: post.to_parquet(fh, index=False), sync=False)
    last = post[post["generation"] == post["generation"].max()].reset_index(drop=True)
    w = last["weight"].to_numpy()

    generations = []
    for t, g in post.groupby("generation"):
        n_eval = int(evaluations_by_generation.get(int(t), 0))
        generations.append({"generation": int(t), "epsilon": _num(g["epsilon"].iloc[0]), "evaluated": n_eval,
                            "accepted": int(len(g)), "acceptance_rate": _num(len(g) / n_eval if n_eval else math.nan),
                            "ess": _num(effective_sample_size(g["weight"].to_numpy()))})
    summary = {}
    for p in d.parameters:
        x = last[p.path].to_numpy(dtype=float)
        q = weighted_quantiles(x, w, QUANTILES)
        mean = float(np.sum(w * x))
        summary[p.path] = {"mean": _num(mean), "sd": _num(math.sqrt(max(float(np.sum(w * (x - mean) ** 2)), 0.0))),
                           "q2.5": _num(q[0]), "median": _num(q[1]), "q97.5": _num(q[2]),
                           "prior": [p.low, p.high], "distribution": p.distribution}

    # best-supported: highest posterior density (pyabc's KDE) among the last generation's particles
    par = pd.DataFrame({k: p.to_unit(last[p.path].to_numpy(dtype=float)) for k, p in zip(keys, d.parameters)})
    if len(last) > len(names) + 1:
        kde = MultivariateNormalTransition()
        kde.fit(par, w)
        density = np.asarray(kde.pdf(par), dtype=float)
    else:
        density = w
    best = last.iloc[int(np.argmax(density))]
    best_params = d.point([float(best[n]) for n in names])
    best_scenario = d.base.with_values({**best_params, "scenario.name": f"{d.base.name} (calibrated)"})
    header = (f"# Best-supported settings of the calibration {d.name!r} ({d.source}):\n"
              f"# the particle of generation {int(best['generation'])} with the highest posterior density\n"
              f"# (distance {best['distance']:.3g}; 1 = every target at the edge of its band).\n"
              + "".join(f"#   {n} = {v}\n" for n, v in best_params.items())
              + "# Run it with: protest-sim run best_scenario.toml\n\n")
    write_text(out / "best_scenario.toml", header + best_scenario.to_toml())

    # posterior-predictive check: fresh runs at settings drawn from the last generation
    rng = np.random.default_rng(np.random.SeedSequence(d.base_seed, spawn_key=(7,)))
    draws = rng.choice(len(last), size=spec.predictive, p=w / w.sum()) if spec.predictive else []
    points = [d.point([float(last.loc[i, n]) for n in names]) for i in draws]
    specs = [ev.spec(pt, d.seed_for(pt, 1 + k), 1 + k) for k, pt in enumerate(points)]
    rows = ev.evaluate(specs, f"{d.name}: posterior predictive") if specs else []
    pred = pd.DataFrame([{"draw": k, "particle": int(i), **pt, "run_id": r["run_id"],
                          **{tg.metric.name: r[tg.metric.name] for tg in spec.targets}}
                         for k, (i, pt, r) in enumerate(zip(draws, points, rows))])
    write_file(out / "predictive.parquet", lambda fh: pred.to_parquet(fh, index=False), sync=False)
    first = post[post["generation"] == 0]
    check = {}
    for tg in spec.targets:
        sim = pred[tg.metric.name].to_numpy(dtype=float) if len(pred) else np.array([])
        sim = sim[np.isfinite(sim)]
        prior = first[tg.metric.name].to_numpy(dtype=float)
        prior = prior[np.isfinite(prior)]
        check[tg.metric.name] = {
            "label": tg.label, "reported": [tg.low, tg.high], "source": tg.source,
            "predictive_median": _num(np.median(sim)) if sim.size else None,
            "predictive_90": [_num(np.quantile(sim, 0.05)), _num(np.quantile(sim, 0.95))] if sim.size else None,
            "predictive_inside": _num(np.mean((sim >= tg.low) & (sim <= tg.high))) if sim.size else None,
            "prior_median": _num(np.median(prior)) if prior.size else None,
            "prior_inside": _num(np.mean((prior >= tg.low) & (prior <= tg.high))) if prior.size else None,
            "closest_simulated": _num(_closest(post, tg)),
        }
    all_d = post["distance"].to_numpy(dtype=float)
    info.update(generations=generations, posterior=summary, predictive_check=check,
                best={"params": best_params, "generation": int(best["generation"]), "distance": _num(best["distance"])},
                final_epsilon=generations[-1]["epsilon"],
                reached_bands=bool(np.isfinite(all_d).any() and np.nanmin(all_d) <= 1.0),
                smallest_distance=_num(np.nanmin(all_d)) if np.isfinite(all_d).any() else None)
    if figures:
        from .calibration_plots import plot_calibration

        info["figures"] = [str(p.relative_to(out)) for p in plot_calibration(spec, post, pred, out / "figures")]
    write_json(out / "calibration.json", info)


def weighted_quantiles(x, w, qs) -> list[float]:
    """Quantiles of ``x`` under weights ``w`` (pyabc's weighted statistics)."""
    from pyabc.weighted_statistics import weighted_quantile

    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    return [float(weighted_quantile(x, w, alpha=q)) if len(x) else math.nan for q in qs]


def _closest(post, tg) -> float:
    v = post[tg.metric.name].to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return float(v[np.argmin(np.abs(v - tg.centre))]) if v.size else math.nan


def _num(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return round(x, 6) if math.isfinite(x) else None
