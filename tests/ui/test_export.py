"""File ▸ Export: PNG and SVG pictures, CSV and NPZ traces, animated GIFs, all written atomically."""

import csv
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

from rnnviz.io import gif as io_gif
from rnnviz.ui import export as X
from rnnviz.core import model as M
from rnnviz.ui.controller import Controller
from rnnviz.ui.main_window import MainWindow

SVG = "{http://www.w3.org/2000/svg}"
PANELS = ["statePanel", "gatePanel", "fadingPanel", "equationPanel"]


@pytest.fixture
def window(qtbot):
    c = Controller()
    c.update(cell="gru")
    c.recompute()
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    qtbot.waitExposed(w)
    assert c.waitForIdle()
    yield w
    c.setPlaying(False)


@pytest.fixture(scope="module")
def _one_window(module_window_factory):
    return module_window_factory(size=(1600, 1000), cell="gru")


@pytest.fixture
def shown(_one_window):
    """The same window as ``window``, built once for the tests that only export what it shows;
    each must leave it as it found it."""
    w = _one_window
    before = (w.controller.settings, w.controller.step, w.size(), w.controller.isPlaying())
    yield w
    assert (w.controller.settings, w.controller.step, w.size(), w.controller.isPlaying()) == before


@pytest.fixture
def save_as(monkeypatch):
    """Answer every save dialog with the next path of a list."""
    answers = []

    def fake(*_args, **_kw):
        return (answers.pop(0) if answers else "", "")

    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", staticmethod(fake))
    return answers


@pytest.fixture
def errors(window, monkeypatch):
    seen = []
    monkeypatch.setattr(window, "showError", lambda title, msg: seen.append((title, msg)))
    return seen


def _leftovers(folder):
    return [n for n in os.listdir(folder) if n.startswith(".rnnviz-")]


def _not_blank(image: QtGui.QImage) -> bool:
    small = image.scaled(64, 40)
    colours = {small.pixel(x, y) for x in range(small.width()) for y in range(small.height())}
    return len(colours) > 20


def _array(image: QtGui.QImage) -> np.ndarray:
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(bytes(image.constBits()), np.uint8).reshape(h, bpl)
    return raw[:, : 3 * w].reshape(h, w, 3).astype(np.int16)


# ---------------------------------------------------------------------- menu
def test_the_export_menu_sits_above_quit(shown):
    file = next(a.menu() for a in shown.menuBar().actions() if a.text().replace("&", "") == "File")
    texts = [a.text().replace("&", "") for a in file.actions()]
    assert "Export" in texts and texts.index("Export") < texts.index("Quit")
    export = next(a.menu() for a in file.actions() if a.text().replace("&", "") == "Export")
    labels = [a.text().replace("&", "") for a in export.actions()]
    for label in ("Window as PNG…", "Window as SVG…", "Trace as CSV…", "Trace as NPZ…", "Animation as GIF…"):
        assert label in labels
    for _attr, label, _stem in X.targets()[1:]:
        sub = next(a.menu() for a in export.actions() if a.text() == label)
        assert [a.text() for a in sub.actions()] == ["as PNG…", "as SVG…"]
    assert [a.text() for a in file.actions()].count("&Export") == 1


# ---------------------------------------------------------------------- PNG
@pytest.mark.parametrize("attr", [None] + PANELS)
def test_png_of_each_panel_at_2x(shown, tmp_path, attr):
    widget = X.target_widget(shown, attr)
    path = str(tmp_path / "p.png")
    assert shown.exporter.exportPng(attr, path, scale=2)
    image = QtGui.QImage(path)
    assert not image.isNull()
    assert (image.width(), image.height()) == (2 * widget.width(), 2 * widget.height())
    assert _not_blank(image)


def test_png_resolution_choices(shown, tmp_path):
    for scale in (1, 3):
        size = X.export_png(shown.fadingPanel, str(tmp_path / f"s{scale}.png"), scale=scale)
        assert (size.width(), size.height()) == (scale * shown.fadingPanel.width(), scale * shown.fadingPanel.height())
    X.export_png(shown, str(tmp_path / "w.png"), width=1000)
    image = QtGui.QImage(str(tmp_path / "w.png"))
    assert image.width() == 1000 and image.height() == round(1000 * shown.height() / shown.width())


