"""How the kernels use both cores: their explicit ``prange`` loops, and nothing else; numba's
threads started before any kernel runs; and serial twins of parallel kernels for small problems.

``parallel=True`` also turns a kernel's array allocations and whole-array expressions into
parallel loops of their own, each waking the thread pool. In the walking step that cost more
than the walking of a small crowd: grouping 1,000 walkers by strip took 43-106 us with the
allocations made parallel and 10 us without. With ``PRANGE_ONLY`` a kernel is parallel exactly
where its ``prange`` says so.

Numba starts its threads when a parallel kernel is called from Python, not when a serial kernel
calls one. Loaded from numba's cache, such a serial kernel then ran parallel code with no threads
behind it and crashed the process (seen: the reference engine's first step, whose only parallel
code is ``group_by_strip`` under the serial ``turn_sequence``, after a batch had filled the
cache). Every module with parallel kernels imports this one, so the threads are up first.
"""

import types

import numba

PRANGE_ONLY = {"prange": True, "comprehension": False, "setitem": False, "reduction": False, "numpy": False,
               "stencil": False, "fusion": False, "inplace_binop": False}

numba.get_num_threads()  # starts numba's threads (see above)


def serial_twins(namespace: dict, names: list[str]) -> dict:
    """Serial twins of the kernels ``names`` in a module's ``namespace`` (its ``globals()``): the
    same Python code compiled without ``parallel``, calling each other's twins.

    A parallel loop pays the thread pool's launch (1.6 us, measured) even on one thread; a step
    of a small grid runs a dozen of them, about a quarter of its time. Each twin caches under its
    own name (``<qualname>__serial``): numba names cache files after the function, and two
    compilations of one function with different options would otherwise share them."""
    twin_namespace = dict(namespace)
    twins = {}
    for name in names:
        kernel = namespace[name]
        py = kernel.py_func
        twin = types.FunctionType(py.__code__, twin_namespace, py.__name__, py.__defaults__, py.__closure__)
        twin.__qualname__ = f"{py.__qualname__}__serial"
        twin.__module__, twin.__doc__ = py.__module__, py.__doc__
        options = {k: v for k, v in kernel.targetoptions.items() if k not in ("parallel", "nopython")}
        twins[name] = twin_namespace[name] = numba.njit(cache=True, **options)(twin)
    return twins
