"""The state-space view: its cost per slider change, and the fixed-point search.

    python benchmarks/statespace.py [--quick]

Prints, with the state-space tab in front (benchmarks/gui.py measures the window with the
fading tab, the default one):

* one change → painted frame and drag → painted frame on the recurrent-weights slider, as
  benchmarks/gui.py measures them, for the default window (H = 8: the PCA view), the seed
  example's plane (H = 2, flow field and fixed points) and Compare at H = 2;
* the panel's own share: ms from a new frame to its plot items updated (frame building,
  fixed points, flow field, setData), CPU time;
* the fixed-point search alone for H = 2 (RNN, GRU, LSTM), CPU time per frame.

Targets (issue 12): p95 ≤ 16 ms change → frame on the default cell; the search < 5 ms.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from PySide6 import QtWidgets  # noqa: E402

from gui import close_window, drag_latency, one_change_latency, p95  # noqa: E402
from rnnviz.core import model as M  # noqa: E402
from rnnviz.engine.statespace import fixed_points  # noqa: E402
from rnnviz.ui.controller import Controller  # noqa: E402
from rnnviz.ui.main_window import MainWindow  # noqa: E402

SCENARIOS = [  # (key, label, set-up, state-space tab in front)
    ("default_fading", "default, fading tab in front (baseline)", lambda c: None, False),
    ("default", "default (RNN tanh, H=8, T=30: PCA)", lambda c: None, True),
    ("seed", "seed example (H=2 plane, T=3)", lambda c: c.useSeedExample(), True),
    ("compare_H2", "Compare, H=2, T=30", lambda c: c.update(cell="compare", hidden_size=2), True),
]


def open_on_statespace(app, setup, front=True):
    c = Controller()
    setup(c)
    c.recompute()
    window = MainWindow(c)
    window.show()
    if front:
        window.showPanel("stateSpacePanel")
    c.waitForIdle()
    c.toEnd()
    app.processEvents()
    window.repaint()
    return window


def panel_cost(app, window, values):
    """CPU ms of the panel's redraw (statespace frame + plot items) for new results."""
    c = window.controller
    panel = window.panels["stateSpacePanel"]
    out = []
    for v in values:
        c.update(recurrent_scale=v)
        c.waitForIdle()
        app.processEvents()
        panel._dirty = True
        frame = c.frame
        t = time.process_time()
        panel.setFrame(frame)
        out.append((time.process_time() - t) * 1e3)
    return out


def search_cost(key, n):
    out = []
    for k in range(n):
        cell = M.build_model(key, M.Settings(cell=key, hidden_size=2, recurrent_scale=0.5 + 2.5 * k / n))
        t = time.process_time()
        fixed_points(cell, [0.0])
        out.append((time.process_time() - t) * 1e3)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    n, drags = (12, 1) if args.quick else (40, 3)
    report = {}
    print("change → painted frame, and the panel's own redraw:")
    for key, label, setup, front in SCENARIOS:
        window = open_on_statespace(app, setup, front)
        slider = window.controls.groupSliders["recurrent_scale"].slider
        values = list(np.linspace(slider.minimum(), slider.maximum(), n).astype(int))
        one = one_change_latency(app, window, slider, values)
        drag, paint, frames, cpu, fpr = drag_latency(app, window, slider, drags)
        own = panel_cost(app, window, list(np.linspace(0.5, 2.0, n))) if front else [0.0]
        close_window(app, window)
        print(f"  {label:36s} one change median {statistics.median(one):5.1f} p95 {p95(one):5.1f} ms"
              f" | drag median {statistics.median(drag):5.1f} p95 {p95(drag):5.1f} ms"
              f" | panel redraw CPU median {statistics.median(own):4.1f} p95 {p95(own):4.1f} ms")
        report[key] = {"one_median": statistics.median(one), "one_p95": p95(one),
                       "drag_median": statistics.median(drag), "drag_p95": p95(drag),
                       "panel_median": statistics.median(own), "panel_p95": p95(own)}
    print("fixed-point search, H = 2, CPU per frame:")
    for key in ("rnn_tanh", "gru", "lstm"):
        t = search_cost(key, n)
        print(f"  {key:10s} median {statistics.median(t):4.2f} p95 {p95(t):4.2f} ms")
        report[f"search_{key}"] = {"median": statistics.median(t), "p95": p95(t)}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
