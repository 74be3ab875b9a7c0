"""Loss functions. Each returns ``(loss, dscores)``.

``loss`` is a Python float; ``dscores`` is the gradient of that loss with respect to the
first argument (predictions or logits), with its shape and float dtype. Reductions match
PyTorch's defaults, so numbers carry over when you move on:

* ``mse_loss``, ``mae_loss``, ``weighted_mse_loss``, ``huber_loss``, ``bce_with_logits_loss``: mean over
  **all elements** (``reduction='mean'`` in ``torch.nn.functional``).
* ``softmax_cross_entropy_loss``: mean over the **batch** of N examples.

Everything that involves ``exp`` or ``log`` works from logits with log-sum-exp, so logits
of +-1e4 give finite losses and gradients.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_ndim, check_same_dtype, shape_str
from .ops import logsumexp, sigmoid, softmax

__all__ = [
    "mse_loss", "mae_loss", "weighted_mse_loss", "huber_loss",
    "bce_with_logits_loss", "softmax_cross_entropy_loss",
]


def _pred_target(func, pred, target, pred_name="pred"):
    pred = as_float_array(pred, func, pred_name)
    target = as_float_array(target, func, "target", dtype=pred.dtype)
    if pred.shape != target.shape:
        if pred.ndim == 2 and pred.shape[1] == 1 and target.shape == (pred.shape[0],):
            hint = " Reshape the target with target.reshape(-1, 1): subtracting a (N,) target " \
                   "from (N, 1) predictions would broadcast to (N, N)."
        elif target.ndim == 2 and target.shape[1] == 1 and pred.shape == (target.shape[0],):
            hint = f" Reshape the predictions with {pred_name}.reshape(-1, 1)."
        elif target.ndim == 2 and target.shape == pred.shape[::-1]:
            hint = " The target looks transposed: pass target.T."
        else:
            hint = (f" Pass one target entry per entry of {pred_name}: the model's output for a batch and "
                    "the targets of the same batch.")
        raise ValueError(f"{func}: '{pred_name}' and 'target' must have the same shape, got "
                         f"{shape_str(pred.shape)} and {shape_str(target.shape)}.{hint}")
    check_same_dtype(func, **{pred_name: pred, "target": target})
    if pred.size == 0:
        raise ValueError(f"{func}: '{pred_name}' is empty (shape {shape_str(pred.shape)}); "
                         "a mean over no elements is undefined. Pass a batch of at least one example.")
    return pred, target


def mse_loss(pred, target):
    r"""Mean squared error $L = \frac{1}{n}\sum (\hat y - y)^2$ over all $n$ elements.

    Parameters
    ----------
    pred, target : ndarray, same shape, e.g. (N, M)

    Returns
    -------
    loss : float
    dpred : ndarray, shape of ``pred``
        $\frac{2}{n}(\hat y - y)$.
    """
    pred, target = _pred_target("mse_loss", pred, target)
    diff = pred - target
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


def mae_loss(pred, target):
    r"""Mean absolute error $L = \frac{1}{n}\sum |\hat y - y|$ over all $n$ elements.

    $|r|$ has no derivative at $r = 0$; like ``torch.nn.functional.l1_loss`` we use the
    subgradient 0 there, so the gradient is $\mathrm{sign}(\hat y - y)/n$.

    Parameters
    ----------
    pred, target : ndarray, same shape, e.g. (N, M)

    Returns
    -------
    loss : float
    dpred : ndarray, shape of ``pred``
        $\mathrm{sign}(\hat y - y)/n$: every element pulls with the same force $1/n$.
    """
    pred, target = _pred_target("mae_loss", pred, target)
    diff = pred - target
    dpred = (np.sign(diff) / diff.size).astype(pred.dtype, copy=False)
    return float(np.mean(np.abs(diff))), dpred


def weighted_mse_loss(pred, target, weights):
    r"""Weighted MSE $L = \frac{1}{n}\sum_{i,j} w_i (\hat y_{ij} - y_{ij})^2$, one weight per example.

    The mean is over all $n = N \cdot M$ elements, as in :func:`mse_loss`, so weights of
    1 give exactly the MSE. ``weights`` is ``(N,)`` (one per row) or the full shape of
    ``pred``; it is reshaped to broadcast along rows, never across them, which is the
    (N, 1) * (N,) -> (N, N) trap this function exists to avoid.

    Parameters
    ----------
    pred, target : ndarray, shape (N, M) or (N,)
    weights : ndarray, shape (N,) or the shape of ``pred``; non-negative

    Returns
    -------
    loss : float
    dpred : ndarray, shape of ``pred``
    """
    func = "weighted_mse_loss"
    pred, target = _pred_target(func, pred, target)
    w = as_float_array(weights, func, "weights", dtype=pred.dtype)
    one_per_row = pred.ndim >= 1 and w.shape == (pred.shape[0],)
    if w.shape != pred.shape and not one_per_row:
        raise ValueError(
            f"{func}: 'weights' must have shape ({pred.shape[0]},) (one per example) or "
            f"the shape of pred {shape_str(pred.shape)}, got {shape_str(w.shape)}. "
            "Pass one weight per row of pred, in the same order as the examples.")
    if w.shape != pred.shape:                   # (N,) -> (N, 1, ...): along the rows
        w = w.reshape((-1,) + (1,) * (pred.ndim - 1))
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        bad = w[(w < 0) | ~np.isfinite(w)].ravel()[0]
        raise ValueError(f"{func}: 'weights' must be finite and >= 0, got {bad:g}; a negative weight rewards "
                         "error. Use 0 to ignore an example.")
    w = w.astype(pred.dtype, copy=False)
    diff = pred - target
    loss = np.mean(w * diff * diff)
    return float(loss), (2.0 / diff.size) * w * diff


def huber_loss(pred, target, delta=1.0):
    r"""Huber loss, mean over all elements: quadratic for $|r| \le \delta$, linear beyond.

    $\ell(r) = \tfrac12 r^2$ if $|r| \le \delta$ else $\delta(|r| - \tfrac12\delta)$, with
    $r = \hat y - y$; the gradient $\mathrm{clip}(r, -\delta, \delta)/n$ is bounded, so an
    outlier pulls with force $\delta$ instead of $2|r|$. Matches ``torch.nn.functional.huber_loss``.
    """
    func = "huber_loss"
    pred, target = _pred_target(func, pred, target)
    if not np.isscalar(delta) or not delta > 0 or not np.isfinite(delta):
        raise ValueError(f"{func}: 'delta' must be a finite number > 0, got {delta!r}. Use e.g. delta=1.0 "
                         "(the default): it is the residual size where the loss turns from quadratic to linear.")
    r = pred - target
    a = np.abs(r)
    per = np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
    return float(np.mean(per)), (np.clip(r, -delta, delta) / r.size).astype(pred.dtype, copy=False)


def bce_with_logits_loss(logits, target):
    r"""Binary cross-entropy from logits, mean over all elements.

    With $p = \sigma(s)$, $\ell = -[y \log p + (1 - y)\log(1 - p)]$ simplifies to
    $\max(s, 0) - s y + \log(1 + e^{-|s|})$, which never takes the log of 0. The gradient
    is the famous $(\sigma(s) - y)/n$.

    Parameters
    ----------
    logits : ndarray, any shape, e.g. (N, 1)
        Raw scores $s$, *before* the sigmoid.
    target : ndarray, shape of ``logits``
        Probabilities in [0, 1] (usually 0 or 1).
    """
    func = "bce_with_logits_loss"
    s, y = _pred_target(func, logits, target, pred_name="logits")
    if np.any((y < 0) | (y > 1)):
        raise ValueError(f"{func}: 'target' must lie in [0, 1], got values in "
                         f"[{y.min():g}, {y.max():g}]. Pass labels 0/1, not -1/+1 or class indices.")
    per = np.maximum(s, 0) - s * y + np.log1p(np.exp(-np.abs(s)))
    return float(np.mean(per)), (sigmoid(s) - y) / s.size


def softmax_cross_entropy_loss(logits, labels):
    r"""Softmax followed by cross-entropy, mean over the batch.

    $L = \frac1N \sum_n \big(\mathrm{logsumexp}(s_n) - s_{n, y_n}\big)$ and
    $\partial L / \partial s = (\mathrm{softmax}(s) - \mathrm{onehot}(y)) / N$.

    Parameters
    ----------
    logits : ndarray, shape (N, C)
        Raw class scores for N examples and C classes.
    labels : ndarray of int, shape (N,)
        The correct class of each example, in ``0 .. C-1``.

    Returns
    -------
    loss : float
    dlogits : ndarray, shape (N, C)
    """
    func = "softmax_cross_entropy_loss"
    s = as_float_array(logits, func, "logits")
    check_ndim(s, func, "logits", 2, "(N, C)")
    y = np.asarray(labels)
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and y.ndim == 2 and y.shape == s.shape:
            hint = "These look like one-hot rows: pass labels.argmax(axis=1)."
        elif y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
            hint = "Cast them with labels.astype(int)."
        else:
            hint = "Pass the index of the correct class for each example."
        raise TypeError(f"{func}: 'labels' must be integer class indices of shape (N,), got dtype "
                        f"{y.dtype} with shape {shape_str(y.shape)}. {hint}")
    N, C = s.shape
    if y.shape != (N,):
        raise ValueError(f"{func}: 'labels' must have shape ({N},) to match logits {shape_str(s.shape)}, "
                         f"got {shape_str(y.shape)}." + (" Flatten it with labels.ravel()." if y.size == N else
                                                         " Pass one label per row of logits, from the same batch."))
    if N == 0:
        raise ValueError(f"{func}: the batch is empty (N = 0).")
    if y.min() < 0 or y.max() >= C:
        raise ValueError(f"{func}: 'labels' must lie in [0, {C - 1}] for C = {C} classes, got values in "
                         f"[{y.min()}, {y.max()}]. Labels are 0-based class indices"
                         + (": these look 1-based, pass labels - 1." if y.min() >= 1 and y.max() == C else
                            ", never negative: pass 0/1, not -1/+1." if y.min() < 0 else
                            f"; if there are {y.max() + 1} classes, build the model with {y.max() + 1} outputs "
                            "(C = logits.shape[1])."))
    rows = np.arange(N)
    loss = np.mean(logsumexp(s, axis=1) - s[rows, y])
    dlogits = softmax(s, axis=1)
    dlogits[rows, y] -= 1
    dlogits /= N
    return float(loss), dlogits
