"""The application's state and the rules for changing it. No Qt.

:class:`AppState` is an evented dataclass (psygnal): one signal per field, emitted only when
the value really changes. :class:`App` owns it and the :class:`~rnnviz.core.service.ComputeService`,
and is the only thing that writes it: controls call App methods, App replaces a field, the
field's signal tells whoever listens (the Qt controller relays them to the views).

Data flows one way: control → App method → one field changes → (settings changes) a compute
request → the service delivers an immutable Result → ``result_changed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from psygnal import Signal, evented

from ..engine.bidirectional import is_bidirectional, layers_of
from ..engine.cells import choice_of
from . import model as M
from .frames import editable_cell, spectral_radius
from .service import ComputeService

__all__ = ["App", "AppState", "Source", "SPEED_RANGE"]

SPEED_RANGE = (0.5, 30.0)
_SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
#: Changing any of these builds another cell: a loaded model and per-entry sliders no longer apply.
_SHAPE_FIELDS = frozenset({"cell", "hidden_size", "input_size", "seed"})


@dataclass(frozen=True, eq=False)
class Source:
    """A loaded trained model and the name it was opened under (compared by identity)."""

    model: object  # Cell | Stack
    name: str
    #: The file's whole model (io.weights.WholeModel) when it has an embedding or a head
    whole: object = None


@evented
@dataclass
class AppState:
    """Everything the user sets. One psygnal signal per field (``state.events.<field>``)."""

    settings: M.Settings = field(default_factory=M.Settings)
    step: int = 0  # 0-based index of the current step; steps 0…step are shown
    reveal_all: bool = False
    unit: int = 0  # selected hidden unit
    playing: bool = False
    speed: float = 4.0  # steps per second while playing
    source: Source | None = None  # a loaded model, or None for the built-in cells
    layer: int = -1  # traced layer of a loaded stack


class App:
    """The rules: clamping, what a change implies, and when to recompute."""

    result_changed = Signal(object)  # Result (step/unit already clamped to it)
    busy_changed = Signal(bool)
    progress_changed = Signal(float)
    error_occurred = Signal(str)

    def __init__(self, settings: M.Settings | None = None, post=None, later=None, executor=None,
                 schedule=None, paused=None):
        """``post``/``later``/``paused``/``executor`` go to the compute service; ``schedule``
        (default: recompute at once, what the window does) can coalesce many changes into one
        recompute."""
        self.state = AppState(settings=settings or M.Settings())
        self.service = ComputeService(post or (lambda fn: fn()), later, executor, paused=paused)
        self.service.finished.connect(self._on_finished)
        self.service.failed.connect(self._on_failed)
        self.service.progress.connect(lambda gen, frac: self.progress_changed.emit(frac))
        self.service.busy.connect(self.busy_changed.emit)
        self._schedule = schedule
        self._dirty = False
        self.last_error: str | None = None

    # ----------------------------------------------------------------- reading
    @property
    def settings(self) -> M.Settings:
        return self.state.settings

    @property
    def result(self) -> M.Result | None:
        return self.service.result

    @property
    def loaded(self):
        src = self.state.source
        return None if src is None else src.model

    @property
    def loaded_name(self) -> str | None:
        src = self.state.source
        return None if src is None else src.name

    @property
    def dirty(self) -> bool:
        """A change is waiting for its recompute."""
        return self._dirty

    @property
    def idle(self) -> bool:
        return not self._dirty and self.service.idle

    def base_cell(self):
        """The active single cell before the group sliders (what per-entry sliders edit), or None."""
        return editable_cell(self.settings, self.loaded)

    def active_model(self):
        """The active model after all sliders (first cell in Compare mode)."""
        s = self.settings
        if is_bidirectional(self.loaded):
            from ..engine.errors import InputError

            raise InputError("a bidirectional model has two directions per layer, which an exported weights file "
                             "of one stack cannot hold; save a session, or use rnnviz trace for its arrays",
                             self.state.source.name)
        return M.build_model(s.kinds[0], s, self.loaded)

    def spectral_radius(self, key: str | None = None) -> float:
        """ρ(W_hh) of the active cell (or of Compare's cell ``key``) after all sliders; cached
        in :func:`rnnviz.core.frames.spectral_radius`, as the control panel's readout is."""
        return spectral_radius(self.settings, self.loaded, self.state.layer, key)

    # ----------------------------------------------------------------- changes
    def update(self, **changes) -> None:
        """Change settings (clamped to their limits) and schedule a recompute."""
        s = self.settings
        changes = {k: v for k, v in changes.items() if getattr(s, k) != v}
        if not changes:
            return
        for key, (lo, hi) in M.LIMITS.items():
            if key in changes:
                changes[key] = int(min(max(int(changes[key]), lo), hi))
        if "cell" in changes and changes["cell"] not in M.CELL_CHOICES:
            raise ValueError(f"unknown cell {changes['cell']!r}")
        if "signal" in changes and changes["signal"] not in M.SIGNALS:
            raise ValueError(f"unknown signal {changes['signal']!r}")
        if self.loaded is not None and (_SHAPE_FIELDS & changes.keys()):
            self._unload()
        # per-entry overrides belong to one particular cell shape: drop them when it changes
        if _SHAPE_FIELDS & changes.keys() and "overrides" not in changes:
            changes["overrides"] = ()
            changes.setdefault("single_bias", False)
        if "input_size" in changes and s.custom and "custom" not in changes:
            changes["custom"] = resize_rows(s.custom, changes["input_size"])
        if "custom" in changes and "text" not in changes and s.text:
            changes["text"] = ""  # new rows: no longer the characters of a text
        self.state.settings = s.replace(**changes)
        if "T" in changes and self.state.step > changes["T"] - 1:
            self.set_step(changes["T"] - 1)  # never a step past the new end, even for a moment
        self.schedule_recompute()

    def restore(self, settings: M.Settings, loaded=None, loaded_name: str | None = None, layer: int = -1,
                step: int = 0, reveal_all: bool = False, unit: int = 0, whole=None) -> None:
        """Replace the whole state at once (opening a session or a lesson) and recompute now.

        Validate before calling: this trusts its arguments.
        """
        self.set_playing(False)
        st = self.state
        with st.events.unit.blocked():  # clamped against the new run when it arrives
            st.unit = max(0, int(unit))
        with st.events.paused():  # listeners see the new model and settings together
            st.source = None if loaded is None else Source(loaded, loaded_name or "", whole)
            st.layer = layer if loaded is not None else -1
            st.settings = settings
        self.recompute()
        self.set_reveal_all(reveal_all)
        self.set_step(step)
        self.set_unit(unit)

    def set_entry(self, param: str, row: int, col: int, value: float) -> None:
        """Set one weight or bias entry of the active cell (per-entry sliders)."""
        ov = dict(self.settings.overrides)
        ov[(param, int(row), int(col))] = float(value)
        self.update(overrides=tuple(sorted(ov.items())))

    def reset_entry(self, param: str, row: int, col: int) -> None:
        """Back to the entry's starting value: the seed document's number in the seed example
        (double-clicking its 2.24 gave a random −0.68), else the cell's initialisation."""
        key = (param, int(row), int(col))
        ov = dict(self.settings.overrides)
        start = M.seed_example_entry(self.settings, key)
        if start is None:
            ov.pop(key, None)
        else:
            ov[key] = start
        self.update(overrides=tuple(sorted(ov.items())))

    def use_seed_example(self) -> None:
        """The seed document's example: tanh RNN, D = 1, H = 2, inputs 0.1, 0.5, 0.9."""
        with self.state.events.paused():
            self._unload()
            self.state.settings = M.seed_example_settings()
        self.recompute()
        self.set_step(0)

    def load_weights(self, path: str, nonlinearity: str | None = None, **options) -> None:
        """Load a trained model. Raises InputError and leaves everything untouched on failure.

        ``options``: what the file may leave open (``io.load_weights``'s ``activation``, …,
        ``layer``)."""
        from ..io import load_model
        from ..io.limits import shown

        from ..io.weights import with_notes
        from .wholemodel import shown_notes

        whole = load_model(path, nonlinearity=nonlinearity, bidirectional=True, **options)
        model = whole.rnn
        extra = shown_notes(whole)
        if extra:
            model = with_notes(model, extra)
        # printable: the name goes into the title and session files (UTF-8; a name that is not
        # UTF-8 holds surrogate escapes that cannot be written)
        self.use_model(model, shown(os.path.basename(path)), whole=whole if whole.whole else None)

    def use_model(self, model, name: str, whole=None) -> None:
        """Show ``model`` (a Cell, a Stack, or a Bidirectional layer: both directions side by
        side) with the sliders reset. ``whole``: the file's whole model
        (``io.weights.WholeModel``); with an embedding, the input becomes its token ids."""
        stack = layers_of(model)
        first, last = stack.layers[0], stack.layers[-1]
        s = self.settings
        tokens = {}
        if whole is not None and whole.embedding is not None:
            from .wholemodel import default_ids, input_changes

            tokens = input_changes(whole, default_ids(whole))
        with self.state.events.paused():  # listeners see the new model and settings together
            self.state.source = Source(model, name, whole)
            self.state.layer = -1
            self.state.settings = s.replace(
                cell=choice_of(last), hidden_size=last.hidden_size, input_size=first.input_size, overrides=(),
                input_scale=1.0, recurrent_scale=1.0, bias_shift=0.0, forget_bias=0.0, update_bias=0.0,
                custom=resize_rows(s.custom, first.input_size) if s.custom else (),
                text="",  # the characters of the last model's rows: a new model's token input sets its own
            )
            if tokens:
                self.state.settings = self.state.settings.replace(**tokens)
        if tokens and self.state.step > self.settings.T - 1:
            self.set_step(self.settings.T - 1)
        self.schedule_recompute()

    @property
    def whole(self):
        """The loaded file's whole model (io.weights.WholeModel), or None."""
        src = self.state.source
        return None if src is None else src.whole

    def use_vocab(self, path: str) -> None:
        """Name the loaded model's token ids with the vocabulary file ``path`` (InputError, and
        nothing changes, if it is not one or does not fit). A character vocabulary labels the
        current input's steps with its characters."""
        from .wholemodel import ids_of, input_changes, with_vocab

        from ..io.weights import notes_of, with_notes

        whole = with_vocab(self.whole, path)
        src = self.state.source
        ids = ids_of(whole, M.build_inputs(self.settings))
        added = [n for n in notes_of(whole.rnn) if n not in notes_of(src.model)]
        with self.state.events.paused():  # the banner shows the model's notes: the vocabulary's join them
            self.state.source = Source(with_notes(src.model, added) if added else src.model, src.name, whole)
            if self.settings.signal == "custom" and len(ids) and (ids >= 0).all():
                self.state.settings = self.settings.replace(text=input_changes(whole, ids)["text"])
        self.schedule_recompute()

    def read_tokens(self, entry: str, as_text: bool) -> None:
        """Make the loaded model's input the token ids ``entry`` (or, ``as_text``, its text in the
        vocabulary). Raises ValueError with a one-line problem and changes nothing then."""
        from .wholemodel import read_tokens

        whole = self.whole
        if whole is None or whole.embedding is None:
            raise ValueError("the model shown has no embedding: its input is vectors")
        self.update(**read_tokens(whole, entry, as_text))

    def set_layer(self, layer: int) -> None:
        if self.loaded is None:
            return
        n = len(layers_of(self.loaded))
        layer = range(n)[layer]
        if layer == range(n)[self.state.layer]:
            return
        self.state.layer = layer
        self.schedule_recompute()

    def _unload(self) -> None:
        if self.state.source is not None:
            self.state.source = None
            self.state.layer = -1

    # ---------------------------------------------------------------- stepping
    def set_step(self, t: int) -> None:
        self.state.step = int(min(max(int(t), 0), self.settings.T - 1))

    def set_reveal_all(self, on: bool) -> None:
        self.state.reveal_all = bool(on)

    def set_unit(self, unit: int) -> None:
        r = self.result
        H = r.cells[0].trace.H if (r is not None and r.settings is self.settings) else self.settings.hidden_size
        self.state.unit = int(min(max(int(unit), 0), H - 1))

    def set_playing(self, on: bool) -> None:
        on = bool(on)
        if on and not self.state.playing and self.state.step >= self.settings.T - 1:
            self.set_step(0)
        self.state.playing = on

    def set_speed(self, steps_per_second: float) -> None:
        self.state.speed = float(min(max(steps_per_second, SPEED_RANGE[0]), SPEED_RANGE[1]))

    def faster(self) -> None:
        self.set_speed(next_speed(self.state.speed, +1))

    def slower(self) -> None:
        self.set_speed(next_speed(self.state.speed, -1))

    def tick(self) -> None:
        """One step of play mode: forward, or stop at the end."""
        if self.state.step >= self.settings.T - 1:
            self.set_playing(False)
        else:
            self.set_step(self.state.step + 1)

    # ----------------------------------------------------------------- compute
    def schedule_recompute(self) -> None:
        """Recompute soon: many changes in one event-loop pass cost one run."""
        self.service.cancel()  # older jobs stop at their next progress report
        self._dirty = True
        if self._schedule is None:
            self.recompute()
        else:
            self._schedule()

    def recompute(self) -> None:
        """Run the engine for the current settings now (the fast parts) and start the slow parts."""
        self._dirty = False
        self.service.submit(self.settings, self.loaded, self.state.layer)

    def settle(self) -> M.Result | None:
        """Finish all pending work on this thread now (no event loop) and return the result."""
        if self._dirty:
            self.recompute()
        return self.service.settle()

    def _on_finished(self, gen: int, result: M.Result) -> None:
        st = self.state
        T, H = result.T, result.cells[0].trace.H
        old_step, old_unit = st.step, st.unit
        # Views redraw the current step on result_changed; tell them about a step or unit only
        # when the new run moved it (a second redraw per slider frame costs real time).
        with st.events.step.blocked(), st.events.unit.blocked():
            st.step = min(old_step, T - 1)
            st.unit = min(old_unit, H - 1)
        self.result_changed.emit(result)
        if st.step != old_step:
            st.events.step.emit(st.step, old_step)
        if st.unit != old_unit:
            st.events.unit.emit(st.unit, old_unit)

    def _on_failed(self, gen: int, message: str) -> None:
        self.last_error = message
        self.error_occurred.emit(message)


def next_speed(v: float, direction: int) -> float:
    if direction > 0:
        return next((s for s in _SPEEDS if s > v + 1e-9), _SPEEDS[-1])
    return next((s for s in reversed(_SPEEDS) if s < v - 1e-9), _SPEEDS[0])


def resize_rows(rows, D: int) -> tuple:
    out = []
    for row in rows:
        row = list(row)[:D]
        out.append(tuple(row + [0.0] * (D - len(row))))
    return tuple(out)
