"""Keras files: ``.keras`` archives (or their unzipped folders), ``.weights.h5`` and legacy HDF5.

Read with zipfile and h5py; Keras is never imported.

* Keras 3 (and Keras 2.15's ``.keras``) keep ``kernel`` (D, G·H) and ``recurrent_kernel``
  (H, G·H) under ``layers/<name>/cell/vars/0`` and ``/1`` and the bias under ``/2`` (a
  ``RNN(StackedRNNCells)`` under ``layers/<name>/cell/cells/<cell>/vars``); groups are named
  after the layer's class (``lstm``, ``lstm_1``, …) in model order.
* Legacy HDF5 (``model.save("m.h5")``, Keras 2 or 3) keeps the model's config in the
  ``model_config`` attribute and each layer's arrays under ``model_weights/<layer name>``,
  listed in order by its ``weight_names`` attribute; ``save_weights("w.h5")`` of Keras 2 writes
  the same groups at the root, without a config.

Keras's GRU gate order is z, r, h and its ``reset_after=True`` bias is (2, 3H) = [input bias,
recurrent bias]. Keras 2's hard_sigmoid is clip(0.2 x + 0.5, 0, 1), Keras 3's relu6(x + 3)/6:
the ``keras_version`` the file records decides. The model's layer graph decides what is a
stack: only a true chain of recurrent layers is one; parallel branches are listed, and
``layer=NAME`` picks one (with the recurrent layers it reads from).
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
    MAX_ARRAY_BYTES, MAX_LAYERS, MAX_MEMBERS, MAX_METADATA_BYTES, MAX_TOTAL_BYTES, Budget, check_json,
    check_member, check_weight_shapes, open_regular, open_zip, read_at_most, read_member,
)
from .common import PICKLE, ZIP_MAGIC, Format, LayerChoiceError, kind_from_shape, numeric, one_line
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
_MODELS = ("Sequential", "Functional", "Model")


def _read_keras(path: str, layer: str | None = None, whole: bool = False) -> list[dict]:
    budget = Budget(path)
    if os.path.isdir(path):  # saved with zipped=False
        config_path = os.path.join(path, "config.json")
        weights_path = os.path.join(path, _KERAS_WEIGHTS)
        if not os.path.exists(config_path) or not os.path.exists(weights_path):
            raise InputError(f"folder lacks config.json or {_KERAS_WEIGHTS}", path)
        with open_regular(config_path, "config.json") as fh:
            config_bytes = read_at_most(fh, MAX_METADATA_BYTES, "config.json", path)
        config = _config(config_bytes, path)
        version = None
        meta_path = os.path.join(path, "metadata.json")
        if os.path.exists(meta_path):
            with open_regular(meta_path, "metadata.json") as fh:
                version = _version(read_at_most(fh, MAX_METADATA_BYTES, "metadata.json", path), path)
        # h5py reads the weights file in place: only the datasets it needs, each checked.
        with open_regular(weights_path, _KERAS_WEIGHTS) as fh:
            with open_h5(fh, path, f"HDF5 file ({_KERAS_WEIGHTS} in the folder)") as f:
                return _keras_specs(f, config, path, budget, version, layer, whole)
    with open_regular(path, ".keras archive") as fh:
        head = fh.read(8)
        if head[:1] == b"\x80":
            raise InputError(PICKLE % "a .keras archive", path)
        if not head.startswith(ZIP_MAGIC):
            if head.startswith(_HDF5_MAGIC):
                raise InputError("is an HDF5 file, not a .keras archive; rename it to .h5", path)
            raise InputError("not a .keras archive (it is not a zip file)", path)
        with open_zip(fh, path) as z:
            names = set(z.namelist())
            if "config.json" not in names:
                raise InputError("not a Keras .keras archive: config.json is missing", path)
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
            version = None
            if "metadata.json" in names:
                version = _version(read_member(z, "metadata.json", path, MAX_METADATA_BYTES, budget), path)
            weights_bytes = read_member(z, _KERAS_WEIGHTS, path, MAX_ARRAY_BYTES, budget)
    with open_h5(io.BytesIO(weights_bytes), path, f"HDF5 file ({_KERAS_WEIGHTS} in the archive)") as f:
        return _keras_specs(f, config, path, budget, version, layer, whole)


def _config(blob: bytes, path: str, what: str = "config.json") -> Any:
    check_json(blob, what, path)
    try:
        return json.loads(blob.decode("utf-8") if isinstance(blob, bytes) else blob)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{what} is not valid JSON: {one_line(exc)}", path) from None


def _version(blob: bytes, path: str) -> str | None:
    """``keras_version`` from metadata.json; a damaged metadata.json says nothing."""
    try:
        check_json(blob, "metadata.json", path)
        meta = json.loads(blob.decode("utf-8"))
    except (InputError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    value = meta.get("keras_version") if isinstance(meta, Mapping) else None
    return value if isinstance(value, str) else None


def _major(version: str | None) -> int | None:
    m = re.match(r"\s*(\d+)\.", version or "")
    return int(m[1]) if m else None


def _read_weights_h5(path: str, layer: str | None = None, whole: bool = False) -> list[dict]:
    with open_regular(path, "weights file") as fh:
        head = fh.read(8)
        if not head.startswith(_HDF5_MAGIC):
            if head[:1] == b"\x80":
                raise InputError(PICKLE % "an HDF5 file", path)
            raise InputError("not an HDF5 file", path)
        size = os.fstat(fh.fileno()).st_size
        with open_h5(fh, path) as f:
            if child(f, "model_weights", "model_weights", path) is not None or "layer_names" in f.attrs:
                return _legacy_specs(f, path, Budget(path), size, layer, whole)
            return _keras_specs(f, None, path, Budget(path), None, layer)


def _keras_specs(f, config: Any, path: str, budget: Budget, version: str | None, layer: str | None,
                 whole: bool = False) -> list[dict]:
    """Layer specs from a Keras 3 weights file, guided by the model's config when there is one."""
    import h5py

    if child(f, "model_weights", "model_weights", path) is not None or "layer_names" in f.attrs:
        raise InputError("holds legacy Keras HDF5 weights inside a .keras archive, which Keras never writes",
                         path)
    layers_group = child(f, "layers", "layers", path)
    if not isinstance(layers_group, h5py.Group):
        raise InputError("not a Keras weights file (no 'layers' group)", path)
    if config is None:
        if layer is not None:
            raise InputError("layer=NAME needs the model's config; a .weights.h5 file has none "
                             "(load the .keras file)", path)
        plan = _plan_from_h5(layers_group, path)
    else:
        plan = _plan_from_config(config, path, version, layer)
    if len(plan) > MAX_LAYERS:
        raise InputError(f"has {len(plan)} recurrent layers; rnnviz reads at most {MAX_LAYERS}", path)
    specs = []
    for entry in plan:
        vars_path = entry["h5"] + "/vars"
        group = child(layers_group, vars_path, f"layers/{vars_path}", path)
        if not isinstance(group, h5py.Group):
            raise InputError(f"layer {entry['label']!r}: the weights have no layers/{vars_path} group", path)
        datasets = _numbered_vars(group, f"layers/{vars_path}", entry["label"], path)
        specs.append(_cell_spec(datasets, entry, path, budget))
    if config is None and not any(spec.get("direction") for spec in specs):  # a Bidirectional pairs its own
        specs = _order_bare(specs, path)
    if whole and config is not None:
        def read(name, h5_name, label):
            where = f"layers/{h5_name}/vars"
            group = child(layers_group, f"{h5_name}/vars", where, path)
            if not isinstance(group, h5py.Group):
                raise InputError(f"layer {label!r}: the weights have no {where} group", path)
            n = len(h5_names(group, where, path))
            out = []
            for i in range(n):
                ds = child(group, str(i), f"{where}/{i}", path)
                if not isinstance(ds, h5py.Dataset):
                    raise InputError(f"layer {label!r}: {where}/{i} is not a weight array", path)
                out.append(numeric(read_dataset(ds, f"{where}/{i}", path, budget), f"{where}/{i}", path))
            if not out:
                raise InputError(f"layer {label!r}: {where} holds no weights", path)
            return out

        return _with_parts(specs, config, plan, read, path, legacy=False)
    return specs


