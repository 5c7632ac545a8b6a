"""The live cell diagram's content: nodes, wires and their values at one step. No Qt here.

The standard picture of a cell (after Olah's "Understanding LSTM Networks"): the inputs x_t,
h_{t−1} (and c_{t−1}) enter, the gate blocks (σ, tanh) read them, ⊙ and + nodes combine the
gates, h_t (and c_t) leave. The nodes are not drawn by kind: they follow from the structure of
the cell's own ``explain`` (its pre-activations and its state updates, sums of products of
:class:`~rnnviz.engine.cells.Factor`), so the diagram has exactly the terms the equation panel
writes out. Where each node goes is data on the kind (``CellKind.diagram``).

Node ids::

    in:x  in:h  in:c        x_t, h_{t−1}, c_{t−1}
    cat                     [h_{t−1}, x_t], the bus every gate block reads
    gate:z                  a block: σ(…) for a gate, tanh(…) for a candidate; the RNN's one is gate:h
    op:(1 − z) op:tanh(c)   a factor's function of a gate or state
    mul:z·h_prev            a product of factors; mul:r·h_prev is r ⊙ h_{t−1} (reset-before GRU)
    add:h                   a state update's sum of products
    out:h  out:c            h_t, c_t

Every value is read from the engine's arrays of the run (``Trace``: x, h, c, gates) at the
step; products and sums are those arrays combined as the update lines say. The formulas shown
on hover are the equation panel's rows (:func:`rnnviz.core.equations.equation_frame`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from ..engine.activations import SYMBOLS, apply
from ..engine.cells import kind_of
from ..engine.explain import explain
from . import model as M
from .equations import equation_frame
from .format import Frag, fmt, num, rich
from .text import visible

__all__ = ["CellDiagram", "CellModel", "DiagramFrame", "Edge", "Node", "NodeValue", "cell_model", "diagram_frame",
           "formula_groups", "SHOW_NUMBERS"]

#: Vectors of at most this many entries are written out in full (the seed example's H = 2).
SHOW_NUMBERS = 2
_ACT_OF = {sym: name for name, sym in SYMBOLS.items()}


@dataclass(frozen=True)
class Node:
    """One node of a cell's diagram (see the module doc for the ids)."""

    id: str
    op: str  # "input", "cat", "gate", "op", "mul", "add", "output"
    label: str  # what the glyph says: "xₜ", "σ", "tanh", "⊙", "+", "1 −"
    name: str  # the value's name in words ("z_t", "f_t ⊙ c_{t−1}")
    pos: tuple  # (x, y) in grid units, y down
    inputs: tuple = ()  # node ids
    gate: str | None = None  # gate blocks: the gate's name; also its title and meaning below
    title: str = ""  # "update gate"
    meaning: str = ""  # "1 = keep h"
    valve: bool = False  # a 0…1 gate: drawn as a valve whose opening is its value
    cmap: str = "diverging"  # colour-map role, as the heatmaps': "diverging", "sequential", "candidate"
    part: tuple = ()  # which rows of the equation frame explain it: ("pre", g), ("line", k), ("input", s)
    tag: bool = True  # shows its value (False when an output right after it shows the same)
    tag_offset: tuple = (0.0, 0.0)  # extra (dx, dy) of its value's label, grid units


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    points: tuple  # ((x, y), …) grid points from src's position to dst's, axis-parallel segments


@dataclass(frozen=True, eq=False)
class NodeValue:
    """What one node carries at the step: the selected unit's scalar and the whole vector."""

    scalar: float | None  # None for x_t with D > 1 and for the bus
    vector: np.ndarray  # (H,) float64, or (D,) for x_t, (H + D,) for the bus
    levels: tuple  # the colour map's (lo, hi), as on the heatmaps
    pre: float | None = None  # gate blocks: the unit's pre-activation
    pre_vector: np.ndarray | None = None  # … of every unit, for small cells (≤ SHOW_NUMBERS)
    note: str | None = None  # what to write instead of the scalar (y_t of classes: "'e' 0.41")

    @property
    def text(self) -> str:
        """The scalar as the equation panel writes numbers ("−0.212"), or the vector."""
        if self.note is not None:
            return self.note
        if self.scalar is not None:
            return fmt(self.scalar)
        return self.vector_text or ""

    @property
    def vector_text(self) -> str | None:
        """"(0.1, −0.25)": every entry, for vectors of at most SHOW_NUMBERS."""
        if self.vector.size > SHOW_NUMBERS:
            return None
        return "(" + ", ".join(fmt(v) for v in self.vector) + ")"

    @property
    def pre_text(self) -> str | None:
        if self.pre is None:
            return None
        if self.pre_vector is not None and self.pre_vector.size > 1:
            return "a = (" + ", ".join(fmt(v) for v in self.pre_vector) + ")"
        return "a = " + fmt(self.pre)


