"""The Train mode: controls and live plots over the Qt-free :class:`rnnviz.core.training.TrainSession`.

:class:`TrainController` owns the session of one window's controller (:func:`training_for`)
and polls it on a timer (:data:`POLL_MS`): the worker thread never emits a Qt signal, and the
views get at most one ``snapshotChanged`` per tick however many updates ran (a signal per
update would be thousands a second, and PySide6 before Python 3.12 crashes long before that).
The panels (registered in slot "train" of :mod:`rnnviz.ui.panels`) draw snapshots only:

* ``trainControls``: task, cell (or all three), H, optimiser, learning rate, clipping, batch,
  truncation, seed; Train / Pause / Step / Reset, Explore this model, Export;
* ``lossPanel``: train and test loss (log scale), accuracy below it for tasks with classes;
* ``gradientPanel``: log₁₀ ‖∂L/∂h_t‖ over t (x) and update (y), one heatmap per cell;
* ``contribPanel``: ‖∂L_T/∂x_k‖ for k ≤ T on a log scale (RNNbow's contributions);
* ``weightsPanel``: a weight matrix and its change since the start.

:func:`build_modes` puts the Explore page and the Train page in one tab widget.
"""

from __future__ import annotations

import math

import dataclasses
import weakref

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..core import training as TR
from ..core import text as TX
from ..core.format import NBSP
from . import theme
from .caching import cache_decorations
from .heatmaps import label_spill, room_for_labels
from .panels import Panel

__all__ = ["POLL_MS", "TrainController", "TrainControls", "LossPanel", "GradientPanel", "ContribPanel",
           "OutputPanel", "WeightsPanel", "build_modes", "existing_training", "training_for"]

#: The views poll the session this often (ms): 15 repaints a second at most.
POLL_MS = 66
#: Python's thread switch interval (s) while training runs. The worker holds the interpreter
#: for whole numpy-heavy updates; each time the GUI thread returns from Qt (hundreds of times
#: per painted frame) it waits up to this long to get it back. CPython's default 5 ms left the
#: plots at about 6 repaints a second; 1 ms hands the interpreter back sooner.
TRAIN_SWITCH_INTERVAL = 0.001
#: After an Explore change (a slider, a step) the worker waits this long (s) before its next
#: update or cell, so the frame is computed and painted without waiting for the interpreter.
EXPLORE_HOLD_S = 0.05
#: log₁₀ decades the gradient heatmap spans below its largest value.
DECADES = 8.0

_controllers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def training_for(controller) -> "TrainController":
    """The Train mode of the window that shows ``controller`` (made on first use)."""
    tc = _controllers.get(controller)
    if tc is None:
        tc = _controllers[controller] = TrainController(controller)
    return tc


_blas_limited = False


def _one_blas_thread() -> None:
    # once, when the app first trains (see core.training.single_blas_thread for the why)
    global _blas_limited
    if not _blas_limited:
        _blas_limited = True
        TR.single_blas_thread()


_switching: set = set()  # ids of the TrainControllers whose training asked for fast switching
_default_interval = None


def _fast_switching(key: int, on: bool) -> None:
    """Python's switch interval is TRAIN_SWITCH_INTERVAL while any window trains, else as it was."""
    global _default_interval
    import sys

    if on and not _switching:
        _default_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(_default_interval, TRAIN_SWITCH_INTERVAL))
    (_switching.add if on else _switching.discard)(key)
    if not on and not _switching and _default_interval is not None:
        sys.setswitchinterval(_default_interval)
        _default_interval = None


class Explored:
    """A trained model shown in Explore: its name there, the model and the test sequence's targets."""

    def __init__(self, name, model, ys, mask, task):
        self.name, self.model, self.ys, self.mask, self.task = name, model, ys, mask, task


def existing_training(controller) -> "TrainController | None":
    """The Train mode of ``controller`` if it has one and it has been used, else None."""
    tc = _controllers.get(controller)
    return tc if tc is not None and tc.used else None


class TrainController(QtCore.QObject):
    """A :class:`~rnnviz.core.training.TrainSession` and a timer that polls it."""

    snapshotChanged = QtCore.Signal(object)  # core.training.TrainSnapshot
    runningChanged = QtCore.Signal(bool)
    errorOccurred = QtCore.Signal(str)
    exploring = QtCore.Signal(str)  # a trained model went to the Explore views (its name)
    modeChanged = QtCore.Signal(str)  # "explore" or "train": what the window shows

    def __init__(self, controller, parent=None):
        super().__init__(parent if parent is not None else controller)
        self.controller = controller
        self.session = TR.TrainSession()
        self.explored = None  # (name, engine.train.Model) last sent to Explore
        self.mode = "explore"
        self._shown = -1
        self._running = False
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._snapshot = self.session.snapshot()
        session = self.session
        for sig in (controller.settingsChanged, controller.stepChanged, controller.selectedUnitChanged):
            sig.connect(self._onExploreChange)
        key = id(self)
        self.destroyed.connect(lambda *_: (session.close(), _fast_switching(key, False)))

    @property
    def snapshot(self) -> TR.TrainSnapshot:
        return self._snapshot

    def _onExploreChange(self, *_) -> None:
        if self._running:
            self.session.hold(EXPLORE_HOLD_S)

    @property
    def used(self) -> bool:
        """Anything to keep in a session: a setting changed, an update done, or the Train mode shown."""
        s = self.session
        return s.updates > 0 or s.config != TR.TrainConfig() or self.mode == "train"

    def state(self) -> TR.TrainingState:
        return self.session.state(self.mode)

    def restoreState(self, state: TR.TrainingState) -> None:
        """Settings and trained models from a session or lesson; shows the mode it names."""
        self.session.restore(state)
        self.poll()
        self._reattach()
        self.setMode(state.mode)

    def _reattach(self) -> None:
        """After a session opens: if Explore shows one of the trained cells (a session saved
        after "Explore this model"), the output row belongs to it again."""
        c = self.controller
        self.explored = None
        loaded = c.loaded
        if loaded is None or not self.session.updates:
            return
        snap = self.session.snapshot()
        xs, ys, mask = self.session.test_sequence(0)
        for run in snap.runs:
            rnn = run.model.rnn.layers[0] if len(run.model.rnn) == 1 else run.model.rnn
            if _same_weights(rnn, loaded):
                self.explored = Explored(c.loadedName, run.model, ys, mask, snap.task)
                self.exploring.emit(c.loadedName)
                return

    def setMode(self, mode: str) -> None:
        if mode != self.mode:
            self.mode = mode
            self.modeChanged.emit(mode)

    @property
    def running(self) -> bool:
        return self.session.running

    def poll(self) -> None:
        """Hand the newest snapshot to the views if anything changed (the timer calls this)."""
        s = self.session
        if s.version != self._shown:
            self._snapshot = s.snapshot()
            self._shown = self._snapshot.version
            self.snapshotChanged.emit(self._snapshot)
        running = s.running
        if running != self._running:
            self._running = running
            self.runningChanged.emit(running)
            if not running:
                self._timer.stop()
                _fast_switching(id(self), False)
                if self._snapshot.error:
                    self.errorOccurred.emit(self._snapshot.error)

    # ------------------------------------------------------------ commands
    def configure(self, **changes) -> bool:
        try:
            reset = self.session.configure(**changes)
        except ValueError as err:
            self.errorOccurred.emit(str(err))
            self.poll()  # the controls show the settings that stand
            return False
        self.poll()
        return reset

    def start(self) -> None:
        _one_blas_thread()
        _fast_switching(id(self), True)
        self.session.start()
        self._timer.start()
        self.poll()

    def pause(self) -> None:
        self.session.pause()
        self.poll()

    def toggle(self) -> None:
        if self.running:
            self.pause()
        else:
            self.start()

    def step(self) -> None:
        _one_blas_thread()
        self.session.step()
        self.poll()

    def reset(self) -> None:
        self.session.reset()
        self.poll()

    def useConfig(self, config: TR.TrainConfig) -> None:
        """Replace every setting (a lesson or a session file)."""
        self.pause()
        self.configure(**{f: getattr(config, f) for f in TR.FIELDS})

    def exploreModel(self, key: str | None = None) -> str:
        """Show the trained cell ``key`` (default the first) in the Explore views, stepping
        through the first test sequence of the task. Returns the name it is shown under."""
        snap = self.session.snapshot()
        run = next((r for r in snap.runs if r.key == key), snap.runs[0])
        xs, ys, mask = self.session.test_sequence(0)
        name = f"trained {run.label} ({snap.task.label}, {snap.updates} updates)"
        model = run.model
        rnn = model.rnn.layers[0] if len(model.rnn) == 1 else model.rnn
        app = self.controller.app
        self.explored = Explored(name, model, ys, mask, snap.task)  # before the run: the output row reads it
        with app.state.events.paused():
            app.use_model(rnn, name)
            text = "" if snap.task.chars is None else TX.decode_one_hot(xs, snap.task.chars.chars) or ""
            app.update(signal="custom", custom=tuple(tuple(float(v) for v in row) for row in xs), T=len(xs),
                       text=text)  # a character model's input: the reading view shows its text
        self.setMode("explore")
        self.exploring.emit(name)
        return name

    def exportModel(self, key: str, path: str) -> None:
        """Write the trained model ``key`` with PyTorch's names. Raises InputError or OSError."""
        TR.export_model(self.session.models()[key], path)


def _same_weights(a, b) -> bool:
    """Two cells or stacks with the same kind, shapes and parameters."""
    from ..engine.cells import as_stack

    la, lb = as_stack(a).layers, as_stack(b).layers
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        if not (dataclasses.is_dataclass(x) and dataclasses.is_dataclass(y)):
            return False
        for f in dataclasses.fields(x):
            u, v = getattr(x, f.name), getattr(y, f.name, None)
            if isinstance(u, np.ndarray) or isinstance(v, np.ndarray):
                u, v = np.asarray(u), np.asarray(v)
                if u.shape != v.shape or not np.allclose(u, v, rtol=1e-12, atol=1e-12):
                    return False
            elif u != v:
                return False
    return True


