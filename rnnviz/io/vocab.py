"""Vocabularies: the token each id of an embedding stands for, and text → ids. No Qt here.

A vocabulary file is a JSON list of tokens (index = id), a JSON object ``{token: id}``, or a
text file with one token per line (line k = id k). A ``.keras`` file may carry its own: the
vocabulary of a ``StringLookup`` or ``TextVectorization`` layer (:mod:`.weights.keras`).

Tokenising: a vocabulary whose tokens are single characters (special tokens such as ``""``,
``[UNK]`` or ``<pad>`` aside) reads text per character; any other splits it on whitespace, as
Keras's ``TextVectorization(split="whitespace")`` does. A token the vocabulary lacks is an
error naming it, unless the vocabulary has an out-of-vocabulary token (``[UNK]``, ``<unk>``),
whose id it then gets.
"""

from __future__ import annotations

import json
import os
import re
import string
from dataclasses import dataclass

from ..engine.errors import InputError
from .limits import MAX_METADATA_BYTES, MAX_VOCAB, check_json, open_regular, printable, read_at_most, shown

__all__ = ["Vocabulary", "read_vocab", "vocabulary"]

#: Tokens that mark something other than text (padding, unknown, sequence ends).
_SPECIAL = re.compile(r"^(\[[A-Za-z_]+\]|<[A-Za-z_/|]+>)$")
#: Out-of-vocabulary tokens, as Keras, torchtext and Hugging Face spell them.
OOV_TOKENS = ("[UNK]", "<unk>", "<UNK>", "[unk]", "<oov>", "<OOV>")
#: Keras's TextVectorization "strip_punctuation": string.punctuation.
_PUNCTUATION = re.compile("[" + re.escape(string.punctuation) + "]")


def _is_special(token: str) -> bool:
    return token == "" or bool(_SPECIAL.match(token))


#: How a character with no glyph is named in a message (as the app's time axes show it).
_NAMED = {"\n": "↵", "\t": "⇥", " ": "␣", "\r": "␍"}


def _visible(token: str) -> str:
    return _NAMED.get(token, printable(token))


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """The token of each id (``tokens[id]``; None for an id no token names) and how text
    becomes ids. ``oov``: the id unknown tokens get (None: they are refused). ``lower`` and
    ``strip_punctuation``: Keras's TextVectorization ``standardize``. ``source``: where it
    came from, for messages ("vocab.json", "the .keras file's StringLookup 'lookup'")."""

    tokens: tuple
    oov: int | None = None
    source: str = "the vocabulary"
    lower: bool = False
    strip_punctuation: bool = False
    per_char: bool | None = None  # None: decided from the tokens

    def __post_init__(self):
        if self.per_char is None:
            words = [t for t in self.tokens if t is not None and not _is_special(t)]
            object.__setattr__(self, "per_char", bool(words) and all(len(t) == 1 for t in words))
        index: dict[str, int] = {}
        for k, t in enumerate(self.tokens):
            if t is not None and t != "" and t not in index:
                index[t] = k
        object.__setattr__(self, "_index", index)

    @property
    def size(self) -> int:
        return len(self.tokens)

    def token(self, k: int) -> str:
        t = self.tokens[k] if 0 <= k < len(self.tokens) else None
        return t if t is not None else f"#{k}"

    def split(self, text: str) -> list[str]:
        """``text`` as tokens: standardised as the vocabulary says, then per character or on
        whitespace."""
        if self.lower:
            text = text.lower()
        if self.strip_punctuation:
            text = _PUNCTUATION.sub("", text)
        return list(text) if self.per_char else text.split()

    def encode(self, text: str) -> tuple[list[int], list[str]]:
        """The ids of ``text``'s tokens and the tokens that got the OOV id (in order, once
        each). ValueError naming the tokens the vocabulary lacks when it has no OOV id."""
        index = self._index  # type: ignore[attr-defined]
        tokens = self.split(text)
        unknown = list(dict.fromkeys(t for t in tokens if t not in index))
        if unknown and self.oov is None:
            shown_ = ", ".join(repr(_visible(t)) for t in unknown[:5]) + (" …" if len(unknown) > 5 else "")
            what = "character" if self.per_char else "word"
            raise ValueError(f"{self.source} ({len(self.tokens):,} tokens) lacks {len(unknown)} {what}"
                             f"{'s' if len(unknown) > 1 else ''} of the text: {shown_}")
        return [index.get(t, self.oov) for t in tokens], unknown


