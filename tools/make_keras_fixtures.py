"""Issue 10's Keras 3 fixtures (Keras 3 on the torch backend), in tests/fixtures/keras_issue10/.

Run with a throwaway venv holding torch, keras and h5py (never rnnviz's dependencies):

    KERAS_BACKEND=torch /tmp/k3/bin/python tools/make_keras_fixtures.py

Each case saves what a user would (``model.save("m.keras")``, ``model.save_weights
("m.weights.h5")``, ``model.save("m.h5")``) and ``<case>.expected.npz`` (see
:func:`make_keras_fixtures_common.expected_arrays`) whose h is the layer's own output and whose
gates and c come from Keras's equations, checked against that output. The Keras 2 cases come
from ``make_keras_fixtures_tf2.py``. This script does not import rnnviz.
"""

from __future__ import annotations

import os
import sys

os.environ["KERAS_BACKEND"] = "torch"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from make_keras_fixtures_common import (  # noqa: E402
    OUT, cell_equations, check, expected_arrays, normalise_keras_archive, write_npz,
)

T, D = 8, 3
torch.set_num_threads(1)
KINDS = {"SimpleRNN": "rnn", "GRU": "gru", "LSTM": "lstm"}


def cells_of(layer):
    """(name, kind, cell) for a recurrent layer; RNN(StackedRNNCells) gives one per cell."""
    cell = layer.cell
    if type(cell).__name__ == "StackedRNNCells":
        return [(f"{layer.name}/{k}", type(c).__name__[:-4], c) for k, c in enumerate(cell.cells)]
    return [(layer.name, type(cell).__name__[:-4], cell)]


def cell_config(cell):
    cfg = {"activation": cell.activation.__name__}
    if hasattr(cell, "recurrent_activation"):
        cfg["recurrent_activation"] = cell.recurrent_activation.__name__
    if hasattr(cell, "reset_after"):
        cfg["reset_after"] = bool(cell.reset_after)
    return cfg


def case(name, build, seed, xs=None, mask_value=None, formats=(".keras", ".weights.h5"), scale=1.2):
    import keras

    keras.utils.set_random_seed(seed)
    model = build(keras)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.uniform(-scale, scale, w.shape).astype(np.float32) for w in layer.get_weights()])
    if xs is None:
        xs = rng.normal(0.0, 1.5, (T, D))
    xs = np.asarray(xs, np.float32).astype(np.float64)
    mask = None if mask_value is None else ~np.all(xs == mask_value, axis=1)

    # Each recurrent layer's input: what Keras computed just before it (through the graph).
    layers = {}
    for layer in model.layers:
        if type(layer).__name__ not in ("SimpleRNN", "GRU", "LSTM", "RNN"):
            continue
        node_input = layer._inbound_nodes[0].input_tensors[0]
        feed = keras.Model(model.inputs[0], [node_input, layer.output])
        seq, out = (np.asarray(a.detach().numpy()[0], np.float64) for a in feed(xs[None].astype(np.float32)))
        # Keras passes the mask from Masking through Dropout and the recurrent layers
        # (return_sequences=True); the input row of a masked step is all mask_value.
        layer_mask = mask
        x = seq
        for cname, kind_name, cell in cells_of(layer):
            kind = KINDS[kind_name]
            h, c, gates, m = cell_equations(kind, [v.numpy() for v in cell.weights], cell_config(cell), x,
                                            keras_major=3, mask=layer_mask, go_backwards=layer.go_backwards)
            x, layer_mask = h, m  # the next cell of a StackedRNNCells reads this one's h
            layers[cname] = (h, c, gates, m)
        check(f"{name} {layer.name} h", x, out, 2e-5)
        layers[cells_of(layer)[-1][0]] = (out,) + layers[cells_of(layer)[-1][0]][1:]

    os.makedirs(OUT, exist_ok=True)
    for suffix in formats:
        path = os.path.join(OUT, f"{name}{suffix}")
        if suffix == ".keras":
            model.save(path)
            normalise_keras_archive(path)
            again = keras.saving.load_model(path)
            outs = lambda m: [o.detach().numpy() for o in keras.tree.flatten(m(xs[None].astype(np.float32)))]  # noqa: E731
            for a, b in zip(outs(again), outs(model)):
                check(f"{name} reloaded", a, b, 0.0)
        elif suffix == ".weights.h5":
            model.save_weights(path)
        else:
            model.save(path)  # legacy HDF5: model_config attribute + model_weights group
    write_npz(os.path.join(OUT, f"{name}.expected.npz"), expected_arrays(xs, layers))


