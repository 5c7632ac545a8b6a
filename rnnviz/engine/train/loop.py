"""One training update, pure: gradients, optional clipping, the optimiser's step.

    model = init_model("gru", 2, 16, 1, seed=0)
    opt = Adam(lr=1e-2)
    state = opt.init(model.state_dict())
    for k in range(steps):
        xs, ys, mask = adding(32, 50, seed=k)
        model, state, info = update(model, opt, state, xs, ys, mask, loss="mse", clip=1.0)

The parameters are taken from the model in the training dtype at every update, so a float32
run follows the float32 arithmetic of the same run in PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..buffers import FRESH, scratch
from .bptt import _loss_and_grads
from .model import Model
from .optim import clip_grad_norm

__all__ = ["UpdateInfo", "update"]


@dataclass(frozen=True, eq=False)
class UpdateInfo:
    """What one update measured (before the step).

    loss : the batch's loss
    grad_norm : the total 2-norm of the gradient before clipping (as ``clip_grad_norm_`` returns)
    dh_norm : (T,) ‖∂L/∂h_t‖ over the batch and units of the last layer: the vanishing gradient
    dx_norm : (T,) ‖∂L/∂x_t‖ over the batch and inputs: each step's contribution (RNNbow)
    y : (B, T, O) the outputs
    """

    loss: float
    grad_norm: float
    dh_norm: np.ndarray
    dx_norm: np.ndarray
    y: np.ndarray


def update(model: Model, optimizer, opt_state, xs, ys, mask=None, loss: str = "mse", clip: float | None = None,
           truncate: int | None = None, dtype=np.float64):
    """(new model, new optimiser state, :class:`UpdateInfo`) after one step on the batch."""
    with scratch() as ws:
        g = _loss_and_grads(model, xs, ys, mask, loss, truncate, dtype, None, None, ws)
        if not np.isfinite(g.loss):
            raise FloatingPointError(f"the loss became {g.loss}; lower the learning rate or clip the gradient")
        dh_norm = _step_norms(g.dh, ws)  # g.dh and g.dx may be lent by ws: only their norms leave
        dx_norm = _step_norms(g.dx, ws)
    grads = g.grads
    if clip is not None:
        grads, norm = clip_grad_norm(grads, clip)
    else:
        norm = float(np.sqrt(sum(float(np.vdot(a, a)) for a in grads.values())))
    params, opt_state = optimizer.step(model.state_dict(np.dtype(dtype)), grads, opt_state)
    info = UpdateInfo(g.loss, norm, dh_norm, dx_norm, g.y)
    return model.with_state(params), opt_state, info


def _step_norms(d, ws=FRESH) -> np.ndarray:
    """(T,) ‖d[:, t]‖ over the batch and units of d (B, T, N) (a view of time-major memory, as
    bptt returns it), squared and summed in float64 (a vanishing or exploding gradient's squares
    leave float32's range). d is read in memory order: a unit-major kernel's (T, N, B) memory is
    read as such, not gathered across it. Each step's sum of squares is one dot product (a
    batched matmul: half the time of squaring and summing)."""
    tm = d.transpose(1, 0, 2)
    if tm.strides[2] > tm.strides[1]:
        tm = tm.transpose(0, 2, 1)
    x = ws.empty(tm.shape, np.float64)
    np.copyto(x, tm)
    x = x.reshape(x.shape[0], -1)
    return np.sqrt(np.matmul(x[:, None, :], x[:, :, None]).reshape(-1))
