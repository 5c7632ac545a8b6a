"""Every classroom screen: the window's least size fits a 1024×768 projector (issue 8).

Normal and presenter mode, for every lesson and for Compare. (Whether every label fits its
text at that size is the rest of issue 8's layout work.)
"""

import pytest
from PySide6 import QtWidgets

from rnnviz.io.lessons import list_lessons
from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow

#: A 1024×768 projector, less a window manager's title bar.
SCREEN = (1024, 740)


@pytest.mark.parametrize("lesson", [None, "compare"] + [name for name, _ in list_lessons()])
def test_the_window_fits_a_1024_by_768_projector(qtbot, lesson):
    c = Controller()
    if lesson == "compare":
        c.update(cell="compare", T=100, hidden_size=32)
    c.recompute()
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.resize(*SCREEN)
    w.show()
    qtbot.waitExposed(w)
    if lesson not in (None, "compare"):
        w.session.openLesson(lesson)
    assert c.waitForIdle()
    QtWidgets.QApplication.processEvents()
    for mode in ("normal", "presenter"):
        if mode == "presenter":
            w.presenter.enter(fullscreen=False)
            QtWidgets.QApplication.processEvents()
            QtWidgets.QApplication.processEvents()
        least = w.minimumSizeHint().expandedTo(w.minimumSize())
        assert least.width() <= SCREEN[0] and least.height() <= SCREEN[1], (mode, least)
        assert w.transport.minimumSizeHint().width() <= SCREEN[0], mode
    w.presenter.leave()
