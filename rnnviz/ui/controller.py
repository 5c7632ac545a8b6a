"""The Qt side of the app core: relays :class:`rnnviz.core.app.App` to views as Qt signals.

All the rules live in the Qt-free :class:`~rnnviz.core.app.App` (state, clamping, what a change
implies) and :class:`~rnnviz.core.service.ComputeService` (where and when the engine runs).
This class adds what needs Qt: a 0 ms timer that coalesces the slider events of one event-loop
pass into one recompute, the play timer, and a queued signal that brings results from the
worker pool back to the GUI thread. Its methods are the camelCase API the views call in their
``_on*`` handlers; its signals tell the views what changed.
"""

from __future__ import annotations

import dataclasses

from PySide6 import QtCore

from ..core import model as M
from ..core.app import SPEED_RANGE, App
from ..core.service import Cancelled
from ..engine import InputError

__all__ = ["Controller", "Cancelled", "InputError", "SPEED_RANGE"]


#: The slow curves of a cheap run start once the changes have paused this long (ms): while
#: a slider is dragged, each tick's frame shows the previous tick's curves until then.
PAUSE_MS = 60
#: Work queued for after the next frame runs at the latest this long after it was queued (ms).
AFTER_FRAME_MS = 50


class _Poster(QtCore.QObject):
    """Runs functions on the GUI thread: worker threads emit, Qt queues the call."""

    call = QtCore.Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.call.connect(self._run, QtCore.Qt.ConnectionType.QueuedConnection)

    def _run(self, fn) -> None:
        fn()


