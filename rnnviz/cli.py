"""The ``rnnviz`` command line: thin, parses, calls the engine or the UI, reports errors.

Bad input never shows a traceback: one line on stderr naming the file and the problem, and
exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

EXIT_BAD_INPUT = 2

COMMANDS = ("trace", "render", "train")


def _fail(message: str) -> int:
    print(f"rnnviz: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _shown(path) -> str:
    from .io.limits import shown

    return shown(path)


def _cannot_write(out: str, err: OSError) -> int:
    """One line naming OUT (never a temporary file), "no space left" when the disk is full."""
    from .io.limits import reason

    return _fail(f"{_shown(out)}: cannot write ({reason(err)})")


def _over_an_input(out: str, inputs) -> str | None:
    """A message if writing ``out`` would replace one of ``inputs`` (any spelling, a symlink or a
    hard link of it), else None."""
    from .io.limits import same_file

    for what, path in inputs:
        if path and same_file(out, path):
            return f"{_shown(out)}: is the {what} {_shown(path)}; writing there would destroy it"
    return None


def _add_load_options(p: argparse.ArgumentParser, layer: bool = True) -> None:
    """What a weights file may leave open (a Keras .weights.h5 records none of it)."""
    from .engine.activations import ACTIVATIONS

    g = p.add_argument_group("what the weights file does not record (Keras .weights.h5)")
    g.add_argument("--activation", choices=tuple(ACTIVATIONS), default=None,
                   help="Keras activation of the candidate and of c (default tanh)")
    g.add_argument("--recurrent-activation", choices=tuple(ACTIVATIONS), default=None,
                   help="Keras recurrent_activation of the gates (default sigmoid; hard_sigmoid is Keras 3's, "
                   "hard_sigmoid_keras2 Keras 2's)")
    ra = g.add_mutually_exclusive_group()
    ra.add_argument("--reset-after", dest="reset_after", action="store_const", const=True, default=None,
                    help="a GRU without bias is Keras's default reset_after=True (the default)")
    ra.add_argument("--reset-before", dest="reset_after", action="store_const", const=False,
                    help="a GRU without bias is reset_after=False")
    g.add_argument("--go-backwards", action="store_const", const=True, default=None,
                   help="the layers read their input backwards (Keras go_backwards=True)")
    if layer:
        g.add_argument("--layer", metavar="NAME", default=None,
                       help="the Keras recurrent layer to show, when the model's are parallel branches")
        g.add_argument("--module", metavar="NAME", default=None,
                       help="which recurrent module of a file holding several: a state_dict key prefix "
                            "(encoder.rnn) or an ONNX node name")


def _load_options(args) -> dict:
    names = ("activation", "recurrent_activation", "reset_after", "go_backwards", "layer", "module", "vocab")
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _print_notes(model) -> None:
    from .io.weights import notes_of

    for note in notes_of(model):
        print(f"rnnviz: note: {note}", file=sys.stderr)


def _trace_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnnviz trace",
        description="Run a trained cell over an input sequence and save everything it computed.",
    )
    p.add_argument("weights", metavar="WEIGHTS", help=".pt/.pth, .npz, .safetensors, .keras, .weights.h5 or .onnx")
    p.add_argument("input", metavar="INPUT", nargs="?",
                   help=".csv (one row per step, one column per feature) or .npy; for a model with an embedding, "
                        "its token ids (one column), or a .txt of text (with a vocabulary)")
    p.add_argument("-o", "--output", metavar="OUT.npz", required=True, help="where to write the trace")
    p.add_argument("--nonlinearity", choices=("tanh", "relu"), default=None,
                   help="activation of a vanilla RNN when the file does not say (default tanh)")
    p.add_argument("--layer", default="-1", metavar="K|NAME",
                   help="which stacked layer to trace (0-based; default the last), or a Keras layer's name")
    p.add_argument("--module", metavar="NAME", default=None,
                   help="which recurrent module of a file holding several: a state_dict key prefix "
                        "(encoder.rnn) or an ONNX node name")
    _add_load_options(p, layer=False)
    _add_token_options(p)
    return p


def _add_token_options(p: argparse.ArgumentParser, vocab_only: bool = False) -> None:
    """A whole model's input: token ids or text, and the vocabulary that reads text."""
    g = p.add_argument_group("a model with an embedding (token ids in, the head's outputs y)")
    g.add_argument("--vocab", metavar="FILE", default=None,
                   help="the vocabulary: a JSON list of tokens (index = id) or one token per line; a .keras "
                        "file's StringLookup/TextVectorization vocabulary is used without it")
    if vocab_only:
        return
    x = g.add_mutually_exclusive_group()
    x.add_argument("--text", metavar="TEXT", default=None,
                   help="the input as text, tokenised with the vocabulary (per character when its tokens are "
                        "single characters, else on whitespace)")
    x.add_argument("--ids", metavar="IDS", default=None, help="the input as token ids, e.g. '3 1 4 1'")


