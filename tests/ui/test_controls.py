"""The side panel: widgets → controller → engine, and controller → widgets without echo."""

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest

from rnnviz.engine import Stack, init_cell
from rnnviz.io import save_weights
from rnnviz.core import model as M
from rnnviz.core.format import fmt
from rnnviz.ui.controls import ControlPanel, ValueSlider, format_value

LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def panel(qtbot, controller):
    p = ControlPanel(controller)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    return p


@pytest.fixture
def spy(controller, monkeypatch):
    """Record every call the panel makes to the controller's changing methods."""
    calls = []
    for name in ("update", "setEntry", "resetEntry", "setLayer", "useSeedExample"):
        orig = getattr(controller, name)

        def wrapper(*args, _orig=orig, _name=name, **kwargs):
            calls.append((_name, args, kwargs))
            return _orig(*args, **kwargs)

        monkeypatch.setattr(controller, name, wrapper)
    return calls


def drag_to(vs: ValueSlider, value: float) -> None:
    """What a drag does: the QSlider's integer position changes and it emits."""
    vs.slider.setValue(vs._toTick(value))


def settle(controller):
    assert controller.waitForIdle()
    return controller.result


# ---------------------------------------------------------------------- ValueSlider
def test_value_slider_emits_floats_shows_value_and_resets_on_double_click(qtbot):
    vs = ValueSlider("Scale", 0.0, 3.0, default=1.0)
    qtbot.addWidget(vs)
    got = []
    vs.valueChanged.connect(got.append)
    drag_to(vs, 2.5)
    assert got == [2.5] and vs.value() == 2.5 and vs.label.text() == "2.50"
    vs.setValue(0.25)  # pushed from the controller: shown, not emitted
    assert got == [2.5] and vs.label.text() == "0.25" and vs.slider.value() == 25
    QTest.mouseDClick(vs.slider, LEFT)
    assert got[-1] == 1.0 and vs.value() == 1.0 and vs.label.text() == "1.00"
    drag_to(vs, 0.0)
    QTest.mouseDClick(vs.label, LEFT)
    assert got[-1] == 1.0 and vs.value() == 1.0


def test_value_slider_keys_and_wheel(qtbot):
    vs = ValueSlider("Scale", -3.0, 3.0, default=0.0)
    qtbot.addWidget(vs)
    vs.show()
    qtbot.waitExposed(vs)
    got = []
    vs.valueChanged.connect(got.append)
    QTest.keyClick(vs.slider, QtCore.Qt.Key.Key_Right)
    assert got == [0.01]
    QTest.keyClick(vs.slider, QtCore.Qt.Key.Key_Left)
    QTest.keyClick(vs.slider, QtCore.Qt.Key.Key_Left)
    assert got[-1] == -0.01

    def wheel():
        pos = QtCore.QPointF(vs.slider.rect().center())
        ev = QtGui.QWheelEvent(pos, vs.slider.mapToGlobal(pos), QtCore.QPoint(), QtCore.QPoint(0, 120),
                               QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier,
                               QtCore.Qt.ScrollPhase.NoScrollPhase, False)
        QtWidgets.QApplication.sendEvent(vs.slider, ev)

    n = len(got)
    vs.slider.clearFocus()
    wheel()  # unfocused: the wheel belongs to the scroll area
    assert len(got) == n
    vs.activateWindow()
    vs.slider.setFocus()
    qtbot.waitUntil(vs.slider.hasFocus)
    wheel()
    assert len(got) == n + 1 and got[-1] > -0.01


def test_value_slider_shows_out_of_range_values(qtbot):
    vs = ValueSlider("w", -3.0, 3.0)
    qtbot.addWidget(vs)
    vs.setValue(-7.5)
    assert vs.label.text() == "−7.50" and vs.slider.value() == 0 and vs.value() == -7.5
    assert format_value(-0.001) == "0.00"


def test_focused_slider_leaves_left_right_to_window_shortcuts(qtbot, controller):
    """←/→ step the time even with a slider focused (issue 8); ↑/↓ still move the slider."""
    win = QtWidgets.QWidget()
    qtbot.addWidget(win)
    lay = QtWidgets.QVBoxLayout(win)
    vs = ValueSlider("Scale", 0.0, 3.0, default=1.0)
    lay.addWidget(vs)
    fired = []
    sc = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Right), win)
    sc.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
    sc.activated.connect(lambda: fired.append(1))
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    vs.slider.setFocus()
    qtbot.waitUntil(vs.slider.hasFocus)
    QTest.keyClick(vs.slider, QtCore.Qt.Key.Key_Right)
    assert fired == [1] and vs.value() == 1.0
    QTest.keyClick(vs.slider, QtCore.Qt.Key.Key_Up)
    assert vs.value() == 1.01