@dataclass(frozen=True, eq=False)
class CellDiagram:
    """One cell's diagram at one step and unit: nodes, wires, values; formulas on demand."""

    key: str
    label: str
    colour: str  # role: "cell:lstm"
    head: str  # "LSTM — unit 0, step t = 5"
    t: int
    unit: int
    H: int
    nodes: tuple  # Node
    edges: tuple  # Edge
    values: dict  # node id -> NodeValue
    bounds: tuple  # (x0, y0, x1, y1) of the node positions
    cr: object = field(repr=False, default=None)

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    @functools.cached_property
    def _groups(self) -> dict:
        return formula_groups(self.cr, self.t, self.unit)

    def formula(self, node_id: str) -> tuple:
        """The equation panel's rows (:class:`~rnnviz.core.equations.Row`) that compute the node,
        with the numbers of this step and unit; a short line of its own for the inputs."""
        node = self.node(node_id)
        rows = self._groups.get(node.part)
        if rows:
            return rows
        from .equations import Row

        v = self.values[node_id]
        lhs = rich(node.name.replace("t−1", str(self.t)).replace("_t", f"_{self.t + 1}"), ())
        if node.id == "cat":
            return (Row(lhs, Frag("what every block reads")),)
        if node.id == "out:y":
            lhs = rich(f"y_{self.t + 1}", ())
            rhs = node.name.split(" = ", 1)[1].replace("_t", f"_{self.t + 1}")
            said = v.note or v.vector_text or (fmt(v.scalar) if v.scalar is not None else f"{v.vector.size} values")
            return (Row(lhs, Frag(rhs)), Row(Frag(), Frag(said + (" (the most likely class, its probability)"
                                                                 if v.note else ""))))
        if v.scalar is None:
            return (Row(lhs, Frag(v.vector_text or f"{v.vector.size} values")),)
        return (Row(lhs + f"[{self.unit}]", num(v.scalar, bold=True)),)


@dataclass(frozen=True, eq=False)
class DiagramFrame:
    """The diagram panel's content: one cell, or Compare's three side by side."""

    cells: tuple  # CellDiagram
    step: int
    unit: int

    @property
    def compare(self) -> bool:
        return len(self.cells) > 1


# ---------------------------------------------------------------- structure, once per result


