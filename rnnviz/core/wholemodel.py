"""A loaded whole model in the app: its token input and its head's Output row. No Qt here.

When the opened file has an embedding (``io.weights.WholeModel``), the input is token ids:
the custom rows are E[id_t] (:func:`input_changes`), and a character vocabulary puts the
characters into :attr:`Settings.text <rnnviz.core.model.Settings.text>`, so the time axes and
the Text tab read them. The ids of a run are read back off its rows (:func:`ids_of`): a row
the user edited is no token. When the file has a head, the Output row shows y_t per step
(:func:`head_row`): each class's probability for softmax (or a linear head's logits put
through a softmax, which a note says), else the values.
"""

from __future__ import annotations

import functools

import numpy as np

from ..io.limits import MAX_STEPS
from .training import OutputRow

__all__ = ["DEFAULT_TOKENS", "head_row", "ids_of", "input_changes", "read_tokens", "shown_notes"]

#: How many tokens a whole model opens with (ids 1, 2, …: id 0 is padding in many models).
DEFAULT_TOKENS = 12
#: The app's longest token input (the built-in T limit of the controls is larger; a text of
#: more than this is read by ``rnnviz trace``).
MAX_TOKENS = 10_000


def default_ids(whole) -> np.ndarray:
    V = whole.embedding.vocab_size
    start = 1 if V > 1 else 0
    return np.arange(start, min(V, start + DEFAULT_TOKENS), dtype=np.int64)


def input_changes(whole, ids) -> dict:
    """The settings that make ``ids`` the input: custom rows E[id_t], T, and the text when the
    vocabulary is per character. ValueError for an id outside the embedding."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) > min(MAX_TOKENS, MAX_STEPS):
        raise ValueError(f"{len(ids):,} tokens; the app reads at most {MAX_TOKENS:,} (rnnviz trace reads more)")
    xs = whole.inputs(ids)
    text = ""
    v = whole.vocab
    if v is not None and v.per_char:
        chars = [v.tokens[int(k)] if 0 <= k < v.size else None for k in ids]
        if all(isinstance(c, str) and len(c) == 1 for c in chars):
            text = "".join(chars)
    return dict(signal="custom", custom=tuple(tuple(float(x) for x in row) for row in xs), T=len(ids), text=text)


def read_tokens(whole, entry: str, as_text: bool) -> dict:
    """The settings of what the user typed: text (in the vocabulary) or ids. ValueError with a
    one-line problem."""
    from ..io.weights import parse_ids

    if as_text:
        ids, _unknown = whole.encode(entry)
    else:
        ids = parse_ids(entry)
    return input_changes(whole, ids)


@functools.lru_cache(maxsize=4)
def _row_index(embedding, pad_value) -> dict:
    """Each embedding row's bytes → its id, made once per embedding (it was made again for
    every result, a dict of V entries at every slider tick)."""
    E = embedding.weight
    index: dict[bytes, int] = {}
    for k in range(len(E) - 1, -1, -1):  # the first id wins where rows repeat
        index[np.ascontiguousarray(E[k], dtype=np.float64).tobytes()] = k
    if pad_value is not None:
        index[np.full(E.shape[1], pad_value, dtype=np.float64).tobytes()] = 0
    return index


def ids_of(whole, xs) -> np.ndarray:
    """The token id each input row is (−1 for a row that is no embedding row), from the rows."""
    index = _row_index(whole.embedding, whole.pad_value)
    rows = np.ascontiguousarray(xs, dtype=np.float64)
    return np.array([index.get(r.tobytes(), -1) for r in rows], dtype=np.int64)


#: The Output row computes at most this many head values (steps × outputs) for a run: a
#: vocabulary-sized head over a long text would take gigabytes and seconds per frame.
MAX_ROW_VALUES = 1 << 22


def row_steps(whole) -> int:
    """How many steps of a run the Output row shows the head for (all of them up to
    MAX_ROW_VALUES values)."""
    return max(1, MAX_ROW_VALUES // max(1, whole.head.output_size))


def shown_notes(whole) -> list[str]:
    """What the app adds to the file's notes: how it shows a linear head of several outputs,
    and how many steps a very wide head is shown for."""
    head = whole.head
    out = []
    if head is not None and head.activation == "identity" and head.output_size > 1:
        out.append(f"the Output row shows softmax of {whole.names[1]!r}'s logits as class probabilities "
                   "(assumed: a classifier trained with cross-entropy); rnnviz trace writes the logits as y")
    if head is not None and row_steps(whole) < MAX_TOKENS:
        out.append(f"the head has {head.output_size:,} outputs: the Output row shows it for runs of at most "
                   f"{row_steps(whole):,} steps")
    return out


def head_row(whole, h, xs) -> OutputRow:
    """The Output row of a loaded head for a run's last-layer h (T, H) and input rows xs."""
    from ..engine.train.output import softmax

    head = whole.head
    z = head.logits(np.asarray(h, dtype=np.float64))
    classes = head.output_size > 1 and head.activation != "sigmoid"
    y = softmax(z) if classes else head.activate(z)
    T = len(y)
    labels = whole.labels()
    if labels is None and head.output_size > 1:
        labels = tuple(str(k) for k in range(head.output_size))
    inputs = None
    if whole.embedding is not None:
        ids = ids_of(whole, xs)
        inputs = tuple(whole.token(k) if k >= 0 else "" for k in ids)
    return OutputRow(np.ascontiguousarray(y, dtype=np.float32), np.zeros((T, 0)), np.zeros(T, dtype=bool),
                     classes, None, labels=labels, inputs=inputs, head=whole.names[1] or "the head",
                     last_only=whole.last_only, bounded=head.activation != "identity" or classes)


