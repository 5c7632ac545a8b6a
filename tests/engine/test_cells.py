"""The cell-kind plug-ins: every registered kind is complete, and its adjoint is the transpose
of its tangent (checked against each other and against finite differences)."""

from __future__ import annotations

import dataclasses
import inspect
import math

import numpy as np
import pytest
from reference import IDS, VARIANTS, make, ref_step

from rnnviz.engine import run
from rnnviz.engine.cells import (
    CELL_KINDS,
    CHOICES,
    COMPARE,
    GATES,
    KINDS,
    Adjoint,
    CellKind,
    Choice,
    GateInfo,
    LayerRecord,
    Stack,
    choice_of,
    init_cell,
    kind_of,
)
from rnnviz.engine.explain import explain

#: VARIANTS plus Keras's other activations, which take the kinds' general (slow) paths.
ALL_VARIANTS = VARIANTS + [
    dict(kind="gru", nonlinearity="relu", recurrent_activation="hard_sigmoid"),
    dict(kind="lstm", nonlinearity="linear", recurrent_activation="hard_sigmoid"),
]
ALL_IDS = IDS + ["gru-keras", "lstm-keras"]


def make_any(kind, recurrent_activation=None, D=3, H=4, seed=0, **kw):
    cell = make(kind, D=D, H=H, seed=seed, scale=1.5, **kw)
    return cell if recurrent_activation is None else cell.with_params(recurrent_activation=recurrent_activation)


def recorded(cell, T=6, seed=1):
    """A float64 run (its record keeps what the tangent needs) with a non-zero initial state."""
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(T, cell.input_size))
    h0 = rng.normal(size=cell.hidden_size) * 0.5
    c0 = rng.normal(size=cell.hidden_size) * 0.5
    tr = run(cell, xs, h0=h0, c0=c0 if kind_of(cell).has_cell_state else None, dtype=np.float64)
    return tr.records[0], rng


def state_before(rec, t):
    h = rec.h0 if t == 0 else rec.h[t - 1]
    c = None if rec.c is None else (rec.c0 if t == 0 else rec.c[t - 1])
    return h, c


def one_step(cell, x, h, c):
    """(h', c') of one float64 step, through the engine's own forward."""
    tr = run(cell, x[None, :], h0=h, c0=c, influence=False, dtype=np.float64)
    return tr.h[0], (None if tr.c is None else tr.c[0])


def dot(a, b) -> float:
    return 0.0 if a is None or b is None else float(np.sum(a * b))


# ---------------------------------------------------------------- adjoint = tangentᵀ


@pytest.mark.parametrize("kw", ALL_VARIANTS, ids=ALL_IDS)
def test_vjp_is_the_transpose_of_the_jvp(kw):
    cell = make_any(**kw)
    kind = kind_of(cell)
    rec, rng = recorded(cell)
    k = kind.tangent_coeffs(rec)
    H, D, K = cell.hidden_size, cell.input_size, 3
    for t in range(rec.h.shape[0]):
        dx, dh = rng.normal(size=(D, K)), rng.normal(size=(H, K))
        dc = rng.normal(size=(H, K)) if kind.has_cell_state else None
        vh = rng.normal(size=(K, H))
        vc = rng.normal(size=(K, H)) if kind.has_cell_state else None
        oh, oc = kind.jvp(k, t, dx.copy(), dh.copy(), None if dc is None else dc.copy())
        adj = kind.vjp(k, t, vh, vc, full=True)
        assert isinstance(adj, Adjoint)
        # <J u, v> summed over the K directions paired with the K cotangent rows
        lhs = dot(oh, vh.T) + dot(oc, None if vc is None else vc.T)
        rhs = dot(dh, adj.h.T) + dot(dc, None if adj.c is None else adj.c.T) + dot(dx, (adj.a_ih @ cell.W_ih).T)
        assert math.isclose(lhs, rhs, rel_tol=1e-10, abs_tol=1e-10), (t, lhs, rhs)
        # without full, the state cotangents are the same numbers
        lean = kind.vjp(k, t, vh, vc)
        np.testing.assert_array_equal(lean.h, adj.h)
        if adj.c is not None:
            np.testing.assert_array_equal(lean.c, adj.c)


