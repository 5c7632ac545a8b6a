"""Keras files users actually save (issue 10): parity with Keras's own numbers, and refusals.

The fixtures in tests/fixtures/keras_issue10/ were written by Keras 3 (torch backend) and
tf.keras 2.15, with tools/make_keras_fixtures.py and tools/make_keras_fixtures_tf2.py; each
``<case>.expected.npz`` holds per recurrent layer NAME ``h__NAME`` (Keras's own output),
``c__NAME`` and the gates (Keras's equations, checked against that output), in processing order.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import fuzz_readers
from rnnviz.engine import InputError, run
from rnnviz.io import load_weights
from rnnviz.io.weights import LayerChoiceError, notes_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "keras_issue10"
LEGACY_BYTES = (FIXTURES / "k2_stack.h5").read_bytes()
TOL = 1e-5  # |ours − theirs| ≤ TOL·(1 + |theirs|), ours in float32


def assert_close(name, ours, theirs):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} vs {theirs.shape}"
    excess = np.abs(ours - theirs) - TOL * (1.0 + np.abs(theirs))
    assert excess.max() <= 0, f"{name}: max |diff| {np.max(np.abs(ours - theirs)):.3g}"


def check_parity(model, case: str, names: list[str]):
    """Every layer of ``model`` (bottom up, Keras layer ``names``) against the case's reference."""
    with np.load(FIXTURES / f"{case}.expected.npz") as ref:
        expected = {k: ref[k] for k in ref.files}
    layers = getattr(model, "layers", (model,))
    assert len(layers) == len(names)
    for k, name in enumerate(names):
        trace = run(model, expected["xs"], layer=k)
        theirs = {key.split("__")[0]: v for key, v in expected.items() if key.endswith(f"__{name}")}
        mask = theirs.pop("mask", None)
        ours = trace.arrays()
        assert set(theirs) <= set(ours), f"{case} {name}: have {sorted(ours)}, need {sorted(theirs)}"
        for key, value in theirs.items():
            assert_close(f"{case} {name} {key}", ours[key], value)
        if mask is not None:
            np.testing.assert_array_equal(trace.mask, mask)
        assert np.all(np.isfinite(trace.influence)) or trace.influence is None


# (file, options, Keras layer names bottom up)
CASES = [
    # a bare .weights.h5: the options say what the file cannot
    ("k3_lstm_hard_sigmoid.weights.h5", dict(recurrent_activation="hard_sigmoid"), ["lstm"]),
    ("k3_lstm_relu.weights.h5", dict(activation="relu"), ["lstm"]),
    ("k3_lstm_rec_relu.weights.h5", dict(recurrent_activation="relu"), ["lstm"]),
    ("k3_gru_nobias_before.weights.h5", dict(reset_after=False), ["gru"]),
    ("k3_gru_backwards.weights.h5", dict(go_backwards=True), ["gru"]),
    # .keras: the config says
    ("k3_lstm_hard_sigmoid.keras", {}, ["lstm"]),
    ("k3_lstm_relu.keras", {}, ["lstm"]),
    ("k3_lstm_rec_relu.keras", {}, ["lstm"]),
    ("k3_gru_nobias_before.keras", {}, ["gru"]),
    ("k3_gru_backwards.keras", {}, ["gru"]),
    ("k3_backwards_stack.keras", {}, ["first", "second"]),
    ("k3_masking.keras", {}, ["lstm"]),
    ("k3_masking_stack.keras", {}, ["gru", "top"]),
    ("k3_chain_tap.keras", {}, ["lower", "upper"]),
    ("k3_chain_tap.weights.h5", {}, ["lower", "upper"]),
    ("k3_branches.keras", dict(layer="branch_a"), ["branch_a"]),
    ("k3_branches.keras", dict(layer="branch_b"), ["branch_b"]),
    ("k3_stacked_cells.keras", {}, ["rnn/0", "rnn/1"]),
    # legacy HDF5 (model.save("m.h5")), Keras 3 and Keras 2
    ("k3_legacy.h5", {}, ["lstm", "gru"]),
    ("k2_stack.h5", {}, ["lstm", "gru"]),
    ("k2_lstm_hard_sigmoid.h5", {}, ["lstm"]),
    ("k2_gru_before_backwards.h5", {}, ["gru"]),
    # Keras 2.15's .keras: its hard_sigmoid is Keras 2's
    ("k2_lstm_hard_sigmoid.keras", {}, ["lstm"]),
]


