"""Training speed and memory against PyTorch: one update = forward + BPTT + clipping + Adam's step.

    python benchmarks/train.py                  # PyTorch's columns when torch is importable
    python benchmarks/train.py --against ../main   # also time another checkout, interleaved
    python benchmarks/train.py --cpu            # CPU time instead of wall clock (busy machines)

One thread everywhere (``torch.set_num_threads(1)``), the same model (PyTorch's initialisation
from rnnviz's seed, loaded into torch's ``RNNModel``) and the same batch of the adding problem
(B sequences of T steps, D = 2, MSE at the last step), float32 on both sides, Adam lr 1e-2 and
clipping at 1, as the classroom defaults. Each figure is the median over repeats of the mean
time of a few updates; rnnviz and torch are timed alternately so both see the same machine load.

Targets (issue 9): LSTM and GRU at H=32, T=50, B=32 ≤ 1.0× PyTorch; at H=128, T=100, B=32
≤ 1.5×; the tanh RNN at H=32, T=50, B=32 ≤ 1.0×. Peak memory: tracemalloc's peak of one
rnnviz update (NumPy's allocations), and the process's maximum resident set at the end.

    python benchmarks/train.py --app [--seconds S]      # the live app, offscreen
    tools/xvfb-run-app python benchmarks/train.py --app  # the same in a real X11 window

``--app`` opens the real window on the Train tab with the classroom defaults and RNN, GRU and
LSTM side by side (the adding problem, T = 20, H = 16, Adam 1e-2, clip 1, batch 32) and trains
on the worker thread as the Train button does. It prints updates per second, repaints per
second of each Train plot (paint events of its view), the GUI thread's CPU share and its
profile (``--profile``: cProfile's top functions on the GUI thread while it trains), then, with
training still running, the Explore tab's recurrent-weights slider → painted frame (median,
p95; benchmarks/gui.py's measure), and the process's resident memory at the start and its
peak. Targets (issue 9): ≥ 20 updates/s; plots repaint ≥ 10 times/s; slider → frame p95 ≤ 50 ms.
Ends with one JSON line.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import rnnviz.engine.train as ours  # noqa: E402

#: (kind, H, T, B, target ratio to torch)
CASES = (
    ("lstm", 32, 50, 32, 1.0),
    ("gru", 32, 50, 32, 1.0),
    ("rnn", 32, 50, 32, 1.0),
    ("lstm", 128, 100, 32, 1.5),
    ("gru", 128, 100, 32, 1.5),
)
D, LR, CLIP = 2, 1e-2, 1.0
CLOCK = time.perf_counter


def load_other(folder: str):
    """``rnnviz.engine.train`` of another checkout, imported under the name ``rnnviz_other``."""
    pkg = os.path.join(os.path.abspath(folder), "rnnviz")
    spec = importlib.util.spec_from_file_location(
        "rnnviz_other", os.path.join(pkg, "__init__.py"), submodule_search_locations=[pkg])
    module = importlib.util.module_from_spec(spec)
    sys.modules["rnnviz_other"] = module
    spec.loader.exec_module(module)
    return importlib.import_module("rnnviz_other.engine.train")


def rnnviz_stepper(train, kind, H, xs, ys, mask, dtype=np.float32):
    """A function doing one update with ``train`` (a rnnviz.engine.train module), state kept."""
    model = train.init_model(kind, D, H, 1, seed=0)
    opt = train.Adam(lr=LR)
    box = [model, opt.init(model.state_dict(np.dtype(dtype)))]

    def step():
        box[0], box[1], _ = train.update(box[0], opt, box[1], xs, ys, mask, loss="mse", clip=CLIP, dtype=dtype)

    return step


def torch_stepper(kind, H, xs, ys, mask):
    """The same update in PyTorch eager on one thread, or None without torch."""
    try:
        import torch
    except Exception:  # ImportError, or an install that cannot load its libraries
        return None
    torch.set_num_threads(1)
    nn = torch.nn

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](D, H, 1)
            self.fc = nn.Linear(H, 1)

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.fc(y)

    model = RNNModel()
    state = ours.init_model(kind, D, H, 1, seed=0).state_dict(np.float32)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    x = torch.from_numpy(np.ascontiguousarray(xs.transpose(1, 0, 2), np.float32))
    t = torch.from_numpy(np.ascontiguousarray(ys.transpose(1, 0, 2), np.float32))
    m = torch.from_numpy(mask.T.astype(bool))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.mse_loss(model(x)[m], t[m])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()

    return step


def timed(steppers, repeats: int, per: int):
    """Median seconds per update of each stepper, timed in turn (the order alternates)."""
    for f in steppers:
        f()  # warm up (caches, first allocations)
    times = [[] for _ in steppers]
    order = list(range(len(steppers)))
    for r in range(repeats):
        for j in (order if r % 2 == 0 else order[::-1]):
            t0 = CLOCK()
            for _ in range(per):
                steppers[j]()
            times[j].append((CLOCK() - t0) / per)
    return [statistics.median(t) for t in times]


def peak_mib(step) -> float:
    step()
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _rss_mib() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def live_app(seconds: float, changes: int, profile: bool) -> dict:
    """The live app's training rates (see the module docstring)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    from PySide6 import QtCore, QtWidgets

    from gui import one_change_latency, p95
    from rnnviz.ui import training as UT
    from rnnviz.ui.controller import Controller
    from rnnviz.ui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rss0 = _rss_mib()
    c = Controller()
    c.recompute()
    window = MainWindow(c)
    window.resize(1600, 1000)
    window.show()
    c.waitForIdle()
    window.modes.setCurrentIndex(1)
    tc = UT.training_for(c)
    tc.configure(cell="compare")  # the classroom defaults otherwise
    for _ in range(20):
        app.processEvents()

    class Paints(QtCore.QObject):
        def __init__(self):
            super().__init__()
            self.count = {}
            self.views = {}
            for pid in ("lossPanel", "gradientPanel", "contribPanel", "weightsPanel"):
                for view in window.panels[pid].findChildren(QtWidgets.QGraphicsView):
                    self.views[view.viewport()] = pid
                    view.viewport().installEventFilter(self)
            self.count = {pid: 0 for pid in set(self.views.values())}

        def eventFilter(self, obj, ev):
            if ev.type() == QtCore.QEvent.Type.Paint and obj in self.views:
                self.count[self.views[obj]] += 1
            return False

    paints = Paints()

    def pump(duration: float) -> None:
        end = time.perf_counter() + duration
        while time.perf_counter() < end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.001)

    config = tc.session.config
    print(f"live app ({os.environ.get('QT_QPA_PLATFORM')}): Train tab, {', '.join(config.cells)} side by side, "
          f"{config.task} T={config.length}, H={config.hidden_size}, {config.optimizer} lr {config.lr}, "
          f"clip {config.clip}, batch {config.batch}; {seconds:.0f} s")
    tc.start()
    pump(1.0)  # warm up: the first snapshots, the plots' first layout
    for pid in paints.count:
        paints.count[pid] = 0
    u0, t0, cpu0 = tc.session.updates, time.perf_counter(), time.thread_time()
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    pump(seconds)
    if prof is not None:
        prof.disable()
    wall = time.perf_counter() - t0
    gui_cpu = (time.thread_time() - cpu0) / wall
    ups = (tc.session.updates - u0) / wall
    repaints = {pid: n / wall for pid, n in sorted(paints.count.items())}
    print(f"  updates/s {ups:6.1f} (target ≥ 20)    GUI thread CPU {100 * gui_cpu:4.0f} % of wall time")
    print("  plot repaints/s " + ", ".join(f"{pid} {r:4.1f}" for pid, r in repaints.items()) + " (target ≥ 10)")
    if prof is not None:
        import io
        import pstats

        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(18)
        print("  GUI thread profile while training (cumulative):")
        print("\n".join("    " + line for line in out.getvalue().splitlines()[6:32] if line.strip()))

    # Explore's slider while training goes on (the Train plots hidden: drawn when shown again)
    window.modes.setCurrentIndex(0)
    pump(0.5)
    slider = window.controls.groupSliders["recurrent_scale"].slider
    u1, t1 = tc.session.updates, time.perf_counter()
    values = [slider.minimum() + (k * 7) % max(1, slider.maximum() - slider.minimum()) for k in range(changes)]
    lat = one_change_latency(app, window, slider, values)
    ups_explore = (tc.session.updates - u1) / (time.perf_counter() - t1)
    running = tc.session.running
    tc.pause()
    print(f"  Explore slider → painted frame while training: median {statistics.median(lat):5.1f} ms, "
          f"p95 {p95(lat):5.1f} ms (target ≤ 50; {len(lat)} changes; training {ups_explore:.1f} updates/s"
          f"{'' if running else ', stopped'})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  memory: resident {rss0:.0f} MiB before the window, {_rss_mib():.0f} MiB now, peak {peak:.0f} MiB")
    window.close()
    app.processEvents()
    return {"platform": os.environ.get("QT_QPA_PLATFORM"), "updates_per_s": round(ups, 1),
            "repaints_per_s": {k: round(v, 1) for k, v in repaints.items()},
            "gui_cpu_share": round(gui_cpu, 3), "slider_frame_median_ms": round(statistics.median(lat), 1),
            "slider_frame_p95_ms": round(p95(lat), 1), "updates_per_s_during_slider": round(ups_explore, 1),
            "rss_start_mib": round(rss0, 1), "peak_rss_mib": round(peak, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--app", action="store_true", help="the live app's training rates (see above)")
    ap.add_argument("--seconds", type=float, default=10.0, help="--app: seconds of training measured")
    ap.add_argument("--changes", type=int, default=40, help="--app: slider changes while training")
    ap.add_argument("--profile", action="store_true", help="--app: cProfile of the GUI thread while training")
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--per", type=int, default=5, help="updates per timing (default 5)")
    ap.add_argument("--quick", action="store_true", help="3 repeats of 2 updates")
    ap.add_argument("--against", metavar="DIR", help="another checkout to time, interleaved with this one")
    ap.add_argument("--cpu", action="store_true", help="time CPU use instead of wall clock")
    ap.add_argument("--float64", action="store_true", help="also time rnnviz in float64")
    args = ap.parse_args()
    if args.app:
        print(json.dumps(live_app(args.seconds, args.changes, args.profile)))
        return
    global CLOCK
    if args.cpu:
        CLOCK = time.process_time
    reps, per = (3, 2) if args.quick else (args.repeats, args.per)
    other = load_other(args.against) if args.against else None
    have_torch = torch_stepper("rnn", 2, np.zeros((1, 2, D)), np.zeros((1, 2, 1)), np.ones((1, 2))) is not None

    print(f"one training update (forward + BPTT + clip + Adam), adding problem, D={D}, float32, 1 thread, "
          f"median of {reps} × {per} updates" + ("" if have_torch else " (torch not installed: no torch columns)"))
    head = f"  {'case':22s} {'rnnviz ms':>10s}"
    if args.float64:
        head += f" {'float64 ms':>10s}"
    if other is not None:
        head += f" {'other ms':>9s} {'this/other':>10s}"
    if have_torch:
        head += f" {'torch ms':>9s} {'ratio':>6s} {'target':>7s}"
    head += f" {'peak MiB':>9s}"
    print(head)
    summary = {}
    for kind, H, T, B, target in CASES:
        xs, ys, mask = ours.adding(B, T, seed=0)
        steppers = [rnnviz_stepper(ours, kind, H, xs, ys, mask)]
        if args.float64:
            steppers.append(rnnviz_stepper(ours, kind, H, xs, ys, mask, np.float64))
        if other is not None:
            steppers.append(rnnviz_stepper(other, kind, H, xs, ys, mask))
        if have_torch:
            steppers.append(torch_stepper(kind, H, xs, ys, mask))
        got = timed(steppers, reps, per)
        key = f"{kind}_H{H}_T{T}_B{B}"
        mine = got.pop(0)
        summary[f"{key}_ms"] = round(mine * 1e3, 3)
        line = f"  {key:22s} {mine * 1e3:10.2f}"
        if args.float64:
            f64 = got.pop(0)
            summary[f"{key}_float64_ms"] = round(f64 * 1e3, 3)
            line += f" {f64 * 1e3:10.2f}"
        if other is not None:
            theirs = got.pop(0)
            summary[f"{key}_other_ms"] = round(theirs * 1e3, 3)
            summary[f"{key}_vs_other"] = round(mine / theirs, 3)
            line += f" {theirs * 1e3:9.2f} {mine / theirs:10.2f}"
        if have_torch:
            t = got.pop(0)
            summary[f"{key}_torch_ms"] = round(t * 1e3, 3)
            summary[f"{key}_ratio"] = round(mine / t, 3)
            line += f" {t * 1e3:9.2f} {mine / t:6.2f} {'≤ ' + str(target):>7s}"
        peak = peak_mib(rnnviz_stepper(ours, kind, H, xs, ys, mask))
        summary[f"{key}_peak_mib"] = round(peak, 2)
        line += f" {peak:9.2f}"
        print(line)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    summary["max_rss_mib"] = round(rss, 1)
    print(f"  process maximum resident set: {rss:.1f} MiB (torch included when loaded)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
