"""Checks for Chapter 3, the chain rule and backpropagation.

Each ``check_*`` takes the student's function or answer and returns a
:class:`bpkit.checks.CheckResult`. The references are bpkit's own functions (``ops``,
``gradcheck``, ``autograd``) or the short hand-derived functions below, which the
chapter shows and checks against finite differences and the autograd engine.
"""

from __future__ import annotations

import math

import numpy as np

from .. import gradcheck, ops
from ..autograd import Value
from ._context import case_rng, in_kernel, own_work
from ._engine import CheckResult, Mistake, _StudentError, check_function, handed_in, run_student

__all__ = ["NETWORK_121", "POINTS", "check_composite", "check_grads_121", "check_linear_backward",
           "check_numerical_gradient", "check_sigmoid_backward", "check_sigmoid_edge", "check_tanh_op",
           "check_x_accumulation", "composite", "grads_121", "network_121", "neuron_graph"]

#: Helpers a student or the driver of ``in_kernel`` may call: not references.
SCAFFOLD = ("network_121", "neuron_graph", "_run_op", "_f_smooth", "_f_curved")

#: Points per exercise, read by the course tools.
POINTS = {"composite": 1, "tanh_op": 2, "grads_121": 3, "linear_backward": 2, "sigmoid_backward": 1,
          "numerical_gradient": 2, "sigmoid_edge": 1, "x_accumulation": 1}


def _rng():
    """Test cases: a fixed seed for feedback, mixed with the grader\'s secret when graded."""
    return case_rng(2024)


def _s(z):
    return ops.sigmoid(np.asarray(z, dtype=np.float64))


def _sf(z):
    return float(ops.sigmoid(np.float64(z)))


# ----------------------------------------------------------------------------- 3.1 chain rule

def composite(x):
    r"""Reference: $f(x) = \sigma(x^2 - 1)$ and $f'(x) = \sigma(u)(1 - \sigma(u)) \cdot 2x$ with $u = x^2 - 1$."""
    u = x ** 2 - 1                 # inner function
    f = _s(u)                      # outer function
    return f, f * (1 - f) * 2 * x  # outer derivative at u, times inner derivative


def check_composite(student):
    """Exercise 3.1: ``composite(x) -> (f, dfdx)`` for ``f(x) = sigmoid(x**2 - 1)``, element-wise."""
    rng = _rng()
    cases = [(np.array([0.0, 1.0, -1.0, 2.0]),), (rng.standard_normal(6) * 1.5,), (rng.uniform(-2, 2, (2, 3)),)]
    return check_function(
        student, composite, cases, name="Exercise 3.1 (composite)", points=POINTS["composite"],
        output_names=("f", "dfdx"),
        mistakes=[
            Mistake("the factor 2x from the inner function x**2 - 1 is missing (the chain rule multiplies by "
                    "the inner derivative)", lambda x: (_s(x ** 2 - 1), _s(x ** 2 - 1) * (1 - _s(x ** 2 - 1))),
                    "df/dx = sigmoid'(u) * du/dx, and du/dx = 2x."),
            Mistake("the sigmoid derivative is applied to the pre-activation u = x**2 - 1: u * (1 - u) is only "
                    "right when u is already the sigmoid's output",
                    lambda x: (_s(x ** 2 - 1), (x ** 2 - 1) * (1 - (x ** 2 - 1)) * 2 * x),
                    "sigmoid'(u) = s * (1 - s) with s = sigmoid(u), the activation."),
            Mistake("the sigmoid derivative is applied to the activation: you computed sigmoid(s) * (1 - sigmoid(s)) "
                    "with s = sigmoid(u) already the output",
                    lambda x: (_s(x ** 2 - 1), _s(_s(x ** 2 - 1)) * (1 - _s(_s(x ** 2 - 1))) * 2 * x),
                    "Once you have s = sigmoid(u), the derivative is simply s * (1 - s)."),
            Mistake("the sign is wrong: sigmoid' is positive everywhere",
                    lambda x: (_s(x ** 2 - 1), -_s(x ** 2 - 1) * (1 - _s(x ** 2 - 1)) * 2 * x),
                    "sigmoid'(u) = s * (1 - s) > 0."),
        ],
        hints=["Write f as an outer function of an inner one: u = x**2 - 1, f = sigmoid(u).",
               "The chain rule: df/dx = (df/du) * (du/dx), with df/du = s * (1 - s) for s = sigmoid(u), "
               "and du/dx = 2x.",
               "u = x**2 - 1; f = 1 / (1 + np.exp(-u)); return f, f * (1 - f) * 2 * x"])


