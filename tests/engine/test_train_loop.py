"""One update (gradients, clipping, the optimiser's step), and that training really learns."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.engine.train import (SGD, Adam, accuracy, adding, clip_grad_norm, forward, init_model, loss_and_grads,
                                 mse, recall, update)


def test_update_is_gradients_then_clipping_then_the_step():
    model = init_model("lstm", 2, 4, 1, seed=1)
    xs, ys, mask = adding(8, 6, seed=2)
    opt = Adam(lr=1e-2)
    state = opt.init(model.state_dict())
    new, state2, info = update(model, opt, state, xs, ys, mask, loss="mse", clip=0.05)
    g = loss_and_grads(model, xs, ys, mask)
    grads, norm = clip_grad_norm(g.grads, 0.05)
    params, _ = opt.step(model.state_dict(), grads, state)
    assert info.loss == g.loss and info.grad_norm == norm and state2["step"] == 1
    for name, p in new.state_dict().items():
        np.testing.assert_array_equal(p, params[name])
    assert info.dh_norm.shape == (6,) and info.dx_norm.shape == (6,)
    np.testing.assert_allclose(info.dh_norm, np.linalg.norm(g.dh.transpose(1, 0, 2).reshape(6, -1), axis=1))


def test_float32_updates_stay_in_float32():
    model = init_model("gru", 2, 4, 1, seed=0)
    xs, ys, mask = adding(4, 5, seed=0)
    opt = SGD(lr=0.1, momentum=0.9)
    state = opt.init(model.state_dict(np.float32))
    for _ in range(3):
        model, state, info = update(model, opt, state, xs, ys, mask, dtype=np.float32)
    assert info.y.dtype == np.float32
    for name, p in model.state_dict().items():
        assert np.array_equal(p, p.astype(np.float32).astype(np.float64)), name  # float32 values exactly
        assert state[name].dtype == np.float32


def test_a_gru_learns_the_adding_problem():
    model = init_model("gru", 2, 16, 1, seed=0)
    opt = Adam(lr=1e-2)
    state = opt.init(model.state_dict())
    for k in range(300):
        xs, ys, mask = adding(32, 10, seed=k)
        model, state, _ = update(model, opt, state, xs, ys, mask, loss="mse", clip=1.0)
    xs, ys, mask = adding(500, 10, seed=10**6)
    y, _ = forward(model, xs)
    assert mse(y, ys, mask)[0] < 0.02  # the baseline of always answering 1 is 0.167


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_recall_at_a_short_delay_is_learnt(kind):
    model = init_model(kind, 1, 8, 2, seed=0)
    opt = Adam(lr=1e-2)
    state = opt.init(model.state_dict())
    for k in range(150):
        xs, ys, mask = recall(32, 5, seed=k)
        model, state, _ = update(model, opt, state, xs, ys, mask, loss="xent", clip=1.0)
    xs, ys, mask = recall(500, 5, seed=10**6)
    _, h = forward(model, xs)
    assert accuracy(model.fc.logits(h), ys, mask) > 0.95


def test_a_diverging_run_says_so():
    model = init_model("rnn", 1, 4, 1, seed=0, nonlinearity="relu")
    model = model.with_state({n: a * 40 for n, a in model.state_dict().items()})
    xs = np.full((2, 200, 1), 5.0)
    ys = np.zeros((2, 200, 1))
    opt = SGD(lr=0.1)
    with pytest.raises(FloatingPointError, match="loss became"):
        update(model, opt, opt.init(model.state_dict()), xs, ys)
