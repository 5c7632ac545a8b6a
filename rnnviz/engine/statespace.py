"""The state space of one layer: the map s ↦ f(s, x) for a fixed input, its fixed points and their
stability, its flow field, and principal components of paths. Pure NumPy, no Qt.

The state s is what one step carries forward: h for the RNN and the GRU, (h, c) stacked for a
kind with a cell state (the LSTM), so a fixed point is exact for every kind. Everything goes
through the kind's own functions (``forward_batch`` over one step, ``tangent_coeffs`` and
``vjp`` for the Jacobian), never through a branch on its name.

Notes
-----
A fixed point solves ``F(s) = f(s, x) − s = 0``. Newton's step from s is

    s ← s − (J(s) − I)⁻¹ (f(s) − s),        J(s) = ∂f/∂s

run from a grid of starts at once (one batched forward and S batched adjoints per iteration,
S the state's size). Converged points (residual ‖f(s) − s‖∞ ≤ ``tol``) are deduplicated.
An iterate one step from ``tol`` (residual ≤ POLISH) takes that step and leaves as a
candidate, and one within NEAR of a point found leaves too (Newton's last steps there change
nothing); every point is checked against ``tol`` at the end.
For the discrete map the fixed point s* is stable when every eigenvalue λ of J(s*) has
|λ| < 1, unstable when every |λ| > 1, and a saddle otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cells import Cell, kind_of

__all__ = ["FixedPoint", "FixedPoints", "PCA", "StepMap", "default_starts", "fixed_points", "flow_field", "pca", "stability",
           "step_map"]

STABLE, SADDLE, UNSTABLE = "stable", "saddle", "unstable"
#: Newton iterations from each start; converged starts leave the batch.
MAX_ITER = 40
#: Residual ‖f(s*) − s*‖∞ a fixed point must reach.
TOL = 1e-12
#: Two converged points closer than this (∞-norm) are one.
DEDUP = 1e-6
#: Newton iterates closer than this (∞-norm) are merged: they follow the same path from there.
MERGE = 1e-4
MERGE_AT = (3,)  # … at this iteration
#: A Newton step longer than this (∞-norm) is shortened: tanh's flat tails make wild first steps.
MAX_STEP = 2.0
#: An iterate whose residual is this small is one Newton step from TOL (convergence is
#: quadratic): its step is taken and it leaves the batch as a candidate, checked (and
#: stepped again while MAX_ITER allows, for a slow one) with the other points at the end.
POLISH = 1e-5
#: An iterate within this (∞-norm) of a point already found is on its way there and leaves
#: the batch: the last starts no longer keep the whole search running. (Newton's basin
#: around a fixed point is much wider for these maps; on a sweep of 198 settings of every kind
#: the set found is the one the search without this shortcut finds, see the tests.)
NEAR = 1e-2
#: An iterate whose Newton step had to be shortened this many times in a row is walking
#: along a flat stretch (an LSTM's c far out, where tanh(c) no longer changes) and leaves.
WALK = 4


@dataclass(frozen=True, eq=False)
class StepMap:
    """The one-step map of ``cell`` for the fixed input ``x``, on states (B, S) in float64."""

    cell: Cell
    x: np.ndarray  # (D,)

    def __post_init__(self):
        kind = kind_of(self.cell)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "has_cell_state", kind.has_cell_state)
        H = self.cell.hidden_size
        #: S: the state's length (H, or 2H with a cell state)
        object.__setattr__(self, "size", 2 * H if kind.has_cell_state else H)
        #: the unit cotangents on each output, [∂L/∂h | ∂L/∂c] (S, S): the identity
        object.__setattr__(self, "_units", np.eye(self.size))

    def _record(self, s: np.ndarray):
        H = self.cell.hidden_size
        B = s.shape[0]
        h0 = np.ascontiguousarray(s[:, :H])
        c0 = np.ascontiguousarray(s[:, H:]) if self.has_cell_state else None
        xb = np.repeat(self.x[None, None, :], B, axis=1)
        return self.kind.forward_batch(self.cell, xb, h0, c0, np.float64)

    @staticmethod
    def _state(rec) -> np.ndarray:
        return rec.h[0] if rec.c is None else np.concatenate([rec.h[0], rec.c[0]], axis=-1)

    def __call__(self, s) -> np.ndarray:
        """f(s) for states (B, S) (or one state (S,))."""
        s = np.asarray(s, dtype=np.float64)
        one = s.ndim == 1
        out = self._state(self._record(np.atleast_2d(s)))
        return out[0] if one else out

    def with_jacobian(self, s) -> tuple[np.ndarray, np.ndarray]:
        """(f(s), J(s)): states (B, S) and Jacobians (B, S, S), ``J[b, i, j] = ∂f_i/∂s_j``.

        The kind's ``step_jacobian`` when it has one (one pass), else :meth:`adjoint_jacobian`.
        """
        s = np.atleast_2d(np.asarray(s, dtype=np.float64))
        if self.kind.step_jacobian is not None:
            return self.kind.step_jacobian(self.cell, self.x, s)
        return self.adjoint_jacobian(s)

    def adjoint_jacobian(self, s) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`with_jacobian` from the kind's batched forward and adjoint: row i of J is
        the adjoint of the unit cotangent on output i; the S cotangents go through the kind's
        ``vjp`` as one stack (S, B, H), one call for every row."""
        s = np.atleast_2d(np.asarray(s, dtype=np.float64))
        kind = self.kind
        rec = self._record(s)
        k = kind.tangent_coeffs(rec)
        B, H = s.shape[0], self.cell.hidden_size
        S = self.size
        gh = np.broadcast_to(self._units[:, None, :H], (S, B, H))
        gc = np.broadcast_to(self._units[:, None, H:], (S, B, H)) if self.has_cell_state else None
        adj = kind.vjp(k, 0, gh, gc)
        J = np.empty((B, S, S))
        J[:, :, :H] = adj.h.transpose(1, 0, 2)
        if self.has_cell_state:
            J[:, :, H:] = adj.c.transpose(1, 0, 2)
        return self._state(rec), J


