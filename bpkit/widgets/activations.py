"""Widget of Chapter 5: activation and gradient statistics, layer by layer, in a deep network.

``DepthExplorer`` builds a deep multilayer perceptron with :mod:`bpkit.nn` (``depth``
blocks of ``Linear(width, width)`` followed by an activation), runs one forward and one
backward pass on a fixed batch, and plots, for every layer, the standard deviation of the
activations and the norm of the weight gradient on a logarithmic scale. Vanishing and
exploding gradients, and the initialization that avoids them, become visible at a glance.
Every number comes from :func:`depth_statistics`, which tests and exercises call directly.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..init import scaled
from ._base import Widget as _Widget
from ._base import control_property

__all__ = ["DEPTH_ACTIVATIONS", "DEPTH_INITS", "DepthExplorer", "depth_statistics"]

#: Activations offered: name -> a function returning a new bpkit module.
DEPTH_ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "gelu": nn.GELU,
}

#: Base initializations offered (the ``scale`` slider multiplies their standard deviation):
#: ``"lecun"`` std $\sqrt{1/D}$, ``"xavier"`` $\sqrt{2/(D + M)}$, ``"he"`` $\sqrt{2/D}$.
DEPTH_INITS = ("lecun", "xavier", "he")

_DEPTH_RANGE = (2, 50)
_SCALE_RANGE = (0.1, 3.0)


def _sig(v):
    """Three significant digits, stable across machines."""
    return f"{float(v):.3g}"


def depth_statistics(depth, activation="tanh", init="xavier", scale=1.0,
                     width=64, n=128, seed=0):
    r"""Per-layer statistics of one forward and backward pass through a deep MLP.

    The network is ``depth`` blocks ``Linear(width, width, init=scaled(init, scale))`` then the
    activation. From ``rng = np.random.default_rng(seed)`` we draw, in this order, the input
    ``X`` (n, width) and the upstream gradient ``G`` (n, width), both standard normal, then
    the weights layer by layer. With $K$ = ``depth`` layers and $N$ = ``n`` examples, the loss
    is $L = \frac{1}{N} \sum_{i,j} (A^{[K]} \odot G)_{ij}$, so the backward pass starts from
    ``dout = G / n``.

    Returns
    -------
    dict with arrays of shape (depth,), entry ``l - 1`` for layer ``l``:
        ``"act_std"`` the std of $A^{[l]}$, ``"act_mean"`` its mean, ``"grad_norm"`` the
        Frobenius norm of $\partial L / \partial W^{[l]}$; and ``"model"``, the network.
    """
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"depth_statistics: 'depth' must be a positive int, got {depth!r}.")
    if activation not in DEPTH_ACTIVATIONS:
        raise ValueError(f"depth_statistics: unknown activation {activation!r}; choose one of "
                         f"{list(DEPTH_ACTIVATIONS)}.")
    if init not in DEPTH_INITS:
        raise ValueError(f"depth_statistics: unknown init {init!r}; choose one of {list(DEPTH_INITS)}.")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, width))
    G = rng.standard_normal((n, width))
    layers = []
    for _ in range(int(depth)):
        weights = scaled(init, scale)
        layers += [nn.Linear(width, width, rng=rng, init=weights),
                   DEPTH_ACTIVATIONS[activation]()]
    model = nn.Sequential(layers)
    A, act_std, act_mean = X, [], []
    for layer in model.layers:
        A = layer(A)
        if not isinstance(layer, nn.Linear):
            act_std.append(float(A.std()))
            act_mean.append(float(A.mean()))
    model.backward(G / n)
    grad_norm = [float(np.linalg.norm(layer.grads["W"]))
                 for layer in model.layers if isinstance(layer, nn.Linear)]
    return {"act_std": np.array(act_std), "act_mean": np.array(act_mean),
            "grad_norm": np.array(grad_norm), "model": model}


class DepthExplorer(_Widget):
    r"""Activation std and weight-gradient norm at every layer of a deep MLP, on a log scale.

    Controls: ``depth`` (2 to 50 blocks), ``activation`` (a name in
    :data:`DEPTH_ACTIVATIONS`), ``init`` (a name in :data:`DEPTH_INITS`) and ``scale``
    (0.1 to 3, multiplying the std of the initial weights). The statistics are those of
    :func:`depth_statistics` with the same arguments; they are deterministic for a ``seed``.

    Attributes
    ----------
    act_std, grad_norm : ndarray, shape (depth,)
        The current statistics, layer 1 first.
    """

    def values(self) -> dict:
        """The controls: ``depth``, ``activation``, ``init`` and ``scale``, as ``set()`` takes them."""
        return {"depth": self.depth, "activation": self.activation, "init": self.init, "scale": self.scale}

    def __init__(self, depth=20, activation="tanh", init="xavier", scale=1.0, width=64, n=128, seed=0):
        self._check("depth", depth)
        self._check("activation", activation)
        self._check("init", init)
        self._check("scale", scale)
        self.width, self.n, self.seed = int(width), int(n), int(seed)
        self._init = (int(depth), activation, init, float(scale))
        self._init_widgets()
        self.update()

    # -- validation shared by the constructor and the setters
    @staticmethod
    def _check(name, v):
        if name == "depth":
            lo, hi = _DEPTH_RANGE
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
                raise ValueError(f"DepthExplorer: 'depth' must be an int from {lo} to {hi}, got {v!r}.")
        elif name == "activation":
            if v not in DEPTH_ACTIVATIONS:
                raise ValueError(f"DepthExplorer: unknown activation {v!r}; choose one of {list(DEPTH_ACTIVATIONS)}.")
        elif name == "init":
            if v not in DEPTH_INITS:
                raise ValueError(f"DepthExplorer: unknown init {v!r}; choose one of {list(DEPTH_INITS)}.")
        else:
            lo, hi = _SCALE_RANGE
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not lo - 1e-12 <= v <= hi + 1e-12:
                raise ValueError(f"DepthExplorer: 'scale' must be a number from {lo:g} to {hi:g} (the slider's "
                                 f"range), got {v!r}.")

    def _controls(self):
        W = self._W
        depth, act, init, scale = self._init
        self._depth = W.IntSlider(value=depth, min=_DEPTH_RANGE[0], max=_DEPTH_RANGE[1], description="depth",
                                  continuous_update=False)
        self._act = W.Dropdown(options=list(DEPTH_ACTIVATIONS), value=act, description="activation")
        self._initw = W.Dropdown(options=list(DEPTH_INITS), value=init, description="init")
        self._scale = W.FloatSlider(value=scale, min=_SCALE_RANGE[0], max=_SCALE_RANGE[1], step=0.05,
                                    description="scale", continuous_update=False, readout_format=".2f")
        for c in (self._depth, self._act, self._initw, self._scale):
            c.observe(self._on_change, names="value")
        return [W.HBox([self._depth, self._act]), W.HBox([self._initw, self._scale])]

    def _check_control(self, name, value):
        self._check(name, value)

    depth = control_property("depth", "_depth", int, "Number of Linear + activation blocks (2 to 50).")
    activation = control_property("activation", "_act", str, "The activation, a name in DEPTH_ACTIVATIONS.")
    init = control_property("init", "_initw", str, "The base initialization: 'lecun', 'xavier' or 'he'.")
    scale = control_property("scale", "_scale", float, "Multiplier of the initial weights' std (0.1 to 3).")

    def set(self, depth=None, activation=None, init=None, scale=None):
        """Set several controls at once and recompute once; returns ``self``."""
        values = {"depth": depth, "activation": activation, "init": init, "scale": scale}
        for k, v in values.items():
            if v is not None:
                self._check(k, v)
        self._hold = True
        try:
            for k, v in values.items():
                if v is not None:
                    setattr(self, k, v)
        finally:
            self._hold = False
        self.update()
        return self

    # -- the computation
    def _recompute(self):
        stats = depth_statistics(self.depth, self.activation, self.init, self.scale, self.width, self.n, self.seed)
        self.act_std, self.grad_norm = stats["act_std"], stats["grad_norm"]

    def weight_std(self) -> float:
        """The std of the initial weights: ``scale`` times the base rule of ``init``."""
        D = self.width
        base = {"lecun": np.sqrt(1 / D), "xavier": np.sqrt(2 / (D + D)), "he": np.sqrt(2 / D)}[self.init]
        return float(self.scale * base)

    def ratio(self) -> float:
        """Gradient norm of layer 1 divided by that of the last layer."""
        return float(self.grad_norm[0] / self.grad_norm[-1])

    def summary(self):
        a, g = self.act_std, self.grad_norm
        mid = len(a) // 2
        return "\n".join([
            f"{self.depth} layers of width {self.width}, activation {self.activation}, init {self.init} x "
            f"{self.scale:.2f} (weight std {_sig(self.weight_std())})",
            f"activation std: layer 1 {_sig(a[0])}, layer {mid + 1} {_sig(a[mid])}, layer {len(a)} {_sig(a[-1])}",
            f"gradient norm |dW|: layer 1 {_sig(g[0])}, layer {mid + 1} {_sig(g[mid])}, layer {len(g)} {_sig(g[-1])}",
            f"layer 1 / last layer gradient ratio: {_sig(self.ratio())}",
        ])

    def figure(self):
        from matplotlib.figure import Figure
        fig = Figure(figsize=(9, 3.4), layout="constrained")
        layers = np.arange(1, self.depth + 1)
        for k, (values, label) in enumerate([(self.act_std, "std of activations A[l]"),
                                             (self.grad_norm, "norm of gradient dW[l]")]):
            ax = fig.add_subplot(1, 2, k + 1)
            ax.semilogy(layers, values, "o-", ms=3)
            ax.set(xlabel="layer l", ylabel=label, title=label)
            ax.grid(alpha=0.3, which="both")
        fig.suptitle(f"{self.activation}, init {self.init} x {self.scale:.2f}, depth {self.depth}")
        return fig
