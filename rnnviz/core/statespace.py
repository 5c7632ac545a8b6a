"""The state-space view's frame: the hidden state's path through its space, ready to draw. No Qt.

For H = 2 the plane is the exact (h₁, h₂): the path h_0 → h_1 → … → h_T, the flow field
f(h) − h of the map h ↦ f(h, x_t) for the current step's input x_t, and that map's fixed points
with their stability (:mod:`rnnviz.engine.statespace`). A kind with a cell state (the LSTM)
steps (h, c), four numbers: its fixed points are those of the whole (h, c) map, drawn at their
h, and there is no flow field, since the arrows in the h-plane would depend on c. For H > 2
the paths are projected on their first two principal components, with the explained variance
on the axes; optionally with a few noisy variants of the input on the same axes.

:func:`statespace_frame` makes a :class:`StateSpaceFrame` from a :class:`~rnnviz.core.frames.Frame`.
The part that depends on the result only (paths, principal axes, ranges) is made once per
result; the fixed points and the flow field once per distinct input x_t.
"""

from __future__ import annotations

import math
import warnings
import weakref
from dataclasses import dataclass

import numpy as np

from ..engine import NonFiniteWarning, run
from ..engine.cells import kind_of
from ..engine.statespace import SADDLE, STABLE, UNSTABLE, default_starts, fixed_points, flow_field, pca
from .format import fixed, fmt_value, sub_digits

__all__ = ["FixedPointFrame", "PathFrame", "StateSpaceFrame", "statespace_frame", "FLOW_GRID", "MAX_LABELS",
           "VARIANTS", "VARIANT_NOISE"]

#: Arrows of the flow field per side of the plane.
FLOW_GRID = 17
#: At most this many step numbers along a path (every k-th step beyond).
MAX_LABELS = 16
#: Noisy copies of the input the H > 2 view can project with the path (seeds 1…VARIANTS).
VARIANTS = 4
#: Their noise, as a fraction of the input's largest |value| (at least 0.3 in absolute terms).
VARIANT_NOISE = 0.3
#: The variants are left out above this many multiply-adds (T·G·H·(H + D) per run).
VARIANT_COST = 3e6
#: Margin around the data, as a fraction of its extent.
PAD = 0.08
#: PCA's axes end on a grid whose step is at most this fraction of their extent (:func:`_on_grid`).
PCA_GRID = 1 / 5

LABELS = {STABLE: "stable", SADDLE: "saddle", UNSTABLE: "unstable"}


@dataclass(frozen=True, eq=False)
class PathFrame:
    """One sequence's states in the view's coordinates: row t is h_t, t = 0 … T (NaN where not finite)."""

    key: str  # the cell's key ("rnn_tanh"); a variant's "rnn_tanh/noise 1"
    label: str
    colour: str  # role: "cell:gru"
    xy: np.ndarray  # (T + 1, 2) float64
    variant: bool = False


@dataclass(frozen=True, eq=False)
class FixedPointFrame:
    xy: tuple  # (x, y) in the view's coordinates
    stability: str  # "stable", "saddle" or "unstable"
    colour: str  # role of the cell's colour ("cell:lstm"); single mode: "foreground"
    text: str  # its tooltip: where, the eigenvalues
    state: np.ndarray  # the engine's s* (h, or h and c)


@dataclass(frozen=True, eq=False)
class StateSpaceFrame:
    """What the state-space panel draws. Coordinates are data units; ranges are finite."""

    mode: str  # "plane" (H = 2), "pca" (H > 2) or "none" (nothing to draw: ``message`` says why)
    title: str
    xlabel: str
    ylabel: str
    xrange: tuple
    yrange: tuple
    paths: tuple = ()  # PathFrame, the main ones (one, or three in Compare)
    variants: tuple = ()  # PathFrame of the noisy inputs (H > 2 with the toggle on)
    revealed: int = 0  # points drawn from each path: h_0 … h_{revealed−1}
    current: int = 0  # the highlighted point: h_t of the current step t
    labels: tuple = ()  # (index, text) of the numbered points
    arrows: np.ndarray | None = None  # (N, 2) float64 segment ends, in pairs (shaft, two head strokes)
    fixed: tuple = ()  # FixedPointFrame
    status: str = ""  # one line over the plot: the map, its input, what was found
    note: str = ""  # a second line: what the plane shows and does not (LSTM, Compare, PCA)
    message: str = ""  # shown instead of the plot when mode is "none"
    can_vary: bool = False  # the "several inputs" toggle applies

    def counts(self) -> dict:
        out = {k: 0 for k in LABELS.values()}
        for p in self.fixed:
            out[p.stability] += 1
        return out


# ---------------------------------------------------------------- the result part

