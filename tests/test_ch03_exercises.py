"""Chapter 3 exercises: the reference solutions pass, and a planted mistake per exercise gets its diagnosis."""

import pytest

from _notebooks import (
    assert_every_exercise_planted, assert_not_attempted, assert_planted_feedback, assert_points_match,
    assert_reference_solutions_pass)

NB = "03_chain_rule.ipynb"


def test_the_reference_solutions_pass_in_process():
    assert_reference_solutions_pass(NB, 8)


def test_points_in_the_notebook_match_the_checks():
    from bpkit.checks.ch03 import POINTS
    assert_points_match(NB, POINTS, 13)


SIG = "sig = lambda z: 1 / (1 + np.exp(-z))\n"

GRADS_121 = '''def grads_121(x, y, p):
    sig = lambda z: 1 / (1 + math.exp(-z))
    z1, z2 = p["w11"] * x + p["b1"], p["w12"] * x + p["b2"]
    h1, h2 = sig(z1), sig(z2)
    z3 = p["w21"] * h1 + p["w22"] * h2 + p["b3"]
    o = sig(z3)
    d_o = {ERR} * {DO}
    d1, d2 = {D1}, {D2}
    return {{"w11": {W11}, "w12": {W12}, "b1": d1, "b2": d2, "w21": d_o * h1, "w22": d_o * h2, "b3": d_o}}
'''


def g121(err="(o - y)", do="o * (1 - o)", d1="d_o * p['w21'] * h1 * (1 - h1)", d2="d_o * p['w22'] * h2 * (1 - h2)",
         w11="d1 * x", w12="d2 * x"):
    return GRADS_121.format(ERR=err, DO=do, D1=d1, D2=d2, W11=w11, W12=w12)


NUMGRAD = '''def numerical_gradient(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
{BODY}
    return g
'''

