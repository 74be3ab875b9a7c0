"""Checks for Chapter 2, loss functions.

Each ``check_*`` takes the student's function or answer and returns a
:class:`bpkit.checks.CheckResult`. The references are :mod:`bpkit.losses` and
:mod:`bpkit.ops`, so the exercises and the library cannot disagree. The wrong variants
(:class:`~bpkit.checks.Mistake`) are the mistakes people really make with losses: a sum
where a mean is meant, a missing or extra 1/2, ``y - p`` instead of ``p - y``, a gradient
not divided by N, the (N, 1) * (N,) broadcasting trap, exponentials that overflow and
logarithms of 0.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import losses, ops
from ..widgets.losses import fit_constant
from ._context import case_rng, in_kernel, own_work
from ._engine import Mistake, _StudentError, check_function, check_value, resolve_answer

__all__ = ["HUBER_DELTA", "HUBER_TARGET", "INLIERS", "POINTS", "check_bce_with_logits", "check_huber_kink",
           "check_mse_loss", "check_outlier_pull", "check_softmax", "check_softmax_cross_entropy",
           "check_weighted_mse", "outlier_pull_ratio"]

#: Points per exercise, read by the course tools.
POINTS = {"mse_loss": 2, "bce_with_logits": 2, "softmax": 2, "softmax_cross_entropy": 2, "weighted_mse": 2,
          "huber_kink": 1, "outlier_pull": 1}


def _rng():
    """Test cases: a fixed seed for feedback, mixed with the grader\'s secret when graded."""
    return case_rng(2025)


def _guarded(fn):
    """``fn`` run with floating-point overflow, 0/0 and log(0) turned into errors, as in check_sigmoid."""
    def guarded(*args):
        with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
            warnings.simplefilter("error", RuntimeWarning)
            return fn(*args)
    return guarded


def _floating_point_diagnosis(result, overflow, log0, invalid):
    """Turn a FloatingPointError reported as an "error" into an "incorrect" verdict that names it."""
    if result.status != "error" or "FloatingPointError" not in result.message:
        return result
    where = f" ({result.details[1]})" if len(result.details) > 1 else ""
    if "overflow" in result.message:
        result.mistake, text = "overflow", overflow
    elif "divide by zero" in result.message:
        result.mistake, text = "log of 0", log0
    else:
        result.mistake, text = "invalid value", invalid
    result.status = "incorrect"
    result.message = text + where + "."
    return result


# ----------------------------------------------------------------------------- 2.1 MSE

@own_work("bpkit.losses.mse_loss")
def check_mse_loss(mse_loss):
    """Exercise 2.1: ``mse_loss(pred, target) -> (loss, dpred)``, the mean over all n elements."""
    rng = _rng()
    cases = [(np.array([[1.0], [2.0], [4.0]]), np.array([[0.0], [2.0], [1.0]])),
             (rng.standard_normal((4, 3)), rng.standard_normal((4, 3))),
             (rng.standard_normal((6, 1)), rng.standard_normal((6, 1)))]

    def mean(p, t):
        return float(np.mean((p - t) ** 2))

    return check_function(
        mse_loss, losses.mse_loss, cases, name="Exercise 2.1 (mse_loss)", points=POINTS["mse_loss"],
        output_names=("loss", "dpred"),
        mistakes=[
            Mistake("a sum where the mean is needed: both the loss and the gradient are n times too large",
                    lambda p, t: (float(np.sum((p - t) ** 2)), 2 * (p - t)),
                    "Divide by n = pred.size, the number of elements: np.mean((pred - target) ** 2)."),
            Mistake("the gradient is not divided by n: the loss is a mean, so every element's share is 1/n",
                    lambda p, t: (mean(p, t), 2 * (p - t)),
                    "d/dpred of (1/n) sum (pred - target)^2 is 2 (pred - target) / n."),
            Mistake("a sign error: the gradient uses y - p instead of p - y",
                    lambda p, t: (mean(p, t), 2 * (t - p) / p.size),
                    "Differentiate (p - y)^2 with respect to p: 2 (p - y), positive when the prediction is too "
                    "large. The classic 'error = y - output' is minus this gradient."),
            Mistake("the 1/2 convention in the gradient only: the factor 2 is missing from dpred",
                    lambda p, t: (mean(p, t), (p - t) / p.size),
                    "Without the 1/2 in front of the loss, the derivative of the square keeps its factor 2."),
            Mistake("an extra 1/2: you computed the 1/2-convention loss (1/2n) sum (p - y)^2 and its gradient",
                    lambda p, t: (0.5 * mean(p, t), (p - t) / p.size),
                    "This exercise uses the PyTorch convention, L = (1/n) sum (p - y)^2 with no 1/2, so dpred = "
                    "2 (p - y) / n."),
            Mistake("an extra 1/2 in the loss (the gradient is right)",
                    lambda p, t: (0.5 * mean(p, t), 2 * (p - t) / p.size),
                    "Drop the 0.5 in front of the mean: L = (1/n) sum (p - y)^2."),
            Mistake("a division by N (the rows) instead of n = N * M (all elements)",
                    lambda p, t: (float(np.sum((p - t) ** 2)) / len(p), 2 * (p - t) / len(p)),
                    "Average over every element: n = pred.size, not len(pred)."),
            Mistake("the loss is right, but its gradient divides by N = len(pred), the rows, instead of "
                    "n = pred.size, every element that the mean averages over",
                    lambda p, t: (mean(p, t), 2 * (p - t) / len(p)),
                    "The mean runs over all n = pred.size elements, so each one's share of the gradient is "
                    "2 (p - y) / n."),
        ],
        hints=["The loss is L = (1/n) sum_i (p_i - y_i)^2 over all n = pred.size elements; the gradient has the "
               "shape of pred.",
               "Each element appears in one term of the sum: dL/dp_i = 2 (p_i - y_i) / n.",
               "diff = pred - target; return float(np.mean(diff ** 2)), 2 * diff / diff.size"])


