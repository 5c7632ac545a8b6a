"""The compute path: generations, the worker pool, no stale curve ever. No Qt."""

from __future__ import annotations

import queue
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rnnviz.core import model as M
from rnnviz.core.app import App
from rnnviz.core.service import ComputeService, plan
from rnnviz.engine import NonFiniteWarning, backward_flow, init_cell, perturbation, run


class Loop:
    """A stand-in for the GUI event loop: posted functions run here, in order, on this thread."""

    def __init__(self):
        self.q: queue.Queue = queue.Queue()

    def post(self, fn) -> None:
        self.q.put(fn)

    def run_until(self, done, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not done():
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("the service did not become idle")
            try:
                fn = self.q.get(timeout=left)
            except queue.Empty:
                continue
            fn()


def make_app(settings: M.Settings | None = None) -> tuple[App, Loop]:
    loop = Loop()
    app = App(settings, post=loop.post, later=loop.post, schedule=lambda: loop.post(
        lambda: app.dirty and app.recompute()))
    return app, loop


def expected(s: M.Settings, loaded=None, layer: int = -1):
    """What every view must show for ``s``: the engine run from scratch, nothing reused."""
    out = []
    keys = s.kinds if loaded is None else ["loaded"]
    xs = M.build_inputs(s)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", NonFiniteWarning)
        for key in keys:
            model = M.build_model(key, s, loaded)
            trace = run(model, xs, influence=True, layer=layer)
            # on the inputs the float32 run saw, as the app does
            pert = perturbation(model, trace.xs, eps=M.EPS, layer=layer) / M.EPS
            back = backward_flow(trace) if s.backward else None
            out.append((trace, pert, back))
    return out


def assert_shows(result: M.Result, s: M.Settings, loaded=None, layer: int = -1) -> None:
    assert result.complete and result.settings == s
    want = expected(s, loaded, layer)
    assert len(result.cells) == len(want)
    for cr, (trace, pert, back) in zip(result.cells, want):
        assert not cr.stale_influence
        np.testing.assert_array_equal(cr.trace.h, trace.h)
        if trace.c is not None:
            np.testing.assert_array_equal(cr.trace.c, trace.c)
        assert cr.trace.gates.keys() == trace.gates.keys()
        for g in trace.gates:
            np.testing.assert_array_equal(cr.trace.gates[g], trace.gates[g])
        np.testing.assert_array_equal(cr.trace.influence, trace.influence)
        np.testing.assert_allclose(cr.perturbation, pert, rtol=1e-12, atol=0)
        if back is None:
            assert cr.backward is None
        else:
            np.testing.assert_array_equal(cr.backward, back)


BIG_LSTM = M.Settings(cell="lstm", T=1000, hidden_size=128, input_size=8, signal="noise")


def test_big_lstm_slider_never_keeps_the_previous_influence():
    # The review's case: the fast frame reuses the previous x1 curve (the influence costs more
    # than the run), and the exact one must replace it before the result counts as complete.
    assert plan(BIG_LSTM).sync and plan(BIG_LSTM).defer_influence
    app, loop = make_app(BIG_LSTM)
    app.recompute()
    loop.run_until(lambda: app.idle)
    before = app.result.cells[0].trace.influence.copy()
    app.update(recurrent_scale=1.5)
    loop.run_until(lambda: not app.dirty)
    fast = app.result
    assert not fast.complete and fast.cells[0].stale_influence
    np.testing.assert_array_equal(fast.cells[0].trace.influence, before)
    loop.run_until(lambda: app.idle)
    assert app.service.jobs_run >= 2  # the slow parts of both runs ran on the pool
    assert_shows(app.result, app.settings)
    assert not np.allclose(app.result.cells[0].trace.influence, before)


def test_costly_runs_go_to_the_pool_and_report_progress():
    s = M.Settings(cell="lstm", T=2000, hidden_size=128, input_size=2)
    assert not plan(s).sync
    app, loop = make_app(s)
    seen, busy = [], []
    app.progress_changed.connect(seen.append)
    app.busy_changed.connect(busy.append)
    app.recompute()
    assert app.result is None and app.service.is_busy  # nothing computed on this thread
    loop.run_until(lambda: app.idle)
    assert app.service.jobs_run == 1 and busy == [True, False]
    assert seen[0] == 0.0 and len(seen) > 2 and seen == sorted(seen)
    assert_shows(app.result, s)


def test_a_newer_request_cancels_the_older_one():
    loop = Loop()
    service = ComputeService(loop.post)
    delivered = []
    service.finished.connect(lambda gen, r: delivered.append((gen, r.settings)))
    slow = M.Settings(cell="lstm", T=3000, hidden_size=160, input_size=4)
    cheap = M.Settings(T=20)
    g1 = service.submit(slow)
    g2 = service.submit(cheap)
    assert g2 > g1 and delivered == [(g2, cheap)]  # the cheap run arrives at once
    loop.run_until(lambda: service.idle)
    time.sleep(0.2)  # let the cancelled job reach a progress report and stop
    while not loop.q.empty():
        loop.q.get()()
    assert [g for g, _ in delivered] == [g2] and service.jobs_run == 0
    assert service.result.settings is cheap
    service.shutdown()


def test_settle_finishes_without_an_event_loop():
    app, loop = make_app(BIG_LSTM)
    app.update(bias_shift=0.25)
    result = app.settle()  # nothing was run from the loop
    assert result is app.result and app.idle
    assert_shows(result, app.settings)


def test_a_failing_job_drops_the_carried_curves(monkeypatch):
    s = M.Settings(cell="gru", T=1000, hidden_size=48)
    assert plan(s).sync and not plan(s).slow_sync
    app, loop = make_app(s)
    app.recompute()
    loop.run_until(lambda: app.idle)
    errors = []
    app.error_occurred.connect(errors.append)

    def boom(*a, **k):
        raise MemoryError("no room")

    monkeypatch.setattr(M, "complete", boom)
    app.update(input_scale=0.5)
    loop.run_until(lambda: errors)
    r = app.result
    assert errors == ["MemoryError: no room"] and r.complete
    assert all(c.perturbation is None and c.backward is None for c in r.cells)


# ----------------------------------------------------------------- stateful
CHOICES = list(M.CELL_CHOICES)
SLIDERS = {
    "input_scale": st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    "recurrent_scale": st.sampled_from([0.0, 0.5, 1.0, 1.8, 4.0]),
    "bias_shift": st.sampled_from([-1.0, 0.0, 0.5]),
    "forget_bias": st.sampled_from([-2.0, 0.0, 3.0]),
    "update_bias": st.sampled_from([-2.0, 0.0, 3.0]),
}


class ServiceMachine(RuleBasedStateMachine):
    """Random sequences of changes; once the service is idle, the result is the engine's."""

    @initialize()
    def start(self):
        self.app, self.loop = make_app()
        self.app.recompute()
        self.loaded = None

    @rule(cell=st.sampled_from(CHOICES))
    def choose_cell(self, cell):
        self.app.update(cell=cell)

    @rule(H=st.integers(1, 40), D=st.integers(1, 4))
    def sizes(self, H, D):
        self.app.update(hidden_size=H, input_size=D)

    @rule(seed=st.integers(0, 3))
    def seed(self, seed):
        self.app.update(seed=seed)

    @rule(data=st.data(), name=st.sampled_from(sorted(SLIDERS)))
    def slider(self, data, name):
        self.app.update(**{name: data.draw(SLIDERS[name])})

    @rule(T=st.sampled_from([1, 2, 7, 30, 200, 1000]))
    def length(self, T):
        self.app.update(T=T)

    @rule(signal=st.sampled_from(sorted(M.SIGNALS)))
    def signal(self, signal):
        self.app.update(signal=signal)

    @rule(t=st.integers(0, 2000))
    def step(self, t):
        self.app.set_step(t)

    @rule()
    def toggle_backward(self):
        self.app.update(backward=not self.app.settings.backward)

    @rule(kind=st.sampled_from(["rnn", "gru", "lstm"]), layers=st.integers(1, 2), seed=st.integers(0, 9))
    def load(self, kind, layers, seed):
        from rnnviz.engine import Stack

        cells = [init_cell(kind, 2, 6, seed=seed)] + [init_cell(kind, 6, 6, seed=seed + k) for k in range(1, layers)]
        model = cells[0] if layers == 1 else Stack(tuple(cells))
        self.app.use_model(model, f"model{seed}.npz")

    @precondition(lambda self: self.app.loaded is not None)
    @rule(layer=st.integers(0, 1))
    def choose_layer(self, layer):
        n = len(getattr(self.app.loaded, "layers", [0]))
        self.app.set_layer(min(layer, n - 1))

    @rule()
    def unload(self):
        self.app.update(seed=(self.app.settings.seed + 1) % 4)  # a shape change unloads

    @rule()
    def costly(self):
        self.app.update(cell="lstm", T=1500, hidden_size=128, input_size=1)

    @rule(n=st.integers(0, 3))
    def let_some_work_happen(self, n):
        for _ in range(n):  # a few event-loop passes, not necessarily until idle
            try:
                self.loop.q.get(timeout=0.05)()
            except queue.Empty:
                break

    @rule()
    def wait_until_idle(self):
        self.loop.run_until(lambda: self.app.idle, timeout=120)
        assert_shows(self.app.result, self.app.settings, self.app.loaded, self.app.state.layer)

    @invariant()
    def step_and_unit_in_range(self):
        assert 0 <= self.app.state.step < self.app.settings.T

    def teardown(self):
        app = getattr(self, "app", None)
        if app is None:
            return
        self.loop.run_until(lambda: app.idle, timeout=120)
        assert_shows(app.result, app.settings, app.loaded, app.state.layer)
        r = app.result
        assert app.state.step <= r.T - 1 and app.state.unit <= r.cells[0].trace.H - 1
        app.service.shutdown()


ServiceMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=10, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
test_service_machine = ServiceMachine.TestCase


@pytest.mark.parametrize("s", [M.Settings(), M.Settings(cell="compare", T=100, hidden_size=32), BIG_LSTM])
def test_every_request_matches_the_engine(s):
    app, loop = make_app(s)
    app.recompute()
    loop.run_until(lambda: app.idle)
    assert_shows(app.result, s)


def test_slow_curves_report_progress_all_along():
    # so a cancelled pool job stops within a few hundred steps, not after two long float64 runs
    from rnnviz.engine import init_cell

    trace = run(init_cell("lstm", 1, 8), np.zeros((3000, 1)))
    seen = []
    M.slow_curves(trace, True, progress=seen.append)
    assert len(seen) > 20 and seen == sorted(seen) and seen[-1] == 1.0
    assert any(0.1 < f < 0.4 for f in seen) and any(0.6 < f < 0.9 for f in seen)
