"""The state-space engine: fixed points of h ↦ f(h, x), their stability, the flow field, PCA."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core import model as M
from rnnviz.engine.cells import Cell
from rnnviz.engine.statespace import (SADDLE, STABLE, UNSTABLE, fixed_points, flow_field, pca, stability,
                                      step_map)

KEYS = ["rnn_tanh", "rnn_relu", "gru", "lstm"]


def cell_of(key, H=2, **changes):
    s = M.Settings(cell=key, hidden_size=H, **changes)
    return M.build_model(key, s)


def bistable(scale=1.0) -> Cell:
    """The lesson's tanh RNN: W_hh = scale·[[1, .6], [.6, 1]] (eigenvalues 1.6·scale, 0.4·scale), no bias."""
    W = scale * np.array([[1.0, 0.6], [0.6, 1.0]])
    return Cell("rnn", np.array([[1.0], [0.5]]), W, np.zeros(2), np.zeros(2), recurrent_bias=False)


def fd_jacobian(m, s, eps=1e-6):
    S = s.shape[0]
    J = np.empty((S, S))
    for j in range(S):
        d = np.zeros(S)
        d[j] = eps
        J[:, j] = (m(s + d) - m(s - d)) / (2 * eps)
    return J


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("scale", [0.5, 1.5, 3.0])
def test_fixed_points_are_fixed_and_their_stability_is_the_eigenvalues(key, scale):
    cell = cell_of(key, recurrent_scale=scale, bias_shift=0.2)
    x = np.array([0.3])
    m = step_map(cell, x)
    fps = fixed_points(cell, x)
    for p in fps:
        assert np.max(np.abs(m(p.state) - p.state)) <= 1e-8
        assert p.residual <= 1e-8
        J = fd_jacobian(m, p.state)
        np.testing.assert_allclose(p.jacobian, J, atol=1e-6)
        ev = np.linalg.eigvals(J)
        assert p.stability == stability(ev)
        np.testing.assert_allclose(np.sort(np.abs(p.eigenvalues)), np.sort(np.abs(ev)), atol=1e-6)
    states = fps.states
    for a in range(len(states)):  # deduplicated
        for b in range(a):
            assert np.max(np.abs(states[a] - states[b])) > 1e-6


def test_the_jacobian_matches_finite_differences_off_the_fixed_points():
    rng = np.random.default_rng(1)
    for key in KEYS + ["gru_before"]:
        cell = cell_of("gru", H=3).with_params(reset_after=False) if key == "gru_before" else cell_of(key, H=3)
        m = step_map(cell, [0.7])
        s = rng.uniform(-0.9, 0.9, (4, m.size))
        _, J = m.with_jacobian(s)
        for b in range(4):
            np.testing.assert_allclose(J[b], fd_jacobian(m, s[b]), atol=1e-6, err_msg=key)


def test_stability_classes():
    assert stability([0.5, -0.9]) == STABLE
    assert stability([1.5, 0.2]) == SADDLE
    assert stability([1.5, -2.0]) == UNSTABLE
    assert stability([0.5 + 0.5j, 0.5 - 0.5j]) == STABLE


@pytest.mark.parametrize("seed", range(6))
def test_a_contracting_tanh_rnn_has_exactly_one_stable_fixed_point(seed):
    # ‖W_hh‖₂ < 1 (so ρ < 1) makes the map a contraction: one fixed point, stable. ρ < 1 alone
    # is not enough for a non-normal W_hh (see the next test).
    cell = cell_of("rnn_tanh", seed=seed)
    cell = cell.with_params(W_hh=cell.W_hh * (0.95 / np.linalg.norm(cell.W_hh, 2)))
    assert cell.spectral_radius() < 1
    for x in ([0.0], [1.0], [-0.5]):
        fps = fixed_points(cell, x)
        assert len(fps) == 1 and fps.points[0].stability == STABLE


