"""Shared look: colour maps, cell colours, fonts. One place, so every panel matches.

Projector first: white background, dark text, large fonts, thick lines. A :class:`Theme`
bundles one look (light projector, dark, colour-blind-safe maps, presenter font scale);
:func:`set_current` makes it the active one by rewriting the module constants below, which
every panel reads when it draws or builds its items. The Qt side (palette, fonts, asking each
panel to rebuild) is ``rnnviz.ui.presenter.apply_theme``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import pyqtgraph as pg
from PySide6 import QtGui

#: Diverging map for h and c (blue negative, white zero, red positive), fixed symmetric levels.
DIVERGING = "CET-D1"
#: Sequential map for gates on a fixed 0–1 scale.
SEQUENTIAL = "viridis"
#: Line/box colours of the three cells (Okabe–Ito: colour-blind safe).
CELL_COLOURS = {
    "rnn_tanh": "#0072B2",  # blue
    "rnn_relu": "#D55E00",  # vermillion
    "gru": "#009E73",  # green
    "lstm": "#CC79A7",  # purple
    "loaded": "#0072B2",
}
#: The seed document's picture: x1 in dark navy, fading to white.
NAVY = (16, 32, 96)
PERTURBATION_COLOUR = "#E69F00"  # orange
BACKWARD_COLOUR = "#555555"
CURSOR_COLOUR = "#E69F00"
FOREGROUND = "#202020"
BACKGROUND = "#FFFFFF"
WARNING_BG = "#FFE8CC"
WARNING_FG = "#8A3B00"
#: Secondary text (hints, the general equations) and light lines (grids, separators).
MUTED = "#5A5A5A"
GRID = "#DDDDDD"

#: Base point sizes at font scale 1; presenter mode scales them (see :func:`set_current`).
BASE_FONT_PT = 11
BASE_TITLE_PT = 13
BASE_AXIS_PT = 10
FONT_PT = BASE_FONT_PT
TITLE_PT = BASE_TITLE_PT
AXIS_PT = BASE_AXIS_PT

#: Colour-blind-safe maps (CET's blue–yellow families: safe for red–green colour blindness).
CB_DIVERGING_LIGHT = "CET-CBD1"  # blue – light grey – yellow
CB_DIVERGING_DARK = "CET-D6"  # blue – black – yellow
CB_SEQUENTIAL = "cividis"

#: Gate text colours for the equations, readable on each background.
LIGHT_GATE_COLOURS = {"r": "#C24E00", "z": "#0060A0", "n": "#007A5A", "i": "#0060A0", "f": "#C24E00",
                      "g": "#007A5A", "o": "#A4427F"}
DARK_GATE_COLOURS = {"r": "#FF9A5C", "z": "#7CC4F4", "n": "#4FD8AA", "i": "#7CC4F4", "f": "#FF9A5C",
                     "g": "#4FD8AA", "o": "#F0A6D8"}


@dataclass(frozen=True)
class Theme:
    """One look of the whole app. ``name`` is "light" or "dark"; sizes scale by ``font_scale``."""

    name: str
    background: str
    foreground: str
    diverging: str
    sequential: str
    cell_colours: dict = field(hash=False)
    font_scale: float = 1.0
    colour_blind: bool = False
    muted: str = MUTED
    grid: str = GRID
    window: str = "#EFEFEF"  # Qt widget background around the plots
    base: str = "#FFFFFF"  # text fields, tables, check boxes (Fusion outlines them in near black)
    button: str = "#F4F4F4"
    border: str = "#909090"
    warning_bg: str = WARNING_BG
    warning_fg: str = WARNING_FG
    navy: tuple = NAVY
    cursor: str = CURSOR_COLOUR
    perturbation: str = PERTURBATION_COLOUR
    backward: str = BACKWARD_COLOUR
    gate_colours: dict = field(default_factory=lambda: dict(LIGHT_GATE_COLOURS), hash=False)

    @property
    def dark(self) -> bool:
        return self.name == "dark"

    def pt(self, base: int) -> int:
        """``base`` points at this theme's scale, never smaller than base × scale."""
        return int(math.ceil(base * self.font_scale - 1e-9))

    def scaled(self, font_scale: float) -> "Theme":
        return replace(self, font_scale=float(font_scale))

    def withColourBlind(self, on: bool) -> "Theme":
        return make(self.name, colour_blind=on, font_scale=self.font_scale)


