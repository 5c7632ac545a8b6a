"""The .rnnviz reader and writer (rnnviz.io.session with core's schema): no Qt, no window.

The window side (open/save dialogs, the unsaved-changes prompt) is tested in tests/ui/test_session.py.
"""

import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from rnnviz.core import model as M
from rnnviz.core import session as CS
from rnnviz.engine import InputError, init_cell
from rnnviz.engine.cells import Cell
from rnnviz.io import load_weights, save_weights
from rnnviz.io import session as io_session


def make_valid_blob() -> bytes:
    """An LSTM session with a per-entry override, a lesson and a step: what the window would save."""
    settings = M.Settings(cell="lstm", hidden_size=2, T=5, signal="sine", overrides=((("W_hh", 1, 1), 0.25),))
    return CS.dumps_session(CS.SessionData(settings, step=3, lesson=CS.Lesson("A lesson", "Its text.")))


def test_compare_mode_accepts_last_bit_noise_but_not_other_weights():
    doc = CS.to_document(CS.SessionData(M.Settings(cell="compare", hidden_size=3, T=10)))
    w = doc["model"]["cells"][2]["W_hh"]
    w[0][0] = float(np.nextafter(w[0][0], 1.0))
    data = CS.loads_session(json.dumps(doc).encode(), "c.rnnviz")
    assert data.loaded is None and data.settings.cell == "compare"
    w[0][0] += 0.01
    with pytest.raises(InputError, match=r"^c\.rnnviz: LSTM cell: weights do not match settings\.seed"):
        CS.loads_session(json.dumps(doc).encode(), "c.rnnviz")


def test_edited_inputs_become_a_custom_signal():
    doc = CS.to_document(CS.SessionData(M.Settings()))
    doc["input"]["xs"][4] = [-2.0]
    data = CS.loads_session(json.dumps(doc).encode(), "x.rnnviz")
    assert data.settings.signal == "custom"
    assert np.array_equal(M.build_inputs(data.settings), np.array(doc["input"]["xs"]))


def test_non_finite_numbers_cannot_be_saved(tmp_path):
    data = CS.SessionData(M.Settings(signal="custom", custom=((1.0,), (math.inf,))))
    with pytest.raises(InputError, match="cannot save: non-finite number in settings.custom"):
        CS.save_session(tmp_path / "x.rnnviz", data)
    data = CS.SessionData(M.Settings(amplitude=math.nan))
    with pytest.raises(InputError, match="cannot save: non-finite number in settings.amplitude"):
        CS.save_session(tmp_path / "x.rnnviz", data)
    assert not (tmp_path / "x.rnnviz").exists()
    assert os.listdir(tmp_path) == []  # no temporary file left behind


# ---------------------------------------------------------------------------- bad files
def valid_doc(cell="gru", H=3) -> dict:
    return CS.to_document(CS.SessionData(M.Settings(cell=cell, hidden_size=H, T=8), step=2))


def edit(doc, path, value=KeyError):
    doc = json.loads(json.dumps(doc))
    obj = doc
    for k in path[:-1]:
        obj = obj[k]
    if value is KeyError:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value
    return doc


