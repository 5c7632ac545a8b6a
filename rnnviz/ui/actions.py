"""Every action of the main window, declared once.

:data:`TABLE` lists the menus and actions in menu order: id, text, shortcut(s), handler, the
menu it sits in (by id, never by its label), whether it is checkable and when it is checked or
enabled. :func:`build` turns the table into the window's menus and shortcuts; the "?" overlay's
list (:func:`shortcut_rows`) and the start page's hints (:func:`describe`) are read from it too.
Actions marked ``anywhere`` keep their keys whatever control has the focus (:class:`FocusKeys`).
Families that follow data (the cells, the lessons, one Export submenu per registered panel)
are declared by a generator on their menu.

Handlers take the window (and the new checked state, for checkable actions) and call the
window's own parts: ``window.controller``, ``window.session``, ``window.exporter``,
``window.presenter``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets


@dataclass(frozen=True)
class MenuSpec:
    """A menu: top level when ``parent`` is None, else a submenu placed where it is declared.

    ``fill(window, menu)`` refills it each time it opens (recent files); ``items()`` yields its
    actions from data when the window is built (cells, lessons, panels).
    """

    id: str
    text: str
    parent: str | None = None
    separator: bool = False
    fill: Callable | None = None
    items: Callable[[], Iterable["ActionSpec | MenuSpec"]] | None = None


@dataclass(frozen=True)
class ActionSpec:
    """One action. ``menu`` is a :class:`MenuSpec` id (None: a key only, no menu entry).

    ``help`` is its line in the "?" overlay (None: not listed; "" : its menu text). ``checked``
    and ``enabled`` are read again whenever one of the signals ``sync(window)`` returns fires.
    ``provided(window)`` returns an action a part already owns (a dock's toggle action).
    ``anywhere``: its keys act whatever control has the focus (a focused slider, spin box or
    table does not take them); a text field being edited keeps only :data:`TEXT_KEYS`.
    """

    id: str
    text: str
    handler: Callable | None = None
    menu: str | None = None
    shortcuts: tuple[str, ...] = ()
    help: str | None = None
    checkable: bool = False
    checked: Callable | None = None
    enabled: Callable | None = None
    sync: Callable | None = None
    group: str | None = None
    separator: bool = False
    tooltip: str | None = None
    provided: Callable | None = None
    anywhere: bool = False


# ---------------------------------------------------------------- families from data


def _cell_actions():
    from ..core.model import CELL_CHOICES

    for key, label in CELL_CHOICES.items():
        yield ActionSpec(f"view.cell.{key}", label, lambda w, k=key: w.controller.update(cell=k), menu="view.cell")


def _lesson_actions():
    from .lessons import list_lessons

    for k, (name, title) in enumerate(list_lessons(), start=1):
        yield ActionSpec(f"file.lessons.{name}", f"&{k}  {title}", lambda w, n=name: w.session.openLesson(n),
                         menu="file.lessons", tooltip=f"rnnviz --lesson {name}")
    # in presenter mode too: the keys sit on the window, and L pops this menu up over it
    yield ActionSpec("lesson.next", "&Next lesson", lambda w: _step_lesson(w, +1), menu="file.lessons",
                     shortcuts=("Ctrl+PgDown",), help="Next / previous lesson (Ctrl+PageUp)", anywhere=True,
                     separator=True)
    yield ActionSpec("lesson.previous", "&Previous lesson", lambda w: _step_lesson(w, -1), menu="file.lessons",
                     shortcuts=("Ctrl+PgUp",), anywhere=True)


def _step_lesson(window, delta: int) -> None:
    from .lessons import step_lesson

    step_lesson(window, delta)


def _pop_lessons(window) -> None:
    from .lessons import pop_lessons_menu

    pop_lessons_menu(window)


def _export_items():
    from .panels import exportable_panels

    yield ActionSpec("export.window.png", "Window as &PNG…", lambda w: w.exporter.askPng(None), menu="file.export")
    yield ActionSpec("export.window.svg", "Window as &SVG…", lambda w: w.exporter.askSvg(None), menu="file.export")
    for spec in exportable_panels():
        sub = f"file.export.{spec.id}"
        yield MenuSpec(sub, spec.title, parent="file.export")
        yield ActionSpec(f"export.{spec.id}.png", "as PNG…", lambda w, a=spec.id: w.exporter.askPng(a), menu=sub)
        yield ActionSpec(f"export.{spec.id}.svg", "as SVG…", lambda w, a=spec.id: w.exporter.askSvg(a), menu=sub)
    yield ActionSpec("export.csv", "Trace as &CSV…", lambda w: w.exporter.askCsv(), menu="file.export",
                     separator=True)
    yield ActionSpec("export.npz", "Trace as &NPZ…", lambda w: w.exporter.askNpz(), menu="file.export")
    yield ActionSpec("export.gif", "&Animation as GIF…", lambda w: w.exporter.askGif(), menu="file.export",
                     separator=True)
    yield ActionSpec("export.mp4", "Animation as &MP4…", lambda w: w.exporter.askMp4(), menu="file.export")
    yield ActionSpec("export.trained", "&Trained model (PyTorch or Keras)…", lambda w: w.panels["trainControls"].exportDialog(), menu="file.export", separator=True)  # noqa: E501


def _fill_recent(window, menu: QtWidgets.QMenu) -> None:
    window.session.fillRecentMenu(menu)


def _open_with_options(window) -> None:
    from . import load_options

    load_options.ask(window)


def _tokens():
    from . import tokens

    return tokens


def _presenting(w) -> bool:
    return w.presenter.isActive()


# ---------------------------------------------------------------- the table

A = ActionSpec
TABLE: tuple = (
    # keys without a menu entry (they drive the transport, whatever control has the focus)
    A("play.toggle", "Play / pause", lambda w: w.controller.togglePlaying(), shortcuts=("Space",), help="",
      anywhere=True),
    A("step.forward", "Step forward", lambda w: w.controller.stepForward(), shortcuts=("Right",), help="",
      anywhere=True),
    A("step.forward.clicker", "Step forward (clicker)", lambda w: w.controller.stepForward(),
      shortcuts=("PgDown",), help="", anywhere=True),
    A("step.back", "Step back", lambda w: w.controller.stepBack(), shortcuts=("Left",), help="", anywhere=True),
    A("step.back.clicker", "Step back (clicker)", lambda w: w.controller.stepBack(), shortcuts=("PgUp",),
      help="", anywhere=True),
    A("step.first", "First step", lambda w: w.controller.toStart(), shortcuts=("Home",), help="", anywhere=True),
    A("step.last", "Last step", lambda w: w.controller.toEnd(), shortcuts=("End",), help="", anywhere=True),
    A("speed.faster", "Play faster", lambda w: w.controller.faster(), shortcuts=("+", "="), help=""),
    A("speed.slower", "Play slower", lambda w: w.controller.slower(), shortcuts=("-",), help=""),
    A("presenter.black", "Black screen (any key returns)", lambda w: w.presenter.toggleBlack(), shortcuts=("B",),
      help=""),
    A("presenter.leave", "Leave presenter mode", lambda w: w.presenter.leave(), shortcuts=("Esc",), help="",
      enabled=_presenting, sync=lambda w: (w.presenter.activeChanged,), anywhere=True),

    MenuSpec("file", "&File"),
    A("session.open", "&Open session…", lambda w: w.session.openDialog(), menu="file", shortcuts=("Ctrl+O",),
      help="Open a session"),
    MenuSpec("file.recent", "Open &recent", parent="file", fill=_fill_recent),
    MenuSpec("file.lessons", "&Lessons", parent="file", items=_lesson_actions),
    A("lesson.menu", "Choose a lesson…", _pop_lessons, shortcuts=("L",),
      help="Choose a lesson (the Lessons menu, also in presenter mode)"),
    A("session.start", "S&tart page", lambda w: w.startPanel.show(), menu="file"),
    A("session.save", "&Save session", lambda w: w.session.save(), menu="file", shortcuts=("Ctrl+S",), help="",
      separator=True),
    A("session.saveAs", "Save session &as…", lambda w: w.session.saveAs(), menu="file", shortcuts=("Ctrl+Shift+S",)),
    A("file.openWeights", "&Open weights…", lambda w: w.openWeightsDialog(), menu="file",
      shortcuts=("Ctrl+Shift+O",), help="", separator=True),
    A("file.openWeightsOptions", "Open weights with o&ptions…", _open_with_options, menu="file"),
    A("file.openInput", "Open &input sequence (CSV/NPY)…", lambda w: w.openInputDialog(), menu="file"),
    A("file.tokens", "Type token ids or te&xt…", lambda w: _tokens().ask_tokens(w), menu="file",
      enabled=lambda w: _tokens().has_embedding(w.controller), sync=lambda w: (w.controller.loadedChanged,),
      tooltip="The input of a model with an embedding: token ids, or text in its vocabulary"),
    A("file.vocab", "Open &vocabulary…", lambda w: _tokens().ask_vocab(w), menu="file",
      enabled=lambda w: _tokens().has_embedding(w.controller), sync=lambda w: (w.controller.loadedChanged,),
      tooltip="A JSON list of tokens or one token per line: the token each id of the embedding stands for"),
    A("file.exportWeights", "E&xport weights…", lambda w: w.exportWeightsDialog(), menu="file"),
    A("file.seedExample", "Use the seed document's example", lambda w: w.controller.useSeedExample(), menu="file"),
    MenuSpec("file.export", "&Export", parent="file", items=_export_items),
    A("file.quit", "&Quit", lambda w: w.close(), menu="file", shortcuts=("Ctrl+Q",), separator=True),

    MenuSpec("view", "&View"),
    A("view.allSteps", "Show &all steps", lambda w, on: w.controller.setRevealAll(on), menu="view",
      shortcuts=("A",), help="Show all steps / reveal step by step", checkable=True,
      checked=lambda w: w.controller.revealAll, sync=lambda w: (w.controller.revealAllChanged,)),
    A("view.backward", "&Backward view ‖∂h_T/∂h_t‖", lambda w, on: w.controller.update(backward=on),
      menu="view", checkable=True, checked=lambda w: w.controller.settings.backward,
      sync=lambda w: (w.controller.settingsChanged,)),
    MenuSpec("view.cell", "&Cell", parent="view", items=_cell_actions),
    A("presenter.toggle", "&Presenter mode", lambda w, on: w.presenter.enter() if on else w.presenter.leave(),
      menu="view", shortcuts=("F11",), help="Presenter mode on / off", checkable=True, checked=_presenting,
      sync=lambda w: (w.presenter.activeChanged,), separator=True, anywhere=True),
    MenuSpec("view.theme", "&Theme", parent="view"),
    A("theme.light", "&Light (projector)", lambda w, on: on and w.presenter.setTheme("light"), menu="view.theme",
      checkable=True, group="theme", checked=lambda w: w.presenter.baseTheme().name == "light",
      sync=lambda w: (w.presenter.themeChanged,)),
    A("theme.dark", "&Dark", lambda w, on: on and w.presenter.setTheme("dark"), menu="view.theme",
      checkable=True, group="theme", checked=lambda w: w.presenter.baseTheme().name == "dark",
      sync=lambda w: (w.presenter.themeChanged,)),
    A("theme.colourBlind", "&Colour-blind-safe colours", lambda w, on: w.presenter.setColourBlind(on),
      menu="view", checkable=True, checked=lambda w: w.presenter.baseTheme().colour_blind,
      sync=lambda w: (w.presenter.themeChanged,)),
    A("view.controls", "Side &controls", lambda w, on: w.setControlsShown(on), menu="view", separator=True,
      shortcuts=("Ctrl+B",), help="Fold / unfold the side controls", checkable=True,
      checked=lambda w: w.controlsShown(), sync=lambda w: (w.controlsShownChanged,)),
    A("view.lessonText", "&Lesson text", menu="view",
      provided=lambda w: w.lessonPanel.toggleViewAction()),

    MenuSpec("help", "&Help"),
    A("help.keys", "&Keyboard shortcuts", lambda w: w.presenter.showHelp(), menu="help"),
    A("help.overlay", "Shortcut &overlay", lambda w: w.presenter.showHelp(), menu="help", shortcuts=("?", "F1"),
      help="This list of shortcuts (also F1)"),
)
del A


def expand(items: Iterable = TABLE) -> Iterator["ActionSpec | MenuSpec"]:
    """The table with every data-driven family written out, in menu order."""
    for item in items:
        yield item
        if isinstance(item, MenuSpec) and item.items is not None:
            yield from expand(item.items())


def spec(action_id: str) -> ActionSpec:
    for item in expand():
        if isinstance(item, ActionSpec) and item.id == action_id:
            return item
    raise KeyError(action_id)


def plain(text: str) -> str:
    """Menu text without mnemonics and the trailing ellipsis."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").replace("…", "").strip()


