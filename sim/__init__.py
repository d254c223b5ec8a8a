"""protest-sim: protests and their policing on a real city map. Mesa is the face, numba the engine."""
