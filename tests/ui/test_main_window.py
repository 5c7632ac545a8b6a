"""The assembled window: keys, Compare mode, warnings, files, rendering, launching."""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6 import QtCore, QtGui, QtWidgets

from rnnviz.engine import init_cell
from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow

Key = QtCore.Qt.Key


@pytest.fixture
def window(shown_window):
    return shown_window


def test_opens_on_the_default_lesson(window):
    s = window.controller.settings
    assert (s.cell, s.hidden_size, s.input_size, s.signal, s.T) == ("rnn_tanh", 8, 1, "impulse", 30)
    r = window.controller.result
    assert r.xs[0, 0] == 1.0 and np.all(r.xs[1:] == 0)
    assert "parameters" in window.statusText() and "ρ(W_hh)" in window.statusText()
    assert str(window.controller.activeModel().n_params) in window.statusText()


def test_stepping_keys(window, qtbot):
    c = window.controller
    c.toStart()
    qtbot.keyClick(window, Key.Key_Right)
    qtbot.keyClick(window, Key.Key_Right)
    assert c.step == 2
    qtbot.keyClick(window, Key.Key_Left)
    assert c.step == 1
    qtbot.keyClick(window, Key.Key_End)
    assert c.step == 29
    qtbot.keyClick(window, Key.Key_Right)  # clamps at the end
    assert c.step == 29
    qtbot.keyClick(window, Key.Key_Home)
    assert c.step == 0
    speed = c.speed
    qtbot.keyClick(window, Key.Key_Plus)
    assert c.speed > speed
    qtbot.keyClick(window, Key.Key_Minus)
    qtbot.keyClick(window, Key.Key_Minus)
    assert c.speed < speed
    c.setSpeed(30)
    qtbot.keyClick(window, Key.Key_Space)
    assert c.isPlaying()
    qtbot.waitUntil(lambda: c.step >= 3, timeout=60_000)  # generous: CI machines are shared
    qtbot.keyClick(window, Key.Key_Space)
    assert not c.isPlaying()


def test_play_runs_to_the_end_and_stops(window, qtbot):
    c = window.controller
    c.update(T=12)
    c.waitForIdle()
    c.toStart()
    c.setSpeed(30)
    seen = []
    c.stepChanged.connect(seen.append)
    c.setPlaying(True)
    qtbot.waitUntil(lambda: not c.isPlaying(), timeout=60_000)
    assert c.step == 11
    assert seen == list(range(1, 12))  # no step skipped


def test_compare_mode(window):
    c = window.controller
    c.update(cell="compare", T=50, hidden_size=16)
    assert c.waitForIdle()
    r = c.result
    assert [cr.key for cr in r.cells] == ["rnn_tanh", "gru", "lstm"]
    assert all(cr.trace.h.shape == (50, 16) for cr in r.cells)
    # same input, hidden size and seed for all three
    assert all(np.array_equal(cr.trace.xs, r.cells[0].trace.xs) for cr in r.cells)
    for label in ("RNN (tanh)", "GRU", "LSTM"):
        assert label in window.statusText()


def test_overflow_warning_and_recovery(window):
    c = window.controller
    c.update(cell="rnn_relu", recurrent_scale=3.0, hidden_size=16, T=400)
    assert c.waitForIdle()
    c.update(input_scale=3.0)
    assert c.waitForIdle()
    bad = c.result.cells[0].trace.nonfinite
    assert bad is not None
    assert window.banner.isVisible()
    assert f"h overflowed at t = {bad.t + 1}" in window.banner.text()
    assert "⚠" in window.statusText()
    window.grab()  # painting with inf in the arrays raises nothing
    c.update(recurrent_scale=0.5, input_scale=1.0)
    assert c.waitForIdle()
    assert c.result.cells[0].trace.nonfinite is None
    assert not window.banner.isVisible()


