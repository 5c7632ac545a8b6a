"""The fading panel shows the engine's influence arrays, and clicks on it reach the controller."""

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from rnnviz.ui import fading as F
from rnnviz.ui import theme
from rnnviz.ui.controller import Controller
from rnnviz.ui.fading import (
    CHAIN_DECADES,
    FadingPanel,
    box_label,
    chain_argb,
    chain_shade,
    fmt_percent,
    fmt_value,
)


@pytest.fixture
def make_panel(qtbot):
    """Shown panels, strongly referenced until the test is torn down.

    qtbot.addWidget keeps only a weak reference, and a panel sits in reference cycles (Qt
    signals, pyqtgraph items): left to the cyclic GC, a shown top-level panel can be deleted
    in the middle of its own paint event, which crashes Qt. pytest-qt closes and deletes the
    widgets before this fixture lets go of them.
    """
    made = []

    def make(controller, size=(900, 520)):
        panel = FadingPanel(controller)
        qtbot.addWidget(panel)
        made.append(panel)
        panel.resize(*size)
        panel.show()
        qtbot.waitExposed(panel)
        return panel

    yield make
    made.clear()


def original(item):
    ds = item.getOriginalDataset()
    return (np.zeros(0), np.zeros(0)) if ds[0] is None else ds


def assert_shown(y, engine):
    """Positive values drawn exactly; zeros (underflow) and NaN drawn as gaps."""
    engine = np.asarray(engine)
    assert y.shape == engine.shape
    pos = engine > 0
    np.testing.assert_array_equal(y[pos], engine[pos])
    assert np.isnan(y[~pos]).all()


def settle(controller, **changes):
    controller.update(**changes)
    controller.recompute()
    assert controller.waitForIdle()


# ---------------------------------------------------------------- pure helpers


def test_chain_shade_is_log_normalised():
    r = np.array([1.0, 10 ** (-CHAIN_DECADES / 2), 10 ** -CHAIN_DECADES, 1e-9, 0.0, 5.0, np.nan])
    a = chain_shade(r)
    np.testing.assert_allclose(a[:6], [1.0, 0.5, 0.0, 0.0, 0.0, 1.0])
    assert np.isnan(a[6])
    argb = chain_argb(np.array([1.0, 1e-9]))
    assert argb[0] & 0xFFFFFF == (16 << 16) | (32 << 8) | 96  # theme.NAVY
    assert argb[1] & 0xFFFFFF == 0xFFFFFF


def test_number_formats():
    assert fmt_value(0.00342) == "0.00342"
    assert fmt_value(3.1e-4) == "3.10×10⁻⁴"
    assert fmt_value(9.9999e-8) == "1.00×10⁻⁷"
    assert fmt_value(float("inf")) == "inf"
    assert fmt_percent(0.5) == "50 %"
    assert fmt_percent(0.006) == "0.6 %"
    assert box_label(1.0) == "100%" and box_label(0.0004) == "0.04%" and box_label(2.0) == ">100%"


# ---------------------------------------------------------------- view follows the controller


def test_curves_equal_engine_arrays_for_revealed_steps(qtbot, make_panel, controller):
    panel = make_panel(controller)
    cr = controller.result.cells[0]
    for step in (0, 11, controller.settings.T - 1):
        controller.setStep(step)
        n = step + 1
        x, y = original(panel.curves()["influence"])
        np.testing.assert_array_equal(x, np.arange(1, n + 1))
        np.testing.assert_array_equal(y, cr.trace.influence[:n])
        x, y = original(panel.curves()["perturbation"])
        np.testing.assert_array_equal(x, np.arange(1, n + 1))
        np.testing.assert_array_equal(y, cr.perturbation[:n])
        assert panel.revealedSteps() == n
    controller.setStep(4)
    controller.setRevealAll(True)
    x, y = original(panel.curves()["influence"])
    np.testing.assert_array_equal(y, cr.trace.influence)
    assert panel.chainValues().shape == (controller.settings.T,)
    controller.setRevealAll(False)
    assert len(original(panel.curves()["influence"])[1]) == 5


