"""Access to the runtime files in resources/, installed as the package rnnviz.resources."""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def resource_path(*parts: str):
    """A Traversable for a file under resources/ (installed package, or the source tree)."""
    try:
        root = importlib.resources.files("rnnviz.resources")
    except ModuleNotFoundError:
        # Running from a source checkout without installing: resources/ sits beside rnnviz/.
        root = Path(__file__).resolve().parent.parent / "resources"
    for p in parts:
        root = root / p
    return root


def read_bytes(*parts: str) -> bytes:
    return resource_path(*parts).read_bytes()
