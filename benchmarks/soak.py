"""A long classroom session, offscreen, on the real window: does anything pile up?

    python benchmarks/soak.py [--quick] [--seed N]

Drives one window through 10,000 play steps (a vanishing RNN at T = 1000, whose influence
passes through the subnormal floats that once crashed the fading panel's formatter), 5,000
random moves of the real sliders (scales, biases, length, the transport's step), 500 cell and
theme switches and 300 bad files (weights, .keras, CSV, session), each opened through the
window's own open paths and its dialog clicked away as a user would. ``--quick`` does 1/10 to
1/6 of each (the test suite runs it).

Before the first phase a short warm-up does a little of everything (first uses fill caches);
the start figures are taken after it. At the start, after each phase and at the end it prints
RSS, Python objects (gc), QObjects (a walk of every QObject tree from the application and its
top-level widgets, the widgets alone, and the live Python wrappers of QObjects), message
boxes and threads, and unexpected exceptions (any that reached sys.excepthook). Ends with one
JSON line. Everything runs inside the application's real event loop (``app.exec``; each action
is one pass of a 0 ms timer), so deferred deletions and queued calls happen as in the app.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from PySide6 import QtCore, QtWidgets  # noqa: E402

FULL = {"play": 10_000, "sliders": 5_000, "switches": 500, "bad_files": 300}
QUICK = {"play": 100, "sliders": 80, "switches": 6, "bad_files": 32}
#: A little of everything before the start figures (first uses fill caches, fonts, the pool).
WARM_UP = {"play": 20, "sliders": 10, "switches": 2, "bad_files": 16}


# ---------------------------------------------------------------------------- figures
def deliver_deferred_deletes() -> None:
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete.value)


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: the peak instead
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (2**20 if sys.platform == "darwin" else 2**10)


def qobject_tree_count(app: QtWidgets.QApplication) -> int:
    """Every QObject reachable from the application and its top-level widgets."""
    seen = set()
    roots = [app, *app.topLevelWidgets(), *app.topLevelWindows()]
    for root in roots:
        for obj in (root, *root.findChildren(QtCore.QObject)):
            seen.add(id(obj))
    return len(seen)


def figures(app) -> dict:
    deliver_deferred_deletes()
    gc.collect()
    objects = gc.get_objects()
    wrappers = sum(1 for o in objects if isinstance(o, QtCore.QObject))
    widgets = QtWidgets.QApplication.allWidgets()
    return {
        "rss_mb": round(rss_mb(), 1),
        "py_objects": len(objects),
        "qobjects": qobject_tree_count(app),
        "widgets": len(widgets),
        "qobject_wrappers": wrappers,
        "message_boxes": sum(isinstance(w, QtWidgets.QMessageBox) for w in widgets),
        "threads": threading.active_count(),
    }


def show(label: str, f: dict, exceptions: int, seconds: float) -> None:
    print(f"{label:>10}: RSS {f['rss_mb']:7.1f} MB · Python objects {f['py_objects']:8,} · QObjects "
          f"{f['qobjects']:6,} (widgets {f['widgets']:5,}, wrappers {f['qobject_wrappers']:5,}) · "
          f"message boxes {f['message_boxes']} · threads {f['threads']} · exceptions {exceptions} · "
          f"{seconds:6.1f} s", flush=True)


# ---------------------------------------------------------------------------- the session
class Soak:
    def __init__(self, app, seed: int = 0):
        from rnnviz.core.model import CELL_CHOICES
        from rnnviz.ui.controller import Controller
        from rnnviz.ui.main_window import MainWindow

        self.app = app
        self.rng = random.Random(seed)
        self.exceptions: list[str] = []
        self.previous_hook = sys.excepthook
        sys.excepthook = self._hook
        self.controller = c = Controller()
        c.recompute()
        self.window = w = MainWindow(c)
        w.resize(1400, 900)
        w.show()
        c.waitForIdle()
        self.cells = list(CELL_CHOICES)
        self.slider_widgets = [s for s in w.findChildren(QtWidgets.QSlider) if s.isVisible()]
        self.folder = tempfile.TemporaryDirectory(prefix="rnnviz-soak-")
        self.bad = self._bad_files(self.folder.name)
        self.done = {k: 0 for k in FULL}

    def _hook(self, etype, value, tb) -> None:
        self.exceptions.append("".join(traceback.format_exception_only(etype, value)).strip())
        if len(self.exceptions) <= 3:
            traceback.print_exception(etype, value, tb, file=sys.stderr)

    def close(self) -> None:
        sys.excepthook = self.previous_hook
        self.controller.setPlaying(False)
        self.window.close()
        self.folder.cleanup()

    def settle(self, passes: int = 5):
        """Back to one state (the default cell, light theme), then a few passes of the event
        loop (deferred deletions, queued results): figures of different states (Compare has
        three times the plots) are not compared."""
        w, c = self.window, self.controller
        w.action("theme.light").trigger()
        if w.action("theme.colourBlind").isChecked():
            w.action("theme.colourBlind").trigger()
        c.update(cell="rnn_tanh", hidden_size=8, T=60, recurrent_scale=1.0, input_scale=1.0, bias_shift=0.0,
                 signal="impulse")
        c.waitForIdle()
        c.toStart()
        for _ in range(passes):
            yield

    @staticmethod
    def _bad_files(folder: str) -> list[tuple[str, str]]:
        """(kind, path): broken files of every kind the window opens."""
        import zipfile

        files = []

        def put(name, data, kind):
            path = os.path.join(folder, name)
            with open(path, "wb") as fh:
                fh.write(data)
            files.append((kind, path))

        put("garbage.npz", b"\x00garbage" * 50, "weights")
        put("truncated.safetensors", (10**9).to_bytes(8, "little") + b"{", "weights")
        with zipfile.ZipFile(os.path.join(folder, "empty.keras"), "w") as z:
            z.writestr("config.json", "{}")
        files.append(("weights", os.path.join(folder, "empty.keras")))
        put("unclosed.csv", b'1\n"2\n3\n', "input")
        put("wide.csv", b",".join([b"1"] * 5000) + b"\n", "input")
        put("deep.rnnviz", b'{"version": ' + b"[" * 200 + b"]" * 200 + b"}", "session")
        put("not json.rnnviz", b"\xff\xfe not a session", "session")
        put("line\nbreak.npz", b"PK\x05\x06" + bytes(18), "weights")
        return files

    # ------------------------------------------------------------------ phases
    def play(self, n: int) -> None:
        c = self.controller
        c.update(cell="rnn_tanh", hidden_size=8, T=1000, recurrent_scale=0.4, signal="impulse")
        c.waitForIdle()
        c.toStart()
        for _ in range(n):
            if c.step >= c.settings.T - 1:
                c.toStart()
            c.app.tick()  # what the play timer calls
            yield
            self.done["play"] += 1
        c.waitForIdle()

    def sliders(self, n: int) -> None:
        for _ in range(n):
            s = self.rng.choice(self.slider_widgets)
            if s.isVisible() and s.isEnabled():
                s.setValue(self.rng.randint(s.minimum(), s.maximum()))
            yield
            self.done["sliders"] += 1
        self.controller.waitForIdle()

    def switches(self, n: int) -> None:
        w, c = self.window, self.controller
        for k in range(n):
            if k % 2:
                w.action(self.rng.choice(["theme.light", "theme.dark"])).trigger()
                if k % 10 == 1:
                    w.action("theme.colourBlind").trigger()
            else:
                c.update(cell=self.rng.choice(self.cells))
            yield
            self.done["switches"] += 1
        c.waitForIdle()

    def bad_files(self, n: int) -> None:
        w = self.window
        open_ = {"weights": w.openWeights, "input": w.openInput, "session": w.session.open}
        for k in range(n):
            kind, path = self.bad[k % len(self.bad)]
            if open_[kind](path):
                raise AssertionError(f"a bad file opened: {path!r}")
            yield
            box = w._lastError  # the user reads it and clicks OK
            box.button(QtWidgets.QMessageBox.StandardButton.Ok).click()
            yield
            self.done["bad_files"] += 1


def run_in_event_loop(app, steps) -> None:
    """Drive the generator ``steps`` from the application's event loop, one step per pass."""
    failure = []
    timer = QtCore.QTimer()
    timer.setInterval(0)

    def step():
        try:
            next(steps)
        except StopIteration:
            timer.stop()
            app.quit()
        except BaseException as exc:  # noqa: BLE001 - reported after the loop
            failure.append(exc)
            timer.stop()
            app.quit()

    timer.timeout.connect(step)
    timer.start()
    app.exec()
    if failure:
        raise failure[0]


