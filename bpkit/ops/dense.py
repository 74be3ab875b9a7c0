"""The dense (fully connected) layer, $Z = XW + b$: Chapters 1 and 3.

``x`` is (N, D), ``W`` is (D, M) and ``b`` is (M,), and the layer computes ``x @ W + b``
(row-vector convention). The argument checks are in :mod:`bpkit.ops._args`.
"""

from __future__ import annotations

from ._args import _linear_args, _linear_dout

__all__ = ["linear_forward", "linear_backward"]


def linear_forward(x, W, b):
    r"""Affine map $Z = XW + b$.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        A batch of N inputs with D features each.
    W : ndarray, shape (D, M)
        Weights; column ``m`` holds the D weights of output unit ``m``.
    b : ndarray, shape (M,)
        Bias, broadcast over the N rows.

    Returns
    -------
    out : ndarray, shape (N, M)
        The layer's output $Z$.
    cache : tuple
        ``(x, W)``, what :func:`linear_backward` needs.
    """
    x, W, b = _linear_args(x, W, b)
    out = x @ W
    out += b
    return out, (x, W)


def linear_backward(dout, cache):
    r"""Gradients of the affine map $Z = XW + b$ from ``dout`` $= \partial L / \partial Z$.

    $\texttt{dX} = \texttt{dout}\,W^\top$, $\texttt{dW} = X^\top \texttt{dout}$,
    $\texttt{db} = \sum_{n=1}^{N} \texttt{dout}_{n,:}$.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient, the gradient of the loss with respect to the output ``out`` ($Z$).
    cache : tuple
        ``(x, W)`` from :func:`linear_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dW : ndarray, shape (D, M)
    db : ndarray, shape (M,)
        Summed over the batch: every row used the same bias.
    """
    dout = _linear_dout(dout, cache)
    x, W = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db