def seq(*layers):
    return lambda keras: keras.Sequential([keras.Input((T, D))] + [f(keras) for f in layers])


def main() -> None:
    L = lambda **kw: (lambda k: k.layers.LSTM(4, return_sequences=True, name="lstm", **kw))  # noqa: E731
    G = lambda **kw: (lambda k: k.layers.GRU(4, return_sequences=True, name="gru", **kw))  # noqa: E731

    # 1. What a bare .weights.h5 cannot say, so the options must.
    case("k3_lstm_hard_sigmoid", seq(L(recurrent_activation="hard_sigmoid")), seed=101)
    case("k3_lstm_relu", seq(L(activation="relu")), seed=102, scale=0.8)
    case("k3_lstm_rec_relu", seq(L(recurrent_activation="relu")), seed=103, scale=0.6)
    case("k3_gru_nobias_before", seq(G(use_bias=False, reset_after=False)), seed=104)
    # 6. go_backwards, alone and at the bottom of a stack.
    case("k3_gru_backwards", seq(G(go_backwards=True)), seed=105)
    case("k3_backwards_stack", seq(
        lambda k: k.layers.LSTM(5, return_sequences=True, go_backwards=True, name="first"),
        lambda k: k.layers.GRU(4, return_sequences=True, name="second")), seed=106)

    # 3. Masking: padded steps at the end and one inside.
    xs = np.random.default_rng(107).normal(0.0, 1.5, (T, D))
    xs[3] = 0.0
    xs[-3:] = 0.0
    case("k3_masking", seq(lambda k: k.layers.Masking(0.0, name="masking"), L()), seed=107, xs=xs, mask_value=0.0)
    xs2 = xs.copy()
    xs2[0] = 0.0  # x_1 itself masked
    case("k3_masking_stack", seq(
        lambda k: k.layers.Masking(0.0, name="masking"), G(),
        lambda k: k.layers.LSTM(3, return_sequences=True, name="top")), seed=108, xs=xs2, mask_value=0.0)

    # 4. Two parallel LSTM branches whose widths happen to chain (a: 3 -> 3, b: 3 -> 4).
    def branches(keras):
        inp = keras.Input((T, D), name="sequence")
        a = keras.layers.LSTM(D, return_sequences=True, name="branch_a")(inp)
        b = keras.layers.LSTM(4, return_sequences=True, name="branch_b")(inp)
        out = keras.layers.Concatenate(name="join")([a, b])
        return keras.Model(inp, keras.layers.Dense(2, name="head")(out))

    case("k3_branches", branches, seed=109)

    # A functional chain with a side output: still one stack.
    def chain_with_tap(keras):
        inp = keras.Input((T, D), name="sequence")
        a = keras.layers.GRU(5, return_sequences=True, name="lower")(inp)
        b = keras.layers.LSTM(4, return_sequences=True, name="upper")(keras.layers.Dropout(0.2, name="drop")(a))
        return keras.Model(inp, [keras.layers.Dense(1, name="tap")(a), b])

    case("k3_chain_tap", chain_with_tap, seed=110)

    # 7. RNN([LSTMCell, LSTMCell]).
    case("k3_stacked_cells", seq(lambda k: k.layers.RNN(
        [k.layers.LSTMCell(5), k.layers.LSTMCell(4)], return_sequences=True, name="rnn")), seed=111)

    # 5. Legacy HDF5 written by Keras 3.
    case("k3_legacy", seq(L(recurrent_activation="hard_sigmoid"),
                          lambda k: k.layers.GRU(3, return_sequences=True, reset_after=False, name="gru"),
                          lambda k: k.layers.Dense(2, name="head")),
         seed=112, formats=(".h5",))

    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"fixtures written to {OUT} ({total / 1024:.0f} KiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
