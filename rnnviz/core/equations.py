"""The equation panel's content: the cell's equations, then one unit's with its numbers.

For the selected unit at the current step every equation of the cell is written again with
the actual numbers substituted, down to the single products w·x and w·h when the cell is
small enough to check by hand (the seed example). All numbers come from
:func:`rnnviz.engine.explain.explain`; this module only arranges and formats them, as rich
text (:class:`~rnnviz.core.format.Frag`) whose colours are roles. No Qt here.
"""

from __future__ import annotations

import ast
import contextvars
import functools
import math
import re
from dataclasses import dataclass, replace

import numpy as np

from ..engine.activations import SYMBOLS, apply
from ..engine.explain import equations, explain, symbol
from .format import MINUS, NBSP, Frag, join, rich, styled, sub
from .format import num as _num

#: Write out every product w·x and w·h when D + H is at most this (D = 1 with H ≤ 4: the seed example).
MAX_PRODUCT_TERMS = 5
#: Results have 3 significant digits and what goes into them one more (see :func:`fnum`);
#: more, up to this, where that would not let a student redo the arithmetic: every "="
#: holds when computed from the digits shown (see :func:`check`).
MAX_DIGITS = 5

_SIG = contextvars.ContextVar("sig", default=3)


def num(v: float, role: str | None = None, paren: bool = False, bold: bool = False) -> Frag:
    """:func:`rnnviz.core.format.num` with the significant digits of the frame being built."""
    return _num(v, role, paren, bold, sig=_SIG.get())


def fnum(v: float, role: str | None = None, paren: bool = False) -> Frag:
    """A number that goes into the arithmetic on its line (a factor, an activation's argument,
    an input): one digit more than the results, so the results can be reproduced from it."""
    return _num(v, role, paren, sig=_SIG.get() + 1)


@dataclass(frozen=True)
class Row:
    """One line 'lhs = rhs' of an aligned block; ``gap`` puts space above it.

    ``kind`` says what the line is, so a small panel can leave some out (:func:`brief`):
    "input" (x_t, h_{t−1}), "symbols" (an equation in symbols), "products" (its products
    written out), "values" (its values, ending in the result) or "" (anything else).
    ``short`` is a values line's one-line form: "σ(0.431) = 0.606", without the sum; a state
    update without its functions applied, "0.552·tanh(1.80) = 0.523".
    """

    lhs: Frag
    rhs: Frag
    muted: bool = False
    gap: bool = False
    kind: str = ""
    short: Frag | None = None


@dataclass(frozen=True, eq=False)
class EquationFrame:
    """Everything the equation panel shows for one cell, step and unit."""

    key: str  # the cell's UI key (rnn_tanh, gru, lstm, loaded)
    head: str  # "GRU — unit 3, step t = 5"
    head_role: str  # colour role of the head ("cell:gru")
    note: Frag | None  # a stacked layer's input
    general: tuple  # Row: the cell's equations in symbols
    numbers: tuple  # Row: the unit's equations, products and values
    exact: str  # tooltip: the unit's values in full precision
    signature: tuple  # what decides the layout (the fitted font size is remembered per signature)
    t: int
    unit: int


def gate_role(g: str) -> str:
    return f"gate:{g}"


def equation_frame(cr, t: int, unit: int, tabs: int = 1) -> EquationFrame:
    """The content for cell result ``cr`` at 0-based step ``t`` and ``unit`` (both clamped)."""
    trace = cr.trace
    t = min(max(int(t), 0), trace.T - 1)
    unit = min(max(int(unit), 0), trace.H - 1)
    e = explain(trace, t, unit)
    cell = trace.cell
    small = e.x.size + e.h_prev.size <= MAX_PRODUCT_TERMS
    head = cr.label
    if e.n_layers > 1:
        head += f" · layer {e.layer + 1} of {e.n_layers}"
    head += f" — unit {unit}, step t = {t + 1}"
    note = None
    if e.layer > 0:
        note = Frag("The input ") + sub("x", "t") + f" of this layer is layer {e.layer}'s " + sub("h", "t") + "."
    general = _general(tuple(equations(cell)), tuple(cell.gates))
    signature = (cr.key, cell.kind, cell.reset_after, cell.recurrent_bias, small, e.n_layers,
                 e.x.size <= 4, e.h_prev.size <= 4, tabs)
    for sig in range(3, MAX_DIGITS + 1):  # the fewest digits that keep every line checkable
        token = _SIG.set(sig)
        try:
            rows = tuple(numbers(e, cell, small))
        finally:
            _SIG.reset(token)
        if not check(rows):
            break
    return EquationFrame(cr.key, head, f"cell:{cr.key}", note, general, rows, exact_values(e), signature, t, unit)


