r"""Widget of Chapter 4: race bpkit's optimizers on 2-D test functions with known minima.

The test functions (:data:`SURFACES`, built by :func:`surface`):

* ``"quadratic"``: $f(x, y) = \tfrac12 (x^2 + \kappa y^2)$, minimum 0 at the origin; the Hessian
  has eigenvalues 1 and $\kappa$, so $\kappa$ is the condition number and $L = \max(1, \kappa)$.
* ``"rosenbrock"``: $f(x, y) = (1 - x)^2 + 100 (y - x^2)^2$, minimum 0 at $(1, 1)$ at the end of
  a curved, narrow valley.
* ``"saddle"``: $f(x, y) = \tfrac12 x^2 + \tfrac14 y^4 - \tfrac12 y^2$, a saddle point at the
  origin and two minima $-\tfrac14$ at $(0, \pm 1)$.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..optim import SGD, Adam, RMSprop, _is_number
from ._base import Widget as _Widget

__all__ = ["CONVERGED", "OPTIMIZERS", "SURFACES", "OptimizerRace", "Surface", "draw_contours", "make_optimizer", "run_optimizer",
           "surface"]

#: The racers, in the order they are drawn.
OPTIMIZERS = ("SGD", "momentum", "Nesterov", "RMSprop", "Adam")
_COLOURS = {"SGD": "#1f77b4", "momentum": "#ff7f0e", "Nesterov": "#2ca02c", "RMSprop": "#9467bd", "Adam": "#d62728"}

#: A racer closer than this to a minimum has converged.
CONVERGED = 1e-3

#: Names accepted by :func:`surface`.
SURFACES = ("quadratic", "rosenbrock", "saddle")


@dataclass
class Surface:
    """A test function of two variables: ``f(p) -> float``, ``grad(p) -> (2,)``, its minima and a view."""

    name: str
    f: Callable
    grad: Callable
    minima: tuple
    start: tuple
    xlim: tuple
    ylim: tuple
    formula: str

    def distance(self, p):
        """Distance from ``p`` to the nearest minimum."""
        return float(min(np.hypot(p[0] - m[0], p[1] - m[1]) for m in self.minima))


def surface(name, kappa=10.0):
    """The test function ``name`` (one of :data:`SURFACES`); ``kappa`` is the quadratic's condition number."""
    if name not in SURFACES:
        raise ValueError(f"surface: unknown function {name!r}; choose one of {list(SURFACES)}.")
    if name == "quadratic":
        if not _is_number(kappa) or not 1 <= kappa <= 1000:
            raise ValueError(f"surface: 'kappa' must be a number in [1, 1000], got {kappa!r}. Use e.g. kappa=10.")
        k = float(kappa)
        return Surface("quadratic", lambda p: 0.5 * (p[0] ** 2 + k * p[1] ** 2),
                       lambda p: np.array([p[0], k * p[1]]), ((0.0, 0.0),), (-4.0, 1.5), (-4.5, 4.5), (-2.0, 2.0),
                       f"f = (x^2 + {k:g} y^2) / 2")
    if name == "rosenbrock":
        return Surface("rosenbrock", lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2,
                       lambda p: np.array([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2),
                                           200 * (p[1] - p[0] ** 2)]),
                       ((1.0, 1.0),), (-1.5, 2.0), (-2.0, 2.0), (-1.0, 3.0), "f = (1 - x)^2 + 100 (y - x^2)^2")
    return Surface("saddle", lambda p: 0.5 * p[0] ** 2 + 0.25 * p[1] ** 4 - 0.5 * p[1] ** 2,
                   lambda p: np.array([p[0], p[1] ** 3 - p[1]]), ((0.0, 1.0), (0.0, -1.0)), (-2.0, 0.01),
                   (-2.5, 2.5), (-1.6, 1.6), "f = x^2/2 + y^4/4 - y^2/2")


