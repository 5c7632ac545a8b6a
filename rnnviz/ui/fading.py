"""The fading of x₁: how much of the first input is still in h_t, step by step.

The seed document's picture of the long-term dependency problem: x₁ starts dark navy and
fades towards white along the unrolled chain. The panel shows it twice:

* a log-scale plot of ‖∂h_t/∂x₁‖ (the engine's ``trace.influence``) against t, with the
  finite-difference check ‖h_t(x₁ + ε) − h_t(x₁)‖/ε dashed and, on request, the backward
  gradient flow ‖∂h_T/∂h_t‖ of backpropagation through time;
* below it, the chain of cells, one box per step (a painted strip for long sequences),
  shaded by influence[t] / influence[0] on a log scale: 100 % navy … 0.01 % white.

Only revealed steps are drawn. Everything here is display: masking, clipping and colouring
of the engine's arrays, never the maths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from . import theme
from .panels import Panel

#: The chain is white at this many decades below step 1 (4: white at 0.01 % of x₁ left).
CHAIN_DECADES = 4.0
#: Below this many pixels per step the boxes merge into one continuous strip.
BOX_MIN_PITCH = 9.0
#: Fixed width of the plot's left axis, so the chain below lines up and has a label gutter.
LEFT_AXIS_WIDTH = 78

#: The backward toggle's text, longest first: the panel uses the longest that fits its width.
BACKWARD_TEXTS = ("Backward view: ‖∂h_T/∂h_t‖ (gradient flow in BPTT)", "Backward view: ‖∂h_T/∂h_t‖",
                  "Backward ‖∂h_T/∂h_t‖")

NONFINITE_FILL = "#F4C2C2"
NONFINITE_HATCH = "#B00020"
GREW_MARK = "#D55E00"
UNREVEALED_PEN = "#A0A0A0"
INPUT_PEN = "#808080"

_SUP = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


# ---------------------------------------------------------------- formatting


def sub(n: int) -> str:
    """``12`` → ``₁₂`` (subscript digits, for h₁₂ in plain-text labels)."""
    return str(int(n)).translate(_SUB)


def fmt_value(v: float, digits: int = 3) -> str:
    """A number legible from the back of a classroom: 0.042, 3.12×10⁻⁴⁰, inf."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "−inf"
    if v == 0.0:
        return "0"
    e = math.floor(math.log10(abs(v)))
    if -3 <= e < 4:
        return f"{v:.{digits}g}".replace("-", "−")
    m = v / 10.0**e
    if round(abs(m), digits - 1) >= 10.0:  # 9.999 rounds up to 10.0
        m, e = m / 10.0, e + 1
    return f"{m:.{digits - 1}f}×10{str(e).translate(_SUP)}".replace("-", "−")


def fmt_percent(ratio: float, digits: int = 2) -> str:
    """A ratio to step 1 as a percentage: 100 %, 2.2 %, 0.055 %, 3.1×10⁻⁹ %."""
    if not math.isfinite(ratio):
        return "—"
    p = 100.0 * ratio
    if p == 0.0:
        return "0 %"
    if p >= 1e4:
        return f"{fmt_value(p, digits)} %"
    if p >= 10.0:
        return f"{p:.0f} %"
    if p >= 1e-3:
        return f"{p:.{digits}g} %"
    return f"{fmt_value(p, digits)} %"


# ---------------------------------------------------------------- chain colours


def chain_shade(ratio: np.ndarray, decades: float = CHAIN_DECADES) -> np.ndarray:
    """Navy intensity in [0, 1] for influence ratios: 1 at ≥ 100 %, 0 at ≤ 10^−decades; NaN stays."""
    r = np.asarray(ratio, dtype=np.float64)
    with np.errstate(all="ignore"):
        a = 1.0 + np.log10(np.where(r > 0, r, np.nan)) / decades
    a = np.where(r > 0, np.clip(a, 0.0, 1.0), 0.0)
    return np.where(np.isnan(r), np.nan, a)


def box_label(ratio: float) -> str:
    """Short percentage for inside a chain box: 100%, 42%, 7%, 0.6%, 0.05%, ≈0, >100%."""
    if not math.isfinite(ratio):
        return "inf"
    p = 100.0 * ratio
    if p > 100.5:
        return ">100%"
    if p >= 0.95:
        return f"{p:.0f}%"
    if p >= 0.0095:
        return f"{p:.1g}%"
    return "≈0"


_BOX_LABEL_WIDEST = ("0.05%", ">100%", "100%")


def _rgb(colour) -> np.ndarray:
    c = QtGui.QColor(*colour) if isinstance(colour, tuple) else QtGui.QColor(colour)
    return np.array([c.red(), c.green(), c.blue()], dtype=np.float64)


