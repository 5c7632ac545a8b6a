"""Exact BPTT against finite differences (float64), and the output layer and losses on their own.

Every parameter of every kind, one and two layers, the output layer with each g, both losses,
with and without a mask; truncation against finite differences of its definition (each loss
term differentiated over its last k steps from frozen earlier states).
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.engine import Stack, run
from rnnviz.engine.cells import kind_of
from rnnviz.engine.train import (Model, Output, cross_entropy, forward, init_model, loss_and_grads, mse, softmax)
from rnnviz.engine.train.bptt import layer_states

from reference import IDS, VARIANTS

B, T, D, H, O = 2, 4, 2, 2, 3
EPS = 1e-4  # a fourth-order stencil: truncation error ~EPS⁴, rounding ~1e-16/EPS
REL = 1e-6  # per parameter: max |fd − ours| ≤ REL · max |fd|
#: (loss, output g, masked)
CONFIGS = [("mse", "identity", True), ("mse", "sigmoid", False), ("mse", "softmax", True),
           ("xent", "identity", True), ("xent", "softmax", False)]
CONFIG_IDS = [f"{l}-{g}-{'mask' if m else 'nomask'}" for l, g, m in CONFIGS]


def opts(v):
    return {k: x for k, x in v.items() if k != "kind"}


def model_for(v, layers, output="identity", seed=0, scale=2.0):
    m = init_model(v["kind"], D, H, O, layers=layers, seed=seed, output=output, **opts(v))
    return m.with_state({n: a * (scale if n.startswith("rnn.") else 1.5) for n, a in m.state_dict().items()})


def data(seed=1, masked=True, b=B, t=T):
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(b, t, D))
    ys = rng.normal(size=(b, t, O))
    labels = rng.integers(0, O, (b, t))
    mask = None
    if masked:
        mask = rng.integers(0, 2, (b, t))
        mask[:, -1] = 1
    return xs, ys, labels, mask


def loss_of(model, xs, targets, mask, loss, h0=None, c0=None):
    y, h = forward(model, xs, h0=h0, c0=c0)
    if loss == "mse":
        return mse(y, targets, mask)[0]
    return cross_entropy(model.fc.logits(h), targets, mask)[0]


def stencil(f, x0):
    """f'(x0) by the five-point central difference."""
    return (8 * (f(x0 + EPS) - f(x0 - EPS)) - (f(x0 + 2 * EPS) - f(x0 - 2 * EPS))) / (12 * EPS)


def fd(fn, model, name):
    """Finite differences of fn(model) with respect to every entry of parameter ``name``."""
    a = model.state_dict()[name]
    out = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        def f(v, idx=idx):
            p = a.copy()
            p[idx] = v
            return fn(model.with_state({name: p}))
        out[idx] = stencil(f, a[idx])
    return out


def rel_err(num, ours):
    scale = np.max(np.abs(num))
    return float(np.max(np.abs(num - ours)) / scale) if scale > 0 else float(np.max(np.abs(ours)))


@pytest.mark.parametrize("v", VARIANTS, ids=IDS)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_gradients_match_finite_differences(v, layers, config):
    loss, g, masked = config
    model = model_for(v, layers, output=g)
    xs, ys, labels, mask = data(masked=masked)
    targets = ys if loss == "mse" else labels
    ours = loss_and_grads(model, xs, targets, mask, loss=loss)
    assert ours.loss == pytest.approx(loss_of(model, xs, targets, mask, loss), rel=1e-14)
    names = model.state_dict()
    assert set(ours.grads) == set(names)
    for name in names:
        num = fd(lambda m: loss_of(m, xs, targets, mask, loss), model, name)
        assert ours.grads[name].shape == num.shape
        assert rel_err(num, ours.grads[name]) <= REL, name


