"""``.npz``: PyTorch names or the seed document's ``weight_x``/``weight_h``/``bias``; never unpickled."""

from __future__ import annotations

import warnings
import zipfile
from typing import Mapping

import numpy as np

from ...engine.cells import Cell, kind_of
from ...engine.errors import InputError
from ..atomic import atomic_write
from .common import MAX_BYTES, PICKLE, ZIP_MAGIC, Format, read_head, torch_specs

_NPY_MAGIC = b"\x93NUMPY"


def _read_npz(path: str) -> list[dict]:
    head = read_head(path)
    if head.startswith(_NPY_MAGIC):
        raise InputError("is a single NumPy array (.npy), not an .npz archive", path)
    if head[:1] == b"\x80":
        raise InputError(PICKLE % "an .npz archive", path)
    if not head.startswith(ZIP_MAGIC):
        raise InputError("not an .npz file (it is not a zip archive)", path)
    # Our own handle: np.load leaks the one it opens when the zip directory is damaged.
    with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
        for info in npz.zip.infolist():
            if info.file_size > MAX_BYTES:
                raise InputError(f"member {info.filename} is implausibly large", path)

        def getter(name):
            def get():
                try:
                    return npz[name]
                except ValueError as exc:
                    if "pickle" in str(exc).lower() or "object" in str(exc).lower():
                        raise InputError(
                            f"{name} is an object array (pickled Python objects), which rnnviz "
                            "refuses to load",
                            path,
                        ) from None
                    raise
            return get

        arrays = {name: getter(name) for name in npz.files}
        return torch_specs(arrays, path)



def _save(path: str, layers: tuple, tensors: Mapping[str, np.ndarray]) -> None:
    lost = _npz_losses(layers)
    if lost:
        warnings.warn(
            f"{path}: .npz records no {lost}; load it with the matching load_weights "
            "arguments, or save as .safetensors to keep them",
            UserWarning,
            stacklevel=3,
        )
    atomic_write(path, lambda tmp: _write_npz(tmp, tensors), suffix=".npz")


def _write_npz(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Like ``np.savez`` but byte-for-byte reproducible (fixed timestamps)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with z.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asarray(arr), allow_pickle=False)



def _npz_losses(layers: tuple[Cell, ...]) -> str:
    # What load_weights assumes for a .npz: the caller's nonlinearity (tanh) for a kind with a
    # nonlinearity option, else the tanh activation; sigmoid gates; reset_after=True.
    lost = []
    kinds = [kind_of(c) for c in layers]
    if any(k.torch_nonlinearities and c.nonlinearity != "tanh" for k, c in zip(kinds, layers)):
        lost.append("nonlinearity")
    if any(not k.torch_nonlinearities and c.nonlinearity != "tanh" for k, c in zip(kinds, layers)):
        lost.append("activation")
    if any("recurrent_activation" in k.cell_options and c.recurrent_activation != "sigmoid"
           for k, c in zip(kinds, layers)):
        lost.append("recurrent_activation")
    if any("reset_after" in k.cell_options and not c.reset_after for k, c in zip(kinds, layers)):
        lost.append("reset_after")
    return ", ".join(lost)


FORMATS = (Format(".npz", "the .npz file", read=_read_npz, write=_save),)