def chain_argb(ratio: np.ndarray, decades: float = CHAIN_DECADES, navy: tuple = theme.LIGHT.navy) -> np.ndarray:
    """(T,) uint32 ARGB colours: white → ``navy`` (the theme's) by :func:`chain_shade`; NaN in
    the overflow fill."""
    a = chain_shade(ratio, decades)
    bad = np.isnan(a)
    a = np.where(bad, 0.0, a)[:, None]
    rgb = 255.0 + a * (_rgb(tuple(navy)) - 255.0)
    rgb[bad] = _rgb(NONFINITE_FILL)
    rgb = np.rint(rgb).astype(np.uint32)
    return (np.uint32(0xFF000000) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).astype(np.uint32)


def _image(argb: np.ndarray) -> QtGui.QImage:
    argb = np.ascontiguousarray(argb, dtype=np.uint32)
    n = max(int(argb.shape[0]), 1)
    if argb.shape[0] == 0:
        argb = np.zeros(1, np.uint32)
    return QtGui.QImage(argb.tobytes(), n, 1, 4 * n, QtGui.QImage.Format.Format_ARGB32).copy()


def _runs(mask: np.ndarray, limit: int = 200) -> list[tuple[int, int]]:
    """[start, stop) runs of True, at most ``limit`` (the rest are drawn as plain colour)."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.view(np.int8), [0]]))
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return list(zip(starts[:limit].tolist(), stops[:limit].tolist()))


def short_label(label: str) -> str:
    """``RNN (tanh)`` → ``RNN``: the chain's row labels."""
    return label.split(" (")[0].split(" ×")[0]


