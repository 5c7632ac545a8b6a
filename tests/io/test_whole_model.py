"""The whole model (issue 10 item 7): embedding → recurrent layers → head, against the frameworks.

Fixtures in tests/fixtures/whole/ were written by PyTorch 2.13 and Keras 3 (torch backend),
``tools/make_whole_model_fixtures.py``, and tf.keras 2.15 (vocabularies stored in the model),
``tools/make_whole_model_fixtures_tf2.py``. Each ``<case>.expected.npz`` holds the framework's
own ids, xs = E[ids], h, c and y.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnviz.cli import main
from rnnviz.engine import InputError, run
from rnnviz.io.weights import load_model, load_weights, notes_of, parse_ids, read_vocab

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "whole"
TOL = 1e-5


def assert_close(name, ours, theirs):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} vs {theirs.shape}"
    excess = np.abs(ours - theirs) - TOL * (1.0 + np.abs(theirs))
    assert excess.max() <= 0, f"{name}: max |diff| {np.max(np.abs(ours - theirs)):.3g}"


def expected(case: str) -> dict:
    with np.load(FIXTURES / f"{case}.expected.npz") as ref:
        return {k: ref[k] for k in ref.files}


# (file, vocabulary file, case, head activation)
CASES = [
    ("torch_char.state.npz", "torch_char.vocab.json", "torch_char", "identity"),
    ("torch_tagger.state.npz", "torch_tagger.vocab.txt", "torch_tagger", "identity"),
    ("k3_char.keras", None, "k3_char", "softmax"),
    ("k3_char.h5", None, "k3_char", "softmax"),
    ("k3_padded.keras", None, "k3_padded", "sigmoid"),
    ("k3_padded.h5", None, "k3_padded", "sigmoid"),
    ("k2_textvec.keras", None, "k2_textvec", "softmax"),
    ("k2_lookup.keras", None, "k2_lookup", "softmax"),
]


@pytest.mark.parametrize("name, vocab, case, activation", CASES, ids=[c[0] for c in CASES])
def test_whole_model_agrees_with_the_framework(name, vocab, case, activation):
    ref = expected(case)
    m = load_model(FIXTURES / name, vocab=None if vocab is None else FIXTURES / vocab)
    assert m.embedding is not None and m.head is not None
    assert m.head.activation == activation
    xs = m.inputs(ref["ids"])
    keep = ref["ids"] != 0 if "mask" in ref else np.ones(len(xs), bool)
    assert_close(f"{name} xs", xs[keep], ref["xs"][keep])  # a padding step's row is not read
    trace = run(m.rnn, xs)
    assert_close(f"{name} h", trace.h, ref["h"])
    if "c" in ref:
        assert_close(f"{name} c", trace.c, ref["c"])
    assert_close(f"{name} y", m.outputs(trace.h), ref["y"])
    if "y_last" in ref:
        assert m.last_only
        assert_close(f"{name} y_T", m.outputs(trace.h)[-1], ref["y_last"])
    if "mask" in ref:
        np.testing.assert_array_equal(trace.mask, ref["mask"])
    assert np.all(np.isfinite(trace.influence))


@pytest.mark.parametrize("name, vocab, case", [
    ("torch_char.state.npz", "torch_char.vocab.json", "torch_char"),
    ("torch_tagger.state.npz", "torch_tagger.vocab.txt", "torch_tagger"),
    ("k2_textvec.keras", None, "k2_textvec"),
    ("k2_lookup.keras", None, "k2_lookup"),
])
def test_text_becomes_the_frameworks_ids(name, vocab, case):
    ref = expected(case)
    m = load_model(FIXTURES / name, vocab=None if vocab is None else FIXTURES / vocab)
    ids, unknown = m.encode(str(ref["text"]))
    np.testing.assert_array_equal(ids, ref["ids"])
    assert unknown == (["cat"] if case == "k2_lookup" else [])
    if "vocabulary" in ref:  # the vocabulary stored in the .keras file is Keras's get_vocabulary()
        assert list(m.vocab.tokens) == [str(t) for t in ref["vocabulary"]]


def test_the_vocabulary_decides_characters_or_words():
    assert load_model(FIXTURES / "torch_char.state.npz", vocab=FIXTURES / "torch_char.vocab.json").vocab.per_char
    words = load_model(FIXTURES / "torch_tagger.state.npz", vocab=FIXTURES / "torch_tagger.vocab.txt").vocab
    assert not words.per_char and words.oov == 0  # "<unk>" is its OOV token
    m = load_model(FIXTURES / "torch_tagger.state.npz", vocab=FIXTURES / "torch_tagger.vocab.txt")
    assert any("reads id 0 ('<unk>'" in n for n in m.notes)


def test_load_weights_still_reads_the_recurrent_part_alone():
    cell = load_weights(FIXTURES / "torch_char.state.npz")
    assert not notes_of(cell)  # nothing about a head it did not read
    assert "no step is masked" in " ".join(notes_of(load_weights(FIXTURES / "k3_padded.keras")))


def test_torch_notes_say_what_a_state_dict_does_not_record():
    notes = " ".join(load_model(FIXTURES / "torch_char.state.npz").notes)
    assert "embedding → rnn → fc" in notes and "forward()" in notes
    assert "logits" in notes


def test_a_model_without_a_head_or_an_embedding():
    m = load_model(Path(__file__).resolve().parent.parent / "fixtures" / "torch_gru_in_model.npz")
    assert m.embedding is None and m.head is not None and m.head.output_size == 2
    m = load_model(Path(__file__).resolve().parent.parent / "fixtures" / "torch_gru.npz")
    assert not m.whole
    with pytest.raises(ValueError, match="no embedding"):
        m.inputs([1, 2])


# ------------------------------------------------------------------------------ state_dicts by hand


def _state(tmp_path, arrays: dict, name="m.npz") -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _lstm(D=3, H=4, prefix="rnn."):
    rng = np.random.default_rng(0)
    return {f"{prefix}weight_ih_l0": rng.normal(size=(4 * H, D)), f"{prefix}weight_hh_l0": rng.normal(size=(4 * H, H)),
            f"{prefix}bias_ih_l0": rng.normal(size=4 * H), f"{prefix}bias_hh_l0": rng.normal(size=4 * H)}


def test_an_embedding_of_the_wrong_width_is_one_line(tmp_path):
    path = _state(tmp_path, {**_lstm(), "embedding.weight": np.ones((7, 5))})
    with pytest.raises(InputError, match=r"embedding.weight has shape \(7, 5\).*reads D = 3") as err:
        load_model(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    load_weights(path)  # the recurrent part alone still opens


def test_a_head_of_the_wrong_width_is_one_line(tmp_path):
    path = _state(tmp_path, {**_lstm(), "fc.weight": np.ones((2, 9)), "fc.bias": np.zeros(2)})
    with pytest.raises(InputError, match=r"fc.weight has shape \(2, 9\).*gives h of 4"):
        load_model(path)


def test_other_modules_beside_the_rnn_are_not_guessed(tmp_path):
    path = _state(tmp_path, {**_lstm(), "embedding.weight": np.ones((7, 3)), "norm.weight": np.ones(4),
                             "norm.bias": np.zeros(4), "fc.weight": np.ones((2, 4)), "fc.bias": np.zeros(2)})
    m = load_model(path)
    assert m.embedding is None and m.head is None
    assert any("'norm'" in n and "forward()" in n for n in m.notes)


def test_two_candidate_heads_are_not_guessed(tmp_path):
    path = _state(tmp_path, {**_lstm(), "fc1.weight": np.ones((2, 4)), "fc2.weight": np.ones((3, 4))})
    m = load_model(path)
    assert m.head is None and any("several modules that could be the head" in n for n in m.notes)


def test_nested_modules_and_module_option(tmp_path):
    arrays = {**_lstm(prefix="model.encoder."), "model.embed.weight": np.ones((5, 3)),
              "model.out.weight": np.ones((6, 4)), "model.out.bias": np.zeros(6)}
    m = load_model(_state(tmp_path, arrays))
    assert m.names == ("model.embed", "model.out") and m.embedding.vocab_size == 5


def test_a_bias_free_linear_as_wide_as_d_is_named_by_its_name(tmp_path):
    arrays = {**_lstm(D=4, H=4), "encoder.weight": np.ones((9, 4)), "decoder.weight": np.ones((9, 4))}
    m = load_model(_state(tmp_path, arrays))  # the word-language-model example's names
    assert m.names == ("encoder", "decoder")


# ------------------------------------------------------------------------------ Keras refusals


def _rewrite(tmp_path, name: str, edit) -> Path:
    src = FIXTURES / name
    out = tmp_path / name
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(out, "w") as w:
        for n in z.namelist():
            data = z.read(n)
            if n == "config.json":
                cfg = json.loads(data)
                edit(cfg)
                data = json.dumps(cfg).encode()
            w.writestr(n, data)
    return out


def test_a_dense_activation_rnnviz_does_not_apply_is_refused_in_a_note(tmp_path):
    def relu(cfg):
        cfg["config"]["layers"][-1]["config"]["activation"] = "relu"

    m = load_model(_rewrite(tmp_path, "k3_char.keras", relu))
    assert m.head is None and m.embedding is not None
    assert any("activation 'relu', which rnnviz does not apply" in n for n in m.notes)


def test_a_head_of_two_dense_layers_is_not_read(tmp_path):
    def two(cfg):
        layers = cfg["config"]["layers"]
        extra = json.loads(json.dumps(layers[-1]))
        extra["config"]["name"] = "dense_more"
        layers.append(extra)

    m = load_model(_rewrite(tmp_path, "k3_char.keras", two))
    assert m.head is None and any("rnnviz reads a head of one Dense layer" in n for n in m.notes)


# ------------------------------------------------------------------------------ vocabularies


def test_vocabulary_files(tmp_path):
    (tmp_path / "v.json").write_text(json.dumps(["a", "b", "c"]))
    assert read_vocab(tmp_path / "v.json").tokens == ("a", "b", "c")
    (tmp_path / "v.txt").write_text("the\ncat\n[UNK]\n")
    v = read_vocab(tmp_path / "v.txt")
    assert v.tokens == ("the", "cat", "[UNK]") and v.oov == 2 and not v.per_char
    (tmp_path / "m.json").write_text(json.dumps({"x": 1, "y": 0}))
    assert read_vocab(tmp_path / "m.json").tokens == ("y", "x")


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"[1, 2]", "token 0 is int, not text"),
    (b'["a", "a"]', "listed twice"),
    (b"[", "not valid JSON"),
    (b"\xff\xfe\x00a", "binary data"),
    (b"\xff\xfea", "not UTF-8"),
    (b'{"a": 0, "b": 0}', "id 0 is given to"),
    (b'"abc"', "expected a list of tokens"),
])
def test_a_bad_vocabulary_file_is_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / ("v.json" if content[:1] in b'[{"' else "v.txt")
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        read_vocab(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_vocabulary_larger_than_the_embedding_is_refused(tmp_path):
    (tmp_path / "big.json").write_text(json.dumps([chr(97 + k) for k in range(20)]))
    with pytest.raises(InputError, match="20 tokens, but the embedding .* has 8 rows") as err:
        load_model(FIXTURES / "torch_char.state.npz", vocab=tmp_path / "big.json")
    assert "big.json" in str(err.value)


def test_a_vocabulary_for_a_model_without_an_embedding_is_refused(tmp_path):
    with pytest.raises(InputError, match="has no embedding"):
        load_model(FIXTURES.parent / "torch_gru.npz", vocab=FIXTURES / "torch_char.vocab.json")


def test_unknown_tokens_are_named():
    m = load_model(FIXTURES / "torch_char.state.npz", vocab=FIXTURES / "torch_char.vocab.json")
    with pytest.raises(ValueError, match=r"lacks 2 characters of the text: 'x', 'y'"):
        m.encode("hexy")


def test_ids_out_of_range_and_bad_ids():
    m = load_model(FIXTURES / "torch_char.state.npz")
    with pytest.raises(ValueError, match=r"token ids 8, 12 outside 0 … 7"):
        m.inputs([1, 8, 12])
    with pytest.raises(ValueError, match="not one"):
        parse_ids("1 two 3")
    np.testing.assert_array_equal(parse_ids("3, 1 4"), [3, 1, 4])


# ------------------------------------------------------------------------------ rnnviz trace


def test_trace_writes_ids_and_y(tmp_path, capsys):
    out = tmp_path / "t.npz"
    ref = expected("torch_char")
    rc = main(["trace", str(FIXTURES / "torch_char.state.npz"), "--vocab", str(FIXTURES / "torch_char.vocab.json"),
               "--text", str(ref["text"]), "-o", str(out)])
    assert rc == 0
    with np.load(out) as t:
        np.testing.assert_array_equal(t["ids"], ref["ids"])
        assert_close("trace y", t["y"], ref["y"])
        assert_close("trace h", t["h"], ref["h"])
    assert "logits" in capsys.readouterr().err


def test_trace_reads_ids_from_a_csv_and_masks_padding(tmp_path):
    ref = expected("k3_padded")
    (tmp_path / "ids.csv").write_text("\n".join(str(i) for i in ref["ids"]) + "\n")
    out = tmp_path / "t.npz"
    assert main(["trace", str(FIXTURES / "k3_padded.keras"), str(tmp_path / "ids.csv"), "-o", str(out)]) == 0
    with np.load(out) as t:
        assert_close("trace y", t["y"], ref["y"])
        np.testing.assert_array_equal(t["mask"], ref["mask"])


def test_trace_of_a_lower_layer_still_writes_the_heads_y(tmp_path):
    ref = expected("torch_tagger")
    out = tmp_path / "t.npz"
    ids = " ".join(str(i) for i in ref["ids"])
    assert main(["trace", str(FIXTURES / "torch_tagger.state.npz"), "--ids", ids, "--layer", "0", "-o", str(out)]) == 0
    with np.load(out) as t:
        assert_close("trace y", t["y"], ref["y"])


@pytest.mark.parametrize("args, message", [
    (["--ids", "1 99"], "token id 99 outside 0 … 7"),
    (["--text", "hi"], "no vocabulary"),
    (["--ids", "1 x"], "not one"),
    ([], "no input"),
])
def test_trace_refusals_are_one_line(tmp_path, capsys, args, message):
    out = tmp_path / "t.npz"
    assert main(["trace", str(FIXTURES / "torch_char.state.npz"), *args, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "torch_char.state.npz" in err
    assert not out.exists()


def test_trace_with_a_bad_vocabulary_names_it(tmp_path, capsys):
    (tmp_path / "v.json").write_text("[1]")
    assert main(["trace", str(FIXTURES / "torch_char.state.npz"), "--vocab", str(tmp_path / "v.json"), "--ids", "1",
                 "-o", str(tmp_path / "t.npz")]) == 2
    err = capsys.readouterr().err
    assert "v.json" in err and err.count("\n") == 1


def test_the_pytorch_files_read_as_their_npz_copies():
    pytest.importorskip("torch")
    for name in ("torch_char", "torch_tagger"):
        a, b = load_model(FIXTURES / f"{name}.pt"), load_model(FIXTURES / f"{name}.state.npz")
        np.testing.assert_array_equal(a.embedding.weight, b.embedding.weight)
        np.testing.assert_array_equal(a.head.W_hy, b.head.W_hy)
        for x, y in zip(getattr(a.rnn, "layers", (a.rnn,)), getattr(b.rnn, "layers", (b.rnn,))):
            np.testing.assert_array_equal(x.W_hh, y.W_hh)


def test_a_stringlookup_with_two_oov_ids_numbers_its_words_from_two():
    # keras.layers.StringLookup(vocabulary=["cat", "dog"], num_oov_indices=2): ids 0 and 1 are
    # OOV, "cat" is 2 and "dog" is 3 (Keras's documented layout; the ids used to be one too small)
    from rnnviz.io.weights.keras_parts import _lookup_vocab

    layer = {"cls": "StringLookup", "name": "lookup",
             "cfg": {"vocabulary": ["cat", "dog"], "num_oov_indices": 2, "mask_token": None, "oov_token": "[UNK]"}}
    vocab, note = _lookup_vocab(layer, "m.keras")
    ids, _ = vocab.encode("cat dog")
    assert list(ids) == [2, 3] and vocab.size == 4 and "hashes unknown tokens" in note


def test_trace_refuses_a_y_too_large_to_write_in_one_line(tmp_path, monkeypatch, capsys):
    import rnnviz.io.limits as limits

    monkeypatch.setattr(limits, "MAX_ARRAY_BYTES", 1000)  # its weights fit; 23 steps × 8 outputs do not
    out = tmp_path / "t.npz"
    rc = main(["trace", str(FIXTURES / "torch_char.state.npz"), "--vocab", str(FIXTURES / "torch_char.vocab.json"),
               "--text", "hello world hello world", "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and not out.exists() and "\n" not in err
    assert "y would hold 23 steps × 8 outputs" in err and "torch_char.state.npz" in err


def test_a_text_file_s_final_line_break_is_not_a_token(tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("hello world\n", encoding="utf-8")
    out = tmp_path / "t.npz"
    assert main(["trace", str(FIXTURES / "torch_char.state.npz"), str(src), "--vocab",
                 str(FIXTURES / "torch_char.vocab.json"), "-o", str(out)]) == 0
    assert len(np.load(out)["ids"]) == 11
    assert "the line break that ends the file is not read as a token" in capsys.readouterr().err


def test_a_vocabulary_given_for_every_file_is_said_never_silent():
    from rnnviz.io.weights import set_defaults

    set_defaults(vocab=str(FIXTURES / "torch_char.vocab.json"))
    try:
        m = load_model(FIXTURES / "torch_char.state.npz")
    finally:
        set_defaults()
    assert m.vocab is not None
    assert any("named by torch_char.vocab.json (given with --vocab)" in n for n in m.notes)
    assert not any("--vocab" in n for n in load_model(FIXTURES / "torch_char.state.npz").notes)


def test_reading_text_per_character_is_said_not_assumed():
    m = load_model(FIXTURES / "torch_char.state.npz", vocab=FIXTURES / "torch_char.vocab.json")
    assert m.vocab.per_char
    assert any("single characters, so text is read one character per token" in n for n in m.notes)
    words = load_model(FIXTURES / "torch_tagger.state.npz", vocab=FIXTURES / "torch_tagger.vocab.txt")
    assert not words.vocab.per_char and not any("one character per token" in n for n in words.notes)
