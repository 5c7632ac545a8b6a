"""explain(): every term of one unit's update, checked against the engine's own run."""

import math

import numpy as np
import pytest
from reference import IDS, VARIANTS, make, ref_step

from rnnviz.engine import SEED_EXAMPLE_INPUTS, Cell, Stack, init_cell, run, seed_example
from rnnviz.engine.explain import equations, explain

PRECISIONS = [(np.float64, 1e-12), (np.float32, 1e-5)]



def xs_for(D, T=6, seed=1):
    return np.random.default_rng(seed).normal(size=(T, D))


def check_reproduces(trace, tol):
    H = trace.H
    for t in range(trace.T):
        for u in range(H):
            e = explain(trace, t, u)
            assert e.t == t and e.unit == u
            assert math.isclose(e.h, float(trace.h[t, u]), rel_tol=tol, abs_tol=tol), (t, u)
            if trace.c is not None:
                assert math.isclose(e.c, float(trace.c[t, u]), rel_tol=tol, abs_tol=tol), (t, u)
            else:
                assert e.c is None and e.c_prev is None
            assert tuple(e.gates) == tuple(trace.gates)
            for g, v in e.gates.items():
                assert math.isclose(v, float(trace.gates[g][t, u]), rel_tol=tol, abs_tol=tol), (g, t, u)
            check_terms_add_up(e)


