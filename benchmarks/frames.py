"""Where a slider change is actually painted: an event filter shared by the GUI benchmarks.

:class:`FrameProbe` watches one window from the outside (no app code changes):

* the slider's ``valueChanged`` (and, in a real window, the mouse event that caused it, with the
  X server's timestamp of that event);
* the controller's ``resultChanged`` (the change is computed);
* every ``Paint`` event, attributed to the panel it belongs to, with the painted area;
* the window's ``UpdateRequest``: Qt paints every dirty widget into the backing store and
  flushes it to the screen while handling it, so the end of that event is the end of the frame.

A change's latency ends with the first frame that ends after a result for that change (or a
newer one) was published and that repainted at least one view panel ("frame"); "settled" ends
with the last frame painted before a newer result replaced it (a change can take several
frames: every QGraphicsScene that changed flushes a frame of its own).
"""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtCore, QtWidgets

VIEW_PANELS = ("state", "gates", "fading", "equations")


def host_reference_ms(repeats: int = 7) -> float:
    """How fast this shared machine is right now: the median time of a fixed piece of work
    shaped like a slider tick's (a Python loop of small NumPy steps, H = 32, 600 steps).
    The same code runs 1.5-2x slower in a busy phase of the host; quoting this beside a
    figure lets figures from different minutes be compared (lower is faster)."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((32, 96)) * 0.2
    xs = rng.standard_normal((600, 96))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        h = np.zeros(32)
        a = np.empty(96)
        for x in xs:
            np.matmul(h, W, out=a)
            np.add(a, x, out=a)
            np.tanh(a, out=a)
            h = a[:32] * a[32:64] + a[64:]
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def panels_of(window) -> dict[str, QtWidgets.QWidget]:
    """The window's areas by name, in the order a Paint event is attributed to them."""
    return {
        "state": window.statePanel,
        "gates": window.gatePanel,
        "fading": window.panelContainer("fadingPanel"),  # its tab group: whichever view is in front
        "equations": window.equationPanel,
        "controls": window.controlsScroll,
        "transport": window.transport,
        "status": window.statusBar(),
        "banner": window.banner,
    }


def stats(values) -> dict:
    if not len(values):
        return {"n": 0, "median": float("nan"), "p95": float("nan"), "max": float("nan")}
    a = np.asarray(values, float)
    return {"n": int(a.size), "median": float(np.median(a)), "p95": float(np.percentile(a, 95)),
            "max": float(a.max())}


