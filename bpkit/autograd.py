r"""A small scalar reverse-mode automatic differentiation engine.

A :class:`Value` holds one number, ``data``, and after :meth:`Value.backward` the
derivative of the final result with respect to it, ``grad``. Every operation records, next
to its result, the *local derivative* of the result with respect to each operand; the
backward pass is then the chain rule and nothing else:

    operand.grad += local derivative * result.grad

applied to every edge of the graph, visiting the results in reverse topological order so
that a node's gradient is complete before it is passed on. ``+=`` (not ``=``) is what makes
a value used twice receive the sum of both contributions.

Semantics of ``backward`` (for leaves, those of PyTorch, where a second backward pass
through the same graph needs ``retain_graph=True``):

* ``root.backward()`` sets ``root.grad = 1``, resets the gradients of the other *inner*
  nodes of the graph (results of operations) to 0, and *adds* into the ``grad`` of the
  leaves (values created directly with ``Value(...)``);
* so the gradients of two losses computed from the same leaves add up, the gradient of
  their sum; and calling ``backward()`` twice on the same loss doubles the gradients of the
  leaves, a bug if you meant to start afresh;
* ``root.zero_grad()`` sets every ``grad`` in the graph to 0, to start afresh.

:func:`draw_graph` draws the graph with its values and gradients using matplotlib only,
so it works after a plain ``pip install`` (no Graphviz needed).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["GRAPH_FONT_PT", "MAX_GRAPH_COLUMNS", "Value", "draw_graph", "topological_order"]


class Value:
    r"""A scalar that remembers how it was computed.

    Parameters
    ----------
    data : float
        The number.
    children : tuple of Value, optional
        The operands this value was computed from (empty for a leaf).
    op : str, optional
        The operation's name, for printing and drawing (``"*"``, ``"tanh"``, ...).
    local : tuple of float, optional
        $\partial\,\text{self} / \partial\,\text{child}$ for each child, in the same order.
    label : str, optional
        A name for drawings (``"w11"``, ``"loss"``); can be set later.
    """

    def __init__(self, data, children=(), op="", local=(), label=""):
        if isinstance(data, Value):
            raise TypeError("Value: 'data' must be a number, got a Value. Use the Value itself, "
                            "or its .data to copy the number.")
        try:
            self.data = float(data)
        except (TypeError, ValueError):
            raise TypeError(f"Value: 'data' must be a real number, got {type(data).__name__} {data!r}.") from None
        children, local = tuple(children), tuple(float(d) for d in local)
        if len(children) != len(local):
            raise ValueError(f"Value: give one local derivative per child; got {len(children)} children "
                             f"and {len(local)} local derivatives.")
        for c in children:
            if not isinstance(c, Value):
                raise TypeError(f"Value: children must be Values, got {type(c).__name__}.")
        self.grad = 0.0
        self._prev = children
        self._local = local
        self._op = op
        self.label = label

    # -- helpers -------------------------------------------------------------------
    @staticmethod
    def _wrap(other, func):
        if isinstance(other, Value):
            return other
        if isinstance(other, bool) or not isinstance(other, (int, float, np.integer, np.floating)):
            raise TypeError(f"Value.{func}: expected a Value or a number, got {type(other).__name__}.")
        return Value(other, label=f"{float(other):g}")   # a constant, named by its value

    def __repr__(self):
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # -- arithmetic: each op is its forward value plus its local derivatives -------
    def __add__(self, other):
        r"""$u + w$; both local derivatives are 1."""
        other = self._wrap(other, "__add__")
        return Value(self.data + other.data, (self, other), "+", (1.0, 1.0))

    def __mul__(self, other):
        r"""$u \cdot w$; the local derivative with respect to each factor is the other factor."""
        other = self._wrap(other, "__mul__")
        local = (other.data, self.data)         # d(uw)/du = w, d(uw)/dw = u
        return Value(self.data * other.data, (self, other), "*", local)

    def __pow__(self, other):
        r"""$u^k$; local derivatives $k u^{k-1}$ for the base and $u^k \ln u$ for the exponent.

        Edge cases. A negative base is allowed only with an integer exponent $k$; $u^k$ is not
        real for the non-integer exponents next to $k$, so it has no derivative with respect to
        the exponent, and 0 is recorded: if the exponent is a ``Value`` that should learn, keep
        the base positive. For the base $u = 0$ and $k > 0$, $u^k = 0$ for all such $k$, so the
        recorded 0 is exact; and for $0 < k < 1$ the derivative with respect to the base is
        $+\infty$ (think of $\sqrt{u}$ at 0), recorded as ``math.inf``: a nonzero upstream
        gradient gives an infinite gradient, while a zero upstream gradient passes nothing on
        (see :meth:`backward`).
        """
        other = self._wrap(other, "__pow__")
        a, k = self.data, other.data
        if a < 0 and not k.is_integer():
            raise ValueError(f"Value.__pow__: a negative base {a:g} to the non-integer power {k:g} is not real.")
        if a == 0 and k < 0:
            raise ZeroDivisionError(f"Value.__pow__: 0 to the negative power {k:g}.")
        out = a ** k
        # d(a^k)/da = k a^(k-1); d(a^k)/dk = a^k ln a, defined for a > 0 only (0 is recorded otherwise,
        # exact for a = 0 and k > 0; for a < 0 there is no derivative with respect to k)
        if a == 0:
            da = k if k == 1 else (0.0 if k == 0 or k > 1 else math.inf)
        else:
            da = k * a ** (k - 1)
        dk = out * math.log(a) if a > 0 else 0.0
        return Value(out, (self, other), "**", (da, dk))

    def __truediv__(self, other):
        r"""$u / w$; local derivatives $1/w$ and $-u/w^2$."""
        other = self._wrap(other, "__truediv__")
        if other.data == 0:
            raise ZeroDivisionError("Value.__truediv__: division by a Value equal to 0.")
        a, b = self.data, other.data
        return Value(a / b, (self, other), "/", (1.0 / b, -a / (b * b)))

    def __neg__(self):
        return Value(-self.data, (self,), "neg", (-1.0,))

    def __sub__(self, other):
        other = self._wrap(other, "__sub__")
        return Value(self.data - other.data, (self, other), "-", (1.0, -1.0))

    def __radd__(self, other):                 # 2 + v
        return self._wrap(other, "__radd__") + self

    def __rsub__(self, other):                 # 2 - v
        return self._wrap(other, "__rsub__") - self

    def __rmul__(self, other):                 # 2 * v
        return self._wrap(other, "__rmul__") * self

    def __rtruediv__(self, other):             # 2 / v
        return self._wrap(other, "__rtruediv__") / self

    def __rpow__(self, other):                 # 2 ** v
        return self._wrap(other, "__rpow__") ** self

    # -- functions -----------------------------------------------------------------
    def exp(self):
        r"""$e^x$; local derivative $e^x$, the output itself."""
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"Value.exp: exp({self.data:g}) is larger than the largest float (about 1.8e308); "
                                "the argument must be at most about 709.78.") from None
        return Value(out, (self,), "exp", (out,))

    def log(self):
        r"""$\ln x$ for $x > 0$; local derivative $1/x$."""
        if self.data <= 0:
            raise ValueError(f"Value.log: the logarithm needs a positive number, got {self.data:g}.")
        return Value(math.log(self.data), (self,), "log", (1.0 / self.data,))

    def tanh(self):
        r"""$\tanh x$; local derivative $1 - \tanh^2 x$, written with the output $t$."""
        t = math.tanh(self.data)
        return Value(t, (self,), "tanh", (1.0 - t * t,))

    def sigmoid(self):
        r"""$\sigma(x) = 1/(1 + e^{-x})$; local derivative $\sigma(x)(1 - \sigma(x))$, written with the output $s$."""
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:                                   # the same, without overflow
            s = math.exp(x) / (1.0 + math.exp(x))
        return Value(s, (self,), "sigmoid", (s * (1.0 - s),))

    def relu(self):
        r"""$\max(x, 0)$; local derivative 1 for $x > 0$ and 0 otherwise (0 at the kink $x = 0$)."""
        return Value(max(self.data, 0.0), (self,), "relu", (1.0 if self.data > 0 else 0.0,))

    # -- the backward pass -------------------------------------------------------------
    def backward(self, grad=1.0):
        r"""Reverse-mode differentiation: fill ``.grad`` of every node with $\partial\,\text{self}/\partial\,\text{node}$.

        Inner nodes are reset first; leaves accumulate (see the module docstring). A node whose
        gradient is 0 passes nothing on, even along an edge with an infinite local derivative
        (as for ``u ** 0.5`` at ``u = 0``), where ``0 * inf`` would give ``nan``.
        """
        order = topological_order(self)
        for v in order:
            if v._prev:
                v.grad = 0.0                   # inner nodes start afresh; leaves accumulate
        self.grad += float(grad)
        for v in reversed(order):              # results before their operands
            if v.grad == 0.0:
                continue                       # nothing to pass on (and 0 * inf would be nan)
            for child, local in zip(v._prev, v._local):
                child.grad += local * v.grad   # the chain rule, one edge at a time

    def zero_grad(self):
        """Set ``grad`` to 0 for every node of the graph that computed this value."""
        for v in topological_order(self):
            v.grad = 0.0


def topological_order(root):
    """Every node of the graph of ``root``, each after all of its children (operands); ``root`` last.

    Iterative depth-first search, so deep graphs do not hit Python's recursion limit.
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order: expected a Value, got {type(root).__name__}.")
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        stack.append((v, True))
        for c in reversed(v._prev):
            if id(c) not in seen:
                stack.append((c, False))
    return order


