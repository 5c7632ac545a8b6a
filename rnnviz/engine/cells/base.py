"""Cell parameters in PyTorch's layout, their initialisation and a few ready-made examples.

Kind-neutral: what differs between kinds (block count, gate names, equations) comes from the
registry (:func:`~rnnviz.engine.cells.registry.kind_of`).

A :class:`Cell` holds one recurrent layer exactly as ``torch.nn.RNNCell``, ``GRUCell`` and
``LSTMCell`` store it: ``W_ih`` is ``(G*H, D)``, ``W_hh`` is ``(G*H, H)``, ``b_ih`` and ``b_hh``
are ``(G*H,)``, with the gate blocks stacked in PyTorch's order (GRU ``r, z, n``; LSTM
``i, f, g, o``). A :class:`Stack` is a list of cells where layer ``k+1`` reads the hidden
state of layer ``k``, like ``nn.RNN(num_layers=L)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..activations import ACTIVATIONS
from .registry import CELL_KINDS, kind_names, kind_of

__all__ = [
    "Cell",
    "Stack",
    "as_stack",
    "from_seed_names",
    "init_cell",
    "seed_example",
    "SEED_EXAMPLE_INPUTS",
]

#: The seed document's input sequence, shape (T=3, D=1).
SEED_EXAMPLE_INPUTS = np.array([[0.1], [0.5], [0.9]])


@dataclass(frozen=True, eq=False)
class Cell:
    """One recurrent layer in PyTorch's parameter layout.

    Parameters
    ----------
    kind : str
        A registered kind: "rnn", "gru" or "lstm".
    W_ih : ndarray, shape (G*H, D)
    W_hh : ndarray, shape (G*H, H)
    b_ih, b_hh : ndarray, shape (G*H,)
    nonlinearity : str
        The RNN's activation ("tanh" or "relu"). For the GRU and LSTM this is Keras's
        ``activation`` (the candidate n / g and the output squashing of c); PyTorch fixes it
        to tanh.
    recurrent_activation : str
        The gates' activation, sigmoid in PyTorch (Keras's ``recurrent_activation``).
    reset_after : bool
        GRU only. True is PyTorch's GRU (and Keras ``reset_after=True``); False applies the
        reset gate before the recurrent product, as Keras ``reset_after=False``.
    recurrent_bias : bool
        False for cells with a single bias vector (the seed document's ``bias``, Keras's
        SimpleRNN, LSTM and reset-before GRU): ``b_hh`` is then all zeros and not counted as
        a parameter.
    W_hr : ndarray, shape (P, H), optional
        LSTM only: PyTorch's ``proj_size`` projection, ``h = W_hr (o ⊙ tanh c)``. The hidden
        state h then has P units (``hidden_size``) while c and the gates keep H
        (``cell_size``), and ``W_hh`` is (4·H, P).

    Attributes
    ----------
    gates : tuple of str
        The kind's gate names in block order (GRU ``r, z, n``; LSTM ``i, f, g, o``; RNN none).

    Notes
    -----
    Each kind's equations head its module: :mod:`.rnn`, :mod:`.gru`, :mod:`.lstm`.
    """

    kind: str
    W_ih: np.ndarray
    W_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray
    nonlinearity: str = "tanh"
    recurrent_activation: str = "sigmoid"
    reset_after: bool = True
    recurrent_bias: bool = True
    W_hr: np.ndarray | None = None

    def __post_init__(self):
        kind = kind_of(self.kind)
        for name in ("nonlinearity", "recurrent_activation"):
            if getattr(self, name) not in ACTIVATIONS:
                raise ValueError(
                    f"unsupported activation {getattr(self, name)!r}; "
                    f"expected one of {', '.join(ACTIVATIONS)}"
                )
        G = kind.blocks
        W_ih = np.asarray(self.W_ih, dtype=np.float64)
        W_hh = np.asarray(self.W_hh, dtype=np.float64)
        if W_hh.ndim != 2 or W_ih.ndim != 2:
            raise ValueError("W_ih and W_hh must be 2-D")
        if self.W_hr is not None:
            if not kind.projection:
                raise ValueError(f"a {self.kind} has no projection W_hr")
            W_hr = np.asarray(self.W_hr, dtype=np.float64)
            if W_hr.ndim != 2 or min(W_hr.shape) < 1:
                raise ValueError(f"W_hr has shape {W_hr.shape}; expected (P, H)")
            P, H = W_hr.shape
            if W_hh.shape != (G * H, P):
                raise ValueError(f"W_hh has shape {W_hh.shape}; with W_hr {W_hr.shape} it must be ({G * H}, {P})")
            if not np.isfinite(W_hr).all():
                raise ValueError("W_hr contains inf or NaN")
            W_hr = np.ascontiguousarray(W_hr)
            W_hr.flags.writeable = False
            object.__setattr__(self, "W_hr", W_hr)
        H = W_hh.shape[0] // G if self.W_hr is not None else W_hh.shape[1]
        if H < 1 or (self.W_hr is None and W_hh.shape != (G * H, H)):
            raise ValueError(f"W_hh has shape {W_hh.shape}; a {self.kind} needs ({G}·H, H)")
        if W_ih.shape[0] != G * H or W_ih.shape[1] < 1:
            raise ValueError(f"W_ih has shape {W_ih.shape}; expected ({G * H}, D)")
        b_ih = np.zeros(G * H) if self.b_ih is None else np.asarray(self.b_ih, dtype=np.float64)
        b_hh = np.zeros(G * H) if self.b_hh is None else np.asarray(self.b_hh, dtype=np.float64)
        for b, name in ((b_ih, "b_ih"), (b_hh, "b_hh")):
            if b.shape != (G * H,):
                raise ValueError(f"{name} has shape {b.shape}; expected ({G * H},)")
        for name, arr in (("W_ih", W_ih), ("W_hh", W_hh), ("b_ih", b_ih), ("b_hh", b_hh)):
            if not np.isfinite(arr).all():  # the method: np.all's wrapper costs more than the test
                raise ValueError(f"{name} contains inf or NaN")
            arr = np.ascontiguousarray(arr)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        if not self.recurrent_bias and np.any(self.b_hh != 0):
            raise ValueError("b_hh must be zero for a cell with a single bias (recurrent_bias=False)")
        # Not a field: the kind's gate names in block order, read on every run's hot path.
        object.__setattr__(self, "gates", kind.gate_names)

    @property
    def hidden_size(self) -> int:
        """The units of h (P with a projection)."""
        return self.W_hh.shape[1]

    @property
    def cell_size(self) -> int:
        """The units of each gate block (and of c): H, also with a projection."""
        return self.W_hh.shape[0] // kind_of(self.kind).blocks

    @property
    def input_size(self) -> int:
        return self.W_ih.shape[1]


    @property
    def n_params(self) -> int:
        n = self.W_ih.size + self.W_hh.size + self.b_ih.size + (self.b_hh.size if self.recurrent_bias else 0)
        return n + (0 if self.W_hr is None else self.W_hr.size)

    def block(self, name: str, gate: str | None = None) -> np.ndarray:
        """The rows of parameter ``name`` ("W_ih", "W_hh", "b_ih", "b_hh") that feed ``gate``."""
        arr = getattr(self, name)
        if gate is None:
            return arr
        H = self.cell_size
        k = self.gates.index(gate)
        return arr[k * H : (k + 1) * H]

    def symbol(self, name: str, row: int = 0) -> str:
        """How row ``row`` of parameter ``name`` is written: "W_hz" for a GRU's W_hh row in the
        z block, "W_hh" for an RNN's, "b" for a single-bias RNN's b_ih."""
        gates = self.gates
        gate = gates[row // self.cell_size] if gates else "h"
        return kind_of(self.kind).param_symbols(self, gate)[name]

    def spectral_radius(self) -> float:
        """ρ(W_hh) for an RNN; for gated cells the largest ρ among the recurrent gate blocks
        (each through the projection, W_h* W_hr, when there is one)."""
        H = self.cell_size
        blocks = [self.W_hh[k * H : (k + 1) * H] for k in range(kind_of(self.kind).blocks)]
        if self.W_hr is not None:
            blocks = [b @ self.W_hr for b in blocks]
        return max(float(np.max(np.abs(np.linalg.eigvals(b)))) for b in blocks)

    def with_params(self, **changes) -> "Cell":
        """A copy with some fields replaced (arrays are validated again)."""
        return replace(self, **changes)

    def __repr__(self) -> str:
        extra = kind_of(self.kind).repr_options(self)
        return f"Cell({self.kind!r}, D={self.input_size}, H={self.cell_size}{extra})"


class Layered:
    """The sizes of a model made of ``layers``, bottom first: what :class:`Stack` and the
    bidirectional stacks (``engine.bidirectional``) share."""

    __slots__ = ()

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def kind(self) -> str:
        return self.layers[-1].kind

    @property
    def input_size(self) -> int:
        return self.layers[0].input_size

    @property
    def hidden_size(self) -> int:
        return self.layers[-1].hidden_size

    @property
    def n_params(self) -> int:
        return sum(c.n_params for c in self.layers)


@dataclass(frozen=True, eq=False)
class Stack(Layered):
    """Stacked layers: layer k+1's input at step t is layer k's hidden state at step t."""

    layers: tuple[Cell, ...] = field(default_factory=tuple)

    def __post_init__(self):
        layers = tuple(self.layers)
        if not layers:
            raise ValueError("a stack needs at least one layer")
        for k in range(1, len(layers)):
            if layers[k].input_size != layers[k - 1].hidden_size:
                raise ValueError(
                    f"layer {k} expects input size {layers[k].input_size} but layer {k - 1} "
                    f"has hidden size {layers[k - 1].hidden_size}"
                )
        object.__setattr__(self, "layers", layers)

    def __getitem__(self, k: int) -> Cell:
        return self.layers[k]

    def __repr__(self) -> str:
        return f"Stack({list(self.layers)!r})"


#: The seed document's cell is the Elman RNN.
_SEED_KIND = "rnn"


def as_stack(model: Cell | Stack) -> Stack:
    return model if isinstance(model, Stack) else Stack((model,))


def init_cell(
    kind: str,
    input_size: int,
    hidden_size: int,
    seed: int = 0,
    nonlinearity: str = "tanh",
    reset_after: bool = True,
    bias: bool = True,
) -> Cell:
    """PyTorch's default initialisation: every parameter ~ U(−1/√H, 1/√H), from ``seed``.

    The draw order is W_ih, W_hh, b_ih, b_hh from ``numpy.random.default_rng(seed)``, so the
    same seed always gives the same cell.
    """
    if kind not in CELL_KINDS:
        raise ValueError(f"unknown cell kind {kind!r}; expected {kind_names()}")
    if input_size < 1 or hidden_size < 1:
        raise ValueError("input_size and hidden_size must be at least 1")
    G = CELL_KINDS[kind].blocks
    k = 1.0 / np.sqrt(hidden_size)
    rng = np.random.default_rng(seed)
    W_ih = rng.uniform(-k, k, (G * hidden_size, input_size))
    W_hh = rng.uniform(-k, k, (G * hidden_size, hidden_size))
    b_ih = rng.uniform(-k, k, G * hidden_size)
    b_hh = rng.uniform(-k, k, G * hidden_size)
    if not bias:
        b_ih = np.zeros_like(b_ih)
        b_hh = np.zeros_like(b_hh)
    return Cell(kind, W_ih, W_hh, b_ih, b_hh, nonlinearity=nonlinearity, reset_after=reset_after)


def seed_example(seed: int = 0) -> Cell:
    """The seed document's worked example as a Cell: a tanh RNN, input 1, hidden 2, zero bias.

    The document draws ``weight_x = np.random.randn(2, 1)`` then
    ``weight_h = np.random.randn(2, 2)`` and sets ``bias = np.zeros((2, 1))``; this does the
    same after ``np.random.seed(seed)`` (with a private RandomState, so global state is left
    alone). Its update ``h_t = tanh(W_x x_t + W_h h_{t−1} + b)`` is the RNN cell with
    ``W_ih = weight_x``, ``W_hh = weight_h``, ``b_ih = bias``, ``b_hh = 0``. Run it on
    :data:`SEED_EXAMPLE_INPUTS` (0.1, 0.5, 0.9).
    """
    rs = np.random.RandomState(seed)
    weight_x = rs.randn(2, 1)
    weight_h = rs.randn(2, 2)
    bias = np.zeros((2, 1))
    return from_seed_names(weight_x, weight_h, bias)


def from_seed_names(weight_x, weight_h, bias=None, nonlinearity: str = "tanh") -> Cell:
    """Build an RNN cell from the seed document's names: weight_x (H, D), weight_h (H, H), bias (H, 1)."""
    weight_h = np.asarray(weight_h, dtype=np.float64)
    H = weight_h.shape[0] if weight_h.ndim == 2 else 0
    b = np.zeros(H) if bias is None else np.asarray(bias, dtype=np.float64).reshape(-1)
    return Cell(_SEED_KIND, weight_x, weight_h, b, np.zeros_like(b), nonlinearity=nonlinearity, recurrent_bias=False)
