"""FragLine paints a Frag as a rich-text QLabel would show it, without its HTML layout."""

import numpy as np
from PySide6 import QtGui, QtWidgets

from rnnviz.core.format import NBSP, Frag, Span
from rnnviz.ui import theme
from rnnviz.ui.equations import frag_html
from rnnviz.ui.fragline import FragLine


def ink(line: FragLine) -> np.ndarray:
    """(rows, columns) of the pixels that are not the background."""
    img = line.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    a = np.frombuffer(bytes(img.constBits()), np.uint32).reshape(img.height(), -1)[:, : img.width()]
    return a != (QtGui.QColor(line.look.background).rgb() & 0xFFFFFFFF)


def make(qtbot, frag, look=theme.LIGHT):
    line = FragLine(look)
    qtbot.addWidget(line)
    line.setFont(theme.font(look.font_pt))
    line.resize(400, line.height())
    line.setFrag(frag, look)
    return line


def test_text_and_plain_text(qtbot):
    frag = Frag(Span("t = 3", bold=True), f": x{NBSP}=", Span("1", script="sub"), Span(" RNN", role="cell:gru"))
    line = make(qtbot, frag)
    assert line.text() == frag_html(frag, theme.LIGHT)
    assert line.plainText() == "t = 3: x =1 RNN"
    assert line.frag() == frag


def test_its_height_is_a_label_s(qtbot):
    for pt in (9, 11, 16, 22):
        line, label = make(qtbot, Frag("x")), QtWidgets.QLabel("<b>x</b><sub>1</sub>")
        qtbot.addWidget(label)
        line.setFont(theme.font(pt))
        label.setFont(theme.font(pt))
        assert line.height() == label.sizeHint().height()


def test_spans_are_drawn_bold_coloured_and_as_scripts(qtbot):
    plain = ink(make(qtbot, Frag("x", "1")))
    script = ink(make(qtbot, Frag("x", Span("1", script="sub"))))
    cols = lambda a: np.flatnonzero(a.any(axis=0))  # noqa: E731
    assert cols(script)[-1] < cols(plain)[-1]  # a smaller digit
    rows = lambda a: np.flatnonzero(a.any(axis=1))  # noqa: E731
    assert rows(script)[-1] > rows(plain)[-1]  # whose foot is below the baseline
    bold = ink(make(qtbot, Frag(Span("mmmm", bold=True))))
    assert bold.sum() > ink(make(qtbot, Frag("mmmm"))).sum()
    gru = make(qtbot, Frag(Span("GRU GRU", role="cell:gru", bold=True)))
    img = gru.grab().toImage()
    want = QtGui.QColor(theme.LIGHT.cell_colour("gru"))
    seen = {img.pixelColor(x, y).name() for x in range(img.width()) for y in range(img.height())}
    assert want.name() in seen


def test_a_theme_repaints_the_background(qtbot):
    line = make(qtbot, Frag("x"))
    corner = lambda: line.grab().toImage().pixelColor(line.width() - 2, 1).name()  # noqa: E731
    assert corner() == QtGui.QColor(theme.LIGHT.background).name()
    line.setFrag(line.frag(), theme.DARK)  # the same line, a new theme
    assert corner() == QtGui.QColor(theme.DARK.background).name()
