"""Messages next to the ONNX reader's that need no onnx package: ``module=`` for a state_dict with
several recurrent modules (an encoder–decoder), and the clear refusals of a TensorFlow SavedModel
folder and a TorchScript archive."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from rnnviz.engine import InputError
from rnnviz.io import load_weights

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def input_error(path, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        load_weights(path, **kwargs)
    text = str(info.value)
    assert len(text.splitlines()) == 1, text
    assert os.path.basename(os.fspath(path)) in text
    return text


def seq2seq_arrays():
    """An encoder–decoder state_dict's recurrent arrays: (arrays, encoder GRU, decoder LSTM)."""
    from rnnviz.engine import init_cell

    enc, dec = init_cell("gru", 3, 4, seed=1), init_cell("lstm", 4, 5, seed=2)
    arrays = {}
    for prefix, cell in (("encoder.rnn", enc), ("decoder.rnn", dec)):
        for name, field in (("weight_ih", "W_ih"), ("weight_hh", "W_hh"), ("bias_ih", "b_ih"), ("bias_hh", "b_hh")):
            arrays[f"{prefix}.{name}_l0"] = getattr(cell, field)
    return arrays, enc, dec


def test_encoder_decoder_state_dict_needs_a_module(tmp_path):
    arrays, enc, dec = seq2seq_arrays()
    arrays["decoder.fc.weight"] = np.zeros((2, 5))
    path = tmp_path / "seq2seq.npz"
    np.savez(path, **arrays)
    text = input_error(path)
    assert "several recurrent modules ('decoder.rnn', 'encoder.rnn'); pick one with module=NAME" in text
    np.testing.assert_array_equal(load_weights(path, module="decoder.rnn").W_hh, dec.W_hh)
    assert load_weights(path, module="encoder.rnn").kind == "gru"
    assert "no recurrent module 'encoder'" in input_error(path, module="encoder")


def test_module_option_where_it_does_not_apply():
    text = input_error(FIXTURES / "keras_gru.keras", module="x")
    assert "module= does not apply to .keras files" in text
    with pytest.raises(InputError, match="module must be a name"):
        load_weights(FIXTURES / "torch_gru.npz", module=3)


# ---------------------------------------------------------------------------------- clear refusals
def test_tensorflow_saved_model_folder(tmp_path):
    folder = tmp_path / "my_model"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"\x08\x01")
    for path in (folder, folder / "saved_model.pb"):
        text = input_error(path)
        assert "is a TensorFlow SavedModel folder (my_model)" in text
        assert "tf.keras.models.load_model('my_model').save('my_model.keras')" in text


def test_torchscript_archive_is_named_and_never_run(tmp_path, monkeypatch):
    import zipfile

    path = tmp_path / "scripted.pt"
    with zipfile.ZipFile(path, "w") as z:  # torch.jit.save's layout
        for name in ("data.pkl", "code/__torch__/torch/nn/modules/rnn.py", "constants.pkl", "version"):
            z.writestr(f"scripted/{name}", b"import os; os.system('echo pwned')")
    monkeypatch.setitem(sys.modules, "torch", None)  # recognised without PyTorch
    text = input_error(path)
    assert "is a TorchScript archive" in text and "never runs it" in text
    assert "torch.save(torch.jit.load('scripted.pt').state_dict(), 'weights.pt')" in text


def test_real_torchscript_archive(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "lstm_ts.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.save is deprecated: students still have such files
        torch.jit.save(torch.jit.trace(torch.nn.Linear(3, 4), torch.zeros(1, 3)), str(path))
    assert "is a TorchScript archive" in input_error(path)


def test_module_as_a_default_applies_where_a_file_has_modules(tmp_path):
    """``rnnviz FILE --module NAME`` and ``rnnviz render``: set_defaults(module=…) picks the module
    of every file that has several, and leaves files without modules alone."""
    from rnnviz.io.weights import set_defaults

    arrays, enc, dec = seq2seq_arrays()
    path = tmp_path / "seq2seq.npz"
    np.savez(path, **arrays)
    try:
        set_defaults(module="decoder.rnn")
        np.testing.assert_array_equal(load_weights(path).W_hh, dec.W_hh)
        assert load_weights(FIXTURES / "keras_gru.keras").kind == "gru"  # no modules: the default is moot
        assert load_weights(path, module="encoder.rnn").kind == "gru"  # an argument wins
    finally:
        set_defaults()
    assert "pick one with module=NAME" in input_error(path)


def test_render_takes_module(tmp_path):
    from rnnviz.cli import _render_parser

    args = _render_parser().parse_args(["seq2seq.npz", "--module", "decoder.rnn", "-o", "x.png"])
    assert args.module == "decoder.rnn"
