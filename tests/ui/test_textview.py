"""The reading view (rnnviz.ui.textview) and text along the time axes: a trained character
model's text, coloured by one unit, units found by a selected pattern, and a text of one's own."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6 import QtCore

from rnnviz.core import session as CS
from rnnviz.core import text as TX
from rnnviz.core.training import single_blas_thread
from rnnviz.ui import training as UT
from rnnviz.ui.main_window import MainWindow


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    single_blas_thread()


@pytest.fixture
def window(qtbot, controller):
    w = MainWindow(controller)
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    qtbot.waitExposed(w)
    yield w
    UT.training_for(controller).pause()


def explore_text_model(window, steps=20):
    """Train the char-rnn lesson's model for a few updates and explore it."""
    tc = UT.training_for(window.controller)
    tc.useConfig(CS.load_lesson("char-rnn").training.config.replace(steps=steps))
    tc.session.run_until(steps)
    tc.exploreModel()
    window.controller.settle()
    window.showPanel("textPanel")
    panel = window.panels["textPanel"]
    panel.settle()
    return tc, panel


def test_without_text_the_view_says_how_to_get_some(window):
    tabs = window.tabs["views"]
    panel = window.panels["textPanel"]
    assert not tabs.isTabVisible(tabs.indexOf(panel))  # nothing to read: no tab, unless asked for
    window.showPanel("textPanel")
    assert tabs.isTabVisible(tabs.indexOf(panel)) and tabs.currentWidget() is panel
    assert panel.isShowingMessage() and panel.messageLabel.isVisible()
    assert "not text" in panel.messageLabel.text() and not panel.canvas.isVisible()
    assert not panel.readButton.isEnabled()


def test_the_explored_model_s_text_is_shown_coloured_by_the_selected_unit(window):
    tc, panel = explore_text_model(window)
    c = window.controller
    window.showPanel(None)  # a run that reads text has the tab
    tabs = window.tabs["views"]
    assert tabs.isTabVisible(tabs.indexOf(panel))
    window.showPanel("textPanel")
    xs = tc.session.test_sequence(0)[0]
    text = TX.decode_one_hot(xs, tc.session.snapshot().task.chars.chars)
    assert c.settings.text == text and len(text) == c.settings.T
    tf = panel.textFrame()
    assert "".join(tf.chars) == text and not panel.isShowingMessage()
    c.setSelectedUnit(5)
    panel.settle()
    tf = panel.textFrame()
    h = c.settle().cells[0].trace.h
    np.testing.assert_array_equal(tf.values, h[:, 5])
    # the colour of each revealed character is the heatmaps' map at its value
    canvas = panel.canvas
    c.toEnd()
    panel.settle()
    img = canvas.grab().toImage()
    for t in (0, 7, len(text) - 2):
        r = canvas.cellRect(t)
        px = img.pixelColor(int(r.left()) + 2, int(r.top()) + 2)  # a corner: background, not glyph
        want = canvas.colourOf(float(h[t, 5]))
        assert max(abs(px.red() - want.red()), abs(px.green() - want.green()), abs(px.blue() - want.blue())) <= 2
    # the guesses come from the output layer: softmax(W_hy h + b_y)
    probs = TX.next_char_probs(tc.session.models()[tc.session.snapshot().runs[0].key], h)
    np.testing.assert_allclose(panel.textFrame().prob, probs.max(axis=1))


def test_time_axes_read_the_characters(window):
    tc, panel = explore_text_model(window)
    text = window.controller.settings.text
    state = window.panels["statePanel"]
    axis = next(iter(state._heat.values())).plot.getAxis("bottom")
    assert axis.symbols == tuple(text)
    values = axis.tickValues(0.5, len(text) + 0.5, 2000)[0][1]
    assert axis.tickStrings(values, 1, 1) == [TX.visible(ch) for ch in text]  # room for all of them
    narrow = axis.tickValues(0.5, len(text) + 0.5, 120)[0][1]
    labels = axis.tickStrings(narrow, 1, 1)
    assert 0 < len(labels) < len(text) and all(lab.split(" ")[0].isdigit() for lab in labels)
    fading = window.panels["fadingPanel"].plot.getAxis("bottom")
    assert fading.symbols == tuple(text)
    window.controller.update(signal="sine")  # no longer text: numbers again
    window.controller.settle()
    assert axis.symbols is None
    assert fading.symbols == tuple(text)  # the Text tab is in front: the fading view draws when shown
    window.showPanel("fadingPanel")
    assert fading.symbols is None


