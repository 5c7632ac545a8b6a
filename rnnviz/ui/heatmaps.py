"""Heatmaps of the hidden state (:class:`StatePanel`) and of the gates (:class:`GatePanel`).

Units are rows (unit 0 at the top), time steps are columns (t = 1 … T on the x axis). Images,
levels, titles and tooltips come ready-made in the frame (:mod:`rnnviz.core.frames`). Every
image is uploaded once per result; a step change only moves the cursor line and the white
cover that hides the steps not revealed yet, so playing at 30 steps/s stays cheap.

Keys of the accessors (``imageItems``, ``barItems``, ``shownData``): a single cell uses the
array's name ("h", "c", "r", "z", …); Compare mode prefixes the cell's label, e.g.
"RNN (tanh)/h", "GRU/h", "LSTM/h" and "GRU/z", "LSTM/f".
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from . import theme
from ..core.format import MINUS, fmt_value
from ..core.frames import CANDIDATES, MAX_COLUMNS, display_image, short_label
from .equations import frag_html
from .caching import cache_decorations
from .panels import Panel
from .timeaxis import SymbolTicks

__all__ = ["StatePanel", "GatePanel", "display_image", "MAX_COLUMNS"]

#: NaN pixels are transparent in pyqtgraph; this colour behind the image makes them visible.
NAN_COLOUR = "#8C8C8C"
BAR_COLOUR = "#7A8CA3"
#: Axis sizes at font scale 1; a theme scales them (:func:`_px`), since a fixed-width axis drops
#: tick numbers that do not fit.
LEFT_AXIS_WIDTH = 52
BAR_AXIS_WIDTH = 42  # colour-bar numbers like "-0.5"
WIDE_BAR_AXIS_WIDTH = 62  # … and like "-3e+38" (an exploding ReLU RNN)
BAR_PLOT_AXIS_WIDTH = 30  # unit numbers only
#: A gate's words left of its heatmap take at most this share of the panel's width (then shorter
#: forms); in presenter type less, the heatmaps are what the back of the room reads.
DESCRIPTION_SHARE = 0.3
PRESENTER_DESCRIPTION_SHARE = 0.22
#: … and the bars' header says "t = 5", not "gates at t = 5", when that would take more.
STEP_HEADER_SHARE = 0.34
#: The bars' x-axis label, longest first (theme.fitting).
VALUE_LABELS = ("gate value", "value", "")
VALUES_AXIS_HEIGHT = 24
LABELLED_AXIS_HEIGHT = 44


def _cmap(role: str, look: theme.Theme) -> str:
    """The colour map of ``look`` for a frame's colour-map role."""
    return look.sequential if role == "sequential" else look.diverging


def _colour(role: str, look: theme.Theme, fallback: str | None = None) -> str:
    """The colour of ``look`` for a frame's colour role ("cell:gru")."""
    return look.role_colour(role, fallback or look.foreground)


class _IntAxis(SymbolTicks, pg.AxisItem):
    """Ticks only on whole numbers (units, steps); never "2.5" of a unit. A step axis of a run
    that reads text labels the steps with its characters (:class:`~rnnviz.ui.timeaxis.SymbolTicks`)."""

    def __init__(self, orientation, look: theme.Theme, **kw):
        super().__init__(orientation, **kw)
        self.enableAutoSIPrefix(False)
        self.setStyle(tickFont=theme.font(look.axis_pt))

    def tickSpacing(self, minVal, maxVal, size):
        levels = [(sp, off) for sp, off in super().tickSpacing(minVal, maxVal, size) if sp >= 1]
        return levels or [(1.0, 0.0)]

    def plainTickStrings(self, values, scale, spacing):
        return [str(int(round(v))) for v in values]


def _px(size: int, look: theme.Theme) -> int:
    """An axis size at the theme's font scale."""
    return round(size * look.font_scale)


def _int_plot(layout: pg.GraphicsLayout, row: int, col: int, look: theme.Theme, **kw) -> pg.PlotItem:
    return layout.addPlot(row=row, col=col, axisItems={"left": _IntAxis("left", look),
                                                       "bottom": _IntAxis("bottom", look)},
                          **kw)


def _colour_bar(cmap: str, levels, look: theme.Theme, label: str | None = None) -> pg.ColorBarItem:
    bar = pg.ColorBarItem(values=tuple(levels), colorMap=cmap, interactive=False, width=20,
                          pen=look.foreground, colorMapMenu=False)
    bar._look = look  # the axis widths follow its font scale (_fit_bar_axis)
    for side in ("left", "right", "top", "bottom"):
        ax = bar.getAxis(side)
        ax.setPen(look.foreground)
        ax.setTextPen(look.foreground)
    bar.axis.setStyle(tickFont=theme.font(look.axis_pt))
    bar.axis.enableAutoSIPrefix(False)
    _use_our_notation(bar.axis)
    room_for_labels(bar.axis)
    _fit_bar_axis(bar, levels)
    if label:
        theme.set_axis_label(bar.getAxis("left"), label, **{"font-size": f"{look.axis_pt}pt", "color": look.foreground})
    return bar


def _use_our_notation(axis: pg.AxisItem) -> None:
    """Tick numbers like 3.5×10⁸ (the notation of the equations and tooltips), not 3.5e+08."""
    default = axis.tickStrings

    def strings(values, scale, spacing):
        if any(v and not 1e-3 <= abs(v * scale) < 1e4 for v in values):
            return [fmt_value(v * scale, 2) if v else "0" for v in values]
        return [s.replace("-", MINUS) for s in default(values, scale, spacing)]

    axis.tickStrings = strings


#: How far (px at normal type) an end label may reach past its axis: pyqtgraph hides one that
#: pokes out at all (the one column label of a narrow weight map, t = T under a heatmap).
LABEL_SPILL = 12


def label_spill(look) -> int:
    return int(LABEL_SPILL * look.font_scale)


