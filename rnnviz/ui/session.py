"""Sessions in the window: open, save, recent files, the unsaved-changes prompt.

The ``.rnnviz`` reader and writer are :mod:`rnnviz.io.session` (no Qt); :mod:`rnnviz.core.session`
fills in the app's settings. This module adds what talks to the controller (:func:`capture`,
:func:`apply_session`, which use no widgets: the render command calls them) and the window side,
:class:`SessionManager` (``MainWindow.session``).
"""

from __future__ import annotations

import os
import sys
import traceback
import urllib.parse

from PySide6 import QtCore, QtGui, QtWidgets

from ..core.session import SUFFIX, Lesson, SessionData, dumps_session, is_session_file, load_session
from ..engine import InputError
from ..io.limits import as_input_error, shown

__all__ = [
    "FILE_FILTER", "MAX_RECENT", "SessionManager", "add_recent", "apply_session", "ask_save", "capture",
    "is_session_file", "load_session", "local_path", "open_guarded", "open_in_window", "recent_files",
    "show_in_window",
]

FILE_FILTER = "rnnviz sessions (*.rnnviz);;All files (*)"
MAX_RECENT = 10


def capture(controller, lesson: Lesson | None = None) -> SessionData:
    """The controller's current state as a SessionData (nothing is copied but references)."""
    return SessionData(
        settings=controller.settings, loaded=controller.loaded, loaded_name=controller.loadedName,
        layer=controller.layer, step=controller.step, reveal_all=controller.revealAll,
        unit=controller.selectedUnit, speed=controller.speed, lesson=lesson,
        training=_training_state(controller), whole=controller.app.whole,
    )


def _training_state(controller):
    """The Train mode's state, once it has been used (else None: the file has no training section)."""
    from . import training

    tc = training.existing_training(controller)
    return None if tc is None else tc.state()


# ====================================================================== applying
def apply_session(controller, data: SessionData) -> None:
    """Put ``data`` into ``controller`` (no window needed: the render command uses this)."""
    controller.restore(data.settings, loaded=data.loaded, loaded_name=data.loaded_name, layer=data.layer,
                       step=data.step, reveal_all=data.reveal_all, unit=data.unit, whole=data.whole)
    controller.setSpeed(data.speed)
    if data.training is not None:
        from .training import training_for

        training_for(controller).restoreState(data.training)
    if controller.selectedUnit != data.unit:
        # A large run finishes on a worker: the unit is clamped to the old result's H until then.
        def later(_result, c=controller, unit=data.unit):
            c.resultChanged.disconnect(later)
            c.setSelectedUnit(unit)

        controller.resultChanged.connect(later)


# ====================================================================== opening, guarded
def open_guarded(window, title: str, path, load) -> bool:
    """Run ``load()``, which reads ``path`` and shows it in ``window``; True when it did.

    Whatever fails — a bad file (InputError), a MemoryError, a reader's bug — the window shows
    one line naming the file under ``title``, and the state is put back as it was before (the
    reading comes first, so usually nothing had changed). Every open path of the window (menu,
    drop, recent files) goes through here, so no reader's exception reaches the event loop.
    """
    c = window.controller
    before = capture(c)
    before_state = _current(c)
    try:
        load()
    except Exception as exc:  # noqa: BLE001 - the last line of defence of an open path
        err = as_input_error(exc, path)
        if err is not exc and not isinstance(exc, MemoryError):  # a bug in a reader: say where
            print(f"rnnviz: unexpected error opening {shown(path)}:", file=sys.stderr)
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        if not _same_state(_current(c), before_state):
            apply_session(c, before)
        window.showError(title, str(err))
        return False
    return True


def local_path(url: QtCore.QUrl) -> str:
    """The file name a ``file:`` URL (a drop) names, for ``open``: its bytes as the file
    system has them, even when they are not UTF-8.

    ``QUrl.toLocalFile`` decodes the name as UTF-8 and replaces what is not with U+FFFD, a
    file that does not exist. Here the percent-encoded bytes are taken as they are: valid
    UTF-8 (or Qt's own encoding of a Python name holding surrogate escapes) decodes as text,
    anything else to the surrogate escapes ``os.fsdecode`` gives.
    """
    if os.name != "posix" or url.host():
        return url.toLocalFile()
    raw = urllib.parse.unquote_to_bytes(url.path(QtCore.QUrl.ComponentFormattingOption.FullyEncoded))
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return os.fsdecode(raw)


# ====================================================================== the window side
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


def recent_files() -> list[str]:
    """The most recently saved or opened files, newest first (kept by prefs, one list)."""
    from . import prefs

    return prefs.recent_files()


def add_recent(path: str) -> None:
    from . import prefs

    prefs.add_recent(path)


def _snapshot_of(data: SessionData, training: tuple = (None, None)) -> tuple:
    """What the unsaved-changes marker compares: the network first (settings, model, layer and
    the Train mode's :func:`_training_token`), then the view (step, …, the mode shown)."""
    return (data.settings, data.loaded, data.loaded_name, data.layer, training[0], data.step, data.reveal_all,
            data.unit, data.speed, training[1])


#: How much of a snapshot is the network (an untitled window asks before closing only when it changed).
_NETWORK = 5


def _training_token(controller) -> tuple:
    """(the training's revision — settings, updates, models —, the mode shown), or Nones
    before the window has a Train mode. Cheap: no parameter is copied."""
    from . import training

    tc = training._controllers.get(controller)
    return (None, None) if tc is None else (tc.session.revision, tc.mode)


