"""Checks for Chapter 8, recurrent networks and the LSTM (the LSTM's checks live in :mod:`.ch08_lstm`).

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

from .. import ops
from ..widgets.recurrent import gradient_flow
from ._context import case_rng, own_work
from ._engine import (CheckResult, Mistake, _mutation_details, _StudentError, check_function, handed_in,
                      handed_in_settings, run_student, with_fix)
from .ch08_lstm import (ADDING_BASELINE, FORGET_KEPT, LSTM_POINTS, adding_baseline, check_adding_baseline,
                        check_forget_bias, check_lstm_cell_backward, check_lstm_num_params, check_lstm_step_forward,
                        lstm_cell_backward, lstm_num_params, lstm_step_forward)

__all__ = ["ADDING_BASELINE", "FORGET_KEPT", "POINTS", "SCALE_WINDOW", "adding_baseline", "check_adding_baseline",
           "check_clip_by_global_norm", "check_forget_bias", "check_lstm_cell_backward", "check_lstm_num_params",
           "check_lstm_step_forward", "check_rnn_backward", "check_rnn_step_backward", "check_scale_window",
           "clip_by_global_norm", "lstm_cell_backward", "lstm_num_params", "lstm_step_forward", "rnn_backward",
           "rnn_step_backward"]

#: Points per exercise, read by the course tools.
POINTS = {"rnn_step_backward": 2, "rnn_backward": 3, "scale_window": 1, "clip_by_global_norm": 2,
          **LSTM_POINTS}

#: Exercise 8.3: the RNN (T = 50) must keep a gradient between these bounds 30 steps back.
SCALE_WINDOW = {"T": 50, "k": 30, "low": 1e-3, "high": 1e3}


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
            Mistake("the tanh derivative is written 1 - h: it is 1 - h**2, since tanh'(z) = 1 - tanh(z)**2 and "
                    "tanh(z) = h", _step_variant(dz_fn=lambda dh, z, h: dh * (1 - h)),
                    "Square h: tanh'(z) = 1 - tanh(z)**2."),
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


def _bptt_variant(upstream="all", carry=True, weights="sum", prev="ok", deriv="ok"):
    """BPTT with one mistake: ``upstream`` "all"/"last"; ``carry`` the gradient from t + 1; ``weights`` "sum",
    "overwrite" (a backward loop that assigns, keeping time step 1) or "last" (time step T only); ``prev``
    "ok", "same" (h_t instead of h_{t-1}), "zero" (zeros instead of h0 at the first step) or "wrap"
    (``h[:, t - 1]`` also at t = 0, which is the last state); ``deriv`` "ok" or "1-h" (tanh' as 1 - h)."""
    def f(dh, x, h0, Wx, Wh, h):
        N, T, H = h.shape
        dx = np.zeros_like(x)
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
        dnext = np.zeros((N, H))
        for t in reversed(range(T)):
            up = dh[:, t] if (upstream == "all" or t == T - 1) else 0.0
            dz = (up + (dnext if carry else 0.0)) * (1 - h[:, t] ** 2 if deriv == "ok" else 1 - h[:, t])
            if prev == "same":
                hp = h[:, t]
            elif prev == "wrap":
                hp = h[:, t - 1]
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
                    "Keep dh_next = dz @ Wh.T from each step and add it at the step before, without changing dh "
                    "in place: dz = (dh[:, t] + dh_next) * (1 - h[:, t]**2)."),
            Mistake("dWh pairs dz_t with h_t: the weights Wh multiply the previous state, so step t adds "
                    "h_(t-1).T @ dz_t, which is h[:, t - 1] in code (h0 at the first step)",
                    _bptt_variant(prev="same"), "h[:, t] is the state after step t; the state before it is "
                    "h[:, t - 1], or h0 for t = 0."),
            Mistake("the first step uses zeros as its previous state: it is h0, which need not be zero",
                    _bptt_variant(prev="zero"), "For t = 0 the previous state is h0."),
            Mistake("at t = 0 the previous state is taken as h[:, t - 1], which is h[:, -1], the last state (a "
                    "negative index wraps around): the state before the first step is h0",
                    _bptt_variant(prev="wrap"), "h_prev = h[:, t - 1] if t > 0 else h0"),
            Mistake("the tanh derivative is written 1 - h: it is 1 - h**2, since tanh'(z) = 1 - tanh(z)**2 and "
                    "tanh(z) = h", _bptt_variant(deriv="1-h"), "Square h: tanh'(z) = 1 - tanh(z)**2."),
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
    got = handed_in_settings(answer, _FLOW_KEYS, "explorer.values()", name, pts, hints)
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
    changed = [k for k in original if not np.array_equal(given[k], original[k])]
    if changed:
        which = ", ".join(f"`grads[{k!r}]`" for k in changed)
        details = [f"test case 2 of {len(cases)} (grads with keys {', '.join(original)}, max_norm={cases[1][1]:g})"]
        details += _mutation_details([f"grads[{k!r}]" for k in changed], [original[k] for k in changed],
                                     [given[k] for k in changed])[1]
        return CheckResult(name, "incorrect", f"your function changed {which} in place (g *= factor): "
                           "return new arrays, g * factor, and leave grads as it was.",
                           with_fix(hints, "Write clipped = {k: g * factor for k, g in grads.items()}."), details,
                           max_points=pts, mistake="mutates input")
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
