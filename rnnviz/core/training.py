"""A training session for the app's Train mode: one cell, or three side by side. No Qt.

:class:`TrainSession` trains one model per chosen cell on the same batches (the same task, data
and seed), with the engine's public API (:mod:`rnnviz.engine.train`), and keeps what the
Train views plot: train and test loss, accuracy where the task has classes, ‖∂L/∂h_t‖ per
update (rows = updates), the contributions ‖∂L_T/∂x_k‖ of every earlier input (RNNbow), the
gradient norm, and the weights with their change since the start.

Threads
-------
:meth:`TrainSession.start` runs the updates on a worker thread until :meth:`pause` (or the
configured number of updates); :meth:`step` performs one update on the caller's thread. The
views poll :meth:`snapshot` on a timer: nothing here calls back per update. A snapshot is an
immutable value whose arrays are views of append-only histories (never written again), so it
costs no copy. Models are immutable values replaced whole after each update, so a paused
session always holds a coherent model. :meth:`configure` changes settings at any time: the
live ones (:data:`LIVE_FIELDS`: learning rate, optimiser, clipping, batch, truncation, …)
apply at the next update; any other field rebuilds the models (a reset).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..engine.cells import CHOICES, COMPARE
from ..engine.train import (
    OPTIMIZERS,
    SAMPLE_TEXT,
    TASKS,
    CharText,
    accuracy,
    cross_entropy,
    forward,
    init_model,
    loss_and_grads,
    mse,
    series,
    update,
)

__all__ = [
    "CELL_CHOICES", "COMPARE_CELLS", "LIVE_FIELDS", "MAX_ROWS", "TASK_CHOICES", "RunView", "TaskInfo",
    "TrainConfig", "TrainSession", "TrainSnapshot", "TrainingState", "EXPORT_SUFFIXES", "export_model", "state_from_plain",
    "state_plain", "OutputRow", "output_row", "single_blas_thread", "task_info",
]

#: The tasks the Train mode offers, by key (``input``: next-value prediction on the Explore input).
TASK_CHOICES = {
    "adding": "Adding problem",
    "recall": "Recall x₁ (sign)",
    "sine": "Sine: next value",
    "text": "Text: next character",
    "input": "Current input: next value",
}
#: The "all three" choice: the compared cells side by side on the same data and seed.
COMPARE_CELLS = "compare"
CELL_CHOICES = {**{key: c.label for key, c in CHOICES.items()}, COMPARE_CELLS: "RNN, GRU and LSTM"}
#: Fields that apply at the next update; changing any other field resets the session.
LIVE_FIELDS = frozenset({"optimizer", "lr", "momentum", "clip", "batch", "truncate", "steps", "test_every"})
#: The ‖∂L/∂h_t‖ heatmap keeps at most this many rows; beyond, every other row is dropped and
#: rows are kept at twice the stride.
MAX_ROWS = 4096
#: Limits the controls and the session files check.
LIMITS = dict(length=(2, 500), hidden_size=(1, 256), batch=(1, 1024), truncate=(0, 500), steps=(0, 1_000_000),
              test_batch=(1, 4096), test_every=(1, 1000), seed=(0, 2**31 - 1), layers=(1, 4))
#: The text task's text, in characters (what a session file's text field holds at most).
MAX_TEXT = 20_000
#: The text task's vocabulary at most: the model's input and output size V (one-hot input, a
#: softmax over V classes), which a session reopens and Explore draws.
MAX_VOCAB = 256
#: One batch (training or test) holds at most this many input values, B × T × D.
MAX_BATCH_VALUES = 1 << 24
#: For every-step losses the contributions ∂L_T/∂x_k take a second backward pass; it runs
#: every this many updates (a last-step loss gets them free, at every update).
CONTRIB_EVERY = 5


@dataclass(frozen=True)
class TrainConfig:
    """Everything the Train controls set. ``clip`` 0 means no clipping, ``truncate`` 0 full BPTT,
    ``steps`` 0 no limit. ``length`` is T (for ``recall`` the delay is T − 1)."""

    task: str = "adding"
    length: int = 20
    cell: str = "rnn_tanh"  # a cell choice key, or "compare"
    hidden_size: int = 16
    layers: int = 1
    optimizer: str = "adam"
    lr: float = 1e-2
    momentum: float = 0.0
    clip: float = 1.0
    batch: int = 32
    truncate: int = 0
    seed: int = 0
    #: W_hh × this at the start (Explore's "Recurrent weights ×"): above about 1/ρ(W_hh) the
    #: gradients explode
    recurrent_scale: float = 1.0
    steps: int = 0
    test_batch: int = 128
    test_every: int = 5
    text: str = SAMPLE_TEXT
    series: tuple = ()  # the values of task "input" (the Explore input's first column)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    @property
    def cells(self) -> tuple[str, ...]:
        return tuple(COMPARE) if self.cell == COMPARE_CELLS else (self.cell,)

    def check(self) -> "TrainConfig":
        """Self, or a ValueError naming the first bad field."""
        if self.task not in TASK_CHOICES:
            raise ValueError(f"unknown task {self.task!r}; expected one of {', '.join(TASK_CHOICES)}")
        if self.cell not in CELL_CHOICES:
            raise ValueError(f"unknown cell {self.cell!r}; expected one of {', '.join(CELL_CHOICES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimiser {self.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
        for name, (lo, hi) in LIMITS.items():
            v = getattr(self, name)
            if int(v) != v or not lo <= v <= hi:
                raise ValueError(f"{name} must be a whole number from {lo} to {hi}, not {v!r}")
        if not (np.isfinite(self.lr) and 0 < self.lr <= 10):
            raise ValueError(f"the learning rate must lie in (0, 10], not {self.lr!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), not {self.momentum!r}")
        if not (np.isfinite(self.recurrent_scale) and 0 < self.recurrent_scale <= 10):
            raise ValueError(f"the recurrent scale must lie in (0, 10], not {self.recurrent_scale!r}")
        if not (np.isfinite(self.clip) and self.clip >= 0):
            raise ValueError(f"the clipping norm must be ≥ 0 (0: off), not {self.clip!r}")
        if len(self.text) > MAX_TEXT:
            raise ValueError(f"the text has {len(self.text):,} characters; at most {MAX_TEXT:,}")
        if self.task == "text" and (len(self.text) <= self.length or len(set(self.text)) < 2):
            raise ValueError(f"the text needs more than {self.length} characters and two different ones")
        if self.task == "text" and len(set(self.text)) > MAX_VOCAB:
            raise ValueError(f"the text uses {len(set(self.text)):,} different characters; at most {MAX_VOCAB}")
        if self.task == "input" and len(self.series) <= self.length:
            raise ValueError(f"the current input has {len(self.series)} steps; the task needs more than "
                             f"T = {self.length}")
        D = len(set(self.text)) if self.task == "text" else 2
        for name in ("batch", "test_batch"):
            n = getattr(self, name) * self.length * D
            if n > MAX_BATCH_VALUES:
                raise ValueError(f"{name} × T × D = {n:,} input values; at most {MAX_BATCH_VALUES:,} "
                                 "(a smaller batch or T)")
        return self


@dataclass(frozen=True, eq=False)
class TaskInfo:
    """What a task needs from a model and how it is scored."""

    key: str
    label: str
    make: Callable  # (batch, seed) -> (xs (B, T, D), ys, mask (B, T))
    loss: str  # "mse" or "xent"
    input_size: int
    output_size: int
    metric: str  # "accuracy" or "mse"
    baseline: float  # chance accuracy, or the MSE of the best constant answer
    last_only: bool  # the loss reads the last step only
    chars: CharText | None = None  # the text task's vocabulary


def task_info(config: TrainConfig) -> TaskInfo:
    T = int(config.length)
    key = config.task
    label = TASK_CHOICES[key]
    if key == "text":
        ct = CharText(config.text)
        return TaskInfo(key, label, lambda b, s: ct.make(b, T, s), "xent", ct.size, ct.size, "accuracy",
                        1.0 / ct.size, False, ct)
    if key == "input":
        values = np.asarray(config.series, dtype=np.float64)
        base = float(np.var(values[1:])) if values.size > 1 else 0.0
        return TaskInfo(key, label, lambda b, s: series(values, b, T, s), "mse", 1, 1, "mse", base, False)
    task = TASKS[key]
    if key == "recall":
        make = lambda b, s: task.make(b, T - 1, s)  # noqa: E731 - delay = T − 1
    else:
        make = lambda b, s: task.make(b, T, s)  # noqa: E731
    return TaskInfo(key, label, make, task.loss, task.input_size, task.output_size, task.metric,
                    task.baseline, key in ("recall", "adding"))


def _seed(seed: int, k: int) -> int:
    """The seed of update k's batch (k ≥ 0) or of the test batch (k = −1): one stream per k."""
    return int(np.random.SeedSequence([int(seed), int(k) + 1]).generate_state(1)[0])


