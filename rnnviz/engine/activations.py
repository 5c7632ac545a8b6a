"""Element-wise activations used by the cells, with derivatives taken from their outputs.

Every function works in place on a float array (``f(a) -> a``) so the hot loop allocates
nothing. The sigmoid is computed as ``0.5 + 0.5 * tanh(a / 2)``, which never overflows and
never warns for any finite input.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ACTIVATIONS", "SYMBOLS", "activation", "apply", "derivative", "derivative_into", "sigmoid", "symbol"]


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    half = a.dtype.type(0.5)  # a NumPy scalar of the same type dispatches faster than a float
    np.multiply(a, half, out=a)
    np.tanh(a, out=a)
    np.multiply(a, half, out=a)
    np.add(a, half, out=a)
    return a


def _tanh_(a: np.ndarray) -> np.ndarray:
    return np.tanh(a, out=a)


def _relu_(a: np.ndarray) -> np.ndarray:
    # np.maximum propagates NaN, as torch.relu does.
    return np.maximum(a, 0.0, out=a)


def _linear_(a: np.ndarray) -> np.ndarray:
    return a


def _hard_sigmoid_(a: np.ndarray) -> np.ndarray:
    # Keras 3: relu6(x + 3) / 6
    np.add(a, 3.0, out=a)
    np.clip(a, 0.0, 6.0, out=a)
    np.divide(a, 6.0, out=a)
    return a


def _hard_sigmoid_keras2_(a: np.ndarray) -> np.ndarray:
    # Keras 2 (tf.keras): clip(0.2 x + 0.5, 0, 1), steeper than Keras 3's relu6(x + 3) / 6
    np.multiply(a, 0.2, out=a)
    np.add(a, 0.5, out=a)
    np.clip(a, 0.0, 1.0, out=a)
    return a


# Derivatives expressed through the output y = f(a); that is all the Jacobian code keeps.
_DERIVATIVES = {
    "sigmoid": lambda y: y * (1.0 - y),
    "tanh": lambda y: 1.0 - y * y,
    "relu": lambda y: (y > 0).astype(y.dtype),
    "linear": lambda y: np.ones_like(y),
    "hard_sigmoid": lambda y: ((y > 0) & (y < 1)).astype(y.dtype) / 6.0,
    "hard_sigmoid_keras2": lambda y: ((y > 0) & (y < 1)).astype(y.dtype) * 0.2,
}

ACTIVATIONS = {
    "sigmoid": _sigmoid_,
    "tanh": _tanh_,
    "relu": _relu_,
    "linear": _linear_,
    "hard_sigmoid": _hard_sigmoid_,
    "hard_sigmoid_keras2": _hard_sigmoid_keras2_,
}


def activation(name: str):
    """The in-place function of activation ``name`` (``f(a) -> a``), looked up once: a step
    loop calls it directly (``apply`` per step was one more Python call at every step)."""
    return ACTIVATIONS[name]


def apply(name: str, a: np.ndarray) -> np.ndarray:
    """Apply activation ``name`` to ``a`` in place and return it."""
    return ACTIVATIONS[name](a)


def derivative(name: str, y: np.ndarray) -> np.ndarray:
    """f'(a) for the activation ``name``, computed from its output ``y = f(a)``."""
    return _DERIVATIVES[name](y)


def derivative_into(name: str, y: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`derivative` written into ``out`` (y's shape), the same arithmetic without a new
    array for the two smooth activations."""
    one = out.dtype.type(1.0)
    if name == "tanh":
        np.multiply(y, y, out=out)
        return np.subtract(one, out, out=out)
    if name == "sigmoid":
        np.subtract(one, y, out=out)
        return np.multiply(y, out, out=out)
    np.copyto(out, _DERIVATIVES[name](y))
    return out


def sigmoid(a) -> np.ndarray:
    """Overflow-free logistic sigmoid (returns a new array)."""
    return _sigmoid_(np.array(a, dtype=np.result_type(a, np.float32), copy=True))


#: How each activation is written in equations.
SYMBOLS = {"sigmoid": "σ", "tanh": "tanh", "relu": "ReLU", "linear": "id", "hard_sigmoid": "hard-σ",
           "hard_sigmoid_keras2": "hard-σ₂"}


def symbol(activation: str) -> str:
    """How an activation is written in equations: σ, tanh, ReLU, …"""
    return SYMBOLS[activation]
