"""A Keras model's parts around its recurrent chain: the ``Embedding`` before it (and the
``StringLookup`` / ``TextVectorization`` vocabulary before that) and the ``Dense`` head after it.

Only a true chain counts: the embedding's output must reach the first recurrent layer, and the
last recurrent layer's output the Dense layer, through layers that pass a sequence on unchanged
(Dropout, …); the Dense layer (with at most an ``Activation`` after it) must end the model.
Anything else is said in a note and not read. See :mod:`.parts` for what is returned.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from ...engine.errors import InputError
from ..limits import check_vocab_size
from ..vocab import vocabulary

#: The Dense activations rnnviz applies, as the output layer's g.
HEAD_ACTIVATIONS = {"linear": "identity", None: "identity", "sigmoid": "sigmoid", "softmax": "softmax"}
_LOOKUPS = ("StringLookup", "TextVectorization")


def _act_name(value: Any) -> Any:
    if isinstance(value, Mapping):  # {"module": "keras.activations", "config": "softmax", ...}
        inner = value.get("config")
        if isinstance(inner, str) and str(value.get("module", "")).startswith("keras"):
            return inner
    return value


def keras_parts(nodes: list[dict], h5_names: dict[str, str], chain: list[str], read: Callable, path: str,
                passthrough: frozenset, return_sequences: bool) -> dict:
    """The parts of a Keras model (``nodes`` as :func:`.keras._graph` gives them) around the
    recurrent layers ``chain``; ``read(layer name, h5 name, label) -> [arrays]`` reads a
    layer's weights in Keras's order. ``return_sequences``: the last recurrent layer's."""
    by_name = {n["name"]: n for n in nodes}
    children: dict[str, list[str]] = {n["name"]: [] for n in nodes}
    for n in nodes:
        for p in n["parents"]:
            if p in children:
                children[p].append(n["name"])
    notes: list[str] = []
    parts: dict = {"notes": notes}

    # ---- the embedding, and a lookup layer before it
    node = by_name[chain[0]]
    cur = node["parents"][0] if len(node["parents"]) == 1 else None
    emb = None
    while cur is not None and cur in by_name:
        p = by_name[cur]
        if p["cls"] == "Embedding":
            emb = p
            break
        if p["cls"] not in passthrough or p["cls"] == "InputLayer" or len(p["parents"]) != 1:
            break
        cur = p["parents"][0]
    if emb is not None:
        above = [by_name[q] for q in emb["parents"] if q in by_name]
        lookup = above[0] if len(above) == 1 and above[0]["cls"] in _LOOKUPS else None
        source = above[0] if lookup is None and above else None
        if lookup is not None:
            top = [by_name[q] for q in lookup["parents"] if q in by_name]
            source = None if not top or top[0]["cls"] == "InputLayer" else top[0]
        if source is not None and source["cls"] != "InputLayer":
            notes.append(f"Embedding {emb['name']!r} reads {source['name']!r} ({source['cls']}), which rnnviz does "
                         f"not read: the input is taken as the embedded vectors")
            if emb["cfg"].get("mask_zero"):
                notes.append(f"Embedding {emb['name']!r} has mask_zero=True, but rnnviz reads from {chain[0]!r} "
                             "on: no step is masked")
        else:
            (E,) = read(emb["name"], h5_names[emb["name"]], emb["name"])[:1]
            if E.ndim != 2:
                raise InputError(f"Embedding {emb['name']!r}: embeddings have shape {E.shape}; expected (V, D)", path)
            check_vocab_size(f"Embedding {emb['name']!r}", E.shape[0], path)
            dim = emb["cfg"].get("input_dim")
            if isinstance(dim, int) and dim != E.shape[0]:
                raise InputError(f"Embedding {emb['name']!r}: config says input_dim={dim}, the weights have "
                                 f"{E.shape[0]} rows", path)
            parts["embedding"] = {"weight": E, "label": emb["name"], "mask_zero": bool(emb["cfg"].get("mask_zero"))}
            if lookup is not None:
                vocab, note = _lookup_vocab(lookup, path)
                if vocab is not None:
                    parts["vocab"] = vocab
                if note:
                    notes.append(note)

    # ---- the head
    cur = chain[-1]
    head = None
    while True:
        kids = children.get(cur, [])
        if not kids:
            break
        if len(kids) > 1:
            notes.append(f"the output of {cur!r} goes to {len(kids)} layers ({', '.join(map(repr, kids))}): no head is "
                         "read")
            break
        k = by_name[kids[0]]
        if k["cls"] in passthrough and k["cls"] != "InputLayer":
            cur = k["name"]
            continue
        if k["cls"] == "Dense":
            head = k
        else:
            notes.append(f"the output of {chain[-1]!r} goes to {k['name']!r} ({k['cls']}), which rnnviz does not read: "
                         "no head")
        break
    if head is not None:
        act = _act_name(head["cfg"].get("activation", "linear"))
        cur, refused = head["name"], None
        while children.get(cur):
            kids = children[cur]
            k = by_name[kids[0]]
            if len(kids) > 1:
                refused = f"the output of {head['name']!r} goes to {len(kids)} layers"
            elif k["cls"] in passthrough and k["cls"] != "InputLayer":
                cur = k["name"]
                continue
            elif k["cls"] == "Activation" and act in ("linear", None):
                act, cur = _act_name(k["cfg"].get("activation")), k["name"]
                continue
            else:
                refused = f"{head['name']!r} is followed by {k['name']!r} ({k['cls']}); rnnviz reads a head of one Dense layer"
            break
        if refused is None and act not in HEAD_ACTIVATIONS:
            refused = (f"the head {head['name']!r} (Dense) has activation {act!r}, which rnnviz does not apply "
                       "(linear, sigmoid and softmax are)")
        if refused is not None:
            notes.append(f"{refused}: no head is read")
        else:
            arrays = read(head["name"], h5_names[head["name"]], head["name"])
            kernel = arrays[0]
            if kernel.ndim != 2:
                raise InputError(f"Dense {head['name']!r}: kernel has shape {kernel.shape}; expected (H, O)", path)
            check_vocab_size(f"Dense {head['name']!r}", kernel.shape[1], path)
            bias = arrays[1] if len(arrays) > 1 else np.zeros(kernel.shape[1])
            if bias.shape != (kernel.shape[1],):
                raise InputError(f"Dense {head['name']!r}: bias has shape {bias.shape}; expected ({kernel.shape[1]},)",
                                 path)
            parts["head"] = {"W": kernel.T, "b": bias, "activation": HEAD_ACTIVATIONS[act], "label": head["name"],
                             "last_only": not return_sequences}
    return parts


