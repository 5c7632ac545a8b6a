"""Forward passes that record everything: hidden states, cell states and every gate.

``run`` computes a whole sequence; ``step`` advances one time step from a :class:`State`, so
an app can go forward without recomputing what it already has. Both share the same kernels.

Indexing: arrays are 0-based, the maths is 1-based. Row ``t`` of ``trace.h`` is h_{t+1}, the
state after reading ``xs[t]``; ``trace.influence[t]`` is ‖∂h_{t+1}/∂x_1‖_F.

Two Keras behaviours are honoured when a layer or the run asks for them:

* a layer whose ``go_backwards`` attribute is true reads its input last step first, as Keras's
  ``go_backwards=True``; its rows (and the next layer's input) are in *processing order*, so
  row 0 is the state after reading the input's last row and x_1 is that row.
  ``trace.order[t]`` says which row of ``xs`` step t of the traced layer read.
* a mask (``run(..., mask=)``, or the first layer's ``mask_value``, Keras's ``Masking``) skips
  steps: a masked step keeps the previous state and output (h, c and the gates repeat the
  previous step's; before any step, the initial state and zero gates), as Keras does.
  ``trace.mask`` marks the steps that were read.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import influence as _influence
from .cells import Cell, LayerRecord, Stack, as_stack, kind_of
from .cells.common import no_tick
from .errors import NonFiniteWarning

__all__ = ["Trace", "State", "NonFinite", "run", "step", "initial_state", "perturbation", "LayerRecord",
           "backwards", "step_mask"]


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
    c : (T, H) cell states (kinds with one: the LSTM), else None
    gates : dict of (T, H) arrays by gate name (``cell.gates``): r, z, n (GRU) or i, f, g, o
        (LSTM); empty for an RNN
    influence : (T,) float64 ‖∂h_{t+1}/∂x_1‖_F, or None when not requested
    nonfinite : the first inf/NaN, or None
    mask : (T,) bool, True where the traced layer read the step (in its processing order), or
        None when no step was masked
    order : (T,) int, the row of ``xs`` each step of the traced layer read, or None when the
        layers all read ``xs`` in order
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
    mask: np.ndarray | None = None
    order: np.ndarray | None = None

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
        if self.mask is not None:
            out["mask"] = self.mask
        if self.order is not None:
            out["order"] = self.order
        return out


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


def _forward_layer(cell: Cell, x: np.ndarray, h0, c0, dtype, keep: bool, tick=no_tick) -> LayerRecord:
    """Run one layer over x (T, D) with its kind's forward step."""
    return kind_of(cell.kind).forward(cell, x, h0, c0, dtype, keep, tick)


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

    def per_layer(v, what, size="hidden_size"):
        if v is None:
            return [np.zeros(getattr(c, size), dtype) for c in stack.layers]
        if isinstance(v, (list, tuple)) and len(v) == L and L > 1:
            rows = [np.asarray(r, dtype=dtype) for r in v]  # layers of different widths
        else:
            a = np.asarray(v, dtype=dtype)
            rows = [a] if a.ndim == 1 else list(a)
        sizes = [getattr(c, size) for c in stack.layers]
        if len(rows) != L or any(r.shape != (n,) for r, n in zip(rows, sizes)):
            raise ValueError(f"{what} must hold one vector per layer with sizes {sizes}")
        return rows

    hs = per_layer(h0, "h0")
    cs = per_layer(c0, "c0", "cell_size")  # c has the gates' width (not h's, with a projection)
    cs = [c if kind_of(cell.kind).has_cell_state else None for c, cell in zip(cs, stack.layers)]
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
    mask=None,
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
    mask : array of bool, shape (T,), optional
        False marks a step every layer skips (Keras's mask, in ``xs``'s order). Default: from
        the first layer's ``mask_value`` when it has one (Keras ``Masking``: a step whose
        features all equal it is skipped), else none.

    Values that overflow are not an error: the arrays keep inf/NaN, as PyTorch's would, and
    a :class:`NonFiniteWarning` names the first step where one appeared.
    """
    stack = as_stack(model)
    layer = range(len(stack))[layer]
    xs, hs, cs = _check_inputs(stack, xs, h0, c0, dtype)
    mask = step_mask(stack, xs, mask)
    if mask is not None or any(backwards(stack)):
        return _run_keras(stack, xs, hs, cs, influence, layer, dtype, progress, mask)
    records = []
    x = xs
    parts = layer + 1 + (1 if influence else 0)
    with np.errstate(all="ignore"):
        for k in range(layer + 1):
            tick = lambda rows, k=k: _ticking(rows, progress, k / parts, (k + 1) / parts)  # noqa: E731
            rec = _forward_layer(stack.layers[k], x, hs[k], cs[k], dtype, keep=influence, tick=tick)
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
    gates = {name: top.gate(name) for name in top.cell.gates}
    return Trace(stack, layer, xs, top.h, top.c, gates, infl, bad, tuple(records))


def backwards(model: Cell | Stack) -> tuple[bool, ...]:
    """Per layer, whether it reads its input last step first (Keras ``go_backwards``)."""
    return tuple(bool(getattr(c, "go_backwards", False)) for c in as_stack(model).layers)


def step_mask(model: Cell | Stack, xs, mask=None) -> np.ndarray | None:
    """The (T,) bool mask a run of ``model`` over ``xs`` uses (True: the step is read), or None.

    ``mask`` when given; else the first layer's ``mask_value`` (Keras ``Masking``: a step whose
    features all equal it is skipped); else None.
    """
    xs = np.asarray(xs)
    if xs.ndim == 1:
        xs = xs[:, None]
    if mask is None:
        value = getattr(as_stack(model).layers[0], "mask_value", None)
        if value is None:
            return None
        return ~np.all(xs == np.asarray(value, dtype=xs.dtype), axis=1)
    mask = np.asarray(mask)
    if mask.shape != (xs.shape[0],):
        raise ValueError(f"mask has shape {mask.shape}; expected ({xs.shape[0]},), one per step")
    if mask.dtype.kind not in "bui":
        raise ValueError(f"mask has dtype {mask.dtype}; expected booleans")
    return mask.astype(bool)


def _expand(a: np.ndarray, pos: np.ndarray, before) -> np.ndarray:
    """Rows of ``a`` (one per step read) spread over every step: a skipped step repeats the
    previous step's row, and steps before the first read get ``before``."""
    out = np.empty((pos.shape[0],) + a.shape[1:], dtype=a.dtype)
    read = pos >= 0
    out[read] = a[pos[read]]
    out[~read] = before
    return out


