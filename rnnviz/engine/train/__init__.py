"""Learning: an output layer, PyTorch's losses, exact BPTT, torch.optim's optimisers and tasks.

    from rnnviz.engine.train import init_model, loss_and_grads, Adam
    model = init_model("lstm", D, H, O, seed=0)
    g = loss_and_grads(model, xs, ys, mask, loss="xent")   # xs (B, T, D)
    g.loss, g.grads["rnn.weight_hh_l0"]                    # PyTorch's parameter names
"""

from .bptt import LOSS_NAMES, Gradients, forward, loss_and_grads
from .losses import LOSSES, cross_entropy, log_softmax, mse
from .loop import UpdateInfo, update
from .model import Model, init_model, model_from_state, param_names
from .optim import OPTIMIZERS, SGD, Adam, clip_grad_norm
from .output import OUTPUT_ACTIVATIONS, Output, init_output, softmax
from .text import SAMPLE_TEXT, CharText
from .tasks import TASKS, Task, accuracy, adding, recall, series, sine

__all__ = [
    "LOSSES",
    "LOSS_NAMES",
    "OPTIMIZERS",
    "OUTPUT_ACTIVATIONS",
    "SAMPLE_TEXT",
    "SGD",
    "TASKS",
    "Task",
    "UpdateInfo",
    "Adam",
    "CharText",
    "Gradients",
    "Model",
    "Output",
    "accuracy",
    "adding",
    "clip_grad_norm",
    "cross_entropy",
    "forward",
    "init_model",
    "init_output",
    "log_softmax",
    "loss_and_grads",
    "model_from_state",
    "mse",
    "param_names",
    "recall",
    "series",
    "sine",
    "softmax",
    "update",
]