@pytest.mark.parametrize("kw", ALL_VARIANTS, ids=ALL_IDS)
def test_vjp_matches_finite_differences(kw):
    cell = make_any(**kw)
    kind = kind_of(cell)
    rec, rng = recorded(cell, T=5, seed=2)
    k = kind.tangent_coeffs(rec)
    H, D, eps = cell.hidden_size, cell.input_size, 1e-6
    for t in range(rec.h.shape[0]):
        x, (h, c) = rec.x[t], state_before(rec, t)
        vh = rng.normal(size=(1, H))
        vc = rng.normal(size=(1, H)) if kind.has_cell_state else None
        adj = kind.vjp(k, t, vh, vc, full=True)

        def loss(x_, h_, c_):
            h2, c2 = one_step(cell, x_, h_, c_)
            return dot(h2, vh[0]) + dot(c2, None if vc is None else vc[0])

        def fd(direction_of):
            return (loss(*direction_of(eps)) - loss(*direction_of(-eps))) / (2 * eps)

        u = rng.normal(size=H)
        assert fd(lambda e: (x, h + e * u, c)) == pytest.approx(float(adj.h[0] @ u), rel=1e-6, abs=1e-8)
        ux = rng.normal(size=D)
        assert fd(lambda e: (x + e * ux, h, c)) == pytest.approx(float(adj.a_ih[0] @ cell.W_ih @ ux), rel=1e-6,
                                                                  abs=1e-8)
        if kind.has_cell_state:
            uc = rng.normal(size=H)
            assert fd(lambda e: (x, h, c + e * uc)) == pytest.approx(float(adj.c[0] @ uc), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("kw", ALL_VARIANTS, ids=ALL_IDS)
def test_projection_cotangents_are_the_bias_gradients(kw):
    # b_ih enters exactly where W_ih x does, b_hh where W_hh h_in does: their gradients are
    # a_ih and a_hh, the pieces the parameter gradients of BPTT are built from.
    cell = make_any(**kw)
    kind = kind_of(cell)
    rec, rng = recorded(cell, T=4, seed=3)
    k = kind.tangent_coeffs(rec)
    H, eps = cell.hidden_size, 1e-6
    for t in range(rec.h.shape[0]):
        x, (h, c) = rec.x[t], state_before(rec, t)
        vh = rng.normal(size=(1, H))
        vc = rng.normal(size=(1, H)) if kind.has_cell_state else None
        adj = kind.vjp(k, t, vh, vc, full=True)
        for name, a in (("b_ih", adj.a_ih), ("b_hh", adj.a_hh)):
            u = rng.normal(size=kind.blocks * H)

            def loss(e, name=name, u=u):
                moved = cell.with_params(**{name: getattr(cell, name) + e * u})
                h2, c2 = one_step(moved, x, h, c)
                return dot(h2, vh[0]) + dot(c2, None if vc is None else vc[0])

            fd = (loss(eps) - loss(-eps)) / (2 * eps)
            assert fd == pytest.approx(float(a[0] @ u), rel=1e-6, abs=1e-8), (name, t)


@pytest.mark.parametrize("kw", VARIANTS, ids=IDS)
def test_jvp_matches_the_reference_step(kw):
    cell = make_any(**kw)
    kind = kind_of(cell)
    rec, rng = recorded(cell, T=4, seed=4)
    k = kind.tangent_coeffs(rec)
    eps = 1e-6
    for t in range(rec.h.shape[0]):
        x, (h, c) = rec.x[t], state_before(rec, t)
        c_ref = np.zeros(cell.hidden_size) if c is None else c
        dx, dh = rng.normal(size=(cell.input_size, 1)), rng.normal(size=(cell.hidden_size, 1))
        dc = rng.normal(size=(cell.hidden_size, 1)) if kind.has_cell_state else None
        oh, oc = kind.jvp(k, t, dx.copy(), dh.copy(), None if dc is None else dc.copy())
        dcv = 0.0 if dc is None else dc[:, 0]
        up = ref_step(cell, x + eps * dx[:, 0], h + eps * dh[:, 0], c_ref + eps * dcv)
        dn = ref_step(cell, x - eps * dx[:, 0], h - eps * dh[:, 0], c_ref - eps * dcv)
        np.testing.assert_allclose(oh[:, 0], (up[0] - dn[0]) / (2 * eps), rtol=1e-6, atol=1e-8)
        if oc is not None:
            np.testing.assert_allclose(oc[:, 0], (up[1] - dn[1]) / (2 * eps), rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- every kind is complete


@pytest.mark.parametrize("name", list(CELL_KINDS))
def test_every_registered_kind_provides_every_piece(name):
    kind = CELL_KINDS[name]
    assert isinstance(kind, CellKind) and kind.name == name and kind_of(name) is kind
    for f in dataclasses.fields(CellKind):
        assert getattr(kind, f.name) is not None, f.name
        if f.type == "Callable":
            assert callable(getattr(kind, f.name)), f.name
    # layout and gate metadata
    assert kind.blocks >= 1 and len(kind.gates) in (0, kind.blocks)
    for g in kind.gates:
        assert isinstance(g, GateInfo) and g.name and g.title and g.short_title
        assert g.role in ("write", "erase", "candidate", "output")
        lo, hi = g.range
        assert lo < hi
        assert (g.meaning is None) == (g.short_meaning is None) == (g.role == "candidate")
    names = kind.gate_names
    assert sorted(kind.display_order) == sorted(names) and sorted(kind.keras_gate_order) == sorted(names)
    candidates = [g for g in kind.display_order if kind.gate(g).role == "candidate"]
    assert kind.display_order[len(kind.display_order) - len(candidates):] == tuple(candidates)
    assert set(kind.bias_sliders.values()) <= set(names)
    assert kind.choices and all(isinstance(c, Choice) and c.kind == name for c in kind.choices)
    assert isinstance(kind.has_cell_state, bool)

    # the functions, on a small cell
    cell = init_cell(name, 2, 3, seed=1)
    assert cell.gates == names and kind_of(cell) is kind and kind_of(Stack((cell,))) is kind
    tr = run(cell, np.random.default_rng(0).normal(size=(5, 2)), dtype=np.float64)
    rec = tr.records[0]
    assert isinstance(rec, LayerRecord) and rec.h.shape == (5, 3)
    assert (rec.c is not None) == kind.has_cell_state
    assert set(tr.gates) == set(names) and np.all(np.isfinite(tr.influence))
    k = kind.tangent_coeffs(rec)
    dh, dc = kind.jvp(k, 1, None, np.ones((3, 1)), np.ones((3, 1)) if kind.has_cell_state else None)
    assert dh.shape == (3, 1)
    adj = kind.vjp(k, 1, np.ones((2, 3)), np.ones((2, 3)) if kind.has_cell_state else None, full=True)
    assert adj.h.shape == (2, 3) and adj.a_ih.shape == adj.a_hh.shape == (2, kind.blocks * 3)
    out = np.zeros(5)
    v = np.ones(3)
    assert isinstance(kind.tangent_loop(k, v, v.copy() if kind.has_cell_state else None, 0.0, out), float)
    assert np.all(out[1:] > 0)
    lines = kind.equations(cell)
    assert lines and all(isinstance(s, str) for s in lines) and lines[-1].startswith("h_t = ")
    assert isinstance(kind.label_of(cell), str) and kind.label_of(cell)
    for g in names or ("h",):
        assert set(kind.param_symbols(cell, g)) == {"W_ih", "W_hh", "b_ih", "b_hh"}
    assert isinstance(kind.repr_options(cell), str) and name in repr(cell)
    e = explain(tr, 2, 1)
    assert set(e.gates) == set(names)
    # the module reads as the equations: a Notes section with forward, tangent and adjoint
    doc = inspect.getmodule(kind.forward).__doc__
    assert "Notes" in doc and "Tangent" in doc and "Adjoint" in doc


def test_registry_tables():
    assert KINDS == {"rnn": 1, "gru": 3, "lstm": 4}
    assert GATES == {"rnn": (), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}
    assert list(CHOICES) == ["rnn_tanh", "rnn_relu", "gru", "lstm"]
    assert [c.label for c in CHOICES.values()] == ["RNN (tanh)", "RNN (ReLU)", "GRU", "LSTM"]
    assert sorted(c.slot for c in CHOICES.values()) == list(range(len(CHOICES)))
    assert set(COMPARE) <= set(CHOICES)
    assert CELL_KINDS["gru"].display_order == ("r", "z", "n")
    assert CELL_KINDS["lstm"].display_order == ("i", "f", "o", "g")
    assert CELL_KINDS["lstm"].bias_sliders == {"forget_bias": "f"}
    assert CELL_KINDS["gru"].bias_sliders == {"update_bias": "z"}
    with pytest.raises(ValueError, match="expected rnn, gru or lstm"):
        kind_of("transformer")


@pytest.mark.parametrize("kw,key", [
    (dict(kind="rnn"), "rnn_tanh"),
    (dict(kind="rnn", nonlinearity="relu"), "rnn_relu"),
    (dict(kind="rnn", nonlinearity="linear"), "rnn_tanh"),  # no exact choice: the kind's first
    (dict(kind="gru"), "gru"),
    (dict(kind="gru", reset_after=False), "gru"),
    (dict(kind="lstm"), "lstm"),
])
def test_choice_of(kw, key):
    cell = init_cell(kw.pop("kind"), 1, 2, **kw)
    assert choice_of(cell) == key
    c = CHOICES[key]
    assert init_cell(c.kind, 1, 2, **c.options).kind == cell.kind


@pytest.mark.parametrize("kw", ALL_VARIANTS, ids=ALL_IDS)
def test_update_lines_reproduce_the_unit(kw):
    cell = make_any(**kw)
    tr = run(cell, np.random.default_rng(5).normal(size=(4, 3)), dtype=np.float64)
    for t in range(tr.T):
        for u in range(tr.H):
            e = explain(tr, t, u)
            for line in e.lines:
                total = sum(math.prod(f.value if f.result is None else f.result for f in term) for term in line.terms)
                assert math.isclose(total, line.value, rel_tol=1e-12, abs_tol=1e-12)
                if line.target == "c":
                    assert line.value == e.c
            assert (e.lines[-1].value if e.lines else e.pre["h"].value) == e.h
            for p in e.pre.values():
                assert set(p.symbols) == {"W_ih", "W_hh", "b_ih", "b_hh"}


def test_parameter_symbols_name_each_row():
    gru = init_cell("gru", 1, 2)
    assert [gru.symbol("W_hh", r) for r in range(6)] == ["W_hr"] * 2 + ["W_hz"] * 2 + ["W_hn"] * 2
    assert init_cell("lstm", 1, 2).symbol("b_ih", 7) == "b_io"
    rnn = init_cell("rnn", 1, 2)
    assert (rnn.symbol("W_ih", 1), rnn.symbol("b_ih")) == ("W_ih", "b_ih")
    assert rnn.with_params(b_hh=np.zeros(2), recurrent_bias=False).symbol("b_ih") == "b"


def test_the_engine_has_no_import_cycles():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("rnnviz")
    engine = sorted(m for m in graph.modules if m.startswith("rnnviz.engine"))
    cycles = [(a, b) for a in engine for b in engine
              if a < b and graph.chain_exists(a, b) and graph.chain_exists(b, a)]
    assert not cycles