@pytest.mark.parametrize("name, options, layers", CASES, ids=[f"{c[0]}-{'-'.join(c[1])}" for c in CASES])
def test_keras_parity(name, options, layers):
    model = load_weights(FIXTURES / name, **options)
    check_parity(model, name.split(".", 1)[0], layers)


def test_defaults_are_wrong_and_say_so():
    """Without options a bare file is read with Keras's defaults, and the notes name each one."""
    model = load_weights(FIXTURES / "k3_lstm_hard_sigmoid.weights.h5")
    (note,) = notes_of(model)
    assert note.startswith("assumed activation='tanh', recurrent_activation='sigmoid', go_backwards=False")
    assert "--recurrent-activation" in note and "\n" not in note
    with pytest.raises(AssertionError):
        check_parity(model, "k3_lstm_hard_sigmoid", ["lstm"])
    gru = notes_of(load_weights(FIXTURES / "k3_gru_nobias_before.weights.h5"))[0]
    assert "reset_after=True" in gru  # no bias: its shape cannot tell
    # With every option given nothing is assumed.
    quiet = load_weights(FIXTURES / "k3_gru_backwards.weights.h5", activation="tanh",
                         recurrent_activation="sigmoid", go_backwards=True)
    assert not any(n.startswith("assumed") for n in notes_of(quiet))
    assert quiet.go_backwards


def test_bias_shape_tells_the_gru_variant_without_a_note(tmp_path):
    notes = notes_of(load_weights(FIXTURES / "k3_chain_tap.weights.h5"))
    assert "reset_after" not in notes[0]
    assert any("form one stack in this order" for n in notes for n in [n])


def test_options_that_contradict_the_config_are_errors():
    for opts, needle in ((dict(activation="relu"), "activation='tanh' in the file"),
                         (dict(recurrent_activation="hard_sigmoid"), "recurrent_activation"),
                         (dict(go_backwards=False), "go_backwards=True in the file")):
        with pytest.raises(InputError, match=needle):
            load_weights(FIXTURES / "k3_gru_backwards.keras", **opts)
    with pytest.raises(InputError, match="unsupported activation 'selu'"):
        load_weights(FIXTURES / "k3_lstm_relu.weights.h5", activation="selu")


def test_keras2_hard_sigmoid_is_the_keras2_one():
    for name in ("k2_lstm_hard_sigmoid.keras", "k2_lstm_hard_sigmoid.h5"):
        assert load_weights(FIXTURES / name).recurrent_activation == "hard_sigmoid_keras2"
    assert load_weights(FIXTURES / "k3_lstm_hard_sigmoid.keras").recurrent_activation == "hard_sigmoid"
    assert load_weights(FIXTURES / "k3_legacy.h5").layers[0].recurrent_activation == "hard_sigmoid"


def test_parallel_branches_are_not_a_stack():
    with pytest.raises(LayerChoiceError) as err:
        load_weights(FIXTURES / "k3_branches.keras")
    assert err.value.choices == ("branch_a", "branch_b")
    assert "parallel branches, not one stack" in str(err.value) and "--layer NAME" in str(err.value)
    assert "inconsistent" not in str(err.value)
    with pytest.raises(InputError, match="no recurrent layer named 'head'"):
        load_weights(FIXTURES / "k3_branches.keras", layer="head")
    with pytest.raises(InputError, match="picks a Keras layer by name"):
        load_weights(Path(__file__).parent.parent / "fixtures" / "torch_gru.npz", layer="gru")


def test_a_chain_picks_its_lower_layers_too():
    model = load_weights(FIXTURES / "k3_chain_tap.keras", layer="upper")
    assert len(model.layers) == 2
    assert load_weights(FIXTURES / "k3_chain_tap.keras", layer="lower").hidden_size == 5


def test_masking_marks_steps_and_keeps_state():
    model = load_weights(FIXTURES / "k3_masking.keras")
    assert model.mask_value == 0.0 and "Masking 'masking'" in notes_of(model)[0]
    with np.load(FIXTURES / "k3_masking.expected.npz") as ref:
        xs = ref["xs"]
    trace = run(model, xs)
    skipped = np.flatnonzero(~trace.mask)
    assert list(skipped) == [3, 5, 6, 7]
    for t in skipped:
        np.testing.assert_array_equal(trace.h[t], trace.h[t - 1])
        np.testing.assert_array_equal(trace.c[t], trace.c[t - 1])
        assert trace.influence[t] == trace.influence[t - 1]
    # x_1 masked: it reaches nothing.
    stack = load_weights(FIXTURES / "k3_masking_stack.keras")
    with np.load(FIXTURES / "k3_masking_stack.expected.npz") as ref:
        assert not np.any(run(stack, ref["xs"]).influence)