def step_map(cell: Cell, x) -> StepMap:
    """The map s ↦ f(s, x) of ``cell`` for the input ``x`` (D,)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.shape[0] != cell.input_size:
        raise ValueError(f"x has {x.shape[0]} entries; the cell reads {cell.input_size}")
    return StepMap(cell, x)


def stability(eigenvalues) -> str:
    """"stable" (every |λ| < 1), "unstable" (every |λ| > 1) or "saddle" for a discrete map."""
    m = np.abs(np.asarray(eigenvalues))
    if np.all(m < 1.0):
        return STABLE
    if np.all(m > 1.0):
        return UNSTABLE
    return SADDLE


@dataclass(frozen=True, eq=False)
class FixedPoint:
    state: np.ndarray  # (S,) s* with f(s*) = s*
    jacobian: np.ndarray  # (S, S) J(s*)
    eigenvalues: np.ndarray  # (S,) complex, largest |λ| first
    stability: str  # STABLE, SADDLE or UNSTABLE
    residual: float  # ‖f(s*) − s*‖∞


@dataclass(frozen=True, eq=False)
class FixedPoints:
    """Every fixed point found, ordered stable first, then saddles, then unstable; within a class by h₁."""

    points: tuple  # FixedPoint
    hidden_size: int
    starts: int  # how many Newton starts were run
    iterations: int  # Newton iterations until the last start converged or gave up

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self):
        return iter(self.points)

    @property
    def states(self) -> np.ndarray:
        S = self.points[0].state.shape[0] if self.points else self.hidden_size
        return np.array([p.state for p in self.points]).reshape(-1, S)

    @property
    def h(self) -> np.ndarray:
        """(K, H) the fixed points' hidden states (for a cell state: their h part)."""
        return self.states[:, : self.hidden_size]

    def of(self, kind: str) -> list:
        return [p for p in self.points if p.stability == kind]


def default_starts(cell: Cell, n: int = 6, around=None, rng_seed: int = 0) -> np.ndarray:
    """Newton starts: an n×n grid over [−1.2, 1.2]² of the first two units for H = 2 (h only, c = h),
    random ones in [−1.2, 1.2]^S otherwise; plus the states of ``around`` (K, S) when given."""
    m = step_map(cell, np.zeros(cell.input_size))
    S, H = m.size, cell.hidden_size
    if H == 2:
        g = np.linspace(-1.2, 1.2, n)
        X, Y = np.meshgrid(g, g)
        h = np.column_stack([X.ravel(), Y.ravel()])
        starts = np.concatenate([h, h], axis=1) if S > H else h
    else:
        starts = np.random.default_rng(rng_seed).uniform(-1.2, 1.2, (n * n, S))
    if around is not None and len(around):
        starts = np.concatenate([starts, np.asarray(around, dtype=np.float64).reshape(-1, S)], axis=0)
    return starts


#: Random odd multipliers that hash a row of grid indices into one int64 (wrapping is fine).
_HASH = np.random.default_rng(12).integers(1, 2**62, 64, dtype=np.int64) | 1


