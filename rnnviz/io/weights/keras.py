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
import zipfile
from typing import Any, Mapping

import numpy as np

from ...engine.activations import ACTIVATIONS
from ...engine.cells import CELL_KINDS
from ...engine.errors import InputError
from .common import MAX_BYTES, PICKLE, ZIP_MAGIC, Format, read_head, kind_from_shape, numeric, one_line

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
    if os.path.isdir(path):  # saved with zipped=False
        config_path = os.path.join(path, "config.json")
        weights_path = os.path.join(path, _KERAS_WEIGHTS)
        if not os.path.isfile(config_path) or not os.path.isfile(weights_path):
            raise InputError(f"folder lacks config.json or {_KERAS_WEIGHTS}", path)
        with open(config_path, "rb") as fh:
            config_bytes = fh.read()
        with open(weights_path, "rb") as fh:
            weights_bytes = fh.read()
    else:
        head = read_head(path)
        if head[:1] == b"\x80":
            raise InputError(PICKLE % "a .keras archive", path)
        if not head.startswith(ZIP_MAGIC):
            raise InputError("not a .keras archive (it is not a zip file)", path)
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
                if "config.json" not in names:
                    raise InputError("not a Keras 3 .keras archive: config.json is missing", path)
                if _KERAS_WEIGHTS not in names:
                    if "model.weights.json" in names:
                        raise InputError("sharded Keras weights are not supported", path)
                    raise InputError(f"the archive has no {_KERAS_WEIGHTS}", path)
                for name in ("config.json", _KERAS_WEIGHTS):
                    if z.getinfo(name).file_size > MAX_BYTES:
                        raise InputError(f"{name} in the archive is implausibly large", path)
                config_bytes = z.read("config.json")
                weights_bytes = z.read(_KERAS_WEIGHTS)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
            raise InputError(f"damaged .keras archive: {one_line(exc)}", path) from None
    try:
        config = json.loads(config_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"config.json is not valid JSON: {one_line(exc)}", path) from None
    if not weights_bytes.startswith(_HDF5_MAGIC):
        raise InputError(f"{_KERAS_WEIGHTS} in the archive is not an HDF5 file", path)
    import h5py

    try:
        f = h5py.File(io.BytesIO(weights_bytes), "r")
    except OSError as exc:
        problem = f"{_KERAS_WEIGHTS} in the archive is damaged: {one_line(exc)}"
        raise InputError(problem, path) from None
    with f:
        return _keras_specs(f, config, path)


def _read_weights_h5(path: str) -> list[dict]:
    import h5py

    head = read_head(path)
    if not head.startswith(_HDF5_MAGIC):
        if head[:1] == b"\x80":
            raise InputError(PICKLE % "an HDF5 file", path)
        raise InputError("not an HDF5 file", path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"damaged HDF5 file: {one_line(exc)}", path) from None
    with f:
        return _keras_specs(f, None, path)


def _keras_specs(f, config: Any, path: str) -> list[dict]:
    """Layer specs from a Keras 3 weights file, guided by the model's config when there is one."""
    import h5py

    if "model_weights" in f or "layer_names" in f.attrs or "keras_version" in f.attrs:
        raise InputError(
            "a Keras 2 (legacy) HDF5 file; re-save the model with Keras 3 as .keras", path
        )
    layers_group = f.get("layers")
    if not isinstance(layers_group, h5py.Group):
        raise InputError("not a Keras 3 weights file (no 'layers' group)", path)
    if config is None:
        plan = _plan_from_h5(layers_group, path)
    else:
        plan = _plan_from_config(config, path)
    specs = []
    for entry in plan:
        specs.append(_keras_layer(layers_group, entry, path))
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
    for name in layers_group:
        group = layers_group[name]
        if not isinstance(group, h5py.Group):
            continue
        if "forward_layer" in group or "backward_layer" in group:
            raise InputError(f"layer {name!r}: bidirectional layers are not supported", path)
        if "cell" not in group:
            if _RECURRENT_HINT.search(name) and "layer" in group:
                raise InputError(
                    f"layer {name!r}: wrapped recurrent layers are not supported", path
                )
            continue
        plan.append({"h5": name, "label": name, "kind": None})
    if not plan:
        raise InputError("holds no recurrent layers (no layers/<name>/cell/vars groups)", path)
    return plan


