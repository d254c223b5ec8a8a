"""Trajectories of a run: where everyone was, frame by frame, in map metres.

``file``: the ``trajectories.parquet`` format (columns, compact types, written in row groups as a
run goes, read back whole or in pieces); ``pedpy``: PedPy imported with care and a trajectory
frame as PedPy's ``TrajectoryData``; ``jupedsim``: the SQLite trajectory format JuPedSim writes
and its viewers and PedPy read; ``walkable``: the map's floor as a polygon in metres (the
geometry both formats want).
"""
