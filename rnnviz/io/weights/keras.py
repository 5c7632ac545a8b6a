"""Keras 3 ``.keras`` archives (or their unzipped folders) and ``.weights.h5`` files.

Read with zipfile and h5py; Keras is never imported. Keras keeps ``kernel`` (D, G·H) and
``recurrent_kernel`` (H, G·H) under ``layers/<name>/cell/vars/0`` and ``/1`` and the bias under
``/2``; its GRU gate order is z, r, h and its GRU ``reset_after=True`` bias is (2, 3H) =
[input bias, recurrent bias].
"""

from __future__ import annotations

import io
import json
import os
import re
from typing import Any, Mapping

import numpy as np

from ...engine.activations import ACTIVATIONS
from ...engine.cells import CELL_KINDS
from ...engine.errors import InputError
from ..limits import (
    MAX_ARRAY_BYTES, MAX_LAYERS, MAX_METADATA_BYTES, Budget, check_json, check_member,
    check_weight_shapes, open_regular, open_zip, read_at_most, read_member,
)
from .common import PICKLE, ZIP_MAGIC, Format, kind_from_shape, numeric, one_line
from .hdf5 import child, names as h5_names, open_h5, read_dataset

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_KERAS_WEIGHTS = "model.weights.h5"

# Keras layer classes → our kind; RNN(cell=…) maps through the cell's class.
_KERAS_LAYERS = {k.keras_layer: k.name for k in CELL_KINDS.values() if k.keras_layer}
_KERAS_CELLS = {f"{cls}Cell": kind for cls, kind in _KERAS_LAYERS.items()}
# Layers that leave a sequence unchanged at inference, so they may sit between stacked layers.
_KERAS_PASSTHROUGH = {
    "InputLayer", "Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise",
    "AlphaDropout", "ActivityRegularization",
}
_RECURRENT_HINT = re.compile(r"RNN|GRU|LSTM|Recurrent|Bidirectional", re.IGNORECASE)


def _read_keras(path: str) -> list[dict]:
    budget = Budget(path)
    if os.path.isdir(path):  # saved with zipped=False
        config_path = os.path.join(path, "config.json")
        weights_path = os.path.join(path, _KERAS_WEIGHTS)
        if not os.path.exists(config_path) or not os.path.exists(weights_path):
            raise InputError(f"folder lacks config.json or {_KERAS_WEIGHTS}", path)
        with open_regular(config_path, "config.json") as fh:
            config_bytes = read_at_most(fh, MAX_METADATA_BYTES, "config.json", path)
        config = _config(config_bytes, path)
        # h5py reads the weights file in place: only the datasets it needs, each checked.
        with open_regular(weights_path, _KERAS_WEIGHTS) as fh:
            with open_h5(fh, path, f"HDF5 file ({_KERAS_WEIGHTS} in the folder)") as f:
                return _keras_specs(f, config, path, budget)
    with open_regular(path, ".keras archive") as fh:
        head = fh.read(8)
        if head[:1] == b"\x80":
            raise InputError(PICKLE % "a .keras archive", path)
        if not head.startswith(ZIP_MAGIC):
            raise InputError("not a .keras archive (it is not a zip file)", path)
        with open_zip(fh, path) as z:
            names = set(z.namelist())
            if "config.json" not in names:
                raise InputError("not a Keras 3 .keras archive: config.json is missing", path)
            if _KERAS_WEIGHTS not in names:
                if "model.weights.json" in names:
                    raise InputError("sharded Keras weights are not supported", path)
                raise InputError(f"the archive has no {_KERAS_WEIGHTS}", path)
            # Both sizes are checked in the directory before either is inflated, and the bytes
            # actually inflated are bounded by them (a member can lie).
            check_member(z.getinfo("config.json"), path, MAX_METADATA_BYTES)
            check_member(z.getinfo(_KERAS_WEIGHTS), path, MAX_ARRAY_BYTES)
            config_bytes = read_member(z, "config.json", path, MAX_METADATA_BYTES, budget)
            config = _config(config_bytes, path)
            weights_bytes = read_member(z, _KERAS_WEIGHTS, path, MAX_ARRAY_BYTES, budget)
    with open_h5(io.BytesIO(weights_bytes), path, f"HDF5 file ({_KERAS_WEIGHTS} in the archive)") as f:
        return _keras_specs(f, config, path, budget)


