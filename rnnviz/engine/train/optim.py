"""Optimisers exactly as ``torch.optim`` computes them, and ``clip_grad_norm_``, as pure functions.

An optimiser is a frozen value (its hyper-parameters); its state is a separate value, so a step
is ``(params, grads, state) -> (params, state)`` and nothing is mutated. ``params`` and
``grads`` are dicts of arrays by name (a Model's ``state_dict()`` and a Gradients' ``grads``).

Notes
-----
SGD (``torch.optim.SGD``, dampening 0, no Nesterov, no weight decay), with momentum μ::

    b ← g on the first step, then b ← μ b + g ;   p ← p − lr · b      (μ = 0: p ← p − lr · g)

Adam (``torch.optim.Adam``, its defaults β = (0.9, 0.999), ε = 1e-8, no AMSGrad), step s = 1, 2, …::

    m ← m + (1 − β₁)(g − m)            (torch's lerp)
    v ← β₂ v + (1 − β₂) g²
    p ← p − (lr / (1 − β₁ˢ)) · m / (√v / √(1 − β₂ˢ) + ε)

Clipping (``torch.nn.utils.clip_grad_norm_``, the 2-norm)::

    N = ‖(‖g_1‖, ‖g_2‖, …)‖ ;   every g ← g · min(1, max_norm / (N + 1e-6))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["OPTIMIZERS", "SGD", "Adam", "clip_grad_norm"]


def clip_grad_norm(grads: dict, max_norm: float):
    """(clipped grads, total norm N before clipping), as ``clip_grad_norm_`` (norm_type 2).

    Like torch, the gradients are always multiplied by the clamped coefficient (by exactly 1
    when N + 1e-6 ≤ max_norm).
    """
    if not max_norm > 0:
        raise ValueError(f"the clipping norm must be positive, not {max_norm!r}")
    arrays = list(grads.values())
    if not arrays:
        return {}, 0.0
    dtype = arrays[0].dtype
    norms = np.array([_norm(g) for g in arrays], dtype=dtype)
    total = _norm(norms)
    coef = dtype.type(max_norm) / (total + dtype.type(1e-6))
    coef = min(coef, dtype.type(1.0))
    return {n: g * coef for n, g in grads.items()}, float(total)


def _norm(a):
    """The 2-norm of a's entries, as ``np.linalg.norm(a.ravel())`` computes it (√(v·v)), without
    its wrapper's cost."""
    v = a.ravel()
    return np.sqrt(v.dot(v))


@dataclass(frozen=True)
class SGD:
    """``torch.optim.SGD(params, lr, momentum)``."""

    lr: float = 1e-2
    momentum: float = 0.0

    def __post_init__(self):
        if not self.lr > 0:
            raise ValueError(f"the learning rate must be positive, not {self.lr!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), not {self.momentum!r}")

    def init(self, params: dict) -> dict:
        """The state before the first step: no momentum buffers yet."""
        return {}

    def step(self, params: dict, grads: dict, state: dict):
        new_params, new_state = {}, {}
        for name, p in params.items():
            g = grads[name]
            if self.momentum:
                buf = state.get(name)
                buf = g.copy() if buf is None else buf * p.dtype.type(self.momentum) + g
                new_state[name] = buf
                g = buf
            new_params[name] = p - p.dtype.type(self.lr) * g
        return new_params, new_state


@dataclass(frozen=True)
class Adam:
    """``torch.optim.Adam(params, lr, betas, eps)`` with torch's defaults."""

    lr: float = 1e-3
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8

    def __post_init__(self):
        if not self.lr > 0:
            raise ValueError(f"the learning rate must be positive, not {self.lr!r}")
        b1, b2 = self.betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must lie in [0, 1), not {self.betas!r}")
        if not self.eps >= 0:
            raise ValueError(f"eps must be ≥ 0, not {self.eps!r}")

    def init(self, params: dict) -> dict:
        return {"step": 0, "m": {n: np.zeros_like(p) for n, p in params.items()},
                "v": {n: np.zeros_like(p) for n, p in params.items()}}

    def step(self, params: dict, grads: dict, state: dict):
        b1, b2 = self.betas
        s = state["step"] + 1
        bc1 = 1 - b1**s
        bc2_sqrt = math.sqrt(1 - b2**s)
        step_size = self.lr / bc1
        names = list(params)
        parts = [[d[n] for n in names] for d in (params, grads, state["m"], state["v"])]
        dtypes = {a.dtype for arrays in parts for a in arrays}
        if len(dtypes) > 1:  # mixed precisions: tensor by tensor, each in its own
            new = [self._arrays(*arrays, step_size, bc2_sqrt) for arrays in zip(*parts)]
            return ({n: r[0] for n, r in zip(names, new)},
                    {"step": s, "m": {n: r[1] for n, r in zip(names, new)}, "v": {n: r[2] for n, r in zip(names, new)}})
        # one pass over every parameter at once: a few calls instead of a dozen per tensor
        # (elementwise, so each entry is exactly what its own tensor's pass would give)
        flat = [np.concatenate(arrays, axis=None) for arrays in parts]
        p, m, v = self._arrays(*flat, step_size, bc2_sqrt, own=True)
        out = ({}, {}, {})
        k = 0
        for j, n in enumerate(names):
            shape = parts[0][j].shape
            size = parts[0][j].size
            for d, a in zip(out, (p, m, v)):
                d[n] = a[k : k + size].reshape(shape)
            k += size
        return out[0], {"step": s, "m": out[1], "v": out[2]}

    def _arrays(self, p, g, m0, v0, step_size: float, bc2_sqrt: float, own: bool = False):
        """(p, m, v) after the step for arrays of one dtype: the notes' formulas term by term.
        With ``own`` p, m0 and v0 are this step's own copies and are worked on in place."""
        b1, b2 = self.betas
        t = p.dtype.type
        m = np.subtract(g, m0)
        m *= t(1 - b1)
        m += m0
        if own:
            v = v0
            v *= t(b2)
            g2 = np.multiply(t(1 - b2), g, out=m0)
        else:
            v = v0 * t(b2)
            g2 = t(1 - b2) * g
        g2 *= g
        v += g2
        step = np.sqrt(v, out=g2)
        step /= t(bc2_sqrt)
        step += t(self.eps)  # the denominator
        np.divide(m, step, out=step)
        step *= t(step_size)
        if own:
            p -= step
            return p, m, v
        return p - step, m, v


#: By the names the command line uses.
OPTIMIZERS = {"sgd": SGD, "adam": Adam}