# ----------------------------------------------------------------------------- drawing

_OP_TEXT = {"+": "+", "-": "\u2212", "*": "\u00d7", "/": "\u00f7", "**": "^", "neg": "\u2212x",
            "exp": "exp", "log": "log", "tanh": "tanh", "sigmoid": "\u03c3", "relu": "relu"}


def _layout(order):
    """Positions: inner nodes by longest path from the leaves; leaves one column before their first user."""
    col = {}
    for v in order:                                    # children come first in ``order``
        col[id(v)] = 1 + max(col[id(c)] for c in v._prev) if v._prev else 0
    users = {}
    for v in order:
        for c in v._prev:
            users.setdefault(id(c), []).append(v)
    for v in order:
        if not v._prev:
            col[id(v)] = min((col[id(u)] for u in users.get(id(v), [])), default=1) - 1
    shift = -min(col.values())
    for k in col:
        col[k] += shift
    rows = {}
    pos = {}
    for v in order:                                    # in topological order: children first
        c = col[id(v)]
        rows.setdefault(c, []).append(v)
    for c, vs in rows.items():
        n = len(vs)
        for i, v in enumerate(vs):
            pos[id(v)] = (float(c), (n - 1) / 2.0 - i)
    return pos


def _node_text(v, name, data=True, grad=True):
    op = _OP_TEXT.get(v._op, v._op)
    head = f"{name} = {op}" if v._prev and name else (name or op or "leaf")
    lines = [head]
    if data is not None:
        lines.append("data " + (f"{data:.4g}" if data is not True else f"{v.data:.4g}") if data is not False
                     else "data ?")
    if grad is not None:
        lines.append("grad " + (f"{grad:.4g}" if grad is not True else f"{v.grad:.4g}") if grad is not False
                     else "grad ?")
    return "\n".join(lines)


