"""The fixed-point search's shortcuts (candidates one step from converged, iterates near a point
found, iterates walking along a flat stretch) find the set of fixed points the plain Newton
search finds, and every point still satisfies f(s*) = s* to the tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core import model as M
from rnnviz.engine import statespace as ss
from rnnviz.engine.cells import Cell
from rnnviz.engine.statespace import SADDLE, STABLE, fixed_points, step_map


def plain(cell, x, **kw):
    """The search with every shortcut off: each start runs until it converges or gives up."""
    saved = ss.POLISH, ss.NEAR, ss.WALK
    ss.POLISH, ss.NEAR, ss.WALK = 0.0, -1.0, 10**9
    try:
        return fixed_points(cell, x, **kw)
    finally:
        ss.POLISH, ss.NEAR, ss.WALK = saved


def same_set(a, b) -> bool:
    A, B = a.states, b.states
    if A.shape != B.shape:
        return False
    return all(np.min(np.max(np.abs(B - p), axis=1)) <= 1e-6 for p in A) and \
        [p.stability for p in a] == [p.stability for p in b]


def two_attractors(scale=1.25) -> Cell:
    """The lesson's tanh RNN with W_hh = scale·[[1, .6], [.6, 1]]: at 1.25 two stable points (± a bit)
    and a saddle at the origin."""
    W = scale * np.array([[1.0, 0.6], [0.6, 1.0]])
    return Cell("rnn", np.array([[1.0], [0.5]]), W, np.zeros(2), np.zeros(2), recurrent_bias=False)


def test_the_two_attractor_setting_gives_all_three_fixed_points():
    fps = fixed_points(two_attractors(), [0.0])
    assert [p.stability for p in fps] == [STABLE, STABLE, SADDLE]
    m = step_map(two_attractors(), [0.0])
    for p in fps:
        assert np.max(np.abs(m(p.state) - p.state)) <= 1e-8
        assert p.residual <= ss.TOL
    np.testing.assert_allclose(fps.h[0], -fps.h[1], atol=1e-10)
    np.testing.assert_allclose(fps.h[2], 0.0, atol=1e-12)
    assert same_set(fps, plain(two_attractors(), [0.0]))


@pytest.mark.parametrize("scale", [1.05, 1.1, 1.5, 2.0])  # 0.4·scale < 1: three points
def test_two_attractors_at_other_strengths(scale):
    fps = fixed_points(two_attractors(scale), [0.0])
    assert [p.stability for p in fps] == [STABLE, STABLE, SADDLE]
    assert same_set(fps, plain(two_attractors(scale), [0.0]))


@pytest.mark.parametrize("key", ["rnn_tanh", "rnn_relu", "gru", "lstm"])
def test_the_shortcuts_find_what_the_plain_search_finds(key):
    for scale in (0.5, 1.25, 2.0, 3.0):
        for shift in (-0.5, 0.0, 0.3):
            for x in (0.0, 0.7):
                cell = M.build_model(key, M.Settings(cell=key, hidden_size=2, recurrent_scale=scale, bias_shift=shift))
                fast, ref = fixed_points(cell, [x]), plain(cell, [x])
                assert same_set(fast, ref), (key, scale, shift, x)
                assert fast.iterations <= ref.iterations
                m = step_map(cell, [x])
                assert all(np.max(np.abs(m(p.state) - p.state)) <= 1e-8 for p in fast)


def test_an_expanding_map_keeps_its_nine_points():
    cell = Cell("rnn", np.ones((2, 1)), 3.0 * np.eye(2), np.zeros(2), np.zeros(2), nonlinearity="tanh")
    assert same_set(fixed_points(cell, [0.0]), plain(cell, [0.0]))
    assert len(fixed_points(cell, [0.0])) == 9