def test_bad_weights_file_shows_a_dialog_and_keeps_the_session(window, tmp_path, qtbot):
    c = window.controller
    c.update(cell="gru", hidden_size=5)
    c.waitForIdle()
    before = c.result
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00garbage" * 10)
    assert window.openWeights(str(bad)) is False
    box = window._lastError
    assert box.isVisible() and "broken.safetensors" in box.text()
    box.close()
    assert c.result is before and c.settings.cell == "gru" and c.loaded is None


def test_open_weights_file(window, tmp_path):
    cell = init_cell("lstm", 3, 6, seed=2)
    path = tmp_path / "trained.npz"
    np.savez(path, weight_ih=cell.W_ih, weight_hh=cell.W_hh, bias_ih=cell.b_ih, bias_hh=cell.b_hh)
    assert window.openWeights(str(path))
    c = window.controller
    assert c.waitForIdle()
    assert c.settings.cell == "lstm" and c.settings.input_size == 3 and c.settings.hidden_size == 6
    np.testing.assert_array_equal(c.result.cells[0].model.W_hh, cell.W_hh)
    assert "trained.npz" in window.windowTitle()


def test_drop_a_file(window, tmp_path):
    cell = init_cell("gru", 1, 4, seed=1)
    path = tmp_path / "dropped.npz"
    np.savez(path, weight_ih=cell.W_ih, weight_hh=cell.W_hh, bias_ih=cell.b_ih, bias_hh=cell.b_hh)
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    pos = QtCore.QPointF(200, 200)
    drop = QtGui.QDropEvent(pos, QtCore.Qt.DropAction.CopyAction, mime, QtCore.Qt.MouseButton.LeftButton,
                            QtCore.Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    assert window.controller.loadedName == "dropped.npz"


def test_render_command_draws_the_window(tmp_path):
    from rnnviz.cli import main

    out = tmp_path / "shot.png"
    assert main(["render", "--cell", "lstm", "--step", "5", "--size", "1200x800", "-o", str(out)]) == 0
    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (1200, 800)
    # not blank: many distinct colours
    colours = {img.pixel(x, y) for x in range(0, 1200, 7) for y in range(0, 800, 7)}
    assert len(colours) > 50
    assert main(["render", "--cell", "gru", "-o", str(tmp_path / "x.txt")]) == 2
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a pickle")
    assert main(["render", str(bad), "-o", str(tmp_path / "y.png")]) == 2
    assert not (tmp_path / "y.png").exists()


def _env_without_display():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    return env


def test_launch_without_a_display_says_so():
    res = subprocess.run([sys.executable, "-m", "rnnviz"], env=_env_without_display(), capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "no display" in res.stderr and "Traceback" not in res.stderr
    env = _env_without_display()
    env["DISPLAY"] = ":97"  # nothing listens there
    res = subprocess.run([sys.executable, "-m", "rnnviz"], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "cannot reach the X display" in res.stderr


def test_launch_paints_a_window_offscreen():
    env = {**_env_without_display(), "QT_QPA_PLATFORM": "offscreen", "RNNVIZ_T0": "0"}
    res = subprocess.run([sys.executable, "-m", "rnnviz"], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "first-paint" in res.stdout


def test_launch_with_a_bad_file_exits_2(tmp_path):
    bad = tmp_path / "model.keras"
    bad.write_text("nope")
    env = {**_env_without_display(), "QT_QPA_PLATFORM": "offscreen"}
    res = subprocess.run([sys.executable, "-m", "rnnviz", str(bad)], env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2 and "model.keras" in res.stderr and res.stderr.count("\n") == 1


def test_many_signal_emits_do_not_corrupt_python(qapp):
    # PySide6 6.12.0 decref'd True/False on every Signal.emit: Python aborted after ~1000.
    c = Controller()
    for t in range(5000):
        c.stepChanged.emit(t % 7)
        c.revealAllChanged.emit(bool(t % 2))
    assert sys.getrefcount(True) > 100


def test_no_top_level_widgets_leak(qtbot):
    before = set(QtWidgets.QApplication.topLevelWidgets())
    w = MainWindow(Controller())
    w.show()
    w.controller.recompute()
    w.close()
    w.deleteLater()
    QtWidgets.QApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents)
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    leaked = [x for x in QtWidgets.QApplication.topLevelWidgets() if x not in before and x.isVisible()]
    assert not leaked


def test_seed_example_has_eight_sliders_and_the_documents_numbers(window):
    from rnnviz.engine import SEED_EXAMPLE_INPUTS, run, seed_example
    from rnnviz.core.model import entry_names

    c = window.controller
    c.useSeedExample()
    assert c.waitForIdle()
    assert len(entry_names(c.baseCell())) == 8 == c.baseCell().n_params
    assert len(window.controls.entrySliders) == 8
    ref = run(seed_example(0), SEED_EXAMPLE_INPUTS, dtype=np.float64)
    np.testing.assert_allclose(c.result.cells[0].trace.h, ref.h, atol=1e-6)


def test_export_weights_round_trip(window, tmp_path):
    from rnnviz.io import load_weights

    c = window.controller
    c.update(cell="gru", hidden_size=4, recurrent_scale=1.5)
    c.waitForIdle()
    for name in ("w.safetensors", "w.npz"):
        assert window.exportWeights(str(tmp_path / name))
        back = load_weights(str(tmp_path / name))
        model = c.activeModel()
        for p in ("W_ih", "W_hh", "b_ih", "b_hh"):
            np.testing.assert_array_equal(getattr(back, p), getattr(model, p))
    assert not window.exportWeights(str(tmp_path / "w.txt"))  # unsupported: a dialog, no file
    window._lastError.close()
    assert not (tmp_path / "w.txt").exists()
    c.update(cell="compare")
    window.exportWeightsDialog()  # Compare mode: says to pick one cell
    assert "choose one cell" in window._lastError.text()
    window._lastError.close()


def test_a_small_change_cancels_a_big_worker_run(window, qtbot):
    c = window.controller
    service = c.app.service
    ran = service.jobs_run
    c.update(cell="lstm", hidden_size=256, input_size=8, T=20000)
    c.recompute()
    assert c.busy and c.result.T == 30  # too big for the GUI thread: nothing computed here
    qtbot.wait(50)  # the worker has started on it
    c.update(hidden_size=32, T=100)
    qtbot.waitUntil(lambda: c.idle, timeout=10_000)  # the real event loop: no settling by hand
    assert not c.busy and c.result.complete
    assert c.result.cells[0].trace.h.shape == (100, 32)
    qtbot.wait(200)
    assert service.jobs_run == ran  # the big job was cancelled, not finished


def test_open_an_input_sequence(window, tmp_path):
    c = window.controller
    (tmp_path / "x.csv").write_text("x\n0.1\n0.5\n0.9\n-1\n")
    assert window.openInput(str(tmp_path / "x.csv"))
    assert c.waitForIdle()
    assert c.settings.signal == "custom" and c.settings.T == 4
    np.testing.assert_array_equal(c.result.xs[:, 0], [0.1, 0.5, 0.9, -1])
    before = c.result
    (tmp_path / "bad.csv").write_text("1,2\n3,4\n")  # two features, the cell reads one
    assert not window.openInput(str(tmp_path / "bad.csv"))
    assert "bad.csv" in window._lastError.text() and "input size" in window._lastError.text()
    window._lastError.close()
    assert c.result is before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), ext=st.sampled_from([".csv", ".npy"]))
def test_fuzzed_input_files_never_break_the_session(window, tmp_path, data, ext):
    c = window.controller
    before = (c.settings, c.result)
    p = tmp_path / f"fuzz{ext}"
    p.write_bytes(data)
    ok = window.openInput(str(p))
    if not ok:
        assert (c.settings, c.result) == before
        assert "fuzz" in window._lastError.text() and "\n" not in window._lastError.text()
        window._lastError.close()
    else:
        c.waitForIdle()
        assert c.settings.signal == "custom"
        c.update(signal="impulse", T=30, custom=())  # back to the starting point
        c.waitForIdle()


def test_rho_follows_each_loaded_file(window, tmp_path):
    c = window.controller
    paths = []
    for k in range(4):
        cell = init_cell("rnn", 1, 8, seed=3)
        cell = cell.with_params(W_hh=cell.W_hh * (k + 1))
        p = tmp_path / f"w{k}.npz"
        np.savez(p, weight_ih=cell.W_ih, weight_hh=cell.W_hh, bias_ih=cell.b_ih, bias_hh=cell.b_hh)
        paths.append(p)
    for _ in range(3):
        for p in paths:
            c.loadWeights(str(p))
            assert c.waitForIdle()
            assert c.spectralRadius() == pytest.approx(c.loaded.spectral_radius())


def test_restored_unit_survives_a_worker_run(window, qtbot):
    from rnnviz.core.model import Settings

    c = window.controller
    c.update(hidden_size=64)
    c.waitForIdle()
    ran = c.app.service.jobs_run
    c.restore(Settings(cell="lstm", hidden_size=128, T=5000), unit=100)
    assert c.busy  # the run went to the worker
    qtbot.waitUntil(lambda: c.idle, timeout=300_000)
    assert c.app.service.jobs_run == ran + 1 and c.result.cells[0].trace.H == 128
    assert c.selectedUnit == 100


def test_switching_cells_never_shows_the_old_cells_curves(window):
    c = window.controller
    c.update(hidden_size=64, T=400)
    c.waitForIdle()
    old = c.result.cells[0].perturbation
    c.update(cell="lstm")
    c.recompute()
    assert c.result.cells[0].perturbation is None or c.result.cells[0].perturbation is not old
    assert c.waitForIdle()
    assert c.result.cells[0].perturbation is not None


def test_a_failed_computation_is_reported_not_left_half_done(window, monkeypatch):
    from rnnviz.core import model as M

    def boom(result, progress=None):
        raise MemoryError("simulated")

    monkeypatch.setattr(M, "complete", boom)
    c = window.controller
    c.update(hidden_size=64, T=3000)
    assert c.waitForIdle(timeout_ms=20_000)
    assert c.result.complete and c.result.cells[0].perturbation is None
    assert "simulated" in window._lastError.text()
    window._lastError.close()


# ---------------------------------------------------------------------- declared parts
from dataclasses import FrozenInstanceError  # noqa: E402

from rnnviz.ui import actions, export, panels, presenter, theme  # noqa: E402


class DummyPanel(panels.Panel, QtWidgets.QLabel):
    """The smallest panel a contributor could add: a label that follows the theme."""

    def __init__(self, controller):
        super().__init__("dummy panel")
        self.setMinimumSize(120, 80)
        self.looks = []

    def setTheme(self, look):
        super().setTheme(look)
        self.looks.append(look)
        self.setFont(look.font())
        self.setStyleSheet(f"background: {look.background}; color: {look.foreground};")


@pytest.fixture
def dummy_panels():
    """One view in the right column (exported, a presenter share) and one strip that
    presenter mode hides: each is one registration, nothing else."""
    specs = [panels.register_panel(panels.PanelSpec("dummyPanel", "Dummy panel", DummyPanel, "right", order=2,
                                                    export="dummy", presenter_share=0.5)),
             panels.register_panel(panels.PanelSpec("dummyStrip", "Dummy strip", DummyPanel, "bottom", order=1,
                                                    presenter_hide=True))]
    yield specs
    for s in specs:
        panels.unregister_panel(s.id)


def test_a_registered_panel_appears_in_the_window(qtbot, dummy_panels):
    w = MainWindow(Controller())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    panel, strip = w.panels["dummyPanel"], w.panels["dummyStrip"]
    assert isinstance(panel, DummyPanel) and panel.isVisible() and strip.isVisible()
    assert w.columns["right"].indexOf(panel) == 2  # under the fading and equations panels
    assert w.columns["right"].indexOf(w.panelContainer("fadingPanel")) == 0  # its tab group
    assert panel.window() is w and strip.window() is w


def test_a_registered_panel_is_offered_in_file_export(qtbot, dummy_panels, tmp_path):
    w = MainWindow(Controller())
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    qtbot.waitExposed(w)
    assert ("dummyPanel", "Dummy panel", "dummy") in export.targets()
    assert "dummyStrip" not in [a for a, _l, _s in export.targets()]  # declared no export name
    export_menu = w.menu("file.export")
    sub = next(a.menu() for a in export_menu.actions() if a.text() == "Dummy panel")
    assert [a.text() for a in sub.actions()] == ["as PNG…", "as SVG…"]
    gif = export.GifOptionsDialog(w, w)
    try:
        assert "Dummy panel" in [gif.what.itemText(i) for i in range(gif.what.count())]
    finally:
        gif.deleteLater()
    path = str(tmp_path / "dummy.png")
    assert w.exporter.exportPng("dummyPanel", path)
    img = QtGui.QImage(path)
    assert (img.width(), img.height()) == (w.panels["dummyPanel"].width(), w.panels["dummyPanel"].height())


def test_a_registered_panel_follows_presenter_mode_and_themes(qtbot, dummy_panels):
    w = MainWindow(Controller())
    qtbot.addWidget(w)
    w.resize(1300, 950)  # tall enough for four presenter panels (not compact)
    w.show()
    qtbot.waitExposed(w)
    panel, strip, p = w.panels["dummyPanel"], w.panels["dummyStrip"], w.presenter
    try:
        p.setTheme("dark")
        assert panel.look is w.theme() and panel.look.dark and strip.look.dark
        assert panel.font().pointSize() == theme.DARK.font_pt
        column = w.columns["right"]

        def share():
            return column.sizes()[column.indexOf(panel)] / sum(column.sizes())

        before = share()
        p.enter(fullscreen=False)
        assert panel.look.font_scale == presenter.PRESENTER_SCALE
        assert panel.font().pointSize() == panel.look.font_pt > theme.DARK.font_pt
        assert strip.isHidden() and not panel.isHidden()
        # it asks for half the column (the large fonts' minimum sizes of the others may cap it)
        assert share() > before + 0.1
        p.leave()
        assert not strip.isHidden() and panel.look == theme.make("dark")
        p.setTheme("light")
        assert panel.look == theme.LIGHT and [t.name for t in panel.looks][-1] == "light"
    finally:
        p.leave()
        w.setTheme(theme.LIGHT)


def test_the_actions_table_has_unique_ids_and_shortcuts():
    items = list(actions.expand())
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids)), sorted(k for k in ids if ids.count(k) > 1)
    keys = [actions.portable(k) for i in items if isinstance(i, actions.ActionSpec) for k in i.shortcuts]
    assert all(keys) and len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    menus = {i.id for i in items if isinstance(i, actions.MenuSpec)}
    assert all(i.menu in menus for i in items if isinstance(i, actions.ActionSpec) and i.menu is not None)