def _draw(order, names, ax, datas, grads, highlight_nodes=(), highlight_edge=None, edge_text=None,
          vertical=False, fontsize=8):
    """Draw nodes as labelled boxes and edges as arrows from operand to result: left to right, or
    top to bottom when ``vertical`` (each column of the horizontal layout becomes a row)."""
    pos = _layout(order)
    if vertical:
        pos = {k: (-y * 1.9, -x) for k, (x, y) in pos.items()}
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    boxes = {}
    for i, v in enumerate(order):
        x, y = pos[id(v)]
        face = "#fff3b0" if id(v) in highlight_nodes else ("#ddf4ff" if not v._prev else "#f6f8fa")
        boxes[id(v)] = ax.text(x, y, _node_text(v, names[i], datas[i], grads[i]), ha="center", va="center",
                               fontsize=fontsize, family="monospace", gid=f"node-{i}", zorder=4,
                               bbox=dict(boxstyle="round,pad=0.35", fc=face, ec="#24292f", lw=1.0))
    for v in order:
        for child in dict.fromkeys(v._prev):          # one arrow per pair, even for x * x
            hot = highlight_edge is not None and highlight_edge == (id(v), id(child))
            (x0, y0), (x1, y1) = pos[id(child)], pos[id(v)]
            # an edge that skips columns bends around the nodes in between, away from the middle row
            if vertical:
                rad = 0.0 if y0 - y1 <= 1 else (-0.3 if x0 + x1 < 0 else 0.3)
            else:
                rad = 0.0 if x1 - x0 <= 1 else (-0.3 if y0 + y1 >= 0 else 0.3)
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=5,   # after the boxes: clip to them
                        arrowprops=dict(arrowstyle="-|>", lw=2.6 if hot else 1.0, connectionstyle=f"arc3,rad={rad}",
                                        color="#cf222e" if hot else "#57606a", shrinkA=2, shrinkB=2,
                                        patchA=boxes[id(child)].get_bbox_patch(),
                                        patchB=boxes[id(v)].get_bbox_patch()))
    if edge_text:
        ax.text(0.5, 0.0, edge_text, transform=ax.transAxes, ha="center", va="top", fontsize=9,
                color="#cf222e", bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="#cf222e", lw=0.8))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - (1.0 if vertical else 0.6), max(xs) + (1.0 if vertical else 0.6))
    ax.set_ylim(min(ys) - (0.5 if vertical else 0.7), max(ys) + (0.5 if vertical else 0.7))
    ax.set_axis_off()
    return pos


