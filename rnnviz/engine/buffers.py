"""Aligned NumPy buffers for the hot loops (shared by the forward and the influence code),
scratch arrays that training's repeated passes reuse, and ufunc buffers sized to short runs."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

__all__ = ["FRESH", "SCRATCH_LIMIT", "Scratch", "aligned", "aligned_empty", "scratch", "ufunc_runs"]


def aligned(a: np.ndarray, align: int = 64) -> np.ndarray:
    """A C-contiguous copy of ``a`` whose data starts on an ``align``-byte boundary.

    OpenBLAS's matrix-vector kernels run up to ~30 % faster on 64-byte aligned operands,
    and NumPy only promises 16.
    """
    out = aligned_empty(a.shape, a.dtype, align)
    out[...] = a
    return out


def aligned_empty(shape, dtype, align: int = 64) -> np.ndarray:
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) * dtype.itemsize
    buf = np.empty(n + align, np.uint8)
    off = (-buf.ctypes.data) % align
    return buf[off : off + n].view(dtype).reshape(shape)


class Scratch:
    """Working arrays for one pass, recycled across passes on the same thread.

    Training repeats the same pass with the same shapes at every update. Fresh arrays of a
    few hundred KiB and up come from ``mmap`` each time, so the kernel zeroes and faults in
    every page again: a fifth of an LSTM update went to that. ``with scratch() as ws:`` lends
    arrays (``ws.empty(shape, dtype)``) from a pool private to the calling thread and takes
    them all back when the block ends. Nothing lent may be kept after the block: a caller
    copies what it returns. ``Scratch(None)`` (``FRESH``) lends fresh arrays and takes nothing
    back, for results that leave the engine.
    """

    __slots__ = ("_pool", "_lent")

    def __init__(self, pool: "_Pool | None"):
        self._pool = pool
        self._lent = []

    def empty(self, shape, dtype) -> np.ndarray:
        # called a score of times per training update: the plain cases first, inline
        if type(shape) is not tuple:  # a tuple's NumPy integers hash and compare as ints
            shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(map(int, shape))
        dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        pool = self._pool
        if pool is None:
            return np.empty(shape, dtype)
        key = (shape, dtype.str)
        stack = pool.free.get(key)
        if stack:
            a = stack.pop()
            pool.nbytes -= a.nbytes
        else:
            a = np.empty(shape, dtype)
        self._lent.append((key, a))
        return a

    def zeros(self, shape, dtype) -> np.ndarray:
        a = self.empty(shape, dtype)
        a.fill(0)
        return a

    def __enter__(self) -> "Scratch":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.give(self._lent)
        self._lent = []


class _Pool:
    """Free arrays by (shape, dtype), least recently used first out when over ``limit`` bytes."""

    def __init__(self, limit: int):
        self.limit = limit
        self.nbytes = 0
        self.free: dict = {}  # insertion order = last use, oldest first

    def give(self, lent) -> None:
        """Take back ``lent``, (key, array) pairs; each key given back becomes the most recently
        used, and the least recently used arrays go while the pool holds more than its limit."""
        free, limit = self.free, self.limit
        for key, a in lent:
            n = a.nbytes
            if n > limit:
                continue
            stack = free.pop(key, None)
            if stack is None:
                stack = []
            stack.append(a)
            free[key] = stack  # (re-)inserted: now the most recently used
            self.nbytes += n
        while self.nbytes > limit:
            oldest = next(iter(free))
            stack = free[oldest]  # may be empty: its arrays are lent
            if stack:
                self.nbytes -= stack.pop(0).nbytes
            if not stack:
                del free[oldest]


#: Bytes each thread keeps for reuse (an H = 128, T = 100, B = 32 LSTM update lends ~25 MiB).
SCRATCH_LIMIT = 128 * 2**20
FRESH = Scratch(None)
_local = threading.local()


def scratch() -> Scratch:
    """A :class:`Scratch` lending from this thread's pool (use it as a context manager)."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = _Pool(SCRATCH_LIMIT)
    return Scratch(pool)


@contextmanager
def ufunc_runs(n: int):
    """NumPy's ufunc buffers at most ``n`` elements long inside the block (a multiple of 16, at
    most the size in force, 8192 by default); the size in force before comes back on exit.

    A pass over arrays that are not contiguous, such as one gate's rows of many steps of a
    (T, 4H, B) array (each step's rows a contiguous run of H·B elements), goes through NumPy's
    buffered iterator, which copies runs shorter than its buffer in and out of the buffer
    (perf: memmove under ``npyiter_copy_to_buffers``). For runs of a thousand elements the
    copies cost more than the arithmetic; with buffers no longer than the runs, the pass works
    on the arrays where they are.
    """
    size = max(16, min(np.getbufsize(), int(n) // 16 * 16))
    old = np.setbufsize(size)
    try:
        yield
    finally:
        np.setbufsize(old)
