"""Forward passes that record everything: hidden states, cell states and every gate.

``run`` computes a whole sequence; ``step`` advances one time step from a :class:`State`, so
an app can go forward without recomputing what it already has. Both share the same kernels.

Indexing: arrays are 0-based, the maths is 1-based. Row ``t`` of ``trace.h`` is h_{t+1}, the
state after reading ``xs[t]``; ``trace.influence[t]`` is ‖∂h_{t+1}/∂x_1‖_F.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import influence as _influence
from .activations import apply
from .buffers import aligned, aligned_empty
from .cells import GATES, Cell, Stack, as_stack
from .errors import NonFiniteWarning

__all__ = ["Trace", "State", "NonFinite", "run", "step", "initial_state"]


@dataclass(frozen=True)
class NonFinite:
    """Where a run first produced inf or NaN: layer, 0-based step, unit, and which array."""

    layer: int
    t: int
    unit: int
    name: str  # "h" or "c"
    value: float

    def message(self) -> str:
        what = "overflowed" if np.isinf(self.value) else "became NaN"
        where = f" in layer {self.layer}" if self.layer else ""
        return f"{self.name} {what} at t = {self.t + 1} (unit {self.unit}){where}"


@dataclass(frozen=True, eq=False)
class Trace:
    """Everything one run recorded for the traced layer.

    Attributes
    ----------
    xs : (T, D) the input sequence
    h : (T, H) hidden states h_1 … h_T
    c : (T, H) LSTM cell states, else None
    gates : dict of (T, H) arrays: r, z, n (GRU) or i, f, g, o (LSTM); empty for an RNN
    influence : (T,) float64 ‖∂h_{t+1}/∂x_1‖_F, or None when not requested
    nonfinite : the first inf/NaN, or None
    """

    model: Stack
    layer: int
    xs: np.ndarray
    h: np.ndarray
    c: np.ndarray | None
    gates: dict
    influence: np.ndarray | None = None
    nonfinite: NonFinite | None = None
    records: tuple = field(default=(), repr=False)

    @property
    def cell(self) -> Cell:
        return self.model.layers[self.layer]

    @property
    def kind(self) -> str:
        return self.cell.kind

    @property
    def T(self) -> int:
        return self.h.shape[0]

    @property
    def H(self) -> int:
        return self.h.shape[1]

    def arrays(self) -> dict[str, np.ndarray]:
        """h, c, gates and influence by name (what ``rnnviz trace`` writes)."""
        out = {"h": self.h}
        if self.c is not None:
            out["c"] = self.c
        out.update(self.gates)
        if self.influence is not None:
            out["influence"] = self.influence
        return out


@dataclass(frozen=True, eq=False)
class LayerRecord:
    """One layer's forward record; what the derivative code needs."""

    cell: Cell
    x: np.ndarray  # (T, D) this layer's input
    h0: np.ndarray  # (H,)
    c0: np.ndarray | None
    h: np.ndarray  # (T, H)
    c: np.ndarray | None  # (T, H)
    G: np.ndarray  # (T, G*H) gate activations in PyTorch order (RNN: empty)
    hn: np.ndarray | None  # (T, H) W_hn h + b_hn, GRU reset_after only
    gate_cols: tuple = ()  # block index in G of each gate, in PyTorch's order

    def gate(self, name: str) -> np.ndarray:
        H = self.cell.hidden_size
        k = self.gate_cols[self.cell.gates.index(name)]
        return self.G[:, k * H : (k + 1) * H]


def _project(x, W_ih, bias, dtype) -> np.ndarray:
    """x W_ihᵀ + bias for every step at once, into a 64-byte aligned (T, G·H) buffer."""
    out = aligned_empty((x.shape[0], W_ih.shape[0]), dtype)
    np.matmul(x, W_ih.T, out=out)
    out += bias
    return out


@functools.lru_cache(maxsize=4)
def _params(cell: Cell, dtype):
    """The cell's parameters in the working dtype and the kernels' layout: (W_ih, W_hhᵀ
    64-byte aligned, b_ih, b_hh). Cells are immutable, so repeated runs share one copy."""
    return _readonly(
        np.ascontiguousarray(cell.W_ih, dtype=dtype),
        aligned(cell.W_hh.T.astype(dtype)),
        cell.b_ih.astype(dtype),
        cell.b_hh.astype(dtype),
    )


