"""Convolution and pooling over batches of images: Chapter 7.

Images are (N, C, H, W) and a convolution's weight ``W`` is (F, C, KH, KW). ``conv2d_forward``
computes PyTorch's cross-correlation as one matrix product over the windows of the input
(im2col); max and average pooling take every KH x KW window of each channel. The argument
checks are in :mod:`bpkit.ops._args`.
"""

from __future__ import annotations

import numpy as np

from . import _conv_rows
from ._args import _conv2d_args, _conv2d_dout, _pool_args, _pool_dout

__all__ = ["conv2d_forward", "conv2d_backward", "maxpool2d_forward", "maxpool2d_backward",
           "avgpool2d_forward", "avgpool2d_backward"]

_BLOCK = 4   # images per block in _im2col_conv_backward's col2im (4 to 8 measured fastest on 28 x 28)
# The stride-1 route of _conv_rows takes one product per kernel offset, of inner size C: with fewer
# channels than this, im2col's one product of inner size C KH KW is faster (measured on 28 x 28
# images, 3 x 3 and 5 x 5 kernels: 5x faster for C = 1, about even at C = 8 on one thread).
_ROWS_MIN_CHANNELS = 8


def _rows_route(C, stride):
    """Whether :func:`conv2d_forward` takes the route of :mod:`bpkit.ops._conv_rows`."""
    return stride == 1 and C >= _ROWS_MIN_CHANNELS


def _windows(x, KH, KW, SH, SW):
    """Read-only view (N, C, H_out, W_out, KH, KW) of every KH x KW window of ``x``, ``SH``/``SW`` apart."""
    return np.lib.stride_tricks.sliding_window_view(x, (KH, KW), axis=(2, 3))[:, :, ::SH, ::SW]


def _offsets(KH, KW, SH, SW, H_out, W_out):
    """``(k, l, rows, cols)`` for every kernel offset: the slices of the input that offset reads.

    Output ``(i, j)`` reads input ``(i SH + k, j SW + l)`` at offset ``(k, l)``, so over all outputs
    the offset reads ``x[..., rows, cols]``, a strided view the size of the output.
    """
    for k in range(KH):
        for l in range(KW):
            yield k, l, slice(k, k + SH * (H_out - 1) + 1, SH), slice(l, l + SW * (W_out - 1) + 1, SW)


def _im2col(xp, KH, KW, s):
    """``cols`` (C KH KW, N H_out W_out): column ``(n, i, j)`` is the window of output ``(i, j)``.

    The same matrix as ``_windows(xp, KH, KW, s, s).transpose(1, 4, 5, 0, 2, 3).reshape(C KH KW, -1)``,
    built with one slice copy per kernel offset (KH KW copies of the size of the output), which
    is about twice as fast as copying the six-dimensional view of the windows at once.
    """
    N, C, Hp, Wp = xp.shape
    H_out, W_out = (Hp - KH) // s + 1, (Wp - KW) // s + 1
    xt = xp.transpose(1, 0, 2, 3)                                     # (C, N, H, W): a view
    cols = np.empty((C, KH, KW, N, H_out, W_out), dtype=xp.dtype)
    for k, l, rows, cols_ in _offsets(KH, KW, s, s, H_out, W_out):
        cols[:, k, l] = xt[:, :, rows, cols_]
    return cols.reshape(C * KH * KW, N * H_out * W_out)


def _col2im(dcols, s, dxp):
    """The adjoint of :func:`_im2col`: add every window's gradient back to the pixels it was cut from.

    ``dcols`` is (N, C, KH, KW, H_out, W_out), the window gradients of N images; they are added
    into ``dxp`` (N, C, Hp, Wp), in place. A pixel sums the gradients of every window that
    contains it: one slice-add per kernel offset.
    """
    N, C, KH, KW, H_out, W_out = dcols.shape
    for k, l, rows, cols_ in _offsets(KH, KW, s, s, H_out, W_out):
        dxp[:, :, rows, cols_] += dcols[:, :, k, l]
    return dxp


def conv2d_forward(x, W, b, stride=1, padding=0):
    r"""2-D convolution (cross-correlation, as PyTorch's ``F.conv2d``) of a batch of images.

    $$\texttt{out}[n, f, i, j] = b_f + \sum_{c, k, l} W[f, c, k, l]\;
    x_{\text{pad}}[n, c,\; i s + k,\; j s + l],$$

    with $s$ the stride and $x_{\text{pad}}$ the input with ``padding`` zeros around each image.
    Every output sums the products of one filter with one window of the input, so the whole
    layer is one matrix product over the windows (im2col, :func:`_im2col_conv`). With stride 1
    and at least ``_ROWS_MIN_CHANNELS`` input channels, the same sum is taken as one product per
    kernel offset on shifted rows of pixels, in blocks of images that can run on several threads
    (:mod:`bpkit.ops._conv_rows`): the same numbers up to rounding, without the matrix of windows.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        A batch of N images with C channels of H x W pixels.
    W : ndarray, shape (F, C, KH, KW)
        F filters, each spanning all C channels of a KH x KW window.
    b : ndarray, shape (F,)
        One bias per filter.
    stride : int >= 1, default 1
        Step between windows, in both directions.
    padding : int >= 0, default 0
        Rows and columns of zeros added on each side of every image.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
        With ``H_out = (H + 2*padding - KH) // stride + 1`` and the same rule for ``W_out``.
    cache : tuple
        ``(x.shape, W, data, stride, padding)``, what :func:`conv2d_backward` needs: ``data`` is
        the input ``x`` on the stride-1 route (its rows are read again), the windows ``cols``
        otherwise.
    """
    x, W, b, s, p = _conv2d_args(x, W, b, stride, padding)
    if _rows_route(x.shape[1], s):                # the same sum, without cols: _conv_rows
        return _conv_rows.forward(x, W, b, p), (x.shape, W, x, s, p)
    out, cols = _im2col_conv(x, W, b, s, p)
    return out, (x.shape, W, cols, s, p)