def _with_parts(specs: list[dict], config: Any, plan: list[dict], read, path: str, legacy: bool):
    """The specs with the Embedding before the chain and the Dense head after it (:mod:`.keras_parts`)."""
    from .keras_parts import keras_parts
    from .parts import Specs

    model_class, nodes = _graph(config, path)
    chain = list(dict.fromkeys(e["layer"] for e in plan))
    last = next(n for n in nodes if n["name"] == chain[-1])
    cfg = last["cfg"]
    if last["cls"] == "Bidirectional" and isinstance(cfg.get("layer"), Mapping):
        cfg = cfg["layer"].get("config") or {}
    parts = keras_parts(nodes, _h5_names(nodes, model_class, legacy), chain, read, path,
                        frozenset(_KERAS_PASSTHROUGH), bool(cfg.get("return_sequences", False)))
    if "embedding" in parts and specs:  # read now: the note that it is not read no longer holds
        specs[0]["notes"] = tuple(n for n in specs[0].get("notes", ()) if not n.startswith(
            f"Embedding {parts['embedding']['label']!r} has mask_zero=True, but rnnviz reads"))
    return Specs(specs, parts)


def _h5_names(nodes: list[dict], model_class: str, legacy: bool) -> dict[str, str]:
    """Each layer's group in the weights file: its name (legacy HDF5), else its class in snake
    case, numbered in model order (Keras 3: ``lstm``, ``lstm_1``, …)."""
    used: dict[str, int] = {}
    out = {}
    for node in nodes:
        if node["cls"] == "InputLayer" and model_class == "Sequential":
            continue
        key = _snake_case(node["cls"])
        n = used.get(key, -1) + 1
        used[key] = n
        out[node["name"]] = node["name"] if legacy else (key if n == 0 else f"{key}_{n}")
    return out


