"""Checks for Chapter 8, part 2: the LSTM (Exercises 8.5 to 8.9).

:mod:`bpkit.checks.ch08` imports and exports everything here; notebooks import from there.
The references are bpkit's own functions (:func:`bpkit.ops.lstm_step_forward`,
:class:`bpkit.nn.LSTM` and :func:`bpkit.widgets.recurrent.gradient_flow`) or the short
functions below, which the chapter checks against finite differences and against bpkit.
"""

from __future__ import annotations

import numpy as np

from .. import nn, ops
from ..widgets.recurrent import _BIAS, gradient_flow
from ._context import case_rng, own_work
from ._engine import CheckResult, Mistake, as_number, check_function, handed_in, handed_in_number

__all__ = ["ADDING_BASELINE", "FORGET_KEPT", "LSTM_POINTS", "adding_baseline", "check_adding_baseline",
           "check_forget_bias", "check_lstm_cell_backward", "check_lstm_num_params", "check_lstm_step_forward",
           "lstm_cell_backward", "lstm_num_params", "lstm_step_forward"]

#: Points of Exercises 8.5 to 8.9 (part of :data:`bpkit.checks.ch08.POINTS`).
LSTM_POINTS = {"lstm_step_forward": 2, "lstm_cell_backward": 3, "lstm_num_params": 1, "forget_bias": 1,
               "adding_baseline": 1}
POINTS = LSTM_POINTS

#: Exercise 8.8: the LSTM (T = 60, scale 1) must keep this fraction of the cell gradient 50 steps back.
FORGET_KEPT = {"T": 60, "scale": 1.0, "k": 50, "fraction": 0.01}

#: Exercise 8.9: the MSE of the best constant prediction on the adding problem.
ADDING_BASELINE = 1 / 6


def _rng():
    """Test cases: a fixed seed for feedback, mixed with the grader\'s secret when graded (as in ch08)."""
    return case_rng(2026)


def _sig(z):
    return 1 / (1 + np.exp(-z))


# ----------------------------------------------------------------------------- 8.5 LSTM step forward

def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    r"""Reference: ``(h, c)`` of one LSTM step, gates in the order i, f, o, g (:func:`bpkit.ops.lstm_step_forward`)."""
    h, c, _ = ops.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    return h, c


def _lstm_variant(order=(0, 1, 2, 3), acts=("s", "s", "s", "t"), cell=None, out=None):
    """An LSTM step with blocks taken in ``order`` for (i, f, o, g), activations ``acts``, and optional
    ``cell(i, f, g, c_prev)`` and ``out(o, c, c_prev)`` formulas."""
    def f(x, h_prev, c_prev, Wx, Wh, b):
        H = h_prev.shape[1]
        a = x @ Wx + h_prev @ Wh + b
        blocks = [a[:, k * H:(k + 1) * H] for k in order]
        i, fg, o, g = [_sig(z) if s == "s" else np.tanh(z) for z, s in zip(blocks, acts)]
        c = cell(i, fg, g, c_prev) if cell else fg * c_prev + i * g
        h = out(o, c, c_prev) if out else o * np.tanh(c)
        return h, c
    return f


def _lstm_case(rng, N, D, H):
    return (rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)),
            0.8 * rng.normal(size=(D, 4 * H)), 0.8 * rng.normal(size=(H, 4 * H)), 0.5 * rng.normal(size=4 * H))


