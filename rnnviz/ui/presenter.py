"""Presenting to a class: presenter mode, themes, clicker keys and the shortcut overlay.

* Presenter mode (F11, View ▸ Presenter mode; Esc or F11 leaves): full screen, every font
  1.5× larger, a big "t = 12 / 30" in the top-right corner, the side controls, menu bar
  and status bar hidden (the transport bar, the warning banner and all views stay).
* Themes (View ▸ Theme): the light projector theme or a dark one, each optionally with
  colour-blind-safe colour maps (View ▸ Colour-blind-safe colours). The chosen theme goes to
  ``MainWindow.setTheme``, which hands it to every registered panel.
* Clicker keys: PageDown / PageUp step forward and back, whatever control has the focus
  (:class:`rnnviz.ui.actions.FocusKeys`); B blacks the screen out. Lessons change without
  leaving presenter mode: L pops the Lessons menu up over the window, Ctrl+PageDown / PageUp
  open the next / previous one.
* ? or F1 lays every shortcut over the window in large type; any key or click removes it.

The main window creates one :class:`Presenter` (``window.presenter``); its keys and menu
entries are declared in :mod:`rnnviz.ui.actions`. It reads the theme from the preferences
(:mod:`rnnviz.ui.prefs`) and saves it and the window geometry when the window closes.
"""

from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from . import actions, prefs, theme

#: Presenter mode multiplies every font by this.
PRESENTER_SCALE = 1.5
#: The presenter hint disappears after this many milliseconds.
HINT_MS = 8000
#: Presenter mode on a window less tall than this shows one panel per column, as tabs.
COMPACT_BELOW = 900
HINT_TEXT = "PageDown/→ next · PageUp/← back · Space play · L lessons · ? help"

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


def apply_theme(window, look: theme.Theme) -> None:
    """Make ``look`` the theme of ``window`` (a MainWindow) and of the application."""
    window.setTheme(look)


def apply_application_look(look: theme.Theme) -> None:
    """The Qt side of a theme: the application's palette, style and font."""
    app = QtWidgets.QApplication.instance()
    if not _ORIGINAL:
        _ORIGINAL.update(palette=QtGui.QPalette(app.palette()), font=QtGui.QFont(app.font()),
                         style=app.style().name())
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
        self.setProperty(actions.OWNS_KEYS, True)  # even the keys that act whatever has the focus
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
        self._look = theme.LIGHT

    def setShortcuts(self, rows: list[tuple[str, str]]) -> None:
        self._rows = list(rows)
        self._render()

    def shortcuts(self) -> list[tuple[str, str]]:
        return list(self._rows)

    def text(self) -> str:
        """Plain text of the list: one "key — what it does" line each."""
        return "\n".join(f"{k} — {v}" for k, v in self._rows)

    def _render(self) -> None:
        pt = max(self._look.font_pt + 7, 18)
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

    def setTheme(self, look: theme.Theme) -> None:
        self._look = look
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
    MAX_SHARE = 0.3  # of the window's width, at most
    MIN_PT = 24

    def __init__(self, window):
        super().__init__(window)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.hide()
        self.setTheme(theme.LIGHT)

    def setTheme(self, t: theme.Theme) -> None:
        self._pt = max(t.title_pt * 2, 30)
        self.setFont(theme.font(self._pt, bold=True))
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
        # as large as the screen allows: at most MAX_SHARE of the window's width (a 1024-pixel
        # projector has no room for the transport bar and a wider counter)
        pt = getattr(self, "_pt", 30)
        while True:
            fm = QtGui.QFontMetrics(theme.font(pt, bold=True))
            width = fm.horizontalAdvance(f"t = {T} / {T}") + 40
            if width <= self.MAX_SHARE * w.width() or pt <= self.MIN_PT:
                break
            pt -= 2
        if self.font().pointSize() != pt:
            self.setFont(theme.font(pt, bold=True))
        height = fm.height() + 10
        right, bottom = w.width() - self.MARGIN, w.height() - self.MARGIN
        transport = w.panels.get("transport")
        readout = getattr(transport, "stepLabel", None)
        # the bar makes room for the counter over its readout while the counter is shown (the
        # window's resizes place it in normal mode too: there it must not take the bar's room)
        if readout is not None and transport.isVisible() and not self.isHidden():
            transport.makeRoomForOverlay(width, height)
            left = readout.mapTo(w, QtCore.QPoint(0, 0)).x() - 2  # within the bar's spacing
            top = transport.mapTo(w, QtCore.QPoint(0, 0)).y()
            width = max(width, right - left)
            height = max(height, bottom - top)
        self.setGeometry(right - width, bottom - height, width, height)


