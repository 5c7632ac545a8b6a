"""Text along the time axis: the characters a run reads, the reading view's frame, and
LSTMVis's "find units by pattern". No Qt.

When the input is text (a character model's one-hot rows), :attr:`Settings.text
<rnnviz.core.model.Settings.text>` holds the character each row stands for. Every time axis
can then be labelled with them (:func:`symbols`, :func:`time_ticks`); the reading view shows
the text as lines with each character on the colour of one unit's h_t (:func:`text_frame`);
and :func:`rank_units` lists the units that are high inside a selected span and low elsewhere,
as LSTMVis's pattern search does offline (Strobelt et al., 2018), fast enough to follow a
selection as it is dragged over a 10,000-character text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The longest text the reading view reads (characters, = steps of one run).
MAX_TEXT = 10_000
#: How a character that has no glyph of its own is shown (the time axes and the reading view).
VISIBLE = {"\n": "↵", "\t": "⇥", " ": "␣", "\r": "␍"}
#: Units :func:`rank_units` lists by default.
TOP_UNITS = 8


def visible(ch: str) -> str:
    """``ch`` as it can be read on an axis or in a tooltip (a space is ␣, a newline ↵)."""
    if ch in VISIBLE:
        return VISIBLE[ch]
    if not ch or not ch.isprintable():
        return f"\\x{ord(ch[0]):02x}" if ch else ""
    return ch


def symbols(settings) -> tuple[str, ...] | None:
    """The character each step of a run with ``settings`` reads, or None when the input is not
    text. Steps past the end of the text read zeros and get ""."""
    text = getattr(settings, "text", "")
    if settings.signal != "custom" or not text:
        return None
    n = min(len(text), len(settings.custom))
    return tuple(text[t] if t < n else "" for t in range(int(settings.T)))


def decode_one_hot(xs, chars) -> str | None:
    """The text a (T, V) one-hot sequence spells in the vocabulary ``chars`` (index → char),
    or None if some row is not one-hot."""
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 2 or xs.shape[1] != len(chars) or not len(xs):
        return None
    hot = np.argmax(xs, axis=1)
    ok = np.all((xs == 0.0) | (xs == 1.0), axis=1) & (xs.sum(axis=1) == 1.0)
    if not ok.all():
        return None
    return "".join(chars[int(k)] for k in hot)


def one_hot(text: str, chars) -> np.ndarray:
    """``text`` as (T, V) one-hot rows in the vocabulary ``chars``. Raises ValueError naming the
    characters the vocabulary lacks (at most five of them)."""
    index = {c: k for k, c in enumerate(chars)}
    missing = sorted({c for c in text if c not in index})
    if missing:
        shown = ", ".join(repr(visible(c)) for c in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise ValueError(f"the model's {len(chars)} characters lack {len(missing)} used in the text: {shown}")
    xs = np.zeros((len(text), len(chars)), dtype=np.float64)
    xs[np.arange(len(text)), [index[c] for c in text]] = 1.0
    return xs


def time_ticks(syms, first: int, last: int, room: int) -> list[tuple[int, str]]:
    """Tick positions (1-based steps) and labels for a time axis showing steps ``first`` …
    ``last`` (1-based) with room for about ``room`` labels: every character when they fit,
    else every k-th with its step number before it ("40 e")."""
    first, last = max(1, int(first)), min(len(syms), int(last))
    n = last - first + 1
    if n <= 0:
        return []
    if n <= max(room, 1):
        return [(t, visible(syms[t - 1])) for t in range(first, last + 1)]
    k = int(np.ceil(n / max(room, 1)))
    k = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 10**9) if s >= k)
    start = first + (-first) % k if first % k else first
    return [(t, f"{t} {visible(syms[t - 1])}".rstrip()) for t in range(start, last + 1, k)]


@dataclass(frozen=True)
class UnitMatch:
    """One unit's fit to a selected span: ``score`` in [−1, 1] is the mean of h inside minus
    the mean elsewhere, over the unit's whole range of values along the text; ``inside`` and
    ``outside`` are those means; ``separated`` is the share of steps outside the span whose
    value is below the lowest value inside it (1.0: the span is the only place that high)."""

    unit: int
    score: float
    inside: float
    outside: float
    separated: float


def rank_units(h, start: int, stop: int, top: int | None = TOP_UNITS) -> list[UnitMatch]:
    """The units of ``h`` (T, H) that are high on steps ``start`` … ``stop − 1`` (0-based) and
    low elsewhere, best first (``top`` of them; None: all). A constant unit scores 0. Empty
    when the span is empty or covers every step."""
    T = np.shape(h)[0]
    mask = np.zeros(T, dtype=bool)
    mask[max(0, int(start)):max(0, min(T, int(stop)))] = True
    return rank_mask(h, mask, top)


def rank_mask(h, inside, top: int | None = TOP_UNITS) -> list[UnitMatch]:
    """:func:`rank_units` for any set of steps: ``inside`` is a (T,) bool mask (several
    occurrences of a pattern, say)."""
    h = np.asarray(h, dtype=np.float64)
    inside = np.asarray(inside, dtype=bool)
    n = int(inside.sum())
    if n == 0 or n == len(inside):
        return []
    hi, ho = h[inside], h[~inside]
    with np.errstate(invalid="ignore", divide="ignore"):
        # the plain reductions, twice as fast; the NaN-skipping ones only when a NaN shows up
        span = h.max(axis=0) - h.min(axis=0)
        m_in, m_out, low = hi.mean(axis=0), ho.mean(axis=0), hi.min(axis=0)
        if np.isnan(span).any() or np.isnan(m_in).any() or np.isnan(m_out).any():
            span = np.nanmax(h, axis=0) - np.nanmin(h, axis=0)
            m_in, m_out, low = np.nanmean(hi, axis=0), np.nanmean(ho, axis=0), np.nanmin(hi, axis=0)
        score = np.where(span > 0, (m_in - m_out) / np.where(span > 0, span, 1.0), 0.0)
        separated = np.mean(ho < low[None, :], axis=0)
    score = np.nan_to_num(score, nan=0.0)
    order = np.lexsort((np.arange(h.shape[1]), -separated, -score))  # score, then separation, then unit
    if top is not None:
        order = order[: int(top)]
    return [UnitMatch(int(u), float(score[u]), float(m_in[u]), float(m_out[u]), float(separated[u])) for u in order]


def next_char_probs(model, h) -> np.ndarray:
    """softmax(W_hy h_t + b_y) per step: a trained character model's (engine.train.Model)
    probabilities of each next character, (T, V)."""
    from ..engine.train.output import softmax

    return softmax(model.fc.logits(np.asarray(h, dtype=np.float64)))


def occurrences(text: str, pattern: str, limit: int = 1000) -> list[int]:
    """0-based starts of ``pattern`` in ``text`` (overlapping ones too), at most ``limit``."""
    if not pattern:
        return []
    out, k = [], text.find(pattern)
    while k >= 0 and len(out) < limit:
        out.append(k)
        k = text.find(pattern, k + 1)
    return out


@dataclass(frozen=True, eq=False)
class TextFrame:
    """The reading view for one run and view state.

    ``chars`` one per step; ``values`` (T,) the unit's h_t; ``levels`` the colour scale (the
    heatmaps' symmetric one); ``revealed`` steps are coloured, the others plain; ``current`` the
    0-based current step; ``guess``/``prob`` per step the model's most likely next character and
    its probability (None without an output layer); ``right`` per step whether the guess is
    the next character of the text."""

    chars: tuple
    values: np.ndarray
    unit: int
    levels: tuple
    revealed: int
    current: int
    guess: tuple | None = None
    prob: np.ndarray | None = None
    right: np.ndarray | None = None

    @property
    def T(self) -> int:
        return len(self.chars)

    def tooltip(self, t: int) -> str:
        """What hovering over step ``t`` (0-based) tells."""
        from .format import fmt_value

        ch = visible(self.chars[t]) or "(no character)"
        line = f"t = {t + 1}: '{ch}'   unit {self.unit}: h = {fmt_value(float(self.values[t]))}"
        if self.guess is not None:
            nxt = f"'{visible(self.guess[t])}' (p = {self.prob[t]:.2f})"
            line += f"\nnext character, the model's guess: {nxt}"
            if t + 1 < self.T and self.chars[t + 1]:
                line += " ✓" if self.right[t] else f" — the text has '{visible(self.chars[t + 1])}'"
        return line


def text_frame(frame, output=None) -> TextFrame | None:
    """The reading view's frame for a :class:`~rnnviz.core.frames.Frame`, or None when the run
    does not read text. ``output`` (T, V) are the output layer's probabilities per step, in the
    vocabulary of ``vocab`` = the model's characters, as ``(probs, vocab)``."""
    syms = frame.symbols
    if syms is None:
        return None
    h = frame.result.cells[0].trace.h
    unit = frame.unit
    values = np.asarray(h[:, unit], dtype=np.float64)
    finite = np.abs(h[np.isfinite(h)])
    top = float(finite.max()) if finite.size else 1.0
    levels = (-1.0, 1.0) if top <= 1.0 else (-top, top)
    guess = prob = right = None
    if output is not None:
        probs, vocab = output
        probs = np.asarray(probs, dtype=np.float64)
        best = np.argmax(probs, axis=1)
        guess = tuple(vocab[int(k)] for k in best)
        prob = probs[np.arange(len(best)), best]
        right = np.array([t + 1 < len(syms) and guess[t] == syms[t + 1] for t in range(len(syms))])
    return TextFrame(syms, values, unit, levels, frame.revealed, frame.step, guess, prob, right)
