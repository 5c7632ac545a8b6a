"""The controller: owns the settings and the current result, reruns the engine, tells views.

Data flows one way: a control calls a controller method → the controller replaces its
:class:`~rnnviz.core.model.Settings` and recomputes → it emits ``resultChanged`` (and
``stepChanged`` …) → views redraw. Views never compute maths and never change the model
except through these methods.

Recomputation is coalesced (many slider events in one event-loop pass cost one run). Small
runs happen on the GUI thread; the slow curves of medium runs and everything of large runs
go to a worker thread with progress, and any newer change cancels the older work.
"""

from __future__ import annotations

import os
import threading

import numpy as np
from PySide6 import QtCore

from ..engine import InputError
from ..io.weights import load_weights
from ..engine.cells import as_stack
from ..core import model as M

#: Runs up to this cost (multiply-adds, see model.cost) are computed on the GUI thread.
#: An LSTM at T = 1000, H = 128, D = 8 is 7.0e7.
SYNC_LIMIT = 7.2e7
#: Above this influence cost (model.influence_cost) a slider frame shows the previous x1
#: curve for a moment and the exact one follows (an LSTM at T = 1000, H = 128, D = 8 is
#: 5.2e8; at D = 1, 6.6e7).
DEFER_INFLUENCE_LIMIT = 1e8
#: Up to this cost the perturbation and backward curves are part of the same frame.
INLINE_LIMIT = 1e5
#: Up to this cost they are computed on the GUI thread right after the frame is painted;
#: above it, on the worker thread (also started after the frame, so it does not compete
#: with painting for the GIL).
SLOW_SYNC_LIMIT = 4e6

SPEED_RANGE = (0.5, 30.0)


class Cancelled(Exception):
    """Raised inside a worker's progress callback when a newer request superseded it."""


