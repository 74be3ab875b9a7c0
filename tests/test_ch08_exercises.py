"""Chapter 8 exercises: the reference solutions pass, and a planted mistake per diagnosis gets its feedback."""

import numpy as np
import pytest

from _notebooks import (
    assert_every_exercise_planted, assert_not_attempted, assert_planted_feedback, assert_points_match,
    assert_reference_solutions_pass, assert_time_and_prerequisites, run_exercise)

NB = "08_rnn.ipynb"


def test_the_reference_solutions_pass_in_process():
    assert_reference_solutions_pass(NB, 9)


def test_points_in_the_notebook_match_the_checks():
    from bpkit.checks.ch08 import POINTS
    assert_points_match(NB, POINTS, 16)


def test_notebook_metadata_states_time_and_prerequisites():
    assert_time_and_prerequisites(NB, ["06_training"])


STEP = ("def rnn_step_backward(dh, x, h_prev, Wx, Wh, b, h):\n    dz = {DZ}\n"
        "    return dz @ Wx.T, {DH_PREV}, x.T @ dz, {DWH}, {DB}\n")
OK_STEP = dict(DZ="dh * (1 - h ** 2)", DH_PREV="dz @ Wh.T", DWH="h_prev.T @ dz", DB="dz.sum(axis=0)")
BPTT = ("def rnn_backward(dh, x, h0, Wx, Wh, h):\n    N, T, H = h.shape\n    dx = np.zeros_like(x)\n"
        "    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)\n    dh_next = np.zeros((N, H))\n"
        "    for t in reversed(range(T)):\n        h_prev = {PREV}\n        dz = ({TOTAL}) * (1 - h[:, t] ** 2)\n"
        "        dx[:, t] = dz @ Wx.T\n{SUMS}        dh_next = dz @ Wh.T\n    return dx, dh_next, dWx, dWh, db\n")
OK_BPTT = dict(PREV="h[:, t - 1] if t > 0 else h0", TOTAL="dh[:, t] + dh_next",
               SUMS="        dWx += x[:, t].T @ dz\n        dWh += h_prev.T @ dz\n        db += dz.sum(axis=0)\n")
SCALE = "def scale_window():\n    explorer.set({SETTINGS})\n    return explorer.values()\n"
CLIP = ("def clip_by_global_norm(grads, max_norm):\n    norm = {NORM}\n    factor = {FACTOR}\n"
        "    return {{k: {SCALED} for k, g in grads.items()}}, {RET}\n")
OK_NORM = "float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))"
OK_CLIP = dict(NORM=OK_NORM, FACTOR="min(1.0, max_norm / norm)", SCALED="g * factor", RET="norm")
LSTM = ("def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):\n    H = h_prev.shape[1]\n"
        "    a = x @ Wx + h_prev @ Wh + b\n    blk = [a[:, k * H:(k + 1) * H] for k in range(4)]\n"
        "    i, f, o, g = {GATES}\n    c = {C}\n    return {H_OUT}, c\n")
OK_LSTM = dict(GATES="ops.sigmoid(blk[0]), ops.sigmoid(blk[1]), ops.sigmoid(blk[2]), np.tanh(blk[3])",
               C="f * c_prev + i * g", H_OUT="o * np.tanh(c)")
CELL = ("def lstm_cell_backward(dh, dc_next, c_prev, i, f, o, g, c):\n    tc = np.tanh(c)\n    dc = {DC}\n"
        "    return {DC_PREV}, dc * g, {DF}, {DO}, dc * i\n")
OK_CELL = dict(DC="dc_next + dh * o * (1 - tc ** 2)", DC_PREV="dc * f", DF="dc * c_prev", DO="dh * tc")


def step(**kw):
    return STEP.format(**{**OK_STEP, **kw})


def bptt(**kw):
    return BPTT.format(**{**OK_BPTT, **kw})


def clip(**kw):
    return CLIP.format(**{**OK_CLIP, **kw})


def lstm(**kw):
    return LSTM.format(**{**OK_LSTM, **kw})


