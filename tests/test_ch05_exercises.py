"""Chapter 5 exercises: the reference solutions pass, and a planted mistake per exercise gets its diagnosis."""

import pytest

from _notebooks import (
    assert_every_exercise_planted, assert_not_attempted, assert_planted_feedback, assert_points_match,
    assert_reference_solutions_pass, run_exercise)

NB = "05_activations.ipynb"


def test_the_reference_solutions_pass_in_process():
    assert_reference_solutions_pass(NB, 8)


def test_points_in_the_notebook_match_the_checks():
    from bpkit.checks.ch05 import POINTS
    assert_points_match(NB, POINTS, 13)


LEAKY = "def leaky_relu(z, dout, alpha):\n    return {OUT}, {DZ}\n"
GELU = ("def gelu_grad(z):\n    Phi = 0.5 * (1 + erf(z / np.sqrt(2)))\n"
        "    phi = np.exp(-z ** 2 / 2) / np.sqrt(2 * np.pi)\n    return {RET}\n")
INIT = "def init_std(fan_in, fan_out, kind):\n    return {HE} if kind == 'he' else {XA}\n"
NORMS = ("def layer_grad_norms(model, X, G):\n    model.forward(X)\n    model.backward(G)\n"
         "    return np.array([{EXPR} for l in model.layers if isinstance(l, nn.Linear)]){POST}\n")
COLLAPSE = ("def collapse(Ws, bs):\n    W, b = Ws[0], bs[0]\n    for Wn, bn in zip(Ws[1:], bs[1:]):\n"
            "        W, b = {STEP}\n    return W, b\n")
OK_OUT = "np.where(z > 0, z, alpha * z)"

