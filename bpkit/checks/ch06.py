"""Checks for Chapter 6, training in practice (the lab's checks live in :mod:`.ch06_lab`).

Each ``check_*`` takes the student's function or answer and returns a
:class:`bpkit.checks.CheckResult`. The references are bpkit's own functions (``ops``,
``train.EarlyStopping``, the regularisation lab) or the short functions below, which the
chapter checks against finite differences and against bpkit.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops, train
from ._context import case_rng, own_work
from ._engine import (CheckResult, Mistake, _StudentError, check_function, compare_arrays, describe_case,
                      run_student, with_fix)
from .ch06_lab import (ENOUGH_DATA_ACCURACY, LAB_FIXED, LAB_N_TRAIN, LAB_POINTS, REGULARIZE_TARGET,  # noqa: F401
                       check_enough_data, check_regularize)

__all__ = ["ENOUGH_DATA_ACCURACY", "POINTS", "REGULARIZE_TARGET", "batchnorm_backward", "check_batchnorm_backward",
           "check_dropout", "check_early_stopping", "check_enough_data", "check_initial_loss", "check_l2_penalty",
           "check_regularize", "check_standardize", "dropout", "early_stopping", "initial_loss", "l2_penalty",
           "standardize"]

#: Points per exercise, read by the course tools.
POINTS = {"standardize": 2, "l2_penalty": 2, "dropout": 2, "batchnorm_backward": 3, "early_stopping": 2,
          "initial_loss": 1, **LAB_POINTS}

def _rng():
    """Test cases: a fixed seed for feedback, mixed with the grader\'s secret when graded."""
    return case_rng(2026)


# ----------------------------------------------------------------------------- 6.1 standardise

def standardize(X_train, X_val):
    r"""Reference: both sets standardised with the training mean and std per feature (std 0 -> 1)."""
    mu = X_train.mean(axis=0)
    sd = X_train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (X_train - mu) / sd, (X_val - mu) / sd


def _safe(sd):
    return np.where(sd > 0, sd, 1.0)


