"""The Train mode in the window: controls → session, session → plots, and Explore this model."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtWidgets

from rnnviz.ui import training as UT
from rnnviz.ui.main_window import MainWindow

SMALL = dict(length=8, hidden_size=4, batch=8, test_batch=16, test_every=2)


@pytest.fixture
def window(qtbot, controller):
    w = MainWindow(controller)
    qtbot.addWidget(w)
    tc = UT.training_for(controller)
    tc.configure(**SMALL)
    w.show()
    w.modes.setCurrentIndex(1)
    qtbot.waitExposed(w)
    yield w
    tc.pause()


def test_the_window_has_an_explore_and_a_train_mode(window):
    tabs = window.modes
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Explore", "Train"]
    for pid in ("trainControls", "lossPanel", "gradientPanel", "contribPanel", "weightsPanel"):
        assert window.panels[pid].isVisible()
    window.showPanel("statePanel")
    assert tabs.currentIndex() == 0 and not window.panels["lossPanel"].isVisible()
    window.showPanel("lossPanel")
    assert tabs.currentIndex() == 1
    tabs.toggleShortcut.activated.emit()  # Ctrl+T
    assert tabs.currentIndex() == 0 and tabs.bar.currentIndex() == 0
    tabs.bar.setCurrentIndex(1)  # a click on the switch
    assert tabs.currentIndex() == 1 and window.panels["lossPanel"].isVisible()


def test_step_draws_what_the_session_measured(window):
    tc = UT.training_for(window.controller)
    controls = window.panels["trainControls"]
    for _ in range(3):
        controls.stepButton.click()
    snap = tc.snapshot
    assert snap.updates == 3
    (r,) = snap.runs
    loss = window.panels["lossPanel"]
    curve = loss.curves[(r.key, "train")]
    x, y = curve.xData, curve.yData  # as given (getData is in the log-scale's units)
    assert np.allclose(y, r.train_loss) and np.allclose(x, r.updates + 1)
    grad = window.panels["gradientPanel"]
    img = grad.images[r.key]
    logs = UT.log_rows(r.dh_rows)
    assert np.allclose(img.image, logs)
    assert tuple(img.levels) == pytest.approx(UT.gradient_levels([logs]))  # explicit, never auto
    contrib = window.panels["contribPanel"].curves[r.key].yData
    assert np.allclose(contrib, r.contrib[r.contrib > 0])
    weights = window.panels["weightsPanel"]
    assert np.allclose(weights.delta, r.change()["rnn.weight_hh_l0"], atol=1e-6)
    assert "3 updates" in controls.statusLabel.text()


def test_controls_change_the_session_live_or_reset_it(window):
    tc = UT.training_for(window.controller)
    controls = window.panels["trainControls"]
    controls.stepButton.click()
    controls.lrSpin.setValue(0.05)
    assert tc.session.config.lr == 0.05 and tc.session.updates == 1  # live: no reset
    controls.hiddenSpin.setValue(6)
    assert tc.session.updates == 0 and tc.snapshot.runs[0].model.rnn.hidden_size == 6
    controls.cellCombo.setCurrentIndex(controls.cellCombo.findData("compare"))
    assert [r.key for r in tc.snapshot.runs] == ["rnn_tanh", "gru", "lstm"]
    assert len(window.panels["gradientPanel"].images) == 3
    assert set(k for k, _ in window.panels["lossPanel"].curves) == {"rnn_tanh", "gru", "lstm"}
    controls.taskCombo.setCurrentIndex(controls.taskCombo.findData("recall"))
    assert window.panels["lossPanel"].accPlot.isVisible()
    assert "chance 50\u00a0%" in controls.statusLabel.text()  # (a no-break space: "%" never alone on a line)


def test_train_runs_off_the_gui_thread_with_throttled_repaints(window, qtbot):
    tc = UT.training_for(window.controller)
    controls = window.panels["trainControls"]
    shown = []
    tc.snapshotChanged.connect(lambda s: shown.append(s.updates))
    controls.trainButton.click()
    assert controls.trainButton.text() == "Pause" and not controls.stepButton.isEnabled()
    qtbot.waitUntil(lambda: tc.snapshot.updates >= 30, timeout=20_000)
    controls.trainButton.click()
    assert not tc.running and controls.trainButton.text() == "Train"
    n = tc.snapshot.updates
    assert len(shown) < n  # several updates per repaint, never a signal per update
    assert len(tc.snapshot.runs[0].train_loss) == n


def test_explore_this_model_shows_the_trained_cell_on_a_test_sequence(window):
    tc = UT.training_for(window.controller)
    tc.configure(cell="gru")
    tc.step()
    window.panels["trainControls"].exploreButton.click()
    c = window.controller
    assert window.modes.currentIndex() == 0
    model = tc.session.models()["gru"]
    assert c.loaded is not None and np.array_equal(c.loaded.W_hh, model.rnn.layers[0].W_hh)
    xs = tc.session.test_sequence(0)[0]
    assert c.settings.signal == "custom" and c.settings.T == len(xs) and c.settings.input_size == xs.shape[1]
    r = c.settle()
    assert np.allclose(r.xs, xs)
    assert "trained GRU" in c.loadedName


def test_the_output_row_shows_the_trained_output_layer_under_the_hidden_state(window):
    tc = UT.training_for(window.controller)
    out = window.panels["outputPanel"]
    assert not out.isVisible()  # no trained model in Explore
    tc.configure(cell="lstm")
    tc.step()
    tc.exploreModel()
    c = window.controller
    r = c.settle()
    assert out.isVisible()
    model = tc.session.models()["lstm"]
    assert np.allclose(out.curve.yData, model.fc.forward(r.cells[0].trace.h)[:, 0], atol=1e-5)
    ys, mask = tc.session.test_sequence(0)[1:]
    assert np.allclose(out.targets.data["y"], ys[mask.astype(bool), 0])
    c.update(cell="gru")  # another network: the row goes
    c.settle()
    assert not out.isVisible()


def test_a_trained_text_model_shown_in_explore_saves_and_reopens_with_the_same_outputs(qtbot, controller, tmp_path):
    """A text model's one-hot input has a vocabulary-sized D (beyond the 16 the controls offer a
    built-in cell): its session must reopen, Explore showing the same run and output row."""
    from rnnviz.ui.controller import Controller

    w = MainWindow(controller)
    qtbot.addWidget(w)
    tc = UT.training_for(controller)
    tc.configure(task="text", length=12, hidden_size=6, batch=4, test_batch=4)
    tc.step()
    tc.step()
    D = tc.snapshot.task.input_size
    assert D > 16
    tc.exploreModel()
    r = controller.settle()
    assert controller.settings.input_size == D
    out = w.panels["outputPanel"]
    y_before = out.row.y.copy()
    path = str(tmp_path / "text.rnnviz")
    assert w.session.saveAs(path)

    c2 = Controller()
    w2 = MainWindow(c2)
    qtbot.addWidget(w2)
    shown = []
    w2.showError = lambda title, msg: shown.append(msg)
    assert w2.session.open(path), shown
    r2 = c2.settle()
    assert c2.settings.input_size == D and c2.loadedName == controller.loadedName
    assert np.allclose(r2.xs, r.xs)
    assert np.allclose(r2.cells[0].trace.h, r.cells[0].trace.h, atol=1e-12)
    tc2 = UT.training_for(c2)
    assert tc2.session.updates == 2 and tc2.explored is not None
    out2 = w2.panels["outputPanel"]
    assert out2.row is not None and np.allclose(out2.row.y, y_before, atol=1e-6)
    assert not w2.session.modified


def test_training_marks_the_session_unsaved_and_closing_asks(window, tmp_path, monkeypatch):
    from rnnviz.core.session import load_session
    from rnnviz.ui import session as S

    s = window.session
    tc = UT.training_for(window.controller)
    path = str(tmp_path / "t.rnnviz")
    assert s.saveAs(path)
    assert not s.modified and not window.isWindowModified()
    window.panels["trainControls"].stepButton.click()  # one update: the model the file holds changed
    assert s.modified and window.isWindowModified() and s.needsSaving()
    s.confirmDiscard = True
    asked = []
    monkeypatch.setattr(S, "ask_save", lambda w, name, doing: asked.append((name, doing)) or "save")
    assert window.close()
    assert asked == [("t.rnnviz", "closing")]
    assert load_session(path).training.updates == 1 == tc.session.updates
    assert not s.modified


def test_an_untitled_window_asks_after_training_but_not_for_switching_modes(window, monkeypatch):
    from rnnviz.ui import session as S

    s = window.session
    s._markSaved(S.capture(window.controller))  # as the window starts: nothing to save
    window.modes.setCurrentIndex(0)
    window.modes.setCurrentIndex(1)
    assert not s.needsSaving()
    UT.training_for(window.controller).step()
    assert s.needsSaving()  # a trained network is worth asking about, as a changed one is
    UT.training_for(window.controller).reset()
    assert not s.modified  # back to the untrained models the seed gives, as saved


def test_file_export_trained_model_writes_keras_weights(window, tmp_path, monkeypatch):
    from PySide6 import QtWidgets

    from rnnviz.engine import run
    from rnnviz.io import load_weights

    tc = UT.training_for(window.controller)
    tc.configure(cell="lstm")
    tc.step()
    path = str(tmp_path / "trained")  # typed without a suffix: the chosen filter's
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (path, "Keras 3 weights (*.weights.h5)"))
    window.action("export.trained").trigger()
    back = load_weights(path + ".weights.h5")
    xs = tc.session.test_sequence(0)[0]
    model = tc.session.models()["lstm"]
    assert np.allclose(run(back, xs, influence=False).h, run(model.rnn, xs, influence=False).h, atol=1e-5)


def _type(spin, text):
    from PySide6 import QtCore
    from PySide6.QtTest import QTest

    spin.setFocus()
    spin.lineEdit().selectAll()
    QTest.keyClicks(spin, text)
    QTest.keyClick(spin, QtCore.Qt.Key.Key_Return)


@pytest.mark.parametrize("field, typed, name", [
    ("lrSpin", "20", "Learning rate"),
    ("batchSpin", "5000", "Batch"),
    ("hiddenSpin", "x", "Hidden units H"),
    ("clipSpin", "-1", "Clip norm"),
    ("truncateSpin", "9999", "Truncate BPTT"),
    ("stepsSpin", "9999999", "Steps"),
    ("lengthSpin", "1", "Length T"),
])
def test_a_typed_bad_value_is_refused_with_a_line_naming_the_control(window, field, typed, name):
    controls = window.panels["trainControls"]
    _type(getattr(controls, field), typed)
    text = controls.messageLabel.text()
    assert controls.messageLabel.isVisible() and text.startswith(f"{name}: ") and "not accepted" in text
    assert "\n" not in text and "from" in text
    assert window.statusBar().currentMessage() == text
    config = UT.training_for(window.controller).session.config
    assert config.check() == config and config.lr <= 10 and config.batch <= 1024


def test_a_value_the_session_refuses_shows_why_and_the_controls_show_what_stands(window):
    controls = window.panels["trainControls"]
    tc = UT.training_for(window.controller)
    controls.lengthSpin.setValue(400)  # the Explore input has 30 steps: too few for T = 400
    controls.taskCombo.setCurrentIndex(controls.taskCombo.findData("input"))
    assert tc.session.config.task == "adding"
    assert controls.taskCombo.currentData() == "adding"  # not left showing a task that is not used
    assert "current input has 30 steps" in controls.messageLabel.text() and controls.messageLabel.isVisible()
    controls.taskCombo.setCurrentIndex(controls.taskCombo.findData("sine"))  # accepted: the line goes
    assert tc.session.config.task == "sine" and not controls.messageLabel.isVisible()


def test_the_text_task_takes_a_typed_or_opened_text_and_says_why_it_refuses_one(window, tmp_path, monkeypatch):
    from PySide6 import QtWidgets

    controls = window.panels["trainControls"]
    tc = UT.training_for(window.controller)
    controls.taskCombo.setCurrentIndex(controls.taskCombo.findData("text"))
    assert controls.textEdit.isVisible()
    controls.textEdit.setPlainText("aaaa")
    controls.useTextButton.click()
    assert "two different" in controls.messageLabel.text()
    assert tc.session.config.text != "aaaa" and controls.textEdit.toPlainText() == "aaaa"  # kept to fix
    controls.textEdit.setPlainText("the cat sat on the mat. " * 3)
    controls.useTextButton.click()
    assert tc.session.config.text == "the cat sat on the mat. " * 3 and not controls.messageLabel.isVisible()
    bad = tmp_path / "bin.txt"
    bad.write_bytes(b"\x00\x01\x02")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    controls.openTextButton.click()
    assert "bin.txt" in controls.messageLabel.text() and "binary" in controls.messageLabel.text()
    good = tmp_path / "good.txt"
    good.write_text("to be or not to be, that is the question. " * 2, encoding="utf-8")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(good), ""))
    controls.openTextButton.click()
    assert tc.session.config.text == good.read_text(encoding="utf-8")
    assert controls.textEdit.toPlainText() == tc.session.config.text


def test_the_steps_control_sets_the_limit(window):
    controls = window.panels["trainControls"]
    controls.stepsSpin.setValue(7)
    assert UT.training_for(window.controller).session.config.steps == 7


def test_the_weights_colour_bars_change_range_only_now_and_then():
    assert UT.symmetric_levels(np.array([0.3, -0.71])) == (-1.0, 1.0)
    assert UT.symmetric_levels(np.array([0.013])) == (-0.02, 0.02)
    assert UT.symmetric_levels(np.array([5.0])) == (-5.0, 5.0)
    assert UT.symmetric_levels(np.zeros(3)) == (-1e-12, 1e-12)


def _bar_labels(bar) -> list[str]:
    from PySide6 import QtGui

    image = QtGui.QImage(10, 10, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    try:
        return [t[2] for t in bar.axis.generateDrawSpecs(painter)[2]]
    finally:
        painter.end()


def test_the_change_bar_reads_zero_before_the_first_update(window):
    """Before any update the weights have not changed: the change map's bar says "0", not
    "1e-12 5e-13 0" (the span of an all-zero map); after an update it labels its range."""
    weights = window.panels["weightsPanel"]
    assert UT.training_for(window.controller).snapshot.updates == 0
    assert _bar_labels(weights.changeBar) == ["0"]
    window.panels["trainControls"].stepButton.click()
    labels = _bar_labels(weights.changeBar)
    assert len(labels) > 1 and not any("e-12" in t for t in labels)


def test_an_explore_change_while_training_holds_the_worker(window, monkeypatch):
    tc = UT.training_for(window.controller)
    held = []
    monkeypatch.setattr(tc.session, "hold", lambda s: held.append(s))
    window.controller.setStep(3)
    assert held == []  # not training: nothing to hold
    tc._running = True  # as poll() sees a running worker
    window.controller.setStep(4)
    assert held == [UT.EXPLORE_HOLD_S]
    tc._running = False


def test_a_legend_appears_only_when_it_tells_cells_apart(window):
    tc = UT.training_for(window.controller)
    controls = window.panels["trainControls"]
    controls.stepButton.click()
    loss, contrib = window.panels["lossPanel"], window.panels["contribPanel"]
    # one cell: the status names it, and a legend would only cover its curves
    assert not loss.legend.isVisible() and not contrib.legend.isVisible()
    tc.configure(cell="compare")
    controls.stepButton.click()
    assert len(tc.snapshot.runs) == 3
    assert loss.legend.isVisible() and contrib.legend.isVisible()


def test_the_weights_panel_puts_the_change_below_the_matrix_when_it_is_tall_and_narrow(window, qtbot):
    """Side by side in a narrow panel (Train mode at 1024 × 768) each matrix was a strip about
    40 pixels wide; below each other they get the panel's width. The images stay the session's."""
    weights = window.panels["weightsPanel"]
    ci = weights.graphics.ci
    for size, stacked in (((300, 420), True), ((900, 300), False), ((320, 440), True)):
        weights.graphics.setFixedSize(*size)
        qtbot.waitUntil(lambda stacked=stacked: weights.isStacked() == stacked)
        value_row = ci.items[weights.valuePlot][0][0]
        change_row, change_col = ci.items[weights.changePlot][0]
        assert (change_row > value_row) == stacked and (change_col == 0) == stacked
        assert weights.valuePlot.getViewBox().width() > 0.4 * size[0] * (1 if stacked else 0.5)
        # and the height: side by side, the empty second row took half of it (maps ~45 px tall)
        qtbot.waitUntil(lambda: weights.valuePlot.height() + (weights.changePlot.height() if stacked else 0)
                        > 0.85 * size[1])
    weights.graphics.setMinimumSize(0, 0)
    weights.graphics.setMaximumSize(16777215, 16777215)
    window.panels["trainControls"].stepButton.click()
    r, = UT.training_for(window.controller).snapshot.runs
    assert np.allclose(weights.delta, r.change()["rnn.weight_hh_l0"], atol=1e-6)
    assert np.array_equal(weights.changeImage.image, weights.delta)


def test_a_log_axis_labels_only_the_ticks_it_has_room_for(qtbot):
    import pyqtgraph as pg

    plot = pg.PlotWidget(axisItems={"left": UT.ReadableLogAxis("left")})
    qtbot.addWidget(plot)
    plot.setLogMode(y=True)
    plot.setYRange(-1.05, 1.05, padding=0)  # 0.09 … 11: two decades
    plot.show()
    qtbot.waitExposed(plot)
    axis = plot.getAxis("left")

    def labels(height):
        plot.resize(300, height)
        QtWidgets.QApplication.processEvents()
        out = []
        for _spacing, values in axis.tickValues(-1.05, 1.05, axis.geometry().height()):
            out += [s for s in axis.tickStrings(values, 1.0, 1.0) if s]
        return out

    few, some, every = labels(90), labels(400), labels(2000)
    assert set(few) == {"0.1", "1", "10¹"}
    assert {"0.2", "0.5", "2", "5"} <= set(some) and "0.3" not in some
    assert {"0.3", "0.9", "3", "9"} <= set(every)

    # six decades on a short axis: the decades give way too, every k-th, no two closer than a
    # line ("10¹ 1 0.1 0.01" were stacked on 45 pixels in presenter type)
    from PySide6 import QtGui

    lo, hi = -4.05, 2.05
    plot.setYRange(lo, hi, padding=0)
    for height in (70, 100, 140):
        plot.resize(300, height)
        QtWidgets.QApplication.processEvents()
        length = axis.geometry().height()
        shown = [v for _spacing, values in axis.tickValues(lo, hi, length)
                 for v, s in zip(values, axis.tickStrings(values, 1.0, 1.0)) if s]
        assert shown, height
        line = QtGui.QFontMetricsF(axis.style.get("tickFont") or axis.font()).height()
        gaps = np.diff(sorted(set(shown))) * length / (hi - lo)  # (a decade is on two levels)
        assert gaps.size == 0 or gaps.min() >= line, (height, shown, gaps)


def test_short_training_axes_label_no_closer_than_a_line(window):
    """The small plots of the Train mode (test accuracy, the weight matrix and its change) are
    short in presenter mode at 1024 × 768: their left axes label values at least a line apart
    ("0 10 20 30" of a 32-row W_hh in 35 px ran into one another)."""
    from PySide6 import QtGui

    weights = window.panels["weightsPanel"]
    for plot in (window.panels["lossPanel"].accPlot, weights.valuePlot, weights.changePlot):
        axis = plot.getAxis("left")
        line = QtGui.QFontMetricsF(axis.style.get("tickFont") or axis.font()).height()
        for lo, hi, px in ((0.0, 1.0, 30), (-0.5, 31.5, 35), (-0.5, 15.5, 60), (0.0, 1.0, 300)):
            step = axis.tickSpacing(lo, hi, px)[0][0]
            assert step * px / (hi - lo) >= line


def test_narrow_weight_maps_keep_a_column_label(window, qtbot):
    """In presenter type a 16-column W_hh is 40 px wide: its "col" axis labels only column 0,
    and draws it (pyqtgraph hid it for reaching a few pixels past the map's edge)."""
    from PySide6 import QtGui

    from rnnviz.ui import theme

    weights = window.panels["weightsPanel"]
    weights.setTheme(theme.make(font_scale=1.5))
    weights.graphics.setFixedSize(300, 180)  # side by side, as at 1024 × 768
    qtbot.waitUntil(lambda: weights.valuePlot.vb.width() < 80)
    image = QtGui.QImage(10, 10, QtGui.QImage.Format.Format_ARGB32)
    for plot in (weights.valuePlot, weights.changePlot):
        painter = QtGui.QPainter(image)
        try:
            _axis, _ticks, texts = plot.getAxis("bottom").generateDrawSpecs(painter)
        finally:
            painter.end()
        assert [t[2] for t in texts] and all(t[2] for t in texts), texts


@pytest.mark.parametrize("scale", [1.0, 1.5])
def test_side_by_side_gradient_heatmaps_name_their_cells_and_keep_labels_apart(window, qtbot, scale):
    """Three cells' ‖∂L/∂h_t‖ heatmaps side by side in a 1024 × 768 window: each is titled with
    its cell's name (the first one, beside the "update" axis, lost its title to that axis
    counted twice; in presenter type only the GRU's, the widest column, had one), in one type
    size no smaller than a normal title's, and the names fit their heatmaps; the step labels
    under each stand a label's width apart ("510 15" ran together)."""
    from PySide6 import QtGui

    from rnnviz.ui import theme

    controls = window.panels["trainControls"]
    controls.cellCombo.setCurrentIndex(controls.cellCombo.findData("compare"))
    window.resize(1024, 768)
    grad = window.panels["gradientPanel"]
    if scale != 1.0:
        grad.setTheme(theme.make(font_scale=scale))
    qtbot.waitUntil(lambda: len(grad.plots) == 3 and all(p.titleLabel.text for p in grad.plots.values()))
    sizes = set()
    for plot in grad.plots.values():
        title, pt, _look = plot._rnnvizTitle
        assert title == plot.titleLabel.text
        sizes.add(pt)
        width = QtGui.QFontMetricsF(theme.font(pt, bold=True)).horizontalAdvance(title)
        assert width <= plot.vb.width() + UT.TITLE_SPILL
        axis = plot.getAxis("bottom")
        fm = QtGui.QFontMetricsF(axis.style.get("tickFont") or axis.font())
        (lo, hi), px = plot.vb.viewRange()[0], axis.width()
        step = axis.tickSpacing(lo, hi, px)[0][0]
        values = [v for v in np.arange(np.ceil(lo / step), np.floor(hi / step) + 1) * step]
        if len(values) > 1:
            widest = max(fm.horizontalAdvance(t) for t in axis.tickStrings(values, 1.0, step))
            assert step * px / (hi - lo) >= widest
        assert values, "no step label at all"
    (pt,) = sizes
    assert theme.BASE_TITLE_PT <= pt <= grad.look.title_pt
    # columns too narrow for every name: none named (each in its tooltip), not some
    labels = [p._rnnvizLabel for p in grad.plots.values()]
    seen = set()
    for width in range(140, 460, 20):
        grad.graphics.setFixedWidth(int(width * scale))
        qtbot.waitUntil(lambda: grad.graphics.width() == int(width * scale) and not grad._fitPending)
        qtbot.wait(20)  # the layout pass and the refit after it
        titled = [bool(p.titleLabel.text) for p in grad.plots.values()]
        assert len(set(titled)) == 1, (width, [p.titleLabel.text for p in grad.plots.values()])
        seen.add(titled[0])
        if not titled[0]:
            assert [p.titleLabel.toolTip() for p in grad.plots.values()] == labels
    assert seen == {True, False}


def _scene_rect(item):
    return item.mapRectToScene(item.boundingRect())


@pytest.mark.parametrize("presenter", [False, True])
def test_the_cells_key_sits_below_the_plots_never_over_a_curve(window, qtbot, presenter):
    """In the plot's corner the key covered the tanh RNN's curve in "Learning to remember"
    (presenter mode at 1024 × 768 put "GRU (test)" across two curves). It is a row of its own
    below each plot: on one row, the whole names where they fit, else the first words."""
    tc = UT.training_for(window.controller)
    tc.configure(cell="compare")
    window.panels["trainControls"].stepButton.click()
    if presenter:
        window.presenter.enter(fullscreen=False)
    window.resize(1024, 740)
    loss, contrib = window.panels["lossPanel"], window.panels["contribPanel"]
    qtbot.waitUntil(lambda: loss.legend.isVisible() and contrib.legend.isVisible())
    for _ in range(5):
        QtWidgets.QApplication.processEvents()
    for panel, plot in ((loss, loss.lossPlot), (contrib, contrib.plot)):
        key, vb = panel.legend, plot.getViewBox()
        assert len(key.items) == 3
        assert not _scene_rect(key).intersects(_scene_rect(vb)), type(panel).__name__
        assert _scene_rect(key).top() >= _scene_rect(plot.getAxis("bottom")).bottom() - 1
        assert key.columnCount == 3  # one row
        width = panel.graphics.width() if panel is loss else panel.plotWidget.width()
        assert _scene_rect(key).width() <= width
        names = [label.text for _s, label in key.items]
        assert names in (["RNN (tanh)", "GRU", "LSTM"], ["RNN", "GRU", "LSTM"])
    if presenter:
        window.presenter.leave()


def test_the_key_shortens_its_names_before_it_takes_a_second_row(qapp):
    import pyqtgraph as pg

    key = UT.LegendRow()
    items = [pg.PlotDataItem([0, 1], [0, 1]) for _ in range(3)]
    key.entries(list(zip(items, ["RNN (tanh)", "GRU", "LSTM"])))
    whole = key.rowWidth(3)
    key.fit(whole + 1)
    assert key.columnCount == 3 and [lab.text for _s, lab in key.items] == ["RNN (tanh)", "GRU", "LSTM"]
    key.fit(whole - 1)
    short = key.rowWidth(3)
    assert key.columnCount == 3 and [lab.text for _s, lab in key.items] == ["RNN", "GRU", "LSTM"]
    assert short < whole
    key.fit(short - 1)
    assert key.columnCount < 3


def test_the_contributions_plot_says_what_it_waits_for_before_the_first_update(window, qtbot):
    contrib = window.panels["contribPanel"]
    qtbot.waitUntil(lambda: contrib.isVisible())
    assert all(r.contrib is None for r in UT.training_for(window.controller).snapshot.runs)
    assert contrib.emptyText.isVisible()
    text = contrib.emptyText.toPlainText()
    assert "first update" in text
    vb = contrib.plot.getViewBox()
    assert _scene_rect(vb).contains(_scene_rect(contrib.emptyText))  # whole, not cut by the plot
    left = contrib.plot.getAxis("left")

    def tick_texts():
        from PySide6 import QtGui

        image = QtGui.QImage(8, 8, QtGui.QImage.Format.Format_ARGB32)
        painter = QtGui.QPainter(image)
        try:
            return [spec[2] for spec in left.generateDrawSpecs(painter)[2]]
        finally:
            painter.end()

    assert tick_texts() == []  # an empty log axis said "5" and "2"
    window.panels["trainControls"].stepButton.click()
    for _ in range(3):  # until an update measured the contributions
        if any(r.contrib is not None for r in UT.training_for(window.controller).snapshot.runs):
            break
        window.panels["trainControls"].stepButton.click()
    qtbot.waitUntil(lambda: not contrib.emptyText.isVisible())
    assert tick_texts()


def test_a_log_axis_title_keeps_clear_of_its_tick_labels(window, qtbot):
    """pyqtgraph gave the axis title 0.8 of its height: in presenter type "‖∂L_T/∂x_k‖" ran
    into "0.0001". The axis now holds the title's whole height, and 10⁻⁴ is written as such."""
    window.presenter.enter(fullscreen=False)
    contrib = window.panels["contribPanel"]
    qtbot.waitUntil(lambda: contrib.isVisible())
    axis = contrib.plot.getAxis("left")

    def clear() -> bool:
        room = axis.textWidth + axis.style["tickTextOffset"][0] + max(0, axis.style["tickLength"])
        return axis.width() >= room + axis.label.boundingRect().height() - 0.5

    qtbot.waitUntil(clear)
    assert axis.label.boundingRect().height() > 30  # presenter type
    assert axis.logTickStrings([-4.0, -2.0, -6.0], 1.0, 1.0)[0] == "10⁻⁴"
    window.presenter.leave()


def test_the_weights_cell_choice_shows_the_whole_name_in_presenter_type(window, qtbot):
    """"RNN (tanh" in presenter mode at 1024 × 768: the choice now takes the whole name's width."""
    from PySide6 import QtGui

    tc = UT.training_for(window.controller)
    tc.configure(cell="compare")
    window.panels["trainControls"].stepButton.click()
    window.presenter.enter(fullscreen=False)
    window.resize(1024, 740)
    combo = window.panels["weightsPanel"].cellCombo
    qtbot.waitUntil(lambda: combo.isVisible() and combo.count() == 3)
    fm = QtGui.QFontMetrics(combo.font())
    widest = max(fm.horizontalAdvance(combo.itemText(k)) for k in range(combo.count()))
    qtbot.waitUntil(lambda: combo.width() >= widest + 20)  # the text and the arrow
    window.presenter.leave()


def test_the_status_line_in_the_train_mode_says_it_is_the_explore_network(window, qtbot):
    """The status bar read "88 parameters · ρ(W_hh) = 0.75" beside three trained cells of 16
    units: in the Train mode it says whose numbers those are."""
    assert window.modes.currentIndex() == 1
    n = window.controller.activeModel().n_params
    assert window.statusText().startswith(f"Explore network: {n:,} parameters")
    window.modes.setCurrentIndex(0)
    assert window.statusText().startswith(f"{n:,} parameters")
    window.modes.setCurrentIndex(1)
    window.controller.update(hidden_size=3)
    qtbot.waitUntil(lambda: window.statusText().startswith(
        f"Explore network: {window.controller.activeModel().n_params:,} parameters"))


@pytest.mark.parametrize("presenter", [False, True])
def test_the_empty_gradient_heatmaps_say_what_fills_them(window, qtbot, presenter):
    """Before the first update the three heatmaps were bare axes; a note across them now says
    that a row per update appears with Train or Step (whole, inside the heatmaps' span, also
    in presenter type at 1024 × 740 where each column is ~45 px wide)."""
    UT.training_for(window.controller).configure(cell="compare")
    if presenter:
        window.presenter.enter(fullscreen=False)
        window.resize(1024, 740)
    grad = window.panels["gradientPanel"]
    qtbot.waitUntil(lambda: grad.isVisible() and len(grad.plots) == 3)
    assert all(not len(r.dh_rows) for r in UT.training_for(window.controller).snapshot.runs)
    qtbot.waitUntil(lambda: grad.note.isVisible())
    assert "Train or Step" in grad.note.toPlainText() or "fills it" in grad.note.toPlainText()
    boxes = [_scene_rect(p.vb) for p in grad.plots.values()]
    span = boxes[0].united(boxes[-1])
    assert span.contains(_scene_rect(grad.note))
    window.panels["trainControls"].stepButton.click()
    qtbot.waitUntil(lambda: any(len(r.dh_rows) for r in UT.training_for(window.controller).snapshot.runs))
    qtbot.waitUntil(lambda: not grad.note.isVisible())
    if presenter:
        window.presenter.leave()


def test_stacked_loss_and_accuracy_share_one_update_axis_and_fit_their_labels(window, qtbot):
    """A class task stacks the accuracy under the loss: "update" is written once, under the
    accuracy (the x axes are linked), and the accuracy's label is worded for its plot's height
    (in presenter type at 1024 × 768 "test accuracy" ran up beside "loss" and read as one)."""
    from PySide6 import QtGui

    from rnnviz.ui import theme

    loss = window.panels["lossPanel"]
    controls = window.panels["trainControls"]
    assert not loss.accPlot.isVisible() and loss.lossPlot.getAxis("bottom").label.isVisible()
    controls.taskCombo.setCurrentIndex(controls.taskCombo.findData("recall"))
    assert loss.accPlot.isVisible()
    assert not loss.lossPlot.getAxis("bottom").label.isVisible()
    assert loss.accPlot.getAxis("bottom").label.isVisible()

    def fits() -> bool:
        pt = loss.look.axis_pt + 1
        width = QtGui.QFontMetrics(theme.font(pt)).horizontalAdvance(loss.accuracyLabel())
        return width <= loss.accPlot.getViewBox().height()

    for presenter, size in ((False, (1600, 1000)), (True, (1024, 740))):
        if presenter:
            window.presenter.enter(fullscreen=False)
        window.resize(*size)
        qtbot.waitUntil(lambda: loss.accPlot.getViewBox().height() > 0)
        QtWidgets.QApplication.processEvents()
        assert fits(), (presenter, loss.accuracyLabel(), loss.accPlot.getViewBox().height())
        if not presenter:
            assert loss.accuracyLabel() == "test accuracy"
    assert loss.accuracyLabel() != "test accuracy"  # the short plot's wording
    window.presenter.leave()
    controls.taskCombo.setCurrentIndex(controls.taskCombo.findData("adding"))
    assert not loss.accPlot.isVisible() and loss.lossPlot.getAxis("bottom").label.isVisible()
