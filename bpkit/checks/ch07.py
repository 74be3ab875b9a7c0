"""Checks for Chapter 7, convolutional networks.

Each ``check_*`` takes the student's function or answer and returns a
:class:`bpkit.checks.CheckResult`. The references are bpkit's own ops
(:func:`bpkit.ops.conv2d_forward` and its backward pass, the pooling pairs) and the
convolution explorer of the chapter (:func:`bpkit.widgets.convolution.convolve`), which the
chapter checks against loops and finite differences.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..widgets.convolution import CONV_KERNELS, convolve, input_image, output_size
from ._context import case_rng, in_kernel, own_work
from ._engine import CheckResult, Mistake, check_function, handed_in

__all__ = ["EDGE_IMAGE", "EDGE_RATIO", "POINTS", "READ_IMAGE", "READ_POSITION", "READ_SIZE", "check_conv2d_forward",
           "check_conv2d_input_grad", "check_conv2d_param_grads", "check_conv_cost", "check_output_size",
           "check_pool_backward", "check_stride_and_padding", "check_vertical_edges", "conv2d_forward",
           "conv2d_input_grad", "conv2d_param_grads", "conv_cost", "conv_output_size", "edge_responses",
           "pool_backward"]

#: Points per exercise, read by the course tools.
POINTS = {"output_size": 1, "conv2d_forward": 3, "conv2d_param_grads": 2, "conv2d_input_grad": 3,
          "pool_backward": 2, "conv_cost": 1, "vertical_edges": 1, "stride_and_padding": 1}

#: Exercise 7.7: the test image, and the largest response to horizontal edges allowed, as a
#: fraction of the largest response to vertical edges.
EDGE_IMAGE = "square"
EDGE_RATIO = 0.25

#: Exercise 7.8: the image, the required output size and the position to read.
READ_IMAGE = "digit 5"
READ_SIZE = 4
READ_POSITION = (1, 2)


def _rng():
    """Test cases: a fixed seed for feedback, mixed with the grader\'s secret when graded."""
    return case_rng(2027)


# ----------------------------------------------------------------------------- 7.1 output size

def conv_output_size(H, K, stride, padding):
    r"""Reference: $\lfloor (H + 2P - K) / S \rfloor + 1$."""
    return (H + 2 * padding - K) // stride + 1