def make_optimizer(name, lr, momentum=0.9, betas=(0.9, 0.999)):
    """The bpkit optimizer behind racer ``name`` (one of :data:`OPTIMIZERS`).

    ``"momentum"`` and ``"Nesterov"`` are :class:`bpkit.optim.SGD` with ``momentum`` (plain SGD
    when it is 0); ``"RMSprop"`` uses ``alpha = betas[1]``; ``"Adam"`` uses ``betas``.
    """
    if name == "SGD":
        return SGD(lr=lr)
    if name in ("momentum", "Nesterov"):
        return SGD(lr=lr, momentum=momentum, nesterov=name == "Nesterov" and momentum > 0)
    if name == "RMSprop":
        return RMSprop(lr=lr, alpha=betas[1])
    if name == "Adam":
        return Adam(lr=lr, betas=betas)
    raise ValueError(f"make_optimizer: unknown optimizer {name!r}; choose from {list(OPTIMIZERS)}.")


def run_optimizer(surf, optimizer, steps, start=None, limit=1e6):
    """Run ``optimizer`` on ``surf`` from ``start`` for ``steps`` steps; the points, shape (k + 1, 2).

    One parameter array ``p`` of shape (2,) is updated in place by ``optimizer.step({"p": p},
    {"p": grad(p)})``; ``k`` is the number of steps taken, ``steps`` unless the run stops early
    (k < ``steps``) because ``p`` left the box ``|p| < limit`` or stopped being finite: it diverged.
    """
    p = np.array(surf.start if start is None else start, dtype=np.float64)
    path = [p.copy()]
    for _ in range(int(steps)):
        optimizer.step({"p": p}, {"p": surf.grad(p)})
        if not np.all(np.isfinite(p)) or np.max(np.abs(p)) > limit:
            break
        path.append(p.copy())
    return np.array(path)


def _g(v):
    v = float(v)
    return f"{(v if v != 0 else 0.0):.4g}"