def portable(key: str) -> str:
    return QtGui.QKeySequence(key).toString(QtGui.QKeySequence.SequenceFormat.PortableText)


_KEY_NAMES = {"Right": "→", "Left": "←", "-": "−", "Esc": "Esc", "PgDown": "PageDown", "PgUp": "PageUp"}


def key_label(key: str) -> str:
    """How the overlay and the start page write a key: "→", "−", "Ctrl+S", "Ctrl+PageDown"."""
    text = portable(key) or key
    mods, plus, last = text.rpartition("+") if len(text) > 1 else ("", "", text)
    if not last:  # "Ctrl++"
        return text
    return mods + plus + _KEY_NAMES.get(last, last)


def shortcut_rows() -> list[tuple[str, str]]:
    """Every listed shortcut as the "?" overlay shows it: (key, what it does)."""
    rows = []
    for item in expand():
        if isinstance(item, ActionSpec) and item.help is not None and item.shortcuts:
            rows.append((key_label(item.shortcuts[0]), item.help or plain(item.text)))
    return rows


def _menu_path(menu_id: str | None) -> list[str]:
    menus = {m.id: m for m in expand() if isinstance(m, MenuSpec)}
    out = []
    while menu_id is not None:
        m = menus[menu_id]
        out.insert(0, plain(m.text))
        menu_id = m.parent
    return out