def _current(controller) -> tuple:
    return _snapshot_of(_capture_view(controller), _training_token(controller))


def _capture_view(controller) -> SessionData:
    """:func:`capture` without the training section (what the marker compares needs none)."""
    return SessionData(
        settings=controller.settings, loaded=controller.loaded, loaded_name=controller.loadedName,
        layer=controller.layer, step=controller.step, reveal_all=controller.revealAll,
        unit=controller.selectedUnit, speed=controller.speed,
    )


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
        self._modified = False
        self._baseTitle = window.windowTitle().replace("[*]", "")
        self._fixing = False
        for sig in (c.settingsChanged, c.stepChanged, c.revealAllChanged, c.selectedUnitChanged,
                    c.speedChanged, c.loadedChanged, c.layerChanged):
            sig.connect(self._refresh)
        from .training import training_for

        tc = training_for(c)  # training changes the model the session holds: the marker follows
        tc.snapshotChanged.connect(self._refresh)
        tc.modeChanged.connect(self._refresh)
        self._reference = _current(c)
        window.windowTitleChanged.connect(self._fixTitle)
        window.installEventFilter(self)
        self._fixTitle(window.windowTitle())

    # ------------------------------------------------------------------ menu
    # the window's entries for sessions (declared in rnnviz.ui.actions)
    openAction = property(lambda self: self.window.action("session.open"))
    saveAction = property(lambda self: self.window.action("session.save"))
    saveAsAction = property(lambda self: self.window.action("session.saveAs"))
    startAction = property(lambda self: self.window.action("session.start"))
    recentMenu = property(lambda self: self.window.menu("file.recent"))
    lessonsMenu = property(lambda self: self.window.menu("file.lessons"))

    def fillRecentMenu(self, menu: QtWidgets.QMenu) -> None:
        """File ▸ Open recent, filled each time it opens."""
        menu.clear()
        files = [p for p in recent_files() if os.path.exists(p)]
        for p in files:
            act = menu.addAction(os.path.basename(p), lambda p=p: self.open(p))
            act.setToolTip(p)
        if not files:
            menu.addAction("(none yet)").setEnabled(False)

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
        return not _same_state(_current(self.controller), self._reference, upto=_NETWORK)

    def _refresh(self, *_):
        modified = not _same_state(_current(self.controller), self._reference)
        if modified != self._modified:
            self._modified = modified
            self.window.setWindowModified(modified)
            self.modifiedChanged.emit(modified)

    def _markSaved(self, data: SessionData, training: tuple | None = None) -> None:
        """``data`` is what the file holds now; ``training`` the Train mode's token when it was
        captured (default: as it is now)."""
        self._reference = _snapshot_of(data, _training_token(self.controller) if training is None else training)
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
        return open_guarded(self.window, "Cannot open session", path,
                            lambda: self.openData(load_session(path), path))

    def openLesson(self, name: str) -> bool:
        from ..core.session import load_lesson

        if not self.maybeSave("opening a lesson"):
            return False
        return open_guarded(self.window, "Cannot open lesson", None, lambda: self.openData(load_lesson(name)))

    def openData(self, data: SessionData, path: str | None = None) -> None:
        """Show validated ``data``; ``path`` is its file (None for a lesson: saving asks where)."""
        apply_session(self.controller, data)
        # the tab the session is about (an unknown id: a newer rnnviz's panel); none: the first
        self.window.showPanel(data.panel if data.panel in self.window.panels else None)
        self.path = path
        self.lesson = data.lesson
        self._markSaved(data)
        self._fixTitle(self.window.windowTitle())
        if path:
            add_recent(path)
            self.recentChanged.emit()
        self.pathChanged.emit(path)
        self.lessonChanged.emit(self.lesson)

    def endLesson(self) -> None:
        """No lesson any more (its panel was closed); the network stays as it is."""
        if self.lesson is not None:
            self.lesson = None
            self._fixTitle(self.window.windowTitle())
            self.lessonChanged.emit(None)

    def explore(self) -> bool:
        """A fresh exploration: the default network, no lesson, no file. False if the user
        cancelled saving the current changes."""
        from ..core.model import Settings

        if not self.maybeSave("exploring on your own"):
            return False
        self.controller.restore(Settings())
        self.path = None
        self.lesson = None
        self._markSaved(capture(self.controller, None))
        self._fixTitle(self.window.windowTitle())
        self.pathChanged.emit(None)
        self.lessonChanged.emit(None)
        return True

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
        # the token before the capture: an update that lands in between leaves the window marked
        training = _training_token(self.controller)
        data = capture(self.controller, self.lesson)
        try:
            blob = dumps_session(data)
        except (InputError, ValueError) as err:  # ValueError: a text that cannot be UTF-8
            self.window.showError("Cannot save session", f"{shown(path)}: {err}")
            return False
        f = QtCore.QSaveFile(path)
        ok = f.open(QtCore.QIODevice.OpenModeFlag.WriteOnly) and f.write(blob) == len(blob) and f.commit()
        if not ok:
            why = f.errorString() or "unknown error"  # strerror: "No space left on device"
            f.cancelWriting()
            self.window.showError("Cannot save session", f"{shown(path)}: cannot write ({why})")
            return False
        self.path = path
        self._markSaved(data, training)
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
                urls = [local_path(u) for u in event.mimeData().urls() if u.isLocalFile()]
                if urls and urls[0].lower().endswith(SUFFIX):
                    self.open(urls[0])
                    event.acceptProposedAction()
                    return True
        return False

