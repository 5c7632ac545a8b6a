"""StatePanel and GatePanel: what they show must be the engine's arrays, and clicks select units."""

import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtWidgets

from rnnviz.ui.controller import Controller
from rnnviz.ui.heatmaps import GatePanel, StatePanel, display_image

CELLS = ["rnn_tanh", "gru", "lstm", "compare"]


def _configure(controller, **changes):
    controller.update(**changes)
    controller.recompute()
    assert controller.waitForIdle()


def _panel(qtbot, cls, controller, show=False):
    panel = cls(controller)
    qtbot.addWidget(panel)
    if show:
        panel.resize(900, 560)
        panel.show()
        qtbot.waitExposed(panel)
    return panel


def _expected_state(result):
    """Key → (T, H) engine array, as StatePanel documents its keys."""
    if len(result.cells) > 1:
        return {f"{cr.label}/h": cr.trace.h for cr in result.cells}
    cr = result.cells[0]
    out = {"h": cr.trace.h}
    if cr.trace.c is not None:
        out["c"] = cr.trace.c
    return out


def _expected_gates(result):
    compare = len(result.cells) > 1
    out = {}
    for cr in result.cells:
        for g, arr in cr.trace.gates.items():
            out[(f"{cr.label}/" if compare else "") + g] = arr
    return out


def _assert_shows(panel, expected, step):
    assert set(panel.imageItems()) == set(expected)
    for key, arr in expected.items():
        shown = panel.shownData(key)
        assert shown.shape == (arr.shape[1], step + 1), key
        np.testing.assert_array_equal(shown, arr[: step + 1].T, err_msg=key)
        # the full image is the whole run, units × time, for when everything is revealed
        np.testing.assert_array_equal(panel.imageItems()[key].image, arr.T, err_msg=key)


# --------------------------------------------------------------------------- StatePanel
@pytest.mark.parametrize("cell", CELLS)
def test_state_panel_shows_engine_arrays_through_steps_and_sliders(qtbot, controller, cell):
    panel = _panel(qtbot, StatePanel, controller)
    _configure(controller, cell=cell)
    controller.setStep(0)
    _assert_shows(panel, _expected_state(controller.result), 0)

    controller.setStep(11)
    _assert_shows(panel, _expected_state(controller.result), 11)
    controller.toEnd()
    _assert_shows(panel, _expected_state(controller.result), controller.settings.T - 1)

    before = {k: v.copy() for k, v in _expected_state(controller.result).items()}
    controller.setStep(7)
    _configure(controller, recurrent_scale=2.0)
    after = _expected_state(controller.result)
    assert any(not np.array_equal(before[k], after[k]) for k in after)  # the slider changed the run
    _assert_shows(panel, after, 7)


def test_state_panel_keys_and_levels(qtbot, controller):
    panel = _panel(qtbot, StatePanel, controller)
    assert set(panel.imageItems()) == {"h"}
    assert panel.imageItems()["h"].levels == pytest.approx((-1.0, 1.0))
    assert panel.colourBars()["h"].levels() == pytest.approx((-1.0, 1.0))

    _configure(controller, cell="lstm", recurrent_scale=3.0, signal="constant", amplitude=4.0)
    cr = controller.result.cells[0]
    assert set(panel.imageItems()) == {"h", "c"}
    assert cr.c_levels() != (-1.0, 1.0)  # c is unbounded here: its own levels
    assert panel.imageItems()["c"].levels == pytest.approx(cr.c_levels())
    assert panel.colourBars()["c"].levels() == pytest.approx(cr.c_levels())

    _configure(controller, cell="compare")
    labels = [cr.label for cr in controller.result.cells]
    assert list(panel.imageItems()) == [f"{label}/h" for label in labels]
    assert all(label in panel.titles()[f"{label}/h"] for label in labels)


def test_panel_built_before_first_result(qtbot):
    controller = Controller()
    panel = _panel(qtbot, StatePanel, controller)
    gates = _panel(qtbot, GatePanel, controller)
    assert panel.imageItems() == {}
    controller.update(cell="gru")
    controller.recompute()
    assert controller.waitForIdle()
    _assert_shows(panel, _expected_state(controller.result), controller.step)
    assert set(gates.imageItems()) == {"r", "z", "n"}


