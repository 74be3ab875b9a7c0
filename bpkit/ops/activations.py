"""Element-wise activation functions and their derivatives: Chapters 1, 3 and 5.

Sigmoid, tanh, ReLU, leaky ReLU and GELU, each as a ``*_forward(z) -> (out, cache)`` /
``*_backward(dout, cache) -> dz`` pair for input of any shape. Sigmoid, tanh and ReLU cache
their *output*, from which their derivatives are written. The argument checks are in
:mod:`bpkit.ops._args`.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import as_float_array
from ._args import _dout_like, _gelu_args, _leaky_relu_args

__all__ = [
    "sigmoid", "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward",
    "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward",
    "gelu_forward", "gelu_backward",
]


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
    dout = _dout_like(dout, cache, "sigmoid_backward")
    out = cache
    return dout * out * (1 - out)


def tanh_forward(z):
    r"""$\tanh(z)$ element-wise; any shape. Returns ``(out, cache)`` with ``cache = out``."""
    out = np.tanh(as_float_array(z, "tanh_forward", "z"))
    return out, out


def tanh_backward(dout, cache):
    r"""$dz = dout \odot (1 - \tanh^2(z))$, written with the cached output."""
    dout = _dout_like(dout, cache, "tanh_backward")
    out = cache
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
    dout = _dout_like(dout, cache, "relu_backward")
    out = cache
    if not np.isfinite(dout).all():
        return np.where(out > 0, dout, 0).astype(dout.dtype, copy=False)
    dz = np.multiply(dout, out > 0, out=np.empty_like(dout))
    dz += 0.0
    return dz


def leaky_relu_forward(z, alpha=0.01):
    r"""$z$ where $z > 0$, else $\alpha z$. Returns ``(out, cache)`` with ``cache = (z, alpha)``."""
    z, alpha = _leaky_relu_args(z, alpha)
    out = np.where(z > 0, z, alpha * z).astype(z.dtype, copy=False)
    return out, (z, alpha)


def leaky_relu_backward(dout, cache):
    r"""$dz = dout$ where $z > 0$, else $\alpha\,dout$."""
    dout = _dout_like(dout, cache[0], "leaky_relu_backward")
    z, alpha = cache
    return np.where(z > 0, dout, alpha * dout).astype(dout.dtype, copy=False)


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
    z = _gelu_args(z, approximate)
    if approximate == "none":
        p = (0.5 * (1.0 + _erf(z / math.sqrt(2.0)))).astype(z.dtype, copy=False)    # Phi(z)
    else:
        zc = np.clip(z, -100, 100)          # tanh is exactly +-1 there; avoids z^3 overflow in float32
        # z * z * z, not z ** 3: NumPy's float32 power is about 300 times slower than two products
        p = np.tanh(_SQRT_2_OVER_PI * (zc + 0.044715 * zc * zc * zc)).astype(z.dtype, copy=False)
    out = z * p if approximate == "none" else 0.5 * z * (1 + p)
    return out.astype(z.dtype, copy=False), (z, p, approximate)


def gelu_backward(dout, cache):
    r"""$dz = dout \odot (\Phi(z) + z\,\Phi'(z))$, with $\Phi'(z) = e^{-z^2/2}/\sqrt{2\pi}$.

    For ``approximate="tanh"`` the derivative of the tanh form,
    $\tfrac12(1 + t) + \tfrac12 z (1 - t^2)\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715 z^2)$.
    """
    dout = _dout_like(dout, cache[0], "gelu_backward")
    z, p, approximate = cache
    if approximate == "none":
        local = p + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    else:
        zc = np.clip(z, -100, 100)
        du_dz = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * zc * zc)
        local = 0.5 * (1 + p) + 0.5 * zc * (1 - p * p) * du_dz
    return (dout * local).astype(dout.dtype, copy=False)
