"""Session files: exact round trips, validation of every bad file, the window's save/open/close flow."""

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from PySide6 import QtCore, QtGui, QtWidgets

from rnnviz.engine import Stack, init_cell
from rnnviz.io import save_weights
from rnnviz.engine.cells import as_stack
from rnnviz.core import model as M
from rnnviz.core import session as CS
from rnnviz.ui import session as S
from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow

PARAMS = ("W_ih", "W_hh", "b_ih", "b_hh")


# ---------------------------------------------------------------------------- helpers
@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory, monkeypatch):
    """Recent files go to a private folder (prefs reads RNNVIZ_SETTINGS_DIR), never the user's
    real settings; returns the ini file written there."""
    folder = tmp_path_factory.mktemp("settings")  # beside tmp_path: tests list what they write there
    monkeypatch.setenv("RNNVIZ_SETTINGS_DIR", str(folder))
    return folder / "rnnviz.ini"


def fresh(qapp):
    c = Controller()
    c.recompute()
    assert c.waitForIdle()
    return c


def state(c: Controller) -> dict:
    """Everything a session restores, in comparable form."""
    model = c.activeModel()
    return dict(settings=c.settings, step=c.step, reveal=c.revealAll, unit=c.selectedUnit, speed=c.speed,
                loaded=c.loadedName, layer=c.layer,
                params=[(cell.kind, cell.nonlinearity, *(getattr(cell, p).tobytes() for p in PARAMS))
                        for cell in as_stack(model).layers],
                xs=c.result.xs.tobytes(), h=[cr.trace.h.tobytes() for cr in c.result.cells])


def roundtrip_bytes(c, tmp_path, lesson=None) -> bytes:
    a, b = tmp_path / "a.rnnviz", tmp_path / "b.rnnviz"
    CS.save_session(a, S.capture(c, lesson))
    CS.save_session(b, CS.load_session(a))
    assert a.read_bytes() == b.read_bytes()
    return a.read_bytes()


def setups():
    """Controller states that a session must restore exactly."""

    def default(c, tmp):
        pass

    def gru_sine(c, tmp):
        c.update(cell="gru", hidden_size=5, T=17, recurrent_scale=1.7, signal="sine", period=5.5,
                 input_scale=0.1 + 0.2, bias_shift=-0.3, update_bias=2.25)
        c.waitForIdle()
        c.setStep(6)
        c.setSelectedUnit(3)
        c.setSpeed(8)
        c.setRevealAll(True)

    def seed_example(c, tmp):
        c.useSeedExample()
        c.setStep(2)

    def compare(c, tmp):
        c.update(cell="compare", hidden_size=6, T=40, forget_bias=3.0, update_bias=-1.5, backward=True)
        c.waitForIdle()
        c.setStep(39)

    def custom_d2(c, tmp):
        c.update(input_size=2, T=6, signal="custom", custom=((0.1, 1e-300), (-2.5, 3.0), (1 / 3, 2 / 3)))
        c.waitForIdle()
        c.setStep(3)

    def overrides(c, tmp):
        c.update(hidden_size=2, cell="lstm")
        c.waitForIdle()
        c.setEntry("W_hh", 3, 1, 0.123456789012345678)
        c.setEntry("b_hh", 7, 0, -1e-7)
        c.waitForIdle()

    def noise_relu(c, tmp):
        c.update(cell="rnn_relu", signal="noise", seed=12345, amplitude=0.7, T=50, recurrent_scale=2.5)
        c.waitForIdle()
        c.setStep(49)

    def loaded(c, tmp):
        path = tmp / "trained.npz"
        cell = init_cell("gru", 3, 4, seed=7)
        save_weights(cell.with_params(W_hh=cell.W_hh * np.pi), path)
        c.loadWeights(str(path))
        c.waitForIdle()
        c.update(recurrent_scale=0.5, signal="step")
        c.setEntry("W_ih", 2, 1, 9.75)
        c.waitForIdle()
        c.setStep(20)

    def loaded_stack(c, tmp):
        path = tmp / "stack.safetensors"
        save_weights(Stack((init_cell("lstm", 2, 5, seed=1), init_cell("lstm", 5, 5, seed=2))), path)
        c.loadWeights(str(path))
        c.waitForIdle()
        c.setLayer(0)
        c.waitForIdle()
        c.setSelectedUnit(4)

    return [default, gru_sine, seed_example, compare, custom_d2, overrides, noise_relu, loaded, loaded_stack]


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("setup", setups(), ids=lambda f: f.__name__)
def test_save_open_save_is_byte_identical_and_restores_everything(setup, qapp, tmp_path):
    c = fresh(qapp)
    setup(c, tmp_path)
    assert c.waitForIdle()
    lesson = CS.Lesson("Title — ρ", "Some text.\n\nSecond paragraph with h_{t−1}.", "One line.")
    blob = roundtrip_bytes(c, tmp_path, lesson)
    doc = json.loads(blob)
    assert doc["format"] == "rnnviz-session" and doc["version"] == 1

    data = CS.load_session(tmp_path / "a.rnnviz")
    assert data.lesson == lesson
    other = fresh(qapp)
    S.apply_session(other, data)
    assert other.waitForIdle()
    assert state(other) == state(c)


