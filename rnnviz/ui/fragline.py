"""One line of rich text (a :class:`~rnnviz.core.format.Frag`) painted run by run.

A rich-text QLabel parses its HTML into a QTextDocument and lays it out again for every new
text, and the layout, done lazily inside the paint, asks for one more frame: the fading
panel's status line, new at every tick of a slider drag, cost ~1 ms of each tick so. Here a
new line is measured span by span (a font per style and a QStaticText per span's text, kept)
and painted with one ``drawStaticText`` a span: bold, sub- and superscripts, and the theme's
colour of each span's role.
"""

from __future__ import annotations

import math

from PySide6 import QtCore, QtGui, QtWidgets

from . import theme
from ..core.format import Frag
from .equations import frag_html

#: a sub/superscript's size, and how far its baseline moves, in parts of the line's ascent
SCRIPT_SCALE = 0.7
SCRIPT_SHIFT = {"sub": 0.22, "sup": -0.38}


class FragLine(QtWidgets.QWidget):
    """A one-line label for a Frag: left-aligned, vertically centred, clipped when narrow. Its
    height follows its font (one line, as a QLabel's); its width is what the layout gives."""

    def __init__(self, look: theme.Theme, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.look = look
        self._frag = Frag()
        self._runs: list = []  # (x, y offset of the text's top, font, colour, static text)
        self._fonts: dict = {}
        self._texts: dict = {}  # (style, text) -> QStaticText: most spans recur from tick to tick
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        # it fills itself with the theme's background: a new line repaints only this widget,
        # not the part of the panel behind it
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._fitHeight()

    # ------------------------------------------------------------ contents
    def setFrag(self, frag: Frag, look: theme.Theme | None = None) -> None:
        """Show ``frag`` (in the colours of ``look``, if given); nothing happens if it is shown."""
        look = self.look if look is None else look
        if frag == self._frag and look is self.look and self._runs:
            return
        self._frag, self.look = Frag(frag), look
        self._layoutRuns()
        self.update()

    def frag(self) -> Frag:
        return self._frag

    def text(self) -> str:
        """The line as HTML (what a rich-text QLabel showing it would hold)."""
        return frag_html(self._frag, self.look)

    def plainText(self) -> str:
        """The characters shown, a no-break space as a space (as QTextDocument.toPlainText)."""
        return "".join(span.text for span in self._frag).replace("\u00a0", " ")

    # ------------------------------------------------------------ fonts and geometry
    def changeEvent(self, ev: QtCore.QEvent) -> None:
        if ev.type() == QtCore.QEvent.Type.FontChange:
            self._fonts, self._texts = {}, {}
            self._fitHeight()
            self._layoutRuns()
            self.update()
        super().changeEvent(ev)

    def _font(self, bold: bool, script: str | None) -> QtGui.QFont:
        key = (bold, bool(script))
        font = self._fonts.get(key)
        if font is None:
            font = QtGui.QFont(self.font())
            font.setBold(bold)
            if script:
                font.setPointSizeF(font.pointSizeF() * SCRIPT_SCALE)
            font = self._fonts[key] = font
        return font

    def _fitHeight(self) -> None:
        # a rich-text QLabel's line: a subscript digit's foot stays above the font's descent
        height = math.ceil(QtGui.QFontMetricsF(self._font(False, None)).height())
        if height != self.height() or self.minimumHeight() != height:
            self.setFixedHeight(height)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(0, self.height())

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(0, self.height())

    def _static(self, style: tuple, font: QtGui.QFont, text: str) -> tuple:
        """(the laid-out text, its font's ascent) for a span's text in one style."""
        key = (style, text)
        got = self._texts.get(key)
        if got is None:
            if len(self._texts) > 512:
                self._texts.clear()
            st = QtGui.QStaticText(text)
            st.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            st.prepare(QtGui.QTransform(), font)
            got = self._texts[key] = (st, QtGui.QFontMetricsF(font).ascent())
        return got

    def _layoutRuns(self) -> None:
        ascent = QtGui.QFontMetricsF(self._font(False, None)).ascent()
        runs, x = [], 0.0
        for span in self._frag:
            if not span.text:
                continue
            style = (span.bold, bool(span.script))
            font = self._font(*style)
            st, own_ascent = self._static(style, font, span.text)
            colour = QtGui.QColor(self.look.role_colour(span.role) or self.look.foreground)
            dy = SCRIPT_SHIFT.get(span.script, 0.0) * ascent - own_ascent  # baseline → the text's top
            runs.append((x, dy, font, colour, st))
            x += st.size().width()
        self._runs = runs

    def paintEvent(self, _ev) -> None:
        p = QtGui.QPainter(self)
        try:
            p.fillRect(self.rect(), QtGui.QColor(self.look.background))
            fm = QtGui.QFontMetricsF(self._font(False, None))
            baseline = (self.height() - fm.height()) / 2 + fm.ascent()
            for x, dy, font, colour, st in self._runs:
                p.setFont(font)
                p.setPen(colour)
                p.drawStaticText(QtCore.QPointF(x, baseline + dy), st)
        finally:
            p.end()
