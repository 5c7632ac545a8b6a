"""What a cell kind module provides: :class:`CellKind`, and the values its functions exchange.

A kind module (``rnn.py``, ``gru.py``, ``lstm.py``) ends with ``KIND = CellKind(...)``; the
registry lists those. The engine's drivers (``run``, ``influence``, ``explain``) only ever call
the functions of a :class:`CellKind`, so they never branch on a kind's name.

The function fields, with ``k`` a kind's tangent coefficients (``tangent_coeffs(rec)``)::

    forward(cell, x, h0, c0, dtype, keep, tick) -> LayerRecord
    tangent_coeffs(rec) -> k                        (vectorised over all steps)
    jvp(k, t, dx, dh, dc) -> (dh', dc')             (H, K) columns; None means zero
    tangent_loop(k, dh, dc, log_scale, out, tick) -> log_scale
    vjp(k, t, gh, gc, full=False) -> Adjoint        (K, H) rows
    explain(cell, x, h_prev, c_prev, unit) -> UnitParts
    equations(cell) -> list[str]
    label_of(cell) -> str
    param_symbols(cell, gate) -> {"W_ih": "W_iz", "W_hh": "W_hz", "b_ih": "b_iz", "b_hh": "b_hz"}
    repr_options(cell) -> str                       (", nonlinearity='relu'" in Cell's repr)
    forward_batch(cell, x, h0, c0, dtype, ws) -> LayerRecord training: x (T, B, D), arrays (T, B, ·)
    param_grads(k, rec, A_ih, A_hh) -> (dW_ih, dW_hh, db_ih, db_hh)   from stacked vjp adjoints
    backward_batch(rec, g, ws) -> (A_ih, A_hh, dh)  training, optional: one sweep of full BPTT
    step_jacobian(cell, x, s) -> (f, J)             state space: a step and ∂f/∂s, batched

``tangent_coeffs`` and ``vjp`` index only the last axis, so the same functions serve a batched
record (``rnnviz.engine.train`` passes rows (B, H) with coefficients (B, ·) per step).

The data fields say what the file formats need to know: ``keras_layer``, ``keras_gate_order``,
``cell_options``
(which Cell options a file may record for the kind) and ``torch_nonlinearities``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

__all__ = [
    "Adjoint",
    "CellKind",
    "Choice",
    "Factor",
    "GateInfo",
    "LayerRecord",
    "Preactivation",
    "UnitParts",
    "UpdateLine",
]


@dataclass(frozen=True)
class GateInfo:
    """One gate block of a kind, in plain words."""

    name: str  # "z"
    title: str  # "update gate"
    meaning: str | None  # "1 = keep old state"; None for candidates (their meaning is their range)
    short_meaning: str | None  # "1 = keep h": Compare mode's one-liners
    range: tuple[float, float]  # (0, 1) for gates; (-1, 1) for the tanh candidates n, g
    role: str  # colour role: "write" (z, i), "erase" (r, f), "candidate" (n, g), "output" (o)
    short_title: str = ""  # "update": Compare mode's one-word title


@dataclass(frozen=True)
class Choice:
    """One entry of the UI's cell menu: a kind with some of its options fixed."""

    key: str  # "rnn_relu"
    kind: str  # "rnn"
    options: dict  # Cell fields it fixes: {"nonlinearity": "relu"}
    label: str  # "RNN (ReLU)"
    slot: int  # a stable colour slot, 0, 1, 2, …


@dataclass(frozen=True, eq=False)
class LayerRecord:
    """One layer's forward record: what the derivative and explain code read back.

    ``G`` holds the gate activations, ``(T, blocks·H)``, with gate ``gate_cols[j]``'s block
    holding ``cell.gates[j]`` (a kind's kernel may keep its own block order); an RNN's is
    empty. ``saved`` holds anything else a kind's tangent needs (the GRU's ``W_hn h + b_hn``).
    """

    cell: object  # Cell
    x: np.ndarray  # (T, D) this layer's input
    h0: np.ndarray  # (H,)
    c0: np.ndarray | None  # (H,) kinds with a cell state
    h: np.ndarray  # (T, H)
    c: np.ndarray | None  # (T, H)
    G: np.ndarray  # (T, blocks·H)
    gate_cols: tuple = ()
    saved: dict = field(default_factory=dict)

    def gate(self, name: str) -> np.ndarray:
        H = self.cell.cell_size
        k = self.gate_cols[self.cell.gates.index(name)]
        return self.G[..., k * H : (k + 1) * H]

    @property
    def hn(self) -> np.ndarray | None:
        return self.saved.get("hn")


