r"""Dropout and batch normalisation: Chapter 6.

Inverted dropout zeroes units at random in training and scales the others by $1/(1-p)$;
batch normalisation normalises each feature over the batch and learns a scale and a shift.
Both behave differently in training and evaluation; the modules :class:`bpkit.nn.Dropout`
and :class:`bpkit.nn.BatchNorm1d`/``2d`` keep the mode (and batch norm's running averages).
The argument checks are in :mod:`bpkit.ops._args`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._args import _batchnorm_args, _dout_like, _dropout_args, _dropout_dout

__all__ = ["dropout_forward", "dropout_backward", "BatchNormCache", "batchnorm_forward", "batchnorm_backward"]


def dropout_forward(x, p, rng):
    r"""Inverted dropout (training mode): zero each entry with probability ``p``, scale the rest by $1/(1-p)$.

    $y = x \odot m$ with $m_i = [u_i \ge p] / (1 - p)$ and $u_i$ uniform on $[0, 1)$, so
    $\mathbb E[y_i] = x_i$ and evaluation needs no rescaling: in evaluation mode dropout is
    the identity (the module :class:`bpkit.nn.Dropout` skips this function there).

    Parameters
    ----------
    x : ndarray, any shape
    p : float in [0, 1]
        Probability of *dropping* an entry, as in PyTorch (``p=1`` gives zeros).
    rng : np.random.Generator
        Source of the mask; the same seed gives the same mask.

    Returns
    -------
    out : ndarray, the shape and dtype of ``x``
    cache : ndarray or None
        The scaled mask $m$ (``None`` when ``p == 0``), what :func:`dropout_backward` needs.
    """
    x = _dropout_args(x, p, rng)
    if p == 0:
        return x.copy(), None
    if p == 1:
        mask = np.zeros_like(x)
    else:
        dtype = np.float32 if x.dtype == np.float32 else np.float64
        u = rng.random(x.shape, dtype=dtype)
        mask = (u >= p).astype(x.dtype)
        mask *= x.dtype.type(1.0 / (1.0 - p))
    return x * mask, mask


def dropout_backward(dout, cache):
    r"""$dx = dout \odot m$: a dropped unit passes no gradient, a kept one passes it scaled by $1/(1-p)$."""
    dout = _dropout_dout(dout, cache)
    mask = cache
    if mask is None:                                       # p == 0: the identity
        return dout.copy()
    return dout * mask


class BatchNormCache(NamedTuple):
    """What :func:`batchnorm_backward` needs, and the statistics a module keeps running averages of."""

    xhat: np.ndarray           #: the normalised input, shape of x
    inv_std: np.ndarray        #: $1/\sqrt{\sigma^2 + \epsilon}$ per feature, shape (D,) or (C,)
    gamma: np.ndarray          #: the scale, shape (D,) or (C,)
    mean: np.ndarray           #: the mean used, shape (D,) or (C,)
    var: np.ndarray            #: the (biased) variance used, shape (D,) or (C,)
    batch_stats: bool          #: True if mean and var came from the batch (training mode)


def _bn_axes(x):
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _bn_shape(v, x):
    """A per-feature vector shaped to broadcast against x: (D,) for (N, D), (1, C, 1, 1) for (N, C, H, W)."""
    return v if x.ndim == 2 else v.reshape(1, -1, 1, 1)


def batchnorm_forward(x, gamma, beta, eps=1e-5, mean=None, var=None):
    r"""Batch normalisation: $y = \gamma\,\hat x + \beta$ with $\hat x = (x - \mu) / \sqrt{\sigma^2 + \epsilon}$.

    Each feature is normalised over the batch (Ioffe and Szegedy, 2015): for dense input
    ``x`` of shape (N, D) over the N rows, for images of shape (N, C, H, W) over the N, H and W
    axes of each channel. $\sigma^2$ is the *biased* variance (divided by the count), as in
    the paper and in PyTorch.

    Parameters
    ----------
    x : ndarray, shape (N, D) or (N, C, H, W)
    gamma, beta : ndarray, shape (D,) or (C,)
        Learned scale and shift.
    eps : float, default 1e-5
        Added to the variance, so a constant feature does not divide by zero.
    mean, var : ndarray, shape (D,) or (C,), optional
        Statistics to use instead of the batch's (evaluation mode: the module passes its
        running averages). They are then constants, and the backward pass is the plain
        affine one.

    Returns
    -------
    out : ndarray, the shape and dtype of ``x``
    cache : BatchNormCache
        Holds the batch ``mean`` and ``var`` (for the running averages) and what the backward
        pass needs.
    """
    x, gamma, beta, mean, var = _batchnorm_args(x, gamma, beta, eps, mean, var)
    batch_stats = mean is None
    if batch_stats:
        axes = _bn_axes(x)
        mean = x.mean(axis=axes)
        xc = x - _bn_shape(mean, x)
        var = np.mean(xc * xc, axis=axes)
    else:
        xc = x - _bn_shape(mean, x)
    inv_std = (1.0 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype, copy=False)
    xhat = xc * _bn_shape(inv_std, x)
    out = xhat * _bn_shape(gamma, x) + _bn_shape(beta, x)
    return out, BatchNormCache(xhat, inv_std, gamma, mean, var, batch_stats)


def batchnorm_backward(dout, cache):
    r"""Gradients of batch normalisation: ``(dx, dgamma, dbeta)``.

    $d\beta = \sum dY$ and $d\gamma = \sum dY \odot \hat X$ over the batch (and the image
    axes). With batch statistics, the mean and variance depend on every example, so
    each $dx_i$ gathers three paths; with $m$ values per feature they sum to

    $$dx = \frac{\gamma}{m\sqrt{\sigma^2+\epsilon}}\Big(m\,dY - d\beta - \hat X\, d\gamma\Big).$$

    With fixed statistics (evaluation mode) only the direct path is left:
    $dx = dY\,\gamma / \sqrt{\sigma^2+\epsilon}$.
    """
    dout = _dout_like(dout, cache.xhat, "batchnorm_backward")
    xhat, inv_std, gamma, _, _, batch_stats = cache
    axes = _bn_axes(xhat)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    scale = _bn_shape(gamma * inv_std, xhat)
    if not batch_stats:
        return dout * scale, dgamma, dbeta
    m = xhat.size // xhat.shape[1]
    dx = m * dout
    dx -= _bn_shape(dbeta, xhat)
    dx -= xhat * _bn_shape(dgamma, xhat)
    dx *= scale / xhat.dtype.type(m)
    return dx, dgamma, dbeta