def test_rho_below_one_is_not_enough_for_a_non_normal_w_hh():
    cell = cell_of("rnn_tanh", seed=0)
    cell = cell.with_params(W_hh=cell.W_hh * (0.95 / cell.spectral_radius()))
    assert cell.spectral_radius() < 1 < np.linalg.norm(cell.W_hh, 2)
    fps = fixed_points(cell, [0.0])
    assert [p.stability for p in fps] == [SADDLE]  # tanh′ < 1 off 0 and W_hh's shear: |λ| > 1
    m = step_map(cell, [0.0])
    h = np.zeros(2)
    for _ in range(300):
        h = m(h)
    np.testing.assert_allclose(m(m(h)), h, atol=1e-9)  # the path ends on a 2-cycle instead
    assert np.max(np.abs(m(h) - h)) > 0.1


def test_larger_recurrent_weights_give_two_stable_points_and_a_saddle():
    one = fixed_points(bistable(0.5), [0.0])  # eigenvalues 0.8, 0.2: one attractor at 0
    assert [p.stability for p in one] == [STABLE]
    np.testing.assert_allclose(one.h[0], 0.0, atol=1e-12)
    two = fixed_points(bistable(1.25), [0.0])  # 2.0, 0.5: the origin splits
    assert [p.stability for p in two] == [STABLE, STABLE, SADDLE]
    a, b = two.h[:2]
    np.testing.assert_allclose(a, -b, atol=1e-10)  # ± the same bit
    assert a[0] < 0 < b[0] and a[1] < 0 < b[1]
    np.testing.assert_allclose(two.h[2], 0.0, atol=1e-12)
    assert abs(two.points[2].eigenvalues[0] - 2.0) < 1e-9


def test_an_expanding_map_has_an_unstable_point():
    cell = Cell("rnn", np.ones((2, 1)), 3.0 * np.eye(2), np.zeros(2), np.zeros(2), nonlinearity="tanh")
    fps = fixed_points(cell, [0.0])
    kinds = [p.stability for p in fps]
    assert kinds.count(STABLE) == 4 and kinds.count(SADDLE) == 4 and kinds.count(UNSTABLE) == 1


def test_an_lstm_fixed_point_holds_for_h_and_c():
    cell = cell_of("lstm", forget_bias=2.0)
    fps = fixed_points(cell, [0.5])
    assert len(fps) >= 1 and fps.states.shape[1] == 4 and fps.h.shape[1] == 2
    m = step_map(cell, [0.5])
    assert all(np.max(np.abs(m(p.state) - p.state)) <= 1e-8 for p in fps)


def test_flow_field_is_f_minus_h():
    cell = bistable(1.25)
    g1, g2 = np.linspace(-1, 1, 5), np.linspace(-0.5, 0.5, 3)
    F = flow_field(cell, [0.2], g1, g2)
    assert F.shape == (3, 5, 2)
    h = np.array([g1[4], g2[0]])
    expected = np.tanh(cell.W_hh @ h + cell.W_ih[:, 0] * 0.2) - h
    np.testing.assert_allclose(F[0, 4], expected, atol=1e-12)
    with pytest.raises(ValueError):
        flow_field(cell_of("lstm"), [0.0], g1, g2)


def test_pca_matches_numpy_svd():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6))
    p = pca(X)
    Xc = X - X.mean(axis=0)
    _, sv, Vt = np.linalg.svd(Xc, full_matrices=False)
    np.testing.assert_allclose(p.explained, sv[:2] ** 2 / np.sum(sv**2), rtol=1e-12)
    np.testing.assert_allclose(np.abs(p.components), np.abs(Vt[:2]), atol=1e-12)
    Y = p.project(X)
    np.testing.assert_allclose(Y.var(axis=0) * 40, sv[:2] ** 2, rtol=1e-10)
    assert pca(np.zeros((5, 3))).explained.tolist() == [0.0, 0.0]
    assert pca(np.full((3, 4), np.nan)).components.shape == (2, 4)
