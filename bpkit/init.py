r"""Weight initializers: ``init(rng, fan_in, fan_out, dtype) -> W`` of shape (fan_in, fan_out).

All draw from an explicit ``np.random.Generator``. The variance rules come from keeping
the variance of activations (forward) or gradients (backward) constant across layers:

* Glorot/Xavier (Glorot & Bengio, 2010): $\mathrm{Var}(W) = 2 / (D + M)$, for tanh/sigmoid.
* He/Kaiming (He et al., 2015): $\mathrm{Var}(W) = 2 / D$, for ReLU, which zeroes half its input.
* LeCun: $\mathrm{Var}(W) = 1 / D$.

Normal and uniform variants have the same variance (uniform on $[-a, a]$ has variance $a^2/3$).
"""

from __future__ import annotations

import numpy as np

__all__ = ["INITIALIZERS", "get_initializer", "he_normal", "he_uniform", "lecun_normal",
           "xavier_normal", "xavier_uniform", "zeros"]


def _check_rng(rng, func):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: 'rng' must be a np.random.Generator, got {type(rng).__name__}. "
                        "Create one with rng = np.random.default_rng(0) and pass it explicitly.")


def _normal(rng, fan_in, fan_out, dtype, var, func):
    _check_rng(rng, func)
    return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(var)).astype(dtype)


def _uniform(rng, fan_in, fan_out, dtype, var, func):
    _check_rng(rng, func)
    a = np.sqrt(3.0 * var)
    return rng.uniform(-a, a, size=(fan_in, fan_out)).astype(dtype)


def he_normal(rng, fan_in, fan_out, dtype=np.float64):
    r"""$W \sim \mathcal N(0, 2/D)$ with $D$ = ``fan_in``."""
    return _normal(rng, fan_in, fan_out, dtype, 2.0 / fan_in, "he_normal")


def he_uniform(rng, fan_in, fan_out, dtype=np.float64):
    r"""$W \sim \mathcal U(-a, a)$ with $a = \sqrt{6/D}$."""
    return _uniform(rng, fan_in, fan_out, dtype, 2.0 / fan_in, "he_uniform")


def xavier_normal(rng, fan_in, fan_out, dtype=np.float64):
    r"""$W \sim \mathcal N(0, 2/(D + M))$."""
    return _normal(rng, fan_in, fan_out, dtype, 2.0 / (fan_in + fan_out), "xavier_normal")


def xavier_uniform(rng, fan_in, fan_out, dtype=np.float64):
    r"""$W \sim \mathcal U(-a, a)$ with $a = \sqrt{6/(D + M)}$."""
    return _uniform(rng, fan_in, fan_out, dtype, 2.0 / (fan_in + fan_out), "xavier_uniform")


def lecun_normal(rng, fan_in, fan_out, dtype=np.float64):
    r"""$W \sim \mathcal N(0, 1/D)$."""
    return _normal(rng, fan_in, fan_out, dtype, 1.0 / fan_in, "lecun_normal")


def zeros(rng, fan_in, fan_out, dtype=np.float64):
    """All zeros: the classic mistake (every hidden unit stays identical). For demonstrations."""
    return np.zeros((fan_in, fan_out), dtype=dtype)


INITIALIZERS = {
    "he": he_normal, "he_normal": he_normal, "he_uniform": he_uniform,
    "xavier": xavier_normal, "xavier_normal": xavier_normal, "xavier_uniform": xavier_uniform,
    "glorot": xavier_normal, "lecun": lecun_normal, "zeros": zeros,
}


def get_initializer(init, owner="get_initializer"):
    """Return the initializer for a name in :data:`INITIALIZERS` or a callable as it is."""
    if callable(init):
        return init
    if isinstance(init, str) and init in INITIALIZERS:
        return INITIALIZERS[init]
    raise ValueError(f"{owner}: unknown init {init!r}. Use one of {sorted(INITIALIZERS)} or a "
                     "callable init(rng, fan_in, fan_out, dtype) -> array of shape (fan_in, fan_out).")