# ----------------------------------------------------------------------------- 2.2 BCE from logits

def _bce_mistakes():
    def loss(s, y):
        return losses.bce_with_logits_loss(s, y)[0]

    sig = ops.sigmoid

    def wrt_p(s, y):
        with np.errstate(divide="ignore", invalid="ignore"):       # p (1 - p) is 0 at logits of +-1000
            return loss(s, y), (sig(s) - y) / (sig(s) * (1 - sig(s))) / s.size

    return [
        Mistake("a sign error in the gradient: y - sigmoid(s) instead of sigmoid(s) - y",
                lambda s, y: (loss(s, y), (y - sig(s)) / s.size),
                "The loss grows when the prediction is too high, so the gradient at y = 0 must be positive: "
                "sigmoid(s) - y."),
        Mistake("the gradient is not divided by n", lambda s, y: (loss(s, y), sig(s) - y),
                "The loss is a mean over the n = logits.size elements; divide the gradient by n too."),
        Mistake("a sum where the mean is needed", lambda s, y: (loss(s, y) * s.size, sig(s) - y),
                "Use np.mean for the loss and divide the gradient by n = logits.size."),
        Mistake("the mean divides by the rows, len(logits), instead of every element, logits.size",
                lambda s, y: (float(loss(s, y) * s.size / len(s)),
                              (sig(s) - y) / len(s)),
                "The loss is a mean over all n = logits.size entries (N rows times C columns); divide the loss "
                "and the gradient by that n."),
        Mistake("the loss is right, but its gradient divides by the rows, len(logits), instead of every element, "
                "logits.size", lambda s, y: (loss(s, y), (sig(s) - y) / len(s)),
                "The loss averages over all n = logits.size entries, so each one's gradient is "
                "(sigmoid(s) - y) / n."),
        Mistake("the gradient is taken with respect to the probability p, not the logit s", wrt_p,
                "Chain through the sigmoid: dL/ds = dL/dp * p (1 - p), and the factor p (1 - p) cancels."),
    ]