def _numbered_vars(vars_group, where_vars: str, label: str, path: str) -> list:
    import h5py

    n_vars = len(vars_group)
    if n_vars not in (2, 3):
        raise InputError(
            f"layer {label!r}: expected kernel, recurrent kernel and bias, found {n_vars} arrays", path)
    datasets = []
    for i in range(n_vars):
        where = f"{where_vars}/{i}"
        ds = child(vars_group, str(i), where, path)
        if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "fiu":
            raise InputError(f"layer {label!r}: {where} is not a weight array", path)
        datasets.append((where, ds))
    return datasets


def _snake_case(name: str) -> str:
    # Keras's naming.to_snake_case: the weights file keys layers by class name, not layer name.
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _activation(value: Any, what: str, label: str, path: str, major: int | None = 3) -> str:
    if value is None:
        return "linear"
    if isinstance(value, Mapping):  # {"module": "keras.activations", "config": "tanh", ...}
        inner = value.get("config")
        if isinstance(inner, str) and str(value.get("module", "")).startswith("keras"):
            value = inner
    if value == "hard_sigmoid" and major == 2:
        return "hard_sigmoid_keras2"  # Keras 2's clip(0.2 x + 0.5, 0, 1)
    if not isinstance(value, str) or value not in ACTIVATIONS or value == "hard_sigmoid_keras2":
        raise InputError(
            f"layer {label!r}: {what} {value!r} is not supported (expected one of "
            f"{', '.join(a for a in ACTIVATIONS if a != 'hard_sigmoid_keras2')})",
            path,
        )
    return value


# ------------------------------------------------------------------------------ the graph


def _parents(layer: Mapping, label: str, path: str) -> list[str]:
    """Names of the layers feeding ``layer``, from its ``inbound_nodes`` (Keras 3's
    ``keras_history`` entries in a node's args, or Keras 2's ``[name, node, tensor, kwargs]``)."""
    nodes = layer.get("inbound_nodes") or []
    if not isinstance(nodes, list):
        raise InputError(f"config.json: layer {label!r} has malformed inbound_nodes", path)
    if len(nodes) > 1:
        raise InputError(f"layer {label!r} is called {len(nodes)} times (a shared layer); rnnviz reads "
                         "layers called once", path)
    found: list[str] = []

    def walk(obj, depth=0):
        if depth > 32:
            return
        if isinstance(obj, Mapping):
            hist = obj.get("keras_history")
            if isinstance(hist, list) and hist and isinstance(hist[0], str):
                found.append(hist[0])
                return
            for key, v in obj.items():
                if key != "kwargs":  # Keras 3 puts the mask tensor there
                    walk(v, depth + 1)
        elif isinstance(obj, list):
            if len(obj) >= 3 and isinstance(obj[0], str) and all(isinstance(v, int) for v in obj[1:3]):
                found.append(obj[0])
                return
            for v in obj:
                walk(v, depth + 1)

    walk(nodes)
    return list(dict.fromkeys(found))


def _graph(config: Any, path: str) -> tuple[str, list[dict]]:
    """The model's class and its layers as dicts of cls, cfg, name, parents (in model order)."""
    if not isinstance(config, Mapping):
        raise InputError("config.json does not describe a model", path)
    model_class = config.get("class_name")
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, Mapping) else None
    if model_class not in _MODELS or not isinstance(layers, list):
        raise InputError(
            f"only Sequential and Functional Keras models can be read (this is {model_class!r})", path)
    if len(layers) > MAX_MEMBERS:
        raise InputError(f"the model has {len(layers)} layers; rnnviz reads at most {MAX_MEMBERS}", path)
    nodes: list[dict] = []
    previous = None
    for layer in layers:
        if not isinstance(layer, Mapping) or not isinstance(layer.get("config", {}), Mapping):
            raise InputError("config.json has a malformed layer entry", path)
        cls = str(layer.get("class_name"))
        cfg = layer.get("config") or {}
        name = str(layer.get("name") or cfg.get("name") or cls)
        if model_class == "Sequential":
            parents = [] if previous is None else [previous]
        else:
            parents = _parents(layer, name, path)
        nodes.append({"cls": cls, "cfg": cfg, "name": name, "parents": parents})
        previous = name
    return model_class, nodes


