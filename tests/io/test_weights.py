"""Weight import/export: every format, every way a file can be wrong, and the export round trip.

None of this needs PyTorch or Keras; the files come from tests/fixtures (made by the real
frameworks) or are built here with NumPy, h5py, zipfile and safetensors.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file

from rnnviz.engine import Cell, InputError, Stack, init_cell, run, seed_example
from rnnviz.io import load_weights, save_weights

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WEIGHT_FILES = sorted(
    p for p in FIXTURES.iterdir() if p.suffix in (".npz", ".safetensors", ".keras", ".h5", ".pt")
    and not p.name.endswith(".expected.npz")
)
NO_TORCH_FILES = [p for p in WEIGHT_FILES if p.suffix != ".pt"]


def input_error(path, **kwargs) -> InputError:
    """load_weights(path) must raise InputError: one line, naming the file."""
    with pytest.raises(InputError) as info:
        load_weights(path, **kwargs)
    text = str(info.value)
    assert len(text.splitlines()) == 1, text
    assert os.path.basename(os.fspath(path)) in text
    return info.value


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def torch_state(kind="gru", D=3, H=4, layers=1, seed=0, bias=True):
    """A state_dict as nn.GRU & co. name it, made from rnnviz cells."""
    out = {}
    for k in range(layers):
        c = init_cell(kind, D if k == 0 else H, H, seed=seed + k)
        out[f"weight_ih_l{k}"] = c.W_ih
        out[f"weight_hh_l{k}"] = c.W_hh
        if bias:
            out[f"bias_ih_l{k}"] = c.b_ih
            out[f"bias_hh_l{k}"] = c.b_hh
    return out


def assert_same_cell(a: Cell, b: Cell):
    assert a.kind == b.kind
    for name in ("W_ih", "W_hh", "b_ih", "b_hh"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.nonlinearity == b.nonlinearity
    assert a.recurrent_activation == b.recurrent_activation
    if a.kind == "gru":
        assert a.reset_after == b.reset_after


def assert_same_model(a, b):
    assert isinstance(a, Stack) == isinstance(b, Stack)  # a file's extras may make a Cell subclass
    if isinstance(a, Stack):
        assert len(a) == len(b)
        for x, y in zip(a.layers, b.layers):
            assert_same_cell(x, y)
    else:
        assert_same_cell(a, b)


class Evil:
    """Unpickling this creates the marker file: proof that a reader ran a pickle."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# --------------------------------------------------------------------------------- reading


def _expected_layers(expected) -> list[tuple[str, int]]:
    """(kind, H) of each layer, first to last, as the framework's own outputs show them."""
    def layer(suffix):
        names = {k[: len(k) - len(suffix)] for k in expected.files if k.endswith(suffix) or not suffix}
        kind = "lstm" if "f" in names else "gru" if "z" in names else "rnn"
        return kind, expected["h" + suffix].shape[1]

    return ([layer("_l0")] if "h_l0" in expected.files else []) + [layer("")]


@pytest.mark.parametrize("path", NO_TORCH_FILES, ids=lambda p: p.name)
def test_every_fixture_loads(path):
    """Kind, sizes and outputs of each fixture match what the framework that wrote it computed."""
    model = load_weights(path, nonlinearity="relu" if "relu" in path.name else "tanh")
    case = path.name.split(".", 1)[0]
    with np.load(FIXTURES / f"{case}.expected.npz") as expected:
        want = _expected_layers(expected)
        xs, h = expected["xs"], expected["h"]
    layers = model.layers if isinstance(model, Stack) else (model,)
    assert isinstance(model, Stack) == (len(want) > 1)
    assert [(c.kind, c.hidden_size) for c in layers] == want
    assert layers[0].input_size == xs.shape[1]
    np.testing.assert_allclose(run(model, xs, dtype=np.float64).h, h, rtol=1e-5, atol=1e-6)


