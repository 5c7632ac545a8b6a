"""Display frames agree with the engine's arrays, and hold formatted, Qt-free values."""

import math
import re
import subprocess
import sys

import numpy as np
import pytest

from rnnviz.core import model as M
from rnnviz.core.equations import Row, brief, check, collapse
from rnnviz.core.format import (
    Frag,
    Span,
    box_label,
    cell_value,
    decade_label,
    decade_ticks,
    fixed,
    fmt,
    fmt_percent,
    fmt_value,
    num,
    parse,
    rich,
)
from rnnviz.core.frames import (
    hold_range,
    MAX_COLUMNS,
    ViewState,
    _base_rho,
    build_frame,
    chain_shade,
    display_image,
    entry_readout,
    range_step_out,
    spectral_radius,
)
from rnnviz.engine.explain import explain


def frame_for(view=None, **settings):
    s = M.Settings(**settings)
    return build_frame(M.compute(s), view or ViewState(backward=s.backward))


# ---------------------------------------------------------------- heatmaps


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "gru", "lstm"])
def test_state_maps_are_the_engine_arrays(cell):
    f = frame_for(cell=cell, T=25, hidden_size=5, signal="sine")
    cr = f.result.cells[0]
    maps = {m.key: m for m in f.state.maps}
    assert list(maps) == (["h", "c"] if cell == "lstm" else ["h"])
    for name, m in maps.items():
        engine = getattr(cr.trace, name)
        assert m.image.dtype == np.float32 and m.image.flags.c_contiguous
        assert m.block == 1 and m.image.shape == (5, 25)
        np.testing.assert_array_equal(m.image, np.clip(engine.T, *m.levels).astype(np.float32))
        assert m.levels == cr.levels[name] and all(math.isfinite(v) for v in m.levels)
        assert m.cmap == "diverging" and m.colour == f"cell:{cell}"
        assert m.array is engine


def test_compare_state_keys_and_titles():
    f = frame_for(cell="compare", T=10, hidden_size=4)
    assert [m.key for m in f.state.maps] == ["RNN (tanh)/h", "GRU/h", "LSTM/h"]
    assert f.state.maps[1].title == "GRU: hidden state h"
    assert f.state.maps[1].cell_label == "GRU"


def test_nan_is_named_in_the_title():
    f = frame_for(cell="rnn_relu", recurrent_scale=1000.0, signal="constant", T=300, hidden_size=8)
    m = f.state.maps[0]
    assert np.isnan(f.result.cells[0].trace.h).any() == m.title.endswith(" · grey = NaN")
    assert all(math.isfinite(v) for v in m.levels)