@functools.lru_cache(maxsize=64)
def _general(lines: tuple, gates: tuple) -> tuple:
    """The cell's general equations as rows: the same for every step and unit (laid out once,
    not at every slider tick; rows are immutable)."""
    return tuple(split_equation(rich(line, gates)) for line in lines)


def exact_values(e) -> str:
    """Tooltip: every result of the unit's step with 8 significant digits."""
    s, u = e.t + 1, e.unit
    lines = [f"unit {u}, step t = {s} (exact values)"]
    lines += [f"{g}_{s}[{u}] = {v:.8g}" for g, v in e.gates.items()]
    if e.c is not None:
        lines.append(f"c_{s}[{u}] = {e.c:.8g}")
    lines.append(f"h_{s}[{u}] = {e.h:.8g}")
    lines.append("Click a row of a heatmap to explain another unit.")
    return "\n".join(lines)


def split_equation(frag: Frag) -> Row:
    """'lhs = rhs' → a muted Row (the cell's general equations)."""
    for k, span in enumerate(frag):
        if " = " in span.text:
            a, b = span.text.split(" = ", 1)
            lhs = Frag(*frag[:k], type(span)(a, span.role, span.bold, span.script))
            rhs = Frag(type(span)(b, span.role, span.bold, span.script), *frag[k + 1:])
            return Row(lhs.styled("muted"), rhs, muted=True)
    raise ValueError(f"not an equation: {frag.plain!r}")


def numbers(e, cell, small: bool) -> list[Row]:
    """The selected unit's equations: each as symbols, then (small cells) products, then values."""
    u, s, p = e.unit, str(e.t + 1), str(e.t)
    rows = []

    def gsym(g, step=s):
        return styled(sub(g, step) + f"[{u}]", gate_role(g), bold=True)

    def gval(g, v, paren=True):
        return num(v, gate_role(g), paren=paren)

    # the inputs, so every product below can be traced back to them
    if e.x.size <= 4:
        rows.append(Row(sub("x", s), vector(e.x), kind="input"))
    if e.h_prev.size <= 4:
        rows.append(Row(sub("h", p), vector(e.h_prev), kind="input"))

    for g, pre in e.pre.items():
        act = symbol(pre.activation)
        sym, prod, val = terms(e, cell, g, pre, gsym, gval, small)
        if not cell.gates:  # the RNN: its one pre-activation is the new state
            lhs = styled(sub("h", s) + f"[{u}]", None, bold=True)
            result = num(pre.value, bold=True)
        else:
            lhs, result = gsym(g), num(pre.value, gate_role(g), bold=True)
        # non-breaking spaces inside "σ( " and " )" keep the brackets on their terms' line
        opening, closing = Frag(f"{act}({NBSP}"), Frag(f"{NBSP})")
        rows.append(Row(lhs, opening + join(sym, " + ") + closing, muted=True, gap=bool(rows), kind="symbols"))
        if small:
            rows.append(Row(Frag(), opening + join(prod, " + ") + closing, kind="products"))
        # non-breaking spaces in the tail: if the line wraps, it wraps before "= σ(…) = …"
        applied = Frag(f"{act}(") + fnum(pre.pre) + Frag(f"){NBSP}={NBSP}") + result
        rows.append(Row(Frag(), opening + join(val, " + ") + closing + Frag(f" ={NBSP}") + applied, kind="values",
                        short=applied))

    for line in e.lines:  # the state updates after the gates (GRU: h; LSTM: c, then h)
        rows += update_rows(line, e, gsym, gval)
    return rows


