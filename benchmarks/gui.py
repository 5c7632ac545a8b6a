"""GUI responsiveness, offscreen, on the real window driven through its real sliders.

    python benchmarks/gui.py [--quick]

Prints each figure and ends with a one-line JSON summary. Targets (issue 3): slider change →
repainted frame p95 ≤ 16 ms for the default window and for Compare at T = 100, H = 32, and
≤ 50 ms for an LSTM at T = 1000, H = 128, D = 8; play mode holds 30 steps/s without dropped
steps; launch to first painted window ≤ 1.5 s.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from PySide6 import QtCore, QtWidgets  # noqa: E402

from rnnviz.ui.controller import Controller  # noqa: E402
from rnnviz.ui.main_window import MainWindow  # noqa: E402


def p95(values):
    return float(np.percentile(values, 95))


class FrameTimer(QtCore.QObject):
    """Times the end of the window's next painted frame.

    Qt paints a window when it handles its UpdateRequest event; this filter handles that
    event itself and notes the time right after, i.e. when the frame is complete.
    """

    def __init__(self, window):
        super().__init__()
        self.window = window
        self.done: float | None = None
        self.armed = False  # set when the controller publishes a new result
        window.controller.resultChanged.connect(self.arm)

    def arm(self, _result=None):
        if self.done is None:
            self.armed = True

    def eventFilter(self, obj, event):
        if (obj is self.window and event.type() == QtCore.QEvent.Type.UpdateRequest and self.armed
                and self.done is None):
            handled = obj.event(event)
            self.done = time.perf_counter()
            return handled
        return False


def slider_latency(app, window, slider, values):
    """Seconds from a slider value change to the end of the next painted frame, per change.

    ``slider.setValue`` is what a drag does: the real QSlider emits valueChanged, the panel
    calls controller.update, which arms the controller's coalescing 0-ms timer. Then the
    event loop runs: the timer recomputes (engine run, views updated) and Qt paints every
    widget that changed in the window's next UpdateRequest — the frame the user sees, timed
    by FrameTimer. Work the controller leaves for after that frame (the slow curves of
    bigger runs, on the GUI or a worker thread) is let finish, untimed, before the next change.
    """
    c = window.controller
    timer = FrameTimer(window)
    window.installEventFilter(timer)
    out = []
    for v in values:
        c.waitForIdle()
        app.processEvents()
        timer.done, timer.armed = None, False
        t0 = time.perf_counter()
        slider.setValue(v)
        deadline = t0 + 5.0
        while timer.done is None:  # the first frame painted after the new result
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents)
            if time.perf_counter() > deadline:
                raise RuntimeError("no frame painted within 5 s")
        out.append(timer.done - t0)
    window.removeEventFilter(timer)
    return out


def scenario(app, name, settings, values, slider_name="recurrent_scale"):
    c = Controller()
    c.update(**settings)
    c.recompute()
    window = MainWindow(c)
    window.show()
    c.waitForIdle()
    c.toEnd()
    app.processEvents()
    window.repaint()
    slider = window.controls.groupSliders[slider_name].slider  # the QSlider a user drags
    lat = slider_latency(app, window, slider, values)
    window.close()
    window.deleteLater()
    app.processEvents()
    ms = [x * 1e3 for x in lat]
    print(f"  {name:38s} median {statistics.median(ms):6.1f} ms   p95 {p95(ms):6.1f} ms   max {max(ms):6.1f} ms"
          f"   ({len(ms)} changes)")
    return statistics.median(ms), p95(ms)


def play_mode(app, seconds=3.0):
    c = Controller()
    c.update(T=2000)
    c.recompute()
    window = MainWindow(c)
    window.show()
    c.waitForIdle()
    c.toStart()
    c.setSpeed(30)
    steps, handle = [], []

    def on_step(t):
        t0 = time.perf_counter()
        window.repaint()
        handle.append(time.perf_counter() - t0)
        steps.append((time.perf_counter(), t))

    c.stepChanged.connect(on_step)
    c.setPlaying(True)
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
    c.setPlaying(False)
    window.close()
    window.deleteLater()
    app.processEvents()
    ts = [s[1] for s in steps]
    skipped = sum(1 for a, b in zip(ts, ts[1:]) if b - a != 1)
    rate = (len(steps) - 1) / (steps[-1][0] - steps[0][0])
    print(f"  play at 30 steps/s for {seconds:.0f} s: {len(steps)} steps, {rate:.1f} steps/s, "
          f"skipped {skipped}, repaint per step median {statistics.median(handle) * 1e3:.1f} ms,"
          f" max {max(handle) * 1e3:.1f} ms")
    return rate, skipped, statistics.median(handle) * 1e3


def launch_time(runs=5):
    times = []
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    for _ in range(runs):
        env["RNNVIZ_T0"] = repr(time.time())
        res = subprocess.run([sys.executable, "-m", "rnnviz"], env=env, capture_output=True, text=True, timeout=60)
        line = [ln for ln in res.stdout.splitlines() if ln.startswith("first-paint")]
        if not line:
            raise RuntimeError(f"no first-paint report: {res.stdout}{res.stderr}")
        times.append(float(line[0].split()[1]))
    print(f"  launch → first painted window: median {statistics.median(times):.2f} s, max {max(times):.2f} s"
          f" ({runs} launches)")
    return statistics.median(times)


def worker_cancel(app):
    """A run too big for the GUI thread goes to a worker; the next change cancels it."""
    c = Controller()
    window = MainWindow(c)
    window.show()
    c.recompute()
    c.waitForIdle()
    busy = []
    c.busyChanged.connect(lambda b: busy.append((time.perf_counter(), b)))
    t0 = time.perf_counter()
    c.update(cell="lstm", hidden_size=256, input_size=8, T=20000)
    app.processEvents()
    started_busy = bool(busy and busy[-1][1])
    gui_block = time.perf_counter() - t0
    time.sleep(0.05)
    app.processEvents()
    t1 = time.perf_counter()
    c.update(hidden_size=32, T=100)  # supersedes the big run
    app.processEvents()
    c.waitForIdle()
    window.repaint()
    back = time.perf_counter() - t1
    ok = c.result.cells[0].trace.H == 32 and not c.busy
    window.close()
    window.deleteLater()
    app.processEvents()
    print(f"  LSTM T=20000 H=256 goes to a worker: GUI thread blocked {gui_block * 1e3:.1f} ms, busy shown "
          f"{started_busy}; a new change cancels it and repaints in {back * 1e3:.1f} ms (result current: {ok})")
    return gui_block * 1e3, back * 1e3, ok and started_busy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 30 if args.quick else 80
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    summary = {}
    rng = np.random.default_rng(0)
    vals = lambda slider: [int(v) for v in rng.integers(slider.minimum(), slider.maximum() + 1, n)]  # noqa: E731
    print("slider change → repainted window (offscreen, 1600x1000, real sliders)")
    cases = [
        ("default (RNN tanh, H=8, T=30)", {}, "default"),
        ("Compare, T=100, H=32", dict(cell="compare", T=100, hidden_size=32), "compare_T100_H32"),
        ("LSTM, T=1000, H=128, D=8", dict(cell="lstm", T=1000, hidden_size=128, input_size=8), "lstm_T1000_H128"),
    ]
    probe = Controller()
    w = MainWindow(probe)
    # integer positions over the slider's whole range: a recurrent scale from 0 to 3
    values = vals(w.controls.groupSliders["recurrent_scale"].slider)
    w.close()
    w.deleteLater()
    for name, settings, key in cases:
        med, q95 = scenario(app, name, settings, values)
        summary[f"slider_{key}_median_ms"] = round(med, 1)
        summary[f"slider_{key}_p95_ms"] = round(q95, 1)
    print("play mode")
    rate, skipped, per = play_mode(app, 2.0 if args.quick else 4.0)
    summary.update(play_steps_per_s=round(rate, 1), play_skipped=skipped, play_repaint_ms=round(per, 1))
    print("off the GUI thread")
    block, back, ok = worker_cancel(app)
    summary.update(worker_gui_block_ms=round(block, 1), worker_cancel_repaint_ms=round(back, 1), worker_ok=ok)
    print("launch")
    summary["launch_s"] = round(launch_time(3 if args.quick else 5), 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
