"""How the kernels use both cores: their explicit ``prange`` loops, and nothing else.

``parallel=True`` also turns a kernel's array allocations and whole-array expressions into
parallel loops of their own, each waking the thread pool. In the walking step that cost more
than the walking of a small crowd: grouping 1,000 walkers by strip took 43-106 us with the
allocations made parallel and 10 us without. With ``PRANGE_ONLY`` a kernel is parallel exactly
where its ``prange`` says so.
"""

PRANGE_ONLY = {"prange": True, "comprehension": False, "setitem": False, "reduction": False, "numpy": False,
               "stencil": False, "fusion": False, "inplace_binop": False}
