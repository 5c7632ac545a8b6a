"""A/B switches for the real-window diagnosis, applied from outside the app's modules.

    tools/xvfb-run-app .venv/bin/python benchmarks/realwindow.py --env RNNVIZ_EXPERIMENT=fixed_labels

Each function takes the main window after it is built (``pre_*`` ones run before it is built)
and changes one thing the diagnosis suspects; realwindow.py measures the drag with it on.
None of this is app code: the recommended fixes are described in the report and the README.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


# "one_frame" and "title" became the app's own behaviour (rnnviz/ui/main_window.py:
# _OneFramePerPass and MainWindow._updateTitle); what is left are the switches that did not help.


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


def event_log(window) -> None:
    """Write every event the application delivers (time, type, receiver) to $RNNVIZ_EVENT_LOG
    at exit: where the GUI thread waits between a result and its frame."""
    import atexit
    import os
    import time

    log = []
    clock = time.perf_counter

    class _Log(QtCore.QObject):
        def eventFilter(self, obj, ev):
            log.append((clock(), ev.type().name, type(obj).__name__))
            return False

    app = QtWidgets.QApplication.instance()
    spy = _Log(app)
    app.installEventFilter(spy)
    window._eventLog = spy
    window.controller.resultChanged.connect(lambda _r: log.append((clock(), "RESULT", "")))

    def dump():
        with open(os.environ["RNNVIZ_EVENT_LOG"], "w") as f:
            for t, a, b in log:
                f.write(f"{t * 1e3:.2f} {a} {b}\n")

    atexit.register(dump)
    window._eventLogDump = dump


def gc_freeze(window) -> None:
    """Move every object alive after start-up out of the cyclic collector's reach
    (``gc.freeze``): a full collection then walks only what the drag itself allocates."""
    import gc

    gc.collect()
    gc.freeze()


def no_drag_equations(window) -> None:
    """No equation refresh while a mouse button is held (what that refresh costs a drag)."""
    from rnnviz.ui import equations

    equations.DRAG_INTERVAL_MS = 10**6


def pool_pre() -> None:
    """Every run on the worker pool, none on the GUI thread (does overlapping the engine with
    the previous frame's paint shorten a drag's latency, GIL and all?)."""
    from rnnviz.core import service

    service.SYNC_LIMIT = 0.0
