"""Every number formatter takes any float without raising (issue 11: playing 10,000 steps hit
a ZeroDivisionError in fmt_value at a subnormal influence). No Qt here."""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz.core import format as F

#: Every float: ±0, subnormals, ±inf, NaN and the extreme exponents, each also drawn on purpose.
EDGES = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-310, sys.float_info.max, -sys.float_info.max,
         math.inf, -math.inf, math.nan, 9.9995e-4, 9.9995e3, 999.95, 0.00099996, 1e-3, 1e4, 1e300, 1e-300]
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True), st.sampled_from(EDGES))

FORMATTERS = [
    ("fmt_value", lambda v: F.fmt_value(v)), ("fmt_value/1", lambda v: F.fmt_value(v, 1)),
    ("fmt_value/2", lambda v: F.fmt_value(v, 2)), ("fmt_value/4", lambda v: F.fmt_value(v, 4)),
    ("fmt", lambda v: F.fmt(v)), ("fmt/5", lambda v: F.fmt(v, 5)), ("fmt_percent", F.fmt_percent),
    ("box_label", F.box_label), ("cell_value", F.cell_value), ("fixed", F.fixed), ("decade_label", F.decade_label),
    ("num", lambda v: F.num(v, paren=True).plain), ("range_text", lambda v: F.range_text((v, -v))),
]


@settings(max_examples=600, deadline=None)
@given(v=floats)
def test_formatters_never_raise(v):
    for name, formatter in FORMATTERS:
        text = formatter(v)
        assert isinstance(text, str) and text and "\n" not in text, (name, v, text)


@pytest.mark.parametrize("v", EDGES)
def test_every_edge_value_formats(v):
    for _name, formatter in FORMATTERS:
        assert formatter(v)


@settings(max_examples=300, deadline=None)
@given(v=st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True).filter(lambda v: v != 0))
def test_fmt_value_keeps_its_digits_and_magnitude(v):
    """The number shown is the number, to three significant digits (parsed back from 3.12×10⁻⁴⁰)."""
    text = F.fmt_value(v).replace("−", "-")
    if "×10" in text:
        mant, exp = text.split("×10")
        shown = float(mant) * 10.0 ** int(exp.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")))
        assert 1.0 <= abs(float(mant)) < 10.0, text
    else:
        shown = float(text)
    if shown == 0.0 or math.isinf(shown):  # 10.0**-324 underflows and 1.80×10³⁰⁸ overflows the check
        return
    assert abs(shown - v) <= 6e-3 * abs(v), (v, text)


@settings(max_examples=200, deadline=None)
@given(y0=floats, y1=floats, most=st.integers(-2, 20))
def test_decade_ticks_never_raise_and_stay_few(y0, y1, most):
    ticks = F.decade_ticks(y0, y1, most)
    assert len(ticks) <= max(most, 1) + 1 or (math.isfinite(y1 - y0) and y1 - y0 < 1.5)
    for t in ticks:
        assert math.isfinite(t) and F.decade_label(t)


def test_known_values_are_unchanged():
    assert F.fmt_value(0.00342) == "0.00342" and F.fmt_value(3.1e-4) == "3.10×10⁻⁴"
    assert F.fmt_value(9.9999e-8) == "1.00×10⁻⁷" and F.fmt_value(5e-324) == "4.94×10⁻³²⁴"
    assert F.fmt_value(-2.5e10) == "−2.50×10¹⁰" and F.fmt_value(1234.5) == "1234" and F.fmt_value(9999.6) == "1.00×10⁴"
    assert F.cell_value(5e-324) == "4.941×10⁻³²⁴" and F.fmt_percent(5e-324) == "4.9×10⁻³²² %"
