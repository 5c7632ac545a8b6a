"""Panels that share a ``tab`` group share one tab widget; export brings a tab to the front."""

from __future__ import annotations

import pytest
from PySide6 import QtWidgets

from rnnviz.ui import export
from rnnviz.ui.main_window import MainWindow
from rnnviz.ui.panels import Panel, PanelSpec, register_panel, unregister_panel


class _Probe(Panel, QtWidgets.QLabel):
    def __init__(self, controller):
        super().__init__("probe")


@pytest.fixture
def tabbed(qtbot, controller):
    register_panel(PanelSpec("probeA", "Probe A", _Probe, "right", order=5, tab="probe", export="probe-a"))
    register_panel(PanelSpec("probeB", "Probe B", _Probe, "right", order=6, tab="probe", export="probe-b"))
    try:
        w = MainWindow(controller)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        yield w
    finally:
        unregister_panel("probeA")
        unregister_panel("probeB")


def test_tabbed_panels_share_one_tab_widget(tabbed):
    w = tabbed
    tabs = w.tabs["probe"]
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Probe A", "Probe B"]
    assert w.panelContainer("probeA") is tabs is w.panelContainer("probeB")
    assert w.columns["right"].indexOf(tabs) >= 0
    assert tabs.currentWidget() is w.panels["probeA"]
    assert export.target_widget(w, "probeB") is w.panels["probeB"]
    assert tabs.currentWidget() is w.panels["probeB"]


def test_presenter_mode_on_a_small_screen_shows_one_panel_per_column(qtbot, controller):
    from rnnviz.ui import presenter

    w = MainWindow(controller)
    qtbot.addWidget(w)
    w.resize(1024, 740)
    w.show()
    qtbot.waitExposed(w)
    right = w.columns["right"]
    before = [right.widget(i) for i in range(right.count())]
    w.presenter.enter(fullscreen=False)
    QtWidgets.QApplication.processEvents()
    assert w.height() < presenter.COMPACT_BELOW and w.isCompact()
    for slot in ("left", "right"):
        tabs = w.panelContainer(next(s.id for s in w.panelSpecs.values() if s.slot == slot))
        ids = [s.id for s in w.panelSpecs.values() if s.slot == slot]
        assert sorted(tabs.widget(i) is w.panels[pid] for i in range(tabs.count()) for pid in ids).count(True) == len(ids)
        assert tabs.isVisible()
    w.showPanel("equationPanel")
    assert w.equationPanel.isVisible() and not w.fadingPanel.isVisible()
    assert w.equationPanel.height() > 0.8 * right.height()  # the whole column
    w.resize(1300, 1000)  # a taller window: four panels again
    QtWidgets.QApplication.processEvents()
    assert not w.isCompact()
    w.resize(1024, 740)
    QtWidgets.QApplication.processEvents()
    assert w.isCompact()
    w.presenter.leave()
    QtWidgets.QApplication.processEvents()
    assert w.compactSlots() == ("left",)  # the normal window's rule at this height
    assert [right.widget(i) for i in range(right.count())] == before
    assert w.fadingPanel.isVisible() and w.equationPanel.isVisible()
    assert w.tabs["views"].currentWidget() is w.fadingPanel


def test_a_lesson_opens_on_its_tab_in_compact_presenter_mode(qtbot, controller):
    w = MainWindow(controller)
    qtbot.addWidget(w)
    w.resize(1024, 740)
    w.show()
    qtbot.waitExposed(w)
    w.session.openLesson("seed-example")  # about the equations
    w.presenter.enter(fullscreen=False)
    QtWidgets.QApplication.processEvents()
    assert w.isCompact() and w.equationPanel.isVisible() and not w.fadingPanel.isVisible()
    w.session.openLesson("vanishing-memory")  # no tab of its own: the first
    QtWidgets.QApplication.processEvents()
    assert w.fadingPanel.isVisible()
    w.presenter.leave()


