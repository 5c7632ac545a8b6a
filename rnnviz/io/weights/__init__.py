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

import dataclasses
import os
import warnings

import numpy as np

from ...engine.activations import ACTIVATIONS
from ...engine.bidirectional import Bidirectional, is_bidirectional
from ...engine.cells import Cell, Stack, as_stack
from ...engine.errors import InputError
from . import keras, npz, onnx, safetensors, torch
from ..limits import printable, shown
from .common import (
    FileCell, FileStack, Format, LayerChoiceError, as_file_cell as _as_file_cell, build, check_readable, notes_of,
    one_line, torch_mismatches, with_notes,
)
from .whole import WholeModel, parse_ids
from ...engine.embedding import Embedding
from ...engine.train.output import Output
from ..vocab import Vocabulary, read_vocab

__all__ = ["load_weights", "load_model", "save_weights", "READ_EXTENSIONS", "WRITE_EXTENSIONS", "Format", "FileCell",
           "FileStack", "LayerChoiceError", "attach_vocab", "WholeModel", "Vocabulary", "notes_of", "parse_ids", "read_vocab",
           "set_defaults", "with_notes", "LOAD_OPTIONS"]

#: The format modules, in the order their suffixes are listed in messages.
_MODULES = (npz, safetensors, torch, keras, onnx)
FORMATS: dict[str, Format] = {fmt.suffix: fmt for module in _MODULES for fmt in module.FORMATS}
READ_EXTENSIONS = tuple(s for s, fmt in FORMATS.items() if fmt.read is not None)
WRITE_EXTENSIONS = tuple(s for s, fmt in FORMATS.items() if fmt.write is not None)


#: The keyword arguments of :func:`load_weights` that say what a file leaves open.
LOAD_OPTIONS = ("nonlinearity", "activation", "recurrent_activation", "reset_after", "go_backwards", "layer", "module",
                "vocab")
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
    return _load(path, given, bidirectional)[0]


def _load(path, given: dict, bidirectional: bool, whole: bool = False):
    """load_weights's work: (the model, the reader's specs); with ``whole``, the specs carry the
    parts around the recurrent layers (:class:`~.parts.Specs`) where the format has them."""
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
    opts["whole"] = True if whole else None
    try:
        check_readable(fspath, allow_dir=fmt.directory)
        specs = fmt.read(fspath, **{k: opts[k] for k in fmt.options if opts.get(k) is not None})
        model = build(specs, nonlinearity, reset_after, fspath, activation=opts["activation"],
                      recurrent_activation=opts["recurrent_activation"], go_backwards=opts["go_backwards"])
        if is_bidirectional(model) and not bidirectional:
            which = "runs in reverse" if getattr(model, "forward", True) is None else "is bidirectional"
            raise InputError(
                f"{which}; rnnviz trace runs it (h_forward, h_backward) and the app shows both "
                "directions, but this needs a layer that runs forwards",
                fspath,
            )
        if whole:
            return model, specs, _whole(model, getattr(specs, "parts", {}), fspath)
        return model, specs
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


def load_model(
    path: str | os.PathLike, vocab: str | os.PathLike | None = None, nonlinearity: str | None = None,
    reset_after: bool | None = None, *, activation: str | None = None, recurrent_activation: str | None = None,
    go_backwards: bool | None = None, layer: str | None = None, module: str | None = None,
    bidirectional: bool = False,
) -> WholeModel:
    """The whole model in ``path``: the embedding before the recurrent layers, the layers (what
    :func:`load_weights` returns, with the same options) and the output head after them.

    A PyTorch state_dict's embedding and head are the modules beside the recurrent one
    (``embedding.weight``, ``fc.weight``/``fc.bias``); a Keras model's are the ``Embedding``
    layer before the recurrent chain and the ``Dense`` layer after it (activation linear,
    sigmoid or softmax). Either may be absent; ``notes`` says what was assumed or not read.

    ``vocab`` is a vocabulary file (a JSON list or one token per line) naming the embedding's
    ids; without it a ``.keras`` file's own StringLookup / TextVectorization vocabulary is
    used when there is one. InputError (one line naming the file) for every problem.
    """
    given = dict(nonlinearity=nonlinearity, reset_after=reset_after, activation=activation,
                 recurrent_activation=recurrent_activation, go_backwards=go_backwards, layer=layer, module=module)
    whole = _load(path, given, bidirectional, whole=True)[2]
    chosen = vocab if vocab is not None else _defaults.get("vocab")
    if chosen is None:
        return whole
    if whole.embedding is None:
        if vocab is None:
            return whole  # a default (--vocab) for a model that reads vectors: it does not apply
        raise InputError(f"has no embedding, so a vocabulary ({shown(os.fsdecode(chosen))}) does not apply: the "
                         "model reads vectors, not token ids", shown(os.fsdecode(path)))
    return attach_vocab(whole, chosen, shown(os.path.basename(os.fsdecode(path))), from_defaults=vocab is None)


