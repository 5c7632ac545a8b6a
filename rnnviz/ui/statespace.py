"""The state-space view: the hidden state as a point moving through its space.

For H = 2 the exact plane (h₁, h₂): the path h_0 → h_1 → … → h_T with its steps numbered, the
current step ringed, the flow field f(h) − h of the current step's map as arrows, and that map's
fixed points marked by stability (filled circle stable, diamond saddle, open circle unstable).
For H > 2 the path on its first two principal components. Everything it draws comes ready-made
from :func:`rnnviz.core.statespace.statespace_frame`; this module maps it to plot items. The
legend is a line under the plot, so it never covers the data. Only drawn while shown (it shares
a tab with the fading plot): a hidden panel keeps the newest frame and draws it when shown.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.statespace import FLOW_GRID, MAX_LABELS, statespace_frame
from . import theme
from .caching import cache_decorations
from .panels import Panel
from .steady import SteadySlot

#: Marker shapes of the fixed points by stability.
SYMBOLS = {"stable": "o", "saddle": "d", "unstable": "o"}
#: A click or hover this close to a point (pixels) picks it.
PICK_PX = 14


class _TitledAxis(pg.AxisItem):
    """An axis whose title may change without its ticks being drawn again.

    pyqtgraph's ``setLabel`` throws away the axis's recorded drawing (ticks and numbers),
    though the title is an item of its own: PCA's titles give the explained variance, new at
    most slider ticks. A title of the same size takes the same place, so only its text changes.
    """

    def setTitle(self, text: str, style: dict) -> None:
        if text and self.labelText and style == self.labelStyle and self.label.isVisible():
            before = self.label.boundingRect()
            self.labelText = text
            self.label.setHtml(self.labelString())
            if self.label.boundingRect() == before:
                return
        theme.set_axis_label(self, text, **style)  # a new size: the axis makes room and draws itself again


class StateSpacePanel(Panel, QtWidgets.QWidget):
    """The state-space panel. Accessors for tests: :meth:`pathData`, :meth:`fixedPointData`,
    :meth:`arrowData`, :meth:`currentPoint`, :meth:`viewRange`."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self._frame = None  # the core.frames.Frame to show
        self._shown = None  # the StateSpaceFrame drawn
        self._dirty = False
        self._view = None
        self._pathItems: list[pg.PlotDataItem] = []
        self._variantItems: list[pg.PlotDataItem] = []
        self._pathKeys = None
        self._fixedKey = None  # what fixedItem shows

        self.setAutoFillBackground(True)
        # the title and the status line in one label that wraps: a short panel keeps its plot
        self.title = QtWidgets.QLabel("State space")
        self.title.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        # no label may widen the tab group when its text changes: the fading plot shares its size
        self.title.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.variantsCheck = QtWidgets.QCheckBox("Several inputs")
        self.variantsCheck.setToolTip("Also run the same network on a few noisy copies of the input\n"
                                      "and project every path on the same two principal axes.")
        self.variantsCheck.toggled.connect(self._onVariantsToggled)
        self.noteLabel = QtWidgets.QLabel()
        self.noteLabel.setWordWrap(True)
        self.noteLabel.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.legendLabel = QtWidgets.QLabel()
        self.legendLabel.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.legendLabel.setWordWrap(True)
        self.legendLabel.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                       QtWidgets.QSizePolicy.Policy.Preferred)
        self.messageLabel = QtWidgets.QLabel()
        self.messageLabel.setWordWrap(True)
        self.messageLabel.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.messageLabel.hide()

        self.graphics = theme.graphics_widget()
        self.graphics.ci.layout.setContentsMargins(0, 4, 10, 0)
        self.plot = self.graphics.addPlot(axisItems={side: _TitledAxis(side) for side in ("left", "bottom")})
        self.vb = self.plot.getViewBox()
        self.vb.setMouseEnabled(False, False)
        self.vb.disableAutoRange()
        self.vb.setAspectLocked(True, 1.0)
        self.plot.showGrid(x=False, y=False)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)  # "(x0.001)" beside a PC label misleads
        self.flow = pg.PlotCurveItem(connect="pairs", antialias=True)
        self.flow.setZValue(-5)
        self.vb.addItem(self.flow, ignoreBounds=True)
        self.axesLines = pg.PlotCurveItem(connect="pairs")
        self.axesLines.setZValue(-8)
        self.vb.addItem(self.axesLines, ignoreBounds=True)
        self.fixedItem = pg.ScatterPlotItem(pxMode=True)
        self.fixedItem.setZValue(20)
        self.vb.addItem(self.fixedItem, ignoreBounds=True)
        self.currentItem = pg.ScatterPlotItem(pxMode=True)
        self.currentItem.setZValue(25)
        self.vb.addItem(self.currentItem, ignoreBounds=True)
        self._labels = []
        for _ in range(MAX_LABELS + 2):
            t = pg.TextItem(anchor=(-0.15, 1.0))
            t.setZValue(15)
            t.hide()
            self.vb.addItem(t, ignoreBounds=True)
            self._labels.append(t)
        cache_decorations(self.graphics)

        header = QtWidgets.QHBoxLayout()
        header.setContentsMargins(6, 2, 6, 0)
        header.addWidget(SteadySlot(self.title), 1)  # its status line changes at every step and tick
        header.addWidget(self.variantsCheck, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(header)
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(8, 0, 6, 0)
        row.addWidget(SteadySlot(self.noteLabel))  # PCA's note gives the variance shown: new at every tick
        lay.addLayout(row)
        # the legend goes under the plot, or beside it when the panel is wide and short (the
        # plane's aspect is locked, so a short panel leaves width to spare): never over the data
        self.body = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.TopToBottom)
        self.body.setContentsMargins(0, 0, 6, 4)
        self.body.setSpacing(4)
        self.body.addWidget(self.graphics, 1)
        self.body.addWidget(self.legendLabel, 0)
        lay.addLayout(self.body, 1)
        lay.addWidget(self.messageLabel, 1)
        self._side = False

        self.graphics.scene().sigMouseMoved.connect(self._onMouseMoved)
        self.graphics.scene().sigMouseClicked.connect(self._onMouseClicked)
        self._style()
        controller.frameChanged.connect(self.setFrame)
        if controller.frame is not None:
            self.setFrame(controller.frame)

    # ------------------------------------------------------------ look
    def _colour(self, role: str) -> str:
        if role == "foreground":
            return self.look.foreground
        return self.look.role_colour(role, self.look.cell_colour("loaded"))

    def _style(self) -> None:
        look = self.look
        pal = self.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(look.background))
        pal.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(look.foreground))
        self.setPalette(pal)
        self.title.setFont(theme.font(look.font_pt))
        self.variantsCheck.setFont(theme.font(look.font_pt))
        self.noteLabel.setFont(theme.font(look.pt(theme.BASE_FONT_PT - 1)))
        self.noteLabel.setStyleSheet(f"color: {look.muted}")
        self.legendLabel.setFont(theme.font(look.font_pt))
        self.messageLabel.setFont(theme.font(look.title_pt))
        self.graphics.setBackground(look.background)
        theme.style_plot(self.plot, look, left="h₂", bottom="h₁")
        muted = QtGui.QColor(look.muted)
        muted.setAlpha(150)
        self.flow.setPen(pg.mkPen(muted, width=1.4))
        grid = QtGui.QColor(look.muted)
        grid.setAlpha(90)
        self.axesLines.setPen(pg.mkPen(grid, width=1, style=QtCore.Qt.PenStyle.DashLine))
        for t in self._labels:
            t.setColor(look.foreground)
            t.setFont(theme.font(look.pt(theme.BASE_AXIS_PT + 1), bold=True))
            t.fill = pg.mkBrush(*QtGui.QColor(look.background).getRgb()[:3], 170)

    def setTheme(self, look: theme.Theme) -> None:
        super().setTheme(look)
        self._style()
        self._pathKeys = None  # the paths take the new colours
        self._fixedKey = None
        self._shown = None
        if self._frame is not None:
            self._dirty = True
            self._drawIfShown()

    # ------------------------------------------------------------ frame → view
    def setFrame(self, frame) -> None:
        """Keep ``frame``; draw it now if the panel is on screen, else when it is shown."""
        self._frame = frame
        self._dirty = True
        self._drawIfShown()

    def settle(self) -> None:
        # export settles every panel; a hidden tab is not painted, so it stays lazy
        self._drawIfShown()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._placeLegend()
        if self._shown is not None and getattr(self, "_grid", None) != self._flowGrid():
            self._dirty = True  # the arrows' density follows the plane's size
            QtCore.QTimer.singleShot(0, self, self._drawIfShown)

    def _placeLegend(self) -> None:
        side = self.width() > 1.2 * max(self.height(), 1)
        if side != self._side:
            self._side = side
            D = QtWidgets.QBoxLayout.Direction
            self.body.setDirection(D.LeftToRight if side else D.TopToBottom)
            self.legendLabel.setSizePolicy(
                QtWidgets.QSizePolicy.Policy.Preferred if side else QtWidgets.QSizePolicy.Policy.Ignored,
                QtWidgets.QSizePolicy.Policy.Preferred)
            self.legendLabel.setMaximumWidth(int(0.4 * self.width()) if side else 16777215)
            if self._shown is not None and self._shown.mode != "none":
                self.legendLabel.setText(self._legendHtml(self._shown))
        elif side:
            self.legendLabel.setMaximumWidth(int(0.4 * self.width()))

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        self._drawIfShown()

    def _drawIfShown(self) -> None:
        if self._dirty and self._frame is not None and self.isVisible():
            self._draw()

    def stateFrame(self):
        """The StateSpaceFrame of the current frame (made now if the panel has not drawn it)."""
        if self._frame is None:
            return None
        return statespace_frame(self._frame, self.variantsCheck.isChecked(), self._flowGrid())

    def _flowGrid(self) -> int:
        """Arrows per side: about one per 26 pixels of the plane's shorter side, 7 … FLOW_GRID."""
        side = min(self.vb.width(), self.vb.height()) if self.vb.width() > 10 else 400
        return int(min(max(side // 26, 7), FLOW_GRID))

    def isShowingMessage(self) -> bool:
        return self._shown is not None and self._shown.mode == "none"

    def _draw(self) -> None:
        self._dirty = False
        f = self.stateFrame()
        old, self._shown = self._shown, f
        self._grid = self._flowGrid()
        self.title.setText(f"<b style='font-size:{self.look.title_pt}pt'>{html.escape(f.title)}</b>"
                           + (f"&nbsp;&nbsp; {html.escape(f.status)}" if f.status else ""))
        if self.title.toolTip() != f.status:
            self.title.setToolTip(f.status)
        none = f.mode == "none"
        self.graphics.setVisible(not none)
        self.legendLabel.setVisible(not none)
        self.messageLabel.setVisible(none)
        self.messageLabel.setText(f.message)
        self.variantsCheck.setVisible(f.mode == "pca" and f.can_vary)
        self.noteLabel.setText(f.note)
        self.noteLabel.setVisible(bool(f.note))
        if none:
            self.legendLabel.setText("")
            return
        if old is None or (old.xlabel, old.ylabel) != (f.xlabel, f.ylabel):
            self._setAxisLabels(f.xlabel, f.ylabel)
        self._showPaths(f)
        self._showFixed(f)
        if f.arrows is not None and f.arrows.size:
            self.flow.setData(f.arrows[:, 0], f.arrows[:, 1])
        else:
            self.flow.setData([], [])
        self._showLabels(f)
        self.legendLabel.setText(self._legendHtml(f))
        view = (tuple(f.xrange), tuple(f.yrange))
        if view != self._view:
            self._view = view
            self.vb.setRange(xRange=view[0], yRange=view[1], padding=0)
            x0, x1 = view[0]
            y0, y1 = view[1]
            xs, ys = [], []
            if x0 < 0 < x1:
                xs += [0.0, 0.0]
                ys += [y0 - 10 * (y1 - y0), y1 + 10 * (y1 - y0)]
            if y0 < 0 < y1:
                xs += [x0 - 10 * (x1 - x0), x1 + 10 * (x1 - x0)]
                ys += [0.0, 0.0]
            self.axesLines.setData(xs, ys)
        self.vb.updateMatrix()
        for t in self._labels:
            t.updateTransform()

    def _setAxisLabels(self, bottom: str, left: str) -> None:
        """The axis titles only (PCA's carry the explained variance, new at every change):
        restyling the axes as :func:`theme.style_plot` does re-lays out each label four times."""
        style = {"font-size": f"{self.look.axis_pt + 1}pt", "color": self.look.foreground}
        for side, text in (("bottom", bottom), ("left", left)):
            ax = self.plot.getAxis(side)
            if ax.labelText != text or ax.labelStyle != style:
                ax.setTitle(text, style)

    def _showPaths(self, f) -> None:
        keys = (tuple(p.key for p in f.paths), tuple(p.key for p in f.variants))
        if keys != self._pathKeys:
            for item in self._pathItems + self._variantItems:
                self.vb.removeItem(item)
            self._pathItems, self._variantItems = [], []
            wide = 1.0 + 0.5 * (self.look.font_scale - 1.0)
            for p in f.variants:
                c = QtGui.QColor(self._colour(p.colour))
                c.setAlpha(110)
                item = pg.PlotDataItem(pen=pg.mkPen(c, width=1.5 * wide), connect="finite")
                item.setZValue(1)
                self.vb.addItem(item)
                self._variantItems.append(item)
            for p in f.paths:
                c = self._colour(p.colour)
                item = pg.PlotDataItem(pen=pg.mkPen(c, width=3 * wide), symbol="o", symbolSize=8 * wide,
                                       symbolBrush=pg.mkBrush(c), symbolPen=pg.mkPen(self.look.background, width=1),
                                       connect="finite")
                item.setZValue(10)
                self.vb.addItem(item)
                self._pathItems.append(item)
            self._pathKeys = keys
        n = f.revealed
        for item, p in zip(self._pathItems, f.paths):
            item.setData(p.xy[:n, 0], p.xy[:n, 1])
        for item, p in zip(self._variantItems, f.variants):
            item.setData(p.xy[:n, 0], p.xy[:n, 1])
        now = np.array([p.xy[f.current] for p in f.paths], dtype=np.float64).reshape(-1, 2)
        now = now[np.all(np.isfinite(now), axis=1)]
        # one look for every ring: arrays, not a dict per spot (ScatterPlotItem styles each dict)
        self.currentItem.setData(pos=now, size=22 * self.look.font_scale, symbol="o", brush=pg.mkBrush(None),
                                 pen=pg.mkPen(self.look.cursor, width=3.5))

    def _showFixed(self, f) -> None:
        key = tuple((tuple(p.xy), p.stability, p.colour, p.text) for p in f.fixed)
        if key == self._fixedKey:
            return  # PCA (none) or a step that moved no fixed point
        self._fixedKey = key
        spots = []
        size = 17 * self.look.font_scale
        for p in f.fixed:
            colour = self._colour(p.colour)
            if p.stability == "unstable":
                brush, pen = pg.mkBrush(self.look.background), pg.mkPen(colour, width=3)
            else:
                brush, pen = pg.mkBrush(colour), pg.mkPen(self.look.background, width=1.5)
            spots.append(dict(pos=p.xy, size=size * (1.35 if p.stability == "saddle" else 1.0),
                              symbol=SYMBOLS[p.stability], brush=brush, pen=pen, data=p.text))
        self.fixedItem.setData(spots)

    def _showLabels(self, f) -> None:
        main = f.paths[0].xy if f.paths else np.zeros((0, 2))
        labels = f.labels if len(f.paths) == 1 else ()  # Compare: three paths, the legend names them
        for t, (k, text) in zip(self._labels, labels):
            x, y = main[k]
            if np.isfinite(x) and np.isfinite(y):
                t.setText(text)
                t.setPos(float(x), float(y))
                t.show()
            else:
                t.hide()
        for t in self._labels[len(labels):]:
            t.hide()

    def _legendHtml(self, f) -> str:
        """Short entries: beside the plot one per line, under it in rows that break only between them."""
        side = self._side

        def entry(colour: str, symbol: str, text: str) -> str:
            words = html.escape(text).replace(" ", "&nbsp;")
            return f"<span style='color:{colour}'>{symbol}</span>&nbsp;{words}"

        fg = self.look.foreground
        items = []
        if len(f.paths) > 1:
            items += [entry(self._colour(p.colour), "━━", p.label) for p in f.paths]
        else:
            items.append(entry(self._colour(f.paths[0].colour), "━●━", "path hₜ" if side else "path hₜ, numbers = t"))
        items.append(entry(self.look.cursor, "◯", f"now, t = {f.current}"))
        if f.mode == "plane":
            prefix = "" if side else "fixed points: "
            items.append(html.escape(prefix).replace(" ", "&nbsp;") + entry(fg, "●", "stable"))
            items += [entry(fg, "◆", "saddle"), entry(fg, "○", "unstable")]
            if f.arrows is not None:
                items.append(entry(self.look.muted, "→", "f(h) − h"))
        elif f.variants:
            items.append(entry(self.look.muted, "━━", "noisy inputs"))
        return ("<br>" if side else "&nbsp;&nbsp; ").join(items)

    # ------------------------------------------------------------ accessors (tests)
    def pathData(self, k: int = 0) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._pathItems[k].getData()
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def variantCount(self) -> int:
        return sum(1 for item in self._variantItems if item.getData()[0] is not None)

    def fixedPointData(self) -> list[tuple[tuple, str]]:
        """((x, y), stability) of every fixed point drawn."""
        kinds = [p.stability for p in self._shown.fixed] if self._shown is not None else []
        return [((float(p.pos().x()), float(p.pos().y())), kind) for p, kind in zip(self.fixedItem.points(), kinds)]

    def arrowData(self) -> np.ndarray:
        x, y = self.flow.getData()
        return np.zeros((0, 2)) if x is None else np.column_stack([x, y])

    def currentPoint(self) -> tuple[float, float] | None:
        pts = self.currentItem.points()
        return None if not len(pts) else (float(pts[0].pos().x()), float(pts[0].pos().y()))

    def viewRange(self):
        return self._view

    def legendText(self) -> str:
        return QtGui.QTextDocumentFragment.fromHtml(self.legendLabel.text()).toPlainText()

    # ------------------------------------------------------------ user → controller
    def _nearest(self, scene_pos):
        """(kind, index) of the fixed point or path point under the pointer, or None."""
        f = self._shown
        if f is None or f.mode == "none" or not self.vb.sceneBoundingRect().contains(scene_pos):
            return None
        best, pick = PICK_PX ** 2, None
        for i, p in enumerate(f.fixed):
            d = scene_pos - self.vb.mapViewToScene(QtCore.QPointF(*p.xy))
            if d.x() ** 2 + d.y() ** 2 < best:
                best, pick = d.x() ** 2 + d.y() ** 2, ("fixed", i)
        if pick is None and f.paths:
            xy = f.paths[0].xy[: f.revealed]
            for k, (x, y) in enumerate(xy):
                if np.isfinite(x) and np.isfinite(y):
                    d = scene_pos - self.vb.mapViewToScene(QtCore.QPointF(float(x), float(y)))
                    if d.x() ** 2 + d.y() ** 2 < best:
                        best, pick = d.x() ** 2 + d.y() ** 2, ("path", k)
        return pick

    def _onMouseMoved(self, pos) -> None:
        pick = self._nearest(pos)
        text = ""
        if pick is not None:
            f = self._shown
            if pick[0] == "fixed":
                text = f.fixed[pick[1]].text
            else:
                k = pick[1]
                x, y = f.paths[0].xy[k]
                text = f"h at t = {k}: ({x:.3f}, {y:.3f})" + ("" if f.mode == "plane" else " on PC1, PC2")
                text += "\nclick: go to this step" if k else ""
        self.graphics.setToolTip(text)

    def _onMouseClicked(self, ev) -> None:
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        pick = self._nearest(ev.scenePos())
        if pick is not None and pick[0] == "path" and pick[1] >= 1:
            self.controller.setStep(pick[1] - 1)

    def _onVariantsToggled(self, _on: bool) -> None:
        self._dirty = True
        self._drawIfShown()


__all__ = ["StateSpacePanel"]
