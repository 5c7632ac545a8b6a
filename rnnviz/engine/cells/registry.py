"""The registry of cell kinds, and the UI's cell choices derived from it.

Adding a cell kind: write its module (see :mod:`.kind` for what it provides; ``gru.py`` is a
full example), then add its ``KIND`` to :data:`CELL_KINDS` below. Nothing else branches on it.
"""

from __future__ import annotations

from . import gru, lstm, rnn
from .kind import CellKind, Choice

__all__ = ["CELL_KINDS", "CHOICES", "COMPARE", "GATES", "KINDS", "choice_of", "kind_of"]

#: Every cell kind by name, in menu order.
CELL_KINDS: dict[str, CellKind] = {k.name: k for k in (rnn.KIND, gru.KIND, lstm.KIND)}

#: Gate blocks per kind (the G of a (G·H, H) W_hh), as before the registry existed.
KINDS: dict[str, int] = {name: k.blocks for name, k in CELL_KINDS.items()}
#: Gate names per kind in PyTorch's block order, as before the registry existed.
GATES: dict[str, tuple[str, ...]] = {name: k.gate_names for name, k in CELL_KINDS.items()}

#: The UI's cell menu: each kind's variants, in menu order.
CHOICES: dict[str, Choice] = {c.key: c for k in CELL_KINDS.values() for c in k.choices}
#: The choices Compare mode runs side by side.
COMPARE: tuple[str, ...] = ("rnn_tanh", "gru", "lstm")


def kind_names() -> str:
    """"rnn, gru or lstm": the registered names, for error messages."""
    names = list(CELL_KINDS)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def kind_of(x) -> CellKind:
    """The :class:`CellKind` of a Cell, a Stack (its last layer), a Choice or a kind name."""
    name = getattr(x, "kind", x)
    try:
        return CELL_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown cell kind {name!r}; expected {kind_names()}") from None


def choice_of(cell) -> str:
    """The key of the UI choice ``cell`` is ("rnn_relu" for a ReLU RNN); a cell no choice
    matches exactly (a loaded linear RNN, say) gets its kind's first choice."""
    kind = kind_of(cell)
    for c in kind.choices:
        if all(getattr(cell, name) == value for name, value in c.options.items()):
            return c.key
    return kind.choices[0].key
