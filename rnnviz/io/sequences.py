"""Reading input sequences (T, D) from .csv and .npy files, with one-line errors."""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from ..engine.errors import InputError

__all__ = ["read_sequence"]

_MAX_BYTES = 256 * 1024 * 1024


def read_sequence(path: str | os.PathLike, input_size: int | None = None) -> np.ndarray:
    """Read a sequence as float64 (T, D).

    ``.csv``: one row per time step, one column per input feature, an optional header row.
    ``.npy``: shape (T, D), or (T,) when D = 1; never unpickled.
    ``input_size``, when given, is checked against D.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".csv", ".npy"):
        raise InputError(f"unsupported input format {ext or '(no extension)'!r}; use .csv or .npy", path)
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except OSError as err:
        raise InputError(f"cannot read ({err.strerror or err})", path) from None
    if os.path.isdir(path):
        raise InputError("is a folder, not a file", path)
    if size == 0:
        raise InputError("file is empty", path)
    if size > _MAX_BYTES:
        raise InputError("file is too large for an input sequence", path)
    xs = _read_csv(path) if ext == ".csv" else _read_npy(path)
    if xs.ndim == 1:
        xs = xs[:, None]
    if xs.ndim != 2:
        raise InputError(f"has shape {xs.shape}; expected (T, D) or (T,)", path)
    if xs.shape[0] == 0 or xs.shape[1] == 0:
        raise InputError("holds no time steps", path)
    if not np.all(np.isfinite(xs)):
        t, d = np.argwhere(~np.isfinite(xs))[0]
        raise InputError(f"non-finite value at time step {t + 1}, feature {d + 1}", path)
    if input_size is not None and xs.shape[1] != input_size:
        raise InputError(
            f"has {xs.shape[1]} feature column{'s' if xs.shape[1] != 1 else ''} "
            f"but the model expects input size D = {input_size}",
            path,
        )
    return xs


def _read_npy(path: str) -> np.ndarray:
    try:
        # Our own handle: np.load leaks it when a damaged zip makes NpzFile raise.
        with open(path, "rb") as fh:
            arr = np.load(fh, allow_pickle=False)
            if not isinstance(arr, np.ndarray):
                arr.close()
                raise InputError("is an .npz archive, not a single .npy array", path)
    except InputError:
        raise
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise InputError("holds Python objects (pickle), which rnnviz never loads", path) from None
        raise InputError("is not a valid .npy array file", path) from None
    except Exception:  # noqa: BLE001 - zipfile, EOF, OS and format errors alike mean a bad file
        raise InputError("is not a valid .npy array file (corrupt or truncated)", path) from None
    if arr.dtype.kind not in "biuf":
        raise InputError(f"holds {arr.dtype} values; expected numbers", path)
    return arr.astype(np.float64)


def _read_csv(path: str) -> np.ndarray:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("is not a text CSV file (not UTF-8)", path) from None
    except OSError as err:
        raise InputError(f"cannot read ({err.strerror or err})", path) from None
    if "\x00" in text:
        raise InputError("is not a text CSV file (binary data)", path)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t ")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    try:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delim)]
    except csv.Error as err:  # e.g. a lone carriage return inside a quoted field
        raise InputError("is not a readable CSV file (a stray line break inside a row)", path) from None
    rows = [[c.strip() for c in r if c.strip() != "" or delim != " "] for r in rows]
    rows = [r for r in rows if r and any(c for c in r)]
    if not rows:
        raise InputError("holds no data rows", path)

    def numbers(row):
        try:
            return [float(c) for c in row]
        except ValueError:
            return None

    start = 0
    if numbers(rows[0]) is None:
        start = 1  # a header row
    data = []
    width = None
    for k, row in enumerate(rows[start:], start=start + 1):
        vals = numbers(row)
        if vals is None:
            bad = next(c for c in row if numbers([c]) is None)
            raise InputError(f"row {k}: {bad[:20]!r} is not a number", path)
        if width is None:
            width = len(vals)
        elif len(vals) != width:
            raise InputError(f"row {k} has {len(vals)} columns; earlier rows have {width}", path)
        data.append(vals)
    if not data:
        raise InputError("has a header but no data rows", path)
    return np.array(data, dtype=np.float64)
