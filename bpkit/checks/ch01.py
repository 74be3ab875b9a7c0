"""Checks for Chapter 1, the forward pass.

Each ``check_*`` takes the student's function or answer and returns a
:class:`bpkit.checks.CheckResult`. The references are bpkit's own functions, so the
exercises and the library cannot disagree.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ._context import case_rng, in_kernel, own_work
from ._engine import CheckResult, Mistake, check_function, check_value, handed_in

__all__ = ["POINTS", "check_bias_through_point", "check_dense_forward", "check_forward_flops",
           "check_mlp_forward", "check_neuron", "check_sigmoid", "check_xor_weights", "forward_flops",
           "mlp_forward", "xor_predictions"]

#: Points per exercise, read by the course tools.
POINTS = {"neuron": 1, "dense_forward": 2, "sigmoid": 2, "mlp_forward": 2, "forward_flops": 1,
          "bias_through_point": 1, "xor_weights": 2}


def _rng():
    """Test cases: a fixed seed for feedback, mixed with the grader\'s secret when graded."""
    return case_rng(2024)


# ----------------------------------------------------------------------------- 1.1 one neuron

def _neuron_ref(x, w, b):
    return float(ops.sigmoid(np.dot(x, w) + b))


def check_neuron(neuron):
    """Exercise 1.1: ``neuron(x, w, b) -> a``, with ``x``, ``w`` of shape (D,), ``b`` a float."""
    rng = _rng()
    cases = [(np.array([1.0, 2.0]), np.array([0.5, -0.25]), 0.1),
             (np.array([0.0, 0.0, 0.0]), np.array([1.0, 2.0, 3.0]), -2.0)]
    cases += [(rng.standard_normal(d), rng.standard_normal(d), float(rng.standard_normal())) for d in (3, 5)]
    return check_function(
        neuron, _neuron_ref, cases, name="Exercise 1.1 (neuron)", points=POINTS["neuron"],
        mistakes=[
            Mistake("the activation is missing: you return the pre-activation z = x.w + b",
                    lambda x, w, b: float(np.dot(x, w) + b), "Apply the sigmoid to z: a = sigmoid(z)."),
            Mistake("the bias is missing", lambda x, w, b: float(ops.sigmoid(np.dot(x, w))),
                    "The neuron adds b to the weighted sum before the activation."),
            Mistake("the bias is added after the activation", lambda x, w, b: float(ops.sigmoid(np.dot(x, w)) + b),
                    "Add b inside: sigmoid(x.w + b), not sigmoid(x.w) + b."),
            Mistake("x * w is not summed: the weighted sum needs np.dot(x, w) (or (x * w).sum())",
                    lambda x, w, b: ops.sigmoid(x * w + b), "Sum the products x_j w_j over j."),
            Mistake("the mean of x * w is taken instead of the sum",
                    lambda x, w, b: float(ops.sigmoid(np.mean(x * w) + b)),
                    "The weighted sum adds the D products x_j w_j; it does not average them: np.dot(x, w)."),
            Mistake("tanh is used instead of the sigmoid", lambda x, w, b: float(np.tanh(np.dot(x, w) + b)),
                    "The sigmoid is 1 / (1 + exp(-z))."),
        ],
        hints=["A neuron computes z = w_1 x_1 + ... + w_D x_D + b, then a = sigmoid(z).",
               "np.dot(x, w) computes the weighted sum of two 1-D arrays.",
               "z = np.dot(x, w) + b; return 1 / (1 + np.exp(-z))."])


# ----------------------------------------------------------------------------- 1.2 dense layer