class _Rows:
    """An append-only table of rows. :meth:`view` never changes once returned (rows are only
    added after it, or the whole array is replaced)."""

    def __init__(self, width: int | None = None, dtype=np.float64, capacity: int = 256):
        shape = (capacity,) if width is None else (capacity, width)
        self._a = np.zeros(shape, dtype)
        self._n = 0

    def append(self, row) -> None:
        if self._n == len(self._a):
            bigger = np.zeros((2 * len(self._a),) + self._a.shape[1:], self._a.dtype)
            bigger[: self._n] = self._a[: self._n]
            self._a = bigger
        self._a[self._n] = row
        self._n += 1

    def halve(self) -> None:
        """Keep every other row (the first, the third, …), in a new array."""
        kept = self._a[: self._n : 2].copy()
        self._a = np.zeros_like(self._a)
        self._a[: len(kept)] = kept
        self._n = len(kept)

    def __len__(self) -> int:
        return self._n

    def view(self) -> np.ndarray:
        v = self._a[: self._n]
        v.flags.writeable = False  # a view: the owner's array stays writable
        return v


@dataclass(frozen=True, eq=False)
class RunView:
    """One cell's training as it stands (every array read-only).

    ``updates``/``train_loss``/``grad_norm``/``train_acc`` have one entry per update (the loss
    of the batch before its step); ``test_updates``/``test_loss``/``test_acc`` one per test (update
    0 is the untrained model); ``dh_rows`` (rows, T) holds ‖∂L/∂h_t‖ of the updates
    ``dh_updates``; ``contrib`` (T,) ‖∂L_T/∂x_k‖ of the newest measured update (k = 1 … T).
    """

    key: str
    label: str
    model: object  # engine.train.Model
    initial: object  # the model before the first update
    updates: np.ndarray
    train_loss: np.ndarray
    grad_norm: np.ndarray
    train_acc: np.ndarray | None
    test_updates: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray | None
    dh_updates: np.ndarray
    dh_rows: np.ndarray
    contrib: np.ndarray | None
    error: str | None = None  # why this run stopped (a loss that became inf or NaN)

    def weights(self) -> dict[str, np.ndarray]:
        """The parameters by PyTorch name."""
        return self.model.state_dict()

    def change(self) -> dict[str, np.ndarray]:
        """Each parameter minus its value before the first update."""
        now, start = self.model.state_dict(), self.initial.state_dict()
        return {n: now[n] - start[n] for n in now}

    @property
    def last_test_loss(self) -> float:
        return float(self.test_loss[-1]) if len(self.test_loss) else float("nan")

    @property
    def last_test_acc(self) -> float | None:
        return None if self.test_acc is None or not len(self.test_acc) else float(self.test_acc[-1])