def room_for_labels(axis: pg.AxisItem) -> None:
    """Ticks only as dense as their labels fit: a short colour bar (three Compare heatmaps in
    presenter type) ran "1.0 0.5 0 −0.5 −1.0" into each other; it labels −1, 0, 1 instead.
    A vertical axis keeps its labels a line apart, a horizontal one its widest label and a
    space (three training heatmaps side by side at 1024 × 768 read "510 15"); once per axis."""
    if getattr(axis, "_roomForLabels", False):
        return
    axis._roomForLabels = True
    default = axis.tickSpacing
    horizontal = axis.orientation in ("bottom", "top")

    def spacing(lo, hi, size):
        levels = default(lo, hi, size)
        if not levels or hi <= lo:
            return levels
        font = axis.style.get("tickFont") or axis.font()
        fm = QtGui.QFontMetricsF(font)
        major = levels[0][0]
        decade = 10.0 ** math.floor(math.log10(major))
        nice = [m * decade * 10**k for k in range(4) for m in (1, 2, 5) if m * decade * 10**k >= major * (1 - 1e-9)]
        step = major
        for candidate in nice:  # 1, 2, 5 × 10ⁿ from pyqtgraph's own spacing up
            first, last = math.ceil(lo / candidate), math.floor(hi / candidate)
            if last < first:  # no label at all: keep the last step that had some
                break
            step = candidate
            if last == first:  # one label crowds nothing
                break
            if horizontal:
                room = max(fm.horizontalAdvance(t) for t in axis.tickStrings([first * step, last * step], 1.0, step))
                room += fm.horizontalAdvance("  ")
            else:
                room = 1.15 * fm.height()
            if step * size / (hi - lo) >= room:  # neighbouring labels that far apart
                break
        return [(step, 0.0)] if step != major else levels

    axis.tickSpacing = spacing


def _set_bar_scale(bar: pg.ColorBarItem, m) -> None:
    """A symmetric-log map's bar is labelled in the values' units (0, 1, 10³, 10⁶ …)."""
    if getattr(bar, "_ticks", ()) != m.bar_ticks:
        bar._ticks = m.bar_ticks
        bar.axis.setTicks([list(m.bar_ticks), []] if m.bar_ticks else None)
    left = bar.getAxis("left")
    if m.bar_label and left.labelText != m.bar_label:
        theme.set_axis_label(left, m.bar_label, **left.labelStyle)


def _set_bar_levels(bar: pg.ColorBarItem, levels) -> None:
    # unchanged levels would still redraw the bar's axis: skip them (slider drags stay cheap)
    if tuple(bar.levels()) != tuple(levels):
        bar.setLevels(tuple(levels))
        _fit_bar_axis(bar, levels)


def _fit_bar_axis(bar: pg.ColorBarItem, levels) -> None:
    # pyqtgraph hides tick numbers that do not fit: widen the axis for numbers like "-3e+38"
    width = _px(WIDE_BAR_AXIS_WIDTH if max(abs(levels[0]), abs(levels[1])) >= 1000 else BAR_AXIS_WIDTH, bar._look)
    if getattr(bar, "_axis_width", None) != width:
        bar._axis_width = width
        bar.axis.setWidth(width)


