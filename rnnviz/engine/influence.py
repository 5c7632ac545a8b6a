"""How much of x1 is left: forward Jacobians, perturbations and backward gradient flow.

* ``influence[t] = ‖∂h_{t+1}/∂x_1‖_F``, carried forward through the recurrence as tangents
  (∂h/∂x_1 and, for the LSTM, ∂c/∂x_1), through every layer of a stack.
* ``perturbation``: ‖h_t(x_1 + ε u) − h_t(x_1)‖ with u the unit vector along (1, …, 1).
* ``backward_flow``: ‖∂h_T/∂h_t‖_F, what backpropagation through time multiplies together.

Each step is linear in the tangents, so they are rescaled whenever their norm leaves
[1e-10, 1e10] and the scale is kept as a logarithm: the curves stay exact far below the
smallest float32 (no denormal slowdown) and the results are float64.

The step derivatives are written once as coefficient arrays over all t (vectorised), so the
per-step work is one matrix product and a few element-wise operations. With ``A = W_hh dh``:

* RNN:  dh' = s ⊙ A, with s = act'(a)
* GRU:  dh' = Σ_blocks Z_b ⊙ A_b + z ⊙ dh (reset after), with
  Z = [σ'_r ⊙ hn ⊙ tanh'_n ⊙ (1−z),  σ'_z ⊙ (h − n),  r ⊙ tanh'_n ⊙ (1−z)]
* LSTM: dc' = Z_i ⊙ A_i + Z_f ⊙ A_f + Z_g ⊙ A_g + f ⊙ dc,  dh' = Z_o ⊙ A_o + o ⊙ tanh'(c') ⊙ dc'
  with Z = [σ'_i ⊙ g, σ'_f ⊙ c_prev, tanh'_g ⊙ i, σ'_o ⊙ tanh(c')]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import apply, derivative
from .buffers import aligned
from .cells import Cell, Stack, as_stack

__all__ = ["forward_influence", "perturbation", "backward_flow"]

_LO, _HI = 1e-10, 1e10


@dataclass(frozen=True, eq=False)
class _Coeffs:
    cell: Cell
    Z: np.ndarray  # (T, G*H) coefficients multiplying W_hh dh (row t)
    Zx_n: np.ndarray | None  # GRU: coefficient of W_in dx in dh'
    keep: np.ndarray | None  # GRU: z; LSTM: f (multiplies dh or dc directly)
    extra: np.ndarray | None  # GRU reset_before: r ;  LSTM: o ⊙ act'(c')
    hprev: np.ndarray | None  # GRU reset_before: h_prev (for dr ⊙ h)
    W_ih: np.ndarray
    W_hh: np.ndarray


def _prev(first, seq):
    return np.concatenate([first[None, :], seq[:-1]], axis=0)


def _coeffs(rec) -> _Coeffs:
    cell = rec.cell
    dtype = rec.h.dtype
    W_ih = np.ascontiguousarray(cell.W_ih, dtype=dtype)
    W_hh = np.ascontiguousarray(cell.W_hh, dtype=dtype)
    act, recact = cell.nonlinearity, cell.recurrent_activation
    if cell.kind == "rnn":
        return _Coeffs(cell, derivative(act, rec.h), None, None, None, None, W_ih, W_hh)
    if cell.kind == "gru":
        r, z, n = (rec.gate(k) for k in "rzn")
        hprev = _prev(rec.h0, rec.h)
        sr, sz, sn = derivative(recact, r), derivative(recact, z), derivative(act, n)
        zn = (1.0 - z) * sn  # ∂h'/∂a_n
        if cell.reset_after:
            Z = np.concatenate([sr * rec.hn * zn, sz * (hprev - n), r * zn], axis=1)
            return _Coeffs(cell, Z, zn, z, None, None, W_ih, W_hh)
        Z = np.concatenate([sr * hprev, sz * (hprev - n), zn], axis=1)
        return _Coeffs(cell, Z, zn, z, r, hprev, W_ih, W_hh)
    i, f, g, o = (rec.gate(k) for k in "ifgo")
    cprev = _prev(rec.c0, rec.c)
    tc = apply(act, rec.c.copy())
    Z = np.concatenate(
        [derivative(recact, i) * g, derivative(recact, f) * cprev, derivative(act, g) * i,
         derivative(recact, o) * tc],
        axis=1,
    )
    return _Coeffs(cell, Z, None, f, o * derivative(act, tc), None, W_ih, W_hh)


def _jvp(k: _Coeffs, t: int, dx, dh, dc):
    """Tangents after step t from tangents before it; dx/dh/dc None mean zero. (H, K) arrays."""
    cell = k.cell
    H = cell.hidden_size
    Zt = k.Z[t][:, None]
    if cell.kind == "gru" and not cell.reset_after:
        # u = dr ⊙ h + r ⊙ dh ; dan = W_in dx + W_hn u
        A = None
        if dh is not None:
            A = k.W_hh[: 2 * H] @ dh
        if dx is not None:
            Ax = k.W_ih[: 2 * H] @ dx
            A = Ax if A is None else np.add(A, Ax, out=A)
        zn = k.Zx_n[t][:, None]
        if A is None:
            an = k.W_ih[2 * H :] @ dx if dx is not None else None
            return (None if an is None else zn * an), None
        A *= Zt[: 2 * H]
        u = A[:H]
        if dh is not None:
            u = u + k.extra[t][:, None] * dh
        an = k.W_hh[2 * H :] @ u
        if dx is not None:
            an += k.W_ih[2 * H :] @ dx
        out = A[H:] + zn * an
        if dh is not None:
            out += k.keep[t][:, None] * dh
        return out, None

    A = None
    if dh is not None:
        A = k.W_hh @ dh
    if cell.kind == "gru" and dx is not None:
        Ax = k.W_ih @ dx
        Ax[2 * H :] *= k.Zx_n[t][:, None]
        Ax[: 2 * H] *= Zt[: 2 * H]
        if A is not None:
            A *= Zt
            A += Ax
        else:
            A = Ax
    else:
        if dx is not None:
            Ax = k.W_ih @ dx
            A = Ax if A is None else np.add(A, Ax, out=A)
        if A is None:
            return None, None
        A *= Zt

    if cell.kind == "rnn":
        return A, None
    if cell.kind == "gru":
        out = A[:H] + A[H : 2 * H]
        out += A[2 * H :]
        if dh is not None:
            out += k.keep[t][:, None] * dh
        return out, None
    dc_new = A[:H] + A[H : 2 * H]
    dc_new += A[2 * H : 3 * H]
    if dc is not None:
        dc_new += k.keep[t][:, None] * dc
    dh_new = k.extra[t][:, None] * dc_new
    dh_new += A[3 * H :]
    return dh_new, dc_new


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

    def advance(self, coeffs, t_local: int, first: bool):
        dx = self.eye if first else None
        for l, k in enumerate(coeffs):
            self.dh[l], self.dc[l] = _jvp(k, t_local, dx, self.dh[l], self.dc[l])
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


def forward_influence(records, tick=lambda rows: rows) -> np.ndarray:
    """influence[t] = ‖∂h_{t+1}/∂x_1‖_F for the last of ``records`` (one per layer, bottom up)."""
    coeffs = [_coeffs(r) for r in records]
    T = records[0].h.shape[0]
    tan = _Tangents(len(records), records[0].x.shape[1], records[0].h.dtype)
    out = np.empty(T, dtype=np.float64)
    top = len(records) - 1
    with np.errstate(all="ignore"):
        tan.advance(coeffs, 0, first=True)
        out[0] = tan.norm(top)
        tan.rescale()
        if len(records) == 1:
            _single_layer_loop(coeffs[0], tan, out, tick)
        else:
            for t in tick(range(1, T)):
                tan.advance(coeffs, t, first=False)
                out[t] = tan.norm(top)
                tan.rescale()
    return out


def _single_layer_loop(k: _Coeffs, tan: _Tangents, out: np.ndarray, tick=lambda rows: rows) -> None:
    """Steps 2…T for one layer: x1 no longer enters, so dh' depends on (dh, dc) alone.

    The same algebra as :func:`_jvp`, unrolled with preallocated buffers: this loop runs
    once per step and is what the influence costs.
    """
    cell = k.cell
    H = cell.hidden_size
    T = out.shape[0]
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
    Z, keep, extra = k.Z, k.keep, k.extra
    W = k.W_hh
    A = np.empty(dh.shape[:-1] + (W.shape[0],), dh.dtype)
    mul, add, matmul, vdot = np.multiply, np.add, np.matmul, np.vdot
    scale = float(np.exp(tan.log_scale))
    lo2, hi2 = _LO * _LO, _HI * _HI
    if cell.kind == "gru" and not cell.reset_after:
        W_rzT, W_nT = aligned(W[: 2 * H].T), aligned(W[2 * H :].T)
        A = A[..., : 2 * H]
        Ar, Az = A[..., :H], A[..., H:]
        u = np.empty_like(dh)
        an = np.empty_like(dh)
        ZN = k.Zx_n
    else:
        WT = aligned(W.T)
        Ab = [A[..., j * H : (j + 1) * H] for j in range(W.shape[0] // H)]
    for t in tick(range(1, T)):
        if cell.kind == "rnn":
            matmul(dh, WT, out=A)
            mul(A, Z[t], out=dh)
        elif cell.kind == "gru" and cell.reset_after:
            matmul(dh, WT, out=A)
            mul(A, Z[t], out=A)
            mul(keep[t], dh, out=dh)
            add(dh, Ab[0], out=dh)
            add(dh, Ab[1], out=dh)
            add(dh, Ab[2], out=dh)
        elif cell.kind == "gru":
            matmul(dh, W_rzT, out=A)
            mul(A, Z[t][: 2 * H], out=A)
            mul(extra[t], dh, out=u)
            add(u, Ar, out=u)
            matmul(u, W_nT, out=an)
            mul(an, ZN[t], out=an)
            mul(keep[t], dh, out=dh)
            add(dh, Az, out=dh)
            add(dh, an, out=dh)
        else:
            matmul(dh, WT, out=A)
            mul(A, Z[t], out=A)
            mul(keep[t], dc, out=dc)
            add(dc, Ab[0], out=dc)
            add(dc, Ab[1], out=dc)
            add(dc, Ab[2], out=dc)
            mul(extra[t], dc, out=dh)
            add(dh, Ab[3], out=dh)
        n2 = float(vdot(dh, dh))
        out[t] = np.sqrt(n2) * scale
        if not lo2 < n2 < hi2:
            m2 = max(n2, 0.0 if dc is None else float(vdot(dc, dc)))
            if np.isfinite(m2) and m2 > 0 and not lo2 < m2 < hi2:
                m = np.sqrt(m2)
                dh /= m
                if dc is not None:
                    dc /= m
                tan.log_scale += float(np.log(m))
                scale = float(np.exp(tan.log_scale))


def initial_tangents(stack: Stack, dtype) -> _Tangents:
    return _Tangents(len(stack), stack.input_size, dtype)


def advance_tangents(records, tangents: _Tangents, first: bool, layer: int):
    """One step of the tangents for :func:`rnnviz.engine.run.step` (records hold one step)."""
    tan = tangents.copy()
    tan.advance([_coeffs(r) for r in records], 0, first)
    value = tan.norm(layer)
    tan.rescale()
    return tan, value


def backward_flow(trace) -> np.ndarray:
    """‖∂h_T/∂h_t‖_F for t = 1 … T (row t−1), within the traced layer, float64.

    The last entry is ‖I‖ = √H. For the LSTM the partial derivative holds c_t fixed, and the
    gradient also flows back through c. This is the vanishing (or exploding) gradient of
    backpropagation through time.
    """
    rec = trace.records[trace.layer]
    k = _coeffs(rec)
    cell = k.cell
    H = cell.hidden_size
    T = rec.h.shape[0]
    Gh = np.eye(H, dtype=rec.h.dtype)
    Gc = np.zeros_like(Gh) if cell.kind == "lstm" else None
    out = np.empty(T, dtype=np.float64)
    log_scale = 0.0
    with np.errstate(all="ignore"):
        for t in range(T - 1, -1, -1):
            out[t] = np.sqrt(_sq(Gh)) * np.exp(log_scale)
            if t == 0:
                break
            # Gh is ∂h_T/∂h_{t+1} (rows: components of h_T); step back through step t.
            Zt = k.Z[t]
            if cell.kind == "rnn":
                Gh = (Gh * Zt) @ k.W_hh
            elif cell.kind == "gru" and cell.reset_after:
                Gh = (np.tile(Gh, 3) * Zt) @ k.W_hh + Gh * k.keep[t]
            elif cell.kind == "gru":
                Gu = (Gh * k.Zx_n[t]) @ k.W_hh[2 * H :]
                M = np.concatenate([Gu * Zt[:H], Gh * Zt[H : 2 * H]], axis=1)
                Gh = M @ k.W_hh[: 2 * H] + Gu * k.extra[t] + Gh * k.keep[t]
            else:
                Gct = Gc + Gh * k.extra[t]
                M = np.concatenate([np.tile(Gct, 3), Gh], axis=1) * Zt
                Gh, Gc = M @ k.W_hh, Gct * k.keep[t]
            m = np.sqrt(max(_sq(Gh), _sq(Gc)))
            if np.isfinite(m) and m > 0 and not (_LO < m < _HI):
                Gh = Gh / m
                Gc = None if Gc is None else Gc / m
                log_scale += float(np.log(m))
    return out


def perturbation(model: Cell | Stack, xs, eps: float = 1e-3, layer: int = -1, h0=None, c0=None,
                 base=None) -> np.ndarray:
    """‖h_t(x_1 + ε u) − h_t(x_1)‖ for every t (float64 runs), u = (1, …, 1)/√D.

    Divide by ε to compare with ``influence`` on the same axes (for D = 1 they agree while
    the network stays in its linear regime). ``base`` may be a float64 Trace of the same
    run, which saves recomputing it.
    """
    from .run import run  # local: run imports this module

    stack = as_stack(model)
    xs = np.array(xs, dtype=np.float64)
    if xs.ndim == 1:
        xs = xs[:, None]
    if base is None or base.h.dtype != np.float64:
        base = run(stack, xs, h0, c0, influence=False, layer=layer, dtype=np.float64)
    xs2 = xs.copy()
    xs2[0] += eps / np.sqrt(xs.shape[1])
    moved = run(stack, xs2, h0, c0, influence=False, layer=layer, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.linalg.norm(moved.h - base.h, axis=1)
