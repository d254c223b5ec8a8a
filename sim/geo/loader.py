"""Turn a scenario's ``[map]`` section into a :class:`GridMap`, whichever kind of map it names, and
say how many cells it will have before anything is built."""

from __future__ import annotations

from .gridmap import GridMap


def load_map(spec) -> GridMap:
    """``spec`` is a ``sim.protest.sections.MapSpec``: a built-in map by name, an imported map file
    (``sim.geo.mapfile``), or a text map with its legend."""
    if spec.builtin:
        from .raster import load_builtin_map

        return load_builtin_map(spec.builtin, spec.cell_size)
    if getattr(spec, "file", None):
        from .map_raster import load_map_file

        return load_map_file(spec.file, spec.cell_size, key_path="map.file")
    from .ascii import parse_ascii_map

    return parse_ascii_map(spec.ascii, places=dict(spec.places), exits=dict(spec.exits),
                           cell_size=spec.cell_size, name="ascii")


def map_shape(spec) -> tuple[int, int]:
    """The (nx, ny) cells :func:`load_map` would build, without building them (memory is checked
    against this first: a tiny cell size on a city map asks for tens of GB)."""
    if spec.builtin:
        from .raster import builtin_shape

        return builtin_shape(spec.builtin, spec.cell_size)
    if getattr(spec, "file", None):
        from .mapfile import map_shape as file_shape, read_map_file

        return file_shape(read_map_file(spec.file, key_path="map.file"), spec.cell_size)
    from .ascii import drawing_rows

    rows = drawing_rows(spec.ascii)
    return (max((len(r) for r in rows), default=0), len(rows))