def _describe(node: dict) -> str:
    return f"{node['name']!r} ({node['cls']})"


def _plan_from_config(config: Any, path: str, version: str | None = None, layer: str | None = None,
                      legacy: bool = False) -> list[dict]:
    """Which weights hold the recurrent layers, in stack order, with their settings.

    The layer graph decides: each recurrent layer reads the nearest recurrent layer above it
    through layers that pass a sequence on unchanged (Dropout, …); a chain of them is a stack.
    Layers before the first recurrent layer are not read (its input is what rnnviz takes).
    ``legacy``: weights are keyed by layer name (legacy HDF5), not by class (Keras 3).
    """
    model_class, nodes = _graph(config, path)
    major = _major(version)
    by_name = {n["name"]: n for n in nodes}
    groups = _h5_names(nodes, model_class, legacy)
    recurrent: dict[str, list[dict]] = {}  # layer name -> its cells' entries (several: StackedRNNCells)
    for node in nodes:
        cls, cfg, label = node["cls"], node["cfg"], node["name"]
        if label not in groups:
            continue  # Sequential.layers, which the weights file follows, omits the InputLayer
        h5_name = groups[label]
        cells = None
        if cls in _KERAS_LAYERS:
            cells = [(_KERAS_LAYERS[cls], cfg, h5_name + "/cell")]
        elif cls == "RNN":
            cells = _rnn_cells(cfg, label, h5_name, path)
        elif cls == "Bidirectional":
            cells = _bidirectional_cells(cfg, label, h5_name, path, legacy)
        elif cls in _MODELS:
            raise InputError(f"layer {label!r}: nested models are not supported", path)
        else:
            wrapped = cfg.get("layer")
            wrapped_cls = wrapped.get("class_name") if isinstance(wrapped, Mapping) else None
            if _RECURRENT_HINT.search(cls) or (wrapped_cls and _RECURRENT_HINT.search(str(wrapped_cls))):
                raise InputError(
                    f"layer {label!r}: {cls} is not a supported recurrent layer (SimpleRNN, GRU and LSTM are)",
                    path,
                )
            continue
        if cfg.get("time_major"):
            raise InputError(f"layer {label!r}: time_major=True is not supported", path)
        entries = []
        for k, (kind, cell_cfg, where) in enumerate(cells):
            entry = {
                "h5": where, "layer": label, "cell_index": k, "n_cells": len(cells),
                "label": label if len(cells) == 1 else f"{label}[{k}]",
                "kind": kind, "units": cell_cfg.get("units"),
                "use_bias": bool(cell_cfg.get("use_bias", True)),
                "nonlinearity": _activation(cell_cfg.get("activation", "tanh"), "activation", label, path, major),
                "go_backwards": bool(cfg.get("go_backwards")) and k == 0,
                "notes": [],
            }
            if cls == "Bidirectional":  # the engine runs the backward cell over the reversed input
                entry.update(direction=("forward", "backward")[k], merge_mode=cfg.get("merge_mode"),
                             label=f"{label} ({('forward', 'backward')[k]})", go_backwards=False)
            options = CELL_KINDS[kind].cell_options
            if "recurrent_activation" in options:
                entry["recurrent_activation"] = _activation(
                    cell_cfg.get("recurrent_activation", "sigmoid"), "recurrent_activation", label, path, major)
            if "reset_after" in options:
                entry["reset_after"] = bool(cell_cfg.get("reset_after", True))
            if major is None and "hard_sigmoid" in (entry["nonlinearity"], entry.get("recurrent_activation")):
                entry["notes"].append(f"layer {label!r}: assumed Keras 3's hard_sigmoid, relu6(x + 3)/6: the "
                                      "file does not say which Keras wrote it (Keras 2's is clip(0.2x + 0.5, 0, 1))")
            entries.append(entry)
        recurrent[label] = entries
    if not recurrent:
        raise InputError("the model has no SimpleRNN, GRU or LSTM layer", path)
    chain = _chain(by_name, nodes, recurrent, path, layer)
    plan = [e for name in chain for e in recurrent[name]]
    return plan


