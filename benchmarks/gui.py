"""GUI responsiveness, offscreen, on the real window driven through its real sliders.

    python benchmarks/gui.py [--quick]

For each scenario (the default window; a tanh RNN at T = 200, H = 12; Compare at T = 100,
H = 32; an LSTM at T = 1000, H = 128, D = 8 on noise) it prints median and p95 of

* one change → painted frame: the recurrent-weights QSlider moves to a new value with the GUI
  idle before (what this benchmark reported before; an optimistic figure);
* drag → painted frame: a synthetic mouse drag on the same slider (press on the handle, the
  pointer moves 3 px every 8 ms, as a 125 Hz mouse), timed from the moment the pointer reached
  a position to the end of the first frame that shows the result — the figure a user feels,
  since a drag gives the GUI thread no idle time between changes;

both measured where the frame is painted (benchmarks/frames.py: the window's UpdateRequest,
inside which Qt paints every dirty widget and flushes the backing store). Then play mode, how
long handing a big run to the worker blocks the GUI thread, and launch time. Ends with one JSON
line. benchmarks/realwindow.py measures the same drags in a real X11 window (the figure that
counts). Targets (issue 7): change → painted frame p95 ≤ 16 ms for the default window and for
Compare at T = 100, H = 32, ≤ 50 ms for the LSTM; handing a run to the worker blocks ≤ 16 ms.
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from PySide6 import QtCore, QtWidgets  # noqa: E402

from frames import FrameProbe, SyntheticDrag, host_reference_ms  # noqa: E402
from rnnviz.ui.controller import Controller  # noqa: E402
from rnnviz.ui.main_window import MainWindow  # noqa: E402

SCENARIOS = [  # (key, label, settings)
    ("default", "default (RNN tanh, H=8, T=30)", {}),
    ("rnn_T200_H12", "RNN tanh, T=200, H=12", dict(cell="rnn_tanh", T=200, hidden_size=12)),
    ("compare_T100_H32", "Compare, T=100, H=32", dict(cell="compare", T=100, hidden_size=32)),
    ("lstm_T1000_H128", "LSTM, T=1000, H=128, D=8, noise",
     dict(cell="lstm", T=1000, hidden_size=128, input_size=8, signal="noise")),
]


def _text_settings():
    """A tanh RNN reading the training paragraph's first 400 characters, one-hot in its 16
    most common symbols (the others dropped): a run whose time axes and Text tab read text."""
    from collections import Counter

    from rnnviz.core.text import one_hot
    from rnnviz.engine.train import SAMPLE_TEXT

    vocab = tuple(sorted(c for c, _ in Counter(SAMPLE_TEXT).most_common(16)))
    text = "".join(c for c in SAMPLE_TEXT if c in vocab)[:400]
    rows = tuple(map(tuple, one_hot(text, vocab).tolist()))
    return dict(cell="rnn_tanh", hidden_size=16, input_size=len(vocab), T=len(text), signal="custom",
                custom=rows, text=text)


#: Scenarios --panel may pick besides those above (made on demand).
EXTRA = {"text_T400_H16": ("RNN tanh reading 400 characters, H=16", _text_settings)}


def p95(values):
    return float(np.percentile(values, 95))


def open_window(app, settings, panel=None):
    c = Controller()
    c.update(**settings)
    c.recompute()
    window = MainWindow(c)
    if panel:
        window.showPanel(panel)  # the view in front of its tab group while the slider moves
    window.show()
    c.waitForIdle()
    c.toEnd()
    app.processEvents()
    window.repaint()
    return window


def close_window(app, window):
    window.close()
    window.deleteLater()
    app.processEvents()


def one_change_latency(app, window, slider, values):
    """ms from slider.setValue (what a drag does: valueChanged → controller.update → its 0-ms
    coalescing timer) to the end of the first painted frame showing the result, with the GUI
    idle before each change (work left for after the frame is let finish, untimed)."""
    c = window.controller
    probe = FrameProbe(window, slider)  # (the view panels' widgets only: see FrameProbe)
    out = []
    for v in values:
        c.waitForIdle()
        app.processEvents()
        probe.reset()
        if v == slider.value():
            v = (v + 1) % (slider.maximum() + 1)
        slider.setValue(v)
        deadline = time.perf_counter() + 5.0
        while not probe.changes or probe.changes[-1]["t_frame"] is None:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents)
            if time.perf_counter() > deadline:
                raise RuntimeError("no frame painted within 5 s")
        ch = probe.changes[-1]
        out.append((ch["t_frame"] - ch["t_value"]) * 1e3)
    probe.close()
    return out


def drag_latency(app, window, slider, drags):
    """Synthetic mouse drags (frames.SyntheticDrag): ms from the pointer reaching a position to
    the end of the frame that shows it; and the frames' own paint time."""
    c = window.controller
    probe = FrameProbe(window, slider)
    lat, paint, n, cpu, fpr = [], [], 0, [], []
    for _ in range(drags):
        c.waitForIdle()
        app.processEvents()
        probe.reset()
        SyntheticDrag(probe).run()
        t_end = time.perf_counter() + 2.0
        while any(ch["t_frame"] is None for ch in probe.changes) and time.perf_counter() < t_end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        s = probe.summary()
        lat += [(ch["t_frame"] - ch["t_event"]) * 1e3 for ch in probe.changes if ch["t_frame"] and ch["t_event"]]
        paint.append(s["frame_paint"]["median"])
        cpu.append(s["cpu_ms_per_recompute"])
        fpr.append(s["frames_per_recompute"])
        n += s["frames"]
    probe.close()
    return lat, float(np.median(paint)), n, float(np.median(cpu)), float(np.median(fpr))


