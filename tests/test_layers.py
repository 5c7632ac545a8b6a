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