def test_influence_through_a_mask_matches_finite_differences():
    model = load_weights(FIXTURES / "k3_masking.keras")
    with np.load(FIXTURES / "k3_masking.expected.npz") as ref:
        xs = ref["xs"]
    trace = run(model, xs, dtype=np.float64)
    eps = 1e-6
    jac = np.empty((xs.shape[0], model.hidden_size, xs.shape[1]))
    mask = trace.mask
    for d in range(xs.shape[1]):
        up, down = xs.copy(), xs.copy()
        up[0, d] += eps
        down[0, d] -= eps
        jac[:, :, d] = (run(model, up, dtype=np.float64, mask=mask).h
                        - run(model, down, dtype=np.float64, mask=mask).h) / (2 * eps)
    np.testing.assert_allclose(trace.influence, np.linalg.norm(jac, axis=(1, 2)), rtol=1e-5, atol=1e-9)


def test_go_backwards_trace_is_in_processing_order():
    model = load_weights(FIXTURES / "k3_gru_backwards.keras")
    with np.load(FIXTURES / "k3_gru_backwards.expected.npz") as ref:
        xs = ref["xs"]
    trace = run(model, xs)
    assert list(trace.order) == list(range(len(xs) - 1, -1, -1))
    assert "order" in trace.arrays()
    forwards = run(model.with_params(go_backwards=False), xs[::-1])
    np.testing.assert_allclose(trace.h, forwards.h)


def test_explicit_mask_argument():
    model = load_weights(FIXTURES / "k3_lstm_relu.keras")
    xs = np.random.default_rng(0).normal(size=(6, 3))
    full = run(model, xs)
    np.testing.assert_array_equal(run(model, xs, mask=np.ones(6, bool)).h, full.h)
    assert full.mask is None and full.order is None
    with pytest.raises(ValueError, match="mask has shape"):
        run(model, xs, mask=np.ones(5, bool))


# ---------------------------------------------------------------------------------- refusals


def rewrite(src: Path, dst: Path, edit) -> Path:
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return dst


def layer_of(config, cls):
    return next(l for l in config["config"]["layers"] if l["class_name"] == cls)


def test_embedding_mask_zero_is_said(tmp_path):
    def edit(c):
        layer_of(c, "Masking").update(class_name="Embedding", config={"name": "emb", "mask_zero": True})
    notes = notes_of(load_weights(rewrite(FIXTURES / "k3_masking.keras", tmp_path / "e.keras", edit)))
    assert any("mask_zero=True" in n and "no step is masked" in n for n in notes)


def test_masking_before_an_unread_layer_is_refused(tmp_path):
    def edit(c):
        layers = c["config"]["layers"]
        layers.insert(2, {"class_name": "Dense", "config": {"name": "proj"}, "name": "proj"})
    with pytest.raises(InputError, match="mask of 'lstm' cannot be computed"):
        load_weights(rewrite(FIXTURES / "k3_masking.keras", tmp_path / "d.keras", edit))


def test_a_bidirectional_without_its_layer_is_refused(tmp_path):
    """(Bidirectional itself is read: tests/io/test_keras_bidirectional.py.)"""
    def edit(c):
        layer_of(c, "GRU")["class_name"] = "Bidirectional"
    with pytest.raises(InputError, match="a Bidirectional layer without the config of the layer it wraps"):
        load_weights(rewrite(FIXTURES / "k3_gru_backwards.keras", tmp_path / "b.keras", edit))


def test_stacked_cells_without_config_are_refused():
    with pytest.raises(InputError, match="stacked cells needs the model's config"):
        load_weights(FIXTURES / "k3_stacked_cells.weights.h5")


def test_legacy_h5_problems(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["model_config"] = "{not json"
        f.create_group("model_weights")
    with pytest.raises(InputError, match="model_config attribute is not valid JSON"):
        load_weights(path)
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = np.int64(3)
        f.create_group("model_weights")
    with pytest.raises(InputError, match="model_config attribute is not text"):
        load_weights(path)
    # A legacy file whose weights live in another file: refused, never followed.
    src = FIXTURES / "k3_legacy.h5"
    dst = tmp_path / "linked.h5"
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "a") as f:
        del f["model_weights/lstm"]
        f["model_weights/lstm"] = h5py.ExternalLink(str(src), "/model_weights/lstm")
    with pytest.raises(InputError, match="external link"):
        load_weights(dst)