@dataclass(eq=False)
class ChainRow:
    """One cell's chain, prepared once per result."""

    key: str
    label: str
    colour: str
    influence: np.ndarray  # (T,) the engine's ‖∂h_t/∂x₁‖
    ratio: np.ndarray  # (T,) influence / influence[0]; NaN where h is inf/NaN
    grew: np.ndarray  # (T,) bool: more of x₁ than at step 1 (exploding)
    bad: np.ndarray  # (T,) bool: h or the influence not finite
    overflow_from: int | None  # first 0-based step where h is inf/NaN
    image: QtGui.QImage
    grew_image: QtGui.QImage
    bad_runs: list
    shade: np.ndarray  # (T,) chain_shade(ratio)
    argb: np.ndarray  # (T,) the box colours

    @property
    def short(self) -> str:
        return short_label(self.label)

    @classmethod
    def build(cls, cr, look: theme.Theme) -> "ChainRow":
        infl = np.asarray(cr.trace.influence, dtype=np.float64)
        bad = ~np.isfinite(infl)
        nf = cr.trace.nonfinite
        overflow_from = None
        if nf is not None:
            overflow_from = int(nf.t)
            bad[overflow_from:] = True  # past an overflow the influence means nothing
        with np.errstate(all="ignore"):
            i0 = infl[0] if infl.size else np.nan
            ratio = np.where(infl == 0, 0.0, infl / i0)
        ratio[bad] = np.nan
        grew = np.nan_to_num(ratio, nan=0.0) > 1.0 + 1e-12
        argb = chain_argb(ratio, navy=look.navy)
        warn = np.where(grew, np.uint32(0xFF000000) | np.uint32(QtGui.QColor(GREW_MARK).rgb() & 0xFFFFFF),
                        np.uint32(0)).astype(np.uint32)
        return cls(cr.key, cr.label, look.cell_colour(cr.key, look.cell_colour("loaded")), infl,
                   ratio, grew, bad, overflow_from, _image(argb), _image(warn), _runs(bad), chain_shade(ratio), argb)


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
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self._rows: list[ChainRow] = []
        self._T = 0
        self._n = 0
        self._current = -1
        self._span_fn = None
        self._legend_key = None
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
    def setRows(self, rows: list[ChainRow], T: int) -> None:
        resize = len(rows) != len(self._rows)
        self._rows, self._T = rows, int(T)
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
        row = self._rows[i]
        head = f"{row.label} · step t = {t + 1}"
        if t >= self._n:
            return f"{head}\nnot revealed yet"
        if row.bad[t]:
            where = f" (h overflowed at t = {row.overflow_from + 1})" if row.overflow_from is not None else ""
            return f"{head}\nh is inf/NaN here{where}"
        text = (f"{head}\n‖∂h{sub(t + 1)}/∂x₁‖ = {fmt_value(row.influence[t])}"
                f"\n{fmt_percent(row.ratio[t])} of step 1")
        if row.grew[t]:
            text += "  ⚠ grew: exploding"
        return text

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
    def paintEvent(self, _ev) -> None:
        p = QtGui.QPainter(self)
        try:
            p.fillRect(self.rect(), QtGui.QColor(self.look.background))
            if not self._rows or self._T == 0:
                p.setPen(QtGui.QColor(self.look.foreground))
                p.setFont(self._font)
                p.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, "waiting for the first run…")
                return
            left, right = self.span()
            boxes = self.boxMode()
            for i, row in enumerate(self._rows):
                rect = self.rowRect(i)
                self._paintLabel(p, row, rect, left)
                if boxes:
                    self._paintBoxes(p, row, rect, left)
                else:
                    self._paintStrip(p, row, rect, left, right)
            self._paintInputs(p, left, boxes)
            if not boxes:
                self._paintCursorLine(p, left)
            self._paintLegend(p)
        finally:
            p.end()

    def _paintLabel(self, p, row, rect, left) -> None:
        p.setFont(self._label_font)
        p.setPen(QtGui.QColor(row.colour))
        r = QtCore.QRectF(2, rect.top() - 4, left - 10, rect.height() + 8)
        p.drawText(r, QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter, row.short)

    def _paintBoxes(self, p, row, rect, left) -> None:
        pitch = self.pitch()
        gap = min(max(pitch * 0.22, 2.0), 14.0)
        w = min(pitch - gap, 90.0)  # a few steps: boxes, not slabs
        gap = pitch - w
        y, h = rect.top(), rect.height()
        navy = QtGui.QColor(*self.look.navy)
        outline = QtGui.QPen(navy.darker(110), 1)
        empty = QtGui.QPen(QtGui.QColor(UNREVEALED_PEN), 1, QtCore.Qt.PenStyle.DashLine)
        hatch = QtGui.QBrush(QtGui.QColor(NONFINITE_HATCH), QtCore.Qt.BrushStyle.BDiagPattern)
        p.setFont(self._small)
        fm = QtGui.QFontMetricsF(self._small)
        shade = row.shade
        # numbers in every box or in none: only when the widest label fits
        numbers = h >= 16 and max(fm.horizontalAdvance(t) for t in _BOX_LABEL_WIDEST) + 4 <= w
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        argb = row.argb
        for k in range(self._T):
            x = left + k * pitch + gap / 2
            box = QtCore.QRectF(x, y, w, h)
            if k < self._n:
                p.fillRect(box, QtGui.QColor.fromRgba(int(argb[k])))
                if row.bad[k]:
                    p.fillRect(box, hatch)
                p.setPen(outline)
                p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                p.drawRect(box)
                if row.grew[k]:
                    self._warnTriangle(p, x + w / 2, y - 1, min(w, 10.0))
                if numbers:
                    label = "inf" if row.bad[k] else box_label(row.ratio[k])
                    dark = not row.bad[k] and shade[k] > 0.55
                    p.setPen(QtGui.QColor("#FFFFFF" if dark else self.look.foreground))
                    p.drawText(box, QtCore.Qt.AlignmentFlag.AlignCenter, label)
            else:
                p.setPen(empty)
                p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                p.drawRect(box)
            if gap >= 8 and k < self._T - 1:  # h_t → next cell
                p.setPen(QtGui.QPen(QtGui.QColor(INPUT_PEN), 1.5))
                _arrow(p, QtCore.QPointF(x + w + 1, y + h / 2), QtCore.QPointF(x + w + gap - 1, y + h / 2), 4)
        if 0 <= self._current < self._T:
            x = left + self._current * pitch + gap / 2
            p.setPen(QtGui.QPen(QtGui.QColor(self.look.cursor), 3))
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRect(QtCore.QRectF(x - 1.5, y - 1.5, w + 3, h + 3))

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
        items = [("grew", "exploding"), ("bad", "inf/NaN"), ("empty", "not revealed")]
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


class _StepAxis(pg.AxisItem):
    """Integer steps only: t = 1, 2, … (never 1.5)."""

    def tickValues(self, minVal, maxVal, size):
        out = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            if spacing < 1:
                continue
            out.append((spacing, [v for v in values if v >= 1 and abs(v - round(v)) < 1e-6]))
        if not out:
            lo, hi = max(1, math.ceil(minVal)), math.floor(maxVal)
            out = [(1.0, [float(v) for v in range(lo, hi + 1)])]
        return out

    def tickStrings(self, values, scale, spacing):
        return [f"{int(round(v))}" for v in values]


def decade_label(v: float) -> str:
    """A tick of the log axis (v in decades): 0.01, 0.1, 1, 10, 100, 10ⁿ beyond, 2×10⁻⁵ between."""
    n = round(v)
    if abs(v - n) > 1e-6:
        return fmt_value(10.0**v, 1)
    if -2 <= n <= 2:
        return f"{10.0 ** n:g}"
    return "10" + str(n).translate(_SUP)