def cell(**kw):
    return CELL.format(**{**OK_CELL, **kw})


PLANTED = [
    # (exercise, wrong answer, expected status, words the verdict or first hint must contain)
    ("ex8_1_rnn_step_backward", step(DZ="dh * (1 - (x @ Wx + h_prev @ Wh + b) ** 2)"), "incorrect",
     "the tanh derivative is taken of the pre-activation z itself"),
    ("ex8_1_rnn_step_backward", step(DZ="dh * (1 - np.tanh(h) ** 2)"), "incorrect",
     "evaluated at h as if h were the pre-activation"),
    ("ex8_1_rnn_step_backward", step(DZ="dh"), "incorrect", "the gradient does not go through the tanh"),
    ("ex8_1_rnn_step_backward", step(DH_PREV="dz @ Wh"), "incorrect", "dh_prev uses Wh instead of its transpose"),
    ("ex8_1_rnn_step_backward", step(DWH="dz.T @ h_prev"), "incorrect", "dWh is transposed"),
    ("ex8_1_rnn_step_backward", step(DWH="h.T @ dz"), "incorrect", "dWh uses the new state h"),
    ("ex8_1_rnn_step_backward", step(DB="dz"), "incorrect", "not summed over the batch"),
    ("ex8_2_rnn_backward", bptt(SUMS="        dWx = x[:, t].T @ dz\n        dWh = h_prev.T @ dz\n"
                                     "        db = dz.sum(axis=0)\n"), "incorrect",
     "the shared weights' gradients are not accumulated over time"),
    ("ex8_2_rnn_backward", bptt(SUMS="        if t == T - 1:\n            dWx, dWh, db = x[:, t].T @ dz, h_prev.T @ dz, "
                                     "dz.sum(axis=0)\n"), "incorrect",
     "contribution of one time step only (the last)"),
    ("ex8_2_rnn_backward", bptt(TOTAL="(dh[:, t] if t == T - 1 else 0) + dh_next"), "incorrect",
     "the gradient from the output at each step is missing"),
    ("ex8_2_rnn_backward", bptt(TOTAL="dh[:, t]"), "incorrect", "the gradient coming back from step t + 1 is dropped"),
    ("ex8_2_rnn_backward", bptt(PREV="h[:, t]"), "incorrect", "dWh pairs dz_t with h_t"),
    ("ex8_2_rnn_backward", bptt(PREV="h[:, t - 1] if t > 0 else np.zeros_like(h0)"), "incorrect",
     "the first step uses zeros as its previous state"),
    ("ex8_3_scale_window", SCALE.format(SETTINGS="scale=0.5"), "incorrect", "every singular value is below 1"),
    ("ex8_3_scale_window", SCALE.format(SETTINGS="scale=1.0"), "incorrect", "the tanh derivatives shrink it"),
    ("ex8_3_scale_window", SCALE.format(SETTINGS="scale=4.0"), "incorrect", "it explodes"),
    ("ex8_3_scale_window", SCALE.format(SETTINGS="T=100, scale=2.0"), "incorrect", "keep the vanilla RNN"),
    ("ex8_3_scale_window", SCALE.format(SETTINGS="cell='lstm'"), "incorrect", "keep the vanilla RNN"),
    ("ex8_3_scale_window", "def scale_window():\n    return 2.0", "error", "expected the dict explorer.values()"),
    ("ex8_4_clip_by_global_norm", "def clip_by_global_norm(grads, max_norm):\n"
     "    out = {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}\n"
     f"    return out, {OK_NORM}\n", "incorrect", "each array is clipped by its own norm"),
    ("ex8_4_clip_by_global_norm", clip(SCALED="np.clip(g, -max_norm, max_norm)"), "incorrect",
     "clipping by value"),
    ("ex8_4_clip_by_global_norm", clip(FACTOR="max_norm / norm"), "incorrect", "even when they are shorter"),
    ("ex8_4_clip_by_global_norm", clip(FACTOR="min(1.0, norm / max_norm)"), "incorrect", "the factor is inverted"),
    ("ex8_4_clip_by_global_norm", clip(NORM="float(sum(np.linalg.norm(g) for g in grads.values()))"), "incorrect",
     "the sum of the arrays' norms"),
    ("ex8_4_clip_by_global_norm", clip(NORM="float(sum(np.sum(g ** 2) for g in grads.values()))"), "incorrect",
     "the norm is not square-rooted"),
    ("ex8_4_clip_by_global_norm", clip(RET="float(np.sqrt(sum(np.sum((g * factor) ** 2) for g in grads.values())))"),
     "incorrect", "the norm returned is measured after clipping"),
    ("ex8_4_clip_by_global_norm", "def clip_by_global_norm(grads, max_norm):\n"
     f"    norm = {OK_NORM}\n    for g in grads.values():\n        g *= min(1.0, max_norm / norm)\n"
     "    return grads, norm\n", "incorrect", "in place (g *= factor): return new arrays"),
    ("ex8_5_lstm_step_forward", lstm(GATES="ops.sigmoid(blk[0]), ops.sigmoid(blk[1]), ops.sigmoid(blk[3]), "
                                           "np.tanh(blk[2])"), "incorrect", "PyTorch's order i, f, g, o"),
    ("ex8_5_lstm_step_forward", lstm(GATES="ops.sigmoid(blk[1]), ops.sigmoid(blk[0]), ops.sigmoid(blk[2]), "
                                           "np.tanh(blk[3])"), "incorrect", "the input and forget gates are swapped"),
    ("ex8_5_lstm_step_forward", lstm(GATES="[ops.sigmoid(z) for z in blk]"), "incorrect",
     "the candidate g goes through a sigmoid"),
    ("ex8_5_lstm_step_forward", lstm(C="f * c_prev + g"), "incorrect", "the input gate is missing"),
    ("ex8_5_lstm_step_forward", lstm(C="c_prev + i * g"), "incorrect",
     "the old cell is not multiplied by the forget gate"),
    ("ex8_5_lstm_step_forward", lstm(H_OUT="o * c"), "incorrect", "h is o * c"),
    ("ex8_5_lstm_step_forward", lstm(H_OUT="o * np.tanh(c_prev)"), "incorrect", "h is computed from the old cell"),
    ("ex8_6_lstm_cell_backward", cell(DF="dc"), "incorrect", "df forgets c_prev"),
    ("ex8_6_lstm_cell_backward", cell(DC="dc_next"), "incorrect", "misses the path through h = o * tanh(c)"),
    ("ex8_6_lstm_cell_backward", cell(DC="dc_next + dh * o * (1 - c ** 2)"), "incorrect", "taken of c itself"),
    ("ex8_6_lstm_cell_backward", cell(DC="dc_next + dh * (1 - tc ** 2)"), "incorrect", "misses the output gate"),
    ("ex8_6_lstm_cell_backward", cell(DC_PREV="dc"), "incorrect", "dc_prev is not multiplied by the forget gate"),
    ("ex8_6_lstm_cell_backward", cell(DC_PREV="dc_next * f"), "incorrect", "dc_prev uses only dc_next"),
    ("ex8_6_lstm_cell_backward", cell(DO="dh * c"), "incorrect", "do uses c instead of tanh(c)"),
    ("ex8_6_lstm_cell_backward", "def lstm_cell_backward(dh, dc_next, c_prev, i, f, o, g, c):\n    tc = np.tanh(c)\n"
     "    dc = dc_next + dh * o * (1 - tc ** 2)\n    return (dc * f, dc * g * i * (1 - i), dc * c_prev * f * (1 - f), "
     "dh * tc * o * (1 - o), dc * i * (1 - g ** 2))\n", "incorrect", "the gradients of the pre-activations"),
    ("ex8_7_lstm_num_params", "def lstm_num_params(D, H):\n    return 4 * (D * H + H * H)", "incorrect",
     "the biases are missing"),
    ("ex8_7_lstm_num_params", "def lstm_num_params(D, H):\n    return 3 * (D * H + H * H + H)", "incorrect",
     "this counts three gates"),
    ("ex8_7_lstm_num_params", "def lstm_num_params(D, H):\n    return D * H + H * H + H", "incorrect",
     "a vanilla RNN's count"),
    ("ex8_7_lstm_num_params", "def lstm_num_params(D, H):\n    return 4 * (D * H + H * H + 2 * H)", "incorrect",
     "two biases per gate unit"),
    ("ex8_7_lstm_num_params", "def lstm_num_params(D, H):\n    return 4 * (D * H + H)", "incorrect",
     "the recurrent weights Wh (H, 4H) are missing"),
    ("ex8_8_forget_bias", "def forget_bias():\n    return 1.0", "incorrect", "below 0.01"),
    ("ex8_8_forget_bias", "def forget_bias():\n    return 3.0", "incorrect", "a forget bias of 2 already keeps"),
    ("ex8_8_forget_bias", "def forget_bias():\n    return 1.7", "incorrect", "one of the slider's values"),
    ("ex8_8_forget_bias", "def forget_bias():\n    return explorer2.values()", "error", "expected a number"),
    ("ex8_9_adding_baseline", "def adding_baseline():\n    return 1 / 12", "incorrect",
     "1/12 is the variance of one uniform number"),
    ("ex8_9_adding_baseline", "def adding_baseline():\n    return 1 / 3", "incorrect",
     "the sum of two uniform numbers is not uniform"),
    ("ex8_9_adding_baseline", "def adding_baseline():\n    return np.sqrt(1 / 6)", "incorrect", "(the RMSE)"),
    ("ex8_9_adding_baseline", "def adding_baseline():\n    return 7 / 6", "incorrect", "the MSE of predicting 0"),
    ("ex8_9_adding_baseline", "def adding_baseline():\n    return 0.25", "incorrect", "is too large"),
    ("ex8_9_adding_baseline", "def adding_baseline():\n    return 'one sixth'", "error", "expected a number"),
    # issue 14: mistakes that had no name
    ("ex8_1_rnn_step_backward", step(DZ="dh * (1 - h)"), "incorrect", "the tanh derivative is written 1 - h"),
    ("ex8_2_rnn_backward", BPTT.format(**{**OK_BPTT, "PREV": "h[:, t - 1]"}), "incorrect",
     "at t = 0 the previous state is taken as h[:, t - 1]"),
    ("ex8_2_rnn_backward", BPTT.format(**{**OK_BPTT}).replace("* (1 - h[:, t] ** 2)", "* (1 - h[:, t])"),
     "incorrect", "the tanh derivative is written 1 - h"),
    ("ex8_6_lstm_cell_backward", CELL.format(**{**OK_CELL, "DC": "dc_next + dh * o * (1 - tc)"}), "incorrect",
     "written 1 - tanh(c)"),
    ("ex8_6_lstm_cell_backward", "def lstm_cell_backward(dh, dc_next, c_prev, i, f, o, g, c):\n"
     "    tc = np.tanh(c)\n    dc = dc_next + dh * o * (1 - tc ** 2)\n"
     "    return dc * g, dc * c_prev, dh * tc, dc * i, dc * f\n", "incorrect", "the outputs are in the wrong order"),
]


