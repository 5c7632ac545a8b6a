"""File ▸ Export ▸ Animation as MP4 and `rnnviz render --mp4`: decoded back with PyAV, frame for frame."""

import os

import av
import numpy as np
import pytest
from PySide6 import QtGui, QtWidgets

from rnnviz.io import mp4 as io_mp4
from rnnviz.ui import export as X
from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow


T = 8
WIDTH = 320


@pytest.fixture
def window(qtbot):
    c = Controller()
    c.update(cell="gru", T=T)
    c.recompute()
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    assert c.waitForIdle()
    yield w
    c.setPlaying(False)


@pytest.fixture
def save_as(monkeypatch):
    """Answer every save dialog with the next path of a list."""
    answers = []
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *_a, **_k: (answers.pop(0) if answers else "", "")))
    return answers


def _decode(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        info = {"rate": v.average_rate, "codec": v.codec_context.name, "pix_fmt": v.codec_context.pix_fmt,
                "size": (v.codec_context.width, v.codec_context.height)}
        frames = [f.reformat(format="rgb24", src_colorspace="itu709").to_ndarray().astype(np.int16)
                  for f in c.decode(v)]
    return frames, info


def _array(image: QtGui.QImage) -> np.ndarray:
    return X._to_rgb(image).astype(np.int16)


def _leftovers(folder):
    return [n for n in os.listdir(folder) if n.startswith(".")]


def test_the_export_menu_has_the_mp4_entry(window, qtbot):
    export = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File")
    export = next(a.menu() for a in export.actions() if a.text().replace("&", "") == "Export")
    labels = [a.text().replace("&", "") for a in export.actions()]
    assert labels.index("Animation as MP4…") == labels.index("Animation as GIF…") + 1
    next(a for a in export.actions() if a.text().replace("&", "") == "Animation as MP4…").trigger()
    dialog = window.exporter.dialog
    assert isinstance(dialog, X.Mp4OptionsDialog) and "MP4" in dialog.windowTitle()
    dialog.reject()


def test_frames_follow_the_steps_at_the_playing_speed(window, tmp_path):
    """Decoded back: one frame per step of the range, the rendered size (made even), and each
    frame is the panel drawn at its step (lossy, so: close to it, and closest to it)."""
    c = window.controller
    c.setStep(1)
    c.setSpeed(8.0)
    panel = window.statePanel
    path = tmp_path / "a.mp4"
    assert X.export_mp4(window, str(path), size=WIDTH, step_range=(3, 6), widget=panel)
    assert c.step == 1 and not c.revealAll  # the state is restored
    frames, info = _decode(path)
    want = []
    for step in range(3, 7):
        c.setStep(step - 1)
        want.append(_array(X.render_image(panel, width=WIDTH)))
    h, w = want[0].shape[:2]
    assert len(frames) == 4 and w == WIDTH
    assert info["size"] == io_mp4.even_size(w, h) and info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["rate"] == 8
    for k, f in enumerate(frames):
        errs = [float(np.abs(f[:h, :w] - x).mean()) for x in want]
        assert errs[k] < 4.0 and int(np.argmin(errs)) == k, (k, errs)


def test_cancelling_leaves_no_file_and_restores_the_state(window, tmp_path):
    c = window.controller
    c.setStep(5)
    c.setRevealAll(True)
    path = tmp_path / "a.mp4"
    seen = []

    def progress(done, total):
        seen.append((done, total))
        return done < 2

    assert X.export_mp4(window, str(path), size=200, progress=progress, widget=window.transport) is False
    assert not path.exists() and _leftovers(tmp_path) == []
    assert seen[-1] == (2, T)
    assert c.step == 5 and c.revealAll

    path.write_bytes(b"old video")  # a cancelled export keeps an earlier file as it was
    assert X.export_mp4(window, str(path), size=200, progress=lambda d, n: d < 1, widget=window.transport) is False
    assert path.read_bytes() == b"old video" and _leftovers(tmp_path) == []


def test_the_cancel_button(window, tmp_path):
    """Cancel in the progress dialog stops the export: no file, the status bar says so."""
    c = window.controller
    c.setStep(2)
    path = tmp_path / "a.mp4"

    def press_cancel(step):
        if step == 4 and window.exporter.progress is not None:
            window.exporter.progress.cancel()

    c.stepChanged.connect(press_cancel)
    try:
        assert window.exporter.exportMp4(str(path), attr="equationPanel", size=200) is False
    finally:
        c.stepChanged.disconnect(press_cancel)
    assert not path.exists() and _leftovers(tmp_path) == []
    assert c.step == 2
    assert "cancelled" in window.statusBar().currentMessage()
    assert not window.exporter.progress.isVisible()


def test_the_dialog(window, tmp_path, save_as, qtbot):
    c = window.controller
    c.setSpeed(2.0)
    save_as.append(str(tmp_path / "anim"))  # the extension is added
    window.exporter.askMp4()
    dialog = window.exporter.dialog
    assert (dialog.first.value(), dialog.last.value()) == (1, T)
    assert dialog.widthBox.maximum() == io_mp4.MAX_SIDE
    dialog.what.setCurrentIndex([a for a, _l, _s in X.targets()].index("fadingPanel"))
    dialog.first.setValue(2)
    dialog.last.setValue(4)
    dialog.widthBox.setValue(300)
    assert "3 frames" in dialog.info.text() and "1.5 s" in dialog.info.text()
    with qtbot.waitSignal(window.exporter.exported, timeout=20_000):
        dialog.accept()
    frames, info = _decode(tmp_path / "anim.mp4")
    assert len(frames) == 3 and info["size"][0] == 300 and info["rate"] == 2
    assert abs(info["size"][1] - round(300 * window.fadingPanel.height() / window.fadingPanel.width())) <= 2


def test_write_errors_show_one_dialog(window, tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(window, "showError", lambda title, msg: seen.append((title, msg)))
    missing = str(tmp_path / "no" / "such" / "x.mp4")
    assert not window.exporter.exportMp4(missing, step_range=(1, 2), size=200)
    assert len(seen) == 1 and seen[0][0] == "Cannot export" and seen[0][1].startswith(missing)
    assert "\n" not in seen[0][1]


# ---------------------------------------------------------------------- command line
def test_render_mp4(tmp_path, capsys):
    from rnnviz.cli import main

    out = tmp_path / "r.mp4"
    assert main(["render", "--cell", "lstm", "--length", "5", "--size", "1100x700", "--speed", "2",
                 "--mp4", str(out), "--mp4-steps", "2:4", "--mp4-width", "240"]) == 0
    frames, info = _decode(out)
    width, height = info["size"]
    assert len(frames) == 3 and width == 240 and height % 2 == 0 and info["rate"] == 2
    assert frames[0].shape == (height, 240, 3) and frames[0].std() > 5  # a picture, not a blank
    assert not capsys.readouterr().err


def test_render_mp4_refuses_bad_outputs(tmp_path, capsys):
    from rnnviz.cli import main

    def fails(argv, text):
        with pytest.raises(SystemExit) as exit_info:  # argparse's own refusals
            main(argv)
        assert exit_info.value.code == 2 and text in capsys.readouterr().err

    assert main(["render", "--mp4", str(tmp_path / "a.gif")]) == 2
    err = capsys.readouterr().err
    assert "must be an .mp4 file" in err and len(err.splitlines()) == 1
    assert main(["render", "--mp4", str(tmp_path / "no" / "a.mp4")]) == 2
    assert "does not exist" in capsys.readouterr().err
    weights = tmp_path / "w.npz"
    weights.write_bytes(b"weights")
    os.symlink(weights, tmp_path / "w.mp4")
    assert main(["render", str(weights), "--mp4", str(tmp_path / "w.mp4")]) == 2
    assert "would destroy it" in capsys.readouterr().err
    assert weights.read_bytes() == b"weights"
    (tmp_path / "same.mp4").write_bytes(b"")
    os.symlink(tmp_path / "same.mp4", tmp_path / "same.gif")
    assert main(["render", "--gif", str(tmp_path / "same.gif"), "--mp4", str(tmp_path / "same.mp4")]) == 2
    assert "--gif and --mp4 name the same file" in capsys.readouterr().err
    fails(["render", "--mp4", str(tmp_path / "b.mp4"), "--mp4-width", "0"], "between 16 and 4096")
    fails(["render", "--mp4", str(tmp_path / "b.mp4"), "--mp4-steps", "5:2"], "FIRST:LAST")
    assert not (tmp_path / "b.mp4").exists()
