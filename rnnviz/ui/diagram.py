"""The live cell diagram: the standard picture of the cell, with this step's numbers on it.

x_t and h_{t−1} (and c_{t−1}) come in on the left, the σ and tanh blocks read them, ⊙ and +
nodes combine them, h_t (and c_t) leave on the right. Every wire is a pipe filled with the
colour of its value on the heatmaps' colour maps (the theme's maps and the run's levels),
and each node's value is written beside it: the selected unit's number, the whole vector of a
small cell, and a strip of every unit. A gate is a valve whose opening is its value. Stepping
glides the colours and valves to the new step (ANIMATION_MS). Hovering a node shows its formula
with the numbers (the equation panel's rows); clicking pins it under the diagram. Compare mode
draws the three cells side by side.

The nodes, wires and values come ready-made from :mod:`rnnviz.core.diagram`; this module only
paints them with QPainter (so PNG and SVG export paint the same picture).
"""

from __future__ import annotations

import html as _html

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.diagram import SHOW_NUMBERS, cell_model, diagram_frame
from ..core.format import MINUS
from . import theme
from .equations import frag_html
from .panels import Panel

__all__ = ["DiagramPanel", "ANIMATION_MS"]

#: How long a step's change glides (ms).
ANIMATION_MS = 120
#: A strip of every unit is drawn under a value for cells of at most this many units.
MAX_STRIP = 64
#: … when a grid unit has at least this many pixels.
MIN_STRIP_U = 42.0
#: Grid units around the nodes for the first guess of the grid's size (left, top, right, bottom).
PAD = (1.4, 0.6, 1.4, 0.4)
#: The fonts have the theme's sizes when a grid unit is at least this many pixels, and shrink
#: with it below (to MIN_FONT_SCALE), so a small diagram stays legible.
FONT_AT = 70.0
MIN_FONT_SCALE = 0.75
#: The terminals' texts take at most this share of a diagram's width; in a narrower one (Compare
#: mode) the texts shrink, down to MIN_TIGHT_SCALE.
MARGIN_SHARE = 0.42
MIN_TIGHT_SCALE = 0.55
#: A grid unit is never larger than this (px): a huge panel centres a diagram of this size.
MAX_U = 190.0
NAN_GREY = "#8C8C8C"


def _luma(c: QtGui.QColor) -> float:
    return 0.299 * c.redF() + 0.587 * c.greenF() + 0.114 * c.blueF()


