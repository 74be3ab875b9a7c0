"""Argument checks of :mod:`bpkit.nn`: every check and error message of the modules, in one place.

A module's ``__init__``, ``forward`` and ``backward`` hand their arguments to a helper from here
(``x = _dense_input(self, x)``) and get them back checked, or an error that names the layer,
says what was expected and what was received, and suggests the likely fix. What the chapters
show of a module is then what it computes. ``tests/test_errors.py`` asserts the messages.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_float_array, check_rng, shape_str
from ..ops._args import _check_dropout_p

__all__ = [
    "_layer_args", "_init_name", "_check_init_shape", "_sequential_layers", "_wrapped_module",
    "_dense_input", "_layer_dout", "_forward_dout", "_leaky_relu_alpha",
    "_dropout_settings", "_batchnorm_settings", "_batchnorm_input", "_batchnorm_dout",
    "_image_input", "_flatten_input",
    "_sequence_input", "_sequence_dout", "_forget_bias", "_last_step_input", "_time_input", "_time_dout",
    "_heads_args", "_width_input",
]


# --------------------------------------------------------------------------- every layer

def _layer_args(owner, sizes, sizes_hint, rng, dtype):
    """Check the arguments every layer with weights takes; return ``dtype`` as a float ``np.dtype``.

    ``sizes`` is ``((name, value), ...)`` of positive ints; ``sizes_hint`` says what to pass.
    """
    for arg, v in sizes:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{owner}: '{arg}' must be a positive int, got {v!r}. {sizes_hint}")
    check_rng(rng, owner, "the initial weights")
    return _float_dtype(owner, dtype)


def _float_dtype(owner, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{owner}: 'dtype' must be a float dtype such as np.float32, got {dtype}.")
    return dtype


def _init_name(init):
    """The name of an initializer given by name or as a function, for ``repr``."""
    return init if isinstance(init, str) else getattr(init, "__name__", "custom")


_INIT_HINT = " Check your init(rng, D, M, dtype) returns an array of shape (D, M)."


def _check_init_shape(owner, W, expected, *, what="", layout="", hint=_INIT_HINT):
    """Raise unless the array ``W`` an initializer returned has shape ``expected``.

    ``what`` names the array (`` for Wx``), ``layout`` spells the expected shape in letters.
    """
    if W.shape != expected:
        raise ValueError(f"{owner}: init returned shape {shape_str(W.shape)}{what}, expected "
                         f"{layout}{shape_str(expected)}.{hint}")


def _sequential_layers(layers):
    """The layers given to ``Sequential(*layers)`` (or as one list) as a list of modules."""
    from .module import Module
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
    return list(layers)


def _wrapped_module(module):
    """The module given to ``TimeDistributed``, once it is known to be one."""
    from .module import Module
    if not isinstance(module, Module):
        hint = (" Did you pass the class instead of an instance (Linear vs Linear(H, M, rng=rng))?"
                if isinstance(module, type) else " Wrap a layer such as nn.Linear(H, 1, rng=rng).")
        raise TypeError(f"TimeDistributed: 'module' must be a bpkit.nn.Module, got {type(module).__name__}.{hint}")
    return module


def _layer_dout(layer, dout, shape):
    """Raise unless ``dout`` has the shape of the layer's output (a layer with weights)."""
    if np.shape(dout) != shape:
        raise ValueError(f"{layer!r}.backward: dout must have the shape of this layer's output "
                         f"{shape_str(shape)}, got {shape_str(np.shape(dout))}. Pass the gradient of the "
                         "loss with respect to this layer's output; check the order of the layers in your "
                         "backward pass.")


def _forward_dout(owner, dout, shape):
    """Raise unless ``dout`` has the shape of the forward output (a layer without weights)."""
    if np.shape(dout) != shape:
        raise ValueError(f"{owner}: dout must have the shape of the forward output {shape_str(shape)}, "
                         f"got {shape_str(np.shape(dout))}. Pass the gradient with respect to this layer's output.")


# --------------------------------------------------------------------------- dense layer and activations

def _dense_input(layer, x):
    """``x`` for ``Linear.forward``: a float array (N, D) of the layer's dtype."""
    if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):   # repr(layer) only when needed
        x = as_float_array(x, repr(layer), "x", dtype=layer.dtype)
    if x.ndim != 2 or x.shape[1] != layer.D:
        raise ValueError(f"{layer!r}.forward: x must have shape (N, {layer.D}), got "
                         f"{shape_str(x.shape)}." + (" For one example use x.reshape(1, -1)."
                                                     if x.shape == (layer.D,) else
                                                     " Check the size of the previous layer's output, or "
                                                     f"build this layer with D = {x.shape[-1]}."
                                                     if x.ndim == 2 else
                                                     " Flatten each example first: x.reshape(len(x), -1)."))
    layer._check_input_dtype(x)
    return x


