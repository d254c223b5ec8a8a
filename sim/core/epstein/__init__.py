"""Epstein's civil-violence model (Epstein 2002, model 1): numba kernels and a plain-Python reference.

Each module imports only modules listed before it (nothing is re-exported here):

- ``world``: citizen states, the rules, the agents' arrays, a random world (numpy only);
- ``cells``: the grid of cell codes the kernels work on, and its link to the agents' arrays;
- ``counts``: the cops and actives within vision of every cell;
- ``draws``: the phases' random choices, from the counter-based RNG;
- ``phases``: jail, decisions, arrests, movement;
- ``bundles``: the kernels' arguments;
- ``kernels``: a step and a run of steps, in a parallel and a serial build;
- ``duo``: runs of small grids on two workers;
- ``engine``: ``Kernels``, the fast engine, which picks among those;
- ``reference``: the same step in plain Python, agent by agent.
"""