def decade_ticks(y0: float, y1: float, most: int = 8) -> list[float]:
    """Tick positions (decades) for a log axis from y0 to y1: whole decades, spaced so there are
    at most ``most``; within a small range also 2× and 5× in between."""
    span = y1 - y0
    if span < 1.5:
        base = math.floor(y0)
        out = [d + math.log10(m) for d in range(base, math.ceil(y1) + 1) for m in (1, 2, 5)]
        return [v for v in out if y0 <= v <= y1]
    for step in (1, 2, 3, 5, 10, 20, 25, 50, 100, 200):
        if span / step <= most:
            break
    first = math.ceil(y0 / step) * step
    return [float(v) for v in range(int(first), int(math.floor(y1)) + 1, step)]


@dataclass(eq=False)
class _Curve:
    """A curve's display arrays (made once per result) and its plot item."""

    item: pg.PlotDataItem
    y: np.ndarray  # (T,) the engine's values (for tooltips)
    shown: np.ndarray  # (T,) what is drawn: NaN gaps, +inf clipped to the top
    overflow_at: int | None  # first step drawn as overflow (clipped), or None
    reveal: bool = True  # False: always drawn whole (the backward flow is about h_T)


class FadingPanel(Panel, QtWidgets.QWidget):
    """"The fading of x₁": ‖∂h_t/∂x₁‖ on a log scale, and the chain of cells fading from navy.

    Curve keys (:meth:`curves`): single mode ``influence``, ``perturbation``, ``backward``;
    Compare mode ``"<label>/influence"`` etc. with the cell labels (``RNN (tanh)``, ``GRU``,
    ``LSTM``). A curve's original data are x = 1-based revealed steps, y = the engine's array
    (zeros and NaN as NaN gaps, +inf clipped to the top of the plot).
    """

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self._result = None
        self._rows: list[ChainRow] = []
        self._curves: dict[str, _Curve] = {}
        self._cell_keys: tuple = ()
        self._T = 0
        self._x = np.zeros(0)
        self._shown_n = -1
        self._top_clip = 1.0
        self._yrange = (-3.0, 0.0)
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
        self.statusLabel = QtWidgets.QLabel()
        self.statusLabel.setFont(theme.font(self.look.font_pt))
        self.statusLabel.setTextFormat(QtCore.Qt.TextFormat.RichText)
        # one line that never reflows while stepping (the plot must not jump); may clip when narrow
        self.statusLabel.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                       QtWidgets.QSizePolicy.Policy.Preferred)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(self.look.background)
        self.graphics.ci.layout.setContentsMargins(0, 4, 8, 0)
        self.plot = self.graphics.addPlot(axisItems={"bottom": _StepAxis("bottom")})
        self.plot.setLogMode(x=False, y=True)
        theme.style_plot(self.plot, self.look, left="‖∂hₜ / ∂x₁‖  (log scale)", bottom="step t")
        self.plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        # Fixed decade ticks and a light grid of our own: pyqtgraph's log grid (every minor
        # tick, alpha-blended) costs ~10 ms a repaint, most of a frame.
        self.grid = pg.PlotCurveItem(pen=pg.mkPen("#DDDDDD", width=1), connect="pairs", antialias=False)
        self.grid.setZValue(-10)
        self.plot.getViewBox().addItem(self.grid, ignoreBounds=True)  # not a plot "curve": no downsampling
        # long runs: draw about one point per pixel (addItem imposes the plot's mode on each curve)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setClipToView(True)
        self.vb = self.plot.getViewBox()
        self.vb.setMouseEnabled(False, False)
        self.vb.disableAutoRange()
        self.legend = self.plot.addLegend(offset=(-8, 6), labelTextSize=f"{self.look.font_pt - 1}pt",
                                          brush=pg.mkBrush(255, 255, 255, 215), pen=pg.mkPen("#C0C0C0"),
                                          verSpacing=-4)

        self.cursor = pg.InfiniteLine(angle=90, movable=True,
                                      pen=pg.mkPen(self.look.cursor, width=2.5, style=QtCore.Qt.PenStyle.DashLine),
                                      hoverPen=pg.mkPen(self.look.cursor, width=4))
        self.cursor.setZValue(5)
        self.cursor.sigDragged.connect(self._onCursorDragged)
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self._markers: list[pg.ScatterPlotItem] = []  # one per cell, moved with setPos
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

        self.chain = ChainView()
        self.chain.setSpanProvider(self._chainSpan)
        self.chain.stepClicked.connect(controller.setStep)
        self.vb.sigResized.connect(self.chain.update)

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
        status.addWidget(self.statusLabel)
        lay.addLayout(status)
        lay.addWidget(self.graphics, 1)
        lay.addWidget(self.chain)

        self.graphics.scene().sigMouseMoved.connect(self._onMouseMoved)
        self.graphics.scene().sigMouseClicked.connect(self._onMouseClicked)
        controller.resultChanged.connect(self._onResult)
        controller.stepChanged.connect(self._onStep)
        controller.revealAllChanged.connect(self._onStep)
        controller.settingsChanged.connect(self._onSettings)
        if controller.result is not None:
            self._onResult(controller.result)
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
        self.graphics.setBackground(self.look.background)
        theme.style_plot(self.plot, self.look, left=self.plot.getAxis("left").labelText,
                         bottom=self.plot.getAxis("bottom").labelText)
        self.grid.setPen(pg.mkPen(self.look.grid, width=1))
        self.legend.setBrush(pg.mkBrush(bg.red(), bg.green(), bg.blue(), 215))
        self.legend.setPen(pg.mkPen(self.look.border))
        self.legend.setLabelTextColor(fg)
        self.legend.setLabelTextSize(f"{self.look.font_pt - 1}pt")
        self.valueText.setColor(fg)
        self.valueText.fill = pg.mkBrush(bg.red(), bg.green(), bg.blue(), 200)
        self.computingText.setColor(fg)
        self.computingText.fill = pg.mkBrush(self.look.warning_bg)
        for item in (self.valueText, self.overflowText, self.computingText):
            item.setFont(theme.font(self.look.font_pt, bold=True))
        chain = self.chain
        chain.setTheme(look)
        self._cell_keys = ()  # curves and markers take the cells' colours when built
        if self._result is not None:
            self._onResult(self._result)
        else:
            self._showWaiting()
        chain.update()

    # ------------------------------------------------------------ accessors
    def curves(self) -> dict[str, pg.PlotDataItem]:
        """The plot items by key (see the class docstring)."""
        return {k: c.item for k, c in self._curves.items()}

    def chainValues(self, label: str | None = None) -> np.ndarray:
        """What the chain shows for one cell (key or label; default the first): influence[t] /
        influence[0] for the revealed steps, NaN where h is inf/NaN. The colour is
        :func:`chain_shade` of this."""
        row = self._row(label)
        if row is None:
            return np.zeros(0)
        return row.ratio[: self._revealed()].copy()

    def revealedSteps(self) -> int:
        return self._revealed()

    def yRange(self) -> tuple[float, float]:
        """The fixed y range in decades (log10 units)."""
        return self._yrange

    def statusText(self) -> str:
        return QtGui.QTextDocumentFragment.fromHtml(self.statusLabel.text()).toPlainText()

    def toolTipAtStep(self, t: int) -> str:
        """The plot's hover text at 0-based step ``t``."""
        if self._result is None or not 0 <= t < self._T:
            return ""
        n = self._revealed()
        lines = [f"step t = {t + 1}"]
        compare = len(self._rows) > 1
        for row in self._rows:
            prefix = f"{row.label}: " if compare else ""
            if t < n:
                if row.bad[t]:
                    lines.append(f"{prefix}h is inf/NaN")
                else:
                    lines.append(f"{prefix}‖∂h{sub(t + 1)}/∂x₁‖ = {fmt_value(row.influence[t])}"
                                 f"  ({fmt_percent(row.ratio[t])} of step 1)")
                pert = self._curves.get(self._key(row, "perturbation"))
                if pert is not None and pert.y.size:
                    lines.append(f"{prefix}‖Δh{sub(t + 1)}‖/ε = {fmt_value(pert.y[t])}")
            back = self._curves.get(self._key(row, "backward"))
            if back is not None and back.item.isVisible() and back.y.size:
                lines.append(f"{prefix}‖∂h_T/∂h{sub(t + 1)}‖ = {fmt_value(back.y[t])}")
        if t >= n:
            lines.insert(1, "not revealed yet")
        return "\n".join(lines)

    # ------------------------------------------------------------ controller → view
    def _onSettings(self, settings) -> None:
        blocked = self.backwardCheck.blockSignals(True)
        self.backwardCheck.setChecked(bool(settings.backward))
        self.backwardCheck.blockSignals(blocked)
        if self._result is not None:
            self._applyBackwardVisibility()
            self._updateComputing()

    def _onResult(self, result) -> None:
        self._result = result
        self._T = int(result.T)
        self._x = np.arange(1, self._T + 1, dtype=np.float64)
        self._rows = [ChainRow.build(cr, self.look) for cr in result.cells]
        keys = tuple((cr.key, cr.label) for cr in result.cells)
        if keys != self._cell_keys:
            self._buildItems(result.cells)
            self._cell_keys = keys
        self._prepareCurves(result)
        self.plot.setXRange(0.5, self._T + 0.5, padding=0)
        self.plot.setYRange(*self._yrange, padding=0)
        self._setTicks()
        self.cursor.setBounds([1, self._T])
        self._rebuildLegend()
        self._applyBackwardVisibility()
        self.chain.setRows(self._rows, self._T)
        self._shown_n = -1
        self._updateComputing()
        self._onStep()

    def _onStep(self, *_args) -> None:
        if self._result is None:
            return
        n = self._revealed()
        if n != self._shown_n:
            x = self._x[:n]
            for c in self._curves.values():
                if c.reveal:
                    c.item.setData(x, c.shown[:n])
            self._shown_n = n
            self._updateOverflow(n)
        cur = min(self.controller.step, self._T - 1)
        self.chain.setRevealed(n, cur)
        self._updateMarker(cur, n)
        self._updateStatus(cur, n)

    # ------------------------------------------------------------ building
    def _key(self, row_or_label, name: str) -> str:
        if len(self._rows) <= 1:
            return name
        label = row_or_label.label if isinstance(row_or_label, ChainRow) else row_or_label
        return f"{label}/{name}"

    def _row(self, label) -> ChainRow | None:
        if not self._rows:
            return None
        if label is None:
            return self._rows[0]
        for row in self._rows:
            if label in (row.key, row.label, row.short):
                return row
        raise KeyError(label)

    def _buildItems(self, cells) -> None:
        for c in self._curves.values():
            self.plot.removeItem(c.item)
        for m in self._markers:
            self.plot.removeItem(m)
        self._curves = {}
        self._markers = []
        compare = len(cells) > 1
        for cr in cells:
            colour = self.look.cell_colour(cr.key, self.look.cell_colour("loaded"))
            specs = {
                "influence": (pg.mkPen(colour, width=4), 3),
                "perturbation": (pg.mkPen(colour if compare else self.look.perturbation, width=2.5,
                                          style=QtCore.Qt.PenStyle.DashLine), 4),
                "backward": (pg.mkPen(colour if compare else self.look.backward, width=3,
                                      style=QtCore.Qt.PenStyle.DotLine), 2),
            }
            for name, (pen, z) in specs.items():
                item = pg.PlotDataItem(pen=pen, connect="finite")
                item.setZValue(z)
                self.plot.addItem(item)
                key = f"{cr.label}/{name}" if compare else name
                self._curves[key] = _Curve(item, np.zeros(0), np.zeros(0), None, reveal=name != "backward")
            marker = pg.ScatterPlotItem([0.0], [0.0], symbol="o", size=14, brush=pg.mkBrush(colour),
                                        pen=pg.mkPen("w", width=1.5))
            marker.setZValue(10)
            marker.hide()
            self.plot.addItem(marker, ignoreBounds=True)
            self._markers.append(marker)

    def _prepareCurves(self, result) -> None:
        """Display arrays and the fixed y range, from every value of the whole run."""
        show_back = bool(self.controller.settings.backward)
        arrays = {}
        broke = {}
        for cr, row in zip(result.cells, self._rows):
            infl = row.influence.copy()
            if row.overflow_from is not None:
                # past an overflow of h the derivative means nothing: end the curve, mark it
                infl[row.overflow_from:] = np.nan
                broke[self._key(row, "influence")] = row.overflow_from
            arrays[self._key(row, "influence")] = infl
            arrays[self._key(row, "perturbation")] = cr.perturbation
            arrays[self._key(row, "backward")] = cr.backward
        finite = [a[np.isfinite(a) & (a > 0)] for k, a in arrays.items()
                  if a is not None and (show_back or not k.endswith("backward"))]
        finite = np.concatenate(finite) if finite else np.zeros(0)
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (1e-3, 1.0)
        llo, lhi = math.log10(lo), math.log10(hi)
        if lhi - llo < 1.0:
            mid = 0.5 * (llo + lhi)
            llo, lhi = mid - 0.5, mid + 0.5
        span = lhi - llo
        y0, y1 = llo - 0.06 * span, lhi + 0.06 * span
        overflow = bool(broke) or any(a is not None and np.isposinf(a).any() for a in arrays.values())
        clip = min(y1, 307.5)
        if overflow:
            y1 = clip + 0.12 * span
        self._top_clip = 10.0**clip
        self._yrange = (y0, y1)
        for key, c in self._curves.items():
            a = arrays.get(key)
            if a is None:
                c.y = c.shown = np.zeros(0)
                c.overflow_at = None
                c.item.setData([], [])
                continue
            # the engine's arrays, except the influence masked where h overflowed (tooltips say so)
            c.y = np.asarray(a if not key.endswith("influence") else self._rowFor(key).influence, np.float64)
            shown = np.array(a, dtype=np.float64)
            pos_inf = np.isposinf(shown)
            shown[pos_inf] = self._top_clip
            shown[~(shown > 0)] = np.nan  # 0, negatives and NaN: the curve ends or has a gap
            c.shown = shown
            hits = np.flatnonzero(pos_inf)
            c.overflow_at = int(hits[0]) if hits.size else broke.get(key)
            if not c.reveal:
                c.item.setData(self._x, shown)

    def _setTicks(self) -> None:
        y0, y1 = self._yrange
        ticks = decade_ticks(y0, y1)
        self.plot.getAxis("left").setTicks([[(v, decade_label(v)) for v in ticks], []])
        x = np.tile([0.5, self._T + 0.5], len(ticks))
        self.grid.setData(x, np.repeat(ticks, 2))

    def _rowFor(self, key: str) -> ChainRow:
        if "/" not in key:
            return self._rows[0]
        return self._row(key.rsplit("/", 1)[0])

    def _legendGrows(self) -> bool:
        for row in self._rows:
            ok = np.flatnonzero(~row.bad & (row.influence > 0))
            if ok.size and row.influence[ok[-1]] > row.influence[0]:
                return True
        return False

    def _rebuildLegend(self) -> None:
        """Legend entries, top right while x₁ fades (that corner stays empty), bottom right when it
        grows. Rebuilt only when that changes: a slider drag brings a new result every frame."""
        compare = len(self._rows) > 1
        show_back = bool(self.controller.settings.backward)
        grows = self._legendGrows()
        if grows != getattr(self, "_legend_grows", None):  # moving it is cheap; refilling is not
            self._legend_grows = grows
            self.legend.anchor(itemPos=(1, 1) if grows else (1, 0), parentPos=(1, 1) if grows else (1, 0),
                               offset=(-8, -6) if grows else (-8, 6))
        key = (self._cell_keys, show_back, tuple(id(c.item) for c in self._curves.values()))
        if key == self._legend_key:
            return
        self._legend_key = key
        self.legend.clear()
        if compare:
            for row in self._rows:
                self.legend.addItem(self._curves[self._key(row, "influence")].item, row.label)
            self.legend.addItem(_proxy(QtCore.Qt.PenStyle.DashLine), "dashed: ‖Δhₜ‖/ε (nudge x₁)")
            if show_back:
                self.legend.addItem(_proxy(QtCore.Qt.PenStyle.DotLine),
                                    "dotted: ‖∂h<sub>T</sub>/∂h<sub>t</sub>‖ (all t)")
        else:
            self.legend.addItem(self._curves["influence"].item, "‖∂hₜ/∂x₁‖ (exact)")
            self.legend.addItem(self._curves["perturbation"].item, "‖h(x₁+ε) − h(x₁)‖/ε")
            if show_back:
                self.legend.addItem(self._curves["backward"].item,
                                    "‖∂h<sub>T</sub>/∂h<sub>t</sub>‖ backward (all t)")

    def _applyBackwardVisibility(self) -> None:
        on = bool(self.controller.settings.backward)
        for key, c in self._curves.items():
            if key.endswith("backward"):
                c.item.setVisible(on and c.y.size > 0)
        self._rebuildLegend()

    def _updateComputing(self) -> None:
        res = self._result
        pending = []
        if res is not None:
            if any(cr.perturbation is None for cr in res.cells):
                pending.append("‖Δh‖/ε")
            if self.controller.settings.backward and any(cr.backward is None for cr in res.cells):
                pending.append("backward ‖∂h_T/∂hₜ‖")
        if pending:
            self.computingText.setText("computing " + " and ".join(pending) + " …")
            self.computingText.setPos(0.5 * (self._T + 1), self._yrange[1])
            self.computingText.show()
        else:
            self.computingText.hide()

    def _showWaiting(self) -> None:
        self.plot.setXRange(0.0, 1.0, padding=0)
        self.plot.setYRange(-1.0, 1.0, padding=0)
        self.computingText.setText("waiting for the first run…")
        self.computingText.setPos(0.5, 0.5)
        self.computingText.show()
        self.statusLabel.setText("")

    # ------------------------------------------------------------ per step
    def _revealed(self) -> int:
        if self._result is None:
            return 0
        if self.controller.revealAll:
            return self._T
        return int(min(max(self.controller.step, 0), self._T - 1)) + 1

    def markerPoints(self) -> list[tuple[float, float]]:
        """(step t, influence) of each visible current-step marker."""
        return [(m.pos().x(), 10.0 ** m.pos().y()) for m in self._markers if m.isVisible()]

    def _updateMarker(self, cur: int, n: int) -> None:
        self.cursor.blockSignals(True)
        self.cursor.setValue(cur + 1)
        self.cursor.blockSignals(False)
        ys = []
        for row, marker in zip(self._rows, self._markers):
            v = self._curves[self._key(row, "influence")].shown[cur] if cur < n else np.nan
            if np.isfinite(v) and v > 0 and not row.bad[cur]:
                marker.setPos(cur + 1.0, math.log10(v))  # the plot is in decades
                marker.show()
                ys.append(v)
            else:
                marker.hide()
        if len(self._rows) == 1 and ys:
            row = self._rows[0]
            self.valueText.setText(f"{fmt_value(row.influence[cur])}  ({fmt_percent(row.ratio[cur])})")
            ly = math.log10(ys[0])
            # put the label where the drawn curve is not: below a falling curve, above a rising one
            right = cur + 1 > 0.6 * self._T
            y0, y1 = self._yrange
            below = row.influence[cur] <= row.influence[0]
            if below and ly - y0 < 0.15 * (y1 - y0) or not below and y1 - ly < 0.15 * (y1 - y0):
                below = not below
            self.valueText.setAnchor((1.08 if right else -0.08, -0.15 if below else 1.15))
            self.valueText.setPos(cur + 1.0, ly)
            self.valueText.show()
        else:
            self.valueText.hide()

    def _updateOverflow(self, n: int) -> None:
        xs, first, h_broke = [], None, False
        for c in self._curves.values():
            at = c.overflow_at
            if at is not None and (at < n or not c.reveal) and c.item.isVisible():
                xs.append(at + 1.0)
                if first is None or at < first:
                    first, h_broke = at, not np.isposinf(c.y[at])  # the curve ends where h broke
        if xs:
            self.overflowMarkers.setData(xs, [self._top_clip] * len(xs))
            ly = math.log10(self._top_clip)
            right = first + 1 > 0.7 * self._T
            self.overflowText.setAnchor((1.04 if right else -0.04, 0.5))
            what = "h overflowed at" if h_broke else "overflow (inf) from"
            self.overflowText.setText(f"{what} t = {first + 1}")
            self.overflowText.setPos(first + 1.0, ly + 0.5 * (self._yrange[1] - ly))
            self.overflowText.show()
        else:
            self.overflowMarkers.setData([], [])
            self.overflowText.hide()

    def _updateStatus(self, cur: int, n: int) -> None:
        t = cur + 1
        parts = []
        compare = len(self._rows) > 1
        for row in self._rows:
            if row.bad[cur]:
                where = row.overflow_from + 1 if row.overflow_from is not None else t
                text = f"h is inf/NaN (overflowed at t = {where})"
            elif compare:
                text = fmt_percent(row.ratio[cur], 1) + (" ⚠" if row.grew[cur] else "")
            else:
                text = (f"‖∂h<sub>{t}</sub>/∂x<sub>1</sub>‖ = {fmt_value(row.influence[cur])} &nbsp;→&nbsp; "
                        f"<b>{fmt_percent(row.ratio[cur])}</b> of step 1 left")
                if row.grew[cur]:
                    text += f" &nbsp;<span style='color:{GREW_MARK}'><b>⚠ growing: exploding</b></span>"
                elif row.influence[cur] == 0:
                    text += " (smaller than any float64)" if row.influence[0] > 0 else " (x₁ never reaches h)"
            if compare:
                text = f"<span style='color:{row.colour}'><b>{row.short}</b></span> {text}"
            parts.append(text)
        # Compare: just the percentages of x₁ left (the exact values are in the tooltips)
        self.statusLabel.setText(f"<b>t = {t}</b>: " + (" · " if compare else "").join(parts))

    # ------------------------------------------------------------ user → controller
    def _onBackwardClicked(self, _checked=False) -> None:
        self.controller.update(backward=not self.controller.settings.backward)

    def _onCursorDragged(self, line) -> None:
        self.controller.setStep(int(round(line.value())) - 1)

    def _onMouseClicked(self, ev) -> None:
        if ev.button() != QtCore.Qt.MouseButton.LeftButton or self._result is None:
            return
        pos = ev.scenePos()
        if self.vb.sceneBoundingRect().contains(pos):
            self.controller.setStep(int(round(self.vb.mapSceneToView(pos).x())) - 1)

    def _onMouseMoved(self, pos) -> None:
        if self._result is None or not self.vb.sceneBoundingRect().contains(pos):
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