def _run_keras(stack: Stack, xs, hs, cs, influence: bool, layer: int, dtype, progress, mask) -> Trace:
    """:func:`run` with skipped steps and/or layers that read backwards.

    Each layer runs over the steps it reads only (a skipped step changes nothing, so the
    states there are those of the compressed sequence), then its rows are spread back over
    every step. The x_1 influence follows the compressed run, which is exact: a skipped step's
    Jacobian is the identity. When a layer above the first reverses the time axis, x_1
    reaches it at every step: the tangents of every step below are kept and fed in reverse
    (:func:`_influence_reversed`).
    """
    T = xs.shape[0]
    rev = backwards(stack)
    m = np.ones(T, bool) if mask is None else mask
    order = np.arange(T)
    x = xs
    full, compressed = [], []
    parts = layer + 1 + (1 if influence else 0)
    with np.errstate(all="ignore"):
        for k in range(layer + 1):
            if rev[k]:
                x, m, order = x[::-1], m[::-1], order[::-1]
            if k == 0:
                first_read = bool(m[0])  # x_1 is the first row layer 0 reads
            read = np.flatnonzero(m)
            pos = np.cumsum(m) - 1
            tick = lambda rows, k=k: _ticking(rows, progress, k / parts, (k + 1) / parts)  # noqa: E731
            # Nothing read at all: run one step so the record has its kind's shapes; no row uses it.
            x_read = np.ascontiguousarray(x[read] if read.size else x[:1])
            rec = _forward_layer(stack.layers[k], x_read, hs[k], cs[k], dtype, keep=influence, tick=tick)
            compressed.append(rec)
            saved = {name: _expand(v, pos, 0) if getattr(v, "shape", (None,))[0] == x_read.shape[0] else v
                     for name, v in rec.saved.items()}
            rec_full = dataclasses.replace(
                rec, x=np.ascontiguousarray(x),
                h=_expand(rec.h, pos, hs[k]),
                c=None if rec.c is None else _expand(rec.c, pos, cs[k]),
                G=_expand(rec.G, pos, 0), saved=saved)
            full.append(rec_full)
            x = rec_full.h
        infl = None
        if influence:
            if not first_read or not read.size:
                infl = np.zeros(T)  # x_1 is skipped: it reaches nothing
            elif any(rev[1 : layer + 1]):
                infl = _expand(_influence_reversed(compressed, rev[: layer + 1], xs.shape[1]), pos, 0.0)
            else:
                tick = lambda rows: _ticking(rows, progress, (parts - 1) / parts, 1.0)  # noqa: E731
                infl = _expand(_influence.forward_influence(compressed, tick=tick), pos, 0.0)
        if progress is not None:
            progress(1.0)
    bad = _first_nonfinite(full)
    if bad is not None:
        warnings.warn(bad.message(), NonFiniteWarning, stacklevel=3)
        if infl is not None:
            infl[bad.t :] = np.nan
    top = full[layer]
    gates = {name: top.gate(name) for name in top.cell.gates}
    return Trace(stack, layer, xs, top.h, top.c, gates, infl, bad, tuple(full),
                 mask=None if mask is None else m.copy(),
                 order=None if not any(rev[: layer + 1]) else order.copy())


