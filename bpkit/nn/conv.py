"""Convolutional layers as modules (Chapter 7), over :mod:`bpkit.ops.conv`.

``Conv2d``, ``MaxPool2d`` and ``AvgPool2d`` take images (N, C, H, W); ``Flatten`` turns their
output into rows (N, C*H*W) for the dense layers after them. The argument checks are in
:mod:`bpkit.nn._args`.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_float_array
from ..init import get_initializer
from ..ops._args import _PADDING_HINT, _STRIDE_HINT, _check_int, _check_pair, _conv2d_dout, _out_size
from ..ops.conv import (_conv2d_param_grads, avgpool2d_backward, avgpool2d_forward, conv2d_backward, conv2d_forward,
                        maxpool2d_backward, maxpool2d_forward)
from ._args import _check_init_shape, _flatten_input, _forward_dout, _image_input, _init_name, _layer_args, _layer_dout
from .module import Module

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]


class Conv2d(Module):
    r"""2-D convolution layer over images (N, C, H, W) (:func:`bpkit.ops.conv2d_forward`).

    ``W`` has shape (F, C, KH, KW) and ``b`` shape (F,); the output is (N, F, H_out, W_out) with
    ``H_out = (H + 2*padding - KH) // stride + 1``. Every output unit sees C KH KW inputs, so the
    initializer is called with fan-in D = C KH KW and fan-out M = F, and its (D, M) matrix is
    reshaped to (F, C, KH, KW): He initialization gives $\mathrm{Var}(W) = 2 / (C\,KH\,KW)$.

    Parameters
    ----------
    C, F : int
        Input channels and filters (output channels).
    kernel_size : int or (KH, KW)
    stride : int >= 1, default 1
    padding : int >= 0, default 0
        Zeros added on each side; ``padding=(K - 1) // 2`` keeps H and W for an odd K.
    rng : np.random.Generator
        Source of the initial weights (required).
    dtype : float dtype, default float64
    init : str or callable, default ``"he"``
        As for :class:`Linear`: a name from :data:`bpkit.init.INITIALIZERS` or
        ``init(rng, D, M, dtype) -> (D, M) array``. The bias starts at zero.
    bias : bool, default True
    """

    def __init__(self, C, F, kernel_size, *, stride=1, padding=0, rng=None, dtype=np.float64, init="he",
                 bias=True):
        super().__init__()
        dtype = _layer_args("Conv2d", (("C", C), ("F", F)), "Pass the number of input channels C and of filters F, "
                            "e.g. Conv2d(1, 8, 3, rng=rng).", rng, dtype)
        KH, KW = _check_pair(kernel_size, "Conv2d", "kernel_size")
        self.stride = _check_int(stride, "Conv2d", "stride", 1, _STRIDE_HINT)
        self.padding = _check_int(padding, "Conv2d", "padding", 0, _PADDING_HINT)
        self.C, self.F, self.kernel_size, self.dtype = int(C), int(F), (KH, KW), dtype
        self.init_name = _init_name(init)
        D = self.C * KH * KW
        W = np.asarray(get_initializer(init, "Conv2d")(rng, D, self.F, dtype))
        _check_init_shape("Conv2d", W, (D, self.F), layout="(C*KH*KW, F) = ")
        self._params["W"] = np.ascontiguousarray(W.T.reshape(self.F, self.C, KH, KW), dtype=dtype)
        if bias:
            self._params["b"] = np.zeros(self.F, dtype=dtype)

    @property
    def W(self):
        return self._params["W"]

    @property
    def b(self):
        return self._params.get("b")

    def forward(self, x):
        x = _image_input(self, x)
        b = self._params.get("b")
        out, self._cache = conv2d_forward(x, self.W, b if b is not None else np.zeros(self.F, self.dtype),
                                          self.stride, self.padding)
        return out

    def backward(self, dout, input_grad=True):
        cache = self._need_cache()
        _layer_dout(self, dout, (cache[0][0], self.F) + self._out_hw(cache[0]))
        if input_grad:
            dx, dW, db = conv2d_backward(dout, cache)
        else:                                   # only the parameter gradients: no dx
            dout = _conv2d_dout(dout, cache, f"{self!r}.backward")
            dx, (dW, db) = None, _conv2d_param_grads(dout, cache)
        self._grads["W"] = dW
        if "b" in self._params:
            self._grads["b"] = db
        return dx

    def _out_hw(self, x_shape):
        return tuple(_out_size(n, k, self.stride, self.padding) for n, k in zip(x_shape[2:], self.kernel_size))

    def extra_repr(self):
        KH, KW = self.kernel_size
        return (f"{self.C} -> {self.F}, kernel_size={KH if KH == KW else self.kernel_size}"
                + ("" if self.stride == 1 else f", stride={self.stride}")
                + ("" if self.padding == 0 else f", padding={self.padding}")
                + f", init={self.init_name}" + ("" if "b" in self._params else ", bias=False")
                + ("" if self.dtype == np.float64 else f", dtype={self.dtype}"))


class _Pool2d(Module):
    _forward = staticmethod(maxpool2d_forward)
    _backward = staticmethod(maxpool2d_backward)

    def __init__(self, kernel_size=2, stride=None):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _check_pair(kernel_size, name, "kernel_size")
        self.stride = self.kernel_size if stride is None else _check_pair(stride, name, "stride")

    def forward(self, x):
        out, self._cache = self._forward(x, self.kernel_size, self.stride)
        return out

    def backward(self, dout, input_grad=True):
        cache = self._need_cache()
        return self._backward(dout, cache) if input_grad else None

    def extra_repr(self):
        def short(pair):
            return pair[0] if pair[0] == pair[1] else pair
        return f"kernel_size={short(self.kernel_size)}" + (
            "" if self.stride == self.kernel_size else f", stride={short(self.stride)}")


class MaxPool2d(_Pool2d):
    r"""Max pooling over KH x KW windows of images (N, C, H, W) (:func:`bpkit.ops.maxpool2d_forward`).

    ``kernel_size`` is an int or (KH, KW), default 2; ``stride`` defaults to ``kernel_size``
    (windows side by side). No parameters.
    """


class AvgPool2d(_Pool2d):
    r"""Average pooling over KH x KW windows of images (N, C, H, W) (:func:`bpkit.ops.avgpool2d_forward`).

    ``kernel_size`` is an int or (KH, KW), default 2; ``stride`` defaults to ``kernel_size``.
    No parameters.
    """
    _forward = staticmethod(avgpool2d_forward)
    _backward = staticmethod(avgpool2d_backward)


class Flatten(Module):
    """Flattens each example into one row: (N, C, H, W) -> (N, C*H*W), and back in ``backward``.

    Put it between the convolutional part of a network and its first :class:`Linear` layer.
    Any input with a batch axis works: (N, d1, d2, ...) -> (N, d1*d2*...).
    """

    def forward(self, x):
        x = _flatten_input(x)
        self._cache = x.shape
        return x.reshape(len(x), int(np.prod(x.shape[1:])))

    def backward(self, dout, input_grad=True):
        shape = self._need_cache()
        if not input_grad:
            return None
        dout = as_float_array(dout, "Flatten.backward", "dout")
        flat = (shape[0], int(np.prod(shape[1:])))
        _forward_dout("Flatten.backward", dout, flat)
        return dout.reshape(shape)