# ----------------------------------------------------------------------------- 3.2 an op with its local derivative

def _tanh_op_ref(v):
    t = math.tanh(v.data)
    return Value(t, (v,), "tanh", (1 - t * t,))


def _run_op(op, x):
    """Data and gradient of ``3 * op(Value(x))`` for each entry of ``x``: the op's output and 3 times its derivative."""
    data, grad = [], []
    for xi in np.ravel(x):
        v = Value(float(xi), label="v")
        out = op(v)
        if not isinstance(out, Value):
            raise TypeError(f"tanh_op must return a Value, got {type(out).__name__}; build it with "
                            "Value(t, (v,), 'tanh', (local,)).")
        loss = out * 3.0
        loss.backward()
        data.append(out.data)
        grad.append(v.grad)
    return np.array(data), np.array(grad)


@own_work("bpkit.autograd.Value.tanh")
def check_tanh_op(tanh_op):
    """Exercise 3.2: ``tanh_op(v) -> Value`` recording $1 - \\tanh^2$ as its local derivative."""
    rng = _rng()
    cases = [(np.array([0.0, 0.5, -1.0, 2.0]),), (rng.standard_normal(5),)]

    def with_local(f):
        return lambda x: (np.tanh(x), 3.0 * f(x))

    return check_function(
        in_kernel(_run_op, tanh_op), lambda x: _run_op(_tanh_op_ref, x), cases,
        name="Exercise 3.2 (tanh_op)", points=POINTS["tanh_op"], output_names=("output data", "gradient of v"),
        arg_names=("v.data",),
        mistakes=[
            Mistake("the gradient of v stays 0: the new Value needs (v,) as its children and one local derivative",
                    lambda x: (np.tanh(x), np.zeros_like(x)),
                    "Value(t, (v,), 'tanh', (local,)): without children, backward() never reaches v."),
            Mistake("the local derivative uses the input x instead of the output t = tanh(x): it is 1 - t**2, "
                    "not 1 - x**2", with_local(lambda x: 1 - x ** 2),
                    "Compute t = math.tanh(v.data) first, then local = 1 - t * t."),
            Mistake("tanh is applied twice: the local derivative is 1 - t**2 with t = tanh(x), you used "
                    "1 - tanh(t)**2", with_local(lambda x: 1 - np.tanh(np.tanh(x)) ** 2),
                    "t is already the output; square it, do not take its tanh again."),
            Mistake("the sign is wrong: the local derivative is 1 - t**2, which is positive",
                    with_local(lambda x: np.tanh(x) ** 2 - 1), "tanh is increasing, so its derivative is > 0."),
        ],
        hints=["An op computes its output and, next to it, the derivative of the output with respect to each "
               "operand: here one operand, v.",
               "d tanh(x)/dx = 1 - tanh(x)**2. Compute t = math.tanh(v.data) and use it in both places.",
               "t = math.tanh(v.data); return Value(t, (v,), 'tanh', (1 - t * t,))"])


# ----------------------------------------------------------------------------- 3.3 the 1-2-1 network

#: The worked example of the chapter: input, target and the seven parameters.
NETWORK_121 = {"x": 0.5, "y": 0.9, "params": {"w11": 0.15, "w12": 0.25, "b1": 0.35, "b2": 0.35,
                                                "w21": 0.40, "w22": 0.45, "b3": 0.60}}