def test_selecting_a_span_ranks_the_units_and_a_click_picks_one(window, qtbot):
    tc, panel = explore_text_model(window)
    c = window.controller
    h = c.settle().cells[0].trace.h
    panel.canvas.select(3, 9)
    ranked = panel.rankedUnits()
    assert ranked == TX.rank_units(h, 3, 9)
    assert panel.units.count() == len(ranked) and "(steps 4–9)" in panel.unitsLabel.text()
    item = panel.units.item(1)
    rect = panel.units.visualItemRect(item)
    qtbot.mouseClick(panel.units.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    assert c.selectedUnit == ranked[1].unit
    # every occurrence of the selected characters
    text = c.settings.text
    panel.everyCheck.setChecked(True)
    mask = np.zeros(len(text), bool)
    picked = text[3:9]
    for k in TX.occurrences(text, picked):
        mask[k:k + len(picked)] = True
    assert panel.rankedUnits() == TX.rank_mask(h, mask)


def test_a_click_on_a_character_steps_there_and_a_drag_selects(window, qtbot):
    tc, panel = explore_text_model(window)
    canvas = panel.canvas
    r = canvas.cellRect(6)
    qtbot.mouseClick(canvas, QtCore.Qt.MouseButton.LeftButton, pos=r.center().toPoint())
    assert window.controller.step == 6
    a, b = canvas.cellRect(2).center().toPoint(), canvas.cellRect(5).center().toPoint()
    qtbot.mousePress(canvas, QtCore.Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(canvas, b)
    qtbot.mouseRelease(canvas, QtCore.Qt.MouseButton.LeftButton, pos=b)
    assert canvas.selection == (2, 6) and window.controller.step == 6  # a drag does not step
    assert "t = 3:" in panel.textFrame().tooltip(2)


def test_reading_a_text_of_one_s_own_refuses_what_the_model_cannot_read(window):
    tc, panel = explore_text_model(window)
    assert panel.readButton.isEnabled()
    chars = tc.session.snapshot().task.chars.chars
    problem = panel.readText("Q€#")
    assert problem and "\n" not in problem and "lack" in problem
    assert "at most 10,000" in panel.readText(chars[0] * (TX.MAX_TEXT + 1))
    assert panel.readText("") == "The text is empty."
    text = "".join(chars[k % len(chars)] for k in range(40))
    assert panel.readText(text) is None
    window.controller.settle()
    panel.settle()
    assert window.controller.settings.T == 40 and "".join(panel.textFrame().chars) == text


def test_a_10000_character_text_stays_responsive(window, qtbot):
    tc, panel = explore_text_model(window, steps=5)
    chars = tc.session.snapshot().task.chars.chars
    text = "".join(chars[(7 * k + k // 13) % len(chars)] for k in range(TX.MAX_TEXT))
    assert panel.readText(text) is None
    window.controller.settle()
    panel.settle()
    assert panel.textFrame().T == TX.MAX_TEXT and panel.canvas.lineCount() > 100
    canvas, times = panel.canvas, []
    for k in range(10):  # a drag over the text: rank and repaint on every move
        t0 = time.perf_counter()
        canvas.select(5000, 5010 + 37 * k)
        canvas.repaint()
        times.append(time.perf_counter() - t0)
    assert float(np.median(times)) < 0.1, times
    t0 = time.perf_counter()
    window.controller.setStep(9000)  # stepping scrolls the reading view there
    panel.settle()
    assert time.perf_counter() - t0 < 0.5
    bar = panel.scroll.verticalScrollBar()
    r = canvas.cellRect(9000)
    assert bar.value() <= r.top() <= bar.value() + panel.scroll.viewport().height()


def test_the_sizes_shown_are_the_model_s_even_above_the_built_in_limits(window):
    from rnnviz.core import model as M

    tc, panel = explore_text_model(window, steps=2)
    controls = window.controls
    D = len(tc.session.snapshot().task.chars.chars)
    assert D > M.LIMITS["input_size"][1]  # 26 characters > 16
    assert controls.inputSpin.value() == D and not controls.inputSpin.isEnabled()
    window.controller.update(cell="gru")  # built-in cells again: the built-in limits
    window.controller.settle()
    assert controls.inputSpin.maximum() == M.LIMITS["input_size"][1]