def _im2col_conv(x, W, b, s, p):
    """``(out, cols)``: the convolution as one matrix product over the windows of ``x``.

    The windows become the columns of ``cols`` (C KH KW, N H_out W_out), and
    ``W.reshape(F, -1) @ cols`` gives every output at once. We take that product one image at a
    time (an image's columns are a (C KH KW, H_out W_out) block of ``cols``): the output comes
    out in (N, F, H_out W_out) order with no transpose, and each product's operands fit in the
    processor's cache.
    """
    N, C = x.shape[:2]
    F, _, KH, KW = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
    cols = _im2col(xp, KH, KW, s)                 # (C KH KW, N H_out W_out)
    H_out = (xp.shape[2] - KH) // s + 1
    W_out = (xp.shape[3] - KW) // s + 1
    per_image = cols.reshape(-1, N, H_out * W_out).transpose(1, 0, 2)
    out = W.reshape(F, -1) @ per_image            # (N, F, H_out W_out)
    out += b[:, None]
    return out.reshape(N, F, H_out, W_out), cols


def conv2d_backward(dout, cache):
    r"""Gradients of :func:`conv2d_forward`: ``(dx, dW, db)``.

    With the windows as the columns of ``cols`` and ``dout`` as a matrix $G$ of shape
    (F, N H_out W_out), the layer is the affine map $W_{\text{mat}}\,\texttt{cols} + b$, so as
    for a dense layer $\texttt{dW} = G\,\texttt{cols}^\top$ and $\texttt{db}$ sums $G$ over
    its columns. The gradient for the windows, $W_{\text{mat}}^\top G$, goes back to the pixels
    the windows were cut from (col2im, :func:`_im2col_conv_backward`). With stride 1 the same
    sums run one kernel offset at a time on rows of pixels (:mod:`bpkit.ops._conv_rows`), when
    :func:`conv2d_forward` took that route.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        From :func:`conv2d_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dW : ndarray, shape (F, C, KH, KW)
    db : ndarray, shape (F,)
    """
    dout = _conv2d_dout(dout, cache, "conv2d_backward")
    (_, C, _, _), W, data, s, p = cache
    if _rows_route(C, s):                         # data is x: _conv_rows
        return _conv_rows.backward(dout, data, W, p)
    return _im2col_conv_backward(dout, cache)


def _im2col_conv_backward(dout, cache):
    """``(dx, dW, db)`` from ``cols``: products with the window matrix, then col2im.

    A pixel sums the gradients of every window that contains it, added one kernel offset
    $(k, l)$ at a time. The window gradients are formed and added back ``_BLOCK`` images at a
    time, so that a block's stay in the processor's cache between the product and the additions.
    """
    (N, C, H, Wd), W, cols, s, p = cache
    dW, db = _im2col_param_grads(dout, W, cols)
    F, _, KH, KW = W.shape
    H_out, W_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * p, Wd + 2 * p), dtype=dout.dtype)
    for n in range(0, N, _BLOCK):                 # a few images at a time
        G_n = dout[n:n + _BLOCK].reshape(-1, F, H_out * W_out)
        dcols = W.reshape(F, -1).T @ G_n          # (n, C KH KW, H_out W_out)
        dcols = dcols.reshape(-1, C, KH, KW, H_out, W_out)
        _col2im(dcols, s, dxp[n:n + _BLOCK])      # adds into dxp
    dx = dxp[:, :, p:p + H, p:p + Wd] if p else dxp
    return np.ascontiguousarray(dx), dW, db


def _conv2d_param_grads(dout, cache):
    """``(dW, db)`` alone: ``Conv2d.backward`` needs no ``dx`` in a network's first layer."""
    (_, C, _, _), W, data, s, p = cache
    if _rows_route(C, s):                         # data is x
        return _conv_rows.backward(dout, data, W, p, input_grad=False)[1:]
    return _im2col_param_grads(dout, W, data)


