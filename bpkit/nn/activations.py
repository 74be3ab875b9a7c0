"""Activation functions as modules (Chapters 1 and 5), over :mod:`bpkit.ops.activations`.

``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU`` and ``GELU`` have no parameters: ``forward``
calls the op's forward function and keeps its cache, ``backward`` the op's backward function.
"""

from __future__ import annotations

import numpy as np

from ..ops import activations as ops
from ._args import _leaky_relu_alpha
from .module import Module

__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "GELU"]


class _Elementwise(Module):
    _forward = staticmethod(ops.sigmoid_forward)
    _backward = staticmethod(ops.sigmoid_backward)

    def forward(self, x):
        out, self._cache = self._forward(x)
        return out

    def backward(self, dout, input_grad=True):
        cache = self._need_cache()
        return self._backward(dout, cache) if input_grad else None


class Sigmoid(_Elementwise):
    r"""$\sigma(x)$ element-wise (:func:`bpkit.ops.sigmoid_forward`)."""


class Tanh(_Elementwise):
    r"""$\tanh(x)$ element-wise (:func:`bpkit.ops.tanh_forward`)."""
    _forward = staticmethod(ops.tanh_forward)
    _backward = staticmethod(ops.tanh_backward)


class ReLU(_Elementwise):
    r"""$\max(x, 0)$ element-wise (:func:`bpkit.ops.relu_forward`)."""
    _forward = staticmethod(ops.relu_forward)
    _backward = staticmethod(ops.relu_backward)


class LeakyReLU(_Elementwise):
    r"""$x$ if $x > 0$ else $\alpha x$ (:func:`bpkit.ops.leaky_relu_forward`)."""
    _backward = staticmethod(ops.leaky_relu_backward)

    def __init__(self, alpha=0.01):
        super().__init__()
        self.alpha = _leaky_relu_alpha(alpha)

    def forward(self, x):
        out, self._cache = ops.leaky_relu_forward(x, self.alpha)
        return out

    def extra_repr(self):
        return f"alpha={self.alpha}"


class GELU(_Elementwise):
    r"""$x\,\Phi(x)$ element-wise (:func:`bpkit.ops.gelu_forward`); ``approximate="tanh"`` for the tanh form."""
    _backward = staticmethod(ops.gelu_backward)

    def __init__(self, approximate="none"):
        super().__init__()
        ops.gelu_forward(np.zeros(1), approximate)        # validates approximate once, here
        self.approximate = approximate

    def forward(self, x):
        out, self._cache = ops.gelu_forward(x, self.approximate)
        return out

    def extra_repr(self):
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"
