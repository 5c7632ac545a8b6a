"""The LSTM (``torch.nn.LSTMCell``; Keras ``LSTM``): gates i, f, g, o and a cell state c.

Notes
-----
Forward, with σ the recurrent activation and tanh standing for the cell's nonlinearity::

    i, f, o = σ(W_i* x + b_i* + W_h* h + b_h*)
    g  = tanh(W_ig x + b_ig + W_hg h + b_hg)
    c' = f ⊙ c + i ⊙ g
    h' = o ⊙ tanh(c')
    h' = W_hr (o ⊙ tanh(c'))          with PyTorch's proj_size (W_hr (P, H); h has P units)

Tangent, with ``A = W_hh dh + W_ih dx`` in blocks A_i, A_f, A_g, A_o::

    dc' = Z_i ⊙ A_i + Z_f ⊙ A_f + Z_g ⊙ A_g + f ⊙ dc
    dh' = Z_o ⊙ A_o + o ⊙ tanh'(c') ⊙ dc'            (W_hr times this, with a projection)
    Z = [σ'_i ⊙ g,  σ'_f ⊙ c,  tanh'_g ⊙ i,  σ'_o ⊙ tanh(c')]

Adjoint, given ḡ = ∂L/∂h' (ḡ W_hr, with a projection) and c̄ = ∂L/∂c'::

    c̃ = c̄ + ḡ ⊙ o ⊙ tanh'(c')
    ā = [c̃, c̃, c̃, ḡ] ⊙ Z         (the cotangent of both projections)
    ∂L/∂h = ā W_hh ;  ∂L/∂c = c̃ ⊙ f

Parameters, summing ā over every step and sequence (``param_grads``)::

    ∂L/∂W_ih = Σ āᵀ x_t    ∂L/∂W_hh = Σ āᵀ h_{t−1}    ∂L/∂b_ih = ∂L/∂b_hh = Σ ā
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..activations import apply, derivative, derivative_into, symbol
from ..buffers import FRESH, aligned, aligned_empty, scratch, ufunc_runs
from .common import (HI2, LO2, act, grads_from_adjoints, no_tick, outside_gradient as _outside, params,
                     preactivation, prev, project, project_batch, readonly, renormalise, weights)
from .kind import Adjoint, CellKind, Choice, Factor, GateInfo, LayerRecord, UnitParts, UpdateLine

# ------------------------------------------------------------------ layout and gates
GATES = (
    GateInfo("i", "input gate", "1 = write memory", "1 = write", (0.0, 1.0), "write", "input"),
    GateInfo("f", "forget gate", "1 = keep memory", "1 = keep", (0.0, 1.0), "erase", "forget"),
    GateInfo("g", "candidate memory", None, None, (-1.0, 1.0), "candidate", "candidate"),
    GateInfo("o", "output gate", "1 = show memory", "1 = show", (0.0, 1.0), "output", "output"),
)
BLOCKS = len(GATES)  # W_ih (4H, D), W_hh (4H, H): rows i, f, g, o


@functools.lru_cache(maxsize=4)
def _fast_params(cell, dtype):
    """Rows reordered to i, f, o, g with the sigmoid rows scaled by 1/2 (see the fast path)."""
    H = cell.cell_size
    order = np.r_[0 : 2 * H, 3 * H : 4 * H, 2 * H : 3 * H]
    scale = np.r_[np.full(3 * H, 0.5), np.ones(H)]
    W_ih = np.ascontiguousarray(cell.W_ih[order] * scale[:, None], dtype=dtype)
    W_hhT = aligned((cell.W_hh[order] * scale[:, None]).T.astype(dtype))
    bias = ((cell.b_ih + cell.b_hh)[order] * scale).astype(dtype)
    return readonly(W_ih, W_hhT, bias)


@functools.lru_cache(maxsize=4)
def _batch_params(cell, dtype):
    """The batched fast path's weights (see ``forward_batch``): ``W`` (4H, H + D + 1), the rows
    in the order i, f, o, g with the sigmoid rows negated, the columns [W_hh | W_ih | b]
    (b = b_ih + b_hh), and ``W_back`` (H + D, 4H), [W_hh | W_ih]ᵀ in PyTorch's rows."""
    H = cell.hidden_size
    M = np.concatenate((cell.W_hh, cell.W_ih, (cell.b_ih + cell.b_hh)[:, None]), axis=1)  # PyTorch's rows
    W = np.empty(M.shape, dtype)  # made at every training update (a new cell): a few whole-block copies
    W[: 2 * H] = M[: 2 * H]
    W[2 * H : 3 * H] = M[3 * H :]
    W[3 * H :] = M[2 * H : 3 * H]
    np.negative(W[: 3 * H], out=W[: 3 * H])
    W_back = np.empty((M.shape[1] - 1, 4 * H), dtype)
    W_back[...] = M[:, :-1].T
    return readonly(W, W_back)


