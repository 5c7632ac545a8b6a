"""Numbers and rich text for the views, as plain Python values. No Qt here.

Every number a panel shows is formatted here, so a test can check it without a window.
Rich text is a :class:`Frag`: a tuple of :class:`Span` pieces carrying a colour *role*
(never a colour), boldness and sub/superscript; the views turn it into HTML with their
theme's colours.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MINUS = "\u2212"
NBSP = "\u00a0"
_SUP = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


# ---------------------------------------------------------------- numbers


def fmt(v: float, sig: int = 3) -> str:
    """A number with ``sig`` significant digits, a true minus sign, and inf / nan spelled out.

    Values that are exactly short (0.1, 0.5, −2) keep no trailing zeros; very large or small
    ones are written 8.02e27.
    """
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else MINUS + "inf"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        mant, exp = f"{v:.{sig - 1}e}".split("e")
        s = f"{mant}e{int(exp)}"
    else:
        d = max(0, sig - 1 - math.floor(math.log10(a)))
        s = f"{v:.{d}f}"
        if "." in s and abs(float(s) - v) <= 2e-7 * a:
            s = s.rstrip("0").rstrip(".")
    return s.replace("-", MINUS)


def parse(s: str) -> float:
    """Inverse of :func:`fmt` (up to its rounding)."""
    return float(s.strip("()").replace(MINUS, "-"))


def sub_digits(n: int) -> str:
    """``12`` → ``₁₂`` (subscript digits, for h₁₂ in plain-text labels)."""
    return str(int(n)).translate(_SUB)


def sup_digits(n: int) -> str:
    return str(int(n)).translate(_SUP)


def fmt_value(v: float, digits: int = 3) -> str:
    """A number legible from the back of a classroom: 0.042, 3.12×10⁻⁴⁰, inf.

    Never raises for any float (subnormals, ±0, ±inf, NaN): mantissa and exponent come from
    Python's own rounding (``%e``), never from ``10.0**e``, which is 0 below 1e-323.
    """
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "−inf"
    if v == 0.0:
        return "0"
    digits = max(1, int(digits))
    mant, exp = f"{v:.{digits - 1}e}".split("e")
    e = int(exp)  # after rounding: 9.9999e-8 is 1.00e-07
    if -3 <= e < 4:  # plain: 0.00342, 12.3, and 1234 (not "%g"'s 1.23e+03) when digits < 4
        text = f"{v:.0f}" if e >= digits else f"{v:.{digits}g}"
        return text.replace("-", "−")
    return f"{mant}×10{str(e).translate(_SUP)}".replace("-", "−")


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


def cell_value(v: float) -> str:
    """A heatmap entry in a tooltip: 4 decimals, or 4 significant digits (as 8.316×10³) when
    tiny or huge."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else MINUS + "inf"
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        return f"{v:.4f}".replace("-", MINUS)
    return fmt_value(v, 4)


def fixed(v: float, decimals: int = 2) -> str:
    """A number for a projector: fixed decimals and a real minus sign."""
    if not math.isfinite(v):
        return str(v)
    text = f"{v:.{decimals}f}"
    if text.startswith("-"):
        text = "−" + text[1:]
        if float(text[1:]) == 0.0:
            text = text[1:]
    return text


def range_text(levels) -> str:
    """A colour scale's range for a gate's description: −1…1, 0.0000…3.2000."""
    lo, hi = levels
    if (lo, hi) == (-1.0, 1.0):
        return "−1…1"
    return f"{cell_value(lo)}…{cell_value(hi)}"


def decade_label(v: float) -> str:
    """A tick of the log axis (v in decades): 0.01, 0.1, 1, 10, 100, 10ⁿ beyond, 2×10⁻⁵ between."""
    if not math.isfinite(v):
        return fmt_value(v)
    n = round(v)
    if abs(v - n) > 1e-6:
        if -300 < v < 300:
            return fmt_value(10.0**v, 1)
        mant = 10.0 ** (v - math.floor(v))  # beyond a float's range: write 10ⁿ by hand
        return f"{mant:.0f}×10{str(math.floor(v)).translate(_SUP)}".replace("-", "−")
    if -2 <= n <= 2:
        return f"{10.0 ** n:g}"
    return "10" + str(n).translate(_SUP)