@pytest.mark.parametrize("v", VARIANTS, ids=IDS)
def test_input_and_hidden_gradients_match_finite_differences(v):
    """dx is ∂L/∂x_t (RNNbow's per-step contributions); dh is ∂L/∂h_t of the last layer."""
    model = model_for(v, 2)
    xs, ys, _, mask = data()
    ours = loss_and_grads(model, xs, ys, mask)
    num = np.zeros_like(xs)
    for idx in np.ndindex(xs.shape):
        def f(v, idx=idx):
            p = xs.copy()
            p[idx] = v
            return loss_of(model, p, ys, mask, "mse")
        num[idx] = stencil(f, xs[idx])
    assert rel_err(num, ours.dx) <= REL
    # dh_t through the output layer at the last step is the loss's direct gradient there
    y, h = forward(model, xs)
    _, gy = mse(y, ys, mask)
    gz = model.fc.backward_activation(y, gy)
    np.testing.assert_allclose(ours.dh[:, -1], gz[:, -1] @ model.fc.W_hy, rtol=1e-12, atol=1e-15)


def _truncated_fd(model, xs, targets, mask, loss, k):
    """The definition: Σ_t (share of term t) · ∂(term t over steps t−k+1…t from frozen states)/∂θ."""
    n_total = int(np.sum(mask))
    states = layer_states(model, xs)
    out = {name: np.zeros_like(a) for name, a in model.state_dict().items()}
    for t in range(xs.shape[1]):
        if not np.any(mask[:, t]):
            continue
        lo = max(0, t - k + 1)
        h0 = c0 = None
        if lo > 0:
            h0 = [h[:, lo - 1] for h, _ in states]
            c0 = [None if c is None else c[:, lo - 1] for _, c in states]
        w_mask = np.zeros((xs.shape[0], t + 1 - lo), int)
        w_mask[:, -1] = mask[:, t]
        share = np.sum(mask[:, t]) / n_total
        fn = lambda m: loss_of(m, xs[:, lo : t + 1], targets[:, lo : t + 1], w_mask, loss, h0, c0)  # noqa: E731
        for name in out:
            out[name] += share * fd(fn, model, name)
    return out


@pytest.mark.parametrize("v", VARIANTS, ids=IDS)
@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("k", [1, 2])
def test_truncated_gradients_match_their_definition(v, loss, k):
    model = model_for(v, 2, seed=3)
    xs, ys, labels, mask = data(seed=4, t=5)
    targets = ys if loss == "mse" else labels
    ours = loss_and_grads(model, xs, targets, mask, loss=loss, truncate=k)
    num = _truncated_fd(model, xs, targets, mask, loss, k)
    for name, a in num.items():
        assert rel_err(a, ours.grads[name]) <= REL, name


@pytest.mark.parametrize("v", VARIANTS, ids=IDS)
def test_truncation_at_least_T_is_full_bptt(v):
    model = model_for(v, 2)
    xs, ys, _, mask = data()
    full = loss_and_grads(model, xs, ys, mask)
    for k in (T, T + 5):
        cut = loss_and_grads(model, xs, ys, mask, truncate=k)
        for name in full.grads:
            np.testing.assert_array_equal(cut.grads[name], full.grads[name])
    short = loss_and_grads(model, xs, ys, mask, truncate=1)
    assert short.loss == full.loss
    assert not np.allclose(short.grads["rnn.weight_hh_l0"], full.grads["rnn.weight_hh_l0"])


@pytest.mark.parametrize("v", VARIANTS, ids=IDS)
def test_float32_gradients_follow_float64(v):
    model = model_for(v, 2)
    xs, ys, _, mask = data()
    g64 = loss_and_grads(model, xs, ys, mask, dtype=np.float64)
    g32 = loss_and_grads(model, xs, ys, mask, dtype=np.float32)
    assert g32.y.dtype == np.float32 and g32.dx.dtype == np.float32
    assert g32.loss == pytest.approx(g64.loss, rel=1e-5)
    for name, a in g64.grads.items():
        assert g32.grads[name].dtype == np.float32, name
        assert rel_err(a, g32.grads[name]) <= 1e-4, name


