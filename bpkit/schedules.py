r"""Learning-rate schedules. One contract for all of them:

    sched = StepLR(opt, step_size=30)      # sets opt.lr = lr_at(0) now
    for t in ...:
        opt.step(params, grads)
        sched.step()                        # t -> t + 1, sets opt.lr = lr_at(t + 1)

A schedule holds the optimizer, its ``base_lr`` (``opt.lr`` when the schedule was made) and
``last_epoch``, the number of ``step()`` calls so far (PyTorch's name; count epochs or
optimizer steps, whichever you call it after). ``lr_at(t)`` is the pure formula, handy to
plot; ``lr`` is the current value. With base rate $\eta_0$ and counter $t = 0, 1, \dots$:

* :class:`StepLR`: $\eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}$, as ``torch.optim.lr_scheduler.StepLR``.
* :class:`CosineLR`: $\eta_t = \eta_{\min} + (\eta_0 - \eta_{\min})\,\tfrac12\bigl(1 + \cos(\pi t / T)\bigr)$,
  as ``CosineAnnealingLR`` (whose recursive form equals this closed form).
* :class:`LambdaLR`: $\eta_t = \eta_0\, f(t)$ for any factor function $f$, as ``LambdaLR``.
* :class:`WarmupCosineLR`: ``LambdaLR`` with the factor :func:`warmup_cosine`: linear warm-up
  $f(t) = t / W$ for $t < W$, then a cosine from 1 down to ``min_factor`` at $t = T$, flat after.
"""

from __future__ import annotations

import math

from .optim import _is_number

__all__ = ["CosineLR", "LambdaLR", "Schedule", "StepLR", "WarmupCosineLR", "warmup_cosine"]


def _int(owner, name, value, minimum, example):
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise TypeError(f"{owner}: '{name}' must be an int, got {type(value).__name__} {value!r}. "
                        f"Pass a whole number, e.g. {name}={example}.")
    if int(value) < minimum:
        raise ValueError(f"{owner}: '{name}' must be >= {minimum}, got {value!r}. Use e.g. {name}={example}.")
    return int(value)


def _number(owner, name, value, low, example, strict=False):
    if not _is_number(value):
        raise TypeError(f"{owner}: '{name}' must be a number, got {type(value).__name__} {value!r}. "
                        f"Use e.g. {name}={example}.")
    if not math.isfinite(value) or value < low or (strict and value == low):
        raise ValueError(f"{owner}: '{name}' must be a finite number {'>' if strict else '>='} {low}, "
                         f"got {value!r}. Use e.g. {name}={example}.")
    return float(value)


def warmup_cosine(t, warmup, total, min_factor=0.0):
    r"""The factor of a linear warm-up followed by a cosine decay, for step ``t = 0, 1, ...``.

    $$
    f(t) = \begin{cases} t / t_{\mathrm{warm}} & t < t_{\mathrm{warm}},\\
    m + (1 - m)\,\tfrac12\bigl(1 + \cos(\pi\,\tfrac{t - t_{\mathrm{warm}}}{t_{\max} - t_{\mathrm{warm}}})\bigr)
      & t_{\mathrm{warm}} \le t \le t_{\max},\\
    m & t > t_{\max}, \end{cases}
    $$

    with $t_{\mathrm{warm}}$ = ``warmup``, $t_{\max}$ = ``total`` and $m$ = ``min_factor``. It rises
    from 0 to 1 over the first $t_{\mathrm{warm}}$ steps, then falls along half a cosine to $m$ at
    step $t_{\max}$ (the formula of Hugging Face's ``get_cosine_schedule_with_warmup``, with a
    floor). Multiply by the base learning rate to get the rate.
    """
    owner = "warmup_cosine"
    t = _int(owner, "t", t, 0, 10)
    warmup = _int(owner, "warmup", warmup, 0, 100)
    total = _int(owner, "total", total, 1, 1000)
    if total <= warmup:
        raise ValueError(f"{owner}: 'total' ({total}) must exceed 'warmup' ({warmup}); the cosine needs at least "
                         "one step. Use e.g. warmup=100, total=1000.")
    m = _number(owner, "min_factor", min_factor, 0.0, 0.0)
    if m > 1:
        raise ValueError(f"{owner}: 'min_factor' must lie in [0, 1], got {min_factor!r}. Use e.g. min_factor=0.1.")
    if t < warmup:
        return t / warmup
    progress = min(1.0, (t - warmup) / (total - warmup))
    return m + (1 - m) * 0.5 * (1 + math.cos(math.pi * progress))


