"""Turn a scenario's ``[map]`` section into a :class:`GridMap`, whichever kind of map it names."""

from __future__ import annotations

from .gridmap import GridMap


def load_map(spec) -> GridMap:
    """``spec`` is a ``sim.scenario.MapSpec``: a built-in map by name, or a text map with its legend."""
    if spec.builtin:
        from .raster import load_builtin_map

        return load_builtin_map(spec.builtin, spec.cell_size)
    from .ascii import parse_ascii_map

    return parse_ascii_map(spec.ascii, places=dict(spec.places), exits=dict(spec.exits),
                           cell_size=spec.cell_size, name="ascii")
