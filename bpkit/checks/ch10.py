"""Checks for Chapter 10, attention and the transformer block.

Each ``check_*`` takes the student's function or answer and returns a
:class:`bpkit.checks.CheckResult`. The references are bpkit's own functions
(:func:`bpkit.ops.attention_forward`, :func:`bpkit.ops.attention_backward`,
:func:`bpkit.ops.layernorm_forward`, :func:`bpkit.ops.layernorm_backward`,
:func:`bpkit.ops.embedding_backward`, :class:`bpkit.nn.TransformerBlock` and
:func:`bpkit.widgets.attention.attention_map`) or the short functions below, which the chapter
and ``tests/test_ch10_exercises.py`` check against them. Every named mistake is a whole wrong
function, so a diagnosis is given only when it reproduces the student's output on the case
that failed (and it equals the right answer on the cases before it).
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn, ops
from ..widgets.attention import HEADS, SENTENCES, _SHARP, attention_map
from ._context import case_rng, own_work
from ._engine import CheckResult, Mistake, check_function, handed_in, handed_in_settings

__all__ = ["BLOCK_WIDTHS", "KEY_GRADIENT", "POINTS", "SHARP_HEAD", "attention_backward", "attention_forward",
           "block_num_params", "check_attention_backward", "check_attention_forward", "check_block_num_params",
           "check_embedding_backward", "check_key_gradient", "check_layernorm_backward", "check_layernorm_forward",
           "check_sharp_head", "check_split_heads", "embedding_backward", "layernorm_backward", "layernorm_forward",
           "split_heads"]

#: Functions the checks hand to the student's code or run next to it (not references): none in this
#: chapter; every module-level function here other than the checks is a reference or a wrong variant.
SCAFFOLD = ()

#: Points per exercise, read by the course tools.
POINTS = {"attention_forward": 2, "attention_backward": 3, "layernorm_forward": 2, "layernorm_backward": 3,
          "embedding_backward": 1, "split_heads": 2, "block_num_params": 1, "sharp_head": 1, "key_gradient": 1}

#: Exercise 10.8: the head, sentence and query kept fixed, and the weight to reach one character back.
SHARP_HEAD = {"sentence": SENTENCES[0], "head": "previous", "query": 10, "causal": True, "weight": 0.9}

#: Exercise 10.9: the explorer's settings; the answer is a key position.
KEY_GRADIENT = {"sentence": SENTENCES[1], "head": "same letter", "query": 12, "sharpness": 1.0, "causal": True}

#: Exercise 10.7: the widths D the check tries.
BLOCK_WIDTHS = (10, 16, 64, 100, 768)   # not 8: there 11D^2 + 12D (no Wo) = 12D^2 + 4D (no biases)


def _rng():
    """Test cases: a fixed seed for feedback, mixed with the grader's secret when graded."""
    return case_rng(2030)


