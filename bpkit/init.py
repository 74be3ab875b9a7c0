r"""Weight initializers: ``init(rng, fan_in, fan_out, dtype) -> W`` of shape (fan_in, fan_out).

All draw from an explicit ``np.random.Generator``. The variance rules come from keeping
the variance of activations (forward) or gradients (backward) constant across layers:

* Glorot/Xavier (Glorot & Bengio, 2010): $\mathrm{Var}(W) = 2 / (D + M)$, for tanh-like
  activations ($\phi'(0) = 1$; the sigmoid, with $\sigma'(0) = 1/4$, is not one).
* He/Kaiming (He et al., 2015): $\mathrm{Var}(W) = 2 / D$, for ReLU, which zeroes half its input.
* LeCun: $\mathrm{Var}(W) = 1 / D$.

Normal and uniform variants have the same variance (uniform on $[-a, a]$ has variance $a^2/3$).
"""

from __future__ import annotations

import numpy as np

__all__ = ["INITIALIZERS", "get_initializer", "he_normal", "he_uniform", "lecun_normal",
           "scaled", "xavier_normal", "xavier_uniform", "zeros"]


def _check_rng(rng, func):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: 'rng' must be a np.random.Generator, got {type(rng).__name__}. "
                        "Create one with rng = np.random.default_rng(0) and pass it explicitly.")


def _check_args(func, fan_in, fan_out, dtype):
    """Validate the sizes and dtype shared by every initializer (before any division by them)."""
    for name, v in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{func}: '{name}' must be a positive int, got {v!r}. For a dense layer "
                             "pass fan_in = D (input features) and fan_out = M (output units), "
                             "giving W of shape (D, M).")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise TypeError(f"{func}: 'dtype' must be a float dtype, got {dtype if dt is None else dt}; integer "
                        "weights would round to 0. Pass dtype=np.float64 (or np.float32).")


def _normal(rng, fan_in, fan_out, dtype, var, func):
    """Normal draws with variance ``var(fan_in, fan_out)``, computed after the sizes are checked."""
    _check_rng(rng, func)
    _check_args(func, fan_in, fan_out, dtype)
    return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(var(fan_in, fan_out))).astype(dtype)


def _uniform(rng, fan_in, fan_out, dtype, var, func):
    _check_rng(rng, func)
    _check_args(func, fan_in, fan_out, dtype)
    a = np.sqrt(3.0 * var(fan_in, fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out)).astype(dtype)


def he_normal(rng, fan_in, fan_out, dtype=np.float64):
    r"""$W \sim \mathcal N(0, 2/D)$ with $D$ = ``fan_in``."""
    variance = lambda D, M: 2.0 / D                          # noqa: E731
    return _normal(rng, fan_in, fan_out, dtype, variance, "he_normal")


def he_uniform(rng, fan_in, fan_out, dtype=np.float64):
    r"""$W \sim \mathcal U(-a, a)$ with $a = \sqrt{6/D}$."""
    return _uniform(rng, fan_in, fan_out, dtype, lambda D, M: 2.0 / D, "he_uniform")


def xavier_normal(rng, fan_in, fan_out, dtype=np.float64):
    r"""$W \sim \mathcal N(0, 2/(D + M))$."""
    return _normal(rng, fan_in, fan_out, dtype, lambda D, M: 2.0 / (D + M), "xavier_normal")


def xavier_uniform(rng, fan_in, fan_out, dtype=np.float64):
    r"""$W \sim \mathcal U(-a, a)$ with $a = \sqrt{6/(D + M)}$."""
    return _uniform(rng, fan_in, fan_out, dtype, lambda D, M: 2.0 / (D + M), "xavier_uniform")


def lecun_normal(rng, fan_in, fan_out, dtype=np.float64):
    r"""$W \sim \mathcal N(0, 1/D)$."""
    return _normal(rng, fan_in, fan_out, dtype, lambda D, M: 1.0 / D, "lecun_normal")


def zeros(rng, fan_in, fan_out, dtype=np.float64):
    """All zeros: the classic mistake (every hidden unit stays identical). For demonstrations."""
    _check_args("zeros", fan_in, fan_out, dtype)
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


def scaled(init, gain):
    r"""An initializer drawing ``gain`` times the weights of ``init``: std multiplied by ``gain``.

    ``scaled("lecun", 2 ** 0.5)`` draws $\mathcal N(0, 2/D)$, He's rule. Useful to explore
    how the scale of the initial weights changes the statistics of a deep network.

    Parameters
    ----------
    init : str or callable, as accepted by :func:`get_initializer`.
    gain : float > 0
    """
    base = get_initializer(init, "scaled")
    if isinstance(gain, (bool, np.bool_)) or not isinstance(gain, (int, float, np.integer, np.floating)) \
            or not np.isfinite(gain) or gain <= 0:
        raise ValueError(f"scaled: 'gain' must be a finite number > 0, got {gain!r}.")
    name = init if isinstance(init, str) else getattr(init, "__name__", "custom")

    def init_fn(rng, fan_in, fan_out, dtype=np.float64):
        return (base(rng, fan_in, fan_out, dtype) * gain).astype(dtype, copy=False)

    init_fn.__name__ = f"{name}*{float(gain):g}"
    return init_fn
