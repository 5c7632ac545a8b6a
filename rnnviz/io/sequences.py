"""Reading input sequences (T, D) from .csv and .npy files, with one-line errors."""

from __future__ import annotations

import array
import csv
import io
import itertools
import os

import numpy as np

from ..engine.errors import InputError
from .limits import (
    MAX_INPUT, MAX_SEQUENCE_VALUES, MAX_STEPS, open_regular, printable, read_npy_data, read_npy_header,
    shown, size_text,
)

__all__ = ["read_sequence"]

_MAX_BYTES = 256 * 1024 * 1024
#: One CSV line (a row of 4096 numbers fits easily), and one field: a number is short.
MAX_LINE = 1 << 20
MAX_FIELD = 100
#: csv's own field limit (131,072 by default, a process-wide setting rnnviz leaves alone).
_CSV_FIELD_LIMIT = csv.field_size_limit()


def read_sequence(path: str | os.PathLike, input_size: int | None = None) -> np.ndarray:
    """Read a sequence as float64 (T, D).

    ``.csv``: one row per time step, one column per input feature, an optional header row.
    ``.npy``: shape (T, D), or (T,) when D = 1; never unpickled.
    ``input_size``, when given, is checked against D. At most T = 1,000,000 steps,
    D = 4096 features and T·D = 16,777,216 values (``rnnviz.io.limits``).
    """
    path = os.fspath(path)
    try:
        return _read_sequence(path, input_size)
    except InputError as err:
        problem, where = printable(err.problem), shown(path)
        if problem == err.problem and err.path == where:
            raise
        raise InputError(problem, where) from None


def _read_sequence(path: str, input_size: int | None) -> np.ndarray:
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".csv", ".npy"):
        raise InputError(f"unsupported input format {ext or '(no extension)'!r}; use .csv or .npy", path)
    with open_regular(path, "file") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            raise InputError("file is empty", path)
        if size > _MAX_BYTES:
            raise InputError(
                f"file is too large for an input sequence ({size_text(size)}; at most "
                f"{size_text(_MAX_BYTES)})",
                path,
            )
        xs = _read_csv(fh, path) if ext == ".csv" else _read_npy(fh, path)
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


def _check_shape(T: int, D: int, path: str) -> None:
    if T > MAX_STEPS:
        raise InputError(f"has more than {MAX_STEPS:,} time steps (T ≤ {MAX_STEPS:,})", path)
    if D > MAX_INPUT:
        raise InputError(f"has {D} features per step; at most D = {MAX_INPUT}", path)
    if T * D > MAX_SEQUENCE_VALUES:
        raise InputError(f"holds more than {MAX_SEQUENCE_VALUES:,} values (T·D)", path)


def _read_npy(fh, path: str) -> np.ndarray:
    head = fh.read(6)
    fh.seek(0)
    if head.startswith(b"PK"):
        raise InputError("is an .npz archive, not a single .npy array", path)
    if head[:1] == b"\x80":
        raise InputError("holds Python objects (pickle), which rnnviz never loads", path)
    if not head.startswith(b"\x93NUMPY"):
        raise InputError("is not a valid .npy array file", path)
    try:
        shape, fortran, dtype = read_npy_header(fh, "the array", path)
    except InputError as err:
        if "object array" in err.problem:
            raise InputError("holds Python objects (pickle), which rnnviz never loads", path) from None
        raise InputError("is not a valid .npy array file (corrupt or truncated)", path) from None
    if dtype.kind not in "biuf":
        raise InputError(f"holds {dtype} values; expected numbers", path)
    if len(shape) in (1, 2):  # other shapes are refused with their shape below, after a small read
        _check_shape(shape[0], shape[1] if len(shape) == 2 else 1, path)
    try:
        arr = read_npy_data(fh, shape, fortran, dtype, "the array", path)
    except InputError as err:
        if "declares shape" in err.problem:
            raise
        raise InputError("is not a valid .npy array file (corrupt or truncated)", path) from None
    return arr.astype(np.float64)


