"""Checks for Chapter 8, recurrent networks and the LSTM.

Each ``check_*`` takes the student's function or answer and returns a
:class:`bpkit.checks.CheckResult`. The references are bpkit's own functions
(:func:`bpkit.ops.rnn_step_backward`, :func:`bpkit.ops.rnn_backward`,
:func:`bpkit.ops.lstm_step_forward`, :func:`bpkit.optim.clip_grad_norm`,
:class:`bpkit.nn.LSTM` and :func:`bpkit.widgets.recurrent.gradient_flow`) or the short
functions below, which the chapter checks against finite differences and against bpkit.
"""

from __future__ import annotations

import copy

import numpy as np

from .. import nn, ops
from ..widgets.recurrent import _BIAS, gradient_flow
from ._context import case_rng, in_kernel, own_work
from ._engine import CheckResult, Mistake, _StudentError, check_function, handed_in, run_student

__all__ = ["ADDING_BASELINE", "FORGET_KEPT", "POINTS", "SCALE_WINDOW", "adding_baseline", "check_adding_baseline",
           "check_clip_by_global_norm", "check_forget_bias", "check_lstm_cell_backward", "check_lstm_num_params",
           "check_lstm_step_forward", "check_rnn_backward", "check_rnn_step_backward", "check_scale_window",
           "clip_by_global_norm", "lstm_cell_backward", "lstm_num_params", "lstm_step_forward", "rnn_backward",
           "rnn_step_backward"]

#: Points per exercise, read by the course tools.
POINTS = {"rnn_step_backward": 2, "rnn_backward": 3, "scale_window": 1, "clip_by_global_norm": 2,
          "lstm_step_forward": 2, "lstm_cell_backward": 3, "lstm_num_params": 1, "forget_bias": 1,
          "adding_baseline": 1}

#: Exercise 8.3: the RNN (T = 50) must keep a gradient between these bounds 30 steps back.
SCALE_WINDOW = {"T": 50, "k": 30, "low": 1e-3, "high": 1e3}

#: Exercise 8.8: the LSTM (T = 60, scale 1) must keep this fraction of the cell gradient 50 steps back.
FORGET_KEPT = {"T": 60, "scale": 1.0, "k": 50, "fraction": 0.01}

#: Exercise 8.9: the MSE of the best constant prediction on the adding problem.
ADDING_BASELINE = 1 / 6


def _rng():
    """Test cases: a fixed seed for feedback, mixed with the grader\'s secret when graded."""
    return case_rng(2026)


def _sig(z):
    return 1 / (1 + np.exp(-z))


# ----------------------------------------------------------------------------- 8.1 one RNN step backward

def rnn_step_backward(dh, x, h_prev, Wx, Wh, b, h):
    r"""Reference: ``(dx, dh_prev, dWx, dWh, db)`` of $h = \tanh(x W_x + h_{\text{prev}} W_h + b)$."""
    return ops.rnn_step_backward(dh, (x, h_prev, Wx, Wh, h))


def _rnn_step_case(rng, N, D, H):
    x, h_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    Wx, Wh, b = 0.7 * rng.normal(size=(D, H)), 0.7 * rng.normal(size=(H, H)), 0.5 * rng.normal(size=H)
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return rng.normal(size=(N, H)), x, h_prev, Wx, Wh, b, h


def _step_variant(dz_fn=None, dh_prev_fn=None, dWh_fn=None):
    """rnn_step_backward with one piece replaced: ``dz_fn(dh, z, h)``, ``dh_prev_fn(dz, Wh)``, ``dWh_fn(...)``."""
    def f(dh, x, h_prev, Wx, Wh, b, h):
        z = x @ Wx + h_prev @ Wh + b
        dz = dz_fn(dh, z, h) if dz_fn else dh * (1 - h * h)
        dh_prev = dh_prev_fn(dz, Wh) if dh_prev_fn else dz @ Wh.T
        dWh = dWh_fn(dz, h_prev, h) if dWh_fn else h_prev.T @ dz
        return dz @ Wx.T, dh_prev, x.T @ dz, dWh, dz.sum(axis=0)
    return f


