"""One compute service: every request runs the engine exactly once, newer requests cancel older.

The service is Qt-free. It decides where each part of a run happens:

* a cheap run is computed on the caller's (GUI) thread and delivered at once, so a slider
  frame shows it with no hand-off; its slow curves (perturbation, backward flow, and the exact
  x1 influence when it was deferred) follow through ``later`` — on the caller's thread after
  the frame is painted when they are cheap, else on the worker pool;
* a costly run goes to the pool whole, reporting progress.

Every request gets a generation number. A newer request (or :meth:`cancel`) makes every older
job raise :class:`Cancelled` at its next progress report, and a stale job's result is dropped
on delivery, so what is delivered is always the newest request's. Results are immutable
values (:class:`~rnnviz.core.model.Result`) replaced whole with ``dataclasses.replace``.

Callbacks (``finished``, ``failed``, ``progress``, ``busy``) are psygnal signals emitted on the
owner's thread: worker results travel through ``post``, a callable the owner supplies that runs
a function on its own thread (Qt: a queued signal; tests: a queue they drain).
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from psygnal import Signal

from . import model as M

__all__ = ["Cancelled", "ComputeService", "Plan", "plan"]

#: Runs up to this cost (multiply-adds, see model.cost) are computed on the caller's thread.
#: An LSTM at T = 1000, H = 128, D = 8 is 7.0e7.
SYNC_LIMIT = 7.2e7
#: Above this influence cost (model.influence_cost) a slider frame shows the previous x1
#: curve for a moment and the exact one follows (an LSTM at T = 1000, H = 128, D = 8 is
#: 5.2e8; at D = 1, 6.6e7).
DEFER_INFLUENCE_LIMIT = 1e8
#: Up to this cost the perturbation and backward curves are part of the same frame.
INLINE_LIMIT = 1e5
#: Up to this cost the slow curves are computed on the caller's thread right after the frame;
#: above it, on the pool.
SLOW_SYNC_LIMIT = 4e6


class Cancelled(Exception):
    """Raised inside a job's progress callback when a newer request superseded it."""


@dataclasses.dataclass(frozen=True)
class Plan:
    """Where the parts of one run happen (see the module docstring)."""

    sync: bool  # the fast part runs on the caller's thread
    inline: bool  # … and the slow curves with it (the first result is complete)
    defer_influence: bool  # the fast part reuses the previous x1 curve until the exact one is in
    slow_sync: bool  # the slow curves run on the caller's thread (after the frame), else the pool


def plan(settings: M.Settings, loaded=None) -> Plan:
    c = M.cost(settings, loaded)
    sync = c <= SYNC_LIMIT
    inline = sync and c <= INLINE_LIMIT
    defer = sync and not inline and M.influence_cost(settings, loaded) > DEFER_INFLUENCE_LIMIT
    return Plan(sync, inline, defer, c <= SLOW_SYNC_LIMIT)