@dataclass(eq=False)
class _ResultPart:
    mode: str
    paths: tuple
    variants: tuple
    xrange: tuple
    yrange: tuple
    xlabel: str
    ylabel: str
    bounded: bool
    note: str
    message: str = ""
    can_vary: bool = False
    maps: dict = None  # x bytes → (fixed point frames, arrows, ranges)
    spans: tuple = None  # PCA: the data's (x, y) extents, padded; the view's ranges end on a grid


_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _states(trace) -> np.ndarray:
    """h_0 … h_T of the traced layer, float64 (T + 1, H)."""
    rec = trace.records[trace.layer] if trace.records else None
    h0 = np.zeros(trace.H) if rec is None else np.asarray(rec.h0, dtype=np.float64)
    return np.concatenate([h0[None, :], np.asarray(trace.h, dtype=np.float64)], axis=0)


def _layer_inputs(trace) -> np.ndarray:
    """x_1 … x_T as the traced layer reads them (a stack's upper layer reads the one below)."""
    rec = trace.records[trace.layer] if trace.records else None
    return np.asarray(trace.xs if rec is None else rec.x, dtype=np.float64)


def _finite(xy: np.ndarray) -> np.ndarray:
    out = np.array(xy, dtype=np.float64)
    out[~np.all(np.isfinite(out), axis=1)] = np.nan
    return out


def _span(values, lo=None, hi=None) -> tuple:
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    a = float(v.min()) if v.size else -1.0
    b = float(v.max()) if v.size else 1.0
    if lo is not None:
        a, b = min(a, lo), max(b, hi)
    big = float(np.finfo(np.float32).max) / 4
    a, b = max(a, -big), min(b, big)
    if not b - a > 1e-9 * max(1.0, abs(a), abs(b)):
        mid = 0.5 * (a + b)
        half = max(1.0, abs(mid)) * 0.5
        a, b = mid - half, mid + half
    pad = PAD * (b - a)
    return (a - pad, b + pad)


def _on_grid(r: tuple, share: float = PCA_GRID) -> tuple:
    """``r`` widened to multiples of the largest round step (1, 2 or 5 × 10^k) of at most
    ``share`` of its extent. As the fading plot's half-decades: while a slider is dragged the
    projected path moves and the axes stay, drawn again with their ticks only when the path
    crosses a grid line (with ranges new at every tick, both axes were drawn and laid out again
    at every tick, ~4 ms of each)."""
    a, b = r
    raw = (b - a) * share
    e = 10.0 ** math.floor(math.log10(raw))
    step = max((m * e for m in (1.0, 2.0, 5.0) if m * e <= raw), default=e / 2)  # log10 rounded up
    return (math.floor(a / step) * step, math.ceil(b / step) * step)


def _variant_inputs(xs: np.ndarray, seed: int) -> np.ndarray:
    scale = max(VARIANT_NOISE * float(np.max(np.abs(xs))) if xs.size else 0.0, VARIANT_NOISE)
    return xs + scale * np.random.default_rng(seed).normal(size=xs.shape)


def _result_part(frame, variants: bool) -> _ResultPart:
    result = frame.result
    cells = result.cells
    H = int(cells[0].trace.H)
    compare = len(cells) > 1
    states = [_states(cr.trace) for cr in cells]
    keys = [(cr.key, cr.label, f"cell:{cr.key}") for cr in cells]
    bounded = all(tuple(cr.h_levels()) == (-1.0, 1.0) for cr in cells)
    if H < 2:
        return _ResultPart("none", (), (), (-1, 1), (-1, 1), "", "", bounded, "",
                           message="One hidden unit: the state is a single number, not a plane. "
                                   "Set Hidden size to 2 to see the state space.", maps={})
    if H == 2:
        paths = tuple(PathFrame(k, label, colour, _finite(s)) for (k, label, colour), s in zip(keys, states))
        lo, hi = (-1.0, 1.0) if bounded else (None, None)
        xr = _span([p.xy[:, 0] for p in paths], lo, hi)
        yr = _span([p.xy[:, 1] for p in paths], lo, hi)
        notes = []
        if any(kind_of(cr.cell).has_cell_state for cr in cells):
            notes.append("LSTM: the state is (h, c); the plane shows h, the fixed points are the whole (h, c) "
                         "map's, drawn at their h, and there is no flow field (it would depend on c).")
        if compare:
            notes.append("Compare: each cell's path and fixed points; no flow field (three different maps).")
        return _ResultPart("plane", paths, (), xr, yr, "h₁", "h₂", bounded, " ".join(notes), maps={})
    # H > 2: principal components of every path shown (and its variants), on the same axes
    extra = []
    cost = sum(result.T * kind_of(cr.cell).blocks * H * (H + cr.cell.input_size) for cr in cells)
    can_vary = cost * VARIANTS <= VARIANT_COST
    if variants and can_vary:
        for cr in cells:
            xs = np.asarray(cr.trace.xs, dtype=np.float64)
            for k in range(1, VARIANTS + 1):
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", NonFiniteWarning)
                    tr = run(cr.trace.model, _variant_inputs(xs, k), influence=False, layer=cr.trace.layer)
                extra.append((cr.key, cr.label, k, _states(tr)))
    p = pca(np.concatenate(states + [e[3] for e in extra], axis=0))
    paths = tuple(PathFrame(k, label, colour, _finite(p.project(s))) for (k, label, colour), s in zip(keys, states))
    var = tuple(PathFrame(f"{key}/noise {k}", f"{label}, noisy input {k}", f"cell:{key}", _finite(p.project(s)),
                          True) for key, label, k, s in extra)
    allxy = [q.xy for q in paths + var]
    spans = (_span([a[:, 0] for a in allxy]), _span([a[:, 1] for a in allxy]))
    xr, yr = _on_grid(spans[0]), _on_grid(spans[1])
    ev = p.explained
    what = "the path" if not extra else f"the path and {VARIANTS} noisy inputs"
    note = (f"H = {H}: {what} projected on its first two principal components "
            f"({fixed(100 * float(ev.sum()), 0)} % of the variance)")
    if compare:
        note += "; the three cells' paths share the axes"
    return _ResultPart("pca", paths, var, xr, yr, f"PC1 ({fixed(100 * float(ev[0]), 0)} % of variance)",
                       f"PC2 ({fixed(100 * float(ev[1]), 0)} %)", bounded, note + ".", can_vary=can_vary, maps={},
                       spans=spans)


