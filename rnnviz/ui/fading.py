"""The fading of x₁: how much of the first input is still in h_t, step by step.

The seed document's picture of the long-term dependency problem: x₁ starts dark navy and
fades towards white along the unrolled chain. The panel shows it twice:

* a log-scale plot of ‖∂h_t/∂x₁‖ (the engine's ``trace.influence``) against t, with the
  finite-difference check ‖h_t(x₁ + ε) − h_t(x₁)‖/ε dashed and, on request, the backward
  gradient flow ‖∂h_T/∂h_t‖ of backpropagation through time;
* below it, the chain of cells, one box per step (a painted strip for long sequences),
  shaded by influence[t] / influence[0] on a log scale: 100 % navy … 0.01 % white.

Only revealed steps are drawn. The curves, ranges, ticks, ratios, shades and texts come
ready-made in the frame (:class:`rnnviz.core.frames.FadingFrame`); this module maps them to
plot items and paints the chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from . import theme
from ..core.format import box_label, fmt_percent, fmt_value  # noqa: F401 - box_label, fmt_value re-exported
from ..core.format import Frag
from ..core.format import sub_digits as sub
from ..core.frames import CHAIN_DECADES, EXPLODING_RATIO, Y_LABEL, ChainRowFrame, CurveFrame, chain_shade, hold_range
from .fragline import FragLine
from .caching import cache_decorations
from .panels import Panel
from .timeaxis import SymbolTicks

#: Below this many pixels per step the boxes merge into one continuous strip.
BOX_MIN_PITCH = 9.0
#: The status line may shrink by this many points to fit on one line.
STATUS_MIN_PT = 4
#: … and it shrinks at most this much before a shorter form of it is tried
STATUS_NEAR_PT = 2
#: Longer runs are drawn downsampled to about one point per pixel.
DOWNSAMPLE_ABOVE = 2000
#: Fixed width of the plot's left axis, so the chain below lines up and has a label gutter.
LEFT_AXIS_WIDTH = 78
#: Below this many pixels of plot the chain of boxes under it is hidden (the curves are the lesson).
MIN_PLOT_HEIGHT = 150
#: The legend sits this far (x, y pixels) inside its corner of the plot …
LEGEND_OFFSET = (8, 6)
#: … and keeps this much room from a curve (half the widest pen, 4 px, and a pixel)
LEGEND_ROOM = 3
#: The y range a drag held tightens this long after the mouse button is let go.
HOLD_RELEASE_MS = 250

#: The backward toggle's text, longest first: the panel uses the longest that fits its width.
BACKWARD_TEXTS = ("Backward view: ‖∂h_T/∂h_t‖ (gradient flow in BPTT)", "Backward view: ‖∂h_T/∂h_t‖",
                  "Backward ‖∂h_T/∂h_t‖")

NONFINITE_FILL = "#F4C2C2"
NONFINITE_HATCH = "#B00020"
GREW_MARK = theme.LIGHT.grew  # the same in every theme
UNREVEALED_PEN = "#A0A0A0"
INPUT_PEN = "#808080"


# ---------------------------------------------------------------- chain colours

_BOX_LABEL_WIDEST = ("0.05%", ">100%", "100%")


def _rgb(colour) -> np.ndarray:
    c = QtGui.QColor(*colour) if isinstance(colour, tuple) else QtGui.QColor(colour)
    return np.array([c.red(), c.green(), c.blue()], dtype=np.float64)


def shade_argb(shade: np.ndarray, navy: tuple = theme.LIGHT.navy) -> np.ndarray:
    """(T,) uint32 ARGB colours of chain shades: white → ``navy`` (the theme's); NaN in the
    overflow fill."""
    a = np.asarray(shade, dtype=np.float64)
    bad = np.isnan(a)
    a = np.where(bad, 0.0, a)[:, None]
    rgb = 255.0 + a * (_rgb(tuple(navy)) - 255.0)
    rgb[bad] = _rgb(NONFINITE_FILL)
    rgb = np.rint(rgb).astype(np.uint32)
    return (np.uint32(0xFF000000) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).astype(np.uint32)


def chain_argb(ratio: np.ndarray, decades: float = CHAIN_DECADES, navy: tuple = theme.LIGHT.navy) -> np.ndarray:
    """(T,) uint32 ARGB colours of influence ratios, by :func:`chain_shade`."""
    return shade_argb(chain_shade(ratio, decades), navy)


def _image(argb: np.ndarray) -> QtGui.QImage:
    argb = np.ascontiguousarray(argb, dtype=np.uint32)
    n = max(int(argb.shape[0]), 1)
    if argb.shape[0] == 0:
        argb = np.zeros(1, np.uint32)
    return QtGui.QImage(argb.tobytes(), n, 1, 4 * n, QtGui.QImage.Format.Format_ARGB32).copy()


def _colour(role: str, look: theme.Theme) -> str:
    """The colour of ``look`` for a frame's colour role ("cell:gru"; a loaded model's otherwise)."""
    return look.role_colour(role, look.cell_colour("loaded"))


class ChainRow:
    """One cell's chain as drawn: the frame's row (ratios, shades, marks) and its pictures in
    the colours of ``look``."""

    def __init__(self, frame: ChainRowFrame, look: theme.Theme):
        self.frame = frame
        self.colour = _colour(frame.colour, look)
        self.argb = shade_argb(frame.shade, look.navy)
        warn = np.where(frame.grew, np.uint32(0xFF000000) | np.uint32(QtGui.QColor(GREW_MARK).rgb() & 0xFFFFFF),
                        np.uint32(0)).astype(np.uint32)
        self.image = _image(self.argb)
        self.grew_image = _image(warn)

    def __getattr__(self, name):  # key, label, short, influence, ratio, grew, bad, shade, …
        return getattr(self.__dict__["frame"], name)


# ---------------------------------------------------------------- chain view


class ChainView(QtWidgets.QWidget):
    """The unrolled chain x₁ → cell 1 → cell 2 → …, painted (no graphics items per step).

    Boxes while there are at least :data:`BOX_MIN_PITCH` pixels per step, else one strip
    drawn from a 1-pixel-high QImage of all T colours. Steps are laid out under the plot's
    x axis by ``setSpanProvider``; clicking or dragging on the chain moves to that step.
    """

    stepClicked = QtCore.Signal(int)  # 0-based step

    TOP = 4
    LEGEND_H = 40
    look = theme.LIGHT  # the theme FadingPanel hands it (setTheme)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paintEvent fills it all
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self._rows: list[ChainRow] = []
        self._fading = None
        self._T = 0
        self._n = 0
        self._current = -1
        self._span_fn = None
        self._legend_key = None
        self._box_geometry: dict = {}  # (layout) -> (xs, box rects, gaps path): see _boxGeometry
        self._setFonts(self.look)
        self._relayout()

    def setTheme(self, look: theme.Theme) -> None:
        self.look = look
        self._setFonts(look)
        self._legend_key = None  # the cached legend picture has the old colours
        self.update()

    def _setFonts(self, look: theme.Theme) -> None:
        # the chain's rows and legend have fixed sizes: its fonts grow at most 1.2×
        k = min(look.font_scale, 1.2)
        self._font = theme.font(round((theme.BASE_FONT_PT - 1) * k))
        self._small = theme.font(theme.BASE_AXIS_PT - 1)  # legend ticks 1.2× larger collide
        self._label_font = theme.font(round(theme.BASE_FONT_PT * k), bold=True)

    # geometry --------------------------------------------------------
    def _metrics(self):
        compare = len(self._rows) > 1
        warn_h, box_h, gap = (7, 20, 4) if compare else (9, 32, 0)
        return warn_h, box_h, gap

    def _relayout(self) -> None:
        warn_h, box_h, gap = self._metrics()
        rows = max(len(self._rows), 1)
        h = self.TOP + rows * (warn_h + box_h + gap) + 30 + self.LEGEND_H
        self.setFixedHeight(h)

    def rowRect(self, i: int) -> QtCore.QRectF:
        """The box band of row ``i`` (full width)."""
        warn_h, box_h, gap = self._metrics()
        y = self.TOP + i * (warn_h + box_h + gap) + warn_h
        return QtCore.QRectF(0, y, self.width(), box_h)

    def setSpanProvider(self, fn) -> None:
        """``fn() -> (x_left, x_right)``: where steps 0.5 and T + 0.5 sit in this widget."""
        self._span_fn = fn
        self.update()

    def span(self) -> tuple[float, float]:
        if self._painting is not None:
            return self._painting  # one paint asks it five times; the plot's mapping is Python
        if self._span_fn is not None:
            try:
                left, right = self._span_fn()
                if right - left > 4:
                    return float(left), float(right)
            except RuntimeError:  # the plot is being torn down
                pass
        return float(LEFT_AXIS_WIDTH), float(self.width() - 12)

    def pitch(self) -> float:
        left, right = self.span()
        return (right - left) / max(self._T, 1)

    def boxMode(self) -> bool:
        return self.pitch() >= BOX_MIN_PITCH

    # state -----------------------------------------------------------
    def setRows(self, rows: list[ChainRow], T: int, fading=None) -> None:
        """Show the chain rows of ``fading`` (a :class:`~rnnviz.core.frames.FadingFrame`)."""
        resize = len(rows) != len(self._rows)
        self._rows, self._T, self._fading = rows, int(T), fading
        if resize:
            self._relayout()
        self.update()

    def setRevealed(self, n: int, current: int) -> None:
        if (n, current) != (self._n, self._current):
            self._n, self._current = int(n), int(current)
            self.update()

    def rows(self) -> list[ChainRow]:
        return list(self._rows)

    def revealed(self) -> int:
        return self._n

    # hit testing -----------------------------------------------------
    def stepAt(self, x: float) -> int | None:
        left, right = self.span()
        if self._T == 0 or not left <= x <= right:
            return None
        return int(min(max((x - left) / self.pitch(), 0), self._T - 1))

    def rowAt(self, y: float) -> int | None:
        warn_h, box_h, gap = self._metrics()
        for i in range(len(self._rows)):
            r = self.rowRect(i)
            if r.top() - warn_h <= y <= r.bottom() + gap:
                return i
        return None

    def toolTipAt(self, pos) -> str:
        t, i = self.stepAt(pos.x()), self.rowAt(pos.y())
        if t is None or i is None:
            return ""
        return self._fading.chain_tooltip(i, t, self._n)

    def event(self, ev) -> bool:
        if ev.type() == QtCore.QEvent.Type.ToolTip:
            text = self.toolTipAt(ev.pos())
            if text:
                QtWidgets.QToolTip.showText(ev.globalPos(), text, self)
            else:
                QtWidgets.QToolTip.hideText()
                ev.ignore()
            return True
        return super().event(ev)

    def mousePressEvent(self, ev) -> None:
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            t = self.stepAt(ev.position().x())
            if t is not None:
                self.stepClicked.emit(t)
                return
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev) -> None:
        if ev.buttons() & QtCore.Qt.MouseButton.LeftButton:
            t = self.stepAt(ev.position().x())
            if t is not None:
                self.stepClicked.emit(t)
        super().mouseMoveEvent(ev)

    # painting ----------------------------------------------------------
    _painting = None  # (left, right) while a paint runs

    def paintEvent(self, _ev) -> None:
        p = QtGui.QPainter(self)
        self._painting = self.span()
        try:
            p.fillRect(self.rect(), QtGui.QColor(self.look.background))
            if not self._rows or self._T == 0:
                p.setPen(QtGui.QColor(self.look.foreground))
                p.setFont(self._font)
                p.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, "waiting for the first run…")
                return
            left, right = self.span()
            boxes = self.boxMode()
            p.drawPixmap(0, 0, self._staticLayer(left, right, boxes))
            for i, row in enumerate(self._rows):
                rect = self.rowRect(i)
                if boxes:
                    self._paintBoxes(p, row, rect, left)
                else:
                    self._paintStrip(p, row, rect, left, right)
            if not boxes:
                self._paintCursorLine(p, left)
        finally:
            self._painting = None
            p.end()

    def _staticLayer(self, left: float, right: float, boxes: bool) -> QtGui.QPixmap:
        """The background, the row labels, the input arrows and the legend: one picture kept
        while the layout, the revealed steps and the rows' names stay (a weights slider's drag
        changes only the boxes' colours; the arrows' antialiased heads cost most of a paint)."""
        dpr = self.devicePixelRatioF()
        key = (self.width(), self.height(), dpr, left, right, boxes, self._T, self._n, self.pitch(),
               tuple((row.short, row.colour) for row in self._rows), self.look, self._label_font.key(),
               self._small.key())
        if getattr(self, "_static_layer_key", None) != key:
            pix = QtGui.QPixmap(int(self.width() * dpr), int(self.height() * dpr))
            pix.setDevicePixelRatio(dpr)
            pix.fill(QtGui.QColor(self.look.background))
            q = QtGui.QPainter(pix)
            try:
                for i, row in enumerate(self._rows):
                    self._paintLabel(q, row, self.rowRect(i), left)
                self._paintInputs(q, left, boxes)
                self._paintLegend(q)
            finally:
                q.end()
            self._static_layer, self._static_layer_key = pix, key
        return self._static_layer

    def _paintLabel(self, p, row, rect, left) -> None:
        p.setFont(self._label_font)
        p.setPen(QtGui.QColor(row.colour))
        r = QtCore.QRectF(2, rect.top() - 4, left - 10, rect.height() + 8)
        p.drawText(r, QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter, row.short)

    def _paintBoxes(self, p, row, rect, left) -> None:
        """One box per step, drawn in batches (a few calls per row, not a few per box: at 30
        steps the per-box calls were 1.6 ms of every slider tick's frame)."""
        pitch = self.pitch()
        gap = min(max(pitch * 0.22, 2.0), 14.0)
        w = min(pitch - gap, 90.0)  # a few steps: boxes, not slabs
        gap = pitch - w
        y, h = rect.top(), rect.height()
        T, n = self._T, min(self._n, self._T)
        xs, boxes, gaps = self._boxGeometry(left, pitch, w, gap, y, h, T, n)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)
        if n:
            # the shades: step k's colour over its box and the gap after it, then the gaps
            p.drawImage(QtCore.QRectF(xs[0], y, n * pitch, h), row.image, QtCore.QRectF(0, 0, n, 1))
            p.fillPath(gaps, QtGui.QColor(self.look.background))
            bad = np.flatnonzero(row.bad[:n])
            if bad.size:
                hatch = QtGui.QBrush(QtGui.QColor(NONFINITE_HATCH), QtCore.Qt.BrushStyle.BDiagPattern)
                for k in bad:
                    p.fillRect(boxes[k], hatch)
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.setPen(QtGui.QPen(QtGui.QColor(*self.look.navy).darker(110), 1))
            p.drawRects(boxes[:n])
            if h >= 16:
                self._paintBoxNumbers(p, row, boxes[:n], w)
        if n < T:
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.setPen(QtGui.QPen(QtGui.QColor(UNREVEALED_PEN), 1, QtCore.Qt.PenStyle.DashLine))
            p.drawRects(boxes[n:])
        for k in np.flatnonzero(row.grew[:n]):
            self._warnTriangle(p, xs[k] + w / 2, y - 1, min(w, 10.0))
        if gap >= 8 and T > 1:  # h_t → next cell
            p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
            colour = QtGui.QColor(INPUT_PEN)
            cy, head = y + h / 2, 4.0
            lines, heads = [], QtGui.QPainterPath()
            for x in xs[:-1]:
                a, b = x + w + 1, x + w + gap - 1
                lines.append(QtCore.QLineF(a, cy, b, cy))
                heads.addPolygon(QtGui.QPolygonF([QtCore.QPointF(b, cy), QtCore.QPointF(b - head, cy - 0.6 * head),
                                                  QtCore.QPointF(b - head, cy + 0.6 * head)]))
            p.setPen(QtGui.QPen(colour, 1.5))
            p.drawLines(lines)
            p.setBrush(colour)
            p.drawPath(heads)
            p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        if 0 <= self._current < T:
            p.setPen(QtGui.QPen(QtGui.QColor(self.look.cursor), 3))
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRect(boxes[self._current].adjusted(-1.5, -1.5, 1.5, 1.5))

    def _boxGeometry(self, left, pitch, w, gap, y, h, T, n) -> tuple:
        """The boxes' x positions and rects and the path of the gaps after the first ``n``
        (kept while they stay: a weights slider's drag only recolours the boxes)."""
        key = (left, pitch, w, gap, y, h, T, n)
        cache = self._box_geometry
        got = cache.get(key)
        if got is None:
            if len(cache) > 8:  # a row per cell; resizing makes new ones
                cache.clear()
            xs = [left + k * pitch + gap / 2 for k in range(T)]
            gaps = QtGui.QPainterPath()
            for x in xs[:n]:
                gaps.addRect(QtCore.QRectF(x + w, y - 1, gap, h + 2))
            got = cache[key] = (xs, [QtCore.QRectF(x, y, w, h) for x in xs], gaps)
        return got

    def _paintBoxNumbers(self, p, row, boxes, w) -> None:
        """The number in every revealed box, or in none: only when the widest label fits.
        Each label is laid out once (QStaticText, kept per font) and only drawn per frame."""
        fm = QtGui.QFontMetricsF(self._small)
        if max(fm.horizontalAdvance(t) for t in _BOX_LABEL_WIDEST) + 4 > w:
            return
        font_key = self._small.key()
        if getattr(self, "_label_texts_font", None) != font_key:
            self._label_texts_font, self._label_texts = font_key, {}
        texts = self._label_texts
        p.setFont(self._small)
        labels, dark = row.box_labels, row.dark
        for on_dark, colour in ((True, "#FFFFFF"), (False, self.look.foreground)):
            ks = [k for k in range(len(boxes)) if bool(dark[k]) == on_dark]
            if not ks:
                continue
            p.setPen(QtGui.QColor(colour))
            for k in ks:
                text = labels[k]
                st = texts.get(text)
                if st is None:
                    if len(texts) > 4096:
                        texts.clear()
                    st = texts[text] = QtGui.QStaticText(text)
                    st.prepare(QtGui.QTransform(), self._small)
                size, box = st.size(), boxes[k]
                p.drawStaticText(QtCore.QPointF(box.center().x() - size.width() / 2,
                                                box.center().y() - size.height() / 2), st)

    def _paintStrip(self, p, row, rect, left, right) -> None:
        pitch = self.pitch()
        n = self._n
        x_rev = left + n * pitch
        y, h = rect.top(), rect.height()
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)
        if n > 0:
            p.drawImage(QtCore.QRectF(left, y, n * pitch, h), row.image, QtCore.QRectF(0, 0, n, 1))
            hatch = QtGui.QBrush(QtGui.QColor(NONFINITE_HATCH), QtCore.Qt.BrushStyle.BDiagPattern)
            for a, b in row.bad_runs:
                if a >= n:
                    break
                b = min(b, n)
                p.fillRect(QtCore.QRectF(left + a * pitch, y, max((b - a) * pitch, 1.0), h), hatch)
            if row.grew[:n].any():
                p.drawImage(QtCore.QRectF(left, y - 6, n * pitch, 5), row.grew_image, QtCore.QRectF(0, 0, n, 1))
            p.setPen(QtGui.QPen(QtGui.QColor(*self.look.navy), 1))
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRect(QtCore.QRectF(left, y, n * pitch, h))
        if x_rev < right - 0.5:
            p.setPen(QtGui.QPen(QtGui.QColor(UNREVEALED_PEN), 1, QtCore.Qt.PenStyle.DashLine))
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRect(QtCore.QRectF(x_rev, y, right - x_rev, h))

    def _paintCursorLine(self, p, left) -> None:
        if not 0 <= self._current < self._T or not self._rows:
            return
        x = left + (self._current + 0.5) * self.pitch()
        top = self.rowRect(0).top() - 4
        bottom = self.rowRect(len(self._rows) - 1).bottom() + 4
        p.setPen(QtGui.QPen(QtGui.QColor(self.look.cursor), 2.5))
        p.drawLine(QtCore.QPointF(x, top), QtCore.QPointF(x, bottom))

    def _paintInputs(self, p, left, boxes) -> None:
        """Input arrows under the last row: x₁ in navy (it is what fades), the others grey."""
        pitch = self.pitch()
        y0 = self.rowRect(len(self._rows) - 1).bottom() + 2
        y1 = y0 + 11
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        if boxes and self._T > 1:
            fm = QtGui.QFontMetricsF(self._small)
            p.setFont(self._small)
            every = max(1, math.ceil(28.0 / pitch))  # label x_t only where there is room
            for first, stop, colour in ((1, self._n, INPUT_PEN), (max(self._n, 1), self._T, "#C8C8C8")):
                if stop <= first:
                    continue
                c = QtGui.QColor(colour)
                lines, heads = [], QtGui.QPainterPath()
                for k in range(first, stop):
                    cx = left + (k + 0.5) * pitch
                    lines.append(QtCore.QLineF(cx, y1, cx, y0 + 2))
                    heads.addPolygon(QtGui.QPolygonF([QtCore.QPointF(cx, y0), QtCore.QPointF(cx - 2.5, y0 + 4),
                                                      QtCore.QPointF(cx + 2.5, y0 + 4)]))
                p.setPen(QtGui.QPen(c, 1.2))
                p.drawLines(lines)
                p.fillPath(heads, c)
                if pitch >= 16:
                    for k in range(first, stop):
                        if (k + 1) % every == 0:
                            cx = left + (k + 0.5) * pitch
                            text = f"x{sub(k + 1)}"
                            p.drawText(QtCore.QPointF(cx - fm.horizontalAdvance(text) / 2, y1 + fm.ascent() + 1), text)
        cx = left + 0.5 * pitch if boxes else left + min(0.5 * pitch, 3.0)
        navy = QtGui.QColor(*self.look.navy)
        p.setPen(QtGui.QPen(navy, 2.5))
        _arrow(p, QtCore.QPointF(cx, y1 + 1), QtCore.QPointF(cx, y0), 5)
        p.setFont(self._label_font)
        fm = QtGui.QFontMetricsF(self._label_font)
        text = "x₁"
        tx = cx - fm.horizontalAdvance(text) / 2
        p.drawText(QtCore.QPointF(max(tx, 2.0), y1 + fm.ascent()), text)

    def _warnTriangle(self, p, cx, bottom, size) -> None:
        s = max(size, 5.0)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        tri = QtGui.QPolygonF([QtCore.QPointF(cx - s / 2, bottom), QtCore.QPointF(cx + s / 2, bottom),
                               QtCore.QPointF(cx, bottom - s * 0.75)])
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(QtGui.QColor(GREW_MARK))
        p.drawPolygon(tri)

    def _paintLegend(self, p) -> None:
        """'100 % … 1 % … 0.01 % of x₁ left (log scale)', and the special colours (cached)."""
        dpr = self.devicePixelRatioF()
        key = (self.width(), dpr)
        if getattr(self, "_legend_key", None) != key:
            pix = QtGui.QPixmap(int(self.width() * dpr), int(self.LEGEND_H * dpr))
            pix.setDevicePixelRatio(dpr)
            pix.fill(QtGui.QColor(self.look.background))
            q = QtGui.QPainter(pix)
            try:
                self._drawLegend(q)
            finally:
                q.end()
            self._legend_pix, self._legend_key = pix, key
        p.drawPixmap(QtCore.QPointF(0, self.height() - self.LEGEND_H), self._legend_pix)

    def _drawLegend(self, p) -> None:
        y = 6
        x = 6.0
        fm = QtGui.QFontMetricsF(self._font)
        small = QtGui.QFontMetricsF(self._small)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.setFont(self._font)
        p.setPen(QtGui.QColor(self.look.foreground))
        caption = "x₁ left vs step 1 (log):"
        p.drawText(QtCore.QPointF(x, y + fm.ascent()), caption)
        x += fm.horizontalAdvance(caption) + 10
        bar_w, bar_h = 120.0, 12.0
        grad = QtGui.QLinearGradient(x, 0, x + bar_w, 0)
        for s in np.linspace(0.0, 1.0, 9):
            ratio = 10.0 ** (-CHAIN_DECADES * s)
            grad.setColorAt(float(s), QtGui.QColor.fromRgba(int(chain_argb(np.array([ratio]), navy=self.look.navy)[0])))
        bar = QtCore.QRectF(x, y + 2, bar_w, bar_h)
        p.fillRect(bar, QtGui.QBrush(grad))
        p.setPen(QtGui.QPen(QtGui.QColor(self.look.foreground), 1))
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        p.drawRect(bar)
        p.setFont(self._small)
        decades = int(CHAIN_DECADES)
        for d, text in ((0, "100 %"), (decades // 2, fmt_percent(10.0 ** -(decades // 2))),
                        (decades, fmt_percent(10.0 ** -decades))):
            tx = x + bar_w * d / CHAIN_DECADES
            p.drawLine(QtCore.QPointF(tx, bar.bottom()), QtCore.QPointF(tx, bar.bottom() + 3))
            w = small.horizontalAdvance(text)
            tx = min(max(tx - w / 2, x - 4), x + bar_w - w + 6)
            p.drawText(QtCore.QPointF(tx, bar.bottom() + 3 + small.ascent()), text)
        x += bar_w + 18
        items = [("grew", f"exploding (>{EXPLODING_RATIO:g}×)"), ("bad", "inf/NaN"), ("empty", "not revealed")]
        for kind, text in items:
            need = 16 + 5 + fm.horizontalAdvance(text) + 14
            if x + need > self.width():
                break
            sw = QtCore.QRectF(x, y + 1, 16, 14)
            if kind == "grew":
                p.fillRect(sw, QtGui.QColor(*self.look.navy))
                self._warnTriangle(p, sw.center().x(), sw.top() - 1, 9)
            elif kind == "bad":
                p.fillRect(sw, QtGui.QColor(NONFINITE_FILL))
                p.fillRect(sw, QtGui.QBrush(QtGui.QColor(NONFINITE_HATCH), QtCore.Qt.BrushStyle.BDiagPattern))
            else:
                p.setPen(QtGui.QPen(QtGui.QColor(UNREVEALED_PEN), 1, QtCore.Qt.PenStyle.DashLine))
                p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                p.drawRect(sw)
            p.setFont(self._font)
            p.setPen(QtGui.QColor(self.look.foreground))
            p.drawText(QtCore.QPointF(x + 21, y + fm.ascent()), text)
            x += need


class _Marker(QtWidgets.QGraphicsItem):
    """The current step's dot on a curve: a circle of fixed pixel size at its position in the
    view (a ScatterPlotItem of one point cost ~0.8 ms of every slider tick's frame)."""

    def __init__(self, colour, size: float):
        super().__init__()
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self._brush = pg.mkBrush(colour)
        self._pen = pg.mkPen("w", width=1.5)
        r = size / 2
        self._circle = QtCore.QRectF(-r, -r, size, size)
        self._bounds = self._circle.adjusted(-1, -1, 1, 1)

    def boundingRect(self) -> QtCore.QRectF:
        return self._bounds

    def paint(self, p, *_args) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.setPen(self._pen)
        p.setBrush(self._brush)
        p.drawEllipse(self._circle)


class _Curve10(QtWidgets.QGraphicsPathItem):
    """A curve of positive values on the plot's log₁₀ axis, painted by Qt alone.

    A pyqtgraph PlotDataItem re-derived its display data, data bounds and pixel padding in
    Python at every slider tick, and Qt asked its Python ``boundingRect`` ~3 times a frame:
    ~1.5 ms of a Compare tick's 9 curves. Here ``setData`` builds one QPainterPath (log₁₀ y,
    NaN a gap, about one point per pixel for long runs), Qt paints it, and the bounding rect is
    the plot's view (the view box clips its items to it), set when the view changes. The
    PlotDataItem calls the panel, its legend and the tests use are kept:
    ``getOriginalDataset`` (the values given), ``getData`` (x, log₁₀ y) and ``opts``.
    """

    def __init__(self, pen: QtGui.QPen):
        super().__init__()
        self.setPen(pen)
        self.opts = {"pen": pen, "antialias": False, "symbol": None, "fillLevel": None, "fillBrush": None}
        self._x = self._y = self._log = np.zeros(0)
        self._rect = QtCore.QRectF()

    def setViewRect(self, rect: QtCore.QRectF) -> None:
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = QtCore.QRectF(rect)

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def shape(self) -> QtGui.QPainterPath:
        return QtGui.QPainterPath()  # not a mouse target: clicks and hovers are the view's

    def setData(self, x: np.ndarray, y: np.ndarray) -> None:
        self._x, self._y = x, y
        with np.errstate(all="ignore"):
            self._log = np.log10(y)
        drawn = self._log
        if not np.isfinite(drawn).all():  # log10 of 0 is −inf: a gap, as NaN is (Qt drops ±inf points noisily)
            drawn = np.where(np.isfinite(drawn), drawn, np.nan)
        px, py = peak_downsample(x, drawn, DOWNSAMPLE_ABOVE)
        self.setPath(pg.arrayToQPath(px, py, connect="finite") if px.size else QtGui.QPainterPath())

    def getOriginalDataset(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x, self._y

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x, self._log


def peak_downsample(x: np.ndarray, y: np.ndarray, most: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``most`` points of (x, y): a longer curve as the lowest and the highest value of
    each block of steps (pyqtgraph's "peak" method: spikes stay visible). A block with no
    finite value stays a gap."""
    n = y.size
    if n <= most:
        return x, y
    k = -(-n // (most // 2))
    m = -(-n // k)
    pad = np.full(m * k, np.nan)
    pad[:n] = y
    blocks = pad.reshape(m, k)
    out_y = np.empty((m, 2))
    out_y[:, 0] = np.fmin.reduce(blocks, axis=1)  # NaN only where the whole block is
    out_y[:, 1] = np.fmax.reduce(blocks, axis=1)
    xs = np.asarray(x[::k], np.float64)
    out_x = np.empty((m, 2))
    out_x[:, 0] = xs
    out_x[:, 1] = xs + 0.5 * (k - 1)
    return out_x.ravel(), out_y.ravel()


def _arrow(p, a: QtCore.QPointF, b: QtCore.QPointF, head: float) -> None:
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
    p.drawLine(a, b)
    d = b - a
    n = math.hypot(d.x(), d.y())
    if n < 1e-6:
        return
    ux, uy = d.x() / n, d.y() / n
    left = QtCore.QPointF(b.x() - head * ux + head * 0.6 * uy, b.y() - head * uy - head * 0.6 * ux)
    right = QtCore.QPointF(b.x() - head * ux - head * 0.6 * uy, b.y() - head * uy + head * 0.6 * ux)
    p.save()
    p.setBrush(p.pen().color())
    p.drawPolygon(QtGui.QPolygonF([b, left, right]))
    p.restore()


# ---------------------------------------------------------------- plot


class _StepAxis(SymbolTicks, pg.AxisItem):
    """Integer steps only: t = 1, 2, … (never 1.5); the characters of a run that reads text."""

    def plainTickValues(self, minVal, maxVal, size):
        out = []
        for spacing, values in pg.AxisItem.tickValues(self, minVal, maxVal, size):
            if spacing < 1:
                continue
            out.append((spacing, [v for v in values if v >= 1 and abs(v - round(v)) < 1e-6]))
        if not out:
            lo, hi = max(1, math.ceil(minVal)), math.floor(maxVal)
            out = [(1.0, [float(v) for v in range(lo, hi + 1)])]
        return out

    def plainTickStrings(self, values, scale, spacing):
        return [f"{int(round(v))}" for v in values]


@dataclass(eq=False)
class _Curve:
    """A plot item and the frame's curve it shows."""

    item: _Curve10
    frame: CurveFrame | None = None
    drawn: np.ndarray | None = None  # the y the item holds (frames are immutable: no copy)
    active: bool = False  # the frame's curve is visible and has values

    def draw(self, x: np.ndarray, y: np.ndarray) -> None:
        """Give the item (x, y) unless it holds exactly these values already: a slider tick
        that keeps a curve (a carried nudge curve, a deferred x₁ curve) costs it nothing
        (a new path is one log₁₀ and one QPainterPath of the revealed steps)."""
        old = self.drawn
        if old is not None and old.shape == y.shape and np.array_equal(old, y, equal_nan=True):
            return
        self.item.setData(x, y)
        self.drawn = y

    @property
    def y(self) -> np.ndarray:
        return self.frame.y if self.frame is not None else np.zeros(0)

    @property
    def shown(self) -> np.ndarray:
        return self.frame.shown if self.frame is not None else np.zeros(0)

    @property
    def reveal(self) -> bool:
        return self.frame.reveal if self.frame is not None else True


class FadingPanel(Panel, QtWidgets.QWidget):
    """"The fading of x₁": ‖∂h_t/∂x₁‖ on a log scale, and the chain of cells fading from navy.

    Curve keys (:meth:`curves`): single mode ``influence``, ``perturbation``, ``backward``;
    Compare mode ``"<label>/influence"`` etc. with the cell labels (``RNN (tanh)``, ``GRU``,
    ``LSTM``). A curve's original data are x = 1-based revealed steps, y = the engine's array
    (zeros and NaN as NaN gaps, +inf clipped to the top of the plot).
    """

    _statusStep = None  # the FadingStepFrame whose status is shown (its shorter forms on demand)

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self._frame = None  # the core.frames.Frame drawn
        self._pending = None  # a frame that came while the panel was hidden (drawn when shown)
        self._fading = None
        self._result = None
        self._rows: list[ChainRow] = []
        self._curves: dict[str, _Curve] = {}
        self._cell_keys: tuple = ()
        self._T = 0
        self._x = np.zeros(0)
        self._shown_n = -1
        self._top_clip = 1.0
        self._yrange = (-3.0, 0.0)
        self._view = None  # the ((x0, x1), (y0, y1)) range shown
        self._held = None  # the frame's y range a drag holds (core.frames.hold_range), or None
        self._heldView = None  # … and the view's (with the value label's room)
        self._holdTimer = QtCore.QTimer(self)
        self._holdTimer.setSingleShot(True)
        self._holdTimer.setInterval(HOLD_RELEASE_MS)
        self._holdTimer.timeout.connect(self._releaseHold)
        self._ticks = None  # the (ticks, T) the axis and grid show
        self._legend_key = None

        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(self.look.background))
        pal.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(self.look.foreground))
        self.setPalette(pal)

        self.title = QtWidgets.QLabel("The fading of x₁")
        self.title.setFont(theme.font(self.look.title_pt, bold=True))
        self.backwardCheck = QtWidgets.QCheckBox(BACKWARD_TEXTS[0])
        self.backwardCheck.setFont(theme.font(self.look.font_pt))
        self.backwardCheck.setToolTip(BACKWARD_TEXTS[0] + "\nAlso draw how strongly the last state h_T depends on "
                                      "each earlier state h_t:\nwhat backpropagation through time multiplies together.")
        # the panel may be narrow: never let the long label set its minimum width
        self.backwardCheck.setMinimumWidth(self._checkWidth(BACKWARD_TEXTS[-1]))
        self.backwardCheck.setChecked(bool(controller.settings.backward))
        self.backwardCheck.clicked.connect(self._onBackwardClicked)
        # one line that never reflows while stepping (the plot must not jump); may clip when narrow
        self.statusLabel = FragLine(self.look)
        self.statusLabel.setFont(theme.font(self.look.font_pt))

        self.graphics = theme.graphics_widget()
        self.graphics.setBackground(self.look.background)
        self.graphics.ci.layout.setContentsMargins(0, 4, 8, 0)
        self.plot = self.graphics.addPlot(axisItems={"bottom": _StepAxis("bottom")})
        self.plot.setLogMode(x=False, y=True)
        theme.style_plot(self.plot, self.look, left=Y_LABEL, bottom="step t")
        self.plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        # Fixed decade ticks and a light grid of our own: pyqtgraph's log grid (every minor
        # tick, alpha-blended) costs ~10 ms a repaint, most of a frame.
        self.grid = pg.PlotCurveItem(pen=pg.mkPen("#DDDDDD", width=1), connect="pairs", antialias=False)
        self.grid.setZValue(-10)
        self.plot.getViewBox().addItem(self.grid, ignoreBounds=True)  # not a plot "curve": no downsampling
        # long runs draw about one point per pixel (_fitDownsampling)
        self._downsampled = None
        self.vb = self.plot.getViewBox()
        self.vb.setMouseEnabled(False, False)
        self.vb.disableAutoRange()
        self.legend = self.plot.addLegend(offset=(-LEGEND_OFFSET[0], LEGEND_OFFSET[1]), labelTextSize=f"{self.look.font_pt - 1}pt",
                                          brush=pg.mkBrush(255, 255, 255, 215), pen=pg.mkPen("#C0C0C0"),
                                          verSpacing=-4)
        # the same entries in a row (or two rows of two), above the curves, when no corner is
        # free of them; made once: a LegendItem taken out of its scene crashes Qt at exit
        self._legendRows = {n: self._makeLegendRow(n) for n in (4, 2)}
        self.legendRow = self._legendRows[4]

        self.cursor = pg.InfiniteLine(angle=90, movable=True,
                                      pen=pg.mkPen(self.look.cursor, width=2.5, style=QtCore.Qt.PenStyle.DashLine),
                                      hoverPen=pg.mkPen(self.look.cursor, width=4))
        self.cursor.setZValue(5)
        self.cursor.sigDragged.connect(self._onCursorDragged)
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self._markers: list[_Marker] = []  # one per cell, moved with setPos
        self.valueText = pg.TextItem(color=self.look.foreground, fill=pg.mkBrush(255, 255, 255, 200))
        self.valueText.setFont(theme.font(self.look.font_pt, bold=True))
        self.valueText.setZValue(11)
        self.plot.addItem(self.valueText, ignoreBounds=True)
        self.overflowMarkers = pg.PlotDataItem(pen=None, symbol="t1", symbolSize=16,
                                               symbolBrush=pg.mkBrush(NONFINITE_HATCH), symbolPen=None)
        self.overflowMarkers.setZValue(9)
        self.plot.addItem(self.overflowMarkers)
        self.overflowText = pg.TextItem("overflow", color=NONFINITE_HATCH, anchor=(0, 0.5))
        self.overflowText.setFont(theme.font(self.look.font_pt, bold=True))
        self.overflowText.setZValue(9)
        self.plot.addItem(self.overflowText, ignoreBounds=True)
        self.computingText = pg.TextItem("computing…", color=self.look.foreground, anchor=(0.5, 0),
                                         fill=pg.mkBrush(self.look.warning_bg))
        self.computingText.setFont(theme.font(self.look.font_pt, bold=True))
        self.computingText.setZValue(12)
        self.plot.addItem(self.computingText, ignoreBounds=True)
        self.computingText.hide()

        cache_decorations(self.graphics)
        self.chain = ChainView()
        self.chain.setSpanProvider(self._chainSpan)
        self.chain.stepClicked.connect(controller.setStep)
        self.vb.sigResized.connect(self.chain.update)
        self.vb.sigResized.connect(self._placeLegend)  # the legend's share of the plot changed
        self.vb.sigResized.connect(self._fitYLabel)
        self.vb.sigResized.connect(self._fitTicks)

        header = QtWidgets.QHBoxLayout()
        header.setContentsMargins(6, 2, 6, 0)
        header.addWidget(self.title)
        header.addSpacing(12)
        header.addStretch(1)
        header.addWidget(self.backwardCheck)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(header)
        status = QtWidgets.QHBoxLayout()
        status.setContentsMargins(8, 0, 6, 0)
        status.addWidget(self.statusLabel)  # new values at every tick, of one height
        lay.addLayout(status)
        lay.addWidget(self.graphics, 1)
        lay.addWidget(self.chain)

        self.graphics.scene().sigMouseMoved.connect(self._onMouseMoved)
        self.graphics.scene().sigMouseClicked.connect(self._onMouseClicked)
        controller.frameChanged.connect(self.setFrame)
        if controller.frame is not None:
            self.setFrame(controller.frame)
        else:
            self._showWaiting()

    def _checkWidth(self, text: str) -> int:
        fm = QtGui.QFontMetrics(self.backwardCheck.font())
        return fm.horizontalAdvance(text) + 30  # + the box and its spacing

    def resizeEvent(self, ev) -> None:
        room = self.width() - self.title.sizeHint().width() - 30
        text = next((t for t in BACKWARD_TEXTS if self._checkWidth(t) <= room), BACKWARD_TEXTS[-1])
        if text != self.backwardCheck.text():
            self.backwardCheck.setText(text)
        super().resizeEvent(ev)
        self._fitStatus()
        self._fitChain()

    def _fitStatus(self) -> None:
        """The status line in the largest font, down to STATUS_MIN_PT below the panel's, at
        which it fits one line (long values like "4.87×10⁸ → 1.1×10⁻⁹ %" were cut)."""
        status = getattr(self, "_status", None)
        room = self.width() - 14  # the line's margins
        if status is None or room <= 0:
            return
        step = self._statusStep

        def shorter() -> tuple:  # made only when the whole line does not fit
            return step.status_short if step is not None else ()

        def fits(form, pt):
            bold = theme.font(pt, bold=True)  # the values are bold: measure the worst case
            return QtGui.QFontMetricsF(bold).horizontalAdvance(form.plain) <= room

        # the whole line, a little smaller if need be; then the shorter forms, as little
        # smaller; only then smaller type, down to STATUS_MIN_PT below (the whole line at 4 pt
        # less was unreadable from the back of a room at 1024×768 where a short form fitted
        # at 2 pt less); the shortest at the smallest size when nothing fits
        pt0 = self.look.font_pt
        near = range(pt0, pt0 - STATUS_NEAR_PT - 1, -1)
        far = range(pt0 - STATUS_NEAR_PT - 1, pt0 - STATUS_MIN_PT - 1, -1)

        def tries():
            yield from ((status, pt) for pt in near)
            yield from ((f, pt) for f in shorter() for pt in near)
            yield from ((f, pt) for f in (status, *shorter()) for pt in far)

        pick = (next(((f, pt) for f, pt in tries() if fits(f, pt)), None)
                or ((status, *shorter())[-1], (far or near)[-1]))
        form, font = pick[0], theme.font(pick[1])
        if self.statusLabel.font().pointSize() != font.pointSize():
            self.statusLabel.setFont(font)
        self.statusLabel.setFrag(form, self.look)
        if self.statusLabel.toolTip() != status.plain:
            self.statusLabel.setToolTip(status.plain)  # always the whole line

    def setTheme(self, look: theme.Theme) -> None:
        """Restyle for ``look``: colours and fonts of the plot, the header and the chain;
        curves, legend and chain rebuilt from the current result."""
        super().setTheme(look)
        fg, bg = QtGui.QColor(self.look.foreground), QtGui.QColor(self.look.background)
        pal = self.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, bg)
        pal.setColor(QtGui.QPalette.ColorRole.WindowText, fg)
        self.setPalette(pal)
        self.title.setFont(theme.font(self.look.title_pt, bold=True))
        self.backwardCheck.setFont(theme.font(self.look.font_pt))
        self.backwardCheck.setMinimumWidth(self._checkWidth(BACKWARD_TEXTS[-1]))
        self.statusLabel.setFont(theme.font(self.look.font_pt))
        self.statusLabel.setFrag(self.statusLabel.frag(), self.look)  # (also while waiting: no status)
        self._fitStatus()
        self._fitChain()  # presenter mode's larger type wants a taller plot
        self.graphics.setBackground(self.look.background)
        theme.style_plot(self.plot, self.look, left=self.plot.getAxis("left").labelText,
                         bottom=self.plot.getAxis("bottom").labelText)
        self.grid.setPen(pg.mkPen(self.look.grid, width=1))
        self.legend.setBrush(pg.mkBrush(bg.red(), bg.green(), bg.blue(), 215))
        self.legend.setPen(pg.mkPen(self.look.border))
        self.legend.setLabelTextColor(fg)
        self.legend.setLabelTextSize(f"{self.look.font_pt - 1}pt")
        for legend in self._legendRows.values():
            legend.setBrush(pg.mkBrush(bg.red(), bg.green(), bg.blue(), 215))
            legend.setPen(pg.mkPen(self.look.border))
            legend.setLabelTextColor(fg)
            legend.setLabelTextSize(f"{self.look.font_pt - 1}pt")
        self.valueText.setColor(fg)
        self.valueText.fill = pg.mkBrush(bg.red(), bg.green(), bg.blue(), 200)
        self.computingText.setColor(fg)
        self.computingText.fill = pg.mkBrush(self.look.warning_bg)
        for item in (self.valueText, self.overflowText, self.computingText):
            item.setFont(theme.font(self.look.font_pt, bold=True))
        chain = self.chain
        chain.setTheme(look)
        self._cell_keys = ()  # curves and markers take the cells' colours when built
        if self._frame is not None:
            frame, self._frame = self._frame, None
            self.setFrame(frame)
        else:
            self._showWaiting()
        chain.update()

    # ------------------------------------------------------------ accessors
    def curves(self) -> dict[str, _Curve10]:
        """The plot items by key (see the class docstring)."""
        self._applyPending()
        return {k: c.item for k, c in self._curves.items()}

    def chainValues(self, label: str | None = None) -> np.ndarray:
        """What the chain shows for one cell (key or label; default the first): influence[t] /
        influence[0] for the revealed steps, NaN where h is inf/NaN. The colour is
        :func:`chain_shade` of this."""
        self._applyPending()
        row = self._row(label)
        if row is None:
            return np.zeros(0)
        return row.ratio[: self._revealed()].copy()

    def revealedSteps(self) -> int:
        self._applyPending()
        return self._revealed()

    def yRange(self) -> tuple[float, float]:
        """The fixed y range in decades (log10 units)."""
        self._applyPending()
        return self._yrange

    def statusText(self) -> str:
        self._applyPending()
        return self.statusLabel.plainText()

    def toolTipAtStep(self, t: int) -> str:
        """The plot's hover text at 0-based step ``t``."""
        self._applyPending()
        if self._frame is None:
            return ""
        return self._fading.tooltip(t, self._revealed())

    def markerPoints(self) -> list[tuple[float, float]]:
        """(step t, influence) of each visible current-step marker."""
        self._applyPending()
        return [(m.pos().x(), 10.0 ** m.pos().y()) for m in self._markers if m.isVisible()]

    # ------------------------------------------------------------ frame → view
    def setFrame(self, frame) -> None:
        """Draw a :class:`~rnnviz.core.frames.Frame` now if the panel is on screen, else when it
        is shown or asked (another tab in front of it paid ~2 ms a slider tick for nothing)."""
        self._pending = frame
        if self.isVisible() or self._frame is None:
            self._applyPending()

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        self._applyPending()

    def settle(self) -> None:
        """Draw the frame that came while the panel was hidden (export, tests)."""
        self._applyPending()

    def _applyPending(self) -> None:
        frame, self._pending = self._pending, None
        if frame is not None:
            self._show(frame)

    def _show(self, frame) -> None:
        """Curves, ticks and chain when the frame's result or backward toggle is new, else only
        what the step moves."""
        old, self._frame = self._frame, frame
        blocked = self.backwardCheck.blockSignals(True)
        self.backwardCheck.setChecked(frame.view.backward)
        self.backwardCheck.blockSignals(blocked)
        if old is None or old.fading is not frame.fading:
            self._showResult(frame)
        self._showStep(frame)
        self._settleTransforms()

    def _settleTransforms(self) -> None:
        """Apply a new view range now, not while painting.

        pyqtgraph maps the range to the view's matrix just before a paint, and a TextItem that
        sees its transform change inside that paint asks for another: two frames per change.
        """
        self.vb.updateMatrix()
        for text in (self.valueText, self.overflowText, self.computingText):
            text.updateTransform()

    def _showResult(self, frame) -> None:
        f = self._fading = frame.fading
        self._result = frame.result
        self._T = f.T
        self._x = np.arange(1, self._T + 1, dtype=np.float64)
        self._rows = [ChainRow(row, self.look) for row in f.rows]
        if f.cell_keys != self._cell_keys:
            self._buildItems(f)
            self._cell_keys = f.cell_keys
            self._downsampled = None  # new curves
        self._fitDownsampling()
        self._yrange = f.yrange
        self._top_clip = f.top_clip
        for key, c in self._curves.items():
            c.frame = f.curves.get(key)
            visible = c.frame is not None and c.frame.visible
            if c.item.isVisible() != visible:
                c.item.setVisible(visible)
            if not visible or not c.frame.y.size:
                c.active = False
                c.draw(self._x[:0], c.shown[:0])  # a hidden curve holds no data
                continue
            c.active = True
            if not c.reveal:
                c.draw(self._x, c.shown)
        self._rebuildLegend(f)
        self._placeLegend(label=False)  # _showStep places the value label next (and the ticks are set)
        self.cursor.setBounds([1, self._T])
        self.plot.getAxis("bottom").setSymbols(frame.symbols_of(None))  # one axis for every run
        self._fitYLabel()  # the backward view's curve is on the same axis
        self.chain.setRows(self._rows, self._T, f)
        self._shown_n = -1
        if f.computing:
            self.computingText.setText(f.computing)
            self.computingText.setPos(0.5 * (self._T + 1), self._yrange[1])
            self.computingText.show()
        else:
            self.computingText.hide()

    def _fitDownsampling(self) -> None:
        """The overflow markers' downsampling for long runs only (the curves thin themselves,
        :func:`peak_downsample`): with it on, every change of the y range recomputes them."""
        long = self._T > DOWNSAMPLE_ABOVE
        if long != self._downsampled:
            self._downsampled = long
            self.overflowMarkers.setDownsampling(auto=long, method="peak")
            self.overflowMarkers.setClipToView(long)

    def _setView(self, view: tuple) -> None:
        """Show the ((x0, x1), (y0, y1)) range; the curves take it as their bounding rect."""
        self._view = view
        self.plot.setRange(xRange=view[0], yRange=view[1], padding=0)
        rect = self._viewRect()
        for c in self._curves.values():
            c.item.setViewRect(rect)

    def _viewRect(self) -> QtCore.QRectF:
        """The view's range as a rect in the plot's coordinates: the curves' bounding rect."""
        if self._view is None:
            return QtCore.QRectF()
        (x0, x1), (y0, y1) = self._view
        return QtCore.QRectF(x0, y0, x1 - x0, y1 - y0)

    def _showStep(self, frame) -> None:
        st = frame.fading_step
        n = st.revealed
        if n != self._shown_n:
            x = self._x[:n]
            for c in self._curves.values():
                if c.reveal and c.active:
                    c.draw(x, c.shown[:n])
            self._shown_n = n
            self._showOverflow(st)
        cur = st.current
        self.chain.setRevealed(n, cur)
        self.cursor.blockSignals(True)
        self.cursor.setValue(cur + 1)
        self.cursor.blockSignals(False)
        for pos, marker in zip(st.markers, self._markers):
            if pos is None:
                marker.hide()
            else:
                marker.setPos(*pos)
                marker.show()
        if st.value_text is not None:
            self._valueForms = st.value_forms
            self.valueText.setPos(*st.value_pos)
            self._anchorValueText(st.value_anchor)
            self.valueText.show()
        else:
            self.valueText.hide()
        # Compare: just the percentages of x₁ left (the exact values are in the tooltips)
        self._status, self._statusStep = st.status, st
        self._fitStatus()

    def _showOverflow(self, st) -> None:
        if st.overflow_text is not None:
            self.overflowMarkers.setData(list(st.overflow_xs), [self._top_clip] * len(st.overflow_xs))
            self.overflowText.setAnchor(st.overflow_anchor)
            self.overflowText.setText(st.overflow_text)
            self.overflowText.setPos(*st.overflow_pos)
            self.overflowText.show()
        else:
            if self._overflowShown:  # (an empty setData at every tick rebuilt the scatter's empty data)
                self.overflowMarkers.setData([], [])
            self.overflowText.hide()
        self._overflowShown = st.overflow_text is not None

    # ------------------------------------------------------------ building
    def _row(self, label) -> ChainRow | None:
        if not self._rows:
            return None
        return self._rows[self._fading.rows.index(self._fading.row(label))]

    def _buildItems(self, f) -> None:
        for c in self._curves.values():
            self.vb.removeItem(c.item)
        for m in self._markers:
            self.plot.removeItem(m)
        self._curves = {}
        self._markers = []
        compare = f.compare
        for row in f.rows:
            colour = _colour(row.colour, self.look)
            specs = {
                "influence": (pg.mkPen(colour, width=4), 3),
                "perturbation": (pg.mkPen(colour if compare else self.look.perturbation, width=2.5,
                                          style=QtCore.Qt.PenStyle.DashLine), 4),
                "backward": (pg.mkPen(colour if compare else self.look.backward, width=3,
                                      style=QtCore.Qt.PenStyle.DotLine), 2),
            }
            for name, (pen, z) in specs.items():
                item = _Curve10(pen)
                item.setZValue(z)
                item.setViewRect(self._viewRect())
                self.vb.addItem(item, ignoreBounds=True)  # the view's range is the frame's
                self._curves[f.key(row, name)] = _Curve(item)
            marker = _Marker(colour, 14)
            marker.setZValue(10)
            marker.hide()
            self.plot.addItem(marker, ignoreBounds=True)
            self._markers.append(marker)

    def _fitTicks(self, *_args) -> None:
        """The decade labels the y axis has room for: every k-th one when the plot is short (at
        1024×768 with a lesson open forty decades were stacked on 60 pixels); the grid keeps
        every decade."""
        if self._ticks is None:
            return
        ticks = list(self._ticks[0])
        height = self.vb.boundingRect().height()
        pitch = 1.6 * QtGui.QFontMetricsF(theme.font(self.look.axis_pt)).height()
        room = max(2, int(height // pitch)) if height > 0 else len(ticks)
        step = max(1, -(-len(ticks) // room))
        shown = ticks[::step] if step > 1 else ticks
        if shown != getattr(self, "_shownTicks", None):
            self._shownTicks = shown
            self.plot.getAxis("left").setTicks([shown, []])

    def _fitChain(self) -> None:
        """The chain of boxes only when the plot keeps a readable height beside it: a short panel
        (a lesson open on a 768-pixel projector) gives the chain's rows to the curves."""
        spacing = self.layout().spacing()
        total = self.graphics.height() + (self.chain.height() + spacing if not self.chain.isHidden() else 0)
        show = total - self.chain.maximumHeight() - spacing >= MIN_PLOT_HEIGHT * max(1.0, self.look.font_scale)
        if show == self.chain.isHidden():
            self.chain.setVisible(show)

    def _fitYLabel(self) -> None:
        """The y label, or a shorter form when the plot is too short for it ("(log scale" was
        cut on a 768-pixel projector); the tick labels say the scale is logarithmic."""
        f = self._fading
        if f is None:
            return
        left = self.plot.getAxis("left")
        font = theme.font(self.look.axis_pt + 1)
        # the label is a text item with margins, and its subscripts may come from a wider
        # fallback font: leave it that room ("(lo" was cut at 1920×1080 in presenter mode)
        room = self.vb.boundingRect().height() - 2 * left.label.document().documentMargin() - 4
        full = f.ylabel
        key = (full, room, font.key())
        if key == self._yLabelKey:
            return  # (measured at every tick of a drag, for the same label and room)
        self._yLabelKey = key
        forms = [full, full.replace("  (log scale)", " (log)"), full.replace("  (log scale)", "").replace(" / ", "/")]
        fm = QtGui.QFontMetricsF(font)
        text = next((t for t in forms if 1.08 * fm.horizontalAdvance(t) <= room), forms[-1])
        if left.labelText != text:
            theme.set_axis_label(left, text, **left.labelStyle)

    def _anchorValueText(self, anchor: tuple | None = None) -> None:
        """The frame's side of the marker for the value label, unless the label would leave the
        plot, lie under the legend or cover a drawn curve there: then its mirror images, just
        below (above) the legend, or above (below) the marker, shifted into the plot, the first
        that is free; if none is, the same for the label without its percentage (the status
        line has it). At t = 1 the only point is at the top left and the legend, in the free
        top-right corner, covered the label's "(100 %)"; in a narrow presenter panel a label
        right of a mid-run marker ran out of the plot."""
        if anchor is None:
            anchor = self._valueAnchor
        self._valueAnchor = anchor
        self.vb.updateMatrix()  # the view's new range, if any: the boxes below are measured in it
        self.valueText.updateTransform()
        fallback = None
        for form in self._valueForms:
            if self.valueText.toPlainText() != form:
                self.valueText.setText(form)
            free, first = self._freeAnchor(anchor)
            if free is not None:
                self.valueText.setAnchor(free)
                return
            fallback = first or fallback
        self.valueText.setAnchor(fallback or anchor)

    _yLabelKey = None  # (label, room, font) the y label's form was chosen for
    _valueAnchor = (0.0, 0.0)
    _valueForms: tuple = ()
    _overflowShown = True  # the markers may hold points until told otherwise

    def _freeAnchor(self, anchor: tuple) -> tuple:
        """(the first anchor of the value label, as it reads now, that is free, or None; the
        first that is at least inside the plot and off the legend, or None)."""
        text = self.valueText
        text.setAnchor(anchor)
        legend = self.legend.sceneBoundingRect() if self.legend.isVisible() else None
        inside = self.vb.sceneBoundingRect()
        r = text.sceneBoundingRect()
        ax, ay = anchor
        w, h = max(r.width(), 1.0), max(r.height(), 1.0)
        tries = [(ax, ay), (1.0 - ax, ay), (ax, 1.0 - ay), (1.0 - ax, 1.0 - ay)]
        # too wide for either side: over the marker, as near to its side as the plot allows
        x = r.left() + ax * w  # the marker's x in the scene
        lo, hi = (x + w - inside.right() + 2) / w, (x - inside.left() - 2) / w
        if lo <= hi:
            near = min(max(ax, lo), hi)
            tries += [(near, ay), (near, 1.0 - ay)]
        if legend is not None:  # the anchor is in text heights: a larger y lifts the label
            tries += [(ax, ay - (legend.bottom() + 2 - r.top()) / h), (ax, ay + (r.bottom() - legend.top() + 2) / h)]
        first = None
        for k, a in enumerate(tries):
            if k:
                text.setAnchor(a)
                r = text.sceneBoundingRect()
            if inside.contains(r) and (legend is None or not r.intersects(legend)):
                if not self._coversCurve(r):
                    return a, first or a
                first = first or a
        return None, first

    def _coversCurve(self, rect: QtCore.QRectF) -> bool:
        """Whether the scene ``rect`` holds a drawn point of a curve."""
        view = self.vb.mapSceneToView(rect).boundingRect()
        x0, x1 = view.left(), view.right()
        y0, y1 = sorted((view.top(), view.bottom()))
        lo, hi = max(0, int(math.floor(x0)) - 1), max(0, int(math.ceil(x1)))  # step t is at x = t
        for c in self._curves.values():
            if not c.active or c.drawn is None:
                continue
            y = c.frame.log_shown[lo:min(hi, c.drawn.size)]  # NaN (a gap) compares False
            x = np.arange(lo + 1, lo + 1 + y.size, dtype=np.float64)
            if ((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).any():
                return True
        return False

    def _placeLegend(self, *_args, label: bool = True) -> None:
        """The legend where it covers no curve (issue 8: in the race it covered the GRU and
        LSTM curves, the lesson's point): a corner the frame finds free for the legend's
        measured size, else one row above the curves, in head room added to the y range.
        Then the view range (set only when it changes)."""
        f = self._fading
        if f is None:
            return
        vb = self.vb.boundingRect()
        held = self.pointerHeld()  # a drag: the axis holds still, growing only to keep the curves in view
        # the frame's range (its ticks) and the view's (with the value label's room) are held apart
        self._held = hold_range(self._held, f.yrange) if held else None
        yrange = base = self._held or tuple(f.yrange)
        row = False
        if vb.height() > 50:  # room for the value label above (below) its marker, 0.15 of its height off
            yrange = f.label_range((1.15 * self.valueText.textItem.boundingRect().height() + 4) / vb.height(), base)
        if held:
            yrange = self._heldView = hold_range(self._heldView, yrange)
            self._holdTimer.start()
        else:
            self._heldView = None
        if vb.width() > 50 and vb.height() > 50 and f.legend:
            size = self.legend.boundingRect()
            # the legend's box, its offset from the corner and half a curve's width of room
            dx, dy = LEGEND_OFFSET[0] + LEGEND_ROOM, LEGEND_OFFSET[1] + LEGEND_ROOM
            corner = f.place_legend(((size.width() + dx) / vb.width(), (size.height() + dy) / vb.height()), yrange)
            if corner is None:
                row = True
                # one row if it fits the plot's width, else two rows of two
                self._useLegendRow(4 if self._legendRows[4].boundingRect().width() <= vb.width() - 16 else 2)
                yrange = f.with_headroom((self.legendRow.boundingRect().height() + 12) / vb.height(), yrange)
                corner = "top-right"
        else:
            corner = f.legend_corner or "top-right"
        self.legend.setVisible(not row)
        self.legendRow.setVisible(row and bool(f.legend))
        if corner != getattr(self, "_legend_corner", None):  # moving it is cheap; refilling is not
            self._legend_corner = corner
            x = 1 if corner.endswith("right") else 0
            y = 0 if corner.startswith("top") else 1
            ox, oy = LEGEND_OFFSET
            self.legend.anchor(itemPos=(x, y), parentPos=(x, y), offset=(-ox if x else ox, oy if y == 0 else -oy))
        view = ((0.5, self._T + 0.5), yrange)
        if view != self._view:
            self._setView(view)
        self._showTicks()
        if label and self.valueText.isVisible():
            self._anchorValueText()  # the legend's new place (or the view's new size)

    def _showTicks(self) -> None:
        """The decades of the y axis and its grid: the frame's, or those of the range a drag holds."""
        f = self._fading
        held = self._held
        ticks = tuple(f.ticks) if held is None or held == tuple(f.yrange) else f.ticks_for(held)
        if (ticks, self._T) != self._ticks:
            self._ticks = (ticks, self._T)
            self._shownTicks = None
            self._fitTicks()
            values = np.array([v for v, _ in ticks], dtype=np.float64)
            self.grid.setData(np.tile([0.5, self._T + 0.5], len(values)), np.repeat(values, 2))

    def _releaseHold(self) -> None:
        """The drag is over: the range it held tightens to the frame's."""
        if self.pointerHeld():
            self._holdTimer.start()  # still held (the pointer paused): look again later
        elif self._held is not None:
            self._held = self._heldView = None
            self._placeLegend()
            self._settleTransforms()  # not inside the next paint (a frame of its own)

    def _makeLegendRow(self, columns: int) -> pg.LegendItem:
        legend = pg.LegendItem(offset=(8, 6), colCount=columns, labelTextSize=f"{self.look.font_pt - 1}pt",
                               brush=pg.mkBrush(255, 255, 255, 215), pen=pg.mkPen("#C0C0C0"), verSpacing=-4)
        legend.setParentItem(self.vb)
        legend.hide()
        return legend

    def _useLegendRow(self, columns: int) -> None:
        if self.legendRow is not self._legendRows[columns]:
            self.legendRow.hide()
            self.legendRow = self._legendRows[columns]

    def _fillLegend(self, legend, entries) -> None:
        styles = {"proxy:dash": QtCore.Qt.PenStyle.DashLine, "proxy:dot": QtCore.Qt.PenStyle.DotLine}
        legend.clear()
        for item, label in entries:
            if item in styles or item in self._curves:
                legend.addItem(_proxy(styles[item]) if item in styles else self._curves[item].item, label)

    def _rebuildLegend(self, f) -> None:
        """Fill the legend with the frame's entries; only when they change (a slider drag
        brings a new result every frame)."""
        key = (f.legend, tuple(id(c.item) for c in self._curves.values()))
        if key == self._legend_key:
            return
        self._legend_key = key
        for legend in (self.legend, *self._legendRows.values()):
            self._fillLegend(legend, f.legend)
        cache_decorations(self.graphics)  # the new entries' labels

    def _showWaiting(self) -> None:
        self._setView(((0.0, 1.0), (-1.0, 1.0)))
        self.computingText.setText("waiting for the first run…")
        self.computingText.setPos(0.5, 0.5)
        self.computingText.show()
        self.statusLabel.setFrag(Frag(), self.look)
        self._status = None

    def _revealed(self) -> int:
        return self._frame.revealed if self._frame is not None else 0

    # ------------------------------------------------------------ user → controller
    def _onBackwardClicked(self, _checked=False) -> None:
        self.controller.update(backward=not self.controller.settings.backward)

    def _onCursorDragged(self, line) -> None:
        self.controller.setStep(int(round(line.value())) - 1)

    def _onMouseClicked(self, ev) -> None:
        if ev.button() != QtCore.Qt.MouseButton.LeftButton or self._frame is None:
            return
        pos = ev.scenePos()
        if self.vb.sceneBoundingRect().contains(pos):
            self.controller.setStep(int(round(self.vb.mapSceneToView(pos).x())) - 1)

    def _onMouseMoved(self, pos) -> None:
        if self._frame is None or not self.vb.sceneBoundingRect().contains(pos):
            self.graphics.setToolTip("")
            return
        t = int(round(self.vb.mapSceneToView(pos).x())) - 1
        self.graphics.setToolTip(self.toolTipAtStep(int(min(max(t, 0), self._T - 1))))

    def _chainSpan(self) -> tuple[float, float]:
        """Where steps 0.5 and T + 0.5 of the plot's x axis sit in the chain's coordinates."""
        T = max(self._T, 1)
        out = []
        for x in (0.5, T + 0.5):
            scene = self.vb.mapViewToScene(QtCore.QPointF(x, self._yrange[0]))
            view = self.graphics.mapFromScene(scene)
            out.append(self.chain.mapFrom(self, self.graphics.mapTo(self, view)).x())
        return out[0], out[1]


def _proxy(style) -> pg.PlotDataItem:
    """A legend sample that stands for a line style, not one curve (Compare mode)."""
    return pg.PlotDataItem(pen=pg.mkPen("#404040", width=2.5, style=style))


__all__ = ["FadingPanel", "ChainView", "ChainRow", "chain_shade", "chain_argb", "fmt_value", "fmt_percent",
           "CHAIN_DECADES"]
