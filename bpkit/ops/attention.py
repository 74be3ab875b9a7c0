r"""Embedding, layer normalisation and scaled dot-product attention: Chapter 10.

The three function pairs a transformer needs beyond Chapters 1-8: an embedding is a
table look-up whose gradient is a scatter-add, layer norm normalises each position over its
own features (batch norm of Chapter 6 normalises each feature over the batch), and attention
is a differentiable look-up: a softmax over query-key scores weights the values.
Layouts: token ids ``idx`` any shape, table ``W`` (V, D); sequences (N, T, D); attention's
``q`` (N, Tq, d), ``k`` (N, Tk, d), ``v`` (N, Tk, dv), heads folded into N.
The argument checks are in :mod:`bpkit.ops._args_attention`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._args import _dout_like
from ._args_attention import _attention_args, _embedding_args, _layernorm_args

__all__ = ["embedding_forward", "embedding_backward", "layernorm_forward", "layernorm_backward",
           "AttentionCache", "attention_forward", "attention_backward", "causal_mask"]


def embedding_forward(idx, W):
    r"""Embedding look-up: ``out[..., :] = W[idx[...]]``, one row of ``W`` per token id.

    Parameters
    ----------
    idx : int ndarray, any shape, e.g. (N, T)
        Token ids in ``[0, V)``.
    W : ndarray, shape (V, D)
        One D-vector per token of a vocabulary of V.

    Returns
    -------
    out : ndarray, shape ``idx.shape + (D,)``, the dtype of ``W``
    cache : tuple ``(idx, W.shape, W.dtype)``
    """
    idx, W = _embedding_args(idx, W)
    return W[idx], (idx, W.shape, W.dtype)


def embedding_backward(dout, cache):
    r"""$dW_v = \sum_{p:\,\mathrm{idx}_p = v} dout_p$: a token used twice gets both gradients, added.

    ``np.add.at`` accumulates over repeated indices; ``dW[idx] += dout`` would keep only one.
    """
    idx, shape, dtype = cache
    dout = _dout_like(dout, np.empty(idx.shape + shape[1:], dtype), "embedding_backward")
    dW = np.zeros(shape, dtype=dtype)
    np.add.at(dW, idx.ravel(), dout.reshape(-1, shape[1]))
    return dW


def layernorm_forward(x, gamma, beta, eps=1e-5):
    r"""Layer normalisation over the last axis: $y = \gamma\,\hat x + \beta$.

    $\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}$, with
    $\mu$ and the *biased* variance $\sigma^2$ taken over the D features of each position
    (Ba, Kiros and Hinton, 2016), as in PyTorch's ``layer_norm``: every example is normalised
    on its own, so the result does not depend on the batch and training equals evaluation.

    Parameters
    ----------
    x : ndarray, shape (..., D), e.g. (N, T, D)
    gamma, beta : ndarray, shape (D,)
    eps : float, default 1e-5

    Returns
    -------
    out : ndarray, the shape and dtype of ``x``
    cache : tuple ``(xhat, inv_std, gamma)``, ``inv_std`` of shape (..., 1)
    """
    x, gamma, beta = _layernorm_args(x, gamma, beta, eps)
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=-1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + x.dtype.type(eps))
    xhat = xc * inv_std
    return xhat * gamma + beta, (xhat, inv_std, gamma)


def layernorm_backward(dout, cache):
    r"""Gradients of layer norm: ``(dx, dgamma, dbeta)``.

    Batch norm's formula with the roles of the axes swapped: with $g = dY \odot \gamma$ and D
    features per position, $dx = \frac{1}{D\sqrt{\sigma^2+\epsilon}}\big(D g - \sum_j g_j
    - \hat x \sum_j g_j \hat x_j\big)$, the sums over the last axis; $d\gamma$ and $d\beta$
    sum over every position.
    """
    xhat, inv_std, gamma = cache
    dout = _dout_like(dout, xhat, "layernorm_backward")
    axes = tuple(range(xhat.ndim - 1))
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    g = dout * gamma
    D = xhat.shape[-1]
    g_sum = g.sum(axis=-1, keepdims=True)
    gx_sum = (g * xhat).sum(axis=-1, keepdims=True)
    dx = D * g - g_sum - xhat * gx_sum
    return dx * (inv_std / xhat.dtype.type(D)), dgamma, dbeta


def causal_mask(T):
    """Boolean (T, T) mask, True where query t may see key s (s <= t): the lower triangle."""
    return np.tril(np.ones((T, T), dtype=bool))


class AttentionCache(NamedTuple):
    """What :func:`attention_backward` needs; ``p`` is the attention weights the widget draws."""

    q: np.ndarray              #: queries (N, Tq, d)
    k: np.ndarray              #: keys (N, Tk, d)
    v: np.ndarray              #: values (N, Tk, dv)
    p: np.ndarray              #: attention weights softmax(scores), (N, Tq, Tk); 0 where masked
    scale: float               #: 1 / sqrt(d)


def attention_forward(q, k, v, causal=False):
    r"""Scaled dot-product attention $\mathrm{softmax}(q k^\top / \sqrt d)\, v$.

    Query $t$ gets a weighted mean of the values, with weights $P_{t s} \propto
    e^{q_t \cdot k_s / \sqrt d}$ that sum to 1 over the keys $s$. With ``causal=True``
    (Tq = Tk) the scores of keys $s > t$ are set to $-\infty$ before the softmax, so position
    $t$ sees only positions $\le t$. The row maximum is subtracted before ``exp``, so scores of
    any size stay finite.

    Parameters
    ----------
    q : ndarray, shape (N, Tq, d)
    k : ndarray, shape (N, Tk, d)
    v : ndarray, shape (N, Tk, dv)
    causal : bool, default False

    Returns
    -------
    out : ndarray, shape (N, Tq, dv)
    cache : AttentionCache
    """
    q, k, v = _attention_args(q, k, v, causal)
    scale = 1.0 / math.sqrt(q.shape[-1])
    s = (q @ k.transpose(0, 2, 1)) * q.dtype.type(scale)                   # (N, Tq, Tk)
    if causal:
        s = np.where(causal_mask(q.shape[1]), s, -np.inf)
    p = np.exp(s - s.max(axis=-1, keepdims=True))                          # exp(-inf) = 0
    p /= p.sum(axis=-1, keepdims=True)
    return p @ v, AttentionCache(q, k, v, p, scale)


def attention_backward(dout, cache):
    r"""Gradients of attention: ``(dq, dk, dv)``.

    $dv = P^\top dout$ and $dP = dout\, v^\top$; the softmax's vector-Jacobian product
    (Chapter 2), row by row, gives the scores' gradient $dS = P \odot (dP - \mathrm{rowsum}(dP
    \odot P))$; then $dq = dS\, k / \sqrt d$ and $dk = dS^\top q / \sqrt d$. A masked score has
    $P = 0$, so $dS = 0$ there: no gradient flows to a future key or value.
    """
    q, k, v, p, scale = cache
    dout = _dout_like(dout, np.empty(q.shape[:2] + v.shape[2:], q.dtype), "attention_backward")
    dv = p.transpose(0, 2, 1) @ dout                                       # (N, Tk, dv)
    dp = dout @ v.transpose(0, 2, 1)                                       # (N, Tq, Tk)
    ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))                 # softmax VJP, per row
    ds *= q.dtype.type(scale)
    return ds @ k, ds.transpose(0, 2, 1) @ q, dv