@own_work("bpkit.ops.rnn_step_backward")
def check_rnn_step_backward(student):
    """Exercise 8.1: ``rnn_step_backward(dh, x, h_prev, Wx, Wh, b, h) -> (dx, dh_prev, dWx, dWh, db)``."""
    name, pts = "Exercise 8.1 (rnn_step_backward)", POINTS["rnn_step_backward"]
    rng = _rng()
    cases = [_rnn_step_case(rng, N, D, H) for N, D, H in ((2, 3, 4), (5, 2, 3), (4, 6, 5))]
    return check_function(
        student, rnn_step_backward, cases, name=name, points=pts,
        output_names=("dx", "dh_prev", "dWx", "dWh", "db"), batch_size_of=lambda dh, *rest: dh.shape[0],
        mistakes=[
            Mistake("the tanh derivative is taken of the pre-activation z itself, 1 - z**2: the derivative of "
                    "tanh at z is 1 - tanh(z)**2, and tanh(z) is the output h, so it is 1 - h**2",
                    _step_variant(dz_fn=lambda dh, z, h: dh * (1 - z * z)),
                    "dz = dh * (1 - h**2): the forward pass already computed tanh(z), it is h."),
            Mistake("the tanh derivative is evaluated at h as if h were the pre-activation, 1 - tanh(h)**2: h is "
                    "already tanh(z), so the derivative is 1 - h**2",
                    _step_variant(dz_fn=lambda dh, z, h: dh * (1 - np.tanh(h) ** 2)),
                    "Do not apply tanh again: dz = dh * (1 - h**2)."),
            Mistake("the gradient does not go through the tanh: the dense layers receive dz = dh * (1 - h**2), "
                    "not dh", _step_variant(dz_fn=lambda dh, z, h: dh),
                    "First dz = dh * (1 - h**2), then the two dense layers."),
            Mistake("dh_prev uses Wh instead of its transpose: z = ... + h_prev @ Wh, so dh_prev = dz @ Wh.T "
                    "(the shapes fit either way because Wh is square)",
                    _step_variant(dh_prev_fn=lambda dz, Wh: dz @ Wh),
                    "The backward pass of h_prev @ Wh multiplies by Wh.T, as dX = dout @ W.T for a dense layer."),
            Mistake("dWh is transposed: dWh = h_prev.T @ dz, whose row j belongs to unit j of h_prev (the shapes "
                    "fit either way because Wh is square)",
                    _step_variant(dWh_fn=lambda dz, hp, h: dz.T @ hp), "dWh = h_prev.T @ dz, like dW = X.T @ dout."),
            Mistake("dWh uses the new state h: the weights Wh multiply the previous state, so dWh = h_prev.T @ dz",
                    _step_variant(dWh_fn=lambda dz, hp, h: h.T @ dz),
                    "In z = x @ Wx + h_prev @ Wh + b, the input of Wh is h_prev."),
        ],
        hints=["The step is h = tanh(z) with z = x @ Wx + h_prev @ Wh + b. First go back through the tanh: "
               "dz = dh * tanh'(z), and tanh'(z) = 1 - tanh(z)**2 = 1 - h**2.",
               "z is two dense layers added: x @ Wx and h_prev @ Wh. Each passes dz back as for a dense layer "
               "(dX = dout @ W.T, dW = X.T @ dout), and db sums dz over the batch.",
               "dz = dh * (1 - h**2); return dz @ Wx.T, dz @ Wh.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)"])


# ----------------------------------------------------------------------------- 8.2 BPTT

def rnn_backward(dh, x, h0, Wx, Wh, h):
    r"""Reference: backpropagation through time, ``(dx, dh0, dWx, dWh, db)`` (:func:`bpkit.ops.rnn_backward`)."""
    return ops.rnn_backward(dh, (x, h0, Wx, Wh, h))


