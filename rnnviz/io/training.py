"""Files for training: whole models (RNNModel's names), DATA.npz batches, a series' column, a text.

Every reader checks what a file declares against ``rnnviz.io.limits`` before it reads, never
unpickles, and raises a one-line :class:`~rnnviz.engine.errors.InputError` naming the file.

* :func:`load_model` / :func:`save_model`: a :class:`~rnnviz.engine.train.Model` under the names
  of PyTorch's ``RNNModel`` (``rnn.weight_ih_l0 … rnn.bias_hh_l{L-1}``, ``fc.weight``,
  ``fc.bias``), as ``.safetensors`` or ``.npz``, written atomically in the dtype asked for
  (:func:`save_model` also writes a Keras 3 ``.weights.h5``).
* :func:`read_data`: DATA.npz: ``xs`` (B, T, D), ``ys`` float (B, T, O) or int (B, T), and an
  optional 0/1 ``mask`` (B, T).
* :func:`read_series`: one column of a ``.csv`` (by header name or 0-based index) or a ``.npy``.
* :func:`read_text`: a UTF-8 text file for the character-level task.
"""

from __future__ import annotations

import csv
import os
import struct
from typing import Mapping

import numpy as np

from ..engine.cells import as_stack
from ..engine.errors import InputError
from ..engine.train import Model, Output
from .atomic import atomic_write
from .weights.keras_write import SUFFIX as KERAS_SUFFIX
from .weights.keras_write import write_keras_weights
from .weights.safetensors import metadata_of, write_safetensors
from .limits import (
    MAX_INPUT, MAX_METADATA_BYTES, MAX_STEPS, MiB, Budget, check_array, check_json,
    one_line, open_regular, open_zip, printable, read_at_most, read_npy_data, read_npy_header, refuse, shown,
    size_text,
)

__all__ = ["MODEL_SUFFIXES", "SAVE_SUFFIXES", "MAX_TEXT_BYTES", "load_model", "read_data", "read_series", "read_text", "save_model"]

#: What a model file may be (read and written).
MODEL_SUFFIXES = (".safetensors", ".npz")
#: What a model may be saved as: also a Keras 3 ``.weights.h5`` (written, not read back as a model).
SAVE_SUFFIXES = MODEL_SUFFIXES + (KERAS_SUFFIX,)
#: A text for the character-level task (a novel is about 1 MiB).
MAX_TEXT_BYTES = 16 * MiB
#: Outputs O of the output layer (classes, or regression targets).
MAX_OUTPUT = MAX_INPUT


def _suffix(path: str) -> str:
    return os.path.splitext(os.fsdecode(path))[1].lower()