# ---------------------------------------------------------------- the step part

def _arrows(cell, x, xr, yr, n: int = FLOW_GRID) -> np.ndarray:
    """The flow field's arrows on an n × n grid, as segment pairs: a shaft and two head strokes per grid point.

    Lengths grow as √|f(h) − h| (slow regions near a fixed point stay visible), the longest
    0.85 of the grid spacing; the plane's aspect is locked, so heads can be drawn in data units.
    """
    g1 = np.linspace(xr[0], xr[1], n + 2)[1:-1]
    g2 = np.linspace(yr[0], yr[1], n + 2)[1:-1]
    F = flow_field(cell, x, g1, g2).reshape(-1, 2)
    X, Y = np.meshgrid(g1, g2)
    P = np.column_stack([X.ravel(), Y.ravel()])
    mag = np.hypot(F[:, 0], F[:, 1])
    ok = np.isfinite(mag) & (mag > 0)
    if not ok.any():
        return np.zeros((0, 2))
    P, F, mag = P[ok], F[ok], mag[ok]
    spacing = min(g1[1] - g1[0], g2[1] - g2[0]) if n > 1 else 1.0
    length = 0.85 * spacing * np.sqrt(mag / mag.max())
    u = F / mag[:, None]
    tail = P - 0.5 * length[:, None] * u
    tip = P + 0.5 * length[:, None] * u
    head = 0.3 * length[:, None]
    back = tip - head * u
    perp = np.column_stack([-u[:, 1], u[:, 0]]) * (0.55 * head)
    segs = np.stack([tail, tip, tip, back + perp, tip, back - perp], axis=1)
    return np.ascontiguousarray(segs.reshape(-1, 2))


def _eig_text(ev) -> str:
    parts = []
    for lam in ev:
        if abs(lam.imag) > 1e-12:
            parts.append(f"{fixed(lam.real, 2)} {'+' if lam.imag > 0 else '−'} {fixed(abs(lam.imag), 2)}i")
        else:
            parts.append(fixed(lam.real, 2))
    mags = ", ".join(fixed(abs(lam), 2) for lam in ev)
    return f"eigenvalues of the Jacobian: {', '.join(parts)} (|λ| = {mags})"


def _point_frames(cr, compare, fps) -> list:
    out = []
    H = cr.cell.hidden_size
    for p in fps:
        h = p.state[:H]
        where = f"h* = ({fixed(h[0], 3)}, {fixed(h[1], 3)})"
        if p.state.shape[0] > H:
            where += f", c* = ({fixed(p.state[H], 3)}, {fixed(p.state[H + 1], 3)})"
        rule = {STABLE: "every |λ| < 1: nearby states are pulled in",
                SADDLE: "some |λ| > 1, some < 1: attracts along one direction, repels along another",
                UNSTABLE: "every |λ| > 1: nearby states are pushed away"}[p.stability]
        prefix = f"{cr.label}: " if compare else ""
        text = f"{prefix}{LABELS[p.stability]} fixed point {where}\n{_eig_text(p.eigenvalues)}\n{rule}"
        out.append(FixedPointFrame((float(h[0]), float(h[1])), p.stability,
                                   f"cell:{cr.key}" if compare else "foreground", text, p.state))
    return out