PLANTED = [
    # (exercise, wrong answer, expected status, words the verdict or first hint must contain)
    ("ex3_1_composite", SIG + "def composite(x):\n    f = sig(x**2 - 1)\n    return f, f * (1 - f)",
     "incorrect", "the factor 2x from the inner function x**2 - 1 is missing"),
    ("ex3_1_composite", SIG + "def composite(x):\n    u = x**2 - 1\n    return sig(u), u * (1 - u) * 2 * x",
     "incorrect", "applied to the pre-activation u = x**2 - 1"),
    ("ex3_1_composite", SIG + "def composite(x):\n    f = sig(x**2 - 1)\n    return f, sig(f) * (1 - sig(f)) * 2 * x",
     "incorrect", "applied to the activation"),
    ("ex3_1_composite", SIG + "def composite(x):\n    f = sig(x**2 - 1)\n    return f, -f * (1 - f) * 2 * x",
     "incorrect", "the sign is wrong"),
    ("ex3_1_composite", "def composite(x):\n    return x",
     "incorrect", "return 2 values (f, dfdx) as a tuple"),
    ("ex3_2_tanh_op", "def tanh_op(v):\n    return Value(math.tanh(v.data))",
     "incorrect", "the gradient of v stays 0"),
    ("ex3_2_tanh_op", "def tanh_op(v):\n    return Value(math.tanh(v.data), (v,), 'tanh', (1 - v.data ** 2,))",
     "incorrect", "uses the input x instead of the output t = tanh(x)"),
    ("ex3_2_tanh_op", "def tanh_op(v):\n    t = math.tanh(v.data)\n    return Value(t, (v,), 'tanh', (1 - math.tanh(t) ** 2,))",
     "incorrect", "tanh is applied twice"),
    ("ex3_2_tanh_op", "def tanh_op(v):\n    t = math.tanh(v.data)\n    return Value(t, (v,), 'tanh', (t * t - 1,))",
     "incorrect", "the sign is wrong"),
    ("ex3_2_tanh_op", "def tanh_op(v):\n    return math.tanh(v.data)",
     "error", "tanh_op must return a Value, got float"),
    ("ex3_3_grads_121", g121(d1="d_o", d2="d_o"),
     "incorrect", "dE/dw11, dE/dw12, dE/db1 and dE/db2 are all missing the factor w2j * hj * (1 - hj)"),
    ("ex3_3_grads_121", g121(w11="d_o * x"),                     # the chapter's dropped factor, in dE/dw11 only
     "incorrect", "dE/dw11 is missing the factor w21 * h1 * (1 - h1)"),
    ("ex3_3_grads_121", g121(w12="d_o * x"),
     "incorrect", "dE/dw12 is missing the factor w22 * h2 * (1 - h2)"),
    ("ex3_3_grads_121", g121(w11="d_o * x", w12="d_o * x"),
     "incorrect", "dE/dw11 and dE/dw12 are missing the factors"),
    ("ex3_3_grads_121", g121(do="z3 * (1 - z3)", d1="d_o * p['w21'] * z1 * (1 - z1)",
                             d2="d_o * p['w22'] * z2 * (1 - z2)"),
     "incorrect", "applied to the pre-activations"),
    ("ex3_3_grads_121", g121(do="sig(o) * (1 - sig(o))", d1="d_o * p['w21'] * sig(h1) * (1 - sig(h1))",
                             d2="d_o * p['w22'] * sig(h2) * (1 - sig(h2))"),
     "incorrect", "sigmoid(o) * (1 - sigmoid(o)) instead of o * (1 - o)"),
    ("ex3_3_grads_121", g121(err="(y - o)"), "incorrect", "the sign is wrong: dE/do = o - y"),
    ("ex3_3_grads_121", g121(err="2 * (o - y)"), "incorrect", "twice too large"),
    ("ex3_3_grads_121", "def grads_121(x, y, p):\n    return {'w11': 0.0}",
     "incorrect", "return a dict with the seven keys"),
    ("ex3_4_linear_backward", "def linear_backward(dout, cache):\n    X, W = cache\n"
     "    return dout @ W.T, dout.T @ X, dout.sum(axis=0)", "incorrect", "dW is transposed: dout.T @ X"),
    ("ex3_4_linear_backward", "def linear_backward(dout, cache):\n    x, W = cache\n"
     "    return dout @ W.T, x.T @ dout, dout", "incorrect", "db is not summed over the batch"),
    ("ex3_4_linear_backward", "def linear_backward(dout, cache):\n    x, W = cache\n"
     "    return dout @ W.T, x.T @ dout, dout.mean(axis=0)", "incorrect", "db is the mean over the batch, not the sum"),
    ("ex3_4_linear_backward", "def linear_backward(dout, cache):\n    x, W = cache\n"
     "    return dout @ W.T, x.T @ dout / len(x), dout.sum(axis=0)", "incorrect", "dW is divided by the batch size"),
    ("ex3_4_linear_backward", "def linear_backward(dout, cache):\n    x, W = cache\n"
     "    return -dout @ W.T, -x.T @ dout, -dout.sum(axis=0)", "incorrect", "the signs are wrong"),
    ("ex3_4_linear_backward", "def linear_backward(dout, cache):\n    x, W = cache\n"
     "    return dout @ W, x.T @ dout, dout.sum(axis=0)", "error", "inner sizes of a matrix product"),
    ("ex3_5_sigmoid_backward", SIG + "def sigmoid_backward(dout, cache):\n    return dout * sig(cache) * (1 - sig(cache))",
     "incorrect", "the sigmoid is applied to the cache again"),
    ("ex3_5_sigmoid_backward", "def sigmoid_backward(dout, cache):\n    return cache * (1 - cache)",
     "incorrect", "the upstream gradient dout is missing"),
    ("ex3_5_sigmoid_backward", "def sigmoid_backward(dout, cache):\n    return -dout * cache * (1 - cache)",
     "incorrect", "the sign is wrong"),
    ("ex3_6_numerical_gradient", NUMGRAD.format(BODY="        xp = x.copy()\n        xp[i] += h\n"
                                                     "        g[i] = (f(xp) - f(x)) / h"),
     "incorrect", "one-sided (forward) difference"),
    ("ex3_6_numerical_gradient", NUMGRAD.format(BODY="        xp, xm = x.copy(), x.copy()\n        xp[i] += h\n"
                                                     "        xm[i] -= h\n        g[i] = (f(xp) - f(xm)) / h"),
     "incorrect", "divided by h instead of 2h"),
    ("ex3_6_numerical_gradient", NUMGRAD.format(BODY="        x[i] += h\n        fp = f(x)\n        x[i] -= 2 * h\n"
                                                     "        fm = f(x)\n        x[i] += h\n"
                                                     "        g[i] = (fp - fm) / (2 * h)"),
     "incorrect", "x was not restored exactly: your function left x changed"),       # x[i] + h - 2h + h != x[i]
    ("ex3_6_numerical_gradient", NUMGRAD.format(BODY="        x[i] += h\n        fp = f(x)\n        x[i] -= 2 * h\n"
                                                     "        fm = f(x)\n        g[i] = (fp - fm) / (2 * h)"),
     "incorrect", "save old = x[i] first and assign x[i] = old afterwards"),         # never restored
    ("ex3_7_sigmoid_edge", "def sigmoid_edge():\n    stepper.goto_edge('a', 'z')\n"
     "    return stepper.upstream, stepper.product, stepper.product", "incorrect",
     "you handed in the product as the local derivative"),
    ("ex3_7_sigmoid_edge", "def sigmoid_edge():\n    stepper.goto_edge('a', 'z')\n"
     "    return stepper.local, stepper.upstream, stepper.product", "incorrect", "upstream and local are swapped"),
    ("ex3_7_sigmoid_edge", "def sigmoid_edge():\n    stepper.goto_edge('a', 'z')\n    a = stepper.value_of('a')\n"
     "    s = 1 / (1 + math.exp(-a))\n    return stepper.upstream, s * (1 - s), stepper.upstream * s * (1 - s)",
     "incorrect", "the sigmoid derivative of the activation"),
    ("ex3_7_sigmoid_edge", "def sigmoid_edge():\n    stepper.goto_edge('a', 'z')\n"
     "    return stepper.upstream / 2, stepper.local, stepper.product / 2", "incorrect", "misses the factor 2"),
    ("ex3_7_sigmoid_edge", "def sigmoid_edge():\n    stepper.goto_edge('a', 'z')\n    z = stepper.value_of('z')\n"
     "    return stepper.upstream, z * (1 - z), stepper.upstream * z * (1 - z)",      # the chapter's headline trap
     "incorrect", "the local derivative is z * (1 - z) = -1.71, the sigmoid_derivative trap"),
    ("ex3_7_sigmoid_edge", "def sigmoid_edge():\n    return stepper.upstream, stepper.local, stepper.product",
     "error", "expected a tuple of 3 numbers, got tuple (None, None, None)"),
    ("ex3_8_x_accumulation", "def x_accumulation():\n    net.goto_edge('w12*x', 'x')\n    c1 = net.product\n"
     "    net.goto_edge('w11*x', 'x')\n    return c1, net.product, net.product",
     "incorrect", "the total is one contribution only: gradients accumulate (+=)"),
    ("ex3_8_x_accumulation", "def x_accumulation():\n    net.step = net.n_steps\n"
     "    return net.grad_of('w11'), net.grad_of('w12'), net.grad_of('x')",
     "incorrect", "you handed in gradients of the weights"),
    ("ex3_8_x_accumulation", "def x_accumulation():\n    net.step = net.n_steps\n"     # only the second is a weight's
     "    return 0.0, net.grad_of('w12'), net.grad_of('x')",
     "incorrect", "you handed in gradients of the weights"),
    ("ex3_8_x_accumulation", "def x_accumulation():\n    net.goto_edge('w12*x', 'x')\n    u = net.upstream\n"
     "    net.goto_edge('w11*x', 'x')\n    return u, net.upstream, u + net.upstream",
     "incorrect", "you handed in the upstream gradients"),
    ("ex3_8_x_accumulation", "def x_accumulation():\n    net.goto_edge('w12*x', 'x')\n    l = net.local\n"
     "    net.goto_edge('w11*x', 'x')\n    return l, net.local, l + net.local",
     "incorrect", "you handed in the local derivatives w11 and w12"),
    # issue 14: a step of its own, or one side only, must fail (the last cases have h = 0.3 and 0.5)
    ("ex3_6_numerical_gradient", NUMGRAD.format(BODY="        xp, xm = x.copy(), x.copy()\n"
                                                     "        xp[i] += 1e-6\n        xm[i] -= 1e-6\n"
                                                     "        g[i] = (f(xp) - f(xm)) / 2e-6"),
     "incorrect", "the step h you are given is ignored"),
    ("ex3_6_numerical_gradient", NUMGRAD.format(BODY="        xp = x.copy()\n        xp[i] += h\n"
                                                     "        g[i] = (f(xp) - f(x)) / h"),
     "incorrect", "one-sided (forward) difference"),
    ("ex3_4_linear_backward", "def linear_backward(dout, cache):\n    X, W = cache\n"
     "    return dout @ W.T, X.T @ dout, dout.sum(axis=0, keepdims=True)\n", "incorrect", "db keeps the summed axis"),
    ("ex3_4_linear_backward", "def linear_backward(dout, cache):\n    X, W = cache\n"
     "    return dout @ W.T, X.T @ dout, dout.sum(axis=1)\n", "incorrect", "db is summed over the wrong axis"),
]


@pytest.mark.parametrize("grade_id, answer, status, words", PLANTED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_gets_the_intended_feedback(grade_id, answer, status, words):
    assert_planted_feedback(NB, grade_id, answer, status, words)


def test_every_exercise_has_a_planted_mistake():
    assert_every_exercise_planted(NB, PLANTED)


@pytest.mark.parametrize("grade_id, stub", [
    ("ex3_3_grads_121", "def grads_121(x, y, p):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex3_7_sigmoid_edge", "def sigmoid_edge():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex3_2_tanh_op", "def tanh_op(v):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
])
def test_unsolved_stub_is_not_attempted(grade_id, stub):
    assert_not_attempted(NB, grade_id, stub)
