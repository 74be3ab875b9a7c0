r"""Optimizers. One contract for all of them:

    opt.step(params, grads)

``params`` and ``grads`` are dicts ``name -> ndarray`` with the same keys and shapes, as a
model exposes them (``model.params``, ``model.grads``). ``step`` updates the ``params``
arrays **in place** (so the model sees the new values) and returns nothing. Any state
(momentum buffers, moment estimates, the step count for bias correction) is kept inside
the optimizer, per parameter name, created on the first step with the parameter's shape
and dtype. ``opt.state`` shows it; ``opt.reset()`` forgets it.

Update rules and defaults are those of ``torch.optim`` (PyTorch 2.x), written out in each
class, so a learner who moves on gets the same numbers. Only PyTorch's default variants exist:
SGD has no ``dampening`` (PyTorch's default ``dampening=0``), RMSprop no ``centered`` option
(PyTorch's default ``centered=False``) and Adam no ``amsgrad`` (default ``False``). With
gradient $g$, parameter $\theta$, learning rate $\eta$ and step $t = 1, 2, \dots$:

* SGD: $g \leftarrow g + \lambda\theta$; $v \leftarrow \mu v + g$ ($v = g$ at $t = 1$);
  $\theta \leftarrow \theta - \eta v$, or with Nesterov $\theta \leftarrow \theta - \eta (g + \mu v)$.
  With momentum the L2 term $\lambda\theta$ enters the velocity and is amplified by it.
* SGDW (Loshchilov & Hutter, 2019): as SGD, but the decay is decoupled from the gradient, as in
  AdamW: $\theta \leftarrow \theta(1 - \eta\lambda)$ before the SGD step, so the velocity holds
  only the loss's gradients. Without momentum SGD and SGDW take the same steps.
* RMSprop: $s \leftarrow \alpha s + (1-\alpha) g^2$; $\theta \leftarrow \theta - \eta g / (\sqrt s + \epsilon)$.
* Adam (Kingma & Ba, 2015): $m \leftarrow \beta_1 m + (1-\beta_1) g$, $v \leftarrow \beta_2 v + (1-\beta_2) g^2$,
  $\theta \leftarrow \theta - \eta\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}$;
  ``weight_decay`` adds $\lambda\theta$ to $g$ (L2).
* AdamW (Loshchilov & Hutter, 2019): as Adam, but the decay is decoupled from the gradient:
  $\theta \leftarrow \theta(1 - \eta\lambda)$ before the Adam step. Multiplying $\lambda$ by the
  learning rate $\eta$ is PyTorch's parametrization; in the paper's Algorithm 2 the decay is
  $\eta_t \lambda \theta$ with $\eta_t$ the schedule multiplier, not Adam's step size $\alpha$.
"""

from __future__ import annotations

import numpy as np

from ._checks import shape_str

__all__ = ["SGD", "SGDW", "RMSprop", "Adam", "AdamW", "Optimizer", "clip_grad_norm"]


def _check_pairs(func, params, grads):
    if not isinstance(params, dict) or not isinstance(grads, dict):
        raise TypeError(f"{func}: 'params' and 'grads' must be dicts name -> array (model.params, "
                        f"model.grads), got {type(params).__name__} and {type(grads).__name__}.")
    if set(params) != set(grads):
        missing = sorted(set(params) - set(grads))
        extra = sorted(set(grads) - set(params))
        raise ValueError(f"{func}: params and grads must have the same keys; missing grads for "
                         f"{missing}, grads without a param: {extra}. Did you run backward() "
                         "before step()?")
    for k, p in params.items():
        g = grads[k]
        if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
            raise TypeError(f"{func}: param '{k}' must be a float ndarray (updated in place), "
                            f"got {type(p).__name__}{'' if not isinstance(p, np.ndarray) else ' of ' + str(p.dtype)}. "
                            "Create parameters as float arrays, e.g. np.zeros(M) or W.astype(np.float64).")
        g = np.asarray(g)
        if g.shape != p.shape:
            raise ValueError(f"{func}: grad '{k}' must have the shape of its param "
                             f"{shape_str(p.shape)}, got {shape_str(g.shape)}."
                             + (" It looks transposed: d<var> must have the shape of <var>."
                                if g.shape == p.shape[::-1] else
                                " Pass model.params and model.grads of the same model, after backward()."))


#: What to suggest when a hyperparameter is out of range.
_TYPICAL = {"lr": "e.g. lr=0.1 for SGD or lr=1e-3 for Adam", "momentum": "e.g. momentum=0.9 (0 turns it off)",
            "weight_decay": "e.g. weight_decay=1e-4 (0 turns it off)", "eps": "e.g. eps=1e-8",
            "alpha": "e.g. alpha=0.99", "betas[0]": "e.g. betas=(0.9, 0.999)", "betas[1]": "e.g. betas=(0.9, 0.999)",
            "max_norm": "e.g. max_norm=1.0"}


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _positive(owner, name, value, allow_zero=False):
    if not _is_number(value):
        raise TypeError(f"{owner}: '{name}' must be a number, got {type(value).__name__} {value!r}. "
                        f"Pass a float, {_TYPICAL.get(name, 'e.g. 0.1')}.")
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{owner}: '{name}' must be a finite number {'>= 0' if allow_zero else '> 0'}, "
                         f"got {value!r}. Use {_TYPICAL.get(name, 'a positive value')}.")


def _unit(owner, name, value):
    if not _is_number(value):
        raise TypeError(f"{owner}: '{name}' must be a number in [0, 1), got {type(value).__name__} {value!r}. "
                        f"Use {_TYPICAL.get(name, 'e.g. 0.9')}.")
    if not 0 <= value < 1:
        raise ValueError(f"{owner}: '{name}' must lie in [0, 1), got {value!r}. "
                         f"Use {_TYPICAL.get(name, 'e.g. 0.9')}.")


