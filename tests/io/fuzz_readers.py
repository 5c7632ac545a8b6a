"""Hypothesis fuzzers, one per reader, that mutate valid files: truncation, bit flips, and the
size fields a format declares (zip directory sizes, .npy shapes, the safetensors header length
and shapes, 8-byte words in HDF5's headers, JSON values).

Every outcome must be a clean load or a one-line InputError naming the file; a MemoryError
behind the message counts as a failure. ``test_fuzz_readers.py`` runs each fuzzer in a
subprocess whose address space may grow by 1 GiB at most, so an unchecked declared size fails.
"""

from __future__ import annotations

import json
import os
import re
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXAMPLES = int(os.environ.get("RNNVIZ_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

HUGE = st.sampled_from([0, 1, 7, 255, 2**16, 2**31 - 1, 2**31, 2**32 - 1]) | st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------- mutations
def truncate(data: bytes, cut: float) -> bytes:
    return data[: int(len(data) * cut)]


def flip(data: bytes, flips) -> bytes:
    out = bytearray(data)
    for where, bit in flips:
        out[int(where * len(out))] ^= 1 << bit
    return bytes(out)


def zip_sizes(data: bytes, edits) -> bytes:
    """Overwrite sizes in the local headers, the central directory and its end record."""
    out = bytearray(data)
    fields = [(m.start() + off, 4) for m in re.finditer(rb"PK\x03\x04", data) for off in (18, 22)]
    fields += [(m.start() + off, 4) for m in re.finditer(rb"PK\x01\x02", data) for off in (20, 24)]
    fields += [(m.start() + off, w) for m in re.finditer(rb"PK\x05\x06", data) for off, w in ((8, 2), (10, 2), (12, 4))]
    for pick, value in edits:
        if fields:
            pos, width = fields[int(pick * len(fields))]
            out[pos:pos + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    return bytes(out)


def numbers_in(data: bytes, pattern: bytes, edits) -> bytes:
    """Replace numbers inside every match of ``pattern`` (shapes, offsets) with others."""
    spans = [m.span() for m in re.finditer(pattern, data)]
    out = data
    for pick, value in edits:
        if not spans:
            break
        a, b = spans[int(pick * len(spans))]
        chunk = re.sub(rb"\d+", str(value).encode(), out[a:b], count=1)
        out = out[:a] + chunk + out[b:]
        spans = [m.span() for m in re.finditer(pattern, out)]
    return out


def words(data: bytes, edits) -> bytes:
    """Overwrite 8-byte little-endian words (HDF5 keeps sizes and addresses in them)."""
    out = bytearray(data)
    for pick, value in edits:
        pos = int(pick * (len(out) // 8)) * 8
        out[pos:pos + 8] = struct.pack("<Q", value * 4099 % (1 << 64))
    return bytes(out)


EDITS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), HUGE), min_size=1, max_size=4)
FLIPS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), min_size=1, max_size=8)
CUT = st.floats(0, 1, exclude_max=True)


def mutation(kind: str):
    """A strategy of functions bytes → bytes for a format: truncation, flips, its size fields."""
    size_fields = {
        "zip": lambda e: (lambda d: zip_sizes(d, e)),
        "npz": lambda e: (lambda d: numbers_in(zip_sizes(d, e[:1]), rb"'shape': \([0-9, ]*\)", e)),
        "safetensors": lambda e: (lambda d: numbers_in(struct.pack("<Q", e[0][1] * 7 % 2**40) + d[8:]
                                                       if e[0][0] < 0.3 else d, rb'"(shape|data_offsets)":\[[0-9,]*\]', e)),
        "h5": lambda e: (lambda d: words(d, e)),
        "json": lambda e: (lambda d: numbers_in(d, rb"-?\d+(\.\d+)?", e)),
        "text": lambda e: (lambda d: numbers_in(d, rb"\d+", e)),
    }[kind]
    return st.one_of(
        CUT.map(lambda c: (lambda d: truncate(d, c))),
        FLIPS.map(lambda f: (lambda d: flip(d, f))),
        EDITS.map(size_fields),
    )


# ----------------------------------------------------------------------------- checking an outcome
def check(load, name: str, data: bytes):
    from rnnviz.engine import InputError

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        with open(path, "wb") as fh:
            fh.write(data)
        try:
            load(path)
        except InputError as err:
            text = str(err)
            assert len(text.splitlines()) == 1 and name in text, text
            cause = err
            while cause is not None:
                assert not isinstance(cause, MemoryError), f"a MemoryError behind: {text}"
                cause = cause.__context__


# ----------------------------------------------------------------------------- one fuzzer per reader
def _weights(path):
    import warnings

    from rnnviz.io import load_weights

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_weights(path)