def test_keras2_weights_only_h5_reads_in_layer_order(tmp_path):
    """tf.keras's save_weights("w.h5"): layer groups at the root, no config: options apply."""
    path = tmp_path / "w.h5"
    with h5py.File(FIXTURES / "k2_stack.h5") as src, h5py.File(path, "w") as f:
        for k, v in src["model_weights"].attrs.items():
            f.attrs[k] = v
        for name in src["model_weights"]:
            src.copy(src[f"model_weights/{name}"], f, name)
    model = load_weights(path, recurrent_activation="hard_sigmoid_keras2")
    assert [c.kind for c in model.layers] == ["lstm", "gru"]
    assert "assumed activation='tanh'" in notes_of(model)[0]


def test_keras2_functional_inbound_nodes(tmp_path):
    """Keras 2 writes inbound_nodes as [[[name, node, tensor, kwargs]]]: the same graph."""
    def edit(c):
        for layer in c["config"]["layers"]:
            parents = [h["config"]["keras_history"][0] for node in layer["inbound_nodes"]
                       for a in node["args"] for h in (a if isinstance(a, list) else [a])]
            layer["inbound_nodes"] = [[[p, 0, 0, {}] for p in parents]] if parents else []
    path = rewrite(FIXTURES / "k3_branches.keras", tmp_path / "k2style.keras", edit)
    with pytest.raises(LayerChoiceError):
        load_weights(path)
    chain = rewrite(FIXTURES / "k3_chain_tap.keras", tmp_path / "k2chain.keras", edit)
    check_parity(load_weights(chain), "k3_chain_tap", ["lower", "upper"])


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutate=fuzz_readers.mutation("h5"))
def test_fuzz_legacy_h5(mutate):
    """Mutated legacy HDF5 files load or give a one-line InputError (no traceback)."""
    fuzz_readers.check(fuzz_readers._weights, "fuzz.h5", mutate(LEGACY_BYTES))


@pytest.mark.parametrize("masked", [False, True])
def test_influence_when_an_upper_layer_reads_backwards(masked):
    """Both layers go backwards: x_1 (the last row) reaches layer 2 at every step."""
    model = load_weights(FIXTURES / "k3_backwards_stack.weights.h5", go_backwards=True)
    xs = np.random.default_rng(3).normal(size=(9, 3))
    mask = np.ones(9, bool)
    if masked:
        mask[[2, 5]] = False
    trace = run(model, xs, dtype=np.float64, mask=mask)
    eps = 1e-6
    jac = []
    for d in range(3):
        up, down = xs.copy(), xs.copy()
        up[-1, d] += eps
        down[-1, d] -= eps
        jac.append((run(model, up, dtype=np.float64, mask=mask).h - run(model, down, dtype=np.float64, mask=mask).h)
                   / (2 * eps))
    fd = np.linalg.norm(np.stack(jac, -1), axis=(1, 2))
    np.testing.assert_allclose(trace.influence, fd, rtol=1e-5, atol=1e-9)
    assert list(trace.order) == list(range(9))  # reversed twice: the input's order again


def test_a_session_keeps_go_backwards_and_the_mask(tmp_path):
    from rnnviz.core import model as M
    from rnnviz.core import session as CS

    for name in ("k3_backwards_stack.keras", "k3_masking.keras"):
        model = load_weights(FIXTURES / name)
        layers = getattr(model, "layers", (model,))
        s = M.Settings(cell=CS.SCHEMA.key_of(layers[-1]), hidden_size=layers[-1].hidden_size, input_size=layers[0].input_size)
        blob = CS.dumps_session(CS.SessionData(s, model, name))
        back = CS.loads_session(blob)
        got = getattr(back.loaded, "layers", (back.loaded,))
        assert [getattr(c, "go_backwards", False) for c in got] == [getattr(c, "go_backwards", False) for c in layers]
        assert getattr(got[0], "mask_value", None) == getattr(layers[0], "mask_value", None)


def test_zero_output_for_mask_is_refused_not_run_as_a_kept_output(tmp_path):
    import json
    import zipfile

    src = Path(__file__).resolve().parent.parent / "fixtures" / "keras_issue10" / "k3_masking.keras"
    dst = tmp_path / "zero.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            blob = zin.read(item.filename)
            if item.filename == "config.json":
                text = blob.decode()
                assert '"zero_output_for_mask": false' in text
                blob = text.replace('"zero_output_for_mask": false', '"zero_output_for_mask": true').encode()
                json.loads(blob)
            zout.writestr(item, blob)
    with pytest.raises(InputError, match="zero_output_for_mask=True") as info:
        load_weights(dst)
    assert "\n" not in str(info.value)
