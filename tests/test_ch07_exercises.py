"""Chapter 7 exercises: the reference solutions pass, and a planted mistake per diagnosis gets its feedback."""

import numpy as np
import pytest

from _notebooks import (
    assert_every_exercise_planted, assert_not_attempted, assert_planted_feedback, assert_points_match,
    assert_reference_solutions_pass, assert_time_and_prerequisites, run_exercise)

NB = "07_cnn.ipynb"


def test_the_reference_solutions_pass_in_process():
    assert_reference_solutions_pass(NB, 8)


def test_points_in_the_notebook_match_the_checks():
    from bpkit.checks.ch07 import POINTS
    assert_points_match(NB, POINTS, 14)


def test_notebook_metadata_states_time_and_prerequisites():
    assert_time_and_prerequisites(NB, ["06_training"])


SIZE = "def conv_output_size(H, K, stride, padding):\n    return {EXPR}\n"
FWD = ("def conv2d_forward(x, W, b, stride, padding):\n    N, C, H, Wd = x.shape\n    F, _, KH, KW = W.shape\n"
       "    xp = np.pad(x, {PAD})\n    H_out = (xp.shape[2] - KH) // stride + 1\n"
       "    W_out = (xp.shape[3] - KW) // stride + 1\n    out = np.zeros((N, F, H_out, W_out))\n"
       "    for n in range(N):\n        for f in range(F):\n            for i in range(H_out):\n"
       "                for j in range(W_out):\n"
       "                    win = xp[n, :, {ROW}:{ROW} + KH, {COL}:{COL} + KW]\n"
       "                    out[n, f, i, j] = np.sum({KERNEL} * win){BIAS}\n    return {OUT}\n")
OK_FWD = dict(PAD="((0, 0), (0, 0), (padding, padding), (padding, padding))", ROW="i * stride", COL="j * stride",
              KERNEL="W[f]", BIAS=" + b[f]", OUT="out")
GRADS = ("def conv2d_param_grads(x, W, dout, stride, padding):\n    F, C, KH, KW = W.shape\n"
         "    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))\n"
         "    per = np.zeros((len(x),) + W.shape)\n"
         "    for i in range(dout.shape[2]):\n        for j in range(dout.shape[3]):\n"
         "            win = xp[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW]\n"
         "            per += np.einsum('nf,nckl->nfckl', dout[:, :, i, j], win)\n"
         "    return {DW}, {DB}\n")
OK_DW, OK_DB = "per.sum(axis=0)", "dout.sum(axis=(0, 2, 3))"
DX = ("def conv2d_input_grad(dout, W, padding):\n    F, C, KH, KW = W.shape\n"
      "    dp = np.pad(dout, ((0, 0), (0, 0), ({PADK}, {PADK}), ({PADW}, {PADW})))\n"
      "    dxp, _ = ops.conv2d_forward(dp, {KERNEL}, np.zeros(C))\n    return {CROP}\n")
OK_DX = dict(PADK="KH - 1", PADW="KW - 1", KERNEL="W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]",
             CROP="dxp[:, :, padding:dxp.shape[2] - padding, padding:dxp.shape[3] - padding]")
POOL = ("def pool_backward(x, dout, k, kind):\n    dx = np.zeros_like(x)\n"
        "    for i in range(x.shape[2] // k):\n        for j in range(x.shape[3] // k):\n"
        "            r, c = slice(i * k, (i + 1) * k), slice(j * k, (j + 1) * k)\n"
        "            g = dout[:, :, i, j][:, :, None, None]\n            w = x[:, :, r, c]\n"
        "            if kind == 'max':\n                dx[:, :, r, c] = {MAX}\n"
        "            else:\n                dx[:, :, r, c] = {AVG}\n    return dx\n")
OK_MAX, OK_AVG = "g * (w == w.max(axis=(2, 3), keepdims=True))", "g / k ** 2"
COST = ("def conv_cost(C, H, F, K, stride, padding):\n    H_out = (H + 2 * padding - K) // stride + 1\n"
        "    return {PARAMS}, {FLOPS}\n")
OK_PARAMS, OK_FLOPS = "F * C * K * K + F", "2 * C * K * K * F * H_out ** 2"
EDGE = "def vertical_edges():\n    explorer.kernel = {KERNEL}\n    return explorer.kernel\n"
READ = "def stride_and_padding():\n    return {ANSWER}\n"