def check_standardize(student):
    """Exercise 6.1: ``standardize(X_train, X_val) -> (Z_train, Z_val)`` with the training statistics."""
    name, pts = "Exercise 6.1 (standardize)", POINTS["standardize"]
    rng = _rng()
    small_train = np.array([[1.0, 0.0, 10.0], [3.0, 0.0, 20.0], [2.0, 0.0, 60.0], [6.0, 0.0, 30.0]])
    small_val = np.array([[2.0, 1.0, 25.0], [8.0, 0.0, 40.0]])
    cases = [(small_train, small_val)]
    for n, nv, d in ((20, 7, 5), (12, 30, 4)):
        X = rng.normal(loc=rng.uniform(-3, 3, d), scale=rng.uniform(0.5, 4, d), size=(n, d))
        X[:, 1] = 2.0                                             # a feature constant in the training set
        Xv = rng.normal(loc=rng.uniform(-3, 3, d), scale=rng.uniform(0.5, 4, d), size=(nv, d))
        cases.append((X, Xv))
    hints = ["Compute one mean and one standard deviation per feature (column), from X_train only, and use "
             "them for both sets.",
             "mu = X_train.mean(axis=0); sd = X_train.std(axis=0) (np.std's default ddof=0); where sd is 0, use 1.",
             "sd = np.where(sd > 0, sd, 1.0); return (X_train - mu) / sd, (X_val - mu) / sd"]
    # division by zero for the constant feature: a diagnosis of its own, before the comparison
    try:
        got = run_student(student, cases[0], name, pts, list(hints))
    except _StudentError as err:
        return err.result
    if isinstance(got, (tuple, list)) and len(got) == 2:
        try:
            finite = all(np.all(np.isfinite(np.asarray(g, dtype=np.float64))) for g in got)
        except (TypeError, ValueError):
            finite = True
        if not finite:
            details = [f"test case 1 of {len(cases)} ({describe_case(cases[0], ('X_train', 'X_val'))})"]
            for label, g in zip(("Z_train", "Z_val"), got):
                details += compare_arrays(g, np.zeros(np.shape(g)), label=label)[1][1:2]
            return CheckResult(name, "incorrect", "your result contains nan or inf: the second feature is constant "
                               "in the training set, so its std is 0 and dividing by it fails; divide by 1 where "
                               "the std is 0.", with_fix(hints, "Replace a zero std by 1: sd = np.where(sd > 0, sd, "
                                                                "1.0)."), details,
                               max_points=pts, mistake="division by a zero std")

    def both(stats):
        def f(X, Xv):
            mu, sd = stats(X, Xv)
            return (X - mu) / sd, (Xv - mu) / sd
        return f

    def own(X, Xv):
        return standardize(X, X)[0], standardize(Xv, Xv)[0]

    def var_instead(X, Xv):
        mu, var = X.mean(axis=0), X.var(axis=0)
        var = _safe(var)
        return (X - mu) / var, (Xv - mu) / var

    return check_function(
        student, standardize, cases, name=name, points=pts, output_names=("Z_train", "Z_val"),
        mistakes=[
            Mistake("the statistics are computed on the training and validation data together: the validation "
                    "set leaks into the preprocessing. Use the mean and std of X_train only",
                    both(lambda X, Xv: (np.vstack([X, Xv]).mean(axis=0), _safe(np.vstack([X, Xv]).std(axis=0)))),
                    "mu and sd come from X_train alone; X_val is only transformed with them."),
            Mistake("each set is standardised with its own mean and std; the validation set must use the "
                    "training statistics (a single new example has no statistics of its own)", own,
                    "Compute mu and sd once, from X_train, and apply them to X_val too."),
            Mistake("the validation set is returned unchanged: it must be standardised with the same training "
                    "statistics", lambda X, Xv: (standardize(X, Xv)[0], Xv),
                    "Return (X_val - mu) / sd as the second result."),
            Mistake("one mean and one std are computed for the whole array; standardise each feature (column) "
                    "separately, with axis=0",
                    both(lambda X, Xv: (X.mean(), X.std())), "X_train.mean(axis=0) has one entry per feature."),
            Mistake("the statistics are computed per example (axis=1); features are the columns, so use axis=0",
                    lambda X, Xv: (standardize(X.T, X.T)[0].T, standardize(Xv.T, Xv.T)[0].T),
                    "Rows are examples, columns are features: X_train.mean(axis=0)."),
            Mistake("you divided by the variance, not the standard deviation", var_instead,
                    "Divide by X_train.std(axis=0), the square root of the variance."),
            Mistake("this is the sample standard deviation (ddof=1); the exercise, like the chapter, uses np.std's "
                    "default ddof=0",
                    both(lambda X, Xv: (X.mean(axis=0), _safe(X.std(axis=0, ddof=1)))),
                    "Use X_train.std(axis=0) without ddof."),
        ],
        hints=hints)


# ----------------------------------------------------------------------------- 6.2 L2 penalty

def l2_penalty(params, lam):
    r"""Reference: $\tfrac{\lambda}{2}\sum \lVert W\rVert^2$ on the weights (names ending in ``W``) and its gradient."""
    penalty = 0.5 * lam * sum(float(np.sum(v * v)) for k, v in params.items() if k.endswith("W"))
    grads = {k: (lam * v if k.endswith("W") else np.zeros_like(v)) for k, v in params.items()}
    return penalty, grads


def _l2_params(rng, sizes, bn):
    params = {}
    for i, (d, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"{3 * i}.W"] = rng.normal(size=(d, m))
        params[f"{3 * i}.b"] = rng.normal(size=m)
        if bn and i < len(sizes) - 2:
            params[f"{3 * i + 1}.gamma"] = 1 + 0.1 * rng.normal(size=m)
            params[f"{3 * i + 1}.beta"] = rng.normal(size=m)
    return params


