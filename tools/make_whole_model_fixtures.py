"""Whole-model fixtures: an embedding, the recurrent stack and an output head, in tests/fixtures/whole/.

PyTorch 2.13 and Keras 3 on the torch backend, in a throwaway venv (never rnnviz's dependencies):

    KERAS_BACKEND=torch /tmp/k3venv/bin/python tools/make_whole_model_fixtures.py

The Keras 2 cases with a TextVectorization / StringLookup vocabulary are made by
``tools/make_whole_model_fixtures_tf2.py`` (tf.keras 2.15; Keras 3's text layers need TensorFlow).

Each case writes its model in the framework's own format(s), a vocabulary file where the case has
one, and ``<case>.expected.npz``: ``ids`` (T,), ``xs`` (T, D) = E[ids] (what the recurrent layer
reads), ``h`` (T, H) of the last recurrent layer, ``c`` (LSTM), ``y`` (T, O) the head on every
step, and for a Keras model that returns its last step only ``y_last`` (O,), the model's own
output. Every number comes from the framework's modules; nothing here imports rnnviz.
"""

from __future__ import annotations

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_keras_fixtures_common import normalise_keras_archive  # noqa: E402 - deflated, fixed dates

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures", "whole")
CHARS = sorted(set("hello world"))  # " dehlorw"
WORDS = ["<unk>", "the", "dog", "ate", "apple", "everybody", "read", "that", "book"]


def save_npz(name: str, **arrays) -> None:
    np.savez(os.path.join(OUT, f"{name}.expected.npz"), **{k: np.asarray(v) for k, v in arrays.items()})


def check(name: str, a, b, tol: float = 1e-6) -> None:
    err = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
    if err > tol:
        raise SystemExit(f"{name}: {err:.3g} > {tol}")


# ----------------------------------------------------------------------------- PyTorch


class CharModel(torch.nn.Module):
    """The common character model: embedding → LSTM → fc (batch_first)."""

    def __init__(self, V, E, H):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, E)
        self.rnn = torch.nn.LSTM(E, H, batch_first=True)
        self.fc = torch.nn.Linear(H, V)

    def forward(self, ids):
        out, (_, c) = self.rnn(self.embedding(ids))
        return out, self.fc(out)


class Tagger(torch.nn.Module):
    """PyTorch's sequence-tagging tutorial, with a two-layer GRU: the names are its own."""

    def __init__(self, V, E, H, tags):
        super().__init__()
        self.word_embeddings = torch.nn.Embedding(V, E)
        self.gru = torch.nn.GRU(E, H, num_layers=2)
        self.hidden2tag = torch.nn.Linear(H, tags)

    def forward(self, ids):  # ids (T,), time-major
        out, _ = self.gru(self.word_embeddings(ids)[:, None, :])
        return out[:, 0], self.hidden2tag(out[:, 0])


def lstm_c(lstm: torch.nn.LSTM, xs: torch.Tensor) -> np.ndarray:
    """c_t of a one-layer LSTM, stepped with its own weights through nn.LSTMCell."""
    cell = torch.nn.LSTMCell(lstm.input_size, lstm.hidden_size).double()
    with torch.no_grad():
        for ours, theirs in (("weight_ih", "weight_ih_l0"), ("weight_hh", "weight_hh_l0"),
                             ("bias_ih", "bias_ih_l0"), ("bias_hh", "bias_hh_l0")):
            getattr(cell, ours).copy_(getattr(lstm, theirs))
        h = c = torch.zeros(1, lstm.hidden_size, dtype=torch.float64)
        cs = []
        for x in xs:
            h, c = cell(x[None], (h, c))
            cs.append(c[0].numpy().copy())
    return np.array(cs)


