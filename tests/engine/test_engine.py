"""The engine's maths against naive references and finite differences."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import IDS, VARIANTS, make, ref_run

from rnnviz.engine import (
    SEED_EXAMPLE_INPUTS,
    Cell,
    NonFiniteWarning,
    Stack,
    backward_flow,
    init_cell,
    initial_state,
    perturbation,
    run,
    seed_example,
    step,
)
from rnnviz.engine.activations import sigmoid




def xs_for(D, T=7, seed=1):
    return np.random.default_rng(seed).normal(size=(T, D))


@pytest.mark.parametrize("kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_run_matches_reference_equations(kw, dtype, tol):
    cell = make(**kw)
    xs = xs_for(3)
    tr = run(cell, xs, dtype=dtype, influence=False)
    (h, c, gates), = ref_run([cell], xs)
    np.testing.assert_allclose(tr.h, h, atol=tol, rtol=tol)
    if cell.kind == "lstm":
        np.testing.assert_allclose(tr.c, c, atol=tol, rtol=tol)
    else:
        assert tr.c is None
    assert tuple(tr.gates) == cell.gates
    for name in cell.gates:
        np.testing.assert_allclose(tr.gates[name], [g[name] for g in gates], atol=tol, rtol=tol)


@pytest.mark.parametrize("kw", VARIANTS, ids=IDS)
def test_stack_and_initial_state(kw):
    layers = [make(**kw, D=2, H=3, seed=1), make(**kw, D=3, H=3, seed=2)]
    h0 = np.random.default_rng(3).normal(size=(2, 3)) * 0.5
    c0 = np.random.default_rng(4).normal(size=(2, 3)) * 0.5
    xs = xs_for(2, T=5)
    ref = ref_run(layers, xs, h0, c0)
    for layer in (0, 1):
        tr = run(Stack(layers), xs, h0=h0, c0=c0, layer=layer, dtype=np.float64, influence=False)
        np.testing.assert_allclose(tr.h, ref[layer][0], atol=1e-12)
        if tr.c is not None:
            np.testing.assert_allclose(tr.c, ref[layer][1], atol=1e-12)


def test_seed_example_reproduces_the_document():
    # The seed document's own code, verbatim in spirit: column vectors, np.dot, tanh.
    def rnn_cell(input, hidden_state, weight_x, weight_h, bias):
        return np.tanh(np.dot(weight_x, input) + np.dot(weight_h, hidden_state) + bias)

    np.random.seed(0)
    weight_x = np.random.randn(2, 1)
    weight_h = np.random.randn(2, 2)
    bias = np.zeros((2, 1))
    hidden_state = np.zeros((2, 1))
    states = []
    for t in range(3):
        hidden_state = rnn_cell(SEED_EXAMPLE_INPUTS[t].reshape(1, 1), hidden_state, weight_x, weight_h, bias)
        states.append(hidden_state.ravel())

    cell = seed_example(seed=0)
    assert (cell.input_size, cell.hidden_size, cell.n_params) == (1, 2, 8)
    tr = run(cell, SEED_EXAMPLE_INPUTS, dtype=np.float64)
    np.testing.assert_array_equal(tr.h, np.array(states))
    # and the global RNG was left alone
    np.random.seed(5)
    a = np.random.rand()
    np.random.seed(5)
    seed_example(0)
    assert np.random.rand() == a


def test_pytorch_default_init_bounds_and_determinism():
    for kind, G in (("rnn", 1), ("gru", 3), ("lstm", 4)):
        c = init_cell(kind, 5, 16, seed=7)
        assert c.W_ih.shape == (G * 16, 5) and c.W_hh.shape == (G * 16, 16)
        bound = 1 / np.sqrt(16)
        for arr in (c.W_ih, c.W_hh, c.b_ih, c.b_hh):
            assert np.all(np.abs(arr) <= bound) and np.abs(arr).max() > 0.8 * bound
        same = init_cell(kind, 5, 16, seed=7)
        other = init_cell(kind, 5, 16, seed=8)
        np.testing.assert_array_equal(c.W_hh, same.W_hh)
        assert not np.array_equal(c.W_hh, other.W_hh)


def test_sigmoid_never_overflows_or_warns():
    a = np.array([-1e308, -1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4, 1e308, np.finfo(np.float64).max])
    with np.errstate(all="raise"):
        s = sigmoid(a)
        s32 = sigmoid(a.astype(np.float32) if False else np.array([-3e38, -100, 0, 100, 3e38], np.float32))
    assert np.all(np.isfinite(s)) and s[0] == 0.0 and s[-1] == 1.0 and s[4] == 0.5
    assert np.all((s32 >= 0) & (s32 <= 1))
    # a whole run on huge inputs raises nothing either
    cell = make("lstm", scale=1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = run(cell, xs_for(3) * 1e30)
    assert np.all(np.isfinite(tr.h))


# ---------------------------------------------------------------- derivatives


def fd_influence(model, xs, layer=-1, eps=1e-6):
    """Central finite differences of h_t w.r.t. x_1, Frobenius norm per t (float64)."""
    xs = np.asarray(xs, float)
    D = xs.shape[1]
    cols = []
    for j in range(D):
        up, dn = xs.copy(), xs.copy()
        up[0, j] += eps
        dn[0, j] -= eps
        hu = run(model, up, influence=False, layer=layer, dtype=np.float64).h
        hd = run(model, dn, influence=False, layer=layer, dtype=np.float64).h
        cols.append((hu - hd) / (2 * eps))
    J = np.stack(cols, axis=-1)  # (T, H, D)
    return np.sqrt((J**2).sum(axis=(1, 2)))


@pytest.mark.parametrize("kw", VARIANTS, ids=IDS)
def test_influence_matches_finite_differences(kw):
    cell = make(**kw, scale=1.5)
    xs = xs_for(3, T=9)
    tr = run(cell, xs, dtype=np.float64)
    np.testing.assert_allclose(tr.influence, fd_influence(cell, xs), rtol=1e-6, atol=1e-9)
    tr32 = run(cell, xs)  # float32 working precision stays close
    np.testing.assert_allclose(tr32.influence, tr.influence, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kw", VARIANTS, ids=IDS)
def test_influence_through_a_stack(kw):
    stack = Stack([make(**kw, D=2, H=3, seed=1, scale=1.5), make(**kw, D=3, H=4, seed=2, scale=1.5)])
    xs = xs_for(2, T=6)
    for layer in (0, 1):
        tr = run(stack, xs, layer=layer, dtype=np.float64)
        np.testing.assert_allclose(tr.influence, fd_influence(stack, xs, layer=layer), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("act,rec", [("linear", "hard_sigmoid"), ("relu", "sigmoid"), ("sigmoid", "hard_sigmoid")])
@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_influence_with_keras_activations(kind, act, rec):
    cell = make(kind, scale=1.2).with_params(nonlinearity=act, recurrent_activation=rec)
    xs = xs_for(3, T=6)
    tr = run(cell, xs, dtype=np.float64)
    (h, _, _), = ref_run([cell], xs)
    np.testing.assert_allclose(tr.h, h, atol=1e-12)
    np.testing.assert_allclose(tr.influence, fd_influence(cell, xs), rtol=1e-5, atol=1e-8)


def fd_backward(cell, xs, eps=1e-6):
    """‖∂h_T/∂h_t‖_F by finite differences: rerun from a perturbed h_t (c_t held fixed)."""
    tr = run(cell, xs, influence=False, dtype=np.float64)
    T, H = tr.h.shape
    out = np.empty(T)
    for t in range(T):
        if t == T - 1:
            out[t] = np.sqrt(H)
            continue
        rest = xs[t + 1 :]
        c_t = None if tr.c is None else tr.c[t]
        cols = []
        for j in range(H):
            e = np.zeros(H)
            e[j] = eps
            hu = run(cell, rest, h0=tr.h[t] + e, c0=c_t, influence=False, dtype=np.float64).h[-1]
            hd = run(cell, rest, h0=tr.h[t] - e, c0=c_t, influence=False, dtype=np.float64).h[-1]
            cols.append((hu - hd) / (2 * eps))
        out[t] = np.linalg.norm(np.array(cols))
    return out


@pytest.mark.parametrize("kw", VARIANTS, ids=IDS)
def test_backward_flow_matches_finite_differences(kw):
    cell = make(**kw, scale=1.5)
    xs = xs_for(3, T=7)
    tr = run(cell, xs, dtype=np.float64)
    np.testing.assert_allclose(backward_flow(tr), fd_backward(cell, xs), rtol=1e-6, atol=1e-9)


def test_perturbation_agrees_with_the_jacobian_for_small_eps():
    cell = make("gru", D=1, scale=1.5)
    xs = xs_for(1, T=20)
    tr = run(cell, xs, dtype=np.float64)
    p = perturbation(cell, xs, eps=1e-7)
    np.testing.assert_allclose(p / 1e-7, tr.influence, rtol=1e-4)
    # a big ε leaves the linear regime but stays a non-negative distance
    assert np.all(perturbation(cell, xs, eps=1.0) >= 0)


def test_influence_stays_exact_far_below_float32():
    # A contracting tanh RNN: the influence decays geometrically by ~0.5 per step, to 1e-150.
    H = 4
    cell = Cell("rnn", np.ones((H, 1)), 0.5 * np.eye(H), np.zeros(H), np.zeros(H))
    xs = np.zeros((500, 1))
    xs[0] = 1e-3
    tr = run(cell, xs)
    ratios = tr.influence[1:] / tr.influence[:-1]
    assert np.all(tr.influence > 0)
    np.testing.assert_allclose(ratios[10:], 0.5, rtol=1e-5)
    assert tr.influence[-1] < 1e-140


def test_influence_false_skips_it():
    tr = run(make("lstm"), xs_for(3), influence=False)
    assert tr.influence is None


# ---------------------------------------------------------------- stepping


@pytest.mark.parametrize("kw", VARIANTS, ids=IDS)
def test_step_by_step_equals_run(kw):
    stack = Stack([make(**kw, D=3, H=4, seed=1), make(**kw, D=4, H=4, seed=2)])
    xs = xs_for(3, T=8)
    tr = run(stack, xs, dtype=np.float64)
    state = initial_state(stack, influence=True, dtype=np.float64)
    for t in range(len(xs)):
        state, rec = step(stack, xs[t], state, dtype=np.float64)
        np.testing.assert_allclose(rec["h"], tr.h[t], atol=1e-12)
        if tr.c is not None:
            np.testing.assert_allclose(rec["c"], tr.c[t], atol=1e-12)
        for name, g in rec["gates"].items():
            np.testing.assert_allclose(g, tr.gates[name][t], atol=1e-12)
        assert rec["influence"] == pytest.approx(tr.influence[t], rel=1e-9)
    assert state.t == len(xs)


# ---------------------------------------------------------------- overflow


def test_overflow_keeps_inf_and_names_the_first_step():
    H = 3
    cell = Cell("rnn", np.ones((H, 1)), 50 * np.eye(H), np.zeros(H), np.zeros(H), nonlinearity="relu")
    xs = np.zeros((60, 1))
    xs[0] = 1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tr = run(cell, xs)
    ours = [w for w in caught if issubclass(w.category, NonFiniteWarning)]
    assert len(ours) == 1 and len(caught) == 1, [str(w.message) for w in caught]  # no numpy noise
    assert np.isinf(tr.h).any()
    t = tr.nonfinite.t
    assert np.all(np.isfinite(tr.h[:t])) and not np.all(np.isfinite(tr.h[t]))
    assert f"h overflowed at t = {t + 1}" in str(ours[0].message)
    assert tr.nonfinite.message().startswith("h overflowed at t = ")


def test_bad_shapes_are_value_errors():
    cell = make("gru")
    with pytest.raises(ValueError, match="expected"):
        run(cell, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="inf or NaN"):
        run(cell, np.full((4, 3), np.nan))
    with pytest.raises(ValueError):
        Cell("gru", np.zeros((5, 1)), np.zeros((6, 2)), None, None)
    with pytest.raises(ValueError):
        Cell("lstm", np.zeros((8, 1)), np.full((8, 2), np.inf), None, None)


# ---------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["rnn", "gru", "lstm"]),
    reset_after=st.booleans(),
    D=st.integers(1, 3),
    H=st.integers(1, 5),
    T=st.integers(1, 12),
    seed=st.integers(0, 10_000),
    scale=st.floats(0.1, 4.0),
)
def test_property_float32_tracks_float64_and_influence_is_finite(kind, reset_after, D, H, T, seed, scale):
    cell = make(kind, D=D, H=H, seed=seed, scale=scale, reset_after=reset_after)
    xs = np.random.default_rng(seed).normal(size=(T, D))
    t64 = run(cell, xs, dtype=np.float64)
    t32 = run(cell, xs)
    (h, _, _), = ref_run([cell], xs)
    np.testing.assert_allclose(t64.h, h, atol=1e-12)
    np.testing.assert_allclose(t32.h, h, atol=1e-5)
    assert np.all(np.isfinite(t64.influence)) and np.all(t64.influence >= 0)
    np.testing.assert_allclose(t32.influence, t64.influence, rtol=2e-4, atol=1e-6)


def test_engine_imports_no_qt():
    code = (
        "import sys, rnnviz.engine;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')"
        " or m.startswith('rnnviz.ui')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_progress_reports_and_can_cancel():
    cell = make("lstm")
    xs = xs_for(3, T=2000)
    seen = []
    tr = run(cell, xs, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 10
    np.testing.assert_array_equal(tr.h, run(cell, xs).h)

    class Cancelled(Exception):
        pass

    def cancel(frac):
        if frac > 0.3:
            raise Cancelled

    with pytest.raises(Cancelled):
        run(cell, xs, progress=cancel)


def test_influence_is_nan_after_an_overflow():
    H = 3
    cell = Cell("rnn", np.ones((H, 1)), 50 * np.eye(H), np.zeros(H), np.zeros(H), nonlinearity="relu")
    xs = np.zeros((60, 1))
    xs[0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteWarning)
        tr = run(cell, xs)
    t = tr.nonfinite.t
    assert np.all(np.isfinite(tr.influence[:t])) and np.all(np.isnan(tr.influence[t:]))
