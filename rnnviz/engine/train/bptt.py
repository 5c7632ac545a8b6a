"""Exact backpropagation through time for a :class:`~.model.Model`, batched, with optional truncation.

The algebra is the cell kinds' (``forward_batch``, ``tangent_coeffs``, ``vjp`` and
``param_grads`` in ``cells/<kind>.py``); this module only drives it, so it never asks which
kind it runs.

Truncation
----------
PyTorch has no built-in truncated BPTT; rnnviz defines it per loss term. With ``truncate=k``
the gradient of the loss term at step t (every selected (b, t) of the mask) flows back through
steps t−k+1 … t only: it is the exact gradient of that term with every layer's state after
step t−k (h, and c for an LSTM) held constant, i.e. ``detach()``-ed. The loss value is
unchanged; ``truncate=None`` (or k ≥ T) is full BPTT. In PyTorch this is, for each t, a run of
the steps t−k+1 … t from the detached states of the full run, and ``backward()`` of that term
(``tools/make_train_fixtures.py`` does exactly this). It costs up to k steps back per loss step,
so a loss at every step costs about k times a full backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..buffers import FRESH, scratch
from ..cells import kind_of
from ..cells.common import batch_state, weights
from .losses import cross_entropy, mse
from .model import Model

__all__ = ["Gradients", "LOSS_NAMES", "forward", "layer_states", "loss_and_grads"]

#: "mse" (targets (B, T, O) floats) or "xent" (targets (B, T) class indices, logits from fc).
LOSS_NAMES = ("mse", "xent")


@dataclass(frozen=True, eq=False)
class Gradients:
    """One forward and backward pass.

    Attributes
    ----------
    loss : float
    grads : dict of arrays by PyTorch name (see :mod:`.model`), in the working dtype
    y : (B, T, O) the outputs g(W_hy h_t + b_y)
    dh : (B, T, H) ∂L/∂h_t of the last layer (everything the truncated passes sent back to it)
    dx : (B, T, D) ∂L/∂x_t (with truncation: the sum over loss terms of their truncated gradients)
    """

    loss: float
    grads: dict
    y: np.ndarray
    dh: np.ndarray
    dx: np.ndarray


def _check(model: Model, xs, dtype):
    xs = np.asarray(xs, dtype=dtype)
    if xs.ndim != 3 or xs.shape[2] != model.input_size:
        raise ValueError(f"xs has shape {xs.shape}; expected (B, T, {model.input_size})")
    if xs.shape[0] < 1 or xs.shape[1] < 1:
        raise ValueError("xs is empty; need at least one sequence and one time step")
    if not np.isfinite(xs).all():
        raise ValueError("xs contains inf or NaN")
    for cell in model.rnn.layers:
        if kind_of(cell).forward_batch is None or kind_of(cell).param_grads is None:
            raise ValueError(f"a {kind_of(cell).label} cannot be trained (its kind has no batched forward)")
    return xs


def _records(model: Model, xs_tm, dtype, h0=None, c0=None, ws=FRESH):
    """Each layer's batched record, bottom up (time-major), its arrays lent by ``ws``."""
    records = []
    x = xs_tm
    B = xs_tm.shape[1]
    for k, cell in enumerate(model.rnn.layers):
        kind = kind_of(cell)
        H = cell.hidden_size
        h = batch_state(None if h0 is None else h0[k], B, H, dtype)
        c = batch_state(None if c0 is None else c0[k], B, H, dtype) if kind.has_cell_state else None
        rec = kind.forward_batch(cell, x, h, c, dtype, ws=ws)
        records.append(rec)
        x = rec.h
    return records


