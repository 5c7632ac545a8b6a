"""The .onnx reader's fuzzer (onnx_fuzz.py) in a subprocess whose address space may grow by
1 GiB at most: mutated models load cleanly or give a one-line InputError."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def test_fuzz_onnx_reader_under_a_memory_limit():
    pytest.importorskip("onnx")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), str(HERE)])}
    env.setdefault("RNNVIZ_FUZZ_EXAMPLES", "100")
    proc = subprocess.run([sys.executable, str(HERE / "onnx_fuzz.py"), str(1 << 30)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
