"""The main window: lays out the registered panels around one controller; owns its parts, keys,
menus and status."""

from __future__ import annotations

import os

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from shiboken6 import isValid as shiboken_valid

from ..core.model import CELL_CHOICES
from ..engine import InputError
from . import actions, prefs, theme
from .caching import fill_backgrounds
from .controller import Controller
from .panels import Panel, PanelSpec, panel_specs
from .steady import SteadySlot

DEFAULT_SIZE = (1600, 1000)


def weight_filter() -> str:
    """The open dialog's filter: every suffix a registered weights format reads."""
    from ..io.weights import READ_EXTENSIONS

    globs = " ".join(f"*{s}" for s in READ_EXTENSIONS if s.count(".") == 1)  # *.h5 covers *.weights.h5
    return f"Weights ({globs});;All files (*)"


def export_filters() -> list[tuple[str, str]]:
    """(suffix, filter) for every format that writes weights, safetensors first."""
    from ..io.weights import WRITE_EXTENSIONS

    order = sorted(WRITE_EXTENSIONS, key=lambda s: s != ".safetensors")
    return [(s, f"{s[1:]} (*{s})") for s in order]


class WarningBanner(QtWidgets.QLabel):
    """A strip for overflow and similar warnings, laid over the top edge of the views.

    It floats over the top edge of the views (:meth:`follow`) instead of taking a row of the
    layout, so nothing moves when it appears: a slider dragged past the overflow point stays
    under the pointer and the plots keep their size. It lies just under the views' tab bars and
    covers their titles while shown, never the side controls, a tab bar or the transport bar;
    its × hides it until the message changes.
    """

    MARGIN = 4

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self._targets: tuple = ()
        self._dismissed = ""  # the text the × hid
        self.closeButton = QtWidgets.QToolButton(self)
        self.closeButton.setText("×")
        self.closeButton.setAutoRaise(True)
        self.closeButton.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.closeButton.setToolTip("Hide this message (it returns when the message changes)")
        self.closeButton.clicked.connect(self.dismiss)
        self.setTheme(theme.LIGHT)
        self.hide()

    def setTheme(self, look: theme.Theme) -> None:
        self.setFont(look.font(look.title_pt, bold=True))
        side = QtGui.QFontMetrics(self.font()).height() + 12  # the × in a square as tall as a line
        self.closeButton.setFont(self.font())
        self.closeButton.setFixedSize(side, side)
        self.closeButton.setStyleSheet(f"QToolButton {{ color: {look.warning_fg}; border: none; }}")
        self.setStyleSheet(
            f"QLabel {{ background: {look.warning_bg}; color: {look.warning_fg};"
            f" border: 2px solid {look.warning_fg}; border-radius: 4px; padding: 6px {side + 4}px 6px 10px; }}"
        )
        self.place()

    def follow(self, *targets: QtWidgets.QWidget) -> None:
        """Lie over the top edge of the first of ``targets`` that is shown (the views; else
        the Train page), now and whenever one moves, changes size or is shown."""
        self._targets = targets
        for target in targets:
            target.installEventFilter(self)
        self.place()

    def eventFilter(self, obj, ev) -> bool:
        if obj in self._targets and ev.type() in (QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.Move,
                                                  QtCore.QEvent.Type.Show, QtCore.QEvent.Type.Hide):
            self.place()
        return False

    def place(self) -> None:
        target = next((t for t in self._targets if t.isVisibleTo(self.parentWidget())), None)
        if target is None or self.parentWidget() is None:
            return
        parent = self.parentWidget()
        box = QtCore.QRect(target.mapTo(parent, QtCore.QPoint(0, 0)), target.size())
        box = box.adjusted(self.MARGIN, self.MARGIN, -self.MARGIN, -self.MARGIN)
        top = box.top()
        for bar in target.findChildren(QtWidgets.QTabBar):  # below the views' tabs: they stay usable
            if bar.isVisibleTo(parent) and bar.height() > 0:
                r = QtCore.QRect(bar.mapTo(parent, QtCore.QPoint(0, 0)), bar.size())
                if r.top() <= box.top() + 2 * self.MARGIN and r.intersects(box):
                    top = max(top, r.bottom() + 1)
        box.setTop(top)
        height = min(self.heightForWidth(box.width()), box.height())
        self.setGeometry(box.left(), box.top(), box.width(), max(height, 0))
        self.closeButton.move(self.width() - self.closeButton.width() - 2, 2)
        self.raise_()

    def dismiss(self) -> None:
        self._dismissed = self.text()
        self.hide()

    def showWarnings(self, messages: list[str], notes: list[str] = ()) -> None:
        if not messages and not notes:
            self.hide()
            self.clear()
            self._dismissed = ""
            return
        parts = ["⚠  " + "   ·   ".join(messages)
                 + " — the values exploded: move the sliders back (recurrent scale) to recover."] if messages else []
        if notes:  # what loading the file assumed, and masked steps (core.model.Result.notes)
            parts.append("ℹ  " + "   ·   ".join(notes))
        self.setText("\n".join(parts))
        if self.text() == self._dismissed:
            return
        self.place()
        self.show()