# ====================================================================== controls
#: The Export dialog's filters: PyTorch's names (RNNModel) or Keras 3's layout.
EXPORT_FILTER = ("PyTorch RNNModel, safetensors (*.safetensors);;PyTorch RNNModel, npz (*.npz);;"
                 "Keras 3 weights (*.weights.h5)")
EXPORT_SUFFIX_OF = dict(zip(EXPORT_FILTER.split(";;"), TR.EXPORT_SUFFIXES))
class _Refusing:
    """A spin box that says what it refuses: a keystroke its validator drops, or a finished
    entry out of range that it would silently put back (``sigRefused``: one line)."""

    def _refused(self, text: str) -> None:
        text = text.strip()
        prefix, suffix = self.prefix(), self.suffix()
        if text.startswith(prefix):
            text = text[len(prefix):]
        if suffix and text.endswith(suffix):
            text = text[: -len(suffix)]
        if not text.strip() or text == self.specialValueText():
            return
        name = self.accessibleName() or "value"
        lo = self.textFromValue(self.minimum())
        if self.specialValueText():
            lo += f" ({self.specialValueText()})"
        self.sigRefused.emit(f"{name}: {text.strip()!r} is not accepted; enter a number from {lo} to "
                             f"{self.textFromValue(self.maximum())}")

    def validate(self, text, pos):
        result = super().validate(text, pos)
        state = result[0] if isinstance(result, tuple) else result
        if state == QtGui.QValidator.State.Invalid:
            self._refused(text)
        return result

    def fixup(self, text):
        self._refused(text)
        return super().fixup(text)


class _SpinBox(_Refusing, QtWidgets.QSpinBox):
    sigRefused = QtCore.Signal(str)


class _DoubleSpinBox(_Refusing, QtWidgets.QDoubleSpinBox):
    sigRefused = QtCore.Signal(str)


def _spin(lo, hi, value, special=None, tip=None, box=None) -> QtWidgets.QSpinBox:
    s = box if box is not None else _SpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    if special:
        s.setSpecialValueText(special)
    if tip:
        s.setToolTip(tip)
    s.setKeyboardTracking(False)
    return s


