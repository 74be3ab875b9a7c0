r"""Widget of Chapter 10: what the heads of an attention layer look at, and where one query's gradient goes.

``AttentionExplorer`` runs four attention heads over a short sentence, one character per
position, and draws each head's weights $P_{ts}$ (query $t$ in the rows, key $s$ in the
columns). The heads are built by hand, so their patterns can be read: **previous** looks one
character back (its queries and keys are one-hot codes of the position), **same letter** looks
at earlier copies of the query's character (one-hot codes of the character), **start** looks
at the first character, and **mixed** has random query and key maps. For one query $t$ a loss
$L = u \cdot \mathrm{out}_t$, with a fixed random $u$, is backpropagated through
:func:`bpkit.ops.attention_backward`, and the second panel shows the norm of the gradient
that reaches each key $k_s$ and each value $v_s$: $dv_s = P_{ts}\,u$ follows the weights, and
$dk_s = P_{ts}\,(u \cdot v_s - \sum_r P_{tr}\, u \cdot v_r)\, q_t / \sqrt d$ is also
weighted by how much better than average the value $v_s$ serves the loss. A masked key gets
exactly nothing.

Controls: the sentence, the head, the query position, a ``sharpness`` that multiplies every
score (1 is plain scaled dot-product attention; 0 gives uniform weights), and the causal mask.
Every number comes from :func:`attention_map`, which tests and exercise checks call directly.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .. import ops
from ._base import Widget as _Widget
from ._base import control_property

__all__ = ["HEADS", "SENTENCES", "AttentionExplorer", "AttentionMap", "attention_map"]

#: The sentences offered (lower-case letters, spaces and full stops).
SENTENCES = ("the cat sat on the mat.", "a rose is a rose is a rose.", "to be or not to be.")
#: The four heads, in order: name -> what it looks at.
HEADS = {"previous": "the character one step back", "same letter": "earlier copies of the query's character",
         "start": "the first character", "mixed": "random query and key maps"}
_SHARP = (0.0, 3.0, 0.25)          # min, max, step of the sharpness slider
_ALPHABET = "abcdefghijklmnopqrstuvwxyz ."
_L = 32                            # longest sentence; the width d of every head's queries and keys
_STRENGTH = 4.0                    # scores of a matching query and key, at sharpness 1


class AttentionMap(NamedTuple):
    """The outcome of :func:`attention_map`."""

    sentence: str
    weights: np.ndarray        #: (heads, T, T): every head's attention weights, rows are queries
    dk: np.ndarray             #: (T,): norm of dL/dk_s for the chosen head and query
    dv: np.ndarray             #: (T,): norm of dL/dv_s
    dq: float                  #: norm of dL/dq_t


@functools.lru_cache(maxsize=None)
def _heads(sentence):
    """Queries, keys (4, T, d) and values (4, T, 8) of the four heads at sharpness 1, and the loss direction u."""
    T, d = len(sentence), _L
    rng = np.random.default_rng(10)
    a = np.sqrt(_STRENGTH * np.sqrt(d))                  # q . k / sqrt(d) = STRENGTH for a match
    pos, ch = np.eye(d)[:T], np.eye(d)[[_ALPHABET.index(c) for c in sentence]]
    q = np.zeros((4, T, d))
    k = np.zeros((4, T, d))
    q[0, 1:], k[0] = a * pos[:-1], a * pos               # previous: query t matches key t - 1
    q[1], k[1] = a * ch, a * ch                          # same letter
    q[2], k[2, 0] = a * np.ones((T, d)) / np.sqrt(d), a * np.ones(d) / np.sqrt(d)   # start
    emb = rng.standard_normal((len(_ALPHABET), d)) / np.sqrt(d)
    e = emb[[_ALPHABET.index(c) for c in sentence]] + 0.5 * pos
    q[3], k[3] = e @ rng.standard_normal((d, d)), e @ rng.standard_normal((d, d))  # mixed
    v = np.broadcast_to(rng.standard_normal((len(_ALPHABET), 8))[[_ALPHABET.index(c) for c in sentence]],
                        (4, T, 8)).copy()
    return q, k, v, rng.standard_normal(8)


def attention_map(sentence=SENTENCES[0], head="previous", query=5, sharpness=1.0, causal=True):
    """The four heads' weights over ``sentence`` and the gradient of $L = u \\cdot \\mathrm{out}_t$ for ``query`` t.

    ``sharpness`` multiplies every score (it scales the queries). Deterministic.
    """
    _check("sentence", sentence, "attention_map")
    _check("head", head, "attention_map")
    _check("query", query, "attention_map", len(sentence))
    _check("sharpness", sharpness, "attention_map")
    q, k, v, u = _heads(sentence)
    out, cache = ops.attention_forward(q * float(sharpness), k, v, causal=bool(causal))
    h = list(HEADS).index(head)
    dout = np.zeros_like(out)
    dout[h, query] = u
    dq, dk, dv = ops.attention_backward(dout, cache)
    return AttentionMap(sentence, cache.p, np.linalg.norm(dk[h], axis=-1), np.linalg.norm(dv[h], axis=-1),
                        float(np.linalg.norm(dq[h, query])))


def _in_steps(v, lo, hi, step):
    return lo - 1e-9 <= v <= hi + 1e-9 and abs((v - lo) / step - round((v - lo) / step)) < 1e-6


def _check(name, v, who="AttentionExplorer", T=None):
    number = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
    if name == "sentence" and v not in SENTENCES:
        raise ValueError(f"{who}: 'sentence' must be one of {list(SENTENCES)}, got {v!r}.")
    if name == "head" and v not in HEADS:
        raise ValueError(f"{who}: 'head' must be one of {list(HEADS)}, got {v!r}.")
    if name == "query" and T is not None and not (number and float(v) == int(v) and 0 <= int(v) < T):
        raise ValueError(f"{who}: 'query' must be a position from 0 to {T - 1} (the sentence has {T} characters), "
                         f"got {v!r}.")
    if name == "sharpness" and not (number and _in_steps(float(v), *_SHARP)):
        lo, hi, step = _SHARP
        raise ValueError(f"{who}: 'sharpness' must be from {lo:g} to {hi:g} in steps of {step:g} (the slider's "
                         f"values), got {v!r}.")
    if name == "causal" and not isinstance(v, (bool, np.bool_)):
        raise ValueError(f"{who}: 'causal' must be True or False, got {v!r}.")


def _show(c):
    return {" ": "_", ".": "."}.get(c, c)


class AttentionExplorer(_Widget):
    r"""Four attention heads over a sentence, and one query's gradient flowing back to the keys and values.

    Controls: ``sentence`` (one of :data:`SENTENCES`), ``head`` (one of :data:`HEADS`),
    ``query`` (a position of the sentence), ``sharpness`` (0 to 3, multiplies every score) and
    ``causal`` (the mask). ``result`` is :func:`attention_map` of :meth:`values`.
    """

    _title = "Attention weights of four heads, and one query's gradient"

    def __init__(self, sentence=SENTENCES[0], head="previous", query=5, sharpness=1.0, causal=True):
        values = {"sentence": sentence, "head": head, "query": query, "sharpness": sharpness, "causal": causal}
        for key, val in values.items():
            _check(key, val, T=len(sentence) if key == "query" else None)
        self._init = values
        self._init_widgets()
        self.update()

    def _controls(self):
        W, v = self._W, self._init
        style = {"description_width": "initial"}
        self._sentence = W.Dropdown(options=list(SENTENCES), value=v["sentence"], description="sentence")
        self._head = W.Dropdown(options=list(HEADS), value=v["head"], description="head")
        self._query = W.IntSlider(value=int(v["query"]), min=0, max=len(v["sentence"]) - 1, description="query t",
                                  continuous_update=False, style=style)
        self._sharp = W.FloatSlider(value=float(v["sharpness"]), min=_SHARP[0], max=_SHARP[1], step=_SHARP[2],
                                    description="sharpness", continuous_update=False, readout_format=".2f",
                                    style=style)
        self._causal = W.Checkbox(value=bool(v["causal"]), description="causal mask")
        self._sentence.observe(self._new_sentence, names="value")
        for c in (self._head, self._query, self._sharp, self._causal):
            c.observe(self._on_change, names="value")
        return [W.HBox([self._sentence, self._head]), W.HBox([self._query, self._sharp, self._causal])]

    def _new_sentence(self, _change=None):
        hold, self._hold = self._hold, True
        self._query.max = len(self.sentence) - 1          # clamps the query into the new sentence
        self._hold = hold
        self.update()

    sentence = control_property("sentence", "_sentence", str, "The sentence, one of SENTENCES.")
    head = control_property("head", "_head", str, "The head whose gradient is shown, one of HEADS.")
    query = control_property("query", "_query", int, "The query position t (0 is the first character).")
    sharpness = control_property("sharpness", "_sharp", lambda v: round(float(v), 2),
                                 "Multiplies every score: 0 (uniform) to 3, steps of 0.25.")
    causal = control_property("causal", "_causal", bool, "Whether position t sees only positions <= t.")

    def values(self) -> dict:
        """The controls as a dict: ``attention_map(**explorer.values())`` reproduces the picture's numbers."""
        return {"sentence": self.sentence, "head": self.head, "query": self.query, "sharpness": self.sharpness,
                "causal": self.causal}

    def _check_control(self, name, value):
        if name == "sentence":
            _check(name, value)
            return
        _check(name, value, T=len(self.sentence) if name == "query" else None)

    def set(self, **values):
        """Set several controls at once; a new ``sentence`` is applied before the ``query`` is checked."""
        if "sentence" in values:
            _check("sentence", values["sentence"])
            if "query" in values:
                _check("query", values["query"], T=len(values["sentence"]))
            hold, self._hold = self._hold, True
            self.sentence = values.pop("sentence")
            self._hold = hold
        return super().set(**values)

    def weight(self, s=None) -> float:
        """The chosen head's weight of key ``s`` for the current query (default: the largest)."""
        row = self.result.weights[list(HEADS).index(self.head), self.query]
        return float(row.max() if s is None else row[s])

    def _recompute(self):
        self.result = attention_map(**self.values())

    def summary(self):
        r, v = self.result, self.values()
        s, t = v["sentence"], v["query"]
        row = r.weights[list(HEADS).index(v["head"]), t]
        top = np.argsort(-row, kind="stable")[:3]
        seen = "keys 0 to t" if v["causal"] else "every key"
        return "\n".join([
            f"'{s}' ({len(s)} characters)",
            f"head '{v['head']}': {HEADS[v['head']]}",
            f"sharpness {v['sharpness']:.2f}; causal mask {'on' if v['causal'] else 'off'}",
            f"query t = {t} ('{_show(s[t])}') sees {seen}; largest weights:",
            "  " + ", ".join(f"key {j} ('{_show(s[j])}') {row[j]:.3f}" for j in top),
            f"gradient of L = u . out_t: {int(np.sum(r.dv > 0))} keys get a value gradient",
            f"  |dv_s| largest at key {int(np.argmax(r.dv))} ({r.dv.max():.3f}), "
            f"|dk_s| largest at key {int(np.argmax(r.dk))} ({r.dk.max():.3f}), |dq_t| = {r.dq:.3f}",
        ])

    def figure(self):
        from matplotlib.figure import Figure
        r, v = self.result, self.values()
        s, t, h = v["sentence"], v["query"], list(HEADS).index(v["head"])
        T, labels = len(s), [_show(c) for c in s]
        fig = Figure(figsize=(11, 6.6))               # fixed margins: a layout engine would triple the drawing time
        grid = fig.add_gridspec(2, 4, height_ratios=[1.15, 1], left=0.06, right=0.99, top=0.95, bottom=0.09,
                                wspace=0.3, hspace=0.45)
        for i, name in enumerate(HEADS):
            ax = fig.add_subplot(grid[0, i])
            ax.imshow(r.weights[i], cmap="Blues", vmin=0, vmax=1)
            ax.set_title(name, fontsize=13, fontweight="bold" if i == h else "normal")
            ticks = range(0, T, 5)
            ax.set_xticks(ticks, [str(j) for j in ticks])
            ax.set_yticks(ticks, [str(j) for j in ticks])
            if i == h:
                ax.axhline(t, color="C3", lw=1.5)
            ax.set_xlabel("key s")
            if i == 0:
                ax.set_ylabel("query t")
        ax = fig.add_subplot(grid[1, :])
        x = np.arange(T)
        w = r.weights[h, t]
        ax.bar(x - 0.27, w, 0.27, label=f"weight P[t, s] of head '{v['head']}'", color="C0")
        ax.bar(x, r.dv / max(r.dv.max(), 1e-300), 0.27, label="|dL/dv_s| (relative)", color="C2")
        ax.bar(x + 0.27, r.dk / max(r.dk.max(), 1e-300), 0.27, label="|dL/dk_s| (relative)", color="C1")
        ax.set_xticks(x, labels)
        ax.axvline(t, color="C3", lw=1, ls=":")
        ax.set(xlabel=f"key position s (the dotted line is the query t = {t})", ylim=(0, 1.05),
               title="one query's weights, and the gradient its loss sends to each key and value")
        ax.legend(frameon=False, fontsize=12, loc="upper right")
        return fig