def _unique_rows(s: np.ndarray, step: float, *also):
    """The rows of ``s`` with the duplicates on a grid of ``step`` left out (first kept); with
    ``also`` (arrays with one entry per row), (rows, *the same entries of each)."""
    if also:
        kept = _unique_index(s, step)
        return (s,) + also if kept is None else (s[kept],) + tuple(a[kept] for a in also)
    kept = _unique_index(s, step)
    return s if kept is None else s[kept]


def _unique_index(s: np.ndarray, step: float):
    """The indices of the rows :func:`_unique_rows` keeps, or None for all of them.

    Rows are hashed to one integer each: ``np.unique(axis=0)`` costs several times more.
    """
    if s.shape[0] < 2:
        return None
    cells = np.round(s / step)
    if not np.all(np.abs(cells) < 2**62):
        return None
    with np.errstate(over="ignore"):
        keys = cells.astype(np.int64) @ _HASH[: s.shape[1]]
    _, first = np.unique(keys, return_index=True)
    return np.sort(first)


def _newton_step(J: np.ndarray, r: np.ndarray):
    """(step, ok) of Newton's method on f(s) − s = 0 for Jacobians J (B, S, S) and residuals
    r (B, S); ``ok`` is False where J − I is singular. A step longer than MAX_STEP is shortened."""
    B, S = r.shape
    A = np.array(J)
    A.reshape(B, S * S)[:, :: S + 1] -= 1.0  # J − I, on the flattened diagonals
    if S == 2:  # Cramer's rule: no LAPACK call per iteration for the plane
        det = A[:, 0, 0] * A[:, 1, 1] - A[:, 0, 1] * A[:, 1, 0]
        ok = np.abs(det) > 1e-14
        d = np.where(ok, det, 1.0)
        step = np.column_stack([(-r[:, 0] * A[:, 1, 1] + r[:, 1] * A[:, 0, 1]) / d,
                                (-r[:, 1] * A[:, 0, 0] + r[:, 0] * A[:, 1, 0]) / d])
    else:
        ok = np.abs(np.linalg.det(A)) > 1e-14
        if ok.all():
            step = np.linalg.solve(A, -r[..., None])[..., 0]
        else:
            step = np.zeros_like(r)
            if ok.any():
                step[ok] = np.linalg.solve(A[ok], -r[ok][..., None])[..., 0]
    big = np.max(np.abs(step), axis=1, keepdims=True)
    step *= np.minimum(1.0, MAX_STEP / np.maximum(big, 1e-300))
    return step, ok, big[:, 0] > MAX_STEP


def _near(s: np.ndarray, points: np.ndarray, radius: float) -> np.ndarray:
    """(B,) whether each row of s lies within ``radius`` (∞-norm) of one of ``points``."""
    return np.any(np.max(np.abs(s[:, None, :] - points[None, :, :]), axis=2) <= radius, axis=1)