def check_l2_penalty(student):
    """Exercise 6.2: ``l2_penalty(params, lam) -> (penalty, grads)``: weights only, grads for every key."""
    name, pts = "Exercise 6.2 (l2_penalty)", POINTS["l2_penalty"]
    rng = _rng()
    cases = [({"0.W": np.array([[1.0, -2.0], [0.5, 0.0]]), "0.b": np.array([3.0, -1.0]),
               "1.gamma": np.array([1.5, 0.5]), "1.beta": np.array([0.2, -0.3]),
               "3.W": np.array([[2.0], [-1.0]]), "3.b": np.array([0.5])}, 0.1)]
    cases += [(_l2_params(rng, sizes, True), lam) for sizes, lam in (((4, 3, 2), 0.01), ((3, 5, 4), 0.5))]
    hints = ["Only the weights are penalised: the entries whose name ends in 'W'. Every other parameter (biases, "
             "batch-norm gamma and beta) gets a zero gradient.",
             "penalty = lam / 2 * (sum of W**2 over all weights); the gradient of lam / 2 * W**2 is lam * W.",
             "penalty = 0.5 * lam * sum(np.sum(v**2) for k, v in params.items() if k.endswith('W')); grads = "
             "{k: lam * v if k.endswith('W') else np.zeros_like(v) for k, v in params.items()}"]
    try:
        got = run_student(student, cases[0], name, pts, list(hints))
    except _StudentError as err:
        return err.result
    keys = sorted(cases[0][0])
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[1], dict)):
        return CheckResult(name, "incorrect", "return a pair (penalty, grads): a number and a dict with one gradient "
                           f"per parameter name; got {type(got).__name__}.", hints, max_points=pts)
    if sorted(got[1]) != keys:
        return CheckResult(name, "incorrect", f"grads must have exactly the keys of params {keys}, got "
                           f"{sorted(got[1])}: give every parameter a gradient, zeros for those not penalised.",
                           hints, max_points=pts, mistake="grads keys")

    def flat(fn):
        def f(params, lam):
            pen, grads = fn(params, lam)
            return (pen, *[grads[k] for k in sorted(params)])
        return f

    def student_flat(params, lam):
        out = student(params, lam)
        if isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[1], dict) and \
                sorted(out[1]) == sorted(params):
            return (out[0], *[out[1][k] for k in sorted(params)])
        return out

    def variant(pen_fn, grad_fn, which=lambda k: k.endswith("W")):
        def f(params, lam):
            pen = pen_fn(lam, [v for k, v in params.items() if which(k)])
            return pen, {k: (grad_fn(lam, v) if which(k) else np.zeros_like(v)) for k, v in params.items()}
        return flat(f)
    def half(lam, vs):
        return 0.5 * lam * sum(np.sum(v * v) for v in vs)

    def full(lam, vs):
        return lam * sum(np.sum(v * v) for v in vs)

    def g1(lam, v):
        return lam * v
    return check_function(
        student_flat, flat(l2_penalty), cases, name=name, points=pts,
        output_names=("penalty", *[f"grads[{k!r}]" for k in keys]),
        mistakes=[
            Mistake("the biases (and batch-norm parameters) are decayed too: only the weights, the names ending "
                    "in 'W', are penalised", variant(half, g1, lambda k: True),
                    "Keep the bias, gamma and beta out of the penalty; their gradient is zeros."),
            Mistake("the penalty lacks the factor 1/2: it is lam / 2 * sum of W**2, whose gradient is lam * W",
                    variant(full, g1), "penalty = 0.5 * lam * sum(...)."),
            Mistake("penalty and gradient use lam * sum of W**2 and 2 * lam * W: the exercise's penalty is "
                    "lam / 2 * sum of W**2 (the 1/2 makes the gradient lam * W)",
                    variant(full, lambda lam, v: 2 * lam * v), "Put the 1/2 in: penalty = 0.5 * lam * sum(W**2)."),
            Mistake("the gradient lacks the factor lam: d/dW (lam / 2 * W**2) = lam * W",
                    variant(half, lambda lam, v: v), "grads = lam * W."),
            Mistake("the norms are not squared: the L2 penalty uses the squared norm sum(W**2)",
                    variant(lambda lam, vs: 0.5 * lam * sum(np.linalg.norm(v) for v in vs), g1),
                    "Square the entries: np.sum(W**2), not np.linalg.norm(W)."),
            Mistake("the penalty averages the squares (np.mean); it is a sum over all entries of every W",
                    variant(lambda lam, vs: 0.5 * lam * sum(np.mean(v * v) for v in vs), g1),
                    "np.sum(W**2), not np.mean(W**2)."),
        ],
        hints=hints)


# ----------------------------------------------------------------------------- 6.3 dropout

def dropout(x, dout, p, u, training):
    r"""Reference: inverted dropout with the uniform draws ``u``: keep where $u \ge p$, scale by $1/(1-p)$."""
    if not training:
        return x.copy(), dout.copy()
    mask = (u >= p) / (1 - p)
    return x * mask, dout * mask


