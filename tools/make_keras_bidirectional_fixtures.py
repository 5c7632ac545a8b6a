"""Keras 3 Bidirectional fixtures (Keras 3 on the torch backend), in tests/fixtures/keras_bidirectional/.

Run with a throwaway venv holding torch, keras and h5py (never rnnviz's dependencies):

    KERAS_BACKEND=torch /tmp/k3venv/bin/python tools/make_keras_bidirectional_fixtures.py

For each case it saves ``<case>.keras`` (and for concat ``<case>.weights.h5``) of
``Sequential([Input((None, D)), Bidirectional(LAYER(H, return_sequences=True), merge_mode)])``
and ``<case>.expected.npz``: ``xs`` (T, D), ``h`` the Bidirectional layer's own output, and
``h_forward`` / ``h_backward`` its two layers' outputs in the input's time order (Keras runs the
backward layer with go_backwards=True and flips its output back). This script does not import rnnviz.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402
import torch  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "keras_bidirectional")
T, D, H = 6, 3, 4
CASES = [("lstm_concat", "LSTM", "concat"), ("gru_sum", "GRU", "sum"), ("rnn_mul", "SimpleRNN", "mul"),
         ("lstm_ave", "LSTM", "ave")]


def main() -> None:
    import keras

    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for k, (name, cls, mode) in enumerate(CASES):
        keras.utils.set_random_seed(k)
        layer = keras.layers.Bidirectional(getattr(keras.layers, cls)(H, return_sequences=True), merge_mode=mode)
        model = keras.Sequential([keras.Input((None, D)), layer])
        rng = np.random.default_rng(k)
        model.set_weights([rng.uniform(-1.2, 1.2, w.shape).astype(np.float32) for w in model.get_weights()])
        xs = rng.normal(0.0, 1.5, (T, D)).astype(np.float32)
        h = np.asarray(model(xs[None]).detach().numpy()[0], np.float64)
        fwd = np.asarray(layer.forward_layer(xs[None]).detach().numpy()[0], np.float64)
        bwd = np.asarray(layer.backward_layer(xs[None]).detach().numpy()[0], np.float64)[::-1]  # input order
        merged = {"concat": np.concatenate([fwd, bwd], 1), "sum": fwd + bwd, "mul": fwd * bwd,
                  "ave": (fwd + bwd) / 2}[mode]
        assert np.allclose(merged, h, atol=1e-6), name  # the layer merges what its two layers return
        model.save(os.path.join(OUT, f"{name}.keras"))
        if mode == "concat":
            model.save_weights(os.path.join(OUT, f"{name}.weights.h5"))
        np.savez(os.path.join(OUT, f"{name}.expected.npz"), xs=xs.astype(np.float64), h=h, h_forward=fwd,
                 h_backward=np.ascontiguousarray(bwd))
        print(f"{name}: {cls} merge_mode={mode}, h {h.shape}")


if __name__ == "__main__":
    main()
