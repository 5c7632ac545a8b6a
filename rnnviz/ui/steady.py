"""A place in a layout for a label whose text changes at every slider tick.

``QLabel.setText`` calls ``updateGeometry()``: the parent's layout is invalidated, and each
layout's activation calls ``updateGeometry()`` on its own widget in turn, so one new number in a
readout (a slider's value, ρ(W_hh), the status line) lays out every layout up to the main window
again, ~2 ms of every slider tick, although the label keeps its size. Qt stops that climb only
at a widget of fixed size, or at a parent without a layout, to which the request is posted and
where it is dropped.

:class:`SteadySlot` is such a parent: it holds one label, fills itself with it, and answers the
layout around it with the label's own size hints and policy (a layout sees exactly what it would
see of the label). It passes a request on, with ``updateGeometry()``, only when what a layout
sees of the label changed: its size hints (the axes a layout ignores left out), minimum and
maximum size, policy or height for the slot's width.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

_IGNORED = QtWidgets.QSizePolicy.Policy.Ignored
#: every digit to the zero of its kind (plain, superscript exponents, subscript indices)
_ZEROS = str.maketrans({d: z for ds, z in (("0123456789", "0"), ("⁰¹²³⁴⁵⁶⁷⁸⁹", "⁰"), ("₀₁₂₃₄₅₆₇₈₉", "₀")) for d in ds})


def _height_key(label: QtWidgets.QWidget) -> tuple | None:
    """What a layout's view of ``label`` can depend on when only its height counts (its width
    ignored, one line whatever the width): everything but which digits its text shows. None
    when its width counts or it wraps. Measuring a rich-text line (QTextDocument layout) was
    ~0.4 ms of every tick for the fading panel's status line; a new value changes its digits."""
    if (not isinstance(label, QtWidgets.QLabel) or label.sizePolicy().horizontalPolicy() != _IGNORED
            or label.hasHeightForWidth() or label.wordWrap()):
        return None
    return (label.text().translate(_ZEROS), label.font().key(), label.textFormat(), label.sizePolicy(),
            label.minimumSize(), label.maximumSize(), label.contentsMargins(), label.margin(), label.indent())


def _layout_view(label: QtWidgets.QWidget, width: int) -> tuple:
    """What a layout reads of ``label`` (QWidgetItem: an Ignored axis's hints count as 0)."""
    policy = label.sizePolicy()
    hint, least = label.sizeHint(), label.minimumSizeHint()
    if policy.horizontalPolicy() == _IGNORED:
        hint.setWidth(0)
        least.setWidth(0)
    if policy.verticalPolicy() == _IGNORED:
        hint.setHeight(0)
        least.setHeight(0)
    hfw = label.heightForWidth(width) if label.hasHeightForWidth() else -1
    return (hint, least, policy, label.minimumSize(), label.maximumSize(), hfw)


class SteadySlot(QtWidgets.QWidget):
    """Holds ``label`` (which it takes as its child, filling itself) in a layout; a text change
    re-lays out the window only if the label's size, as a layout sees it, changed. The label
    stays the object to talk to; hiding or showing it hides or shows the slot."""

    def __init__(self, label: QtWidgets.QWidget, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.label = label
        label.setParent(self)
        self._seen = self._key = None
        self._mirror()
        label.installEventFilter(self)
        if label.isHidden() and label.testAttribute(QtCore.Qt.WidgetAttribute.WA_WState_ExplicitShowHide):
            self.hide()

    def _mirror(self) -> bool:
        """Take the label's policy and size limits; True if a layout would see a change."""
        key = _height_key(self.label)
        if key is not None and key == self._key and self._seen is not None:
            return False  # only digits changed: a one-line label of ignored width keeps its height
        self._key = key
        seen = _layout_view(self.label, self.width())
        if seen == self._seen:
            return False
        self._seen = seen
        self.setSizePolicy(seen[2])
        self.setMinimumSize(seen[3])
        self.setMaximumSize(seen[4])
        return True

    def sizeHint(self) -> QtCore.QSize:
        return self.label.sizeHint()

    def minimumSizeHint(self) -> QtCore.QSize:
        return self.label.minimumSizeHint()

    def hasHeightForWidth(self) -> bool:
        return self.label.hasHeightForWidth()

    def heightForWidth(self, width: int) -> int:
        return self.label.heightForWidth(width)

    def event(self, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Type.LayoutRequest:  # posted by the label's updateGeometry
            if self._mirror():
                self.updateGeometry()
            self._fill()
            return True
        if ev.type() == QtCore.QEvent.Type.Show and self._mirror():
            self.updateGeometry()  # a hidden slot is posted no requests: the text may have grown
        return super().event(ev)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._seen = None if self.label.hasHeightForWidth() else self._seen  # hfw is per width
        self._mirror()
        self._fill()

    def _fill(self) -> None:
        if self.label.geometry() != self.rect():
            self.label.setGeometry(self.rect())

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.label:
            et = ev.type()
            if et == QtCore.QEvent.Type.HideToParent:
                self.hide()
            elif et == QtCore.QEvent.Type.ShowToParent:
                self.show()
        return False
