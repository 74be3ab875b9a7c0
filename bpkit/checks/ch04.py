"""Checks for Chapter 4, gradient descent and its optimizers.

Each ``check_*`` takes the student's function or answer and returns a
:class:`bpkit.checks.CheckResult`. The references are bpkit's own optimizers
(:mod:`bpkit.optim`), schedules (:mod:`bpkit.schedules`) and the race widget's test
functions, started from the state the exercise hands in, so what the exercises ask is what
the library does (and what ``torch.optim`` does).
"""

from __future__ import annotations

import functools

import numpy as np

from .. import optim, schedules
from ..widgets.optimizers import make_optimizer, run_optimizer, surface
from ._context import case_rng, in_kernel, own_work
from ._engine import CheckResult, Mistake, _StudentError, check_function, check_value, resolve_answer

__all__ = ["ADAM_STEPS", "POINTS", "RACE_KAPPA", "adam_step", "adamw_step", "check_adam_rosenbrock",
           "check_adam_step", "check_adamw_step", "check_clip_grads", "check_gradient_descent",
           "check_largest_lr_widget", "check_momentum_step", "check_stable_lr", "check_warmup_cosine",
           "clip_grads", "gradient_descent", "momentum_step", "stable_lr"]

#: Functions the checks hand to the student's code (gradients to descend) or run next to it: not references.
SCAFFOLD = ("_quad_apply", "_cubic_grad", "_schedule_values")

#: Points per exercise, read by the course tools.
POINTS = {"gradient_descent": 1, "stable_lr": 1, "momentum_step": 2, "adam_step": 2, "adamw_step": 1,
          "clip_grads": 2, "warmup_cosine": 2, "largest_lr_widget": 1, "adam_rosenbrock": 1}

#: The condition number of the quadratic in Exercise 4.8.
RACE_KAPPA = 25.0
#: The step budget of Exercise 4.9.
ADAM_STEPS = 1000


def _rng():
    """Test cases: a fixed seed for feedback, mixed with the grader\'s secret when graded."""
    return case_rng(404)


# ----------------------------------------------------------------------------- 4.1 gradient descent

def gradient_descent(grad, x0, lr, steps):
    r"""Reference: the iterates $x_0, x_1, \dots$ of $x_{k+1} = x_k - \eta \nabla f(x_k)$, shape (steps + 1, D)."""
    opt, x = optim.SGD(lr=lr), np.array(x0, dtype=np.float64)
    path = [x.copy()]
    for _ in range(steps):
        opt.step({"x": x}, {"x": grad(x)})
        path.append(x.copy())
    return np.array(path)


def _quad_apply(A, x):
    return A @ x


def _quad_grad(A):
    """The gradient ``x -> A x`` of ``x^T A x / 2``, as data-only ``partial`` (the grader sends it by name)."""
    return functools.partial(_quad_apply, A)


def _cubic_grad(x):
    return np.array([x[0], x[1] ** 3 - x[1]])


def _gd_variant(kind):
    def f(grad, x0, lr, steps):
        x, path = np.array(x0, dtype=np.float64), []
        path.append(x.copy())
        for _ in range(steps):
            x = x + lr * grad(x) if kind == "sign" else x - grad(x)
            path.append(x.copy())
        return np.array(path[1:] if kind == "no_start" else path)
    if kind == "no_start":
        return lambda grad, x0, lr, steps: gradient_descent(grad, x0, lr, steps)[1:]
    if kind == "extra":
        return lambda grad, x0, lr, steps: gradient_descent(grad, x0, lr, steps + 1)
    return f