def session(app, soak, counts, report):
    t0 = time.perf_counter()
    yield from soak.settle()
    report["initial"] = initial = figures(app)
    show("initial", initial, 0, 0.0)
    for name, n in WARM_UP.items():
        yield from getattr(soak, name)(n)
    warm = dict(soak.done)
    yield from soak.settle()
    report["start"] = start = figures(app)
    show("start", start, len(soak.exceptions), time.perf_counter() - t0)
    report["phases"] = {}
    for name in FULL:
        t = time.perf_counter()
        yield from getattr(soak, name)(counts[name])
        yield from soak.settle()
        report["phases"][name] = {"seconds": round(time.perf_counter() - t, 2), **figures(app)}
        show(name, report["phases"][name], len(soak.exceptions), time.perf_counter() - t0)
    yield from soak.settle()
    report["end"] = end = figures(app)
    show("end", end, len(soak.exceptions), time.perf_counter() - t0)
    report["counts"] = {k: soak.done[k] - warm[k] for k in soak.done}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller counts (what the test suite runs)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random slider moves")
    args = p.parse_args(argv)
    counts = QUICK if args.quick else FULL
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    t0 = time.perf_counter()
    soak = Soak(app, args.seed)
    report: dict = {}
    try:
        run_in_event_loop(app, session(app, soak, counts, report))
    finally:
        soak.close()
    start, end = report["start"], report["end"]
    delta = {k: round(end[k] - start[k], 1) for k in start}
    print(f"{'change':>10}: " + " · ".join(f"{k} {v:+}" for k, v in delta.items()))
    print(json.dumps({"benchmark": "soak", "quick": args.quick, "counts": report["counts"], "start": start,
                      "end": end, "delta": delta, "initial": report["initial"], "phases": report["phases"],
                      "exceptions": len(soak.exceptions), "exception_kinds": sorted(set(soak.exceptions))[:10],
                      "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