# ---------------------------------------------------------------------- group sliders
def _base(controller):
    s = controller.settings
    return M.base_cell(s.cell, s)


@pytest.mark.parametrize("key,value", [
    ("input_scale", 2.0), ("recurrent_scale", 2.0), ("bias_shift", -0.75),
])
def test_group_slider_changes_settings_and_engine(panel, controller, key, value):
    drag_to(panel.groupSliders[key], value)
    assert getattr(controller.settings, key) == value
    model = settle(controller).cells[0].model
    base = _base(controller)
    if key == "input_scale":
        np.testing.assert_allclose(model.W_ih, 2.0 * base.W_ih)
        np.testing.assert_allclose(model.W_hh, base.W_hh)
    elif key == "recurrent_scale":
        np.testing.assert_allclose(model.W_hh, 2.0 * base.W_hh)
        np.testing.assert_allclose(model.W_ih, base.W_ih)
    else:
        np.testing.assert_allclose(model.b_ih, base.b_ih + value)
    assert panel.groupSliders[key].label.text() == format_value(value)


def test_gate_bias_sliders_follow_the_cell_and_reach_the_gates(panel, controller):
    fb, ub = panel.groupSliders["forget_bias"], panel.groupSliders["update_bias"]
    assert not fb.isVisibleTo(panel) and not ub.isVisibleTo(panel)
    QTest.mouseClick(panel.cellButtons["lstm"], LEFT)
    assert controller.settings.cell == "lstm"
    assert fb.isVisibleTo(panel) and not ub.isVisibleTo(panel)
    drag_to(fb, 3.0)
    assert controller.settings.forget_bias == 3.0
    model, base, H = settle(controller).cells[0].model, _base(controller), controller.settings.hidden_size
    np.testing.assert_allclose(model.b_ih[H:2 * H], base.b_ih[H:2 * H] + 3.0)
    np.testing.assert_allclose(model.b_ih[:H], base.b_ih[:H])

    QTest.mouseClick(panel.cellButtons["gru"], LEFT)
    assert not fb.isVisibleTo(panel) and ub.isVisibleTo(panel)
    drag_to(ub, -2.0)
    assert controller.settings.update_bias == -2.0
    model, base = settle(controller).cells[0].model, _base(controller)
    np.testing.assert_allclose(model.b_ih[H:2 * H], base.b_ih[H:2 * H] - 2.0)

    QTest.mouseClick(panel.cellButtons["compare"], LEFT)
    assert fb.isVisibleTo(panel) and ub.isVisibleTo(panel)
    assert [cr.key for cr in settle(controller).cells] == ["rnn_tanh", "gru", "lstm"]


def test_double_click_resets_group_slider_to_settings_default(panel, controller):
    controller.update(recurrent_scale=2.5, bias_shift=1.0)
    settle(controller)
    s = panel.groupSliders["recurrent_scale"]
    assert s.value() == 2.5
    QTest.mouseDClick(s.slider, LEFT)
    assert controller.settings.recurrent_scale == M.Settings().recurrent_scale
    QTest.mouseDClick(panel.groupSliders["bias_shift"].label, LEFT)
    assert controller.settings.bias_shift == M.Settings().bias_shift
    np.testing.assert_allclose(settle(controller).cells[0].model.W_hh, _base(controller).W_hh)


# ---------------------------------------------------------------------- no echo
def test_controller_changes_push_into_widgets_without_echo(panel, controller, spy):
    controller.update(cell="gru", hidden_size=5, input_size=3, seed=7, input_scale=0.5, recurrent_scale=1.75,
                      bias_shift=-1.0, update_bias=2.5, T=4321, signal="sine", amplitude=-2.0, period=20.5)
    spy.clear()  # that call was the test's own
    settle(controller)
    assert spy == []
    p = panel
    assert p.cellButtons["gru"].isChecked() and not p.cellButtons["rnn_tanh"].isChecked()
    assert (p.hiddenSpin.value(), p.inputSpin.value(), p.seedSpin.value()) == (5, 3, 7)
    for key, v in dict(input_scale=0.5, recurrent_scale=1.75, bias_shift=-1.0, update_bias=2.5).items():
        assert p.groupSliders[key].value() == v
        assert p.groupSliders[key].label.text() == format_value(v)
    assert p.tSpin.value() == 4321 and p.tSlider.value() == 2000
    assert p.signalCombo.currentData() == "sine"
    assert p.amplitudeSlider.value() == -2.0 and p.periodSlider.value() == 20.5
    assert p.periodSlider.isVisibleTo(p)

    controller.update(signal="custom", custom=((1.0, 2.0, 3.0),), T=3)
    spy.clear()
    settle(controller)
    assert spy == []
    assert p.customTable.item(2, 0).text() == "3"

    controller.useSeedExample()
    assert [c for c in spy if c[0] != "useSeedExample"] == []
    assert len(p.entrySliders) > 0