def _bptt_variant(upstream="all", carry=True, weights="sum", prev="ok"):
    """BPTT with one mistake: ``upstream`` "all"/"last"; ``carry`` the gradient from t + 1; ``weights`` "sum",
    "overwrite" (a backward loop that assigns, keeping time step 1) or "last" (time step T only); ``prev``
    "ok", "same" (h_t instead of h_{t-1}) or "zero" (zeros instead of h0 at the first step)."""
    def f(dh, x, h0, Wx, Wh, h):
        N, T, H = h.shape
        dx = np.zeros_like(x)
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
        dnext = np.zeros((N, H))
        for t in reversed(range(T)):
            up = dh[:, t] if (upstream == "all" or t == T - 1) else 0.0
            dz = (up + (dnext if carry else 0.0)) * (1 - h[:, t] ** 2)
            if prev == "same":
                hp = h[:, t]
            else:
                hp = h[:, t - 1] if t else (h0 if prev == "ok" else np.zeros_like(h0))
            dx[:, t] = dz @ Wx.T
            parts = (x[:, t].T @ dz, hp.T @ dz, dz.sum(axis=0))
            if weights == "sum":
                dWx, dWh, db = dWx + parts[0], dWh + parts[1], db + parts[2]
            elif weights == "overwrite" or t == T - 1:
                dWx, dWh, db = parts
            dnext = dz @ Wh.T
        return dx, dnext, dWx, dWh, db
    return f


def _bptt_case(rng, N, T, D, H):
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    Wx, Wh, b = 0.7 * rng.normal(size=(D, H)), rng.normal(size=(H, H)) / np.sqrt(H), 0.3 * rng.normal(size=H)
    h, _ = ops.rnn_forward(x, h0, Wx, Wh, b)
    return rng.normal(size=h.shape), x, h0, Wx, Wh, h


@own_work("bpkit.ops.rnn_backward", "bpkit.ops.rnn_step_backward")
def check_rnn_backward(student):
    """Exercise 8.2: ``rnn_backward(dh, x, h0, Wx, Wh, h) -> (dx, dh0, dWx, dWh, db)`` over whole sequences."""
    name, pts = "Exercise 8.2 (rnn_backward)", POINTS["rnn_backward"]
    rng = _rng()
    cases = [_bptt_case(rng, N, T, D, H) for N, T, D, H in ((2, 3, 3, 4), (3, 5, 2, 3), (2, 7, 4, 5))]
    not_summed = ("the shared weights' gradients are not accumulated over time: dWx, dWh and db hold the "
                  "contribution of one time step only ({which}). Wx, Wh and b are used at every step, so their "
                  "gradients are sums over all T steps")
    return check_function(
        student, rnn_backward, cases, name=name, points=pts, output_names=("dx", "dh0", "dWx", "dWh", "db"),
        mistakes=[
            Mistake(not_summed.format(which="the first, the last one a backward loop reaches"),
                    _bptt_variant(weights="overwrite"),
                    "Start from zeros and add every step's contribution: dWh += h_prev.T @ dz_t, and the same for "
                    "dWx and db."),
            Mistake(not_summed.format(which="the last"), _bptt_variant(weights="last"),
                    "Add the contribution of every step t, not only t = T."),
            Mistake("the gradient from the output at each step is missing: only dh[:, -1] enters, but the total "
                    "gradient of h_t is dh[:, t] (from the layers reading the output at step t) plus the gradient "
                    "coming back from step t + 1", _bptt_variant(upstream="last"),
                    "At every step use dh[:, t] + dh_next, where dh_next is what step t + 1 sent back."),
            Mistake("the gradient coming back from step t + 1 is dropped: h_t also feeds step t + 1, so its total "
                    "gradient is dh[:, t] + dz_(t+1) @ Wh.T (this is BPTT truncated to one step)",
                    _bptt_variant(carry=False),
                    "Keep dh_next = dz @ Wh.T from each step and add it to dh[:, t - 1] at the step before."),
            Mistake("dWh pairs dz_t with h_t: the weights Wh multiply the previous state, so step t adds "
                    "h_(t-1).T @ dz_t, which is h[:, t - 1] in code (h0 at the first step)",
                    _bptt_variant(prev="same"), "h[:, t] is the state after step t; the state before it is "
                    "h[:, t - 1], or h0 for t = 0."),
            Mistake("the first step uses zeros as its previous state: it is h0, which need not be zero",
                    _bptt_variant(prev="zero"), "For t = 0 the previous state is h0."),
        ],
        hints=["Walk backwards, t = T - 1, ..., 0, carrying dh_next (zeros to start): the total gradient of h[:, t] "
               "is dh[:, t] + dh_next; then dz = total * (1 - h[:, t]**2) and dh_next = dz @ Wh.T.",
               "Each step is one rnn_step_backward (you may call bpkit.ops.rnn_step_backward with the cache "
               "(x[:, t], h_prev, Wx, Wh, h[:, t])). The weights are shared, so add up the dWx, dWh and db of "
               "all steps; dx[:, t] = dz @ Wx.T; after the loop dh_next is dh0.",
               "for t in reversed(range(T)): h_prev = h[:, t - 1] if t else h0; dx[:, t], dh_next, a, c, d = "
               "ops.rnn_step_backward(dh[:, t] + dh_next, (x[:, t], h_prev, Wx, Wh, h[:, t])); dWx += a; dWh += c; "
               "db += d. Return dx, dh_next, dWx, dWh, db"])