def test_chain_is_influence_over_step_one(qtbot, make_panel, controller):
    panel = make_panel(controller)
    infl = controller.result.cells[0].trace.influence
    controller.setStep(11)
    np.testing.assert_allclose(panel.chainValues(), infl[:12] / infl[0], rtol=1e-12)
    assert panel.chain.revealed() == 12
    # the colours painted are the log shading of those ratios
    row = panel.chain.rows()[0]
    for k in (0, 5, 11):
        assert row.image.pixel(k, 0) & 0xFFFFFF == int(chain_argb(infl[k : k + 1] / infl[0])[0]) & 0xFFFFFF
    assert panel.chain.boxMode()
    panel.grab()


def test_axes_fixed_while_stepping(qtbot, make_panel, controller):
    panel = make_panel(controller)
    T = controller.settings.T
    controller.setStep(0)
    first = panel.vb.viewRange()
    controller.setStep(T - 1)
    assert panel.vb.viewRange() == first
    assert first[0] == [0.5, T + 0.5]
    infl = controller.result.cells[0].trace.influence
    lo, hi = panel.yRange()
    assert lo < np.log10(infl.min()) and hi > np.log10(infl.max())


def test_a_drag_holds_the_y_range_and_its_end_tightens_it(qtbot, make_panel, controller, monkeypatch):
    """While a mouse button is down a small move of the curves leaves the y axis as it is (the
    curve moves against still ticks), a wide one does not squeeze them; after the release the
    range is the frame's own again, as if never held."""
    held = {"on": True}
    monkeypatch.setattr(F.FadingPanel, "pointerHeld", staticmethod(lambda: held["on"]))
    panel = make_panel(controller)

    def shown():
        (_, _), (y0, y1) = panel.vb.viewRange()
        ticks = [v for v, _ in panel.plot.getAxis("left")._tickLevels[0]]
        assert ticks and y0 - 1e-9 <= min(ticks) and max(ticks) <= y1 + 1e-9  # the axis labels its range
        return y0, y1

    ranges = []
    for scale in (0.9, 0.8, 0.9):  # down a few decades, then back up
        settle(controller, recurrent_scale=scale)
        ranges.append(shown())
    assert ranges[1][0] < ranges[0][0] - 0.4  # it grew to keep the falling curve in view
    assert ranges[2] == pytest.approx(ranges[1])  # and held when the curve came back up
    assert ranges[2][0] < panel._fading.yrange[0] - 0.4
    settle(controller, recurrent_scale=1.0)
    settle(controller, recurrent_scale=0.2)  # far down: the held range follows
    settle(controller, recurrent_scale=1.0)  # and back: not squeezed into the top
    y0, y1 = shown()
    assert y0 >= panel._fading.yrange[0] - 0.25 * (y1 - y0)
    settle(controller, recurrent_scale=0.9)
    assert panel._holdTimer.isActive()
    held["on"] = False
    qtbot.waitUntil(lambda: panel._held is None, timeout=2000)
    tight = shown()
    assert tight[0] > ranges[2][0] + 0.4
    fresh = make_panel(controller)  # a panel that never held shows the same
    assert tight == pytest.approx(tuple(fresh.vb.viewRange()[1]))
    assert panel.plot.getAxis("left")._tickLevels == fresh.plot.getAxis("left")._tickLevels


def test_a_new_theme_reaches_the_status_line_before_the_first_run(qtbot, make_panel):
    panel = make_panel(Controller())  # no run yet: "waiting for the first run…"
    panel.setTheme(theme.DARK)
    line = panel.statusLabel
    img = line.grab().toImage()
    assert img.pixelColor(line.width() - 2, 1).name() == QtGui.QColor(theme.DARK.background).name()


def test_marker_and_status_show_the_current_step(qtbot, make_panel, controller):
    panel = make_panel(controller)
    infl = controller.result.cells[0].trace.influence
    controller.setStep(11)
    (x, y), = panel.markerPoints()
    assert x == 12.0 and y == pytest.approx(infl[11], rel=1e-12)
    text = panel.statusText()
    assert "t = 12" in text and fmt_value(infl[11]) in text and fmt_percent(infl[11] / infl[0]) in text
    assert panel.cursor.value() == 12


def test_tooltips_give_exact_values(qtbot, make_panel, controller):
    panel = make_panel(controller)
    infl = controller.result.cells[0].trace.influence
    controller.setStep(9)
    assert fmt_value(infl[4]) in panel.toolTipAtStep(4)
    assert "not revealed" in panel.toolTipAtStep(20)
    chain = panel.chain
    left, _right = chain.span()
    y = chain.rowRect(0).center().y()
    tip = chain.toolTipAt(QtCore.QPointF(left + 6.5 * chain.pitch(), y))
    assert "step t = 7" in tip and fmt_value(infl[6]) in tip and fmt_percent(infl[6] / infl[0]) in tip
    assert "not revealed" in chain.toolTipAt(QtCore.QPointF(left + 25.5 * chain.pitch(), y))