PLANTED = [
    # (exercise, wrong answer, expected status, words the verdict or first hint must contain)
    ("ex7_1_output_size", SIZE.format(EXPR="(H + 2 * padding - K) // stride"), "incorrect", "the + 1 is missing"),
    ("ex7_1_output_size", SIZE.format(EXPR="(H + padding - K) // stride + 1"), "incorrect",
     "the padding is added once"),
    ("ex7_1_output_size", SIZE.format(EXPR="(H - K) // stride + 1"), "incorrect", "the padding is ignored"),
    ("ex7_1_output_size", SIZE.format(EXPR="int(np.ceil((H + 2 * padding - K) / stride)) + 1"), "incorrect",
     "this rounds up (ceil)"),
    ("ex7_1_output_size", SIZE.format(EXPR="(H + 2 * padding - K) / stride + 1"), "incorrect",
     "use floor division"),
    ("ex7_2_conv2d_forward", FWD.format(**{**OK_FWD, "KERNEL": "W[f, :, ::-1, ::-1]"}), "incorrect",
     "the kernel is flipped"),
    ("ex7_2_conv2d_forward", FWD.format(**{**OK_FWD, "OUT": "out.transpose(0, 2, 3, 1)"}), "incorrect",
     "channels-last layout (N, H_out, W_out, F)"),
    ("ex7_2_conv2d_forward", FWD.format(**{**OK_FWD, "PAD": "((0, 0), (0, 0), (padding, 0), (padding, 0))"}),
     "incorrect", "the padding is applied on one side only"),
    ("ex7_2_conv2d_forward", FWD.format(**{**OK_FWD, "PAD": "((0, 0), (0, 0), (0, padding), (0, padding))"}),
     "incorrect", "the padding is applied on one side only"),
    ("ex7_2_conv2d_forward", FWD.format(**{**OK_FWD, "PAD": "((0, 0), (0, 0), (0, 0), (0, 0))"}), "incorrect",
     "the padding is missing"),
    ("ex7_2_conv2d_forward", FWD.format(**{**OK_FWD, "BIAS": ""}), "incorrect", "the bias is missing"),
    ("ex7_2_conv2d_forward", FWD.format(**{**OK_FWD, "ROW": "i", "COL": "j"}), "incorrect",
     "the stride is ignored when placing the window"),
    ("ex7_3_conv2d_param_grads", GRADS.format(DW="per", DB=OK_DB), "incorrect", "dW is not summed over the batch"),
    ("ex7_3_conv2d_param_grads", GRADS.format(DW="per[-1]", DB=OK_DB), "incorrect",
     "dW holds the last example's contribution only"),
    ("ex7_3_conv2d_param_grads", GRADS.format(DW="per.mean(axis=0)", DB=OK_DB), "incorrect",
     "dW is averaged over the batch"),
    ("ex7_3_conv2d_param_grads", GRADS.format(DW="per.sum(axis=0)[:, :, ::-1, ::-1]", DB=OK_DB), "incorrect",
     "dW is flipped"),
    ("ex7_3_conv2d_param_grads", GRADS.format(DW="per.sum(axis=0).transpose(1, 0, 2, 3)", DB=OK_DB), "incorrect",
     "dW has its filter and channel axes swapped"),
    ("ex7_3_conv2d_param_grads", GRADS.format(DW=OK_DW, DB="dout.sum(axis=(2, 3))"), "incorrect",
     "db is summed over the output positions but not over the batch"),
    ("ex7_3_conv2d_param_grads", GRADS.format(DW=OK_DW, DB="dout.sum(axis=0)"), "incorrect",
     "db is summed over the batch but not over the output positions"),
    ("ex7_3_conv2d_param_grads", GRADS.format(DW=OK_DW, DB="dout.sum(axis=(1, 2, 3))"), "incorrect",
     "db is summed over the wrong axes"),
    ("ex7_3_conv2d_param_grads", GRADS.format(DW=OK_DW, DB="dout.sum(axis=(0, 1))"), "incorrect",
     "db is summed over the wrong axes"),
    ("ex7_3_conv2d_param_grads", GRADS.format(DW=OK_DW, DB="dout.mean(axis=(0, 2, 3))"), "incorrect",
     "db is averaged"),
    ("ex7_4_conv2d_input_grad", DX.format(**{**OK_DX, "KERNEL": "W.transpose(1, 0, 2, 3)"}), "incorrect",
     "the kernel is not flipped"),
    ("ex7_4_conv2d_input_grad", DX.format(**{**OK_DX, "KERNEL": "W[:, :, ::-1, ::-1]"}), "incorrect",
     "the filter and channel axes of W are not swapped"),
    ("ex7_4_conv2d_input_grad", DX.format(**{**OK_DX, "CROP": "dxp"}), "incorrect",
     "dx has the shape of the padded input"),
    ("ex7_4_conv2d_input_grad", DX.format(**{**OK_DX, "PADK": "(KH - 1) // 2", "PADW": "(KW - 1) // 2"}), "incorrect",
     "dout must be padded with K - 1 zeros on each side"),
    ("ex7_5_pool_backward", POOL.format(MAX="g * np.ones_like(w)", AVG=OK_AVG), "incorrect",
     "the max-pool gradient reaches every entry of its window"),
    ("ex7_5_pool_backward", POOL.format(MAX="g / k ** 2 * np.ones_like(w)", AVG=OK_AVG), "incorrect",
     "the max-pool gradient is spread evenly over the window"),
    ("ex7_5_pool_backward", POOL.format(MAX=OK_MAX, AVG="g"), "incorrect",
     "the average-pool gradient is not divided by the window size"),
    ("ex7_5_pool_backward", POOL.format(MAX=OK_MAX, AVG="g / k"), "incorrect", "the average-pool gradient is "
     "divided by k"),
    ("ex7_5_pool_backward", POOL.format(MAX=OK_MAX, AVG=OK_MAX), "incorrect",
     "the average-pool gradient goes to the maximum only"),
    ("ex7_6_conv_cost", COST.format(PARAMS="F * C * K * K", FLOPS=OK_FLOPS), "incorrect",
     "the parameter count lacks the F biases"),
    ("ex7_6_conv_cost", COST.format(PARAMS="C * H * H * F * H_out ** 2 + F * H_out ** 2", FLOPS=OK_FLOPS),
     "incorrect", "the parameter count of a dense layer"),
    ("ex7_6_conv_cost", COST.format(PARAMS=OK_PARAMS, FLOPS="C * K * K * F * H_out ** 2"), "incorrect",
     "the FLOPs count multiply-adds"),
    ("ex7_6_conv_cost", COST.format(PARAMS=OK_PARAMS, FLOPS="(2 * C * K * K - 1) * F * H_out ** 2"), "incorrect",
     "the bias additions are missing"),
    ("ex7_6_conv_cost", COST.format(PARAMS=OK_PARAMS, FLOPS="2 * C * K * K * F * H ** 2"), "incorrect",
     "the input size H instead of the output size H_out"),
    ("ex7_6_conv_cost", COST.format(PARAMS=OK_PARAMS, FLOPS="2 * K * K * F * H_out ** 2"), "incorrect",
     "the FLOPs leave out the C input channels"),
    ("ex7_7_vertical_edges", EDGE.format(KERNEL="[[0, 0, 0], [0, 1, 0], [0, 0, 0]]"), "incorrect",
     "the kernel responds where the image is constant"),
    ("ex7_7_vertical_edges", EDGE.format(KERNEL="[[1 / 9] * 3] * 3"), "incorrect",
     "the kernel responds where the image is constant"),
    ("ex7_7_vertical_edges", EDGE.format(KERNEL="[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]"), "incorrect",
     "this kernel detects horizontal edges"),
    ("ex7_7_vertical_edges", EDGE.format(KERNEL="[[0, 1, 0], [-1, 0, 0], [0, 0, 0]]"), "incorrect",
     "at most 0.25 of the response to vertical edges"),
    ("ex7_7_vertical_edges", EDGE.format(KERNEL="[[0] * 3] * 3"), "incorrect",
     "does not respond to the vertical edges at all"),
    ("ex7_7_vertical_edges", "def vertical_edges():\n    return [1, 0, -1]\n", "error", "expected a 3x3 kernel"),
    ("ex7_8_stride_and_padding", READ.format(ANSWER="(2, 0, 0.0)"), "incorrect", "gives a 3x3 output"),
    ("ex7_8_stride_and_padding", READ.format(ANSWER="(3, 2, 0.0)"), "incorrect",
     "stride 2 with padding 1 does too, with less padding"),
    ("ex7_8_stride_and_padding", "def stride_and_padding():\n    explorer2.set(stride=2, padding=1, row=2, col=1)\n"
     "    return explorer2.stride, explorer2.padding, explorer2.value\n", "incorrect",
     "row and column are swapped"),
    ("ex7_8_stride_and_padding", "def stride_and_padding():\n    explorer2.set(padding=1, row=1, col=2)\n"
     "    return 2, 1, explorer2.value\n", "incorrect", "set the stride before reading the value"),
    ("ex7_8_stride_and_padding", "def stride_and_padding():\n    explorer2.set(stride=2, padding=1, row=1, col=2)\n"
     "    return 2, 1, -explorer2.value\n", "incorrect", "the kernel flipped (a true convolution)"),
    ("ex7_8_stride_and_padding", READ.format(ANSWER="(2, 1, 0.5)"), "incorrect", "is not output[1, 2]"),
    ("ex7_8_stride_and_padding", READ.format(ANSWER="'2, 1, -1.875'"), "error", "expected a tuple"),
    # issue 14
    ("ex7_4_conv2d_input_grad", DX.format(**{**OK_DX, "CROP": "dxp[:, :, padding:-padding, padding:-padding]"}),
     "incorrect", "the crop [P:-P] is empty when P = 0"),
    ("ex7_6_conv_cost", COST.format(PARAMS=OK_PARAMS, FLOPS=OK_FLOPS).replace(
        "(H + 2 * padding - K) // stride + 1", "(H + 2 * padding - K + 1) // stride"), "incorrect",
     "test case 5 of 7 (C=2, H=9, F=4, K=3, stride=2, padding=0): flops"),
    ("ex7_1_output_size", SIZE.format(EXPR="(H + 2 * padding - K + 1) // stride"), "incorrect",
     "test case 5 of 11 (H=7, K=3, stride=3, padding=1)"),
]