def test_file_is_readable_json_with_every_field(qapp, tmp_path):
    c = fresh(qapp)
    c.useSeedExample()
    CS.save_session(tmp_path / "s.rnnviz", S.capture(c))
    text = (tmp_path / "s.rnnviz").read_text("utf-8")
    doc = json.loads(text)
    assert set(doc) == {"format", "version", "lesson", "settings", "model", "input", "view"}
    # every field; "text" only when the run reads text (this one does not)
    assert list(doc["settings"]) == [f.name for f in __import__("dataclasses").fields(M.Settings) if f.name != "text"]
    assert doc["input"]["xs"] == [[0.1], [0.5], [0.9]]
    assert doc["view"] == {"t": 1, "reveal_all": False, "unit": 0, "speed": 4.0}
    cell = doc["model"]["cells"][0]
    from rnnviz.engine import seed_example

    seed = seed_example(0)
    assert cell["W_ih"] == seed.W_ih.tolist() and cell["W_hh"] == seed.W_hh.tolist()
    assert cell["recurrent_bias"] is False
    # a matrix row per line, not a number per line
    assert '"W_hh": [\n' in text and f"[{float(seed.W_hh[0, 0])!r}, {float(seed.W_hh[0, 1])!r}]" in text


def test_builtin_weights_that_differ_from_the_seed_open_as_a_loaded_model(qapp, tmp_path):
    c = fresh(qapp)
    c.update(cell="lstm", hidden_size=3)
    c.setEntry("W_ih", 0, 0, 0.5)
    c.waitForIdle()
    CS.save_session(tmp_path / "a.rnnviz", S.capture(c))
    doc = json.loads((tmp_path / "a.rnnviz").read_text())
    doc["model"]["cells"][0]["W_hh"][4][2] = 0.1 + 0.2  # hand-edited number
    (tmp_path / "edited.rnnviz").write_text(json.dumps(doc))
    data = CS.load_session(tmp_path / "edited.rnnviz")
    assert data.loaded is not None and data.loaded_name == "edited.rnnviz"
    assert data.settings.overrides == ()  # already inside the stored weights
    S.apply_session(c, data)
    assert c.waitForIdle()
    cell = c.baseCell()
    assert cell.W_hh[4, 2] == 0.1 + 0.2 and cell.W_ih[0, 0] == 0.5
    assert np.array_equal(cell.W_hh, np.array(doc["model"]["cells"][0]["W_hh"]))


# ---------------------------------------------------------------------------- the window
@pytest.fixture(scope="module")
def valid_blob(qapp):
    c = Controller()
    c.update(cell="lstm", hidden_size=2, T=5, signal="sine")
    c.recompute()
    c.setEntry("W_hh", 1, 1, 0.25)
    c.recompute()
    c.setStep(3)
    lesson = CS.Lesson("A lesson", "Its text.")
    return CS.dumps_session(S.capture(c, lesson))


@pytest.fixture
def window(qtbot, monkeypatch):
    c = Controller()
    c.recompute()
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert c.waitForIdle()
    errors = []
    monkeypatch.setattr(w, "showError", lambda title, msg: errors.append((title, msg)))
    w.errors = errors
    yield w
    c.setPlaying(False)
    w.session.confirmDiscard = False
    w.close()


