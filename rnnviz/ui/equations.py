"""The equation panel: the active cell's equations, then the selected unit's with its numbers.

For the unit picked on a heatmap (``controller.selectedUnit``) at the current step it writes
every equation of the cell again with the actual numbers substituted, down to the single
products w·x and w·h when the cell is small enough to check by hand (the seed example), so a
class can follow one step on paper. All numbers come from :func:`rnnviz.engine.explain.explain`;
this module only formats them. Only the one unit is formatted, so a step costs little.
"""

from __future__ import annotations

import html as _html
import math
import re

from PySide6 import QtCore, QtGui, QtWidgets

from ..engine.explain import equations, explain, symbol
from . import theme
from .panels import Panel

#: Write out every product w·x and w·h when D + H is at most this (D = 1 with H ≤ 4: the seed example).
MAX_PRODUCT_TERMS = 5
#: Point size of the numbers; the panel shrinks it (down to MIN_PT) until everything fits.
#: (At font scale 1; a theme scales BODY_PT, never MIN_PT.) Gate colours and the muted text
#: colour come from the theme the panel is handed (``theme.gate_colour``, ``theme.muted``).
BODY_PT = theme.LIGHT.pt(theme.BASE_FONT_PT + 4)
MIN_PT = theme.BASE_FONT_PT - 1

#: Render at most this often while steps arrive quickly (≈ 15 per second).
MIN_INTERVAL_MS = 66

MINUS = "\u2212"


