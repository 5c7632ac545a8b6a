"""Every number in one hidden unit's update, so a class can check the step by hand.

:func:`explain` takes a :class:`~rnnviz.engine.run.Trace`, a 0-based step ``t`` and a hidden
unit, and recomputes that unit's equations in float64 from the cell's parameters and the
states the trace recorded (x_t, h_{t−1}, c_{t−1}): every term of every pre-activation, the
sums, the activations and the new h_t[unit] (and c_t[unit]). :func:`equations` gives the
cell's equations as plain text. Both follow the :class:`~rnnviz.engine.cells.Cell` docstring.

Indexing as everywhere in the engine: step ``t`` (0-based) is step t+1 of the maths; it reads
``xs[t]`` and h_{t−1} is ``trace.h[t-1]``, or the initial state ``h0`` when t = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import apply
from .cells import Cell

__all__ = ["Preactivation", "Explanation", "explain", "equations", "symbol", "symbols"]


@dataclass(frozen=True, eq=False)
class Preactivation:
    """One gate's (or the RNN's) pre-activation for one unit, term by term.

    ``pre = Wx + b_ih + recurrent`` where ``recurrent = Wh + b_hh``, or
    ``r · (Wh + b_hh)`` for the GRU candidate with ``reset_after`` (``r`` is then set).
    ``Wx = Σ_j x_terms[j]`` and ``Wh = Σ_j h_terms[j]``.
    """

    gate: str  # "h" for the RNN; r, z, n (GRU); i, f, g, o (LSTM)
    row: int  # row of W_ih, W_hh, b_ih, b_hh in PyTorch's layout
    W_x: np.ndarray  # (D,) W_ih[row]
    x_terms: np.ndarray  # (D,) W_ih[row, j] · x_t[j]
    Wx: float
    b_ih: float
    W_h: np.ndarray  # (H,) W_hh[row]
    h_in: np.ndarray  # (H,) what W_h multiplies: h_{t−1}, or r_t ⊙ h_{t−1} (GRU n, reset_after=False)
    h_terms: np.ndarray  # (H,) W_hh[row, j] · h_in[j]
    Wh: float
    b_hh: float
    r: float | None  # r_t[unit] scaling (Wh + b_hh): GRU candidate with reset_after only
    recurrent: float
    pre: float
    activation: str
    value: float


@dataclass(frozen=True, eq=False)
class Explanation:
    """All the numbers of unit ``unit``'s update at 0-based step ``t`` of layer ``layer``."""

    kind: str
    nonlinearity: str
    recurrent_activation: str
    reset_after: bool
    recurrent_bias: bool
    layer: int
    n_layers: int
    t: int
    unit: int
    x: np.ndarray  # (D,) x_t: the layer's input (the layer below's h_t in a stack)
    h_prev: np.ndarray  # (H,) h_{t−1}
    c_prev: float | None  # c_{t−1}[unit] (LSTM)
    pre: dict  # gate -> Preactivation, in PyTorch's order ("h" alone for the RNN)
    h: float  # h_t[unit]
    c: float | None  # c_t[unit] (LSTM)
    c_act: float | None  # tanh(c_t[unit]) (LSTM; the cell's nonlinearity)
    r_all: np.ndarray | None = None  # (H,) r_t of every unit: the reset-before GRU's W_hn (r ⊙ h)

    @property
    def h_prev_unit(self) -> float:
        return float(self.h_prev[self.unit])

    @property
    def gates(self) -> dict[str, float]:
        """Gate activations by name (empty for the RNN)."""
        return {} if self.kind == "rnn" else {g: p.value for g, p in self.pre.items()}


def _act(name: str, v: float) -> float:
    return float(apply(name, np.array([v], dtype=np.float64))[0])