def test_reveal_all_shows_every_step_and_cursor_follows(qtbot, controller):
    panel = _panel(qtbot, StatePanel, controller)
    h = controller.result.cells[0].trace.h
    controller.setStep(4)
    heat = panel._heat["h"]
    assert heat.cursor.value() == 5  # 1-based t of the current step
    assert heat.cover.isVisible()
    assert heat.cover.rect().left() == pytest.approx(5.5)  # covers t = 6 … T
    controller.setRevealAll(True)
    assert not heat.cover.isVisible()
    np.testing.assert_array_equal(panel.shownData("h"), h.T)
    assert heat.cursor.value() == 5
    controller.setRevealAll(False)
    assert panel.shownData("h").shape == (h.shape[1], 5)


def test_unrevealed_columns_are_blank_on_screen(qtbot, controller):
    panel = _panel(qtbot, StatePanel, controller, show=True)
    _configure(controller, signal="constant", amplitude=2.0)
    h = controller.result.cells[0].trace.h
    T = h.shape[0]
    unit = int(np.argmax(np.abs(h[-1])))
    assert abs(h[-1, unit]) > 0.2  # a clearly coloured cell
    controller.setStep(2)
    view = panel.graphicsView()

    def pixel():
        QtWidgets.QApplication.processEvents()
        image = view.grab().toImage()
        p = view.mapFromScene(panel.sceneCentreOf("h", T - 1, unit))
        return image.pixelColor(p.x(), p.y()).getRgb()[:3]

    assert pixel() == (255, 255, 255)
    controller.setRevealAll(True)
    assert pixel() != (255, 255, 255)


def test_unit_zero_at_top_and_time_to_the_right(qtbot, controller):
    panel = _panel(qtbot, StatePanel, controller, show=True)
    top_left = panel.sceneCentreOf("h", 0, 0)
    assert panel.sceneCentreOf("h", 0, 7).y() > top_left.y()
    assert panel.sceneCentreOf("h", 29, 0).x() > top_left.x()