def _lines(fh, path: str):
    """The file's lines (universal newlines kept, for csv), each at most MAX_LINE characters
    and at most 2·MAX_STEPS + 1 of them (a header, T rows, and room for blank lines)."""
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    most = 2 * MAX_STEPS + 1
    k = 0
    try:
        while True:
            line = text.readline(MAX_LINE + 1)
            if not line:
                return
            k += 1
            if len(line) > MAX_LINE:
                raise InputError(f"line {k} is longer than {MAX_LINE:,} characters", path)
            if "\x00" in line:
                raise InputError("is not a text CSV file (binary data)", path)
            if k > most:
                raise InputError(f"has more than {most:,} lines (T ≤ {MAX_STEPS:,})", path)
            yield line
    except UnicodeDecodeError:
        raise InputError("is not a text CSV file (not UTF-8)", path) from None
    finally:
        if not fh.closed:
            text.detach()  # leave the file to its owner


def _read_csv(fh, path: str) -> np.ndarray:
    lines = _lines(fh, path)
    try:
        return _parse_csv(lines, path)
    finally:
        lines.close()


def _parse_csv(lines, path: str) -> np.ndarray:
    # The first lines, for the sniffer (it sees at most 4096 characters).
    first: list[str] = []
    seen = 0
    for line in lines:
        first.append(line)
        seen += len(line)
        if seen >= 4096:
            break
    try:
        dialect = csv.Sniffer().sniff("".join(first)[:4096], delimiters=",;\t ")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    spaces = delim == " "
    reader = csv.reader(itertools.chain(first, lines), delimiter=delim)
    values = array.array("d")
    width = 0
    T = 0
    header_seen = data_seen = False
    k = 0
    try:
        for row in reader:
            k += 1
            if spaces:
                row = [c for c in row if c.strip()]
            if not row:
                continue
            try:
                vals = list(map(float, row))
            except ValueError:
                vals = None
            if vals is None:
                if not any(c.strip() for c in row):
                    continue  # a row of empty cells
                long = max(row, key=len)
                if not data_seen and not header_seen and len(long) <= 10 * MAX_FIELD:
                    header_seen = True  # a header row
                    continue
                if len(long) > MAX_FIELD:
                    raise InputError(
                        f"row {k}: a field of {len(long):,} characters (an unclosed quote?); "
                        f"numbers have at most {MAX_FIELD}",
                        path,
                    )
                bad = next(c.strip() for c in row if _numbers([c]) is None)
                raise InputError(f"row {k}: {bad[:20]!r} is not a number", path)
            if not data_seen:
                data_seen = True
                width = len(vals)
                if width > MAX_INPUT:
                    raise InputError(f"row {k} has {width} columns; at most D = {MAX_INPUT}", path)
            elif len(vals) != width:
                raise InputError(f"row {k} has {len(vals)} columns; earlier rows have {width}", path)
            T += 1
            if T > MAX_STEPS:
                raise InputError(f"has more than {MAX_STEPS:,} rows (T ≤ {MAX_STEPS:,})", path)
            if T * width > MAX_SEQUENCE_VALUES:
                raise InputError(f"holds more than {MAX_SEQUENCE_VALUES:,} values (T·D)", path)
            values.extend(vals)
    except csv.Error as err:
        text = str(err)
        if "field larger" in text:
            why = f"an unclosed quote, or a field over {_CSV_FIELD_LIMIT:,} characters"
        elif "new-line" in text or "newline" in text:
            why = "a stray line break inside a row"
        else:
            why = printable(text)[:80]
        raise InputError(f"is not a readable CSV file ({why}, near row {k + 1})", path) from None
    if not data_seen:
        if header_seen:
            raise InputError("has a header but no data rows", path)
        raise InputError("holds no data rows", path)
    return np.frombuffer(values, dtype=np.float64).reshape(-1, width).copy()


def _numbers(row):
    try:
        return [float(c) for c in row]
    except ValueError:
        return None
