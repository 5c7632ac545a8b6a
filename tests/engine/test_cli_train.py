"""`rnnviz train`: the contract of issue 9 (tasks, DATA.npz, INIT, OUT in RNNModel's names, --json),
and one clean line with exit status 2 and no output file for every bad option or file."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from rnnviz.cli import main
from rnnviz.engine import init_cell
from rnnviz.engine.train import SGD, Adam, adding, forward, init_model, update
from rnnviz.io import save_weights
from rnnviz.io.training import load_model, read_data, save_model

TINY = ["--hidden", "4", "--batch", "4", "--steps", "3"]


def train(*args, capsys=None):
    rc = main(["train", *map(str, args)])
    if capsys is None:
        return rc
    out, err = capsys.readouterr()
    return rc, out, err


def summary(out: str) -> dict:
    lines = out.splitlines()
    assert len(lines) == 1, out
    got = json.loads(lines[0])
    assert list(got) == ["steps", "loss_first", "loss_last", "metric"]
    return got


@pytest.mark.parametrize("task, extra, metric", [
    ("recall", ["--delay", "3"], "accuracy"),
    ("adding", ["--length", "6"], "mse"),
    ("sine", ["-T", "5", "--cell", "gru"], "mse"),
    ("text", ["--length", "8", "--cell", "rnn-relu"], "accuracy"),
])
def test_every_task_trains_and_reports_one_json_line(tmp_path, capsys, task, extra, metric):
    out = tmp_path / "out.safetensors"
    rc, stdout, _ = train("--task", task, *extra, *TINY, "-o", out, "--json", capsys=capsys)
    assert rc == 0
    got = summary(stdout)
    assert got["steps"] == 3 and np.isfinite(got["loss_first"]) and np.isfinite(got["loss_last"])
    if metric == "accuracy":
        assert 0.0 <= got["metric"] <= 1.0
    else:
        assert got["metric"] > 0.0
    model = load_model(out, nonlinearity="relu" if "rnn-relu" in extra else "tanh")
    assert model.rnn.hidden_size == 4
    from safetensors.numpy import load_file

    weights = load_file(str(out))
    assert set(weights) == set(model.state_dict())
    assert all(a.dtype == np.float32 for a in weights.values())  # the training dtype (default float32)


def test_a_run_is_the_engine_loop_and_is_reproducible(tmp_path, capsys):
    """--data without --batch: every update is the whole batch, from PyTorch's initialisation."""
    xs, ys, mask = adding(6, 7, seed=3)
    data = tmp_path / "data.npz"
    np.savez(data, xs=xs, ys=ys, mask=mask)
    args = ["--data", data, "--cell", "gru", "--hidden", "5", "--steps", "4", "--seed", "9", "--dtype", "float64",
            "--lr", "0.05", "--clip", "0.5", "--json"]
    rc, out1, _ = train(*args, "-o", tmp_path / "a.npz", capsys=capsys)
    assert rc == 0
    rc, out2, _ = train(*args, "-o", tmp_path / "b.npz", capsys=capsys)
    assert rc == 0 and out1 == out2
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()

    model = init_model("gru", 2, 5, 1, seed=9)
    opt = Adam(lr=0.05)
    state = opt.init(model.state_dict())
    losses = []
    for _ in range(4):
        model, state, info = update(model, opt, state, xs, ys, mask, loss="mse", clip=0.5)
        losses.append(info.loss)
    got = summary(out1)
    assert got["loss_first"] == losses[0] and got["loss_last"] == losses[-1]
    saved = np.load(tmp_path / "a.npz", allow_pickle=False)
    assert list(saved.files) == list(model.state_dict())
    for name, p in model.state_dict().items():
        assert saved[name].dtype == np.float64
        np.testing.assert_array_equal(saved[name], p)
    y, _ = forward(model, xs)
    assert got["metric"] == pytest.approx(float(np.mean((y[:, -1, 0] - ys[:, -1, 0]) ** 2)), rel=1e-12)


