"""Chapter 4 exercises: the reference solutions pass, and planted mistakes get their diagnosis."""

import pytest

from _notebooks import (
    assert_every_exercise_planted, assert_not_attempted, assert_planted_feedback, assert_points_match,
    assert_reference_solutions_pass, run_exercise)

NB = "04_gradient_descent.ipynb"


def test_the_reference_solutions_pass_in_process():
    assert_reference_solutions_pass(NB, 9)


def test_points_in_the_notebook_match_the_checks():
    from bpkit.checks.ch04 import POINTS
    assert_points_match(NB, POINTS, 13)


GD = "def gradient_descent(grad, x0, lr, steps):\n    x = np.array(x0, dtype=float)\n    path = [x.copy()]\n" \
     "    for _ in range({N}):\n        x = {UPDATE}\n        path.append(x.copy())\n    return np.array(path{SL})\n"


def gd(update="x - lr * grad(x)", n="steps", sl=""):
    return GD.format(UPDATE=update, N=n, SL=sl)


ADAM = '''def adam_step(p, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** ({T}))
    v_hat = v / (1 - beta2 ** ({T}))
    return p - lr * {STEP}, m, v
'''


def adam(t="t", step="m_hat / (np.sqrt(v_hat) + eps)"):
    return ADAM.format(T=t, STEP=step)


ADAMW = adam() + "def adamw_step(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):\n{BODY}\n"

CLIP = "def clip_grads(grads, max_norm):\n{BODY}\n"

WC = '''def warmup_cosine(t, warmup, total, min_factor):
    if t < warmup:
        return {WARM}
    progress = {PROG}
    return {OUT}
'''


def wc(warm="t / warmup", prog="min(1.0, (t - warmup) / (total - warmup))",
       out="min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))"):
    return WC.format(WARM=warm, PROG=prog, OUT=out)


