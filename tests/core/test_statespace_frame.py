"""The state-space frame: the engine's states, fixed points and projections, ready to draw."""

from __future__ import annotations

import time

import numpy as np
import pytest

from rnnviz.core import model as M
from rnnviz.core.frames import ViewState, build_frame
from rnnviz.core.statespace import FLOW_GRID, VARIANTS, statespace_frame
from rnnviz.engine.statespace import fixed_points, pca, step_map

#: The lesson's network: W_hh = [[1, .6], [.6, 1]] scaled 1.25 (eigenvalues 2 and 0.5), no bias.
BISTABLE = dict(cell="rnn_tanh", hidden_size=2, T=20, single_bias=True, recurrent_scale=1.25, overrides=(
    (("W_hh", 0, 0), 1.0), (("W_hh", 0, 1), 0.6), (("W_hh", 1, 0), 0.6), (("W_hh", 1, 1), 1.0),
    (("W_ih", 0, 0), 1.0), (("W_ih", 1, 0), 0.5), (("b_ih", 0, 0), 0.0), (("b_ih", 1, 0), 0.0)))


def frame_of(step=0, reveal_all=False, **settings):
    with np.errstate(all="ignore"):
        result = M.compute(M.Settings(**settings), slow=False)
    return build_frame(result, ViewState(step=step, reveal_all=reveal_all))


def states(cr) -> np.ndarray:
    return np.concatenate([np.zeros((1, cr.trace.H)), cr.trace.h.astype(np.float64)])


def test_the_plane_is_the_engine_path_with_the_current_steps_fixed_points():
    f = frame_of(step=2, **M.seed_example_settings().__dict__)
    ss = statespace_frame(f)
    cr = f.result.cells[0]
    assert ss.mode == "plane" and (ss.xlabel, ss.ylabel) == ("h₁", "h₂")
    np.testing.assert_array_equal(ss.paths[0].xy, states(cr))
    assert ss.revealed == 4 and ss.current == 3
    assert ss.xrange[0] < -1 and ss.xrange[1] > 1  # h of a tanh cell lives in [−1, 1]²
    x = f.result.xs[2]  # this step's input, 0.9
    expected = fixed_points(cr.cell, x)
    assert [p.stability for p in ss.fixed] == [p.stability for p in expected]
    np.testing.assert_allclose([p.xy for p in ss.fixed], expected.h, atol=1e-9)
    m = step_map(cr.cell, x)
    for p in ss.fixed:
        assert np.max(np.abs(m(p.state) - p.state)) <= 1e-8
    assert "x₃ = 0.9" in ss.status and "1 stable" in ss.status
    assert ss.arrows.shape == (6 * FLOW_GRID**2, 2) and np.all(np.isfinite(ss.arrows))
    assert [k for k, _ in ss.labels] == [0, 1, 2, 3]


def test_the_bistable_network_shows_two_attractors_and_a_saddle_and_stores_the_sign():
    ss = statespace_frame(frame_of(step=19, **BISTABLE))
    assert [p.stability for p in ss.fixed] == ["stable", "stable", "saddle"]
    end = ss.paths[0].xy[-1]
    lo, hi = np.array(ss.fixed[0].xy), np.array(ss.fixed[1].xy)
    assert np.max(np.abs(end - hi)) < 1e-3  # x₁ = +1 ends on the positive attractor
    neg = statespace_frame(frame_of(step=19, **dict(BISTABLE, amplitude=-1.0)))
    assert np.max(np.abs(neg.paths[0].xy[-1] - lo)) < 1e-3  # x₁ = −1 on the other: one bit
    one = statespace_frame(frame_of(step=19, **dict(BISTABLE, recurrent_scale=0.5)))
    assert [p.stability for p in one.fixed] == ["stable"]


def test_stepping_changes_the_map_with_its_input():
    first = statespace_frame(frame_of(step=0, **BISTABLE))  # x₁ = 1 tilts the map: one attractor
    later = statespace_frame(frame_of(step=5, **BISTABLE))
    assert "x₁ = 1" in first.status and "x₆ = 0" in later.status
    assert len(first.fixed) == 1 and len(later.fixed) == 3


def test_lstm_plane_shows_h_and_says_so():
    f = frame_of(step=10, cell="lstm", hidden_size=2, T=30, signal="sine")
    ss = statespace_frame(f)
    assert ss.mode == "plane" and ss.arrows is None and "(h, c)" in ss.note
    cr = f.result.cells[0]
    fps = fixed_points(cr.cell, f.result.xs[10])
    assert len(ss.fixed) == len(fps) >= 1
    for p in ss.fixed:
        assert p.state.shape == (4,) and p.xy == (p.state[0], p.state[1])
        assert np.max(np.abs(step_map(cr.cell, f.result.xs[10])(p.state) - p.state)) <= 1e-8