def _config(blob: bytes, path: str) -> Any:
    check_json(blob, "config.json", path)
    try:
        return json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"config.json is not valid JSON: {one_line(exc)}", path) from None


def _read_weights_h5(path: str) -> list[dict]:
    with open_regular(path, "weights file") as fh:
        head = fh.read(8)
        if not head.startswith(_HDF5_MAGIC):
            if head[:1] == b"\x80":
                raise InputError(PICKLE % "an HDF5 file", path)
            raise InputError("not an HDF5 file", path)
        with open_h5(fh, path) as f:
            return _keras_specs(f, None, path, Budget(path))


def _keras_specs(f, config: Any, path: str, budget: Budget) -> list[dict]:
    """Layer specs from a Keras 3 weights file, guided by the model's config when there is one."""
    import h5py

    if child(f, "model_weights", "model_weights", path) is not None or "layer_names" in f.attrs \
            or "keras_version" in f.attrs:
        raise InputError(
            "a Keras 2 (legacy) HDF5 file; re-save the model with Keras 3 as .keras", path
        )
    layers_group = child(f, "layers", "layers", path)
    if not isinstance(layers_group, h5py.Group):
        raise InputError("not a Keras 3 weights file (no 'layers' group)", path)
    if config is None:
        plan = _plan_from_h5(layers_group, path)
    else:
        plan = _plan_from_config(config, path)
    if len(plan) > MAX_LAYERS:
        raise InputError(f"has {len(plan)} recurrent layers; rnnviz reads at most {MAX_LAYERS}", path)
    specs = []
    for entry in plan:
        specs.append(_keras_layer(layers_group, entry, path, budget))
    if config is None:
        specs = _order_bare(specs, path)
    return specs


def _snake_case(name: str) -> str:
    # Keras's naming.to_snake_case: the weights file keys layers by class name, not layer name.
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _activation(value: Any, what: str, label: str, path: str) -> str:
    if value is None:
        return "linear"
    if isinstance(value, Mapping):  # {"module": "keras.activations", "config": "tanh", ...}
        inner = value.get("config")
        if isinstance(inner, str) and str(value.get("module", "")).startswith("keras"):
            value = inner
    if not isinstance(value, str) or value not in ACTIVATIONS:
        raise InputError(
            f"layer {label!r}: {what} {value!r} is not supported (expected one of "
            f"{', '.join(ACTIVATIONS)})",
            path,
        )
    return value