# ---------------------------------------------------------------------- sizes, seed, cell
def test_spin_boxes_and_seed_example_button(panel, controller, qtbot):
    panel.hiddenSpin.setValue(12)
    panel.inputSpin.setValue(4)
    panel.seedSpin.setValue(3)
    s = controller.settings
    assert (s.hidden_size, s.input_size, s.seed) == (12, 4, 3)
    cell = settle(controller).cells[0].cell
    assert (cell.hidden_size, cell.input_size) == (12, 4)
    np.testing.assert_allclose(cell.W_hh, M.base_cell("rnn_tanh", s).W_hh)
    QTest.mouseClick(panel.seedExampleButton, LEFT)
    s = controller.settings
    assert (s.hidden_size, s.input_size, s.T, s.signal) == (2, 1, 3, "seed")
    assert panel.hiddenSpin.value() == 2 and panel.tSpin.value() == 3


def test_cell_buttons(panel, controller):
    for key in M.CELL_CHOICES:
        QTest.mouseClick(panel.cellButtons[key], LEFT)
        assert controller.settings.cell == key
        assert [b for k, b in panel.cellButtons.items() if b.isChecked()] == [panel.cellButtons[key]]


# ---------------------------------------------------------------------- per-entry sliders
def test_seed_example_gets_one_labelled_slider_per_entry(panel, controller):
    assert panel.entrySliders == {}
    assert "88" in panel.entryHint.text()  # H = 8 RNN: 8 + 64 + 8 + 8 parameters, too many
    controller.useSeedExample()
    cell = controller.baseCell()
    names = M.entry_names(cell)
    assert len(names) <= M.MAX_ENTRY_SLIDERS
    assert list(panel.entrySliders) == [(p, r, c) for p, r, c, _ in names]
    for (p, r, c, label) in names:
        vs = panel.entrySliders[(p, r, c)]
        assert vs.nameLabel.text() == label
        arr = getattr(cell, p)
        assert vs.value() == pytest.approx(arr[r, c] if arr.ndim == 2 else arr[r])
    # the seed document's numbers: W_hh[0,1] = 2.24 from np.random.seed(0)
    assert panel.entrySliders[("W_hh", 0, 1)].label.text() == "2.241"  # the equations' digits
    # six weights of the document's weight_x (2×1) and weight_h (2×2), labelled as the maths
    labels = [panel.entrySliders[k].nameLabel.text() for k in panel.entrySliders if k[0].startswith("W")]
    assert labels == ["W_ih[0,0]", "W_ih[1,0]", "W_hh[0,0]", "W_hh[0,1]", "W_hh[1,0]", "W_hh[1,1]"]


def test_entry_slider_sets_and_resets_one_weight(panel, controller, spy):
    controller.useSeedExample()
    spy.clear()
    vs = panel.entrySliders[("W_hh", 1, 0)]
    kept = dict(panel.entrySliders)
    drag_to(vs, -1.5)
    # one setEntry, nothing echoed back
    assert [c[:2] for c in spy] == [("setEntry", ("W_hh", 1, 0, -1.5))]
    assert dict(controller.settings.overrides)[("W_hh", 1, 0)] == -1.5
    assert settle(controller).cells[0].model.W_hh[1, 0] == -1.5
    assert panel.entrySliders == kept  # values changed, the sliders were not rebuilt
    assert all(a is b for a, b in zip(panel.entrySliders.values(), kept.values()))

    # a double click goes back to the seed document's number, not to a random initialisation
    QTest.mouseDClick(vs.slider, LEFT)
    seed = dict(M.seed_example_settings().overrides)[("W_hh", 1, 0)]
    assert dict(controller.settings.overrides)[("W_hh", 1, 0)] == seed
    assert vs.value() == pytest.approx(seed)
    assert settle(controller).cells[0].model.W_hh[1, 0] == pytest.approx(seed)
    # outside the seed example the entry goes back to the cell's initialisation
    controller.update(hidden_size=3)
    settle(controller)
    vs = panel.entrySliders[("W_hh", 1, 0)]
    drag_to(vs, -1.5)
    QTest.mouseDClick(vs.slider, LEFT)
    assert ("W_hh", 1, 0) not in dict(controller.settings.overrides)
    base = M.base_cell("rnn_tanh", controller.settings)
    assert settle(controller).cells[0].model.W_hh[1, 0] == pytest.approx(base.W_hh[1, 0])


