"""Presenting to a class: presenter mode, themes, clicker keys and the shortcut overlay.

* Presenter mode (F11, View ▸ Presenter mode; Esc or F11 leaves): full screen, every font
  1.5× larger, a big "t = 12 / 30" in the top-right corner, the side controls, menu bar
  and status bar hidden (the transport bar, the warning banner and all views stay).
* Themes (View ▸ Theme): the light projector theme or a dark one, each optionally with
  colour-blind-safe colour maps (View ▸ Colour-blind-safe colours). :func:`apply_theme`
  sets the Qt palette and fonts and asks every widget that has ``applyTheme(theme)`` to
  restyle itself.
* Clicker keys: PageDown / PageUp step forward and back; B (or .) blacks the screen out.
* ? or F1 lays every shortcut over the window in large type; any key or click removes it.

``install(window)`` adds all of this to a MainWindow, restores the theme and the window
geometry from the preferences (:mod:`rnnviz.ui.prefs`) and saves them when it closes.
"""

from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from . import prefs, theme

#: Presenter mode multiplies every font by this.
PRESENTER_SCALE = 1.5
#: Presenter mode gives the gates this share of the left column's height (four gate rows
#: with 1.5× axis numbers need it more than the two state heatmaps).
GATE_SHARE = 0.55
#: The presenter hint disappears after this many milliseconds.
HINT_MS = 8000
HINT_TEXT = "PageDown/→ next · PageUp/← back · Space play · ? help"

#: Every key of the app, as the overlay lists them: (key, what it does). The actions others
#: add to the menus (Ctrl+S, Ctrl+O) are named by their menu text when they exist.
SHORTCUTS = [
    ("Space", "Play / pause"),
    ("→", "Step forward"),
    ("PageDown", "Step forward (clicker)"),
    ("←", "Step back"),
    ("PageUp", "Step back (clicker)"),
    ("Home", "First step"),
    ("End", "Last step"),
    ("+", "Play faster"),
    ("−", "Play slower"),
    ("A", "Show all steps / reveal step by step"),
    ("B", "Black screen (any key returns)"),
    ("F11", "Presenter mode on / off"),
    ("Esc", "Leave presenter mode"),
    ("Ctrl+S", "Save"),
    ("Ctrl+O", "Open"),
    ("Ctrl+Shift+O", "Open weights"),
    ("?", "This list of shortcuts (also F1)"),
]

_ORIGINAL: dict = {}  # the application's palette, font and style before any theme



# ---------------------------------------------------------------- applying a theme


def _palette(t: theme.Theme) -> QtGui.QPalette:
    R, G = QtGui.QPalette.ColorRole, QtGui.QPalette.ColorGroup
    p = QtGui.QPalette()
    colours = {
        R.Window: t.window, R.WindowText: t.foreground, R.Base: t.base, R.AlternateBase: t.button,
        R.ToolTipBase: t.button, R.ToolTipText: t.foreground, R.PlaceholderText: t.muted, R.Text: t.foreground,
        R.Button: t.button, R.ButtonText: t.foreground, R.BrightText: "#FF7070", R.Highlight: "#3D7BD9",
        R.HighlightedText: "#FFFFFF", R.Link: "#7CC4F4", R.LinkVisited: "#C8A2F0",
        R.Light: "#4A4F57", R.Midlight: "#3A3E45", R.Mid: "#2C2F35", R.Dark: "#141518", R.Shadow: "#000000",
    }
    for role, colour in colours.items():
        p.setColor(role, QtGui.QColor(colour))
    for role in (R.WindowText, R.Text, R.ButtonText):
        p.setColor(G.Disabled, role, QtGui.QColor("#7A7F87"))
    return p