_KEYS = ("w11", "w12", "b1", "b2", "w21", "w22", "b3")


def _forward_121(x, p):
    z1, z2 = p["w11"] * x + p["b1"], p["w12"] * x + p["b2"]
    h1, h2 = _sf(z1), _sf(z2)
    z3 = p["w21"] * h1 + p["w22"] * h2 + p["b3"]
    return z1, z2, h1, h2, z3, _sf(z3)


def grads_121(x, y, p):
    r"""Reference: the seven gradients of $E = \tfrac12 (o - y)^2$ for the 1-2-1 sigmoid network, by hand.

    $h_j = \sigma(w_{1j} x + b_j)$, $o = \sigma(w_{21} h_1 + w_{22} h_2 + b_3)$.
    """
    z1, z2, h1, h2, z3, o = _forward_121(x, p)
    delta_o = (o - y) * o * (1 - o)                  # dE/dz3
    delta_1 = delta_o * p["w21"] * h1 * (1 - h1)     # dE/dz1: through o, then h1
    delta_2 = delta_o * p["w22"] * h2 * (1 - h2)     # dE/dz2: through o, then h2
    return {"w11": delta_1 * x, "w12": delta_2 * x,
            "b1": delta_1, "b2": delta_2,
            "w21": delta_o * h1, "w22": delta_o * h2, "b3": delta_o}


def network_121(x, y, p):
    """The same network and loss built from :class:`Value` s, every node labelled; returns the loss E."""
    x, y = Value(x, label="x"), Value(y, label="y")
    w = {k: Value(v, label=k) for k, v in p.items()}

    def name(v, label):
        v.label = label
        return v
    z1 = name(name(w["w11"] * x, "w11*x") + w["b1"], "z1")
    z2 = name(name(w["w12"] * x, "w12*x") + w["b2"], "z2")
    h1, h2 = name(z1.sigmoid(), "h1"), name(z2.sigmoid(), "h2")
    z3 = name(name(name(w["w21"] * h1, "w21*h1") + name(w["w22"] * h2, "w22*h2"), "s") + w["b3"], "z3")
    o = name(z3.sigmoid(), "o")
    return name(0.5 * name(name(o - y, "o-y") ** 2, "(o-y)^2"), "E")


def _variant_121(kind):
    """Wrong versions of grads_121, for the diagnoses."""
    def f(x, y, p):
        z1, z2, h1, h2, z3, o = _forward_121(x, p)
        dsig = {"act": lambda a, z: a * (1 - a), "pre": lambda a, z: z * (1 - z),
                "twice": lambda a, z: _sf(a) * (1 - _sf(a))}.get(kind, lambda a, z: a * (1 - a))
        err = {"sign": y - o, "half": 2 * (o - y)}.get(kind, o - y)
        d_o = err * dsig(o, z3)
        if kind == "dropped":
            d1 = d2 = d_o                                # every hidden-layer gradient drops the factor
        else:
            d1, d2 = d_o * p["w21"] * dsig(h1, z1), d_o * p["w22"] * dsig(h2, z2)
        dw11, dw12 = d1 * x, d2 * x
        if kind in ("dropped_w11", "dropped_w"):         # the popular derivation's dE/dw11
            dw11 = d_o * x
        if kind in ("dropped_w12", "dropped_w"):
            dw12 = d_o * x
        return tuple([dw11, dw12, d1, d2, d_o * h1, d_o * h2, d_o])
    return f