@functools.lru_cache(maxsize=4)
def _lstm_fast_params(cell: Cell, dtype):
    """LSTM rows reordered to i, f, o, g with the sigmoid rows scaled by 1/2 (see the fast path)."""
    H = cell.hidden_size
    order = np.r_[0 : 2 * H, 3 * H : 4 * H, 2 * H : 3 * H]
    scale = np.r_[np.full(3 * H, 0.5), np.ones(H)]
    W_ih = np.ascontiguousarray(cell.W_ih[order] * scale[:, None], dtype=dtype)
    W_hhT = aligned((cell.W_hh[order] * scale[:, None]).T.astype(dtype))
    bias = ((cell.b_ih + cell.b_hh)[order] * scale).astype(dtype)
    return _readonly(W_ih, W_hhT, bias)


def _readonly(*arrays):
    for a in arrays:
        a.flags.writeable = False
    return arrays


def _ticking(rows, progress, lo: float, hi: float, every: int = 256):
    """Iterate ``rows``, calling ``progress(fraction)`` every ``every`` items (for long runs)."""
    if progress is None:
        return rows
    n = max(len(rows), 1)

    def gen():
        for k, row in enumerate(rows):
            if k % every == 0:
                progress(lo + (hi - lo) * k / n)
            yield row

    return gen()


def _forward_layer(cell: Cell, x: np.ndarray, h0, c0, dtype, keep_hn: bool, tick=lambda rows: rows) -> LayerRecord:
    """Run one layer over x (T, D). The input projection for all steps is one matrix product."""
    T = x.shape[0]
    H = cell.hidden_size
    W_ih, W_hhT, b_ih, b_hh = _params(cell, np.dtype(dtype))
    h = np.asarray(h0, dtype=dtype)
    c = None if c0 is None else np.asarray(c0, dtype=dtype)
    act, rec = cell.nonlinearity, cell.recurrent_activation
    hn_rec = None
    C = None
    gate_cols = tuple(range(len(cell.gates)))

    if cell.kind == "rnn":
        Hs = _project(x, W_ih, b_ih + b_hh, dtype)
        tmp = np.empty(H, dtype)
        for a in tick(Hs):
            np.matmul(h, W_hhT, out=tmp)
            np.add(a, tmp, out=a)
            h = apply(act, a)
        G = np.empty((T, 0), dtype)

    elif cell.kind == "gru":
        Hs = aligned_empty((T, H), dtype)
        tmp = np.empty(H, dtype)
        if cell.reset_after:
            G = _project(x, W_ih, b_ih, dtype)
            hh = np.empty(3 * H, dtype)
            if keep_hn:
                hn_rec = np.empty((T, H), dtype)
            hh_rz, hn = hh[: 2 * H], hh[2 * H :]
            RZ, R, Z, N = G[:, : 2 * H], G[:, :H], G[:, H : 2 * H], G[:, 2 * H :]
            for t, (rz, r, z, n, h_out) in enumerate(zip(tick(RZ), R, Z, N, Hs)):
                np.matmul(h, W_hhT, out=hh)
                np.add(hh, b_hh, out=hh)
                np.add(rz, hh_rz, out=rz)
                apply(rec, rz)
                if keep_hn:
                    hn_rec[t] = hn
                np.multiply(r, hn, out=tmp)
                np.add(n, tmp, out=n)
                apply(act, n)
                # h' = (1 − z) ⊙ n + z ⊙ h  ==  n + z ⊙ (h − n)
                np.subtract(h, n, out=tmp)
                np.multiply(tmp, z, out=tmp)
                h = np.add(n, tmp, out=h_out)
        else:
            G = _project(x, W_ih, b_ih + b_hh, dtype)
            W_rzT = aligned(W_hhT[:, : 2 * H])
            W_nT = aligned(W_hhT[:, 2 * H :])
            hh = np.empty(2 * H, dtype)
            hn = np.empty(H, dtype)
            RZ, R, Z, N = G[:, : 2 * H], G[:, :H], G[:, H : 2 * H], G[:, 2 * H :]
            for rz, r, z, n, h_out in zip(tick(RZ), R, Z, N, Hs):
                np.matmul(h, W_rzT, out=hh)
                np.add(rz, hh, out=rz)
                apply(rec, rz)
                np.multiply(r, h, out=tmp)
                np.matmul(tmp, W_nT, out=hn)
                np.add(n, hn, out=n)
                apply(act, n)
                np.subtract(h, n, out=tmp)
                np.multiply(tmp, z, out=tmp)
                h = np.add(n, tmp, out=h_out)

    else:  # lstm
        Hs = aligned_empty((T, H), dtype)
        C = aligned_empty((T, H), dtype)
        if act == "tanh" and rec == "sigmoid":
            # Fast path. Rows are reordered to i, f, o, g and the sigmoid rows are scaled by
            # 1/2 (exact in binary), so one tanh over all 4H rows gives every gate:
            # σ(a) = 0.5 + 0.5·tanh(a/2).
            W_ih, W_hhT, bias = _lstm_fast_params(cell, np.dtype(dtype))
            G = _project(x, W_ih, bias, dtype)
            S, I, F, O, Gg = G[:, : 3 * H], G[:, :H], G[:, H : 2 * H], G[:, 2 * H : 3 * H], G[:, 3 * H :]
            hh = np.empty(4 * H, dtype)
            tmp = np.empty(H, dtype)
            half = dtype(0.5)
            mul, add, tanh, matmul = np.multiply, np.add, np.tanh, np.matmul
            # Iterating the row views with zip is markedly cheaper than indexing per step.
            for g, s, i, f, o, gg, c_out, h_out in zip(tick(G), S, I, F, O, Gg, C, Hs):
                matmul(h, W_hhT, out=hh)
                add(g, hh, out=g)
                tanh(g, out=g)
                mul(s, half, out=s)
                add(s, half, out=s)
                c = mul(f, c, out=c_out)
                mul(i, gg, out=tmp)
                add(c, tmp, out=c)
                tanh(c, out=tmp)
                h = mul(o, tmp, out=h_out)
            gate_cols = (0, 1, 3, 2)  # where i, f, g, o live in this layout
        else:
            G = _project(x, W_ih, b_ih + b_hh, dtype)
            hh = np.empty(4 * H, dtype)
            tmp = np.empty(H, dtype)
            for t in tick(range(T)):
                g = G[t]
                np.matmul(h, W_hhT, out=hh)
                g += hh
                apply(rec, g[: 2 * H])
                apply(act, g[2 * H : 3 * H])
                apply(rec, g[3 * H :])
                i, f, gg, o = g[:H], g[H : 2 * H], g[2 * H : 3 * H], g[3 * H :]
                c = np.multiply(f, c, out=C[t])
                np.multiply(i, gg, out=tmp)
                c += tmp
                np.copyto(tmp, c)
                apply(act, tmp)
                h = np.multiply(o, tmp, out=Hs[t])

    return LayerRecord(cell, x, np.asarray(h0, dtype), None if c0 is None else np.asarray(c0, dtype),
                       Hs, C, G, hn_rec, gate_cols)


