"""Two threads in one parallel region, meeting at spin barriers: for kernels whose phases are too
short to pay a launch of the thread pool each.

A step of a small grid has a dozen phases of a few microseconds. As ``prange`` loops each phase
wakes numba's threads, which sleep in between (``OMP_WAIT_POLICY=passive``, see ``sim.core``): a
wake cost 13-15 us here, more than the phase. Instead a kernel opens one region of two workers
(``for t in prange(2)``) that run all the steps, each its share of every phase, and wait for each
other between phases at a barrier: two atomic operations and a spin (about 50 ns when both are
running). Waits are timed on the processor's time-stamp counter: a worker spins with ``pause``
for ``SPIN_CYCLES``, then gives its core away (``sched_yield``) between looks.

On a busy machine the other worker may not be running at all, its core taken by another program,
and every barrier then waits for a time slice of the scheduler (seen: two processes running two
workers each on two cores, 5-7x slower than one thread each). A wait longer than
``SPIN_CYCLES`` says so, and the kernel goes on with one worker (:func:`alone`).

Numba has no atomics for the CPU; the intrinsics here emit LLVM's (sequentially consistent
read-modify-write, acquire loads, release stores), which order the plain loads and stores around
them as a barrier needs. ``pause`` and the time-stamp counter are x86's: elsewhere
(``AVAILABLE`` False) callers use one thread.

Nothing guarantees that the two iterations of ``prange(2)`` run at the same time: with one thread
(``numba.set_num_threads(1)``, a nested region, a thread limit) they run one after the other, and a
barrier would wait forever. :func:`join` rules that out: the first worker waits ``JOIN_CYCLES`` at
most for the second; if it does not come, the first claims the whole run for itself
(``parts == 1``), and a second that comes later finds the claim and does nothing (``parts == 0``).
"""

from __future__ import annotations

import platform

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# sync: int64[SYNC_SIZE], zeroed before each region; one 64-byte line per word the workers share
JOINED, ARRIVED, GENERATION, LATE, ALONE = 0, 8, 16, 24, 32
SYNC_SIZE = 40
SOLO = -(1 << 40)  # JOINED once the first worker has claimed the run alone
AVAILABLE = platform.machine().lower() in ("x86_64", "amd64")
# in time-stamp counter cycles (about 2.4 GHz here; a few GHz on any x86 of this century)
SPIN_CYCLES = 100_000  # a wait this long (~40 us): the other worker is not running (see alone); from then on
# the waiting worker gives its core away between looks
JOIN_CYCLES = 500_000  # the first worker waits this long (~0.2 ms) for the second before it runs alone; a
# sleeping thread of numba's pool wakes in 15-50 us on a quiet machine, takes milliseconds on a busy one


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


def _call(builder, name, returns):
    """A call of the function ``name`` (an LLVM intrinsic or libc's) that takes no argument."""
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(returns, []), name)
    return builder.call(fn, [])


@intrinsic
def _pause(typingctx):
    """x86 ``pause``: tells the core this is a spin loop."""
    def codegen(context, builder, signature, args):
        _call(builder, "llvm.x86.sse2.pause", ir.VoidType())
        return context.get_dummy_value()
    return types.void(), codegen


@intrinsic
def _sched_yield(typingctx):
    """libc's ``sched_yield``: lets another thread have this core."""
    def codegen(context, builder, signature, args):
        _call(builder, "sched_yield", ir.IntType(32))
        return context.get_dummy_value()
    return types.void(), codegen


@intrinsic
def _cycles(typingctx):
    """The time-stamp counter (``rdtsc``)."""
    def codegen(context, builder, signature, args):
        return _call(builder, "llvm.readcyclecounter", ir.IntType(64))
    return types.int64(), codegen


@njit(cache=True, inline="always")
def _wait(since):
    """Between two looks at a word another worker will change, ``since`` the wait began (in
    cycles); returns how long it has been."""
    waited = _cycles() - since
    if waited < SPIN_CYCLES:
        _pause()
    else:
        _sched_yield()
    return waited


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
    since = _cycles()
    while atomic_load(sync, JOINED) < 2:
        if _wait(since) > JOIN_CYCLES:
            if atomic_cas(sync, JOINED, np.int64(1), np.int64(SOLO)) == 1:
                return 0, 1
    return 0, 2


@njit(cache=True, inline="always")
def barrier(sync, generation, parts):
    """Waits until all ``parts`` workers have called it for the ``generation``-th time (each counts
    its own calls); returns the next generation. Writes before it are seen by all after it."""
    if parts < 2:
        return generation
    if atomic_add(sync, ARRIVED, np.int64(1)) == parts - 1:
        atomic_store(sync, ARRIVED, np.int64(0))  # before the release: no one arrives earlier
        atomic_store(sync, ALONE, atomic_load(sync, LATE))  # read by both after the release (see alone)
        atomic_store(sync, GENERATION, np.int64(generation + 1))
    else:
        since = _cycles()
        while atomic_load(sync, GENERATION) == generation:
            if _wait(since) > SPIN_CYCLES:  # the other worker is not running: the machine is busy
                atomic_store(sync, LATE, np.int64(1))
    return generation + 1


@njit(cache=True, inline="always")
def alone(sync):
    """After a :func:`barrier`, the same answer for both workers: whether one of them has waited
    for the other longer than ``SPIN_CYCLES``, at that barrier or before (the machine is busy:
    the caller should go on with one worker)."""
    return atomic_load(sync, ALONE) != 0


@njit(cache=True, inline="always")
def share(n, part, parts, align=1):
    """Part ``part`` of ``parts`` (1 or 2) of the range [0, n), cut at a multiple of ``align``."""
    if parts < 2:
        return 0, n
    mid = (n // 2) // align * align
    return (0, mid) if part == 0 else (mid, n)
