"""The lessons' window side: the lesson panel, the start page and the Lessons menu.

The catalogue (names, files, titles, ``rnnviz lessons``) is :mod:`rnnviz.io.lessons`;
:func:`rnnviz.core.session.load_lesson` reads one as session data.
"""

from __future__ import annotations

import html
import os
import re

from PySide6 import QtCore, QtGui, QtWidgets

from ..core.session import Lesson, load_lesson
from ..io.lessons import lesson_info, list_lessons
from . import actions, theme
from .prefs import recent_files

__all__ = ["LessonPanel", "StartPanel", "current_lesson", "lesson_html", "load_lesson", "open_lesson_in_window",
           "pop_lessons_menu", "step_lesson"]

LESSON_TITLE_PT = 20
LESSON_TEXT_PT = 15


def open_lesson_in_window(window, name: str) -> bool:
    """Open lesson ``name`` in ``window`` (a dialog on an unknown name or a broken file)."""
    return window.session.openLesson(name)


def current_lesson(window) -> str | None:
    """The name of the built-in lesson open in ``window`` (None: no lesson, or not a built-in one)."""
    lesson = window.session.lesson
    if lesson is None:
        return None
    return next((name for name, title in list_lessons() if title == lesson.title), None)


def step_lesson(window, delta: int) -> bool:
    """Open the lesson ``delta`` places after the open one in teaching order (without a lesson
    open: the first, or the last for a step back). Presenter mode stays on. False past either end."""
    names = [name for name, _ in list_lessons()]
    current = current_lesson(window)
    if current is None:
        k = 0 if delta > 0 else len(names) - 1
    else:
        k = names.index(current) + delta
    if not names or not 0 <= k < len(names):
        return False
    return window.session.openLesson(names[k])