class OptimizerRace(_Widget):
    r"""Race SGD, momentum, Nesterov, RMSprop and Adam on a 2-D test function.

    Every racer is the bpkit optimizer from :func:`make_optimizer`, started at the same point
    and run for ``steps`` steps with the same learning rate ``lr``; momentum uses ``momentum``,
    Adam ``betas = (beta1, beta2)``, RMSprop ``alpha = beta2``. The picture shows the contours
    of $f$, the minima (stars) and the trajectories; the summary lists each racer's final
    point, $f$ there and the distance to the nearest minimum, or the step where it diverged.

    Controls: a menu for the function, sliders ``lr`` (log scale), ``momentum``, ``beta1``,
    ``beta2``, ``steps`` and ``kappa`` (the quadratic's condition number), and a selection of
    racers. Python API: these as properties, :meth:`set`, :attr:`trajectories`,
    :meth:`result`, :meth:`summary`, :meth:`figure`.
    """

    def values(self) -> dict:
        """The controls, as ``set()`` takes them."""
        return {k: (list(c.value) if k == "racers" else c.value) for k, c in self._c.items()}

    def __init__(self, function="quadratic", lr=0.05, momentum=0.9, beta1=0.9, beta2=0.999, steps=100,
                 kappa=10.0, racers=OPTIMIZERS, start=None):
        self._init = dict(function=function, lr=lr, momentum=momentum, beta1=beta1, beta2=beta2, steps=steps,
                          kappa=kappa, racers=racers)
        self.start = None if start is None else tuple(float(s) for s in start)
        self._init_widgets()
        self.set(**self._init)

    def _controls(self):
        W = self._W
        opts = dict(continuous_update=False, layout=W.Layout(width="300px"))
        self._c = {
            "function": W.Dropdown(options=list(SURFACES), value="quadratic", description="function"),
            "lr": W.FloatLogSlider(value=0.05, base=10, min=-4, max=0.5, step=0.01, description="lr",
                                   readout_format=".4g", **opts),
            "momentum": W.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="momentum", **opts),
            "beta1": W.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="beta1", **opts),
            "beta2": W.FloatSlider(value=0.999, min=0.5, max=0.9999, step=0.0001, description="beta2",
                                   readout_format=".4f", **opts),
            "steps": W.IntSlider(value=100, min=1, max=2000, step=1, description="steps", **opts),
            "kappa": W.FloatSlider(value=10.0, min=1.0, max=100.0, step=1.0, description="kappa", **opts),
            "racers": W.SelectMultiple(options=list(OPTIMIZERS), value=list(OPTIMIZERS), description="racers",
                                       rows=5),
        }
        for w in self._c.values():
            w.observe(self._on_change, names="value")
        c = self._c
        return [W.HBox([c["function"], c["lr"], c["steps"]]), W.HBox([c["momentum"], c["beta1"], c["beta2"]]),
                W.HBox([c["kappa"], c["racers"]])]

    # -- controls as properties ------------------------------------------------------------
    def _set(self, key, value):
        w = self._c[key]
        if key == "function":
            if value not in SURFACES:
                raise ValueError(f"OptimizerRace: unknown function {value!r}; choose one of {list(SURFACES)}.")
        elif key == "racers":
            value = [value] if isinstance(value, str) else list(value)
            bad = [r for r in value if r not in OPTIMIZERS]
            if bad or not value:
                raise ValueError(f"OptimizerRace: racers must be a non-empty selection of {list(OPTIMIZERS)}, "
                                 f"got {value!r}.")
            value = [r for r in OPTIMIZERS if r in value]
        else:
            if not _is_number(value):
                raise TypeError(f"OptimizerRace: {key} must be a number, got {type(value).__name__} {value!r}.")
            if key == "steps" and int(value) != value:
                raise TypeError(f"OptimizerRace: steps must be a whole number, got {value!r}.")
            lo, hi = (10 ** w.min, 10 ** w.max) if key == "lr" else (w.min, w.max)
            if not lo - 1e-12 <= value <= hi + 1e-12:
                raise ValueError(f"OptimizerRace: {key} = {value!r} is outside the slider range [{lo:g}, {hi:g}].")
        if key == "racers":
            w.value = tuple(value)
        else:
            w.value = value

    def set(self, **controls):
        """Set several controls at once (``lr=0.1, steps=50, ...``) and recompute once; returns self."""
        unknown = sorted(set(controls) - set(self._c))
        if unknown:
            raise ValueError(f"OptimizerRace.set: unknown control(s) {unknown}; the controls are {sorted(self._c)}.")
        self._hold = True
        try:
            for k, v in controls.items():
                self._set(k, v)
        finally:
            self._hold = False
        self.update()
        return self

    function = property(lambda self: self._c["function"].value, lambda self, v: self._set("function", v),
                        doc="The test function, one of SURFACES.")
    lr = property(lambda self: float(self._c["lr"].value), lambda self, v: self._set("lr", v),
                  doc="The learning rate shared by all racers.")
    momentum = property(lambda self: float(self._c["momentum"].value), lambda self, v: self._set("momentum", v),
                        doc="Momentum of the momentum and Nesterov racers.")
    beta1 = property(lambda self: float(self._c["beta1"].value), lambda self, v: self._set("beta1", v),
                     doc="Adam's beta1.")
    beta2 = property(lambda self: float(self._c["beta2"].value), lambda self, v: self._set("beta2", v),
                     doc="Adam's beta2 and RMSprop's alpha.")
    steps = property(lambda self: int(self._c["steps"].value), lambda self, v: self._set("steps", v),
                     doc="Number of steps per racer.")
    kappa = property(lambda self: float(self._c["kappa"].value), lambda self, v: self._set("kappa", v),
                     doc="Condition number of the quadratic.")
    racers = property(lambda self: tuple(self._c["racers"].value), lambda self, v: self._set("racers", v),
                      doc="The optimizers shown.")

    # -- the race ----------------------------------------------------------------------------
    @property
    def surface(self) -> Surface:
        """The current test function."""
        return surface(self.function, self.kappa)

    def _recompute(self):
        s = self.surface
        self.trajectories = {name: run_optimizer(
            s, make_optimizer(name, self.lr, self.momentum, (self.beta1, self.beta2)), self.steps, self.start)
            for name in self.racers}

    def result(self, name):
        """``{"point", "f", "distance", "diverged_at", "status"}`` of racer ``name`` after the race.

        ``status`` is ``"converged"`` (closer than :data:`CONVERGED` to a minimum), ``"diverged"``
        (left the box, or ended farther from the minima than it started) or ``"on its way"``.
        """
        if name not in self.trajectories:
            raise ValueError(f"OptimizerRace.result: {name!r} is not racing; the racers are {list(self.racers)}.")
        path, s = self.trajectories[name], self.surface
        p = path[-1]
        diverged = len(path) - 1 < self.steps
        d, d0 = s.distance(p), s.distance(path[0])
        status = ("diverged" if diverged or d > d0 else "converged" if d < CONVERGED
                  else "on its way")
        return {"point": (float(p[0]), float(p[1])), "f": float(s.f(p)), "distance": d,
                "diverged_at": len(path) if diverged else None, "status": status}

    def summary(self) -> str:
        s = self.surface
        head = (f"{s.formula}, {self.steps} steps from ({_g(self.start_point[0])}, {_g(self.start_point[1])}), "
                f"lr {_g(self.lr)}, momentum {_g(self.momentum)}, betas ({_g(self.beta1)}, {_g(self.beta2)})")
        lines = [head]
        for name in self.racers:
            r = self.result(name)
            if r["diverged_at"]:
                lines.append(f"{name:9s} diverged at step {r['diverged_at']}")
            else:
                x, y = r["point"]
                lines.append(f"{name:9s} ({_g(x)}, {_g(y)})  f {_g(r['f'])}  distance {_g(r['distance'])}  "
                             f"{r['status']}")
        return "\n".join(lines)

    @property
    def start_point(self):
        """Where every racer starts: ``start`` if given, else the function's default start."""
        return self.start if self.start is not None else self.surface.start

    def figure(self, ax=None):
        """Contours of the function, its minima and every racer's path."""
        from matplotlib.figure import Figure
        s = self.surface
        fig = None
        if ax is None:
            fig = Figure(figsize=(6.4, 4.2))
            ax = fig.add_subplot()
        draw_contours(ax, s, start=self.start_point)
        for name in self.racers:
            path = self.trajectories[name]
            ax.plot(path[:, 0], path[:, 1], "-", color=_COLOURS[name], lw=1.3, label=name, marker=".", ms=2.5)
        ax.legend(fontsize=12, loc="upper right")
        ax.set_title(f"{s.formula}, lr = {_g(self.lr)}, {self.steps} steps", fontsize=12)
        return fig if fig is not None else ax.figure


def draw_contours(ax, s, levels=18, start=None):
    """Log-spaced contours of surface ``s`` on ``ax``, the minima as stars and the start as a dot.

    ``start`` defaults to the surface's own starting point.
    """
    xs = np.linspace(*s.xlim, 201)
    ys = np.linspace(*s.ylim, 201)
    X, Y = np.meshgrid(xs, ys)
    Z = s.f(np.array([X, Y]))
    fmin = min(s.f(np.array(m)) for m in s.minima)
    ax.contour(X, Y, np.log1p(Z - fmin), levels=levels, colors="0.7", linewidths=0.7)
    for m in s.minima:
        ax.plot(*m, marker="*", color="k", ms=11, ls="none")
    ax.plot(*(s.start if start is None else start), "o", color="k", ms=4)
    ax.set_xlim(*s.xlim)
    ax.set_ylim(*s.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")