def apply_theme(window: QtWidgets.QWidget, look: theme.Theme) -> None:
    """Make ``look`` the app's theme: module constants, Qt palette and application font, then
    ``applyTheme(look)`` on every child of ``window`` that has one (the panels rebuild their
    plots and redraw the current result)."""
    app = QtWidgets.QApplication.instance()
    if not _ORIGINAL:
        _ORIGINAL.update(palette=QtGui.QPalette(app.palette()), font=QtGui.QFont(app.font()),
                         style=app.style().name())
    theme.set_current(look)
    if look.dark:
        # native styles (Windows 11, macOS) ignore parts of a dark palette; Fusion honours it all
        if app.style().name().lower() != "fusion":
            app.setStyle("Fusion")
        app.setPalette(_palette(look))
    else:
        if app.style().name() != _ORIGINAL["style"]:
            app.setStyle(_ORIGINAL["style"])
        app.setPalette(_ORIGINAL["palette"])
    f = QtGui.QFont(_ORIGINAL["font"])
    if f.pointSizeF() > 0:
        f.setPointSizeF(f.pointSizeF() * look.font_scale)
    app.setFont(f)
    for w in window.findChildren(QtWidgets.QWidget):
        fn = getattr(w, "applyTheme", None)
        if callable(fn):
            fn(look)
    banner = getattr(window, "banner", None)
    if banner is not None:
        banner.setFont(theme.font(theme.TITLE_PT, bold=True))
        banner.setStyleSheet(
            f"QLabel {{ background: {look.warning_bg}; color: {look.warning_fg};"
            f" border: 2px solid {look.warning_fg}; border-radius: 4px; padding: 6px 10px; }}")
    if isinstance(window, QtWidgets.QMainWindow):
        for label in window.statusBar().findChildren(QtWidgets.QLabel):
            label.setFont(theme.font(theme.FONT_PT))


# ---------------------------------------------------------------- overlays


class _Overlay(QtWidgets.QWidget):
    """A child widget drawn over the whole window, on top of everything."""

    def __init__(self, window: QtWidgets.QWidget):
        super().__init__(window)
        self.hide()

    def place(self) -> None:
        self.setGeometry(self.parentWidget().rect())


class _Dismissable(_Overlay):
    """Covers the window; any key or click removes it (and does nothing else)."""

    def __init__(self, window):
        super().__init__(window)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self._previous = None

    def open(self) -> None:
        self._previous = QtWidgets.QApplication.focusWidget()
        self.place()
        self.show()
        self.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def dismiss(self) -> None:
        self.hide()
        prev = self._previous
        self._previous = None
        if prev is not None and prev.isVisible():
            prev.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
        else:
            self.parentWidget().setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def event(self, ev) -> bool:
        # every key is ours while shown, before the window's shortcuts see it
        if ev.type() == QtCore.QEvent.Type.ShortcutOverride and self.isVisible():
            ev.accept()
            return True
        return super().event(ev)

    def keyPressEvent(self, ev) -> None:
        if ev.key() in (QtCore.Qt.Key.Key_Shift, QtCore.Qt.Key.Key_Control, QtCore.Qt.Key.Key_Alt,
                        QtCore.Qt.Key.Key_Meta):
            return  # the Shift of "?" is not a key press of its own
        ev.accept()
        self.dismiss()

    def mousePressEvent(self, ev) -> None:
        ev.accept()
        self.dismiss()

    def focusOutEvent(self, ev) -> None:
        super().focusOutEvent(ev)
        if ev.reason() in (QtCore.Qt.FocusReason.MouseFocusReason, QtCore.Qt.FocusReason.TabFocusReason):
            self.dismiss()


class HelpOverlay(_Dismissable):
    """Every shortcut in large type on a dark translucent panel over the window."""

    def __init__(self, window):
        super().__init__(window)
        self.label = QtWidgets.QLabel(self)
        self.label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.label.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.label, 0, QtCore.Qt.AlignmentFlag.AlignCenter)
        self._rows: list[tuple[str, str]] = []

    def setShortcuts(self, rows: list[tuple[str, str]]) -> None:
        self._rows = list(rows)
        self._render()

    def shortcuts(self) -> list[tuple[str, str]]:
        return list(self._rows)

    def text(self) -> str:
        """Plain text of the list: one "key — what it does" line each."""
        return "\n".join(f"{k} — {v}" for k, v in self._rows)

    def _render(self) -> None:
        pt = max(theme.FONT_PT + 7, 18)
        half = (len(self._rows) + 1) // 2
        cols = [self._rows[:half], self._rows[half:]]

        def table(rows):
            return "<table cellspacing=0 cellpadding=5>" + "".join(
                f"<tr><td align=right style='color:#FFC14D; font-weight:bold'>{html.escape(k)}</td>"
                f"<td>&nbsp;&nbsp;{html.escape(v)}</td></tr>" for k, v in rows) + "</table>"

        self.label.setText(
            f"<div style='color:#FFFFFF; font-size:{pt}pt'>"
            f"<p align=center style='font-size:{pt + 6}pt; font-weight:bold'>Keyboard shortcuts</p>"
            f"<table cellspacing=0 cellpadding=0><tr><td valign=top>{table(cols[0])}</td>"
            f"<td width=50></td><td valign=top>{table(cols[1])}</td></tr></table>"
            f"<p align=center style='font-size:{pt - 4}pt; color:#C8C8C8'>Press any key or click to close.</p>"
            "</div>")

    def applyTheme(self, _look=None) -> None:
        self._render()

    def paintEvent(self, _ev) -> None:
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor(0, 0, 0, 110))
        box = self.label.geometry().adjusted(-36, -24, 36, 24)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.setPen(QtGui.QPen(QtGui.QColor("#E69F00"), 3))
        p.setBrush(QtGui.QColor(20, 22, 26, 232))
        p.drawRoundedRect(QtCore.QRectF(box), 14, 14)
        p.end()


