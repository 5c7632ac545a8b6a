"""The clicker's keys act on the time step whatever has the focus (issue 8, "Keys and focus").

The rule (README, "keys"): PageDown/PageUp, Space, ←/→, Home/End, F11 and Esc always act on the
presentation, with any control focused. A text field being edited (it has the focus: a spin box,
the input table's cell editor) keeps ←/→/Home/End for its cursor; the other keys still act.
Enter commits the edit and gives the keyboard back to the views. A focused slider moves with ↑/↓.
"""

import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest

from rnnviz.io.lessons import list_lessons
from rnnviz.ui import actions
from rnnviz.ui.actions import edits_text
from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow
from rnnviz.ui.presenter import PRESENTER_SCALE

Key = QtCore.Qt.Key
CTRL = QtCore.Qt.KeyboardModifier.ControlModifier
LESSONS = [name for name, _ in list_lessons()]


@pytest.fixture
def window(qtbot):
    c = Controller()
    c.recompute()
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    assert c.waitForIdle()
    yield w
    c.setPlaying(False)


def focus(qtbot, widget) -> QtWidgets.QWidget:
    widget.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is widget)
    return widget


def press(key, modifier=QtCore.Qt.KeyboardModifier.NoModifier) -> None:
    """A key pressed and released where the keyboard is (the focus widget)."""
    QTest.keyClick(QtWidgets.QApplication.focusWidget(), key, modifier)


def check_keys_step(c, keys=(Key.Key_PageDown, Key.Key_PageUp, Key.Key_Space, Key.Key_End, Key.Key_Home,
                             Key.Key_Right, Key.Key_Left)) -> None:
    """Each key does what the transport says, from the middle of the sequence."""
    mid = c.settings.T // 2
    c.setStep(mid)
    expect = {Key.Key_PageDown: +1, Key.Key_PageUp: -1, Key.Key_Right: +1, Key.Key_Left: -1}
    for key in keys:
        before = c.step
        if key == Key.Key_Space:
            press(key)
            assert c.isPlaying(), "Space did not start playing"
            press(key)
            assert not c.isPlaying(), "Space did not pause"
            c.setStep(mid)
        elif key == Key.Key_End:
            press(key)
            assert c.step == c.settings.T - 1, "End"
        elif key == Key.Key_Home:
            press(key)
            assert c.step == 0, "Home"
            c.setStep(mid)
        else:
            press(key)
            assert c.step == before + expect[key], key


def _value_slider(w):
    vs = w.controls.groupSliders["recurrent_scale"]
    return vs.slider, lambda: (vs.value(), vs.slider.value())


def _entry_slider(w):
    w.controller.useSeedExample()
    assert w.controller.waitForIdle()
    vs = next(iter(w.controls.entrySliders.values()))
    return vs.slider, lambda: (vs.value(), vs.slider.value())


def _amplitude_slider(w):
    vs = w.controls.amplitudeSlider
    return vs.slider, vs.value


def _period_slider(w):
    w.controller.update(signal="sine")
    assert w.controller.waitForIdle()
    vs = w.controls.periodSlider
    return vs.slider, vs.value


def _t_slider(w):
    return w.controls.tSlider, w.controls.tSlider.value


def _spin(name):
    def make(w):
        spin = getattr(w.controls, name)
        return spin, lambda: (spin.value(), spin.text())
    return make


def _speed_box(w):
    box = w.transport.speedBox
    return box, lambda: (box.value(), box.text(), w.controller.speed)


def _signal_combo(w):
    combo = w.controls.signalCombo
    return combo, combo.currentIndex


def _cell_button(w):
    b = w.controls.cellButtons["gru"]
    clicks = []
    b.clicked.connect(lambda *_: clicks.append(1))
    return b, lambda: (b.isChecked(), len(clicks))


def _seed_button(w):
    b = w.controls.seedExampleButton
    clicks = []
    b.clicked.connect(lambda *_: clicks.append(1))
    return b, lambda: len(clicks)