def check_grads_121(student):
    """Exercise 3.3: ``grads_121(x, y, params) -> dict`` of the seven gradients of E = (o - y)**2 / 2."""
    name, pts = "Exercise 3.3 (grads_121)", POINTS["grads_121"]
    hints = ["Write the forward pass with every intermediate: z1, h1, z2, h2, z3, o. Then start at the end: "
             "dE/do = o - y, and dE/dz3 = (o - y) * o * (1 - o).",
             "The output layer: dE/dw21 = dE/dz3 * h1, dE/db3 = dE/dz3. For the hidden layer, continue the chain "
             "through o and h1: dE/dz1 = dE/dz3 * w21 * h1 * (1 - h1).",
             "delta_o = (o - y) * o * (1 - o); delta_1 = delta_o * w21 * h1 * (1 - h1); "
             "dw11 = delta_1 * x, db1 = delta_1; likewise for unit 2 with w22 and h2."]
    rng = _rng()
    c = NETWORK_121
    cases = [(c["x"], c["y"], dict(c["params"]))]
    cases += [(float(rng.uniform(-2, 2)), float(rng.uniform(0, 1)),
               {k: float(v) for k, v in zip(_KEYS, rng.standard_normal(7))}) for _ in range(3)]
    try:
        got = run_student(student, cases[0], name, pts, hints)
    except _StudentError as err:
        return err.result
    if not isinstance(got, dict) or set(got) != set(_KEYS):
        what = f"a dict with keys {sorted(got)}" if isinstance(got, dict) else type(got).__name__
        return CheckResult(name, "incorrect", f"return a dict with the seven keys {', '.join(_KEYS)}; got {what}.",
                           hints, max_points=pts)

    def as_tuple(fn):
        def g(x, y, p):
            d = fn(x, y, p)
            return tuple(float(d[k]) for k in _KEYS)
        return g
    return check_function(
        as_tuple(student), as_tuple(grads_121), cases, name=name, points=pts, output_names=_KEYS, hints=hints,
        mistakes=[
            Mistake("dE/dw11 is missing the factor w21 * h1 * (1 - h1), as in a popular derivation: the path "
                    "from w11 to E runs through h1 and then o, so both sigmoids and w21 appear",
                    _variant_121("dropped_w11"), "dE/dw11 = (o - y) * o * (1 - o) * w21 * h1 * (1 - h1) * x."),
            Mistake("dE/dw12 is missing the factor w22 * h2 * (1 - h2), as in a popular derivation: the path "
                    "from w12 to E runs through h2 and then o, so both sigmoids and w22 appear",
                    _variant_121("dropped_w12"), "dE/dw12 = (o - y) * o * (1 - o) * w22 * h2 * (1 - h2) * x."),
            Mistake("dE/dw11 and dE/dw12 are missing the factors w21 * h1 * (1 - h1) and w22 * h2 * (1 - h2), as "
                    "in a popular derivation: the path from w1j to E runs through hj and then o, so both "
                    "sigmoids and w2j appear", _variant_121("dropped_w"),
                    "dE/dw11 = (o - y) * o * (1 - o) * w21 * h1 * (1 - h1) * x; likewise dE/dw12 with w22 and h2."),
            Mistake("the hidden-layer gradients dE/dw11, dE/dw12, dE/db1 and dE/db2 are all missing the factor "
                    "w2j * hj * (1 - hj) of their unit, as in a popular derivation: the path from w11 or b1 to E "
                    "runs through h1 and then o, so both sigmoids and w21 appear", _variant_121("dropped"),
                    "dE/dz1 = (o - y) * o * (1 - o) * w21 * h1 * (1 - h1); then dE/dw11 = dE/dz1 * x and "
                    "dE/db1 = dE/dz1, and likewise for unit 2."),
            Mistake("the sigmoid derivative is applied to the pre-activations: z * (1 - z) is only right for the "
                    "activation a = sigmoid(z)", _variant_121("pre"),
                    "Use o * (1 - o) and h1 * (1 - h1): the activations, not z3 and z1."),
            Mistake("the sigmoid derivative is applied to the activation as if it were the pre-activation: "
                    "sigmoid(o) * (1 - sigmoid(o)) instead of o * (1 - o)", _variant_121("twice"),
                    "o is already sigmoid(z3); sigmoid'(z3) = o * (1 - o)."),
            Mistake("the sign is wrong: dE/do = o - y, not y - o", _variant_121("sign"),
                    "E = (o - y)**2 / 2, so dE/do = o - y."),
            Mistake("every gradient is twice too large: with E = (o - y)**2 / 2 the factor 2 cancels",
                    _variant_121("half"), "dE/do = o - y, without a factor 2."),
        ])


