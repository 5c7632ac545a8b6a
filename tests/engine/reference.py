"""Naive float64 implementations of the cell equations, written straight from the docs.

Independent of the engine's fused kernels: one step at a time, no in-place tricks.
"""

import numpy as np

from rnnviz.engine import init_cell

#: The cell variants every engine test runs over, and their test ids.
VARIANTS = [
    dict(kind="rnn"),
    dict(kind="rnn", nonlinearity="relu"),
    dict(kind="gru"),
    dict(kind="gru", reset_after=False),
    dict(kind="lstm"),
]
IDS = ["rnn-tanh", "rnn-relu", "gru", "gru-reset-before", "lstm"]


def make(kind, D=3, H=4, seed=0, scale=2.0, **kw):
    """A cell with weights large enough that gates spread over (0, 1)."""
    c = init_cell(kind, D, H, seed=seed, **kw)
    return c.with_params(W_ih=c.W_ih * scale, W_hh=c.W_hh * scale, b_ih=c.b_ih * scale, b_hh=c.b_hh * scale)

ACT = {
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "linear": lambda a: a,
    "hard_sigmoid": lambda a: np.clip((a + 3.0) / 6.0, 0.0, 1.0),
}


def ref_step(cell, x, h, c=None):
    H = cell.hidden_size
    act, sig = ACT[cell.nonlinearity], ACT[cell.recurrent_activation]
    W_ih, W_hh, b_ih, b_hh = cell.W_ih, cell.W_hh, cell.b_ih, cell.b_hh
    blk = lambda a, k: a[k * H : (k + 1) * H]  # noqa: E731
    if cell.kind == "rnn":
        return act(W_ih @ x + b_ih + W_hh @ h + b_hh), None, {}
    if cell.kind == "gru":
        r = sig(blk(W_ih, 0) @ x + blk(b_ih, 0) + blk(W_hh, 0) @ h + blk(b_hh, 0))
        z = sig(blk(W_ih, 1) @ x + blk(b_ih, 1) + blk(W_hh, 1) @ h + blk(b_hh, 1))
        if cell.reset_after:
            n = act(blk(W_ih, 2) @ x + blk(b_ih, 2) + r * (blk(W_hh, 2) @ h + blk(b_hh, 2)))
        else:
            n = act(blk(W_ih, 2) @ x + blk(b_ih, 2) + blk(W_hh, 2) @ (r * h) + blk(b_hh, 2))
        return (1 - z) * n + z * h, None, {"r": r, "z": z, "n": n}
    pre = [blk(W_ih, k) @ x + blk(b_ih, k) + blk(W_hh, k) @ h + blk(b_hh, k) for k in range(4)]
    i, f, g, o = sig(pre[0]), sig(pre[1]), act(pre[2]), sig(pre[3])
    c2 = f * c + i * g
    return o * act(c2), c2, {"i": i, "f": f, "g": g, "o": o}


def ref_run(layers, xs, h0=None, c0=None):
    """Run a list of cells (a stack) over xs; returns per-layer lists of (h, c, gates)."""
    out = []
    inp = np.asarray(xs, dtype=np.float64)
    for k, cell in enumerate(layers):
        h = np.zeros(cell.hidden_size) if h0 is None else np.asarray(h0[k], float)
        c = np.zeros(cell.hidden_size) if c0 is None else np.asarray(c0[k], float)
        hs, cs, gs = [], [], []
        for x in inp:
            h, c_new, g = ref_step(cell, x, h, c)
            c = c_new if c_new is not None else c
            hs.append(h)
            cs.append(c)
            gs.append(g)
        out.append((np.array(hs), np.array(cs), gs))
        inp = np.array(hs)
    return out
