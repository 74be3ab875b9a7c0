"""Chapter 10 exercises: the reference solutions pass, and a planted mistake per diagnosis gets its feedback.

Every planted answer runs twice, in-process and the grader's way (``run_exercise_graded``, through
``assert_planted_feedback``), and must get the same verdict both ways.
"""

import numpy as np
import pytest

from _notebooks import (
    ROOT, _cells, _gid, assert_every_exercise_planted, assert_not_attempted, assert_planted_feedback,
    assert_points_match, assert_reference_solutions_pass, assert_time_and_prerequisites, run_exercise)

NB = "10_attention.ipynb"


def test_the_reference_solutions_pass_in_process_and_graded():
    assert_reference_solutions_pass(NB, 9)


def test_points_in_the_notebook_match_the_checks():
    from bpkit.checks.ch10 import POINTS
    assert_points_match(NB, POINTS, 16)


def test_notebook_metadata_states_time_and_prerequisites():
    assert_time_and_prerequisites(NB, ["02_losses", "03_chain_rule", "05_activations", "08_rnn"])


ATT = ("def attention_forward(q, k, v, causal):\n    s = q @ k.transpose(0, 2, 1) / {SCALE}\n"
       "    T = s.shape[-1]\n    mask = {MASK}\n    if causal and {BEFORE}:\n        s = np.where(mask, s, -np.inf)\n"
       "    p = np.exp(s - s.max(axis={AXIS}, keepdims=True))\n    p /= p.sum(axis={AXIS}, keepdims=True)\n"
       "    if causal and not {BEFORE}:\n        p = p * mask\n    return p @ v\n")
OK_ATT = dict(SCALE="np.sqrt(q.shape[-1])", MASK="np.tril(np.ones((T, T), dtype=bool))", BEFORE="True", AXIS="-1")
BACK = ("def attention_backward(dout, q, k, v, p):\n    T = lambda a: a.transpose(0, 2, 1)\n    dv = {DV}\n"
        "    dP = dout @ T(v)\n    dS = {DS}\n    c = {C}\n    return {DQ} @ k * c, T({DSK}) @ q * c, dv\n")
OK_BACK = dict(DV="T(p) @ dout", DS="p * (dP - (dP * p).sum(axis=-1, keepdims=True))", C="1 / np.sqrt(q.shape[-1])",
               DQ="dS", DSK="dS")
LN = ("def layernorm_forward(x, gamma, beta, eps=1e-5):\n    mu = x.mean(axis={AXIS}, keepdims=True)\n"
      "    var = x.var(axis={AXIS}, keepdims=True, ddof={DDOF})\n    xhat = (x - mu) / {DENOM}\n    return {OUT}\n")
OK_LN = dict(AXIS="-1", DDOF="0", DENOM="np.sqrt(var + eps)", OUT="xhat * gamma + beta")
LNB = ("def layernorm_backward(dout, xhat, inv_std, gamma):\n    D = xhat.shape[-1]\n"
       "    axes = tuple(range(xhat.ndim - 1))\n    g = {G}\n    dx = ({DX}) * inv_std / D\n"
       "    return dx, (dout * xhat).sum(axis=axes), dout.sum(axis=axes)\n")
OK_LNB = dict(G="dout * gamma", DX="D * g - g.sum(axis=-1, keepdims=True) - xhat * (g * xhat).sum(axis=-1, keepdims=True)")
EMB = "def embedding_backward(dout, idx, V):\n    D = dout.shape[-1]\n    dW = np.zeros((V, D))\n{BODY}    return dW\n"
OK_EMB = "    np.add.at(dW, idx.ravel(), dout.reshape(-1, D))\n"
SPLIT = "def split_heads(x, heads):\n    N, T, D = x.shape\n    return {BODY}\n"
SHARP = "def sharp_head():\n    explorer.set({SETTINGS})\n    return explorer.values()\n"


def att(**kw):
    return ATT.format(**{**OK_ATT, **kw})


def back(**kw):
    return BACK.format(**{**OK_BACK, **kw})


def ln(**kw):
    return LN.format(**{**OK_LN, **kw})


def lnb(**kw):
    return LNB.format(**{**OK_LNB, **kw})


