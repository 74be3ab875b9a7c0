"""Chapter 2 exercises: the reference solutions pass; a planted mistake gets its diagnosis.

Each planted answer is a mistake people really make with losses. The test replaces the
solution with it and asserts that the check fails and names the mistake: a check that
cannot fail, or fails without saying why, is a defect.
"""

import pytest

from _notebooks import (ROOT, _cells, _gid, _src, assert_every_exercise_planted, assert_not_attempted,
                        assert_planted_feedback, run_exercise)

NB = "02_losses.ipynb"


def test_the_reference_solutions_pass_in_process():
    cells = _cells(ROOT / "solutions" / NB)
    solved = [c for c in cells if c["metadata"].get("nbgrader", {}).get("solution")]
    assert len(solved) >= 6
    for c in solved:
        result = run_exercise(NB, _gid(c), _src(c))
        assert result.status == "correct", result.summary()
        assert result.points == result.max_points > 0


def test_points_in_the_notebook_match_the_checks():
    from bpkit.checks.ch02 import POINTS
    cells = _cells(ROOT / "solutions" / NB)
    pts = {_gid(c)[len("ex2_x_"):-len("_check")]: c["metadata"]["nbgrader"]["points"]
           for c in cells if _gid(c).endswith("_check")}
    assert pts == POINTS


MSE = "def mse_loss(pred, target):\n    d = pred - target\n    return {}"
BCE = "def bce_with_logits(s, y):\n    {}"
SM = "def softmax(S):\n    {}"
CE = ("def softmax_cross_entropy(S, y):\n    N = len(S)\n    P = ops.softmax(S)\n    Y = np.eye(S.shape[1])[y]\n"
      "    loss = float(-np.mean(np.log(P[np.arange(N), y])))\n    {}")
CE_STABLE = ("def softmax_cross_entropy(S, y):\n    N = len(S)\n    P = ops.softmax(S)\n    Y = np.eye(S.shape[1])[y]\n"
             "    loss = float(np.mean(ops.logsumexp(S, axis=1) - S[np.arange(N), y]))\n    {}")
WMSE = "def weighted_mse(pred, target, w):\n    d = pred - target\n    {}"

