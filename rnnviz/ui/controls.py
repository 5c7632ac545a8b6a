"""The side panel: every knob of the model, each one a call to the controller.

The panel is content only; the main window wraps it in a ``QScrollArea``. Sections fold
away under their headers so a teacher can keep just the sliders of the lesson open.

Data flows one way: a widget calls ``controller.update(...)`` (or ``setEntry`` …); the
controller emits ``settingsChanged`` and the panel pushes the new values back into its
widgets with their signals blocked, so nothing echoes.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..engine.bidirectional import layers_of
from ..engine.cells import CELL_KINDS, CHOICES, kind_of
from ..core import model as M
from ..core.format import fixed, fmt
from ..core.frames import ENTRY_RANGE, entry_readout, rho_prefix
from . import theme
from .actions import RING_AROUND
from .panels import Panel
from .steady import SteadySlot

#: The custom-signal table shows the first this many time steps; later steps keep their values.
TABLE_COLUMNS = 200
#: The group sliders that shift one gate's bias (the LSTM forget gate, the GRU update gate …).
BIAS_SLIDERS = tuple(dict.fromkeys(name for kind in CELL_KINDS.values() for name in kind.bias_sliders))
#: The T slider covers this range; the spin box beside it goes up to LIMITS["T"].
T_SLIDER_MAX = 2000
#: ρ(W_hh) of big cells (see core.frames.RHO_SYNC_COST) is refreshed once a slider pauses this long.
RHO_DELAY_MS = 150

format_value = fixed  # a number for a projector: fixed decimals and a real minus sign


# ---------------------------------------------------------------------- ValueSlider
class _Slider(QtWidgets.QSlider):
    doubleClicked = QtCore.Signal()

    def mouseDoubleClickEvent(self, event: QtGui.QMouseEvent) -> None:
        self.doubleClicked.emit()
        event.accept()

    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:
        # A wheel over an unfocused slider scrolls the panel instead: otherwise scrolling a
        # long panel would silently change whichever slider passes under the pointer.
        if not self.hasFocus():
            event.ignore()
            return
        super().wheelEvent(event)


class _ClickLabel(QtWidgets.QLabel):
    doubleClicked = QtCore.Signal()

    def mouseDoubleClickEvent(self, event: QtGui.QMouseEvent) -> None:
        self.doubleClicked.emit()
        event.accept()


def _set_spin(spin: QtWidgets.QSpinBox, value: int) -> None:
    """Show ``value`` without emitting; no repaint when it is already shown (a spin box
    repaints on every setValue, and the panel behind it with it, at every slider tick)."""
    if spin.value() != value:
        with QtCore.QSignalBlocker(spin):
            spin.setValue(value)


class ValueSlider(QtWidgets.QWidget):
    """A float slider with its name and value shown; double-click resets it.

    The QSlider underneath counts integer ticks of ``step``. ``setValue`` is for values
    pushed from the controller and never emits; user drags, clicks, wheel turns (once the
    slider has focus) and ↑/↓ emit ``valueChanged(float)`` (in the main window ←/→,
    PageUp/PageDown and Home/End step the time whatever has the focus: see
    :class:`rnnviz.ui.actions.FocusKeys`). A double click on the slider or its value emits
    ``resetRequested`` and, if the slider has a ``default``, also moves to it and emits
    ``valueChanged``.
    """

    valueChanged = QtCore.Signal(float)
    resetRequested = QtCore.Signal()

    def __init__(self, text: str, minimum: float, maximum: float, default: float | None = None,
                 step: float = 0.01, decimals: int = 2, inline: bool = False, name_width: int | None = None,
                 tooltip: str | None = None, significant: int | None = None, parent=None):
        super().__init__(parent)
        self._min, self._max, self._step = float(minimum), float(maximum), float(step)
        self._decimals = decimals
        self._significant = significant  # show significant digits (as the equations) instead
        self.default = default
        self._value = float(default if default is not None else minimum)
        self.setProperty(RING_AROUND, True)  # the focus ring goes round the name, slider and value

        self.nameLabel = _ClickLabel(text)
        self.slider = _Slider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, round((self._max - self._min) / self._step))
        self.slider.setSingleStep(1)
        self.slider.setPageStep(max(1, self.slider.maximum() // 20))
        self.slider.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.slider.setMinimumHeight(26)
        self.label = _ClickLabel()
        self.label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        fm = QtGui.QFontMetrics(self.label.font())
        widest = max(self._text(self._min), self._text(self._max), key=len)
        if significant:
            widest = self._text(-0.1234)  # the longest such value: "−0.1234"
        self.label.setMinimumWidth(fm.horizontalAdvance(widest + "0") + 4)

        tip = tooltip or text
        if default is not None:
            tip += f"\nDouble-click to reset to {self._text(default)}."
        else:
            tip += "\nDouble-click to reset."
        for w in (self.nameLabel, self.slider, self.label):
            w.setToolTip(tip)

        if inline:
            lay = QtWidgets.QHBoxLayout(self)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(6)
            if name_width:
                self.nameLabel.setFixedWidth(name_width)
            lay.addWidget(self.nameLabel)
            lay.addWidget(self.slider, 1)
            lay.addWidget(SteadySlot(self.label))  # its value changes at every tick
        else:
            lay = QtWidgets.QGridLayout(self)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setHorizontalSpacing(6)
            lay.setVerticalSpacing(0)
            lay.addWidget(self.nameLabel, 0, 0, 1, 2)
            lay.addWidget(self.slider, 1, 0)
            lay.addWidget(SteadySlot(self.label), 1, 1)

        self.slider.valueChanged.connect(self._onTick)
        self.slider.doubleClicked.connect(self.reset)
        self.label.doubleClicked.connect(self.reset)
        self.nameLabel.doubleClicked.connect(self.reset)
        self._show(self._value)

    # ticks ↔ values
    def _toTick(self, v: float) -> int:
        v = min(max(v, self._min), self._max)
        return round((v - self._min) / self._step)

    def _fromTick(self, i: int) -> float:
        return round(self._min + i * self._step, 10)

    def _show(self, v: float) -> None:
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setValue(self._toTick(v) if np.isfinite(v) else 0)
        self.label.setText(self._text(v))

    def _text(self, v: float) -> str:
        if self._significant:
            return fmt(v, self._significant)
        return format_value(v, self._decimals)

    def _onTick(self, i: int) -> None:
        self._value = self._fromTick(i)
        self.label.setText(self._text(self._value))
        self.valueChanged.emit(self._value)

    # public
    def value(self) -> float:
        return self._value

    def setValue(self, v: float) -> None:
        """Show ``v`` without emitting (values outside the range show in the label)."""
        v = float(v)
        if v == self._value and self.label.text():
            return
        self._value = v
        self._show(v)

    def setText(self, text: str) -> None:
        self.nameLabel.setText(text)

    def minimum(self) -> float:
        return self._min

    def maximum(self) -> float:
        return self._max

    def reset(self) -> None:
        self.resetRequested.emit()
        if self.default is not None and self.default != self._value:
            self._value = float(self.default)
            self._show(self._value)
            self.valueChanged.emit(self._value)


# ---------------------------------------------------------------------- sections
class Section(QtWidgets.QWidget):
    """A bold header that folds its content away."""

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.header = QtWidgets.QToolButton()
        self.header.setText(title)
        self.header.setCheckable(True)
        self.header.setChecked(True)
        self.header.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setArrowType(QtCore.Qt.ArrowType.DownArrow)
        self.header.setFont(theme.font(theme.LIGHT.title_pt, bold=True))  # ControlPanel.setTheme restyles
        self.header.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.header.setAutoRaise(True)
        self.header.setStyleSheet(
            f"QToolButton {{ border: none; border-bottom: 2px solid #B0B0B0; padding: 4px 2px;"
            f" color: {theme.LIGHT.foreground}; text-align: left; }}")
        self.body = QtWidgets.QWidget()
        self.bodyLayout = QtWidgets.QVBoxLayout(self.body)
        self.bodyLayout.setContentsMargins(6, 6, 4, 8)  # room for the focus ring on the right
        self.bodyLayout.setSpacing(6)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addWidget(self.body)
        self.header.toggled.connect(self.setExpanded)

    def setExpanded(self, on: bool) -> None:
        with QtCore.QSignalBlocker(self.header):
            self.header.setChecked(on)
        self.header.setArrowType(QtCore.Qt.ArrowType.DownArrow if on else QtCore.Qt.ArrowType.RightArrow)
        self.body.setVisible(on)

    def addWidget(self, w: QtWidgets.QWidget) -> QtWidgets.QWidget:
        self.bodyLayout.addWidget(w)
        return w

    def addLayout(self, lay: QtWidgets.QLayout) -> QtWidgets.QLayout:
        self.bodyLayout.addLayout(lay)
        return lay


def _hint(text: str = "") -> QtWidgets.QLabel:
    lab = QtWidgets.QLabel(text)
    lab.setWordWrap(True)
    lab.setFont(theme.font(theme.LIGHT.font_pt - 1))  # ControlPanel.setTheme restyles
    lab.setStyleSheet("color: #555555;")
    return lab


# ---------------------------------------------------------------------- the panel
class ControlPanel(Panel, QtWidgets.QWidget):
    """Cell, sizes, weight sliders, sequence length and input signal, in folding sections.

    Accessors used by tests and the main window: ``cellButtons`` (key → QToolButton),
    ``hiddenSpin``, ``inputSpin``, ``seedSpin``, ``seedExampleButton``, ``groupSliders``
    (setting name → ValueSlider), ``entrySliders`` ((param, row, col) → ValueSlider),
    ``rhoLabel``, ``tSlider``, ``tSpin``, ``signalCombo``, ``amplitudeSlider``,
    ``periodSlider``, ``customTable``, ``loadedLabel``, ``layerCombo``.
    """

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self._controller = controller
        self.setFont(theme.font(self.look.font_pt))
        self.setMinimumWidth(340)
        self.setMaximumWidth(400)
        self._entryKey = None
        self._tableKey = None
        self._rhoKey = None
        self._rhoTimer = QtCore.QTimer(self)
        self._rhoTimer.setSingleShot(True)
        self._rhoTimer.setInterval(RHO_DELAY_MS)
        self._rhoTimer.timeout.connect(self._refreshRho)
        self.entrySliders: dict[tuple[str, int, int], ValueSlider] = {}

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 6)
        lay.setSpacing(8)
        self.sections = {}
        for key, title, build in (
            ("cell", "Cell", self._buildCell),
            ("sizes", "Sizes and seed", self._buildSizes),
            ("weights", "Weights", self._buildGroups),
            ("entries", "Single weights", self._buildEntries),
            ("sequence", "Sequence length T", self._buildSequence),
            ("signal", "Input signal x_t", self._buildSignal),
        ):
            sec = Section(title)
            build(sec)
            lay.addWidget(sec)
            self.sections[key] = sec
        lay.addStretch(1)

        c = controller
        c.settingsChanged.connect(self._onSettings)
        c.frameChanged.connect(self._onFrame)
        c.loadedChanged.connect(self._onLoaded)
        c.layerChanged.connect(self._onLayer)
        self._onLoaded(c.loadedName)
        self._onSettings(c.settings)
        self._frame = None
        if c.frame is not None:
            self._onFrame(c.frame)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(360, super().sizeHint().height())

    def setTheme(self, look: theme.Theme) -> None:
        """Restyle for ``look``: the colours and fonts this panel sets itself (the rest follows
        the application palette)."""
        super().setTheme(look)
        t = look
        self.setFont(theme.font(self.look.font_pt))
        for sec in self.sections.values():
            sec.header.setFont(theme.font(self.look.title_pt, bold=True))
            sec.header.setStyleSheet(
                f"QToolButton {{ border: none; border-bottom: 2px solid {t.border}; padding: 4px 2px;"
                f" color: {t.foreground}; text-align: left; }}")
        for key, b in self.cellButtons.items():
            b.setFont(theme.font(self.look.font_pt, bold=True))
            b.setStyleSheet(
                f"QToolButton {{ border: 1px solid {t.border}; border-radius: 4px; background: {t.button};"
                f" color: {t.foreground}; padding: 3px; }}"
                f" QToolButton:checked {{ background: {t.cell_colour(key, '#D8D8D8' if t.dark else '#404040')};"
                f" color: {'#1B1D21' if t.dark else 'white'}; border-color: {t.foreground}; }}")
        for hint in (self.entryHint, self.customHint):
            hint.setFont(theme.font(self.look.font_pt - 1))
            hint.setStyleSheet(f"color: {t.muted};")
        self.loadedLabel.setFont(theme.font(self.look.font_pt, bold=True))
        self.loadedLabel.setStyleSheet(f"color: {t.warning_fg};")
        self.rhoLabel.setFont(theme.font(self.look.font_pt + 1, bold=True))
        grows = "> 1" in self._rhoText
        self.rhoLabel.setStyleSheet(f"color: {t.warning_fg if grows else t.foreground};")

    # ------------------------------------------------------------------ building
    def _buildCell(self, sec: Section) -> None:
        grid = QtWidgets.QGridLayout()
        grid.setSpacing(4)
        self.cellGroup = QtWidgets.QButtonGroup(self)
        self.cellGroup.setExclusive(True)
        self.cellButtons: dict[str, QtWidgets.QToolButton] = {}
        for k, (key, label) in enumerate(M.CELL_CHOICES.items()):
            b = QtWidgets.QToolButton()
            b.setText(label)
            b.setCheckable(True)
            b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
            b.setMinimumHeight(34)
            b.setFont(theme.font(self.look.font_pt, bold=True))
            b.setStyleSheet(
                "QToolButton { border: 1px solid #909090; border-radius: 4px; background: #F4F4F4;"
                f" color: {self.look.foreground}; padding: 3px; }}"
                f" QToolButton:checked {{ background: {self.look.cell_colour(key, '#404040')};"
                " color: white; border-color: #303030; }")
            tip = {"compare": "Run the tanh RNN, the GRU and the LSTM side by side on the same input."}.get(
                key, f"Use a {label} cell (initialised like PyTorch from the seed).")
            b.setToolTip(tip)
            self.cellGroup.addButton(b)
            self.cellButtons[key] = b
            grid.addWidget(b, k // 3, k % 3)
            b.clicked.connect(lambda _=False, key=key: self._controller.update(cell=key))
        sec.addLayout(grid)

        self.loadedLabel = QtWidgets.QLabel()
        self.loadedLabel.setWordWrap(True)
        self.loadedLabel.setFont(theme.font(self.look.font_pt, bold=True))
        self.loadedLabel.setStyleSheet(f"color: {self.look.warning_fg};")
        self.loadedLabel.setToolTip("The weights come from this file. Pick a cell above to go back to random weights.")
        sec.addWidget(self.loadedLabel)
        row = QtWidgets.QHBoxLayout()
        self.layerLabel = QtWidgets.QLabel("Show layer")
        self.layerCombo = QtWidgets.QComboBox()
        self.layerCombo.setToolTip("Which layer of the stack the views trace.")
        self.layerCombo.activated.connect(lambda k: self._controller.setLayer(k))
        row.addWidget(self.layerLabel)
        row.addWidget(self.layerCombo, 1)
        self.layerRow = QtWidgets.QWidget()
        self.layerRow.setLayout(row)
        row.setContentsMargins(0, 4, 4, 4)  # room for the focus ring
        sec.addWidget(self.layerRow)

    def _buildSizes(self, sec: Section) -> None:
        form = QtWidgets.QFormLayout()
        form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignLeft)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(4)

        def spin(lo, hi, tip):
            s = QtWidgets.QSpinBox()
            s.setRange(lo, hi)
            s.setKeyboardTracking(False)  # typing "128" is one change, not 1, 12, 128
            s.setMinimumHeight(30)
            s.setAccelerated(True)
            s.setToolTip(tip)
            return s

        self.hiddenSpin = spin(*M.LIMITS["hidden_size"], "Hidden size H: the number of units in h_t.")
        self.inputSpin = spin(*M.LIMITS["input_size"], "Input size D: the number of features in x_t.")
        self.seedSpin = spin(0, 2**31 - 1, "Random seed of the initial weights (and of the noise signal).")
        form.addRow("Hidden size H", self.hiddenSpin)
        form.addRow("Input size D", self.inputSpin)
        form.addRow("Random seed", self.seedSpin)
        sec.addLayout(form)
        self.hiddenSpin.valueChanged.connect(lambda v: self._controller.update(hidden_size=int(v)))
        self.inputSpin.valueChanged.connect(lambda v: self._controller.update(input_size=int(v)))
        self.seedSpin.valueChanged.connect(lambda v: self._controller.update(seed=int(v)))

        self.seedExampleButton = QtWidgets.QPushButton("Seed example (tanh RNN, D = 1, H = 2)")
        self.seedExampleButton.setMinimumHeight(32)
        self.seedExampleButton.setToolTip(
            "The seed document's worked example: a tanh RNN with input 1, hidden 2,\n"
            "weights from np.random.seed(0) and inputs 0.1, 0.5, 0.9.")
        self.seedExampleButton.clicked.connect(lambda: self._controller.useSeedExample())
        sec.addWidget(self.seedExampleButton)

    def _buildGroups(self, sec: Section) -> None:
        d = M.Settings()
        specs = [
            ("input_scale", "Input weights × (scale of W_ih)", 0.0, 3.0,
             "Multiplies every input weight W_ih."),
            ("recurrent_scale", "Recurrent weights × (scale of W_hh)", 0.0, 3.0,
             "Multiplies every recurrent weight W_hh. ρ(W_hh) > 1 lets the state grow, < 1 makes it fade."),
            ("bias_shift", "Bias shift (+ to every b)", -3.0, 3.0, "Added to every bias entry."),
            ("forget_bias", "LSTM forget-gate bias + b_f", -5.0, 5.0,
             "Added to the forget-gate biases. Large b_f keeps f ≈ 1: the cell state c remembers."),
            ("update_bias", "GRU update-gate bias + b_z", -5.0, 5.0,
             "Added to the update-gate biases. Large b_z keeps z ≈ 1: h is carried over unchanged."),
        ]
        self.groupSliders: dict[str, ValueSlider] = {}
        for key, text, lo, hi, tip in specs:
            s = ValueSlider(text, lo, hi, default=getattr(d, key), tooltip=tip)
            s.valueChanged.connect(lambda v, key=key: self._controller.update(**{key: v}))
            self.groupSliders[key] = s
            sec.addWidget(s)
            if key == "recurrent_scale":
                self._rhoText = "–"
                self.rho = float("nan")
                self.rhoLabel = QtWidgets.QLabel("ρ(W_hh) = –")
                self.rhoLabel.setFont(theme.font(self.look.font_pt + 1, bold=True))
                self.rhoLabel.setWordWrap(True)
                self.rhoLabel.setContentsMargins(0, 0, 0, 4)
                self.rhoLabel.setToolTip(
                    "Spectral radius: the largest |eigenvalue| of the recurrent weights (for the GRU and\n"
                    "LSTM the largest over the gate blocks). Above 1 the state can grow step after step.")
                sec.addWidget(SteadySlot(self.rhoLabel))  # new at every tick of the weights

    def _buildEntries(self, sec: Section) -> None:
        self.entryHint = _hint()
        sec.addWidget(self.entryHint)
        self.entryBox = QtWidgets.QWidget()
        self.entryLayout = QtWidgets.QVBoxLayout(self.entryBox)
        self.entryLayout.setContentsMargins(4, 4, 4, 4)  # room for the focus ring
        self.entryLayout.setSpacing(2)
        sec.addWidget(self.entryBox)

    def _buildSequence(self, sec: Section) -> None:
        row = QtWidgets.QHBoxLayout()
        self.tSlider = _Slider(QtCore.Qt.Orientation.Horizontal)
        self.tSlider.setRange(M.LIMITS["T"][0], T_SLIDER_MAX)
        self.tSlider.setPageStep(10)
        self.tSlider.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.tSlider.setMinimumHeight(26)
        self.tSlider.setToolTip(f"Number of time steps T (1–{T_SLIDER_MAX} here; type larger values in the box).")
        self.tSpin = QtWidgets.QSpinBox()
        self.tSpin.setRange(*M.LIMITS["T"])
        self.tSpin.setKeyboardTracking(False)
        self.tSpin.setMinimumHeight(30)
        self.tSpin.setMinimumWidth(92)
        self.tSpin.setAccelerated(True)
        self.tSpin.setToolTip(f"Number of time steps T (up to {M.LIMITS['T'][1]:,}).")
        row.addWidget(self.tSlider, 1)
        row.addWidget(self.tSpin)
        sec.addLayout(row)
        self.tSlider.valueChanged.connect(lambda v: self._controller.update(T=int(v)))
        self.tSpin.valueChanged.connect(lambda v: self._controller.update(T=int(v)))
        self.tSlider.doubleClicked.connect(lambda: self._controller.update(T=M.Settings().T))

    def _buildSignal(self, sec: Section) -> None:
        self.signalCombo = QtWidgets.QComboBox()
        self.signalCombo.setMinimumHeight(30)
        for key, label in M.SIGNALS.items():
            self.signalCombo.addItem(label, key)
        self.signalCombo.setToolTip("What the network reads at each step t.")
        self.signalCombo.activated.connect(self._onSignalChosen)
        sec.addWidget(self.signalCombo)
        d = M.Settings()
        self.amplitudeSlider = ValueSlider("Amplitude A", -3.0, 3.0, default=d.amplitude,
                                           tooltip="Height of the impulse, step, sine, noise or constant.")
        self.amplitudeSlider.valueChanged.connect(lambda v: self._controller.update(amplitude=v))
        sec.addWidget(self.amplitudeSlider)
        self.periodSlider = ValueSlider("Sine period (steps)", 2.0, 100.0, default=d.period, step=0.5, decimals=1,
                                        tooltip="Steps per full sine wave.")
        self.periodSlider.valueChanged.connect(lambda v: self._controller.update(period=v))
        sec.addWidget(self.periodSlider)

        self.customBox = QtWidgets.QWidget()
        cl = QtWidgets.QVBoxLayout(self.customBox)
        cl.setContentsMargins(4, 4, 4, 0)  # room for the focus ring
        cl.setSpacing(2)
        self.customTable = QtWidgets.QTableWidget()
        self.customTable.setToolTip("Type the input values: one row per feature of x_t, one column per step t.")
        self.customTable.horizontalHeader().setDefaultSectionSize(64)
        self.customTable.verticalHeader().setDefaultSectionSize(28)
        self.customTable.setFont(theme.font(self.look.font_pt))
        self.customTable.itemChanged.connect(self._onTableEdit)
        self.customHint = _hint()
        cl.addWidget(self.customTable)
        cl.addWidget(self.customHint)
        sec.addWidget(self.customBox)

    # ------------------------------------------------------------------ user actions
    def _onSignalChosen(self, index: int) -> None:
        key = self.signalCombo.itemData(index)
        c = self._controller
        if key == "custom" and not c.settings.custom and c.result is not None:
            # Start the table from what the network reads now, so a teacher can edit it.
            xs = c.result.xs
            c.update(signal="custom", custom=tuple(tuple(float(v) for v in row) for row in xs))
        else:
            c.update(signal=key)

    def _onTableEdit(self, item: QtWidgets.QTableWidgetItem) -> None:
        s = self._controller.settings
        d, t = item.row(), item.column()
        try:
            value = float(item.text().replace("−", "-").replace(",", "."))
            ok = np.isfinite(value)
        except ValueError:
            ok = False
        if not ok:
            self._tableKey = None
            self._fillTable(s)  # put the stored value back
            return
        D, T = s.input_size, s.T
        rows = [list(r)[:D] + [0.0] * (D - len(r)) for r in s.custom[:T]]
        rows += [[0.0] * D for _ in range(T - len(rows))]
        rows[t][d] = value
        self._controller.update(custom=tuple(tuple(r) for r in rows))

    # ------------------------------------------------------------------ controller → widgets
    def _onSettings(self, s: M.Settings) -> None:
        c = self._controller
        loaded = c.loaded is not None
        for key, b in self.cellButtons.items():
            with QtCore.QSignalBlocker(b):
                b.setChecked(key == s.cell)
        H, D = self._layerSizes(s)
        for spin, v in ((self.hiddenSpin, H), (self.inputSpin, D), (self.seedSpin, s.seed)):
            _set_spin(spin, v)
            spin.setEnabled(not loaded)
        for key, slider in self.groupSliders.items():
            slider.setValue(getattr(s, key))
        # a gate's bias slider shows while a cell that has that gate runs (all of them in Compare)
        shown = {name for key in s.kinds for name in kind_of(CHOICES[key].kind).bias_sliders}
        for name in BIAS_SLIDERS:
            self.groupSliders[name].setVisible(name in shown)
        self.rhoLabel.setText(f"{rho_prefix(s)} = {self._rhoText}")

        with QtCore.QSignalBlocker(self.tSlider):
            self.tSlider.setValue(min(s.T, T_SLIDER_MAX))
        _set_spin(self.tSpin, s.T)

        with QtCore.QSignalBlocker(self.signalCombo):
            self.signalCombo.setCurrentIndex(self.signalCombo.findData(s.signal))
        self.amplitudeSlider.setValue(s.amplitude)
        self.amplitudeSlider.setEnabled(s.signal not in ("seed", "custom"))
        self.periodSlider.setValue(s.period)
        self.periodSlider.setVisible(s.signal == "sine")
        self.customBox.setVisible(s.signal == "custom")
        if s.signal == "custom":
            self._fillTable(s)
        self._syncEntries(s)

    def _onFrame(self, frame) -> None:
        old, self._frame = self._frame, frame
        if old is not None and old.base is frame.base:
            return  # a step or the selected unit: nothing here depends on them
        key = frame.base.rho_key
        if key == self._rhoKey:
            return
        self._rhoKey = key
        if frame.base.rho_cheap:
            self._refreshRho()
        else:
            self._setRhoColour("#909090")  # stale until the slider pauses
            self._rhoTimer.start()

    def _refreshRho(self) -> None:
        self._rhoTimer.stop()
        readout = self._frame.rho  # computed (and cached) in core
        self.rho, self._rhoText = readout.rho, readout.value
        self.rhoLabel.setText(readout.text(self._frame.result.settings))
        self._setRhoColour(self.look.warning_fg if readout.grows else self.look.foreground)

    def _setRhoColour(self, colour: str) -> None:
        # a new style sheet re-polishes the label and repaints the whole panel: only on a change
        if self.rhoLabel.styleSheet() != (sheet := f"color: {colour};"):
            self.rhoLabel.setStyleSheet(sheet)

    def _onLoaded(self, name) -> None:
        c = self._controller
        if name:
            n = len(layers_of(c.loaded)) if c.loaded is not None else 1
            self.loadedLabel.setText(f"From file: {name}" + (f"  ({n} layers)" if n > 1 else ""))
            self.loadedLabel.show()
            with QtCore.QSignalBlocker(self.layerCombo):
                self.layerCombo.clear()
                for k in range(n):
                    self.layerCombo.addItem(f"Layer {k + 1} of {n}" + ("  (top)" if k == n - 1 else ""))
                self.layerCombo.setCurrentIndex(range(n)[c.layer] if n else 0)
            self.layerRow.setVisible(n > 1)
        else:
            self.loadedLabel.hide()
            self.layerRow.hide()
        for spin in (self.hiddenSpin, self.inputSpin, self.seedSpin):
            spin.setEnabled(not name)
        # a loaded or trained model may be wider than the built-in cells (a text model's D is its
        # vocabulary): the disabled boxes show its sizes, not the built-in limit
        limits = M.MODEL_LIMITS if name else M.LIMITS
        for spin, key in ((self.hiddenSpin, "hidden_size"), (self.inputSpin, "input_size")):
            with QtCore.QSignalBlocker(spin):
                spin.setRange(*limits[key])
        H, D = self._layerSizes(c.settings)
        _set_spin(self.hiddenSpin, H)
        _set_spin(self.inputSpin, D)
        self._entryKey = None  # the same shape may now hold different weights
        self._syncEntries(c.settings)  # even when the settings compare equal to the old ones

    def _onLayer(self, layer: int) -> None:
        n = self.layerCombo.count()
        if n:
            with QtCore.QSignalBlocker(self.layerCombo):
                self.layerCombo.setCurrentIndex(range(n)[layer])
        H, D = self._layerSizes(self._controller.settings)
        _set_spin(self.hiddenSpin, H)
        _set_spin(self.inputSpin, D)

    def _layerSizes(self, s: M.Settings) -> tuple[int, int]:
        """H and D of the layer the views trace: a loaded stack's layer 2 reads layer 1's h."""
        c = self._controller
        if c.loaded is None:
            return s.hidden_size, s.input_size
        layers = layers_of(c.loaded).layers
        cell = layers[range(len(layers))[c.layer]]
        return cell.hidden_size, cell.input_size

    # ------------------------------------------------------------------ per-entry sliders
    def _syncEntries(self, s: M.Settings) -> None:
        c = self._controller
        readout = entry_readout(s, c.loaded, c.loadedName)  # labels, tooltips and values: core
        if not readout.sliders:
            if self.entrySliders:
                self._clearEntries()
            self._entryKey = None
            self.entryHint.setText(readout.hint)
            self.sections["entries"].setVisible(True)
            return
        if readout.layout != self._entryKey:
            self._buildEntrySliders(readout)
            self._entryKey = readout.layout
        for e in readout.sliders:
            self.entrySliders[(e.param, e.row, e.col)].setValue(e.value)

    def _clearEntries(self) -> None:
        while self.entryLayout.count():
            item = self.entryLayout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.entrySliders = {}

    def _buildEntrySliders(self, readout) -> None:
        self._clearEntries()
        self.entryHint.setText(readout.hint)
        fm = QtGui.QFontMetrics(theme.font(self.look.font_pt))
        name_width = max(fm.horizontalAdvance(e.label) for e in readout.sliders) + 8
        current = None
        for e in readout.sliders:
            if e.group != current:
                title = QtWidgets.QLabel(readout.group_title(e.group))
                title.setFont(theme.font(self.look.font_pt, bold=True))
                title.setContentsMargins(0, 6 if current else 0, 0, 0)
                self.entryLayout.addWidget(title)
                current = e.group
            # the digits the equations give a weight (a factor: one more than a result)
            s = ValueSlider(e.label, *ENTRY_RANGE, default=None, inline=True, name_width=name_width, tooltip=e.tooltip,
                            significant=4)
            s.nameLabel.setFont(theme.font(self.look.font_pt, bold=False))
            s.valueChanged.connect(lambda v, p=e.param, r=e.row, c=e.col: self._controller.setEntry(p, r, c, v))
            s.resetRequested.connect(lambda p=e.param, r=e.row, c=e.col: self._controller.resetEntry(p, r, c))
            self.entrySliders[(e.param, e.row, e.col)] = s
            self.entryLayout.addWidget(s)

    # ------------------------------------------------------------------ custom table
    def _fillTable(self, s: M.Settings) -> None:
        T, D = s.T, s.input_size
        n = min(T, TABLE_COLUMNS)
        key = (n, D, s.custom[:n])
        if key == self._tableKey:
            return
        self._tableKey = key
        tab = self.customTable
        with QtCore.QSignalBlocker(tab):
            tab.setRowCount(D)
            tab.setColumnCount(n)
            tab.setHorizontalHeaderLabels([f"t={t + 1}" for t in range(n)])
            tab.setVerticalHeaderLabels([f"x[{d}]" for d in range(D)])
            for t in range(n):
                row = s.custom[t] if t < len(s.custom) else ()
                for d in range(D):
                    v = float(row[d]) if d < len(row) else 0.0
                    item = tab.item(d, t)
                    text = f"{v:g}"
                    if item is None:
                        item = QtWidgets.QTableWidgetItem(text)
                        item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                        tab.setItem(d, t, item)
                    elif item.text() != text:
                        item.setText(text)
        header = tab.horizontalHeader().height() or 30
        rows = min(D, 5)
        tab.setFixedHeight(header + rows * tab.verticalHeader().defaultSectionSize() + 22)
        if T > n:
            self.customHint.setText(f"The table shows t = 1…{n} of {T:,}; later steps keep their values "
                                    "(0 unless set before).")
        else:
            self.customHint.setText("Type a number in a cell; the network reruns at once.")