class DiagramPanel(Panel, QtWidgets.QWidget):
    """The cell diagram of the current step and selected unit (three in Compare mode)."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self._controller = controller
        self._frame = None
        self._result = None
        self._models: tuple = ()
        self._diagram = None  # the DiagramFrame shown (the target of an animation)
        self._from: dict = {}  # (cell key, node id) -> (scalar, vector) an animation starts from
        self._alpha = 1.0
        self._dirty = True
        self._pinned: tuple | None = None  # (cell key, node id) whose formula is shown below
        self._showVectors = True
        self._luts: dict = {}
        self._hits: list = []  # (QRectF, cell key, node id), from the last paint
        self._shown: dict = {}  # (cell key, node id) -> the value text painted
        self._fonts: dict = {}
        self.setMouseTracking(True)
        self.setAutoFillBackground(False)
        self._anim = QtCore.QVariantAnimation(self)
        self._anim.setStartValue(0.0)
        self._anim.setEndValue(1.0)
        self._anim.setDuration(ANIMATION_MS)
        self._anim.setEasingCurve(QtCore.QEasingCurve.Type.OutCubic)
        self._anim.valueChanged.connect(self._onAlpha)
        self._makeFonts()
        controller.frameChanged.connect(self.setFrame)
        self.setFrame(controller.frame)

    # ------------------------------------------------------------------ accessors (tests, lessons)
    def diagram(self):
        """The :class:`~rnnviz.core.diagram.DiagramFrame` shown (brought up to date)."""
        self._update()
        return self._diagram

    def diagramCount(self) -> int:
        d = self.diagram()
        return 0 if d is None else len(d.cells)

    def shownText(self) -> dict:
        """(cell key, node id) -> the value written beside the node in the last paint."""
        return dict(self._shown)

    def nodeRect(self, key: str, node_id: str) -> QtCore.QRectF | None:
        """Where node ``node_id`` of cell ``key`` was painted (widget coordinates)."""
        for rect, k, n in self._hits:
            if (k, n) == (key, node_id):
                return QtCore.QRectF(rect)
        return None

    def nodeAt(self, pos) -> tuple | None:
        p = QtCore.QPointF(pos)
        for rect, k, n in reversed(self._hits):
            if rect.contains(p):
                return k, n
        return None

    def formulaHtml(self, key: str, node_id: str) -> str:
        cell = self._cell(key)
        return "" if cell is None else _formula_html(cell, node_id, self.look, self.look.font_pt + 1)

    def _outputLayer(self, frame):
        """(Output, class labels or None) of the Train mode's model shown in Explore, else None."""
        from .training import existing_training

        tc = existing_training(self._controller)
        ex = tc.explored if tc is not None else None
        if ex is None or self._controller.loadedName != ex.name or len(frame.result.cells) != 1:
            return None
        fc = ex.model.fc
        if ex.task.chars is not None:
            return fc, tuple(ex.task.chars.chars)
        if ex.task.loss == "xent":
            return fc, tuple(str(k) for k in range(fc.output_size))
        return fc, None

    def formulaText(self, key: str, node_id: str) -> str:
        """The formula of a node as plain text (the equation panel's rows for it)."""
        cell = self._cell(key)
        if cell is None:
            return ""
        rows = cell.formula(node_id)
        return "\n".join(f"{r.lhs.plain} = {r.rhs.plain}" if r.lhs else f"    = {r.rhs.plain}" for r in rows)

    def pinned(self) -> tuple | None:
        return self._pinned

    def setPinned(self, key: str | None, node_id: str | None = None) -> None:
        self._pinned = None if key is None else (key, node_id)
        self.update()

    def setShowVectors(self, on: bool) -> None:
        """Draw (or not) the strip of every unit under each value."""
        self._showVectors = bool(on)
        self.update()

    def pointSizes(self) -> dict:
        """Point sizes of the diagram's texts by role (presenter mode scales them)."""
        return {k: f.pointSize() for k, f in self._fonts.items()}

    def isAnimating(self) -> bool:
        return self._anim.state() == QtCore.QAbstractAnimation.State.Running

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(640, 440)

    def minimumSizeHint(self) -> QtCore.QSize:
        # small: it shares its place with the fading plot, and a 768-pixel projector has no more
        return QtCore.QSize(200, 120)

    # ------------------------------------------------------------------ panel
    def setTheme(self, look: theme.Theme) -> None:
        super().setTheme(look)
        self._luts.clear()
        self._makeFonts()
        self.update()

    def settle(self) -> None:
        """End a running animation and bring the content up to date (export, tests)."""
        if self.isAnimating():
            self._anim.stop()
        self._alpha = 1.0
        self._update()
        self.update()

    def _makeFonts(self) -> None:
        t = self.look
        self._fonts = {
            "label": theme.font(t.pt(theme.BASE_FONT_PT + 3), bold=True),
            "symbol": theme.font(t.pt(theme.BASE_FONT_PT + 2), bold=True),
            "value": theme.font(t.pt(theme.BASE_FONT_PT + 1), bold=True),
            "small": theme.font(t.pt(theme.BASE_FONT_PT - 1)),
            "numbers": theme.font(t.pt(theme.BASE_FONT_PT)),  # a small cell's vectors
            "title": theme.font(t.title_pt, bold=True),
        }

    # ------------------------------------------------------------------ updates
    def setFrame(self, frame) -> None:
        self._frame = frame
        self._dirty = True
        if self.isVisible():
            self._update(animate=True)
            self.update()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._update()

    def _update(self, animate: bool = False) -> None:
        if not self._dirty:
            return
        self._dirty = False
        frame = self._frame
        if frame is None or not frame.result.cells:
            self._diagram, self._result, self._models = None, None, ()
            return
        old = self._diagram
        if frame.result is not self._result:
            self._result = frame.result
            out = self._outputLayer(frame)
            self._models = tuple(cell_model(cr, out) for cr in frame.result.cells)
        new = diagram_frame(frame, self._models)
        steps = old is not None and old.step != new.step and [c.key for c in old.cells] == [c.key for c in new.cells]
        if animate and steps:
            # glide from what is on the screen now
            self._from = {(c.key, nid): self._blend(c.key, nid, v) for c in old.cells for nid, v in c.values.items()}
            self._alpha = 0.0
            self._anim.stop()
            self._anim.start()
        else:
            self._from = {}
            if self.isAnimating():
                self._anim.stop()
            self._alpha = 1.0
        self._diagram = new

    def _onAlpha(self, value) -> None:
        self._alpha = float(value)
        self.update()

    def _blend(self, key: str, node_id: str, v):
        """The (scalar, vector) painted now for a node whose target value is ``v``."""
        start = self._from.get((key, node_id))
        a = self._alpha
        if start is None or a >= 1.0:
            return v.scalar, v.vector
        s0, v0 = start
        s = v.scalar if s0 is None or v.scalar is None else s0 + (v.scalar - s0) * a
        vec = v.vector if v0.shape != v.vector.shape else v0 + (v.vector - v0) * a
        return s, vec

    def _cell(self, key: str):
        d = self.diagram()
        if d is None:
            return None
        return next((c for c in d.cells if c.key == key), None)

    # ------------------------------------------------------------------ mouse
    def event(self, ev) -> bool:
        if ev.type() == QtCore.QEvent.Type.ToolTip:
            hit = self.nodeAt(ev.position() if hasattr(ev, "position") else ev.pos())
            if hit is None:
                QtWidgets.QToolTip.hideText()
                ev.ignore()
            else:
                QtWidgets.QToolTip.showText(ev.globalPos(), self.formulaHtml(*hit), self)
            return True
        return super().event(ev)

    def mousePressEvent(self, ev) -> None:
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            hit = self.nodeAt(ev.position())
            self._pinned = None if hit is None or hit == self._pinned else hit
            self.update()
            ev.accept()
            return
        super().mousePressEvent(ev)

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event) -> None:
        self._update()
        p = QtGui.QPainter(self)
        try:
            p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            p.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing)
            self._paint(p, QtCore.QRectF(self.rect()))
        finally:
            p.end()

    def _paint(self, p: QtGui.QPainter, rect: QtCore.QRectF) -> None:
        t = self.look
        p.fillRect(rect, QtGui.QColor(t.background))
        self._hits, self._shown = [], {}
        d = self._diagram
        if d is None:
            p.setPen(QtGui.QColor(t.muted))
            p.setFont(self._fonts["label"])
            p.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, "The cell diagram appears when the network has run.")
            return
        doc = None
        if self._pinned is not None and self._cell(self._pinned[0]) is not None:
            cell = self._cell(self._pinned[0])
            doc = QtGui.QTextDocument()
            doc.setDefaultFont(theme.font(t.font_pt))
            doc.setDocumentMargin(6)
            doc.setTextWidth(rect.width() - 12)
            doc.setHtml(_formula_html(cell, self._pinned[1], t, t.font_pt + 1, hint=True))
            h = min(doc.size().height(), rect.height() * 0.45)
            area = QtCore.QRectF(rect.left() + 6, rect.bottom() - h - 4, rect.width() - 12, h)
            rect = QtCore.QRectF(rect.left(), rect.top(), rect.width(), area.top() - rect.top())
        for cell, r in zip(d.cells, _arrange(d.cells, rect)):
            self._paintCell(p, cell, r, len(d.cells) > 1)
        if doc is not None:
            p.save()
            p.setPen(QtGui.QPen(QtGui.QColor(t.grid), 1))
            p.drawLine(QtCore.QPointF(area.left(), area.top() - 2), QtCore.QPointF(area.right(), area.top() - 2))
            p.translate(area.topLeft())
            ctx = QtGui.QAbstractTextDocumentLayout.PaintContext()
            ctx.palette.setColor(QtGui.QPalette.ColorRole.Text, QtGui.QColor(t.foreground))
            ctx.clip = QtCore.QRectF(0, 0, area.width(), area.height())
            p.setClipRect(ctx.clip)
            doc.documentLayout().draw(p, ctx)
            p.restore()

    def _paintCell(self, p: QtGui.QPainter, cell, rect: QtCore.QRectF, compare: bool) -> None:
        t = self.look
        fonts = self._fonts
        fm_title = QtGui.QFontMetricsF(fonts["title"])
        if compare:
            fonts = dict(fonts, title=_scaled(fonts["title"], 0.85))
            fm_title = QtGui.QFontMetricsF(fonts["title"])
        title_h = fm_title.height() + 6
        p.setFont(fonts["title"])
        p.setPen(QtGui.QColor(t.role_colour(cell.colour, t.foreground)))
        head = cell.label if compare else cell.head
        if compare:
            head += f" — t = {cell.t + 1}"
        p.drawText(QtCore.QRectF(rect.left() + 6, rect.top() + 2, rect.width() - 12, title_h),
                   QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
                   fm_title.elidedText(head, QtCore.Qt.TextElideMode.ElideRight, rect.width() - 12))
        area = QtCore.QRectF(rect.left(), rect.top() + title_h, rect.width(), rect.height() - title_h)
        x0, y0, x1, y1 = cell.bounds
        # a first guess of the grid's size, then the margins the terminals' texts need at the
        # font size it allows: the fonts follow the diagram's size (never above the theme's)
        u = min(area.width() / (x1 - x0 + PAD[0] + PAD[2]), area.height() / (y1 - y0 + PAD[1] + PAD[3]))
        scale = float(np.clip(u / FONT_AT, MIN_FONT_SCALE, 1.0))
        base = fonts
        for _ in range(2):
            fonts = {k: _scaled(f, scale) for k, f in base.items()}
            left = right = 0.0
            fl, fv, fs = (QtGui.QFontMetricsF(fonts[k]) for k in ("label", "value", "small"))
            for n in cell.nodes:
                if n.op in ("input", "output"):
                    v = cell.values[n.id]
                    need = fl.horizontalAdvance(n.label) + 14
                    if n.op == "input":
                        left = max(left, need)
                    else:
                        right = max(right, need)
            if left + right <= MARGIN_SHARE * area.width() or scale <= MIN_TIGHT_SCALE:
                break
            # a narrow diagram (Compare mode): smaller texts rather than no room for the cell
            scale = max(MIN_TIGHT_SCALE, scale * MARGIN_SHARE * area.width() / (left + right))
        top, bottom = fv.height() * 1.6 + 4, fs.height() + 6
        gw, gh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        gap = min(24.0, 0.02 * area.width())
        aw = max(area.width() - left - right - 2 * gap, 40.0)
        ah = max(area.height() - top - bottom - 20, 40.0)
        sx, sy = aw / gw, ah / gh
        u = min(sx, sy, MAX_U)
        sx, sy = min(sx, 1.7 * u), min(sy, 1.3 * u)
        # the glyphs' texts follow the grid unit; the terminals' keep the size their margins have
        inner = min(scale, max(u / FONT_AT, MIN_TIGHT_SCALE))
        if inner < scale:
            fonts = {k: (f if k == "label" else _scaled(base[k], inner)) for k, f in fonts.items()}
        ox = area.left() + left + gap + (aw - gw * sx) / 2
        oy = area.top() + top + 10 + (ah - gh * sy) / 2

        def at(pt) -> QtCore.QPointF:
            return QtCore.QPointF(ox + (pt[0] - x0) * sx, oy + (pt[1] - y0) * sy)

        values = {nid: self._blend(cell.key, nid, v) for nid, v in cell.values.items()}
        nodes = {n.id: n for n in cell.nodes}

        # wires: a dark casing under a core in the value's colour
        pipe = max(3.0, min(9.0, 0.07 * u))
        casing = QtGui.QPen(QtGui.QColor(t.foreground), pipe + 2.5)
        casing.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
        casing.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        paths = []
        for e in cell.edges:
            path = QtGui.QPainterPath(at(e.points[0]))
            for pt in e.points[1:]:
                path.lineTo(at(pt))
            paths.append((path, e))
        p.setPen(casing)
        for path, _e in paths:
            p.drawPath(path)
        for path, e in paths:
            s, _v = values[e.src]
            col = self._colour(nodes[e.src].cmap, cell.values[e.src].levels, s) if s is not None else QtGui.QColor(t.grid)
            pen = QtGui.QPen(col, pipe)
            pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
            pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            p.drawPath(path)

        # nodes, then the values beside them
        blocks = [n for n in cell.nodes if n.op == "gate"]
        xs = sorted({b.pos[0] for b in blocks})
        spacing = min((b - a for a, b in zip(xs, xs[1:])), default=3.0) * sx
        for n in cell.nodes:
            c = at(n.pos)
            v = cell.values[n.id]
            s, vec = values[n.id]
            if n.op == "gate":
                r = self._paintBlock(p, n, v, s, vec, c, u, fonts, cell, len(blocks) == 1, spacing)
            elif n.op in ("mul", "add"):
                rad = 0.17 * u
                r = QtCore.QRectF(c.x() - rad, c.y() - rad, 2 * rad, 2 * rad)
                p.setPen(QtGui.QPen(QtGui.QColor(t.foreground), 2))
                p.setBrush(QtGui.QColor(t.background))
                p.drawEllipse(r)
                p.setFont(fonts["symbol"])
                p.drawText(r, QtCore.Qt.AlignmentFlag.AlignCenter, n.label)
            elif n.op == "op":
                fm = QtGui.QFontMetricsF(fonts["symbol"])
                bw, bh = max(0.5 * u, fm.horizontalAdvance(n.label) + 10), 0.34 * u
                r = QtCore.QRectF(c.x() - bw / 2, c.y() - bh / 2, bw, bh)
                p.setPen(QtGui.QPen(QtGui.QColor(t.foreground), 2))
                p.setBrush(QtGui.QColor(t.background))
                p.drawRoundedRect(r, 6, 6)
                p.setFont(fonts["symbol"])
                p.drawText(r, QtCore.Qt.AlignmentFlag.AlignCenter, n.label)
            elif n.op == "cat":
                rad = max(3.0, 0.05 * u)
                r = QtCore.QRectF(c.x() - rad, c.y() - rad, 2 * rad, 2 * rad)
                p.setPen(QtCore.Qt.PenStyle.NoPen)
                p.setBrush(QtGui.QColor(t.foreground))
                p.drawEllipse(r)
                r = r.adjusted(-6, -6, 6, 6)
            else:  # inputs and outputs: a terminal, its name and its value
                r = self._paintTerminal(p, n, v, s, vec, c, u, fonts, cell)
            self._hits.append((r, cell.key, n.id))
            if n.tag and n.op in ("mul", "add", "op"):
                anchor = QtCore.QPointF(c.x() + (0.5 + n.tag_offset[0]) * u, c.y() + (-0.36 + n.tag_offset[1]) * u)
                self._paintTag(p, anchor, n, v, s, vec, u, fonts, cell, "center")

    def _paintBlock(self, p, n, v, s, vec, c, u, fonts, cell, alone: bool, spacing: float) -> QtCore.QRectF:
        """A gate block: its activation and name on top, a valve (a 0…1 gate) or a colour bar
        (a candidate) in the middle, its value below."""
        t = self.look
        fv = QtGui.QFontMetricsF(fonts["value"])
        fm = QtGui.QFontMetricsF(fonts["symbol"])
        valve_h, strip_h = max(6.0, 0.2 * u), (0.1 * u if u >= MIN_STRIP_U else 0.0)
        bw = min(max(0.8 * u, fv.horizontalAdvance(v.text) + 10), max(spacing - 8, 0.8 * u))
        bh = fm.height() + valve_h + fv.height() + strip_h + 14
        r = QtCore.QRectF(c.x() - bw / 2, c.y() - bh / 2, bw, bh)
        p.setPen(QtGui.QPen(QtGui.QColor(t.foreground), 2))
        p.setBrush(QtGui.QColor(t.background))
        p.drawRoundedRect(r, 8, 8)
        top = QtCore.QRectF(r.left(), r.top() + 3, r.width(), fm.height())
        p.setFont(_fit(fonts["symbol"], n.label, bw - 4))
        p.setPen(QtGui.QColor(t.foreground))
        p.drawText(top, QtCore.Qt.AlignmentFlag.AlignCenter, n.label)
        if n.gate and n.title:
            # the gate's name (in its colour) and what it is, above the block
            fl = QtGui.QFontMetricsF(fonts["value"])
            fs = QtGui.QFontMetricsF(fonts["small"])
            # the name left of the block's wire, what it is right of it
            wn = fl.horizontalAdvance(n.gate)
            y = r.top() - fl.height() - 1
            p.setFont(fonts["value"])
            p.setPen(QtGui.QColor(t.gate_colour(n.gate, t.foreground)))
            p.drawText(QtCore.QRectF(c.x() - wn - 6, y, wn + 2, fl.height()), QtCore.Qt.AlignmentFlag.AlignVCenter,
                       n.gate)
            if fs.horizontalAdvance(n.title) <= spacing - 2 * wn - 24:  # clear of the next block's name
                p.setFont(fonts["small"])
                p.setPen(QtGui.QColor(t.muted))
                p.drawText(QtCore.QRectF(c.x() + 6, y, spacing, fl.height()), QtCore.Qt.AlignmentFlag.AlignVCenter,
                           n.title)
        col = self._colour(n.cmap, v.levels, s)
        mid = QtCore.QRectF(r.left() + 0.12 * bw, top.bottom() + 2, 0.76 * bw, valve_h)
        if n.valve:
            # the pipe, and a plate that comes down to leave an opening of the gate's value
            p.setPen(QtGui.QPen(QtGui.QColor(t.foreground), 1.5))
            p.setBrush(col)
            p.drawRect(mid)
            shut = float(np.clip(1.0 - (s if s is not None and np.isfinite(s) else 0.0), 0.0, 1.0))
            plate = QtCore.QRectF(mid.left() + 0.3 * mid.width(), mid.top(), 0.4 * mid.width(), shut * mid.height())
            p.setBrush(QtGui.QColor(t.foreground))
            p.drawRect(plate)
        elif not alone:
            p.setPen(QtGui.QPen(QtGui.QColor(t.foreground), 1.5))
            p.setBrush(col)
            p.drawRect(mid)
        text = _text(s, v)
        p.setFont(_fit(fonts["value"], text, bw - 4))
        p.setPen(QtGui.QColor(t.foreground))
        self._shown[(cell.key, n.id)] = text
        low = QtCore.QRectF(r.left(), mid.bottom() + 2, r.width(), fv.height())
        if n.tag:
            p.drawText(low, QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignTop, text)
        if self._showVectors and 1 < vec.size <= MAX_STRIP and u >= MIN_STRIP_U:
            self._strip(p, QtCore.QRectF(r.left() + 6, low.bottom() + 2, r.width() - 12, strip_h),
                        n.cmap, v.levels, vec, cell.unit)
        if alone and v.pre_text:  # room for the pre-activation: the seed document's combined input
            p.setFont(fonts["numbers"])
            p.setPen(QtGui.QColor(t.foreground))
            fs = QtGui.QFontMetricsF(fonts["numbers"])
            below = QtCore.QRectF(r.left() - u, r.bottom() + 4, r.width() + 2 * u, fs.height())
            pre = v.pre_text.replace("-", MINUS)
            p.drawText(below, QtCore.Qt.AlignmentFlag.AlignHCenter, pre)
            self._shown[(cell.key, n.id + ":pre")] = pre
        return r

    def _paintTerminal(self, p, n, v, s, vec, c, u, fonts, cell) -> QtCore.QRectF:
        t = self.look
        rad = max(4.0, 0.08 * u)
        p.setPen(QtGui.QPen(QtGui.QColor(t.foreground), 2))
        p.setBrush(self._colour(n.cmap, v.levels, s) if s is not None else QtGui.QColor(t.background))
        p.drawEllipse(c, rad, rad)
        fm = QtGui.QFontMetricsF(fonts["label"])
        left = n.op == "input"
        p.setFont(fonts["label"])
        p.setPen(QtGui.QColor(t.foreground))
        lw = fm.horizontalAdvance(n.label)
        y = c.y() - fm.height() / 2
        lr = QtCore.QRectF(c.x() - rad - 6 - lw if left else c.x() + rad + 6, y, lw, fm.height())
        p.drawText(lr, QtCore.Qt.AlignmentFlag.AlignVCenter, n.label)
        # the value above the wire (or below, as the kind's layout says), inside the grid
        dx, dy = n.tag_offset if n.tag_offset != (0.0, 0.0) else (0.0, -1.0)
        anchor = QtCore.QPointF(c.x() + (1 if left else -1) * (rad + 2) + dx * u, c.y() + (0.1 * u if dy > 0 else -0.1 * u))
        tag = self._paintTag(p, anchor, n, v, s, vec, u, fonts, cell, "left" if left else "right",
                             "top" if dy > 0 else "bottom")
        return lr.united(tag).united(QtCore.QRectF(c.x() - rad, c.y() - rad, 2 * rad, 2 * rad))

    def _paintTag(self, p, anchor, n, v, s, vec, u, fonts, cell, align: str, valign: str = "top") -> QtCore.QRectF:
        """A value label: the unit's number on its colour, the vector of a small cell, a strip."""
        t = self.look
        text = _text(s, v)
        self._shown[(cell.key, n.id)] = text
        fm = QtGui.QFontMetricsF(fonts["value"])
        fs = QtGui.QFontMetricsF(fonts["numbers"])
        vt = v.vector_text if (vec.size > 1 and vec.size <= SHOW_NUMBERS) else None
        if vt is not None:
            vt = vt.replace("-", MINUS)
            self._shown[(cell.key, n.id + ":vector")] = vt
        w = fm.horizontalAdvance(text) + 12
        h = fm.height() + 4
        full_w = max(w, fs.horizontalAdvance(vt) + 8 if vt else 0)
        strip = self._showVectors and SHOW_NUMBERS < vec.size <= MAX_STRIP and u >= MIN_STRIP_U
        total_h = h + (fs.height() if vt else 0) + (0.1 * u + 3 if strip else 0)
        if align == "right":
            x = anchor.x() - full_w
        elif align == "left":
            x = anchor.x()
        else:
            x = anchor.x() - full_w / 2
            anchor = QtCore.QPointF(anchor.x(), anchor.y() - total_h / 2)
        y = anchor.y() - (total_h if valign == "bottom" else 0.0)
        box = QtCore.QRectF(x + (full_w - w) / 2 if align == "center" else (x + full_w - w if align == "right" else x),
                            y, w, h)
        if s is not None:
            col = self._colour(n.cmap, v.levels, s)
            p.setPen(QtGui.QPen(QtGui.QColor(t.foreground), 1.2))
            p.setBrush(col)
            p.drawRoundedRect(box, 5, 5)
            p.setPen(QtGui.QColor("#000000" if _luma(col) > 0.55 else "#FFFFFF"))
            p.setFont(fonts["value"])
            p.drawText(box, QtCore.Qt.AlignmentFlag.AlignCenter, text)
        else:
            box = QtCore.QRectF(box.left(), box.top(), 0, 0)
        yy = box.bottom() + 1 if s is not None else y
        if vt:
            p.setFont(fonts["numbers"])
            p.setPen(QtGui.QColor(t.foreground))
            vr = QtCore.QRectF(x, yy, full_w, fs.height())
            flag = {"right": QtCore.Qt.AlignmentFlag.AlignRight, "left": QtCore.Qt.AlignmentFlag.AlignLeft}.get(
                align, QtCore.Qt.AlignmentFlag.AlignHCenter)
            p.drawText(vr, flag | QtCore.Qt.AlignmentFlag.AlignVCenter, vt)
            yy = vr.bottom()
        if strip:
            self._strip(p, QtCore.QRectF(x, yy + 2, full_w, 0.1 * u), n.cmap, v.levels, vec, cell.unit)
        return QtCore.QRectF(x, y, full_w, total_h)

    def _strip(self, p, r: QtCore.QRectF, cmap: str, levels, vec: np.ndarray, unit: int) -> None:
        """Every unit's value as a row of colour cells, the selected one outlined."""
        lut = self._lut(cmap)
        lo, hi = levels
        with np.errstate(all="ignore"):
            idx = np.clip((vec - lo) / ((hi - lo) or 1.0) * 255.0, 0, 255)
        # one RGB32 row from the colour table at once (a pixel loop costs ~1 ms a strip)
        rgb = lut[np.nan_to_num(idx, nan=0.0).astype(np.intp)]
        argb = (0xFF << 24) | (rgb[:, 0].astype(np.uint32) << 16) | (rgb[:, 1].astype(np.uint32) << 8) | rgb[:, 2]
        argb = np.where(np.isfinite(idx), argb, np.uint32(QtGui.QColor(NAN_GREY).rgb() & 0xFFFFFFFF))
        row = np.ascontiguousarray(argb, dtype=np.uint32)
        img = QtGui.QImage(row.data, vec.size, 1, 4 * vec.size, QtGui.QImage.Format.Format_RGB32).copy()
        p.drawImage(r, img)
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        p.setPen(QtGui.QPen(QtGui.QColor(self.look.foreground), 1))
        p.drawRect(r)
        if vec.size > 1 and 0 <= unit < vec.size:
            cw = r.width() / vec.size
            p.setPen(QtGui.QPen(QtGui.QColor(self.look.cursor), 2))
            p.drawRect(QtCore.QRectF(r.left() + unit * cw, r.top() - 1, cw, r.height() + 2))

    def _lut(self, cmap: str) -> np.ndarray:
        name = self.look.sequential if cmap == "sequential" else self.look.diverging
        lut = self._luts.get(name)
        if lut is None:
            lut = self._luts[name] = np.asarray(theme.lut(name), dtype=np.int32)
        return lut

    def _colour(self, cmap: str, levels, s) -> QtGui.QColor:
        if s is None or not np.isfinite(s):
            return QtGui.QColor(NAN_GREY)
        lo, hi = levels
        i = int(np.clip((s - lo) / ((hi - lo) or 1.0) * 255.0, 0, 255))
        c = self._lut(cmap)[i]
        return QtGui.QColor(int(c[0]), int(c[1]), int(c[2]))


