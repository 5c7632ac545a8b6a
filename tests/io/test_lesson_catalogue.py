"""Built-in lessons without Qt: the catalogue, the files, what each one shows (with the engine), the CLI.

The panels, the start page and the Lessons menu are tested in tests/ui/test_lessons.py.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from rnnviz.core import model as M
from rnnviz.core import session as CS
from rnnviz.engine import InputError
from rnnviz.io import lessons as IL

NAMES = ["seed-example", "vanishing-memory", "exploding", "lstm-remembers", "gru-update-gate", "the-race",
         "two-fixed-points",
         "learning-to-remember", "exploding-gradients", "char-rnn", "what-does-a-unit-track", "inside-lstm"]


def run(data: CS.SessionData, **changes) -> M.Result:
    """The engine's run of a lesson (optionally with some settings changed), with the slow curves."""
    with np.errstate(all="ignore"):
        return M.compute(data.settings.replace(**changes), data.loaded, layer=data.layer)


def ratio(cr: M.CellResult) -> np.ndarray:
    """What the fading panel plots relative to step 1: ‖∂h_t/∂x_1‖ / ‖∂h_1/∂x_1‖."""
    return cr.trace.influence / cr.trace.influence[0]


# ---------------------------------------------------------------------------- files
def test_names_titles_and_paths():
    assert list(IL.LESSONS) == NAMES
    listed = IL.list_lessons()
    assert [n for n, _ in listed] == NAMES
    for name, title in listed:
        assert title and IL.lesson_path(name).is_file()
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name)


@pytest.mark.parametrize("name", NAMES)
def test_each_lesson_is_a_complete_valid_session(name):
    data = CS.load_lesson(name)
    assert data.loaded is None  # the weights in the file are exactly what the settings regenerate
    lesson = data.lesson
    assert lesson.title == dict(IL.list_lessons())[name]
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", lesson.text.strip()) if s]
    assert 2 <= len(sentences) <= 6, sentences  # 2–5 sentences of explanation (+ an instruction)
    assert lesson.summary and "\n" not in lesson.summary and len(lesson.summary) < 100
    blob = IL.lesson_path(name).read_bytes()
    assert CS.dumps_session(data) == blob  # byte-identical round trip
    assert json.loads(blob)["lesson"]["title"] == lesson.title


def test_unknown_lesson_names_the_lesson_and_lists_valid_names():
    with pytest.raises(InputError) as err:
        CS.load_lesson("lstm")
    text = str(err.value)
    assert "\n" not in text
    assert text == "unknown lesson 'lstm'; the lessons are: " + ", ".join(NAMES)


# ---------------------------------------------------------------------------- the points
def test_vanishing_memory_decays_geometrically_and_the_slider_sets_the_rate():
    data = CS.load_lesson("vanishing-memory")
    s = data.settings
    assert (s.cell, s.signal) == ("rnn_tanh", "impulse")
    cr = run(data).cells[0]
    q = ratio(cr)
    assert q[20] < 1e-3  # "after 20 steps less than 0.1 % is left"
    steps = q[3:] / q[2:-1]
    assert np.all(steps < 1) and steps.max() < 0.8  # shrinks by a bounded factor every step
    log = np.log10(q[3:])
    fit = np.polyfit(np.arange(log.size), log, 1)
    assert np.max(np.abs(np.polyval(fit, np.arange(log.size)) - log)) < 0.3  # a straight line on a log scale
    slower = ratio(run(data, recurrent_scale=1.3).cells[0])
    faster = ratio(run(data, recurrent_scale=0.6).cells[0])
    assert faster[20] < q[20] / 100 and slower[20] > q[20] * 100
    assert abs(cr.cell.spectral_radius() - 0.75) < 0.01  # the number quoted in the text


def test_exploding_values_blow_up_within_the_sequence():
    data = CS.load_lesson("exploding")
    s = data.settings
    assert s.cell == "rnn_relu"
    cr = run(data).cells[0]
    assert cr.cell.spectral_radius() > 2.2
    h = cr.trace.h
    assert (not np.all(np.isfinite(h))) or np.abs(h).max() > 1e6
    assert np.abs(h[-1]).max() > 1e9  # "by t = 60 it passes 10^9"
    assert np.argmax(np.abs(h[-1])) == data.unit  # the equation panel shows that unit
    assert ratio(cr)[-1] > 1e6  # and the gradient ∂h_t/∂x_1 explodes with it
    calm = run(data, recurrent_scale=1.3).cells[0]  # "below 1.3 (ρ < 1) it calms down"
    assert calm.cell.spectral_radius() < 1 and ratio(calm)[-1] < 1e-3


