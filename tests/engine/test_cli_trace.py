"""`rnnviz trace`: results, and clean failures on bad input (the sequence reader: tests/io/test_sequences.py)."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from rnnviz.cli import main
from rnnviz.engine import init_cell, run


def torch_npz(path, cell):
    np.savez(path, weight_ih_l0=cell.W_ih, weight_hh_l0=cell.W_hh, bias_ih_l0=cell.b_ih, bias_hh_l0=cell.b_hh)
    return str(path)


@pytest.fixture
def lstm(tmp_path):
    cell = init_cell("lstm", 2, 3, seed=4)
    return cell, torch_npz(tmp_path / "lstm.npz", cell)


def test_trace_writes_every_array(tmp_path, lstm):
    cell, weights = lstm
    xs = np.random.default_rng(0).normal(size=(9, 2))
    (tmp_path / "in.csv").write_text("a,b\n" + "\n".join(f"{a},{b}" for a, b in xs))
    out = tmp_path / "out.npz"
    assert main(["trace", weights, str(tmp_path / "in.csv"), "-o", str(out)]) == 0
    got = np.load(out, allow_pickle=False)
    assert sorted(got.files) == sorted(["h", "c", "i", "f", "g", "o", "influence"])
    ref = run(cell, xs)
    for k in ("h", "c", "i", "f", "g", "o"):
        assert got[k].shape == (9, 3)
        np.testing.assert_allclose(got[k], ref.arrays()[k], atol=1e-6)
    assert got["influence"].shape == (9,)
    np.testing.assert_allclose(got["influence"], ref.influence)


def test_trace_npy_input_1d_and_relu_and_layer(tmp_path):
    cells = [init_cell("rnn", 1, 3, seed=1, nonlinearity="relu"), init_cell("rnn", 3, 2, seed=2, nonlinearity="relu")]
    np.savez(tmp_path / "w.npz", **{f"{n}_l{k}": getattr(c, a) for k, c in enumerate(cells)
                                     for n, a in (("weight_ih", "W_ih"), ("weight_hh", "W_hh"),
                                                  ("bias_ih", "b_ih"), ("bias_hh", "b_hh"))})
    np.save(tmp_path / "x.npy", np.linspace(-1, 1, 6))
    out = tmp_path / "o.npz"
    args = ["trace", str(tmp_path / "w.npz"), str(tmp_path / "x.npy"), "-o", str(out), "--nonlinearity", "relu"]
    assert main(args + ["--layer", "0"]) == 0
    got = np.load(out)
    assert got["h"].shape == (6, 3) and set(got.files) == {"h", "influence"}
    assert np.all(got["h"] >= 0)
    assert main(args) == 0
    assert np.load(out)["h"].shape == (6, 2)


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rnnviz", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})


class Boom:
    def __reduce__(self):
        return (open, (os.environ.get("RNNVIZ_MARKER", "/tmp/rnnviz-pwned"), "w"))


def bad_files(tmp_path):
    """(weights, input, expected words) for every kind of bad file."""
    good_w = torch_npz(tmp_path / "good.npz", init_cell("gru", 2, 3, seed=0))
    good_x = tmp_path / "good.csv"
    good_x.write_text("1,2\n3,4\n")

    def write(name, data, mode="w"):
        p = tmp_path / name
        with open(p, mode) as fh:
            fh.write(data)
        return str(p)

    pickled = pickle.dumps(Boom())
    cases = [
        (str(tmp_path / "missing.npz"), str(good_x), "no such file"),
        (write("empty.npz", ""), str(good_x), ""),
        (write("junk.npz", os.urandom(300), "wb"), str(good_x), ""),
        (write("evil.npz", pickled, "wb"), str(good_x), ""),
        (write("evil.pt", pickled, "wb"), str(good_x), ""),
        (write("model.txt", "hello"), str(good_x), ""),
        (good_w, str(tmp_path / "nope.csv"), "no such file"),
        (good_w, write("empty.csv", ""), "empty"),
        (good_w, write("ragged.csv", "1,2\n3\n"), "columns"),
        (good_w, write("words.csv", "1,2\nx,y\n"), "not a number"),
        (good_w, write("nan.csv", "1,2\nnan,4\n"), "non-finite"),
        (good_w, write("three.csv", "1,2,3\n"), "input size"),
        (good_w, write("evil.npy", pickled, "wb"), ""),
        (good_w, write("x.json", "[1,2]"), "unsupported"),
    ]
    return cases


def test_bad_files_exit_2_with_one_line_and_no_output(tmp_path):
    marker = tmp_path / "PWNED"
    os.environ["RNNVIZ_MARKER"] = str(marker)
    for weights, inp, words in bad_files(tmp_path):
        out = tmp_path / "out.npz"
        res = run_cli("trace", weights, inp, "-o", str(out))
        assert res.returncode == 2, (weights, inp, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
        named = os.path.basename(inp) if weights.endswith("good.npz") else os.path.basename(weights)
        assert named in lines[0], lines[0]
        assert words in lines[0].lower(), lines[0]
        assert not out.exists()
        assert not marker.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".rnnviz-")]


def test_bad_output_and_layer(tmp_path, lstm):
    _, weights = lstm
    (tmp_path / "x.csv").write_text("1,2\n")
    res = run_cli("trace", weights, str(tmp_path / "x.csv"), "-o", str(tmp_path / "no" / "dir" / "o.npz"))
    assert res.returncode == 2 and "does not exist" in res.stderr and len(res.stderr.splitlines()) == 1
    res = run_cli("trace", weights, str(tmp_path / "x.csv"), "-o", str(tmp_path / "o.npz"), "--layer", "3")
    assert res.returncode == 2 and "out of range" in res.stderr and "lstm.npz" in res.stderr


def test_overflow_is_a_warning_not_an_error(tmp_path):
    H = 3
    from rnnviz.engine import Cell

    cell = Cell("rnn", np.ones((H, 1)), 40 * np.eye(H), np.zeros(H), np.zeros(H))
    w = torch_npz(tmp_path / "w.npz", cell)
    np.save(tmp_path / "x.npy", np.r_[1.0, np.zeros(80)])
    out = tmp_path / "o.npz"
    res = run_cli("trace", w, str(tmp_path / "x.npy"), "-o", str(out), "--nonlinearity", "relu")
    assert res.returncode == 0, res.stderr
    assert "warning: h overflowed at t = " in res.stderr
    assert np.isinf(np.load(out)["h"]).any()


def test_help_and_python_m():
    res = run_cli("--help")
    assert res.returncode == 0 and "trace" in res.stdout
