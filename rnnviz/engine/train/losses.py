"""Losses exactly as PyTorch defines them, with a 0/1 mask over (batch, step), and their gradients.

* MSE is ``F.mse_loss(y[mask], target[mask])``: the mean over every selected step *and* output.
* Cross-entropy is ``F.cross_entropy(logits[mask], labels[mask])``: the mean over the selected
  steps of ``−log softmax(z)[label]``, the log-softmax computed as ``z − max − log Σ exp(z − max)``.

Both take arrays whose leading axes match the mask's (batch-first (B, T, …) or time-major), and
return ``(loss, gradient)``; the gradient has the shape of their first argument and is zero on
unselected steps.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LOSSES", "cross_entropy", "log_softmax", "mse"]


def _mask(mask, shape) -> np.ndarray:
    if mask is None:
        return np.ones(shape, dtype=bool)
    m = np.asarray(mask)
    if m.shape != tuple(shape):
        raise ValueError(f"mask has shape {m.shape}; expected {tuple(shape)}")
    if m.dtype.kind in "ui":  # integers: 0 and 1 only, told by two reductions
        ok = m.size == 0 or (m.max() <= 1 and (m.dtype.kind == "u" or m.min() >= 0))
    else:
        ok = m.dtype == bool or ((m == 0) | (m == 1)).all()
    if not ok:
        raise ValueError("mask must hold only 0 and 1")
    m = m.astype(bool, copy=False)
    if not m.any():
        raise ValueError("mask selects no step (the mean of nothing is undefined)")
    return m


def log_softmax(z: np.ndarray) -> np.ndarray:
    s = z - z.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def mse(y, target, mask=None):
    """``F.mse_loss(y[mask], target[mask])`` and ∂loss/∂y.

    Parameters
    ----------
    y, target : array, shape (…, O)
    mask : array of 0/1, shape (…), optional (default: every step)
    """
    y = np.asarray(y)
    target = np.asarray(target, dtype=y.dtype)
    if target.shape != y.shape:
        raise ValueError(f"targets have shape {target.shape}; expected {y.shape}")
    m = _mask(mask, y.shape[:-1])
    n = int(np.count_nonzero(m)) * y.shape[-1]
    diff = np.subtract(y, target)
    np.multiply(diff, m[..., None], out=diff)
    loss = float(np.sum(diff * diff) / n)
    diff *= y.dtype.type(2.0 / n)
    return loss, diff


def cross_entropy(logits, labels, mask=None):
    """``F.cross_entropy(logits[mask], labels[mask])`` and ∂loss/∂logits.

    Parameters
    ----------
    logits : array, shape (…, C)
    labels : int array, shape (…), each in 0 … C−1 where the mask selects it
    mask : array of 0/1, shape (…), optional
    """
    z = np.asarray(logits)
    labels = np.asarray(labels)
    if labels.shape != z.shape[:-1]:
        raise ValueError(f"labels have shape {labels.shape}; expected {z.shape[:-1]}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError("labels must be integers (class indices)")
    m = _mask(mask, z.shape[:-1])
    C = z.shape[-1]
    if np.any((labels[m] < 0) | (labels[m] >= C)):
        raise ValueError(f"labels must lie in 0 … {C - 1}")
    n = int(m.sum())
    lp = log_softmax(z)
    safe = np.where(m, labels, 0)
    picked = np.take_along_axis(lp, safe[..., None], axis=-1)[..., 0]
    loss = float(-np.sum(picked[m]) / n)
    grad = np.exp(lp)
    np.put_along_axis(grad, safe[..., None], np.take_along_axis(grad, safe[..., None], axis=-1) - 1.0, axis=-1)
    grad *= (m / n).astype(z.dtype)[..., None]
    return loss, grad


#: The losses by the names the command line uses.
LOSSES = {"mse": mse, "xent": cross_entropy}