# ============================================================================ named arrays
class _Arrays:
    """The arrays of an ``.npz`` or ``.safetensors`` file by name, each read only when asked for,
    after its declared shape passed the limits and the file's budget."""

    def __init__(self, path: str, what: str):
        self.path, self.what = path, what
        self.budget = Budget(path)
        self.suffix = _suffix(path)
        self._fh = self._zip = self._st = None
        self.metadata: dict = {}
        if self.suffix == ".npz":
            self._fh = open_regular(path, what)
            head = self._fh.read(8)
            if head[:1] == b"\x80":
                self.close()
                raise refuse("is a Python pickle, not an .npz archive; rnnviz refuses to load pickles", path)
            if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
                self.close()
                raise refuse("not an .npz file (it is not a zip archive)", path)
            try:
                self._zip = open_zip(self._fh, path)
            except BaseException:
                self.close()
                raise
            self.names = [n[:-4] if n.endswith(".npy") else n for n in self._zip.namelist()]
        elif self.suffix == ".safetensors":
            from safetensors import safe_open

            with open_regular(path, what) as fh:
                head = fh.read(8)
                if len(head) < 8:
                    raise refuse("too short to be a .safetensors file", path)
                (n,) = struct.unpack("<Q", head)
                if n > MAX_METADATA_BYTES:
                    raise refuse(f"its header declares {size_text(n)}; rnnviz reads headers of at most "
                                 f"{size_text(MAX_METADATA_BYTES)}", path)
                check_json(fh.read(n), "the .safetensors header", path)
            try:
                self._st = safe_open(path, framework="np")
                self._st.__enter__()
                self.metadata = dict(self._st.metadata() or {})
                self.names = list(self._st.keys())
            except InputError:
                raise
            except Exception as exc:  # noqa: BLE001 — a damaged header
                raise refuse(f"cannot read the .safetensors file: {one_line(exc)}", path) from None
        else:
            raise refuse(f"unsupported file type {printable(self.suffix or '(no extension)')}; "
                         f"expected {' or '.join(MODEL_SUFFIXES)}", path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._zip is not None:
            self._zip.close()
        if self._fh is not None:
            self._fh.close()
        if self._st is not None:
            self._st.__exit__(None, None, None)
        self._fh = self._zip = self._st = None

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str) -> np.ndarray:
        path = self.path
        try:
            if self._zip is not None:
                member = name + ".npy" if name + ".npy" in self._zip.namelist() else name
                info = self._zip.getinfo(member)
                with self._zip.open(info) as fh:
                    shape, fortran, dtype = read_npy_header(fh, name, path)
                    self.budget.take(check_array(name, shape, dtype.itemsize, path), name)
                    arr = read_npy_data(fh, shape, fortran, dtype, name, path)
            else:
                sl = self._st.get_slice(name)
                shape = tuple(sl.get_shape())
                self.budget.take(check_array(name, shape, 8, path), name)
                arr = self._st.get_tensor(name)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 — a damaged member or tensor
            raise refuse(f"cannot read {name}: {one_line(exc)}", path) from None
        arr = np.asarray(arr)
        if arr.dtype.kind not in "biuf":
            raise refuse(f"{name} holds {arr.dtype} values; expected numbers", path)
        return arr


# ============================================================================ models
def load_model(path: str | os.PathLike, nonlinearity: str = "tanh") -> Model:
    """A Model from RNNModel's ``state_dict`` names in a ``.safetensors`` or ``.npz`` file.

    The recurrent layers are read by :func:`rnnviz.io.load_weights` (kind from the shapes;
    ``nonlinearity`` for a vanilla RNN when the file does not record it), the output layer from
    ``fc.weight`` (O, H) and ``fc.bias`` (O,).
    """
    from .weights import load_weights

    fspath = os.fsdecode(path)
    if _suffix(fspath) not in MODEL_SUFFIXES:
        raise refuse(f"unsupported file type {printable(_suffix(fspath) or '(no extension)')} for a model; "
                     f"expected {' or '.join(MODEL_SUFFIXES)}", fspath)
    rnn = as_stack(load_weights(fspath, nonlinearity=nonlinearity))
    with _Arrays(fspath, "model file") as arrays:
        missing = [n for n in ("fc.weight", "fc.bias") if n not in arrays]
        if missing:
            raise refuse(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing: a model file "
                         "holds RNNModel's state_dict (rnn.* and the output layer fc.*)", fspath)
        W = arrays.read("fc.weight")
        b = arrays.read("fc.bias")
    H = rnn.hidden_size
    if W.ndim != 2 or W.shape[1] != H or not 1 <= W.shape[0] <= MAX_OUTPUT:
        raise refuse(f"fc.weight has shape {W.shape}; expected (O, {H}) with 1 ≤ O ≤ {MAX_OUTPUT}", fspath)
    if b.shape != (W.shape[0],):
        raise refuse(f"fc.bias has shape {b.shape}; expected ({W.shape[0]},)", fspath)
    for name, a in (("fc.weight", W), ("fc.bias", b)):
        if not np.all(np.isfinite(a)):
            raise refuse(f"{name} contains inf or NaN", fspath)
    return Model(rnn, Output(W.astype(np.float64), b.astype(np.float64)))