def update_rows(line, e, gsym, gval) -> list[Row]:
    """A state update ``target_t = Σ Π factors`` as a symbolic and a numeric row."""
    u, s, p = e.unit, str(e.t + 1), str(e.t)

    def wrap(form: str, inner: Frag) -> Frag:
        before, after = form.split("{}")
        return Frag(before) + inner + after

    def symbolic(f) -> Frag:
        inner = gsym(f.name) if f.name in e.pre else sub(f.name, s if f.step == 0 else p) + f"[{u}]"
        return wrap(f.form, inner)

    def numeric(f) -> Frag:
        if f.name in e.pre:
            return wrap(f.form, gval(f.name, f.value))
        return wrap(f.form, num(f.value, paren=f.form == "{}"))

    def applied(f) -> Frag:  # a function's result, as the next line of arithmetic shows it
        if f.form == "{}" or f.form.startswith("(") or f.result is None:
            return numeric(f)
        return num(f.result, paren=True)

    lhs = styled(sub(line.target, s) + f"[{u}]", None, bold=True)
    sym = join([_product(symbolic, term) for term in line.terms], " + ")
    val = join([_product(numeric, term) for term in line.terms], " + ")
    result = " = " + num(line.value, bold=True)
    short = None
    if any(f.form != "{}" and not f.form.startswith("(") and f.result is not None
           for term in line.terms for f in term):
        short = val + result  # without the functions applied: "0.552·tanh(1.80) = 0.523"
        val = val + " = " + join([_product(applied, term) for term in line.terms], " + ")
    return [Row(lhs, sym, muted=True, gap=True, kind="symbols"),
            Row(Frag(), val + result, kind="values", short=short)]


def _product(show, term) -> Frag:
    out = show(term[0])
    for f in term[1:]:
        out = out + "·" + show(f)
    return out


def vector(v) -> Frag:
    if v.size == 1:
        return fnum(v[0])
    return Frag("(") + join([fnum(x) for x in v], ", ") + ")"


def terms(e, cell, g, pre, gsym, gval, small):
    """One pre-activation's terms three ways: symbols, written-out products (small cells only,
    else None), values."""
    u, s, p = e.unit, str(e.t + 1), str(e.t)
    # the parameters' names for this pre-activation ("W_iz" …; the seed document's single "b")
    w_x, b_x, w_h, b_h = (pre.symbols[k].partition("_")[2] for k in ("W_ih", "b_ih", "W_hh", "b_hh"))
    has_b_h = cell.recurrent_bias

    def products(ws, vs, resets=None):
        if not small:
            return None
        parts = []
        for k, (w, v) in enumerate(zip(ws, vs)):
            if resets is None:
                parts.append(fnum(w, paren=True) + "·" + fnum(v, paren=True))
            else:  # w·(r_k·h_k), the reset-before GRU
                parts.append(fnum(w, paren=True) + "·(" + fnum(resets[k], gate_role("r"), paren=True) + "·"
                             + fnum(v, paren=True) + ")")
        body = join(parts, " + ")
        return body if len(parts) == 1 else "(" + body + ")"

    x_sym = sub("W", w_x) + f"[{u}]·" + sub("x", s)
    b_sym = (sub("b", b_x) if b_x else Frag("b")) + f"[{u}]"
    bh_sym = sub("b", b_h) + f"[{u}]"
    x_prod, x_val = products(pre.W_x, e.x), num(pre.Wx, paren=True)
    b_val, bh_val = num(pre.b_ih, paren=True), num(pre.b_hh, paren=True)

    if pre.r is not None:  # GRU candidate, reset after: r·(W_hn h + b_hn)
        def rec(inner):
            return gval("r", pre.r) + "·(" + join(inner + ([bh_val] if has_b_h else []), " + ") + ")"

        inner = sub("W", w_h) + f"[{u}]·" + sub("h", p)
        rec_sym = gsym("r") + "·(" + join([inner] + ([bh_sym] if has_b_h else []), " + ") + ")"
        rec_prod = rec([products(pre.W_h, pre.h_in)]) if small else None
        return ([x_sym, b_sym, rec_sym], [x_prod, b_val, rec_prod],
                [x_val, b_val, rec([num(pre.Wh, paren=True)])])

    if e.r_all is not None and g == "n":  # GRU candidate, reset before: W_hn (r ⊙ h) + b_hn
        r_vec = styled(sub("r", s), gate_role("r"), bold=True)
        h_sym = sub("W", w_h) + f"[{u}]·(" + r_vec + " ⊙ " + sub("h", p) + ")"
        h_prod = products(pre.W_h, e.h_prev, resets=e.r_all)
    else:
        h_sym = sub("W", w_h) + f"[{u}]·" + sub("h", p)
        h_prod = products(pre.W_h, pre.h_in)
    h_val = num(pre.Wh, paren=True)

    if not cell.gates and not has_b_h:  # the seed document's order: W x + W h + b
        return [x_sym, h_sym, b_sym], [x_prod, h_prod, b_val], [x_val, h_val, b_val]
    sym, prod, val = [x_sym, b_sym, h_sym], [x_prod, b_val, h_prod], [x_val, b_val, h_val]
    if has_b_h:
        sym, prod, val = sym + [bh_sym], prod + [bh_val], val + [bh_val]
    return sym, prod, val


