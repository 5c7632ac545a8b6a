"""Display-ready frames: everything the panels draw, made from a result and the view state.

:func:`build_frame` turns an engine :class:`~rnnviz.core.model.Result` plus a
:class:`ViewState` (current step, reveal-all, selected unit, backward toggle, the equation
tab) into a :class:`Frame`. Views only map a frame to plot items: they compute no maths and
never call back into the controller while they redraw.

A frame is cheap to make: the parts that depend on the result only (heatmap images, levels,
chain ratios, curve arrays, y range, ticks, ρ) live in a :class:`ResultFrame` built lazily,
once per result, and shared by every frame :meth:`Frame.at_step`, :meth:`Frame.with_unit`
and :meth:`Frame.with_view` derive from it, so stepping at 30 steps/s only formats the new
step. Colours are *roles* ("diverging", "cell:gru", "gate:f", "grew") or 0…1 shades; the
theme in the view maps them to colours. No Qt here.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..engine.bidirectional import Bidirectional, BidirectionalStack, is_bidirectional, layers_of
from ..engine.cells import CELL_KINDS, CHOICES, as_stack, kind_of
from . import model as M
from .equations import EquationFrame, equation_frame
from .format import (MINUS, Frag, Span, box_label, cell_value, decade_label, decade_ticks, fixed, fmt_percent,
                     fmt_value, range_text, sub_digits)

#: Longer runs are block-averaged in time to this many image columns (a screen has fewer pixels).
MAX_COLUMNS = 2048
#: The chain is white at this many decades below step 1 (4: white at 0.01 % of x₁ left).
CHAIN_DECADES = 4.0
#: ρ(W_hh) is an eigenvalue problem: above this many multiply-adds (≈ G·H³) the readout
#: refreshes only once a slider pauses, so drags of big cells stay smooth.
RHO_SYNC_COST = 4 * 64**3

# The gates' words, ranges and display order come from the cell kinds (rnnviz.engine.cells).
_GATES = {g.name: g for kind in CELL_KINDS.values() for g in kind.gates}
#: What each gate does, in plain words: (name, meaning). A candidate's meaning is its range.
GATE_TEXT = {n: (f"{n} — {g.title}", g.meaning) for n, g in _GATES.items()}
#: Compare mode puts seven heatmaps in the panel: one short line each.
GATE_SHORT_TEXT = {n: (f"{n} — {g.short_title}", g.short_meaning) for n, g in _GATES.items()}
GATE_NAMES = {n: "candidate" if g.role == "candidate" else g.title for n, g in _GATES.items()}
#: Display order: gates on the 0–1 scale first (they share a colour bar), the candidate last.
GATE_ORDER = {name: kind.display_order for name, kind in CELL_KINDS.items() if kind.gates}
CANDIDATES = tuple(n for n, g in _GATES.items() if g.role == "candidate")


# ---------------------------------------------------------------- view state


@dataclass(frozen=True)
class ViewState:
    """What the user looks at, apart from the result: set by clicks, keys and the transport."""

    step: int = 0  # 0-based current step; steps 0…step are revealed
    reveal_all: bool = False
    unit: int = 0  # the selected unit (the equations explain it; heatmaps outline it)
    backward: bool = False  # draw ‖∂h_T/∂h_t‖
    equation_key: str = "gru"  # the cell the equation panel shows in Compare mode

    def replace(self, **changes) -> "ViewState":
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------- heatmaps


def display_image(a: np.ndarray, levels, max_columns: int = MAX_COLUMNS) -> tuple[np.ndarray, int]:
    """(T, H) engine array → ((H, columns) float32 image, block size).

    Runs longer than ``max_columns`` are averaged over blocks of ``block`` steps. Values are
    clipped to ``levels`` (so ±inf shows as the end colours); NaN stays NaN and shows grey.
    """
    T, H = a.shape
    k = max(1, math.ceil(T / max_columns))
    with np.errstate(all="ignore"):
        if k > 1:
            cols = math.ceil(T / k)
            full = T // k * k
            blocks = np.empty((cols, H), np.float64)
            blocks[: full // k] = a[:full].reshape(-1, k, H).mean(axis=1, dtype=np.float64)
            if full < T:
                blocks[-1] = a[full:].mean(axis=0, dtype=np.float64)
            a = blocks
        # pyqtgraph rescales in the image's dtype: levels of ±3e38 (an exploding ReLU RNN) would
        # overflow float32 while subtracting the low level, so such images use float64.
        wide = float(levels[1]) - float(levels[0]) > 1e37
        img = np.ascontiguousarray(a.T, dtype=np.float64 if wide else np.float32)
        np.clip(img, levels[0], levels[1], out=img)
    return img, k


@dataclass(frozen=True, eq=False)
class HeatmapFrame:
    """One units × time heatmap: the image to upload and how to label it."""

    key: str  # "h", "c", "f" …; Compare: "GRU/h", "LSTM/f"
    name: str  # the array's name
    array: np.ndarray  # the engine's (T, H) array (tooltips show its exact values)
    image: np.ndarray  # (H, columns) display image, see display_image
    block: int  # steps per image column
    levels: tuple  # finite (lo, hi) of the colour map
    cmap: str  # colour-map role: "diverging", "sequential" (gates) or "candidate"
    title: str  # plot title (state panel) or full gate title "f — forget gate (1 = keep memory)"
    bar_label: str | None  # colour bar's axis label
    colour: str  # colour role of the title ("cell:gru")
    cell_label: str | None  # Compare mode: names the cell in tooltips
    what: str = ""  # a gate's meaning in tooltips ("forget gate")
    lines: tuple = ()  # a gate's description left of its heatmap: (bold name, meaning)
    scale: str = "linear"  # or "symlog": the image holds sign(v)·log10(1 + |v|), see symlog
    bar_ticks: tuple = ()  # symlog: ((position, label), …) of the colour bar, in the values' units
    short_titles: tuple = ()  # shorter forms of the title, longest first, for narrow panels

    @property
    def T(self) -> int:
        return self.array.shape[0]

    @property
    def H(self) -> int:
        return self.array.shape[1]

    def tooltip(self, t: int, unit: int, revealed: int) -> str:
        """The hover text at 0-based step ``t`` and ``unit`` when ``revealed`` steps are shown."""
        prefix = f"{self.cell_label}: " if self.cell_label else ""
        what = f" ({self.what})" if self.what else ""
        head = f"{prefix}{self.name}[unit {unit}] at t = {t + 1}"
        if t >= revealed:
            return f"{head}: not revealed yet"
        return f"{head}: {cell_value(self.array[t, unit])}{what}"


def _heatmap(key, name, array, levels, cmap, title, bar_label, colour, cell_label, what="", lines=()):
    img, k = display_image(array, levels)
    return HeatmapFrame(key, name, array, img, k, tuple(levels), cmap, title, bar_label, colour, cell_label,
                        what, lines)


#: An unbounded state whose largest |value| passes this is coloured on a symmetric log scale:
#: on a linear one, a run that explodes to 10⁹ leaves every step before the last few white.
SYMLOG_ABOVE = 100.0
#: … and its colour bar labels no decade nearer 0 than this share of the bar's half.
SYMLOG_TICK_GAP = 0.1


def symlog(a):
    """sign(a)·log10(1 + |a|): linear near 0, log beyond ±1, ±inf kept."""
    with np.errstate(all="ignore"):
        return np.sign(a) * np.log10(1.0 + np.abs(a))


def _symlog_heatmap(key, name, array, cmap, title, bar_label, colour, cell_label, top: float):
    """A heatmap on the symmetric log scale up to ``top`` (the largest finite |value|): no
    value saturates, ±inf shows as the end colours, NaN grey; the bar is labelled in h's units."""
    img, k = display_image(array, (-np.inf, np.inf))
    L = float(symlog(top))
    img = np.clip(symlog(img.astype(np.float64)), -L, L).astype(np.float32)
    decades = [n for n in range(int(math.floor(L)) + 1) if symlog(10.0**n) <= L]
    every = max(1, math.ceil(len(decades) / 4))  # at most about 4 a side, the largest kept
    ticks = [(0.0, "0")]
    for n in decades[::-1][::every]:
        at = float(symlog(10.0**n))
        if at < SYMLOG_TICK_GAP * L:
            continue  # ±1 next to 0 on a bar of many decades: three labels in one place
        label = decade_label(float(n)) if n else "1"
        ticks += [(at, label), (-at, MINUS + label)]
    return HeatmapFrame(key, name, array, img, k, (-L, L), cmap, title, f"{bar_label}  (log scale)", colour,
                        cell_label, scale="symlog", bar_ticks=tuple(sorted(ticks)))


