"""The equation panel: the active cell's equations, then the selected unit's with its numbers.

For the unit picked on a heatmap (``controller.selectedUnit``) at the current step it writes
every equation of the cell again with the actual numbers substituted, down to the single
products w·x and w·h when the cell is small enough to check by hand (the seed example), so a
class can follow one step on paper. The lines come ready-made in the frame
(:class:`rnnviz.core.equations.EquationFrame`, rich text with colour roles); this module turns
them into HTML with the theme's colours and fits the font to the panel.
"""

from __future__ import annotations

import html as _html
import math
import re

import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.equations import Row, brief, collapse, without_products
from ..core.format import MINUS, Frag, fmt, parse  # noqa: F401 - fmt, parse: the panel's number format
from . import theme
from .panels import Panel

#: Point size of the numbers; the panel shrinks it (down to MIN_PT) until everything fits.
#: (At font scale 1; a theme scales BODY_PT, never MIN_PT.) Gate colours and the muted text
#: colour come from the theme the panel is handed (``theme.gate_colour``, ``theme.muted``).
BODY_PT = theme.LIGHT.pt(theme.BASE_FONT_PT + 4)
MIN_PT = theme.BASE_FONT_PT - 1

#: Render at most this often while steps arrive quickly (≈ 15 per second).
MIN_INTERVAL_MS = 66
#: … and while a mouse button is held (a slider dragged, the chain scrubbed): the numbers
#: change faster than anyone reads them, and each layout takes the GUI thread a few ms that
#: the next frame of the drag would wait for. The last change is always shown.
DRAG_INTERVAL_MS = 200




_DIGITS = str.maketrans("123456789", "000000000")
_TAG = re.compile(r"(<[^>]*>)")


def _digits_as_zero(html: str) -> str:
    """``html`` with every digit of its text as 0 (the markup, its sizes and colours, kept)."""
    parts = _TAG.split(html)
    parts[::2] = [p.translate(_DIGITS) for p in parts[::2]]
    return "".join(parts)


_TABULAR: dict = {}  # font key -> whether its digits are tabular


def _tabular(font: QtGui.QFont) -> bool:
    """Whether every digit of ``font`` is as wide as 0, in its regular and bold faces (and at
    the smaller size sub- and superscripts use)."""
    key, cache = font.key(), _TABULAR
    if key not in cache:
        faces = []
        for bold in (False, True):
            for scale in (1.0, 0.7):
                f = QtGui.QFont(font)
                f.setBold(bold)
                f.setPointSizeF(font.pointSizeF() * scale)
                faces.append(QtGui.QFontMetricsF(f))
        cache[key] = all(fm.horizontalAdvance(d) == fm.horizontalAdvance("0") for fm in faces for d in "123456789")
    return cache[key]


def role_colour(role: str | None, look: theme.Theme) -> str | None:
    """The colour in ``look`` of a text role of a frame ("muted", "gate:f", "cell:gru", "grew")."""
    return look.role_colour(role)


def frag_html(frag: Frag, look: theme.Theme) -> str:
    """Rich text as HTML: sub/superscripts, bold, and each role in the colour of ``look``."""
    out = []
    for span in frag:
        h = _html.escape(span.text, quote=False).replace("\u00a0", "&nbsp;").replace("\n", "<br>")
        if span.script:
            h = f"<{span.script}>{h}</{span.script}>"
        col = role_colour(span.role, look)
        if col or span.bold:
            style = (f"color:{col};" if col else "") + ("font-weight:bold;" if span.bold else "")
            h = f'<span style="{style}">{h}</span>'
        out.append(h)
    return "".join(out)


class _Html:
    """Plain text and HTML of what the panel shows."""

    __slots__ = ("p", "h")

    def __init__(self, plain: str = "", html: str = ""):
        self.p, self.h = plain, html

    def __add__(self, other):
        return _Html(self.p + other.p, self.h + other.h)


#: The text's margin inside the panel, and for one line per equation (a small panel's last resort).
MARGIN, TIGHT_MARGIN = 8, 4

#: The fitted size grows only when the text fills at most this share of the panel's height.
GROW_ROOM = 0.92


