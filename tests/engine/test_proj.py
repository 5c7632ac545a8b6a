"""PyTorch's LSTM with proj_size, h = W_hr (o ⊙ tanh c): the engine against finite differences
(the PyTorch fixtures' parity is in test_parity.py: torch_lstm_proj*)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.engine import Cell, Stack, init_cell, initial_state, run, step
from rnnviz.engine.explain import equations, explain
from rnnviz.engine.influence import backward_flow
from rnnviz.io import load_weights, save_weights


def proj_cell(D=3, H=5, P=2, seed=0, **kw):
    base = init_cell("lstm", D, H, seed=seed)
    rng = np.random.default_rng(seed + 1)
    W_hh = rng.uniform(-1, 1, (4 * H, P)) * 1.5
    W_hr = rng.uniform(-1, 1, (P, H)) * 1.5
    return Cell("lstm", base.W_ih * 2.5, W_hh, base.b_ih, base.b_hh, W_hr=W_hr, **kw)


XS = np.random.default_rng(7).normal(0, 1.5, (9, 3))


def test_shapes_and_sizes():
    cell = proj_cell()
    assert (cell.hidden_size, cell.cell_size, cell.input_size) == (2, 5, 3)
    assert cell.n_params == 20 * 3 + 20 * 2 + 40 + 10
    assert repr(cell) == "Cell('lstm', D=3, H=5, proj_size=2)"
    tr = run(cell, XS, dtype=np.float64)
    assert tr.h.shape == (9, 2) and tr.c.shape == (9, 5) and tr.gates["o"].shape == (9, 5)
    m = tr.gates["o"] * np.tanh(tr.c)
    np.testing.assert_allclose(tr.h, m @ cell.W_hr.T, atol=1e-14)
    assert np.isfinite(cell.spectral_radius())
    assert equations(cell)[-2:] == ["m_t = o_t ⊙ tanh(c_t)", "h_t = W_hr m_t"]


def test_bad_projections():
    cell = proj_cell()
    with pytest.raises(ValueError, match="with W_hr"):
        Cell("lstm", cell.W_ih, cell.W_hh[:, :1], cell.b_ih, cell.b_hh, W_hr=cell.W_hr)
    with pytest.raises(ValueError, match="has no projection"):
        g = init_cell("gru", 3, 4)
        Cell("gru", g.W_ih, g.W_hh, g.b_ih, g.b_hh, W_hr=np.ones((2, 4)))
    with pytest.raises(ValueError, match="inf or NaN"):
        Cell("lstm", cell.W_ih, cell.W_hh, cell.b_ih, cell.b_hh, W_hr=cell.W_hr * np.nan)


@pytest.mark.parametrize("rec", ["sigmoid", "hard_sigmoid"])
def test_fast_and_general_paths_agree(rec):
    cell = proj_cell(recurrent_activation=rec)
    a, b = run(cell, XS, dtype=np.float32), run(cell, XS, dtype=np.float64)
    np.testing.assert_allclose(a.h, b.h, atol=2e-5)
    np.testing.assert_allclose(a.influence, b.influence, rtol=2e-4, atol=1e-7)


def fd_influence(model, xs, eps=1e-6):
    """‖∂h_t/∂x_1‖_F by central differences, column by column."""
    cols = []
    for j in range(xs.shape[1]):
        up, down = xs.copy(), xs.copy()
        up[0, j] += eps
        down[0, j] -= eps
        cols.append((run(model, up, influence=False, dtype=np.float64).h
                     - run(model, down, influence=False, dtype=np.float64).h) / (2 * eps))
    return np.sqrt(sum(c ** 2 for c in cols).sum(axis=1))


@pytest.mark.parametrize("which", ["one", "stack", "stack-below"])
def test_influence_matches_finite_differences(which):
    if which == "one":
        model = proj_cell()
    elif which == "stack":  # a plain LSTM above a projected one
        model = Stack((proj_cell(), init_cell("lstm", 2, 4, seed=3)))
    else:
        model = Stack((init_cell("lstm", 3, 4, seed=3), proj_cell(D=4, seed=5)))
    tr = run(model, XS, dtype=np.float64)
    np.testing.assert_allclose(tr.influence, fd_influence(model, XS), rtol=1e-6, atol=1e-9)
    # one step at a time gives the same numbers
    state = initial_state(model, influence=True, dtype=np.float64)
    stepped = []
    for x in XS:
        state, rec = step(model, x, state, dtype=np.float64)
        stepped.append(rec["influence"])
    np.testing.assert_allclose(stepped, tr.influence, rtol=1e-10)


def test_backward_flow_matches_finite_differences():
    """‖∂h_T/∂h_t‖_F holding c_t fixed: perturb h_t, rerun the rest from (h_t, c_t)."""
    cell = proj_cell()
    tr = run(cell, XS, dtype=np.float64)
    flow = backward_flow(tr)
    T, eps = XS.shape[0], 1e-6
    for t in (0, 3, T - 2):
        J = []
        for j in range(cell.hidden_size):
            outs = []
            for s in (eps, -eps):
                h0 = tr.h[t].copy()
                h0[j] += s
                outs.append(run(cell, XS[t + 1:], h0=h0, c0=tr.c[t], influence=False, dtype=np.float64).h[-1])
            J.append((outs[0] - outs[1]) / (2 * eps))
        assert flow[t] == pytest.approx(np.linalg.norm(np.array(J)), rel=1e-6)
    assert flow[-1] == pytest.approx(np.sqrt(cell.hidden_size))


def test_explain_recomputes_a_cell_unit():
    cell = proj_cell()
    tr = run(cell, XS, dtype=np.float64)
    for t, unit in ((0, 0), (4, 4)):
        e = explain(tr, t, unit)
        assert e.c == pytest.approx(tr.c[t, unit])
        assert e.h == pytest.approx(tr.gates["o"][t, unit] * np.tanh(tr.c[t, unit]))
        assert [line.target for line in e.lines] == ["c", "m"]
        for g in "ifgo":
            assert e.pre[g].value == pytest.approx(tr.gates[g][t, unit])
    with pytest.raises(IndexError):
        explain(tr, 0, 5)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_saved_projection_reads_back(tmp_path, suffix):
    model = Stack((proj_cell(), Cell("lstm", *[getattr(proj_cell(D=2, seed=9), n) for n in ("W_ih", "W_hh", "b_ih", "b_hh")],
                                     W_hr=proj_cell(D=2, seed=9).W_hr)))
    path = tmp_path / f"m{suffix}"
    save_weights(model, path)
    back = load_weights(path)
    for a, b in zip(model.layers, back.layers):
        np.testing.assert_array_equal(a.W_hr, b.W_hr)
        np.testing.assert_array_equal(a.W_hh, b.W_hh)
    np.testing.assert_array_equal(run(back, XS).h, run(model, XS).h)


def test_reader_checks_projection_shapes(tmp_path):
    cell = proj_cell()
    arrays = dict(weight_ih_l0=cell.W_ih, weight_hh_l0=cell.W_hh, bias_ih_l0=cell.b_ih, bias_hh_l0=cell.b_hh,
                  weight_hr_l0=cell.W_hr[:, :4])
    np.savez(tmp_path / "bad.npz", **arrays)
    from rnnviz.engine import InputError

    with pytest.raises(InputError, match=r"an LSTM with proj_size=2 needs \(16, 2\)"):
        load_weights(tmp_path / "bad.npz")