@own_work("bpkit.ops.linear_forward", "bpkit.nn.Linear.forward")
def check_dense_forward(dense_forward):
    """Exercise 1.2: ``dense_forward(X, W, b) -> Z`` with X (N, D), W (D, M), b (M,), Z (N, M)."""
    rng = _rng()
    cases = [(np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([0.5, -0.25]))]
    cases += [(rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m))
              for n, d, m in ((4, 3, 2), (5, 2, 6), (3, 4, 4))]
    return check_function(
        dense_forward, lambda X, W, b: ops.linear_forward(X, W, b)[0], cases,
        name="Exercise 1.2 (dense_forward)", points=POINTS["dense_forward"],
        mistakes=[
            Mistake("the bias is missing", lambda X, W, b: X @ W, "Add b: it broadcasts over the N rows."),
            Mistake("W is transposed (X @ W.T)", lambda X, W, b: X @ W.T + b,
                    "W has shape (D, M): X (N, D) @ W (D, M) gives (N, M) without a transpose."),
            Mistake("the bias was summed into one number", lambda X, W, b: X @ W + b.sum(),
                    "Each output unit m has its own bias b[m]; add the vector b, not b.sum()."),
            Mistake("the activation is applied: this exercise asks for the affine part only",
                    lambda X, W, b: ops.sigmoid(X @ W + b), "Return X @ W + b, before any activation."),
        ],
        hints=["One matrix product computes every unit for every example: Z[n, m] = sum_j X[n, j] W[j, m] + b[m].",
               "Check the shapes: (N, D) @ (D, M) -> (N, M); b of shape (M,) then broadcasts over rows.",
               "return X @ W + b"])


# ----------------------------------------------------------------------------- 1.3 a stable sigmoid

@own_work("bpkit.ops.sigmoid", "bpkit.ops.sigmoid_forward")
def check_sigmoid(sigmoid):
    """Exercise 1.3: a sigmoid that is exact and warning-free from -1000 to 1000."""
    rng = _rng()
    cases = [(np.array([0.0, 1.0, -1.0]),), (np.array([[-1000.0, -30.0], [30.0, 1000.0]]),),
             (rng.standard_normal((3, 4)) * 5,)]
    import warnings

    def guarded(z):
        with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
            warnings.simplefilter("error", RuntimeWarning)
            return sigmoid(z)

    result = check_function(
        guarded, ops.sigmoid, cases, name="Exercise 1.3 (sigmoid)", points=POINTS["sigmoid"], rtol=1e-9,
        atol=1e-300,
        mistakes=[Mistake("this is 1 - sigmoid(z): the sign of z in exp is flipped",
                          lambda z: 1 / (1 + np.exp(np.clip(z, -700, 700))), "sigmoid(z) = 1 / (1 + exp(-z)).")],
        hints=["1 / (1 + np.exp(-z)) is right in exact arithmetic, but exp(-z) overflows for z = -1000.",
               "For z < 0, multiply top and bottom by exp(z): sigmoid(z) = exp(z) / (1 + exp(z)); then exp only "
               "sees negative numbers.",
               "e = np.exp(-np.abs(z)); return np.where(z >= 0, 1 / (1 + e), e / (1 + e))"])
    if result.status == "error" and "FloatingPointError" in result.message:
        result.status = "incorrect"
        result.mistake = "overflow"
        where = f" ({result.details[1]})" if len(result.details) > 1 else ""
        result.message = ("np.exp overflowed for a large |z| (NumPy would print a RuntimeWarning): the naive "
                          f"formula is not stable{where}.")
    return result


# ----------------------------------------------------------------------------- 1.4 a two-layer network

def mlp_forward(X, params):
    """Reference: ``sigmoid(tanh(X @ W1 + b1) @ W2 + b2)`` with ``params`` keys W1, b1, W2, b2."""
    A1 = np.tanh(ops.linear_forward(X, params["W1"], params["b1"])[0])
    return ops.sigmoid(ops.linear_forward(A1, params["W2"], params["b2"])[0])


def _params(rng, D, H, M):
    return {"W1": rng.standard_normal((D, H)), "b1": rng.standard_normal(H),
            "W2": rng.standard_normal((H, M)), "b2": rng.standard_normal(M)}