class _Relay(QtCore.QObject):
    # Emitted from worker threads; Qt queues them to the controller's (GUI) thread.
    done = QtCore.Signal(int, object)
    failed = QtCore.Signal(int, str)
    progress = QtCore.Signal(int, float)


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

    def __init__(self, settings: M.Settings | None = None, parent=None):
        super().__init__(parent)
        self._settings = settings or M.Settings()
        self._result: M.Result | None = None
        self._step = 0
        self._reveal_all = False
        self._unit = 0
        self._loaded = None
        self._loaded_name: str | None = None
        self._layer = -1
        self._generation = 0
        self._busy = False
        self._speed = 4.0
        self._relay = _Relay(self)
        self._relay.done.connect(self._onWorkerDone)
        self._relay.progress.connect(self._onWorkerProgress)
        self._relay.failed.connect(self._onWorkerFailed)
        self._pending = QtCore.QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.recompute)
        self._play = QtCore.QTimer(self)
        self._play.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._play.timeout.connect(self._onPlayTick)
        self._play.setInterval(round(1000 / self._speed))
        self.lastError: str | None = None
        self._rho_cache: dict = {}

    # ------------------------------------------------------------------ state
    @property
    def settings(self) -> M.Settings:
        return self._settings

    @property
    def result(self) -> M.Result | None:
        return self._result

    @property
    def step(self) -> int:
        return self._step

    @property
    def revealAll(self) -> bool:
        return self._reveal_all

    @property
    def selectedUnit(self) -> int:
        return self._unit

    @property
    def loaded(self):
        return self._loaded

    @property
    def loadedName(self) -> str | None:
        return self._loaded_name

    @property
    def layer(self) -> int:
        return self._layer

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def speed(self) -> float:
        return self._speed

    def isPlaying(self) -> bool:
        return self._play.isActive()

    def baseCell(self):
        """The active single cell before the group sliders (what per-entry sliders edit), or None."""
        s = self._settings
        if s.cell == "compare":
            return None
        if self._loaded is not None:
            stack = as_stack(self._loaded)
            return M.apply_overrides(stack.layers[0], s.overrides) if len(stack) == 1 else None
        return M.apply_overrides(M.base_cell(s.cell, s), s.overrides)

    def activeModel(self):
        """The active model after all sliders (first cell in Compare mode)."""
        s = self._settings
        return M.build_model(s.kinds[0], s, self._loaded)

    def spectralRadius(self, key: str | None = None) -> float:
        """ρ(W_hh) of the active cell (or of Compare's cell ``key``) after all sliders.

        The eigenvalues are computed once per cell shape, seed and per-entry weights, and
        scaled by |recurrent scale| afterwards (ρ(sW) = |s|·ρ(W)), so dragging that slider
        costs nothing.
        """
        s = self._settings
        key = key or s.kinds[0]
        ident = (key, s.hidden_size, s.input_size, s.seed, s.overrides, s.single_bias,
                 id(self._loaded), self._layer)
        base = self._rho_cache.get(ident)
        if base is None:
            if self._loaded is not None:
                stack = as_stack(self._loaded)
                cell = stack.layers[self._layer]
                if len(stack) == 1:
                    cell = M.apply_overrides(cell, s.overrides)
            else:
                cell = M.apply_overrides(M.base_cell(key, s), s.overrides)
            base = cell.spectral_radius()
            if len(self._rho_cache) > 32:
                self._rho_cache.clear()
            self._rho_cache[ident] = base
        return base * abs(s.recurrent_scale)

    # ---------------------------------------------------------------- changes
    def update(self, **changes) -> None:
        """Change settings (clamped to their limits) and schedule a recompute."""
        changes = {k: v for k, v in changes.items() if getattr(self._settings, k) != v}
        if not changes:
            return
        for key, (lo, hi) in M.LIMITS.items():
            if key in changes:
                changes[key] = int(min(max(int(changes[key]), lo), hi))
        if "cell" in changes and changes["cell"] not in M.CELL_CHOICES:
            raise ValueError(f"unknown cell {changes['cell']!r}")
        if "signal" in changes and changes["signal"] not in M.SIGNALS:
            raise ValueError(f"unknown signal {changes['signal']!r}")
        if self._loaded is not None and ({"cell", "hidden_size", "input_size", "seed"} & changes.keys()):
            self._unload()
        # per-entry overrides belong to one particular cell shape: drop them when it changes
        if {"cell", "hidden_size", "input_size", "seed"} & changes.keys() and "overrides" not in changes:
            changes["overrides"] = ()
            changes.setdefault("single_bias", False)
        if "input_size" in changes and self._settings.custom and "custom" not in changes:
            changes["custom"] = _resize_rows(self._settings.custom, changes["input_size"])
        self._settings = self._settings.replace(**changes)
        self.settingsChanged.emit(self._settings)
        self.scheduleRecompute()

    def restore(self, settings: M.Settings, loaded=None, loaded_name: str | None = None, layer: int = -1,
                step: int = 0, reveal_all: bool = False, unit: int = 0) -> None:
        """Replace the whole state at once (opening a session or a lesson) and recompute now.

        Validate before calling: this trusts its arguments.
        """
        self.setPlaying(False)
        self._rho_cache.clear()
        self._settings = settings
        self._unit = max(0, int(unit))  # clamped against the new run when it arrives
        self._loaded = loaded
        self._loaded_name = loaded_name if loaded is not None else None
        self._layer = layer if loaded is not None else -1
        self.loadedChanged.emit(self._loaded_name)
        self.layerChanged.emit(self._layer)
        self.settingsChanged.emit(settings)
        self.recompute()
        self.setRevealAll(reveal_all)
        self.setStep(step)
        self.setSelectedUnit(unit)

    def setEntry(self, param: str, row: int, col: int, value: float) -> None:
        """Set one weight or bias entry of the active cell (per-entry sliders)."""
        ov = dict(self._settings.overrides)
        ov[(param, int(row), int(col))] = float(value)
        self.update(overrides=tuple(sorted(ov.items())))

    def resetEntry(self, param: str, row: int, col: int) -> None:
        ov = dict(self._settings.overrides)
        ov.pop((param, int(row), int(col)), None)
        self.update(overrides=tuple(sorted(ov.items())))

    def useSeedExample(self) -> None:
        """The seed document's example: tanh RNN, D = 1, H = 2, inputs 0.1, 0.5, 0.9."""
        from ..engine import seed_example

        cell = seed_example(0)
        defaults = M.Settings()
        self._unload()
        self._settings = defaults.replace(cell="rnn_tanh", hidden_size=2, input_size=1, T=3, signal="seed",
                                          single_bias=True)
        # Express the document's weights (8 numbers: weight_x, weight_h, bias) as overrides.
        base = M.base_cell("rnn_tanh", self._settings)
        ov = {}
        for param in ("W_ih", "W_hh", "b_ih"):
            target, arr = getattr(cell, param), getattr(base, param)
            for idx in np.ndindex(arr.shape):
                r, c = (idx + (0,))[:2]
                ov[(param, r, c)] = float(target[idx])
        self._settings = self._settings.replace(overrides=tuple(sorted(ov.items())))
        self.settingsChanged.emit(self._settings)
        self.recompute()
        self.setStep(0)

    def loadWeights(self, path: str, nonlinearity: str = "tanh") -> None:
        """Load a trained model. Raises InputError and leaves everything untouched on failure."""
        model = load_weights(path, nonlinearity=nonlinearity)
        stack = as_stack(model)
        first, last = stack.layers[0], stack.layers[-1]
        key = {"rnn": "rnn_relu" if last.nonlinearity == "relu" else "rnn_tanh"}.get(last.kind, last.kind)
        self._loaded = model
        self._loaded_name = os.path.basename(path)
        self._rho_cache.clear()  # keyed by id(model): a new model may reuse a freed one's id
        self._layer = -1
        self._settings = self._settings.replace(
            cell=key, hidden_size=last.hidden_size, input_size=first.input_size, overrides=(),
            input_scale=1.0, recurrent_scale=1.0, bias_shift=0.0, forget_bias=0.0, update_bias=0.0,
            custom=_resize_rows(self._settings.custom, first.input_size) if self._settings.custom else (),
        )
        self.loadedChanged.emit(self._loaded_name)
        self.layerChanged.emit(self._layer)
        self.settingsChanged.emit(self._settings)
        self.scheduleRecompute()

    def setLayer(self, layer: int) -> None:
        if self._loaded is None:
            return
        n = len(as_stack(self._loaded))
        layer = range(n)[layer]
        if layer == range(n)[self._layer]:
            return
        self._layer = layer
        self.layerChanged.emit(layer)
        self.scheduleRecompute()

    def _unload(self) -> None:
        if self._loaded is not None:
            self._loaded = None
            self._loaded_name = None
            self._rho_cache.clear()
            self._layer = -1
            self.loadedChanged.emit(None)

    # ---------------------------------------------------------------- stepping
    def setStep(self, t: int) -> None:
        T = self._settings.T
        t = int(min(max(t, 0), T - 1))
        if t != self._step:
            self._step = t
            self.stepChanged.emit(t)

    def stepForward(self) -> None:
        self.setStep(self._step + 1)

    def stepBack(self) -> None:
        self.setStep(self._step - 1)

    def toStart(self) -> None:
        self.setStep(0)

    def toEnd(self) -> None:
        self.setStep(self._settings.T - 1)

    def setRevealAll(self, on: bool) -> None:
        if bool(on) != self._reveal_all:
            self._reveal_all = bool(on)
            self.revealAllChanged.emit(self._reveal_all)

    def setSelectedUnit(self, unit: int) -> None:
        current = self._result is not None and self._result.settings is self._settings
        H = self._result.cells[0].trace.H if current else self._settings.hidden_size
        unit = int(min(max(unit, 0), H - 1))
        if unit != self._unit:
            self._unit = unit
            self.selectedUnitChanged.emit(unit)

    def setPlaying(self, on: bool) -> None:
        if on == self._play.isActive():
            return
        if on:
            if self._step >= self._settings.T - 1:
                self.setStep(0)
            self._play.start()
        else:
            self._play.stop()
        self.playingChanged.emit(bool(on))

    def togglePlaying(self) -> None:
        self.setPlaying(not self._play.isActive())

    def setSpeed(self, steps_per_second: float) -> None:
        v = float(min(max(steps_per_second, SPEED_RANGE[0]), SPEED_RANGE[1]))
        if v != self._speed:
            self._speed = v
            self._play.setInterval(max(1, round(1000 / v)))
            self.speedChanged.emit(v)

    def faster(self) -> None:
        self.setSpeed(_next_speed(self._speed, +1))

    def slower(self) -> None:
        self.setSpeed(_next_speed(self._speed, -1))

    def _onPlayTick(self) -> None:
        if self._step >= self._settings.T - 1:
            self.setPlaying(False)
        else:
            self.stepForward()

    # ---------------------------------------------------------------- compute
    def scheduleRecompute(self) -> None:
        self._generation += 1  # cancels any running worker at its next progress report
        if not self._pending.isActive():
            self._pending.start()

    def recompute(self) -> None:
        """Run the engine for the current settings now (fast parts) and start the slow parts."""
        self._pending.stop()
        self._generation += 1
        gen = self._generation
        s, loaded, layer = self._settings, self._loaded, self._layer
        c = M.cost(s, loaded)
        if c <= SYNC_LIMIT:
            inline = c <= INLINE_LIMIT
            defer = not inline and M.influence_cost(s, loaded) > DEFER_INFLUENCE_LIMIT
            result = M.compute(s, loaded, layer=layer, slow=inline, previous=self._result if defer else None)
            if not inline:
                result = _carry_slow_curves(result, self._result)
            self._setResult(result)
            self._setBusy(False)  # also ends the indicator of a worker this run superseded
            if inline:
                pass  # the result is complete
            elif c <= SLOW_SYNC_LIMIT:
                QtCore.QTimer.singleShot(0, lambda: self._finishOnGuiThread(gen, result))
            else:
                QtCore.QTimer.singleShot(
                    0, lambda: gen == self._generation
                    and self._startWorker(gen, lambda progress: M.complete(result, progress)))
        else:
            self._startWorker(gen, lambda progress: M.compute(s, loaded, layer=layer, slow=True, progress=progress))

    def _finishOnGuiThread(self, gen: int, result: M.Result) -> None:
        if gen == self._generation:
            self._setResult(M.complete(result))

    def waitForIdle(self, timeout_ms: int = 30_000) -> bool:
        """Process events until no work is pending (for tests and the render command)."""
        from PySide6 import QtWidgets

        timer = QtCore.QElapsedTimer()
        timer.start()
        app = QtWidgets.QApplication.instance()
        while self._pending.isActive() or self._busy or (self._result and not self._result.complete):
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            if timer.elapsed() > timeout_ms:
                return False
            if self._pending.isActive():
                self.recompute()
        return True

    def _startWorker(self, gen: int, job) -> None:
        self._setBusy(True)
        self.progressChanged.emit(0.0)
        relay = self._relay

        def progress(frac: float) -> None:
            if gen != self._generation:
                raise Cancelled
            relay.progress.emit(gen, float(frac))

        def work():
            try:
                try:
                    result = job(progress)
                except Cancelled:
                    return
                except Exception as err:  # noqa: BLE001 - reported in the window, never a crash
                    relay.failed.emit(gen, f"{type(err).__name__}: {err}")
                    return
                relay.done.emit(gen, result)
            except RuntimeError:
                pass  # the controller was deleted while we worked: nobody is listening

        threading.Thread(target=work, name="rnnviz-compute", daemon=True).start()

    def _onWorkerDone(self, gen: int, result) -> None:
        if gen != self._generation:
            return
        self._setResult(result)
        self._setBusy(False)

    def _onWorkerProgress(self, gen: int, frac: float) -> None:
        if gen == self._generation:
            self.progressChanged.emit(frac)

    def _onWorkerFailed(self, gen: int, message: str) -> None:
        if gen != self._generation:
            return
        self.lastError = message
        self._setBusy(False)
        r = self._result
        if r is not None and not r.complete:
            # Nothing half-finished stays on screen as if current: drop the carried-over curves.
            cells = [M.CellResult(c.key, c.label, c.model, c.trace, None, None, c.levels, c.stale_influence)
                     for c in r.cells]
            self._setResult(M.Result(r.settings, r.xs, cells, complete=True))
        self.errorOccurred.emit(message)

    def _setBusy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    def _setResult(self, result: M.Result) -> None:
        self._result = result
        T = result.T
        H = result.cells[0].trace.H
        step_moved = self._step > T - 1
        unit_moved = self._unit > H - 1
        self._step = min(self._step, T - 1)
        self._unit = min(self._unit, H - 1)
        # Views redraw the current step on resultChanged; tell them about a step or unit
        # only when the new run moved it (a second redraw per slider frame costs real time).
        self.resultChanged.emit(result)
        if step_moved:
            self.stepChanged.emit(self._step)
        if unit_moved:
            self.selectedUnitChanged.emit(self._unit)