def scenario(app, label, settings, values, drags, panel=None):
    window = open_window(app, settings, panel)
    slider = window.controls.groupSliders["recurrent_scale"].slider  # the QSlider a user drags
    one = one_change_latency(app, window, slider, values)
    drag, paint, frames, cpu, fpr = drag_latency(app, window, slider, drags)
    close_window(app, window)
    print(f"  {label:34s} one change median {statistics.median(one):6.1f} p95 {p95(one):6.1f} ms"
          f" | drag median {statistics.median(drag):6.1f} p95 {p95(drag):6.1f} ms"
          f" ({len(drag)} changes, {fpr:.1f} frames per recompute, frame {paint:.1f} ms, GUI CPU per"
          f" recompute {cpu:.1f} ms)")
    return {"one_median": statistics.median(one), "one_p95": p95(one),
            "drag_median": statistics.median(drag), "drag_p95": p95(drag), "drag_cpu_per_recompute": cpu}


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
    """A run too big for the GUI thread goes to a worker; the next change cancels it.

    Blocked: from the change to the end of the first event-loop pass after it (the settings
    handlers and handing the run over). Stall: the longest single event-loop pass while the
    worker runs (the worker competes for the GIL)."""
    c = Controller()
    window = MainWindow(c)
    window.show()
    c.recompute()
    c.waitForIdle()
    for _ in range(5):  # the window's first paint is not part of the hand-off
        app.processEvents()
    busy = []
    c.busyChanged.connect(lambda b: busy.append((time.perf_counter(), b)))
    t0 = time.perf_counter()
    c.update(cell="lstm", hidden_size=256, input_size=8, T=20000)
    app.processEvents()
    started_busy = bool(busy and busy[-1][1])
    gui_block = time.perf_counter() - t0
    stall, t_end = 0.0, time.perf_counter() + 0.3
    while time.perf_counter() < t_end:
        t = time.perf_counter()
        app.processEvents()
        stall = max(stall, time.perf_counter() - t)
        time.sleep(0.002)
    t1 = time.perf_counter()
    c.update(hidden_size=32, T=100)  # supersedes the big run
    app.processEvents()
    c.waitForIdle()
    window.repaint()
    back = time.perf_counter() - t1
    ok = c.result.cells[0].trace.H == 32 and not c.busy
    close_window(app, window)
    print(f"  LSTM T=20000 H=256 goes to a worker: GUI thread blocked {gui_block * 1e3:.1f} ms, longest stall "
          f"while it runs {stall * 1e3:.1f} ms, busy shown {started_busy}; a new change cancels it and repaints"
          f" in {back * 1e3:.1f} ms (result current: {ok})")
    return gui_block * 1e3, stall * 1e3, back * 1e3, ok and started_busy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--scenario", action="append", choices=[k for k, _, _ in SCENARIOS] + list(EXTRA))
    ap.add_argument("--panel", help="bring this panel to the front of its tab group (statespace: "
                                    "stateSpacePanel, diagramPanel, textPanel); figures get its name")
    ap.add_argument("--only-sliders", action="store_true", help="skip play mode, worker and launch")
    args = ap.parse_args()
    n = 30 if args.quick else 80
    drags = 1 if args.quick else 3
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    summary = {}
    rng = np.random.default_rng(0)
    probe = Controller()
    w = MainWindow(probe)
    slider = w.controls.groupSliders["recurrent_scale"].slider
    # integer positions over the slider's whole range: a recurrent scale from 0 to 3
    values = [int(v) for v in rng.integers(slider.minimum(), slider.maximum() + 1, n)]
    close_window(app, w)
    print(f"slider → painted frame (offscreen, 1600x1000, real sliders; one change: {n} changes with the GUI"
          f" idle before; drag: {drags} synthetic drags, 120 moves of 3 px every 8 ms)")
    chosen = [(k, lab, st) for k, lab, st in SCENARIOS if not args.scenario or k in args.scenario]
    chosen += [(k, lab, make()) for k, (lab, make) in EXTRA.items() if args.scenario and k in args.scenario]
    if args.panel:
        print(f"with {args.panel} in front of its tab group")
    for key, label, settings in chosen:
        ref = host_reference_ms()  # how fast the shared host is just now (lower is faster)
        r = scenario(app, label, settings, values, drags, args.panel)
        print(f"    host reference {ref:.2f} ms")
        name = f"{key}_{args.panel}" if args.panel else key
        for k, v in r.items():
            summary[f"slider_{name}_{k}_ms"] = round(v, 1)
        summary[f"slider_{name}_host_reference_ms"] = round(ref, 2)
    if not args.only_sliders:
        print("play mode")
        rate, skipped, per = play_mode(app, 2.0 if args.quick else 4.0)
        summary.update(play_steps_per_s=round(rate, 1), play_skipped=skipped, play_repaint_ms=round(per, 1))
        print("off the GUI thread")
        block, stall, back, ok = worker_cancel(app)
        summary.update(worker_gui_block_ms=round(block, 1), worker_gui_stall_ms=round(stall, 1),
                       worker_cancel_repaint_ms=round(back, 1), worker_ok=ok)
        print("launch")
        summary["launch_s"] = round(launch_time(3 if args.quick else 5), 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
