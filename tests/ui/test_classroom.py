"""Classroom details of issue 8: the overflow banner moves nothing, the start page's summaries
show whole, the presenter hint covers no plot or control, and the Explore | Train switch is
large enough to read and hit from the back of a room."""

import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtWidgets

from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow


def _settle():
    for _ in range(3):
        QtWidgets.QApplication.processEvents()


def _window(qtbot, size=(1024, 740), **settings):
    c = Controller()
    if settings:
        c.update(**settings)
    c.recompute()
    assert c.waitForIdle()
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    _settle()
    return w


LIVE = (pg.GraphicsView, QtWidgets.QAbstractSlider, QtWidgets.QAbstractButton, QtWidgets.QAbstractSpinBox,
        QtWidgets.QLineEdit, QtWidgets.QComboBox, QtWidgets.QTabBar)


def _rect(w: QtWidgets.QWidget, window: QtWidgets.QWidget) -> QtCore.QRect:
    return QtCore.QRect(w.mapTo(window, QtCore.QPoint(0, 0)), w.size())


def _live(window, exclude=()):
    """(widget, rect in the window) of every visible plot and control, outside ``exclude``."""
    out = []
    for x in window.findChildren(QtWidgets.QWidget):
        if not isinstance(x, LIVE) or not x.isVisibleTo(window) or x.width() == 0:
            continue
        if any(x is e or e.isAncestorOf(x) for e in exclude):
            continue
        out.append((x, _rect(x, window)))
    return out


# ---------------------------------------------------------------- the overflow banner


@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_the_overflow_banner_moves_no_plot_and_covers_no_side_control(qtbot, presenter):
    w = _window(qtbot, cell="rnn_relu", hidden_size=16, T=400, recurrent_scale=1.0)
    if presenter:
        w.presenter.enter(fullscreen=False)
        _settle()
    c = w.controller
    assert not w.banner.isVisible()
    before = _live(w, exclude=[w.banner])
    c.update(recurrent_scale=3.0, input_scale=3.0)
    assert c.waitForIdle()
    _settle()
    assert c.result.warnings() and w.banner.isVisible()
    after = dict(_live(w, exclude=[w.banner]))
    moved = [f"{type(x).__name__} {r.getRect()} → {after[x].getRect()}" for x, r in before
             if x in after and after[x] != r]
    assert moved == []
    assert len(after) == len(before)
    banner = _rect(w.banner, w)
    assert w.rect().contains(banner)
    assert banner.height() >= w.banner.heightForWidth(banner.width())  # its text shows whole
    # it lies over the views' top edge: never over the side controls or the transport bar
    for panel in [w.sideColumn, w.transport, *w.findChildren(QtWidgets.QTabBar)]:
        if panel.isVisibleTo(w) and panel.width() > 0:
            assert not banner.intersects(_rect(panel, w)), type(panel).__name__
    # its × hides it until the message changes; back to normal it goes, and comes back again
    qtbot.mouseClick(w.banner.closeButton, QtCore.Qt.MouseButton.LeftButton)
    assert not w.banner.isVisible()
    c.update(recurrent_scale=1.0, input_scale=1.0)
    assert c.waitForIdle()
    c.update(recurrent_scale=3.0, input_scale=3.0)
    assert c.waitForIdle()
    assert w.banner.isVisible()
    w.presenter.leave()


# ---------------------------------------------------------------- the start page


@pytest.mark.parametrize("size", [(1024, 768), (1280, 720), (1920, 1080)])
def test_every_lesson_summary_on_the_start_page_shows_whole(qtbot, size):
    from rnnviz.io.lessons import lesson_info, list_lessons

    w = _window(qtbot, size=size)
    start = w.startPanel
    start.show()
    _settle()
    assert w.rect().contains(_rect(start.card, w))
    for b in (start.openButton, start.dismissButton):
        assert _rect(start.card, w).contains(_rect(b, w))
    scroll = start.lessonScroll
    view = _rect(scroll.viewport(), w)
    for name, title in list_lessons():
        choice = start.lessonButtons[name]
        label = choice.label
        assert lesson_info(name).one_line() in choice.text()  # the whole summary, not a shortened one
        # the label has the height its wrapped text needs, and the whole width of the list
        assert label.height() >= label.heightForWidth(label.width()) - 1, (name, label.height())
        assert _rect(choice, w).left() >= view.left() and _rect(choice, w).right() <= view.right(), name
        # a lesson below the list's edge scrolls into view when it gets the keyboard focus
        choice.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
        _settle()
        assert view.contains(_rect(choice, w)), (name, _rect(choice, w).getRect(), view.getRect())
    start.hide()


