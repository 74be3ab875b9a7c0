"""Modules: thin classes over the function pairs in :mod:`bpkit.ops`, for building models.

The module contract (what :func:`bpkit.train.fit` and the optimizers rely on):

* ``forward(x) -> out`` computes the output and remembers what backward needs;
  calling the module, ``m(x)``, is the same as ``m.forward(x)``.
* ``backward(dout) -> dx`` takes the gradient of the loss with respect to the last
  output and returns the gradient with respect to the last input. It also *overwrites*
  ``grads`` with the gradients of the parameters (no accumulation across calls).
  bpkit's own modules also take ``backward(dout, input_grad=False)``, which skips ``dx``
  and returns ``None``: training never needs the gradient with respect to the data, and
  for the first layer of a network it is the most expensive product of the backward pass
  (PyTorch skips it too, for an input that does not ``requires_grad``).
* ``params`` and ``grads`` are dicts with the same keys and arrays of equal shapes.
  Optimizers update the ``params`` arrays in place, so the module sees the new values.
* ``train()`` / ``eval()`` switch behaviour where it differs (dropout, batch norm);
  ``training`` tells which mode is on.
* ``buffers`` is a dict of state that is not learned by gradient descent (batch norm's
  running mean and variance). Optimizers never see it; ``state_dict()`` saves it with the
  parameters, so early stopping restores both.

Parameters are created from an explicit ``rng`` (a ``np.random.Generator``) and in an
explicit ``dtype``: a float32 network stays float32 end to end.
"""

from __future__ import annotations

import numpy as np

from . import ops
from ._checks import as_float_array, shape_str
from .init import get_initializer

__all__ = ["AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "Dropout", "Flatten", "GELU", "LSTM", "LastTimeStep",
           "LeakyReLU", "Linear", "MaxPool2d", "Module", "RNN", "ReLU", "Sequential", "Sigmoid", "Tanh",
           "TimeDistributed"]


def takes_input_grad(module) -> bool:
    """Whether ``module.backward`` accepts ``input_grad=`` (bpkit's modules do; yours may not)."""
    cls = type(module)
    if cls not in _TAKES_INPUT_GRAD:
        import inspect
        try:
            _TAKES_INPUT_GRAD[cls] = "input_grad" in inspect.signature(module.backward).parameters
        except (TypeError, ValueError):
            _TAKES_INPUT_GRAD[cls] = False
    return _TAKES_INPUT_GRAD[cls]


_TAKES_INPUT_GRAD: dict[type, bool] = {}


def _layer_args(owner, sizes, sizes_hint, rng, dtype):
    """Check the arguments every layer with weights takes; return ``dtype`` as a float ``np.dtype``.

    ``sizes`` is ``((name, value), ...)`` of positive ints; ``sizes_hint`` says what to pass.
    """
    for arg, v in sizes:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{owner}: '{arg}' must be a positive int, got {v!r}. {sizes_hint}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{owner}: 'rng' must be a np.random.Generator, got {type(rng).__name__}. "
                        "Pass rng=np.random.default_rng(0) so the initial weights are reproducible.")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{owner}: 'dtype' must be a float dtype such as np.float32, got {dtype}.")
    return dtype


def _init_name(init):
    return init if isinstance(init, str) else getattr(init, "__name__", "custom")