def check_terms_add_up(e):
    for p in e.pre.values():
        assert math.isclose(p.Wx, float(np.sum(p.W_x * e.x)), rel_tol=1e-12, abs_tol=1e-12)
        assert np.allclose(p.x_terms, p.W_x * e.x, rtol=0, atol=0)
        assert np.allclose(p.h_terms, p.W_h * p.h_in, rtol=0, atol=0)
        assert math.isclose(p.Wx, float(p.x_terms.sum()), rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(p.Wh, float(p.h_terms.sum()), rel_tol=1e-12, abs_tol=1e-15)
        rec = p.Wh + p.b_hh
        if p.r is not None:
            rec *= p.r
        assert math.isclose(p.recurrent, rec, rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(p.pre, p.Wx + p.b_ih + p.recurrent, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize("kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("dtype,tol", PRECISIONS)
def test_explanation_reproduces_the_trace(kw, dtype, tol):
    cell = make(**kw)
    check_reproduces(run(cell, xs_for(3), dtype=dtype, influence=False), tol)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("dtype,tol", PRECISIONS)
@pytest.mark.parametrize("layer", [0, 1])
def test_stack_layers(kind, dtype, tol, layer):
    stack = Stack((make(kind, D=2, H=3, seed=1), make(kind, D=3, H=3, seed=2)))
    tr = run(stack, xs_for(2), dtype=dtype, layer=layer, influence=False)
    check_reproduces(tr, tol)
    e = explain(tr, 2, 1)
    assert e.layer == layer and e.n_layers == 2
    # the upper layer reads the lower layer's hidden state at the same step
    expected_x = xs_for(2)[2] if layer == 0 else tr.records[0].h[2]
    np.testing.assert_allclose(e.x, expected_x, rtol=tol, atol=tol)


@pytest.mark.parametrize("kw", VARIANTS, ids=IDS)
def test_initial_state_is_used_at_the_first_step(kw):
    cell = make(**kw)
    H = cell.hidden_size
    h0 = np.linspace(-0.5, 0.5, H)
    c0 = np.linspace(0.3, -0.2, H)
    tr = run(cell, xs_for(3), h0=h0, c0=c0 if cell.kind == "lstm" else None, dtype=np.float64, influence=False)
    e = explain(tr, 0, 2)
    np.testing.assert_array_equal(e.h_prev, h0)
    if cell.kind == "lstm":
        assert e.c_prev == c0[2]
    h, c, _ = ref_step(cell, xs_for(3)[0], h0, c0)
    assert math.isclose(e.h, h[2], rel_tol=1e-12, abs_tol=1e-12)
    check_reproduces(tr, 1e-12)


def test_terms_are_the_products_of_weights_and_inputs():
    cell = seed_example(0)
    tr = run(cell, SEED_EXAMPLE_INPUTS, dtype=np.float64)
    e = explain(tr, 2, 1)
    p = e.pre["h"]
    assert p.row == 1 and p.activation == "tanh"
    np.testing.assert_array_equal(p.x_terms, cell.W_ih[1] * 0.9)
    np.testing.assert_array_equal(p.h_terms, cell.W_hh[1] * tr.h[1])
    assert p.b_hh == 0.0 and p.r is None
    assert e.h == pytest.approx(np.tanh(cell.W_ih[1, 0] * 0.9 + cell.W_hh[1] @ tr.h[1]), abs=1e-15)


def test_gru_reset_before_multiplies_the_reset_into_h():
    cell = make("gru", reset_after=False)
    tr = run(cell, xs_for(3), dtype=np.float64)
    e = explain(tr, 3, 1)
    n = e.pre["n"]
    assert n.r is None
    np.testing.assert_allclose(n.h_in, tr.gates["r"][3] * tr.h[2], rtol=1e-12, atol=1e-15)
    assert n.recurrent == pytest.approx(n.Wh + n.b_hh, abs=1e-15)


def test_gru_reset_after_scales_the_recurrent_sum():
    cell = make("gru")
    tr = run(cell, xs_for(3), dtype=np.float64)
    e = explain(tr, 3, 1)
    n = e.pre["n"]
    assert n.r == pytest.approx(tr.gates["r"][3, 1], abs=1e-12)
    np.testing.assert_array_equal(n.h_in, tr.h[2])
    assert n.recurrent == pytest.approx(n.r * (n.Wh + n.b_hh), abs=1e-15)


@pytest.mark.parametrize("act,rec", [("relu", "hard_sigmoid"), ("linear", "sigmoid"), ("tanh", "hard_sigmoid")])
@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_keras_activations(kind, act, rec):
    c = make(kind)
    cell = Cell(kind, c.W_ih, c.W_hh, c.b_ih, c.b_hh, nonlinearity=act, recurrent_activation=rec)
    check_reproduces(run(cell, xs_for(3), dtype=np.float64, influence=False), 1e-12)
    check_reproduces(run(cell, xs_for(3), dtype=np.float32, influence=False), 1e-5)


def test_nonfinite_values_do_not_raise():
    cell = make("rnn", nonlinearity="relu", D=1, H=3, scale=1.0)
    cell = cell.with_params(W_hh=np.eye(3) * 1e30, b_ih=np.full(3, 1.0))
    with pytest.warns(Warning):
        tr = run(cell, np.ones((12, 1)), dtype=np.float32, influence=False)
    e = explain(tr, 11, 0)
    assert not np.isfinite(e.h)
    assert math.isnan(e.h) == math.isnan(float(tr.h[11, 0]))


def test_out_of_range():
    tr = run(make("rnn"), xs_for(3), influence=False)
    with pytest.raises(IndexError):
        explain(tr, tr.T, 0)
    with pytest.raises(IndexError):
        explain(tr, 0, tr.H)


def test_equation_text():
    assert equations(seed_example(0)) == ["h_t = tanh(W_ih x_t + W_hh h_{t−1} + b)"]
    assert equations(init_cell("rnn", 1, 2, nonlinearity="relu")) == [
        "h_t = ReLU(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)"]
    gru = equations(init_cell("gru", 1, 2))
    assert gru[2] == "n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))"
    assert gru[3] == "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}"
    before = equations(init_cell("gru", 1, 2, reset_after=False))
    assert before[2] == "n_t = tanh(W_in x_t + b_in + W_hn (r_t ⊙ h_{t−1}) + b_hn)"
    lstm = equations(init_cell("lstm", 1, 2))
    assert [line[:3] for line in lstm] == ["i_t", "f_t", "g_t", "o_t", "c_t", "h_t"]
    assert lstm[0].startswith("i_t = σ(") and lstm[2].startswith("g_t = tanh(")
    assert lstm[4] == "c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t"
