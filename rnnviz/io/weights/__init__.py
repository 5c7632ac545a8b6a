"""Read recurrent weights saved by PyTorch, Keras or rnnviz, and write them back out.

One module per format; this registry maps each suffix to its reader and writer. To add a
format, write a module with a ``FORMATS`` tuple of :class:`~.common.Format` and list it in
``_MODULES`` below.

Formats, chosen by extension:

``.npz``
    PyTorch names (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, … as in
    ``nn.RNN/GRU/LSTM.state_dict()``, or ``weight_ih``, … as in ``nn.*Cell``), or the seed
    document's ``weight_x`` (H, D), ``weight_h`` (H, H), ``bias`` (H, 1).
``.safetensors``
    PyTorch names; string metadata written by :func:`save_weights` (kind, nonlinearity,
    recurrent_activation, reset_after) is honoured.
``.pt`` / ``.pth``
    A PyTorch state_dict, only when PyTorch is installed, always with ``weights_only=True``.
``.onnx``
    The ``RNN``, ``GRU`` and ``LSTM`` operators (``torch.onnx.export``, tf2onnx), read as
    protobuf with the optional ``onnx`` package (``rnnviz[onnx]``); nothing in the file runs.
``.keras`` / ``.weights.h5``
    Keras 3 SimpleRNN, GRU and LSTM layers, read with zipfile and h5py (Keras is never
    imported). Keras keeps ``kernel`` (D, G·H) and ``recurrent_kernel`` (H, G·H) under
    ``layers/<name>/cell/vars/0`` and ``/1`` and the bias under ``/2``; its GRU gate order is
    z, r, h and its GRU ``reset_after=True`` bias is (2, 3H) = [input bias, recurrent bias].

Nothing here ever unpickles: NumPy reads with ``allow_pickle=False`` and PyTorch with
``weights_only=True``. Every problem with a file raises :class:`InputError` with one line.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from ...engine.activations import ACTIVATIONS
from ...engine.bidirectional import Bidirectional
from ...engine.cells import Cell, Stack, as_stack
from ...engine.errors import InputError
from . import keras, npz, onnx, safetensors, torch
from ..limits import printable, shown
from .common import (
    FileCell, FileStack, Format, LayerChoiceError, build, check_readable, notes_of, one_line, torch_mismatches,
)

__all__ = ["load_weights", "save_weights", "READ_EXTENSIONS", "WRITE_EXTENSIONS", "Format", "FileCell",
           "FileStack", "LayerChoiceError", "notes_of", "set_defaults", "LOAD_OPTIONS"]

#: The format modules, in the order their suffixes are listed in messages.
_MODULES = (npz, safetensors, torch, keras, onnx)
FORMATS: dict[str, Format] = {fmt.suffix: fmt for module in _MODULES for fmt in module.FORMATS}
READ_EXTENSIONS = tuple(s for s, fmt in FORMATS.items() if fmt.read is not None)
WRITE_EXTENSIONS = tuple(s for s, fmt in FORMATS.items() if fmt.write is not None)


#: The keyword arguments of :func:`load_weights` that say what a file leaves open.
LOAD_OPTIONS = ("nonlinearity", "activation", "recurrent_activation", "reset_after", "go_backwards", "layer", "module")
_defaults: dict = {}


def set_defaults(**options) -> None:
    """Options every later :func:`load_weights` call uses where it passes none (the command
    line's ``--activation``, … apply so to every file the app or ``render`` opens).
    ``set_defaults()`` clears them."""
    unknown = set(options) - set(LOAD_OPTIONS)
    if unknown:
        raise TypeError(f"unknown load options {sorted(unknown)}")
    _defaults.clear()
    _defaults.update({k: v for k, v in options.items() if v is not None})


def load_weights(
    path: str | os.PathLike, nonlinearity: str | None = None, reset_after: bool | None = None, *,
    activation: str | None = None, recurrent_activation: str | None = None, go_backwards: bool | None = None,
    layer: str | None = None, module: str | None = None, bidirectional: bool = False,
) -> Cell | Stack | Bidirectional:
    """Load recurrent weights from ``path``: a :class:`Cell` for one layer, a :class:`Stack` else.

    Flags a file records win; an argument that contradicts them is an error (``nonlinearity``
    excepted: it is ignored then). Flags a file leaves open come from the arguments, else from
    :func:`set_defaults`, else from the frameworks' defaults, and every default taken where
    the file could have said otherwise is reported in :func:`notes_of` (``model.notes``).

    Parameters
    ----------
    path : str or PathLike
        A ``.npz``, ``.safetensors``, ``.pt``/``.pth``, ``.keras``, ``.weights.h5`` or legacy
        Keras ``.h5`` file.
    nonlinearity : {"tanh", "relu", ...}
        The activation of vanilla RNN layers, for files that do not record it (PyTorch
        state_dicts never do); default tanh.
    reset_after : bool, optional
        The GRU variant for files that do not record it (a bias-free Keras ``.weights.h5``);
        ``None`` means PyTorch's and Keras's default (True).
    activation, recurrent_activation : str, optional
        Keras's ``activation`` (the candidate, and the squashing of c) and
        ``recurrent_activation`` (the gates), for files that do not record them (a Keras
        ``.weights.h5``); defaults tanh and sigmoid. ``"hard_sigmoid"`` is Keras 3's,
        ``"hard_sigmoid_keras2"`` Keras 2's.
    go_backwards : bool, optional
        Whether the layers read their input backwards (Keras ``go_backwards``), for files that
        do not record it; default False.
    layer : str, optional
        Keras files: the name of the recurrent layer to load (with the recurrent layers it reads
        from), for a model whose recurrent layers are parallel branches rather than one stack.
    module : str, optional
        Which recurrent module to read from a file that holds several (an encoder–decoder
        state_dict: the key prefix, ``"encoder"`` for ``encoder.weight_ih_l0``; an ONNX model:
        the operator's node name). Without it such a file is refused with the modules listed.
    bidirectional : bool
        Accept a bidirectional layer (PyTorch ``bidirectional=True``, ONNX ``bidirectional``) or
        an ONNX ``reverse`` one, and return it as a
        :class:`~rnnviz.engine.bidirectional.Bidirectional` (run it with ``run_bidirectional``).
        Without it such a file is refused: callers that run Cells and Stacks cannot run it.

    Raises
    ------
    InputError
        For every problem with the file, with a one-line message naming it
        (:class:`LayerChoiceError`, with the layer names, when a ``layer`` must be picked).
    """
    given = dict(nonlinearity=nonlinearity, reset_after=reset_after, activation=activation,
                 recurrent_activation=recurrent_activation, go_backwards=go_backwards, layer=layer, module=module)
    opts = {k: (v if v is not None else _defaults.get(k)) for k, v in given.items()}
    module = opts["module"]
    nonlinearity, reset_after = opts["nonlinearity"], opts["reset_after"]
    for name in ("nonlinearity", "activation", "recurrent_activation"):
        if opts[name] is not None and opts[name] not in ACTIVATIONS:
            raise InputError(
                f"unsupported {name} {opts[name]!r}; expected one of {', '.join(ACTIVATIONS)}"
            )
    for name in ("reset_after", "go_backwards"):
        if opts[name] is not None and not isinstance(opts[name], (bool, np.bool_)):
            raise InputError(f"{name} must be True, False or None, not {opts[name]!r}")
    if opts["layer"] is not None and not isinstance(opts["layer"], str):
        raise InputError(f"layer must be a layer's name, not {opts['layer']!r}")
    if module is not None and not isinstance(module, str):
        raise InputError(f"module must be a name (a str), not {module!r}")
    fspath = os.fsdecode(path)
    saved_model = _saved_model_folder(fspath)
    if saved_model is not None:
        name = printable(os.path.basename(saved_model.rstrip("/\\")) or saved_model)
        raise InputError(
            f"is a TensorFlow SavedModel folder ({name}), which rnnviz does not read; convert it to .keras "
            f"with: python -c \"import tensorflow as tf; tf.keras.models.load_model('{name}')"
            f".save('{name}.keras')\" (TensorFlow ≤ 2.15; later ones: import tf_keras)",
            shown(fspath),
        )
    ext = _extension(fspath)
    fmt = FORMATS.get(ext)
    if fmt is None or fmt.read is None:
        shown_ext = ext or "(no extension)"
        raise InputError(
            f"unsupported file type {printable(shown_ext)}; expected one of {', '.join(READ_EXTENSIONS)}",
            shown(fspath),
        )
    if opts["layer"] is not None and "layer" not in fmt.options:
        if given["layer"] is None:
            opts["layer"] = None  # a default for Keras files does not apply here
        else:
            raise InputError(f"layer={printable(opts['layer'])!r} picks a Keras layer by name; this file's "
                             "layers are numbered (trace one with --layer K)", shown(fspath))
    if module is not None and "module" not in fmt.options and given["module"] is None:
        module = None  # a default (the command line's --module) for files without modules
    if module is not None and "module" not in fmt.options:
        raise InputError(
            f"module= does not apply to {ext} files (it picks a module of a PyTorch state_dict or an ONNX model)",
            shown(fspath),
        )
    opts["module"] = module
    try:
        check_readable(fspath, allow_dir=fmt.directory)
        specs = fmt.read(fspath, **{k: opts[k] for k in fmt.options if opts.get(k) is not None})
        model = build(specs, nonlinearity, reset_after, fspath, activation=opts["activation"],
                      recurrent_activation=opts["recurrent_activation"], go_backwards=opts["go_backwards"])
        if isinstance(model, Bidirectional) and not bidirectional:
            which = "runs in reverse" if model.forward is None else "is bidirectional"
            raise InputError(
                f"{which}; rnnviz trace runs it (h_forward, h_backward), the app runs recurrent layers "
                "forwards only",
                fspath,
            )
        return model
    except LayerChoiceError as exc:
        raise LayerChoiceError(printable(exc.problem), shown(fspath), exc.choices) from None
    except InputError as exc:
        # Names inside a damaged file (zip members, h5 groups) and the file's own name may hold
        # line breaks or bytes that are not UTF-8: the message stays one printable line.
        problem, where = printable(exc.problem), shown(fspath)
        if problem == exc.problem and exc.path == where:
            raise
        raise InputError(problem, where) from None
    except MemoryError:
        raise InputError("does not fit in memory", shown(fspath)) from None
    except RecursionError:
        raise InputError(f"cannot read {_describe(ext)}: nested too deeply", shown(fspath)) from None
    except Exception as exc:  # noqa: BLE001 — any failure inside a reader is a bad file
        raise InputError(f"cannot read {_describe(ext)}: {one_line(exc)}", shown(fspath)) from None


def save_weights(model: Cell | Stack, path: str | os.PathLike) -> None:
    """Write ``model`` to ``.npz`` or ``.safetensors`` with PyTorch's names, atomically.

    Layer ``k`` becomes ``weight_ih_lk``, ``weight_hh_lk``, ``bias_ih_lk``, ``bias_hh_lk``
    (float64), so ``nn.RNN/GRU/LSTM(D, H, num_layers=L).load_state_dict`` takes the file as it
    is (after ``torch.from_numpy`` for ``.npz``; through ``safetensors.torch.load_file`` for
    ``.safetensors``). ``.safetensors`` also records kind, nonlinearity, recurrent_activation
    and reset_after as string metadata (comma-separated per layer when the layers differ),
    which :func:`load_weights` reads back. A model PyTorch cannot reproduce (Keras
    ``reset_after=False``, other activations, mixed kinds or widths) is still written, with
    a UserWarning.
    """
    if not isinstance(model, (Cell, Stack)):
        raise TypeError(f"save_weights needs a Cell or a Stack, not {type(model).__name__}")
    fspath = os.fsdecode(path)
    ext = _extension(fspath)
    if ext not in WRITE_EXTENSIONS:
        shown_ext = ext or "(no extension)"
        raise InputError(
            f"cannot save as {printable(shown_ext)}; expected one of {', '.join(WRITE_EXTENSIONS)}",
            shown(fspath),
        )
    layers = as_stack(model).layers
    tensors: dict[str, np.ndarray] = {}
    for k, cell in enumerate(layers):
        tensors[f"weight_ih_l{k}"] = np.array(cell.W_ih, dtype=np.float64, order="C")
        tensors[f"weight_hh_l{k}"] = np.array(cell.W_hh, dtype=np.float64, order="C")
        tensors[f"bias_ih_l{k}"] = np.array(cell.b_ih, dtype=np.float64, order="C")
        tensors[f"bias_hh_l{k}"] = np.array(cell.b_hh, dtype=np.float64, order="C")
        if cell.W_hr is not None:  # an LSTM with proj_size
            tensors[f"weight_hr_l{k}"] = np.array(cell.W_hr, dtype=np.float64, order="C")

    unloadable, different = torch_mismatches(layers)
    if unloadable:
        warnings.warn(
            f"{fspath}: {'; '.join(unloadable)}, so no single PyTorch nn module can load it",
            UserWarning,
            stacklevel=2,
        )
    if different:
        warnings.warn(
            f"{fspath}: {'; '.join(different)}, so PyTorch's nn modules will compute something "
            "different with these weights",
            UserWarning,
            stacklevel=2,
        )
    FORMATS[ext].write(fspath, layers, tensors)


def _saved_model_folder(path: str) -> str | None:
    """The SavedModel folder ``path`` is (or whose saved_model.pb it names), else None."""
    try:
        if os.path.isdir(path):
            return path if os.path.isfile(os.path.join(path, "saved_model.pb")) else None
        if os.path.basename(path) == "saved_model.pb":
            return os.path.dirname(os.path.abspath(path))
    except (OSError, ValueError):
        pass
    return None


def _extension(path: str) -> str:
    """The registered suffix ``path`` ends with (``.weights.h5`` before ``.h5``), else its last one."""
    name = os.path.basename(path.rstrip("/\\")).lower()
    for suffix in sorted((s for s in FORMATS if s.count(".") > 1), key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return os.path.splitext(name)[1]


def _describe(ext: str) -> str:
    fmt = FORMATS.get(ext)
    return fmt.description if fmt is not None else "the file"
