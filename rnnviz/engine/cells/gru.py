"""The GRU (``torch.nn.GRUCell``; Keras ``GRU`` with either ``reset_after``): gates r, z, n.

Notes
-----
Forward, with σ the recurrent activation and tanh standing for the cell's nonlinearity::

    r  = σ(W_ir x + b_ir + W_hr h + b_hr)
    z  = σ(W_iz x + b_iz + W_hz h + b_hz)
    n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))       reset_after=True (PyTorch)
    n  = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)       reset_after=False
    h' = (1 − z) ⊙ n + z ⊙ h

Tangent, with ``A = W_hh dh`` split in blocks A_r, A_z, A_n, zn = (1 − z) ⊙ tanh'(n) and
hn = W_hn h + b_hn::

    dh' = Z_r ⊙ A_r + Z_z ⊙ A_z + Z_n ⊙ A_n + z ⊙ dh + (input terms)
    Z = [σ'_r ⊙ hn ⊙ zn,  σ'_z ⊙ (h − n),  r ⊙ zn]                  reset_after
    dh' = Z_z ⊙ A_z + zn ⊙ W_hn (σ'_r ⊙ h ⊙ A_r + r ⊙ dh) + z ⊙ dh    reset_before

Adjoint, given ḡ = ∂L/∂h'::

    ∂L/∂h = [ḡ ⊙ Z_r, ḡ ⊙ Z_z, ḡ ⊙ Z_n] W_hh + ḡ ⊙ z                reset_after
    ū = (ḡ ⊙ zn) W_hn ;  ∂L/∂h = [ū ⊙ σ'_r ⊙ h, ḡ ⊙ Z_z] W_hr,hz + ū ⊙ r + ḡ ⊙ z   reset_before

Parameters, from the projections' adjoints a_ih, a_hh of every step and sequence (``param_grads``)::

    ∂L/∂W_ih = Σ a_ihᵀ x_t    ∂L/∂b_ih = Σ a_ih    ∂L/∂b_hh = Σ a_hh
    ∂L/∂W_hh = Σ a_hhᵀ h_{t−1}, except ∂L/∂W_hn = Σ a_hnᵀ (r ⊙ h_{t−1})         reset_before
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import activation, apply, derivative, derivative_into, symbol
from ..buffers import FRESH, aligned, aligned_empty
from .common import (HI2, LO2, grads_from_adjoints, no_tick, outside_gradient as _outside, params, preactivation,
                     prev, project, project_batch, renormalise, weights)
from .kind import Adjoint, CellKind, Choice, Factor, GateInfo, LayerRecord, UnitParts, UpdateLine

# ------------------------------------------------------------------ layout and gates
GATES = (
    GateInfo("r", "reset gate", "0 = ignore old h", "0 = ignore h", (0.0, 1.0), "erase", "reset"),
    GateInfo("z", "update gate", "1 = keep old state", "1 = keep h", (0.0, 1.0), "write", "update"),
    GateInfo("n", "candidate state", None, None, (-1.0, 1.0), "candidate", "candidate"),
)
BLOCKS = len(GATES)  # W_ih (3H, D), W_hh (3H, H): rows r, z, n


# ------------------------------------------------------------------ forward
def forward(cell, x, h0, c0, dtype, keep: bool = False, tick=no_tick) -> LayerRecord:
    """Run the layer over x (T, D). ``keep`` saves W_hn h + b_hn (reset_after), which the
    tangent needs."""
    T = x.shape[0]
    H = cell.hidden_size
    W_ih, W_hhT, b_ih, b_hh = params(cell, np.dtype(dtype))
    h = np.asarray(h0, dtype=dtype)
    act, rec = cell.nonlinearity, cell.recurrent_activation
    f_act, f_rec = activation(act), activation(rec)
    saved = {}
    Hs = aligned_empty((T, H), dtype)
    tmp = np.empty(H, dtype)
    if cell.reset_after:
        G = project(x, W_ih, b_ih, dtype)
        hh = np.empty(3 * H, dtype)
        hn_rec = np.empty((T, H), dtype) if keep else None
        hh_rz, hn = hh[: 2 * H], hh[2 * H :]
        RZ, R, Z, N = G[:, : 2 * H], G[:, :H], G[:, H : 2 * H], G[:, 2 * H :]
        for t, (rz, r, z, n, h_out) in enumerate(zip(tick(RZ), R, Z, N, Hs)):
            np.matmul(h, W_hhT, out=hh)
            np.add(hh, b_hh, out=hh)
            np.add(rz, hh_rz, out=rz)
            f_rec(rz)
            if keep:
                hn_rec[t] = hn
            np.multiply(r, hn, out=tmp)
            np.add(n, tmp, out=n)
            f_act(n)
            # h' = (1 − z) ⊙ n + z ⊙ h  ==  n + z ⊙ (h − n)
            np.subtract(h, n, out=tmp)
            np.multiply(tmp, z, out=tmp)
            h = np.add(n, tmp, out=h_out)
        if keep:
            saved["hn"] = hn_rec
    else:
        G = project(x, W_ih, b_ih + b_hh, dtype)
        W_rzT = aligned(W_hhT[:, : 2 * H])
        W_nT = aligned(W_hhT[:, 2 * H :])
        hh = np.empty(2 * H, dtype)
        hn = np.empty(H, dtype)
        RZ, R, Z, N = G[:, : 2 * H], G[:, :H], G[:, H : 2 * H], G[:, 2 * H :]
        for rz, r, z, n, h_out in zip(tick(RZ), R, Z, N, Hs):
            np.matmul(h, W_rzT, out=hh)
            np.add(rz, hh, out=rz)
            f_rec(rz)
            np.multiply(r, h, out=tmp)
            np.matmul(tmp, W_nT, out=hn)
            np.add(n, hn, out=n)
            f_act(n)
            np.subtract(h, n, out=tmp)
            np.multiply(tmp, z, out=tmp)
            h = np.add(n, tmp, out=h_out)
    return LayerRecord(cell, x, np.asarray(h0, dtype), None, Hs, None, G, (0, 1, 2), saved)


def forward_batch(cell, x, h0, c0, dtype, ws=FRESH) -> LayerRecord:
    """A batch through the layer, time-major: x (T, B, D), h0 (B, H); arrays (T, B, ·),
    gates in PyTorch's block order, with W_hn h + b_hn saved (reset_after) for the adjoint.
    Every step writes into preallocated arrays (lent by ``ws``, a
    :class:`~rnnviz.engine.buffers.Scratch`): nothing is allocated inside the loop."""
    T, B = x.shape[:2]
    H = cell.hidden_size
    W_ih, W_hhT, b_ih, b_hh = params(cell, np.dtype(dtype))
    act, rec = cell.nonlinearity, cell.recurrent_activation
    f_act, f_rec = activation(act), activation(rec)
    Hs = ws.empty((T, B, H), dtype)
    tmp = ws.empty((B, H), dtype)
    h = h0
    saved = {}
    mul, add, sub, matmul = np.multiply, np.add, np.subtract, np.matmul
    G = ws.empty((T, B, 3 * H), dtype)
    project_batch(x, W_ih, G)
    RZ, R, Z, N = G[..., : 2 * H], G[..., :H], G[..., H : 2 * H], G[..., 2 * H :]
    if cell.reset_after:
        G += b_ih
        HH = ws.empty((T, B, 3 * H), dtype)  # W_hh h + b_hh at every step; its n block is saved
        for rz, r, z, n, hh, h_out in zip(RZ, R, Z, N, HH, Hs):
            matmul(h, W_hhT, out=hh)
            add(hh, b_hh, out=hh)
            add(rz, hh[:, : 2 * H], out=rz)
            f_rec(rz)
            mul(r, hh[:, 2 * H :], out=tmp)
            add(n, tmp, out=n)
            f_act(n)
            # h' = (1 − z) ⊙ n + z ⊙ h  ==  n + z ⊙ (h − n)
            sub(h, n, out=tmp)
            mul(tmp, z, out=tmp)
            h = add(n, tmp, out=h_out)
        saved["hn"] = HH[..., 2 * H :]
    else:
        G += b_ih + b_hh
        W_rzT, W_nT = aligned(W_hhT[:, : 2 * H]), aligned(W_hhT[:, 2 * H :])
        hh = ws.empty((B, 2 * H), dtype)
        hn = ws.empty((B, H), dtype)
        for rz, r, z, n, h_out in zip(RZ, R, Z, N, Hs):
            matmul(h, W_rzT, out=hh)
            add(rz, hh, out=rz)
            f_rec(rz)
            mul(r, h, out=tmp)
            matmul(tmp, W_nT, out=hn)
            add(n, hn, out=n)
            f_act(n)
            sub(h, n, out=tmp)
            mul(tmp, z, out=tmp)
            h = add(n, tmp, out=h_out)
    return LayerRecord(cell, x, h0, None, Hs, None, G, (0, 1, 2), saved)


def backward_batch(rec: LayerRecord, g, ws=FRESH):
    """Full BPTT through a batched record (training), the adjoint of the module notes swept
    over every step with preallocated buffers.

    ``g`` (T, B, H) is ∂L/∂h_t from outside the layer. Returns ``(A_ih, A_hh, dh)``: the
    projections' cotangents (T, B, 3H) in PyTorch's block order (reset_before: A_hh's n block
    is that of W_hn (r ⊙ h) + b_hn, the same as A_ih's) and dh (T, B, H), the total ∂L/∂h_t.
    The coefficients Z are computed for all steps at once, in the buffer that becomes A_hh;
    ``ws`` lends every array.
    """
    cell = rec.cell
    H = cell.hidden_size
    T, B = rec.h.shape[:2]
    dtype = rec.h.dtype
    act, recact = cell.nonlinearity, cell.recurrent_activation
    r, z, n = (rec.gate(k) for k in "rzn")
    A = ws.empty((T, B, 3 * H), dtype)
    A3 = A.reshape(T, B, 3, H)
    zn = derivative_into(act, n, ws.empty((T, B, H), dtype))
    d = ws.empty((T, B, H), dtype)  # each derivative in turn
    np.subtract(dtype.type(1.0), z, out=d)
    zn *= d  # (1 − z) ⊙ tanh'(n) = ∂h'/∂a_n
    Zz = A3[:, :, 1]
    np.subtract(rec.h[:-1], n[1:], out=Zz[1:])
    np.subtract(rec.h0, n[0], out=Zz[0])  # h_{t−1} − n
    Zz *= derivative_into(recact, z, d)
    W_hh = np.ascontiguousarray(cell.W_hh, dtype=dtype)
    dh, live = _outside(g, dtype, ws)
    tmp = ws.empty((B, H), dtype)
    mul, add, matmul = np.multiply, np.add, np.matmul
    if cell.reset_after:
        np.multiply(derivative_into(recact, r, d), rec.hn, out=A3[:, :, 0])
        A3[:, :, 0] *= zn
        np.multiply(r, zn, out=A3[:, :, 2])
        for t in range(T - 1, -1, -1):
            gh, a = dh[t], A[t]
            mul(A3[t], gh[:, None, :], out=A3[t])
            if t:
                matmul(a, W_hh, out=dh[t - 1])
                mul(gh, z[t], out=tmp)
                add(dh[t - 1], tmp, out=dh[t - 1])
                if live[t - 1]:
                    add(dh[t - 1], g[t - 1], out=dh[t - 1])
        A_ih = ws.empty(A.shape, dtype)
        np.copyto(A_ih[..., : 2 * H], A[..., : 2 * H])
        np.multiply(dh, zn, out=A_ih[..., 2 * H :])
        return A_ih, A, dh
    # reset_before: ū = (ḡ ⊙ zn) W_hn, and ā = [ū ⊙ σ'_r ⊙ h_{t−1}, ḡ ⊙ Z_z, ḡ ⊙ zn]
    Zr = A3[:, :, 0]
    derivative_into(recact, r, d)
    np.multiply(rec.h[:-1], d[1:], out=Zr[1:])
    np.multiply(rec.h0, d[0], out=Zr[0])
    A3[:, :, 2] = zn
    W_rz, W_n = np.ascontiguousarray(W_hh[: 2 * H]), np.ascontiguousarray(W_hh[2 * H :])
    gu = ws.empty((B, H), dtype)
    for t in range(T - 1, -1, -1):
        gh, a3 = dh[t], A3[t]
        mul(a3[:, 1:], gh[:, None, :], out=a3[:, 1:])
        matmul(a3[:, 2], W_n, out=gu)
        mul(a3[:, 0], gu, out=a3[:, 0])
        if t:  # nothing flows into h0 (a constant)
            matmul(A[t, :, : 2 * H], W_rz, out=dh[t - 1])
            if live[t - 1]:
                add(dh[t - 1], g[t - 1], out=dh[t - 1])
            mul(gu, r[t], out=tmp)
            add(dh[t - 1], tmp, out=dh[t - 1])
            mul(gh, z[t], out=tmp)
            add(dh[t - 1], tmp, out=dh[t - 1])
    return A, A, dh


# ------------------------------------------------------------------ tangent (JVP)
@dataclass(frozen=True, eq=False)
class Coeffs:
    cell: object
    H: int
    Z: np.ndarray  # (T, 3H) coefficients of W_hh dh (see the module notes)
    zn: np.ndarray  # (T, H) (1 − z) ⊙ tanh'(n) = ∂h'/∂a_n, the coefficient of W_in dx
    z: np.ndarray  # (T, H) multiplies dh directly
    r: np.ndarray | None  # (T, H) reset_before only: r ⊙ dh enters W_hn
    W_ih: np.ndarray
    W_hh: np.ndarray


def tangent_coeffs(rec: LayerRecord) -> Coeffs:
    cell = rec.cell
    W_ih, W_hh = weights(rec)
    act, recact = cell.nonlinearity, cell.recurrent_activation
    r, z, n = (rec.gate(k) for k in "rzn")
    hprev = prev(rec.h0, rec.h)
    sr, sz, sn = derivative(recact, r), derivative(recact, z), derivative(act, n)
    zn = (1.0 - z) * sn  # ∂h'/∂a_n
    if cell.reset_after:
        Z = np.concatenate([sr * rec.hn * zn, sz * (hprev - n), r * zn], axis=-1)
        return Coeffs(cell, cell.hidden_size, Z, zn, z, None, W_ih, W_hh)
    Z = np.concatenate([sr * hprev, sz * (hprev - n), zn], axis=-1)
    return Coeffs(cell, cell.hidden_size, Z, zn, z, r, W_ih, W_hh)


def jvp(k: Coeffs, t: int, dx, dh, dc=None):
    """(dh', None) after step t from (dx, dh); (H, K) columns, None meaning zero."""
    H = k.H
    Zt = k.Z[t][:, None]
    zn = k.zn[t][:, None]
    if not k.cell.reset_after:
        # u = dr ⊙ h + r ⊙ dh ; dan = W_in dx + W_hn u
        A = None
        if dh is not None:
            A = k.W_hh[: 2 * H] @ dh
        if dx is not None:
            Ax = k.W_ih[: 2 * H] @ dx
            A = Ax if A is None else np.add(A, Ax, out=A)
        if A is None:
            an = k.W_ih[2 * H :] @ dx if dx is not None else None
            return (None if an is None else zn * an), None
        A *= Zt[: 2 * H]
        u = A[:H]
        if dh is not None:
            u = u + k.r[t][:, None] * dh
        an = k.W_hh[2 * H :] @ u
        if dx is not None:
            an += k.W_ih[2 * H :] @ dx
        out = A[H:] + zn * an
        if dh is not None:
            out += k.z[t][:, None] * dh
        return out, None

    A = None
    if dh is not None:
        A = k.W_hh @ dh
    if dx is not None:
        Ax = k.W_ih @ dx
        Ax[2 * H :] *= zn
        Ax[: 2 * H] *= Zt[: 2 * H]
        if A is not None:
            A *= Zt
            A += Ax
        else:
            A = Ax
    else:
        if A is None:
            return None, None
        A *= Zt
    out = A[:H] + A[H : 2 * H]
    out += A[2 * H :]
    if dh is not None:
        out += k.z[t][:, None] * dh
    return out, None


def tangent_loop(k: Coeffs, dh, dc, log_scale: float, out: np.ndarray, tick=no_tick) -> float:
    """Steps 2…T of one layer (x₁ no longer enters): ``out[t] = ‖dh_t‖``, in place.

    ``dh`` is in row layout, (K, H) or (H,); the algebra of :func:`jvp`, unrolled with
    preallocated buffers, since this loop is what the influence costs.
    """
    H = k.H
    Z, keep, W = k.Z, k.z, k.W_hh
    A = np.empty(dh.shape[:-1] + (W.shape[0],), dh.dtype)
    mul, add, matmul, vdot = np.multiply, np.add, np.matmul, np.vdot
    scale = float(np.exp(log_scale))
    if k.cell.reset_after:
        WT = aligned(W.T)
        A0, A1, A2 = A[..., :H], A[..., H : 2 * H], A[..., 2 * H :]
        for t in tick(range(1, out.shape[0])):
            matmul(dh, WT, out=A)
            mul(A, Z[t], out=A)
            mul(keep[t], dh, out=dh)
            add(dh, A0, out=dh)
            add(dh, A1, out=dh)
            add(dh, A2, out=dh)
            n2 = float(vdot(dh, dh))
            out[t] = np.sqrt(n2) * scale
            if not LO2 < n2 < HI2:
                log_scale, scale = renormalise(dh, None, n2, log_scale, scale)
        return log_scale
    W_rzT, W_nT = aligned(W[: 2 * H].T), aligned(W[2 * H :].T)
    A = A[..., : 2 * H]
    Ar, Az = A[..., :H], A[..., H:]
    u = np.empty_like(dh)
    an = np.empty_like(dh)
    ZN, extra = k.zn, k.r
    for t in tick(range(1, out.shape[0])):
        matmul(dh, W_rzT, out=A)
        mul(A, Z[t][: 2 * H], out=A)
        mul(extra[t], dh, out=u)
        add(u, Ar, out=u)
        matmul(u, W_nT, out=an)
        mul(an, ZN[t], out=an)
        mul(keep[t], dh, out=dh)
        add(dh, Az, out=dh)
        add(dh, an, out=dh)
        n2 = float(vdot(dh, dh))
        out[t] = np.sqrt(n2) * scale
        if not LO2 < n2 < HI2:
            log_scale, scale = renormalise(dh, None, n2, log_scale, scale)
    return log_scale


# ------------------------------------------------------------------ adjoint (VJP)
def vjp(k: Coeffs, t: int, gh, gc=None, full: bool = False) -> Adjoint:
    """Step t backwards: ``gh`` (K, H) is ∂L/∂h_{t+1}; returns ∂L/∂h_t and, with ``full``,
    the projections' cotangents (reset_before: ``a_hh``'s n block is that of W_hn (r ⊙ h) + b_hn)."""
    H = k.H
    Zt = k.Z[t]
    if k.cell.reset_after:
        a_hh = np.tile(gh, 3) * Zt
        h = a_hh @ k.W_hh + gh * k.z[t]
        a_ih = None
        if full:
            a_ih = a_hh.copy()
            a_ih[:, 2 * H :] = gh * k.zn[t]
        return Adjoint(h, None, a_ih, a_hh)
    gu = (gh * k.zn[t]) @ k.W_hh[2 * H :]  # ∂L/∂(r ⊙ h)
    M = np.concatenate([gu * Zt[..., :H], gh * Zt[..., H : 2 * H]], axis=-1)
    h = M @ k.W_hh[: 2 * H] + gu * k.r[t] + gh * k.z[t]
    a = np.concatenate([M, gh * k.zn[t]], axis=-1) if full else None
    return Adjoint(h, None, a, a)


def param_grads(k, rec: LayerRecord, A_ih, A_hh):
    """∂L/∂(W_ih, W_hh, b_ih, b_hh) from the adjoints of a batched record. W_hh reads
    h_{t−1}, except the reset-before candidate's block W_hn, which reads r ⊙ h_{t−1}.
    Everything comes from the record (``k`` may be None)."""
    if rec.cell.reset_after:
        return grads_from_adjoints(rec, A_ih, A_hh)
    H = rec.cell.hidden_size
    hprev = prev(rec.h0, rec.h)
    dW_ih, dW_hh, db_ih, db_hh = grads_from_adjoints(rec, A_ih, A_hh, hprev)
    # the n block of W_hh multiplies r ⊙ h_{t−1}
    dW_hh[2 * H :] = np.tensordot(A_hh[..., 2 * H :], rec.gate("r") * hprev, axes=([0, 1], [0, 1]))
    return dW_ih, dW_hh, db_ih, db_hh


# ------------------------------------------------------------------ the state-space map
def step_jacobian(cell, x, s):
    """(f(s), J(s)) for states s = h (B, H) and one input x (D,), float64, in one pass (the
    state-space search's Newton step), with u = W_hn h + b_hn and h' = n + z ⊙ (h − n)::

        ∂r/∂h = diag(σ'_r) W_hr      ∂z/∂h = diag(σ'_z) W_hz
        ∂a_n/∂h = diag(u) ∂r/∂h + diag(r) W_hn              (reset_after)
        ∂a_n/∂h = W_hn (diag(h) ∂r/∂h + diag(r))            (reset before)
        ∂h'/∂h = diag(1 − z) diag(φ'(a_n)) ∂a_n/∂h + diag(h − n) ∂z/∂h + diag(z)
    """
    H = cell.hidden_size
    act, rec = cell.nonlinearity, cell.recurrent_activation
    h = np.asarray(s, dtype=np.float64)
    W = cell.W_hh.reshape(3, H, H)
    gx = cell.W_ih @ x + cell.b_ih  # (3H,)
    rz = h @ cell.W_hh[: 2 * H].T
    rz += gx[: 2 * H] + cell.b_hh[: 2 * H]
    apply(rec, rz)
    r, z = rz[:, :H], rz[:, H:]
    dr = derivative(rec, r)[:, :, None] * W[0]  # (B, H, H)
    dz = derivative(rec, z)[:, :, None] * W[1]
    if cell.reset_after:
        u = h @ W[2].T + cell.b_hh[2 * H :]
        n = r * u
        da = u[:, :, None] * dr
        da += r[:, :, None] * W[2]
    else:
        rh = r * h
        n = rh @ W[2].T + cell.b_hh[2 * H :]
        inner = h[:, :, None] * dr
        inner[:, np.arange(H), np.arange(H)] += r
        da = np.matmul(W[2], inner)
    n += gx[2 * H :]
    apply(act, n)
    hn = h - n
    J = ((1.0 - z) * derivative(act, n))[:, :, None] * da
    J += hn[:, :, None] * dz
    J[:, np.arange(H), np.arange(H)] += z
    out = hn * z
    out += n
    return out, J


# ------------------------------------------------------------------ one unit, by hand
def param_symbols(cell, gate: str) -> dict:
    return {"W_ih": f"W_i{gate}", "W_hh": f"W_h{gate}", "b_ih": f"b_i{gate}", "b_hh": f"b_h{gate}"}


def explain(cell, x, h_prev, c_prev, unit: int) -> UnitParts:
    H = cell.hidden_size
    act, sig = cell.nonlinearity, cell.recurrent_activation
    r_vec = None
    if not cell.reset_after:
        # W_hn (r ⊙ h) needs the reset gate of every unit, not only this one.
        a = cell.W_ih[:H] @ x + cell.b_ih[:H] + cell.W_hh[:H] @ h_prev + cell.b_hh[:H]
        r_vec = apply(sig, a)
    pre = {}
    pre["r"] = preactivation(cell, 0, "r", unit, x, h_prev, sig, param_symbols(cell, "r"))
    pre["z"] = preactivation(cell, 1, "z", unit, x, h_prev, sig, param_symbols(cell, "z"))
    if cell.reset_after:
        pre["n"] = preactivation(cell, 2, "n", unit, x, h_prev, act, param_symbols(cell, "n"), r=pre["r"].value)
    else:
        pre["n"] = preactivation(cell, 2, "n", unit, x, r_vec * h_prev, act, param_symbols(cell, "n"),
                                 reset_input=True)
    z, n = pre["z"].value, pre["n"].value
    hp = float(h_prev[unit])
    h = (1.0 - z) * n + z * hp
    line = UpdateLine("h", ((Factor("z", 0, z, "(1 − {})", 1.0 - z), Factor("n", 0, n)),
                            (Factor("z", 0, z), Factor("h", -1, hp))), float(h))
    return UnitParts(pre, h, r_all=r_vec, lines=(line,))


def equations(cell) -> list[str]:
    act, sig = symbol(cell.nonlinearity), symbol(cell.recurrent_activation)
    hp = "h_{t−1}"

    def pre(g: str) -> str:
        return f"W_i{g} x_t + b_i{g} + W_h{g} {hp}" + (f" + b_h{g}" if cell.recurrent_bias else "")

    bn = " + b_hn" if cell.recurrent_bias else ""
    if cell.reset_after:
        n = f"n_t = {act}(W_in x_t + b_in + r_t ⊙ (W_hn {hp}{bn}))"
    else:
        n = f"n_t = {act}(W_in x_t + b_in + W_hn (r_t ⊙ {hp}){bn})"
    return [f"r_t = {sig}({pre('r')})", f"z_t = {sig}({pre('z')})", n, f"h_t = (1 − z_t) ⊙ n_t + z_t ⊙ {hp}"]


# ------------------------------------------------------------------ metadata
def label_of(cell) -> str:
    return "GRU"


def repr_options(cell) -> str:
    extra = f", nonlinearity={cell.nonlinearity!r}" if cell.nonlinearity != "tanh" else ""
    return extra + ("" if cell.reset_after else ", reset_after=False")


# ------------------------------------------------------------------ the cell diagram
#: rnnviz.core.diagram's layout (after Olah's): h_{t−1} runs along the top, z's ⊙ keeps it,
#: (1 − z) ⊙ n writes; r scales the candidate's recurrent input (reset_after) or h_{t−1} itself.
DIAGRAM = {
    "pos": {"in:h": (0, 0), "in:x": (0, 5), "cat": (0, 4), "gate:r": (1, 3), "gate:z": (2, 3),
            "gate:n": (4, 3), "mul:z·h_prev": (2, 0), "op:(1 − z)": (3, 1.5), "mul:(1 − z)·n": (4, 1.5),
            "add:h": (4, 0), "out:h": (6.5, 0), "mul:r·h_prev": (3, 2.35)},
    "routes": {("cat", "*"): "hv", ("gate:r", "gate:n"): ((1, 2.3), (3.4, 2.3), (3.4, 3)),
               ("in:h", "mul:r·h_prev"): ((0, 3.7), (3, 3.7)),
               ("mul:r·h_prev", "gate:n"): ((3.45, 2.35), (3.45, 3)),
               ("in:x", "gate:n"): "hv"},
    "tags": {"in:x": (0, 1), "in:h": (0, 1), "op:(1 − z)": (-0.5, 0.72)},
    "reset": "r",
}

KIND = CellKind(
    name="gru",
    label="GRU",
    blocks=BLOCKS,
    gates=GATES,
    display_order=("r", "z", "n"),
    has_cell_state=False,
    keras_gate_order=("z", "r", "n"),  # Keras stacks z, r, h
    bias_sliders={"update_bias": "z"},
    choices=(Choice("gru", "gru", {}, "GRU", 2),),
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
    cell_options=("nonlinearity", "recurrent_activation", "reset_after"),
    torch_nonlinearities=(),
    keras_layer="GRU",
    diagram=DIAGRAM,
)