def fmt(v: float) -> str:
    """A number with 3 significant digits, a true minus sign, and inf / nan spelled out.

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
        mant, exp = f"{v:.2e}".split("e")
        s = f"{mant}e{int(exp)}"
    else:
        d = max(0, 2 - math.floor(math.log10(a)))
        s = f"{v:.{d}f}"
        if "." in s and abs(float(s) - v) <= 2e-7 * a:
            s = s.rstrip("0").rstrip(".")
    return s.replace("-", MINUS)


def parse(s: str) -> float:
    """Inverse of :func:`fmt` (up to its rounding)."""
    return float(s.strip("()").replace(MINUS, "-"))


class Frag:
    """Text kept both as plain text and as HTML, so the panel can say exactly what it shows."""

    __slots__ = ("p", "h")

    def __init__(self, plain: str = "", html: str | None = None):
        self.p = plain
        self.h = _html.escape(plain, quote=False) if html is None else html

    def __add__(self, other):
        other = other if isinstance(other, Frag) else Frag(other)
        return Frag(self.p + other.p, self.h + other.h)

    def __radd__(self, other):
        return Frag(other) + self

    def __bool__(self):
        return bool(self.p)


def join(parts, sep: str) -> Frag:
    out = Frag()
    for k, part in enumerate(parts):
        out = out + (sep if k else "") + part
    return out


def sub(base: str, s: str) -> Frag:
    """base with subscript s: plain text ``x_5``, ``W_ih``, ``h_{t−1}``."""
    plain = f"{base}_{s}" if s.isalnum() else f"{base}_{{{s}}}"
    return Frag(plain, f"{_html.escape(base)}<sub>{_html.escape(s)}</sub>")


def colour(frag, col: str | None, bold: bool = False) -> Frag:
    frag = frag if isinstance(frag, Frag) else Frag(frag)
    if col is None and not bold:
        return frag
    style = (f"color:{col};" if col else "") + ("font-weight:bold;" if bold else "")
    return Frag(frag.p, f'<span style="{style}">{frag.h}</span>')


def num(v: float, col: str | None = None, paren: bool = False, bold: bool = False) -> Frag:
    """A formatted number; ``paren`` wraps negative ones so '+ (−0.2)' keeps its sign clear."""
    s = fmt(v)
    h = s
    if "e" in s:
        mant, exp = s.split("e")
        h = f"{mant}·10<sup>{exp}</sup>"
    if paren and s.startswith(MINUS):
        s, h = f"({s})", f"({h})"
    return colour(Frag(s, h), col, bold)


_SUBSCRIPT = re.compile(r"([A-Za-z]+)_(\{[^}]*\}|[A-Za-z0-9]+)")


def rich(line: str, gates, look: theme.Theme = theme.LIGHT) -> Frag:
    """One plain-text equation from :func:`equations` as HTML: subscripts, coloured gates."""
    out, pos = Frag(), 0
    for m in _SUBSCRIPT.finditer(line):
        base, s = m.group(1), m.group(2).strip("{}")
        frag = sub(base, s)
        if base in gates and s == "t":
            frag = colour(frag, look.gate_colour(base), bold=True)
        out, pos = out + line[pos : m.start()] + frag, m.end()
    return out + line[pos:]


class Row:
    """One line 'lhs = rhs' of an aligned block; ``gap`` puts space above it."""

    __slots__ = ("lhs", "rhs", "muted", "gap")

    def __init__(self, lhs, rhs, muted=False, gap=False):
        self.lhs, self.rhs, self.muted, self.gap = lhs, rhs, muted, gap


class EquationPanel(Panel, QtWidgets.QWidget):
    """Equations of the active cell and, for the selected unit at the current step, its numbers.

    In Compare mode a tab bar chooses which cell's equations are shown (the GRU at first). The
    font shrinks when the panel is too small to show everything.
    """

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self._controller = controller
        self._key = "gru"  # preferred cell in Compare mode
        self._keys: list[str] = []
        self._plain = ""
        self._html = ""
        self._exact = ""  # tooltip: the unit's values in full precision
        self._dirty = True
        self._fit: tuple | None = None  # (signature, point size, general equations?, symbols?)
        self._bodyPt = BODY_PT  # the largest size the fitter tries, at the theme's scale

        self._tabs = QtWidgets.QTabBar(self)
        self._tabs.setExpanding(False)
        self._tabs.setFont(theme.font(self.look.font_pt + 1, bold=True))
        self._tabs.setVisible(False)
        self._tabs.currentChanged.connect(self._onTab)

        self._view = QtWidgets.QTextBrowser(self)
        self._view.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self._view.setOpenLinks(False)
        # Never take the keyboard: arrows, Home/End and space step the network window-wide.
        self._view.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self._view.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._view.setFont(theme.font(self._bodyPt))
        self._view.document().setDocumentMargin(8)
        pal = self._view.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Base, QtGui.QColor(self.look.background))
        pal.setColor(QtGui.QPalette.ColorRole.Text, QtGui.QColor(self.look.foreground))
        self._view.setPalette(pal)
        self._probe = QtGui.QTextDocument(self)  # measures candidate sizes off screen
        self._probe.setDocumentMargin(self._view.document().documentMargin())

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self._tabs)
        lay.addWidget(self._view, 1)

        # A new result comes with a stepChanged right behind it: render once for both. While
        # steps come faster than anyone can read (play mode, a dragged slider) render at most
        # every MIN_INTERVAL_MS, always ending on the latest step.
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._flush)
        self._since = QtCore.QElapsedTimer()

        controller.resultChanged.connect(self._onResult)
        controller.stepChanged.connect(self._schedule)
        controller.selectedUnitChanged.connect(self._schedule)
        self._onResult(controller.result)

    # ------------------------------------------------------------------ accessors
    def text(self) -> str:
        """Plain text of what is shown (subscripts written h_5, W_ih, h_{t−1}; 8.02e27)."""
        self._flush()
        return self._plain

    def html(self) -> str:
        self._flush()
        return self._html

    def tabBar(self) -> QtWidgets.QTabBar:
        return self._tabs

    def textBrowser(self) -> QtWidgets.QTextBrowser:
        return self._view

    def pointSize(self) -> int:
        """Point size of the numbers after fitting."""
        self._flush()
        return self._fit[1] if self._fit else self._bodyPt

    def showsGeneralEquations(self) -> bool:
        """False when the panel was too small and dropped the cell's general equations."""
        self._flush()
        return self._fit[2] if self._fit else True

    def showsSymbols(self) -> bool:
        """False when the panel was so small that only the numbers are shown."""
        self._flush()
        return self._fit[3] if self._fit else True

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(560, 440)

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(300, 200)

    def cellKey(self) -> str | None:
        """Key of the cell whose equations are shown (rnn_tanh, gru, lstm, loaded, …)."""
        cr = self._cellResult()
        return None if cr is None else cr.key

    def setCellKey(self, key: str) -> None:
        """Choose the cell shown in Compare mode."""
        self._key = key
        if key in self._keys:
            self._tabs.setCurrentIndex(self._keys.index(key))
        self._schedule()

    def settle(self) -> None:
        self._flush()

    def setTheme(self, look: theme.Theme) -> None:
        """Restyle for ``look``: text colours that read on its background and fonts at its
        scale; the content is rendered again."""
        super().setTheme(look)
        t = look
        # larger text when there is room; the fitter may still shrink to the usual minimum
        self._bodyPt = t.pt(theme.BASE_FONT_PT + 4)
        self._tabs.setFont(theme.font(t.font_pt + 1, bold=True))
        self._view.setFont(theme.font(self._bodyPt))
        pal = self._view.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Base, QtGui.QColor(t.background))
        pal.setColor(QtGui.QPalette.ColorRole.Text, QtGui.QColor(t.foreground))
        self._view.setPalette(pal)
        self._keys, self._fit, self._html = [], None, ""  # new tab colours, sizes and HTML
        self._onResult(self._controller.result)

    # ------------------------------------------------------------------ updates
    def _onResult(self, result) -> None:
        cells = result.cells if result is not None else []
        keys = [cr.key for cr in cells]
        if keys != self._keys:
            self._keys = keys
            blocked = self._tabs.blockSignals(True)
            while self._tabs.count():
                self._tabs.removeTab(0)
            if len(cells) > 1:
                for k, cr in enumerate(cells):
                    self._tabs.addTab(cr.label)
                    self._tabs.setTabTextColor(k, QtGui.QColor(self.look.cell_colour(cr.key, self.look.foreground)))
                    self._tabs.setTabToolTip(k, f"Show the {cr.label} equations")
                if self._key in keys:
                    self._tabs.setCurrentIndex(keys.index(self._key))
            self._tabs.blockSignals(blocked)
            self._tabs.setVisible(len(cells) > 1)
        self._schedule()

    def _onTab(self, index: int) -> None:
        if 0 <= index < len(self._keys):
            self._key = self._keys[index]
            self._schedule()

    def _schedule(self, *_) -> None:
        self._dirty = True
        if self.isVisible() and not self._timer.isActive():
            elapsed = self._since.elapsed() if self._since.isValid() else MIN_INTERVAL_MS
            self._timer.start(max(0, MIN_INTERVAL_MS - elapsed))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._schedule()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._schedule()

    def _flush(self) -> None:
        self._timer.stop()
        if not self._dirty:
            return
        self._dirty = False
        self._since.start()
        frag = self._fitted()
        if frag.h != self._html:  # parsing and laying out the HTML is most of the cost
            self._view.setHtml(frag.h)
            self._view.setToolTip(self._exact)
        self._plain, self._html = frag.p, frag.h

    def _fitted(self) -> Frag:
        """The content at the largest size that fits the view (remembered per layout).

        When space runs out, first the cell's general equations go (the unit's own equations
        repeat them with indices), then those symbolic lines too, leaving the numbers: they
        matter most at the back of the room. Only then does the font shrink below 12 pt.
        """
        content = self._content()
        if content is None:
            return Frag("Equations appear when the network has run.")
        signature, parts = content
        vp = self._view.viewport().size()
        if not self.isVisible() or vp.width() < 50 or vp.height() < 50:
            return _render(parts, self._bodyPt, True, True, self.look)
        signature = signature + (vp.width(), vp.height())
        if self._fit is not None and self._fit[0] == signature:
            return _render(parts, *self._fit[1:], self.look)
        self._probe.setTextWidth(vp.width())
        body = self._bodyPt
        candidates = [(pt, True, True) for pt in range(body, 12, -1)]
        candidates += [(pt, False, True) for pt in range(body, 11, -1)]
        candidates += [(pt, False, False) for pt in range(body, MIN_PT - 1, -1)]
        for choice in candidates:
            frag = _render(parts, *choice, self.look)
            self._probe.setDefaultFont(theme.font(choice[0]))
            self._probe.setHtml(frag.h)
            # some slack: numbers change length from step to step
            if self._probe.size().height() <= 0.94 * vp.height():
                break
        self._fit = (signature, *choice)
        return frag

    def _cellResult(self):
        result = self._controller.result
        if result is None or not result.cells:
            return None
        for cr in result.cells:
            if cr.key == self._key:
                return cr
        return result.cells[0]

    def _content(self):
        """(layout signature, parts) for the current cell, step and unit, or None."""
        cr = self._cellResult()
        if cr is None:
            return None
        trace = cr.trace
        t = min(max(self._controller.step, 0), trace.T - 1)
        unit = min(max(self._controller.selectedUnit, 0), trace.H - 1)
        e = explain(trace, t, unit)
        cell = trace.cell
        self._exact = _exact_values(e)
        small = e.x.size + e.h_prev.size <= MAX_PRODUCT_TERMS

        head = cr.label
        if e.n_layers > 1:
            head += f" · layer {e.layer + 1} of {e.n_layers}"
        head += f" — unit {unit}, step t = {t + 1}"
        note = None
        if e.layer > 0:
            note = Frag("The input ") + sub("x", "t") + f" of this layer is layer {e.layer}'s " + sub("h", "t") + "."
        general = [_split_eq(rich(line, cell.gates, self.look), self.look) for line in equations(cell)]
        parts = dict(head=head, head_colour=self.look.cell_colour(cr.key, self.look.foreground), note=note,
                     general=general, numbers=_numbers(e, cell, small, self.look))
        signature = (cr.key, cell.kind, cell.reset_after, cell.recurrent_bias, small, e.n_layers,
                     e.x.size <= 4, e.h_prev.size <= 4, len(self._keys))
        return signature, parts


