"""Presenter mode, themes, clicker keys and the shortcut overlay on a real MainWindow."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from rnnviz.ui import prefs, presenter, theme
from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow

Key = QtCore.Qt.Key


def _make_window(qtbot, cell="lstm"):
    c = Controller()
    c.update(cell=cell)
    c.recompute()
    assert c.waitForIdle()
    w = MainWindow(c)
    p = w.presenter
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    qtbot.waitExposed(w)
    return w, p


@pytest.fixture
def settings_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(prefs.ENV_DIR, str(tmp_path))
    return tmp_path


@pytest.fixture
def window(qtbot, settings_dir):
    w, p = _make_window(qtbot)
    yield w
    w.controller.setPlaying(False)
    p.leave()
    presenter.apply_theme(w, theme.LIGHT)  # the application palette is process-wide: leave it as found


def _lut(item: pg.ImageItem) -> np.ndarray:
    return np.asarray(item.lut if item.lut is not None else item.getColorMap().getLookupTable(0, 1, 256))


def _background(glw: pg.GraphicsLayoutWidget) -> QtGui.QColor:
    return glw.backgroundBrush().color()


# ---------------------------------------------------------------- presenter mode


def test_f11_enters_and_leaves_full_screen_presenter_mode(window, qtbot):
    p = window.presenter
    # the test screen (800 px) is narrower than the window: Qt fits a restored geometry to the
    # screen as far as the minimum size allows, so start at the minimum width
    window.resize(window.minimumSize().width(), 650)
    qtbot.waitUntil(lambda: window.height() == 650)
    size = window.size()
    assert not window.isFullScreen() and not p.isActive()
    qtbot.keyClick(window, Key.Key_F11)
    assert p.isActive()
    qtbot.waitUntil(window.isFullScreen)
    assert window.windowState() & QtCore.Qt.WindowState.WindowFullScreen
    assert p.presenterAction.isChecked()
    qtbot.keyClick(window, Key.Key_F11)
    assert not p.isActive()
    qtbot.waitUntil(lambda: not window.isFullScreen())
    qtbot.waitUntil(lambda: window.size() == size)
    assert not p.presenterAction.isChecked()


def test_escape_leaves_presenter_mode_and_does_nothing_otherwise(window, qtbot):
    p = window.presenter
    qtbot.keyClick(window, Key.Key_Escape)  # not presenting: harmless
    assert not p.isActive() and not window.isFullScreen()
    p.enter()
    qtbot.waitUntil(window.isFullScreen)
    qtbot.keyClick(window, Key.Key_Escape)
    assert not p.isActive()
    qtbot.waitUntil(lambda: not window.isFullScreen())


def test_presenter_hides_controls_menu_and_status_but_keeps_views(window, qtbot):
    p = window.presenter
    kept = [window.transport, window.statePanel, window.gatePanel, window.fadingPanel, window.equationPanel]
    p.enter()
    qtbot.waitUntil(window.isFullScreen)
    assert window.sideColumn.isHidden()
    assert window.menuBar().isHidden()
    assert window.statusBar().isHidden()
    for w in kept:  # on a small screen, one panel per column: the others are a tab away
        pid = next(k for k, v in window.panels.items() if v is w)
        window.showPanel(pid)
        assert w.isVisible(), type(w).__name__
    window.controller.update(recurrent_scale=3.0, cell="rnn_relu", T=400)  # a warning shows the banner
    window.controller.recompute()
    assert window.controller.waitForIdle()
    if window.controller.result.warnings():
        qtbot.waitUntil(window.banner.isVisible)
    p.leave()
    assert not window.sideColumn.isHidden()
    assert not window.menuBar().isHidden()
    assert not window.statusBar().isHidden()


def test_presenter_fonts_are_at_least_one_and_a_half_times_larger(window, qtbot):
    def sizes():
        title = window.statePanel.plotItems()["h"].titleLabel.opts["size"]
        tick = window.statePanel.plotItems()["h"].getAxis("bottom").style["tickFont"].pointSizeF()
        return {
            "state title": float(title.rstrip("pt")),
            "state ticks": tick,
            "fading title": window.fadingPanel.title.font().pointSizeF(),
            "fading axis": window.fadingPanel.plot.getAxis("left").style["tickFont"].pointSizeF(),
            "equations": window.equationPanel.textBrowser().font().pointSizeF(),
            "transport": window.transport.stepLabel.font().pointSizeF(),
            "application": QtWidgets.QApplication.font().pointSizeF(),
        }

    before = sizes()
    window.presenter.enter()
    during = sizes()
    for name, size in before.items():
        assert during[name] >= 1.5 * size - 1e-6, name
    window.presenter.leave()
    assert sizes() == before


def test_step_counter_follows_the_controller(window, qtbot):
    p, c = window.presenter, window.controller
    assert not p.stepOverlay.isVisible()
    c.setStep(4)
    p.enter()
    assert p.stepOverlay.isVisible()
    assert p.stepText() == "t = 5 / 30"
    c.setStep(11)
    assert p.stepText() == "t = 12 / 30"
    c.stepForward()
    assert p.stepText() == "t = 13 / 30"
    c.update(T=40)
    assert p.stepText().endswith("/ 40")
    font = p.stepOverlay.font().pointSizeF()
    assert font >= 36 and font > window.transport.stepLabel.font().pointSizeF()  # big
    p.leave()
    assert not p.stepOverlay.isVisible()


def test_step_counter_stays_on_screen_and_in_a_corner(window, qtbot):
    p = window.presenter
    p.enter()
    qtbot.waitUntil(window.isFullScreen)
    qtbot.waitUntil(lambda: p.stepOverlay.geometry().right() >= window.width() - 20)
    g = p.stepOverlay.geometry()
    assert window.rect().contains(g)
    assert g.bottom() >= window.height() - 20  # bottom-right, over the transport bar's readout
    assert g.height() >= QtGui.QFontMetrics(p.stepOverlay.font()).height()


def test_presenter_hint_only_in_presenter_mode(window, qtbot):
    p = window.presenter
    assert not p.hint.isVisible()
    p.enter()
    assert p.hint.isVisible()
    for part in ("PageDown", "PageUp", "Space", "?"):
        assert part in p.hintText()
    p.leave()
    assert not p.hint.isVisible()


@pytest.mark.parametrize("presenting", [False, True])
def test_page_down_and_page_up_step(window, qtbot, presenting):
    c = window.controller
    if presenting:
        window.presenter.enter()
    c.toStart()
    qtbot.keyClick(window, Key.Key_PageDown)
    qtbot.keyClick(window, Key.Key_PageDown)
    assert c.step == 2
    qtbot.keyClick(window, Key.Key_PageUp)
    assert c.step == 1


def test_menu_shortcuts_work_with_the_menu_bar_hidden(window, qtbot, monkeypatch):
    calls = []
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: calls.append(a) or ("", "")))
    window.presenter.enter()
    assert window.menuBar().isHidden()
    qtbot.keyClick(window, Key.Key_O, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert len(calls) == 1


# ---------------------------------------------------------------- overlays


EVERY_KEY = ["Space", "←", "→", "PageUp", "PageDown", "Home", "End", "+", "−", "A", "F11", "Esc", "Ctrl+S",
             "Ctrl+O", "?"]


@pytest.mark.parametrize("key", [(Key.Key_Question, QtCore.Qt.KeyboardModifier.NoModifier),
                                 (Key.Key_Question, QtCore.Qt.KeyboardModifier.ShiftModifier),
                                 (Key.Key_F1, QtCore.Qt.KeyboardModifier.NoModifier)])
def test_question_mark_shows_every_shortcut(window, qtbot, key):
    help_ = window.presenter.help
    qtbot.keyClick(window, key[0], key[1])
    assert help_.isVisible()
    assert help_.geometry() == window.rect()
    keys = [k for k, _ in help_.shortcuts()]
    for k in EVERY_KEY:
        assert k in keys, k
        assert k in help_.label.text() or k.replace("→", "&rarr;") in help_.label.text()
    assert help_.label.font().pointSizeF() >= QtWidgets.QApplication.font().pointSizeF()
    assert "Open weights" in help_.text()  # named after the File menu's own entry


def test_any_key_dismisses_the_overlay_and_does_nothing_else(window, qtbot):
    p, c = window.presenter, window.controller
    c.setStep(5)
    p.showHelp()
    assert p.help.isVisible()
    qtbot.keyClick(p.help, Key.Key_Space)  # would play
    assert not p.help.isVisible()
    assert not c.isPlaying() and c.step == 5
    p.showHelp()
    qtbot.keyClick(p.help, Key.Key_PageDown)  # would step
    assert not p.help.isVisible() and c.step == 5
    p.showHelp()
    qtbot.mouseClick(p.help, QtCore.Qt.MouseButton.LeftButton)
    assert not p.help.isVisible()


def test_escape_closes_the_overlay_before_leaving_presenter_mode(window, qtbot):
    p = window.presenter
    p.enter()
    p.showHelp()
    qtbot.keyClick(p.help, Key.Key_Escape)
    assert not p.help.isVisible()
    assert p.isActive()


def test_b_blacks_the_screen_out_and_any_key_returns(window, qtbot):
    p, c = window.presenter, window.controller
    c.setStep(3)
    qtbot.keyClick(window, Key.Key_B)
    assert p.black.isVisible() and p.black.geometry() == window.rect()
    img = p.black.grab().toImage()
    assert img.pixelColor(img.width() // 2, img.height() // 2) == QtGui.QColor(0, 0, 0)
    qtbot.keyClick(p.black, Key.Key_Right)
    assert not p.black.isVisible() and c.step == 3


# ---------------------------------------------------------------- themes


def test_dark_theme_changes_backgrounds_text_and_colour_maps(window, qtbot):
    p = window.presenter
    glws = {"state": window.statePanel.graphicsView(), "gates": window.gatePanel.graphicsView(),
            "fading": window.fadingPanel.graphics}
    light_bg = {k: _background(g) for k, g in glws.items()}
    assert all(c == QtGui.QColor(theme.LIGHT.background) for c in light_bg.values())
    h_lut = _lut(window.statePanel.imageItems()["h"])
    p.themeActions["dark"].trigger()
    assert p.baseTheme().name == "dark" and window.theme().dark
    for k, g in glws.items():
        assert _background(g) == QtGui.QColor(theme.DARK.background), k
    assert not np.array_equal(_lut(window.statePanel.imageItems()["h"]), h_lut)
    np.testing.assert_array_equal(_lut(window.statePanel.imageItems()["h"]), theme.lut(theme.DARK.diverging))
    axis = window.statePanel.plotItems()["h"].getAxis("left")
    assert axis.textPen().color() == QtGui.QColor(theme.DARK.foreground)
    pal = window.equationPanel.textBrowser().palette()
    assert pal.color(QtGui.QPalette.ColorRole.Base) == QtGui.QColor(theme.DARK.background)
    assert QtWidgets.QApplication.palette().color(QtGui.QPalette.ColorRole.Window) == QtGui.QColor(theme.DARK.window)
    p.themeActions["light"].trigger()
    for k, g in glws.items():
        assert _background(g) == QtGui.QColor(theme.LIGHT.background), k
    np.testing.assert_array_equal(_lut(window.statePanel.imageItems()["h"]), h_lut)


def test_dark_theme_pixels_are_dark(window, qtbot):
    window.presenter.setTheme("dark")
    img = window.fadingPanel.graphics.grab().toImage()
    corner = img.pixelColor(3, 3)
    assert corner.lightness() < 60


def test_theme_switch_keeps_fixed_levels_and_engine_data(window, qtbot):
    c = window.controller
    c.update(cell="lstm")
    c.recompute()
    assert c.waitForIdle()
    c.setStep(9)
    cr = c.result.cells[0]
    window.presenter.setTheme("dark")
    items = window.statePanel.imageItems()
    assert tuple(items["h"].levels) == tuple(cr.h_levels())
    assert tuple(items["c"].levels) == tuple(cr.c_levels())
    np.testing.assert_array_equal(window.statePanel.shownData("h"), cr.trace.h[:10].T)
    gates = window.gatePanel.imageItems()
    assert tuple(gates["f"].levels) == (0.0, 1.0)
    np.testing.assert_array_equal(gates["f"].image, cr.trace.gates["f"].T)
    assert window.fadingPanel.revealedSteps() == 10


def test_colour_blind_maps(window, qtbot):
    p = window.presenter
    h_lut = _lut(window.statePanel.imageItems()["h"])
    gate_lut = _lut(window.gatePanel.imageItems()["f"])
    p.colourBlindAction.setChecked(True)
    assert p.baseTheme().colour_blind and window.theme().colour_blind
    np.testing.assert_array_equal(_lut(window.statePanel.imageItems()["h"]), theme.lut(theme.CB_DIVERGING_LIGHT))
    np.testing.assert_array_equal(_lut(window.gatePanel.imageItems()["f"]), theme.lut(theme.CB_SEQUENTIAL))
    assert not np.array_equal(_lut(window.statePanel.imageItems()["h"]), h_lut)
    bar = window.statePanel.colourBars()["h"]
    np.testing.assert_array_equal(bar.colorMap().getLookupTable(0, 1, 256), theme.lut(theme.CB_DIVERGING_LIGHT))
    p.setTheme("dark")  # the flag stays on with the other theme
    assert p.colourBlindAction.isChecked()
    np.testing.assert_array_equal(_lut(window.statePanel.imageItems()["h"]), theme.lut(theme.CB_DIVERGING_DARK))
    p.colourBlindAction.setChecked(False)
    np.testing.assert_array_equal(_lut(window.gatePanel.imageItems()["f"]), gate_lut)


def test_colour_maps_are_shipped_by_pyqtgraph():
    names = set(pg.colormap.listMaps())
    for t in (theme.make("light"), theme.make("dark"), theme.make("light", True), theme.make("dark", True)):
        assert {t.diverging, t.sequential} <= names


def test_theme_in_presenter_mode_keeps_the_large_fonts(window, qtbot):
    p = window.presenter
    p.enter()
    big = window.fadingPanel.title.font().pointSizeF()
    p.setTheme("dark")
    assert window.fadingPanel.title.font().pointSizeF() == big
    assert window.theme().dark and window.theme().font_scale == presenter.PRESENTER_SCALE
    p.leave()
    assert window.theme().dark and window.theme().font_scale == 1.0


def test_every_cell_survives_theme_and_presenter_switches(window, qtbot):
    c, p = window.controller, window.presenter
    for cell in ("rnn_tanh", "gru", "compare", "lstm"):
        c.update(cell=cell)
        c.recompute()
        assert c.waitForIdle()
        c.setStep(4)
        p.setColourBlind(cell == "gru")
        p.setTheme("dark" if cell != "compare" else "light")
        p.enter()
        p.leave()
        look = window.theme()
        assert (look.name, look.colour_blind, look.font_scale) == (
            "dark" if cell != "compare" else "light", cell == "gru", 1.0)
        # every panel was rebuilt for the theme and still shows the engine's arrays
        assert all(panel.look == look for panel in window.panels.values())
        for cr in c.result.cells:
            key = "h" if len(c.result.cells) == 1 else f"{cr.label}/h"
            item = window.statePanel.imageItems()[key]
            np.testing.assert_array_equal(window.statePanel.shownData(key), cr.trace.h[:5].T)
            assert tuple(item.levels) == tuple(cr.h_levels())
            np.testing.assert_array_equal(_lut(item), theme.lut(look.diverging))
        assert _background(window.statePanel.graphicsView()) == QtGui.QColor(look.background)
        assert "t = 5" in window.equationPanel.text() or "h_5" in window.equationPanel.text()


# ---------------------------------------------------------------- preferences


def test_theme_choice_is_saved_and_restored(qtbot, settings_dir):
    w, p = _make_window(qtbot)
    try:
        p.setTheme("dark")
        p.setColourBlind(True)
    finally:
        w.close()
    assert prefs.theme_name() == "dark" and prefs.colour_blind() is True
    w2, p2 = _make_window(qtbot)
    try:
        assert p2.baseTheme().name == "dark" and p2.baseTheme().colour_blind
        assert _background(w2.statePanel.graphicsView()) == QtGui.QColor(theme.DARK.background)
        assert p2.themeActions["dark"].isChecked() and p2.colourBlindAction.isChecked()
    finally:
        presenter.apply_theme(w2, theme.LIGHT)
        w2.close()


def test_geometry_saved_on_close_is_the_one_before_presenter_mode(qtbot, settings_dir):
    w, p = _make_window(qtbot)
    w.resize(1150, 650)
    qtbot.waitUntil(lambda: w.size() == QtCore.QSize(1150, 650))
    before = w.saveGeometry()
    p.enter()
    qtbot.waitUntil(w.isFullScreen)
    w.close()
    assert not p.isActive()  # closing in presenter mode restores the normal fonts
    assert QtWidgets.QApplication.font().pointSizeF() == presenter._ORIGINAL["font"].pointSizeF()
    assert prefs.store().value(prefs.GEOMETRY_KEY) == before
    w2 = MainWindow(w.controller)
    qtbot.addWidget(w2)
    w2.show()
    qtbot.waitExposed(w2)
    assert not w2.isFullScreen()
    assert w2.height() == 650  # (the 800-pixel test screen may narrow it)


def test_prepare_render_sets_theme_and_presenter_mode_without_saving(qtbot, settings_dir):
    c = Controller()
    c.recompute()
    assert c.waitForIdle()
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.resize(1300, 760)
    w.show()
    qtbot.waitExposed(w)
    try:
        presenter.prepare_render(w, theme_name="dark", colour_blind=True, presenter=True)
        p = w.presenter
        assert p.isActive() and not w.isFullScreen()
        assert (w.width(), w.height()) == (1300, 760)
        t = w.theme()
        assert t.dark and t.colour_blind and t.font_scale == presenter.PRESENTER_SCALE
        assert p.stepOverlay.isVisible() and w.sideColumn.isHidden()
        assert prefs.store().value(prefs.THEME_KEY) is None  # a render never changes the preferences
    finally:
        w.presenter.leave()
        presenter.apply_theme(w, theme.LIGHT)
        w.close()
