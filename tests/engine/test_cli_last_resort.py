"""The command line's last resort: a MemoryError or RecursionError is one line, exit 2."""

import pytest

from rnnviz import cli


@pytest.mark.parametrize("exc", [MemoryError, RecursionError])
def test_a_reader_running_out_of_memory_is_one_line(monkeypatch, capsys, tmp_path, exc):
    weights = tmp_path / "w.npz"
    weights.write_bytes(b"x")

    def boom(argv):
        raise exc()

    monkeypatch.setattr(cli, "cmd_trace", boom)
    assert cli.main(["trace", str(weights), "in.csv", "-o", str(tmp_path / "out.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnviz: ") and "w.npz" in err
    assert "Traceback" not in err