def describe(action_id: str) -> str:
    """Where to find an action, for hints: "File ▸ Save session (Ctrl+S)"."""
    s = spec(action_id)
    where = " ▸ ".join(_menu_path(s.menu) + [plain(s.text)])
    return where + (f" ({key_label(s.shortcuts[0])})" if s.shortcuts else "")


# ---------------------------------------------------------------- building a window's actions


class Actions:
    """The QActions and menus of one window, built from the table (``window.actions``)."""

    def __init__(self, window: QtWidgets.QMainWindow):
        self.window = window
        self.menus: dict[str, QtWidgets.QMenu] = {}
        self.actions: dict[str, QtGui.QAction] = {}
        self._groups: dict[str, QtGui.QActionGroup] = {}
        for item in expand():
            if isinstance(item, MenuSpec):
                self._addMenu(item)
            else:
                self._addAction(item)

    def __getitem__(self, action_id: str) -> QtGui.QAction:
        return self.actions[action_id]

    def menu(self, menu_id: str) -> QtWidgets.QMenu:
        return self.menus[menu_id]

    def _addMenu(self, m: MenuSpec) -> None:
        w = self.window
        if m.parent is None:
            menu = w.menuBar().addMenu(m.text)
        else:
            parent = self.menus[m.parent]
            if m.separator:
                parent.addSeparator()
            menu = parent.addMenu(m.text)
        if m.fill is not None:
            menu.aboutToShow.connect(lambda menu=menu, fill=m.fill: fill(w, menu))
        self.menus[m.id] = menu

    def _addAction(self, s: ActionSpec) -> None:
        w = self.window
        act = s.provided(w) if s.provided is not None else QtGui.QAction(s.text, w)
        act.setText(s.text)
        act.setObjectName(s.id)
        if s.tooltip:
            act.setToolTip(s.tooltip)
        if s.shortcuts:
            act.setShortcuts([QtGui.QKeySequence(k) for k in s.shortcuts])
            act.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            w.addAction(act)  # keys work while the menu bar is hidden (presenter mode)
        if s.checkable:
            act.setCheckable(True)
        if s.group is not None:
            group = self._groups.get(s.group)
            if group is None:
                group = self._groups[s.group] = QtGui.QActionGroup(w)
                group.setExclusive(True)
            group.addAction(act)
        if s.handler is not None:
            if s.checkable:
                act.toggled.connect(lambda on, h=s.handler: h(w, on))
            else:
                act.triggered.connect(lambda _on=False, h=s.handler: h(w))
        if s.menu is not None:
            menu = self.menus[s.menu]
            if s.separator:
                menu.addSeparator()
            menu.addAction(act)
        self.actions[s.id] = act
        if s.checked is not None or s.enabled is not None:
            self._sync(s, act)
            for signal in (s.sync(w) if s.sync is not None else ()):
                signal.connect(lambda *_a, s=s, act=act: self._sync(s, act))

    def _sync(self, s: ActionSpec, act: QtGui.QAction) -> None:
        with QtCore.QSignalBlocker(act):
            if s.checked is not None:
                act.setChecked(bool(s.checked(self.window)))
            if s.enabled is not None:
                act.setEnabled(bool(s.enabled(self.window)))


