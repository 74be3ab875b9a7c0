"""Chapter 6 exercises: the reference solutions pass, and a planted mistake per exercise gets its diagnosis."""

import pytest

from _notebooks import (
    assert_every_exercise_planted, assert_not_attempted, assert_planted_feedback, assert_points_match,
    assert_reference_solutions_pass, assert_time_and_prerequisites, run_exercise)

NB = "06_training.ipynb"


def test_the_reference_solutions_pass_in_process():
    assert_reference_solutions_pass(NB, 8)


def test_points_in_the_notebook_match_the_checks():
    from bpkit.checks.ch06 import POINTS
    assert_points_match(NB, POINTS, 14)


def test_notebook_metadata_states_time_and_prerequisites():
    assert_time_and_prerequisites(NB, ["04_gradient_descent", "05_activations"])


STD = ("def standardize(X_train, X_val):\n    mu, sd = {STATS}\n    sd = np.where(sd > 0, sd, 1.0)\n"
       "    return (X_train - mu) / sd, {VAL}\n")
TRAIN_STATS = "X_train.mean(axis=0), X_train.std(axis=0)"
L2 = ("def l2_penalty(params, lam):\n    W = {{k: v for k, v in params.items() if {WHICH}}}\n"
      "    pen = {PEN}\n    return pen, {{k: ({GRAD} if k in W else np.zeros_like(v)) for k, v in params.items()}}\n")
DROP = ("def dropout(x, dout, p, u, training):\n    if not training:\n        return {EVAL}\n"
        "    mask = {MASK}\n    return x * mask, {DX}\n")
OK_MASK = "(u >= p) / (1 - p)"
BN = ("def batchnorm_backward(dout, xhat, gamma, inv_std):\n    N = dout.shape[0]\n"
      "    dbeta, dgamma = {DBETA}, {DGAMMA}\n    return {DX}, dgamma, dbeta\n")
OK_DX = "gamma * inv_std / N * (N * dout - dout.sum(axis=0) - xhat * (dout * xhat).sum(axis=0))"
EARLY = ("def early_stopping(val_losses, patience):\n    best, best_epoch, wait = np.inf, 0, 0\n"
         "    for epoch, loss in enumerate(val_losses, start={START}):\n        if loss {CMP} best:\n"
         "            best, best_epoch, wait = loss, epoch, 0\n        else:\n            wait += 1\n"
         "            if wait {STOP}:\n                return best_epoch, epoch\n"
         "    return best_epoch, len(val_losses){OFF}\n")
LAB = ("def regularize():\n    lab.set({SETTINGS})\n    return lab.values()\n")