def _exact_values(e) -> str:
    """Tooltip: every result of the unit's step with 8 significant digits."""
    s, u = e.t + 1, e.unit
    lines = [f"unit {u}, step t = {s} (exact values)"]
    lines += [f"{g}_{s}[{u}] = {v:.8g}" for g, v in e.gates.items()]
    if e.c is not None:
        lines.append(f"c_{s}[{u}] = {e.c:.8g}")
    lines.append(f"h_{s}[{u}] = {e.h:.8g}")
    lines.append("Click a row of a heatmap to explain another unit.")
    return "\n".join(lines)


def _split_eq(frag: Frag, look: theme.Theme) -> Row:
    lp, rp = frag.p.split(" = ", 1)
    lh, rh = frag.h.split(" = ", 1)
    return Row(colour(Frag(lp, lh), look.muted), Frag(rp, rh), muted=True)


def _render(parts, pt: int, general: bool, symbolic: bool, look: theme.Theme) -> Frag:
    """The whole panel as one Frag at body size ``pt``; ``general`` adds the cell's equations,
    ``symbolic`` the unit's equations in symbols above its numbers."""
    head = parts["head"]
    out = Frag(head + "\n", f'<p style="font-size:{pt + 2}pt; font-weight:bold; color:{parts["head_colour"]};'
                            f' margin:0">{_html.escape(head)}</p>')
    if parts["note"] is not None:
        note = parts["note"]
        out = out + Frag(note.p + "\n", f'<p style="font-size:{max(pt - 3, MIN_PT)}pt; color:{look.muted};'
                                        f' margin:0">{note.h}</p>')
    if general:
        out = out + _table(parts["general"], max(pt - 2, MIN_PT), look)
        out = out + Frag("\n", "<hr/>")
    rows = parts["numbers"]
    if not symbolic:  # the first numeric line of each equation takes over its name
        rows, pending = [], None
        for r in parts["numbers"]:
            if r.muted:
                pending = r
            elif pending is not None and not r.lhs:
                rows.append(Row(pending.lhs, r.rhs, gap=pending.gap))
                pending = None
            else:
                rows.append(r)
    return out + _table(rows, pt, look)


