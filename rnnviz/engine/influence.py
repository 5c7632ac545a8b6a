"""How much of x1 is left: forward Jacobians and backward gradient flow, for any cell kind.

* ``influence[t] = ‖∂h_{t+1}/∂x_1‖_F``, carried forward through the recurrence as tangents
  (∂h/∂x_1 and, for kinds with a cell state, ∂c/∂x_1), through every layer of a stack.
* ``backward_flow``: ‖∂h_T/∂h_t‖_F, what backpropagation through time multiplies together.

The algebra is the kinds' (``tangent_coeffs``, ``jvp``, ``tangent_loop``, ``vjp`` in
``cells/<kind>.py``); this module only drives it. Each step is linear in the tangents, so
they are rescaled whenever their norm leaves [1e-10, 1e10] and the scale is kept as a
logarithm: the curves stay exact far below the smallest float32 (no denormal slowdown) and
the results are float64. (``perturbation``, two forward runs, lives in :mod:`.run`.)
"""

from __future__ import annotations

import numpy as np

from .cells import Stack, kind_of
from .cells.common import HI, LO, no_tick

__all__ = ["forward_influence", "backward_flow", "initial_tangents", "advance_tangents"]

_LO, _HI = LO, HI


def _sq(a) -> float:
    if a is None:
        return 0.0
    v = a.ravel()
    return float(np.dot(v, v))


class _Tangents:
    """Per-layer (∂h/∂x_1, ∂c/∂x_1) with a shared log scale."""

    def __init__(self, n_layers: int, D: int, dtype):
        self.dh = [None] * n_layers
        self.dc = [None] * n_layers
        self.log_scale = 0.0
        self.eye = np.eye(D, dtype=dtype)

    def advance(self, steps, t_local: int, first: bool):
        """``steps``: one (jvp, coeffs) pair per layer, bottom up."""
        dx = self.eye if first else None
        for l, (jvp, k) in enumerate(steps):
            self.dh[l], self.dc[l] = jvp(k, t_local, dx, self.dh[l], self.dc[l])
            dx = self.dh[l]

    def norm(self, layer: int) -> float:
        return float(np.sqrt(_sq(self.dh[layer]))) * float(np.exp(self.log_scale))

    def rescale(self):
        m = max(max(_sq(a), _sq(b)) for a, b in zip(self.dh, self.dc))
        if not np.isfinite(m) or m == 0.0:
            return
        m = np.sqrt(m)
        if _LO < m < _HI:
            return
        for l in range(len(self.dh)):
            if self.dh[l] is not None:
                self.dh[l] /= m
            if self.dc[l] is not None:
                self.dc[l] /= m
        self.log_scale += float(np.log(m))

    def copy(self) -> "_Tangents":
        new = _Tangents(len(self.dh), self.eye.shape[0], self.eye.dtype)
        new.dh = [None if a is None else a.copy() for a in self.dh]
        new.dc = [None if a is None else a.copy() for a in self.dc]
        new.log_scale = self.log_scale
        return new


def _steps(records):
    out = []
    for r in records:
        kind = kind_of(r.cell.kind)
        out.append((kind.jvp, kind.tangent_coeffs(r)))
    return out


def forward_influence(records, tick=no_tick) -> np.ndarray:
    """influence[t] = ‖∂h_{t+1}/∂x_1‖_F for the last of ``records`` (one per layer, bottom up)."""
    steps = _steps(records)
    T = records[0].h.shape[0]
    tan = _Tangents(len(records), records[0].x.shape[1], records[0].h.dtype)
    out = np.empty(T, dtype=np.float64)
    top = len(records) - 1
    with np.errstate(all="ignore"):
        tan.advance(steps, 0, first=True)
        out[0] = tan.norm(top)
        tan.rescale()
        if len(records) == 1:
            _single_layer(records[0], steps[0][1], tan, out, tick)
        else:
            for t in tick(range(1, T)):
                tan.advance(steps, t, first=False)
                out[t] = tan.norm(top)
                tan.rescale()
    return out


def _single_layer(rec, k, tan: _Tangents, out: np.ndarray, tick=no_tick) -> None:
    """Steps 2…T for one layer: x1 no longer enters, so the kind's unrolled loop takes over."""
    dh, dc = tan.dh[0], tan.dc[0]
    if dh is None:  # x1 cannot reach h (W_ih = 0): the influence is zero throughout
        out[1:] = 0.0
        return
    # Row layout (K, H) with K = D tangent directions: x @ Wᵀ products and row-broadcast
    # coefficients are several times faster in NumPy than (H, K) columns. K = 1 uses vectors.
    vec = dh.shape[1] == 1
    dh = dh[:, 0].copy() if vec else np.ascontiguousarray(dh.T)
    if dc is not None:
        dc = dc[:, 0].copy() if vec else np.ascontiguousarray(dc.T)
    tan.log_scale = kind_of(rec.cell.kind).tangent_loop(k, dh, dc, tan.log_scale, out, tick)


def initial_tangents(stack: Stack, dtype) -> _Tangents:
    return _Tangents(len(stack), stack.input_size, dtype)


def advance_tangents(records, tangents: _Tangents, first: bool, layer: int):
    """One step of the tangents for :func:`rnnviz.engine.run.step` (records hold one step)."""
    tan = tangents.copy()
    tan.advance(_steps(records), 0, first)
    value = tan.norm(layer)
    tan.rescale()
    return tan, value


def backward_flow(trace, progress=None) -> np.ndarray:
    """‖∂h_T/∂h_t‖_F for t = 1 … T (row t−1), within the traced layer, float64.

    The last entry is ‖I‖ = √H. For a kind with a cell state (the LSTM) the partial
    derivative holds c_t fixed, and the gradient also flows back through c. This is the
    vanishing (or exploding) gradient of backpropagation through time. ``progress`` is called
    now and then with the fraction done; whatever it raises propagates (to cancel).
    """
    rec = trace.records[trace.layer]
    kind = kind_of(rec.cell.kind)
    k = kind.tangent_coeffs(rec)
    H = rec.cell.hidden_size
    T = rec.h.shape[0]
    Gh = np.eye(H, dtype=rec.h.dtype)
    Gc = None  # ∂h_T/∂c_T is zero (and c may be wider than h, with an LSTM's projection)
    out = np.empty(T, dtype=np.float64)
    log_scale = 0.0
    with np.errstate(all="ignore"):
        for t in range(T - 1, -1, -1):
            if progress is not None and t % 256 == 0:
                progress((T - 1 - t) / T)
            out[t] = np.sqrt(_sq(Gh)) * np.exp(log_scale)
            if t == 0:
                break
            # Gh is ∂h_T/∂h_{t+1} (rows: components of h_T); step back through step t.
            Gh, Gc = kind.vjp(k, t, Gh, Gc)[:2]
            m = np.sqrt(max(_sq(Gh), _sq(Gc)))
            if np.isfinite(m) and m > 0 and not (_LO < m < _HI):
                Gh = Gh / m
                Gc = None if Gc is None else Gc / m
                log_scale += float(np.log(m))
    return out