def _im2col_param_grads(dout, W, cols):
    """``(dW, db)`` as for a dense layer, with ``dout`` as a matrix G (F, N H_out W_out)."""
    G = np.ascontiguousarray(dout.transpose(1, 0, 2, 3)).reshape(W.shape[0], cols.shape[1])   # columns as in cols
    dW = np.ascontiguousarray((cols @ G.T).T)    # (F, C KH KW): faster than G @ cols.T
    return dW.reshape(W.shape), G.sum(axis=1)


def maxpool2d_forward(x, kernel_size=2, stride=None):
    r"""Max pooling: the largest value of every KH x KW window of each channel.

    $\texttt{out}[n, c, i, j] = \max_{k, l}\, x[n, c,\; i s_H + k,\; j s_W + l]$.
    Windows that would run past the bottom or right edge are dropped, as in PyTorch. The loop
    runs over the KH KW offsets of a window, not over the windows: each offset is one strided
    slice of ``x`` the size of the output, and a running maximum keeps the largest.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_size : int or (KH, KW), default 2
    stride : int or (SH, SW), optional
        Defaults to ``kernel_size``: windows side by side, not overlapping.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
        ``H_out = (H - KH) // SH + 1``, and the same rule for ``W_out``.
    cache : tuple
        ``(x.shape, argmax, kernel, stride)``: for every window the flat index, in
        ``range(KH * KW)``, of its maximum (the first one on ties, as PyTorch does on the CPU).
    """
    x, (KH, KW), (SH, SW) = _pool_args(x, kernel_size, stride, "maxpool2d_forward")
    H_out, W_out = (x.shape[2] - KH) // SH + 1, (x.shape[3] - KW) // SW + 1
    offsets = list(_offsets(KH, KW, SH, SW, H_out, W_out))
    out = x[:, :, offsets[0][2], offsets[0][3]].copy()              # (N, C, H_out, W_out): offset (0, 0) first
    argmax = np.zeros(out.shape, dtype=np.min_scalar_type(KH * KW - 1))
    larger, q_where = np.empty(out.shape, dtype=bool), np.empty_like(argmax)
    for q, (_, _, rows, cols) in enumerate(offsets[1:], start=1):  # then every other offset of the window
        xq = x[:, :, rows, cols]
        np.greater(xq, out, out=larger)                             # strictly: ties keep the first maximum
        np.multiply(larger, argmax.dtype.type(q), out=q_where)      # q where larger, else 0; and as every
        np.maximum(argmax, q_where, out=argmax)                     # earlier offset is < q: argmax = q there
        np.maximum(out, xq, out=out)
    return out, (x.shape, argmax, (KH, KW), (SH, SW))


def maxpool2d_backward(dout, cache):
    r"""Gradient of max pooling: each window sends its ``dout`` to the input that was its maximum.

    Every other input of the window gets nothing from it. Where windows overlap (stride smaller
    than the window), an input that is the maximum of several windows sums their gradients.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    dout = _pool_dout(dout, cache, "maxpool2d_backward")
    x_shape, argmax, (KH, KW), (SH, SW) = cache
    H_out, W_out = argmax.shape[2:]
    apart = SH >= KH and SW >= KW         # each input in one window at most
    tiled = (SH, SW) == (KH, KW) and x_shape[2:] == (H_out * SH, W_out * SW)
    dx = (np.empty if tiled else np.zeros)(x_shape, dtype=dout.dtype)
    at_q = np.empty(argmax.shape, dtype=bool)
    offsets = _offsets(KH, KW, SH, SW, H_out, W_out)
    for q, (_, _, rows, cols) in enumerate(offsets):
        np.equal(argmax, q, out=at_q)     # windows whose maximum is at q
        if apart:                         # tiled: every input written once
            np.multiply(dout, at_q, out=dx[:, :, rows, cols])
        else:
            dx[:, :, rows, cols] += dout * at_q
    return dx


def avgpool2d_forward(x, kernel_size=2, stride=None):
    r"""Average pooling: the mean of every KH x KW window of each channel.

    $\texttt{out}[n, c, i, j] = \frac{1}{KH\,KW} \sum_{k, l} x[n, c,\; i s_H + k,\; j s_W + l]$.
    Parameters and output shape as in :func:`maxpool2d_forward`; ``cache`` is
    ``(x.shape, kernel, stride)``.
    """
    x, (KH, KW), (SH, SW) = _pool_args(x, kernel_size, stride, "avgpool2d_forward")
    out = _windows(x, KH, KW, SH, SW).mean(axis=(-2, -1))
    return out.astype(x.dtype, copy=False), (x.shape, (KH, KW), (SH, SW))


def avgpool2d_backward(dout, cache):
    r"""Gradient of average pooling: each window spreads ``dout / (KH KW)`` evenly over its inputs.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    dout = _pool_dout(dout, cache, "avgpool2d_backward")
    x_shape, (KH, KW), (SH, SW) = cache
    H_out, W_out = dout.shape[2:]
    share = dout / (KH * KW)
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for k in range(KH):                                   # one kernel offset at a time
        for l in range(KW):
            dx[:, :, k:k + SH * (H_out - 1) + 1:SH, l:l + SW * (W_out - 1) + 1:SW] += share
    return dx
