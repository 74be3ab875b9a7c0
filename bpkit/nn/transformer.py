r"""The transformer's modules (Chapter 10), over :mod:`bpkit.ops.attention`.

``Embedding`` turns token ids (N, T) into vectors (N, T, D); ``PositionalEncoding`` adds a
fixed sinusoidal code of each position; ``LayerNorm`` normalises each position over its D
features; ``MultiHeadAttention`` runs ``heads`` attentions of width D / heads side by side
(split and merged by reshapes, no loop over heads); ``TransformerBlock`` is the pre-norm block
$x + \mathrm{MHA}(\mathrm{LN}(x))$ followed by $x + \mathrm{MLP}(\mathrm{LN}(x))$. Sequences are
(N, T, D), batch first. The argument checks are in :mod:`bpkit.nn._args`.
"""

from __future__ import annotations

import numpy as np

from ..init import get_initializer
from ..ops.attention import attention_backward, attention_forward, embedding_backward, embedding_forward
from ..ops.attention import layernorm_backward, layernorm_forward
from ._args import _check_init_shape, _forward_dout, _heads_args, _layer_args, _layer_dout, _width_input
from .activations import GELU
from .dense import Linear
from .module import Module

__all__ = ["Embedding", "PositionalEncoding", "LayerNorm", "MultiHeadAttention", "TransformerBlock"]


class Embedding(Module):
    r"""A table of V learned vectors of width D: token ids ``idx`` (any shape) -> ``W[idx]``.

    The output has shape ``idx.shape + (D,)``.
    Equivalent to a one-hot vector times ``W``, without building the one-hot matrix.
    ``W`` starts $\mathcal N(0, 1)$, as in PyTorch. ``backward`` fills ``grads["W"]`` (repeated
    ids add up) and returns ``None``: ids are integers and have no gradient.

    ``params``: ``W`` (V, D).
    """

    def __init__(self, V, D, *, rng=None, dtype=np.float64):
        super().__init__()
        self.dtype = _layer_args("Embedding", (("V", V), ("D", D)), "Pass the vocabulary size V and the width D, "
                                 "e.g. Embedding(65, 64, rng=rng).", rng, dtype)
        self.V, self.D = int(V), int(D)
        self._params["W"] = rng.standard_normal((self.V, self.D)).astype(self.dtype)

    def forward(self, idx):
        out, self._cache = embedding_forward(idx, self._params["W"])
        return out

    def backward(self, dout, input_grad=True):
        self._grads["W"] = embedding_backward(dout, self._need_cache())
        return None

    def extra_repr(self):
        return f"{self.V}, {self.D}" + ("" if self.dtype == np.float64 else f", dtype={self.dtype}")