def hint_layout(room: QtCore.QSize, top_pt: int, min_pt: int) -> tuple[str, int]:
    """The hint's text and point size: the largest font (top_pt down to min_pt) at which its keys
    fit ``room`` on two lines, or else on three; a line breaks only between two keys ("PageUp/←"
    and its "back" are never parted). Below min_pt, two lines at min_pt (the label then wraps)."""
    parts = HINT_TEXT.split(" · ")
    half = len(parts) // 2  # the stepping keys, then the rest
    two = " · ".join(parts[:half]) + "\n" + " · ".join(parts[half:])
    three = "\n".join((" · ".join(parts[:1]), " · ".join(parts[1:half]), " · ".join(parts[half:])))
    for pt in range(top_pt, min_pt - 1, -1):
        fm = QtGui.QFontMetrics(theme.font(pt, bold=True))
        for text in (two, three):
            need = fm.boundingRect(QtCore.QRect(0, 0, 10_000, 10_000), 0, text)
            if need.width() <= room.width() and need.height() <= room.height():
                return text, pt
    return two, min_pt


class HintOverlay(QtWidgets.QLabel):
    """The presenter-only hint, shown for a few seconds after entering presenter mode.

    It lies exactly over the big step counter (:class:`StepOverlay`), in the room the transport
    bar keeps for it, so it covers no plot, no axis and no control; the counter shows again
    when the hint goes (after HINT_MS, or at the first step: then the class needs the step).
    The keys are written on two lines (or three) in the largest font that fits that box, each
    line broken only between two keys (:func:`hint_layout`).
    """

    MIN_PT = 8

    def __init__(self, window, counter: StepOverlay | None = None):
        super().__init__(window)
        self._counter = counter
        self.setText(HINT_TEXT)
        self.setWordWrap(True)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self._look = theme.LIGHT
        self.hide()
        self.setTheme(theme.LIGHT)

    def setTheme(self, look: theme.Theme) -> None:
        self._look = look
        self.setFont(theme.font(look.font_pt, bold=True))
        self.setStyleSheet("QLabel { color: #FFFFFF; background: rgb(20, 22, 26); border: 3px solid #E69F00;"
                           " border-radius: 10px; padding: 2px 8px; }")
        self.place()

    def showFor(self, ms: int = HINT_MS) -> None:
        self.place()
        self.show()
        self.raise_()
        self._timer.start(ms)

    def place(self) -> None:
        """Over the step counter's box (else the bottom-right corner), laid out by
        :func:`hint_layout`."""
        w = self.parentWidget()
        counter = self._counter
        if counter is not None:
            counter.place()
            box = counter.geometry()
            # a screen narrower than the bar needs: the counter spreads over the bar's right
            # end; the hint keeps to the part of its box right of the bar's controls
            transport = w.panels.get("transport") if hasattr(w, "panels") else None
            if transport is not None and transport.isVisible():
                kinds = (QtWidgets.QAbstractButton, QtWidgets.QAbstractSlider, QtWidgets.QAbstractSpinBox)
                for x in transport.findChildren(QtWidgets.QWidget):
                    if isinstance(x, kinds) and x.isVisible():
                        r = QtCore.QRect(x.mapTo(w, QtCore.QPoint(0, 0)), x.size())
                        if r.intersects(box):
                            box.setLeft(min(r.right() + 4, box.right()))
        else:
            box = QtCore.QRect(w.width() - 404, w.height() - 64, 400, 60)
        room = box.adjusted(0, 0, -2 * 8 - 6, -2 * 2 - 6)  # less the padding and the border
        text, pt = hint_layout(room.size(), max(self._look.font_pt, 11), self.MIN_PT)
        if self.text() != text:
            self.setText(text)
        if self.font().pointSize() != pt:
            self.setFont(theme.font(pt, bold=True))
        self.setGeometry(box)


