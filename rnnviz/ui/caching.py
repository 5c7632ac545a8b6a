"""Paint a plot's decorations from a pixmap while its data changes.

A slider tick changes a panel's images and curves, and Qt repaints every item in the changed
area: each axis replays its recorded picture (tick lines, numbers, label), each title lays out
its text again, each key fills its translucent box. :func:`cache_decorations` gives those
items Qt's device-coordinate cache, so an unchanged axis is one pixmap blit; an axis whose
range or ticks change calls ``update()`` and is drawn afresh once. Their text items
(an axis's title, a label's text) are children with caches of their own. :func:`uncached` turns the
caches off while exporting, so an SVG gets vector text and a PNG at another scale gets sharp
text, never a scaled pixmap.

The views' own background cache goes the other way (:func:`fill_backgrounds`): pyqtgraph keeps
each view's solid background in a pixmap the size of the view and blits it under every paint,
a full-size image copy that Qt's raster engine hands to its thread pool and waits for;
filling the exposed area with the colour draws the same pixels for less.
"""

from __future__ import annotations

import contextlib

import pyqtgraph as pg
from PySide6 import QtWidgets

_CACHED = (pg.AxisItem, pg.LabelItem, pg.LegendItem)  # a key's translucent box: ~0.1 ms a frame
_DEVICE = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
_NONE = QtWidgets.QGraphicsItem.CacheMode.NoCache


def cache_decorations(view: pg.GraphicsView) -> None:
    """Cache the axes and labels of every plot in ``view`` (call again after adding plots)."""
    scene = view.scene()
    if scene is None:
        return
    for item in scene.items():
        # a cache holds its own item's paint, not its children's: an axis's title and a
        # label's text are text items of their own, laid out again at every paint
        decoration = isinstance(item, _CACHED) or (isinstance(item, QtWidgets.QGraphicsTextItem)
                                                    and isinstance(item.parentItem(), _CACHED))
        if decoration and item.cacheMode() != _DEVICE:
            item.setCacheMode(_DEVICE)


def fill_backgrounds(widget: QtWidgets.QWidget) -> None:
    """Every plot view inside ``widget`` fills its background instead of blitting a cached
    pixmap of it (the background is one colour)."""
    for view in widget.findChildren(QtWidgets.QGraphicsView):
        view.setCacheMode(QtWidgets.QGraphicsView.CacheModeFlag.CacheNone)


@contextlib.contextmanager
def uncached(widget: QtWidgets.QWidget):
    """No item cache in any plot inside ``widget`` (itself included) for the ``with`` body."""
    views = [widget] if isinstance(widget, QtWidgets.QGraphicsView) else []
    views += widget.findChildren(QtWidgets.QGraphicsView)
    restore = []
    for view in views:
        scene = view.scene()
        if scene is None:
            continue
        for item in scene.items():
            if item.cacheMode() != _NONE:
                restore.append((item, item.cacheMode()))
                item.setCacheMode(_NONE)
    try:
        yield
    finally:
        for item, mode in restore:
            item.setCacheMode(mode)
