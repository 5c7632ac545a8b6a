"""Each reader's hypothesis fuzzer (fuzz_readers.py), in a subprocess whose address space may
grow by 1 GiB at most: mutated valid files load cleanly or give a one-line InputError."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz_readers import fuzzers

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("name", list(fuzzers()))
def test_fuzz_reader_under_a_memory_limit(name):
    if name == "pt":
        pytest.importorskip("torch")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), str(HERE)])}
    if name == "pt":
        env["RNNVIZ_FUZZ_EXAMPLES"] = "20"  # each torch.load is slow
    proc = subprocess.run([sys.executable, str(HERE / "fuzz_readers.py"), name, str(1 << 30)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
