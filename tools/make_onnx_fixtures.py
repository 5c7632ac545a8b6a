"""Make the ONNX parity fixtures: models built as torch.onnx.export and tf2onnx write them, run by
onnxruntime.

Run from anywhere with a venv holding onnx, onnxruntime, torch and onnxscript (torch and
onnxscript only for the exported cases; onnxscript for torch.onnx.export(dynamo=True)):

    python tools/make_onnx_fixtures.py

Each case writes ``<case>.onnx`` and ``<case>.expected.npz`` with ``xs`` (T, D), ``h`` (T, H)
(onnxruntime's ``Y``), and for LSTMs ``c`` (T, H), and every gate by rnnviz's names (GRU
``r z n``, LSTM ``i f g o``). onnxruntime gives ``Y`` for every step but the cell state and the
gates only through ``Y_c`` at the last step, so ``c`` and the gates come from ONNX's operator
equations written here in float64 with NumPy, checked against ``Y`` at every step and ``Y_h`` /
``Y_c`` at the last (to 1e-5). Stacked cases describe the last layer; ``h_l0`` … layer 0. This
script does not import rnnviz. Running it twice gives identical bytes.
"""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures", "onnx")
T, D = 12, 3
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
OPSET = 14


def write_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_TIME)
            with z.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arrays[name]), allow_pickle=False)


def inputs(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.5, (T, D)).astype(np.float32)


# ---------------------------------------------------------------------------------- ONNX's equations
_F = {
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
}


def reference(op, W, R, B, xs, acts, linear_before_reset=0):
    """One direction of ONNX's RNN/GRU/LSTM (operator docs), float64; returns h, c, gates by ONNX
    block name (RNN none; GRU z r h; LSTM i o f c)."""
    W, R = W.astype(np.float64), R.astype(np.float64)
    GH, H = R.shape
    B = np.zeros(2 * GH) if B is None else B.astype(np.float64)
    Wb, Rb = B[:GH], B[GH:]
    h, c = np.zeros(H), np.zeros(H)
    hs, cs, gates = [], [], {}
    f = [_F[a] for a in acts]
    for x in xs.astype(np.float64):
        gx = W @ x + Wb
        if op == "RNN":
            h = f[0](gx + R @ h + Rb)
            g = {}
        elif op == "GRU":
            gh = R @ h + Rb
            z = f[0](gx[:H] + gh[:H])
            r = f[0](gx[H : 2 * H] + gh[H : 2 * H])
            if linear_before_reset:
                n = f[1](gx[2 * H :] + r * gh[2 * H :])
            else:
                n = f[1](gx[2 * H :] + R[2 * H :] @ (r * h) + Rb[2 * H :])
            h = (1 - z) * n + z * h
            g = {"z": z, "r": r, "h": n}
        else:
            a = gx + R @ h + Rb
            i, o, fg = f[0](a[:H]), f[0](a[H : 2 * H]), f[0](a[2 * H : 3 * H])
            cc = f[1](a[3 * H :])
            c = fg * c + i * cc
            h = o * f[2](c)
            g = {"i": i, "o": o, "f": fg, "c": cc}
        hs.append(h)
        cs.append(c)
        for k, v in g.items():
            gates.setdefault(k, []).append(v)
    return np.array(hs), np.array(cs), {k: np.array(v) for k, v in gates.items()}


# Our names for ONNX's blocks.
_OURS = {"GRU": {"z": "z", "r": "r", "h": "n"}, "LSTM": {"i": "i", "o": "o", "f": "f", "c": "g"}, "RNN": {}}


def expected(op, ref, suffix=""):
    h, c, gates = ref
    out = {f"h{suffix}": h}
    if suffix in ("_forward", "_backward"):
        out.update({f"{k}{suffix}": v for k, v in expected(op, ref).items()})
        return out
    if op == "LSTM":
        out[f"c{suffix}"] = c
    for k, v in gates.items():
        out[_OURS[op][k] + suffix] = v
    return out


def run_ort(model_bytes: bytes, xs: np.ndarray, feed_name="X", batch_axis=1):
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    x = np.expand_dims(xs, batch_axis)
    return sess.run(None, {feed_name: x})


def check(name, ours, theirs, tol=1e-5):
    err = float(np.max(np.abs(np.asarray(ours, np.float64) - np.asarray(theirs, np.float64))))
    if err > tol:
        raise SystemExit(f"{name}: ONNX's equations disagree with onnxruntime by {err:.3g} (> {tol})")


# ---------------------------------------------------------------------------------- helper-built models
def weights(op, H, seed, scale=1.2, Din=D, nd=1):
    G = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
    rng = np.random.default_rng(seed)
    W = rng.uniform(-scale, scale, (nd, G * H, Din)).astype(np.float32)
    R = rng.uniform(-scale, scale, (nd, G * H, H)).astype(np.float32)
    B = rng.uniform(-scale, scale, (nd, 2 * G * H)).astype(np.float32)
    return W, R, B


