"""The output layer on the last hidden layer: y_t = g(W_hy h_t + b_y), PyTorch's ``nn.Linear``.

Notes
-----
``z_t = W_hy h_t + b_y`` are the logits; ``y_t = g(z_t)`` with g the identity, the logistic
sigmoid or a softmax over the O outputs. Cross-entropy reads the logits z (as
``F.cross_entropy`` does), so the softmax is then only what the app shows as probabilities.

Adjoint, given z̄ = ∂L/∂z_t::

    ∂L/∂h_t = z̄ W_hy      ∂L/∂W_hy = Σ z̄ᵀ h_t      ∂L/∂b_y = Σ z̄
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..activations import sigmoid

__all__ = ["OUTPUT_ACTIVATIONS", "Output", "init_output", "softmax"]

#: The output layer's g.
OUTPUT_ACTIVATIONS = ("identity", "sigmoid", "softmax")


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum so it never overflows."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True, eq=False)
class Output:
    """y = g(W_hy h + b_y) in ``nn.Linear``'s layout.

    Parameters
    ----------
    W_hy : ndarray, shape (O, H)   (``fc.weight``)
    b_y : ndarray, shape (O,)      (``fc.bias``)
    activation : "identity", "sigmoid" or "softmax"
    """

    W_hy: np.ndarray
    b_y: np.ndarray
    activation: str = "identity"

    def __post_init__(self):
        if self.activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"unknown output activation {self.activation!r}; "
                             f"expected one of {', '.join(OUTPUT_ACTIVATIONS)}")
        W = np.array(self.W_hy, dtype=np.float64)  # a copy: the caller's array stays writable
        b = np.array(self.b_y, dtype=np.float64)
        if W.ndim != 2 or min(W.shape) < 1:
            raise ValueError(f"W_hy has shape {W.shape}; expected (O, H)")
        if b.shape != (W.shape[0],):
            raise ValueError(f"b_y has shape {b.shape}; expected ({W.shape[0]},)")
        for name, arr in (("W_hy", W), ("b_y", b)):
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} contains inf or NaN")
            arr = np.ascontiguousarray(arr)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    @property
    def input_size(self) -> int:
        return self.W_hy.shape[1]

    @property
    def output_size(self) -> int:
        return self.W_hy.shape[0]

    def logits(self, h: np.ndarray) -> np.ndarray:
        """z = W_hy h + b_y over the last axis of h (…, H) → (…, O), in h's dtype."""
        dtype = h.dtype
        z = h.reshape(-1, h.shape[-1]) @ self.W_hy.T.astype(dtype)  # one 2-D product, not one per step
        z += self.b_y.astype(dtype)
        return z.reshape(h.shape[:-1] + (self.output_size,))

    def activate(self, z: np.ndarray) -> np.ndarray:
        """y = g(z) (a new array)."""
        if self.activation == "sigmoid":
            return sigmoid(z)
        if self.activation == "softmax":
            return softmax(z)
        return z.copy()

    def forward(self, h: np.ndarray) -> np.ndarray:
        """y = g(W_hy h + b_y) for h of shape (B, T, H) (or any (…, H))."""
        return self.activate(self.logits(np.asarray(h)))

    def backward_activation(self, y: np.ndarray, gy: np.ndarray) -> np.ndarray:
        """∂L/∂z from ∂L/∂y, with y = g(z)."""
        if self.activation == "sigmoid":
            return gy * y * (1.0 - y)
        if self.activation == "softmax":
            return y * (gy - np.sum(gy * y, axis=-1, keepdims=True))
        return gy

    def with_params(self, **changes) -> "Output":
        return replace(self, **changes)

    def __repr__(self) -> str:
        return f"Output(H={self.input_size}, O={self.output_size}, activation={self.activation!r})"


def init_output(hidden_size: int, output_size: int, seed: int = 0, activation: str = "identity") -> Output:
    """``nn.Linear``'s default initialisation: W_hy and b_y ~ U(−1/√H, 1/√H), from ``seed``
    (kaiming_uniform with a = √5 gives the same bound for the weight)."""
    if hidden_size < 1 or output_size < 1:
        raise ValueError("hidden_size and output_size must be at least 1")
    k = 1.0 / np.sqrt(hidden_size)
    rng = np.random.default_rng(seed)
    return Output(rng.uniform(-k, k, (output_size, hidden_size)), rng.uniform(-k, k, output_size), activation)