def _section_header(w):
    h = w.controls.sections["weights"].header
    return h, h.isChecked


def _backward_check(w):
    box = w.fadingPanel.backwardCheck
    return box, box.isChecked


def _custom_table(w):
    c = w.controller
    c.update(signal="custom", custom=tuple((float(t % 3),) for t in range(c.settings.T)))
    assert c.waitForIdle()
    tab = w.controls.customTable
    tab.setCurrentCell(0, 3)
    return tab, lambda: (tab.currentRow(), tab.currentColumn(), [tab.item(0, t).text() for t in range(5)])


def _plot(attr):
    def make(w):
        if attr == "gatePanel":
            w.controller.update(cell="gru")  # the tanh RNN has no gates
            assert w.controller.waitForIdle()
        panel = getattr(w, attr)
        view = panel.graphics if attr == "fadingPanel" else panel.graphicsView()
        return view, lambda: (view.horizontalScrollBar().value(), view.verticalScrollBar().value())
    return make


CONTROLS = {
    "group slider": _value_slider, "single-weight slider": _entry_slider, "amplitude slider": _amplitude_slider,
    "period slider": _period_slider, "T slider": _t_slider,
    "hidden-size spin box": _spin("hiddenSpin"), "input-size spin box": _spin("inputSpin"),
    "seed spin box": _spin("seedSpin"), "T spin box": _spin("tSpin"), "speed box": _speed_box,
    "signal combo box": _signal_combo, "cell button": _cell_button, "seed-example button": _seed_button,
    "section header": _section_header, "backward check box": _backward_check, "input table": _custom_table,
    "state plot": _plot("statePanel"), "gates plot": _plot("gatePanel"), "fading plot": _plot("fadingPanel"),
}


@pytest.mark.parametrize("kind", list(CONTROLS))
def test_keys_step_whatever_control_has_focus(window, qtbot, kind):
    c = window.controller
    widget, value = CONTROLS[kind](window)
    focus(qtbot, widget)
    before, settings = value(), c.settings
    if actions.edits_text(widget):  # a spin box: ←/→/Home/End are its cursor's while it is focused
        check_keys_step(c, keys=(Key.Key_PageDown, Key.Key_PageUp, Key.Key_Space))
    else:
        check_keys_step(c)
    assert value() == before, f"the {kind} changed"
    assert c.settings == settings, f"a setting changed with the {kind} focused"
    assert QtWidgets.QApplication.focusWidget() is widget


def test_the_issue_s_cases(window, qtbot):
    """Tab to a weight slider then PageDown: the step moves, the weight stays (was 1.01 → 0.86)."""
    c = window.controller
    vs = window.controls.groupSliders["recurrent_scale"]
    c.update(recurrent_scale=1.01)
    focus(qtbot, vs.slider)
    c.setStep(3)
    press(Key.Key_PageDown)
    assert c.step == 4 and vs.value() == 1.01 and c.settings.recurrent_scale == 1.01
    press(Key.Key_Up)  # ↑/↓ still move a focused slider
    assert c.settings.recurrent_scale == pytest.approx(1.02)


def test_a_spin_box_being_edited_keeps_the_cursor_keys_and_enter_returns_focus_to_the_views(window, qtbot):
    c = window.controller
    spin = window.controls.hiddenSpin
    edit = spin.lineEdit()
    focus(qtbot, spin)
    edit.selectAll()
    QTest.keyClicks(spin, "12")
    assert edit.text() == "12" and c.settings.hidden_size == 8  # not committed yet
    c.setStep(5)
    press(Key.Key_Home)
    assert edit.cursorPosition() == 0 and c.step == 5  # the text's cursor, not the step
    press(Key.Key_Right)
    assert edit.cursorPosition() == 1 and c.step == 5
    press(Key.Key_End)
    assert edit.cursorPosition() == 2 and c.step == 5
    press(Key.Key_Left)
    assert edit.cursorPosition() == 1 and c.step == 5
    press(Key.Key_PageDown)  # the clicker still steps, and the spin box does not jump by ten
    assert c.step == 6 and edit.text() == "12"
    press(Key.Key_Space)  # plays; no space typed into the number
    assert c.isPlaying() and edit.text() == "12"
    press(Key.Key_Space)
    assert not c.isPlaying()

    press(Key.Key_Return)  # commits, and the keyboard goes back to the views
    assert c.settings.hidden_size == 12
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is window.viewsArea)
    assert c.waitForIdle()
    check_keys_step(c)
    assert c.settings.hidden_size == 12 and spin.value() == 12