def test_the_window_has_the_tables_actions_and_nothing_else(window):
    table = {i.id: i for i in actions.expand() if isinstance(i, actions.ActionSpec)}
    assert set(window.windowActions.actions) == set(table)
    for action_id, spec in table.items():
        act = window.action(action_id)
        assert [actions.portable(k) for k in spec.shortcuts] == [
            s.toString(QtGui.QKeySequence.SequenceFormat.PortableText) for s in act.shortcuts()]
        if spec.shortcuts:
            assert window in act.associatedObjects()  # works with the menu bar hidden
    # every QAction with a key is one of the table's, and the overlay lists them from it
    keyed = [a for a in window.findChildren(QtGui.QAction) if not a.shortcut().isEmpty()]
    assert {a.objectName() for a in keyed} <= set(table)
    assert window.presenter.shortcuts() == actions.shortcut_rows()
    assert ("Ctrl+S", "Save session") in actions.shortcut_rows()
    assert actions.describe("session.save") == "File ▸ Save session (Ctrl+S)"


def test_theme_values_are_immutable():
    with pytest.raises(FrozenInstanceError):
        theme.LIGHT.background = "#000000"
    with pytest.raises(TypeError):
        theme.LIGHT.cell_colours["gru"] = "#000000"
    with pytest.raises(TypeError):
        theme.DARK.gate_colours["f"] = "#000000"
    assert theme.LIGHT.cell_colour("gru") == "#009E73" and theme.DARK.cell_colour("gru") == "#3FD0A0"
    assert theme.LIGHT.gate_colour("f") == "#C24E00" and theme.LIGHT.gate_colour("?") is None
    assert theme.make("dark", True, 1.5) == theme.make("dark", True, 1.5)
    assert hash(theme.make("light")) == hash(theme.LIGHT)
    big = theme.LIGHT.scaled(1.5)
    assert big.font_pt == 17 and theme.LIGHT.font_pt == theme.BASE_FONT_PT  # a new value, the old unchanged


