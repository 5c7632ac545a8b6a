"""What the two Keras fixture scripts share: Keras's cell equations in float64, and writing.

``make_keras_fixtures.py`` (Keras 3 on the torch backend) and ``make_keras_fixtures_tf2.py``
(tf.keras 2.15) import this module; it imports neither Keras nor rnnviz, so the references come
from the frameworks' own weights and equations alone. Each script checks the equations' h
against the layer's own output before it writes anything.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures", "keras_issue10")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def activation(name: str, keras_major: int):
    """Keras's activation ``name`` in float64; hard_sigmoid differs between Keras 2 and 3."""
    if name == "hard_sigmoid":
        if keras_major == 2:
            return lambda a: np.clip(0.2 * a + 0.5, 0.0, 1.0)
        return lambda a: np.clip(a + 3.0, 0.0, 6.0) / 6.0
    return {
        "tanh": np.tanh,
        "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
        "relu": lambda a: np.maximum(a, 0.0),
        "linear": lambda a: a,
    }[name]


def cell_equations(kind: str, weights, config: dict, xs, keras_major: int, mask=None, go_backwards=False):
    """One Keras layer over ``xs`` (T, D) with Keras's equations in float64.

    ``weights``: the cell's [kernel, recurrent_kernel, (bias)]; ``config``: activation,
    recurrent_activation, reset_after. With ``go_backwards`` the rows are read last first and
    everything returned is in that processing order; a step whose ``mask`` is False keeps the
    previous state, output and gates. Returns h, c (LSTM, else None), gates by rnnviz's names
    (GRU r, z, n; LSTM i, f, g, o), and the processing-order mask.
    """
    w = [np.asarray(v, dtype=np.float64) for v in weights]
    K, R = w[0], w[1]
    bias = w[2] if len(w) > 2 else None
    H = R.shape[0]
    act = activation(config.get("activation", "tanh"), keras_major)
    rec = activation(config.get("recurrent_activation", "sigmoid"), keras_major)
    xs = np.asarray(xs, dtype=np.float64)
    T = xs.shape[0]
    m = np.ones(T, bool) if mask is None else np.asarray(mask, bool)
    if go_backwards:
        xs, m = xs[::-1], m[::-1]
    h, c = np.zeros(H), np.zeros(H)
    names = {"rnn": (), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}[kind]
    g_prev = {n: np.zeros(H) for n in names}
    hs, cs, gates = [], [], {n: [] for n in names}
    for x, keep in zip(xs, m):
        if keep:
            if kind == "rnn":
                h = act(x @ K + (bias if bias is not None else 0) + h @ R)
                g = {}
            elif kind == "gru":
                reset_after = config.get("reset_after", True)
                if bias is None:
                    b_in, b_rec = np.zeros(3 * H), np.zeros(3 * H)
                elif reset_after:
                    b_in, b_rec = bias[0], bias[1]
                else:
                    b_in, b_rec = bias, np.zeros(3 * H)
                mx = x @ K + b_in
                if reset_after:
                    mi = h @ R + b_rec
                    z = rec(mx[:H] + mi[:H])
                    r = rec(mx[H : 2 * H] + mi[H : 2 * H])
                    hh = act(mx[2 * H :] + r * mi[2 * H :])
                else:
                    mi = h @ R[:, : 2 * H]
                    z = rec(mx[:H] + mi[:H])
                    r = rec(mx[H : 2 * H] + mi[H:])
                    hh = act(mx[2 * H :] + (r * h) @ R[:, 2 * H :])
                h = z * h + (1 - z) * hh
                g = {"r": r, "z": z, "n": hh}  # Keras's z, r, h are rnnviz's z, r, n
            else:
                a = x @ K + h @ R + (bias if bias is not None else 0)
                i, f, cc, o = rec(a[:H]), rec(a[H : 2 * H]), act(a[2 * H : 3 * H]), rec(a[3 * H :])
                c = f * c + i * cc
                h = o * act(c)
                g = {"i": i, "f": f, "g": cc, "o": o}
            g_prev = g
        hs.append(h)
        cs.append(c)
        for n in names:
            gates[n].append(g_prev[n])
    return (np.array(hs), np.array(cs) if kind == "lstm" else None,
            {n: np.array(v) for n, v in gates.items()}, m)


def check(name: str, ours, theirs, tol: float) -> None:
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    if ours.shape != theirs.shape:
        raise SystemExit(f"{name}: shapes {ours.shape} and {theirs.shape}")
    err = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
    if err > tol:
        raise SystemExit(f"{name}: equations disagree with the framework by {err:.3g} (> {tol})")


def write_npz(path: str, arrays: dict) -> None:
    """np.savez with fixed timestamps, so the bytes do not depend on when the script ran."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arrays[name]), allow_pickle=False)


def expected_arrays(xs, layers) -> dict:
    """``<case>.expected.npz``: ``xs``, and per recurrent layer NAME ``h__NAME``, ``c__NAME``,
    one key per gate (``r__NAME``…) and ``mask__NAME`` (processing order) when masked."""
    out = {"xs": np.asarray(xs, np.float64)}
    for name, (h, c, gates, m) in layers.items():
        out[f"h__{name}"] = h
        if c is not None:
            out[f"c__{name}"] = c
        for g, v in gates.items():
            out[f"{g}__{name}"] = v
        if not m.all():
            out[f"mask__{name}"] = m
    return out


def normalise_keras_archive(path):
    """model.save's .keras with a fixed date, fixed zip times and renumbered shared_object_ids."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    ids: dict[int, int] = {}

    def renumber(obj):
        if isinstance(obj, dict):
            return {k: (ids.setdefault(v, len(ids) + 1) if k == "shared_object_id" else renumber(v))
                    for k, v in obj.items()}
        if isinstance(obj, list):
            return [renumber(v) for v in obj]
        return obj

    members["config.json"] = json.dumps(renumber(json.loads(members["config.json"]))).encode()
    meta = json.loads(members["metadata.json"])
    meta["date_saved"] = "2000-01-01@00:00:00"
    members["metadata.json"] = json.dumps(meta).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in ("metadata.json", "config.json", "model.weights.h5"):
            info = zipfile.ZipInfo(n, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, members.pop(n))
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())
