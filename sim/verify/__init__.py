"""The crowd-physics validation suite: the tests a crowd scientist runs first, against published bands.

Each case (``cases.CASES``) is a small scenario file under ``scenarios/validation/`` with a text map,
the parameter it varies, what is measured and the band it must fall in, with the band's source.
Every case runs for every walking model in ``models.WALKING_MODELS``. A run is stepped through the
public model API and recorded as trajectories in metres (``trajectories``); the measurements are
PedPy's (``measure``: classic density, individual and mean speed, N-t and flow through a line), and
``report`` writes one table and the figures. ``protest-sim verify`` runs the suite into a folder
(``suite``); from Python::

    from sim.verify import measure
    table = measure("fundamental_diagram", quick=True)   # one row per measured quantity
"""

from __future__ import annotations


def measure(case: str, **kwargs):
    """Run one case by name; see :func:`sim.verify.cases.measure`."""
    from .cases import measure as _measure

    return _measure(case, **kwargs)
