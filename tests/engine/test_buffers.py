"""The scratch pool: arrays are lent and taken back per thread, and nothing a caller keeps is
ever lent again (training's repeated passes reuse their working arrays)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rnnviz.engine import buffers
from rnnviz.engine.buffers import FRESH, Scratch, scratch, ufunc_runs
from rnnviz.engine.train import Adam, adding, init_model, loss_and_grads, update


def test_a_second_pass_gets_the_first_pass_arrays_back():
    with scratch() as ws:
        a = ws.empty((7, 3), np.float32)
        b = ws.empty((7, 3), np.float32)
        assert a is not b
    with scratch() as ws:
        again = {id(ws.empty((7, 3), np.float32)), id(ws.empty((7, 3), np.float32))}
        other = ws.empty((7, 3), np.float64)
    assert again == {id(a), id(b)}
    assert other.dtype == np.float64


def test_zeros_are_zeros_on_reuse():
    with scratch() as ws:
        ws.empty((4,), np.float64)[:] = 5.0
    with scratch() as ws:
        assert np.all(ws.zeros((4,), np.float64) == 0)


def test_fresh_lends_new_arrays_and_keeps_none():
    assert isinstance(FRESH, Scratch)
    with FRESH as ws:
        a = ws.empty((3,), np.float32)
    with FRESH as ws:
        assert ws.empty((3,), np.float32) is not a


def test_each_thread_has_its_own_pool():
    with scratch() as ws:
        mine = ws.empty((5, 5), np.float32)
    seen = []

    def other():
        with scratch() as ws:
            seen.append(ws.empty((5, 5), np.float32))

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen[0] is not mine


def test_the_pool_stays_under_its_limit():
    pool = buffers._Pool(limit=1000)
    ws = Scratch(pool)
    for n in range(1, 40):
        ws.empty((n,), np.float64)
    ws.__exit__(None, None, None)
    assert pool.nbytes <= 1000
    # the most recently lent arrays are the ones kept
    assert ((39,), np.dtype(np.float64).str) in pool.free


def test_results_survive_the_next_pass():
    """loss_and_grads and update return nothing the next pass overwrites."""
    model = init_model("lstm", 2, 6, 1, seed=0)
    xs, ys, mask = adding(4, 9, seed=0)
    g1 = loss_and_grads(model, xs, ys, mask, dtype=np.float32)
    kept = {n: a.copy() for n, a in g1.grads.items()}
    dh, dx, y = g1.dh.copy(), g1.dx.copy(), g1.y.copy()
    opt = Adam(lr=1e-2)
    state = opt.init(model.state_dict(np.float32))
    _, _, info = update(model, opt, state, xs, ys, mask, clip=1.0, dtype=np.float32)
    info_y, dh_norm = info.y.copy(), info.dh_norm.copy()
    xs2, ys2, mask2 = adding(4, 9, seed=1)
    loss_and_grads(model, xs2, ys2, mask2, dtype=np.float32)
    update(model, opt, state, xs2, ys2, mask2, clip=1.0, dtype=np.float32)
    for n, a in kept.items():
        np.testing.assert_array_equal(g1.grads[n], a)
    np.testing.assert_array_equal(g1.dh, dh)
    np.testing.assert_array_equal(g1.dx, dx)
    np.testing.assert_array_equal(g1.y, y)
    np.testing.assert_array_equal(info.y, info_y)
    np.testing.assert_array_equal(info.dh_norm, dh_norm)
    assert np.allclose(np.sqrt(np.sum(np.square(dh.astype(np.float64)), axis=(0, 2))), dh_norm)


def test_eviction_passes_over_a_shape_whose_arrays_are_all_lent():
    pool = buffers._Pool(limit=1000)
    first = Scratch(pool)
    first.empty((10,), np.float64)
    first.__exit__(None, None, None)
    holder = Scratch(pool)
    held = holder.empty((10,), np.float64)  # lent again: the oldest shape has no free array now
    other = Scratch(pool)
    for _ in range(3):
        other.empty((60,), np.float64)  # 3 × 480 bytes: over the limit when given back
    other.__exit__(None, None, None)
    assert pool.nbytes <= 1000
    holder.__exit__(None, None, None)
    assert pool.nbytes <= 1000
    with Scratch(pool) as ws:
        assert ws.empty((10,), np.float64) is held


def test_ufunc_runs_sizes_the_buffer_and_puts_it_back():
    before = np.getbufsize()
    with ufunc_runs(1000):
        assert np.getbufsize() == 992  # a multiple of 16
    assert np.getbufsize() == before
    with ufunc_runs(10**7):
        assert np.getbufsize() == before  # never larger than the size in force
    with pytest.raises(RuntimeError), ufunc_runs(64):
        raise RuntimeError
    assert np.getbufsize() == before
    model = init_model("lstm", 2, 6, 1, seed=0)
    xs, ys, mask = adding(3, 5, seed=0)
    loss_and_grads(model, xs, ys, mask, dtype=np.float32)  # the LSTM's sweep runs in one
    assert np.getbufsize() == before