def test_kinds_and_flags_from_each_format():
    assert load_weights(FIXTURES / "torch_rnn_relu.npz", nonlinearity="relu").nonlinearity == "relu"
    assert load_weights(FIXTURES / "torch_rnn_relu.safetensors").nonlinearity == "tanh"
    assert load_weights(FIXTURES / "torch_lstm.safetensors").kind == "lstm"
    for suffix in (".keras", ".weights.h5"):
        assert load_weights(FIXTURES / f"keras_gru{suffix}").reset_after is True
        ra_false = load_weights(FIXTURES / f"keras_gru_reset_before{suffix}")
        assert ra_false.reset_after is False
        assert not ra_false.b_hh.any()  # Keras's single bias is all input-side
        assert load_weights(FIXTURES / f"keras_simplernn{suffix}").kind == "rnn"
    hard = load_weights(FIXTURES / "keras_lstm_hard_sigmoid.keras")
    assert (hard.kind, hard.recurrent_activation, hard.nonlinearity) == ("lstm", "hard_sigmoid", "tanh")


def test_stacks_keep_layer_order():
    s = load_weights(FIXTURES / "torch_lstm_stacked.safetensors")
    assert isinstance(s, Stack) and [c.kind for c in s.layers] == ["lstm", "lstm"]
    for suffix in (".keras", ".weights.h5"):
        k = load_weights(FIXTURES / f"keras_stacked{suffix}")
        assert [(c.kind, c.input_size, c.hidden_size) for c in k.layers] == [("lstm", 3, 5), ("gru", 5, 4)]


def test_npz_safetensors_and_bare_h5_agree_with_their_siblings():
    for case in ("torch_gru", "torch_lstm_stacked", "torch_gru_in_model", "torch_gru_nobias"):
        assert_same_model(load_weights(FIXTURES / f"{case}.npz"), load_weights(FIXTURES / f"{case}.safetensors"))
    for case in ("keras_gru", "keras_gru_reset_before", "keras_lstm", "keras_simplernn", "keras_stacked"):
        assert_same_model(load_weights(FIXTURES / f"{case}.keras"), load_weights(FIXTURES / f"{case}.weights.h5"))


def test_bias_false_reads_as_zeros():
    cell = load_weights(FIXTURES / "torch_gru_nobias.npz")
    assert not cell.b_ih.any() and not cell.b_hh.any()


def test_cell_names_without_layer_suffix(tmp_path):
    c = init_cell("lstm", 2, 3, seed=4)
    path = write_npz(tmp_path / "cell.npz", weight_ih=c.W_ih, weight_hh=c.W_hh, bias_ih=c.b_ih, bias_hh=c.b_hh)
    assert_same_cell(load_weights(path), c)


def test_seed_document_names(tmp_path):
    ref = seed_example(0)
    rs = np.random.RandomState(0)
    path = write_npz(tmp_path / "seed.npz", weight_x=rs.randn(2, 1), weight_h=rs.randn(2, 2), bias=np.zeros((2, 1)))
    assert_same_cell(load_weights(path), ref)
    no_bias = write_npz(tmp_path / "seed_nobias.npz", weight_x=ref.W_ih, weight_h=ref.W_hh)
    assert load_weights(no_bias, nonlinearity="relu").nonlinearity == "relu"


def test_prefixed_keys_from_a_whole_model(tmp_path):
    state = {f"encoder.rnn.{k}": v for k, v in torch_state("gru").items()}
    state["head.weight"] = np.ones((2, 4))
    loaded = load_weights(write_npz(tmp_path / "model.npz", **state))
    assert loaded.kind == "gru"
    both = {**state, **{f"decoder.rnn.{k}": v for k, v in torch_state("gru").items()}}
    err = input_error(write_npz(tmp_path / "two.npz", **both))
    assert "several recurrent modules" in str(err)


def test_reset_after_argument(tmp_path):
    path = write_npz(tmp_path / "gru.npz", **torch_state("gru"))
    assert load_weights(path).reset_after is True
    assert load_weights(path, reset_after=False).reset_after is False
    err = input_error(FIXTURES / "keras_gru.keras", reset_after=False)
    assert "reset_after" in str(err)
    assert load_weights(FIXTURES / "keras_gru.keras", reset_after=True).reset_after is True


