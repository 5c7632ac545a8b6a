"""``.onnx``: the ``RNN``, ``GRU`` and ``LSTM`` operators, read as protobuf with the ``onnx`` package.

Nothing in the file is ever run: the model is parsed (``ModelProto.ParseFromString``), and only
the tensors the recurrent operators take as ``W``, ``R`` and ``B`` are read, from initializers or
``Constant`` nodes (through ``Identity``). Tensors kept as external data (in other files) are
refused: a model file never makes rnnviz open another file.

ONNX's layout, per direction d::

    W (num_directions, G·H, D)   R (num_directions, G·H, H)   B (num_directions, 2·G·H) = [Wb | Rb]

with the gate blocks in ONNX's order: GRU ``z, r, h``, LSTM ``i, o, f, c``. They become PyTorch's
order (GRU ``r, z, n``; LSTM ``i, f, g, o``); ``linear_before_reset=1`` is PyTorch's GRU
(``reset_after=True``), 0 the reset-before variant. The ``activations`` attribute sets the
recurrent activation and the nonlinearity (an LSTM's g and h must be the same). ``clip``,
``input_forget``, peepholes (``P``) and stored non-zero initial states are refused. A
``reverse`` or ``bidirectional`` node is read as the two (or one) directions of a
:class:`~rnnviz.engine.bidirectional.Bidirectional` (direction 0 forward, 1 backward, W, R, B
and the activations in that order); it must stand alone. Several recurrent operators are a
stack when each reads the previous one's ``Y`` through shape-only operators (Squeeze,
Transpose, …); otherwise ``module=`` picks one by node name.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...engine.cells import kind_of
from ...engine.errors import InputError
from ..limits import (
    MAX_LAYERS, MAX_TOTAL_BYTES, Budget, check_array, check_regular, check_weight_shapes, one_line, open_regular,
    read_at_most, size_text,
)
from .common import Format, numeric

#: The largest .onnx file read: its bytes and the parsed model together stay within 1 GiB.
MAX_ONNX_BYTES = MAX_TOTAL_BYTES // 2

_HINT = "reading .onnx files needs the onnx package: pip install 'rnnviz[onnx]'"

# op type -> (our kind, gate blocks, ONNX block -> PyTorch block permutation, default activations)
_OPS = {
    "RNN": ("rnn", 1, (0,), ("tanh",)),
    "GRU": ("gru", 3, (1, 0, 2), ("sigmoid", "tanh")),  # ONNX z, r, h -> r, z, n
    "LSTM": ("lstm", 4, (0, 2, 3, 1), ("sigmoid", "tanh", "tanh")),  # ONNX i, o, f, c -> i, f, g, o
}
# Operators that only move or reshape values: a recurrent node fed through these from the
# previous one's Y is the next layer of a stack (Dropout is the identity at inference).
_SHAPE_OPS = {"Squeeze", "Unsqueeze", "Transpose", "Reshape", "Identity", "Dropout", "Flatten"}
_ACTIVATIONS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu"}
# Activations that take alpha (and beta) from activation_alpha / activation_beta, in order.
_TAKES_ALPHA = {"affine", "leakyrelu", "thresholdedrelu", "scaledtanh", "hardsigmoid", "elu"}
_TAKES_BETA = {"affine", "scaledtanh", "hardsigmoid", "softplus"}


def _read_onnx(path: str, module: str | None = None) -> list[dict]:
    try:
        from onnx import ModelProto, TensorProto
    except Exception:  # ImportError, or a broken install whose C extension fails to load
        raise InputError(_HINT, path) from None
    try:
        from google.protobuf.message import DecodeError
    except Exception:  # pragma: no cover - protobuf comes with onnx
        DecodeError = ValueError  # noqa: N806

    size = check_regular(path, ".onnx file")
    if size > MAX_ONNX_BYTES:
        raise InputError(
            f"is {size_text(size)}; rnnviz reads .onnx files of at most {size_text(MAX_ONNX_BYTES)}", path
        )
    with open_regular(path, ".onnx file") as fh:
        data = read_at_most(fh, MAX_ONNX_BYTES, "the file", path)
    model = ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RecursionError, ValueError, TypeError) as exc:
        raise InputError(f"not an ONNX model (its protobuf does not parse: {one_line(exc, 80)})", path) from None
    del data
    graph = model.graph
    if not graph.node:
        raise InputError("not an ONNX model with a graph (it holds no nodes)", path)
    return _Graph(graph, TensorProto, path).specs(module)


class _Graph:
    """The top-level graph: where each value comes from, and the recurrent nodes in it."""

    def __init__(self, graph, TensorProto, path: str):  # noqa: N803 - the protobuf class
        self.path = path
        self.T = TensorProto
        self.budget = Budget(path)
        self.initializers = {t.name: t for t in graph.initializer}
        self.sparse = {t.values.name for t in graph.sparse_initializer}
        self.nodes = list(graph.node)
        # value name -> (index of the node that computes it, which of its outputs)
        self.producer: dict[str, tuple[int, int]] = {}
        for j, node in enumerate(self.nodes):
            for k, out in enumerate(node.output):
                if out:
                    self.producer[out] = (j, k)
        self.recurrent = [j for j, n in enumerate(self.nodes) if n.op_type in _OPS and n.domain in ("", "ai.onnx")]
        self.dtypes = {
            TensorProto.FLOAT: np.dtype("<f4"), TensorProto.DOUBLE: np.dtype("<f8"),
            TensorProto.FLOAT16: np.dtype("<f2"),
        }

    # ------------------------------------------------------------------ which nodes
    def specs(self, module: str | None) -> list[dict]:
        path = self.path
        if not self.recurrent:
            ops = sorted({n.op_type for n in self.nodes})
            shown = ", ".join(ops[:8]) + (", …" if len(ops) > 8 else "")
            raise InputError(f"holds no RNN, GRU or LSTM operator (its nodes are {shown})", path)
        names = [self._name(self.nodes[j], k) for k, j in enumerate(self.recurrent)]
        if module is not None:
            if module not in names:
                raise InputError(
                    f"has no recurrent operator named {module!r}; it has {self._listing(names)}", path
                )
            chain = [names.index(module)]
        else:
            chain = list(range(len(self.recurrent)))
            if len(chain) > MAX_LAYERS:
                raise InputError(f"has {len(chain)} recurrent layers; rnnviz reads at most {MAX_LAYERS}", path)
            if len(chain) > 1 and not self._is_chain():
                raise InputError(
                    f"holds recurrent operators that are not one stack ({self._listing(names)}); "
                    "pick one with module=NAME (--module NAME)",
                    path,
                )
        per_node = [self._spec(self.nodes[self.recurrent[k]], names[k]) for k in chain]
        if len(per_node) > 1 and any("direction" in spec for specs in per_node for spec in specs):
            raise InputError(
                f"stacks {len(per_node)} recurrent operators, some not forwards; rnnviz runs one "
                "bidirectional or reverse layer on its own (pick one with module=NAME)",
                path,
            )
        specs = [spec for specs in per_node for spec in specs]
        for k in range(1, len(per_node)):  # forward nodes, one spec each
            H, D = specs[k - 1]["W_hh"].shape[1], specs[k]["W_ih"].shape[1]
            if D != H:
                raise InputError(
                    f"{specs[k]['label']} reads {D} features but {specs[k - 1]['label']} gives {H}; "
                    "they are not one stack (pick one with module=NAME)",
                    path,
                )
        return specs

    def _name(self, node, k: int) -> str:
        return node.name or f"{node.op_type}#{k}"

    def _listing(self, names) -> str:
        ops = [self.nodes[j].op_type for j in self.recurrent]
        items = [f"{op} {name!r}" for op, name in zip(ops, names)]
        return ", ".join(items[:8]) + (f", and {len(items) - 8} more" if len(items) > 8 else "")

    def _is_chain(self) -> bool:
        """Each recurrent node's X comes from the previous one's Y through shape-only operators."""
        for prev, j in zip(self.recurrent, self.recurrent[1:]):
            node = self.nodes[j]
            name, seen = node.input[0] if node.input else "", 0
            while True:
                src = self.producer.get(name)
                seen += 1
                if src is None or seen > 64:
                    return False
                at, k = src
                if at == prev:
                    if k != 0:
                        return False
                    break
                producer = self.nodes[at]
                if producer.op_type not in _SHAPE_OPS or not producer.input:
                    return False
                name = producer.input[0]
        return True

    # ------------------------------------------------------------------ one node
    def _spec(self, node, label: str) -> list[dict]:
        """The node's layer specs: one, or two for a bidirectional node (each with its
        "direction"; a reverse node's one is "backward")."""
        path = self.path
        kind, G, perm, default_acts = _OPS[node.op_type]
        where = f"{node.op_type} {label!r}"
        attrs = {a.name: a for a in node.attribute}
        direction = self._string(attrs, "direction", "forward")
        if direction not in ("forward", "reverse", "bidirectional"):
            raise InputError(f"{where} has direction {direction!r}; expected forward, reverse or bidirectional", path)
        nd = 2 if direction == "bidirectional" else 1
        if "clip" in attrs:
            raise InputError(f"{where} clips its pre-activations (clip={attrs['clip'].f:g}), which rnnviz does not", path)
        if attrs.get("input_forget") is not None and attrs["input_forget"].i:
            raise InputError(f"{where} couples its input and forget gates (input_forget=1), which rnnviz does not", path)
        all_acts = self._activations(attrs, default_acts * nd, where, direction)

        inputs = list(node.input) + [""] * (8 - len(node.input))
        R = self._weight(inputs[2], f"{where}: R", dict(gates_axis=1, hidden_axis=2))
        if R.ndim != 3 or R.shape[0] != nd or R.shape[2] < 1 or R.shape[1] != G * R.shape[2]:
            raise InputError(f"{where}: R has shape {R.shape}; expected ({nd}, {G}·H, H)", path)
        H = R.shape[2]
        hidden = attrs.get("hidden_size")
        if hidden is not None and hidden.i != H:
            raise InputError(f"{where} says hidden_size={hidden.i} but R has shape {R.shape}", path)
        W = self._weight(inputs[1], f"{where}: W", dict(gates_axis=1, input_axis=2))
        if W.ndim != 3 or W.shape[:2] != (nd, G * H) or W.shape[2] < 1:
            raise InputError(f"{where}: W has shape {W.shape}; expected ({nd}, {G * H}, D)", path)
        B = None
        if inputs[3]:
            B = self._weight(inputs[3], f"{where}: B", dict(gates_axis=1))
            if B.shape != (nd, 2 * G * H):
                raise InputError(f"{where}: B has shape {B.shape}; expected ({nd}, {2 * G * H})", path)
        for k, what in ((5, "initial_h"), (6, "initial_c"), (7, "P")):
            self._refuse_nonzero(inputs[k], what, where, node.op_type, nd, H)
        lbr = attrs.get("linear_before_reset")
        names = {"forward": ("forward",), "reverse": ("backward",), "bidirectional": ("forward", "backward")}[direction]
        return [
            self._direction_spec(kind, perm, where, W[d], R[d], None if B is None else B[d], H,
                                 all_acts[d * len(default_acts) : (d + 1) * len(default_acts)],
                                 bool(lbr.i) if lbr is not None else False, None if direction == "forward" else name)
            for d, name in enumerate(names)
        ]

    def _direction_spec(self, kind, perm, where, W, R, B, H, acts, lbr, direction) -> dict:
        path = self.path
        G = len(perm)
        b_ih = b_hh = None
        if B is not None:
            b_ih, b_hh = self._blocks(B[: G * H], perm, H), self._blocks(B[G * H :], perm, H)
        spec: dict[str, Any] = {
            "label": where if direction is None else f"{where} ({direction})", "kind": kind,
            "W_ih": self._blocks(W, perm, H), "W_hh": self._blocks(R, perm, H),
            "b_ih": b_ih, "b_hh": b_hh,
        }
        if direction is not None:
            spec["direction"] = direction
        # ONNX's activations: the gates' first (f), then the candidate's (g) and, with a cell
        # state, the output's (h), which rnnviz's cells share as their one nonlinearity.
        info = kind_of(kind)
        rest = list(acts)
        if "recurrent_activation" in info.cell_options:
            spec["recurrent_activation"] = rest.pop(0)
        if len(set(rest)) > 1:
            raise InputError(
                f"{where} uses {rest[0]} for its candidate and {rest[1]} for its output; rnnviz's "
                f"{info.label} uses one activation for both",
                path,
            )
        spec["nonlinearity"] = rest[0]
        if "reset_after" in info.cell_options:
            spec["reset_after"] = lbr
        return spec

    @staticmethod
    def _blocks(a: np.ndarray, perm, H: int) -> np.ndarray:
        return np.concatenate([a[j * H : (j + 1) * H] for j in perm], axis=0)

    def _string(self, attrs, name: str, default: str) -> str:
        a = attrs.get(name)
        if a is None:
            return default
        return a.s.decode("utf-8", "replace")

    def _activations(self, attrs, defaults, where: str, direction: str) -> list[str]:
        path = self.path
        a = attrs.get("activations")
        if a is None:
            return list(defaults)
        names = [s.decode("utf-8", "replace") for s in a.strings]
        if len(names) != len(defaults):
            raise InputError(
                f"{where} lists {len(names)} activations; a {direction} {where.split()[0]} takes {len(defaults)}",
                path,
            )
        alphas = list(attrs["activation_alpha"].floats) if "activation_alpha" in attrs else []
        betas = list(attrs["activation_beta"].floats) if "activation_beta" in attrs else []
        out = []
        for name in names:
            key = name.lower()
            alpha = alphas.pop(0) if key in _TAKES_ALPHA and alphas else None
            beta = betas.pop(0) if key in _TAKES_BETA and betas else None
            if key in _ACTIVATIONS:
                out.append(_ACTIVATIONS[key])
            elif key == "hardsigmoid" and alpha is not None and beta is not None and \
                    math.isclose(alpha, 1 / 6, rel_tol=1e-6) and math.isclose(beta, 0.5, rel_tol=1e-6):
                out.append("hard_sigmoid")  # Keras 3's relu6(x + 3)/6
            elif key == "affine" and alpha == 1.0 and beta == 0.0:
                out.append("linear")
            else:
                params = "".join(
                    f", {n}={v:g}" for n, v in (("alpha", alpha), ("beta", beta)) if v is not None
                )
                raise InputError(
                    f"{where} uses activation {name}{params}, which rnnviz does not have (it has Sigmoid, "
                    "Tanh, Relu, HardSigmoid with alpha=1/6, beta=0.5, and Affine with alpha=1, beta=0)",
                    path,
                )
        return out

    # ------------------------------------------------------------------ values
    def _tensor_of(self, name: str, what: str):
        """The TensorProto stored for value ``name``, following Identity nodes; None if computed."""
        for _ in range(64):
            if name in self.initializers:
                return self.initializers[name]
            if name in self.sparse:
                raise InputError(f"{what} is a sparse tensor, which rnnviz does not read", self.path)
            src = self.producer.get(name)
            if src is None:
                return None
            node = self.nodes[src[0]]
            if node.op_type == "Identity" and node.input:
                name = node.input[0]
                continue
            if node.op_type == "Constant":
                for a in node.attribute:
                    if a.name == "value":
                        return a.t
            return node
        return None

    def _weight(self, name: str, what: str, axes: dict) -> np.ndarray:
        path = self.path
        if not name:
            raise InputError(f"{what} is missing", path)
        t = self._tensor_of(name, what)
        if t is None:
            raise InputError(f"{what} ({name!r}) is an input of the graph, not stored in the file", path)
        if not isinstance(t, self.T):
            raise InputError(
                f"{what} is computed at run time by a {t.op_type} node; rnnviz reads only stored weights "
                "(export with do_constant_folding=True)",
                path,
            )
        return self._array(t, what, axes)

    def _array(self, t, what: str, axes: dict | None = None) -> np.ndarray:
        path = self.path
        if t.data_location == self.T.EXTERNAL or len(t.external_data):
            raise InputError(
                f"{what} is stored as external data in another file; rnnviz reads only self-contained "
                ".onnx files (onnx.save_model(model, path, save_as_external_data=False))",
                path,
            )
        dtype = self.dtypes.get(t.data_type)
        if dtype is None:
            name = self.T.DataType.Name(t.data_type) if t.data_type in self.T.DataType.values() else t.data_type
            raise InputError(f"{what} has data type {name}; expected FLOAT, DOUBLE or FLOAT16", path)
        shape = tuple(int(n) for n in t.dims)
        check_weight_shapes(what, shape, path, **(axes or {}))
        nbytes = check_array(what, shape, dtype.itemsize, path)
        self.budget.take(nbytes, what)
        n = math.prod(shape)
        if t.raw_data:
            if len(t.raw_data) != nbytes:
                raise InputError(f"{what} holds {len(t.raw_data)} bytes; its shape {shape} needs {nbytes}", path)
            arr = np.frombuffer(t.raw_data, dtype=dtype)
        else:
            field = {
                self.T.FLOAT: t.float_data, self.T.DOUBLE: t.double_data, self.T.FLOAT16: t.int32_data,
            }[t.data_type]
            if len(field) != n:
                raise InputError(f"{what} holds {len(field)} values; its shape {shape} needs {n}", path)
            if t.data_type == self.T.FLOAT16:
                arr = np.array(field, dtype=np.int64).astype(np.uint16).view(np.float16)
            else:
                arr = np.array(field, dtype=dtype)
        return numeric(arr.reshape(shape), what, path)

    def _refuse_nonzero(self, name: str, what: str, where: str, op: str, nd: int, H: int) -> None:
        if not name or (what != "initial_h" and not kind_of(_OPS[op][0]).has_cell_state):
            return
        t = self._tensor_of(name, f"{where}: {what}")
        if t is None or not isinstance(t, self.T):
            if what == "P":
                raise InputError(f"{where} has peephole weights (P), which rnnviz's LSTM does not", self.path)
            return  # an initial state fed by the caller: rnnviz starts from zeros, as callers mostly do
        arr = self._array(t, f"{where}: {what}")
        if what != "P" and (arr.ndim != 3 or arr.shape[0] != nd or arr.shape[2] != H):
            hint = ""
            if what == "initial_c" and arr.ndim == 3 and arr.shape[2] > H:
                hint = ("; torch.onnx.export writes this for an LSTM with proj_size, which ONNX's LSTM "
                        "cannot express (onnxruntime refuses the file too): read the state_dict instead")
            raise InputError(f"{where}: {what} has shape {arr.shape}; expected ({nd}, batch, {H}){hint}", self.path)
        if np.any(arr != 0):
            if what == "P":
                raise InputError(f"{where} has peephole weights (P), which rnnviz's LSTM does not", self.path)
            raise InputError(f"{where} starts from a stored non-zero {what}; rnnviz starts from zeros", self.path)


FORMATS = (Format(".onnx", "the ONNX file", read=_read_onnx, options=("module",)),)