@pytest.mark.parametrize("v", VARIANTS, ids=IDS)
def test_batched_forward_matches_the_single_sequence_kernels(v):
    model = model_for(v, 2)
    xs, _, _, _ = data(b=3, t=6)
    _, h = forward(model, xs)
    states = layer_states(model, xs)
    for b in range(3):
        tr = run(model.rnn, xs[b], influence=False, dtype=np.float64)
        np.testing.assert_allclose(h[b], tr.h, rtol=1e-12, atol=1e-14)
        for (hl, cl), rec in zip(states, tr.records):
            np.testing.assert_allclose(hl[b], rec.h, rtol=1e-12, atol=1e-14)
            if kind_of(rec.cell).has_cell_state:
                np.testing.assert_allclose(cl[b], rec.c, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------- output, losses


def test_output_layer_forward_over_batch_and_time():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(4, 5, 3))
    W, b = rng.normal(size=(2, 3)), rng.normal(size=2)
    z = h @ W.T + b
    np.testing.assert_allclose(Output(W, b).forward(h), z, rtol=1e-14)
    np.testing.assert_allclose(Output(W, b, "sigmoid").forward(h), 1 / (1 + np.exp(-z)), rtol=1e-14)
    p = Output(W, b, "softmax").forward(h)
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(-1, keepdims=True), rtol=1e-13)
    assert p.shape == (4, 5, 2)


def test_output_layer_rejects_bad_shapes_and_names():
    with pytest.raises(ValueError, match="b_y"):
        Output(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="activation"):
        Output(np.zeros((2, 3)), np.zeros(2), "relu")
    with pytest.raises(ValueError, match="inf or NaN"):
        Output(np.full((2, 3), np.nan), np.zeros(2))


def test_softmax_and_cross_entropy_never_overflow():
    z = np.array([[1e4, 0.0, -1e4]])
    assert np.all(np.isfinite(softmax(z)))
    loss, grad = cross_entropy(z, np.array([1]))
    assert loss == pytest.approx(1e4) and np.all(np.isfinite(grad))


def test_losses_follow_pytorchs_definitions():
    rng = np.random.default_rng(2)
    y, target = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 4, 2))
    mask = rng.integers(0, 2, (3, 4))
    mask[0, 0] = 1
    sel = mask.astype(bool)
    assert mse(y, target, mask)[0] == pytest.approx(np.mean((y[sel] - target[sel]) ** 2), rel=1e-14)
    assert mse(y, target)[0] == pytest.approx(np.mean((y - target) ** 2), rel=1e-14)
    labels = rng.integers(0, 2, (3, 4))
    p = np.exp(y) / np.exp(y).sum(-1, keepdims=True)
    want = -np.mean(np.log(p[sel, labels[sel]]))
    assert cross_entropy(y, labels, mask)[0] == pytest.approx(want, rel=1e-13)


def test_losses_reject_bad_masks_and_labels():
    y = np.zeros((2, 3, 2))
    with pytest.raises(ValueError, match="selects no step"):
        mse(y, y, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        mse(y, y, np.full((2, 3), 2))
    with pytest.raises(ValueError, match="mask has shape"):
        mse(y, y, np.ones((3, 2)))
    with pytest.raises(ValueError, match="labels must lie"):
        cross_entropy(y, np.full((2, 3), 2))
    with pytest.raises(ValueError, match="integers"):
        cross_entropy(y, np.zeros((2, 3)))


def test_loss_and_grads_rejects_bad_input():
    model = init_model("gru", D, H, O)
    xs, ys, labels, mask = data()
    with pytest.raises(ValueError, match="xs has shape"):
        loss_and_grads(model, xs[0], ys, mask)
    with pytest.raises(ValueError, match="unknown loss"):
        loss_and_grads(model, xs, ys, mask, loss="hinge")
    with pytest.raises(ValueError, match="truncate"):
        loss_and_grads(model, xs, ys, mask, truncate=0)
    with pytest.raises(ValueError, match="logits"):
        loss_and_grads(init_model("gru", D, H, O, output="sigmoid"), xs, labels, mask, loss="xent")


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("activations", [("tanh", "hard_sigmoid"), ("linear", "sigmoid")])
def test_keras_activations_match_finite_differences(kind, activations):
    """The kernels' general path (not PyTorch's tanh/sigmoid), as Keras files may ask."""
    nonlinearity, recurrent = activations
    base = model_for({"kind": kind}, 2, scale=1.0)
    cells = tuple(c.with_params(nonlinearity=nonlinearity, recurrent_activation=recurrent) for c in base.rnn.layers)
    model = Model(Stack(cells), base.fc)
    xs, ys, _, mask = data()
    ours = loss_and_grads(model, xs, ys, mask)
    for name in model.state_dict():
        num = fd(lambda m: loss_of(m, xs, ys, mask, "mse"), model, name)
        assert rel_err(num, ours.grads[name]) <= REL, name