BAD = [
    (lambda d: "{\n  \"format\": \"rnnviz-session\",\n  oops\n}", "not JSON (line 3)"),
    (lambda d: edit(d, ["settings", "T"]), "missing field 'settings.T'"),
    (lambda d: edit(d, ["model", "cells", 0, "W_hh"], [[0.0] * 3] * 3), "W_hh has shape (3, 3); expected (9, 3)"),
    (lambda d: json.dumps(d).replace(json.dumps(d["model"]["cells"][0]["b_ih"][0]), "NaN", 1),
     "non-finite number in weights"),
    (lambda d: json.dumps(d).replace(json.dumps(d["model"]["cells"][0]["W_ih"][0][0]), "1e999", 1),
     "non-finite number in weights"),
    (lambda d: edit(d, ["version"], 2), "made by a newer rnnviz (version 2); this one reads version 1"),
    (lambda d: edit(d, ["version"], "1"), "unknown session version '1'"),
    (lambda d: edit(d, ["format"], "rnnviz-weights"), "not an rnnviz session (format is 'rnnviz-weights')"),
    (lambda d: edit(d, ["format"]), "not an rnnviz session (no 'format' field)"),
    (lambda d: [d], "not an rnnviz session (not a JSON object)"),
    (lambda d: edit(d, ["settings", "cell"], "transformer"), "settings.cell is 'transformer'; expected one of"),
    (lambda d: edit(d, ["settings", "signal"], "chirp"), "settings.signal is 'chirp'; expected one of"),
    (lambda d: edit(d, ["settings", "hidden_size"], 0), "settings.hidden_size = 0 is out of range (1 … 4096)"),
    (lambda d: edit(d, ["settings", "hidden_size"], 300),
     "settings.hidden_size = 300 is out of range for a built-in cell (1 … 256)"),
    (lambda d: edit(d, ["settings", "T"], True), "settings.T must be a whole number, not true"),
    (lambda d: edit(d, ["settings", "seed"], -1), "settings.seed = -1 is out of range"),
    (lambda d: edit(d, ["settings", "recurrent_scale"], "big"), "settings.recurrent_scale must be a number"),
    (lambda d: edit(d, ["settings", "amplitude"], 1e300), "settings.amplitude = 1e+300 is out of range"),
    (lambda d: edit(d, ["settings", "backward"], 0), "settings.backward must be true or false, not 0"),
    (lambda d: edit(d, ["settings", "typo"], 1), "unknown field 'settings.typo'"),
    (lambda d: edit(d, ["settings", "custom"], [[1.0, 2.0]]), "settings.custom rows have 2 numbers; expected 1"),
    (lambda d: edit(d, ["settings", "overrides"], [{"param": "W_hh", "row": 9, "col": 0, "value": 1.0}]),
     "settings.overrides[0].row = 9 is out of range (0 … 8)"),
    (lambda d: edit(d, ["settings", "overrides"], [{"param": "W_xx", "row": 0, "col": 0, "value": 1.0}]),
     "settings.overrides[0].param is 'W_xx'"),
    (lambda d: edit(d, ["settings", "overrides"], [{"param": "W_hh", "row": 0, "col": 0, "value": 1.0}] * 2),
     "W_hh[0,0] is overridden twice"),
    (lambda d: edit(d, ["view", "t"], 9), "view.t = 9 is out of range (1 … 8)"),
    (lambda d: edit(d, ["view", "unit"], 3), "view.unit = 3 is out of range (0 … 2)"),
    (lambda d: edit(d, ["view", "speed"], 100.0), "view.speed = 100.0 is out of range"),
    (lambda d: edit(d, ["view"]), "missing field 'view'"),
    (lambda d: edit(d, ["input", "xs"], [[0.0]] * 7), "input.xs has 7 rows; settings.T is 8"),
    (lambda d: edit(d, ["input", "xs"], [[0.0], [1.0, 2.0]] + [[0.0]] * 6),
     "input.xs is not a matrix (row 2 has 2 numbers, row 1 has 1)"),
    (lambda d: edit(d, ["input", "xs", 3, 0], None), "input.xs must hold only numbers, not null"),
    (lambda d: edit(d, ["model", "cells"], []), "model.cells must list 1 cell (gru)"),
    (lambda d: edit(d, ["model", "cells", 0, "kind"], "rnn"), "W_ih has shape (9, 1); expected (3, 1)"),
    (lambda d: edit(d, ["model", "cells", 0, "nonlinearity"], "swish"), "model.cells[0].nonlinearity is 'swish'"),
    (lambda d: edit(d, ["model", "cells", 0, "b_hh"], [0.0]), "b_hh has shape (1,); expected (9,)"),
    (lambda d: edit(d, ["model", "cells", 0, "W_ih"], [1.0]), "W_ih must be a list of rows"),
    (lambda d: edit(d, ["model", "cells", 0, "W_ih", 0, 0], 1e31), "W_ih has a number beyond ±1e+30"),
    (lambda d: edit(d, ["model", "source"], "downloaded"), "model.source is 'downloaded'"),
    (lambda d: edit(d, ["lesson"], {"title": "x"}), "missing field 'lesson.text'"),
    (lambda d: edit(d, ["lesson"], {"title": "x", "text": "\ud800"}), "lesson.text is not valid text"),
    (lambda d: json.dumps(d).replace('"view"', '"input": {}, "view"', 1), "field 'input' appears twice"),
    (lambda d: "[" * 100_000, "nested more than 64 levels deep"),
    (lambda d: "", "not JSON (line 1)"),
    (lambda d: b"\x89PNG\r\n\x1a\n\x00\x00", "not an rnnviz session (not UTF-8 text)"),
]


