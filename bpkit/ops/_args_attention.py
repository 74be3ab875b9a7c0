"""Argument checks of :mod:`bpkit.ops.attention` (Chapter 10): embedding, layer norm, attention.

A sibling of :mod:`bpkit.ops._args` (kept apart so neither file grows past a screenful of
topics). Each public op hands its arguments to one helper from here on its first line and
gets them back as arrays, or an error naming the function, the argument, what was expected,
what was received and the likely fix. ``tests/test_attention.py`` asserts the messages.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_float_array, check_ndim, check_same_dtype, check_shape, shape_str

__all__ = ["_embedding_args", "_layernorm_args", "_attention_args"]


def _embedding_args(idx, W):
    """``(idx, W)`` of :func:`~bpkit.ops.embedding_forward`: integer indices in ``[0, V)`` and a (V, D) table."""
    func = "embedding_forward"
    W = as_float_array(W, func, "W")
    check_ndim(W, func, "W", 2, "(V, D)")
    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        hint = ("Cast them with idx.astype(int)." if idx.dtype.kind in "fb" and idx.size
                and np.all(np.mod(idx, 1) == 0) else "Pass token ids, e.g. from bpkit.data.text(...).")
        raise TypeError(f"{func}: 'idx' must hold integer token ids, got dtype {idx.dtype}. {hint}")
    V = W.shape[0]
    bad = (idx < 0) | (idx >= V)
    if np.any(bad):
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise IndexError(f"{func}: index {int(idx[pos])} at position {pos} of 'idx' is out of range for a "
                         f"table of V = {V} rows (W has shape {shape_str(W.shape)}); every index must be in "
                         f"[0, {V - 1}]. Build the table with V = the vocabulary size (max index + 1).")
    return idx, W


def _layernorm_args(x, gamma, beta, eps):
    """``(x, gamma, beta)`` of :func:`~bpkit.ops.layernorm_forward`: one dtype, D = x.shape[-1] features."""
    func = "layernorm_forward"
    x = as_float_array(x, func, "x")
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"{func}: 'x' must have at least one axis of features (..., D), got "
                         f"{shape_str(x.shape)}.")
    D = x.shape[-1]
    gamma = as_float_array(gamma, func, "gamma", dtype=x.dtype)
    beta = as_float_array(beta, func, "beta", dtype=x.dtype)
    for name, v in (("gamma", gamma), ("beta", beta)):
        check_shape(v, func, name, (D,), hint=f"Layer norm normalises the last axis: one {name} per feature, "
                                               f"D = x.shape[-1] = {D}.")
    check_same_dtype(func, x=x, gamma=gamma, beta=beta)
    if not (np.isscalar(eps) and np.isfinite(eps) and eps >= 0):
        raise ValueError(f"{func}: 'eps' must be a finite number >= 0, got {eps!r}. Use the default 1e-5.")
    return x, gamma, beta


def _attention_args(q, k, v, causal):
    """``(q, k, v)`` of :func:`~bpkit.ops.attention_forward`: (N, Tq, d), (N, Tk, d), (N, Tk, dv), one dtype."""
    func = "attention_forward"
    q = as_float_array(q, func, "q")
    k = as_float_array(k, func, "k", dtype=q.dtype)
    v = as_float_array(v, func, "v", dtype=q.dtype)
    for name, a, layout in (("q", q, "(N, Tq, d)"), ("k", k, "(N, Tk, d)"), ("v", v, "(N, Tk, dv)")):
        if a.ndim != 3:
            raise ValueError(f"{func}: '{name}' must have shape {layout} (3-D), got {shape_str(a.shape)}. "
                             + (f"For one sequence add the batch axis with {name}[None]." if a.ndim == 2 else
                                "For several heads fold them into the batch: (N * heads, T, d)."))
    N, Tq, d = q.shape
    if k.shape[0] != N or k.shape[2] != d:
        raise ValueError(f"{func}: 'k' must have shape (N, Tk, d) = ({N}, ?, {d}) to match q of shape "
                         f"{shape_str(q.shape)}, got {shape_str(k.shape)}. Queries and keys need the same "
                         "batch size N and the same width d (their dot products are the scores).")
    if v.shape[:2] != k.shape[:2]:
        raise ValueError(f"{func}: 'v' must have shape (N, Tk, dv) = ({N}, {k.shape[1]}, ?) to match k of "
                         f"shape {shape_str(k.shape)}, got {shape_str(v.shape)}: one value per key.")
    if not isinstance(causal, (bool, np.bool_)):
        raise TypeError(f"{func}: 'causal' must be True or False, got {causal!r}.")
    if causal and Tq != k.shape[1]:
        raise ValueError(f"{func}: causal=True needs as many queries as keys (Tq = Tk), got Tq = {Tq} and "
                         f"Tk = {k.shape[1]}. The causal mask lets position t see positions <= t of the "
                         "same sequence.")
    check_same_dtype(func, q=q, k=k, v=v)
    return q, k, v