# ---------------------------------------------------------------- the presenter hint


@pytest.mark.parametrize("lesson", [None, "gru-update-gate", "seed-example", "compare"])
def test_the_presenter_hint_covers_no_plot_and_no_control(qtbot, lesson):
    from PySide6 import QtGui

    w = _window(qtbot, **({"cell": "compare", "T": 100, "hidden_size": 32} if lesson == "compare" else {}))
    if lesson not in (None, "compare"):
        w.session.openLesson(lesson)
        assert w.controller.waitForIdle()
    p = w.presenter
    p.enter(fullscreen=False)
    for size in ((1024, 740), (1024, 768), (1280, 692), (1920, 1050)):
        for _ in range(10):
            w.resize(*size)
            _settle()
        p.hint.showFor()  # (as entering presenter mode shows it)
        _settle()
        hint = _rect(p.hint, w)
        assert p.hint.isVisible() and w.rect().contains(hint), size
        covered = [f"{type(x).__name__} {r.getRect()}" for x, r in _live(w, exclude=[p.hint, p.stepOverlay])
                   if r.intersects(hint)]
        assert covered == [], (size, hint.getRect())
        # the keys show whole, in a font a teacher can read
        # on lines that break only between two keys ("PageUp/←" is never parted from "back")
        # and need no wrapping
        from rnnviz.ui.presenter import HINT_TEXT

        keys = HINT_TEXT.split(" · ")
        lines = p.hint.text().split("\n")
        assert [k for line in lines for k in line.split(" · ")] == keys, lines
        fm = QtGui.QFontMetrics(p.hint.font())
        need = fm.boundingRect(QtCore.QRect(0, 0, 10_000, 10_000), 0, p.hint.text())
        room = p.hint.contentsRect()
        assert need.width() <= room.width() and need.height() <= room.height(), (size, need, room)
        assert p.hint.font().pointSize() >= 10, size
        for part in ("PageDown", "PageUp", "Space", "L lessons", "? help"):
            assert part in p.hintText()
    w.controller.setStep(3)  # the first step brings the counter back
    assert not p.hint.isVisible()
    p.leave()


# ---------------------------------------------------------------- the Explore | Train switch


def test_the_mode_switch_scales_with_presenter_mode_and_is_easy_to_hit(qtbot):
    from PySide6 import QtGui

    w = _window(qtbot)
    bar = w.modes.bar

    def measure():
        sizes = [bar.tabSizeHint(i) for i in range(bar.count())]
        return bar.font().pointSizeF(), sizes

    normal_pt, normal_sizes = measure()
    # it fits the menu bar whole, and each segment is a comfortable target with its text inside
    assert bar.isVisible() and _rect(w.menuBar(), w).contains(_rect(bar, w))
    fm = QtGui.QFontMetrics(bar.font())
    for i, size in enumerate(normal_sizes):
        assert size.height() >= 28 and size.width() >= 60, size
        assert size.width() >= fm.horizontalAdvance(bar.tabText(i)) + 16
    w.presenter.enter(fullscreen=False)
    _settle()
    presenter_pt, presenter_sizes = measure()
    assert presenter_pt >= 1.5 * normal_pt - 0.01
    for a, b in zip(normal_sizes, presenter_sizes):
        assert b.height() >= 1.3 * a.height() and b.height() >= 40 and b.width() >= 1.3 * a.width(), (a, b)
    w.presenter.leave()
    _settle()
    assert measure()[0] == normal_pt
    qtbot.mouseClick(bar, QtCore.Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert w.modes.currentIndex() == 1  # a click anywhere on the segment switches
    w.modes.setCurrentIndex(0)