def _arrange(cells, rect: QtCore.QRectF) -> list:
    """Where each diagram goes: one fills ``rect``; Compare's three go side by side, unless a
    narrow panel would make them far smaller than two columns (or one) would."""
    n = len(cells)
    if n == 1:
        return [rect]
    gw = max(c.bounds[2] - c.bounds[0] for c in cells) + PAD[0] + PAD[2]
    gh = max(c.bounds[3] - c.bounds[1] for c in cells) + PAD[1] + PAD[3]
    best = None
    for cols in (n, 2, 1):
        rows = -(-n // cols)
        w, h = rect.width() / cols, rect.height() / rows
        u = min(w / gw, (h - 30) / gh)
        if best is None or 0.7 * u > best[0]:  # side by side unless they would be far smaller
            best = (u, cols, rows, w, h)
    _u, cols, rows, w, h = best
    return [QtCore.QRectF(rect.left() + (k % cols) * w, rect.top() + (k // cols) * h, w, h) for k in range(n)]


def _text(s, v) -> str:
    """The number written for a node: the exact target's while gliding (numbers never lie)."""
    return v.text


def _fit(f: QtGui.QFont, text: str, width: float) -> QtGui.QFont:
    """``f``, smaller when ``text`` would not fit ``width`` pixels (a narrow block)."""
    w = QtGui.QFontMetricsF(f).horizontalAdvance(text)
    return f if w <= width or w <= 0 else _scaled(f, max(width, 1.0) / w)


def _scaled(f: QtGui.QFont, scale: float) -> QtGui.QFont:
    if scale >= 1.0:
        return f
    g = QtGui.QFont(f)
    g.setPointSizeF(max(5.0, f.pointSizeF() * scale))
    return g


def _formula_html(cell, node_id: str, look: theme.Theme, pt: int, hint: bool = False) -> str:
    """The node's formula with the numbers, as the equation panel writes it."""
    node = cell.node(node_id)
    rows = cell.formula(node_id)
    head = f'<p style="font-weight:bold; color:{look.role_colour(cell.colour, look.foreground)}; margin:0">' \
           f'{_html.escape(cell.head)} · {_html.escape(node.name)}</p>'
    cells = []
    for r in rows:
        rhs = frag_html(r.rhs, look)
        if r.muted:
            rhs = f'<span style="color:{look.muted}">{rhs}</span>'
        cells.append(f'<tr><td align="right">{frag_html(r.lhs, look)}</td><td>&nbsp;=&nbsp;</td><td>{rhs}</td></tr>')
    tail = f'<p style="color:{look.muted}; margin:0">Click the node again to close.</p>' if hint else ""
    return (f'<div style="font-size:{pt}pt">{head}<table cellspacing="0" cellpadding="1">{"".join(cells)}</table>'
            f'{tail}</div>')