# ----------------------------------------------------------------------------- 3.4 linear_backward

@own_work("bpkit.ops.linear_backward", "bpkit.nn.Linear.backward")
def check_linear_backward(student):
    """Exercise 3.4: ``linear_backward(dout, cache) -> (dX, dW, db)`` with cache = (X, W)."""
    rng = _rng()
    cases = []
    for n, d, m in ((4, 3, 2), (5, 2, 6), (3, 4, 4)):
        X, W = rng.standard_normal((n, d)), rng.standard_normal((d, m))
        cases.append((rng.standard_normal((n, m)), (X, W)))
    return check_function(
        student, ops.linear_backward, cases, name="Exercise 3.4 (linear_backward)", points=POINTS["linear_backward"],
        output_names=("dX", "dW", "db"), batch_size_of=lambda dout, cache: dout.shape[0],
        mistakes=[
            Mistake("dW is transposed: dout.T @ X has shape (M, D), dW must have the shape (D, M) of W",
                    lambda dout, c: (dout @ c[1].T, dout.T @ c[0], dout.sum(axis=0)),
                    "dW = X.T @ dout: (D, N) @ (N, M) -> (D, M)."),
            Mistake("db is not summed over the batch: it must have the shape (M,) of b",
                    lambda dout, c: (dout @ c[1].T, c[0].T @ dout, dout),
                    "Every row used the same b, so its gradient adds the N rows: dout.sum(axis=0)."),
            Mistake("db keeps the summed axis: dout.sum(axis=0, keepdims=True) has shape (1, M), b has shape (M,)",
                    lambda dout, c: (dout @ c[1].T, c[0].T @ dout, dout.sum(axis=0, keepdims=True)),
                    "Sum over the batch without keepdims, so db has the shape (M,) of b."),
            Mistake("db is summed over the wrong axis: axis 1 adds up the M outputs of each example, giving one "
                    "number per example (N,); b has one entry per output, so sum over the batch, axis 0",
                    lambda dout, c: (dout @ c[1].T, c[0].T @ dout, dout.sum(axis=1)),
                    "The batch is axis 0 of dout (N, M)."),
            Mistake("db is the mean over the batch, not the sum",
                    lambda dout, c: (dout @ c[1].T, c[0].T @ dout, dout.mean(axis=0)),
                    "Gradients add up over the uses of b: sum, do not average (any 1/N belongs to the loss)."),
            Mistake("dW is divided by the batch size: X.T @ dout already is the sum over the batch, and any 1/N "
                    "belongs in the loss", lambda dout, c: (dout @ c[1].T, c[0].T @ dout / dout.shape[0],
                                                           dout.sum(axis=0)),
                    "dW = X.T @ dout, with no 1/N."),
            Mistake("the signs are wrong", lambda dout, c: (-(dout @ c[1].T), -(c[0].T @ dout), -dout.sum(axis=0)),
                    "The layer is Z = X @ W + b: every local derivative is +."),
        ],
        hints=["Shapes decide: dX has the shape (N, D) of X, dW the shape (D, M) of W, db the shape (M,) of b.",
               "The only way to make (N, D) from dout (N, M) and W (D, M) is dout @ W.T; the only way to make "
               "(D, M) from X and dout is X.T @ dout.",
               "X, W = cache; return dout @ W.T, X.T @ dout, dout.sum(axis=0)"])


# ----------------------------------------------------------------------------- 3.5 sigmoid backward

