"""Character-level next-character prediction (min-char-rnn's task), and sampling at a temperature.

``CharText(text)`` fixes the vocabulary (the text's distinct characters, sorted). Its
``make(batch, length, seed)`` draws ``batch`` windows of ``length + 1`` characters at seeded
random offsets: xs (B, T, V) one-hot of characters 1 … T, ys (B, T) int64 the indices of
characters 2 … T+1, and a mask of ones (cross-entropy at every step). ``sample`` runs a trained
model on a prefix, then draws each next character from softmax(z / temperature) (temperature 0
takes the most likely one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .bptt import layer_states
from .model import Model

__all__ = ["CharText", "SAMPLE_TEXT"]

#: A short text the project wrote for the character-level lesson (no one else's rights in it).
SAMPLE_TEXT = (
    "a recurrent network reads one letter at a time. it keeps a hidden state, a few numbers that "
    "stand for everything it has read so far. at every step it mixes the new letter into that state "
    "and guesses the next letter. when the guess is wrong, the error flows back through the steps, "
    "and the weights move a little. after many passes the network has learnt which letters follow "
    "which, and it can write words of its own, one letter at a time."
)


@dataclass(frozen=True, eq=False)
class CharText:
    """A text and its vocabulary; see the module doc."""

    text: str
    chars: tuple = field(init=False)

    def __post_init__(self):
        if len(self.text) < 2:
            raise ValueError("the text needs at least two characters")
        chars = tuple(sorted(set(self.text)))
        if len(chars) < 2:
            raise ValueError("the text needs at least two different characters")
        object.__setattr__(self, "chars", chars)
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(chars)})
        object.__setattr__(self, "_codes", np.array([self._index[c] for c in self.text], np.int64))

    @property
    def size(self) -> int:
        """V: the vocabulary's size, the model's input and output size."""
        return len(self.chars)

    def encode(self, s: str) -> np.ndarray:
        try:
            return np.array([self._index[c] for c in s], np.int64)
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the text's vocabulary") from None

    def decode(self, codes) -> str:
        return "".join(self.chars[int(i)] for i in codes)

    def one_hot(self, codes) -> np.ndarray:
        codes = np.asarray(codes)
        out = np.zeros(codes.shape + (self.size,))
        np.put_along_axis(out, codes[..., None], 1.0, axis=-1)
        return out

    def make(self, batch: int = 32, length: int = 25, seed: int = 0):
        """(xs (B, T, V), ys (B, T) int64, mask (B, T) uint8 of ones)."""
        if int(batch) != batch or batch < 1:
            raise ValueError(f"batch must be a whole number ≥ 1, not {batch!r}")
        if int(length) != length or not 1 <= length < len(self.text):
            raise ValueError(f"length must be a whole number from 1 to {len(self.text) - 1}, not {length!r}")
        B, T = int(batch), int(length)
        starts = np.random.default_rng(seed).integers(0, len(self.text) - T, B)
        windows = self._codes[starts[:, None] + np.arange(T + 1)]
        return self.one_hot(windows[:, :-1]), windows[:, 1:].copy(), np.ones((B, T), np.uint8)

    def sample(self, model: Model, prefix: str, n: int, temperature: float = 1.0, seed: int = 0) -> str:
        """``n`` characters after ``prefix`` (at least one character), drawn from the model."""
        if not prefix:
            raise ValueError("sampling needs a prefix of at least one character")
        if temperature < 0:
            raise ValueError(f"the temperature must be ≥ 0, not {temperature!r}")
        rng = np.random.default_rng(seed)
        x = self.one_hot(self.encode(prefix))[None]  # (1, T, V)
        h0 = c0 = None
        out = []
        for _ in range(int(n)):
            states = layer_states(model, x, h0=h0, c0=c0)
            h0 = [h[:, -1] for h, _ in states]
            c0 = [None if c is None else c[:, -1] for _, c in states]
            z = model.fc.logits(states[-1][0][0, -1])
            if temperature == 0:
                code = int(np.argmax(z))
            else:
                z = z / temperature
                p = np.exp(z - z.max())
                code = int(rng.choice(self.size, p=p / p.sum()))
            out.append(code)
            x = self.one_hot(np.array([[code]]))
        return self.decode(out)
