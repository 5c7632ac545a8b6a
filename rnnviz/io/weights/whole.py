"""A whole model as a file holds it: the embedding, the recurrent layers and the output head.

    from rnnviz.io.weights import load_model
    m = load_model("char.pt", vocab="vocab.json")
    ids, _ = m.encode("hello")          # text → token ids (or give ids)
    trace = run(m.rnn, m.inputs(ids))   # x_t = E[id_t]
    y = m.outputs(trace.h)              # y_t = g(W_hy h_t + b_y), (T, O)

``rnn`` is what :func:`~rnnviz.io.weights.load_weights` returns for the file; ``embedding``
(:class:`~rnnviz.engine.embedding.Embedding`) and ``head`` (the training's
:class:`~rnnviz.engine.train.output.Output`) are None when the file has none (or they could
not be read: ``notes`` says why). Keras's ``Embedding(mask_zero=True)`` is run as its mask:
the first layer skips the steps whose input row is ``pad_value`` (the row :meth:`inputs`
gives id 0), exactly the steps that read id 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ...engine.embedding import Embedding
from ...engine.train.output import Output
from ..vocab import Vocabulary
from .common import notes_of

__all__ = ["WholeModel", "parse_ids"]


@dataclass(frozen=True, eq=False)
class WholeModel:
    """``embedding`` → ``rnn`` → ``head``; ``vocab`` names the embedding's ids (None: ids only).

    ``last_only``: the model's own output is y_T alone (Keras ``return_sequences=False``);
    :meth:`outputs` still gives the head on every step, what it would say if the sequence
    ended there. ``names``: the file's names of the embedding and the head.
    """

    rnn: object  # Cell | Stack | Bidirectional
    embedding: Embedding | None = None
    head: Output | None = None
    vocab: Vocabulary | None = None
    last_only: bool = False
    names: tuple = (None, None)
    pad_value: float | None = None

    @property
    def notes(self) -> tuple:
        return notes_of(self.rnn)

    @property
    def whole(self) -> bool:
        """Whether the file held more than the recurrent layers."""
        return self.embedding is not None or self.head is not None

    def encode(self, text: str) -> tuple[np.ndarray, list[str]]:
        """``text`` as token ids in the vocabulary, and the tokens that got its OOV id.
        ValueError naming unknown tokens (or if there is no vocabulary)."""
        if self.vocab is None:
            raise ValueError("the model has no vocabulary: give token ids (or a vocabulary file, --vocab FILE)")
        ids, unknown = self.vocab.encode(text)
        if not ids:
            raise ValueError("the text holds no tokens")
        return np.asarray(ids, dtype=np.int64), unknown

    def inputs(self, ids) -> np.ndarray:
        """x_t = E[id_t], (T, D) float64; with mask_zero, the steps reading id 0 get ``pad_value``
        rows, which the first layer skips. ValueError for an id outside the embedding."""
        if self.embedding is None:
            raise ValueError("the model has no embedding: its input is vectors, not token ids")
        xs = self.embedding.lookup(ids)
        if self.pad_value is not None:
            xs[np.asarray(ids) == 0] = self.pad_value
        return xs

    def outputs(self, h) -> np.ndarray:
        """y_t = g(W_hy h_t + b_y) for h (T, H) of the last layer, (T, O) float64."""
        if self.head is None:
            raise ValueError("the model has no head")
        return self.head.forward(np.asarray(h, dtype=np.float64))

    def labels(self) -> tuple | None:
        """What each head output stands for: the vocabulary's tokens when the head predicts
        tokens (as many outputs as the embedding has rows), else None (classes by number)."""
        if self.head is None or self.vocab is None or self.embedding is None:
            return None
        O = self.head.output_size
        if O != self.embedding.vocab_size:
            return None
        return tuple(self.vocab.token(k) for k in range(O))

    def __repr__(self) -> str:
        parts = [repr(p) for p in (self.embedding, self.rnn, self.head) if p is not None]
        vocab = f", vocab of {self.vocab.size} tokens" if self.vocab is not None else ""
        return f"WholeModel({' → '.join(parts)}{vocab})"

    def token(self, k: int) -> str:
        return self.vocab.token(int(k)) if self.vocab is not None else str(int(k))


def parse_ids(text: str) -> np.ndarray:
    """Token ids written as whole numbers separated by spaces or commas ("3 1 4", "3,1,4").
    ValueError naming what is not one."""
    parts = [p for p in re.split(r"[\s,]+", text.strip()) if p]
    if not parts:
        raise ValueError("no token ids given")
    bad = [p for p in parts if not re.fullmatch(r"[+-]?\d+", p)]
    if bad:
        shown = ", ".join(repr(p[:20]) for p in bad[:3])
        raise ValueError(f"token ids are whole numbers separated by spaces or commas; {shown} is not one")
    if len(parts) > 1_000_000:
        raise ValueError(f"{len(parts):,} token ids; at most 1,000,000")
    return np.array([int(p) if len(p) <= 18 else 2**62 for p in parts], dtype=np.int64)  # a huge one is out of range