def _leaky_relu_alpha(alpha):
    """``alpha`` for ``LeakyReLU``: a finite slope >= 0."""
    if not (np.isscalar(alpha) and np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"LeakyReLU: 'alpha' must be a finite number >= 0, got {alpha!r}. "
                         "Use a small positive slope such as LeakyReLU(0.01).")
    return alpha


# --------------------------------------------------------------------------- dropout and batch norm

def _dropout_settings(p, rng):
    """``(p, rng)`` for ``Dropout``: a drop rate in [0, 1] and a generator."""
    _check_dropout_p(p, "Dropout")
    check_rng(rng, "Dropout", "the dropped units")
    return p, rng


def _batchnorm_settings(name, letter, F, momentum, eps, dtype):
    """Check the arguments of ``BatchNorm1d``/``2d``; return ``dtype`` as a float ``np.dtype``."""
    if not isinstance(F, (int, np.integer)) or isinstance(F, bool) or F < 1:
        raise ValueError(f"{name}: the number of features {letter} must be a positive int, got {F!r}. "
                         f"Pass x.shape[1], e.g. {name}(256).")
    if not (np.isscalar(momentum) and 0 <= momentum <= 1):
        raise ValueError(f"{name}: 'momentum' must be a number in [0, 1], got {momentum!r}. It is the weight "
                         "of the newest batch in the running averages; use the default 0.1.")
    if not (np.isscalar(eps) and np.isfinite(eps) and eps >= 0):
        raise ValueError(f"{name}: 'eps' must be a finite number >= 0, got {eps!r}. Use the default 1e-5.")
    return _float_dtype(name, dtype)


def _batchnorm_input(layer, x):
    """``x`` for a batch norm's ``forward``: a float array of its layout and dtype, with F features."""
    x = as_float_array(x, f"{layer!r}.forward", "x", dtype=layer.dtype)
    if x.ndim != layer._ndim or x.shape[1] != layer.F:
        other = {2: "BatchNorm1d", 4: "BatchNorm2d"}.get(x.ndim)
        hint = (f" For input of this layout use {other}." if other and other != type(layer).__name__ else
                f" Build this layer with {layer._letter} = {x.shape[1]}." if x.ndim == layer._ndim else "")
        raise ValueError(f"{layer!r}.forward: x must have shape {layer._layout.replace(layer._letter, str(layer.F))}"
                         f", got {shape_str(x.shape)}.{hint}")
    layer._check_input_dtype(x)
    return x


def _batchnorm_dout(layer, dout, shape):
    """Raise unless ``dout`` has the shape of the batch norm's output."""
    if np.shape(dout) != shape:
        raise ValueError(f"{layer!r}.backward: dout must have the shape of this layer's output "
                         f"{shape_str(shape)}, got {shape_str(np.shape(dout))}. Pass the gradient "
                         "of the loss with respect to this layer's output.")


# --------------------------------------------------------------------------- convolution

def _image_input(layer, x):
    """``x`` for ``Conv2d.forward``: a float array (N, C, H, W) of the layer's dtype."""
    if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):   # repr(layer) only when needed
        x = as_float_array(x, repr(layer), "x", dtype=layer.dtype)
    if x.ndim != 4 or x.shape[1] != layer.C:
        hint = (f" Build this layer with C = {x.shape[1]}, the channels of the previous layer's output."
                if x.ndim == 4 else
                f" Reshape flat examples into images first, e.g. x.reshape(len(x), {layer.C}, H, W)."
                if x.ndim == 2 else " Pass a batch of images laid out as (N, C, H, W).")
        raise ValueError(f"{layer!r}.forward: x must have shape (N, {layer.C}, H, W), got "
                         f"{shape_str(x.shape)}.{hint}")
    layer._check_input_dtype(x)
    return x


def _flatten_input(x):
    """``x`` for ``Flatten.forward``: a float array with a batch axis and at least one more."""
    x = as_float_array(x, "Flatten.forward", "x")
    if x.ndim < 2:
        raise ValueError(f"Flatten.forward: x must have a batch axis and at least one more, shape (N, ...), "
                         f"got {shape_str(x.shape)}. Pass a batch, e.g. x.reshape(1, -1) for one example.")
    return x


# --------------------------------------------------------------------------- recurrent layers