def test_click_selects_unit_and_selection_follows_controller(qtbot, controller):
    panel = _panel(qtbot, StatePanel, controller, show=True)
    controller.setStep(10)
    view = panel.graphicsView()
    pos = view.mapFromScene(panel.sceneCentreOf("h", 3, 5))
    with qtbot.waitSignal(controller.selectedUnitChanged, timeout=30_000) as blocker:
        qtbot.mouseClick(view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert blocker.args == [5]
    assert controller.selectedUnit == 5
    assert panel._heat["h"].selection.rect().center().y() == pytest.approx(5)

    controller.setSelectedUnit(2)
    assert panel._heat["h"].selection.rect().center().y() == pytest.approx(2)


def test_tooltips_name_unit_step_and_value(qtbot, controller):
    panel = _panel(qtbot, StatePanel, controller)
    h = controller.result.cells[0].trace.h
    controller.setStep(11)
    assert panel.toolTipAt("h", 11, 3) == f"h[unit 3] at t = 12: {h[11, 3]:.4f}"
    assert panel.toolTipAt("h", 12, 3) == "h[unit 3] at t = 13: not revealed yet"

    _configure(controller, cell="compare")
    h = controller.result.cells[1].trace.h
    assert panel.toolTipAt("GRU/h", 0, 1) == f"GRU: h[unit 1] at t = 1: {h[0, 1]:.4f}"


def test_hover_shows_tooltip(qtbot, controller):
    panel = _panel(qtbot, StatePanel, controller, show=True)
    controller.setStep(20)
    shown = []
    # QToolTip is a popup the offscreen platform may not show: record what the panel asks for
    original = QtWidgets.QToolTip.showText
    try:
        QtWidgets.QToolTip.showText = lambda pos, text, *a: shown.append(text)
        panel.graphicsView().scene().sigMouseMoved.emit(panel.sceneCentreOf("h", 6, 4))
    finally:
        QtWidgets.QToolTip.showText = original
    h = controller.result.cells[0].trace.h
    assert shown == [f"h[unit 4] at t = 7: {h[6, 4]:.4f}"]


def test_exploding_relu_rnn_has_finite_levels(qtbot, controller):
    """An exploding state is coloured on a symmetric log scale (issue 8: on a linear one the
    steps before the last few were white, and the bar showed no sign of saturating)."""
    state = _panel(qtbot, StatePanel, controller)
    gates = _panel(qtbot, GatePanel, controller)
    _configure(controller, cell="rnn_relu", recurrent_scale=8.0, T=200)
    cr = controller.result.cells[0]
    h = cr.trace.h
    assert not np.isfinite(h).all()  # the run really exploded
    controller.toEnd()
    lo, hi = state.imageItems()["h"].levels
    finite = np.isfinite(h.T)
    top = np.abs(h.T[finite]).max()
    assert (lo, hi) == pytest.approx((-np.log10(1 + top), np.log10(1 + top)))
    shown = state.shownData("h")
    want = np.sign(h.T) * np.log10(1 + np.abs(h.T))
    np.testing.assert_allclose(shown[finite], want[finite], rtol=1e-6)  # nothing saturates
    np.testing.assert_array_equal(np.isnan(shown), np.isnan(h.T))  # NaN shows as grey
    assert np.all(shown[np.isposinf(h.T)] == pytest.approx(hi))  # +inf at the top of the range
    assert "NaN" in state.titles()["h"]
    bar = state.colourBars()["h"]
    assert bar.levels() == pytest.approx((lo, hi))
    labels = [label for _pos, label in controller.frame.state.maps[0].bar_ticks]
    assert "0" in labels and all(t == "0" or ("10" in t and "e" not in t) for t in labels)
    assert len(labels) <= 11  # about 4 decades a side
    assert "log scale" in bar.getAxis("left").labelText
    assert state.toolTipAt("h", 199, 0).endswith("NaN")
    assert gates.isShowingMessage()
    # and the window can still be drawn
    state.resize(800, 400)
    state.show()
    qtbot.waitExposed(state)
    assert not state.grab().isNull()


def test_an_exploding_state_is_readable_before_it_explodes(qtbot, controller):
    """The exploding lesson's complaint: at t = 30, h was 2.77×10⁴ and the heatmap white."""
    state = _panel(qtbot, StatePanel, controller)
    _configure(controller, cell="rnn_relu", recurrent_scale=3.0, T=60, signal="constant")
    controller.setRevealAll(True)
    m = controller.frame.state.maps[0]
    assert m.scale == "symlog"
    h = controller.result.cells[0].trace.h
    big = np.abs(h[29]).max()
    assert big > 1e3
    # the largest unit at t = 30 sits well inside the colour range, not at its white centre
    assert np.abs(state.shownData("h")[:, 29]).max() >= 0.4 * m.levels[1]

def test_display_image_block_averages_long_runs():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(10, 3)).astype(np.float32)
    img, k = display_image(a, (-1.0, 1.0), max_columns=4)
    assert k == 3 and img.shape == (3, 4) and img.dtype == np.float32 and img.flags.c_contiguous
    expected = np.stack([a[0:3].mean(0), a[3:6].mean(0), a[6:9].mean(0), a[9:].mean(0)], axis=1)
    np.testing.assert_allclose(img, np.clip(expected, -1, 1), rtol=1e-6)
    img, k = display_image(a, (-1.0, 1.0))
    assert k == 1
    np.testing.assert_array_equal(img, np.clip(a.T, -1, 1))


def test_long_run_is_averaged_but_axis_covers_every_step(qtbot, controller):
    panel = _panel(qtbot, StatePanel, controller)
    _configure(controller, T=4000, signal="sine")
    h = controller.result.cells[0].trace.h
    img = panel.imageItems()["h"]
    assert img.image.shape == (8, 2000)  # 2 steps per column (MAX_COLUMNS = 2048)
    np.testing.assert_allclose(img.image, h.reshape(2000, 2, 8).mean(1).T, rtol=1e-5, atol=1e-7)
    x0, x1 = panel.plotItems()["h"].getViewBox().viewRange()[0]
    assert (x0, x1) == pytest.approx((0.5, 4000.5))
    controller.setStep(2999)
    assert panel.toolTipAt("h", 2999, 1) == f"h[unit 1] at t = 3000: {h[2999, 1]:.4f}"