class BlackScreen(_Dismissable):
    """Blank the projection (the class looks at the teacher); any key or click returns."""

    def paintEvent(self, _ev) -> None:
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor(0, 0, 0))
        p.end()


class StepOverlay(QtWidgets.QLabel):
    """The big "t = 12 / 30" in the bottom-right corner during presenter mode.

    It lies over the right end of the transport bar (whose own, smaller readout it replaces)
    so it hides none of the views; without a transport bar it sits in the corner.
    """

    MARGIN = 4

    def __init__(self, window):
        super().__init__(window)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.hide()
        self.applyTheme()

    def applyTheme(self, _look=None) -> None:
        t = theme.current()
        self.setFont(theme.font(max(theme.TITLE_PT * 2, 30), bold=True))
        self.setStyleSheet(
            f"QLabel {{ color: {t.foreground}; background: {t.background};"
            f" border: 3px solid {t.cursor}; border-radius: 10px; padding: 0px 14px; }}")
        self.place()

    def setStep(self, t: int, T: int) -> None:
        self.setText(f"t = {t} / {T}")
        if self.isVisible():
            self.place()

    def place(self) -> None:
        w = self.parentWidget()
        # as wide as "t = T / T" needs, so the box does not jump while stepping
        T = self.text().rpartition("/ ")[2] or "30"
        fm = QtGui.QFontMetrics(self.font())
        width, height = fm.horizontalAdvance(f"t = {T} / {T}") + 40, fm.height() + 10
        right, bottom = w.width() - self.MARGIN, w.height() - self.MARGIN
        transport = getattr(w, "transport", None)
        readout = getattr(transport, "stepLabel", None)
        if readout is not None and transport.isVisible():
            left = readout.mapTo(w, QtCore.QPoint(0, 0)).x() - 6
            top = transport.mapTo(w, QtCore.QPoint(0, 0)).y()
            width = max(width, right - left)
            height = max(height, bottom - top)
        self.setGeometry(right - width, bottom - height, width, height)