LIGHT = Theme(
    name="light", background=BACKGROUND, foreground=FOREGROUND, diverging=DIVERGING, sequential=SEQUENTIAL,
    cell_colours=dict(CELL_COLOURS),
)

DARK = Theme(
    name="dark", background="#1B1D21", foreground="#EDEDED", diverging="CET-D4", sequential="viridis",
    cell_colours={
        "rnn_tanh": "#56B4E9",  # Okabe–Ito sky blue: the dark blue vanishes on a dark screen
        "rnn_relu": "#FF8A4C",
        "gru": "#3FD0A0",
        "lstm": "#E9A3CF",
        "loaded": "#56B4E9",
    },
    muted="#B8B8B8", grid="#3C4048", window="#25282D", base="#363A42", button="#343840", border="#70757E",
    warning_bg="#5C3000", warning_fg="#FFD7AE", navy=(40, 84, 210), backward="#B8B8B8",
    gate_colours=dict(DARK_GATE_COLOURS),
)

THEMES = {"light": LIGHT, "dark": DARK}

_current = LIGHT


def make(name: str = "light", colour_blind: bool = False, font_scale: float = 1.0) -> Theme:
    """The named theme ("light" or "dark"; unknown names give light), optionally with the
    colour-blind-safe maps and a font scale."""
    t = THEMES.get(name, LIGHT)
    if colour_blind:
        t = replace(t, diverging=CB_DIVERGING_DARK if t.dark else CB_DIVERGING_LIGHT, sequential=CB_SEQUENTIAL,
                    colour_blind=True)
    return replace(t, font_scale=float(font_scale))


def current() -> Theme:
    """The active theme."""
    return _current


def set_current(t: Theme) -> None:
    """Make ``t`` the active theme: rewrites this module's constants (colours, maps, point
    sizes) and pyqtgraph's defaults. Panels pick the new values up when they rebuild."""
    global _current, DIVERGING, SEQUENTIAL, NAVY, PERTURBATION_COLOUR, BACKWARD_COLOUR, CURSOR_COLOUR
    global FOREGROUND, BACKGROUND, WARNING_BG, WARNING_FG, MUTED, GRID, FONT_PT, TITLE_PT, AXIS_PT
    _current = t
    DIVERGING, SEQUENTIAL = t.diverging, t.sequential
    CELL_COLOURS.clear()  # in place: modules may hold the dict itself
    CELL_COLOURS.update(t.cell_colours)
    NAVY = tuple(t.navy)
    PERTURBATION_COLOUR, BACKWARD_COLOUR, CURSOR_COLOUR = t.perturbation, t.backward, t.cursor
    FOREGROUND, BACKGROUND = t.foreground, t.background
    WARNING_BG, WARNING_FG = t.warning_bg, t.warning_fg
    MUTED, GRID = t.muted, t.grid
    FONT_PT, TITLE_PT, AXIS_PT = t.pt(BASE_FONT_PT), t.pt(BASE_TITLE_PT), t.pt(BASE_AXIS_PT)
    configure_pyqtgraph()


def configure_pyqtgraph() -> None:
    pg.setConfigOptions(background=BACKGROUND, foreground=FOREGROUND, antialias=False, useOpenGL=False,
                        imageAxisOrder="row-major")


def colormap(name: str) -> pg.ColorMap:
    return pg.colormap.get(name)


def lut(name: str, n: int = 256):
    return colormap(name).getLookupTable(0.0, 1.0, n)


def font(pt: int | None = None, bold: bool = False) -> QtGui.QFont:
    f = QtGui.QFont()
    f.setPointSize(FONT_PT if pt is None else pt)
    f.setBold(bold)
    return f


def style_plot(plot: pg.PlotItem, title: str | None = None, left: str | None = None, bottom: str | None = None):
    """Titles and axis labels sized for the back of a classroom."""
    if title:
        plot.setTitle(title, size=f"{TITLE_PT}pt", color=FOREGROUND, bold=True)
    for side, text in (("left", left), ("bottom", bottom)):
        ax = plot.getAxis(side)
        ax.setTextPen(FOREGROUND)
        ax.setPen(FOREGROUND)
        ax.setStyle(tickFont=font(AXIS_PT))
        if text:
            ax.setLabel(text, **{"font-size": f"{AXIS_PT + 1}pt", "color": FOREGROUND})
    plot.hideButtons()
    plot.setMenuEnabled(False)
