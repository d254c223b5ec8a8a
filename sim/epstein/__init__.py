"""Epstein's civil-violence model (Epstein 2002) as a model kind of its own.

``scenario`` reads its TOML files, ``model`` is the Mesa model over the numba core
(``sim.core.epstein``), ``mesa_clock`` the one adapter to Mesa's internals its batched runs need,
``bursts`` measures outbursts, ``report`` writes run folders and ``plots`` draws them. ``kind`` is
what the registry (``sim.kinds``) dispatches a file with ``[scenario] model = "epstein_2002"`` to.
"""
