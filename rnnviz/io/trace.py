"""A run's arrays out of the app: NPZ and CSV, written atomically. No Qt here.

:func:`trace_arrays` names what the views show (inputs, h, c, gates, influence, and the
perturbation and backward curves when computed); in Compare mode every cell's names get the
cell key as prefix (``gru.h``, ``lstm.f[3]``). ``result`` is core's Result, duck-typed: ``xs``
(T, D) and ``cells``, each with ``key``, ``trace`` (an engine Trace), ``perturbation`` and
``backward`` (arrays or None).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .atomic import Cancelled, atomic_write

__all__ = ["Cancelled", "csv_columns", "savez", "trace_arrays", "trace_to_csv", "trace_to_npz"]


def trace_arrays(result) -> dict[str, np.ndarray]:
    """Everything a run computed, by name, in column order.

    ``xs`` then, per cell: h, c, gate letters, influence (the names ``rnnviz trace`` writes),
    then perturbation and backward when they were computed. In Compare mode each cell's names
    are prefixed with its key: ``rnn_tanh.h``, ``gru.z``, ``lstm.c``.
    """
    out = {"xs": np.asarray(result.xs)}
    many = len(result.cells) > 1
    for cr in result.cells:
        prefix = f"{cr.key}." if many else ""
        arrays = dict(cr.trace.arrays())
        if cr.perturbation is not None:
            arrays["perturbation"] = cr.perturbation
        if cr.backward is not None:
            arrays["backward"] = cr.backward
        for name, arr in arrays.items():
            out[prefix + name] = np.ascontiguousarray(arr)
    return out


def trace_to_npz(result, path: str) -> None:
    """Write :func:`trace_arrays` of ``result`` to ``path`` (.npz), atomically."""
    arrays = trace_arrays(result)
    atomic_write(path, lambda tmp: savez(tmp, arrays))


def savez(tmp: str, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` into ``tmp`` through a file object (so no ``.npz`` is appended to the name)."""
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def csv_columns(result) -> list[tuple[str, np.ndarray]]:
    """(header, (T,) column) pairs: x[0]…, then each array's columns h[0]…, influence …"""
    cols = []
    for name, arr in trace_arrays(result).items():
        if name == "xs":
            name = "x"
        if arr.ndim == 1:
            cols.append((name, arr))
        else:
            cols.extend((f"{name}[{j}]", arr[:, j]) for j in range(arr.shape[1]))
    return cols


def trace_to_csv(result, path: str, progress: Callable[[float], object] | None = None) -> None:
    """Write one row per step t = 1…T: ``t, x[0]…, h[0]…, c[…], gates…, influence, …``.

    Numbers are written in the shortest form that reads back to the same float32/float64
    value (``inf`` and ``nan`` spelled out). ``progress(fraction)`` is called between blocks of
    rows; if it returns False the export stops, :class:`Cancelled` is raised and ``path`` is
    left as it was.
    """
    cols = csv_columns(result)
    T = int(result.xs.shape[0])
    header = ",".join(["t"] + [name for name, _ in cols])
    block = max(1, 200_000 // max(1, len(cols)))

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(header + "\n")
            for lo in range(0, T, block):
                hi = min(T, lo + block)
                # astype(str) is NumPy's shortest round-trip repr, per dtype (0.1, not 0.100000001)
                text = [np.arange(lo + 1, hi + 1).astype(str)] + [col[lo:hi].astype(str) for _, col in cols]
                fh.write("\n".join(",".join(row) for row in zip(*text)))
                fh.write("\n")
                if progress is not None and progress(hi / T) is False:
                    raise Cancelled

    atomic_write(path, write, suffix=".csv")
