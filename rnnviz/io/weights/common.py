"""What every weights format shares: file checks, PyTorch's names, and building the cells.

A reader turns a file into *layer specs*: dicts of ``W_ih``, ``W_hh``, ``b_ih``, ``b_hh`` in
PyTorch's layout (``b_*`` may be None), ``kind``, a ``label`` for messages and the flags the file
recorded (``nonlinearity``, ``recurrent_activation``, ``reset_after``, ``recurrent_bias``).
:func:`build` turns the specs into a Cell or a Stack; flags the file left open come from the
caller's arguments.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import numpy as np

from ...engine.activations import ACTIVATIONS
from ...engine.cells import CELL_KINDS, Cell, Stack, from_seed_names, kind_of
from ...engine.cells.registry import kind_names
from ...engine.errors import InputError
from ..limits import (
    MAX_HIDDEN, MAX_INPUT, MAX_LAYERS, Budget, check_array, check_regular, check_weight_shapes,
    one_line, open_regular, printable,
)

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
PICKLE = "is a Python pickle, not %s; rnnviz refuses to load pickles (they can run code)"

_TORCH_KEY = re.compile(
    r"^(?P<prefix>(?:.*\.)?)(?P<param>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
    r"(?:_l(?P<layer>\d+))?(?P<reverse>_reverse)?$"
)
# weight_hh first: its declared H is checked, and named in the message, before the others.
_TORCH_PARAMS = {"weight_hh": "W_hh", "weight_ih": "W_ih", "bias_ih": "b_ih", "bias_hh": "b_hh"}
_SEED_NAMES = ("weight_x", "weight_h", "bias")
# Where H, D and G·H sit in each parameter's shape: checked in the declared shape before reading.
_AXES = {
    "weight_ih": dict(gates_axis=0, input_axis=1), "weight_hh": dict(gates_axis=0, hidden_axis=1),
    "bias_ih": dict(gates_axis=0), "bias_hh": dict(gates_axis=0), "weight_hr": dict(hidden_axis=1),
    "weight_x": dict(hidden_axis=0, input_axis=1), "weight_h": dict(hidden_axis=0),
    "bias": dict(hidden_axis=0),
}


@dataclass(frozen=True)
class Format:
    """One file suffix a weights module handles, as the registry in ``__init__`` lists it.

    ``read(path) -> list of layer specs``; ``write(path, layers, tensors)`` gets the layers and
    their PyTorch-named float64 tensors and writes the file atomically. ``directory`` lets the
    path be a folder (an unzipped .keras). ``options``: the keyword arguments of
    :func:`~rnnviz.io.weights.load_weights` that ``read`` takes too (``layer``: a Keras layer by
    name; ``module``: which recurrent module of a file holding several).
    """

    suffix: str
    description: str  # "the .npz file": names the file in "cannot read …" messages
    read: Callable[..., list[dict]] | None = None
    write: Callable[[str, tuple, dict], None] | None = None
    directory: bool = False
    options: tuple = ()


def check_readable(path: str, allow_dir: bool = False) -> None:
    """A regular, non-empty file (or a folder, for formats that may be one); never opens a FIFO."""
    check_regular(path, "weights file", allow_dir=allow_dir)


def read_head(path: str, n: int = 8) -> bytes:
    with open_regular(path, "weights file") as fh:
        return fh.read(n)


class LazyArray:
    """An array not read yet: ``declared()`` gives its (shape, item size) from the file's
    headers, cheaply; ``read()`` reads it. :func:`torch_specs` checks the first before the second."""

    def __init__(self, declared: Callable[[], tuple[tuple, int]], read: Callable[[], Any]):
        self.declared = declared
        self.read = read


def numeric(value: Any, name: str, path: str) -> np.ndarray:
    """``value`` as a float64 array, or an InputError naming ``name``."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise InputError(f"{name} has dtype {arr.dtype}; expected numbers", path)
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or inf", path)
    return arr