def test_init_weights_minibatches_sgd_and_class_labels(tmp_path, capsys):
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(8, 5, 3))
    labels = rng.integers(0, 3, size=(8, 5))
    data = tmp_path / "d.npz"
    np.savez(data, xs=xs, ys=labels)
    init = tmp_path / "init.safetensors"
    start = init_model("lstm", 3, 4, 3, layers=2, seed=5)
    save_model(start, init)
    out = tmp_path / "out.safetensors"
    rc, stdout, _ = train("--data", data, "--weights", init, "--batch", "3", "--steps", "5", "--optimizer", "sgd",
                          "--momentum", "0.9", "--lr", "0.1", "--truncate", "2", "--dtype", "float64",
                          "-o", out, "--json", capsys=capsys)
    assert rc == 0
    got = summary(stdout)
    trained = load_model(out)
    assert len(trained.rnn.layers) == 2 and trained.output_size == 3
    assert not np.array_equal(trained.state_dict()["fc.weight"], start.state_dict()["fc.weight"])
    assert 0 <= got["metric"] <= 1  # accuracy on the data itself
    # Continuing from OUT with no update difference in the architecture: it is a valid INIT.
    rc, _, _ = train("--data", data, "--weights", out, "--steps", "1", "-o", tmp_path / "again.npz", capsys=capsys)
    assert rc == 0


def test_series_reads_a_csv_column_by_name(tmp_path, capsys):
    t = np.arange(40)
    (tmp_path / "s.csv").write_text("day,temp\n" + "\n".join(f"{d},{20 + 3 * np.sin(d / 4):.4f}" for d in t))
    rc, stdout, _ = train("--task", "series", "--series", tmp_path / "s.csv", "--column", "temp", "--standardise",
                          "--length", "10", *TINY, "-o", tmp_path / "o.npz", "--json", capsys=capsys)
    assert rc == 0 and summary(stdout)["steps"] == 3