def _token_ids(model, args, path):
    """The token ids of ``--ids``, ``--text``, or INPUT (ids as .csv/.npy, text as .txt)."""
    import numpy as np

    from .engine import InputError
    from .io.limits import MAX_STEPS, open_regular, read_at_most
    from .io.sequences import read_sequence
    from .io.weights import parse_ids

    unknown: list = []
    trimmed = False
    try:
        if args.ids is not None:
            ids = parse_ids(args.ids)
        elif args.text is not None or (path or "").lower().endswith(".txt"):
            text = args.text
            if text is None:
                with open_regular(path, "text file") as fh:
                    blob = read_at_most(fh, 4 * MAX_STEPS, "the text file", _shown(path))
                try:
                    text = blob.decode("utf-8-sig")
                except UnicodeDecodeError:
                    raise InputError("is not UTF-8 text", _shown(path)) from None
                # an editor ends the file with a line break: that one is not part of the text
                ending = "\r\n" if text.endswith("\r\n") else "\n" if text.endswith("\n") else ""
                if ending:
                    text = text[: -len(ending)]
                    trimmed = True
            ids, unknown = model.encode(text)
        else:
            rows = read_sequence(path, input_size=1)[:, 0]
            if not np.all(rows == np.round(rows)):
                raise InputError("holds numbers that are not whole: a model with an embedding reads token ids",
                                 _shown(path))
            ids = rows.astype(np.int64)
        if len(ids) > MAX_STEPS:
            raise ValueError(f"{len(ids):,} tokens; at most {MAX_STEPS:,}")
        xs = model.inputs(ids)
    except ValueError as err:
        where = args.weights if args.ids is not None or args.text is not None else path
        raise InputError(str(err), _shown(where)) from None
    if trimmed:
        print(f"rnnviz: note: {_shown(path)}: the line break that ends the file is not read as a token",
              file=sys.stderr)
    return ids, xs, unknown


