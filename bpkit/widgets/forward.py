"""Widgets of Chapter 1: a neuron explorer and a 2-H-1 network playground."""

from __future__ import annotations

import numpy as np

from .. import data as _data
from .. import losses, nn, ops
from ..optim import SGD
from ._base import Widget as _Widget
from ._base import _num

__all__ = ["ACTIVATIONS", "NetworkPlayground", "NeuronExplorer"]

#: Activation functions offered by the widgets: name -> (function, threshold of the output
#: that corresponds to the pre-activation z = 0).
ACTIVATIONS = {
    "sigmoid": (ops.sigmoid, 0.5),
    "tanh": (np.tanh, 0.0),
    "relu": (lambda z: np.maximum(z, 0.0), 0.0),
    "step": (lambda z: (z > 0).astype(float), 0.5),
    "identity": (lambda z: z, 0.0),
}


class NeuronExplorer(_Widget):
    r"""One neuron $a = \phi(w_1 x_1 + w_2 x_2 + b)$ over the plane, with its decision boundary.

    Sliders set ``w1``, ``w2`` and ``b`` (range ``-limit .. limit``, step ``step``), a menu the
    activation $\phi$. The picture colours the plane by the output $a$, draws the boundary
    $z = 0$ and the weight vector, which is perpendicular to it, and marks ``point`` when given.

    Parameters
    ----------
    w, b : initial weights (2,) and bias.
    activation : a name from :data:`ACTIVATIONS`.
    point : optional (x1, x2) to mark, e.g. the point a boundary must pass through.
    lock_weights : disable the weight sliders (an exercise that asks only for the bias).
    """

    def values(self) -> dict:
        """The controls: ``w1``, ``w2``, ``b`` and ``activation``, as ``set()`` takes them."""
        return {"w1": self.w1, "w2": self.w2, "b": self.b, "activation": self.activation}

    def __init__(self, w=(1.0, 1.0), b=0.0, activation="sigmoid", point=None, lock_weights=False,
                 limit=5.0, step=0.05, xlim=(-1.0, 2.0), ylim=(-1.0, 2.0)):
        if activation not in ACTIVATIONS:
            raise ValueError(f"NeuronExplorer: unknown activation {activation!r}; choose one of {list(ACTIVATIONS)}.")
        w = np.asarray(w, dtype=float)
        if w.shape != (2,):
            raise ValueError(f"NeuronExplorer: 'w' must have shape (2,), got {w.shape}.")
        self._limit, self._step = float(limit), float(step)
        self.point = None if point is None else tuple(float(p) for p in point)
        self.lock_weights = lock_weights
        self.xlim, self.ylim = xlim, ylim
        self._init = (w, float(b), activation)
        self._init_widgets()
        self.update()

    def _controls(self):
        W = self._W
        w, b, act = self._init
        opts = dict(min=-self._limit, max=self._limit, step=self._step, continuous_update=False,
                    readout_format=".2f")
        self._sliders = {"w1": W.FloatSlider(value=w[0], description="w\u2081", disabled=self.lock_weights, **opts),
                         "w2": W.FloatSlider(value=w[1], description="w\u2082", disabled=self.lock_weights, **opts),
                         "b": W.FloatSlider(value=b, description="b", **opts)}
        self._act = W.Dropdown(options=list(ACTIVATIONS), value=act, description="activation")
        for s in (*self._sliders.values(), self._act):
            s.observe(self._on_change, names="value")
        return [W.HBox([self._sliders["w1"], self._sliders["w2"]]), W.HBox([self._sliders["b"], self._act])]

    # -- the controls, as properties
    def _get(self, k):
        return float(self._sliders[k].value)

    def _set(self, k, v):
        v = float(v)
        if not -self._limit <= v <= self._limit:
            raise ValueError(f"NeuronExplorer: {k} = {v} is outside the slider range [-{self._limit:g}, "
                             f"{self._limit:g}].")
        self._sliders[k].value = v

    w1 = property(lambda self: self._get("w1"), lambda self, v: self._set("w1", v), doc="First weight.")
    w2 = property(lambda self: self._get("w2"), lambda self, v: self._set("w2", v), doc="Second weight.")
    b = property(lambda self: self._get("b"), lambda self, v: self._set("b", v), doc="The bias.")

    @property
    def activation(self) -> str:
        return self._act.value

    @activation.setter
    def activation(self, name):
        if name not in ACTIVATIONS:
            raise ValueError(f"NeuronExplorer: unknown activation {name!r}; choose one of {list(ACTIVATIONS)}.")
        self._act.value = name

    def set(self, w1=None, w2=None, b=None, activation=None):
        """Set several controls at once and redraw once."""
        self._hold = True
        try:
            for k, v in (("w1", w1), ("w2", w2), ("b", b)):
                if v is not None:
                    self._set(k, v)
            if activation is not None:
                self.activation = activation
        finally:
            self._hold = False
        self.update()
        return self

    # -- the neuron
    def output(self, X):
        """The neuron's output for points ``X`` of shape (N, 2): an array of shape (N,)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        z = X @ np.array([self.w1, self.w2]) + self.b
        return ACTIVATIONS[self.activation][0](z)

    def boundary(self) -> str:
        """The line where $z = 0$, as text."""
        w1, w2, b = self.w1, self.w2, self.b
        if abs(w2) > 1e-12:
            return f"x2 = {_num(-w1 / w2)} * x1 + {_num(-b / w2)}"
        if abs(w1) > 1e-12:
            return f"x1 = {_num(-b / w1)}"
        return "none (both weights are zero: the output is the same everywhere)"

    def summary(self):
        lines = [f"neuron: w = ({_num(self.w1)}, {_num(self.w2)}), b = {_num(self.b)}, activation = {self.activation}",
                 f"boundary z = 0: {self.boundary()}"]
        if self.point is not None:
            z = self.w1 * self.point[0] + self.w2 * self.point[1] + self.b
            where = "on the boundary" if abs(z) < 1e-9 else ("on the positive side" if z > 0 else "on the negative side")
            a = float(self.output(self.point)[0])
            lines.append(f"at the point ({_num(self.point[0])}, {_num(self.point[1])}): z = {_num(z, 3)}, "
                         f"a = {_num(a, 3)} ({where})")
        return "\n".join(lines)

    def figure(self):
        from matplotlib.figure import Figure
        fig = Figure(figsize=(4.6, 3.8))
        ax = fig.add_subplot()
        gx, gy = np.meshgrid(np.linspace(*self.xlim, 121), np.linspace(*self.ylim, 121))
        a = self.output(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
        im = ax.pcolormesh(gx, gy, a, cmap="coolwarm", shading="auto",
                           vmin=(0 if self.activation in ("sigmoid", "step") else None),
                           vmax=(1 if self.activation in ("sigmoid", "step") else None))
        fig.colorbar(im, ax=ax, label=f"a = {self.activation}(z)")
        w1, w2, b = self.w1, self.w2, self.b
        xs = np.linspace(*self.xlim, 2)
        if abs(w2) > 1e-12:
            ax.plot(xs, -(w1 * xs + b) / w2, "k-", lw=2, label="boundary z = 0")
        elif abs(w1) > 1e-12:
            ax.axvline(-b / w1, color="k", lw=2, label="boundary z = 0")
        norm = np.hypot(w1, w2)
        if norm > 1e-12:
            # the weight vector, drawn from the boundary point nearest the origin
            foot = -b * np.array([w1, w2]) / norm ** 2
            ax.annotate("", xy=foot + 0.5 * np.array([w1, w2]) / norm, xytext=foot,
                        arrowprops=dict(arrowstyle="->", lw=1.5, color="k"))
        if self.point is not None:
            ax.plot(*self.point, marker="*", ms=14, color="gold", mec="k", ls="none", label="target point")
        ax.set(xlim=self.xlim, ylim=self.ylim, xlabel="x1", ylabel="x2", aspect="equal",
               title=f"w = ({w1:.2f}, {w2:.2f}), b = {b:.2f}")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower left", fontsize=12, framealpha=0.8)
        return fig


_DATASETS = ("xor", "moons", "spirals")
_HIDDEN = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class NetworkPlayground(_Widget):
    r"""A 2-H-1 network $p = \sigma(\phi(XW_1 + b_1)W_2 + b_2)$ on a 2-D data set.

    A slider for every weight and bias, and a button that trains for ``steps`` full-batch
    gradient-descent steps (learning rate ``lr``) on the binary cross-entropy. The picture
    shows the decision boundary $p = 0.5$ over the data and the loss so far.

    Parameters
    ----------
    dataset : ``"xor"`` (the four corners), ``"moons"`` or ``"spirals"`` (two arms).
    hidden : number of hidden units H (one slider per weight, so keep it small: 2 to 4).
    activation : hidden activation, ``"sigmoid"``, ``"tanh"`` or ``"relu"``.
    seed : seed of the initial weights and of the data.
    limit, step : the sliders' range ``[-limit, limit]`` and step.
    """

    def _answer_call(self):
        return ("set_weights", {k: np.round(v, 6) for k, v in self.weights.items()})

    def __init__(self, dataset="xor", hidden=2, activation="sigmoid", seed=0, lr=1.0, steps=100,
                 limit=20.0, step=0.1, n_points=200):
        if dataset not in _DATASETS:
            raise ValueError(f"NetworkPlayground: unknown dataset {dataset!r}; choose one of {_DATASETS}.")
        if activation not in _HIDDEN:
            raise ValueError(f"NetworkPlayground: unknown activation {activation!r}; choose one of {list(_HIDDEN)}.")
        if not isinstance(hidden, (int, np.integer)) or not 1 <= hidden <= 8:
            raise ValueError(f"NetworkPlayground: 'hidden' must be an int from 1 to 8, got {hidden!r}.")
        self.dataset, self.H, self.activation = dataset, int(hidden), activation
        rng = np.random.default_rng(seed)
        if dataset == "xor":
            self.X, y = _data.xor()
        elif dataset == "moons":
            self.X, y = _data.moons(n_points, noise=0.15, rng=rng)
        else:
            self.X, y = _data.spirals(n_points // 2, classes=2, rng=rng, noise=0.1)
        self.y = np.asarray(y, dtype=float).reshape(-1, 1)
        self.model = nn.Sequential(nn.Linear(2, self.H, rng=rng, init="xavier"), _HIDDEN[activation](),
                                   nn.Linear(self.H, 1, rng=rng, init="xavier"))
        self._limit, self._step = float(limit), float(step)
        self._lr0, self._steps0 = float(lr), int(steps)
        self.losses = []          # one entry per training step, plus the start
        self.steps_trained = 0
        self._init_widgets()
        self._sync_sliders()
        self.update()

    # names: W1[i,j], b1[j], W2[j,0], b2[0]  <->  model keys 0.W, 0.b, 2.W, 2.b
    _KEYS = {"W1": "0.W", "b1": "0.b", "W2": "2.W", "b2": "2.b"}

    def _controls(self):
        W = self._W
        opts = dict(min=-self._limit, max=self._limit, step=self._step, continuous_update=False,
                    readout_format=".1f", layout=W.Layout(width="250px"), style={"description_width": "50px"})
        self._sliders = {}
        for name, key in self._KEYS.items():
            for idx in np.ndindex(self.model.params[key].shape):
                label = name + "".join(f"[{i}]" for i in idx)
                s = W.FloatSlider(value=0.0, description=label, **opts)
                s.observe(self._on_slider, names="value")
                self._sliders[(name, idx)] = s
        self._lr = W.BoundedFloatText(value=self._lr0, min=1e-4, max=100.0, step=0.1, description="lr",
                                      layout=W.Layout(width="160px"))
        self._nsteps = W.BoundedIntText(value=self._steps0, min=1, max=100000, description="steps",
                                        layout=W.Layout(width="160px"))
        self._train_btn = W.Button(description="Train", icon="play", tooltip="gradient descent on the loss")
        self._train_btn.on_click(lambda _b: self.train())
        self._reset_btn = W.Button(description="Reset loss curve", icon="undo")
        self._reset_btn.on_click(lambda _b: self._reset_curve())
        groups = {}
        for (name, _), s in self._sliders.items():
            groups.setdefault(name, []).append(s)
        cols = [W.VBox(v) for v in groups.values()]
        return [W.HBox(cols), W.HBox([self._lr, self._nsteps, self._train_btn, self._reset_btn])]

    def _on_slider(self, change):
        if self._hold:
            return
        for (name, idx), s in self._sliders.items():   # write only the entry that moved
            if s is change["owner"]:
                self.model.params[self._KEYS[name]][idx] = change["new"]
        self.losses = []
        self.update()

    def _sync_sliders(self):
        self._hold = True
        try:
            p = self.model.params
            for (name, idx), s in self._sliders.items():
                s.value = float(np.clip(p[self._KEYS[name]][idx], -self._limit, self._limit))
        finally:
            self._hold = False

    def _reset_curve(self):
        self.losses = []
        self.update()

    # -- the Python API
    @property
    def weights(self) -> dict:
        """Copies of ``W1`` (2, H), ``b1`` (H,), ``W2`` (H, 1), ``b2`` (1,)."""
        p = self.model.params
        return {name: p[key].copy() for name, key in self._KEYS.items()}

    def set_weights(self, W1=None, b1=None, W2=None, b2=None):
        """Set any of the weights (the sliders follow) and redraw once."""
        p, given = self.model.params, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        for name, value in given.items():
            if value is None:
                continue
            value = np.asarray(value, dtype=float)
            want = p[self._KEYS[name]].shape
            if value.shape != want:
                raise ValueError(f"NetworkPlayground.set_weights: {name} must have shape {want}, got {value.shape}.")
            if np.any(np.abs(value) > self._limit):
                raise ValueError(f"NetworkPlayground.set_weights: {name} has entries outside the slider range "
                                 f"[-{self._limit:g}, {self._limit:g}].")
            p[self._KEYS[name]][...] = value
        self._sync_sliders()
        self.losses = []
        self.update()
        return self

    @property
    def lr(self):
        return float(self._lr.value)

    @lr.setter
    def lr(self, v):
        self._lr.value = float(v)

    @property
    def steps(self):
        return int(self._nsteps.value)

    @steps.setter
    def steps(self, v):
        self._nsteps.value = int(v)

    def probabilities(self, X=None):
        """$p = \\sigma(\\text{logit})$ for points ``X`` (n, 2), default the data: shape (n,)."""
        X = self.X if X is None else np.asarray(X, dtype=float)
        return ops.sigmoid(self.model.forward(X)).ravel()

    def loss(self) -> float:
        """Mean binary cross-entropy on the data."""
        return losses.bce_with_logits_loss(self.model.forward(self.X), self.y)[0]

    def accuracy(self) -> float:
        return float(np.mean((self.probabilities() > 0.5) == (self.y.ravel() > 0.5)))

    def train(self, steps=None, lr=None):
        """Full-batch gradient descent on the loss for ``steps`` steps (default: the box's value)."""
        steps = self.steps if steps is None else int(steps)
        lr = self.lr if lr is None else float(lr)
        opt = SGD(lr=lr)
        if not self.losses:
            self.losses.append(self.loss())
        for _ in range(steps):
            loss, dlogits = losses.bce_with_logits_loss(self.model.forward(self.X), self.y)
            self.model.backward(dlogits)
            opt.step(self.model.params, self.model.grads)
            self.losses.append(self.loss())
        self.steps_trained += steps
        self._sync_sliders()
        self.update()
        return self

    def _recompute(self):
        if not self.losses:
            self.losses.append(self.loss())

    def summary(self):
        H, p = self.H, self.probabilities()
        n = len(self.y)
        correct = int(round(self.accuracy() * n))
        lines = [f"2-{H}-1 network ({self.activation} hidden units) on {self.dataset} ({n} points)",
                 f"loss {self.loss():.4f}, accuracy {100 * correct / n:.1f}% ({correct}/{n})"]
        if self.dataset == "xor":
            lines.append("outputs: " + ", ".join(f"{int(a)}{int(b)} -> {_num(q)}" for (a, b), q in zip(self.X, p)))
        w = self.weights
        lines.append("W1 = " + np.array2string(np.round(w["W1"], 2) + 0.0, separator=", ")
                     .replace("\n", "") + ", b1 = " + np.array2string(np.round(w["b1"], 2) + 0.0, separator=", "))
        lines.append("W2 = " + np.array2string(np.round(w["W2"].ravel(), 2) + 0.0, separator=", ")
                     + ", b2 = " + _num(w["b2"][0]))
        return "\n".join(lines)

    def figure(self):
        from matplotlib.figure import Figure
        fig = Figure(figsize=(8.4, 3.6))
        ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        lo, hi = self.X.min(axis=0) - 0.5, self.X.max(axis=0) + 0.5
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 101), np.linspace(lo[1], hi[1], 101))
        p = self.probabilities(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
        ax.pcolormesh(gx, gy, p, cmap="coolwarm", vmin=0, vmax=1, shading="auto", alpha=0.8)
        if p.min() < 0.5 < p.max():
            ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.5)
        ax.scatter(self.X[:, 0], self.X[:, 1], c=self.y.ravel(), cmap="coolwarm", vmin=0, vmax=1,
                   edgecolors="k", s=60 if self.dataset == "xor" else 16)
        ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), aspect="equal", xlabel="x1", ylabel="x2",
               title=f"p(class 1), accuracy {100 * self.accuracy():.0f}%")
        if len(self.losses) > 1:
            ax2.plot(np.arange(len(self.losses)), self.losses)
            ax2.set(xlabel="training step", ylabel="loss (binary cross-entropy)", yscale="log")
        else:
            ax2.axhline(self.loss(), color="C0")
            ax2.set(xlabel="training step", ylabel="loss (binary cross-entropy)")
        ax2.set_title(f"loss {self.loss():.4f}")
        ax2.grid(alpha=0.3)
        fig.tight_layout()
        return fig
