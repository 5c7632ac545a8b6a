"""Pictures, data and animations out of the app: PNG, SVG, CSV, NPZ, animated GIF and MP4.

- **Pictures** of the whole window or one panel. PNG at 1×, 2×, 3× or a chosen width: the
  widget is painted through a scaled ``QPainter`` (``QWidget.render``), so text and lines are
  drawn at the final size instead of an enlarged bitmap. SVG through ``QSvgGenerator``
  (pyqtgraph's own SVG exporter fails on 0.14), then made portable, see :func:`portable_svg`.
- **Data**: :func:`~rnnviz.io.trace.trace_to_npz` and :func:`~rnnviz.io.trace.trace_to_csv`
  (in rnnviz.io, no Qt) write what the views show (inputs, h, c, gates, influence, and the
  perturbation and backward curves when computed); in Compare mode every cell's names get the
  cell key as prefix (``gru.h``, ``lstm.f[3]``).
- **Animation**: :func:`export_gif` and :func:`export_mp4` step the window through the sequence
  and write an animated GIF or an H.264 MP4 video (what presentation software plays; it copes
  badly with large GIFs) at the playing speed, one frame per step. Frames are rendered one at a
  time on the GUI thread and written to the file as they are made
  (:class:`rnnviz.io.gif.GifStream`, :class:`rnnviz.io.mp4.Mp4Stream`: memory stays flat however
  long the sequence). Cancelling (the progress dialog's button, or a progress callback returning
  False) leaves no file behind. The step, "show all steps" and playing state are restored
  afterwards. Without a step range at most :data:`DEFAULT_MAX_FRAMES` steps are used (the first
  ones); the dialog, or ``step_range``, chooses any range. The MP4 goes through PyAV, whose
  wheels ship FFmpeg's libraries (with libx264): ``pip install`` is all it needs.

Every file is written atomically (:func:`rnnviz.io.atomic.atomic_write`): a failed or
cancelled export leaves the previous file, if any, untouched.

The main window creates one :class:`Exporter` (``window.exporter``); File ▸ Export's entries are
declared in :mod:`rnnviz.ui.actions`, with one submenu per panel of :mod:`rnnviz.ui.panels` that
declares an export name (:func:`targets`).
"""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
from typing import Callable

from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

from ..io.atomic import Cancelled, atomic_write
from ..io.gif import default_step_range, gif_duration_ms, write_gif
from ..io.mp4 import MAX_SIDE as MAX_MP4_SIDE
from ..io.mp4 import frame_rate, write_mp4
from ..io.trace import trace_to_csv, trace_to_npz
from .caching import uncached

PNG_SCALES = (1, 2, 3)
#: Largest width or height of an exported picture or GIF frame, in pixels.
MAX_PIXELS = 10_000
#: GIF frames are this wide unless asked otherwise (or the window, if it is narrower).
DEFAULT_GIF_WIDTH = 1200
#: MP4 frames are this wide unless asked otherwise (or the window, if it is narrower): full HD.
DEFAULT_MP4_WIDTH = 1920


def targets() -> list[tuple[str | None, str, str]]:
    """What can be exported as a picture: (panel id, label, file-name stem); the id None is the
    whole window, then every registered panel that declares an export name."""
    from .panels import exportable_panels

    return [(None, "Window", "window")] + [(s.id, s.title, s.export) for s in exportable_panels()]


def target_widget(window, panel_id: str | None) -> QtWidgets.QWidget:
    """The window itself (``None``) or its registered panel ``panel_id`` (a tabbed panel is
    brought to the front first, so it has its size and is up to date)."""
    if panel_id is None:
        return window
    window.showPanel(panel_id)
    return window.panels[panel_id]


def scaled_size(widget: QtWidgets.QWidget, scale: float | None = None, width: int | None = None) -> QtCore.QSize:
    """Pixel size of a picture of ``widget`` at ``scale`` (or ``width`` pixels wide)."""
    w, h = max(1, widget.width()), max(1, widget.height())
    if width is not None:
        scale = width / w
    scale = float(scale or 1.0)
    return QtCore.QSize(max(1, round(w * scale)), max(1, round(h * scale)))