PLANTED = [
    # (exercise, wrong answer, expected status, words the verdict or first hint must contain)
    ("ex2_1_mse_loss", MSE.format("float(np.sum(d ** 2)), 2 * d"), "incorrect", "a sum where the mean is needed"),
    ("ex2_1_mse_loss", MSE.format("float(np.mean(d ** 2)), 2 * d"), "incorrect", "gradient is not divided by n"),
    ("ex2_1_mse_loss", MSE.format("float(np.mean(d ** 2)), 2 * (target - pred) / d.size"),
     "incorrect", "sign error: the gradient uses y - p instead of p - y"),
    ("ex2_1_mse_loss", MSE.format("float(np.mean(d ** 2)), d / d.size"), "incorrect", "factor 2 is missing"),
    ("ex2_1_mse_loss", MSE.format("float(0.5 * np.mean(d ** 2)), d / d.size"), "incorrect", "an extra 1/2"),
    ("ex2_1_mse_loss", MSE.format("float(np.sum(d ** 2) / len(d)), 2 * d / len(d)"),
     "incorrect", "division by N (the rows) instead of n = N * M"),
    ("ex2_2_bce_with_logits",
     BCE.format("p = 1 / (1 + np.exp(-s))\n    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))), "
                "(p - y) / s.size"), "incorrect", "np.exp overflowed"),
    ("ex2_2_bce_with_logits",
     BCE.format("p = ops.sigmoid(s)\n    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))), "
                "(p - y) / s.size"), "incorrect", "log of 0"),
    ("ex2_2_bce_with_logits",
     BCE.format("p = np.clip(ops.sigmoid(s), 1e-7, 1 - 1e-7)\n"
                "    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))), (p - y) / s.size"),
     "incorrect", "clipped"),
    ("ex2_2_bce_with_logits",
     BCE.format("l = np.maximum(s, 0) - s * y + np.log1p(np.exp(-np.abs(s)))\n"
                "    return float(np.mean(l)), (y - ops.sigmoid(s)) / s.size"), "incorrect", "sign error"),
    ("ex2_2_bce_with_logits",
     BCE.format("l = np.maximum(s, 0) - s * y + np.log1p(np.exp(-np.abs(s)))\n"
                "    return float(np.mean(l)), ops.sigmoid(s) - y"), "incorrect", "gradient is not divided by n"),
    ("ex2_3_softmax", SM.format("e = np.exp(S)\n    return e / e.sum(axis=1, keepdims=True)"),
     "incorrect", "np.exp overflowed at a logit of 1000"),
    ("ex2_3_softmax", SM.format("e = np.exp(S - S.max())\n    return e / e.sum(axis=1, keepdims=True)"),
     "incorrect", "subtract each row's own maximum"),
    ("ex2_3_softmax", SM.format("e = np.exp(S - S.max(axis=0, keepdims=True))\n    return e / e.sum(axis=0, keepdims=True)"),
     "incorrect", "normalised over the batch axis"),
    ("ex2_4_softmax_cross_entropy", CE_STABLE.format("return loss, P - Y"),
     "incorrect", "not divided by N"),
    ("ex2_4_softmax_cross_entropy", CE_STABLE.format("return loss, (Y - P) / N"),
     "incorrect", "sign error"),
    ("ex2_4_softmax_cross_entropy", CE_STABLE.format("return loss, P / N"),
     "incorrect", "one-hot label is not subtracted"),
    ("ex2_4_softmax_cross_entropy", CE.format("return loss, (P - Y) / N"),
     "incorrect", "log of 0"),
    ("ex2_4_softmax_cross_entropy",
     "def softmax_cross_entropy(S, y):\n    N = len(S)\n    logp = S - ops.logsumexp(S, axis=1, keepdims=True)\n"
     "    return float(-np.sum(y * logp) / N), (ops.softmax(S) - y) / N",
     "incorrect", "labels are used as one-hot rows"),
    ("ex2_4_softmax_cross_entropy",
     "def softmax_cross_entropy(S, y):\n    labels = y.argmax(axis=1)\n    return 0.0, S",
     "incorrect", "treat the labels as one-hot rows"),
    ("ex2_5_weighted_mse", WMSE.format("return float(np.mean(w * d ** 2)), 2 * w * d / d.size"),
     "incorrect", "(N, 1) * (N,) broadcasting trap"),
    ("ex2_5_weighted_mse",
     WMSE.format("return float(np.mean(w * d ** 2)), 2 * w.reshape(-1, 1) * d / d.size"),
     "incorrect", "(N, 1) * (N,) broadcasting trap"),
    ("ex2_5_weighted_mse",
     WMSE.format("w = w.reshape(-1, 1)\n    return float(np.sum(w * d ** 2) / w.sum()), 2 * w * d / w.sum()"),
     "incorrect", "sum of the weights"),
    ("ex2_5_weighted_mse", WMSE.format("w = w.reshape(-1, 1)\n    return float(np.mean(w * d ** 2)), 2 * d / d.size"),
     "incorrect", "weights are missing from the gradient"),
    ("ex2_6_huber_kink", "def huber_kink():\n    explorer.set(loss='huber', prediction=1.5)\n    return explorer.delta",
     "incorrect", "that is delta itself"),
    ("ex2_6_huber_kink", "def huber_kink():\n    explorer.set(loss='huber', prediction=-1.0)\n"
                         "    return explorer.prediction", "incorrect", "other side, below the target"),
    ("ex2_6_huber_kink", "def huber_kink():\n    return explorer.prediction",        # the slider never moved
     "incorrect", "at the target the gradient is 0"),
    ("ex2_6_huber_kink", "def huber_kink():\n    explorer.prediction = 3.0\n    return explorer.prediction",
     "incorrect", "too large"),
    ("ex2_7_outlier_pull", "def outlier_pull():\n    f = outliers.fits()\n    return (f['mse'] - 1) / (f['huber'] - 1)",
     "incorrect", "starting place"),                                                 # the outlier never moved
    ("ex2_7_outlier_pull", "def outlier_pull():\n    outliers.outlier = 10.0\n    f = outliers.fits()\n"
                           "    return (f['huber'] - 1) / (f['mse'] - 1)", "incorrect", "upside down"),
    ("ex2_7_outlier_pull", "def outlier_pull():\n    outliers.outlier = 10.0\n    f = outliers.fits()\n"
                           "    return (f['mse'] - 1) / (f['mae'] - 1)", "incorrect", "MAE (median)"),
    ("ex2_7_outlier_pull", "def outlier_pull():\n    outliers.outlier = 10.0\n    f = outliers.fits()\n"
                           "    return f['mse'] / f['huber']", "incorrect", "divides the fitted constants"),
    ("ex2_7_outlier_pull", "def outlier_pull():\n    return 'seven'", "error", "expected a number"),
    # issue 14: a gradient that divides by the rows
    ("ex2_1_mse_loss", MSE.format("float(np.mean(d ** 2)), 2 * d / len(pred)"), "incorrect",
     "its gradient divides by N = len(pred), the rows"),
]


@pytest.mark.parametrize("grade_id, answer, status, words", PLANTED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_gets_the_intended_feedback(grade_id, answer, status, words):
    assert_planted_feedback(NB, grade_id, answer, status, words)


def test_every_exercise_has_a_planted_mistake():
    assert_every_exercise_planted(NB, PLANTED)


@pytest.mark.parametrize("grade_id, stub", [
    ("ex2_1_mse_loss", "def mse_loss(pred, target):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex2_7_outlier_pull", "def outlier_pull():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
])
def test_unsolved_stub_is_not_attempted(grade_id, stub):
    assert_not_attempted(NB, grade_id, stub)


def test_floating_point_errors_are_feedback_not_tracebacks():
    """A naive softmax overflows under the check's np.errstate; nothing leaks out as a warning."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = run_exercise(NB, "ex2_3_softmax", SM.format("e = np.exp(S)\n    return e / e.sum(axis=1, keepdims=True)"))
    assert result.mistake == "overflow" and "line 2 of" in result.message
    clipped = BCE.format("p = np.clip(ops.sigmoid(s), 1e-7, 1 - 1e-7)\n"
                         "    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))), (p - y) / s.size")
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # the check's own wrong variants must not warn either
        result = run_exercise(NB, "ex2_2_bce_with_logits", clipped)
    assert result.mistake == "clipped probabilities" and "instead of 510" in result.message
