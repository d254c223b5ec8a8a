"""The continuous walking model: the Collision-Free Speed Model (Tordeux, Chraibi & Seyfried 2016).

Agents at real-valued positions (m) with a radius, walking on the same map as the grid model: walls
from its raster (``walls``), desired directions from its distance fields (``directions``),
neighbours from a cell list (``cells``), one step in ``kernel`` and its plain-Python twin in
``reference``; ``engine.ContinuousCore`` ties them together.
"""