def test_waits_for_a_first_result(qtbot, make_panel):
    c = Controller()
    panel = make_panel(c)
    assert panel.curves() == {} and panel.computingText.isVisible()
    panel.grab()
    c.recompute()
    assert c.waitForIdle()
    np.testing.assert_array_equal(original(panel.curves()["influence"])[1], c.result.cells[0].trace.influence[:1])


# ---------------------------------------------------------------- controller follows the view


def test_backward_toggle_round_trip(qtbot, make_panel, controller):
    panel = make_panel(controller)
    assert not panel.curves()["backward"].isVisible()
    qtbot.mouseClick(panel.backwardCheck, QtCore.Qt.MouseButton.LeftButton)
    assert controller.settings.backward is True
    assert panel.backwardCheck.isChecked()
    # a cheap run is computed inside the click: its backward curve is shown at once
    assert controller.result.settings.backward is True and controller.idle
    back = controller.result.cells[0].backward
    assert back is not None
    item = panel.curves()["backward"]
    assert item.isVisible() and not panel.computingText.isVisible()
    x, y = original(item)
    np.testing.assert_array_equal(x, np.arange(1, controller.settings.T + 1))
    np.testing.assert_array_equal(y, back)
    assert any("backward" in label.text for _s, label in panel.legend.items)
    assert "∂h_T / ∂hₜ" in panel.plot.getAxis("left").labelText  # the axis names both curves
    qtbot.mouseClick(panel.backwardCheck, QtCore.Qt.MouseButton.LeftButton)
    assert controller.settings.backward is False
    assert controller.waitForIdle()
    assert not panel.curves()["backward"].isVisible() and not panel.backwardCheck.isChecked()
    assert "∂h_T" not in panel.plot.getAxis("left").labelText
    controller.update(backward=True)  # from elsewhere (the menu): the checkbox follows
    assert panel.backwardCheck.isChecked()


def test_computing_text_while_a_worker_runs(qtbot, make_panel):
    c = Controller()
    panel = make_panel(c)
    c.update(cell="gru", hidden_size=64, T=400, backward=True)  # slow curves go to a worker
    c.recompute()
    assert c.result.complete is False
    assert panel.computingText.isVisible() and "computing" in panel.computingText.toPlainText()
    assert c.waitForIdle()
    assert not panel.computingText.isVisible()
    c.setRevealAll(True)
    np.testing.assert_array_equal(original(panel.curves()["backward"])[1], c.result.cells[0].backward)
    drawn, pert = original(panel.curves()["perturbation"])[1], c.result.cells[0].perturbation
    shown = np.isfinite(drawn)  # the nudge check is drawn where float64 can resolve it
    assert shown[:40].all() and shown.sum() >= 40
    np.testing.assert_array_equal(drawn[shown], pert[shown])