@dataclass(frozen=True, eq=False)
class StateFrame:
    """The hidden state h (and c) heatmaps, top to bottom."""

    maps: tuple  # HeatmapFrame


def state_frame(result) -> StateFrame:
    compare = len(result.cells) > 1
    out = []
    for cr in result.cells:
        tr = cr.trace
        bad = tr.nonfinite is not None
        name = cr.label
        n_layers = len(tr.model.layers)
        if n_layers > 1:  # a loaded stack: "LSTM × 2 layers" → "LSTM layer 2 of 2"
            name = f"{cr.label.split(' × ')[0]} layer {tr.layer % n_layers + 1} of {n_layers}"
        colour = f"cell:{cr.key}"
        arrays = [("h", tr.h, cr.h_levels(), "hidden state h")]
        if tr.c is not None and not compare:
            arrays.append(("c", tr.c, cr.c_levels(), "cell state c (memory)"))
        for a, array, levels, what in arrays:
            key = f"{cr.label}/{a}" if compare else a
            title = f"{cr.label if compare else name}: {what}"
            if bad and bool(np.isnan(array).any()):
                title += " · grey = NaN"
            top = _largest_finite(array) if levels[1] > 1.0 else 0.0  # bounded maps stay ±1
            if top > SYMLOG_ABOVE:
                m = _symlog_heatmap(key, a, array, "diverging", title, a, colour,
                                    cr.label if compare else None, top)
            else:
                m = _heatmap(key, a, array, levels, "diverging", title, a, colour,
                             cr.label if compare else None)
            nan = " · NaN grey" if title.endswith("= NaN") else ""
            who = cr.label if compare else name
            # shorter and shorter for a narrow column (1024 px): the cell's short name, then h alone
            shorts = dict.fromkeys((f"{who}: {a}{nan}", f"{short_label(who)}: {a}{nan}", f"{a}{nan}"))
            out.append(dataclasses.replace(m, short_titles=tuple(shorts)))
    return StateFrame(tuple(out))