def test_torch_loads_out_and_computes_the_same(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    nn = torch.nn

    class RNNModel(nn.Module):
        def __init__(self, kind, D, H, O, layers=1):
            super().__init__()
            self.rnn = kind(D, H, layers)
            self.fc = nn.Linear(H, O)

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.fc(y)

    xs, ys, mask = adding(3, 6, seed=1)
    for cell, kind in (("lstm", nn.LSTM), ("gru", nn.GRU), ("rnn", nn.RNN)):
        for suffix in (".safetensors", ".npz"):
            out = tmp_path / f"{cell}{suffix}"
            assert train("--task", "adding", "--length", "6", "--cell", cell, "--layers", "2", *TINY,
                         "--dtype", "float64", "-o", out) == 0
            if suffix == ".npz":
                f = np.load(out, allow_pickle=False)
                state = {k: torch.from_numpy(f[k]) for k in f.files}
            else:
                state = load_file(str(out))
            net = RNNModel(kind, 2, 4, 1, layers=2).double()
            net.load_state_dict(state)  # strict: every name and shape
            with torch.no_grad():
                theirs = net(torch.from_numpy(xs.transpose(1, 0, 2).copy())).numpy().transpose(1, 0, 2)
            ours, _ = forward(load_model(out), xs)
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_progress_goes_to_stderr_and_json_alone_to_stdout(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-m", "rnnviz", "train", "--task", "recall", "--delay", "2", *TINY,
                           "-o", str(tmp_path / "o.npz"), "--json"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    summary(done.stdout)
    bad = subprocess.run([sys.executable, "-m", "rnnviz", "train", "--task", "recall", "--hidden", "zero",
                          "-o", str(tmp_path / "p.npz")], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "--hidden" in bad.stderr and "Traceback" not in bad.stderr


class Boom:
    def __reduce__(self):
        return (print, ("pwned",))


def bad_cases(tmp_path):
    """(argv without -o, words the message must hold) for every kind of bad option or file."""
    xs, ys, mask = adding(4, 5, seed=0)
    good = tmp_path / "good.npz"
    np.savez(good, xs=xs, ys=ys, mask=mask)

    def npz(name, **arrays):
        p = tmp_path / name
        np.savez(p, **arrays)
        return str(p)

    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, xs=np.array([Boom()], dtype=object), ys=ys)
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps(Boom()))
    (tmp_path / "text.npz").write_text("not a zip")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02")
    (tmp_path / "one.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    init = tmp_path / "gru.safetensors"
    save_model(init_model("gru", 2, 4, 1, seed=0), init)
    cell_only = tmp_path / "cell.safetensors"
    save_weights(init_cell("gru", 2, 4, seed=0), cell_only)
    init3 = tmp_path / "d3.safetensors"
    save_model(init_model("gru", 3, 4, 1, seed=0), init3)
    return [
        ([], "--task"),
        (["--task", "adding", "--data", good], "--data"),
        (["--task", "nope"], "--task"),
        (["--task", "adding", "--hidden", "0"], "--hidden"),
        (["--task", "adding", "--hidden", "x"], "--hidden"),
        (["--task", "adding", "--layers", "65"], "--layers"),
        (["--task", "adding", "--lr", "-1"], "--lr"),
        (["--task", "adding", "--lr", "nan"], "--lr"),
        (["--task", "adding", "--clip", "-2"], "--clip"),
        (["--task", "adding", "--truncate", "0"], "--truncate"),
        (["--task", "adding", "--steps", "0"], "--steps"),
        (["--task", "adding", "--seed", "-1"], "--seed"),
        (["--task", "adding", "--dtype", "float16"], "--dtype"),
        (["--task", "adding", "--cell", "elman"], "--cell"),
        (["--task", "adding", "--momentum", "0.9"], "--momentum"),
        (["--task", "adding", "--optimizer", "sgd", "--momentum", "1.5"], "--momentum"),
        (["--task", "adding", "--delay", "3"], "--delay"),
        (["--task", "adding", "--length", "1"], "--length"),
        (["--task", "recall", "--loss", "mse"], "--loss"),
        (["--task", "series"], "--series"),
        (["--task", "series", "--series", tmp_path / "one.csv", "--column", "c"], "one.csv"),
        (["--task", "series", "--series", tmp_path / "one.csv", "--column", "5"], "one.csv"),
        (["--task", "series", "--series", tmp_path / "one.csv", "--length", "3"], "--length"),
        (["--task", "text", "--text", tmp_path / "bin.txt"], "bin.txt"),
        (["--task", "text", "--text", tmp_path / "missing.txt"], "missing.txt"),
        (["--task", "text", "--length", "100000"], "--length"),
        (["--task", "adding", "--batch", "1000000", "--hidden", "4096"], "--batch"),
        (["--data", good, "--delay", "3"], "--delay"),
        (["--data", good, "--loss", "xent"], "--loss"),
        (["--data", good, "--batch", "5"], "--batch"),
        (["--data", tmp_path / "missing.npz"], "missing.npz"),
        (["--data", tmp_path / "pickle.npz"], "pickle"),
        (["--data", pickled], "object"),
        (["--data", tmp_path / "text.npz"], "zip"),
        (["--data", tmp_path / "one.csv"], "one.csv"),
        (["--data", npz("noys.npz", xs=xs)], "ys"),
        (["--data", npz("xs2.npz", xs=xs[0], ys=ys)], "xs"),
        (["--data", npz("nan.npz", xs=np.full_like(xs, np.nan), ys=ys)], "non-finite"),
        (["--data", npz("m.npz", xs=xs, ys=ys, mask=mask[:, :2])], "mask"),
        (["--data", npz("m2.npz", xs=xs, ys=ys, mask=mask * 2)], "mask"),
        (["--data", npz("m0.npz", xs=xs, ys=ys, mask=mask * 0)], "mask"),
        (["--data", npz("ys.npz", xs=xs, ys=ys[:, :2])], "ys"),
        (["--data", npz("lab.npz", xs=xs, ys=-np.ones((4, 5), np.int64))], "labels"),
        (["--data", good, "--weights", init, "--cell", "lstm"], "--cell"),
        (["--data", good, "--weights", init, "--hidden", "8"], "--hidden"),
        (["--data", good, "--weights", init, "--layers", "2"], "--layers"),
        (["--data", good, "--weights", cell_only], "fc.weight"),
        (["--data", good, "--weights", init3], "D = 3"),
        (["--data", good, "--weights", tmp_path / "text.npz"], "text.npz"),
        (["--data", good, "--weights", tmp_path / "one.csv"], "one.csv"),
        (["--task", "sine", "--cell", "rnn-relu", "--optimizer", "sgd", "--lr", "1e30", "--clip", "none",
          "--hidden", "4", "--steps", "20"], "diverged"),
    ]


def test_every_bad_option_or_file_is_one_line_exit_2_and_no_output(tmp_path, capsys):
    out = tmp_path / "out.safetensors"
    for argv, words in bad_cases(tmp_path):
        rc, stdout, err = train(*argv, "--steps", "1", "-o", out, capsys=capsys) if "--steps" not in argv \
            else train(*argv, "-o", out, capsys=capsys)
        assert rc == 2, (argv, err)
        assert stdout == "" and err.count("\n") == 1 and err.startswith("rnnviz train: "), (argv, err)
        assert words in err, (argv, err)
        assert "Traceback" not in err and "pwned" not in stdout
        assert not out.exists(), argv
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


def test_bad_outputs(tmp_path, capsys):
    xs, ys, mask = adding(4, 5, seed=0)
    data = tmp_path / "data.npz"
    np.savez(data, xs=xs, ys=ys, mask=mask)
    before = data.read_bytes()
    for out, words in ((tmp_path / "o.txt", "must be a .safetensors, .npz or Keras .weights.h5"),
                       (tmp_path / "nope" / "o.npz", "does not exist"),
                       (data, "would destroy it"),
                       (tmp_path / "." / "data.npz", "would destroy it")):
        rc, stdout, err = train("--data", data, "--steps", "1", "-o", out, capsys=capsys)
        assert rc == 2 and words in err and err.count("\n") == 1, err
    assert data.read_bytes() == before


def test_read_data_keeps_labels_and_zeroes_unselected_targets(tmp_path):
    xs, ys, mask = adding(3, 4, seed=0)
    ys[:, 0] = np.nan  # not selected: never read
    np.savez(tmp_path / "d.npz", xs=xs.astype(np.float32), ys=ys, mask=mask.astype(bool))
    x, y, m, loss = read_data(tmp_path / "d.npz")
    assert loss == "mse" and x.dtype == np.float64 and m.dtype == np.uint8 and np.all(np.isfinite(y))
    np.savez(tmp_path / "c.npz", xs=xs, ys=np.ones((3, 4), np.int32))
    assert read_data(tmp_path / "c.npz")[3] == "xent"


def test_sgd_without_clipping_matches_the_engine(tmp_path, capsys):
    xs, ys, mask = adding(5, 4, seed=2)
    np.savez(tmp_path / "d.npz", xs=xs, ys=ys, mask=mask)
    rc, _, _ = train("--data", tmp_path / "d.npz", "--cell", "rnn", "--hidden", "3", "--steps", "2",
                     "--optimizer", "sgd", "--lr", "0.3", "--clip", "none", "-o", tmp_path / "o.npz", capsys=capsys)
    assert rc == 0
    model = init_model("rnn", 2, 3, 1, seed=0)
    opt = SGD(lr=0.3)
    state = opt.init(model.state_dict(np.float32))
    for _ in range(2):
        model, state, _ = update(model, opt, state, xs, ys, mask, loss="mse", dtype=np.float32)
    saved = np.load(tmp_path / "o.npz")
    for name, p in model.state_dict(np.float32).items():
        np.testing.assert_array_equal(saved[name], p)
