"""Our engine against PyTorch and Keras.

The fixture tests need neither framework: tests/fixtures holds files the frameworks wrote and the
outputs they computed (see tests/fixtures/README.md). The live tests at the bottom run only where
PyTorch (and Keras) are installed.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz.engine import Cell, InputError, Stack, init_cell, run
from rnnviz.io import load_weights, save_weights

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WEIGHT_FILES = sorted(
    p for p in FIXTURES.iterdir()
    if p.suffix in (".npz", ".safetensors", ".pt", ".keras", ".h5") and not p.name.endswith(".expected.npz")
)
TOL = 1e-5  # h, c, gates: |ours − theirs| ≤ TOL·(1 + |theirs|), ours in float32
INFLUENCE_TOL = 1e-4


def case_of(path: Path) -> str:
    return path.name.split(".", 1)[0]


def assert_close(name, ours, theirs, tol):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} vs {theirs.shape}"
    excess = np.abs(ours - theirs) - tol * (1.0 + np.abs(theirs))
    worst = np.unravel_index(np.argmax(excess), excess.shape)
    assert excess[worst] <= 0, (
        f"{name}: ours {ours[worst]!r} vs theirs {theirs[worst]!r} at {worst} "
        f"(max |diff| {np.max(np.abs(ours - theirs)):.3g})"
    )


def expected_for_layer(expected, suffix: str) -> dict[str, np.ndarray]:
    """The expected arrays of one layer: unsuffixed keys for the last, ``*_l0`` for layer 0."""
    out = {}
    for key in expected.files:
        if key == "xs":
            continue
        if suffix and key.endswith(suffix):
            out[key[: -len(suffix)]] = expected[key]
        elif not suffix and not key.endswith("_l0"):
            out[key] = expected[key]
    return out


@pytest.mark.parametrize("path", WEIGHT_FILES, ids=lambda p: p.name)
def test_fixture_parity(path):
    if path.suffix == ".pt":
        pytest.importorskip("torch")
    case = case_of(path)
    model = load_weights(path, nonlinearity="relu" if "relu" in case else "tanh")
    with np.load(FIXTURES / f"{case}.expected.npz") as expected:
        layers = [(-1, "")] + ([(0, "_l0")] if "h_l0" in expected.files else [])
        for layer, suffix in layers:
            trace = run(model, expected["xs"], layer=layer)
            assert trace.h.dtype == np.float32  # the default working precision
            theirs = expected_for_layer(expected, suffix)
            ours = trace.arrays()
            if case.startswith("keras"):
                ours.pop("influence")  # Keras gives no reference for it
            assert set(ours) == set(theirs), f"layer {layer}: compared {sorted(theirs)}, have {sorted(ours)}"
            for name, value in theirs.items():
                tol = INFLUENCE_TOL if name == "influence" else TOL
                assert_close(f"{path.name} layer {layer} {name}", ours[name], value, tol)


def test_every_case_has_weights_and_expectations():
    cases = {case_of(p) for p in WEIGHT_FILES}
    assert cases == {p.name.split(".", 1)[0] for p in FIXTURES.glob("*.expected.npz")}
    for case in cases:
        if case.startswith("torch"):
            assert {".pt", ".safetensors", ".npz"} <= {p.suffix for p in FIXTURES.glob(f"{case}.*")}
    both_grus = [load_weights(FIXTURES / f"{c}.keras").reset_after for c in ("keras_gru", "keras_gru_reset_before")]
    assert both_grus == [True, False]


def test_fixtures_stay_small():
    assert sum(p.stat().st_size for p in FIXTURES.iterdir()) < 300_000


# ---------------------------------------------------------------------------------- live

def scaled(cell: Cell, factor: float) -> Cell:
    """Wider weights so the gates leave 0.5 (PyTorch's init keeps them close)."""
    return cell.with_params(**{n: getattr(cell, n) * factor for n in ("W_ih", "W_hh", "b_ih", "b_hh")})


def torch_module(torch, model, dtype):
    layers = model.layers if isinstance(model, Stack) else (model,)
    first = layers[0]
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[first.kind]
    kwargs = {"nonlinearity": first.nonlinearity} if first.kind == "rnn" else {}
    return cls(first.input_size, first.hidden_size, num_layers=len(layers), **kwargs).to(dtype)


def torch_outputs(torch, module, xs):
    x = torch.as_tensor(xs, dtype=next(module.parameters()).dtype)[:, None, :]
    with torch.no_grad():
        out, state = module(x)
    return out[:, 0, :].numpy(), state


def torch_influence(torch, module, xs):
    x = torch.as_tensor(xs, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda x_: module(x_[:, None, :])[0][:, 0, :], x)
    return torch.linalg.matrix_norm(jac[:, :, 0, :]).numpy()


LIVE_MODELS = {
    "rnn-tanh": lambda: scaled(init_cell("rnn", 3, 5, seed=1), 2.5),
    "rnn-relu": lambda: scaled(init_cell("rnn", 3, 5, seed=2, nonlinearity="relu"), 1.5),
    "gru": lambda: scaled(init_cell("gru", 2, 4, seed=3), 2.5),
    "lstm": lambda: scaled(init_cell("lstm", 3, 4, seed=4), 2.5),
    "lstm-nobias": lambda: scaled(init_cell("lstm", 3, 4, seed=5, bias=False), 2.5),
    "gru-stack": lambda: Stack(tuple(scaled(init_cell("gru", d, 4, seed=6 + d), 2.5) for d in (3, 4, 4))),
    "lstm-stack": lambda: Stack(tuple(scaled(init_cell("lstm", d, 3, seed=9 + d), 2.5) for d in (2, 3))),
}


@pytest.mark.parametrize("fmt", [".safetensors", ".npz"])
@pytest.mark.parametrize("name", LIVE_MODELS)
def test_export_loads_into_torch_unchanged(tmp_path, name, fmt):
    torch = pytest.importorskip("torch")
    model = LIVE_MODELS[name]()
    path = tmp_path / f"model{fmt}"
    save_weights(model, path)
    if fmt == ".npz":
        with np.load(path, allow_pickle=False) as z:
            state = {k: torch.from_numpy(z[k]) for k in z.files}
    else:
        from safetensors.torch import load_file

        state = load_file(str(path))
    for dtype in (torch.float32, torch.float64):
        module = torch_module(torch, model, dtype)
        module.load_state_dict(state, strict=True)
        xs = np.random.default_rng(0).normal(0, 1.5, (10, model.input_size))
        h, state_T = torch_outputs(torch, module, xs)
        ours = run(model, xs, dtype=np.float64, influence=False)
        tol = 1e-12 if dtype == torch.float64 else 1e-5
        assert_close(f"{name} h", ours.h, h, tol)
        if ours.c is not None:
            assert_close(f"{name} c_T", ours.c[-1], state_T[1][-1, 0].numpy(), tol)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    kind=st.sampled_from(["rnn", "gru", "lstm"]),
    relu=st.booleans(),
    D=st.integers(1, 3),
    H=st.integers(1, 6),
    L=st.integers(1, 2),
    T=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_random_weights_match_torch(kind, relu, D, H, L, T, seed):
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    nonlinearity = "relu" if relu and kind == "rnn" else "tanh"
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind]
    module = cls(D, H, num_layers=L, **({"nonlinearity": nonlinearity} if kind == "rnn" else {})).double()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(2.0)
    state = {k: v.numpy() for k, v in module.state_dict().items()}
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "random.npz")
        np.savez(path, **state)
        model = load_weights(path, nonlinearity=nonlinearity)
    xs = np.random.default_rng(seed).normal(0, 1.5, (T, D))
    h, state_T = torch_outputs(torch, module, xs)
    trace = run(model, xs)
    assert_close("h", trace.h, h, TOL)
    if kind == "lstm":
        assert_close("c_T", trace.c[-1], state_T[1][-1, 0].numpy(), TOL)
    assert_close("influence", trace.influence, torch_influence(torch, module, xs), INFLUENCE_TOL)