@pytest.mark.parametrize("name", ["tSpin", "seedSpin"])
def test_enter_in_a_spin_box_returns_focus_to_the_views(window, qtbot, name):
    spin = getattr(window.controls, name)
    focus(qtbot, spin)
    spin.lineEdit().selectAll()
    QTest.keyClicks(spin, "40")
    QTest.keyClick(spin, Key.Key_Enter)  # the keypad's Enter too
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is window.viewsArea)
    assert spin.value() == 40
    assert window.focusKeys.ringTarget() is None  # no ring around the views


def test_speed_box_after_enter(window, qtbot):
    c = window.controller
    box = window.transport.speedBox
    focus(qtbot, box)
    box.lineEdit().selectAll()
    QTest.keyClicks(box, "7")
    press(Key.Key_Return)
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is window.viewsArea)
    assert c.speed == 7
    check_keys_step(c)
    assert c.speed == 7


def test_tab_commits_and_moves_on(window, qtbot):
    """Focus leaving the field commits the edit; the focus goes where Tab sent it."""
    c = window.controller
    spin = window.controls.hiddenSpin
    focus(qtbot, spin)
    spin.lineEdit().selectAll()
    QTest.keyClicks(spin, "5")
    press(Key.Key_Tab)
    assert c.settings.hidden_size == 5
    assert QtWidgets.QApplication.focusWidget() is window.controls.inputSpin


def test_input_table_cell_edit(window, qtbot):
    c = window.controller
    tab, _value = _custom_table(window)
    focus(qtbot, tab)
    tab.editItem(tab.item(0, 3))
    qtbot.waitUntil(lambda: isinstance(QtWidgets.QApplication.focusWidget(), QtWidgets.QLineEdit))
    editor = QtWidgets.QApplication.focusWidget()
    editor.selectAll()
    QTest.keyClicks(editor, "25")
    c.setStep(5)
    press(Key.Key_Home)
    assert editor.cursorPosition() == 0 and c.step == 5
    press(Key.Key_PageDown)
    assert c.step == 6
    press(Key.Key_Return)
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is window.viewsArea)
    assert c.settings.custom[3][0] == 25.0
    assert c.waitForIdle()
    check_keys_step(c)


@pytest.mark.parametrize("kind", ["group slider", "hidden-size spin box", "cell button", "input table"])
def test_f11_and_esc_act_whatever_has_focus(window, qtbot, kind):
    widget, value = CONTROLS[kind](window)
    p = window.presenter
    focus(qtbot, widget)
    before = value()
    press(Key.Key_F11)
    assert p.isActive()
    if widget.isVisible():  # the side controls hide in presenter mode
        press(Key.Key_Escape)
    else:
        QTest.keyClick(window, Key.Key_Escape)
    assert not p.isActive()
    assert value() == before


def test_speed_box_in_presenter_mode(window, qtbot):
    """The transport stays in presenter mode: its speed box must not keep the clicker's keys."""
    c = window.controller
    window.presenter.enter()
    focus(qtbot, window.transport.speedBox)
    speed = c.speed
    check_keys_step(c, keys=(Key.Key_PageDown, Key.Key_PageUp, Key.Key_Space))
    assert c.speed == speed
    press(Key.Key_Escape)
    assert not window.presenter.isActive()