def render_image(widget: QtWidgets.QWidget, scale: float | None = None, width: int | None = None) -> QtGui.QImage:
    """Paint ``widget`` into a new image at ``scale`` (or ``width`` pixels wide), sharp."""
    _settle(widget)
    size = scaled_size(widget, scale, width)
    if max(size.width(), size.height()) > MAX_PIXELS:
        raise ValueError(f"{size.width()} × {size.height()} px is larger than {MAX_PIXELS} px a side")
    image = QtGui.QImage(size, QtGui.QImage.Format.Format_RGB32)
    if image.isNull():
        raise MemoryError(f"not enough memory for a {size.width()} × {size.height()} px picture")
    image.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(image)
    try:
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing)
        painter.scale(size.width() / max(1, widget.width()), size.height() / max(1, widget.height()))
        with uncached(widget):  # text drawn at the picture's scale, not a cached bitmap
            widget.render(painter, QtCore.QPoint())
    finally:
        painter.end()
    return image


def export_png(widget: QtWidgets.QWidget, path: str, scale: float | None = None, width: int | None = None) -> QtCore.QSize:
    """Write ``widget`` to ``path`` as PNG; returns the pixel size. Raises OSError/ValueError."""
    image = render_image(widget, scale, width)

    def write(tmp: str) -> None:
        if not image.save(tmp, "PNG"):
            raise OSError(f"Qt could not write {path}")

    atomic_write(path, write, suffix=".png")
    return image.size()


def svg_bytes(widget: QtWidgets.QWidget, title: str = "rnnviz", description: str = "") -> bytes:
    """``widget`` as a portable SVG document (see :func:`portable_svg`).

    A main window is drawn without its menu bar: SVG Tiny has no clipping, and the menu bar
    paints its background over its own labels when nothing clips it.
    """
    _settle(widget)
    top = 0
    region = _unclipped_region(widget)
    if isinstance(widget, QtWidgets.QMainWindow) and widget.menuBar().isVisible():
        top = widget.menuBar().geometry().bottom() + 1
        region -= QtGui.QRegion(widget.menuBar().geometry())
    size = QtCore.QSize(max(1, widget.width()), max(1, widget.height() - top))
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    gen = QtSvg.QSvgGenerator()  # SVG Tiny 1.2: its 1.1 mode writes clip paths in the wrong coordinates
    gen.setOutputDevice(buffer)
    gen.setResolution(widget.logicalDpiX())  # font sizes in the same pixels as the geometry
    gen.setSize(size)
    gen.setViewBox(QtCore.QRect(QtCore.QPoint(0, 0), size))
    gen.setTitle(title)
    gen.setDescription(description)
    # render() puts the top-left of the region's bounding box at the target offset
    corner = region.boundingRect().topLeft()
    painter = QtGui.QPainter(gen)
    try:
        with uncached(widget):  # vector text and lines, not cached bitmaps
            widget.render(painter, QtCore.QPoint(corner.x(), corner.y() - top), region)
    finally:
        painter.end()
    return portable_svg(bytes(buffer.data()))


def export_svg(widget: QtWidgets.QWidget, path: str, title: str = "rnnviz", description: str = "") -> None:
    data = svg_bytes(widget, title, description)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    atomic_write(path, write, suffix=".svg")


def _unclipped_region(widget: QtWidgets.QWidget) -> QtGui.QRegion:
    """``widget``'s rectangle less the childless widgets that their parents cut off (a control
    half scrolled out of view): SVG Tiny cannot clip, so they would spill over their neighbours."""
    region = QtGui.QRegion(widget.rect())
    for child in widget.findChildren(QtWidgets.QWidget):
        if not child.isVisibleTo(widget) or child.isWindow():
            continue
        if any(c.isWidgetType() and c.isVisibleTo(widget) and not c.isWindow() for c in child.children()):
            continue
        rect = QtCore.QRect(child.mapTo(widget, QtCore.QPoint(0, 0)), child.size())
        shown = QtCore.QRect(rect)
        p = child.parentWidget()
        while p is not None and p is not widget:
            shown &= QtCore.QRect(p.mapTo(widget, QtCore.QPoint(0, 0)), p.size())
            p = p.parentWidget()
        if shown != rect:
            region -= QtGui.QRegion(rect)
    return region