def last_layer_h(result, loaded) -> np.ndarray:
    """What the head reads for ``result`` (a run of ``loaded`` after the sliders): the last
    layer's output, (T, 2H) = [h→ | h←] or merged for a bidirectional layer, in input order;
    run again only when the result traced a lower layer."""
    import warnings

    from ..engine import NonFiniteWarning, run
    from ..engine.bidirectional import Bidirectional, BidirectionalTrace, run_bidirectional_stack

    cells = {cr.key: cr for cr in result.cells}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteWarning)
        back = cells.get("backward")
        if back is not None and back.stack is not None:  # a bidirectional stack's layer
            stack, layer = back.stack
            if layer != len(stack) - 1:
                return run_bidirectional_stack(stack, result.xs, influence=False).h
            top = stack.layers[-1]
            fwd = cells["forward"]
            return BidirectionalTrace(Bidirectional(fwd.model, back.model, top.merge_mode), result.xs,
                                      fwd.trace, back.trace).h
        if back is not None and isinstance(loaded, Bidirectional):
            fwd = cells.get("forward")
            model = Bidirectional(None if fwd is None else fwd.model, back.model, loaded.merge_mode)
            return BidirectionalTrace(model, result.xs, None if fwd is None else fwd.trace, back.trace).h
        trace = result.cells[0].trace
        if trace.layer != len(trace.model.layers) - 1:
            return run(trace.model, result.xs, influence=False).h
        return trace.h


@functools.lru_cache(maxsize=4)  # the Output row and the Text tab both ask for each result
def result_row(whole, result) -> OutputRow | None:
    """The Output row of ``whole``'s head for ``result`` (a run of its recurrent layers), or
    None when it has no head. The head reads the last layer, whichever layer the run traced."""
    if whole is None or whole.head is None or result is None or not result.cells:
        return None
    if result.T > row_steps(whole):  # said in shown_notes
        return None
    h = last_layer_h(result, whole.rnn)
    if h.shape[1] != whole.head.input_size:
        return None
    with np.errstate(all="ignore"):
        return head_row(whole, h, result.xs)


def next_token_probs(whole, result):
    """(probabilities (T, V), the tokens) of a character model's head over the run, for the
    Text tab's guesses; None unless the head predicts the vocabulary's characters."""
    labels = whole.labels() if whole is not None else None
    if labels is None or whole.vocab is None or not whole.vocab.per_char:
        return None
    row = result_row(whole, result)
    return None if row is None or not row.classes else (row.y, labels)


def with_vocab(whole, path):
    """``whole`` with the vocabulary file ``path`` (InputError naming it if it does not fit);
    its notes (``whole.notes``) say what the vocabulary assumes, as when a file is opened."""
    from ..engine.errors import InputError
    from ..io.limits import shown
    from ..io.weights import attach_vocab

    if whole is None:
        raise InputError("the model shown has no embedding, so a vocabulary does not apply", shown(path))
    return attach_vocab(whole, path)
