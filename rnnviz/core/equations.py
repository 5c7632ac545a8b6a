"""The equation panel's content: the cell's equations, then one unit's with its numbers.

For the selected unit at the current step every equation of the cell is written again with
the actual numbers substituted, down to the single products w·x and w·h when the cell is
small enough to check by hand (the seed example). All numbers come from
:func:`rnnviz.engine.explain.explain`; this module only arranges and formats them, as rich
text (:class:`~rnnviz.core.format.Frag`) whose colours are roles. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.explain import equations, explain, symbol
from .format import Frag, NBSP, join, num, rich, styled, sub

#: Write out every product w·x and w·h when D + H is at most this (D = 1 with H ≤ 4: the seed example).
MAX_PRODUCT_TERMS = 5


@dataclass(frozen=True)
class Row:
    """One line 'lhs = rhs' of an aligned block; ``gap`` puts space above it."""

    lhs: Frag
    rhs: Frag
    muted: bool = False
    gap: bool = False


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
    general = tuple(split_equation(rich(line, cell.gates)) for line in equations(cell))
    signature = (cr.key, cell.kind, cell.reset_after, cell.recurrent_bias, small, e.n_layers,
                 e.x.size <= 4, e.h_prev.size <= 4, tabs)
    return EquationFrame(cr.key, head, f"cell:{cr.key}", note, general, tuple(numbers(e, cell, small)),
                         exact_values(e), signature, t, unit)


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
        rows.append(Row(sub("x", s), vector(e.x)))
    if e.h_prev.size <= 4:
        rows.append(Row(sub("h", p), vector(e.h_prev)))

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
        rows.append(Row(lhs, opening + join(sym, " + ") + closing, muted=True, gap=bool(rows)))
        if small:
            rows.append(Row(Frag(), opening + join(prod, " + ") + closing))
        # non-breaking spaces in the tail: if the line wraps, it wraps before "= σ(…) = …"
        tail = Frag(f" ={NBSP}") + f"{act}(" + num(pre.pre) + Frag(f"){NBSP}={NBSP}") + result
        rows.append(Row(Frag(), opening + join(val, " + ") + closing + tail))

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
    if any(f.form != "{}" and not f.form.startswith("(") and f.result is not None
           for term in line.terms for f in term):
        val = val + " = " + join([_product(applied, term) for term in line.terms], " + ")
    return [Row(lhs, sym, muted=True, gap=True), Row(Frag(), val + " = " + num(line.value, bold=True))]


def _product(show, term) -> Frag:
    out = show(term[0])
    for f in term[1:]:
        out = out + "·" + show(f)
    return out


def vector(v) -> Frag:
    if v.size == 1:
        return num(v[0])
    return Frag("(") + join([num(x) for x in v], ", ") + ")"


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
                parts.append(num(w, paren=True) + "·" + num(v, paren=True))
            else:  # w·(r_k·h_k), the reset-before GRU
                parts.append(num(w, paren=True) + "·(" + gval("r", resets[k]) + "·" + num(v, paren=True) + ")")
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
            out.append(Row(pending.lhs, r.rhs, gap=pending.gap))
            pending = None
        else:
            out.append(r)
    return out
