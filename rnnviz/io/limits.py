"""The limits every reader keeps, and the checked opens and reads that keep them. No Qt here.

A small or hostile file must never read other files, hang, or take gigabytes. Every reader in
``rnnviz.io`` therefore

- opens only regular files (:func:`open_regular`, :func:`check_regular`): a FIFO, a device or a
  socket is refused before anything could block on it;
- checks what a file *declares* (array shapes × item sizes, a zip directory's sizes, header
  lengths, JSON nesting) against the limits below **before** it allocates, and names the
  limit in the message (:func:`check_array`, :class:`Budget`, :func:`check_json`);
- reads through bounded readers, because a zip member can lie about its size
  (:func:`read_member`, :func:`read_at_most`);
- names files in a printable form on one line (:func:`shown`).

Every refusal is an :class:`~rnnviz.engine.errors.InputError` with one line; what a reader
raises that it should not (a MemoryError, a bug's TypeError) becomes one too at the app's open
paths (:func:`as_input_error`).
"""

from __future__ import annotations

import errno
import math
import os
import stat
import zipfile
from typing import BinaryIO

import numpy as np

from ..engine.errors import InputError

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

#: Hidden units H of one layer, input features D, stacked layers.
MAX_HIDDEN = 4096
MAX_INPUT = 4096
MAX_LAYERS = 64
#: Tokens of a vocabulary, rows of an embedding and outputs of a head (a word model's 50,000
#: and more fit); a vocabulary file is read up to MAX_METADATA_BYTES.
MAX_VOCAB = 1 << 20
#: Time steps T of an input sequence, and its values T·D (128 MiB as float64).
MAX_STEPS = 1_000_000
MAX_SEQUENCE_VALUES = 1 << 24
#: One stored array, or one archive member, uncompressed (an LSTM at H = 4096 in float32).
MAX_ARRAY_BYTES = 256 * MiB
#: Everything one weights file may make rnnviz read, summed over its arrays or members.
MAX_TOTAL_BYTES = 1 * GiB
#: Members listed in one zip directory, and links in one HDF5 group.
MAX_MEMBERS = 10_000
#: Metadata: a Keras config.json, a safetensors header, a .pt file's pickle.
MAX_METADATA_BYTES = 4 * MiB
#: JSON nesting (a session is 4 deep; Keras configs about 10).
MAX_JSON_DEPTH = 64
#: Objects and lists, and values of any kind, in one JSON document.
MAX_JSON_CONTAINERS = 1 << 20
MAX_JSON_VALUES = 1 << 24


# ============================================================================ names
def printable(text: str) -> str:
    """``text`` on one line: non-printable characters (line breaks included) escaped.

    A lone surrogate from ``os.fsdecode`` (a byte of a name that is not UTF-8) is shown as the
    byte, ``\\xff``.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return "".join(out)


def shown(path: str | bytes | os.PathLike) -> str:
    """A file name for a message: printable, on one line, whatever bytes the name holds."""
    return printable(os.fsdecode(path))


def refuse(problem: str, path: str | os.PathLike | None = None) -> InputError:
    """The InputError for ``problem`` with ``path`` shown printable (raise the result)."""
    return InputError(printable(problem), None if path is None else shown(path))


def size_text(n: int | float) -> str:
    """``n`` bytes as 512 bytes, 3.5 KiB, 256 MiB, 1.5 GiB."""
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            v = n / scale
            return f"{v:.0f} {unit}" if v >= 10 or v == int(v) else f"{v:.1f} {unit}"
    return f"{int(n)} bytes"


def reason(err: OSError) -> str:
    """Why an OSError happened, in words; "no space left" when the disk is full."""
    if err.errno == errno.ENOSPC:
        return "no space left on the device"
    if err.errno == getattr(errno, "EDQUOT", None):
        return "no space left (disk quota exceeded)"
    return err.strerror or str(err)


# ============================================================================ opening
def _kind_of_mode(mode: int) -> str | None:
    """What a non-regular file is, for the message; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _stat(path: str):
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise refuse("no such file", path) from None
    except OSError as err:
        raise refuse(f"cannot open ({reason(err)})", path) from None


