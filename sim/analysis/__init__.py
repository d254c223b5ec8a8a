"""Analysis of run folders with the field's tools: ``protest-sim analyze`` (PedPy's densities, speeds
and flows in measurement areas, the fundamental diagram, density maps) and ``protest-sim harm``
(per map cell, the chance of being injured there, by cause, over a batch's replicates).

``run_folder``: what analysis needs of a run (its scenario, map and trajectories); ``areas``:
measurement areas from place names or polygons; ``measures``: PedPy in the areas;
``density_maps``: PedPy's density profiles reduced to per-cell maps; ``figures``: their
pictures over the map; ``analyze``: the command; ``harm``, ``harm_plots``: the harm maps.
"""
