"""Small hostile files, made on the fly, and a runner that loads them under a memory limit.

Nothing here is big on disk: bombs are deflate streams built from one compressed block
repeated (a GiB of zeros in about a MB), HDF5 "sparse" datasets declare shapes and write
no chunks, and zip directories can lie about their members' sizes.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib

import h5py
import numpy as np

MiB = 1 << 20
GiB = 1 << 30


# ----------------------------------------------------------------------------- deflate bombs
def deflate_bomb(prefix: bytes, fill: int, size: int) -> tuple[bytes, int]:
    """A raw deflate stream that inflates to ``prefix`` followed by ``fill`` bytes, ``size`` in
    all, and the CRC-32 of that content, without ever holding it in memory."""
    block = bytes([fill]) * MiB
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = [c.compress(prefix), c.flush(zlib.Z_FULL_FLUSH)]
    crc = zlib.crc32(prefix)
    left = size - len(prefix)
    # After a full flush the compressor starts afresh, so one compressed block can be repeated.
    c1 = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = c1.compress(block) + c1.flush(zlib.Z_FULL_FLUSH)
    while left >= MiB:
        out.append(one)
        crc = zlib.crc32(block, crc)
        left -= MiB
    tail = bytes([fill]) * left
    out.append(c.compress(tail) + c.flush())
    crc = zlib.crc32(tail, crc)
    return b"".join(out), crc


def raw_zip(path, members) -> None:
    """Write a zip from (name, data, crc, file_size, method) members, sizes as given (may lie)."""
    with open(path, "wb") as fh:
        central = []
        for name, data, crc, file_size, method in members:
            offset = fh.tell()
            n = name.encode()
            fh.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21,
                                 crc, len(data), file_size, len(n), 0) + n)
            fh.write(data)
            central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21,
                                       crc, len(data), file_size, len(n), 0, 0, 0, 0, 0, offset) + n)
        start = fh.tell()
        for c in central:
            fh.write(c)
        size = fh.tell() - start
        fh.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), size, start, 0))


def stored(name: str, data: bytes):
    return (name, data, zlib.crc32(data), len(data), 0)


def deflated(name: str, data: bytes):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (name, c.compress(data) + c.flush(), zlib.crc32(data), len(data), 8)


def npy_header(shape, dtype="<f8") -> bytes:
    """A version 1.0 .npy header declaring ``shape``."""
    text = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    pad = 64 - (10 + len(text) + 1) % 64
    text = text + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


# ----------------------------------------------------------------------------- Keras files
def keras_weights(path_or_file, layers, edit=None):
    """A Keras 3 weights file: ``layers`` is [(group name, [kernel, recurrent, bias])]."""
    if isinstance(path_or_file, h5py.Group):
        _fill(path_or_file, layers, edit)
    else:
        with h5py.File(path_or_file, "w") as f:
            _fill(f, layers, edit)
    return path_or_file


def _fill(f, layers, edit):
    for name, values in layers:
        g = f.create_group(f"layers/{name}/cell/vars")
        for i, v in enumerate(values):
            g.create_dataset(str(i), data=np.asarray(v, np.float32))
    if edit:
        edit(f)


def gru_vars(D=2, H=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(D, 3 * H)), rng.normal(size=(H, 3 * H)), rng.normal(size=(2, 3 * H))]


def keras_config(layer="GRU", units=3, **cfg) -> bytes:
    return json.dumps({
        "class_name": "Sequential",
        "config": {"layers": [{"class_name": layer, "config": {"name": "gru", "units": units, **cfg}}]},
    }).encode()


# ----------------------------------------------------------------------------- running under a limit
_RUNNER = textwrap.dedent(r"""
    import json, os, resource, sys, time
    cases = json.loads(sys.argv[1])
    budget = int(sys.argv[2])
    import numpy, h5py, safetensors, safetensors.numpy  # noqa: F401 - loaded before the limit
    if any(kind == "weights" and path.endswith((".pt", ".pth")) for kind, path in cases):
        import torch  # noqa: F401
    from rnnviz.engine import InputError
    from rnnviz.io import load_weights
    from rnnviz.io.sequences import read_sequence
    from rnnviz.core import session as CS

    def vm_bytes():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
        return 0

    limit = vm_bytes() + budget
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    readers = {"weights": load_weights, "sequence": read_sequence, "session": CS.load_session}
    def out_of_memory(err):
        while err is not None:
            if isinstance(err, MemoryError):
                return True
            err = err.__context__
        return False

    for kind, path in cases:
        t = time.monotonic()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            readers[kind](path)
            outcome = ["loaded", ""]
        except InputError as err:
            # a MemoryError turned into a message still means the bound was missing
            outcome = ["crashed" if out_of_memory(err) else "refused", str(err)]
        except BaseException as err:
            outcome = ["crashed", f"{type(err).__name__}: {err}"[:300]]
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) * 1024
        print(json.dumps([path] + outcome + [time.monotonic() - t, grew]), flush=True)
""")


def load_limited(cases, budget=GiB, timeout=60):
    """Load each (kind, path) in one subprocess whose address space may grow by ``budget`` at
    most; kind is "weights", "sequence" or "session". Returns {path: Outcome}.

    A reader that allocates what a file declares, unchecked, hits the limit (MemoryError, or
    a crash) and the test sees "crashed"."""
    cases = [(kind, os.fspath(path)) for kind, path in cases]
    env = {**os.environ, "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, json.dumps(cases), str(budget)],
        capture_output=True, text=True, timeout=timeout, env=env,
    )
    results = {}
    for line in proc.stdout.splitlines():
        path, outcome, message, seconds, grew = json.loads(line)
        results[path] = Outcome(outcome, message, seconds, grew)
    for _, path in cases:
        if path not in results:
            results[path] = Outcome("crashed", f"the process died (status {proc.returncode}): "
                                    f"{proc.stderr[-300:]}", 0.0, 0)
    return results


class Outcome(tuple):
    """(outcome, message, seconds) of one file, and ``grew``: how far its peak RSS rose, in bytes."""

    def __new__(cls, outcome, message, seconds, grew):
        self = super().__new__(cls, (outcome, message, seconds))
        self.grew = grew
        return self
