"""Fixtures for stacked bidirectional layers, in tests/fixtures/bidirectional_stack/.

    .venv/bin/python tools/make_bidirectional_stack_fixtures.py                        # PyTorch cases
    KERAS_BACKEND=torch /tmp/k3venv/bin/python tools/make_bidirectional_stack_fixtures.py --keras

PyTorch: ``nn.LSTM/GRU(D, H, num_layers=2, bidirectional=True)`` in float64; ``<case>.npz``
holds its state_dict, ``<case>.expected.npz`` ``xs`` (T, D), ``h`` the module's output (T, 2H),
and for the top layer ``influence_forward[t]`` = ‖∂h→_{t+1}/∂x_1‖_F and
``influence_backward[t]`` = ‖∂h←_{t+1}/∂x_T‖_F from autograd Jacobians.
Keras 3 (torch backend): two ``Bidirectional`` layers in a Sequential (LSTM concat, then GRU
sum); ``keras_lstm_gru.keras`` and its ``.expected.npz`` with ``xs`` and ``h`` (the model's
output) and ``h_l0`` (the first Bidirectional's). ``torch_bigru_head``: Embedding → GRU
(bidirectional) → Linear, its ``y`` logits for ``ids``. This script does not import rnnviz.
"""

from __future__ import annotations

import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "bidirectional_stack")
T, D, H = 6, 3, 4


def torch_cases() -> None:
    import torch

    torch.set_num_threads(1)
    for k, (name, cls) in enumerate((("torch_lstm2", torch.nn.LSTM), ("torch_gru2", torch.nn.GRU))):
        torch.manual_seed(10 + k)
        m = cls(D, H, num_layers=2, bidirectional=True).double()
        xs = np.random.default_rng(k).normal(0.0, 1.2, (T, D))
        x = torch.tensor(xs)
        h = m(x)[0].detach().numpy()
        infl = {}
        for direction, seed, cols in (("forward", 0, slice(0, H)), ("backward", T - 1, slice(H, 2 * H))):
            rows = []
            for t in range(T):
                J = torch.autograd.functional.jacobian(lambda z, t=t, cols=cols: m(z)[0][t, cols], x)
                rows.append(float(torch.linalg.norm(J[:, seed, :])))
            infl[direction] = np.array(rows)
        np.savez(os.path.join(OUT, f"{name}.npz"), **{k: v.detach().numpy() for k, v in m.state_dict().items()})
        np.savez(os.path.join(OUT, f"{name}.expected.npz"), xs=xs, h=h, influence_forward=infl["forward"],
                 influence_backward=infl["backward"])
        print(f"{name}: h {h.shape}")


def torch_whole_case() -> None:
    """An embedding, a bidirectional GRU and a Linear head over its (T, 2H) output."""
    import torch

    torch.manual_seed(21)
    emb, rnn, fc = torch.nn.Embedding(6, D), torch.nn.GRU(D, H, bidirectional=True), torch.nn.Linear(2 * H, 6)
    ids = np.array([1, 4, 2, 5, 0, 3])
    with torch.no_grad():
        y = fc(rnn(emb(torch.tensor(ids)))[0]).numpy().astype(np.float64)
    sd = {f"embedding.{k}": v for k, v in emb.state_dict().items()}
    sd.update({f"rnn.{k}": v for k, v in rnn.state_dict().items()})
    sd.update({f"fc.{k}": v for k, v in fc.state_dict().items()})
    np.savez(os.path.join(OUT, "torch_bigru_head.npz"), **{k: v.numpy() for k, v in sd.items()})
    np.savez(os.path.join(OUT, "torch_bigru_head.expected.npz"), ids=ids, y=y)
    print(f"torch_bigru_head: y {y.shape}")


def keras_case() -> None:
    os.environ["KERAS_BACKEND"] = "torch"
    import keras

    keras.utils.set_random_seed(3)
    first = keras.layers.Bidirectional(keras.layers.LSTM(H, return_sequences=True))
    second = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True), merge_mode="sum")
    model = keras.Sequential([keras.Input((None, D)), first, second])
    rng = np.random.default_rng(7)
    model.set_weights([rng.uniform(-1.0, 1.0, w.shape).astype(np.float32) for w in model.get_weights()])
    xs = rng.normal(0.0, 1.2, (T, D)).astype(np.float32)
    h = np.asarray(model(xs[None]).detach().numpy()[0], np.float64)
    h0 = np.asarray(first(xs[None]).detach().numpy()[0], np.float64)
    model.save(os.path.join(OUT, "keras_lstm_gru.keras"))
    np.savez(os.path.join(OUT, "keras_lstm_gru.expected.npz"), xs=xs.astype(np.float64), h=h, h_l0=h0)
    print(f"keras_lstm_gru: h {h.shape}, first layer {h0.shape}")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    if "--keras" in sys.argv:
        keras_case()
    else:
        torch_cases()
        torch_whole_case()
