"""Step a model to its end with a progress bar, then write what it computed: the loop every model
kind's run shares, so a run stopped by Ctrl-C or an error keeps its data the same way everywhere."""

from __future__ import annotations

import time

from tqdm import tqdm

from . import gc_pause


def step_to_end(model, name: str, progress: bool, write, chunk: int = 1):
    """Step ``model`` until it stops (``model.running``), with a progress bar over
    ``model.total_steps``, then return ``write(run_seconds, partial=False)``.

    ``chunk`` > 1: ``chunk`` steps at a time by ``model.run_for`` (for a model that stops exactly
    after ``total_steps``, as the Epstein model, which runs them in one call of its engine).
    Stopped by Ctrl-C or an error, or failing to write the complete folder (a figure that cannot
    be drawn), ``write(run_seconds, partial=True)`` keeps what was computed and the exception goes on.
    """
    gc_pause.resume()  # start-up is over
    t_run = time.perf_counter()
    try:
        with tqdm(total=model.total_steps, disable=not progress, unit="step", desc=name,
                  dynamic_ncols=True, mininterval=0.5) as bar:
            while model.running:
                steps = min(chunk, model.total_steps - model.steps_done) if chunk > 1 else 1
                if steps > 1:
                    model.run_for(steps)
                else:
                    model.step()
                bar.update(steps)
        run_s = time.perf_counter() - t_run
        complete = write(run_s, partial=False)
    except BaseException:
        write(time.perf_counter() - t_run, partial=True)
        raise
    return complete