def test_lstm_remembers_where_a_tanh_rnn_forgets():
    data = CS.load_lesson("lstm-remembers")
    s = data.settings
    assert s.cell == "lstm" and 3 <= s.forget_bias <= 5 and s.T >= 150
    r = run(data).cells[0]
    q = ratio(r)
    assert q[100] > 0.5  # "more than half" (brief: > 0.1)
    assert q.min() > 0.1
    assert np.all(r.trace.gates["f"] > 0.95)  # the gates show why
    rnn = ratio(run(data, cell="rnn_tanh").cells[0])
    assert rnn[100] < 1e-20  # "less than 10^-20" (brief: < 1e-3)
    forgetful = ratio(run(data, forget_bias=0.0).cells[0])
    assert forgetful[100] < 1e-3


def test_inside_the_lstm_cell_reads_its_numbers_off_the_diagram():
    from rnnviz.core.diagram import cell_model
    from rnnviz.core.format import fmt

    data = CS.load_lesson("inside-lstm")
    assert data.settings.cell == "lstm" and data.panel == "diagramPanel"  # the diagram tab comes forward
    cr = run(data).cells[0]
    t, u = data.step, data.unit
    assert (t + 1, u) == (5, 3)  # "at t = 5, unit 3"
    d = cell_model(cr).at(t, u)
    text = data.lesson.text
    said = {"gate:f": "(f = ", "in:c": "of c_{t−1} = ", "gate:i": "(i = ", "mul:i·g": "i·g = ", "out:c": "c_t = ",
            "gate:o": "(o = ", "out:h": "tanh(c_t) = ", "mul:f·c_prev": "f·c_{t−1} = "}
    for node, before in said.items():
        value = float(fmt(d.values[node].scalar).replace("−", "-"))
        assert f"{before}{value:.2f}" in text, (node, shown)  # the text's 2 decimals are the diagram's number
    tr = cr.trace
    f, i, g, o = (float(tr.gates[k][t, u]) for k in "figo")
    c_prev, c, h = float(tr.c[t - 1, u]), float(tr.c[t, u]), float(tr.h[t, u])
    assert f > 0.97  # "the forget valve is open"
    assert c == pytest.approx(f * c_prev + i * g, rel=1e-5)  # c_t = f ⊙ c_{t−1} + i ⊙ g
    assert h == pytest.approx(o * np.tanh(c), rel=1e-5)  # h_t = o ⊙ tanh(c_t)
    assert c > 1 and abs(h) < 1 and np.abs(tr.h).max() < 1 < np.abs(tr.c).max()  # "c grows past 1"
    closed = run(data, forget_bias=0.0).cells[0].trace.gates["f"][t, u]
    assert closed < f - 0.1  # dragging the forget bias down closes the valve


def test_gru_update_gate_carries_the_state_forward():
    data = CS.load_lesson("gru-update-gate")
    s = data.settings
    assert s.cell == "gru" and s.update_bias >= 4
    tr = run(data).cells[0].trace
    z = tr.gates["z"]
    assert np.all(z[0] < 0.35)  # the impulse opens the gate at t = 1 ("about 0.3")
    assert np.all(z[1:] > 0.99)  # then z ≈ 1
    assert np.abs(tr.h[0]).min() > 0.5  # something visible was written
    drift = np.abs(tr.h[-1] - tr.h[0]) / np.abs(tr.h[0])
    assert drift.max() < 0.2  # "the two red stripes run on unchanged"
    step_change = np.abs(np.diff(tr.h[1:], axis=0)).max()
    assert step_change < 0.01
    assert 0.65 < ratio(run(data).cells[0])[-1] < 0.75  # "70 % of x_1's influence is left"
    open_gate = run(data, update_bias=0.0).cells[0]
    assert ratio(open_gate)[10] < 0.01  # "within 10 steps less than 1 %"
    assert 0.3 < open_gate.trace.gates["z"][1:].mean() < 0.7  # "z stays near ½"