def _x_time(x_ms: int, now: float) -> float | None:
    """An X event's timestamp on this clock, or None.

    Xvfb stamps events with CLOCK_MONOTONIC in ms, modulo 2**32; perf_counter is the same clock
    on Linux. A result that puts the event in the future or more than 5 s back is rejected.
    """
    now_ms = now * 1e3
    t = (now_ms // 2**32) * 2**32 + x_ms
    if t > now_ms + 2:
        t -= 2**32
    return t / 1e3 if 0 <= now_ms - t < 5000 else None


class SyntheticDrag(QtCore.QObject):
    """An offscreen stand-in for a mouse drag on a QSlider: press on the handle, then every
    ``period`` seconds the pointer is where a hand moving ``step_px`` per period would be, back
    and forth along the groove, then release. Like the X server with Qt's motion compression,
    a busy GUI thread sees only the latest position; the probe times changes from the moment
    that position was reached."""

    def __init__(self, probe, moves=120, step_px=3, period=0.008):
        super().__init__()
        from PySide6.QtWidgets import QStyle, QStyleOptionSlider

        self.probe, self.slider = probe, probe.slider
        self.moves, self.step_px, self.period = moves, step_px, period
        opt = QStyleOptionSlider()
        self.slider.initStyleOption(opt)
        style = self.slider.style()
        cc = QStyle.ComplexControl.CC_Slider
        handle = style.subControlRect(cc, opt, QStyle.SubControl.SC_SliderHandle, self.slider)
        groove = style.subControlRect(cc, opt, QStyle.SubControl.SC_SliderGroove, self.slider)
        self.y = handle.center().y()
        self.x0 = handle.center().x()
        self.lo, self.hi = groove.left() + 6, groove.right() - 6
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(max(1, round(period * 1e3 / 2)))
        self.timer.timeout.connect(self._tick)

    def _x_at(self, k: int) -> int:
        x, d = self.x0, 1
        for _ in range(k):
            if not self.lo <= x + d * self.step_px <= self.hi:
                d = -d
            x += d * self.step_px
        return x

    def _send(self, kind, x, buttons):
        from PySide6 import QtGui

        pos = QtCore.QPointF(x, self.y)
        button = QtCore.Qt.MouseButton.LeftButton if kind != QtCore.QEvent.Type.MouseMove else QtCore.Qt.MouseButton.NoButton
        ev = QtGui.QMouseEvent(kind, pos, QtCore.QPointF(self.slider.mapToGlobal(pos.toPoint())), button,
                               buttons, QtCore.Qt.KeyboardModifier.NoModifier)
        QtWidgets.QApplication.sendEvent(self.slider, ev)

    def run(self) -> None:
        app = QtWidgets.QApplication.instance()
        left = QtCore.Qt.MouseButton.LeftButton
        self._send(QtCore.QEvent.Type.MouseButtonPress, self.x0, left)
        self.t0, self.sent, self.done = self.probe.clock(), 0, False
        self.timer.start()
        while not self.done:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        self.timer.stop()
        self._send(QtCore.QEvent.Type.MouseButtonRelease, self._x_at(self.moves), QtCore.Qt.MouseButton.NoButton)
        self.probe.synthetic_time = None

    def _tick(self) -> None:
        k = min(self.moves, int((self.probe.clock() - self.t0) / self.period))
        if k > self.sent:
            self.sent = k
            self.probe.synthetic_time = self.t0 + k * self.period
            self._send(QtCore.QEvent.Type.MouseMove, self._x_at(k), QtCore.Qt.MouseButton.LeftButton)
        if k >= self.moves:
            self.done = True


_PAINT = QtCore.QEvent.Type.Paint
_UPDATE_REQUEST = QtCore.QEvent.Type.UpdateRequest
_TIMER = QtCore.QEvent.Type.Timer
_MOUSE = (QtCore.QEvent.Type.MouseMove, QtCore.QEvent.Type.MouseButtonPress)


class FrameProbe(QtCore.QObject):
    """Records changes, results and frames through event filters.

    By default it watches only what the latencies need: the window (its frames), the slider
    (the mouse events) and the widgets of the view panels (whether a frame repainted one). An
    application-wide Python filter sees every event of the app (~60 a slider tick) and cost
    ~0.5 ms of each tick's GUI time, 5 % of the figure it measures. ``paint_times`` (``-v``)
    watches the whole application and times each widget's paint (delivering its paint event
    itself, once more through this filter): where the time goes, at some cost to every frame;
    the areas every frame repainted and the timers' work are counted only then."""

    def __init__(self, window, slider, clock=time.perf_counter, paint_times=False):
        super().__init__()
        self.window, self.slider, self.clock = window, slider, clock
        self.paint_times = paint_times
        self.controller = window.controller
        self._owner = {}  # id(widget) -> panel name (cache of the parent walk)
        self._panels = panels_of(window)
        self._panel_ids = {id(w): name for name, w in self._panels.items()}
        self.changes: list[dict] = []  # one per valueChanged
        self.frames: list[dict] = []  # one per UpdateRequest of the window
        self.results: list[float] = []
        self._pending: list[dict] = []  # computed or not, not painted yet
        self._input = None  # (arrival time, event time) of the last mouse event on the slider
        #: set by a synthetic driver to the time its mouse event "happened" (offscreen drags)
        self.synthetic_time: float | None = None
        self._frame = None
        self._timing = None  # the widget whose paint event is being timed
        self.spans: list[tuple[str, float, float]] = []  # (kind, start, end) of timer work
        # a change recomputes at once, inside the slider's handler: time App.recompute itself
        app = self.controller.app
        run = app.recompute

        def timed_recompute():
            t0 = self.clock()
            try:
                return run()
            finally:
                if self.enabled:
                    self.spans.append(("recompute", t0, self.clock()))

        app.recompute = timed_recompute
        self.enabled = True
        self.cpu0, self.wall0 = time.thread_time(), clock()
        slider.valueChanged.connect(self._onValue)  # after the app's own slot: settings are new
        self.controller.resultChanged.connect(self._onResult)
        self._watched: list = []
        self._watch()

    def _watch(self) -> None:
        """Install the filter where it is needed (again after a reset: panels may have new
        widgets)."""
        self._unwatch()
        if self.paint_times:
            targets = [QtWidgets.QApplication.instance()]
        else:
            targets = [self.window, self.slider]
            for name in VIEW_PANELS:
                panel = self._panels.get(name)
                if panel is not None:
                    targets += [panel, *panel.findChildren(QtWidgets.QWidget)]
        for obj in targets:
            obj.installEventFilter(self)
        self._watched = targets

    def _unwatch(self) -> None:
        import shiboken6

        for obj in self._watched:
            if shiboken6.isValid(obj):
                obj.removeEventFilter(self)
        self._watched = []

    def close(self) -> None:
        self._unwatch()
        self.slider.valueChanged.disconnect(self._onValue)
        self.controller.resultChanged.disconnect(self._onResult)

    def reset(self) -> None:
        self._watch()
        self._current = []
        self.cpu0, self.wall0 = time.thread_time(), self.clock()
        self.changes, self.frames, self.results, self._pending, self.spans = [], [], [], [], []

    # ------------------------------------------------------------------ recording
    def _onValue(self, value) -> None:
        if not self.enabled:
            return
        now = self.clock()
        arrival, t_event = self._input if self._input else (now, None)
        self._input = None
        ch = {"t_value": now, "t_input": arrival, "t_event": t_event, "value": int(value),
              "settings": self.controller.settings, "t_result": None, "t_frame": None, "t_settled": None}
        r = self.controller.result
        if r is not None and r.settings is ch["settings"] and self.results:
            # the app's slot ran first and computed it on the spot: the value changed when the
            # mouse event arrived, and the result came before this slot
            ch["t_value"] = min(now, arrival)
            ch["t_result"] = self.results[-1]
            self._current = []  # older changes' pictures are final (see _onResult)
        self.changes.append(ch)
        self._pending.append(ch)

    def _onResult(self, result) -> None:
        now = self.clock()
        self.results.append(now)
        hit = None
        for k, ch in enumerate(self._pending):
            if ch["settings"] is result.settings:
                hit = k
        if hit is None:
            return
        self._current = []  # older changes' pictures are final: a newer result replaces them
        for ch in self._pending[: hit + 1]:
            if ch["t_result"] is None:
                ch["t_result"] = now

    def _panelOf(self, obj) -> str | None:
        key = id(obj)
        if key in self._owner:
            return self._owner[key]
        w, name = obj, None
        while w is not None:
            name = self._panel_ids.get(id(w))
            if name:
                break
            w = w.parentWidget()
        if name is None:
            name = "other"
        self._owner[key] = name
        return name

    def eventFilter(self, obj, event) -> bool:
        et = event.type()
        if et is _PAINT:
            if self._frame is not None and obj is not self._timing and isinstance(obj, QtWidgets.QWidget):
                r = event.rect()
                name = self._panelOf(obj)
                f = self._frame
                f["painted"][name] = f["painted"].get(name, 0) + r.width() * r.height()
                f["widgets"] += 1
                if not self.paint_times:
                    return False
                # Qt paints each widget on its own (a child is not painted inside its parent's
                # paintEvent): the time of this one delivery is this widget's paint. Delivered
                # again, whole (a scroll area's viewport paints through its area's own filter)
                self._timing, outer = obj, self._timing
                t0 = self.clock()
                try:
                    QtWidgets.QApplication.sendEvent(obj, event)
                finally:
                    self._timing = outer
                key = f"{name}/{type(obj.parentWidget() if obj.objectName() == 'qt_scrollarea_viewport' else obj).__name__}"
                f["paint_ms"][key] = f["paint_ms"].get(key, 0.0) + (self.clock() - t0) * 1e3
                return True
        elif et is _UPDATE_REQUEST and obj is self.window:
            one = getattr(self.window, "_oneFrame", None)
            if one is not None and one.depth:
                return False  # the window's one-frame filter postpones this one: not a frame
            frame = {"t_start": self.clock(), "painted": {}, "paint_ms": {}, "widgets": 0}
            self._frame = frame
            try:
                handled = obj.event(event)
            finally:
                self._frame = None
            frame["t_end"] = self.clock()
            if self.enabled:
                self.frames.append(frame)
                self._onFrame(frame)
            return handled
        elif et is _TIMER and self.enabled:
            # Timers run deferred work (slow curves, throttled readouts); time the ones that
            # take a while.
            t0 = self.clock()
            handled = obj.event(event)
            t1 = self.clock()
            if t1 - t0 > 5e-4:
                parent = obj.parent()
                kind = type(obj).__name__ + (f"({type(parent).__name__})" if parent is not None else "")
                self.spans.append((kind, t0, t1))
            return handled
        elif et in _MOUSE and obj is self.slider:
            now = self.clock()
            t_event = self.synthetic_time if self.synthetic_time is not None else _x_time(event.timestamp(), now)
            self._input = (now, t_event)
        return False

    def _onFrame(self, frame) -> None:
        if not any(p in frame["painted"] for p in VIEW_PANELS):
            return
        done = [ch for ch in self._pending if ch["t_result"] is not None and ch["t_result"] <= frame["t_start"]]
        for ch in done:
            ch["t_frame"] = frame["t_end"]
        self._current = getattr(self, "_current", []) + done
        for ch in self._current:  # the last frame painted while this change was the newest
            ch["t_settled"] = frame["t_end"]
        if done:
            self._pending = [ch for ch in self._pending if ch["t_frame"] is None]

    # ------------------------------------------------------------------ figures
    def summary(self) -> dict:
        """Latencies in ms (see the module docstring) and what the frames cost."""
        painted = [ch for ch in self.changes if ch["t_frame"] is not None]
        out = {
            "changes": len(self.changes),
            "painted_changes": len(painted),
            "value_to_frame": stats([(ch["t_frame"] - ch["t_value"]) * 1e3 for ch in painted]),
            "event_to_settled": stats([(ch["t_settled"] - ch["t_event"]) * 1e3 for ch in painted if ch["t_event"]]),
            "input_to_frame": stats([(ch["t_frame"] - ch["t_input"]) * 1e3 for ch in painted]),
            "value_to_result": stats([(ch["t_result"] - ch["t_value"]) * 1e3 for ch in painted]),
            "result_to_frame": stats([(ch["t_frame"] - ch["t_result"]) * 1e3 for ch in painted]),
        }
        out["event_to_frame"] = stats([(ch["t_frame"] - ch["t_event"]) * 1e3 for ch in painted if ch["t_event"]])
        out["event_to_input"] = stats([(ch["t_input"] - ch["t_event"]) * 1e3 for ch in painted if ch["t_event"]])
        view = [f for f in self.frames if any(p in f["painted"] for p in VIEW_PANELS)]
        out["frame_paint"] = stats([(f["t_end"] - f["t_start"]) * 1e3 for f in view])
        out["frames"] = len(view)
        # which areas a view frame repaints, and how much of them (pixels, mean per frame)
        areas = {}
        for f in view:
            for name, px in f["painted"].items():
                areas[name] = areas.get(name, 0) + px
        out["painted_px_per_frame"] = {k: int(v / max(1, len(view))) for k, v in sorted(areas.items())}
        # and the median time each area's widgets (by class) take to paint in a view frame
        names = sorted({k for f in view for k in f["paint_ms"]})
        out["paint_ms_per_frame"] = {k: round(float(np.median([f["paint_ms"].get(k, 0.0) for f in view])), 2)
                                     for k in names} if view else {}
        rec = [(b - a) * 1e3 for k, a, b in self.spans if k == "recompute"]
        out["recompute"] = stats(rec)
        other = {}
        for k, a, b in self.spans:
            if k != "recompute":
                other.setdefault(k, []).append((b - a) * 1e3)
        out["other_timers"] = {k: stats(v) for k, v in other.items()}
        # GUI-thread time per painted change: everything the loop did between two changes' frames
        total = sum(f["t_end"] - f["t_start"] for f in self.frames) + sum(b - a for _, a, b in self.spans)
        out["busy_ms_per_recompute"] = total * 1e3 / max(1, len(rec))
        # GUI-thread CPU time per recompute over the whole recording: robust to other load
        out["cpu_ms_per_recompute"] = (time.thread_time() - self.cpu0) * 1e3 / max(1, len(rec))
        out["cpu_share"] = (time.thread_time() - self.cpu0) / max(1e-9, self.clock() - self.wall0)
        out["frames_per_recompute"] = len(self.frames) / max(1, len(rec))
        # the longest piece of GUI-thread work nothing else can interleave with
        pieces = [f["t_end"] - f["t_start"] for f in self.frames] + [b - a for _, a, b in self.spans]
        out["longest_block_ms"] = max(pieces) * 1e3 if pieces else 0.0
        out["widgets_per_frame"] = float(np.mean([f["widgets"] for f in view])) if view else 0.0
        return out
