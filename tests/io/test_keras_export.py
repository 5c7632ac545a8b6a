"""A trained model exported as a Keras 3 ``.weights.h5``: rnnviz's own reader and real Keras take it.

The fixtures in tests/fixtures/keras_export/ come from tools/make_keras_export_fixtures.py: Keras
3 loaded rnnviz's file into ``Sequential([Input, <Layer>(H, return_sequences=True) …, Dense(O)])``,
ran a fixed input and saved its own weights file back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import h5py
import numpy as np
import pytest

from rnnviz.engine import InputError, run
from rnnviz.engine.cells import CHOICES
from rnnviz.engine.train import forward, init_model
from rnnviz.io import load_weights
from rnnviz.io.weights.keras_write import keras_layer_names, write_keras_weights

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras_export")
CASES = ("rnn_tanh", "rnn_relu", "gru", "lstm", "gru_stack", "lstm_stack")


def _model(key, layers=1, seed=0, D=3, H=5, O=2):
    c = CHOICES[key]
    return init_model(c.kind, D, H, O, layers=layers, seed=seed, **c.options)


def _datasets(path) -> dict:
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def _load(path, key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a .weights.h5 records no activation: assumed, with a note
        return load_weights(path, nonlinearity=CHOICES[key].options.get("nonlinearity"))


@pytest.mark.parametrize("key", list(CHOICES))
@pytest.mark.parametrize("layers", [1, 2])
def test_rnnviz_reads_its_keras_export_back_with_the_same_outputs(tmp_path, key, layers):
    model = _model(key, layers, seed=3)
    path = tmp_path / "m.weights.h5"
    write_keras_weights(path, model.rnn.layers, (model.fc.W_hy, model.fc.b_y), dtype=np.float64)
    back = _load(path, key)
    xs = np.random.default_rng(1).normal(size=(11, 3))
    h = run(back, xs, influence=False, dtype=np.float64).h
    y, _ = forward(model, xs[None], dtype=np.float64)
    np.testing.assert_allclose(h, run(model.rnn, xs, influence=False, dtype=np.float64).h, atol=1e-12)
    np.testing.assert_allclose(model.fc.logits(h), y[0], atol=1e-12)
    with h5py.File(path, "r") as f:  # the Dense head where Keras keeps it
        assert f["layers/dense/vars/0"].shape == (5, 2) and f["layers/dense/vars/1"].shape == (2,)


@pytest.mark.parametrize("case", CASES)
def test_the_export_is_the_file_keras_writes_and_keras_computes_our_outputs(tmp_path, case):
    exp = np.load(os.path.join(FIXTURES, f"{case}.expected.npz"))
    key, layers, seed = str(exp["key"]), int(exp["layers"]), int(exp["seed"])
    model = _model(key, layers, seed)
    ours = tmp_path / "ours.weights.h5"
    write_keras_weights(ours, model.rnn.layers, (model.fc.W_hy, model.fc.b_y))
    theirs = _datasets(os.path.join(FIXTURES, f"{case}.weights.h5"))  # Keras's save_weights after loading ours
    mine = _datasets(ours)
    assert sorted(mine) == sorted(theirs)
    for name in theirs:
        assert mine[name].dtype == theirs[name].dtype == np.float32, name
        np.testing.assert_array_equal(mine[name], theirs[name], err_msg=name)
    y, _ = forward(model, exp["xs"].astype(np.float64), dtype=np.float64)
    np.testing.assert_allclose(y, exp["y"], rtol=1e-5, atol=1e-5)  # Keras's own forward pass, float32


def test_layer_names_follow_keras_sequential():
    layers = _model("lstm", 3).rnn.layers
    assert keras_layer_names(layers) == ["lstm", "lstm_1", "lstm_2", "dense"]
    assert keras_layer_names(_model("rnn_tanh").rnn.layers, head=False) == ["simple_rnn"]


def test_what_keras_cannot_hold_is_refused_in_one_line(tmp_path):
    proj = load_weights(os.path.join(FIXTURES, "..", "torch_lstm_proj.safetensors"))
    with pytest.raises(InputError, match="proj_size") as err:
        write_keras_weights(tmp_path / "p.weights.h5", [proj])
    assert "p.weights.h5" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(InputError, match="must end in .weights.h5"):
        write_keras_weights(tmp_path / "p.h5", _model("gru").rnn.layers)
    assert not os.listdir(tmp_path)


def test_the_train_mode_exports_a_trained_model_as_keras_weights(tmp_path):
    from rnnviz.core.training import TrainConfig, TrainSession, export_model

    s = TrainSession(TrainConfig(cell="gru", length=8, hidden_size=4, batch=8, test_batch=8))
    s.step(3)
    model = s.models()["gru"]
    path = tmp_path / "trained.weights.h5"
    export_model(model, path)
    back = _load(path, "gru")
    xs = s.test_sequence(0)[0]
    h = run(back, xs, influence=False, dtype=np.float64).h
    np.testing.assert_allclose(h, run(model.rnn, xs, influence=False, dtype=np.float64).h, atol=1e-5)
    with pytest.raises(InputError, match=r"\.weights\.h5"):
        export_model(model, tmp_path / "trained.h5")


def test_rnnviz_train_writes_keras_weights(tmp_path):
    out = tmp_path / "out.weights.h5"
    proc = subprocess.run([sys.executable, "-m", "rnnviz", "train", "--task", "adding", "--length", "6",
                           "--cell", "lstm", "--hidden", "4", "--steps", "3", "--batch", "4", "-o", str(out),
                           "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        assert f["layers/lstm/cell/vars/1"].shape == (4, 16) and f["layers/dense/vars/0"].shape == (4, 1)
    bad = subprocess.run([sys.executable, "-m", "rnnviz", "train", "--task", "adding", "-o",
                          str(tmp_path / "out.h5")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and ".weights.h5" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_live_keras_loads_the_export_and_computes_the_same_outputs(tmp_path):
    keras = pytest.importorskip("keras")
    model = _model("gru", 2, seed=5)
    path = tmp_path / "m.weights.h5"
    write_keras_weights(path, model.rnn.layers, (model.fc.W_hy, model.fc.b_y))
    k = keras.Sequential([keras.Input((None, 3)), keras.layers.GRU(5, return_sequences=True),
                          keras.layers.GRU(5, return_sequences=True), keras.layers.Dense(2)])
    k.load_weights(str(path))
    xs = np.random.default_rng(2).normal(size=(2, 7, 3)).astype(np.float32)
    y, _ = forward(model, xs.astype(np.float64), dtype=np.float64)
    np.testing.assert_allclose(np.asarray(k.predict(xs, verbose=0)), y, rtol=1e-5, atol=1e-5)