def _rect_item(brush=None, pen=None, z=0.0) -> QtWidgets.QGraphicsRectItem:
    item = QtWidgets.QGraphicsRectItem()
    item.setBrush(pg.mkBrush(brush) if brush else QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush))
    item.setPen(pen if pen is not None else QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
    item.setZValue(z)
    return item


class _Image(pg.ImageItem):
    """An ImageItem painted from a premultiplied ARGB32 picture.

    With a colour map, pyqtgraph renders an Indexed8 QImage, and QPainter converts it pixel by
    pixel on every paint of the scaled image: about 1.5 ms for a 500×450 heatmap, ten times a
    premultiplied blit. Render the premultiplied picture directly instead, with pyqtgraph's
    own arithmetic (index = clip((v − lo)·N/(hi − lo), 0, N − 1), truncated; NaN transparent):
    its general path cost ~0.25 ms an image in Python overhead (a 256-entry colour table built
    with qRgb per render), and Compare repaints ten images a slider tick.
    """

    _table_of = None  # (the lut it was built from, its premultiplied ARGB32 colours)

    def _table(self, lut: np.ndarray) -> np.ndarray:
        if self._table_of is None or self._table_of[0] is not lut:
            rgba = np.full((lut.shape[0], 4), 255, np.uint8)
            rgba[:, : lut.shape[1]] = lut
            argb = ((rgba[:, 3].astype(np.uint32) << 24) | (rgba[:, 0].astype(np.uint32) << 16)
                    | (rgba[:, 1].astype(np.uint32) << 8) | rgba[:, 2].astype(np.uint32))
            row = QtGui.QImage(argb.tobytes(), argb.size, 1, 4 * argb.size, QtGui.QImage.Format.Format_ARGB32)
            row = row.convertToFormat(QtGui.QImage.Format.Format_ARGB32_Premultiplied)  # Qt's rounding
            table = np.frombuffer(bytes(row.constBits()), np.uint32, count=argb.size).copy()
            self._table_of = (lut, table)
        return self._table_of[1]

    def render(self):
        img, lut, levels = self.image, self.lut, self.levels
        if (img is None or img.ndim != 2 or img.dtype.kind != "f" or not img.size or self.autoDownsample
                or levels is None or np.ndim(levels) != 1 or not isinstance(lut, np.ndarray)
                or lut.dtype != np.uint8 or lut.ndim != 2 or lut.shape[1] not in (3, 4)):
            super().render()
            q = self.qimage
            if q is not None and q.format() != QtGui.QImage.Format.Format_ARGB32_Premultiplied:
                self.qimage = q.convertToFormat(QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            return
        table = self._table(lut)
        lo, hi = float(levels[0]), float(levels[1])
        n = table.size
        span = hi - lo
        y = np.subtract(img, lo)
        y *= n / (span if span != 0 else 1.0)
        np.clip(y, 0, n - 1, out=y)
        nan = np.isnan(y)
        any_nan = bool(nan.any())
        if any_nan:
            y[nan] = 0.0
        argb = table[y.astype(np.intp)]
        if any_nan:
            argb[nan] = 0  # transparent: the NaN colour behind the image shows
        self.qimage = pg.functions.ndarray_to_qimage(argb, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        self._renderRequired = False
        self._unrenderable = False


class _Bars(pg.BarGraphItem):
    """Bars without an outline: no pixel padding around them. pyqtgraph pads half a pixel
    whatever the pen, and maps the view's pixel vectors at every boundingRect, which Qt asks
    for about 7 times a frame per item (1.4 ms of an LSTM's frame at H = 128)."""

    def pixelPadding(self) -> float:
        return 0.0


class _StepLine(QtWidgets.QGraphicsLineItem):
    """The current step's line across a heatmap's units, painted by Qt itself. pyqtgraph's
    InfiniteLine works out its ends through the view in Python at every paint and every
    bounding-rect query (~0.03 ms a line a frame; Compare shows ten)."""

    def __init__(self, pen: QtGui.QPen):
        super().__init__()
        self.setPen(pen)
        self._x, self._span = 0.0, (-0.5, 0.5)

    def value(self) -> float:
        return self._x

    def setValue(self, x: float) -> None:
        self._x = float(x)
        self._place()

    def setSpan(self, lo: float, hi: float) -> None:
        """From unit row edge ``lo`` to ``hi`` (the image's height)."""
        self._span = (float(lo), float(hi))
        self._place()

    def _place(self) -> None:
        self.setLine(self._x, self._span[0], self._x, self._span[1])  # (Qt skips an equal line)


class _Heatmap:
    """One units × time image with its cursor, reveal cover and selected-unit outline."""

    def __init__(self, plot: pg.PlotItem, key: str, name: str, cmap: str, look: theme.Theme,
                 cell_label: str | None = None, what: str = ""):
        self.plot, self.key, self.name, self.cell_label, self.what = plot, key, name, cell_label, what
        self.map = None  # the HeatmapFrame shown (its tooltips name the engine's exact values)
        self.T = self.H = 0
        self.levels = (-1.0, 1.0)
        self.block = 1
        self.revealed = 0
        self.unit = 0
        self._placed = None  # (image shape, block) the image's rect was set for
        vb = plot.getViewBox()
        vb.setMouseEnabled(x=False, y=False)
        vb.invertY(True)
        vb.disableAutoRange()
        self.nan_bg = _rect_item(NAN_COLOUR, z=-10)
        vb.addItem(self.nan_bg, ignoreBounds=True)
        self.image = _Image(axisOrder="row-major")
        self.image.setColorMap(theme.colormap(cmap))
        plot.addItem(self.image)
        self.cover = _rect_item(look.background, z=5)
        vb.addItem(self.cover, ignoreBounds=True)
        pen = pg.mkPen(look.foreground, width=2)
        pen.setCosmetic(True)
        self.selection = _rect_item(pen=pen, z=6)
        vb.addItem(self.selection, ignoreBounds=True)
        pen = pg.mkPen(look.cursor, width=3)  # cosmetic: 3 screen pixels at any zoom
        pen.setCapStyle(QtCore.Qt.PenCapStyle.FlatCap)
        self.cursor = _StepLine(pen)
        self.cursor.setZValue(10)
        vb.addItem(self.cursor, ignoreBounds=True)

    def setMap(self, m) -> None:
        """Show a :class:`~rnnviz.core.frames.HeatmapFrame`."""
        self.map = m
        self.levels = m.levels
        T, H = m.T, m.H
        img, k = m.image, m.block
        self.block = k
        self.image.setImage(img, levels=m.levels, autoLevels=False)
        # the image's transform maps its pixels onto the steps: set only for a new size (at
        # each tick of a drag it cost ~0.05 ms an image, Compare shows ten)
        place = (img.shape, k)  # (H, columns), steps per column
        if place != self._placed:
            self._placed = place
            rect = QtCore.QRectF(0.5, -0.5, img.shape[1] * k, H)
            self.image.setRect(rect)
            self.nan_bg.setRect(rect)
        if (T, H) != (self.T, self.H):
            self.T, self.H = T, H
            self.plot.getViewBox().setRange(xRange=(0.5, T + 0.5), yRange=(-0.5, H - 0.5), padding=0)
            self.cursor.setSpan(-0.5, H - 0.5)

    def setStep(self, step: int, reveal_all: bool) -> None:
        step = min(max(step, 0), self.T - 1)
        self.cursor.setValue(step + 1)
        self.revealed = self.T if reveal_all else step + 1
        hidden = self.T - self.revealed
        self.cover.setVisible(hidden > 0)
        if hidden > 0:
            self.cover.setRect(QtCore.QRectF(step + 1.5, -0.5, hidden + self.block, self.H))
        self._placeSelection()

    def setUnit(self, unit: int) -> None:
        self.unit = unit
        self._placeSelection()

    def _placeSelection(self) -> None:
        # outline the selected row over the revealed steps only: an empty box over the blank
        # part would look like missing data
        self.selection.setVisible(0 <= self.unit < self.H and self.revealed > 0)
        self.selection.setRect(QtCore.QRectF(0.5, self.unit - 0.5, self.revealed, 1.0))

    def shownData(self) -> np.ndarray:
        """The revealed columns of the image (exactly the engine's values when T ≤ MAX_COLUMNS)."""
        cols = math.ceil(self.revealed / self.block)
        return self.image.image[:, :cols]

    def cellAt(self, scene_pos) -> tuple[int, int] | None:
        """(0-based step, unit) under a scene position, or None outside the image."""
        vb = self.plot.getViewBox()
        if self.map is None or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        t, unit = int(round(p.x())) - 1, int(round(p.y()))
        if 0 <= t < self.T and 0 <= unit < self.H:
            return t, unit
        return None

    def text(self, t: int, unit: int) -> str:
        return self.map.tooltip(t, unit, self.revealed)


class _HeatmapPanel(Panel, QtWidgets.QWidget):
    """What both panels share: a GraphicsLayoutWidget of heatmaps, clicks and tooltips."""

    #: Fixed size hints whatever is shown, so a splitter sizes the panel the same for every cell
    #: (the RNN's short message would otherwise shrink the gate panel for the whole session).
    SIZE_HINT = (640, 480)

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self._controller = controller
        self._glw = theme.graphics_widget()
        self._glw.setBackground(self.look.background)
        self._glw.ci.setContentsMargins(4, 4, 4, 4)
        self._heat: dict[str, _Heatmap] = {}
        self._structure = None
        scene = self._glw.scene()
        scene.sigMouseClicked.connect(self._onClick)
        scene.sigMouseMoved.connect(self._onHover)
        self._frame = None
        controller.frameChanged.connect(self.setFrame)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(*self.SIZE_HINT)

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(240, 160)

    # -------------------------------------------------------------- accessors
    def imageItems(self) -> dict[str, pg.ImageItem]:
        return {key: h.image for key, h in self._heat.items()}

    def plotItems(self) -> dict[str, pg.PlotItem]:
        return {key: h.plot for key, h in self._heat.items()}

    def shownData(self, key: str) -> np.ndarray:
        """The revealed part of heatmap ``key`` (units × steps); later steps are covered."""
        return self._heat[key].shownData()

    def toolTipAt(self, key: str, t: int, unit: int) -> str:
        """The hover text of heatmap ``key`` at 0-based step ``t`` and ``unit``."""
        return self._heat[key].text(t, unit)

    def sceneCentreOf(self, key: str, t: int, unit: int) -> QtCore.QPointF:
        """Scene position of the middle of one cell (for tests and hover demos)."""
        return self._heat[key].plot.getViewBox().mapViewToScene(QtCore.QPointF(t + 1, unit))

    def graphicsView(self) -> pg.GraphicsLayoutWidget:
        return self._glw

    def setTheme(self, look: theme.Theme) -> None:
        """Restyle for ``look``: rebuild the plots with its colours, colour maps, fonts and
        axis sizes, and redraw the current result at its fixed levels."""
        super().setTheme(look)
        self._glw.setBackground(self.look.background)
        self._structure = None
        frame, self._frame = self._frame, None
        if frame is not None:
            self.setFrame(frame)

    # ----------------------------------------------------------------- frames
    def setFrame(self, frame) -> None:
        """Draw a :class:`~rnnviz.core.frames.Frame`: images when its result is new, else only
        the cursor, the reveal cover and the selected unit."""
        old, self._frame = self._frame, frame
        if old is None or self._part(old) is not self._part(frame):
            self._showResult(frame)
            self._showSymbols(frame)
            return
        if (old.step, old.revealed) != (frame.step, frame.revealed):
            self._showStep()
        if old.unit != frame.unit:
            self._showUnit()

    def _showResult(self, frame) -> None:
        raise NotImplementedError

    def _showSymbols(self, frame) -> None:
        """The characters of a run that reads text under every step axis."""
        runs = {cr.label for cr in frame.result.cells}
        for h in self._heat.values():
            axis = h.plot.getAxis("bottom")
            if isinstance(axis, SymbolTicks):  # a single run's maps have no cell label
                label = h.cell_label if h.cell_label in runs else frame.result.cells[0].label
                axis.setSymbols(frame.symbols_of(label))

    @staticmethod
    def _part(frame):
        """The part of the frame this panel draws (shared between frames when unchanged)."""
        raise NotImplementedError

    def _showStep(self):
        f = self._frame
        for h in self._heat.values():
            h.setStep(f.step, f.view.reveal_all)

    def _showUnit(self):
        for h in self._heat.values():
            h.setUnit(self._frame.unit)

    def _hit(self, scene_pos):
        for h in self._heat.values():
            cell = h.cellAt(scene_pos)
            if cell is not None:
                return h, cell
        return None, None

    def _onClick(self, ev) -> None:
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        _, cell = self._hit(ev.scenePos())
        if cell is not None:
            ev.accept()
            self._controller.setSelectedUnit(cell[1])

    def _onHover(self, scene_pos) -> None:
        h, cell = self._hit(scene_pos)
        if cell is None:
            QtWidgets.QToolTip.hideText()
            return
        view = self._glw
        global_pos = view.viewport().mapToGlobal(view.mapFromScene(scene_pos))
        QtWidgets.QToolTip.showText(global_pos, h.text(*cell), view)

    def _fitCanvas(self) -> None:
        """The plots' layout as wide as the view again. The view sets it at its resize, but Qt
        clamps it to the layout's minimum, and a title still in its wider form holds that up
        until the panel fits it: entering presenter mode at 1024×768 left the layout 622 px wide
        in a 458-px view, the colour bar cut off."""
        self._glw.ci.setGeometry(QtCore.QRectF(0, 0, self._glw.width(), self._glw.height()))


class StatePanel(_HeatmapPanel):
    """The hidden state h (and the LSTM's cell state c) as units × time heatmaps.

    Keys of :meth:`imageItems`: "h" and, for an LSTM, "c"; in Compare mode "<label>/h" for
    each cell ("RNN (tanh)/h", "GRU/h", "LSTM/h").
    """

    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self._bars: dict[str, pg.ColorBarItem] = {}
        self._titleColours: dict[str, str] = {}
        self._titleForms: dict[str, tuple] = {}  # key → (title, shorter forms…)
        self._shownTitles: dict[str, tuple] = {}  # key → (text, pt) as set on the plot
        self._titles: dict[str, str] = {}
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._glw)
        if controller.frame is not None:
            self.setFrame(controller.frame)

    def colourBars(self) -> dict[str, pg.ColorBarItem]:
        return dict(self._bars)

    def titles(self) -> dict[str, str]:
        return dict(self._titles)

    @staticmethod
    def _part(frame):
        return frame.state

    def _showResult(self, frame) -> None:
        maps = frame.state.maps
        structure = tuple(m.key for m in maps)
        if structure != self._structure:
            self._build(maps)
            cache_decorations(self._glw)
            self._structure = structure
        for m in maps:
            if self._titles.get(m.key) != m.title:
                self._titles[m.key] = m.title
                self._titleForms[m.key] = (m.title, *m.short_titles)
                self._titleColours[m.key] = _colour(m.colour, self.look)
                self._fitTitle(m.key)
            bar = self._bars[m.key]
            _set_bar_levels(bar, m.levels)
            _set_bar_scale(bar, m)
            self._heat[m.key].setMap(m)
        self._showStep()
        self._showUnit()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        for key in self._titles:
            self._fitTitle(key)
        QtCore.QTimer.singleShot(0, self, self._fitCanvas)

    def _fitTitle(self, key: str) -> None:
        """The title in the largest size from the theme's title size down to its body size at
        which it fits the panel's width, then cut with "…". A title never widens the plots'
        layout (a presenter-size title on a 1024-pixel screen pushed the colour bar out)."""
        title, plot = self._titles[key], self._heat[key].plot
        # the title sits over the plot's own column: the width less the axis and the colour bar
        axis, bar = plot.getAxis("left"), self._bars.get(key)
        others = max(axis.width(), axis.minimumWidth()) + (bar.minimumWidth() if bar is not None else 0)
        room = max(self._glw.width() - others - 24, 40)
        forms = self._titleForms.get(key, (title,))
        # the title's size first (a shorter form before a smaller font), then smaller sizes
        sizes = range(self.look.title_pt, self.look.font_pt - 1, -1)
        fit = next(((f, pt) for pt in sizes for f in forms
                    if QtGui.QFontMetrics(theme.font(pt, bold=True)).horizontalAdvance(f) <= room), None)
        if fit is not None:
            text, pt = fit
        else:
            pt = self.look.font_pt
            text = QtGui.QFontMetrics(theme.font(pt, bold=True)).elidedText(forms[-1], QtCore.Qt.TextElideMode.ElideRight,
                                                                            room)
        shown = (text, pt)
        if self._shownTitles.get(key) == shown:
            return
        self._shownTitles[key] = shown
        plot.setTitle(text, size=f"{pt}pt", color=self._titleColours.get(key), bold=True)
        plot.titleLabel.setMinimumWidth(0)
        plot.titleLabel.setToolTip(title if text != title else "")

    def _build(self, entries) -> None:
        self._glw.clear()
        self._heat.clear()
        self._bars.clear()
        self._titles.clear()
        self._titleForms.clear()
        self._shownTitles.clear()
        for row, e in enumerate(entries):
            key = e.key
            plot = _int_plot(self._glw.ci, row, 0, self.look)
            last = row == len(entries) - 1
            theme.style_plot(plot, self.look, left="unit", bottom="step t" if last else None)
            plot.getAxis("left").setWidth(_px(LEFT_AXIS_WIDTH, self.look))
            if not last:
                plot.getAxis("bottom").setStyle(showValues=False)
                plot.getAxis("bottom").setHeight(6)
            heat = _Heatmap(plot, key, e.name, _cmap(e.cmap, self.look), self.look, cell_label=e.cell_label)
            bar = _colour_bar(_cmap(e.cmap, self.look), e.levels, self.look, label=e.bar_label)
            bar.setImageItem(heat.image, insert_in=plot)
            self._heat[key] = heat
            self._bars[key] = bar


class _FittedNote(QtWidgets.QLabel):
    """A word-wrapped rich-text note in the largest size up to its own that fits the panel
    (a short column at 1024×768 would cut the last lines of the presenter-sized text)."""

    MIN_PT = 8

    def __init__(self):
        super().__init__()
        self._pt = 12
        self._fitted = None  # (text, size, largest size) the font was chosen for
        self.setWordWrap(True)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        # the panel's size is the column's: the note never asks for more
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored)

    def setPointSize(self, pt: int) -> None:
        self._pt = pt
        self.fit()

    def pointSize(self) -> int:
        return self.font().pointSize()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.fit()

    def fit(self) -> None:
        width, height = self.width(), self.height()
        key = (self.text(), width, height, self._pt)
        if key == self._fitted:
            return  # the same note in the same room: each trial size sets the font (a repaint)
        self._fitted = key
        pt = self._pt
        while pt > self.MIN_PT:
            self.setFont(theme.font(pt))
            if self.heightForWidth(width) <= height:
                break
            pt -= 1
        if self.font().pointSize() != pt:
            self.setFont(theme.font(pt))


class GatePanel(_HeatmapPanel):
    """The gates of a GRU (r, z, n) or LSTM (i, f, g, o) as heatmaps, plus the current step's bars.

    Keys of :meth:`imageItems` and :meth:`barItems`: the gate name ("r", "z", …); in Compare
    mode "GRU/r", …, "LSTM/o" (heatmaps only: no bars). A vanilla RNN shows an explanation.
    """

    SIZE_HINT = (640, 400)

    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self._bar_items: dict[str, pg.BarGraphItem] = {}
        self._selected_bars: dict[str, pg.BarGraphItem] = {}  # the selected unit's bar, on top
        self._bar_values: dict[str, np.ndarray] = {}
        self._colour_bars: dict[str, pg.ColorBarItem] = {}
        self._step_label: pg.LabelItem | None = None
        self._titles: dict[str, str] = {}
        self._compareTitles: dict[str, tuple] = {}  # key → (title, shorter forms…) of a Compare gate map
        self._headers: list = []  # Compare: (label item, (text, shorter form), colour) of each cell's column
        self._barLabels: list = []  # Compare: (colour bar, its label's forms, longest first)
        self._valueAxes: list = []  # single cell: the bars' labelled x axes ("gate value")
        self._columns = 1  # the gated cells side by side
        self._descriptions: dict[str, pg.LabelItem] = {}
        self._describe: dict[str, tuple] = {}  # key → (its label, (lines of each form, longest first))
        self._brushes = {False: pg.mkBrush(BAR_COLOUR), True: pg.mkBrush(self.look.cursor)}
        self._cells: list = []  # (cell result, [keys]) of the gated cells shown
        self._message = _FittedNote()
        self._message.setPointSize(self.look.title_pt + 3)
        self._message.setMargin(24)
        self._message.setStyleSheet(f"background: {self.look.background}; color: {self.look.foreground};")
        self._message_plain = ""
        self._stack = QtWidgets.QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.addWidget(self._message)
        self._stack.addWidget(self._glw)
        self._showMessage(None)
        self._glw.installEventFilter(self)  # Compare's titles follow the heatmaps' width
        if controller.frame is not None:
            self.setFrame(controller.frame)

    # -------------------------------------------------------------- accessors
    def barItems(self) -> dict[str, pg.BarGraphItem]:
        """The bars of every unit, by gate (the selected unit's is drawn over them)."""
        return dict(self._bar_items)

    def selectedBars(self) -> dict[str, pg.BarGraphItem]:
        """The selected unit's bar, by gate, in the cursor colour."""
        return dict(self._selected_bars)

    def barValues(self, key: str) -> np.ndarray:
        """Signed values of the bars of gate ``key`` (the current step's gate vector)."""
        return self._bar_values[key]

    def colourBars(self) -> dict[str, pg.ColorBarItem]:
        return dict(self._colour_bars)

    def isShowingMessage(self) -> bool:
        return self._stack.currentWidget() is self._message

    def messageText(self) -> str:
        return self._message_plain

    def titles(self) -> dict[str, str]:
        """Plain text naming each gate and what it does, e.g. "f — forget gate (1 = keep memory)"."""
        return dict(self._titles)

    def stepTitle(self) -> str:
        return self._step_label.text if self._step_label is not None else ""

    def setTheme(self, look: theme.Theme) -> None:
        super().setTheme(look)
        self._message.setPointSize(self.look.pt(theme.BASE_TITLE_PT + 3))
        self._message.setStyleSheet(f"background: {self.look.background}; color: {self.look.foreground};")
        if self._frame is None:  # the note before the first run: its gate colours follow the theme
            self._showMessage(None)

    # ----------------------------------------------------------------- build
    def _showMessage(self, gates) -> None:
        if gates is None:  # before the first run: the tanh RNN's note
            from ..core.frames import rnn_message

            paragraphs, plain = rnn_message(None)
        else:
            paragraphs, plain = gates.message, gates.message_plain
        self._message_plain = plain
        self._message.setText("".join(f"<p>{frag_html(p, self.look)}</p>" for p in paragraphs))
        self._message.fit()
        self._stack.setCurrentWidget(self._message)

    @staticmethod
    def _part(frame):
        return frame.gates

    def _showResult(self, frame) -> None:
        gates = frame.gates
        if not gates.cells:
            shown = ("message", gates.message, gates.message_plain, self.look)
            if self._structure == shown:
                return  # the same note: a slider tick of an RNN relaid it out for nothing
            self._structure = None
            self._cells = []
            self._glw.clear()
            self._heat.clear()
            self._bar_items.clear()
            self._selected_bars.clear()
            self._colour_bars.clear()
            self._descriptions.clear()
            self._describe.clear()
            self._titles.clear()
            self._compareTitles.clear()  # their items went with the layout: nothing to refit
            self._headers = []
            self._barLabels = []
            self._valueAxes = []
            self._step_label = None
            self._showMessage(gates)
            self._structure = shown
            return
        compare = gates.compare
        structure = (compare,) + tuple((c.label, tuple(m.name for m in c.maps)) for c in gates.cells)
        if structure != self._structure:
            self._build(gates.cells, compare)
            self._fitHeaders()
            cache_decorations(self._glw)
            self._structure = structure
        self._stack.setCurrentWidget(self._glw)
        self._cells = []
        for c in gates.cells:
            for m in c.maps:
                key, levels = m.key, m.levels
                if m.name in CANDIDATES:
                    _set_bar_levels(self._colour_bars[key], levels)
                self._setDescription(m)
                self._heat[key].setMap(m)
                item = self._bar_items.get(key)
                ranges = (levels, m.H)
                if item is not None and getattr(item, "_ranges", None) != ranges:
                    item._ranges = ranges
                    bp = item.getViewBox()
                    # ranges set, not linked: pyqtgraph aligns linked views by pixels, which
                    # shifts rows when the plots' titles or axes differ in size
                    bp.setXRange(*levels, padding=0.08)  # room for the end numbers
                    bp.setYRange(-0.5, m.H - 0.5, padding=0)
            self._cells.append(c)
        _HeatmapPanel._showStep(self)
        _HeatmapPanel._showUnit(self)
        self._updateBars()

    def _build(self, gated, compare: bool) -> None:
        """Single cell: one grid row per gate — what it does | heatmap | colour bar | bars — so
        each bar lines up with its heatmap row, and the words take width, not height. Compare:
        GRU and LSTM heatmaps side by side under short titles, colour bars at the right (one
        0–1 bar for all gates, one for both candidates), no bars."""
        self._glw.clear()
        self._heat.clear()
        self._bar_items.clear()
        self._selected_bars.clear()
        self._colour_bars.clear()
        self._descriptions.clear()
        self._describe.clear()
        self._titles.clear()
        self._compareTitles.clear()
        self._headers = []
        self._barLabels = []
        self._valueAxes = []
        self._columns = max(1, len(gated))
        self._step_label = None
        ci = self._glw.ci
        header = dict(size=f"{self.look.font_pt + 2}pt", bold=True)
        heat_col = 0 if compare else 1
        sig_keys, cand_keys = [], []
        subs = []
        for gi, cf in enumerate(gated):
            sub = ci.addLayout(row=0, col=gi)
            sub.setSpacing(1)
            sub.setContentsMargins(0, 0, 0, 0)
            subs.append(sub)
            ci.layout.setColumnStretchFactor(gi, 1)
            gates = [m.name for m in cf.maps]
            colour = _colour(cf.colour, self.look)
            head = sub.addLabel(f"{cf.label} gates", row=0, col=0, colspan=heat_col + 1, color=colour, **header)
            if compare:  # "LSTM gates", then "LSTM" ("bwd ←"): its text is the column's least width
                forms = dict.fromkeys((f"{cf.label} gates", cf.label.split(" (")[0], short_label(cf.label)))
                self._headers.append((head, tuple(forms), colour))
            n_sig = sum(g not in CANDIDATES for g in gates)
            for row, m in enumerate(cf.maps, start=1):
                key, g = m.key, m.name
                if row == len(gates):
                    axis = "labelled"
                elif row == n_sig and not compare:
                    axis = "values"  # numbers under the last 0–1 gate, for its bars' 0…1 scale
                else:
                    axis = "hidden"
                plot = _int_plot(sub, row, heat_col, self.look)
                # only the leftmost heatmaps carry the word "unit": width is scarce
                named = compare and gi == 0
                theme.style_plot(plot, self.look, left="unit" if named else None,
                                 bottom="step t" if axis == "labelled" else None)
                plot.getAxis("left").setWidth(_px(LEFT_AXIS_WIDTH if named else BAR_PLOT_AXIS_WIDTH, self.look))
                _fix_bottom_axis(plot, axis, self.look)
                cand = g in CANDIDATES
                self._heat[key] = _Heatmap(plot, key, g, _cmap(m.cmap, self.look), self.look,
                                           cell_label=m.cell_label, what=m.what)
                (cand_keys if cand else sig_keys).append(key)
                if not compare:
                    # spare width goes to the heatmaps, not to the words or the bars
                    plot.setPreferredWidth(400)
                    label = sub.addLabel("", row=row, col=0, justify="left")
                    label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Maximum, QtWidgets.QSizePolicy.Policy.Preferred)
                    self._descriptions[key] = label
                    self._addBarPlot(sub, row, key, g, axis)
            sub.layout.setColumnStretchFactor(heat_col, 3)
            if not compare:
                # sized for a long text once: per-step updates then skip the relayout
                self._step_label = sub.addLabel("gates at t = 1", row=0, col=3, color=self.look.foreground, **header)
                self._step_label._capacity = 0
                sub.layout.setColumnStretchFactor(3, 1)
        if compare:
            bars = ci.addLayout(row=0, col=len(gated))
            bars.setSpacing(1)
            bars.setContentsMargins(0, 0, 0, 0)
            bars.addLabel(" ", row=0, col=0, **header)
            shared = _colour_bar(self.look.sequential, (0.0, 1.0), self.look, label="0 = closed · 1 = open")
            cand_bar = _colour_bar(self.look.diverging, (-1.0, 1.0), self.look, label="candidates")
            # the bars' labels run along them: shorter forms for short bars (_fitBarLabels)
            self._barLabels = [(shared, ("0 = closed · 1 = open", "0 closed · 1 open", "gates")),
                               (cand_bar, ("candidates", "cand.", ""))]
            bars.addItem(shared, row=1, col=0)
            bars.addItem(cand_bar, row=2, col=0)
            bars.layout.setRowStretchFactor(1, 5)
            bars.layout.setRowStretchFactor(2, 2)
        else:
            sub, n_sig = subs[0], len(sig_keys)
            shared = _colour_bar(self.look.sequential, (0.0, 1.0), self.look, label="0 = closed · 1 = open")
            sub.addItem(shared, row=1, col=2, rowspan=n_sig)
            cand_bar = _colour_bar(self.look.diverging, (-1.0, 1.0), self.look, label=cand_keys[0])
            sub.addItem(cand_bar, row=n_sig + 1, col=2)
        for bar in (shared, cand_bar):
            bar.setContentsMargins(0, 7, 0, 7)  # keep the end numbers of stacked bars apart
        shared.setImageItem([self._heat[k].image for k in sig_keys])
        cand_bar.setImageItem([self._heat[k].image for k in cand_keys])
        self._colour_bars.update({k: shared for k in sig_keys})
        self._colour_bars.update({k: cand_bar for k in cand_keys})
        if self._valueAxes:  # a new type size or layout with no resize after it
            QtCore.QTimer.singleShot(0, self, self._fitValueLabels)

    def _setDescription(self, m) -> None:
        """Name a gate and say what it does: a text left of its heatmap, or its title in Compare."""
        key = m.key
        if self._titles.get(key) == m.title:
            return
        self._titles[key] = m.title
        label = self._descriptions.get(key)
        if label is None:
            # "r — reset (0 = ignore h)", "r — reset", "r": a title's text is its plot's least width
            self._compareTitles[key] = (m.title, m.title.split(" (")[0], m.name)
            self._fitCompareTitle(key)
        else:
            word = m.lines[0].split(" — ", 1)[-1].split()[0]  # "i — input gate" → "input"
            self._describe[key] = (label, ((m.lines[0], m.lines[1]), (m.name, word), (m.name,)))
            self._fitDescriptions()

    def _fitDescriptions(self) -> None:
        """The gates' words left of their heatmaps in the longest form that fits every gate in
        a share of the panel (DESCRIPTION_SHARE): "i — input gate / 1 = write memory", "i / input", "i";
        and the bars' header "gates at t = 5", or "t = 5" when its column is short. In presenter
        type at 1024 × 768 the whole words and the header took the panel: heatmaps 55 px wide."""
        if not self._describe:
            return
        pt = self.look.font_pt + 1
        fm = QtGui.QFontMetrics(theme.font(pt, bold=True))
        share = DESCRIPTION_SHARE if self.look.font_scale <= 1.0 else PRESENTER_DESCRIPTION_SHARE
        room = share * self._glw.width()
        levels = len(next(iter(self._describe.values()))[1])
        level = next((k for k in range(levels)
                      if all(max(fm.horizontalAdvance(t) for t in forms[k]) <= room
                             for _label, forms in self._describe.values())), levels - 1)
        for label, forms in self._describe.values():
            lines = forms[level]
            text = "<br>".join([f"<b>{lines[0]}</b>", *lines[1:]])
            if getattr(label, "_form", None) != text:
                label._form = text
                label.setText(text, size=f"{pt}pt", color=self.look.foreground)
        step = self._step_label
        if step is not None:
            head = QtGui.QFontMetrics(theme.font(self.look.font_pt + 2, bold=True))
            short = head.horizontalAdvance("gates at t = 0000") > STEP_HEADER_SHARE * self._glw.width()
            if short != getattr(step, "_short", None):
                step._short = short
                step._capacity = 0  # sized again for the form now used
                self._updateBars()

    def _fitCompareTitle(self, key: str) -> None:
        """A Compare gate title whole, or its name alone when the heatmap is too narrow for it
        ("r — reset (0 = ignore" was cut at 1024×768)."""
        forms = self._compareTitles.get(key)
        heat = self._heat.get(key)
        if forms is None or heat is None:
            return
        plot = heat.plot
        text = theme.fitting(forms, self.look.font_pt, self._columnRoom() - plot.getAxis("left").width() - 12)
        if plot.titleLabel.text != text:
            plot.setTitle(text, size=f"{self.look.font_pt}pt", color=self.look.foreground, bold=True)

    def _columnRoom(self) -> float:
        """The width one cell's column of Compare heatmaps has: the panel's, less the colour bars'."""
        bars = max((b.minimumWidth() for b in self._colour_bars.values()), default=0.0)
        return (self._glw.width() - bars - 8) / self._columns

    def _fitHeaders(self) -> None:
        """Each Compare column's header whole, or the cell's name alone when narrow."""
        room = self._columnRoom() - 8
        header = dict(size=f"{self.look.font_pt + 2}pt", bold=True)
        for item, forms, colour in self._headers:
            text = theme.fitting(forms, self.look.font_pt + 2, room)
            if item.text != text:
                item.setText(text, color=colour, **header)

    def eventFilter(self, obj, ev) -> bool:
        if obj is self._glw and ev.type() == QtCore.QEvent.Type.Resize and self._describe:
            self._fitDescriptions()
            # the bar plots' new width is known once the layout has placed them
            QtCore.QTimer.singleShot(0, self, self._fitValueLabels)
        if obj is self._glw and ev.type() == QtCore.QEvent.Type.Resize and self._compareTitles:
            # the view's new width (not the panel's old one); the texts set the columns' least
            # width, so once they are shorter the layout is fitted to the view again
            QtCore.QTimer.singleShot(0, self, self._fitCompareTexts)  # dropped if the panel goes first
        return super().eventFilter(obj, ev)

    def _fitBarLabels(self) -> None:
        """Each Compare colour bar's label whole along the bar, in the longest form that fits
        (the candidates' label was cut to "andidates" on a short bar in presenter type)."""
        for bar, forms in self._barLabels:
            axis = bar.getAxis("left")
            room = bar.axis.height() - 4
            text = theme.fitting(forms, self.look.axis_pt, room)
            if axis.labelText != text:
                theme.set_axis_label(axis, text, **axis.labelStyle)
                axis.showLabel(bool(text))

    def _fitValueLabels(self) -> None:
        """The bars' axis label "gate value", "value" under a narrow bar plot, or none (its ticks
        0 · 0.5 · 1 stay): presenter type at 1024 × 768 cut it to "gate valu"."""
        for axis in self._valueAxes:
            text = theme.fitting(VALUE_LABELS, self.look.axis_pt + 1, axis.width() - 4)
            if axis.labelText != text:
                theme.set_axis_label(axis, text, **axis.labelStyle)
                axis.showLabel(bool(text))

    def _fitCompareTexts(self) -> None:
        self._fitBarLabels()
        self._fitHeaders()
        for key in list(self._compareTitles):
            self._fitCompareTitle(key)
        self._fitCanvas()

    def _addBarPlot(self, sub, row, key, g, axis: str):
        plot = sub.addPlot(row=row, col=3, axisItems={"left": _IntAxis("left", self.look)})
        theme.style_plot(plot, self.look, bottom=VALUE_LABELS[0] if axis == "labelled" else None)
        if axis == "labelled":
            self._valueAxes.append(plot.getAxis("bottom"))
        plot.getAxis("left").setWidth(_px(BAR_PLOT_AXIS_WIDTH, self.look))
        plot.setPreferredWidth(110)
        plot.setMaximumWidth(220)
        _fix_bottom_axis(plot, axis, self.look)
        vb = plot.getViewBox()
        vb.setMouseEnabled(x=False, y=False)
        vb.invertY(True)
        vb.disableAutoRange()
        plot.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen(self.look.foreground, width=1)))
        if g not in CANDIDATES:
            half = pg.InfiniteLine(0.5, angle=90, pen=pg.mkPen("#B0B0B0", width=1, style=QtCore.Qt.PenStyle.DashLine))
            plot.addItem(half)
            plot.getAxis("bottom").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]])
        # one colour per item, so pyqtgraph draws the rectangles in one call (a brush per bar
        # plays a recorded picture of one fill per bar, ~1 ms a paint for 128 units)
        item = _Bars(x0=[], y=[], height=0.8, width=[], pen=pg.mkPen(None), brush=BAR_COLOUR)
        plot.addItem(item)
        selected = _Bars(x0=[], y=[], height=0.8, width=[], pen=pg.mkPen(None), brush=self._brushes[True])
        selected.setZValue(1)
        plot.addItem(selected)
        self._bar_items[key] = item
        self._selected_bars[key] = selected

    # ----------------------------------------------------------------- events
    def _showStep(self):
        super()._showStep()
        self._updateBars()

    def _showUnit(self):
        super()._showUnit()
        self._updateBars()

    def _updateBars(self) -> None:
        if not self._cells:
            return
        f = self._frame
        unit, bars = f.unit, f.gate_step
        for c in self._cells:
            for m in c.maps:
                item = self._bar_items.get(m.key)
                if item is None:
                    continue
                v = bars.values[m.key]
                self._bar_values[m.key] = v
                x0, width = np.minimum(v, 0.0), np.abs(v)
                item.setOpts(x0=x0, width=width, y=np.arange(v.shape[0]), height=0.8)
                shown = slice(unit, unit + 1) if 0 <= unit < v.shape[0] else slice(0, 0)
                self._selected_bars[m.key].setOpts(x0=x0[shown], width=width[shown], y=np.arange(v.shape[0])[shown],
                                                   height=0.8)
        if self._step_label is not None:
            short = getattr(self._step_label, "_short", False)
            _set_label_text(self._step_label, self.look, bars.title.removeprefix("gates at ") if short else bars.title)

    def _hit(self, scene_pos):
        h, cell = super()._hit(scene_pos)
        if cell is not None:
            return h, cell
        # the bar charts: any click/hover on a bar row names that unit at the current step
        for key, item in self._bar_items.items():
            vb = item.getViewBox()
            if vb is not None and vb.sceneBoundingRect().contains(scene_pos):
                heat = self._heat[key]
                unit = int(round(vb.mapSceneToView(scene_pos).y()))
                if 0 <= unit < heat.H:
                    return heat, (min(self._frame.step, heat.T - 1), unit)
        return None, None