def _module_state():
    """Every module-level value of the ui package (functions, classes and modules aside)."""
    import inspect

    out = {}
    for name, mod in list(sys.modules.items()):
        if not name.startswith("rnnviz.ui") or mod is None:
            continue
        for key, value in vars(mod).items():
            if key.startswith("__") or inspect.ismodule(value) or inspect.isroutine(value) or inspect.isclass(value):
                continue
            out[(name, key)] = repr(value)
    return out


def test_no_module_global_changes_on_a_theme_switch(window):
    p = window.presenter
    before = _module_state()
    try:
        p.setTheme("dark")
        p.setColourBlind(True)
        p.enter(fullscreen=False)
        assert window.theme().dark and window.theme().font_scale > 1
        during = _module_state()
    finally:
        p.leave()
        p.setColourBlind(False)
        p.setTheme("light")
    # the presenter module remembers the application's own palette once (Qt state, not theme)
    changed = {k for k in set(before) | set(during) if before.get(k) != during.get(k)}
    assert changed <= {("rnnviz.ui.presenter", "_ORIGINAL")}, changed
    assert not hasattr(theme, "set_current") and not hasattr(theme, "current")


def test_a_run_for_the_pool_starts_after_the_window_paints(window, qtbot):
    """Handing a big run over must not slow the frame that shows "computing": the job starts
    once that frame is painted (started sooner, it competes with the painting for the GIL)."""
    c = window.controller
    order = []
    service = c.app.service
    run_on_pool, frame_done = service._run_on_pool, c.frameDone
    service._run_on_pool = lambda gen, job: (order.append("job"), run_on_pool(gen, job))
    c.frameDone = lambda: (order.append("frame"), frame_done())
    c.update(cell="lstm", hidden_size=256, input_size=8, T=20000)
    assert c.busy and order == []  # busy at once, but nothing started inside the change
    # queued calls and 0 ms timers (Qt posts those as MetaCall events) do not start it…
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.MetaCall.value)
    assert order == []
    qtbot.waitUntil(lambda: "job" in order, timeout=60_000)  # a hang guard: CI machines are shared
    assert order.index("frame") < order.index("job")  # … the window's frame does
    c.update(cell="rnn_tanh", hidden_size=8, input_size=1, T=30)  # cancel it
    assert c.waitForIdle() and c.result.cells[0].trace.H == 8