def cmd_trace(argv) -> int:
    import numpy as np

    from .engine import InputError, NonFiniteWarning, run
    from .io.atomic import atomic_write
    from .io.sequences import read_sequence
    from .io.trace import savez
    from .engine.bidirectional import Bidirectional, BidirectionalStack, run_bidirectional, run_bidirectional_stack
    from .io.weights import load_model

    args = _trace_parser().parse_args(argv)
    from .io.limits import output_problem

    out = args.output
    problem = output_problem(out, ".npz", "an .npz file", writable=False)
    if problem:
        return _fail(problem)
    problem = _over_an_input(out, (("weights file", args.weights), ("input file", args.input),
                                   ("vocabulary file", args.vocab)))
    if problem:
        return _fail(problem)
    try:
        kw = {"nonlinearity": args.nonlinearity} if args.nonlinearity else {}
        kw.update({k: v for k, v in _load_options(args).items() if k not in ("layer", "vocab")})
        try:
            args.layer = int(args.layer)
        except ValueError:  # a name: load that Keras layer (and those it reads from); trace it
            kw["layer"], args.layer = args.layer, -1
        whole = load_model(args.weights, vocab=args.vocab, bidirectional=True, **kw)
        model = whole.rnn
        layers = getattr(model, "layers", (model,))
        if not -len(layers) <= args.layer < len(layers):
            raise InputError(
                f"has {len(layers)} layer{'s' if len(layers) != 1 else ''}; --layer {args.layer} is out of range",
                args.weights,
            )
        ids = None
        if whole.embedding is None and (args.text is not None or args.ids is not None):
            raise InputError("has no embedding: its input is vectors (INPUT as .csv or .npy), not --text or --ids",
                             args.weights)
        tokens = args.text is not None or args.ids is not None
        if args.input is None and not tokens:
            raise InputError("no input: give INPUT" + (" or --text/--ids" if whole.embedding is not None else ""),
                             args.weights)
        if args.input is not None and tokens:
            raise InputError("give INPUT or --text/--ids, not both", args.weights)
        if whole.embedding is not None:
            ids, xs, unknown = _token_ids(whole, args, args.input)
        else:
            xs = read_sequence(args.input, input_size=layers[0].input_size)
    except InputError as err:
        return _fail(str(err))

    if whole.head is not None:
        from .io.limits import MAX_ARRAY_BYTES

        T, O = len(xs), whole.head.output_size
        if T * O * 8 > MAX_ARRAY_BYTES:
            return _fail(f"{args.weights}: y would hold {T:,} steps × {O:,} outputs ({T * O * 8 / 2**20:,.0f} MiB); "
                         f"rnnviz writes at most {MAX_ARRAY_BYTES // 2**20} MiB per array: trace a shorter input")
    _print_notes(model)  # only once the input is good: a bad input gets its one line alone
    if ids is not None and unknown:
        shown = ", ".join(repr(t) for t in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        print(f"rnnviz: note: {len(unknown)} token{'s' if len(unknown) > 1 else ''} not in the vocabulary read as "
              f"its out-of-vocabulary id {whole.vocab.oov}: {shown}", file=sys.stderr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NonFiniteWarning)
        if isinstance(model, Bidirectional):  # h (T, 2H) = [forward | backward], and each direction's arrays
            trace = run_bidirectional(model, xs, influence=True)
        elif isinstance(model, BidirectionalStack):  # the traced layer's; x₁ (x_T) through the layers below
            trace = run_bidirectional_stack(model, xs, layer=args.layer)
        else:
            trace = run(model, xs, influence=True, layer=args.layer)
    for w in caught:
        if issubclass(w.category, NonFiniteWarning):
            print(f"rnnviz: warning: {w.message}", file=sys.stderr)
    arrays = {k: np.ascontiguousarray(v) for k, v in trace.arrays().items()}
    if ids is not None:
        arrays["ids"] = np.asarray(ids, dtype=np.int64)
    if whole.head is not None:  # the head reads the last layer's output (the merged one of both directions)
        last = trace if isinstance(model, Bidirectional) or args.layer in (-1, len(layers) - 1) else None
        if last is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NonFiniteWarning)
                last = (run_bidirectional_stack(model, xs, influence=False) if isinstance(model, BidirectionalStack)
                        else run(model, xs, influence=False))
        with np.errstate(all="ignore"):
            arrays["y"] = np.ascontiguousarray(whole.outputs(last.h))
    problem = _over_an_input(out, (("weights file", args.weights), ("input file", args.input),
                                   ("vocabulary file", args.vocab)))
    if problem:  # checked again: a run takes time, and a name can change meanwhile
        return _fail(problem)
    try:
        atomic_write(out, lambda tmp: savez(tmp, arrays))
    except OSError as err:
        return _cannot_write(out, err)
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1600x1000") from None
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise argparse.ArgumentTypeError("width and height must be between 200 and 8000")
    return w, h