_FIGURE_CLASS = []


def _new_figure(figsize):
    """A ``Figure`` that also shows itself in a notebook before pyplot has been used (``_repr_png_``)."""
    if not _FIGURE_CLASS:
        _FIGURE_CLASS.append(_figure_class())
    return _FIGURE_CLASS[0](figsize=figsize)


def _figure_class():
    from matplotlib.figure import Figure

    class GraphFigure(Figure):
        def _repr_png_(self):
            import io

            from matplotlib.backends.backend_agg import FigureCanvasAgg
            FigureCanvasAgg(self)
            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=90, bbox_inches="tight")
            return buf.getvalue()

    return GraphFigure


# A graph longer than this is drawn top to bottom; its text then has the book's body size.
MAX_GRAPH_COLUMNS = 6
GRAPH_FONT_PT = 12


def _figsize(order, vertical=False):
    pos = _layout(order)
    ncol = 1 + max(p[0] for p in pos.values())
    nrow = max(sum(1 for p in pos.values() if p[0] == c) for c in range(int(ncol)))
    if vertical:
        return (max(4.0, 2.4 * nrow), 1.3 * ncol)
    return (max(4.0, 1.45 * ncol), max(2.0, 1.0 * nrow + 0.6))


def draw_graph(root, ax=None, show_grad=True, vertical=None):
    """Draw the graph of ``root``: one box per :class:`Value` with its label, data and grad.

    Arrows point from an operand to the result computed from it, so the forward pass flows
    left to right (or top to bottom) and the backward pass back. Uses matplotlib only (no Graphviz).
    A long graph is drawn top to bottom, one row per step of the longest path, so that it fits
    the width of a page with text as large as the page's (``GRAPH_FONT_PT``).

    Parameters
    ----------
    root : Value
    ax : matplotlib Axes, optional
        Where to draw; by default a new ``matplotlib.figure.Figure`` (not registered with
        pyplot, so nothing leaks when many are drawn), which shows itself as a PNG when it is
        the last expression of a notebook cell.
    show_grad : bool
        Also print ``grad`` in every box (run ``root.backward()`` first).
    vertical : bool, optional
        Top to bottom instead of left to right; by default when the longest path from a leaf
        to ``root`` has more than ``MAX_GRAPH_COLUMNS`` steps.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; its text boxes have gids ``node-0``, ``node-1``, ... in topological order.
    """
    order = topological_order(root)
    ncol = 1 + max(p[0] for p in _layout(order).values())
    if vertical is None:
        vertical = ncol > MAX_GRAPH_COLUMNS
    if ax is None:
        ax = _new_figure(_figsize(order, vertical)).add_subplot()
    names = [v.label for v in order]
    _draw(order, names, ax, [True] * len(order), [True if show_grad else None] * len(order),
          vertical=vertical, fontsize=GRAPH_FONT_PT if vertical else 8)
    return ax.figure
