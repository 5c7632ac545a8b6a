"""benchmarks/soak.py --quick (issue 11): a short classroom session leaves nothing piling up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_quick_soak_is_flat(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "RNNVIZ_SETTINGS_DIR": str(tmp_path),
           "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "soak.py"), "--quick"],
                          capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        from soak import QUICK
    finally:
        sys.path.pop(0)
    assert report["counts"] == QUICK and report["exceptions"] == 0, report
    start, end, delta = report["start"], report["end"], report["delta"]
    assert delta["qobjects"] <= 10 and delta["widgets"] <= 5, delta  # dialogs and views are freed
    assert end["message_boxes"] == 0 and delta["threads"] <= 1, end  # at most the pool's one thread
    assert delta["rss_mb"] <= 16, delta
    assert delta["py_objects"] <= 0.05 * start["py_objects"], delta
    for phase in report["phases"].values():  # flat after every phase, not just at the end
        assert phase["qobjects"] - start["qobjects"] <= 10 and phase["message_boxes"] == 0, report["phases"]
