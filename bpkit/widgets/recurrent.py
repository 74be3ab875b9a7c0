r"""Widget of Chapter 8: how far back a gradient reaches in a recurrent network.

``GradientFlowExplorer`` runs one random sequence through a vanilla RNN or an LSTM, puts a
loss on the last hidden state only, and backpropagates through time, one step at a time
with :func:`bpkit.ops.rnn_step_backward` or :func:`bpkit.ops.lstm_step_backward`. It draws
the norm of the gradient $\partial L/\partial h_t$ (and, for the LSTM, of the cell's
$\partial L/\partial c_t$) against the time step $t$ on a logarithmic scale, next to the
factor by which each step multiplies it: vanishing and exploding gradients, and the forget
gate that keeps the LSTM's gradient alive, at a glance.

Its controls are the cell type, the length $T$ of the sequence, the scale of the recurrent
weights $W_h$ and, for the LSTM, the initial bias of the forget gate. Every number comes
from :func:`gradient_flow`, which tests and exercise checks call directly; it is
deterministic for a ``seed``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .. import ops
from ._base import Widget as _Widget
from ._base import control_property

__all__ = ["FLOW_CELLS", "FlowResult", "GradientFlowExplorer", "gradient_flow", "random_orthogonal"]

#: The cell types offered: name -> description.
FLOW_CELLS = {"rnn": "vanilla RNN", "lstm": "LSTM"}

_T = (10, 200, 5)                 # min, max, step of the sliders
_SCALE = (0.1, 4.0, 0.05)
_BIAS = (-2.0, 5.0, 0.5)
_T_POOL = _T[1]                   # the inputs are the first T steps of one fixed sequence of this length
_DISTANCES = (10, 30, 50, 100, 150)


def random_orthogonal(rng, H):
    """A random orthogonal (H, H) matrix, uniformly distributed (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((H, H)))
    return q * np.sign(np.diag(r))


class FlowResult(NamedTuple):
    r"""The outcome of :func:`gradient_flow`; arrays of shape (T,), entry ``t - 1`` for time step ``t``.

    ``factor[t - 1]`` is what step ``t`` typically multiplies the gradient's norm by on its way
    back. For the RNN it is ``scale`` times the root mean square of $1 - h_t^2$ over the H units:
    $\partial L/\partial h_{t-1} = (\partial L/\partial h_t \odot (1 - h_t^2))\,W_h^\top$, and
    $W_h^\top$ multiplies every vector's norm by exactly ``scale``. For the LSTM it is the mean
    forget gate $\bar f_t$, what the path along the cell, $\partial L/\partial c_{t-1} =
    \partial L/\partial c_t \odot f_t$, multiplies by. ``product[t - 1]`` is the product of the
    factors of the steps $t + 1, \dots, T$ (1 at $t = T$).
    """

    cell: str
    dh: np.ndarray              #: norm of dL/dh_t (all paths), with |dL/dh_T| = 1
    dc: np.ndarray | None       #: LSTM: norm of dL/dc_t (all paths); None for the RNN
    factor: np.ndarray          #: per-step factor (see the class docstring)
    product: np.ndarray         #: product of the factors of the later steps

    def kept(self, k, which=None) -> float:
        """The gradient ``k`` steps before the last, relative to the last: ``dc`` for the LSTM, ``dh`` for the RNN.

        ``which`` (``"h"`` or ``"c"``) picks the other one explicitly.
        """
        which = which or ("c" if self.cell == "lstm" else "h")
        if which not in ("h", "c"):
            raise ValueError(f"FlowResult.kept: 'which' must be 'h' (hidden state) or 'c' (cell), got {which!r}.")
        v = self.dc if which == "c" else self.dh
        if v is None:
            raise ValueError("FlowResult.kept: an RNN has no cell state; use which='h'.")
        T = len(v)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < T:
            raise ValueError(f"FlowResult.kept: 'k' must be a whole number of steps from 0 to T - 1 = {T - 1}, "
                             f"got {k!r}.")
        return float(v[T - 1 - k] / v[T - 1])


