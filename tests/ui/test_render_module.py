"""``rnnviz render FILE --module NAME`` draws the chosen module of an encoder–decoder file."""

from __future__ import annotations

import numpy as np

from rnnviz.cli import main
from rnnviz.engine import init_cell


def test_render_draws_the_module_asked_for(tmp_path, capsys, qapp):
    enc, dec = init_cell("gru", 3, 4, seed=1), init_cell("lstm", 4, 5, seed=2)
    arrays = {}
    for prefix, cell in (("encoder.rnn", enc), ("decoder.rnn", dec)):
        for name, field in (("weight_ih", "W_ih"), ("weight_hh", "W_hh"), ("bias_ih", "b_ih"), ("bias_hh", "b_hh")):
            arrays[f"{prefix}.{name}_l0"] = getattr(cell, field)
    path = tmp_path / "seq2seq.npz"
    np.savez(path, **arrays)
    out = tmp_path / "out.png"
    from rnnviz.io.weights import set_defaults

    try:
        assert main(["render", str(path), "-o", str(out)]) == 2  # which one? the message says
        assert "pick one with module=NAME" in capsys.readouterr().err and not out.exists()
        assert main(["render", str(path), "--module", "decoder.rnn", "-o", str(out)]) == 0
        assert out.stat().st_size > 10_000
    finally:
        set_defaults()  # the command line's options apply to the whole process