def kind_from_shape(W_hh: np.ndarray, name: str, path: str) -> str:
    """rnn/gru/lstm from the recurrent matrix (G·H, H): G = 1, 3, 4."""
    if W_hh.ndim != 2 or W_hh.shape[1] < 1 or W_hh.shape[0] % W_hh.shape[1]:
        raise InputError(
            f"{name} has shape {W_hh.shape}; expected (H, H), (3H, H) or (4H, H)", path
        )
    G = W_hh.shape[0] // W_hh.shape[1]
    for kind in CELL_KINDS.values():
        if kind.blocks == G:
            return kind.name
    raise InputError(
        f"{name} has shape {W_hh.shape}: {G}·H rows is not an RNN (H), GRU (3H) or LSTM (4H)",
        path,
    )


@dataclass(frozen=True, eq=False, repr=False)
class FileCell(Cell):
    """A :class:`Cell` read from a file, with what the file (or the options) said beyond
    PyTorch's parameters.

    ``go_backwards``: the layer reads its input last step first (Keras); the engine's
    :func:`~rnnviz.engine.run.run` honours it. ``mask_value`` (the first layer only): Keras's
    ``Masking``, a step whose features all equal it is skipped. ``notes`` (the first layer
    only): one line per assumption the reader made, and per behaviour worth saying (see
    :func:`notes_of`).
    """

    go_backwards: bool = False
    mask_value: float | None = None
    notes: tuple = ()

    def __repr__(self) -> str:
        extra = (", go_backwards=True" if self.go_backwards else "") + (
            f", mask_value={self.mask_value!r}" if self.mask_value is not None else "")
        return super().__repr__()[:-1] + extra + ")"


@dataclass(frozen=True, eq=False, repr=False)
class FileStack(Stack):
    """A :class:`Stack` read from a file; ``notes`` are its first layer's."""

    @property
    def notes(self) -> tuple:
        return notes_of(self)


def notes_of(model) -> tuple:
    """What loading ``model`` assumed or should say, one line each (empty for most files)."""
    if hasattr(model, "layers") and hasattr(model.layers[0], "directions"):  # a BidirectionalStack
        model = model.layers[0]
    if hasattr(model, "directions"):  # a Bidirectional: its first direction carries them
        model = model.directions[0][1]
    layers = getattr(model, "layers", (model,))
    return tuple(getattr(layers[0], "notes", ())) if layers else ()


def as_file_cell(cell: Cell) -> FileCell:
    """``cell`` as a :class:`FileCell` (which can carry notes and a mask value)."""
    if isinstance(cell, FileCell):
        return cell
    return FileCell(cell.kind, cell.W_ih, cell.W_hh, cell.b_ih, cell.b_hh, nonlinearity=cell.nonlinearity,
                    recurrent_activation=cell.recurrent_activation, reset_after=cell.reset_after,
                    recurrent_bias=cell.recurrent_bias, W_hr=cell.W_hr)


def with_notes(model, notes) -> Any:
    """``model`` (a Cell, Stack or Bidirectional) with ``notes`` added to what :func:`notes_of`
    says (on its first layer, as :func:`build` puts them)."""
    from ...engine.bidirectional import Bidirectional

    notes = tuple(dict.fromkeys(tuple(notes_of(model)) + tuple(notes)))
    if hasattr(model, "layers") and isinstance(model.layers[0], Bidirectional):  # a BidirectionalStack
        return replace(model, layers=(with_notes(model.layers[0], notes),) + tuple(model.layers[1:]))
    if isinstance(model, Bidirectional):
        name, cell = model.directions[0]
        cell = replace(as_file_cell(cell), notes=notes)
        return replace(model, **{name: cell})
    layers = list(getattr(model, "layers", (model,)))
    layers[0] = replace(as_file_cell(layers[0]), notes=notes)
    return layers[0] if not isinstance(model, Stack) else FileStack(tuple(layers))


def _plain(cell: FileCell) -> Cell:
    return Cell(cell.kind, cell.W_ih, cell.W_hh, cell.b_ih, cell.b_hh, nonlinearity=cell.nonlinearity,
                recurrent_activation=cell.recurrent_activation, reset_after=cell.reset_after,
                recurrent_bias=cell.recurrent_bias, W_hr=cell.W_hr)


