"""Shared look: colour maps, cell and gate colours, fonts. One place, so every panel matches.

Projector first: white background, dark text, large fonts, thick lines. A :class:`Theme` is an
immutable value bundling one look (light projector, dark, colour-blind-safe maps, presenter
font scale). This module holds no state: the main window keeps the current Theme and hands it
to every registered panel (``Panel.setTheme(theme)``), which reads its colours and sizes from
that value only. Changing the look means making a new value (:func:`make`, :meth:`Theme.scaled`)
and handing it out again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from ..engine.cells import CHOICES

#: Base point sizes at font scale 1; a theme scales them (:meth:`Theme.pt`).
BASE_FONT_PT = 11
BASE_TITLE_PT = 13
BASE_AXIS_PT = 10

#: Colour-blind-safe maps (CET's blue–yellow families: safe for red–green colour blindness).
CB_DIVERGING_LIGHT = "CET-CBD1"  # blue – light grey – yellow
CB_DIVERGING_DARK = "CET-D6"  # blue – black – yellow
CB_SEQUENTIAL = "cividis"

# Line/box colours of the cells, one per colour slot of the cell choices (Okabe–Ito: colour-blind
# safe): slot 0 RNN (tanh) blue, 1 RNN (ReLU) vermillion, 2 GRU green, 3 LSTM purple. A loaded
# model takes slot 0.
_LIGHT_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
# Okabe–Ito sky blue first: the dark blue vanishes on a dark screen
_DARK_PALETTE = ("#56B4E9", "#FF8A4C", "#3FD0A0", "#E9A3CF")


def _cell_colours(palette: tuple) -> dict:
    """Colours by cell choice key (and "loaded"), from the registry's colour slots."""
    colours = {key: palette[c.slot % len(palette)] for key, c in CHOICES.items()}
    colours["loaded"] = palette[0]
    colours["forward"], colours["backward"] = palette[0], palette[1]  # a bidirectional layer's directions
    return colours


_LIGHT_CELLS = _cell_colours(_LIGHT_PALETTE)
_DARK_CELLS = _cell_colours(_DARK_PALETTE)
# Gate text colours for the equations, readable on each background, keyed by the gate's name.
_LIGHT_GATES = {"r": "#C24E00", "z": "#0060A0", "n": "#007A5A", "i": "#0060A0", "f": "#C24E00",
                "g": "#007A5A", "o": "#A4427F"}
_DARK_GATES = {"r": "#FF9A5C", "z": "#7CC4F4", "n": "#4FD8AA", "i": "#7CC4F4", "f": "#FF9A5C",
               "g": "#4FD8AA", "o": "#F0A6D8"}


def _frozen(mapping) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Theme:
    """One look of the whole app. ``name`` is "light" or "dark"; sizes scale by ``font_scale``.

    Immutable: the colour tables are read-only mappings; derive a changed look with
    :func:`dataclasses.replace`, :meth:`scaled` or :func:`make`.
    """

    name: str
    background: str
    foreground: str
    #: Diverging map for h and c (blue negative, white zero, red positive), fixed symmetric levels.
    diverging: str
    #: Sequential map for gates on a fixed 0–1 scale.
    sequential: str
    cell_colours: Mapping[str, str] = field(hash=False, repr=False)
    gate_colours: Mapping[str, str] = field(hash=False, repr=False)
    font_scale: float = 1.0
    colour_blind: bool = False
    #: Secondary text (hints, the general equations) and light lines (grids, separators).
    muted: str = "#5A5A5A"
    grid: str = "#DDDDDD"
    window: str = "#EFEFEF"  # Qt widget background around the plots
    base: str = "#FFFFFF"  # text fields, tables, check boxes (Fusion outlines them in near black)
    button: str = "#F4F4F4"
    border: str = "#909090"
    warning_bg: str = "#FFE8CC"
    warning_fg: str = "#8A3B00"
    #: The seed document's picture: x1 in dark navy, fading to white.
    navy: tuple = (16, 32, 96)
    cursor: str = "#E69F00"
    perturbation: str = "#E69F00"  # orange
    backward: str = "#555555"
    grew: str = "#D55E00"  # the "grew: exploding" marks (Okabe–Ito vermillion)
    #: The ring around the control that has the keyboard focus.
    focus_ring: str = "#0B57D0"

    def __post_init__(self):
        object.__setattr__(self, "cell_colours", _frozen(self.cell_colours))
        object.__setattr__(self, "gate_colours", _frozen(self.gate_colours))
        object.__setattr__(self, "navy", tuple(self.navy))

    @property
    def dark(self) -> bool:
        return self.name == "dark"

    def pt(self, base: int) -> int:
        """``base`` points at this theme's scale, never smaller than base × scale."""
        return int(math.ceil(base * self.font_scale - 1e-9))

    @property
    def font_pt(self) -> int:
        return self.pt(BASE_FONT_PT)

    @property
    def title_pt(self) -> int:
        return self.pt(BASE_TITLE_PT)

    @property
    def axis_pt(self) -> int:
        return self.pt(BASE_AXIS_PT)

    def font(self, pt: int | None = None, bold: bool = False) -> QtGui.QFont:
        """A font of ``pt`` points (default: this theme's body size)."""
        return font(self.font_pt if pt is None else pt, bold)

    def cell_colour(self, key: str, default: str | None = None) -> str:
        """Line colour of the cell ``key`` (rnn_tanh, rnn_relu, gru, lstm, loaded)."""
        return self.cell_colours.get(key, self.foreground if default is None else default)

    def gate_colour(self, gate: str, default: str | None = None) -> str:
        """Text colour of the gate called ``gate`` (r z n / i f g o)."""
        return self.gate_colours.get(gate, default)

    def role_colour(self, role: str | None, default: str | None = None) -> str | None:
        """The colour of a frame's colour role ("muted", "grew", "gate:f", "cell:gru"), else ``default``.

        Frames (rnnviz.core.frames) name roles, never colours; this is the one place that maps them.
        """
        if role == "muted":
            return self.muted
        if role == "grew":
            return self.grew
        kind, _, name = (role or "").partition(":")
        if kind == "gate":
            return self.gate_colour(name, default)
        if kind == "cell":
            return self.cell_colour(name, default)
        return default

    def scaled(self, font_scale: float) -> "Theme":
        return replace(self, font_scale=float(font_scale))

    def withColourBlind(self, on: bool) -> "Theme":
        return make(self.name, colour_blind=on, font_scale=self.font_scale)


