"""The dense layer as a module, ``Linear`` (Chapter 1), over :mod:`bpkit.ops.dense`.

The argument checks are in :mod:`bpkit.nn._args`.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_float_array
from ..init import get_initializer
from ..ops.dense import linear_backward, linear_forward
from ._args import _check_init_shape, _dense_input, _init_name, _layer_args, _layer_dout
from .module import Module

__all__ = ["Linear"]


class Linear(Module):
    r"""Dense layer $Y = XW + \mathbf b$ with ``W`` of shape (D, M) and ``b`` of shape (M,).

    Parameters
    ----------
    D, M : int
        Input and output features.
    rng : np.random.Generator
        Source of the initial weights (required: results must be reproducible).
    dtype : float dtype, default float64
        Dtype of ``W`` and ``b``; inputs must have the same dtype.
    init : str or callable, default ``"he"``
        A name from :data:`bpkit.init.INITIALIZERS` (``"he"``, ``"xavier"``, ...) or
        ``init(rng, D, M, dtype) -> (D, M) array``. The bias starts at zero.
    bias : bool, default True
    """

    def __init__(self, D, M, *, rng=None, dtype=np.float64, init="he", bias=True):
        super().__init__()
        dtype = _layer_args("Linear", (("D", D), ("M", M)), "Pass the number of input features D and of output "
                            "features M, e.g. Linear(784, 256, rng=rng).", rng, dtype)
        self.D, self.M, self.dtype = int(D), int(M), dtype
        self.init_name = _init_name(init)
        W = np.asarray(get_initializer(init, "Linear")(rng, self.D, self.M, dtype))
        _check_init_shape("Linear", W, (self.D, self.M), hint="")
        self._params["W"] = W.astype(dtype, copy=False)
        if bias:
            self._params["b"] = np.zeros(self.M, dtype=dtype)

    @property
    def W(self):
        return self._params["W"]

    @property
    def b(self):
        return self._params.get("b")

    def forward(self, x):
        x = _dense_input(self, x)
        b = self._params.get("b")
        out, self._cache = linear_forward(x, self.W, b if b is not None else np.zeros(self.M, self.dtype))
        return out

    def backward(self, dout, input_grad=True):
        cache = self._need_cache()
        _layer_dout(self, dout, (cache[0].shape[0], self.M))
        if input_grad:
            dx, dW, db = linear_backward(dout, cache)
        else:                                   # the same products as linear_backward, minus dx
            dout = as_float_array(dout, f"{self!r}.backward", "dout", dtype=self.dtype)
            dx, dW, db = None, cache[0].T @ dout, dout.sum(axis=0)
        self._grads["W"] = dW
        if "b" in self._params:
            self._grads["b"] = db
        return dx

    def extra_repr(self):
        return f"{self.D} -> {self.M}, init={self.init_name}" + ("" if "b" in self._params else ", bias=False") \
            + ("" if self.dtype == np.float64 else f", dtype={self.dtype}")