def test_safetensors_metadata_is_honoured(tmp_path):
    state = torch_state("gru")
    path = tmp_path / "meta.safetensors"
    save_file(state, str(path), metadata={"kind": "gru", "reset_after": "false", "nonlinearity": "relu"})
    cell = load_weights(path)
    assert (cell.reset_after, cell.nonlinearity) == (False, "relu")
    save_file(state, str(path), metadata={"kind": "lstm"})
    assert "metadata" in str(input_error(path))
    save_file(state, str(path), metadata={"reset_after": "maybe"})
    assert "reset_after" in str(input_error(path))
    save_file(state, str(path), metadata={"format": "pt"})  # foreign metadata is ignored
    assert load_weights(path).kind == "gru"


def test_keras_directory_archive(tmp_path):
    folder = tmp_path / "unzipped.keras"
    with zipfile.ZipFile(FIXTURES / "keras_gru.keras") as z:
        z.extractall(folder)
    assert_same_model(load_weights(folder), load_weights(FIXTURES / "keras_gru.keras"))
    (folder / "config.json").unlink()
    input_error(folder)


# ------------------------------------------------------------- Keras h5 without config.json


def keras_h5(path, layers, extra=None, chunked=False):
    """A Keras 3 weights file: layers is [(group name, [vars...])], written in that order."""
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        for name, values in layers:
            g = f.create_group(f"layers/{name}/cell/vars")
            f.create_group(f"layers/{name}/vars")
            for i, v in enumerate(values):
                g.create_dataset(str(i), data=np.asarray(v, np.float32), chunks=True if chunked else None)
        if extra:
            extra(f)
    return path


def rnn_vars(D, H, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(D, H)), rng.normal(size=(H, H)), rng.normal(size=H)]


def test_bare_h5_orders_layers_naturally(tmp_path):
    # gru_10 sorts before gru_2 alphabetically; widths 1 → 2 → … → 12 only chain in model order.
    names = ["simple_rnn"] + [f"simple_rnn_{k}" for k in range(1, 11)]
    layers = [(name, rnn_vars(k + 1, k + 2, k)) for k, name in enumerate(names)]
    s = load_weights(keras_h5(tmp_path / "deep.weights.h5", layers))
    assert [c.hidden_size for c in s.layers] == list(range(2, 13))


def test_bare_h5_orders_mixed_classes_by_widths(tmp_path):
    rng = np.random.default_rng(0)
    lstm = [rng.normal(size=(3, 20)), rng.normal(size=(5, 20)), rng.normal(size=20)]
    gru = [rng.normal(size=(5, 6)), rng.normal(size=(2, 6)), rng.normal(size=(2, 6))]
    s = load_weights(keras_h5(tmp_path / "mixed.weights.h5", [("gru", gru), ("lstm", lstm)]))
    assert [c.kind for c in s.layers] == ["lstm", "gru"]
    # GRU 3 → 4 and LSTM 4 → 3 chain either way; the order Keras wrote them in decides.
    gru = [rng.normal(size=(3, 12)), rng.normal(size=(4, 12)), rng.normal(size=(2, 12))]
    lstm = [rng.normal(size=(4, 12)), rng.normal(size=(3, 12)), rng.normal(size=12)]
    for first, second in (("lstm", "gru"), ("gru", "lstm")):
        layers = {"gru": gru, "lstm": lstm}
        path = keras_h5(tmp_path / f"{first}_first.weights.h5", [(first, layers[first]), (second, layers[second])])
        assert [c.kind for c in load_weights(path).layers] == [first, second]
    chunked = keras_h5(tmp_path / "chunked.weights.h5", [("gru", gru), ("lstm", lstm)], chunked=True)
    assert "several orders" in str(input_error(chunked))


def test_bare_h5_gru_variant_from_bias_shape(tmp_path):
    rng = np.random.default_rng(1)
    k, r = rng.normal(size=(3, 12)), rng.normal(size=(4, 12))
    assert load_weights(keras_h5(tmp_path / "a.weights.h5", [("gru", [k, r, rng.normal(size=(2, 12))])])).reset_after
    assert not load_weights(keras_h5(tmp_path / "b.weights.h5", [("gru", [k, r, rng.normal(size=12)])])).reset_after
    no_bias = keras_h5(tmp_path / "c.weights.h5", [("gru", [k, r])])
    assert load_weights(no_bias).reset_after is True  # Keras's default
    assert load_weights(no_bias, reset_after=False).reset_after is False