@dataclass(frozen=True, eq=False)
class TrainSnapshot:
    """The session at one moment; ``version`` grows with every change (a poller redraws only then)."""

    version: int
    config: TrainConfig
    task: TaskInfo
    updates: int
    running: bool
    runs: tuple  # RunView, one per cell
    updates_per_second: float = 0.0
    error: str | None = None  # the last thing that stopped training (the runs say which)


class _Run:
    """One cell's mutable training state; only the session touches it, under its lock."""

    def __init__(self, key: str, model, T: int, has_classes: bool):
        self.key = key
        self.label = CHOICES[key].label
        self.model = self.initial = model
        self.opt_state = None
        self.opt_key = None  # (optimizer name, momentum) the state belongs to
        self.updates = _Rows(dtype=np.int64)
        self.train_loss = _Rows()
        self.grad_norm = _Rows()
        self.train_acc = _Rows() if has_classes else None
        self.test_updates = _Rows(dtype=np.int64)
        self.test_loss = _Rows()
        self.test_acc = _Rows() if has_classes else None
        self.dh_updates = _Rows(dtype=np.int64)
        self.dh_rows = _Rows(T, np.float32)
        self.dh_stride = 1
        self.contrib = None
        self.error = None

    def view(self) -> RunView:
        def v(rows):
            return None if rows is None else rows.view()

        return RunView(self.key, self.label, self.model, self.initial, v(self.updates), v(self.train_loss),
                       v(self.grad_norm), v(self.train_acc), v(self.test_updates), v(self.test_loss),
                       v(self.test_acc), v(self.dh_updates), v(self.dh_rows), self.contrib, self.error)