@own_work("bpkit.losses.bce_with_logits_loss")
def check_bce_with_logits(bce_with_logits):
    """Exercise 2.2: ``bce_with_logits(logits, target) -> (loss, dlogits)``, stable for logits of +-1000."""
    rng = _rng()
    cases = [(np.array([[0.0], [2.0], [-1.0]]), np.array([[1.0], [1.0], [0.0]])),
             (rng.standard_normal((5, 2)) * 3, rng.integers(0, 2, (5, 2)).astype(float)),
             (np.array([[1000.0], [-1000.0], [40.0], [-40.0]]), np.array([[0.0], [1.0], [1.0], [1.0]])),
             (np.array([[-1000.0, 1000.0], [30.0, -800.0]]), np.array([[0.0, 1.0], [0.25, 0.5]])),
             (rng.standard_normal((3, 4)) * 2, rng.uniform(0, 1, (3, 4)))]
    student = _guarded(bce_with_logits)
    result = check_function(
        student, losses.bce_with_logits_loss, cases, name="Exercise 2.2 (bce_with_logits)",
        points=POINTS["bce_with_logits"], output_names=("loss", "dlogits"), rtol=1e-7, atol=1e-12,
        mistakes=_bce_mistakes(),
        hints=["Write the loss with the logit s directly: -[y log sigmoid(s) + (1 - y) log(1 - sigmoid(s))] "
               "simplifies to log(1 + exp(s)) - s*y.",
               "log(1 + exp(s)) overflows for large s; it equals max(s, 0) + log(1 + exp(-|s|)), whose exp never "
               "sees a positive number (use np.log1p).",
               "loss = np.mean(np.maximum(s, 0) - s * y + np.log1p(np.exp(-np.abs(s)))); "
               "grad = (sigmoid(s) - y) / s.size with a stable sigmoid such as ops.sigmoid"])
    if result.status == "incorrect" and result.details and result.details[0].startswith("test case 3"):
        try:            # finite, but too small at a confident wrong logit: the probabilities were clipped
            got = float(student(*cases[2])[0])
        except Exception:
            got = None
        want = losses.bce_with_logits_loss(*cases[2])[0]
        if got is not None and np.isfinite(got) and got < 0.5 * want:
            result.mistake = "clipped probabilities"
            result.message = (f"the loss at logits of +-1000 is {got:.4g} instead of {want:.4g}: the probabilities "
                              "look clipped to [eps, 1 - eps] before the log, so a confident wrong prediction "
                              "costs only -log(eps).")
            result.hints = ["Do not clip: rewrite the loss in terms of the logit, max(s, 0) - s*y + "
                            "log(1 + exp(-|s|)); it is exact for every s."] + result.hints
    return _floating_point_diagnosis(
        result,
        overflow="np.exp overflowed at a logit of +-1000 (NumPy would print a RuntimeWarning): the naive "
                 "sigmoid or log(1 + exp(s)) is not stable",
        log0="log of 0: at a logit of +-1000 the sigmoid rounds to exactly 0 or 1, so log(p) or log(1 - p) is "
             "-inf; compute the loss from the logit, never take the log of a probability",
        invalid="a value became nan (0 * inf or inf - inf) at a logit of +-1000: the log of 0 or an overflow "
                "reached the loss; compute it from the logit")


# ----------------------------------------------------------------------------- 2.3 stable softmax

@own_work("bpkit.ops.softmax", "bpkit.ops.softmax_forward", "bpkit.ops.log_softmax")
def check_softmax(softmax):
    """Exercise 2.3: row-wise ``softmax(S)`` for logits of shape (N, C), without overflow."""
    rng = _rng()
    cases = [(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),),
             (rng.standard_normal((4, 5)) * 3,),
             (np.array([[1000.0, 0.0, -1000.0], [999.0, 1000.0, 998.0]]),),
             (np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]]),)]

    result = check_function(
        _guarded(softmax), ops.softmax, cases, name="Exercise 2.3 (softmax)", points=POINTS["softmax"],
        arg_names=("S",),
        rtol=1e-9, atol=1e-300,
        mistakes=[
            Mistake("the exponentials are normalised over the batch axis (columns) instead of over the classes "
                    "(each row)", lambda S: ops.softmax(S, axis=0),
                    "Each example's probabilities must sum to 1: take the maximum and the sum over axis=1 (each row), "
                    "with keepdims=True."),
            Mistake("the whole array is normalised: its entries sum to 1 instead of each row",
                    lambda S: np.exp(S - S.max()) / np.exp(S - S.max()).sum(),
                    "Sum over the classes only, and subtract each row's own maximum: "
                    "e = np.exp(S - S.max(axis=1, keepdims=True)), then e / e.sum(axis=1, keepdims=True)."),
        ],
        hints=["softmax(s)_c = exp(s_c) / sum_k exp(s_k) along each row; exp(1000) overflows to inf.",
               "Subtracting a constant from every logit of a row does not change its softmax (it cancels in the "
               "ratio). Subtract the row's maximum, so every exponent is <= 0.",
               "e = np.exp(S - S.max(axis=1, keepdims=True)); return e / e.sum(axis=1, keepdims=True)"])
    return _floating_point_diagnosis(
        result,
        overflow="np.exp overflowed at a logit of 1000 (NumPy would print a RuntimeWarning): the naive "
                 "softmax exp(S) / sum(exp(S)) is not stable",
        log0="a division by zero: every exponential of a row underflowed to 0",
        invalid="0/0 or inf/inf gave nan: every exponential of a row underflowed to 0 (or overflowed to inf); "
                "subtract each row's own maximum, with keepdims=True")