class Controller(QtCore.QObject):
    resultChanged = QtCore.Signal(object)  # model.Result
    settingsChanged = QtCore.Signal(object)  # model.Settings
    stepChanged = QtCore.Signal(int)  # 0-based index of the current step; steps 0…t are shown
    revealAllChanged = QtCore.Signal(bool)
    selectedUnitChanged = QtCore.Signal(int)
    playingChanged = QtCore.Signal(bool)
    speedChanged = QtCore.Signal(float)
    busyChanged = QtCore.Signal(bool)
    progressChanged = QtCore.Signal(float)
    loadedChanged = QtCore.Signal(object)  # file name (str) or None
    errorOccurred = QtCore.Signal(str)  # a computation failed (shown by the window)
    layerChanged = QtCore.Signal(int)
    frameChanged = QtCore.Signal(object)  # core.frames.Frame: what every panel draws (see "frames" below)

    def __init__(self, settings: M.Settings | None = None, parent=None):
        super().__init__(parent)
        self._poster = _Poster(self)
        # A change recomputes at once (schedule=None): the frame already pending when a slider
        # moves then shows its result. Deferred to a 0 ms timer, the run waited for that frame
        # (the previous result, ~13 ms on X11) and its own result for the frame after.
        self._window = False  # see attachWindow
        self._afterFrame: list = []  # what runs after the window's next frame
        self._framePending = False  # a frame was handed to the views and is not painted yet
        self._afterFrameTimer = QtCore.QTimer(self)  # … or this soon if nothing is painted
        self._afterFrameTimer.setSingleShot(True)
        self._afterFrameTimer.setInterval(AFTER_FRAME_MS)
        self._afterFrameTimer.timeout.connect(self.frameDone)
        self._pause = QtCore.QTimer(self)  # the slow curves start once the changes pause
        self._pause.setSingleShot(True)
        self._pause.setInterval(PAUSE_MS)
        self._pause.timeout.connect(self._onPaused)
        self._whenPaused = None
        self.app = App(settings, post=self._poster.call.emit, later=self.afterFrame, paused=self._paused)
        self._play = QtCore.QTimer(self)
        self._play.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._play.timeout.connect(self.app.tick)
        self._play.setInterval(round(1000 / self.app.state.speed))
        ev = self.app.state.events
        ev.settings.connect(self.settingsChanged.emit)
        ev.step.connect(self.stepChanged.emit)
        ev.reveal_all.connect(self.revealAllChanged.emit)
        ev.unit.connect(self.selectedUnitChanged.emit)
        ev.playing.connect(self._onPlaying)
        ev.speed.connect(self._onSpeed)
        ev.source.connect(lambda src: self.loadedChanged.emit(None if src is None else src.name))
        ev.layer.connect(self.layerChanged.emit)
        self.app.result_changed.connect(self.resultChanged.emit)
        self.app.busy_changed.connect(self.busyChanged.emit)
        self.app.progress_changed.connect(self.progressChanged.emit)
        self.app.error_occurred.connect(self.errorOccurred.emit)
        self.destroyed.connect(self.app.service.shutdown)
        self._initFrames()

    def afterFrame(self, fn) -> None:
        """Run ``fn`` after the window's next frame (a run handed to the pool starts there:
        started sooner, it competes with that frame's painting for the GIL; the equation
        panel's refresh runs there, so a frame waiting to be painted never waits for it).
        Without a window, or when nothing is painted within AFTER_FRAME_MS, soon."""
        if not self._window:
            QtCore.QTimer.singleShot(0, self, fn)
            return
        self._afterFrame.append(fn)
        if not self._afterFrameTimer.isActive():
            self._afterFrameTimer.start()

    def attachWindow(self) -> None:
        """A window shows this controller and calls :meth:`frameDone` after each frame."""
        self._window = True

    @property
    def framePending(self) -> bool:
        """A frame was handed to the views since the window last painted (with a window)."""
        return self._framePending

    def frameDone(self) -> None:
        self._framePending = False
        self._afterFrameTimer.stop()
        fns, self._afterFrame = self._afterFrame, []
        for fn in fns:  # queued behind what the frame posted (its scenes' bookkeeping)
            QtCore.QTimer.singleShot(0, self, fn)

    def _paused(self, fn) -> None:
        # Only the newest run's slow curves matter (older ones are cancelled): keep one.
        self._whenPaused = fn
        self._pause.start()

    def _onPaused(self) -> None:
        fn, self._whenPaused = self._whenPaused, None
        if fn is not None:
            fn()

    def _onPlaying(self, on: bool) -> None:
        if on:
            self._play.start()
        else:
            self._play.stop()
        self.playingChanged.emit(on)

    def _onSpeed(self, v: float) -> None:
        self._play.setInterval(max(1, round(1000 / v)))
        self.speedChanged.emit(v)

    # ------------------------------------------------------------------ state
    @property
    def settings(self) -> M.Settings:
        return self.app.settings

    @property
    def result(self) -> M.Result | None:
        return self.app.result

    @property
    def step(self) -> int:
        return self.app.state.step

    @property
    def revealAll(self) -> bool:
        return self.app.state.reveal_all

    @property
    def selectedUnit(self) -> int:
        return self.app.state.unit

    @property
    def loaded(self):
        return self.app.loaded

    @property
    def loadedName(self) -> str | None:
        return self.app.loaded_name

    @property
    def layer(self) -> int:
        return self.app.state.layer

    @property
    def busy(self) -> bool:
        return self.app.service.is_busy

    @property
    def speed(self) -> float:
        return self.app.state.speed

    @property
    def lastError(self) -> str | None:
        return self.app.last_error

    @property
    def idle(self) -> bool:
        """No change waiting and the current settings' complete result is shown."""
        return self.app.idle

    def isPlaying(self) -> bool:
        return self.app.state.playing

    def baseCell(self):
        return self.app.base_cell()

    def activeModel(self):
        return self.app.active_model()

    def spectralRadius(self, key: str | None = None) -> float:
        return self.app.spectral_radius(key)

    # ---------------------------------------------------------------- changes
    def update(self, **changes) -> None:
        self.app.update(**changes)

    def restore(self, settings: M.Settings, loaded=None, loaded_name: str | None = None, layer: int = -1,
                step: int = 0, reveal_all: bool = False, unit: int = 0, whole=None) -> None:
        self.app.restore(settings, loaded, loaded_name, layer, step, reveal_all, unit, whole)

    def setEntry(self, param: str, row: int, col: int, value: float) -> None:
        self.app.set_entry(param, row, col, value)

    def resetEntry(self, param: str, row: int, col: int) -> None:
        self.app.reset_entry(param, row, col)

    def useSeedExample(self) -> None:
        self.app.use_seed_example()

    def loadWeights(self, path: str, nonlinearity: str | None = None, **options) -> None:
        """Load a trained model. Raises InputError and leaves everything untouched on failure."""
        self.app.load_weights(path, nonlinearity=nonlinearity, **options)

    def setLayer(self, layer: int) -> None:
        self.app.set_layer(layer)

    # ---------------------------------------------------------------- stepping
    def setStep(self, t: int) -> None:
        self.app.set_step(t)

    def stepForward(self) -> None:
        self.setStep(self.step + 1)

    def stepBack(self) -> None:
        self.setStep(self.step - 1)

    def toStart(self) -> None:
        self.setStep(0)

    def toEnd(self) -> None:
        self.setStep(self.settings.T - 1)

    def setRevealAll(self, on: bool) -> None:
        self.app.set_reveal_all(on)

    def setSelectedUnit(self, unit: int) -> None:
        self.app.set_unit(unit)

    def setPlaying(self, on: bool) -> None:
        self.app.set_playing(on)

    def togglePlaying(self) -> None:
        self.app.set_playing(not self.isPlaying())

    def setSpeed(self, steps_per_second: float) -> None:
        self.app.set_speed(steps_per_second)

    def faster(self) -> None:
        self.app.faster()

    def slower(self) -> None:
        self.app.slower()

    # ---------------------------------------------------------------- compute
    def scheduleRecompute(self) -> None:
        self.app.schedule_recompute()

    def recompute(self) -> None:
        """Run the engine for the current settings now (fast parts) and start the slow parts."""
        self.app.recompute()

    def settle(self) -> M.Result | None:
        """Finish every pending computation on this thread now, without an event loop.

        Export and ``rnnviz render`` call this before they draw: what the worker would have
        delivered is computed here instead (the same numbers), and the views get it at once.
        """
        self._pause.stop()
        self._whenPaused = None
        return self.app.settle()

    def waitForIdle(self, timeout_ms: int = 30_000) -> bool:
        """Like :meth:`settle`; True once the complete result for the settings is shown."""
        self.settle()
        return self.app.idle

    # ================================================================ frames
    # Builds the display-ready frame (rnnviz.core.frames) after each change of the result or
    # of the view state in ``self.app.state`` and emits it once as ``frameChanged``; the
    # panels draw only frames.
    def _initFrames(self) -> None:
        self._frame = None
        self._equation_key = "gru"
        self.resultChanged.connect(self._frameForResult)
        for sig in (self.stepChanged, self.revealAllChanged, self.selectedUnitChanged, self.settingsChanged):
            sig.connect(self._frameForView)

    @property
    def frame(self):
        """The current frame (rnnviz.core.frames.Frame), or None before the first run."""
        return self._frame

    def setEquationKey(self, key: str) -> None:
        """Choose the cell the equation panel explains in Compare mode."""
        if key != self._equation_key:
            self._equation_key = key
            self._frameForView()

    def _viewState(self):
        from ..core.frames import ViewState

        st = self.app.state
        return ViewState(step=st.step, reveal_all=st.reveal_all, unit=st.unit,
                         backward=bool(st.settings.backward), equation_key=self._equation_key)

    def _frameForResult(self, result) -> None:
        from ..core.frames import build_frame

        self._frame = build_frame(result, self._viewState(), self.app.loaded, self.app.state.layer,
                                  previous=self._frame)
        self._framePending = self._window
        self.frameChanged.emit(self._frame)

    def _frameForView(self, *_args) -> None:
        if self._frame is None:
            return
        view = self._viewState()
        if view != self._frame.view:  # one frame per settled change
            self._frame = self._frame.with_view(**dataclasses.asdict(view))
            self._framePending = self._window
            self.frameChanged.emit(self._frame)
