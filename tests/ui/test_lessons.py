"""Built-in lessons: the files, what each one shows (checked with the engine), the panels and the CLI."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from rnnviz.engine import InputError, seed_example
from rnnviz.ui import lessons as L
from rnnviz.core import model as M
from rnnviz.ui import session as S
from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import make_lessons  # noqa: E402

NAMES = ["seed-example", "vanishing-memory", "exploding", "lstm-remembers", "gru-update-gate", "the-race"]


@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory, monkeypatch):
    """Recent files go to a private folder (prefs reads RNNVIZ_SETTINGS_DIR); returns its ini file."""
    folder = tmp_path_factory.mktemp("settings")  # beside tmp_path: tests list what they write there
    monkeypatch.setenv("RNNVIZ_SETTINGS_DIR", str(folder))
    return folder / "rnnviz.ini"


def run(data: S.SessionData, **changes) -> M.Result:
    """The engine's run of a lesson (optionally with some settings changed), with the slow curves."""
    with np.errstate(all="ignore"):
        return M.compute(data.settings.replace(**changes), data.loaded, layer=data.layer)


def ratio(cr: M.CellResult) -> np.ndarray:
    """What the fading panel plots relative to step 1: ‖∂h_t/∂x_1‖ / ‖∂h_1/∂x_1‖."""
    return cr.trace.influence / cr.trace.influence[0]


# ---------------------------------------------------------------------------- files
def test_names_titles_and_paths():
    assert list(L.LESSONS) == NAMES
    listed = L.list_lessons()
    assert [n for n, _ in listed] == NAMES
    for name, title in listed:
        assert title and L.lesson_path(name).is_file()
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name)


def test_committed_files_equal_what_make_lessons_generates(qapp):
    generated = make_lessons.generate()
    assert sorted(generated) == sorted(NAMES)
    folder = Path(__file__).resolve().parent.parent.parent / "resources" / "lessons"
    assert sorted(p.stem for p in folder.glob("*.rnnviz")) == sorted(NAMES)
    for name, blob in generated.items():
        assert (folder / f"{name}.rnnviz").read_bytes() == blob, (
            f"{name}.rnnviz is stale: run PYTHONPATH=. python tests/make_lessons.py")


@pytest.mark.parametrize("name", NAMES)
def test_each_lesson_is_a_complete_valid_session(name):
    data = L.load_lesson(name)
    assert data.loaded is None  # the weights in the file are exactly what the settings regenerate
    lesson = data.lesson
    assert lesson.title == dict(L.list_lessons())[name]
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", lesson.text.strip()) if s]
    assert 2 <= len(sentences) <= 6, sentences  # 2–5 sentences of explanation (+ an instruction)
    assert lesson.summary and "\n" not in lesson.summary and len(lesson.summary) < 100
    blob = L.lesson_path(name).read_bytes()
    assert S.dumps_session(data) == blob  # byte-identical round trip
    assert json.loads(blob)["lesson"]["title"] == lesson.title


def test_unknown_lesson_names_the_lesson_and_lists_valid_names():
    with pytest.raises(InputError) as err:
        L.load_lesson("lstm")
    text = str(err.value)
    assert "\n" not in text
    assert text == "unknown lesson 'lstm'; the lessons are: " + ", ".join(NAMES)


# ---------------------------------------------------------------------------- the points
def test_seed_example_is_the_seed_documents_network(qapp):
    data = L.load_lesson("seed-example")
    c = Controller()
    c.useSeedExample()
    assert data.settings == c.settings
    assert data.step == 0 and not data.reveal_all
    cell = M.apply_overrides(M.base_cell("rnn_tanh", data.settings), data.settings.overrides)
    ref = seed_example(0)
    for p in ("W_ih", "W_hh", "b_ih"):
        assert np.array_equal(getattr(cell, p), getattr(ref, p))
    r = run(data)
    assert np.allclose(r.xs[:, 0], [0.1, 0.5, 0.9])
    # the document's loop: h_t = tanh(W_x x_t + W_h h_{t-1} + b)
    h = np.zeros(2)
    for t in range(3):
        h = np.tanh(ref.W_ih @ r.xs[t] + ref.W_hh @ h)
        assert np.allclose(r.cells[0].trace.h[t], h, atol=1e-6)


def test_vanishing_memory_decays_geometrically_and_the_slider_sets_the_rate():
    data = L.load_lesson("vanishing-memory")
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
    data = L.load_lesson("exploding")
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
    data = L.load_lesson("lstm-remembers")
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


def test_gru_update_gate_carries_the_state_forward():
    data = L.load_lesson("gru-update-gate")
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
    data = L.load_lesson("the-race")
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


# ---------------------------------------------------------------------------- window
@pytest.fixture
def window(qtbot, monkeypatch):
    c = Controller()
    c.recompute()
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    errors = []
    monkeypatch.setattr(w, "showError", lambda title, msg: errors.append((title, msg)))
    w.errors = errors
    yield w
    c.setPlaying(False)
    w.close()