def test_entry_sliders_rebuild_only_when_the_shape_changes(panel, controller):
    controller.update(hidden_size=2)
    settle(controller)
    first = dict(panel.entrySliders)
    assert len(first) == len(M.entry_names(controller.baseCell()))
    controller.update(seed=5)  # same shape, new values
    assert all(a is b for a, b in zip(panel.entrySliders.values(), first.values()))
    new = M.base_cell("rnn_tanh", controller.settings)
    assert panel.entrySliders[("W_hh", 0, 1)].value() == pytest.approx(new.W_hh[0, 1])
    controller.update(recurrent_scale=1.5)
    assert all(a is b for a, b in zip(panel.entrySliders.values(), first.values()))
    controller.update(cell="gru")  # GRU, H = 2: 30 entries with gate labels
    assert len(panel.entrySliders) == 30
    assert panel.entrySliders[("W_hh", 2, 1)].nameLabel.text() == "W_hz[0,1]"
    assert "update gate z" in panel.entrySliders[("W_hh", 2, 1)].slider.toolTip()
    controller.update(cell="compare")
    assert panel.entrySliders == {} and "Compare" in panel.entryHint.text()


# ---------------------------------------------------------------------- ρ readout
def test_rho_readout_matches_the_controller(panel, controller, qtbot):
    assert panel.rho == pytest.approx(controller.spectralRadius())
    assert format_value(controller.spectralRadius()) in panel.rhoLabel.text()
    drag_to(panel.groupSliders["recurrent_scale"], 3.0)
    settle(controller)
    assert panel.rho == pytest.approx(controller.spectralRadius())
    assert format_value(controller.spectralRadius()) in panel.rhoLabel.text()
    # a big cell refreshes once the slider pauses
    controller.update(cell="lstm", hidden_size=128, recurrent_scale=0.5)
    settle(controller)
    qtbot.waitUntil(lambda: panel.rho == pytest.approx(controller.spectralRadius()), timeout=30_000)
    assert format_value(controller.spectralRadius()) in panel.rhoLabel.text()


# ---------------------------------------------------------------------- sequence length
def test_t_spin_box_accepts_values_beyond_the_slider(panel, controller):
    spin = panel.tSpin
    spin.setFocus()
    spin.lineEdit().selectAll()
    QTest.keyClicks(spin.lineEdit(), "5000")
    assert controller.settings.T == 30  # no change per keystroke
    QTest.keyClick(spin.lineEdit(), QtCore.Qt.Key.Key_Return)
    assert controller.settings.T == 5000
    assert panel.tSlider.value() == 2000
    assert settle(controller).T == 5000
    panel.tSlider.setValue(40)
    assert controller.settings.T == 40 and spin.value() == 40
    spin.setValue(M.LIMITS["T"][1])
    assert controller.settings.T == M.LIMITS["T"][1]


# ---------------------------------------------------------------------- input signal
def choose_signal(panel, key):
    i = panel.signalCombo.findData(key)
    panel.signalCombo.setCurrentIndex(i)
    panel.signalCombo.activated.emit(i)


def test_signal_choice_amplitude_and_period(panel, controller):
    for key in M.SIGNALS:
        choose_signal(panel, key)
        assert controller.settings.signal == key
        assert panel.periodSlider.isVisibleTo(panel) == (key == "sine")
        assert panel.customTable.isVisibleTo(panel) == (key == "custom")
    choose_signal(panel, "constant")
    drag_to(panel.amplitudeSlider, -1.5)
    np.testing.assert_allclose(settle(controller).xs, -1.5)
    choose_signal(panel, "sine")
    drag_to(panel.periodSlider, 10.0)
    s = controller.settings
    assert s.period == 10.0
    np.testing.assert_allclose(settle(controller).xs[:, 0], -1.5 * np.sin(2 * np.pi * np.arange(30) / 10.0))