# ----------------------------------------------------------------------------- 8.3 the scale window (widget)

_FLOW_KEYS = {"cell", "T", "scale", "forget_bias"}


def _explorer_values(answer, name, pts, hints):
    """The explorer settings the student handed in, or a CheckResult explaining what is wrong."""
    got = handed_in(answer, name, pts, hints, "hand in explorer.values() and run this cell again.")
    if isinstance(got, CheckResult):
        return got
    if hasattr(got, "values") and callable(got.values) and not isinstance(got, dict):
        got = got.values()                                   # the explorer itself
    if not isinstance(got, dict) or set(got) != _FLOW_KEYS:
        shown = sorted(got) if isinstance(got, dict) else f"{type(got).__name__} {got!r}"
        return CheckResult(name, "error", f"expected the dict explorer.values() with the keys {sorted(_FLOW_KEYS)}, "
                           f"got {shown}.", hints, max_points=pts)
    return got


def check_scale_window(answer):
    """Exercise 8.3: explorer settings (RNN, T = 50) keeping the gradient 30 steps back in [1e-3, 1e3]."""
    name, pts = "Exercise 8.3 (scale_window)", POINTS["scale_window"]
    T, k, low, high = (SCALE_WINDOW[key] for key in ("T", "k", "low", "high"))
    hints = [f"Keep the vanilla RNN and T = {T}; move only the 'scale of W_h' slider and read the number for "
             f"{k} steps back in the summary's |dL/dh_t| line.",
             f"With every singular value of W_h below 1, the gradient {k} steps back is at most scale**{k}: far "
             f"too small. Even a scale of 1 is not enough, because the tanh derivative 1 - h**2 shrinks every "
             "step; too large a scale makes the gradient explode.",
             "explorer.scale = 2.0; return explorer.values()"]
    got = _explorer_values(answer, name, pts, hints)
    if isinstance(got, CheckResult):
        return got
    if got["cell"] != "rnn" or got["T"] != T:
        return CheckResult(name, "incorrect", f"keep the vanilla RNN (cell 'rnn') and T = {T}; you handed in cell "
                           f"{got['cell']!r}, T = {got['T']}. Move only the scale.", hints, max_points=pts,
                           mistake="changed fixed settings")
    try:
        r = gradient_flow("rnn", T, got["scale"])
    except ValueError as exc:
        return CheckResult(name, "error", f"these settings are not the explorer's: {exc}", hints, max_points=pts)
    kept = r.kept(k)
    shown = f"scale {got['scale']:.2f}: the gradient {k} steps back is {kept:.2e} of the last step's"
    if kept < low:
        why = (f"it vanishes (below {low:g}); every singular value is below 1, so scale**{k} = "
               f"{got['scale'] ** k:.1e} bounds it" if got["scale"] < 1 else
               f"it vanishes (below {low:g}): the tanh derivatives shrink it at every step; increase the scale")
        return CheckResult(name, "incorrect", f"{shown}: {why}.", hints, [shown], max_points=pts,
                           mistake="vanishes")
    if kept > high:
        return CheckResult(name, "incorrect", f"{shown}: it explodes (above {high:g}); decrease the scale.", hints,
                           [shown], max_points=pts, mistake="explodes")
    return CheckResult(name, "correct", f"{shown}, between {low:g} and {high:g}: the per-step factors average "
                       f"{r.factor[-k:].mean():.2f} over those steps, close enough to 1.", hints, [shown],
                       points=pts, max_points=pts)


