"""rnnviz's cell engine: pure NumPy, no Qt.

    from rnnviz.engine import run
    from rnnviz.io import load_weights     # file formats live one layer up, in rnnviz.io
    cell = load_weights("model.pt")        # or .npz / .safetensors / .keras / .weights.h5
    trace = run(cell, xs, influence=True)  # xs: (T, D)
    trace.h, trace.c, trace.gates["z"], trace.influence
"""

from .cells import (
    CELL_KINDS,
    CHOICES,
    COMPARE,
    GATES,
    KINDS,
    SEED_EXAMPLE_INPUTS,
    Cell,
    CellKind,
    Choice,
    GateInfo,
    Stack,
    choice_of,
    init_cell,
    kind_of,
    seed_example,
)
from .errors import InputError, NonFiniteWarning
from .influence import backward_flow
from .run import NonFinite, State, Trace, initial_state, perturbation, run, step

__all__ = [
    "CELL_KINDS",
    "CHOICES",
    "COMPARE",
    "GATES",
    "KINDS",
    "SEED_EXAMPLE_INPUTS",
    "Cell",
    "CellKind",
    "Choice",
    "GateInfo",
    "InputError",
    "NonFinite",
    "NonFiniteWarning",
    "Stack",
    "State",
    "Trace",
    "backward_flow",
    "choice_of",
    "init_cell",
    "initial_state",
    "kind_of",
    "perturbation",
    "run",
    "seed_example",
    "step",
]