def _write_npz(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Like ``np.savez``, reproducible (fixed timestamps), in ``state_dict()``'s order."""
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with z.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arr), allow_pickle=False)


def save_model(model: Model, path: str | os.PathLike, dtype=np.float64) -> None:
    """Write ``model.state_dict(dtype)`` (RNNModel's names) to ``.safetensors`` or ``.npz``,
    atomically. ``RNNModel.load_state_dict`` takes it as it is (through
    ``safetensors.torch.load_file``, or ``torch.from_numpy`` of each ``.npz`` array). The
    ``.safetensors`` file also records each layer's kind and activations, as
    :func:`rnnviz.io.save_weights` does; an ``.npz`` records none (a ReLU RNN is then read
    back with ``nonlinearity="relu"``). ``.weights.h5`` is Keras 3's layout of
    ``Sequential([Input((None, D)), LSTM(H, return_sequences=True) …, Dense(O)])``
    (:mod:`rnnviz.io.weights.keras_write`). InputError for a model Keras cannot hold; OSErrors
    name ``path``."""
    fspath = os.fsdecode(path)
    suffix = _suffix(fspath)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"a model is saved as float32 or float64, not {dtype}")
    if fspath.lower().endswith(KERAS_SUFFIX):
        write_keras_weights(fspath, model.rnn.layers, (model.fc.W_hy, model.fc.b_y), dtype=dtype)
        return
    state = model.state_dict(dtype)
    if suffix == ".safetensors":
        atomic_write(fspath, lambda tmp: write_safetensors(tmp, state, metadata_of(model.rnn.layers)))
    elif suffix == ".npz":
        atomic_write(fspath, lambda tmp: _write_npz(tmp, state))
    else:
        raise InputError(f"cannot save a model as {printable(suffix or '(no extension)')}; "
                         f"expected {', '.join(SAVE_SUFFIXES)}", shown(fspath))


# ============================================================================ DATA.npz
def read_data(path: str | os.PathLike):
    """(xs float64 (B, T, D), ys, mask uint8 (B, T) or None, loss) from DATA.npz.

    ``ys`` is float64 (B, T, O) for "mse" or int64 (B, T) class labels (≥ 0 where the mask
    selects) for "xent"; ``loss`` says which. Read without ``np.load``'s pickle support: each
    member's declared shape is checked before it is read.
    """
    fspath = os.fsdecode(path)
    if _suffix(fspath) != ".npz":
        raise refuse("the training data must be an .npz file (xs, ys and optionally mask)", fspath)
    with _Arrays(fspath, ".npz file") as arrays:
        missing = [n for n in ("xs", "ys") if n not in arrays]
        if missing:
            held = ", ".join(sorted(arrays.names)[:8]) or "nothing"
            raise refuse(f"{' and '.join(missing)} missing (it holds {held}); DATA.npz holds xs (B, T, D), "
                         "ys and optionally mask (B, T)", fspath)
        xs = arrays.read("xs")
        ys = arrays.read("ys")
        mask = arrays.read("mask") if "mask" in arrays else None
    if xs.ndim != 3 or min(xs.shape) < 1:
        raise refuse(f"xs has shape {xs.shape}; expected (B, T, D) with B, T, D ≥ 1", fspath)
    B, T, D = xs.shape
    if T > MAX_STEPS:
        raise refuse(f"xs has T = {T} steps; at most {MAX_STEPS:,}", fspath)
    if D > MAX_INPUT:
        raise refuse(f"xs has D = {D} features; at most {MAX_INPUT}", fspath)
    xs = xs.astype(np.float64)
    check_array("xs as float64", xs.shape, 8, fspath)
    if not np.all(np.isfinite(xs)):
        b, t, d = np.argwhere(~np.isfinite(xs))[0]
        raise refuse(f"xs has a non-finite value at sequence {b + 1}, step {t + 1}, feature {d + 1}", fspath)
    if mask is not None:
        if mask.shape != (B, T):
            raise refuse(f"mask has shape {mask.shape}; expected (B, T) = ({B}, {T}) as xs", fspath)
        if not np.all((mask == 0) | (mask == 1)):
            raise refuse("mask must hold only 0 and 1", fspath)
        mask = mask.astype(np.uint8)
        if not mask.any():
            raise refuse("mask selects no step", fspath)
    chosen = np.ones((B, T), bool) if mask is None else mask.astype(bool)
    if ys.dtype.kind in "biu" and ys.ndim == 2:
        if ys.shape != (B, T):
            raise refuse(f"ys (class labels) has shape {ys.shape}; expected (B, T) = ({B}, {T})", fspath)
        labels = ys[chosen]
        if labels.min() < 0 or labels.max() >= MAX_OUTPUT:
            raise refuse(f"ys holds class labels outside 0 … {MAX_OUTPUT - 1} on selected steps", fspath)
        return xs, ys.astype(np.int64), mask, "xent"
    if ys.ndim != 3 or ys.shape[:2] != (B, T) or not 1 <= ys.shape[2] <= MAX_OUTPUT:
        raise refuse(f"ys has shape {ys.shape}; expected float targets (B, T, O) = ({B}, {T}, O) or integer "
                     f"class labels (B, T)", fspath)
    ys = ys.astype(np.float64)
    if not np.all(np.isfinite(ys[chosen])):
        raise refuse("ys has a non-finite target on a selected step", fspath)
    return xs, np.where(chosen[..., None], ys, 0.0), mask, "mse"