def test_compare_shows_the_three_paths_and_their_fixed_points():
    f = frame_of(step=5, cell="compare", hidden_size=2)
    ss = statespace_frame(f)
    assert [p.key for p in ss.paths] == ["rnn_tanh", "gru", "lstm"] and ss.arrows is None
    for p, cr in zip(ss.paths, f.result.cells):
        np.testing.assert_array_equal(p.xy, states(cr))
    assert {p.colour for p in ss.fixed} <= {"cell:rnn_tanh", "cell:gru", "cell:lstm"}


def test_pca_projects_the_path_with_its_explained_variance():
    f = frame_of(step=7, T=30, hidden_size=8, signal="sine")
    ss = statespace_frame(f)
    X = states(f.result.cells[0])
    assert ss.mode == "pca" and not ss.fixed
    Xc = X - X.mean(axis=0)
    _, sv, _ = np.linalg.svd(Xc)
    ev = sv**2 / np.sum(sv**2)
    assert ss.xlabel == f"PC1 ({100 * ev[0]:.0f} % of variance)" and ss.ylabel == f"PC2 ({100 * ev[1]:.0f} %)"
    np.testing.assert_allclose(ss.paths[0].xy, pca(X).project(X), atol=1e-12)
    np.testing.assert_allclose(np.var(ss.paths[0].xy, axis=0) * X.shape[0], sv[:2] ** 2, rtol=1e-9)
    both = statespace_frame(f, variants=True)
    assert ss.can_vary and len(both.variants) == VARIANTS and "noisy" in both.note
    assert statespace_frame(f).variants == ()  # the toggle is per call


def test_compare_pca_shares_one_set_of_axes():
    f = frame_of(step=3, cell="compare", hidden_size=6)
    ss = statespace_frame(f)
    X = np.concatenate([states(cr) for cr in f.result.cells])
    p = pca(X)
    for path, cr in zip(ss.paths, f.result.cells):
        np.testing.assert_allclose(path.xy, p.project(states(cr)), atol=1e-12)


def test_one_unit_has_no_plane_and_exploding_runs_keep_finite_ranges():
    assert statespace_frame(frame_of(hidden_size=1)).mode == "none"
    ss = statespace_frame(frame_of(step=59, cell="rnn_relu", hidden_size=2, T=60, recurrent_scale=6.0))
    assert all(np.isfinite(v) for v in ss.xrange + ss.yrange)
    big = statespace_frame(frame_of(step=59, cell="rnn_relu", hidden_size=4, T=60, recurrent_scale=9.0))
    assert all(np.isfinite(v) for v in big.xrange + big.yrange)


def test_fixed_point_search_of_a_slider_frame_is_fast():
    # the figure (< 5 ms) is measured by benchmarks/statespace.py; this only guards against a
    # regression by an order of magnitude on a loaded test machine
    times = []
    for k in range(15):
        f = frame_of(step=10, **dict(BISTABLE, recurrent_scale=1.0 + 0.01 * k))
        t = time.process_time()
        statespace_frame(f)
        times.append(time.process_time() - t)
    assert np.median(times) < 0.03


def test_pca_axes_end_on_a_grid_round_the_data_and_stay_while_a_slider_moves_a_little():
    """The projection's ranges hold the padded extent of the paths and end on multiples of a
    1-2-5 step of at most a fifth of it; a small slider move keeps them in most ticks (the
    axes are drawn again only when they change)."""
    from rnnviz.core.statespace import PAD, PCA_GRID

    kept, ticks = 0, 40
    previous = None
    for k in range(ticks):
        ss = statespace_frame(frame_of(reveal_all=True, recurrent_scale=0.9 + 0.01 * k))
        assert ss.mode == "pca"
        for r, column in ((ss.xrange, 0), (ss.yrange, 1)):
            xy = np.concatenate([p.xy for p in ss.paths])[:, column]
            lo, hi = np.nanmin(xy), np.nanmax(xy)
            pad = PAD * (hi - lo)
            extent = hi - lo + 2 * pad
            assert r[0] <= lo - pad + 1e-12 and r[1] >= hi + pad - 1e-12
            assert r[1] - r[0] <= extent * (1 + 2 * PCA_GRID) + 1e-12
            e = 10.0 ** np.floor(np.log10(PCA_GRID * extent))
            steps = [m * e for m in (0.5, 1.0, 2.0, 5.0) if m * e <= PCA_GRID * extent * (1 + 1e-9)]

            def on(v, s):
                return abs(v / s - round(v / s)) < 1e-6

            assert any(on(r[0], s) and on(r[1], s) for s in steps), (r, steps)
        kept += previous == (ss.xrange, ss.yrange)
        previous = (ss.xrange, ss.yrange)
    assert kept >= ticks // 2
