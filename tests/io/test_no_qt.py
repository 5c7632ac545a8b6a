"""rnnviz.io, and the tests of it, import no Qt: checked in a fresh interpreter."""

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import rnnviz.io

HERE = Path(__file__).resolve().parent


def io_modules() -> list[str]:
    return ["rnnviz.io"] + [m.name for m in pkgutil.walk_packages(rnnviz.io.__path__, "rnnviz.io.")]


def test_the_list_is_complete():
    names = io_modules()
    assert {"rnnviz.io.weights", "rnnviz.io.weights.npz", "rnnviz.io.weights.keras", "rnnviz.io.session",
            "rnnviz.io.lessons", "rnnviz.io.sequences", "rnnviz.io.trace", "rnnviz.io.gif",
            "rnnviz.io.atomic"} <= set(names)


def test_io_and_its_tests_import_no_qt():
    tests = sorted(p.stem for p in HERE.glob("test_*.py"))
    code = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        f"for name in {io_modules() + tests!r}:\n"
        "    importlib.import_module(name)\n"
        # the tests may use core (Qt-free too, and the app's settings schema), never ui
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')"
        " or m.startswith('rnnviz.ui'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stdout + res.stderr


def test_io_imports_nothing_of_core_or_ui():
    code = (
        "import importlib, sys\n"
        f"for name in {io_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')"
        " or m.startswith(('rnnviz.ui', 'rnnviz.core')))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