class PositionalEncoding(Module):
    r"""Adds a fixed code of each position $t$ to ``x`` (N, T, D).

    $P_{t, 2i} = \sin(t\,\omega_i)$ and $P_{t, 2i+1} = \cos(t\,\omega_i)$.
    The frequencies $\omega_i = 10000^{-2i/D}$ run from one radian per step down to a period of
    about $2\pi \cdot 10^4$ steps (Vaswani et al., 2017). Attention itself treats its keys as a
    set; this code is what tells position 3 from position 30. No parameters: ``backward``
    passes ``dout`` through unchanged. ``max_len`` is the longest sequence it accepts.
    """

    def __init__(self, D, max_len=1024, *, dtype=np.float64):
        super().__init__()
        self.dtype = _layer_args("PositionalEncoding", (("D", D), ("max_len", max_len)),
                                 "Pass the width D and the longest sequence, e.g. PositionalEncoding(64, 256).",
                                 np.random.default_rng(0), dtype)
        self.D, self.max_len = int(D), int(max_len)
        t = np.arange(self.max_len)[:, None]
        omega = 10000.0 ** (-np.arange(0, self.D, 2) / self.D)
        P = np.zeros((self.max_len, self.D))
        P[:, 0::2] = np.sin(t * omega)
        P[:, 1::2] = np.cos(t * omega[: self.D // 2])
        self.P = P.astype(self.dtype)

    def forward(self, x):
        x = _width_input(self, x)
        if x.shape[1] > self.max_len:
            raise ValueError(f"{self!r}.forward: sequences of T = {x.shape[1]} steps are longer than max_len = "
                             f"{self.max_len}. Build it with a larger max_len.")
        self._cache = x.shape
        return x + self.P[: x.shape[1]]

    def backward(self, dout, input_grad=True):
        _forward_dout(f"{self!r}.backward", dout, self._need_cache())
        return np.asarray(dout) if input_grad else None

    def extra_repr(self):
        return f"{self.D}, max_len={self.max_len}"


class LayerNorm(Module):
    r"""Layer normalisation over the last axis (:func:`bpkit.ops.layernorm_forward`): (..., D) -> (..., D).

    ``params``: ``gamma`` (D,) starting at ones, ``beta`` (D,) at zeros. The same in training
    and evaluation: it keeps no running statistics.
    """

    def __init__(self, D, eps=1e-5, *, dtype=np.float64):
        super().__init__()
        self.dtype = _layer_args("LayerNorm", (("D", D),), "Pass the number of features D, e.g. LayerNorm(64).",
                                 np.random.default_rng(0), dtype)
        self.D, self.eps = int(D), eps
        self._params["gamma"] = np.ones(self.D, dtype=self.dtype)
        self._params["beta"] = np.zeros(self.D, dtype=self.dtype)

    def forward(self, x):
        out, self._cache = layernorm_forward(x, self._params["gamma"], self._params["beta"], self.eps)
        return out

    def backward(self, dout, input_grad=True):
        dx, self._grads["gamma"], self._grads["beta"] = layernorm_backward(dout, self._need_cache())
        return dx if input_grad else None

    def extra_repr(self):
        return f"{self.D}" + ("" if self.dtype == np.float64 else f", dtype={self.dtype}")


class MultiHeadAttention(Module):
    r"""Multi-head self-attention on (N, T, D): ``heads`` attentions of width $d = D / \text{heads}$.

    $[Q\;K\;V] = X W_{qkv} + b_{qkv}$ (one product for all three); each of Q, K, V (N, T, D) is
    reshaped to (N, T, heads, d) and transposed to (N * heads, T, d), so one call of
    :func:`bpkit.ops.attention_forward` runs every head at once; the heads' outputs are merged
    back to (N, T, D) by the inverse reshape, and $Y = \text{merged}\, W_o + b_o$.

    ``params``: ``Wqkv`` (D, 3D), ``bqkv`` (3D,), ``Wo`` (D, D), ``bo`` (D,). After ``forward``,
    ``weights`` holds the attention weights (N, heads, T, T), what the widget draws.
    """

    def __init__(self, D, heads, *, causal=True, rng=None, dtype=np.float64, init="xavier"):
        super().__init__()
        self.dtype = _layer_args("MultiHeadAttention", (("D", D),), "Pass the width D and the number of heads, "
                                 "e.g. MultiHeadAttention(64, 4, rng=rng).", rng, dtype)
        _heads_args("MultiHeadAttention", int(D), heads)
        self.D, self.heads, self.causal = int(D), int(heads), bool(causal)
        init_fn = get_initializer(init, "MultiHeadAttention")
        Wqkv = np.hstack([np.asarray(init_fn(rng, self.D, self.D, self.dtype)) for _ in range(3)])
        Wo = np.asarray(init_fn(rng, self.D, self.D, self.dtype))
        _check_init_shape("MultiHeadAttention", Wo, (self.D, self.D))
        self._params.update(Wqkv=Wqkv.astype(self.dtype), bqkv=np.zeros(3 * self.D, self.dtype),
                            Wo=Wo.astype(self.dtype), bo=np.zeros(self.D, self.dtype))
        self.weights = None

    def _split(self, a, N, T):
        """(N T, D) -> (N heads, T, d)."""
        a = a.reshape(N, T, self.heads, -1).transpose(0, 2, 1, 3)   # (N, heads, T, d)
        return a.reshape(N * self.heads, T, -1)

    def _merge(self, a, N, T):
        """(N heads, T, d) -> (N T, D), the inverse of ``_split``."""
        a = a.reshape(N, self.heads, T, -1).transpose(0, 2, 1, 3)   # (N, T, heads, d)
        return a.reshape(N * T, self.D)

    def forward(self, x):
        x = _width_input(self, x)
        N, T, D = x.shape
        x2 = x.reshape(N * T, D)
        qkv = x2 @ self._params["Wqkv"] + self._params["bqkv"]                      # (N T, 3D)
        q, k, v = (self._split(qkv[:, i * D:(i + 1) * D], N, T) for i in range(3))  # (N heads, T, d) each
        a, att = attention_forward(q, k, v, causal=self.causal)
        merged = self._merge(a, N, T)                                               # (N T, D)
        self.weights = att.p.reshape(N, self.heads, T, T)
        self._cache = x2, att, merged, (N, T)
        return (merged @ self._params["Wo"] + self._params["bo"]).reshape(N, T, D)

    def backward(self, dout, input_grad=True):
        x2, att, merged, (N, T) = self._need_cache()
        _layer_dout(self, dout, (N, T, self.D))
        d2 = np.asarray(dout, dtype=self.dtype).reshape(N * T, self.D)
        self._grads["Wo"], self._grads["bo"] = merged.T @ d2, d2.sum(axis=0)
        da = self._split(d2 @ self._params["Wo"].T, N, T)                           # (N heads, T, d)
        dq, dk, dv = attention_backward(da, att)
        dqkv = np.hstack([self._merge(g, N, T) for g in (dq, dk, dv)])              # (N T, 3D)
        self._grads["Wqkv"], self._grads["bqkv"] = x2.T @ dqkv, dqkv.sum(axis=0)
        return (dqkv @ self._params["Wqkv"].T).reshape(N, T, self.D) if input_grad else None

    def extra_repr(self):
        return f"{self.D}, heads={self.heads}" + ("" if self.causal else ", causal=False") + (
            "" if self.dtype == np.float64 else f", dtype={self.dtype}")


class TransformerBlock(Module):
    r"""A pre-norm transformer block on (N, T, D).

    $$\begin{aligned} u &= x + \mathrm{MHA}(\mathrm{LN}_1(x)),\\ y &= u + W_2\,\mathrm{GELU}(W_1\,\mathrm{LN}_2(u)),\end{aligned}$$

    with an MLP of width 4D applied at every position. ``residual=False`` drops the two
    ``x +``, ``norm=False`` the two layer norms: Chapter 10 measures what each does to the
    gradients of a deep stack. GELU uses the tanh form by default (``approximate="tanh"``, as
    GPT-2 does), which is many times faster here than the exact erf form.

    ``params``: those of ``ln1``, ``attn``, ``ln2``, ``fc1`` and ``fc2``, prefixed with their names,
    e.g. ``attn.Wqkv``, ``fc1.W``.
    """

    def __init__(self, D, heads, *, causal=True, rng=None, dtype=np.float64, residual=True, norm=True,
                 approximate="tanh"):
        super().__init__()
        self.dtype = _layer_args("TransformerBlock", (("D", D),), "Pass the width D and the number of heads, "
                                 "e.g. TransformerBlock(64, 4, rng=rng).", rng, dtype)
        self.D, self.residual, self.norm = int(D), bool(residual), bool(norm)
        self.ln1, self.ln2 = LayerNorm(D, dtype=dtype), LayerNorm(D, dtype=dtype)
        self.attn = MultiHeadAttention(D, heads, causal=causal, rng=rng, dtype=dtype)
        self.fc1 = Linear(D, 4 * self.D, rng=rng, dtype=dtype, init="he")
        self.act = GELU(approximate)
        self.fc2 = Linear(4 * self.D, D, rng=rng, dtype=dtype, init="xavier")
        self._parts = {"ln1": self.ln1, "attn": self.attn, "ln2": self.ln2, "fc1": self.fc1, "fc2": self.fc2}
        if not self.norm:
            del self._parts["ln1"], self._parts["ln2"]

    @property
    def params(self):
        return {f"{n}.{k}": v for n, m in self._parts.items() for k, v in m.params.items()}

    @property
    def grads(self):
        return {f"{n}.{k}": v for n, m in self._parts.items() for k, v in m.grads.items()}

    def forward(self, x):
        x = _width_input(self, x)
        N, T, D = x.shape
        a = self.attn.forward(self.ln1.forward(x) if self.norm else x)
        u = x + a if self.residual else a
        h = self.ln2.forward(u) if self.norm else u
        m = self.fc2.forward(self.act.forward(self.fc1.forward(h.reshape(N * T, D)))).reshape(N, T, D)
        self._cache = (N, T)
        return u + m if self.residual else m

    def backward(self, dout, input_grad=True):
        N, T = self._need_cache()
        _layer_dout(self, dout, (N, T, self.D))
        dout = np.asarray(dout, dtype=self.dtype)
        dz = self.act.backward(self.fc2.backward(dout.reshape(N * T, self.D)))
        dh = self.fc1.backward(dz).reshape(N, T, -1)
        du = self.ln2.backward(dh) if self.norm else dh
        if self.residual:
            du = du + dout
        dx = self.attn.backward(du)
        dx = self.ln1.backward(dx) if self.norm else dx
        return dx + du if self.residual else dx

    def extra_repr(self):
        return f"{self.D}, heads={self.attn.heads}" + ("" if self.residual else ", residual=False") + (
            "" if self.norm else ", norm=False") + ("" if self.dtype == np.float64 else f", dtype={self.dtype}")