def _influence_reversed(records, rev, D: int) -> np.ndarray:
    """‖∂h_{t+1}/∂x_1‖_F of the last of ``records`` (compressed runs, bottom up) when a layer
    above the first reads its input backwards: each layer's tangent ∂h_t/∂x_1 at every step
    is kept and becomes the next layer's input tangent, reversed with the time axis. Float64
    tangents without rescaling: values below ~1e-300 read as 0."""
    from .cells import kind_of as _kind

    dx_seq = None
    for l, rec in enumerate(records):
        kind = _kind(rec.cell.kind)
        k = kind.tangent_coeffs(rec)
        n = rec.h.shape[0]
        if dx_seq is None:
            dx_seq = [np.eye(D, dtype=rec.h.dtype)] + [None] * (n - 1)
        elif rev[l]:
            dx_seq = dx_seq[::-1]
        dh = dc = None
        out = []
        for t in range(n):
            dh, dc = kind.jvp(k, t, dx_seq[t], dh, dc)
            out.append(dh)
        dx_seq = out
    return np.array([0.0 if v is None else float(np.sqrt(np.sum(np.square(v, dtype=np.float64))))
                     for v in dx_seq])


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
    Stepping T times gives the same numbers as :func:`run` on the whole sequence, for layers
    that read forwards and runs without a mask (``go_backwards`` and masks need the whole
    sequence: use :func:`run`).
    """
    stack = as_stack(model)
    layer = range(len(stack))[layer]
    x = np.asarray(x, dtype=dtype).reshape(1, stack.input_size)
    records = []
    with np.errstate(all="ignore"):
        inp = x
        for k, cell in enumerate(stack.layers):
            rec = _forward_layer(cell, inp, state.h[k], state.c[k], dtype, keep=state.J is not None)
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
        "gates": {name: top.gate(name)[0] for name in top.cell.gates},
        "influence": infl,
    }
    return new, record


def perturbation(model: Cell | Stack, xs, eps: float = 1e-3, layer: int = -1, h0=None, c0=None,
                 base=None, progress=None) -> np.ndarray:
    """‖h_t(x_1 + ε u) − h_t(x_1)‖ for every t (float64 runs), u = (1, …, 1)/√D.

    Divide by ε to compare with ``influence`` on the same axes (for D = 1 they agree while
    the network stays in its linear regime). ``base`` may be a float64 Trace of the same
    run, which saves recomputing it. ``progress`` is called as in :func:`run` (whatever it
    raises propagates: a caller cancels this way).
    """
    def part(lo, hi):
        return None if progress is None else (lambda f: progress(lo + (hi - lo) * f))

    stack = as_stack(model)
    xs = np.array(xs, dtype=np.float64)
    if xs.ndim == 1:
        xs = xs[:, None]
    mask = step_mask(stack, xs)  # from the unperturbed input: moving x_1 must not unmask it
    if base is None or base.h.dtype != np.float64:
        base = run(stack, xs, h0, c0, influence=False, layer=layer, dtype=np.float64, progress=part(0.0, 0.5),
                   mask=mask)
    xs2 = xs.copy()
    # x_1 is the first row the first layer reads: the last one when it goes backwards.
    xs2[-1 if backwards(stack)[0] else 0] += eps / np.sqrt(xs.shape[1])
    moved = run(stack, xs2, h0, c0, influence=False, layer=layer, dtype=np.float64, progress=part(0.5, 1.0),
                mask=mask)
    with np.errstate(all="ignore"):
        return np.linalg.norm(moved.h - base.h, axis=1)
