"""Each kind's one-pass ``step_jacobian`` gives the step and the Jacobian that its batched
forward and adjoint give (``StepMap.adjoint_jacobian``), and the Jacobian is the finite
differences of the step."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.engine.cells import Cell, init_cell, kind_of
from rnnviz.engine.cells import lstm
from rnnviz.engine.statespace import step_map

CASES = [("rnn", {}), ("rnn", {"nonlinearity": "relu"}), ("gru", {}), ("gru", {"reset_after": False}),
         ("lstm", {}), ("lstm", {"nonlinearity": "relu"}), ("lstm", {"recurrent_activation": "hard_sigmoid"})]


def strong_cell(kind, H=3, D=2, seed=0, **options) -> Cell:
    c = init_cell(kind, D, H, seed=seed, **{k: v for k, v in options.items() if k in ("nonlinearity", "reset_after")})
    rng = np.random.default_rng(seed + 10)
    # weights large enough that the gates leave their linear middle
    return c.with_params(W_hh=2.0 * rng.normal(size=c.W_hh.shape), W_ih=rng.normal(size=c.W_ih.shape),
                         b_ih=rng.normal(size=c.b_ih.shape), b_hh=rng.normal(size=c.b_hh.shape),
                         **{k: v for k, v in options.items() if k == "recurrent_activation"})


def fd(f, s, eps=1e-6):
    """Central differences of f (states (B, S) → (B, S)) at each row of s: (B, S, S)."""
    B, S = s.shape
    J = np.empty((B, S, S))
    for j in range(S):
        d = np.zeros(S)
        d[j] = eps
        J[:, :, j] = (f(s + d) - f(s - d)) / (2 * eps)
    return J


@pytest.mark.parametrize("kind, options", CASES)
def test_the_step_jacobian_is_the_adjoint_one(kind, options):
    cell = strong_cell(kind, **options)
    assert kind_of(cell).step_jacobian is not None
    x = np.array([0.4, -0.7])
    m = step_map(cell, x)
    s = np.random.default_rng(3).uniform(-1.5, 1.5, (9, m.size))
    f, J = m.with_jacobian(s)
    f_ref, J_ref = m.adjoint_jacobian(s)
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-14)
    np.testing.assert_allclose(J, J_ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(f, m(s), rtol=0, atol=1e-14)
    if "relu" not in options.values() and "hard_sigmoid" not in options.values():  # smooth: FD everywhere
        np.testing.assert_allclose(J, fd(m, s), rtol=0, atol=1e-7)


def test_the_lstm_step_jacobian_through_a_projection():
    # h = W_hr (o ⊙ tanh c): the state is [h (P); c (H)]; f is checked against the kind's forward
    H, P, D = 3, 2, 1
    rng = np.random.default_rng(5)
    base = init_cell("lstm", D, H, seed=2)
    cell = base.with_params(W_hr=rng.normal(size=(P, H)), W_hh=rng.normal(size=(4 * H, P)))
    x = np.array([0.3])
    s = rng.uniform(-1, 1, (6, P + H))

    def step(states):
        return lstm.step_jacobian(cell, x, states)[0]

    f, J = lstm.step_jacobian(cell, x, s)
    for b in range(s.shape[0]):
        rec = lstm.forward(cell, x[None, :], s[b, :P], s[b, P:], np.float64)
        np.testing.assert_allclose(f[b], np.concatenate([rec.h[0], rec.c[0]]), rtol=0, atol=1e-14)
    np.testing.assert_allclose(J, fd(step, s), rtol=0, atol=1e-7)