def _keras_layer(layers_group, entry: dict, path: str) -> dict:
    """One Keras layer's weights in our layout (gates reordered, kernels transposed)."""
    import h5py

    name, label = entry["h5"], entry["label"]
    vars_group = layers_group.get(f"{name}/cell/vars")
    if not isinstance(vars_group, h5py.Group):
        raise InputError(
            f"layer {label!r}: the weights have no layers/{name}/cell/vars group", path
        )
    try:  # where the kernel's bytes sit: Keras writes layers in model order
        offset = vars_group["0"].id.get_offset()
    except Exception:  # noqa: BLE001 — chunked, compact or missing: no evidence
        offset = None
    values = []
    for i in range(len(vars_group)):
        ds = vars_group.get(str(i))
        if (
            not isinstance(ds, h5py.Dataset)
            or ds.dtype.kind not in "fiu"
            or ds.size * 8 > MAX_BYTES
        ):
            raise InputError(
                f"layer {label!r}: layers/{name}/cell/vars/{i} is not a weight array", path
            )
        values.append(numeric(ds[()], f"layers/{name}/cell/vars/{i}", path))
    if len(values) not in (2, 3):
        raise InputError(
            f"layer {label!r}: expected kernel, recurrent kernel and bias, "
            f"found {len(values)} arrays",
            path,
        )
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


def _order_bare(specs: list[dict], path: str) -> list[dict]:
    """Model order for a weights file without config.

    Keras names groups by class (gru, gru_1, …, gru_10) in model order, so within one class
    the numeric suffix is the order. Across classes the evidence is that each layer's input
    width is the previous layer's hidden width; when several orders fit, the order in which
    Keras wrote the kernels into the file (their data offsets) decides.
    """
    by_class: dict[str, list[dict]] = {}
    for spec in sorted(specs, key=lambda s: _natural_key(s["label"])):
        by_class.setdefault(_natural_key(spec["label"])[0], []).append(spec)
    chains = list(by_class.values())
    if len(chains) == 1:
        return chains[0]
    if len(specs) > 12:
        raise InputError("too many layers of different classes to order without config.json", path)

    def fits(order):
        return all(
            upper["W_ih"].shape[1] == lower["W_hh"].shape[1]
            for lower, upper in zip(order, order[1:])
        )

    found = []
    for owners in _interleavings([len(c) for c in chains]):
        cursor = [0] * len(chains)
        order = []
        for c in owners:
            order.append(chains[c][cursor[c]])
            cursor[c] += 1
        if fits(order):
            found.append(order)
            if len(found) > 256:
                break
    if len(found) == 1:
        return found[0]
    offsets = [s.get("offset") for s in specs]
    if found and None not in offsets and len(set(offsets)) == len(offsets):
        written = sorted(specs, key=lambda s: s["offset"])
        for order in found:
            if all(a is b for a, b in zip(order, written)):
                return order
    names = ", ".join(s["label"] for s in specs)
    problem = "do not stack in any order" if not found else "could stack in several orders"
    raise InputError(
        f"layers {names} {problem}; load the .keras file, whose config gives the order", path
    )


def _interleavings(counts: list[int]):
    """Every sequence of chain indices that uses chain i exactly counts[i] times."""
    if not any(counts):
        yield ()
        return
    for i, n in enumerate(counts):
        if n:
            rest = counts[:i] + [n - 1] + counts[i + 1 :]
            for tail in _interleavings(rest):
                yield (i, *tail)



FORMATS = (
    Format(".keras", "the .keras archive", read=_read_keras, directory=True),
    Format(".weights.h5", "the Keras weights file", read=_read_weights_h5),
    Format(".h5", "the HDF5 file", read=_read_weights_h5),
)
