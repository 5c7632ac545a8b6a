"""One settled change, one redraw of each panel: the slow curves arriving after a frame must
not make the heatmaps draw their images again."""

from __future__ import annotations

import pytest

from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow


@pytest.mark.parametrize("settings", [
    dict(),  # the default window: everything in one frame
    dict(cell="gru", hidden_size=20, T=400),  # slow curves after the frame, on the GUI thread
    dict(cell="lstm", hidden_size=128, input_size=8, T=1000, signal="noise"),  # deferred influence, pool
])
def test_a_slider_change_redraws_each_heatmap_once(qtbot, monkeypatch, settings):
    c = Controller()
    c.update(**settings)
    c.recompute()
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: c.idle, timeout=30_000)
    draws = []
    for pid in ("statePanel", "gatePanel"):
        panel = w.panels[pid]
        original = panel._showResult
        monkeypatch.setattr(panel, "_showResult", lambda f, _o=original, _p=pid: (draws.append(_p), _o(f)))
    fading = w.panels["fadingPanel"]
    fading_original = fading._showResult
    monkeypatch.setattr(fading, "_showResult", lambda f: (draws.append("fadingPanel"), fading_original(f)))
    frames = []
    c.frameChanged.connect(frames.append)
    c.update(recurrent_scale=1.3)
    qtbot.waitUntil(lambda: c.idle, timeout=30_000)
    assert draws.count("statePanel") == 1 and draws.count("gatePanel") == 1
    assert c.frame.result.complete
    # the fading panel draws the fast frame's carried curves and then the exact ones, no more
    assert 1 <= draws.count("fadingPanel") <= 2 and len(frames) <= 2