def _action(window, text):
    for menu in window.menuBar().findChildren(QtWidgets.QMenu):
        for act in menu.actions():
            if act.text().replace("&", "") == text:
                return act
    raise AssertionError(f"no action {text!r}")


def test_menu_and_shortcuts(window):
    assert _action(window, "Open session…").shortcut().toString() == "Ctrl+O"
    assert _action(window, "Save session").shortcut().toString() == "Ctrl+S"
    assert _action(window, "Save session as…").shortcut().toString() == "Ctrl+Shift+S"
    assert _action(window, "Open weights…").shortcut().toString() == "Ctrl+Shift+O"
    file_menu = [a.menu() for a in window.menuBar().actions() if a.text() == "&File"][0]
    texts = [a.text().replace("&", "") for a in file_menu.actions() if not a.isSeparator()]
    assert texts.index("Open session…") < texts.index("Open weights…")
    assert "Lessons" in texts and "Start page" in texts and "Open recent" in texts
    # no two actions share a shortcut
    keys = [a.shortcut().toString() for a in window.findChildren(QtGui.QAction) if not a.shortcut().isEmpty()]
    assert len(keys) == len(set(keys))


def test_save_and_open_through_the_window(window, tmp_path, qtbot, monkeypatch, private_settings):
    c = window.controller
    s = window.session
    assert "[*]" in window.windowTitle() and not window.isWindowModified()
    c.update(cell="lstm", hidden_size=4, T=12)
    c.waitForIdle()
    c.setStep(5)
    assert window.isWindowModified() and s.modified
    path = str(tmp_path / "class.rnnviz")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "class"), ""))
    qtbot.keyClick(window, QtCore.Qt.Key.Key_S, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert os.path.exists(path) and s.path == path
    assert window.windowTitle() == "class.rnnviz[*] — rnnviz"
    assert not window.isWindowModified()
    c.stepForward()
    assert window.isWindowModified()
    c.stepBack()
    assert not window.isWindowModified()  # back where it was saved
    c.setRevealAll(True)
    assert window.isWindowModified()
    assert s.save() and not window.isWindowModified()
    assert CS.load_session(path).reveal_all

    # open it in another window: the exact view comes back
    other = MainWindow(fresh(window))
    qtbot.addWidget(other)
    other.show()
    qtbot.waitExposed(other)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (path, ""))
    other.session.openAction.trigger()  # (keys go to the active window, which is the first one here)
    assert other.controller.waitForIdle()
    assert state(other.controller) == state(c)
    assert other.windowTitle() == "class.rnnviz[*] — rnnviz" and not other.isWindowModified()
    assert S.recent_files()[0] == os.path.abspath(path)
    stored = QtCore.QSettings(str(private_settings), QtCore.QSettings.Format.IniFormat).value("files/recent")
    assert os.path.abspath(path) in ([stored] if isinstance(stored, str) else stored)  # in the private file


def test_title_follows_the_main_window_when_untitled(window):
    c = window.controller
    c.update(cell="gru")
    assert window.windowTitle() == "rnnviz — GRU[*]"
    assert window.isWindowModified()


def test_bad_file_shows_a_dialog_and_keeps_the_session(window, tmp_path):
    c = window.controller
    c.update(cell="gru", hidden_size=5)
    c.waitForIdle()
    c.setStep(7)
    before = (c.settings, c.result, c.step, window.windowTitle(), window.session.path)
    bad = tmp_path / "lesson.rnnviz"
    bad.write_text('{\n "format": "rnnviz-session",\n "version": 2\n}')
    assert S.open_in_window(window, bad) is False
    assert window.errors == [("Cannot open session",
                              f"{bad}: made by a newer rnnviz (version 2); this one reads version 1")]
    assert (c.settings, c.result, c.step, window.windowTitle(), window.session.path) == before
    assert S.recent_files() == []


def test_real_error_dialog_is_not_modal_blocking(qtbot, tmp_path):
    c = Controller()
    c.recompute()
    w = MainWindow(c)
    qtbot.addWidget(w)
    (tmp_path / "x.rnnviz").write_text("nonsense")
    assert w.session.open(str(tmp_path / "x.rnnviz")) is False
    box = w._lastError
    assert box.isVisible() and "x.rnnviz: not JSON (line 1)" in box.text()
    box.close()