def _plan_from_config(config: Any, path: str) -> list[dict]:
    """Which h5 groups hold the recurrent layers, in model order, with their settings."""
    if not isinstance(config, Mapping):
        raise InputError("config.json does not describe a model", path)
    model_class = config.get("class_name")
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, Mapping) else None
    if model_class not in ("Sequential", "Functional", "Model") or not isinstance(layers, list):
        raise InputError(
            f"only Sequential and Functional Keras models can be read (this is {model_class!r})",
            path,
        )
    used: dict[str, int] = {}
    plan: list[dict] = []
    between: list[str] = []  # non-passthrough layers seen since the last recurrent layer
    for layer in layers:
        if not isinstance(layer, Mapping) or not isinstance(layer.get("config", {}), Mapping):
            raise InputError("config.json has a malformed layer entry", path)
        cls = str(layer.get("class_name"))
        cfg = layer.get("config") or {}
        label = str(cfg.get("name", cls))
        if cls == "InputLayer" and model_class == "Sequential":
            continue  # Sequential.layers, which the weights file follows, omits it
        key = _snake_case(cls)
        n = used.get(key, -1) + 1
        used[key] = n
        h5_name = key if n == 0 else f"{key}_{n}"

        kind, cell_cfg = None, cfg
        if cls in _KERAS_LAYERS:
            kind = _KERAS_LAYERS[cls]
        elif cls == "RNN":
            cell = cfg.get("cell")
            cell_cls = cell.get("class_name") if isinstance(cell, Mapping) else None
            if cell_cls not in _KERAS_CELLS:
                raise InputError(
                    f"layer {label!r}: an RNN wrapping {cell_cls!r} is not supported", path
                )
            kind, cell_cfg = _KERAS_CELLS[cell_cls], cell.get("config") or {}
        elif cls == "Bidirectional":
            raise InputError(f"layer {label!r}: bidirectional layers are not supported", path)
        elif cls in ("Sequential", "Functional", "Model"):
            raise InputError(f"layer {label!r}: nested models are not supported", path)
        else:
            wrapped = cfg.get("layer")
            wrapped_cls = wrapped.get("class_name") if isinstance(wrapped, Mapping) else None
            if _RECURRENT_HINT.search(cls) or (wrapped_cls and _RECURRENT_HINT.search(wrapped_cls)):
                raise InputError(
                    f"layer {label!r}: {cls} is not a supported recurrent layer "
                    "(SimpleRNN, GRU and LSTM are)",
                    path,
                )
            if cls not in _KERAS_PASSTHROUGH and plan:
                between.append(f"{label!r} ({cls})")
            continue

        if between:
            raise InputError(
                f"layer {between[0]} sits between recurrent layers {plan[-1]['label']!r} and "
                f"{label!r}; only directly stacked recurrent layers can be shown",
                path,
            )
        if cfg.get("go_backwards"):
            raise InputError(f"layer {label!r}: go_backwards=True is not supported", path)
        entry = {
            "h5": h5_name,
            "label": label,
            "kind": kind,
            "units": cell_cfg.get("units"),
            "use_bias": bool(cell_cfg.get("use_bias", True)),
            "nonlinearity": _activation(
                cell_cfg.get("activation", "tanh"), "activation", label, path
            ),
        }
        options = CELL_KINDS[kind].cell_options
        if "recurrent_activation" in options:
            entry["recurrent_activation"] = _activation(
                cell_cfg.get("recurrent_activation", "sigmoid"), "recurrent_activation", label, path
            )
        if "reset_after" in options:
            entry["reset_after"] = bool(cell_cfg.get("reset_after", True))
        plan.append(entry)
    if not plan:
        raise InputError("the model has no SimpleRNN, GRU or LSTM layer", path)
    return plan


def _plan_from_h5(layers_group, path: str) -> list[dict]:
    """Without a config: every group under layers/ that holds a cell, settings left open."""
    import h5py

    plan = []
    for name in h5_names(layers_group, "layers", path):
        where = f"layers/{name}"
        group = child(layers_group, name, where, path)
        if not isinstance(group, h5py.Group):
            continue
        has = {n: child(group, n, f"{where}/{n}", path) is not None
               for n in ("forward_layer", "backward_layer", "cell", "layer")}
        if has["forward_layer"] or has["backward_layer"]:
            raise InputError(f"layer {name!r}: bidirectional layers are not supported", path)
        if not has["cell"]:
            if _RECURRENT_HINT.search(name) and has["layer"]:
                raise InputError(
                    f"layer {name!r}: wrapped recurrent layers are not supported", path
                )
            continue
        plan.append({"h5": name, "label": name, "kind": None})
    if not plan:
        raise InputError("holds no recurrent layers (no layers/<name>/cell/vars groups)", path)
    return plan


# Where D, H and G·H sit in the declared shapes of kernel (D, G·H), recurrent kernel (H, G·H)
# and bias (G·H,) or (2, G·H): checked before anything is read.
_VAR_AXES = (dict(input_axis=0, gates_axis=1), dict(hidden_axis=0, gates_axis=1), dict(gates_axis=-1))