def open_regular(path: str | os.PathLike, what: str = "file") -> BinaryIO:
    """``path`` opened for binary reading, only if it is a regular file.

    The name is checked with ``stat`` first (opening some devices has effects), then opened
    with ``O_NONBLOCK`` (so a FIFO swapped in meanwhile cannot block the open) and checked
    again with ``fstat`` on the descriptor actually opened.
    """
    path = os.fspath(path)
    kind = _kind_of_mode(_stat(path).st_mode)
    if kind is not None:
        raise refuse(f"is {kind}, not a {what}", path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise refuse("no such file", path) from None
    except OSError as err:
        raise refuse(f"cannot open ({reason(err)})", path) from None
    try:
        kind = _kind_of_mode(os.fstat(fd).st_mode)
        if kind is not None:
            raise refuse(f"is {kind}, not a {what}", path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: str | os.PathLike, what: str = "file", allow_dir: bool = False) -> int:
    """Check that ``path`` is a regular, readable, non-empty file (or a folder, when allowed);
    returns its size. For libraries that open files by name themselves."""
    path = os.fspath(path)
    st = _stat(path)
    if allow_dir and stat.S_ISDIR(st.st_mode):
        return 0
    with open_regular(path, what) as fh:
        size = os.fstat(fh.fileno()).st_size
    if size == 0:
        raise refuse("the file is empty", path)
    return size


def read_at_most(fh: BinaryIO, limit: int, what: str, path: str) -> bytes:
    """All of ``fh``, or an InputError naming ``limit`` if it holds more (read no further)."""
    data = fh.read(limit + 1)
    if len(data) > limit:
        raise refuse(f"{what} is larger than {size_text(limit)}, the most rnnviz reads", path)
    return data


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` are one file (another spelling, a symlink or a hard link)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def output_problem(path: str, suffix: str, kind: str, writable: bool = True) -> str | None:
    """Why ``path`` cannot take an output file of ``kind`` ("a .gif file", ending in
    ``suffix``), in one line for the command line; None if it can. ``writable``: also say so
    when its folder is read-only (else the write itself reports it)."""
    if not path.lower().endswith(suffix):
        return f"{shown(path)}: the output must be {kind}"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"{shown(path)}: folder {shown(folder)} does not exist"
    if writable and not os.access(folder, os.W_OK):
        return f"{shown(path)}: folder {shown(folder)} is not writable"
    return None


# ============================================================================ sizes
def check_array(name: str, shape, itemsize: int, path: str) -> int:
    """The bytes an array declares (``shape`` × ``itemsize``), refused beyond MAX_ARRAY_BYTES."""
    try:
        dims = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise refuse(f"{name} has a malformed shape", path) from None
    if any(n < 0 for n in dims):
        raise refuse(f"{name} has a negative size in its shape {dims}", path)
    nbytes = math.prod(dims) * max(int(itemsize), 1)
    if nbytes > MAX_ARRAY_BYTES:
        raise refuse(
            f"{name} declares shape {dims} ({size_text(nbytes)}); rnnviz reads arrays of at most "
            f"{size_text(MAX_ARRAY_BYTES)}",
            path,
        )
    return nbytes


def check_weight_shapes(name: str, shape, path: str, *, hidden_axis: int | None = None, input_axis: int | None = None,
                        gates_axis: int | None = None) -> None:
    """Refuse a weight's declared shape whose H or D is beyond MAX_HIDDEN / MAX_INPUT.

    ``hidden_axis`` holds H, ``input_axis`` D, ``gates_axis`` G·H (G ≤ 4), each when given.
    """
    dims = tuple(int(n) for n in shape)
    if hidden_axis is not None and hidden_axis < len(dims) and dims[hidden_axis] > MAX_HIDDEN:
        raise refuse(
            f"{name} declares H = {dims[hidden_axis]} hidden units; rnnviz reads at most "
            f"H = {MAX_HIDDEN}",
            path,
        )
    if input_axis is not None and input_axis < len(dims) and dims[input_axis] > MAX_INPUT:
        raise refuse(
            f"{name} declares D = {dims[input_axis]} input features; rnnviz reads at most "
            f"D = {MAX_INPUT}",
            path,
        )
    if gates_axis is not None and gates_axis < len(dims) and dims[gates_axis] > 4 * MAX_HIDDEN:
        raise refuse(
            f"{name} declares {dims[gates_axis]} rows of gates; rnnviz reads at most "
            f"4·H = {4 * MAX_HIDDEN}",
            path,
        )


def check_vocab_size(name: str, n: int, path: str) -> None:
    """Refuse a declared count of tokens, embedding rows or head outputs beyond MAX_VOCAB."""
    if int(n) > MAX_VOCAB:
        raise refuse(f"{name} declares {int(n):,} entries; rnnviz reads at most {MAX_VOCAB:,}", path)


class Budget:
    """The bytes one file has made rnnviz read so far, refused beyond ``limit``."""

    def __init__(self, path: str, limit: int | None = None):
        self.path = path
        self.limit = MAX_TOTAL_BYTES if limit is None else limit
        self.used = 0

    def take(self, nbytes: int, what: str) -> None:
        self.used += int(nbytes)
        if self.used > self.limit:
            raise refuse(
                f"{what} brings what rnnviz would read to {size_text(self.used)}; at most "
                f"{size_text(self.limit)} are read from one file",
                self.path,
            )


# ============================================================================ zip archives
def open_zip(fh: BinaryIO, path: str) -> zipfile.ZipFile:
    """A ZipFile on ``fh`` whose directory was checked first: at most MAX_MEMBERS entries in a
    directory of at most MAX_METADATA_BYTES, so parsing the directory itself stays small."""
    try:
        end = zipfile._EndRecData(fh)  # the end record: entry count and directory size
    except OSError:
        end = None
    if end is None:
        raise refuse("damaged zip archive (no end of central directory)", path)
    entries, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
    if entries > MAX_MEMBERS:
        raise refuse(f"the archive lists {entries} members; rnnviz reads at most {MAX_MEMBERS}", path)
    if size > MAX_METADATA_BYTES:
        raise refuse(
            f"the archive's directory is {size_text(size)}; rnnviz reads at most "
            f"{size_text(MAX_METADATA_BYTES)}",
            path,
        )
    fh.seek(0)
    try:
        z = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise refuse(f"damaged zip archive: {one_line(exc)}", path) from None
    if len(z.infolist()) > MAX_MEMBERS:
        z.close()
        raise refuse(f"the archive lists more than {MAX_MEMBERS} members", path)
    return z


def check_member(info: zipfile.ZipInfo, path: str, limit: int = MAX_ARRAY_BYTES, budget: Budget | None = None) -> None:
    """Refuse a member whose declared uncompressed size is beyond ``limit`` (or the budget)."""
    what = f"{info.filename} in the archive"
    if info.file_size > limit:
        raise refuse(
            f"{what} is {size_text(info.file_size)} uncompressed; rnnviz reads members of at most "
            f"{size_text(limit)}",
            path,
        )
    if budget is not None:
        budget.take(info.file_size, what)


def read_member(z: zipfile.ZipFile, name: str, path: str, limit: int = MAX_ARRAY_BYTES,
                budget: Budget | None = None) -> bytes:
    """A member's bytes, its declared size checked first and the bytes actually read bounded
    by it (a member that inflates beyond what its directory entry says is refused)."""
    info = z.getinfo(name)
    check_member(info, path, limit, budget)
    try:
        with z.open(info) as fh:
            data = fh.read(info.file_size + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise refuse(f"damaged member {name} in the archive: {one_line(exc)}", path) from None
    if len(data) != info.file_size:
        raise refuse(f"member {name} in the archive does not hold the size its directory says", path)
    return data


# ============================================================================ .npy
def read_npy_header(fh: BinaryIO, what: str, path: str):
    """(shape, fortran_order, dtype) from a ``.npy`` header; object arrays (pickles) refused."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise refuse(f"{what} is a .npy file of version {version}, which rnnviz does not read", path)
    except InputError:
        raise
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as exc:
        raise refuse(f"{what} is not a valid .npy array ({one_line(exc, 80)})", path) from None
    if dtype.hasobject:
        raise refuse(
            f"{what} is an object array (pickled Python objects), which rnnviz refuses to load", path
        )
    return tuple(int(n) for n in shape), bool(fortran), dtype


def read_npy_data(fh: BinaryIO, shape, fortran: bool, dtype: np.dtype, what: str, path: str) -> np.ndarray:
    """The array after a header: its declared size checked, then exactly that many bytes read."""
    nbytes = check_array(what, shape, dtype.itemsize, path)
    if dtype.itemsize == 0:
        return np.empty(shape, dtype)
    data = fh.read(nbytes)
    if len(data) < nbytes:
        raise refuse(f"{what} is truncated ({len(data)} of its {nbytes} bytes of data)", path)
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


# ============================================================================ JSON
_JSON_KEEP = frozenset(b'"[]{},:')
_JSON_DROP = bytes(b for b in range(256) if b not in _JSON_KEEP)
_JSON_CHUNK = 4 * MiB


def check_json(blob: bytes, what: str, path: str | None, max_depth: int = MAX_JSON_DEPTH,
               max_containers: int = MAX_JSON_CONTAINERS, max_values: int = MAX_JSON_VALUES) -> None:
    """Refuse JSON nested deeper than ``max_depth`` or holding too many containers or values,
    before ``json.loads`` builds anything (deep nesting overflows the C stack of a thread;
    many small containers take gigabytes).

    A conservative scan of the bytes: strings are skipped (escapes first), then brackets,
    commas and colons are counted, chunk by chunk. It does not validate; ``json.loads`` does.
    """
    depth = deepest = containers = values = 0
    in_string = 0
    pos, n = 0, len(blob)
    while pos < n:
        end = min(n, pos + _JSON_CHUNK)
        while end < n and blob[end - 1] == 0x5C:  # never split an escape
            end += 1
        chunk = blob[pos:end].replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _JSON_DROP)
        pos = end
        if not chunk:
            continue
        a = np.frombuffer(chunk, np.uint8)
        quote = a == 0x22
        parity = (np.cumsum(quote, dtype=np.int64) + in_string) & 1
        inside = np.empty_like(parity)
        inside[0] = in_string
        inside[1:] = parity[:-1]
        outside = (inside == 0) & ~quote
        opens = outside & ((a == 0x5B) | (a == 0x7B))
        closes = outside & ((a == 0x5D) | (a == 0x7D))
        levels = depth + np.cumsum(opens.astype(np.int64) - closes)
        deepest = max(deepest, int(levels.max()))
        depth = int(levels[-1])
        containers += int(opens.sum())
        values += int(opens.sum() + (outside & ((a == 0x2C) | (a == 0x3A))).sum())
        in_string = int(parity[-1])
        if deepest > max_depth:
            raise refuse(f"{what} is nested more than {max_depth} levels deep", path)
        if containers > max_containers:
            raise refuse(f"{what} holds more than {max_containers:,} objects and lists", path)
        if values > max_values:
            raise refuse(f"{what} holds more than {max_values:,} values", path)


def one_line(exc: BaseException, limit: int = 160) -> str:
    text = printable(" ".join(str(exc).split())) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_input_error(exc: BaseException, path: str | bytes | os.PathLike | None = None) -> InputError:
    """``exc``, raised while reading ``path``, as a one-line InputError naming the file.

    An InputError stays as it is; a MemoryError or RecursionError says what it means; an
    OSError its reason; anything else (a reader's bug) its type and text. The app's open paths
    use this so that no failure of a reader reaches the event loop or changes the session.
    """
    if isinstance(exc, InputError):
        return exc
    if isinstance(exc, MemoryError):
        problem = "not enough memory to read it"
    elif isinstance(exc, RecursionError):
        problem = "nested too deeply to read"
    elif isinstance(exc, OSError):
        problem = f"cannot read it ({reason(exc)})"
    else:
        text = printable(" ".join(str(exc).split()))
        detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        problem = f"cannot read it ({detail if len(detail) <= 160 else detail[:159] + '…'})"
    return refuse(problem, path)