def check_mlp_forward(student):
    """Exercise 1.4: ``mlp_forward(X, params)`` = sigmoid(tanh(X W1 + b1) W2 + b2)."""
    rng = _rng()
    cases = [(rng.standard_normal((n, d)), _params(rng, d, h, m)) for n, d, h, m in ((4, 2, 3, 1), (6, 3, 5, 2))]

    def no_hidden_activation(X, p):
        return ops.sigmoid((X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])

    def sigmoid_hidden(X, p):
        return ops.sigmoid(ops.sigmoid(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])

    return check_function(
        student, mlp_forward, cases, name="Exercise 1.4 (mlp_forward)", points=POINTS["mlp_forward"],
        mistakes=[
            Mistake("the hidden activation is missing, so the network collapses to one linear map",
                    no_hidden_activation, "Apply tanh to the hidden pre-activation X @ W1 + b1."),
            Mistake("the hidden layer uses the sigmoid instead of tanh", sigmoid_hidden,
                    "This network uses tanh in the hidden layer and the sigmoid at the output."),
            Mistake("the output sigmoid is missing",
                    lambda X, p: np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"],
                    "Finish with the sigmoid: the output is a probability."),
        ],
        hints=["Compose two layers: first A1 = tanh(X @ W1 + b1), then A2 = sigmoid(A1 @ W2 + b2).",
               "Shapes: X (N, D), W1 (D, H), A1 (N, H), W2 (H, M), output A2 (N, M).",
               "A1 = np.tanh(X @ params['W1'] + params['b1']); "
               "return ops.sigmoid(A1 @ params['W2'] + params['b2'])"])


# ----------------------------------------------------------------------------- 1.5 counting FLOPs

def forward_flops(sizes, N):
    """Reference: FLOPs of the dense layers Z = XW + b of a network, 2 N D M per layer.

    Each of the N M entries of Z takes D multiplications and D additions (D - 1 to sum the
    products, 1 for the bias); the activations are not counted.
    """
    return sum(2 * N * d * m for d, m in zip(sizes[:-1], sizes[1:]))


