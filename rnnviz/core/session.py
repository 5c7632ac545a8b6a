"""Session files and lessons for the app: :mod:`rnnviz.io.session` with core's Settings as the schema.

``rnnviz.io`` reads and writes session documents but knows nothing of the app's settings;
:data:`SCHEMA` tells it the fields of :class:`~rnnviz.core.model.Settings` (types, limits,
choices) and how they turn into cells and inputs, and converts between Settings and the plain
dicts the reader validates. The functions here are io's with that schema filled in.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..engine.cells import Cell, choice_of
from ..io import lessons as _lessons
from ..io import session as _io
from ..io.session import FORMAT, MAX_BYTES, SUFFIX, V1_SETTINGS, VERSION, Field, Lesson, SessionData, is_session_file
from . import model as M

__all__ = [
    "FORMAT", "MAX_BYTES", "SCHEMA", "SUFFIX", "V1_SETTINGS", "VERSION", "Lesson", "SessionData",
    "dumps_session", "is_session_file", "load_lesson", "load_session", "loads_session", "save_session",
    "to_document",
]

#: Whole-number settings and their ranges (the seed is any non-negative 32-bit integer). A
#: loaded or trained model's sizes may go beyond what the controls offer a built-in cell.
INT_LIMITS = dict(M.MODEL_LIMITS, seed=(0, 2**31 - 1))
BUILTIN_LIMITS = dict(M.LIMITS)
_CHOICES = {"cell": M.CELL_CHOICES, "signal": M.SIGNALS}
_KINDS = {"custom": "rows", "overrides": "entries"}


def _field(f: dataclasses.Field) -> Field:
    if f.name in _KINDS:
        return Field(_KINDS[f.name], f.default)
    if f.name in INT_LIMITS:
        return Field("int", f.default, limits=INT_LIMITS[f.name], builtin=BUILTIN_LIMITS.get(f.name))
    if f.name in _CHOICES:
        return Field("choice", f.default, choices=_CHOICES[f.name])
    if isinstance(f.default, bool):
        return Field("bool", f.default)
    if isinstance(f.default, str):
        return Field("text", f.default)
    return Field("float", f.default)


class _SettingsSchema:
    """core.model's Settings, as :class:`rnnviz.io.session.SettingsSchema` describes settings."""

    fields = {f.name: _field(f) for f in dataclasses.fields(M.Settings)}

    def make(self, values: dict) -> M.Settings:
        return M.Settings(**values)

    def plain(self, settings: M.Settings) -> dict:
        return {name: getattr(settings, name) for name in self.fields}

    def kinds(self, values: dict) -> list[str]:
        return M.Settings(cell=values["cell"]).kinds

    def gate_blocks(self, values: dict) -> int:
        return M.GATE_BLOCKS.get(values["cell"], 1)

    def base_cell(self, key: str, values: dict) -> Cell:
        s = M.Settings(**values)
        return M.apply_overrides(M.base_cell(key, s), s.overrides)

    def inputs(self, values: dict) -> np.ndarray:
        return M.build_inputs(M.Settings(**values))

    def key_of(self, cell: Cell) -> str:
        return choice_of(cell)

    def training(self, plain: dict):
        from .training import state_from_plain

        return state_from_plain(plain)

    def training_plain(self, state) -> dict:
        from .training import state_plain

        return state_plain(state)


SCHEMA = _SettingsSchema()


def to_document(data: SessionData) -> dict:
    """The JSON document for ``data`` (settings a :class:`~rnnviz.core.model.Settings`)."""
    return _io.to_document(data, SCHEMA)


def dumps_session(data: SessionData) -> bytes:
    return _io.dumps_session(data, SCHEMA)


def save_session(path, data: SessionData) -> None:
    """Write ``data`` to ``path`` atomically (the old file stays whole on any error)."""
    _io.save_session(path, data, SCHEMA)


def load_session(path) -> SessionData:
    """Read and validate a session file. Raises InputError (one line naming the file)."""
    return _io.load_session(path, SCHEMA)


def loads_session(blob: bytes, path: str | None = None) -> SessionData:
    """Parse and validate a session from bytes; ``path`` names it in error messages."""
    return _io.loads_session(blob, path, schema=SCHEMA)


def load_lesson(name: str) -> SessionData:
    """Built-in lesson ``name`` as validated session data. Raises InputError."""
    return _lessons.load_lesson(name, SCHEMA)
