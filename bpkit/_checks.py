"""Input validation shared by every public function: one place for error messages.

Every message names the function and the argument, says what was expected and what
was received, and suggests the likely fix. A learner should never have to read a
traceback from deep inside NumPy to find out that ``W`` was transposed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_float_array", "check_ndim", "check_rng", "check_same_dtype", "check_shape", "shape_str"]


def shape_str(shape) -> str:
    """``(4, 3)`` for a tuple, so messages read the same everywhere."""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def as_float_array(x, func: str, name: str, dtype=None) -> np.ndarray:
    """Return ``x`` as a floating-point ndarray without copying float input.

    Integer and boolean input is converted to ``dtype`` (float64 by default), so
    ``linear_forward([[1, 2]], W, b)`` works as a learner expects; anything else
    (strings, objects, complex numbers) raises a ``TypeError`` that names ``func``.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{func}: argument '{name}' could not be turned into an array ({exc}). "
                        "Pass a NumPy array of numbers.") from None
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(dtype or np.float64)
    raise TypeError(f"{func}: argument '{name}' must hold real numbers, got dtype {arr.dtype}. "
                    "Pass a float array, e.g. np.asarray(x, dtype=np.float64).")


def check_ndim(arr: np.ndarray, func: str, name: str, ndim: int, layout: str) -> None:
    """Raise if ``arr`` does not have ``ndim`` dimensions; ``layout`` is e.g. ``'(N, D)'``."""
    if arr.ndim != ndim:
        raise ValueError(f"{func}: argument '{name}' must have shape {layout} ({ndim}-D), "
                         f"got shape {shape_str(arr.shape)} ({arr.ndim}-D). "
                         + _reshape_hint(arr, ndim, name))


def _reshape_hint(arr: np.ndarray, ndim: int, name: str) -> str:
    if arr.ndim == ndim - 1 and ndim == 2:
        return f"For a single example use {name}.reshape(1, -1); for a column use {name}.reshape(-1, 1)."
    if arr.ndim == 2 and ndim == 1 and 1 in arr.shape:
        return f"Flatten it with {name}.ravel()."
    if ndim == 2 and arr.ndim > 2:
        return f"To flatten each example into one row use {name}.reshape({name}.shape[0], -1)."
    return "Check the layout in the docstring."


def check_shape(arr: np.ndarray, func: str, name: str, expected: tuple, hint: str = "") -> None:
    """Raise if ``arr.shape != expected``; ``None`` entries in ``expected`` match any size."""
    ok = arr.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, arr.shape))
    if not ok:
        want = "(" + ", ".join("?" if e is None else str(e) for e in expected) + ("," if len(expected) == 1 else "") + ")"
        raise ValueError(f"{func}: argument '{name}' must have shape {want}, got {shape_str(arr.shape)}."
                         + (" " + hint if hint else ""))


def check_rng(rng, func: str, what: str) -> None:
    """Raise a ``TypeError`` unless ``rng`` is a ``np.random.Generator``; ``what`` names what it draws."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: 'rng' must be a np.random.Generator, got {type(rng).__name__}. "
                        f"Pass rng=np.random.default_rng(0) so {what} are reproducible.")


def check_same_dtype(func: str, **arrays: np.ndarray) -> np.dtype:
    """Raise a ``TypeError`` if the float arrays do not share one dtype; return it.

    Mixing float32 and float64 would silently upcast a float32 network to float64
    (slower, and no longer what the learner asked for), so we refuse and say how to fix it.
    """
    names = list(arrays)
    first = arrays[names[0]].dtype
    for n in names[1:]:
        if arrays[n].dtype != first:
            desc = ", ".join(f"{k} is {v.dtype}" for k, v in arrays.items())
            raise TypeError(f"{func}: all arrays must share one float dtype, but {desc}. "
                            f"Cast them to one, e.g. {n} = {n}.astype(np.{first}).")
    return first