def test_the_image_covers_its_steps_and_units_after_every_change_of_size(qtbot, controller):
    """The image's rect is set only when its size changes (not at every slider tick): a
    longer run, a block-averaged one, more units and a short one again each fill steps
    0.5 … T + 0.5 and units −0.5 … H − 0.5 exactly, and the step's line crosses every unit."""
    panel = _panel(qtbot, StatePanel, controller)
    controller.setStep(20)
    for changes in (dict(T=30), dict(T=50), dict(T=4000), dict(T=4000, hidden_size=12), dict(T=60),
                    dict(T=60, recurrent_scale=1.5)):
        _configure(controller, **changes)
        img = panel.imageItems()["h"]
        s = controller.settings
        assert img.mapRectToParent(img.boundingRect()) == QtCore.QRectF(0.5, -0.5, s.T, s.hidden_size)
        cursor = panel._heat["h"].cursor.line()  # the current step's line: across every unit
        t = controller.step + 1
        assert (cursor.x1(), cursor.y1(), cursor.x2(), cursor.y2()) == (t, -0.5, t, s.hidden_size - 0.5)


def test_the_plots_layout_follows_the_view_when_a_title_fit_lowers_its_minimum(qtbot, controller, monkeypatch):
    """A resize sets the layout to the view's width, clamped by the layout's minimum, and a
    title in its wider form held that minimum up until the fit after it: presenter mode at
    1024×768 left the layout wider than the view, the colour bar cut off. After the fit the
    layout is the view's width again."""
    panel = _panel(qtbot, StatePanel, controller, show=True)
    panel.resize(700, 400)
    QtWidgets.QApplication.processEvents()
    ci = panel.graphicsView().ci
    ci.setMinimumWidth(800)  # the wide title's minimum, until the fit
    fit = type(panel)._fitTitle

    def fitting(self, key):
        ci.setMinimumWidth(0)
        fit(self, key)

    monkeypatch.setattr(type(panel), "_fitTitle", fitting)
    panel.resize(460, 400)
    qtbot.waitUntil(lambda: ci.geometry().width() == panel.graphicsView().width(), timeout=2000)
    assert panel.graphicsView().width() < 470


# --------------------------------------------------------------------------- GatePanel
def test_gate_panel_explains_vanilla_rnn(qtbot, controller):
    panel = _panel(qtbot, GatePanel, controller)
    assert panel.isShowingMessage()
    assert panel.messageText() == ("A vanilla RNN has no gates: h' = tanh(W_ih x + b_ih + W_hh h + b_hh). "
                                   "Choose GRU or LSTM to see gates.")
    assert panel.imageItems() == {}
    controller.useSeedExample()  # one bias b, as the seed document writes it
    assert "h' = tanh(W_ih x + b + W_hh h)." in panel.messageText()
    _configure(controller, cell="gru")
    assert not panel.isShowingMessage()
    _configure(controller, cell="rnn_relu")
    assert panel.isShowingMessage() and "relu(" in panel.messageText()


def test_a_slider_tick_of_an_rnn_keeps_the_gate_panel_s_note(qtbot, controller, monkeypatch):
    """The note is laid out again only when it (or the theme) changes: at every tick of a
    weights drag it was rebuilt and refitted, the same words."""
    panel = _panel(qtbot, GatePanel, controller)
    calls = []
    show = panel._showMessage
    monkeypatch.setattr(panel, "_showMessage", lambda gates: (calls.append(gates), show(gates)))
    for scale in (0.9, 1.1, 1.2):
        _configure(controller, recurrent_scale=scale)
    assert calls == [] and panel.isShowingMessage()
    panel.setTheme(panel.look.scaled(1.5))
    assert len(calls) == 1 and panel.isShowingMessage()
    _configure(controller, single_bias=True)  # new words: "+ b" for the two biases
    assert len(calls) == 2 and "+ b + W_hh h)" in panel.messageText()


