"""One recurrent layer run in both directions (PyTorch ``bidirectional=True``, ONNX
``direction="bidirectional"``), or in reverse only (ONNX ``direction="reverse"``).

The backward direction is the ordinary forward run of its cell over the reversed sequence,
x_T … x_1; its arrays are then re-indexed to the input's time order, as the frameworks return
them: row t of ``h_backward`` is the backward state after it has read x_T … x_{t+1} (1-based:
h←_t has read x_t … x_T). ``h`` is the frameworks' output, (T, 2H) = [forward | backward].

The x₁ influence of each direction is that of its own first input: ``influence_forward[t]`` =
‖∂h→_{t+1}/∂x_1‖ and ``influence_backward[t]`` = ‖∂h←_{t+1}/∂x_T‖ (re-indexed, so it grows
towards t = 1: the backward direction reads x_T first and x_1 last).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cells import Cell, Stack, as_stack
from .run import Trace, run

__all__ = ["Bidirectional", "BidirectionalTrace", "MERGE_MODES", "layers_of", "run_bidirectional"]

#: How the two directions' h make the layer's output (Keras's ``merge_mode``; PyTorch and ONNX
#: concatenate): [h→ | h←], h→ + h←, h→ ⊙ h←, (h→ + h←)/2.
MERGE_MODES = ("concat", "sum", "mul", "ave")


@dataclass(frozen=True, eq=False)
class Bidirectional:
    """A layer's two directions; ``forward`` is None for a reverse-only layer."""

    forward: Cell | None
    backward: Cell
    merge_mode: str = "concat"

    def __post_init__(self):
        if self.merge_mode not in MERGE_MODES:
            raise ValueError(f"unknown merge_mode {self.merge_mode!r}; expected one of {', '.join(MERGE_MODES)}")
        if self.forward is None and self.merge_mode != "concat":
            raise ValueError("a reverse-only layer has nothing to merge")
        if self.forward is not None:
            f, b = self.forward, self.backward
            if (f.input_size, f.hidden_size) != (b.input_size, b.hidden_size):
                raise ValueError(
                    f"the directions differ: forward D={f.input_size}, H={f.hidden_size}; "
                    f"backward D={b.input_size}, H={b.hidden_size}"
                )

    @property
    def directions(self) -> tuple[tuple[str, Cell], ...]:
        both = (("forward", self.forward), ("backward", self.backward))
        return tuple((name, cell) for name, cell in both if cell is not None)

    @property
    def kind(self) -> str:
        return self.backward.kind

    @property
    def input_size(self) -> int:
        return self.backward.input_size

    @property
    def hidden_size(self) -> int:
        """The width of the output h: 2H for both directions concatenated, H merged or for
        reverse only."""
        if self.merge_mode != "concat":
            return self.backward.hidden_size
        return sum(cell.hidden_size for _, cell in self.directions)

    @property
    def n_params(self) -> int:
        return sum(cell.n_params for _, cell in self.directions)

    def __repr__(self) -> str:
        if self.forward is None:
            return f"Bidirectional(reverse only: {self.backward!r})"
        merge = "" if self.merge_mode == "concat" else f", merge_mode={self.merge_mode!r}"
        return f"Bidirectional(forward={self.forward!r}, backward={self.backward!r}{merge})"


@dataclass(frozen=True, eq=False)
class BidirectionalTrace:
    """Both directions' traces. ``backward`` is in processing order (x_T first), as the
    engine ran it; :meth:`arrays` re-indexes it to the input's order."""

    model: Bidirectional
    xs: np.ndarray
    forward: Trace | None
    backward: Trace

    @property
    def h(self) -> np.ndarray:
        """The frameworks' output, in input order: (T, 2H) = [forward | backward] (concat), or
        the merged (T, H) of Keras's merge modes sum, mul and ave."""
        parts = [t.h if name == "forward" else t.h[::-1] for name, t in self._traces()]
        mode = self.model.merge_mode
        if mode == "concat":
            return np.ascontiguousarray(np.concatenate(parts, axis=1))
        f, b = parts
        out = f + b if mode == "sum" else f * b if mode == "mul" else (f + b) / 2
        return np.ascontiguousarray(out.astype(f.dtype, copy=False))

    def _traces(self):
        both = (("forward", self.forward), ("backward", self.backward))
        return tuple((name, t) for name, t in both if t is not None)

    def arrays(self) -> dict[str, np.ndarray]:
        """What ``rnnviz trace`` writes: ``h`` (T, 2H), then per direction ``h_forward``,
        ``c_forward``, each gate (``i_forward`` …) and ``influence_forward``, the same with
        ``_backward``; every array in the input's time order."""
        out = {"h": self.h}
        for name, trace in self._traces():
            for key, arr in trace.arrays().items():
                out[f"{key}_{name}"] = np.ascontiguousarray(arr if name == "forward" else arr[::-1])
        return out


def run_bidirectional(model: Bidirectional, xs, influence: bool = True, dtype=np.float32,
                      progress=None) -> BidirectionalTrace:
    """Run both directions of ``model`` over ``xs`` (T, D) from zero states (see the module notes)."""
    xs = np.asarray(xs, dtype=dtype)
    if xs.ndim == 1 and model.input_size == 1:
        xs = xs[:, None]
    if xs.ndim != 2:
        raise ValueError(f"xs has shape {xs.shape}; expected (T, {model.input_size})")
    parts = len(model.directions)
    traces = {}
    for k, (name, cell) in enumerate(model.directions):
        tick = None if progress is None else (lambda f, k=k: progress((k + f) / parts))
        seq = xs if name == "forward" else np.ascontiguousarray(xs[::-1])
        traces[name] = run(cell, seq, influence=influence, dtype=dtype, progress=tick)
    return BidirectionalTrace(model, xs, traces.get("forward"), traces["backward"])


def layers_of(model) -> Stack:
    """The layers that give a model's sizes and its ρ readout: a :class:`Bidirectional`'s
    forward direction (its backward one for a reverse-only layer; both share D and H), else
    the model as a stack."""
    if isinstance(model, Bidirectional):
        model = model.forward if model.forward is not None else model.backward
    return as_stack(model)
