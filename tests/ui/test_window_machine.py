"""Random sequences of changes through the real window's controller; once the compute service is
idle, every panel shows exactly the engine's arrays for the current settings."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from rnnviz.core import model as M
from rnnviz.core.frames import SYMLOG_ABOVE, symlog, trusted_perturbation
from rnnviz.engine import NonFiniteWarning, Stack, backward_flow, init_cell, perturbation, run
from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow


def engine_arrays(s: M.Settings, loaded, layer: int):
    """label → (trace, perturbation / ε, backward or None), computed from scratch."""
    out = {}
    xs = M.build_inputs(s)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", NonFiniteWarning)
        for key in (s.kinds if loaded is None else ["loaded"]):
            model = M.build_model(key, s, loaded)
            trace = run(model, xs, influence=True, layer=layer)
            pert = perturbation(model, trace.xs, eps=M.EPS, layer=layer) / M.EPS
            out[key] = (trace, pert, backward_flow(trace) if s.backward else None)
    return out


def assert_image(shown: np.ndarray, a: np.ndarray, levels) -> None:
    """Linear within the levels; an unbounded state past SYMLOG_ABOVE on the symmetric log
    scale up to its largest finite value (the frames' rule, applied to arrays computed here)."""
    with np.errstate(all="ignore"):
        finite = np.abs(a[np.isfinite(a)])
        top = float(finite.max()) if finite.size else 0.0
        if levels[1] > 1.0 and top > SYMLOG_ABOVE:
            L = float(symlog(top))
            want = np.clip(symlog(np.asarray(a.T, np.float64)), -L, L).astype(shown.dtype)
            np.testing.assert_allclose(shown, want, rtol=1e-6)
            return
        want = np.clip(np.asarray(a.T, shown.dtype), float(levels[0]), float(levels[1]))
    np.testing.assert_array_equal(shown, want)


def assert_curve(item, engine) -> None:
    """Positive values drawn exactly; zeros (underflow), inf/NaN past an overflow as gaps or clipped."""
    x, y = item.getOriginalDataset()
    engine = np.asarray(engine, np.float64)
    assert y is not None and y.shape == engine.shape
    ok = np.isfinite(engine) & (engine > 0)
    np.testing.assert_array_equal(y[ok], engine[ok])
    assert not np.isfinite(y[np.isnan(engine)]).any()  # NaN: not drawn


def assert_window_shows_the_engine(window) -> None:
    c = window.controller
    s, r = c.settings, c.result
    assert r.complete and r.settings == s
    want = engine_arrays(s, c.loaded, c.layer)
    compare = len(r.cells) > 1
    state, gates, fading = window.panels["statePanel"], window.panels["gatePanel"], window.panels["fadingPanel"]
    for cr in r.cells:
        trace, pert, back = want[cr.key]
        prefix = f"{cr.label}/" if compare else ""
        # the colour map saturates outside its levels (an unbounded ReLU state); inside, exact
        assert_image(state.shownData(prefix + "h"), trace.h, cr.h_levels())
        if trace.c is not None and not compare:
            assert_image(state.shownData("c"), trace.c, cr.c_levels())
        for g, arr in trace.gates.items():
            np.testing.assert_array_equal(gates.shownData(prefix + g), arr.T)
        curves = fading.curves()
        infl = trace.influence.copy()
        if trace.nonfinite is not None:
            infl[trace.nonfinite.t:] = np.nan
        assert_curve(curves[prefix + "influence"], infl)
        # drawn where float64 resolves it and h has not overflowed (the frame's rule, applied
        # to the arrays computed here)
        nf = trace.nonfinite.t if trace.nonfinite is not None else None
        assert_curve(curves[prefix + "perturbation"], trusted_perturbation(pert, trace.h, nf))
        if back is not None:
            assert curves[prefix + "backward"].isVisible()
            assert_curve(curves[prefix + "backward"], back)
        else:
            assert not curves[prefix + "backward"].isVisible()


class WindowMachine(RuleBasedStateMachine):
    qtbot = None  # set by the test

    @initialize()
    def start(self):
        self.c = Controller()
        self.c.recompute()
        self.w = MainWindow(self.c)
        self.qtbot.addWidget(self.w)
        self.w.resize(1400, 900)
        self.w.show()
        self.c.setRevealAll(True)

    @rule(cell=st.sampled_from(list(M.CELL_CHOICES)))
    def choose_cell(self, cell):
        self.c.update(cell=cell)

    @rule(H=st.integers(1, 24), D=st.integers(1, 3))
    def sizes(self, H, D):
        self.c.update(hidden_size=H, input_size=D)

    @rule(name=st.sampled_from(["input_scale", "recurrent_scale", "bias_shift", "forget_bias", "update_bias"]),
          value=st.sampled_from([-1.0, 0.0, 0.5, 1.5, 3.0]))
    def slider(self, name, value):
        self.c.update(**{name: value})

    @rule(T=st.sampled_from([1, 3, 30, 400, 1500]))
    def length(self, T):
        self.c.update(T=T)

    @rule(signal=st.sampled_from(sorted(M.SIGNALS)))
    def signal(self, signal):
        self.c.update(signal=signal)

    @rule(t=st.integers(0, 1500))
    def step(self, t):
        self.c.setStep(t)

    @rule()
    def toggle_backward(self):
        self.c.update(backward=not self.c.settings.backward)

    @rule(kind=st.sampled_from(["rnn", "gru", "lstm"]), layers=st.integers(1, 2), seed=st.integers(0, 9))
    def load(self, kind, layers, seed):
        cells = [init_cell(kind, 2, 5, seed=seed)] + [init_cell(kind, 5, 5, seed=seed + k) for k in range(1, layers)]
        self.c.app.use_model(cells[0] if layers == 1 else Stack(tuple(cells)), f"m{seed}.npz")

    @precondition(lambda self: self.c.loaded is not None)
    @rule(layer=st.integers(0, 1))
    def choose_layer(self, layer):
        self.c.setLayer(min(layer, len(getattr(self.c.loaded, "layers", [0])) - 1))

    @rule()
    def unload(self):
        self.c.update(seed=(self.c.settings.seed + 1) % 3)

    @rule()
    def costly(self):  # goes to the worker pool whole
        self.c.update(cell="lstm", T=1500, hidden_size=128, input_size=1)

    @rule(ms=st.sampled_from([0, 5, 30]))
    def let_the_loop_run(self, ms):
        self.qtbot.wait(ms)

    @rule()
    def wait_until_idle(self):
        self.qtbot.waitUntil(lambda: self.c.idle, timeout=300_000)
        assert_window_shows_the_engine(self.w)

    def teardown(self):
        if getattr(self, "c", None) is None:
            return
        self.qtbot.waitUntil(lambda: self.c.idle, timeout=300_000)
        assert_window_shows_the_engine(self.w)
        self.w.close()


def test_window_machine(qtbot):
    WindowMachine.qtbot = qtbot
    run_state_machine_as_test(WindowMachine, settings=settings(
        max_examples=6, stateful_step_count=8, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