class LayerChoiceError(InputError):
    """The file holds recurrent layers that are not one stack: ``choices`` are their names,
    one of which ``load_weights(..., layer=NAME)`` (``--layer NAME``) picks."""

    def __init__(self, problem: str, path=None, choices: tuple = ()):
        super().__init__(problem, path)
        self.choices = tuple(choices)


#: The flags a file may leave open, how each is named for PyTorch's RNN (``nonlinearity``) and
#: the command line's options that set them.
_FLAG_OPTIONS = {
    "nonlinearity": "--nonlinearity", "activation": "--activation",
    "recurrent_activation": "--recurrent-activation", "reset_after": "--reset-after/--reset-before",
    "go_backwards": "--go-backwards",
}


def build(specs: list[dict], nonlinearity: str | None, reset_after: bool | None, path: str,
          activation: str | None = None, recurrent_activation: str | None = None,
          go_backwards: bool | None = None):
    """Cells from layer specs (dicts of W_ih, W_hh, b_ih, b_hh, kind and the flags the file
    recorded); flags the file left open come from the arguments, else from the defaults.

    A spec's ``assumed`` names the flags its file cannot record: when one of them comes from
    a default rather than an argument, the first layer's ``notes`` say so in one line. An
    argument that contradicts what the file recorded is an error. ``notes`` in a spec are
    passed on; ``go_backwards`` and ``mask_value`` (first spec) make :class:`FileCell` fields.
    """
    if len(specs) > MAX_LAYERS:
        raise InputError(f"has {len(specs)} layers; rnnviz reads at most {MAX_LAYERS}", path)
    cells = []
    assumed: dict[str, None] = {}  # "name=value", in order, once each
    notes: list[str] = []
    for k, spec in enumerate(specs):
        label = spec.get("label", f"layer {k}")
        kind = spec["kind"]
        info = CELL_KINDS.get(kind)  # an unknown kind fails in Cell(), with the label
        options = info.cell_options if info else ()
        guesses = spec.get("assumed", ())
        torch_act = bool(info and info.torch_nonlinearities)

        def recorded_or_given(key, flag, given, default, shown_flag=None):
            value = spec.get(key)
            if value is not None:
                if given is not None and given != value:
                    raise InputError(
                        f"{label} has {flag}={value!r} in the file, but {flag}={given!r} was asked for", path)
                return value
            if given is not None:
                return given
            if (shown_flag or flag) in guesses:
                assumed[f"{shown_flag or flag}={default!r}"] = None
            return default

        if spec.get("nonlinearity") is None and activation is None and torch_act and nonlinearity is not None:
            act = nonlinearity
        else:
            act = recorded_or_given("nonlinearity", "activation", activation, "tanh",
                                    "nonlinearity" if "nonlinearity" in guesses else None)
        rec = "sigmoid"
        if "recurrent_activation" in options or spec.get("recurrent_activation") is not None:
            rec = recorded_or_given("recurrent_activation", "recurrent_activation", recurrent_activation, "sigmoid")
        ra = spec.get("reset_after")
        if "reset_after" in options and reset_after is not None and ra is not None and ra != bool(reset_after):
            raise InputError(
                f"{label} is a GRU with reset_after={ra}, but reset_after={bool(reset_after)} "
                "was asked for",
                path,
            )
        if ra is None:
            ra = True if reset_after is None else bool(reset_after)
            if reset_after is None and "reset_after" in options and "reset_after" in guesses:
                assumed["reset_after=True"] = None
        back = bool(recorded_or_given("go_backwards", "go_backwards", go_backwards, False))
        for name in ("nonlinearity", "recurrent_activation"):
            value = act if name == "nonlinearity" else rec
            if value not in ACTIVATIONS:
                raise InputError(
                    f"{label}: unsupported {name} {value!r}; expected one of "
                    f"{', '.join(ACTIVATIONS)}",
                    path,
                )
        H, D = spec["W_hh"].shape[-1], spec["W_ih"].shape[-1]
        if H > MAX_HIDDEN or D > MAX_INPUT:
            raise InputError(
                f"{label} has H = {H}, D = {D}; rnnviz reads at most H = {MAX_HIDDEN}, D = {MAX_INPUT}",
                path,
            )
        notes.extend(spec.get("notes", ()))
        if back:
            who = label if label.startswith("layer") else f"layer {label!r}"
            notes.append(f"{who} reads its input backwards (go_backwards): its steps are in processing "
                         "order, step 1 reads the last input row")
        try:
            cell = FileCell(
                kind, spec["W_ih"], spec["W_hh"], spec["b_ih"], spec["b_hh"],
                nonlinearity=act, recurrent_activation=rec, reset_after=ra,
                recurrent_bias=spec.get("recurrent_bias", True), W_hr=spec.get("W_hr"), go_backwards=back,
                mask_value=spec.get("mask_value") if k == 0 else None,
            )
        except ValueError as exc:
            raise InputError(f"{label}: {one_line(exc)}", path) from None
        cells.append(cell)
    if not cells:
        raise InputError("holds no recurrent layers", path)
    if assumed:
        flags = [a.split("=", 1)[0] for a in assumed]
        hint = ", ".join(dict.fromkeys(_FLAG_OPTIONS[f] for f in flags))
        them = "it" if len(assumed) == 1 else "them"
        notes.insert(0, f"assumed {', '.join(assumed)}: the file does not record {them} (set with {hint})")
    if notes:
        cells[0] = replace(cells[0], notes=tuple(dict.fromkeys(notes)))
    # A file that said everything gives plain Cells, as before.
    cells = [c if c.go_backwards or c.mask_value is not None or c.notes else _plain(c) for c in cells]
    directions = [spec.get("direction") for spec in specs]
    if any(directions):
        merge = [spec.get("merge_mode") for spec in specs if spec.get("direction") == "forward"]
        return _directions(cells, directions, path, merge or "concat")
    if len(cells) == 1:
        return cells[0]
    try:
        return (FileStack if notes else Stack)(tuple(cells))
    except ValueError as exc:
        raise InputError(f"the layers do not stack: {one_line(exc)}", path) from None