def _keras_layer(layers_group, entry: dict, path: str, budget: Budget) -> dict:
    """One Keras layer's weights in our layout (gates reordered, kernels transposed)."""
    import h5py

    name, label = entry["h5"], entry["label"]
    where_vars = f"layers/{name}/cell/vars"
    vars_group = child(layers_group, f"{name}/cell/vars", where_vars, path)
    if not isinstance(vars_group, h5py.Group):
        raise InputError(
            f"layer {label!r}: the weights have no layers/{name}/cell/vars group", path
        )
    n_vars = len(vars_group)
    if n_vars not in (2, 3):
        raise InputError(
            f"layer {label!r}: expected kernel, recurrent kernel and bias, "
            f"found {n_vars} arrays",
            path,
        )
    datasets = []
    for i in range(n_vars):
        where = f"{where_vars}/{i}"
        ds = child(vars_group, str(i), where, path)
        if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "fiu":
            raise InputError(f"layer {label!r}: {where} is not a weight array", path)
        datasets.append((where, ds))
    for i in (1, 0, 2)[:n_vars]:  # the recurrent kernel first: the message names its H
        where, ds = datasets[i]
        shape = ds.shape if ds.shape is not None else ()
        axes = _VAR_AXES[i] if len(shape) else {}
        if axes.get("gates_axis") == -1:
            axes = dict(gates_axis=len(shape) - 1)
        check_weight_shapes(where, shape, path, **axes)
    try:  # where the kernel's bytes sit: Keras writes layers in model order
        offset = datasets[0][1].id.get_offset()
    except Exception:  # noqa: BLE001 — chunked, compact or missing: no evidence
        offset = None
    values = [numeric(read_dataset(ds, where, path, budget), where, path) for where, ds in datasets]
    kernel, recurrent = values[0], values[1]
    bias = values[2] if len(values) == 3 else None
    where = f"layer {label!r}"
    if recurrent.ndim != 2 or kernel.ndim != 2:
        raise InputError(
            f"{where}: kernels must be 2-D, found {kernel.shape} and {recurrent.shape}", path
        )
    kind = kind_from_shape(recurrent.T, f"{where} recurrent kernel", path)
    H = recurrent.shape[0]
    info = CELL_KINDS[kind]
    G = info.blocks
    # Only the GRU has reset_after; Keras's reset-after GRU keeps a (2, 3H) bias.
    two_biases = "reset_after" in info.cell_options
    if entry.get("kind") and entry["kind"] != kind:
        raise InputError(
            f"{where} is a {entry['kind']} in config.json but its recurrent kernel "
            f"{recurrent.shape} fits a {kind}",
            path,
        )
    if entry.get("units") not in (None, H):
        raise InputError(f"{where}: config says units={entry['units']}, weights have {H}", path)
    if kernel.shape[1] != G * H or kernel.shape[0] < 1:
        raise InputError(f"{where}: kernel has shape {kernel.shape}; expected (D, {G * H})", path)
    if entry.get("use_bias") is False and bias is not None:
        raise InputError(f"{where}: config says use_bias=False but a bias is stored", path)
    if entry.get("use_bias") and bias is None:
        raise InputError(f"{where}: config says use_bias=True but no bias is stored", path)

    reset_after = entry.get("reset_after")
    b_ih = np.zeros(G * H)
    b_hh = np.zeros(G * H)
    if bias is not None:
        if two_biases and bias.shape == (2, G * H):
            if reset_after is False:
                raise InputError(
                    f"{where}: config says reset_after=False but the bias is (2, 3H)", path
                )
            reset_after = True
            b_ih, b_hh = bias[0], bias[1]
        elif bias.shape == (G * H,):
            if two_biases:
                if reset_after is True:
                    raise InputError(
                        f"{where}: config says reset_after=True but the bias is (3H,)", path
                    )
                reset_after = False
            b_ih = bias
        else:
            raise InputError(f"{where}: bias has shape {bias.shape}; expected ({G * H},)", path)
    # Keras keeps one bias vector except in the reset-after GRU: the UI then shows b, not b_ih + b_hh.
    single_bias = not (two_biases and reset_after is not False)

    W_ih, W_hh = kernel.T, recurrent.T
    if info.keras_gate_order != info.gate_names:  # the GRU: Keras stacks z, r, h; we r, z, n
        perm = np.concatenate([np.arange(H) + info.keras_gate_order.index(g) * H for g in info.gate_names])
        W_ih, W_hh, b_ih, b_hh = W_ih[perm], W_hh[perm], b_ih[perm], b_hh[perm]
    spec = {
        "label": label, "kind": kind,
        "W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh,
        "offset": offset,
        "nonlinearity": entry.get("nonlinearity"),
        "recurrent_activation": entry.get("recurrent_activation"),
        "recurrent_bias": not single_bias,
    }
    if "reset_after" in info.cell_options:
        spec["reset_after"] = reset_after
    return spec


def _natural_key(name: str) -> tuple[str, int]:
    m = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
    return (m[1], int(m[2] or 0))


#: Steps the layer-order search may take before it gives up (each step tries one layer).
_ORDER_STEPS = 20_000