def _table(rows, pt: int, look: theme.Theme) -> Frag:
    plain = "".join(f"{r.lhs.p} = {r.rhs.p}\n" if r.lhs else f"    = {r.rhs.p}\n" for r in rows)
    gap = max(pt // 2, 4)
    cells = []
    for r in rows:
        td = f' style="padding-top:{gap}px"' if r.gap else ""
        rhs = f'<span style="color:{look.muted}">{r.rhs.h}</span>' if r.muted else r.rhs.h
        cells.append(f'<tr><td align="right"{td}>{r.lhs.h}</td><td align="center"{td}>&nbsp;=&nbsp;</td>'
                     f'<td{td}>{rhs}</td></tr>')
    return Frag(plain, f'<table cellspacing="0" cellpadding="1" style="font-size:{pt}pt; margin-top:4px;'
                       f' margin-bottom:4px">{"".join(cells)}</table>')


def _numbers(e, cell, small: bool, look: theme.Theme) -> list[Row]:
    """The selected unit's equations: each as symbols, then (small cells) products, then values."""
    u, s, p = e.unit, str(e.t + 1), str(e.t)
    rows = []

    def gsym(g, step=s):
        return colour(sub(g, step) + f"[{u}]", look.gate_colour(g), bold=True)

    def gval(g, v, paren=True):
        return num(v, look.gate_colour(g), paren=paren)

    # the inputs, so every product below can be traced back to them
    if e.x.size <= 4:
        rows.append(Row(sub("x", s), _vector(e.x)))
    if e.h_prev.size <= 4:
        rows.append(Row(sub("h", p), _vector(e.h_prev)))

    for g, pre in e.pre.items():
        act = symbol(pre.activation)
        sym, prod, val = _terms(e, cell, g, pre, gsym, gval, small, look)
        if cell.kind == "rnn":
            lhs = colour(sub("h", s) + f"[{u}]", None, bold=True)
            result = num(pre.value, bold=True)
        else:
            lhs, result = gsym(g), num(pre.value, look.gate_colour(g), bold=True)
        # non-breaking spaces inside "σ( " and " )" keep the brackets on their terms' line
        opening, closing = Frag(f"{act}( ", f"{act}(&nbsp;"), Frag(" )", "&nbsp;)")
        rows.append(Row(lhs, opening + join(sym, " + ") + closing, muted=True, gap=bool(rows)))
        if small:
            rows.append(Row(Frag(), opening + join(prod, " + ") + closing))
        # non-breaking spaces in the tail: if the line wraps, it wraps before "= σ(…) = …"
        tail = Frag(" = ", " =&nbsp;") + f"{act}(" + num(pre.pre) + Frag(") = ", ")&nbsp;=&nbsp;") + result
        rows.append(Row(Frag(), opening + join(val, " + ") + closing + tail))

    h_lhs = colour(sub("h", s) + f"[{u}]", None, bold=True)
    if cell.kind == "gru":
        z, n = e.pre["z"].value, e.pre["n"].value
        rows.append(Row(h_lhs, Frag("(1 − ") + gsym("z") + ")·" + gsym("n") + " + " + gsym("z") + "·"
                        + sub("h", p) + f"[{u}]", muted=True, gap=True))
        rows.append(Row(Frag(), Frag("(1 − ") + gval("z", z) + ")·" + gval("n", n) + " + " + gval("z", z) + "·"
                        + num(e.h_prev_unit, paren=True) + " = " + num(e.h, bold=True)))
    elif cell.kind == "lstm":
        act = symbol(cell.nonlinearity)
        i, f, g, o = (e.pre[k].value for k in "ifgo")
        c_s, c_p = sub("c", s) + f"[{u}]", sub("c", p) + f"[{u}]"
        rows.append(Row(colour(c_s, None, bold=True), gsym("f") + "·" + c_p + " + " + gsym("i") + "·" + gsym("g"),
                        muted=True, gap=True))
        rows.append(Row(Frag(), gval("f", f) + "·" + num(e.c_prev, paren=True) + " + " + gval("i", i) + "·"
                        + gval("g", g) + " = " + num(e.c, bold=True)))
        rows.append(Row(h_lhs, gsym("o") + f"·{act}(" + c_s + ")", muted=True, gap=True))
        rows.append(Row(Frag(), gval("o", o) + f"·{act}(" + num(e.c) + ") = " + gval("o", o) + "·"
                        + num(e.c_act, paren=True) + " = " + num(e.h, bold=True)))
    return rows


def _vector(v) -> Frag:
    if v.size == 1:
        return num(v[0])
    return Frag("(") + join([num(x) for x in v], ", ") + ")"


def _terms(e, cell, g, pre, gsym, gval, small, look):
    """One pre-activation's terms three ways: symbols, written-out products (small cells only,
    else None), values."""
    u, s, p = e.unit, str(e.t + 1), str(e.t)
    if cell.kind == "rnn":
        w_x, b_x, w_h, b_h = "ih", ("ih" if cell.recurrent_bias else ""), "hh", "hh"
    else:
        w_x, b_x, w_h, b_h = "i" + g, "i" + g, "h" + g, "h" + g
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
        r_vec = colour(sub("r", s), look.gate_colour("r"), bold=True)
        h_sym = sub("W", w_h) + f"[{u}]·(" + r_vec + " ⊙ " + sub("h", p) + ")"
        h_prod = products(pre.W_h, e.h_prev, resets=e.r_all)
    else:
        h_sym = sub("W", w_h) + f"[{u}]·" + sub("h", p)
        h_prod = products(pre.W_h, pre.h_in)
    h_val = num(pre.Wh, paren=True)

    if cell.kind == "rnn" and not has_b_h:  # the seed document's order: W x + W h + b
        return [x_sym, h_sym, b_sym], [x_prod, h_prod, b_val], [x_val, h_val, b_val]
    sym, prod, val = [x_sym, b_sym, h_sym], [x_prod, b_val, h_prod], [x_val, b_val, h_val]
    if has_b_h:
        sym, prod, val = sym + [bh_sym], prod + [bh_val], val + [bh_val]
    return sym, prod, val