# ---------------------------------------------------------------- presenter


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
        self.hint = HintOverlay(window, self.stepOverlay)
        self.help = HelpOverlay(window)
        self.black = BlackScreen(window)
        c = window.controller
        c.stepChanged.connect(self._updateStep)
        c.stepChanged.connect(lambda *_: self.hint.hide())  # the first step: the counter, not the keys
        c.settingsChanged.connect(self._updateStep)
        c.resultChanged.connect(self._updateStep)
        self._updateStep()
        window.installEventFilter(self)
        self._modesFollowed = False  # the window makes its modes after its presenter

    def _onMode(self, *_) -> None:
        """The step counter and the stepping keys' hint belong to the Explore mode: in the
        Train mode they would only cover its plots."""
        if not self._active:
            return
        modes = getattr(self.window, "modes", None)
        explore = modes is None or modes.currentIndex() == 0
        self.stepOverlay.setVisible(explore)
        if explore:
            self.stepOverlay.place()
        else:
            self.hint.hide()

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
        focus = QtWidgets.QApplication.focusWidget()
        hideable = [w.panelContainer(s.id) for s in w.panelSpecs.values() if s.presenter_hide]
        hideable += [w.menuBar(), w.statusBar()]  # every key still works: the actions sit on the window
        hidden = [x for x in dict.fromkeys(hideable) if not x.isHidden()]
        self._restore = (w.saveGeometry(), w.windowState(), hidden, fullscreen)
        self._splitterSizes = [sp.sizes() for sp in w.splitters]
        self._active = True
        for x in hidden:
            x.hide()
        if not self._modesFollowed:
            w.modes.currentChanged.connect(self._onMode)
            self._modesFollowed = True
        w.modes.setPresenting(True)  # the menu bar is hidden: the Explore | Train switch stays in view
        # that bar takes a row: the lesson's own title bar ("Lesson", ×) gives its row back
        w.lessonPanel.setTitleBarWidget(QtWidgets.QWidget(w.lessonPanel))
        w.setTheme(self._base.scaled(PRESENTER_SCALE))
        if fullscreen:
            w.showFullScreen()
        self._fitColumns()
        self._shareColumns()
        QtCore.QTimer.singleShot(0, self, self._shareColumns)  # again once full screen has its size
        self._updateStep()
        self.stepOverlay.place()
        self.hint.showFor(HINT_MS)
        self._onMode()
        self._stack()
        if focus is not None and QtWidgets.QApplication.focusWidget() is not focus:
            # the focused control was hidden or moved (the Explore | Train switch leaves the
            # menu bar) and Qt passed the keyboard down the chain, to the speed box, which kept
            # ←/→ for its cursor: the views take it, so every stepping key steps
            w.focusViews()
        self.activeChanged.emit(True)

    def leave(self, restore_window: bool = True) -> None:
        """Back to the normal window; ``restore_window=False`` only restores fonts, theme and
        widgets (the window is closing)."""
        if not self._active:
            return
        w = self.window
        self._active = False
        self.stepOverlay.hide()
        transport = self.window.panels.get("transport")
        if hasattr(transport, "makeRoomForOverlay"):
            transport.makeRoomForOverlay(0)
        self.hint.hide()
        geometry, state, hidden, fullscreen = self._restore
        self._restore = None
        w.setCompact(False)
        w.modes.setPresenting(False)
        blank = w.lessonPanel.titleBarWidget()
        w.lessonPanel.setTitleBarWidget(None)
        if blank is not None:
            blank.deleteLater()
        w.setTheme(self._base)
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

    def _fitColumns(self) -> None:
        """On a screen less than COMPACT_BELOW pixels tall, one panel per column (tabs): four
        panels at 1.5× type do not fit a 768-pixel projector."""
        w = self.window
        compact = self._active and w.height() < COMPACT_BELOW
        if (tuple(w.columns) if compact else ()) != w.compactSlots():  # both columns, or none
            w.setCompact(compact)
            if not compact:
                self._shareColumns()

    def _shareColumns(self) -> None:
        """Give every panel with a ``presenter_share`` that share of its column (the four gate
        rows with 1.5× axis numbers need more height than the two state heatmaps)."""
        if not self._active or self.window.isCompact():
            return
        w = self.window
        for spec in w.panelSpecs.values():
            column, panel = w.columnOf(spec.id), w.panelContainer(spec.id)
            if spec.presenter_share is None or column is None or w.panels[spec.id].isShowingMessage():
                continue
            sizes = column.sizes()
            total, k = sum(sizes), column.indexOf(panel)
            if total <= 0 or k < 0 or column.count() < 2:
                continue
            mine = round(total * spec.presenter_share)
            rest = sum(s for i, s in enumerate(sizes) if i != k) or 1
            new = [mine if i == k else round((total - mine) * s / rest) for i, s in enumerate(sizes)]
            column.setSizes(new)

    def _restoreSplitters(self, sizes) -> None:
        if self._active:
            return
        for sp, s in zip(self.window.splitters, sizes):
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
        if base == self._base and self.window.theme() == self.currentTheme(base):
            return
        self._base = base
        self.window.setTheme(self.currentTheme(base))
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
        """Counter and hint (over the counter) over the views; the shortcut list and the black
        screen over all."""
        for o in (self.stepOverlay, self.hint, self.help, self.black):
            o.raise_()

    def shortcuts(self) -> list[tuple[str, str]]:
        """Every key of the window, as the actions table declares them: (key, what it does)."""
        return actions.shortcut_rows()

    def setOverlayTheme(self, look: theme.Theme) -> None:
        for overlay in (self.stepOverlay, self.hint, self.help):
            overlay.setTheme(look)

    # the menu entries of presenter mode and themes (declared in rnnviz.ui.actions)
    presenterAction = property(lambda self: self.window.action("presenter.toggle"))
    colourBlindAction = property(lambda self: self.window.action("theme.colourBlind"))
    helpAction = property(lambda self: self.window.action("help.overlay"))
    themeActions = property(lambda self: {n: self.window.action(f"theme.{n}") for n in ("light", "dark")})

    def _updateStep(self, *_) -> None:
        c = self.window.controller
        T = c.settings.T
        self.stepOverlay.setStep(min(max(c.step, 0), max(T - 1, 0)) + 1, T)

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.window:
            kind = ev.type()
            if kind == QtCore.QEvent.Type.Resize:
                self._fitColumns()
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


def prepare_render(window: QtWidgets.QMainWindow, theme_name: str = "light", colour_blind: bool = False,
                   presenter: bool = False) -> None:
    """For ``rnnviz render``: the given theme and, optionally, presenter mode at the window's
    size (a headless screen has no useful full-screen size). Call after ``window.resize``."""
    p = window.presenter
    p._setBase(theme.make(theme_name, colour_blind))
    if presenter:
        p.enter(fullscreen=False)
