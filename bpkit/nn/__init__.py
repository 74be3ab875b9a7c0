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

One module per topic, as in :mod:`bpkit.ops`; import from ``bpkit.nn``:

* :mod:`bpkit.nn.module`: ``Module`` (the contract) and ``Sequential`` (Chapter 1)
* :mod:`bpkit.nn.dense`: ``Linear`` (Chapter 1)
* :mod:`bpkit.nn.activations`: ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU``, ``GELU`` (Chapters 1 and 5)
* :mod:`bpkit.nn.regularization`: ``Dropout``, ``BatchNorm1d``, ``BatchNorm2d`` (Chapter 6)
* :mod:`bpkit.nn.conv`: ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten`` (Chapter 7)
* :mod:`bpkit.nn.recurrent`: ``RNN``, ``LSTM``, ``LastTimeStep``, ``TimeDistributed`` (Chapter 8)
* :mod:`bpkit.nn.transformer`: ``Embedding``, ``PositionalEncoding``, ``LayerNorm``,
  ``MultiHeadAttention``, ``TransformerBlock`` (Chapter 10)

The argument checks of every module are in :mod:`bpkit.nn._args`.
"""

from __future__ import annotations

from .activations import GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from .dense import Linear
from .module import Module, Sequential, takes_input_grad  # noqa: F401  (takes_input_grad: for bpkit.train)
from .recurrent import LSTM, RNN, LastTimeStep, TimeDistributed
from .regularization import BatchNorm1d, BatchNorm2d, Dropout
from .transformer import Embedding, LayerNorm, MultiHeadAttention, PositionalEncoding, TransformerBlock

__all__ = ["AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "Dropout", "Embedding", "Flatten", "GELU", "LSTM",
           "LastTimeStep", "LayerNorm", "LeakyReLU", "Linear", "MaxPool2d", "Module", "MultiHeadAttention",
           "PositionalEncoding", "RNN", "ReLU", "Sequential", "Sigmoid", "Tanh", "TimeDistributed",
           "TransformerBlock"]
