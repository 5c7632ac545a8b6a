"""Read recurrent weights saved by PyTorch, Keras or rnnviz, and write them back out.

Formats, chosen by extension:

``.npz``
    PyTorch names (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, … as in
    ``nn.RNN/GRU/LSTM.state_dict()``, or ``weight_ih``, … as in ``nn.*Cell``), or the seed
    document's ``weight_x`` (H, D), ``weight_h`` (H, H), ``bias`` (H, 1).
``.safetensors``
    PyTorch names; string metadata written by :func:`save_weights` (kind, nonlinearity,
    recurrent_activation, reset_after) is honoured.
``.pt`` / ``.pth``
    A PyTorch state_dict, only when PyTorch is installed, always with ``weights_only=True``.
``.keras`` / ``.weights.h5``
    Keras 3 SimpleRNN, GRU and LSTM layers, read with zipfile and h5py (Keras is never
    imported). Keras keeps ``kernel`` (D, G·H) and ``recurrent_kernel`` (H, G·H) under
    ``layers/<name>/cell/vars/0`` and ``/1`` and the bias under ``/2``; its GRU gate order is
    z, r, h and its GRU ``reset_after=True`` bias is (2, 3H) = [input bias, recurrent bias].

Nothing here ever unpickles: NumPy reads with ``allow_pickle=False`` and PyTorch with
``weights_only=True``. Every problem with a file raises :class:`InputError` with one line.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import warnings
import zipfile
from typing import Any, Callable, Mapping

import numpy as np

from .activations import ACTIVATIONS
from .atomic import atomic_write
from .cells import KINDS, Cell, Stack, as_stack, from_seed_names
from .errors import InputError

__all__ = ["load_weights", "save_weights", "READ_EXTENSIONS", "WRITE_EXTENSIONS"]

READ_EXTENSIONS = (".npz", ".safetensors", ".pt", ".pth", ".keras", ".weights.h5", ".h5")
WRITE_EXTENSIONS = (".npz", ".safetensors")

# No recurrent layer worth drawing comes near this; it keeps a damaged header (or a zip bomb)
# from asking for gigabytes.
_MAX_BYTES = 1 << 30
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_PICKLE = "is a Python pickle, not %s; rnnviz refuses to load pickles (they can run code)"
_NPY_MAGIC = b"\x93NUMPY"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_KERAS_WEIGHTS = "model.weights.h5"
_PT_HINT = (
    "reading .pt files needs PyTorch: pip install 'rnnviz[torch]' "
    "(or save the weights as .safetensors)"
)

_TORCH_KEY = re.compile(
    r"^(?P<prefix>(?:.*\.)?)(?P<param>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
    r"(?:_l(?P<layer>\d+))?(?P<reverse>_reverse)?$"
)
_TORCH_PARAMS = {"weight_ih": "W_ih", "weight_hh": "W_hh", "bias_ih": "b_ih", "bias_hh": "b_hh"}
_SEED_NAMES = ("weight_x", "weight_h", "bias")

# Keras layer classes → our kind; RNN(cell=…) maps through the cell's class.
_KERAS_LAYERS = {"SimpleRNN": "rnn", "GRU": "gru", "LSTM": "lstm"}
_KERAS_CELLS = {"SimpleRNNCell": "rnn", "GRUCell": "gru", "LSTMCell": "lstm"}
# Layers that leave a sequence unchanged at inference, so they may sit between stacked layers.
_KERAS_PASSTHROUGH = {
    "InputLayer", "Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise",
    "AlphaDropout", "ActivityRegularization",
}
_RECURRENT_HINT = re.compile(r"RNN|GRU|LSTM|Recurrent|Bidirectional", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Public API


def load_weights(
    path: str | os.PathLike, nonlinearity: str = "tanh", reset_after: bool | None = None
) -> Cell | Stack:
    """Load recurrent weights from ``path``: a :class:`Cell` for one layer, a :class:`Stack` else.

    Parameters
    ----------
    path : str or PathLike
        A ``.npz``, ``.safetensors``, ``.pt``/``.pth``, ``.keras`` or ``.weights.h5`` file.
    nonlinearity : {"tanh", "relu", ...}
        The activation of vanilla RNN layers, for files that do not record it (PyTorch
        state_dicts never do). Ignored when the file says (Keras config, rnnviz metadata).
    reset_after : bool, optional
        The GRU variant for files that do not record it; ``None`` means PyTorch's and Keras's
        default (True). A value that contradicts the file is an error.

    Raises
    ------
    InputError
        For every problem with the file, with a one-line message naming it.
    """
    if nonlinearity not in ACTIVATIONS:
        raise InputError(
            f"unsupported nonlinearity {nonlinearity!r}; expected one of {', '.join(ACTIVATIONS)}"
        )
    if reset_after is not None and not isinstance(reset_after, (bool, np.bool_)):
        raise InputError(f"reset_after must be True, False or None, not {reset_after!r}")
    fspath = os.fsdecode(path)
    ext = _extension(fspath)
    readers: dict[str, Callable[[str], list[dict]]] = {
        ".npz": _read_npz,
        ".safetensors": _read_safetensors,
        ".pt": _read_torch,
        ".pth": _read_torch,
        ".keras": _read_keras,
        ".weights.h5": _read_weights_h5,
        ".h5": _read_weights_h5,
    }
    if ext not in readers:
        shown = ext or "(no extension)"
        raise InputError(
            f"unsupported file type {shown}; expected one of {', '.join(READ_EXTENSIONS)}", fspath
        )
    _check_readable(fspath, allow_dir=ext == ".keras")
    try:
        specs = readers[ext](fspath)
        return _build(specs, nonlinearity, reset_after, fspath)
    except InputError as exc:
        # Names inside a damaged file (zip members, h5 groups) may hold line breaks.
        problem = _printable(exc.problem)
        if problem == exc.problem:
            raise
        raise InputError(problem, fspath) from None
    except Exception as exc:  # noqa: BLE001 — any failure inside a reader is a bad file
        raise InputError(f"cannot read {_describe(ext)}: {_one_line(exc)}", fspath) from None


def save_weights(model: Cell | Stack, path: str | os.PathLike) -> None:
    """Write ``model`` to ``.npz`` or ``.safetensors`` with PyTorch's names, atomically.

    Layer ``k`` becomes ``weight_ih_lk``, ``weight_hh_lk``, ``bias_ih_lk``, ``bias_hh_lk``
    (float64), so ``nn.RNN/GRU/LSTM(D, H, num_layers=L).load_state_dict`` takes the file as it
    is (after ``torch.from_numpy`` for ``.npz``; through ``safetensors.torch.load_file`` for
    ``.safetensors``). ``.safetensors`` also records kind, nonlinearity, recurrent_activation
    and reset_after as string metadata (comma-separated per layer when the layers differ),
    which :func:`load_weights` reads back. A model PyTorch cannot reproduce (Keras
    ``reset_after=False``, other activations, mixed kinds or widths) is still written, with
    a UserWarning.
    """
    if not isinstance(model, (Cell, Stack)):
        raise TypeError(f"save_weights needs a Cell or a Stack, not {type(model).__name__}")
    fspath = os.fsdecode(path)
    ext = _extension(fspath)
    if ext not in WRITE_EXTENSIONS:
        shown = ext or "(no extension)"
        raise InputError(
            f"cannot save as {shown}; expected one of {', '.join(WRITE_EXTENSIONS)}", fspath
        )
    layers = as_stack(model).layers
    tensors: dict[str, np.ndarray] = {}
    for k, cell in enumerate(layers):
        tensors[f"weight_ih_l{k}"] = np.array(cell.W_ih, dtype=np.float64, order="C")
        tensors[f"weight_hh_l{k}"] = np.array(cell.W_hh, dtype=np.float64, order="C")
        tensors[f"bias_ih_l{k}"] = np.array(cell.b_ih, dtype=np.float64, order="C")
        tensors[f"bias_hh_l{k}"] = np.array(cell.b_hh, dtype=np.float64, order="C")

    unloadable, different = _torch_mismatches(layers)
    if unloadable:
        warnings.warn(
            f"{fspath}: {'; '.join(unloadable)}, so no single PyTorch nn module can load it",
            UserWarning,
            stacklevel=2,
        )
    if different:
        warnings.warn(
            f"{fspath}: {'; '.join(different)}, so PyTorch's nn modules will compute something "
            "different with these weights",
            UserWarning,
            stacklevel=2,
        )
    if ext == ".npz":
        lost = _npz_losses(layers)
        if lost:
            warnings.warn(
                f"{fspath}: .npz records no {lost}; load it with the matching load_weights "
                "arguments, or save as .safetensors to keep them",
                UserWarning,
                stacklevel=2,
            )
        atomic_write(fspath, lambda tmp: _write_npz(tmp, tensors), suffix=".npz")
    else:
        metadata = _metadata(layers)
        atomic_write(
            fspath, lambda tmp: _write_safetensors(tmp, tensors, metadata), suffix=".safetensors"
        )


# --------------------------------------------------------------------------------------------
# Shared helpers


def _extension(path: str) -> str:
    name = os.path.basename(path.rstrip("/\\")).lower()
    if name.endswith(".weights.h5"):
        return ".weights.h5"
    return os.path.splitext(name)[1]


def _describe(ext: str) -> str:
    return {
        ".npz": "the .npz file",
        ".safetensors": "the .safetensors file",
        ".pt": "the PyTorch file",
        ".pth": "the PyTorch file",
        ".keras": "the .keras archive",
        ".weights.h5": "the Keras weights file",
        ".h5": "the HDF5 file",
    }.get(ext, "the file")


def _one_line(exc: BaseException, limit: int = 160) -> str:
    text = _printable(" ".join(str(exc).split())) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _printable(text: str) -> str:
    """``text`` with every non-printable character (line breaks included) escaped."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _check_readable(path: str, allow_dir: bool = False) -> None:
    if not os.path.exists(path):
        raise InputError("no such file", path)
    if os.path.isdir(path):
        if allow_dir:
            return
        raise InputError("is a directory, not a weights file", path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or _one_line(exc)}", path) from None
    if size == 0:
        raise InputError("the file is empty", path)


