"""Cell kinds as plug-ins: one module per kind, one registry, and the kind-neutral Cell.

``rnn.py``, ``gru.py`` and ``lstm.py`` each hold everything about one kind (parameter layout,
forward step, its tangent and adjoint, one unit's arithmetic, the equations, gate metadata);
:mod:`.registry` lists them; :mod:`.base` holds :class:`Cell` and :class:`Stack`.
"""

from .base import SEED_EXAMPLE_INPUTS, Cell, Stack, as_stack, from_seed_names, init_cell, seed_example
from .kind import Adjoint, CellKind, Choice, Factor, GateInfo, LayerRecord, Preactivation, UnitParts, UpdateLine
from .registry import CELL_KINDS, CHOICES, COMPARE, GATES, KINDS, choice_of, kind_of

__all__ = [
    "CELL_KINDS",
    "CHOICES",
    "COMPARE",
    "GATES",
    "KINDS",
    "SEED_EXAMPLE_INPUTS",
    "Adjoint",
    "Cell",
    "CellKind",
    "Choice",
    "Factor",
    "GateInfo",
    "LayerRecord",
    "Preactivation",
    "Stack",
    "UnitParts",
    "UpdateLine",
    "as_stack",
    "choice_of",
    "from_seed_names",
    "init_cell",
    "kind_of",
    "seed_example",
]