def _softmax(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ----------------------------------------------------------------------------- 10.1 attention forward

def attention_forward(q, k, v, causal):
    r"""Reference: $\mathrm{softmax}(q k^\top / \sqrt d)\, v$, future keys masked before the softmax if ``causal``."""
    return ops.attention_forward(q, k, v, causal=bool(causal))[0]


def _att_variant(scale="sqrt", axis=-1, mask="before", stable=True):
    """attention_forward with one mistake: ``scale`` "sqrt"/"none"/"d"; softmax ``axis``; ``mask`` "before",
    "after" (weights zeroed after the softmax, not renormalised) or "past" (the upper triangle kept instead);
    ``stable`` False: exp of the raw scores, which overflows for scores near 1e4."""
    def f(q, k, v, causal):
        d = q.shape[-1]
        s = q @ k.transpose(0, 2, 1) / {"sqrt": math.sqrt(d), "none": 1.0, "d": d}[scale]
        T = s.shape[-1]
        keep = np.tril(np.ones((T, T), dtype=bool)) if mask != "past" else np.triu(np.ones((T, T), dtype=bool))
        if causal and mask in ("before", "past"):
            s = np.where(keep, s, -np.inf)
        if stable:
            p = _softmax(s, axis)
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                e = np.exp(s)
                p = e / e.sum(axis=axis, keepdims=True)
        if causal and mask == "after":
            p = p * keep
        return p @ v
    return f


def _att_case(rng, N, Tq, Tk, d, dv, causal):
    return (rng.normal(size=(N, Tq, d)), rng.normal(size=(N, Tk, d)), rng.normal(size=(N, Tk, dv)), causal)


@own_work("bpkit.ops.attention_forward", "bpkit.nn.MultiHeadAttention.forward")
def check_attention_forward(student):
    """Exercise 10.1: ``attention_forward(q, k, v, causal) -> out`` of shape (N, Tq, dv)."""
    rng = _rng()
    cases = [_att_case(rng, *shape) for shape in ((1, 3, 3, 2, 2, False), (2, 4, 4, 3, 2, True),
                                                  (2, 3, 5, 4, 3, False), (3, 5, 5, 8, 2, True))]
    q, k, v, causal = _att_case(rng, 2, 4, 4, 4, 3, True)      # scores of about +-1e4: exp overflows unless
    cases.append((100 * q, 100 * k, v, causal))                 # the row maximum is subtracted first
    return check_function(
        student, attention_forward, cases, name="Exercise 10.1 (attention_forward)",
        points=POINTS["attention_forward"],
        mistakes=[
            Mistake("the scores are not divided by sqrt(d): the scores are q k^T / sqrt(d), with d = q.shape[-1]",
                    _att_variant(scale="none"), "s = q @ k.transpose(0, 2, 1) / np.sqrt(d)."),
            Mistake("the scores are divided by d instead of sqrt(d)", _att_variant(scale="d"),
                    "Divide by np.sqrt(d): that keeps the scores' variance at 1."),
            Mistake("the softmax runs over the wrong axis, the queries (axis 1): each query's weights must sum to 1 "
                    "over the keys, the last axis", _att_variant(axis=-2),
                    "Use the last axis: the weights of one query, P[n, t, :], sum to 1."),
            Mistake("the mask is applied after the softmax: the weights of the future keys are zeroed, but the rest "
                    "no longer sum to 1. Set the masked scores to -inf before the softmax",
                    _att_variant(mask="after"), "s = np.where(mask, s, -np.inf), then the softmax."),
            Mistake("the mask hides the past instead of the future: query t may see keys s <= t, the lower "
                    "triangle (np.tril)", _att_variant(mask="past"), "Keep the lower triangle: np.tril."),
            Mistake("the softmax overflows for large scores (about 1e4 in the last case): np.exp of the raw "
                    "scores is inf", _att_variant(stable=False),
                    "Subtract each row's maximum before np.exp: the softmax does not change, and every "
                    "exponent is at most 0."),
        ],
        hints=["Scores: s = q @ k.transpose(0, 2, 1) / sqrt(d), shape (N, Tq, Tk), one row per query.",
               "With causal=True, set the scores of keys s > t to -inf before the softmax: "
               "np.where(np.tril(np.ones((T, T), bool)), s, -np.inf). Then softmax over the last axis (subtract "
               "the row maximum first) and multiply by v.",
               "s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1]); if causal: s = np.where(np.tril(np.ones(s.shape[1:], "
               "bool)), s, -np.inf); p = np.exp(s - s.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True); "
               "return p @ v"])


# ----------------------------------------------------------------------------- 10.2 attention backward

def attention_backward(dout, q, k, v, p):
    r"""Reference: ``(dq, dk, dv)`` of attention, given the weights ``p`` of the forward pass."""
    return ops.attention_backward(dout, ops.AttentionCache(q, k, v, p, 1.0 / math.sqrt(q.shape[-1])))


def _att_back_variant(jac="full", which=("q", "k"), scale=True, dv_t=True):
    """attention_backward with one mistake: ``jac`` "full", "none" (dS = dP, for the arrays in ``which``) or
    "diag" (dS = P * dP); ``scale`` False drops 1/sqrt(d); ``dv_t`` False uses P instead of P^T."""
    def f(dout, q, k, v, p):
        c = 1 / math.sqrt(q.shape[-1]) if scale else 1.0
        dv = (p.transpose(0, 2, 1) if dv_t else p) @ dout
        dp = dout @ v.transpose(0, 2, 1)
        ds_full = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
        ds_bad = dp if jac == "none" else p * dp
        ds_q = ds_bad if jac != "full" and "q" in which else ds_full
        ds_k = ds_bad if jac != "full" and "k" in which else ds_full
        return ds_q @ k * c, ds_k.transpose(0, 2, 1) @ q * c, dv
    return f


def _att_back_case(rng, N, Tq, Tk, d, dv, causal):
    q, k, v, _ = _att_case(rng, N, Tq, Tk, d, dv, causal)
    p = ops.attention_forward(q, k, v, causal=causal)[1].p
    return rng.normal(size=(N, Tq, dv)), q, k, v, p


@own_work("bpkit.ops.attention_backward", "bpkit.nn.MultiHeadAttention.backward")
def check_attention_backward(student):
    """Exercise 10.2: ``attention_backward(dout, q, k, v, p) -> (dq, dk, dv)``."""
    rng = _rng()
    cases = [_att_back_case(rng, *shape) for shape in ((1, 3, 3, 2, 2, False), (2, 4, 4, 3, 2, True),
                                                       (2, 3, 5, 4, 3, False))]
    return check_function(
        student, attention_backward, cases, name="Exercise 10.2 (attention_backward)",
        points=POINTS["attention_backward"], output_names=("dq", "dk", "dv"),
        mistakes=[
            Mistake("dq forgot the softmax Jacobian: it uses dP = dout @ v^T as if it were the scores' gradient. "
                    "Go through the softmax first, dS = P * (dP - rowsum(dP * P)), then dq = dS @ k / sqrt(d)",
                    _att_back_variant(jac="none", which=("q",)), "dS = p * (dP - (dP * p).sum(-1, keepdims=True))."),
            Mistake("dq and dk forgot the softmax Jacobian: dP = dout @ v^T is the gradient of the weights, not "
                    "of the scores; the softmax's vector-Jacobian product is dS = P * (dP - rowsum(dP * P))",
                    _att_back_variant(jac="none"), "dS = p * (dP - (dP * p).sum(-1, keepdims=True))."),
            Mistake("the softmax's Jacobian has only its diagonal: dS = P * dP misses the term - P * rowsum(dP * P) "
                    "that comes from the normalisation (every weight depends on every score of its row)",
                    _att_back_variant(jac="diag"), "Subtract the row sum: dS = p * (dP - (dP * p).sum(-1, keepdims=True))."),
            Mistake("dq and dk miss the factor 1/sqrt(d) of the scores s = q k^T / sqrt(d)",
                    _att_back_variant(scale=False), "dq = dS @ k / np.sqrt(d), dk = dS^T @ q / np.sqrt(d)."),
            Mistake("dv uses P instead of its transpose: out = P @ v, so dv = P^T @ dout",
                    _att_back_variant(dv_t=False), "dv = p.transpose(0, 2, 1) @ dout."),
        ],
        hints=["Walk back through out = P v, then the softmax, then s = q k^T / sqrt(d). Matrix products: "
               "dv = P^T dout and dP = dout v^T (batched: transpose the last two axes).",
               "The softmax acts on each row: its vector-Jacobian product is dS = P * (dP - rowsum(dP * P)) "
               "(Chapter 2). Then dq = dS k / sqrt(d) and dk = dS^T q / sqrt(d).",
               "T = lambda a: a.transpose(0, 2, 1); dP = dout @ T(v); dS = p * (dP - (dP * p).sum(-1, "
               "keepdims=True)); c = 1 / np.sqrt(q.shape[-1]); return dS @ k * c, T(dS) @ q * c, T(p) @ dout"])


# ----------------------------------------------------------------------------- 10.3 layer norm forward

def layernorm_forward(x, gamma, beta, eps=1e-5):
    r"""Reference: layer norm over the last axis, biased variance (:func:`bpkit.ops.layernorm_forward`)."""
    return ops.layernorm_forward(x, gamma, beta, eps)[0]


def _ln_variant(axis=-1, ddof=0, eps="inside", affine=True, root=True):
    def f(x, gamma, beta, eps_=1e-5):
        mu = x.mean(axis=axis, keepdims=True)
        var = x.var(axis=axis, keepdims=True, ddof=ddof)
        if not root:
            xhat = (x - mu) / (var + eps_)
        elif eps == "inside":
            xhat = (x - mu) / np.sqrt(var + eps_)
        else:
            xhat = (x - mu) / (np.sqrt(var) + eps_)
        return xhat * gamma + beta if affine else xhat
    return f


def _ln_case(rng, shape):
    D = shape[-1]
    return (rng.normal(size=shape) * 2 + 1, rng.normal(size=D), rng.normal(size=D), 1e-5)


@own_work("bpkit.ops.layernorm_forward", "bpkit.nn.LayerNorm.forward", "bpkit.ops.batchnorm_forward")
def check_layernorm_forward(student):
    """Exercise 10.3: ``layernorm_forward(x, gamma, beta, eps) -> out``, x of shape (..., D)."""
    rng = _rng()
    cases = [_ln_case(rng, shape) for shape in ((4, 5), (3, 6), (2, 3, 4), (5, 2, 8))]
    return check_function(
        student, layernorm_forward, cases, name="Exercise 10.3 (layernorm_forward)",
        points=POINTS["layernorm_forward"],
        mistakes=[
            Mistake("this is layer norm over the batch axis (axis 0), which is batch norm: layer norm takes the mean "
                    "and variance of each row over its own features, the last axis",
                    _ln_variant(axis=0), "x.mean(axis=-1, keepdims=True), and the same for the variance."),
            Mistake("the variance is the unbiased one (divided by D - 1): layer norm uses the biased variance, "
                    "divided by D, as PyTorch does", _ln_variant(ddof=1), "Use x.var(axis=-1, keepdims=True)."),
            Mistake("eps is added to the standard deviation: it belongs under the square root, "
                    "sqrt(var + eps)", _ln_variant(eps="outside"), "(x - mu) / np.sqrt(var + eps)."),
            Mistake("x is divided by the variance: divide by the standard deviation, sqrt(var + eps)",
                    _ln_variant(root=False), "(x - mu) / np.sqrt(var + eps)."),
            Mistake("gamma and beta are not applied: the output is gamma * xhat + beta",
                    _ln_variant(affine=False), "return xhat * gamma + beta."),
        ],
        hints=["Each row (every position of every example) is normalised over its own D features, the last axis.",
               "mu = x.mean(axis=-1, keepdims=True); var = ((x - mu)**2).mean(axis=-1, keepdims=True) (biased, "
               "divided by D); xhat = (x - mu) / sqrt(var + eps); out = gamma * xhat + beta.",
               "mu = x.mean(-1, keepdims=True); var = x.var(-1, keepdims=True); return (x - mu) / np.sqrt(var + eps) "
               "* gamma + beta"])


# ----------------------------------------------------------------------------- 10.4 layer norm backward

def layernorm_backward(dout, xhat, inv_std, gamma):
    r"""Reference: ``(dx, dgamma, dbeta)`` of layer norm, from $\hat x$ and $1/\sqrt{\sigma^2+\epsilon}$ (..., 1)."""
    return ops.layernorm_backward(dout, (xhat, inv_std, gamma))


def _ln_back_variant(mean_term=True, var_term=True, use_gamma=True, param_axes="positions"):
    def f(dout, xhat, inv_std, gamma):
        D = xhat.shape[-1]
        g = dout * gamma if use_gamma else dout
        dx = D * g
        if mean_term:
            dx = dx - g.sum(-1, keepdims=True)
        if var_term:
            dx = dx - xhat * (g * xhat).sum(-1, keepdims=True)
        axes = tuple(range(xhat.ndim - 1)) if param_axes == "positions" else 0
        return dx * inv_std / D, (dout * xhat).sum(axis=axes), dout.sum(axis=axes)
    return f


def _ln_back_case(rng, shape):
    x, gamma, beta, eps = _ln_case(rng, shape)
    xhat, inv_std, _ = ops.layernorm_forward(x, gamma, beta, eps)[1]
    return rng.normal(size=shape), xhat, inv_std, gamma


@own_work("bpkit.ops.layernorm_backward", "bpkit.nn.LayerNorm.backward", "bpkit.ops.batchnorm_backward")
def check_layernorm_backward(student):
    """Exercise 10.4: ``layernorm_backward(dout, xhat, inv_std, gamma) -> (dx, dgamma, dbeta)``."""
    rng = _rng()
    cases = [_ln_back_case(rng, shape) for shape in ((4, 5), (2, 3, 4), (3, 6))]
    return check_function(
        student, layernorm_backward, cases, name="Exercise 10.4 (layernorm_backward)",
        points=POINTS["layernorm_backward"], output_names=("dx", "dgamma", "dbeta"),
        mistakes=[
            Mistake("dx treats the mean and the variance as constants: they depend on every feature of the row, "
                    "which adds two paths", _ln_back_variant(mean_term=False, var_term=False),
                    "dx = (D * g - g.sum(-1, keepdims=True) - xhat * (g * xhat).sum(-1, keepdims=True)) * inv_std / D."),
            Mistake("dx misses the path through the mean: subtract g.sum(-1, keepdims=True)",
                    _ln_back_variant(mean_term=False), "The mean path gives - sum_j g_j."),
            Mistake("dx misses the path through the variance: subtract xhat * (g * xhat).sum(-1, keepdims=True)",
                    _ln_back_variant(var_term=False), "The variance path gives - xhat * sum_j g_j xhat_j."),
            Mistake("dx forgets gamma: the gradient reaching xhat is g = dout * gamma",
                    _ln_back_variant(use_gamma=False), "Start from g = dout * gamma."),
        ],
        hints=["dgamma and dbeta sum over every position (all axes but the last): gamma and beta are shared. "
               "For dx, start from g = dout * gamma, the gradient of xhat.",
               "The mean and the variance depend on every feature of the row, so dx gathers three paths. As for batch "
               "norm, with D features in place of N examples: dx = inv_std / D * (D g - sum_j g_j - xhat sum_j g_j "
               "xhat_j), the sums over the last axis.",
               "g = dout * gamma; D = xhat.shape[-1]; axes = tuple(range(xhat.ndim - 1)); dx = (D * g - g.sum(-1, "
               "keepdims=True) - xhat * (g * xhat).sum(-1, keepdims=True)) * inv_std / D; return dx, (dout * "
               "xhat).sum(axes), dout.sum(axes)"])


# ----------------------------------------------------------------------------- 10.5 embedding backward

def embedding_backward(dout, idx, V):
    r"""Reference: ``dW`` (V, D), the rows of ``dout`` added into the rows of their ids (:func:`bpkit.ops.embedding_backward`)."""
    W = np.zeros((V, dout.shape[-1]))
    return ops.embedding_backward(dout, ops.embedding_forward(idx, W)[1])


def _overwrite(dout, idx, V):
    dW = np.zeros((V, dout.shape[-1]))
    dW[idx.ravel()] = dout.reshape(-1, dout.shape[-1])
    return dW


def _emb_case(rng, shape, V):
    idx = rng.integers(0, V, size=shape)
    idx.flat[-1] = idx.flat[0]                                  # at least one id repeats in every case
    return rng.normal(size=shape + (3,)), idx, V


@own_work("bpkit.ops.embedding_backward", "bpkit.nn.Embedding.backward")
def check_embedding_backward(student):
    """Exercise 10.5: ``embedding_backward(dout, idx, V) -> dW`` of shape (V, D)."""
    rng = _rng()
    cases = [_emb_case(rng, shape, V) for shape, V in (((1, 4), 3), ((2, 5), 4), ((7,), 5), ((3, 4), 10))]
    return check_function(
        student, embedding_backward, cases, name="Exercise 10.5 (embedding_backward)",
        points=POINTS["embedding_backward"],
        mistakes=[
            Mistake("the gradients of a repeated id overwrite each other instead of accumulating: dW[idx] = dout, "
                    "and also dW[idx] += dout, keeps only one of them. Use np.add.at(dW, idx, dout) or a loop",
                    _overwrite, "np.add.at(dW, idx.ravel(), dout.reshape(-1, D)) adds every row."),
        ],
        hints=["The forward pass copies row idx[p] of W to position p. Each position sends its gradient dout[p] "
               "back to that row; an id used several times gets the sum.",
               "Fancy-index assignment keeps one value per repeated index, even with +=. np.add.at accumulates.",
               "dW = np.zeros((V, dout.shape[-1])); np.add.at(dW, idx.ravel(), dout.reshape(-1, dout.shape[-1])); "
               "return dW"])


# ----------------------------------------------------------------------------- 10.6 splitting the heads

def split_heads(x, heads):
    """Reference: (N, T, D) -> (N * heads, T, D // heads), head h of example n at index n * heads + h."""
    N, T, D = x.shape
    return x.reshape(N, T, heads, D // heads).transpose(0, 2, 1, 3).reshape(N * heads, T, D // heads)


def _split_plain(x, heads):
    N, T, D = x.shape
    return x.reshape(N * heads, T, D // heads)


def _split_heads_first(x, heads):
    N, T, D = x.shape
    return x.reshape(N, T, heads, D // heads).transpose(2, 0, 1, 3).reshape(heads * N, T, D // heads)


def _split_strided(x, heads):
    N, T, D = x.shape
    return x.reshape(N, T, D // heads, heads).transpose(0, 3, 1, 2).reshape(N * heads, T, D // heads)


@own_work("bpkit.nn.MultiHeadAttention._split")
def check_split_heads(student):
    """Exercise 10.6: ``split_heads(x, heads) -> (N * heads, T, d)`` by reshape and transpose."""
    rng = _rng()
    cases = [(rng.normal(size=s), h) for s, h in (((2, 3, 4), 2), ((3, 4, 6), 3), ((2, 5, 8), 4))]
    return check_function(
        student, split_heads, cases, name="Exercise 10.6 (split_heads)", points=POINTS["split_heads"],
        mistakes=[
            Mistake("x.reshape(N * heads, T, d) without a transpose: the shape is right, but it cuts the sequence "
                    "into pieces instead of cutting each position's D features into heads",
                    _split_plain, "Reshape to (N, T, heads, d) first, then move the heads axis next to N."),
            Mistake("the heads are stacked before the batch (heads, N) instead of (N, heads): head h of example n "
                    "must be at index n * heads + h", _split_heads_first, "Transpose with (0, 2, 1, 3)."),
            Mistake("each head takes every heads-th feature instead of a contiguous block of d features: reshape "
                    "the last axis to (heads, d), not (d, heads)", _split_strided, "x.reshape(N, T, heads, d)."),
        ],
        hints=["Head h uses the features [h d, (h + 1) d) of every position. Reshape (N, T, D) to (N, T, heads, d).",
               "Then move the heads axis in front of T: transpose(0, 2, 1, 3) gives (N, heads, T, d), and a last "
               "reshape folds N and heads into one batch axis.",
               "N, T, D = x.shape; return x.reshape(N, T, heads, D // heads).transpose(0, 2, 1, 3).reshape(N * heads, "
               "T, D // heads)"])


# ----------------------------------------------------------------------------- 10.7 parameters of a block

def block_num_params(D):
    """Reference: the parameters of ``bpkit.nn.TransformerBlock(D, heads)``, $12D^2 + 13D$."""
    return nn.TransformerBlock(D, 1, rng=np.random.default_rng(0)).num_params()


def check_block_num_params(student):
    """Exercise 10.7: ``block_num_params(D) -> int``."""
    cases = [(D,) for D in BLOCK_WIDTHS]
    return check_function(
        student, block_num_params, cases, name="Exercise 10.7 (block_num_params)", points=POINTS["block_num_params"],
        rtol=0, atol=0,                                     # a count is exact: at D = 768, 1 in 7 million
        mistakes=[
            Mistake("the biases are missing: 3D for q, k, v, D for the output projection, 4D and D in the MLP",
                    lambda D: 12 * D * D + 4 * D, "Add the 9D biases."),
            Mistake("the two layer norms are missing: each has gamma and beta, D each",
                    lambda D: 12 * D * D + 9 * D, "Add 4D for the two layer norms."),
            Mistake("the attention's output projection Wo (D, D) and bo are missing",
                    lambda D: 11 * D * D + 12 * D, "Add Wo and bo: D^2 + D."),
            Mistake("the MLP is counted with a hidden width of D: it is 4D wide, D -> 4D -> D",
                    lambda D: 6 * D * D + 10 * D, "W1 is (D, 4D) and W2 is (4D, D)."),
        ],
        hints=["Count the shapes: attention has Wqkv (D, 3D), bqkv (3D,), Wo (D, D), bo (D,); the MLP W1 (D, 4D), "
               "b1 (4D,), W2 (4D, D), b2 (D,); two layer norms with gamma and beta (D,) each.",
               "Attention: 4D^2 + 4D. MLP: 8D^2 + 5D. Layer norms: 4D.",
               "return 12 * D * D + 13 * D"])


# ----------------------------------------------------------------------------- 10.8 a sharp head (widget)

_KEYS = {"sentence", "head", "query", "sharpness", "causal"}


def _previous_weight(sharpness):
    fixed = SHARP_HEAD
    r = attention_map(fixed["sentence"], fixed["head"], fixed["query"], sharpness, fixed["causal"])
    return float(r.weights[list(HEADS).index(fixed["head"]), fixed["query"], fixed["query"] - 1])


def check_sharp_head(answer):
    """Exercise 10.8: explorer settings with the smallest sharpness giving weight >= 0.9 one character back."""
    name, pts = "Exercise 10.8 (sharp_head)", POINTS["sharp_head"]
    f = SHARP_HEAD
    lo, hi, step = _SHARP
    hints = [f"Keep the sentence, the head '{f['head']}', the query t = {f['query']} and the causal mask; move "
             f"only the sharpness, one slider step ({step:g}) at a time, and read the weight of key "
             f"{f['query'] - 1} in the summary.",
             "At sharpness a, the matching key scores 4a and the other keys 0, so its weight is e^(4a) / (e^(4a) + "
             f"{f['query']}) with {f['query'] + 1} keys visible: solve for the weight {f['weight']:g}, then take the "
             "next slider value.",
             "for a in np.arange(0, 3.01, 0.25): explorer.sharpness = a; if explorer.weight(9) >= 0.9: "
             "return explorer.values()"]
    got = handed_in_settings(answer, _KEYS, "explorer.values()", name, pts, hints)
    if isinstance(got, CheckResult):
        return got
    changed = [k for k in ("sentence", "head", "query", "causal") if got[k] != f[k]]
    if changed:
        return CheckResult(name, "incorrect", f"keep {', '.join(f'{k} = {f[k]!r}' for k in changed)}; move only "
                           "the sharpness.", hints, max_points=pts, mistake="changed fixed settings")
    try:
        a = float(got["sharpness"])
        w = _previous_weight(a)
    except (TypeError, ValueError) as exc:
        return CheckResult(name, "error", f"these settings are not the explorer's: {exc}", hints, max_points=pts)
    shown = f"sharpness {a:.2f}: weight {w:.3f} on key {f['query'] - 1}"
    if w < f["weight"]:
        return CheckResult(name, "incorrect", f"{shown}, below {f['weight']:g}: increase the sharpness.", hints,
                           [shown], max_points=pts, mistake="too small")
    grid = np.round(np.arange(lo, a - step / 2, step), 2)
    earlier = next((float(s) for s in grid if _previous_weight(float(s)) >= f["weight"]), None)
    if earlier is not None:
        return CheckResult(name, "incorrect", f"{shown}; but a sharpness of {earlier:g} already gives "
                           f"{_previous_weight(earlier):.3f}: find the smallest.", hints, [shown], max_points=pts,
                           mistake="not the smallest")
    return CheckResult(name, "correct", f"{shown}, and every smaller slider value gives less than {f['weight']:g}. "
                       "Sharper scores concentrate the softmax on the best match.", hints, [shown], points=pts,
                       max_points=pts)


# ----------------------------------------------------------------------------- 10.9 the key gradient (widget)

def check_key_gradient(answer):
    """Exercise 10.9: the key position that receives the largest gradient |dL/dk_s| (an int)."""
    name, pts = "Exercise 10.9 (key_gradient)", POINTS["key_gradient"]
    f = KEY_GRADIENT
    r = attention_map(**f)
    h, t = list(HEADS).index(f["head"]), f["query"]
    best, heavy = int(np.argmax(r.dk)), int(np.argmax(r.weights[h, t]))
    hints = ["Read the summary's last line, or the orange bars of the lower panel: the key gradient |dL/dk_s| of "
             "every position.",
             "The key gradient is P_ts (u . v_s - sum_r P_tr u . v_r) q_t / sqrt(d): large where the weight is not "
             "tiny and the value differs from the weighted average of the values. It need not be the largest weight.",
             "return int(np.argmax(explorer2.result.dk))"]
    got = handed_in(answer, name, pts, hints, "hand in a key position and run this cell again.")
    if isinstance(got, CheckResult):
        return got
    try:
        s = int(got)
        if s != float(got):
            raise ValueError
    except (TypeError, ValueError):
        return CheckResult(name, "error", f"expected a key position, a whole number, got {type(got).__name__} "
                           f"{got!r}.", hints, max_points=pts)
    T = len(f["sentence"])
    if not 0 <= s < T:
        return CheckResult(name, "incorrect", f"{s} is not a position of the sentence (0 to {T - 1}).", hints,
                           max_points=pts)
    shown = f"key {s}: |dL/dk| = {r.dk[s]:.3f}, weight {r.weights[h, t, s]:.3f}"
    if s == best:
        return CheckResult(name, "correct", f"{shown}, the largest key gradient. Its weight is small, but its value "
                           "differs most from the weighted average that the query currently gets.", hints, [shown],
                           points=pts, max_points=pts)
    if s > t:
        return CheckResult(name, "incorrect", f"{shown}: key {s} comes after the query t = {t}, and the causal mask "
                           "sends it no gradient at all.", hints, [shown], max_points=pts, mistake="a masked key")
    if s == heavy or r.weights[h, t, s] == r.weights[h, t, heavy]:
        return CheckResult(name, "incorrect", f"{shown}: that key has the largest weight, and so the largest value "
                           "gradient (dv_s = P_ts u); the key gradient also depends on how much v_s differs from the "
                           "weighted average.", hints, [shown], max_points=pts, mistake="the largest weight")
    return CheckResult(name, "incorrect", f"{shown}: another key gets a larger key gradient.", hints, [shown],
                       max_points=pts)
