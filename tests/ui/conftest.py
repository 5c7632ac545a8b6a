import gc

import pytest
from PySide6 import QtWidgets


def _top_level_widgets() -> list:
    """QApplication.topLevelWidgets() with the cycle collector held off while the list is
    wrapped: a collection in the middle (the wrapping allocates) can delete a widget of an
    earlier test that only a garbage cycle kept, whose pointer is still in the list, and the
    next wrap then reads freed memory (a segfault in this fixture, once in a CI run)."""
    was = gc.isenabled()
    gc.disable()
    try:
        return list(QtWidgets.QApplication.topLevelWidgets())
    finally:
        if was:
            gc.enable()


@pytest.fixture(autouse=True)
def no_leaked_top_level_widgets(qapp):
    """Fail a test that leaves top-level widgets behind (qtbot.addWidget closes its own)."""
    before = {id(w) for w in _top_level_widgets()}
    yield
    QtWidgets.QApplication.processEvents()
    for w in _top_level_widgets():
        # pyqtgraph keeps hidden helper widgets (menus, tooltips); only visible windows count.
        # A widget in the middle of its destruction can come back as a bare QObject wrapper.
        if not isinstance(w, QtWidgets.QWidget):
            continue
        if id(w) not in before and w.isVisible():
            w.close()
            pytest.fail(f"test leaked a visible top-level widget: {type(w).__name__} {w.windowTitle()!r}")


@pytest.fixture(autouse=True)
def fresh_preferences(tmp_path_factory, monkeypatch):
    """Each test gets its own empty preferences (theme, recent files …), never the user's."""
    monkeypatch.setenv("RNNVIZ_SETTINGS_DIR", str(tmp_path_factory.mktemp("settings")))


@pytest.fixture(autouse=True)
def keep_widgets_alive(request):
    """qtbot.addWidget holds widgets weakly; Python's cycle collector could then delete a
    pyqtgraph widget in the middle of its own paint (a segfault). Hold them until teardown."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    qtbot = request.getfixturevalue("qtbot")
    held = []
    original = qtbot.addWidget

    def add_widget(widget, *args, **kwargs):
        held.append(widget)
        return original(widget, *args, **kwargs)

    qtbot.addWidget = add_widget
    yield
    qtbot.addWidget = original
    held.clear()


@pytest.fixture
def controller(qapp):
    from rnnviz.ui.controller import Controller

    c = Controller()
    c.recompute()
    assert c.waitForIdle()
    yield c
    c.setPlaying(False)


@pytest.fixture(scope="module")
def module_window_factory(qapp, tmp_path_factory):
    """Build a MainWindow shared by a module's tests that only look at it (exports, menus):
    a window takes about a second to build. Its preferences live in a folder of its own; it is
    closed, and must not have leaked anything, when the module ends."""
    from PySide6.QtTest import QTest

    from rnnviz.ui.controller import Controller
    from rnnviz.ui.main_window import MainWindow

    made = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNNVIZ_SETTINGS_DIR", str(tmp_path_factory.mktemp("module-settings")))

        def make(size=(1400, 900), **settings):
            c = Controller()
            if settings:
                c.update(**settings)
            c.recompute()
            w = MainWindow(c)
            made.append(w)
            w.resize(*size)
            w.show()
            assert QTest.qWaitForWindowExposed(w)
            assert c.waitForIdle()
            return w

        yield make
        for w in made:
            w.controller.setPlaying(False)
            w.close()
            w.deleteLater()
        QtWidgets.QApplication.processEvents()


@pytest.fixture
def shown_window(qtbot):
    """The main window on a computed default run, shown; playing stopped at teardown."""
    from rnnviz.ui.controller import Controller
    from rnnviz.ui.main_window import MainWindow

    c = Controller()
    c.recompute()
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert c.waitForIdle()
    yield w
    c.setPlaying(False)


@pytest.fixture
def projector_window(qtbot, controller):
    """The main window at 1024 × 740, shown: what a 1024 × 768 projector leaves a window."""
    from rnnviz.ui.main_window import MainWindow

    w = MainWindow(controller)
    qtbot.addWidget(w)
    w.resize(1024, 740)
    w.show()
    qtbot.waitExposed(w)
    yield w
    if w.presenter.isActive():
        w.presenter.leave()
