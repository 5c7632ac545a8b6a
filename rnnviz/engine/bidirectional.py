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
from .cells.base import Layered
from .cells.common import HI, LO
from .run import Trace, run

__all__ = ["Bidirectional", "BidirectionalStack", "BidirectionalStackTrace", "BidirectionalTrace", "MERGE_MODES",
           "is_bidirectional", "layers_of", "perturbation_stack", "run_bidirectional", "run_bidirectional_stack"]

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




@dataclass(frozen=True, eq=False)
class BidirectionalStack(Layered):
    """Bidirectional layers stacked (PyTorch ``num_layers > 1, bidirectional=True``, Keras
    ``Bidirectional`` layers in a row): layer k+1 reads layer k's merged output in the input's
    time order, [h→ | h←] for concat (2H wide)."""

    layers: tuple

    def __post_init__(self):
        layers = tuple(self.layers)
        object.__setattr__(self, "layers", layers)
        if len(layers) < 2:
            raise ValueError("a bidirectional stack needs at least two layers")
        for k, layer in enumerate(layers):
            if not isinstance(layer, Bidirectional) or layer.forward is None:
                raise ValueError(f"layer {k} is not a bidirectional layer with both directions")
            if any(getattr(c, "mask_value", None) is not None or getattr(c, "go_backwards", False)
                   for _, c in layer.directions):
                raise ValueError(f"layer {k}: masking or go_backwards inside a bidirectional stack is not supported")
            if k and layer.input_size != layers[k - 1].hidden_size:
                raise ValueError(f"layer {k} reads D = {layer.input_size}, but layer {k - 1} gives "
                                 f"{layers[k - 1].hidden_size} ({layers[k - 1].merge_mode} of its two directions)")

    def __repr__(self) -> str:
        return f"BidirectionalStack({', '.join(map(repr, self.layers))})"


@dataclass(frozen=True, eq=False)
class BidirectionalStackTrace:
    """The traced layer's two directions (``trace``, a :class:`BidirectionalTrace` in which
    each direction's influence is that of the stack's input: ``influence_forward[t]`` =
    ‖∂h→_{t+1}/∂x_1‖ and ``influence_backward[t]`` = ‖∂h←_{t+1}/∂x_T‖, through every layer
    below), and the layers' inputs (``inputs[k]``: what layer k read, in input order)."""

    model: BidirectionalStack
    layer: int
    trace: BidirectionalTrace
    inputs: tuple

    @property
    def h(self) -> np.ndarray:
        return self.trace.h

    def arrays(self) -> dict[str, np.ndarray]:
        return self.trace.arrays()


def _merge(mode: str, f: np.ndarray, b: np.ndarray) -> np.ndarray:
    if mode == "concat":
        return np.concatenate([f, b], axis=1)
    return f + b if mode == "sum" else f * b if mode == "mul" else (f + b) / 2


def run_bidirectional_stack(model: BidirectionalStack, xs, layer: int = -1, influence: bool = True,
                            dtype=np.float32, progress=None) -> BidirectionalStackTrace:
    """Run the layers of ``model`` up to ``layer`` over ``xs`` (T, D) from zero states; the
    traced layer's directions carry the exact influence of x_1 (forward) and x_T (backward)."""
    from .cells import kind_of
    from .run import _forward_layer

    L = len(model.layers)
    layer = range(L)[layer]
    x = np.asarray(xs, dtype=dtype)
    if x.ndim == 1 and model.input_size == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != model.input_size:
        raise ValueError(f"xs has shape {x.shape}; expected (T, {model.input_size})")
    T = x.shape[0]
    inputs, records = [], []
    parts = (layer + 1) * 2 + (2 if influence else 0)
    done = 0
    with np.errstate(all="ignore"):
        for k in range(layer + 1):
            inputs.append(x)
            recs = {}
            for name, cell in model.layers[k].directions:
                if progress is not None:
                    progress(done / parts)
                seq = x if name == "forward" else np.ascontiguousarray(x[::-1])
                zeros = np.zeros(cell.hidden_size, dtype)
                c0 = np.zeros(cell.cell_size, dtype) if kind_of(cell.kind).has_cell_state else None
                recs[name] = _forward_layer(cell, seq, zeros, c0, dtype, keep=influence or k == layer)
                done += 1
            records.append(recs)
            h_f, h_b = recs["forward"].h, recs["backward"].h[::-1]
            x = np.ascontiguousarray(_merge(model.layers[k].merge_mode, h_f, h_b).astype(dtype, copy=False))
        infl = {}
        if influence:
            for name, seed in (("forward", 0), ("backward", T - 1)):
                if progress is not None:
                    progress(done / parts)
                infl[name] = _stack_influence(model, records, seed, name, T)
                done += 1
    traces = {}
    top = model.layers[layer]
    for name, cell in top.directions:
        rec = records[layer][name]
        seq = inputs[layer] if name == "forward" else np.ascontiguousarray(inputs[layer][::-1])
        gates = {g: rec.gate(g) for g in cell.gates}
        own = None if name not in infl else (infl[name] if name == "forward" else infl[name][::-1].copy())
        traces[name] = Trace(as_stack(cell), 0, seq, rec.h, rec.c, gates, own, None, (rec,))
    if progress is not None:
        progress(1.0)
    trace = BidirectionalTrace(top, inputs[layer], traces["forward"], traces["backward"])
    return BidirectionalStackTrace(model, layer, trace, tuple(inputs))