@pytest.mark.parametrize("make,message", BAD, ids=[m for _, m in BAD])
def test_bad_file_gives_one_line_naming_the_file(make, message, tmp_path):
    doc = valid_doc()
    bad = make(doc)
    blob = bad if isinstance(bad, bytes) else (bad if isinstance(bad, str) else json.dumps(bad)).encode("utf-8",
                                                                                                       "surrogatepass")
    path = tmp_path / "lesson.rnnviz"
    path.write_bytes(blob)
    with pytest.raises(InputError) as err:
        CS.load_session(path)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert message in text, text


def test_loaded_model_problems(tmp_path):
    save_weights(init_cell("lstm", 2, 3, seed=1), tmp_path / "m.npz")
    # what the window holds after opening m.npz (Controller.loadWeights)
    settings = M.Settings(cell="lstm", hidden_size=3, input_size=2)
    doc = CS.to_document(CS.SessionData(settings, load_weights(tmp_path / "m.npz"), "m.npz"))
    assert doc["model"]["source"] == "loaded" and doc["model"]["name"] == "m.npz"
    cases = [
        (edit(doc, ["settings", "cell"], "gru"), "settings.cell is 'gru' but the loaded model is 'lstm'"),
        (edit(doc, ["settings", "cell"], "compare"), "a loaded model cannot be shown in Compare mode"),
        (edit(doc, ["model", "layer"], 1), "model.layer = 1 is out of range (-1 … 0)"),
        (edit(doc, ["model", "layers"], []), "model.layers must be a non-empty list"),
        (edit(doc, ["model", "layers", 0, "recurrent_bias"], False), "b_hh must be all zeros"),
        (edit(doc, ["model", "layers", 0, "key"], "lstm"), "unknown field 'model.layers[0].key'"),
    ]
    for bad, message in cases:
        with pytest.raises(InputError, match=r"^m\.rnnviz: .*" + _re(message)):
            CS.loads_session(json.dumps(bad).encode(), "m.rnnviz")


def _re(text):
    import re

    return re.escape(text)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(InputError, match=r"nope\.rnnviz: cannot read \(No such file or directory\)"):
        CS.load_session(tmp_path / "nope.rnnviz")
    with pytest.raises(InputError, match="cannot read"):
        CS.load_session(tmp_path)


def test_too_large_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(io_session, "MAX_BYTES", 100)
    (tmp_path / "big.rnnviz").write_bytes(b" " * 200)
    with pytest.raises(InputError, match="too large for a session"):
        CS.load_session(tmp_path / "big.rnnviz")


# ---------------------------------------------------------------------------- fuzzing
def _check_outcome(blob: bytes):
    """Either a clean one-line InputError naming the file, or data that runs without error."""
    try:
        data = CS.loads_session(blob, "fuzz.rnnviz")
    except InputError as err:
        text = str(err)
        assert text.startswith("fuzz.rnnviz: ") and "\n" not in text and len(text) < 400
        return None
    if M.cost(data.settings, data.loaded) < 2e6:
        with np.errstate(all="ignore"):
            M.compute(data.settings, data.loaded, layer=data.layer)
    return data


