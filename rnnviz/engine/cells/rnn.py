"""The Elman RNN (``torch.nn.RNNCell``), tanh or ReLU: one block, no gates.

Notes
-----
Forward, with act the cell's ``nonlinearity``::

    a  = W_ih x + b_ih + W_hh h + b_hh
    h' = act(a)

Tangent (x₁ influence), with s = act'(a) read off h' and dx the input's tangent::

    dh' = s ⊙ (W_hh dh + W_ih dx)

Adjoint, given ḡ = ∂L/∂h'::

    ā = ḡ ⊙ s          (the cotangent of both projections)
    ∂L/∂h = ā W_hh

Parameters, summing the adjoints ā of every step and sequence (``param_grads``)::

    ∂L/∂W_ih = Σ āᵀ x_t    ∂L/∂W_hh = Σ āᵀ h_{t−1}    ∂L/∂b_ih = ∂L/∂b_hh = Σ ā
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import activation, apply, derivative, derivative_into, symbol
from ..buffers import FRESH, aligned
from .common import (HI2, LO2, grads_from_adjoints, no_tick, outside_gradient as _outside, params, preactivation,
                     project, project_batch, renormalise, weights)
from .kind import Adjoint, CellKind, Choice, LayerRecord, UnitParts

# ------------------------------------------------------------------ layout
BLOCKS = 1
GATES = ()  # h' is the activation itself; explain() calls its one pre-activation "h"


# ------------------------------------------------------------------ forward
def forward(cell, x, h0, c0, dtype, keep: bool = False, tick=no_tick) -> LayerRecord:
    """Run the layer over x (T, D); the input projection of all steps is one matrix product."""
    T = x.shape[0]
    H = cell.hidden_size
    W_ih, W_hhT, b_ih, b_hh = params(cell, np.dtype(dtype))
    h = np.asarray(h0, dtype=dtype)
    f = activation(cell.nonlinearity)
    Hs = project(x, W_ih, b_ih + b_hh, dtype)  # each row becomes h' in place
    tmp = np.empty(H, dtype)
    for a in tick(Hs):
        np.matmul(h, W_hhT, out=tmp)
        np.add(a, tmp, out=a)
        h = f(a)
    G = np.empty((T, 0), dtype)
    return LayerRecord(cell, x, np.asarray(h0, dtype), None, Hs, None, G, ())


def forward_batch(cell, x, h0, c0, dtype, ws=FRESH) -> LayerRecord:
    """A batch through the layer, time-major: x (T, B, D), h0 (B, H); the record's h is (T, B, H).
    ``ws`` (a :class:`~rnnviz.engine.buffers.Scratch`) lends the record's arrays."""
    W_ih, W_hhT, b_ih, b_hh = params(cell, np.dtype(dtype))
    f = activation(cell.nonlinearity)
    Hs = ws.empty(x.shape[:2] + (cell.hidden_size,), dtype)
    project_batch(x, W_ih, Hs)  # each step's row becomes h' in place
    Hs += b_ih + b_hh
    tmp = ws.empty(Hs.shape[1:], dtype)
    h = h0
    for a in Hs:
        np.matmul(h, W_hhT, out=tmp)
        np.add(a, tmp, out=a)
        h = f(a)
    G = np.empty(Hs.shape[:-1] + (0,), dtype)
    return LayerRecord(cell, x, h0, None, Hs, None, G, ())


def backward_batch(rec: LayerRecord, g, ws=FRESH):
    """Full BPTT through a batched record (training): ``g`` (T, B, H) is ∂L/∂h_t from outside
    the layer; returns ``(A, A, dh)``, the shared cotangent ā = ḡ ⊙ act'(a) (T, B, H) and dh,
    the total ∂L/∂h_t, swept over every step with preallocated buffers (lent by ``ws``)."""
    T, B, H = rec.h.shape
    dtype = rec.h.dtype
    A = ws.empty(rec.h.shape, dtype)  # s = act'(a), then ā = ḡ ⊙ s in place
    derivative_into(rec.cell.nonlinearity, rec.h, A)
    W_hh = np.ascontiguousarray(rec.cell.W_hh, dtype=dtype)
    dh, live = _outside(g, dtype, ws)
    mul, add, matmul = np.multiply, np.add, np.matmul
    for t in range(T - 1, -1, -1):
        a = mul(A[t], dh[t], out=A[t])
        if t:
            matmul(a, W_hh, out=dh[t - 1])
            if live[t - 1]:
                add(dh[t - 1], g[t - 1], out=dh[t - 1])
    return A, A, dh


# ------------------------------------------------------------------ tangent (JVP)
@dataclass(frozen=True, eq=False)
class Coeffs:
    cell: object
    Z: np.ndarray  # (T, H) s = act'(a_t)
    W_ih: np.ndarray
    W_hh: np.ndarray


def tangent_coeffs(rec: LayerRecord) -> Coeffs:
    W_ih, W_hh = weights(rec)
    return Coeffs(rec.cell, derivative(rec.cell.nonlinearity, rec.h), W_ih, W_hh)