def _stack_influence(model, records, seed: int, direction: str, T: int) -> np.ndarray:
    """‖∂h_{t}/∂x_seed‖ (input order) of the top record's ``direction``, through the layers below:
    forward-mode tangents of every layer's whole output sequence, each step with its own log
    scale (so an influence that fades by hundreds of decades neither underflows nor overflows)."""
    from .cells import kind_of

    D = records[0]["forward"].x.shape[1]
    dX = [None] * T
    dX[seed] = np.eye(D, dtype=np.float64)
    sX = [0.0] * T
    top = len(records) - 1
    for k, recs in enumerate(records):
        out = {}
        for name in ("forward", "backward") if k < top else (direction,):
            rec = recs[name]
            kind = kind_of(rec.cell.kind)
            out[name] = _tangent_sequence(kind.jvp, kind.tangent_coeffs(rec), dX, sX, T, name == "backward")
        if k == top:
            dh, s = out[direction]
            return np.array([0.0 if a is None else float(np.sqrt(np.sum(a * a))) * float(np.exp(v))
                             for a, v in zip(dh, s)], dtype=np.float64)
        mode = model.layers[k].merge_mode
        (df, sf), (db, sb) = out["forward"], out["backward"]
        hf = recs["forward"].h.astype(np.float64)
        hb = recs["backward"].h[::-1].astype(np.float64)
        dX, sX = [], []
        for t in range(T):
            if df[t] is None and db[t] is None:
                dX.append(None)
                sX.append(0.0)
                continue
            s = max(v for a, v in ((df[t], sf[t]), (db[t], sb[t])) if a is not None)
            K = (df[t] if df[t] is not None else db[t]).shape[1]

            def at(a, v, H):
                return np.zeros((H, K)) if a is None else a * np.exp(v - s)

            f = at(df[t], sf[t], hf.shape[1])
            b = at(db[t], sb[t], hb.shape[1])
            if mode == "concat":
                d = np.concatenate([f, b], axis=0)
            elif mode == "sum":
                d = f + b
            elif mode == "ave":
                d = (f + b) / 2
            else:  # mul: d(h→ ⊙ h←) = dh→ ⊙ h← + h→ ⊙ dh←
                d = f * hb[t][:, None] + hf[t][:, None] * b
            dX.append(d)
            sX.append(s)
    raise AssertionError("unreachable")


def _tangent_sequence(jvp, k, dX, sX, T: int, reverse: bool):
    """One direction's (∂h_t, log scale_t) for every input position t, from the input tangents
    ``dX`` (input order; None = zero) with their log scales ``sX``."""
    out_dh, out_s = [None] * T, [0.0] * T
    dh = dc = None
    S = 0.0
    for j, t in enumerate(range(T - 1, -1, -1) if reverse else range(T)):
        dx = dX[t]
        if dx is not None:
            if dh is None and dc is None:
                S = sX[t]
            else:
                S2 = max(S, sX[t])
                if S2 != S:
                    f = np.exp(S - S2)
                    dh = None if dh is None else dh * f
                    dc = None if dc is None else dc * f
                    S = S2
            dx = dx * np.exp(sX[t] - S)
        dh, dc = jvp(k, j, dx, dh, dc)
        m = max(0.0 if a is None else float(np.max(np.abs(a))) for a in (dh, dc))
        if np.isfinite(m) and m > 0 and not (LO < m < HI):
            dh = None if dh is None else dh / m
            dc = None if dc is None else dc / m
            S += float(np.log(m))
        out_dh[t] = None if dh is None else np.array(dh, dtype=np.float64)
        out_s[t] = S
    return out_dh, out_s


@dataclass(frozen=True, eq=False)
class _Layers(Layered):
    """A bidirectional stack's forward cells, for sizes only (they do not chain as a Stack:
    layer k+1 reads both directions of layer k)."""

    layers: tuple


def layers_of(model):
    """The layers that give a model's sizes and its ρ readout (``.layers``, ``len``): a
    :class:`Bidirectional`'s forward direction (its backward one for a reverse-only layer;
    both share D and H), a :class:`BidirectionalStack`'s forward cells, else the model as a
    stack."""
    if isinstance(model, BidirectionalStack):
        return _Layers(tuple(layer.forward for layer in model.layers))
    if isinstance(model, Bidirectional):
        model = model.forward if model.forward is not None else model.backward
    return as_stack(model)


def perturbation_stack(model: BidirectionalStack, xs, layer: int = -1, eps: float = 1e-3) -> dict:
    """Per direction of the traced layer, ‖h_t(x_s + ε u) − h_t(x_s)‖ (float64 runs, input
    order), u = (1, …, 1)/√D: x_s = x_1 for the forward direction, x_T for the backward one
    (the input each reads first), the check beside :func:`run_bidirectional_stack`'s influence."""
    xs = np.array(xs, dtype=np.float64)
    base = run_bidirectional_stack(model, xs, layer=layer, influence=False, dtype=np.float64).trace
    out = {}
    for name, row in (("forward", 0), ("backward", xs.shape[0] - 1)):
        moved_xs = xs.copy()
        moved_xs[row] += eps / np.sqrt(xs.shape[1])
        moved = run_bidirectional_stack(model, moved_xs, layer=layer, influence=False, dtype=np.float64).trace
        a, b = getattr(moved, name).h, getattr(base, name).h  # each in its processing order
        with np.errstate(all="ignore"):
            d = np.linalg.norm(a - b, axis=1)
        out[name] = d if name == "forward" else np.ascontiguousarray(d[::-1])
    return out


def is_bidirectional(model) -> bool:
    """Whether ``model`` has two directions per layer (a :class:`Bidirectional` layer, reverse
    only included, or a :class:`BidirectionalStack`)."""
    return isinstance(model, (Bidirectional, BidirectionalStack))
