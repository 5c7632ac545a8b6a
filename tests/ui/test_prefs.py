"""Preferences: round trips in a temporary store, damaged files, and never the user's own settings."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6 import QtCore, QtWidgets

from rnnviz.ui import prefs


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(prefs.ENV_DIR, str(tmp_path))
    return tmp_path


def test_env_var_puts_the_store_in_a_given_folder(store_dir, qapp):
    prefs.set_theme_name("dark")
    assert prefs.location() == os.path.join(str(store_dir), prefs.FILE_NAME)
    assert (store_dir / prefs.FILE_NAME).exists()
    assert "dark" in (store_dir / prefs.FILE_NAME).read_text()


def test_headless_without_env_var_never_uses_the_real_store(monkeypatch, qapp):
    monkeypatch.delenv(prefs.ENV_DIR, raising=False)
    path = prefs.location()
    assert path is not None  # None would mean the platform's (the user's) store
    real = QtCore.QSettings(prefs.ORGANIZATION, prefs.APPLICATION).fileName()
    assert os.path.abspath(path) != os.path.abspath(real)
    assert prefs.store().fileName() == path


def test_defaults_when_nothing_saved(store_dir, qapp):
    assert prefs.theme_name() == "light"
    assert prefs.colour_blind() is False
    assert prefs.recent_files() == []
    assert prefs.last_dir() == os.path.expanduser("~")


def test_theme_and_colour_blind_round_trip(store_dir, qapp):
    prefs.set_theme_name("dark")
    prefs.set_colour_blind(True)
    assert prefs.theme_name() == "dark"
    assert prefs.colour_blind() is True
    prefs.set_theme_name("light")
    prefs.set_colour_blind(False)
    assert (prefs.theme_name(), prefs.colour_blind()) == ("light", False)
    with pytest.raises(ValueError):
        prefs.set_theme_name("neon")


def test_recent_files_most_recent_first_unique_and_at_most_ten(store_dir, qapp, tmp_path):
    paths = [str(tmp_path / f"lesson{k}.rnnviz") for k in range(14)]
    for p in paths:
        prefs.add_recent(p)
    got = prefs.recent_files()
    assert got == list(reversed(paths))[: prefs.MAX_RECENT]
    assert len(got) == prefs.MAX_RECENT == 10
    prefs.add_recent(paths[8])  # again: moves to the front, no duplicate
    got = prefs.recent_files()
    assert got[0] == paths[8] and got.count(paths[8]) == 1 and len(got) == 10
    prefs.remove_recent(paths[8])
    assert paths[8] not in prefs.recent_files()
    prefs.clear_recent()
    assert prefs.recent_files() == []


def test_recent_files_are_absolute(store_dir, qapp, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    prefs.add_recent("relative.npz")
    assert prefs.recent_files() == [str(tmp_path / "relative.npz")]


def test_one_recent_file_survives_a_reload(store_dir, qapp):
    # QSettings stores a one-element list as a plain string in INI files
    prefs.add_recent("/a/b.npz")
    assert prefs.recent_files() == [os.path.abspath("/a/b.npz")]


def test_last_dir_from_file_or_folder_and_gone_folders(store_dir, qapp, tmp_path):
    sub = tmp_path / "lessons"
    sub.mkdir()
    prefs.set_last_dir(str(sub / "week1.rnnviz"))
    assert prefs.last_dir() == str(sub)
    prefs.set_last_dir(str(tmp_path))
    assert prefs.last_dir() == str(tmp_path)
    gone = tmp_path / "gone"
    gone.mkdir()
    prefs.set_last_dir(str(gone))
    gone.rmdir()
    assert prefs.last_dir() == os.path.expanduser("~")


def test_window_geometry_round_trip(store_dir, qtbot):
    w = QtWidgets.QMainWindow()
    qtbot.addWidget(w)
    w.setGeometry(40, 50, 700, 450)
    w.show()
    qtbot.waitExposed(w)
    prefs.save_geometry(w)
    w2 = QtWidgets.QMainWindow()
    qtbot.addWidget(w2)
    w2.resize(300, 200)
    assert prefs.restore_geometry(w2)
    assert (w2.width(), w2.height()) == (700, 450)


def test_restore_geometry_without_saved_value(store_dir, qtbot):
    w = QtWidgets.QMainWindow()
    qtbot.addWidget(w)
    w.resize(320, 240)
    assert prefs.restore_geometry(w) is False
    assert (w.width(), w.height()) == (320, 240)


def _check_all_readers():
    assert prefs.theme_name() in ("light", "dark")
    assert isinstance(prefs.colour_blind(), bool)
    files = prefs.recent_files()
    assert isinstance(files, list) and len(files) <= prefs.MAX_RECENT
    assert all(isinstance(f, str) and f for f in files)
    assert os.path.isdir(prefs.last_dir())
    w = QtWidgets.QMainWindow()
    try:
        w.resize(321, 243)
        # nothing valid was ever saved: a damaged value must not move or resize the window
        assert prefs.restore_geometry(w) is False
        assert (w.width(), w.height()) == (321, 243)
    finally:
        w.deleteLater()


def test_damaged_values_read_as_missing(store_dir, qapp):
    (store_dir / prefs.FILE_NAME).write_text(
        "[view]\ntheme=@Variant(\\0\\0\\0\\x7f\\0\\0\\0\\x10)\ncolourBlind=perhaps\n"
        "[files]\nrecent=@ByteArray(\\xff\\xfe)\nlastDir=42\n"
        "[window]\ngeometry=not a geometry\nstate=@Invalid()\n")
    _check_all_readers()
    assert prefs.theme_name() == "light" and prefs.colour_blind() is False


def test_settings_file_that_is_a_folder(store_dir, qapp):
    (store_dir / prefs.FILE_NAME).mkdir()
    _check_all_readers()
    path = os.path.abspath("/x/y.npz")
    assert prefs.add_recent(path) == [path]  # the list it meant to store, and no exception
    assert (store_dir / prefs.FILE_NAME).is_dir()  # nothing replaced the folder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_fuzzed_settings_file_never_crashes(store_dir, qapp, data):
    (store_dir / prefs.FILE_NAME).write_bytes(data)
    _check_all_readers()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.tuples(st.sampled_from(["view/theme", "view/colourBlind", "files/recent", "files/lastDir",
                                                  "window/geometry", "window/state"]),
                                st.text(max_size=40)), max_size=8))
def test_fuzzed_values_never_crash(store_dir, qapp, lines):
    text = ""
    for key, value in lines:
        group, name = key.split("/")
        text += f"[{group}]\n{name}={value}\n"
    (store_dir / prefs.FILE_NAME).write_text(text, encoding="utf-8")
    _check_all_readers()


def test_a_window_closed_with_a_lesson_reopens_without_an_empty_lesson_dock(store_dir, qtbot):
    from rnnviz.ui.controller import Controller
    from rnnviz.ui.main_window import MainWindow

    w = MainWindow(Controller())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert w.session.openLesson("vanishing-memory") and w.lessonPanel.isVisible()
    prefs.save_geometry(w)  # as closing does: the dock's visibility goes into the window state
    w2 = MainWindow(Controller())
    qtbot.addWidget(w2)
    w2.show()
    qtbot.waitExposed(w2)
    assert w2.lessonPanel.lesson is None and not w2.lessonPanel.isVisible()
