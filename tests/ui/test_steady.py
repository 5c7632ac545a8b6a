"""SteadySlot: a label's new text re-lays out the window only when its size must change."""

from PySide6 import QtCore, QtWidgets

from rnnviz.ui.steady import SteadySlot


class _Requests(QtCore.QObject):
    """Counts the LayoutRequest events the application delivers, by receiver."""

    def __init__(self):
        super().__init__()
        self.receivers = []
        QtWidgets.QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, ev):
        if ev.type() == QtCore.QEvent.Type.LayoutRequest:
            self.receivers.append(obj)
        return False

    def close(self):
        QtWidgets.QApplication.instance().removeEventFilter(self)


def _window(qtbot, label, policy=None):
    top = QtWidgets.QWidget()
    lay = QtWidgets.QHBoxLayout(top)
    if policy is not None:
        label.setSizePolicy(policy, QtWidgets.QSizePolicy.Policy.Preferred)
    slot = SteadySlot(label)
    lay.addWidget(slot)
    lay.addWidget(QtWidgets.QLabel("neighbour"), 1)
    qtbot.addWidget(top)
    top.resize(600, 80)
    top.show()
    qtbot.waitExposed(top)
    QtWidgets.QApplication.processEvents()
    return top, slot


def _settle():
    for _ in range(3):
        QtWidgets.QApplication.processEvents()


def test_a_text_of_the_same_size_lays_out_nothing_above_the_slot(qtbot):
    label = QtWidgets.QLabel("ρ = 1.23")
    top, slot = _window(qtbot, label)
    spy = _Requests()
    try:
        label.setText("ρ = 4.56")  # same width: digits are of one width
        _settle()
    finally:
        spy.close()
    assert label.text() == "ρ = 4.56"
    assert spy.receivers and all(r is slot for r in spy.receivers)
    assert label.geometry() == slot.rect()


def test_a_longer_text_grows_the_slot_and_the_label_fills_it(qtbot):
    label = QtWidgets.QLabel("short")
    top, slot = _window(qtbot, label)
    before = slot.width()
    spy = _Requests()
    try:
        label.setText("a much longer text that needs more room")
        _settle()
    finally:
        spy.close()
    assert top in spy.receivers  # the window laid out again
    assert slot.width() > before
    assert slot.width() >= label.fontMetrics().horizontalAdvance(label.text())
    assert label.geometry() == slot.rect()


def test_an_ignored_width_does_not_count(qtbot):
    label = QtWidgets.QLabel("<b>t = 1</b>: 0.5")
    label.setTextFormat(QtCore.Qt.TextFormat.RichText)
    top, slot = _window(qtbot, label, QtWidgets.QSizePolicy.Policy.Ignored)
    spy = _Requests()
    try:
        label.setText("<b>t = 1</b>: 0.5 and much more text on the same line")
        _settle()
    finally:
        spy.close()
    assert spy.receivers and all(r is slot for r in spy.receivers)


def test_the_slot_follows_the_labels_limits_policy_and_visibility(qtbot):
    label = QtWidgets.QLabel("x")
    label.setMinimumWidth(90)
    top, slot = _window(qtbot, label)
    assert slot.minimumWidth() == 90 and slot.width() >= 90
    label.setMinimumWidth(150)
    _settle()
    assert slot.minimumWidth() == 150 and slot.width() >= 150
    label.hide()
    assert slot.isHidden()
    label.show()
    assert not slot.isHidden() and label.isVisible()


def _laid_out(qtbot, label, steady):
    top = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(top)
    lay.addWidget(SteadySlot(label) if steady else label)
    lay.addWidget(QtWidgets.QPushButton("below"))
    lay.addStretch(1)
    qtbot.addWidget(top)
    top.resize(220, 300)
    top.show()
    qtbot.waitExposed(top)
    _settle()
    return QtCore.QRect(label.mapTo(top, QtCore.QPoint(0, 0)), label.size())


def test_a_wrapped_label_gets_the_place_it_gets_without_the_slot(qtbot):
    text = "word " * 40
    bare, slotted = QtWidgets.QLabel(text), QtWidgets.QLabel(text)
    for label in (bare, slotted):
        label.setWordWrap(True)
    assert _laid_out(qtbot, slotted, True) == _laid_out(qtbot, bare, False)
    assert slotted.parentWidget().heightForWidth(100) == slotted.heightForWidth(100)
    slotted.setText(text * 2)  # taller at the same width: the window makes room
    bare.setText(text * 2)
    _settle()
    top_s, top_b = slotted.window(), bare.window()
    assert (QtCore.QRect(slotted.mapTo(top_s, QtCore.QPoint(0, 0)), slotted.size())
            == QtCore.QRect(bare.mapTo(top_b, QtCore.QPoint(0, 0)), bare.size()))


def test_new_digits_in_a_line_of_ignored_width_are_not_measured_again(qtbot, monkeypatch):
    """Only the height of such a line counts, and digits do not change it: the rich-text status
    line of the fading panel was laid out twice (QTextDocument) at every tick. Any other change
    is measured, and a taller line still grows the slot."""
    from rnnviz.ui import steady

    label = QtWidgets.QLabel("<b>t = 1</b>: 0.5 %")
    label.setTextFormat(QtCore.Qt.TextFormat.RichText)
    top, slot = _window(qtbot, label, QtWidgets.QSizePolicy.Policy.Ignored)
    measured = []
    view = steady._layout_view
    monkeypatch.setattr(steady, "_layout_view", lambda lab, w: (measured.append(lab.text()), view(lab, w))[1])
    label.setText("<b>t = 7</b>: 0.3 %")
    _settle()
    assert measured == []
    before = slot.sizeHint().height()
    label.setText('<b>t = 7</b>: <span style="font-size:40pt">0.3 %</span>')
    _settle()
    assert len(measured) == 1 and slot.sizeHint().height() > before
    label.setWordWrap(True)  # wrapping: its height depends on the width, always measured
    label.setText('<b>t = 8</b>: <span style="font-size:40pt">0.3 %</span>')
    _settle()
    assert len(measured) >= 2