def _dspin(lo, hi, value, decimals, special=None, tip=None) -> QtWidgets.QDoubleSpinBox:
    s = _DoubleSpinBox()
    s.setDecimals(decimals)  # before the value: it is rounded to them
    s.setStepType(QtWidgets.QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    return _spin(lo, hi, value, special, tip, box=s)


class TrainControls(Panel, QtWidgets.QWidget):
    """The Train mode's settings and buttons. Accessors for tests: ``taskCombo``, ``cellCombo``,
    ``lengthSpin``, ``hiddenSpin``, ``optimizerCombo``, ``lrSpin``, ``momentumSpin``, ``clipSpin``,
    ``batchSpin``, ``truncateSpin``, ``seedSpin``, ``trainButton``, ``stepButton``,
    ``resetButton``, ``exploreButton``, ``exportButton``, ``statusLabel``, ``sampleText``."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.train = training_for(controller)
        self.setMinimumWidth(250)
        self.setMaximumWidth(440)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 6)
        self._title = QtWidgets.QLabel("Train a network")
        lay.addWidget(self._title)
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        c = TR.TrainConfig()
        self.taskCombo = QtWidgets.QComboBox()
        for key, label in TR.TASK_CHOICES.items():
            self.taskCombo.addItem(label, key)
        self.cellCombo = QtWidgets.QComboBox()
        for key, label in TR.CELL_CHOICES.items():
            self.cellCombo.addItem(label, key)
        lim = TR.LIMITS
        self.lengthSpin = _spin(*lim["length"], c.length, tip="Sequence length T (recall: the delay is T − 1)")
        self.hiddenSpin = _spin(*lim["hidden_size"], c.hidden_size)
        self.optimizerCombo = QtWidgets.QComboBox()
        for key, label in (("adam", "Adam"), ("sgd", "SGD")):
            self.optimizerCombo.addItem(label, key)
        self.lrSpin = _dspin(1e-5, 10.0, c.lr, 5, tip="The learning rate (applies at the next update)")
        self.momentumSpin = _dspin(0.0, 0.99, c.momentum, 2, tip="SGD's momentum")
        self.clipSpin = _dspin(0.0, 1000.0, c.clip, 2, special="off",
                               tip="Clip the gradient's total norm to this (clip_grad_norm_); 0: off")
        self.batchSpin = _spin(*lim["batch"], c.batch)
        self.truncateSpin = _spin(*lim["truncate"], c.truncate, special="full BPTT",
                                  tip="Each loss term's gradient flows back at most this many steps")
        self.seedSpin = _spin(0, 99_999, c.seed, tip="Seeds the weights and every batch")
        self.stepsSpin = _spin(*lim["steps"], c.steps, special="no limit", tip="Stop after this many updates")
        rows = (("Task", self.taskCombo), ("Length T", self.lengthSpin), ("Cell", self.cellCombo),
                ("Hidden units H", self.hiddenSpin), ("Optimiser", self.optimizerCombo),
                ("Learning rate", self.lrSpin), ("Momentum", self.momentumSpin), ("Clip norm", self.clipSpin),
                ("Batch", self.batchSpin), ("Truncate BPTT", self.truncateSpin), ("Steps", self.stepsSpin),
                ("Seed", self.seedSpin))
        self._labels = []
        for text, w in rows:
            label = QtWidgets.QLabel(text)
            self._labels.append(label)
            w.setAccessibleName(text)
            form.addRow(label, w)
        # a combo's whole choice, below its label when the row is too narrow for both (the
        # presenter type at 1024 × 768 cut "RNN, GRU and LSTM" to "RNN, GRU and L")
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        for combo in (self.taskCombo, self.cellCombo, self.optimizerCombo):
            combo.setMinimumContentsLength(max(len(combo.itemText(i)) for i in range(combo.count())))
        lay.addLayout(form)
        # the text task's text: typed, pasted or opened; applied with "Use this text"
        self.textEdit = QtWidgets.QPlainTextEdit()
        self.textEdit.setPlaceholderText("The text to learn (type or paste)")
        self.textEdit.setMaximumHeight(90)
        self.textEdit.setPlainText(c.text)
        self.useTextButton = QtWidgets.QPushButton("Use this text")
        self.openTextButton = QtWidgets.QPushButton("Open text…")
        self._textRow = QtWidgets.QWidget()
        textLay = QtWidgets.QVBoxLayout(self._textRow)
        textLay.setContentsMargins(0, 0, 0, 0)
        textLay.addWidget(self.textEdit)
        textButtons = QtWidgets.QHBoxLayout()
        textButtons.addWidget(self.useTextButton)
        textButtons.addWidget(self.openTextButton)
        textLay.addLayout(textButtons)
        lay.addWidget(self._textRow)
        #: why the last value was refused (one line), cleared by the next accepted change
        self.messageLabel = QtWidgets.QLabel()
        self.messageLabel.setObjectName("trainMessage")
        self.messageLabel.setWordWrap(True)
        self.messageLabel.hide()
        lay.addWidget(self.messageLabel)

        buttons = QtWidgets.QGridLayout()
        self.trainButton = QtWidgets.QPushButton("Train")
        self.trainButton.setToolTip("Train until paused")
        self.stepButton = QtWidgets.QPushButton("Step")
        self.stepButton.setToolTip("One update")
        self.resetButton = QtWidgets.QPushButton("Reset")
        self.resetButton.setToolTip("Back to the untrained weights (the same seed)")
        self.exploreButton = QtWidgets.QPushButton("Explore this model")
        self.exploreButton.setToolTip("Step through a test sequence with the trained cell in the Explore views")
        self.exportButton = QtWidgets.QPushButton("Export model…")
        self.exportButton.setToolTip("Save the trained model with PyTorch's names (.safetensors or .npz) "
                                     "or as Keras 3 weights (.weights.h5)")
        buttons.addWidget(self.trainButton, 0, 0)
        buttons.addWidget(self.stepButton, 0, 1)
        buttons.addWidget(self.resetButton, 0, 2)
        buttons.addWidget(self.exploreButton, 1, 0, 1, 3)
        buttons.addWidget(self.exportButton, 2, 0, 1, 3)
        # the buttons and the status first, under the title: at presenter size on a 768-pixel
        # projector the settings scroll, and Train / Step / Reset must stay in view
        lay.insertLayout(1, buttons)
        self.statusLabel = QtWidgets.QLabel()
        self.statusLabel.setWordWrap(True)
        self.statusLabel.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.insertWidget(2, self.statusLabel)
        self.sampleText = QtWidgets.QPlainTextEdit()
        self.sampleText.setReadOnly(True)
        self.sampleText.setPlaceholderText("Text the model writes (text task)")
        self.sampleText.setMaximumHeight(110)
        self.sampleButton = QtWidgets.QPushButton("Sample text")
        lay.addWidget(self.sampleButton)
        lay.addWidget(self.sampleText)
        lay.addStretch(1)

        # wide enough for "Adding problem" and "RNN (tanh)" whole; longer choices are cut
        # "Adding problem", "Recall x₁ (sign)", "Sine: next value" whole (14 cut the first by a letter)
        for combo, chars in ((self.taskCombo, 16), (self.cellCombo, 10), (self.optimizerCombo, 6)):
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(chars)
        self._fields = {"task": self.taskCombo, "cell": self.cellCombo, "optimizer": self.optimizerCombo,
                        "length": self.lengthSpin, "hidden_size": self.hiddenSpin, "lr": self.lrSpin,
                        "momentum": self.momentumSpin, "clip": self.clipSpin, "batch": self.batchSpin,
                        "truncate": self.truncateSpin, "steps": self.stepsSpin, "seed": self.seedSpin}
        for name, w in self._fields.items():
            if isinstance(w, QtWidgets.QComboBox):
                w.currentIndexChanged.connect(lambda _i, n=name, w=w: self._onField(n, w.currentData()))
            else:
                w.valueChanged.connect(lambda v, n=name: self._onField(n, v))
                w.sigRefused.connect(lambda text, n=name: self._onRefused(n, text))
        self.useTextButton.clicked.connect(lambda: self._configure(text=self.textEdit.toPlainText()))
        self.openTextButton.clicked.connect(self._onOpenText)
        self.train.errorOccurred.connect(self.showMessage)
        self.trainButton.clicked.connect(self.train.toggle)
        self.stepButton.clicked.connect(self.train.step)
        self.resetButton.clicked.connect(self.train.reset)
        self.exploreButton.clicked.connect(self._onExplore)
        self.exportButton.clicked.connect(self.exportDialog)
        self.sampleButton.clicked.connect(self._onSample)
        self._shownConfig = None
        self._shownText = c.text
        self._refusedNow = False
        self._refusedField = None
        self.train.snapshotChanged.connect(self.showSnapshot)
        self.train.runningChanged.connect(self._onRunning)
        self.setTheme(self.look)
        self.showSnapshot(self.train.snapshot)

    # -------------------------------------------------------------- handlers
    def _onField(self, name: str, value) -> None:
        if name in ("task", "cell", "optimizer"):
            value = str(value)
        elif name in ("lr", "momentum", "clip"):
            value = float(value)
        else:
            value = int(value)
        changes = {name: value}
        if name == "task" and value == "input":
            changes["series"] = self._currentInput()
        # the value a spin box kept after refusing a keystroke (typed 20, got 2): say so, still
        keep = self._refusedField == name
        self._refusedField = None
        message = self.messageLabel.text()
        if self._configure(**changes) and keep:
            shown = self._fields[name].textFromValue(value)
            self.showMessage(f"{message} (now {shown})")

    def _onRefused(self, name: str, text: str) -> None:
        self._refusedField = name
        self.showMessage(text)

    def _configure(self, **changes) -> bool:
        """Apply ``changes``; a refused one leaves the settings as they stand, shown again, and
        says why in :attr:`messageLabel`."""
        self._refusedNow = False
        self.train.configure(**changes)
        if self._refusedNow:
            self._showConfig(self.train.session.config)  # the controls show what stands
            return False
        self.showMessage("")
        return True

    def showMessage(self, text: str) -> None:
        """One line under the controls saying why a value was refused ("": none). The window's
        status bar shows it too, for a moment."""
        text = str(text).splitlines()[0] if text else ""
        if text:
            self._refusedNow = True
        self.messageLabel.setText(text)
        self.messageLabel.setVisible(bool(text))
        window = self.window()
        if text and isinstance(window, QtWidgets.QMainWindow) and window is not self:
            window.statusBar().showMessage(text, 8000)

    def _onOpenText(self) -> None:
        from ..engine import InputError
        from ..io.training import read_text

        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a text to learn", "", "Text (*.txt);;All files (*)")
        if not path:
            return
        try:
            text = read_text(path)
        except (InputError, OSError) as err:
            self.showMessage(str(err))
            return
        if len(text) > TR.MAX_TEXT:
            self.showMessage(f"{path}: the text has {len(text):,} characters; the Train mode learns at most "
                             f"{TR.MAX_TEXT:,}")
            return
        with QtCore.QSignalBlocker(self.textEdit):
            self.textEdit.setPlainText(text)
        self._configure(task="text", text=text)

    def _currentInput(self) -> tuple:
        from ..core.model import build_inputs

        return tuple(float(v) for v in build_inputs(self.train.controller.settings)[:, 0])

    def _onRunning(self, on: bool) -> None:
        self.trainButton.setText("Pause" if on else "Train")
        self.stepButton.setEnabled(not on)

    def _selectedKey(self) -> str:
        return self.train.snapshot.runs[0].key

    def _onExplore(self) -> None:
        self.train.pause()
        window = self.window()
        keys = [r.key for r in self.train.snapshot.runs]
        key = keys[0]
        if len(keys) > 1:
            labels = [r.label for r in self.train.snapshot.runs]
            choice, ok = QtWidgets.QInputDialog.getItem(self, "Explore this model", "Cell", labels, 0, False)
            if not ok:
                return
            key = keys[labels.index(choice)]
        self.train.exploreModel(key)
        modes = getattr(window, "modes", None)
        if modes is not None:
            modes.setCurrentIndex(0)

    def exportDialog(self) -> None:
        """Export model…: ask for a cell (when several) and a file, write it; a failure is a dialog."""
        from ..engine import InputError

        self.train.pause()
        runs = self.train.snapshot.runs
        key = runs[0].key
        if len(runs) > 1:
            labels = [r.label for r in runs]
            choice, ok = QtWidgets.QInputDialog.getItem(self, "Export model", "Cell", labels, 0, False)
            if not ok:
                return
            key = runs[labels.index(choice)].key
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export trained model", f"trained-{key}.safetensors", EXPORT_FILTER)
        if not path:
            return
        if not path.lower().endswith(TR.EXPORT_SUFFIXES):  # typed without a suffix: the filter's
            path += EXPORT_SUFFIX_OF.get(chosen, ".safetensors")
        try:
            self.train.exportModel(key, path)
        except (InputError, OSError) as err:
            QtWidgets.QMessageBox.warning(self, "Cannot export the model", str(err))

    def _onSample(self) -> None:
        try:
            self.sampleText.setPlainText(self.train.session.sample(temperature=0.5))
        except ValueError as err:
            self.sampleText.setPlainText(str(err))

    # -------------------------------------------------------------- drawing
    def showSnapshot(self, snap: TR.TrainSnapshot) -> None:
        c = snap.config
        if c != self._shownConfig:  # a spin box repaints on every setValue, even of its own value
            self._shownConfig = c
            self._showConfig(c)
        text = snap.task.chars is not None
        self.sampleButton.setVisible(text)
        self.sampleText.setVisible(text)
        self._textRow.setVisible(c.task == "text")
        status = status_text(snap)
        if status != self.statusLabel.text():
            self.statusLabel.setText(status)
        if snap.running != (self.trainButton.text() == "Pause"):
            self._onRunning(snap.running)

    def _showConfig(self, c: TR.TrainConfig) -> None:
        for name, w in self._fields.items():
            v = getattr(c, name)
            with QtCore.QSignalBlocker(w):
                if isinstance(w, QtWidgets.QComboBox):
                    w.setCurrentIndex(w.findData(v))
                else:
                    w.setValue(v)
        self.momentumSpin.setEnabled(c.optimizer == "sgd")
        if c.text != self._shownText:  # a new text came (a lesson, a file): what is typed stays otherwise
            self._shownText = c.text
            with QtCore.QSignalBlocker(self.textEdit):
                self.textEdit.setPlainText(c.text)

    def setTheme(self, look: theme.Theme) -> None:
        super().setTheme(look)
        self.setFont(look.font())
        self._title.setFont(look.font(look.title_pt, bold=True))
        for w in self.findChildren(QtWidgets.QWidget):
            w.setFont(look.font())
        self._title.setFont(look.font(look.title_pt, bold=True))
        self.messageLabel.setStyleSheet(f"QLabel#trainMessage {{ color: {look.warning_fg}; "
                                        f"background: {look.warning_bg}; padding: 3px; }}")


def status_text(snap: TR.TrainSnapshot) -> str:
    """One line per cell: updates, the newest test loss (and accuracy), or why it stopped."""
    lines = [f"{snap.updates} updates" + (f" · {snap.updates_per_second:.0f}/s" if snap.running else "")]
    for r in snap.runs:
        if r.error:
            lines.append(f"{r.label}: stopped — {r.error.split(': ', 1)[-1]}")
            continue
        part = f"{r.label}: test loss {r.last_test_loss:.4g}"
        if r.last_test_acc is not None:
            part += f", accuracy {100 * r.last_test_acc:.0f}{NBSP}%"  # "%" never alone on a line
        lines.append(part)
    base = snap.task.baseline
    lines.append(("chance " + f"{100 * base:.0f}{NBSP}%") if snap.task.metric == "accuracy" else f"baseline {base:.3g}")
    return "\n".join(lines)


# ====================================================================== plots
def nice_extent(n: float, least: float = 10.0) -> float:
    """The smallest of 1, 2, 5 × 10^k at or above ``n`` (at least ``least``): an axis range
    that changes only now and then while training runs (each change redraws the axis)."""
    n = max(float(n), least)
    k = 10.0 ** np.floor(np.log10(n))
    return float(next(m * k for m in (1, 2, 5, 10) if m * k >= n - 1e-9))


def decades(values) -> tuple[float, float] | None:
    """(lo, hi) whole log₁₀ decades around the positive finite ``values`` (None: none)."""
    v = [np.asarray(a, np.float64) for a in values]
    v = np.concatenate([a[np.isfinite(a) & (a > 0)] for a in v]) if v else np.zeros(0)
    if not v.size:
        return None
    lo, hi = np.floor(np.log10(v.min())), np.ceil(np.log10(v.max()))
    return (float(lo), float(hi if hi > lo else lo + 1))


class ReadableLogAxis(pg.AxisItem):
    """A log axis whose labels between the decades give way before they would overlap: a short
    plot labels the decades only, a taller one 2 and 5 × 10ⁿ too, a tall one every 1…9 × 10ⁿ
    (pyqtgraph labels them all: "0.9 0.8 0.7 …" ran into each other at 1024 × 768)."""

    #: log10 of the closest neighbour of each multiplier's tick, for a label of one font height
    GAPS = {2: math.log10(2), 5: math.log10(2)}
    OTHERS = math.log10(10 / 9)

    #: "0.0001" (pyqtgraph's form of 10⁻⁴) was the widest label and ran into the axis title
    #: in presenter mode; it reads as the powers below it do
    SHORTER = {"0.0001": "10⁻⁴", "0.0002": "2·10⁻⁴", "0.0005": "5·10⁻⁴"}

    def _updateWidth(self):
        """pyqtgraph gives the axis title 0.8 of its height ("usually an overestimate"); the
        tall "‖∂L_T/∂x_k‖" in presenter type then touched the tick labels: the whole height."""
        super()._updateWidth()
        if self.orientation in ("left", "right") and self.isVisible() and self.fixedWidth is None \
                and self.label.isVisible():
            w = self.maximumWidth() + 0.2 * self.label.boundingRect().height()
            self.setMaximumWidth(w)
            self.setMinimumWidth(w)

    def logTickStrings(self, values, scale, spacing):
        strings = [self.SHORTER.get(t, t) for t in super().logTickStrings(values, scale, spacing)]
        lo, hi = self.range
        length = self.geometry().height() if self.orientation in ("left", "right") else self.geometry().width()
        if hi <= lo or length <= 0:
            return strings
        per_decade = length / (hi - lo)
        font = self.style.get("tickFont") or self.font()
        need = 1.15 * QtGui.QFontMetricsF(font).height()
        # the decades too give way on a very short axis: every k-th, k of 1, 2, 3, 5, 10 …, on
        # the powers that k divides (the same ones as the range moves); in presenter type at
        # 1024 × 768 "10¹ 1 0.1 0.01" were stacked on 45 pixels
        every = next((k for k in (1, 2, 3, 5, 10, 20, 50, 100) if k * per_decade >= need), 100)
        out = []
        for v, text in zip(values, strings):
            mult = round(10 ** (v - math.floor(v + 1e-9)))
            gap = self.GAPS.get(mult, self.OTHERS)
            if mult == 1:
                out.append(text if round(v) % every == 0 else "")
            else:
                out.append(text if gap * per_decade >= need else "")
        return out


#: What pyqtgraph's title item takes beside its text (its margins), in pixels.
TITLE_PAD = 24


def _any_width(label: pg.LabelItem) -> pg.LabelItem:
    """``label`` (a title) asks its layout for no least width: pyqtgraph sets it to the text's
    at every resize, so a panel sized for a long title could never shrink to a shorter one.
    The panel picks a wording that fits instead (:func:`fitting`)."""
    def update_min(label=label):
        pg.LabelItem.updateMin(label)
        label.setMinimumWidth(0)
        label._sizeHint[QtCore.Qt.SizeHint.MinimumSize] = (0, label._sizeHint[QtCore.Qt.SizeHint.MinimumSize][1])
        label.updateGeometry()

    label.updateMin = update_min
    update_min()
    return label


def _set_title(plot: pg.PlotItem, forms, look: theme.Theme, width: float) -> None:
    """``plot``'s title in the longest of ``forms`` that fits ``width`` (the whole one in the
    tooltip); set only when it changes (each change lays the plot out again)."""
    axis = plot.getAxis("left")  # the title spans the plot's own column, right of its axis
    _put_title(plot, forms, look, look.title_pt, width - max(axis.width(), axis.minimumWidth()) - TITLE_PAD)


def _put_title(plot: pg.PlotItem, forms, look: theme.Theme, pt: int, room: float) -> None:
    """The longest of ``forms`` that fits ``room`` pixels in ``pt`` points as ``plot``'s title."""
    title = theme.fitting(forms, pt, room)
    if getattr(plot, "_rnnvizTitle", None) != (title, pt, look):
        plot._rnnvizTitle = (title, pt, look)
        plot.setTitle(title, size=f"{pt}pt", color=look.foreground, bold=True)
        _any_width(plot.titleLabel)  # a title never widens the plot past its widget
        plot.titleLabel.setToolTip(forms[0] if title != forms[0] else "")