def _order_bare(specs: list[dict], path: str) -> list[dict]:
    """Model order for a weights file without config.

    Keras names groups by class (gru, gru_1, …, gru_10) in model order, so within one class
    the numeric suffix is the order. Across classes the evidence is that each layer's input
    width is the previous layer's hidden width; when several orders fit, the order in which
    Keras wrote the kernels into the file (their data offsets) decides.

    The search stays small: the written order is tried first; a stacking order is an Eulerian
    trail through the widths (each layer an edge D → H), so widths that admit none are refused
    at once; the rest is a depth-first search that prunes at the first misfit, stops at the
    second solution and gives up after ``_ORDER_STEPS`` steps.
    """
    by_class: dict[str, list[dict]] = {}
    for spec in sorted(specs, key=lambda s: _natural_key(s["label"])):
        by_class.setdefault(_natural_key(spec["label"])[0], []).append(spec)
    chains = list(by_class.values())
    if len(chains) == 1:
        return chains[0]

    def fits(lower, upper):
        return upper["W_ih"].shape[1] == lower["W_hh"].shape[1]

    names = ", ".join(s["label"] for s in specs)
    offsets = [s.get("offset") for s in specs]
    if None not in offsets and len(set(offsets)) == len(offsets):
        written = sorted(specs, key=lambda s: s["offset"])
        rank = {id(s): k for k, s in enumerate(written)}
        in_chain_order = all(rank[id(a)] < rank[id(b)] for c in chains for a, b in zip(c, c[1:]))
        if in_chain_order and all(fits(a, b) for a, b in zip(written, written[1:])):
            return written  # the order Keras wrote; if only one order fits, it is this one
    if not _has_trail(specs):
        found: list = []
    else:
        found = _stacking_orders(chains, fits)
        if found is None:
            raise InputError(
                f"layers {names} could stack in too many orders to check; load the .keras file, "
                "whose config gives the order",
                path,
            )
    if len(found) == 1:
        return found[0]
    problem = "do not stack in any order" if not found else "could stack in several orders"
    raise InputError(
        f"layers {names} {problem}; load the .keras file, whose config gives the order", path
    )


def _has_trail(specs: list[dict]) -> bool:
    """Whether the layers, as edges D → H between widths, admit an Eulerian trail (a necessary
    condition for a stacking order; linear in the number of layers)."""
    out_deg: dict[int, int] = {}
    in_deg: dict[int, int] = {}
    parent: dict[int, int] = {}

    def root(v):
        while parent.setdefault(v, v) != v:
            v = parent[v]
        return v

    for s in specs:
        d, h = s["W_ih"].shape[1], s["W_hh"].shape[1]
        out_deg[d] = out_deg.get(d, 0) + 1
        in_deg[h] = in_deg.get(h, 0) + 1
        parent[root(d)] = root(h)
    if len({root(v) for v in parent}) > 1:
        return False
    surplus = [out_deg.get(v, 0) - in_deg.get(v, 0) for v in parent]
    if any(abs(x) > 1 for x in surplus):
        return False
    return surplus.count(1) <= 1 and surplus.count(-1) <= 1


def _stacking_orders(chains: list[list[dict]], fits) -> list[list[dict]] | None:
    """Up to two orders that keep each chain's order and fit; None if the search ran too long."""
    total = sum(len(c) for c in chains)
    cursor = [0] * len(chains)
    order: list[dict] = []
    found: list[list[dict]] = []
    steps = 0

    def extend() -> bool:  # True: stop searching
        nonlocal steps
        if len(order) == total:
            found.append(list(order))
            return len(found) >= 2
        for c, chain in enumerate(chains):
            if cursor[c] == len(chain):
                continue
            steps += 1
            if steps > _ORDER_STEPS:
                raise _TooLong
            candidate = chain[cursor[c]]
            if order and not fits(order[-1], candidate):
                continue
            order.append(candidate)
            cursor[c] += 1
            stop = extend()
            cursor[c] -= 1
            order.pop()
            if stop:
                return True
        return False

    try:
        extend()
    except _TooLong:
        return None
    return found


class _TooLong(Exception):
    pass



FORMATS = (
    Format(".keras", "the .keras archive", read=_read_keras, directory=True),
    Format(".weights.h5", "the Keras weights file", read=_read_weights_h5),
    Format(".h5", "the HDF5 file", read=_read_weights_h5),
)
