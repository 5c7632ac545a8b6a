"""The embedding before the recurrent stack: x_t = E[id_t], PyTorch's ``nn.Embedding`` and
Keras's ``Embedding``.

Notes
-----
A model with an embedding reads token ids, not vectors: step t's input is row ``id_t`` of
``E`` (V, D). Keras's ``mask_zero=True`` makes id 0 padding: a step that reads it is skipped
(it keeps the previous state and output), the mask :func:`~rnnviz.engine.run.run` takes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Embedding"]


@dataclass(frozen=True, eq=False)
class Embedding:
    """x_t = E[id_t].

    Parameters
    ----------
    weight : ndarray, shape (V, D)   (``embedding.weight``; Keras's ``embeddings``)
    mask_zero : bool
        Keras's ``mask_zero``: id 0 is padding and the steps that read it are skipped.
    """

    weight: np.ndarray
    mask_zero: bool = False

    def __post_init__(self):
        E = np.array(self.weight, dtype=np.float64)  # a copy: the caller's array stays writable
        if E.ndim != 2 or min(E.shape) < 1:
            raise ValueError(f"the embedding has shape {E.shape}; expected (V, D)")
        if not np.all(np.isfinite(E)):
            raise ValueError("the embedding contains inf or NaN")
        E.flags.writeable = False
        object.__setattr__(self, "weight", E)

    @property
    def vocab_size(self) -> int:
        return self.weight.shape[0]

    @property
    def dim(self) -> int:
        return self.weight.shape[1]

    def check_ids(self, ids) -> np.ndarray:
        """``ids`` as a (T,) int64 array; ValueError naming the ids outside 0 … V − 1."""
        arr = np.asarray(ids)
        if arr.ndim != 1:
            raise ValueError(f"token ids must be one sequence, not shape {arr.shape}")
        if arr.size and arr.dtype.kind not in "iub":
            if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise ValueError("token ids must be whole numbers")
        arr = arr.astype(np.int64)
        bad = np.unique(arr[(arr < 0) | (arr >= self.vocab_size)])
        if bad.size:
            shown = ", ".join(str(int(v)) for v in bad[:5]) + (" …" if bad.size > 5 else "")
            raise ValueError(f"token id{'s' if bad.size > 1 else ''} {shown} outside 0 … {self.vocab_size - 1} "
                             f"(the embedding has {self.vocab_size} rows)")
        return arr

    def lookup(self, ids) -> np.ndarray:
        """The rows E[id_t], (T, D) float64 (a new array)."""
        return self.weight[self.check_ids(ids)]

    def mask(self, ids) -> np.ndarray | None:
        """(T,) bool, False where Keras's ``mask_zero`` skips the step; None without mask_zero."""
        if not self.mask_zero:
            return None
        return self.check_ids(ids) != 0

    def __repr__(self) -> str:
        return f"Embedding(V={self.vocab_size}, D={self.dim}{', mask_zero=True' if self.mask_zero else ''})"
