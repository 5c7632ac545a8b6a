"""``.pt`` / ``.pth``: a PyTorch state_dict, only when PyTorch is installed, always ``weights_only=True``."""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np

from ...engine.errors import InputError
from .common import Format, one_line, torch_specs

_PT_HINT = (
    "reading .pt files needs PyTorch: pip install 'rnnviz[torch]' "
    "(or save the weights as .safetensors)"
)


def _read_torch(path: str) -> list[dict]:
    try:
        import torch
    except Exception:  # ImportError, or a broken install that fails to load its libraries
        raise InputError(_PT_HINT, path) from None
    import pickle

    try:
        with warnings.catch_warnings():
            # e.g. "Detected pickle protocol 5": noise for someone who only wants the weights
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
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

    return torch_specs({k: to_numpy(v) for k, v in flat.items()}, path)



FORMATS = (
    Format(".pt", "the PyTorch file", read=_read_torch),
    Format(".pth", "the PyTorch file", read=_read_torch),
)
