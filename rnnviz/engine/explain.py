"""Every number in one hidden unit's update, so a class can check the step by hand.

:func:`explain` takes a :class:`~rnnviz.engine.run.Trace`, a 0-based step ``t`` and a hidden
unit, and recomputes that unit's equations in float64 from the cell's parameters and the
states the trace recorded (x_t, h_{t−1}, c_{t−1}): every term of every pre-activation, the
sums, the activations and the new h_t[unit] (and c_t[unit]). :func:`equations` gives the
cell's equations as plain text. The arithmetic is each kind's (``cells/<kind>.py``).

Indexing as everywhere in the engine: step ``t`` (0-based) is step t+1 of the maths; it reads
``xs[t]`` and h_{t−1} is ``trace.h[t-1]``, or the initial state ``h0`` when t = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import symbol
from .cells import Cell, Factor, Preactivation, UpdateLine, kind_of

__all__ = ["Preactivation", "Explanation", "Factor", "UpdateLine", "explain", "equations", "symbol", "symbols"]


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
    #: The state updates after the gates, in order (GRU: h; LSTM: c then h), as sums of
    #: products of :class:`Factor`; empty when h is the one pre-activation's value (the RNN).
    lines: tuple = ()

    @property
    def h_prev_unit(self) -> float:
        return float(self.h_prev[self.unit])

    @property
    def gates(self) -> dict[str, float]:
        """Gate activations by name (empty for the RNN)."""
        names = kind_of(self.kind).gate_names
        return {g: p.value for g, p in self.pre.items() if g in names}


def explain(trace, t: int, unit: int) -> Explanation:
    """Recompute unit ``unit`` of the traced layer at 0-based step ``t``, keeping every term."""
    layer = trace.layer
    rec = trace.records[layer]
    cell: Cell = rec.cell
    kind = kind_of(cell.kind)
    T, H = rec.h.shape[0], cell.cell_size  # a unit of the gates (and of c; h's unless projected)
    t, unit = int(t), int(unit)
    if not 0 <= t < T:
        raise IndexError(f"step {t} out of range 0…{T - 1}")
    if not 0 <= unit < H:
        raise IndexError(f"unit {unit} out of range 0…{H - 1}")
    x = np.asarray(rec.x[t], dtype=np.float64)
    h_prev = np.asarray(rec.h0 if t == 0 else rec.h[t - 1], dtype=np.float64)
    c_prev = None
    if kind.has_cell_state:
        c_prev = float(rec.c0[unit] if t == 0 else rec.c[t - 1, unit])
    with np.errstate(all="ignore"):
        u = kind.explain(cell, x, h_prev, c_prev, unit)
    return Explanation(cell.kind, cell.nonlinearity, cell.recurrent_activation, cell.reset_after,
                       cell.recurrent_bias, layer, len(trace.model.layers), t, unit, x, h_prev, c_prev,
                       u.pre, float(u.h), u.c if u.c is None else float(u.c), u.c_act, u.r_all, u.lines)


def symbols(cell: Cell) -> tuple[str, str]:
    """How the cell's (nonlinearity, recurrent activation) are written in equations."""
    return symbol(cell.nonlinearity), symbol(cell.recurrent_activation)


def equations(cell: Cell) -> list[str]:
    """The cell's equations in plain text, for its kind and variant (one line per equation)."""
    return kind_of(cell.kind).equations(cell)