@own_work("bpkit.ops.sigmoid_backward")
def check_sigmoid_backward(student):
    """Exercise 3.5: ``sigmoid_backward(dout, cache) -> dz`` where the cache is the *activation* a = sigmoid(z)."""
    rng = _rng()
    cases = []
    for shape in ((4,), (3, 5), (2, 3)):
        a = _s(rng.standard_normal(shape) * 2)
        cases.append((rng.standard_normal(shape), a))
    return check_function(
        student, ops.sigmoid_backward, cases, name="Exercise 3.5 (sigmoid_backward)",
        points=POINTS["sigmoid_backward"],
        mistakes=[
            Mistake("the sigmoid is applied to the cache again: the cache already holds the activation "
                    "a = sigmoid(z), so the derivative is a * (1 - a), not sigmoid(a) * (1 - sigmoid(a))",
                    lambda dout, a: dout * _s(a) * (1 - _s(a)), "dz = dout * a * (1 - a)."),
            Mistake("the upstream gradient dout is missing: you return the local derivative only",
                    lambda dout, a: a * (1 - a), "Multiply by dout: upstream times local."),
            Mistake("the sign is wrong", lambda dout, a: -dout * a * (1 - a), "sigmoid' = a * (1 - a) > 0."),
            Mistake("(1 - a) alone is not the derivative: sigmoid' = a * (1 - a)",
                    lambda dout, a: dout * (1 - a), "Both factors: a * (1 - a)."),
        ],
        hints=["bpkit's sigmoid_forward stores its output a = sigmoid(z) as the cache, because the derivative "
               "is easiest to write with it.",
               "sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z)) = a * (1 - a).",
               "a = cache; return dout * a * (1 - a)"])


# ----------------------------------------------------------------------------- 3.6 gradient checker

def _f_smooth(x):
    return float(np.sum(np.tanh(x) * x ** 2) + np.prod(np.cos(x)))


def _f_curved(x):
    return float(np.sum(np.exp(1.5 * x)) + np.sum(x[:-1] * x[1:] ** 2))


def _forward_difference(f, x, h):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp = x.copy()
        xp[i] += h
        g[i] = (f(xp) - f(x)) / h
    return g


def _central(f, x, h, scale):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = scale * (f(xp) - f(xm)) / (2 * h)
    return g


@own_work("bpkit.gradcheck.numerical_gradient", "bpkit.gradcheck.numerical_vjp")
def check_numerical_gradient(student):
    """Exercise 3.6: ``numerical_gradient(f, x, h) -> grad`` by central differences, shape of ``x``."""
    rng = _rng()
    # the last two steps are large: the central difference then differs from the derivative by about
    # h**2 times the third derivative / 6 (a few per cent here), so an answer that ignores h, or takes one
    # side only, cannot pass
    cases = [(_f_smooth, np.array([0.5, -1.0, 2.0]), 1e-5), (_f_curved, rng.standard_normal((2, 3)), 1e-3),
             (_f_smooth, rng.standard_normal((3, 2)), 1e-4), (_f_curved, rng.uniform(0.5, 1.5, (3, 2)), 0.3),
             (_f_smooth, rng.uniform(-2, 2, (4,)), 0.5)]
    return check_function(
        student, lambda f, x, h: gradcheck.numerical_gradient(f, x.copy(), h), cases,
        name="Exercise 3.6 (numerical_gradient)", points=POINTS["numerical_gradient"], rtol=1e-5, atol=1e-8,
        mutation_message=("x was not restored exactly: your function left x changed. If you perturb x in place, "
                          "save old = x[i] first and assign x[i] = old afterwards (x[i] + h - h is not always "
                          "x[i] in floating point), or perturb a copy of x."),
        mistakes=[
            Mistake("this is a one-sided (forward) difference (f(x + h) - f(x)) / h: its error shrinks like h, "
                    "the central difference's like h**2", _forward_difference,
                    "Evaluate f at x + h and at x - h and divide the difference by 2h."),
            Mistake("this is a one-sided (backward) difference (f(x) - f(x - h)) / h: its error shrinks like h, "
                    "the central difference's like h**2", lambda f, x, h: _forward_difference(f, x, -h),
                    "Evaluate f at x + h and at x - h and divide the difference by 2h."),
            Mistake("the step h you are given is ignored: your result is the derivative itself (a tiny step of "
                    "your own?), but with a large h, such as 0.3, the central difference (f(x + h) - f(x - h)) / 2h "
                    "differs from it, and the exercise asks for that difference",
                    lambda f, x, h: _central(f, x, 1e-4, 1.0),
                    "Use the argument h for the step, whatever its size."),
            Mistake("the difference is divided by h instead of 2h: twice the gradient",
                    lambda f, x, h: _central(f, x, h, 2.0), "x + h and x - h are 2h apart."),
        ],
        hints=["Perturb one entry at a time: for each index i, evaluate f with x[i] + h and with x[i] - h.",
               "grad[i] = (f(x_plus) - f(x_minus)) / (2h). Restore x[i] afterwards (save the old value first), "
               "or perturb copies of x.",
               "g = np.zeros_like(x); for i in np.ndindex(x.shape): old = x[i]; x[i] = old + h; fp = f(x); "
               "x[i] = old - h; fm = f(x); x[i] = old; g[i] = (fp - fm) / (2 * h)"])


