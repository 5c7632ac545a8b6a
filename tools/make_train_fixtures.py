"""Make the training fixtures with PyTorch 2.13 (CPU): losses, gradients and optimiser runs.

    .venv/bin/python tools/make_train_fixtures.py      # needs torch; writes tests/fixtures/train/

For each case, a float64 ``RNNModel`` (two layers, H = 3, D = 2, O = 3; see rnnviz/engine/train/
model.py) and one batch (B = 3, T = 7) with a 0/1 mask. ``torch_train_<case>.npz`` holds, keyed
by PyTorch's parameter names:

- ``names``: the parameter names in ``state_dict()`` order; ``param.<name>``: the initial weights. To
  keep the files small, every other set of per-parameter arrays below is stored as one flat
  vector: the arrays in ``names`` order, each flattened (C order) and concatenated;
- ``xs`` (B, T, D), ``ys`` (B, T, O), ``labels`` (B, T),
  ``mask`` (B, T) (batch-first; the module runs time-major on ``xs.transpose(0, 1)``);
- ``mse.loss``, ``mse.grad``: ``F.mse_loss(y[mask], ys[mask])`` and autograd's gradients;
- ``xent.loss``, ``xent.grad``: ``F.cross_entropy(z[mask], labels[mask])``;
- ``mse_k3.grad``: truncation k = 3 as rnnviz defines it: for every step t, the loss
  term of t (its share of the mean) back-propagated through steps t−2 … t only, from the
  states of the full run after step t−3, ``detach()``-ed;
- ``adam.params`` and ``adam.losses``: the weights after 20 steps of ``torch.optim.Adam(lr=1e-2)``
  with ``clip_grad_norm_(…, 0.1)`` before each step, on the MSE; ``adam.norms``: the total norms
  ``clip_grad_norm_`` returned; ``sgd.*``: the same with ``SGD(lr=0.05, momentum=0.9)``.

The reset-before GRU (Keras ``reset_after=False``) is not in PyTorch; its case runs the same
equations written with torch ops, and autograd differentiates them. The script does not import
rnnviz. Running it twice gives identical bytes.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures", "train")
B, T, D, H, O, LAYERS, K = 3, 7, 2, 3, 3, 2, 3
STEPS = 20
CLIP = 0.1  # small enough that clip_grad_norm_ rescales on most steps
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


def write_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    """np.savez_compressed with fixed timestamps, so the bytes do not depend on when it ran."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arrays[name]), allow_pickle=False)


class GRUResetBefore(nn.Module):
    """Keras's GRU with reset_after=False, in nn.GRU's parameter names and calling convention:
    n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)."""

    def __init__(self, D, H, layers):
        super().__init__()
        self.hidden_size, self.num_layers = H, layers
        ref = nn.GRU(D, H, layers)  # the same initialisation as nn.GRU
        for name, p in ref.named_parameters():
            self.register_parameter(name, nn.Parameter(p.detach().clone()))

    def forward(self, x, h0=None):
        L, H = self.num_layers, self.hidden_size
        h_last = []
        inp = x
        for k in range(L):
            W_ih, W_hh = getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}")
            b_ih, b_hh = getattr(self, f"bias_ih_l{k}"), getattr(self, f"bias_hh_l{k}")
            h = torch.zeros(x.shape[1], H) if h0 is None else h0[k]
            outs = []
            for xt in inp:
                gi = xt @ W_ih.T + b_ih
                r = torch.sigmoid(gi[:, :H] + h @ W_hh[:H].T + b_hh[:H])
                z = torch.sigmoid(gi[:, H : 2 * H] + h @ W_hh[H : 2 * H].T + b_hh[H : 2 * H])
                n = torch.tanh(gi[:, 2 * H :] + (r * h) @ W_hh[2 * H :].T + b_hh[2 * H :])
                h = (1 - z) * n + z * h
                outs.append(h)
            inp = torch.stack(outs)
            h_last.append(h)
        return inp, torch.stack(h_last)


class RNNModel(nn.Module):
    def __init__(self, rnn, fc):
        super().__init__()
        self.rnn, self.fc = rnn, fc

    def forward(self, x, state=None):
        y, state = self.rnn(x, state)
        return self.fc(y), state