# ----------------------------------------------------------------------------- 2.4 softmax cross-entropy

@own_work("bpkit.losses.softmax_cross_entropy_loss")
def check_softmax_cross_entropy(softmax_cross_entropy):
    """Exercise 2.4: ``softmax_cross_entropy(S, y) -> (loss, dS)``, S (N, C), integer labels y (N,)."""
    rng = _rng()
    cases = [(np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, -1.0, 0.5]]), np.array([0, 2, 1])),
             (rng.standard_normal((5, 4)) * 2, rng.integers(0, 4, 5)),
             (rng.standard_normal((8, 3)), rng.integers(0, 3, 8)),
             (np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]]), np.array([0, 2]))]

    def onehot(S, y):
        return np.eye(S.shape[1])[y]

    def loss(S, y):
        return losses.softmax_cross_entropy_loss(S, y)[0]

    def as_onehot(S, y):           # the labels used as if they were one-hot rows: y (N,) broadcasts along rows
        return float(-np.sum(y * ops.log_softmax(S)) / len(S)), (ops.softmax(S) - y) / len(S)

    P = ops.softmax
    result = check_function(
        _guarded(softmax_cross_entropy), losses.softmax_cross_entropy_loss, cases,
        name="Exercise 2.4 (softmax_cross_entropy)", points=POINTS["softmax_cross_entropy"],
        arg_names=("S", "y"),
        output_names=("loss", "dS"), rtol=1e-7, atol=1e-12,
        mistakes=[
            Mistake("the gradient of the softmax cross-entropy is not divided by N",
                    lambda S, y: (loss(S, y), P(S) - onehot(S, y)),
                    "The loss is a mean over the N examples, so dS = (softmax(S) - onehot(y)) / N."),
            Mistake("a sum over the batch where the mean is needed",
                    lambda S, y: (loss(S, y) * len(S), P(S) - onehot(S, y)),
                    "Divide the loss and the gradient by N = S.shape[0]."),
            Mistake("a sign error: onehot - softmax instead of softmax - onehot",
                    lambda S, y: (loss(S, y), (onehot(S, y) - P(S)) / len(S)),
                    "Raising the correct class's logit lowers the loss, so its gradient entry is p_y - 1 < 0."),
            Mistake("the one-hot label is not subtracted: the gradient is softmax / N",
                    lambda S, y: (loss(S, y), P(S) / len(S)),
                    "The correct class gets -1: dS = softmax(S), then dS[np.arange(N), y] -= 1, then / N."),
            Mistake("a mean over all N * C entries of onehot * log p: divide by N only",
                    lambda S, y: (loss(S, y) / S.shape[1], (P(S) - onehot(S, y)) / S.size),
                    "Only the correct class contributes to each example's loss; average over the N examples."),
            Mistake("the labels are used as one-hot rows, but they are integer class indices of shape (N,)",
                    as_onehot, "Pick each example's correct-class log-probability with logp[np.arange(N), y], or "
                               "build the one-hot matrix with np.eye(C)[y]."),
        ],
        hints=["L = (1/N) sum_n [logsumexp(S_n) - S_{n, y_n}]; compute it from log_softmax, not log(softmax).",
               "The gradient is (softmax(S) - onehot(y)) / N: the probabilities, minus 1 at each correct class, "
               "averaged over the batch.",
               "N = len(S); logp = S - logsumexp(S, axis=1, keepdims=True); loss = -logp[np.arange(N), y].mean(); "
               "dS = np.exp(logp); dS[np.arange(N), y] -= 1; return loss, dS / N"])
    one_hot_symptoms = ("could not be broadcast", "AxisError", "too many indices")
    if result.status == "error" and any(sym in result.message for sym in one_hot_symptoms):
        result.status, result.mistake = "incorrect", "labels as one-hot"
        result.message = ("your code seems to treat the labels as one-hot rows of shape (N, C), but they are "
                          "integer class indices of shape (N,) (" + result.message + ").")
        result.hints = ["Use the integer labels as indices, logp[np.arange(N), y], or turn them into one-hot rows "
                        "with np.eye(C)[y]."] + result.hints
    return _floating_point_diagnosis(
        result,
        overflow="np.exp overflowed at a logit of 1000: compute the softmax and log-softmax with the row maximum "
                 "subtracted (log-sum-exp)",
        log0="log of 0: at logits of +-1000 the softmax of a wrong class rounds to 0, and log(0) = -inf; use "
             "log_softmax = S - logsumexp(S), not np.log(softmax(S))",
        invalid="a value became nan (inf/inf or 0 * inf) at logits of +-1000: use log-sum-exp")