@dataclass(frozen=True, eq=False)
class CellModel:
    """The step-independent part of one cell's diagram: nodes, wires, colour levels, arrays."""

    cr: object  # model.CellResult
    nodes: tuple
    edges: tuple
    levels: dict  # node id -> (lo, hi)
    sources: dict  # node id -> how its vector is made (see _vector)
    bounds: tuple
    output: tuple | None = None  # (engine.train.Output, class labels or None): y_t's layer

    def at(self, t: int, unit: int) -> CellDiagram:
        """The diagram at 0-based step ``t`` for ``unit`` (both clamped)."""
        cr = self.cr
        tr = cr.trace
        t = min(max(int(t), 0), tr.T - 1)
        unit = min(max(int(unit), 0), tr.H - 1)
        rec = tr.records[tr.layer]
        state = {"x": np.asarray(rec.x[t], np.float64)}
        state["h_prev"] = np.asarray(rec.h0 if t == 0 else rec.h[t - 1], np.float64)
        state["h"] = np.asarray(tr.h[t], np.float64)
        if tr.c is not None:
            state["c_prev"] = np.asarray(rec.c0 if t == 0 else rec.c[t - 1], np.float64)
            state["c"] = np.asarray(tr.c[t], np.float64)
        vectors: dict = {}
        values = {}
        pre = self._pre(t, unit)
        with np.errstate(all="ignore"):
            for n in self.nodes:
                v = vectors[n.id] = self._vector(n, state, vectors, t)
                scalar = None if n.id in ("in:x", "cat", "out:y") else float(v[unit])
                if n.id in ("in:x", "out:y") and v.size == 1:
                    scalar = float(v[0])
                p = pv = note = None
                if n.op == "gate":
                    p, pv = pre.get(n.gate or n.id[5:], (None, None))
                if n.id == "out:y" and self.output is not None and self.output[1] is not None:
                    k = int(np.argmax(v))  # classes: the most likely one and its probability
                    scalar, note = float(v[k]), f"'{visible(self.output[1][k])}' {fmt(float(v[k]))}"
                values[n.id] = NodeValue(scalar, v, self.levels[n.id], p, pv, note)
        head = f"{cr.label} — unit {unit}, step t = {t + 1}"
        return CellDiagram(cr.key, cr.label, f"cell:{cr.key}", head, t, unit, tr.H, self.nodes, self.edges, values,
                           self.bounds, cr)

    def _pre(self, t: int, unit: int) -> dict:
        """Gate name -> (the unit's pre-activation, every unit's when the cell is small)."""
        tr = self.cr.trace
        units = range(tr.H) if tr.H <= SHOW_NUMBERS else (unit,)
        per = {u: explain(tr, t, u).pre for u in units}
        out = {}
        for g, p in per[unit].items():
            vec = np.array([per[u][g].pre for u in units]) if tr.H <= SHOW_NUMBERS else None
            out[g] = (float(p.pre), vec)
        return out

    def _vector(self, n: Node, state: dict, vectors: dict, t: int) -> np.ndarray:
        how, arg = self.sources[n.id]
        if how == "state":
            return state[arg]
        if how == "gate":
            return np.asarray(self.cr.trace.gates[arg][t], np.float64)
        if how == "cat":
            return np.concatenate([state["h_prev"], state["x"]])
        if how == "same":
            return vectors[arg]
        if how == "mul":
            return functools.reduce(np.multiply, (vectors[i] for i in arg))
        if how == "one_minus":
            return 1.0 - vectors[arg]
        if how == "act":
            name, src = arg
            return apply(name, vectors[src].copy())
        if how == "y":
            return arg[t]
        raise ValueError(f"unknown node source {how!r}")