def _ask(monkeypatch, answer):
    asked = []

    def ask(window, name, doing):
        asked.append((name, doing))
        return answer

    monkeypatch.setattr(S, "ask_save", ask)
    return asked


@pytest.mark.parametrize("answer", ["cancel", "discard", "save"])
def test_close_with_unsaved_changes_asks(window, tmp_path, monkeypatch, answer, qtbot):
    s = window.session
    s.confirmDiscard = True
    path = str(tmp_path / "s.rnnviz")
    assert s.saveAs(path)
    window.controller.setStep(4)
    asked = _ask(monkeypatch, answer)
    closed = window.close()
    assert asked == [("s.rnnviz", "closing")]
    assert closed is (answer != "cancel")
    assert window.isVisible() is (answer == "cancel")
    assert CS.load_session(path).step == (4 if answer == "save" else 0)


def test_close_does_not_ask_without_changes_or_for_mere_stepping(window, monkeypatch, tmp_path):
    s = window.session
    s.confirmDiscard = True
    asked = _ask(monkeypatch, "cancel")
    window.controller.setStep(9)  # untitled: stepping the demo loses nothing worth asking about
    assert window.isWindowModified() and not s.needsSaving()
    assert s.saveAs(str(tmp_path / "t.rnnviz"))
    assert window.close()
    assert asked == []


def test_untitled_network_change_asks_and_save_can_be_cancelled(window, monkeypatch):
    s = window.session
    s.confirmDiscard = True
    window.controller.update(hidden_size=3)
    asked = _ask(monkeypatch, "save")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    assert window.close() is False  # chose Save, then cancelled the file dialog
    assert asked == [("this untitled session", "closing")]


def test_opening_another_session_asks_first(window, tmp_path, monkeypatch):
    s = window.session
    s.confirmDiscard = True
    assert s.saveAs(str(tmp_path / "a.rnnviz"))
    window.controller.update(T=11)
    CS.save_session(tmp_path / "b.rnnviz", S.capture(fresh(window)))
    asked = _ask(monkeypatch, "cancel")
    assert s.open(str(tmp_path / "b.rnnviz")) is False
    assert window.controller.settings.T == 11 and s.path.endswith("a.rnnviz")
    assert asked == [("a.rnnviz", "opening another session")]


def test_save_failure_shows_a_dialog(window, tmp_path):
    target = tmp_path / "dir.rnnviz"
    target.mkdir()
    assert window.session.saveAs(str(target)) is False
    title, msg = window.errors[-1]
    assert title == "Cannot save session" and msg.startswith(f"{target}: cannot write")
    assert window.session.path is None


def test_recent_files_are_capped_and_newest_first(window, tmp_path):
    s = window.session
    for k in range(12):
        assert s.saveAs(str(tmp_path / f"f{k}.rnnviz"))
    files = S.recent_files()
    assert len(files) == S.MAX_RECENT
    assert files[0].endswith("f11.rnnviz") and files[-1].endswith("f2.rnnviz")
    assert s.open(str(tmp_path / "f5.rnnviz"))
    assert S.recent_files()[0].endswith("f5.rnnviz") and len(S.recent_files()) == S.MAX_RECENT
    s.recentMenu.aboutToShow.emit()
    assert [a.text() for a in s.recentMenu.actions()][:2] == ["f5.rnnviz", "f11.rnnviz"]


def test_dropping_a_session_file_opens_it(window, tmp_path, qtbot):
    c = fresh(window)
    c.update(cell="gru", T=9)
    c.waitForIdle()
    path = tmp_path / "drop.rnnviz"
    CS.save_session(path, S.capture(c))
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    pos = QtCore.QPointF(window.width() / 2, window.height() / 2)
    event = QtGui.QDropEvent(pos, QtCore.Qt.DropAction.CopyAction, mime, QtCore.Qt.MouseButton.NoButton,
                             QtCore.Qt.KeyboardModifier.NoModifier)
    # A synthetic drop is only delivered during a real drag, so hand it to the filter the way Qt would.
    assert window.session.eventFilter(window, event) is True
    assert window.controller.settings.cell == "gru" and window.session.path == str(path)
    weights = QtCore.QMimeData()
    weights.setUrls([QtCore.QUrl.fromLocalFile(str(tmp_path / "model.npz"))])
    other = QtGui.QDropEvent(pos, QtCore.Qt.DropAction.CopyAction, weights, QtCore.Qt.MouseButton.NoButton,
                             QtCore.Qt.KeyboardModifier.NoModifier)
    assert window.session.eventFilter(window, other) is False  # weights stay the main window's business
    assert window.errors == []