def test_compact_columns_show_no_tab_of_a_panel_with_nothing_to_show(projector_window):
    """The output row (no trained model shown) and the reading view (no text) get no tab, in
    the column's tab groups and in compact presenter mode."""
    w = projector_window
    w.presenter.enter(fullscreen=False)
    QtWidgets.QApplication.processEvents()
    assert w.isCompact()
    for pid in ("outputPanel", "textPanel"):
        tabs = w.panelContainer(pid)
        assert not tabs.isTabVisible(tabs.indexOf(w.panels[pid])), pid
    shown = [w.panelContainer("statePanel").tabText(i) for i in range(w.panelContainer("statePanel").count())
             if w.panelContainer("statePanel").isTabVisible(i)]
    assert "Hidden state" in shown and "Output row" not in shown
    w.presenter.leave()
    QtWidgets.QApplication.processEvents()
    tabs = w.tabs["views"]
    assert not tabs.isTabVisible(tabs.indexOf(w.panels["textPanel"]))


def test_a_short_normal_window_shows_the_left_columns_panels_as_tabs(qtbot, controller):
    """At 768 pixels the LSTM's two state heatmaps and four gate rows cannot share a column:
    each gets the whole column, a tab away; a taller window splits the column again."""
    from rnnviz.ui.main_window import COMPACT_LEFT_BELOW

    controller.update(cell="lstm")
    controller.recompute()
    w = MainWindow(controller)
    qtbot.addWidget(w)
    w.resize(1024, 740)
    w.show()
    qtbot.waitExposed(w)
    QtWidgets.QApplication.processEvents()
    assert w.height() < COMPACT_LEFT_BELOW and w.compactSlots() == ("left",)
    left = w.panelContainer("statePanel")
    assert left is w.panelContainer("gatePanel") and isinstance(left, QtWidgets.QTabWidget)
    w.showPanel("gatePanel")
    QtWidgets.QApplication.processEvents()
    assert w.gatePanel.isVisible() and not w.statePanel.isVisible()
    assert w.gatePanel.height() > 0.8 * w.columns["left"].height()
    # the right column keeps the x1 plot and the equations together
    assert w.fadingPanel.isVisible() and w.equationPanel.isVisible()
    w.resize(1600, 1000)
    QtWidgets.QApplication.processEvents()
    assert not w.isCompact()
    assert w.statePanel.isVisible() and w.gatePanel.isVisible()


def _shown_tabs(tabs):
    bar = tabs.tabBar()
    return [i for i in range(bar.count()) if bar.isTabVisible(i)]


def test_tab_names_are_whole_or_short_never_cut(projector_window):
    """Presenter mode at 1024×768 put four tabs in one bar, too narrow for their names:
    "Fading …", "State s…", "Cell diag…", "Equat…". The bar now shows short names (whole
    names in the tooltips), the largest saving first; a wide window keeps the whole names."""
    from rnnviz.ui.main_window import _tab_title

    w = projector_window
    w.presenter.enter(fullscreen=False)
    QtWidgets.QApplication.processEvents()
    assert w.isCompact()
    right = w.panelContainer("fadingPanel")
    bar = right.tabBar()
    shown = _shown_tabs(right)
    assert len(shown) >= 4
    assert sum(bar.tabSizeHint(i).width() for i in shown) <= right.width()  # nothing elided
    short = 0
    for i in shown:
        spec = w._specOfWidget(right.widget(i))
        whole = _tab_title(spec)
        assert bar.tabText(i) in (whole, spec.short_title or whole)
        if bar.tabText(i) != whole:
            short += 1
            assert bar.tabToolTip(i) == whole
    assert short >= 1  # the whole names did not fit this bar
    w.presenter.leave()
    w.resize(1600, 1000)
    QtWidgets.QApplication.processEvents()
    tabs = w.tabs["views"]
    assert [tabs.tabText(i) for i in _shown_tabs(tabs)] == \
        [_tab_title(w._specOfWidget(tabs.widget(i))) for i in _shown_tabs(tabs)]
    assert all(tabs.tabToolTip(i) == "" for i in _shown_tabs(tabs))