#: The view columns' shares of the width (left: state and gates; right: fading and equations).
COLUMN_STRETCH = {"left": 11, "right": 9}

#: A normal window shorter than this (768-pixel screens) shows the left column's panels — the
#: hidden state, the gates — as tabs, each with the whole column's height.
COMPACT_LEFT_BELOW = 820

#: A window narrower than this (a 1024- or 1280-pixel projector) folds the side controls into a
#: strip at its left edge, so the views get the width; the strip (or Ctrl+B) unfolds them.
FOLD_CONTROLS_BELOW = 1300


class ControlsStrip(QtWidgets.QAbstractButton):
    """The side controls' fold: a narrow full-height button reading "Controls" upwards, its
    arrow pointing where a click moves the controls (out to the views, or back)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._folded = True
        self.setAccessibleName("Controls")
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # the keys stay with the views
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Expanding)

    def label(self) -> str:
        """What it reads, upwards (not ``text()``: that is a horizontal button's)."""
        return "Controls  " + ("▾" if self._folded else "▴")  # written upwards: ▾ points right

    def setFolded(self, folded: bool) -> None:
        self._folded = folded
        self.setToolTip(("Show" if folded else "Fold") + " the side controls (Ctrl+B; View ▸ Side controls)")
        self.update()

    def sizeHint(self) -> QtCore.QSize:
        fm = self.fontMetrics()
        return QtCore.QSize(fm.height() + 10, fm.horizontalAdvance(self.label()) + 24)

    def minimumSizeHint(self) -> QtCore.QSize:
        return self.sizeHint()

    def paintEvent(self, ev) -> None:
        p = QtGui.QPainter(self)
        pal = self.palette()
        role = QtGui.QPalette.ColorRole
        p.fillRect(self.rect(), pal.color(role.Midlight if self.underMouse() or self.isDown() else role.Button))
        p.setPen(pal.color(role.Mid))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.setPen(pal.color(role.ButtonText))
        p.translate(0, self.height())
        p.rotate(-90)  # bottom to top, the letters' feet towards the views
        box = QtCore.QRect(0, 0, self.height() - 12, self.width())
        p.drawText(box, QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignRight, self.label())
        p.end()


def _first_size() -> tuple[int, int]:
    """The default size, shrunk to the screen's available area on a real display (the
    offscreen platform's pretend 800×600 screen is ignored: renders keep their size)."""
    w, h = DEFAULT_SIZE
    screen = QtGui.QGuiApplication.primaryScreen()
    if screen is None or QtGui.QGuiApplication.platformName() == "offscreen":
        return w, h
    area = screen.availableGeometry()
    return min(w, area.width()), min(h, area.height())


class _CompactTabs(QtWidgets.QProxyStyle):
    """Tabs a third as tall in padding: a tab group's bar must not push a lesson's window past
    a 1024×768 projector (issue 8's budget had no room for a bar)."""

    def pixelMetric(self, metric, option=None, widget=None):
        value = super().pixelMetric(metric, option, widget)
        return max(2, value // 3) if metric == QtWidgets.QStyle.PixelMetric.PM_TabBarTabVSpace else value


class _OneFramePerPass(QtCore.QObject):
    """One painted frame per event-loop pass, however many plot scenes changed.

    A QGraphicsScene's queued ``_q_processDirtyItems`` ends by dispatching the window's pending
    UpdateRequest on the spot, so each changed scene (every panel has its own) painted and
    flushed a whole frame of its own: 3–4 per slider change, 5–7 in Compare, each a full
    window flush on X11. This filter lets the scene's call run, swallows the UpdateRequest sent
    from inside it and posts one instead, which the event loop delivers after the other scenes'
    calls (measured with benchmarks/realwindow.py: 3.4 → 1.2 frames per change).
    """

    def __init__(self, window: QtWidgets.QWidget):
        super().__init__(window)
        self.window = window
        self.depth = 0
        window.installEventFilter(self)
        for view in window.findChildren(QtWidgets.QGraphicsView):
            if view.scene() is not None:
                view.scene().installEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:
        et = ev.type()
        if et == QtCore.QEvent.Type.MetaCall and isinstance(obj, QtWidgets.QGraphicsScene):
            self.depth += 1
            try:
                return obj.event(ev)
            finally:
                self.depth -= 1
        if et == QtCore.QEvent.Type.UpdateRequest and obj is self.window and self.depth:
            # The swallowed request may be one posted here before (a later scene's call
            # dispatches it too): post again, so exactly one stays pending.
            QtCore.QCoreApplication.postEvent(self.window, QtCore.QEvent(QtCore.QEvent.Type.UpdateRequest),
                                              QtCore.Qt.EventPriority.NormalEventPriority.value)
            return True
        return False


class _InputAfterFrame(QtCore.QObject):
    """A dragged slider's next move waits for the frame of its last change.

    A drag sends pointer moves faster than a change is computed and painted. Qt hands the GUI
    thread the next move as soon as the slider's handler returns, sometimes before the frame
    it asked for is painted: that change then waited for a second run before anyone saw it
    (the slowest 5 % of a drag's changes, ~20 ms in a real window against ~10). While a frame
    is pending, a slider's moves are held and delivered after it, only the latest (as Qt's
    own motion compression would), with a button release kept in order behind them. No
    event loop runs here: the held events are sent from the controller's after-frame hook.
    """

    _TYPES = (QtCore.QEvent.Type.MouseMove, QtCore.QEvent.Type.MouseButtonRelease)

    def __init__(self, window: QtWidgets.QWidget, controller):
        super().__init__(window)
        self.window, self.controller = window, controller
        self._held: list = []  # (slider, event copy), in order
        self._scheduled = False
        self._sending = False
        # on the sliders themselves: an application-wide Python filter saw every event of the
        # app (theme switches, which send thousands, took 60 % longer)
        self._watched = set()
        self._shape = None
        self._watch()
        controller.settingsChanged.connect(self._onSettings)

    def _onSettings(self, s) -> None:
        shape = (s.cell, s.hidden_size, s.input_size, s.num_layers if hasattr(s, "num_layers") else None)
        if shape != self._shape:  # per-entry sliders are made for each cell shape
            self._shape = shape
            self._watch()

    def _watch(self) -> None:
        for slider in self.window.findChildren(QtWidgets.QAbstractSlider):
            if id(slider) not in self._watched:
                self._watched.add(id(slider))
                slider.installEventFilter(self)
                slider.destroyed.connect(lambda _o=None, k=id(slider): self._watched.discard(k))

    def eventFilter(self, obj, ev) -> bool:
        if (self._sending or ev.type() not in self._TYPES or not isinstance(obj, QtWidgets.QAbstractSlider)
                or not (self._held or self.controller.framePending) or not self.window.isVisible()):
            return False
        copy = ev.clone()
        last = self._held[-1] if self._held else None
        if (last is not None and last[0] is obj and ev.type() == QtCore.QEvent.Type.MouseMove
                and last[1].type() == QtCore.QEvent.Type.MouseMove):
            self._held[-1] = (obj, copy)  # only the latest position matters
        else:
            self._held.append((obj, copy))
        self._schedule()
        return True

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self.controller.afterFrame(self._release)

    def _release(self) -> None:
        if not shiboken_valid(self):
            return
        self._scheduled = False
        while self._held and not self.controller.framePending:
            obj, ev = self._held.pop(0)
            if shiboken_valid(obj):
                self._sending = True
                try:
                    QtWidgets.QApplication.sendEvent(obj, ev)
                finally:
                    self._sending = False
        if self._held:
            self._schedule()  # a delivered move asked for a frame: the rest follow it


def _tab_title(spec: PanelSpec) -> str:
    """A panel's name on its tab: "Gates panel" → "Gates"."""
    return spec.title.removesuffix(" panel")


class _TabTitles(QtCore.QObject):
    """The panels' whole names on a tab bar while they fit it; else their short names
    (:attr:`PanelSpec.short_title`), the largest saving first, with the whole name in the
    tab's tooltip. Qt elides only what still does not fit (presenter mode at 1024×768 showed
    "Fading …", "State s…", "Cell diag…", "Equat…")."""

    _TYPES = (QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.FontChange, QtCore.QEvent.Type.Show)

    def __init__(self, tabs: QtWidgets.QTabWidget, spec_of):
        super().__init__(tabs)
        self.tabs, self._specOf = tabs, spec_of
        tabs.installEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() in self._TYPES:
            self.fit()
        return False

    fitted = -1  # the number of tabs at the last fit

    def fit(self) -> None:
        tabs, bar = self.tabs, self.tabs.tabBar()
        self.fitted = tabs.count()
        rows = []  # (index, whole name, short name)
        for i in range(tabs.count()):
            spec = self._specOf(tabs.widget(i))
            if spec is not None:
                full = _tab_title(spec)
                rows.append((i, full, spec.short_title or full))
        for i, full, _short in rows:
            if bar.tabText(i) != full:
                bar.setTabText(i, full)
            bar.setTabToolTip(i, "")
        need = sum(bar.tabSizeHint(i).width() for i in range(bar.count()) if bar.isTabVisible(i))
        fm = bar.fontMetrics()
        saving = {i: fm.horizontalAdvance(full) - fm.horizontalAdvance(short)
                  for i, full, short in rows if short != full and bar.isTabVisible(i)}
        shorts = {i: (full, short) for i, full, short in rows}
        for i in sorted(saving, key=lambda k: -saving[k]):
            if need <= tabs.width():
                break
            full, short = shorts[i]
            bar.setTabText(i, short)
            bar.setTabToolTip(i, full)
            need -= saving[i]


class _FittingLabel(QtWidgets.QLabel):
    """A one-line label that shows the longest of its forms that fits its width (the whole
    line in its tooltip when a shorter one is shown)."""

    _forms: list = []

    def setForms(self, forms: list) -> None:
        self._forms = list(forms)
        self._fit()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._fit()

    def changeEvent(self, ev) -> None:
        super().changeEvent(ev)
        if ev.type() == QtCore.QEvent.Type.FontChange:
            self._fit()

    def minimumSizeHint(self) -> QtCore.QSize:
        hint = super().minimumSizeHint()  # never asks the window for the longest form's width
        return QtCore.QSize(0, hint.height())

    def _fit(self) -> None:
        if not self._forms:
            return
        fm, room = self.fontMetrics(), self.contentsRect().width()
        text = next((t for t in self._forms if fm.horizontalAdvance(t) <= room), self._forms[-1])
        if text != self.text():
            self.setText(text)
        self.setToolTip(self._forms[0] if text != self._forms[0] else "")


class MainWindow(QtWidgets.QMainWindow):
    """The window: the registered panels laid out around one controller, and the parts it owns.

    Parts, each created here: ``panels`` (id → widget, from :mod:`rnnviz.ui.panels`),
    ``presenter`` (presenter mode, themes, overlays), ``session`` (session files),
    ``exporter`` (File ▸ Export), ``lessonPanel`` and ``startPanel``, and ``actions`` (menus
    and shortcuts from :mod:`rnnviz.ui.actions`, as ``windowActions``). The current :class:`~rnnviz.ui.theme.Theme`
    is :meth:`theme`; :meth:`setTheme` hands a new one to every part.
    """

    #: The side controls were folded (False) or unfolded (True).
    controlsShownChanged = QtCore.Signal(bool)

    def __init__(self, controller: Controller | None = None, parent=None):
        super().__init__(parent)
        from .export import Exporter
        from .lessons import LessonPanel, StartPanel
        from .presenter import Presenter
        from .session import SessionManager

        self._theme = theme.LIGHT
        theme.configure_pyqtgraph(self._theme)
        self.controller = controller or Controller()
        self.setWindowTitle("rnnviz — watch recurrent networks think")
        self.resize(*_first_size())
        self.setAcceptDrops(True)
        c = self.controller

        self.panels: dict[str, QtWidgets.QWidget] = {}
        self.panelSpecs: dict[str, PanelSpec] = {}
        for spec in panel_specs():
            widget = spec.factory(c)
            if not isinstance(widget, Panel):
                raise TypeError(f"panel {spec.id!r}: {type(widget).__name__} does not derive from Panel")
            self.panels[spec.id] = widget
            self.panelSpecs[spec.id] = spec
        self.banner = WarningBanner()
        self._buildLayout()
        c.frameChanged.connect(self._updateTabs)
        self._updateTabs()

        self._status = _FittingLabel()
        self._status.setFont(self._theme.font())
        self.statusBar().addWidget(SteadySlot(self._status), 1)  # new ρ at every tick
        self.statusBar().setSizeGripEnabled(False)

        # the parts; the order of their event filters matters: the session may refuse a close
        # before the presenter saves the preferences
        self.presenter = Presenter(self)
        self.presenter.activeChanged.connect(lambda on: on or self._fitNormalColumns())
        self.exporter = Exporter(self)
        self.session = SessionManager(self)
        self.lessonPanel = LessonPanel(self.session, self)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.TopDockWidgetArea, self.lessonPanel)
        self.startPanel = StartPanel(self)
        self.windowActions = actions.build(self)
        self.focusKeys = actions.FocusKeys(self)  # the clicker's keys step whatever has the focus
        self.session.lessonChanged.connect(self.startPanel.onOpened)
        self.session.pathChanged.connect(self.startPanel.onOpened)
        c.loadedChanged.connect(self.startPanel.onOpened)

        c.resultChanged.connect(self._onResult)
        c.errorOccurred.connect(lambda msg: self.showError("Computation failed", msg))
        c.loadedChanged.connect(self._updateTitle)
        c.settingsChanged.connect(lambda _s: self._updateTitle())
        if c.result is not None:
            self._onResult(c.result)
        self._updateTitle()

        self._oneFrame = _OneFramePerPass(self)
        self._inputAfterFrame = _InputAfterFrame(self, c)
        fill_backgrounds(self)
        c.attachWindow()  # work "after the frame" now waits for this window's next frame
        prefs.restore_geometry(self)
        if self.lessonPanel.lesson is None:
            self.lessonPanel.hide()  # a restored window state would show the last lesson's dock empty
        self.setTheme(self.presenter.currentTheme())
        if QtGui.QGuiApplication.platformName() != "offscreen" and c.loaded is None:
            self.startPanel.show()

    # ------------------------------------------------------------------ layout
    def _buildLayout(self) -> None:
        """The registered panels in their slots: side (scrolled), two view columns, bottom."""
        def ids(slot):
            return [s.id for s in panel_specs(slot)]

        side = QtWidgets.QWidget()
        side_lay = QtWidgets.QVBoxLayout(side)
        side_lay.setContentsMargins(0, 0, 0, 0)
        for pid in ids("side"):
            side_lay.addWidget(self.panels[pid])
        side_lay.addStretch(0)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(side if len(ids("side")) != 1 else self.panels[ids("side")[0]])
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = scroll.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)
        scroll.setMinimumWidth(scroll.widget().minimumSizeHint().width() + bar + 2 * scroll.frameWidth())
        self.controlsScroll = scroll
        self.controlsStrip = ControlsStrip()
        self.controlsStrip.setFolded(False)
        self.controlsStrip.clicked.connect(lambda: self.setControlsShown(not self.controlsShown()))
        self.controlsStrip.hide()  # shown while the controls are folded, or the window is narrow
        self.sideColumn = QtWidgets.QWidget()  # the controls, or their folded strip
        side_col = QtWidgets.QHBoxLayout(self.sideColumn)
        side_col.setContentsMargins(0, 0, 0, 0)
        side_col.setSpacing(0)
        side_col.addWidget(self.controlsStrip)
        side_col.addWidget(scroll)
        self._narrow: bool | None = None  # below FOLD_CONTROLS_BELOW at the last resize
        self._sideWidth = 0  # the unfolded controls' width, kept while they are folded

        views = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.viewsArea = views  # takes the keyboard back after an edit (focusViews)
        self.columns: dict[str, QtWidgets.QSplitter] = {}
        self.tabs: dict[str, QtWidgets.QTabWidget] = {}  # PanelSpec.tab → the tab widget
        self._compact: dict = {}  # slot → (its tab widget, the column's items) while compact
        self._front: str | None = None  # the panel last brought to the front (showPanel)
        for k, slot in enumerate(("left", "right")):
            col = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
            for spec in panel_specs(slot):
                if spec.tab is None:
                    col.addWidget(self.panels[spec.id])
                elif spec.tab in self.tabs:
                    self.tabs[spec.tab].addTab(self.panels[spec.id], _tab_title(spec))
                    continue
                else:
                    tabs = self.tabs[spec.tab] = QtWidgets.QTabWidget()
                    _TabTitles(tabs, self._specOfWidget)
                    tabs.setObjectName(f"tabs-{spec.tab}")
                    tabs.setDocumentMode(True)
                    tabs.tabBar().setAutoHide(True)  # a group of one shows no tab bar
                    # too many tabs for the column: shorten their titles, never scroll one away
                    tabs.setUsesScrollButtons(False)
                    tabs.setElideMode(QtCore.Qt.TextElideMode.ElideRight)
                    compact = _CompactTabs()
                    compact.setParent(tabs)
                    tabs.tabBar().setStyle(compact)
                    tabs.addTab(self.panels[spec.id], _tab_title(spec))
                    col.addWidget(tabs)
                col.setStretchFactor(col.count() - 1, spec.stretch)
            self.columns[slot] = col
            views.addWidget(col)
            views.setStretchFactor(k, COLUMN_STRETCH[slot])
        main = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        main.addWidget(self.sideColumn)
        main.addWidget(views)
        main.setStretchFactor(0, 0)
        main.setStretchFactor(1, 1)
        self.splitters = (main, views, *self.columns.values())
        for sp in self.splitters:
            sp.setChildrenCollapsible(False)

        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 0)
        lay.setSpacing(4)
        explore = QtWidgets.QWidget()  # the Explore mode's page; the Train mode's is beside it
        explore_lay = QtWidgets.QVBoxLayout(explore)
        explore_lay.setContentsMargins(0, 0, 0, 0)
        explore_lay.addWidget(main, 1)
        for pid in ids("bottom"):
            explore_lay.addWidget(self.panels[pid])
        from .training import build_modes

        self.modes = build_modes(self, explore)
        self.modes.currentChanged.connect(self._showStatus)
        lay.addWidget(self.modes, 1)
        self.banner.setParent(central)  # over the views' top edge, outside the layout: nothing jumps
        self.banner.follow(views, self.modes)
        self.setCentralWidget(central)

    # ------------------------------------------------------------------ side controls
    def controlsShown(self) -> bool:
        return not self.controlsScroll.isHidden()

    def setControlsShown(self, on: bool) -> None:
        """Unfold (True) or fold the side controls into their strip at the window's left edge."""
        if on == self.controlsShown():
            return
        main = self.splitters[0]
        if not on:
            self._sideWidth = main.sizes()[0]
        self.controlsScroll.setHidden(not on)
        self._placeStrip()
        # the column is as wide as the strip when folded; unfolded, as wide as it was
        strip = self.controlsStrip.sizeHint().width() if self.controlsStrip.isVisibleTo(self) else 0
        self.sideColumn.setMaximumWidth((1 << 24) - 1 if on else strip)  # QWIDGETSIZE_MAX
        total = sum(main.sizes())
        side = max(self._sideWidth, self.sideColumn.minimumSizeHint().width()) if on else strip
        if total > 0:
            main.setSizes([side, max(total - side, 0)])
        if not on and self.controlsScroll.isAncestorOf(QtWidgets.QApplication.focusWidget()):
            self.focusViews()
        self.controlsShownChanged.emit(on)

    def _presenting(self) -> bool:
        presenter = getattr(self, "presenter", None)  # None while the window is being built
        return presenter is not None and presenter.isActive()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._fitNormalColumns()
        if self._presenting():
            return  # presenter mode hides the whole side column; its fold is the normal window's
        narrow = self.width() < FOLD_CONTROLS_BELOW
        if narrow != self._narrow:  # only when the width crosses the line: a choice made stays
            self._narrow = narrow
            self.setControlsShown(not narrow)
            self._placeStrip()

    def _placeStrip(self) -> None:
        shown = self.controlsShown()
        self.controlsStrip.setFolded(not shown)
        self.controlsStrip.setVisible(not shown or bool(self._narrow))

    # ------------------------------------------------------------------ compact columns
    def isCompact(self) -> bool:
        return bool(self._compact)

    def compactSlots(self) -> tuple[str, ...]:
        """The view columns shown as one tab widget each (:meth:`setCompact`)."""
        return tuple(self._compact)

    def setCompact(self, on: bool, slots: tuple[str, ...] = ("left", "right")) -> None:
        """Compact columns (a short screen): each view column of ``slots`` becomes one tab
        widget holding its panels — those of a tab group as tabs of their own — so the panel
        shown gets the whole column. Off: the panels go back to their places and sizes."""
        want = tuple(s for s in self.columns if s in slots) if on else ()
        if want == tuple(self._compact):
            return
        if self._compact:
            self._uncompact()
        for slot in want:
            col = self.columns[slot]
            sizes = col.sizes()
            items = [col.widget(i) for i in range(col.count())]  # panels and tab groups
            tabs = QtWidgets.QTabWidget()
            tabs.setObjectName(f"compact-{slot}")
            _TabTitles(tabs, self._specOfWidget)
            tabs.setDocumentMode(True)
            tabs.setUsesScrollButtons(False)
            tabs.setElideMode(QtCore.Qt.TextElideMode.ElideRight)
            tabs.setFont(self._theme.font(self._theme.font_pt))
            for spec in panel_specs(slot):
                tabs.addTab(self.panels[spec.id], _tab_title(spec))
            for item in items:
                if item in self.tabs.values():
                    item.hide()  # an emptied tab group stays in the column, hidden
            col.addWidget(tabs)
            self._compact[slot] = (tabs, items, sizes)
            front = self.panels.get(self._front)
            if front is not None and tabs.indexOf(front) >= 0:
                tabs.setCurrentWidget(front)
        self._updateTabs()

    def _uncompact(self) -> None:
        for slot, (tabs, items, sizes) in self._compact.items():
            col = self.columns[slot]
            for spec in panel_specs(slot):
                panel = self.panels[spec.id]
                if spec.tab is not None:
                    self.tabs[spec.tab].addTab(panel, _tab_title(spec))
                else:
                    col.insertWidget(items.index(panel), panel)
            for item in items:
                item.show()
            tabs.setParent(None)
            tabs.deleteLater()
            col.setSizes(sizes)
        self._compact = {}
        self._updateTabs()

    def _fitNormalColumns(self) -> None:
        """In the normal window (presenter mode has its own rule), a window less than
        COMPACT_LEFT_BELOW pixels tall shows the left column's panels as tabs: the state
        heatmaps and four gate rows do not both fit the views' height on a 768-pixel screen."""
        if not self._presenting():
            self.setCompact(self.height() < COMPACT_LEFT_BELOW, slots=("left",))

    def panelContainer(self, panel_id: str) -> QtWidgets.QWidget:
        """The widget that holds panel ``panel_id`` in the layout (the scroll area for the side
        column, the tab widget of a tabbed panel), which presenter mode hides for
        ``presenter_hide`` panels and sizes for ``presenter_share``."""
        spec = self.panelSpecs[panel_id]
        if spec.slot == "side":
            return self.sideColumn
        if spec.slot in self._compact:
            return self._compact[spec.slot][0]
        return self.tabs[spec.tab] if spec.tab is not None else self.panels[panel_id]

    def _updateTabs(self, *_) -> None:
        """Hide the tab of a panel that has nothing to show for this run (:meth:`Panel.isRelevant`:
        the reading view without text), unless :meth:`showPanel` asked for it."""
        front = self.panels.get(self._front)
        for tabs in [*self.tabs.values(), *(t for t, _i, _s in self._compact.values())]:
            changed = False
            for i in range(tabs.count()):
                w = tabs.widget(i)
                want = w is front or not isinstance(w, Panel) or w.isRelevant()
                if tabs.isTabVisible(i) != want:
                    tabs.setTabVisible(i, want)
                    changed = True
            titles = tabs.findChild(_TabTitles)
            if titles is not None and (changed or titles.fitted != tabs.count()):  # or tabs added
                titles.fit()

    def _specOfWidget(self, widget) -> PanelSpec | None:
        return next((self.panelSpecs[pid] for pid, w in self.panels.items() if w is widget), None)

    def showPanel(self, panel_id: str | None) -> None:
        """Bring panel ``panel_id`` to the front of its tab widget (a lesson, a menu, a test),
        now and whenever compact columns are made later (presenter mode on a small screen);
        None: each tab group's first panel."""
        if panel_id is None:
            self._front = None
            for tabs in [*self.tabs.values(), *(t for t, _i, _s in self._compact.values())]:
                tabs.setCurrentIndex(0)
            self._updateTabs()
            return
        spec = self.panelSpecs[panel_id]
        self.modes.setCurrentIndex(1 if spec.slot == "train" else 0)  # the Train mode's, or Explore's
        self._front = panel_id
        self._updateTabs()
        if spec.slot in self._compact:
            self._compact[spec.slot][0].setCurrentWidget(self.panels[panel_id])
        elif spec.tab is not None:
            self.tabs[spec.tab].setCurrentWidget(self.panels[panel_id])

    def focusViews(self) -> None:
        """Give the keyboard to the views (no control keeps it): the next key steps."""
        self.viewsArea.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def columnOf(self, panel_id: str) -> QtWidgets.QSplitter | None:
        return self.columns.get(self.panelSpecs[panel_id].slot)

    # the built-in panels by name (others: ``window.panels[id]``)
    controls = property(lambda self: self.panels["controls"])
    statePanel = property(lambda self: self.panels["statePanel"])
    gatePanel = property(lambda self: self.panels["gatePanel"])
    fadingPanel = property(lambda self: self.panels["fadingPanel"])
    equationPanel = property(lambda self: self.panels["equationPanel"])
    transport = property(lambda self: self.panels["transport"])

    # ------------------------------------------------------------------ actions and theme
    def action(self, action_id: str) -> QtGui.QAction:
        return self.windowActions[action_id]

    def menu(self, menu_id: str) -> QtWidgets.QMenu:
        return self.windowActions.menu(menu_id)

    def theme(self) -> theme.Theme:
        """The theme every part shows now (presenter mode: the scaled one)."""
        return self._theme

    def setTheme(self, look: theme.Theme) -> None:
        """Hand ``look`` to the application (palette, font), every registered panel and every
        part of the window; each rebuilds what it must."""
        from .presenter import apply_application_look

        apply_application_look(look)
        theme.configure_pyqtgraph(look)
        self._theme = look
        for panel in self.panels.values():
            if panel.look != look:
                panel.setTheme(look)
        for part in (self.banner, self.lessonPanel, self.startPanel, self.modes):
            part.setTheme(look)
        self.presenter.setOverlayTheme(look)
        self.focusKeys.setTheme(look)
        self._status.setFont(look.font())
        for tabs in [*self.tabs.values(), *(t for t, _i, _s in self._compact.values())]:
            tabs.setFont(look.font(look.font_pt))

    # ------------------------------------------------------------------ files
    def openWeightsDialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open weights", prefs.last_dir() or "", weight_filter())
        if path:
            prefs.set_last_dir(os.path.dirname(path))
            self.openWeights(path)

    def openInputDialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open input sequence", prefs.last_dir() or "", "Sequences (*.csv *.npy);;All files (*)")
        if path:
            prefs.set_last_dir(os.path.dirname(path))
            self.openInput(path)

    def openInput(self, path: str) -> bool:
        """Use a CSV/NPY file (one row per step, one column per feature) as the custom input.

        A bad file gets a dialog naming it and the problem; the session stays as it was.
        """
        from ..io.sequences import read_sequence
        from ..core.model import LIMITS

        from .session import open_guarded

        c = self.controller

        def load():
            xs = read_sequence(path, input_size=c.settings.input_size)
            if len(xs) > LIMITS["T"][1]:
                raise InputError(f"has {len(xs)} steps; at most {LIMITS['T'][1]} fit", path)
            c.update(signal="custom", custom=tuple(tuple(float(v) for v in row) for row in xs), T=len(xs))

        return open_guarded(self, "Cannot open input sequence", path, load)

    def exportWeightsDialog(self) -> None:
        if self.controller.settings.cell == "compare":
            self.showError("Export weights", "Compare mode runs three cells: choose one cell to export its weights.")
            return
        filters = export_filters()
        start = os.path.join(prefs.last_dir() or "", "weights" + filters[0][0])
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export weights (PyTorch names)", start, ";;".join(f for _, f in filters))
        if path:
            if not path.lower().endswith(tuple(s for s, _ in filters)):
                path += next((s for s, f in filters if f == chosen), filters[0][0])
            prefs.set_last_dir(os.path.dirname(path))
            self.exportWeights(path)

    def exportWeights(self, path: str) -> bool:
        """Write the active model, as every slider has made it, in PyTorch naming (atomically)."""
        import warnings

        from ..io.weights import save_weights

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                save_weights(self.controller.activeModel(), path)
            except (InputError, OSError) as err:
                self.showError("Cannot export weights", str(err))
                return False
        note = "; ".join(str(w.message) for w in caught if issubclass(w.category, UserWarning))
        self.statusBar().showMessage(f"Weights written to {os.path.basename(path)}" + (f" — {note}" if note else ""),
                                     10_000)
        return True

    def openWeights(self, path: str, **options) -> bool:
        """Load a weights file; on a bad file show a dialog and keep the current session.

        A Keras model whose recurrent layers are parallel branches asks which one to show
        (``layerChooser``, not modal); ``options`` go to ``io.load_weights`` (``layer=``, …)."""
        from ..io.weights import LayerChoiceError
        from .session import open_guarded

        choices = []

        def load():
            try:
                self.controller.loadWeights(path, **options)
            except LayerChoiceError as err:
                choices.append(err.choices)

        opened = open_guarded(self, "Cannot open weights", path, load)
        if choices:
            self.chooseLayer(path, choices[0], options)
            return False
        return opened

    def chooseLayer(self, path: str, choices, options: dict) -> None:
        """Ask which recurrent layer of ``path`` to show; opening follows the choice."""
        box = QtWidgets.QInputDialog(self)
        box.setWindowTitle("Choose a recurrent layer")
        box.setLabelText(f"{os.path.basename(path)}: its recurrent layers are parallel branches, not one "
                         "stack.\nShow which one (with the recurrent layers it reads from)?")
        box.setComboBoxItems(list(choices))
        box.textValueSelected.connect(lambda name: self.openWeights(path, **{**options, "layer": name}))
        self.layerChooser = box
        box.open()

    def showError(self, title: str, message: str) -> None:
        """One dialog, on one printable line; it replaces an older one still open and is
        deleted when closed (300 bad files leave no 300 dialogs behind)."""
        from ..io.limits import printable

        old = getattr(self, "_lastError", None)
        if old is not None and shiboken_valid(old) and old.isVisible():
            old.close()
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, printable(title), printable(message),
                                    QtWidgets.QMessageBox.StandardButton.Ok, self)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self._lastError = box
        box.open()

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        from .session import local_path

        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.openWeights(local_path(urls[0]))
            event.acceptProposedAction()

    # ------------------------------------------------------------------ status
    def _onResult(self, result) -> None:
        self.banner.showWarnings(result.warnings(), result.notes())
        parts = []
        for cr in result.cells:
            model = cr.model
            n = model.n_params
            try:
                rho = self.controller.spectralRadius(cr.key if cr.key != "loaded" else None)
                rho_s = f"ρ(W_hh) = {rho:.2f}"
            except (ValueError, np.linalg.LinAlgError):
                rho_s = "ρ(W_hh) = ?"
            prefix = f"{cr.label}: " if len(result.cells) > 1 else ""
            parts.append((prefix, f"{n:,}", rho_s))
        warns = result.warnings()
        self._statusParts = (parts, ["⚠ " + "; ".join(warns)] if warns else [])
        self._showStatus()

    def _showStatus(self, *_args) -> None:
        """The Explore network's line; in the Train mode said to be the Explore network's (it
        read "88 parameters · ρ(W_hh) = 0.75" beside three trained cells of 16 units)."""
        if getattr(self, "_statusParts", None) is None:
            return
        parts, tail = self._statusParts
        modes = getattr(self, "modes", None)
        lead = "Explore network: " if modes is not None and modes.currentIndex() == 1 else ""
        # longest first; a narrow window (Compare at 1024 px) gets a shorter form, never a cut one
        self._statusForms = [lead + form for form in (
            "   |   ".join([f"{p}{n} parameters · {r}" for p, n, r in parts] + tail),
            "  |  ".join([f"{p}{n} params · {r}" for p, n, r in parts] + tail),
            "  |  ".join([f"{p}{r}" for p, n, r in parts] + tail),
        )]
        self._status.setForms(self._statusForms)

    def statusText(self) -> str:
        """The status bar's whole line (the label may show a shorter form of it)."""
        forms = getattr(self, "_statusForms", None)
        return forms[0] if forms else self._status.text()

    def event(self, ev) -> bool:
        handled = super().event(ev)
        if ev.type() == QtCore.QEvent.Type.UpdateRequest:
            self.controller.frameDone()  # the frame is painted and flushed
        return handled

    def _updateTitle(self, *_):
        name = self.controller.loadedName
        label = CELL_CHOICES[self.controller.settings.cell]
        title = f"rnnviz — {name}" if name else f"rnnviz — {label}"
        # Only on a real change: every title change is an X property write, and the session
        # manager answers it with a title of its own (a slider drag would send two per frame).
        if title != getattr(self, "_ownTitle", None):
            self._ownTitle = title
            self.setWindowTitle(title)