class LegendRow(pg.LegendItem):
    """The cells' key in a row of its own below a plot, never over the curves: in the plot's
    corner it covered the tanh RNN's curve, the lesson's point, in "Learning to remember"
    (presenter mode at 1024 × 768 put "GRU (test)" across two curves). As many entries per
    row as the plot's width holds (:meth:`fit`)."""

    def __init__(self):
        super().__init__(offset=None, frame=False, horSpacing=14, verSpacing=-6, colCount=1)
        # its own size, centred in its row: stretched, it took the plots' height
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Fixed)

    def place(self, layout: pg.GraphicsLayout, row: int) -> None:
        """Put the key in ``row`` of ``layout``, below the plots (its fixed size leaves them the rest)."""
        layout.addItem(self, row=row, col=0)
        layout.layout.setAlignment(self, QtCore.Qt.AlignmentFlag.AlignHCenter)

    def entries(self, pairs) -> None:
        """Show ``pairs`` of (plot item, label): the label, or its first word ("RNN" for
        "RNN (tanh)") when that keeps the key on one row."""
        self.clear()
        self._forms = []
        for item, label in pairs:
            self.addItem(item, label)
            self._forms.append((label, label.split(" (")[0]))

    def rowWidth(self, columns: int) -> float:
        """The width of the widest row with ``columns`` entries per row."""
        widths = [sample.boundingRect().width() + label.item.boundingRect().width() + 2 * 3
                  for sample, label in self.items]
        rows = [widths[k:k + columns] for k in range(0, len(widths), columns)]
        return max((sum(r) + self.layout.horizontalSpacing() * (len(r) - 1) for r in rows), default=0.0)

    def _label(self, short: bool) -> None:
        for (_sample, label), forms in zip(self.items, self._forms):
            text = forms[short]
            if label.text != text:
                label.setText(text)

    def fit(self, width: float) -> None:
        """One row in ``width`` pixels, with the whole names if they fit, else the short ones;
        on a panel too narrow even for that, as many short names per row as fit."""
        n = len(self.items)
        if not n:
            return
        columns = n
        for short in (False, True):
            self._label(short)
            if self.rowWidth(n) <= width:
                break
        else:
            columns = next((c for c in range(n - 1, 0, -1) if self.rowWidth(c) <= width), 1)
        if columns != self.columnCount:
            self.setColumnCount(columns)
        self.updateSize()
        self.updateGeometry()


class _PlotPanel(Panel, QtWidgets.QWidget):
    """A panel that redraws from the newest snapshot, at most once per poll. A panel with
    titles sets them in :meth:`_fitTitles`, again whenever its width changes."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.train = training_for(controller)
        self._lay = QtWidgets.QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self.train.snapshotChanged.connect(self._onSnapshot)
        self._stale = False

    def _onSnapshot(self, snap) -> None:
        if self.isVisible():
            self.showSnapshot(snap)
        else:
            self._stale = True  # hidden (the Explore tab is in front): drawn when shown

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if self._stale:
            self._stale = False
            self.showSnapshot(self.train.snapshot)

    def settle(self) -> None:
        self.showSnapshot(self.train.snapshot)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if ev.size().width() != ev.oldSize().width():
            self._fitTitles()
            self.updateGeometry()  # a shorter title may need less width

    def minimumSizeHint(self) -> QtCore.QSize:
        """At least as wide as the plots' own layout needs (axes, colour bars, titles): a
        plot narrower than that is cut at its right edge, not squeezed."""
        hint = super().minimumSizeHint()
        for view in self.findChildren(pg.GraphicsView):
            item = getattr(view, "centralWidget", None)
            if item is not None:
                least = item.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize)
                hint = hint.expandedTo(QtCore.QSize(math.ceil(least.width()) + 2 * view.frameWidth(), 0))
        return hint

    def _fitTitles(self) -> None:
        """Set the titles in the wording that fits the panel's width (none by default)."""

    def showSnapshot(self, snap) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class LossPanel(_PlotPanel):
    """Train (thin) and test (thick) loss per cell on shared log axes; accuracy below for classes."""

    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.graphics = theme.graphics_widget()
        self._lay.addWidget(self.graphics)
        self.lossPlot = self.graphics.addPlot(row=0, col=0, axisItems={"left": ReadableLogAxis("left")})
        self.lossPlot.setLogMode(y=True)
        self.accPlot = self.graphics.addPlot(row=1, col=0)
        self.accPlot.setXLink(self.lossPlot)
        self.accPlot.setYRange(0, 1.02, padding=0)
        self.accPlot.getViewBox().sigResized.connect(self._fitLabels)  # its label's wording
        self.legend = LegendRow()
        self.legend.place(self.graphics.ci, 2)
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.baseline = pg.InfiniteLine(angle=0, movable=False)
        self.lossPlot.addItem(self.baseline)
        self.chance = pg.InfiniteLine(angle=0, movable=False)
        self.accPlot.addItem(self.chance)
        for p in (self.lossPlot, self.accPlot):
            p.disableAutoRange()
            p.setMouseEnabled(x=False, y=False)
        self._xExtent = self._ySpan = None
        self._keys = ()
        self.setTheme(self.look)
        self.showSnapshot(self.train.snapshot)

    def _curve(self, plot, key: str, which: str) -> pg.PlotDataItem:
        item = self.curves.get((key, which))
        if item is None:
            item = pg.PlotDataItem()
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            plot.addItem(item)
            self.curves[(key, which)] = item
        return item

    def _rebuild(self, snap) -> None:
        for (key, which), item in self.curves.items():
            (self.accPlot if which.endswith("acc") else self.lossPlot).removeItem(item)
        self.curves.clear()
        for r in snap.runs:
            self._curve(self.lossPlot, r.key, "train")
            self._curve(self.lossPlot, r.key, "test")
            self._curve(self.accPlot, r.key, "test_acc")
        self._keys = tuple(r.key for r in snap.runs)
        self._style()
        # the thick test curve's line beside each cell's name (the title says thin is train);
        # one cell: its name is in the status, no key needed
        several = len(snap.runs) > 1
        self.legend.entries([(self.curves[(r.key, "test")], r.label) for r in snap.runs] if several else [])
        self.legend.setVisible(several)
        self._fitTitles()
        cache_decorations(self.graphics)

    def _style(self) -> None:
        look = self.look
        w = max(1.0, 2.0 * look.font_scale)
        for (key, which), item in self.curves.items():
            colour = look.cell_colour(key)
            if which == "train":
                c = pg.mkColor(colour)
                c.setAlpha(110)
                item.setPen(pg.mkPen(c, width=1))
            else:
                item.setPen(pg.mkPen(colour, width=w * 1.5))
        pen = pg.mkPen(look.muted, width=w, style=QtCore.Qt.PenStyle.DashLine)
        self.baseline.setPen(pen)
        self.chance.setPen(pen)

    def showSnapshot(self, snap) -> None:
        if tuple(r.key for r in snap.runs) != self._keys:
            self._rebuild(snap)
        classes = snap.task.metric == "accuracy"
        if self.accPlot.isVisible() != classes:
            self.accPlot.setVisible(classes)
            self._fitLabels()
        positive = []
        for r in snap.runs:
            tl = np.asarray(r.train_loss, dtype=np.float64)
            vl = np.asarray(r.test_loss, dtype=np.float64)
            self.curves[(r.key, "train")].setData(np.asarray(r.updates, np.float64) + 1, np.maximum(tl, 1e-12))
            self.curves[(r.key, "test")].setData(np.asarray(r.test_updates, np.float64), np.maximum(vl, 1e-12))
            acc = self.curves[(r.key, "test_acc")]
            if classes and r.test_acc is not None:
                acc.setData(np.asarray(r.test_updates, np.float64), np.asarray(r.test_acc, np.float64))
            else:
                acc.setData([], [])
            positive += [vl, tl]
        extent = snap.config.steps or nice_extent(snap.updates * 1.05)
        if self._xExtent != extent:
            self._xExtent = extent
            self.lossPlot.setXRange(0, extent, padding=0.02)
        span = decades(positive + [[snap.task.baseline]])
        if span is not None and span != self._ySpan:
            self._ySpan = span
            self.lossPlot.setYRange(*span, padding=0.02)
        base = snap.task.baseline
        if classes:
            self.baseline.setVisible(False)
            self.chance.setVisible(True)
            self.chance.setValue(base)
        else:
            self.baseline.setVisible(base > 0)
            self.baseline.setValue(np.log10(base) if base > 0 else 0.0)
            self.chance.setVisible(False)

    TITLES = ("Loss: train (thin) and test (thick)", "Loss: train thin, test thick", "Loss: train, test", "Loss")
    #: The accuracy axis's wordings, longest first, for the height its plot has.
    ACC_LABELS = ("test accuracy", "accuracy", "acc.")

    def _fitTitles(self) -> None:
        _set_title(self.lossPlot, self.TITLES, self.look, self.graphics.width())
        self.legend.fit(self.graphics.width() - 16)
        self._fitLabels()

    def _fitLabels(self) -> None:
        """Stacked over the accuracy, the loss plot leaves "update" to the plot below (the x
        axes are linked), and the accuracy's label takes the wording its height holds: in
        presenter type at 1024 × 768 "test accuracy" ran up beside "loss" and read as one."""
        look, classes = self.look, self.accPlot.isVisible()
        bottom = self.lossPlot.getAxis("bottom")
        if bottom.label.isVisible() == classes:
            bottom.showLabel(not classes)
        room = self.accPlot.getViewBox().height() or self.graphics.height() / 2
        text = theme.fitting(self.ACC_LABELS, look.axis_pt + 1, room)
        left = self.accPlot.getAxis("left")
        if left.labelText != text:
            theme.set_axis_label(left, text, **{"font-size": f"{look.axis_pt + 1}pt", "color": look.foreground})

    def accuracyLabel(self) -> str:
        """The accuracy axis's label as shown."""
        return self.accPlot.getAxis("left").labelText

    def setTheme(self, look: theme.Theme) -> None:
        super().setTheme(look)
        self.graphics.setBackground(look.background)
        theme.style_plot(self.lossPlot, look, None, "loss", "update")
        theme.style_plot(self.accPlot, look, None, self.ACC_LABELS[0], "update")
        room_for_labels(self.accPlot.getAxis("left"))  # short in presenter mode at 1024 × 768
        self._fitTitles()  # (and the labels' wordings for this type's size)
        self.legend.setLabelTextColor(look.foreground)
        self.legend.setLabelTextSize(f"{look.axis_pt}pt")
        self._style()
        if getattr(self, "curves", None):  # the legend's entries keep the size they were made in: made again
            self._keys = ()
            self.showSnapshot(self.train.snapshot)