class Adjoint(NamedTuple):
    """One step back: cotangents of step t's inputs, given ``gh``/``gc`` of its outputs.

    ``h``, ``c`` are ``gh ∂h_{t+1}/∂h_t + gc ∂c_{t+1}/∂h_t`` and the same for c_t, rows
    (K, H). ``a_ih`` and ``a_hh`` are the cotangents of the two projections the step reads,
    ``W_ih x_t + b_ih`` and ``W_hh h_in + b_hh`` (K, blocks·H), where h_in is what the kind
    multiplies by W_hh (h_{t−1}; the reset-before GRU's n block reads r ⊙ h_{t−1}). They give
    every other gradient with no further kind knowledge::

        ∂/∂x_t = a_ih W_ih     ∂/∂W_ih = a_ihᵀ x_t    ∂/∂b_ih = Σ_rows a_ih
        ∂/∂W_hh = a_hhᵀ h_in   ∂/∂b_hh = Σ_rows a_hh

    They may be None unless the VJP was called with ``full=True``.
    """

    h: np.ndarray
    c: np.ndarray | None
    a_ih: np.ndarray | None = None
    a_hh: np.ndarray | None = None


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
    symbols: dict = field(default_factory=dict)  # param -> its symbol here: {"W_ih": "W_iz", …}
    reset_input: bool = False  # W_h multiplies r_t ⊙ h_{t−1} (the reset-before GRU's candidate)


@dataclass(frozen=True)
class Factor:
    """One factor of a product in a state update, e.g. ``(1 − z_t)`` or ``tanh(c_t)``.

    ``form`` says how the symbol enters ("{}", "(1 − {})", "tanh({})"); ``value`` is the
    symbol's own value and ``result`` the factor's (they differ when ``form`` is not "{}").
    """

    name: str  # "z", "n", "h", "c": a gate or a state
    step: int  # 0: at t; −1: at t−1
    value: float
    form: str = "{}"
    result: float | None = None


@dataclass(frozen=True)
class UpdateLine:
    """One state update of a unit after its gates: ``target_t = Σ_terms Π_factors``."""

    target: str  # "h" or "c"
    terms: tuple  # tuple of tuples of Factor
    value: float


@dataclass(frozen=True, eq=False)
class UnitParts:
    """What a kind's ``explain`` computes for one unit (see :class:`~rnnviz.engine.explain.Explanation`)."""

    pre: dict  # gate -> Preactivation, in PyTorch's order ("h" alone for the RNN)
    h: float
    c: float | None = None
    c_act: float | None = None
    r_all: np.ndarray | None = None
    lines: tuple = ()  # UpdateLine, in order; empty when h is the single pre-activation's value