def _lookup_vocab(layer: dict, path: str):
    """The vocabulary of a StringLookup / TextVectorization layer's config, as the ids it
    gives: [mask token], OOV token(s), then the vocabulary. (vocab or None, a note or None)."""
    cfg, name, cls = layer["cfg"], layer["name"], layer["cls"]
    listed = cfg.get("vocabulary")
    if not isinstance(listed, list):
        return None, (f"{cls} {name!r} keeps its vocabulary outside the config (adapted, or a file): give it "
                      "with --vocab FILE to type text")
    if cfg.get("invert") or cfg.get("output_mode", "int") != "int":
        return None, f"{cls} {name!r} does not give token ids (output_mode {cfg.get('output_mode')!r}): no vocabulary"
    if cls == "TextVectorization":
        mask, oov_token, n_oov = "", "[UNK]", 1
    else:
        mask, oov_token, n_oov = cfg.get("mask_token"), cfg.get("oov_token", "[UNK]"), cfg.get("num_oov_indices", 1)
    if not isinstance(n_oov, int) or n_oov < 0:
        return None, f"{cls} {name!r}: num_oov_indices={n_oov!r} is not a count: no vocabulary"
    check_vocab_size(f"{cls} {name!r}'s vocabulary", len(listed), path)
    # ids: [mask], then num_oov_indices OOV ids (the first named by oov_token), then the list
    tokens = ([mask] if mask is not None else []) + ([oov_token] + [None] * (n_oov - 1) if n_oov else []) + list(listed)
    oov = (1 if mask is not None else 0) if n_oov == 1 else None
    options: dict = {}
    note = None
    if cls == "TextVectorization":
        std, split = cfg.get("standardize"), cfg.get("split")
        if std not in (None, "lower", "lower_and_strip_punctuation", "strip_punctuation") or \
                split not in ("whitespace", "character") or cfg.get("ngrams"):
            return None, (f"TextVectorization {name!r} uses standardize={std!r}, split={split!r}, ngrams="
                          f"{cfg.get('ngrams')!r}; rnnviz splits on whitespace or per character only: give ids")
        options = dict(lower=std in ("lower", "lower_and_strip_punctuation"),
                       strip_punctuation=std in ("strip_punctuation", "lower_and_strip_punctuation"),
                       per_char=split == "character")
        if cfg.get("output_sequence_length"):
            note = (f"TextVectorization {name!r} pads or cuts the text to {cfg['output_sequence_length']} tokens; "
                    "rnnviz reads the text's own tokens")
    if n_oov > 1:
        note = (f"{cls} {name!r} hashes unknown tokens into {n_oov} ids, which rnnviz cannot reproduce: a token "
                "it lacks is refused")
    vocab = vocabulary(tokens, f"{cls} {name!r}", oov=oov, path=path, **options)
    if vocab.per_char and "per_char" not in options:  # StringLookup keeps no split: its tokens decide
        inferred = f"{cls} {name!r}: its tokens are single characters, so text is read one character per token"
        note = inferred if note is None else f"{note}; {inferred}"
    return vocab, note
