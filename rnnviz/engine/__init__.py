"""rnnviz's cell engine: pure NumPy, no Qt.

    from rnnviz.engine import run
    from rnnviz.io import load_weights     # file formats live one layer up, in rnnviz.io
    cell = load_weights("model.pt")        # or .npz / .safetensors / .keras / .weights.h5
    trace = run(cell, xs, influence=True)  # xs: (T, D)
    trace.h, trace.c, trace.gates["z"], trace.influence

Learning (an output layer, PyTorch's losses, exact BPTT, torch.optim's optimisers, tasks) is
in :mod:`rnnviz.engine.train`; its main names are re-exported here.
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
from .train import Model, Output, init_model, loss_and_grads

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
    "Model",
    "NonFinite",
    "NonFiniteWarning",
    "Output",
    "Stack",
    "State",
    "Trace",
    "backward_flow",
    "choice_of",
    "init_cell",
    "init_model",
    "initial_state",
    "kind_of",
    "loss_and_grads",
    "perturbation",
    "run",
    "seed_example",
    "step",
]

