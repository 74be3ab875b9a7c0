"""Differentiable operations as forward/backward function pairs.

Every pair follows one contract, the one the chapters derive:

* ``*_forward(inputs...) -> (out, cache)``: compute the output and keep, in ``cache``,
  exactly what the backward pass needs.
* ``*_backward(dout, cache) -> d<input>...``: given the upstream gradient ``dout``
  (the gradient of the scalar loss with respect to ``out``, same shape as ``out``),
  return the gradient with respect to each input, each with the shape of that input.

Layouts are batch first: dense input ``x`` is ``(N, D)``, a dense weight ``W`` is
``(D, M)`` and the layer computes ``x @ W + b`` (row-vector convention); images are
``(N, C, H, W)`` and a convolution's weight ``W`` is ``(F, C, KH, KW)``; sequences are
``(N, T, D)``, and a recurrent layer's hidden states ``(N, T, H)``. Functions never
modify their inputs, and they keep the float dtype they are given: float32 in, float32 out.

One module per topic, in the order the chapters teach them; import from ``bpkit.ops``:

* :mod:`bpkit.ops.dense`: ``linear_`` (Chapters 1 and 3)
* :mod:`bpkit.ops.activations`: ``sigmoid``, ``sigmoid_``, ``tanh_``, ``relu_``, ``leaky_relu_``,
  ``gelu_`` (Chapters 1, 3 and 5)
* :mod:`bpkit.ops.softmax`: ``softmax``, ``log_softmax``, ``logsumexp``, ``softmax_`` (Chapter 2)
* :mod:`bpkit.ops.regularization`: ``dropout_``, ``batchnorm_`` (Chapter 6)
* :mod:`bpkit.ops.conv`: ``conv2d_``, ``maxpool2d_``, ``avgpool2d_`` (Chapter 7)
* :mod:`bpkit.ops.recurrent`: ``rnn_step_``, ``rnn_``, ``lstm_step_``, ``lstm_`` (Chapter 8)
* :mod:`bpkit.ops.attention`: ``embedding_``, ``layernorm_``, ``attention_`` (Chapter 10)

Each public function checks its arguments through one helper of :mod:`bpkit.ops._args`
(Chapter 10's: :mod:`bpkit.ops._args_attention`),
called on its first line, so its body is the maths.
"""

from __future__ import annotations

from .activations import (gelu_backward, gelu_forward, leaky_relu_backward, leaky_relu_forward, relu_backward,
                          relu_forward, sigmoid, sigmoid_backward, sigmoid_forward, tanh_backward, tanh_forward)
from .attention import (AttentionCache, attention_backward, attention_forward, causal_mask, embedding_backward,
                        embedding_forward, layernorm_backward, layernorm_forward)
from .conv import (avgpool2d_backward, avgpool2d_forward, conv2d_backward, conv2d_forward, maxpool2d_backward,
                   maxpool2d_forward)
from .dense import linear_backward, linear_forward
from .recurrent import (lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward, rnn_backward,
                        rnn_forward, rnn_step_backward, rnn_step_forward)
from .regularization import BatchNormCache, batchnorm_backward, batchnorm_forward, dropout_backward, dropout_forward
from .softmax import log_softmax, logsumexp, softmax, softmax_backward, softmax_forward

# Private helpers that bpkit.nn imported from the single-file bpkit.ops, still importable from here.
# (_conv2d_param_grads, _rnn_bptt and _lstm_bptt no longer take a function name: they do not check
# ``dout``; _args._conv2d_dout and _args._sequence_dh do.)
from ._args import _PADDING_HINT, _STRIDE_HINT, _check_dropout_p, _check_int, _check_pair, _out_size  # noqa: F401
from .conv import _conv2d_param_grads  # noqa: F401
from .recurrent import _lstm_bptt, _recurrent_param_grads, _rnn_bptt  # noqa: F401

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
    "conv2d_forward", "conv2d_backward",
    "maxpool2d_forward", "maxpool2d_backward",
    "avgpool2d_forward", "avgpool2d_backward",
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
    "embedding_forward", "embedding_backward", "layernorm_forward", "layernorm_backward",
    "AttentionCache", "attention_forward", "attention_backward", "causal_mask",
]