def torch_cases() -> None:
    torch.manual_seed(0)
    model = CharModel(len(CHARS), 4, 5).double()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)
    text = "hello world"
    ids = torch.tensor([[CHARS.index(ch) for ch in text]])
    with torch.no_grad():
        h, y = model(ids)
        xs = model.embedding(ids)[0]
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    torch.save(state, os.path.join(OUT, "torch_char.pt"))
    # the same state_dict without torch's format, for the tests that run without torch
    np.savez(os.path.join(OUT, "torch_char.state.npz"), **{k: v.numpy() for k, v in state.items()})
    with open(os.path.join(OUT, "torch_char.vocab.json"), "w", encoding="utf-8") as fh:
        json.dump(CHARS, fh)
    save_npz("torch_char", ids=ids[0].numpy(), xs=xs.numpy(), h=h[0].numpy(), c=lstm_c(model.rnn, xs),
             y=y[0].numpy(), text=np.array(text))
    print(f"torch_char: V={len(CHARS)}, E=4, LSTM H=5, fc → {len(CHARS)}")

    torch.manual_seed(1)
    tagger = Tagger(len(WORDS), 3, 4, 3).double()
    sentence = "everybody read that book the dog ate the apple"
    tids = torch.tensor([WORDS.index(w) for w in sentence.split()])
    with torch.no_grad():
        h, y = tagger(tids)
        xs = tagger.word_embeddings(tids)
    torch.save(tagger.state_dict(), os.path.join(OUT, "torch_tagger.pt"))
    np.savez(os.path.join(OUT, "torch_tagger.state.npz"), **{k: v.numpy() for k, v in tagger.state_dict().items()})
    with open(os.path.join(OUT, "torch_tagger.vocab.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(WORDS) + "\n")
    save_npz("torch_tagger", ids=tids.numpy(), xs=xs.numpy(), h=h.numpy(), y=y.numpy(), text=np.array(sentence))
    print(f"torch_tagger: V={len(WORDS)}, E=3, GRU 2 × H=4, hidden2tag → 3")


# ----------------------------------------------------------------------------- Keras 3


def keras_cases() -> None:
    import keras

    torch.set_num_threads(1)
    # Sequential: Embedding → LSTM (sequences) → Dense(softmax): a character model
    keras.utils.set_random_seed(0)
    V = len(CHARS)
    model = keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(V, 4),
        keras.layers.LSTM(5, return_sequences=True),
        keras.layers.Dense(V, activation="softmax"),
    ])
    rng = np.random.default_rng(0)
    model.set_weights([rng.uniform(-1.2, 1.2, w.shape).astype(np.float32) for w in model.get_weights()])
    text = "hello world"
    ids = np.array([CHARS.index(ch) for ch in text], np.int32)
    emb, lstm, dense = model.layers
    xs = emb(ids[None]).detach().numpy()[0]
    h = lstm(xs[None]).detach().numpy()[0]
    y = model(ids[None]).detach().numpy()[0]
    check("k3_char y", dense(h[None]).detach().numpy()[0], y)
    # c from the layer's own cell, stepped
    cell = lstm.cell
    state = [torch.zeros(1, 5), torch.zeros(1, 5)]
    cs = []
    for x in xs:
        out, state = cell(torch.tensor(x[None]), state)
        cs.append(state[1].detach().numpy()[0])
    model.save(os.path.join(OUT, "k3_char.keras"))
    normalise_keras_archive(os.path.join(OUT, "k3_char.keras"))
    model.save(os.path.join(OUT, "k3_char.h5"))  # legacy HDF5, as model.save("m.h5") writes
    save_npz("k3_char", ids=ids, xs=xs, h=h, c=np.array(cs), y=y, text=np.array(text))
    print(f"k3_char: Embedding({V}, 4) → LSTM(5) → Dense({V}, softmax)")

    # Functional: Embedding(mask_zero) → GRU (last step only) → Dense(1, sigmoid): a padded classifier
    keras.utils.set_random_seed(1)
    inp = keras.Input((None,), dtype="int32", name="tokens")
    e = keras.layers.Embedding(len(WORDS) + 1, 3, mask_zero=True, name="emb")(inp)
    g = keras.layers.GRU(4, name="gru")(e)
    out = keras.layers.Dense(1, activation="sigmoid", name="score")(g)
    clf = keras.Model(inp, out)
    rng = np.random.default_rng(1)
    clf.set_weights([rng.uniform(-1.2, 1.2, w.shape).astype(np.float32) for w in clf.get_weights()])
    ids = np.array([5, 7, 8, 2, 0, 0, 3, 0], np.int32)  # padding inside and at the end
    emb = clf.get_layer("emb")
    gru = clf.get_layer("gru")
    seq = keras.layers.GRU(4, return_sequences=True)
    seq.build((None, None, 3))
    seq.set_weights(gru.get_weights())
    xs = emb(ids[None]).detach().numpy()[0]
    mask = ids != 0
    h = seq(xs[None], mask=mask[None]).detach().numpy()[0]  # a masked step keeps the previous output
    dense = clf.get_layer("score")
    y = dense(h[None]).detach().numpy()[0]
    y_last = clf(ids[None]).detach().numpy()[0]
    check("k3_padded y_T", y[-1], y_last)
    clf.save(os.path.join(OUT, "k3_padded.keras"))
    normalise_keras_archive(os.path.join(OUT, "k3_padded.keras"))
    clf.save(os.path.join(OUT, "k3_padded.h5"))
    save_npz("k3_padded", ids=ids, xs=xs, h=h, y=y, y_last=y_last, mask=mask)
    print("k3_padded: Embedding(10, 3, mask_zero=True) → GRU(4) → Dense(1, sigmoid)")


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    torch_cases()
    keras_cases()


if __name__ == "__main__":
    main()