def _own_mask(got, x, dout, p, u, training):
    """Whether ``(out, dx)`` is inverted dropout with a 0/1 mask of its own, not ``u >= p`` (``None``: evaluation)."""
    if not training:
        return None
    out, dx = (np.asarray(g, dtype=np.float64) for g in got)
    if out.shape != x.shape or dx.shape != x.shape or np.any(x == 0) or np.any(dout == 0):
        return False
    m_out, m_dx = out / x * (1 - p), dx / dout * (1 - p)
    binary = np.all(np.isclose(m_out, 0, atol=1e-9) | np.isclose(m_out, 1)) and np.allclose(m_dx, m_out, atol=1e-9)
    return bool(binary and np.any(np.round(m_out) != (u >= p)))


@own_work("bpkit.ops.dropout_forward", "bpkit.ops.dropout_backward")
def check_dropout(student):
    """Exercise 6.3: ``dropout(x, dout, p, u, training) -> (out, dx)``."""
    name, pts = "Exercise 6.3 (dropout)", POINTS["dropout"]
    rng = _rng()
    cases = [(np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([[0.5, -1.0, 2.0, 1.0]]), 0.5,
              np.array([[0.9, 0.1, 0.6, 0.3]]), True)]
    for shape, p in (((3, 5), 0.2), ((4, 6), 0.7)):
        cases.append((rng.normal(size=shape), rng.normal(size=shape), p, rng.random(shape), True))
    # draws exactly equal to p: such a unit is kept (u >= p), so u > p cannot pass
    cases.append((rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), 0.25, np.array([[0.25, 0.1, 0.75],
                                                                                    [0.3, 0.25, 0.25]]), True))
    shape = (3, 4)
    cases.append((rng.normal(size=shape), rng.normal(size=shape), 0.3, rng.random(shape), False))

    def train_only(fn):
        def f(x, dout, p, u, training):
            return fn(x, dout, p, u) if training else (x, dout)
        return f
    return check_function(
        student, dropout, cases, name=name, points=pts, output_names=("out", "dx"),
        mistakes=[
            Mistake("the kept units are not scaled by 1 / (1 - p): without it the expected output is (1 - p) x, "
                    "not x", train_only(lambda x, d, p, u: (x * (u >= p), d * (u >= p))),
                    "mask = (u >= p) / (1 - p): inverted dropout scales during training."),
            Mistake("p is used as the probability of keeping a unit: p is the probability of dropping one, so "
                    "keep where u >= p and scale by 1 / (1 - p)",
                    train_only(lambda x, d, p, u: (x * (u < p) / p, d * (u < p) / p)),
                    "A unit survives with probability 1 - p."),
            Mistake("the kept units are scaled by 1 / p instead of 1 / (1 - p)",
                    train_only(lambda x, d, p, u: (x * (u >= p) / p, d * (u >= p) / p)),
                    "The keep probability is 1 - p, so the scale is 1 / (1 - p)."),
            Mistake("this keeps the units where u < 1 - p: the same probability, but the exercise (like bpkit) "
                    "keeps where u >= p, so the masks differ",
                    train_only(lambda x, d, p, u: (x * (u < 1 - p) / (1 - p), d * (u < 1 - p) / (1 - p))),
                    "mask = (u >= p) / (1 - p)."),
            Mistake("the mask is inverted: it keeps the units with u < p and drops those with u >= p; a unit is "
                    "dropped when its draw u is below p",
                    train_only(lambda x, d, p, u: (x * (u < p) / (1 - p), d * (u < p) / (1 - p))),
                    "Keep a unit where u >= p: mask = (u >= p) / (1 - p)."),
            Mistake("the backward pass ignores the mask: a dropped unit passes no gradient, and a kept one passes "
                    "it scaled by 1 / (1 - p), exactly as in the forward pass",
                    train_only(lambda x, d, p, u: (x * (u >= p) / (1 - p), d)), "dx = dout * mask, the same mask."),
            Mistake("dx uses the mask without the 1 / (1 - p) scale; the backward pass multiplies by the same "
                    "scaled mask as the forward pass",
                    train_only(lambda x, d, p, u: (x * (u >= p) / (1 - p), d * (u >= p))),
                    "Use one array mask = (u >= p) / (1 - p) for both."),
            Mistake("in evaluation mode the output is scaled by (1 - p): that is the original, non-inverted "
                    "dropout. With inverted dropout the scaling happens in training, and evaluation is the identity",
                    lambda x, d, p, u, t: dropout(x, d, p, u, True) if t else (x * (1 - p), d * (1 - p)),
                    "if not training: return x, dout"),
            Mistake("units are dropped in evaluation mode too: in evaluation dropout is the identity",
                    lambda x, d, p, u, t: dropout(x, d, p, u, True),
                    "if not training: return x, dout"),
            Mistake("the mask comes from random numbers of your own, not from u: each output is 0 or x / (1 - p), "
                    "but the units dropped are not those with u < p. The check (like a test of a layer) hands you "
                    "the uniform draws u so that the result is reproducible; use them",
                    None, "Build the mask from the u you are given: keep a unit where u >= p.", test=_own_mask),
        ],
        hints=["p is the probability of dropping a unit: a unit is kept when its uniform draw u is >= p, which "
               "happens with probability 1 - p. In evaluation mode dropout changes nothing.",
               "Inverted dropout scales the kept units by 1 / (1 - p) during training, so that the expected output "
               "stays x; the backward pass multiplies dout by the same mask as the forward pass.",
               "if not training: return x, dout\nmask = (u >= p) / (1 - p)\nreturn x * mask, dout * mask"])