# ----------------------------------------------------------------------------- 3.7 and 3.8: the stepper

def neuron_graph():
    """The graph of Exercise 3.7: L = (sigmoid(w x + b) - y)**2 with x = 1.5, w = -0.8, b = 0.3, y = 1."""
    x, w, b, y = Value(1.5, label="x"), Value(-0.8, label="w"), Value(0.3, label="b"), Value(1.0, label="y")
    wx = w * x
    wx.label = "wx"
    z = wx + b
    z.label = "z"
    a = z.sigmoid()
    a.label = "a"
    e = a - y
    e.label = "e"
    L = e ** 2
    L.label = "L"
    return L


def _numbers(answer, n, name, pts, hints):
    """The student's tuple of ``n`` numbers, or a CheckResult explaining why there is none."""
    got = handed_in(answer, name, pts, hints, "hand in your numbers and run this cell again.")
    if isinstance(got, CheckResult):
        return got
    try:
        vals = tuple(float(v) for v in got)
    except (TypeError, ValueError):
        return CheckResult(name, "error", f"expected a tuple of {n} numbers, got {type(got).__name__} {got!r}.",
                           hints, max_points=pts)
    if len(vals) != n:
        return CheckResult(name, "incorrect", f"expected {n} numbers, got {len(vals)}.", hints, max_points=pts)
    return vals


def _close(a, b, rel=2e-3):
    """Equal to the 4 significant digits the widget shows."""
    return abs(a - b) <= rel * max(abs(b), 1e-4)


def check_sigmoid_edge(answer):
    """Exercise 3.7: ``(upstream, local, product)`` at the edge a -> z of :func:`neuron_graph`."""
    name, pts = "Exercise 3.7 (sigmoid_edge)", POINTS["sigmoid_edge"]
    hints = ["Step to the backward step whose edge goes from a (the sigmoid) to z (its input): "
             "stepper.goto_edge('a', 'z'), or the slider.",
             "The upstream gradient is dL/da, the gradient that has arrived at a; the local derivative is "
             "da/dz = a * (1 - a); the product is what z receives.",
             "return stepper.upstream, stepper.local, stepper.product"]
    vals = _numbers(answer, 3, name, pts, hints)
    if isinstance(vals, CheckResult):
        return vals
    up, loc, prod = vals
    z = -0.8 * 1.5 + 0.3
    a = _sf(z)
    e_up, e_loc = 2 * (a - 1.0), a * (1 - a)
    e_prod = e_up * e_loc
    shown = f"(upstream, local, product) = ({up:.4g}, {loc:.4g}, {prod:.4g})"
    if _close(up, e_up) and _close(loc, e_loc) and _close(prod, e_prod):
        return CheckResult(name, "correct", f"{shown}: upstream times local is the gradient z receives.", hints,
                           [shown], points=pts, max_points=pts)
    diagnoses = [
        (_close(loc, z * (1 - z)), f"the local derivative is z * (1 - z) = {z * (1 - z):.4g}, the sigmoid_derivative "
         "trap: x * (1 - x) is the sigmoid's derivative only when x is the activation a = sigmoid(z), so the "
         "local derivative is a * (1 - a)"),
        (_close(loc, _sf(a) * (1 - _sf(a))), "the local derivative is the sigmoid derivative of the activation "
         "a; it is a * (1 - a), with a = sigmoid(z) already computed"),
        (_close(up, e_loc) and _close(loc, e_up), "upstream and local are swapped: upstream is dL/da, local is "
         "da/dz"),
        (_close(loc, e_prod), "you handed in the product as the local derivative: local is da/dz alone"),
        (_close(up, e_prod), "you handed in the product as the upstream gradient: upstream is dL/da, what "
         "arrives at a"),
        (_close(up, a - 1.0), "the upstream gradient misses the factor 2 of the square: dL/da = 2 (a - y)"),
        (_close(up, -e_up) or _close(prod, -e_prod), "the sign is wrong: a < y, so dL/da is negative"),
        (not _close(prod, up * loc), "the product is not upstream times local"),
    ]
    why = next((text for cond, text in diagnoses if cond), "these are not the numbers of the edge a -> z")
    return CheckResult(name, "incorrect", f"it looks like {why}.", hints, [shown], max_points=pts, mistake=why)


