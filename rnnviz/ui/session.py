"""Session files (``.rnnviz``): save the exact view, open it again, never lose the current one.

A session is human-readable JSON::

    {
      "format": "rnnviz-session",
      "version": 1,
      "lesson": null,                         # or {"title": …, "summary": …, "text": …}
      "settings": {…every Settings field…},   # tuples written as lists
      "model": {"source": "built-in", "cells": [ {key, kind, …, W_ih, W_hh, b_ih, b_hh} ]}
             # or {"source": "loaded", "name": "m.pt", "layer": -1, "layers": [ … ]}
      "input": {"xs": [[x_1], [x_2], …]},     # one row per step, D numbers each
      "view": {"t": 1, "reveal_all": false, "unit": 0, "speed": 4.0}
    }

``t`` is 1-based, as the window shows it. Built-in cells are written after the per-entry
overrides and before the group sliders (what :meth:`Controller.baseCell` gives), so the file
documents every number; a loaded model is written as its raw layers (the overrides and sliders
in ``settings`` apply on top, as in the window). Floats are written with ``repr`` and read back
exactly, so save → open → save gives the same bytes.

:func:`load_session` / :func:`loads_session` validate everything (types, ranges, shapes,
finiteness, names) and raise :class:`InputError` with one line naming the file before anything
touches a controller. Those functions and :func:`apply_session` use no widgets (the render
command calls them); :class:`SessionManager` is the window side, added by :func:`install`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass

import numpy as np

from PySide6 import QtCore, QtGui, QtWidgets

from ..engine import InputError
from ..engine.activations import ACTIVATIONS
from ..engine.cells import KINDS, Cell, Stack, as_stack
from ..core import model as M

FORMAT = "rnnviz-session"
VERSION = 1
SUFFIX = ".rnnviz"
FILE_FILTER = "rnnviz sessions (*.rnnviz);;All files (*)"
#: Files larger than this are refused before parsing (a 16-layer LSTM at H = 256 is ≈ 190 MB).
MAX_BYTES = 512 * 1024 * 1024
#: Magnitude limits: beyond them float32 arithmetic in the engine overflows before it starts.
MAX_SETTING = 1e6
MAX_NUMBER = 1e30
MAX_RECENT = 10
PARAMS = ("W_ih", "W_hh", "b_ih", "b_hh")
SPEED_RANGE = (0.5, 30.0)  # controller.SPEED_RANGE, repeated so this module needs no Qt


@dataclass(frozen=True)
class Lesson:
    title: str
    text: str
    summary: str = ""  # one line for the start page; the first sentence of text when empty

    def one_line(self) -> str:
        if self.summary:
            return self.summary
        first = self.text.split(". ")[0].strip()
        return first if first.endswith(".") else first + "."


@dataclass(frozen=True, eq=False)
class SessionData:
    """Everything a session file holds, validated. ``step`` and ``unit`` are 0-based."""

    settings: M.Settings
    loaded: Cell | Stack | None = None
    loaded_name: str | None = None
    layer: int = -1
    step: int = 0
    reveal_all: bool = False
    unit: int = 0
    speed: float = 4.0
    lesson: Lesson | None = None

    def replace(self, **changes) -> "SessionData":
        return dataclasses.replace(self, **changes)


# ====================================================================== writing
def capture(controller, lesson: Lesson | None = None) -> SessionData:
    """The controller's current state as a SessionData (nothing is copied but references)."""
    return SessionData(
        settings=controller.settings, loaded=controller.loaded, loaded_name=controller.loadedName,
        layer=controller.layer, step=controller.step, reveal_all=controller.revealAll,
        unit=controller.selectedUnit, speed=controller.speed, lesson=lesson,
    )


def to_document(data: SessionData) -> dict:
    """The JSON document (plain dicts and lists) for ``data``. Raises InputError on non-finite numbers."""
    s = data.settings
    doc = {"format": FORMAT, "version": VERSION, "lesson": None}
    if data.lesson is not None:
        lesson = {"title": data.lesson.title}
        if data.lesson.summary:
            lesson["summary"] = data.lesson.summary
        lesson["text"] = data.lesson.text
        doc["lesson"] = lesson
    doc["settings"] = _settings_doc(s)
    if data.loaded is None:
        cells = [_cell_doc(M.apply_overrides(M.base_cell(key, s), s.overrides), key) for key in s.kinds]
        doc["model"] = {"source": "built-in", "cells": cells}
    else:
        layers = [_cell_doc(c) for c in as_stack(data.loaded).layers]
        doc["model"] = {"source": "loaded", "name": data.loaded_name, "layer": int(data.layer), "layers": layers}
    doc["input"] = {"xs": _rows(M.build_inputs(s))}
    doc["view"] = {"t": int(data.step) + 1, "reveal_all": bool(data.reveal_all), "unit": int(data.unit),
                   "speed": float(data.speed)}
    _check_finite(doc)
    return doc


def dumps_session(data: SessionData) -> bytes:
    """The file's bytes: UTF-8 JSON, one matrix row per line, floats exact (repr)."""
    return (_pretty(to_document(data)) + "\n").encode("utf-8")