def _set_label_text(label: pg.LabelItem, look: theme.Theme, text: str) -> None:
    """LabelItem.setText without its relayout of the whole scene when only digits change.

    A label keeps the size of the longest text it has had; shorter texts are drawn centred
    in it (LabelItem.setText would shrink it and relayout every plot, at every step).
    """
    if label.text == text:
        return
    if len(text) > getattr(label, "_capacity", 0):
        label.setText(text)
        label._capacity = len(text)
        return
    label.text = text
    label.item.setHtml(_LABEL_STYLE.format(size=label.opts.get("size", f"{look.font_pt}pt"),
                                           colour=label.opts.get("color") or look.foreground,
                                           weight="bold" if label.opts.get("bold") else "normal", text=text))
    r = label.itemRect()
    target = QtCore.QRectF(r)
    target.moveCenter(label.rect().center())
    label.item.setPos(label.item.pos() + target.topLeft() - r.topLeft())


def _fix_bottom_axis(plot: pg.PlotItem, mode: str, look: theme.Theme) -> None:
    """Fixed x-axis heights ("hidden", "values", "labelled"): a heatmap and the bar plot beside
    it get the same, so their unit rows line up."""
    ax = plot.getAxis("bottom")
    ax.setStyle(showValues=mode != "hidden", tickFont=theme.font(look.axis_pt))
    heights = {"values": VALUES_AXIS_HEIGHT, "labelled": LABELLED_AXIS_HEIGHT}
    ax.setHeight(4 if mode == "hidden" else _px(heights[mode], look))


_LABEL_STYLE = "<span style='color: {colour}; font-size: {size}; font-weight: {weight}'>{text}</span>"
