"""How the kernels use both cores: their explicit ``prange`` loops, and nothing else; and numba's
threads started before any kernel runs.

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

import numba

PRANGE_ONLY = {"prange": True, "comprehension": False, "setitem": False, "reduction": False, "numpy": False,
               "stencil": False, "fusion": False, "inplace_binop": False}

numba.get_num_threads()  # starts numba's threads (see above)
