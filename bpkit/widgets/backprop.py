"""Widget of Chapter 3: step through the forward and backward pass of a scalar graph."""

from __future__ import annotations

from ..autograd import _OP_TEXT, Value, _draw, _figsize, _new_figure, topological_order
from ._base import Widget as _Widget

__all__ = ["BackpropStepper"]


def _g(v):
    """4 significant digits, no negative zero: stable text for summaries."""
    v = float(v)
    return f"{(v if v != 0 else 0.0):.4g}"


class BackpropStepper(_Widget):
    r"""Step through backpropagation on the graph of a :class:`bpkit.autograd.Value`.

    Step 0 shows only the leaves (the inputs and parameters). The next ``n_forward`` steps
    compute the inner nodes one by one, in topological order: the forward pass. The last
    ``n_backward`` steps walk the edges in reverse topological order: the backward pass. At a
    backward step over the edge from a result $v$ to its operand $u$ the widget shows the
    **upstream gradient** $\partial L / \partial v$, the **local derivative**
    $\partial v / \partial u$, and their **product**, which is added to $u$'s gradient.

    The widget replays the pass from the numbers stored in the graph; it does not change
    the ``grad`` of the Values. Nodes are named by their ``label``, or ``v0``, ``v1``, ...
    (their position in topological order) when they have none.

    Controls: a step slider and buttons for one step back, one step forward, the end of
    the forward pass and a reset. Python API: :attr:`step`, :meth:`next`, :meth:`back`,
    :meth:`goto_backward`, :meth:`goto_edge`, :attr:`upstream`, :attr:`local`,
    :attr:`product`, :meth:`grad_of`, :meth:`summary`, :meth:`figure`.
    """

    def _answer_call(self):
        return ("=step", {"step": self.step})

    def __init__(self, root, step=0):
        if not isinstance(root, Value):
            raise TypeError(f"BackpropStepper: 'root' must be a bpkit.autograd.Value (the final result, e.g. "
                            f"the loss), got {type(root).__name__}.")
        self.root = root
        self.order = topological_order(root)
        self.names = [v.label or f"v{i}" for i, v in enumerate(self.order)]
        self._index = {id(v): i for i, v in enumerate(self.order)}
        self._forward = [i for i, v in enumerate(self.order) if v._prev]
        self._edges = []                                   # (parent index, child index, local)
        for v in reversed(self.order):
            for child, local in zip(v._prev, v._local):
                self._edges.append((self._index[id(v)], self._index[id(child)], local))
        self._start = int(step)
        self._init_widgets()
        self.step = step

    # -- sizes and controls ---------------------------------------------------------
    @property
    def n_forward(self) -> int:
        """Number of forward steps: one per inner node."""
        return len(self._forward)

    @property
    def n_backward(self) -> int:
        """Number of backward steps: one per edge."""
        return len(self._edges)

    @property
    def n_steps(self) -> int:
        return self.n_forward + self.n_backward

    # Button labels carry their own symbols (no icon font, which a static page may not have) and
    # are never shortened; the buttons wrap onto a second line on a phone.
    BUTTONS = ("\u25c0 back", "next \u25b6", "end of forward \u25b6|", "reset \u21ba")

    def _controls(self):
        W = self._W
        self._slider = W.IntSlider(value=0, min=0, max=self.n_steps, description="step",
                                   continuous_update=False, layout=W.Layout(width="100%", max_width="420px"))
        self._slider.observe(self._on_change, names="value")
        buttons = []
        actions = [self.back, self.next, lambda: setattr(self, "step", self.n_forward),
                   lambda: setattr(self, "step", 0)]
        for text, action in zip(self.BUTTONS, actions):
            b = W.Button(description=text, tooltip=text,
                         layout=W.Layout(width="auto", min_width="fit-content", flex="0 0 auto"))
            b.on_click(lambda _b, a=action: a())
            buttons.append(b)
        return [W.HBox([self._slider, *buttons], layout=W.Layout(flex_flow="row wrap", align_items="center"))]

    @property
    def step(self) -> int:
        """The current step, 0 to ``n_steps``; setting it moves the slider and redraws."""
        return int(self._slider.value)

    @step.setter
    def step(self, k):
        if isinstance(k, bool) or not isinstance(k, int) and not hasattr(k, "__index__"):
            raise TypeError(f"BackpropStepper: step must be an int, got {type(k).__name__}.")
        k = int(k)
        if not 0 <= k <= self.n_steps:
            raise ValueError(f"BackpropStepper: step {k} is outside 0..{self.n_steps} ({self.n_forward} forward "
                             f"and {self.n_backward} backward steps).")
        if self._slider.value == k:
            self.update()
        else:
            self._slider.value = k          # the observer redraws

    def next(self):
        """One step forward (no-op at the end)."""
        if self.step < self.n_steps:
            self.step = self.step + 1
        return self

    def back(self):
        """One step back (no-op at step 0)."""
        if self.step > 0:
            self.step = self.step - 1
        return self

    def goto_backward(self, k):
        """Go to backward step ``k`` (1 to ``n_backward``)."""
        if not 1 <= int(k) <= self.n_backward:
            raise ValueError(f"BackpropStepper.goto_backward: k must be 1..{self.n_backward}, got {k}.")
        self.step = self.n_forward + int(k)
        return self

    def goto_edge(self, parent, child, occurrence=1):
        """Go to the backward step over the edge ``parent -> child`` (node names); return its number k.

        ``occurrence`` picks the second edge, ... when a value is used twice by the same node (``x * x``).
        """
        for name in (parent, child):
            if name not in self.names:
                raise ValueError(f"BackpropStepper.goto_edge: no node named {name!r}; the nodes are "
                                 f"{', '.join(self.names)}.")
        seen = 0
        for k, (p, c, _) in enumerate(self._edges, start=1):
            if self.names[p] == parent and self.names[c] == child:
                seen += 1
                if seen == occurrence:
                    self.goto_backward(k)
                    return k
        raise ValueError(f"BackpropStepper.goto_edge: {child!r} is not an operand of {parent!r}"
                         + (f" {occurrence} times" if seen else "") + ".")

    # -- the replayed state -----------------------------------------------------------
    @property
    def phase(self) -> str:
        """``"start"``, ``"forward"`` or ``"backward"``."""
        s = self.step
        return "start" if s == 0 else ("forward" if s <= self.n_forward else "backward")

    def _state(self):
        """(computed node indices, gradients so far or None, current edge or None)."""
        s = self.step
        known = {i for i, v in enumerate(self.order) if not v._prev}
        known.update(self._forward[:min(s, self.n_forward)])
        if s <= self.n_forward:
            return known, None, None
        grads = [0.0] * len(self.order)
        grads[-1] = 1.0                                   # the root: dL/dL = 1
        edge = None
        for p, c, local in self._edges[:s - self.n_forward]:
            grads[c] += local * grads[p]
            edge = (p, c, local)
        return known, grads, edge

    def _edge_numbers(self):
        _, grads, edge = self._state()
        if edge is None:
            return None
        p, c, local = edge
        return grads[p], local, grads[p] * local

    @property
    def upstream(self):
        """At a backward step: the gradient of the root with respect to the edge's result; else None."""
        e = self._edge_numbers()
        return None if e is None else e[0]

    @property
    def local(self):
        """At a backward step: the derivative of the edge's result with respect to its operand; else None."""
        e = self._edge_numbers()
        return None if e is None else e[1]

    @property
    def product(self):
        """At a backward step: upstream times local, the contribution added to the operand's gradient."""
        e = self._edge_numbers()
        return None if e is None else e[2]

    @property
    def current_edge(self):
        """``(result name, operand name)`` at a backward step, else None."""
        _, _, edge = self._state()
        return None if edge is None else (self.names[edge[0]], self.names[edge[1]])

    def value_of(self, name):
        """The node's value if the forward pass has computed it by now, else None."""
        i = self._lookup(name)
        known, _, _ = self._state()
        return self.order[i].data if i in known else None

    def grad_of(self, name):
        """The node's gradient accumulated so far in the backward pass (None before it starts)."""
        i = self._lookup(name)
        _, grads, _ = self._state()
        return None if grads is None else grads[i]

    def _lookup(self, name):
        if name not in self.names:
            raise ValueError(f"BackpropStepper: no node named {name!r}; the nodes are {', '.join(self.names)}.")
        return self.names.index(name)

    def _formula(self, i):
        v = self.order[i]
        args = [self.names[self._index[id(c)]] for c in v._prev]
        op = _OP_TEXT.get(v._op, v._op)
        if len(args) == 2:
            return f"{args[0]} {op} {args[1]}"
        return f"{op}({args[0]})" if v._op != "neg" else f"-{args[0]}"

    # -- text and picture -------------------------------------------------------------
    def summary(self) -> str:
        s, F, E = self.step, self.n_forward, self.n_backward
        head = f"step {s} of {self.n_steps} ({F} forward, {E} backward)"
        if s == 0:
            leaves = ", ".join(f"{n} = {_g(v.data)}" for n, v in zip(self.names, self.order) if not v._prev)
            return f"{head}: start\nleaves: {leaves}"
        if s <= F:
            i = self._forward[s - 1]
            return (f"{head}: forward step {s}\n"
                    f"{self.names[i]} = {self._formula(i)} = {_g(self.order[i].data)}")
        k = s - F
        _, grads, (p, c, local) = self._state()
        up, prod = grads[p], grads[p] * local
        pn, cn, rn = self.names[p], self.names[c], self.names[-1]
        later = any(cc == c for _, cc, _ in self._edges[k:])
        return (f"{head}: backward step {k}, edge {pn} -> {cn}\n"
                f"upstream d{rn}/d{pn} = {_g(up)}, local d{pn}/d{cn} = {_g(local)}, product = {_g(prod)}\n"
                f"{cn}.grad so far = {_g(grads[c])}" + ("" if later else " (complete)"))

    def figure(self):
        known, grads, edge = self._state()
        w, h = _figsize(self.order)
        fig = _new_figure((w, h + 0.5))
        ax = fig.add_subplot()
        datas = [True if i in known else False for i in range(len(self.order))]
        gshow = [None] * len(self.order) if grads is None else grads
        hl, hedge, etext = set(), None, None
        if self.phase == "forward":
            hl = {id(self.order[self._forward[self.step - 1]])}
        elif edge is not None:
            p, c, local = edge
            hl = {id(self.order[c])}
            hedge = (id(self.order[p]), id(self.order[c]))
            etext = (f"edge {self.names[p]} -> {self.names[c]}: upstream {_g(grads[p])} \u00d7 local {_g(local)} "
                     f"= {_g(grads[p] * local)}, added to {self.names[c]}.grad")
        _draw(self.order, self.names, ax, datas, gshow, hl, hedge, etext)
        ax.set_title(self.summary().splitlines()[0], fontsize=12)
        return fig
