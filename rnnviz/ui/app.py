"""Starting the desktop app and drawing it headless (``rnnviz render``)."""

from __future__ import annotations

import os
import socket
import sys
import time


def display_problem() -> str | None:
    """Why a window cannot open here, or None. Checked before Qt starts, because Qt aborts."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    if os.environ.get("WAYLAND_DISPLAY"):
        return None
    display = os.environ.get("DISPLAY", "")
    hint = "set DISPLAY, or QT_QPA_PLATFORM=offscreen, or use 'rnnviz render -o OUT.png' to draw without a screen"
    if not display:
        return f"no display available ({hint})"
    if not _x_server_reachable(display):
        return f"cannot reach the X display {display!r} ({hint})"
    return None


def _x_server_reachable(display: str) -> bool:
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    try:
        if host in ("", "unix"):
            path = f"/tmp/.X11-unix/X{number}"
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect(path)
        else:
            with socket.create_connection((host, 6000 + int(number)), timeout=1.0):
                pass
    except OSError:
        return False
    return True


def _application():
    from PySide6 import QtWidgets

    from PySide6 import QtGui

    from ..paths import read_bytes

    app = QtWidgets.QApplication.instance()
    if app is None:
        _quiet_offscreen_noise()
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setApplicationName("rnnviz")
        app.setOrganizationName("rnnviz")
        pixmap = QtGui.QPixmap()
        pixmap.loadFromData(read_bytes("icons", "rnnviz.svg"))
        app.setWindowIcon(QtGui.QIcon(pixmap))
    return app


def _quiet_offscreen_noise() -> None:
    """The offscreen platform warns "does not support propagateSizeHints()" for every window;
    that says nothing to a user of ``rnnviz render``. Other Qt messages still reach stderr."""
    from PySide6 import QtCore

    previous = None

    def handler(mode, context, message):
        if "propagateSizeHints" in message:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            print(message, file=sys.stderr)

    previous = QtCore.qInstallMessageHandler(handler)


def launch(path: str | None = None, lesson: str | None = None) -> int:
    """Open the main window on ``path`` (weights or a .rnnviz session) or lesson ``lesson``."""
    from ..engine import InputError

    problem = display_problem()
    if problem:
        print(f"rnnviz: {problem}", file=sys.stderr)
        return 2
    app = _application()
    from .controller import Controller
    from .lessons import load_lesson
    from .main_window import MainWindow
    from .session import is_session_file, load_session, show_in_window

    controller = Controller()
    data = None
    try:
        if lesson:
            data = load_lesson(lesson)
        elif path and is_session_file(path):
            data = load_session(path)
        elif path:
            controller.loadWeights(path)
    except InputError as err:
        print(f"rnnviz: {err}", file=sys.stderr)
        return 2
    controller.recompute()
    window = MainWindow(controller)
    if data is not None:
        show_in_window(window, data, None if lesson else path)
    if os.environ.get("RNNVIZ_T0"):
        _report_first_paint(window, float(os.environ["RNNVIZ_T0"]))
    window.show()
    return app.exec()


def _report_first_paint(window, t0: float) -> None:
    """Benchmark hook: print seconds from RNNVIZ_T0 to the first painted frame, then quit."""
    from PySide6 import QtCore, QtWidgets

    class FirstPaint(QtCore.QObject):
        def eventFilter(self, obj, event):
            if event.type() == QtCore.QEvent.Type.Paint:
                obj.removeEventFilter(self)
                QtCore.QTimer.singleShot(0, lambda: (print(f"first-paint {time.time() - t0:.4f}", flush=True),
                                                     QtWidgets.QApplication.quit()))
            return False

    # parented to the window, which keeps it (and its Python side) alive
    window.installEventFilter(FirstPaint(window))


from ..core.model import CLI_CELLS as CELL_KEYS  # noqa: E402 - the --cell spellings


def render(out: str | None, path: str | None = None, cell: str | None = None, step: int | None = None,
           size: tuple[int, int] = (1600, 1000), all_steps: bool = False, gif: str | None = None,
           gif_steps: tuple[int, int] | None = None, gif_width: int | None = None, speed: float | None = None,
           theme: str = "light", colour_blind: bool = False, presenter: bool = False, lesson: str | None = None,
           mp4: str | None = None, mp4_steps: tuple[int, int] | None = None, mp4_width: int | None = None,
           **settings) -> None:
    """Draw exactly the window a user would see to ``out`` (PNG), with no display.

    ``path`` is a weights file or a .rnnviz session, ``lesson`` a built-in lesson's name (their
    step and view are kept unless ``step`` / ``all_steps`` are given). ``step`` is 1-based
    (default: the last step). ``gif`` and ``mp4`` also write the stepping animation (steps
    ``gif_steps`` / ``mp4_steps``, frames ``gif_width`` / ``mp4_width`` wide) at ``speed``
    steps per second. Raises InputError for a bad weights file and
    OSError (naming the file) when a file cannot be written; writes atomically.
    """
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = _application()
    from ..io.atomic import atomic_write
    from .controller import Controller
    from .lessons import load_lesson
    from .main_window import MainWindow
    from .session import is_session_file, load_session, show_in_window

    data = load_lesson(lesson) if lesson else (load_session(path) if path and is_session_file(path) else None)
    controller = Controller()
    if path and data is None:
        controller.loadWeights(path)
    changes = dict(settings)
    if cell:
        changes["cell"] = CELL_KEYS[cell]
    if changes and data is None:
        controller.update(**changes)
    controller.recompute()
    window = MainWindow(controller)
    if data is not None:
        show_in_window(window, data, None if lesson else path)  # the session's step, view and lesson text
        if changes:
            controller.update(**changes)
    window.resize(*size)
    window.show()
    from . import presenter as _presenter

    _presenter.prepare_render(window, theme, colour_blind, presenter)
    controller.waitForIdle()
    if speed is not None:
        controller.setSpeed(speed)
    if gif:
        from .export import export_gif

        try:
            export_gif(window, gif, size=gif_width, step_range=gif_steps, reveal_all=all_steps)
        except OSError as err:
            raise OSError(err.errno, err.strerror or str(err), gif) from err
    if mp4:
        from .export import export_mp4

        try:
            export_mp4(window, mp4, size=mp4_width, step_range=mp4_steps, reveal_all=all_steps)
        except OSError as err:
            raise OSError(err.errno, err.strerror or str(err), mp4) from err
    if not out:
        window.close()
        return
    T = controller.settings.T
    if step is not None or data is None:
        controller.setStep(T - 1 if step is None else min(max(step, 1), T) - 1)
    if all_steps or data is None:
        controller.setRevealAll(all_steps)
    for _ in range(3):
        app.processEvents()
    image = window.grab().toImage()
    window.close()

    def write(tmp: str) -> None:
        if not image.save(tmp, "PNG"):
            raise OSError(f"Qt could not write {out}")

    atomic_write(out, write, suffix=".png")