def gradient_levels(rows: list) -> tuple[float, float]:
    """(lo, hi) of log₁₀ values over every run: hi the largest finite, lo DECADES below it (or
    the smallest, if that is higher)."""
    finite = [r[np.isfinite(r)] for r in rows if r.size]
    finite = [f for f in finite if f.size]
    if not finite:
        return (-DECADES, 0.0)
    # rounded outwards to half decades: the levels (and the colour bar's axis, costly to
    # redraw) change only now and then while training runs
    hi = float(np.ceil(2 * max(float(f.max()) for f in finite)) / 2)
    lo = float(np.floor(2 * max(min(float(f.min()) for f in finite), hi - DECADES)) / 2)
    if not hi > lo:
        lo = hi - 1.0
    return (lo, hi)


def log_rows(rows: np.ndarray) -> np.ndarray:
    """log₁₀ of the heatmap rows as float32, −inf for exact zeros."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.ascontiguousarray(np.log10(np.asarray(rows, dtype=np.float64)), dtype=np.float32)


#: The gradient heatmaps' x-axis label, longest first (theme.fitting).
STEP_LABELS = ("step t", "t")
#: How far a centred cell name over a gradient heatmap may reach into the gaps beside it (px).
TITLE_SPILL = 6


class GradientPanel(_PlotPanel):
    """log₁₀ ‖∂L/∂h_t‖: time step t across, one row per update (the newest at the top)."""

    TITLES = ("log₁₀ ‖∂L/∂h_t‖ over step t (→) and update (↑)", "log₁₀ ‖∂L/∂h_t‖: step t →, update ↑",
              "log₁₀ ‖∂L/∂h_t‖")
    caption = None
    #: what an empty heatmap says before the first update, in the longest form its width holds
    EMPTY = ("One row per update\nappears with Train or Step", "A row per update\n(Train or Step)",
             "Train or Step\nfills it", "")

    def _title(self) -> str:
        return theme.fitting(self.TITLES, self.look.title_pt, self.graphics.width() - TITLE_PAD)

    def _placeNote(self) -> None:
        """The note of the empty heatmaps across them (they are all empty: the note may cross
        the gaps between them), in the longest wording their width holds."""
        note = self.note
        if note is None:
            return
        if not self._empty or not self.plots:
            if note.isVisible():
                note.hide()
            return
        boxes = [plot.vb.sceneBoundingRect() for plot in self.plots.values()]
        left, right = boxes[0].left(), boxes[-1].right()
        text = theme.fitting_lines(self.EMPTY, note.textItem.font(), right - left - 8)
        note.setVisible(bool(text))
        if text:
            if note.toPlainText() != text:
                note.setText(text)
            note.setPos((left + right) / 2, (boxes[0].top() + boxes[0].bottom()) / 2)

    def _fitTitles(self) -> None:
        plots = list(self.plots.values())
        if len(plots) > 1:  # one heatmap per cell, side by side: each titled with its cell's name
            look = self.look
            # over its own view box (a centred name may reach a few pixels into the gaps), all
            # in one type size: the largest, down to a normal title's, in which every name fits.
            # Three cells in presenter type at 1024 × 768 named only the GRU, the widest column.
            rooms = [plot.vb.width() + TITLE_SPILL for plot in plots]
            forms = [(p._rnnvizLabel, p._rnnvizLabel.split(" (")[0]) for p in plots]
            sizes = range(look.title_pt, min(look.title_pt, theme.BASE_TITLE_PT) - 1, -1)  # never below normal titles
            pt = next((pt for pt in sizes
                       if all(theme.fitting(f + ("",), pt, room) for f, room in zip(forms, rooms))), None)
            for plot, f, room in zip(plots, forms, rooms):
                if pt is None:  # no names at all (each in its tooltip) rather than some
                    _put_title(plot, (f[0], ""), look, look.title_pt, -1)
                else:
                    _put_title(plot, f + ("",), look, pt, room)
                # "step t" under each, or "t" when the columns are narrow ("step tstep t")
                axis = plot.getAxis("bottom")
                text = theme.fitting(STEP_LABELS, look.axis_pt + 1, room - TITLE_SPILL - 4)
                if axis.labelText != text:
                    theme.set_axis_label(axis, text, **axis.labelStyle)
        if self.caption is not None and self.caption.text != self._title():
            self.caption.setText(self._title(), size=f"{self.look.title_pt}pt", color=self.look.foreground, bold=True)
        self._placeNote()

    def _fitTitlesSoon(self, *_args) -> None:
        """Fit the titles once the layout pass that resized a heatmap is over (the panel's
        resize comes before its plots have their new widths)."""
        if not self._fitPending:
            self._fitPending = True
            QtCore.QTimer.singleShot(0, self, self._fitTitlesNow)

    def _fitTitlesNow(self) -> None:
        self._fitPending = False
        self._fitTitles()

    _fitPending = False

    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.graphics = theme.graphics_widget()
        self._lay.addWidget(self.graphics)
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.note = None  # "appears with Train or Step" across the heatmaps while they are empty
        self._empty = False
        self.bar = None
        self.levels = (-DECADES, 0.0)
        self._keys = ()
        self._T = None
        self._yExtent = None
        self.setTheme(self.look)
        self.showSnapshot(self.train.snapshot)

    def _rebuild(self, snap) -> None:
        self.graphics.clear()
        self.plots.clear()
        self.images.clear()
        look = self.look
        for k, r in enumerate(snap.runs):
            plot = self.graphics.addPlot(row=0, col=k)
            img = pg.ImageItem(axisOrder="row-major")
            img.setLookupTable(theme.lut("inferno" if not look.colour_blind else theme.CB_SEQUENTIAL))
            plot.addItem(img)
            plot.setMouseEnabled(x=False, y=False)
            theme.style_plot(plot, look, None, "update" if k == 0 else None, "step t")
            room_for_labels(plot.getAxis("bottom"))  # three heatmaps side by side: "510 15"
            # a label at t = T may reach past its column's edge into the gap beside it
            plot.getAxis("bottom").setStyle(hideOverlappingLabels=label_spill(look))
            plot._rnnvizLabel = r.label if len(snap.runs) > 1 else None  # its title (_fitTitles)
            plot.disableAutoRange()
            plot.setXRange(0.5, snap.config.length + 0.5, padding=0)
            if k:
                plot.getAxis("left").setStyle(showValues=False)
            self.plots[r.key] = plot
            self.images[r.key] = img
        self.bar = pg.ColorBarItem(values=self.levels, colorMap=pg.colormap.get("inferno" if not look.colour_blind
                                                                                else theme.CB_SEQUENTIAL),
                                   interactive=False, width=16, pen=look.foreground, colorMapMenu=False)
        self.bar.axis.setStyle(tickFont=theme.font(look.axis_pt))
        self.bar.axis.setTextPen(look.foreground)
        self.bar.setImageItem(list(self.images.values()))
        self.graphics.addItem(self.bar, row=0, col=len(snap.runs))
        # the last heatmap's label at t = T may reach that far past its edge: the bar keeps clear
        self.graphics.ci.layout.setColumnSpacing(len(snap.runs) - 1, label_spill(look))
        # before the first update the heatmaps are empty axes: a note across them says what
        # will fill them (in the scene, not in one view box, which would clip it to its column)
        if self.note is None:
            self.note = pg.TextItem("", anchor=(0.5, 0.5))
            self.note.setZValue(20)
            self.graphics.scene().addItem(self.note)
        self.note.setColor(look.muted)
        self.note.fill = pg.mkBrush(look.background)  # clear of the axes it crosses
        self.note.setFont(theme.font(look.axis_pt))
        self.note.hide()
        self.caption = self.graphics.addLabel(self._title(), row=1, col=0, colspan=len(snap.runs) + 1,
                                              size=f"{look.title_pt}pt", color=look.foreground, bold=True)
        _any_width(self.caption)
        QtCore.QTimer.singleShot(0, self, self._fitTitles)  # once the new plots have their widths
        for plot in self.plots.values():  # and whenever the layout gives them new ones
            plot.vb.sigResized.connect(self._fitTitlesSoon)
        self._keys = tuple(r.key for r in snap.runs)
        self._yExtent = None
        cache_decorations(self.graphics)

    def showSnapshot(self, snap) -> None:
        if tuple(r.key for r in snap.runs) != self._keys or \
                self._T != snap.config.length:
            self._T = snap.config.length
            self._rebuild(snap)
        extent = snap.config.steps or nice_extent(snap.updates * 1.05)
        extent_changed = extent != self._yExtent
        if extent_changed:
            self._yExtent = extent
            for plot in self.plots.values():
                plot.setYRange(0, extent, padding=0.02)
        logs = {r.key: log_rows(r.dh_rows) for r in snap.runs}
        empty = all(not len(rows) for rows in logs.values())
        if empty != self._empty or extent_changed:
            self._empty = empty
            self._placeNote()
        self.levels = gradient_levels(list(logs.values()))
        for r in snap.runs:
            img = self.images[r.key]
            data = logs[r.key]
            T = snap.config.length
            if not len(data):
                img.clear()
                continue
            data = np.where(np.isfinite(data), data, np.float32(self.levels[0]))
            img.setImage(np.ascontiguousarray(data, dtype=np.float32), levels=self.levels, autoLevels=False)
            ups = r.dh_updates
            stride = float(ups[1] - ups[0]) if len(ups) > 1 else 1.0
            img.setRect(QtCore.QRectF(0.5, float(ups[0]), float(T), float(ups[-1] - ups[0]) + stride))
        if self.bar is not None and tuple(self.bar.levels()) != tuple(self.levels):
            self.bar.setLevels(self.levels)

    def setTheme(self, look: theme.Theme) -> None:
        super().setTheme(look)
        self.graphics.setBackground(look.background)
        self._keys = ()  # rebuilt with the new look at the next draw
        if hasattr(self, "images"):
            self.showSnapshot(self.train.snapshot)


class ContribPanel(_PlotPanel):
    """‖∂L_T/∂x_k‖ for k = 1 … T on a log scale: how much each earlier input moves the last loss."""

    #: what the empty plot says before the first update, in the longest form that fits
    EMPTY = ("Each input's share of the last loss\nappears with the first update (Train or Step)",
             "Appears with the first update\n(Train or Step)", "After the first update", "")

    TITLES = ("Contributions ‖∂L_T/∂x_k‖ (log scale)", "Contributions ‖∂L_T/∂x_k‖", "‖∂L_T/∂x_k‖ (log scale)",
              "‖∂L_T/∂x_k‖")

    def _fitTitles(self) -> None:
        _set_title(self.plot, self.TITLES, self.look, self.plotWidget.width())
        self.legend.fit(self.plotWidget.width() - 16)
        self._placeEmpty()

    def _placeEmpty(self) -> None:
        """The note of an empty plot in its centre, in the longest wording its width holds."""
        if not getattr(self, "_empty", False):
            if self.emptyText.isVisible():
                self.emptyText.hide()
            return
        vb = self.plot.getViewBox()
        text = theme.fitting_lines(self.EMPTY, self.emptyText.textItem.font(), vb.width() - 16)
        self.emptyText.setVisible(bool(text))
        if text:
            if self.emptyText.toPlainText() != text:
                self.emptyText.setText(text)
            (x0, x1), (y0, y1) = vb.viewRange()
            self.emptyText.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plotWidget = theme.graphics_widget()
        self.plotWidget.setMinimumSize(200, 150)
        self.plot = self.plotWidget.addPlot(row=0, col=0, axisItems={"left": ReadableLogAxis("left")})
        self.plot.setLogMode(y=True)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.legend = LegendRow()
        self.legend.place(self.plotWidget.ci, 1)
        # before the first update there is nothing to plot: an empty log axis said nothing
        self.emptyText = pg.TextItem(self.EMPTY[0], anchor=(0.5, 0.5))
        self.plot.getViewBox().addItem(self.emptyText, ignoreBounds=True)
        self.plot.getViewBox().sigResized.connect(lambda *_: self._placeEmpty())
        self.plot.disableAutoRange()
        self.plot.setMouseEnabled(x=False, y=False)
        self._lay.addWidget(self.plotWidget)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._keys = ()
        self._T = self._ySpan = None
        self.setTheme(self.look)
        self.showSnapshot(self.train.snapshot)

    def showSnapshot(self, snap) -> None:
        keys = tuple(r.key for r in snap.runs)
        if keys != self._keys:
            for item in self.curves.values():
                self.plot.removeItem(item)
            self.curves.clear()
            for r in snap.runs:
                self.curves[r.key] = self.plot.plot(symbol="o", symbolSize=5)
            self._keys = keys
            self._style()
            several = len(snap.runs) > 1  # one cell: named in the status, no key (and no room taken)
            self.legend.entries([(self.curves[r.key], r.label) for r in snap.runs] if several else [])
            self.legend.setVisible(several)
            self._fitTitles()
            cache_decorations(self.plotWidget)
        if self._T != snap.config.length:
            self._T = snap.config.length
            self.plot.setXRange(0.5, self._T + 0.5, padding=0.02)
        span = decades([r.contrib for r in snap.runs if r.contrib is not None])
        if span is not None and span != self._ySpan:
            self._ySpan = span
            self.plot.setYRange(*span, padding=0.02)
        empty = all(r.contrib is None for r in snap.runs)
        if empty != getattr(self, "_empty", None):
            # an empty log axis labelled "5" and "2", ticks of no data: ticks with the first curve
            # (no ticks rather than no values: the axis keeps its width, the plot does not jump)
            self.plot.getAxis("left").setTicks([[], []] if empty else None)
        self._empty = empty
        self._placeEmpty()
        for r in snap.runs:
            c = r.contrib
            if c is None:
                self.curves[r.key].setData([], [])
                continue
            k = np.arange(1, len(c) + 1, dtype=np.float64)
            ok = np.isfinite(c) & (c > 0)
            self.curves[r.key].setData(k[ok], np.asarray(c, np.float64)[ok])

    def _style(self) -> None:
        look = self.look
        w = max(1.0, 2.5 * look.font_scale)
        for key, item in self.curves.items():
            colour = look.cell_colour(key)
            item.setPen(pg.mkPen(colour, width=w))
            item.setSymbolBrush(colour)
            item.setSymbolPen(colour)

    def setTheme(self, look: theme.Theme) -> None:
        super().setTheme(look)
        self.plotWidget.setBackground(look.background)
        theme.style_plot(self.plot, look, None, "‖∂L_T/∂x_k‖", "input step k")
        self.emptyText.setColor(look.muted)
        self.emptyText.setFont(theme.font(look.axis_pt))
        self._fitTitles()
        self.legend.setLabelTextColor(look.foreground)
        self.legend.setLabelTextSize(f"{look.axis_pt}pt")
        self._style()
        if getattr(self, "curves", None):  # the legend's entries keep the size they were made in: made again
            self._keys = ()
            self.showSnapshot(self.train.snapshot)


#: The levels of an all-zero map (a weight change before the first update).
ZERO_LEVELS = (-1e-12, 1e-12)


def symmetric_levels(a: np.ndarray) -> tuple[float, float]:
    """(−m, m) around the largest finite |value|, m rounded up to 1, 2 or 5 × 10^k: while the
    weights train the colour bars' axes (a repaint each) change only now and then, not at
    every poll (they were 2 of every 3 axis repaints in the Train mode)."""
    finite = np.abs(a[np.isfinite(a)])
    m = float(finite.max()) if finite.size else 0.0
    if not m > 0:
        return ZERO_LEVELS
    k = 10.0 ** np.floor(np.log10(m))
    m = float(next(f * k for f in (1, 2, 5, 10) if f * k >= m * (1 - 1e-12)))
    return (-m, m)


#: The weights panel changes its arrangement only for a matrix this much larger (no flicker
#: at the crossing).
STACK_GAIN = 1.15


class WeightsPanel(_PlotPanel):
    """One weight matrix of one cell now, and its change since the start (diverging maps)."""

    PARAMS = (("rnn.weight_hh_l0", "W_hh"), ("rnn.weight_ih_l0", "W_ih"), ("fc.weight", "W_hy (output)"))

    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        top = QtWidgets.QHBoxLayout()
        self.cellCombo = QtWidgets.QComboBox()
        self.paramCombo = QtWidgets.QComboBox()
        for name, label in self.PARAMS:
            self.paramCombo.addItem(label, name)
        for combo in (self.cellCombo, self.paramCombo):
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
        # the cell's whole name ("RNN (tanh" in presenter type at 1024 × 768): the caption
        # beside it gives way first
        self.cellCombo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._caption = QtWidgets.QLabel("Weights")
        # it takes the room the choices leave, in the longest wording that fits (_fitTitles)
        self._caption.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self._captions = ("Weights",)
        top.addWidget(self._caption, 1)
        top.addWidget(self.cellCombo)
        top.addWidget(self.paramCombo)
        self._lay.addLayout(top)
        self.graphics = theme.graphics_widget()
        self._lay.addWidget(self.graphics)
        self.valuePlot = self.graphics.addPlot(row=0, col=0)
        self.changePlot = self.graphics.addPlot(row=0, col=2)
        self.valueImage = pg.ImageItem(axisOrder="row-major")
        self.changeImage = pg.ImageItem(axisOrder="row-major")
        self.valuePlot.addItem(self.valueImage)
        self.changePlot.addItem(self.changeImage)
        for p in (self.valuePlot, self.changePlot):
            p.invertY(True)
            p.setAspectLocked(False)
            p.setMouseEnabled(x=False, y=False)
        self.valueBar = pg.ColorBarItem(values=(-1, 1), interactive=False, width=14, colorMapMenu=False)
        self.changeBar = pg.ColorBarItem(values=(-1, 1), interactive=False, width=14, colorMapMenu=False)
        self.valueBar.setImageItem(self.valueImage)
        self.changeBar.setImageItem(self.changeImage)
        self._stacked = None
        self._arrange(False)
        self.graphics.installEventFilter(self)  # the arrangement follows the plots' own size
        self._keys = ()
        self._titled = None
        cache_decorations(self.graphics)
        self.cellCombo.currentIndexChanged.connect(lambda _i: self.showSnapshot(self.train.snapshot))
        self.paramCombo.currentIndexChanged.connect(lambda _i: self.showSnapshot(self.train.snapshot))
        self.setTheme(self.look)
        self.showSnapshot(self.train.snapshot)

    def showSnapshot(self, snap) -> None:
        keys = tuple(r.key for r in snap.runs)
        if keys != self._keys:
            with QtCore.QSignalBlocker(self.cellCombo):
                self.cellCombo.clear()
                for r in snap.runs:
                    self.cellCombo.addItem(r.label, r.key)
            self._keys = keys
        self.cellCombo.setVisible(len(keys) > 1)
        key = self.cellCombo.currentData() or keys[0]
        run = next(r for r in snap.runs if r.key == key)
        name = self.paramCombo.currentData()
        now = run.model.state_dict()[name]
        change = now - run.initial.state_dict()[name]
        self.value = np.ascontiguousarray(now, dtype=np.float32)
        self.delta = np.ascontiguousarray(change, dtype=np.float32)
        lv, lc = symmetric_levels(self.value), symmetric_levels(self.delta)
        self.valueImage.setImage(self.value, levels=lv, autoLevels=False)
        self.changeImage.setImage(self.delta, levels=lc, autoLevels=False)
        for bar, levels in ((self.valueBar, lv), (self.changeBar, lc)):
            if tuple(bar.levels()) != levels:  # each change repaints the bar's axis
                bar.setLevels(levels)
                # all zero (no update yet): the bar reads "0", not "1e-12 5e-13 0" of its span
                bar.axis.setTicks([[(0.0, "0")]] if levels == ZERO_LEVELS else None)
        self._label = self.paramCombo.currentText()
        self._fitTitles()
        norm, name = float(np.linalg.norm(change)), self._label.split()[0]
        self._captions = (f"Weights: ‖Δ{name}‖ = {norm:.3g} since the start", f"‖Δ{name}‖ = {norm:.3g} since the start",
                          f"‖Δ{name}‖ = {norm:.3g}", f"‖Δ‖ = {norm:.3g}", "")  # (the matrix is named beside it)
        self._fitCaption()

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.graphics and ev.type() == QtCore.QEvent.Type.Resize:
            self._arrange(self._wantStacked())
        return super().eventFilter(obj, ev)

    def isStacked(self) -> bool:
        """The change below the matrix (a tall narrow panel), not beside it."""
        return bool(self._stacked)

    def _wantStacked(self) -> bool:
        """Whichever arrangement gives each matrix the larger square: side by side, a
        1024-pixel screen left each about 40 pixels wide, a strip."""
        g = self.graphics
        across = sum(max(x.width(), x.minimumWidth()) for x in (self.valueBar, self.valuePlot.getAxis("left")))
        down = self.valuePlot.getAxis("bottom").height() + (self.valuePlot.titleLabel.height() or 20)
        beside = min((g.width() - 2 * across) / 2, g.height() - down)
        below = min(g.width() - across, (g.height() - 2 * down) / 2)
        return below > beside * STACK_GAIN if not self._stacked else below * STACK_GAIN >= beside

    def _arrange(self, stacked: bool) -> None:
        if stacked == self._stacked:
            return
        ci = self.graphics.ci
        if self._stacked is not None:
            for item in (self.valuePlot, self.valueBar, self.changePlot, self.changeBar):
                ci.removeItem(item)
        self._stacked = stacked
        places = ((0, 0), (0, 1), (1, 0), (1, 1)) if stacked else ((0, 0), (0, 1), (0, 2), (0, 3))
        for item, (row, col) in zip((self.valuePlot, self.valueBar, self.changePlot, self.changeBar), places):
            self.graphics.addItem(item, row=row, col=col)
        plots = (0,) if stacked else (0, 2)  # the plots' columns take the width, the bars keep theirs
        for col in range(4):
            ci.layout.setColumnStretchFactor(col, 1 if col in plots else 0)
        for row in range(2):  # an empty second row with a share took half the maps' height
            ci.layout.setRowStretchFactor(row, 1 if stacked or row == 0 else 0)
        self._titled = None  # the titles' room changed
        self._fitTitles()

    def captionText(self) -> str:
        """The line above the matrices as shown: the change's norm in the longest wording that fits."""
        return self._caption.text()

    def _fitCaption(self) -> None:
        fm = QtGui.QFontMetrics(self._caption.font())
        room = self._caption.contentsRect().width()
        text = next((f for f in self._captions if fm.horizontalAdvance(f) <= room), "")
        if self._caption.text() != text:
            self._caption.setText(text)
        self._caption.setToolTip(self._captions[0])

    def _fitTitles(self) -> None:
        label, look = getattr(self, "_label", None), self.look
        if label is None:
            return
        # each matrix has half of what its colour bar and its axis leave
        taken = sum(max(x.width(), x.minimumWidth()) for x in (self.valueBar, self.changeBar,
                                                               self.valuePlot.getAxis("left"),
                                                               self.changePlot.getAxis("left")))
        rows, columns = (2, 1) if self._stacked else (1, 2)  # the matrices' arrangement
        room = (self.graphics.width() - taken / rows) / columns - 12
        titles = (theme.fitting((f"{label} now", label.split()[0], ""), look.title_pt, room),
                  theme.fitting(("its change since the start", "its change", "change", "Δ", ""), look.title_pt, room))
        if self._titled != (titles, look):  # a plot title's change re-lays the plot out: only when it must
            self._titled = (titles, look)
            for plot, title in zip((self.valuePlot, self.changePlot), titles):
                plot.setTitle(title, size=f"{look.title_pt}pt", color=look.foreground, bold=True)
                _any_width(plot.titleLabel)
        if hasattr(self, "_captions"):
            QtCore.QTimer.singleShot(0, self, self._fitCaption)  # once the row has its new width

    def setTheme(self, look: theme.Theme) -> None:
        super().setTheme(look)
        self.graphics.setBackground(look.background)
        cmap = theme.colormap(look.diverging)
        for bar in (self.valueBar, self.changeBar):
            bar.setColorMap(cmap)
            bar.axis.setStyle(tickFont=theme.font(look.axis_pt))
            bar.axis.setTextPen(look.foreground)
        theme.style_plot(self.valuePlot, look, None, "row", "col")  # "column" ran under the colour bar
        room_for_labels(self.valuePlot.getAxis("left"))  # short in presenter mode at 1024 × 768
        theme.style_plot(self.changePlot, look, None, None, "col")  # the same rows as beside it
        room_for_labels(self.changePlot.getAxis("left"))  # short in presenter mode at 1024 × 768
        for plot in (self.valuePlot, self.changePlot):  # and narrow: "5 10" ran into "510"
            room_for_labels(plot.getAxis("bottom"))
            # a label at column 0 may reach past the heatmap's edge (pyqtgraph hid the only one)
            plot.getAxis("bottom").setStyle(hideOverlappingLabels=label_spill(look))
        self._caption.setFont(look.font(look.title_pt, bold=True))
        for w in (self.cellCombo, self.paramCombo):
            w.setFont(look.font())
        if self._keys:
            self.showSnapshot(self.train.snapshot)


