"""Text along the time axis (rnnviz.core.text): the characters a run reads, the axis labels,
the reading view's frame and the units found by pattern."""

from __future__ import annotations

import time

import numpy as np
import pytest

from rnnviz.core import model as M
from rnnviz.core import text as TX
from rnnviz.core.app import App
from rnnviz.core.frames import Frame, ResultFrame, ViewState

VOCAB = ("a", "b", " ", "\n")


def text_settings(text: str, **kw) -> M.Settings:
    xs = TX.one_hot(text, VOCAB)
    return M.Settings(signal="custom", input_size=len(VOCAB), T=len(text), custom=tuple(map(tuple, xs)),
                      text=text, **kw)


def test_symbols_are_the_text_of_a_custom_run_and_nothing_else():
    s = text_settings("ab a\n")
    assert TX.symbols(s) == ("a", "b", " ", "a", "\n")
    assert TX.symbols(s.replace(T=7)) == ("a", "b", " ", "a", "\n", "", "")  # past the text: zeros
    assert TX.symbols(s.replace(signal="sine")) is None
    assert TX.symbols(M.Settings()) is None


def test_one_hot_round_trips_and_names_missing_characters():
    xs = TX.one_hot("ba b", VOCAB)
    assert xs.shape == (4, 4) and TX.decode_one_hot(xs, VOCAB) == "ba b"
    assert TX.decode_one_hot(xs * 0.5, VOCAB) is None
    with pytest.raises(ValueError, match=r"lack 2 .*'x', 'z'"):
        TX.one_hot("xaz", VOCAB)


def test_visible_forms_of_blank_characters():
    assert [TX.visible(c) for c in "a \n\t"] == ["a", "␣", "↵", "⇥"]
    assert TX.visible("\x07") == "\\x07"


def test_time_ticks_label_every_character_when_they_fit_else_every_kth_with_its_step():
    syms = tuple("hello world")
    assert TX.time_ticks(syms, 1, 11, 20) == [(t + 1, TX.visible(c)) for t, c in enumerate(syms)]
    ticks = TX.time_ticks(tuple("x" * 1000), 1, 1000, 12)
    assert len(ticks) <= 12 and ticks[0] == (100, "100 x") and all(t % 100 == 0 for t, _ in ticks)
    assert TX.time_ticks(syms, 5, 4, 10) == []


def test_rank_units_finds_the_unit_that_is_high_only_inside_the_span():
    rng = np.random.default_rng(0)
    T, H = 400, 12
    h = rng.uniform(-0.3, 0.3, size=(T, H))
    h[100:130, 7] += 0.9  # unit 7 is high on 100 … 129 only
    h[:, 3] = 0.25  # a constant unit says nothing
    h[100:130, 5] += 0.4  # weaker, and also high elsewhere
    h[300:330, 5] += 0.4
    ranked = TX.rank_units(h, 100, 130)
    assert ranked[0].unit == 7 and ranked[0].separated > 0.95 and ranked[0].inside > ranked[0].outside + 0.8
    assert ranked[1].unit == 5
    assert next(m for m in TX.rank_units(h, 100, 130, top=None) if m.unit == 3).score == 0.0
    assert len(TX.rank_units(h, 100, 130, top=None)) == H
    assert TX.rank_units(h, 50, 50) == [] and TX.rank_units(h, 0, T) == []


def test_rank_units_keeps_up_with_a_dragged_selection_on_10000_characters():
    h = np.random.default_rng(1).uniform(-1, 1, size=(TX.MAX_TEXT, 128))
    TX.rank_units(h, 10, 20)
    times = []
    for k in range(20):  # CPU time: a loaded machine is slow, not wrong
        t0 = time.process_time()
        TX.rank_units(h, 1000 + k, 1400 + 3 * k)
        times.append(time.process_time() - t0)
    assert float(np.median(times)) < 0.05  # well under a frame of a mouse drag


def test_rank_units_skips_nan_steps():
    h = np.random.default_rng(2).uniform(-0.2, 0.2, size=(50, 3))
    h[10:15, 1] += 1.0
    h[30, :] = np.nan  # a step where h overflowed
    best = TX.rank_units(h, 10, 15)[0]
    assert best.unit == 1 and np.isfinite(best.score) and best.separated == pytest.approx(44 / 45)  # the NaN step is not below


def test_occurrences_include_overlapping_ones():
    assert TX.occurrences("aaaa", "aa") == [0, 1, 2]
    assert TX.occurrences("abc", "") == [] and TX.occurrences("abc", "x") == []


def test_text_frame_colours_by_the_selected_unit_and_reads_the_guesses():
    s = text_settings("abab a", hidden_size=3)
    result = M.compute(s)
    frame = Frame(ResultFrame(result), ViewState(step=2, unit=1))
    probs = np.tile(np.array([[0.1, 0.7, 0.1, 0.1]]), (6, 1))  # always guesses "b"
    tf = TX.text_frame(frame, (probs, VOCAB))
    assert tf.chars == tuple("abab a") and tf.unit == 1 and tf.revealed == 3 and tf.current == 2
    np.testing.assert_array_equal(tf.values, result.cells[0].trace.h[:, 1])
    assert tf.levels == (-1.0, 1.0)  # tanh: h stays in (−1, 1)
    assert tf.guess == ("b",) * 6 and list(tf.right) == [True, False, True, False, False, False]
    tip = tf.tooltip(0)
    assert "t = 1: 'a'" in tip and "'b' (p = 0.70) ✓" in tip
    assert "the text has '␣'" in tf.tooltip(3)
    assert TX.text_frame(Frame(ResultFrame(M.compute(M.Settings())), ViewState())) is None


def test_new_rows_drop_the_text_they_no_longer_spell():
    app = App(text_settings("abba"))
    assert app.settings.text == "abba"
    app.update(amplitude=2.0)
    assert app.settings.text == "abba"
    app.update(custom=((0.0, 1.0, 0.0, 0.0),) * 4)
    assert app.settings.text == ""
    app.update(custom=tuple(map(tuple, TX.one_hot("baab", VOCAB))), text="baab")
    assert app.settings.text == "baab"