def _head(path: str, n: int = 8) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _numeric(value: Any, name: str, path: str) -> np.ndarray:
    """``value`` as a float64 array, or an InputError naming ``name``."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise InputError(f"{name} has dtype {arr.dtype}; expected numbers", path)
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or inf", path)
    return arr


def _kind_from_shape(W_hh: np.ndarray, name: str, path: str) -> str:
    """rnn/gru/lstm from the recurrent matrix (G·H, H): G = 1, 3, 4."""
    if W_hh.ndim != 2 or W_hh.shape[1] < 1 or W_hh.shape[0] % W_hh.shape[1]:
        raise InputError(
            f"{name} has shape {W_hh.shape}; expected (H, H), (3H, H) or (4H, H)", path
        )
    G = W_hh.shape[0] // W_hh.shape[1]
    for kind, g in KINDS.items():
        if g == G:
            return kind
    raise InputError(
        f"{name} has shape {W_hh.shape}: {G}·H rows is not an RNN (H), GRU (3H) or LSTM (4H)",
        path,
    )


def _build(specs: list[dict], nonlinearity: str, reset_after: bool | None, path: str):
    """Cells from layer specs (dicts of W_ih, W_hh, b_ih, b_hh, kind and the flags the file
    recorded); flags the file left open come from the arguments."""
    cells = []
    for k, spec in enumerate(specs):
        label = spec.get("label", f"layer {k}")
        kind = spec["kind"]
        act = spec.get("nonlinearity") or (nonlinearity if kind == "rnn" else "tanh")
        rec = spec.get("recurrent_activation") or "sigmoid"
        ra = spec.get("reset_after")
        if kind == "gru" and reset_after is not None and ra is not None and ra != bool(reset_after):
            raise InputError(
                f"{label} is a GRU with reset_after={ra}, but reset_after={bool(reset_after)} "
                "was asked for",
                path,
            )
        if ra is None:
            ra = True if reset_after is None else bool(reset_after)
        for name in ("nonlinearity", "recurrent_activation"):
            value = act if name == "nonlinearity" else rec
            if value not in ACTIVATIONS:
                raise InputError(
                    f"{label}: unsupported {name} {value!r}; expected one of "
                    f"{', '.join(ACTIVATIONS)}",
                    path,
                )
        try:
            cell = Cell(
                kind, spec["W_ih"], spec["W_hh"], spec["b_ih"], spec["b_hh"],
                nonlinearity=act, recurrent_activation=rec, reset_after=ra,
                recurrent_bias=spec.get("recurrent_bias", True),
            )
        except ValueError as exc:
            raise InputError(f"{label}: {_one_line(exc)}", path) from None
        cells.append(cell)
    if not cells:
        raise InputError("holds no recurrent layers", path)
    if len(cells) == 1:
        return cells[0]
    try:
        return Stack(tuple(cells))
    except ValueError as exc:
        raise InputError(f"inconsistent layers: {_one_line(exc)}", path) from None


# --------------------------------------------------------------------------------------------
# PyTorch names (.npz, .safetensors, .pt)


def _torch_specs(arrays: Mapping[str, Any], path: str, metadata: Mapping[str, str] | None = None):
    """Layer specs from a flat ``name -> array`` mapping in PyTorch's naming.

    ``arrays`` values may be lazy: anything with ``__array__`` or a zero-argument callable.
    """
    groups: dict[str, dict[tuple[str, int | None], str]] = {}
    for key in arrays:
        m = _TORCH_KEY.match(key)
        if not m:
            continue
        prefix = m["prefix"]
        if m["reverse"]:
            raise InputError(
                f"bidirectional RNNs are not supported (found {key}); save a unidirectional one",
                path,
            )
        if m["param"] == "weight_hr":
            raise InputError(f"LSTMs with proj_size are not supported (found {key})", path)
        layer = None if m["layer"] is None else int(m["layer"])
        groups.setdefault(prefix, {})[(m["param"], layer)] = key
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
    if len(groups) > 1:
        shown = ", ".join(repr(p.rstrip(".")) or "''" for p in sorted(groups))
        raise InputError(
            f"holds several recurrent modules ({shown}); save the state_dict of just one", path
        )
    (prefix, group), = groups.items()
    layer_ids = {layer for _, layer in group}
    if None in layer_ids and len(layer_ids) > 1:
        raise InputError(
            f"mixes cell names (weight_ih) with layer names (weight_ih_l0) under {prefix!r}", path
        )
    order = [None] if None in layer_ids else sorted(layer_ids)
    if order != [None] and order != list(range(len(order))):
        raise InputError(
            f"layer numbers {order} are not 0..{len(order) - 1}; a layer is missing", path
        )

    layer_meta = _parse_metadata(metadata, len(order), path) if metadata else [{}] * len(order)
    specs = []
    for k, layer in enumerate(order):
        suffix = "" if layer is None else f"_l{layer}"
        spec: dict[str, Any] = {"label": f"layer {k}"}
        for param, field in _TORCH_PARAMS.items():
            key = group.get((param, layer))
            if key is None:
                if param.startswith("weight"):
                    raise InputError(f"{prefix}{param}{suffix} is missing", path)
                spec[field] = None
                continue
            spec[field] = _numeric(_materialise(arrays[key]), key, path)
        if (spec["b_ih"] is None) != (spec["b_hh"] is None):
            have = "bias_ih" if spec["b_ih"] is not None else "bias_hh"
            lack = "bias_hh" if have == "bias_ih" else "bias_ih"
            raise InputError(f"{prefix}{have}{suffix} is there but {lack}{suffix} is missing", path)
        W_hh_name = f"{prefix}weight_hh{suffix}"
        spec["kind"] = _kind_from_shape(spec["W_hh"], W_hh_name, path)
        _check_torch_shapes(spec, prefix, suffix, path)
        spec["label"] = f"layer {k} ({prefix}weight_*{suffix})" if len(order) > 1 else W_hh_name
        meta = layer_meta[k]
        if "kind" in meta and meta["kind"] != spec["kind"]:
            raise InputError(
                f"metadata says layer {k} is a {meta['kind']} but its shapes are a {spec['kind']}",
                path,
            )
        for name in ("nonlinearity", "recurrent_activation", "reset_after"):
            if name in meta:
                spec[name] = meta[name]
        if spec["kind"] != "gru":
            spec.pop("reset_after", None)
        specs.append(spec)
    return specs


def _check_torch_shapes(spec: dict, prefix: str, suffix: str, path: str) -> None:
    W_hh = spec["W_hh"]
    GH, H = W_hh.shape
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
    weight_x = _numeric(_materialise(arrays["weight_x"]), "weight_x", path)
    weight_h = _numeric(_materialise(arrays["weight_h"]), "weight_h", path)
    bias = _numeric(_materialise(arrays["bias"]), "bias", path) if "bias" in arrays else None
    if weight_h.ndim != 2 or weight_h.shape[0] != weight_h.shape[1] or weight_h.shape[0] < 1:
        raise InputError(f"weight_h has shape {weight_h.shape}; expected (H, H)", path)
    H = weight_h.shape[0]
    if weight_x.ndim != 2 or weight_x.shape[0] != H or weight_x.shape[1] < 1:
        raise InputError(f"weight_x has shape {weight_x.shape}; expected ({H}, D)", path)
    if bias is not None and bias.size != H:
        raise InputError(f"bias has shape {bias.shape}; expected ({H}, 1)", path)
    cell = from_seed_names(weight_x, weight_h, bias)
    return [{
        "label": "weight_x/weight_h/bias", "kind": "rnn",
        "W_ih": cell.W_ih, "W_hh": cell.W_hh, "b_ih": cell.b_ih, "b_hh": cell.b_hh,
    }]


def _materialise(value: Any) -> np.ndarray:
    return np.asarray(value() if callable(value) else value)


def _metadata(layers: tuple[Cell, ...]) -> dict[str, str]:
    def joined(values):
        values = [str(v) for v in values]
        return values[0] if len(set(values)) == 1 else ",".join(values)

    return {
        "rnnviz": "1",
        "kind": joined(c.kind for c in layers),
        "nonlinearity": joined(c.nonlinearity for c in layers),
        "recurrent_activation": joined(c.recurrent_activation for c in layers),
        "reset_after": joined(str(c.reset_after).lower() for c in layers),
    }


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
            if name == "kind" and v not in KINDS:
                raise InputError(f"metadata kind {v!r} is not rnn, gru or lstm", path)
            if name == "reset_after":
                if v.lower() not in ("true", "false"):
                    raise InputError(f"metadata reset_after={v!r} is not true or false", path)
                v = v.lower() == "true"
            out[k][name] = v
    return out


def _read_npz(path: str) -> list[dict]:
    head = _head(path)
    if head.startswith(_NPY_MAGIC):
        raise InputError("is a single NumPy array (.npy), not an .npz archive", path)
    if head[:1] == b"\x80":
        raise InputError(_PICKLE % "an .npz archive", path)
    if not head.startswith(_ZIP_MAGIC):
        raise InputError("not an .npz file (it is not a zip archive)", path)
    # Our own handle: np.load leaks the one it opens when the zip directory is damaged.
    with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
        for info in npz.zip.infolist():
            if info.file_size > _MAX_BYTES:
                raise InputError(f"member {info.filename} is implausibly large", path)

        def getter(name):
            def get():
                try:
                    return npz[name]
                except ValueError as exc:
                    if "pickle" in str(exc).lower() or "object" in str(exc).lower():
                        raise InputError(
                            f"{name} is an object array (pickled Python objects), which rnnviz "
                            "refuses to load",
                            path,
                        ) from None
                    raise
            return get

        arrays = {name: getter(name) for name in npz.files}
        return _torch_specs(arrays, path)


def _read_safetensors(path: str) -> list[dict]:
    from safetensors import safe_open

    # No pickle sniffing here: the first byte is the header length, and 0x80 is a valid one.
    with safe_open(path, framework="np") as f:
        metadata = f.metadata() or {}
        arrays = {key: (lambda key=key: f.get_tensor(key)) for key in f.keys()}
        return _torch_specs(arrays, path, metadata)


def _read_torch(path: str) -> list[dict]:
    try:
        import torch
    except Exception:  # ImportError, or a broken install that fails to load its libraries
        raise InputError(_PT_HINT, path) from None
    import pickle

    try:
        with warnings.catch_warnings():
            # e.g. "Detected pickle protocol 5": noise for someone who only wants the weights
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise InputError(
            "refused: not a plain state_dict of tensors (torch.load(weights_only=True) says: "
            f"{_one_line(exc, 90)}); save model.state_dict() instead",
            path,
        ) from None
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"not a readable PyTorch file: {_one_line(exc)}", path) from None

    flat: dict[str, Any] = {}

    def walk(value, prefix):
        if isinstance(value, torch.Tensor):
            flat[prefix[:-1]] = value
        elif isinstance(value, Mapping):
            for k, v in value.items():
                if isinstance(k, (str, int)):
                    walk(v, f"{prefix}{k}.")

    walk(obj, "")
    if not flat:
        raise InputError(
            f"holds no tensors (a {type(obj).__name__}); expected a model's state_dict()", path
        )

    def to_numpy(t):
        def get():
            t_ = t.detach().to("cpu")
            if t_.is_complex() or t_.dtype == torch.bool:
                return np.asarray(t_.numpy())  # rejected by _numeric with its dtype
            if t_.is_floating_point():
                t_ = t_.to(torch.float64)
            return t_.numpy()
        return get

    return _torch_specs({k: to_numpy(v) for k, v in flat.items()}, path)


# --------------------------------------------------------------------------------------------
# Keras 3 (.keras, .weights.h5)


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
        head = _head(path)
        if head[:1] == b"\x80":
            raise InputError(_PICKLE % "a .keras archive", path)
        if not head.startswith(_ZIP_MAGIC):
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
                    if z.getinfo(name).file_size > _MAX_BYTES:
                        raise InputError(f"{name} in the archive is implausibly large", path)
                config_bytes = z.read("config.json")
                weights_bytes = z.read(_KERAS_WEIGHTS)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
            raise InputError(f"damaged .keras archive: {_one_line(exc)}", path) from None
    try:
        config = json.loads(config_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"config.json is not valid JSON: {_one_line(exc)}", path) from None
    if not weights_bytes.startswith(_HDF5_MAGIC):
        raise InputError(f"{_KERAS_WEIGHTS} in the archive is not an HDF5 file", path)
    import h5py

    try:
        f = h5py.File(io.BytesIO(weights_bytes), "r")
    except OSError as exc:
        problem = f"{_KERAS_WEIGHTS} in the archive is damaged: {_one_line(exc)}"
        raise InputError(problem, path) from None
    with f:
        return _keras_specs(f, config, path)


def _read_weights_h5(path: str) -> list[dict]:
    import h5py

    head = _head(path)
    if not head.startswith(_HDF5_MAGIC):
        if head[:1] == b"\x80":
            raise InputError(_PICKLE % "an HDF5 file", path)
        raise InputError("not an HDF5 file", path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"damaged HDF5 file: {_one_line(exc)}", path) from None
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
        if kind != "rnn":
            entry["recurrent_activation"] = _activation(
                cell_cfg.get("recurrent_activation", "sigmoid"), "recurrent_activation", label, path
            )
        if kind == "gru":
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
            or ds.size * 8 > _MAX_BYTES
        ):
            raise InputError(
                f"layer {label!r}: layers/{name}/cell/vars/{i} is not a weight array", path
            )
        values.append(_numeric(ds[()], f"layers/{name}/cell/vars/{i}", path))
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
    kind = _kind_from_shape(recurrent.T, f"{where} recurrent kernel", path)
    H = recurrent.shape[0]
    G = KINDS[kind]
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
        if kind == "gru" and bias.shape == (2, G * H):
            if reset_after is False:
                raise InputError(
                    f"{where}: config says reset_after=False but the bias is (2, 3H)", path
                )
            reset_after = True
            b_ih, b_hh = bias[0], bias[1]
        elif bias.shape == (G * H,):
            if kind == "gru":
                if reset_after is True:
                    raise InputError(
                        f"{where}: config says reset_after=True but the bias is (3H,)", path
                    )
                reset_after = False
            b_ih = bias
        else:
            raise InputError(f"{where}: bias has shape {bias.shape}; expected ({G * H},)", path)
    # Keras keeps one bias vector except in the reset-after GRU: the UI then shows b, not b_ih + b_hh.
    single_bias = not (kind == "gru" and reset_after is not False)

    W_ih, W_hh = kernel.T, recurrent.T
    if kind == "gru":  # Keras stacks z, r, h; PyTorch (and we) r, z, n
        perm = np.r_[H : 2 * H, 0:H, 2 * H : 3 * H]
        W_ih, W_hh, b_ih, b_hh = W_ih[perm], W_hh[perm], b_ih[perm], b_hh[perm]
    spec = {
        "label": label, "kind": kind,
        "W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh,
        "offset": offset,
        "nonlinearity": entry.get("nonlinearity"),
        "recurrent_activation": entry.get("recurrent_activation"),
        "recurrent_bias": not single_bias,
    }
    if kind == "gru":
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


# --------------------------------------------------------------------------------------------
# Writing


def _write_npz(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Like ``np.savez`` but byte-for-byte reproducible (fixed timestamps)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with z.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asarray(arr), allow_pickle=False)


def _write_safetensors(
    path: str, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str]
) -> None:
    """A float64 .safetensors file, byte-for-byte reproducible.

    ``safetensors.numpy.save_file`` writes the metadata in hash order, which changes from call
    to call; the format itself is simple enough to write directly: an 8-byte little-endian
    header length, the JSON header padded with spaces to 8 bytes, then the raw tensors in
    offset order. ``safetensors`` reads the result back (the tests check it does).
    """
    header: dict[str, Any] = {"__metadata__": dict(sorted(metadata.items()))}
    blobs = []
    offset = 0
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name], dtype="<f8")
        blob = arr.tobytes()
        header[name] = {
            "dtype": "F64",
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for blob in blobs:
            fh.write(blob)


def _torch_mismatches(layers: tuple[Cell, ...]) -> tuple[list[str], list[str]]:
    """What stops nn.RNN/GRU/LSTM from loading the layers, and what makes it compute otherwise."""
    unloadable, different = [], []
    if len({c.kind for c in layers}) > 1:
        unloadable.append("the layers mix kinds (" + ", ".join(c.kind for c in layers) + ")")
    if len({c.hidden_size for c in layers}) > 1:
        unloadable.append("the layers have different hidden sizes")
    for k, c in enumerate(layers):
        where = f"layer {k}" if len(layers) > 1 else "the cell"
        if c.kind == "rnn" and c.nonlinearity not in ("tanh", "relu"):
            different.append(f"{where} uses nonlinearity {c.nonlinearity!r}")
        if c.kind != "rnn" and c.nonlinearity != "tanh":
            different.append(f"{where} uses activation {c.nonlinearity!r} instead of tanh")
        if c.kind != "rnn" and c.recurrent_activation != "sigmoid":
            different.append(
                f"{where} uses recurrent_activation {c.recurrent_activation!r} instead of sigmoid"
            )
        if c.kind == "gru" and not c.reset_after:
            different.append(f"{where} is a GRU with reset_after=False (Keras's variant)")
    return unloadable, different


def _npz_losses(layers: tuple[Cell, ...]) -> str:
    lost = []
    if any(c.kind == "rnn" and c.nonlinearity != "tanh" for c in layers):
        lost.append("nonlinearity")
    if any(c.kind != "rnn" and c.nonlinearity != "tanh" for c in layers):
        lost.append("activation")
    if any(c.kind != "rnn" and c.recurrent_activation != "sigmoid" for c in layers):
        lost.append("recurrent_activation")
    if any(c.kind == "gru" and not c.reset_after for c in layers):
        lost.append("reset_after")
    return ", ".join(lost)