class EquationPanel(Panel, QtWidgets.QWidget):
    """Equations of the active cell and, for the selected unit at the current step, its numbers.

    In Compare mode a tab bar chooses which cell's equations are shown (the GRU at first). The
    font shrinks when the panel is too small to show everything.
    """

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self._controller = controller
        self._frame = None
        self._keys: list[str] = []
        self._plain = ""
        self._html = ""
        self._exact = ""  # tooltip: the unit's values in full precision
        self._dirty = True
        self._fit: tuple | None = None  # (layout signature, index, (pt, general?, symbols?)) last used
        self._fits = False  # whether the text shown fits its view whole
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
        self._view.document().setDocumentMargin(MARGIN)
        pal = self._view.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Base, QtGui.QColor(self.look.background))
        pal.setColor(QtGui.QPalette.ColorRole.Text, QtGui.QColor(self.look.foreground))
        self._view.setPalette(pal)
        self._probe = QtGui.QTextDocument(self)  # measures candidate sizes off screen
        self._sizes: dict = {}  # (html with its digits as 0, pt, margin, width) -> its size

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
        # when due, after the frame the window is about to paint: a result waiting for its
        # frame does not wait for this panel's layout too (~3 ms; 5 ms for an LSTM)
        self._timer.timeout.connect(lambda: controller.afterFrame(self._flushIfAlive))
        self._since = QtCore.QElapsedTimer()

        controller.frameChanged.connect(self.setFrame)
        self.setFrame(controller.frame)

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
        return self._fit[2][0] if self._fit else self._bodyPt

    def showsGeneralEquations(self) -> bool:
        """False when the panel was too small and dropped the cell's general equations."""
        self._flush()
        return self._fit[2][1] if self._fit else True

    def showsSymbols(self) -> bool:
        """False when the panel was so small that only the numbers are shown."""
        self._flush()
        return self._fit[2][2] if self._fit else True

    def showsProducts(self) -> bool:
        """False when presenter mode left the written-out products out (normal mode keeps them)."""
        self._flush()
        return self._fit[2][3] if self._fit else True

    def isBrief(self) -> bool:
        """True when presenter mode shows one line per equation (the sums left out)."""
        self._flush()
        return bool(self._fit[2][4]) if self._fit else False

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(560, 440)

    def minimumSizeHint(self) -> QtCore.QSize:
        # small: the text shrinks (and drops the general equations) to fit, and a 768-pixel
        # projector with a lesson open has no more height to give
        return QtCore.QSize(300, 140)

    def cellKey(self) -> str | None:
        """Key of the cell whose equations are shown (rnn_tanh, gru, lstm, loaded, …)."""
        cr = self._frame.equation_cell if self._frame is not None else None
        return None if cr is None else cr.key

    def setCellKey(self, key: str) -> None:
        """Choose the cell shown in Compare mode."""
        self._controller.setEquationKey(key)

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
        self.setFrame(self._frame)

    # ------------------------------------------------------------------ updates
    def setFrame(self, frame) -> None:
        """Show a :class:`~rnnviz.core.frames.Frame` (rendered at most every MIN_INTERVAL_MS)."""
        self._frame = frame
        cells = frame.result.cells if frame is not None else []
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
            self._tabs.blockSignals(blocked)
            self._tabs.setVisible(len(cells) > 1)
        if frame is not None and len(cells) > 1:
            shown = frame.equation_cell.key
            if self._tabs.currentIndex() != keys.index(shown):
                with QtCore.QSignalBlocker(self._tabs):
                    self._tabs.setCurrentIndex(keys.index(shown))
        self._schedule()

    def _onTab(self, index: int) -> None:
        if 0 <= index < len(self._keys):
            self._controller.setEquationKey(self._keys[index])

    def _schedule(self, *_) -> None:
        self._dirty = True
        if self.isVisible() and not self._timer.isActive():
            interval = DRAG_INTERVAL_MS if self.pointerHeld() else MIN_INTERVAL_MS
            elapsed = self._since.elapsed() if self._since.isValid() else interval
            self._timer.start(max(0, interval - elapsed))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._schedule()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._schedule()

    def _flushIfAlive(self) -> None:
        if shiboken6.isValid(self):  # closed before the frame came
            self._flush()

    def _flush(self) -> None:
        self._timer.stop()
        if not self._dirty:
            return
        self._dirty = False
        self._since.start()
        frag = self._fitted()
        if frag.h != self._html:  # parsing and laying out the HTML is most of the cost
            self._view.document().setDocumentMargin(_margin(self._fit[2]) if self._fit else MARGIN)
            # Text that fits needs no scroll bar, and must not get one: left over from the
            # text before, it would narrow the view by its width, rewrap a line and stay.
            Policy = QtCore.Qt.ScrollBarPolicy
            self._view.setVerticalScrollBarPolicy(Policy.ScrollBarAlwaysOff if self._fits else Policy.ScrollBarAsNeeded)
            self._view.setHtml(frag.h)
            self._view.setToolTip(self._exact)
        self._plain, self._html = frag.p, frag.h

    def _candidates(self) -> list[tuple]:
        """What the fitter tries, best first: (pt, general?, symbols?, products?, brief), brief
        being 0 (every line), 1 (one line per equation, with the inputs) or 2 (without them).

        Normal mode shrinks the font before it leaves anything out. Presenter mode (a theme
        scaled up) keeps the font at least its scale × BODY_PT, so the equations stay
        1.5× their normal size, and leaves lines out instead: the cell's equations, the
        symbols, the products, and then the sums inside each activation (:func:`brief`). Only
        a window too small even for that shrinks the font further.
        """
        body = self._bodyPt
        kinds = {r.kind for r in self._frame.equation.numbers} if self._frame is not None \
            and self._frame.equation is not None else set()
        kept = "products" not in kinds  # a form leaves the products out only where there are some
        if self.look.font_scale <= 1.0:
            out = [(pt, True, True, True, 0) for pt in range(body, 12, -1)]
            out += [(pt, False, True, True, 0) for pt in range(body, 11, -1)]
            out += [(pt, False, False, True, 0) for pt in range(body, MIN_PT - 1, -1)]
            # a small window where even MIN_PT does not fit (a gated cell at 1024×768): lines
            # go, said in the note, rather than a scroll bar (the products first, then the sums)
            last = [] if kept else [(MIN_PT, False, False, False, 0)]
            last += [(MIN_PT, False, False, kept, 1)] + ([(MIN_PT, False, False, kept, 2)] if "input" in kinds else [])
            return out + last
        floor = min(body, math.floor(self.look.font_scale * BODY_PT))
        # as in normal mode, the symbols go before the products: the products are what a
        # student checks by hand (the seed example at 1024×768 lost them and kept the symbols)
        forms = [(True, True, True, 0), (False, True, True, 0), (False, False, True, 0)]
        if not kept:
            forms += [(False, True, False, 0), (False, False, False, 0)]
        forms += [(False, False, kept, 1)]
        if "input" in kinds:
            forms += [(False, False, kept, 2)]
        out = [(pt, *form) for form in forms for pt in range(body, floor - 1, -1)]
        return out + [(pt, *forms[-1]) for pt in range(floor - 1, MIN_PT - 1, -1)]

    def omitted(self) -> str:
        """What presenter mode leaves out to keep the equations large ("" when nothing is)."""
        self._flush()
        if not self._fit:
            return ""
        return _omitted(self._fit[2]) if self.look.font_scale > 1.0 or _shortened(self._fit[2]) else ""

    def _note(self, candidate: tuple, width: int, beside: str = "") -> str:
        """The one-line note saying what ``candidate`` leaves out: the longest wording that
        fits ``width`` on one line ("" for normal mode or when nothing is left out). With
        ``beside`` (the head), the wording that fits on the head's line after it, or "" if none."""
        whole = _omitted(candidate)
        if not whole or (self.look.font_scale <= 1.0 and not _shortened(candidate)):
            return ""  # normal mode says so only when it had to leave numbers out
        fm = QtGui.QFontMetrics(theme.font(_note_pt(candidate[0])))
        room = width - 2 * _margin(candidate) - 4
        if beside:
            room -= QtGui.QFontMetrics(theme.font(candidate[0] + 2, bold=True)).horizontalAdvance(beside + HEAD_GAP)
        parts = [short for name, short, on in _LEFT_OUT if on(candidate)]
        hint = "F11: every line" if self.look.font_scale > 1.0 else "a larger window: every line"
        forms = [f"Not shown: {whole} ({hint})", "Not shown: " + ", ".join(parts), f"Shortened ({hint})", "Shortened"]
        fitting = next((f for f in forms if fm.horizontalAdvance(f) <= room), None)
        return fitting if fitting is not None or beside else forms[-1]

    def _notes(self, candidate: tuple, width: int, head: str) -> tuple[str, bool]:
        """(the note for ``candidate``, whether it goes on the head's line). One line per
        equation (:func:`brief`) is the last resort of a small panel: its note joins the head
        when a wording fits there, so the lines left keep their room."""
        if candidate[4] > 0:
            beside = self._note(candidate, width, head)
            if beside:
                return beside, True
        return self._note(candidate, width), False

    def _measure(self, html: str, pt: int, margin: int, width: int) -> tuple[float, float]:
        """(height, ideal width) of ``html`` laid out at body size ``pt`` in ``width`` px.

        A new default font, margin or width lays out again whatever the probe holds (Qt does
        not check for a change): the probe is emptied before a change and keeps its settings
        otherwise, so each trial is one layout, not three. Where the font's digits all have
        one width, text that differs only in its digits has the size measured before (a drag
        changes the numbers, not their lengths: each layout took ~1.5 ms of a refresh)."""
        doc, font = self._probe, theme.font(pt)
        key = (_digits_as_zero(html), pt, margin, width) if _tabular(font) else None
        if key is not None and key in self._sizes:
            return self._sizes[key]
        if doc.textWidth() != width or doc.documentMargin() != margin or doc.defaultFont() != font:
            doc.clear()
            doc.setTextWidth(width)
            doc.setDefaultFont(font)
            doc.setDocumentMargin(margin)
        doc.setHtml(html)
        size = doc.size().height(), doc.idealWidth()
        if key is not None:
            if len(self._sizes) > 256:
                self._sizes.clear()
            self._sizes[key] = size
        return size

    def _fitted(self) -> _Html:
        """The content at the largest size at which it fits the view now.

        When space runs out, first the cell's general equations go (the unit's own equations
        repeat them with indices), then those symbolic lines too, leaving the numbers: they
        matter most at the back of the room. Only then does the font shrink below 12 pt.
        (Presenter mode keeps its large font and leaves out more: see :meth:`_candidates`.)
        The size depends on the numbers shown, never on the steps shown before: the search
        starts from the last size used for this layout and moves up or down from there
        (usually one or two trial layouts).
        """
        eq = self._frame.equation if self._frame is not None else None
        if eq is None:
            text = "Equations appear when the network has run."
            return _Html(text, _html.escape(text))
        self._exact = eq.exact
        # the room without scroll bars: text that fits shows none (measured with one shown, a
        # fit would be 14 px narrower than its view, and the next layout would differ)
        vp = self._view.contentsRect().size()
        self._fits = False
        if not self.isVisible() or vp.width() < 50 or vp.height() < 50:
            return _render(eq, self._bodyPt, True, True, True, 0, self.look)
        signature = eq.signature + (vp.width(), vp.height(), self.look.font_scale)
        candidates = self._candidates()
        tried = {}

        heights = {}

        def fits(k: int) -> bool:
            if k not in tried:
                note, inline = self._notes(candidates[k], vp.width(), eq.head)
                out = _render(eq, *candidates[k], self.look, note, inline)
                height, width = self._measure(out.h, candidates[k][0], _margin(candidates[k]), vp.width())
                heights[k] = height
                tried[k] = (out, height <= vp.height() - 2 and width <= vp.width())
            return tried[k][1]

        k = self._fit[1] if self._fit is not None and self._fit[0] == signature else 0
        if fits(k):
            # a larger size is worth a trial layout only with room to grow (a point more
            # needs ~8 % more height): while stepping, the text keeps its size in one layout
            while k > 0 and heights.get(k, 0) <= GROW_ROOM * (vp.height() - 2) and fits(k - 1):
                k -= 1
        else:
            while k + 1 < len(candidates) and not fits(k + 1):
                k += 1
            k = min(k + 1, len(candidates) - 1)
            fits(k)
        self._fit = (signature, k, candidates[k])
        self._fits = tried[k][1]
        omitted = _omitted(candidates[k]) if self.look.font_scale > 1.0 or _shortened(candidates[k]) else ""
        if omitted:
            who = "Presenter mode leaves" if self.look.font_scale > 1.0 else "This small panel leaves"
            self._exact += f"\n{who} out {omitted}; " + ("F11 shows every line." if self.look.font_scale > 1.0
                                                           else "a larger window shows every line.")
        return tried[k][0]