class HintOverlay(QtWidgets.QLabel):
    """The presenter-only hint, shown for a few seconds after entering presenter mode."""

    def __init__(self, window):
        super().__init__(HINT_TEXT, window)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()
        self.applyTheme()

    def applyTheme(self, _look=None) -> None:
        self.setFont(theme.font(theme.FONT_PT, bold=True))
        self.setStyleSheet("QLabel { color: #FFFFFF; background: rgba(20, 22, 26, 225); border: 2px solid #E69F00;"
                           " border-radius: 8px; padding: 6px 16px; }")
        self.place()

    def showFor(self, ms: int = HINT_MS) -> None:
        self.place()
        self.show()
        self.raise_()
        self._timer.start(ms)

    def place(self) -> None:
        """On the transport bar between its buttons and the step counter (it hides none of the
        views; the font shrinks to fit), else at the bottom of the window."""
        w = self.parentWidget()
        transport = getattr(w, "transport", None)
        first = getattr(transport, "speedBox", None)
        last = getattr(transport, "stepLabel", None)
        pt = max(theme.FONT_PT, 11)
        self.setFont(theme.font(pt, bold=True))
        self.adjustSize()
        if first is None or last is None or not transport.isVisible():
            self.move((w.width() - self.width()) // 2, w.height() - 12 - self.height())
            return
        left = first.mapTo(w, QtCore.QPoint(0, 0)).x()
        right = last.mapTo(w, QtCore.QPoint(0, 0)).x() - 12
        while self.width() > right - left and pt > 10:
            pt -= 1
            self.setFont(theme.font(pt, bold=True))
            self.adjustSize()
        centre = transport.mapTo(w, transport.rect().center()).y()
        self.move(max(left + (right - left - self.width()) // 2, 4), centre - self.height() // 2)


# ---------------------------------------------------------------- presenter


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").replace("…", "").strip()


def _menu(window: QtWidgets.QMainWindow, title: str) -> QtWidgets.QMenu:
    """The menu bar's menu called ``title`` ("&View"), made if missing."""
    for action in window.menuBar().actions():
        if action.menu() is not None and _plain(action.text()) == _plain(title):
            return action.menu()
    return window.menuBar().addMenu(title)


def _menu_actions(window: QtWidgets.QMainWindow) -> list[QtGui.QAction]:
    out, todo = [], [a.menu() for a in window.menuBar().actions() if a.menu() is not None]
    while todo:
        menu = todo.pop()
        for a in menu.actions():
            if a.menu() is not None:
                todo.append(a.menu())
            elif not a.isSeparator():
                out.append(a)
    return out


class Presenter(QtCore.QObject):
    """Presenter mode, theme choice and the overlays of one main window (``window.presenter``)."""

    activeChanged = QtCore.Signal(bool)
    themeChanged = QtCore.Signal(object)  # theme.Theme

    def __init__(self, window: QtWidgets.QMainWindow):
        super().__init__(window)
        self.window = window
        self._active = False
        self._restore = None  # (geometry, window state, widgets hidden, full screen?) on entering
        self._splitterSizes: list = []
        self._base = theme.make(prefs.theme_name(), prefs.colour_blind())
        self.stepOverlay = StepOverlay(window)
        self.hint = HintOverlay(window)
        self.help = HelpOverlay(window)
        self.black = BlackScreen(window)
        c = window.controller
        c.stepChanged.connect(self._updateStep)
        c.settingsChanged.connect(self._updateStep)
        c.resultChanged.connect(self._updateStep)
        self._updateStep()
        self._escape = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape), window)
        self._escape.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        self._escape.activated.connect(self.leave)
        self._escape.setEnabled(False)
        window.installEventFilter(self)

    # ------------------------------------------------------------ state
    def isActive(self) -> bool:
        return self._active

    def baseTheme(self) -> theme.Theme:
        """The chosen theme at font scale 1 (presenter mode scales it)."""
        return self._base

    def stepText(self) -> str:
        return self.stepOverlay.text()

    def hintText(self) -> str:
        return self.hint.text()

    # ------------------------------------------------------------ presenter mode
    def toggle(self) -> None:
        self.leave() if self._active else self.enter()

    def enter(self, fullscreen: bool = True) -> None:
        """Presenter mode; ``fullscreen=False`` keeps the window size (headless renders)."""
        if self._active:
            return
        w = self.window
        hideable = [getattr(w, "controlsScroll", None), w.menuBar(), w.statusBar()]
        hidden = [x for x in hideable if x is not None and not x.isHidden()]
        self._restore = (w.saveGeometry(), w.windowState(), hidden, fullscreen)
        self._splitterSizes = [sp.sizes() for sp in getattr(w, "splitters", ())]
        self._active = True
        # menu shortcuts (Ctrl+O, Ctrl+S, …) must keep working with the menu bar hidden
        for action in _menu_actions(w):
            if not action.shortcut().isEmpty() and w not in action.associatedObjects():
                w.addAction(action)
        for x in hidden:
            x.hide()
        apply_theme(w, self._base.scaled(PRESENTER_SCALE))
        if fullscreen:
            w.showFullScreen()
        self._shareLeftColumn()
        QtCore.QTimer.singleShot(0, self, self._shareLeftColumn)  # again once full screen has its size
        self._escape.setEnabled(True)
        self._updateStep()
        self.stepOverlay.show()
        self.stepOverlay.place()
        self.hint.showFor(HINT_MS)
        self._stack()
        self.activeChanged.emit(True)

    def leave(self, restore_window: bool = True) -> None:
        """Back to the normal window; ``restore_window=False`` only restores fonts, theme and
        widgets (the window is closing)."""
        if not self._active:
            return
        w = self.window
        self._active = False
        self._escape.setEnabled(False)
        self.stepOverlay.hide()
        self.hint.hide()
        geometry, state, hidden, fullscreen = self._restore
        self._restore = None
        apply_theme(w, self._base)
        for x in hidden:
            x.show()
        # let the layouts shrink back to the normal fonts before the window takes its old size
        QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.LayoutRequest.value)
        # not w.isFullScreen(): a screen narrower than the large fonts' layout ends full screen
        if fullscreen and restore_window:
            if state & QtCore.Qt.WindowState.WindowMaximized:
                w.showMaximized()
            else:
                w.showNormal()
                w.restoreGeometry(geometry)
                # again once the smaller fonts have shrunk the layouts' minimum sizes
                QtCore.QTimer.singleShot(0, self, lambda: self._restoreGeometry(geometry))
        sizes = self._splitterSizes
        QtCore.QTimer.singleShot(0, self, lambda: self._restoreSplitters(sizes))
        self._restoreSplitters(sizes)
        self.activeChanged.emit(False)

    def _restoreGeometry(self, geometry) -> None:
        if not self._active and not self.window.isFullScreen():
            self.window.restoreGeometry(geometry)

    def _shareLeftColumn(self) -> None:
        splitters = getattr(self.window, "splitters", ())
        gates = getattr(self.window, "gatePanel", None)
        if not self._active or len(splitters) < 3 or gates is None or gates.isShowingMessage():
            return
        left = splitters[2]
        total = sum(left.sizes())
        if left.count() == 2 and total > 0:
            left.setSizes([total - round(total * GATE_SHARE), round(total * GATE_SHARE)])

    def _restoreSplitters(self, sizes) -> None:
        if self._active:
            return
        for sp, s in zip(getattr(self.window, "splitters", ()), sizes):
            sp.setSizes(s)

    def savedGeometry(self) -> QtCore.QByteArray:
        """Where the window is, or was before presenter mode took the whole screen."""
        return self._restore[0] if self._restore is not None else self.window.saveGeometry()

    # ------------------------------------------------------------ themes
    def setTheme(self, name: str) -> None:
        """"light" or "dark"; keeps the colour-blind choice; remembered in the preferences."""
        self._setBase(theme.make(name, self._base.colour_blind))
        prefs.set_theme_name(self._base.name)

    def setColourBlind(self, on: bool) -> None:
        self._setBase(theme.make(self._base.name, bool(on)))
        prefs.set_colour_blind(bool(on))

    def _setBase(self, base: theme.Theme) -> None:
        if base == self._base and theme.current() == self.currentTheme(base):
            return
        self._base = base
        apply_theme(self.window, self.currentTheme(base))
        self.themeChanged.emit(base)

    def currentTheme(self, base: theme.Theme | None = None) -> theme.Theme:
        base = base or self._base
        return base.scaled(PRESENTER_SCALE) if self._active else base

    # ------------------------------------------------------------ overlays
    def showHelp(self) -> None:
        self.help.setShortcuts(self.shortcuts())
        self.black.hide()
        self.help.open()
        self._stack()

    def toggleBlack(self) -> None:
        if self.black.isVisible():
            self.black.dismiss()
        else:
            self.help.hide()
            self.black.open()
            self._stack()

    def _stack(self) -> None:
        """Counter and hint over the views; the shortcut list and the black screen over all."""
        for o in (self.stepOverlay, self.hint, self.help, self.black):
            o.raise_()

    def shortcuts(self) -> list[tuple[str, str]]:
        """SHORTCUTS, with Ctrl+S / Ctrl+O described by the window's own menu entries."""
        named = {}
        for action in _menu_actions(self.window):
            for seq in action.shortcuts():
                text = seq.toString(QtGui.QKeySequence.SequenceFormat.PortableText)
                if text and text not in named:
                    named[text] = _plain(action.text())
        return [(k, named.get(k, v) if k.startswith("Ctrl+") else v) for k, v in SHORTCUTS]

    def _updateStep(self, *_) -> None:
        c = self.window.controller
        T = c.settings.T
        self.stepOverlay.setStep(min(max(c.step, 0), max(T - 1, 0)) + 1, T)

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.window:
            kind = ev.type()
            if kind in (QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.LayoutRequest):
                for o in (self.help, self.black):
                    if o.isVisible():
                        o.place()
                self.stepOverlay.place()
                self.hint.place()
                self._stack()
            elif kind == QtCore.QEvent.Type.Close:
                self.savePrefs()
            elif kind == QtCore.QEvent.Type.Hide and not ev.spontaneous() and self._active:
                self.leave(restore_window=False)  # closed in presenter mode: normal fonts again
            elif kind == QtCore.QEvent.Type.KeyPress and ev.text() == "?" and not self.help.isVisible():
                # "?" is Shift+/ on many keyboards; where the shortcut map does not match the
                # shifted key, the unused key press comes up to the window
                self.showHelp()
                return True
        return False

    def savePrefs(self) -> None:
        prefs.save_geometry(self.window, self.savedGeometry())
        prefs.set_theme_name(self._base.name)
        prefs.set_colour_blind(self._base.colour_blind)