def vocabulary(tokens, source: str, oov=..., path: str | None = None, **options) -> Vocabulary:
    """A :class:`Vocabulary` from a list of tokens (None for a gap), after its checks; the OOV
    id is the first OOV token's unless ``oov`` says (None: there is none). InputError (naming
    ``path``) if it is not one."""
    tokens = list(tokens)
    # the message names the file once: "vocab.json: token 'a' is listed twice", not "vocab.json: vocab.json: …"
    own = path is not None and os.path.basename(os.fspath(path)) == source
    it, prefix = ("it", "") if own else (source, f"{source}: ")
    if not tokens:
        raise InputError(f"{it} holds no tokens", path)
    if len(tokens) > MAX_VOCAB:
        raise InputError(f"{it} holds {len(tokens):,} tokens; rnnviz reads at most {MAX_VOCAB:,}", path)
    for k, t in enumerate(tokens):
        if t is not None and not isinstance(t, str):
            raise InputError(f"{prefix}token {k} is {type(t).__name__}, not text", path)
    seen: dict[str, int] = {}
    for k, t in enumerate(tokens):
        if t:
            if t in seen:
                raise InputError(f"{prefix}token {printable(repr(t))} is listed twice (ids {seen[t]} and {k})", path)
            seen[t] = k
    if oov is ...:
        oov = next((k for k, t in enumerate(tokens) if t in OOV_TOKENS), None)
    return Vocabulary(tuple(tokens), oov, source, **options)


def read_vocab(path: str | os.PathLike) -> Vocabulary:
    """A vocabulary file: a JSON list (index = id) or object ``{token: id}``, else one token
    per line. InputError with one line naming the file for anything wrong."""
    fspath = os.fsdecode(path)
    where = shown(fspath)
    with open_regular(fspath, "vocabulary file") as fh:
        blob = read_at_most(fh, MAX_METADATA_BYTES, "the vocabulary file", where)
    if not blob.strip():
        raise InputError("the vocabulary file is empty", where)
    if b"\x00" in blob:
        raise InputError("not a vocabulary file (it holds binary data); expected a JSON list or one token "
                         "per line", where)
    try:
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the vocabulary file is not UTF-8 text", where) from None
    name = os.path.basename(where)
    if fspath.lower().endswith(".json") or text.lstrip()[:1] == "[":
        check_json(blob, "the vocabulary file", where)
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"the vocabulary file is not valid JSON: {str(exc).splitlines()[0]}", where) from None
        if isinstance(value, dict):
            return _from_mapping(value, name, where)
        if not isinstance(value, list):
            raise InputError(f"the vocabulary file holds a JSON {type(value).__name__}; expected a list of "
                             "tokens or an object {token: id}", where)
        return vocabulary(value, name, path=where)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return vocabulary([line[:-1] if line.endswith("\r") else line for line in lines], name, path=where)


def _from_mapping(mapping: dict, name: str, where: str) -> Vocabulary:
    if len(mapping) > MAX_VOCAB:
        raise InputError(f"{name} holds {len(mapping):,} tokens; rnnviz reads at most {MAX_VOCAB:,}", where)
    ids = list(mapping.values())
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in ids):
        raise InputError(f"{name}: an object vocabulary maps each token to a whole-number id", where)
    if not ids:
        raise InputError(f"{name} holds no tokens", where)
    if min(ids) < 0 or max(ids) >= MAX_VOCAB:
        raise InputError(f"{name}: ids must be between 0 and {MAX_VOCAB - 1:,}", where)
    tokens: list = [None] * (max(ids) + 1)
    for token, k in mapping.items():
        if tokens[k] is not None:
            raise InputError(f"{name}: id {k} is given to {printable(repr(tokens[k]))} and "
                             f"{printable(repr(token))}", where)
        tokens[k] = token
    return vocabulary(tokens, name, path=where)
