"""Hostile input sequences and sessions (issue 11): bounded before they are parsed, one-line
messages, never a csv.Error, RecursionError or MemoryError. Files are made here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from hostile_files import MiB, load_limited
from rnnviz.core import model as M
from rnnviz.core import session as CS
from rnnviz.engine import InputError
from rnnviz.io import session as io_session
from rnnviz.io.sequences import read_sequence
from test_hostile_weights import deadline


def one_line_error(call, *args, needle=None):
    with deadline():
        with pytest.raises(InputError) as info:
            call(*args)
    text = str(info.value)
    assert len(text.splitlines()) == 1 and len(text) < 600, text
    if needle:
        assert needle in text, text
    return text


# ------------------------------------------------------------------------------ CSV and NPY
@pytest.mark.parametrize("content, needle", [
    ('1\n"' + "x" * 200_000 + '"\n', "characters"),  # a field over csv's 131,072
    ('1\n"2\n3\n', ""),                               # an unclosed quote at the end
    ("1\n" + '"' + ("a" * 1000 + "\n") * 200, "unclosed quote"),  # one spanning many lines
    ("1\n" + "9x" * 2500 + "\n", "at most 100"),       # a field no number needs
    ("x" * (2 * MiB) + "\n1\n", "longer than 1,048,576 characters"),
    (",".join(["1"] * 5000) + "\n", "at most D = 4096"),
    ("1\n\x00\n", "binary"),
])
def test_csv_problems_are_one_line(tmp_path, content, needle):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    one_line_error(read_sequence, path, needle=needle)


def test_csv_not_utf8_is_one_line(tmp_path):
    (tmp_path / "latin.csv").write_bytes(b"1\n2\n\xe9\xff\n")
    one_line_error(read_sequence, tmp_path / "latin.csv", needle="not UTF-8")


def test_csv_and_npy_sizes_are_bounded(tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_bytes(b"0\n" * 30_000_000)  # 3×10⁷ rows: the limit is T ≤ 10⁶
    line = tmp_path / "line.csv"
    line.write_bytes(b"1," * 50_000_000 + b"1\n")  # one 100 MB line
    npy = tmp_path / "huge.npy"
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000000, 16), }"
    header += b" " * (117 - len(header)) + b"\n"
    npy.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + bytes(64))
    ok = tmp_path / "ok.csv"
    ok.write_bytes(b"t\n" + b"0.5\n" * 200_000)
    results = load_limited([("sequence", p) for p in (rows, line, npy, ok)])
    for path, needle in ((rows, "(T ≤ 1,000,000)"), (line, "longer than"), (npy, "time steps")):
        result = results[os.fspath(path)]
        assert result[0] == "refused" and needle in result[1], result
        # seconds: refused early (reading all 3×10⁷ rows takes ~45 s; 10, not 3: a shared CI box)
        assert result[2] < 10 and result.grew < 64 * MiB, (path.name, result[2], result.grew)
    assert results[os.fspath(ok)][0] == "loaded", results[os.fspath(ok)]


def test_a_fifo_sequence_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    one_line_error(read_sequence, tmp_path / "pipe.csv", needle="FIFO")


def test_cli_trace_reports_csv_problems_in_one_line(tmp_path):
    from rnnviz.engine import init_cell

    cell = init_cell("rnn", 1, 2, seed=0)
    np.savez(tmp_path / "w.npz", weight_ih_l0=cell.W_ih, weight_hh_l0=cell.W_hh)
    (tmp_path / "in.csv").write_text('1\n"' + "x" * 200_000 + "\n")
    proc = subprocess.run([sys.executable, "-m", "rnnviz", "trace", str(tmp_path / "w.npz"), str(tmp_path / "in.csv"),
                           "-o", str(tmp_path / "out.npz")], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "in.csv" in proc.stderr and not (tmp_path / "out.npz").exists()


# ------------------------------------------------------------------------------ sessions
def valid_doc() -> dict:
    return CS.to_document(CS.SessionData(M.Settings(cell="gru", hidden_size=2, T=4),
                                         lesson=CS.Lesson("Title", "Text.")))


@pytest.mark.parametrize("field, size, needle", [
    ("text", 1_000_000, "lesson.text has 1,000,000 characters; at most 20,000"),
    ("title", 5_000, "lesson.title has 5,000 characters"),
    ("summary", 50_000, "lesson.summary has 50,000 characters"),
])
def test_lesson_text_is_bounded(field, size, needle):
    doc = valid_doc()
    doc["lesson"][field] = "word " * (size // 5)
    one_line_error(CS.loads_session, json.dumps(doc).encode(), "big.rnnviz", needle=needle)


def test_deep_nesting_is_refused_before_parsing():
    doc = valid_doc()
    blob = json.dumps(doc).encode().replace(b'"version": 1', b'"version": ' + b"[" * 988 + b"1" + b"]" * 988)
    one_line_error(CS.loads_session, blob, "deep.rnnviz", needle="nested more than 64 levels deep")


def test_deep_nesting_in_a_small_stack_thread_does_not_crash():
    """The app reads sessions off the main thread; C recursion there crashed it (signal 11)."""
    code = textwrap.dedent("""
        import json, threading
        from rnnviz.core import model as M, session as CS
        from rnnviz.engine import InputError
        doc = CS.to_document(CS.SessionData(M.Settings()))
        blob = json.dumps(doc).encode().replace(b'"version": 1', b'"version": ' + b"[" * 5000 + b"]" * 5000)
        out = []
        def read():
            try:
                CS.loads_session(blob, "deep.rnnviz")
            except InputError as err:
                out.append(str(err))
        threading.stack_size(256 * 1024)
        t = threading.Thread(target=read)
        t.start(); t.join()
        print(out[0])
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.returncode == 0, proc.stderr[-500:]
    assert "nested more than 64" in proc.stdout