def jvp(k: Coeffs, t: int, dx, dh, dc=None):
    """(dh', None) after step t from (dx, dh); (H, K) columns, None meaning zero."""
    A = None
    if dh is not None:
        A = k.W_hh @ dh
    if dx is not None:
        Ax = k.W_ih @ dx
        A = Ax if A is None else np.add(A, Ax, out=A)
    if A is None:
        return None, None
    A *= k.Z[t][:, None]
    return A, None


def tangent_loop(k: Coeffs, dh, dc, log_scale: float, out: np.ndarray, tick=no_tick) -> float:
    """Steps 2…T of one layer (x₁ no longer enters): ``out[t] = ‖dh_t‖``, in place.

    ``dh`` is in row layout, (K, H) or (H,); the algebra of :func:`jvp`, unrolled with
    preallocated buffers, since this loop is what the influence costs.
    """
    Z = k.Z
    WT = aligned(k.W_hh.T)
    A = np.empty(dh.shape[:-1] + (k.W_hh.shape[0],), dh.dtype)
    mul, matmul, vdot = np.multiply, np.matmul, np.vdot
    scale = float(np.exp(log_scale))
    for t in tick(range(1, out.shape[0])):
        matmul(dh, WT, out=A)
        mul(A, Z[t], out=dh)
        n2 = float(vdot(dh, dh))
        out[t] = np.sqrt(n2) * scale
        if not LO2 < n2 < HI2:
            log_scale, scale = renormalise(dh, None, n2, log_scale, scale)
    return log_scale


# ------------------------------------------------------------------ adjoint (VJP)
def vjp(k: Coeffs, t: int, gh, gc=None, full: bool = False) -> Adjoint:
    """Step t backwards: ``gh`` (K, H) is ∂L/∂h_{t+1}; returns ∂L/∂h_t and the projections'."""
    a = gh * k.Z[t]
    return Adjoint(a @ k.W_hh, None, a, a)


def param_grads(k: Coeffs, rec: LayerRecord, A_ih, A_hh):
    """∂L/∂(W_ih, W_hh, b_ih, b_hh) from the adjoints of a batched record: W_hh reads h_{t−1}."""
    return grads_from_adjoints(rec, A_ih, A_hh)


# ------------------------------------------------------------------ the state-space map
def step_jacobian(cell, x, s):
    """(f(s), J(s)) for states s = h (B, H) and one input x (D,), float64, in one pass:
    h' = φ(a) and ∂h'/∂h = diag(φ'(a)) W_hh (the state-space search's Newton step)."""
    s = np.asarray(s, dtype=np.float64)
    a = s @ cell.W_hh.T
    a += cell.W_ih @ x + cell.b_ih + cell.b_hh
    h = apply(cell.nonlinearity, a)
    return h, derivative(cell.nonlinearity, h)[:, :, None] * cell.W_hh


# ------------------------------------------------------------------ one unit, by hand
def param_symbols(cell, gate: str = "h") -> dict:
    return {"W_ih": "W_ih", "W_hh": "W_hh", "b_ih": "b_ih" if cell.recurrent_bias else "b", "b_hh": "b_hh"}


def explain(cell, x, h_prev, c_prev, unit: int) -> UnitParts:
    p = preactivation(cell, 0, "h", unit, x, h_prev, cell.nonlinearity, param_symbols(cell))
    return UnitParts({"h": p}, p.value)


def equations(cell) -> list[str]:
    act = symbol(cell.nonlinearity)
    if cell.recurrent_bias:
        return [f"h_t = {act}(W_ih x_t + b_ih + W_hh h_{{t−1}} + b_hh)"]
    return [f"h_t = {act}(W_ih x_t + W_hh h_{{t−1}} + b)"]


# ------------------------------------------------------------------ metadata
def label_of(cell) -> str:
    return f"RNN ({cell.nonlinearity})"


def repr_options(cell) -> str:
    return f", nonlinearity={cell.nonlinearity!r}"


# ------------------------------------------------------------------ the cell diagram
#: rnnviz.core.diagram's layout: h_{t−1} and x_t join, one activation block, h_t leaves.
DIAGRAM = {
    "pos": {"in:h": (0, 1), "in:x": (0, 3), "cat": (1, 2), "gate:h": (3, 2), "out:h": (6, 2)},
    "routes": {("cat", "*"): "hv", ("in:h", "cat"): "hv", ("in:x", "cat"): "hv"},
    "tags": {"in:x": (0, 1)},
}

KIND = CellKind(
    name="rnn",
    label="RNN",
    blocks=BLOCKS,
    gates=GATES,
    display_order=(),
    has_cell_state=False,
    keras_gate_order=(),
    bias_sliders={},
    choices=(
        Choice("rnn_tanh", "rnn", {"nonlinearity": "tanh"}, "RNN (tanh)", 0),
        Choice("rnn_relu", "rnn", {"nonlinearity": "relu"}, "RNN (ReLU)", 1),
    ),
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
    cell_options=("nonlinearity",),
    torch_nonlinearities=("tanh", "relu"),
    keras_layer="SimpleRNN",
    diagram=DIAGRAM,
)