# ---------------------------------------------------------------- install


def install(window: QtWidgets.QMainWindow) -> Presenter:
    """Add presenter mode, themes, clicker keys and the shortcut overlay to ``window``;
    restore the saved theme and geometry. Stores ``window.presenter``."""
    p = Presenter(window)
    window.presenter = p
    c = window.controller

    view = _menu(window, "&View")
    view.addSeparator()
    p.presenterAction = view.addAction("&Presenter mode")
    p.presenterAction.setCheckable(True)
    p.presenterAction.setShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_F11))
    p.presenterAction.triggered.connect(lambda _on: p.toggle())
    p.activeChanged.connect(lambda on: p.presenterAction.setChecked(on))

    menu = view.addMenu("&Theme")
    group = QtGui.QActionGroup(menu)
    group.setExclusive(True)
    p.themeActions = {}
    for name, label in (("light", "&Light (projector)"), ("dark", "&Dark")):
        a = menu.addAction(label)
        a.setCheckable(True)
        a.setChecked(p.baseTheme().name == name)
        group.addAction(a)
        a.triggered.connect(lambda _on=False, name=name: p.setTheme(name))
        p.themeActions[name] = a
    p.colourBlindAction = view.addAction("&Colour-blind-safe colours")
    p.colourBlindAction.setCheckable(True)
    p.colourBlindAction.setChecked(p.baseTheme().colour_blind)
    p.colourBlindAction.toggled.connect(p.setColourBlind)

    def sync(base):
        with QtCore.QSignalBlocker(p.colourBlindAction):
            p.colourBlindAction.setChecked(base.colour_blind)
        p.themeActions[base.name].setChecked(True)

    p.themeChanged.connect(sync)

    help_ = _menu(window, "&Help")
    p.helpAction = help_.addAction("Shortcut &overlay")
    p.helpAction.setShortcuts([QtGui.QKeySequence("?"), QtGui.QKeySequence(QtCore.Qt.Key.Key_F1)])
    p.helpAction.triggered.connect(p.showHelp)
    for action in (p.presenterAction, p.helpAction):
        window.addAction(action)  # keys work while the menu bar is hidden

    def shortcut(key, slot):
        sc = QtGui.QShortcut(QtGui.QKeySequence(key), window)
        sc.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(slot)
        return sc

    Key = QtCore.Qt.Key
    p.shortcutKeys = [
        shortcut(Key.Key_PageDown, c.stepForward),
        shortcut(Key.Key_PageUp, c.stepBack),
        shortcut(Key.Key_B, p.toggleBlack),
    ]

    prefs.restore_geometry(window)
    if theme.current() != p.baseTheme():
        apply_theme(window, p.baseTheme())
    return p


def prepare_render(window: QtWidgets.QMainWindow, theme_name: str = "light", colour_blind: bool = False,
                   presenter: bool = False) -> None:
    """For ``rnnviz render``: the given theme and, optionally, presenter mode at the window's
    size (a headless screen has no useful full-screen size). Call after ``window.resize``."""
    p = getattr(window, "presenter", None) or install(window)
    p._setBase(theme.make(theme_name, colour_blind))
    if presenter:
        p.enter(fullscreen=False)