def fixed_points(cell: Cell, x, starts=None, tol: float = TOL, max_iter: int = MAX_ITER,
                 bound: float | None = None) -> FixedPoints:
    """The fixed points s* = f(s*, x) Newton finds from ``starts`` (B, S) (default:
    :func:`default_starts`), deduplicated, each with its Jacobian, eigenvalues and stability.

    Iterates whose h leaves the box ‖h‖∞ ≤ ``bound`` (default: twice the starts' extent, at
    least 2.4; a cell state c is not bounded) are dropped: far out the gates saturate to 0 or 1 in float64 and the map has flat
    stretches where any point passes for a fixed one.
    """
    m = step_map(cell, x)
    S, H = m.size, cell.hidden_size
    s = default_starts(cell) if starts is None else np.array(starts, dtype=np.float64).reshape(-1, S)
    s = s[np.all(np.isfinite(s), axis=1)]
    n_starts = s.shape[0]
    if bound is None:
        bound = 2.0 * max(1.2, float(np.max(np.abs(s[:, :H]))) if s.size else 0.0)
    found = []
    it = 0
    walk = np.zeros(s.shape[0], int)  # how many steps in a row each iterate had shortened
    with np.errstate(all="ignore"):
        for it in range(1, max_iter + 1):
            if it in MERGE_AT:
                s, walk = _unique_rows(s, MERGE, walk)  # starts that met share the rest of the way
            if not s.shape[0]:
                break
            f, J = m.with_jacobian(s)
            r = f - s
            res = np.max(np.abs(r), axis=1)
            done = res <= tol
            if done.any():
                found.append(s[done])
            keep = ~done & np.isfinite(res)
            if not keep.all():
                s, r, J, res, walk = s[keep], r[keep], J[keep], res[keep], walk[keep]
            if not s.shape[0]:
                break
            step, ok, long = _newton_step(J, r)
            s = s + step
            walk = np.where(long, walk + 1, 0)
            last = ok & (res <= POLISH)  # one step from tol: a candidate, checked below
            if last.any():
                found.append(s[last])
            stay = ok & ~last & np.all(np.isfinite(s), axis=1) & (np.max(np.abs(s[:, :H]), axis=1) <= bound)
            stay &= walk < WALK
            if found and s.shape[0]:  # iterates already at a point found are on its last steps
                stay &= ~_near(s, np.concatenate(found, axis=0), NEAR)
            if not stay.all():
                s, walk = s[stay], walk[stay]
    pts = _unique_rows(np.concatenate(found, axis=0), DEDUP) if found else np.zeros((0, S))
    unique = []
    for p in pts:  # the grid may split a pair that straddles a cell boundary
        if all(np.max(np.abs(p - q)) > DEDUP for q in unique):
            unique.append(p)
    out = []
    if unique:
        U = np.array(unique)
        with np.errstate(all="ignore"):
            for _ in range(max(1, max_iter - it) + 1):  # every point's check; more steps within the budget
                f, J = m.with_jacobian(U)
                res = np.max(np.abs(f - U), axis=1)
                if np.all(res <= tol):
                    break
                step, ok, _ = _newton_step(J, f - U)
                U = np.where(((res > tol) & ok)[:, None], U + step, U)
        good = res <= tol
        U, f, J = U[good], f[good], J[good]
        evs = np.linalg.eigvals(J) if len(U) else []
        for p, fp, Jp, ev in zip(U, f, J, evs):
            ev = ev[np.argsort(-np.abs(ev), kind="stable")]
            out.append(FixedPoint(p, Jp, ev, stability(ev), float(np.max(np.abs(fp - p)))))
    order = {STABLE: 0, SADDLE: 1, UNSTABLE: 2}
    out.sort(key=lambda q: (order[q.stability], float(q.state[0])))
    return FixedPoints(tuple(out), H, n_starts, it)


def flow_field(cell: Cell, x, h1, h2) -> np.ndarray:
    """f(h) − h on the grid h1 × h2 of a cell with H = 2 and no cell state: (len(h2), len(h1), 2)."""
    m = step_map(cell, x)
    if m.size != 2:
        raise ValueError("a flow field in the plane needs a state of two numbers (H = 2, no cell state)")
    X, Y = np.meshgrid(np.asarray(h1, dtype=np.float64), np.asarray(h2, dtype=np.float64))
    s = np.column_stack([X.ravel(), Y.ravel()])
    with np.errstate(all="ignore"):
        d = m(s) - s
    return d.reshape(X.shape + (2,))


@dataclass(frozen=True, eq=False)
class PCA:
    """Principal axes of a set of states (N, H): ``project(states)`` gives their coordinates."""

    mean: np.ndarray  # (H,)
    components: np.ndarray  # (k, H) orthonormal rows, largest variance first
    explained: np.ndarray  # (k,) fraction of the total variance along each component
    singular: np.ndarray  # (k,) singular values of the centred data

    def project(self, states) -> np.ndarray:
        """Coordinates (N, k) of ``states`` (N, H); a non-finite row gives non-finite coordinates."""
        with np.errstate(all="ignore"):
            return (np.asarray(states, dtype=np.float64) - self.mean) @ self.components.T


def pca(states, k: int = 2) -> PCA:
    """The first ``k`` principal components of ``states`` (N, H) by the SVD of the centred data.

    Signs are fixed so each component's largest-magnitude entry is positive (stable across
    slider ticks). Non-finite rows are left out; a set with no spread gives zero variance.
    """
    X = np.asarray(states, dtype=np.float64)
    X = X[np.all(np.isfinite(X), axis=1)]
    H = X.shape[1] if X.ndim == 2 else 0
    k = min(k, H)
    if X.shape[0] == 0:
        return PCA(np.zeros(H), np.eye(H)[:k], np.zeros(k), np.zeros(k))
    mean = X.mean(axis=0)
    Xc = X - mean
    _, sv, Vt = np.linalg.svd(Xc, full_matrices=True)
    sv = np.concatenate([sv, np.zeros(max(0, H - sv.shape[0]))])
    comps = Vt[:k].copy()
    for row in comps:
        j = int(np.argmax(np.abs(row)))
        if row[j] < 0:
            row *= -1.0
    total = float(np.sum(sv**2))
    explained = sv[:k] ** 2 / total if total > 0 else np.zeros(k)
    return PCA(mean, comps, explained, sv[:k])
