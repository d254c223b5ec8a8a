"""Turn latest.json into the scaling figure and the README's performance table."""

from __future__ import annotations

import re
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

START, END = "<!-- perf-table:start -->", "<!-- perf-table:end -->"


def scaling_figure(report: dict, path: Path) -> Path:
    """Agent-steps/s against agent count (log-log): numba and the Python reference, per layout;
    and the Epstein model against Mesa's own example, where measured."""
    fig = Figure(figsize=(7, 4.5), constrained_layout=True)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for layout, rows in report["cases"].get("core_walking", {}).get("layouts", {}).items():
        sizes = sorted(rows, key=int)
        ax.plot([int(n) for n in sizes], [rows[n]["numba_agent_steps_per_s"] for n in sizes], "o-",
                label=f"numba, {layout}")
        ref = [n for n in sizes if "python_agent_steps_per_s" in rows[n]]
        ax.plot([int(n) for n in ref], [rows[n]["python_agent_steps_per_s"] for n in ref], "s--",
                label=f"Python reference, {layout}")
    epstein = [r for r in report["cases"].get("epstein_vs_mesa", {}).get("sizes", {}).values() if "agents" in r]
    if epstein:
        ax.plot([r["agents"] for r in epstein], [r["numba_agent_steps_per_s"] for r in epstein], "^-",
                color="#d62728", label="Epstein model, numba")
        ax.plot([r["agents"] for r in epstein], [r["mesa_agent_steps_per_s"] for r in epstein], "v--",
                color="#7f7f7f", label="Epstein, Mesa's own example")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("agents")
    ax.set_ylabel("agent-steps per second")
    ax.set_title("Walking core on the Bishkek map (0.5 m cells, dt 0.5 s); Epstein on tori")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    return path


def table(report: dict) -> str:
    cases = report["cases"]
    lines = ["| case | measured |", "| --- | --- |"]
    if "full_scenario" in cases:
        c = cases["full_scenario"]
        lines.append(f"| 5 October scenario, {c['agents']:,} agents, {c['sim_seconds'] / 3600:.1f} h simulated | "
                     f"{c['run_seconds']:.0f} s ({c['agent_steps_per_s'] / 1e6:.1f} M agent-steps/s) |")
    for layout, rows in cases.get("core_walking", {}).get("layouts", {}).items():
        for n, row in sorted(rows.items(), key=lambda kv: int(kv[0])):
            ref = f", {row['speedup']:.0f}x the reference" if "speedup" in row else ""
            lines.append(f"| walking core, {int(n):,} agents ({layout}) | "
                         f"{row['numba_agent_steps_per_s'] / 1e6:.2f} M agent-steps/s{ref} |")
    for size, row in cases.get("epstein_vs_mesa", {}).get("sizes", {}).items():
        if "ratio" in row:
            lines.append(f"| Epstein model, {size} torus, {row['agents']:,} agents | "
                         f"{row['numba_agent_steps_per_s'] / 1e6:.2f} M agent-steps/s, "
                         f"{row['ratio']:,.0f}x Mesa's example |")
    if "startup" in cases:
        c = cases["startup"]
        lines.append(f"| start-up to the first step done, cached kernels and fields | walking core: "
                     f"{c['start_up_cached_s']:.1f} s (its first step: {c['first_step_cold_jit_s']:.1f} s with "
                     f"cold JIT, {c['first_step_cached_jit_s']:.2f} s cached); the 5 October scenario: "
                     f"{c['run_start_up_cached_s']:.1f} s |")
        if "peak_rss_mib_1M_agents" in c:
            lines.append(f"| peak memory, 1 million agents | {c['peak_rss_mib_1M_agents']:.0f} MiB |")
    if "gas_diffusion" in cases:
        lines.append(f"| tear-gas step, whole map on 4 m cells | {cases['gas_diffusion']['4m']['ms_per_step_dt_0.5s']:.2f} ms |")
    if "batch_throughput" in cases:
        c = cases["batch_throughput"]
        lines.append(f"| batch of {c['runs']} runs, 2 workers against 1 | {c['speedup_2_vs_1']:.2f}x "
                     f"({c['steady_state_speedup_2_vs_1']:.2f}x once the workers are up); "
                     f"overhead {1e3 * c['overhead_per_run_s']:.0f} ms per run |")
    if "analysis_throughput" in cases:
        c = cases["analysis_throughput"]
        dask = [c[k].get("same_results_on_dask_and_the_process_pool") for k in ("sensitivity", "calibration")]
        same = "" if None in dask else "; the same results on Dask" if all(dask) else "; DIFFERENT results on Dask"
        lines.append(f"| sensitivity and calibration evaluations, 2 workers against 1 | "
                     f"{c['sensitivity']['speedup_2_vs_1']:.2f}x and {c['calibration']['speedup_2_vs_1']:.2f}x{same} |")
    if "calibration_quick" in cases:
        c = cases["calibration_quick"]
        lines.append(f"| the 5 October calibration, --quick ({c['evaluations']} runs of the whole evening) | "
                     f"{c['wall_seconds'] / 60:.0f} min on 2 workers |")
    if "map_import" in cases:
        c = cases["map_import"]
        labels = {"helsinki_center": "central Helsinki, 1.0 x 1.7 km",
                  "city_centre_2km": "2.1 x 2.1 km at its density (the extract 2 x 2)",
                  "finnish_town_2km": "a town, 2.2 x 2.2 km"}
        boxes = [(labels[k], c[k]) for k in labels if k in c]
        imports = "; ".join(f"{b['import_s']:.1f} s" for _, b in boxes)
        loads = "; ".join(f"{b['cached_load_s']:.2f} s" for _, b in boxes)
        lines.append(f"| map import from OpenStreetMap, 0.5 m cells: {'; '.join(label for label, _ in boxes)} | "
                     f"{imports} (from the cache: {loads}) |")
    if "trajectories" in cases:
        lines.append(trajectories_row(cases["trajectories"]))
    if "viz_frames" in cases:
        c = cases["viz_frames"]
        lines.append(f"| browser view, {c['protesters_on_map']:,} protesters ({c['moment']}) | "
                     f"{c['frame_png_fps']:.0f} frames/s drawn and encoded"
                     + (f"; density layer {c['density_png_fps']:.0f}" if "density_png_fps" in c else "") + " |")
    return "\n".join(lines)


def update_readme(report: dict, readme: Path) -> None:
    text = readme.read_text()
    block = f"{START}\n{table(report)}\n{END}"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text)


def trajectories_row(c: dict) -> str:
    return (f"| trajectories every second, 5 October scenario ({c['rows'] / 1e6:.0f} M agent-frames) | "
            f"+{100 * c['overhead_share']:.0f}% wall time ({c['wall_without_s']:.0f} s without, "
            f"{c['wall_with_s']:.0f} s with); {c['bytes_per_agent_frame']:.2f} bytes per agent-frame "
            f"({c['file_bytes'] / 1e6:.0f} MB); analyze {c['analyze_s']:.0f} s |")
