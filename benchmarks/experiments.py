"""A/B switches for the real-window diagnosis, applied from outside the app's modules.

    tools/xvfb-run-app .venv/bin/python benchmarks/realwindow.py --env RNNVIZ_EXPERIMENT=one_frame,title

Each function takes the main window after it is built (``pre_*`` ones run before it is built)
and changes one thing the diagnosis suspects; realwindow.py measures the drag with it on.
None of this is app code: the recommended fixes are described in the report and the README.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class _OneFramePerPass(QtCore.QObject):
    """QGraphicsScene's queued _q_processDirtyItems ends by *synchronously* dispatching the
    window's pending UpdateRequest ("immediately dispatch all pending update requests on the
    views"), so every scene that changed paints and flushes a frame of its own: three panels,
    three frames per slider change. This filter lets a scene's call run, swallows the
    UpdateRequest sent from inside it and posts one instead, which the event loop delivers
    after the other scenes' calls: one frame (paint + flush) per pass."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.depth = 0
        QtWidgets.QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:
        et = ev.type()
        if et == QtCore.QEvent.Type.MetaCall and isinstance(obj, QtWidgets.QGraphicsScene):
            self.depth += 1
            try:
                return obj.event(ev)
            finally:
                self.depth -= 1
        if et == QtCore.QEvent.Type.UpdateRequest and obj is self.window:
            if self.depth:
                # The swallowed request may be the one posted here before (a later scene's
                # call dispatches it too): post again, so exactly one stays pending.
                QtCore.QCoreApplication.postEvent(self.window, QtCore.QEvent(QtCore.QEvent.Type.UpdateRequest),
                                                  QtCore.Qt.EventPriority.NormalEventPriority.value)
                return True
        return False


def one_frame(window) -> None:
    window._oneFrame = _OneFramePerPass(window)


def title(window) -> None:
    """MainWindow._updateTitle runs on every settingsChanged and sets a title without "[*]";
    the session manager sets it back with "[*]": two real title changes (X property writes,
    and the window manager redraws its title bar) per slider change. Skip when unchanged."""
    original = window._updateTitle
    last = {}

    def update_title(*args):
        key = (window.controller.loadedName, window.controller.settings.cell)
        if last.get("key") != key:
            last["key"] = key
            original(*args)

    window._updateTitle = update_title


def fixed_labels(window) -> None:
    """Pin every visible label's size, so a text change no longer invalidates the layouts up to
    the window (rhoLabel, the value labels, the status bar, the fading panel's readouts)."""
    for label in window.findChildren(QtWidgets.QLabel):
        if label.isVisible():
            label.setFixedSize(label.size())


def no_antialias_pre() -> None:
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=False)


def coalesce16(window) -> None:
    """The controller's coalescing timer at 16 ms instead of 0 ms (at most ~60 recomputes/s)."""
    window.controller._pending.setInterval(16)
