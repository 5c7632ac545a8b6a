"""A bidirectional layer in the window: both directions side by side, each in its own order."""

from pathlib import Path

import numpy as np
import pytest

from rnnviz.core import model as M
from rnnviz.engine.bidirectional import run_bidirectional
from rnnviz.io import load_weights
from rnnviz.io.session import SessionData, load_session

FIX = Path(__file__).resolve().parent.parent / "fixtures"
KERAS = FIX / "keras_bidirectional"


@pytest.fixture
def window(shown_window):
    return shown_window


def _open_with_fixture_input(window, name):
    c = window.controller
    assert window.openWeights(str(KERAS / f"{name}.keras"))
    assert c.waitForIdle()
    exp = np.load(KERAS / f"{name}.expected.npz")
    c.update(signal="custom", custom=tuple(map(tuple, exp["xs"].tolist())), T=exp["xs"].shape[0])
    assert c.waitForIdle()
    return c, exp


def test_both_directions_run_as_keras_ran_them(window):
    c, exp = _open_with_fixture_input(window, "lstm_concat")
    fwd, back = c.result.cells
    assert (fwd.key, back.key) == ("forward", "backward")
    assert fwd.label == "LSTM → forward" and back.label == "LSTM ← backward"
    tol = dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fwd.trace.h, exp["h_forward"], **tol)
    # the backward direction is shown in its own order: its step 1 reads x_T
    np.testing.assert_allclose(back.trace.h, exp["h_backward"][::-1], **tol)
    np.testing.assert_allclose(back.trace.xs, exp["xs"][::-1], **tol)
    # each heatmap draws its own direction's h; the chain names the rows by direction
    maps = {m.key: m for m in c.frame.state.maps}
    np.testing.assert_allclose(maps["LSTM ← backward/h"].array, back.trace.h)
    assert [r.short for r in c.frame.fading.rows] == ["fwd →", "bwd ←"]
    # what the backward direction's steps mean is said, with the numbers of this run
    T = exp["xs"].shape[0]
    note = next(n for n in c.result.notes() if n.startswith("bidirectional layer"))
    assert f"x{chr(0x2080 + T)} … x₁" in note and f"x{chr(0x2080 + T + 1)}₋ₜ" in note


def test_the_x1_curve_of_each_direction_is_that_of_the_input_it_reads_first(window):
    c, exp = _open_with_fixture_input(window, "lstm_concat")
    model = load_weights(KERAS / "lstm_concat.keras", bidirectional=True)
    ref = run_bidirectional(model, exp["xs"]).arrays()
    fwd, back = c.result.cells
    np.testing.assert_allclose(fwd.trace.influence, ref["influence_forward"], rtol=1e-4)
    # the engine's influence_backward is re-indexed to the input's order; the app's is the
    # backward direction's own (its x₁ is x_T)
    np.testing.assert_allclose(back.trace.influence, ref["influence_backward"][::-1], rtol=1e-4)


def test_a_weight_slider_acts_on_both_directions_and_rho_is_each_ones(window):
    c, _ = _open_with_fixture_input(window, "rnn_mul")
    before = [cr.model.W_hh.copy() for cr in c.result.cells]
    c.update(recurrent_scale=0.5)
    assert c.waitForIdle()
    for cr, w0 in zip(c.result.cells, before):
        np.testing.assert_allclose(cr.model.W_hh, 0.5 * w0)
    rhos = [c.spectralRadius(cr.key) for cr in c.result.cells]
    expected = [0.5 * max(abs(np.linalg.eigvals(w0.astype(np.float64)))) for w0 in before]
    np.testing.assert_allclose(rhos, expected, rtol=1e-6)
    assert rhos[0] != pytest.approx(rhos[1])
    status = window._statusForms[0]
    assert all(f"{cr.label}: " in status for cr in c.result.cells)
    assert all(f"ρ(W_hh) = {rho:.2f}" in status for rho in rhos)
    # one slider per weight would edit one direction only: the panel says why there are none
    assert "bidirectional" in window.controls.entryHint.text()


def test_a_session_keeps_both_directions_and_its_merge_mode(window, tmp_path):
    from rnnviz.core.session import SCHEMA

    c, exp = _open_with_fixture_input(window, "gru_sum")
    path = tmp_path / "bi.rnnviz"
    assert window.session.saveAs(str(path))
    data = load_session(path, SCHEMA)
    model = load_weights(KERAS / "gru_sum.keras", bidirectional=True)
    assert data.loaded.merge_mode == "sum"
    for (name, a), (_, b) in zip(data.loaded.directions, model.directions):
        np.testing.assert_allclose(a.W_hh, b.W_hh)
        np.testing.assert_allclose(a.W_ih, b.W_ih)
    again = M.compute(data.settings, data.loaded)
    np.testing.assert_allclose(again.cells[1].trace.h, c.result.cells[1].trace.h, rtol=1e-6)