def test_custom_table_edits_reach_the_inputs(panel, controller):
    controller.update(input_size=2)
    settle(controller)
    choose_signal(panel, "custom")
    tab = panel.customTable
    assert (tab.rowCount(), tab.columnCount()) == (2, 30)
    assert tab.item(0, 0).text() == "1" and tab.item(1, 0).text() == "1"  # starts from the impulse
    tab.item(1, 4).setText("0.5")  # what an edit does
    s = controller.settings
    assert len(s.custom) == 30 and s.custom[4] == (0.0, 0.5)
    xs = M.build_inputs(s)
    assert xs[4, 1] == 0.5 and xs[0, 0] == 1.0
    np.testing.assert_array_equal(settle(controller).xs, xs)
    tab.item(0, 2).setText("abc")  # not a number: the stored value comes back
    assert tab.item(0, 2).text() == "0" and controller.settings.custom == s.custom
    tab.item(0, 2).setText("−2")
    assert controller.settings.custom[2] == (-2.0, 0.0)


def test_custom_table_shows_the_first_columns_of_a_long_sequence(panel, controller):
    controller.update(T=5000, signal="custom", custom=((0.25,),) * 3)
    assert panel.customTable.columnCount() == 200
    assert panel.customTable.item(0, 2).text() == "0.25"
    assert "5,000" in panel.customHint.text()
    panel.customTable.item(0, 199).setText("4")
    s = controller.settings
    assert len(s.custom) == 5000 and s.custom[199] == (4.0,) and s.custom[2] == (0.25,)
    assert M.build_inputs(s)[199, 0] == 4.0


# ---------------------------------------------------------------------- loaded files
def test_loaded_file_name_sizes_disabled_and_layer_chooser(panel, controller, tmp_path, spy):
    layers = (init_cell("rnn", 1, 3, seed=1), init_cell("rnn", 3, 3, seed=2))
    path = tmp_path / "stack.npz"
    save_weights(Stack(layers), str(path))
    controller.loadWeights(str(path))
    settle(controller)
    assert not panel.loadedLabel.isHidden() and "stack.npz" in panel.loadedLabel.text()
    assert not panel.hiddenSpin.isEnabled() and not panel.seedSpin.isEnabled()
    assert panel.layerRow.isVisibleTo(panel) and panel.layerCombo.count() == 2
    assert panel.layerCombo.currentIndex() == 1
    assert panel.entrySliders == {} and "stack" in panel.entryHint.text()
    panel.layerCombo.setCurrentIndex(0)
    panel.layerCombo.activated.emit(0)
    assert controller.layer == 0
    assert settle(controller).cells[0].trace.layer == 0

    single = tmp_path / "small.npz"
    save_weights(init_cell("rnn", 1, 3, seed=4), str(single))  # 3 + 9 + 3 + 3 = 18 entries
    controller.loadWeights(str(single))
    settle(controller)
    assert "small.npz" in panel.loadedLabel.text() and not panel.layerRow.isVisibleTo(panel)
    assert len(panel.entrySliders) == 18
    assert panel.entrySliders[("W_hh", 2, 1)].value() == pytest.approx(controller.loaded.W_hh[2, 1])

    QTest.mouseClick(panel.cellButtons["gru"], LEFT)  # back to random weights
    assert controller.loaded is None and panel.loadedLabel.isHidden() and panel.hiddenSpin.isEnabled()


def test_rho_readout_is_the_frames(panel, controller, qtbot):
    controller.update(cell="lstm", hidden_size=6, recurrent_scale=1.7)
    controller.recompute()
    assert controller.waitForIdle()
    rho = controller.frame.rho
    assert panel.rhoLabel.text() == rho.text(controller.settings)
    assert panel.rho == rho.rho and rho.grows == (rho.rho > 1)


def test_seed_example_entries_show_the_equations_digits_and_reset_to_the_seed(panel, controller):
    """Issue 8: the single-weight sliders said 1.76 where the equations say 1.764, and a
    double click reset the seed document's 2.24 to a random −0.68."""
    controller.useSeedExample()
    p = panel
    cell = controller.activeModel()
    w = p.entrySliders[("W_ih", 0, 0)]
    assert w.label.text() == fmt(float(cell.W_ih[0, 0]), 4) == "1.764"
    eq = controller.frame.equation
    assert any("1.764·" in row.rhs.plain for row in eq.numbers)  # the same digits in the equations
    key = ("W_hh", 0, 1)
    seed = float(cell.W_hh[0, 1])
    assert fmt(seed, 3) == "2.24"
    controller.setEntry(*key, 0.5)
    assert float(controller.activeModel().W_hh[0, 1]) == 0.5
    controller.resetEntry(*key)  # what a double click on the slider asks for
    assert float(controller.activeModel().W_hh[0, 1]) == seed
    assert p.entrySliders[key].label.text() == fmt(seed, 4)