def build(case: str, seed: int) -> RNNModel:
    torch.manual_seed(seed)
    if case == "rnn_tanh":
        rnn = nn.RNN(D, H, LAYERS)
    elif case == "rnn_relu":
        rnn = nn.RNN(D, H, LAYERS, nonlinearity="relu")
    elif case == "gru":
        rnn = nn.GRU(D, H, LAYERS)
    elif case == "gru_reset_before":
        rnn = GRUResetBefore(D, H, LAYERS)
    else:
        rnn = nn.LSTM(D, H, LAYERS)
    model = RNNModel(rnn, nn.Linear(H, O))
    with torch.no_grad():  # spread the gates over (0, 1), as the other fixtures do
        for name, p in model.named_parameters():
            if name.startswith("rnn."):
                p.mul_(2.0 if case != "rnn_relu" else 1.5)
    return model


def named(model) -> dict[str, torch.Tensor]:
    return dict(model.named_parameters())


def flat(arrays) -> np.ndarray:
    return np.concatenate([np.asarray(a).ravel() for a in arrays])


def grads_of(model) -> np.ndarray:
    return flat(p.grad.detach().numpy() for _, p in model.named_parameters())


def mse_full(model, x_tm, ys, mask):
    z, _ = model(x_tm)
    y = z.transpose(0, 1)
    return F.mse_loss(y[mask], ys[mask])


def xent_full(model, x_tm, labels, mask):
    z, _ = model(x_tm)
    return F.cross_entropy(z.transpose(0, 1)[mask], labels[mask])


def truncated_mse(model, x_tm, ys, mask, k):
    """Each step's share of the MSE, back-propagated k steps from the detached states of the full run."""
    n = mask.sum() * O
    for t in range(T):
        if not mask[:, t].any():
            continue
        lo = max(0, t - k + 1)
        state = None
        if lo > 0:
            with torch.no_grad():
                _, state = model.rnn(x_tm[:lo])
            state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        z, _ = model(x_tm[lo : t + 1], state)
        y = z[-1]  # (B, O): step t
        term = (((y - ys[:, t]) ** 2) * mask[:, t, None]).sum() / n
        term.backward()


def train(model, x_tm, ys, mask, make_opt):
    opt = make_opt(model.parameters())
    losses, norms = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = mse_full(model, x_tm, ys, mask)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)))
        opt.step()
        losses.append(loss.item())
    return flat(p.detach().numpy() for _, p in model.named_parameters()), np.array(losses), np.array(norms)


def case(name: str, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs = rng.normal(0.0, 1.0, (B, T, D))
    ys = rng.normal(0.0, 1.0, (B, T, O))
    labels = rng.integers(0, O, (B, T))
    mask = rng.integers(0, 2, (B, T)).astype(bool)
    mask[:, -1] = True
    out = {"xs": xs, "ys": ys, "labels": labels.astype(np.int64), "mask": mask.astype(np.uint8),
           "meta.case": np.array(name)}
    x_tm = torch.from_numpy(xs).transpose(0, 1).contiguous()
    ys_t, lab_t, mask_t = torch.from_numpy(ys), torch.from_numpy(labels), torch.from_numpy(mask)

    model = build(name, seed)
    out.update({f"param.{n}": p.detach().numpy().copy() for n, p in named(model).items()})
    out["names"] = np.array(list(named(model)))
    for loss_name, fn, target in (("mse", mse_full, ys_t), ("xent", xent_full, lab_t)):
        model.zero_grad()
        loss = fn(model, x_tm, target, mask_t)
        loss.backward()
        out[f"{loss_name}.loss"] = np.array(loss.item())
        out[f"{loss_name}.grad"] = grads_of(model)
    model.zero_grad()
    truncated_mse(model, x_tm, ys_t, mask_t, K)
    out[f"mse_k{K}.grad"] = grads_of(model)
    for opt_name, make in (("adam", lambda p: torch.optim.Adam(p, lr=1e-2)),
                           ("sgd", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9))):
        params, losses, norms = train(build(name, seed), x_tm, ys_t, mask_t, make)
        out[f"{opt_name}.params"] = params
        out[f"{opt_name}.losses"] = losses
        out[f"{opt_name}.norms"] = norms
    return out


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    for seed, name in enumerate(("rnn_tanh", "rnn_relu", "gru", "gru_reset_before", "lstm")):
        path = os.path.join(OUT, f"torch_train_{name}.npz")
        write_npz(path, case(name, seed))
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
