"""``rnnviz train``: train a model on a built-in task or on DATA.npz and save it in RNNModel's names.

    rnnviz train (--task NAME [task options] | --data DATA.npz) [--weights INIT] [--cell rnn|rnn-relu|gru|lstm]
                 [--hidden H] [--layers L] [--loss mse|xent] [--optimizer sgd|adam] [--lr LR] [--momentum M]
                 [--clip NORM] [--batch B] [--steps N] [--truncate K] [--seed S] [--dtype float32|float64]
                 -o OUT.safetensors|OUT.npz|OUT.weights.h5 [--json]

Thin, as ``cli.py``: it checks the options, reads the files through ``rnnviz.io.training``, runs
``rnnviz.engine.train.update`` once per step and writes OUT atomically. Every bad option or file
gets one line on stderr naming it, exit status 2 and no output file.

Randomness comes from ``--seed`` only: the initial weights (PyTorch's initialisation), the batch
of every update (update k draws from seed (S, 1, k)), the test batch (seed (S, 2)) and, with
``--data --batch B``, the order of the sequences (seed (S, 3, pass)).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

EXIT_BAD_INPUT = 2

#: The built-in tasks (rnnviz.engine.train) and what each one's options are.
TASK_NAMES = ("recall", "adding", "sine", "series", "text")


def cells() -> dict:
    """--cell's spellings -> the registry's Choice, as ``rnnviz render`` spells them: a kind's
    first choice by the kind's name ("rnn" is the tanh RNN), its others by their key with
    dashes ("rnn-relu")."""
    from .engine.cells import CHOICES, kind_of

    return {(c.kind if kind_of(c).choices[0] is c else key.replace("_", "-")): c for key, c in CHOICES.items()}

#: Each task option, the tasks it applies to, and its default per task.
TASK_OPTIONS = {
    "delay": {"recall": 20},
    "length": {"adding": 50, "sine": 50, "series": 50, "text": 25},
    "text": {"text": None},
    "series": {"series": None},
    "column": {"series": None},
    "standardise": {"series": False},
}
#: The defaults that depend on other options (INIT, --data); the others are argparse's.
DEFAULTS = dict(cell="lstm", hidden=32, layers=1, optimizer="adam", batch=32)
#: Sequences in the fresh test batch a task's metric is measured on.
TEST_BATCH = 256
MAX_UPDATES = 10_000_000


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (no usage block) and exit status 2."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message}\n")


def _whole(least: int, most: int | None = None):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if v < least or (most is not None and v > most):
            span = f"from {least} to {most:,}" if most is not None else f"≥ {least}"
            raise argparse.ArgumentTypeError(f"must be a whole number {span}, not {v}")
        return v

    return parse


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return v


def _momentum(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), not {text}")
    return v


def _clip(text: str) -> float:
    """A positive norm, or 0.0 for "none", "off" or 0: no clipping."""
    if text.strip().lower() in ("none", "off"):
        return 0.0
    try:
        if float(text) == 0:
            return 0.0
    except ValueError:
        pass
    return _positive(text)


def parser() -> argparse.ArgumentParser:
    from .io.limits import MAX_HIDDEN, MAX_LAYERS, MAX_STEPS

    p = _Parser(
        prog="rnnviz train",
        description="Train an RNN, GRU or LSTM with an output layer, exactly as PyTorch would, and save it "
        "under the names of PyTorch's RNNModel (rnn.weight_ih_l0 … fc.bias).",
        epilog="tasks: recall (the sign of x1 after --delay steps; accuracy), adding (Hochreiter & "
        "Schmidhuber's adding problem; MSE, 0.167 for always answering 1), sine (next value of a noisy sum "
        "of sines; MSE), series (next value of a CSV column: --series FILE [--column C]; MSE), text "
        "(next character: --text FILE, default a paragraph of rnnviz's own; accuracy).",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--task", choices=TASK_NAMES, help="a built-in task, a fresh seeded batch every update")
    src.add_argument("--data", metavar="DATA.npz",
                     help="xs (B, T, D), ys float (B, T, O) or int labels (B, T), optional mask (B, T)")
    t = p.add_argument_group("task options")
    t.add_argument("--delay", type=_whole(0, MAX_STEPS - 1), metavar="N",
                   help="recall: distractor steps after x1 (default 20; T = N + 1)")
    t.add_argument("--length", "-T", type=_whole(1, MAX_STEPS), metavar="T",
                   help="adding, sine, series, text: steps per sequence (default 50; text 25)")
    t.add_argument("--text", metavar="FILE", help="text: a UTF-8 text file (default: rnnviz's own paragraph)")
    t.add_argument("--series", metavar="FILE", help="series: a .csv or .npy holding the series (required)")
    t.add_argument("--column", metavar="C", help="series: the CSV column, by header name or 0-based index "
                   "(default the first)")
    t.add_argument("--standardise", action="store_true",
                   help="series: shift and scale the values to mean 0 and standard deviation 1 first")
    m = p.add_argument_group("model")
    m.add_argument("--weights", metavar="INIT", help="start from this RNNModel state_dict (.safetensors or .npz) "
                   "instead of PyTorch's initialisation")
    m.add_argument("--cell", choices=tuple(cells()), help="the cell (default lstm; with INIT, INIT's)")
    m.add_argument("--hidden", type=_whole(1, MAX_HIDDEN), metavar="H", help="hidden units per layer (default 32)")
    m.add_argument("--layers", type=_whole(1, MAX_LAYERS), metavar="L", help="stacked layers (default 1)")
    o = p.add_argument_group("training")
    o.add_argument("--loss", choices=("mse", "xent"),
                   help="default: the task's, or mse for float ys and xent for integer labels")
    o.add_argument("--optimizer", choices=("sgd", "adam"), help="default adam (torch.optim's defaults)")
    o.add_argument("--lr", type=_positive, default=1e-2, metavar="LR", help="learning rate (default 0.01)")
    o.add_argument("--momentum", type=_momentum, metavar="M", help="SGD's momentum (default 0)")
    o.add_argument("--clip", type=_clip, default=1.0, metavar="NORM",
                   help="clip the gradient's total norm, as clip_grad_norm_ (default 1; 'none' or 0: off)")
    o.add_argument("--batch", type=_whole(1, 1_000_000), metavar="B",
                   help="sequences per update (default 32; with --data: all of them, in order)")
    o.add_argument("--steps", type=_whole(1, MAX_UPDATES), default=1500, metavar="N", help="updates (default 1500)")
    o.add_argument("--truncate", type=_whole(1), metavar="K",
                   help="truncated BPTT: each loss term's gradient flows back at most K steps")
    o.add_argument("--seed", type=_whole(0, 2**63 - 1), default=0, metavar="S", help="seed of everything random (default 0)")
    o.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="working precision, also of the saved weights (default float32)")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="OUT.safetensors, OUT.npz (RNNModel's names) or OUT.weights.h5 (Keras 3: "
                   "Sequential([Input((None, D)), <cell>(H, return_sequences=True), …, Dense(O)]))")
    p.add_argument("--json", action="store_true",
                   help='print one line at the end: {"steps", "loss_first", "loss_last", "metric"}')
    return p


def _fail(message: str) -> int:
    print(f"rnnviz train: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


class _Bad(Exception):
    """A bad option or file: its one-line message."""


def _seed(*words: int) -> int:
    import numpy as np

    return int(np.random.SeedSequence([int(w) for w in words]).generate_state(1, np.uint64)[0])


def _inputs(args) -> list[tuple[str, str]]:
    named = (("training data", args.data), ("initial weights", args.weights), ("text", args.text),
             ("series", args.series))
    return [(what, path) for what, path in named if path]


def _check_output(args) -> None:
    from .io.limits import output_problem, same_file, shown
    from .io.training import SAVE_SUFFIXES

    out = args.output
    suffix = next((s for s in SAVE_SUFFIXES if out.lower().endswith(s)), None)
    if suffix is None:
        raise _Bad(f"{shown(out)}: the output must be a .safetensors, .npz or Keras .weights.h5 file")
    problem = output_problem(out, suffix, f"a {suffix} file", writable=False)
    if problem:
        raise _Bad(problem)
    for what, path in _inputs(args):
        if same_file(out, path):
            raise _Bad(f"{shown(out)}: is the {what} {shown(path)}; writing there would destroy it")


def _check_task_options(args) -> None:
    for name, tasks in TASK_OPTIONS.items():
        given = getattr(args, name)
        if given is None or given is False:
            continue
        flag = f"--{name}"
        if args.data:
            raise _Bad(f"{flag} is a task option; it does not apply to --data")
        if args.task not in tasks:
            raise _Bad(f"{flag} does not apply to --task {args.task} (it is for {', '.join(tasks)})")
    if args.task == "series" and not args.series:
        raise _Bad("--task series needs --series FILE (a .csv column or a .npy)")
    if args.momentum is not None and (args.optimizer or DEFAULTS["optimizer"]) != "sgd":
        raise _Bad("--momentum applies to --optimizer sgd only")


class _Source:
    """Where the batches come from: ``batch(k)`` for update k, ``test()`` for the metric."""

    def __init__(self, args):
        import numpy as np

        from .engine.train import TASKS, CharText, SAMPLE_TEXT, series
        from .io.training import read_data, read_series, read_text

        self.args = args
        S = args.seed
        if args.data:
            xs, ys, mask, kind = read_data(args.data)
            if args.loss and args.loss != kind:
                what = "integer class labels (B, T)" if kind == "xent" else "float targets (B, T, O)"
                raise _Bad(f"{args.data}: ys holds {what}, so --loss {args.loss} cannot use it "
                           f"(--loss {kind} can)")
            self.loss = kind
            self.xs, self.ys, self.mask = xs, ys, mask
            self.N, self.T, self.D = xs.shape
            if kind == "mse":
                self.O = ys.shape[2]
            else:
                chosen = np.ones(ys.shape, bool) if mask is None else mask.astype(bool)
                self.O = max(2, int(ys[chosen].max()) + 1)
            self.metric = "accuracy" if kind == "xent" else "mse"
            if args.batch is not None and args.batch > self.N:
                raise _Bad(f"--batch {args.batch} is more than the {self.N} sequences in {args.data}")
            self.B = self.N if args.batch is None else args.batch
            self._order, self._pass = None, -1
            self.what = f"{self.N} sequences"
            return

        name = args.task
        opt = {k: getattr(args, k) for k in TASK_OPTIONS}
        self.B = DEFAULTS["batch"] if args.batch is None else args.batch
        length = opt["length"] if opt["length"] is not None else TASK_OPTIONS["length"].get(name)
        if name == "recall":
            delay = 20 if opt["delay"] is None else opt["delay"]
            task = TASKS["recall"]
            self.make = lambda B, seed: task.make(B, delay, seed)
            self.T, self.what = delay + 1, f"recall, delay {delay}"
        elif name in ("adding", "sine"):
            task = TASKS[name]
            if name == "adding" and length < 2:
                raise _Bad("--length must be at least 2 for the adding problem (one marker in each half)")
            self.make = lambda B, seed: task.make(B, length, seed)
            self.T, self.what = length, f"{name}, T = {length}"
        elif name == "series":
            values = read_series(args.series, opt["column"])
            if opt["standardise"]:
                sd = float(values.std())
                if not sd > 0:
                    raise _Bad(f"{args.series}: the column is constant; it cannot be standardised")
                values = (values - values.mean()) / sd
            if length >= values.size:
                raise _Bad(f"--length {length} must be below the {values.size} values of the series in "
                           f"{args.series}")
            task = TASKS.get("series")
            self.make = lambda B, seed: series(values, B, length, seed)
            self.T, self.what = length, f"series of {values.size} values, T = {length}"
        else:  # text
            text = read_text(args.text) if args.text else SAMPLE_TEXT
            chars = CharText(text)
            if length >= len(text):
                raise _Bad(f"--length {length} must be below the text's {len(text)} characters")
            self.chars = chars
            self.make = lambda B, seed: chars.make(B, length, seed)
            self.T, self.what = length, f"text of {len(text)} characters ({chars.size} different), T = {length}"
        if name == "text":
            self.loss, self.D, self.O, self.metric = "xent", self.chars.size, self.chars.size, "accuracy"
        elif name == "series":
            self.loss, self.D, self.O, self.metric = "mse", 1, 1, "mse"
        else:
            self.loss, self.D, self.O, self.metric = task.loss, task.input_size, task.output_size, task.metric
        if args.loss and args.loss != self.loss:
            raise _Bad(f"--loss {args.loss} does not fit --task {name}, which is scored by {self.loss}")
        self.seed = S

    def batch(self, k: int):
        import numpy as np

        if not self.args.data:
            return self.make(self.B, _seed(self.seed, 1, k))
        if self.B == self.N:
            return self.xs, self.ys, self.mask
        per_pass = self.N // self.B
        p, j = divmod(k, per_pass)
        if p != self._pass:
            self._order = np.random.default_rng(_seed(self.args.seed, 3, p)).permutation(self.N)
            self._pass = p
        rows = self._order[j * self.B:(j + 1) * self.B]
        return self.xs[rows], self.ys[rows], None if self.mask is None else self.mask[rows]

    def test(self):
        if self.args.data:
            return self.xs, self.ys, self.mask
        return self.make(TEST_BATCH, _seed(self.seed, 2))


def _model(args, src):
    """The model to train: INIT checked against the options and the data, or PyTorch's initialisation."""
    from .engine.cells import CHOICES, choice_of
    from .engine.train import init_model
    from .io.training import load_model

    choice = cells()[args.cell or DEFAULTS["cell"]]
    if args.weights:
        # a file that does not record the activation (an .npz) has the one --cell names
        nonlinearity = choice.options.get("nonlinearity", "tanh") if args.cell else "tanh"
        model = load_model(args.weights, nonlinearity=nonlinearity)
        layers = model.rnn.layers
        if args.cell:
            for k, cell in enumerate(layers):
                if cell.kind != choice.kind or any(getattr(cell, n) != v for n, v in choice.options.items()):
                    got = CHOICES[choice_of(cell)].label
                    raise _Bad(f"{args.weights}: layer {k} is a {got}, not --cell {args.cell}")
        if args.hidden is not None and args.hidden != model.rnn.hidden_size:
            raise _Bad(f"{args.weights}: has H = {model.rnn.hidden_size} hidden units, not --hidden {args.hidden}")
        if args.layers is not None and args.layers != len(layers):
            raise _Bad(f"{args.weights}: has {len(layers)} layer{'s' if len(layers) != 1 else ''}, "
                       f"not --layers {args.layers}")
        if model.input_size != src.D:
            raise _Bad(f"{args.weights}: reads D = {model.input_size} inputs; the data has D = {src.D}")
        O = model.output_size
        if src.loss == "mse" and O != src.O:
            raise _Bad(f"{args.weights}: has O = {O} outputs; the targets have O = {src.O}")
        if src.loss == "xent" and O < src.O:
            raise _Bad(f"{args.weights}: has O = {O} outputs; the labels need at least {src.O} classes")
        return model
    H = DEFAULTS["hidden"] if args.hidden is None else args.hidden
    L = DEFAULTS["layers"] if args.layers is None else args.layers
    return init_model(choice.kind, src.D, H, src.O, layers=L, seed=args.seed, **choice.options)