def test_clicking_the_chain_and_dragging_the_cursor_set_the_step(qtbot, make_panel, controller):
    panel = make_panel(controller)
    chain = panel.chain
    left, _right = chain.span()
    pos = QtCore.QPoint(int(left + 7.5 * chain.pitch()), int(chain.rowRect(0).center().y()))
    with qtbot.waitSignal(controller.stepChanged):
        qtbot.mouseClick(chain, QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert controller.step == 7
    panel.cursor.setValue(20)
    panel.cursor.sigDragged.emit(panel.cursor)
    assert controller.step == 19
    assert panel.chain.revealed() == 20


# ---------------------------------------------------------------- Compare mode and hard cases


def test_compare_mode_three_curves_and_chains(qtbot, make_panel, controller):
    panel = make_panel(controller)
    settle(controller, cell="compare", T=100, hidden_size=32)
    controller.setStep(39)
    curves = panel.curves()
    labels = [cr.label for cr in controller.result.cells]
    assert labels == ["RNN (tanh)", "GRU", "LSTM"]
    for cr in controller.result.cells:
        x, y = original(curves[f"{cr.label}/influence"])
        np.testing.assert_array_equal(x, np.arange(1, 41))
        np.testing.assert_array_equal(y, cr.trace.influence[:40])
        pert = original(curves[f"{cr.label}/perturbation"])[1]
        drawn = pert > 0  # NaN where float64 cannot resolve the nudge check
        assert drawn[:20].all()
        np.testing.assert_array_equal(pert[drawn], cr.perturbation[:40][drawn])
        infl = cr.trace.influence
        np.testing.assert_allclose(panel.chainValues(cr.label), infl[:40] / infl[0], rtol=1e-12)
        np.testing.assert_allclose(panel.chainValues(cr.key), infl[:40] / infl[0], rtol=1e-12)
    assert [row.short for row in panel.chain.rows()] == ["RNN", "GRU", "LSTM"]
    assert "influence" not in curves
    assert [x for x, _y in panel.markerPoints()] == [40.0] * 3
    panel.grab()
    settle(controller, cell="rnn_tanh", T=30, hidden_size=8)  # and back to one cell
    assert set(panel.curves()) == {"influence", "perturbation", "backward"}
    assert len(panel.chain.rows()) == 1


def test_exploding_relu(qtbot, make_panel, controller):
    panel = make_panel(controller)
    settle(controller, cell="rnn_relu", recurrent_scale=8.0, T=200)
    cr = controller.result.cells[0]
    nf = cr.trace.nonfinite
    assert nf is not None
    for step in (10, nf.t, 199):
        controller.setStep(step)
        panel.grab()
    controller.setRevealAll(True)
    ratio = panel.chainValues()
    infl = cr.trace.influence
    np.testing.assert_allclose(ratio[: nf.t], infl[: nf.t] / infl[0], rtol=1e-12)
    assert np.isnan(ratio[nf.t :]).all()  # where h is inf the chain is hatched, not white
    row = panel.chain.rows()[0]
    from rnnviz.core.frames import EXPLODING_RATIO

    assert (row.grew[: nf.t] == (ratio[: nf.t] > EXPLODING_RATIO)).all() and row.grew[3 : nf.t].all()
    assert row.bad[nf.t :].all()
    # the curve stops where h overflowed; an overflow marker sits at the top
    shown = panel.curves()["influence"].getData()[1]
    assert np.isfinite(shown[: nf.t]).all() and not np.isfinite(shown[nf.t :]).any()
    assert list(panel.overflowMarkers.getOriginalDataset()[0]) == [nf.t + 1.0]
    assert panel.overflowText.isVisible()
    lo, hi = panel.yRange()
    # the nudge check (float64) stops where h (float32) overflowed too: past it, it is hidden
    pert = original(panel.curves()["perturbation"])[1]
    assert np.isfinite(pert[: nf.t]).all() and not np.isfinite(pert[nf.t :]).any()
    assert np.isfinite(lo) and np.isfinite(hi) and hi > np.log10(np.nanmax(pert))
    assert "overflowed at t = 68" in panel.statusText() or "inf/NaN" in panel.statusText()
    qtbot.mouseClick(panel.backwardCheck, QtCore.Qt.MouseButton.LeftButton)
    assert controller.waitForIdle()
    panel.grab()
    settle(controller, recurrent_scale=0.5)  # no overflow any more: the marker goes
    ds = panel.overflowMarkers.getOriginalDataset()[0]
    assert (ds is None or len(ds) == 0) and not panel.overflowText.isVisible()


def test_perturbation_past_an_overflow_of_h_is_not_drawn(qtbot, make_panel, controller):
    """The nudge check runs in float64 and overflows much later than h (float32); past h's
    overflow it is hidden (issue 8), and the hover text says why."""
    panel = make_panel(controller)
    settle(controller, cell="rnn_relu", recurrent_scale=8.0, T=2000)
    cr = controller.result.cells[0]
    pert, nf = cr.perturbation, cr.trace.nonfinite
    assert np.isposinf(pert).any() and nf is not None and nf.t < np.flatnonzero(np.isposinf(pert))[0]
    controller.setRevealAll(True)
    _x, y = original(panel.curves()["perturbation"])
    assert np.isfinite(y[: nf.t]).all() and not np.isfinite(y[nf.t:]).any()
    assert "not drawn: h overflowed before" in panel.toolTipAtStep(nf.t + 5)
    assert list(panel.overflowMarkers.getOriginalDataset()[0]) == [nf.t + 1.0]  # the influence's
    panel.grab()


def test_fully_vanishing_long_run(qtbot, make_panel, controller):
    panel = make_panel(controller)
    settle(controller, cell="rnn_tanh", recurrent_scale=0.05, T=2000)
    infl = controller.result.cells[0].trace.influence
    assert (infl == 0).any()  # underflows to exactly 0: the curve must simply end
    assert not panel.chain.boxMode()  # 2000 steps: a continuous strip
    for step in (0, 150, 1999):
        controller.setStep(step)
        panel.grab()
    controller.setRevealAll(True)
    _x, y = original(panel.curves()["influence"])
    pos = infl > 0
    np.testing.assert_array_equal(y[pos], infl[pos])
    assert np.isnan(y[~pos]).all()
    lo, hi = panel.yRange()
    assert np.isfinite(lo) and lo <= np.log10(infl[pos].min())
    np.testing.assert_array_equal(panel.chainValues()[~pos], 0.0)
    assert "0" in panel.statusText()


@pytest.mark.parametrize("T", [5000, 100_000])
def test_long_chain_is_one_strip_not_many_items(qtbot, make_panel, T):
    c = Controller()
    c.update(T=T, hidden_size=4)
    c.recompute()
    assert c.waitForIdle(120_000)
    panel = make_panel(c)
    c.setStep(T // 2)
    assert not panel.chain.boxMode()
    assert len(panel.graphics.scene().items()) < 200
    assert_shown(original(panel.curves()["influence"])[1], c.result.cells[0].trace.influence[: T // 2 + 1])
    panel.grab()


@pytest.mark.parametrize("cell", ["lstm", "compare"])
def test_panel_shows_exactly_the_frame(qtbot, make_panel, controller, cell):
    controller.update(cell=cell, T=25, backward=True)
    controller.recompute()
    assert controller.waitForIdle()
    panel = make_panel(controller)
    controller.setStep(9)
    frame = controller.frame
    fad, st = frame.fading, frame.fading_step
    assert panel.yRange() == fad.yrange and panel.revealedSteps() == st.revealed == 10
    for key, item in panel.curves().items():
        c = fad.curves[key]
        x, y = item.getOriginalDataset()
        n = st.revealed if c.reveal else fad.T
        if c.y.size:
            np.testing.assert_array_equal(y, c.shown[:n])
        assert item.isVisible() == c.visible
    for row in fad.rows:
        np.testing.assert_array_equal(panel.chainValues(row.label), row.ratio[: st.revealed])
    shown = np.array(panel.markerPoints(), dtype=np.float64).reshape(-1, 2)
    expected = np.array([(x, 10.0**ly) for x, ly in (m for m in st.markers if m is not None)]).reshape(-1, 2)
    np.testing.assert_allclose(shown, expected, rtol=1e-12)
    assert panel.statusText().replace("\xa0", " ") == st.status.plain
    assert panel.toolTipAtStep(3) == fad.tooltip(3, st.revealed)


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu"])
def test_a_long_status_line_fits_the_panel(qtbot, make_panel, controller, cell):
    """Issue 8: "t = 60: ‖∂h60/∂x1‖ = 4.87×10⁸ → 1.1×10…" needed 621 px and had 524. The
    exploding lesson's line (with "⚠ exploding: over 10×") then showed whole at 4 pt less,
    unreadable from the back of a room: a shorter form comes before type over 2 pt smaller."""
    panel = make_panel(controller)
    settle(controller, cell=cell, recurrent_scale=3.0, T=60, hidden_size=8)
    controller.setStep(59)
    for width in (420, 524, 700):
        panel.resize(width, 520)
        panel.show()
        qtbot.waitExposed(panel)
        label = panel.statusLabel
        plain = panel.statusText()
        assert len(plain) > 20
        bold = QtGui.QFont(label.font())
        bold.setBold(True)
        assert QtGui.QFontMetricsF(bold).horizontalAdvance(plain) <= label.width() + 1
        # readable: a shorter form (the whole line in the tooltip) before type 4 pt smaller
        assert label.font().pointSize() >= panel.look.font_pt - F.STATUS_NEAR_PT
        whole = label.toolTip().replace("\xa0", " ")
        assert plain == whole or len(plain) < len(whole)
        bold = theme.font(panel.look.font_pt - F.STATUS_NEAR_PT, bold=True)
        whole_fits = QtGui.QFontMetricsF(bold).horizontalAdvance(whole) <= label.width() + 1
        assert (plain == whole) == whole_fits, (width, plain)


@pytest.mark.parametrize("size", [(560, 420), (900, 520)])
def test_the_legend_covers_no_curve(qtbot, make_panel, controller, size):
    """Issue 8: in the race the legend covered the GRU and LSTM curves, the lesson's point."""
    panel = make_panel(controller)
    settle(controller, cell="compare", T=200, hidden_size=12, update_bias=5.0, forget_bias=5.0)
    controller.setRevealAll(True)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    QtWidgets.QApplication.processEvents()
    legend = panel.legend if panel.legend.isVisible() else panel.legendRow
    assert legend.isVisible() and len(legend.items) == 4
    box = legend.sceneBoundingRect()
    vb = panel.vb
    for key, item in panel.curves().items():
        if not item.isVisible():
            continue
        x, y = item.getData()  # in the plot's log coordinates
        for xi, yi in zip(x, y):
            if np.isfinite(yi):
                assert not box.contains(vb.mapViewToScene(QtCore.QPointF(xi, yi))), (key, xi, yi)


@pytest.mark.parametrize("size", [(540, 420), (900, 520)])
def test_the_legend_covers_no_value_label(qtbot, make_panel, controller, size):
    """At t = 1 the only point is at the top left and the legend in the free top-right corner:
    its value label "0.567  (100 %)" went under the legend in a narrow panel."""
    panel = make_panel(controller, size)
    panel.setTheme(panel.look.scaled(1.5))  # presenter-size text: the widest label and legend
    for step in (0, 1, 5, controller.settings.T - 1):
        controller.setStep(step)
        QtWidgets.QApplication.processEvents()
        label, legend = panel.valueText.sceneBoundingRect(), panel.legend.sceneBoundingRect()
        assert panel.valueText.isVisible() and panel.legend.isVisible()
        assert not label.intersects(legend), (step, label, legend)
        assert panel.vb.sceneBoundingRect().contains(label), step
        assert panel.valueText.toPlainText().startswith(fmt_value(controller.result.cells[0].trace.influence[step]))


def test_a_short_panel_gives_the_chain_s_rows_to_the_curves(make_panel, qtbot):
    from rnnviz.ui.fading import MIN_PLOT_HEIGHT

    c = Controller()
    c.update(cell="compare", T=200)
    c.recompute()
    assert c.waitForIdle()
    tall = make_panel(c, (600, 620))
    assert tall.chain.isVisible() and tall.graphics.height() >= MIN_PLOT_HEIGHT
    short = make_panel(c, (600, 330))  # the race with a lesson open on a 1024×768 projector
    qtbot.waitUntil(lambda: not short.chain.isVisible() and short.graphics.height() >= MIN_PLOT_HEIGHT)
    short.resize(600, 620)
    qtbot.waitUntil(lambda: short.chain.isVisible())


def test_a_short_plot_labels_every_k_th_decade_without_overlaps(make_panel, qtbot):
    c = Controller()
    c.update(cell="compare", T=200)
    c.recompute()
    assert c.waitForIdle()
    panel = make_panel(c, (600, 300))
    ticks = panel.plot.getAxis("left")._tickLevels[0]
    every = list(c.frame.fading.ticks)
    assert len(every) >= 5 and 2 <= len(ticks) < len(every)  # forty decades on a short plot
    assert all(t in every for t in ticks)
    ys = sorted(panel.vb.mapViewToScene(QtCore.QPointF(1, v)).y() for v, _ in ticks)
    font_h = QtGui.QFontMetricsF(panel.plot.getAxis("left").style.get("tickFont") or panel.font()).height()
    assert min(b - a for a, b in zip(ys, ys[1:])) >= font_h  # labels a line apart: none overlap
    grid_values = set(np.round(panel.grid.yData[::2], 9))
    assert grid_values == set(np.round([v for v, _ in every], 9))  # the grid keeps every decade


def test_peak_downsample_keeps_every_block_s_extremes():
    x = np.arange(1, 10_001, dtype=np.float64)
    y = np.log10(np.exp(-0.01 * x)) + np.sin(x)  # a falling curve with spikes
    y[3000:3500] = np.nan  # a gap
    short = y[:2000]
    assert F.peak_downsample(x[:2000], short, 2000)[1] is short  # short: as given
    px, py = F.peak_downsample(x, y, 2000)
    assert px.size == py.size <= 2000
    k = -(-x.size // 1000)
    for b in range(0, x.size // k):
        block = y[b * k : (b + 1) * k]
        lo, hi = py[2 * b], py[2 * b + 1]
        if np.isnan(block).all():
            assert np.isnan(lo) and np.isnan(hi)  # the gap stays a gap
        else:
            assert lo == np.nanmin(block) and hi == np.nanmax(block)
    assert np.nanmin(py) == np.nanmin(y) and np.nanmax(py) == np.nanmax(y)
    assert np.all(np.diff(px) >= 0) and px[0] == 1.0


def test_curves_are_painted_where_the_view_maps_them(qtbot, make_panel, controller):
    """The curves are plain Qt path items: their bounding rect is the view's range (set when it
    changes) and the pixels under a curve's point show its colour."""
    panel = make_panel(controller)
    controller.setRevealAll(True)
    QtWidgets.QApplication.processEvents()
    item = panel.curves()["influence"]
    (x0, x1), (y0, y1) = panel.vb.viewRange()
    r = item.boundingRect()
    assert (r.left(), r.right()) == pytest.approx((x0, x1)) and (r.top(), r.bottom()) == pytest.approx((y0, y1))
    image = panel.graphics.grab().toImage()
    x, logy = item.getData()
    colour = item.pen().color()
    hits = 0
    for t in (5, 10, 15):
        scene = panel.vb.mapViewToScene(QtCore.QPointF(x[t], logy[t]))
        view = panel.graphics.mapFromScene(scene)
        dpr = image.devicePixelRatio()
        around = [image.pixelColor(int(view.x() * dpr) + dx, int(view.y() * dpr) + dy)
                  for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        hits += any(abs(c.red() - colour.red()) + abs(c.green() - colour.green()) + abs(c.blue() - colour.blue()) < 40
                    for c in around)
    assert hits == 3
    controller.update(T=4000)  # a long run: about one point per pixel, all the values kept
    assert controller.waitForIdle()
    QtWidgets.QApplication.processEvents()
    item = panel.curves()["influence"]
    assert item.getOriginalDataset()[1].size == 4000
    assert item.path().elementCount() <= F.DOWNSAMPLE_ABOVE


def test_the_legend_is_painted_from_a_cache_except_in_exports(qtbot, make_panel, controller):
    """Its translucent box was filled afresh at every frame of a drag (~0.1 ms); an export
    draws it uncached (vector text in an SVG), and the cached picture is the uncached one."""
    from rnnviz.ui.caching import uncached

    panel = make_panel(controller)
    device = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    assert panel.legend.cacheMode() == device
    cached = panel.graphics.grab().toImage()
    with uncached(panel):
        assert panel.legend.cacheMode() == QtWidgets.QGraphicsItem.CacheMode.NoCache
        plain = panel.graphics.grab().toImage()
    assert panel.legend.cacheMode() == device
    box = panel.graphics.mapFromScene(panel.legend.sceneBoundingRect()).boundingRect()
    assert box.width() > 50 and cached.copy(box) == plain.copy(box)


def test_the_texts_of_axes_labels_and_legend_entries_are_cached_too(qtbot, make_panel, controller):
    """An item's cache holds its own paint, not its children's: an axis title, a label's text
    and a legend entry are text items of their own, laid out again at every frame of a drag
    (~0.3 ms a frame in Compare) unless each has its cache; entries added later get it too."""
    from rnnviz.ui.caching import _CACHED

    panel = make_panel(controller)
    device = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache

    def texts():
        return [it for it in panel.graphics.scene().items()
                if isinstance(it, QtWidgets.QGraphicsTextItem) and isinstance(it.parentItem(), _CACHED)]

    before = [it.toPlainText() for it in texts()]
    assert any("log scale" in t for t in before) and any("(exact)" in t for t in before)
    assert all(it.cacheMode() == device for it in texts())
    controller.update(cell="compare")  # a new legend: one entry per cell
    assert controller.waitForIdle()
    QtWidgets.QApplication.processEvents()
    after = texts()
    assert {"GRU", "LSTM"} <= {it.toPlainText() for it in after}
    assert all(it.cacheMode() == device for it in after)


def test_the_status_line_s_shorter_forms_are_made_only_for_a_narrow_panel(qtbot, make_panel, controller):
    """A wide panel shows the whole line and never asks for the shorter forms (made at every
    tick of a drag, they cost ~0.2 ms); a narrow one shows one of them."""
    controller.setStep(controller.settings.T - 1)  # "‖∂h₃₀/∂x₁‖ = 5.85×10⁻⁶ → 0.001 % of step 1 left"
    panel = make_panel(controller, (1400, 520))
    QtWidgets.QApplication.processEvents()
    step = controller.frame.fading_step
    assert "status_short" not in step.__dict__ and panel.statusText() == step.status.plain
    panel.resize(300, 520)
    QtWidgets.QApplication.processEvents()
    shown = QtGui.QTextDocument()
    shown.setHtml(panel.statusLabel.text())
    assert "status_short" in step.__dict__
    assert shown.toPlainText().strip() in [f.plain.strip() for f in step.status_short]


def test_the_y_label_stays_centred_on_the_plot_when_its_form_changes(qtbot, make_panel, controller):
    """pyqtgraph centres an axis label when the axis is resized, by the text it had then: the
    whole label, set after a resize had placed a shorter form, ran past the plot's top ("(log
    sc" at 1920×1080 in the race)."""
    settle(controller, cell="compare", T=200, hidden_size=12)
    panel = make_panel(controller, (420, 380))
    left = panel.plot.getAxis("left")
    forms = set()
    for height in (380, 600, 380, 460, 300, 420, 700):
        panel.resize(420, height)
        QtWidgets.QApplication.processEvents()
        label, vb = left.label.sceneBoundingRect(), panel.vb.sceneBoundingRect()
        forms.add(left.labelText)
        assert vb.top() - 2 <= label.top() and label.bottom() <= vb.bottom() + 2, (height, left.labelText)
        assert abs(label.center().y() - vb.center().y()) <= 3, height
    assert len(forms) >= 2  # the label did change its form on the way


def _covered_points(panel) -> list:
    """The drawn curve points (influence and nudge check) under the value label's box."""
    label = panel.valueText.sceneBoundingRect()
    hits = []
    for key, item in panel.curves().items():
        if not item.isVisible():
            continue
        x, y = item.getData()  # in the plot's log coordinates
        for xi, yi in zip(x, y):
            if np.isfinite(yi) and label.contains(panel.vb.mapViewToScene(QtCore.QPointF(xi, yi))):
                hits.append((key, float(xi), float(yi)))
    return hits


CRAMPED = ((540, 420), 1.5)  # presenter type in the fading panel of a 1024×768 window


@pytest.mark.parametrize("lesson,size,scale", [
    (lesson, size, scale) for lesson in ("exploding", "vanishing-memory", "lstm-remembers")
    for size, scale in (((560, 300), 1.0), ((900, 520), 1.0), CRAMPED)
    # there the LSTM's nearly flat end leaves the label no free place: the legend takes the
    # bottom-right corner, and above the marker is the curve
    if (lesson, (size, scale)) != ("lstm-remembers", CRAMPED)])
def test_the_value_label_covers_no_curve(qtbot, make_panel, lesson, size, scale):
    """The exploding lesson's "4.87×10⁸  (1.1×10¹¹ %)" at t = 60 sat on the end of the rising
    curve: no room above the marker at the top of the plot, so it flipped below, onto the
    curve. Head room is made instead (foot room for a falling curve at the bottom); a label
    too wide for either side of the marker moves over it, or drops its percentage."""
    from rnnviz.core import session as CS

    c = Controller()
    c.update(**CS.load_lesson(lesson).settings.__dict__)
    c.recompute()
    assert c.waitForIdle()
    panel = make_panel(c, size)
    panel.setTheme(panel.look.scaled(scale))
    T = c.settings.T
    for step in sorted({0, 1, T // 3, T // 2, T - 2, T - 1}):
        c.setStep(step)
        QtWidgets.QApplication.processEvents()
        assert panel.valueText.isVisible(), step
        assert panel.vb.sceneBoundingRect().contains(panel.valueText.sceneBoundingRect()), (
            step, panel.vb.sceneBoundingRect(), panel.valueText.sceneBoundingRect())
        assert not _covered_points(panel), (step, _covered_points(panel)[:3])