def _char(ch: str) -> str:
    return "␣" if ch == " " else ch


class OutputPanel(Panel, QtWidgets.QWidget):
    """The output row under the hidden state in Explore, while a model trained here is shown:
    y_t over t with the targets overlaid (the steps the loss reads), or for classes the
    probability of each class (rows) per step, the target's class marked. Hidden otherwise."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.train = training_for(controller)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.graphics = theme.graphics_widget()
        self.graphics.setMinimumHeight(120)
        lay.addWidget(self.graphics)
        self.plot = self.graphics.addPlot()
        self.plot.setMouseEnabled(x=False, y=False)
        self.curve = pg.PlotDataItem()
        self.targets = pg.ScatterPlotItem(symbol="x", size=14)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.cursor = pg.InfiniteLine(angle=90, movable=False)
        for item in (self.image, self.curve, self.targets, self.cursor):
            self.plot.addItem(item)
        self.row = None
        controller.resultChanged.connect(self._onResult)
        controller.stepChanged.connect(self._onStep)
        controller.loadedChanged.connect(lambda _n: self._onResult(controller.result))
        self.train.exploring.connect(lambda _n: self._onResult(controller.result))
        self.setTheme(self.look)
        self._onResult(controller.result)  # hidden unless the run already has an output layer (a file's head)

    def isRelevant(self) -> bool:
        return self.row is not None  # compact columns: no tab without a trained model shown

    def _onResult(self, result) -> None:
        ex = self.train.explored
        c = self.controller
        if ex is None or result is None or c.loadedName != ex.name or result.T != len(ex.mask):
            from ..core.wholemodel import result_row  # a loaded file's own head, if it has one

            self.row = result_row(c.app.whole, result)
            if self.row is None:
                self.hide()
                return
        else:
            self.row = TR.output_row(ex.model, result.cells[0].trace.h, ex.ys, ex.mask, ex.task)
        self._draw()
        self.show()

    def _onStep(self, t: int) -> None:
        self.cursor.setValue(t + 1)

    def _draw(self) -> None:
        row, look = self.row, self.look
        if row.head is not None:
            from .headrow import draw_head

            draw_head(self, row)
            return
        T = len(row.y)
        t = np.arange(1, T + 1, dtype=np.float64)
        bottom = self.plot.getAxis("bottom")
        bottom.setTicks(None)
        if row.chars is not None:  # text: how sure it is of the right next character, letters below
            self.image.hide()
            self.plot.getAxis("left").setTicks(None)
            labels = np.asarray(row.targets, dtype=np.int64)
            p = row.y[np.arange(T), labels].astype(np.float64)
            self.curve.setData(t, p)
            self.targets.setData([], [])
            shown = [row.chars[int(k)] for k in np.argmax(row.y, axis=1)]
            bottom.setTicks([[(k + 1, _char(row.chars[int(labels[k])]) + "\n" + _char(shown[k]))
                              for k in range(T)], []])
            self.plot.setYRange(0, 1.05, padding=0)
            left = "p(next char)"
            title = "Output: probability of the right next character (below: it, and the model's guess)"
        elif row.classes:
            self.curve.setData([], [])
            self.image.setImage(np.ascontiguousarray(row.y.T), levels=(0.0, 1.0), autoLevels=False)
            self.image.setRect(QtCore.QRectF(0.5, -0.5, float(T), float(row.y.shape[1])))
            self.image.show()
            labels = np.asarray(row.targets, dtype=np.float64)
            self.targets.setData(t[row.mask], labels[row.mask])
            self.plot.getAxis("left").setTicks([[(k, str(k)) for k in range(row.y.shape[1])]])
            left = "class"
            title = "Output: probability of each class (× = the target)"
        else:
            self.image.hide()
            self.plot.getAxis("left").setTicks(None)
            self.plot.enableAutoRange(axis="y")
            self.curve.setData(t, row.y[:, 0].astype(np.float64))
            self.targets.setData(t[row.mask], np.asarray(row.targets, dtype=np.float64)[row.mask, 0])
            left = "y_t"
            title = "Output y_t (× = the target where the loss reads it)"
        self.cursor.setValue(self.controller.step + 1)
        theme.style_plot(self.plot, look, title, left, "step t")

    def setTheme(self, look: theme.Theme) -> None:
        super().setTheme(look)
        self.graphics.setBackground(look.background)
        colour = look.cell_colour("loaded")
        self.curve.setPen(pg.mkPen(colour, width=max(1.0, 2.5 * look.font_scale)))
        self.targets.setPen(pg.mkPen(look.foreground, width=2))
        self.targets.setBrush(None)
        self.cursor.setPen(pg.mkPen(look.cursor, width=2))
        self.image.setLookupTable(theme.lut(look.sequential))
        theme.style_plot(self.plot, look, None, None, "step t")
        if self.row is not None:
            self._draw()


# ====================================================================== the mode switch
class TrainPage(QtWidgets.QWidget):
    """The Train tab: the controls (scrolled) beside a 2 × 2 grid of the plot panels."""

    def __init__(self, window, parent=None):
        from .panels import panel_specs

        super().__init__(parent)
        specs = panel_specs("train")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        controls = [s for s in specs if s.id == "trainControls"]
        plots = [s for s in specs if s.id != "trainControls"]
        if controls:
            scroll = QtWidgets.QScrollArea()
            scroll.setWidget(window.panels[controls[0].id])
            scroll.setWidgetResizable(True)
            scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            lay.addWidget(scroll)
            self.controlsScroll = scroll
            # as wide as the controls need at the theme's size (presenter mode's labels are
            # 1.5× wider): the column follows each font change
            scroll.widget().installEventFilter(self)
            self._fitControls()
        grid = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        rows = [QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal) for _ in range((len(plots) + 1) // 2)]
        for k, spec in enumerate(plots):
            rows[k // 2].addWidget(window.panels[spec.id])
        for r in rows:
            r.setChildrenCollapsible(False)
            grid.addWidget(r)
        grid.setChildrenCollapsible(False)
        lay.addWidget(grid, 1)
        self.grid = grid

    def _fitControls(self) -> None:
        scroll = self.controlsScroll
        bar = scroll.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)
        need = scroll.widget().minimumSizeHint().width() + bar + 2 * scroll.frameWidth()
        if scroll.minimumWidth() != need:
            scroll.setMinimumWidth(need)

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() in (QtCore.QEvent.Type.FontChange, QtCore.QEvent.Type.LayoutRequest):
            self._fitControls()
        return False


class Modes(QtWidgets.QStackedWidget):
    """The Explore and Train pages, switched by a tab bar in the menu bar's corner (``bar``):
    the switch takes no height from the views (the window must fit a 1024 × 768 projector).
    Presenter mode hides the menu bar; the switch then moves to a bar of its own at the top
    right of the screen (``presenterBar``, see :meth:`setPresenting`)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("modes")
        self.presenterBar: QtWidgets.QToolBar | None = None
        self._window = None
        self.bar = QtWidgets.QTabBar()
        self.bar.setObjectName("modeBar")
        self.bar.setDocumentMode(True)
        self.bar.setExpanding(False)
        self.bar.setToolTip("Explore a network step by step, or train one")
        self.bar.currentChanged.connect(self.setCurrentIndex)
        self.currentChanged.connect(self._follow)

    def addTab(self, widget: QtWidgets.QWidget, title: str) -> int:
        self.addWidget(widget)
        return self.bar.addTab(title)

    def setTheme(self, look) -> None:
        """The switch at the theme's scale (1.5× in presenter mode), as two segments large
        enough to read and hit from the back of a room: the shown mode dark on light."""
        self.bar.setFont(look.font(look.font_pt, bold=True))
        line = QtGui.QFontMetrics(self.bar.font()).height()
        self.bar.setStyleSheet(
            f"QTabBar::tab {{ min-height: {max(28, round(1.6 * line))}px; min-width: {3 * line}px;"
            f" padding: 0px {max(10, line // 2)}px; margin: 1px 0px 1px 2px; border: 1px solid {look.border};"
            f" border-radius: 5px; background: {look.button}; color: {look.foreground}; }}"
            f" QTabBar::tab:selected {{ background: {look.foreground}; color: {look.background};"
            f" border-color: {look.foreground}; }}"
            f" QTabBar::tab:hover:!selected {{ border-color: {look.cursor}; }}")

    def tabText(self, index: int) -> str:
        return self.bar.tabText(index)

    def attach(self, window) -> None:
        """Put the switch in the corner of ``window``'s menu bar, and make the bar that holds
        it in presenter mode (hidden until then)."""
        self._window = window
        window.menuBar().setCornerWidget(self.bar, QtCore.Qt.Corner.TopRightCorner)
        tools = QtWidgets.QToolBar("Explore | Train")
        tools.setObjectName("presenterModeBar")
        tools.setMovable(False)
        tools.setFloatable(False)
        tools.toggleViewAction().setVisible(False)  # not a choice in the window's context menu
        tools.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.PreventContextMenu)
        holder = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        holder.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred)
        tools.addWidget(holder)
        window.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, tools)
        tools.hide()
        self.presenterBar, self._row = tools, row

    def setPresenting(self, on: bool) -> None:
        """Presenter mode hides the menu bar: the switch goes to the top of the screen, at its
        right end as in the menu bar, and back to the menu bar's corner afterwards."""
        if self.presenterBar is None:
            return
        if on:
            self._row.addWidget(self.bar)  # takes it out of the menu bar's corner
            self.bar.show()
            self.presenterBar.show()
        else:
            self.presenterBar.hide()
            self._window.menuBar().setCornerWidget(self.bar, QtCore.Qt.Corner.TopRightCorner)
            self.bar.show()

    def isPresenting(self) -> bool:
        return self.presenterBar is not None and self.bar.parentWidget() is not self._window.menuBar()

    def _follow(self, index: int) -> None:
        if self.bar.currentIndex() != index:
            with QtCore.QSignalBlocker(self.bar):
                self.bar.setCurrentIndex(index)