def _bidirectional_cells(cfg: Mapping, label: str, h5_name: str, path: str, legacy: bool) -> list:
    """The two directions of a ``Bidirectional`` layer: (kind, config, h5 group) each. Keras
    runs the backward layer with go_backwards=True and, for sequences, flips its output back to
    the input's order: exactly the engine's backward direction."""
    from ...engine.bidirectional import MERGE_MODES

    if legacy:
        raise InputError(f"layer {label!r}: a Bidirectional layer in a legacy HDF5 file is not supported; "
                         "save the model as .keras", path)
    mode = cfg.get("merge_mode", "concat")
    if mode not in MERGE_MODES:
        raise InputError(f"layer {label!r}: merge_mode={mode!r} is not supported (concat, sum, mul and ave are; "
                         "None returns the two directions apart)", path)
    fwd = cfg.get("layer")
    if not isinstance(fwd, Mapping):
        raise InputError(f"layer {label!r}: a Bidirectional layer without the config of the layer it wraps", path)
    bwd = cfg.get("backward_layer") or fwd
    out = []
    for d, sub in (("forward", fwd), ("backward", bwd)):
        sub_cls = sub.get("class_name") if isinstance(sub, Mapping) else None
        if sub_cls not in _KERAS_LAYERS:
            raise InputError(f"layer {label!r}: a Bidirectional of {sub_cls!r} is not supported "
                             "(SimpleRNN, GRU and LSTM are)", path)
        sub_cfg = sub.get("config") or {}
        if d == "forward" and sub_cfg.get("go_backwards"):
            raise InputError(f"layer {label!r}: a Bidirectional whose forward layer reads backwards is not "
                             "supported", path)
        out.append((_KERAS_LAYERS[sub_cls], sub_cfg, f"{h5_name}/{d}_layer/cell"))
    return out


def _rnn_cells(cfg: Mapping, label: str, h5_name: str, path: str) -> list:
    """The cells of a generic ``RNN`` layer: one cell, or a StackedRNNCells' list (a stack)."""
    cell = cfg.get("cell")
    cell_cls = cell.get("class_name") if isinstance(cell, Mapping) else None
    if cell_cls == "StackedRNNCells":
        inner = cell.get("config") or {}
        items = inner.get("cells") if isinstance(inner, Mapping) else None
        if not isinstance(items, list) or not items:
            raise InputError(f"layer {label!r}: StackedRNNCells without cells", path)
        out, used = [], {}
        for k, item in enumerate(items):
            cls = item.get("class_name") if isinstance(item, Mapping) else None
            if cls not in _KERAS_CELLS:
                raise InputError(f"layer {label!r}: a StackedRNNCells cell {cls!r} is not supported", path)
            key = _snake_case(cls)
            n = used.get(key, -1) + 1
            used[key] = n
            out.append((_KERAS_CELLS[cls], item.get("config") or {},
                        f"{h5_name}/cell/cells/{key if n == 0 else f'{key}_{n}'}"))
        return out
    if cell_cls not in _KERAS_CELLS:
        raise InputError(f"layer {label!r}: an RNN wrapping {cell_cls!r} is not supported", path)
    return [(_KERAS_CELLS[cell_cls], cell.get("config") or {}, h5_name + "/cell")]


