"""Pieces every kind module shares: parameters in the kernels' layout, the input projection,
the tangents' rescaling, and one unit's pre-activation term by term."""

from __future__ import annotations

import functools

import numpy as np

from ..activations import apply
from ..buffers import FRESH, aligned, aligned_empty
from .kind import Preactivation

#: Tangents are rescaled whenever their norm leaves [LO, HI]; the scale is kept as a logarithm.
LO, HI = 1e-10, 1e10
LO2, HI2 = LO * LO, HI * HI


def no_tick(rows):
    return rows


def readonly(*arrays):
    for a in arrays:
        a.flags.writeable = False
    return arrays


@functools.lru_cache(maxsize=4)
def params(cell, dtype):
    """The cell's parameters in the working dtype and the kernels' layout: (W_ih, W_hhᵀ
    64-byte aligned, b_ih, b_hh). Cells are immutable, so repeated runs share one copy."""
    return readonly(
        np.ascontiguousarray(cell.W_ih, dtype=dtype),
        aligned(cell.W_hh.T.astype(dtype)),
        cell.b_ih.astype(dtype),
        cell.b_hh.astype(dtype),
    )


def project(x, W_ih, bias, dtype) -> np.ndarray:
    """x W_ihᵀ + bias for every step at once, into a 64-byte aligned (T, G·H) buffer."""
    out = aligned_empty((x.shape[0], W_ih.shape[0]), dtype)
    np.matmul(x, W_ih.T, out=out)
    out += bias
    return out


def project_batch(x, W_ih, out) -> np.ndarray:
    """x W_ihᵀ for a batch x (T, B, D) into ``out`` (T, B, G·H), as one 2-D product (a 3-D
    matmul runs one small product per step)."""
    np.matmul(x.reshape(-1, x.shape[-1]), W_ih.T, out=out.reshape(-1, out.shape[-1]))
    return out


def prev(first, seq):
    """The sequence shifted by one step: (first, seq[0], …, seq[T−2])."""
    return np.concatenate([first[None, :], seq[:-1]], axis=0)


def weights(rec):
    """(W_ih, W_hh) in the record's dtype, for the tangent and adjoint products."""
    dtype = rec.h.dtype
    return np.ascontiguousarray(rec.cell.W_ih, dtype=dtype), np.ascontiguousarray(rec.cell.W_hh, dtype=dtype)


def renormalise(dh, dc, n2: float, log_scale: float, scale: float):
    """Divide the tangents by their norm when it left [LO, HI] (in place); returns the new
    (log_scale, scale). ``n2`` is ‖dh‖², already computed by the caller's loop."""
    m2 = max(n2, 0.0 if dc is None else float(np.vdot(dc, dc)))
    if np.isfinite(m2) and m2 > 0 and not LO2 < m2 < HI2:
        m = np.sqrt(m2)
        dh /= m
        if dc is not None:
            dc /= m
        log_scale += float(np.log(m))
        scale = float(np.exp(log_scale))
    return log_scale, scale


def act(name: str, v: float) -> float:
    """A scalar through activation ``name`` (float64)."""
    return float(apply(name, np.array([v], dtype=np.float64))[0])


def preactivation(cell, block: int, gate: str, unit: int, x, h_in, activation: str, symbols: dict,
                  r: float | None = None, reset_input: bool = False) -> Preactivation:
    """Unit ``unit``'s pre-activation of gate block ``block``, every term kept (float64).

    ``pre = W_ih[row]·x + b_ih[row] + (W_hh[row]·h_in + b_hh[row])``, the bracket scaled by
    ``r`` when given (the reset-after GRU's candidate).
    """
    row = block * cell.cell_size + unit
    W_x, W_h = cell.W_ih[row], cell.W_hh[row]
    x_terms = W_x * x
    h_terms = W_h * h_in
    Wx, Wh = float(x_terms.sum()), float(h_terms.sum())
    b_ih, b_hh = float(cell.b_ih[row]), float(cell.b_hh[row])
    recurrent = Wh + b_hh
    if r is not None:
        recurrent = r * recurrent
    total = Wx + b_ih + recurrent
    return Preactivation(gate, row, W_x, x_terms, Wx, b_ih, W_h, h_in, h_terms, Wh, b_hh, r,
                         float(recurrent), float(total), activation, act(activation, total),
                         symbols, reset_input)


def batch_state(v, B: int, H: int, dtype) -> np.ndarray:
    """An initial state for a batch: None → zeros (B, H); (H,) is broadcast to every sequence."""
    if v is None:
        return np.zeros((B, H), dtype)
    return np.ascontiguousarray(np.broadcast_to(np.asarray(v, dtype=dtype), (B, H)))


def outside_gradient(g, dtype, ws=FRESH):
    """(dh, live) for a backward sweep: dh (T, B, H) holding g at the last step (the sweep
    fills the others, each step's own g added where ``live[t]``: a loss on the last step only
    adds nothing elsewhere). ``ws`` lends dh (a :class:`~rnnviz.engine.buffers.Scratch`)."""
    g = np.asarray(g)
    dh = ws.empty(g.shape, dtype)
    dh[-1] = g[-1]
    live = np.any(g != 0, axis=tuple(range(1, g.ndim)))
    return dh, live


def _sum_outer(A, X):
    """Σ_t,b A[t, b]ᵀ X[t, b] for A (T, B, M) and X (T, B, N): one product, with no copy of a
    C-contiguous A or X (a transposed view goes to BLAS as it is)."""
    M, N = A.shape[-1], X.shape[-1]
    A2 = A.reshape(-1, M)
    X2 = X.reshape(-1, N)
    return A2.T @ X2


def grads_from_adjoints(rec, A_ih, A_hh, h_in=None):
    """(∂W_ih, ∂W_hh, ∂b_ih, ∂b_hh) from the projections' adjoints A_ih, A_hh (T, B, G·H):

        ∂W_ih = Σ_t,b a_ihᵀ x_t    ∂W_hh = Σ_t,b a_hhᵀ h_in    ∂b = Σ_t,b a

    ``h_in`` (T, B, H) is what W_hh multiplies, by default h_{t−1} (h0, then the record's h).
    A cell with a single bias (``recurrent_bias=False``) gets a zero ∂b_hh: its b_hh is not a
    parameter.
    """
    dW_ih = _sum_outer(A_ih, rec.x)
    if h_in is None:  # h_{t−1}: step 0 reads h0, steps 1… read h[:-1] (no shifted copy)
        dW_hh = _sum_outer(A_hh[1:], rec.h[:-1]) if A_hh.shape[0] > 1 else 0.0
        dW_hh = dW_hh + A_hh[0].T @ np.broadcast_to(rec.h0, A_hh.shape[1:2] + rec.h.shape[2:])
    else:
        dW_hh = _sum_outer(A_hh, h_in)
    db_ih = A_ih.reshape(-1, A_ih.shape[-1]).sum(axis=0)
    if not rec.cell.recurrent_bias:
        db_hh = np.zeros_like(db_ih)
    else:
        db_hh = db_ih.copy() if A_hh is A_ih else A_hh.reshape(-1, A_hh.shape[-1]).sum(axis=0)
    return dW_ih, dW_hh, db_ih, db_hh