def one_node_model(op, W, R, B, attrs, name="rnn", extra_inputs=(), init_extra=()):
    """X (T, 1, D) -> op -> Y (T, 1, 1, H), Y_h (and Y_c), weights as initializers (tf2onnx's way)."""
    H, nd = R.shape[2], R.shape[0]
    inits = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(R, "R")]
    ins = ["X", "W", "R"]
    if B is not None:
        inits.append(numpy_helper.from_array(B, "B"))
        ins.append("B")
    ins += list(extra_inputs)
    inits += list(init_extra)
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    node = helper.make_node(op, ins, outs, name=name, hidden_size=H, **attrs)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, 1, W.shape[2]])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [T, nd, 1, H] if o == "Y" else [nd, 1, H]) for o in outs],
        initializer=inits,
    )
    model = helper.make_model(graph, producer_name="rnnviz-fixtures", opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    return model


def flipped(ref):
    """A reference run over the reversed sequence, in the input's time order."""
    h, c, gates = ref
    return h[::-1], c[::-1], {k: v[::-1] for k, v in gates.items()}


def helper_case(case, op, H, seed, attrs, acts, lbr=0, scale=1.2):
    direction = attrs.get("direction", "forward")
    names = {"forward": ("forward",), "reverse": ("backward",), "bidirectional": ("forward", "backward")}[direction]
    W, R, B = weights(op, H, seed, scale, nd=len(names))
    model = one_node_model(op, W, R, B, attrs)
    data = model.SerializeToString()
    xs = inputs(seed + 100)
    outs = run_ort(data, xs)
    out = {"xs": xs.astype(np.float64)}
    for d, name in enumerate(names):
        a = acts  # the same activations in each direction
        if name == "forward":
            ref = reference(op, W[d], R[d], B[d], xs, a, lbr)
        else:
            ref = flipped(reference(op, W[d], R[d], B[d], xs[::-1], a, lbr))
        Y = outs[0][:, d, 0, :]
        check(f"{case} {name}", ref[0], Y)
        last = -1 if name == "forward" else 0  # Y_h holds each direction's final state
        check(f"{case} {name} Y_h", ref[0][last], outs[1][d, 0])
        if op == "LSTM":
            check(f"{case} {name} Y_c", ref[1][last], outs[2][d, 0])
        ref = (Y.astype(np.float64),) + ref[1:]
        out.update(expected(op, ref, "" if direction == "forward" else f"_{name}"))
    if direction != "forward":
        out["h"] = np.concatenate([outs[0][:, d, 0, :] for d in range(len(names))], axis=1).astype(np.float64)
    with open(os.path.join(OUT, f"{case}.onnx"), "wb") as fh:
        fh.write(data)
    write_npz(os.path.join(OUT, f"{case}.expected.npz"), out)
    print(f"{case}.onnx: {len(data)} bytes")


# ---------------------------------------------------------------------------------- torch.onnx.export
def torch_case(case, module_factory, op, seed, layers=1, dynamo=False):
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    m = module_factory().eval()
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(2.5)
    xs = inputs(seed + 100)
    buf = io.BytesIO()
    if dynamo:  # torch.export's exporter, the default since PyTorch 2.9 (needs onnxscript)
        torch.onnx.export(m, (torch.from_numpy(xs)[:, None, :],), dynamo=True, verbose=False).save(buf)
    else:  # the TorchScript-based one (dynamo=False)
        kw = {"dynamo": False} if "dynamo" in torch.onnx.export.__code__.co_varnames else {}
        torch.onnx.export(m, (torch.from_numpy(xs)[:, None, :],), buf, input_names=["X"], output_names=["Y"],
                          opset_version=OPSET, do_constant_folding=True, **kw)
    data = buf.getvalue()
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model)
    feed = onnxruntime_input(data)
    Y = run_ort(data, xs, feed)[0][:, 0, :]
    with torch.no_grad():
        check(case + " vs torch", Y, m(torch.from_numpy(xs)[:, None, :])[0][:, 0, :].numpy())
    out = {"xs": xs.astype(np.float64)}
    x = xs
    G = {"GRU": 3, "LSTM": 4}[op]
    for k in range(layers):
        W_ih = getattr(m, f"weight_ih_l{k}").detach().numpy().astype(np.float64)
        W_hh = getattr(m, f"weight_hh_l{k}").detach().numpy().astype(np.float64)
        b = np.concatenate([getattr(m, f"bias_ih_l{k}").detach().numpy(), getattr(m, f"bias_hh_l{k}").detach().numpy()])
        H = W_hh.shape[1]
        # PyTorch's blocks (GRU r z n, LSTM i f g o) in ONNX's order (z r h; i o f c)
        perm = (1, 0, 2) if op == "GRU" else (0, 3, 1, 2)

        def onnx_order(a):
            return np.concatenate([a[j * H : (j + 1) * H] for j in perm])

        Wo, Ro = onnx_order(W_ih), onnx_order(W_hh)
        Bo = np.concatenate([onnx_order(b[: G * H]), onnx_order(b[G * H :])])
        acts = ("sigmoid", "tanh") if op == "GRU" else ("sigmoid", "tanh", "tanh")
        ref = reference(op, Wo, Ro, Bo, x, acts, linear_before_reset=1)
        suffix = "" if k == layers - 1 else f"_l{k}"
        out.update(expected(op, ref, suffix))
        x = ref[0]
    check(case + " equations", x, Y)
    out["h"] = Y.astype(np.float64)
    with open(os.path.join(OUT, f"{case}.onnx"), "wb") as fh:
        fh.write(data)
    write_npz(os.path.join(OUT, f"{case}.expected.npz"), out)
    ops = [n.op_type for n in model.graph.node]
    print(f"{case}.onnx: {len(data)} bytes, nodes {ops}")