LIGHT = Theme(name="light", background="#FFFFFF", foreground="#202020", diverging="CET-D1", sequential="viridis",
              cell_colours=_LIGHT_CELLS, gate_colours=_LIGHT_GATES)

DARK = Theme(
    name="dark", background="#1B1D21", foreground="#EDEDED", diverging="CET-D4", sequential="viridis",
    cell_colours=_DARK_CELLS, gate_colours=_DARK_GATES,
    muted="#B8B8B8", grid="#3C4048", window="#25282D", base="#363A42", button="#343840", border="#70757E",
    warning_bg="#5C3000", warning_fg="#FFD7AE", navy=(40, 84, 210), backward="#B8B8B8", focus_ring="#8AB4F8",
)

THEMES = MappingProxyType({"light": LIGHT, "dark": DARK})


def make(name: str = "light", colour_blind: bool = False, font_scale: float = 1.0) -> Theme:
    """The named theme ("light" or "dark"; unknown names give light), optionally with the
    colour-blind-safe maps and a font scale."""
    t = THEMES.get(name, LIGHT)
    if colour_blind:
        t = replace(t, diverging=CB_DIVERGING_DARK if t.dark else CB_DIVERGING_LIGHT, sequential=CB_SEQUENTIAL,
                    colour_blind=True)
    return replace(t, font_scale=float(font_scale))


def configure_pyqtgraph(t: Theme) -> None:
    """pyqtgraph's defaults for items built without explicit colours (its own global config)."""
    pg.setConfigOptions(background=t.background, foreground=t.foreground, antialias=False, useOpenGL=False,
                        imageAxisOrder="row-major")


def graphics_widget() -> pg.GraphicsLayoutWidget:
    """A pyqtgraph canvas for a panel. Without pyqtgraph's cached background: the background
    is one colour, and filling it costs a view's repaint ~8 % less than blitting the cached
    pixmap of it (at every slider tick every view repaints whole).

    Its scene keeps no spatial index: a tick changes the geometry of labels, markers and
    curves, and the index updated for each cost Compare's tick ~0.5 ms (3 %, in-process A/B);
    finding the few dozen items of a plot under the pointer or in an exposed area is a plain
    scan, as cheap."""
    w = pg.GraphicsLayoutWidget()
    w.setCacheMode(QtWidgets.QGraphicsView.CacheModeFlag.CacheNone)
    w.scene().setItemIndexMethod(QtWidgets.QGraphicsScene.ItemIndexMethod.NoIndex)
    return w


def colormap(name: str) -> pg.ColorMap:
    return pg.colormap.get(name)


def lut(name: str, n: int = 256):
    return colormap(name).getLookupTable(0.0, 1.0, n)


def font(pt: int, bold: bool = False) -> QtGui.QFont:
    f = QtGui.QFont()
    f.setPointSize(int(pt))
    f.setBold(bold)
    return f


def fitting(forms, pt: int, width: float) -> str:
    """The first (longest) of ``forms`` that fits ``width`` pixels in bold ``pt`` points; the
    last if none does. A title's wordings, longest first: a narrow plot at presenter size (a
    1024 × 768 projector) shows a shorter one, never a cut one."""
    fm = QtGui.QFontMetrics(font(pt, bold=True))
    return next((f for f in forms if fm.horizontalAdvance(f) <= width), forms[-1])


def fitting_lines(forms, qfont: QtGui.QFont, width: float) -> str:
    """The first (longest) of ``forms``, each one or more lines, whose every line fits
    ``width`` pixels in ``qfont``; the last if none does (an empty plot's note, shorter forms
    ending in "" for none at all)."""
    fm = QtGui.QFontMetricsF(qfont)
    return next((f for f in forms if max(fm.horizontalAdvance(line) for line in f.split("\n")) <= width), forms[-1])


def set_axis_label(axis: pg.AxisItem, text: str, **style) -> None:
    """``axis.setLabel`` and centre the label again. pyqtgraph centres an axis label when the
    axis is resized, by the text it had then: a longer form set later ran past the plot's
    end ("(log sc" on the fading plot at 1920×1080), a shorter one sat off centre."""
    axis.setLabel(text, **style)
    axis.resizeEvent(None)


def style_plot(plot: pg.PlotItem, t: Theme, title: str | None = None, left: str | None = None,
               bottom: str | None = None):
    """Titles and axis labels sized for the back of a classroom, in the colours of ``t``."""
    if title:
        plot.setTitle(title, size=f"{t.title_pt}pt", color=t.foreground, bold=True)
    for side, text in (("left", left), ("bottom", bottom)):
        ax = plot.getAxis(side)
        ax.setTextPen(t.foreground)
        ax.setPen(t.foreground)
        ax.setStyle(tickFont=font(t.axis_pt))
        if text:
            set_axis_label(ax, text, **{"font-size": f"{t.axis_pt + 1}pt", "color": t.foreground})
    plot.hideButtons()
    plot.setMenuEnabled(False)