@pytest.mark.parametrize("grade_id, answer, status, words", PLANTED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_gets_the_intended_feedback(grade_id, answer, status, words):
    assert_planted_feedback(NB, grade_id, answer, status, words)


def test_the_planted_answers_are_otherwise_correct():
    """The templates with nothing planted pass: each planted answer differs from a correct one by one mistake."""
    for grade_id, answer in [("ex8_1_rnn_step_backward", step()), ("ex8_2_rnn_backward", bptt()),
                             ("ex8_4_clip_by_global_norm", clip()), ("ex8_5_lstm_step_forward", lstm()),
                             ("ex8_6_lstm_cell_backward", cell()),
                             ("ex8_3_scale_window", SCALE.format(SETTINGS="scale=1.5"))]:
        result = run_exercise(NB, grade_id, answer)
        assert result.status == "correct", result.summary()


def test_every_exercise_has_a_planted_mistake():
    assert_every_exercise_planted(NB, PLANTED)


@pytest.mark.parametrize("grade_id, stub", [
    ("ex8_1_rnn_step_backward", "def rnn_step_backward(dh, x, h_prev, Wx, Wh, b, h):\n    # YOUR CODE HERE\n"
     "    raise NotImplementedError()"),
    ("ex8_2_rnn_backward", "def rnn_backward(dh, x, h0, Wx, Wh, h):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex8_3_scale_window", "def scale_window():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex8_4_clip_by_global_norm", "def clip_by_global_norm(grads, max_norm):\n    # YOUR CODE HERE\n"
     "    raise NotImplementedError()"),
    ("ex8_6_lstm_cell_backward", "def lstm_cell_backward(dh, dc_next, c_prev, i, f, o, g, c):\n    # YOUR CODE HERE\n"
     "    raise NotImplementedError()"),
    ("ex8_8_forget_bias", "def forget_bias():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex8_9_adding_baseline", "def adding_baseline():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
])
def test_unsolved_stub_is_not_attempted(grade_id, stub):
    assert_not_attempted(NB, grade_id, stub)


def test_a_student_exception_is_reported_with_their_line():
    result = run_exercise(NB, "ex8_5_lstm_step_forward",
                          "def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):\n    a = x @ Wh\n    return a, a")
    assert result.status == "error" and "your code raised ValueError" in result.message, result.summary()
    assert "bpkit/" not in result.summary()


def test_hints_are_progressive():
    result = run_exercise(NB, "ex8_2_rnn_backward", bptt(TOTAL="dh[:, t]"))
    first = result.next_hint()
    assert first.startswith("Walk backwards")                 # a nudge first, even when a mistake is named
    while result.next_hint() is not None:
        pass
    assert "Keep dh_next = dz @ Wh.T" in result.hints[-2]     # the mistake's fix, in code, just before the answer
    assert "ops.rnn_step_backward(dh[:, t] + dh_next" in result.hints[-1]   # the last hint gives the answer


def test_the_widget_answers_are_the_widget_numbers():
    """The widget exercises check against gradient_flow: the reference answers really reach the targets, with margin."""
    from bpkit.checks.ch08 import FORGET_KEPT, SCALE_WINDOW
    from bpkit.widgets.recurrent import gradient_flow
    T, k = SCALE_WINDOW["T"], SCALE_WINDOW["k"]
    assert gradient_flow("rnn", T, 1.0).kept(k) < SCALE_WINDOW["low"] / 10            # scale 1 still vanishes
    assert 1e-2 < gradient_flow("rnn", T, 2.0).kept(k) < 1e2                          # well inside the window
    assert gradient_flow("rnn", T, 4.0).kept(k) > SCALE_WINDOW["high"] * 10            # explodes
    kept = [gradient_flow("lstm", FORGET_KEPT["T"], FORGET_KEPT["scale"], b).kept(FORGET_KEPT["k"], "c")
            for b in np.arange(-2.0, 2.01, 0.5)]
    assert max(kept[:-1]) < FORGET_KEPT["fraction"] / 2 and kept[-1] > 2 * FORGET_KEPT["fraction"]


def test_the_adding_baseline_is_the_data_s():
    from bpkit import data
    from bpkit.checks.ch08 import ADDING_BASELINE
    _, y = data.adding_problem(100_000, 10, np.random.default_rng(0))
    assert np.mean((y - 1) ** 2) == pytest.approx(ADDING_BASELINE, abs=3e-3)


def test_lstm_count_is_bpkit_s():
    from bpkit import nn
    from bpkit.checks.ch08 import lstm_num_params
    for D, H in ((2, 3), (7, 11)):
        assert lstm_num_params(D, H) == 4 * (D * H + H * H + H) == nn.LSTM(D, H, rng=np.random.default_rng(0)).num_params()
