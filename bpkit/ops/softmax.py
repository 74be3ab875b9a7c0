r"""Softmax, log-softmax and log-sum-exp, stable for logits of any size: Chapter 2.

Each subtracts the maximum before ``exp``, which cancels in the result and keeps every
exponent $\le 0$. The losses of :mod:`bpkit.losses` are built on these. The argument checks
are in :mod:`bpkit.ops._args`.
"""

from __future__ import annotations

import numpy as np

from ._args import _axis_args, _dout_like

__all__ = ["softmax", "log_softmax", "softmax_forward", "softmax_backward", "logsumexp"]


def logsumexp(x, axis=-1, keepdims=False):
    r"""$\log \sum_j e^{x_j}$ along ``axis``, stable for any finite input.

    Subtracting the maximum $m$ first, $m + \log\sum_j e^{x_j - m}$, keeps every
    exponent $\le 0$, so logits of $\pm 10^4$ give exact, finite results.
    """
    x = _axis_args(x, axis, "logsumexp")
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)            # rows of -inf stay -inf, not nan
    with np.errstate(divide="ignore"):          # log(0) = -inf is the right answer there
        out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(x, axis=-1):
    r"""$\mathrm{softmax}(x)_j = e^{x_j} / \sum_k e^{x_k}$ along ``axis`` (default: the last).

    The maximum is subtracted first; it cancels in the ratio and keeps ``exp`` from overflowing.
    """
    return _softmax(x, axis, "softmax")


def _softmax(x, axis, func):
    x = _axis_args(x, axis, func)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def log_softmax(x, axis=-1):
    r"""$\log \mathrm{softmax}(x) = x - \mathrm{logsumexp}(x)$, finite where the naive log would give ``-inf``."""
    x = _axis_args(x, axis, "log_softmax")
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax_forward(x, axis=-1):
    """Softmax as a forward/backward pair. Returns ``(out, cache)`` with ``cache = (out, axis)``."""
    out = _softmax(x, axis, "softmax_forward")
    return out, (out, axis)


def softmax_backward(dout, cache):
    r"""Vector-Jacobian product of softmax: $dx = s \odot (dout - \langle dout, s\rangle)$.

    The Jacobian is $\mathrm{diag}(s) - s s^\top$; applying it to ``dout`` without
    building it costs O(size) instead of O(size x classes).
    """
    dout = _dout_like(dout, cache[0], "softmax_backward")
    s, axis = cache
    return s * (dout - np.sum(dout * s, axis=axis, keepdims=True))
