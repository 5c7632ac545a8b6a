"""The fused full-BPTT sweep (each kind's backward_batch, layer by layer) gives what the
step-by-step vjp path gives, for every kind, variant, activation and stack."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.engine.cells import Stack, init_cell, kind_of
from rnnviz.engine.train import Model, init_output, loss_and_grads
from rnnviz.engine.train import bptt

CASES = [
    ("rnn", {"nonlinearity": "tanh"}),
    ("rnn", {"nonlinearity": "relu"}),
    ("gru", {}),
    ("gru", {"reset_after": False}),
    ("lstm", {}),
    ("lstm", {"recurrent_activation": "hard_sigmoid"}),  # not the fast layout
    ("gru", {"nonlinearity": "relu", "recurrent_activation": "hard_sigmoid"}),
]


def model_for(kind, opts, layers, D=3, H=5, O=2, seed=0):
    cells = []
    for k in range(layers):
        cell = init_cell(kind, D if k == 0 else H, H, seed=seed + k)
        extra = {n: v for n, v in opts.items() if n != "nonlinearity" or kind == "rnn"}
        if kind != "rnn" and "nonlinearity" in opts:
            extra["nonlinearity"] = opts["nonlinearity"]
        cells.append(cell.with_params(**extra) if extra else cell)
    return Model(Stack(tuple(cells)), init_output(H, O, seed=seed + layers))


@pytest.mark.parametrize("kind, opts", CASES)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("every_step", [False, True])
def test_the_sweep_is_the_stepwise_adjoint(kind, opts, layers, every_step):
    model = model_for(kind, opts, layers)
    rng = np.random.default_rng(1)
    B, T = 4, 7
    xs = rng.normal(size=(B, T, 3))
    mask = np.ones((B, T), np.uint8) if every_step else np.eye(T, dtype=np.uint8)[[T - 1, 3, T - 1, 0]]
    x_tm = np.ascontiguousarray(xs.transpose(1, 0, 2))
    records = bptt._records(model, x_tm, np.float64)
    g_top = rng.normal(size=(T, B, 5)) * mask.T[..., None]
    fused = bptt._sweep(records, g_top)
    steps = bptt._stepwise(records, g_top, None, B, np.float64)
    for name, a, b in (("A_ih", fused[0], steps[0]), ("A_hh", fused[1], steps[1])):
        for l in range(layers):
            np.testing.assert_allclose(a[l], b[l], rtol=1e-12, atol=1e-13, err_msg=f"{name} layer {l}")
    np.testing.assert_allclose(fused[2], steps[2], rtol=1e-12, atol=1e-13, err_msg="dh")
    for l, rec in enumerate(records):
        grads = kind_of(rec.cell).param_grads
        for name, ours, theirs in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                                      grads(None, rec, fused[0][l], fused[1][l]),
                                      grads(steps[3][l], rec, steps[0][l], steps[1][l])):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13, err_msg=f"{name} layer {l}")


def test_float32_sweep_stays_float32():
    model = model_for("lstm", {}, 2)
    xs = np.random.default_rng(0).normal(size=(3, 6, 3))
    g = loss_and_grads(model, xs, np.zeros((3, 6, 2)), dtype=np.float32)
    assert all(a.dtype == np.float32 for a in g.grads.values()) and g.dh.dtype == np.float32
