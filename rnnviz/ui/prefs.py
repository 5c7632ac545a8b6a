"""User preferences kept between runs: theme, colour-blind flag, recent files, window
geometry and the last folder of the file dialogs.

Stored through ``QSettings`` (organisation and application "rnnviz"): the platform's usual
place, written atomically by Qt. ``RNNVIZ_SETTINGS_DIR`` puts them in ``rnnviz.ini`` in that
folder instead (tests, portable installs). A window without a screen (``QT_QPA_PLATFORM=
offscreen``: tests, ``rnnviz render``) never reads or writes the user's real preferences
unless that variable is set: it gets a private, empty store, so renders look the same on
every machine and test runs leave the teacher's settings alone.

Every reader tolerates a damaged or hand-edited file: a value of the wrong type counts as
missing.
"""

from __future__ import annotations

import functools
import os
import tempfile

from PySide6 import QtCore, QtGui, QtWidgets

ORGANIZATION = "rnnviz"
APPLICATION = "rnnviz"
ENV_DIR = "RNNVIZ_SETTINGS_DIR"
FILE_NAME = "rnnviz.ini"
MAX_RECENT = 10

THEME_KEY = "view/theme"
COLOUR_BLIND_KEY = "view/colourBlind"
RECENT_KEY = "files/recent"
LAST_DIR_KEY = "files/lastDir"
GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"

def _headless() -> bool:
    app = QtGui.QGuiApplication.instance()
    name = app.platformName() if app is not None else os.environ.get("QT_QPA_PLATFORM", "")
    return name in ("offscreen", "minimal")


@functools.cache
def _private_dir() -> str:
    """One empty folder per process for headless runs without RNNVIZ_SETTINGS_DIR."""
    return tempfile.mkdtemp(prefix="rnnviz-settings-")


def location() -> str | None:
    """The INI file used instead of the platform's store, or None for the platform's store."""
    folder = os.environ.get(ENV_DIR)
    if folder:
        return os.path.join(folder, FILE_NAME)
    if _headless():
        return os.path.join(_private_dir(), FILE_NAME)
    return None


def store() -> QtCore.QSettings:
    """A QSettings on the preferences (see the module docstring for where they live)."""
    path = location()
    if path is None:
        return QtCore.QSettings(ORGANIZATION, APPLICATION)
    return QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat)


def _get(key: str):
    try:
        return store().value(key)
    except Exception:  # noqa: BLE001 - a damaged store reads as empty, never as a crash
        return None


def _set(key: str, value) -> None:
    s = store()
    s.setValue(key, value)
    s.sync()


# ---------------------------------------------------------------- theme


def theme_name() -> str:
    """"light" (default) or "dark"."""
    v = _get(THEME_KEY)
    return v if v in ("light", "dark") else "light"


def set_theme_name(name: str) -> None:
    if name not in ("light", "dark"):
        raise ValueError(f"unknown theme {name!r}")
    _set(THEME_KEY, name)


def colour_blind() -> bool:
    v = _get(COLOUR_BLIND_KEY)
    if isinstance(v, bool):
        return v
    return isinstance(v, str) and v.strip().lower() in ("true", "1", "yes")


def set_colour_blind(on: bool) -> None:
    _set(COLOUR_BLIND_KEY, bool(on))


# ---------------------------------------------------------------- files


def recent_files() -> list[str]:
    """Most recent first, at most :data:`MAX_RECENT`."""
    v = _get(RECENT_KEY)
    if isinstance(v, str):  # QSettings returns a one-element list as a plain string
        v = [v]
    if not isinstance(v, (list, tuple)):
        return []
    out: list[str] = []
    for p in v:
        if isinstance(p, str) and p and p not in out:
            out.append(p)
    return out[:MAX_RECENT]


def add_recent(path: str) -> list[str]:
    """Put ``path`` (made absolute) first in the recent files; returns the new list."""
    path = os.path.abspath(os.fspath(path))
    files = [path] + [p for p in recent_files() if p != path]
    files = files[:MAX_RECENT]
    _set(RECENT_KEY, files)
    return files


def remove_recent(path: str) -> list[str]:
    """Forget ``path`` (e.g. it no longer opens); returns the new list."""
    path = os.path.abspath(os.fspath(path))
    files = [p for p in recent_files() if p != path]
    _set(RECENT_KEY, files)
    return files


def clear_recent() -> None:
    _set(RECENT_KEY, [])


def last_dir() -> str:
    """The folder the file dialogs used last, if it still exists; else the home folder."""
    v = _get(LAST_DIR_KEY)
    if isinstance(v, str) and v and os.path.isdir(v):
        return v
    return os.path.expanduser("~")


def set_last_dir(path: str) -> None:
    """Remember the folder of ``path`` (a file) or ``path`` itself (a folder)."""
    path = os.path.abspath(os.fspath(path))
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    _set(LAST_DIR_KEY, folder)


# ---------------------------------------------------------------- window


def save_geometry(window: QtWidgets.QMainWindow, geometry: QtCore.QByteArray | None = None) -> None:
    """Remember where ``window`` is (or ``geometry``, e.g. its size before full screen)."""
    s = store()
    s.setValue(GEOMETRY_KEY, geometry if geometry is not None else window.saveGeometry())
    s.setValue(STATE_KEY, window.saveState())
    s.sync()


def restore_geometry(window: QtWidgets.QMainWindow) -> bool:
    """Put ``window`` back where it was last closed; False when nothing (valid) was saved."""
    geometry = _get(GEOMETRY_KEY)
    if not isinstance(geometry, (QtCore.QByteArray, bytes)) or not geometry:
        return False
    try:
        ok = bool(window.restoreGeometry(QtCore.QByteArray(geometry)))
    except (TypeError, ValueError):
        return False
    state = _get(STATE_KEY)
    if ok and isinstance(state, (QtCore.QByteArray, bytes)) and state:
        window.restoreState(QtCore.QByteArray(state))
    return ok
