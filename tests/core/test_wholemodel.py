"""A loaded whole model in the app's core: its token input and its head's Output row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnviz.core import wholemodel as W
from rnnviz.core.app import App
from rnnviz.engine import InputError, run
from rnnviz.io.weights import load_model

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "whole"


def expected(case):
    with np.load(FIXTURES / f"{case}.expected.npz") as ref:
        return {k: ref[k] for k in ref.files}


def test_opening_a_whole_model_feeds_its_embedding_rows():
    app = App()
    app.load_weights(str(FIXTURES / "k3_char.keras"))
    r = app.settle()
    whole = app.whole
    ids = W.default_ids(whole)
    assert app.settings.signal == "custom" and app.settings.T == len(ids)
    np.testing.assert_array_equal(r.xs, whole.embedding.weight[ids])
    np.testing.assert_array_equal(W.ids_of(whole, r.xs), ids)


def test_text_through_the_app_gives_the_frameworks_h_and_y():
    ref = expected("k2_textvec")
    app = App()
    app.load_weights(str(FIXTURES / "k2_textvec.keras"))
    app.read_tokens(str(ref["text"]), as_text=True)
    r = app.settle()
    assert app.settings.text == str(ref["text"]).lower()  # TextVectorization(standardize="lower")
    np.testing.assert_allclose(r.cells[0].trace.h, ref["h"], atol=1e-5)
    row = W.result_row(app.whole, r)
    np.testing.assert_allclose(row.y, ref["y"], atol=1e-5)  # a softmax head: its own probabilities
    assert row.classes and row.labels[5] == "h" and row.inputs[0] == "h"
    probs, labels = W.next_token_probs(app.whole, r)
    assert labels == row.labels and probs.shape == (11, 10)


def test_a_linear_torch_head_is_shown_as_softmax_with_a_note():
    ref = expected("torch_tagger")
    app = App()
    app.load_weights(str(FIXTURES / "torch_tagger.state.npz"), vocab=str(FIXTURES / "torch_tagger.vocab.txt"))
    app.read_tokens(str(ref["text"]), as_text=True)
    r = app.settle()
    row = W.result_row(app.whole, r)
    z = ref["y"]
    p = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(row.y, p / p.sum(1, keepdims=True), atol=1e-5)
    assert any("softmax of 'hidden2tag''s logits" in n for n in r.notes())
    assert row.inputs[0] == "everybody" and not app.settings.text  # words: no per-character text
    app.set_layer(0)  # the head still reads the top layer
    r = app.settle()
    np.testing.assert_allclose(W.result_row(app.whole, r).y, row.y, atol=1e-6)


def test_a_sigmoid_head_of_one_output_and_its_mask():
    ref = expected("k3_padded")
    app = App()
    app.load_weights(str(FIXTURES / "k3_padded.h5"))
    app.read_tokens(" ".join(map(str, ref["ids"])), as_text=False)
    r = app.settle()
    row = W.result_row(app.whole, r)
    assert not row.classes and row.last_only and row.bounded
    np.testing.assert_allclose(row.y, ref["y"], atol=1e-5)
    np.testing.assert_array_equal(r.cells[0].trace.mask, ref["mask"])
    assert any("masked" in n for n in r.notes())


@pytest.mark.parametrize("entry, as_text, message", [
    ("1 99", False, "outside 0 … 7"),
    ("zebra", True, "lacks"),
    ("1 x", False, "not one"),
])
def test_bad_token_input_changes_nothing(entry, as_text, message):
    app = App()
    app.load_weights(str(FIXTURES / "torch_char.state.npz"), vocab=str(FIXTURES / "torch_char.vocab.json"))
    app.settle()
    before = app.settings
    with pytest.raises(ValueError, match=message):
        app.read_tokens(entry, as_text)
    assert app.settings is before


def test_a_vocabulary_opened_later_labels_the_steps(tmp_path):
    app = App()
    app.load_weights(str(FIXTURES / "torch_char.state.npz"))
    app.read_tokens("3 2 4 4 5", as_text=False)
    app.settle()
    assert app.settings.text == ""
    app.use_vocab(str(FIXTURES / "torch_char.vocab.json"))
    assert app.settings.text == "hello"
    (tmp_path / "big.json").write_text('["' + '","'.join("abcdefghijkl") + '"]')
    with pytest.raises(InputError, match="12 tokens, but the embedding of the model has 8 rows"):
        app.use_vocab(str(tmp_path / "big.json"))


def test_the_output_row_of_a_very_wide_head_stops_at_a_bounded_run(monkeypatch):
    import rnnviz.core.wholemodel as W
    from rnnviz.core import model as M
    from rnnviz.io.weights import load_model

    whole = load_model(Path(__file__).resolve().parent.parent / "fixtures" / "whole" / "torch_char.state.npz")
    monkeypatch.setattr(W, "MAX_ROW_VALUES", 8 * 5)  # 5 steps of its 8 outputs
    s = M.Settings(**W.input_changes(whole, [1, 2, 3, 4, 5]), cell="lstm", hidden_size=5, input_size=4)
    assert W.result_row(whole, M.compute(s, whole.rnn)) is not None
    s6 = M.Settings(**W.input_changes(whole, [1, 2, 3, 4, 5, 6]), cell="lstm", hidden_size=5, input_size=4)
    assert W.result_row(whole, M.compute(s6, whole.rnn)) is None
    assert any("for runs of at most 5 steps" in n for n in W.shown_notes(whole))


def test_a_vocabulary_opened_later_says_what_unknown_tokens_read(tmp_path):
    import json

    app = App()
    app.load_weights(str(FIXTURES / "torch_char.state.npz"))
    chars = json.loads((FIXTURES / "torch_char.vocab.json").read_text())
    (tmp_path / "unk.json").write_text(json.dumps(chars[:-1] + ["[UNK]"]))
    app.use_vocab(str(tmp_path / "unk.json"))
    app.settle()
    oov = len(chars) - 1
    assert any(f"a token it lacks reads id {oov} ('[UNK]'" in n for n in app.result.notes())