PLANTED = [
    # (exercise, wrong answer, expected status, words the verdict or first hint must contain)
    ("ex10_1_attention_forward", att(SCALE="1.0"), "incorrect", "the scores are not divided by sqrt(d)"),
    ("ex10_1_attention_forward", att(SCALE="q.shape[-1]"), "incorrect", "divided by d instead of sqrt(d)"),
    ("ex10_1_attention_forward", att(AXIS="1"), "incorrect", "the softmax runs over the wrong axis"),
    ("ex10_1_attention_forward", ATT.format(**OK_ATT).replace("np.exp(s - s.max(axis=-1, keepdims=True))", "np.exp(s)"),
     "incorrect", "the softmax overflows for large scores"),
    ("ex10_1_attention_forward", att(BEFORE="False"), "incorrect", "the mask is applied after the softmax"),
    ("ex10_1_attention_forward", att(MASK="np.triu(np.ones((T, T), dtype=bool))"), "incorrect",
     "the mask hides the past instead of the future"),
    ("ex10_1_attention_forward", att(MASK="np.ones((T, T), dtype=bool)"), "incorrect", "first differing"),
    ("ex10_2_attention_backward", back(DQ="dP"), "incorrect", "dq forgot the softmax Jacobian"),
    ("ex10_2_attention_backward", back(DS="dP"), "incorrect", "dq and dk forgot the softmax Jacobian"),
    ("ex10_2_attention_backward", back(DS="p * dP"), "incorrect", "has only its diagonal"),
    ("ex10_2_attention_backward", back(C="1.0"), "incorrect", "miss the factor 1/sqrt(d)"),
    ("ex10_2_attention_backward", back(DV="p @ dout"), "incorrect", "dv uses P instead of its transpose"),
    ("ex10_3_layernorm_forward", ln(AXIS="0"), "incorrect", "layer norm over the batch axis"),
    ("ex10_3_layernorm_forward", ln(DDOF="1"), "incorrect", "the variance is the unbiased one"),
    ("ex10_3_layernorm_forward", ln(DENOM="(np.sqrt(var) + eps)"), "incorrect", "eps is added to the standard deviation"),
    ("ex10_3_layernorm_forward", ln(DENOM="(var + eps)"), "incorrect", "x is divided by the variance"),
    ("ex10_3_layernorm_forward", ln(OUT="xhat"), "incorrect", "gamma and beta are not applied"),
    ("ex10_4_layernorm_backward", lnb(DX="D * g"), "incorrect", "dx treats the mean and the variance as constants"),
    ("ex10_4_layernorm_backward", lnb(DX="D * g - xhat * (g * xhat).sum(axis=-1, keepdims=True)"), "incorrect",
     "dx misses the path through the mean"),
    ("ex10_4_layernorm_backward", lnb(DX="D * g - g.sum(axis=-1, keepdims=True)"), "incorrect",
     "dx misses the path through the variance"),
    ("ex10_4_layernorm_backward", lnb(G="dout"), "incorrect", "dx forgets gamma"),
    ("ex10_5_embedding_backward", EMB.format(BODY="    dW[idx.ravel()] = dout.reshape(-1, D)\n"), "incorrect",
     "overwrite each other instead of accumulating"),
    ("ex10_5_embedding_backward", EMB.format(BODY="    dW[idx] += dout\n"), "incorrect",
     "overwrite each other instead of accumulating"),
    ("ex10_5_embedding_backward", EMB.format(BODY="    dW[idx] = dout.sum() \n"), "incorrect", "first differing"),
    ("ex10_6_split_heads", SPLIT.format(BODY="x.reshape(N * heads, T, D // heads)"), "incorrect",
     "without a transpose"),
    ("ex10_6_split_heads", SPLIT.format(BODY="x.reshape(N, T, heads, D // heads).transpose(2, 0, 1, 3)"
                                             ".reshape(N * heads, T, D // heads)"), "incorrect",
     "the heads are stacked before the batch"),
    ("ex10_6_split_heads", SPLIT.format(BODY="x.reshape(N, T, D // heads, heads).transpose(0, 3, 1, 2)"
                                             ".reshape(N * heads, T, D // heads)"), "incorrect",
     "every heads-th feature"),
    ("ex10_7_block_num_params", "def block_num_params(D):\n    return 12 * D * D + 4 * D", "incorrect",
     "the biases are missing"),
    ("ex10_7_block_num_params", "def block_num_params(D):\n    return 12 * D * D", "incorrect", "expected 1330"),
    ("ex10_7_block_num_params", "def block_num_params(D):\n    return 12 * D * D + 9 * D", "incorrect",
     "the two layer norms are missing"),
    ("ex10_7_block_num_params", "def block_num_params(D):\n    return 11 * D * D + 12 * D", "incorrect",
     "output projection Wo"),
    ("ex10_7_block_num_params", "def block_num_params(D):\n    return 6 * D * D + 10 * D", "incorrect",
     "hidden width of D"),
    ("ex10_8_sharp_head", SHARP.format(SETTINGS="sharpness=1.0"), "incorrect", "below 0.9"),
    ("ex10_8_sharp_head", SHARP.format(SETTINGS="sharpness=2.0"), "incorrect", "find the smallest"),
    ("ex10_8_sharp_head", SHARP.format(SETTINGS="query=5, sharpness=1.0"), "incorrect", "keep query = 10"),
    ("ex10_8_sharp_head", "def sharp_head():\n    return 1.25", "error", "expected the dict explorer.values()"),
    ("ex10_9_key_gradient", "def key_gradient():\n    return 2", "incorrect", "that key has the largest weight"),
    ("ex10_9_key_gradient", "def key_gradient():\n    return 20", "incorrect", "the causal mask"),
    ("ex10_9_key_gradient", "def key_gradient():\n    return 'three'", "error", "expected a key position"),
]