def _directions(cells: list, directions: list, path: str, merge_mode: str = "concat"):
    """A :class:`Bidirectional` from cells marked "forward"/"backward" (a reverse-only layer has
    only "backward"), merged as ``merge_mode`` says (Keras's; the others concatenate)."""
    from ...engine.bidirectional import Bidirectional, BidirectionalStack

    modes = merge_mode if isinstance(merge_mode, list) else [merge_mode] * max(1, len(cells) // 2)
    if directions == ["backward"]:
        pairs = [(None, cells[0])]
    elif len(directions) % 2 == 0 and directions == ["forward", "backward"] * (len(directions) // 2):
        pairs = [(cells[k], cells[k + 1]) for k in range(0, len(cells), 2)]
    else:
        raise InputError(f"cannot pair the directions {directions}: a bidirectional stack is forward, backward "
                         "for every layer", path)
    try:
        layers = [Bidirectional(f, b, m or "concat") for (f, b), m in zip(pairs, modes)]
        return layers[0] if len(layers) == 1 else BidirectionalStack(tuple(layers))
    except ValueError as exc:
        raise InputError(one_line(exc), path) from None


def torch_specs(arrays: Mapping[str, Any], path: str, metadata: Mapping[str, str] | None = None,
                budget: Budget | None = None, module: str | None = None, whole: bool = False):
    """Layer specs from a flat ``name -> array`` mapping in PyTorch's naming.

    A mapping with several recurrent modules (keys under different prefixes: an encoder and a
    decoder) needs ``module``, the prefix without its dot; the message lists them otherwise.

    ``arrays`` values may be lazy: a :class:`LazyArray` (its declared shape is checked against
    the limits before it is read), anything with ``__array__`` or a zero-argument callable.
    ``whole``: also the embedding and the head beside the recurrent module
    (:func:`~.parts.torch_parts`), returned as :class:`~.parts.Specs`.
    """
    budget = budget or Budget(path)
    groups: dict[str, dict[tuple[str, int | None], str]] = {}
    for key in arrays:
        m = _TORCH_KEY.match(key)
        if not m:
            continue
        prefix = m["prefix"]
        layer = None if m["layer"] is None else int(m["layer"])
        # bidirectional=True: the backward direction's keys end in _reverse (weight_ih_l0_reverse)
        groups.setdefault(prefix, {})[(m["param"] + (m["reverse"] or ""), layer)] = key
    groups = {p: g for p, g in groups.items() if any(param == "weight_hh" for param, _ in g)}

    if not groups:
        if all(name in arrays for name in _SEED_NAMES[:2]):
            return _seed_specs(arrays, path)
        shown = ", ".join(sorted(map(str, arrays))[:8]) or "nothing"
        raise InputError(
            "no recurrent weights found (expected weight_ih_l0/weight_hh_l0 as PyTorch names "
            f"them, or weight_x/weight_h/bias); it holds {shown}",
            path,
        )
    names = {p[:-1] if p.endswith(".") else p: p for p in groups}
    if module is not None:
        if module not in names:
            listed = ", ".join(repr(n) for n in sorted(names))
            raise InputError(f"has no recurrent module {module!r}; it has {listed}", path)
        groups = {names[module]: groups[names[module]]}
    if len(groups) > 1:
        listed = ", ".join(repr(n) for n in sorted(names))
        raise InputError(
            f"holds several recurrent modules ({listed}); pick one with module=NAME (--module NAME)", path
        )
    (prefix, group), = groups.items()
    layer_ids = {layer for _, layer in group}
    if None in layer_ids and len(layer_ids) > 1:
        raise InputError(
            f"mixes cell names (weight_ih) with layer names (weight_ih_l0) under {prefix!r}", path
        )
    if len(layer_ids) > MAX_LAYERS:
        raise InputError(f"has {len(layer_ids)} layers; rnnviz reads at most {MAX_LAYERS}", path)
    order = [None] if None in layer_ids else sorted(layer_ids)
    if order != [None] and order != list(range(len(order))):
        raise InputError(
            f"layer numbers {order} are not 0..{len(order) - 1}; a layer is missing", path
        )

    bidirectional = any(param.endswith("_reverse") for param, _ in group)
    layer_meta = _parse_metadata(metadata, len(order), path) if metadata else [{}] * len(order)
    specs = []
    steps = [(k, layer, rev) for k, layer in enumerate(order) for rev in (("", "_reverse") if bidirectional else ("",))]
    for k, layer, rev in steps:
        suffix = ("" if layer is None else f"_l{layer}") + rev
        spec: dict[str, Any] = {"label": f"layer {k}"}
        if bidirectional:
            spec["direction"] = "backward" if rev else "forward"
        for param, field in _TORCH_PARAMS.items():
            key = group.get((param + rev, layer))
            if key is None:
                if param.startswith("weight"):
                    why = " (a bidirectional RNN's backward direction needs it)" if rev else ""
                    raise InputError(f"{prefix}{param}{suffix} is missing{why}", path)
                spec[field] = None
                continue
            spec[field] = load_array(arrays[key], key, path, budget, _AXES[param])
        hr = group.get(("weight_hr" + rev, layer))
        if hr is not None:  # an LSTM with proj_size: W_hh is (4H, P), W_hr (P, H)
            spec["W_hr"] = load_array(arrays[hr], hr, path, budget, _AXES["weight_hr"])
        if (spec["b_ih"] is None) != (spec["b_hh"] is None):
            have = "bias_ih" if spec["b_ih"] is not None else "bias_hh"
            lack = "bias_hh" if have == "bias_ih" else "bias_ih"
            raise InputError(f"{prefix}{have}{suffix} is there but {lack}{suffix} is missing", path)
        W_hh_name = f"{prefix}weight_hh{suffix}"
        if "W_hr" in spec:
            spec["kind"] = _projected_kind(spec, prefix, suffix, path)
        else:
            spec["kind"] = kind_from_shape(spec["W_hh"], W_hh_name, path)
        _check_torch_shapes(spec, prefix, suffix, path)
        spec["label"] = f"layer {k} ({prefix}weight_*{suffix})" if len(order) > 1 else W_hh_name
        if bidirectional:
            spec["label"] = f"the {spec['direction']} direction ({prefix}weight_*{suffix})"
        meta = layer_meta[k]
        if "kind" in meta and meta["kind"] != spec["kind"]:
            raise InputError(
                f"metadata says layer {k} is a {meta['kind']} but its shapes are a {spec['kind']}",
                path,
            )
        for name in ("nonlinearity", "recurrent_activation", "reset_after"):
            if name in meta:
                spec[name] = meta[name]
        if "reset_after" not in kind_of(spec["kind"]).cell_options:
            spec.pop("reset_after", None)
        if kind_of(spec["kind"]).torch_nonlinearities and "nonlinearity" not in meta:
            spec["assumed"] = ("nonlinearity",)  # a state_dict never records it
        specs.append(spec)
    if whole:
        from .parts import Specs, torch_parts

        return Specs(specs, torch_parts(arrays, prefix, specs, path, budget))
    return specs


def _projected_kind(spec: dict, prefix: str, suffix: str, path: str) -> str:
    """The kind with a projection weight_hr (P, H): PyTorch's LSTM with proj_size, W_hh (4H, P)."""
    W_hr, W_hh = spec["W_hr"], spec["W_hh"]
    names = [k for k in CELL_KINDS.values() if k.projection]
    if not names:  # pragma: no cover - the LSTM takes one
        raise InputError(f"{prefix}weight_hr{suffix}: no cell kind takes a projection", path)
    kind = names[0]
    if W_hr.ndim != 2 or min(W_hr.shape) < 1:
        raise InputError(f"{prefix}weight_hr{suffix} has shape {W_hr.shape}; expected (P, H)", path)
    P, H = W_hr.shape
    if W_hh.shape != (kind.blocks * H, P):
        raise InputError(
            f"{prefix}weight_hh{suffix} has shape {W_hh.shape}; with {prefix}weight_hr{suffix} {W_hr.shape} "
            f"an LSTM with proj_size={P} needs ({kind.blocks * H}, {P})",
            path,
        )
    return kind.name


def _check_torch_shapes(spec: dict, prefix: str, suffix: str, path: str) -> None:
    W_hh = spec["W_hh"]
    GH = W_hh.shape[0]
    W_ih = spec["W_ih"]
    if W_ih.ndim != 2 or W_ih.shape[0] != GH or W_ih.shape[1] < 1:
        raise InputError(
            f"{prefix}weight_ih{suffix} has shape {W_ih.shape}; expected ({GH}, D) to match "
            f"{prefix}weight_hh{suffix} {W_hh.shape}",
            path,
        )
    for param, field in (("bias_ih", "b_ih"), ("bias_hh", "b_hh")):
        b = spec[field]
        if b is not None and b.shape != (GH,):
            raise InputError(
                f"{prefix}{param}{suffix} has shape {b.shape}; expected ({GH},)", path
            )


def _seed_specs(arrays: Mapping[str, Any], path: str) -> list[dict]:
    """The seed document's vanilla RNN: h' = act(weight_x x + weight_h h + bias)."""
    budget = Budget(path)
    weight_x, weight_h = (load_array(arrays[n], n, path, budget, _AXES[n]) for n in ("weight_x", "weight_h"))
    bias = load_array(arrays["bias"], "bias", path, budget, _AXES["bias"]) if "bias" in arrays else None
    if weight_h.ndim != 2 or weight_h.shape[0] != weight_h.shape[1] or weight_h.shape[0] < 1:
        raise InputError(f"weight_h has shape {weight_h.shape}; expected (H, H)", path)
    H = weight_h.shape[0]
    if weight_x.ndim != 2 or weight_x.shape[0] != H or weight_x.shape[1] < 1:
        raise InputError(f"weight_x has shape {weight_x.shape}; expected ({H}, D)", path)
    if bias is not None and bias.size != H:
        raise InputError(f"bias has shape {bias.shape}; expected ({H}, 1)", path)
    cell = from_seed_names(weight_x, weight_h, bias)
    return [{
        "label": "weight_x/weight_h/bias", "kind": cell.kind,
        "W_ih": cell.W_ih, "W_hh": cell.W_hh, "b_ih": cell.b_ih, "b_hh": cell.b_hh,
    }]


def materialise(value: Any) -> np.ndarray:
    if isinstance(value, LazyArray):
        value = value.read
    return np.asarray(value() if callable(value) else value)


def load_array(value: Any, name: str, path: str, budget: Budget, axes: Mapping[str, int] | None = None) -> np.ndarray:
    """``value`` as float64, after its declared shape (when it is a :class:`LazyArray`) passed the
    limits: size, H, D and G·H (``axes`` says where they sit), and the file's budget."""
    if isinstance(value, LazyArray):
        shape, itemsize = value.declared()
        check_weight_shapes(name, shape, path, **(axes or {}))
        nbytes = check_array(name, shape, itemsize, path)
        budget.take(nbytes, name)
    arr = numeric(materialise(value), name, path)
    check_array(name, arr.shape, 8, path)  # whatever a reader forgot to declare
    return arr



def _parse_metadata(metadata: Mapping[str, str], n_layers: int, path: str) -> list[dict]:
    """Per-layer flags from rnnviz's safetensors metadata; other metadata is ignored."""
    out: list[dict] = [{} for _ in range(n_layers)]
    for name in ("kind", "nonlinearity", "recurrent_activation", "reset_after"):
        if name not in metadata:
            continue
        values = [v.strip() for v in str(metadata[name]).split(",")]
        if len(values) == 1:
            values = values * n_layers
        if len(values) != n_layers:
            raise InputError(
                f"metadata {name}={metadata[name]!r} does not have one value per layer "
                f"({n_layers})",
                path,
            )
        for k, v in enumerate(values):
            if name == "kind" and v not in CELL_KINDS:
                raise InputError(f"metadata kind {v!r} is not {kind_names()}", path)
            if name == "reset_after":
                if v.lower() not in ("true", "false"):
                    raise InputError(f"metadata reset_after={v!r} is not true or false", path)
                v = v.lower() == "true"
            out[k][name] = v
    return out



def torch_mismatches(layers: tuple[Cell, ...]) -> tuple[list[str], list[str]]:
    """What stops nn.RNN/GRU/LSTM from loading the layers, and what makes it compute otherwise."""
    unloadable, different = [], []
    if len({c.kind for c in layers}) > 1:
        unloadable.append("the layers mix kinds (" + ", ".join(c.kind for c in layers) + ")")
    if len({c.hidden_size for c in layers}) > 1:
        unloadable.append("the layers have different hidden sizes")
    for k, c in enumerate(layers):
        where = f"layer {k}" if len(layers) > 1 else "the cell"
        kind = kind_of(c)
        if kind.torch_nonlinearities and c.nonlinearity not in kind.torch_nonlinearities:
            different.append(f"{where} uses nonlinearity {c.nonlinearity!r}")
        if not kind.torch_nonlinearities and c.nonlinearity != "tanh":
            different.append(f"{where} uses activation {c.nonlinearity!r} instead of tanh")
        if "recurrent_activation" in kind.cell_options and c.recurrent_activation != "sigmoid":
            different.append(
                f"{where} uses recurrent_activation {c.recurrent_activation!r} instead of sigmoid"
            )
        if "reset_after" in kind.cell_options and not c.reset_after:
            different.append(f"{where} is a GRU with reset_after=False (Keras's variant)")
    return unloadable, different


