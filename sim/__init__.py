"""protest-sim: protests and their policing on a real city map. Mesa is the face, numba the engine.

The public API: ``load_scenario`` (TOML -> validated Scenario), ``ProtestModel`` (the Mesa
model) and ``run`` (a scenario to a run folder). They are imported lazily so that
``import sim.geo`` or ``import sim.core`` stays light (no Mesa, no pandas).
"""

from importlib import import_module

from . import caches

caches.use_kernel_cache()  # before anything imports numba

_API = {
    "EpsteinModel": "sim.epstein.model",
    "ProtestModel": "sim.protest.model",
    "Scenario": "sim.protest.scenario",
    "ScenarioError": "sim.errors",
    "load_scenario": "sim.kinds",
    "run": "sim.run.runner",
}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