@pytest.mark.parametrize("grade_id, answer, status, words", PLANTED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_gets_the_intended_feedback(grade_id, answer, status, words):
    assert_planted_feedback(NB, grade_id, answer, status, words)


def test_every_exercise_has_a_planted_mistake():
    assert_every_exercise_planted(NB, PLANTED)


def test_every_diagnosis_of_the_function_checks_has_a_planted_mistake():
    """Each Mistake label of Exercises 7.1-7.6 is matched by at least one planted answer above."""
    import bpkit.checks as core
    from bpkit.checks import ch07
    labels = []
    real = core.check_function

    def spy(student, reference, cases, **kw):
        labels.extend(m.label for m in kw.get("mistakes", ()))
        return real(student, reference, cases, **kw)
    ch07.check_function = spy
    try:
        for check in (ch07.check_output_size, ch07.check_conv2d_forward, ch07.check_conv2d_param_grads,
                      ch07.check_conv2d_input_grad, ch07.check_pool_backward, ch07.check_conv_cost):
            check(lambda *args: None)
    finally:
        ch07.check_function = real
    missing = [label for label in labels if not any(p[3] in label for p in PLANTED)]
    assert labels and not missing, missing


@pytest.mark.parametrize("grade_id, stub", [
    ("ex7_1_output_size", "def conv_output_size(H, K, stride, padding):\n    # YOUR CODE HERE\n"
     "    raise NotImplementedError()"),
    ("ex7_2_conv2d_forward", "def conv2d_forward(x, W, b, stride, padding):\n    # YOUR CODE HERE\n"
     "    raise NotImplementedError()"),
    ("ex7_4_conv2d_input_grad", "def conv2d_input_grad(dout, W, padding):\n    # YOUR CODE HERE\n"
     "    raise NotImplementedError()"),
    ("ex7_7_vertical_edges", "def vertical_edges():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    ("ex7_8_stride_and_padding", "def stride_and_padding():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
])
def test_unsolved_stub_is_not_attempted(grade_id, stub):
    assert_not_attempted(NB, grade_id, stub)


def test_a_student_exception_is_reported_with_their_line():
    result = run_exercise(NB, "ex7_3_conv2d_param_grads",
                          "def conv2d_param_grads(x, W, dout, stride, padding):\n    return x @ W, 0")
    assert result.status == "error" and "your code raised ValueError" in result.message, result.summary()
    assert "bpkit/" not in result.summary()


def test_hints_are_progressive():
    result = run_exercise(NB, "ex7_4_conv2d_input_grad", DX.format(**{**OK_DX, "KERNEL": "W.transpose(1, 0, 2, 3)"}))
    first = result.next_hint()
    assert "Flip both kernel axes" in first                    # the mistake's own hint comes first
    while result.next_hint() is not None:
        pass
    assert "W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]" in result.hints[-1]   # the last hint nearly gives the answer


def test_the_widget_answers_are_the_widget_numbers():
    """Exercises 7.7 and 7.8 check against the explorer's own convolution."""
    from bpkit.checks.ch07 import EDGE_RATIO, READ_POSITION, edge_responses
    from bpkit.widgets.convolution import CONV_KERNELS, ConvolutionExplorer, convolve
    r = edge_responses(np.array(CONV_KERNELS["vertical edge"]))
    assert r["flat"] == 0 and r["vertical"] > 0 and r["horizontal"] <= EDGE_RATIO * r["vertical"]
    for name in ("identity", "blur", "sharpen", "horizontal edge"):
        r = edge_responses(np.array(CONV_KERNELS[name]))
        assert r["flat"] > 0 or r["horizontal"] > EDGE_RATIO * r["vertical"], name
    e = ConvolutionExplorer(image="digit 5", preset="vertical edge", stride=2, padding=1, row=READ_POSITION[0],
                            col=READ_POSITION[1])
    assert e.output.shape == (4, 4)
    assert e.value == convolve("digit 5", CONV_KERNELS["vertical edge"], 2, 1)[READ_POSITION]