# ----------------------------------------------------------------------------- 6.4 batch-norm backward

def batchnorm_backward(dout, xhat, gamma, inv_std):
    r"""Reference: ``(dx, dgamma, dbeta)`` of batch normalisation for (N, D) (:func:`bpkit.ops.batchnorm_backward`)."""
    D = xhat.shape[1]
    cache = ops.BatchNormCache(xhat, inv_std, gamma, np.zeros(D), np.zeros(D), True)
    return ops.batchnorm_backward(dout, cache)


def _bn_case(rng, N, D):
    x = rng.normal(size=(N, D)) * rng.uniform(0.5, 3, D) + rng.uniform(-2, 2, D)
    gamma, beta = rng.uniform(0.5, 2, D) * rng.choice([-1, 1], D), rng.normal(size=D)
    _, cache = ops.batchnorm_forward(x, gamma, beta)
    return rng.normal(size=(N, D)), cache.xhat, gamma, cache.inv_std


@own_work("bpkit.ops.batchnorm_backward")
def check_batchnorm_backward(student):
    """Exercise 6.4: ``batchnorm_backward(dout, xhat, gamma, inv_std) -> (dx, dgamma, dbeta)`` for (N, D) input."""
    name, pts = "Exercise 6.4 (batchnorm_backward)", POINTS["batchnorm_backward"]
    rng = _rng()
    cases = [_bn_case(rng, N, D) for N, D in ((4, 3), (8, 5), (16, 2))]

    def with_dx(dx_fn):
        def f(dout, xhat, gamma, inv_std):
            dbeta, dgamma = dout.sum(axis=0), (dout * xhat).sum(axis=0)
            return dx_fn(dout, xhat, gamma, inv_std, dgamma, dbeta), dgamma, dbeta
        return f

    def with_params(dgamma_fn, dbeta_fn):
        def f(dout, xhat, gamma, inv_std):
            dx = batchnorm_backward(dout, xhat, gamma, inv_std)[0]
            return dx, dgamma_fn(dout, xhat), dbeta_fn(dout, xhat)
        return f
    N = lambda dout: dout.shape[0]              # noqa: E731
    return check_function(
        student, batchnorm_backward, cases, name=name, points=pts, output_names=("dx", "dgamma", "dbeta"),
        batch_size_of=lambda dout, *rest: dout.shape[0],
        mistakes=[
            Mistake("dx has only the direct path, dout * gamma * inv_std: the batch mean and variance depend on "
                    "every x as well, and their two paths are missing",
                    with_dx(lambda d, xh, g, s, dg, db: d * g * s),
                    "dx = gamma * inv_std / N * (N * dout - dbeta - xhat * dgamma)."),
            Mistake("dx has the direct and the mean paths but not the variance path: subtract xhat * dgamma too",
                    with_dx(lambda d, xh, g, s, dg, db: g * s / N(d) * (N(d) * d - db)),
                    "The variance path contributes - xhat * dgamma inside the brackets."),
            Mistake("dx has the direct and the variance paths but not the mean path: subtract dbeta (the sum of "
                    "dout) too", with_dx(lambda d, xh, g, s, dg, db: g * s / N(d) * (N(d) * d - xh * dg)),
                    "The mean path contributes - dbeta inside the brackets."),
            Mistake("dx lacks the factor gamma: the gradient reaching xhat is gamma * dout",
                    with_dx(lambda d, xh, g, s, dg, db: s / N(d) * (N(d) * d - db - xh * dg)),
                    "Multiply by gamma (and inv_std)."),
            Mistake("dx lacks the factor inv_std = 1 / sqrt(var + eps)",
                    with_dx(lambda d, xh, g, s, dg, db: g / N(d) * (N(d) * d - db - xh * dg)),
                    "xhat = (x - mu) * inv_std, so every path carries inv_std."),
            Mistake("N is taken from the wrong axis: xhat.shape[1] is D, the number of features; the batch mean "
                    "and variance average over the N = xhat.shape[0] examples",
                    with_dx(lambda d, xh, g, s, dg, db: g * s / xh.shape[1] * (xh.shape[1] * d - db - xh * dg)),
                    "N = dout.shape[0], the batch axis."),
            Mistake("dgamma is not summed over the batch: gamma is shared by all N examples, so dgamma = "
                    "sum over axis 0 of dout * xhat, shape (D,)",
                    with_params(lambda d, xh: d * xh, lambda d, xh: d.sum(axis=0)), "(dout * xhat).sum(axis=0)"),
            Mistake("dgamma is the sum of dout, which is dbeta: y = gamma * xhat + beta, so dgamma = sum of "
                    "dout * xhat", with_params(lambda d, xh: d.sum(axis=0), lambda d, xh: d.sum(axis=0)),
                    "dgamma = (dout * xhat).sum(axis=0)"),
            Mistake("dbeta is not summed over the batch: beta is shared by all N examples, so dbeta = "
                    "dout.sum(axis=0), shape (D,)",
                    with_params(lambda d, xh: (d * xh).sum(axis=0), lambda d, xh: d), "dbeta = dout.sum(axis=0)"),
            Mistake("dgamma and dbeta are averaged over the batch; they are sums (every example adds its own "
                    "contribution)", with_params(lambda d, xh: (d * xh).mean(axis=0), lambda d, xh: d.mean(axis=0)),
                    "Use .sum(axis=0), not .mean(axis=0)."),
        ],
        hints=["Start with the parameters: y = gamma * xhat + beta, so dbeta = sum of dout and dgamma = sum of "
               "dout * xhat, over the batch (axis 0).",
               "x reaches the loss through three paths: directly through xhat, through the batch mean and through "
               "the batch variance. Adding them gives dx = gamma * inv_std / N * (N * dout - dbeta - xhat * "
               "dgamma).",
               "N = dout.shape[0]; dbeta = dout.sum(axis=0); dgamma = (dout * xhat).sum(axis=0); dx = gamma * "
               "inv_std / N * (N * dout - dbeta - xhat * dgamma); return dx, dgamma, dbeta"])