@own_work("bpkit.ops.lstm_step_forward")
def check_lstm_step_forward(student):
    """Exercise 8.5: ``lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b) -> (h, c)`` with gates i, f, o, g."""
    name, pts = "Exercise 8.5 (lstm_step_forward)", POINTS["lstm_step_forward"]
    rng = _rng()
    cases = [_lstm_case(rng, N, D, H) for N, D, H in ((2, 3, 2), (3, 2, 4), (4, 5, 3))]
    return check_function(
        student, lstm_step_forward, cases, name=name, points=pts, output_names=("h", "c"),
        mistakes=[
            Mistake("the gate blocks are sliced in PyTorch's order i, f, g, o: bpkit stacks them as i, f, o, g, so "
                    "o is a[:, 2H:3H] and g is a[:, 3H:]", _lstm_variant(order=(0, 1, 3, 2)),
                    "Columns [0, H) are i, [H, 2H) f, [2H, 3H) o and [3H, 4H) g."),
            Mistake("the input and forget gates are swapped: the first block is i, the second f",
                    _lstm_variant(order=(1, 0, 2, 3)), "i = sigmoid(a[:, :H]), f = sigmoid(a[:, H:2 * H])."),
            Mistake("the candidate g goes through a sigmoid: it uses tanh, so that it can also be negative",
                    _lstm_variant(acts=("s", "s", "s", "s")), "g = np.tanh(a[:, 3 * H:])."),
            Mistake("the input gate is missing: the cell adds i * g, not g",
                    _lstm_variant(cell=lambda i, f, g, c: f * c + g), "c = f * c_prev + i * g."),
            Mistake("the old cell is not multiplied by the forget gate: c = f * c_prev + i * g",
                    _lstm_variant(cell=lambda i, f, g, c: c + i * g), "c = f * c_prev + i * g."),
            Mistake("h is o * c: the cell goes through a tanh first, h = o * tanh(c)",
                    _lstm_variant(out=lambda o, c, cp: o * c), "h = o * np.tanh(c)."),
            Mistake("h is computed from the old cell c_prev: it shows the new one, h = o * tanh(c)",
                    _lstm_variant(out=lambda o, c, cp: o * np.tanh(cp)), "Compute c first, then h from it."),
        ],
        hints=["One matrix product gives all four pre-activations: a = x @ Wx + h_prev @ Wh + b, shape (N, 4H). Cut "
               "it into four blocks of H columns, in bpkit's order i, f, o, g.",
               "i, f and o go through a sigmoid (bpkit.ops.sigmoid), g through tanh. Then c = f * c_prev + i * g and "
               "h = o * tanh(c).",
               "H = h_prev.shape[1]; a = x @ Wx + h_prev @ Wh + b; i, f, o = (ops.sigmoid(a[:, k*H:(k+1)*H]) for k "
               "in range(3)); g = np.tanh(a[:, 3*H:]); c = f * c_prev + i * g; return o * np.tanh(c), c"])


# ----------------------------------------------------------------------------- 8.6 the cell's backward pass

def lstm_cell_backward(dh, dc_next, c_prev, i, f, o, g, c):
    r"""Reference: ``(dc_prev, di, df, do, dg)``, gradients of $c_{t-1}$ and of the gate *values*.

    With $\partial L/\partial c = dc_{\text{next}} + dh \odot o \odot (1 - \tanh^2 c)$:
    $di = \partial L/\partial c \odot g$, $df = \partial L/\partial c \odot c_{\text{prev}}$,
    $do = dh \odot \tanh c$, $dg = \partial L/\partial c \odot i$, $dc_{\text{prev}} = \partial L/\partial c \odot f$.
    """
    tc = np.tanh(c)
    dc = dc_next + dh * o * (1 - tc * tc)
    return dc * f, dc * g, dc * c_prev, dh * tc, dc * i


def _cell_variant(dc_fn=None, dc_prev_fn=None, df_fn=None, do_fn=None, pre=False):
    def fn(dh, dc_next, c_prev, i, f, o, g, c):
        tc = np.tanh(c)
        dc = dc_fn(dh, dc_next, o, c) if dc_fn else dc_next + dh * o * (1 - tc * tc)
        dc_prev = dc_prev_fn(dc, dc_next, f) if dc_prev_fn else dc * f
        di, dg = dc * g, dc * i
        df = df_fn(dc, c_prev) if df_fn else dc * c_prev
        do = do_fn(dh, c) if do_fn else dh * tc
        if pre:                                   # through the activations: pre-activation gradients
            di, df, do, dg = di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g * g)
        return dc_prev, di, df, do, dg
    return fn