PLANTED = [
    # (exercise, wrong answer, expected status, words the verdict or first hint must contain)
    ("ex4_1_gradient_descent", gd("x + lr * grad(x)"), "incorrect", "the step goes uphill"),
    ("ex4_1_gradient_descent", gd("x - grad(x)"), "incorrect", "the learning rate is missing"),
    ("ex4_1_gradient_descent", gd(sl="[1:]"), "incorrect", "the starting point x0 is missing"),
    ("ex4_1_gradient_descent", gd(n="steps + 1"), "incorrect", "the loop runs one step too many"),
    ("ex4_1_gradient_descent", "def gradient_descent(grad, x0, lr, steps):\n    x = x0\n    path = [x.copy()]\n"
     "    for _ in range(steps):\n        x -= lr * grad(x)\n        path.append(x.copy())\n    return np.array(path)",
     "incorrect", "changed `x0` in place"),
    ("ex4_2_stable_lr", "def stable_lr(A):\n    return 1 / np.linalg.eigvalsh(A).max()", "incorrect", "this is 1/L"),
    ("ex4_2_stable_lr", "def stable_lr(A):\n    return 2 / np.linalg.eigvalsh(A).min()", "incorrect",
     "uses the smallest eigenvalue"),
    ("ex4_2_stable_lr", "def stable_lr(A):\n    return 2 / np.diag(A).max()", "incorrect", "largest diagonal entry"),
    ("ex4_3_momentum_step", "def momentum_step(p, g, v, lr, mu):\n    v = mu * v - lr * g\n    return p + v, v",
     "incorrect", "the other momentum convention"),
    ("ex4_3_momentum_step", "def momentum_step(p, g, v, lr, mu):\n    v = mu * v + (1 - mu) * g\n"
     "    return p - lr * v, v", "incorrect", "the velocity is an average"),
    ("ex4_3_momentum_step", "def momentum_step(p, g, v, lr, mu):\n    return p - lr * v, mu * v + g",
     "incorrect", "moves with the old velocity"),
    ("ex4_3_momentum_step", "def momentum_step(p, g, v, lr, mu):\n    v = mu * v + g\n    return p + lr * v, v",
     "incorrect", "the step goes uphill"),
    ("ex4_4_adam_step", adam(t="1") .replace("m_hat = m / (1 - beta1 ** (1))", "m_hat = m")
     .replace("v_hat = v / (1 - beta2 ** (1))", "v_hat = v"), "incorrect", "the bias correction is missing"),
    ("ex4_4_adam_step", adam(t="t + 1"), "incorrect", "the bias correction uses t + 1"),
    ("ex4_4_adam_step", adam(step="m_hat / np.sqrt(v_hat + eps)"), "incorrect", "eps is inside the square root"),
    ("ex4_4_adam_step", adam(step="g / (np.sqrt(v_hat) + eps)"), "incorrect", "the numerator is the raw gradient"),
    ("ex4_4_adam_step", adam(t="t - 1"), "incorrect", "t counts from 1"),
    ("ex4_5_adamw_step", ADAMW.format(BODY="    return adam_step(p, g + weight_decay * p, m, v, t, lr, beta1, beta2, eps)"),
     "incorrect", "L2 regularisation inside Adam"),
    ("ex4_5_adamw_step", ADAMW.format(BODY="    q, m, v = adam_step(p, g, m, v, t, lr, beta1, beta2, eps)\n"
                                           "    return q * (1 - lr * weight_decay), m, v"),
     "incorrect", "applied to the parameter after the Adam step"),
    ("ex4_5_adamw_step", ADAMW.format(BODY="    return adam_step(p * (1 - weight_decay), g, m, v, t, lr, beta1, beta2, eps)"),
     "incorrect", "not multiplied by the learning rate"),
    ("ex4_6_clip_grads", CLIP.format(BODY="    return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]"),
     "incorrect", "each array is clipped by its own norm"),
    ("ex4_6_clip_grads", CLIP.format(BODY="    n = np.sqrt(sum(np.sum(g ** 2) for g in grads))\n"
                                          "    return [g * max_norm / n for g in grads]"),
     "incorrect", "even when their norm is already smaller"),
    ("ex4_6_clip_grads", CLIP.format(BODY="    return [np.clip(g, -max_norm, max_norm) for g in grads]"),
     "incorrect", "clipping by value"),
    ("ex4_6_clip_grads", CLIP.format(BODY="    n = sum(np.sum(g ** 2) for g in grads)\n"
                                          "    return [g * min(1.0, max_norm / n) for g in grads]"),
     "incorrect", "missing its square root"),
    ("ex4_7_warmup_cosine", wc(warm="(t + 1) / warmup"), "incorrect", "the warm-up is one step ahead"),
    ("ex4_7_warmup_cosine", wc(prog="min(1.0, t / total)"), "incorrect", "the cosine starts at t = 0"),
    ("ex4_7_warmup_cosine", wc(out="0.5 * (1 + math.cos(math.pi * progress))"), "incorrect", "min_factor is ignored"),
    ("ex4_7_warmup_cosine", wc(out="min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(2 * math.pi * progress))"),
     "incorrect", "runs a full period"),
    ("ex4_7_warmup_cosine", wc(prog="(t - warmup) / (total - warmup)"), "incorrect", "keeps following the cosine"),
    ("ex4_8_largest_lr_widget", "def largest_lr_widget():\n    return 1 / RACE_KAPPA", "incorrect", "this is 1/L"),
    ("ex4_8_largest_lr_widget", "def largest_lr_widget():\n    return 2.0", "incorrect", "2/lambda_min"),
    ("ex4_8_largest_lr_widget", "def largest_lr_widget():\n    race.set(lr=0.07)\n    return race.lr",
     "incorrect", "is too small"),
    ("ex4_8_largest_lr_widget", "def largest_lr_widget():\n    return 'about 0.08'", "error", "expected a number"),
    ("ex4_8_largest_lr_widget", "def largest_lr_widget():\n    race.set(lr=0.1)\n    return race.lr",
     "incorrect", "|1 - lr * L| = 1.5 > 1 at every step: gradient descent diverges above 2/L"),
    ("ex4_9_adam_rosenbrock", "def adam_rosenbrock():\n    return race2.lr, race2.beta1, race2.beta2",
     "incorrect", "it has not arrived yet"),
    ("ex4_9_adam_rosenbrock", "def adam_rosenbrock():\n    race2.set(lr=3.0)\n    return race2.lr, race2.beta1, 0.999",
     "incorrect", "is still bouncing around the valley"),
    ("ex4_9_adam_rosenbrock", "def adam_rosenbrock():\n    return 0.02, 0.9", "error", "expected a tuple (lr, beta1, beta2)"),
    ("ex4_9_adam_rosenbrock", "def adam_rosenbrock():\n    return 0.02, 1.0, 0.99", "error", "not valid for Adam"),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # the planted t = 0 divides by zero
@pytest.mark.parametrize("grade_id, answer, status, words", PLANTED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_gets_the_intended_feedback(grade_id, answer, status, words):
    assert_planted_feedback(NB, grade_id, answer, status, words)


def test_every_exercise_has_a_planted_mistake():
    assert_every_exercise_planted(NB, PLANTED)


@pytest.mark.parametrize("grade_id, stub", [
    ("ex4_4_adam_step", "def adam_step(p, g, m, v, t, lr, beta1, beta2, eps):\n    # YOUR CODE HERE\n"
     "    raise NotImplementedError()"),
    ("ex4_8_largest_lr_widget", "def largest_lr_widget():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex4_9_adam_rosenbrock", "def adam_rosenbrock():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
])
def test_unsolved_stub_is_not_attempted(grade_id, stub):
    assert_not_attempted(NB, grade_id, stub)


def test_adam_rosenbrock_hint_explains_the_distance():
    """With lr = 0.001, x must travel from -1.5 to 1 but moves about lr per step: the second hint says so."""
    result = run_exercise(NB, "ex4_9_adam_rosenbrock", "def adam_rosenbrock():\n    return 0.001, 0.9, 0.999")
    assert result.status == "incorrect" and "it has not arrived yet" in result.message, result.summary()
    assert "x moves by about 1 at most in 1000 steps, but it must go from -1.5 to 1" in result.hints[1]
