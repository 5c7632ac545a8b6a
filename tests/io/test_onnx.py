"""The .onnx reader: parity with onnxruntime's fixtures, and every refusal in one clean line.

Reading needs only the ``onnx`` package (protobuf); the references in tests/fixtures came from
onnxruntime (tools/make_onnx_fixtures.py). Models for the refusals are built here with
``onnx.helper``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnviz.engine import InputError, Stack, run
from rnnviz.engine.bidirectional import Bidirectional, run_bidirectional
from rnnviz.io import load_weights

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "onnx"
ONNX_FILES = sorted(FIXTURES.glob("onnx_*.onnx"))
TOL = 1e-5


def input_error(path, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        load_weights(path, **kwargs)
    text = str(info.value)
    assert len(text.splitlines()) == 1, text
    assert os.path.basename(os.fspath(path)) in text
    return text


def assert_close(name, ours, theirs, tol=TOL):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, name
    excess = np.abs(ours - theirs) - tol * (1 + np.abs(theirs))
    assert excess.max() <= 0, f"{name}: max |diff| {np.abs(ours - theirs).max():.3g}"


def expected_of(path):
    return np.load(path.with_name(path.name.split(".")[0] + ".expected.npz"))


@pytest.mark.parametrize("path", ONNX_FILES + [FIXTURES / "onnx_torch_gru_bidirectional.npz"], ids=lambda p: p.name)
def test_onnx_fixture_parity(path):
    expected = expected_of(path)
    model = load_weights(path, bidirectional=True)
    if isinstance(model, Bidirectional):
        arrays = run_bidirectional(model, expected["xs"]).arrays()  # float32, as the app runs
        names = [k for k in expected.files if k != "xs"]
        assert "h" in names and "h_backward" in names
        for key in names:
            assert_close(f"{path.name} {key}", arrays[key], expected[key])
        return
    stack = model if isinstance(model, Stack) else Stack((model,))
    for layer in range(len(stack)):
        suffix = "" if layer == len(stack) - 1 else f"_l{layer}"
        trace = run(model, expected["xs"], layer=layer, influence=False)  # float32, as the app runs
        arrays = trace.arrays()
        keys = [k for k in expected.files if k != "xs" and (k.endswith(suffix) if suffix else not k.endswith("_l0"))]
        assert "h" + suffix in keys
        for key in keys:
            assert_close(f"{path.name} {key}", arrays[key[: len(key) - len(suffix)]], expected[key])


def test_both_directions_need_asking_for():
    for name, needle in (("onnx_lstm_bidirectional.onnx", "is bidirectional"), ("onnx_gru_reverse.onnx", "runs in reverse"),
                         ("onnx_torch_gru_bidirectional.npz", "is bidirectional")):
        assert needle + "; rnnviz trace runs it" in input_error(FIXTURES / name)
    bi = load_weights(FIXTURES / "onnx_torch_gru_bidirectional.npz", bidirectional=True)
    assert (bi.input_size, bi.hidden_size, bi.kind) == (3, 8, "gru")
    onnx_bi = load_weights(FIXTURES / "onnx_torch_gru_bidirectional.onnx", bidirectional=True)
    for a, b in ((bi.forward, onnx_bi.forward), (bi.backward, onnx_bi.backward)):
        np.testing.assert_allclose(a.W_hh, b.W_hh, rtol=1e-6)  # the export is float32
    rev = load_weights(FIXTURES / "onnx_gru_reverse.onnx", bidirectional=True)
    assert rev.forward is None and rev.hidden_size == 4


def test_bidirectional_influence_is_each_directions_first_input():
    bi = load_weights(FIXTURES / "onnx_torch_gru_bidirectional.npz", bidirectional=True)
    xs = expected_of(FIXTURES / "onnx_torch_gru_bidirectional.npz")["xs"]
    arrays = run_bidirectional(bi, xs, dtype=np.float64).arrays()
    forward = run(bi.forward, xs, dtype=np.float64).influence
    backward = run(bi.backward, xs[::-1], dtype=np.float64).influence
    np.testing.assert_allclose(arrays["influence_forward"], forward)
    np.testing.assert_allclose(arrays["influence_backward"], backward[::-1])
    # ‖∂h←_t/∂x_T‖ by finite differences, in the input's order
    eps, T = 1e-6, xs.shape[0]
    cols = []
    for j in range(xs.shape[1]):
        up, down = xs.copy(), xs.copy()
        up[-1, j] += eps
        down[-1, j] -= eps
        cols.append((run_bidirectional(bi, up, influence=False, dtype=np.float64).arrays()["h_backward"]
                     - run_bidirectional(bi, down, influence=False, dtype=np.float64).arrays()["h_backward"]) / (2 * eps))
    fd = np.sqrt(sum(c ** 2 for c in cols).sum(axis=1))
    np.testing.assert_allclose(arrays["influence_backward"], fd, rtol=1e-6, atol=1e-9)
    assert arrays["influence_backward"][T - 1] > arrays["influence_backward"][0]


def test_onnx_kinds_and_flags():
    assert load_weights(FIXTURES / "onnx_gru_reset_before.onnx").reset_after is False
    assert load_weights(FIXTURES / "onnx_gru_reset_after.onnx").reset_after is True
    assert load_weights(FIXTURES / "onnx_rnn_relu.onnx").nonlinearity == "relu"
    stacked = load_weights(FIXTURES / "onnx_torch_lstm_stacked.onnx")
    assert [c.kind for c in stacked.layers] == ["lstm", "lstm"]
    with pytest.raises(InputError, match="reset_after=False, but reset_after=True"):
        load_weights(FIXTURES / "onnx_gru_reset_before.onnx", reset_after=True)


# ---------------------------------------------------------------------------------- built models
G = {"RNN": 1, "GRU": 3, "LSTM": 4}


def node_model(op="LSTM", H=3, Din=2, attrs=None, extra=(), inits=(), W=None, bias=True, name="enc",
               nodes_before=(), weight_names=("W", "R", "B")):
    rng = np.random.default_rng(0)
    g = G[op]
    W = rng.normal(size=(1, g * H, Din)).astype(np.float32) if W is None else W
    R = rng.normal(size=(W.shape[0], g * H, H)).astype(np.float32)
    B = rng.normal(size=(W.shape[0], 2 * g * H)).astype(np.float32)
    tensors = [numpy_helper.from_array(W, weight_names[0]), numpy_helper.from_array(R, weight_names[1])]
    ins = ["X", weight_names[0], weight_names[1]]
    if bias:
        tensors.append(numpy_helper.from_array(B, weight_names[2]))
        ins.append(weight_names[2])
    ins += list(extra)
    node = helper.make_node(op, ins, ["Y", "Y_h"], name=name, hidden_size=H, **(attrs or {}))
    graph = helper.make_graph(
        list(nodes_before) + [node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [5, 1, Din])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], initializer=tensors + list(inits),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])


def save(model, tmp_path, name="m.onnx"):
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize("attrs, needle", [
    (dict(direction="bidirectional"), "R has shape (1, 12, 3); expected (2, 4·H, H)"),
    (dict(direction="sideways"), "direction 'sideways'"),
    (dict(clip=3.0), "clips its pre-activations"),
    (dict(input_forget=1), "input_forget=1"),
    (dict(activations=["Sigmoid", "Tanh", "Relu"]), "one activation for both"),
    (dict(activations=["LeakyRelu", "Tanh", "Tanh"]), "activation LeakyRelu"),
    (dict(activations=["HardSigmoid", "Tanh", "Tanh"]), "activation HardSigmoid"),
    (dict(activations=["Sigmoid", "Tanh"]), "lists 2 activations"),
])
def test_onnx_attribute_refusals(tmp_path, attrs, needle):
    assert needle in input_error(save(node_model(attrs=attrs), tmp_path))


def test_onnx_hard_sigmoid_and_affine_that_rnnviz_has(tmp_path):
    m = node_model(attrs=dict(activations=["HardSigmoid", "Affine", "Affine"], activation_alpha=[1 / 6, 1.0, 1.0],
                              activation_beta=[0.5, 0.0, 0.0]))
    cell = load_weights(save(m, tmp_path))
    assert (cell.recurrent_activation, cell.nonlinearity) == ("hard_sigmoid", "linear")


def test_onnx_peepholes_and_initial_states(tmp_path):
    P = numpy_helper.from_array(np.ones((1, 9), np.float32), "P")
    text = input_error(save(node_model(extra=["", "", "", "P"], inits=[P]), tmp_path))
    assert "peephole" in text
    zeros = numpy_helper.from_array(np.zeros((1, 9), np.float32), "P")
    load_weights(save(node_model(extra=["", "", "", "P"], inits=[zeros]), tmp_path))  # all-zero peepholes: fine
    h0 = numpy_helper.from_array(np.full((1, 1, 3), 0.5, np.float32), "h0")
    assert "non-zero initial_h" in input_error(save(node_model(extra=["", "h0"], inits=[h0]), tmp_path))


def test_onnx_initial_state_of_the_wrong_width(tmp_path):
    # what torch.onnx.export writes for nn.LSTM(3, 3, proj_size=2): the projection is lost
    c0 = numpy_helper.from_array(np.zeros((1, 1, 5), np.float32), "c0")
    text = input_error(save(node_model(extra=["", "", "c0"], inits=[c0]), tmp_path))
    assert "initial_c has shape (1, 1, 5); expected (1, batch, 3); torch.onnx.export writes this" in text
    assert "read the state_dict instead" in text


def test_onnx_weight_problems(tmp_path):
    # W given as a graph input, not stored
    m = node_model()
    m.graph.input.append(helper.make_tensor_value_info("Wx", TensorProto.FLOAT, [1, 12, 2]))
    m.graph.node[-1].input[1] = "Wx"
    assert "an input of the graph" in input_error(save(m, tmp_path))
    # W computed by an operator
    m = node_model()
    m.graph.node.insert(0, helper.make_node("Neg", ["W"], ["W2"]))
    m.graph.node[-1].input[1] = "W2"
    assert "computed at run time by a Neg node" in input_error(save(m, tmp_path))
    # wrong shapes and hidden_size
    bad = np.zeros((1, 11, 2), np.float32)
    assert "W has shape (1, 11, 2)" in input_error(save(node_model(W=bad), tmp_path))
    m = node_model()
    m.graph.node[-1].attribute[0].i = 7
    assert "hidden_size=7" in input_error(save(m, tmp_path))
    # integer weights
    m = node_model()
    m.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.zeros((1, 12, 2), np.int32), "W"))
    assert "data type INT32" in input_error(save(m, tmp_path))


def test_onnx_weights_through_constant_and_identity_nodes(tmp_path):
    W = np.random.default_rng(1).normal(size=(1, 12, 2)).astype(np.float32)
    const = helper.make_node("Constant", [], ["Wc"], value=numpy_helper.from_array(W, "Wc"))
    ident = helper.make_node("Identity", ["Wc"], ["Wi"])
    m = node_model(nodes_before=[const, ident], weight_names=("Wi", "R", "B"))
    m.graph.initializer.remove(m.graph.initializer[0])
    cell = load_weights(save(m, tmp_path))
    order = np.r_[0:3, 6:9, 9:12, 3:6]  # ONNX i, o, f, c -> PyTorch i, f, g, o
    np.testing.assert_array_equal(cell.W_ih, W[0][order])


def test_onnx_float_data_double_and_no_bias(tmp_path):
    m = node_model(bias=False)
    w = m.graph.initializer[0]
    values = numpy_helper.to_array(w).astype(np.float64)
    w.CopyFrom(helper.make_tensor("W", TensorProto.DOUBLE, values.shape, values.ravel().tolist()))
    cell = load_weights(save(m, tmp_path))
    assert not cell.b_ih.any() and not cell.b_hh.any()
    w.ClearField("double_data")
    w.double_data.extend([1.0, 2.0])
    assert "holds 2 values" in input_error(save(m, tmp_path))


def test_onnx_external_data_is_refused_without_opening_it(tmp_path):
    m = node_model()
    w = m.graph.initializer[0]
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value="/etc/passwd")
    text = input_error(save(m, tmp_path))
    assert "external data" in text and "save_as_external_data=False" in text


def test_onnx_not_a_model_and_no_recurrent_nodes(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\xff\xff\xff\xff garbage")
    assert "not an ONNX model" in input_error(tmp_path / "junk.onnx")
    g = helper.make_graph([helper.make_node("Relu", ["X"], ["Y"])], "g",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1])])
    assert "no RNN, GRU or LSTM operator (its nodes are Relu)" in input_error(save(helper.make_model(g), tmp_path))


def test_onnx_size_limit(tmp_path, monkeypatch):
    from rnnviz.io.weights import onnx as reader

    monkeypatch.setattr(reader, "MAX_ONNX_BYTES", 100)
    assert "at most 100 bytes" in input_error(FIXTURES / "onnx_lstm.onnx")
    monkeypatch.undo()
    monkeypatch.setattr(reader, "check_weight_shapes", lambda *a, **k: None)  # the array limit still holds
    monkeypatch.setattr("rnnviz.io.limits.MAX_ARRAY_BYTES", 64)
    assert "rnnviz reads arrays of at most 64 bytes" in input_error(FIXTURES / "onnx_lstm.onnx")


def test_onnx_declared_hidden_size_is_checked_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr("rnnviz.io.limits.MAX_HIDDEN", 2)
    assert "declares H = 3 hidden units" in input_error(save(node_model(), tmp_path))


def two_branches(tmp_path):
    """Two LSTMs reading the same X side by side: not a stack."""
    a = node_model(name="left")
    b = node_model(name="right", weight_names=("W2", "R2", "B2"))
    node_b = b.graph.node[-1]
    node_b.output[:] = ["Y2", "Y2_h"]
    a.graph.node.append(node_b)
    a.graph.initializer.extend(b.graph.initializer)
    return save(a, tmp_path, "branches.onnx")


def test_onnx_parallel_branches_are_not_a_stack(tmp_path):
    path = two_branches(tmp_path)
    text = input_error(path)
    assert "not one stack (LSTM 'left', LSTM 'right'); pick one with module=NAME" in text
    assert load_weights(path, module="right").kind == "lstm"
    assert "no recurrent operator named 'middle'" in input_error(path, module="middle")


def test_onnx_without_the_package_says_how_to_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert "pip install 'rnnviz[onnx]'" in input_error(FIXTURES / "onnx_lstm.onnx")


def test_cli_trace_onnx_and_module(tmp_path, capsys):
    from rnnviz.cli import main

    expected = np.load(FIXTURES / "onnx_lstm.expected.npz")
    np.save(tmp_path / "x.npy", expected["xs"])
    out = tmp_path / "t.npz"
    assert main(["trace", str(FIXTURES / "onnx_lstm.onnx"), str(tmp_path / "x.npy"), "-o", str(out)]) == 0
    assert_close("cli h", np.load(out)["h"], expected["h"])
    path = two_branches(tmp_path)
    assert main(["trace", str(path), str(tmp_path / "x.npy"), "-o", str(out)]) == 2
    assert "--module NAME" in capsys.readouterr().err
    np.save(tmp_path / "x2.npy", expected["xs"][:, :2])
    assert main(["trace", str(path), str(tmp_path / "x2.npy"), "-o", str(out), "--module", "left"]) == 0


def test_cli_trace_writes_both_directions(tmp_path):
    from rnnviz.cli import main

    path = FIXTURES / "onnx_torch_gru_bidirectional.npz"
    expected = expected_of(path)
    np.save(tmp_path / "x.npy", expected["xs"])
    out = tmp_path / "t.npz"
    assert main(["trace", str(path), str(tmp_path / "x.npy"), "-o", str(out)]) == 0
    got = np.load(out)
    assert got["h"].shape == (12, 8)
    assert {"h_forward", "h_backward", "z_forward", "n_backward", "influence_forward", "influence_backward"} <= set(got.files)
    for key in expected.files:
        if key != "xs":
            assert_close(key, got[key], expected[key])