@pytest.mark.parametrize("kind", ["the mode switch", "group slider", "hidden-size spin box", "cell button"])
def test_entering_presenter_mode_leaves_no_control_holding_the_arrows(window, qtbot, kind):
    """The keyboard was on a control that presenter mode hides or moves (the Explore | Train
    switch leaves the menu bar, the side controls hide): Qt passed it down the focus chain to
    the transport's speed box, which kept ←/→ for its cursor, so → no longer stepped."""
    c = window.controller
    window.resize(1024, 740)  # a projector's window: presenter mode makes its columns tabs
    widget = window.modes.bar if kind == "the mode switch" else CONTROLS[kind](window)[0]
    focus(qtbot, widget)
    press(Key.Key_F11)
    assert window.presenter.isActive()
    assert not edits_text(QtWidgets.QApplication.focusWidget())
    check_keys_step(c)
    press(Key.Key_Escape)
    assert not window.presenter.isActive()
    check_keys_step(c)


def test_overlays_still_take_every_key(window, qtbot):
    c = window.controller
    p = window.presenter
    c.setStep(4)
    p.showHelp()
    press(Key.Key_PageDown)  # dismisses, does not step
    assert not p.help.isVisible() and c.step == 4


def test_anywhere_keys_come_from_the_table():
    keys = actions.anywhere_keys()
    for k in ("PgDown", "PgUp", "Space", "Left", "Right", "Home", "End", "F11", "Esc", "Ctrl+PgDown"):
        assert QtGui.QKeySequence(k)[0].toCombined() in keys, k
    for k in ("-", "+", "A", "B", "Ctrl+S"):  # "−" and letters type into fields
        assert QtGui.QKeySequence(k)[0].toCombined() not in keys, k


# ---------------------------------------------------------------- the focus ring


@pytest.mark.parametrize("theme_name", ["light", "dark"])
def test_focus_ring_around_the_focused_control(window, qtbot, theme_name):
    window.presenter.setTheme(theme_name)
    look = window.theme()
    vs = window.controls.groupSliders["input_scale"]
    focus(qtbot, vs.slider)
    ring = window.focusKeys.ring
    assert window.focusKeys.ringTarget() is vs  # the whole row: name, slider and value
    assert ring.isVisible()
    assert ring.geometry().contains(vs.geometry())
    img = ring.parentWidget().grab().toImage()
    g = ring.geometry()
    colour = QtGui.QColor(look.focus_ring)
    y = g.center().y()
    assert img.pixelColor(g.left() + 1, y) == colour and img.pixelColor(g.right() - 1, y) == colour
    focus(qtbot, window.controls.hiddenSpin)
    assert window.focusKeys.ringTarget() is window.controls.hiddenSpin
    window.focusViews()
    qtbot.waitUntil(lambda: not ring.isVisible())


def test_focus_ring_survives_its_container_being_rebuilt(window, qtbot):
    """The single-weight sliders are rebuilt when the cell changes; the ring lives on."""
    c = window.controller
    c.useSeedExample()
    assert c.waitForIdle()
    vs = next(iter(window.controls.entrySliders.values()))
    focus(qtbot, vs.slider)
    c.update(hidden_size=3)
    assert c.waitForIdle()
    QtWidgets.QApplication.processEvents()
    vs = next(iter(window.controls.entrySliders.values()))
    focus(qtbot, vs.slider)
    assert window.focusKeys.ringTarget() is vs and window.focusKeys.ring.isVisible()


# ---------------------------------------------------------------- presenter mode


def _lesson_name(window):
    from rnnviz.ui.lessons import current_lesson

    return current_lesson(window)