def save_session(path, data: SessionData) -> None:
    """Write ``data`` to ``path`` atomically (the old file stays whole on any error)."""
    from ..io.atomic import atomic_write

    blob = dumps_session(data)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(blob)

    atomic_write(path, write, suffix=SUFFIX)


def _settings_doc(s: M.Settings) -> dict:
    out = {}
    for f in dataclasses.fields(M.Settings):
        v = getattr(s, f.name)
        if f.name == "custom":
            v = [[float(x) for x in row] for row in v]
        elif f.name == "overrides":
            v = [{"param": p, "row": int(r), "col": int(c), "value": float(val)} for (p, r, c), val in v]
        elif isinstance(f.default, bool):
            v = bool(v)
        elif isinstance(f.default, int):
            v = int(v)
        elif isinstance(f.default, float):
            v = float(v)
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def _cell_doc(cell: Cell, key: str | None = None) -> dict:
    out = {} if key is None else {"key": key}
    out.update(kind=cell.kind, nonlinearity=cell.nonlinearity, recurrent_activation=cell.recurrent_activation,
               reset_after=bool(cell.reset_after), recurrent_bias=bool(cell.recurrent_bias))
    for name in PARAMS:
        arr = getattr(cell, name)
        out[name] = _rows(arr) if arr.ndim == 2 else [float(v) for v in arr]
    return out


def _rows(a: np.ndarray) -> list:
    return [[float(v) for v in row] for row in np.asarray(a, dtype=np.float64)]


def _check_finite(doc) -> None:
    def walk(v, where):
        if isinstance(v, float) and not math.isfinite(v):
            raise InputError(f"cannot save: non-finite number in {where}")
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{where}.{k}" if where else k)
        elif isinstance(v, list):
            for x in v:
                walk(x, where)

    walk(doc, "")


def _scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return json.dumps(v, ensure_ascii=False)


def _is_scalar(v) -> bool:
    return not isinstance(v, (dict, list))


def _pretty(v, indent: str = "") -> str:
    """JSON with one line per dict field and per matrix row; flat lists and small records inline."""
    inner = indent + "  "
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_pretty(x, inner)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(v, list):
        if not v:
            return "[]"
        if all(_is_scalar(x) for x in v):
            return "[" + ", ".join(_scalar(x) for x in v) + "]"
        parts = []
        for x in v:
            if isinstance(x, dict) and all(_is_scalar(y) for y in x.values()):
                parts.append(inner + "{" + ", ".join(f"{json.dumps(k)}: {_scalar(y)}" for k, y in x.items()) + "}")
            else:
                parts.append(inner + _pretty(x, inner))
        return "[\n" + ",\n".join(parts) + "\n" + indent + "]"
    return _scalar(v)


# ====================================================================== reading
def load_session(path) -> SessionData:
    """Read and validate a session file. Raises InputError (one line naming the file)."""
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise InputError(f"too large for a session ({size / 2**20:.0f} MB)", path)
        with open(path, "rb") as fh:
            blob = fh.read(MAX_BYTES + 1)
    except InputError:
        raise
    except OSError as err:
        raise InputError(f"cannot read ({err.strerror or err})", path) from None
    return loads_session(blob, path)


def is_session_file(path) -> bool:
    """True for a ``.rnnviz`` name, or a file that starts like JSON (no weights format does).

    Lets ``rnnviz FILE`` and ``rnnviz render FILE`` tell sessions from weights.
    """
    path = os.fspath(path)
    if path.lower().endswith(SUFFIX):
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def loads_session(blob: bytes, path: str | None = None) -> SessionData:
    """Parse and validate a session from bytes; ``path`` names it in error messages."""
    try:
        return _Reader(path).read(blob)
    except _Problem as p:
        raise InputError(str(p), path) from None


class _Problem(Exception):
    pass


