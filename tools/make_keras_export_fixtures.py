"""Fixtures for rnnviz's Keras export (tests/fixtures/keras_export/): does real Keras 3 take it?

Run in a throwaway venv holding keras, a backend and h5py (never rnnviz's dependencies); rnnviz
is imported from this checkout:

    python3 -m venv /tmp/k3 && /tmp/k3/bin/pip install keras "jax[cpu]" h5py
    KERAS_BACKEND=jax /tmp/k3/bin/python tools/make_keras_export_fixtures.py

For each case, a seeded rnnviz model (engine.train.init_model) is written with
:func:`rnnviz.io.weights.keras_write.write_keras_weights` (float32, as Keras keeps weights), and
Keras builds ``Sequential([Input((None, D)), <Layer>(H, return_sequences=True) …, Dense(O)])``,
``load_weights`` the file and runs a fixed input. Saved per case: ``<case>.weights.h5`` (what
Keras itself writes after loading ours, with ``save_weights``) and ``<case>.expected.npz``
(``xs`` (B, T, D), Keras's ``y`` (B, T, O), and the seed, sizes and cell). The tests rebuild the
same model, write it again and check it matches Keras's file array for array, and that the
engine's outputs are Keras's.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

import keras  # noqa: E402

from rnnviz.engine.cells import CHOICES  # noqa: E402
from rnnviz.engine.train import init_model  # noqa: E402
from rnnviz.io.weights.keras_write import write_keras_weights  # noqa: E402

OUT = os.path.join(ROOT, "tests", "fixtures", "keras_export")
D, H, O, T, B = 3, 5, 2, 9, 2
#: case -> (cell choice, layers)
CASES = {"rnn_tanh": ("rnn_tanh", 1), "rnn_relu": ("rnn_relu", 1), "gru": ("gru", 1), "lstm": ("lstm", 1),
         "gru_stack": ("gru", 2), "lstm_stack": ("lstm", 2)}
LAYERS = {"rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU, "lstm": keras.layers.LSTM}


def model_of(key: str, layers: int, seed: int):
    choice = CHOICES[key]
    return init_model(choice.kind, D, H, O, layers=layers, seed=seed, **choice.options)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    for seed, (case, (key, layers)) in enumerate(CASES.items()):
        ours = model_of(key, layers, seed)
        choice = CHOICES[key]
        mine = os.path.join(OUT, f"{case}.rnnviz.weights.h5")
        write_keras_weights(mine, ours.rnn.layers, (ours.fc.W_hy, ours.fc.b_y))
        options = {"activation": choice.options["nonlinearity"]} if choice.kind == "rnn" else {}
        keras_model = keras.Sequential(
            [keras.Input((None, D))]
            + [LAYERS[choice.kind](H, return_sequences=True, **options) for _ in range(layers)]
            + [keras.layers.Dense(O)])
        keras_model.load_weights(mine)
        xs = np.random.default_rng(100 + seed).normal(size=(B, T, D)).astype(np.float32)
        y = np.asarray(keras_model.predict(xs, verbose=0), dtype=np.float32)
        keras_model.save_weights(os.path.join(OUT, f"{case}.weights.h5"))
        os.remove(mine)
        np.savez(os.path.join(OUT, f"{case}.expected.npz"), xs=xs, y=y, seed=seed, key=key, layers=layers,
                 D=D, H=H, O=O, keras_version=keras.__version__, backend=keras.backend.backend())
        print(case, y.shape)


if __name__ == "__main__":
    main()