# ------------------------------------------------------------------ forward
def forward(cell, x, h0, c0, dtype, keep: bool = False, tick=no_tick) -> LayerRecord:
    """Run the layer over x (T, D); the input projection of all steps is one matrix product."""
    T = x.shape[0]
    H = cell.cell_size
    h = np.asarray(h0, dtype=dtype)
    c = np.asarray(c0, dtype=dtype)
    act_, rec = cell.nonlinearity, cell.recurrent_activation
    Hs = aligned_empty((T, cell.hidden_size), dtype)
    C = aligned_empty((T, H), dtype)
    W_hrT = None if cell.W_hr is None else _projection(cell, np.dtype(dtype))
    gate_cols = (0, 1, 2, 3)
    if act_ == "tanh" and rec == "sigmoid":
        # Fast path. Rows are reordered to i, f, o, g and the sigmoid rows are scaled by
        # 1/2 (exact in binary), so one tanh over all 4H rows gives every gate:
        # σ(a) = 0.5 + 0.5·tanh(a/2).
        W_ih, W_hhT, bias = _fast_params(cell, np.dtype(dtype))
        G = project(x, W_ih, bias, dtype)
        S, I, F, O, Gg = G[:, : 3 * H], G[:, :H], G[:, H : 2 * H], G[:, 2 * H : 3 * H], G[:, 3 * H :]
        hh = np.empty(4 * H, dtype)
        tmp = np.empty(H, dtype)
        half = dtype(0.5)
        mul, add, tanh, matmul = np.multiply, np.add, np.tanh, np.matmul
        # Iterating the row views with zip is markedly cheaper than indexing per step.
        for g, s, i, f, o, gg, c_out, h_out in zip(tick(G), S, I, F, O, Gg, C, Hs):
            matmul(h, W_hhT, out=hh)
            add(g, hh, out=g)
            tanh(g, out=g)
            mul(s, half, out=s)
            add(s, half, out=s)
            c = mul(f, c, out=c_out)
            mul(i, gg, out=tmp)
            add(c, tmp, out=c)
            tanh(c, out=tmp)
            if W_hrT is None:
                h = mul(o, tmp, out=h_out)
            else:
                mul(o, tmp, out=tmp)
                h = matmul(tmp, W_hrT, out=h_out)
        gate_cols = (0, 1, 3, 2)  # where i, f, g, o live in this layout
    else:
        W_ih, W_hhT, b_ih, b_hh = params(cell, np.dtype(dtype))
        G = project(x, W_ih, b_ih + b_hh, dtype)
        hh = np.empty(4 * H, dtype)
        tmp = np.empty(H, dtype)
        for t in tick(range(T)):
            g = G[t]
            np.matmul(h, W_hhT, out=hh)
            g += hh
            apply(rec, g[: 2 * H])
            apply(act_, g[2 * H : 3 * H])
            apply(rec, g[3 * H :])
            i, f, gg, o = g[:H], g[H : 2 * H], g[2 * H : 3 * H], g[3 * H :]
            c = np.multiply(f, c, out=C[t])
            np.multiply(i, gg, out=tmp)
            c += tmp
            np.copyto(tmp, c)
            apply(act_, tmp)
            if W_hrT is None:
                h = np.multiply(o, tmp, out=Hs[t])
            else:
                tmp *= o
                h = np.matmul(tmp, W_hrT, out=Hs[t])
    return LayerRecord(cell, x, np.asarray(h0, dtype), np.asarray(c0, dtype), Hs, C, G, gate_cols)


