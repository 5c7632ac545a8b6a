"""``.pt`` / ``.pth``: a PyTorch state_dict, only when PyTorch is installed, always ``weights_only=True``."""

from __future__ import annotations

import os
import warnings
from typing import Any, Mapping

import numpy as np

from ...engine.errors import InputError
from ..limits import MAX_METADATA_BYTES, MAX_TOTAL_BYTES, check_member, open_regular, open_zip, size_text
from .common import ZIP_MAGIC, Format, LazyArray, one_line, torch_specs

_PT_HINT = (
    "reading .pt files needs PyTorch: pip install 'rnnviz[torch]' "
    "(or save the weights as .safetensors)"
)


def _read_torch(path: str, module: str | None = None, whole: bool = False) -> list[dict]:
    stored = _check_archive(path)  # first: a TorchScript archive or a pickle is named without torch
    try:
        import torch
    except Exception:  # ImportError, or a broken install that fails to load its libraries
        raise InputError(_PT_HINT, path) from None
    import pickle

    try:
        with warnings.catch_warnings():
            # e.g. "Detected pickle protocol 5": noise for someone who only wants the weights
            warnings.simplefilter("ignore", UserWarning)
            # mmap: storages stay in the file; only the tensors rnnviz needs are read, each after
            # its declared shape passed the limits (a stride-0 tensor can declare gigabytes).
            try:
                obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except TypeError as exc:
                if "mmap" not in str(exc):
                    raise
                # PyTorch < 2.1 reads every storage: only when they are few enough
                if stored > MAX_TOTAL_BYTES:
                    raise InputError(
                        f"stores {size_text(stored)} of tensors; without PyTorch ≥ 2.1 rnnviz reads "
                        f"at most {size_text(MAX_TOTAL_BYTES)}",
                        path,
                    ) from None
                obj = torch.load(path, map_location="cpu", weights_only=True)
    except InputError:
        raise
    except pickle.UnpicklingError as exc:
        raise InputError(
            "refused: not a plain state_dict of tensors (torch.load(weights_only=True) says: "
            f"{one_line(exc, 90)}); save model.state_dict() instead",
            path,
        ) from None
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"not a readable PyTorch file: {one_line(exc)}", path) from None

    flat: dict[str, Any] = {}

    def walk(value, prefix):
        if isinstance(value, torch.Tensor):
            flat[prefix[:-1]] = value
        elif isinstance(value, Mapping):
            for k, v in value.items():
                if isinstance(k, (str, int)):
                    walk(v, f"{prefix}{k}.")

    walk(obj, "")
    if not flat:
        raise InputError(
            f"holds no tensors (a {type(obj).__name__}); expected a model's state_dict()", path
        )

    def to_numpy(t):
        def get():
            t_ = t.detach().to("cpu")
            if t_.is_complex() or t_.dtype == torch.bool:
                return np.asarray(t_.numpy())  # rejected by numeric with its dtype
            if t_.is_floating_point():
                t_ = t_.to(torch.float64)
            return t_.numpy()
        return get

    return torch_specs(
        {k: LazyArray(lambda v=v: (tuple(v.shape), v.element_size()), to_numpy(v)) for k, v in flat.items()},
        path,
        module=module,
        whole=whole,
    )


def _check_archive(path: str) -> int:
    """torch.save's zip format only, its directory and pickle small (checked before torch reads it);
    returns the bytes its storages declare.

    The legacy (pre-1.6) format allocates every storage it declares while it loads, so it is
    refused; so is a bare pickle.
    """
    with open_regular(path, "PyTorch file") as fh:
        head = fh.read(4)
        if not head.startswith(ZIP_MAGIC):
            if head[:1] == b"\x80":
                raise InputError(
                    "is a bare Python pickle or a legacy (pre-1.6) PyTorch file; rnnviz reads only "
                    "torch.save's zip format (re-save the state_dict with PyTorch ≥ 1.6)",
                    path,
                )
            raise InputError("not a PyTorch file (torch.save writes a zip archive)", path)
        fh.seek(0)
        with open_zip(fh, path) as z:
            if _is_torchscript(z):
                name = os.path.basename(path)
                raise InputError(
                    "is a TorchScript archive (torch.jit.save), which holds code; rnnviz never runs it. "
                    f"Save its weights with: python -c \"import torch; torch.save(torch.jit.load('{name}')"
                    ".state_dict(), 'weights.pt')\"",
                    path,
                )
            pickles = [i for i in z.infolist() if i.filename.endswith(".pkl")]
            if not pickles:
                raise InputError("not a PyTorch file (its archive holds no data.pkl)", path)
            for info in pickles:
                check_member(info, path, MAX_METADATA_BYTES)
            return sum(i.file_size for i in z.infolist() if "/data/" in i.filename)



def _is_torchscript(z) -> bool:
    """torch.jit.save's archive: torch.save's layout plus the module's code/ and constants.pkl."""
    for name in z.namelist():
        parts = name.split("/")
        if ("code" in parts[:-1] and len(parts) > 2) or parts[-1] == "constants.pkl":
            return True
    return False


FORMATS = (
    Format(".pt", "the PyTorch file", read=_read_torch, options=("module", "whole")),
    Format(".pth", "the PyTorch file", read=_read_torch, options=("module", "whole")),
)