def _render_parser() -> argparse.ArgumentParser:
    from .core.model import CLI_CELLS

    p = argparse.ArgumentParser(
        prog="rnnviz render",
        description="Draw exactly the window a user would see to a PNG, with no display needed.",
    )
    p.add_argument("file", metavar="FILE", nargs="?", help="a weights file or .rnnviz session (optional)")
    p.add_argument("--lesson", metavar="NAME", default=None, help="draw a built-in lesson (see 'rnnviz lessons')")
    p.add_argument("--cell", choices=tuple(CLI_CELLS), default=None)
    p.add_argument("--step", type=int, default=None, metavar="N", help="1-based step to show (default: the last)")
    p.add_argument("--size", type=_size, default=(1600, 1000), metavar="WxH", help="window size, exactly (default 1600x1000; refused below the least size the window can be drawn at)")
    p.add_argument("--hidden", type=int, default=None, metavar="H", help="hidden size")
    p.add_argument("--length", type=int, default=None, metavar="T", help="sequence length")
    p.add_argument("--seed", type=int, default=None, help="random seed of the weights")
    p.add_argument("--recurrent-scale", type=float, default=None, metavar="S", help="scale of W_hh")
    p.add_argument("--signal", choices=("impulse", "step", "sine", "noise", "constant", "seed"), default=None)
    p.add_argument("--all-steps", action="store_true", help="reveal every step, not just up to --step")
    p.add_argument("--theme", choices=("light", "dark"), default="light", help="colour theme (default light)")
    p.add_argument("--colour-blind", action="store_true", help="colour-blind-safe colour maps")
    p.add_argument("--presenter", action="store_true", help="presenter mode: big fonts, controls hidden")
    p.add_argument("-o", "--output", metavar="OUT.png", default=None, help="the PNG to write")
    p.add_argument("--gif", metavar="OUT.gif", default=None,
                   help="also (or only) write the stepping animation, one frame per step, as an animated GIF")
    p.add_argument("--gif-steps", type=_steps, default=None, metavar="FIRST:LAST",
                   help="steps in the GIF, 1-based (default: all, at most the first 300)")
    p.add_argument("--gif-width", type=int, default=None, metavar="PX", help="GIF frame width (default 1200)")
    p.add_argument("--mp4", metavar="OUT.mp4", default=None,
                   help="also (or only) write the stepping animation, one frame per step, as an H.264 video")
    p.add_argument("--mp4-steps", type=_steps, default=None, metavar="FIRST:LAST",
                   help="steps in the video, 1-based (default: all, at most the first 300)")
    p.add_argument("--mp4-width", type=_mp4_width, default=None, metavar="PX",
                   help="video frame width (default the window's, at most 1920)")
    p.add_argument("--speed", type=float, default=None, metavar="S",
                   help="playing speed in steps per second, the GIF's and video's frame rate (default 4)")
    _add_load_options(p)
    _add_token_options(p)
    return p


def _mp4_width(text: str) -> int:
    from .io.mp4 import MAX_SIDE

    try:
        width = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a width in pixels") from None
    if not 16 <= width <= MAX_SIDE:
        raise argparse.ArgumentTypeError(f"the video width must be between 16 and {MAX_SIDE} px")
    return width


def _steps(text: str):
    from .io.gif import parse_step_range

    return parse_step_range(text)


def cmd_render(argv) -> int:
    args = _render_parser().parse_args(argv)
    out, gif, mp4 = args.output, args.gif, args.mp4
    if not out and not gif and not mp4:
        return _fail("nothing to write: give -o OUT.png, --gif OUT.gif, --mp4 OUT.mp4 or several")
    from .io.limits import output_problem

    problem = out and output_problem(out, ".png", "a .png file", writable=False)
    if problem:
        return _fail(problem)
    if gif:
        from .io.gif import gif_path_problem

        problem = gif_path_problem(gif)
        if problem:
            return _fail(problem)
    if mp4:
        from .io.mp4 import mp4_path_problem

        problem = mp4_path_problem(mp4)
        if problem:
            return _fail(problem)
    named = [(flag, path) for flag, path in (("-o", out), ("--gif", gif), ("--mp4", mp4)) if path]
    for k, (flag, path) in enumerate(named):
        for other_flag, other in named[k + 1:]:
            if path == other or _over_an_input(path, (("output", other),)):
                return _fail(f"{_shown(path)}: {flag} and {other_flag} name the same file")
    for target in (out, gif, mp4):
        problem = target and _over_an_input(target, (("input file", args.file),))
        if problem:
            return _fail(problem)
    from .engine import InputError
    from .ui.app import render

    settings = {k: v for k, v in (("hidden_size", args.hidden), ("T", args.length), ("seed", args.seed),
                                  ("recurrent_scale", args.recurrent_scale), ("signal", args.signal))
                if v is not None}
    if args.file and args.lesson:
        return _fail("give a FILE or --lesson NAME, not both")
    _use_load_options(args, notes=True)
    try:
        render(out, args.file, lesson=args.lesson, cell=args.cell, step=args.step, size=args.size,
               all_steps=args.all_steps, gif=gif, gif_steps=args.gif_steps, gif_width=args.gif_width, speed=args.speed,
               mp4=mp4, mp4_steps=args.mp4_steps, mp4_width=args.mp4_width,
               theme=args.theme, colour_blind=args.colour_blind, presenter=args.presenter,
               tokens=(args.text, True) if args.text is not None else (args.ids, False) if args.ids is not None
               else None, **settings)
    except InputError as err:
        return _fail(str(err))
    except OSError as err:
        return _cannot_write(err.filename or out or gif or mp4, err)
    return 0


