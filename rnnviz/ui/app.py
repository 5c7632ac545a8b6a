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
    from ..io.limits import as_input_error

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
    except Exception as exc:  # noqa: BLE001 - a MemoryError or a reader's bug too: one line
        print(f"rnnviz: {as_input_error(exc, path)}", file=sys.stderr)
        return 2
    controller.recompute()
    window = MainWindow(controller)
    if data is not None:
        show_in_window(window, data, None if lesson else path)
    install_excepthook()
    if os.environ.get("RNNVIZ_T0"):
        _report_first_paint(window, float(os.environ["RNNVIZ_T0"]))
    window.show()
    return app.exec()


class LastResort:
    """``sys.excepthook`` for the app: an exception that reached the event loop (a bug; every
    expected failure is handled where it happens) is shown in a dialog and its traceback written
    to stderr once; nothing else happens, so the session stays as it is and can be saved.

    One dialog at a time: while one is open, later errors only count in it. A traceback seen
    before (same type, same place) is not written again. KeyboardInterrupt and SystemExit go
    to the hook that was installed before.
    """

    def __init__(self, previous=None):
        self.previous = previous or sys.__excepthook__
        self.seen: set[tuple] = set()
        self.count = 0
        self.box = None

    def __call__(self, etype, value, tb) -> None:
        if issubclass(etype, (KeyboardInterrupt, SystemExit)):
            self.previous(etype, value, tb)
            return
        try:
            self.count += 1
            self._log(etype, value, tb)
            self._show(etype, value)
        except Exception:  # noqa: BLE001 - the hook itself must never fail
            self.previous(etype, value, tb)

    def _log(self, etype, value, tb) -> None:
        import traceback

        frames = traceback.extract_tb(tb)
        where = (frames[-1].filename, frames[-1].lineno) if frames else ("", 0)
        key = (etype, *where)
        if key in self.seen:
            return
        self.seen.add(key)
        print("rnnviz: an unexpected error (a bug in rnnviz; your session is kept):", file=sys.stderr)
        traceback.print_exception(etype, value, tb, file=sys.stderr)
        sys.stderr.flush()

    def _show(self, etype, value) -> None:
        from PySide6 import QtCore, QtWidgets
        from shiboken6 import isValid

        from ..io.limits import one_line

        if QtWidgets.QApplication.instance() is None:
            return
        text = (f"Something went wrong inside rnnviz ({etype.__name__}: {one_line(value, 200)}). "
                "Your session is kept: you can go on, or save it. The details are on the terminal (stderr).")
        box = self.box
        if box is not None and isValid(box) and box.isVisible():
            box.setInformativeText(f"{self.count} unexpected errors so far.")
            return
        parent = next((w for w in QtWidgets.QApplication.topLevelWidgets()
                       if isinstance(w, QtWidgets.QMainWindow) and w.isVisible()), None)
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Critical, "Unexpected error", text,
                                    QtWidgets.QMessageBox.StandardButton.Ok, parent)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setObjectName("rnnviz-unexpected-error")
        self.box = box
        box.open()


def install_excepthook() -> LastResort:
    """Install :class:`LastResort` as ``sys.excepthook`` (once; returns the one installed)."""
    if isinstance(sys.excepthook, LastResort):
        return sys.excepthook
    hook = LastResort(sys.excepthook)
    sys.excepthook = hook
    return hook


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
           tokens: tuple[str, bool] | None = None, **settings) -> None:
    """Draw exactly the window a user would see to ``out`` (PNG), with no display.

    ``path`` is a weights file or a .rnnviz session, ``lesson`` a built-in lesson's name (their
    step and view are kept unless ``step`` / ``all_steps`` are given). ``step`` is 1-based
    (default: the last step). ``gif`` and ``mp4`` also write the stepping animation (steps
    ``gif_steps`` / ``mp4_steps``, frames ``gif_width`` / ``mp4_width`` wide) at ``speed``
    steps per second. ``tokens`` = (text, True) or (ids, False): the input of a model with an
    embedding (``App.read_tokens``). Raises InputError for a bad weights file and
    OSError (naming the file) when a file cannot be written; writes atomically.
    """
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = _application()
    from ..io.atomic import atomic_write
    from .controller import Controller
    from .lessons import load_lesson
    from .main_window import MainWindow
    from .session import is_session_file, load_session, show_in_window

    from ..io.limits import as_input_error

    controller = Controller()
    try:
        data = load_lesson(lesson) if lesson else (load_session(path) if path and is_session_file(path) else None)
        if path and data is None:
            controller.loadWeights(path)
    except Exception as exc:  # noqa: BLE001 - a MemoryError or a reader's bug: one line, exit 2
        raise as_input_error(exc, path) from None
    if tokens is not None:
        from ..engine.errors import InputError

        if path is None or data is not None:
            raise InputError("--text and --ids are the input of a weights file with an embedding", path)
        try:
            controller.app.read_tokens(*tokens)
        except ValueError as exc:
            raise InputError(str(exc), path) from None
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
    _keep_size(app, window, size)
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
    _keep_size(app, window, size)
    image = window.grab().toImage()
    window.close()
    if (image.width(), image.height()) != tuple(size):  # a device pixel ratio other than 1
        from PySide6 import QtCore

        image = image.scaled(*size, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                             QtCore.Qt.TransformationMode.SmoothTransformation)
    png = _png_bytes(image)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:  # Python's write: a full disk is ENOSPC, not "Qt could not write"
            fh.write(png)

    atomic_write(out, write, suffix=".png")


def _keep_size(app, window, size: tuple[int, int]) -> None:
    """Make the window exactly ``size`` (W, H) or refuse: InputError when the layout needs
    more than that (the window is closed first). Qt silently grows a window to its least size;
    ``rnnviz render --size 800x600`` gave a 1093×600 picture."""
    from ..engine import InputError

    app.processEvents()
    least = window.minimumSizeHint().expandedTo(window.minimumSize())
    w, h = size
    if least.width() > w or least.height() > h:
        window.close()
        raise InputError(f"--size {w}x{h} is smaller than this window can be drawn: it needs at least "
                         f"{max(least.width(), 1)}x{max(least.height(), 1)} (give a larger --size)")
    if (window.width(), window.height()) != (w, h):
        window.resize(w, h)
        app.processEvents()
    if (window.width(), window.height()) != (w, h):
        got = f"{window.width()}x{window.height()}"
        window.close()
        raise InputError(f"--size {w}x{h}: the window could only be drawn at {got}")


def _png_bytes(image) -> bytes:
    from PySide6 import QtCore

    data = QtCore.QByteArray()
    buf = QtCore.QBuffer(data)
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise OSError("Qt could not encode the PNG")
    buf.close()
    return bytes(data)
