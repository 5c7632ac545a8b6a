"""File ▸ Type token ids or text… and File ▸ Open vocabulary…: the input of a loaded model with
an embedding. The ids (or the text, read with the vocabulary) become the custom rows E[id_t]
(``App.read_tokens``); a problem is one line in a dialog and nothing changes."""

from __future__ import annotations

import os

from PySide6 import QtWidgets

from . import prefs


def has_embedding(controller) -> bool:
    whole = controller.app.whole
    return whole is not None and whole.embedding is not None


def apply_tokens(controller, entry: str, as_text: bool) -> str | None:
    """Make ``entry`` (text, or token ids) the input; the problem in one line, or None."""
    try:
        controller.app.read_tokens(entry, as_text)
    except ValueError as exc:
        return str(exc)
    return None


class TokensDialog(QtWidgets.QDialog):
    """One line of input, read as text (with the model's vocabulary) or as token ids."""

    def __init__(self, controller, as_text: bool | None = None, parent=None):
        super().__init__(parent)
        self.controller = controller
        whole = controller.app.whole
        self.setWindowTitle("Model input: tokens")
        form = QtWidgets.QFormLayout(self)
        V = whole.embedding.vocab_size
        self.kind = QtWidgets.QComboBox()
        self.kind.addItem("token ids (0 … %d, separated by spaces)" % (V - 1), False)
        if whole.vocab is not None:
            unit = "characters" if whole.vocab.per_char else "words"
            self.kind.addItem(f"text ({unit} of {whole.vocab.source})", True)
            self.kind.setCurrentIndex(0 if as_text is False else 1)
        self.entry = QtWidgets.QLineEdit()
        self.entry.setMinimumWidth(420)
        form.addRow("read as", self.kind)
        form.addRow("input", self.entry)
        self.problem = QtWidgets.QLabel("")
        self.problem.setWordWrap(True)
        form.addRow(self.problem)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._apply)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _apply(self) -> None:
        problem = apply_tokens(self.controller, self.entry.text(), bool(self.kind.currentData()))
        if problem:
            self.problem.setText(problem)
            return
        self.accept()


def ask_tokens(window, as_text: bool | None = None) -> None:
    controller = window.controller
    if not has_embedding(controller):
        return
    dialog = TokensDialog(controller, as_text, window)
    dialog.exec()
    dialog.deleteLater()


def ask_vocab(window) -> None:
    controller = window.controller
    if not has_embedding(controller):
        return
    path, _ = QtWidgets.QFileDialog.getOpenFileName(
        window, "Open vocabulary", prefs.last_dir() or "", "Vocabularies (*.json *.txt);;All files (*)")
    if path:
        prefs.set_last_dir(os.path.dirname(path))
        from .session import open_guarded

        open_guarded(window, "Cannot open vocabulary", path, lambda: controller.app.use_vocab(path))
