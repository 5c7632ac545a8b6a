"""Whole-model fixtures whose vocabulary is stored in the model (tf.keras 2.15), in tests/fixtures/whole/.

Keras 3's TextVectorization and StringLookup need TensorFlow; these files are made by tf.keras 2.15
in a throwaway venv holding tensorflow-cpu 2.15 (never rnnviz's dependency):

    /tmp/tf215/bin/python tools/make_whole_model_fixtures_tf2.py

``k2_textvec.keras``: string → ``TextVectorization(split="character", standardize="lower")`` →
``Embedding`` → ``LSTM`` (sequences) → ``Dense(softmax)``. ``k2_lookup.keras``: words →
``StringLookup`` (an OOV token at id 0) → ``Embedding`` → ``GRU`` (sequences) → ``Dense(3,
softmax)``. Each ``<case>.expected.npz`` holds ``text``, ``ids`` (what the lookup layer gives),
``xs`` = E[ids], ``h``, ``c`` (LSTM) and ``y`` from the layers themselves. Nothing here imports rnnviz.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_keras_fixtures_common import normalise_keras_archive  # noqa: E402 - deflated, fixed dates

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures", "whole")
CHARS = sorted(set("hello world"))
WORDS = ["the", "dog", "ate", "apple", "everybody", "read", "that", "book"]


def randomise(model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-1.2, 1.2, w.shape).astype(np.float32) if w.dtype.kind == "f" else w
                       for w in model.get_weights()])


def lstm_c(layer, xs) -> np.ndarray:
    cell = layer.cell
    state = [tf.zeros((1, cell.units)), tf.zeros((1, cell.units))]
    cs = []
    for x in xs:
        _, state = cell(tf.constant(x[None]), state)
        cs.append(state[1].numpy()[0])
    return np.array(cs)


def main() -> None:
    tf.keras.utils.set_random_seed(0)
    vec = tf.keras.layers.TextVectorization(standardize="lower", split="character", vocabulary=CHARS, name="chars")
    V = len(vec.get_vocabulary())  # "" (padding), "[UNK]", then CHARS
    inp = tf.keras.Input((1,), dtype=tf.string)
    emb = tf.keras.layers.Embedding(V, 4, name="emb")
    lstm = tf.keras.layers.LSTM(5, return_sequences=True, name="lstm")
    dense = tf.keras.layers.Dense(V, activation="softmax", name="next")
    model = tf.keras.Model(inp, dense(lstm(emb(vec(inp)))))
    randomise(model, 0)
    text = "Hello World"
    ids = vec(tf.constant([[text]])).numpy()[0]
    xs = emb(ids[None]).numpy()[0]
    h = lstm(xs[None]).numpy()[0]
    y = model(tf.constant([[text]])).numpy()[0]
    model.save(os.path.join(OUT, "k2_textvec.keras"))
    normalise_keras_archive(os.path.join(OUT, "k2_textvec.keras"))
    np.savez(os.path.join(OUT, "k2_textvec.expected.npz"), text=np.array(text), ids=ids, xs=xs, h=h,
             c=lstm_c(lstm, xs), y=y, vocabulary=np.array(vec.get_vocabulary()))
    print("k2_textvec:", vec.get_vocabulary(), ids)

    tf.keras.utils.set_random_seed(1)
    look = tf.keras.layers.StringLookup(vocabulary=WORDS, name="words")
    V = look.vocabulary_size()  # "[UNK]" at 0, then WORDS
    inp = tf.keras.Input((None,), dtype=tf.string)
    emb = tf.keras.layers.Embedding(V, 3, name="emb")
    gru = tf.keras.layers.GRU(4, return_sequences=True, name="gru")
    dense = tf.keras.layers.Dense(3, activation="softmax", name="tags")
    model = tf.keras.Model(inp, dense(gru(emb(look(inp)))))
    randomise(model, 1)
    sentence = "everybody read that book the cat ate the apple"  # "cat" is out of the vocabulary
    words = tf.constant([sentence.split()])
    ids = look(words).numpy()[0]
    xs = emb(ids[None]).numpy()[0]
    h = gru(xs[None]).numpy()[0]
    y = model(words).numpy()[0]
    model.save(os.path.join(OUT, "k2_lookup.keras"))
    normalise_keras_archive(os.path.join(OUT, "k2_lookup.keras"))
    np.savez(os.path.join(OUT, "k2_lookup.expected.npz"), text=np.array(sentence), ids=ids, xs=xs, h=h, y=y,
             vocabulary=np.array(look.get_vocabulary()))
    print("k2_lookup:", look.get_vocabulary(), ids)


if __name__ == "__main__":
    main()