@pytest.mark.parametrize("cell", ["gru", "lstm", "compare"])
def test_gate_panel_shows_engine_gates(qtbot, controller, cell):
    panel = _panel(qtbot, GatePanel, controller)
    _configure(controller, cell=cell)
    controller.setStep(0)
    expected = _expected_gates(controller.result)
    _assert_shows(panel, expected, 0)
    controller.setStep(12)
    _assert_shows(panel, expected, 12)
    _configure(controller, recurrent_scale=2.0)
    after = _expected_gates(controller.result)
    assert any(not np.array_equal(expected[k], after[k]) for k in after)
    _assert_shows(panel, after, 12)
    for key, arr in after.items():
        gate = key.rsplit("/", 1)[-1]
        levels = (-1.0, 1.0) if gate in ("n", "g") else (0.0, 1.0)
        assert panel.imageItems()[key].levels == pytest.approx(levels), key
        assert panel.colourBars()[key].levels() == pytest.approx(levels), key


@pytest.mark.parametrize("cell, gates", [("gru", "rzn"), ("lstm", "ifgo")])
def test_gate_bars_show_current_step(qtbot, controller, cell, gates):
    panel = _panel(qtbot, GatePanel, controller)
    _configure(controller, cell=cell, signal="sine")
    trace = controller.result.cells[0].trace
    assert set(panel.barItems()) == set(gates)
    for step in (0, 12, trace.T - 1):
        controller.setStep(step)
        assert panel.stepTitle() == f"gates at t = {step + 1}"
        for g in gates:
            np.testing.assert_array_equal(panel.barValues(g), trace.gates[g][step])
            item = panel.barItems()[g]
            np.testing.assert_allclose(item.opts["x0"] + item.opts["width"],
                                       np.maximum(trace.gates[g][step], 0), rtol=1e-6)
    controller.setSelectedUnit(4)
    for g in gates:
        every, selected = panel.barItems()[g], panel.selectedBars()[g]
        assert list(selected.opts["y"]) == [4]  # only unit 4 highlighted, over its plain bar
        assert selected.zValue() > every.zValue()
        assert selected.opts["brush"].color() != pg.mkBrush(every.opts["brush"]).color()
        np.testing.assert_array_equal(selected.opts["width"], every.opts["width"][4:5])


def test_gate_titles_say_what_gates_do(qtbot, controller):
    panel = _panel(qtbot, GatePanel, controller)
    _configure(controller, cell="gru")
    titles = panel.titles()
    assert titles["z"] == "z — update gate (1 = keep old state)"
    assert titles["r"].startswith("r — reset gate")
    assert titles["n"] == "n — candidate state (−1…1)"
    _configure(controller, cell="lstm")
    titles = panel.titles()
    assert titles["f"] == "f — forget gate (1 = keep memory)"
    assert titles["i"].startswith("i — input gate") and titles["o"].startswith("o — output gate")
    assert titles["g"] == "g — candidate memory (−1…1)"
    # what the panel draws says the same
    label = panel._descriptions["f"].text
    assert "f — forget gate" in label and "1 = keep memory" in label
    _configure(controller, cell="compare")
    titles = panel.titles()
    assert titles["GRU/z"].startswith("z — update") and titles["LSTM/g"] == "g — candidate (−1…1)"
    assert panel.plotItems()["LSTM/f"].titleLabel.text == titles["LSTM/f"]


def test_gate_compare_has_no_bars_and_labels_cells(qtbot, controller):
    panel = _panel(qtbot, GatePanel, controller)
    _configure(controller, cell="compare")
    assert panel.barItems() == {}
    assert set(panel.imageItems()) == {f"GRU/{g}" for g in "rzn"} | {f"LSTM/{g}" for g in "ifgo"}
    f = controller.result.cells[2].trace.gates["f"]
    controller.setStep(5)
    assert panel.toolTipAt("LSTM/f", 5, 2) == f"LSTM: f[unit 2] at t = 6: {f[5, 2]:.4f} (forget gate)"


