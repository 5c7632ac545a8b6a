"""Errors the engine raises for bad user input."""

from __future__ import annotations

import os


class InputError(ValueError):
    """A file or value the user supplied cannot be used.

    ``str(err)`` is one short line that names the file (when there is one) and the problem,
    ready to print on stderr or show in a dialog.
    """

    def __init__(self, problem: str, path: str | os.PathLike | None = None):
        self.problem = problem
        self.path = None if path is None else os.fspath(path)
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class NonFiniteWarning(RuntimeWarning):
    """A run produced inf or NaN (for example a ReLU RNN whose activations explode)."""
