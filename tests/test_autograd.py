"""The scalar autograd engine: every op against central differences, numbers on either side,
accumulation, the semantics of backward/zero_grad, and drawing without Graphviz."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit.autograd import Value, draw_graph, topological_order

H = 1e-6


def central(f, xs, k):
    """d f / d xs[k] by central differences, f taking plain floats."""
    up, down = list(xs), list(xs)
    up[k] += H
    down[k] -= H
    return (f(*up) - f(*down)) / (2 * H)


def grads_of(f, xs):
    vs = [Value(x) for x in xs]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


UNARY = {
    "exp": (lambda v: v.exp(), math.exp),
    "log": (lambda v: v.log(), math.log),
    "tanh": (lambda v: v.tanh(), math.tanh),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: 1 / (1 + math.exp(-x))),
    "relu": (lambda v: v.relu(), lambda x: max(x, 0.0)),
    "neg": (lambda v: -v, lambda x: -x),
    "square": (lambda v: v ** 2, lambda x: x ** 2),
    "cube": (lambda v: v ** 3, lambda x: x ** 3),
    "sqrt": (lambda v: v ** 0.5, math.sqrt),
    "reciprocal": (lambda v: v ** -1, lambda x: 1 / x),
}


@pytest.mark.parametrize("name", UNARY)
@given(x=st.floats(0.1, 3.0) | st.floats(-3.0, -0.1))
def test_unary_ops_match_central_differences(name, x):
    op, ref = UNARY[name]
    if name in ("log", "sqrt") and x <= 0:
        x = -x
    value, (g,) = grads_of(op, [x])
    assert value == pytest.approx(ref(x), rel=1e-12, abs=1e-12)
    assert g == pytest.approx(central(ref, [x], 0), rel=1e-6, abs=1e-8)


BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "**": lambda a, b: a ** b,
}


@pytest.mark.parametrize("op", BINARY)
@given(a=st.floats(0.2, 3.0), b=st.floats(-2.0, 2.0).filter(lambda b: abs(b) > 0.1))
def test_binary_ops_match_central_differences_in_both_operands(op, a, b):
    f = BINARY[op]
    value, (ga, gb) = grads_of(f, [a, b])
    assert value == pytest.approx(f(a, b), rel=1e-12)
    assert ga == pytest.approx(central(f, [a, b], 0), rel=1e-5, abs=1e-7)
    assert gb == pytest.approx(central(f, [a, b], 1), rel=1e-5, abs=1e-7)


def random_expression(rng, depth):
    """A random expression over three variables, as a function usable on floats and on Values."""
    if depth == 0:
        k = int(rng.integers(3))
        return lambda *xs: xs[k]
    kind = rng.choice(["+", "-", "*", "/", "tanh", "sigmoid", "exp", "sq", "num"])
    left, right = random_expression(rng, depth - 1), random_expression(rng, depth - 1)
    c = float(np.round(rng.uniform(0.5, 2.0), 2))
    if kind == "+":
        return lambda *xs: left(*xs) + right(*xs)
    if kind == "-":
        return lambda *xs: left(*xs) - right(*xs)
    if kind == "*":
        return lambda *xs: left(*xs) * right(*xs)
    if kind == "/":        # keep the denominator away from zero: 2 + tanh-like positive quantity
        return lambda *xs: left(*xs) / (c + right(*xs) ** 2)
    if kind == "sq":
        return lambda *xs: left(*xs) ** 2
    if kind == "num":      # a plain number on the left
        return lambda *xs: c - c * left(*xs)
    fn = {"tanh": (lambda v: v.tanh() if isinstance(v, Value) else math.tanh(v)),
          "sigmoid": (lambda v: v.sigmoid() if isinstance(v, Value) else 1 / (1 + math.exp(-v))),
          "exp": (lambda v: (0.3 * v).exp() if isinstance(v, Value) else math.exp(0.3 * v))}[kind]
    return lambda *xs: fn(left(*xs))


@pytest.mark.parametrize("seed", range(25))
def test_random_expressions_match_central_differences(seed):
    rng = np.random.default_rng(seed)
    f = random_expression(rng, depth=int(rng.integers(2, 5)))
    xs = [float(x) for x in rng.uniform(-1.5, 1.5, size=3)]
    value, grads = grads_of(f, xs)
    assert value == pytest.approx(f(*xs), rel=1e-12, abs=1e-12)
    for k in range(3):
        assert grads[k] == pytest.approx(central(f, xs, k), rel=1e-5, abs=1e-7), (seed, k)


def test_plain_numbers_on_either_side():
    v = Value(2.0)
    cases = {"2 * v": (2 * v, 4.0, 2.0), "v * 2": (v * 2, 4.0, 2.0), "1 - v": (1 - v, -1.0, -1.0),
             "v - 1": (v - 1, 1.0, 1.0), "3 + v": (3 + v, 5.0, 1.0), "2 / v": (2 / v, 1.0, -0.5),
             "v / 4": (v / 4, 0.5, 0.25), "v ** 3": (v ** 3, 8.0, 12.0),
             "2 ** v": (2 ** v, 4.0, 4.0 * math.log(2))}
    for text, (out, value, grad) in cases.items():
        v.grad = 0.0
        out.backward()
        assert out.data == pytest.approx(value), text
        assert v.grad == pytest.approx(grad), text
    assert (Value(3.0) * np.float64(2.0)).data == 6.0


def test_a_value_used_twice_accumulates_both_contributions():
    x = Value(3.0)
    y = x * x                               # both operands are x: dy/dx = 2x, not x
    y.backward()
    assert x.grad == 6.0
    x2 = Value(0.5)
    f = x2 * 4 + x2.tanh()                  # two paths from x2 to f
    f.backward()
    assert x2.grad == pytest.approx(4 + 1 - math.tanh(0.5) ** 2)


def test_backward_twice_doubles_the_leaves_and_zero_grad_resets():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = (c + a).tanh()
    d.backward()
    first = (a.grad, b.grad, c.grad)
    d.backward()
    assert (a.grad, b.grad) == pytest.approx((2 * first[0], 2 * first[1])), "leaves accumulate"
    assert c.grad == pytest.approx(first[2]), "inner nodes are recomputed, not accumulated"
    assert d.grad == 1.0
    d.zero_grad()
    assert all(v.grad == 0.0 for v in topological_order(d))
    d.backward()
    assert (a.grad, b.grad) == pytest.approx(first[:2])


def test_gradients_of_two_results_add_up_on_shared_leaves():
    x = Value(1.0)
    (x * 2).backward()
    (x * 5).backward()
    assert x.grad == 7.0


def test_relu_kink_uses_subgradient_zero_and_local_derivatives_are_stored():
    x = Value(0.0)
    y = x.relu()
    y.backward()
    assert x.grad == 0.0
    s = Value(0.3).sigmoid()
    assert s._local == pytest.approx((s.data * (1 - s.data),))


def test_topological_order_puts_children_first_and_handles_deep_graphs():
    x = Value(1.0)
    y = x
    for _ in range(3000):                  # deeper than Python's default recursion limit
        y = y * 1.0001
    order = topological_order(y)
    assert order[0] is x and order[-1] is y and len(order) == 6001
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 3000)
    z = Value(2.0)
    w = (z + 1) * (z + 2)
    pos = {id(v): i for i, v in enumerate(topological_order(w))}
    for v in topological_order(w):
        assert all(pos[id(c)] < pos[id(v)] for c in v._prev)


@pytest.mark.parametrize("make, exc, match", [
    (lambda: Value("a"), TypeError, "'data' must be a real number"),
    (lambda: Value(Value(1.0)), TypeError, "got a Value"),
    (lambda: Value(1.0) + "2", TypeError, "Value.__add__: expected a Value or a number, got str"),
    (lambda: Value(-1.0).log(), ValueError, "Value.log: the logarithm needs a positive number, got -1"),
    (lambda: Value(1.0) / 0, ZeroDivisionError, "division by a Value equal to 0"),
    (lambda: Value(-2.0) ** 0.5, ValueError, "negative base"),
    (lambda: Value(1.0, (Value(2.0),), "f", ()), ValueError, "one local derivative per child"),
    (lambda: topological_order(3.0), TypeError, "expected a Value, got float"),
])
def test_bad_input_raises_readable_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def _network():
    x, y = Value(0.5, label="x"), Value(1.0, label="y")
    w1, w2 = Value(0.4, label="w1"), Value(-0.7, label="w2")
    h = (w1 * x).sigmoid()
    h.label = "h"
    o = (w2 * h).sigmoid()
    o.label = "o"
    loss = 0.5 * (o - y) ** 2
    loss.label = "loss"
    return loss


def test_draw_graph_has_one_labelled_node_per_value_and_uses_agg_only():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    loss = _network()
    loss.backward()
    fig = draw_graph(loss)
    assert isinstance(fig, Figure)
    order = topological_order(loss)
    nodes = [t for t in fig.axes[0].texts if (t.get_gid() or "").startswith("node-")]
    assert len(nodes) == len(order) == 13        # 4 inputs, 2 constants, 7 results
    texts = [t.get_text() for t in nodes]
    for v, t in zip(order, texts):
        assert f"data {v.data:.4g}" in t and f"grad {v.grad:.4g}" in t
    assert any(t.startswith("w1\n") for t in texts) and any(t.startswith("loss = ") for t in texts)
    FigureCanvasAgg(fig).draw()                        # renders without Graphviz or a display
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # and shows itself in a notebook without pyplot
    arrows = [c for c in fig.axes[0].texts if c not in nodes]
    assert len(arrows) == sum(len(set(map(id, v._prev))) for v in order)


def test_draw_graph_into_given_axes_and_without_grads():
    import matplotlib.pyplot as plt
    loss = _network()
    fig, ax = plt.subplots()
    assert draw_graph(loss, ax=ax, show_grad=False) is fig
    assert not any("grad" in t.get_text() for t in ax.texts)
    plt.close(fig)


def _chain(n):
    v = Value(0.5, label="x")
    for k in range(n):
        v = (v * 1.1).tanh()
        v.label = f"t{k}"
    return v


def test_a_long_graph_is_drawn_top_to_bottom_with_text_of_the_book_size():
    """Fig. 3.3 (the 1-2-1 network, 11 columns) once had 8 pt text in a figure three columns wide."""
    from bpkit.autograd import GRAPH_FONT_PT, MAX_GRAPH_COLUMNS
    from bpkit.plot import min_font_pt
    root = _chain(MAX_GRAPH_COLUMNS)                    # 2 * MAX + 1 steps: too long for a row
    root.backward()
    fig = draw_graph(root)
    order = topological_order(root)
    nodes = {t.get_gid(): t.get_position() for t in fig.axes[0].texts if (t.get_gid() or "").startswith("node-")}
    ys = [nodes[f"node-{i}"][1] for i, v in enumerate(order) if v._prev]
    assert len(ys) == 2 * MAX_GRAPH_COLUMNS
    assert all(a > b for a, b in zip(ys, ys[1:])), "each step of the chain one row lower"
    assert min_font_pt(fig) == GRAPH_FONT_PT == 12
    width, height = fig.get_size_inches()
    assert width <= 6.4 < height, "as wide as the column (6.4 in at 100 dpi), and long"
    short = _chain(2)
    fig = draw_graph(short)
    xs = [t.get_position()[0] for t in fig.axes[0].texts if (t.get_gid() or "").startswith("node-")]
    assert xs == sorted(xs) and len(set(xs)) > 2, "a short graph runs left to right"
    assert draw_graph(short, vertical=True).get_size_inches()[1] > draw_graph(short).get_size_inches()[1]


def test_graph_drawing_needs_no_graphviz_import():
    import sys
    loss = _network()
    before = set(sys.modules)
    draw_graph(loss)
    assert not any(m.startswith(("graphviz", "pydot", "networkx")) for m in set(sys.modules) - before)


def test_matches_torch_when_installed():
    torch = pytest.importorskip("torch")
    xs = [0.3, -1.2, 0.8]
    f = lambda a, b, c: ((a * b + c).tanh() * 2 - (c / (1 + a ** 2))).sigmoid() * 3 + (b * 0.5).exp()  # noqa: E731
    _, grads = grads_of(f, xs)
    t = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = ((t[0] * t[1] + t[2]).tanh() * 2 - (t[2] / (1 + t[0] ** 2))).sigmoid() * 3 + (t[1] * 0.5).exp()
    out.backward()
    assert grads == pytest.approx([ti.grad.item() for ti in t], rel=1e-12)


def test_exp_overflows_only_where_math_exp_does():
    v = Value(709.5)                                   # exp(709.5) ~ 1.35e308 is still a float
    e = v.exp()
    e.backward()
    assert e.data == math.exp(709.5) and v.grad == math.exp(709.5)
    with pytest.raises(OverflowError, match=r"Value.exp: exp\(710\) is larger than the largest float"):
        Value(710.0).exp()


def test_zero_to_a_power_between_0_and_1():
    a = Value(0.0)
    (a ** 0.5 * 0.0).backward()                        # zero upstream: nothing is passed on, no 0 * inf = nan
    assert a.grad == 0.0
    b = Value(0.0)
    (b ** 0.5).backward()                              # d sqrt(u)/du -> +inf at u = 0
    assert b.grad == math.inf
    c, k = Value(0.0), Value(2.5)
    (c ** k).backward()                                # 0 ** k = 0 for every k > 0: both derivatives are 0
    assert (c.grad, k.grad) == (0.0, 0.0)


def test_negative_base_with_a_value_exponent_records_no_exponent_derivative():
    a, k = Value(-2.0), Value(3.0)
    out = a ** k
    out.backward()
    assert out.data == -8.0 and a.grad == 12.0 and k.grad == 0.0   # documented in Value.__pow__
    assert "no derivative with respect to" in Value.__pow__.__doc__
    with pytest.raises(ValueError, match="negative base"):
        Value(-2.0) ** Value(2.5)