def torch_bidirectional_case(case, seed, H=4):
    """nn.GRU(bidirectional=True): its state_dict as .npz (weight_*_l0_reverse) and its ONNX export,
    one expected file for both (h from the module, (T, 2H) = [forward | backward])."""
    import torch

    torch.manual_seed(seed)
    m = torch.nn.GRU(D, H, bidirectional=True).double().eval()
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(2.5)
    xs = inputs(seed + 100).astype(np.float64)
    with torch.no_grad():
        Y = m(torch.from_numpy(xs)[:, None, :])[0][:, 0, :].numpy()
    out = {"xs": xs, "h": Y}
    for name, rev in (("forward", ""), ("backward", "_reverse")):
        get = lambda n: getattr(m, f"{n}_l0{rev}").detach().numpy()  # noqa: E731
        perm = (1, 0, 2)  # PyTorch r z n -> ONNX z r h

        def onnx_order(a):
            return np.concatenate([a[j * H : (j + 1) * H] for j in perm])

        Bo = np.concatenate([onnx_order(get("bias_ih")), onnx_order(get("bias_hh"))])
        seq = xs if name == "forward" else xs[::-1]
        ref = reference("GRU", onnx_order(get("weight_ih")), onnx_order(get("weight_hh")), Bo, seq,
                        ("sigmoid", "tanh"), linear_before_reset=1)
        ref = ref if name == "forward" else flipped(ref)
        check(f"{case} {name} vs torch", ref[0], Y[:, :H] if name == "forward" else Y[:, H:], 1e-12)
        out.update(expected("GRU", ref, f"_{name}"))
    m32 = m.float()
    buf = io.BytesIO()
    kw = {"dynamo": False} if "dynamo" in torch.onnx.export.__code__.co_varnames else {}
    torch.onnx.export(m32, (torch.from_numpy(xs.astype(np.float32))[:, None, :],), buf, input_names=["X"],
                      output_names=["Y"], opset_version=OPSET, do_constant_folding=True, **kw)
    data = buf.getvalue()
    check(case + " onnxruntime vs torch", run_ort(data, xs.astype(np.float32))[0][:, 0, :], Y)
    with open(os.path.join(OUT, f"{case}.onnx"), "wb") as fh:
        fh.write(data)
    write_npz(os.path.join(OUT, f"{case}.npz"), {k: v.detach().numpy().astype(np.float64) for k, v in m.state_dict().items()})
    write_npz(os.path.join(OUT, f"{case}.expected.npz"), out)
    print(f"{case}: .onnx {len(data)} bytes, .npz keys {sorted(m.state_dict())}")


def onnxruntime_input(data: bytes) -> str:
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"]).get_inputs()[0].name


def main() -> None:
    helper_case("onnx_lstm", "LSTM", 5, 1, dict(activations=["Sigmoid", "Tanh", "Tanh"], direction="forward"),
                ("sigmoid", "tanh", "tanh"))
    helper_case("onnx_gru_reset_after", "GRU", 5, 2, dict(linear_before_reset=1), ("sigmoid", "tanh"), lbr=1)
    helper_case("onnx_gru_reset_before", "GRU", 4, 3, dict(activations=["Sigmoid", "Tanh"]), ("sigmoid", "tanh"))
    helper_case("onnx_rnn_relu", "RNN", 4, 4, dict(activations=["Relu"]), ("relu",), scale=0.5)
    import torch

    torch_case("onnx_torch_lstm_stacked", lambda: torch.nn.LSTM(D, 4, num_layers=2), "LSTM", 5, layers=2)
    torch_case("onnx_torch_gru", lambda: torch.nn.GRU(D, 5), "GRU", 6)
    helper_case("onnx_lstm_bidirectional", "LSTM", 3, 7, dict(direction="bidirectional"), ("sigmoid", "tanh", "tanh"))
    helper_case("onnx_gru_reverse", "GRU", 4, 8, dict(direction="reverse", linear_before_reset=1), ("sigmoid", "tanh"),
                lbr=1)
    torch_bidirectional_case("onnx_torch_gru_bidirectional", 9)
    torch_case("onnx_torch_dynamo_lstm_stacked", lambda: torch.nn.LSTM(D, 4, num_layers=2), "LSTM", 10, layers=2,
               dynamo=True)


if __name__ == "__main__":
    main()