def test_keras_gate_order_is_converted(tmp_path):
    # One unit, zero kernels: Keras GRU bias blocks z, r, h = 1, 2, 3 must land in r, z, n.
    z = np.zeros
    path = keras_h5(tmp_path / "order.weights.h5", [("gru", [z((1, 3)), z((1, 3)), [[1, 2, 3], [4, 5, 6]]])])
    cell = load_weights(path)
    np.testing.assert_array_equal(cell.b_ih, [2, 1, 3])
    np.testing.assert_array_equal(cell.b_hh, [5, 4, 6])
    kernel = np.array([[10.0, 20.0, 30.0]])
    cell = load_weights(keras_h5(tmp_path / "kernel.weights.h5", [("gru", [kernel, z((1, 3)), z(3)])]))
    np.testing.assert_array_equal(cell.W_ih[:, 0], [20, 10, 30])


def test_bare_h5_ignores_non_recurrent_layers(tmp_path):
    def dense(f):
        f.create_dataset("layers/dense/vars/0", data=np.ones((4, 2), np.float32))
        f.create_group("layers/input_layer/vars")

    lstm = [np.ones((3, 16)), np.ones((4, 16)), np.ones(16)]
    cell = load_weights(keras_h5(tmp_path / "head.weights.h5", [("lstm", lstm)], extra=dense))
    assert cell.kind == "lstm"


@pytest.mark.parametrize(
    "layers, extra, needle",
    [
        ([("gru", [np.ones((3, 10)), np.ones((5, 10))])], None, "shape"),
        ([("gru", [np.ones((3, 12)), np.ones((4, 12)), np.ones(7)])], None, "bias"),
        ([("gru", [np.ones((3, 9)), np.ones((4, 12)), np.ones(12)])], None, "kernel"),
        ([("lstm", [np.ones((3, 16)), np.full((4, 16), np.nan), np.ones(16)])], None, "NaN"),
        ([("gru", [np.ones((3, 12))])], None, "found 1 arrays"),
        ([], lambda f: f.create_group("layers/bidirectional/forward_layer/cell/vars"), "bidirectional"),
        ([], lambda f: f.create_group("layers/dense/vars"), "no recurrent layers"),
    ],
    ids=["not-gated-shape", "bias-shape", "kernel-shape", "nan", "too-few-vars", "bidirectional", "nothing"],
)
def test_bare_h5_problems(tmp_path, layers, extra, needle):
    path = keras_h5(tmp_path / "bad.weights.h5", layers, extra)
    assert needle in str(input_error(path))


def test_legacy_keras_h5_without_layers(tmp_path):
    # Legacy HDF5 is read (tests/io/test_keras_issue10.py); one with no layers says what is missing.
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.create_group("model_weights")
    assert "model_weights has no layer_names attribute" in str(input_error(path))


# ------------------------------------------------------------------- Keras config.json


def rewrite_keras(src, dst, edit):
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return dst


def layer_cfg(config, class_name):
    return next(l for l in config["config"]["layers"] if l["class_name"] == class_name)


def set_layer(which, *, new_class=None, **changes):
    """An edit that changes layer ``which`` (a class name): its class and config entries."""
    def edit(config):
        layer = layer_cfg(config, which)
        if new_class:
            layer["class_name"] = new_class
        layer["config"].update(changes)
    return edit


@pytest.mark.parametrize(
    "src, edit, needle",
    [
        ("keras_gru", set_layer("GRU", new_class="Bidirectional"), "Bidirectional layer without the config"),
        ("keras_gru", set_layer("GRU", new_class="ConvLSTM1D"), "not a supported recurrent layer"),
        ("keras_gru", set_layer("GRU", new_class="Sequential"), "nested models"),
        ("keras_gru", set_layer("GRU", activation="selu"), "selu"),
        ("keras_gru", set_layer("GRU", recurrent_activation={"class_name": "Custom"}), "recurrent_activation"),
        ("keras_gru", set_layer("GRU", reset_after=False), "reset_after"),
        ("keras_gru", set_layer("GRU", units=7), "units=7"),
        ("keras_gru", set_layer("GRU", use_bias=False), "use_bias"),
        ("keras_gru", set_layer("GRU", new_class="LSTM"), "lstm"),
        ("keras_stacked", set_layer("Dropout", new_class="Dense"), "between recurrent layers"),
        ("keras_simplernn", lambda c: c.update(class_name="MyModel"), "Sequential and Functional"),
        ("keras_gru", lambda c: c["config"]["layers"].pop(), "no SimpleRNN, GRU or LSTM"),
    ],
    ids=[
        "bidirectional", "convlstm", "nested", "activation", "custom-activation",
        "reset-after-contradiction", "units", "use-bias", "kind-contradiction", "dense-between",
        "subclassed", "no-recurrent",
    ],
)
def test_keras_config_problems(tmp_path, src, edit, needle):
    path = rewrite_keras(FIXTURES / f"{src}.keras", tmp_path / "edited.keras", edit)
    assert needle in str(input_error(path))


