"""bpkit: the helper library of *Backprop from Scratch*.

Vectorized NumPy layers with forward and backward passes, losses, optimizers, gradient
checking, data and a training loop. Modules:

* :mod:`bpkit.autograd`: a scalar reverse-mode engine, ``Value``, and ``draw_graph``
* :mod:`bpkit.ops`: forward/backward function pairs (``linear_forward``/``linear_backward``, activations,
  softmax, dropout, batch norm, convolution and pooling, RNN and LSTM)
* :mod:`bpkit.losses`: losses returning ``(loss, dscores)``
* :mod:`bpkit.nn`: ``Module``, ``Linear``, activations, ``Dropout``, ``BatchNorm1d``/``2d``, ``Conv2d``,
  pooling, ``Flatten``, ``RNN``, ``LSTM``, ``Sequential``
* :mod:`bpkit.init`: weight initializers (He, Xavier, LeCun)
* :mod:`bpkit.optim`: ``SGD``, ``SGDW``, ``RMSprop``, ``Adam``, ``AdamW``, ``clip_grad_norm``
* :mod:`bpkit.schedules`: learning-rate schedules (step, cosine, warm-up)
* :mod:`bpkit.gradcheck`: centred finite differences, ``rel_error``, ``check_gradients``
* :mod:`bpkit.train`: ``fit``, ``evaluate``, callbacks
* :mod:`bpkit.data`: ``xor``, ``spirals``, ``moons``, ``digits``, ``adding_problem``, ``sine_sequences``
  (all offline)
* :mod:`bpkit.plot`: training curves and decision boundaries (imports matplotlib on use)
* :mod:`bpkit.widgets`, :mod:`bpkit.checks`, :mod:`bpkit.course`: the course's widgets, exercise
  checks and tools (imported on their own)

Importing bpkit prints nothing, touches no network and leaves NumPy's global random
state alone.
"""

from . import autograd, data, gradcheck, init, losses, nn, ops, optim, schedules, train

__version__ = "0.1.0"

__all__ = ["autograd", "data", "gradcheck", "init", "losses", "nn", "ops", "optim", "schedules", "train", "__version__"]
