"""The base class ``Module`` and ``Sequential``, which composes modules (Chapter 1).

``Module`` holds what every layer shares: the ``params``/``grads``/``buffers`` dicts, the
train/eval flag, ``state_dict``. The contract a module follows (``forward``, ``backward``,
``input_grad=False``, ``params`` and ``grads``, ``train()``/``eval()``, ``buffers``) is
written once, in the docstring of :mod:`bpkit.nn`.
"""

from __future__ import annotations

import numpy as np

from .._checks import shape_str
from ._args import _sequential_layers

# takes_input_grad is for bpkit.train and tests: importable from bpkit.nn, but not in __all__.
__all__ = ["Module", "Sequential"]


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


class Sequential(Module):
    """Modules applied one after the other; backward runs them in reverse.

    Parameters are exposed with the layer index as prefix, as PyTorch names them:
    ``{"0.W": ..., "0.b": ..., "2.W": ...}``. The arrays are the layers' own, so an
    optimizer that updates ``model.params`` in place updates the layers.
    """

    def __init__(self, *layers):
        super().__init__()
        self.layers = _sequential_layers(layers)

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