def test_keras_config_activation_is_used(tmp_path):
    path = rewrite_keras(FIXTURES / "keras_simplernn.keras", tmp_path / "relu.keras",
                         set_layer("SimpleRNN", activation="relu"))
    assert load_weights(path, nonlinearity="tanh").nonlinearity == "relu"


def test_keras_generic_rnn_layer_with_a_gru_cell(tmp_path):
    def edit(config):
        layer = layer_cfg(config, "GRU")
        cell_config = dict(layer["config"])
        layer["class_name"] = "RNN"
        layer["config"] = {"name": "rnn", "cell": {"class_name": "GRUCell", "config": cell_config}}

    src = tmp_path / "rnn.keras"
    rewrite_keras(FIXTURES / "keras_gru.keras", src, edit)
    # The generic RNN layer's weights live under layers/rnn/cell/vars.
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "a") as f:
        f.move("layers/gru", "layers/rnn")
    members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(src, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    assert_same_cell(load_weights(src), load_weights(FIXTURES / "keras_gru.keras"))


def test_keras_archive_problems(tmp_path):
    with zipfile.ZipFile(tmp_path / "noconfig.keras", "w") as z:
        z.writestr("model.weights.h5", b"")
    assert "config.json" in str(input_error(tmp_path / "noconfig.keras"))
    with zipfile.ZipFile(tmp_path / "noweights.keras", "w") as z:
        z.writestr("config.json", "{}")
    assert "model.weights.h5" in str(input_error(tmp_path / "noweights.keras"))
    with zipfile.ZipFile(tmp_path / "badjson.keras", "w") as z:
        z.writestr("config.json", "{not json")
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    assert "JSON" in str(input_error(tmp_path / "badjson.keras"))
    with zipfile.ZipFile(tmp_path / "badh5.keras", "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"not hdf5")
    assert "HDF5" in str(input_error(tmp_path / "badh5.keras"))


# -------------------------------------------------------------------------- bad input


def test_missing_and_empty(tmp_path):
    assert "no such file" in str(input_error(tmp_path / "absent.npz"))
    (tmp_path / "empty.safetensors").write_bytes(b"")
    assert "empty" in str(input_error(tmp_path / "empty.safetensors"))
    (tmp_path / "folder.npz").mkdir()
    assert "directory" in str(input_error(tmp_path / "folder.npz"))


@pytest.mark.parametrize("name", ["weights.npy", "weights.txt", "weights", "model.tflite", "w.pkl"])
def test_unsupported_extension(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x00" * 16)
    assert "unsupported file type" in str(input_error(tmp_path / name))


@pytest.mark.parametrize("path", NO_TORCH_FILES[::2], ids=lambda p: p.name)
def test_truncated_fixture(tmp_path, path):
    data = path.read_bytes()
    bad = tmp_path / path.name
    bad.write_bytes(data[: len(data) // 2])
    input_error(bad)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors", ".pt", ".keras", ".weights.h5", ".h5"])
def test_random_bytes(tmp_path, suffix):
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    input_error(path)


@pytest.mark.parametrize(
    "state, needle",
    [
        ({"weight_ih_l0": np.ones((12, 3)), "weight_hh_l0": np.ones((5, 4))}, "weight_hh_l0 has shape (5, 4)"),
        ({"weight_ih_l0": np.ones((12, 3)), "weight_hh_l0": np.ones((8, 4))}, "2·H rows"),
        ({"weight_ih_l0": np.ones((9, 3)), "weight_hh_l0": np.ones((12, 4))}, "weight_ih_l0 has shape (9, 3)"),
        ({"weight_ih_l0": np.ones(12), "weight_hh_l0": np.ones((12, 4))}, "weight_ih_l0 has shape (12,)"),
        ({**torch_state("gru"), "bias_ih_l0": np.ones(5)}, "bias_ih_l0 has shape (5,)"),
        ({**torch_state("gru"), "weight_hh_l0": np.full((12, 4), np.nan)}, "NaN"),
        ({**torch_state("gru"), "bias_hh_l0": np.full(12, np.inf)}, "inf"),
        ({k: v for k, v in torch_state("gru").items() if k != "weight_ih_l0"}, "weight_ih_l0 is missing"),
        ({k: v for k, v in torch_state("gru").items() if k != "bias_hh_l0"}, "bias_hh_l0 is missing"),
        ({**torch_state("gru"), "weight_ih_l0": np.ones((12, 3), dtype=complex)}, "dtype complex"),
        ({**torch_state("gru"), "weight_ih_l0": np.full((12, 3), "a")}, "dtype <U1"),
        ({"weight_ih_l0": np.ones((12, 3)), "weight_hh_l0": np.ones((12, 4)),
          "weight_ih_l2": np.ones((12, 4)), "weight_hh_l2": np.ones((12, 4))}, "a layer is missing"),
        (torch_state("gru", layers=2) | {"weight_ih_l1": np.ones((9, 4))}, "weight_ih_l1 has shape (9, 4)"),
        (torch_state("gru") | {"weight_ih_l1": np.ones((16, 3)), "weight_hh_l1": np.ones((16, 4))},
         "the layers do not stack"),
        ({**torch_state("gru"), "weight_ih": np.ones((12, 3)), "weight_hh": np.ones((12, 4))}, "mixes cell names"),
        ({**torch_state("gru"), "weight_ih_l0_reverse": np.ones((12, 3))}, "bidirectional"),
        ({**torch_state("lstm"), "weight_hr_l0": np.ones((2, 4))}, "proj_size"),
        ({"foo": np.ones(3), "bar": np.ones(2)}, "no recurrent weights found"),
        ({"weight_x": np.ones((2, 1)), "weight_h": np.ones((2, 3))}, "weight_h has shape (2, 3)"),
        ({"weight_x": np.ones((3, 1)), "weight_h": np.ones((2, 2))}, "weight_x has shape (3, 1)"),
        ({"weight_x": np.ones((2, 1)), "weight_h": np.ones((2, 2)), "bias": np.ones(3)}, "bias has shape"),
    ],
    ids=[
        "hh-not-multiple", "hh-two-blocks", "ih-rows", "ih-1d", "bias-length", "nan", "inf",
        "missing-weight", "one-bias", "complex", "strings", "layer-gap", "layer-1-shape",
        "mixed-kinds-widths", "mixed-naming", "bidirectional", "proj-size", "unrelated",
        "seed-h", "seed-x", "seed-bias",
    ],
)
@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_bad_contents(tmp_path, state, needle, suffix):
    path = tmp_path / f"bad{suffix}"
    if suffix == ".npz":
        np.savez(path, **state)
    else:
        if any(np.asarray(v).dtype.kind not in "fiub" for v in state.values()):
            pytest.skip("safetensors cannot store this dtype")
        save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, str(path))
    assert needle in str(input_error(path))


def test_npz_that_is_really_something_else(tmp_path):
    np.save(tmp_path / "array.npy", np.ones(3))
    os.replace(tmp_path / "array.npy", tmp_path / "array.npz")
    assert ".npy" in str(input_error(tmp_path / "array.npz"))
    (tmp_path / "text.npz").write_text("weight_ih_l0 = 1\n")
    assert "not an .npz" in str(input_error(tmp_path / "text.npz"))


def test_object_array_npz_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    state = torch_state("gru")
    state["weight_ih_l0"] = np.array([Evil(marker)], dtype=object)
    np.savez(tmp_path / "objects.npz", **state)
    err = input_error(tmp_path / "objects.npz")
    assert "object array" in str(err)
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".npz", ".npy", ".safetensors", ".keras", ".weights.h5", ".h5"])
@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_malicious_pickle_under_every_extension(tmp_path, suffix, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / f"evil{suffix}"
    path.write_bytes(pickle.dumps({"weight_ih_l0": Evil(marker)}, protocol=protocol))
    input_error(path)
    assert not marker.exists()


def test_pt_without_torch_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch → ImportError
    err = input_error(FIXTURES / "torch_gru.pt")
    assert "needs PyTorch" in str(err) and "rnnviz[torch]" in str(err) and ".safetensors" in str(err)


def test_argument_checks():
    with pytest.raises(InputError, match="nonlinearity"):
        load_weights(FIXTURES / "torch_gru.npz", nonlinearity="swish")
    with pytest.raises(InputError, match="reset_after"):
        load_weights(FIXTURES / "torch_gru.npz", reset_after="yes")


# ------------------------------------------------------------------------------ fuzzing

FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _load_mutated(name: str, data: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        with open(path, "wb") as fh:
            fh.write(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return load_weights(path)
        except InputError as err:
            assert len(str(err).splitlines()) == 1, str(err)
            assert name in str(err)
            return err


@FUZZ
@given(path=st.sampled_from(NO_TORCH_FILES), cut=st.floats(0.0, 1.0, exclude_max=True))
def test_fuzz_truncated_files_raise_input_error(path, cut):
    data = path.read_bytes()
    result = _load_mutated(path.name, data[: int(len(data) * cut)])
    assert isinstance(result, InputError)


@FUZZ
@given(
    path=st.sampled_from(NO_TORCH_FILES),
    edits=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_fuzz_corrupted_bytes_give_a_model_or_input_error(path, edits):
    data = bytearray(path.read_bytes())
    for where, value in edits:
        data[int(where * len(data))] = value
    result = _load_mutated(path.name, bytes(data))
    assert isinstance(result, (InputError, Cell, Stack))


@FUZZ
@given(
    suffix=st.sampled_from([".npz", ".safetensors", ".keras", ".weights.h5", ".pt"]),
    prefix=st.sampled_from([b"", b"PK\x03\x04", b"\x89HDF\r\n\x1a\n", b"\x93NUMPY", b"\x80\x04"]),
    noise=st.binary(min_size=0, max_size=512),
)
def test_fuzz_random_bytes_raise_input_error(suffix, prefix, noise):
    result = _load_mutated(f"noise{suffix}", prefix + noise)
    assert isinstance(result, InputError)


# ------------------------------------------------------------------------------ export

MODELS = {
    "rnn-tanh": lambda: init_cell("rnn", 3, 4, seed=1),
    "rnn-relu": lambda: init_cell("rnn", 3, 4, seed=2, nonlinearity="relu"),
    "gru": lambda: init_cell("gru", 2, 5, seed=3),
    "gru-reset-before": lambda: init_cell("gru", 2, 5, seed=4, reset_after=False),
    "lstm": lambda: init_cell("lstm", 3, 2, seed=5),
    "lstm-nobias": lambda: init_cell("lstm", 3, 2, seed=6, bias=False),
    "stack": lambda: Stack((init_cell("gru", 3, 4, seed=7), init_cell("gru", 4, 4, seed=8))),
    "keras-mixed": lambda: load_weights(FIXTURES / "keras_stacked.keras"),
    "hard-sigmoid": lambda: load_weights(FIXTURES / "keras_lstm_hard_sigmoid.keras"),
}


def quietly_save(model, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        save_weights(model, path)


@pytest.mark.parametrize("name", MODELS)
def test_safetensors_round_trip_keeps_everything(tmp_path, name):
    model = MODELS[name]()
    path = tmp_path / "model.safetensors"
    quietly_save(model, path)
    assert_same_model(load_weights(path), model)


@pytest.mark.parametrize("name", MODELS)
def test_npz_round_trip_keeps_arrays(tmp_path, name):
    model = MODELS[name]()
    path = tmp_path / "model.npz"
    quietly_save(model, path)
    first = model.layers[0] if isinstance(model, Stack) else model
    loaded = load_weights(path, nonlinearity=first.nonlinearity if first.kind == "rnn" else "tanh",
                          reset_after=first.reset_after if first.kind == "gru" else None)
    a = model.layers if isinstance(model, Stack) else [model]
    b = loaded.layers if isinstance(loaded, Stack) else [loaded]
    assert [c.kind for c in a] == [c.kind for c in b]
    for x, y in zip(a, b):
        for field in ("W_ih", "W_hh", "b_ih", "b_hh"):
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field))
    if name in ("rnn-relu", "gru-reset-before"):
        assert_same_model(loaded, model)


def test_saved_files_use_pytorch_names(tmp_path):
    model = MODELS["stack"]()
    save_weights(model, tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz", allow_pickle=False) as z:
        assert sorted(z.files) == sorted(
            f"{p}_l{k}" for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") for k in (0, 1)
        )
        assert z["weight_ih_l0"].shape == (12, 3) and z["bias_hh_l1"].shape == (12,)


def test_saving_is_reproducible(tmp_path):
    model = MODELS["lstm"]()
    for suffix in (".npz", ".safetensors"):
        save_weights(model, tmp_path / f"a{suffix}")
        save_weights(model, tmp_path / f"b{suffix}")
        assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()


@pytest.mark.parametrize(
    "name, needle",
    [
        ("gru-reset-before", "reset_after=False.*compute something different"),
        ("hard-sigmoid", "hard_sigmoid.*compute something different"),
        ("keras-mixed", "mix kinds.*different hidden sizes.*no single PyTorch nn module"),
    ],
)
def test_warns_when_pytorch_would_differ(tmp_path, name, needle):
    with pytest.warns(UserWarning, match=needle):
        save_weights(MODELS[name](), tmp_path / "w.safetensors")
    assert load_weights(tmp_path / "w.safetensors") is not None  # written all the same


@pytest.mark.parametrize("name", ["rnn-tanh", "rnn-relu", "gru", "lstm", "lstm-nobias", "stack"])
def test_no_warning_when_pytorch_agrees(tmp_path, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_weights(MODELS[name](), tmp_path / "w.safetensors")


def test_npz_warns_about_what_it_cannot_record(tmp_path):
    with pytest.warns(UserWarning, match="nonlinearity"):
        save_weights(MODELS["rnn-relu"](), tmp_path / "relu.npz")


def test_save_problems(tmp_path):
    with pytest.raises(InputError, match="cannot save as .pt"):
        save_weights(MODELS["gru"](), tmp_path / "w.pt")
    with pytest.raises(TypeError):
        save_weights({"weight_ih_l0": np.ones((3, 1))}, tmp_path / "w.npz")


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_failed_save_leaves_no_file(tmp_path, monkeypatch, suffix):
    from rnnviz.io.weights import npz, safetensors

    def half_write(path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(npz, "_write_npz", half_write)
    monkeypatch.setattr(safetensors, "write_safetensors", half_write)
    target = tmp_path / f"model{suffix}"
    with pytest.raises(OSError, match="disk full"):
        save_weights(MODELS["gru"](), target)
    assert os.listdir(tmp_path) == []

    monkeypatch.undo()
    save_weights(MODELS["gru"](), target)
    before = target.read_bytes()
    monkeypatch.setattr(npz, "_write_npz", half_write)
    monkeypatch.setattr(safetensors, "write_safetensors", half_write)
    with pytest.raises(OSError):
        save_weights(MODELS["lstm"](), target)
    assert target.read_bytes() == before  # the old file survives a failed overwrite
    assert os.listdir(tmp_path) == [target.name]


def test_written_safetensors_read_back_by_the_library(tmp_path):
    from safetensors import safe_open

    model = MODELS["keras-mixed"]()
    quietly_save(model, tmp_path / "m.safetensors")
    with safe_open(str(tmp_path / "m.safetensors"), framework="np") as f:
        meta = f.metadata()
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    assert meta == {
        "rnnviz": "1", "kind": "lstm,gru", "nonlinearity": "tanh",
        "recurrent_activation": "sigmoid", "reset_after": "true",
    }
    np.testing.assert_array_equal(arrays["weight_hh_l1"], model.layers[1].W_hh)
    assert arrays["weight_ih_l0"].dtype == np.float64