@functools.lru_cache(maxsize=64)
def _flow(cell, T, scale, forget_bias, H, D, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, _T_POOL, D))[:, :T]            # (N = 1, T, D): the first T steps
    G = rng.standard_normal((1, H))
    G /= np.linalg.norm(G)                                     # dL/dh_T: the loss reads the last state only
    gates = 4 if cell == "lstm" else 1
    Wx = rng.standard_normal((D, gates * H)) / np.sqrt(D)      # each pre-activation gets input of variance 1
    Wh = scale * np.hstack([random_orthogonal(rng, H) for _ in range(gates)])
    b = np.zeros(gates * H)
    if cell == "lstm":
        b[H:2 * H] = forget_bias
    h, c = np.zeros((1, H)), np.zeros((1, H))
    caches = []
    for t in range(T):                                          # forward, one step at a time
        if cell == "lstm":
            h, c, cache = ops.lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        else:
            h, cache = ops.rnn_step_forward(x[:, t], h, Wx, Wh, b)
        caches.append(cache)
    dh_norm, factor = np.empty(T), np.empty(T)
    dc_norm = np.empty(T) if cell == "lstm" else None
    dh, dc = G, np.zeros((1, H))
    for t in reversed(range(T)):                                # backward through time
        dh_norm[t] = np.linalg.norm(dh)
        if cell == "lstm":
            _, _, f, o, _, tc = caches[t][4]                    # the step's c_prev, i, f, o, g, tanh(c)
            dc_total = dc + dh * o * (1 - tc * tc)              # the cell's gradient: from c_{t+1} and through h_t
            dc_norm[t] = np.linalg.norm(dc_total)
            factor[t] = f.mean()
            _, dh, dc, _, _, _ = ops.lstm_step_backward(dh, dc, caches[t])
        else:
            h_t = caches[t][4]
            factor[t] = scale * np.sqrt(np.mean((1 - h_t * h_t) ** 2))
            _, dh, _, _, _ = ops.rnn_step_backward(dh, caches[t])
    product = np.append(np.cumprod(factor[:0:-1])[::-1], 1.0)
    for a in (dh_norm, dc_norm, factor, product):
        if a is not None:
            a.setflags(write=False)
    return FlowResult(cell, dh_norm, dc_norm, factor, product)


def gradient_flow(cell="rnn", T=60, scale=1.0, forget_bias=1.0, H=32, D=4, seed=0):
    r"""Backpropagate a loss on the last hidden state of one random sequence; return a :class:`FlowResult`.

    From ``rng = np.random.default_rng(seed)`` we draw, in this order: the inputs, the first ``T``
    steps of a standard normal sequence (1, 200, D); the gradient $\partial L/\partial h_T$, a
    standard normal (1, H) row scaled to norm 1 (the loss $L = h_T \cdot g$ reads the last state
    only); ``Wx`` (D, H) for the RNN, (D, 4H) for the LSTM, standard normal divided by
    $\sqrt{D}$, so every pre-activation receives input of variance 1; and one random orthogonal
    (H, H) matrix per gate block (one for the RNN, four for the LSTM, in the order i, f, o, g),
    multiplied by ``scale``: every singular value of $W_h$ (of each block), and the modulus of
    every eigenvalue, equals ``scale``. The biases are zero, except the LSTM's forget-gate block,
    which is ``forget_bias``. $h_0 = c_0 = 0$. The inputs and weights do not depend on ``T``,
    ``scale`` or ``forget_bias``, so moving one control changes only what it names.

    Results are cached: calling again with the same arguments returns the same object.
    """
    for name, v in (("cell", cell), ("T", T), ("scale", scale), ("forget_bias", forget_bias)):
        _check(name, v, "gradient_flow")
    for name, v in (("H", H), ("D", D)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"gradient_flow: '{name}' must be a positive int, got {v!r}.")
    return _flow(cell, int(T), round(float(scale), 2), round(float(forget_bias), 1), int(H), int(D), int(seed))


def _in_steps(v, lo, hi, step):
    return lo - 1e-9 <= v <= hi + 1e-9 and abs((v - lo) / step - round((v - lo) / step)) < 1e-6


def _check(name, v, who="GradientFlowExplorer"):
    """Validate one control value; the message names the widget (or function), the control and its range."""
    number = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
    if name == "cell":
        if v not in FLOW_CELLS:
            raise ValueError(f"{who}: unknown cell {v!r}; choose one of {list(FLOW_CELLS)}.")
    elif name == "T":
        lo, hi, step = _T
        if not (number and float(v) == int(v) and _in_steps(int(v), lo, hi, step)):
            raise ValueError(f"{who}: 'T' must be a whole number of time steps from {lo} to {hi} in steps of "
                             f"{step} (the slider's values), got {v!r}.")
    elif name == "scale":
        lo, hi, step = _SCALE
        if not (number and _in_steps(float(v), lo, hi, step)):
            raise ValueError(f"{who}: 'scale' (every singular value of W_h) must be from {lo:g} to {hi:g} in steps "
                             f"of {step:g} (the slider's values), got {v!r}.")
    elif name == "forget_bias":
        lo, hi, step = _BIAS
        if not (number and _in_steps(float(v), lo, hi, step)):
            raise ValueError(f"{who}: 'forget_bias' must be from {lo:g} to {hi:g} in steps of {step:g} (the "
                             f"slider's values), got {v!r}.")


