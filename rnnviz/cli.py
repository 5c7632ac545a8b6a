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

COMMANDS = ("trace", "render")


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


def _trace_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnnviz trace",
        description="Run a trained cell over an input sequence and save everything it computed.",
    )
    p.add_argument("weights", metavar="WEIGHTS", help=".pt/.pth, .npz, .safetensors, .keras or .weights.h5")
    p.add_argument("input", metavar="INPUT", help=".csv (one row per step, one column per feature) or .npy")
    p.add_argument("-o", "--output", metavar="OUT.npz", required=True, help="where to write the trace")
    p.add_argument("--nonlinearity", choices=("tanh", "relu"), default=None,
                   help="activation of a vanilla RNN when the file does not say (default tanh)")
    p.add_argument("--layer", type=int, default=-1, metavar="K",
                   help="which stacked layer to trace (0-based; default the last)")
    return p


def cmd_trace(argv) -> int:
    import numpy as np

    from .engine import InputError, NonFiniteWarning, run
    from .io.atomic import atomic_write
    from .io.sequences import read_sequence
    from .io.trace import savez
    from .io.weights import load_weights

    args = _trace_parser().parse_args(argv)
    from .io.limits import output_problem

    out = args.output
    problem = output_problem(out, ".npz", "an .npz file", writable=False)
    if problem:
        return _fail(problem)
    problem = _over_an_input(out, (("weights file", args.weights), ("input file", args.input)))
    if problem:
        return _fail(problem)
    try:
        kw = {"nonlinearity": args.nonlinearity} if args.nonlinearity else {}
        model = load_weights(args.weights, **kw)
        layers = getattr(model, "layers", (model,))
        if not -len(layers) <= args.layer < len(layers):
            raise InputError(
                f"has {len(layers)} layer{'s' if len(layers) != 1 else ''}; --layer {args.layer} is out of range",
                args.weights,
            )
        xs = read_sequence(args.input, input_size=layers[0].input_size)
    except InputError as err:
        return _fail(str(err))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NonFiniteWarning)
        trace = run(model, xs, influence=True, layer=args.layer)
    for w in caught:
        if issubclass(w.category, NonFiniteWarning):
            print(f"rnnviz: warning: {w.message}", file=sys.stderr)
    arrays = {k: np.ascontiguousarray(v) for k, v in trace.arrays().items()}
    problem = _over_an_input(out, (("weights file", args.weights), ("input file", args.input)))
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
    try:
        render(out, args.file, lesson=args.lesson, cell=args.cell, step=args.step, size=args.size,
               all_steps=args.all_steps, gif=gif, gif_steps=args.gif_steps, gif_width=args.gif_width, speed=args.speed,
               mp4=mp4, mp4_steps=args.mp4_steps, mp4_width=args.mp4_width,
               theme=args.theme, colour_blind=args.colour_blind, presenter=args.presenter, **settings)
    except InputError as err:
        return _fail(str(err))
    except OSError as err:
        return _cannot_write(err.filename or out or gif or mp4, err)
    return 0


def _app_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnnviz",
        description="Watch recurrent neural networks think: step through an RNN, GRU or LSTM and "
        "see hidden states, gates and the fading of x1.",
        epilog="commands:\n"
        "  rnnviz trace WEIGHTS INPUT -o OUT.npz   run a cell and save h, c, gates, influence\n"
        "  rnnviz render [FILE] -o OUT.png         draw the window to a PNG (no display needed)\n"
        "  rnnviz render [FILE] --mp4 OUT.mp4      the stepping animation as a video (or --gif OUT.gif)\n\n"
        "Run 'rnnviz COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    p.add_argument("--version", action="version", version=f"rnnviz {__version__}")
    p.add_argument("file", metavar="FILE", nargs="?",
                   help="a session (.rnnviz) or weights file to open (.pt, .npz, .safetensors, .keras, .weights.h5)")
    p.add_argument("--lesson", metavar="NAME", default=None, help="open a built-in lesson (see 'rnnviz lessons')")
    return p


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "trace":
        return cmd_trace(argv[1:])
    if argv and argv[0] == "render":
        return cmd_render(argv[1:])
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
    from .ui.app import launch

    return launch(args.file, lesson=args.lesson)


if __name__ == "__main__":
    raise SystemExit(main())