SVG_NS = "http://www.w3.org/2000/svg"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def portable_svg(data: bytes) -> bytes:
    """Make Qt's SVG look the same in every viewer, not just in Qt's own renderer.

    - pyqtgraph draws with cosmetic pens, which Qt writes as ``vector-effect="non-scaling-stroke"``
      inside scaled groups; many renderers (librsvg, resvg, office suites) ignore that and
      draw the plot lines hundreds of pixels thick. The group's transform is applied to the
      coordinates instead, and strokes then scale with the picture like the text does.
    - Qt names fonts by its own aliases ("Sans Serif"), which no viewer knows; they become the
      font Qt really used, then a CSS generic family.
    """
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(data)
    families: dict[str, str] = {}
    for elem in root.iter():
        family = elem.get("font-family")
        if family is not None:
            if family not in families:
                families[family] = _css_family(family)
            elem.set("font-family", families[family])

    for parent in root.iter():  # Qt writes an empty <path d=""/> for an empty curve; viewers complain
        for child in [ch for ch in parent if ch.tag == f"{{{SVG_NS}}}path" and not ch.get("d", "").strip()]:
            parent.remove(child)

    def visit(elem, m) -> None:
        # Qt writes one flat level of <g transform=…> groups; deeper transforms are left alone.
        for child in elem:
            if child.tag != f"{{{SVG_NS}}}g":
                continue
            cm = _matrix(child.get("transform")) if child.get("transform") else (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
            if m is None or m[:4] != (1.0, 0.0, 0.0, 1.0) or cm is None:
                continue  # nested under a scaled group, or a transform we do not read
            _fix_strokes(child, cm)
            if cm[:4] == (1.0, 0.0, 0.0, 1.0):
                visit(child, cm)

    visit(root, (1.0, 0.0, 0.0, 1.0, 0.0, 0.0))
    out = io.BytesIO()
    ET.ElementTree(root).write(out, encoding="UTF-8", xml_declaration=True)
    return out.getvalue()


def _fix_strokes(group, m) -> None:
    """Replace non-scaling strokes in ``group`` (transform ``m``) by ordinary ones."""
    kids = [ch for ch in group if ch.get("vector-effect") == "non-scaling-stroke"]
    if not kids:
        return
    if m[:4] == (1.0, 0.0, 0.0, 1.0):  # a translation: device pixels are user units already
        for ch in kids:
            ch.set("vector-effect", "none")
        return
    # A scaled group: its pixels-wide strokes only come out right in device coordinates, so
    # move every child there, if every child is a shape this can move (else leave as is).
    if len(kids) != len(group) or not all(_bake(ch, m, dry=True) for ch in kids):
        return
    for ch in kids:
        _bake(ch, m)
        ch.set("vector-effect", "none")
    group.set("transform", "matrix(1,0,0,1,0,0)")


def _matrix(text: str | None):
    if not text:
        return None
    m = re.fullmatch(r"\s*matrix\(([^)]*)\)\s*", text)
    if not m:
        return None
    values = [float(v) for v in re.findall(_NUMBER, m.group(1))]
    return tuple(values) if len(values) == 6 else None


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _bake(elem, m, dry: bool = False) -> bool:
    """Apply the affine ``m`` to ``elem``'s coordinates in place; False if it cannot.

    With ``dry`` only say whether it could. Handles what QSvgGenerator writes for shapes:
    polyline/polygon points, path data in absolute M L C Q Z, and rectangles.
    """
    a, b, c, d, e, f = m
    tag = elem.tag.rsplit("}", 1)[-1]
    if dry:
        if tag in ("polyline", "polygon"):
            return len(re.findall(_NUMBER, elem.get("points", ""))) % 2 == 0
        if tag == "path":
            letters = re.findall(r"[A-Za-z]", re.sub(_NUMBER, " ", elem.get("d", "")))
            return set(letters) <= set("MLCQZ")
        return tag == "rect" and not (elem.get("rx") or elem.get("ry"))

    def pt(x, y):
        return a * x + c * y + e, b * x + d * y + f

    if tag in ("polyline", "polygon"):
        nums = [float(v) for v in re.findall(_NUMBER, elem.get("points", ""))]
        if len(nums) % 2:
            return False
        pts = [pt(nums[i], nums[i + 1]) for i in range(0, len(nums), 2)]
        elem.set("points", " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in pts))
    elif tag == "path":
        tokens = re.findall(_NUMBER + r"|[A-Za-z]", elem.get("d", ""))
        out, nums = [], []
        for tok in tokens:
            if tok.isalpha():
                if tok not in "MLCQZ":  # relative or H/V commands: Qt writes none, but be safe
                    return False
                if nums:
                    return False
                out.append(tok)
            else:
                nums.append(float(tok))
                if len(nums) == 2:
                    x, y = pt(*nums)
                    out.append(f"{_fmt(x)},{_fmt(y)}")
                    nums = []
        if nums:
            return False
        elem.set("d", " ".join(out))
    elif tag == "rect":
        x, y = float(elem.get("x", 0)), float(elem.get("y", 0))
        w, h = float(elem.get("width", 0)), float(elem.get("height", 0))
        if elem.get("rx") or elem.get("ry"):
            return False
        if b == 0 and c == 0:
            x0, y0 = pt(x, y)
            x1, y1 = pt(x + w, y + h)
            for k, v in (("x", min(x0, x1)), ("y", min(y0, y1)), ("width", abs(x1 - x0)), ("height", abs(y1 - y0))):
                elem.set(k, _fmt(v))
        else:
            corners = [pt(x, y), pt(x + w, y), pt(x + w, y + h), pt(x, y + h)]
            elem.tag = f"{{{SVG_NS}}}polygon"
            for k in ("x", "y", "width", "height"):
                elem.attrib.pop(k, None)
            elem.set("points", " ".join(f"{_fmt(px)},{_fmt(py)}" for px, py in corners))
    else:
        return False
    return True


def _css_family(family: str) -> str:
    info = QtGui.QFontInfo(QtGui.QFont(family))
    real = info.family() or family
    low = real.lower()
    if info.fixedPitch():
        generic = "monospace"
    elif "serif" in low and "sans" not in low:
        generic = "serif"
    else:
        generic = "sans-serif"
    return f"'{real}', {generic}" if real.lower() != generic else generic


def _settle(widget: QtWidgets.QWidget) -> None:
    """Bring every panel up to date before painting: queued layout and throttled redraws."""
    app = QtWidgets.QApplication.instance()
    if app is not None:
        app.processEvents()
    from .main_window import MainWindow

    window = widget.window()
    if isinstance(window, MainWindow):
        for panel in window.panels.values():
            panel.settle()  # e.g. the equations' throttled re-render of the current step


# ---------------------------------------------------------------------- animation
def export_gif(window, path: str, size: int | None = None, progress=None, step_range: tuple[int, int] | None = None,
               widget: QtWidgets.QWidget | None = None, reveal_all: bool = False) -> bool:
    """Write the stepping animation of ``window`` (or of one of its panels) as an animated GIF.

    Parameters
    ----------
    size : frame width in pixels (default the window's width, at most DEFAULT_GIF_WIDTH)
    progress : a QProgressDialog (its Cancel button stops the export), or a callable
        ``progress(done, total)`` that returns False to stop; None for no reporting
    step_range : 1-based inclusive (first, last) steps; default the first DEFAULT_MAX_FRAMES
    widget : what to draw (default the whole window)
    reveal_all : show every step while the cursor moves (default: reveal step by step)

    Returns True when the file was written, False when cancelled (``path`` untouched).
    Raises OSError when the file cannot be written. One frame per step, each shown for
    1000 / controller.speed ms (rounded to the GIF's 10 ms). Restores the step, the "show all
    steps" switch and playing afterwards.
    """
    duration = gif_duration_ms(window.controller.speed)
    return _animate(window, lambda frame, steps, report: write_gif(path, frame, steps, duration, report),
                    _to_pil, size, DEFAULT_GIF_WIDTH, MAX_PIXELS, progress, step_range, widget, reveal_all)


def export_mp4(window, path: str, size: int | None = None, progress=None, step_range: tuple[int, int] | None = None,
               widget: QtWidgets.QWidget | None = None, reveal_all: bool = False) -> bool:
    """Write the stepping animation of ``window`` (or of one of its panels) as an H.264 MP4.

    The parameters are :func:`export_gif`'s; ``size`` defaults to the window's width, at most
    DEFAULT_MP4_WIDTH, and no side exceeds :data:`rnnviz.io.mp4.MAX_SIDE`. One frame per step
    at controller.speed frames per second. Returns True when the file was written, False when
    cancelled (``path`` untouched); raises OSError when it cannot be written.
    """
    fps = frame_rate(window.controller.speed)
    return _animate(window, lambda frame, steps, report: write_mp4(path, frame, steps, fps, report),
                    _to_rgb, size, DEFAULT_MP4_WIDTH, MAX_MP4_SIDE, progress, step_range, widget, reveal_all)


def _animate(window, write, convert, size, default_width: int, max_side: int, progress, step_range, widget,
             reveal_all: bool) -> bool:
    """Step ``window`` through ``step_range`` and hand ``write(frame, steps, report)`` a function
    that renders one step as ``convert(QImage)``; restores the step, "show all" and playing."""
    controller = window.controller
    controller.waitForIdle()
    target = widget if widget is not None else window
    T = controller.settings.T
    first, last = step_range if step_range is not None else default_step_range(T)
    first, last = int(min(max(first, 1), T)), int(min(max(last, 1), T))
    if last < first:
        first, last = last, first
    width = int(size) if size else min(default_width, target.width())
    # neither side beyond max_side (a tall panel's height too)
    widest = max(16, int(max_side * max(1, target.width()) / max(1, target.height())))
    width = int(min(max(width, 16), max_side, widest))
    steps = list(range(first - 1, last))

    report = _progress_reporter(progress, len(steps))
    saved = (controller.step, controller.revealAll, controller.isPlaying())
    controller.setPlaying(False)
    controller.setRevealAll(reveal_all)

    def frame(t: int):
        controller.setStep(t)
        return convert(render_image(target, width=width))

    try:
        return write(frame, steps, report)
    finally:
        step, reveal, playing = saved
        controller.setRevealAll(reveal)
        controller.setStep(step)
        if playing:
            controller.setPlaying(True)
        _finish_progress(progress)


def _progress_reporter(progress, total: int):
    """A function (done) -> False-to-cancel over either a QProgressDialog or a callable."""
    app = QtWidgets.QApplication.instance()
    if progress is None:
        return lambda done: True
    if isinstance(progress, QtWidgets.QProgressDialog):
        progress.setRange(0, total)

        def report(done):
            progress.setValue(done)
            app.processEvents()  # paints the dialog and delivers a click on Cancel
            return not progress.wasCanceled()

        return report

    def report(done):
        app.processEvents()
        return progress(done, total)

    return report


def _finish_progress(progress) -> None:
    if isinstance(progress, QtWidgets.QProgressDialog):
        progress.reset()
        progress.close()


def _to_pil(image: QtGui.QImage):
    from PIL import Image

    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    return Image.frombuffer("RGB", (w, h), bytes(image.constBits()), "raw", "RGB", bpl, 1).copy()


def _to_rgb(image: QtGui.QImage):
    """``image`` as an (H, W, 3) uint8 RGB array (read-only, over a copy of its pixels)."""
    import numpy as np

    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    rows = np.frombuffer(bytes(image.constBits()), np.uint8, count=h * bpl).reshape(h, bpl)
    return rows[:, : 3 * w].reshape(h, w, 3)


# ---------------------------------------------------------------------- dialogs
class ImageOptionsDialog(QtWidgets.QDialog):
    """Resolution of a PNG: 1×, 2×, 3× the size on screen, or a width in pixels."""

    def __init__(self, widget: QtWidgets.QWidget, what: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Export {what} as PNG")
        self._widget = widget
        self.choice = QtWidgets.QComboBox()
        for s in PNG_SCALES:
            size = scaled_size(widget, s)
            self.choice.addItem(f"{s}×  ({size.width()} × {size.height()} px)", s)
        self.choice.addItem("Width in pixels:", None)
        self.choice.setCurrentIndex(1)  # 2×: sharp on a projector and in print
        self.widthBox = QtWidgets.QSpinBox()
        self.widthBox.setRange(16, MAX_PIXELS)
        self.widthBox.setSuffix(" px")
        self.widthBox.setValue(min(MAX_PIXELS, max(16, widget.width() * 2)))
        self.widthBox.setEnabled(False)
        self.sizeLabel = QtWidgets.QLabel()
        form = QtWidgets.QFormLayout()
        form.addRow("Resolution:", self.choice)
        form.addRow("Width:", self.widthBox)
        form.addRow("Picture:", self.sizeLabel)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Save…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.choice.currentIndexChanged.connect(self._sync)
        self.widthBox.valueChanged.connect(self._sync)
        self._sync()

    def options(self) -> dict:
        s = self.choice.currentData()
        return {"scale": s} if s is not None else {"width": self.widthBox.value()}

    def _sync(self, *_):
        self.widthBox.setEnabled(self.choice.currentData() is None)
        size = scaled_size(self._widget, **self.options())
        self.sizeLabel.setText(f"{size.width()} × {size.height()} px")


class AnimationOptionsDialog(QtWidgets.QDialog):
    """What to animate, which steps, how wide; the speed is the playing speed."""

    #: the file kind in the title, and its default and largest frame width
    kind, default_width, max_width = "GIF", DEFAULT_GIF_WIDTH, MAX_PIXELS

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Export animation as {self.kind}")
        self.setMinimumWidth(460)
        c = window.controller
        T = c.settings.T
        self.what = QtWidgets.QComboBox()
        for attr, label, _stem in targets():
            self.what.addItem(label, attr)
        self.first = QtWidgets.QSpinBox()
        self.last = QtWidgets.QSpinBox()
        for box in (self.first, self.last):
            box.setRange(1, T)
        lo, hi = default_step_range(T)
        self.first.setValue(lo)
        self.last.setValue(hi)
        steps = QtWidgets.QHBoxLayout()
        steps.addWidget(self.first)
        steps.addWidget(QtWidgets.QLabel("to"))
        steps.addWidget(self.last)
        self.widthBox = QtWidgets.QSpinBox()
        self.widthBox.setRange(200, self.max_width)
        self.widthBox.setSingleStep(100)
        self.widthBox.setSuffix(" px")
        self.widthBox.setValue(min(self.default_width, window.width()))
        self.revealAll = QtWidgets.QCheckBox("Show all steps (only the cursor moves)")
        self.info = QtWidgets.QLabel()
        self.info.setWordWrap(True)
        form = QtWidgets.QFormLayout()
        form.addRow("Picture:", self.what)
        form.addRow("Steps:", steps)
        form.addRow("Width:", self.widthBox)
        form.addRow("", self.revealAll)
        form.addRow("", self.info)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Save…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self._speed = c.speed
        for box in (self.first, self.last):
            box.valueChanged.connect(self._sync)
        self._sync()

    def options(self) -> dict:
        lo, hi = sorted((self.first.value(), self.last.value()))
        return {"attr": self.what.currentData(), "step_range": (lo, hi), "size": self.widthBox.value(),
                "reveal_all": self.revealAll.isChecked()}

    def _sync(self, *_):
        lo, hi = sorted((self.first.value(), self.last.value()))
        n = hi - lo + 1
        ms = gif_duration_ms(self._speed)
        self.info.setText(f"{n} frame{'s' if n != 1 else ''} at {self._speed:g} steps/s "
                          f"({ms} ms each): {n * ms / 1000:.1f} s. Change the speed with + and − "
                          "before exporting; long animations make large files.")


class GifOptionsDialog(AnimationOptionsDialog):
    pass


class Mp4OptionsDialog(AnimationOptionsDialog):
    kind, default_width, max_width = "MP4", DEFAULT_MP4_WIDTH, MAX_MP4_SIDE

    def _sync(self, *_):
        lo, hi = sorted((self.first.value(), self.last.value()))
        n = hi - lo + 1
        self.info.setText(f"{n} frame{'s' if n != 1 else ''} at {self._speed:g} steps/s: "
                          f"{n / self._speed:.1f} s of H.264 video. Change the speed with + and − "
                          "before exporting.")


# ---------------------------------------------------------------------- menus
class Exporter(QtCore.QObject):
    """What File ▸ Export does for one main window (its menu entries are declared in
    :mod:`rnnviz.ui.actions`, one submenu per registered panel)."""

    #: emitted with the path after every successful export
    exported = QtCore.Signal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.folder = ""
        self.dialog: QtWidgets.QDialog | None = None  # the options dialog that is open, if any
        self.progress: QtWidgets.QProgressDialog | None = None

    # -- the user-facing steps: options dialog → file dialog → write
    def askPng(self, attr: str | None) -> None:
        widget, label, stem = self._target(attr)
        dialog = ImageOptionsDialog(widget, label.lower(), self.window)
        dialog.accepted.connect(lambda: self._pngChosen(attr, dialog.options()))
        self._openDialog(dialog)

    def _pngChosen(self, attr, options) -> None:
        _widget, _label, stem = self._target(attr)
        path = self._savePath("Export PNG", self._defaultName(stem, ".png"), "PNG pictures (*.png)", ".png")
        if path:
            self.exportPng(attr, path, **options)

    def askSvg(self, attr: str | None) -> None:
        _widget, _label, stem = self._target(attr)
        path = self._savePath("Export SVG", self._defaultName(stem, ".svg"), "SVG drawings (*.svg)", ".svg")
        if path:
            self.exportSvg(attr, path)

    def askCsv(self) -> None:
        path = self._savePath("Export trace as CSV", self._defaultName("trace", ".csv", step=False),
                              "CSV tables (*.csv)", ".csv")
        if path:
            self.exportCsv(path)

    def askNpz(self) -> None:
        path = self._savePath("Export trace as NPZ", self._defaultName("trace", ".npz", step=False),
                              "NumPy archives (*.npz)", ".npz")
        if path:
            self.exportNpz(path)

    def askGif(self) -> None:
        dialog = GifOptionsDialog(self.window, self.window)
        dialog.accepted.connect(lambda: self._gifChosen(dialog.options()))
        self._openDialog(dialog)

    def _gifChosen(self, options) -> None:
        path = self._savePath("Export animation", self._defaultName("animation", ".gif", step=False),
                              "Animated GIF (*.gif)", ".gif")
        if path:
            self.exportGif(path, **options)

    def askMp4(self) -> None:
        dialog = Mp4OptionsDialog(self.window, self.window)
        dialog.accepted.connect(lambda: self._mp4Chosen(dialog.options()))
        self._openDialog(dialog)

    def _mp4Chosen(self, options) -> None:
        path = self._savePath("Export animation as video", self._defaultName("animation", ".mp4", step=False),
                              "MP4 video (*.mp4)", ".mp4")
        if path:
            self.exportMp4(path, **options)

    # -- the writes (callable directly, e.g. from tests); errors become a dialog
    def exportPng(self, attr: str | None, path: str, scale: float | None = None, width: int | None = None) -> bool:
        widget = self._target(attr)[0]
        return self._guard(path, lambda: export_png(widget, path, scale=scale, width=width))

    def exportSvg(self, attr: str | None, path: str) -> bool:
        widget, label, _stem = self._target(attr)
        c = self.window.controller
        desc = f"rnnviz — {label}, step t = {c.step + 1} of {c.settings.T}"
        return self._guard(path, lambda: export_svg(widget, path, title=f"rnnviz — {label}", description=desc))

    def exportNpz(self, path: str) -> bool:
        c = self.window.controller
        c.waitForIdle()  # the perturbation and backward curves may still be computing
        return self._guard(path, lambda: trace_to_npz(c.result, path))

    def exportCsv(self, path: str) -> bool:
        c = self.window.controller
        c.waitForIdle()
        dialog = self._progressDialog("Writing the CSV table…")
        app = QtWidgets.QApplication.instance()
        dialog.setRange(0, 1000)

        def progress(frac: float) -> bool:
            dialog.setValue(int(frac * 1000))
            app.processEvents()
            return not dialog.wasCanceled()

        try:
            return self._guard(path, lambda: trace_to_csv(c.result, path, progress=progress), busy_cursor=False)
        finally:
            _finish_progress(dialog)

    def exportGif(self, path: str, attr: str | None = None, step_range=None, size=None, reveal_all: bool = False) -> bool:
        widget = self._target(attr)[0]
        dialog = self._progressDialog("Rendering the animation…")
        return self._guard(path, lambda: export_gif(self.window, path, size=size, progress=dialog,
                                                    step_range=step_range, widget=widget, reveal_all=reveal_all),
                           busy_cursor=False)

    def exportMp4(self, path: str, attr: str | None = None, step_range=None, size=None, reveal_all: bool = False) -> bool:
        widget = self._target(attr)[0]
        dialog = self._progressDialog("Rendering the video…")
        return self._guard(path, lambda: export_mp4(self.window, path, size=size, progress=dialog,
                                                    step_range=step_range, widget=widget, reveal_all=reveal_all),
                           busy_cursor=False)

    # -- helpers
    def _target(self, attr):
        for a, label, stem in targets():
            if a == attr:
                return target_widget(self.window, a), label, stem
        raise KeyError(attr)

    def _openDialog(self, dialog: QtWidgets.QDialog) -> None:
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        dialog.open()

    def _progressDialog(self, text: str) -> QtWidgets.QProgressDialog:
        dialog = QtWidgets.QProgressDialog(text, "Cancel", 0, 0, self.window)
        dialog.setWindowTitle("Exporting")
        dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(400)
        self.progress = dialog
        return dialog

    def _defaultName(self, stem: str, ext: str, step: bool = True) -> str:
        c = self.window.controller
        name = f"rnnviz-{stem}" + (f"-t{c.step + 1}" if step else "") + ext
        return os.path.join(self.folder, name) if self.folder else name

    def _savePath(self, title: str, default: str, filters: str, ext: str) -> str:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, title, default, filters)
        if not path:
            return ""
        if not path.lower().endswith(ext):
            path += ext
        return path

    def _guard(self, path: str, job: Callable[[], object], busy_cursor: bool = True) -> bool:
        """Run one export; report failures in a dialog. True when the file was written.

        Long jobs show a progress dialog with a Cancel button instead of the busy cursor.
        """
        if busy_cursor:
            QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            ok = job()
        except Cancelled:
            ok = False
        except (OSError, ValueError, MemoryError) as err:
            reason = getattr(err, "strerror", None) or str(err)
            self.window.showError("Cannot export", f"{path}: {reason}")
            return False
        finally:
            if busy_cursor:
                QtWidgets.QApplication.restoreOverrideCursor()
        if ok is False:
            self.window.statusBar().showMessage("Export cancelled", 4000)
            return False
        self.folder = os.path.dirname(os.path.abspath(path))
        self.window.statusBar().showMessage(f"Saved {path}", 6000)
        self.exported.emit(path)
        return True


__all__ = [
    "Cancelled", "Exporter", "export_gif", "export_mp4", "export_png", "export_svg", "portable_svg", "render_image",
    "svg_bytes", "target_widget", "targets", "trace_to_csv", "trace_to_npz",
]