def build(window: QtWidgets.QMainWindow) -> Actions:
    """The menus and shortcuts of ``window`` from :data:`TABLE`."""
    return Actions(window)


# ---------------------------------------------------------------- keys whatever has the focus

_Key = QtCore.Qt.Key
#: The keys a text field keeps while it is being edited (while it has the focus): they move its cursor.
TEXT_KEYS = frozenset(QtCore.QKeyCombination(k).toCombined() for k in (_Key.Key_Left, _Key.Key_Right,
                                                                          _Key.Key_Home, _Key.Key_End))
#: A widget whose dynamic property of this name is true takes every key itself (an overlay that any key
#: dismisses).
OWNS_KEYS = "ownsKeys"
#: A widget whose dynamic property of this name is true gets the focus ring when one of its
#: children has the focus (a slider's row: its name, the slider and the value).
RING_AROUND = "focusRingAround"
#: The focus ring's width outside its widget, in pixels.
RING_PX = 4


def anywhere_keys() -> frozenset[int]:
    """Every key (as ``QKeyCombination.toCombined()``) of the table's ``anywhere`` actions."""
    keys = set()
    for item in expand():
        if isinstance(item, ActionSpec) and item.anywhere:
            for k in item.shortcuts:
                seq = QtGui.QKeySequence(k)
                keys.update(seq[i].toCombined() for i in range(seq.count()))
    return frozenset(keys)


