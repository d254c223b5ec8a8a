"""Two threads in one parallel region, meeting at spin barriers: for kernels whose phases are too
short to pay a launch of the thread pool each.

A step of a small grid has a dozen phases of a few microseconds. As ``prange`` loops each phase
wakes numba's threads, which sleep in between (``OMP_WAIT_POLICY=passive``, see ``sim.core``): a
wake cost 13-15 us here, more than the phase. Instead a kernel opens one region of two workers
(``for t in prange(2)``) that run all the steps, each its share of every phase, and wait for each
other between phases at a barrier: two atomic operations and a spin (about 50 ns when both are
running). A waiting worker spins with ``pause`` for a while, then gives its core away
(``sched_yield``) between looks, so on a busy machine it does not hold a core the other needs.

Numba has no atomics for the CPU; the intrinsics here emit LLVM's (sequentially consistent
read-modify-write, acquire loads, release stores), which order the plain loads and stores around
them as a barrier needs.

Nothing guarantees that the two iterations of ``prange(2)`` run at the same time: with one thread
(``numba.set_num_threads(1)``, a nested region, a thread limit) they run one after the other, and a
barrier would wait forever. :func:`join` rules that out: the first worker waits a bounded time for
the second; if it does not come, the first claims the whole run for itself (``parts == 1``), and
a second that comes later finds the claim and does nothing (``parts == 0``).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# sync: int64[SYNC_SIZE], zeroed before each region; one 64-byte line per word the workers share
JOINED, ARRIVED, GENERATION = 0, 8, 16
SYNC_SIZE = 24
SOLO = -(1 << 40)  # JOINED once the first worker has claimed the run alone
SPINS = 2000  # pauses before a waiting worker starts giving its core away between looks
JOIN_PATIENCE = 200_000  # looks (after SPINS) the first worker waits for the second before it runs alone


def _pointer(context, builder, array_type, array, index):
    ary = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, ary, [index])


@intrinsic
def atomic_add(typingctx, array, index, value):
    """``array[index] += value`` as one atomic operation; returns the value before."""
    def codegen(context, builder, signature, args):
        ptr = _pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")
    return array.dtype(array, types.intp, array.dtype), codegen


@intrinsic
def atomic_cas(typingctx, array, index, expected, value):
    """``array[index] = value`` if it holds ``expected``, atomically; returns the value before."""
    def codegen(context, builder, signature, args):
        ptr = _pointer(context, builder, signature.args[0], args[0], args[1])
        pair = builder.cmpxchg(ptr, args[2], args[3], "seq_cst", "seq_cst")
        return builder.extract_value(pair, 0)
    return array.dtype(array, types.intp, array.dtype, array.dtype), codegen


@intrinsic
def atomic_load(typingctx, array, index):
    """``array[index]``, read with acquire ordering (never hoisted out of a loop)."""
    def codegen(context, builder, signature, args):
        ptr = _pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", signature.args[0].dtype.bitwidth // 8)
    return array.dtype(array, types.intp), codegen


@intrinsic
def atomic_store(typingctx, array, index, value):
    """``array[index] = value`` with release ordering."""
    def codegen(context, builder, signature, args):
        ptr = _pointer(context, builder, signature.args[0], args[0], args[1])
        builder.store_atomic(args[2], ptr, "release", signature.args[0].dtype.bitwidth // 8)
        return context.get_dummy_value()
    return types.void(array, types.intp, array.dtype), codegen


@intrinsic
def _pause(typingctx):
    """x86 ``pause``: tells the core this is a spin loop."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                            "llvm.x86.sse2.pause")
        builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(), codegen


@intrinsic
def _sched_yield(typingctx):
    """libc's ``sched_yield``: lets another thread have this core."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
        builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(), codegen


@njit(cache=True, inline="always")
def _wait(looks):
    """Between two looks at a word another worker will change."""
    if looks < SPINS:
        _pause()
    else:
        _sched_yield()


@njit(cache=True)
def join(sync):
    """Called by each worker as it starts: returns ``(part, parts)``. ``parts`` 2: both run, this one
    takes part ``part``; 1: this one runs alone (the other did not start in time); 0: this one
    came after the other claimed the run, and must do nothing."""
    arrived = atomic_add(sync, JOINED, np.int64(1))
    if arrived == 1:
        return 1, 2
    if arrived != 0:
        return 0, 0
    looks = 0
    while atomic_load(sync, JOINED) < 2:
        if looks > SPINS + JOIN_PATIENCE:
            if atomic_cas(sync, JOINED, np.int64(1), np.int64(SOLO)) == 1:
                return 0, 1
        _wait(looks)
        looks += 1
    return 0, 2


@njit(cache=True, inline="always")
def barrier(sync, generation, parts):
    """Waits until all ``parts`` workers have called it for the ``generation``-th time (each counts
    its own calls); returns the next generation. Writes before it are seen by all after it."""
    if parts < 2:
        return generation
    if atomic_add(sync, ARRIVED, np.int64(1)) == parts - 1:
        atomic_store(sync, ARRIVED, np.int64(0))  # before the release: no one arrives earlier
        atomic_store(sync, GENERATION, np.int64(generation + 1))
    else:
        looks = 0
        while atomic_load(sync, GENERATION) == generation:
            _wait(looks)
            looks += 1
    return generation + 1


@njit(cache=True, inline="always")
def share(n, part, parts, align=1):
    """Part ``part`` of ``parts`` (1 or 2) of the range [0, n), cut at a multiple of ``align``."""
    if parts < 2:
        return 0, n
    mid = (n // 2) // align * align
    return (0, mid) if part == 0 else (mid, n)