def _forward_fast(cell, x, h0, c0, dtype, ws) -> LayerRecord:
    """σ and tanh, batched: every array is kept unit-major, (T, ·, B), so that each gate's
    block of a step is one contiguous run and every ufunc is one flat loop (row-major (B, 4H)
    blocks cost NumPy one inner loop per sequence, a third of the time at B = 32).

    ``HX[t] = [h_{t−1}; x_t; 1]`` (H + D + 1, B) and ``W = [W_hh | W_ih | b]`` (rows i, f, o, g,
    the sigmoid rows negated) make each step's pre-activations one product, ``W HX[t]``, and
    the parameters' gradient one product over all steps (``param_grads``). With the negated
    rows, d = 1 + e^{−a} = 1/σ(a) is exp and add of the product itself, and dividing by d
    multiplies by σ; e^{−a} overflows to inf for very negative a, and x / inf = 0 is the
    product with σ = 0 there. After the loop σ = 1/d replaces d in G for the adjoint.
    The two terms of c_t, i ⊙ g and f ⊙ c_{t−1}, are kept (the record's "ig" and "fc"):
    the adjoint's coefficients follow from them in fewer passes (see ``_backward_fast``).
    The record's arrays are (T, B, ·) views of these.
    """
    T, B, D = x.shape
    H = cell.hidden_size
    W, _ = _batch_params(cell, np.dtype(dtype))
    HX = ws.empty((T + 1, H + D + 1, B), dtype)
    np.copyto(HX[0, :H], h0.T)
    np.copyto(HX[:T, H : H + D], x.transpose(0, 2, 1))
    HX[:T, H + D] = 1
    G = ws.empty((T, 4 * H, B), dtype)
    C = ws.empty((T, H, B), dtype)
    TC = ws.empty((T, H, B), dtype)  # tanh(c_t), kept for the adjoint
    tmp = ws.empty((H, B), dtype)
    c = ws.empty((H, B), dtype)
    np.copyto(c, c0.T)
    one = dtype(1.0)
    # np.dot and positional outputs: the cheapest calls (each step is a dozen small ones)
    add, div, dot, tanh, exp = np.add, np.divide, np.dot, np.tanh, np.exp
    D3, I, F, O, Gg = G[:, : 3 * H], G[:, :H], G[:, H : 2 * H], G[:, 2 * H : 3 * H], G[:, 3 * H :]
    with np.errstate(over="ignore"):  # e^−a = inf is expected: σ(a) = 0
        for hx, g, d, i, f, o, gg, c_out, tc, h_out in zip(HX, G, D3, I, F, O, Gg, C, TC, HX[1:, :H]):
            dot(W, hx, g)
            exp(d, d)
            add(d, one, d)
            tanh(gg, gg)
            c = div(c, f, c_out)
            div(gg, i, tmp)
            add(c, tmp, c)
            tanh(c, tc)
            div(tc, o, h_out)
    np.divide(one, D3, out=D3)  # σ = 1/d; the same quotients as np.reciprocal, whose loop is not vectorised
    T_ = (0, 2, 1)
    return LayerRecord(cell, x, h0, c0, HX[1:, :H].transpose(T_), C.transpose(T_), G.transpose(T_), (0, 1, 3, 2),
                       {"tc": TC.transpose(T_), "hx": HX})


@functools.lru_cache(maxsize=4)
def _projection(cell, dtype):
    """W_hrᵀ (H, P) in the working dtype, 64-byte aligned: m W_hrᵀ projects a row m."""
    return readonly(aligned(cell.W_hr.T.astype(dtype)))[0]


def forward_batch(cell, x, h0, c0, dtype, ws=FRESH) -> LayerRecord:
    """A batch through the layer, time-major: x (T, B, D), h0 and c0 (B, H); arrays (T, B, ·),
    gates in PyTorch's block order i, f, g, o (the fast path keeps its own, see ``gate_cols``).
    Every step writes into preallocated arrays (lent by ``ws``, a
    :class:`~rnnviz.engine.buffers.Scratch`): nothing is allocated inside the loop."""
    T, B = x.shape[:2]
    H = cell.hidden_size
    act_, rec = cell.nonlinearity, cell.recurrent_activation
    if act_ == "tanh" and rec == "sigmoid":
        return _forward_fast(cell, x, h0, c0, dtype, ws)
    Hs = ws.empty((T, B, H), dtype)
    C = ws.empty((T, B, H), dtype)
    TC = ws.empty((T, B, H), dtype)  # tanh(c_t), kept for the adjoint
    hh = ws.empty((B, 4 * H), dtype)
    tmp = ws.empty((B, H), dtype)
    G = ws.empty((T, B, 4 * H), dtype)
    h, c = h0, c0
    mul, add, matmul = np.multiply, np.add, np.matmul
    W_ih, W_hhT, b_ih, b_hh = params(cell, np.dtype(dtype))
    project_batch(x, W_ih, G)
    G += b_ih + b_hh
    for g, c_out, tc, h_out in zip(G, C, TC, Hs):
        matmul(h, W_hhT, out=hh)
        add(g, hh, out=g)
        apply(rec, g[:, : 2 * H])
        apply(act_, g[:, 2 * H : 3 * H])
        apply(rec, g[:, 3 * H :])
        c = mul(g[:, H : 2 * H], c, out=c_out)
        mul(g[:, :H], g[:, 2 * H : 3 * H], out=tmp)
        add(c, tmp, out=c)
        np.copyto(tc, c)
        h = mul(g[:, 3 * H :], apply(act_, tc), out=h_out)
    return LayerRecord(cell, x, h0, c0, Hs, C, G, (0, 1, 2, 3), {"tc": TC})