def _chain(by_name: dict, nodes: list, recurrent: dict, path: str, layer: str | None) -> list[str]:
    """The recurrent layers to run, bottom up: the one chain, or the chain ending at ``layer``."""
    prev: dict[str, str | None] = {}
    mask_of: dict[str, dict] = {}
    for name in recurrent:
        node = by_name[name]
        parents = node["parents"]
        if len(parents) > 1:
            raise InputError(f"layer {name!r} reads {len(parents)} inputs; rnnviz reads recurrent layers "
                             "with one", path)
        found, cur = None, parents[0] if parents else None
        seen = 0
        while cur is not None and seen <= len(nodes):
            seen += 1
            p = by_name.get(cur)
            if p is None:
                raise InputError(f"config.json: layer {name!r} reads an unknown layer {cur!r}", path)
            if cur in recurrent:
                found = cur
                break
            if p["cls"] == "Masking":
                mask_of.setdefault(name, p)
            elif p["cls"] not in _KERAS_PASSTHROUGH:
                # A layer that changes the sequence: fine before the first recurrent layer (not
                # read), wrong between two of them.
                above = _recurrent_ancestor(p, by_name, recurrent)
                if above is not None:
                    raise InputError(
                        f"layer {_describe(p)} sits between recurrent layers {above!r} and {name!r}; only "
                        "directly stacked recurrent layers can be shown",
                        path,
                    )
                masking = _ancestor_of_class(p, by_name, "Masking")
                if masking is not None:
                    raise InputError(
                        f"layer {_describe(masking)} masks the input of {_describe(p)}, which rnnviz does "
                        f"not read; the mask of {name!r} cannot be computed from its input", path)
                if p["cls"] == "Embedding" and p["cfg"].get("mask_zero"):
                    recurrent[name][0]["notes"].append(
                        f"Embedding {p['name']!r} has mask_zero=True, but rnnviz reads from {name!r} on: "
                        "the input is taken as the embedded vectors and no step is masked")
                break
            if len(p["parents"]) != 1:
                break
            cur = p["parents"][0]
        prev[name] = found
        if found is not None and name in mask_of:
            raise InputError(f"layer {_describe(mask_of[name])} sits between recurrent layers {found!r} and "
                             f"{name!r}; a mask computed there is not supported", path)
    children: dict[str, list[str]] = {name: [] for name in recurrent}
    for name, above in prev.items():
        if above is not None:
            children[above].append(name)
    if layer is not None:
        if layer not in recurrent:
            raise InputError(f"has no recurrent layer named {layer!r}; its recurrent layers are "
                             f"{_list(recurrent)}", path)
        chain = [layer]
        while prev[chain[-1]] is not None:
            chain.append(prev[chain[-1]])
        chain.reverse()
    else:
        roots = [name for name in recurrent if prev[name] is None]
        chain = roots[:1]
        while len(roots) == 1 and len(children[chain[-1]]) == 1:
            chain.append(children[chain[-1]][0])
        if len(chain) != len(recurrent):
            raise LayerChoiceError(
                f"its recurrent layers {_list(recurrent)} are parallel branches, not one stack; pick one "
                "with --layer NAME (load_weights(..., layer=NAME))",
                path, tuple(recurrent),
            )
    masking = mask_of.get(chain[0])
    if masking is not None:
        for name in chain:  # Keras then outputs zeros at masked steps; rnnviz keeps the previous output
            cfg = by_name[name]["cfg"]
            inner = cfg.get("layer", {}).get("config", {}) if isinstance(cfg.get("layer"), dict) else {}
            if cfg.get("zero_output_for_mask") or inner.get("zero_output_for_mask"):
                raise InputError(f"layer {name!r} has zero_output_for_mask=True (zeros at masked steps), which "
                                 "rnnviz does not reproduce: it keeps the previous output there", path)
        value = masking["cfg"].get("mask_value", 0.0)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value):
            raise InputError(f"layer {_describe(masking)}: mask_value {value!r} is not a number", path)
        first = recurrent[chain[0]][0]
        first["mask_value"] = float(value)
        first["notes"].append(f"Masking {masking['name']!r}: a step whose features all equal {float(value):g} is "
                              "skipped (it keeps the previous state and output)")
    return chain


def _list(recurrent: dict) -> str:
    return ", ".join(repr(n) for n in recurrent)


def _ancestor(node: dict, by_name: dict, found) -> dict | None:
    """The first layer above ``node`` (breadth first) for which ``found(layer)`` holds, or None."""
    queue, seen = list(node["parents"]), set()
    while queue:
        name = queue.pop(0)
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        if found(by_name[name]):
            return by_name[name]
        queue.extend(by_name[name]["parents"])
    return None


def _recurrent_ancestor(node: dict, by_name: dict, recurrent: dict) -> str | None:
    """The first recurrent layer found above ``node`` (breadth first), or None."""
    above = _ancestor(node, by_name, lambda layer: layer["name"] in recurrent)
    return None if above is None else above["name"]


def _ancestor_of_class(node: dict, by_name: dict, cls: str) -> dict | None:
    return _ancestor(node, by_name, lambda layer: layer["cls"] == cls)


def _bare_entry(name: str, label: str | None = None) -> dict:
    """A layer whose settings no config records: the options say them, else the defaults (noted)."""
    return {"h5": name, "label": label or name, "kind": None, "bare": True}


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
        if has["forward_layer"] and has["backward_layer"]:
            for d in ("forward", "backward"):  # no config: merge_mode is an assumption (noted)
                entry = _bare_entry(f"{name}/{d}_layer/cell", f"{name} ({d})")
                entry.update(direction=d, merge_mode="concat")
                if d == "forward":
                    entry["notes"] = [f"layer {name!r}: assumed merge_mode='concat' (Keras's default): a "
                                      ".weights.h5 file does not record it (load the .keras file)"]
                plan.append(entry)
            continue
        if has["forward_layer"] or has["backward_layer"]:
            raise InputError(f"layer {name!r}: a bidirectional layer needs both directions", path)
        if not has["cell"]:
            if _RECURRENT_HINT.search(name) and has["layer"]:
                raise InputError(
                    f"layer {name!r}: wrapped recurrent layers are not supported", path
                )
            continue
        if child(group, "cell/cells", f"{where}/cell/cells", path) is not None:
            raise InputError(f"layer {name!r}: an RNN of stacked cells needs the model's config to order "
                             "them; load the .keras file", path)
        plan.append(_bare_entry(name + "/cell", name))
    if not plan:
        raise InputError("holds no recurrent layers (no layers/<name>/cell/vars groups)", path)
    return plan


