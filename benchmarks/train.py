"""Training speed and memory against PyTorch: one update = forward + BPTT + clipping + Adam's step.

    python benchmarks/train.py                  # PyTorch's columns when torch is importable
    python benchmarks/train.py --against ../main   # also time another checkout, interleaved
    python benchmarks/train.py --cpu            # CPU time instead of wall clock (busy machines)

One thread everywhere (``torch.set_num_threads(1)``), the same model (PyTorch's initialisation
from rnnviz's seed, loaded into torch's ``RNNModel``) and the same batch of the adding problem
(B sequences of T steps, D = 2, MSE at the last step), float32 on both sides, Adam lr 1e-2 and
clipping at 1, as the classroom defaults. Each figure is the median over repeats of the mean
time of a few updates; rnnviz and torch are timed alternately so both see the same machine load.

Targets (issue 9): LSTM and GRU at H=32, T=50, B=32 ≤ 1.0× PyTorch; at H=128, T=100, B=32
≤ 1.5×; the tanh RNN at H=32, T=50, B=32 ≤ 1.0×. Peak memory: tracemalloc's peak of one
rnnviz update (NumPy's allocations), and the process's maximum resident set at the end.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import rnnviz.engine.train as ours  # noqa: E402

#: (kind, H, T, B, target ratio to torch)
CASES = (
    ("lstm", 32, 50, 32, 1.0),
    ("gru", 32, 50, 32, 1.0),
    ("rnn", 32, 50, 32, 1.0),
    ("lstm", 128, 100, 32, 1.5),
    ("gru", 128, 100, 32, 1.5),
)
D, LR, CLIP = 2, 1e-2, 1.0
CLOCK = time.perf_counter


def load_other(folder: str):
    """``rnnviz.engine.train`` of another checkout, imported under the name ``rnnviz_other``."""
    pkg = os.path.join(os.path.abspath(folder), "rnnviz")
    spec = importlib.util.spec_from_file_location(
        "rnnviz_other", os.path.join(pkg, "__init__.py"), submodule_search_locations=[pkg])
    module = importlib.util.module_from_spec(spec)
    sys.modules["rnnviz_other"] = module
    spec.loader.exec_module(module)
    return importlib.import_module("rnnviz_other.engine.train")


def rnnviz_stepper(train, kind, H, xs, ys, mask, dtype=np.float32):
    """A function doing one update with ``train`` (a rnnviz.engine.train module), state kept."""
    model = train.init_model(kind, D, H, 1, seed=0)
    opt = train.Adam(lr=LR)
    box = [model, opt.init(model.state_dict(np.dtype(dtype)))]

    def step():
        box[0], box[1], _ = train.update(box[0], opt, box[1], xs, ys, mask, loss="mse", clip=CLIP, dtype=dtype)

    return step


def torch_stepper(kind, H, xs, ys, mask):
    """The same update in PyTorch eager on one thread, or None without torch."""
    try:
        import torch
    except Exception:  # ImportError, or an install that cannot load its libraries
        return None
    torch.set_num_threads(1)
    nn = torch.nn

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](D, H, 1)
            self.fc = nn.Linear(H, 1)

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.fc(y)

    model = RNNModel()
    state = ours.init_model(kind, D, H, 1, seed=0).state_dict(np.float32)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    x = torch.from_numpy(np.ascontiguousarray(xs.transpose(1, 0, 2), np.float32))
    t = torch.from_numpy(np.ascontiguousarray(ys.transpose(1, 0, 2), np.float32))
    m = torch.from_numpy(mask.T.astype(bool))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.mse_loss(model(x)[m], t[m])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()

    return step


def timed(steppers, repeats: int, per: int):
    """Median seconds per update of each stepper, timed in turn (the order alternates)."""
    for f in steppers:
        f()  # warm up (caches, first allocations)
    times = [[] for _ in steppers]
    order = list(range(len(steppers)))
    for r in range(repeats):
        for j in (order if r % 2 == 0 else order[::-1]):
            t0 = CLOCK()
            for _ in range(per):
                steppers[j]()
            times[j].append((CLOCK() - t0) / per)
    return [statistics.median(t) for t in times]


def peak_mib(step) -> float:
    step()
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--per", type=int, default=5, help="updates per timing (default 5)")
    ap.add_argument("--quick", action="store_true", help="3 repeats of 2 updates")
    ap.add_argument("--against", metavar="DIR", help="another checkout to time, interleaved with this one")
    ap.add_argument("--cpu", action="store_true", help="time CPU use instead of wall clock")
    ap.add_argument("--float64", action="store_true", help="also time rnnviz in float64")
    args = ap.parse_args()
    global CLOCK
    if args.cpu:
        CLOCK = time.process_time
    reps, per = (3, 2) if args.quick else (args.repeats, args.per)
    other = load_other(args.against) if args.against else None
    have_torch = torch_stepper("rnn", 2, np.zeros((1, 2, D)), np.zeros((1, 2, 1)), np.ones((1, 2))) is not None

    print(f"one training update (forward + BPTT + clip + Adam), adding problem, D={D}, float32, 1 thread, "
          f"median of {reps} × {per} updates" + ("" if have_torch else " (torch not installed: no torch columns)"))
    head = f"  {'case':22s} {'rnnviz ms':>10s}"
    if args.float64:
        head += f" {'float64 ms':>10s}"
    if other is not None:
        head += f" {'other ms':>9s} {'this/other':>10s}"
    if have_torch:
        head += f" {'torch ms':>9s} {'ratio':>6s} {'target':>7s}"
    head += f" {'peak MiB':>9s}"
    print(head)
    summary = {}
    for kind, H, T, B, target in CASES:
        xs, ys, mask = ours.adding(B, T, seed=0)
        steppers = [rnnviz_stepper(ours, kind, H, xs, ys, mask)]
        if args.float64:
            steppers.append(rnnviz_stepper(ours, kind, H, xs, ys, mask, np.float64))
        if other is not None:
            steppers.append(rnnviz_stepper(other, kind, H, xs, ys, mask))
        if have_torch:
            steppers.append(torch_stepper(kind, H, xs, ys, mask))
        got = timed(steppers, reps, per)
        key = f"{kind}_H{H}_T{T}_B{B}"
        mine = got.pop(0)
        summary[f"{key}_ms"] = round(mine * 1e3, 3)
        line = f"  {key:22s} {mine * 1e3:10.2f}"
        if args.float64:
            f64 = got.pop(0)
            summary[f"{key}_float64_ms"] = round(f64 * 1e3, 3)
            line += f" {f64 * 1e3:10.2f}"
        if other is not None:
            theirs = got.pop(0)
            summary[f"{key}_other_ms"] = round(theirs * 1e3, 3)
            summary[f"{key}_vs_other"] = round(mine / theirs, 3)
            line += f" {theirs * 1e3:9.2f} {mine / theirs:10.2f}"
        if have_torch:
            t = got.pop(0)
            summary[f"{key}_torch_ms"] = round(t * 1e3, 3)
            summary[f"{key}_ratio"] = round(mine / t, 3)
            line += f" {t * 1e3:9.2f} {mine / t:6.2f} {'≤ ' + str(target):>7s}"
        peak = peak_mib(rnnviz_stepper(ours, kind, H, xs, ys, mask))
        summary[f"{key}_peak_mib"] = round(peak, 2)
        line += f" {peak:9.2f}"
        print(line)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    summary["max_rss_mib"] = round(rss, 1)
    print(f"  process maximum resident set: {rss:.1f} MiB (torch included when loaded)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