def _sequence_input(layer, x):
    """``x`` for a recurrent layer's ``forward``: a float array (N, T, D) of the layer's dtype."""
    if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
        x = as_float_array(x, f"{layer!r}.forward", "x", dtype=layer.dtype)
    if x.ndim != 3 or x.shape[2] != layer.D:
        if x.ndim == 3:
            hint = (f" Build this layer with D = {x.shape[2]}, the number of features per time step (for a "
                    "recurrent layer after another one, D is the previous layer's H).")
        elif x.ndim == 2 and x.shape[1] == layer.D:
            hint = " For sequences of one time step add the time axis with x[:, None]."
        elif x.ndim == 2 and layer.D == 1:
            hint = " For N sequences of T numbers add the feature axis with x[:, :, None]."
        else:
            hint = " Pass a batch of sequences laid out as (N, T, D)."
        raise ValueError(f"{layer!r}.forward: x must have shape (N, T, {layer.D}), got {shape_str(x.shape)}.{hint}")
    layer._check_input_dtype(x)
    return x


def _sequence_dout(layer, dout):
    """The recurrent layer's cache, once ``dout`` is known to have the shape of its output (N, T, H)."""
    cache = layer._need_cache()
    shape = cache[4].shape                                   # h, the output of forward
    if np.shape(dout) != shape:
        hint = (" If the loss reads only the last hidden state, put nn.LastTimeStep() after this layer."
                if np.shape(dout) == (shape[0], shape[2]) else
                " Pass the gradient of the loss with respect to this layer's output; check the order of the "
                "layers in your backward pass.")
        raise ValueError(f"{layer!r}.backward: dout must have the shape of this layer's output, every hidden "
                         f"state {shape_str(shape)}, got {shape_str(np.shape(dout))}.{hint}")
    return cache


def _forget_bias(forget_bias):
    """``forget_bias`` for ``LSTM``: a finite number."""
    if isinstance(forget_bias, (bool, np.bool_)) or not isinstance(forget_bias, (int, float, np.integer, np.floating)) \
            or not np.isfinite(forget_bias):
        raise ValueError(f"LSTM: 'forget_bias' must be a finite number, got {forget_bias!r}. Use the default "
                         "1.0, or 0.0 for PyTorch's behaviour.")
    return forget_bias


def _last_step_input(x):
    """``x`` for ``LastTimeStep.forward``: a float array (N, T, H) with T >= 1."""
    x = as_float_array(x, "LastTimeStep.forward", "x")
    if x.ndim != 3 or x.shape[1] == 0:
        raise ValueError(f"LastTimeStep.forward: x must have shape (N, T, H) with T >= 1, got "
                         f"{shape_str(x.shape)}. Put it directly after a recurrent layer such as nn.LSTM, whose output is (N, T, H).")
    return x


def _time_input(x):
    """``x`` for ``TimeDistributed.forward``: a float array (N, T, ...)."""
    x = as_float_array(x, "TimeDistributed.forward", "x")
    if x.ndim < 3:
        raise ValueError(f"TimeDistributed.forward: x must have shape (N, T, ...) (at least 3-D), got "
                         f"{shape_str(x.shape)}. For input without a time axis use the wrapped module itself.")
    return x


def _time_dout(dout, N, T):
    """``dout`` for ``TimeDistributed.backward``: a float array (N, T, ...)."""
    dout = as_float_array(dout, "TimeDistributed.backward", "dout")
    if dout.shape[:2] != (N, T):
        raise ValueError(f"TimeDistributed.backward: dout must have the shape of the forward output, starting "
                         f"with (N, T) = ({N}, {T}), got {shape_str(dout.shape)}. Pass the gradient with respect "
                         "to this layer's output.")
    return dout


# --------------------------------------------------------------------------- transformer (Chapter 10)

def _heads_args(owner, D, heads):
    """Raise unless ``heads`` is a positive int that divides the width ``D``."""
    if isinstance(heads, (bool, np.bool_)) or not isinstance(heads, (int, np.integer)) or heads < 1 or D % heads:
        divisors = [h for h in range(1, D + 1) if D % h == 0]
        raise ValueError(f"{owner}: 'heads' must be a positive int that divides D = {D} (each head gets D / heads "
                         f"features), got {heads!r}. Use one of {divisors}.")


def _width_input(layer, x, what="x"):
    """``x`` for a layer on sequences of width ``layer.D``: a float array (..., D) of the layer's dtype."""
    if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
        x = as_float_array(x, f"{layer!r}.forward", what, dtype=layer.dtype)
    if x.ndim != 3 or x.shape[-1] != layer.D:
        hint = (" Token ids go through nn.Embedding first." if x.ndim == 2 and x.shape[-1] != layer.D else
                " For one sequence add the batch axis with x[None]." if x.ndim == 2 else
                f" Build this layer with D = {x.shape[-1]}, the width of the previous layer's output."
                if x.ndim == 3 else " Pass a batch of sequences laid out as (N, T, D).")
        raise ValueError(f"{layer!r}.forward: {what} must have shape (N, T, {layer.D}), got "
                         f"{shape_str(x.shape)}.{hint}")
    layer._check_input_dtype(x)
    return x
