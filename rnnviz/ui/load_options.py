"""File ▸ Open weights with options…: what a weights file may leave open, asked before it opens.

A Keras ``.weights.h5`` records no activation, recurrent activation, ``go_backwards`` or (for a
bias-free GRU) ``reset_after``; without options rnnviz takes Keras's defaults and says so in the
banner. This dialog sets them for one file; "from the file" leaves each to the file (or the
default). The choices become ``io.load_weights``'s keyword arguments.
"""

from __future__ import annotations

import os

from PySide6 import QtWidgets

from ..engine.activations import ACTIVATIONS
from . import prefs

_FROM_FILE = "from the file (default)"


class LoadOptionsDialog(QtWidgets.QDialog):
    """Activation, recurrent activation, GRU variant and direction for one weights file."""

    def __init__(self, path: str, parent=None):
        super().__init__(parent)
        self.path = path
        self.setWindowTitle("Open weights with options")
        form = QtWidgets.QFormLayout(self)
        form.addRow(QtWidgets.QLabel(f"{os.path.basename(path)}: settings the file may not record"))
        self.activation = self._combo(ACTIVATIONS)
        self.recurrentActivation = self._combo(ACTIVATIONS)
        self.resetAfter = self._combo(("reset after (Keras's and PyTorch's default)", "reset before"))
        self.goBackwards = QtWidgets.QCheckBox("reads its input backwards (go_backwards)")
        form.addRow("activation", self.activation)
        form.addRow("recurrent activation", self.recurrentActivation)
        form.addRow("GRU without bias", self.resetAfter)
        form.addRow("", self.goBackwards)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Open | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @staticmethod
    def _combo(items) -> QtWidgets.QComboBox:
        box = QtWidgets.QComboBox()
        box.addItem(_FROM_FILE, None)
        for item in items:
            box.addItem(item, item)
        return box

    def options(self) -> dict:
        """The choices as ``load_weights`` keyword arguments (only those set)."""
        out = {}
        for name, box in (("activation", self.activation), ("recurrent_activation", self.recurrentActivation)):
            if box.currentData() is not None:
                out[name] = box.currentData()
        if self.resetAfter.currentIndex() > 0:
            out["reset_after"] = self.resetAfter.currentIndex() == 1
        if self.goBackwards.isChecked():
            out["go_backwards"] = True
        return out


def ask(window) -> None:
    """Choose a file, then its options; opening follows Open (neither dialog blocks tests)."""
    from .main_window import weight_filter

    path, _ = QtWidgets.QFileDialog.getOpenFileName(window, "Open weights with options", prefs.last_dir() or "",
                                                    weight_filter())
    if path:
        prefs.set_last_dir(os.path.dirname(path))
        open_with_options(window, path)


def open_with_options(window, path: str) -> LoadOptionsDialog:
    dialog = LoadOptionsDialog(path, window)
    dialog.accepted.connect(lambda: window.openWeights(path, **dialog.options()))
    window.loadOptionsDialog = dialog
    dialog.open()
    return dialog
