"""Make the parity fixtures of PyTorch LSTMs with ``proj_size`` (PyTorch 2.13, CPU).

    python tools/make_proj_fixtures.py

Like tools/make_fixtures.py (whose writers and inputs it uses; rnnviz is not imported): each case
writes ``.pt``, ``.safetensors`` and ``.npz`` state_dicts (with ``weight_hr_l{k}``) and
``<case>.expected.npz`` with ``xs``, ``h`` (T, P), ``c`` (T, H), the gates ``i f g o`` (T, H) and
``influence`` (T,) = ‖∂h_{t+1}/∂x_1‖_F from ``torch.autograd.functional.jacobian``. The gates come
from PyTorch's documented equations with torch ops, checked against the nn module (to 1e-12).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from make_fixtures import D, OUT, check, inputs, save_safetensors, write_npz  # noqa: E402


def layer_equations(module, k, xs):
    """Layer k of an LSTM with proj_size: h = W_hr (o ⊙ tanh c); returns h, c, gates."""
    get = lambda n: getattr(module, f"{n}_l{k}")  # noqa: E731
    W_ih, W_hh, b_ih, b_hh, W_hr = (get(n) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))
    H, P = W_hr.shape[1], W_hr.shape[0]
    h, c = torch.zeros(P, dtype=xs.dtype), torch.zeros(H, dtype=xs.dtype)
    hs, cs, gates = [], [], {g: [] for g in "ifgo"}
    for x in xs:
        a = W_ih @ x + b_ih + W_hh @ h + b_hh
        i, f, g, o = torch.sigmoid(a[:H]), torch.sigmoid(a[H : 2 * H]), torch.tanh(a[2 * H : 3 * H]), torch.sigmoid(a[3 * H :])
        c = f * c + i * g
        h = W_hr @ (o * torch.tanh(c))
        hs.append(h)
        cs.append(c)
        for name, v in zip("ifgo", (i, f, g, o)):
            gates[name].append(v)
    return torch.stack(hs), torch.stack(cs), {n: torch.stack(v) for n, v in gates.items()}


def proj_case(name, seed, hidden, proj, num_layers=1, scale=2.5):
    torch.manual_seed(seed)
    module = torch.nn.LSTM(D, hidden, num_layers, proj_size=proj).double()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(scale)
    xs = torch.from_numpy(inputs(seed))
    with torch.no_grad():
        out, (hT, cT) = module(xs[:, None, :])

    def through(xs_, upto):
        seq = xs_
        for k in range(upto + 1):
            seq, c, gates = layer_equations(module, k, seq)
        return seq, c, gates

    expected = {"xs": xs.numpy()}
    for k in range(num_layers):
        with torch.no_grad():
            h, c, gates = through(xs, k)
        if k == num_layers - 1:
            check(f"{name} h vs nn module", h, out[:, 0, :], 1e-12)
            check(f"{name} c_T vs nn module", c[-1], cT[-1, 0], 1e-12)
        jac = torch.autograd.functional.jacobian(lambda x_: through(x_, k)[0], xs)
        suffix = "" if k == num_layers - 1 else f"_l{k}"
        expected[f"h{suffix}"] = h.numpy()
        expected[f"c{suffix}"] = c.numpy()
        for g, v in gates.items():
            expected[f"{g}{suffix}"] = v.numpy()
        expected[f"influence{suffix}"] = torch.linalg.matrix_norm(jac[:, :, 0, :], ord="fro").numpy()
    state = {k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}
    torch.save(state, os.path.join(OUT, f"{name}.pt"))
    save_safetensors(state, os.path.join(OUT, f"{name}.safetensors"))
    write_npz(os.path.join(OUT, f"{name}.npz"), {k: v.numpy() for k, v in state.items()})
    write_npz(os.path.join(OUT, f"{name}.expected.npz"), expected)
    print(name, sorted(state))


if __name__ == "__main__":
    torch.set_num_threads(1)
    proj_case("torch_lstm_proj", 41, 5, 2)
    proj_case("torch_lstm_proj_stacked", 42, 4, 3, num_layers=2)