def _check_size(model, src, dtype) -> None:
    """Refuse a run whose activations would not fit the limit on one array (per layer)."""
    from .engine.cells import kind_of
    from .io.limits import MAX_ARRAY_BYTES, size_text

    width = max(max(kind_of(c).blocks * c.hidden_size for c in model.rnn.layers), src.D)
    for B, what in ((src.B, "--batch"), (TEST_BATCH if not src.args.data else src.N, "the test batch")):
        need = B * src.T * width * dtype.itemsize
        if need > MAX_ARRAY_BYTES:
            raise _Bad(f"{what} of {B} sequences × {src.T} steps × {width} gate values needs "
                       f"{size_text(need)} per layer; at most {size_text(MAX_ARRAY_BYTES)} (lower --batch, "
                       "--hidden or the length)")


def cmd_train(argv) -> int:
    import os

    # One BLAS thread, as the engine is written for: its small products run slower on several
    # (and much slower on a busy machine). Only effective before NumPy is first imported.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        args = parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a bad option (already reported on one line)
        return int(stop.code or 0)
    from .engine.errors import InputError

    try:
        _check_output(args)
        _check_task_options(args)
        src = _Source(args)
        model = _model(args, src)
        import numpy as np

        dtype = np.dtype(args.dtype)
        _check_size(model, src, dtype)
    except _Bad as bad:
        return _fail(str(bad))
    except InputError as err:
        return _fail(str(err))
    try:
        model, losses = _train(args, src, model, dtype)
    except FloatingPointError as err:
        return _fail(f"training diverged at update {err.args[1]}: {err.args[0]}; nothing written")
    except KeyboardInterrupt:
        print("rnnviz train: interrupted; nothing written", file=sys.stderr)
        return 130
    metric = _metric(model, src, dtype)
    return _save(args, model, dtype, {"steps": len(losses), "loss_first": losses[0], "loss_last": losses[-1],
                                      "metric": metric}, src)