# ----------------------------------------------------------------------------- 6.5 early stopping

class _Model:
    """The least a model needs for EarlyStopping: a state_dict to save and load."""

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def early_stopping(val_losses, patience):
    r"""Reference: ``(best_epoch, stop_epoch)``, epochs from 1, as :class:`bpkit.train.EarlyStopping` decides."""
    cb, history, model = train.EarlyStopping(patience=patience), train.History(), _Model()
    cb.on_train_begin(model, history)
    stop = len(val_losses)
    for epoch, loss in enumerate(val_losses, start=1):
        if cb.on_epoch_end(epoch, {"val_loss": float(loss)}, model):
            stop = epoch
            break
    return cb.best_epoch, stop


def _early_variant(improved, stop_when, one_based=True, global_best=False):
    def f(val_losses, patience):
        best, best_epoch, wait, stop = None, None, 0, len(val_losses)
        for epoch, loss in enumerate(val_losses, start=1):
            if best is None or improved(loss, best):
                best, best_epoch, wait = loss, epoch, 0
                continue
            wait += 1
            if stop_when(wait, patience):
                stop = epoch
                break
        if global_best:
            best_epoch = int(np.argmin(val_losses)) + 1
        return (best_epoch, stop) if one_based else (best_epoch - 1, stop - 1)
    return f


