"""Keras's Bidirectional layer (merge_mode concat, sum, mul, ave), against fixtures Keras 3 made
(tools/make_keras_bidirectional_fixtures.py), and its refusals."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnviz.cli import main
from rnnviz.engine import InputError
from rnnviz.engine.bidirectional import Bidirectional, run_bidirectional
from rnnviz.io import load_weights
from rnnviz.io.weights import notes_of

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "keras_bidirectional"
CASES = {"lstm_concat": ("lstm", "concat"), "gru_sum": ("gru", "sum"), "rnn_mul": ("rnn", "mul"),
         "lstm_ave": ("lstm", "ave")}


def close(ours, ref):
    assert ours.shape == ref.shape
    assert np.all(np.abs(ours - ref) <= 1e-5 * (1 + np.abs(ref))), np.abs(ours - ref).max()


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_directions_and_the_merge_agree_with_keras(name):
    kind, mode = CASES[name]
    exp = np.load(FIX / f"{name}.expected.npz")
    model = load_weights(FIX / f"{name}.keras", bidirectional=True)
    assert isinstance(model, Bidirectional) and model.kind == kind and model.merge_mode == mode
    assert model.hidden_size == (8 if mode == "concat" else 4)
    tr = run_bidirectional(model, exp["xs"], dtype=np.float64)
    arrays = tr.arrays()
    close(arrays["h"], exp["h"])
    close(arrays["h_forward"], exp["h_forward"])
    close(arrays["h_backward"], exp["h_backward"])
    assert notes_of(model) == ()  # the .keras config says everything


def test_a_weights_file_without_config_assumes_concat_and_says_so():
    exp = np.load(FIX / "lstm_concat.expected.npz")
    model = load_weights(FIX / "lstm_concat.weights.h5", bidirectional=True)
    close(run_bidirectional(model, exp["xs"], dtype=np.float64).h, exp["h"])
    assert any("assumed merge_mode='concat'" in n for n in notes_of(model))


def test_the_app_s_loader_refuses_it_in_one_line():
    with pytest.raises(InputError, match="is bidirectional; rnnviz trace runs it"):
        load_weights(FIX / "gru_sum.keras")


def test_trace_writes_the_merged_output_and_each_direction(tmp_path):
    exp = np.load(FIX / "gru_sum.expected.npz")
    np.savetxt(tmp_path / "xs.csv", exp["xs"], delimiter=",")
    out = tmp_path / "trace.npz"
    assert main(["trace", str(FIX / "gru_sum.keras"), str(tmp_path / "xs.csv"), "-o", str(out)]) == 0
    got = np.load(out)
    assert got["h"].shape == (6, 4)  # sum: (T, H), as Keras returns it
    assert np.allclose(got["h"], exp["h"], atol=1e-5) and np.allclose(got["h_backward"], exp["h_backward"], atol=1e-5)


def _edited(tmp_path, name, change):
    """A copy of fixture ``name`` whose config.json's Bidirectional layer ``change`` edits."""
    src = FIX / f"{name}.keras"
    dst = tmp_path / f"edited_{name}.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            blob = zin.read(item.filename)
            if item.filename == "config.json":
                cfg = json.loads(blob)
                change(cfg["config"]["layers"][-1]["config"])
                blob = json.dumps(cfg).encode()
            zout.writestr(item, blob)
    return dst


@pytest.mark.parametrize("change, words", [
    (lambda c: c.update(merge_mode=None), "merge_mode=None is not supported"),
    (lambda c: c["layer"]["config"].update(go_backwards=True), "forward layer reads backwards"),
    (lambda c: c["layer"].update(class_name="ConvLSTM1D"), "a Bidirectional of 'ConvLSTM1D' is not supported"),
])
def test_what_it_cannot_run_is_one_clear_line(tmp_path, change, words):
    path = _edited(tmp_path, "lstm_concat", change)
    with pytest.raises(InputError) as info:
        load_weights(path, bidirectional=True)
    text = str(info.value)
    assert words in text and len(text.splitlines()) == 1 and path.name in text
