r"""Gradient checking with centred finite differences: one module for tests, chapters and exercises.

For a scalar function $f$ the centred difference

$$\frac{\partial f}{\partial x_k} \approx \frac{f(x + h e_k) - f(x - h e_k)}{2h}$$

has error $O(h^2)$ (a one-sided difference has $O(h)$). For a layer with array output
$y = f(x)$ and upstream gradient $dy$, we check the vector-Jacobian product instead: the
gradient of the scalar $\sum y \odot dy$, which is exactly what ``backward(dy)`` returns.

Always in float64: with float32's 7 significant digits, rounding in $f(x \pm h)$ swamps
the $O(h^2)$ truncation error for any useful $h$.
"""

from __future__ import annotations

import numpy as np

from ._checks import shape_str

__all__ = ["GradientCheckError", "check_gradients", "check_module", "numerical_gradient",
           "numerical_vjp", "rel_error"]


FLOOR = 1e-3
#: The rounding noise of one central difference, in machine epsilons of the function's size
#: (each output is computed to a few ulps; the margin covers deep compositions such as BPTT).
NOISE_ULPS = 32


class GradientCheckError(AssertionError):
    """Raised by :func:`check_gradients` when an analytic gradient disagrees with the numerical one."""


def rel_error(a, b, eps=1e-8):
    r"""Largest element-wise relative error $\max_k |a_k - b_k| / \max(\epsilon, |a_k| + |b_k|)$.

    About 1e-7 or less means the two agree to float64 finite-difference accuracy; 1e-2 or
    more means a real bug. ``eps`` keeps entries where both are (almost) zero from dividing by 0.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: a and b must have the same shape, got {shape_str(a.shape)} and "
                         f"{shape_str(b.shape)}." + (" One of them looks transposed: compare a with b.T."
                                                     if a.shape == b.shape[::-1] else
                                                     " Compare a gradient with the gradient of the same array."))
    if a.size == 0:
        return 0.0
    scale = np.maximum(eps, np.abs(a) + np.abs(b))
    return float(np.max(np.abs(a - b) / scale))


def _require_float64(func, name, x):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{func}: '{name}' must be a NumPy array (it is perturbed in place), "
                        f"got {type(x).__name__}. Make one with {name} = np.asarray({name}, dtype=np.float64) "
                        "and use that array inside f.")
    if x.dtype != np.float64:
        raise TypeError(f"{func}: '{name}' must be float64 for finite differences, got {x.dtype}. "
                        f"Use {name} = {name}.astype(np.float64); float32 rounding swamps the difference.")


def _evaluator(f, dout, func):
    """``f()`` as a float64 value: the scalar itself, or the whole output array when ``dout`` is given."""
    if dout is None:
        def value():
            val = f()
            if np.ndim(val) != 0:
                raise ValueError(f"{func}: f must return a scalar, got an array of shape "
                                 f"{shape_str(np.shape(val))}. Pass 'dout' (the upstream gradient, of that "
                                 "shape) to check an array-valued function" + (
                                     ", or use numerical_vjp." if func == "numerical_gradient" else "."))
            return float(val)
        return value

    def value():
        val = np.array(f(), dtype=np.float64)
        if val.shape != dout.shape:
            raise ValueError(f"{func}: 'dout' must have the shape of f's output {shape_str(val.shape)}, got "
                             f"{shape_str(dout.shape)}. dout is the upstream gradient: one entry per "
                             "output entry, e.g. rng.standard_normal(out.shape).")
        return val
    return value


def numerical_gradient(f, x, h=1e-5):
    r"""Centred-difference gradient of a scalar function ``f(x)`` with respect to the array ``x``.

    ``x`` (float64) is perturbed in place one entry at a time and restored exactly afterwards.
    Returns an array with the shape of ``x``.
    """
    _require_float64("numerical_gradient", "x", x)
    return _numerical(lambda: f(x), x, h, None, "numerical_gradient")


def numerical_vjp(f, x, dout, h=1e-5):
    r"""Centred-difference gradient of $\sum f(x) \odot dout$ with respect to ``x``.

    This is what a layer's backward pass returns for the upstream gradient ``dout``.
    """
    _require_float64("numerical_vjp", "x", x)
    return _numerical(lambda: f(x), x, h, dout, "numerical_vjp")


def _numerical(f0, x, h, dout, func):
    if dout is not None:
        dout = np.asarray(dout, dtype=np.float64)
    value = _evaluator(f0, dout, func)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError(f"{func}: x must be contiguous so it can be perturbed in place, got a view with "
                         f"strides {x.strides}. Make a contiguous copy, x = np.ascontiguousarray(x), and use it in f.")
    for k in range(flat.size):
        old = flat[k]
        try:
            flat[k] = old + h
            fp = value()
            flat[k] = old - h
            fm = value()
        finally:                     # restore x exactly, even when f raises
            flat[k] = old
        # For array outputs, difference the outputs *before* weighting and summing:
        # sum((f+ - f-) * dout) avoids cancelling two large sums, so entries of the
        # gradient that are tiny stay accurate.
        diff = fp - fm if dout is None else float(np.sum((fp - fm) * dout))
        gflat[k] = diff / (2 * h)
    return grad


def check_gradients(f, inputs, grads, dout=None, h=1e-5, tol=1e-7):
    r"""Compare analytic gradients with centred differences; raise if any disagree.

    Parameters
    ----------
    f : callable
        ``f()`` with no arguments, computing the function from the arrays in ``inputs``
        (a closure over them, e.g. ``lambda: linear_forward(x, W, b)[0]``).
    inputs : dict name -> float64 ndarray
        The arrays to differentiate; each is perturbed in place and restored.
    grads : dict name -> ndarray
        The analytic gradients to check (same keys; missing keys are not checked).
    dout : ndarray, optional
        Upstream gradient when ``f`` returns an array (checks the vector-Jacobian product).
    h, tol : float
        Step size, and the largest relative error accepted. A central difference resolves
        the gradient only to an *absolute* accuracy, so near-zero entries cannot be checked
        to 7 relative digits. Two floors account for that: entries smaller than ``FLOOR``
        (1e-3) times the array's largest entry are measured against that size, and an
        absolute difference below the rounding noise of the difference itself, about
        ``NOISE_ULPS`` machine epsilons times $\sum |f \odot \texttt{dout}|$ divided by
        $2h$, is accepted. A wrong gradient differs by far more than either.

    Returns
    -------
    dict name -> float
        The relative error of each gradient.

    Raises
    ------
    GradientCheckError
        Naming the array, its worst entry, both values and the likely cause.
    """
    errors = {}
    size = None                                   # sum |f * dout|, for the rounding-noise floor
    for name, g in grads.items():
        if name not in inputs:
            raise ValueError(f"check_gradients: gradient '{name}' has no matching input; inputs are "
                             f"{sorted(inputs)}. Use the same names in 'inputs' and 'grads'.")
        x = inputs[name]
        _require_float64("check_gradients", name, x)
        g = np.asarray(g, dtype=np.float64)
        if g.shape != x.shape:
            raise GradientCheckError(
                f"Gradient check failed for '{name}': the analytic gradient has shape {shape_str(g.shape)} "
                f"but '{name}' has shape {shape_str(x.shape)}; d{name} must have the shape of {name}."
                + (" It looks transposed." if g.shape == x.shape[::-1] else ""))
        num = _numerical(f, x, h, dout, "check_gradients")
        if size is None:
            f0 = np.asarray(f(), dtype=np.float64)
            size = float(np.sum(np.abs(f0 if dout is None else f0 * np.asarray(dout, dtype=np.float64))))
        noise = NOISE_ULPS * np.finfo(np.float64).eps * size / (2 * h)
        floor = max(1e-8, FLOOR * float(np.max(np.abs(g) + np.abs(num), initial=0.0)), noise / tol)
        err = rel_error(g, num, eps=floor)
        errors[name] = err
        if not err <= tol:
            rel = np.abs(g - num) / np.maximum(floor, np.abs(g) + np.abs(num))
            idx = np.unravel_index(int(np.nanargmax(rel)), x.shape) if x.ndim else ()
            hint = _diagnose(g, num)
            raise GradientCheckError(
                f"Gradient check failed for '{name}' (shape {shape_str(x.shape)}): relative error "
                f"{err:.2e} > tol {tol:.0e}. At index {tuple(int(i) for i in idx)} the analytic gradient is "
                f"{g[idx]:.6g} but the central difference gives {num[idx]:.6g}.{hint}")
    return errors


def _diagnose(g, num):
    """A guess at the mistake, from how the two gradients relate."""
    if not np.all(np.isfinite(g)):
        return " The analytic gradient contains nan or inf."
    n2 = float(np.sum(num * num))
    if n2 == 0:
        return " The true gradient is zero here; is the input at a kink (e.g. ReLU at 0)?"
    scale = float(np.sum(g * num)) / n2
    if np.allclose(g, scale * num, rtol=1e-4, atol=1e-10 * max(1.0, np.abs(num).max())):
        if np.isclose(scale, -1):
            return " The analytic gradient has the wrong sign."
        if np.isclose(scale, 1, rtol=1e-3):
            return (" They agree in direction and size, so the worst entry is probably a tiny value "
                    "dominated by rounding noise, not a bug: check with inputs of order 1, or raise tol.")
        return f" The analytic gradient is {scale:.4g} times the true one: a missing or extra constant factor."
    return ""


def check_module(module, x, dout=None, rng=None, h=1e-5, tol=1e-6):
    """Check a module's ``backward`` (input and every parameter) against finite differences.

    The default ``tol`` is 1e-6 rather than 1e-7: a deep composite accumulates rounding
    error in its output, which matters for entries of the gradient that are tiny.

    ``x`` and the module's parameters must be float64. ``dout`` defaults to a random
    upstream gradient drawn from ``rng`` (default ``np.random.default_rng(0)``). Returns the
    dict of relative errors, keyed ``'x'`` and by parameter name; raises
    :class:`GradientCheckError` on a mismatch.
    """
    for name, p in module.params.items():
        if p.dtype != np.float64:
            raise TypeError(f"check_module: parameter '{name}' of {type(module).__name__} is {p.dtype}, but "
                            "finite differences need float64. Build the module with dtype=np.float64 "
                            "to check it.")
    x = np.array(x, dtype=np.float64)
    out = module.forward(x)
    if not np.array_equal(module.forward(x), out, equal_nan=True):
        raise ValueError(f"check_module: {module!r}.forward gives a different output each time for the same "
                         "input (a random layer such as Dropout in training mode), so finite differences "
                         "cannot be taken. Check it in eval() mode, or check its ops function with a fixed "
                         "rng seed, as tests/test_regularization.py does.")
    if dout is None:
        dout = (rng or np.random.default_rng(0)).standard_normal(np.shape(out))
    dx = module.backward(dout)
    grads = {"x": dx, **{k: v.copy() for k, v in module.grads.items()}}
    inputs = {"x": x, **module.params}
    return check_gradients(lambda: module.forward(x), inputs, grads, dout=dout, h=h, tol=tol)