class _Reader:
    def __init__(self, path):
        self.path = path

    # ------------------------------------------------------------------ parse
    def read(self, blob: bytes) -> SessionData:
        if len(blob) > MAX_BYTES:
            raise _Problem("too large for a session")
        try:
            text = blob.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _Problem("not an rnnviz session (not UTF-8 text)") from None
        try:
            doc = json.loads(text, parse_constant=_constant, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as err:
            raise _Problem(f"not JSON (line {err.lineno})") from None
        except RecursionError:
            raise _Problem("not JSON (nested too deeply)") from None
        except _Duplicate as d:
            raise _Problem(f"field {str(d)!r} appears twice") from None
        except (ValueError, OverflowError):
            raise _Problem("not JSON (a number is out of range)") from None
        return self.document(doc)

    def document(self, doc) -> SessionData:
        if not isinstance(doc, dict):
            raise _Problem("not an rnnviz session (not a JSON object)")
        fmt = doc.get("format")
        if fmt != FORMAT:
            why = "no 'format' field" if "format" not in doc else f"format is {_short(fmt)}"
            raise _Problem(f"not an rnnviz session ({why})")
        version = self.field(doc, "version", "version")
        if not _is_int(version) or version < 1:
            raise _Problem(f"unknown session version {_short(version)}")
        if version > VERSION:
            raise _Problem(f"made by a newer rnnviz (version {version}); this one reads version {VERSION}")
        self.known(doc, "", ("format", "version", "lesson", "settings", "model", "input", "view"))
        lesson = self.lesson(self.field(doc, "lesson", "lesson"))
        settings = self.settings(self.obj(doc, "settings"))
        loaded, name, layer, settings = self.model(self.obj(doc, "model"), settings)
        settings = self.inputs(self.obj(doc, "input"), settings)
        view = self.obj(doc, "view")
        self.known(view, "view", ("t", "reveal_all", "unit", "speed"))
        t = self.integer(view, "t", "view.t", 1, settings.T)
        reveal = self.boolean(view, "reveal_all", "view.reveal_all")
        H = settings.hidden_size if loaded is None else as_stack(loaded).layers[layer].hidden_size
        unit = self.integer(view, "unit", "view.unit", 0, H - 1)
        speed = self.number(view, "speed", "view.speed", *SPEED_RANGE)
        return SessionData(settings, loaded, name, layer, t - 1, reveal, unit, speed, lesson)

    # ------------------------------------------------------------------ sections
    def lesson(self, v) -> Lesson | None:
        if v is None:
            return None
        if not isinstance(v, dict):
            raise _Problem("'lesson' must be null or an object with a title and a text")
        self.known(v, "lesson", ("title", "summary", "text"))
        title = self.string(v, "title", "lesson.title")
        text = self.string(v, "text", "lesson.text")
        summary = self.string(v, "summary", "lesson.summary") if "summary" in v else ""
        return Lesson(title, text, summary)

    def settings(self, d: dict) -> M.Settings:
        fields = {f.name: f for f in dataclasses.fields(M.Settings)}
        self.known(d, "settings", tuple(fields))
        defaults = M.Settings()
        out = {}
        for name, f in fields.items():
            where = f"settings.{name}"
            if name not in V1_SETTINGS:  # added after version 1: optional, typed by its default
                out[name] = self.plain(d[name], type(f.default), where) if name in d else getattr(defaults, name)
            elif name in _INT_LIMITS:
                out[name] = self.integer(d, name, where, *_INT_LIMITS[name])
            elif name == "cell":
                out[name] = self.choice(d, name, where, M.CELL_CHOICES)
            elif name == "signal":
                out[name] = self.choice(d, name, where, M.SIGNALS)
            elif name in ("custom", "overrides"):
                continue  # need the sizes first
            elif isinstance(f.default, bool):
                out[name] = self.boolean(d, name, where)
            else:
                out[name] = self.number(d, name, where, -MAX_SETTING, MAX_SETTING)
        D = out["input_size"]
        rows = self.field(d, "custom", "settings.custom")
        out["custom"] = tuple(tuple(r) for r in self.matrix(rows, "settings.custom", cols=D, allow_empty=True,
                                                            max_rows=M.LIMITS["T"][1]).tolist())
        out["overrides"] = self.overrides(self.field(d, "overrides", "settings.overrides"), out)
        return M.Settings(**out)

    def overrides(self, v, s: dict) -> tuple:
        if not isinstance(v, list):
            raise _Problem("settings.overrides must be a list")
        if v and s["cell"] == "compare":
            raise _Problem("settings.overrides must be empty in Compare mode")
        G = KINDS["rnn" if s["cell"].startswith("rnn") else s["cell"]] if s["cell"] != "compare" else 1
        H, D = s["hidden_size"], s["input_size"]
        shapes = {"W_ih": (G * H, D), "W_hh": (G * H, H), "b_ih": (G * H, 1), "b_hh": (G * H, 1)}
        out = {}
        for k, item in enumerate(v):
            where = f"settings.overrides[{k}]"
            if not isinstance(item, dict):
                raise _Problem(f"{where} must be an object with param, row, col and value")
            self.known(item, where, ("param", "row", "col", "value"))
            param = self.choice(item, "param", f"{where}.param", PARAMS)
            rows, cols = shapes[param]
            r = self.integer(item, "row", f"{where}.row", 0, rows - 1)
            c = self.integer(item, "col", f"{where}.col", 0, cols - 1)
            value = self.number(item, "value", f"{where}.value", -MAX_NUMBER, MAX_NUMBER)
            if param == "b_hh" and s["single_bias"]:
                raise _Problem(f"{where} sets b_hh, but settings.single_bias says there is none")
            if (param, r, c) in out:
                raise _Problem(f"{where}: {param}[{r},{c}] is overridden twice")
            out[(param, r, c)] = value
        return tuple(sorted(out.items()))

    def model(self, d: dict, s: M.Settings):
        source = self.choice(d, "source", "model.source", ("built-in", "loaded"))
        if source == "built-in":
            self.known(d, "model", ("source", "cells"))
            return self.builtin(d, s)
        self.known(d, "model", ("source", "name", "layer", "layers"))
        if s.cell == "compare":
            raise _Problem("a loaded model cannot be shown in Compare mode (settings.cell)")
        name = self.field(d, "name", "model.name")
        if name is not None and not (isinstance(name, str) and _encodable(name)):
            raise _Problem("model.name must be a file name or null")
        layers = self.field(d, "layers", "model.layers")
        if not isinstance(layers, list) or not layers:
            raise _Problem("model.layers must be a non-empty list of cells")
        cells, D = [], s.input_size
        for k, item in enumerate(layers):
            last = k == len(layers) - 1
            label = f"layer {k}: " if len(layers) > 1 else ""
            cell = self.cell(item, f"model.layers[{k}]", label, D, s.hidden_size if last else None)
            cells.append(cell)
            D = cell.hidden_size
        n = len(cells)
        layer = self.integer(d, "layer", "model.layer", -n, n - 1)
        key = _ui_key(cells[-1])
        if s.cell != key:
            raise _Problem(f"settings.cell is {s.cell!r} but the loaded model is {key!r}")
        if s.overrides and n > 1:
            raise _Problem("settings.overrides need a single-layer model")
        if any(p == "b_hh" for (p, _r, _c), _v in s.overrides) and not cells[0].recurrent_bias:
            raise _Problem("settings.overrides set b_hh, but the model has a single bias")
        model = cells[0] if n == 1 else Stack(tuple(cells))
        return model, name, layer, s

    def builtin(self, d: dict, s: M.Settings):
        items = self.field(d, "cells", "model.cells")
        keys = s.kinds
        if not isinstance(items, list) or len(items) != len(keys):
            raise _Problem(f"model.cells must list {len(keys)} cell{'s' if len(keys) > 1 else ''} "
                           f"({', '.join(keys)}) for settings.cell {s.cell!r}")
        stored, mismatch = [], False
        for k, (item, key) in enumerate(zip(items, keys)):
            where = f"model.cells[{k}]"
            label = f"{M.CELL_CHOICES[key]} cell: " if len(keys) > 1 else ""
            if not isinstance(item, dict):
                raise _Problem(f"{where} must be an object")
            if self.field(item, "key", f"{where}.key") != key:
                raise _Problem(f"{where}.key must be {key!r} for settings.cell {s.cell!r}")
            cell = self.cell(item, where, label, s.input_size, s.hidden_size, extra=("key",))
            expected = M.apply_overrides(M.base_cell(key, s), s.overrides)
            stored.append(cell)
            if not _same_cell(cell, expected):
                mismatch = True
                if len(keys) > 1 and not _close_cell(cell, expected):
                    raise _Problem(f"{label}weights do not match settings.seed; Compare mode can only "
                                   "show the built-in weights")
        if mismatch and len(keys) == 1:
            # The numbers in the file win: show them as a loaded model (overrides already applied).
            cell = stored[0]
            return cell, os.path.basename(self.path) if self.path else "session", -1, \
                s.replace(cell=_ui_key(cell), overrides=())
        return None, None, -1, s

    def cell(self, d, where: str, label: str, D: int, H: int | None, extra=()) -> Cell:
        if not isinstance(d, dict):
            raise _Problem(f"{where} must be an object")
        self.known(d, where, extra + ("kind", "nonlinearity", "recurrent_activation", "reset_after",
                                      "recurrent_bias") + PARAMS)
        kind = self.choice(d, "kind", f"{where}.kind", tuple(KINDS))
        nl = self.choice(d, "nonlinearity", f"{where}.nonlinearity", tuple(ACTIVATIONS))
        ra = self.choice(d, "recurrent_activation", f"{where}.recurrent_activation", tuple(ACTIVATIONS))
        reset_after = self.boolean(d, "reset_after", f"{where}.reset_after")
        recurrent_bias = self.boolean(d, "recurrent_bias", f"{where}.recurrent_bias")
        G = KINDS[kind]
        W_hh = self.matrix(self.field(d, "W_hh", f"{where}.W_hh"), f"{label}W_hh", weights=True)
        if H is None:  # an inner layer of a stack: its own W_hh says how wide it is
            H = W_hh.shape[1]
            if not 1 <= H <= M.LIMITS["hidden_size"][1]:
                raise _Problem(f"{label}W_hh has shape {W_hh.shape}; hidden sizes go up to "
                               f"{M.LIMITS['hidden_size'][1]}")
        expect = {"W_ih": (G * H, D), "W_hh": (G * H, H), "b_ih": (G * H,), "b_hh": (G * H,)}
        arrays = {"W_hh": W_hh}
        for name in ("W_ih", "b_ih", "b_hh"):
            v = self.field(d, name, f"{where}.{name}")
            if name.startswith("W"):
                arrays[name] = self.matrix(v, f"{label}{name}", weights=True)
            else:
                arrays[name] = self.vector(v, f"{label}{name}")
        for name, shape in expect.items():
            if arrays[name].shape != shape:
                raise _Problem(f"{label}{name} has shape {_shape(arrays[name].shape)}; expected {_shape(shape)}")
        if not recurrent_bias and np.any(arrays["b_hh"] != 0):
            raise _Problem(f"{label}b_hh must be all zeros when recurrent_bias is false")
        try:
            return Cell(kind, nonlinearity=nl, recurrent_activation=ra, reset_after=reset_after,
                        recurrent_bias=recurrent_bias, **arrays)
        except ValueError as err:  # every check above should have caught it first
            raise _Problem(f"{label}{err}") from None

    def inputs(self, d: dict, s: M.Settings) -> M.Settings:
        self.known(d, "input", ("xs",))
        xs = self.matrix(self.field(d, "xs", "input.xs"), "input.xs", cols=s.input_size,
                         max_rows=M.LIMITS["T"][1])
        if xs.shape[0] != s.T:
            raise _Problem(f"input.xs has {xs.shape[0]} rows; settings.T is {s.T}")
        if np.array_equal(xs, M.build_inputs(s)):
            return s
        # The numbers in the file win over the signal that would regenerate them.
        return s.replace(signal="custom", custom=tuple(tuple(r) for r in xs.tolist()))

    # ------------------------------------------------------------------ fields
    def field(self, d: dict, key: str, where: str):
        if key not in d:
            raise _Problem(f"missing field {where!r}")
        return d[key]

    def obj(self, d: dict, key: str) -> dict:
        v = self.field(d, key, key)
        if not isinstance(v, dict):
            raise _Problem(f"{key!r} must be an object")
        return v

    def known(self, d: dict, where: str, keys) -> None:
        for k in d:
            if k not in keys:
                raise _Problem(f"unknown field {_quote((where + '.' if where else '') + k)}")

    def integer(self, d, key, where, lo, hi) -> int:
        v = self.field(d, key, where)
        if isinstance(v, float) and v.is_integer() and math.isfinite(v):
            v = int(v)
        if not _is_int(v):
            raise _Problem(f"{where} must be a whole number, not {_short(v)}")
        if not lo <= v <= hi:
            raise _Problem(f"{where} = {_short(v)} is out of range ({lo} … {hi})")
        return int(v)

    def number(self, d, key, where, lo, hi) -> float:
        v = self.field(d, key, where)
        if not _is_number(v):
            raise _Problem(f"{where} must be a number, not {_short(v)}")
        v = _float(v)
        if not math.isfinite(v):
            raise _Problem(f"non-finite number in {where}")
        if not lo <= v <= hi:
            raise _Problem(f"{where} = {v!r} is out of range ({lo:g} … {hi:g})")
        return v

    def boolean(self, d, key, where) -> bool:
        v = self.field(d, key, where)
        if not isinstance(v, bool):
            raise _Problem(f"{where} must be true or false, not {_short(v)}")
        return v

    def string(self, d, key, where) -> str:
        v = self.field(d, key, where)
        if not isinstance(v, str):
            raise _Problem(f"{where} must be text, not {_short(v)}")
        if not _encodable(v):
            raise _Problem(f"{where} is not valid text (a lone surrogate escape)")
        return v

    def choice(self, d, key, where, choices) -> str:
        v = self.field(d, key, where)
        if not isinstance(v, str) or v not in choices:
            raise _Problem(f"{where} is {_short(v)}; expected one of {', '.join(choices)}")
        return v

    def plain(self, v, typ, where):
        if typ is float and _is_number(v) and math.isfinite(_float(v)):
            return _float(v)
        if typ is tuple and isinstance(v, list):
            return tuple(v)
        if isinstance(v, typ) and not (typ is int and isinstance(v, bool)):
            return v
        raise _Problem(f"{where} has the wrong type ({_short(v)})")

    def matrix(self, v, where: str, cols: int | None = None, allow_empty: bool = False,
               max_rows: int | None = None, weights: bool = False) -> np.ndarray:
        if not isinstance(v, list) or not all(isinstance(r, list) for r in v):
            raise _Problem(f"{where} must be a list of rows (lists of numbers)")
        if max_rows is not None and len(v) > max_rows:
            raise _Problem(f"{where} has {len(v)} rows; at most {max_rows}")
        if not v:
            if allow_empty:
                return np.zeros((0, cols or 0))
            raise _Problem(f"{where} is empty")
        width = len(v[0])
        for k, row in enumerate(v):
            if len(row) != width:
                raise _Problem(f"{where} is not a matrix (row {k + 1} has {len(row)} numbers, row 1 has {width})")
        if cols is not None and width != cols:
            raise _Problem(f"{where} rows have {width} numbers; expected {cols} (settings.input_size)")
        return self.numbers(v, where, weights, (len(v), width))

    def vector(self, v, where: str) -> np.ndarray:
        if not isinstance(v, list) or any(isinstance(x, (list, dict)) for x in v):
            raise _Problem(f"{where} must be a list of numbers")
        return self.numbers([v], where, True, (len(v),))

    def numbers(self, rows, where, weights, shape) -> np.ndarray:
        for row in rows:
            for x in row:
                if not _is_number(x):
                    raise _Problem(f"{where} must hold only numbers, not {_short(x)}")
        try:
            a = np.array([[_float(x) for x in row] for row in rows], dtype=np.float64).reshape(shape)
        except OverflowError:
            a = np.array([np.inf])
        if not np.all(np.isfinite(a)):
            raise _Problem("non-finite number in " + ("weights" if weights else where))
        if a.size and np.max(np.abs(a)) > MAX_NUMBER:
            raise _Problem(f"{where} has a number beyond ±{MAX_NUMBER:g}")
        return a


_INT_LIMITS = dict(M.LIMITS, seed=(0, 2**31 - 1))
#: The Settings fields of version 1, all required. Fields added to Settings later are optional.
V1_SETTINGS = ("cell", "hidden_size", "input_size", "seed", "input_scale", "recurrent_scale", "bias_shift",
               "forget_bias", "update_bias", "T", "signal", "amplitude", "period", "custom", "overrides",
               "backward", "single_bias")


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise _Duplicate(k)
        d[k] = v
    return d


def _constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _float(v) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _short(v) -> str:
    """A value for an error message: short, one line, printable."""
    if isinstance(v, str):
        return _quote(v)
    text = repr(v) if isinstance(v, float) else json.dumps(v, ensure_ascii=False)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 40 else text[:37] + "…"


def _quote(text: str) -> str:
    text = repr(text)[1:-1]  # escapes newlines, control characters and lone surrogates
    return "'" + (text if len(text) <= 60 else text[:57] + "…") + "'"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _ui_key(cell: Cell) -> str:
    if cell.kind == "rnn":
        return "rnn_relu" if cell.nonlinearity == "relu" else "rnn_tanh"
    return cell.kind


def _same_cell(a: Cell, b: Cell) -> bool:
    return (a.kind, a.nonlinearity, a.recurrent_activation, a.reset_after, a.recurrent_bias) == \
        (b.kind, b.nonlinearity, b.recurrent_activation, b.reset_after, b.recurrent_bias) and \
        all(np.array_equal(getattr(a, p), getattr(b, p)) for p in PARAMS)


def _close_cell(a: Cell, b: Cell) -> bool:
    """Equal up to last-bit differences (another NumPy's random stream or libm)."""
    return (a.kind, a.nonlinearity, a.recurrent_activation, a.reset_after, a.recurrent_bias) == \
        (b.kind, b.nonlinearity, b.recurrent_activation, b.reset_after, b.recurrent_bias) and \
        all(np.allclose(getattr(a, p), getattr(b, p), rtol=1e-12, atol=1e-15) for p in PARAMS)


# ====================================================================== applying
def apply_session(controller, data: SessionData) -> None:
    """Put ``data`` into ``controller`` (no window needed: the render command uses this)."""
    controller.restore(data.settings, loaded=data.loaded, loaded_name=data.loaded_name, layer=data.layer,
                       step=data.step, reveal_all=data.reveal_all, unit=data.unit)
    controller.setSpeed(data.speed)
    if controller.selectedUnit != data.unit:
        # A large run finishes on a worker: the unit is clamped to the old result's H until then.
        def later(_result, c=controller, unit=data.unit):
            c.resultChanged.disconnect(later)
            c.setSelectedUnit(unit)

        controller.resultChanged.connect(later)


# ====================================================================== the window side
def install(window) -> "SessionManager":
    """Add sessions, lessons and the start page to a MainWindow; sets ``window.session``.

    Adds File ▸ Open session… (Ctrl+O; "Open weights…" moves to Ctrl+Shift+O), Open recent,
    Lessons, Start page, Save session (Ctrl+S), Save session as… (Ctrl+Shift+S), a lesson panel
    (``window.lessonPanel``) and a start page (``window.startPanel``).
    """
    from . import lessons

    existing = getattr(window, "session", None)
    if isinstance(existing, SessionManager):  # installed already (MainWindow does it itself)
        return existing
    window.session = SessionManager(window)
    lessons.install(window)
    return window.session


def open_in_window(window, path) -> bool:
    """Open a session file in ``window``; on a bad file show a dialog and keep the session."""
    return window.session.open(os.fspath(path))


def show_in_window(window, data: SessionData, path=None) -> None:
    """Show already-validated ``data`` (from load_session / lessons.load_lesson) in ``window``."""
    window.session.openData(data, None if path is None else os.fspath(path))


def ask_save(window, name: str, doing: str) -> str:
    """Ask whether to save ``name`` before ``doing`` ("closing", "opening another session").

    Returns "save", "discard" or "cancel". Tests replace this function (it blocks).
    """
    B = QtWidgets.QMessageBox.StandardButton
    answer = QtWidgets.QMessageBox.question(
        window, "Unsaved changes", f"Save the changes to {name} before {doing}?",
        B.Save | B.Discard | B.Cancel, B.Save)
    return {B.Save: "save", B.Discard: "discard"}.get(answer, "cancel")


def _qsettings() -> QtCore.QSettings:
    """The preferences store: prefs.store() keeps tests and renders off the user's real settings."""
    try:
        from . import prefs
    except ImportError:  # pragma: no cover - prefs is a sibling module; fall back to Qt's default place
        return QtCore.QSettings("rnnviz", "rnnviz")
    return prefs.store()


def recent_files() -> list[str]:
    """The most recently saved or opened files, newest first (kept by prefs, one list)."""
    from . import prefs

    return prefs.recent_files()


def add_recent(path: str) -> None:
    from . import prefs

    prefs.add_recent(path)


def _snapshot_of(data: SessionData) -> tuple:
    return (data.settings, data.loaded, data.loaded_name, data.layer, data.step, data.reveal_all,
            data.unit, data.speed)


def _same_state(a: tuple, b: tuple, upto: int | None = None) -> bool:
    """Compare snapshots; settings by identity first (cheap during play), the model by identity."""
    a, b = a[:upto], b[:upto]
    if not (a[0] is b[0] or a[0] == b[0]):
        return False
    return a[1] is b[1] and a[2:] == b[2:]


class SessionManager(QtCore.QObject):
    """Open, save and track the window's session: file name in the title, unsaved marker, close prompt.

    ``modified`` is true when the state differs from the last save or open. Closing (or opening
    another session) asks first when a session file has unsaved changes, or when the network of
    an untitled window or lesson changed — stepping through the demo alone never asks.
    ``confirmDiscard`` is off on the offscreen platform (tests turn it on and replace
    :func:`ask_save`).
    """

    pathChanged = QtCore.Signal(object)  # str or None
    lessonChanged = QtCore.Signal(object)  # Lesson or None
    modifiedChanged = QtCore.Signal(bool)
    recentChanged = QtCore.Signal()

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.controller = c = window.controller
        self.path: str | None = None
        self.lesson: Lesson | None = None
        self.confirmDiscard = QtGui.QGuiApplication.platformName() != "offscreen"
        self._reference = _snapshot_of(capture(c))
        self._modified = False
        self._baseTitle = window.windowTitle().replace("[*]", "")
        self._fixing = False
        for sig in (c.settingsChanged, c.stepChanged, c.revealAllChanged, c.selectedUnitChanged,
                    c.speedChanged, c.loadedChanged, c.layerChanged):
            sig.connect(self._refresh)
        window.windowTitleChanged.connect(self._fixTitle)
        window.installEventFilter(self)
        self._buildMenu()
        self._fixTitle(window.windowTitle())

    # ------------------------------------------------------------------ menu
    def _buildMenu(self) -> None:
        w = self.window
        file = _menu(w, "&File")
        first = file.actions()[0] if file.actions() else None
        for act in file.actions():
            if act.text().replace("&", "").startswith("Open weights"):
                act.setShortcut(QtGui.QKeySequence("Ctrl+Shift+O"))
        self.openAction = QtGui.QAction("&Open session…", w)
        self.openAction.setShortcut(QtGui.QKeySequence("Ctrl+O"))
        self.openAction.triggered.connect(self.openDialog)
        self.recentMenu = QtWidgets.QMenu("Open &recent", w)
        self.recentMenu.aboutToShow.connect(self._fillRecent)
        self.lessonsMenu = QtWidgets.QMenu("&Lessons", w)
        self.startAction = QtGui.QAction("S&tart page", w)
        self.saveAction = QtGui.QAction("&Save session", w)
        self.saveAction.setShortcut(QtGui.QKeySequence("Ctrl+S"))
        self.saveAction.triggered.connect(self.save)
        self.saveAsAction = QtGui.QAction("Save session &as…", w)
        self.saveAsAction.setShortcut(QtGui.QKeySequence("Ctrl+Shift+S"))
        self.saveAsAction.triggered.connect(lambda: self.saveAs())
        for item in (self.openAction, self.recentMenu, self.lessonsMenu, self.startAction, None,
                     self.saveAction, self.saveAsAction, None):
            if item is None:
                file.insertSeparator(first) if first else file.addSeparator()
            elif isinstance(item, QtWidgets.QMenu):
                file.insertMenu(first, item) if first else file.addMenu(item)
            else:
                file.insertAction(first, item) if first else file.addAction(item)
        for act in (self.openAction, self.saveAction, self.saveAsAction):
            w.addAction(act)  # shortcuts work while the menu bar is hidden (full screen)
            act.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)

    def _fillRecent(self) -> None:
        self.recentMenu.clear()
        files = [p for p in recent_files() if os.path.exists(p)]
        for p in files:
            act = self.recentMenu.addAction(os.path.basename(p), lambda p=p: self.open(p))
            act.setToolTip(p)
        if not files:
            self.recentMenu.addAction("(none yet)").setEnabled(False)

    # ------------------------------------------------------------------ state
    @property
    def modified(self) -> bool:
        return self._modified

    def displayName(self) -> str:
        if self.path:
            return os.path.basename(self.path)
        if self.lesson is not None:
            return f"the lesson “{self.lesson.title}”"
        return "this untitled session"

    def needsSaving(self) -> bool:
        if not self._modified:
            return False
        if self.path is not None:
            return True
        return not _same_state(_snapshot_of(capture(self.controller)), self._reference, upto=4)

    def _refresh(self, *_):
        modified = not _same_state(_snapshot_of(capture(self.controller)), self._reference)
        if modified != self._modified:
            self._modified = modified
            self.window.setWindowModified(modified)
            self.modifiedChanged.emit(modified)

    def _markSaved(self, data: SessionData) -> None:
        self._reference = _snapshot_of(data)
        self._refresh()

    def _desiredTitle(self) -> str:
        if self.path:
            return f"{os.path.basename(self.path)}[*] — rnnviz"
        if self.lesson is not None:
            return f"{self.lesson.title}[*] — rnnviz"
        return self._baseTitle + "[*]"

    def _fixTitle(self, title: str) -> None:
        if self._fixing:
            return
        if "[*]" not in title:  # the main window set its own title: keep it as the untitled one
            self._baseTitle = title
        want = self._desiredTitle()
        self._fixing = True
        try:
            if title != want:
                self.window.setWindowTitle(want)
            self.window.setWindowModified(self._modified)
        finally:
            self._fixing = False

    # ------------------------------------------------------------------ open
    def maybeSave(self, doing: str = "closing") -> bool:
        """True when it is fine to drop the current state (saved, discarded or nothing to save)."""
        if not self.confirmDiscard or not self.needsSaving():
            return True
        answer = ask_save(self.window, self.displayName(), doing)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def openDialog(self) -> bool:
        folder = os.path.dirname(self.path) if self.path else ""
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open session", folder, FILE_FILTER)
        return self.open(path) if path else False

    def open(self, path: str) -> bool:
        """Open a session file; on a bad file show a dialog and keep the current session."""
        if not self.maybeSave("opening another session"):
            return False
        try:
            data = load_session(path)
        except InputError as err:
            self.window.showError("Cannot open session", str(err))
            return False
        self.openData(data, path)
        return True

    def openLesson(self, name: str) -> bool:
        from .lessons import load_lesson

        if not self.maybeSave("opening a lesson"):
            return False
        try:
            data = load_lesson(name)
        except InputError as err:
            self.window.showError("Cannot open lesson", str(err))
            return False
        self.openData(data)
        return True

    def openData(self, data: SessionData, path: str | None = None) -> None:
        """Show validated ``data``; ``path`` is its file (None for a lesson: saving asks where)."""
        apply_session(self.controller, data)
        self.path = path
        self.lesson = data.lesson
        self._markSaved(data)
        self._fixTitle(self.window.windowTitle())
        if path:
            add_recent(path)
            self.recentChanged.emit()
        self.pathChanged.emit(path)
        self.lessonChanged.emit(self.lesson)

    # ------------------------------------------------------------------ save
    def save(self) -> bool:
        return self.saveAs(self.path) if self.path else self.saveAs()

    def saveAs(self, path: str | None = None) -> bool:
        if path is None:
            if self.path:
                suggested = self.path
            else:
                name = self.lesson.title if self.lesson else "session"
                safe = "".join(ch if ch.isalnum() or ch in "-_ " else "-" for ch in name).strip() or "session"
                suggested = safe + SUFFIX
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Save session", suggested, FILE_FILTER)
            if not path:
                return False
            if not path.lower().endswith(SUFFIX):
                path += SUFFIX
        data = capture(self.controller, self.lesson)
        try:
            blob = dumps_session(data)
        except InputError as err:
            self.window.showError("Cannot save session", f"{path}: {err}")
            return False
        f = QtCore.QSaveFile(path)
        ok = f.open(QtCore.QIODevice.OpenModeFlag.WriteOnly) and f.write(blob) == len(blob) and f.commit()
        if not ok:
            reason = f.errorString() or "unknown error"
            f.cancelWriting()
            self.window.showError("Cannot save session", f"{path}: cannot write ({reason})")
            return False
        self.path = path
        self._markSaved(data)
        self._fixTitle(self.window.windowTitle())
        add_recent(path)
        self.recentChanged.emit()
        self.pathChanged.emit(path)
        return True

    # ------------------------------------------------------------------ events
    def eventFilter(self, obj, event) -> bool:
        if obj is self.window:
            t = event.type()
            if t == QtCore.QEvent.Type.Close:
                if not self.maybeSave("closing"):
                    event.ignore()
                    return True
            elif t == QtCore.QEvent.Type.Drop:
                urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
                if urls and urls[0].lower().endswith(SUFFIX):
                    self.open(urls[0])
                    event.acceptProposedAction()
                    return True
        return False


def _menu(window, title: str) -> QtWidgets.QMenu:
    """The menu bar's menu called ``title`` (ampersands ignored), created if missing."""
    bare = title.replace("&", "")
    for act in window.menuBar().actions():
        if act.menu() is not None and act.text().replace("&", "") == bare:
            return act.menu()
    return window.menuBar().addMenu(title)