@pytest.fixture(scope="module")
def valid_blob():
    return make_valid_blob()


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data):
    _check_outcome(data)


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=10_000), flip=st.integers(0, 255), where=st.integers(0, 10_000))
def test_fuzz_truncated_and_corrupted_valid_file(valid_blob, cut, flip, where):
    n = len(valid_blob)
    truncated = valid_blob[: cut % (n - 1)]  # cuts into the closing brace at the latest
    assert _check_outcome(truncated) is None  # so it is always broken JSON
    corrupted = bytearray(valid_blob)
    corrupted[where % n] = flip
    _check_outcome(bytes(corrupted))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _paths(v, prefix=()):
    yield prefix
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, prefix + (k,))
    elif isinstance(v, list):
        for k, x in enumerate(v):
            yield from _paths(x, prefix + (k,))


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_json_structure(valid_blob, data):
    doc = json.loads(valid_blob)
    paths = [p for p in _paths(doc) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        obj = doc
        try:
            for k in path[:-1]:
                obj = obj[k]
            if data.draw(st.booleans()) and isinstance(obj, dict):
                obj.pop(path[-1], None)
            else:
                obj[path[-1]] = data.draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    blob = json.dumps(doc, allow_nan=True).encode("utf-8", "surrogatepass")
    _check_outcome(blob)


@hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scale=st.floats(-1e6, 1e6), T=st.integers(1, 60), step=st.integers(1, 60),
       amplitude=st.floats(-1e6, 1e6), weight=st.floats(-1e30, 1e30))
def test_fuzz_valid_extremes_round_trip_and_run(valid_blob, scale, T, step, amplitude, weight):
    doc = json.loads(valid_blob)
    doc["settings"].update(recurrent_scale=scale, amplitude=amplitude, T=T, signal="constant")
    doc["settings"]["overrides"] = []
    doc["model"]["cells"][0]["W_hh"][0][0] = weight
    doc["input"]["xs"] = [[amplitude]] * T
    doc["view"]["t"] = min(step, T)
    data = _check_outcome(json.dumps(doc).encode())
    assert data is not None and data.loaded is not None  # the edited weight wins
    again = CS.dumps_session(data)
    assert CS.dumps_session(CS.loads_session(again, "x")) == again


def test_every_settings_field_is_in_the_file_format():
    import dataclasses

    names = [f.name for f in dataclasses.fields(M.Settings)]
    # Version 1 requires these; a field added to Settings later must have a default (it is optional).
    assert set(CS.V1_SETTINGS) <= set(names)
    # an empty text (the run reads no text) is left out of the file; a text is written
    assert list(CS.to_document(CS.SessionData(M.Settings()))["settings"]) == [n for n in names if n != "text"]
    s = M.Settings(signal="custom", input_size=2, T=2, custom=((1.0, 0.0), (0.0, 1.0)), text="ab")
    doc = CS.to_document(CS.SessionData(s))
    assert list(doc["settings"]) == names and doc["settings"]["text"] == "ab"
    assert CS.loads_session(CS.dumps_session(CS.SessionData(s))).settings == s


def test_a_settings_text_is_bounded_and_must_be_text(tmp_path):
    from rnnviz.io.limits import InputError

    s = M.Settings(signal="custom", input_size=1, T=1, custom=((1.0,),), text="a")
    doc = CS.to_document(CS.SessionData(s))
    for bad, words in ((123, "must be text"), ("x" * 20_001, "at most 20,000")):
        doc["settings"]["text"] = bad
        path = tmp_path / "bad.rnnviz"
        path.write_text(json.dumps(doc))
        with pytest.raises(InputError, match=words):
            CS.load_session(path)


# ---------------------------------------------------------------------------- io without core
class TinySchema:
    """A made-up app with two settings: io's reader needs nothing of rnnviz.core."""

    fields = {name: f for name, f in CS.SCHEMA.fields.items()}

    def make(self, values):
        return ("tiny", tuple(sorted(values.items())))

    def plain(self, settings):
        return dict(settings[1])

    def kinds(self, values):
        return [values["cell"]]

    def gate_blocks(self, values):
        return 1

    def base_cell(self, key, values):
        H, D = values["hidden_size"], values["input_size"]
        return Cell("rnn", np.full((H, D), 0.5), np.eye(H) * 0.25, np.zeros(H), np.zeros(H))

    def inputs(self, values):
        return np.ones((values["T"], values["input_size"]))

    def key_of(self, cell):
        return "rnn_tanh"