def explain(trace, t: int, unit: int) -> Explanation:
    """Recompute unit ``unit`` of the traced layer at 0-based step ``t``, keeping every term."""
    layer = trace.layer
    rec = trace.records[layer]
    cell: Cell = rec.cell
    T, H = rec.h.shape
    t, unit = int(t), int(unit)
    if not 0 <= t < T:
        raise IndexError(f"step {t} out of range 0…{T - 1}")
    if not 0 <= unit < H:
        raise IndexError(f"unit {unit} out of range 0…{H - 1}")
    x = np.asarray(rec.x[t], dtype=np.float64)
    h_prev = np.asarray(rec.h0 if t == 0 else rec.h[t - 1], dtype=np.float64)
    c_prev = None
    if cell.kind == "lstm":
        c_prev = float(rec.c0[unit] if t == 0 else rec.c[t - 1, unit])
    act, sig = cell.nonlinearity, cell.recurrent_activation
    gate_names = cell.gates or ("h",)
    acts = {"h": act, "r": sig, "z": sig, "n": act, "i": sig, "f": sig, "g": act, "o": sig}

    with np.errstate(all="ignore"):
        r_vec = None
        if cell.kind == "gru" and not cell.reset_after:
            # W_hn (r ⊙ h) needs the reset gate of every unit, not only this one.
            a = cell.W_ih[:H] @ x + cell.b_ih[:H] + cell.W_hh[:H] @ h_prev + cell.b_hh[:H]
            r_vec = apply(sig, a)
        pre = {}
        for k, gate in enumerate(gate_names):
            row = k * H + unit
            W_x, W_h = cell.W_ih[row], cell.W_hh[row]
            x_terms = W_x * x
            h_in = r_vec * h_prev if (gate == "n" and r_vec is not None) else h_prev
            h_terms = W_h * h_in
            Wx, Wh = float(x_terms.sum()), float(h_terms.sum())
            b_ih, b_hh = float(cell.b_ih[row]), float(cell.b_hh[row])
            r = None
            recurrent = Wh + b_hh
            if gate == "n" and cell.reset_after:
                r = pre["r"].value
                recurrent = r * recurrent
            total = Wx + b_ih + recurrent
            pre[gate] = Preactivation(gate, row, W_x, x_terms, Wx, b_ih, W_h, h_in, h_terms, Wh, b_hh, r,
                                      float(recurrent), float(total), acts[gate], _act(acts[gate], total))

        c = c_act = None
        if cell.kind == "rnn":
            h = pre["h"].value
        elif cell.kind == "gru":
            z, n = pre["z"].value, pre["n"].value
            h = (1.0 - z) * n + z * float(h_prev[unit])
        else:
            i, f, g, o = (pre[k].value for k in "ifgo")
            c = f * c_prev + i * g
            c_act = _act(act, c)
            h = o * c_act
    return Explanation(cell.kind, act, sig, cell.reset_after, cell.recurrent_bias, layer,
                       len(trace.model.layers), t, unit, x, h_prev, c_prev, pre, float(h),
                       c if c is None else float(c), c_act, r_vec)


#: Short names of the activations in equations.
_ACT_SYMBOL = {"sigmoid": "σ", "tanh": "tanh", "relu": "ReLU", "linear": "id", "hard_sigmoid": "hard-σ"}


def symbol(activation: str) -> str:
    """How an activation is written in equations: σ, tanh, ReLU, …"""
    return _ACT_SYMBOL[activation]


def symbols(cell: Cell) -> tuple[str, str]:
    """How the cell's (nonlinearity, recurrent activation) are written in equations."""
    return symbol(cell.nonlinearity), symbol(cell.recurrent_activation)


def equations(cell: Cell) -> list[str]:
    """The cell's equations in plain text, for its kind and variant (one line per equation)."""
    act, sig = symbols(cell)
    hp = "h_{t−1}"

    def pre(g: str) -> str:
        return f"W_i{g} x_t + b_i{g} + W_h{g} {hp}" + (f" + b_h{g}" if cell.recurrent_bias else "")

    if cell.kind == "rnn":
        if cell.recurrent_bias:
            return [f"h_t = {act}(W_ih x_t + b_ih + W_hh {hp} + b_hh)"]
        return [f"h_t = {act}(W_ih x_t + W_hh {hp} + b)"]
    if cell.kind == "gru":
        bn = " + b_hn" if cell.recurrent_bias else ""
        if cell.reset_after:
            n = f"n_t = {act}(W_in x_t + b_in + r_t ⊙ (W_hn {hp}{bn}))"
        else:
            n = f"n_t = {act}(W_in x_t + b_in + W_hn (r_t ⊙ {hp}){bn})"
        return [f"r_t = {sig}({pre('r')})", f"z_t = {sig}({pre('z')})", n,
                f"h_t = (1 − z_t) ⊙ n_t + z_t ⊙ {hp}"]
    return [
        f"i_t = {sig}({pre('i')})",
        f"f_t = {sig}({pre('f')})",
        f"g_t = {act}({pre('g')})",
        f"o_t = {sig}({pre('o')})",
        "c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t",
        f"h_t = o_t ⊙ {act}(c_t)",
    ]