def _map_part(part: _ResultPart, frame, x: np.ndarray, grid: int):
    key = (x.tobytes(), grid)
    got = part.maps.get(key)
    if got is not None:
        return got
    cells = frame.result.cells
    compare = len(cells) > 1
    points = []
    arrows = None
    for cr, path in zip(cells, part.paths):
        cell = cr.cell
        finite = path.xy[np.all(np.isfinite(path.xy), axis=1)]
        around = None
        if not kind_of(cell).has_cell_state and finite.shape[0]:
            around = finite[:: max(1, finite.shape[0] // 16)]  # the path's own neighbourhood too
        fps = fixed_points(cell, x, default_starts(cell, around=around))
        points += _point_frames(cr, compare, fps)
    xr, yr = part.xrange, part.yrange
    if not part.bounded and points:  # unbounded h: the plane must also hold the fixed points
        xr = _union(xr, [p.xy[0] for p in points])
        yr = _union(yr, [p.xy[1] for p in points])
    if not compare and not kind_of(cells[0].cell).has_cell_state:
        arrows = _arrows(cells[0].cell, x, xr, yr, grid)
    got = part.maps[key] = (tuple(points), arrows, xr, yr)
    if len(part.maps) > 64:  # a long noisy input: keep the newest few
        part.maps.pop(next(iter(part.maps)))
    return got


def _union(r: tuple, values) -> tuple:
    v = [float(a) for a in values if math.isfinite(a)]
    if not v:
        return r
    lo, hi = min(v), max(v)
    if r[0] <= lo and hi <= r[1]:
        return r
    pad = PAD * (max(hi, r[1]) - min(lo, r[0]))
    return (min(r[0], lo - pad), max(r[1], hi + pad))


def _input_text(x: np.ndarray, t: int) -> str:
    name = f"x{sub_digits(t)}"
    if x.shape[0] == 1:
        return f"{name} = {fmt_value(float(x[0]))}"
    shown = ", ".join(fmt_value(float(v)) for v in x[:3]) + (", …" if x.shape[0] > 3 else "")
    return f"{name} = ({shown})"


def _labels(xy: np.ndarray, n: int, T: int, xr: tuple, yr: tuple) -> tuple:
    """(index, text) of the step numbers to draw: every k-th step (at most MAX_LABELS), the
    newest first, leaving out a number whose point sits on one already labelled (a path
    that settles on an attractor piles its last steps up there)."""
    every = max(1, math.ceil((T + 1) / MAX_LABELS))
    near = (0.045 * (xr[1] - xr[0])) ** 2, (0.045 * (yr[1] - yr[0])) ** 2
    kept = []
    for k in [n - 1] + [k for k in range(n - 2, -1, -1) if k % every == 0 or k == 1]:
        x, y = xy[k]
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        if all((x - a) ** 2 / near[0] + (y - b) ** 2 / near[1] > 1.0 for a, b in (xy[j] for j in kept)):
            kept.append(k)
    return tuple((k, str(k)) for k in sorted(kept))


def statespace_frame(frame, variants: bool = False, grid: int = FLOW_GRID) -> StateSpaceFrame:
    """The state-space view of ``frame`` (a :class:`~rnnviz.core.frames.Frame`); ``variants``
    adds the noisy inputs to an H > 2 projection; ``grid`` is the flow field's arrows per side."""
    by = _CACHE.setdefault(frame.base, {})
    part = by.get(bool(variants))
    if part is None:
        part = by[bool(variants)] = _result_part(frame, bool(variants))
    T = frame.T
    step = frame.step
    if part.mode == "none":
        return StateSpaceFrame("none", "State space", "", "", part.xrange, part.yrange, message=part.message)
    revealed = frame.revealed + 1  # h_0 and the revealed steps
    current = step + 1
    cells = frame.result.cells
    main = part.paths[0].xy
    if part.mode == "pca":
        labels = _labels(main, revealed, T, *part.spans)  # which steps are numbered: the data's extent
        return StateSpaceFrame("pca", "State space (PCA)", part.xlabel, part.ylabel,
                               part.xrange, part.yrange, part.paths, part.variants if variants else (), revealed,
                               current, labels, status=f"t = {current} of {T}", note=part.note,
                               can_vary=part.can_vary)
    x = _layer_inputs(cells[0].trace)[step]
    points, arrows, xr, yr = _map_part(part, frame, x, int(grid))
    labels = _labels(main, revealed, T, xr, yr)
    counts = {k: 0 for k in LABELS}
    for p in points:
        counts[p.stability] += 1
    found = ", ".join(f"{n} {LABELS[k]}" for k, n in counts.items() if n) or "no fixed point found"
    status = f"{_input_text(x, current)}: {found}"
    return StateSpaceFrame("plane", "State space", part.xlabel, part.ylabel, xr, yr, part.paths, (),
                           revealed, current, labels, arrows, tuple(points), status, part.note)