def cell_model(cr, output: tuple | None = None) -> CellModel:
    """The diagram structure of cell result ``cr`` (its layout from ``CellKind.diagram``).
    ``output`` = (engine.train.Output, class labels or None) adds the output layer's y_t, to
    the right of h_t (a model trained in the Train mode)."""
    tr = cr.trace
    cell = tr.cell
    kind = kind_of(cell.kind)
    layout = kind.diagram or {}
    pos, routes, tags = layout.get("pos", {}), layout.get("routes", {}), layout.get("tags", {})
    e = explain(tr, 0, 0)  # the structure: which pre-activations, which update lines
    nodes: list[dict] = []
    sources: dict = {}
    levels: dict = {}
    h_lv, c_lv = tuple(cr.h_levels()), tuple(cr.c_levels())
    state_levels = {"h": h_lv, "c": c_lv}

    def add(id_, op, label, name, inputs=(), source=None, lv=h_lv, **kw):
        nodes.append(dict(id=id_, op=op, label=label, name=name, inputs=tuple(inputs), **kw))
        sources[id_] = source
        levels[id_] = tuple(lv)

    xs = np.asarray(tr.xs, np.float64)
    with np.errstate(all="ignore"):
        finite = np.abs(xs[np.isfinite(xs)])
    m = float(finite.max()) if finite.size else 1.0
    x_lv = (-max(m, 1.0), max(m, 1.0))
    add("in:x", "input", "xₜ", "x_t", source=("state", "x"), lv=x_lv, part=("input", "x"))
    add("in:h", "input", "hₜ₋₁", "h_{t−1}", source=("state", "h_prev"), part=("input", "h"))
    if kind.has_cell_state:
        add("in:c", "input", "cₜ₋₁", "c_{t−1}", source=("state", "c_prev"), lv=c_lv, part=("input", "c"))
    add("cat", "cat", "", "[h_{t−1}, x_t]", ("in:h", "in:x"), ("cat", None), tag=False)

    reset = layout.get("reset")
    for g, p in e.pre.items():
        info = kind.gate(g) if g in kind.gate_names else None
        block = f"gate:{g}"
        inputs = ["cat"]
        if p.reset_input:  # W_h multiplies r ⊙ h_{t−1}: x and that product come in apart
            mid = f"mul:{reset}·h_prev"
            add(mid, "mul", "⊙", f"{reset}_t ⊙ h_{{t−1}}", (f"gate:{reset}", "in:h"),
                ("mul", (f"gate:{reset}", "in:h")), part=("pre", g))
            inputs = ["in:x", mid]
        elif p.r is not None:  # r scales the recurrent part inside the block
            inputs = ["cat", f"gate:{reset}"]
        act = SYMBOLS[p.activation]
        if info is None:  # the RNN: the block's output is the new state
            add(block, "gate", act, "h_t", inputs, ("state", "h"), part=("pre", g), gate=g)
            continue
        gate_lv = info.range
        cmap = "sequential" if info.role != "candidate" else "candidate"
        if info.role == "candidate":
            gate_lv = M.finite_levels(tr.gates[g], cell.nonlinearity)
        add(block, "gate", act, f"{g}_t", inputs, ("gate", g), lv=gate_lv, part=("pre", g), gate=g,
            title=info.short_title or info.title, meaning=info.short_meaning or "", valve=tuple(info.range) == (0.0, 1.0), cmap=cmap)

    produced = {}  # state name at step t -> the node that makes it
    by_id = {n["id"]: n for n in nodes}

    def factor_node(f, k: int) -> str:
        if f.name in e.pre:
            base = f"gate:{f.name}"
        elif f.step < 0:
            base = f"in:{f.name}"
        else:
            base = produced[f.name]
        if f.form == "{}":
            return base
        fid = "op:" + f.form.format(f.name)
        if fid not in by_id:
            body = f.form.replace("{}", "").strip()
            if body.startswith("(") and body.endswith(")"):  # "(1 − {})"
                label, src = body.strip("() "), ("one_minus", base)
                lv = levels[base]
            else:  # "tanh({})": the cell's activation of a state
                label = body.rstrip("()").strip()
                src = ("act", (_ACT_OF[label], base))
                lv = h_lv
            add(fid, "op", label, f.form.format(f"{f.name}_t"), (base,), src, lv=lv, part=("line", k))
            by_id[fid] = nodes[-1]
        return fid

    for k, line in enumerate(e.lines):
        lv = state_levels.get(line.target, h_lv)
        terms = []
        for term in line.terms:
            ids = [factor_node(f, k) for f in term]
            if len(ids) == 1:
                terms.append(ids[0])
                continue
            names = []
            for f, i in zip(term, ids):
                names.append(f.form.format(f.name) if f.form != "{}" else f.name + ("_prev" if f.step < 0 else ""))
            mid = "mul:" + "·".join(names)
            add(mid, "mul", "⊙", " ⊙ ".join(names).replace("_prev", "_{t−1}"), ids, ("mul", tuple(ids)), lv=lv,
                part=("line", k))
            terms.append(mid)
        if len(terms) > 1:
            sid = f"add:{line.target}"
            add(sid, "add", "+", f"{line.target}_t", terms, ("state", line.target), lv=lv, part=("line", k))
            produced[line.target] = sid
        else:
            produced[line.target] = terms[0]
    if "h" not in produced:  # no update lines: the one block is h_t (the RNN)
        produced["h"] = f"gate:{next(iter(e.pre))}"
    outs = ["h"] + (["c"] if kind.has_cell_state else [])
    by_id = {n["id"]: n for n in nodes}
    for s in outs:
        part = by_id[produced[s]].get("part", ()) if produced[s] in by_id else ()
        add(f"out:{s}", "output", f"{s}ₜ", f"{s}_t", (produced[s],), ("state", s), lv=state_levels[s], part=part)

    if output is not None:
        from ..engine.train.output import softmax

        fc, labels = output
        h = np.asarray(tr.h, np.float64)
        with np.errstate(all="ignore"):
            # classes: the probabilities (the loss applies the softmax to the layer's logits)
            ys = np.asarray(softmax(fc.logits(h)) if labels is not None else fc.forward(h), np.float64)
        g = "softmax" if labels is not None else {"identity": "", "sigmoid": "σ", "softmax": "softmax"}[fc.activation]
        if g in ("σ", "softmax"):
            y_lv = (0.0, 1.0)
        else:
            finite = np.abs(ys[np.isfinite(ys)])
            top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
            y_lv = (-top, top)
        add("out:y", "output", "yₜ", f"y_t = {g}(W_hy h_t + b_y)", ("out:h",), ("y", ys), lv=y_lv,
            cmap="sequential" if g else "diverging")
    # a node right before an output shows its value there, once
    feeds_out = {n["inputs"][0] for n in nodes if n["op"] == "output" and n["id"] != "out:y"}
    placed = _place(nodes, pos)
    if output is not None:  # y_t one column right of h_t, on its wire
        hx, hy = placed["out:h"]
        placed["out:y"] = (hx + 2.0, hy)
    built = []
    for n in nodes:
        n = dict(n)
        if n["id"] in feeds_out:
            n["tag"] = False
        n["pos"] = placed[n["id"]]
        n["tag_offset"] = tuple(tags.get(n["id"], (0.0, 1.0) if n["id"] == "out:y" else (0.0, 0.0)))  # y: under its wire
        built.append(Node(**n))
    edges = []
    for n in built:
        for src in n.inputs:
            how = routes.get((src, n.id), routes.get((src, "*"), "vh"))
            edges.append(Edge(src, n.id, _route(placed[src], n.pos, how)))
    xs_, ys_ = [p[0] for p in placed.values()], [p[1] for p in placed.values()]
    return CellModel(cr, tuple(built), tuple(edges), levels, sources, (min(xs_), min(ys_), max(xs_), max(ys_)),
                     output)


