"""Trace export without Qt: the CSV and NPZ writers against the engine's arrays."""

import csv

import numpy as np
import pytest

from rnnviz.core import model as M
from rnnviz.io import trace as TR
from rnnviz.io.atomic import Cancelled


# ---------------------------------------------------------------------- CSV / NPZ
def _result(**settings):
    return M.compute(M.Settings(**settings))


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _same(text: str, value, dtype) -> bool:
    got = dtype(float(text))
    return bool(got == value or (np.isnan(got) and np.isnan(value)))


@pytest.mark.parametrize("settings", [
    dict(cell="rnn_tanh"),
    dict(cell="gru", signal="sine", input_size=2, backward=True),
    dict(cell="lstm", signal="noise", T=17),
    dict(cell="compare", hidden_size=3, backward=True),
])
def test_csv_has_one_row_per_step_and_the_engine_values(tmp_path, settings):
    result = _result(**settings)
    path = str(tmp_path / "t.csv")
    TR.trace_to_csv(result, path)
    header, rows = _read_csv(path)
    T = result.T
    assert len(rows) == T and all(len(r) == len(header) for r in rows)
    assert header[0] == "t" and [r[0] for r in rows] == [str(t) for t in range(1, T + 1)]
    D = result.xs.shape[1]
    assert header[1 : 1 + D] == [f"x[{j}]" for j in range(D)]
    many = len(result.cells) > 1
    for cr in result.cells:
        pre = f"{cr.key}." if many else ""
        H = cr.trace.H
        expected = {f"{pre}h[{j}]": cr.trace.h[:, j] for j in range(H)}
        if cr.trace.c is not None:
            expected.update({f"{pre}c[{j}]": cr.trace.c[:, j] for j in range(H)})
        for g in cr.gates:
            expected.update({f"{pre}{g}[{j}]": cr.trace.gates[g][:, j] for j in range(H)})
        expected[f"{pre}influence"] = cr.trace.influence
        expected[f"{pre}perturbation"] = cr.perturbation
        if settings.get("backward"):
            expected[f"{pre}backward"] = cr.backward
        for name, col in expected.items():
            k = header.index(name)
            assert all(_same(rows[t][k], col[t], col.dtype.type) for t in range(T)), name
    for j in range(D):
        k = header.index(f"x[{j}]")
        assert all(_same(rows[t][k], result.xs[t, j], np.float64) for t in range(T))
    # order within a cell: h, (c), gates, influence, …
    first = result.cells[0]
    pre = f"{first.key}." if many else ""
    assert header.index(f"{pre}h[0]") < header.index(f"{pre}influence")


def test_csv_writes_short_numbers_and_non_finite_values(tmp_path):
    result = _result(cell="rnn_relu", recurrent_scale=10.0, T=100, signal="constant", amplitude=5.0)
    assert result.warnings()  # the values overflowed
    path = str(tmp_path / "t.csv")
    TR.trace_to_csv(result, path)
    header, rows = _read_csv(path)
    k = header.index("h[0]")
    col = result.cells[0].trace.h[:, 0]
    assert any(r[k] in ("inf", "nan", "-inf") for r in rows)
    assert all(_same(rows[t][k], col[t], np.float32) for t in range(result.T))
    assert rows[0][header.index("x[0]")] == "5.0"  # not 5.000000000000000


def test_npz_holds_the_trace_arrays(tmp_path):
    result = _result(cell="lstm", backward=True)
    path = str(tmp_path / "t.npz")
    TR.trace_to_npz(result, path)
    with np.load(path) as z:
        assert set(z.files) == {"xs", "h", "c", "i", "f", "g", "o", "influence", "perturbation", "backward"}
        cr = result.cells[0]
        for name, arr in cr.trace.arrays().items():  # the names `rnnviz trace` writes
            np.testing.assert_array_equal(z[name], arr)
            assert z[name].dtype == arr.dtype
        np.testing.assert_array_equal(z["xs"], result.xs)
        np.testing.assert_array_equal(z["perturbation"], cr.perturbation)
        np.testing.assert_array_equal(z["backward"], cr.backward)


def test_npz_in_compare_mode_prefixes_each_cell(tmp_path):
    result = _result(cell="compare")
    path = str(tmp_path / "t.npz")
    TR.trace_to_npz(result, path)
    with np.load(path) as z:
        assert "xs" in z.files and "h" not in z.files
        for cr in result.cells:
            for name, arr in cr.trace.arrays().items():
                np.testing.assert_array_equal(z[f"{cr.key}.{name}"], arr)
        assert {"gru.z", "lstm.f", "lstm.c", "rnn_tanh.influence"} <= set(z.files)


def test_trace_arrays_names_and_order():
    result = _result(cell="gru", backward=True)
    arrays = TR.trace_arrays(result)
    assert list(arrays) == ["xs", "h", "r", "z", "n", "influence", "perturbation", "backward"]
    assert all(a.flags.c_contiguous for a in arrays.values())
    cols = TR.csv_columns(result)
    assert cols[0][0] == "x[0]" and cols[1][0] == "h[0]" and cols[-1][0] == "backward"


def test_cancelled_csv_leaves_the_old_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"old")
    seen = []

    def progress(frac):
        seen.append(frac)
        return False

    with pytest.raises(Cancelled):  # stops after the first block of rows
        TR.trace_to_csv(M.compute(M.Settings(T=20_000, hidden_size=16)), str(path), progress=progress)
    assert path.read_bytes() == b"old" and len(seen) == 1 and 0 < seen[0] < 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