class Module:
    """Base class: holds ``params``/``grads`` dicts and the train/eval flag."""

    def __init__(self):
        self._params: dict[str, np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self.training = True
        self._cache = None

    # -- the contract -------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__} must implement backward(dout)")

    def __call__(self, x):
        return self.forward(x)

    @property
    def params(self) -> dict:
        return self._params

    @property
    def grads(self) -> dict:
        return self._grads

    @property
    def buffers(self) -> dict:
        """Arrays of state that are not parameters (running statistics); empty for most modules."""
        return getattr(self, "_buffers", {})

    def train(self, mode: bool = True):
        """Switch to training mode (or evaluation mode with ``mode=False``); returns ``self``."""
        self.training = bool(mode)
        return self

    def eval(self):
        """Switch to evaluation mode; returns ``self``."""
        return self.train(False)

    # -- conveniences ---------------------------------------------------------------
    def num_params(self) -> int:
        """Total number of scalar parameters."""
        return int(sum(p.size for p in self.params.values()))

    def state_dict(self) -> dict:
        """A copy of every parameter and buffer, keyed as in ``params`` and ``buffers``."""
        return {k: v.copy() for k, v in {**self.params, **self.buffers}.items()}

    def load_state_dict(self, state: dict) -> None:
        """Copy ``state`` into the parameters and buffers in place (optimizers keep their references)."""
        params = {**self.params, **self.buffers}
        if set(state) != set(params):
            raise ValueError(f"{type(self).__name__}.load_state_dict: keys differ; expected "
                             f"{sorted(params)}, got {sorted(state)}.")
        for k, p in params.items():
            v = np.asarray(state[k])
            if v.shape != p.shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: '{k}' must have shape "
                                 f"{shape_str(p.shape)}, got {shape_str(v.shape)}. Pass arrays shaped like "
                                 "model.state_dict()" + ("; a W from a (M, D) layout such as PyTorch's needs "
                                                         "a transpose, W.T" if v.shape == p.shape[::-1] else "")
                                 + ".")
            p[...] = v

    def _check_input_dtype(self, x):
        """Refuse an input whose float dtype differs from the layer's (no silent up- or down-cast)."""
        if x.dtype != self.dtype:
            raise TypeError(f"{self!r}.forward: x is {x.dtype} but the layer is {self.dtype}. "
                            f"Cast the input with x.astype(np.{self.dtype}) (or build the layer "
                            f"with dtype=np.{x.dtype}).")

    def _need_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: run "
                               "forward(x) first so the layer can remember its input.")
        return self._cache

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


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
        if W.shape != (self.D, self.M):
            raise ValueError(f"Linear: init returned shape {shape_str(W.shape)}, expected ({D}, {M}).")
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
        if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):   # repr(self) only when needed
            x = as_float_array(x, repr(self), "x", dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.D:
            raise ValueError(f"{self!r}.forward: x must have shape (N, {self.D}), got "
                             f"{shape_str(x.shape)}." + (" For one example use x.reshape(1, -1)."
                                                         if x.shape == (self.D,) else
                                                         " Check the size of the previous layer's output, or "
                                                         f"build this layer with D = {x.shape[-1]}."
                                                         if x.ndim == 2 else
                                                         " Flatten each example first: x.reshape(len(x), -1)."))
        self._check_input_dtype(x)
        b = self._params.get("b")
        out, self._cache = ops.linear_forward(x, self.W, b if b is not None else np.zeros(self.M, self.dtype))
        return out

    def backward(self, dout, input_grad=True):
        cache = self._need_cache()
        if np.shape(dout) != (cache[0].shape[0], self.M):
            raise ValueError(f"{self!r}.backward: dout must have the shape of this layer's output "
                             f"{shape_str((cache[0].shape[0], self.M))}, got {shape_str(np.shape(dout))}. Pass the "
                             "gradient of the loss with respect to this layer's output; check the order of the "
                             "layers in your backward pass.")
        if input_grad:
            dx, dW, db = ops.linear_backward(dout, cache)
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
        if not (np.isscalar(alpha) and np.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"LeakyReLU: 'alpha' must be a finite number >= 0, got {alpha!r}. "
                             "Use a small positive slope such as LeakyReLU(0.01).")
        self.alpha = alpha

    def forward(self, x):
        out, self._cache = ops.leaky_relu_forward(x, self.alpha)
        return out

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Sequential(Module):
    """Modules applied one after the other; backward runs them in reverse.

    Parameters are exposed with the layer index as prefix, as PyTorch names them:
    ``{"0.W": ..., "0.b": ..., "2.W": ...}``. The arrays are the layers' own, so an
    optimizer that updates ``model.params`` in place updates the layers.
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                hint = " Did you pass the class instead of an instance (ReLU vs ReLU())?" \
                    if isinstance(layer, type) else ""
                if not hint:
                    hint = (" Use a bpkit.nn module such as nn.Tanh() or nn.ReLU(), not a NumPy function or a "
                            "name; wrap your own function in a Module subclass with forward and backward.")
                raise TypeError(f"Sequential: layer {i} must be a bpkit.nn.Module, got "
                                f"{type(layer).__name__}.{hint}")
        self.layers = list(layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    @property
    def params(self):
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    @property
    def grads(self):
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    @property
    def buffers(self):
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.buffers.items()}

    def train(self, mode=True):
        super().train(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout, input_grad=True):
        """Backward through the layers in reverse order; returns the gradient for the input.

        With ``input_grad=False`` (what :func:`bpkit.train.fit` uses) the layers in front of
        the first one with parameters are skipped and that layer computes only its parameter
        gradients; the result is ``None`` and ``grads`` are the same as with ``True``.
        """
        first = 0
        if not input_grad:
            first = next((i for i, layer in enumerate(self.layers) if layer.params), len(self.layers))
        for i in range(len(self.layers) - 1, first - 1, -1):
            layer = self.layers[i]
            if i == first and not input_grad and takes_input_grad(layer):
                return layer.backward(dout, input_grad=False)
            dout = layer.backward(dout)
        return None if not input_grad else dout

    def __repr__(self):
        lines = [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"


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
        ops._check_dropout_p(p, "Dropout")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"Dropout: 'rng' must be a np.random.Generator, got {type(rng).__name__}. "
                            "Pass rng=np.random.default_rng(0) so the dropped units are reproducible.")
        self.p, self.rng = p, rng

    def forward(self, x):
        if not self.training:
            x = as_float_array(x, "Dropout.forward", "x")
            self._cache = None, x.shape
            return x
        out, mask = ops.dropout_forward(x, self.p, self.rng)
        self._cache = mask, out.shape
        return out

    def backward(self, dout, input_grad=True):
        mask, shape = self._need_cache()
        if not input_grad:
            return None
        if np.shape(dout) != shape:
            raise ValueError(f"{self!r}.backward: dout must have the shape of the forward output "
                             f"{shape_str(shape)}, got {shape_str(np.shape(dout))}. Pass the gradient with "
                             "respect to this layer's output.")
        return ops.dropout_backward(dout, mask) if mask is not None else \
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
        name = type(self).__name__
        if not isinstance(F, (int, np.integer)) or isinstance(F, bool) or F < 1:
            raise ValueError(f"{name}: the number of features {self._letter} must be a positive int, got {F!r}. "
                             f"Pass x.shape[1], e.g. {name}(256).")
        if not (np.isscalar(momentum) and 0 <= momentum <= 1):
            raise ValueError(f"{name}: 'momentum' must be a number in [0, 1], got {momentum!r}. It is the weight "
                             "of the newest batch in the running averages; use the default 0.1.")
        if not (np.isscalar(eps) and np.isfinite(eps) and eps >= 0):
            raise ValueError(f"{name}: 'eps' must be a finite number >= 0, got {eps!r}. Use the default 1e-5.")
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{name}: 'dtype' must be a float dtype such as np.float32, got {dtype}.")
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
        x = as_float_array(x, f"{self!r}.forward", "x", dtype=self.dtype)
        if x.ndim != self._ndim or x.shape[1] != self.F:
            other = {2: "BatchNorm1d", 4: "BatchNorm2d"}.get(x.ndim)
            hint = (f" For input of this layout use {other}." if other and other != type(self).__name__ else
                    f" Build this layer with {self._letter} = {x.shape[1]}." if x.ndim == self._ndim else "")
            raise ValueError(f"{self!r}.forward: x must have shape {self._layout.replace(self._letter, str(self.F))}"
                             f", got {shape_str(x.shape)}.{hint}")
        self._check_input_dtype(x)
        if self.training:
            out, cache = ops.batchnorm_forward(x, self.gamma, self.beta, self.eps)
            m = x.size // self.F
            mom = self.dtype.type(self.momentum)
            # Running averages as PyTorch keeps them: the variance is the unbiased one.
            self.running_mean[...] = (1 - mom) * self.running_mean + mom * cache.mean
            self.running_var[...] = (1 - mom) * self.running_var + mom * cache.var * self.dtype.type(m / (m - 1))
        else:
            out, cache = ops.batchnorm_forward(x, self.gamma, self.beta, self.eps,
                                               mean=self.running_mean, var=self.running_var)
        self._cache = cache
        return out

    def backward(self, dout, input_grad=True):
        cache = self._need_cache()
        if np.shape(dout) != cache.xhat.shape:
            raise ValueError(f"{self!r}.backward: dout must have the shape of this layer's output "
                             f"{shape_str(cache.xhat.shape)}, got {shape_str(np.shape(dout))}. Pass the gradient "
                             "of the loss with respect to this layer's output.")
        dx, dgamma, dbeta = ops.batchnorm_backward(dout, cache)
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
        KH, KW = ops._check_pair(kernel_size, "Conv2d", "kernel_size")
        self.stride = ops._check_int(stride, "Conv2d", "stride", 1, ops._STRIDE_HINT)
        self.padding = ops._check_int(padding, "Conv2d", "padding", 0, ops._PADDING_HINT)
        self.C, self.F, self.kernel_size, self.dtype = int(C), int(F), (KH, KW), dtype
        self.init_name = _init_name(init)
        D = self.C * KH * KW
        W = np.asarray(get_initializer(init, "Conv2d")(rng, D, self.F, dtype))
        if W.shape != (D, self.F):
            raise ValueError(f"Conv2d: init returned shape {shape_str(W.shape)}, expected (C*KH*KW, F) = "
                             f"({D}, {self.F}). Check your init(rng, D, M, dtype) returns an array of shape (D, M).")
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
        if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):   # repr(self) only when needed
            x = as_float_array(x, repr(self), "x", dtype=self.dtype)
        if x.ndim != 4 or x.shape[1] != self.C:
            hint = (f" Build this layer with C = {x.shape[1]}, the channels of the previous layer's output."
                    if x.ndim == 4 else
                    f" Reshape flat examples into images first, e.g. x.reshape(len(x), {self.C}, H, W)."
                    if x.ndim == 2 else " Pass a batch of images laid out as (N, C, H, W).")
            raise ValueError(f"{self!r}.forward: x must have shape (N, {self.C}, H, W), got "
                             f"{shape_str(x.shape)}.{hint}")
        self._check_input_dtype(x)
        b = self._params.get("b")
        out, self._cache = ops.conv2d_forward(x, self.W, b if b is not None else np.zeros(self.F, self.dtype),
                                              self.stride, self.padding)
        return out

    def backward(self, dout, input_grad=True):
        cache = self._need_cache()
        out_shape = (cache[0][0], self.F) + self._out_hw(cache[0])
        if np.shape(dout) != out_shape:
            raise ValueError(f"{self!r}.backward: dout must have the shape of this layer's output "
                             f"{shape_str(out_shape)}, got {shape_str(np.shape(dout))}. Pass the gradient of the "
                             "loss with respect to this layer's output; check the order of the layers in your "
                             "backward pass.")
        if input_grad:
            dx, dW, db = ops.conv2d_backward(dout, cache)
        else:                                   # only the parameter gradients: no col2im
            dx, (_, dW, db) = None, ops._conv2d_param_grads(dout, cache, f"{self!r}.backward")
        self._grads["W"] = dW
        if "b" in self._params:
            self._grads["b"] = db
        return dx

    def _out_hw(self, x_shape):
        return tuple(ops._out_size(n, k, self.stride, self.padding) for n, k in zip(x_shape[2:], self.kernel_size))

    def extra_repr(self):
        KH, KW = self.kernel_size
        return (f"{self.C} -> {self.F}, kernel_size={KH if KH == KW else self.kernel_size}"
                + ("" if self.stride == 1 else f", stride={self.stride}")
                + ("" if self.padding == 0 else f", padding={self.padding}")
                + f", init={self.init_name}" + ("" if "b" in self._params else ", bias=False")
                + ("" if self.dtype == np.float64 else f", dtype={self.dtype}"))


class _Pool2d(Module):
    _forward = staticmethod(ops.maxpool2d_forward)
    _backward = staticmethod(ops.maxpool2d_backward)

    def __init__(self, kernel_size=2, stride=None):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = ops._check_pair(kernel_size, name, "kernel_size")
        self.stride = self.kernel_size if stride is None else ops._check_pair(stride, name, "stride")

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
    _forward = staticmethod(ops.avgpool2d_forward)
    _backward = staticmethod(ops.avgpool2d_backward)


class Flatten(Module):
    """Flattens each example into one row: (N, C, H, W) -> (N, C*H*W), and back in ``backward``.

    Put it between the convolutional part of a network and its first :class:`Linear` layer.
    Any input with a batch axis works: (N, d1, d2, ...) -> (N, d1*d2*...).
    """

    def forward(self, x):
        x = as_float_array(x, "Flatten.forward", "x")
        if x.ndim < 2:
            raise ValueError(f"Flatten.forward: x must have a batch axis and at least one more, shape (N, ...), "
                             f"got {shape_str(x.shape)}. Pass a batch, e.g. x.reshape(1, -1) for one example.")
        self._cache = x.shape
        return x.reshape(len(x), int(np.prod(x.shape[1:])))

    def backward(self, dout, input_grad=True):
        shape = self._need_cache()
        if not input_grad:
            return None
        dout = as_float_array(dout, "Flatten.backward", "dout")
        flat = (shape[0], int(np.prod(shape[1:])))
        if dout.shape != flat:
            raise ValueError(f"Flatten.backward: dout must have the shape of the forward output {shape_str(flat)}, "
                             f"got {shape_str(dout.shape)}. Pass the gradient with respect to this layer's output.")
        return dout.reshape(shape)


# --------------------------------------------------------------------------- recurrent layers

class _Recurrent(Module):
    """Shared by :class:`RNN` and :class:`LSTM`: weights from ``init`` one gate block at a time, checks."""
    _gates = 1

    def __init__(self, D, H, *, rng, dtype, init):
        super().__init__()
        name = type(self).__name__
        dtype = _layer_args(name, (("D", D), ("H", H)), "Pass the number of input features per time step D and "
                            f"of hidden units H, e.g. {name}(2, 32, rng=rng).", rng, dtype)
        self.D, self.H, self.dtype = int(D), int(H), dtype
        self.init_name = _init_name(init)
        init_fn = get_initializer(init, name)
        blocks = {}
        for key, rows in (("Wx", self.D), ("Wh", self.H)):
            blocks[key] = [np.asarray(init_fn(rng, rows, self.H, dtype)) for _ in range(self._gates)]
            if blocks[key][0].shape != (rows, self.H):
                raise ValueError(f"{name}: init returned shape {shape_str(blocks[key][0].shape)} for {key}, expected "
                                 f"({rows}, {self.H}). Check your init(rng, D, M, dtype) returns an array of shape "
                                 "(D, M).")
        self._params["Wx"] = np.hstack(blocks["Wx"]).astype(dtype, copy=False)
        self._params["Wh"] = np.hstack(blocks["Wh"]).astype(dtype, copy=False)
        self._params["b"] = np.zeros(self._gates * self.H, dtype=dtype)
        self.dh0 = None

    @property
    def Wx(self):
        return self._params["Wx"]

    @property
    def Wh(self):
        return self._params["Wh"]

    @property
    def b(self):
        return self._params["b"]

    def _input(self, x):
        if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
            x = as_float_array(x, f"{self!r}.forward", "x", dtype=self.dtype)
        if x.ndim != 3 or x.shape[2] != self.D:
            if x.ndim == 3:
                hint = (f" Build this layer with D = {x.shape[2]}, the number of features per time step (for a "
                        "recurrent layer after another one, D is the previous layer's H).")
            elif x.ndim == 2 and x.shape[1] == self.D:
                hint = " For sequences of one time step add the time axis with x[:, None]."
            elif x.ndim == 2 and self.D == 1:
                hint = " For N sequences of T numbers add the feature axis with x[:, :, None]."
            else:
                hint = " Pass a batch of sequences laid out as (N, T, D)."
            raise ValueError(f"{self!r}.forward: x must have shape (N, T, {self.D}), got {shape_str(x.shape)}.{hint}")
        self._check_input_dtype(x)
        return x

    def _state(self, s, x):
        return np.zeros((x.shape[0], self.H), dtype=self.dtype) if s is None else s

    def _check_backward(self, dout):
        cache = self._need_cache()
        shape = cache[4].shape                                   # h, the output of forward
        if np.shape(dout) != shape:
            hint = (" If the loss reads only the last hidden state, put nn.LastTimeStep() after this layer."
                    if np.shape(dout) == (shape[0], shape[2]) else
                    " Pass the gradient of the loss with respect to this layer's output; check the order of the "
                    "layers in your backward pass.")
            raise ValueError(f"{self!r}.backward: dout must have the shape of this layer's output, every hidden "
                             f"state {shape_str(shape)}, got {shape_str(np.shape(dout))}.{hint}")
        return cache

    def _set_grads(self, x, h0, h, dz, input_grad):
        self._grads["Wx"], self._grads["Wh"], self._grads["b"] = ops._recurrent_param_grads(x, h0, h, dz)
        return dz @ self.Wx.T if input_grad else None

    def extra_repr(self):
        return f"{self.D} -> {self.H}, init={self.init_name}" + (
            "" if self.dtype == np.float64 else f", dtype={self.dtype}")


class RNN(_Recurrent):
    r"""Vanilla recurrent layer (:func:`bpkit.ops.rnn_forward`): sequences (N, T, D) -> hidden states (N, T, H).

    $h_t = \tanh(x_t W_x + h_{t-1} W_h + b)$ for $t = 1, \dots, T$, from $h_0$ = zeros (or the
    ``h0`` given to ``forward``). The output holds every hidden state: follow the layer with
    :class:`LastTimeStep` for a model that reads a whole sequence and then predicts (a
    sequence classifier or regressor), or with :class:`TimeDistributed` to predict at every step.

    Parameters
    ----------
    D, H : int
        Features per time step, and hidden units.
    rng : np.random.Generator
        Source of the initial weights (required).
    dtype : float dtype, default float64
    init : str or callable, default ``"xavier"``
        A name from :data:`bpkit.init.INITIALIZERS` or ``init(rng, D, M, dtype)``; draws ``Wx``
        as ``init(rng, D, H)`` and ``Wh`` as ``init(rng, H, H)``. Glorot's rule suits tanh.
        The bias starts at zero.

    ``params``: ``Wx`` (D, H), ``Wh`` (H, H), ``b`` (H,). After ``backward``, ``dh0`` holds the
    gradient with respect to the initial state.
    """

    def __init__(self, D, H, *, rng=None, dtype=np.float64, init="xavier"):
        super().__init__(D, H, rng=rng, dtype=dtype, init=init)

    def forward(self, x, h0=None):
        """All hidden states (N, T, H) for ``x`` (N, T, D); ``h0`` (N, H) defaults to zeros."""
        x = self._input(x)
        h, self._cache = ops.rnn_forward(x, self._state(h0, x), self.Wx, self.Wh, self.b)
        return h

    def backward(self, dout, input_grad=True):
        cache = self._check_backward(dout)
        dz, self.dh0 = ops._rnn_bptt(dout, cache, f"{self!r}.backward")
        x, h0, _, _, h = cache
        return self._set_grads(x, h0, h, dz, input_grad)


class LSTM(_Recurrent):
    r"""Long short-term memory layer (:func:`bpkit.ops.lstm_forward`): (N, T, D) -> hidden states (N, T, H).

    Each step updates a cell state through three sigmoid gates and a tanh candidate,
    $c_t = f_t \odot c_{t-1} + i_t \odot g_t$ and $h_t = o_t \odot \tanh(c_t)$, starting from
    $h_0 = c_0$ = zeros (or the ``h0``, ``c0`` given to ``forward``). Use it as :class:`RNN`.

    Parameters
    ----------
    D, H : int
        Features per time step, and hidden units.
    rng : np.random.Generator
        Source of the initial weights (required).
    dtype : float dtype, default float64
    init : str or callable, default ``"xavier"``
        Draws each gate's block separately, as if it were its own layer: ``init(rng, D, H)``
        for each of the four blocks of ``Wx`` and ``init(rng, H, H)`` for those of ``Wh``.
    forget_bias : float, default 1.0
        The initial bias of the forget gate (the other biases start at zero). With a bias of 0
        the forget gate of a fresh layer is centred on $\sigma(0) = 1/2$, so the cell halves its
        content, and the gradient along the cell, at every step: after 20 steps about
        $2^{-20} \approx 10^{-6}$ is left. A bias of 1 centres it on $\sigma(1) \approx 0.73$, and
        $0.73^{20} \approx 2 \times 10^{-3}$ survives 20 steps: the memory the LSTM is built for is
        there from the start, before training has learned to keep the gate open. Jozefowicz,
        Zaremba and Sutskever (2015, "An Empirical Exploration of Recurrent Network
        Architectures") found that adding a bias of 1 to the forget gate closes the gap between
        the LSTM and the GRU; Keras does it by default, PyTorch does not.

    ``params``: ``Wx`` (D, 4H), ``Wh`` (H, 4H), ``b`` (4H,), gate blocks in the order i, f, o, g
    (PyTorch's ``nn.LSTM`` uses i, f, g, o and stores the transposes). After ``backward``,
    ``dh0`` and ``dc0`` hold the gradients with respect to the initial states.
    """
    _gates = 4

    def __init__(self, D, H, *, rng=None, dtype=np.float64, init="xavier", forget_bias=1.0):
        super().__init__(D, H, rng=rng, dtype=dtype, init=init)
        if isinstance(forget_bias, (bool, np.bool_)) or not isinstance(forget_bias, (int, float, np.integer,
                                                                                     np.floating)) \
                or not np.isfinite(forget_bias):
            raise ValueError(f"LSTM: 'forget_bias' must be a finite number, got {forget_bias!r}. Use the default "
                             "1.0, or 0.0 for PyTorch's behaviour.")
        self.forget_bias = forget_bias
        self.b[self.H:2 * self.H] = forget_bias
        self.dc0 = None

    def forward(self, x, h0=None, c0=None):
        """All hidden states (N, T, H) for ``x`` (N, T, D); ``h0`` and ``c0`` (N, H) default to zeros."""
        x = self._input(x)
        h, self._cache = ops.lstm_forward(x, self._state(h0, x), self.Wx, self.Wh, self.b, self._state(c0, x))
        return h

    def backward(self, dout, input_grad=True):
        cache = self._check_backward(dout)
        da, self.dh0, self.dc0 = ops._lstm_bptt(dout, cache, f"{self!r}.backward")
        x, h0, _, _, h = cache[:5]
        return self._set_grads(x, h0, h, da, input_grad)

    def extra_repr(self):
        return super().extra_repr() + ("" if self.forget_bias == 1.0 else f", forget_bias={self.forget_bias}")


class LastTimeStep(Module):
    """Keeps the last time step of a sequence: (N, T, H) -> (N, H).

    Put it after a recurrent layer when only its final state should be used, e.g.
    ``Sequential(LSTM(2, 32, rng=rng), LastTimeStep(), Linear(32, 1, rng=rng))`` reads a whole
    sequence and then makes one prediction. ``backward`` returns the gradient for the
    input: ``dout`` at the last step and zeros at every other one. No parameters.
    """

    def forward(self, x):
        x = as_float_array(x, "LastTimeStep.forward", "x")
        if x.ndim != 3 or x.shape[1] == 0:
            raise ValueError(f"LastTimeStep.forward: x must have shape (N, T, H) with T >= 1, got "
                             f"{shape_str(x.shape)}. Put it directly after a recurrent layer such as nn.LSTM, whose output is (N, T, H).")
        self._cache = x.shape
        return x[:, -1].copy()

    def backward(self, dout, input_grad=True):
        shape = self._need_cache()
        if not input_grad:
            return None
        dout = as_float_array(dout, "LastTimeStep.backward", "dout")
        if dout.shape != (shape[0], shape[2]):
            raise ValueError(f"LastTimeStep.backward: dout must have the shape of the forward output "
                             f"{shape_str((shape[0], shape[2]))}, got {shape_str(dout.shape)}. Pass the gradient with "
                             "respect to this layer's output.")
        dx = np.zeros(shape, dtype=dout.dtype)
        dx[:, -1] = dout
        return dx


class TimeDistributed(Module):
    """Applies ``module`` at every time step: (N, T, ...) -> (N, T, ...), with the same weights everywhere.

    The T steps are folded into the batch, ``x.reshape(N * T, ...)``, so ``module`` sees N T
    ordinary examples. ``TimeDistributed(Linear(H, 1, rng=rng))`` after a recurrent layer
    predicts one value per step (next-step prediction). ``params`` and ``grads`` are those
    of ``module``, with the same keys and the same arrays.
    """

    def __init__(self, module):
        super().__init__()
        if not isinstance(module, Module):
            hint = (" Did you pass the class instead of an instance (Linear vs Linear(H, M, rng=rng))?"
                    if isinstance(module, type) else " Wrap a layer such as nn.Linear(H, 1, rng=rng).")
            raise TypeError(f"TimeDistributed: 'module' must be a bpkit.nn.Module, got {type(module).__name__}.{hint}")
        self.module = module

    @property
    def params(self):
        return self.module.params

    @property
    def grads(self):
        return self.module.grads

    @property
    def buffers(self):
        return self.module.buffers

    def train(self, mode=True):
        super().train(mode)
        self.module.train(mode)
        return self

    def forward(self, x):
        x = as_float_array(x, "TimeDistributed.forward", "x")
        if x.ndim < 3:
            raise ValueError(f"TimeDistributed.forward: x must have shape (N, T, ...) (at least 3-D), got "
                             f"{shape_str(x.shape)}. For input without a time axis use the wrapped module itself.")
        N, T = x.shape[:2]
        self._cache = N, T
        out = self.module.forward(x.reshape((N * T,) + x.shape[2:]))
        return out.reshape((N, T) + out.shape[1:])

    def backward(self, dout, input_grad=True):
        N, T = self._need_cache()
        dout = as_float_array(dout, "TimeDistributed.backward", "dout")
        if dout.shape[:2] != (N, T):
            raise ValueError(f"TimeDistributed.backward: dout must have the shape of the forward output, starting "
                             f"with (N, T) = ({N}, {T}), got {shape_str(dout.shape)}. Pass the gradient with respect "
                             "to this layer's output.")
        d = dout.reshape((N * T,) + dout.shape[2:])
        if not input_grad and takes_input_grad(self.module):
            return self.module.backward(d, input_grad=False)
        dx = self.module.backward(d)
        return dx.reshape((N, T) + dx.shape[1:]) if input_grad else None

    def extra_repr(self):
        return repr(self.module)
