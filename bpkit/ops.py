"""Differentiable operations as forward/backward function pairs.

Every pair follows one contract, the one the chapters derive:

* ``*_forward(inputs...) -> (out, cache)``: compute the output and keep, in ``cache``,
  exactly what the backward pass needs.
* ``*_backward(dout, cache) -> d<input>...``: given the upstream gradient ``dout``
  (the gradient of the scalar loss with respect to ``out``, same shape as ``out``),
  return the gradient with respect to each input, each with the shape of that input.

Layouts are batch first: dense input ``x`` is ``(N, D)``, a dense weight ``W`` is
``(D, M)`` and the layer computes ``x @ W + b`` (row-vector convention). Functions never
modify their inputs, and they keep the float dtype they are given: float32 in, float32 out.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._checks import as_float_array, check_ndim, check_same_dtype, check_shape, shape_str

__all__ = [
    "linear_forward", "linear_backward",
    "sigmoid", "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward",
    "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward",
    "softmax", "log_softmax", "softmax_forward", "softmax_backward",
    "logsumexp",
    "gelu_forward", "gelu_backward",
    "dropout_forward", "dropout_backward",
    "BatchNormCache", "batchnorm_forward", "batchnorm_backward",
]


# --------------------------------------------------------------------------- linear

def linear_forward(x, W, b):
    r"""Affine map $Z = XW + b$.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        A batch of N inputs with D features each.
    W : ndarray, shape (D, M)
        Weights; column ``m`` holds the D weights of output unit ``m``.
    b : ndarray, shape (M,)
        Bias, broadcast over the N rows.

    Returns
    -------
    out : ndarray, shape (N, M)
        The layer's output $Z$.
    cache : tuple
        ``(x, W)``, what :func:`linear_backward` needs.
    """
    W = as_float_array(W, "linear_forward", "W")
    x = as_float_array(x, "linear_forward", "x", dtype=W.dtype)
    b = as_float_array(b, "linear_forward", "b", dtype=W.dtype)
    check_ndim(W, "linear_forward", "W", 2, "(D, M)")
    check_ndim(x, "linear_forward", "x", 2, "(N, D)")
    D, M = W.shape
    if x.shape[1] != D:
        hint = ("W looks transposed: pass W.T." if x.shape[1] == M and D != M
                else f"x must have D = W.shape[0] = {D} columns.")
        raise ValueError(f"linear_forward: x has shape {shape_str(x.shape)} but W has shape "
                         f"{shape_str(W.shape)}; expected x of shape (N, {D}). {hint}")
    check_shape(b, "linear_forward", "b", (M,),
                hint="b holds one bias per output unit; a (1, M) or (M, 1) bias broadcasts wrongly, "
                     "use b.ravel() if it is (1, M).")
    check_same_dtype("linear_forward", x=x, W=W, b=b)
    out = x @ W
    out += b
    return out, (x, W)


def linear_backward(dout, cache):
    r"""Gradients of the affine map $Z = XW + b$ from ``dout`` $= \partial L / \partial Z$.

    $\texttt{dX} = \texttt{dout}\,W^\top$, $\texttt{dW} = X^\top \texttt{dout}$,
    $\texttt{db} = \sum_{n=1}^{N} \texttt{dout}_{n,:}$.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient, the gradient of the loss with respect to the output ``out`` ($Z$).
    cache : tuple
        ``(x, W)`` from :func:`linear_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dW : ndarray, shape (D, M)
    db : ndarray, shape (M,)
        Summed over the batch: every row used the same bias.
    """
    x, W = cache
    dout = as_float_array(dout, "linear_backward", "dout", dtype=W.dtype)
    check_shape(dout, "linear_backward", "dout", (x.shape[0], W.shape[1]),
                hint="Pass the gradient with respect to this layer's output, which has the forward "
                     "output's shape (N, M)" + ("; use dout.T" if np.shape(dout) == (W.shape[1], x.shape[0]) else "")
                     + ".")
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db


# --------------------------------------------------------------------------- activations

def _elementwise_dout(dout, out, func):
    dout = as_float_array(dout, func, "dout", dtype=out.dtype)
    if dout.shape != out.shape:
        raise ValueError(f"{func}: 'dout' must have the shape of the forward output "
                         f"{shape_str(out.shape)}, got {shape_str(dout.shape)}. Pass the gradient of the "
                         "loss with respect to this function's output; check that the backward calls run in "
                         "the reverse order of the forward calls.")
    return dout


def sigmoid(z):
    r"""Logistic function $\sigma(z) = 1 / (1 + e^{-z})$, computed without overflow.

    For $z \ge 0$ it evaluates $1/(1+e^{-z})$, for $z < 0$ the equal $e^{z}/(1+e^{z})$,
    so ``exp`` only ever sees non-positive numbers and ``sigmoid(-1e4)`` is exactly 0
    with no warning.
    """
    z = as_float_array(z, "sigmoid", "z")
    e = np.exp(-np.abs(z))              # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def sigmoid_forward(z):
    r"""$\sigma(z)$ element-wise; any shape. Returns ``(out, cache)`` with ``cache = out``."""
    out = sigmoid(z)
    return out, out


def sigmoid_backward(dout, cache):
    r"""$dz = dout \odot \sigma(z)(1 - \sigma(z))$, written with the cached *output* $\sigma(z)$."""
    out = cache
    dout = _elementwise_dout(dout, out, "sigmoid_backward")
    return dout * out * (1 - out)


def tanh_forward(z):
    r"""$\tanh(z)$ element-wise; any shape. Returns ``(out, cache)`` with ``cache = out``."""
    out = np.tanh(as_float_array(z, "tanh_forward", "z"))
    return out, out


def tanh_backward(dout, cache):
    r"""$dz = dout \odot (1 - \tanh^2(z))$, written with the cached output."""
    out = cache
    dout = _elementwise_dout(dout, out, "tanh_backward")
    return dout * (1 - out * out)


def relu_forward(z):
    r"""$\max(z, 0)$ element-wise; any shape. Returns ``(out, cache)`` with ``cache = out``."""
    z = as_float_array(z, "relu_forward", "z")
    out = np.maximum(z, 0)
    return out, out


def relu_backward(dout, cache):
    r"""$dz = dout \odot [z > 0]$. At $z = 0$ we use the subgradient 0, as PyTorch does.

    The product with the 0/1 mask has no data-dependent branch, so it runs several times
    faster than ``np.where(out > 0, dout, 0)`` on the random masks of a real network, and
    gives the same array: adding ``0.0`` turns the ``-0.0`` of a negative ``dout`` times 0
    into ``0.0``, and a ``dout`` holding inf or NaN (where ``inf * 0`` would be NaN) takes
    the ``np.where`` path, so inactive units always get exactly 0.
    """
    out = cache
    dout = _elementwise_dout(dout, out, "relu_backward")
    if not np.isfinite(dout).all():
        return np.where(out > 0, dout, 0).astype(dout.dtype, copy=False)
    dz = np.multiply(dout, out > 0, out=np.empty_like(dout))
    dz += 0.0
    return dz


def leaky_relu_forward(z, alpha=0.01):
    r"""$z$ where $z > 0$, else $\alpha z$. Returns ``(out, cache)`` with ``cache = (z, alpha)``."""
    z = as_float_array(z, "leaky_relu_forward", "z")
    if not np.isscalar(alpha) or not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"leaky_relu_forward: 'alpha' must be a finite number >= 0, got {alpha!r}. "
                         "Use a small positive slope such as alpha=0.01.")
    out = np.where(z > 0, z, alpha * z).astype(z.dtype, copy=False)
    return out, (z, alpha)


def leaky_relu_backward(dout, cache):
    r"""$dz = dout$ where $z > 0$, else $\alpha\,dout$."""
    z, alpha = cache
    dout = _elementwise_dout(dout, z, "leaky_relu_backward")
    return np.where(z > 0, dout, alpha * dout).astype(dout.dtype, copy=False)


# --------------------------------------------------------------------------- softmax family

def _check_axis(x, axis, func):
    if not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < max(x.ndim, 1):
        raise ValueError(f"{func}: 'axis' must be an int in [{-x.ndim}, {x.ndim - 1}] for an input "
                         f"of shape {shape_str(x.shape)}, got {axis!r}. Use axis=-1 for the last axis "
                         "(the class axis of (N, C) scores).")


def logsumexp(x, axis=-1, keepdims=False):
    r"""$\log \sum_j e^{x_j}$ along ``axis``, stable for any finite input.

    Subtracting the maximum $m$ first, $m + \log\sum_j e^{x_j - m}$, keeps every
    exponent $\le 0$, so logits of $\pm 10^4$ give exact, finite results.
    """
    x = as_float_array(x, "logsumexp", "x")
    _check_axis(x, axis, "logsumexp")
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
    x = as_float_array(x, func, "x")
    _check_axis(x, axis, func)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def log_softmax(x, axis=-1):
    r"""$\log \mathrm{softmax}(x) = x - \mathrm{logsumexp}(x)$, finite where the naive log would give ``-inf``."""
    x = as_float_array(x, "log_softmax", "x")
    _check_axis(x, axis, "log_softmax")
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
    s, axis = cache
    dout = _elementwise_dout(dout, s, "softmax_backward")
    return s * (dout - np.sum(dout * s, axis=axis, keepdims=True))


# --------------------------------------------------------------------------- GELU

#: ``math.erf`` applied element-wise. NumPy has no erf and scipy is not a dependency; the
#: standard library's is exact to double precision. Called once per element it is much slower
#: than ``np.tanh`` (Chapter 5 times both), but fast enough for the networks of the course,
#: and forward and backward then share one exact $\Phi$, so gradient checks agree to ~1e-10.
_erf = np.vectorize(math.erf, otypes=[np.float64])
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu_forward(z, approximate="none"):
    r"""GELU $z\,\Phi(z) = \tfrac12 z\,(1 + \mathrm{erf}(z/\sqrt2))$ element-wise; any shape.

    Parameters
    ----------
    z : ndarray, any shape
    approximate : ``"none"`` (default, the exact erf form, as PyTorch's default) or ``"tanh"``
        for $\tfrac12 z\,(1 + \tanh(\sqrt{2/\pi}\,(z + 0.044715 z^3)))$.

    Returns
    -------
    out : ndarray, the shape and dtype of ``z``
    cache : tuple
        ``(z, p, approximate)`` with ``p`` = $\Phi(z)$ (exact) or the tanh term (approximate).
    """
    z = as_float_array(z, "gelu_forward", "z")
    if approximate == "none":
        p = (0.5 * (1.0 + _erf(z / math.sqrt(2.0)))).astype(z.dtype, copy=False)    # Phi(z)
    elif approximate == "tanh":
        zc = np.clip(z, -100, 100)          # tanh is exactly +-1 there; avoids z**3 overflow in float32
        p = np.tanh(_SQRT_2_OVER_PI * (zc + 0.044715 * zc ** 3)).astype(z.dtype, copy=False)
    else:
        raise ValueError(f"gelu_forward: 'approximate' must be 'none' or 'tanh', got {approximate!r}.")
    out = z * p if approximate == "none" else 0.5 * z * (1 + p)
    return out.astype(z.dtype, copy=False), (z, p, approximate)


def gelu_backward(dout, cache):
    r"""$dz = dout \odot (\Phi(z) + z\,\varphi(z))$, with $\varphi(z) = e^{-z^2/2}/\sqrt{2\pi}$.

    For ``approximate="tanh"`` the derivative of the tanh form,
    $\tfrac12(1 + t) + \tfrac12 z (1 - t^2)\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715 z^2)$.
    """
    z, p, approximate = cache
    dout = _elementwise_dout(dout, z, "gelu_backward")
    if approximate == "none":
        local = p + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    else:
        zc = np.clip(z, -100, 100)
        local = 0.5 * (1 + p) + 0.5 * zc * (1 - p * p) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * zc * zc)
    return (dout * local).astype(dout.dtype, copy=False)


# --------------------------------------------------------------------------- dropout

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
    x = as_float_array(x, "dropout_forward", "x")
    _check_dropout_p(p, "dropout_forward")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"dropout_forward: 'rng' must be a np.random.Generator, got {type(rng).__name__}. "
                        "Pass rng=np.random.default_rng(0) so the dropped units are reproducible.")
    if p == 0:
        return x.copy(), None
    if p == 1:
        mask = np.zeros_like(x)
    else:
        u = rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64)
        mask = (u >= p).astype(x.dtype)
        mask *= x.dtype.type(1.0 / (1.0 - p))
    return x * mask, mask


def dropout_backward(dout, cache):
    r"""$dx = dout \odot m$: a dropped unit passes no gradient, a kept one passes it scaled by $1/(1-p)$."""
    mask = cache
    if mask is None:                                       # p == 0: the identity
        return as_float_array(dout, "dropout_backward", "dout").copy()
    dout = _elementwise_dout(dout, mask, "dropout_backward")
    return dout * mask


def _check_dropout_p(p, func):
    if isinstance(p, bool) or not np.isscalar(p) or not isinstance(p, (int, float, np.number)) \
            or not 0 <= p <= 1:
        raise ValueError(f"{func}: 'p' is the probability of dropping a unit and must be a number in "
                         f"[0, 1], got {p!r}. Use e.g. p=0.5 (p is the drop rate, not the keep rate).")


# --------------------------------------------------------------------------- batch normalisation

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
    func = "batchnorm_forward"
    x = as_float_array(x, func, "x")
    if x.ndim not in (2, 4):
        raise ValueError(f"{func}: 'x' must have shape (N, D) or (N, C, H, W), got {shape_str(x.shape)} "
                         f"({x.ndim}-D). " + ("For one feature vector use x.reshape(1, -1); note that "
                                              "batch statistics need N >= 2." if x.ndim == 1 else
                                              "Reshape it to one of the two layouts."))
    F = x.shape[1]
    gamma = as_float_array(gamma, func, "gamma", dtype=x.dtype)
    beta = as_float_array(beta, func, "beta", dtype=x.dtype)
    feat = "D" if x.ndim == 2 else "C"
    for name, v in (("gamma", gamma), ("beta", beta)):
        check_shape(v, func, name, (F,), hint=f"It holds one value per feature: {feat} = x.shape[1] = {F}.")
    check_same_dtype(func, x=x, gamma=gamma, beta=beta)
    if not (np.isscalar(eps) and np.isfinite(eps) and eps >= 0):
        raise ValueError(f"{func}: 'eps' must be a finite number >= 0, got {eps!r}. Use the default 1e-5.")
    axes = _bn_axes(x)
    if (mean is None) != (var is None):
        raise ValueError(f"{func}: pass both 'mean' and 'var' (evaluation mode) or neither (training mode, "
                         "batch statistics); got only " + ("'mean'." if var is None else "'var'."))
    if mean is None:
        count = x.size // F
        if count < 2:
            raise ValueError(f"{func}: batch statistics need more than one value per feature, got x of shape "
                             f"{shape_str(x.shape)}. Use a batch of at least 2 examples in training mode (with fit, choose a "
                             "batch_size that does not leave a last batch of 1), or call the module's eval() to "
                             "normalise with its running averages.")
        mean = x.mean(axis=axes)
        xc = x - _bn_shape(mean, x)
        var = np.mean(xc * xc, axis=axes)
        batch_stats = True
    else:
        mean = as_float_array(mean, func, "mean", dtype=x.dtype)
        var = as_float_array(var, func, "var", dtype=x.dtype)
        for name, v in (("mean", mean), ("var", var)):
            check_shape(v, func, name, (F,), hint=f"It holds one value per feature: {feat} = {F}.")
        mean, var = mean.astype(x.dtype, copy=False), var.astype(x.dtype, copy=False)
        if np.any(var < 0):
            raise ValueError(f"{func}: 'var' must be >= 0, got a minimum of {var.min()!r}. Pass the running "
                             "variance, not a standard deviation or a log-variance.")
        xc = x - _bn_shape(mean, x)
        batch_stats = False
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
    xhat, inv_std, gamma, _, _, batch_stats = cache
    dout = _elementwise_dout(dout, xhat, "batchnorm_backward")
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
