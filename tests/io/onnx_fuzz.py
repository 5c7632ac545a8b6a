"""The .onnx reader's hypothesis fuzzer: mutated fixtures load cleanly or give a one-line
InputError (see fuzz_readers.py). Besides truncation and bit flips it edits what a model
declares: initializer dims (up to 2³²), data types, raw_data lengths, hidden_size, and
protobuf varints anywhere in the file.

``test_onnx_fuzz.py`` runs it in a subprocess whose address space may grow by 1 GiB at most.
"""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from fuzz_readers import CUT, EDITS, FLIPS, FIXTURES, FUZZ, check, flip, truncate, _weights

CASES = ("onnx_lstm.onnx", "onnx_torch_gru.onnx", "onnx_torch_lstm_stacked.onnx", "onnx_lstm_bidirectional.onnx")


def declared(data: bytes, edits) -> bytes:
    """Parse, change declared sizes and types, serialize again."""
    from onnx import ModelProto

    m = ModelProto()
    m.ParseFromString(data)
    inits = list(m.graph.initializer)
    rec = [n for n in m.graph.node if n.op_type in ("RNN", "GRU", "LSTM")]
    for pick, value in edits:
        what = int(pick * 4)
        if what == 0 and inits:
            t = inits[int(pick * 97) % len(inits)]
            if t.dims:
                t.dims[int(pick * 89) % len(t.dims)] = value
        elif what == 1 and inits:
            inits[int(pick * 97) % len(inits)].data_type = value % 32
        elif what == 2 and inits:
            t = inits[int(pick * 97) % len(inits)]
            t.raw_data = t.raw_data[: value % (len(t.raw_data) + 1)]
        elif rec:
            for a in rec[int(pick * 97) % len(rec)].attribute:
                if a.name == "hidden_size":
                    a.i = value
    return m.SerializeToString()


def varints(data: bytes, edits) -> bytes:
    """Overwrite a byte that starts a varint (a length or a number) with a large one."""
    out = bytearray(data)
    for pick, value in edits:
        pos = int(pick * len(out))
        enc = bytearray()
        v = value
        while True:
            b = v & 0x7F
            v >>= 7
            enc.append(b | (0x80 if v else 0))
            if not v:
                break
        out[pos:pos + 1] = enc
    return bytes(out)


MUTATION = st.one_of(
    CUT.map(lambda c: (lambda d: truncate(d, c))),
    FLIPS.map(lambda f: (lambda d: flip(d, f))),
    EDITS.map(lambda e: (lambda d: declared(d, e))),
    EDITS.map(lambda e: (lambda d: varints(d, e))),
)


def fuzzer():
    blobs = [(FIXTURES / "onnx" / name).read_bytes() for name in CASES]

    @FUZZ
    @given(which=st.integers(0, len(blobs) - 1), mutate=MUTATION)
    def fuzz(which, mutate):
        check(_weights, "fuzz.onnx", mutate(blobs[which]))

    return fuzz


if __name__ == "__main__":
    import resource

    budget = int(sys.argv[1])
    import onnx  # noqa: F401 - loaded before the limit
    import rnnviz.io  # noqa: F401

    fuzz = fuzzer()
    with open("/proc/self/status") as fh:
        vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + budget, vm + budget))
    fuzz()
    print("ok")