def build_modes(window, explore: QtWidgets.QWidget) -> Modes:
    """The Explore page (``explore``) and the Train page of ``window``, and their switch in
    the corner of the menu bar (in presenter mode, at the top of the screen)."""
    tabs = Modes()
    tabs.addTab(explore, "Explore")
    tabs.addTab(TrainPage(window), "Train")
    tabs.attach(window)
    # Ctrl+T switches too, whatever has the focus
    toggle = QtGui.QShortcut(QtGui.QKeySequence("Ctrl+T"), window)
    toggle.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
    toggle.activated.connect(lambda: tabs.setCurrentIndex(1 - tabs.currentIndex()))
    tabs.toggleShortcut = toggle
    tc = training_for(window.controller)
    # the tabs and the controller's mode follow each other (a session or lesson names the mode)
    tabs.currentChanged.connect(lambda i: tc.setMode("train" if i == 1 else "explore"))
    tc.modeChanged.connect(lambda mode: tabs.setCurrentIndex(1 if mode == "train" else 0))
    tabs.setCurrentIndex(1 if tc.mode == "train" else 0)
    QtCore.QTimer.singleShot(0, tabs, lambda: _own_frames(window))
    return tabs


def _own_frames(window) -> None:
    """Take the Train page's plot scenes out of the window's one-frame-per-pass filter.

    That filter swallows the UpdateRequest a scene's update sends from inside it and posts
    one again; with the Train plots redrawn at every poll it kept an UpdateRequest pending all
    the time, and the poll timer (queued behind posted events) fired only about 2 times a
    second in a real window. Without it: 7 polls a second under the same load.
    """
    flt = getattr(window, "_oneFrame", None)
    if flt is None:
        return
    from .panels import panel_specs

    for spec in panel_specs("train"):
        for view in window.panels[spec.id].findChildren(QtWidgets.QGraphicsView):
            if view.scene() is not None:
                view.scene().removeEventFilter(flt)