def _use_load_options(args, notes: bool = False) -> None:
    """The load options apply to every weights file this process opens (the app's too); with
    ``notes``, those of ``args.file`` go to stderr (the app shows them itself)."""
    from .io.weights import set_defaults

    set_defaults(**_load_options(args))
    path = getattr(args, "file", None)
    if notes and path and not path.lower().endswith(".rnnviz") and os.path.exists(path):
        from .core.wholemodel import shown_notes
        from .engine import InputError
        from .io.weights import load_model

        try:
            whole = load_model(path, bidirectional=True)  # the whole model, as the app opens it
        except InputError:
            return  # the app or render reports it
        for note in (*whole.notes, *shown_notes(whole)):
            print(f"rnnviz: note: {note}", file=sys.stderr)


def _app_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnnviz",
        description="Watch recurrent neural networks think: step through an RNN, GRU or LSTM and "
        "see hidden states, gates and the fading of x1.",
        epilog="commands:\n"
        "  rnnviz trace WEIGHTS INPUT -o OUT.npz   run a cell and save h, c, gates, influence\n"
        "  rnnviz render [FILE] -o OUT.png         draw the window to a PNG (no display needed)\n"
        "  rnnviz render [FILE] --mp4 OUT.mp4      the stepping animation as a video (or --gif OUT.gif)\n"
        "  rnnviz train --task NAME -o OUT.safetensors   train a model (or --data DATA.npz)\n\n"
        "Run 'rnnviz COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    p.add_argument("--version", action="version", version=f"rnnviz {__version__}")
    p.add_argument("file", metavar="FILE", nargs="?",
                   help="a session (.rnnviz) or weights file to open (.pt, .npz, .safetensors, .keras, .weights.h5)")
    p.add_argument("--lesson", metavar="NAME", default=None, help="open a built-in lesson (see 'rnnviz lessons')")
    _add_load_options(p)
    _add_token_options(p, vocab_only=True)
    return p


def main(argv=None) -> int:
    """The command line; a MemoryError or RecursionError from a reader (the limits should stop
    them first) is one line and exit status 2, as every bad file is, never a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    except (MemoryError, RecursionError) as exc:
        from .io.limits import as_input_error

        named = next((a for a in argv if not a.startswith("-") and os.path.isfile(a)), None)
        return _fail(str(as_input_error(exc, named)))


def _main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "trace":
        return cmd_trace(argv[1:])
    if argv and argv[0] == "render":
        return cmd_render(argv[1:])
    if argv and argv[0] == "train":
        from .train_cli import cmd_train

        return cmd_train(argv[1:])
    if argv and argv[0] == "lessons":
        from .io.lessons import cmd_lessons

        return cmd_lessons(argv[1:])
    args = _app_parser().parse_args(argv)
    if args.file and not os.path.exists(args.file):
        return _fail(f"{_shown(args.file)}: no such file")
    if args.lesson:
        from .engine import InputError
        from .io.lessons import lesson_path

        try:
            lesson_path(args.lesson)
        except InputError as err:
            return _fail(str(err))
    _use_load_options(args)
    from .ui.app import launch

    return launch(args.file, lesson=args.lesson)


if __name__ == "__main__":
    raise SystemExit(main())
