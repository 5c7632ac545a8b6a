"""Writing (issue 11): a killed write leaves nothing that looks like a real file, errors name the
target (and say "no space left"), and the command line never writes over one of its inputs."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rnnviz.cli import main
from rnnviz.engine import init_cell
from rnnviz.io import atomic
from rnnviz.io.atomic import Cancelled, atomic_write

_KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from rnnviz.io import atomic
    if sys.argv[2] == "named":
        atomic._unnamed = lambda folder: None
    def write(tmp):
        with open(tmp, "wb") as fh:
            fh.write(b"x" * 5_000_000)
            fh.flush()
            print("writing", flush=True)
            time.sleep(60)
    atomic.atomic_write(sys.argv[1], write)
""")


def kill_mid_write(target, mode):
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target), mode], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="unnamed files need Linux's O_TMPFILE")
def test_a_killed_write_leaves_no_file(tmp_path):
    (tmp_path / "old.npz").write_bytes(b"old")
    kill_mid_write(tmp_path / "old.npz", "unnamed")
    kill_mid_write(tmp_path / "new.npz", "unnamed")
    assert sorted(os.listdir(tmp_path)) == ["old.npz"]
    assert (tmp_path / "old.npz").read_bytes() == b"old"


def test_a_killed_named_write_leaves_a_clearly_temporary_name_that_the_next_write_removes(tmp_path):
    kill_mid_write(tmp_path / "out.npz", "named")
    left = [n for n in os.listdir(tmp_path)]
    assert len(left) == 1, left
    name = left[0]
    assert name.startswith(".out.npz.") and name.endswith(".rnnviz-tmp") and not name.endswith(".npz")
    atomic_write(tmp_path / "other.csv", lambda tmp: open(tmp, "w").close())
    assert sorted(os.listdir(tmp_path)) == sorted([name, "other.csv"])  # too recent to be sure
    old = os.stat(tmp_path / name).st_mtime - 120
    os.utime(tmp_path / name, (old, old))
    atomic_write(tmp_path / "other.csv", lambda tmp: open(tmp, "w").close())
    assert sorted(os.listdir(tmp_path)) == ["other.csv"]


@pytest.fixture(params=["unnamed", "named"])
def mode(request, monkeypatch):
    if request.param == "named":
        monkeypatch.setattr(atomic, "_unnamed", lambda folder: None)
    elif not hasattr(os, "O_TMPFILE"):
        pytest.skip("unnamed files need Linux's O_TMPFILE")
    return request.param


def _write_bytes(data):
    def write(tmp):
        with open(tmp, "wb") as fh:
            fh.write(data)
    return write


def test_writes_replace_and_create(tmp_path, mode):
    target = tmp_path / "t.bin"
    atomic_write(target, _write_bytes(b"one"))
    assert target.read_bytes() == b"one"
    atomic_write(target, _write_bytes(b"two"))
    assert target.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["t.bin"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~umask


def test_errors_name_the_target_and_leave_nothing(tmp_path, mode):
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")

    def full(tmp):
        with open(tmp, "wb") as fh:
            fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", tmp)

    with pytest.raises(OSError) as info:
        atomic_write(target, full)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    with pytest.raises(Cancelled):
        atomic_write(target, lambda tmp: (_write_bytes(b"partial")(tmp), (_ for _ in ()).throw(Cancelled)))
    assert os.listdir(tmp_path) == ["t.bin"] and target.read_bytes() == b"old"


def test_a_missing_folder_names_the_target(tmp_path, mode):
    target = tmp_path / "gone" / "t.bin"
    with pytest.raises(OSError) as info:
        atomic_write(target, _write_bytes(b"x"))
    assert info.value.filename == str(target)


# ------------------------------------------------------------------------------ the command line
@pytest.fixture
def trace_inputs(tmp_path):
    cell = init_cell("gru", 1, 3, seed=0)
    weights = tmp_path / "w.npz"
    np.savez(weights, weight_ih_l0=cell.W_ih, weight_hh_l0=cell.W_hh, bias_ih_l0=cell.b_ih, bias_hh_l0=cell.b_hh)
    (tmp_path / "in.csv").write_text("x\n0\n1\n0.5\n")
    return weights, tmp_path / "in.csv"


def _spellings(tmp_path, weights, inputs):
    (tmp_path / "sub").mkdir()
    os.symlink(weights, tmp_path / "link.npz")
    os.link(weights, tmp_path / "hard.npz")
    os.symlink(inputs, tmp_path / "csv-link.npz")
    return [str(weights), str(tmp_path / "sub" / ".." / "w.npz"), os.path.relpath(weights),
            str(tmp_path / "link.npz"), str(tmp_path / "hard.npz"), str(tmp_path / "csv-link.npz")]


def test_trace_refuses_to_write_over_an_input(tmp_path, trace_inputs, capsys):
    weights, inputs = trace_inputs
    before = weights.read_bytes(), inputs.read_bytes()
    for out in _spellings(tmp_path, weights, inputs):
        assert main(["trace", str(weights), str(inputs), "-o", out]) == 2, out
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "would destroy it" in err, err
    assert (weights.read_bytes(), inputs.read_bytes()) == before
    assert main(["trace", str(weights), str(inputs), "-o", str(tmp_path / "out.npz")]) == 0
    assert set(np.load(tmp_path / "out.npz").files) >= {"h", "influence"}


def test_trace_write_errors_name_out_and_say_no_space(tmp_path, trace_inputs, capsys, monkeypatch):
    from rnnviz.io import trace

    weights, inputs = trace_inputs

    def full(tmp, arrays):
        raise OSError(errno.ENOSPC, "No space left on device", tmp)

    monkeypatch.setattr(trace, "savez", full)
    out = tmp_path / "out.npz"
    assert main(["trace", str(weights), str(inputs), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"rnnviz: {out}: cannot write (no space left on the device)"
    assert sorted(os.listdir(tmp_path)) == ["in.csv", "w.npz"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_trace_into_a_read_only_folder_names_out(tmp_path, trace_inputs, capsys):
    weights, inputs = trace_inputs
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert main(["trace", str(weights), str(inputs), "-o", str(folder / "out.npz")]) == 2
    finally:
        folder.chmod(0o755)
    err = capsys.readouterr().err
    assert f"{folder / 'out.npz'}: cannot write (Permission denied)" in err and "rnnviz-tmp" not in err


def test_render_refuses_to_write_over_its_file(tmp_path, trace_inputs, capsys):
    weights, _ = trace_inputs
    os.symlink(weights, tmp_path / "w.png")
    assert main(["render", str(weights), "-o", str(tmp_path / "w.png")]) == 2
    assert "would destroy it" in capsys.readouterr().err
    os.symlink(weights, tmp_path / "w.gif")
    assert main(["render", str(weights), "-o", str(tmp_path / "a.png"), "--gif", str(tmp_path / "w.gif")]) == 2
    assert "would destroy it" in capsys.readouterr().err
    (tmp_path / "same.gif").write_bytes(b"")
    os.symlink(tmp_path / "same.gif", tmp_path / "same.png")
    assert main(["render", "-o", str(tmp_path / "same.png"), "--gif", str(tmp_path / "same.gif")]) == 2
    assert "name the same file" in capsys.readouterr().err


def test_cli_names_are_printable(tmp_path, capsys):
    assert main(["trace", str(tmp_path / "a\nb.npz"), str(tmp_path / "x.csv"), "-o", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "a\\nb.npz" in err, err
