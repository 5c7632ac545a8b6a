"""Session files (``.rnnviz``): the JSON reader and writer. No Qt, and no knowledge of the app's settings.

A session is human-readable JSON::

    {
      "format": "rnnviz-session",
      "version": 1,
      "lesson": null,                         # or {"title": …, "summary": …, "text": …}
      "settings": {…every Settings field…},   # tuples written as lists
      "model": {"source": "built-in", "cells": [ {key, kind, …, W_ih, W_hh, b_ih, b_hh} ]}
             # or {"source": "loaded", "name": "m.pt", "layer": -1, "layers": [ … ]}
      "input": {"xs": [[x_1], [x_2], …]},     # one row per step, D numbers each
      "view": {"t": 1, "reveal_all": false, "unit": 0, "speed": 4.0},   # optional "panel": "stateSpacePanel"
      "training": {…}                         # optional: the Train mode (see below)
    }

The optional ``training`` section holds the Train mode: ``config`` (an object of numbers, text,
true/false and lists of numbers: the app's training settings), ``mode`` ("explore" or "train":
which the window shows), ``updates`` (how many updates the models have had) and ``models``
(cell key → parameters in PyTorch's names, ``rnn.weight_ih_l0`` … ``fc.bias``, each a matrix
or a list of numbers). This module checks its structure and numbers; what the settings mean is
the schema's ``training`` hook (core.training).

``t`` is 1-based, as the window shows it. ``panel`` (optional) names a panel the window brings
to the front of its tab group (a lesson about the state space opens on it); absent means none. Built-in cells are written after the per-entry
overrides and before the group sliders, so the file documents every number; a loaded model is
written as its raw layers (the overrides and sliders in ``settings`` apply on top, as in the
window). Floats are written with ``repr`` and read back exactly, so save → open → save gives
the same bytes.

The reader checks the document's structure and numbers (types, ranges, shapes, finiteness,
duplicates, unknown fields, the version) and raises :class:`InputError` with one line naming
the file. What the settings *are* comes from the caller as a :class:`SettingsSchema`: the field
names with their types, limits and choices, and the few derived values a document is checked
against (the built-in cells, the generated input). ``rnnviz.core.session`` supplies the app's.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

import numpy as np

from ..engine.activations import ACTIVATIONS
from ..engine.bidirectional import MERGE_MODES, Bidirectional, BidirectionalStack, layers_of
from ..engine.cells import CELL_KINDS, Cell, Stack, as_stack
from ..engine.errors import InputError
from .limits import MAX_LAYERS, check_json, open_regular, printable, read_at_most, reason, shown, size_text

FORMAT = "rnnviz-session"
VERSION = 1
SUFFIX = ".rnnviz"
#: Files larger than this are refused before parsing (an 8-layer LSTM at H = 256 is ≈ 95 MB).
MAX_BYTES = 128 * 1024 * 1024
#: Text lengths, in characters: the lesson's title, summary and text, and a loaded model's name.
MAX_TITLE = 200
MAX_SUMMARY = 1000
MAX_TEXT = 20_000
MAX_NAME = 4096
MAX_PANEL = 100  # view.panel: a panel id
#: Magnitude limits: beyond them float32 arithmetic in the engine overflows before it starts.
MAX_SETTING = 1e6
MAX_CELL_SIZE = 4096  # an LSTM's cell width behind a projection (W_hr)
MAX_NUMBER = 1e30
PARAMS = ("W_ih", "W_hh", "b_ih", "b_hh")
SPEED_RANGE = (0.5, 30.0)  # controller.SPEED_RANGE, repeated so this module needs no Qt
#: The settings fields of version 1, all required. Fields added later are optional, typed by their default.
V1_SETTINGS = ("cell", "hidden_size", "input_size", "seed", "input_scale", "recurrent_scale", "bias_shift",
               "forget_bias", "update_bias", "T", "signal", "amplitude", "period", "custom", "overrides",
               "backward", "single_bias")


@dataclass(frozen=True)
class Field:
    """One settings field as the schema describes it.

    ``kind`` is "int" (``limits`` (lo, hi)), "float" (``limits`` or ±MAX_SETTING), "bool",
    "choice" (``choices``: value → label), "rows" (``custom``: rows of input_size numbers),
    "entries" (``overrides``: ((param, row, col), value) pairs) or "text" (at most MAX_TEXT
    characters). ``default`` is the value a document of an older version gets, and types a
    field version 1 did not have. ``builtin`` (an "int"'s optional (lo, hi)) is the narrower
    range a built-in cell keeps: ``limits`` is then what a loaded model may have (a trained
    text model's input size is its vocabulary).
    """

    kind: str
    default: Any = None
    limits: tuple | None = None
    choices: Mapping[str, str] = dataclasses.field(default_factory=dict)
    builtin: tuple | None = None


class SettingsSchema(Protocol):
    """What the reader and writer need to know about the app's settings.

    ``values`` are plain dicts with one entry per field (tuples for "rows" and "entries").
    """

    fields: Mapping[str, Field]  # in document order

    def make(self, values: dict) -> Any:
        """The app's settings object from validated values."""

    def plain(self, settings: Any) -> dict:
        """The values of the app's settings object."""

    def kinds(self, values: dict) -> list[str]:
        """The keys of the built-in cells that run (several in Compare mode)."""

    def gate_blocks(self, values: dict) -> int:
        """G of the G·H-row weight matrices the per-entry overrides index."""

    def base_cell(self, key: str, values: dict) -> Cell:
        """The built-in cell ``key`` the settings give, overrides applied, group sliders not."""

    def inputs(self, values: dict) -> np.ndarray:
        """The (T, D) input sequence the settings generate."""

    def key_of(self, cell: Cell) -> str:
        """The ``cell`` setting that shows a loaded ``cell``."""

    # Optional, for the "training" section: ``training(plain)`` makes the app's value from the
    # checked plain dict (raising ValueError for what it cannot accept) and ``training_plain``
    # turns it back into {"config", "mode", "updates", "models"}.


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

    settings: Any  # the app's settings object (what the schema's make returns)
    loaded: Cell | Stack | None = None
    loaded_name: str | None = None
    layer: int = -1
    step: int = 0
    reveal_all: bool = False
    unit: int = 0
    speed: float = 4.0
    lesson: Lesson | None = None
    panel: str | None = None  # a panel id to bring to the front (view.panel), or None
    #: The Train mode, as the schema's ``training`` hook made it from the document (None: none).
    training: Any = None
    #: A loaded file's whole model (io.weights.WholeModel: its embedding, head and vocabulary
    #: around ``loaded``), or None.
    whole: Any = None

    def replace(self, **changes) -> "SessionData":
        return dataclasses.replace(self, **changes)


# ====================================================================== writing
def to_document(data: SessionData, schema: SettingsSchema) -> dict:
    """The JSON document (plain dicts and lists) for ``data``. Raises InputError on non-finite numbers."""
    s = schema.plain(data.settings)
    doc = {"format": FORMAT, "version": VERSION, "lesson": None}
    if data.lesson is not None:
        lesson = {"title": data.lesson.title}
        if data.lesson.summary:
            lesson["summary"] = data.lesson.summary
        lesson["text"] = data.lesson.text
        doc["lesson"] = lesson
    doc["settings"] = _settings_doc(s, schema)
    if data.loaded is None:
        cells = [_cell_doc(schema.base_cell(key, s), key) for key in schema.kinds(s)]
        doc["model"] = {"source": "built-in", "cells": cells}
    elif isinstance(data.loaded, BidirectionalStack):
        doc["model"] = {"source": "loaded", "name": data.loaded_name, "layer": int(data.layer),
                        "bidirectional_layers": [{"merge_mode": b.merge_mode, "forward": _cell_doc(b.forward),
                                                  "backward": _cell_doc(b.backward)} for b in data.loaded.layers]}
    elif isinstance(data.loaded, Bidirectional):
        b = data.loaded
        doc["model"] = {"source": "loaded", "name": data.loaded_name, "merge_mode": b.merge_mode,
                        "directions": {"forward": None if b.forward is None else _cell_doc(b.forward),
                                       "backward": _cell_doc(b.backward)}}
    else:
        layers = [_cell_doc(c) for c in as_stack(data.loaded).layers]
        doc["model"] = {"source": "loaded", "name": data.loaded_name, "layer": int(data.layer), "layers": layers}
    if data.loaded is not None and data.whole is not None and data.whole.whole:
        doc["model"]["whole"] = _whole_doc(data.whole)
    doc["input"] = {"xs": _rows(schema.inputs(s))}
    doc["view"] = {"t": int(data.step) + 1, "reveal_all": bool(data.reveal_all), "unit": int(data.unit),
                   "speed": float(data.speed)}
    if data.panel is not None:
        doc["view"]["panel"] = str(data.panel)
    if data.training is not None:
        doc["training"] = _training_doc(schema.training_plain(data.training))
    _check_finite(doc)
    return doc


def dumps_session(data: SessionData, schema: SettingsSchema) -> bytes:
    """The file's bytes: UTF-8 JSON, one matrix row per line, floats exact (repr)."""
    return (_pretty(to_document(data, schema)) + "\n").encode("utf-8")


def save_session(path, data: SessionData, schema: SettingsSchema) -> None:
    """Write ``data`` to ``path`` atomically (the old file stays whole on any error)."""
    from .atomic import atomic_write

    blob = dumps_session(data, schema)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(blob)

    atomic_write(path, write, suffix=SUFFIX)


def _settings_doc(s: dict, schema: SettingsSchema) -> dict:
    out = {}
    for name, f in schema.fields.items():
        v = s[name]
        if f.kind == "text" and v == f.default:
            continue  # optional: only a run that reads text has one
        if f.kind == "rows":
            v = [[float(x) for x in row] for row in v]
        elif f.kind == "entries":
            v = [{"param": p, "row": int(r), "col": int(c), "value": float(val)} for (p, r, c), val in v]
        elif isinstance(f.default, bool):
            v = bool(v)
        elif isinstance(f.default, int):
            v = int(v)
        elif isinstance(f.default, float):
            v = float(v)
        elif isinstance(v, tuple):
            v = list(v)
        out[name] = v
    return out


def _cell_doc(cell: Cell, key: str | None = None) -> dict:
    out = {} if key is None else {"key": key}
    out.update(kind=cell.kind, nonlinearity=cell.nonlinearity, recurrent_activation=cell.recurrent_activation,
               reset_after=bool(cell.reset_after), recurrent_bias=bool(cell.recurrent_bias))
    for name in PARAMS:
        arr = getattr(cell, name)
        out[name] = _rows(arr) if arr.ndim == 2 else [float(v) for v in arr]
    if getattr(cell, "W_hr", None) is not None:  # PyTorch's proj_size: h = W_hr (o ⊙ tanh c)
        out["W_hr"] = _rows(cell.W_hr)
    # Keras extras a weights file gave (io.weights.FileCell), written only when set.
    if getattr(cell, "go_backwards", False):
        out["go_backwards"] = True
    if getattr(cell, "mask_value", None) is not None:
        out["mask_value"] = float(cell.mask_value)
    return out


def _whole_doc(whole) -> dict:
    """A file's embedding, head and vocabulary (the parts of a whole model around its recurrent
    layers); each part only when the file had it."""
    out: dict = {}
    if whole.embedding is not None:
        out["embedding"] = {"weight": _rows(whole.embedding.weight), "mask_zero": bool(whole.embedding.mask_zero)}
        if whole.pad_value is not None:
            out["embedding"]["pad_value"] = float(whole.pad_value)
    if whole.head is not None:
        out["head"] = {"W_hy": _rows(whole.head.W_hy), "b_y": [float(v) for v in whole.head.b_y],
                       "activation": whole.head.activation}
    if whole.vocab is not None:
        v = whole.vocab
        out["vocab"] = {"tokens": list(v.tokens), "oov": v.oov, "source": v.source, "lower": bool(v.lower),
                        "strip_punctuation": bool(v.strip_punctuation), "per_char": bool(v.per_char)}
    out["last_only"] = bool(whole.last_only)
    out["names"] = [n if isinstance(n, str) else None for n in whole.names]
    return out


def _training_doc(t: dict) -> dict:
    """``{"config", "mode", "updates", "models"}`` with arrays as lists (matrices as rows)."""
    config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in t["config"].items()}
    models = {key: {name: (_rows(a) if np.ndim(a) == 2 else [float(x) for x in np.ravel(a)])
                    for name, a in params.items()} for key, params in t.get("models", {}).items()}
    return {"config": config, "mode": t.get("mode", "train"), "updates": int(t.get("updates", 0)), "models": models}


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
def load_session(path, schema: SettingsSchema) -> SessionData:
    """Read and validate a session file. Raises InputError (one line naming the file)."""
    path = os.fspath(path)
    try:
        fh = open_regular(path, "session file")
    except InputError as err:  # sessions have always said "cannot read (…)"
        p = err.problem
        why = "No such file or directory" if p == "no such file" else \
            p[len("cannot open ("):-1] if p.startswith("cannot open (") else "it " + p
        raise InputError(f"cannot read ({why})", shown(path)) from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_BYTES:
            raise InputError(f"too large for a session ({size_text(size)}; at most {size_text(MAX_BYTES)})",
                             shown(path))
        try:
            blob = read_at_most(fh, MAX_BYTES, "the session", path)
        except OSError as err:
            raise InputError(f"cannot read ({reason(err)})", shown(path)) from None
    return loads_session(blob, path, schema=schema)


def is_session_file(path) -> bool:
    """True for a ``.rnnviz`` name, or a file that starts like JSON (no weights format does).

    Lets ``rnnviz FILE`` and ``rnnviz render FILE`` tell sessions from weights.
    """
    path = os.fspath(path)
    if path.lower().endswith(SUFFIX):
        return True
    try:
        with open_regular(path) as fh:  # never blocks on a FIFO
            head = fh.read(64)
    except (OSError, InputError):
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def loads_session(blob: bytes, path: str | None = None, *, schema: SettingsSchema) -> SessionData:
    """Parse and validate a session from bytes; ``path`` names it in error messages."""
    try:
        return _Reader(path, schema).read(blob)
    except _Problem as p:
        raise InputError(printable(str(p)), None if path is None else shown(path)) from None
    except InputError as err:
        raise InputError(printable(err.problem), None if path is None else shown(path)) from None


class _Problem(Exception):
    pass


class _Reader:
    def __init__(self, path, schema: SettingsSchema):
        self.path = path
        self.schema = schema
        self._whole = None  # model.whole, once model() has read it

    # ------------------------------------------------------------------ parse
    def read(self, blob: bytes) -> SessionData:
        if len(blob) > MAX_BYTES:
            raise _Problem(f"too large for a session (at most {size_text(MAX_BYTES)})")
        try:
            text = blob.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _Problem("not an rnnviz session (not UTF-8 text)") from None
        # Nesting, objects and values are bounded before json builds anything.
        check_json(blob, "the session", None)
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
        self.known(doc, "", ("format", "version", "lesson", "settings", "model", "input", "view", "training"))
        lesson = self.lesson(self.field(doc, "lesson", "lesson"))
        settings = self.settings(self.obj(doc, "settings"))
        loaded, name, layer, settings = self.model(self.obj(doc, "model"), settings)
        settings = self.inputs(self.obj(doc, "input"), settings)
        view = self.obj(doc, "view")
        self.known(view, "view", ("t", "reveal_all", "unit", "speed", "panel"))
        t = self.integer(view, "t", "view.t", 1, settings["T"])
        reveal = self.boolean(view, "reveal_all", "view.reveal_all")
        H = settings["hidden_size"] if loaded is None else layers_of(loaded).layers[layer].hidden_size
        unit = self.integer(view, "unit", "view.unit", 0, H - 1)
        speed = self.number(view, "speed", "view.speed", *SPEED_RANGE)
        panel = None
        if "panel" in view:
            panel = self.string(view, "panel", "view.panel", MAX_PANEL)
            if not panel.isidentifier():
                raise _Problem(f"view.panel must be a panel's id (letters, digits, _), not {_short(panel)}")
        training = self.training(doc["training"]) if "training" in doc else None
        return SessionData(self.schema.make(settings), loaded, name, layer, t - 1, reveal, unit, speed, lesson,
                           panel, training, self._whole)

    def training(self, v):
        """The structure and numbers of the training section, then the schema's meaning of it."""
        hook = getattr(self.schema, "training", None)
        if hook is None:
            raise _Problem("this rnnviz cannot read a 'training' section")
        if not isinstance(v, dict):
            raise _Problem("'training' must be an object")
        self.known(v, "training", ("config", "mode", "updates", "models"))
        config = self.field(v, "config", "training.config")
        if not isinstance(config, dict):
            raise _Problem("training.config must be an object")
        plain = {}
        for k, x in config.items():
            where = f"training.config.{k}"
            if isinstance(x, str):
                plain[k] = self.string(config, k, where, MAX_TEXT)
            elif isinstance(x, bool):
                plain[k] = x
            elif _is_number(x):
                plain[k] = x if _is_int(x) else self.number(config, k, where, -MAX_SETTING, MAX_SETTING)
            elif isinstance(x, list):
                if len(x) > self.max_T:
                    raise _Problem(f"{where} has {len(x)} numbers; at most {self.max_T}")
                plain[k] = tuple(self.vector(x, where).tolist()) if x else ()
            else:
                raise _Problem(f"{where} has the wrong type ({_short(x)})")
        mode = self.choice(v, "mode", "training.mode", ("explore", "train")) if "mode" in v else "train"
        updates = self.integer(v, "updates", "training.updates", 0, 10**9) if "updates" in v else 0
        models = {}
        raw = v.get("models", {})
        if not isinstance(raw, dict) or len(raw) > 8:
            raise _Problem("training.models must be an object of at most 8 models")
        for key, params in raw.items():
            where = f"training.models.{key}"
            if not isinstance(params, dict) or not params or len(params) > 4 * MAX_LAYERS + 2:
                raise _Problem(f"{where} must be an object of parameters (PyTorch names)")
            arrays = {}
            for name, a in params.items():
                w = f"{where}.{name}"
                if not isinstance(a, list):
                    raise _Problem(f"{w} must be a matrix or a list of numbers")
                arrays[name] = self.matrix(a, w, weights=True) if a and isinstance(a[0], list) else self.vector(a, w)
            models[key] = arrays
        try:
            return hook({"config": plain, "mode": mode, "updates": updates, "models": models})
        except ValueError as err:
            raise _Problem(f"training: {err}") from None

    # ------------------------------------------------------------------ sections
    def lesson(self, v) -> Lesson | None:
        if v is None:
            return None
        if not isinstance(v, dict):
            raise _Problem("'lesson' must be null or an object with a title and a text")
        self.known(v, "lesson", ("title", "summary", "text"))
        title = self.string(v, "title", "lesson.title", MAX_TITLE)
        text = self.string(v, "text", "lesson.text", MAX_TEXT)
        summary = self.string(v, "summary", "lesson.summary", MAX_SUMMARY) if "summary" in v else ""
        return Lesson(title, text, summary)

    def settings(self, d: dict) -> dict:
        fields = self.schema.fields
        self.known(d, "settings", tuple(fields))
        out = {}
        for name, f in fields.items():
            where = f"settings.{name}"
            if f.kind == "text":  # added after version 1: optional
                out[name] = self.string(d, name, where, MAX_TEXT) if name in d else f.default
            elif name not in V1_SETTINGS:  # added after version 1: optional, typed by its default
                out[name] = self.plain(d[name], type(f.default), where) if name in d else f.default
            elif f.kind == "int":
                out[name] = self.integer(d, name, where, *f.limits)
            elif f.kind == "choice":
                out[name] = self.choice(d, name, where, f.choices)
            elif f.kind in ("rows", "entries"):
                continue  # need the sizes first
            elif f.kind == "bool":
                out[name] = self.boolean(d, name, where)
            else:
                out[name] = self.number(d, name, where, *(f.limits or (-MAX_SETTING, MAX_SETTING)))
        D = out["input_size"]
        rows = self.field(d, "custom", "settings.custom")
        out["custom"] = tuple(tuple(r) for r in self.matrix(rows, "settings.custom", cols=D, allow_empty=True,
                                                            max_rows=self.max_T).tolist())
        out["overrides"] = self.overrides(self.field(d, "overrides", "settings.overrides"), out)
        return out

    @property
    def max_T(self) -> int:
        return self.schema.fields["T"].limits[1]

    def overrides(self, v, s: dict) -> tuple:
        if not isinstance(v, list):
            raise _Problem("settings.overrides must be a list")
        if v and len(self.schema.kinds(s)) > 1:
            raise _Problem("settings.overrides must be empty in Compare mode")
        G = self.schema.gate_blocks(s)
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

    def model(self, d: dict, s: dict):
        source = self.choice(d, "source", "model.source", ("built-in", "loaded"))
        if source == "built-in":
            self.known(d, "model", ("source", "cells"))
            return self.builtin(d, s)
        self.known(d, "model", ("source", "name", "layer", "layers", "directions", "merge_mode", "whole",
                                "bidirectional_layers"))
        if len(self.schema.kinds(s)) > 1:
            raise _Problem("a loaded model cannot be shown in Compare mode (settings.cell)")
        name = self.field(d, "name", "model.name")
        if name is not None and not (isinstance(name, str) and _encodable(name) and len(name) <= MAX_NAME):
            raise _Problem("model.name must be a file name or null")
        if "bidirectional_layers" in d:
            model, layer = self.bidirectional_stack(d, s)
            self._whole = self.whole(d["whole"], model, s) if "whole" in d else None
            return model, name, layer, s
        if "directions" in d:
            model = self.bidirectional(d, s)
            self._whole = self.whole(d["whole"], model, s) if "whole" in d else None
            return model, name, -1, s
        layers = self.field(d, "layers", "model.layers")
        if not isinstance(layers, list) or not layers:
            raise _Problem("model.layers must be a non-empty list of cells")
        if len(layers) > MAX_LAYERS:
            raise _Problem(f"model.layers lists {len(layers)} layers; at most {MAX_LAYERS}")
        cells, D = [], s["input_size"]
        for k, item in enumerate(layers):
            last = k == len(layers) - 1
            label = f"layer {k}: " if len(layers) > 1 else ""
            cell = self.cell(item, f"model.layers[{k}]", label, D, s["hidden_size"] if last else None)
            cells.append(cell)
            D = cell.hidden_size
        n = len(cells)
        layer = self.integer(d, "layer", "model.layer", -n, n - 1)
        key = self.schema.key_of(cells[-1])
        if s["cell"] != key:
            raise _Problem(f"settings.cell is {s['cell']!r} but the loaded model is {key!r}")
        if s["overrides"] and n > 1:
            raise _Problem("settings.overrides need a single-layer model")
        if any(p == "b_hh" for (p, _r, _c), _v in s["overrides"]) and not cells[0].recurrent_bias:
            raise _Problem("settings.overrides set b_hh, but the model has a single bias")
        model = cells[0] if n == 1 else Stack(tuple(cells))
        self._whole = self.whole(d["whole"], model, s) if "whole" in d else None
        return model, name, layer, s

    def whole(self, v, rnn, s: dict):
        """``model.whole``: the embedding (V, D), the head (O, H) and the vocabulary of a whole
        model around the loaded recurrent layers, checked against their widths."""
        from ..engine.embedding import Embedding
        from ..engine.train.output import OUTPUT_ACTIVATIONS, Output
        from .limits import MAX_VOCAB
        from .weights.whole import WholeModel

        if not isinstance(v, dict):
            raise _Problem("model.whole must be an object")
        self.known(v, "model.whole", ("embedding", "head", "vocab", "last_only", "names"))
        stack = layers_of(rnn)
        embedding = head = vocab = pad = None
        if "embedding" in v:
            e = v["embedding"]
            if not isinstance(e, dict):
                raise _Problem("model.whole.embedding must be an object")
            self.known(e, "model.whole.embedding", ("weight", "mask_zero", "pad_value"))
            E = self.matrix(self.field(e, "weight", "model.whole.embedding.weight"), "model.whole.embedding.weight",
                            max_rows=MAX_VOCAB, weights=True)
            if E.shape[1] != stack.input_size:
                raise _Problem(f"model.whole.embedding.weight rows have {E.shape[1]} numbers; the first layer "
                               f"reads {stack.input_size}")
            mask_zero = self.boolean(e, "mask_zero", "model.whole.embedding.mask_zero")
            if "pad_value" in e:
                pad = self.number(e, "pad_value", "model.whole.embedding.pad_value", -MAX_NUMBER, MAX_NUMBER)
            embedding = Embedding(E, mask_zero)
        if "head" in v:
            h = v["head"]
            if not isinstance(h, dict):
                raise _Problem("model.whole.head must be an object")
            self.known(h, "model.whole.head", ("W_hy", "b_y", "activation"))
            W = self.matrix(self.field(h, "W_hy", "model.whole.head.W_hy"), "model.whole.head.W_hy",
                            max_rows=MAX_VOCAB, weights=True)
            H = getattr(rnn, "hidden_size", stack.layers[-1].hidden_size)
            if W.shape[1] != H:
                raise _Problem(f"model.whole.head.W_hy rows have {W.shape[1]} numbers; the last layer's h has {H}")
            b = self.vector(self.field(h, "b_y", "model.whole.head.b_y"), "model.whole.head.b_y")
            if b.shape != (W.shape[0],):
                raise _Problem(f"model.whole.head.b_y has {b.size} numbers; W_hy has {W.shape[0]} rows")
            head = Output(W, b, self.choice(h, "activation", "model.whole.head.activation", OUTPUT_ACTIVATIONS))
        if "vocab" in v:
            vocab = self.vocabulary(v["vocab"], MAX_VOCAB)
            if embedding is not None and vocab.size > embedding.vocab_size:
                raise _Problem(f"model.whole.vocab has {vocab.size} tokens; the embedding has "
                               f"{embedding.vocab_size} rows")
        last_only = self.boolean(v, "last_only", "model.whole.last_only") if "last_only" in v else False
        names = v.get("names", [None, None])
        if (not isinstance(names, list) or len(names) != 2
                or not all(n is None or (isinstance(n, str) and len(n) <= MAX_NAME) for n in names)):
            raise _Problem("model.whole.names must be two layer names (or nulls)")
        return WholeModel(rnn, embedding, head, vocab, last_only, tuple(names), pad)

    def vocabulary(self, v, limit: int):
        from .vocab import Vocabulary

        if not isinstance(v, dict):
            raise _Problem("model.whole.vocab must be an object")
        self.known(v, "model.whole.vocab", ("tokens", "oov", "source", "lower", "strip_punctuation", "per_char"))
        tokens = self.field(v, "tokens", "model.whole.vocab.tokens")
        if not isinstance(tokens, list) or not tokens or len(tokens) > limit:
            raise _Problem(f"model.whole.vocab.tokens must be a list of 1 to {limit:,} tokens")
        if not all(t is None or (isinstance(t, str) and len(t) <= MAX_NAME and _encodable(t)) for t in tokens):
            raise _Problem("model.whole.vocab.tokens must hold strings (or null for an unnamed id)")
        oov = v.get("oov")
        if oov is not None and not (_is_int(oov) and 0 <= oov < len(tokens)):
            raise _Problem(f"model.whole.vocab.oov must be an id below {len(tokens)} or null")
        flags = {k: self.boolean(v, k, f"model.whole.vocab.{k}") for k in ("lower", "strip_punctuation", "per_char")
                 if k in v}
        source = v.get("source", "the vocabulary")
        if not (isinstance(source, str) and len(source) <= MAX_NAME and _encodable(source)):
            raise _Problem("model.whole.vocab.source must be a short text")
        return Vocabulary(tuple(tokens), oov, source, **flags)

    def bidirectional_stack(self, d: dict, s: dict):
        """Bidirectional layers in a row: ``bidirectional_layers`` [{forward, backward, merge_mode}, …]
        (layer k+1 reads layer k's merged output), and the traced ``layer``."""
        if "layers" in d or "directions" in d:
            raise _Problem("model has bidirectional_layers and also layers or directions; give one of them")
        items = self.field(d, "bidirectional_layers", "model.bidirectional_layers")
        if not isinstance(items, list) or not 2 <= len(items) <= MAX_LAYERS:
            raise _Problem(f"model.bidirectional_layers must list 2 to {MAX_LAYERS} layers")
        layers, D = [], s["input_size"]
        n = len(items)
        layer = self.integer(d, "layer", "model.layer", -n, n - 1)
        for k, item in enumerate(items):
            where = f"model.bidirectional_layers[{k}]"
            if not isinstance(item, dict):
                raise _Problem(f"{where} must be an object {{forward, backward, merge_mode}}")
            self.known(item, where, ("forward", "backward", "merge_mode"))
            mode = self.choice(item, "merge_mode", f"{where}.merge_mode", MERGE_MODES)
            H = s["hidden_size"] if k == n - 1 else None
            pair = [self.cell(self.field(item, name, f"{where}.{name}"), f"{where}.{name}", f"layer {k} {name}: ", D, H)
                    for name in ("forward", "backward")]
            try:
                layers.append(Bidirectional(pair[0], pair[1], mode))
            except ValueError as exc:
                raise _Problem(f"{where}: {exc}") from None
            D = layers[-1].hidden_size
        try:
            model = BidirectionalStack(tuple(layers))
        except ValueError as exc:
            raise _Problem(f"model.bidirectional_layers: {exc}") from None
        key = self.schema.key_of(model.layers[-1].backward)
        if s["cell"] != key:
            raise _Problem(f"settings.cell is {s['cell']!r} but the loaded model is {key!r}")
        if s["overrides"]:
            raise _Problem("settings.overrides need a single-layer model, not a bidirectional one")
        return model, layer

    def bidirectional(self, d: dict, s: dict) -> Bidirectional:
        """A bidirectional layer: ``directions`` {forward: cell or null, backward: cell} and its
        ``merge_mode`` (how the frameworks merge the two h; the views show each direction)."""
        if "layers" in d or "layer" in d:
            raise _Problem("model has both directions and layers; a bidirectional model is one layer")
        dirs = self.field(d, "directions", "model.directions")
        if not isinstance(dirs, dict):
            raise _Problem("model.directions must be an object {forward, backward}")
        self.known(dirs, "model.directions", ("forward", "backward"))
        mode = self.choice(d, "merge_mode", "model.merge_mode", MERGE_MODES)
        H, D = s["hidden_size"], s["input_size"]
        back = self.cell(self.field(dirs, "backward", "model.directions.backward"), "model.directions.backward",
                         "backward direction: ", D, H)
        fwd = dirs.get("forward")
        if fwd is not None:
            fwd = self.cell(fwd, "model.directions.forward", "forward direction: ", D, H)
        key = self.schema.key_of(back)
        if s["cell"] != key or (fwd is not None and self.schema.key_of(fwd) != key):
            raise _Problem(f"settings.cell is {s['cell']!r} but the directions are "
                           f"{', '.join(repr(self.schema.key_of(c)) for c in (fwd, back) if c is not None)}")
        if s["overrides"]:
            raise _Problem("settings.overrides need a single-layer model, not a bidirectional one")
        try:
            return Bidirectional(fwd, back, mode)
        except ValueError as exc:
            raise _Problem(f"model.directions: {exc}") from None

    def builtin(self, d: dict, s: dict):
        for name, f in self.schema.fields.items():  # before any built-in cell is made
            if f.builtin is not None and not f.builtin[0] <= s[name] <= f.builtin[1]:
                raise _Problem(f"settings.{name} = {s[name]} is out of range for a built-in cell "
                               f"({f.builtin[0]} … {f.builtin[1]}); only a loaded model may be larger")
        items = self.field(d, "cells", "model.cells")
        keys = self.schema.kinds(s)
        if not isinstance(items, list) or len(items) != len(keys):
            raise _Problem(f"model.cells must list {len(keys)} cell{'s' if len(keys) > 1 else ''} "
                           f"({', '.join(keys)}) for settings.cell {s['cell']!r}")
        stored, mismatch = [], False
        for k, (item, key) in enumerate(zip(items, keys)):
            where = f"model.cells[{k}]"
            label = f"{self.schema.fields['cell'].choices[key]} cell: " if len(keys) > 1 else ""
            if not isinstance(item, dict):
                raise _Problem(f"{where} must be an object")
            if self.field(item, "key", f"{where}.key") != key:
                raise _Problem(f"{where}.key must be {key!r} for settings.cell {s['cell']!r}")
            cell = self.cell(item, where, label, s["input_size"], s["hidden_size"], extra=("key",))
            expected = self.schema.base_cell(key, s)
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
                dict(s, cell=self.schema.key_of(cell), overrides=())
        return None, None, -1, s

    def cell(self, d, where: str, label: str, D: int, H: int | None, extra=()) -> Cell:
        if not isinstance(d, dict):
            raise _Problem(f"{where} must be an object")
        self.known(d, where, extra + ("kind", "nonlinearity", "recurrent_activation", "reset_after",
                                      "recurrent_bias", "go_backwards", "mask_value", "W_hr") + PARAMS)
        kind = self.choice(d, "kind", f"{where}.kind", tuple(CELL_KINDS))
        nl = self.choice(d, "nonlinearity", f"{where}.nonlinearity", tuple(ACTIVATIONS))
        ra = self.choice(d, "recurrent_activation", f"{where}.recurrent_activation", tuple(ACTIVATIONS))
        reset_after = self.boolean(d, "reset_after", f"{where}.reset_after")
        recurrent_bias = self.boolean(d, "recurrent_bias", f"{where}.recurrent_bias")
        G = CELL_KINDS[kind].blocks
        W_hh = self.matrix(self.field(d, "W_hh", f"{where}.W_hh"), f"{label}W_hh", weights=True)
        if H is None:  # an inner layer of a stack: its own W_hh says how wide it is
            H = W_hh.shape[1]
            max_H = self.schema.fields["hidden_size"].limits[1]
            if not 1 <= H <= max_H:
                raise _Problem(f"{label}W_hh has shape {W_hh.shape}; hidden sizes go up to {max_H}")
        arrays = {"W_hh": W_hh}
        C = H  # the cell's own width; with a projection W_hr (P = H, C) it is W_hr's
        if "W_hr" in d:
            if not CELL_KINDS[kind].projection:
                raise _Problem(f"{label}W_hr (a projection) is an LSTM's; this cell is a {kind}")
            W_hr = arrays["W_hr"] = self.matrix(d["W_hr"], f"{label}W_hr", weights=True)
            if W_hr.shape[0] != H:
                raise _Problem(f"{label}W_hr has shape {_shape(W_hr.shape)}; expected ({H}, cell size)")
            C = W_hr.shape[1]
            if not 1 <= C <= MAX_CELL_SIZE:
                raise _Problem(f"{label}W_hr has shape {_shape(W_hr.shape)}; cell sizes go up to {MAX_CELL_SIZE}")
        expect = {"W_ih": (G * C, D), "W_hh": (G * C, H), "b_ih": (G * C,), "b_hh": (G * C,)}
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
        keras = {}
        if "go_backwards" in d:
            keras["go_backwards"] = self.boolean(d, "go_backwards", f"{where}.go_backwards")
        if "mask_value" in d:
            keras["mask_value"] = self.number(d, "mask_value", f"{where}.mask_value", -1e30, 1e30)
        try:
            if keras:
                from .weights.common import FileCell

                return FileCell(kind, nonlinearity=nl, recurrent_activation=ra, reset_after=reset_after,
                                recurrent_bias=recurrent_bias, **arrays, **keras)
            return Cell(kind, nonlinearity=nl, recurrent_activation=ra, reset_after=reset_after,
                        recurrent_bias=recurrent_bias, **arrays)
        except ValueError as err:  # every check above should have caught it first
            raise _Problem(f"{label}{err}") from None

    def inputs(self, d: dict, s: dict) -> dict:
        self.known(d, "input", ("xs",))
        xs = self.matrix(self.field(d, "xs", "input.xs"), "input.xs", cols=s["input_size"],
                         max_rows=self.max_T)
        if xs.shape[0] != s["T"]:
            raise _Problem(f"input.xs has {xs.shape[0]} rows; settings.T is {s['T']}")
        if np.array_equal(xs, self.schema.inputs(s)):
            return s
        # The numbers in the file win over the signal that would regenerate them.
        return dict(s, signal="custom", custom=tuple(tuple(r) for r in xs.tolist()))

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

    def string(self, d, key, where, limit: int) -> str:
        v = self.field(d, key, where)
        if not isinstance(v, str):
            raise _Problem(f"{where} must be text, not {_short(v)}")
        if len(v) > limit:
            raise _Problem(f"{where} has {len(v):,} characters; at most {limit:,}")
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


def _same_cell(a: Cell, b: Cell) -> bool:
    return (a.kind, a.nonlinearity, a.recurrent_activation, a.reset_after, a.recurrent_bias) == \
        (b.kind, b.nonlinearity, b.recurrent_activation, b.reset_after, b.recurrent_bias) and \
        all(np.array_equal(getattr(a, p), getattr(b, p)) for p in PARAMS)


def _close_cell(a: Cell, b: Cell) -> bool:
    """Equal up to last-bit differences (another NumPy's random stream or libm)."""
    return (a.kind, a.nonlinearity, a.recurrent_activation, a.reset_after, a.recurrent_bias) == \
        (b.kind, b.nonlinearity, b.recurrent_activation, b.reset_after, b.recurrent_bias) and \
        all(np.allclose(getattr(a, p), getattr(b, p), rtol=1e-12, atol=1e-15) for p in PARAMS)


