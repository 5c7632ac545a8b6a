"""Reading HDF5 (Keras's ``.weights.h5``, and the one inside a ``.keras``) so that only data
stored in the file itself is ever read.

HDF5 can point outside the file: an external link to another HDF5 file, a dataset whose
bytes live in an external raw file (``/etc/passwd``, or a FIFO that blocks), a virtual
dataset assembled from other files, and filters that load plugins. All of these are refused
*before* any data is read and without following a link: groups are walked one name at a time
with ``get(name, getlink=True)``, only hard links are followed, and a dataset is read only if
its layout is contiguous, chunked or compact, it lists no external storage, its filters are
h5py's built-in ones, its dtype is a plain number, and its declared size fits the limits.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np

from ..limits import MAX_MEMBERS, Budget, check_array, one_line, refuse

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _filters():
    import h5py

    # deflate, shuffle, fletcher32 and lzf ship with h5py; anything else would load a plugin.
    return {
        h5py.h5z.FILTER_DEFLATE: "gzip", h5py.h5z.FILTER_SHUFFLE: "shuffle",
        h5py.h5z.FILTER_FLETCHER32: "fletcher32", h5py.h5z.FILTER_LZF: "lzf",
    }


def open_h5(fh: BinaryIO, path: str, what: str = "HDF5 file"):
    """An h5py File over an open binary file object (never reopened by name)."""
    import h5py

    fh.seek(0)
    if fh.read(8) != _HDF5_MAGIC:
        raise refuse(f"not an {what}", path)
    fh.seek(0)
    try:
        return h5py.File(fh, "r")
    except (OSError, ValueError, RuntimeError) as exc:
        raise refuse(f"damaged {what}: {one_line(exc)}", path) from None


def child(group, name: str, where: str, path: str):
    """``group[name]`` if it is there and a hard link, None if missing; refuses other links."""
    import h5py

    if "/" in name:
        obj = group
        for part in name.split("/"):
            obj = child(obj, part, where, path) if isinstance(obj, h5py.Group) else None
            if obj is None:
                return None
        return obj
    try:
        link = group.get(name, getlink=True)
    except (KeyError, OSError, ValueError, RuntimeError):
        return None
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        kind = {"ExternalLink": "an external link to another file", "SoftLink": "a soft link"}.get(
            type(link).__name__, "a user-defined link")
        raise refuse(f"{where} is {kind}; rnnviz reads only data stored inside the file", path)
    try:
        return group[name]
    except (KeyError, OSError, ValueError, RuntimeError) as exc:
        raise refuse(f"{where} cannot be opened: {one_line(exc)}", path) from None


def names(group, where: str, path: str) -> list[str]:
    """The link names in ``group`` (at most MAX_MEMBERS), without following any."""
    n = len(group)
    if n > MAX_MEMBERS:
        raise refuse(f"{where} holds {n} entries; rnnviz reads at most {MAX_MEMBERS}", path)
    return list(group)


def check_dataset(ds, where: str, path: str) -> None:
    """Refuse a dataset whose bytes would come from outside the file, or through a plugin."""
    import h5py

    if ds.dtype.kind not in "fiu" or ds.dtype.itemsize > 8:
        raise refuse(f"{where} has dtype {ds.dtype}; expected numbers", path)
    plist = ds.id.get_create_plist()
    if ds.is_virtual or plist.get_layout() == h5py.h5d.VIRTUAL:
        raise refuse(f"{where} is a virtual dataset (made of other files); rnnviz reads only data "
                     "stored inside the file", path)
    if plist.get_external_count() or ds.external:
        raise refuse(f"{where} keeps its data in an external file; rnnviz reads only data stored "
                     "inside the file", path)
    if plist.get_layout() not in (h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED, h5py.h5d.COMPACT):
        raise refuse(f"{where} has an unknown storage layout", path)
    known = _filters()
    for i in range(plist.get_nfilters()):
        code = plist.get_filter(i)[0]
        if code not in known:
            raise refuse(f"{where} uses HDF5 filter {code}, which rnnviz does not decode "
                         f"(only {', '.join(known.values())})", path)


def read_dataset(ds, where: str, path: str, budget: Budget) -> np.ndarray:
    """A checked dataset's values: storage and declared size (shape × item size) first."""
    check_dataset(ds, where, path)
    nbytes = check_array(where, ds.shape, ds.dtype.itemsize, path)
    budget.take(nbytes, where)
    try:
        return np.asarray(ds[()])
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        raise refuse(f"{where} cannot be read: {one_line(exc)}", path) from None