def pop_lessons_menu(window) -> QtWidgets.QMenu:
    """The Lessons menu popped up in the middle of ``window``, the open lesson highlighted: in
    presenter mode the menu bar is hidden, and this is how a lesson is chosen there."""
    menu = window.menu("file.lessons")
    current = current_lesson(window)
    if current is not None:
        menu.setActiveAction(window.action(f"file.lessons.{current}"))
    size = menu.sizeHint()
    centre = window.mapToGlobal(window.rect().center())
    menu.popup(centre - QtCore.QPoint(size.width() // 2, size.height() // 2))
    return menu


# ====================================================================== text
_SUB = re.compile(r"_\{([^{}]*)\}|_([A-Za-z0-9])")
_SUP = re.compile(r"\^\{([^{}]*)\}|\^([A-Za-z0-9−-]+)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
#: a slash inside a formula (‖∂L/∂h_t‖): Qt breaks lines after a slash, which split the
#: formula across two lines; a word joiner after it keeps the formula whole
_SLASH = re.compile(r"(?<=\S)/(?=\S)")
WORD_JOINER = "\u2060"


def lesson_html(text: str) -> str:
    """Lesson text to rich text: ``h_t``, ``h_{t−1}`` subscripts, ``10^{-3}`` superscripts, ``**bold**``;
    no line break after a slash inside a formula.

    Blank lines separate paragraphs. Everything else is escaped, so a session file cannot inject markup.
    """
    paras = []
    for para in re.split(r"\n\s*\n", text.strip()):
        t = html.escape(para.strip())
        t = _SLASH.sub("/" + WORD_JOINER, t)
        t = _SUB.sub(lambda m: f"<sub>{m.group(1) or m.group(2)}</sub>", t)
        t = _SUP.sub(lambda m: f"<sup>{m.group(1) or m.group(2)}</sup>", t)
        t = _BOLD.sub(r"<b>\1</b>", t)
        paras.append(t.replace("\n", " "))
    return "".join(f"<p style='margin: 0 0 6px 0'>{p}</p>" for p in paras)


# ====================================================================== widgets
def _colours(look) -> dict:
    """Panel colours for a theme (light or dark): the lesson text and the start page follow it."""
    dark = look.dark
    return dict(
        text=look.foreground, muted=look.muted, accent=look.cell_colour("rnn_tanh"),
        panel="#23272E" if dark else "#F4F7FB", card="#2A2E35" if dark else "#FFFFFF",
        choice="#30353D" if dark else "#F7F9FC", hover="#38404B" if dark else "#E3EEFA",
        line="#4A505A" if dark else "#D0D7E2", shade="rgba(0, 0, 0, 170)" if dark else "rgba(20, 30, 50, 150)",
    )


class LessonPanel(QtWidgets.QDockWidget):
    """The open lesson's title and explanation in large type, above the views; hidden without a lesson.

    Follows the theme the window hands it (``setTheme``): dark colours and larger type.
    """

    #: At most this share of the window's (or screen's) height for a text at the normal size …
    MAX_SHARE = 0.22
    #: … and this much for a text that would otherwise scroll (at 1024×768 eight lessons of
    #: twelve hid their last line, the one saying what to drag); then the text gets up to
    #: BELOW_NORMAL points smaller, and only what still does not fit scrolls.
    STRETCH_SHARE = 0.28
    BELOW_NORMAL = 2
    MIN_HEIGHT = 90

    def __init__(self, session, parent=None):
        super().__init__("Lesson", parent)
        self.setObjectName("lessonPanel")
        self.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.setAllowedAreas(QtCore.Qt.DockWidgetArea.TopDockWidgetArea
                             | QtCore.Qt.DockWidgetArea.LeftDockWidgetArea
                             | QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setContentsMargins(14, 8, 14, 8)
        # a long text scrolls: the panel takes at most MAX_SHARE of the window's height, so a
        # lesson never pushes the views or the transport off a 768-pixel projector
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setWidget(self.label)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(self.scroll)
        # the scroll area gives the label its new width after the panel's own resize: fit again then
        self.scroll.viewport().installEventFilter(self)
        self.lesson: Lesson | None = None
        self._look = theme.LIGHT
        self.setTheme(self._look)
        self._session = session
        if parent is not None:
            parent.installEventFilter(self)  # the window's height sets the panel's share
        session.lessonChanged.connect(self.setLesson)
        self.setLesson(session.lesson)

    def closeEvent(self, event) -> None:
        """Closing the panel ends the lesson: a session saved afterwards must not bring the
        lesson's text back over whatever the network has become."""
        super().closeEvent(event)
        if event.isAccepted() and self._session.lesson is not None:
            self._session.endLesson()

    def setTheme(self, look: theme.Theme) -> None:
        self._look = look
        c = _colours(look)
        self.label.setStyleSheet(f"QLabel {{ background: {c['panel']}; color: {c['text']};"
                                 f" border-left: 6px solid {c['accent']}; }}")
        if self.lesson is not None:
            self._render()

    def setLesson(self, lesson: Lesson | None) -> None:
        self.lesson = lesson
        if lesson is None:
            self.label.clear()
            self.hide()
            return
        self._render()
        self.show()
        self._fitHeight()
        # again once the panel shown has its width and the window's layouts have settled
        QtCore.QTimer.singleShot(0, self, self._fitHeight)

    def _render(self) -> None:
        self._shown = None  # the text at the theme's sizes first
        self._setText(self._sizes()[0])
        self._fitHeight()

    _shown: tuple | None = None

    def _sizes(self) -> list[tuple[int, int]]:
        """(title, text) point sizes to try, largest first: the theme's, a point smaller at a
        time down to the normal window's, then down to BELOW_NORMAL points under those."""
        top = self._look.pt(LESSON_TEXT_PT)
        title_top = self._look.pt(LESSON_TITLE_PT)
        out = []
        for text in range(top, LESSON_TEXT_PT - self.BELOW_NORMAL - 1, -1):
            below = max(0, LESSON_TEXT_PT - text)
            out.append((max(title_top - (top - text), LESSON_TITLE_PT) - below, text))
        return out

    def _setText(self, sizes: tuple[int, int]) -> None:
        if sizes == self._shown:
            return
        self._shown = sizes
        title, text = sizes
        self.label.setText(
            f"<div style='font-size: {title}pt; font-weight: bold; margin-bottom: 4px'>"
            f"{html.escape(self.lesson.title)}</div>"
            f"<div style='font-size: {text}pt'>{lesson_html(self.lesson.text)}</div>")

    def textPointSize(self) -> int:
        """The lesson text's size in points now."""
        return (self._shown or self._sizes()[0])[1]

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fitHeight()

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QtCore.QEvent.Type.Resize and (
                obj is self.parentWidget()
                or obj is self.scroll.viewport() and event.size().width() != event.oldSize().width()):
            self._fitHeight()
            if obj is self.parentWidget():
                # again once the window's layouts have settled at the new size (its columns
                # may have become tabs, which changes what the views need)
                QtCore.QTimer.singleShot(0, self, self._fitHeight)
        elif (event.type() == QtCore.QEvent.Type.LayoutRequest and obj is self.parentWidget()
              and self.lesson is not None and self._viewsMinimum() != self._fittedFor):
            # the views' minimum height changed (a column became tabs a moment after the
            # lesson opened): the text's room with it
            self._fittedFor = self._viewsMinimum()
            QtCore.QTimer.singleShot(0, self, self._fitHeight)
        return False

    _fittedFor: int | None = None

    def _viewsMinimum(self) -> int | None:
        window = self.parentWidget()
        if isinstance(window, QtWidgets.QMainWindow) and window.centralWidget() is not None:
            return window.centralWidget().minimumSizeHint().height()
        return None

    def _fitHeight(self) -> None:
        # A word-wrapped label asks for the height of its narrowest layout; a top dock would then
        # take half the window. Size it to the lines it needs at its actual width.
        if self.lesson is None or self.isHidden() or self.label.width() < 300:
            return  # not laid out yet: a height for a narrow label would stretch the window
        if self.isFloating() or self.dockArea() != QtCore.Qt.DockWidgetArea.TopDockWidgetArea:
            self.scroll.setMinimumHeight(0)
            self.scroll.setMaximumHeight(16777215)
            return
        window = self.parentWidget()
        room = window.height() if window is not None else self.label.heightForWidth(self.scroll.viewport().width())
        screen = self.screen()
        if screen is not None and QtGui.QGuiApplication.platformName() != "offscreen":
            # the screen less the window's title bar and frame (a stretched lesson pushed the
            # Train mode's status bar 9 px off a 768-pixel projector)
            deco = window.frameGeometry().height() - window.height() if window is not None and window.isVisible() else 0
            room = min(room, screen.availableGeometry().height() - max(0, deco))
        share, stretch = round(self.MAX_SHARE * room), round(self.STRETCH_SHARE * room)
        if isinstance(window, QtWidgets.QMainWindow) and window.centralWidget() is not None:
            # and never more than the views leave: the-race's three chains at 1280×720
            self._fittedFor = self._viewsMinimum()
            others = self._fittedFor + (self.height() - self.scroll.height())
            others += sum(bar.height() for bar in (window.menuBar(), window.statusBar()) if bar.isVisible())
            share = min(share, room - others - 12)  # the dock's separator and spacing
            stretch = min(stretch, room - others - 12)
        cap = max(self.MIN_HEIGHT, share)
        # the stretch only in a window laid out at its size: before it is shown the text has a
        # provisional width (638 px at 1024×768), whose taller layout made the window's
        # minimum height, and so its first size, more than the screen
        wide = max(cap, stretch) if window is None or window.isVisible() else cap
        # presenter type that would scroll on a small projector gets a point smaller at a time,
        # down to the normal window's size; then the panel takes up to STRETCH_SHARE; then the
        # text gets smaller still; only then does the rest of it go a scroll away
        h = self._fitText(cap, wide)
        if wide > cap and isinstance(window, QtWidgets.QMainWindow) and h > cap:
            # the views' minimum above is an estimate: a stretched text must not make the
            # window's own minimum height more than the room (the window would grow past it)
            excess = window.minimumSizeHint().height() - room
            if excess > 0:
                self._fitText(cap, max(cap, h - excess))

    def _fitText(self, cap: int, wide: int) -> int:
        """The largest sizes (:meth:`_sizes`) whose text fits: at the normal sizes or larger
        in ``cap`` pixels, else in ``wide`` at any size; the height given to the text."""
        sizes = self._sizes()
        normal = [s for s in sizes if s[1] >= LESSON_TEXT_PT]
        tries = [(s, cap) for s in normal] + [(s, wide) for s in sizes[len(normal) - 1:]]
        width = self.scroll.viewport().width()
        for size, room_for_text in tries:
            self._setText(size)
            h = self.label.heightForWidth(width)
            if h <= room_for_text:
                break
        h = min(h, room_for_text)
        if h > 0 and h != self.scroll.height():
            self.scroll.setFixedHeight(h)
        return h

    def dockArea(self):
        main = self.parent()
        return main.dockWidgetArea(self) if isinstance(main, QtWidgets.QMainWindow) else None

    def text(self) -> str:
        """The plain text shown (for tests)."""
        return QtGui.QTextDocumentFragment.fromHtml(self.label.text()).toPlainText()


class _Choice(QtWidgets.QFrame):
    """A big clickable row: a bold title over one line of explanation (word-wrapped)."""

    clicked = QtCore.Signal()

    def __init__(self, title: str, line: str, look, parent=None):
        super().__init__(parent)
        self.setObjectName("choice")
        c = _colours(look)
        self.label = QtWidgets.QLabel(
            f"<div style='font-size: {look.pt(15)}pt; font-weight: bold; color: {c['text']}'>{html.escape(title)}</div>"
            f"<div style='font-size: {look.pt(12)}pt; color: {c['muted']}'>{html.escape(line)}</div>")
        self.label.setWordWrap(True)
        self.label.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 10)
        lay.addWidget(self.label)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_Hover)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setStyleSheet(
            f"#choice {{ border: 1px solid {c['line']}; border-radius: 6px; background: {c['choice']}; }}"
            f"#choice:hover, #choice:focus {{ background: {c['hover']}; border-color: {c['accent']}; }}")

    def click(self) -> None:
        self.clicked.emit()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
        event.accept()

    def mousePressEvent(self, event) -> None:
        event.accept()

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        scroll = self.parentWidget()
        while scroll is not None and not isinstance(scroll, QtWidgets.QScrollArea):
            scroll = scroll.parentWidget()
        if scroll is not None:  # Tab through the lessons: the one with the focus scrolls into view
            scroll.ensureWidgetVisible(self, 0, 4)

    def keyPressEvent(self, event) -> None:
        if event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter, QtCore.Qt.Key.Key_Space):
            self.clicked.emit()
        else:
            super().keyPressEvent(event)

    def text(self) -> str:
        return QtGui.QTextDocumentFragment.fromHtml(self.label.text()).toPlainText()


class StartPanel(QtWidgets.QFrame):
    """Where to start: the lessons and the recent sessions, over the window until dismissed.

    A child of the main window (never a separate window, never modal). Click a lesson or a file
    to open it; Escape, a click beside the card or "Explore on my own" dismisses it.
    """

    def __init__(self, window):
        super().__init__(window)
        self.setObjectName("startPanel")
        self._window = window
        self._look = theme.LIGHT
        card = QtWidgets.QFrame(self)
        card.setObjectName("startCard")
        self.card = card
        lay = QtWidgets.QVBoxLayout(card)
        lay.setContentsMargins(28, 22, 28, 22)
        lay.setSpacing(6)
        self.heading = QtWidgets.QLabel("Welcome to rnnviz")
        self.subheading = QtWidgets.QLabel("Pick a lesson, reopen a session, or explore on your own.")
        lay.addWidget(self.heading)
        lay.addWidget(self.subheading)
        cols = QtWidgets.QHBoxLayout()
        cols.setSpacing(24)
        self.lessonBox = QtWidgets.QVBoxLayout()
        self.recentBox = QtWidgets.QVBoxLayout()
        self.columnTitles = []
        for box, title in ((self.lessonBox, "Lessons"), (self.recentBox, "Recent sessions")):
            col = QtWidgets.QVBoxLayout()
            label = QtWidgets.QLabel(title)
            self.columnTitles.append(label)
            col.addWidget(label)
            # each column scrolls: eleven lessons with their summaries are taller than a
            # 768-pixel projector, and squeezed into it they were cut mid-sentence
            inner = QtWidgets.QWidget()
            inner.setObjectName("startList")
            inner_lay = QtWidgets.QVBoxLayout(inner)
            inner_lay.setContentsMargins(0, 0, 6, 0)
            inner_lay.addLayout(box)
            inner_lay.addStretch(1)
            scroll = QtWidgets.QScrollArea()
            scroll.setObjectName("startScroll")
            scroll.setWidget(inner)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            scroll.viewport().setAutoFillBackground(False)
            col.addWidget(scroll, 1)
            cols.addLayout(col, 3 if box is self.lessonBox else 2)
            if box is self.lessonBox:
                self.lessonScroll = scroll
        lay.addLayout(cols, 1)
        buttons = QtWidgets.QHBoxLayout()
        self.openButton = QtWidgets.QPushButton("Open a session file…")
        self.openButton.setToolTip(actions.describe("session.open"))
        self.dismissButton = QtWidgets.QPushButton("Explore on my own")
        for b in (self.openButton, self.dismissButton):
            b.setMinimumHeight(40)
        self.dismissButton.setDefault(True)
        buttons.addWidget(self.openButton)
        buttons.addStretch(1)
        buttons.addWidget(self.dismissButton)
        lay.addLayout(buttons)
        self.openButton.clicked.connect(self._openFile)
        self.dismissButton.clicked.connect(self._explore)
        self.lessonButtons: dict[str, _Choice] = {}
        self.recentButtons: dict[str, _Choice] = {}
        esc = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape), self)
        esc.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        esc.activated.connect(self.hide)
        self.setTheme(self._look)
        self.hide()
        window.installEventFilter(self)

    def setTheme(self, look: theme.Theme) -> None:
        self._look = look
        c = _colours(look)
        self.setStyleSheet(f"#startPanel {{ background: {c['shade']}; }}"
                           f"#startCard {{ background: {c['card']}; border-radius: 10px; }}"
                           f"#startCard QLabel {{ color: {c['text']}; }}"
                           "#startScroll, #startList { background: transparent; }")
        self.heading.setFont(theme.font(look.pt(22), bold=True))
        self.subheading.setFont(theme.font(look.pt(13)))
        for label in self.columnTitles:
            label.setFont(theme.font(look.pt(16), bold=True))
        for b in (self.openButton, self.dismissButton):
            b.setFont(theme.font(look.pt(13)))
        self._fillLessons()
        if self.isVisible():
            self._fillRecent()
            self._place()

    @staticmethod
    def _clear(box: QtWidgets.QVBoxLayout) -> None:
        while box.count():
            w = box.takeAt(0).widget()
            if w is not None:
                w.hide()
                w.deleteLater()

    def _fillLessons(self) -> None:
        self._clear(self.lessonBox)
        self.lessonButtons = {}
        for k, (name, title) in enumerate(list_lessons(), start=1):
            b = _Choice(f"{k}. {title}", lesson_info(name).one_line(), self._look)
            b.setToolTip(f"rnnviz --lesson {name}")
            b.clicked.connect(lambda n=name: self._openLesson(n))
            self.lessonButtons[name] = b
            self.lessonBox.addWidget(b)

    def _fillRecent(self) -> None:
        self._clear(self.recentBox)
        self.recentButtons = {}
        files = [p for p in recent_files() if os.path.exists(p)]
        for p in files:
            b = _Choice(os.path.basename(p), os.path.dirname(p), self._look)
            b.setToolTip(p)
            b.clicked.connect(lambda p=p: self._openPath(p))
            self.recentButtons[p] = b
            self.recentBox.addWidget(b)
        if not files:
            hint = QtWidgets.QLabel(f"None yet. {actions.describe('session.save')} keeps the exact view — "
                                    "network, input, step — to open here next time.")
            hint.setFont(theme.font(self._look.pt(12)))
            hint.setWordWrap(True)
            hint.setStyleSheet(f"color: {_colours(self._look)['muted']}")
            self.recentBox.addWidget(hint)

    # ------------------------------------------------------------------ actions
    def _openLesson(self, name: str) -> None:
        if self._window.session.openLesson(name):
            self.hide()

    def _openPath(self, path: str) -> None:
        if self._window.session.open(path):
            self.hide()

    def _openFile(self) -> None:
        if self._window.session.openDialog():
            self.hide()

    def onOpened(self, what) -> None:
        """Something was opened (a session, a lesson, weights): the start page has done its job."""
        if what is not None:
            self.hide()

    # ------------------------------------------------------------------ geometry
    def showEvent(self, event) -> None:
        self._fillRecent()
        self._place()
        self.raise_()
        self.dismissButton.setFocus()
        super().showEvent(event)

    def _explore(self) -> None:
        """"Explore on my own": a fresh start when a lesson is open (it kept the lesson's
        network and text), else the window as it is."""
        session = self._window.session
        if session.lesson is not None and not session.explore():
            return  # the user kept the lesson (cancelled saving its changes)
        self.hide()

    def _place(self) -> None:
        w = self._window
        top = w.menuBar().height() if w.menuBar().isVisible() else 0
        self.setGeometry(0, top, w.width(), w.height() - top)
        cw = min(1100, self.width() - 40)
        # as tall as the lessons need, up to the window's height (then the lessons scroll)
        lessons = self.lessonScroll
        need = self.card.sizeHint().height() - lessons.sizeHint().height() + lessons.widget().sizeHint().height()
        ch = min(max(need, 300), self.height() - 40)
        self.card.setGeometry((self.width() - cw) // 2, max(20, (self.height() - ch) // 2), cw, ch)

    def eventFilter(self, obj, event) -> bool:
        if obj is self._window and event.type() == QtCore.QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def mousePressEvent(self, event) -> None:
        if not self.card.geometry().contains(event.position().toPoint()):
            self.hide()
        event.accept()