def _place(nodes: list, pos: dict) -> dict:
    """Positions from the kind's layout; any other node by depth (column) and order (row)."""
    out = {n["id"]: tuple(float(v) for v in pos[n["id"]]) for n in nodes if n["id"] in pos}
    depth: dict = {}
    for n in nodes:
        depth[n["id"]] = 1 + max((depth.get(i, 0) for i in n["inputs"]), default=-1)
    rows: dict = {}
    for n in nodes:
        if n["id"] not in out:
            d = depth[n["id"]]
            out[n["id"]] = (1.5 * d, float(rows.get(d, 0)) * 1.5)
            rows[d] = rows.get(d, 0) + 1
    return out


def _route(a: tuple, b: tuple, how) -> tuple:
    """Axis-parallel points from ``a`` to ``b``: "vh" turns once after going vertically, "hv"
    after going horizontally; a tuple gives the corners."""
    if isinstance(how, (tuple, list)):
        pts = [a, *[tuple(map(float, p)) for p in how], b]
    elif a[0] == b[0] or a[1] == b[1]:
        pts = [a, b]
    elif how == "hv":
        pts = [a, (b[0], a[1]), b]
    else:
        pts = [a, (a[0], b[1]), b]
    return tuple(pts)


def formula_groups(cr, t: int, unit: int) -> dict:
    """The equation panel's rows of ``cr`` at step ``t`` for ``unit``, split by what they
    compute: ("input", "x") and ("input", "h") for the inputs' rows, ("pre", g) for each
    pre-activation, ("line", k) for each state update (the order of ``explain``)."""
    eq = equation_frame(cr, t, unit)
    e = explain(cr.trace, eq.t, eq.unit)
    keys = [("pre", g) for g in e.pre] + [("line", k) for k in range(len(e.lines))]
    groups: dict = {}
    k = -1
    inputs = []
    for row in eq.numbers:
        if row.muted:
            k += 1
        if k < 0:
            inputs.append(row)
            continue
        groups.setdefault(keys[k], []).append(row)
    for row in inputs:  # x_t … and h_{t−1} …, when the cell is small enough to list them
        groups[("input", "x" if row.lhs.plain.startswith("x") else "h")] = [row]
    return {key: tuple(rows) for key, rows in groups.items()}


def diagram_frame(frame, models: tuple | None = None) -> DiagramFrame:
    """The diagram of every cell of ``frame``'s result at its step and unit. ``models`` are
    the result's :func:`cell_model`s when the caller keeps them (they depend on the result only)."""
    result = frame.result
    if models is None:
        models = tuple(cell_model(cr) for cr in result.cells)
    cells = tuple(m.at(frame.step, frame.unit) for m in models)
    return DiagramFrame(cells, frame.step, frame.unit)