def test_many_small_objects_are_refused_before_parsing(tmp_path):
    doc = valid_doc()
    doc["settings"]["overrides"] = ["PLACEHOLDER"]
    text = json.dumps(doc)
    # 20 M empty objects: ~1.4 GB once parsed; 60 MB on disk
    blob = text.replace('"PLACEHOLDER"', "{}," * 20_000_000 + "{}").encode()
    (tmp_path / "objects.rnnviz").write_bytes(blob)
    values = '"PLACEHOLDER"'
    (tmp_path / "numbers.rnnviz").write_bytes(text.replace(values, "0," * 20_000_000 + "0").encode())
    good = tmp_path / "good.rnnviz"
    good.write_bytes(CS.dumps_session(CS.SessionData(M.Settings(cell="lstm", hidden_size=64, T=20_000))))
    results = load_limited([("session", tmp_path / "objects.rnnviz"), ("session", tmp_path / "numbers.rnnviz"),
                            ("session", good)])
    for name, needle in (("objects.rnnviz", "objects and lists"), ("numbers.rnnviz", "values")):
        result = results[os.fspath(tmp_path / name)]
        assert result[0] == "refused" and needle in result[1], result
        assert result[2] < 3 and result.grew < 128 * MiB, (name, result[2], result.grew)
    assert results[os.fspath(good)][0] == "loaded", results[os.fspath(good)]


def test_session_file_size_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(io_session, "MAX_BYTES", 1000)
    (tmp_path / "big.rnnviz").write_bytes(b" " * 2000)
    one_line_error(CS.load_session, tmp_path / "big.rnnviz", needle="at most 1000 bytes")


def test_session_layers_are_bounded():
    doc = CS.to_document(CS.SessionData(M.Settings(), loaded=None))
    from rnnviz.engine import init_cell

    cell = init_cell("rnn", 1, 8, seed=0)
    data = CS.SessionData(M.Settings(), loaded=cell, loaded_name="m.npz")
    doc = CS.to_document(data)
    doc["model"]["layers"] = doc["model"]["layers"] * 65
    one_line_error(CS.loads_session, json.dumps(doc).encode(), "deep.rnnviz", needle="at most 64")


def test_a_fifo_session_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "pipe.rnnviz")
    one_line_error(CS.load_session, tmp_path / "pipe.rnnviz", needle="FIFO")
    os.mkfifo(tmp_path / "pipe.bin")
    with deadline():
        assert CS.is_session_file(tmp_path / "pipe.bin") is False


def test_session_names_are_printable(tmp_path):
    path = os.path.join(os.fsencode(tmp_path), b"a\nb\xff.rnnviz")
    with open(path, "wb") as fh:
        fh.write(b"{}")
    text = one_line_error(CS.load_session, path)
    assert text.isprintable() and "\\n" in text and "\\xff" in text


def test_lesson_catalogue_still_reads():
    from rnnviz.io.lessons import LESSONS, lesson_info

    assert all(lesson_info(name).title and "cannot be read" not in lesson_info(name).text for name in LESSONS)