# ------------------------------------------------------------------------------ legacy HDF5


def _legacy_specs(f, path: str, budget: Budget, size: int, layer: str | None, whole: bool = False) -> list[dict]:
    """``model.save("m.h5")`` (model_config + model_weights) or Keras 2's ``save_weights("w.h5")``."""
    import h5py

    version = _text_attr(f, "keras_version", path, size, 64)
    weights = child(f, "model_weights", "model_weights", path)
    if weights is None:
        weights = f
    if not isinstance(weights, h5py.Group):
        raise InputError("model_weights is not a group", path)
    blob = _text_attr(f, "model_config", path, size, MAX_METADATA_BYTES)
    config = None
    if blob is not None:
        config = _config(blob.encode("utf-8"), path, "the model_config attribute")
        plan = _plan_from_config(config, path, version, layer, legacy=True)
    else:
        if layer is not None:
            raise InputError("layer=NAME needs the model's config; this weights-only HDF5 file has none", path)
        names = _name_list(weights, "layer_names", "model_weights", path)
        plan = []
        for name in names:
            group = child(weights, name, f"model_weights/{name}", path)
            if isinstance(group, h5py.Group) and any(
                    w.split("/")[-1].split(":")[0] == "recurrent_kernel"
                    for w in _name_list(group, "weight_names", name, path)):
                plan.append(dict(_bare_entry(name), layer=name, cell_index=0, n_cells=1))
        if not plan:
            raise InputError("holds no recurrent layers (no layer has a recurrent_kernel)", path)
    specs = []
    for entry in plan:
        where = f"model_weights/{entry['layer']}"
        group = child(weights, entry["layer"], where, path)
        if not isinstance(group, h5py.Group):
            raise InputError(f"layer {entry['label']!r}: the file has no {where} group", path)
        cells = _legacy_cells(group, where, entry["label"], path)
        if entry["cell_index"] >= len(cells) or len(cells) != entry["n_cells"]:
            raise InputError(f"layer {entry['label']!r}: {where} holds {len(cells)} cells' weights; "
                             f"the config says {entry['n_cells']}", path)
        specs.append(_cell_spec(cells[entry["cell_index"]], entry, path, budget))
    if whole and config is not None:
        def read(name, h5_name, label):
            where = f"model_weights/{h5_name}"
            group = child(weights, h5_name, where, path)
            if not isinstance(group, h5py.Group):
                raise InputError(f"layer {label!r}: the file has no {where} group", path)
            out = []
            for wname in _name_list(group, "weight_names", where, path):
                ds = child(group, wname, f"{where}/{wname}", path)
                if not isinstance(ds, h5py.Dataset):
                    raise InputError(f"layer {label!r}: {where}/{wname} is not a weight array", path)
                out.append(numeric(read_dataset(ds, f"{where}/{wname}", path, budget), f"{where}/{wname}", path))
            if not out:
                raise InputError(f"layer {label!r}: {where} holds no weights", path)
            return out

        return _with_parts(specs, config, plan, read, path, legacy=True)
    return specs


def _text_attr(f, name: str, path: str, size: int, limit: int) -> str | None:
    """A string attribute, its size bounded before it is read. A fixed-length string declares
    its size; a variable-length one lives in the file, whose size then bounds it."""
    import h5py

    if name not in f.attrs:
        return None
    attr = h5py.h5a.open(f.id, name.encode())
    if attr.dtype.kind not in "OSU":
        raise InputError(f"the {name} attribute is not text", path)
    declared = attr.get_storage_size() if attr.dtype.kind != "O" else size
    if declared > MAX_TOTAL_BYTES or (attr.dtype.kind != "O" and declared > limit):
        raise InputError(f"the {name} attribute is larger than {limit} bytes, the most rnnviz reads", path)
    value = f.attrs[name]
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise InputError(f"the {name} attribute is not text", path)
    if len(value) > limit:
        raise InputError(f"the {name} attribute is larger than {limit} bytes, the most rnnviz reads", path)
    return value


