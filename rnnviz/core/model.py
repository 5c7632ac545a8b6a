"""What the user controls, and how it turns into cells and inputs. No Qt here.

:class:`Settings` is the single source of truth the controller edits; :func:`build_cells`
and :func:`build_inputs` derive the engine's inputs from it, and :func:`compute` runs the
engine and packs everything the views show into a :class:`Result`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

import numpy as np

from ..engine import SEED_EXAMPLE_INPUTS, Cell, Stack, backward_flow, init_cell, perturbation, run
from ..engine.bidirectional import (
    Bidirectional, BidirectionalStack, layers_of, perturbation_stack, run_bidirectional_stack,
)
from ..engine.cells import CHOICES, as_stack, kind_of
from ..engine.cells import COMPARE as COMPARED
from ..io.limits import MAX_HIDDEN, MAX_INPUT
from .format import sub_digits

#: The Compare choice: the registry's compared cells side by side on the same input, sizes and seed.
COMPARE = "compare"
#: Cell choices in the UI, in menu order: the registry's, then Compare.
CELL_CHOICES = {**{key: c.label for key, c in CHOICES.items()}, COMPARE: "Compare"}
#: The command line's ``--cell`` spellings -> UI cell keys: a kind's first choice is spelled by
#: the kind's name ("rnn" is the tanh RNN), its others by their key with dashes ("rnn-relu").
CLI_CELLS = {
    **{(c.kind if kind_of(c).choices[0] is c else key.replace("_", "-")): key for key, c in CHOICES.items()},
    COMPARE: COMPARE,
}
SIGNALS = {
    "impulse": "Impulse at t = 1",
    "step": "Step",
    "sine": "Sine",
    "noise": "Noise",
    "constant": "Constant",
    "seed": "Seed example [0.1, 0.5, 0.9]",
    "custom": "Custom (table)",
}
#: Stacked gate blocks per UI cell key (the G in a G·H-row weight matrix).
GATE_BLOCKS = {key: kind_of(c).blocks for key, c in CHOICES.items()}
#: When a cell has at most this many parameters the UI offers one slider per entry.
MAX_ENTRY_SLIDERS = 64
#: ε of the perturbation curve (the curve shown is ‖Δh‖ / ε).
EPS = 1e-3

#: What the controls offer for a built-in (randomly initialised) cell: sizes whose heatmaps,
#: sliders and tables stay readable.
LIMITS = dict(hidden_size=(1, 256), input_size=(1, 16), T=(1, 100_000))
#: What a loaded or trained model may have, and so a session that shows one: a text model's
#: one-hot input has a vocabulary-sized D (26 letters and more). The same bounds as every
#: weights reader's (io.limits), so a session reopens whatever the app could open; a
#: session's size (io.session.MAX_BYTES) bounds the rest.
MODEL_LIMITS = dict(hidden_size=(1, MAX_HIDDEN), input_size=(1, MAX_INPUT), T=LIMITS["T"])


@dataclass(frozen=True)
class Settings:
    """Everything the controls set. Immutable: the controller replaces it on every change."""

    cell: str = "rnn_tanh"
    hidden_size: int = 8
    input_size: int = 1
    seed: int = 0
    input_scale: float = 1.0
    recurrent_scale: float = 1.0
    bias_shift: float = 0.0
    forget_bias: float = 0.0  # added to the LSTM forget-gate biases
    update_bias: float = 0.0  # added to the GRU update-gate biases
    T: int = 30
    signal: str = "impulse"
    amplitude: float = 1.0
    period: float = 12.0
    custom: tuple = ()  # rows of D floats, for signal == "custom"
    overrides: tuple = ()  # ((param, row, col), value) pairs for per-entry sliders
    backward: bool = False  # show ‖∂h_T/∂h_t‖ instead of / as well as the x1 curves
    single_bias: bool = False  # one bias b (the seed document's), not PyTorch's b_ih + b_hh
    text: str = ""  # the character each custom row stands for (a character model's input)

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    @property
    def kinds(self) -> list[str]:
        """The UI cell keys that run: one, or three in Compare mode."""
        return list(COMPARED) if self.cell == COMPARE else [self.cell]


def base_cell(key: str, s: Settings) -> Cell:
    """PyTorch-initialised cell for UI key ``key`` from the sizes and seed."""
    return _base_cell(key, s.input_size, s.hidden_size, s.seed, s.single_bias)


@functools.lru_cache(maxsize=32)
def _base_cell(key: str, D: int, H: int, seed: int, single_bias: bool) -> Cell:
    # Cells are immutable (read-only arrays), so slider frames can share one.
    choice = CHOICES[key]
    cell = init_cell(choice.kind, D, H, seed=seed, **choice.options)
    if single_bias:
        cell = cell.with_params(b_hh=np.zeros_like(cell.b_hh), recurrent_bias=False)
    return cell


def seed_example_settings() -> Settings:
    """Settings that reproduce the seed document's example: a tanh RNN, D = 1, H = 2, one bias,
    inputs 0.1, 0.5, 0.9, with its 8 numbers (weight_x, weight_h, bias) as per-entry overrides."""
    from ..engine import seed_example

    cell = seed_example(0)
    s = Settings().replace(cell="rnn_tanh", hidden_size=2, input_size=1, T=3, signal="seed", single_bias=True)
    base = base_cell("rnn_tanh", s)
    ov = {}
    for param in ("W_ih", "W_hh", "b_ih"):
        target, arr = getattr(cell, param), getattr(base, param)
        for idx in np.ndindex(arr.shape):
            r, c = (idx + (0,))[:2]
            ov[(param, r, c)] = float(target[idx])
    return s.replace(overrides=tuple(sorted(ov.items())))


def seed_example_entry(s: Settings, key: tuple) -> float | None:
    """The seed document's value of entry ``key`` (param, row, col) when ``s`` is the seed
    example (its cell, sizes and inputs), else None."""
    seed = seed_example_settings()
    same = (s.signal, s.cell, s.hidden_size, s.input_size, s.single_bias) == (
        seed.signal, seed.cell, seed.hidden_size, seed.input_size, seed.single_bias)
    return dict(seed.overrides).get(key) if same else None


def apply_overrides(cell: Cell, overrides) -> Cell:
    if not overrides:
        return cell
    arrays = {name: getattr(cell, name).copy() for name in ("W_ih", "W_hh", "b_ih", "b_hh")}
    for (name, r, c), value in overrides:
        arr = arrays[name]
        if arr.ndim == 1 and 0 <= r < arr.shape[0]:
            arr[r] = value
        elif arr.ndim == 2 and 0 <= r < arr.shape[0] and 0 <= c < arr.shape[1]:
            arr[r, c] = value
    return cell.with_params(**arrays)


def apply_groups(cell: Cell, s: Settings) -> Cell:
    """The group sliders: scales of W_ih and W_hh, a bias shift, and the gate biases."""
    H = cell.hidden_size
    b_ih = cell.b_ih + s.bias_shift
    gates = kind_of(cell).gate_names
    for slider, gate in kind_of(cell).bias_sliders.items():  # LSTM forget_bias, GRU update_bias
        k = gates.index(gate)
        b_ih[k * H : (k + 1) * H] += getattr(s, slider)
    return cell.with_params(W_ih=cell.W_ih * s.input_scale, W_hh=cell.W_hh * s.recurrent_scale, b_ih=b_ih)


#: A bidirectional layer's runs, by key: the forward direction reads x₁ … x_T, the backward
#: one x_T … x₁ (its step t reads x_{T+1−t}: the views show each direction in its own order).
DIRECTIONS = {"forward": "→ forward", "backward": "← backward"}


def run_keys(s: Settings, loaded=None) -> list[str]:
    """The runs a result holds: the cell choices (three in Compare), a loaded model's
    ``"loaded"``, or a bidirectional layer's ``"forward"`` and ``"backward"``."""
    if loaded is None:
        return s.kinds
    if isinstance(loaded, BidirectionalStack):
        return ["forward", "backward"]
    if isinstance(loaded, Bidirectional):
        return [name for name, _ in loaded.directions]
    return ["loaded"]