def _optimizer(args):
    from .engine.train import SGD, Adam

    lr = args.lr
    if (args.optimizer or DEFAULTS["optimizer"]) == "sgd":
        return SGD(lr=lr, momentum=args.momentum or 0.0)
    return Adam(lr=lr)


def _train(args, src, model, dtype):
    from tqdm import tqdm

    from .engine.cells import kind_of
    from .engine.train import update

    opt = _optimizer(args)
    state = opt.init(model.state_dict(dtype))
    clip = args.clip or None  # 0: no clipping
    steps = args.steps
    losses = []
    label = kind_of(model.rnn.layers[0]).label
    desc = f"{label} H={model.rnn.hidden_size} on {args.task or 'data'}"
    with tqdm(total=steps, desc=desc, unit="update", file=sys.stderr, disable=None, dynamic_ncols=True,
              mininterval=0.25, leave=True) as bar:
        for k in range(steps):
            xs, ys, mask = src.batch(k)
            try:
                model, state, info = update(model, opt, state, xs, ys, mask, loss=src.loss, clip=clip,
                                            truncate=args.truncate, dtype=dtype)
            except FloatingPointError as err:
                raise FloatingPointError(str(err), k + 1) from None
            losses.append(info.loss)
            bar.set_postfix_str(f"loss {info.loss:.4g}", refresh=False)
            bar.update(1)
    return model, losses