class Schedule:
    """Base class: keeps ``optimizer``, ``base_lr`` and ``last_epoch``; subclasses implement ``lr_at(t)``."""

    def __init__(self, optimizer):
        if not hasattr(optimizer, "lr") or isinstance(optimizer, type):
            raise TypeError(f"{type(self).__name__}: 'optimizer' must be an optimizer instance with an 'lr' "
                            f"attribute, e.g. SGD(lr=0.1), got {getattr(optimizer, '__name__', type(optimizer).__name__)}.")
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_epoch = 0

    def _start(self):
        self.optimizer.lr = self.lr_at(0)

    def lr_at(self, t):
        """The learning rate after ``t`` calls of :meth:`step`."""
        raise NotImplementedError(f"{type(self).__name__}: Schedule is a base class; use StepLR, CosineLR, "
                                  "LambdaLR or WarmupCosineLR, or implement lr_at(t).")

    def step(self):
        """Advance the counter by one and set ``optimizer.lr``; returns the new rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)
        return self.optimizer.lr

    @property
    def lr(self) -> float:
        """The current learning rate, ``lr_at(last_epoch)``."""
        return self.lr_at(self.last_epoch)

    def values(self, n):
        """``[lr_at(0), ..., lr_at(n - 1)]``, for plots; does not touch the optimizer."""
        return [self.lr_at(t) for t in range(_int(type(self).__name__ + ".values", "n", n, 0, 100))]

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k not in ("optimizer", "last_epoch", "fn"))
        return f"{type(self).__name__}({args}, last_epoch={self.last_epoch})"


class StepLR(Schedule):
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps: $\eta_t = \eta_0\,\gamma^{\lfloor t/s \rfloor}$."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        super().__init__(optimizer)
        self.step_size = _int("StepLR", "step_size", step_size, 1, 30)
        self.gamma = _number("StepLR", "gamma", gamma, 0.0, 0.1, strict=True)
        self._start()

    def lr_at(self, t):
        """$\\eta_0 \\gamma^{\\lfloor t / s \\rfloor}$."""
        return self.base_lr * self.gamma ** (t // self.step_size)


class CosineLR(Schedule):
    r"""Cosine annealing from $\eta_0$ to ``eta_min`` over ``T_max`` steps.

    $\eta_t = \eta_{\min} + (\eta_0 - \eta_{\min})\,\tfrac12\bigl(1 + \cos(\pi t / T_{\max})\bigr)$;
    the value at $t = T_{\max}$ is ``eta_min``. Like ``torch.optim.lr_scheduler.CosineAnnealingLR``
    the formula continues past $T_{\max}$ and rises again (stop calling ``step()`` there, or
    use :class:`WarmupCosineLR`, which stays at its floor).
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        super().__init__(optimizer)
        self.T_max = _int("CosineLR", "T_max", T_max, 1, 100)
        self.eta_min = _number("CosineLR", "eta_min", eta_min, 0.0, 0.0)
        self._start()

    def lr_at(self, t):
        """$\\eta_{\\min} + (\\eta_0 - \\eta_{\\min})(1 + \\cos(\\pi t / T_{\\max}))/2$."""
        return self.eta_min + (self.base_lr - self.eta_min) * 0.5 * (1 + math.cos(math.pi * t / self.T_max))


class LambdaLR(Schedule):
    r"""$\eta_t = \eta_0\, f(t)$ for a factor function ``fn(t) -> float``, as ``torch``'s ``LambdaLR``."""

    def __init__(self, optimizer, fn):
        super().__init__(optimizer)
        if not callable(fn):
            raise TypeError(f"LambdaLR: 'fn' must be a function t -> factor, got {type(fn).__name__}. "
                            "Pass e.g. fn=lambda t: 0.95 ** t.")
        self.fn = fn
        self._start()

    def lr_at(self, t):
        """$\\eta_0 f(t)$."""
        return self.base_lr * float(self.fn(t))


class WarmupCosineLR(LambdaLR):
    """Linear warm-up for ``warmup`` steps, then a cosine decay to ``min_factor * base_lr`` at ``total``.

    The factor is :func:`warmup_cosine`; note that the rate is 0 at ``t = 0``.
    """

    def __init__(self, optimizer, warmup, total, min_factor=0.0):
        warmup_cosine(0, warmup, total, min_factor)          # validates the arguments
        self.warmup, self.total, self.min_factor = int(warmup), int(total), float(min_factor)
        super().__init__(optimizer, lambda t: warmup_cosine(t, self.warmup, self.total, self.min_factor))