def check_early_stopping(student):
    """Exercise 6.5: ``early_stopping(val_losses, patience) -> (best_epoch, stop_epoch)``."""
    name, pts = "Exercise 6.5 (early_stopping)", POINTS["early_stopping"]
    cases = [([1.0, 0.8, 0.9, 0.95, 0.97, 0.99, 0.7], 2),
             ([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.69, 0.7, 0.73, 0.74, 0.76], 3),
             ([0.5, 0.4, 0.4, 0.45, 0.4, 0.5], 2),
             ([3.0, 2.0, 1.0], 2),
             ([0.9, 0.6, 0.65, 0.5, 0.55, 0.52, 0.51, 0.58, 0.49, 0.6, 0.61, 0.62, 0.63], 4),
             ([1.0, 1.1, 1.2, 0.9, 1.3], 1)]
    lt, le = (lambda a, b: a < b), (lambda a, b: a <= b)
    ge, gt = (lambda w, p: w >= p), (lambda w, p: w > p)
    return check_function(
        student, early_stopping, cases, name=name, points=pts, output_names=("best_epoch", "stop_epoch"),
        mistakes=[
            Mistake("training stops one epoch late (off by one): with patience P it stops at the P-th epoch "
                    "without improvement, when the count of epochs without improvement reaches P",
                    _early_variant(lt, gt), "Stop when wait >= patience, right after incrementing wait."),
            Mistake("training stops one epoch early (off by one): it must wait for patience epochs without "
                    "improvement, and stop at the last of them",
                    _early_variant(lt, lambda w, p: w >= p - 1), "Stop when wait >= patience."),
            Mistake("the epochs are counted from 0; the exercise (like fit) counts them from 1",
                    _early_variant(lt, ge, one_based=False), "epoch = index + 1."),
            Mistake("a loss equal to the best counts as an improvement: an improvement must be strictly lower "
                    "(a tie does not reset the patience or move the best epoch)", _early_variant(le, ge),
                    "Use loss < best, not <=."),
            Mistake("the best epoch is the lowest loss of the whole list, including epochs after training "
                    "stopped: early stopping never sees those; the best epoch is among the epochs trained",
                    _early_variant(lt, ge, global_best=True), "Track the best while you scan, and stop scanning "
                    "at the stop epoch."),
            Mistake("training never stops: the stop epoch must be the epoch at which patience runs out",
                    _early_variant(lt, lambda w, p: False), "Count the epochs since the last improvement."),
        ],
        hints=["Scan the losses with a counter `wait` of epochs since the last improvement; a loss strictly below "
               "the best so far is an improvement and resets it.",
               "Epochs count from 1. When wait reaches patience, the current epoch is the stop epoch; if that "
               "never happens, training ran all len(val_losses) epochs.",
               "best, best_epoch, wait = inf, 0, 0; for epoch, loss in enumerate(val_losses, 1): if loss < best: "
               "best, best_epoch, wait = loss, epoch, 0; else: wait += 1; if wait >= patience: return best_epoch, "
               "epoch. After the loop: return best_epoch, len(val_losses)"])


# ----------------------------------------------------------------------------- 6.6 initial loss

def initial_loss(C):
    r"""Reference: the cross-entropy of a uniform prediction over ``C`` classes, $\ln C$."""
    return math.log(C)


def check_initial_loss(student):
    """Exercise 6.6: ``initial_loss(C) -> float``, the expected loss of a fresh classifier with small weights."""
    cases = [(10,), (3,), (2,), (100,), (1000,)]
    return check_function(
        student, initial_loss, cases, name="Exercise 6.6 (initial_loss)", points=POINTS["initial_loss"], rtol=1e-3,
        mistakes=[
            Mistake("this is log2(C): the cross-entropy uses the natural logarithm, ln C (np.log)",
                    lambda C: math.log2(C), "np.log is the natural logarithm; np.log2 is base 2."),
            Mistake("this is log10(C): the cross-entropy uses the natural logarithm, ln C (np.log)",
                    lambda C: math.log10(C), "np.log, not np.log10."),
            Mistake("this is the probability 1/C of each class, not the loss -ln(1/C)", lambda C: 1 / C,
                    "The loss of a probability q is -ln q."),
            Mistake("this is ln(1/C), a negative number: the loss is minus the log-probability, -ln(1/C) = ln C",
                    lambda C: -math.log(C), "Mind the sign: a loss is never negative here."),
            Mistake("this is the error rate of guessing, 1 - 1/C; the question asks for the cross-entropy",
                    lambda C: 1 - 1 / C, "Cross-entropy of a uniform prediction: -ln(1/C)."),
        ],
        hints=["With tiny weights the logits are all about 0, so the softmax gives every class the same "
               "probability.",
               "Each of the C classes then gets probability 1/C, and the cross-entropy of the correct class is "
               "-ln(1/C).",
               "return np.log(C)"])
