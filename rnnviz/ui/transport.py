"""The transport bar under the views: step through the sequence like a video.

The main window owns the keyboard shortcuts (Space, ←, →, Home, End, +, −, A); this bar only
names them in its tooltips. Its buttons take no keyboard focus, so after a click Space still
plays and pauses instead of pressing the last button again.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from . import theme
from .controller import SPEED_RANGE
from .panels import Panel

ICON_PX = 30
#: The scrubber's least width: it stretches, and the whole bar must fit a 1024-pixel projector.
SCRUBBER_MIN = 80


def transport_icon(kind: str, size: int = ICON_PX, colour: str = theme.LIGHT.foreground) -> QtGui.QIcon:
    """Media symbols drawn as shapes, so they look the same with any font: start, back,
    play, pause, forward, end."""
    dpr = 2.0
    pm = QtGui.QPixmap(int(size * dpr), int(size * dpr))
    pm.setDevicePixelRatio(dpr)
    pm.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(pm)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(QtGui.QColor(colour))
    s = float(size)
    m = s * 0.18  # margin
    top, bottom, mid = m, s - m, s / 2
    bar = s * 0.12

    def tri(x0, x1):  # pointing from x0 to x1
        p.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(x0, top), QtCore.QPointF(x1, mid),
                                       QtCore.QPointF(x0, bottom)]))

    def rect(x, w):
        p.drawRect(QtCore.QRectF(x, top, w, bottom - top))

    if kind == "play":
        tri(s * 0.28, s * 0.80)
    elif kind == "pause":
        rect(s * 0.27, s * 0.16)
        rect(s * 0.57, s * 0.16)
    elif kind == "forward":  # |▶ one step
        rect(s * 0.24, bar)
        tri(s * 0.42, s * 0.80)
    elif kind == "back":  # ◀| one step
        tri(s * 0.58, s * 0.20)
        rect(s * 0.76 - bar, bar)
    elif kind == "end":  # ▶▶| to the last step
        tri(s * 0.14, s * 0.46)
        tri(s * 0.42, s * 0.74)
        rect(s * 0.74, bar)
    elif kind == "start":  # |◀◀ to the first step
        rect(s * 0.26 - bar, bar)
        tri(s * 0.58, s * 0.26)
        tri(s * 0.86, s * 0.54)
    else:
        raise ValueError(f"unknown icon {kind!r}")
    p.end()
    return QtGui.QIcon(pm)


class SpeedBox(QtWidgets.QDoubleSpinBox):
    """Steps per second; the arrows jump between the controller's preset speeds."""

    stepRequested = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setRange(*SPEED_RANGE)
        self.setDecimals(1)
        self.setSuffix(" steps/s")
        self.setKeyboardTracking(False)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)

    def stepBy(self, steps: int) -> None:
        self.stepRequested.emit(1 if steps > 0 else -1)

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        text = text.replace(self.suffix(), "").replace(",", ".").strip()
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        body = text.replace(self.suffix(), "").strip()
        if body == "" or body == ".":
            return QtGui.QValidator.State.Intermediate, text, pos
        try:
            float(body.replace(",", "."))
        except ValueError:
            return QtGui.QValidator.State.Invalid, text, pos
        return QtGui.QValidator.State.Acceptable, text, pos