def collapse(rows) -> list[Row]:
    """The numeric rows without their symbolic lines: the first numeric line of each equation
    takes over its name (when the panel is too small for both)."""
    out, pending = [], None
    for r in rows:
        if r.muted:
            pending = r
        elif pending is not None and not r.lhs:
            out.append(replace(r, lhs=pending.lhs, gap=pending.gap))
            pending = None
        else:
            out.append(r)
    return out


def without_products(rows) -> list[Row]:
    """``rows`` without the written-out products (the values lines still add up)."""
    return [r for r in rows if r.kind != "products"]


def brief(rows, inputs: bool = False) -> list[Row]:
    """One line per equation, for a panel with room for little more than the results: the
    symbols and products left out, and each activation's sum with them ("i_5[3] =
    σ(0.6175) = 0.650"; a state update keeps its values, "c_5[3] = 0.980·1.42 + … = 1.80",
    and leaves out the step that applies its functions, "h_5[3] = 0.552·tanh(1.80) = 0.523");
    the inputs x_t and h_{t−1} too, unless ``inputs``."""
    out = []
    for r in collapse(without_products(rows)):
        if r.kind == "input" and not inputs:
            continue
        out.append(Row(r.lhs, r.short if r.short is not None else r.rhs, kind=r.kind))
    return out


# ------------------------------------------------------------------ checking by hand
_FUNCS = {sym: name for name, sym in SYMBOLS.items()}
_NUMBER = re.compile(r"^\(?-?(\d+(\.\d*)?)(e-?\d+)?\)?$")


def check(rows) -> list[str]:
    """What a student redoing the arithmetic of ``rows`` (numeric rows of one unit) with the
    digits shown would find wrong: one message per "=" that does not hold (empty: all hold).

    Each written-out product line is checked term by term against the values line under it
    (1.764·0.5 against 0.882), and along each values line every step ("σ( 0.168 + … )",
    "σ(0.224)", "0.556") against the next. A product of shown factors must give the number
    shown for it (to within one unit of its last digit); a sum or an activation of
    shown numbers may also be off by the rounding of its terms (a sum that cancels, such as
    0.168 + 0.151 − 0.383 + 0.0617 = −0.00245, holds to the terms' digits, not the result's).
    """
    problems = []
    rows = [r for r in rows if not r.muted]
    for k, row in enumerate(rows):
        segments = [_plain(seg) for seg in _split_top(_plain(row.rhs), " = ")]
        if not row.lhs and k + 1 < len(rows) and not rows[k + 1].lhs and len(segments) == 1:
            # a products line: its terms against the values line's first segment
            nxt = _split_top(_plain(rows[k + 1].rhs), " = ")[0]
            problems += _compare(segments[0], nxt, strict=True)
            continue
        for a, b in zip(segments, segments[1:]):
            problems += _compare(a, b)
    return problems


def _plain(text) -> str:
    text = text.plain if isinstance(text, Frag) else text
    return " ".join(text.replace(NBSP, " ").split())


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside brackets."""
    out, depth, start, k = [], 0, 0, 0
    while k < len(text):
        ch = text[k]
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and text.startswith(sep, k):
            out.append(text[start:k].strip())
            k += len(sep)
            start = k
            continue
        k += 1
    out.append(text[start:].strip())
    return out


def _strip(text: str) -> str:
    """Outer brackets that enclose the whole of ``text`` removed."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and not _closes_early(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _closes_early(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return True
    return False


def _call(text: str):
    """("tanh", inner) for "tanh( … )", else None."""
    for sym in sorted(_FUNCS, key=len, reverse=True):
        if text.startswith(sym + "(") and text.endswith(")") and not _closes_early(text[len(sym) + 1:-1]):
            return sym, text[len(sym) + 1:-1].strip()
    return None