class Optimizer:
    """Base class: validates the dicts, keeps ``state[name]``, counts steps per name."""

    def __init__(self, lr):
        _positive(type(self).__name__, "lr", lr)
        self.lr = lr
        self.state: dict[str, dict] = {}

    def reset(self):
        """Forget all state (buffers, moments, step counts)."""
        self.state.clear()

    def step(self, params, grads):
        """Update every ``params[name]`` in place from ``grads[name]``."""
        _check_pairs(f"{type(self).__name__}.step", params, grads)
        for name, p in params.items():
            st = self.state.setdefault(name, {"t": 0})
            st["t"] += 1
            self._update(p, np.asarray(grads[name], dtype=p.dtype), st)

    def _update(self, p, g, st):
        raise NotImplementedError(f"{type(self).__name__}: Optimizer is a base class; use SGD, RMSprop, Adam "
                                  "or AdamW, or subclass it and implement _update(p, g, state).")

    def __repr__(self):
        args = ", ".join(f"{k}={v}" for k, v in vars(self).items() if k != "state")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay."""

    _decoupled = False

    def __init__(self, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        name = type(self).__name__
        _unit(name, "momentum", momentum)
        _positive(name, "weight_decay", weight_decay, allow_zero=True)
        if nesterov and momentum == 0:
            raise ValueError(f"{name}: nesterov=True needs momentum > 0 (as in torch.optim.SGD), got "
                             f"momentum={momentum!r}. Pass e.g. momentum=0.9, or nesterov=False.")
        self.momentum, self.nesterov, self.weight_decay = momentum, bool(nesterov), weight_decay

    def _update(self, p, g, st):
        if self.weight_decay:
            if self._decoupled:
                p *= 1 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * p
        if self.momentum:
            if "v" not in st:
                st["v"] = g.copy()
            else:
                st["v"] *= self.momentum
                st["v"] += g
            g = g + self.momentum * st["v"] if self.nesterov else st["v"]
        p -= self.lr * g


class SGDW(SGD):
    """SGD with decoupled weight decay (Loshchilov & Hutter's SGDW), the SGD sibling of AdamW.

    The weights shrink by ``1 - lr * weight_decay`` before each step, outside the momentum
    buffer; the default ``weight_decay=1e-2`` is AdamW's.
    """

    _decoupled = True

    def __init__(self, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=1e-2):
        super().__init__(lr, momentum, nesterov, weight_decay)


class RMSprop(Optimizer):
    """RMSprop: divide each step by a running root-mean-square of the gradient."""

    def __init__(self, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
        super().__init__(lr)
        _unit("RMSprop", "alpha", alpha)
        _positive("RMSprop", "eps", eps)
        _positive("RMSprop", "weight_decay", weight_decay, allow_zero=True)
        _unit("RMSprop", "momentum", momentum)
        self.alpha, self.eps, self.weight_decay, self.momentum = alpha, eps, weight_decay, momentum

    def _update(self, p, g, st):
        if self.weight_decay:
            g = g + self.weight_decay * p
        s = st.setdefault("square_avg", np.zeros_like(p))
        s *= self.alpha
        s += (1 - self.alpha) * g * g
        step = g / (np.sqrt(s) + self.eps)
        if self.momentum:
            buf = st.setdefault("momentum_buffer", np.zeros_like(p))
            buf *= self.momentum
            buf += step
            step = buf
        p -= self.lr * step


class Adam(Optimizer):
    """Adam with bias-corrected first and second moment estimates; L2 ``weight_decay``."""

    _decoupled = False

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr)
        name = type(self).__name__
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ValueError(f"{name}: 'betas' must be a pair (beta1, beta2), got {betas!r}. "
                             "Use e.g. betas=(0.9, 0.999).")
        _unit(name, "betas[0]", betas[0])
        _unit(name, "betas[1]", betas[1])
        _positive(name, "eps", eps)
        _positive(name, "weight_decay", weight_decay, allow_zero=True)
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def _update(self, p, g, st):
        b1, b2 = self.betas
        if self.weight_decay:
            if self._decoupled:
                p *= 1 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * p
        m = st.setdefault("m", np.zeros_like(p))
        v = st.setdefault("v", np.zeros_like(p))
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        t = st["t"]
        step_size = self.lr / (1 - b1 ** t)
        denom = np.sqrt(v) / np.sqrt(1 - b2 ** t)
        denom += self.eps
        p -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay; PyTorch's default ``weight_decay=0.01``."""

    _decoupled = True

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(lr, betas, eps, weight_decay)


def clip_grad_norm(grads, max_norm):
    r"""Scale all gradients together so their global L2 norm is at most ``max_norm``.

    The norm is taken over every array in ``grads`` as if they were one vector,
    $\|g\| = \sqrt{\sum_k \|g_k\|^2}$; if it exceeds ``max_norm``, every array is multiplied
    in place by ``max_norm / (norm + 1e-6)``, as ``torch.nn.utils.clip_grad_norm_`` does.
    The direction of the step is kept; only its length shrinks (Pascanu et al., 2013).

    Returns
    -------
    float
        The total norm *before* clipping (useful to log).
    """
    if not isinstance(grads, dict):
        raise TypeError(f"clip_grad_norm: 'grads' must be a dict name -> array, got {type(grads).__name__}. "
                        "Pass model.grads.")
    _positive("clip_grad_norm", "max_norm", max_norm)
    squares = [np.sum(np.square(g, dtype=np.float64))
               for g in grads.values()]
    total = float(np.sqrt(sum(float(q) for q in squares)))
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads.values():
            g *= coef
    return total