def test_png_at_2x_is_drawn_at_that_size_not_pixel_doubled(shown):
    a = _array(X.render_image(shown.fadingPanel, scale=2))
    h, w = (a.shape[0] // 2) * 2, (a.shape[1] // 2) * 2
    blocks = a[:h, :w].reshape(h // 2, 2, w // 2, 2, 3)
    uneven = (blocks.max(axis=(1, 3)) != blocks.min(axis=(1, 3))).any(axis=-1)
    # an enlarged 1× bitmap would have uniform 2×2 blocks everywhere; text and lines drawn at 2×
    # have edges inside blocks
    assert uneven.mean() > 0.01


def test_png_dialog_then_save_dialog(window, tmp_path, save_as, qtbot):
    save_as.append(str(tmp_path / "window"))  # no extension typed: .png is added
    window.exporter.askPng(None)
    dialog = window.exporter.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.choice.setCurrentIndex(0)  # 1×
    assert dialog.sizeLabel.text() == f"{window.width()} × {window.height()} px"
    with qtbot.waitSignal(window.exporter.exported):
        dialog.accept()
    image = QtGui.QImage(str(tmp_path / "window.png"))
    assert (image.width(), image.height()) == (window.width(), window.height())
    assert "Saved" in window.statusBar().currentMessage()


def test_png_dialog_width_choice(window, tmp_path, save_as, qtbot):
    save_as.append(str(tmp_path / "state.png"))
    window.exporter.askPng("statePanel")
    dialog = window.exporter.dialog
    dialog.choice.setCurrentIndex(dialog.choice.count() - 1)
    assert dialog.widthBox.isEnabled()
    dialog.widthBox.setValue(777)
    with qtbot.waitSignal(window.exporter.exported):
        dialog.accept()
    assert QtGui.QImage(str(tmp_path / "state.png")).width() == 777


def test_cancelled_save_dialog_writes_nothing(window, tmp_path, save_as):
    window.exporter.askSvg(None)  # the save dialog answers "" (cancel)
    window.exporter.askCsv()
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------- SVG
def _check_svg(path, widget_size, min_shapes=20):
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg"
    x, y, w, h = (float(v) for v in root.get("viewBox").split())
    assert (w, h) == widget_size
    tags = [e.tag[len(SVG):] for e in root.iter() if e.tag.startswith(SVG)]
    assert sum(t in ("path", "polyline", "polygon", "rect", "image") for t in tags) >= min_shapes
    assert tags.count("text") > 5
    assert QtSvg.QSvgRenderer(path).isValid()
    return root


@pytest.mark.parametrize("attr", [None] + PANELS)
def test_svg_of_each_panel(shown, tmp_path, attr):
    widget = X.target_widget(shown, attr)
    path = str(tmp_path / "p.svg")
    assert shown.exporter.exportSvg(attr, path)
    data = open(path, encoding="utf-8").read()
    assert data.startswith("<?xml") and "<svg" in data
    height = widget.height() - (shown.menuBar().height() if attr is None else 0)
    root = _check_svg(path, (widget.width(), height), min_shapes=1 if attr == "equationPanel" else 20)
    # portable: no viewer-dependent strokes, no Qt-only font names
    assert not [e for e in root.iter() if e.get("vector-effect") == "non-scaling-stroke"]
    assert not [e for e in root.iter() if e.get("font-family") == "Sans Serif"]


def test_svg_shows_the_window_texts(shown, tmp_path):
    path = str(tmp_path / "w.svg")
    X.export_svg(shown, path)
    texts = "".join(e.text or "" for e in ET.parse(path).getroot().iter(SVG + "text"))
    assert "GRU" in texts and "step t" in texts
    step = shown.controller.step + 1
    assert f"t = {step}" in texts


def test_svg_looks_like_the_panel(shown, tmp_path):
    """Drawn back with Qt's renderer, the SVG matches the PNG of the same panel."""
    panel = shown.fadingPanel
    path = str(tmp_path / "f.svg")
    X.export_svg(panel, path)
    renderer = QtSvg.QSvgRenderer(path)
    svg = QtGui.QImage(panel.size(), QtGui.QImage.Format.Format_RGB32)
    svg.fill(QtGui.QColor("white"))
    p = QtGui.QPainter(svg)
    renderer.render(p)
    p.end()
    png = X.render_image(panel, scale=1)
    a, b = _array(svg.scaled(panel.width() // 8, panel.height() // 8)), _array(png.scaled(panel.width() // 8, panel.height() // 8))
    assert np.abs(a - b).mean() < 10  # same picture; text is rasterised a little differently


@pytest.mark.parametrize("attr", [None, "fadingPanel", "gatePanel"])
def test_making_the_svg_portable_keeps_the_picture(shown, monkeypatch, attr):
    """At its own size Qt draws the raw and the portable SVG alike: moving strokes to device
    coordinates and renaming fonts changed nothing it can see (zoomed in, the portable strokes
    grow with the picture, as they should)."""
    widget = X.target_widget(shown, attr)
    portable = X.svg_bytes(widget)
    monkeypatch.setattr(X, "portable_svg", lambda data: data)
    raw = X.svg_bytes(widget)
    assert b"non-scaling-stroke" in raw and b"non-scaling-stroke" not in portable

    def draw(data):
        renderer = QtSvg.QSvgRenderer(QtCore.QByteArray(data))
        image = QtGui.QImage(renderer.viewBox().size(), QtGui.QImage.Format.Format_RGB32)
        image.fill(QtGui.QColor("white"))
        p = QtGui.QPainter(image)
        renderer.render(p)
        p.end()
        return _array(image)

    a, b = draw(raw), draw(portable)
    assert a.shape == b.shape
    d = np.abs(a - b).max(axis=-1)
    assert d.mean() < 0.05 and (d > 64).mean() < 1e-4


def test_portable_svg_moves_scaled_cosmetic_strokes_to_device_coordinates():
    src = """<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><g fill="none">
<g stroke="#000" stroke-width="2" transform="matrix(2,0,0,-3,10,20)" font-family="Sans Serif">
<polyline vector-effect="non-scaling-stroke" points="0,0 1,1 2,0.5" />
<path vector-effect="non-scaling-stroke" d="M0,0 L1,2 C1,1 2,2 3,1e-1 Z" />
<rect vector-effect="non-scaling-stroke" x="1" y="1" width="2" height="1" />
</g>
<g stroke="#000" transform="matrix(0,1,-1,0,5,5)"><rect vector-effect="non-scaling-stroke" x="0" y="0" width="2" height="1"/></g>
<g stroke="#000" transform="matrix(2,0,0,2,0,0)"><path vector-effect="non-scaling-stroke" d="M0,0 H5"/></g>
<g stroke="#000" transform="matrix(1,0,0,1,7,8)"><polyline vector-effect="non-scaling-stroke" points="0,0 1,1"/></g>
</g></svg>""".encode()
    root = ET.fromstring(X.portable_svg(src))
    groups = root.findall(f"{SVG}g/{SVG}g")
    scaled, rotated, unknown, moved = groups
    assert scaled.get("transform") == "matrix(1,0,0,1,0,0)"
    assert "sans-serif" in scaled.get("font-family") and "Sans Serif" not in scaled.get("font-family")
    poly, path, rect = list(scaled)
    assert poly.get("points") == "10,20 12,17 14,18.5"
    assert path.get("d") == "M 10,20 L 12,14 C 12,17 14,14 16,19.7 Z"
    assert (rect.get("x"), rect.get("y"), rect.get("width"), rect.get("height")) == ("12", "14", "4", "3")
    assert all(e.get("vector-effect") == "none" for e in scaled)
    poly = rotated[0]
    assert poly.tag == SVG + "polygon" and poly.get("points") == "5,5 5,7 4,7 4,5"
    # H/V path commands are not baked: the group keeps its transform and its stroke effect
    assert unknown.get("transform") == "matrix(2,0,0,2,0,0)"
    assert unknown[0].get("vector-effect") == "non-scaling-stroke"
    # a translation needs no baking; strokes just become ordinary
    assert moved.get("transform") == "matrix(1,0,0,1,7,8)" and moved[0].get("points") == "0,0 1,1"
    assert moved[0].get("vector-effect") == "none"


# ---------------------------------------------------------------------- CSV / NPZ (the writers: tests/io/test_trace.py)
def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_trace_menu_actions(window, tmp_path, save_as, qtbot):
    save_as.extend([str(tmp_path / "a.csv"), str(tmp_path / "b")])
    window.exporter.askCsv()
    window.exporter.askNpz()
    header, rows = _read_csv(str(tmp_path / "a.csv"))
    assert len(rows) == window.controller.settings.T and "z[0]" in header
    with np.load(str(tmp_path / "b.npz")) as z:
        np.testing.assert_array_equal(z["h"], window.controller.result.cells[0].trace.h)


# ---------------------------------------------------------------------- atomic writes
def test_failing_writers_leave_the_old_file(window, tmp_path, monkeypatch):
    result = window.controller.result
    for name in ("p.png", "t.npz", "t.csv"):
        (tmp_path / name).write_bytes(b"old")

    monkeypatch.setattr(QtGui.QImage, "save", lambda *a, **k: False)
    with pytest.raises(OSError):
        X.export_png(window.gatePanel, str(tmp_path / "p.png"))

    def broken_savez(file, **arrays):
        # a name, or the file object io.trace now passes (its temporary file may have no name)
        fh = open(file, "wb") if isinstance(file, (str, os.PathLike)) else file
        fh.write(b"PK half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError):
        X.trace_to_npz(result, str(tmp_path / "t.npz"))

    with pytest.raises(X.Cancelled):  # stops after the first block of rows
        X.trace_to_csv(M.compute(M.Settings(T=20_000, hidden_size=16)), str(tmp_path / "t.csv"),
                       progress=lambda frac: False)
    for name in ("p.png", "t.npz", "t.csv"):
        assert (tmp_path / name).read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_write_errors_show_one_dialog(window, tmp_path, errors):
    missing = str(tmp_path / "no" / "such" / "folder" / "x.png")
    assert not window.exporter.exportPng(None, missing, scale=1)
    assert not window.exporter.exportGif(missing.replace(".png", ".gif"), step_range=(1, 2), size=300)
    assert len(errors) == 2
    assert all(title == "Cannot export" and msg.startswith(os.path.dirname(missing)) for title, msg in errors)
    assert "\n" not in errors[0][1]


# ---------------------------------------------------------------------- GIF
def test_gif_has_one_frame_per_step_at_the_playing_speed(window, tmp_path):
    c = window.controller
    c.setStep(4)
    c.setSpeed(8.0)
    path = str(tmp_path / "a.gif")
    assert X.export_gif(window, path)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == c.settings.T
        assert im.size == (X.DEFAULT_GIF_WIDTH, round(X.DEFAULT_GIF_WIDTH * window.height() / window.width()))
        assert im.info["loop"] == 0
        durations = []
        for k in range(im.n_frames):
            im.seek(k)
            durations.append(im.info["duration"])
    assert set(durations) == {io_gif.gif_duration_ms(8.0)}
    assert abs(io_gif.gif_duration_ms(8.0) - 1000 / 8.0) <= 5
    assert c.step == 4 and not c.revealAll


def test_gif_frames_follow_the_steps(window, tmp_path):
    """Frame k shows step first + k: compare with the window drawn at those steps."""
    c = window.controller
    path = str(tmp_path / "a.gif")
    assert X.export_gif(window, path, size=400, step_range=(3, 7), widget=window.transport)
    with Image.open(path) as im:
        assert im.n_frames == 5
        frames = []
        for k in range(5):
            im.seek(k)
            frames.append(np.asarray(im.convert("RGB"), dtype=np.int16))
    for k, step in enumerate(range(3, 8)):
        c.setStep(step - 1)
        want = _array(X.render_image(window.transport, width=400))
        errs = [np.abs(f - want).mean() for f in frames]
        assert int(np.argmin(errs)) == k


def test_gif_default_range_is_capped(window, tmp_path, monkeypatch):
    monkeypatch.setattr(io_gif, "DEFAULT_MAX_FRAMES", 4)
    path = str(tmp_path / "a.gif")
    assert X.export_gif(window, path, size=300)
    with Image.open(path) as im:
        assert im.n_frames == 4
    assert io_gif.default_step_range(30) == (1, 4) and io_gif.default_step_range(2) == (1, 2)


def test_cancelling_a_gif_leaves_no_file_and_restores_the_state(window, tmp_path):
    c = window.controller
    c.setStep(7)
    c.setRevealAll(True)
    path = tmp_path / "a.gif"
    seen = []

    def progress(done, total):
        seen.append((done, total))
        return done < 3

    assert X.export_gif(window, str(path), size=300, progress=progress) is False
    assert not path.exists() and _leftovers(tmp_path) == []
    assert seen[-1] == (3, c.settings.T)
    assert c.step == 7 and c.revealAll

    path.write_bytes(b"old gif")  # a cancelled export keeps an earlier file as it was
    assert X.export_gif(window, str(path), size=300, progress=lambda d, n: d < 2) is False
    assert path.read_bytes() == b"old gif"


def test_gif_keeps_playing_state(window, tmp_path):
    c = window.controller
    c.setSpeed(30)
    c.setPlaying(True)
    assert X.export_gif(window, str(tmp_path / "a.gif"), size=300, step_range=(1, 3))
    assert c.isPlaying()
    c.setPlaying(False)


def test_gif_cancel_button(window, tmp_path, qtbot):
    """Cancel in the progress dialog stops the export: no file, the status bar says so."""
    c = window.controller
    c.setStep(2)
    path = tmp_path / "a.gif"

    def press_cancel(step):
        if step == 5 and window.exporter.progress is not None:
            window.exporter.progress.cancel()

    c.stepChanged.connect(press_cancel)
    try:
        assert window.exporter.exportGif(str(path), size=300) is False
    finally:
        c.stepChanged.disconnect(press_cancel)
    assert not path.exists() and _leftovers(tmp_path) == []
    assert c.step == 2
    assert "cancelled" in window.statusBar().currentMessage()
    assert not window.exporter.progress.isVisible()


def test_gif_dialog(window, tmp_path, save_as, qtbot):
    c = window.controller
    c.setSpeed(2.0)
    save_as.append(str(tmp_path / "anim.gif"))
    window.exporter.askGif()
    dialog = window.exporter.dialog
    assert (dialog.first.value(), dialog.last.value()) == (1, c.settings.T)
    dialog.what.setCurrentIndex([a for a, _l, _s in X.targets()].index("fadingPanel"))
    dialog.first.setValue(2)
    dialog.last.setValue(5)
    dialog.widthBox.setValue(500)
    assert "4 frames" in dialog.info.text() and "500 ms" in dialog.info.text()
    with qtbot.waitSignal(window.exporter.exported, timeout=20_000):
        dialog.accept()
    with Image.open(str(tmp_path / "anim.gif")) as im:
        assert im.n_frames == 4 and im.info["duration"] == 500
        assert im.width == 500
        assert abs(im.height - round(500 * window.fadingPanel.height() / window.fadingPanel.width())) <= 1


def test_headless_gif_from_a_rendered_window(qapp, tmp_path):
    """What `rnnviz render … --gif` does: build the window like render() and export."""
    c = Controller()
    c.update(cell="lstm", T=6)
    c.recompute()
    w = MainWindow(c)
    w.resize(1000, 700)
    w.show()
    try:
        assert c.waitForIdle()
        path = str(tmp_path / "r.gif")
        assert X.export_gif(w, path)
        with Image.open(path) as im:
            assert im.n_frames == 6 and im.width == min(X.DEFAULT_GIF_WIDTH, w.width())
    finally:
        w.close()
        w.deleteLater()