def test_work_after_the_frame_runs_when_nothing_is_painted(qtbot):
    c = Controller()  # no window: nothing calls frameDone
    ran = []
    c.afterFrame(lambda: ran.append(1))
    qtbot.waitUntil(lambda: ran == [1], timeout=10_000)
    c.attachWindow()  # a window that paints nothing: the fallback timer runs it
    c.afterFrame(lambda: ran.append(2))
    qtbot.waitUntil(lambda: ran == [1, 2], timeout=10_000)


def test_plots_fill_their_background_in_every_theme(window, qtbot):
    """The views draw their solid background, not a cached pixmap of it, and in the colour
    of the theme shown (a cached one would have to be thrown away at every theme change)."""
    from rnnviz.ui import theme

    views = window.findChildren(QtWidgets.QGraphicsView)
    assert views and all(v.cacheMode() == QtWidgets.QGraphicsView.CacheModeFlag.CacheNone for v in views)
    view = window.statePanel.graphicsView()
    for look in (theme.DARK, theme.LIGHT):
        window.setTheme(look)
        QtWidgets.QApplication.processEvents()
        corner = view.grab().toImage().pixelColor(2, 2)
        assert corner.name() == QtGui.QColor(look.background).name()


def test_plot_scenes_keep_no_spatial_index_and_still_find_what_is_clicked(window, qtbot):
    """A tick moves labels and markers; a BSP index updated for each cost ~0.5 ms of a
    Compare tick. Without it the item under a point is still found (by a scan)."""
    scenes = [v.scene() for v in window.findChildren(QtWidgets.QGraphicsView) if v.scene() is not None]
    assert scenes and all(s.itemIndexMethod() == QtWidgets.QGraphicsScene.ItemIndexMethod.NoIndex for s in scenes)
    view = window.statePanel.graphicsView()
    image = next(it for it in view.scene().items() if type(it).__name__ == "_Image" and it.isVisible())
    centre = image.sceneBoundingRect().center()
    assert image in view.scene().items(centre)