@pytest.mark.parametrize("name", NAMES)
def test_opening_a_lesson_restores_its_state_and_shows_its_text(window, name):
    assert L.open_lesson_in_window(window, name)
    c = window.controller
    assert c.waitForIdle()
    data = L.load_lesson(name)
    assert c.settings == data.settings and c.step == data.step and c.selectedUnit == data.unit
    assert c.speed == data.speed and c.revealAll == data.reveal_all
    panel = window.lessonPanel
    assert panel.isVisible() and panel.lesson == data.lesson
    shown = panel.text()
    assert data.lesson.title in shown
    assert data.lesson.text.split(" ")[2] in shown
    assert window.windowTitle() == f"{data.lesson.title}[*] — rnnviz" and not window.isWindowModified()
    assert window.session.path is None  # saving a lesson asks where: never into the installed package
    image = window.grab().toImage()  # painting the lesson raises nothing
    assert image.width() > 0
    assert panel.height() < window.height() / 3  # the text fits its lines, the views keep the room


def test_lesson_panel_hides_without_a_lesson_and_can_be_closed(window, tmp_path):
    panel = window.lessonPanel
    assert not panel.isVisible()
    assert window.session.openLesson("exploding")
    assert panel.isVisible()
    panel.close()
    assert not panel.isVisible()
    toggle = panel.toggleViewAction()
    toggle.trigger()
    assert panel.isVisible()
    c = Controller()
    c.recompute()
    S.save_session(tmp_path / "plain.rnnviz", S.capture(c))
    assert window.session.open(str(tmp_path / "plain.rnnviz"))
    assert not panel.isVisible() and window.session.lesson is None


def test_saving_an_opened_lesson_keeps_its_text(window, tmp_path, monkeypatch):
    assert window.session.openLesson("gru-update-gate")
    window.controller.update(update_bias=0.0)
    target = str(tmp_path / "mine.rnnviz")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (target, ""))
    assert window.session.save()
    data = S.load_session(target)
    assert data.lesson == L.load_lesson("gru-update-gate").lesson
    assert data.settings.update_bias == 0.0


def test_lesson_text_markup_is_escaped():
    html = L.lesson_html("h_t and h_{t−1}, 10^{-3}, **bold** <img src=x> & more\n\nnext")
    assert "h<sub>t</sub>" in html and "h<sub>t−1</sub>" in html and "10<sup>-3</sup>" in html
    assert "<b>bold</b>" in html and "&lt;img src=x&gt;" in html and "&amp; more" in html
    assert html.count("<p") == 2


def test_lessons_menu_opens_each(window):
    menu = window.session.lessonsMenu
    acts = menu.actions()
    assert len(acts) == len(NAMES)
    acts[4].trigger()
    assert window.session.lesson.title == L.lesson_info("gru-update-gate").title


def test_start_panel(window, tmp_path, qtbot):
    start = window.startPanel
    assert not start.isVisible()  # never pops up by itself on the offscreen platform
    assert start.parent() is window  # an overlay, not another window
    window.session.startAction.trigger()
    assert start.isVisible()
    assert start.geometry().width() == window.width()
    assert list(start.lessonButtons) == NAMES
    assert "The race" in start.lessonButtons["the-race"].text()
    assert not start.recentButtons  # nothing saved yet
    start.lessonButtons["lstm-remembers"].click()
    assert not start.isVisible() and window.controller.settings.cell == "lstm"

    c = Controller()
    c.recompute()
    c.update(cell="gru", T=7)
    c.waitForIdle()
    S.save_session(tmp_path / "tuesday.rnnviz", S.capture(c))
    assert window.session.open(str(tmp_path / "tuesday.rnnviz"))
    window.session.startAction.trigger()
    assert list(start.recentButtons) == [str(tmp_path / "tuesday.rnnviz")]
    qtbot.keyClick(start.dismissButton, QtCore.Qt.Key.Key_Escape)
    assert not start.isVisible()
    window.startPanel.show()
    window.controller.update(T=9)
    qtbot.mouseClick(start.lessonButtons["seed-example"], QtCore.Qt.MouseButton.LeftButton)
    assert not start.isVisible() and window.controller.settings.hidden_size == 2
    window.startPanel.show()
    qtbot.mouseClick(start, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(3, start.height() - 3))
    assert not start.isVisible()  # a click beside the card dismisses it


def test_start_panel_shows_by_itself_on_a_real_screen(qtbot, monkeypatch):
    from PySide6 import QtGui

    monkeypatch.setattr(QtGui.QGuiApplication, "platformName", staticmethod(lambda: "xcb"))
    c = Controller()
    c.recompute()
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.session.confirmDiscard = False
    w.show()
    assert w.startPanel.isVisible()
    assert w.session.openLesson("the-race")
    assert not w.startPanel.isVisible()


# ---------------------------------------------------------------------------- CLI
def test_cmd_lessons_prints_the_names(capsys):
    assert L.cmd_lessons([]) == 0
    assert capsys.readouterr().out.splitlines() == NAMES
    assert L.cmd_lessons(["--titles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == NAMES
    assert "The LSTM remembers" in lines[3]


def test_panels_follow_the_theme(window):
    from rnnviz.ui import theme

    assert window.session.openLesson("vanishing-memory")
    look = theme.make("dark", font_scale=1.5)
    panel, start = window.lessonPanel, window.startPanel
    before = panel.label.text()
    panel.setTheme(look)
    assert f"font-size: {look.pt(L.LESSON_TEXT_PT)}pt" in panel.label.text() != before
    assert "#23272E" in panel.label.styleSheet()
    start.show()
    start.setTheme(look)
    assert list(start.lessonButtons) == NAMES
    assert f"font-size: {look.pt(15)}pt" in start.lessonButtons["exploding"].label.text()
    assert start.heading.font().pointSize() == look.pt(22)
    panel.setTheme(theme.LIGHT)
    start.setTheme(theme.LIGHT)
    start.hide()