@dataclass(frozen=True, eq=False)
class CellKind:
    """Everything the engine and the UI need to know about one cell kind (see the module doc)."""

    name: str  # "gru"
    label: str  # "GRU"
    blocks: int  # G: W_hh is (G·H, H)
    gates: tuple  # GateInfo, in PyTorch's block order (empty for the RNN)
    display_order: tuple  # gate names, the 0–1 gates first, the candidate last
    has_cell_state: bool
    keras_gate_order: tuple  # Keras's block order, in our gate names
    bias_sliders: dict  # group bias slider -> the gate whose b_ih it shifts
    choices: tuple  # Choice, in menu order
    forward: Callable
    tangent_coeffs: Callable
    jvp: Callable
    tangent_loop: Callable
    vjp: Callable
    explain: Callable
    equations: Callable
    label_of: Callable
    param_symbols: Callable
    repr_options: Callable
    #: Training (``rnnviz.engine.train``): the batched forward over (T, B, D), time-major, whose
    #: record has (T, B, ·) arrays that ``tangent_coeffs`` and ``vjp`` read as they read a single
    #: sequence's; and the parameters' gradients from the projections' adjoints (see ``Adjoint``).
    #:
    #:     forward_batch(cell, x, h0, c0, dtype, ws=FRESH) -> LayerRecord   x (T, B, D), h0/c0 (B, H)
    #:     param_grads(k, rec, A_ih, A_hh) -> (dW_ih, dW_hh, db_ih, db_hh)   A_* (T, B, G·H)
    forward_batch: Callable | None = None
    param_grads: Callable | None = None
    #: Training, optional: full BPTT through one batched record in one sweep (no truncation),
    #: the fast path of ``rnnviz.engine.train``; it must give what stacking ``vjp`` over the
    #: steps gives. ``g`` is ∂L/∂h_t from outside the layer; ``dh`` the total ∂L/∂h_t. A_hh may
    #: be A_ih itself. ``param_grads`` is then called with ``k=None``. Both batched functions
    #: take their arrays from ``ws`` (a ``buffers.Scratch``; training lends them from a
    #: per-thread pool, so nothing they return may outlive the pass).
    #:
    #:     backward_batch(rec, g, ws=FRESH) -> (A_ih, A_hh, dh)   g, dh (T, B, H); A_* (T, B, G·H)
    backward_batch: Callable | None = None
    #: The state space (``rnnviz.engine.statespace``): one step s ↦ f(s, x) from states s (B, S)
    #: (h, or [h; c] with a cell state) for one input x (D,), in float64, with its Jacobian
    #: (B, S, S) in one pass (the Newton search runs a few per frame). It must give what
    #: ``forward_batch`` and ``vjp`` give (``StepMap.adjoint_jacobian``, the tests' reference,
    #: and the path taken for a kind that leaves it None).
    #:
    #:     step_jacobian(cell, x, s) -> (f (B, S), J (B, S, S))   J[b, i, j] = ∂f_i/∂s_j
    step_jacobian: Callable | None = None
    #: The Cell options the kind reads besides its weights and ``recurrent_bias``: every kind
    #: has a "nonlinearity"; the gated ones a "recurrent_activation"; the GRU a "reset_after".
    cell_options: tuple = ("nonlinearity",)
    #: PyTorch's ``nonlinearity=`` values for the kind (nn.RNN's "tanh", "relu"); empty when
    #: PyTorch fixes the activation at tanh, as for the gated kinds. Only a kind with such an
    #: option takes a caller's nonlinearity for a file that records none.
    torch_nonlinearities: tuple = ()
    #: The Keras layer class of the kind ("SimpleRNN"); its cell class adds "Cell".
    keras_layer: str = ""
    #: Whether the kind takes PyTorch's ``proj_size`` projection ``W_hr`` (the LSTM).
    projection: bool = False
    #: Where the cell diagram (rnnviz.core.diagram) puts its nodes: ``{"pos": {node id: (x, y)},
    #: "routes": {(src, dst | "*"): "hv" | "vh" | ((x, y), …)}, "tags": {node id: (dx, dy)}, "reset": gate}``
    #: in grid units, y down. The nodes themselves follow from ``explain``'s structure; a node
    #: with no position is placed by depth. ``reset`` names the gate that scales the candidate's
    #: recurrent input (the GRU's r).
    diagram: dict = field(default_factory=dict)
    gate_names: tuple = field(init=False)  # ("r", "z", "n"): the gates' names, in block order

    def __post_init__(self):
        object.__setattr__(self, "gate_names", tuple(g.name for g in self.gates))

    def gate(self, name: str) -> GateInfo:
        for g in self.gates:
            if g.name == name:
                return g
        raise KeyError(f"a {self.name} has no gate {name!r}")

    def __repr__(self) -> str:
        return f"CellKind({self.name!r})"