@pytest.mark.parametrize("grade_id, answer, status, words", PLANTED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_gets_the_intended_feedback(grade_id, answer, status, words):
    assert_planted_feedback(NB, grade_id, answer, status, words)


def test_the_planted_answers_are_otherwise_correct():
    """The templates with nothing planted pass: each planted answer differs from a correct one by one mistake."""
    for grade_id, answer in [("ex10_1_attention_forward", att()), ("ex10_2_attention_backward", back()),
                             ("ex10_3_layernorm_forward", ln()), ("ex10_4_layernorm_backward", lnb()),
                             ("ex10_5_embedding_backward", EMB.format(BODY=OK_EMB)),
                             ("ex10_6_split_heads", SPLIT.format(
                                 BODY="x.reshape(N, T, heads, D // heads).transpose(0, 2, 1, 3).reshape(N * heads, T, "
                                      "D // heads)")),
                             ("ex10_7_block_num_params", "def block_num_params(D):\n    return 12 * D * D + 13 * D"),
                             ("ex10_8_sharp_head", SHARP.format(SETTINGS="sharpness=1.25"))]:
        result = run_exercise(NB, grade_id, answer)
        assert result.status == "correct", result.summary()


def test_every_exercise_has_a_planted_mistake():
    assert_every_exercise_planted(NB, PLANTED)


def test_the_required_mistakes_are_named():
    """The issue's six mistakes each have a planted test above."""
    words = " | ".join(p[3] for p in PLANTED)
    for must in ("not divided by sqrt(d)", "the softmax runs over the wrong axis", "the mask is applied after the softmax",
                 "dq forgot the softmax Jacobian", "layer norm over the batch axis",
                 "overwrite each other instead of accumulating"):
        assert must in words


@pytest.mark.parametrize("grade_id", ["ex10_1_attention_forward", "ex10_4_layernorm_backward", "ex10_8_sharp_head",
                                      "ex10_9_key_gradient"])
def test_unsolved_stub_is_not_attempted(grade_id):
    cells = _cells(ROOT / "solutions" / NB)
    src = next("".join(c["source"]) for c in cells if _gid(c) == grade_id)
    head = src.split("### BEGIN SOLUTION")[0]
    assert_not_attempted(NB, grade_id, head + "    # YOUR CODE HERE\n    raise NotImplementedError()\n")


def test_calling_bpkit_s_own_op_gets_no_points():
    result = run_exercise(NB, "ex10_1_attention_forward",
                          "def attention_forward(q, k, v, causal):\n    return ops.attention_forward(q, k, v, causal)[0]")
    assert result.status != "correct" and result.points == 0, result.summary()


def test_a_student_exception_is_reported_with_their_line():
    result = run_exercise(NB, "ex10_6_split_heads", "def split_heads(x, heads):\n    return x.reshape(heads, -1, 7)")
    assert result.status == "error" and "your code raised ValueError" in result.message, result.summary()
    assert "bpkit/" not in result.summary()


def test_no_two_named_counts_coincide_on_a_checked_width():
    """A diagnosis is named from the first failing case: no two formulas may agree there (at D = 8, two do)."""
    from bpkit.checks.ch10 import BLOCK_WIDTHS
    formulas = [lambda D: 12 * D * D + 13 * D, lambda D: 12 * D * D + 4 * D, lambda D: 12 * D * D + 9 * D,
                lambda D: 11 * D * D + 12 * D, lambda D: 6 * D * D + 10 * D]
    for D in BLOCK_WIDTHS:
        values = [f(D) for f in formulas]
        assert len(set(values)) == len(values), D
    assert formulas[1](8) == formulas[3](8)


def test_the_widget_answers_are_the_widget_numbers():
    """10.8's answer is the first slider value past the closed form; 10.9's key gradient beats the heavy keys."""
    from bpkit.checks.ch10 import KEY_GRADIENT, SHARP_HEAD, _previous_weight
    t = SHARP_HEAD["query"]
    closed = np.log(SHARP_HEAD["weight"] / (1 - SHARP_HEAD["weight"]) * t) / 4        # e^(4a) / (e^(4a) + t) = 0.9
    assert 1.0 < closed < 1.25
    assert _previous_weight(1.0) < 0.9 <= _previous_weight(1.25)
    from bpkit.widgets.attention import attention_map
    r = attention_map(**KEY_GRADIENT)
    assert np.argmax(r.dk) == 3 and r.dk[3] > 2 * max(r.dk[2], r.dk[12])
