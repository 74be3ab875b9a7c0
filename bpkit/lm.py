r"""Character-level language models (Chapter 10): an LSTM and a small transformer, trained the same way.

Both map character ids ``x`` (N, T) to logits (N, T, V) for the next character at every
step, and are plain :class:`bpkit.nn.Sequential` models, so ``params``, ``grads`` and the
optimizers work as everywhere else. :func:`train_lm` draws random windows of the text
(:func:`bpkit.data.char_windows`), :func:`evaluate` measures the mean cross-entropy per
character in nats on fixed windows, and :func:`sample` generates text: the LSTM one step at a
time from its carried state (``return_state=True``), the transformer by re-reading its last
``window`` characters, since it has no state to carry.
"""

from __future__ import annotations

import numpy as np

from . import nn
from .data import char_windows
from .losses import softmax_cross_entropy_loss
from .optim import Adam, clip_grad_norm

__all__ = ["char_lstm", "char_transformer", "lm_loss", "train_lm", "evaluate", "sample"]


def char_lstm(V, H=128, E=32, *, rng, dtype=np.float32):
    """Embedding(V, E) -> LSTM(E, H) -> a Linear(H, V) at every step: ids (N, T) -> logits (N, T, V)."""
    return nn.Sequential(nn.Embedding(V, E, rng=rng, dtype=dtype), nn.LSTM(E, H, rng=rng, dtype=dtype),
                         nn.TimeDistributed(nn.Linear(H, V, rng=rng, dtype=dtype, init="xavier")))


def char_transformer(V, D=64, heads=4, layers=2, max_len=256, *, rng, dtype=np.float32):
    """Embedding, sinusoidal positions, ``layers`` causal pre-norm blocks, a final LayerNorm and Linear(D, V)."""
    blocks = [nn.TransformerBlock(D, heads, rng=rng, dtype=dtype) for _ in range(layers)]
    emb = nn.Embedding(V, D, rng=rng, dtype=dtype)
    emb.params["W"] *= 0.5                   # token vectors about as large as the position code
    return nn.Sequential(emb, nn.PositionalEncoding(D, max_len, dtype=dtype), *blocks,
                         nn.LayerNorm(D, dtype=dtype), nn.TimeDistributed(nn.Linear(D, V, rng=rng, dtype=dtype,
                                                                                    init="xavier")))


def lm_loss(model, x, y):
    """Mean cross-entropy per character (nats) of ``model`` on ids ``x`` (N, T) with targets ``y`` (N, T).

    Returns ``(loss, dlogits)`` with ``dlogits`` (N, T, V), ready for ``model.backward``.
    """
    logits = model.forward(x)
    N, T, V = logits.shape
    loss, d = softmax_cross_entropy_loss(logits.reshape(N * T, V), y.reshape(-1))
    return loss, d.reshape(N, T, V)


def train_lm(model, ids, steps, rng, N=32, T=64, lr=3e-3, clip=1.0):
    """``steps`` Adam steps on random windows (N, T) of ``ids``, gradients clipped to norm ``clip``.

    Returns the list of training losses (nats per character), one per step.
    """
    opt, history = Adam(lr=lr), []
    for _ in range(steps):
        x, y = char_windows(ids, N, T, rng)
        loss, dlogits = lm_loss(model, x, y)
        model.backward(dlogits, input_grad=False)
        clip_grad_norm(model.grads, clip)
        opt.step(model.params, model.grads)
        history.append(loss)
    return history


def evaluate(model, ids, T=64, windows=64):
    """Mean loss per character (nats) on ``windows`` evenly spaced windows of ``ids``, the same every call."""
    starts = np.linspace(0, len(ids) - T - 1, windows).astype(int)
    win = ids[starts[:, None] + np.arange(T + 1)]
    return float(lm_loss(model, win[:, :-1], win[:, 1:])[0])


def _softmax_draw(logits, rng, temperature):
    z = logits.astype(np.float64) / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def sample(model, prompt, n, rng, temperature=1.0, window=64):
    """``n`` characters ids drawn after the ids ``prompt`` (1-D), one at a time; returns them as an int array.

    A model whose second layer is an LSTM carries its state from step to step
    (``return_state=True``), so each new character costs one step; any other model re-reads
    its last ``window`` characters for each new one.
    """
    prompt = np.asarray(prompt, dtype=np.int64)
    out = []
    if isinstance(model[1], nn.LSTM):
        emb, lstm, head = model[0], model[1], model[2]
        h, (hT, cT) = lstm.forward(emb.forward(prompt[None]), return_state=True)
        logits = head.forward(h[:, -1:])[0, -1]
        for _ in range(n):
            out.append(_softmax_draw(logits, rng, temperature))
            h, (hT, cT) = lstm.forward(emb.forward(np.array([[out[-1]]])), hT, cT, return_state=True)
            logits = head.forward(h)[0, -1]
        return np.array(out, dtype=np.int64)
    ctx = list(prompt)
    for _ in range(n):
        logits = model.forward(np.array([ctx[-window:]]))[0, -1]
        ctx.append(_softmax_draw(logits, rng, temperature))
        out.append(ctx[-1])
    return np.array(out, dtype=np.int64)