PLANTED = [
    # (exercise, wrong answer, expected status, words the verdict or first hint must contain)
    ("ex5_1_tanh_backward", "def tanh_backward(dout, a):\n    return dout * (1 - np.tanh(a) ** 2)",
     "incorrect", "the derivative is taken from the wrong variable"),
    ("ex5_1_tanh_backward", "def tanh_backward(dout, a):\n    return dout * (1 - a)",
     "incorrect", "the square is missing"),
    ("ex5_1_tanh_backward", "def tanh_backward(dout, a):\n    return dout * a * (1 - a)",
     "incorrect", "this is the sigmoid's derivative"),
    ("ex5_1_tanh_backward", "def tanh_backward(dout, a):\n    return 1 - a ** 2",
     "incorrect", "the upstream gradient dout is missing"),
    ("ex5_2_leaky_relu", LEAKY.format(OUT="np.where(z > 0, alpha * z, z)", DZ="np.where(z > 0, alpha * dout, dout)"),
     "incorrect", "the leaky slope is applied to the wrong side"),
    ("ex5_2_leaky_relu", LEAKY.format(OUT=OK_OUT, DZ="np.where(z >= 0, dout, alpha * dout)"),
     "incorrect", "the mask uses z >= 0"),
    ("ex5_2_leaky_relu", LEAKY.format(OUT=OK_OUT, DZ="np.where(z > 0, dout, 0.0)"),
     "incorrect", "the backward pass is the plain ReLU's"),
    ("ex5_2_leaky_relu", LEAKY.format(OUT=OK_OUT, DZ="np.where(z > 0, 1.0, alpha)"),
     "incorrect", "multiply by dout"),
    ("ex5_3_gelu_grad", GELU.format(RET="Phi"), "incorrect", "the product rule is missing its second term"),
    ("ex5_3_gelu_grad", GELU.format(RET="z * phi"), "incorrect", "the product rule is missing its first term"),
    ("ex5_3_gelu_grad", GELU.format(RET="Phi + z * np.exp(-z ** 2 / 2)"), "incorrect", "lacks its factor 1 / sqrt(2 pi)"),
    ("ex5_3_gelu_grad", GELU.format(RET="erf(z / np.sqrt(2)) + z * phi"), "incorrect", "without the 0.5 * (1 + ...)"),
    ("ex5_3_gelu_grad", "def gelu_grad(z):\n    _, cache = ops.gelu_forward(z, approximate='tanh')\n"
     "    return ops.gelu_backward(np.ones_like(z), cache)", "incorrect", "calls `bpkit.ops.gelu_backward`"),
    ("ex5_4_init_std", INIT.format(HE="2 / fan_in", XA="2 / (fan_in + fan_out)"),
     "incorrect", "this is the variance, not the standard deviation: the sqrt is missing"),
    ("ex5_4_init_std", INIT.format(HE="math.sqrt(2 / (fan_in + fan_out))", XA="math.sqrt(2 / fan_in)"),
     "incorrect", "He and Xavier are swapped"),
    ("ex5_4_init_std", INIT.format(HE="math.sqrt(2 / fan_out)", XA="math.sqrt(2 / (fan_in + fan_out))"),
     "incorrect", "fan_in and fan_out are swapped"),
    ("ex5_4_init_std", INIT.format(HE="math.sqrt(1 / fan_in)", XA="math.sqrt(2 / (fan_in + fan_out))"),
     "incorrect", "He's variance is 2 / fan_in; you used 1 / fan_in (LeCun's rule), with which ReLU activations "
     "lose half their variance at every layer"),
    ("ex5_4_init_std", INIT.format(HE="math.sqrt(2 / fan_in)", XA="math.sqrt(1 / fan_in)"),
     "incorrect", "Xavier here uses 1 / fan_in (LeCun's rule); Xavier uses one over the average fan"),
    ("ex5_4_init_std", INIT.format(HE="math.sqrt(2 / fan_in)", XA="math.sqrt(1 / (fan_in + fan_out))"),
     "incorrect", "one over the average fan (fan_in + fan_out) / 2 (the harmonic mean of 1/fan_in and 1/fan_out); "
     "you used 1 / (fan_in + fan_out)"),
    ("ex5_5_layer_grad_norms", NORMS.format(EXPR="np.linalg.norm(l.grads['W'])", POST="[::-1]"),
     "incorrect", "the norms are in reverse order"),
    ("ex5_5_layer_grad_norms", NORMS.format(EXPR="np.sum(l.grads['W'] ** 2)", POST=""),
     "incorrect", "these are squared norms"),
    ("ex5_5_layer_grad_norms", "def layer_grad_norms(model, X, G):\n    model.forward(X)\n    norms = []\n"
     "    for l in reversed(model.layers):\n        G = l.backward(G)\n        if isinstance(l, nn.Linear):\n"
     "            norms.append(np.linalg.norm(G))\n    return np.array(norms[::-1])",
     "incorrect", "not of its weights dW"),
    ("ex5_5_layer_grad_norms", "def layer_grad_norms(model, X, G):\n    return [l.grads['W'] for l in model.layers]",
     "error", "KeyError"),
    ("ex5_6_collapse", "def collapse(Ws, bs):\n    W = Ws[0]\n    for Wn in Ws[1:]:\n        W = W @ Wn\n"
     "    return W, sum(bs)", "incorrect", "the biases are added up as they are"),
    ("ex5_6_collapse", COLLAPSE.format(STEP="W @ Wn, bn"), "incorrect", "the bias keeps only the last layer's b"),
    ("ex5_6_collapse", COLLAPSE.format(STEP="Wn @ W, b @ Wn + bn"), "incorrect",
     "the weights are multiplied in reverse order"),
    ("ex5_7_relu_gain", "def relu_gain():\n    explorer.set(depth=20, activation='relu', init='lecun', scale=1.0)\n"
     "    return explorer.scale", "incorrect", "the scale is 1, the LeCun/Xavier rule"),
    ("ex5_7_relu_gain", "def relu_gain():\n    explorer.scale = 2.0\n    return explorer.scale",
     "incorrect", "(std vs variance)"),
    ("ex5_7_relu_gain", "def relu_gain():\n    return 1.2", "incorrect", "the scale is too small"),
    ("ex5_7_relu_gain", "def relu_gain():\n    return 1.6", "incorrect", "the scale is too large"),
    ("ex5_7_relu_gain", "def relu_gain():\n    return 'sqrt(2)'", "error", "expected a number"),
    ("ex5_8_vanishing_depth", "def vanishing_depth():\n    return 10", "incorrect", "still above 1e-6"),
    ("ex5_8_vanishing_depth", "def vanishing_depth():\n    return 12", "incorrect", "but already at depth 11"),
    ("ex5_8_vanishing_depth", "def vanishing_depth():\n    return 11.5", "incorrect", "a whole number"),
]


@pytest.mark.parametrize("grade_id, answer, status, words", PLANTED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_gets_the_intended_feedback(grade_id, answer, status, words):
    assert_planted_feedback(NB, grade_id, answer, status, words)


def test_every_exercise_has_a_planted_mistake():
    assert_every_exercise_planted(NB, PLANTED)


@pytest.mark.parametrize("grade_id, stub", [
    ("ex5_1_tanh_backward", "def tanh_backward(dout, a):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex5_7_relu_gain", "def relu_gain():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex5_8_vanishing_depth", "def vanishing_depth():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
])
def test_unsolved_stub_is_not_attempted(grade_id, stub):
    assert_not_attempted(NB, grade_id, stub)


def test_hints_are_progressive():
    result = run_exercise(NB, "ex5_4_init_std", INIT.format(HE="2 / fan_in", XA="2 / (fan_in + fan_out)"))
    first = result.next_hint()
    assert "square root" in first                      # the mistake's own hint comes first
    while result.next_hint() is not None:
        pass
    assert "return math.sqrt" in result.hints[-1]       # the last hint nearly gives the answer