def _carry_slow_curves(result: M.Result, previous: M.Result | None) -> M.Result:
    """Show the previous run's slow curves until the new ones are in (no flicker while dragging).

    Only when they have the same shape; the result stays marked incomplete.
    """
    same = (previous is not None and previous.T == result.T
            and [c.key for c in previous.cells] == [c.key for c in result.cells]
            and all(a.trace.layer == b.trace.layer and a.cell.kind == b.cell.kind
                    for a, b in zip(previous.cells, result.cells)))
    if not same:  # another cell, layer or length: nothing to show until the new curves are in
        return M.Result(result.settings, result.xs, result.cells, complete=False)
    cells = []
    for new, old in zip(result.cells, previous.cells):
        back = old.backward if result.settings.backward else None
        cells.append(M.CellResult(new.key, new.label, new.model, new.trace, old.perturbation, back, new.levels))
    return M.Result(result.settings, result.xs, cells, complete=False)


_SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


def _next_speed(v: float, direction: int) -> float:
    if direction > 0:
        return next((s for s in _SPEEDS if s > v + 1e-9), _SPEEDS[-1])
    return next((s for s in reversed(_SPEEDS) if s < v - 1e-9), _SPEEDS[0])


def _resize_rows(rows, D: int) -> tuple:
    out = []
    for row in rows:
        row = list(row)[:D]
        out.append(tuple(row + [0.0] * (D - len(row))))
    return tuple(out)


__all__ = ["Controller", "Cancelled", "InputError"]