@own_work("bpkit.optim.SGD.step")
def check_gradient_descent(student):
    """Exercise 4.1: ``gradient_descent(grad, x0, lr, steps) -> path`` of shape (steps + 1, D)."""
    rng = _rng()
    A = np.diag([1.0, 10.0])
    B = rng.standard_normal((3, 3))
    cases = [(_quad_grad(A), np.array([-4.0, 1.5]), 0.1, 5), (_quad_grad(B @ B.T + np.eye(3)),
                                                             rng.standard_normal(3), 0.05, 8),
             (_cubic_grad, np.array([-2.0, 0.1]), 0.2, 6)]
    return check_function(
        student, gradient_descent, cases, name="Exercise 4.1 (gradient_descent)", points=POINTS["gradient_descent"],
        output_names=("path",),
        mistakes=[
            Mistake("the step goes uphill: x + lr * grad(x) climbs; descent subtracts the gradient",
                    _gd_variant("sign"), "x_new = x - lr * grad(x)."),
            Mistake("the learning rate is missing: x - grad(x) takes a full gradient step",
                    _gd_variant("no_lr"), "Multiply the gradient by lr before subtracting it."),
            Mistake("the starting point x0 is missing from the path: it must have steps + 1 rows, x0 first",
                    _gd_variant("no_start"), "Append x0 before the loop, then one point per step."),
            Mistake("the loop runs one step too many", _gd_variant("extra"),
                    "for _ in range(steps): one update per step, steps updates in all."),
        ],
        hints=["Start from a float copy of x0, keep a list of points, and repeat steps times: compute the "
               "gradient at the current point, step against it, append the new point.",
               "x = np.array(x0, dtype=float); path = [x.copy()]; then x = x - lr * grad(x) in the loop.",
               "x = np.array(x0, dtype=float); path = [x.copy()]\nfor _ in range(steps): x = x - lr * grad(x); "
               "path.append(x.copy())\nreturn np.array(path)"])


# ----------------------------------------------------------------------------- 4.2 the 2/L bound

def stable_lr(A):
    r"""Reference: the bound $2 / L$ with $L = \lambda_{\max}(A)$ for $f(x) = \tfrac12 x^\top A x$, $A$ symmetric positive definite."""
    return 2.0 / float(np.linalg.eigvalsh(A).max())


def check_stable_lr(student):
    """Exercise 4.2: ``stable_lr(A) -> float``, the largest learning rate below which GD converges."""
    rng = _rng()
    B = rng.standard_normal((4, 4))
    C = rng.standard_normal((3, 3))
    cases = [(np.diag([1.0, 10.0]),), (np.array([[3.0, 1.0], [1.0, 3.0]]),), (B @ B.T + 0.5 * np.eye(4),),
             (C @ C.T + np.eye(3),)]
    ev = lambda A: np.linalg.eigvalsh(A)  # noqa: E731
    return check_function(
        student, stable_lr, cases, name="Exercise 4.2 (stable_lr)", points=POINTS["stable_lr"],
        output_names=("lr",),
        mistakes=[
            Mistake("this is 1/L, the rate that solves the stiffest direction in one step; rates up to 2/L still "
                    "converge, with the iterates jumping from side to side", lambda A: 1.0 / ev(A).max(),
                    "|1 - lr * L| < 1 allows lr up to 2 / L."),
            Mistake("this uses the smallest eigenvalue: 2/lambda_min is the bound of the flattest direction, but "
                    "the steepest one diverges first", lambda A: 2.0 / ev(A).min(),
                    "Every direction must shrink: the largest eigenvalue decides."),
            Mistake("this uses the largest diagonal entry of A instead of its largest eigenvalue; they agree "
                    "only when A is diagonal", lambda A: 2.0 / float(np.max(np.diag(A))),
                    "np.linalg.eigvalsh(A).max() gives L for a symmetric A."),
            Mistake("this uses the largest entry of A instead of its largest eigenvalue",
                    lambda A: 2.0 / float(np.max(A)), "np.linalg.eigvalsh(A).max() gives L."),
        ],
        hints=["Along the eigenvector with eigenvalue lambda, one GD step multiplies the coordinate by "
               "(1 - lr * lambda).",
               "All factors must have absolute value below 1: |1 - lr * lambda| < 1 for every lambda, i.e. "
               "lr < 2 / lambda_max.",
               "return 2 / np.linalg.eigvalsh(A).max()"])