def check_forward_flops(student):
    """Exercise 1.5: ``forward_flops(sizes, N)`` for layer sizes like [784, 256, 10]."""
    cases = [([2, 3, 1], 1), ([784, 256, 256, 10], 128), ([10, 10], 7), ([5, 4, 3, 2], 3)]
    return check_function(
        student, forward_flops, cases, name="Exercise 1.5 (forward_flops)", points=POINTS["forward_flops"],
        mistakes=[
            Mistake("you count multiply-adds (N D M per layer), not FLOPs (2 N D M)",
                    lambda s, N: forward_flops(s, N) // 2, "Each multiply-add is two floating-point operations."),
            Mistake("the batch size N is missing", lambda s, N: forward_flops(s, 1),
                    "Every one of the N examples goes through every layer."),
            Mistake("only the first layer is counted", lambda s, N: 2 * N * s[0] * s[1],
                    "Sum over all consecutive pairs (D, M) = (sizes[k], sizes[k + 1])."),
            Mistake("the bias additions are missing: you count N M (2D - 1) per layer, the matrix product alone",
                    lambda s, N: sum(N * m * (2 * d - 1) for d, m in zip(s[:-1], s[1:])),
                    "Each of the N*M outputs of Z = XW + b also adds its bias: D - 1 additions for the sum, "
                    "1 for the bias, so 2D FLOPs per output."),
        ],
        hints=["Z = XW + b has N*M entries, each a sum of D products plus a bias.",
               "Count D multiplications and D additions per entry (D - 1 to sum the products, 1 for the bias): "
               "2*N*D*M FLOPs per layer.",
               "return sum(2 * N * d * m for d, m in zip(sizes[:-1], sizes[1:]))"])


# ----------------------------------------------------------------------------- 1.6 a boundary through a point

BOUNDARY_W = (1.0, 2.0)
BOUNDARY_POINT = (0.5, 0.25)


def check_bias_through_point(b, slider_step=0.05):
    """Exercise 1.6: the bias that puts the boundary of ``w = (1, 2)`` through (0.5, 0.25).

    ``b`` is a number or a function of no arguments returning it."""
    expected = -(BOUNDARY_W[0] * BOUNDARY_POINT[0] + BOUNDARY_W[1] * BOUNDARY_POINT[1])
    return check_value(b, expected, name="Exercise 1.6 (bias_through_point)", tol=slider_step / 2,
                       why=f"half the slider step of {slider_step:g}", points=POINTS["bias_through_point"],
                       hints=["On the boundary the pre-activation is zero: w1*x1 + w2*x2 + b = 0.",
                              "Put the point into that equation and solve for b.",
                              "b = -(1 * 0.5 + 2 * 0.25)"])


# ----------------------------------------------------------------------------- 1.7 XOR by hand

def xor_predictions(weights):
    """Outputs of the 2-2-1 sigmoid network for the XOR inputs 00, 01, 10, 11."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    h = ops.sigmoid(X @ np.asarray(weights["W1"], float) + np.asarray(weights["b1"], float))
    return ops.sigmoid(h @ np.asarray(weights["W2"], float) + np.asarray(weights["b2"], float)).ravel()


def check_xor_weights(weights, margin=0.2):
    """Exercise 1.7: weights of a 2-2-1 sigmoid network whose outputs solve XOR.

    ``weights`` is a dict with ``W1`` (2, 2), ``b1`` (2,), ``W2`` (2, 1), ``b2`` (1,), or a
    function of no arguments returning one (e.g. ``lambda: playground.weights``).

    Correct when the output is below ``0.5 - margin`` for 00 and 11 and above
    ``0.5 + margin`` for 01 and 10.
    """
    name = "Exercise 1.7 (xor_weights)"
    hints = ["Let one hidden unit compute OR (x1 + x2 - 0.5 > 0) and the other AND (x1 + x2 - 1.5 > 0).",
             "XOR = OR and not AND: the output unit adds the OR unit and subtracts the AND unit.",
             "Scale all weights up (e.g. by 10) so the sigmoids act like steps: W1 = [[10, 10], [10, 10]], "
             "b1 = [-5, -15], W2 = [[10], [-10]], b2 = [-5]."]
    weights = handed_in(weights, name, POINTS["xor_weights"], hints, "hand in your weights and run this cell again.")
    if isinstance(weights, CheckResult):
        return weights
    shapes = {"W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}
    try:
        for k, s in shapes.items():
            got = np.shape(weights[k])
            if got != s:
                return CheckResult(name, "incorrect", f"{k} must have shape {s}, got {got}.", hints,
                                   max_points=POINTS["xor_weights"])
        out = xor_predictions(weights)
    except (KeyError, TypeError, ValueError) as exc:
        return CheckResult(name, "error", f"weights must be a dict with keys W1, b1, W2, b2 ({exc}).", hints,
                           max_points=POINTS["xor_weights"])
    target = np.array([0, 1, 1, 0])
    ok = np.where(target == 1, out > 0.5 + margin, out < 0.5 - margin)
    shown = ", ".join(f"{x}->{o:.2f}" for x, o in zip(["00", "01", "10", "11"], out))
    details = [f"outputs {shown}", f"required: below {0.5 - margin:g} for 00 and 11, above {0.5 + margin:g} for 01, 10"]
    if ok.all():
        return CheckResult(name, "correct", f"your network computes XOR ({shown}).", hints, details,
                           points=POINTS["xor_weights"], max_points=POINTS["xor_weights"])
    wrong = [x for x, good in zip(["00", "01", "10", "11"], ok) if not good]
    return CheckResult(name, "incorrect", f"wrong or undecided on input(s) {', '.join(wrong)} ({shown}).", hints,
                       details, max_points=POINTS["xor_weights"])
