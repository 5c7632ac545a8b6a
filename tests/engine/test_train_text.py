"""The character-level task: vocabulary, one-hot windows, and sampling at a temperature."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.engine.train import SAMPLE_TEXT, CharText, init_model, loss_and_grads


def test_vocabulary_and_round_trip():
    ct = CharText("hello world")
    assert ct.chars == tuple(sorted(set("hello world"))) and ct.size == 8
    assert ct.decode(ct.encode("low")) == "low"
    with pytest.raises(ValueError, match="not in the text's vocabulary"):
        ct.encode("z")


def test_windows_are_one_hot_with_the_next_character_as_label():
    ct = CharText(SAMPLE_TEXT)
    xs, ys, mask = ct.make(batch=5, length=12, seed=3)
    assert xs.shape == (5, 12, ct.size) and ys.shape == (5, 12) and np.all(mask == 1)
    assert np.all(xs.sum(axis=-1) == 1)
    codes = np.argmax(xs, axis=-1)
    np.testing.assert_array_equal(ys[:, :-1], codes[:, 1:])
    for b in range(5):
        assert ct.decode(codes[b]) + ct.decode(ys[b, -1:]) in SAMPLE_TEXT
    again = ct.make(batch=5, length=12, seed=3)
    np.testing.assert_array_equal(again[1], ys)


def test_sampling_is_seeded_and_greedy_at_temperature_zero():
    ct = CharText(SAMPLE_TEXT)
    model = init_model("gru", ct.size, 8, ct.size, seed=0)
    a = ct.sample(model, "the ", 20, temperature=1.0, seed=4)
    assert len(a) == 20 and set(a) <= set(ct.chars)
    assert ct.sample(model, "the ", 20, temperature=1.0, seed=4) == a
    g1 = ct.sample(model, "the ", 10, temperature=0, seed=1)
    assert ct.sample(model, "the ", 10, temperature=0, seed=2) == g1


def test_the_task_feeds_cross_entropy():
    ct = CharText(SAMPLE_TEXT)
    xs, ys, mask = ct.make(4, 10)
    model = init_model("lstm", ct.size, 6, ct.size, seed=0)
    g = loss_and_grads(model, xs, ys, mask, loss="xent")
    assert g.loss == pytest.approx(np.log(ct.size), rel=0.1)  # an untrained model is near uniform


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="two different"):
        CharText("aaaa")
    ct = CharText("abcabc")
    with pytest.raises(ValueError, match="length"):
        ct.make(2, 6)
    model = init_model("rnn", ct.size, 3, ct.size)
    with pytest.raises(ValueError, match="prefix"):
        ct.sample(model, "", 3)
    with pytest.raises(ValueError, match="temperature"):
        ct.sample(model, "a", 3, temperature=-1)