def forward(model: Model, xs, dtype=np.float64, h0=None, c0=None):
    """(y, h) for a batch xs (B, T, D): the outputs (B, T, O) and the last layer's h (B, T, H)."""
    dtype = np.dtype(dtype).type
    xs = _check(model, xs, dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        top = _records(model, np.ascontiguousarray(xs.transpose(1, 0, 2)), dtype, h0, c0)[-1].h
        h = top.transpose(1, 0, 2)
        return model.fc.forward(h), h


def layer_states(model: Model, xs, dtype=np.float64, h0=None, c0=None) -> list:
    """Every layer's states for a batch xs (B, T, D), bottom up: (h (B, T, H), c (B, T, H) or None)."""
    dtype = np.dtype(dtype).type
    xs = _check(model, xs, dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        records = _records(model, np.ascontiguousarray(xs.transpose(1, 0, 2)), dtype, h0, c0)
    return [(r.h.transpose(1, 0, 2), None if r.c is None else r.c.transpose(1, 0, 2)) for r in records]


def _window(steps, inject, lo: int, hi: int, A_ih, A_hh, dh_seen):
    """Back through steps hi … lo (inclusive) of every layer, top layer first at each step.

    ``inject(s)`` is the loss's ∂L/∂h_s for the last layer (or None). What arrives at the
    states before step lo is dropped: they are constants here (h0, or a truncation's cut).
    ``A_hh[l]`` may be ``A_ih[l]`` itself (a kind whose two projections share one adjoint);
    it is then added once.
    """
    L = len(steps)
    gh = [None] * L
    gc = [None] * L
    for s in range(hi, lo - 1, -1):
        from_above = inject(s)
        for l in range(L - 1, -1, -1):
            vjp, k, W_ih, zeros = steps[l]
            g = gh[l]
            if from_above is not None:
                g = from_above if g is None else g + from_above
            if l == L - 1 and g is not None:
                dh_seen[s] += g
            if g is None and gc[l] is None:
                from_above = None
                continue
            adj = vjp(k, s, zeros if g is None else g, gc[l], full=True)
            A_ih[l][s] += adj.a_ih
            if A_hh[l] is not A_ih[l]:
                A_hh[l][s] += adj.a_hh
            gh[l], gc[l] = adj.h, adj.c
            if l > 0:  # layer 0's input gradient is A_ih[0] W_ih, taken once at the end
                from_above = adj.a_ih @ W_ih


def _product(A, W, ws=FRESH):
    """A (T, B, M) @ W (M, N) as one 2-D product (a 3-D matmul runs one small product per step)."""
    out = ws.empty(A.shape[:-1] + (W.shape[-1],), np.result_type(A, W))
    np.matmul(A.reshape(-1, A.shape[-1]), W, out=out.reshape(-1, W.shape[-1]))
    return out


def _outside(gz, W_hy, live, ws):
    """The loss's own ∂L/∂h_t = gz_t W_hy (T, B, H), made only at the steps the loss reads,
    ``live`` (a loss at the last step alone, as the recall and adding tasks have, is one small
    product instead of T); the other steps are zeros."""
    if len(live) * 2 > gz.shape[0]:
        return _product(gz, W_hy, ws)
    out = ws.zeros(gz.shape[:-1] + (W_hy.shape[-1],), np.result_type(gz, W_hy))
    for t in live:
        np.matmul(gz[t], W_hy, out=out[t])
    return out


def _contiguous(a, ws):
    out = ws.empty(a.shape, a.dtype)
    np.copyto(out, a)
    return out


def _sweep(records, g_top, ws=FRESH):
    """Full BPTT one layer at a time, top down, each in one sweep of its kind's
    ``backward_batch``: a layer's states reach only its own later steps and the layer above, so
    once the layer above is done, everything its input h receives is known, A_ih W_ih at every
    step in one product. Returns (A_ih, A_hh, dh of the top layer, dx of the bottom one,
    coefficients: None each). A kind's sweep may return that A_ih W_ih itself, a fourth array."""
    L = len(records)
    A_ih, A_hh = [None] * L, [None] * L
    g, dh = g_top, None
    for l in range(L - 1, -1, -1):
        rec = records[l]
        out = kind_of(rec.cell).backward_batch(rec, g, ws=ws)
        A_ih[l], A_hh[l], dh_l = out[:3]
        dx = out[3] if len(out) > 3 else _product(A_ih[l], weights(rec)[0], ws)
        if l == L - 1:
            dh = dh_l
        g = dx
    return A_ih, A_hh, dh, dx, [None] * L


def _stepwise(records, g_top, truncate, B, dtype):
    """BPTT step by step through every layer with the kinds' ``vjp`` (truncation, or a kind
    without ``backward_batch``). Returns (A_ih, A_hh, dh of the top layer, tangent coefficients)."""
    T = g_top.shape[0]
    steps, A_ih, A_hh = [], [], []
    for rec in records:
        kind = kind_of(rec.cell)
        k = kind.tangent_coeffs(rec)
        steps.append((kind.vjp, k, weights(rec)[0], np.zeros((B, rec.cell.hidden_size), dtype)))
        A_ih.append(np.zeros(rec.G.shape[:2] + (rec.cell.W_ih.shape[0],), dtype))
        probe = kind.vjp(k, 0, np.zeros((B, rec.cell.hidden_size), dtype), None, full=True)
        A_hh.append(A_ih[-1] if probe.a_ih is probe.a_hh else np.zeros_like(A_ih[-1]))
    dh = np.zeros_like(g_top)
    if truncate is None:
        _window(steps, lambda s: g_top[s], 0, T - 1, A_ih, A_hh, dh)
    else:
        live = np.flatnonzero(np.any(g_top != 0, axis=(1, 2)))
        for t in live:
            _window(steps, lambda s, t=t: g_top[t] if s == t else None,
                    max(0, t - truncate + 1), t, A_ih, A_hh, dh)
    return A_ih, A_hh, dh, [step[1] for step in steps]


def loss_and_grads(model: Model, xs, targets, mask=None, loss: str = "mse", truncate: int | None = None,
                   dtype=np.float64, h0=None, c0=None) -> Gradients:
    """The loss and its exact gradient for every parameter, by BPTT.

    Parameters
    ----------
    model : Model
    xs : array, shape (B, T, D), batch-first (as ``batch_first=True``; the model's maths is the same)
    targets : (B, T, O) floats for "mse" (compared with y = g(z)); (B, T) ints for "xent"
        (compared with the logits z, as ``F.cross_entropy``)
    mask : 0/1 array (B, T), optional: which steps count (default all)
    loss : "mse" or "xent"
    truncate : int ≥ 1, optional: each loss term's gradient flows back at most this many steps
        (see the module notes); None is full BPTT
    dtype : float32 or float64, the working precision of the whole pass
    h0, c0 : optional per-layer initial states, each (H,) or (B, H); default zeros (constants)
    """
    with scratch() as ws:
        g = _loss_and_grads(model, xs, targets, mask, loss, truncate, dtype, h0, c0, ws)
        # dh and dx may live in the scratch arrays, which go back to the pool: the caller gets copies
        return Gradients(g.loss, g.grads, g.y, _copy(g.dh), _copy(g.dx))


def _copy(d):
    """A copy of d (B, T, ·), a view of time-major memory, in the same layout."""
    return d.transpose(1, 0, 2).copy().transpose(1, 0, 2)


def _loss_and_grads(model: Model, xs, targets, mask, loss: str, truncate, dtype, h0, c0, ws) -> Gradients:
    """:func:`loss_and_grads` with the working arrays lent by ``ws``: ``dh`` and ``dx`` may be
    among them (every other field is the caller's)."""
    if loss not in LOSS_NAMES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSS_NAMES)}")
    if truncate is not None and (int(truncate) != truncate or truncate < 1):
        raise ValueError(f"truncate must be a whole number ≥ 1, not {truncate!r}")
    dtype = np.dtype(dtype).type
    xs = _check(model, xs, dtype)
    B, T, _ = xs.shape
    fc = model.fc
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        records = _records(model, np.ascontiguousarray(xs.transpose(1, 0, 2)), dtype, h0, c0, ws)
        h_top = records[-1].h  # (T, B, H)
        W_hy = fc.W_hy.astype(dtype)
        O, H_top = W_hy.shape
        h_um = h_top.transpose(0, 2, 1)
        # a unit-major kernel's (T, H, B) memory: W_hy h_t, one product per step, reads it as it is
        # (a copy to (T, B, H) for one 2-D product took longer than the products themselves)
        unit_major = not h_top.flags.c_contiguous and h_um[0].flags.c_contiguous
        if unit_major:
            z = np.matmul(W_hy, h_um).transpose(0, 2, 1)  # (T, B, O), a view of (T, O, B)
            z += fc.b_y.astype(dtype)
        else:
            if not h_top.flags.c_contiguous:
                h_top = _contiguous(h_top, ws)
            z = fc.logits(h_top)  # (T, B, O)
        m_tm = None if mask is None else np.asarray(mask).T
        y = fc.activate(z)
        if loss == "mse":
            value, gy = mse(y, np.asarray(targets).transpose(1, 0, 2), m_tm)
            gz = fc.backward_activation(y, gy)
        else:
            if fc.activation == "sigmoid":
                raise ValueError("cross-entropy reads the logits; use an identity or softmax output layer")
            value, gz = cross_entropy(z, np.asarray(targets).T, m_tm)
        gz = gz.astype(dtype, copy=False)
        # the steps the loss reads (gz is zero at every other)
        live = np.arange(T) if m_tm is None else np.flatnonzero(np.asarray(m_tm).any(axis=1))
        if unit_major:
            read = slice(None) if len(live) * 2 > T else live
            dW_hy = np.matmul(gz[read].transpose(0, 2, 1), h_top[read]).sum(axis=0)
        else:
            dW_hy = gz.reshape(-1, O).T @ h_top.reshape(-1, H_top)
        grads_fc = {"fc.weight": dW_hy, "fc.bias": gz.reshape(-1, O).sum(axis=0)}
        g_top = _outside(gz, W_hy, live, ws)  # (T, B, H): the loss's direct ∂L/∂h_t

        full = truncate is None or truncate >= T
        if full and all(kind_of(rec.cell).backward_batch is not None for rec in records):
            A_ih, A_hh, dh, dx, coeffs = _sweep(records, g_top, ws)
        else:
            A_ih, A_hh, dh, coeffs = _stepwise(records, g_top, None if full else int(truncate), B, dtype)
            dx = _product(A_ih[0], weights(records[0])[0])

        grads = {}
        for l, rec in enumerate(records):
            kind = kind_of(rec.cell)
            parts = kind.param_grads(coeffs[l], rec, A_ih[l], A_hh[l])
            for name, g in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), parts):
                grads[f"rnn.{name}_l{l}"] = np.asarray(g, dtype=dtype)
        grads.update({n: np.asarray(g, dtype=dtype) for n, g in grads_fc.items()})
    return Gradients(value, grads, y.transpose(1, 0, 2), dh.transpose(1, 0, 2), dx.transpose(1, 0, 2))