PLANTED = [
    # (exercise, wrong answer, expected status, words the verdict or first hint must contain)
    ("ex6_1_standardize", STD.format(STATS="np.vstack([X_train, X_val]).mean(axis=0), "
                                           "np.vstack([X_train, X_val]).std(axis=0)", VAL="(X_val - mu) / sd"),
     "incorrect", "the validation set leaks into the preprocessing"),
    ("ex6_1_standardize", "def standardize(X_train, X_val):\n    f = lambda X: (X - X.mean(axis=0)) / "
     "np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)\n    return f(X_train), f(X_val)",
     "incorrect", "each set is standardised with its own mean and std"),
    ("ex6_1_standardize", STD.format(STATS=TRAIN_STATS, VAL="X_val"), "incorrect", "the validation set is returned "
     "unchanged"),
    ("ex6_1_standardize", STD.format(STATS="X_train.mean(), X_train.std()", VAL="(X_val - mu) / sd"),
     "incorrect", "one mean and one std are computed for the whole array"),
    ("ex6_1_standardize", "def standardize(X_train, X_val):\n    mu, var = X_train.mean(axis=0), X_train.var(axis=0)\n"
     "    var = np.where(var > 0, var, 1.0)\n    return (X_train - mu) / var, (X_val - mu) / var",
     "incorrect", "you divided by the variance"),
    ("ex6_1_standardize", STD.format(STATS="X_train.mean(axis=0), X_train.std(axis=0, ddof=1)", VAL="(X_val - mu) / sd"),
     "incorrect", "the sample standard deviation (ddof=1)"),
    ("ex6_1_standardize", "def standardize(X_train, X_val):\n    mu, sd = X_train.mean(axis=0), X_train.std(axis=0)\n"
     "    return (X_train - mu) / sd, (X_val - mu) / sd", "incorrect", "its std is 0"),
    ("ex6_2_l2_penalty", L2.format(WHICH="True", PEN="0.5 * lam * sum(np.sum(v ** 2) for v in W.values())",
                                   GRAD="lam * v"), "incorrect", "the biases (and batch-norm parameters) are decayed"),
    ("ex6_2_l2_penalty", L2.format(WHICH="k.endswith('W')", PEN="lam * sum(np.sum(v ** 2) for v in W.values())",
                                   GRAD="lam * v"), "incorrect", "the penalty lacks the factor 1/2"),
    ("ex6_2_l2_penalty", L2.format(WHICH="k.endswith('W')", PEN="lam * sum(np.sum(v ** 2) for v in W.values())",
                                   GRAD="2 * lam * v"), "incorrect", "2 * lam * W"),
    ("ex6_2_l2_penalty", L2.format(WHICH="k.endswith('W')", PEN="0.5 * lam * sum(np.sum(v ** 2) for v in W.values())",
                                   GRAD="v"), "incorrect", "the gradient lacks the factor lam"),
    ("ex6_2_l2_penalty", L2.format(WHICH="k.endswith('W')",
                                   PEN="0.5 * lam * sum(np.linalg.norm(v) for v in W.values())", GRAD="lam * v"),
     "incorrect", "the norms are not squared"),
    ("ex6_2_l2_penalty", "def l2_penalty(params, lam):\n    return 0.0, {k: lam * v for k, v in params.items() "
     "if k.endswith('W')}", "incorrect", "grads must have exactly the keys of params"),
    ("ex6_3_dropout", DROP.format(EVAL="x, dout", MASK="(u >= p)", DX="dout * mask"),
     "incorrect", "not scaled by 1 / (1 - p)"),
    ("ex6_3_dropout", DROP.format(EVAL="x, dout", MASK="(u < p) / p", DX="dout * mask"),
     "incorrect", "p is used as the probability of keeping a unit"),
    ("ex6_3_dropout", DROP.format(EVAL="x, dout", MASK="(u >= p) / p", DX="dout * mask"),
     "incorrect", "scaled by 1 / p instead of 1 / (1 - p)"),
    ("ex6_3_dropout", DROP.format(EVAL="x, dout", MASK=OK_MASK, DX="dout"), "incorrect",
     "the backward pass ignores the mask"),
    ("ex6_3_dropout", DROP.format(EVAL="x, dout", MASK=OK_MASK, DX="dout * (u >= p)"), "incorrect",
     "dx uses the mask without the 1 / (1 - p) scale"),
    ("ex6_3_dropout", "def dropout(x, dout, p, u, training):\n    if not training:\n"
     "        return x * (1 - p), dout * (1 - p)\n    mask = (u >= p) / (1 - p)\n    return x * mask, dout * mask\n",
     "incorrect", "the original, non-inverted dropout"),
    ("ex6_3_dropout", "def dropout(x, dout, p, u, training):\n    mask = (u >= p) / (1 - p)\n"
     "    return x * mask, dout * mask\n", "incorrect", "units are dropped in evaluation mode too"),
    ("ex6_4_batchnorm_backward", BN.format(DBETA="dout.sum(axis=0)", DGAMMA="(dout * xhat).sum(axis=0)",
                                           DX="dout * gamma * inv_std"), "incorrect", "dx has only the direct path"),
    ("ex6_4_batchnorm_backward", BN.format(DBETA="dout.sum(axis=0)", DGAMMA="(dout * xhat).sum(axis=0)",
                                           DX="gamma * inv_std / N * (N * dout - dbeta)"),
     "incorrect", "but not the variance path"),
    ("ex6_4_batchnorm_backward", BN.format(DBETA="dout.sum(axis=0)", DGAMMA="(dout * xhat).sum(axis=0)",
                                           DX="gamma * inv_std / N * (N * dout - xhat * dgamma)"),
     "incorrect", "but not the mean path"),
    ("ex6_4_batchnorm_backward", BN.format(DBETA="dout.sum(axis=0)", DGAMMA="dout * xhat", DX=OK_DX),
     "incorrect", "dgamma is not summed over the batch"),
    ("ex6_4_batchnorm_backward", BN.format(DBETA="dout.sum(axis=0)", DGAMMA="dout.sum(axis=0)", DX=OK_DX),
     "incorrect", "dgamma is the sum of dout, which is dbeta"),
    ("ex6_4_batchnorm_backward", BN.format(DBETA="dout", DGAMMA="(dout * xhat).sum(axis=0)", DX=OK_DX),
     "incorrect", "dbeta is not summed over the batch"),
    ("ex6_4_batchnorm_backward", BN.format(DBETA="dout.mean(axis=0)", DGAMMA="(dout * xhat).mean(axis=0)", DX=OK_DX),
     "incorrect", "dgamma and dbeta are averaged over the batch"),
    ("ex6_4_batchnorm_backward", BN.format(DBETA="dout.sum(axis=0)", DGAMMA="(dout * xhat).sum(axis=0)",
                                           DX="inv_std / N * (N * dout - dbeta - xhat * dgamma)"),
     "incorrect", "dx lacks the factor gamma"),
    ("ex6_5_early_stopping", EARLY.format(START=1, CMP="<", STOP="> patience", OFF=""),
     "incorrect", "training stops one epoch late (off by one)"),
    ("ex6_5_early_stopping", EARLY.format(START=1, CMP="<", STOP=">= patience - 1", OFF=""),
     "incorrect", "training stops one epoch early (off by one)"),
    ("ex6_5_early_stopping", EARLY.format(START=0, CMP="<", STOP=">= patience", OFF=" - 1"),
     "incorrect", "the epochs are counted from 0"),
    ("ex6_5_early_stopping", EARLY.format(START=1, CMP="<=", STOP=">= patience", OFF=""),
     "incorrect", "a loss equal to the best counts as an improvement"),
    ("ex6_5_early_stopping", EARLY.format(START=1, CMP="<", STOP=">= len(val_losses) + 1", OFF=""),
     "incorrect", "training never stops"),
    ("ex6_5_early_stopping", EARLY.replace("return best_epoch, epoch", "return int(np.argmin(val_losses)) + 1, epoch")
     .format(START=1, CMP="<", STOP=">= patience", OFF=""), "incorrect", "including epochs after training stopped"),
    ("ex6_6_initial_loss", "def initial_loss(C):\n    return np.log2(C)", "incorrect", "this is log2(C)"),
    ("ex6_6_initial_loss", "def initial_loss(C):\n    return np.log10(C)", "incorrect", "this is log10(C)"),
    ("ex6_6_initial_loss", "def initial_loss(C):\n    return 1 / C", "incorrect", "the probability 1/C of each class"),
    ("ex6_6_initial_loss", "def initial_loss(C):\n    return np.log(1 / C)", "incorrect", "a negative number"),
    ("ex6_6_initial_loss", "def initial_loss(C):\n    return 1 - 1 / C", "incorrect", "the error rate of guessing"),
    ("ex6_7_regularize", LAB.format(SETTINGS="l2=0.0, dropout=0.0"), "incorrect", "this is the unregularised network"),
    ("ex6_7_regularize", LAB.format(SETTINGS="l2=0.1"), "incorrect", "too much regularisation: the network underfits"),
    ("ex6_7_regularize", LAB.format(SETTINGS="l2=3e-4"), "incorrect", "the network still overfits"),
    ("ex6_7_regularize", LAB.format(SETTINGS="n_train=150"), "incorrect", "you changed n_train"),
    ("ex6_7_regularize", "def regularize():\n    return 0.003", "error", "expected the dict lab.values()"),
    ("ex6_8_enough_data", "def enough_data():\n    return 40", "incorrect", "the network needs more data"),
    ("ex6_8_enough_data", "def enough_data():\n    return 60", "incorrect",
     "a smaller slider value also reaches 90%: find the smallest number"),
    ("ex6_8_enough_data", "def enough_data():\n    return 55", "incorrect", "one of the slider's values"),
    ("ex6_8_enough_data", "def enough_data():\n    return 'fifty'", "error", "expected a number"),
    # issue 14: mistakes that had no name
    ("ex6_3_dropout", DROP.format(EVAL="x, dout", MASK="(np.random.default_rng(0).random(x.shape) >= p) / (1 - p)",
                                  DX="dout * mask"), "incorrect", "the mask comes from random numbers of your own"),
    ("ex6_4_batchnorm_backward", BN.format(DBETA="dout.sum(axis=0)", DGAMMA="(dout * xhat).sum(axis=0)",
                                           DX=OK_DX).replace("N = dout.shape[0]", "N = xhat.shape[1]"),
     "incorrect", "N is taken from the wrong axis"),
]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("grade_id, answer, status, words", PLANTED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_gets_the_intended_feedback(grade_id, answer, status, words):
    assert_planted_feedback(NB, grade_id, answer, status, words)


def test_every_exercise_has_a_planted_mistake():
    assert_every_exercise_planted(NB, PLANTED)


@pytest.mark.parametrize("grade_id, stub", [
    ("ex6_1_standardize", "def standardize(X_train, X_val):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex6_2_l2_penalty", "def l2_penalty(params, lam):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex6_4_batchnorm_backward", "def batchnorm_backward(dout, xhat, gamma, inv_std):\n    # YOUR CODE HERE\n"
     "    raise NotImplementedError()"),
    ("ex6_7_regularize", "def regularize():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex6_8_enough_data", "def enough_data():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
])
def test_unsolved_stub_is_not_attempted(grade_id, stub):
    assert_not_attempted(NB, grade_id, stub)


def test_a_student_exception_is_reported_with_their_line():
    result = run_exercise(NB, "ex6_4_batchnorm_backward",
                          "def batchnorm_backward(dout, xhat, gamma, inv_std):\n    return dout @ xhat, 0, 0")
    assert result.status == "error" and "your code raised ValueError" in result.message, result.summary()
    assert "bpkit/" not in result.summary()


def test_hints_are_progressive():
    result = run_exercise(NB, "ex6_3_dropout", DROP.format(EVAL="x, dout", MASK="(u >= p)", DX="dout * mask"))
    assert "the kept units are not scaled by 1 / (1 - p)" in result.message
    first = result.next_hint()
    assert " = " not in first and "return" not in first               # a nudge in words, not the answer
    while result.next_hint() is not None:
        pass
    assert len(set(result.hints)) == len(result.hints)                # no hint twice
    assert "inverted dropout scales during training" in result.hints[-2]    # the mistake's fix, a line of code
    assert "mask = (u >= p) / (1 - p)" in result.hints[-1]   # the last hint gives the answer


def test_the_lab_answers_are_the_lab_numbers():
    """The widget exercises check against train_lab: the handed-in settings really reach the targets."""
    from bpkit.checks.ch06 import ENOUGH_DATA_ACCURACY, REGULARIZE_TARGET
    from bpkit.widgets.regularization import train_lab
    assert train_lab("spirals", 40).val_loss[-1] > REGULARIZE_TARGET + 0.2          # unregularised: overfits
    assert train_lab("spirals", 40, l2=3e-3).val_loss[-1] < REGULARIZE_TARGET - 0.05
    accs = [train_lab("spirals", n).val_acc for n in (10, 20, 30, 40, 50)]
    assert max(accs[:4]) < ENOUGH_DATA_ACCURACY <= accs[4]