def _first_nonfinite(records) -> NonFinite | None:
    best = None
    for k, rec in enumerate(records):
        for name in ("h", "c"):
            arr = getattr(rec, name)
            if arr is None or arr.size == 0:
                continue
            bad_rows = ~np.isfinite(arr).all(axis=1)
            if bad_rows.any():
                t = int(np.argmax(bad_rows))
                unit = int(np.argmax(~np.isfinite(arr[t])))
                cand = NonFinite(k, t, unit, name, float(arr[t, unit]))
                if best is None or t < best.t:
                    best = cand
    return best


def _check_inputs(stack: Stack, xs, h0, c0, dtype):
    xs = np.asarray(xs, dtype=dtype)
    D = stack.input_size
    if xs.ndim == 1 and D == 1:
        xs = xs[:, None]
    if xs.ndim != 2 or xs.shape[1] != D:
        raise ValueError(f"xs has shape {xs.shape}; expected (T, {D})")
    if xs.shape[0] < 1:
        raise ValueError("xs is empty; need at least one time step")
    if not np.all(np.isfinite(xs)):
        raise ValueError("xs contains inf or NaN")
    L = len(stack)

    def per_layer(v, what):
        if v is None:
            return [np.zeros(c.hidden_size, dtype) for c in stack.layers]
        if isinstance(v, (list, tuple)) and len(v) == L and L > 1:
            rows = [np.asarray(r, dtype=dtype) for r in v]  # layers of different widths
        else:
            a = np.asarray(v, dtype=dtype)
            rows = [a] if a.ndim == 1 else list(a)
        sizes = [c.hidden_size for c in stack.layers]
        if len(rows) != L or any(r.shape != (n,) for r, n in zip(rows, sizes)):
            raise ValueError(f"{what} must hold one vector per layer with sizes {sizes}")
        return rows

    hs = per_layer(h0, "h0")
    cs = per_layer(c0, "c0")
    cs = [c if cell.kind == "lstm" else None for c, cell in zip(cs, stack.layers)]
    return xs, hs, cs


