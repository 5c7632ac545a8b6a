"""Built-in tasks, each a seeded generator of one batch ``(xs, ys, mask)``, batch-first.

* ``recall(batch, delay, seed)``: remember the sign of x₁ through ``delay`` ±1 distractors.
  xs (B, T, 1) with T = delay + 1, every x_t ∈ {−1, +1} uniformly at random; the label
  ``ys[:, -1]`` is 1 when x₁ = +1 and 0 when x₁ = −1; ys (B, T) int64, zero elsewhere; the mask
  selects the last step only. Cross-entropy over two classes; the metric is accuracy (chance 0.5).
* ``adding(batch, length, seed)``: Hochreiter & Schmidhuber's adding problem. xs (B, T, 2):
  channel 0 holds values U(0, 1), channel 1 is 0 except two marker 1s, one uniformly in each
  half of the sequence (steps [0, T//2) and [T//2, T)). The target ``ys[:, -1, 0]`` is the sum
  of the two marked values; ys (B, T, 1) float, zero elsewhere; the mask selects the last step.
  MSE; always answering 1 scores E[(U₁ + U₂ − 1)²] = Var(U₁ + U₂) = 1/6 ≈ 0.167.
* ``sine(batch, length, seed)``: next-value prediction on a noisy sum of two sines,
  s_t = ½ sin(ω₁ t + φ₁) + ½ sin(ω₂ t + φ₂) + ε_t with ω ~ U(0.1, 0.5) rad per step, φ ~ U(0, 2π)
  and ε ~ N(0, 0.05²) per sequence; xs (B, T, 1) holds s_1 … s_T, ys (B, T, 1) holds s_2 … s_{T+1};
  the mask selects every step. MSE; repeating the input scores about 0.03, answering 0 about 0.25 (the
  variance of the target, the baseline).
* ``series(values, batch, length, seed)``: next-value prediction on a 1-D series (a CSV
  column, read by ``rnnviz.io``): ``batch`` windows of ``length + 1`` values at seeded random
  offsets; xs (B, T, 1) values 1 … T, ys (B, T, 1) values 2 … T+1; MSE at every step. The values
  are used as given: standardise them first if their scale is far from 1.

The same arguments always give the same arrays (``numpy.random.default_rng(seed)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["TASKS", "Task", "accuracy", "adding", "recall", "series", "sine"]

#: The adding problem's score for always answering 1: Var(U₁ + U₂) = 2/12.
ADDING_BASELINE = 1.0 / 6.0


def _sizes(batch: int, length: int, least: int, what: str):
    if int(batch) != batch or batch < 1:
        raise ValueError(f"batch must be a whole number ≥ 1, not {batch!r}")
    if int(length) != length or length < least:
        raise ValueError(f"{what} must be a whole number ≥ {least}, not {length!r}")
    return int(batch), int(length)


def _last_step_mask(B: int, T: int) -> np.ndarray:
    mask = np.zeros((B, T), np.uint8)
    mask[:, -1] = 1
    return mask


def recall(batch: int = 32, delay: int = 20, seed: int = 0):
    """(xs (B, delay+1, 1) float64, ys (B, delay+1) int64, mask (B, delay+1) uint8); see the module doc."""
    B, delay = _sizes(batch, delay, 0, "delay")
    T = delay + 1
    rng = np.random.default_rng(seed)
    xs = rng.choice(np.array([-1.0, 1.0]), size=(B, T, 1))
    ys = np.zeros((B, T), np.int64)
    ys[:, -1] = xs[:, 0, 0] > 0
    return xs, ys, _last_step_mask(B, T)


def adding(batch: int = 32, length: int = 50, seed: int = 0):
    """(xs (B, T, 2) float64, ys (B, T, 1) float64, mask (B, T) uint8); see the module doc."""
    B, T = _sizes(batch, length, 2, "length")
    rng = np.random.default_rng(seed)
    xs = np.zeros((B, T, 2))
    xs[:, :, 0] = rng.uniform(0.0, 1.0, (B, T))
    half = T // 2
    first = rng.integers(0, half, B)
    second = rng.integers(half, T, B)
    rows = np.arange(B)
    xs[rows, first, 1] = 1.0
    xs[rows, second, 1] = 1.0
    ys = np.zeros((B, T, 1))
    ys[:, -1, 0] = xs[rows, first, 0] + xs[rows, second, 0]
    return xs, ys, _last_step_mask(B, T)


def sine(batch: int = 32, length: int = 50, seed: int = 0):
    """(xs (B, T, 1), ys (B, T, 1) float64, mask (B, T) uint8 of ones); see the module doc."""
    B, T = _sizes(batch, length, 1, "length")
    rng = np.random.default_rng(seed)
    omega = rng.uniform(0.1, 0.5, (B, 2, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (B, 2, 1))
    t = np.arange(T + 1)[None, None, :]
    s = 0.5 * np.sin(omega * t + phase).sum(axis=1) + rng.normal(0.0, 0.05, (B, T + 1))
    return s[:, :-1, None], s[:, 1:, None], np.ones((B, T), np.uint8)


def series(values, batch: int = 32, length: int = 50, seed: int = 0):
    """(xs (B, T, 1), ys (B, T, 1) float64, mask (B, T) uint8 of ones); see the module doc."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(v)):
        raise ValueError("the series contains inf or NaN")
    B, T = _sizes(batch, length, 1, "length")
    if T >= v.size:
        raise ValueError(f"length must be below the series' {v.size} values, not {T}")
    starts = np.random.default_rng(seed).integers(0, v.size - T, B)
    w = v[starts[:, None] + np.arange(T + 1)]
    return w[:, :-1, None], w[:, 1:, None], np.ones((B, T), np.uint8)


def accuracy(logits, labels, mask=None) -> float:
    """The fraction of selected steps whose largest logit is the label."""
    logits, labels = np.asarray(logits), np.asarray(labels)
    m = np.ones(labels.shape, bool) if mask is None else np.asarray(mask).astype(bool)
    return float(np.mean(np.argmax(logits, axis=-1)[m] == labels[m]))


@dataclass(frozen=True)
class Task:
    """A built-in task: its generator ``make(batch, length, seed)`` and what a model for it needs."""

    name: str
    make: Callable
    loss: str  # "mse" or "xent"
    input_size: int
    output_size: int
    metric: str  # "accuracy" or "mse"
    baseline: float  # chance accuracy, or the MSE of the best constant answer


TASKS = {
    "recall": Task("recall", recall, "xent", 1, 2, "accuracy", 0.5),
    "adding": Task("adding", adding, "mse", 2, 1, "mse", ADDING_BASELINE),
    "sine": Task("sine", sine, "mse", 1, 1, "mse", 0.25),
}
