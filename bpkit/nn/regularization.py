"""Dropout and batch normalisation as modules (Chapter 6), over :mod:`bpkit.ops.regularization`.

Both behave differently in training and in evaluation mode (``train()``/``eval()``); batch norm
keeps running averages of the batch statistics in ``buffers``. The argument checks are in
:mod:`bpkit.nn._args`.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_float_array
from ..ops.regularization import batchnorm_backward, batchnorm_forward, dropout_backward, dropout_forward
from ._args import _batchnorm_dout, _batchnorm_input, _batchnorm_settings, _dropout_settings, _forward_dout
from .module import Module

__all__ = ["Dropout", "BatchNorm1d", "BatchNorm2d"]


class Dropout(Module):
    r"""Inverted dropout (:func:`bpkit.ops.dropout_forward`): in training mode each entry is
    zeroed with probability ``p`` and the others scaled by $1/(1-p)$; in evaluation mode
    the identity.

    Parameters
    ----------
    p : float in [0, 1], default 0.5
        The probability of dropping a unit (PyTorch's convention).
    rng : np.random.Generator
        Source of the masks (required: training must be reproducible).
    """

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        self.p, self.rng = _dropout_settings(p, rng)

    def forward(self, x):
        if not self.training:
            x = as_float_array(x, "Dropout.forward", "x")
            self._cache = None, x.shape
            return x
        out, mask = dropout_forward(x, self.p, self.rng)
        self._cache = mask, out.shape
        return out

    def backward(self, dout, input_grad=True):
        mask, shape = self._need_cache()
        if not input_grad:
            return None
        _forward_dout(f"{self!r}.backward", dout, shape)
        return dropout_backward(dout, mask) if mask is not None else \
            as_float_array(dout, "Dropout.backward", "dout").copy()

    def _need_cache(self):
        if self._cache is None:
            raise RuntimeError("Dropout.backward called before forward: run forward(x) first so the layer "
                               "can remember which units it dropped.")
        return self._cache

    def extra_repr(self):
        return f"p={self.p}"


class _BatchNorm(Module):
    _layout = "(N, D)"
    _ndim = 2
    _letter = "D"

    def __init__(self, F, *, momentum=0.1, eps=1e-5, dtype=np.float64):
        super().__init__()
        dtype = _batchnorm_settings(type(self).__name__, self._letter, F, momentum, eps, dtype)
        self.F, self.momentum, self.eps, self.dtype = int(F), momentum, eps, dtype
        self._params["gamma"] = np.ones(self.F, dtype=dtype)
        self._params["beta"] = np.zeros(self.F, dtype=dtype)
        self._buffers["running_mean"] = np.zeros(self.F, dtype=dtype)
        self._buffers["running_var"] = np.ones(self.F, dtype=dtype)

    @property
    def gamma(self):
        return self._params["gamma"]

    @property
    def beta(self):
        return self._params["beta"]

    @property
    def running_mean(self):
        return self._buffers["running_mean"]

    @property
    def running_var(self):
        return self._buffers["running_var"]

    def forward(self, x):
        x = _batchnorm_input(self, x)
        rm, rv = self.running_mean, self.running_var
        if self.training:
            out, cache = batchnorm_forward(x, self.gamma, self.beta, self.eps)
            m = x.size // self.F
            mom = self.dtype.type(self.momentum)
            # Running averages as PyTorch keeps them (unbiased variance).
            unbiased = cache.var * self.dtype.type(m / (m - 1))
            rm[...] = (1 - mom) * rm + mom * cache.mean
            rv[...] = (1 - mom) * rv + mom * unbiased
        else:
            out, cache = batchnorm_forward(x, self.gamma, self.beta, self.eps,
                                           mean=rm, var=rv)
        self._cache = cache
        return out

    def backward(self, dout, input_grad=True):
        cache = self._need_cache()
        _batchnorm_dout(self, dout, cache.xhat.shape)
        dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        self._grads["gamma"], self._grads["beta"] = dgamma, dbeta
        return dx if input_grad else None

    def extra_repr(self):
        extra = "" if self.momentum == 0.1 else f", momentum={self.momentum}"
        extra += "" if self.eps == 1e-5 else f", eps={self.eps}"
        return f"{self.F}{extra}" + ("" if self.dtype == np.float64 else f", dtype={self.dtype}")


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation of dense features, input (N, D) (:func:`bpkit.ops.batchnorm_forward`).

    In training mode each feature is normalised with the batch mean and (biased) variance,
    and running averages are updated as PyTorch does:
    ``running = (1 - momentum) * running + momentum * batch``, with the *unbiased* batch
    variance. In evaluation mode the running averages are used instead, so the output of
    one example does not depend on the others in its batch.

    Parameters
    ----------
    D : int
        Number of features.
    momentum : float, default 0.1
        Weight of the newest batch in the running averages.
    eps : float, default 1e-5
    dtype : float dtype, default float64

    ``params``: ``gamma`` (ones) and ``beta`` (zeros), shape (D,). ``buffers``:
    ``running_mean`` (zeros) and ``running_var`` (ones), shape (D,).
    """


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation of image channels, input (N, C, H, W): each channel is normalised
    over the N, H and W axes. Otherwise as :class:`BatchNorm1d`, with C in place of D."""
    _layout = "(N, C, H, W)"
    _ndim = 4
    _letter = "C"
