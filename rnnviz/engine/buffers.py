"""Aligned NumPy buffers for the hot loops (shared by the forward and the influence code)."""

from __future__ import annotations

import numpy as np

__all__ = ["aligned", "aligned_empty"]


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