def _name_list(group, attr: str, where: str, path: str) -> list[str]:
    if attr not in group.attrs:
        raise InputError(f"{where} has no {attr} attribute", path)
    value = group.attrs[attr]
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.size > MAX_MEMBERS:
        if arr.size == 0:
            return []
        raise InputError(f"{where}: the {attr} attribute is not a list of at most {MAX_MEMBERS} names", path)
    out = []
    for v in arr.tolist():
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if not isinstance(v, str):
            if arr.size == 0:
                break
            raise InputError(f"{where}: the {attr} attribute holds {type(v).__name__}, not names", path)
        out.append(v)
    return out


def _legacy_cells(group, where: str, label: str, path: str) -> list[list]:
    """A legacy layer group's arrays, by its weight_names, split per cell (a new cell at each
    ``kernel``): [[(where, dataset), …], …]."""
    import h5py

    cells: list[list] = []
    for wname in _name_list(group, "weight_names", where, path):
        role = wname.split("/")[-1].split(":")[0]
        ds = child(group, wname, f"{where}/{wname}", path)
        if not isinstance(ds, h5py.Dataset):
            raise InputError(f"layer {label!r}: {where}/{wname} is not a weight array", path)
        if role == "kernel" or not cells:
            cells.append([])
        if role not in ("kernel", "recurrent_kernel", "bias"):
            raise InputError(f"layer {label!r}: unexpected weight {wname!r}", path)
        cells[-1].append((f"{where}/{wname}", ds))
    for arrays in cells:
        if len(arrays) not in (2, 3):
            raise InputError(f"layer {label!r}: expected kernel, recurrent kernel and bias, found "
                             f"{len(arrays)} arrays", path)
    return cells


# Where D, H and G·H sit in the declared shapes of kernel (D, G·H), recurrent kernel (H, G·H)
# and bias (G·H,) or (2, G·H): checked before anything is read.
_VAR_AXES = (dict(input_axis=0, gates_axis=1), dict(hidden_axis=0, gates_axis=1), dict(gates_axis=-1))


def _cell_spec(datasets: list, entry: dict, path: str, budget: Budget) -> dict:
    """One Keras cell's weights, ``datasets`` = [(where, kernel), (where, recurrent), (where,
    bias)?], in our layout (gates reordered, kernels transposed), with what the entry says."""
    label = entry["label"]
    n_vars = len(datasets)
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
        "go_backwards": entry.get("go_backwards"),
        "notes": tuple(entry.get("notes", ())),
        "mask_value": entry.get("mask_value"),
    }
    if entry.get("direction"):  # one direction of a Bidirectional layer
        spec["direction"], spec["merge_mode"] = entry["direction"], entry.get("merge_mode") or "concat"
    if "reset_after" in info.cell_options:
        spec["reset_after"] = reset_after
    if entry.get("bare"):  # nothing but the shapes: every other flag is the options' or a default
        spec["assumed"] = ("activation", "go_backwards") + tuple(
            f for f in ("recurrent_activation", "reset_after") if f in info.cell_options and
            (f != "reset_after" or reset_after is None))
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
        return _assumed_order(chains[0])

    def fits(lower, upper):
        return upper["W_ih"].shape[1] == lower["W_hh"].shape[1]

    names = ", ".join(s["label"] for s in specs)
    offsets = [s.get("offset") for s in specs]
    if None not in offsets and len(set(offsets)) == len(offsets):
        written = sorted(specs, key=lambda s: s["offset"])
        rank = {id(s): k for k, s in enumerate(written)}
        in_chain_order = all(rank[id(a)] < rank[id(b)] for c in chains for a, b in zip(c, c[1:]))
        if in_chain_order and all(fits(a, b) for a, b in zip(written, written[1:])):
            return _assumed_order(written)  # the order Keras wrote; if only one order fits, it is this one
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
        return _assumed_order(found[0])
    problem = "do not stack in any order" if not found else "could stack in several orders"
    raise InputError(
        f"layers {names} {problem}; load the .keras file, whose config gives the order", path
    )


def _assumed_order(specs: list[dict]) -> list[dict]:
    """Several layers from a file without the model's graph: say that they are taken as one stack."""
    if len(specs) > 1:
        order = ", ".join(repr(s["label"]) for s in specs)
        specs[0]["notes"] = tuple(specs[0].get("notes", ())) + (
            f"assumed layers {order} form one stack in this order: the file does not record the model's "
            "graph (the .keras file does)",)
    return specs


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
    Format(".keras", "the .keras archive", read=_read_keras, directory=True, options=("layer", "whole")),
    Format(".weights.h5", "the Keras weights file", read=_read_weights_h5, options=("layer", "whole")),
    Format(".h5", "the HDF5 file", read=_read_weights_h5, options=("layer", "whole")),
)