def build_model(key: str, s: Settings, loaded: Cell | Stack | None = None) -> Cell | Stack:
    if isinstance(loaded, Bidirectional):  # one direction; the scale sliders act on both
        return apply_groups(dict(loaded.directions)[key], s)
    if loaded is not None:
        stack = as_stack(loaded)
        layers = [apply_groups(c, s) for c in stack.layers]
        if len(layers) == 1:
            return apply_groups(apply_overrides(stack.layers[0], s.overrides), s)
        return Stack(layers)
    return apply_groups(apply_overrides(base_cell(key, s), s.overrides), s)


def build_inputs(s: Settings) -> np.ndarray:
    """The input sequence (T, D) for the chosen signal."""
    T, D, A = s.T, s.input_size, s.amplitude
    t = np.arange(T, dtype=np.float64)
    xs = np.zeros((T, D))
    if s.signal == "impulse":
        xs[0] = A
    elif s.signal == "step":
        xs[min(T - 1, max(1, T // 3)) :] = A
    elif s.signal == "sine":
        xs[:] = A * np.sin(2 * np.pi * t[:, None] / max(s.period, 1e-9) + np.arange(D) * np.pi / 4)
    elif s.signal == "noise":
        xs[:] = A * np.random.default_rng(s.seed + 1000).normal(size=(T, D))
    elif s.signal == "constant":
        xs[:] = A
    elif s.signal == "seed":
        n = min(T, len(SEED_EXAMPLE_INPUTS))
        xs[:n] = SEED_EXAMPLE_INPUTS[:n]
    elif s.signal == "custom":
        rows = np.array(s.custom, dtype=np.float64).reshape(-1, D) if s.custom else np.zeros((0, D))
        n = min(T, rows.shape[0])
        xs[:n] = rows[:n]
    else:
        raise ValueError(f"unknown signal {s.signal!r}")
    return xs


@dataclass(frozen=True, eq=False)
class CellResult:
    """One cell's run, ready to draw."""

    key: str  # UI key: rnn_tanh, rnn_relu, gru, lstm
    label: str
    model: Cell | Stack
    trace: object  # rnnviz.engine.Trace
    perturbation: np.ndarray | None = None  # (T,) ‖Δh_t‖ / ε
    backward: np.ndarray | None = None  # (T,) ‖∂h_T/∂h_t‖_F
    levels: dict = field(default_factory=dict)  # "h"/"c" -> (lo, hi), computed once per run
    #: True while trace.influence is the previous run's (see compute(previous=…)); the
    #: exact one follows with the slow curves.
    stale_influence: bool = False
    #: A direction of a bidirectional stack's traced layer: (the stack after the sliders, the
    #: layer). Its x₁ influence and nudge curve come through the layers below.
    stack: tuple | None = None

    def __post_init__(self):
        if not self.levels:  # computed where the run happens (a worker thread for big runs)
            lv = {"h": finite_levels(self.trace.h, self.cell.nonlinearity)}
            if self.trace.c is not None:
                lv["c"] = finite_levels(self.trace.c, "c")
            object.__setattr__(self, "levels", lv)

    @property
    def cell(self) -> Cell:
        return self.trace.cell

    @property
    def gates(self) -> tuple[str, ...]:
        return kind_of(self.cell).gate_names

    def h_levels(self) -> tuple[float, float]:
        """Fixed symmetric levels for the hidden-state colour map."""
        return self.levels["h"]

    def c_levels(self) -> tuple[float, float]:
        return self.levels.get("c", (-1.0, 1.0))


#: Unbounded values are coloured up to this percentile of |finite values|, so one exploding
#: tail does not wash every earlier step out to white; larger values saturate.
LEVEL_PERCENTILE = 98.0


def abs_percentile(a: np.ndarray, q: float) -> float:
    """``np.percentile(|finite values of a|, q)``, the same number (its "linear" method, its
    arithmetic), from one partition instead of NumPy's four-index one: an LSTM's 128 000 cell
    states at every tick of a drag took 0.8 ms, now 0.25. 1.0 when no value is finite."""
    x = np.abs(a.ravel())
    finite = np.isfinite(x)
    if not finite.all():
        x = x[finite]
    n = x.size
    if not n:
        return 1.0
    v = (n - 1) * np.true_divide(q, 100)
    lo = int(np.floor(v))
    if lo >= n - 1:
        return float(x.max())
    x.partition(lo)  # x is a new array (np.abs made it)
    a_lo, b_hi = x[lo], x[lo + 1 :].min()
    gamma = float(v - lo)
    diff = b_hi - a_lo
    out = b_hi - diff * (1 - gamma) if gamma >= 0.5 else a_lo + diff * gamma
    return float(out)


def finite_levels(a: np.ndarray, activation: str) -> tuple[float, float]:
    """Symmetric colour levels: [−1, 1] for bounded activations, else from the finite values."""
    if activation in ("tanh", "sigmoid", "hard_sigmoid"):
        return (-1.0, 1.0)
    flat = a.ravel()
    if flat.size > 400_000:  # a strided sample is plenty for a colour scale
        flat = flat[:: flat.size // 200_000]
    m = abs_percentile(flat, LEVEL_PERCENTILE)
    m = 1.0 if not m > 1.0 else m  # never narrower than the tanh scale
    m = min(m, float(np.finfo(np.float32).max))
    return (-m, m)


@dataclass(frozen=True, eq=False)
class Result:
    settings: Settings
    xs: np.ndarray
    cells: list = field(default_factory=list)  # CellResult, one or three
    complete: bool = True  # False until the slow curves (perturbation, backward) are in

    @property
    def T(self) -> int:
        return self.xs.shape[0]

    def warnings(self) -> list[str]:
        out = []
        for cr in self.cells:
            bad = cr.trace.nonfinite
            if bad is not None:
                prefix = f"{cr.label}: " if len(self.cells) > 1 else ""
                out.append(prefix + bad.message())
        return out

    def notes(self) -> list[str]:
        """What loading the model assumed (``io.weights.notes_of``), and the steps a mask skipped."""
        out: list[str] = []
        keys = [cr.key for cr in self.cells]
        if "backward" in keys:
            T = self.T
            back = f"reads x{sub_digits(T)} … x₁, so its step t is input x{sub_digits(T + 1)}₋ₜ and its x₁ is x{sub_digits(T)}"
            out.append(f"bidirectional layer: → forward reads x₁ … x{sub_digits(T)}; ← backward {back}"
                       if "forward" in keys else f"the layer runs in reverse: it {back}")
        for cr in self.cells:
            for note in getattr(as_stack(cr.model).layers[0], "notes", ()):
                if note not in out:
                    out.append(note)
            mask = getattr(cr.trace, "mask", None)
            if mask is not None and not mask.all():
                out.append(_masked_steps(mask))
        return out


def _masked_steps(mask: np.ndarray) -> str:
    """"steps 4, 6–8 are masked …": runs of skipped steps, 1-based, at most eight listed."""
    skipped = np.flatnonzero(~np.asarray(mask, bool)) + 1
    runs: list[list[int]] = []
    for t in skipped.tolist():
        if runs and t == runs[-1][1] + 1:
            runs[-1][1] = t
        else:
            runs.append([t, t])
    shown = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs[:8]) + (", …" if len(runs) > 8 else "")
    word = "step" if len(skipped) == 1 else "steps"
    return f"{word} {shown} masked: skipped, keeping the previous state and output"


def cost(s: Settings, loaded=None) -> float:
    """Rough multiply-adds of one full run (all cells): decides what runs off the GUI thread."""
    if loaded is not None:
        per = sum(c.W_hh.size + c.W_ih.size for c in layers_of(loaded).layers)
        return float(s.T * per * len(run_keys(s, loaded)))
    G = GATE_BLOCKS
    return float(sum(s.T * G[k] * s.hidden_size * (s.hidden_size + s.input_size) for k in s.kinds))


def influence_cost(s: Settings, loaded=None) -> float:
    """Multiply-adds of the x1 influence: T·G·H²·D (D tangent directions carried forward)."""
    G = GATE_BLOCKS
    if loaded is not None:
        stack = layers_of(loaded)
        return float(s.T * stack.input_size * sum(c.W_hh.size for c in stack.layers) * len(run_keys(s, loaded)))
    return float(sum(s.T * G[k] * s.hidden_size**2 * s.input_size for k in s.kinds))


def compute(s: Settings, loaded=None, layer: int = -1, slow: bool = True, progress=None,
            previous: "Result | None" = None) -> Result:
    """Run every cell of ``s``; ``slow=False`` leaves the perturbation and backward curves out.

    With ``previous`` (a result of the same length and cells), the x1 influence is not
    computed: the previous curve stands in (``stale_influence``) until :func:`complete`
    replaces it. That keeps a slider frame fast when the influence costs more than the run.
    """
    import warnings

    from ..engine import NonFiniteWarning

    xs = build_inputs(s)
    if isinstance(loaded, BidirectionalStack):
        return _compute_stack(s, xs, loaded, layer, slow, progress)
    keys = run_keys(s, loaded)
    results = []
    n = len(keys) * (2 if slow else 1)
    done = 0

    def report(frac):
        progress((done + frac) / n)

    # no reporter at all without a progress callback: the engine then steps through plain rows,
    # not a generator that calls back every 256 steps (~0.4 µs a step, 1 000 a tick of a drag)
    part = report if progress is not None else None

    reuse = (previous is not None and not slow and previous.T == s.T
             and [c.key for c in previous.cells] == list(keys))
    for k, key in enumerate(keys):
        model = build_model(key, s, loaded)
        label = CELL_CHOICES.get(key, _loaded_label(model))
        if key in DIRECTIONS:
            label = f"{label} {DIRECTIONS[key]}"
        seq = np.ascontiguousarray(xs[::-1]) if key == "backward" else xs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonFiniteWarning)
            # float32, PyTorch's default: values overflow where a PyTorch model's would
            trace = run(model, seq, influence=not reuse, layer=layer, progress=part)
        if reuse:
            trace = dataclasses.replace(trace, influence=previous.cells[k].trace.influence)
        done += 1
        pert = back = None
        if slow:
            pert, back = slow_curves(trace, s.backward, progress=part)
            done += 1
        results.append(CellResult(key, label, model, trace, pert, back, stale_influence=reuse))
    return Result(s, xs, results, complete=slow)


def _scaled_stack(s: Settings, loaded: BidirectionalStack) -> BidirectionalStack:
    """The stack with the scale sliders applied to every direction of every layer."""
    return BidirectionalStack(tuple(Bidirectional(apply_groups(b.forward, s), apply_groups(b.backward, s), b.merge_mode)
                                    for b in loaded.layers))


def _compute_stack(s: Settings, xs, loaded: BidirectionalStack, layer: int, slow: bool, progress) -> Result:
    """A bidirectional stack's traced layer: its two directions, each in its own order, with
    the exact influence of x₁ (forward) or x_T (backward) through the layers below."""
    import warnings

    from ..engine import NonFiniteWarning

    stack = _scaled_stack(s, loaded)
    layer = range(len(stack))[layer]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteWarning)
        st = run_bidirectional_stack(stack, xs, layer=layer, influence=True, progress=progress)
    label = kind_of(stack.kind).label_of(stack.layers[layer].backward)
    cells = []
    for key in ("forward", "backward"):
        trace = getattr(st.trace, key)
        cr = CellResult(key, f"{label} layer {layer + 1} of {len(stack)} {DIRECTIONS[key]}", trace.model.layers[0],
                        trace, stack=(stack, layer))
        cells.append(cr)
    result = Result(s, xs, cells, complete=False)
    return complete(result) if slow else result


def complete(result: Result, progress=None) -> Result:
    """The slow parts of a fast result: exact influence where it was stale, perturbation, backward."""
    import warnings

    from ..engine import NonFiniteWarning

    cells = []
    n = len(result.cells)
    nudged = None
    for k, cr in enumerate(result.cells):
        part = (lambda f, k=k: progress((k + f) / n)) if progress else None
        trace = cr.trace
        if cr.stack is not None:  # a bidirectional stack's direction: x₁ (x_T) nudged at the stack's input
            if nudged is None:
                with np.errstate(all="ignore"):
                    nudged = perturbation_stack(*cr.stack[:1], result.xs, layer=cr.stack[1], eps=EPS)
            pert = nudged[cr.key] / EPS
            pert = pert if cr.key == "forward" else np.ascontiguousarray(pert[::-1])
            with np.errstate(all="ignore"):
                back = backward_flow(trace, progress=part) if result.settings.backward else None
            cells.append(dataclasses.replace(cr, perturbation=pert, backward=back))
            continue
        if cr.stale_influence:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NonFiniteWarning)
                seq = np.ascontiguousarray(result.xs[::-1]) if cr.key == "backward" else result.xs
                fresh = run(cr.model, seq, influence=True, layer=trace.layer, progress=part)
            # the same run again, so only the influence is new: keep the arrays the views hold
            trace = dataclasses.replace(trace, influence=fresh.influence)
        pert, back = slow_curves(trace, result.settings.backward, progress=part)
        cells.append(dataclasses.replace(cr, trace=trace, perturbation=pert, backward=back,
                                         stale_influence=False))
    return dataclasses.replace(result, cells=cells, complete=True)