def _weights_fuzzer(fixture: str, kind: str):
    data = (FIXTURES / fixture).read_bytes()
    name = "fuzz" + fixture[fixture.index("."):]

    @FUZZ
    @given(mutate=mutation(kind))
    def fuzz(mutate):
        check(_weights, name, mutate(data))

    return fuzz


def _keras_inner_fuzzer():
    """Mutations of the model.weights.h5 and config.json inside a .keras, rezipped."""
    import io
    import zipfile

    with zipfile.ZipFile(FIXTURES / "keras_gru.keras") as z:
        members = {n: z.read(n) for n in z.namelist()}

    @FUZZ
    @given(which=st.sampled_from(["model.weights.h5", "config.json"]), data=st.data())
    def fuzz(which, data):
        mutate = data.draw(mutation("h5" if which.endswith(".h5") else "json"))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for n, blob in members.items():
                z.writestr(n, mutate(blob) if n == which else blob)
        check(_weights, "fuzz.keras", buf.getvalue())

    return fuzz


def _sequence_fuzzer(ext: str):
    from rnnviz.io.sequences import read_sequence

    if ext == ".csv":
        data = b"a,b\n" + b"".join(b"%r,%r\n" % (float(x), float(-x)) for x in np.linspace(0, 1, 20))
        kind = "text"
    else:
        import io

        buf = io.BytesIO()
        np.save(buf, np.linspace(0, 1, 40).reshape(20, 2))
        data = buf.getvalue()
        kind = "npz"  # its header holds 'shape': (20, 2)

    extra = st.sampled_from([b'"', b"\x00", b"\r", b"\n" * 3, b'"' + b"x" * 140_000, b"\xff", b",,,"])

    @FUZZ
    @given(mutate=mutation(kind), insert=st.none() | st.tuples(CUT, extra))
    def fuzz(mutate, insert):
        blob = mutate(data)
        if insert is not None:
            at = int(insert[0] * len(blob))
            blob = blob[:at] + insert[1] + blob[at:]
        check(read_sequence, "fuzz" + ext, blob)

    return fuzz


def _session_fuzzer():
    from rnnviz.core import model as M
    from rnnviz.core import session as CS

    data = CS.dumps_session(CS.SessionData(M.Settings(cell="lstm", hidden_size=3, T=6),
                                           lesson=CS.Lesson("Title", "Text.")))
    doc = json.loads(data)
    nasty = st.sampled_from([
        "[" * 5000 + "]" * 5000, "{}," * 1000 + "{}", '"' + "x" * 100_000 + '"', "1e999", "-0", "[[]]", "null",
        "9" * 400, '"\\ud800"', '{"a": ' * 200 + "1" + "}" * 200,
    ])
    paths = []

    def walk(v, at):
        paths.append(at)
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, at + (k,))
        elif isinstance(v, list):
            for i, x in enumerate(v[:3]):
                walk(x, at + (i,))

    walk(doc, ())

    def replace(at, text):
        if not at:
            return text.encode()
        marker = "\x00MARK\x00"
        d = json.loads(data)
        target = d
        for k in at[:-1]:
            target = target[k]
        target[at[-1]] = marker
        return json.dumps(d).replace(json.dumps(marker), text).encode()

    @FUZZ
    @given(choice=st.one_of(mutation("json").map(lambda m: ("bytes", m)),
                            st.tuples(st.sampled_from(paths), nasty).map(lambda t: ("value", t))))
    def fuzz(choice):
        how, what = choice
        blob = what(data) if how == "bytes" else replace(*what)
        check(CS.load_session, "fuzz.rnnviz", blob)

    return fuzz


def fuzzers() -> dict:
    return {
        "npz": lambda: _weights_fuzzer("torch_gru.npz", "npz"),
        "safetensors": lambda: _weights_fuzzer("torch_gru.safetensors", "safetensors"),
        "keras": lambda: _weights_fuzzer("keras_gru.keras", "zip"),
        "keras-inner": _keras_inner_fuzzer,
        "weights.h5": lambda: _weights_fuzzer("keras_gru.weights.h5", "h5"),
        "pt": lambda: _weights_fuzzer("torch_gru.pt", "zip"),
        "csv": lambda: _sequence_fuzzer(".csv"),
        "npy": lambda: _sequence_fuzzer(".npy"),
        "session": _session_fuzzer,
    }


if __name__ == "__main__":
    # python fuzz_readers.py NAME BUDGET: run one fuzzer with the address space bounded.
    import resource

    name, budget = sys.argv[1], int(sys.argv[2])
    import h5py, safetensors.numpy  # noqa: E401, F401 - loaded before the limit
    import rnnviz.core.session  # noqa: F401
    import rnnviz.io  # noqa: F401
    if name == "pt":
        import torch  # noqa: F401
    fuzz = fuzzers()[name]()
    with open("/proc/self/status") as fh:
        vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + budget, vm + budget))
    fuzz()
    print("ok")