def backward_batch(rec: LayerRecord, g, ws=FRESH):
    """Full BPTT through a batched record (training), the adjoint of the module notes swept
    over every step with preallocated buffers.

    ``g`` (T, B, H) is ∂L/∂h_t from outside the layer (the output layer, the layer above).
    Returns ``(A, A, dh)``: the projections' shared cotangent ā (T, B, 4H) in PyTorch's block
    order and dh (T, B, H), the total ∂L/∂h_t; ``ws`` lends both.
    """
    if rec.gate_cols == (0, 1, 3, 2):
        with ufunc_runs(rec.h.shape[1] * rec.h.shape[2]):  # one gate of a step: H·B in a row
            return _backward_fast(rec, g, ws)
    return _backward_any(rec, g, ws)


#: The backward sweep makes its coefficients this many bytes of ā at a time (see ``_backward_fast``).
_CHUNK_BYTES = 256 * 1024


def _backward_fast(rec: LayerRecord, g, ws):
    """σ and tanh, in the fast forward's unit-major layout (T, ·, B) with gates i, f, o, g.

    Only c̃ and ∂L/∂h are sequential. The coefficients Z (PyTorch's block order i, f, g, o, in
    the buffer that becomes ā) and P = o ⊙ tanh'(c) are made for a block of steps at a time
    (about ``_CHUNK_BYTES`` of ā), in passes over the whole block, just before those steps are
    swept and while they are in cache; with h = o ⊙ tanh(c) from the forward::

        Z_i = (1 − i) i g    Z_f = (1 − f) f c_{t−1}    Z_g = (1 − g²) i    Z_o = (1 − o) h    P = o − h tanh(c)

    Each pass reads and writes one gate's rows of many steps, runs of H·B; ``backward_batch``
    runs this with ufunc buffers no longer than that (see ``buffers.ufunc_runs``). A step is
    then c̃, two products with Z and one matrix product, ``[W_hh | W_ih]ᵀ ā_t``, which gives
    ∂L/∂h_{t−1} and ∂L/∂x_t at once. Returns ``(A, A, dh, dx)``, dx (T, B, D) = ∂L/∂x_t."""
    H = rec.cell.hidden_size
    T, B = rec.h.shape[:2]
    dtype = rec.h.dtype
    T_ = (0, 2, 1)
    G, TC, Hs = rec.G.transpose(T_), rec.saved["tc"].transpose(T_), rec.h.transpose(T_)
    C = rec.c.transpose(T_)
    _, W_back = _batch_params(rec.cell, dtype)  # [W_hh | W_ih]ᵀ: ∂L/∂[h; x] = W_backᵀ ā
    one = dtype.type(1.0)
    mul, add, sub, dot = np.multiply, np.add, np.subtract, np.dot
    A = ws.empty((T, 4 * H, B), dtype)
    A4 = A.reshape(T, 4, H, B)
    K = max(1, min(T, _CHUNK_BYTES // A[0].nbytes))
    P = ws.empty((K, H, B), dtype)
    g = np.asarray(g)
    gT = g.transpose(T_)
    live = None  # g only at the last step (a loss there alone)
    if g[:-1].any():  # the layer above, or a loss at earlier steps: read it unit-major, like everything else
        live = np.any(g != 0, axis=(1, 2)).tolist()
        gT = ws.empty((T, H, B), dtype)
        np.copyto(gT, g.transpose(T_))
    # Y[t] = [∂L/∂h_{t−1}; ∂L/∂x_t]: one product W_backᵀ ā_t gives both
    Y = ws.empty((T + 1, W_back.shape[0], B), dtype)
    dh = Y[1:, :H]
    np.copyto(dh[-1], gT[-1])
    gc = ws.zeros((H, B), dtype)
    gct = ws.empty((H, B), dtype)
    F = G[:, H : 2 * H]
    for hi in range(T, 0, -K):
        lo = max(0, hi - K)
        n = hi - lo
        gs, h, p = G[lo:hi], Hs[lo:hi], P[:n]
        i, f, o, gg = gs[:, :H], gs[:, H : 2 * H], gs[:, 2 * H : 3 * H], gs[:, 3 * H :]
        z_i, z_f, z_g, z_o = A4[lo:hi, 0], A4[lo:hi, 1], A4[lo:hi, 2], A4[lo:hi, 3]
        sub(one, i, z_i)
        mul(z_i, i, z_i)
        mul(z_i, gg, z_i)  # Z_i = σ'_i ⊙ g
        sub(one, f, z_f)
        mul(z_f, f, z_f)
        if lo:
            mul(z_f, C[lo - 1 : hi - 1], z_f)  # Z_f = σ'_f ⊙ c_{t−1}
        else:
            mul(z_f[1:], C[: hi - 1], z_f[1:])
            mul(z_f[0], rec.c0.T, z_f[0])
        mul(gg, gg, z_g)
        sub(one, z_g, z_g)
        mul(z_g, i, z_g)  # Z_g = tanh'(g) ⊙ i
        sub(one, o, z_o)
        mul(z_o, h, z_o)  # Z_o = σ'_o ⊙ tanh(c)
        mul(h, TC[lo:hi], p)
        sub(o, p, p)  # P = o ⊙ tanh'(c)
        for t, gh, p_t, z_ifg, zo, a, y in zip(range(hi - 1, lo - 1, -1), dh[lo:hi][::-1], p[::-1],
                                                A4[lo:hi, :3][::-1], A4[lo:hi, 3][::-1], A[lo:hi][::-1], Y[lo:hi][::-1]):
            mul(gh, p_t, gct)
            add(gct, gc, gct)  # c̃ = c̄ + ḡ ⊙ o ⊙ tanh'(c): ∂L/∂c_t, every path
            mul(z_ifg, gct, z_ifg)  # ā_i, ā_f, ā_g = c̃ ⊙ Z_i, Z_f, Z_g
            mul(zo, gh, zo)  # ā_o = ḡ ⊙ Z_o
            dot(W_back, a, y)  # ∂L/∂h_{t−1} (without its own loss term), ∂L/∂x_t
            if t:
                mul(gct, F[t], gc)
                if live is not None and live[t - 1]:
                    add(y[:H], gT[t - 1], y[:H])
    A = A.transpose(T_)
    return A, A, dh.transpose(T_), Y[:T, H:].transpose(T_)


def _backward_any(rec: LayerRecord, g, ws):
    """Any activations: the coefficients Z computed for all steps at once, in the buffer that
    becomes ā."""
    cell = rec.cell
    H = cell.hidden_size
    T, B = rec.h.shape[:2]
    dtype = rec.h.dtype
    act_, recact = cell.nonlinearity, cell.recurrent_activation
    i, f, gg, o = (rec.gate(k) for k in "ifgo")
    C = rec.c
    tc = rec.saved["tc"] if "tc" in rec.saved else apply(act_, C.copy())
    A = ws.empty((T, B, 4 * H), dtype)
    A4 = A.reshape(T, B, 4, H)
    d_i, d_f, d_o = derivative(recact, i), derivative(recact, f), derivative(recact, o)
    np.multiply(d_i, gg, out=A4[:, :, 0])
    np.multiply(d_f[1:], C[:-1], out=A4[1:, :, 1])
    np.multiply(d_f[0], rec.c0, out=A4[0, :, 1])
    np.multiply(d_o, tc, out=A4[:, :, 3])
    np.multiply(derivative(act_, gg), i, out=A4[:, :, 2])
    o_dtanh = derivative(act_, tc)
    o_dtanh *= o
    W_hh = np.ascontiguousarray(cell.W_hh, dtype=dtype)
    dh, live = _outside(g, dtype, ws)
    gc = ws.zeros((B, H), dtype)
    gct = ws.empty((B, H), dtype)
    mul, add, matmul = np.multiply, np.add, np.matmul
    for t in range(T - 1, -1, -1):
        gh, a, a4 = dh[t], A[t], A4[t]
        mul(gh, o_dtanh[t], out=gct)
        add(gct, gc, out=gct)  # ∂L/∂c_t, every path
        mul(a4[:, :3], gct[:, None, :], out=a4[:, :3])
        mul(a4[:, 3], gh, out=a4[:, 3])
        if t:
            mul(gct, f[t], out=gc)
            matmul(a, W_hh, out=dh[t - 1])
            if live[t - 1]:
                add(dh[t - 1], g[t - 1], out=dh[t - 1])
    return A, A, dh


# ------------------------------------------------------------------ tangent (JVP)
@dataclass(frozen=True, eq=False)
class Coeffs:
    cell: object
    Z: np.ndarray  # (T, 4H) coefficients of the projections' tangent A (see the module notes)
    f: np.ndarray  # (T, H) multiplies dc directly
    o_dtanh: np.ndarray  # (T, H) o ⊙ tanh'(c'): ∂h'/∂c' (before the projection)
    W_ih: np.ndarray
    W_hh: np.ndarray
    W_hr: np.ndarray | None = None  # (P, H) the projection, or None


def tangent_coeffs(rec: LayerRecord) -> Coeffs:
    cell = rec.cell
    W_ih, W_hh = weights(rec)
    act_, recact = cell.nonlinearity, cell.recurrent_activation
    i, f, g, o = (rec.gate(k) for k in "ifgo")
    cprev = prev(rec.c0, rec.c)
    tc = apply(act_, rec.c.copy())
    Z = np.concatenate(
        [derivative(recact, i) * g, derivative(recact, f) * cprev, derivative(act_, g) * i,
         derivative(recact, o) * tc],
        axis=-1,
    )
    W_hr = None if cell.W_hr is None else np.ascontiguousarray(cell.W_hr, dtype=rec.h.dtype)
    return Coeffs(cell, Z, f, o * derivative(act_, tc), W_ih, W_hh, W_hr)


def jvp(k: Coeffs, t: int, dx, dh, dc):
    """(dh', dc') after step t from (dx, dh, dc); (H, K) columns, None meaning zero."""
    H = k.cell.cell_size
    A = None
    if dh is not None:
        A = k.W_hh @ dh
    if dx is not None:
        Ax = k.W_ih @ dx
        A = Ax if A is None else np.add(A, Ax, out=A)
    if A is None:
        return None, None
    A *= k.Z[t][:, None]
    dc_new = A[:H] + A[H : 2 * H]
    dc_new += A[2 * H : 3 * H]
    if dc is not None:
        dc_new += k.f[t][:, None] * dc
    dh_new = k.o_dtanh[t][:, None] * dc_new
    dh_new += A[3 * H :]
    if k.W_hr is not None:
        dh_new = k.W_hr @ dh_new
    return dh_new, dc_new


def tangent_loop(k: Coeffs, dh, dc, log_scale: float, out: np.ndarray, tick=no_tick) -> float:
    """Steps 2…T of one layer (x₁ no longer enters): ``out[t] = ‖dh_t‖``, in place.

    ``dh``, ``dc`` are in row layout, (K, H) or (H,) — dh (K, P) or (P,) through a projection;
    the algebra of :func:`jvp`, unrolled with preallocated buffers, since this loop is what the
    influence costs.
    """
    H = k.cell.cell_size
    Z, keep, extra = k.Z, k.f, k.o_dtanh
    WT = aligned(k.W_hh.T)
    W_hrT = None if k.W_hr is None else aligned(k.W_hr.T)
    A = np.empty(dh.shape[:-1] + (4 * H,), dh.dtype)
    A0, A1, A2, A3 = (A[..., j * H : (j + 1) * H] for j in range(4))
    dm = dh if W_hrT is None else np.empty(dc.shape, dc.dtype)  # o ⊙ tanh c's tangent, before W_hr
    mul, add, matmul, vdot = np.multiply, np.add, np.matmul, np.vdot
    scale = float(np.exp(log_scale))
    for t in tick(range(1, out.shape[0])):
        matmul(dh, WT, out=A)
        mul(A, Z[t], out=A)
        mul(keep[t], dc, out=dc)
        add(dc, A0, out=dc)
        add(dc, A1, out=dc)
        add(dc, A2, out=dc)
        mul(extra[t], dc, out=dm)
        add(dm, A3, out=dm)
        if W_hrT is not None:
            matmul(dm, W_hrT, out=dh)
        n2 = float(vdot(dh, dh))
        out[t] = np.sqrt(n2) * scale
        if not LO2 < n2 < HI2:
            log_scale, scale = renormalise(dh, dc, n2, log_scale, scale)
    return log_scale


# ------------------------------------------------------------------ adjoint (VJP)
def vjp(k: Coeffs, t: int, gh, gc, full: bool = False) -> Adjoint:
    """Step t backwards: ``gh``, ``gc`` (K, H) are ∂L/∂h_{t+1}, ∂L/∂c_{t+1} (None: zero);
    returns ∂L/∂h_t, ∂L/∂c_t and the projections' cotangent. With a projection ``gh`` is
    (K, P) and is first taken back through it: ∂L/∂(o ⊙ tanh c') = ``gh W_hr``."""
    if k.W_hr is not None:
        gh = gh @ k.W_hr
    gct = gh * k.o_dtanh[t] if gc is None else gc + gh * k.o_dtanh[t]  # ∂L/∂c_{t+1}, all paths
    a = np.concatenate((gct, gct, gct, gh), axis=-1)
    a *= k.Z[t]
    return Adjoint(a @ k.W_hh, gct * k.f[t], a, a)


def param_grads(k: Coeffs, rec: LayerRecord, A_ih, A_hh):
    """∂L/∂(W_ih, W_hh, b_ih, b_hh) from the adjoints of a batched record: W_hh reads h_{t−1}.

    For the fast path's record and sweep (unit-major ā), [∂W_hh | ∂W_ih | ∂b] is the one
    product Σ_t ā_t HX[t]ᵀ over all steps and sequences (see ``_forward_fast``)."""
    HX = rec.saved.get("hx")
    A = A_ih.transpose(0, 2, 1)
    if HX is None or A_hh is not A_ih or not A.flags.c_contiguous:
        return grads_from_adjoints(rec, A_ih, A_hh)
    T, G4, B = A.shape
    H, K = G4 // 4, HX.shape[1]
    with scratch() as ws:
        if T * G4 * K * A.itemsize <= 2**21:  # small: one product per step, batched, summed
            # [h; x; 1] row-major per step: BLAS takes ~1.5× as long with these small operands transposed
            X = ws.empty((T, B, K), A.dtype)
            np.copyto(X, HX[:T].transpose(0, 2, 1))
            per = ws.empty((T, G4, K), A.dtype)
            np.matmul(A, X, out=per)
            dW = (np.ones(T, A.dtype) @ per.reshape(T, G4 * K)).reshape(G4, K)  # the sum over steps, half sum()'s time
        else:  # the sum over (t, b) as one product wants them (·, T, B): one copy each
            A2 = ws.empty((G4, T, B), A.dtype)
            np.copyto(A2, A.transpose(1, 0, 2))
            X2 = ws.empty((K, T, B), A.dtype)
            np.copyto(X2, HX[:T].transpose(1, 0, 2))
            dW = A2.reshape(G4, T * B) @ X2.reshape(K, T * B).T
    db = dW[:, K - 1].copy()
    return dW[:, H : K - 1].copy(), dW[:, :H].copy(), db, db.copy()


# ------------------------------------------------------------------ the state-space map
def step_jacobian(cell, x, s):
    """(f(s), J(s)) for states s = [h; c] (B, P + H) and one input x (D,), float64: the step
    s ↦ f(s, x) and its Jacobian ``J[b, i, j] = ∂f_i/∂s_j`` (B, S, S), the module notes'
    tangent written out as matrices, in one pass (the state-space search's Newton step)::

        ∂c'/∂h = Σ_{k = i, f, g} diag(Z_k) W_hk      ∂c'/∂c = diag(f)
        ∂m/∂h = diag(o ⊙ tanh'(c')) ∂c'/∂h + diag(Z_o) W_ho     ∂m/∂c = diag(o ⊙ tanh'(c') ⊙ f)

    with m = o ⊙ tanh(c') and h' = m, or W_hr m through a projection. The arrays are kept
    unit-major, (·, B), so that every gate block is one contiguous run (the states are few:
    the cost is the number of calls)."""
    H, P = cell.cell_size, cell.hidden_size
    act_, rec = cell.nonlinearity, cell.recurrent_activation
    s = np.asarray(s, dtype=np.float64)
    B, S = s.shape[0], P + H
    W_hh = cell.W_hh
    a = W_hh @ s[:, :P].T  # (4H, B)
    a += (cell.W_ih @ x + cell.b_ih + cell.b_hh)[:, None]
    apply(rec, a[: 2 * H])
    apply(act_, a[2 * H : 3 * H])
    apply(rec, a[3 * H :])
    i, f, g, o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
    c = np.ascontiguousarray(s[:, P:].T)
    c_new = f * c
    c_new += i * g
    tc = apply(act_, c_new.copy())
    Z = np.empty((4, H, B))
    for k, (y, name, by) in enumerate(((i, rec, g), (f, rec, c), (g, act_, i), (o, rec, tc))):
        derivative_into(name, y, Z[k])
        Z[k] *= by
    o_dtanh = derivative_into(act_, tc, np.empty((H, B)))
    o_dtanh *= o
    ZW = Z[:, :, :, None] * W_hh.reshape(4, H, 1, P)  # (4, H, B, P): diag(Z_k) W_hk
    dc_dh = ZW[0] + ZW[1]
    dc_dh += ZW[2]
    dm_dh = o_dtanh[:, :, None] * dc_dh
    dm_dh += ZW[3]
    m_dc = o_dtanh * f  # ∂m/∂c, diagonal
    m = o * tc
    J = np.zeros((B, S, S))
    out = np.empty((B, S))
    Jd = J.reshape(B, S * S)  # the diagonals of J's blocks as strided views: J[:, r + u, q + u] = Jd[:, (r + u) S + q + u]
    J[:, P:, :P] = dc_dh.transpose(1, 0, 2)
    Jd[:, P * S + P :: S + 1] = f.T  # ∂c'/∂c
    out[:, P:] = c_new.T
    if cell.W_hr is None:
        J[:, :P, :P] = dm_dh.transpose(1, 0, 2)
        Jd[:, P : P * S : S + 1] = m_dc.T
        out[:, :P] = m.T
    else:
        W_hr = cell.W_hr
        np.matmul(W_hr, dm_dh.transpose(1, 0, 2), out=J[:, :P, :P])
        np.multiply(W_hr, m_dc.T[:, None, :], out=J[:, :P, P:])
        out[:, :P] = (W_hr @ m).T
    return out, J


# ------------------------------------------------------------------ one unit, by hand
def param_symbols(cell, gate: str) -> dict:
    return {"W_ih": f"W_i{gate}", "W_hh": f"W_h{gate}", "b_ih": f"b_i{gate}", "b_hh": f"b_h{gate}"}


def explain(cell, x, h_prev, c_prev, unit: int) -> UnitParts:
    act_, sig = cell.nonlinearity, cell.recurrent_activation
    pre = {}
    for block, (gate, a) in enumerate(zip("ifgo", (sig, sig, act_, sig))):
        pre[gate] = preactivation(cell, block, gate, unit, x, h_prev, a, param_symbols(cell, gate))
    i, f, g, o = (pre[k].value for k in "ifgo")
    c = f * c_prev + i * g
    c_act = act(act_, c)
    h = o * c_act
    # With a projection every h_t[k] mixes all units (h = W_hr m): a unit's own output is m_t.
    lines = (
        UpdateLine("c", ((Factor("f", 0, f), Factor("c", -1, c_prev)), (Factor("i", 0, i), Factor("g", 0, g))),
                   float(c)),
        UpdateLine("h" if cell.W_hr is None else "m",
                   ((Factor("o", 0, o), Factor("c", 0, float(c), f"{symbol(act_)}({{}})", c_act)),), float(h)),
    )
    return UnitParts(pre, h, float(c), c_act, None, lines)


def equations(cell) -> list[str]:
    act_, sig = symbol(cell.nonlinearity), symbol(cell.recurrent_activation)
    hp = "h_{t−1}"

    def pre(g: str) -> str:
        return f"W_i{g} x_t + b_i{g} + W_h{g} {hp}" + (f" + b_h{g}" if cell.recurrent_bias else "")

    return [
        f"i_t = {sig}({pre('i')})",
        f"f_t = {sig}({pre('f')})",
        f"g_t = {act_}({pre('g')})",
        f"o_t = {sig}({pre('o')})",
        "c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t",
    ] + ([f"h_t = o_t ⊙ {act_}(c_t)"] if cell.W_hr is None else [f"m_t = o_t ⊙ {act_}(c_t)", "h_t = W_hr m_t"])


# ------------------------------------------------------------------ metadata
def label_of(cell) -> str:
    return "LSTM"


def repr_options(cell) -> str:
    out = f", nonlinearity={cell.nonlinearity!r}" if cell.nonlinearity != "tanh" else ""
    return out + (f", proj_size={cell.hidden_size}" if cell.W_hr is not None else "")


# ------------------------------------------------------------------ the cell diagram
#: rnnviz.core.diagram's layout (after Olah's): the memory c runs along the top, f's ⊙ keeps it,
#: i ⊙ g writes, o ⊙ tanh(c) reads it out as h.
DIAGRAM = {
    # the blocks start 1.8 right of the inputs: h_{t−1}'s value above its wire clears f's block
    "pos": {"in:c": (0, 0), "in:h": (0, 4), "in:x": (0, 5), "cat": (0.5, 4), "gate:f": (1.8, 3),
            "gate:i": (2.8, 3), "gate:g": (3.8, 3), "gate:o": (4.8, 3), "mul:f·c_prev": (1.8, 0),
            "mul:i·g": (3.8, 1.5), "add:c": (3.8, 0), "op:tanh(c)": (5.8, 1.5), "mul:o·tanh(c)": (5.8, 3),
            "out:c": (7.3, 0), "out:h": (7.3, 3)},
    "routes": {("cat", "*"): "hv", ("in:x", "cat"): "hv", ("add:c", "op:tanh(c)"): "hv"},
    "tags": {"in:x": (0.6, 1), "in:c": (0, 1), "op:tanh(c)": (0.25, -0.14)},  # tanh(c)'s value clears its pill
}

KIND = CellKind(
    name="lstm",
    label="LSTM",
    blocks=BLOCKS,
    gates=GATES,
    display_order=("i", "f", "o", "g"),
    has_cell_state=True,
    keras_gate_order=("i", "f", "g", "o"),  # Keras stacks i, f, c, o
    bias_sliders={"forget_bias": "f"},
    choices=(Choice("lstm", "lstm", {}, "LSTM", 3),),
    forward=forward,
    tangent_coeffs=tangent_coeffs,
    jvp=jvp,
    tangent_loop=tangent_loop,
    vjp=vjp,
    explain=explain,
    equations=equations,
    label_of=label_of,
    param_symbols=param_symbols,
    repr_options=repr_options,
    forward_batch=forward_batch,
    param_grads=param_grads,
    backward_batch=backward_batch,
    step_jacobian=step_jacobian,
    cell_options=("nonlinearity", "recurrent_activation"),
    torch_nonlinearities=(),
    keras_layer="LSTM",
    projection=True,
    diagram=DIAGRAM,
)