#: What a fitted form can leave out: (how the note names it, its short name, is it left out?)
_LEFT_OUT = (
    ("the cell's equations", "equations", lambda c: not c[1]),
    ("the products", "products", lambda c: not c[3]),
    ("the symbols", "symbols", lambda c: not c[2]),
    ("the sums", "sums", lambda c: c[4] > 0),
    ("the inputs", "inputs", lambda c: c[4] > 1),
)


def _shortened(candidate: tuple) -> bool:
    """Whether ``candidate`` leaves numbers out (the products or the sums), not just the symbols."""
    return not candidate[3] or candidate[4] > 0


def _omitted(candidate: tuple) -> str:
    """"the products, the symbols and the sums": what ``candidate`` leaves out."""
    names = [name for name, _short, on in _LEFT_OUT if on(candidate)]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def _note_pt(pt: int) -> int:
    return max(pt - 3, MIN_PT)


def _margin(candidate: tuple) -> int:
    """The text's margin in the panel: narrower for one line per equation (the last resort)."""
    return TIGHT_MARGIN if candidate[4] > 0 else MARGIN


#: Between the head and a note on its line.
HEAD_GAP = "\u2003"


def _render(eq, pt: int, general: bool, symbolic: bool, products: bool, short: int, look: theme.Theme,
            note: str = "", inline: bool = False) -> _Html:
    """The whole panel at body size ``pt`` in the colours of ``look``; ``general`` adds the
    cell's equations, ``symbolic`` the unit's equations in symbols above its numbers,
    ``products`` the written-out products; ``short`` shows one line per equation (its
    sums left out; 2: its inputs too); ``note`` is a muted line under the head (what is left
    out), or with ``inline`` the end of the head's line."""
    head = eq.head
    # "GRU — unit 3, step t = 5" wraps after the dash or the comma, never inside "t = 5"
    label, dash, where = head.rpartition(" — ")
    where = ", ".join(part.replace(" ", "&nbsp;") for part in _html.escape(where).split(", "))
    after = ""
    if note and inline:
        after = (f'{HEAD_GAP}<span style="font-size:{_note_pt(pt)}pt; font-weight:normal;'
                 f' color:{look.muted}">{_html.escape(note)}</span>')
    out = _Html(head + (HEAD_GAP + note if after else "") + "\n",
                f'<p style="font-size:{pt + 2}pt; font-weight:bold; color:{role_colour(eq.head_role, look)};'
                f' margin:0{"; white-space:nowrap" if after else ""}">{_html.escape(label + dash)}{where}{after}</p>')
    if note and not inline:
        out = out + _Html(note + "\n", f'<p style="font-size:{_note_pt(pt)}pt; color:{look.muted};'
                                       f' margin:0; white-space:nowrap">{_html.escape(note)}</p>')
    if eq.note is not None:
        out = out + _Html(eq.note.plain + "\n", f'<p style="font-size:{_note_pt(pt)}pt; color:{look.muted};'
                                                 f' margin:0">{frag_html(eq.note, look)}</p>')
    if general:
        out = out + _table(eq.general, max(pt - 2, MIN_PT), look)
        out = out + _Html("\n", "<hr/>")
    if short:  # the last resort of a small panel: the lines close together too
        return out + _table(brief(eq.numbers, inputs=short < 2), pt, look, tight=True)
    rows = eq.numbers if products else without_products(eq.numbers)
    return out + _table(rows if symbolic else collapse(rows), pt, look)


def _table(rows, pt: int, look: theme.Theme, tight: bool = False) -> _Html:
    plain = "".join(f"{r.lhs.plain} = {r.rhs.plain}\n" if r.lhs else f"    = {r.rhs.plain}\n" for r in rows)
    gap = max(pt // 2, 4)
    pad, margin = (0, 2) if tight else (1, 4)
    cells = []
    for r in rows:
        td = f' style="padding-top:{gap}px"' if r.gap else ""
        rhs = frag_html(r.rhs, look)
        if r.muted:
            rhs = f'<span style="color:{look.muted}">{rhs}</span>'
        cells.append(f'<tr><td align="right"{td}>{frag_html(r.lhs, look)}</td><td align="center"{td}>&nbsp;=&nbsp;</td>'
                     f'<td{td}>{rhs}</td></tr>')
    return _Html(plain, f'<table cellspacing="0" cellpadding="{pad}" style="font-size:{pt}pt; margin-top:{margin}px;'
                        f' margin-bottom:{margin}px">{"".join(cells)}</table>')


__all__ = ["EquationPanel", "frag_html", "role_colour", "fmt", "parse", "MINUS", "Row"]
