"""Write a model as a Keras 3 ``.weights.h5`` (``model.save_weights``'s layout), with h5py.

The file is what Keras 3 writes for ::

    model = keras.Sequential([keras.Input((None, D)),
                              keras.layers.LSTM(H, return_sequences=True),   # one per layer
                              keras.layers.Dense(O)])                        # the output layer, if any

so ``model.load_weights("OUT.weights.h5")`` takes it (SimpleRNN and GRU alike; a GRU with
``reset_after=True``, Keras's default, which is PyTorch's GRU). Keras is never imported.

Layout: ``layers/<name>/cell/vars/0`` the kernel (D, G·H), ``/1`` the recurrent kernel (H, G·H),
``/2`` the bias; ``layers/dense/vars/0`` the Dense kernel (H, O), ``/1`` its bias (O,). Layer
groups are named as Keras names the attributes of a Sequential: the class in snake case
(``simple_rnn``, ``gru``, ``lstm``, ``dense``), ``_1``, ``_2`` … for the second, third … of a class.

From PyTorch's layout: kernels are transposed; Keras's GRU stacks its gates z, r, h where
PyTorch stacks r, z, n (the LSTM's i, f, c, o are PyTorch's i, f, g, o); a reset-after GRU
keeps both biases as a (2, 3H) array [input, recurrent], every other cell one bias, b_ih + b_hh
(exact: in each of them b_hh is added next to b_ih, outside any product). What the file cannot
say — the activations — is Keras's defaults for PyTorch's cells (tanh, and sigmoid for the
gates); a ReLU RNN needs ``SimpleRNN(H, activation="relu")`` when the model is built, and the
Dense layer gives the output layer's logits (add ``activation="sigmoid"``/``"softmax"`` to
match a sigmoid or softmax output).
"""

from __future__ import annotations

import io
import os
from collections import Counter
from typing import Sequence

import numpy as np

from ...engine.cells import CELL_KINDS
from ...engine.errors import InputError
from ..atomic import atomic_write
from ..limits import printable, shown

__all__ = ["SUFFIX", "keras_problem", "keras_layer_names", "write_keras_weights"]

SUFFIX = ".weights.h5"


def keras_problem(layers: Sequence) -> str | None:
    """Why these cells cannot be written as Keras layers (one line), or None."""
    for k, cell in enumerate(layers):
        where = f"layer {k}: " if len(layers) > 1 else ""
        info = CELL_KINDS[cell.kind]
        if not info.keras_layer:
            return f"{where}Keras has no {cell.kind} layer"
        if getattr(cell, "W_hr", None) is not None:
            return f"{where}an LSTM with proj_size has no Keras layer"
        if cell.nonlinearity not in ("tanh", "relu"):
            return f"{where}the activation {cell.nonlinearity} has no PyTorch counterpart to build the Keras layer from"
        if "recurrent_activation" in info.cell_options and cell.recurrent_activation != "sigmoid":
            return f"{where}the gates' activation {cell.recurrent_activation} is not Keras's default sigmoid"
    return None


def keras_layer_names(layers: Sequence, head: bool = True) -> list[str]:
    """The groups under ``layers/`` that Keras's Sequential gives these cells (and the Dense head)."""
    classes = [CELL_KINDS[c.kind].keras_layer for c in layers] + (["Dense"] if head else [])
    seen: Counter = Counter()
    names = []
    for cls in classes:
        base = _snake_case(cls)
        names.append(base if not seen[base] else f"{base}_{seen[base]}")
        seen[base] += 1
    return names


def _snake_case(name: str) -> str:
    import re

    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _cell_arrays(cell, dtype) -> list[np.ndarray]:
    info = CELL_KINDS[cell.kind]
    H = cell.hidden_size
    W_ih, W_hh = np.asarray(cell.W_ih, np.float64), np.asarray(cell.W_hh, np.float64)
    b_ih, b_hh = np.asarray(cell.b_ih, np.float64), np.asarray(cell.b_hh, np.float64)
    if info.keras_gate_order != info.gate_names:  # the GRU: PyTorch's r, z, n → Keras's z, r, h
        perm = np.concatenate([np.arange(H) + info.gate_names.index(g) * H for g in info.keras_gate_order])
        W_ih, W_hh, b_ih, b_hh = W_ih[perm], W_hh[perm], b_ih[perm], b_hh[perm]
    two_biases = "reset_after" in info.cell_options and cell.reset_after is not False
    bias = np.stack([b_ih, b_hh]) if two_biases else b_ih + b_hh
    return [np.ascontiguousarray(a, dtype=dtype) for a in (W_ih.T, W_hh.T, bias)]


def write_keras_weights(path: str | os.PathLike, layers: Sequence, head=None, dtype=np.float32) -> None:
    """Write ``layers`` (cells, bottom first) and ``head`` ((W_hy (O, H), b_y (O,)) or None) as a
    Keras 3 ``.weights.h5``, atomically, in ``dtype`` (Keras's float32 by default).

    Raises InputError (naming ``path``) for another suffix or a model Keras cannot hold; OSErrors
    name ``path``.
    """
    import h5py

    fspath = os.fsdecode(path)
    if not fspath.lower().endswith(SUFFIX):
        ext = os.path.splitext(fspath)[1] or "(no extension)"
        raise InputError(f"a Keras weights file must end in {SUFFIX}, not {printable(ext)}", shown(fspath))
    layers = tuple(layers)
    if not layers:
        raise InputError("no recurrent layer to write", shown(fspath))
    problem = keras_problem(layers)
    if problem is not None:
        raise InputError(f"cannot write as Keras weights: {problem}", shown(fspath))
    for lower, upper in zip(layers, layers[1:]):
        if upper.input_size != lower.hidden_size:
            raise InputError(f"cannot write as Keras weights: a layer of {upper.input_size} inputs above "
                             f"one of {lower.hidden_size} units", shown(fspath))
    dtype = np.dtype(dtype)
    names = keras_layer_names(layers, head is not None)
    arrays = [_cell_arrays(cell, dtype) for cell in layers]
    if head is not None:
        W_hy, b_y = (np.asarray(a, np.float64) for a in head)
        if W_hy.shape != (b_y.shape[0], layers[-1].hidden_size):
            raise InputError(f"cannot write as Keras weights: the output layer {W_hy.shape} does not read "
                             f"the last layer's {layers[-1].hidden_size} units", shown(fspath))
        dense = [np.ascontiguousarray(W_hy.T, dtype=dtype), np.ascontiguousarray(b_y, dtype=dtype)]

    def write(tmp: str) -> None:
        # built in memory, then written as bytes: HDF5 itself never opens the temporary's name
        buffer = io.BytesIO()
        with h5py.File(buffer, "w", track_order=True) as f:
            top = f.create_group("layers", track_order=True)
            for name, cell, values in zip(names, layers, arrays):
                group = top.create_group(name, track_order=True)
                cell_vars = group.create_group("cell").create_group("vars", track_order=True)
                cell_vars.attrs["name"] = f"{_snake_case(CELL_KINDS[cell.kind].keras_layer)}_cell"
                for i, a in enumerate(values):
                    cell_vars.create_dataset(str(i), data=a)
                group.create_group("vars").attrs["name"] = name
            if head is not None:
                dense_vars = top.create_group(names[-1]).create_group("vars", track_order=True)
                dense_vars.attrs["name"] = names[-1]
                for i, a in enumerate(dense):
                    dense_vars.create_dataset(str(i), data=a)
            f.create_group("vars").attrs["name"] = "sequential"
        with open(tmp, "wb") as fh:
            fh.write(buffer.getvalue())

    atomic_write(fspath, write)
