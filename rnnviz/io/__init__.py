"""rnnviz's file formats: weights, input sequences, sessions, lessons and exports. No Qt here.

    from rnnviz.io import load_weights, save_weights
    cell = load_weights("model.pt")        # or .npz / .safetensors / .keras / .weights.h5
    save_weights(cell, "out.safetensors")  # or .npz
    whole = load_model("model.pt", vocab="vocab.json")  # embedding → recurrent layers → head
"""

from __future__ import annotations

__all__ = ["load_model", "load_weights", "save_weights", "read_sequence"]


def __getattr__(name):
    # Import lazily: reading a session or listing lessons should not load the weights formats.
    if name in ("load_model", "load_weights", "save_weights"):
        from . import weights

        return getattr(weights, name)
    if name == "read_sequence":
        from .sequences import read_sequence

        return read_sequence
    raise AttributeError(name)