def _cell_case(rng, N, H):
    a = rng.normal(size=(N, 4 * H))
    i, f, o, g = _sig(a[:, :H]), _sig(a[:, H:2 * H]), _sig(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
    c_prev = rng.normal(size=(N, H))
    c = f * c_prev + i * g
    return rng.normal(size=(N, H)), rng.normal(size=(N, H)), c_prev, i, f, o, g, c


@own_work("bpkit.ops.lstm_step_backward")
def check_lstm_cell_backward(student):
    """Exercise 8.6: ``lstm_cell_backward(dh, dc_next, c_prev, i, f, o, g, c) -> (dc_prev, di, df, do, dg)``."""
    name, pts = "Exercise 8.6 (lstm_cell_backward)", POINTS["lstm_cell_backward"]
    rng = _rng()
    cases = [_cell_case(rng, N, H) for N, H in ((2, 3), (3, 4), (5, 2))]
    return check_function(
        student, lstm_cell_backward, cases, name=name, points=pts, output_names=("dc_prev", "di", "df", "do", "dg"),
        mistakes=[
            Mistake("df forgets c_prev: c = f * c_prev + i * g, so the forget gate's gradient is dc * c_prev",
                    _cell_variant(df_fn=lambda dc, cp: dc), "df = dc * c_prev, as di = dc * g."),
            Mistake("the cell's gradient misses the path through h = o * tanh(c): add dh * o * (1 - tanh(c)**2) to "
                    "dc_next before using it", _cell_variant(dc_fn=lambda dh, dcn, o, c: dcn),
                    "dc = dc_next + dh * o * (1 - np.tanh(c)**2)."),
            Mistake("the tanh derivative in the path through h is taken of c itself, 1 - c**2: it is "
                    "1 - tanh(c)**2", _cell_variant(dc_fn=lambda dh, dcn, o, c: dcn + dh * o * (1 - c * c)),
                    "Use tanh(c): dc = dc_next + dh * o * (1 - np.tanh(c)**2)."),
            Mistake("the tanh derivative in the path through h is written 1 - tanh(c): it is 1 - tanh(c)**2",
                    _cell_variant(dc_fn=lambda dh, dcn, o, c: dcn + dh * o * (1 - np.tanh(c))),
                    "Square the tanh: tanh'(c) = 1 - tanh(c)**2."),
            Mistake("the path through h misses the output gate: h = o * tanh(c), so it is dh * o * (1 - tanh(c)**2)",
                    _cell_variant(dc_fn=lambda dh, dcn, o, c: dcn + dh * (1 - np.tanh(c) ** 2)),
                    "Multiply by o as well."),
            Mistake("dc_prev is not multiplied by the forget gate: along the cell the gradient is dc * f",
                    _cell_variant(dc_prev_fn=lambda dc, dcn, f: dc), "dc_prev = dc * f."),
            Mistake("dc_prev uses only dc_next: it must use the cell's full gradient dc, which includes the path "
                    "through h", _cell_variant(dc_prev_fn=lambda dc, dcn, f: dcn * f), "dc_prev = dc * f."),
            Mistake("do uses c instead of tanh(c): h = o * tanh(c), so do = dh * tanh(c)",
                    _cell_variant(do_fn=lambda dh, c: dh * c), "do = dh * np.tanh(c)."),
            Mistake("these are the gradients of the pre-activations (through the sigmoid and tanh derivatives): the "
                    "exercise asks for the gradients of the gate values i, f, o and g themselves",
                    _cell_variant(pre=True), "Stop before the activations: di = dc * g, and so on."),
        ],
        hints=["The cell is used twice: by the next step (dc_next) and by h = o * tanh(c). Its full gradient is the "
               "sum: dc = dc_next + dh * o * (1 - tanh(c)**2).",
               "Every product passes the gradient to each factor times the other factor: from c = f * c_prev + i * g "
               "you get df = dc * c_prev, dc_prev = dc * f, di = dc * g, dg = dc * i; from h = o * tanh(c), "
               "do = dh * tanh(c).",
               "tc = np.tanh(c); dc = dc_next + dh * o * (1 - tc**2); return dc * f, dc * g, dc * c_prev, dh * tc, "
               "dc * i"])


# ----------------------------------------------------------------------------- 8.7 parameters of an LSTM layer

def lstm_num_params(D, H):
    """Reference: the number of parameters of ``bpkit.nn.LSTM(D, H)``, $4(DH + H^2 + H)$."""
    return nn.LSTM(D, H, rng=np.random.default_rng(0)).num_params()


def check_lstm_num_params(student):
    """Exercise 8.7: ``lstm_num_params(D, H) -> int``."""
    cases = [(2, 32), (10, 64), (3, 5), (300, 512), (1, 7)]
    return check_function(
        student, lstm_num_params, cases, name="Exercise 8.7 (lstm_num_params)", points=POINTS["lstm_num_params"],
        mistakes=[
            Mistake("the biases are missing: every gate unit has one, 4H in all",
                    lambda D, H: 4 * (D * H + H * H), "Add 4 * H biases."),
            Mistake("this counts three gates: an LSTM has four blocks, the gates i, f and o and the candidate g",
                    lambda D, H: 3 * (D * H + H * H + H), "Multiply by 4: i, f, o and g."),
            Mistake("this is a vanilla RNN's count, DH + H^2 + H: an LSTM has four such blocks",
                    lambda D, H: D * H + H * H + H, "Multiply by 4, one block per gate."),
            Mistake("this counts two biases per gate unit, as PyTorch stores them (bias_ih and bias_hh): only their "
                    "sum matters, and bpkit keeps one, b of shape (4H,)",
                    lambda D, H: 4 * (D * H + H * H + 2 * H), "Count one bias per gate unit."),
            Mistake("the recurrent weights Wh (H, 4H) are missing", lambda D, H: 4 * (D * H + H),
                    "Add Wh: H * 4H entries."),
        ],
        hints=["Count the shapes: Wx is (D, 4H), Wh is (H, 4H) and b is (4H,).",
               "D * 4H + H * 4H + 4H = 4 (DH + H^2 + H).",
               "return 4 * (D * H + H * H + H)"])


# ----------------------------------------------------------------------------- 8.8 the forget bias (widget)

def _kept_cell(bias):
    return gradient_flow("lstm", FORGET_KEPT["T"], FORGET_KEPT["scale"], bias).kept(FORGET_KEPT["k"], "c")


def check_forget_bias(answer):
    """Exercise 8.8: the smallest forget bias (slider value) keeping 1% of the cell gradient 50 steps back."""
    name, pts = "Exercise 8.8 (forget_bias)", POINTS["forget_bias"]
    T, k, frac = FORGET_KEPT["T"], FORGET_KEPT["k"], FORGET_KEPT["fraction"]
    lo, hi, step = _BIAS
    hints = [f"Keep the LSTM, T = {T} and the scale 1.0; move the forget bias one slider step ({step:g}) at a time "
             f"and read the value for {k} steps back in the summary's |dL/dc_t| line.",
             f"You want the first slider value at which that number is at least {frac:g}. Along the cell alone the "
             f"gradient is multiplied by the forget gate at every step, about sigmoid(bias)**{k}: that tells you "
             "roughly where to look.",
             f"for b in np.arange({lo:g}, {hi + step:g}, {step:g}): explorer2.forget_bias = b; if "
             f"explorer2.kept({k}) >= {frac:g}: return b"]
    got = handed_in(answer, name, pts, hints, "hand in your forget bias and run this cell again.")
    if isinstance(got, CheckResult):
        return got
    if isinstance(got, dict):
        return CheckResult(name, "error", "expected a number, the forget bias, got a dict: return "
                           "explorer2.forget_bias.", hints, max_points=pts)
    b = as_number(got, name, pts, hints, "a number (the forget bias)")
    if isinstance(b, CheckResult):
        return b
    if not (lo - 1e-9 <= b <= hi + 1e-9 and abs((b - lo) / step - round((b - lo) / step)) < 1e-6):
        return CheckResult(name, "incorrect", f"the forget bias must be one of the slider's values, {lo:g} to {hi:g} "
                           f"in steps of {step:g}; got {b:g}.", hints, max_points=pts)
    b = round(b, 1)
    kept = _kept_cell(b)
    shown = f"forget bias {b:g}: {kept:.2e} of the cell gradient is left {k} steps back"
    if kept < frac:
        why = f"below {frac:g}: the forget gates, about sigmoid({b:g}) = {_sig(b):.2f}, still let it fade; increase it"
        return CheckResult(name, "incorrect", f"{shown}, {why}.", hints, [shown], max_points=pts, mistake="too small")
    grid = np.round(np.arange(lo, b - step / 2, step), 1)
    earlier = next((float(v) for v in grid if _kept_cell(float(v)) >= frac), None)
    if earlier is not None:
        why = f"a forget bias of {earlier:g} already keeps {_kept_cell(earlier):.2e}: find the smallest"
        return CheckResult(name, "incorrect", f"{shown}; but {why}.", hints, [shown], max_points=pts,
                           mistake="not the smallest")
    return CheckResult(name, "correct", f"{shown}, and every smaller slider value keeps less than {frac:g}. The "
                       f"forget gates start around sigmoid({b:g}) = {_sig(b):.2f}, and the gradient rides along the "
                       "cell.", hints, [shown], points=pts, max_points=pts)


# ----------------------------------------------------------------------------- 8.9 the adding problem's baseline

def adding_baseline():
    r"""Reference: the MSE of the best constant on the adding problem, $\operatorname{Var}(u_1 + u_2) = 1/6$."""
    return ADDING_BASELINE


def check_adding_baseline(answer):
    """Exercise 8.9: the expected MSE of the best constant prediction, ``1/6``, as a number."""
    name, pts = "Exercise 8.9 (adding_baseline)", POINTS["adding_baseline"]
    tol = 0.002
    hints = ["The best constant prediction is the mean of the target, and its expected squared error is the "
             "target's variance.",
             "The target is u1 + u2 with u1, u2 independent and uniform on [0, 1): mean 1/2 and variance 1/12 each. "
             "The variances of independent numbers add.",
             "return 1 / 12 + 1 / 12"]
    a = handed_in_number(answer, name, pts, hints)
    if isinstance(a, CheckResult):
        return a
    why = f"tolerance +-{tol:g}: three decimals, or a simulation with a million sequences, are enough"
    if abs(a - ADDING_BASELINE) <= tol:
        return CheckResult(name, "correct", f"{a:.4g} is within the {why}: predicting 1, the mean, leaves the "
                           "variance of u1 + u2, 1/12 + 1/12 = 1/6.", hints, [f"your answer {a:.6g}"], points=pts,
                           max_points=pts)
    known = [(1 / 12, "1/12 is the variance of one uniform number: the MSE of a model that knows the second number "
                      "and guesses only the first. Predicting a constant misses both"),
             (1 / 3, "1/3 is the variance of a number uniform on [0, 2): but the sum of two uniform numbers is not "
                     "uniform (values near 1 are more likely); add the two variances instead"),
             (np.sqrt(1 / 6), "this is the square root of the MSE (the RMSE); the question asks for the mean "
                              "squared error"),
             (7 / 6, "7/6 is the MSE of predicting 0: the best constant is the mean of the target, 1")]
    for value, text in known:
        if abs(a - value) <= tol:
            return CheckResult(name, "incorrect", f"{a:.4g}: {text}.", hints, [f"your answer {a:.6g}"],
                               max_points=pts, mistake=text.split(":")[0])
    side = "too large" if a > ADDING_BASELINE else "too small"
    return CheckResult(name, "incorrect", f"{a:.4g} is {side}: it is off by more than the {why}.", hints,
                       [f"your answer {a:.6g}", f"off by {abs(a - ADDING_BASELINE):.3g}"], max_points=pts)
