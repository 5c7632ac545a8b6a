"""Training against PyTorch: losses, BPTT gradients (full and truncated) and optimiser runs.

The fixture tests need no torch: tests/fixtures/train holds what PyTorch computed
(tools/make_train_fixtures.py; float64, two layers, a 0/1 mask). The live tests at the bottom
run where torch is installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnviz.engine.train import SGD, Adam, clip_grad_norm, loss_and_grads, model_from_state

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "train"
CASES = {
    "rnn_tanh": ("rnn", {}),
    "rnn_relu": ("rnn", {"nonlinearity": "relu"}),
    "gru": ("gru", {}),
    "gru_reset_before": ("gru", {"reset_after": False}),
    "lstm": ("lstm", {}),
}
TOL = 1e-6  # |ours − torch| ≤ TOL·(1 + |torch|), float64
CLIP, STEPS = 0.1, 20


def assert_close(name, ours, theirs, tol=TOL):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} vs {theirs.shape}"
    excess = np.abs(ours - theirs) - tol * (1.0 + np.abs(theirs))
    assert np.all(excess <= 0), f"{name}: max |diff| {np.max(np.abs(ours - theirs)):.3g}"


def load(case):
    f = np.load(FIXTURES / f"torch_train_{case}.npz", allow_pickle=False)
    data = {k: f[k] for k in f.files}
    names = [str(n) for n in data["names"]]
    kind, opts = CASES[case]
    model = model_from_state({n: data[f"param.{n}"] for n in names}, kind, **opts)
    return model, data, names


def flat(grads, names):
    return np.concatenate([grads[n].ravel() for n in names])


def test_every_case_has_a_fixture():
    assert sorted(p.name for p in FIXTURES.glob("torch_train_*.npz")) == sorted(
        f"torch_train_{c}.npz" for c in CASES)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("loss", ["mse", "xent"])
def test_loss_and_gradients_match_torch(case, loss):
    model, data, names = load(case)
    targets = data["ys"] if loss == "mse" else data["labels"]
    g = loss_and_grads(model, data["xs"], targets, data["mask"], loss=loss)
    assert_close(f"{case} {loss} loss", g.loss, data[f"{loss}.loss"][0])  # saved as shape (1,)
    assert_close(f"{case} {loss} grads", flat(g.grads, names), data[f"{loss}.grad"])


@pytest.mark.parametrize("case", CASES)
def test_truncated_gradients_match_torch(case):
    model, data, names = load(case)
    g = loss_and_grads(model, data["xs"], data["ys"], data["mask"], loss="mse", truncate=3)
    assert_close(f"{case} k=3 grads", flat(g.grads, names), data["mse_k3.grad"])
    full = loss_and_grads(model, data["xs"], data["ys"], data["mask"], loss="mse")
    assert g.loss == full.loss  # truncation changes the gradient, never the loss
    assert not np.allclose(flat(g.grads, names), flat(full.grads, names))


def train(model, data, opt):
    params = model.state_dict()
    state = opt.init(params)
    losses, norms = [], []
    for _ in range(STEPS):
        g = loss_and_grads(model.with_state(params), data["xs"], data["ys"], data["mask"], loss="mse")
        grads, norm = clip_grad_norm(g.grads, CLIP)
        params, state = opt.step(params, grads, state)
        losses.append(g.loss)
        norms.append(norm)
    return params, losses, norms


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name,opt", [("adam", Adam(lr=1e-2)), ("sgd", SGD(lr=0.05, momentum=0.9))])
def test_optimiser_trajectory_matches_torch(case, name, opt):
    model, data, names = load(case)
    params, losses, norms = train(model, data, opt)
    assert_close(f"{case} {name} losses", losses, data[f"{name}.losses"])
    assert_close(f"{case} {name} clip norms", norms, data[f"{name}.norms"])
    assert np.sum(data[f"{name}.norms"] > CLIP) >= STEPS // 2  # clipping really acts
    assert_close(f"{case} {name} weights after {STEPS} steps", flat(params, names), data[f"{name}.params"])


# ---------------------------------------------------------------------------------- live


def _torch_model(torch, case, model):
    nn = torch.nn
    kind, opts = CASES[case]
    D, H, L = model.input_size, model.rnn.hidden_size, len(model.rnn)
    cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
    kw = {"nonlinearity": opts["nonlinearity"]} if "nonlinearity" in opts else {}
    rnn = cls(D, H, L, **kw).double()
    fc = nn.Linear(H, model.output_size).double()
    mod = nn.ModuleDict({"rnn": rnn, "fc": fc})
    mod.load_state_dict({n: torch.from_numpy(a) for n, a in model.state_dict().items()})
    return mod


@pytest.mark.parametrize("case", ["rnn_tanh", "rnn_relu", "gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 3])
def test_live_gradients_match_torch(case, layers):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    from rnnviz.engine.train import init_model

    kind, opts = CASES[case]
    model = init_model(kind, 2, 4, 3, layers=layers, seed=layers, **opts)
    rng = np.random.default_rng(7)
    B, T = 4, 9
    xs = rng.normal(size=(B, T, 2))
    labels = rng.integers(0, 3, (B, T))
    mask = np.zeros((B, T), bool)
    mask[:, -1] = True  # recall at the end
    mod = _torch_model(torch, case, model)
    z, _ = mod["rnn"](torch.from_numpy(xs).transpose(0, 1))
    z = mod["fc"](z).transpose(0, 1)
    loss = F.cross_entropy(z[torch.from_numpy(mask)], torch.from_numpy(labels)[torch.from_numpy(mask)])
    loss.backward()
    g = loss_and_grads(model, xs, labels, mask, loss="xent")
    assert_close("loss", g.loss, loss.item())
    for n, p in mod.named_parameters():
        assert_close(n, g.grads[n], p.grad.numpy())


@pytest.mark.parametrize("case", ["rnn_tanh", "gru", "lstm"])
def test_live_float32_adam_run_follows_torch(case):
    """float32 end to end: 20 Adam steps with clipping stay within float32 rounding of torch's."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    from rnnviz.engine.train import adding, init_model, update

    kind, opts = CASES[case]
    model = init_model(kind, 2, 8, 1, seed=5, **opts)
    xs, ys, mask = adding(16, 12, seed=0)
    mod = _torch_model(torch, case, model).float()
    opt_t = torch.optim.Adam(mod.parameters(), lr=1e-2)
    x = torch.from_numpy(xs.astype(np.float32)).transpose(0, 1)
    y = torch.from_numpy(ys.astype(np.float32))
    m = torch.from_numpy(mask.astype(bool))
    opt = Adam(lr=1e-2)
    state = opt.init(model.state_dict(np.float32))
    for _ in range(STEPS):
        opt_t.zero_grad()
        z, _ = mod["rnn"](x)
        loss = F.mse_loss(mod["fc"](z).transpose(0, 1)[m], y[m])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(mod.parameters(), CLIP)
        opt_t.step()
        model, state, info = update(model, opt, state, xs, ys, mask, clip=CLIP, dtype=np.float32)
        assert info.loss == pytest.approx(loss.item(), rel=1e-4)
    for n, p in mod.named_parameters():
        assert_close(n, model.state_dict()[n], p.detach().numpy(), tol=1e-4)