def slow_curves(trace, with_backward: bool, progress=None):
    """The perturbation curve (÷ ε) and, if asked, the backward gradient flow."""
    import warnings

    from ..engine import NonFiniteWarning

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", NonFiniteWarning)
        # progress all along (not only between the parts): a cancelled job stops within
        # a few hundred steps instead of finishing two long float64 runs
        half = (lambda lo: (lambda f: progress(lo + 0.5 * f))) if progress else (lambda lo: None)
        if progress:
            progress(0.0)
        pert = perturbation(trace.model, trace.xs, eps=EPS, layer=trace.layer, base=trace,
                            progress=half(0.0)) / EPS
        back = backward_flow(trace, progress=half(0.5)) if with_backward else None
        if progress:
            progress(1.0)
    return pert, back


def _loaded_label(model) -> str:
    stack = as_stack(model)
    cell = stack.layers[-1]
    name = kind_of(cell).label_of(cell)
    return f"{name} × {len(stack)} layers" if len(stack) > 1 else name


def entry_names(cell: Cell) -> list[tuple[str, int, int, str]]:
    """(param, row, col, label) for every parameter entry, labelled like W_hz[0,1].

    Used for the per-entry sliders of small cells. A cell with a single bias has no b_hh.
    """
    H = cell.hidden_size
    kind = kind_of(cell)
    gates = kind.gate_names or ("",)
    out = []
    for param in ("W_ih", "W_hh", "b_ih", "b_hh"):
        if param == "b_hh" and not cell.recurrent_bias:
            continue
        arr = getattr(cell, param)
        for r in range(arr.shape[0]):
            sym_g = kind.param_symbols(cell, gates[r // H])[param]  # W_hz, or W_hh for the RNN
            if arr.ndim == 2:
                for c in range(arr.shape[1]):
                    out.append((param, r, c, f"{sym_g}[{r % H},{c}]"))
            else:
                out.append((param, r, 0, f"{sym_g}[{r % H}]"))
    return out
