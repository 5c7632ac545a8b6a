"""A trainable model: a stack of cells and an output layer, with PyTorch's parameter names.

The names are those of this PyTorch module, so that ``load_state_dict`` accepts what rnnviz
writes (and rnnviz reads what PyTorch writes)::

    class RNNModel(nn.Module):               # kind: nn.RNN / nn.GRU / nn.LSTM
        def __init__(self, D, H, O, layers=1):
            super().__init__()
            self.rnn = nn.LSTM(D, H, layers)  # time-major input (T, B, D)
            self.fc = nn.Linear(H, O)
        def forward(self, x):
            y, _ = self.rnn(x)
            return self.fc(y)

i.e. ``rnn.weight_ih_l0``, ``rnn.weight_hh_l0``, ``rnn.bias_ih_l0``, ``rnn.bias_hh_l0``, …,
``rnn.bias_hh_l{L-1}``, ``fc.weight`` and ``fc.bias``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cells import Stack, as_stack, init_cell
from .output import Output, init_output

__all__ = ["Model", "init_model", "model_from_state", "param_names"]

#: Our Cell field → PyTorch's name stem (``rnn.<stem>_l<k>``).
_TORCH = (("W_ih", "weight_ih"), ("W_hh", "weight_hh"), ("b_ih", "bias_ih"), ("b_hh", "bias_hh"))


@dataclass(frozen=True, eq=False)
class Model:
    """``rnn`` (a Stack; a Cell is accepted and wrapped) and ``fc``, the output layer on its
    last layer."""

    rnn: Stack
    fc: Output

    def __post_init__(self):
        object.__setattr__(self, "rnn", as_stack(self.rnn))
        if self.fc.input_size != self.rnn.hidden_size:
            raise ValueError(f"the output layer reads {self.fc.input_size} units but the last layer has "
                             f"{self.rnn.hidden_size}")

    @property
    def kind(self) -> str:
        return self.rnn.kind

    @property
    def input_size(self) -> int:
        return self.rnn.input_size

    @property
    def output_size(self) -> int:
        return self.fc.output_size

    def state_dict(self, dtype=np.float64) -> dict[str, np.ndarray]:
        """Every parameter by its PyTorch name, in ``nn.Module.state_dict()``'s order (copies)."""
        out = {}
        for k, cell in enumerate(self.rnn.layers):
            for ours, theirs in _TORCH:
                out[f"rnn.{theirs}_l{k}"] = np.array(getattr(cell, ours), dtype=dtype)
        out["fc.weight"] = np.array(self.fc.W_hy, dtype=dtype)
        out["fc.bias"] = np.array(self.fc.b_y, dtype=dtype)
        return out

    def with_state(self, state: dict) -> "Model":
        """The same architecture with the parameters in ``state`` (PyTorch names; missing
        names keep their value). The arrays are copied: the caller's stay writable."""
        layers = []
        for k, cell in enumerate(self.rnn.layers):
            changes = {ours: np.array(state[f"rnn.{theirs}_l{k}"], dtype=np.float64) for ours, theirs in _TORCH if f"rnn.{theirs}_l{k}" in state}
            layers.append(cell.with_params(**changes) if changes else cell)
        fc = self.fc
        fc_changes = {a: np.array(state[n], dtype=np.float64) for n, a in (("fc.weight", "W_hy"), ("fc.bias", "b_y")) if n in state}
        if fc_changes:
            fc = fc.with_params(**fc_changes)
        return Model(Stack(tuple(layers)), fc)

    def __repr__(self) -> str:
        return f"Model({list(self.rnn.layers)!r}, {self.fc!r})"


def param_names(model: Model) -> list[str]:
    return list(model.state_dict())


def init_model(kind: str, input_size: int, hidden_size: int, output_size: int, layers: int = 1,
               seed: int = 0, output: str = "identity", **cell_options) -> Model:
    """PyTorch's default initialisation of RNNModel, from ``seed``: each layer as
    :func:`~rnnviz.engine.cells.init_cell` (seeds ``seed``, ``seed + 1``, …), the output layer
    as ``nn.Linear`` (seed ``seed + layers``). ``cell_options``: nonlinearity, reset_after, bias."""
    if layers < 1:
        raise ValueError("a model needs at least one layer")
    cells = [init_cell(kind, input_size if k == 0 else hidden_size, hidden_size, seed=seed + k, **cell_options)
             for k in range(layers)]
    return Model(Stack(tuple(cells)), init_output(hidden_size, output_size, seed=seed + layers, activation=output))


def model_from_state(state: dict, kind: str, output: str = "identity", **cell_options) -> Model:
    """A Model from PyTorch names (``RNNModel.state_dict()``), its sizes read off the shapes.

    ``cell_options`` are the Cell's (nonlinearity, reset_after, …); the layer count is the
    number of ``rnn.weight_ih_l<k>`` keys.
    """
    L = 0
    while f"rnn.weight_ih_l{L}" in state:
        L += 1
    missing = [n for k in range(L) for _, t in _TORCH for n in [f"rnn.{t}_l{k}"] if n not in state]
    missing += [n for n in ("fc.weight", "fc.bias") if n not in state]
    if L == 0 or missing:
        raise ValueError(f"missing parameters: {', '.join(missing) or 'rnn.weight_ih_l0'}")
    W_hh = np.asarray(state["rnn.weight_hh_l0"])
    D, H = np.asarray(state["rnn.weight_ih_l0"]).shape[1], W_hh.shape[1]
    O = np.asarray(state["fc.weight"]).shape[0]
    return init_model(kind, D, H, O, layers=L, output=output, **cell_options).with_state(state)