class TrainSession:
    """Train one model per chosen cell on the same batches; see the module docstring.

    ``dtype`` is the working precision (float32, PyTorch's default, is about twice as fast).
    """

    def __init__(self, config: TrainConfig | None = None, dtype=np.float32):
        self._lock = threading.RLock()
        self._dtype = np.dtype(dtype).type
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._busy = threading.Lock()  # held by whoever performs an update
        self._version = 0
        self._rate = 0.0
        self._error = None
        self._builds = 0
        self._hold_until = 0.0
        self._build((config or TrainConfig()).check())

    # ---------------------------------------------------------------- reading
    @property
    def config(self) -> TrainConfig:
        return self._config

    @property
    def task(self) -> TaskInfo:
        return self._task

    @property
    def updates(self) -> int:
        return self._updates

    @property
    def running(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive() and not self._stop.is_set()

    @property
    def version(self) -> int:
        return self._version

    @property
    def revision(self) -> tuple:
        """Changes whenever what a session file keeps of the training does: the settings, the
        number of updates, and the models' start (a restore gives a new one; untrained models
        are the seed's, whichever build made them)."""
        with self._lock:
            return (self._config, self._updates, self._builds if self._updates else 0)

    def snapshot(self) -> TrainSnapshot:
        with self._lock:
            return TrainSnapshot(self._version, self._config, self._task, self._updates, self.running,
                                 tuple(r.view() for r in self._runs), self._rate, self._error)

    def models(self) -> dict:
        """The current model of every run, by cell key."""
        with self._lock:
            return {r.key: r.model for r in self._runs}

    def test_batch(self):
        """(xs, ys, mask) of the fixed test batch every test loss is measured on."""
        return self._test

    def test_sequence(self, index: int = 0):
        """(xs (T, D), ys, mask (T,)) of one test sequence (what Explore steps through)."""
        xs, ys, mask = self._test
        return xs[index], ys[index], mask[index]

    def sample(self, key: str | None = None, prefix: str | None = None, n: int = 120, temperature: float = 0.7,
               seed: int = 0) -> str:
        """Text from a trained character model (task "text"): ``n`` characters after ``prefix``."""
        chars = self._task.chars
        if chars is None:
            raise ValueError("only the text task samples characters")
        model = self.models()[key or self._runs[0].key]
        prefix = prefix or self._config.text[: min(10, len(self._config.text))]
        return chars.sample(model, prefix, n, temperature=temperature, seed=seed)

    # ---------------------------------------------------------------- changes
    def configure(self, **changes) -> bool:
        """Change settings; returns True when that reset the session (a non-live field changed).

        Live fields apply at the next update, also while training runs. Raises ValueError
        (and changes nothing) for a bad value.
        """
        with self._lock:
            old = self._config
            changes = {k: v for k, v in changes.items() if getattr(old, k) != v}
            if not changes:
                return False
            new = old.replace(**changes).check()
            if changes.keys() <= LIVE_FIELDS:
                self._config = new
                self._version += 1
                return False
        self.pause()
        with self._lock:
            self._build(new)
        return True

    def reset(self) -> None:
        """Back to the untrained models (the same seed gives the same start)."""
        self.pause()
        with self._lock:
            self._build(self._config)

    def start(self) -> None:
        """Train on a worker thread until :meth:`pause`, the ``steps`` limit or a failure."""
        if self.running:
            return
        self.pause()  # a worker that is finishing its last update
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rnnviz-train", daemon=True)
        with self._lock:
            self._version += 1
        self._thread.start()

    def pause(self) -> None:
        """Stop after the update in progress (the models are then those after it)."""
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join()
        self._thread = None
        with self._lock:
            self._version += 1

    def step(self, n: int = 1) -> int:
        """Perform up to ``n`` updates on this thread (none while the worker runs); returns how many."""
        if self.running:
            return 0
        done = 0
        for _ in range(int(n)):
            if not self._update():
                break
            done += 1
        return done

    def hold(self, seconds: float) -> None:
        """Let the worker wait up to ``seconds`` from now before its next update (or its next
        cell's): the GUI thread has a frame to compute and paint, and a worker holding the
        interpreter through numpy-heavy updates makes it wait at every return from Qt."""
        self._hold_until = max(self._hold_until, time.monotonic() + float(seconds))

    def _held(self) -> None:
        if threading.current_thread() is not self._thread:
            return
        while not self._stop.is_set():
            wait = self._hold_until - time.monotonic()  # a newer hold may extend it meanwhile
            if wait <= 0:
                return
            self._stop.wait(min(wait, 0.25))

    def run_until(self, steps: int) -> None:
        """Train on this thread until ``steps`` updates in all (tests, lessons' checks, benchmarks)."""
        while self._updates < steps and self._update():
            pass

    def close(self) -> None:
        self.pause()

    def state(self, mode: str = "train", with_models: bool = True) -> TrainingState:
        """What a session file keeps (the models only once they have been trained)."""
        with self._lock:
            models = {r.key: r.model.state_dict() for r in self._runs} if with_models and self._updates else {}
            return TrainingState(self._config, mode, self._updates if models else 0, models)

    def restore(self, state: TrainingState) -> None:
        """Start from ``state``: its settings, and its trained models (training goes on from them,
        with a fresh optimiser; the curves start again at update ``state.updates``)."""
        self.pause()
        with self._lock:
            self._build(state.config.check())
            if state.models:
                for run in self._runs:
                    if run.key in state.models:
                        run.model = run.model.with_state(state.models[run.key])
                    run.test_updates, run.test_loss = _Rows(dtype=np.int64), _Rows()
                    run.test_acc = _Rows() if run.test_acc is not None else None
                self._updates = int(state.updates)
                for run in self._runs:
                    self._test_run(run, self._updates)
            self._version += 1

    # ---------------------------------------------------------------- inside
    def _build(self, config: TrainConfig) -> None:
        task = task_info(config)
        self._config, self._task = config, task
        self._builds += 1
        self._updates = 0
        self._error = None
        self._rate = 0.0
        self._test = task.make(config.test_batch, _seed(config.seed, -1))
        self._runs = []
        for key in config.cells:
            choice = CHOICES[key]
            model = init_model(choice.kind, task.input_size, config.hidden_size, task.output_size,
                               layers=config.layers, seed=config.seed, **choice.options)
            if config.recurrent_scale != 1.0:
                model = model.with_state({n: a * config.recurrent_scale for n, a in model.state_dict().items()
                                          if ".weight_hh_" in n})
            run = _Run(key, model, config.length, task.metric == "accuracy")
            self._test_run(run, 0)
            self._runs.append(run)
        self._version += 1

    def _optimizer(self, run: _Run, config: TrainConfig):
        cls = OPTIMIZERS[config.optimizer]
        opt = cls(lr=config.lr, momentum=config.momentum) if config.optimizer == "sgd" else cls(lr=config.lr)
        key = (config.optimizer, config.momentum)
        if run.opt_key != key:  # another optimiser (or momentum): its state starts afresh
            run.opt_state, run.opt_key = opt.init(run.model.state_dict(np.dtype(self._dtype))), key
        return opt

    def _test_run(self, run: _Run, k: int) -> None:
        xs, ys, mask = self._test
        with np.errstate(all="ignore"):
            y, _ = forward(run.model, xs, dtype=self._dtype)
            if self._task.loss == "mse":
                loss, _ = mse(y, ys, mask)
            else:
                loss, _ = cross_entropy(y, ys, mask)
        run.test_updates.append(k)
        run.test_loss.append(loss)
        if run.test_acc is not None:
            run.test_acc.append(accuracy(y, ys, mask))

    def _contrib(self, model, xs, ys, mask, truncate):
        """‖∂L_T/∂x_k‖ for the loss at the last step only (a second pass)."""
        last = np.zeros_like(mask)
        last[:, -1] = 1
        n = min(len(xs), 8)
        with np.errstate(all="ignore"):
            g = loss_and_grads(model, xs[:n], ys[:n], last[:n], loss=self._task.loss, truncate=truncate,
                               dtype=self._dtype)
        return np.sqrt(np.sum(np.square(g.dx, dtype=np.float64), axis=(0, 2)))

    def _update(self) -> bool:
        """One update of every live run; False when there is nothing (more) to do."""
        with self._busy:
            with self._lock:
                config = self._config
                k = self._updates
                runs = [r for r in self._runs if r.error is None]
                if not runs or (config.steps and k >= config.steps):
                    return False
                opts = [self._optimizer(r, config) for r in runs]
                task = self._task
            t0 = time.perf_counter()
            xs, ys, mask = task.make(config.batch, _seed(config.seed, k))
            clip = config.clip or None
            truncate = config.truncate or None
            results = []
            for n, (run, opt) in enumerate(zip(runs, opts)):
                if n:
                    self._held()  # between cells: the update still completes (pause keeps a whole one)
                try:
                    model, state, info = update(run.model, opt, run.opt_state, xs, ys, mask, loss=task.loss,
                                                clip=clip, truncate=truncate, dtype=self._dtype)
                except FloatingPointError as err:
                    results.append((run, None, None, None, None, f"{run.label}: {err}"))
                    continue
                contrib = info.dx_norm if task.last_only else (
                    self._contrib(run.model, xs, ys, mask, truncate) if k % CONTRIB_EVERY == 0 else None)
                acc = accuracy(info.y, ys, mask) if run.train_acc is not None else None
                results.append((run, model, state, info, (contrib, acc), None))
            dt = time.perf_counter() - t0
            with self._lock:
                if self._config.cells != config.cells or k != self._updates:
                    return False  # reset meanwhile (cannot happen while _busy is held, but be safe)
                for run, model, state, info, extra, error in results:
                    if error is not None:
                        run.error = error
                        self._error = error
                        continue
                    contrib, acc = extra
                    run.model, run.opt_state = model, state
                    run.updates.append(k)
                    run.train_loss.append(info.loss)
                    run.grad_norm.append(info.grad_norm)
                    if acc is not None:
                        run.train_acc.append(acc)
                    if k % run.dh_stride == 0:
                        run.dh_updates.append(k)
                        run.dh_rows.append(info.dh_norm)
                        if len(run.dh_rows) >= MAX_ROWS:
                            run.dh_rows.halve()
                            run.dh_updates.halve()
                            run.dh_stride *= 2
                    if contrib is not None:
                        run.contrib = np.asarray(contrib, dtype=np.float64)
                        run.contrib.flags.writeable = False
                self._updates = k + 1
                test_every = max(1, int(self._config.test_every))
                if self._updates % test_every == 0:
                    for run in runs:
                        if run.error is None:
                            self._test_run(run, self._updates)
                self._rate = 1.0 / dt if self._rate == 0 else 0.9 * self._rate + 0.1 / max(dt, 1e-6)
                self._version += 1
            return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._held()
            if self._stop.is_set() or not self._update():
                break
            time.sleep(0)  # let the GUI thread have the interpreter between updates
        with self._lock:
            self._version += 1


@dataclass(frozen=True, eq=False)
class TrainingState:
    """What a session file keeps of the Train mode: the settings, which mode the window shows,
    and each cell's parameters (PyTorch names) after ``updates`` updates. The curves are not kept."""

    config: TrainConfig
    mode: str = "train"  # or "explore"
    updates: int = 0
    models: dict = field(default_factory=dict)  # cell key -> {name: array}


def state_from_plain(d: dict) -> TrainingState:
    """A :class:`TrainingState` from a session's checked plain dict; ValueError for bad contents."""
    values = {}
    defaults = TrainConfig()
    for k, v in d["config"].items():
        if k not in FIELDS:
            raise ValueError(f"unknown setting config.{k}")
        default = getattr(defaults, k)
        if isinstance(default, str):
            if not isinstance(v, str):
                raise ValueError(f"config.{k} must be text")
        elif isinstance(default, tuple):
            if not isinstance(v, tuple):
                raise ValueError(f"config.{k} must be a list of numbers")
        elif isinstance(default, int):
            if isinstance(v, bool) or int(v) != v:
                raise ValueError(f"config.{k} must be a whole number")
            v = int(v)
        else:
            v = float(v)
        values[k] = v
    config = TrainConfig(**values).check()
    task = task_info(config)
    models = {}
    for key, params in d.get("models", {}).items():
        if key not in config.cells:
            raise ValueError(f"models.{key} is not a cell of config.cell ({config.cell})")
        choice = CHOICES[key]
        want = init_model(choice.kind, task.input_size, config.hidden_size, task.output_size, layers=config.layers,
                          seed=0, **choice.options).state_dict()
        if sorted(params) != sorted(want):
            raise ValueError(f"models.{key} has the parameters {', '.join(sorted(params))}; expected "
                             f"{', '.join(want)}")
        for name, a in params.items():
            if np.shape(a) != want[name].shape:
                raise ValueError(f"models.{key}.{name} has shape {np.shape(a)}; expected {want[name].shape}")
        models[key] = {n: np.asarray(a, dtype=np.float64) for n, a in params.items()}
    return TrainingState(config, d.get("mode", "train"), int(d.get("updates", 0)), models)


def state_plain(state: TrainingState) -> dict:
    return {"config": {f: getattr(state.config, f) for f in FIELDS}, "mode": state.mode,
            "updates": int(state.updates), "models": state.models}


@dataclass(frozen=True, eq=False)
class OutputRow:
    """The output layer along one Explore run, ready to draw: ``y`` (T, O) the outputs
    (probabilities, softmax of the logits, for a task with classes), ``targets`` (T, O)
    floats or (T,) class indices and ``mask`` (T,) which steps the loss reads."""

    y: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    classes: bool
    chars: tuple | None = None  # the text task's symbols (class index -> character)
    # A loaded model's head (core.wholemodel.head_row): no targets; what each class is, the
    # token each step read, the head's name, whether the model returns y_T only, and whether
    # y is bounded in [0, 1].
    labels: tuple | None = None
    inputs: tuple | None = None
    head: str | None = None
    last_only: bool = False
    bounded: bool = True


def output_row(model, h, ys, mask, task: TaskInfo) -> OutputRow:
    """y_t = g(W_hy h_t + b_y) of ``model`` (engine.train.Model) for Explore's h (T, H)."""
    from ..engine.train import softmax

    z = model.fc.logits(np.asarray(h, dtype=np.float64))
    classes = task.loss == "xent"
    y = softmax(z) if classes else model.fc.activate(z)
    return OutputRow(np.ascontiguousarray(y, dtype=np.float32), np.asarray(ys), np.asarray(mask).astype(bool),
                     classes, None if task.chars is None else task.chars.chars)


def single_blas_thread() -> bool:
    """Make the loaded OpenBLAS use one thread; True if it did.

    Training multiplies many small matrices: on a 2-core machine OpenBLAS's thread pool made
    an update 2.4× slower (three cells, H = 16, T = 20: 14 → 33 updates/s) and a text model
    15× slower. ``OPENBLAS_NUM_THREADS=1`` does the same but only before NumPy is imported;
    this finds the library NumPy loaded (as threadpoolctl does) and asks it at run time.
    Linux only; elsewhere, or without OpenBLAS, nothing changes.
    """
    import ctypes

    try:
        with open("/proc/self/maps") as fh:
            libs = sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return False
    done = False
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(ctypes.c_int(1))
                done = True
                break
    return done


#: What the Train mode exports a trained model as: RNNModel's names, or Keras 3's layout.
EXPORT_SUFFIXES = (".safetensors", ".npz", ".weights.h5")


def export_model(model, path) -> None:
    """Write a trained model (engine.train.Model) atomically: with PyTorch's names
    (``rnn.weight_ih_l0`` … ``fc.bias``, float64) to ``.safetensors`` or ``.npz``, so
    ``RNNModel.load_state_dict`` takes it, or as a Keras 3 ``.weights.h5`` (float32) of
    ``Sequential([Input((None, D)), <cell>(H, return_sequences=True) …, Dense(O)])``.
    Raises InputError for another suffix or a model the format cannot hold."""
    import os

    from ..engine.errors import InputError
    from ..io.weights import FORMATS
    from ..io.weights.keras_write import SUFFIX as KERAS, write_keras_weights

    fspath = os.fsdecode(path)
    if fspath.lower().endswith(KERAS):
        write_keras_weights(fspath, model.rnn.layers, (model.fc.W_hy, model.fc.b_y))
        return
    ext = os.path.splitext(fspath)[1].lower()
    if ext not in (".safetensors", ".npz"):
        raise InputError(f"cannot export a trained model as {ext or '(no extension)'}; expected "
                         f"{', '.join(EXPORT_SUFFIXES)}", fspath)
    tensors = {n: np.ascontiguousarray(a, dtype=np.float64) for n, a in model.state_dict().items()}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # .npz records no nonlinearity: the caller knows
        FORMATS[ext].write(fspath, tuple(model.rnn.layers), tensors)


def _field_names() -> tuple:
    return tuple(f.name for f in dataclasses.fields(TrainConfig))


FIELDS = _field_names()