class TransportBar(Panel, QtWidgets.QWidget):
    """⏮ ◀ ▶/⏸ ▶ ⏭, speed, scrubber, "All steps", a busy bar and the step readout.

    Accessors used by tests: ``startButton``, ``backButton``, ``playButton``,
    ``forwardButton``, ``endButton``, ``speedBox``, ``scrubber``, ``stepLabel``,
    ``allStepsButton``, ``busyBar``.
    """

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self._controller = controller
        t = self.look
        self.setFont(t.font())
        c = controller

        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(4)

        def button(kind, tip, slot):
            b = QtWidgets.QToolButton()
            b.setIcon(transport_icon(kind))
            b.setIconSize(QtCore.QSize(ICON_PX, ICON_PX))
            b.setMinimumSize(ICON_PX + 12, ICON_PX + 14)  # as setTheme sizes them
            b.setToolTip(tip)
            b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            b.setAutoRepeat(kind in ("back", "forward"))  # hold to keep stepping
            b.setAutoRepeatDelay(400)
            b.setAutoRepeatInterval(80)
            b.clicked.connect(slot)
            lay.addWidget(b)
            return b

        self.startButton = button("start", "Jump to the first step t = 1  (Home)", lambda: self._controller.toStart())
        self.backButton = button("back", "One step back  (←)", lambda: self._controller.stepBack())
        self.playButton = button("play", "Play  (Space)", lambda: self._controller.togglePlaying())
        self.playButton.setMinimumSize(ICON_PX + 24, ICON_PX + 18)
        self.playButton.setIconSize(QtCore.QSize(ICON_PX + 6, ICON_PX + 6))
        self.playButton.setStyleSheet(
            f"QToolButton {{ background: {t.cursor}; border: 1px solid #8A5A00; border-radius: 6px; }}"
            " QToolButton:hover { background: #F2B535; } QToolButton:pressed { background: #C98A00; }")
        self.forwardButton = button("forward", "One step forward  (→)", lambda: self._controller.stepForward())
        self.endButton = button("end", "Jump to the last step t = T  (End)", lambda: self._controller.toEnd())

        lay.addSpacing(8)
        self.speedBox = SpeedBox()
        self.speedBox.setMinimumHeight(40)
        self.speedBox.setMinimumWidth(104)
        self.speedBox.setFont(t.font(t.font_pt + 1))
        self.speedBox.setToolTip("Playing speed in steps per second (0.5–30).  Faster: +   Slower: −")
        self.speedBox.valueChanged.connect(lambda v: self._controller.setSpeed(v))
        self.speedBox.stepRequested.connect(
            lambda d: self._controller.faster() if d > 0 else self._controller.slower())
        lay.addWidget(self.speedBox)

        lay.addSpacing(8)
        self.scrubber = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.scrubber.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # ←/→ belong to the window
        self.scrubber.setMinimumHeight(40)
        self.scrubber.setMinimumWidth(SCRUBBER_MIN)  # narrow screens: the bar must fit 1024 px
        self.scrubber.setToolTip("Drag to any time step t.")
        self.scrubber.setStyleSheet(
            "QSlider::groove:horizontal { height: 10px; background: #D8D8D8; border-radius: 5px; }"
            f" QSlider::sub-page:horizontal {{ background: {t.cursor}; border-radius: 5px; }}"
            " QSlider::handle:horizontal { width: 22px; margin: -8px 0; border-radius: 11px;"
            f" background: {t.foreground}; }}")
        self.scrubber.valueChanged.connect(lambda t: self._controller.setStep(t - 1))
        lay.addWidget(self.scrubber, 1)

        self.stepLabel = QtWidgets.QLabel()
        self.stepLabel.setFont(t.font(t.title_pt + 5, bold=True))
        self.stepLabel.setToolTip("The current step t and the sequence length T.")
        self.stepLabel.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)

        self.allStepsButton = QtWidgets.QToolButton()
        self.allStepsButton.setText("All steps")
        self.allStepsButton.setCheckable(True)
        self.allStepsButton.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.allStepsButton.setMinimumHeight(40)
        self.allStepsButton.setFont(t.font(t.font_pt + 1, bold=True))
        self.allStepsButton.setToolTip("Show every step at once instead of revealing them one by one  (A)")
        self.allStepsButton.setStyleSheet(
            "QToolButton { border: 1px solid #909090; border-radius: 5px; padding: 4px 10px; background: #F4F4F4; }"
            f" QToolButton:checked {{ background: {t.foreground}; color: white; }}")
        self.allStepsButton.toggled.connect(lambda on: self._controller.setRevealAll(on))
        lay.addWidget(self.allStepsButton)

        self.busyBar = QtWidgets.QProgressBar()
        self.busyBar.setRange(0, 1000)
        self.busyBar.setFixedWidth(112)
        self.busyBar.setMinimumHeight(22)
        self.busyBar.setFormat("computing %p%")
        self.busyBar.setToolTip("The network is being computed in the background.")
        sp = self.busyBar.sizePolicy()
        sp.setRetainSizeWhenHidden(True)  # the scrubber must not jump when a run starts
        self.busyBar.setSizePolicy(sp)
        self.busyBar.hide()
        lay.addWidget(self.busyBar)
        # the readout last: presenter mode lays its big step counter over it, covering no control
        lay.addWidget(self.stepLabel)

        c.stepChanged.connect(self._onStep)
        c.settingsChanged.connect(self._onSettings)
        c.resultChanged.connect(lambda _r: self._onSettings(self._controller.settings))
        c.playingChanged.connect(self._onPlaying)
        c.speedChanged.connect(self._onSpeed)
        c.revealAllChanged.connect(self._onRevealAll)
        c.busyChanged.connect(self._onBusy)
        c.progressChanged.connect(self._onProgress)
        self._T = None
        self._onSettings(c.settings)
        self._onStep(c.step)
        self._onPlaying(c.isPlaying())
        self._onSpeed(c.speed)
        self._onRevealAll(c.revealAll)
        self._onBusy(c.busy)

    def setTheme(self, look: theme.Theme) -> None:
        """Restyle for ``look``: icon colours, fonts and sizes."""
        super().setTheme(look)
        t = look
        # icons grow less than the text: the bar must still fit a 1024-pixel projector
        px = round(ICON_PX * min(max(t.font_scale, 1.0), 1.25))
        # the progress bar keeps its room while hidden (the scrubber must not jump when a run
        # starts), except with presenter mode's large fonts, where that room is what a
        # 1024-pixel screen lacks
        sp = self.busyBar.sizePolicy()
        sp.setRetainSizeWhenHidden(t.font_scale <= 1.0)
        self.busyBar.setSizePolicy(sp)
        self.setFont(t.font())
        for b, kind in ((self.startButton, "start"), (self.backButton, "back"), (self.forwardButton, "forward"),
                        (self.endButton, "end")):
            b.setIcon(transport_icon(kind, px, t.foreground))
            b.setIconSize(QtCore.QSize(px, px))
            b.setMinimumSize(px + 12, px + 14)
        self.playButton.setIconSize(QtCore.QSize(px + 6, px + 6))
        self.playButton.setMinimumSize(px + 24, px + 18)
        self.speedBox.setFont(t.font(t.pt(theme.BASE_FONT_PT + 1)))
        self.stepLabel.setFont(t.font(t.pt(theme.BASE_TITLE_PT + 5), bold=True))
        self.allStepsButton.setFont(t.font(t.pt(theme.BASE_FONT_PT + 1), bold=True))
        self.allStepsButton.setStyleSheet(
            f"QToolButton {{ border: 1px solid {t.border}; border-radius: 5px; padding: 4px 10px;"
            f" background: {t.button}; color: {t.foreground}; }}"
            f" QToolButton:checked {{ background: {t.foreground}; color: {t.background}; }}")
        self.scrubber.setStyleSheet(
            f"QSlider::groove:horizontal {{ height: 10px; background: {'#4A4F57' if t.dark else '#D8D8D8'};"
            " border-radius: 5px; }"
            f" QSlider::sub-page:horizontal {{ background: {t.cursor}; border-radius: 5px; }}"
            " QSlider::handle:horizontal { width: 22px; margin: -8px 0; border-radius: 11px;"
            f" background: {t.foreground}; }}")
        self._onPlaying(self._controller.isPlaying())
        self._T = None  # the step readout's width follows its font
        self._onSettings(self._controller.settings)

    # ------------------------------------------------------------------ controller → widgets
    def _onSettings(self, s) -> None:
        if s.T != self._T:
            self._T = s.T
            with QtCore.QSignalBlocker(self.scrubber):
                self.scrubber.setRange(1, s.T)
                self.scrubber.setPageStep(max(1, s.T // 10))
            # room for the widest readout of this T, so the bar does not shift while playing
            fm = QtGui.QFontMetrics(self.stepLabel.font())
            self._readoutWidth = fm.horizontalAdvance(f"t = {s.T} / {s.T}") + 12
            self.stepLabel.setMinimumWidth(max(self._readoutWidth, self._overlayWidth))
            self._onStep(self._controller.step)

    _readoutWidth = 0  # what "t = T / T" needs
    _overlayWidth = 0  # what presenter mode's step counter over the readout needs (0: none)

    def makeRoomForOverlay(self, width: int, height: int = 0) -> None:
        """Presenter mode's step counter covers the readout: keep ``width`` pixels for it
        (0 when it goes) and be at least ``height`` tall, so that the counter stays inside the
        bar and covers none of the views above it; the readout's least width follows."""
        self._overlayWidth = width
        least = max(self._readoutWidth, width)
        if self.stepLabel.minimumWidth() != least:
            self.stepLabel.setMinimumWidth(least)
        if self.minimumHeight() != height:
            self.setMinimumHeight(height)

    def _onStep(self, t: int) -> None:
        with QtCore.QSignalBlocker(self.scrubber):
            self.scrubber.setValue(t + 1)
        T = self._T or self._controller.settings.T
        self.stepLabel.setText(f"t = {t + 1} / {T}")

    def _onPlaying(self, on: bool) -> None:
        # dark on the orange button in every theme
        self.playButton.setIcon(transport_icon("pause" if on else "play", ICON_PX + 6, theme.LIGHT.foreground))
        self.playButton.setToolTip("Pause  (Space)" if on else "Play  (Space)")

    def _onSpeed(self, v: float) -> None:
        with QtCore.QSignalBlocker(self.speedBox):
            self.speedBox.setValue(v)

    def _onRevealAll(self, on: bool) -> None:
        with QtCore.QSignalBlocker(self.allStepsButton):
            self.allStepsButton.setChecked(on)

    def _onBusy(self, busy: bool) -> None:
        if busy:
            self.busyBar.setValue(0)
        self.busyBar.setVisible(busy)

    def _onProgress(self, frac: float) -> None:
        self.busyBar.setValue(round(1000 * min(max(frac, 0.0), 1.0)))