def _largest_finite(a: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        finite = np.abs(a[np.isfinite(a)])
    return float(finite.max()) if finite.size else 0.0


@dataclass(frozen=True, eq=False)
class GateCellFrame:
    key: str
    label: str
    colour: str  # role
    maps: tuple  # HeatmapFrame in GATE_ORDER


@dataclass(frozen=True, eq=False)
class GateFrame:
    """The gate heatmaps of the gated cells, or the vanilla RNN's explanation."""

    cells: tuple  # GateCellFrame; empty for a vanilla RNN
    compare: bool
    message: tuple = ()  # paragraphs (Frag) when there are no gates
    message_plain: str = ""

    @property
    def maps(self) -> dict:
        return {m.key: m for c in self.cells for m in c.maps}


def _gate_lines(g: str, levels, compare: bool) -> tuple[str, tuple]:
    """(title, (bold name, meaning)) naming a gate and what it does."""
    name, meaning = (GATE_SHORT_TEXT if compare else GATE_TEXT)[g]
    lines = (name, meaning)
    if meaning is None:
        meaning = range_text(levels)
        head, _, tail = name.rpartition(" ")  # "g — candidate" / "memory, −1…1": narrower
        lines = (head, f"{tail}, {meaning}")
    return f"{name} ({meaning})", lines


def rnn_message(cell) -> tuple[tuple, str]:
    """The vanilla RNN's 'no gates' note as paragraphs of rich text, and as plain text."""
    nl = cell.nonlinearity if cell is not None else "tanh"
    single = cell is not None and not cell.recurrent_bias  # the seed document's one bias b
    b = Frag("b") if single else Frag("b", Span("ih", script="sub"))
    tail = Frag() if single else Frag(" + b", Span("hh", script="sub"))
    plain = (f"A vanilla RNN has no gates: h' = {nl}(W_ih x + {'b' if single else 'b_ih'} + W_hh h"
             f"{'' if single else ' + b_hh'}). Choose GRU or LSTM to see gates.")
    paragraphs = (
        Frag(Span("A vanilla RNN has no gates.", bold=True)),
        Frag(f"h′ = {nl}(W", Span("ih", script="sub"), " x + ", b, " + W", Span("hh", script="sub"), " h", tail,
             ")"),
        Frag("Every step overwrites the whole state.\nChoose ", Span("GRU", bold=True), " or ",
             Span("LSTM", bold=True), " to see gates."),
    )
    return paragraphs, plain


def gate_frame(result) -> GateFrame:
    gated = [cr for cr in result.cells if cr.gates]
    compare = len(result.cells) > 1
    if not gated:
        paragraphs, plain = rnn_message(result.cells[0].cell if result.cells else None)
        return GateFrame((), compare, paragraphs, plain)
    cells = []
    for cr in gated:
        prefix = f"{cr.label}/" if compare else ""
        maps = []
        for g in GATE_ORDER[cr.cell.kind]:
            array = cr.trace.gates[g]
            cand = g in CANDIDATES
            levels = M.finite_levels(array, cr.cell.nonlinearity) if cand else (0.0, 1.0)
            title, lines = _gate_lines(g, levels, compare)
            maps.append(_heatmap(prefix + g, g, array, levels, "candidate" if cand else "sequential", title,
                                 None, f"cell:{cr.key}", cr.label if compare else None, GATE_NAMES[g], lines))
        cells.append(GateCellFrame(cr.key, cr.label, f"cell:{cr.key}", tuple(maps)))
    return GateFrame(tuple(cells), compare)


@dataclass(frozen=True, eq=False)
class GateStepFrame:
    """The bars beside the gate heatmaps: each gate's vector at the current step."""

    values: dict  # key -> (H,) float64, NaN as 0, clipped to the heatmap's levels
    title: str  # "gates at t = 5"


def gate_step(gates: GateFrame, step: int) -> GateStepFrame:
    values = {}
    for c in gates.cells:
        for m in c.maps:
            t = min(max(step, 0), m.T - 1)
            v = np.nan_to_num(m.array[t], nan=0.0).astype(np.float64)
            values[m.key] = np.clip(v, *m.levels)
    T = gates.cells[0].maps[0].T if gates.cells else 1
    return GateStepFrame(values, f"gates at t = {min(step, T - 1) + 1}")


# ---------------------------------------------------------------- fading of x1


def chain_shade(ratio: np.ndarray, decades: float = CHAIN_DECADES) -> np.ndarray:
    """Navy intensity in [0, 1] for influence ratios: 1 at ≥ 100 %, 0 at ≤ 10^−decades; NaN stays."""
    r = np.asarray(ratio, dtype=np.float64)
    with np.errstate(all="ignore"):
        a = 1.0 + np.log10(np.where(r > 0, r, np.nan)) / decades
    a = np.where(r > 0, np.clip(a, 0.0, 1.0), 0.0)
    return np.where(np.isnan(r), np.nan, a)


#: A bidirectional layer's chain rows: its labels "LSTM → forward" are too wide for them.
DIRECTION_SHORT = {"fwd →": M.DIRECTIONS["forward"], "bwd ←": M.DIRECTIONS["backward"]}


def short_label(label: str) -> str:
    """``RNN (tanh)`` → ``RNN``, ``LSTM ← backward`` → ``bwd ←``: the chain's row labels."""
    for short, text in DIRECTION_SHORT.items():
        if label.endswith(" " + text):
            return short
    return label.split(" (")[0].split(" ×")[0]


def _runs(mask: np.ndarray, limit: int = 200) -> list[tuple[int, int]]:
    """[start, stop) runs of True, at most ``limit`` (the rest are drawn as plain colour)."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.view(np.int8), [0]]))
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return list(zip(starts[:limit].tolist(), stops[:limit].tolist()))


@dataclass(frozen=True, eq=False)
class ChainRowFrame:
    """One cell's chain of boxes: how much of x₁ is left at each step."""

    key: str
    label: str
    colour: str  # role: "cell:gru"
    influence: np.ndarray  # (T,) the engine's ‖∂h_t/∂x₁‖
    ratio: np.ndarray  # (T,) influence / influence[0]; NaN where h is inf/NaN
    grew: np.ndarray  # (T,) bool: exploding, over EXPLODING_RATIO × the influence at step 1
    bad: np.ndarray  # (T,) bool: h or the influence not finite
    overflow_from: int | None  # first 0-based step where h is inf/NaN
    shade: np.ndarray  # (T,) chain_shade(ratio): 0 white … 1 navy; NaN: the overflow fill
    bad_runs: tuple  # [start, stop) runs of bad steps (hatched)

    @property
    def short(self) -> str:
        return short_label(self.label)

    @cached_property
    def box_labels(self) -> tuple:
        """The text inside each box ("42%", "inf"); only asked for in box mode (short chains)."""
        return tuple("inf" if b else box_label(r) for b, r in zip(self.bad.tolist(), self.ratio.tolist()))

    @cached_property
    def dark(self) -> np.ndarray:
        """(T,) bool: the box is dark enough for white text."""
        with np.errstate(invalid="ignore"):
            return ~self.bad & (np.nan_to_num(self.shade, nan=0.0) > 0.55)


#: The x₁ chain calls a step "exploding" when x₁'s influence there is more than this many times
#: its step-1 value: real growth, not a rise from 0.06 to 0.15 (issue 10).
EXPLODING_RATIO = 10.0


def chain_row(cr) -> ChainRowFrame:
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
    grew = np.nan_to_num(ratio, nan=0.0) > EXPLODING_RATIO
    return ChainRowFrame(cr.key, cr.label, f"cell:{cr.key}", infl, ratio, grew, bad, overflow_from,
                         chain_shade(ratio), tuple(_runs(bad)))


@dataclass(frozen=True, eq=False)
class CurveFrame:
    """One curve of the log plot."""

    key: str  # "influence" …; Compare: "GRU/influence"
    kind: str  # "influence", "perturbation" or "backward"
    cell: str  # the cell's UI key (its colour role is "cell:<key>")
    y: np.ndarray  # (T,) the engine's values (tooltips), empty when not computed
    shown: np.ndarray  # (T,) what is drawn (linear; the plot is in log mode): NaN gaps, +inf clipped
    overflow_at: int | None  # first step drawn as overflow (clipped), or None
    reveal: bool  # False: always drawn whole (the backward flow is about h_T)
    visible: bool = True

    @cached_property
    def log_shown(self) -> np.ndarray:
        """log10 of :attr:`shown` (NaN where nothing is drawn)."""
        with np.errstate(all="ignore"):
            return np.log10(self.shown)


#: The corners the fading plot's legend may take, in order of preference.
LEGEND_CORNERS = ("top-right", "bottom-right", "bottom-left", "top-left")
#: The legend's size as a share of the plot: its width, and its height per entry (+ margin).
LEGEND_WIDTH, LEGEND_ROW, LEGEND_PAD = 0.45, 0.1, 0.06


def legend_corner(curves, T: int, yrange, entries: int, share: tuple | None = None) -> str | None:
    """The first corner of :data:`LEGEND_CORNERS` where a legend covers no point of
    ``curves`` (CurveFrame, all steps: stepping reveals them), or None when every corner has
    some. ``share`` is the legend's (width, height) as a share of the plot (measured by the
    view); without it, an estimate from its ``entries`` rows."""
    y0, y1 = yrange
    fw, fh = share if share is not None else (LEGEND_WIDTH, LEGEND_PAD + LEGEND_ROW * entries)
    w, h = fw * T, fh * (y1 - y0)
    xs = np.arange(1, T + 1, dtype=np.float64)
    pts = [(xs[np.isfinite(c.log_shown)], c.log_shown[np.isfinite(c.log_shown)]) for c in curves]
    for corner in LEGEND_CORNERS:
        top, right = corner.startswith("top"), corner.endswith("right")
        x_lo, x_hi = (T + 0.5 - w, T + 0.5) if right else (0.5, 0.5 + w)
        y_lo, y_hi = (y1 - h, y1) if top else (y0, y0 + h)
        if not any(np.any((x >= x_lo) & (x <= x_hi) & (y >= y_lo) & (y <= y_hi)) for x, y in pts):
            return corner
    return None


#: The fading plot's y-axis label, and with the backward view's curve as well.
Y_LABEL = "‖∂hₜ / ∂x₁‖  (log scale)"
Y_LABEL_BACKWARD = "‖∂hₜ / ∂x₁‖ and ‖∂h_T / ∂hₜ‖  (log scale)"

#: The nudge check ‖h(x₁ + ε) − h(x₁)‖/ε is a difference of two float64 runs: it cannot go
#: below about ε_machine·‖h‖/ε, where it flattens out (~10⁻¹³) while the exact curve falls on.
#: It is drawn only where it is this many times above that floor (1 % rounding noise at most).
PERTURBATION_TRUST = 100.0


def trusted_perturbation(perturbation, h, overflow_from: int | None):
    """The perturbation curve (÷ ε) with the steps it cannot be trusted at set to NaN: below
    its float64 precision floor (from the run's ``h``), and from an overflow of h on. None if
    not computed."""
    a = perturbation
    if a is None:
        return None
    from .model import EPS

    a = np.array(a, dtype=np.float64)
    with np.errstate(all="ignore"):
        h = np.asarray(h, np.float64)
        scale = np.sqrt(h.shape[1]) * np.max(np.abs(h), axis=1)  # ‖h_t‖ up to rounding
        floor = PERTURBATION_TRUST * np.finfo(np.float64).eps * np.maximum(scale, 1e-300) / EPS
        untrusted = np.isfinite(a) & np.isfinite(floor) & (a < floor)
    a[untrusted] = np.nan
    if overflow_from is not None:
        a[overflow_from:] = np.nan
    return a


@dataclass(frozen=True, eq=False)
class FadingFrame:
    """Everything of the fading panel that depends on the result (and the backward toggle)."""

    T: int
    rows: tuple  # ChainRowFrame, one per cell
    curves: dict  # key -> CurveFrame (insertion order: per cell influence, perturbation, backward)
    yrange: tuple  # (y0, y1) in decades
    top_clip: float  # +inf is drawn at this value
    ticks: tuple  # ((decade, label), …) of the left axis
    legend: tuple  # ((curve key or "proxy:dash" / "proxy:dot", label), …)
    computing: str | None  # "computing ‖Δh‖/ε …" while the slow curves are missing
    backward: bool
    cell_keys: tuple  # ((key, label), …): the plot items are rebuilt when this changes
    #: per step, the single cell's value label goes below its marker (None: no value label);
    #: it goes where the drawn curve is not: below a falling curve, above a rising one
    label_below: np.ndarray | None = None
    #: (lowest marker with its value label below it, highest with it above), in decades, over
    #: every step (None: no such step): the room the view makes for the label
    label_extent: tuple = (None, None)

    @cached_property
    def legend_corner(self) -> str | None:
        """The corner for a legend of the estimated size (before the view has measured it)."""
        return self.place_legend(None)

    def place_legend(self, share: tuple | None, yrange: tuple | None = None) -> str | None:
        """The corner for a legend of ``share`` = (width, height) of the plot (None: estimated
        from its entries) that covers no curve in the view's ``yrange`` (default: the frame's),
        or None: then it goes above the curves, in the head room :meth:`with_headroom` makes."""
        curves = [c for c in self.curves.values() if c.visible and c.y.size]
        return legend_corner(curves, self.T, self.yrange if yrange is None else yrange, len(self.legend), share)

    def ticks_for(self, yrange: tuple) -> tuple:
        """The left axis's ((decade, label), …) for a view range other than the frame's own."""
        return tuple((v, decade_label(v)) for v in decade_ticks(*yrange))

    def with_headroom(self, share: float, yrange: tuple | None = None) -> tuple:
        """The y range (or ``yrange``) grown at the top so that its top ``share`` holds no curve."""
        y0, y1 = self.yrange if yrange is None else yrange
        share = min(max(share, 0.0), 0.6)
        return (y0, y1 + share * (y1 - y0) / (1.0 - share))

    def label_range(self, share: float, yrange: tuple | None = None) -> tuple:
        """The y range grown so that a value label ``share`` of the plot high fits above (below)
        every marker that has it above (below): at the top of a rising curve there was no room,
        and the label, flipped below the marker, sat on the curve. A side grows by the whole
        ``share`` or not at all, so that the view (and its axis) stays put while a drag moves
        the curve a little. ``yrange``: a range other than the frame's (one a drag holds)."""
        y0, y1 = self.yrange if yrange is None else yrange
        low, high = self.label_extent
        share = min(max(share, 0.0), 0.3)
        widest = (y1 - y0) / (1.0 - 2.0 * share)
        top = high is not None and y1 - high < share * widest
        bottom = low is not None and low - y0 < share * widest
        span = (y1 - y0) / (1.0 - share * (top + bottom))
        return (y0 - share * span if bottom else y0, y1 + share * span if top else y1)

    @property
    def ylabel(self) -> str:
        """The left axis's label: what the curves shown measure."""
        return Y_LABEL_BACKWARD if self.backward else Y_LABEL

    @property
    def compare(self) -> bool:
        return len(self.rows) > 1

    def key(self, row: ChainRowFrame, name: str) -> str:
        return f"{row.label}/{name}" if self.compare else name

    def row(self, label=None) -> ChainRowFrame | None:
        if not self.rows:
            return None
        if label is None:
            return self.rows[0]
        for row in self.rows:
            if label in (row.key, row.label, row.short):
                return row
        raise KeyError(label)

    # ---------------------------------------------------------- tooltips (pure)
    def tooltip(self, t: int, revealed: int) -> str:
        """The plot's hover text at 0-based step ``t``."""
        if not 0 <= t < self.T:
            return ""
        lines = [f"step t = {t + 1}"]
        for row in self.rows:
            prefix = f"{row.label}: " if self.compare else ""
            if t < revealed:
                if row.bad[t]:
                    lines.append(f"{prefix}h is inf/NaN")
                else:
                    lines.append(f"{prefix}‖∂h{sub_digits(t + 1)}/∂x₁‖ = {fmt_value(row.influence[t])}"
                                 f"  ({fmt_percent(row.ratio[t])} of step 1)")
                pert = self.curves.get(self.key(row, "perturbation"))
                if pert is not None and pert.y.size:
                    line = f"{prefix}‖Δh{sub_digits(t + 1)}‖/ε = {fmt_value(pert.y[t])}"
                    if not np.isfinite(pert.shown[t]) and np.isfinite(pert.y[t]):
                        line += ("  (not drawn: h overflowed before)" if row.overflow_from is not None
                                 and t >= row.overflow_from else "  (not drawn: below what float64 can resolve)")
                    lines.append(line)
            back = self.curves.get(self.key(row, "backward"))
            if back is not None and back.visible and back.y.size:
                lines.append(f"{prefix}‖∂h_T/∂h{sub_digits(t + 1)}‖ = {fmt_value(back.y[t])}")
        if t >= revealed:
            lines.insert(1, "not revealed yet")
        return "\n".join(lines)

    def chain_tooltip(self, i: int, t: int, revealed: int) -> str:
        """The chain's hover text over row ``i`` at 0-based step ``t``."""
        row = self.rows[i]
        head = f"{row.label} · step t = {t + 1}"
        if t >= revealed:
            return f"{head}\nnot revealed yet"
        if row.bad[t]:
            where = f" (h overflowed at t = {row.overflow_from + 1})" if row.overflow_from is not None else ""
            return f"{head}\nh is inf/NaN here{where}"
        text = (f"{head}\n‖∂h{sub_digits(t + 1)}/∂x₁‖ = {fmt_value(row.influence[t])}"
                f"\n{fmt_percent(row.ratio[t])} of step 1")
        if row.grew[t]:
            text += f"  ⚠ exploding: over {EXPLODING_RATIO:g}× step 1"
        return text


#: Steps (in decades) the fading plot's y range is rounded out to, the finest first …
RANGE_STEPS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
#: … the finest that cuts the span into at most this many: a run whose x₁ influence falls
#: over 50 decades (Compare at T = 100) crossed a half-decade at nearly every tick of a drag,
#: and each crossing re-laid out the axis, the grid and every curve (~1.5 ms a tick).
RANGE_STEPS_PER_SPAN = 20


def range_step_out(lo: float, hi: float) -> tuple[float, float]:
    """(lo, hi) in decades rounded out to whole steps of :data:`RANGE_STEPS`: half-decades
    for a span up to 10 decades, coarser for wider ones (each end moves out by less than a
    step: half a decade, or at most an eighth of the span)."""
    span = hi - lo
    step = next((s for s in RANGE_STEPS if span <= RANGE_STEPS_PER_SPAN * s), RANGE_STEPS[-1])
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


#: A range a drag holds may leave this share of the curves' own span blank, no more.
HOLD_SLACK = 0.25


def hold_range(held: tuple | None, yrange: tuple) -> tuple:
    """The y range a drag holds: ``held`` (the range held so far, None when nothing is) grown
    to cover ``yrange``, the frame's own; but ``yrange`` itself once that would leave more
    than :data:`HOLD_SLACK` of its span blank. While a slider is dragged a little, the fading
    plot's axis stands still and the curve moves against it (the axis, its grid and every
    curve are laid out again only when a curve leaves the range, or the range is too loose);
    a wide sweep does not squeeze the curves into a corner. It tightens when the drag ends."""
    yrange = tuple(yrange)
    if held is None:
        return yrange
    grown = (min(held[0], yrange[0]), max(held[1], yrange[1]))
    blank = (yrange[0] - grown[0]) + (grown[1] - yrange[1])
    return yrange if blank > HOLD_SLACK * (yrange[1] - yrange[0]) else grown


def fading_frame(result, backward: bool) -> FadingFrame:
    T = int(result.T)
    rows = tuple(chain_row(cr) for cr in result.cells)
    compare = len(rows) > 1

    def key(row, name):
        return f"{row.label}/{name}" if compare else name

    arrays, broke = {}, {}
    for cr, row in zip(result.cells, rows):
        infl = row.influence.copy()
        if row.overflow_from is not None:
            # past an overflow of h the derivative means nothing: end the curve, mark it
            infl[row.overflow_from:] = np.nan
            broke[key(row, "influence")] = row.overflow_from
        arrays[key(row, "influence")] = infl
        arrays[key(row, "perturbation")] = trusted_perturbation(cr.perturbation, cr.trace.h, row.overflow_from)
        arrays[key(row, "backward")] = cr.backward
    finite = [a[np.isfinite(a) & (a > 0)] for k, a in arrays.items()
              if a is not None and (backward or not k.endswith("backward"))]
    finite = np.concatenate(finite) if finite else np.zeros(0)
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (1e-3, 1.0)
    # out to whole steps: while a slider is dragged the curves move and the axis stays (it is
    # redrawn, with its ticks and grid, only when a curve crosses a step)
    llo, lhi = range_step_out(math.log10(lo), math.log10(hi))
    if lhi - llo < 1.0:
        mid = 0.5 * (llo + lhi)
        llo, lhi = mid - 0.5, mid + 0.5
    span = lhi - llo
    y0, y1 = llo - 0.06 * span, lhi + 0.06 * span
    overflow = bool(broke) or any(a is not None and np.isposinf(a).any() for a in arrays.values())
    clip = min(y1, 307.5)
    if overflow:
        y1 = clip + 0.12 * span
    top_clip = 10.0**clip

    curves = {}
    for cr, row in zip(result.cells, rows):
        for name in ("influence", "perturbation", "backward"):
            k = key(row, name)
            a = arrays[k]
            reveal = name != "backward"
            if a is None:
                curves[k] = CurveFrame(k, name, cr.key, np.zeros(0), np.zeros(0), None, reveal,
                                       visible=name != "backward")
                continue
            # the engine's arrays, except the influence masked where h overflowed and the nudge
            # check where it cannot be trusted (tooltips say so)
            y = np.asarray(row.influence if name == "influence" else cr.perturbation if name == "perturbation" else a,
                           np.float64)
            shown = np.array(a, dtype=np.float64)
            pos_inf = np.isposinf(shown)
            shown[pos_inf] = top_clip
            shown[~(shown > 0)] = np.nan  # 0, negatives and NaN: the curve ends or has a gap
            hits = np.flatnonzero(pos_inf)
            at = int(hits[0]) if hits.size else broke.get(k)
            visible = backward and y.size > 0 if name == "backward" else True
            curves[k] = CurveFrame(k, name, cr.key, y, shown, at, reveal, visible)

    legend = []
    if compare:
        legend += [(key(row, "influence"), row.label) for row in rows]
        legend.append(("proxy:dash", "dashed: nudge x₁"))
        if backward:
            legend.append(("proxy:dot", "dotted: ‖∂h<sub>T</sub>/∂h<sub>t</sub>‖ (all t)"))
    elif rows:
        legend += [("influence", "‖∂hₜ/∂x₁‖ (exact)"), ("perturbation", "‖h(x₁+ε) − h(x₁)‖/ε")]
        if backward:
            legend.append(("backward", "‖∂h<sub>T</sub>/∂h<sub>t</sub>‖ backward (all t)"))

    pending = []
    if any(cr.perturbation is None for cr in result.cells):
        pending.append("‖Δh‖/ε")
    if backward and any(cr.backward is None for cr in result.cells):
        pending.append("backward ‖∂h_T/∂hₜ‖")
    computing = "computing " + " and ".join(pending) + " …" if pending else None
    ticks = tuple((v, decade_label(v)) for v in decade_ticks(y0, y1))
    below, extent = None, (None, None)
    if len(rows) == 1:
        infl = np.asarray(rows[0].influence)
        below = infl <= infl[0]  # (NaN compares False: above)
        shown = curves[key(rows[0], "influence")].shown
        marked = np.isfinite(shown) & ~rows[0].bad
        if marked.any():
            ly = np.log10(shown)
            extent = tuple(float(f(ly[marked & side])) if (marked & side).any() else None
                           for f, side in ((np.min, below), (np.max, ~below)))
    return FadingFrame(T, rows, curves, (y0, y1), top_clip, ticks, tuple(legend), computing, bool(backward),
                       tuple((cr.key, cr.label) for cr in result.cells), below, extent)


@dataclass(frozen=True, eq=False)
class FadingStepFrame:
    """The fading panel at the current step: markers, the value label, overflow, status line."""

    current: int  # 0-based current step (clamped)
    revealed: int  # steps drawn
    markers: tuple  # per row: (x, log10 y) of the current-step marker, or None (hidden)
    value_text: str | None  # single cell: "0.042  (4.2 %)" beside the marker
    value_anchor: tuple = (0.0, 0.0)
    value_pos: tuple = (0.0, 0.0)  # (x, decades)
    overflow_xs: tuple = ()  # steps (1-based x) of the overflow markers
    overflow_text: str | None = None
    overflow_anchor: tuple = (0.0, 0.5)
    overflow_pos: tuple = (0.0, 0.0)
    status: Frag = Frag()  # the line above the plot
    #: (the fading frame, the step) the shorter forms are made from when asked
    short_of: tuple | None = field(default=None, repr=False)
    value_short: str | None = None  # the value label without its percentage (the status has it)

    @property
    def value_forms(self) -> tuple:
        """The value label's forms, longest first (a narrow plot may have room for the short one only)."""
        return tuple(t for t in (self.value_text, self.value_short) if t is not None)

    @cached_property
    def status_short(self) -> tuple:
        """Shorter forms of the status line, longest first, for narrow panels: made when a
        panel asks (a wide one never does; three forms at every tick of a Compare drag were
        ~0.2 ms)."""
        if self.short_of is None:
            return ()
        f, cur = self.short_of
        return (_status(f, cur, 1), _status(f, cur, 2))


def fading_step(f: FadingFrame, step: int, reveal_all: bool) -> FadingStepFrame:
    T = f.T
    cur = int(min(max(step, 0), T - 1))
    n = T if reveal_all else cur + 1
    markers, ys = [], []
    for row in f.rows:
        v = f.curves[f.key(row, "influence")].shown[cur] if cur < n else np.nan
        if np.isfinite(v) and v > 0 and not row.bad[cur]:
            markers.append((cur + 1.0, math.log10(v)))  # the plot is in decades
            ys.append(v)
        else:
            markers.append(None)
    value_text, value_short, anchor, pos = None, None, (0.0, 0.0), (0.0, 0.0)
    if len(f.rows) == 1 and ys:
        row = f.rows[0]
        value_short = fmt_value(row.influence[cur])
        value_text = f"{value_short}  ({fmt_percent(row.ratio[cur])})"
        ly = math.log10(ys[0])
        # where the drawn curve is not; the view makes room for it (FadingFrame.label_range)
        right = cur + 1 > 0.6 * T
        below = bool(f.label_below[cur])
        anchor = (1.08 if right else -0.08, -0.15 if below else 1.15)
        pos = (cur + 1.0, ly)

    xs, first, h_broke = [], None, False
    for c in f.curves.values():
        at = c.overflow_at
        if at is not None and (at < n or not c.reveal) and c.visible:
            xs.append(at + 1.0)
            if first is None or at < first:
                first, h_broke = at, not np.isposinf(c.y[at])  # the curve ends where h broke
    o_text, o_anchor, o_pos = None, (0.0, 0.5), (0.0, 0.0)
    if xs:
        ly = math.log10(f.top_clip)
        o_anchor = (1.04 if first + 1 > 0.7 * T else -0.04, 0.5)
        what = "h overflowed at" if h_broke else "overflow (inf) from"
        o_text = f"{what} t = {first + 1}"
        o_pos = (first + 1.0, ly + 0.5 * (f.yrange[1] - ly))
    return FadingStepFrame(cur, n, tuple(markers), value_text, anchor, pos, tuple(xs), o_text, o_anchor, o_pos,
                           _status(f, cur), (f, cur), value_short)


def _status(f: FadingFrame, cur: int, short: int = 0) -> Frag:
    """The status line; ``short`` 1 drops the words a narrow panel cannot hold ("of step 1
    left", "growing:"), 2 keeps only the percentage of x₁ left."""
    t = cur + 1
    parts = []
    for row in f.rows:
        if row.bad[cur]:
            where = row.overflow_from + 1 if row.overflow_from is not None else t
            text = Frag(f"h is inf/NaN (overflowed at t = {where})")
        elif f.compare or short == 2:
            text = Frag(fmt_percent(row.ratio[cur], 1) + (" ⚠" if row.grew[cur] else ""))
            if not f.compare:
                text = Frag(Span(fmt_percent(row.ratio[cur]), bold=True), " of x", Span("1", script="sub"),
                            " left") + (Frag(" ", Span("⚠", role="grew", bold=True)) if row.grew[cur] else Frag())
        else:
            text = Frag("‖∂h", Span(str(t), script="sub", plain=str(t)), "/∂x", Span("1", script="sub"),
                        f"‖ = {fmt_value(row.influence[cur])} \u00a0→\u00a0 ",
                        Span(fmt_percent(row.ratio[cur]), bold=True), "" if short else " of step 1 left")
            if row.grew[cur]:
                text = text + " \u00a0" + Span("⚠ exploding" if short else f"⚠ exploding: over {EXPLODING_RATIO:g}×", role="grew",
                                                bold=True)
            elif short:
                pass
            elif row.influence[cur] == 0:
                text = text + (" (smaller than any float64)" if row.influence[0] > 0 else " (x₁ never reaches h)")
        if f.compare:
            text = Frag(Span(row.short, role=row.colour, bold=True), " ", text)
        parts.append(text)
    out = Frag(Span(f"t = {t}", bold=True), ": ")
    for k, part in enumerate(parts):
        out = out + (" · " if k and f.compare else "") + part
    return out


# ---------------------------------------------------------------- control readouts


@functools.lru_cache(maxsize=64)
def _base_rho(key: str, hidden_size: int, input_size: int, seed: int, overrides: tuple, single_bias: bool,
              loaded, layer: int) -> float:
    # Cells are hashed by identity: the cache holds the loaded model, so its id is never reused.
    s = M.Settings(hidden_size=hidden_size, input_size=input_size, seed=seed, overrides=overrides,
                   single_bias=single_bias)
    if isinstance(loaded, BidirectionalStack):  # a direction of the traced layer
        b = loaded.layers[layer]
        cell = dict(b.directions).get(key, b.forward)
    elif isinstance(loaded, Bidirectional):  # one direction's ρ (the forward one's by default)
        stack = as_stack(dict(loaded.directions).get(key, layers_of(loaded).layers[0]))
        cell = stack.layers[layer]
    elif loaded is not None:
        stack = as_stack(loaded)
        cell = stack.layers[layer]
        if len(stack) == 1:
            cell = M.apply_overrides(cell, overrides)
    else:
        cell = M.apply_overrides(M.base_cell(key, s), overrides)
    return cell.spectral_radius()


def spectral_radius(s: M.Settings, loaded=None, layer: int = -1, key: str | None = None) -> float:
    """ρ(W_hh) of the active cell (or of Compare's cell ``key``) after all sliders.

    The eigenvalues are computed once per cell shape, seed and per-entry weights, and scaled
    by |recurrent scale| afterwards (ρ(sW) = |s|·ρ(W)), so dragging that slider costs nothing.
    """
    key = key or s.kinds[0]
    base = _base_rho(key, s.hidden_size, s.input_size, s.seed, s.overrides, s.single_bias, loaded,
                     layer if loaded is not None else -1)
    return base * abs(s.recurrent_scale)


def rho_prefix(s: M.Settings) -> str:
    if s.cell == "compare":
        return "RNN (tanh): ρ(W_hh)"
    return "ρ(W_hh)" if kind_of(CHOICES[s.cell].kind).blocks == 1 else "ρ(W_hh), largest gate block"


@dataclass(frozen=True)
class RhoReadout:
    """The control panel's ρ(W_hh) line."""

    rho: float
    value: str  # "0.93", "1.40  > 1: h can grow", "∞", "?"
    grows: bool  # shown as a warning

    def text(self, s: M.Settings) -> str:
        return f"{rho_prefix(s)} = {self.value}"


def rho_readout(s: M.Settings, loaded=None, layer: int = -1) -> RhoReadout:
    try:
        rho = spectral_radius(s, loaded, layer)
        text = fixed(rho, 2) if np.isfinite(rho) else "∞"
    except Exception:  # noqa: BLE001 - eigvals of a huge matrix can fail; the readout must not
        rho, text = float("nan"), "?"
    grows = not (np.isfinite(rho) and rho <= 1.0) and text != "?"
    if grows:
        text += "  > 1: h can grow"
    return RhoReadout(rho, text, grows)


#: Slider range of a per-entry weight or bias.
ENTRY_RANGE = (-3.0, 3.0)
ENTRY_GATE_NAMES = {n: f"{GATE_NAMES[n]} {n}" for n in _GATES}
MATRIX_TITLES = {
    "W_ih": "W_ih — input weights (x → h)",
    "W_hh": "W_hh — recurrent weights (h → h)",
    "b_ih": "b_ih — input bias",
    "b_hh": "b_hh — recurrent bias",
    "b": "b — bias",
}


@dataclass(frozen=True)
class EntrySlider:
    """One per-entry slider: which entry it sets, its label, tooltip and current value."""

    param: str
    row: int
    col: int
    label: str  # "W_hz[0,1]"
    group: str  # the matrix it belongs to: W_ih, W_hh, b_ih, b_hh or b (a single bias)
    tooltip: str
    value: float


@dataclass(frozen=True)
class EntryReadout:
    """The "Single weights" section: one slider per entry of a small cell, or why there are none."""

    hint: str
    sliders: tuple  # EntrySlider; empty when the cell is too big, a stack, or Compare mode
    layout: tuple | None  # the sliders are rebuilt only when this changes

    def group_title(self, group: str) -> str:
        return MATRIX_TITLES[group]


def editable_cell(s: M.Settings, loaded=None):
    """The active single cell before the group sliders (what per-entry sliders edit), or None."""
    if s.cell == "compare":
        return None
    if is_bidirectional(loaded):
        return None
    if loaded is not None:
        stack = as_stack(loaded)
        return M.apply_overrides(stack.layers[0], s.overrides) if len(stack) == 1 else None
    return M.apply_overrides(M.base_cell(s.cell, s), s.overrides)


def entry_count(s: M.Settings, loaded=None) -> int | None:
    """How many parameters the per-entry sliders would need, without building the cell."""
    if s.cell == "compare":
        return None
    if is_bidirectional(loaded):
        return None
    if loaded is not None:
        stack = as_stack(loaded)
        return stack.layers[0].n_params if len(stack) == 1 else None
    G = kind_of(CHOICES[s.cell].kind).blocks
    return G * s.hidden_size * (s.input_size + s.hidden_size + 2)


def entry_readout(s: M.Settings, loaded=None, loaded_name: str | None = None) -> EntryReadout:
    n = entry_count(s, loaded)
    cell = editable_cell(s, loaded) if n is not None and n <= M.MAX_ENTRY_SLIDERS else None
    if cell is None:
        if s.cell == "compare":
            hint = "One slider per weight is available for a single cell, not in Compare mode."
        elif is_bidirectional(loaded):
            hint = "One slider per weight is available for one direction, not for a bidirectional layer."
        elif n is None:
            hint = "One slider per weight is available for a single layer, not for a stack."
        else:
            hint = (f"This cell has {n:,} weights and biases; one slider per entry appears at "
                    f"≤ {M.MAX_ENTRY_SLIDERS}. Try the seed example or H = 2.")
        return EntryReadout(hint, (), None)
    names = M.entry_names(cell)
    H = cell.hidden_size
    gates = cell.gates
    sliders = []
    for param, r, col, label in names:
        group = "b" if (param == "b_ih" and not cell.recurrent_bias) else param
        feeds = ENTRY_GATE_NAMES[gates[r // H]] + f" of unit {r % H}" if gates else f"unit {r % H} of h"
        if param == "W_ih":
            tip = f"{label}: weight from input x[{col}] into the {feeds}."
        elif param == "W_hh":
            tip = f"{label}: weight from h[{col}] of the previous step into the {feeds}."
        else:
            tip = f"{label}: bias of the {feeds}."
        tip += f"\nRange {fixed(ENTRY_RANGE[0])} … {fixed(ENTRY_RANGE[1])}."
        arr = getattr(cell, param)
        value = float(arr[r, col] if arr.ndim == 2 else arr[r])
        sliders.append(EntrySlider(param, r, col, label, group, tip, value))
    hint = f"{len(names)} entries of the cell before the scale sliders above. Hover for the gate each feeds."
    layout = (cell.kind, cell.nonlinearity, cell.recurrent_bias, tuple(n[3] for n in names), loaded_name)
    return EntryReadout(hint, tuple(sliders), layout)


# ---------------------------------------------------------------- the frame


@dataclass(frozen=True, eq=False)
class ResultFrame:
    """The step-independent part of a frame, made lazily, once per result."""

    result: object  # model.Result
    loaded: object = None  # the loaded model (ρ is of its layer before the sliders), or None
    layer: int = -1
    _fading: dict = field(default_factory=dict, repr=False)  # backward flag -> FadingFrame

    @cached_property
    def state(self) -> StateFrame:
        return state_frame(self.result)

    @cached_property
    def gates(self) -> GateFrame:
        return gate_frame(self.result)

    def fading(self, backward: bool) -> FadingFrame:
        f = self._fading.get(bool(backward))
        if f is None:
            f = self._fading[bool(backward)] = fading_frame(self.result, bool(backward))
        return f

    @cached_property
    def symbols(self) -> tuple | None:
        """The character each step reads when the input is text (every time axis shows them)."""
        from .text import symbols

        return symbols(self.result.settings)

    def symbols_of(self, cell_label: str | None) -> tuple | None:
        """The characters under the step axis of the run labelled ``cell_label``: a
        bidirectional layer's backward run reads them last first. ``None`` (an axis every run
        shares) gets them only when all runs read in the input's order."""
        syms = self.symbols
        if syms is None:
            return None
        backward = [cr.label for cr in self.result.cells if cr.key == "backward"]
        if cell_label is None:
            return None if backward else syms
        return tuple(reversed(syms)) if cell_label in backward else syms

    @cached_property
    def rho_key(self) -> tuple:
        """What ρ depends on: the readout is refreshed only when this changes."""
        s = self.result.settings
        return (s.replace(T=1, signal="impulse", amplitude=1.0, period=12.0, custom=(), backward=False),
                self.loaded, self.layer)

    @cached_property
    def rho_cheap(self) -> bool:
        """ρ costs little enough to refresh during a slider drag."""
        cell = self.result.cells[0].cell
        return kind_of(cell).blocks * cell.hidden_size ** 3 <= RHO_SYNC_COST

    @cached_property
    def rho(self) -> RhoReadout:
        return rho_readout(self.result.settings, self.loaded, self.layer)


@dataclass(frozen=True, eq=False)
class Frame:
    """Everything every panel draws for one result and view state. Immutable; derive new ones
    with :meth:`at_step`, :meth:`with_unit`, :meth:`with_view` (they share the result part)."""

    base: ResultFrame
    view: ViewState

    @property
    def result(self):
        return self.base.result

    @property
    def T(self) -> int:
        return int(self.base.result.T)

    @property
    def H(self) -> int:
        return int(self.base.result.cells[0].trace.H)

    @property
    def step(self) -> int:
        """The current step, clamped to the run."""
        return int(min(max(self.view.step, 0), self.T - 1))

    @property
    def unit(self) -> int:
        return int(min(max(self.view.unit, 0), self.H - 1))

    @property
    def symbols(self) -> tuple | None:
        return self.base.symbols

    def symbols_of(self, cell_label: str | None) -> tuple | None:
        return self.base.symbols_of(cell_label)

    @property
    def revealed(self) -> int:
        """How many steps are drawn."""
        return self.T if self.view.reveal_all else self.step + 1

    # panels
    @property
    def state(self) -> StateFrame:
        return self.base.state

    @property
    def gates(self) -> GateFrame:
        return self.base.gates

    @cached_property
    def gate_step(self) -> GateStepFrame:
        return gate_step(self.base.gates, self.step)

    @property
    def fading(self) -> FadingFrame:
        return self.base.fading(self.view.backward)

    @cached_property
    def fading_step(self) -> FadingStepFrame:
        return fading_step(self.fading, self.step, self.view.reveal_all)

    @cached_property
    def equation(self) -> EquationFrame | None:
        cr = self.equation_cell
        if cr is None:
            return None
        return equation_frame(cr, self.view.step, self.view.unit, tabs=len(self.result.cells))

    @property
    def equation_cell(self):
        """The cell result the equation panel explains (Compare: the chosen tab, else the first)."""
        cells = self.result.cells
        if not cells:
            return None
        return next((cr for cr in cells if cr.key == self.view.equation_key), cells[0])

    @property
    def rho(self) -> RhoReadout:
        return self.base.rho

    # derived frames
    def with_view(self, **changes) -> "Frame":
        view = self.view.replace(**changes)
        return self if view == self.view else Frame(self.base, view)

    def at_step(self, step: int) -> "Frame":
        return self.with_view(step=int(step))

    def with_unit(self, unit: int) -> "Frame":
        return self.with_view(unit=int(unit))


def build_frame(result, view: ViewState | None = None, loaded=None, layer: int = -1,
                previous: Frame | None = None) -> Frame:
    """The frame of ``result`` seen as ``view``. Cheap: each panel's part is made when asked for.

    With ``previous``, the heatmap parts are shared when ``result`` holds the very same state
    and gate arrays (the slow curves of a run arriving after its fast part): the panels that
    draw them then see the same part and do not redraw.
    """
    base = ResultFrame(result, loaded, layer)
    if previous is not None and _same_arrays(previous.result, result):
        for part in ("state", "gates"):
            if part in previous.base.__dict__:  # cached_property's slot
                base.__dict__[part] = previous.base.__dict__[part]
    return Frame(base, view or ViewState())


def _same_arrays(a, b) -> bool:
    if a is None or len(a.cells) != len(b.cells):
        return False
    for x, y in zip(a.cells, b.cells):
        tx, ty = x.trace, y.trace
        if (x.key, x.label, x.levels) != (y.key, y.label, y.levels) or tx.h is not ty.h or tx.c is not ty.c:
            return False
        if tx.gates.keys() != ty.gates.keys() or any(tx.gates[g] is not ty.gates[g] for g in tx.gates):
            return False
    return True


__all__ = [
    "ViewState", "Frame", "ResultFrame", "build_frame", "HeatmapFrame", "StateFrame", "GateFrame", "GateCellFrame",
    "GateStepFrame", "FadingFrame", "FadingStepFrame", "ChainRowFrame", "CurveFrame", "RhoReadout", "EquationFrame",
    "EntryReadout", "EntrySlider", "entry_readout", "editable_cell", "display_image", "chain_shade", "short_label", "spectral_radius", "rho_readout", "rho_prefix", "MAX_COLUMNS",
    "CHAIN_DECADES", "GATE_TEXT", "GATE_SHORT_TEXT", "GATE_NAMES", "GATE_ORDER", "CANDIDATES",
]
