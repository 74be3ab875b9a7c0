"""Widget of Chapter 2: a loss and its gradient as functions of the prediction, and outliers.

``LossExplorer`` draws, for one chosen loss and a fixed target, the loss of a single
prediction and its derivative, with a marker at the current prediction; a third panel fits
a constant to a few points and one outlier with MSE, MAE and Huber, to show how hard the
outlier pulls on each. Every number comes from :mod:`bpkit.losses`.
"""

from __future__ import annotations

import numpy as np

from .. import losses
from ._base import Widget as _Widget
from ._base import _num

__all__ = ["LOSSES", "LossExplorer", "fit_constant"]

#: The losses offered: name -> (bpkit function, its name on the prediction axis).
LOSSES = {
    "mse": (losses.mse_loss, "prediction"),
    "mae": (losses.mae_loss, "prediction"),
    "huber": (losses.huber_loss, "prediction"),
    "bce": (losses.bce_with_logits_loss, "logit s"),
}

_LONG = {"mse": "mean squared error", "mae": "mean absolute error", "huber": "Huber",
         "bce": "binary cross-entropy from logits"}


def _call(name, pred, target, delta):
    fn = LOSSES[name][0]
    return fn(pred, target, delta) if name == "huber" else fn(pred, target)


def fit_constant(values, loss="mse", delta=1.0):
    r"""The constant $c$ that minimises the mean ``loss`` of $c$ against ``values`` (a 1-D array).

    MSE gives the mean, MAE the median (the midpoint of the two middle values for an even
    count) and Huber the root of $\sum_i \mathrm{clip}(c - y_i, -\delta, \delta) = 0$, found by
    bisection, which the gradient's monotonicity makes exact to rounding.
    """
    y = np.asarray(values, dtype=float).ravel()
    if y.size == 0 or not np.all(np.isfinite(y)):
        raise ValueError(f"fit_constant: 'values' must be a non-empty array of finite numbers, got {values!r}.")
    if loss == "mse":
        return float(np.mean(y))
    if loss == "mae":
        return float(np.median(y))
    if loss != "huber":
        raise ValueError(f"fit_constant: 'loss' must be 'mse', 'mae' or 'huber', got {loss!r}.")
    lo, hi = float(y.min()), float(y.max())
    for _ in range(200):                       # the gradient sum(clip(c - y)) increases with c
        mid = 0.5 * (lo + hi)
        if np.sum(np.clip(mid - y, -delta, delta)) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