def edits_text(w: QtWidgets.QWidget | None) -> bool:
    """Whether ``w`` (a focus widget) is a text field the user can type into."""
    if isinstance(w, (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox)):
        return not w.isReadOnly()  # a spin box's line edit has the spin box as its focus proxy
    if isinstance(w, QtWidgets.QComboBox):
        return w.isEditable()
    if isinstance(w, (QtWidgets.QTextEdit, QtWidgets.QPlainTextEdit)):
        return not w.isReadOnly()
    return False


def _combined(ev: QtGui.QKeyEvent) -> int:
    mods = ev.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier  # the keypad's arrows are arrows
    return QtCore.QKeyCombination(mods, _Key(ev.key())).toCombined()


class _RingStyle(QtWidgets.QProxyStyle):
    """The application's style, but a focus frame as wide as :data:`RING_PX` (asked only when
    the ring moves to another widget or that widget's geometry changes)."""

    def pixelMetric(self, metric, option=None, widget=None) -> int:
        if metric in (QtWidgets.QStyle.PixelMetric.PM_FocusFrameHMargin,
                      QtWidgets.QStyle.PixelMetric.PM_FocusFrameVMargin):
            return RING_PX
        return super().pixelMetric(metric, option, widget)


class FocusKeys(QtCore.QObject):
    """The keyboard rules of one window (``window.focusKeys``), whatever control has the focus.

    * The keys of the ``anywhere`` actions (PageDown/PageUp, Space, ←/→, Home/End, F11, Esc,
      Ctrl+PageDown/PageUp) always reach their action. Qt first offers a key to the focused
      widget (a ShortcutOverride event), and a slider, spin box or table would keep it; this
      filter refuses the offer for them. A text field being edited (a spin box's number, a line
      edit, the input table's cell editor) keeps :data:`TEXT_KEYS` (←/→/Home/End) to move its
      cursor; every other ``anywhere`` key still acts. Widgets marked :data:`OWNS_KEYS` keep all.
    * Enter commits a text field's edit and hands the keyboard back to the views
      (``window.focusViews``), so the next clicker press steps. Tab or a click elsewhere also
      commits and moves the focus where it was sent.
    * A focus ring (a :class:`QtWidgets.QFocusFrame` in the theme's ``focus_ring`` colour) marks
      the focused control.

    Only the focused widget is watched: the filter moves with ``QApplication.focusChanged``, so
    no other widget's paint or mouse events pass through Python, and the filter returns at once
    for every event but a key press or its ShortcutOverride.
    """

    def __init__(self, window: QtWidgets.QWidget, keys: Iterable[int] | None = None):
        super().__init__(window)
        self.window = window
        self.keys = frozenset(anywhere_keys() if keys is None else keys)
        self._watched: QtWidgets.QWidget | None = None
        self._sheet = ""
        self.ring = self._newRing()
        app = QtWidgets.QApplication.instance()
        app.focusChanged.connect(self._onFocus)
        # no focus changes once the window goes: at exit, widgets being torn down move the
        # focus, and the ring they would move lay in a half-destroyed window (a crash)
        window.destroyed.connect(self._detach)
        self._onFocus(None, app.focusWidget())

    def _detach(self, *_args) -> None:
        app = QtWidgets.QApplication.instance()
        if app is not None:
            try:
                app.focusChanged.disconnect(self._onFocus)
            except (RuntimeError, TypeError):  # already gone
                pass

    # ------------------------------------------------------------ focus
    def _onFocus(self, _old, now) -> None:
        if QtCore.QCoreApplication.closingDown() or not shiboken6.isValid(self.window):
            return  # the application or the window is being destroyed (its focus widget goes first)
        watched, self._watched = self._watched, None
        if watched is not None and shiboken6.isValid(watched):
            watched.removeEventFilter(self)
        if now is not None and shiboken6.isValid(now) and now.window() is self.window:
            now.installEventFilter(self)
            self._watched = now
        self._placeRing(self._watched)

    def eventFilter(self, obj, ev) -> bool:
        et = ev.type()
        if et == QtCore.QEvent.Type.ShortcutOverride:
            key = _combined(ev)
            if key in self.keys and not obj.property(OWNS_KEYS) and not (key in TEXT_KEYS and edits_text(obj)):
                ev.ignore()  # not the widget's: the window's shortcut takes it
                return True
        elif (et == QtCore.QEvent.Type.KeyPress and ev.key() in (_Key.Key_Return, _Key.Key_Enter)
              and edits_text(obj)):
            # after the field (or the table's delegate) has committed the edit
            QtCore.QTimer.singleShot(0, self, self._backToViews)
        return False

    def _backToViews(self) -> None:
        w = QtWidgets.QApplication.focusWidget()
        if w is None or w.window() is not self.window:
            return
        if edits_text(w) or isinstance(w, QtWidgets.QAbstractItemView):  # the table, its editor closed
            self.window.focusViews()

    # ------------------------------------------------------------ the ring
    def _newRing(self) -> QtWidgets.QFocusFrame:
        ring = QtWidgets.QFocusFrame(self.window)
        ring.setObjectName("focusRing")
        style = _RingStyle()
        style.setParent(ring)  # a widget does not own its style: this one lives and dies with it
        ring.setStyle(style)
        ring.setStyleSheet(self._sheet)
        ring.hide()
        return ring

    def ringTarget(self) -> QtWidgets.QWidget | None:
        """The widget the focus ring is drawn around (None: no ring)."""
        return self.ring.widget() if shiboken6.isValid(self.ring) else None

    def _placeRing(self, w: QtWidgets.QWidget | None) -> None:
        if not shiboken6.isValid(self.ring):  # it sat in a container that was deleted
            self.ring = self._newRing()
        if w is None or w.property(OWNS_KEYS) or isinstance(w, QtWidgets.QGraphicsView) \
                or w is getattr(self.window, "viewsArea", None):
            self.ring.setWidget(None)
            return
        parent = w.parentWidget()
        target = parent if parent is not None and parent.property(RING_AROUND) else w
        self.ring.setWidget(target)

    def setTheme(self, look) -> None:
        self._sheet = f"QFocusFrame {{ border: {RING_PX}px solid {look.focus_ring}; border-radius: 6px; }}"
        if shiboken6.isValid(self.ring):
            self.ring.setStyleSheet(self._sheet)


__all__ = ["ActionSpec", "Actions", "FocusKeys", "MenuSpec", "OWNS_KEYS", "RING_AROUND", "TABLE", "TEXT_KEYS",
           "anywhere_keys", "build", "describe", "edits_text", "expand", "key_label", "plain", "portable",
           "shortcut_rows", "spec"]
