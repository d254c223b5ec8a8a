"""The benchmark runner works end to end (a smoke test: it asserts the JSON, never a speed)."""

import json
import subprocess
import sys


def test_quick_benchmarks_write_their_json(tmp_path):
    out = subprocess.run([sys.executable, "benchmarks/run.py", "--quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads((tmp_path / "latest.json").read_text())
    for layout in ("uniform", "square"):
        sizes = report["cases"]["core_walking"]["layouts"][layout]
        assert set(sizes) == {"1000", "10000"}
        assert all(v["numba_agent_steps_per_s"] > 0 and v["speedup"] > 0 for v in sizes.values())
    assert report["cases"]["gas_diffusion"]["4m"]["ms_per_step_dt_0.5s"] > 0
    assert report["cases"]["full_scenario"]["run_seconds"] > 0
    startup = report["cases"]["startup"]
    assert 0 < startup["start_up_cached_s"] < startup["process_cached_s"] and startup["run_start_up_cached_s"] > 0
    batch = report["cases"]["batch_throughput"]
    assert batch["speedup_2_vs_1"] > 0 and batch["same_rows_on_1_and_2_workers"]
    assert report["cases"]["viz_frames"]["frame_png_fps"] > 0
    epstein = report["cases"]["epstein_vs_mesa"]["sizes"]
    assert epstein["100x100"]["ratio"] > 0 and epstein["1000x1000"]["numba_agent_steps_per_s"] > 0
    city = report["cases"]["map_import"]["city_centre_2km"]
    assert city["import_s"] > 0 and city["cached_load_s"] > 0 and city["cells"] > 4000 * 4000  # 2 km at 0.5 m
    traj = report["cases"]["trajectories"]
    assert traj["bytes_per_agent_frame"] > 0 and traj["wall_with_s"] > 0 and traj["analyze_s"] > 0
    assert (tmp_path / "scaling.png").stat().st_size > 1000
    analysis = report["cases"]["analysis_throughput"]
    for kind in ("sensitivity", "calibration"):
        assert analysis[kind]["speedup_2_vs_1"] > 0 and analysis[kind]["same_results_on_1_and_2_workers"]
        assert analysis[kind]["same_results_on_dask_and_the_process_pool"]  # the test extra has dask
    assert report["cases"]["calibration_quick"]["evaluations"] > 0
    cont = report["cases"]["continuous_protest"]
    assert cont["grid"]["run_s"] > 0 and cont["continuous"]["run_s"] > 0 and cont["continuous_over_grid_run_time"] > 0
    jump = report["cases"]["viz_jump"]
    assert jump["clock_reached"] == "20:10:00" and jump["jump_1930_to_2010_s"] > 0 and jump["replay_seek_random_ms_median"] > 0