class ComputeService:
    """Turns requests (settings, loaded model, layer) into results; see the module docstring.

    Parameters
    ----------
    post : callable(fn)
        Runs ``fn()`` on the owner's thread, soon. Worker results come back through it.
    later : callable(fn), optional
        Runs ``fn()`` on the owner's thread after the current frame is painted (default:
        ``post``). A run that goes to the pool whole starts there.
    paused : callable(fn), optional
        Runs ``fn()`` on the owner's thread once the changes pause (default: ``later``); only
        the newest ``fn`` needs to run. The slow curves of a run whose fast part was computed
        here start there, so a slider drag is not slowed by curves the next tick replaces.
    executor : concurrent.futures.Executor, optional
        Where costly jobs run (default: one worker thread, created on first use).
    """

    finished = Signal(int, object)  # generation, Result
    failed = Signal(int, str)  # generation, one-line message
    progress = Signal(int, float)  # generation, fraction done
    busy = Signal(bool)

    def __init__(self, post: Callable, later: Callable | None = None, executor=None,
                 paused: Callable | None = None):
        self._post = post
        self._later = later or post
        self._paused = paused or self._later
        self._executor = executor
        self._own_executor = executor is None
        self._lock = threading.Lock()
        self._gen = 0
        self._busy = False
        self._request = None  # (settings, loaded, layer) of the newest request
        self._result: M.Result | None = None  # the newest delivered result
        self._jobs_run = 0  # pool jobs that ran to completion (tests check the pool was used)

    # ---------------------------------------------------------------- state
    @property
    def generation(self) -> int:
        return self._gen

    @property
    def result(self) -> M.Result | None:
        return self._result

    @property
    def is_busy(self) -> bool:
        return self._busy

    @property
    def idle(self) -> bool:
        """Nothing pending: the newest request's complete result has been delivered."""
        r = self._result
        return self._request is None or (not self._busy and r is not None and r.complete
                                         and self._matches(r))

    @property
    def jobs_run(self) -> int:
        return self._jobs_run

    def _matches(self, result: M.Result) -> bool:
        s, _loaded, _layer = self._request
        return result.settings is s

    # --------------------------------------------------------------- requests
    def submit(self, settings: M.Settings, loaded=None, layer: int = -1) -> int:
        """Start computing ``settings``; cheap results are delivered before this returns."""
        gen = self._next()
        self._request = (settings, loaded, layer)
        p = plan(settings, loaded)
        if not p.sync:
            # Busy at once (the views say "computing"), but the job starts only after this
            # frame is painted: a running job competes with painting for the GIL.
            self._set_busy(True)
            self.progress.emit(gen, 0.0)
            self._later(lambda: self._current(gen) and self._run_on_pool(
                gen, lambda progress: M.compute(settings, loaded, layer=layer, slow=True, progress=progress)))
            return gen
        try:
            previous = self._result if p.defer_influence else None
            result = M.compute(settings, loaded, layer=layer, slow=p.inline, previous=previous)
            if not p.inline:
                result = carry_slow_curves(result, self._result)
        except Exception as err:  # noqa: BLE001 - reported, never a crash
            self._fail(gen, err)
            return gen
        self._deliver(gen, result)
        self._set_busy(False)  # also ends the indicator of a job this request superseded
        if p.inline:
            return gen
        if p.slow_sync:
            self._paused(lambda: self._complete_here(gen, result))
        else:
            self._paused(lambda: gen == self._gen and self._run_on_pool(
                gen, lambda progress: M.complete(result, progress)))
        return gen

    def cancel(self) -> None:
        """Cancel every job (the newest request stays unanswered until :meth:`settle`)."""
        self._next()
        self._set_busy(False)

    def settle(self) -> M.Result | None:
        """Finish the newest request on this thread now and return its complete result.

        Pool jobs still running are cancelled. No event loop is entered; what the pool would
        have delivered is computed here instead (the same functions, the same numbers).
        """
        if self._request is None:
            return self._result
        r = self._result
        if r is not None and r.complete and self._matches(r) and not self._busy:
            return r
        gen = self._next()
        s, loaded, layer = self._request
        try:
            if r is not None and self._matches(r):
                result = M.complete(r)
            else:
                result = M.compute(s, loaded, layer=layer, slow=True)
        except Exception as err:  # noqa: BLE001
            self._fail(gen, err)
            self._set_busy(False)
            return self._result
        self._deliver(gen, result)
        self._set_busy(False)
        return result

    def shutdown(self) -> None:
        """Cancel every job and stop the pool, telling no one (the owner is going away)."""
        self._next()
        self._busy = False
        if self._own_executor and self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # ------------------------------------------------------------------ inside
    def _next(self) -> int:
        with self._lock:  # jobs read _gen from the pool thread
            self._gen += 1
            return self._gen

    def _current(self, gen: int) -> bool:
        return gen == self._gen

    def _complete_here(self, gen: int, result: M.Result) -> None:
        if not self._current(gen):
            return
        try:
            done = M.complete(result)
        except Exception as err:  # noqa: BLE001
            self._fail(gen, err)
            return
        self._deliver(gen, done)

    def _run_on_pool(self, gen: int, job) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnviz-compute")
        if not self._busy:
            self._set_busy(True)
            self.progress.emit(gen, 0.0)
        post = self._post

        def report(frac: float) -> None:
            if gen != self._gen:
                raise Cancelled
            post(lambda: self._current(gen) and self.progress.emit(gen, float(frac)))

        def work() -> None:
            try:
                result = job(report)
            except Cancelled:
                return
            except Exception as err:  # noqa: BLE001 - reported in the window, never a crash
                post(lambda e=err: self._fail(gen, e))
                return
            self._jobs_run += 1
            post(lambda: self._pool_done(gen, result))

        self._executor.submit(work)

    def _pool_done(self, gen: int, result: M.Result) -> None:
        if not self._current(gen):
            return
        self._deliver(gen, result)
        self._set_busy(False)

    def _deliver(self, gen: int, result: M.Result) -> None:
        if not self._current(gen):
            return
        self._result = result
        self.finished.emit(gen, result)

    def _fail(self, gen: int, err: Exception) -> None:
        if not self._current(gen):
            return
        self._set_busy(False)
        r = self._result
        if r is not None and not r.complete:
            # Nothing half-finished stays on screen as if current: drop the carried-over curves.
            cells = [dataclasses.replace(c, perturbation=None, backward=None) for c in r.cells]
            self._deliver(gen, dataclasses.replace(r, cells=cells, complete=True))
        self.failed.emit(gen, f"{type(err).__name__}: {err}")

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy.emit(busy)


def carry_slow_curves(result: M.Result, previous: M.Result | None) -> M.Result:
    """Show the previous run's slow curves until the new ones are in (no flicker while dragging).

    Only when they have the same shape; the result stays marked incomplete. Every other field
    of the new result (``stale_influence`` above all) is kept: cells are replaced, not rebuilt.
    """
    same = (previous is not None and previous.T == result.T
            and [c.key for c in previous.cells] == [c.key for c in result.cells]
            and all(a.trace.layer == b.trace.layer and type(a.cell) is type(b.cell)
                    and a.cell.gates == b.cell.gates for a, b in zip(previous.cells, result.cells)))
    if not same:  # another cell, layer or length: nothing to show until the new curves are in
        return dataclasses.replace(result, complete=False)
    cells = [
        dataclasses.replace(new, perturbation=old.perturbation,
                            backward=old.backward if result.settings.backward else None)
        for new, old in zip(result.cells, previous.cells)
    ]
    return dataclasses.replace(result, cells=cells, complete=False)