def test_a_dragged_sliders_moves_wait_for_the_pending_frame(window, qtbot):
    """While the frame of a change is not painted, a slider's next moves are held (only the
    latest kept) and delivered after it, with a release kept behind them; then the value is
    the one of the latest position, and nothing is held."""
    from PySide6 import QtGui
    from PySide6.QtWidgets import QStyle, QStyleOptionSlider

    c = window.controller
    slider = window.controls.groupSliders["recurrent_scale"].slider
    window.controlsScroll.ensureWidgetVisible(slider)
    assert c.waitForIdle()
    qtbot.waitUntil(lambda: not c.framePending, timeout=10_000)
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    style = slider.style()
    handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, slider)
    y, x0 = handle.center().y(), handle.center().x()
    B, T = QtCore.Qt.MouseButton, QtCore.QEvent.Type

    def send(kind, x, buttons):
        pos = QtCore.QPointF(x, y)
        button = B.LeftButton if kind != T.MouseMove else B.NoButton
        ev = QtGui.QMouseEvent(kind, pos, QtCore.QPointF(slider.mapToGlobal(pos.toPoint())), button, buttons,
                               QtCore.Qt.KeyboardModifier.NoModifier)
        QtWidgets.QApplication.sendEvent(slider, ev)

    send(T.MouseButtonPress, x0, B.LeftButton)  # nothing pending: delivered at once
    assert slider.isSliderDown()
    start = slider.value()
    send(T.MouseMove, x0 + 20, B.LeftButton)  # a change: its frame is now pending …
    first = slider.value()
    assert first != start and c.framePending
    send(T.MouseMove, x0 + 40, B.LeftButton)  # … so these wait for it, the latest kept
    send(T.MouseMove, x0 + 60, B.LeftButton)
    send(T.MouseButtonRelease, x0 + 60, B.NoButton)
    assert slider.value() == first and slider.isSliderDown()
    assert len(window._inputAfterFrame._held) == 2  # one move (the latest) and the release
    qtbot.waitUntil(lambda: not window._inputAfterFrame._held, timeout=10_000)
    assert not slider.isSliderDown() and slider.value() > first
    assert c.waitForIdle() and c.settings.recurrent_scale == pytest.approx(
        window.controls.groupSliders["recurrent_scale"].value())