def _metric(model, src, dtype) -> float:
    from .engine.train import accuracy, forward, mse

    xs, ys, mask = src.test()
    y, _ = forward(model, xs, dtype=dtype)
    if src.metric == "accuracy":
        return accuracy(y, ys, mask)
    return mse(y, ys, mask)[0]


def _save(args, model, dtype, summary, src) -> int:
    from .engine.errors import InputError
    from .io.limits import reason, same_file, shown
    from .io.training import save_model

    out = args.output
    for what, path in _inputs(args):  # again: training takes time, and a name can change meanwhile
        if same_file(out, path):
            return _fail(f"{shown(out)}: is the {what} {shown(path)}; writing there would destroy it")
    try:
        save_model(model, out, dtype)
    except OSError as err:
        return _fail(f"{shown(out)}: cannot write ({reason(err)})")
    except InputError as err:  # a model the format cannot hold
        return _fail(str(err))
    if args.json:
        print(json.dumps(summary))
    else:
        name = "test accuracy" if src.metric == "accuracy" else "test MSE"
        if args.data:
            name = name.replace("test", "training-data")
        print(f"rnnviz train: wrote {shown(out)} after {summary['steps']} updates; loss {summary['loss_first']:.4g} → "
              f"{summary['loss_last']:.4g}, {name} {summary['metric']:.4g}", file=sys.stderr)
    return 0
