"""The main window: assembles the panels around one controller, owns keys, menus and status."""

from __future__ import annotations

import os

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..engine import InputError
from . import theme
from .controller import Controller
from .controls import ControlPanel
from .equations import EquationPanel
from .fading import FadingPanel
from .heatmaps import GatePanel, StatePanel
from ..core.model import CELL_CHOICES
from .transport import TransportBar

DEFAULT_SIZE = (1600, 1000)
WEIGHT_FILTER = "Weights (*.pt *.pth *.npz *.safetensors *.keras *.h5);;All files (*)"


class WarningBanner(QtWidgets.QLabel):
    """A visible strip at the top of the window for overflow and similar warnings."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setFont(theme.font(theme.TITLE_PT, bold=True))
        self.setStyleSheet(
            f"QLabel {{ background: {theme.WARNING_BG}; color: {theme.WARNING_FG};"
            f" border: 2px solid {theme.WARNING_FG}; border-radius: 4px; padding: 6px 10px; }}"
        )
        self.hide()

    def showWarnings(self, messages: list[str]) -> None:
        if not messages:
            self.hide()
            self.clear()
            return
        self.setText("⚠  " + "   ·   ".join(messages)
                     + "  — the values exploded; move the sliders back (e.g. recurrent scale) to recover.")
        self.show()


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, controller: Controller | None = None, parent=None):
        super().__init__(parent)
        theme.configure_pyqtgraph()
        self.controller = controller or Controller()
        self.setWindowTitle("rnnviz — watch recurrent networks think")
        self.resize(*DEFAULT_SIZE)
        self.setAcceptDrops(True)
        c = self.controller

        self.controls = ControlPanel(c)
        self.statePanel = StatePanel(c)
        self.gatePanel = GatePanel(c)
        self.fadingPanel = FadingPanel(c)
        self.equationPanel = EquationPanel(c)
        self.transport = TransportBar(c)
        self.banner = WarningBanner()

        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.controls.sizeHint().width() + 24)
        self.controlsScroll = scroll

        left = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        left.addWidget(self.statePanel)
        left.addWidget(self.gatePanel)
        left.setStretchFactor(0, 5)
        left.setStretchFactor(1, 4)
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(self.fadingPanel)
        right.addWidget(self.equationPanel)
        right.setStretchFactor(0, 5)
        right.setStretchFactor(1, 4)
        views = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        views.addWidget(left)
        views.addWidget(right)
        views.setStretchFactor(0, 11)
        views.setStretchFactor(1, 9)
        main = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        main.addWidget(scroll)
        main.addWidget(views)
        main.setStretchFactor(0, 0)
        main.setStretchFactor(1, 1)
        for sp in (left, right, views, main):
            sp.setChildrenCollapsible(False)
        self.splitters = (main, views, left, right)

        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 0)
        lay.setSpacing(4)
        lay.addWidget(self.banner)
        lay.addWidget(main, 1)
        lay.addWidget(self.transport)
        self.setCentralWidget(central)

        self._status = QtWidgets.QLabel()
        self._status.setFont(theme.font(theme.FONT_PT))
        self.statusBar().addWidget(self._status, 1)
        self.statusBar().setSizeGripEnabled(False)

        self._buildMenus()
        self._buildShortcuts()
        from . import export, presenter

        export.install(self)
        presenter.install(self)  # presenter mode, themes, clicker keys, ? overlay, preferences
        from . import session

        session.install(self)  # File ▸ Open/Save session, Lessons, Start page; Ctrl+O → sessions
        c.resultChanged.connect(self._onResult)
        c.errorOccurred.connect(lambda msg: self.showError("Computation failed", msg))
        c.loadedChanged.connect(self._updateTitle)
        c.settingsChanged.connect(lambda _s: self._updateTitle())
        if c.result is not None:
            self._onResult(c.result)
        self._updateTitle()

    # ------------------------------------------------------------------ menus/keys
    def _buildMenus(self) -> None:
        c = self.controller
        file = self.menuBar().addMenu("&File")
        act = file.addAction("&Open weights…", self.openWeightsDialog)
        act.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        file.addAction("Open &input sequence (CSV/NPY)…", self.openInputDialog)
        self.exportWeightsAction = file.addAction("E&xport weights…", self.exportWeightsDialog)
        file.addAction("Use the seed document's example", c.useSeedExample)
        file.addSeparator()
        act = file.addAction("&Quit", self.close)
        act.setShortcut(QtGui.QKeySequence.StandardKey.Quit)

        view = self.menuBar().addMenu("&View")
        self.allStepsAction = view.addAction("Show &all steps")
        self.allStepsAction.setCheckable(True)
        self.allStepsAction.toggled.connect(c.setRevealAll)
        c.revealAllChanged.connect(self._syncAllSteps)
        self.backwardAction = view.addAction("&Backward view ‖∂h_T/∂h_t‖")
        self.backwardAction.setCheckable(True)
        self.backwardAction.toggled.connect(lambda on: c.update(backward=on))
        c.settingsChanged.connect(self._syncBackward)
        cell = view.addMenu("&Cell")
        for key, label in CELL_CHOICES.items():
            cell.addAction(label, lambda k=key: c.update(cell=k))

        help_ = self.menuBar().addMenu("&Help")
        help_.addAction("&Keyboard shortcuts", lambda: self.presenter.showHelp())

    def _syncAllSteps(self, on: bool) -> None:
        with QtCore.QSignalBlocker(self.allStepsAction):
            self.allStepsAction.setChecked(on)

    def _syncBackward(self, s) -> None:
        with QtCore.QSignalBlocker(self.backwardAction):
            self.backwardAction.setChecked(s.backward)

    def _buildShortcuts(self) -> None:
        c = self.controller
        keys = [
            (QtCore.Qt.Key.Key_Space, c.togglePlaying),
            (QtCore.Qt.Key.Key_Right, c.stepForward),
            (QtCore.Qt.Key.Key_Left, c.stepBack),
            (QtCore.Qt.Key.Key_Home, c.toStart),
            (QtCore.Qt.Key.Key_End, c.toEnd),
            (QtCore.Qt.Key.Key_Plus, c.faster),
            (QtCore.Qt.Key.Key_Equal, c.faster),
            (QtCore.Qt.Key.Key_Minus, c.slower),
            (QtCore.Qt.Key.Key_A, lambda: c.setRevealAll(not c.revealAll)),
        ]
        self._shortcuts = []
        for key, slot in keys:
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)
            self._shortcuts.append(sc)

    # ------------------------------------------------------------------ files
    def openWeightsDialog(self) -> None:
        from . import prefs

        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open weights", prefs.last_dir() or "", WEIGHT_FILTER)
        if path:
            prefs.set_last_dir(os.path.dirname(path))
            self.openWeights(path)

    def openInputDialog(self) -> None:
        from . import prefs

        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open input sequence", prefs.last_dir() or "", "Sequences (*.csv *.npy);;All files (*)")
        if path:
            prefs.set_last_dir(os.path.dirname(path))
            self.openInput(path)

    def openInput(self, path: str) -> bool:
        """Use a CSV/NPY file (one row per step, one column per feature) as the custom input.

        A bad file gets a dialog naming it and the problem; the session stays as it was.
        """
        from ..io.sequences import read_sequence
        from ..core.model import LIMITS

        c = self.controller
        try:
            xs = read_sequence(path, input_size=c.settings.input_size)
            if len(xs) > LIMITS["T"][1]:
                raise InputError(f"has {len(xs)} steps; at most {LIMITS['T'][1]} fit", path)
        except InputError as err:
            self.showError("Cannot open input sequence", str(err))
            return False
        c.update(signal="custom", custom=tuple(tuple(float(v) for v in row) for row in xs), T=len(xs))
        return True

    def exportWeightsDialog(self) -> None:
        from . import prefs

        if self.controller.settings.cell == "compare":
            self.showError("Export weights", "Compare mode runs three cells: choose one cell to export its weights.")
            return
        start = os.path.join(prefs.last_dir() or "", "weights.safetensors")
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export weights (PyTorch names)", start, "safetensors (*.safetensors);;NumPy (*.npz)")
        if path:
            if not path.lower().endswith((".safetensors", ".npz")):
                path += ".npz" if "npz" in chosen else ".safetensors"
            prefs.set_last_dir(os.path.dirname(path))
            self.exportWeights(path)

    def exportWeights(self, path: str) -> bool:
        """Write the active model, as every slider has made it, in PyTorch naming (atomically)."""
        import warnings

        from ..io.weights import save_weights

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                save_weights(self.controller.activeModel(), path)
            except (InputError, OSError) as err:
                self.showError("Cannot export weights", str(err))
                return False
        note = "; ".join(str(w.message) for w in caught if issubclass(w.category, UserWarning))
        self.statusBar().showMessage(f"Weights written to {os.path.basename(path)}" + (f" — {note}" if note else ""),
                                     10_000)
        return True

    def openWeights(self, path: str) -> bool:
        """Load a weights file; on a bad file show a dialog and keep the current session."""
        try:
            self.controller.loadWeights(path)
        except InputError as err:
            self.showError("Cannot open weights", str(err))
            return False
        return True

    def showError(self, title: str, message: str) -> None:
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, message,
                                    QtWidgets.QMessageBox.StandardButton.Ok, self)
        self._lastError = box
        box.open()

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.openWeights(urls[0].toLocalFile())
            event.acceptProposedAction()

    # ------------------------------------------------------------------ status
    def _onResult(self, result) -> None:
        self.banner.showWarnings(result.warnings())
        parts = []
        for cr in result.cells:
            model = cr.model
            n = model.n_params
            try:
                rho = self.controller.spectralRadius(cr.key if cr.key != "loaded" else None)
                rho_s = f"ρ(W_hh) = {rho:.2f}"
            except (ValueError, np.linalg.LinAlgError):
                rho_s = "ρ(W_hh) = ?"
            prefix = f"{cr.label}: " if len(result.cells) > 1 else ""
            parts.append(f"{prefix}{n:,} parameters · {rho_s}")
        text = "   |   ".join(parts)
        warns = result.warnings()
        if warns:
            text += "   |   ⚠ " + "; ".join(warns)
        self._status.setText(text)

    def statusText(self) -> str:
        return self._status.text()

    def _updateTitle(self, *_):
        name = self.controller.loadedName
        label = CELL_CHOICES[self.controller.settings.cell]
        self.setWindowTitle(f"rnnviz — {name}" if name else f"rnnviz — {label}")
