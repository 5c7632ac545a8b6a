"""The parts of a whole model around its recurrent layers: the embedding before them and the
output head after them, as the readers find them (``load_model``).

A reader asked for the whole model (``whole=True``) returns :class:`Specs`, its layer specs
with ``parts``:

``embedding``
    ``{"weight": (V, D), "label": name, "mask_zero": bool}``: x_t = E[id_t].
``head``
    ``{"W": (O, H), "b": (O,), "activation": "identity" | "sigmoid" | "softmax", "label": name,
    "last_only": bool}``: y_t = g(W h_t + b) on the last recurrent layer's output;
    ``last_only``: the model returns y_T only (Keras ``return_sequences=False``).
``vocab``
    a :class:`~rnnviz.io.vocab.Vocabulary` stored in the file (a ``.keras`` file's
    StringLookup or TextVectorization layer).
``notes``
    one line per assumption made, and per part that is there but not read.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ...engine.errors import InputError
from ..limits import Budget, check_vocab_size
from .common import LazyArray, load_array

#: Module names PyTorch models give the embedding (the word-language-model example calls it
#: ``encoder``) and the head (``decoder`` there, ``hidden2tag`` in the tagging tutorial).
EMBEDDING_NAMES = ("embedding", "embeddings", "embed", "emb", "encoder", "word_embeddings", "tok_embeddings",
                   "token_embedding", "token_embeddings", "wte", "embedder", "lookup")
HEAD_NAMES = ("fc", "linear", "out", "output", "head", "decoder", "classifier", "dense", "proj", "projection",
              "fc_out", "hidden2tag", "hidden2out", "lm_head", "readout", "logits", "cls")


class Specs(list):
    """Layer specs (a list, as every reader returns) and the whole model's other ``parts``."""

    def __init__(self, specs, parts: dict | None = None):
        super().__init__(specs)
        self.parts = dict(parts or {})


def _declared(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, LazyArray):
        try:
            return tuple(int(n) for n in value.declared()[0])
        except Exception:  # noqa: BLE001 — an unreadable header: load_array names it later
            return None
    shape = getattr(value, "shape", None)
    return tuple(int(n) for n in shape) if shape is not None else None


def output_width(specs: list[dict]) -> int:
    """The width of the last recurrent layer's output h (both directions, concatenated)."""
    width = int(specs[-1]["W_hh"].shape[1])
    directions = {s.get("direction") for s in specs}
    both = {"forward", "backward"} <= directions
    return 2 * width if both and (specs[-1].get("merge_mode") or "concat") == "concat" else width


def torch_parts(arrays: Mapping[str, Any], prefix: str, specs: list[dict], path: str,
                budget: Budget | None = None) -> dict:
    """The embedding and the head beside the recurrent module ``prefix`` (``"rnn."``) in a
    state_dict: modules next to it (same parent) holding ``weight`` (and ``bias``).

    Shapes decide: the embedding's rows are as wide as the recurrent input (D), the head reads
    the recurrent output (H). Names break a tie (a bias-free Linear of width D = H). A
    state_dict does not record ``forward()``, so the parts are read only when nothing else with
    parameters sits beside them, and the order embedding → recurrent → head is said in a note.
    """
    budget = budget or Budget(path)
    if not prefix:
        return {}
    module = prefix[:-1].rsplit(".", 1)[-1]
    parent = prefix[: len(prefix) - len(module) - 1]
    siblings: dict[str, dict[str, str]] = {}
    for key in arrays:
        key = str(key)
        if not key.startswith(parent):
            continue
        rest = key[len(parent):].split(".")
        if rest[0] == module:
            continue
        siblings.setdefault(rest[0], {})[".".join(rest[1:])] = key
    if not siblings:
        return {}
    D, H = int(specs[0]["W_ih"].shape[1]), output_width(specs)
    rnn_name = prefix[:-1]
    embeddings, heads, others = [], [], []
    for name, params in sorted(siblings.items()):
        shape = _declared(arrays[params["weight"]]) if "weight" in params else None
        plain = set(params) <= {"weight", "bias"} and shape is not None and len(shape) == 2
        if not plain:
            others.append(name)
            continue
        bias = _declared(arrays[params["bias"]]) if "bias" in params else None
        can_embed = set(params) == {"weight"} and shape[1] == D
        can_head = shape[1] == H and (bias is None or bias == (shape[0],))
        if can_embed and can_head:
            can_embed, can_head = name in EMBEDDING_NAMES, name not in EMBEDDING_NAMES
        if can_embed:
            embeddings.append(name)
        elif can_head:
            heads.append(name)
        elif name in EMBEDDING_NAMES and set(params) == {"weight"}:
            raise InputError(f"{parent}{name}.weight has shape {shape}: its rows are {shape[1]} wide, but "
                             f"{rnn_name} reads D = {D} inputs (an embedding must give rows of D)", path)
        elif name in HEAD_NAMES:
            raise InputError(f"{parent}{name}.weight has shape {shape}: it reads {shape[1]} units, but {rnn_name} "
                             f"gives h of {H} (a head on the recurrent output must read H)", path)
        else:
            others.append(name)
    notes: list[str] = []
    listed = lambda names: ", ".join(repr(parent + n) for n in names)  # noqa: E731
    if others:
        notes.append(f"also holds {listed(others)}, which is neither an embedding nor a head: a state_dict does "
                     f"not record forward(), so rnnviz reads {rnn_name!r} alone (its input is taken as vectors)")
        return {"notes": notes}
    parts: dict = {}
    for role, found in (("embedding", embeddings), ("head", heads)):
        if len(found) > 1:
            notes.append(f"holds several modules that could be the {role} ({listed(found)}): a state_dict does not "
                         "record which one the model uses, so none is read")
            found.clear()
    if embeddings:
        key = siblings[embeddings[0]]["weight"]
        check_vocab_size(key, _declared(arrays[key])[0], path)
        parts["embedding"] = {"weight": load_array(arrays[key], key, path, budget), "label": parent + embeddings[0],
                              "mask_zero": False}
    if heads:
        params = siblings[heads[0]]
        key = params["weight"]
        check_vocab_size(key, _declared(arrays[key])[0], path)
        W = load_array(arrays[key], key, path, budget)
        b = load_array(arrays[params["bias"]], params["bias"], path, budget) if "bias" in params \
            else np.zeros(W.shape[0])
        parts["head"] = {"W": W, "b": b, "activation": "identity", "label": parent + heads[0], "last_only": False}
    if parts:
        chain = " → ".join(n for n in (parts.get("embedding", {}).get("label"), rnn_name,
                                        parts.get("head", {}).get("label")) if n)
        notes.append(f"assumed the model runs {chain} on every step: a state_dict does not record forward()")
    if "head" in parts:
        notes.append(f"{parts['head']['label']!r} is read as a linear layer: y_t are its logits (a state_dict "
                     "records no activation)")
    parts["notes"] = notes
    return parts