def test_gate_click_selects_unit(qtbot, controller):
    panel = _panel(qtbot, GatePanel, controller, show=True)
    _configure(controller, cell="lstm")
    controller.setStep(10)
    view = panel.graphicsView()
    pos = view.mapFromScene(panel.sceneCentreOf("f", 4, 6))
    with qtbot.waitSignal(controller.selectedUnitChanged, timeout=30_000):
        qtbot.mouseClick(view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert controller.selectedUnit == 6
    for heat in panel._heat.values():
        assert heat.selection.rect().center().y() == pytest.approx(6)


def test_switching_cells_rebuilds_cleanly(qtbot, controller):
    state = _panel(qtbot, StatePanel, controller)
    gates = _panel(qtbot, GatePanel, controller)
    for cell in ["gru", "compare", "lstm", "rnn_tanh", "lstm", "gru"]:
        _configure(controller, cell=cell, hidden_size=5 if cell == "lstm" else 8)
        _assert_shows(state, _expected_state(controller.result), controller.step)
        assert gates.isShowingMessage() == (cell == "rnn_tanh")
        if cell != "rnn_tanh":
            _assert_shows(gates, _expected_gates(controller.result), controller.step)


def test_loaded_stack_names_the_traced_layer(qtbot, controller):
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "fixtures" / "torch_lstm_stacked.npz"
    state = _panel(qtbot, StatePanel, controller)
    gates = _panel(qtbot, GatePanel, controller)
    controller.loadWeights(str(path))
    controller.recompute()
    assert controller.waitForIdle()
    trace = controller.result.cells[0].trace
    _assert_shows(state, {"h": trace.h, "c": trace.c}, controller.step)
    _assert_shows(gates, dict(trace.gates), controller.step)
    assert state.titles()["h"] == "LSTM layer 2 of 2: hidden state h"


def test_gate_bars_hover_and_click(qtbot, controller):
    panel = _panel(qtbot, GatePanel, controller, show=True)
    _configure(controller, cell="gru")
    controller.setStep(8)
    z = controller.result.cells[0].trace.gates["z"]
    vb = panel.barItems()["z"].getViewBox()
    scene_pos = vb.mapViewToScene(QtCore.QPointF(0.2, 2))
    shown = []
    original = QtWidgets.QToolTip.showText
    try:
        QtWidgets.QToolTip.showText = lambda pos, text, *a: shown.append(text)
        panel.graphicsView().scene().sigMouseMoved.emit(scene_pos)
    finally:
        QtWidgets.QToolTip.showText = original
    assert shown == [f"z[unit 2] at t = 9: {z[8, 2]:.4f} (update gate)"]
    view = panel.graphicsView()
    with qtbot.waitSignal(controller.selectedUnitChanged, timeout=30_000):
        qtbot.mouseClick(view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=view.mapFromScene(scene_pos))
    assert controller.selectedUnit == 2


@pytest.mark.parametrize("cell", ["gru", "lstm", "compare"])
def test_panels_show_exactly_the_frame(qtbot, controller, cell):
    _configure(controller, cell=cell, T=15, hidden_size=4, signal="sine")
    state = _panel(qtbot, StatePanel, controller)
    gates = _panel(qtbot, GatePanel, controller)
    controller.setStep(6)
    controller.setSelectedUnit(2)
    frame = controller.frame
    assert frame.view.step == 6 and frame.view.unit == 2
    for m in frame.state.maps:
        np.testing.assert_array_equal(state.imageItems()[m.key].image, m.image)
        assert tuple(state.colourBars()[m.key].levels()) == m.levels
        assert state.titles()[m.key] == m.title
        assert state.toolTipAt(m.key, 3, 1) == m.tooltip(3, 1, frame.revealed)
    for key, m in frame.gates.maps.items():
        np.testing.assert_array_equal(gates.imageItems()[key].image, m.image)
        assert gates.titles()[key] == m.title
        if key in gates.barItems():
            np.testing.assert_array_equal(gates.barValues(key), frame.gate_step.values[key])
    if cell != "compare":
        assert gates.stepTitle() == frame.gate_step.title == "gates at t = 7"


def test_colour_bars_write_big_numbers_as_the_equations_do(qtbot, controller):
    """One notation on screen (issue 8): 3.5×10⁸ on a colour bar, never 3.5e+08."""
    panel = _panel(qtbot, StatePanel, controller)
    _configure(controller, cell="lstm")
    axis = panel.colourBars()["h"].axis
    assert axis.tickStrings([-3.5e8, 0.0, 3.5e8], 1.0, 1.0) == ["−3.5×10⁸", "0", "3.5×10⁸"]
    assert axis.tickStrings([-0.5, 0.0, 0.5], 1.0, 0.5) == ["−0.5", "0", "0.5"]



def test_compare_gate_titles_drop_their_meaning_when_the_heatmaps_are_narrow(qtbot, controller):
    _configure(controller, cell="compare")
    panel = _panel(qtbot, GatePanel, controller, show=True)
    key = next(k for k in panel._compareTitles if k.endswith("/r"))
    full, name, letter = panel._compareTitles[key]
    assert full.startswith("r — reset (") and name == "r — reset" and letter == "r"
    title = panel._heat[key].plot.titleLabel
    qtbot.waitUntil(lambda: title.text == full)  # 900 px: room for the whole title
    assert [h[0].text for h in panel._headers] == ["GRU gates", "LSTM gates"]
    panel.resize(250, 560)  # a 1024×768 projector with a lesson open
    qtbot.waitUntil(lambda: title.text == letter)
    assert [h[0].text for h in panel._headers] == ["GRU", "LSTM"]
    # the texts no longer set the columns' least width: the heatmaps and colour bars fit the panel
    qtbot.waitUntil(lambda: panel._glw.ci.boundingRect().width() <= panel._glw.width() + 1)


def test_short_colour_bars_label_only_ticks_a_line_apart_and_compare_bar_labels_fit(qtbot, controller):
    """Three Compare heatmaps in presenter type: "1.0 0.5 0 −0.5 −1.0" ran into each other on
    each bar, and the candidates bar's label was cut to "andidates"."""
    from PySide6 import QtGui

    _configure(controller, cell="compare", T=60, hidden_size=12)
    state, gates = _panel(qtbot, StatePanel, controller), _panel(qtbot, GatePanel, controller)
    for panel, size in ((state, (900, 330)), (gates, (900, 300))):
        panel.setTheme(panel.look.scaled(1.5))
        panel.resize(*size)
        panel.show()
        qtbot.waitExposed(panel)
    qtbot.wait(50)  # the Compare texts are fitted once the view has its size
    QtWidgets.QApplication.processEvents()
    bars = list(state._bars.values()) + list({id(b): b for b in gates.colourBars().values()}.values())
    assert len(bars) == 5
    for bar in bars:
        axis = bar.axis
        line = QtGui.QFontMetricsF(axis.style["tickFont"]).height()
        lo, hi = bar.levels()
        (spacing, values), *_ = axis.tickValues(lo, hi, axis.height())
        assert len(values) >= 1
        assert spacing * axis.height() / (hi - lo) >= line, (spacing, axis.height())
    for bar, forms in gates._barLabels:
        left = bar.getAxis("left")
        assert left.labelText in forms
        shown = QtGui.QFontMetricsF(QtGui.QFont(left.label.font())).horizontalAdvance(left.labelText)
        assert shown <= bar.axis.height(), (left.labelText, bar.axis.height())
    assert [b.getAxis("left").labelText for b, _ in gates._barLabels][1] != "candidates"  # a short bar


def test_compare_then_a_cell_without_gates_leaves_nothing_to_refit(qtbot, controller):
    """Compare's titles, headers and bar labels are refitted after a resize; switching to the
    tanh RNN (no gates: a note) deleted their items, and the next refit touched them."""
    _configure(controller, cell="compare", T=30, hidden_size=4)
    panel = _panel(qtbot, GatePanel, controller, show=True)
    qtbot.wait(20)
    assert panel._barLabels and not panel.isShowingMessage()
    _configure(controller, cell="rnn_tanh")
    assert panel.isShowingMessage()
    assert panel._barLabels == [] and panel._headers == [] and not panel._compareTitles
    panel.resize(700, 500)
    qtbot.wait(20)  # the refit after the resize runs (and raises nothing)
    panel._fitCompareTexts()


def test_a_slider_tick_leaves_the_vanilla_rnn_note_alone(qtbot, controller):
    """The same note for every slider value: a new result neither refits nor repaints it
    (its fitting set the font twice at every tick, and the whole panel was painted again)."""
    panel = _panel(qtbot, GatePanel, controller, show=True)
    note = panel._message
    assert panel.isShowingMessage()
    seen = []

    class Spy(QtCore.QObject):
        def eventFilter(self, obj, ev):
            if ev.type() in (QtCore.QEvent.Type.FontChange, QtCore.QEvent.Type.Paint):
                seen.append(ev.type())
            return False

    spy = Spy()
    note.installEventFilter(spy)
    QtWidgets.QApplication.processEvents()
    seen.clear()
    _configure(controller, recurrent_scale=1.7)
    QtWidgets.QApplication.processEvents()
    assert panel.isShowingMessage() and seen == []
    size = note.pointSize()
    _configure(controller, cell="rnn_relu")  # another note: fitted and shown
    assert "relu(" in panel.messageText() and note.pointSize() == size


def _argb(item):
    from PySide6 import QtGui

    item.render()
    q = item.qimage.convertToFormat(QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    rows = np.frombuffer(bytes(q.constBits()), np.uint8).reshape(q.height(), q.bytesPerLine())
    return rows[:, : 4 * q.width()].copy()


@pytest.mark.parametrize("cmap", ["CET-D1", "CET-D4", "viridis", "CET-CBD1", "cividis"])
def test_heatmap_pictures_are_pyqtgraphs_own(qapp, cmap):
    """The heatmaps render their pictures themselves (pyqtgraph's general path cost ~0.25 ms
    an image): pixel for pixel what pyqtgraph's ImageItem makes of the same values and levels,
    NaN transparent, ±inf and values on a bin edge included, and degenerate levels."""
    from rnnviz.ui.heatmaps import _Image

    rng = np.random.default_rng(7)
    cm = pg.colormap.get(cmap)
    for trial in range(40):
        a = rng.normal(size=(int(rng.integers(1, 30)), int(rng.integers(1, 90)))) * rng.choice([0.5, 3.0, 1e3])
        a.ravel()[rng.integers(0, a.size, 3)] = rng.choice([np.nan, np.inf, -np.inf, 0.0], 3)
        if trial % 5 == 0:
            a = np.round(a)
        levels = (0.5, 0.5) if trial % 13 == 0 else tuple(sorted(rng.normal(size=2) * 2)) if trial % 3 else (-1.0, 1.0)
        ours, theirs = _Image(axisOrder="row-major"), pg.ImageItem(axisOrder="row-major")
        for item in (ours, theirs):
            item.setColorMap(cm)
            item.setImage(a, levels=levels, autoLevels=False)
        np.testing.assert_array_equal(_argb(ours), _argb(theirs))


@pytest.mark.parametrize("width, scale, full", [(460, 1.5, False), (680, 1.0, True)])
def test_gate_words_give_way_to_the_heatmaps(qtbot, controller, width, scale, full):
    """A single cell's gate words ("i — input gate / 1 = write memory") and the bars' header
    take shorter forms when the panel is narrow: in presenter type at 1024 × 768 they took the
    panel and left the heatmaps 55 px. The words stay whole where there is room."""
    from rnnviz.ui import theme

    _configure(controller, cell="lstm", hidden_size=12, T=150)
    panel = _panel(qtbot, GatePanel, controller)
    panel.setTheme(theme.make(font_scale=scale))
    panel.resize(width, 420)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel._glw.width() == width)
    heat = panel._heat["f"].plot.geometry().width()
    texts = [label.text for label, _forms in panel._describe.values()]
    if full:
        assert all("gate" in t or "candidate" in t for t in texts) and "memory" in texts[0]
        assert panel._step_label.text.startswith("gates at")
    else:
        assert heat >= 0.35 * width
        assert not panel._step_label.text.startswith("gates at")
    # the bars' axis label is whole under its plot ("gate valu" was cut in presenter type)
    from PySide6 import QtGui

    (axis,) = panel._valueAxes
    fm = QtGui.QFontMetrics(theme.font(panel.look.axis_pt + 1, bold=True))
    qtbot.waitUntil(lambda: fm.horizontalAdvance(axis.labelText) <= axis.width() - 4)
    assert axis.label.isVisible() == bool(axis.labelText)
    assert (axis.labelText == "gate value") == full
    panel.setTheme(theme.make(font_scale=1.0 if scale > 1.0 else 1.5))  # type size alone: refitted
    (axis,) = panel._valueAxes
    fm = QtGui.QFontMetrics(theme.font(panel.look.axis_pt + 1, bold=True))
    qtbot.waitUntil(lambda: fm.horizontalAdvance(axis.labelText) <= axis.width() - 4)