def test_show_in_window_and_apply_session_without_a_window(window, qapp, tmp_path):
    c = fresh(qapp)
    c.update(cell="rnn_relu", T=15)
    c.waitForIdle()
    c.setStep(10)
    CS.save_session(tmp_path / "r.rnnviz", S.capture(c, CS.Lesson("L", "Text.")))
    data = CS.load_session(tmp_path / "r.rnnviz")
    S.show_in_window(window, data, tmp_path / "r.rnnviz")
    assert window.controller.step == 10 and window.session.lesson.title == "L"
    assert window.windowTitle() == "r.rnnviz[*] — rnnviz"
    bare = fresh(qapp)
    S.apply_session(bare, data)
    assert bare.waitForIdle() and state(bare) == state(c)


def test_unit_survives_a_large_run_on_a_worker(qapp, qtbot, tmp_path):
    c = fresh(qapp)
    c.update(cell="lstm", hidden_size=128, T=2000)
    assert c.waitForIdle(300_000)  # hang guards: a loaded machine takes minutes, not forever
    c.setSelectedUnit(100)
    data = S.capture(c)
    other = fresh(qapp)  # H = 8: the unit would clamp to 7 until the big result arrives
    S.apply_session(other, data)
    assert other.busy  # on the worker
    qtbot.waitUntil(lambda: other.idle, timeout=300_000)
    assert other.app.service.jobs_run == 1
    assert other.selectedUnit == 100


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=10_000), junk=st.binary(max_size=20).filter(lambda b: b"}" not in b))
def test_fuzz_opening_broken_files_never_touches_the_window(window, valid_blob, tmp_path, cut, junk):
    c = window.controller
    before = (c.settings, c.result, c.step, c.revealAll, c.selectedUnit, c.speed, window.windowTitle(),
              window.session.path, window.session.lesson, window.isWindowModified())
    path = tmp_path / "broken.rnnviz"
    path.write_bytes(valid_blob[: cut % (len(valid_blob) - 1)] + junk)
    window.errors.clear()
    assert window.session.open(str(path)) is False
    assert len(window.errors) == 1 and window.errors[0][1].startswith(f"{path}: ")
    assert (c.settings, c.result, c.step, c.revealAll, c.selectedUnit, c.speed, window.windowTitle(),
            window.session.path, window.session.lesson, window.isWindowModified()) == before




def test_closing_the_lesson_panel_ends_the_lesson(window, tmp_path, monkeypatch):
    """Issue 8: a session saved after the lesson panel was closed and the cell changed reopened
    with the old lesson text over a different model."""
    s = window.session
    s.confirmDiscard = False
    s.openLesson("seed-example")
    assert s.lesson is not None and window.lessonPanel.isVisible()
    window.lessonPanel.close()
    assert s.lesson is None and not window.lessonPanel.isVisible()
    window.controller.update(cell="lstm")
    path = tmp_path / "mine.rnnviz"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    assert s.saveAs()
    assert CS.load_session(path).lesson is None


def test_explore_on_my_own_leaves_the_lesson(window):
    """Issue 8: "Explore on my own" kept the previous lesson's network and text."""
    s = window.session
    s.confirmDiscard = False
    s.openLesson("the-race")
    assert window.controller.settings.cell == "compare"
    window.startPanel.show()
    window.startPanel.dismissButton.click()
    assert not window.startPanel.isVisible()
    assert s.lesson is None and not window.lessonPanel.isVisible()
    assert window.controller.settings == M.Settings()
    window.startPanel.show()  # with no lesson, it only closes the page: your own network stays
    window.controller.update(hidden_size=5)
    window.startPanel.dismissButton.click()
    assert window.controller.settings.hidden_size == 5