# ----------------------------------------------------------------------------- 2.5 weighted MSE

@own_work("bpkit.losses.weighted_mse_loss")
def check_weighted_mse(weighted_mse):
    """Exercise 2.5: ``weighted_mse(pred, target, w) -> (loss, dpred)``: pred, target (N, 1), w (N,)."""
    rng = _rng()
    cases = [(np.array([[1.0], [2.0], [3.0], [4.0]]), np.array([[1.5], [2.0], [2.0], [5.0]]),
              np.array([1.0, 1.0, 5.0, 0.5])),
             (rng.standard_normal((6, 1)), rng.standard_normal((6, 1)), rng.uniform(0.1, 3.0, 6)),
             (rng.standard_normal((3, 1)), rng.standard_normal((3, 1)), np.array([0.0, 2.0, 1.0]))]

    def ok_loss(p, t, w):
        return losses.weighted_mse_loss(p, t, w)[0]

    def trap(p, t, w):            # the widely copied snippet: (N, 1) * (N,) -> (N, N)
        sq = (p - t) ** 2
        return float(np.mean(w * sq)), 2 * w * (p - t) / p.size

    trap_label = ("the (N, 1) * (N,) broadcasting trap: the weights times the squared errors became an (N, N) "
                  "array, so the mean is mean(w) * MSE and the weights are only a constant factor")
    trap_hint = "Make the weights a column first: w.reshape(-1, 1) (shape (N, 1)), or flatten the errors."
    return check_function(
        weighted_mse, losses.weighted_mse_loss, cases, name="Exercise 2.5 (weighted_mse)",
        arg_names=("pred", "target", "w"),
        points=POINTS["weighted_mse"], output_names=("loss", "dpred"),
        mistakes=[
            Mistake(trap_label, trap, trap_hint),
            Mistake(trap_label, lambda p, t, w: (trap(p, t, w)[0], losses.weighted_mse_loss(p, t, w)[1]), trap_hint),
            Mistake("the loss is normalised by the sum of the weights (a weighted average); this exercise divides "
                    "by N, so weights of 1 give the plain MSE",
                    lambda p, t, w: (float(np.sum(w[:, None] * (p - t) ** 2) / np.sum(w)),
                                     2 * w[:, None] * (p - t) / np.sum(w)),
                    "Use np.mean(w.reshape(-1, 1) * (pred - target) ** 2), as bpkit.losses.weighted_mse_loss does."),
            Mistake("the weights are missing from the gradient",
                    lambda p, t, w: (ok_loss(p, t, w), 2 * (p - t) / p.size),
                    "Each example's term is w_i (p_i - y_i)^2, whose derivative is 2 w_i (p_i - y_i) / N."),
            Mistake("a sign error: the gradient uses y - p instead of p - y",
                    lambda p, t, w: (ok_loss(p, t, w), 2 * w[:, None] * (t - p) / p.size),
                    "d/dp of w (p - y)^2 is 2 w (p - y)."),
            Mistake("a sum where the mean is needed",
                    lambda p, t, w: (ok_loss(p, t, w) * p.size, 2 * w[:, None] * (p - t)),
                    "Divide the loss and the gradient by N."),
            Mistake("the gradient is not divided by N",
                    lambda p, t, w: (ok_loss(p, t, w), 2 * w[:, None] * (p - t)),
                    "The loss is a mean over N examples, so the gradient carries the factor 1/N."),
        ],
        hints=["The loss is L = (1/N) sum_i w_i (p_i - y_i)^2, with pred and target of shape (N, 1) and w of shape "
               "(N,). Print the shape of w * (pred - target) ** 2.",
               "An (N, 1) array times an (N,) array broadcasts to (N, N). Reshape w to (N, 1) before multiplying.",
               "w = w.reshape(-1, 1); diff = pred - target; return float(np.mean(w * diff ** 2)), "
               "2 * w * diff / diff.size"])


# ----------------------------------------------------------------------------- 2.6 the Huber kink (widget)

