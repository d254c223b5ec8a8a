"""Epstein's civil-violence model (Epstein 2002) as a scenario kind of its own.

``scenario`` reads its TOML files, ``model`` is the Mesa model over the numba core
(``sim.core.epstein``), ``bursts`` measures outbursts, ``runner`` writes run folders and
``plots`` draws them. A file whose ``[scenario]`` table says ``model = "epstein_2002"`` is
dispatched here by ``sim.scenario.load_scenario``.
"""