# ----------------------------------------------------------------------------- 4.3 momentum

def momentum_step(p, g, v, lr, mu):
    r"""Reference: PyTorch's heavy ball, $v \leftarrow \mu v + g$, $p \leftarrow p - \eta v$, via :class:`bpkit.optim.SGD`."""
    p, v = np.array(p, dtype=np.float64), np.array(v, dtype=np.float64)
    opt = optim.SGD(lr=lr, momentum=mu)
    opt.state["p"] = {"t": 1, "v": v}            # a buffer exists: the next step is v = mu v + g
    opt.step({"p": p}, {"p": g})
    return p, opt.state["p"]["v"]


@own_work("bpkit.optim.SGD.step")
def check_momentum_step(student):
    """Exercise 4.3: ``momentum_step(p, g, v, lr, mu) -> (p_new, v_new)`` in PyTorch's convention."""
    rng = _rng()
    cases = [(np.array([1.0, -2.0]), np.array([0.5, 1.0]), np.zeros(2), 0.1, 0.9),
             (np.array([1.0, -2.0]), np.array([0.5, 1.0]), np.array([0.2, -0.4]), 0.1, 0.9)]
    cases += [(rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), 0.05, 0.8)]
    return check_function(
        student, momentum_step, cases, name="Exercise 4.3 (momentum_step)", points=POINTS["momentum_step"],
        output_names=("p_new", "v_new"),
        mistakes=[
            Mistake("this is the other momentum convention, v = mu v - lr g and p = p + v (Sutskever et al.); "
                    "PyTorch and bpkit keep lr out of the velocity: v = mu v + g, p = p - lr v",
                    lambda p, g, v, lr, mu: (p + (mu * v - lr * g), mu * v - lr * g),
                    "Here v accumulates raw gradients: v = mu * v + g, then p = p - lr * v."),
            Mistake("the velocity is an average, v = mu v + (1 - mu) g (a 'dampened' momentum); PyTorch's "
                    "default adds the whole gradient, v = mu v + g",
                    lambda p, g, v, lr, mu: (p - lr * (mu * v + (1 - mu) * g), mu * v + (1 - mu) * g),
                    "No (1 - mu) factor: v = mu * v + g."),
            Mistake("the parameter moves with the old velocity: update v first, then step with the new v",
                    lambda p, g, v, lr, mu: (p - lr * v, mu * v + g), "v = mu * v + g; p = p - lr * v (new v)."),
            Mistake("the parameter is updated with the gradient, not the velocity: that is plain SGD",
                    lambda p, g, v, lr, mu: (p - lr * g, mu * v + g), "Step with v: p - lr * v."),
            Mistake("the step goes uphill: p + lr * v; descent subtracts",
                    lambda p, g, v, lr, mu: (p + lr * (mu * v + g), mu * v + g), "p = p - lr * v."),
        ],
        hints=["Two lines: first the velocity, then the parameter.",
               "PyTorch's convention: v_new = mu * v + g, p_new = p - lr * v_new. (Do not modify p or v in place.)",
               "v_new = mu * v + g; return p - lr * v_new, v_new"])


# ----------------------------------------------------------------------------- 4.4 Adam

def adam_step(p, g, m, v, t, lr, beta1, beta2, eps):
    r"""Reference: one Adam step number ``t`` (from 1) with bias correction, via :class:`bpkit.optim.Adam`.

    Returns ``(p_new, m_new, v_new)``.
    """
    p = np.array(p, dtype=np.float64)
    opt = optim.Adam(lr=lr, betas=(beta1, beta2), eps=eps)
    opt.state["p"] = {"t": t - 1, "m": np.array(m, dtype=np.float64), "v": np.array(v, dtype=np.float64)}
    opt.step({"p": p}, {"p": g})
    st = opt.state["p"]
    return p, st["m"], st["v"]