# ----------------------------------------------------------------------------- 8.4 clipping by the global norm

def clip_by_global_norm(grads, max_norm):
    r"""Reference: ``(clipped, norm)``: every array times $\min(1, c/\lVert g\rVert)$, and the norm before clipping."""
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


def _flat(fn):
    """``fn(grads, c) -> (dict, norm)`` as a tuple ``(norm, *arrays in key order)``, for check_function."""
    def f(grads, max_norm):
        out = fn(grads, max_norm)
        if isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[0], dict) and \
                sorted(out[0]) == sorted(grads):
            return (out[1], *[out[0][k] for k in sorted(grads)])
        return out
    return f


def _clip_variant(norm_fn=None, factor_fn=None, per_array=False, after=False, by_value=False):
    def f(grads, c):
        if by_value:
            return {k: np.clip(g, -c, c) for k, g in grads.items()}, clip_by_global_norm(grads, c)[1]
        if per_array:
            return {k: g * min(1.0, c / np.linalg.norm(g)) for k, g in grads.items()}, clip_by_global_norm(grads, c)[1]
        norm = norm_fn(grads) if norm_fn else clip_by_global_norm(grads, c)[1]
        factor = factor_fn(norm, c) if factor_fn else min(1.0, c / norm)
        clipped = {k: g * factor for k, g in grads.items()}
        return clipped, (float(np.sqrt(sum(np.sum(g * g) for g in clipped.values()))) if after else norm)
    return f