def decade_ticks(y0: float, y1: float, most: int = 8) -> list[float]:
    """Tick positions (decades) for a log axis from y0 to y1: whole decades, spaced so there are
    at most ``most``; within a small range also 2× and 5× in between. No ticks for a range that
    is not finite."""
    if not (math.isfinite(y0) and math.isfinite(y1)) or y1 < y0:
        return []
    most = max(1, int(most))
    y0, y1 = max(y0, -1e307), min(y1, 1e307)  # a tick one step beyond must stay a float
    span = y1 - y0
    if span < 1.5:
        base = math.floor(y0)
        out = [d + math.log10(m) for d in range(base, math.ceil(y1) + 1) for m in (1, 2, 5)]
        return [v for v in out if y0 <= v <= y1]
    for step in (1, 2, 3, 5, 10, 20, 25, 50, 100, 200):
        if span / step <= most:
            break
    else:  # a range no engine output has (a float spans 632 decades): still at most ``most``
        step = math.ceil(span / most)
    first = math.ceil(y0 / step) * step
    return [float(v) for v in range(int(first), int(math.floor(y1)) + 1, step)]


# ---------------------------------------------------------------- rich text


@dataclass(frozen=True)
class Span:
    """A run of text with one style. ``role`` names a colour the theme chooses ("muted",
    "gate:f", "cell:gru", "warning"); ``script`` is "sub" or "sup"; ``plain`` replaces
    ``text`` in the plain-text form (e.g. "8.02e" for the "8.02·10" before a superscript)."""

    text: str
    role: str | None = None
    bold: bool = False
    script: str | None = None
    plain: str | None = None

    def plain_text(self) -> str:
        return (self.text if self.plain is None else self.plain).replace(NBSP, " ")


class Frag(tuple):
    """Rich text: an immutable tuple of :class:`Span`. ``a + b`` and ``a + "text"`` join."""

    __slots__ = ()

    def __new__(cls, *parts):
        spans = []
        for part in parts:
            if isinstance(part, Span):
                spans.append(part)
            elif isinstance(part, str):
                if part:
                    spans.append(Span(part))
            elif part is not None:
                spans.extend(part)
        return super().__new__(cls, spans)

    def __add__(self, other):
        return Frag(self, other)

    def __radd__(self, other):
        return Frag(other, self)

    def __bool__(self):
        return bool(self.plain)

    @property
    def plain(self) -> str:
        """The text as typed: subscripts written h_5, W_ih, h_{t−1}; numbers 8.02e27."""
        return "".join(s.plain_text() for s in self)

    p = plain  # short name, as the equation panel's tests read it

    def styled(self, role: str | None = None, bold: bool = False) -> "Frag":
        """This text in colour ``role`` (where no inner piece has its own) and/or bold."""
        if role is None and not bold:
            return self
        return Frag(*(Span(s.text, s.role or role, s.bold or bold, s.script, s.plain) for s in self))


def join(parts, sep: str) -> Frag:
    out = Frag()
    for k, part in enumerate(parts):
        out = out + (sep if k else "") + part
    return out


def sub(base: str, s: str) -> Frag:
    """base with subscript s: plain text ``x_5``, ``W_ih``, ``h_{t−1}``."""
    plain = f"_{s}" if s.isalnum() else f"_{{{s}}}"
    return Frag(Span(base), Span(s, script="sub", plain=plain))


def styled(frag, role: str | None, bold: bool = False) -> Frag:
    return Frag(frag).styled(role, bold)


def num(v: float, role: str | None = None, paren: bool = False, bold: bool = False, sig: int = 3) -> Frag:
    """A formatted number; ``paren`` wraps negative ones so '+ (−0.2)' keeps its sign clear."""
    s = fmt(v, sig)
    if "e" in s:  # 8.02×10²⁷, as everywhere else (the plain text keeps 8.02e27 for parsing)
        mant, exp = s.split("e")
        body = Frag(Span(f"{mant}×10", plain=f"{mant}e"), Span(exp, script="sup"))
    else:
        body = Frag(s)
    if paren and s.startswith(MINUS):
        body = Frag("(", body, ")")
    return body.styled(role, bold)


_SUBSCRIPT = re.compile(r"([A-Za-z]+)_(\{[^}]*\}|[A-Za-z0-9]+)")


def rich(line: str, gates) -> Frag:
    """One plain-text equation (as the engine writes it) as rich text: subscripts, gate roles."""
    out, pos = Frag(), 0
    for m in _SUBSCRIPT.finditer(line):
        base, s = m.group(1), m.group(2).strip("{}")
        frag = sub(base, s)
        if base in gates and s == "t":
            frag = frag.styled(f"gate:{base}", bold=True)
        out, pos = out + line[pos : m.start()] + frag, m.end()
    return out + line[pos:]


__all__ = [
    "MINUS", "NBSP", "Span", "Frag", "join", "sub", "styled", "num", "rich", "fmt", "parse", "fmt_value",
    "fmt_percent", "box_label", "cell_value", "fixed", "range_text", "decade_label", "decade_ticks",
    "sub_digits", "sup_digits",
]
