"""The reading view: the text a character model reads, each character on the colour of one
hidden unit's h_t, as LSTMVis shows it — but live, from the run on screen.

Hover a character for its step, the unit's value and the model's guess of the next character;
click one to step there; drag over a span to list the units that are high inside it and low
elsewhere (:func:`rnnviz.core.text.rank_units`), and click a unit to colour the text by it. The
numbers come ready-made from :mod:`rnnviz.core.text`; this module only draws them. It shares a
tab with the fading plot and draws only while shown.
"""

from __future__ import annotations

import dataclasses
import html

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..core import text as TX
from ..core.format import fmt_value
from . import theme
from .panels import Panel

#: Pixels around the text and between lines.
MARGIN, LINE_GAP = 8, 4
#: What the units list says before a selection.
DRAG_HINT = "Drag over some text: the units high there and low elsewhere appear here."


class TextCanvas(QtWidgets.QWidget):
    """The text as wrapped lines of fixed-width character cells (only visible lines paint)."""

    stepClicked = QtCore.Signal(int)
    selectionChanged = QtCore.Signal(int, int)  # 0-based start, stop (stop excluded)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # the transport's keys stay the window's
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self.frame: TX.TextFrame | None = None
        self.look = theme.LIGHT
        self._lut = None
        self._starts = np.zeros(1, dtype=np.int64)  # first step of each line
        self._cols = 40
        self._chars: tuple = ()
        self._press: int | None = None
        self.selection: tuple[int, int] | None = None
        self._font = QtGui.QFont()

    # ------------------------------------------------------------ look and layout
    def setLook(self, look: theme.Theme) -> None:
        self.look = look
        self._lut = np.asarray(theme.lut(look.diverging, 256))[:, :3].astype(np.int64)
        self._fit()

    def _usePt(self, pt: int) -> None:
        f = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        f.setPointSize(pt)
        self._font = f
        fm = QtGui.QFontMetricsF(f)
        self._cw = max(fm.horizontalAdvance("M"), fm.horizontalAdvance("↵"), 4.0)
        self._lh = fm.height() + LINE_GAP
        self._ascent = fm.ascent()

    def setRoom(self, width: int, height: int) -> None:
        """The scroll area's viewport: a short text grows up to twice the body size to fill it."""
        if (width, height) != getattr(self, "_room", None):
            self._room = (width, height)
            self._fit()

    def _fit(self) -> None:
        """The largest font (body + 2 pt … 2 × body) at which the text fits the room without
        scrolling; long texts take the smallest and scroll."""
        base = self.look.font_pt + 2
        width, height = getattr(self, "_room", (self.width(), self.height()))
        sizes = range(2 * self.look.font_pt, base, -2) if 0 < len(self._chars) <= 2000 else ()
        for pt in sizes:
            self._usePt(pt)
            if 2 * MARGIN + self._lines(self._colsFor(width)) * self._lh <= height:
                break
        else:
            self._usePt(base)
        self._relayout()

    def setFrame(self, frame: TX.TextFrame | None) -> None:
        self.frame = frame
        chars = frame.chars if frame is not None else ()
        if chars != self._chars:
            self._chars = chars
            self.selection = None
            self._fit()
        self.update()


    def _colsFor(self, width: int) -> int:
        return max(8, int((width - 2 * MARGIN) // self._cw)) if hasattr(self, "_cw") else 40

    def _relayout(self) -> None:
        self._cols = cols = self._colsFor(getattr(self, "_room", (self.width(), 0))[0])
        self._starts = np.asarray(self._lineStarts(cols), dtype=np.int64)
        lines = len(self._starts) if self._chars else 0
        self.setFixedHeight(max(int(2 * MARGIN + lines * self._lh), 2 * MARGIN))
        self.update()

    def _lines(self, cols: int) -> int:
        return len(self._lineStarts(cols)) if self._chars else 0

    def _lineStarts(self, cols: int) -> list[int]:
        """Where lines start: after a newline (shown as ↵, ending its line) or after ``cols``
        characters, at the last space when there is one."""
        starts = [0]
        chars = self._chars
        T = len(chars)
        t = 0
        while t < T:
            if chars[t] == "\n" or t - starts[-1] + 1 >= cols:
                cut = t + 1
                if chars[t] != "\n" and t + 1 < T and chars[t + 1] != " ":
                    back = next((k + 1 for k in range(t, starts[-1], -1) if chars[k] == " "), None)
                    if back is not None and back - starts[-1] > cols // 2:
                        cut = back
                if cut < T:
                    starts.append(cut)
                t = cut
                continue
            t += 1
        return starts

    def lineCount(self) -> int:
        return len(self._starts) if self._chars else 0

    def cellRect(self, t: int) -> QtCore.QRectF:
        """Where step ``t``'s character is drawn."""
        line = int(np.searchsorted(self._starts, t, side="right") - 1)
        col = t - int(self._starts[line])
        return QtCore.QRectF(MARGIN + col * self._cw, MARGIN + line * self._lh, self._cw, self._lh - 1)

    def stepAt(self, pos: QtCore.QPointF) -> int | None:
        if not self._chars:
            return None
        line = int((pos.y() - MARGIN) // self._lh)
        if line < 0 or line >= len(self._starts):
            return None
        col = int((pos.x() - MARGIN) // self._cw)
        start = int(self._starts[line])
        end = int(self._starts[line + 1]) if line + 1 < len(self._starts) else len(self._chars)
        if col < 0 or start + col >= end:
            return None
        return start + col

    # ------------------------------------------------------------ painting
    def colourOf(self, value: float) -> QtGui.QColor:
        lo, hi = self.frame.levels
        k = int(np.clip((value - lo) / (hi - lo) * 255.0, 0, 255)) if np.isfinite(value) else 128
        r, g, b = (int(v) for v in self._lut[k])
        return QtGui.QColor(r, g, b)

    def paintEvent(self, ev) -> None:
        f = self.frame
        if f is None or not self._chars:
            return
        p = QtGui.QPainter(self)
        p.setFont(self._font)
        fg, muted = QtGui.QColor(self.look.foreground), QtGui.QColor(self.look.muted)
        rect = ev.rect()
        first = max(0, int((rect.top() - MARGIN) // self._lh))
        last = min(len(self._starts) - 1, int((rect.bottom() - MARGIN) // self._lh))
        sel = self.selection
        dark, light = QtGui.QColor("#101010"), QtGui.QColor("#F8F8F8")
        for line in range(first, last + 1):
            start = int(self._starts[line])
            end = int(self._starts[line + 1]) if line + 1 < len(self._starts) else len(self._chars)
            y = MARGIN + line * self._lh
            for t in range(start, end):
                x = MARGIN + (t - start) * self._cw
                cell = QtCore.QRectF(x, y, self._cw, self._lh - 1)
                ch = self._chars[t]
                if t < f.revealed:
                    bg = self.colourOf(f.values[t])
                    p.fillRect(cell, bg)
                    p.setPen(dark if bg.lightnessF() > 0.55 else light)
                else:
                    p.setPen(muted)
                if ch in TX.VISIBLE or not ch:
                    p.setPen(muted if t >= f.revealed else p.pen().color())
                p.drawText(QtCore.QPointF(x, y + self._ascent + LINE_GAP / 2), TX.visible(ch) if ch else "·")
                if sel is not None and sel[0] <= t < sel[1]:
                    p.fillRect(QtCore.QRectF(x, y + self._lh - 4, self._cw, 3), fg)
            if start <= f.current < end:
                x = MARGIN + (f.current - start) * self._cw
                p.setPen(QtGui.QPen(fg, 2.5))
                p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                p.drawRect(QtCore.QRectF(x - 1, y - 1, self._cw + 2, self._lh + 1))
        p.end()

    # ------------------------------------------------------------ mouse
    def mousePressEvent(self, ev) -> None:
        t = self.stepAt(ev.position())
        if ev.button() == QtCore.Qt.MouseButton.LeftButton and t is not None:
            self._press = t
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev) -> None:
        t = self.stepAt(ev.position())
        if self._press is not None and t is not None and t != self._press:
            self._select(min(t, self._press), max(t, self._press) + 1)
        if self.frame is not None and t is not None:
            QtWidgets.QToolTip.showText(ev.globalPosition().toPoint(), self.frame.tooltip(t), self)
        elif t is None:
            QtWidgets.QToolTip.hideText()
        super().mouseMoveEvent(ev)

    def mouseReleaseEvent(self, ev) -> None:
        t = self.stepAt(ev.position())
        if self._press is not None and t == self._press:
            self.stepClicked.emit(t)  # a click, not a drag: step there
        self._press = None
        super().mouseReleaseEvent(ev)

    def _select(self, start: int, stop: int) -> None:
        if self.selection != (start, stop):
            self.selection = (start, stop)
            self.update()
            self.selectionChanged.emit(start, stop)

    def select(self, start: int, stop: int) -> None:
        """Select steps ``start`` … ``stop − 1`` as a drag would."""
        self._select(max(0, start), min(len(self._chars), stop))


class TextPanel(Panel, QtWidgets.QWidget):
    """The reading view. Accessors for tests: :meth:`textFrame`, :meth:`rankedUnits`,
    :attr:`canvas`, :meth:`readText`."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self._frame = None
        self._dirty = False
        self._tf: TX.TextFrame | None = None
        self._ranked: list[TX.UnitMatch] = []
        self._cache = None  # (result, unit, trained model's name, TextFrame) of the last run drawn

        self.setAutoFillBackground(True)
        self.title = QtWidgets.QLabel("Text")
        self.title.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.everyCheck = QtWidgets.QCheckBox("every occurrence")
        self.everyCheck.setToolTip("Rank the units over every place the selected characters occur, not just this one")
        self.everyCheck.toggled.connect(self._rank)
        self.readButton = QtWidgets.QPushButton("Read a text…")
        self.readButton.setToolTip("Run the model on a text of your own (at most 10,000 characters)")
        self.readButton.clicked.connect(self.askText)
        self.legendLabel = QtWidgets.QLabel()
        self.legendLabel.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.legendLabel.setWordWrap(True)
        self.legendLabel.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.canvas = TextCanvas()
        self.canvas.stepClicked.connect(self.controller.setStep)
        self.canvas.selectionChanged.connect(self._rank)
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.canvas)
        self.scroll.viewport().installEventFilter(self)
        self.unitsLabel = QtWidgets.QLabel(DRAG_HINT)
        self.unitsLabel.setWordWrap(True)
        self.unitsLabel.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.units = QtWidgets.QListWidget()
        self.units.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.units.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.units.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.units.itemClicked.connect(self._onUnitClicked)
        self.messageLabel = QtWidgets.QLabel()
        self.messageLabel.setWordWrap(True)
        self.messageLabel.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)

        header = QtWidgets.QHBoxLayout()
        header.setContentsMargins(6, 2, 6, 0)
        header.addWidget(self.title, 1)
        header.addWidget(self.readButton, 0)
        side = QtWidgets.QVBoxLayout()
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.unitsLabel)
        side.addWidget(self.everyCheck)
        side.addWidget(self.units, 1)
        self.sideBox = QtWidgets.QWidget()
        self.sideBox.setLayout(side)
        self.body = QtWidgets.QHBoxLayout()
        self.body.setContentsMargins(0, 0, 6, 4)
        self.body.addWidget(self.scroll, 7)
        self.body.addWidget(self.sideBox, 3)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(header)
        legend = QtWidgets.QHBoxLayout()
        legend.setContentsMargins(8, 0, 6, 0)
        legend.addWidget(self.legendLabel)
        lay.addLayout(legend)
        lay.addLayout(self.body, 1)
        lay.addWidget(self.messageLabel, 1)
        self._style()
        controller.frameChanged.connect(self.setFrame)
        if controller.frame is not None:
            self.setFrame(controller.frame)

    # ------------------------------------------------------------ look
    def _style(self) -> None:
        look = self.look
        pal = self.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(look.background))
        pal.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(look.foreground))
        pal.setColor(QtGui.QPalette.ColorRole.Base, QtGui.QColor(look.background))
        pal.setColor(QtGui.QPalette.ColorRole.Text, QtGui.QColor(look.foreground))
        self.setPalette(pal)
        for w in (self.title, self.everyCheck, self.readButton, self.legendLabel, self.unitsLabel, self.units):
            w.setFont(theme.font(look.font_pt))
        self.messageLabel.setFont(theme.font(look.title_pt))
        self.canvas.setLook(look)

    def setTheme(self, look: theme.Theme) -> None:
        super().setTheme(look)
        self._style()  # another font: other lines
        self._dirty = True
        self._drawIfShown()
        if self._tf is not None:
            QtCore.QTimer.singleShot(0, self, lambda: self._tf is not None and self._ensureCurrentVisible(self._tf))

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.scroll.viewport() and ev.type() == QtCore.QEvent.Type.Resize:
            self.canvas.setRoom(ev.size().width(), ev.size().height())
            if self._tf is not None:  # new lines: keep the current step in sight
                QtCore.QTimer.singleShot(0, self, lambda: self._tf is not None and self._ensureCurrentVisible(self._tf))
        return False

    # ------------------------------------------------------------ frame → view
    def setFrame(self, frame) -> None:
        self._frame = frame
        self._dirty = True
        self._drawIfShown()

    def settle(self) -> None:
        self._drawIfShown()

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        self._drawIfShown()

    def isRelevant(self) -> bool:
        s = self._frame.result.settings if self._frame is not None else None
        return s is not None and s.signal == "custom" and bool(s.text)

    def isShowingMessage(self) -> bool:
        return self._frame is not None and self._tf is None

    def _drawIfShown(self) -> None:
        if self._dirty and self._frame is not None and self.isVisible():
            self._draw()

    def textFrame(self) -> TX.TextFrame | None:
        """The TextFrame of the current frame (made now if the panel has not drawn it). What
        depends on the run and the unit is made once; a step only moves the cursor."""
        f = self._frame
        if f is None:
            return None
        ex = self._trained()
        name = None if ex is None else ex.name
        cached = self._cache
        if cached is None or cached[0] is not f.result or cached[1:3] != (f.unit, name):
            if ex is None:  # a loaded character model's own head, if it has one
                from ..core.wholemodel import next_token_probs

                output = next_token_probs(self.controller.app.whole, f.result)
            else:
                output = (TX.next_char_probs(ex.model, f.result.cells[0].trace.h), ex.task.chars.chars)
            cached = self._cache = (f.result, f.unit, name, TX.text_frame(f, output))
        base = cached[3]
        return None if base is None else dataclasses.replace(base, revealed=f.revealed, current=f.step)

    def _trained(self):
        """The Train mode's model shown in Explore, if it is a character model."""
        from .training import existing_training

        tc = existing_training(self.controller)
        ex = tc.explored if tc is not None else None
        if ex is None or ex.task.chars is None or self.controller.loadedName != ex.name:
            return None
        return ex

    def _draw(self) -> None:
        self._dirty = False
        old, self._tf = self._tf, self.textFrame()
        tf = self._tf
        none = tf is None
        for w in (self.scroll, self.sideBox, self.legendLabel):
            w.setVisible(not none)
        self.messageLabel.setVisible(none)
        self.readButton.setEnabled(self._trained() is not None or self._vocabModel() is not None)
        if none:
            self.title.setText(f"<b style='font-size:{self.look.title_pt}pt'>Text</b>")
            self.messageLabel.setText(
                "The input is not text. Train a character model (Train mode, task “text”, Ctrl+T) "
                "and explore it, or open the lesson “What does a unit track?”: then the text it reads "
                "appears here, each character on the colour of one unit.")
            self.canvas.setFrame(None)
            return
        self.title.setText(f"<b style='font-size:{self.look.title_pt}pt'>Text</b>&nbsp;&nbsp; coloured by unit {tf.unit}")
        self.title.setToolTip(f"Each character on the colour of unit {tf.unit}'s h_t after reading it")
        self.legendLabel.setText(self._legendHtml(tf))
        self.canvas.setFrame(tf)
        if old is None or old.chars != tf.chars or old.values is not tf.values:
            self._rank()
        self._ensureCurrentVisible(tf)

    def _legendHtml(self, tf) -> str:
        lut = self.canvas._lut
        stops = "".join(f"<span style='background-color:rgb({r},{g},{b})'>&nbsp;&nbsp;</span>"
                        for r, g, b in lut[:: 32].tolist() + [lut[-1].tolist()])
        lo, hi = tf.levels
        return (f"h: {html.escape(fmt_value(lo))} {stops} {html.escape(fmt_value(hi))}"
                f"<span style='color:{self.look.muted}'>&nbsp;&nbsp; click: step there · drag: find units</span>")

    def _ensureCurrentVisible(self, tf) -> None:
        if 0 <= tf.current < tf.T:
            r = self.canvas.cellRect(tf.current)
            self.scroll.ensureVisible(int(r.center().x()), int(r.center().y()), 0, int(r.height()))

    # ------------------------------------------------------------ units
    def _rank(self, *_args) -> None:
        tf, sel = self._tf, self.canvas.selection
        self.units.clear()
        if tf is None or sel is None:
            self._ranked = []
            self.unitsLabel.setText(DRAG_HINT)
            return
        h = self._frame.result.cells[0].trace.h
        start, stop = sel
        picked = "".join(tf.chars[start:stop])
        if self.everyCheck.isChecked():
            mask = np.zeros(tf.T, dtype=bool)
            for k in TX.occurrences("".join(tf.chars), picked):
                mask[k:k + len(picked)] = True
            places = f"“{_short(picked)}” ({len(TX.occurrences(''.join(tf.chars), picked)):,} places)"
        else:
            mask = np.zeros(tf.T, dtype=bool)
            mask[start:stop] = True
            places = f"“{_short(picked)}” (steps {start + 1}–{stop})"
        self._ranked = TX.rank_mask(h, mask)
        self.unitsLabel.setText(f"High in {html.escape(places)}, low elsewhere:")
        self.unitsLabel.setToolTip("The units whose h is high in the selection and low elsewhere, best first; "
                                   "click one to colour the text by it")
        for m in self._ranked:
            item = QtWidgets.QListWidgetItem(f"unit {m.unit}   {m.score:+.2f}")
            item.setToolTip(f"unit {m.unit}: mean h inside {fmt_value(m.inside)}, elsewhere {fmt_value(m.outside)};\n"
                            f"{100 * m.separated:.0f} % of the other steps are below its lowest value inside.\n"
                            "Score: the difference of the means over the unit's whole range along the text.")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, m.unit)
            self.units.addItem(item)

    def rankedUnits(self) -> list[TX.UnitMatch]:
        return list(self._ranked)

    def _onUnitClicked(self, item) -> None:
        self.controller.setSelectedUnit(int(item.data(QtCore.Qt.ItemDataRole.UserRole)))

    # ------------------------------------------------------------ reading a text
    def _vocabModel(self):
        """The loaded file's whole model when it reads text (an embedding and a vocabulary)."""
        whole = self.controller.app.whole
        return whole if whole is not None and whole.embedding is not None and whole.vocab is not None else None

    def askText(self) -> None:
        ex = self._trained()
        if ex is None:
            whole = self._vocabModel()
            if whole is not None:
                from .tokens import ask_tokens

                ask_tokens(self.window(), as_text=True)  # the window's File ▸ Type token ids or text…
            return
        # the text it was trained on, to start from (the test windows are pieces of it)
        start = self._trainingText() or ("".join(self._tf.chars) if self._tf else "")
        text, ok = QtWidgets.QInputDialog.getMultiLineText(
            self, "Read a text", f"Text for the model to read (at most {TX.MAX_TEXT:,} characters, "
                                 f"of its {len(ex.task.chars.chars)}):", start)
        if ok:
            problem = self.readText(text)
            if problem:
                QtWidgets.QMessageBox.warning(self, "Read a text", problem)

    def _trainingText(self) -> str:
        from .training import existing_training

        tc = existing_training(self.controller)
        text = tc.session.config.text if tc is not None else ""
        return text if len(text) <= TX.MAX_TEXT else ""

    def readText(self, text: str) -> str | None:
        """Run the explored character model on ``text``; returns a one-line problem, or None."""
        ex = self._trained()
        if ex is None:
            return "No character model is explored: train one in the Train mode first."
        if not text:
            return "The text is empty."
        if len(text) > TX.MAX_TEXT:
            return f"The text has {len(text):,} characters; at most {TX.MAX_TEXT:,}."
        try:
            xs = TX.one_hot(text, ex.task.chars.chars)
        except ValueError as err:
            return f"The text cannot be read: {err}."
        self.controller.app.update(signal="custom", custom=tuple(map(tuple, xs.tolist())), T=len(text), text=text)
        return None


def _short(s: str, n: int = 24) -> str:
    s = "".join(TX.visible(c) for c in s)
    return s if len(s) <= n else s[: n - 1] + "…"