def _e(v):
    """A ratio in scientific notation with three significant digits, stable across machines."""
    return f"{float(v):.2e}"


class GradientFlowExplorer(_Widget):
    r"""The gradient of a loss on the last step, at every earlier step of an RNN or LSTM, on a log scale.

    Controls: ``cell`` (``"rnn"`` or ``"lstm"``), ``T`` (10 to 200 time steps), ``scale`` (0.1 to
    4, every singular value of the recurrent weights $W_h$) and ``forget_bias`` (-2 to 5, the
    LSTM's initial forget-gate bias; ignored by the RNN). The result is that of
    :func:`gradient_flow` with the same arguments.

    Attributes
    ----------
    result : FlowResult
        The current run: gradient norms, per-step factors and their product.
    """

    _title = "Gradient flow through time in a recurrent network"

    def __init__(self, cell="rnn", T=60, scale=1.0, forget_bias=1.0, seed=0):
        values = {"cell": cell, "T": T, "scale": scale, "forget_bias": forget_bias}
        for k, v in values.items():
            _check(k, v)
        self.seed = int(seed)
        self._init = values
        self._init_widgets()
        self.update()

    def _controls(self):
        W, v = self._W, self._init
        style = {"description_width": "initial"}
        self._cell = W.ToggleButtons(options=[(FLOW_CELLS[k], k) for k in FLOW_CELLS], value=v["cell"],
                                     description="cell")
        self._T_slider = W.IntSlider(value=int(v["T"]), min=_T[0], max=_T[1], step=_T[2], description="T (steps)",
                                     continuous_update=False, style=style)
        self._scale = W.FloatSlider(value=round(float(v["scale"]), 2), min=_SCALE[0], max=_SCALE[1],
                                    step=_SCALE[2], description="scale of W_h", continuous_update=False,
                                    readout_format=".2f", style=style)
        self._bias = W.FloatSlider(value=round(float(v["forget_bias"]), 1), min=_BIAS[0], max=_BIAS[1],
                                   step=_BIAS[2], description="forget bias", continuous_update=False,
                                   readout_format=".1f", style=style, disabled=v["cell"] != "lstm")
        for c in (self._cell, self._T_slider, self._scale, self._bias):
            c.observe(self._on_change, names="value")
        return [W.HBox([self._cell, self._T_slider]), W.HBox([self._scale, self._bias])]

    cell = control_property("cell", "_cell", str, "The cell type: 'rnn' or 'lstm'.")
    T = control_property("T", "_T_slider", int, "Number of time steps (10 to 200, steps of 5).")
    scale = control_property("scale", "_scale", lambda v: round(float(v), 2), "Every singular value of W_h (0.1 to 4).")
    forget_bias = control_property("forget_bias", "_bias", lambda v: round(float(v), 1),
                                   "The LSTM's initial forget-gate bias (-2 to 5, steps of 0.5).")

    def values(self) -> dict:
        """The controls as a dict, e.g. to hand in: ``gradient_flow(**explorer.values())`` reproduces the run."""
        return {"cell": self.cell, "T": self.T, "scale": self.scale, "forget_bias": self.forget_bias}

    def _check_control(self, name, value):
        _check(name, value)

    def kept(self, k, which=None) -> float:
        """``result.kept(k, which)``: the gradient ``k`` steps back relative to the last step."""
        return self.result.kept(k, which)

    def _recompute(self):
        self._bias.disabled = self.cell != "lstm"
        self.result = gradient_flow(**self.values(), seed=self.seed)

    def summary(self):
        r, v = self.result, self.values()
        ks = [k for k in _DISTANCES if k < v["T"]]
        back, far = ", ".join(str(k) for k in ks), ks[-1]
        if v["cell"] == "rnn":
            return "\n".join([
                f"vanilla RNN, T = {v['T']} steps, H = 32 units; W_h = {v['scale']:.2f} x a random orthogonal matrix "
                f"(every singular value {v['scale']:.2f})",
                f"|dL/dh_t| / |dL/dh_T| at {back} steps back: " + ", ".join(_e(r.kept(k)) for k in ks),
                f"per-step factor {v['scale']:.2f} x rms(1 - h_t^2): mean {r.factor.mean():.2f}; their product over "
                f"{far} steps {_e(r.product[v['T'] - 1 - far])}, at most {v['scale']:.2f}^{far} = "
                f"{_e(v['scale'] ** far)}",
            ])
        fb = v["forget_bias"]
        return "\n".join([
            f"LSTM, T = {v['T']} steps, H = 32 units; each gate block of W_h = {v['scale']:.2f} x a random orthogonal "
            f"matrix; forget bias {fb:.1f}",
            f"|dL/dc_t| / |dL/dc_T| at {back} steps back: " + ", ".join(_e(r.kept(k, 'c')) for k in ks),
            f"|dL/dh_t| / |dL/dh_T| at {back} steps back: " + ", ".join(_e(r.kept(k, 'h')) for k in ks),
            f"forget gate f_t: mean {r.factor.mean():.2f} (sigmoid({fb:.1f}) = {1 / (1 + np.exp(-fb)):.2f}); their "
            f"product over {far} steps {_e(r.product[v['T'] - 1 - far])}",
        ])

    def figure(self):
        from matplotlib.figure import Figure
        r, v = self.result, self.values()
        t = np.arange(1, v["T"] + 1)
        tiny = 1e-300
        fig = Figure(figsize=(10, 3.8), layout="constrained")
        ax = fig.add_subplot(1, 2, 1)
        if v["cell"] == "lstm":
            ax.semilogy(t, np.maximum(r.dc / r.dc[-1], tiny), color="C1", label="|dL/dc_t| (cell)")
            ax.semilogy(t, np.maximum(r.dh, tiny), color="C0", label="|dL/dh_t| (hidden state)")
            ax.semilogy(t, np.maximum(r.product, tiny), "--", color="C1", label="product of the mean forget gates")
        else:
            ax.semilogy(t, np.maximum(r.dh, tiny), color="C0", label="|dL/dh_t|")
            ax.semilogy(t, np.maximum(r.product, tiny), "--", color="C0", label="product of the per-step factors")
            ax.semilogy(t, np.maximum(v["scale"] ** (v["T"] - t), tiny), ":", color="grey",
                        label=f"upper bound {v['scale']:.2f}^(T - t)")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set(xlabel="time step t (the loss reads step T)", ylabel="gradient norm relative to step T",
               title="the gradient at every step")
        lo = min(np.min(r.dh), np.min(r.product), 1.0) if v["cell"] == "rnn" else \
            min(np.min(r.dh), np.min(r.dc / r.dc[-1]), np.min(r.product), 1.0)
        hi = max(np.max(r.dh), np.max(r.product), 1.0) if v["cell"] == "rnn" else \
            max(np.max(r.dh), np.max(r.dc / r.dc[-1]), 1.0)
        ax.set_ylim(max(lo, tiny) / 10, hi * 10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(frameon=False, fontsize=12)
        ax2 = fig.add_subplot(1, 2, 2)
        if v["cell"] == "lstm":
            ax2.plot(t, r.factor, ".-", ms=3, color="C1", label="mean forget gate f_t")
            s = 1 / (1 + np.exp(-v["forget_bias"]))
            ax2.axhline(s, color="grey", ls=":", label=f"sigmoid(forget bias) = {s:.2f}")
            ax2.set(ylim=(0, 1.05), ylabel="mean forget gate")
        else:
            ax2.plot(t, r.factor, ".-", ms=3, label=f"{v['scale']:.2f} x rms(1 - h_t^2)")
            ax2.axhline(v["scale"], color="grey", ls=":", label=f"scale of W_h = {v['scale']:.2f}")
            ax2.set(ylim=(0, 1.1 * max(v["scale"], 1.0)), ylabel="per-step factor")
        ax2.axhline(1.0, color="k", lw=0.8)
        ax2.set(xlabel="time step t", title="what one step multiplies the gradient by")
        ax2.grid(alpha=0.3)
        ax2.legend(frameon=False, fontsize=12)
        fig.suptitle(f"{FLOW_CELLS[v['cell']]}, T = {v['T']}, scale of W_h {v['scale']:.2f}"
                     + (f", forget bias {v['forget_bias']:.1f}" if v["cell"] == "lstm" else ""))
        return fig
