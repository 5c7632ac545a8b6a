"""The optimisers and clipping, on hand-checkable numbers (trajectories against torch: test_train_torch.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnviz.engine.train import SGD, Adam, clip_grad_norm


def test_clipping_uses_the_total_norm_and_torchs_epsilon():
    grads = {"a": np.array([3.0]), "b": np.array([[4.0]])}
    clipped, total = clip_grad_norm(grads, 1.0)
    assert total == 5.0
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_array_equal(clipped["a"], [3.0 * coef])
    np.testing.assert_array_equal(clipped["b"], [[4.0 * coef]])
    same, _ = clip_grad_norm(grads, 10.0)  # below the limit: multiplied by exactly 1
    np.testing.assert_array_equal(same["a"], grads["a"])
    with pytest.raises(ValueError, match="positive"):
        clip_grad_norm(grads, 0.0)


def test_clipping_keeps_float32():
    clipped, _ = clip_grad_norm({"a": np.ones(3, np.float32) * 10}, 1.0)
    assert clipped["a"].dtype == np.float32


def test_sgd_with_and_without_momentum():
    p = {"w": np.array([1.0])}
    g = {"w": np.array([0.5])}
    plain = SGD(lr=0.1)
    assert plain.step(p, g, plain.init(p))[0]["w"][0] == 1.0 - 0.05
    mom = SGD(lr=0.1, momentum=0.9)
    s = mom.init(p)
    p1, s = mom.step(p, g, s)  # first buffer is the gradient itself (torch)
    assert p1["w"][0] == pytest.approx(0.95) and s["w"][0] == 0.5
    p2, s = mom.step(p1, g, s)
    assert s["w"][0] == pytest.approx(0.9 * 0.5 + 0.5)
    assert p2["w"][0] == pytest.approx(0.95 - 0.1 * 0.95)


def test_adam_first_steps_by_hand():
    opt = Adam(lr=0.1)
    p = {"w": np.array([1.0])}
    g = {"w": np.array([2.0])}
    s = opt.init(p)
    p1, s = opt.step(p, g, s)
    # step 1: m̂ = g, v̂ = g², so the move is lr · g / (|g| + ε·…)
    m, v = 0.1 * 2.0, 0.001 * 4.0
    want = 1.0 - (0.1 / 0.1) * m / (math.sqrt(v) / math.sqrt(0.001) + 1e-8)
    assert p1["w"][0] == pytest.approx(want, rel=1e-15) and s["step"] == 1
    assert opt.betas == (0.9, 0.999) and opt.eps == 1e-8  # torch's defaults


@pytest.mark.parametrize("make", [lambda: SGD(lr=0), lambda: SGD(momentum=1.0), lambda: Adam(lr=-1),
                                  lambda: Adam(betas=(1.0, 0.9)), lambda: Adam(eps=-1)])
def test_bad_hyper_parameters_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_steps_do_not_touch_their_inputs():
    p = {"w": np.array([1.0, 2.0])}
    g = {"w": np.array([0.1, 0.2])}
    for opt in (SGD(lr=0.1, momentum=0.5), Adam()):
        s = opt.init(p)
        opt.step(p, g, s)
        np.testing.assert_array_equal(p["w"], [1.0, 2.0])
        np.testing.assert_array_equal(g["w"], [0.1, 0.2])
