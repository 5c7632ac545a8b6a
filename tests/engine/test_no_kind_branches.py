"""Nothing outside rnnviz/engine/cells/ branches on a cell kind's name.

Walks the AST of every module of a layer and fails on a comparison (==, !=, in, not in, a
match case) or a ``.startswith`` / ``.endswith`` whose operand is a string literal naming a
kind or a choice, and on a dict literal (or ``dict(...)`` call) keyed by one. The names come
from the registry, so a new kind is covered as soon as it is registered. Layers not yet
converted are expected to fail (strict), so this test flips to red once they are clean and
their xfail can be dropped.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rnnviz.engine.cells import CELL_KINDS, CHOICES

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rnnviz"
NAMES = frozenset(CELL_KINDS) | frozenset(CHOICES)
#: The kinds' own home, where naming them is the point.
ALLOWED = PACKAGE / "engine" / "cells"
#: Layers still to convert (by others): expected to fail until they are clean.
NOT_YET_CLEAN: set = set()
LAYERS = ["rnnviz/engine", "rnnviz/io", "rnnviz/ui", "rnnviz/cli.py"]
#: rnnviz/core is checked module by module: these (the display frames and their equation
#: lines) are still to convert, every other core module must be clean. A listed module that
#: does not exist in this checkout is skipped.
CORE = "rnnviz/core"
NOT_YET_CLEAN_CORE: set = set()


def _names_in(node) -> list[str]:
    """Kind/choice names among a string literal or a tuple/list/set literal of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if node.value in NAMES else []
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [n for e in node.elts for n in _names_in(e)]
    return []


def violations(source: str, filename: str = "<string>") -> list[str]:
    """``file:line: what`` for every kind branch in ``source``."""
    out = []

    def hit(node, what, names):
        out.append(f"{filename}:{node.lineno}: {what} {', '.join(repr(n) for n in names)}")

    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Compare):
            if any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops):
                names = [n for operand in [node.left, *node.comparators] for n in _names_in(operand)]
                if names:
                    hit(node, "compares with", names)
        elif isinstance(node, ast.match_case):
            names = [n for p in ast.walk(node.pattern) if isinstance(p, ast.MatchValue) for n in _names_in(p.value)]
            if names:
                hit(node.pattern, "matches", names)
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("startswith", "endswith"):
                names = [n for a in node.args for n in _names_in(a)]
                if names:
                    hit(node, f".{func.attr}", names)
            if isinstance(func, ast.Name) and func.id == "dict":
                names = [k.arg for k in node.keywords if k.arg in NAMES]
                if names:
                    hit(node, "dict() keyed by", names)
        elif isinstance(node, ast.Dict):
            names = [n for k in node.keys if k is not None for n in _names_in(k)]
            if names:
                hit(node, "dict keyed by", names)
    return out


def modules(layer: str) -> list[Path]:
    path = ROOT / layer
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [f for f in files if ALLOWED not in f.parents]


@pytest.mark.parametrize(
    "layer",
    [pytest.param(layer, marks=pytest.mark.xfail(strict=True, reason="not converted yet"))
     if layer in NOT_YET_CLEAN else layer for layer in LAYERS],
)
def test_no_kind_branches(layer):
    if not (ROOT / layer).exists():
        pytest.skip(f"{layer} does not exist in this checkout")
    found = [v for f in modules(layer) for v in violations(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))]
    assert not found, "kind branches outside rnnviz/engine/cells/:\n" + "\n".join(found)


def _core_modules() -> list[str]:
    found = {str(f.relative_to(ROOT)) for f in modules(CORE)}
    return sorted(found | NOT_YET_CLEAN_CORE)


@pytest.mark.parametrize(
    "module",
    [pytest.param(m, marks=pytest.mark.xfail(strict=True, reason="not converted yet"))
     if m in NOT_YET_CLEAN_CORE else m for m in _core_modules()],
)
def test_no_kind_branches_in_core(module):
    path = ROOT / module
    if not path.exists():
        pytest.skip(f"{module} does not exist in this checkout")
    found = violations(path.read_text(encoding="utf-8"), module)
    assert not found, "kind branches outside rnnviz/engine/cells/:\n" + "\n".join(found)


def test_the_checker_catches_every_form():
    bad = '''
if cell.kind == "lstm": pass
if "gru" != k: pass
if s.cell in ("lstm", "compare"): pass
if key not in ["rnn_relu"]: pass
if key.startswith("rnn"): pass
T = {"rnn": 1}
U = dict(gru=3)
match kind:
    case "lstm": pass
'''
    assert len(violations(bad)) == 8
    fine = '''
if cell.kind == other.kind: pass
label = "lstm"
if s.cell == "compare": pass
G = kind_of(cell).blocks
'''
    assert violations(fine) == []


def test_the_checked_layers_hold_modules():
    assert modules("rnnviz/engine") and ALLOWED.is_dir()
    assert {"rnnviz/core/model.py", "rnnviz/core/session.py", "rnnviz/core/app.py"} <= set(_core_modules())
    assert not any(ALLOWED in f.parents for f in modules("rnnviz/engine"))
