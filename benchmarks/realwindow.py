"""Slider drag → painted frame in a real X11 window, driven by xdotool mouse drags.

    tools/xvfb-run-app [-s 1920x1080x24] .venv/bin/python benchmarks/realwindow.py [--quick]
        [-v] [--scenario NAME ...] [--shot DIR] [--cprofile DIR] [--keep DIR] [--env NAME=VALUE ...]

Needs an X display (the wrapper starts Xvfb and openbox) and xdotool. For each scenario it
starts the app in a child process (``--child``: the window exactly as ``rnnviz`` opens it,
plus :class:`frames.FrameProbe`), presses the mouse on the handle of the recurrent-weights
slider, moves it back and forth in steps of a few pixels every 8 ms (a 125 Hz mouse), lets go,
and repeats. The child writes what it measured as JSON; this script prints median and p95 of

* X event → frame: from the X server's timestamp of the motion event to the end of the
  first frame that shows its result (what a user sees);
* X event → settled: … to the end of the last frame painted for it (one change takes several
  frames: each QGraphicsScene that changed flushes one of its own);
* Qt input → frame: from Qt handling the mouse event to the end of the first frame;
* the time one view frame takes to paint and flush, and the GUI thread's CPU time per
  recompute (the whole cycle: mouse events, settings handlers, engine, views, frames);

and ends with one JSON line. Each scenario's line ends with the host reference
(:func:`frames.host_reference_ms`, lower is faster): this shared machine runs the same code
1.5-2x slower in its busy phases, so compare figures measured at a similar reference.
``-v`` adds where the time goes (it times each widget's paint, which costs every frame a
little: the latencies without ``-v`` are the ones to quote). ``--env`` sets variables for
the child only (A/B switches from benchmarks/experiments.py, e.g.
``--env RNNVIZ_EXPERIMENT=fixed_labels``); ``--cprofile DIR`` writes a cProfile of each
scenario's drags; ``--shot DIR`` a screenshot of the screen after each; ``--keep DIR`` the
child's raw JSON with the timeline. The start page the app shows in a real window is
dismissed first (it covers the window, and a click on it only dismisses it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SCENARIOS = {
    "default": {},
    "rnn_T200_H12": dict(cell="rnn_tanh", T=200, hidden_size=12),
    "compare_T100_H32": dict(cell="compare", T=100, hidden_size=32),
    "lstm_T1000_H128_D8_noise": dict(cell="lstm", T=1000, hidden_size=128, input_size=8, signal="noise"),
}
LABELS = {
    "default": "default (RNN tanh, H=8, T=30)",
    "rnn_T200_H12": "RNN tanh, T=200, H=12",
    "compare_T100_H32": "Compare, T=100, H=32",
    "lstm_T1000_H128_D8_noise": "LSTM, T=1000, H=128, D=8, noise",
}


# ---------------------------------------------------------------------- the child (the app)
def child(args) -> int:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    from PySide6 import QtCore, QtWidgets

    from frames import FrameProbe
    from rnnviz.ui.app import _application
    from rnnviz.ui.controller import Controller
    from rnnviz.ui.main_window import MainWindow

    notify = _NotifyTimer.install() if os.environ.get("RNNVIZ_NOTIFY") else None
    app = _application()
    c = Controller()
    c.update(**SCENARIOS[args.child])
    c.recompute()
    _experiments(None)
    window = MainWindow(c)
    window.show()
    c.waitForIdle()
    c.toEnd()
    start = getattr(window, "startPanel", None)
    if start is not None:
        start.hide()  # a user dismisses the start page before dragging (it covers the window)
    slider = window.controls.groupSliders["recurrent_scale"].slider
    probe = FrameProbe(window, slider, paint_times=args.paint_times)
    probe.enabled = False
    _experiments(window)  # after the probe: their event filters run before its
    profiler = None
    if args.cprofile_out:
        import cProfile

        profiler = cProfile.Profile()

    def handle_geometry():
        from PySide6.QtWidgets import QStyle, QStyleOptionSlider

        window.controlsScroll.ensureWidgetVisible(slider)
        opt = QStyleOptionSlider()
        slider.initStyleOption(opt)
        style = slider.style()
        handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, slider)
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, slider)
        g0 = slider.mapToGlobal(groove.topLeft())
        h = slider.mapToGlobal(handle.center())
        return {"handle": [h.x(), h.y()], "groove_x": [g0.x(), g0.x() + groove.width()], "value": slider.value(),
                "range": [slider.minimum(), slider.maximum()],
                "window": [window.geometry().x(), window.geometry().y(), window.width(), window.height()],
                "dpr": window.devicePixelRatioF(), "platform": QtWidgets.QApplication.platformName(),
                "screen": [window.screen().size().width(), window.screen().size().height()]}

    state = {"phase": "idle"}

    def poll():
        # The driver talks through files: go (start recording), stop (write the log, quit).
        if state["phase"] == "idle" and not os.path.exists(args.ready):
            QtCore.QTimer.singleShot(300, write_ready)  # let the first frames settle
            state["phase"] = "readying"
        if state["phase"] == "ready" and os.path.exists(args.ready + ".go"):
            c.waitForIdle()
            probe.reset()
            probe.enabled = True
            if notify:
                notify.on = True
            if profiler:
                profiler.enable()
            state["phase"] = "recording"
        if state["phase"] == "recording" and os.path.exists(args.ready + ".stop"):
            state["phase"] = "done"
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.cprofile_out)
            probe.enabled = False
            finish()

    def write_ready():
        geo = handle_geometry()
        with open(args.ready + ".tmp", "w") as f:
            json.dump(geo, f)
        os.replace(args.ready + ".tmp", args.ready)
        state["phase"] = "ready"

    def finish():
        out = probe.summary()
        out["geometry"] = handle_geometry()
        if notify:
            notify.on = False
            out["notify"] = notify.table()
        t0 = probe.changes[0]["t_input"] if probe.changes else 0.0
        rel = lambda t: None if t is None else round((t - t0) * 1e3, 2)  # noqa: E731
        out["timeline"] = {
            "changes": [[rel(ch["t_input"]), rel(ch["t_value"]), rel(ch["t_result"]), rel(ch["t_frame"]),
                         rel(ch["t_event"])]
                        for ch in probe.changes],
            "frames": [[rel(f["t_start"]), rel(f["t_end"]), sorted(f["painted"])] for f in probe.frames],
            "results": [rel(t) for t in probe.results],
            "spans": [[k, rel(a), rel(b)] for k, a, b in probe.spans],
        }
        with open(args.out, "w") as f:
            json.dump(out, f)
        # No quit: the window would ask whether to save the (changed) session.
        sys.stdout.flush()
        if hasattr(window, "_eventLogDump"):
            window._eventLogDump()
        os._exit(0)

    timer = QtCore.QTimer()
    timer.timeout.connect(poll)
    timer.start(50)
    return app.exec()


class _NotifyTimer:
    """Diagnosis only (RNNVIZ_NOTIFY=1): GUI-thread time per outermost event, by event type and
    receiver class, through an overridden QApplication.notify (adds a few µs per event)."""

    @classmethod
    def install(cls):
        from PySide6 import QtWidgets

        self = cls()
        self.on, self.depth, self.totals, self.nested, self.outer = False, 0, {}, {}, None

        class App(QtWidgets.QApplication):
            def notify(app, receiver, event):  # noqa: N805
                if not self.on or self.depth:
                    if self.on and event.type() == event.Type.UpdateRequest:
                        k = ("nested UpdateRequest in " + self.outer[0], self.outer[1])
                        self.nested[k] = self.nested.get(k, 0) + 1
                    self.depth += 1
                    try:
                        return QtWidgets.QApplication.notify(app, receiver, event)
                    finally:
                        self.depth -= 1
                t0 = time.perf_counter()
                key = (event.type().name, type(receiver).__name__)
                self.outer = key
                self.depth += 1
                try:
                    return QtWidgets.QApplication.notify(app, receiver, event)
                finally:
                    self.depth -= 1
                    n, total = self.totals.get(key, (0, 0.0))
                    self.totals[key] = (n + 1, total + time.perf_counter() - t0)

        self.app = App(sys.argv[:1])
        return self

    def table(self):
        rows = sorted(self.totals.items(), key=lambda kv: -kv[1][1])
        return ([[f"{k[0]} → {k[1]}", n, round(t * 1e3, 1)] for k, (n, t) in rows[:25]]
                + [[f"{k[0]} → {k[1]}", n, 0.0] for k, n in self.nested.items()])


def _experiments(window) -> None:
    """Optional A/B switches for the diagnosis (RNNVIZ_EXPERIMENT=a,b,…); off by default.
    ``*_pre`` ones run before the window is built (window is None), the others after."""
    names = [n for n in os.environ.get("RNNVIZ_EXPERIMENT", "").split(",") if n]
    if not names:
        return
    import experiments  # benchmarks/experiments.py

    for name in names:
        if name.endswith("_pre") == (window is None):
            getattr(experiments, name)() if window is None else getattr(experiments, name)(window)


# ---------------------------------------------------------------------- the driver
def xdotool(*argv) -> None:
    subprocess.run(["xdotool", *map(str, argv)], check=True)


def drag_script(geo, moves: int, step_px: int, period_s: float) -> list[str]:
    """One xdotool command line: press on the handle, move back and forth, release."""
    x, y = geo["handle"]
    lo, hi = geo["groove_x"]
    lo, hi = lo + 6, hi - 6
    cmd = ["mousemove", x, y, "sleep", "0.2", "mousedown", "1", "sleep", "0.05"]
    direction = 1
    for _ in range(moves):
        if not lo <= x + direction * step_px <= hi:
            direction = -direction
        x += direction * step_px
        cmd += ["mousemove", x, y, "sleep", f"{period_s:.3f}"]
    cmd += ["sleep", "0.1", "mouseup", "1"]
    return [str(a) for a in cmd]


def run_scenario(name, args, workdir) -> dict:
    ready = os.path.join(workdir, f"{name}.ready")
    out = os.path.join(workdir, f"{name}.json")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    for kv in args.env:
        k, _, v = kv.partition("=")
        env[k] = v
    cmd = [sys.executable, os.path.abspath(__file__), "--child", name, "--ready", ready, "--out", out]
    if args.verbose:
        cmd.append("--paint-times")  # each widget's paint timed: costs the frames a little
    if args.cprofile:
        os.makedirs(args.cprofile, exist_ok=True)
        cmd += ["--cprofile-out", os.path.join(args.cprofile, f"{name}.prof")]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    try:
        deadline = time.time() + 60
        while not os.path.exists(ready):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{name}: the app did not come up")
            time.sleep(0.05)
        with open(ready) as f:
            geo = json.load(f)
        xdotool("mousemove", 5, 5)
        time.sleep(0.3)
        open(ready + ".go", "w").close()
        time.sleep(0.3)
        for _ in range(args.drags):
            xdotool(*drag_script(geo, args.moves, args.step_px, args.period))
            time.sleep(0.5)
        if args.shot:
            os.makedirs(args.shot, exist_ok=True)
            subprocess.run(["import", "-window", "root", os.path.join(args.shot, f"{name}.png")], check=False)
        time.sleep(0.5)
        open(ready + ".stop", "w").close()
        proc.wait(timeout=120)
        with open(out) as f:
            res = json.load(f)
        for row in res.get("notify", []):
            print(f"      {row[0]:60s} {row[1]:5d}×  {row[2]:8.1f} ms")
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            shutil.copy(out, os.path.join(args.keep, f"{name}.json"))
    finally:
        if proc.poll() is None:
            proc.kill()
    res["geometry_before"] = geo
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child")
    ap.add_argument("--ready")
    ap.add_argument("--out")
    ap.add_argument("--cprofile-out")
    ap.add_argument("--paint-times", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    ap.add_argument("--drags", type=int, default=None)
    ap.add_argument("--moves", type=int, default=120, help="mouse moves per drag")
    ap.add_argument("--step-px", type=int, default=3)
    ap.add_argument("--period", type=float, default=0.008, help="seconds between mouse moves")
    ap.add_argument("--shot", help="directory for a screenshot of the screen after each scenario")
    ap.add_argument("--cprofile", help="directory for a cProfile of the app during each scenario's drags")
    ap.add_argument("-v", "--verbose", action="store_true", help="also print where the time goes")
    ap.add_argument("--keep", help="directory to keep each scenario's raw JSON (with its timeline) in")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the app process only")
    args = ap.parse_args()
    if args.child:
        return child(args)
    if not os.environ.get("DISPLAY") or not shutil.which("xdotool"):
        print("needs DISPLAY and xdotool: run it as tools/xvfb-run-app python benchmarks/realwindow.py", file=sys.stderr)
        return 2
    if args.drags is None:
        args.drags = 2 if args.quick else 4
    names = args.scenario or list(SCENARIOS)
    screen = subprocess.run(["xdpyinfo"], capture_output=True, text=True).stdout
    dims = next((ln.split()[1] for ln in screen.splitlines() if "dimensions:" in ln), "?")
    print(f"slider drag → painted frame (real X11 window on {os.environ['DISPLAY']}, screen {dims}, "
          f"xdotool: {args.drags} drags × {args.moves} moves of {args.step_px} px every {args.period * 1e3:.0f} ms)")
    if args.env:
        print("  app environment: " + " ".join(args.env))
    summary = {"screen": dims}
    sys.path.insert(0, HERE)
    from frames import host_reference_ms

    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            ref = host_reference_ms()  # the host's speed just before (it drifts within minutes)
            r = run_scenario(name, args, workdir)
            g = r["geometry"]
            xf, inp, fr, st = r["event_to_frame"], r["input_to_frame"], r["frame_paint"], r["event_to_settled"]
            print(f"  {LABELS[name]:34s} X event→frame median {xf.get('median', float('nan')):6.1f} "
                  f"p95 {xf.get('p95', float('nan')):6.1f} ms | X event→settled median {st['median']:6.1f} "
                  f"p95 {st['p95']:6.1f} ms | Qt input→frame median {inp['median']:6.1f} "
                  f"p95 {inp['p95']:6.1f} ms | frame paint+flush median {fr['median']:5.1f} ms "
                  f"| GUI CPU per recompute {r['cpu_ms_per_recompute']:5.1f} ms ({r['cpu_share'] * 100:.0f}% busy) "
                  f"| {r['painted_changes']}/{r['changes']} changes, {r['frames']} frames, "
                  f"window {g['window'][2]}x{g['window'][3]}, longest GUI block {r['longest_block_ms']:.0f} ms"
                  f" | host reference {ref:.2f} ms")
            if args.verbose:
                print(f"    painted px per frame: {r['painted_px_per_frame']}  widgets/frame {r['widgets_per_frame']:.1f}"
                      f"  value→result median {r['value_to_result']['median']:.1f} ms, result→frame median "
                      f"{r['result_to_frame']['median']:.1f} ms, X event→Qt median {r['event_to_input']['median']:.1f} ms")
                print(f"    paint ms per view frame (median): {r['paint_ms_per_frame']}")
                print(f"    per recompute: recompute+views median {r['recompute']['median']:.1f} ms, "
                      f"{r['frames_per_recompute']:.1f} frames, GUI busy {r['busy_ms_per_recompute']:.1f} ms; "
                      f"other timers: " + ", ".join(f"{k} {v['n']}× median {v['median']:.1f} ms"
                                                     for k, v in r['other_timers'].items()))
            summary[f"real_{name}_event_median_ms"] = round(xf.get("median", float("nan")), 1)
            summary[f"real_{name}_event_p95_ms"] = round(xf.get("p95", float("nan")), 1)
            summary[f"real_{name}_settled_median_ms"] = round(st["median"], 1)
            summary[f"real_{name}_settled_p95_ms"] = round(st["p95"], 1)
            summary[f"real_{name}_value_median_ms"] = round(inp["median"], 1)
            summary[f"real_{name}_value_p95_ms"] = round(inp["p95"], 1)
            summary[f"real_{name}_frame_median_ms"] = round(fr["median"], 1)
            summary[f"real_{name}_cpu_per_recompute_ms"] = round(r["cpu_ms_per_recompute"], 1)
            summary[f"real_{name}_gui_block_max_ms"] = round(r["longest_block_ms"], 1)
            summary[f"real_{name}_host_reference_ms"] = round(ref, 2)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
