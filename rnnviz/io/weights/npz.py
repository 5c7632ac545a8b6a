"""``.npz``: PyTorch names or the seed document's ``weight_x``/``weight_h``/``bias``; never unpickled."""

from __future__ import annotations

import warnings
import zipfile
from typing import Mapping

import numpy as np

from ...engine.cells import Cell, kind_of
from ...engine.errors import InputError
from ..atomic import atomic_write
from ..limits import Budget, open_regular, open_zip, read_npy_data, read_npy_header
from .common import PICKLE, ZIP_MAGIC, Format, LazyArray, torch_specs

_NPY_MAGIC = b"\x93NUMPY"


def _read_npz(path: str, module: str | None = None, whole: bool = False) -> list[dict]:
    # Read with zipfile and NumPy's header parser, not np.load: each member's declared shape is
    # checked against the limits before a byte of it is inflated, and then exactly the declared
    # bytes are read (a deflate bomb or a lying member cannot make it read more).
    budget = Budget(path)
    with open_regular(path, ".npz file") as fh:
        head = fh.read(8)
        if head.startswith(_NPY_MAGIC):
            raise InputError("is a single NumPy array (.npy), not an .npz archive", path)
        if head[:1] == b"\x80":
            raise InputError(PICKLE % "an .npz archive", path)
        if not head.startswith(ZIP_MAGIC):
            raise InputError("not an .npz file (it is not a zip archive)", path)
        with open_zip(fh, path) as z:
            arrays = {}
            for info in z.infolist():
                name = info.filename
                key = name[:-4] if name.endswith(".npy") else name
                member = _Member(z, info, path)
                arrays[key] = LazyArray(member.declared, member.read)
            return torch_specs(arrays, path, budget=budget, module=module, whole=whole)


class _Member:
    """One ``.npy`` member of an archive: its header (shape, dtype), then its bounded data."""

    def __init__(self, z: zipfile.ZipFile, info: zipfile.ZipInfo, path: str):
        self.z, self.info, self.path = z, info, path
        self._header = None

    def _open(self):
        fh = self.z.open(self.info)
        try:
            header = read_npy_header(fh, f"{self.info.filename} in the archive", self.path)
        except BaseException:
            fh.close()
            raise
        return fh, header

    def declared(self) -> tuple[tuple, int]:
        if self._header is None:
            fh, self._header = self._open()
            fh.close()
        shape, _fortran, dtype = self._header
        return shape, dtype.itemsize

    def read(self) -> np.ndarray:
        fh, (shape, fortran, dtype) = self._open()
        with fh:
            return read_npy_data(fh, shape, fortran, dtype, f"{self.info.filename} in the archive", self.path)



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


FORMATS = (Format(".npz", "the .npz file", read=_read_npz, write=_save, options=("module", "whole")),)