def test_long_runs_are_block_averaged():
    a = np.arange(5000 * 2, dtype=np.float32).reshape(5000, 2) / 1e4
    img, k = display_image(a, (-1.0, 1.0))
    assert k == math.ceil(5000 / MAX_COLUMNS) and img.shape == (2, math.ceil(5000 / k))
    np.testing.assert_allclose(img[:, 0], a[:k].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(img[:, -1], a[(5000 // k) * k:].mean(axis=0), rtol=1e-6)


@pytest.mark.parametrize("cell,order", [("gru", ["r", "z", "n"]), ("lstm", ["i", "f", "o", "g"])])
def test_gate_maps_levels_and_bars(cell, order):
    f = frame_for(cell=cell, T=12, hidden_size=3, signal="noise", view=ViewState(step=7))
    tr = f.result.cells[0].trace
    maps = f.gates.maps
    assert list(maps) == order
    for g, m in maps.items():
        np.testing.assert_array_equal(m.image, np.clip(tr.gates[g].T, *m.levels).astype(np.float32))
        if g in ("n", "g"):
            assert m.levels == (-1.0, 1.0) and m.cmap == "candidate"
            assert m.lines[1].endswith("−1…1")
        else:
            assert m.levels == (0.0, 1.0) and m.cmap == "sequential"
        np.testing.assert_array_equal(f.gate_step.values[g], tr.gates[g][7].astype(np.float64))
    assert f.gate_step.title == "gates at t = 8"
    assert maps["f" if cell == "lstm" else "z"].tooltip(2, 1, revealed=8).endswith(
        f"{cell_value(tr.gates['f' if cell == 'lstm' else 'z'][2, 1])} "
        f"({'forget gate' if cell == 'lstm' else 'update gate'})")
    assert maps[order[0]].tooltip(9, 0, revealed=8).endswith("not revealed yet")


def test_rnn_has_a_message_not_gates():
    f = frame_for(cell="rnn_tanh")
    assert f.gates.cells == () and "no gates" in f.gates.message_plain
    assert "b_hh" in f.gates.message_plain


# ---------------------------------------------------------------- fading


def test_fading_curves_ratios_and_shades():
    f = frame_for(cell="gru", T=40, hidden_size=6)
    cr = f.result.cells[0]
    fad = f.fading
    infl = cr.trace.influence
    row = fad.rows[0]
    np.testing.assert_allclose(row.ratio, infl / infl[0])
    np.testing.assert_array_equal(row.shade, chain_shade(infl / infl[0]))
    assert row.shade[0] == 1.0 and np.all((row.shade >= 0) & (row.shade <= 1))
    np.testing.assert_array_equal(fad.curves["influence"].y, infl)
    np.testing.assert_array_equal(fad.curves["perturbation"].y, cr.perturbation)
    assert fad.curves["backward"].y.size == 0 and not fad.curves["backward"].visible
    # the y range holds every drawn value; the ticks are labelled decades inside it
    y0, y1 = fad.yrange
    for name in ("influence", "perturbation"):
        logs = fad.curves[name].log_shown
        logs = logs[np.isfinite(logs)]
        assert y0 <= logs.min() and logs.max() <= y1
    assert fad.ticks and all(y0 <= v <= y1 and label == decade_label(v) for v, label in fad.ticks)
    assert row.box_labels[0] == "100%" and row.box_labels[5] == box_label(row.ratio[5])
    assert fad.computing is None


def test_a_held_range_grows_and_lets_go_when_too_loose():
    assert hold_range(None, (-3.0, 0.5)) == (-3.0, 0.5)
    assert hold_range((-3.0, 0.5), (-3.5, 0.25)) == (-3.5, 0.5)  # grown
    assert hold_range((-3.5, 0.5), (-3.0, 0.5)) == (-3.5, 0.5)  # held: 0.5 blank of a 3.5 span
    # a sweep back up would leave 12 of 6 decades blank: the curves' own range instead
    assert hold_range((-18.0, 0.9), (-6.0, 0.3)) == (-6.0, 0.3)


def test_fading_step_and_status():
    f = frame_for(cell="rnn_tanh", T=30, view=ViewState(step=11))
    infl = f.result.cells[0].trace.influence
    st = f.fading_step
    assert st.current == 11 and st.revealed == 12
    assert st.markers[0] == pytest.approx((12.0, math.log10(infl[11])))
    assert st.value_text == f"{fmt_value(infl[11])}  ({fmt_percent(infl[11] / infl[0])})"
    assert "t = 12" in st.status.plain and fmt_percent(infl[11] / infl[0]) in st.status.plain
    assert f.with_view(reveal_all=True).fading_step.revealed == 30
    tip = f.fading.tooltip(4, st.revealed)
    assert fmt_value(infl[4]) in tip and "not revealed" not in tip
    assert "not revealed yet" in f.fading.tooltip(20, st.revealed)


@pytest.mark.parametrize("settings,side", [(dict(cell="rnn_relu", recurrent_scale=3.0, T=60), "above"),
                                           (dict(cell="rnn_tanh", T=30), "below")])
def test_the_value_label_has_room_beside_every_marker(settings, side):
    """Above a rising curve, below a falling one: the range grows so that a label of the given
    share of the plot's height fits there at every step, the extreme one included."""
    f = frame_for(**settings)
    fad = f.fading
    infl = f.result.cells[0].trace.influence
    logs = fad.curves["influence"].log_shown
    low, high = fad.label_extent
    if side == "above":  # the exploding lesson: the curve climbs to the top of the range
        assert high == pytest.approx(np.nanmax(logs)) and fad.yrange[1] - high < 0.15 * np.ptp(fad.yrange)
    else:  # x₁ fades: it falls to the bottom
        assert low == pytest.approx(np.nanmin(logs)) and high is None
    share = 0.12
    y0, y1 = fad.label_range(share)
    assert y0 <= fad.yrange[0] and y1 >= fad.yrange[1]
    for step in range(1, len(infl)):
        st = f.with_view(step=step).fading_step
        ly = st.value_pos[1]
        above = st.value_anchor[1] > 0.5
        assert above == (infl[step] > infl[0])
        room = (y1 - ly) if above else (ly - y0)
        assert room >= share * (y1 - y0) - 1e-9, step
    assert st.value_forms == (st.value_text, fmt_value(infl[-1]))
    assert frame_for(cell="compare", T=20).fading.label_extent == (None, None)  # no value label


def test_backward_curve_follows_the_toggle():
    f = frame_for(cell="lstm", T=20, backward=True)
    back = f.result.cells[0].backward
    assert f.fading.backward and f.fading.curves["backward"].visible
    np.testing.assert_array_equal(f.fading.curves["backward"].y, back)
    assert any(key == "backward" for key, _ in f.fading.legend)
    off = f.with_view(backward=False)
    assert not off.fading.curves["backward"].visible
    assert off.fading is not f.fading and off.with_view(backward=True).fading is f.fading  # cached per toggle


def test_overflow_is_clipped_and_marked():
    f = frame_for(cell="rnn_relu", recurrent_scale=1000.0, signal="constant", T=300, hidden_size=8,
                  view=ViewState(reveal_all=True, step=299))
    fad = f.fading
    row = fad.rows[0]
    assert row.overflow_from is not None and row.bad[row.overflow_from:].all()
    assert np.isnan(row.ratio[row.overflow_from:]).all()
    assert np.isnan(row.shade[row.overflow_from:]).all()
    assert f.fading_step.overflow_text is not None and fad.yrange[1] > math.log10(fad.top_clip)


# ---------------------------------------------------------------- frames


def test_derived_frames_share_the_result_part():
    f = frame_for(cell="gru", T=20)
    g = f.at_step(5)
    assert g.base is f.base and g.state is f.state and g.fading is f.fading
    assert g.step == 5 and g.at_step(5) is g
    assert f.at_step(1000).step == 19  # clamped to the run
    u = g.with_unit(3)
    assert u.unit == 3 and u.base is f.base and u.gate_step is not g.gate_step


# ---------------------------------------------------------------- equations


def _products_sum(line: str) -> float:
    """Σ a·b of a written-out line like 'tanh( (0.5)·(0.1) + 0.2 + … )'."""
    body = line[line.index("(") + 1 : line.rindex(")")]
    total = 0.0
    for term in body.split(" + "):
        term = term.strip().strip("()") if term.count("(") != term.count(")") else term.strip()
        factors = [parse(x) for x in re.split(r"·", term.replace("(", "").replace(")", ""))]
        total += float(np.prod(factors))
    return total


def test_equation_lines_reproduce_the_products():
    s = M.Settings(cell="rnn_tanh", hidden_size=2, input_size=1, T=3, signal="seed", single_bias=True)
    r = M.compute(s)
    for t in range(3):
        for u in range(2):
            eq = build_frame(r, ViewState(step=t, unit=u)).equation
            e = explain(r.cells[0].trace, t, u)
            plain = [(row.lhs.plain, row.rhs.plain) for row in eq.numbers]
            products = [rhs for lhs, rhs in plain if not lhs and "·" in rhs and "=" not in rhs]
            assert len(products) == 1
            assert _products_sum(products[0]) == pytest.approx(e.pre["h"].pre, abs=2e-3)
            last = plain[-1][1]
            # the argument has a digit more than the result, so tanh of it gives the result
            assert last.endswith(f"= {fmt(e.h)}") and f"tanh({fmt(e.pre['h'].pre, 4)})" in last
            assert check(eq.numbers) == []
            assert eq.head == f"RNN (tanh) — unit {u}, step t = {t + 1}"
            assert f"h_{t + 1}[{u}] = {e.h:.8g}" in eq.exact


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_equation_lines_show_the_gate_values(cell):
    f = frame_for(cell=cell, T=8, hidden_size=5, signal="sine", view=ViewState(step=4, unit=2))
    tr = f.result.cells[0].trace
    eq = f.equation
    text = "\n".join(f"{r.lhs.plain} = {r.rhs.plain}" for r in eq.numbers)
    for g, a in tr.gates.items():
        assert f"= {fmt(a[4, 2])}" in text
    assert text.rstrip().endswith(f"= {fmt(tr.h[4, 2])}")
    roles = {s.role for r in eq.numbers for s in r.lhs} | {s.role for r in eq.numbers for s in r.rhs}
    assert {f"gate:{g}" for g in tr.gates} <= roles
    assert all(r.lhs.plain for r in collapse(eq.numbers))
    assert eq.general and all(r.muted for r in eq.general)


def test_compare_equation_tab():
    f = frame_for(cell="compare", T=6, hidden_size=3)
    assert f.equation.key == "gru"
    assert f.with_view(equation_key="lstm").equation.key == "lstm"
    assert f.with_view(equation_key="nonesuch").equation.key == "rnn_tanh"


# ---------------------------------------------------------------- readouts


def test_rho_readout_is_cached_and_scaled():
    s = M.Settings(cell="gru", hidden_size=6, recurrent_scale=2.0, seed=3)
    cell = M.base_cell("gru", s)
    before = _base_rho.cache_info().hits
    assert spectral_radius(s) == pytest.approx(2.0 * cell.spectral_radius())
    assert spectral_radius(s.replace(recurrent_scale=-0.5)) == pytest.approx(0.5 * cell.spectral_radius())
    assert _base_rho.cache_info().hits == before + 1
    f = build_frame(M.compute(s.replace(T=5)))
    assert f.rho.value.startswith(fixed(f.rho.rho, 2)) and f.rho.grows == (f.rho.rho > 1)
    assert f.rho.text(s).startswith("ρ(W_hh), largest gate block = ")


# ---------------------------------------------------------------- formatting


def test_number_formats():
    assert fmt(0.5) == "0.5" and fmt(-2.0) == "−2" and fmt(8.0234e27) == "8.02e27" and fmt(float("inf")) == "inf"
    assert parse(fmt(-0.1234)) == pytest.approx(-0.123)
    assert fmt_value(3.1e-4) == "3.10×10⁻⁴" and fmt_value(9.9999e-8) == "1.00×10⁻⁷"
    assert fmt_percent(0.022) == "2.2 %" and fmt_percent(float("nan")) == "—"
    assert box_label(1.0) == "100%" and box_label(2.0) == ">100%" and box_label(1e-7) == "≈0"
    assert cell_value(0.25) == "0.2500" and cell_value(float("-inf")) == "−inf"
    assert cell_value(8316.2) == "8316.2000" and cell_value(2.77e5) == "2.770×10⁵"  # one notation
    assert cell_value(-3.1e-7) == "−3.100×10⁻⁷" and cell_value(-0.5) == "−0.5000"
    assert fixed(-0.001) == "0.00" and fixed(-1.5) == "−1.50"
    assert decade_label(-3.0) == "10⁻³" and decade_label(1.0) == "10"
    assert decade_ticks(-10.2, 0.3) == [-10.0, -8.0, -6.0, -4.0, -2.0, 0.0]


def test_rich_text_keeps_roles_not_colours():
    frag = rich("h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}", ("r", "z", "n"))
    assert frag.plain == "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}"
    assert {s.role for s in frag} == {None, "gate:z", "gate:n"}
    big = num(8.0234e27, role="gate:f", bold=True)
    assert big.plain == "8.02e27" and [s.script for s in big] == [None, "sup"]
    assert all(s.role == "gate:f" and s.bold for s in big)
    assert (Frag("a") + Span("b", role="muted") + "c").plain == "abc"


def test_core_imports_no_qt():
    code = ("import sys, rnnviz.core.frames, rnnviz.core.equations, rnnviz.core.format; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')] "
            "+ [m for m in sys.modules if m.startswith('rnnviz.ui')]; print(bad); assert not bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_entry_readout_labels_and_values():
    s = M.Settings(cell="rnn_tanh", hidden_size=2, input_size=1, single_bias=True,
                   overrides=((("W_hh", 0, 1), 0.75),))
    r = entry_readout(s)
    cell = M.apply_overrides(M.base_cell("rnn_tanh", s), s.overrides)
    assert [e.label for e in r.sliders] == [n[3] for n in M.entry_names(cell)]
    by_key = {(e.param, e.row, e.col): e for e in r.sliders}
    assert by_key[("W_hh", 0, 1)].value == 0.75
    assert by_key[("W_ih", 1, 0)].value == float(cell.W_ih[1, 0])
    assert by_key[("b_ih", 0, 0)].group == "b" and "bias of the unit 0 of h" in by_key[("b_ih", 0, 0)].tooltip
    gru = entry_readout(M.Settings(cell="gru", hidden_size=1, input_size=1))
    assert any("update gate z of unit 0" in e.tooltip for e in gru.sliders)
    assert entry_readout(M.Settings(cell="compare")).sliders == ()
    big = entry_readout(M.Settings(cell="lstm", hidden_size=8))
    assert big.sliders == () and "352 weights" in big.hint  # 4·8·(1 + 8 + 2)


@pytest.mark.parametrize("sizes", [{}, dict(cell="compare", T=100, hidden_size=32)])
def test_fading_range_holds_still_while_a_slider_moves_a_little(sizes):
    """The y range snaps out to half-decades (coarser steps for a wide span): small weight
    changes move the curves, not the axis (which would otherwise be relabelled and redrawn at
    every tick of a drag; Compare's 50 decades crossed a half-decade at nearly every one)."""
    ranges, scales = set(), [1.0 + 0.01 * k for k in range(21)]  # a drag over 21 ticks
    for scale in scales:
        s = M.Settings(recurrent_scale=scale, **sizes)
        f = build_frame(M.compute(s), ViewState(step=s.T - 1), None, -1)
        y0, y1 = f.fading.yrange
        for c in f.fading.curves.values():
            logs = c.log_shown[np.isfinite(c.log_shown)] if c.y.size else np.zeros(0)
            assert logs.size == 0 or (y0 <= logs.min() and logs.max() <= y1)
        ranges.add(f.fading.yrange)
    assert len(ranges) <= len(scales) // 3  # unsnapped, every tick had a range of its own


def test_range_steps_grow_with_the_span():
    assert range_step_out(-3.2, 0.1) == (-3.5, 0.5)  # half-decades up to 10 decades
    assert range_step_out(-9.9, 0.0) == (-10.0, 0.0)
    assert range_step_out(-48.3, 0.2) == (-50.0, 5.0)  # 48.5 decades: steps of 5
    assert range_step_out(-221.0, 1.0) == (-240.0, 20.0)
    for lo, hi in ((-0.3, -0.1), (-7.7, 2.2), (-33.3, 0.0), (-150.0, -20.0), (-700.0, 300.0)):
        a, b = range_step_out(lo, hi)
        # the range holds the values, and each end moves out by less than a step (half a
        # decade, or at most an eighth of the span)
        room = max(0.5, (hi - lo) / 8) if hi - lo <= 2000 else 100.0
        assert a <= lo < a + room and b - room < hi <= b



@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "gru", "gru_before", "lstm"])
def test_every_equation_line_can_be_checked_by_hand(cell):
    """Redo every line's arithmetic from the digits shown: each product of shown factors
    gives the value shown for it, and each "=" holds (issue 8: "1.76·0.5" next to 0.882)."""
    kind = "gru" if cell == "gru_before" else cell
    for H, D, seed, signal in ((1, 1, 0, "noise"), (2, 1, 1, "sine"), (3, 2, 2, "noise"), (4, 1, 3, "impulse")):
        s = M.Settings(cell=kind, hidden_size=H, input_size=D, T=5, signal=signal, seed=seed)
        loaded = None
        if cell == "gru_before":
            from rnnviz.engine import init_cell

            loaded = init_cell("gru", D, H, seed=seed, reset_after=False)
        r = M.compute(s, loaded)
        for t in range(5):
            for u in range(H):
                rows = build_frame(r, ViewState(step=t, unit=u), loaded).equation.numbers
                assert check(rows) == [], (cell, H, D, t, u)
                assert check(brief(rows, inputs=True)) == [], (cell, H, D, t, u)  # a small panel's lines too
                assert any("·" in row.rhs.plain for row in rows if not row.muted)


def test_a_brief_state_update_leaves_out_the_step_that_applies_its_functions():
    """One line per equation (a small panel): "h = 0.552·tanh(1.80) = 0.523", the line that
    would wrap in a 1024×768 window without the middle "= 0.552·0.946"; the full form keeps it."""
    r = M.compute(M.Settings(cell="lstm", hidden_size=4, T=6, signal="sine"))
    rows = build_frame(r, ViewState(step=4, unit=3)).equation.numbers
    full = next(row.rhs.plain for row in collapse(rows) if row.lhs.plain.startswith("h_5"))
    short = next(row.rhs.plain for row in brief(rows) if row.lhs.plain.startswith("h_5"))
    assert full.count(" = ") == 2 and short.count(" = ") == 1 and "tanh(" in short
    assert full.startswith(short.split(" = ")[0]) and full.endswith(short.split(" = ")[1])


def test_the_seed_example_shows_checkable_digits():
    r = M.compute(M.seed_example_settings())
    rows = build_frame(r, ViewState(step=1, unit=0)).equation.numbers
    text = "\n".join(row.rhs.plain for row in rows)
    assert "1.764·0.5" in text and "0.882" in text  # 1.764 × 0.5 = 0.882
    assert "tanh(1.143) = 0.815" in text.replace("\u00a0", " ")


def test_the_checker_finds_a_product_that_does_not_reproduce():
    from rnnviz.core.format import Frag

    def rows(product, value):
        return [Row(Frag(), Frag(f"tanh( {product} + 0.261 )")),
                Row(Frag(), Frag(f"tanh( {value} + 0.261 ) = tanh(1.143) = 0.815"))]

    assert check(rows("1.764·0.5", "0.882")) == []
    assert check(rows("1.76·0.5", "0.882"))  # 0.880: what a student would get
    assert check([Row(Frag("h"), Frag("tanh( 0.882 + 0.261 ) = tanh(1.143) = 0.850"))])
    assert check([Row(Frag("h"), Frag("0.682·0.424 = 0.300"))])



def test_the_nudge_check_is_hidden_where_it_cannot_be_trusted():
    """Issue 8: the dashed ‖Δh‖/ε curve flattened at ~10⁻¹³ (float64 rounding) while the
    exact curve fell to 10⁻³⁵; after an overflow it means nothing either."""
    s = M.Settings(cell="rnn_tanh", T=120, hidden_size=8, recurrent_scale=0.5)
    f = build_frame(M.compute(s), ViewState(step=s.T - 1))
    pert, infl = f.fading.curves["perturbation"], f.fading.curves["influence"]
    hidden = ~np.isfinite(pert.shown)
    assert hidden.any() and np.isfinite(pert.shown[:5]).all()
    assert np.all(infl.y[hidden] < 1e-9)  # only where the exact curve is far below 1e-9
    drawn = ~hidden
    # where it is drawn it agrees with the exact curve (D = 1, a tanh RNN near 0)
    np.testing.assert_allclose(pert.y[drawn], infl.y[drawn], rtol=0.05)
    t = int(np.flatnonzero(hidden)[0])
    assert "not drawn: below what float64 can resolve" in f.fading.tooltip(t, s.T)
    assert fmt_value(pert.y[t]) in f.fading.tooltip(t, s.T)  # the engine's value is still told

    s = M.Settings(cell="rnn_relu", T=100, hidden_size=8, recurrent_scale=8.0, signal="constant")
    f = build_frame(M.compute(s), ViewState(step=s.T - 1))
    row = f.fading.rows[0]
    assert row.overflow_from is not None
    assert not np.isfinite(f.fading.curves["perturbation"].shown[row.overflow_from:]).any()



def test_the_legend_takes_a_corner_no_curve_passes_through():
    """Issue 8: in the race the legend (top right) covered the GRU and LSTM curves."""
    from rnnviz.core.frames import CurveFrame, legend_corner

    T = 200
    t = np.arange(1, T + 1, dtype=np.float64)

    def curve(y):
        return CurveFrame("k", "influence", "gru", y, y, None, True)

    falling = curve(10.0 ** (-0.2 * t))  # the tanh RNN: 1 → 10⁻⁴⁰
    kept = curve(np.full(T, 0.5))  # the GRU and LSTM: about half of x₁ kept, along the top
    yrange = (-41.0, 1.0)
    assert legend_corner([falling], T, yrange, 2) == "top-right"  # x₁ fades: that corner is empty
    assert legend_corner([falling, kept], T, yrange, 3) == "bottom-left"
    growing = curve(10.0 ** (0.1 * t))
    assert legend_corner([growing], T, (0.0, 21.0), 2) == "bottom-right"
    # the race itself: no drawn point of any curve inside the legend's corner
    s = M.Settings(cell="compare", T=200, hidden_size=12, update_bias=5.0, forget_bias=5.0)
    f = build_frame(M.compute(s), ViewState(step=s.T - 1))
    assert f.fading.legend_corner != "top-right"


def test_exploding_means_over_ten_times_step_one_not_any_rise():
    """Issue 10: the chain called a rise from 0.06 to 0.15 "exploding"."""
    from types import SimpleNamespace

    from rnnviz.core.frames import EXPLODING_RATIO, chain_row

    infl = np.array([0.06, 0.15, 0.5, 0.61, 0.59, 3.0])  # ×2.5, ×8.3, ×10.2, ×9.8, ×50
    cr = SimpleNamespace(key="rnn_tanh", label="RNN (tanh)", trace=SimpleNamespace(influence=infl, nonfinite=None))
    row = chain_row(cr)
    assert EXPLODING_RATIO == 10.0
    assert row.grew.tolist() == [False, False, False, True, False, True]


@pytest.mark.parametrize("top", [150.0, 1e3, 1.5e4, 1e9, 1.6e9, 1e30, 1e300])
def test_a_log_colour_bar_labels_never_crowd(top):
    """The symlog colour bar's labels (0 and about four decades a side) stand at least a tenth
    of the bar's half apart: at 10⁹ the ±1 labels sat on top of the 0 (the "exploding" lesson)."""
    from rnnviz.core.frames import _symlog_heatmap, symlog

    a = np.array([[top, -top / 3.0], [0.5, 2.0]])
    m = _symlog_heatmap("h", "h", a, "diverging", "h", "h", "cell:rnn", None, top)
    L = float(symlog(top))
    positions = [p for p, _label in m.bar_ticks]
    assert positions == sorted(positions) and (0.0, "0") in m.bar_ticks
    assert min(np.diff(positions)) >= 0.1 * L - 1e-12
    assert 3 <= len(positions) <= 11 and all(abs(p) <= L for p in positions)


def test_abs_percentile_is_numpy_s_number():
    """The colour levels' percentile from one partition: bit for bit np.percentile of the
    finite |values| (float32 and float64, ties, ±inf and NaN mixed in, one value, q at 0/100)."""
    rng = np.random.default_rng(7)
    for trial in range(600):
        n = int(rng.integers(1, 2000)) if trial % 50 else 130_000
        a = (rng.standard_normal(n) * 10 ** rng.uniform(-3, 5)).astype(np.float32 if trial % 3 == 0 else np.float64)
        if trial % 4 == 0:
            a[rng.integers(0, n, size=max(1, n // 50))] = rng.choice([np.inf, -np.inf, np.nan])
        if trial % 7 == 0:
            a = np.round(a)
        q = float(rng.choice([M.LEVEL_PERCENTILE, 50.0, 99.9, 0.0, 100.0, 2.5]))
        finite = np.abs(a[np.isfinite(a)])
        expected = float(np.percentile(finite, q)) if finite.size else 1.0
        assert M.abs_percentile(a, q) == expected, (trial, n, a.dtype, q)
    assert M.abs_percentile(np.array([np.nan, np.inf]), 98.0) == 1.0
