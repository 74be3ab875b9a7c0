r"""Stride-1 convolution without ``cols``: one matrix product per kernel offset, on rows of pixels.

:func:`bpkit.ops.conv2d_forward` uses this route when the stride is 1 and the input has at least
``conv._ROWS_MIN_CHANNELS`` channels (the im2col route of :func:`bpkit.ops.conv._im2col_conv`
otherwise: with few channels its single product does the arithmetic faster). The numbers are those of im2col up to
rounding (``tests/test_conv.py`` keeps the two equal); what changes is the memory they pass through.

Lay the rows of a padded image end to end, so that pixel $(y, x)$ of channel $c$ sits at position
$q = y\,W_p + x$ of one long row ``xf[c]`` ($W_p$ is the padded width). Output $(i, j)$ reads pixel
$(i + k, j + l)$ at kernel offset $(k, l)$: position $q + o$ with $o = k\,W_p + l$, the same shift for
every output. So with the outputs also on rows of length $W_p$,

$$\texttt{out}[:, q] = b + \sum_{k, l} W[:, :, k, l]\; \texttt{xf}[:, q + o_{kl}],$$

one product of the (F, C) slice of the filters with a contiguous slice of ``xf`` per offset: nine
products for a 3 x 3 kernel and no copy of the windows. The last $W_p - W_\text{out}$ positions of
each output row read across the edge into the next row; they are computed and dropped (7% more
arithmetic for 28 x 28 images with padding 1), and one spare row of zeros keeps the last offset's
slice inside the array. The backward pass runs the same sums the other way:
$\texttt{dW}[:, :, k, l] = G\,\texttt{xf}[:, o_{kl} : o_{kl} + M]^\top$ and
$\texttt{dxf}[:, o_{kl} : o_{kl} + M] \mathrel{+}= W[:, :, k, l]^\top G$, with the dropped positions of
``G`` set to zero so that they add nothing.

The images go through in blocks of ``_BLOCK``: a block's rows and products stay in the processor's
cache, and blocks run on several threads when NumPy's BLAS does (:mod:`bpkit.ops._threads`).
"""

from __future__ import annotations

import numpy as np

from ._threads import map_blocks

__all__ = ["forward", "backward"]

_BLOCK = 16   # images per block (8 to 16 measured fastest for 64 images of 28 x 28, 16 channels)


def _rows(x, p):
    """``x`` (n, C, H, W) padded by ``p``, plus one spare row of zeros, as (n, C, (H+2p+1) (W+2p))."""
    n, C, H, Wd = x.shape
    xp = np.zeros((n, C, H + 2 * p + 1, Wd + 2 * p), dtype=x.dtype)
    xp[:, :, p:p + H, p:p + Wd] = x
    return xp.reshape(n, C, -1)


def _shifts(W, Wp):
    """``(o, W[:, :, k, l])`` for every kernel offset, ``o = k Wp + l`` its shift along the rows."""
    F, C, KH, KW = W.shape
    return [(k * Wp + l, np.ascontiguousarray(W[:, :, k, l])) for k in range(KH) for l in range(KW)]


def forward(x, W, b, p):
    """``out`` of a stride-1 convolution with padding ``p``; ``x``, ``W``, ``b`` already checked."""
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    Hp, Wp = H + 2 * p, Wd + 2 * p
    H_out, W_out = Hp - KH + 1, Wp - KW + 1
    M = H_out * Wp                                       # output positions on rows of length Wp
    shifts = _shifts(W, Wp)
    out = np.empty((N, F, H_out, W_out), dtype=x.dtype)

    def block(n):
        xf = _rows(x[n:n + _BLOCK], p)
        acc = shifts[0][1] @ xf[:, :, :M]                # (n, F, M)
        for o, W_kl in shifts[1:]:
            acc += W_kl @ xf[:, :, o:o + M]
        np.add(acc.reshape(-1, F, H_out, Wp)[..., :W_out], b[:, None, None], out=out[n:n + _BLOCK])

    map_blocks(block, range(0, N, _BLOCK))
    return out


def backward(dout, x, W, p, input_grad=True):
    """``(dx, dW, db)`` of :func:`forward` (``dx`` is None without ``input_grad``)."""
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    Hp, Wp = H + 2 * p, Wd + 2 * p
    H_out, W_out = dout.shape[2:]
    M = H_out * Wp
    shifts = [(o, W_kl.T) for o, W_kl in _shifts(W, Wp)]
    dx = np.empty(x.shape, dtype=dout.dtype) if input_grad else None

    def block(n):
        xf = _rows(x[n:n + _BLOCK], p)
        G = np.zeros((len(xf), F, H_out, Wp), dtype=dout.dtype)
        G[..., :W_out] = dout[n:n + _BLOCK]              # zeros at the dropped positions
        G = G.reshape(len(xf), F, M)
        dW = np.empty((KH * KW, F, C), dtype=dout.dtype)
        dxf = np.zeros_like(xf) if input_grad else None
        for i, (o, W_klT) in enumerate(shifts):
            np.sum(G @ xf[:, :, o:o + M].transpose(0, 2, 1), axis=0, out=dW[i])
            if input_grad:
                dxf[:, :, o:o + M] += W_klT @ G
        if input_grad:
            dx[n:n + _BLOCK] = dxf.reshape(-1, C, Hp + 1, Wp)[:, :, p:p + H, p:p + Wd]
        return dW

    dW = sum(map_blocks(block, range(0, N, _BLOCK)))    # in block order, whatever the threads
    dW = np.ascontiguousarray(dW.reshape(KH, KW, F, C).transpose(2, 3, 0, 1))
    return dx, dW, dout.sum(axis=(0, 2, 3))
