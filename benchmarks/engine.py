"""Engine speed and memory. Prints each figure, then a one-line JSON summary.

    python benchmarks/engine.py            # PyTorch comparison when torch is importable
    python benchmarks/engine.py --against ../main   # also time another checkout, interleaved

One thread everywhere, medians of repeated runs. Targets (issue 2): forward with every gate
≤ 3× PyTorch's fused nn.LSTM/nn.GRU at H = 128 and ≤ 1.5× at H = 256 (T = 1000, D = 8);
forward + x1 influence at D = 1 ≤ 3× the forward alone.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from rnnviz.engine import init_cell, run  # noqa: E402


#: Wall clock by default; --cpu switches to this process's CPU time, which a busy machine's
#: other jobs do not inflate (the engine is single-threaded).
CLOCK = time.perf_counter


def median_time(fn, repeats: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return statistics.median(times)


def load_other_engine(folder: str):
    """``rnnviz.engine`` of another checkout, imported under the name ``rnnviz_other``."""
    pkg = os.path.join(os.path.abspath(folder), "rnnviz")
    spec = importlib.util.spec_from_file_location(
        "rnnviz_other", os.path.join(pkg, "__init__.py"), submodule_search_locations=[pkg])
    module = importlib.util.module_from_spec(spec)
    sys.modules["rnnviz_other"] = module
    spec.loader.exec_module(module)
    return importlib.import_module("rnnviz_other.engine")


def interleaved(fa, fb, repeats: int):
    """(min, median) of fa and of fb, timed alternately so both see the same machine load."""
    fa(), fb()
    ta, tb = [], []
    for r in range(repeats):
        for f, acc in ((fa, ta), (fb, tb)) if r % 2 == 0 else ((fb, tb), (fa, ta)):
            t0 = CLOCK()
            f()
            acc.append(CLOCK() - t0)
    return (min(ta), statistics.median(ta)), (min(tb), statistics.median(tb))


def against(other, T, D, rng, reps, summary):
    """This checkout vs another on the same cases, interleaved: robust on a busy machine."""
    import rnnviz.engine as ours

    print(f"this checkout vs {os.path.dirname(os.path.dirname(other.__file__))}, interleaved, "
          f"min / median of {reps} (ms)")
    cases = [(kind, D, H, False) for kind in ("lstm", "gru") for H in (128, 256)]
    cases += [(kind, 1, H, True) for kind in ("rnn", "gru", "lstm") for H in (128, 256)]
    for kind, d, H, infl in cases:
        xs = rng.normal(size=(T, d))
        a, b = ours.init_cell(kind, d, H, seed=0), other.init_cell(kind, d, H, seed=0)
        (amin, amed), (bmin, bmed) = interleaved(lambda: ours.run(a, xs, influence=infl),
                                                 lambda: other.run(b, xs, influence=infl), reps)
        what = f"{'forward+influence' if infl else 'forward'} {kind} H={H} D={d}"
        summary[f"against_{kind}_H{H}_D{d}{'_influence' if infl else ''}_ratio"] = round(amed / bmed, 3)
        print(f"  {what:32s} this {amin * 1e3:7.2f} / {amed * 1e3:7.2f} | other {bmin * 1e3:7.2f} / "
              f"{bmed * 1e3:7.2f} | median ratio {amed / bmed:5.3f}")


def torch_forward(kind, D, H, xs, repeats):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    mod = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind](D, H)
    x = torch.from_numpy(xs.astype(np.float32))[:, None, :]

    def fwd():
        with torch.inference_mode():
            mod(x)

    return median_time(fwd, repeats)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, skip the memory run")
    ap.add_argument("--against", metavar="DIR", help="another checkout to time, interleaved with this one")
    ap.add_argument("--cpu", action="store_true", help="time CPU use instead of wall clock (busy machines)")
    args = ap.parse_args()
    global CLOCK
    if args.cpu:
        CLOCK = time.process_time
    reps = 5 if args.quick else args.repeats
    T, D = 1000, 8
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(T, D))
    summary = {}
    print(f"forward with all gates recorded, T={T}, D={D}, float32, 1 thread, median of {reps}")
    for kind in ("lstm", "gru"):
        for H in (128, 256):
            cell = init_cell(kind, D, H, seed=0)
            ours = median_time(lambda: run(cell, xs, influence=False), reps)
            # A cell's kernel-layout parameters are prepared once and cached (as torch keeps
            # its flattened weights); "cold" runs a fresh copy of the cell every time.
            cold = median_time(lambda: run(cell.with_params(), xs, influence=False), reps)
            theirs = torch_forward(kind, D, H, xs, reps)
            key = f"{kind}_H{H}"
            summary[f"{key}_ms"] = round(ours * 1e3, 2)
            summary[f"{key}_cold_ms"] = round(cold * 1e3, 2)
            line = f"  {kind:4s} H={H:3d}: rnnviz {ours * 1e3:7.2f} ms (cold {cold * 1e3:6.2f})"
            if theirs is not None:
                ratio = ours / theirs
                summary[f"{key}_torch_ms"] = round(theirs * 1e3, 2)
                summary[f"{key}_ratio"] = round(ratio, 2)
                target = 3.0 if H == 128 else 1.5
                line += f" | torch {theirs * 1e3:7.2f} ms | ratio {ratio:4.2f} (target ≤ {target})"
            print(line)

    print(f"x1 influence at D=1, T={T}: forward+influence vs forward alone")
    xs1 = rng.normal(size=(T, 1))
    for kind in ("rnn", "gru", "lstm"):
        for H in (128, 256):
            cell = init_cell(kind, 1, H, seed=0)
            fwd = median_time(lambda: run(cell, xs1, influence=False), reps)
            inf = median_time(lambda: run(cell, xs1, influence=True), reps)
            summary[f"influence_{kind}_H{H}_ratio"] = round(inf / fwd, 2)
            print(f"  {kind:4s} H={H:3d}: forward {fwd * 1e3:7.2f} ms, with influence {inf * 1e3:7.2f} ms,"
                  f" ratio {inf / fwd:4.2f} (target ≤ 3)")

    if not args.quick:
        T2, H2 = 10_000, 256
        print(f"peak memory, T={T2}, H={H2}, D={D} (tracemalloc, NumPy allocations)")
        xs2 = rng.normal(size=(T2, D))
        for kind in ("rnn", "gru", "lstm"):
            cell = init_cell(kind, D, H2, seed=0)
            for infl in (False, True):
                tracemalloc.start()
                tr = run(cell, xs2, influence=infl)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                del tr
                mb = peak / 2**20
                summary[f"peak_mb_{kind}_T{T2}_H{H2}{'_influence' if infl else ''}"] = round(mb, 1)
                print(f"  {kind:4s} influence={str(infl):5s}: {mb:7.1f} MiB")
    if args.against:
        against(load_other_engine(args.against), T, D, rng, reps, summary)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
