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