def _adam_variant(kind):
    def f(p, g, m, v, t, lr, b1, b2, eps):
        m2 = b1 * m + (1 - b1) * g
        v2 = b2 * v + (1 - b2) * g * g
        tt = t + 1 if kind == "t0" else t
        mh, vh = m2 / (1 - b1 ** tt), v2 / (1 - b2 ** tt)
        if kind == "nocorr":
            mh, vh = m2, v2
        if kind == "inside":
            step = mh / np.sqrt(vh + eps)
        elif kind == "sign":
            step = -mh / (np.sqrt(vh) + eps)
        elif kind == "nosqrt":
            step = mh / (vh + eps)
        elif kind == "g":
            step = g / (np.sqrt(vh) + eps)
        else:
            step = mh / (np.sqrt(vh) + eps)
        return p - lr * step, m2, v2
    return f


@own_work("bpkit.optim.Adam.step")
def check_adam_step(student):
    """Exercise 4.4: ``adam_step(p, g, m, v, t, lr, beta1, beta2, eps) -> (p_new, m_new, v_new)``."""
    rng = _rng()
    z = np.zeros(3)
    cases = [(np.array([1.0, -2.0, 0.5]), np.array([0.1, -1.0, 3.0]), z, z, 1, 0.01, 0.9, 0.999, 1e-8),
             (np.array([1.0, -2.0, 0.5]), np.array([0.1, -1.0, 3.0]), np.array([0.01, -0.1, 0.3]),
              np.array([1e-5, 1e-3, 9e-3]), 2, 0.01, 0.9, 0.999, 1e-8),
             (rng.standard_normal(4), 0.01 * rng.standard_normal(4), 0.01 * rng.standard_normal(4),
              1e-4 * rng.random(4), 3, 0.1, 0.8, 0.99, 1e-3)]
    result = check_function(
        student, adam_step, cases, name="Exercise 4.4 (adam_step)", points=POINTS["adam_step"],
        output_names=("p_new", "m_new", "v_new"),
        mistakes=[
            Mistake("the bias correction is missing: m and v start at 0, so early on they are far too small "
                    "(by the factors 1 - beta1**t and 1 - beta2**t)", _adam_variant("nocorr"),
                    "m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t)."),
            Mistake("the bias correction uses t + 1: the step count t starts at 1 (after the first update "
                    "m = (1 - beta1) g, and dividing by 1 - beta1**1 restores g)", _adam_variant("t0"),
                    "Use t as given: it is 1 at the first step."),
            Mistake("eps is inside the square root: Adam divides by sqrt(v_hat) + eps", _adam_variant("inside"),
                    "np.sqrt(v_hat) + eps, not np.sqrt(v_hat + eps)."),
            Mistake("the square root of v_hat is missing: v estimates the squared gradient",
                    _adam_variant("nosqrt"), "Divide by np.sqrt(v_hat) + eps."),
            Mistake("the numerator is the raw gradient, not the bias-corrected first moment m_hat",
                    _adam_variant("g"), "Step along m_hat / (sqrt(v_hat) + eps)."),
            Mistake("the step goes uphill: subtract lr * m_hat / (sqrt(v_hat) + eps)", _adam_variant("sign"),
                    "p_new = p - lr * ..."),
        ],
        hints=["Four lines: update m and v (running averages of g and g**2), correct both for their start at 0, "
               "then step.",
               "m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g**2; m_hat = m / (1 - beta1**t); "
               "v_hat = v / (1 - beta2**t).",
               "return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v  (with the new m and v)"])
    if result.status == "incorrect" and "nan or inf" in result.message:
        result.message = ("the update contains nan or inf: a bias correction computed with the step count t = 0 "
                          "divides by 1 - beta**0 = 0; t counts from 1 (the first step has t = 1).")
        result.mistake = "bias correction with t starting at 0"
    return result


