"""Stacked bidirectional layers: PyTorch num_layers > 1 with bidirectional=True, Keras Bidirectional
layers in a row. Outputs and the x₁ (x_T) influence through the layers below, against the
frameworks' fixtures (tools/make_bidirectional_stack_fixtures.py) and finite differences."""

from pathlib import Path

import numpy as np
import pytest

from rnnviz.cli import main
from rnnviz.engine import init_cell
from rnnviz.engine.bidirectional import (
    Bidirectional, BidirectionalStack, perturbation_stack, run_bidirectional, run_bidirectional_stack,
)
from rnnviz.engine.errors import InputError
from rnnviz.io import load_weights

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "bidirectional_stack"


@pytest.mark.parametrize("name", ["torch_lstm2", "torch_gru2"])
def test_a_pytorch_stack_runs_as_torch_did_with_its_influence(name):
    exp = np.load(FIX / f"{name}.expected.npz")
    model = load_weights(FIX / f"{name}.npz", bidirectional=True)
    assert isinstance(model, BidirectionalStack) and len(model) == 2
    assert (model.input_size, model.layers[1].input_size, model.hidden_size) == (3, 8, 8)
    tr = run_bidirectional_stack(model, exp["xs"], dtype=np.float64)
    np.testing.assert_allclose(tr.h, exp["h"], rtol=1e-9, atol=1e-12)
    arrays = tr.arrays()
    # x₁ reaches the top layer's forward direction, x_T its backward one, at every step
    np.testing.assert_allclose(arrays["influence_forward"], exp["influence_forward"], rtol=1e-9)
    np.testing.assert_allclose(arrays["influence_backward"], exp["influence_backward"], rtol=1e-9)
    assert (exp["influence_backward"] > 0).all()


def test_a_keras_stack_of_two_bidirectional_layers_with_their_merge_modes():
    exp = np.load(FIX / "keras_lstm_gru.expected.npz")
    model = load_weights(FIX / "keras_lstm_gru.keras", bidirectional=True)
    assert [b.merge_mode for b in model.layers] == ["concat", "sum"]
    np.testing.assert_allclose(run_bidirectional_stack(model, exp["xs"], dtype=np.float64).h, exp["h"], atol=1e-5)
    np.testing.assert_allclose(run_bidirectional_stack(model, exp["xs"], layer=0, dtype=np.float64).h, exp["h_l0"],
                               atol=1e-5)


def _random_stack(kind, mode, seed=0, D=2, H=3):
    cells = [init_cell(kind, D if k < 2 else (2 * H if mode == "concat" else H), H, seed=seed + k) for k in range(4)]
    return BidirectionalStack((Bidirectional(cells[0], cells[1], mode), Bidirectional(cells[2], cells[3], "concat")))


@pytest.mark.parametrize("kind,mode", [("rnn", "sum"), ("gru", "mul"), ("lstm", "ave"), ("lstm", "concat")])
def test_the_influence_is_the_jacobian_norm_by_finite_differences(kind, mode):
    model = _random_stack(kind, mode)
    xs = np.random.default_rng(1).normal(size=(5, 2))
    tr = run_bidirectional_stack(model, xs, dtype=np.float64)
    eps = 1e-6
    H = 3
    for name, row, cols in (("forward", 0, slice(0, H)), ("backward", 4, slice(H, 2 * H))):
        J = np.zeros((5, H, 2))
        for d in range(2):
            up, down = xs.copy(), xs.copy()
            up[row, d] += eps
            down[row, d] -= eps
            J[:, :, d] = (run_bidirectional_stack(model, up, dtype=np.float64).h[:, cols]
                          - run_bidirectional_stack(model, down, dtype=np.float64).h[:, cols]) / (2 * eps)
        np.testing.assert_allclose(tr.arrays()[f"influence_{name}"], np.linalg.norm(J, axis=(1, 2)), rtol=1e-6)


def test_layer_zero_of_a_stack_is_the_single_bidirectional_layer():
    model = _random_stack("gru", "concat", seed=3)
    xs = np.random.default_rng(2).normal(size=(6, 2))
    alone = run_bidirectional(model.layers[0], xs, dtype=np.float64).arrays()
    first = run_bidirectional_stack(model, xs, layer=0, dtype=np.float64).arrays()
    for key in ("h", "h_forward", "h_backward", "influence_forward", "influence_backward"):
        np.testing.assert_allclose(first[key], alone[key], rtol=1e-9, atol=1e-14)


def test_the_nudge_check_agrees_with_the_influence_for_one_input():
    model = _random_stack("lstm", "sum", seed=5, D=1)
    xs = np.random.default_rng(4).normal(size=(6, 1))
    infl = run_bidirectional_stack(model, xs, dtype=np.float64).arrays()
    nudged = perturbation_stack(model, xs, eps=1e-7)
    for name in ("forward", "backward"):
        np.testing.assert_allclose(nudged[name] / 1e-7, infl[f"influence_{name}"], rtol=1e-4)


def test_an_influence_that_fades_for_hundreds_of_decades_is_kept_down_to_float64s_floor():
    model = _random_stack("rnn", "concat", seed=1)
    small = BidirectionalStack(tuple(Bidirectional(b.forward.with_params(W_hh=0.05 * b.forward.W_hh),
                                                   b.backward.with_params(W_hh=0.05 * b.backward.W_hh))
                                     for b in model.layers))
    xs = np.zeros((400, 2))
    infl = run_bidirectional_stack(small, xs, dtype=np.float64).arrays()["influence_forward"]
    positive = infl[infl > 0]
    assert np.all(np.isfinite(infl)) and np.all(np.diff(np.log(positive)) < 0)
    assert positive.min() < 1e-300  # kept to the last representable decades, like the single layer's
    alone = run_bidirectional(small.layers[0], xs, dtype=np.float64).arrays()["influence_forward"]
    assert (alone > 0).sum() > 100


def test_layers_that_do_not_chain_are_one_clear_refusal():
    a = _random_stack("gru", "concat")
    with pytest.raises(ValueError, match="layer 1 reads D = 6, but layer 0 gives 3"):
        BidirectionalStack((Bidirectional(a.layers[0].forward, a.layers[0].backward, "sum"), a.layers[1]))
    with pytest.raises(InputError, match="is bidirectional") as info:
        load_weights(FIX / "torch_lstm2.npz")
    assert "\n" not in str(info.value)


def test_trace_writes_the_traced_layer_of_a_stack(tmp_path):
    exp = np.load(FIX / "torch_gru2.expected.npz")
    np.savetxt(tmp_path / "xs.csv", exp["xs"], delimiter=",")
    out = tmp_path / "t.npz"
    assert main(["trace", str(FIX / "torch_gru2.npz"), str(tmp_path / "xs.csv"), "-o", str(out)]) == 0
    got = np.load(out)
    np.testing.assert_allclose(got["h"], exp["h"], atol=1e-5)
    np.testing.assert_allclose(got["h_forward"], exp["h"][:, :4], atol=1e-5)
    np.testing.assert_allclose(got["influence_backward"], exp["influence_backward"], rtol=1e-4)
    out0 = tmp_path / "t0.npz"
    assert main(["trace", str(FIX / "torch_gru2.npz"), str(tmp_path / "xs.csv"), "-o", str(out0), "--layer", "0"]) == 0
    assert np.load(out0)["h"].shape == (6, 8)