@own_work("bpkit.optim.clip_grad_norm")
def check_clip_by_global_norm(student):
    """Exercise 8.4: ``clip_by_global_norm(grads, max_norm) -> (clipped, norm)``, new arrays, the norm before."""
    name, pts = "Exercise 8.4 (clip_by_global_norm)", POINTS["clip_by_global_norm"]
    rng = _rng()
    cases = [({"W": np.array([[3.0, 0.0], [0.0, 4.0]]), "b": np.array([0.0, 12.0])}, 1.0)]      # norm 13
    cases.append(({"Wx": rng.normal(size=(3, 4)), "Wh": 5 * rng.normal(size=(4, 4)), "b": rng.normal(size=4)}, 2.0))
    cases.append(({"Wx": 0.1 * rng.normal(size=(2, 3)), "Wh": 0.1 * rng.normal(size=(3, 3)),
                   "b": 0.1 * rng.normal(size=3)}, 5.0))                    # already short: unchanged
    cases.append(({"0.W": 10 * rng.normal(size=(2, 5)), "0.b": rng.normal(size=5), "2.W": rng.normal(size=(5, 1)),
                   "2.b": rng.normal(size=1)}, 1.0))
    hints = ["View all the arrays as one long vector: its norm is the square root of the sum of the squares of "
             "every entry of every array.",
             "If that norm exceeds max_norm, multiply every array by the same factor max_norm / norm; otherwise "
             "leave them as they are. Return new arrays and the norm measured before clipping.",
             "norm = np.sqrt(sum(np.sum(g**2) for g in grads.values())); factor = min(1.0, max_norm / norm); "
             "return {k: g * factor for k, g in grads.items()}, norm"]
    try:
        original = copy.deepcopy(cases[1][0])
        given = copy.deepcopy(cases[1][0])
        # the student's function gets `given` itself (run_student would pass a copy), to see whether it changes it
        got = run_student(lambda _grads, c: student(given, c), (given, cases[1][1]), name, pts, list(hints))
    except _StudentError as err:
        return err.result
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[0], dict)):
        return CheckResult(name, "incorrect", "return a pair (clipped, norm): a dict with one array per key of grads, "
                           f"and a number; got {type(got).__name__}.", hints, max_points=pts)
    if sorted(got[0]) != sorted(original):
        return CheckResult(name, "incorrect", f"clipped must have exactly the keys of grads {sorted(original)}, got "
                           f"{sorted(got[0])}.", hints, max_points=pts, mistake="keys")
    if any(not np.array_equal(given[k], original[k]) for k in original):
        return CheckResult(name, "incorrect", "your function changed the arrays of grads in place (g *= factor): "
                           "return new arrays, g * factor, and leave grads as it was.",
                           ["Write clipped = {k: g * factor for k, g in grads.items()}."] + hints, max_points=pts,
                           mistake="mutates input")
    return check_function(
        _flat(student), _flat(clip_by_global_norm), cases, name=name, points=pts, rtol=1e-5,
        mistakes=[
            Mistake("each array is clipped by its own norm: clipping by the global norm scales all arrays by one "
                    "factor, so the direction of the whole gradient is kept", _flat(_clip_variant(per_array=True)),
                    "Compute one norm over all the arrays together, and one factor."),
            Mistake("every entry is clipped to [-max_norm, max_norm] (clipping by value): clipping by the norm "
                    "scales whole arrays, keeping the direction", _flat(_clip_variant(by_value=True)),
                    "Do not use np.clip; multiply by min(1, max_norm / norm)."),
            Mistake("the gradients are scaled to length max_norm even when they are shorter: clip only when the "
                    "norm exceeds max_norm, with the factor min(1, max_norm / norm)",
                    _flat(_clip_variant(factor_fn=lambda n, c: c / n)), "factor = min(1.0, max_norm / norm)"),
            Mistake("the factor is inverted: multiply by max_norm / norm, which is below 1 when the norm is too "
                    "large", _flat(_clip_variant(factor_fn=lambda n, c: min(1.0, n / c))),
                    "factor = min(1.0, max_norm / norm)"),
            Mistake("the global norm is the sum of the arrays' norms: it is the square root of the sum of all the "
                    "squares, sqrt(sum of |g_k|**2)",
                    _flat(_clip_variant(norm_fn=lambda gs: float(sum(np.linalg.norm(g) for g in gs.values())))),
                    "norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))"),
            Mistake("the norm is not square-rooted: the sum of the squares is the squared norm",
                    _flat(_clip_variant(norm_fn=lambda gs: float(sum(np.sum(g * g) for g in gs.values())))),
                    "Take np.sqrt of the sum of squares."),
            Mistake("the norm returned is measured after clipping: return the norm before, as "
                    "bpkit.optim.clip_grad_norm does (it is what one logs to see the explosions)",
                    _flat(_clip_variant(after=True)), "Compute the norm once, before scaling, and return it."),
        ],
        hints=hints)


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
                    _lstm_variant(order=(1, 0, 2, 3)), "i = sigmoid(a[:, :H]), f = sigmoid(a[:, H:2H])."),
            Mistake("the candidate g goes through a sigmoid: it uses tanh, so that it can also be negative",
                    _lstm_variant(acts=("s", "s", "s", "s")), "g = np.tanh(a[:, 3H:])."),
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
    try:
        b = float(got)
    except (TypeError, ValueError):
        return CheckResult(name, "error", f"expected a number (the forget bias), got {type(got).__name__} {got!r}.",
                           hints, max_points=pts)
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
    got = handed_in(answer, name, pts, hints, "set your answer and run this cell again.")
    if isinstance(got, CheckResult):
        return got
    try:
        a = float(got)
    except (TypeError, ValueError):
        return CheckResult(name, "error", f"expected a number, got {type(got).__name__} {got!r}.", hints,
                           max_points=pts)
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