# ============================================================================ series and text
def _csv_header(path: str) -> list[str] | None:
    """The header row's names of a CSV (None when its first row is numbers)."""
    with open_regular(path, "file") as fh:
        head = fh.read(4096)
    text = head.decode("utf-8-sig", errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    try:
        delim = csv.Sniffer().sniff(text[:4096], delimiters=",;\t ").delimiter
    except csv.Error:
        delim = ","
    row = next(csv.reader([lines[0]], delimiter=delim))
    if delim == " ":
        row = [c for c in row if c.strip()]
    try:
        [float(c) for c in row]
        return None
    except ValueError:
        return [c.strip() for c in row]


def read_series(path: str | os.PathLike, column: str | None = None) -> np.ndarray:
    """One column of a ``.csv`` (``column``: a header name or a 0-based index; default the first)
    or a ``.npy`` of shape (T,) or (T, D), as float64 (T,)."""
    from .sequences import read_sequence

    fspath = os.fsdecode(path)
    values = read_sequence(fspath)
    T, D = values.shape
    if column is None:
        j = 0
    else:
        names = _csv_header(fspath) if _suffix(fspath) == ".csv" else None
        if names is not None and column in names:
            j = names.index(column)
        else:
            try:
                j = int(column)
            except ValueError:
                known = f"; its columns are {', '.join(names[:12])}" if names else " (it has no header row)"
                raise refuse(f"has no column {printable(column)!r}{known}", fspath) from None
            if not 0 <= j < D:
                raise refuse(f"has {D} column{'s' if D != 1 else ''}; column {j} is out of range "
                             f"(0-based)", fspath)
    if T < 3:
        raise refuse(f"holds {T} value{'s' if T != 1 else ''}; a series needs at least 3", fspath)
    return np.ascontiguousarray(values[:, j])


def read_text(path: str | os.PathLike) -> str:
    """A UTF-8 text of at most MAX_TEXT_BYTES, with at least two different characters."""
    fspath = os.fsdecode(path)
    with open_regular(fspath, "text file") as fh:
        data = read_at_most(fh, MAX_TEXT_BYTES, "the text", fspath)
    if b"\x00" in data:
        raise refuse("is not a text file (binary data)", fspath)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse("is not a UTF-8 text file", fspath) from None
    if len(set(text)) < 2:
        raise refuse("the text needs at least two different characters", fspath)
    if len(set(text)) > MAX_INPUT:
        raise refuse(f"the text has {len(set(text))} different characters; at most {MAX_INPUT}", fspath)
    return text