def attach_vocab(whole: WholeModel, vocab_path, model_name: str = "the model", from_defaults: bool = False
                 ) -> WholeModel:
    """``whole`` with the vocabulary file ``vocab_path`` naming its embedding's ids, and the
    notes that says (its OOV id; that it replaces the file's own; that it came with --vocab).
    InputError naming the vocabulary file if it is not one or has more tokens than rows."""
    where = shown(os.fsdecode(vocab_path))
    if whole.embedding is None:
        raise InputError(f"{model_name} has no embedding, so a vocabulary does not apply", where)
    table = read_vocab(vocab_path)
    if table.size > whole.embedding.vocab_size:
        raise InputError(f"has {table.size:,} tokens, but the embedding of {model_name} has "
                         f"{whole.embedding.vocab_size:,} rows (ids 0 … {whole.embedding.vocab_size - 1})", where)
    notes = _vocab_notes(table)
    name = shown(os.path.basename(os.fsdecode(vocab_path)))
    if from_defaults:  # the command line's --vocab, for every file this process opens
        notes.insert(0, f"its token ids are named by {name} (given with --vocab)")
    if whole.vocab is not None:
        notes.insert(0, f"{name} replaces the file's own vocabulary ({whole.vocab.source})")
    return dataclasses.replace(whole, vocab=table, rnn=with_notes(whole.rnn, notes))


def _vocab_notes(vocab: Vocabulary) -> list[str]:
    out = []
    if vocab.per_char:  # a file of tokens says nothing of how text splits: its tokens decide
        out.append(f"{vocab.source}: its tokens are single characters, so text is read one character per token")
    if vocab.oov is not None:
        out.append(f"{vocab.source}: a token it lacks reads id {vocab.oov} ({vocab.token(vocab.oov)!r}, its "
                   "out-of-vocabulary token)")
    return out


def _whole(model, parts: dict, path: str) -> WholeModel:
    """The :class:`WholeModel` of a model and the parts its reader found, checked."""
    notes = list(parts.get("notes", ()))
    embedding = head = None
    names = [None, None]
    pad_value = None
    emb = parts.get("embedding")
    if emb is not None:
        try:
            embedding = Embedding(emb["weight"], mask_zero=bool(emb.get("mask_zero")))
        except ValueError as exc:
            raise InputError(f"{emb['label']}: {one_line(exc)}", path) from None
        D = model.input_size
        if embedding.dim != D:
            raise InputError(f"the embedding {emb['label']!r} gives rows of {embedding.dim}, but the recurrent "
                             f"layers read D = {D} inputs", path)
        names[0] = emb["label"]
        if embedding.mask_zero:
            pad_value = _pad_value(embedding.weight)
            model = _with_mask_value(model, pad_value, path)
            notes.append(f"Embedding {emb['label']!r} has mask_zero=True: a step that reads id 0 is skipped (it keeps "
                         "the previous state and output)")
    hd = parts.get("head")
    if hd is not None:
        try:
            head = Output(hd["W"], hd["b"], hd["activation"])
        except ValueError as exc:
            raise InputError(f"{hd['label']}: {one_line(exc)}", path) from None
        width = model.hidden_size
        if head.input_size != width:
            raise InputError(f"the head {hd['label']!r} reads {head.input_size} units, but the recurrent layers give "
                             f"h of {width}", path)
        names[1] = hd["label"]
        if hd.get("last_only"):
            notes.append(f"the model returns the head's output at the last step only (return_sequences=False): "
                         f"y_T is its prediction; earlier steps show what {hd['label']!r} gives for h_t")
    vocab = parts.get("vocab")
    if vocab is not None and embedding is not None and vocab.size > embedding.vocab_size:
        raise InputError(f"{vocab.source} has {vocab.size:,} tokens but the embedding has {embedding.vocab_size:,} "
                         "rows", path)
    if vocab is not None:
        notes.extend(_vocab_notes(vocab))
    if notes:
        model = with_notes(model, notes)
    return WholeModel(model, embedding, head, vocab if embedding is not None else None,
                      bool(hd and hd.get("last_only")), tuple(names), pad_value)


def _pad_value(E: np.ndarray) -> float:
    """A value no row of E (id ≥ 1) holds in every entry: the padding rows are filled with it."""
    rows = E[1:]
    if not np.any(np.all(rows == 0.0, axis=1)):
        return 0.0
    return float(np.ceil(np.max(np.abs(E)))) + 1.0


def _with_mask_value(model, value: float, path: str):
    from dataclasses import replace as _replace

    if is_bidirectional(model):
        raise InputError("an Embedding with mask_zero=True before a bidirectional layer is not supported: Keras's "
                         "Bidirectional outputs zeros at masked steps (zero_output_for_mask), rnnviz keeps the "
                         "previous output", path)
    layers = list(as_stack(model).layers)
    first = layers[0]
    if getattr(first, "mask_value", None) is not None:
        raise InputError("masks its input twice (Embedding mask_zero=True and a Masking layer)", path)
    if not isinstance(first, FileCell):
        first = _as_file_cell(first)
    layers[0] = _replace(first, mask_value=float(value))
    if len(layers) == 1:
        return layers[0]
    return FileStack(tuple(layers))


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