# ----------------------------------------------------------------------------- 4.5 AdamW

def adamw_step(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    r"""Reference: one AdamW step: $p \leftarrow p (1 - \eta\lambda)$, then the Adam step, via :class:`bpkit.optim.AdamW`."""
    p = np.array(p, dtype=np.float64)
    opt = optim.AdamW(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    opt.state["p"] = {"t": t - 1, "m": np.array(m, dtype=np.float64), "v": np.array(v, dtype=np.float64)}
    opt.step({"p": p}, {"p": g})
    st = opt.state["p"]
    return p, st["m"], st["v"]


@own_work("bpkit.optim.AdamW.step", "bpkit.optim.Adam.step")
def check_adamw_step(student):
    """Exercise 4.5: ``adamw_step(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay) -> (p, m, v)``."""
    rng = _rng()
    z = np.zeros(3)
    cases = [(np.array([1.0, -2.0, 0.5]), np.array([0.1, -1.0, 3.0]), z, z, 1, 0.01, 0.9, 0.999, 1e-8, 0.1),
             (rng.standard_normal(4), rng.standard_normal(4), 0.1 * rng.standard_normal(4), 0.1 * rng.random(4), 5,
              0.05, 0.9, 0.99, 1e-8, 0.5),
             # gradients as small as eps (and 0): the eps in sqrt(v_hat) + eps decides the step
             (rng.standard_normal(3), np.array([1e-3, 0.0, -2e-3]), z, z, 1, 0.1, 0.9, 0.999, 1e-3, 0.2)]

    def l2(p, g, m, v, t, lr, b1, b2, eps, wd):
        return adam_step(p, g + wd * p, m, v, t, lr, b1, b2, eps)

    def after(p, g, m, v, t, lr, b1, b2, eps, wd):
        q, m2, v2 = adam_step(p, g, m, v, t, lr, b1, b2, eps)
        return q * (1 - lr * wd), m2, v2

    def no_lr(p, g, m, v, t, lr, b1, b2, eps, wd):
        q, m2, v2 = adam_step(p, g, m, v, t, lr, b1, b2, eps)
        return q - wd * p, m2, v2

    return check_function(
        student, adamw_step, cases, name="Exercise 4.5 (adamw_step)", points=POINTS["adamw_step"],
        output_names=("p_new", "m_new", "v_new"),
        mistakes=[
            Mistake("this is L2 regularisation inside Adam (weight_decay * p added to the gradient), which "
                    "Adam then rescales; AdamW decouples the decay: p shrinks by lr * weight_decay * p outside "
                    "the adaptive step", l2, "Leave g alone; multiply p by (1 - lr * weight_decay) and take the "
                    "Adam step with the plain gradient."),
            Mistake("the decay is applied to the parameter after the Adam step; AdamW (and PyTorch) shrinks p "
                    "first, then adds the Adam step", after, "p = p * (1 - lr * weight_decay) first."),
            Mistake("the decay is not multiplied by the learning rate: AdamW subtracts lr * weight_decay * p",
                    no_lr, "The factor is (1 - lr * weight_decay)."),
        ],
        hints=["AdamW = a decay of the weights, then an ordinary Adam step with the unchanged gradient.",
               "p_decayed = p * (1 - lr * weight_decay); then reuse your adam_step on p_decayed with g.",
               "return adam_step(p * (1 - lr * weight_decay), g, m, v, t, lr, beta1, beta2, eps)"])


# ----------------------------------------------------------------------------- 4.6 clipping

def clip_grads(grads, max_norm):
    r"""Reference: ``grads`` (a list of arrays) scaled together to global norm at most ``max_norm``, as new arrays.

    Uses :func:`bpkit.optim.clip_grad_norm` on copies: $g_k \leftarrow g_k \cdot \min(1, c / \|g\|)$ with
    $\|g\| = \sqrt{\sum_k \|g_k\|^2}$.
    """
    d = {str(i): np.array(g, dtype=np.float64) for i, g in enumerate(grads)}
    optim.clip_grad_norm(d, max_norm)
    return [d[str(i)] for i in range(len(grads))]


@own_work("bpkit.optim.clip_grad_norm")
def check_clip_grads(student):
    """Exercise 4.6: ``clip_grads(grads, max_norm) -> list`` of new arrays, clipped by the global norm."""
    rng = _rng()
    cases = [([np.array([3.0, 0.5]), np.array([[0.0, 4.0]])], 1.0),
             ([np.array([0.3, 0.0]), np.array([[0.0, 0.4]])], 1.0),
             ([rng.standard_normal((3, 2)) * 5, rng.standard_normal(2), rng.standard_normal((2, 2)) * 0.1], 2.0)]

    def as_tuple(fn):
        def f(grads, max_norm):
            out = fn(grads, max_norm)
            if not isinstance(out, (list, tuple)):
                raise TypeError(f"clip_grads must return a list of arrays, got {type(out).__name__}.")
            return tuple(np.asarray(o, dtype=np.float64) for o in out)
        return f

    def per_param(grads, c):
        return tuple(g * min(1.0, c / np.linalg.norm(g)) for g in grads)

    def always(grads, c):
        n = np.sqrt(sum(np.sum(g * g) for g in grads))
        return tuple(g * c / n for g in grads)

    def no_sqrt(grads, c):
        n = sum(np.sum(g * g) for g in grads)
        return tuple(g * min(1.0, c / n) for g in grads)

    def by_value(grads, c):
        return tuple(np.clip(g, -c, c) for g in grads)

    result = check_function(
        as_tuple(student), as_tuple(clip_grads), cases, name="Exercise 4.6 (clip_grads)", points=POINTS["clip_grads"],
        rtol=1e-5, atol=1e-8,
        mistakes=[
            Mistake("each array is clipped by its own norm: clipping by the global norm scales all gradients by "
                    "one common factor, so the direction of the whole step is kept", per_param,
                    "Compute one norm over all arrays: sqrt(sum of all squared entries)."),
            Mistake("the gradients are rescaled to norm max_norm even when their norm is already smaller: "
                    "clipping only ever shrinks", always, "Scale by min(1, max_norm / norm)."),
            Mistake("the norm is missing its square root (you used the sum of squares)", no_sqrt,
                    "norm = sqrt(sum over arrays of np.sum(g**2))."),
            Mistake("this clips every entry to [-max_norm, max_norm] (clipping by value), which changes the "
                    "direction; clip by the global norm instead", by_value,
                    "Scale every array by the same factor max_norm / norm when norm > max_norm."),
        ],
        hints=["Treat all arrays as one long vector: its norm is sqrt(sum of np.sum(g**2) over the arrays).",
               "If that norm exceeds max_norm, multiply every array by max_norm / norm; otherwise return copies.",
               "norm = np.sqrt(sum(np.sum(g**2) for g in grads)); s = min(1.0, max_norm / norm); "
               "return [g * s for g in grads]"])
    if result.status == "incorrect" and result.message.startswith("output"):
        result.message = result.message.replace("output", "the clipped arrays", 1)
    return result


# ----------------------------------------------------------------------------- 4.7 warm-up and cosine

def _schedule_values(fn, warmup, total, min_factor):
    return np.array([fn(t, warmup, total, min_factor) for t in range(total + 6)], dtype=np.float64)


@own_work("bpkit.schedules.warmup_cosine")
def check_warmup_cosine(student):
    """Exercise 4.7: ``warmup_cosine(t, warmup, total, min_factor) -> factor``, as :func:`bpkit.schedules.warmup_cosine`."""
    import math
    cases = [(10, 50, 0.0), (5, 40, 0.1), (0, 20, 0.2), (3, 4, 0.0)]

    def variant(kind):
        def f(t, W, T, m):
            if t < W:
                return (t + 1) / W if kind == "warm+1" else t / W
            if kind == "noshift":
                prog = min(1.0, t / T)
            else:
                prog = min(1.0, (t - W) / (T - W)) if kind != "noclamp" else (t - W) / (T - W)
            c = 0.5 * (1 + math.cos((2 if kind == "full" else 1) * math.pi * prog))
            return c if kind == "nofloor" else m + (1 - m) * c
        return lambda W, T, m: _schedule_values(f, W, T, m)

    return check_function(
        in_kernel(_schedule_values, student),
        lambda W, T, m: _schedule_values(schedules.warmup_cosine, W, T, m), cases,
        name="Exercise 4.7 (warmup_cosine)", points=POINTS["warmup_cosine"], output_names=("factors for t = 0..total+5",),
        arg_names=("warmup", "total", "min_factor"),
        rtol=1e-9, atol=1e-12,
        mistakes=[
            Mistake("the warm-up is one step ahead: it is t / warmup, so the factor is 0 at t = 0 and reaches 1 "
                    "exactly at t = warmup", variant("warm+1"), "Use t / warmup for t < warmup."),
            Mistake("the cosine starts at t = 0 instead of at the end of the warm-up: its progress is "
                    "(t - warmup) / (total - warmup)", variant("noshift"), "Shift and rescale t for the cosine."),
            Mistake("the floor min_factor is ignored: the cosine should fall from 1 to min_factor, "
                    "min_factor + (1 - min_factor) * (1 + cos(pi * progress)) / 2", variant("nofloor"),
                    "Blend: m + (1 - m) * cosine part."),
            Mistake("the cosine runs a full period (cos(2 pi progress)) and climbs back up; half a period, from 1 to "
                    "the floor, is cos(pi * progress)", variant("full"), "cos(pi * progress), not 2 pi."),
            Mistake("after total the factor keeps following the cosine back up; it should stay at min_factor",
                    variant("noclamp"), "progress = min(1, (t - warmup) / (total - warmup))."),
        ],
        hints=["Two regimes: t < warmup (a straight line from 0 to 1) and t >= warmup (a half cosine from 1 down).",
               "Warm-up: t / warmup. Cosine: progress = min(1, (t - warmup) / (total - warmup)), "
               "factor = m + (1 - m) * 0.5 * (1 + cos(pi * progress)).",
               "if t < warmup: return t / warmup\nprogress = min(1.0, (t - warmup) / (total - warmup))\n"
               "return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))"])


# ----------------------------------------------------------------------------- 4.8 and 4.9: the race widget

def check_largest_lr_widget(answer):
    """Exercise 4.8: the largest ``lr`` at which plain GD does not diverge on the quadratic with kappa = 25."""
    name, pts = "Exercise 4.8 (largest_lr_widget)", POINTS["largest_lr_widget"]
    L = RACE_KAPPA
    hints = ["Show only the SGD racer, then raise lr until its status turns to 'diverged'; bisect between the "
             "last rate that did not diverge and the first that did.",
             "The steep direction has curvature L = kappa = 25: a step multiplies its coordinate by (1 - lr * L).",
             "The boundary is |1 - lr * L| = 1, i.e. lr = 2 / L."]
    try:
        a = resolve_answer(answer, name, pts, hints)
    except _StudentError as err:
        return err.result
    if _is_num(a):
        a = float(a)
        for value, text in ((1 / L, "this is 1/L, the rate that removes the steep direction in one step; GD "
                                    "still converges above it, zig-zagging, up to 2/L"),
                            (2.0, "this is 2/lambda_min = 2, the bound of the flat direction; the steep direction "
                                  "(curvature 25) diverges much earlier"),
                            (1.0, "this is 1/lambda_min; the steep direction (curvature 25) diverges much earlier")):
            if abs(a - value) <= 0.1 * value:
                return CheckResult(name, "incorrect", f"{a:g} is not it: {text}.", hints,
                                   [f"your answer {a:g}"], max_points=pts, mistake=text)
        if a > 2 / L + 0.004:
            factor = abs(1 - a * L)
            text = (f"at lr = {a:g} the steep direction (curvature L = {L:g}) is multiplied by |1 - lr * L| = "
                    f"{factor:.3g} > 1 at every step: gradient descent diverges above 2/L")
            return CheckResult(name, "incorrect", f"{a:g} is too large: {text}.", hints, [f"your answer {a:g}"],
                               max_points=pts, mistake="learning rate above 2/L")
    return check_value(a, 2 / L, name=name, tol=0.004, points=pts, hints=hints,
                       why="about two ticks of the log-scale lr slider around the boundary")


def _is_num(a):
    return isinstance(a, (int, float, np.integer, np.floating)) and not isinstance(a, (bool, np.bool_))


def check_adam_rosenbrock(answer):
    """Exercise 4.9: ``(lr, beta1, beta2)`` with which Adam gets within 0.01 of (1, 1) on Rosenbrock in 1000 steps."""
    name, pts = "Exercise 4.9 (adam_rosenbrock)", POINTS["adam_rosenbrock"]
    hints = ["Race only Adam on 'rosenbrock' with steps = 1000, and watch its distance to the minimum.",
             "Adam moves each coordinate by about lr per step, whatever the gradient's size: with lr = 0.001, x "
             "moves by about 1 at most in 1000 steps, but it must go from -1.5 to 1 (and the path along the curved "
             "valley is longer still). Try lr between 0.01 and 0.1.",
             "A shorter memory for the squared gradients (beta2 = 0.99) lets Adam adapt as the valley bends; "
             "e.g. lr = 0.02, betas (0.9, 0.99)."]
    try:
        got = resolve_answer(answer, name, pts, hints)
    except _StudentError as err:
        return err.result
    try:
        lr, b1, b2 = (float(x) for x in got)
    except (TypeError, ValueError):
        return CheckResult(name, "error", f"expected a tuple (lr, beta1, beta2), got {type(got).__name__} {got!r}.",
                           hints, max_points=pts)
    try:
        opt = make_optimizer("Adam", lr, betas=(b1, b2))
    except (TypeError, ValueError) as exc:
        return CheckResult(name, "error", f"these settings are not valid for Adam: {exc}", hints, max_points=pts)
    s = surface("rosenbrock")
    path = run_optimizer(s, opt, ADAM_STEPS)
    d = s.distance(path[-1])
    settings = f"lr {lr:g}, betas ({b1:g}, {b2:g})"
    details = [f"{settings}: {len(path) - 1} steps, final point ({path[-1][0]:.4g}, {path[-1][1]:.4g}), "
               f"distance {d:.3g}"]
    if len(path) - 1 < ADAM_STEPS:
        return CheckResult(name, "incorrect", f"with {settings} Adam diverged at step {len(path)}; lower lr.", hints,
                           details, max_points=pts)
    if d < 0.01:
        return CheckResult(name, "correct", f"with {settings} Adam ends {d:.2g} from (1, 1) after {ADAM_STEPS} "
                           "steps.", hints, details, points=pts, max_points=pts)
    travelled = float(np.sum(np.hypot(*np.diff(path, axis=0).T)))
    why = ("it has not arrived yet: the path is only {:.2g} long, raise lr".format(travelled)
           if lr <= 0.005 else "it is still bouncing around the valley; try another lr or a smaller beta2")
    return CheckResult(name, "incorrect", f"with {settings} Adam ends {d:.3g} from (1, 1) after {ADAM_STEPS} steps: "
                       f"{why}.", hints, details, max_points=pts)
