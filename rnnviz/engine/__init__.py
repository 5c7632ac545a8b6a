"""rnnviz's cell engine: pure NumPy, no Qt.

    from rnnviz.engine import run
    from rnnviz.io import load_weights     # file formats live one layer up, in rnnviz.io
    cell = load_weights("model.pt")        # or .npz / .safetensors / .keras / .weights.h5
    trace = run(cell, xs, influence=True)  # xs: (T, D)
    trace.h, trace.c, trace.gates["z"], trace.influence
"""

from .cells import GATES, KINDS, SEED_EXAMPLE_INPUTS, Cell, Stack, init_cell, seed_example
from .errors import InputError, NonFiniteWarning
from .influence import backward_flow, perturbation
from .run import NonFinite, State, Trace, initial_state, run, step

__all__ = [
    "GATES",
    "KINDS",
    "SEED_EXAMPLE_INPUTS",
    "Cell",
    "InputError",
    "NonFinite",
    "NonFiniteWarning",
    "Stack",
    "State",
    "Trace",
    "backward_flow",
    "init_cell",
    "initial_state",
    "perturbation",
    "run",
    "seed_example",
    "step",
]