def run(
    model: Cell | Stack,
    xs,
    h0=None,
    c0=None,
    influence: bool = True,
    layer: int = -1,
    dtype=np.float32,
    progress=None,
) -> Trace:
    """Run ``model`` over ``xs`` (T, D) from ``h0`` (default zeros; ``c0`` for the LSTM).

    Parameters
    ----------
    model : Cell or Stack
    xs : array, shape (T, D); (T,) is accepted when D = 1
    h0, c0 : array, shape (H,) or (L, H) for a stack; default zeros
    influence : bool
        Also compute ``influence[t] = ‖∂h_{t+1}/∂x_1‖_F`` (through the whole stack, for the
        traced layer). False skips the Jacobian work.
    layer : int
        Which layer to trace (default: the last).
    dtype : float32 (the default working precision) or float64.
    progress : callable, optional
        Called now and then with the fraction done (0…1) during long runs. Whatever it
        raises propagates, which is how a caller cancels a run.

    Values that overflow are not an error: the arrays keep inf/NaN, as PyTorch's would, and
    a :class:`NonFiniteWarning` names the first step where one appeared.
    """
    stack = as_stack(model)
    layer = range(len(stack))[layer]
    xs, hs, cs = _check_inputs(stack, xs, h0, c0, dtype)
    records = []
    x = xs
    parts = layer + 1 + (1 if influence else 0)
    with np.errstate(all="ignore"):
        for k in range(layer + 1):
            tick = lambda rows, k=k: _ticking(rows, progress, k / parts, (k + 1) / parts)  # noqa: E731
            rec = _forward_layer(stack.layers[k], x, hs[k], cs[k], dtype, keep_hn=influence, tick=tick)
            records.append(rec)
            x = rec.h
        if influence:
            tick = lambda rows: _ticking(rows, progress, (parts - 1) / parts, 1.0)  # noqa: E731
            infl = _influence.forward_influence(records, tick=tick)
        else:
            infl = None
        if progress is not None:
            progress(1.0)
    bad = _first_nonfinite(records)
    if bad is not None:
        warnings.warn(bad.message(), NonFiniteWarning, stacklevel=2)
        if infl is not None:
            # Past an overflow the derivative means nothing (it often collapses to 0, which
            # would read as "x1 vanished"): say so with NaN, as the arrays do.
            infl[bad.t :] = np.nan
    top = records[layer]
    gates = {name: top.gate(name) for name in GATES[top.cell.kind]}
    return Trace(stack, layer, xs, top.h, top.c, gates, infl, bad, tuple(records))


@dataclass(frozen=True, eq=False)
class State:
    """Everything needed to take the next step: per-layer h (and c), and the x1 tangents.

    ``t`` counts the steps taken. ``J`` holds, per layer, the tangents (∂h/∂x_1, ∂c/∂x_1)
    as (H, D) arrays together with a log scale, or is None when influence is off.
    """

    h: tuple
    c: tuple
    t: int = 0
    J: object = None


def initial_state(model: Cell | Stack, h0=None, c0=None, influence: bool = False, dtype=np.float32) -> State:
    stack = as_stack(model)
    _, hs, cs = _check_inputs(stack, np.zeros((1, stack.input_size)), h0, c0, dtype)
    J = _influence.initial_tangents(stack, dtype) if influence else None
    return State(tuple(hs), tuple(cs), 0, J)


def step(model: Cell | Stack, x, state: State, layer: int = -1, dtype=np.float32):
    """Advance one time step: ``(x, state) -> (state, record)``.

    ``record`` is a dict for the traced layer with ``h`` (H,), ``c`` (H,) or None, ``gates``
    (name -> (H,)) and ``influence`` (float, or None when the state carries no tangents).
    Stepping T times gives the same numbers as :func:`run` on the whole sequence.
    """
    stack = as_stack(model)
    layer = range(len(stack))[layer]
    x = np.asarray(x, dtype=dtype).reshape(1, stack.input_size)
    records = []
    with np.errstate(all="ignore"):
        inp = x
        for k, cell in enumerate(stack.layers):
            rec = _forward_layer(cell, inp, state.h[k], state.c[k], dtype, keep_hn=state.J is not None)
            records.append(rec)
            inp = rec.h
        J, infl = (None, None)
        if state.J is not None:
            J, infl = _influence.advance_tangents(records, state.J, first=state.t == 0, layer=layer)
    new = State(
        tuple(r.h[0].copy() for r in records),
        tuple(None if r.c is None else r.c[0].copy() for r in records),
        state.t + 1,
        J,
    )
    top = records[layer]
    bad = _first_nonfinite([top])
    if bad is not None:
        warnings.warn(
            NonFinite(layer, state.t, bad.unit, bad.name, bad.value).message(), NonFiniteWarning, stacklevel=2
        )
    record = {
        "h": top.h[0],
        "c": None if top.c is None else top.c[0],
        "gates": {name: top.gate(name)[0] for name in GATES[top.cell.kind]},
        "influence": infl,
    }
    return new, record