def test_a_session_with_directions_and_layers_is_one_clear_line(tmp_path):
    import json

    from rnnviz.core.session import SCHEMA
    from rnnviz.engine.errors import InputError
    from rnnviz.io.session import dumps_session

    model = load_weights(KERAS / "gru_sum.keras", bidirectional=True)
    s = M.Settings(cell="gru", hidden_size=model.backward.hidden_size, input_size=model.input_size)
    doc = json.loads(dumps_session(SessionData(settings=s, loaded=model, loaded_name="gru_sum.keras"), SCHEMA))
    assert set(doc["model"]["directions"]) == {"forward", "backward"}
    doc["model"]["layers"] = [doc["model"]["directions"]["forward"]]
    bad = tmp_path / "bad.rnnviz"
    bad.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="a bidirectional model is one layer") as info:
        load_session(bad, SCHEMA)
    assert "\n" not in str(info.value)


STACK = FIX / "bidirectional_stack"


def test_a_bidirectional_stack_shows_the_chosen_layer_with_x1_through_the_layers_below(window, tmp_path, monkeypatch):
    from rnnviz.core.session import SCHEMA

    monkeypatch.setattr(window, "showError", lambda title, text: None)
    c = window.controller
    exp = np.load(STACK / "torch_lstm2.expected.npz")
    assert window.openWeights(str(STACK / "torch_lstm2.npz"))
    assert c.waitForIdle()
    c.update(signal="custom", custom=tuple(map(tuple, exp["xs"].tolist())), T=exp["xs"].shape[0])
    assert c.waitForIdle()
    fwd, back = c.result.cells
    assert fwd.label == "LSTM layer 2 of 2 → forward"
    np.testing.assert_allclose(fwd.trace.h, exp["h"][:, :4], atol=1e-5)
    np.testing.assert_allclose(back.trace.h, exp["h"][::-1, 4:], atol=1e-5)
    np.testing.assert_allclose(fwd.trace.influence, exp["influence_forward"], rtol=1e-4)
    np.testing.assert_allclose(back.trace.influence, exp["influence_backward"][::-1], rtol=1e-4)
    assert window.controls.layerCombo.count() == 2 and window.controls.layerRow.isVisibleTo(window)
    assert window.controls.hiddenSpin.value() == 4 and window.controls.inputSpin.value() == 8
    c.setLayer(0)
    assert c.waitForIdle()
    assert c.result.cells[0].label == "LSTM layer 1 of 2 → forward"
    assert window.controls.inputSpin.value() == 3
    # export has no file format for two directions per layer: one line, the session stays
    assert not window.exportWeights(str(tmp_path / "out.npz"))
    path = tmp_path / "stack.rnnviz"
    assert window.session.saveAs(str(path))
    data = load_session(path, SCHEMA)
    assert data.layer == 0 and len(data.loaded.layers) == 2
    again = M.compute(data.settings, data.loaded, data.layer)
    np.testing.assert_allclose(again.cells[1].trace.influence, c.result.cells[1].trace.influence, rtol=1e-6)


def test_exporting_a_bidirectional_layer_is_refused_in_a_dialog_not_a_crash(window, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(window, "showError", lambda title, text: shown.append(text))
    assert window.openWeights(str(KERAS / "gru_sum.keras"))
    assert window.controller.waitForIdle()
    assert not window.exportWeights(str(tmp_path / "out.npz"))
    assert len(shown) == 1 and "two directions" in shown[0] and "\n" not in shown[0]
    assert not (tmp_path / "out.npz").exists()


def test_the_head_of_a_bidirectional_model_reads_both_directions(window):
    from rnnviz.engine.train.output import softmax
    from rnnviz.ui import tokens

    c = window.controller
    assert window.openWeights(str(STACK / "torch_bigru_head.npz"))
    assert c.waitForIdle()
    exp = np.load(STACK / "torch_bigru_head.expected.npz")
    assert tokens.apply_tokens(c, " ".join(map(str, exp["ids"])), as_text=False) is None
    assert c.waitForIdle()
    row = window.panels["outputPanel"].row
    assert row is not None  # the head reads (T, 2H) = [h→ | h←], as the Linear did
    np.testing.assert_allclose(row.y, softmax(exp["y"]), atol=1e-5)


def test_the_backward_run_s_axes_read_the_text_last_first(window):
    c, exp = _open_with_fixture_input(window, "gru_sum")
    c.update(text="abcdef")
    assert c.waitForIdle()
    assert c.settings.text == "abcdef"
    state = window.statePanel
    axes = {h.cell_label: h.plot.getAxis("bottom").symbols for h in state._heat.values()}
    assert axes["GRU → forward"] == tuple("abcdef")
    assert axes["GRU ← backward"] == tuple("fedcba")  # its step 1 reads x_T
    assert window.fadingPanel.plot.getAxis("bottom").symbols is None  # one axis for both orders: numbers