class LossExplorer(_Widget):
    r"""A loss $\ell(\hat y, y)$ and its gradient $\partial\ell/\partial\hat y$ for one example.

    A menu picks the loss (``"mse"``, ``"mae"``, ``"huber"`` or ``"bce"``, whose prediction
    is a logit and whose target lies in [0, 1]); sliders set the ``target``, the
    ``prediction``, Huber's ``delta`` and the position of an ``outlier``. The left panels show
    the loss and its gradient over a range of predictions, with a marker at the current one;
    the right panel fits one constant to the points ``inliers`` plus the outlier with MSE
    (the mean), MAE (the median) and Huber.

    Parameters
    ----------
    loss : a name from :data:`LOSSES`.
    target, prediction : initial slider values.
    delta : Huber's threshold, where the loss turns from quadratic to linear.
    outlier : the position of the extra point in the outlier panel.
    inliers : the well-behaved points of the outlier panel.
    limit, step : the sliders' range ``[-limit, limit]`` and step.
    """

    def values(self) -> dict:
        """The controls, as ``set()`` takes them."""
        return {k: getattr(self, k) for k in ("loss", "target", "prediction", "delta", "outlier")}

    def __init__(self, loss="mse", target=0.0, prediction=1.0, delta=1.0, outlier=4.0,
                 inliers=(0.7, 0.9, 1.1, 1.3), limit=10.0, step=0.05):
        if loss not in LOSSES:
            raise ValueError(f"LossExplorer: unknown loss {loss!r}; choose one of {list(LOSSES)}.")
        self.inliers = np.asarray(inliers, dtype=float).ravel()
        if self.inliers.size == 0 or not np.all(np.isfinite(self.inliers)):
            raise ValueError(f"LossExplorer: 'inliers' must be a non-empty sequence of finite numbers, got {inliers!r}.")
        self._limit, self._step = float(limit), float(step)
        for name, v in (("target", target), ("prediction", prediction), ("outlier", outlier)):
            self._in_range(name, v, -self._limit, self._limit)
        self._in_range("delta", delta, 0.1, 5.0)
        if loss == "bce":
            self._in_range("target", target, 0.0, 1.0, why=" (bce needs a probability)")
        self._init = (loss, float(target), float(prediction), float(delta), float(outlier))
        self._init_widgets()
        self.update()

    @staticmethod
    def _in_range(name, v, lo, hi, why=""):
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise TypeError(f"LossExplorer: {name} must be a number, got {v!r}.") from None
        if not lo <= v <= hi:
            raise ValueError(f"LossExplorer: {name} = {v:g} is outside the slider range [{lo:g}, {hi:g}]{why}.")
        return v

    def _controls(self):
        W = self._W
        loss, target, prediction, delta, outlier = self._init
        opts = dict(min=-self._limit, max=self._limit, step=self._step, continuous_update=False,
                    readout_format=".2f")
        self._loss = W.Dropdown(options=list(LOSSES), value=loss, description="loss")
        self._sliders = {
            "target": W.FloatSlider(value=target, description="target y",
                                    **(opts | (dict(min=0.0, max=1.0) if loss == "bce" else {}))),
            "prediction": W.FloatSlider(value=prediction, description="prediction", **opts),
            "delta": W.FloatSlider(value=delta, description="Huber \u03b4", **(opts | dict(min=0.1, max=5.0))),
            "outlier": W.FloatSlider(value=outlier, description="outlier", **opts),
        }
        self._loss.observe(self._on_loss, names="value")
        for s in self._sliders.values():
            s.observe(self._on_change, names="value")
        s = self._sliders
        return [W.HBox([self._loss, s["delta"]]), W.HBox([s["target"], s["prediction"]]), s["outlier"]]

    def _on_loss(self, change):
        t = self._sliders["target"]
        self._hold, held = True, self._hold
        try:
            if change["new"] == "bce":      # the target is a probability: the slider clamps into [0, 1]
                t.min, t.max = 0.0, 1.0
            else:
                t.max, t.min = self._limit, -self._limit
        finally:
            self._hold = held
        self.update()

    # -- the controls, as properties
    def _get(self, k):
        return float(self._sliders[k].value)

    def _set(self, k, v):
        s = self._sliders[k]
        why = " (bce needs a probability)" if k == "target" and self.loss == "bce" else ""
        s.value = self._in_range(k, v, s.min, s.max, why)

    target = property(lambda self: self._get("target"), lambda self, v: self._set("target", v),
                      doc="The fixed target y (a probability in [0, 1] for bce).")
    prediction = property(lambda self: self._get("prediction"), lambda self, v: self._set("prediction", v),
                          doc="The prediction (the logit s for bce).")
    delta = property(lambda self: self._get("delta"), lambda self, v: self._set("delta", v),
                     doc="Huber's threshold delta.")
    outlier = property(lambda self: self._get("outlier"), lambda self, v: self._set("outlier", v),
                       doc="Position of the outlier in the outlier panel.")

    @property
    def loss(self) -> str:
        return self._loss.value

    @loss.setter
    def loss(self, name):
        if name not in LOSSES:
            raise ValueError(f"LossExplorer: unknown loss {name!r}; choose one of {list(LOSSES)}.")
        self._loss.value = name

    def set(self, loss=None, target=None, prediction=None, delta=None, outlier=None):
        """Set several controls at once and redraw once."""
        self._hold = True
        try:
            if loss is not None:
                self.loss = loss
            for k, v in (("target", target), ("prediction", prediction), ("delta", delta), ("outlier", outlier)):
                if v is not None:
                    self._set(k, v)
        finally:
            self._hold = False
        self.update()
        return self

    # -- the numbers
    def value(self, prediction=None):
        """``(loss, gradient)`` of the current loss for one prediction (default: the slider's)."""
        p = self.prediction if prediction is None else float(prediction)
        loss, grad = _call(self.loss, np.array([p]), np.array([self.target]), self.delta)
        return loss, float(grad[0])

    def curves(self, predictions):
        """Loss and gradient at each of ``predictions`` (1-D): two arrays of that shape."""
        ps = np.asarray(predictions, dtype=float).ravel()
        out = np.array([self.value(p) for p in ps])
        return out[:, 0], out[:, 1]

    def points(self):
        """The outlier panel's data: the inliers followed by the outlier, shape (n,)."""
        return np.append(self.inliers, self.outlier)

    def fits(self, with_outlier=True):
        """The constant fitted to the points by each of ``"mse"``, ``"mae"``, ``"huber"``."""
        y = self.points() if with_outlier else self.inliers
        return {name: fit_constant(y, name, self.delta) for name in ("mse", "mae", "huber")}

    def _grid(self):
        if self.loss == "bce":
            lo, hi = -8.0, 8.0
        else:
            span = max(3.0, 2 * self.delta, abs(self.prediction - self.target) + 1.0)
            lo, hi = self.target - span, self.target + span
        return np.linspace(min(lo, self.prediction), max(hi, self.prediction), 241)

    def summary(self):
        loss, grad = self.value()
        name = self.loss + (f" (delta {_num(self.delta)})" if self.loss == "huber" else "")
        fits, base = self.fits(), self.fits(with_outlier=False)
        return "\n".join([
            f"loss {name}, target {_num(self.target)}, {LOSSES[self.loss][1]} {_num(self.prediction)}: "
            f"loss {_num(loss, 4)}, gradient {_num(grad, 4)}",
            f"outlier at {_num(self.outlier)}: fitted constant MSE {_num(fits['mse'], 3)}, MAE {_num(fits['mae'], 3)}, "
            f"Huber {_num(fits['huber'], 3)} (without it: MSE {_num(base['mse'], 3)}, MAE {_num(base['mae'], 3)}, "
            f"Huber {_num(base['huber'], 3)})"])

    def figure(self):
        from matplotlib.figure import Figure
        fig = Figure(figsize=(10.5, 3.4))
        ax_l, ax_g, ax_o = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.1]})
        ps = self._grid()
        ls, gs = self.curves(ps)
        loss, grad = self.value()
        xlabel = LOSSES[self.loss][1]
        ax_l.plot(ps, ls, lw=2)
        ax_l.plot(self.prediction, loss, "o", color="C3", ms=8)
        ax_l.set(xlabel=xlabel, ylabel="loss", title=f"{_LONG[self.loss]}, target {self.target:.2f}")
        ax_g.plot(ps, gs, lw=2, color="C1")
        ax_g.plot(self.prediction, grad, "o", color="C3", ms=8)
        ax_g.axhline(0, color="grey", lw=0.6)
        ax_g.set(xlabel=xlabel, ylabel="gradient d loss / d " + ("s" if self.loss == "bce" else "prediction"),
                 title=f"gradient {grad:.3f} at {self.prediction:.2f}")
        for ax in (ax_l, ax_g):
            ax.axvline(self.target, color="grey", lw=0.8, ls=":")
            ax.grid(alpha=0.3)
        y = self.points()
        fits = self.fits()
        ax_o.plot(np.arange(len(self.inliers)), self.inliers, "ko", ms=6, label="points")
        ax_o.plot(len(self.inliers), self.outlier, "*", color="C3", ms=14, mec="k", label="outlier")
        for k, (name, style) in enumerate((("mse", "-"), ("mae", ":"), ("huber", "--"))):
            ax_o.axhline(fits[name], color=f"C{k}", ls=style, lw=2, label=f"{name.upper() if name != 'huber' else 'Huber'}"
                         f" fit {fits[name]:.2f}")
        ax_o.set(xlabel="point", ylabel="value", xticks=range(len(y)),
                 title=f"constant fitted to {len(y)} points (Huber \u03b4 = {self.delta:.2f})")
        ax_o.legend(fontsize=12, loc="upper left", framealpha=0.9)
        ax_o.grid(alpha=0.3)
        fig.tight_layout()
        return fig
