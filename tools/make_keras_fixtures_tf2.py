"""Issue 10's Keras 2 fixtures (tf.keras 2.15), in tests/fixtures/keras_issue10/.

Run with a throwaway venv holding tensorflow-cpu 2.15 and h5py (never rnnviz's dependencies):

    /tmp/tf215/bin/python tools/make_keras_fixtures_tf2.py

Keras 2 files are the legacy HDF5 of ``model.save("m.h5")`` / ``ModelCheckpoint("best.h5")``
(a ``model_config`` attribute and a ``model_weights`` group), and Keras 2.15's ``.keras``
(``keras_version`` 2.15 in metadata.json). Keras 2's hard_sigmoid is clip(0.2 x + 0.5, 0, 1).
h comes from the layers themselves; c and the gates from Keras's equations, checked against h.
This script does not import rnnviz.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from make_keras_fixtures_common import (  # noqa: E402
    OUT, cell_equations, check, expected_arrays, normalise_keras_archive, write_npz,
)

T, D = 8, 3
KINDS = {"SimpleRNN": "rnn", "GRU": "gru", "LSTM": "lstm"}
keras = tf.keras


def config_of(layer):
    cfg = {"activation": layer.activation.__name__}
    if hasattr(layer, "recurrent_activation"):
        cfg["recurrent_activation"] = layer.recurrent_activation.__name__
    if hasattr(layer, "reset_after"):
        cfg["reset_after"] = bool(layer.reset_after)
    return cfg


def case(name, layers_fn, seed, formats, scale=1.2):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((T, D))] + layers_fn())
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.uniform(-scale, scale, w.shape).astype(np.float32) for w in layer.get_weights()])
    xs = rng.normal(0.0, 1.5, (T, D)).astype(np.float32).astype(np.float64)
    expected = {}
    for layer in model.layers:
        kind = KINDS.get(type(layer).__name__)
        if kind is None:
            continue
        feed = keras.Model(model.inputs[0], [layer.input, layer.output])
        seq, out = (np.asarray(a[0], np.float64) for a in feed(xs[None].astype(np.float32)))
        h, c, gates, m = cell_equations(kind, layer.get_weights(), config_of(layer), seq, keras_major=2,
                                        go_backwards=layer.go_backwards)
        check(f"{name} {layer.name} h", h, out, 2e-5)
        expected[layer.name] = (out, c, gates, m)
    os.makedirs(OUT, exist_ok=True)
    for suffix in formats:
        path = os.path.join(OUT, f"{name}{suffix}")
        model.save(path)
        if suffix == ".keras":
            normalise_keras_archive(path)
        again = keras.models.load_model(path)
        check(f"{name}{suffix} reloaded", again(xs[None].astype(np.float32)), model(xs[None].astype(np.float32)), 0.0)
    write_npz(os.path.join(OUT, f"{name}.expected.npz"), expected_arrays(xs, expected))


def main() -> None:
    case("k2_lstm_hard_sigmoid", lambda: [
        keras.layers.LSTM(4, return_sequences=True, recurrent_activation="hard_sigmoid", name="lstm")],
        seed=201, formats=(".keras", ".h5"))
    case("k2_stack", lambda: [
        keras.layers.LSTM(5, return_sequences=True, recurrent_activation="hard_sigmoid", name="lstm"),
        keras.layers.Dropout(0.2, name="dropout"),
        keras.layers.GRU(4, return_sequences=True, name="gru"),
        keras.layers.Dense(2, name="head")],
        seed=202, formats=(".h5",))
    case("k2_gru_before_backwards", lambda: [
        keras.layers.GRU(4, return_sequences=True, reset_after=False, go_backwards=True, name="gru")],
        seed=203, formats=(".h5",))
    print(f"Keras {keras.__version__ if hasattr(keras, '__version__') else tf.__version__} fixtures written to {OUT}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
