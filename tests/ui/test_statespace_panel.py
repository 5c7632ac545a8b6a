"""The state-space panel draws the engine's path and fixed points, moves them with the sliders,
and lives in the right column's 'views' tab group."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from rnnviz.core import model as M
from rnnviz.engine.statespace import fixed_points
from rnnviz.ui import export, theme
from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow
from rnnviz.ui.statespace import StateSpacePanel

BISTABLE = dict(cell="rnn_tanh", hidden_size=2, T=20, single_bias=True, recurrent_scale=1.25, overrides=(
    (("W_hh", 0, 0), 1.0), (("W_hh", 0, 1), 0.6), (("W_hh", 1, 0), 0.6), (("W_hh", 1, 1), 1.0),
    (("W_ih", 0, 0), 1.0), (("W_ih", 1, 0), 0.5), (("b_ih", 0, 0), 0.0), (("b_ih", 1, 0), 0.0)))


@pytest.fixture
def make(qtbot):
    made = []

    def build(**settings):
        c = Controller()
        c.restore(M.Settings(**settings))
        assert c.waitForIdle()
        panel = StateSpacePanel(c)
        qtbot.addWidget(panel)
        made.append((c, panel))
        panel.resize(640, 600)
        panel.show()
        qtbot.waitExposed(panel)
        return c, panel

    yield build
    made.clear()


def engine_states(c) -> np.ndarray:
    cr = c.result.cells[0]
    return np.concatenate([np.zeros((1, 2)), cr.trace.h.astype(np.float64)])


def test_the_plane_shows_the_engine_path_up_to_the_current_step(make):
    c, panel = make(**BISTABLE)
    c.setStep(4)
    x, y = panel.pathData()
    np.testing.assert_array_equal(np.column_stack([x, y]), engine_states(c)[:6])
    assert panel.currentPoint() == pytest.approx(tuple(engine_states(c)[5]))
    assert panel.arrowData().shape[0] > 0
    c.setRevealAll(True)
    assert panel.pathData()[0].shape == (21,)
    assert "stable" in panel.legendText() and "saddle" in panel.legendText()


def test_fixed_points_are_the_engines_and_a_slider_moves_them(make):
    c, panel = make(**BISTABLE)
    c.toEnd()
    cell = c.result.cells[0].cell
    drawn = panel.fixedPointData()
    fps = fixed_points(cell, c.result.xs[-1])
    assert [k for _, k in drawn] == [p.stability for p in fps] == ["stable", "stable", "saddle"]
    np.testing.assert_allclose([xy for xy, _ in drawn], fps.h, atol=1e-9)
    c.update(recurrent_scale=0.5)  # the slider: below ρ = 1 the two attractors merge
    assert c.waitForIdle()
    assert [k for _, k in panel.fixedPointData()] == ["stable"]
    c.update(recurrent_scale=1.5)
    assert c.waitForIdle()
    moved = panel.fixedPointData()
    assert len(moved) == 3 and abs(moved[1][0][0]) > abs(drawn[1][0][0])  # further out


def test_clicking_a_point_of_the_path_goes_to_its_step(make, qtbot):
    c, panel = make(**BISTABLE)
    c.toEnd()
    qtbot.wait(10)
    xy = engine_states(c)[1]
    scene = panel.vb.mapViewToScene(QtCore.QPointF(*xy))
    pos = panel.graphics.mapFromScene(scene)
    qtbot.mouseClick(panel.graphics.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert c.step == 0


def test_h_above_two_shows_principal_components_and_the_toggle_adds_inputs(make):
    c, panel = make(hidden_size=8, T=30, signal="sine")
    assert panel.variantsCheck.isVisibleTo(panel)
    assert "PC1" in panel.plot.getAxis("bottom").labelText
    assert panel.fixedPointData() == [] and panel.arrowData().shape == (0, 2)
    panel.variantsCheck.setChecked(True)
    assert panel.variantCount() == 4


def test_hidden_panel_draws_only_when_shown(qtbot, controller):
    w = MainWindow(controller)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    panel = w.panels["stateSpacePanel"]
    tabs = w.tabs["views"]
    assert tabs.indexOf(panel) == 1 and tabs.indexOf(w.fadingPanel) == 0
    assert tabs.currentWidget() is w.fadingPanel and panel._shown is None  # nothing computed
    controller.update(hidden_size=2)
    assert controller.waitForIdle()
    assert panel._shown is None
    w.showPanel("stateSpacePanel")
    assert tabs.currentWidget() is panel and panel._shown is not None and panel._shown.mode == "plane"
    np.testing.assert_array_equal(np.column_stack(panel.pathData()), engine_states(controller)[: controller.step + 2])
    # export: a PNG and a vector SVG of it, like every panel
    img = export.render_image(panel)
    assert img.width() > 100
    svg = export.svg_bytes(panel)
    assert b"<svg" in svg and b"h\xe2\x82\x81" in svg  # "h₁" as text


def test_presenter_fonts_and_dark_theme(make):
    c, panel = make(**BISTABLE)
    c.toEnd()
    before = (panel.title.font().pointSizeF(), panel.legendLabel.font().pointSizeF(),
              panel.plot.getAxis("bottom").style["tickFont"].pointSizeF(), panel._labels[0].textItem.font().pointSizeF())
    panel.setTheme(theme.make("dark", font_scale=1.5))
    after = (panel.title.font().pointSizeF(), panel.legendLabel.font().pointSizeF(),
             panel.plot.getAxis("bottom").style["tickFont"].pointSizeF(), panel._labels[0].textItem.font().pointSizeF())
    assert all(a >= 1.5 * b - 1e-6 for a, b in zip(after, before))
    assert panel.graphics.backgroundBrush().color().lightness() < 60
    assert len(panel.fixedPointData()) == 3  # redrawn in the new look


def test_the_lesson_opens_on_the_state_space_and_shows_two_attractors(qtbot, controller):
    w = MainWindow(controller)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert w.session.openLesson("two-fixed-points")
    assert controller.waitForIdle()
    panel = w.panels["stateSpacePanel"]
    assert w.tabs["views"].currentWidget() is panel
    assert [k for _, k in panel.fixedPointData()] == ["stable", "stable", "saddle"]
    assert w.session.openLesson("vanishing-memory")  # a lesson without a panel: the first tab, its fading
    assert w.tabs["views"].currentWidget() is w.fadingPanel


def test_a_new_variance_share_of_the_same_width_keeps_the_axis_drawing(make):
    """PCA's axis titles change at most slider ticks: one of the same size replaces the text
    only; one of another size lays the axis out again, as pyqtgraph's setLabel does."""
    c, panel = make(hidden_size=8)
    ax = panel.plot.getAxis("bottom")
    style = dict(ax.labelStyle)
    ax.setTitle("PC1 (47 % of variance)", style)
    panel.grab()  # paint: the axis records its ticks
    assert ax.picture is not None
    size = ax.label.boundingRect()
    ax.setTitle("PC1 (48 % of variance)", style)
    assert ax.picture is not None and ax.label.boundingRect() == size
    assert "PC1 (48 % of variance)" in ax.label.toPlainText() and ax.labelText == "PC1 (48 % of variance)"
    ax.setTitle("PC1 (100 % of variance, and more words)", style)
    assert ax.picture is None and "and more words" in ax.label.toPlainText()
