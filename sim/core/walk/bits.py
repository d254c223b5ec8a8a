"""Bit grids: who stands where, one bit per cell, for the walking and decision kernels.

A walker reads the occupancy of a 7 x 7 window (its local density) and of its 8 neighbours
every step. As ``int32`` per cell the Bishkek map's occupancy is 32 MB and those reads miss
the caches; as bits it is 1 MB and fits in them, and a window row is one shift and one
population count. The grids are padded by ``PAD`` cells of nothing on every side, so windows
at the map's edge need no clipping.

The numba helpers here (``flip``, ``bits_at``, ``window_count``, ``neighbours_taken``) work on
the padded ``uint64`` array; the reference engines read and write the same array one cell at a
time through :class:`Occupancy`. Two LLVM intrinsics live here too, ``popcount64`` and
``prefetch``.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

PAD = 8  # empty cells around the map: windows up to 2 * PAD + 1 cells wide need no clipping
_ONE = np.uint64(1)
# Index type for hot reads: numba adds a wrap-around for negative values to every signed index
# (three instructions per dimension); an unsigned one is used as it is. Only for indices known
# to be in range: a negative value cast to it reads far out of bounds.
u64 = np.uint64

# the 8 neighbours of a cell, counter-clockwise from east (direction d is DX[d], DY[d])
DX = np.array([1, 1, 0, -1, -1, -1, 0, 1], dtype=np.int64)
DY = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)


@intrinsic
def popcount64(typingctx, value):
    """Number of set bits of an unsigned 64-bit integer (``llvm.ctpop``: one instruction)."""
    if not isinstance(value, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.uint64)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(64), [ir.IntType(64)]),
                                            "llvm.ctpop.i64")
        return builder.call(fn, [v])

    return types.uint64(value), codegen


@intrinsic
def prefetch(typingctx, array, flat_index):
    """Ask the CPU to bring ``array.flat[flat_index]`` into the cache (``llvm.prefetch``, a hint only:
    any index is safe). Lets a kernel overlap the memory latency of agents it will visit soon."""
    if not isinstance(array, types.Array) or not isinstance(flat_index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32]), "llvm.prefetch.p0")
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(array, flat_index), codegen


def words_per_row(ny: int) -> int:
    return (ny + 2 * PAD + 63) // 64 + 1  # one spare word: a row's last bits can be read as a pair


def pack(mask: np.ndarray) -> np.ndarray:
    """A bool/0-1 grid ``[nx, ny]`` as a padded bit grid ``uint64[nx + 2 PAD, words]``."""
    nx, ny = mask.shape
    nw = words_per_row(ny)
    big = np.zeros((nx + 2 * PAD, nw * 64), dtype=np.uint8)
    big[PAD:PAD + nx, PAD:PAD + ny] = np.asarray(mask) != 0
    return np.packbits(big, axis=1, bitorder="little").view(np.uint64).copy()


def unpack(bits: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The bool grid ``[nx, ny]`` a padded bit grid holds."""
    nx, ny = shape
    flat = np.unpackbits(bits.view(np.uint8), axis=1, bitorder="little")
    return flat[PAD:PAD + nx, PAD:PAD + ny].astype(bool)


@njit(cache=True, inline="always")
def get(bits, x, y):
    """1 if cell (x, y) is set."""
    py = y + PAD
    return np.int64((bits[u64(x + PAD), u64(py >> 6)] >> np.uint64(py & 63)) & _ONE)


@njit(cache=True, inline="always")
def flip(bits, x, y):
    """Toggle cell (x, y): a walker leaving or entering it."""
    py = y + PAD
    bits[u64(x + PAD), u64(py >> 6)] ^= _ONE << np.uint64(py & 63)


@njit(cache=True, inline="always")
def bits_at(bits, px, py, width):
    """``width`` (<= 58) bits of padded row ``px`` from padded column ``py``, as an integer."""
    w = u64(py >> 6)
    s = np.uint64(py & 63)
    r = u64(px)
    # the second word shifted in two steps, so a shift of 64 (undefined) never happens
    v = (bits[r, w] >> s) | ((bits[r, w + _ONE] << _ONE) << (np.uint64(63) - s))
    return v & ((_ONE << np.uint64(width)) - _ONE)


@njit(cache=True, inline="always")
def window_count(bits, x, y, r):
    """Set cells in the (2r + 1)-square window around (x, y), clipped to the map (r <= PAD)."""
    total = 0
    py = y + PAD - r
    for px in range(x + PAD - r, x + PAD + r + 1):
        total += popcount64(bits_at(bits, px, py, 2 * r + 1))
    return np.int64(total)


@njit(cache=True, inline="always")
def neighbours_taken(bits, x, y):
    """Bit d set where the neighbour in direction d (``DX[d], DY[d]``) is set."""
    py = y + PAD - 1
    west = bits_at(bits, x + PAD - 1, py, 3)  # bit 0: y - 1, bit 1: y, bit 2: y + 1
    mid = bits_at(bits, x + PAD, py, 3)
    east = bits_at(bits, x + PAD + 1, py, 3)
    out = ((east >> _ONE) & _ONE) | (((east >> np.uint64(2)) & _ONE) << _ONE)
    out |= ((mid >> np.uint64(2)) & _ONE) << np.uint64(2)
    out |= ((west >> np.uint64(2)) & _ONE) << np.uint64(3)
    out |= ((west >> _ONE) & _ONE) << np.uint64(4)
    out |= (west & _ONE) << np.uint64(5)
    out |= (mid & _ONE) << np.uint64(6)
    out |= (east & _ONE) << np.uint64(7)
    return np.int64(out)


class Occupancy:
    """A bit grid read and written one cell at a time, in plain Python (the reference engines).

    Cells off the map fall in the padding, where nobody stands: reads there need no clipping.
    """

    def __init__(self, grid: np.ndarray):
        self.grid = grid

    def _word_bit(self, x: int, y: int) -> tuple[tuple[int, int], int]:
        column = y + PAD
        return (x + PAD, column // 64), column % 64

    def taken(self, x: int, y: int) -> bool:
        word, bit = self._word_bit(x, y)
        return bool((int(self.grid[word]) >> bit) & 1)

    def set(self, x: int, y: int, taken: bool) -> None:
        word, bit = self._word_bit(x, y)
        value = int(self.grid[word])
        self.grid[word] = np.uint64(value | (1 << bit) if taken else value & ~(1 << bit))