def test_change_lesson_in_presenter_mode_by_key(window, qtbot):
    p = window.presenter
    p.enter()
    focus(qtbot, window.viewsArea)
    press(Key.Key_PageDown, CTRL)
    assert _lesson_name(window) == LESSONS[0]
    press(Key.Key_PageDown, CTRL)
    assert _lesson_name(window) == LESSONS[1]
    press(Key.Key_PageUp, CTRL)
    assert _lesson_name(window) == LESSONS[0]
    press(Key.Key_PageUp, CTRL)  # before the first: stays
    assert _lesson_name(window) == LESSONS[0]
    assert p.isActive() and window.isFullScreen() and window.menuBar().isHidden()
    assert window.theme().font_scale == PRESENTER_SCALE
    assert window.lessonPanel.isVisible() and window.lessonPanel.lesson.title == list_lessons()[0][1]


def test_change_lesson_in_presenter_mode_from_the_lessons_menu(window, qtbot):
    p = window.presenter
    p.enter()
    window.session.openLesson(LESSONS[2])
    focus(qtbot, window.viewsArea)
    press(Key.Key_L)
    menu = window.menu("file.lessons")
    try:
        qtbot.waitUntil(menu.isVisible)
        assert window.rect().contains(window.mapFromGlobal(menu.geometry().center()))  # over the window
        assert menu.activeAction() is window.action(f"file.lessons.{LESSONS[2]}")  # the open one
        QTest.keyClick(menu, Key.Key_Down)
        QTest.keyClick(menu, Key.Key_Return)
        qtbot.waitUntil(lambda: not menu.isVisible())
    finally:
        menu.hide()
    assert _lesson_name(window) == LESSONS[3]
    assert p.isActive() and window.menuBar().isHidden()
    assert "L" in p.hintText()


def test_next_lesson_in_the_menu_and_the_overlay(window):
    entries = [a.objectName() for a in window.menu("file.lessons").actions()]
    assert "lesson.next" in entries and "lesson.previous" in entries
    rows = dict(actions.shortcut_rows())
    assert "Ctrl+PageDown" in rows and "L" in rows


def _live_controls(window):
    kinds = (QtWidgets.QAbstractButton, QtWidgets.QAbstractSlider, QtWidgets.QAbstractSpinBox,
             QtWidgets.QComboBox, QtWidgets.QLineEdit, QtWidgets.QAbstractItemView)
    for w in window.findChildren(QtWidgets.QWidget):
        if isinstance(w, kinds) and w.isVisible() and w.isEnabled() and w.width() > 0:
            if isinstance(w, QtWidgets.QAbstractSlider) and isinstance(w.parentWidget(), QtWidgets.QAbstractScrollArea):
                continue  # a scroll bar
            yield w, QtCore.QRect(w.mapTo(window, QtCore.QPoint(0, 0)), w.size())


@pytest.mark.parametrize("size", [None, (1280, 720), (1920, 1080)])
@pytest.mark.parametrize("lesson", [None, "the-race", "lstm-remembers"])
def test_presenter_hint_covers_no_live_control(window, qtbot, lesson, size):
    """None: full screen (the offscreen platform's small screen); else a window of that size."""
    if lesson:
        window.session.openLesson(lesson)
        assert window.controller.waitForIdle()
    p = window.presenter
    if size is None:
        p.enter()
        qtbot.waitUntil(window.isFullScreen)
    else:
        window.resize(*size)
        p.enter(fullscreen=False)  # (a lesson may make it grow past 720 px: the layout's minimum)
    QtWidgets.QApplication.processEvents()
    p.hint.place()
    p.stepOverlay.place()
    hint = p.hint.geometry()
    assert p.hint.isVisible() and window.rect().contains(hint)
    controls = list(_live_controls(window))
    assert any(w is window.transport.scrubber for w, _ in controls)
    for w, rect in controls:
        assert not rect.intersects(hint), f"the hint covers {type(w).__name__} {w.toolTip()[:30]!r}"
    if size is not None:  # (on a screen too small for the bar the counter spreads further: layout work)
        # the big step counter lies over the transport bar's own readout, none of its controls
        for w, rect in controls:
            if window.transport.isAncestorOf(w):
                assert not rect.intersects(p.stepOverlay.geometry()), f"the counter covers {type(w).__name__}"
