"""The layers of ARCHITECTURE.md, enforced: import-linter's contracts from pyproject.toml."""

from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_import_contracts_hold(capsys):
    cli = pytest.importorskip("importlinter.cli")
    code = cli.lint_imports(config_filename=str(PYPROJECT), no_cache=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 kept, 0 broken" in out


def test_every_package_ships():
    # A package missing from pyproject's list is absent from a non-editable install (CI's).
    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["packages"])
    root = PYPROJECT.parent
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "rnnviz").rglob("__init__.py")}
    assert found - listed == set()