HUBER_TARGET, HUBER_DELTA = 0.5, 1.5


def check_huber_kink(answer, slider_step=0.05):
    """Exercise 2.6: the smallest prediction above the target where the Huber gradient stops growing.

    With target 0.5 and delta 1.5 the gradient clip(p - y, -delta, delta) grows until
    p = y + delta = 2.0. ``answer`` is a number or a function of no arguments returning it.
    """
    name = "Exercise 2.6 (huber_kink)"
    expected = HUBER_TARGET + HUBER_DELTA
    hints = ["Set the explorer's loss to 'huber' and move the prediction to the right of the target: watch the "
             "gradient panel.",
             "The Huber gradient is the residual p - y, clipped to [-delta, delta]: it stops growing when the "
             "residual reaches delta.",
             f"p = y + delta = {HUBER_TARGET:g} + {HUBER_DELTA:g}"]
    known = [(HUBER_DELTA, "that is delta itself (and also the largest gradient); the kink sits at the target "
                           "plus delta, on the prediction axis"),
             (HUBER_TARGET - HUBER_DELTA, "that is the kink on the other side, below the target, where the gradient "
                                          "stops falling; the question asks for the one above the target"),
             (HUBER_TARGET, "at the target the gradient is 0: move the prediction further right")]
    try:
        answer = resolve_answer(answer, name, POINTS["huber_kink"], hints)     # call the student's function once
    except _StudentError as err:
        return err.result
    result = check_value(answer, expected, name=name, tol=slider_step / 2, why=f"half the slider step of "
                         f"{slider_step:g}", points=POINTS["huber_kink"], hints=hints)
    return _name_value_mistake(result, answer, known, slider_step / 2)


def _name_value_mistake(result, answer, known, tol):
    """Name the mistake behind a wrong number when it is one of the ``known`` (value, label) pairs."""
    if result.status != "incorrect":
        return result
    a = float(answer)                       # check_value has already turned non-numbers into an "error"
    for value, label in known:
        if abs(a - value) <= tol:
            result.message = f"{a:g} is not it: {label}."
            result.mistake = label
            break
    return result


# ----------------------------------------------------------------------------- 2.7 outliers (widget)

INLIERS = (0.7, 0.9, 1.1, 1.3)


def outlier_pull_ratio(outlier, delta=1.0, inliers=INLIERS):
    """How many times further the outlier moves the MSE fit than the Huber fit, from the fit without it."""
    base = fit_constant(inliers, "mse")
    y = np.append(np.asarray(inliers, dtype=float), outlier)
    return (fit_constant(y, "mse") - base) / (fit_constant(y, "huber", delta) - base)


def check_outlier_pull(answer, outlier=10.0, delta=1.0):
    """Exercise 2.7: with the outlier at 10, (MSE fit - 1) / (Huber fit - 1).

    ``answer`` is a number or a function of no arguments returning it.
    """
    name = "Exercise 2.7 (outlier_pull)"
    expected = outlier_pull_ratio(outlier, delta)
    base = fit_constant(INLIERS, "mse")
    y = np.append(INLIERS, outlier)
    fits = {k: fit_constant(y, k, delta) for k in ("mse", "mae", "huber")}
    hints = ["Set outliers.outlier = 10 and read the three fitted constants in the summary; without the outlier all "
             "three fits are 1.",
             "The shift of a fit is its value minus 1. Divide the MSE shift by the Huber shift.",
             "fits = outliers.fits(); (fits['mse'] - 1) / (fits['huber'] - 1)"]
    known = [(1.0 / expected, "that is the Huber shift divided by the MSE shift: the ratio is upside down"),
             (outlier_pull_ratio(4.0, delta), "that is the ratio for the outlier at its starting place, 4: move it "
                                              "to 10"),
             ((fits["mse"] - base) / (fits["mae"] - base), "that is the MSE shift divided by the MAE (median) shift; "
                                                           "the question asks for Huber"),
             (fits["mse"] / fits["huber"], "that divides the fitted constants themselves; divide their shifts from "
                                           "the fit without the outlier, 1")]
    try:
        answer = resolve_answer(answer, name, POINTS["outlier_pull"], hints)
    except _StudentError as err:
        return err.result
    result = check_value(answer, expected, name=name, tol=0.05, why="the summary shows the fits to 3 decimals",
                         points=POINTS["outlier_pull"], hints=hints)
    return _name_value_mistake(result, answer, known, 0.05)