def test_torch_files_we_refuse(tmp_path):
    torch = pytest.importorskip("torch")
    cases = {
        "bidirectional": torch.nn.GRU(3, 4, bidirectional=True).state_dict(),
        "several recurrent modules": {
            **{f"enc.{k}": v for k, v in torch.nn.GRU(3, 4).state_dict().items()},
            **{f"dec.{k}": v for k, v in torch.nn.GRU(4, 4).state_dict().items()},
        },
        "holds no tensors": {"epoch": 3},
    }
    for needle, state in cases.items():
        path = tmp_path / f"{needle.replace(' ', '_')}.pt"
        torch.save(state, path)
        with pytest.raises(InputError, match=needle):
            load_weights(path)


class Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_torch_pickles_that_carry_code_are_refused(tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    torch.save({"weight_ih_l0": Evil(marker)}, tmp_path / "evil.pt")
    torch.save(torch.nn.GRU(3, 4), tmp_path / "whole_module.pt")  # a pickled class, not a state_dict
    for name in ("evil.pt", "whole_module.pt"):
        with pytest.raises(InputError, match="state_dict") as info:
            load_weights(tmp_path / name)
        assert len(str(info.value).splitlines()) == 1
    assert not marker.exists()
    # Pickle protocol 0 (text) written by hand under .pth, too.
    (tmp_path / "evil.pth").write_bytes(pickle.dumps(Evil(marker), protocol=0))
    with pytest.raises(InputError):
        load_weights(tmp_path / "evil.pth")
    assert not marker.exists()


def test_torch_low_precision_and_checkpoint_files(tmp_path):
    torch = pytest.importorskip("torch")
    module = torch.nn.LSTM(2, 3)
    reference = load_weights_from_state(tmp_path, module.state_dict())
    torch.save({k: v.to(torch.bfloat16) for k, v in module.state_dict().items()}, tmp_path / "bf16.pt")
    bf16 = load_weights(tmp_path / "bf16.pt")
    np.testing.assert_allclose(bf16.W_hh, reference.W_hh, atol=1e-2)
    # A training checkpoint: the model's state_dict nested under "model", next to other things.
    torch.save({"epoch": 7, "model": {f"rnn.{k}": v for k, v in module.state_dict().items()},
                "optimizer": torch.optim.SGD(module.parameters(), lr=0.1).state_dict()},
               tmp_path / "checkpoint.pt")
    np.testing.assert_array_equal(load_weights(tmp_path / "checkpoint.pt").W_ih, reference.W_ih)


def load_weights_from_state(tmp_path, state):
    np.savez(tmp_path / "ref.npz", **{k: v.detach().numpy() for k, v in state.items()})
    return load_weights(tmp_path / "ref.npz")


# ---------------------------------------------------------------------------- live Keras

KERAS_LAYERS = {
    "simplernn-relu": lambda k: k.layers.SimpleRNN(4, activation="relu", return_sequences=True),
    "gru": lambda k: k.layers.GRU(4, return_sequences=True),
    "gru-reset-before": lambda k: k.layers.GRU(4, reset_after=False, return_sequences=True),
    "gru-nobias": lambda k: k.layers.GRU(3, use_bias=False, return_sequences=True),
    "lstm": lambda k: k.layers.LSTM(5, return_sequences=True),
    "lstm-hard-sigmoid": lambda k: k.layers.LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True),
}


@pytest.mark.parametrize("name", KERAS_LAYERS)
def test_keras_models_live(tmp_path, name):
    pytest.importorskip("torch")
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    layer = KERAS_LAYERS[name](keras)
    model = keras.Sequential([keras.Input((9, 2)), layer, keras.layers.Dense(1)])
    rng = np.random.default_rng(0)
    layer.set_weights([rng.uniform(-1.2, 1.2, w.shape).astype(np.float32) for w in layer.get_weights()])
    xs = rng.normal(0, 1.5, (9, 2)).astype(np.float32)
    sub = keras.Model(model.inputs[0], layer.output)
    h = np.asarray(sub(xs[None]).detach().cpu().numpy()[0])
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    # A bare .weights.h5 cannot say hard_sigmoid; relu comes from the argument there.
    files = ["m.keras"] if name == "lstm-hard-sigmoid" else ["m.keras", "m.weights.h5"]
    for f in files:
        model = load_weights(tmp_path / f, nonlinearity="relu" if "relu" in name else "tanh")
        trace = run(model, xs, influence=False)
        assert_close(f"{name} {f} h", trace.h, h, TOL)