def check_output_size(student):
    """Exercise 7.1: ``conv_output_size(H, K, stride, padding) -> int``."""
    # stride-2 and stride-3 cases with H + 2P - K odd and even, or (H + 2P - K + 1) // S would pass
    cases = [(8, 3, 1, 0), (8, 3, 1, 1), (8, 3, 2, 1), (32, 3, 2, 0), (7, 3, 3, 1), (28, 5, 1, 2), (224, 7, 2, 3),
             (5, 5, 1, 0), (9, 3, 2, 0), (10, 4, 2, 1), (11, 2, 3, 0)]
    return check_function(
        student, conv_output_size, cases, name="Exercise 7.1 (conv_output_size)", points=POINTS["output_size"],
        mistakes=[
            Mistake("the padding is added once; it goes on both sides of the image, so the padded size is H + 2P",
                    lambda H, K, s, p: (H + p - K) // s + 1, "P rows of zeros above and P below: H + 2P."),
            Mistake("the padding is ignored: P rows and columns of zeros are added on each side, so the padded "
                    "input has H + 2P rows", lambda H, K, s, p: (H - K) // s + 1, "Use H + 2P in place of H."),
            Mistake("the + 1 is missing (an off-by-one): a kernel as large as the padded input still fits once, "
                    "so the count is (H + 2P - K) // S + 1", lambda H, K, s, p: (H + 2 * p - K) // s,
                    "Count the positions of the window's first row: 0, S, 2S, ..., up to H + 2P - K. That is "
                    "(H + 2P - K) // S + 1 positions."),
            Mistake("this rounds up (ceil); a window that would run past the padded input is dropped, so round "
                    "down: (H + 2P - K) // S + 1",
                    lambda H, K, s, p: math.ceil((H + 2 * p - K) / s) + 1,
                    "Floor division // rounds down; the last window must fit entirely."),
            Mistake("the result is not a whole number: / is true division; use floor division //",
                    lambda H, K, s, p: (H + 2 * p - K) / s + 1, "(H + 2 * padding - K) // stride + 1"),
        ],
        hints=["Count the positions of the window's top row along one axis: it starts at 0 and moves by the "
               "stride while the whole window still fits in the padded input.",
               "The padded input has H + 2P rows; the window's top row can be at most H + 2P - K. With steps of S "
               "that gives (H + 2P - K) // S steps, plus the first position.",
               "return (H + 2 * padding - K) // stride + 1"])


# ----------------------------------------------------------------------------- 7.2 forward with loops

def conv2d_forward(x, W, b, stride, padding):
    r"""Reference: :func:`bpkit.ops.conv2d_forward` (cross-correlation), output (N, F, H_out, W_out)."""
    return ops.conv2d_forward(x, W, b, stride, padding)[0]


def _pad_one_side(x, p, top_left=True):
    pad = (p, 0) if top_left else (0, p)
    return np.pad(x, ((0, 0), (0, 0), pad, pad))


@own_work("bpkit.ops.conv2d_forward")
def check_conv2d_forward(student):
    """Exercise 7.2: ``conv2d_forward(x, W, b, stride, padding) -> out`` written with loops."""
    name, pts = "Exercise 7.2 (conv2d_forward)", POINTS["conv2d_forward"]
    rng = _rng()
    cases = [(np.arange(16.0).reshape(1, 1, 4, 4), np.array([[[[1.0, 0.0, -1.0], [2.0, 0.0, 0.0],
                                                                 [0.0, 0.0, 0.5]]]]), np.array([0.5]), 1, 0)]
    for x_shape, W_shape, s, p in (((2, 3, 6, 5), (4, 3, 3, 2), 1, 1), ((2, 2, 7, 7), (3, 2, 3, 3), 2, 1),
                                   ((1, 2, 5, 6), (2, 2, 2, 3), 2, 0), ((2, 1, 4, 4), (2, 1, 3, 3), 1, 2)):
        cases.append((rng.normal(size=x_shape), rng.normal(size=W_shape), rng.normal(size=W_shape[0]), s, p))

    def fwd(x, W, b, s, p):
        return ops.conv2d_forward(x, W, b, s, p)[0]
    return check_function(
        student, conv2d_forward, cases, name=name, points=pts,
        mistakes=[
            Mistake("the kernel is flipped: this is the convolution of mathematics, but a convolutional layer "
                    "computes the cross-correlation, W[f, c, k, l] * x_pad[n, c, i*s + k, j*s + l], without "
                    "flipping", lambda x, W, b, s, p: fwd(x, W[:, :, ::-1, ::-1], b, s, p),
                    "Index the kernel and the window with the same offsets (k, l); do not reverse either."),
            Mistake("the output has the channels-last layout (N, H_out, W_out, F); bpkit, like PyTorch, puts the "
                    "filters on axis 1: (N, F, H_out, W_out)",
                    lambda x, W, b, s, p: fwd(x, W, b, s, p).transpose(0, 2, 3, 1),
                    "Create out = np.zeros((N, F, H_out, W_out)) and write out[n, f, i, j]."),
            Mistake("the padding is applied on one side only; P rows and columns of zeros go on each side of the "
                    "image: np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))",
                    lambda x, W, b, s, p: fwd(_pad_one_side(x, p), W, b, s, 0),
                    "Pad before and after along both image axes."),
            Mistake("the padding is applied on one side only; P rows and columns of zeros go on each side of the "
                    "image: np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))",
                    lambda x, W, b, s, p: fwd(_pad_one_side(x, p, top_left=False), W, b, s, 0),
                    "Pad before and after along both image axes."),
            Mistake("the padding is missing: add padding rows and columns of zeros on each side first",
                    lambda x, W, b, s, p: fwd(x, W, b, s, 0), "xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))"),
            Mistake("the bias is missing: every output of filter f adds b[f]",
                    lambda x, W, b, s, p: fwd(x, W, np.zeros_like(b), s, p), "out[n, f, i, j] = ... + b[f]"),
            Mistake("the stride is ignored when placing the window: output (i, j) sees the window that starts at "
                    "row i*stride, column j*stride of the padded input",
                    lambda x, W, b, s, p: fwd(x, W, b, 1, p)[:, :, :(x.shape[2] + 2 * p - W.shape[2]) // s + 1,
                                                              :(x.shape[3] + 2 * p - W.shape[3]) // s + 1],
                    "window = xp[n, :, i*s:i*s + KH, j*s:j*s + KW]"),
        ],
        hints=["Pad x first, then loop over the examples n, the filters f and the output positions (i, j); each "
               "output is the sum of one filter times one window of the padded input, over all channels, plus "
               "the filter's bias.",
               "H_out = (H + 2P - KH) // S + 1 (the same for W_out); the window of output (i, j) is "
               "xp[n, :, i*S:i*S + KH, j*S:j*S + KW], of shape (C, KH, KW) like W[f].",
               "xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P))); out = np.zeros((N, F, H_out, W_out)); "
               "out[n, f, i, j] = np.sum(W[f] * xp[n, :, i*S:i*S + KH, j*S:j*S + KW]) + b[f]"])


# ----------------------------------------------------------------------------- 7.3 dW and db

def conv2d_param_grads(x, W, dout, stride, padding):
    r"""Reference: ``(dW, db)`` of :func:`bpkit.ops.conv2d_backward`."""
    _, cache = ops.conv2d_forward(x, W, np.zeros(W.shape[0]), stride, padding)
    _, dW, db = ops.conv2d_backward(dout, cache)
    return dW, db


def _per_example(x, W, dout, s, p):
    return np.stack([conv2d_param_grads(x[n:n + 1], W, dout[n:n + 1], s, p)[0] for n in range(len(x))])


@own_work("bpkit.ops.conv2d_backward")
def check_conv2d_param_grads(student):
    """Exercise 7.3: ``conv2d_param_grads(x, W, dout, stride, padding) -> (dW, db)``."""
    name, pts = "Exercise 7.3 (conv2d_param_grads)", POINTS["conv2d_param_grads"]
    rng = _rng()
    cases = []
    for x_shape, W_shape, s, p in (((2, 2, 5, 5), (3, 2, 3, 3), 1, 0), ((3, 2, 6, 5), (4, 2, 3, 2), 1, 1),
                                   ((2, 3, 7, 7), (2, 3, 3, 3), 2, 1), ((2, 1, 4, 6), (3, 1, 2, 3), 2, 0),
                                   ((2, 2, 7, 5), (3, 2, 3, 2), 2, 1)):          # H_out 4 != W_out 3
        H_out = (x_shape[2] + 2 * p - W_shape[2]) // s + 1
        W_out = (x_shape[3] + 2 * p - W_shape[3]) // s + 1
        cases.append((rng.normal(size=x_shape), rng.normal(size=W_shape),
                      rng.normal(size=(x_shape[0], W_shape[0], H_out, W_out)), s, p))

    def ok(x, W, dout, s, p):
        return conv2d_param_grads(x, W, dout, s, p)

    def with_dW(f):
        return lambda x, W, dout, s, p: (f(x, W, dout, s, p), ok(x, W, dout, s, p)[1])

    def with_db(f):
        return lambda x, W, dout, s, p: (ok(x, W, dout, s, p)[0], f(dout))
    return check_function(
        student, conv2d_param_grads, cases, name=name, points=pts, output_names=("dW", "db"),
        batch_size_of=lambda x, W, dout, s, p: len(x),
        mistakes=[
            Mistake("dW is not summed over the batch: the N examples share one kernel, so their contributions "
                    "add up to one dW of shape (F, C, KH, KW)", with_dW(_per_example),
                    "Accumulate dW over all examples (a sum over n), as for the dense layer's X.T @ dout."),
            Mistake("dW holds the last example's contribution only: inside the loop over the batch, add to dW "
                    "(dW += ...) instead of assigning it",
                    with_dW(lambda x, W, dout, s, p: _per_example(x, W, dout, s, p)[-1]),
                    "Start from dW = np.zeros_like(W) and use +=."),
            Mistake("dW is averaged over the batch; the gradient of a sum over examples is a sum: the 1/N of a "
                    "mean loss is already inside dout",
                    with_dW(lambda x, W, dout, s, p: ok(x, W, dout, s, p)[0] / len(x)), "Do not divide by N."),
            Mistake("dW is flipped: the weight gradient correlates the padded input with dout, with the same "
                    "offsets as the forward pass, dW[f, c, k, l] = sum over n, i, j of dout[n, f, i, j] * "
                    "x_pad[n, c, i*s + k, j*s + l]; only dx involves a flipped kernel",
                    with_dW(lambda x, W, dout, s, p: ok(x, W, dout, s, p)[0][:, :, ::-1, ::-1]),
                    "Do not reverse the kernel axes for dW."),
            Mistake("dW has its filter and channel axes swapped: it must have the shape of W, (F, C, KH, KW)",
                    with_dW(lambda x, W, dout, s, p: ok(x, W, dout, s, p)[0].transpose(1, 0, 2, 3)),
                    "dW[f, c] pairs dout's filter f with the input's channel c."),
            Mistake("db is summed over the output positions but not over the batch: one bias per filter is "
                    "shared by all examples and positions, so sum over axes (0, 2, 3)",
                    with_db(lambda d: d.sum(axis=(2, 3))), "db = dout.sum(axis=(0, 2, 3)), shape (F,)."),
            Mistake("db is summed over the batch but not over the output positions: b[f] is added at every "
                    "position (i, j), so sum over axes (0, 2, 3)", with_db(lambda d: d.sum(axis=0)),
                    "db = dout.sum(axis=(0, 2, 3)), shape (F,)."),
            Mistake("db is summed over the wrong axes: it keeps one entry per filter (axis 1) and sums over the "
                    "batch and the positions, axes (0, 2, 3)", with_db(lambda d: d.sum(axis=(1, 2, 3))),
                    "db = dout.sum(axis=(0, 2, 3)), shape (F,)."),
            Mistake("db is summed over the wrong axes: it keeps one entry per filter (axis 1) and sums over the "
                    "batch and the positions, axes (0, 2, 3)", with_db(lambda d: d.sum(axis=(0, 1))),
                    "db = dout.sum(axis=(0, 2, 3)), shape (F,)."),
            Mistake("db is averaged; it is a sum over the batch and the positions",
                    with_db(lambda d: d.mean(axis=(0, 2, 3))), "Use .sum, not .mean."),
        ],
        hints=["Both are sums over everything the parameter is shared by. b[f] is added to every output of filter "
               "f, for every example and position; W[f, c, k, l] multiplies one input pixel in every window.",
               "db = dout.sum(axis=(0, 2, 3)). For dW, loop over the output positions (i, j): the window "
               "xp[:, :, i*S:i*S + KH, j*S:j*S + KW] (N, C, KH, KW) was multiplied by W, so it receives "
               "dout[:, :, i, j] (N, F) times the window, summed over n.",
               "xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P))); dW = np.zeros_like(W); for i, j: "
               "dW += np.einsum('nf,nckl->fckl', dout[:, :, i, j], xp[:, :, i*S:i*S + KH, j*S:j*S + KW])"])


# ----------------------------------------------------------------------------- 7.4 dx with the flipped kernel

def conv2d_input_grad(dout, W, padding):
    r"""Reference: ``dx`` of :func:`bpkit.ops.conv2d_backward` for stride 1, input (N, C, H, W) with
    $H = H_{out} + KH - 1 - 2P$ (and the same for the width)."""
    N, F, H_out, W_out = dout.shape
    _, C, KH, KW = W.shape
    x = np.zeros((N, C, H_out + KH - 1 - 2 * padding, W_out + KW - 1 - 2 * padding))
    _, cache = ops.conv2d_forward(x, W, np.zeros(F), 1, padding)
    return ops.conv2d_backward(dout, cache)[0]


def _full_correlation(dout, Wt):
    """``dout`` padded with K - 1 zeros on each side, correlated with the kernels ``Wt`` (C, F, KH, KW)."""
    KH, KW = Wt.shape[2:]
    dp = np.pad(dout, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    return ops.conv2d_forward(dp, Wt, np.zeros(Wt.shape[0]), 1, 0)[0]


def _same_correlation(dout, W, p):
    """The flipped-kernel correlation with dout padded by (K - 1) // 2 only ("same" padding), cropped by P."""
    KH, KW = W.shape[2:]
    dp = np.pad(dout, ((0, 0), (0, 0), ((KH - 1) // 2, (KH - 1) // 2), ((KW - 1) // 2, (KW - 1) // 2)))
    dxp = ops.conv2d_forward(dp, W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], np.zeros(W.shape[1]), 1, 0)[0]
    return dxp[:, :, p:dxp.shape[2] - p, p:dxp.shape[3] - p]


@own_work("bpkit.ops.conv2d_backward")
def check_conv2d_input_grad(student):
    """Exercise 7.4: ``conv2d_input_grad(dout, W, padding) -> dx`` for stride 1."""
    name, pts = "Exercise 7.4 (conv2d_input_grad)", POINTS["conv2d_input_grad"]
    rng = _rng()
    cases = [(rng.normal(size=shape), rng.normal(size=W_shape), p)
             for shape, W_shape, p in (((2, 2, 4, 4), (2, 2, 3, 3), 0), ((1, 3, 5, 4), (3, 2, 3, 2), 1),
                                       ((2, 2, 3, 3), (2, 4, 2, 2), 0), ((2, 1, 6, 6), (1, 3, 3, 3), 2))]

    def crop(dxp, p):
        return dxp[:, :, p:dxp.shape[2] - p, p:dxp.shape[3] - p]

    def crop_neg(dxp, p):
        return dxp[:, :, p:-p, p:-p]
    return check_function(
        student, conv2d_input_grad, cases, name=name, points=pts, output_names=("dx",),
        mistakes=[
            Mistake("the kernel is not flipped: dx[m] = sum over i of dout[i] * W[m - i], so as the output index "
                    "i grows the kernel index m - i runs backwards; correlate with W[:, :, ::-1, ::-1]",
                    lambda d, W, p: crop(_full_correlation(d, W.transpose(1, 0, 2, 3)), p),
                    "Flip both kernel axes: W[:, :, ::-1, ::-1]."),
            Mistake("the filter and channel axes of W are not swapped: dx has C channels and sums over the F "
                    "filters, so the kernels of the backward correlation are W.transpose(1, 0, 2, 3) (C, F, KH, KW)",
                    lambda d, W, p: crop(_full_correlation(d, W[:, :, ::-1, ::-1]), p),
                    "Wt = W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]"),
            Mistake("dx has the shape of the padded input: the padding zeros are not inputs, so drop P rows and "
                    "columns on each side",
                    lambda d, W, p: _full_correlation(d, W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]),
                    "Crop the padding: dx = dx_pad[:, :, P:dx_pad.shape[2] - P, P:dx_pad.shape[3] - P] (not "
                    "[P:-P], which is empty when P = 0)."),
            Mistake("the crop [P:-P] is empty when P = 0: -0 is 0, so the slice 0:-0 stops before it starts. "
                    "For P > 0 your dx is right",
                    lambda d, W, p: crop_neg(_full_correlation(d, W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]), p),
                    "Write the end of the slice as a size, not a negative index: "
                    "dx = dx_pad[:, :, P:dx_pad.shape[2] - P, P:dx_pad.shape[3] - P]."),
            Mistake("this is the gradient's inner part only: dout must be padded with K - 1 zeros on each side "
                    "(a 'full' correlation), so that every input pixel collects from every window that contains it",
                    _same_correlation,
                    "np.pad(dout, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))"),
        ],
        hints=["Each output window spreads its gradient over the pixels it covered, with the kernel's weights: "
               "dx_pad[n, c, i + k, j + l] += W[f, c, k, l] * dout[n, f, i, j]. Read the other way, each pixel "
               "collects from the windows that cover it, with the kernel flipped.",
               "Pad dout with K - 1 zeros on each side, correlate it with the flipped kernels "
               "Wt = W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1] of shape (C, F, KH, KW), then drop the P padding "
               "rows and columns on each side.",
               "Wt = W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]; "
               "dp = np.pad(dout, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1))); dx_pad = "
               "ops.conv2d_forward(dp, Wt, np.zeros(C), 1, 0)[0]; return dx_pad[:, :, P:dx_pad.shape[2] - P, "
               "P:dx_pad.shape[3] - P]"])


# ----------------------------------------------------------------------------- 7.5 pooling backward

def pool_backward(x, dout, k, kind):
    r"""Reference: ``dx`` of max (``kind="max"``) or average (``"avg"``) pooling over k x k windows, stride k."""
    forward, backward = ((ops.maxpool2d_forward, ops.maxpool2d_backward) if kind == "max" else
                         (ops.avgpool2d_forward, ops.avgpool2d_backward))
    _, cache = forward(x, k)
    return backward(dout, cache)


def _spread(dout, k):
    """``dout`` copied to every entry of its k x k window."""
    return np.repeat(np.repeat(dout, k, axis=2), k, axis=3)


def _pool_variant(max_fn=None, avg_fn=None):
    def f(x, dout, k, kind):
        fn = max_fn if kind == "max" else avg_fn
        return fn(x, dout, k) if fn is not None else pool_backward(x, dout, k, kind)
    return f


@own_work("bpkit.ops.maxpool2d_backward", "bpkit.ops.avgpool2d_backward")
def check_pool_backward(student):
    """Exercise 7.5: ``pool_backward(x, dout, k, kind) -> dx`` for max and average pooling."""
    name, pts = "Exercise 7.5 (pool_backward)", POINTS["pool_backward"]
    rng = _rng()

    def distinct(shape):
        size = int(np.prod(shape))
        return np.linspace(-1, 1, size)[rng.permutation(size)].reshape(shape)
    cases = [(np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 6.0], [0.5, 0.2, 7.0, 1.0],
                          [0.1, 0.9, 2.0, 3.0]]]]), np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), 2, "max"),
             (np.arange(16.0).reshape(1, 1, 4, 4), np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), 2, "avg")]
    for shape, k, kind in (((2, 2, 4, 6), 2, "max"), ((2, 3, 6, 6), 3, "avg"), ((1, 2, 6, 9), 3, "max"),
                           ((2, 2, 4, 4), 2, "avg")):
        out_shape = shape[:2] + (shape[2] // k, shape[3] // k)
        cases.append((distinct(shape), rng.normal(size=out_shape), k, kind))
    return check_function(
        student, pool_backward, cases, name=name, points=pts, output_names=("dx",),
        mistakes=[
            Mistake("the max-pool gradient reaches every entry of its window: only the window's maximum "
                    "influenced the output, so only it receives dout; the others get 0",
                    _pool_variant(max_fn=lambda x, d, k: _spread(d, k)),
                    "Build a mask that is 1 at the maximum of each window and 0 elsewhere, and multiply."),
            Mistake("the max-pool gradient is spread evenly over the window, as for average pooling: the output "
                    "is the maximum, so the whole dout goes to the entry that was the maximum",
                    _pool_variant(max_fn=lambda x, d, k: _spread(d, k) / k ** 2),
                    "Route dout to the argmax of each window."),
            Mistake("the average-pool gradient is not divided by the window size: the output is the mean of k*k "
                    "entries, so each receives dout / (k*k)", _pool_variant(avg_fn=lambda x, d, k: _spread(d, k)),
                    "dx = dout spread over the window, divided by k * k."),
            Mistake("the average-pool gradient is divided by k; a k x k window has k*k entries, so each receives "
                    "dout / (k*k)", _pool_variant(avg_fn=lambda x, d, k: _spread(d, k) / k),
                    "Divide by k ** 2."),
            Mistake("the average-pool gradient goes to the maximum only: every entry of the window counts in the "
                    "mean, so every entry receives dout / (k*k)",
                    _pool_variant(avg_fn=lambda x, d, k: pool_backward(x, d, k, "max")),
                    "Average pooling does not look at which entry is largest."),
        ],
        hints=["Windows are k x k, side by side (stride k). Each output depends on one window; its gradient goes "
               "back to that window only.",
               "Max pooling: output = the window's maximum, so dout goes to the position of that maximum and 0 to "
               "the others. Average pooling: output = sum / (k*k), so every entry gets dout / (k*k).",
               "For each window (i, j): w = x[n, c, i*k:(i+1)*k, j*k:(j+1)*k]; max: dx[...][w == w.max()] = "
               "dout[n, c, i, j] (the test values have no ties); avg: dx[n, c, i*k:(i+1)*k, j*k:(j+1)*k] = "
               "dout[n, c, i, j] / k**2"])


# ----------------------------------------------------------------------------- 7.6 parameters and FLOPs

def conv_cost(C, H, F, K, stride, padding):
    r"""Reference: ``(P, flops)`` of a conv layer with F filters of size C x K x K and a bias on one C x H x H
    image: $P = F C K^2 + F$, FLOPs $= 2 C K^2 \cdot F H_{out}^2$ (each output: $CK^2$ products,
    $CK^2 - 1$ additions and the bias)."""
    H_out = (H + 2 * padding - K) // stride + 1
    return F * C * K * K + F, 2 * C * K * K * F * H_out * H_out


def check_conv_cost(student):
    """Exercise 7.6: ``conv_cost(C, H, F, K, stride, padding) -> (params, flops)`` for one image."""
    # stride 2 with H + 2P - K odd and even (an off-by-one rounding passes only the odd ones), odd and even H
    cases = [(1, 8, 8, 3, 1, 1), (8, 4, 16, 3, 1, 1), (3, 32, 16, 5, 2, 2), (3, 224, 64, 7, 2, 3),
             (2, 9, 4, 3, 2, 0), (3, 32, 8, 4, 2, 1), (1, 7, 2, 3, 3, 1)]

    def H_out(H, K, s, p):
        return (H + 2 * p - K) // s + 1

    def with_flops(f):
        return lambda C, H, F, K, s, p: (conv_cost(C, H, F, K, s, p)[0], f(C, H, F, K, s, p))
    return check_function(
        student, conv_cost, cases, name="Exercise 7.6 (conv_cost)", points=POINTS["conv_cost"],
        output_names=("params", "flops"),
        mistakes=[
            Mistake("the parameter count lacks the F biases, one per filter",
                    lambda C, H, F, K, s, p: (F * C * K * K, conv_cost(C, H, F, K, s, p)[1]), "P = F*C*K*K + F."),
            Mistake("this is the parameter count of a dense layer from the C*H*H inputs to the F*H_out*H_out "
                    "outputs; a convolution shares one C x K x K kernel per filter over all positions",
                    lambda C, H, F, K, s, p: (C * H * H * F * H_out(H, K, s, p) ** 2 + F * H_out(H, K, s, p) ** 2,
                                              conv_cost(C, H, F, K, s, p)[1]),
                    "The count does not depend on the image size: F kernels of C*K*K weights, plus F biases."),
            Mistake("the FLOPs count multiply-adds: as in Chapter 1, a multiplication and an addition are two "
                    "FLOPs, so each output costs 2*C*K*K",
                    with_flops(lambda C, H, F, K, s, p: C * K * K * F * H_out(H, K, s, p) ** 2),
                    "Multiply by 2: C*K*K products and C*K*K additions (the last one adds the bias)."),
            Mistake("the bias additions are missing: you count C*K*K products and C*K*K - 1 additions per output; "
                    "adding the bias makes it 2*C*K*K",
                    with_flops(lambda C, H, F, K, s, p: (2 * C * K * K - 1) * F * H_out(H, K, s, p) ** 2),
                    "Each output also adds its filter's bias: 2*C*K*K FLOPs per output."),
            Mistake("the FLOPs use the input size H instead of the output size H_out: the kernel is applied once "
                    "per output position, (H + 2P - K) // S + 1 along each axis",
                    with_flops(lambda C, H, F, K, s, p: 2 * C * K * K * F * H * H),
                    "H_out = (H + 2 * padding - K) // stride + 1; FLOPs = 2*C*K*K * F*H_out*H_out."),
            Mistake("the FLOPs leave out the C input channels: every output sums over a C x K x K window",
                    with_flops(lambda C, H, F, K, s, p: 2 * K * K * F * H_out(H, K, s, p) ** 2),
                    "A kernel has C*K*K weights, each used once per output."),
        ],
        hints=["Parameters: every filter has one C x K x K kernel and one bias, and the same kernel is used at every "
               "position. FLOPs: count the outputs, F*H_out*H_out, and what one output costs.",
               "One output is a dot product of C*K*K weights with a window, plus a bias: C*K*K multiplications "
               "and C*K*K additions, 2*C*K*K FLOPs (the convention of Chapter 1).",
               "H_out = (H + 2 * padding - K) // stride + 1; return F * C * K * K + F, 2 * C * K * K * F * H_out ** 2"])


# ----------------------------------------------------------------------------- 7.7 a vertical-edge kernel

def _window_kinds(image):
    """For each output of a 3x3 kernel with stride 1 and padding 1, what its window of ``image`` contains:
    ``"flat"`` (one value), ``"vertical"`` (each column constant, the columns differ), ``"horizontal"``
    (each row constant, the rows differ) or ``"other"``."""
    xp = np.pad(image, 1)
    kinds = np.empty(image.shape, dtype=object)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            w = xp[i:i + 3, j:j + 3]
            cols_const, rows_const = np.all(w == w[:1]), np.all(w == w[:, :1])
            kinds[i, j] = ("flat" if cols_const and rows_const else "vertical" if cols_const else
                           "horizontal" if rows_const else "other")
    return kinds


def edge_responses(kernel, image=EDGE_IMAGE):
    """``{"flat": ..., "vertical": ..., "horizontal": ...}``: the largest absolute output of ``kernel`` (stride 1,
    padding 1) over the windows of ``image`` of each kind (see :func:`_window_kinds`)."""
    img = input_image(image)
    out = np.abs(convolve(img, kernel, 1, 1))
    kinds = _window_kinds(img)
    return {kind: float(out[kinds == kind].max()) for kind in ("flat", "vertical", "horizontal")}


def check_vertical_edges(answer):
    """Exercise 7.7: a 3x3 kernel that responds to the vertical edges of the test image and not to the rest."""
    name, pts = "Exercise 7.7 (vertical_edges)", POINTS["vertical_edges"]
    hints = ["Look at the 'square' image with the presets: which respond where the image is constant, which to its "
             "left and right sides, which to its top and bottom?",
             "A kernel whose entries sum to 0 gives 0 on a constant window. To see a vertical edge, weigh the left "
             "column of the window against the right one, the same in every row.",
             "explorer.kernel = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] (the Sobel kernel), or [[-1, 0, 1]] * 3; "
             "return explorer.kernel"]
    got = handed_in(answer, name, pts, hints, "hand in your kernel and run this cell again.")
    if isinstance(got, CheckResult):
        return got
    try:
        k = np.array(got, dtype=np.float64)
    except (TypeError, ValueError):
        return CheckResult(name, "error", f"expected a 3x3 kernel (explorer.kernel), got {type(got).__name__}.",
                           hints, max_points=pts)
    if k.shape != (3, 3) or not np.all(np.isfinite(k)):
        return CheckResult(name, "error", f"expected a 3x3 kernel of finite numbers (explorer.kernel), got shape "
                           f"{k.shape}.", hints, max_points=pts)
    r = edge_responses(k)
    shown = (f"largest |response| on flat windows {r['flat']:.3g}, on vertical edges {r['vertical']:.3g}, on "
             f"horizontal edges {r['horizontal']:.3g}")
    scale = max(np.abs(k).max(), 1e-12)
    if r["flat"] > 1e-9 * scale:
        return CheckResult(name, "incorrect", f"{shown}: the kernel responds where the image is constant (its "
                           f"entries sum to {_fmt(k.sum())}, not 0), so it also lights up the flat inside of the "
                           "square; a detector should see only changes.",
                           ["Make the entries sum to 0, e.g. negative weights on the left column and positive ones on "
                            "the right."] + hints, [shown], max_points=pts, mistake="responds to flat regions")
    if r["vertical"] <= 1e-9 * scale and r["horizontal"] <= 1e-9 * scale:
        return CheckResult(name, "incorrect", f"{shown}: the kernel does not respond to the vertical edges at all.",
                           hints, [shown], max_points=pts, mistake="no response")
    if r["horizontal"] > EDGE_RATIO * r["vertical"]:
        rt = edge_responses(k.T)
        if rt["flat"] <= 1e-9 * scale and rt["horizontal"] <= EDGE_RATIO * rt["vertical"]:
            return CheckResult(name, "incorrect", f"{shown}: this kernel detects horizontal edges (changes from top "
                               "to bottom); its transpose detects the vertical ones.",
                               ["Transpose it: explorer.kernel = explorer.kernel.T."] + hints, [shown],
                               max_points=pts, mistake="horizontal edge detector")
        return CheckResult(name, "incorrect", f"{shown}: the response to horizontal edges must be at most "
                           f"{EDGE_RATIO:g} of the response to vertical edges.", hints, [shown], max_points=pts,
                           mistake="not selective")
    return CheckResult(name, "correct", f"{shown}: zero on flat regions and on horizontal edges at most "
                       f"{EDGE_RATIO:g} of the vertical ones.", hints, [shown], points=pts, max_points=pts)


def _fmt(v):
    return f"{round(float(v), 4) + 0.0:g}"


# ----------------------------------------------------------------------------- 7.8 stride, padding and a value

def _read_value(stride, padding, row, col, kernel=None):
    k = np.array(CONV_KERNELS["vertical edge"]) if kernel is None else kernel
    return float(convolve(READ_IMAGE, k, stride, padding)[row, col])


def check_stride_and_padding(answer):
    """Exercise 7.8: ``(stride, padding, value)``: a 4x4 output with the least padding, and its value at (1, 2)."""
    name, pts = "Exercise 7.8 (stride_and_padding)", POINTS["stride_and_padding"]
    r, c = READ_POSITION
    hints = ["The output size of a 3x3 kernel on the 8x8 image is floor((8 + 2P - 3) / S) + 1: try the slider "
             "values S = 1, 2, 3 and P = 0, 1, 2, or compute them.",
             f"Two settings give a {READ_SIZE}x{READ_SIZE} output; take the one with less padding. Then set the "
             f"output row to {r} and the column to {c}, and read the value in the summary (row first).",
             f"explorer2.set(stride=2, padding=1, row={r}, col={c}); return explorer2.stride, explorer2.padding, "
             "explorer2.value"]
    got = handed_in(answer, name, pts, hints, "hand in (stride, padding, value) and run this cell again.")
    if isinstance(got, CheckResult):
        return got
    try:
        s, p, v = got
        s_int, p_int, v = int(s), int(p), float(v)
        if s_int != s or p_int != p:
            raise ValueError
    except (TypeError, ValueError):
        return CheckResult(name, "error", f"expected a tuple (stride, padding, value) of two whole numbers and a "
                           f"number, got {got!r}.", hints, max_points=pts)
    s, p = s_int, p_int
    if not (1 <= s <= 3 and 0 <= p <= 2):
        return CheckResult(name, "incorrect", f"stride {s} and padding {p} are not among the explorer's slider "
                           "values (stride 1 to 3, padding 0 to 2).", hints, max_points=pts)
    size = output_size(8, 3, s, p)
    if size != READ_SIZE:
        return CheckResult(name, "incorrect", f"stride {s} with padding {p} gives a {size}x{size} output, since "
                           f"floor((8 + 2*{p} - 3) / {s}) + 1 = {size}; the task asks for {READ_SIZE}x{READ_SIZE}.",
                           hints, max_points=pts, mistake="wrong output size")
    least = min(pp for pp in range(3) for ss in range(1, 4) if output_size(8, 3, ss, pp) == READ_SIZE)
    if p != least:
        ss = next(ss for ss in range(1, 4) if output_size(8, 3, ss, least) == READ_SIZE)
        return CheckResult(name, "incorrect", f"stride {s} with padding {p} does give {READ_SIZE}x{READ_SIZE}, but "
                           f"stride {ss} with padding {least} does too, with less padding.", hints, max_points=pts,
                           mistake="not the least padding")
    expected = _read_value(s, p, r, c)
    tol = 5e-4
    shown = f"stride {s}, padding {p}: output {size}x{size}; your value {v:g}"
    if abs(v - expected) <= tol:
        return CheckResult(name, "correct", f"{shown} is output[{r}, {c}].", hints,
                           [shown, f"tolerance +-{tol:g} (the summary shows 3 decimals)"], points=pts, max_points=pts)
    wrong = [(f"this is output[{c}, {r}]: row and column are swapped; the row comes first",
              _read_value(s, p, c, r)),
             ("this is the value with the kernel flipped (a true convolution); the explorer, like a convolutional "
              "layer, does not flip", _read_value(s, p, r, c, np.array(CONV_KERNELS["vertical edge"])[::-1, ::-1])),
             (f"this is output[{r}, {c}] with stride 1: set the stride before reading the value",
              _read_value(1, p, r, c))]
    for why, val in wrong:
        if abs(v - val) <= tol:
            return CheckResult(name, "incorrect", f"{shown}: {why}.", hints, [shown], max_points=pts, mistake=why)
    return CheckResult(name, "incorrect", f"{shown} is not output[{r}, {c}] (the tolerance is +-{tol:g}; the summary "
                       "shows 3 decimals).", hints, [shown], max_points=pts)