def test_reader_and_writer_take_the_settings_schema_as_an_argument():
    schema = TinySchema()
    values = CS.SCHEMA.plain(M.Settings(hidden_size=2, T=3))
    data = io_session.SessionData(schema.make(values), step=1)
    blob = io_session.dumps_session(data, schema)
    doc = json.loads(blob)
    assert doc["model"]["cells"][0]["W_hh"] == [[0.25, 0.0], [0.0, 0.25]]
    assert doc["input"]["xs"] == [[1.0], [1.0], [1.0]]
    back = io_session.loads_session(blob, "t.rnnviz", schema=schema)
    assert back.settings == data.settings and back.step == 1 and back.loaded is None
    assert io_session.dumps_session(back, schema) == blob
    doc["model"]["cells"][0]["W_hh"][0][0] = 0.5  # no longer the schema's built-in cell
    edited = io_session.loads_session(json.dumps(doc).encode(), "t.rnnviz", schema=schema)
    assert edited.loaded is not None and edited.loaded.W_hh[0, 0] == 0.5 and edited.loaded_name == "t.rnnviz"
    with pytest.raises(InputError, match=r"^t\.rnnviz: settings\.T = 0 is out of range \(1 … 100000\)"):
        io_session.loads_session(blob.replace(b'"T": 3', b'"T": 0'), "t.rnnviz", schema=schema)


def test_settings_schema_matches_core_model():
    fields = CS.SCHEMA.fields
    assert fields["cell"].kind == "choice" and list(fields["cell"].choices) == list(M.CELL_CHOICES)
    assert fields["signal"].choices is M.SIGNALS
    assert fields["T"].limits == M.LIMITS["T"] and fields["seed"].limits == (0, 2**31 - 1)
    assert fields["custom"].kind == "rows" and fields["overrides"].kind == "entries"
    assert fields["backward"].kind == "bool" and fields["amplitude"].kind == "float"
    s = M.Settings(cell="gru", hidden_size=3, overrides=((("W_hh", 0, 1), 2.0),))
    assert CS.SCHEMA.make(CS.SCHEMA.plain(s)) == s
    assert CS.SCHEMA.gate_blocks(CS.SCHEMA.plain(s)) == 3
    assert CS.SCHEMA.base_cell("gru", CS.SCHEMA.plain(s)).W_hh[0, 1] == 2.0


@pytest.mark.parametrize("name", ["torch_lstm_proj.npz", "torch_lstm_proj_stacked.npz"])
def test_an_lstm_with_a_projection_saves_and_reopens(name, tmp_path):
    """PyTorch's proj_size: W_hr (P, C) is written, and the file reopens with the same numbers."""
    from pathlib import Path

    from rnnviz.core.app import App

    app = App()
    app.load_weights(Path(__file__).resolve().parent.parent / "fixtures" / name)
    app.recompute()
    data = CS.SessionData(app.settings, loaded=app.loaded, loaded_name=app.loaded_name)
    path = tmp_path / "proj.rnnviz"
    CS.save_session(path, data)
    back = CS.load_session(path)
    for a, b in zip(getattr(back.loaded, "layers", (back.loaded,)), getattr(app.loaded, "layers", (app.loaded,))):
        np.testing.assert_array_equal(a.W_hr, b.W_hr)
        np.testing.assert_array_equal(a.W_hh, b.W_hh)
    assert CS.dumps_session(back) == path.read_bytes()
    again = App()
    again.restore(back.settings, loaded=back.loaded, loaded_name=back.loaded_name)
    np.testing.assert_array_equal(again.result.cells[0].trace.h, app.result.cells[0].trace.h)
    # a projection where none can be, or of the wrong width, is one clear line
    doc = json.loads(path.read_text())
    layer = doc["model"]["layers"][-1]
    bad = dict(layer, W_hr=[row[:-1] for row in layer["W_hr"]][:-1])
    for cell, words in ((bad, "W_hr has shape"), (dict(layer, kind="gru"), "is an LSTM's")):
        doc["model"]["layers"][-1] = cell
        path.write_text(json.dumps(doc))
        with pytest.raises(InputError, match=words):
            CS.load_session(path)
