"""The cell diagram's model (rnnviz.core.diagram): its values are the engine's arrays."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core import model as M
from rnnviz.core.diagram import cell_model, formula_groups
from rnnviz.core.format import fmt
from rnnviz.engine import SEED_EXAMPLE_INPUTS, seed_example

KEYS = ["rnn_tanh", "rnn_relu", "gru", "lstm"]


def _result(key, **kw):
    return M.compute(M.Settings(cell=key, hidden_size=3, T=6, signal="sine", **kw))


@pytest.mark.parametrize("key", KEYS)
def test_wire_values_are_the_engine_arrays(key):
    cr = _result(key).cells[0]
    tr = cr.trace
    t, u = 3, 2
    d = cell_model(cr).at(t, u)
    v = {k: val.vector for k, val in d.values.items()}
    np.testing.assert_allclose(v["in:x"], tr.xs[t])
    np.testing.assert_allclose(v["in:h"], tr.h[t - 1])
    np.testing.assert_allclose(v["out:h"], tr.h[t])
    for g, arr in tr.gates.items():
        np.testing.assert_allclose(v[f"gate:{g}"], arr[t])
        assert d.values[f"gate:{g}"].scalar == pytest.approx(float(arr[t, u]))
    if tr.c is not None:
        np.testing.assert_allclose(v["in:c"], tr.c[t - 1])
        np.testing.assert_allclose(v["out:c"], tr.c[t])
        f, i, g, o = (tr.gates[k][t] for k in "figo")
        np.testing.assert_allclose(v["mul:f·c_prev"], f * tr.c[t - 1], rtol=1e-6)
        np.testing.assert_allclose(v["mul:i·g"], i * g, rtol=1e-6)
        np.testing.assert_allclose(v["op:tanh(c)"], np.tanh(tr.c[t]), rtol=1e-6)
        np.testing.assert_allclose(v["mul:o·tanh(c)"], tr.h[t], rtol=1e-5, atol=1e-7)
    if "z" in tr.gates:
        z, n = tr.gates["z"][t], tr.gates["n"][t]
        np.testing.assert_allclose(v["op:(1 − z)"], 1 - z, rtol=1e-6)
        np.testing.assert_allclose(v["mul:(1 − z)·n"] + v["mul:z·h_prev"], tr.h[t], rtol=1e-5, atol=1e-7)
    assert d.values["out:h"].scalar == pytest.approx(float(tr.h[t, u]))
    # every wire leaves a node that exists and enters one that reads it
    ids = {n.id for n in d.nodes}
    for e in d.edges:
        assert e.src in ids and e.dst in ids and e.src in d.node(e.dst).inputs
        for a, b in zip(e.points, e.points[1:]):
            assert a[0] == b[0] or a[1] == b[1]  # axis-parallel pipes


def test_reset_before_gru_multiplies_r_and_h_before_the_candidate():
    s = M.Settings(cell="gru", hidden_size=3, T=5, signal="sine")
    import dataclasses

    from rnnviz.engine import run

    cell = dataclasses.replace(M.base_cell("gru", s), reset_after=False)

    tr = run(cell, M.build_inputs(s))
    cr = M.CellResult("gru", "GRU", cell, tr)
    d = cell_model(cr).at(2, 1)
    node = d.node("gate:n")
    assert node.inputs == ("in:x", "mul:r·h_prev")
    np.testing.assert_allclose(d.values["mul:r·h_prev"].vector, tr.gates["r"][2] * tr.h[1], rtol=1e-6)


@pytest.mark.parametrize("key", ["gru", "lstm"])
def test_formulas_are_the_equation_panels_rows(key):
    cr = _result(key).cells[0]
    d = cell_model(cr).at(2, 1)
    groups = formula_groups(cr, 2, 1)
    for g in cr.trace.gates:
        rows = d.formula(f"gate:{g}")
        assert rows == groups[("pre", g)]
        # its last line ends in the value the diagram writes on the block
        assert rows[-1].rhs.plain.endswith(d.values[f"gate:{g}"].text)
    last = d.formula("out:h")[-1].rhs.plain
    assert last.endswith(d.values["out:h"].text)


def test_seed_example_every_number_of_the_loop_is_on_the_diagram():
    """x_t, h_{t−1}, the combined input and h_t of the seed document's loop, both units."""
    r = M.compute(M.seed_example_settings())
    cr = r.cells[0]
    cell = seed_example(0)
    model = cell_model(cr)
    h = np.zeros(2)
    for t, x in enumerate(SEED_EXAMPLE_INPUTS):
        combined = cell.W_ih @ x + cell.W_hh @ h + cell.b_ih + cell.b_hh
        new = np.tanh(combined)
        d = model.at(t, 0)
        assert d.values["in:x"].text == fmt(x[0])
        assert d.values["in:h"].vector_text == "(" + ", ".join(fmt(v) for v in h) + ")"
        assert d.values["gate:h"].pre_text == "a = (" + ", ".join(fmt(v) for v in combined) + ")"
        assert d.values["out:h"].vector_text == "(" + ", ".join(fmt(v) for v in new) + ")"
        h = new


def test_a_session_view_may_bring_a_panel_forward():
    from rnnviz.core import session as CS
    from rnnviz.engine import InputError

    data = CS.load_lesson("inside-lstm")
    blob = CS.dumps_session(data)
    assert b'"panel": "diagramPanel"' in blob and CS.loads_session(blob).panel == "diagramPanel"
    plain = CS.dumps_session(data.replace(panel=None))
    assert b'"panel"' not in plain and CS.loads_session(plain).panel is None  # older files stay as they were
    with pytest.raises(InputError, match="view.panel"):
        CS.loads_session(blob.replace(b'"diagramPanel"', b'"no such; panel"'), "x.rnnviz")


@pytest.mark.parametrize("key", ["rnn_tanh", "lstm"])
def test_the_output_layer_is_y_right_of_h_with_the_layer_s_numbers(key):
    from rnnviz.engine.train.output import init_output, softmax

    cr = _result(key).cells[0]
    h = cr.trace.h
    assert "out:y" not in {n.id for n in cell_model(cr).nodes}  # no output layer: no y
    fc = init_output(3, 2, seed=1, activation="sigmoid")
    m = cell_model(cr, (fc, None))
    y = m.at(4, 0)
    assert y.node("out:y").inputs == ("out:h",) and y.node("out:y").pos[0] > y.node("out:h").pos[0]
    np.testing.assert_allclose(y.values["out:y"].vector, fc.forward(h[4].astype(np.float64)))
    assert y.values["out:y"].levels == (0.0, 1.0) and y.values["out:y"].scalar is None  # two outputs: a strip
    rows = y.formula("out:y")
    assert rows[0].rhs.plain == "σ(W_hy h_5 + b_y)"
    # classes: the probabilities, and the most likely class written with its probability
    logits = init_output(3, 3, seed=2)
    m = cell_model(cr, (logits, ("a", "b", " ")))
    v = m.at(2, 1).values["out:y"]
    p = softmax(logits.logits(h[2].astype(np.float64)))
    np.testing.assert_allclose(v.vector, p)
    k = int(np.argmax(p))
    assert v.scalar == pytest.approx(p[k]) and v.text == f"'{'ab␣'[k]}' {fmt(p[k])}"