def _compare(a: str, b: str, strict: bool = False) -> list[str]:
    """Does expression ``a`` hold against ``b`` (a number, a call or a sum/product of them)?
    ``strict``: a product must reproduce its value from its factors (a products line)."""
    a, b = _strip(a), _strip(b)
    if _NUMBER.match(b.replace(MINUS, "-")):
        # within one unit of the last digit: a product exactly between two roundings may
        # land on either side of it when recomputed from its rounded factors
        value, tol = _value(a), 2.0 * _tolerance(b) + _slack(a, _digits(b), strict)
        if value is None or not (abs(value - _number(b)) <= tol or _same_inf(value, b)):
            return [f"{a} = {b}: computed from the digits shown it is {value!r}"]
        return []
    ca, cb = _call(a), _call(b)
    if ca and cb and ca[0] == cb[0]:
        return _compare(ca[1], cb[1], strict)
    for sep in (" + ", "·"):
        ta, tb = _split_top(a, sep), _split_top(b, sep)
        if len(tb) > 1:
            if len(ta) != len(tb):
                return [f"{a} = {b}: the terms do not line up"]
            return [p for x, y in zip(ta, tb) for p in _compare(x, y, strict)]
    value, target = _value(a), _value(b)
    if value is None or target is None or not math.isclose(value, target, rel_tol=1e-9, abs_tol=1e-12):
        return [f"{a} = {b}: {value!r} against {target!r}"]
    return []


def _slack(text: str, digits: int, strict: bool = False) -> float:
    """How far a sum or activation of the numbers in ``text`` may be off because they are
    rounded. None for a single product on a products line (``strict``): w·x written
    1.764·0.5 must give the 0.882 shown. Elsewhere a product of results computed above (a gate times a
    state, in a state update) keeps the digits those results had, as a student copies them."""
    text = _strip(text)
    terms = _split_top(text, " + ")
    if len(terms) > 1:
        return sum(_uncertainty(t) for t in terms)
    call = _call(text)
    if call is not None:
        return _uncertainty(call[1])  # |f′| ≤ 1 for σ, tanh, ReLU
    factors = _split_top(text, "·")
    if len(factors) > 1 and not strict and any(
            _digits(f) <= digits for f in factors if _NUMBER.match(_strip(f).replace(MINUS, "-"))):
        return _uncertainty(text)
    return 0.0


def _digits(text: str) -> int:
    """Significant digits written in the number ``text`` (99 for an exactly short one)."""
    n = sum(ch.isdigit() for ch in _strip(text).partition("e")[0].strip(MINUS).lstrip("0."))
    return n if n >= 3 else 99


def _uncertainty(text: str) -> float:
    """A bound on the error of ``text`` computed from rounded numbers (short ones such as
    0.5 or 0, written with fewer digits than any rounded number, are exact)."""
    text = _strip(text)
    if _NUMBER.match(text.replace(MINUS, "-")):
        return _tolerance(text) if _digits(text) < 99 else 0.0
    terms = _split_top(text, " + ")
    if len(terms) > 1:
        return sum(_uncertainty(t) for t in terms)
    factors = _split_top(text, "·")
    if len(factors) > 1:
        values = [abs(_value(f) or 0.0) for f in factors]
        return sum(math.prod(values[:k] + values[k + 1:]) * _uncertainty(f) for k, f in enumerate(factors))
    call = _call(text)
    if call is not None:
        return _uncertainty(call[1])
    if text.startswith("1 − "):
        return _uncertainty(text[4:])
    return 0.0


def _number(s: str) -> float:
    return float(s.strip("()").replace(MINUS, "-"))


def _same_inf(value: float, s: str) -> bool:
    return math.isinf(value) and "inf" in s and (value > 0) == (MINUS not in s)


def _tolerance(s: str) -> float:
    """Half a unit in the last digit of the shown number ``s``."""
    body = s.strip("()").replace(MINUS, "")
    mant, _, exp = body.partition("e")
    decimals = len(mant.partition(".")[2])
    return 0.5 * 10.0 ** (int(exp or 0) - decimals) * (1 + 1e-9)


def _value(text: str) -> float | None:
    """``text`` (numbers, + − ·, brackets, activations) evaluated in float64; None if not."""
    src = text.replace(MINUS, "-").replace("·", "*").replace("⊙", "*")
    for sym in sorted(_FUNCS, key=len, reverse=True):
        src = src.replace(sym + "(", f"_f[{_FUNCS[sym]!r}](")
    try:
        tree = ast.parse(src, mode="eval")
        return float(_eval(tree.body))
    except (SyntaxError, ValueError, KeyError, TypeError, ZeroDivisionError, OverflowError):
        return None


def _eval(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
        a, b = _eval(node.left), _eval(node.right)
        return a + b if isinstance(node.op, ast.Add) else a - b if isinstance(node.op, ast.Sub) else a * b
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Subscript) and len(node.args) == 1
            and isinstance(node.func.slice, ast.Constant) and node.func.slice.value in SYMBOLS):
        return float(apply(node.func.slice.value, np.array([_eval(node.args[0])], np.float64))[0])
    raise ValueError("not arithmetic")