def check_x_accumulation(answer):
    """Exercise 3.8: ``(first, second, total)``: the two contributions to dE/dx in the 1-2-1 network, and their sum."""
    name, pts = "Exercise 3.8 (x_accumulation)", POINTS["x_accumulation"]
    hints = ["x is an operand of two nodes, w11*x and w12*x. Find the two backward steps whose edge ends at x.",
             "At each of them, read the product: the contribution added to x.grad. After the second one, x.grad "
             "is complete.",
             "k1 = net.goto_edge('w12*x', 'x'); c1 = net.product; ... likewise for 'w11*x'; "
             "return c1, c2, net.grad_of('x') (at the later of the two steps)"]
    vals = _numbers(answer, 3, name, pts, hints)
    if isinstance(vals, CheckResult):
        return vals
    first, second, total = vals
    c = NETWORK_121
    g = grads_121(c["x"], c["y"], c["params"])
    p = c["params"]
    c1, c2 = g["b1"] * p["w11"], g["b2"] * p["w12"]            # dE/dz_j * dz_j/dx
    shown = f"contributions {first:.4g} and {second:.4g}, total {total:.4g}"

    def pair_is(u, v):
        return (_close(first, u) and _close(second, v)) or (_close(first, v) and _close(second, u))

    def any_of(*targets):
        return any(_close(val, t) for val in (first, second) for t in targets)
    pair_ok = pair_is(c1, c2)
    if pair_ok and _close(total, c1 + c2):
        return CheckResult(name, "correct", f"{shown}: a value used twice adds both contributions.", hints,
                           [shown], points=pts, max_points=pts)
    if pair_ok and (_close(total, c1) or _close(total, c2)):
        why = ("the total is one contribution only: gradients accumulate (+=), the second contribution does not "
               "overwrite the first")
    elif pair_ok:
        why = "the total is not the sum of the two contributions"
    elif any_of(g["b1"], g["b2"]):                             # dE/d(w1j*x) = dE/dz_j, what arrives at w1j*x
        why = ("you handed in the upstream gradients, what arrives at w11*x and w12*x; each contribution is "
               "upstream times local, the local derivative being w11 or w12")
    elif any_of(p["w11"], p["w12"]):
        why = ("you handed in the local derivatives w11 and w12; each contribution is upstream times local, "
               "the product")
    elif any_of(g["w11"], g["w12"]):
        why = "you handed in gradients of the weights; the contributions are the products on the edges into x"
    else:
        why = "these are not the products on the two edges into x"
    return CheckResult(name, "incorrect", f"it looks like {why}.", hints, [shown], max_points=pts, mistake=why)
