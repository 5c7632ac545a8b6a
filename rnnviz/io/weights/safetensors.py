"""``.safetensors``: PyTorch names, plus the string metadata :func:`save_weights` records."""

from __future__ import annotations

import json
import struct
from typing import Any, Mapping

import numpy as np

from ...engine.errors import InputError
from ..atomic import atomic_write
from ..limits import MAX_METADATA_BYTES, check_json, open_regular, size_text
from .common import Format, LazyArray, torch_specs


# Bytes per element of safetensors' dtypes (an unknown one counts as 8, the most).
_ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
             "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def _read_safetensors(path: str, module: str | None = None, whole: bool = False) -> list[dict]:
    from safetensors import safe_open

    # No pickle sniffing here: the first byte is the header length, and 0x80 is a valid one.
    # The header's length and nesting are checked before safetensors parses it; each tensor's
    # declared shape before it is read.
    with open_regular(path, ".safetensors file") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise InputError("too short to be a .safetensors file", path)
        (n,) = struct.unpack("<Q", head)
        if n > MAX_METADATA_BYTES:
            raise InputError(
                f"its header declares {size_text(n)}; rnnviz reads headers of at most "
                f"{size_text(MAX_METADATA_BYTES)}",
                path,
            )
        check_json(fh.read(n), "the .safetensors header", path)
    with safe_open(path, framework="np") as f:
        metadata = f.metadata() or {}

        def declared(key):
            sl = f.get_slice(key)
            return tuple(sl.get_shape()), _ITEMSIZE.get(str(sl.get_dtype()), 8)

        arrays = {
            key: LazyArray(lambda key=key: declared(key), lambda key=key: f.get_tensor(key))
            for key in f.keys()
        }
        return torch_specs(arrays, path, metadata, module=module, whole=whole)



def _save(path: str, layers: tuple, tensors: Mapping[str, np.ndarray]) -> None:
    metadata = metadata_of(layers)
    tensors = {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items()}  # exported weights: float64
    atomic_write(path, lambda tmp: write_safetensors(tmp, tensors, metadata), suffix=".safetensors")


def metadata_of(layers) -> dict[str, str]:
    """The string metadata :func:`rnnviz.io.load_weights` reads back: each setting once, or one
    per layer joined by commas."""
    def joined(values):
        values = [str(v) for v in values]
        return values[0] if len(set(values)) == 1 else ",".join(values)

    return {
        "rnnviz": "1",
        "kind": joined(c.kind for c in layers),
        "nonlinearity": joined(c.nonlinearity for c in layers),
        "recurrent_activation": joined(c.recurrent_activation for c in layers),
        "reset_after": joined(str(c.reset_after).lower() for c in layers),
    }



def write_safetensors(path: str, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> None:
    """A float32 or float64 .safetensors file (each array keeps its dtype), byte-for-byte
    reproducible.

    ``safetensors.numpy.save_file`` writes the metadata in hash order, which changes from call
    to call; the format itself is simple enough to write directly: an 8-byte little-endian
    header length, the JSON header padded with spaces to 8 bytes, then the raw tensors in
    offset order. ``safetensors`` reads the result back (the tests check it does).
    """
    codes = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64"}
    header: dict[str, Any] = {"__metadata__": dict(sorted(metadata.items()))}
    blobs, offset = [], 0
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        blob = arr.tobytes()
        header[name] = {"dtype": codes[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for blob in blobs:
            fh.write(blob)


FORMATS = (Format(".safetensors", "the .safetensors file", read=_read_safetensors, write=_save, options=("module", "whole")),)