def test_the_race_gates_win_by_orders_of_magnitude():
    data = CS.load_lesson("the-race")
    s = data.settings
    assert s.cell == "compare" and s.T >= 200
    r = run(data)
    curves = {cr.key: ratio(cr) for cr in r.cells}
    assert list(curves) == ["rnn_tanh", "gru", "lstm"]
    assert curves["lstm"][-1] / curves["rnn_tanh"][-1] > 1e30
    assert curves["gru"][-1] / curves["rnn_tanh"][-1] > 1e30
    assert curves["gru"][-1] > 0.1 and curves["lstm"][-1] > 0.1  # "more than a tenth at t = 200"
    assert curves["rnn_tanh"][20] < 1e-4  # "lost after about 20 steps (below 10^-4)"
    # the perturbation curves (the dashed lines) agree where they are above float noise
    for cr in r.cells[1:]:
        assert np.allclose(cr.perturbation / cr.perturbation[0], ratio(cr), rtol=0.05)


# ---------------------------------------------------------------------------- CLI
def test_cmd_lessons_prints_the_names(capsys):
    assert IL.cmd_lessons([]) == 0
    assert capsys.readouterr().out.splitlines() == NAMES
    assert IL.cmd_lessons(["--titles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == NAMES
    assert "The LSTM remembers" in lines[3]


def test_rnnviz_lessons_loads_no_qt():
    """``rnnviz lessons`` in a fresh interpreter: the names, and neither PySide6 nor pyqtgraph imported."""
    code = (
        "import sys; from rnnviz.cli import main; rc = main(['lessons', '--titles']);"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')"
        " or m.startswith('rnnviz.ui')];"
        "print('QT:', bad); sys.exit(rc or (1 if bad else 0))"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[:-1]] == NAMES
    assert lines[-1] == "QT: []"


def test_two_fixed_points_store_a_bit():
    from rnnviz.engine.statespace import fixed_points, step_map

    data = CS.load_lesson("two-fixed-points")
    assert data.panel == "stateSpacePanel" and data.step == data.settings.T - 1
    r = run(data)
    cr = r.cells[0]
    cell = cr.cell
    assert abs(cell.spectral_radius() - 2.0) < 1e-9  # "ρ(W_hh) = 2"
    x = r.xs[data.step]
    assert x.tolist() == [0.0]  # "when the input is 0"
    fps = fixed_points(cell, x)
    assert [p.stability for p in fps] == ["stable", "stable", "saddle"]  # "two stable ones and a saddle"
    np.testing.assert_allclose(fps.h[2], 0.0, atol=1e-12)  # "at the origin"
    m = step_map(cell, x)
    assert all(np.max(np.abs(m(p.state) - p.state)) < 1e-8 for p in fps)
    lo, hi = fps.h[0], fps.h[1]
    assert np.all(hi > 0) and np.all(lo < 0)
    h = cr.trace.h.astype(np.float64)
    assert np.max(np.abs(h[-1] - hi)) < 1e-3  # "runs into the upper-right attractor"
    assert np.all(np.max(np.abs(h[8:] - hi), axis=1) < 0.05)  # "and stays there"
    neg = run(data, amplitude=-1.0).cells[0].trace.h.astype(np.float64)
    assert np.max(np.abs(neg[-1] - lo)) < 1e-3  # "ends on the other attractor"
    for scale in (0.6, 0.5):  # "below 0.6 (ρ < 1): the attractors merge (at the origin) and the bit is forgotten"
        weak = run(data, recurrent_scale=scale).cells[0]
        assert weak.cell.spectral_radius() < 1
        one = fixed_points(weak.cell, x)
        assert [p.stability for p in one] == ["stable"] and np.max(np.abs(one.h[0])) < 1e-12
        size = np.linalg.norm(weak.trace.h.astype(np.float64), axis=1)
        assert np.all(np.diff(size[2:]) < 0) and size[-1] < 0.5 * size.max()  # h falls back to 0
    assert size[-1] < 0.05  # at 0.5 (ρ = 0.8) it is gone within the 20 steps
