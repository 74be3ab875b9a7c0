"""Diagrams of the mechanisms the chapters derive, drawn with matplotlib from the ops themselves.

Each function computes what it draws with bpkit (window positions with the output size of
``conv2d_forward``, the im2col matrix from ``_im2col``, the routed gradient from ``maxpool2d_backward``,
layer sizes from the model), so a diagram cannot disagree with the code. Every drawn element that a
test checks carries a ``gid``. Each function returns the ``matplotlib.figure.Figure``; text is at
least ``bpkit.plot.MIN_FONT_PT`` points, and a figure is at most 6.4 inches wide (the column).
"""

from __future__ import annotations

import numpy as np

from .ops import conv2d_forward, maxpool2d_backward, maxpool2d_forward
from .ops.conv import _im2col

__all__ = ["autoencoder_bottleneck", "conv_windows", "im2col", "lstm_cell", "maxpool_routing", "rnn_unrolled"]

_PT = 12                                                  # the book's smallest text (bpkit.plot.MIN_FONT_PT)
_COLOURS = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00"]


def _figure(w, h, ncols=1, ratios=None):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, ncols, figsize=(w, h), layout="constrained",
                             gridspec_kw={"width_ratios": ratios} if ratios else None)
    for ax in np.atleast_1d(axes):
        ax.set_axis_off()
        ax.set_aspect("equal")
    return fig, axes


def _grid(ax, values, x0=0.0, y0=0.0, shade=None, gid="cell", fmt="{:g}"):
    """A table of numbers, row 0 at the top; ``shade`` (bool array) fills cells grey."""
    from matplotlib.patches import Rectangle
    rows, cols = values.shape
    for i in range(rows):
        for j in range(cols):
            fc = "#d0d7de" if shade is not None and shade[i, j] else "white"
            ax.add_patch(Rectangle((x0 + j, y0 - i - 1), 1, 1, fc=fc, ec="#57606a", lw=0.8, gid=f"{gid}-{i}-{j}"))
            if not np.isnan(values[i, j]):
                ax.text(x0 + j + 0.5, y0 - i - 0.5, fmt.format(values[i, j]), ha="center", va="center",
                        fontsize=_PT, gid=f"{gid}-text-{i}-{j}")


def conv_windows(H=5, W=5, kernel=3, stride=2, padding=1):
    """The windows of a convolution sliding over a padded input: every window's top-left corner as a
    dot, the windows of the first output row outlined, and the output grid with matching colours."""
    from matplotlib.patches import Rectangle
    out, _ = conv2d_forward(np.zeros((1, 1, H, W)), np.zeros((1, 1, kernel, kernel)), np.zeros(1),
                            stride=stride, padding=padding)
    H_out, W_out = out.shape[2:]
    Hp, Wp = H + 2 * padding, W + 2 * padding
    fig, (ax, ax_out) = _figure(6.4, 3.6, 2, [Wp, W_out + 1])
    pad = np.ones((Hp, Wp), bool)
    pad[padding:padding + H, padding:padding + W] = False
    _grid(ax, np.full((Hp, Wp), np.nan), shade=pad, gid="input")
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride                 # the window of output (i, j) starts here
            ax.plot(c + 0.5, -r - 0.5, "o", color="k", ms=5, gid=f"corner-{i}-{j}")
            if i == 0:
                ax.add_patch(Rectangle((c + 0.08 * j, -r - kernel + 0.08 * j), kernel, kernel, fill=False,
                                       ec=_COLOURS[j % 5], lw=2.5, gid=f"window-{i}-{j}"))
    ax.set(xlim=(-0.2, Wp + 0.2), ylim=(-Hp - 1.4, 0.2))
    ax.text(Wp / 2, -Hp - 0.7, f"input {H}x{W}, padding {padding} (grey)", ha="center", fontsize=_PT)
    _grid(ax_out, np.full((H_out, W_out), np.nan), gid="output")
    for j in range(W_out):
        ax_out.add_patch(Rectangle((j, -1), 1, 1, fc=_COLOURS[j % 5], alpha=0.5, gid=f"output-first-row-{j}"))
    ax_out.set(xlim=(-0.2, W_out + 0.8), ylim=(-Hp - 1.4, 0.2))
    ax_out.text(W_out / 2, -H_out - 0.7, f"output {H_out}x{W_out}", ha="center", va="top", fontsize=_PT)
    ax.set_title(f"{kernel}x{kernel} windows, stride {stride}", fontsize=_PT, loc="left")
    return fig


def im2col(H=3, W=3, kernel=2):
    """im2col for one image of one channel: the pixels (numbered), and the matrix ``cols`` whose
    column k holds the k-th window, built by ``bpkit.ops.conv._im2col``; window 0 is outlined."""
    from matplotlib.patches import Rectangle
    x = np.arange(1, H * W + 1, dtype=float).reshape(1, 1, H, W)
    cols = _im2col(x, kernel, kernel, 1)
    fig, (ax, ax_cols) = _figure(6.4, 3.0, 2, [W + 1, cols.shape[1] + 1])
    _grid(ax, x[0, 0], gid="pixel", fmt="{:.0f}")
    ax.add_patch(Rectangle((0, -kernel), kernel, kernel, fill=False, ec=_COLOURS[1], lw=3, gid="window-0"))
    ax.set(xlim=(-0.3, W + 0.3), ylim=(-max(H, cols.shape[0]) - 1.2, 0.9))
    ax.set_title("input", fontsize=_PT)
    _grid(ax_cols, cols, gid="cols", fmt="{:.0f}")
    ax_cols.add_patch(Rectangle((0, -cols.shape[0]), 1, cols.shape[0], fill=False, ec=_COLOURS[1], lw=3,
                                gid="column-0"))
    ax_cols.set(xlim=(-0.3, cols.shape[1] + 0.3), ylim=(-max(H, cols.shape[0]) - 1.2, 0.9))
    ax_cols.set_title(f"cols: one window per column ({cols.shape[0]}x{cols.shape[1]})", fontsize=_PT)
    return fig


def maxpool_routing(x=None, kernel=2):
    """Max pooling's backward pass: the input with each window's maximum marked, the upstream
    gradient, and ``maxpool2d_backward``'s result, which sends each gradient to its maximum."""
    if x is None:
        x = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 3, 2], [2, 6, 1, 1]], dtype=float)
    out, cache = maxpool2d_forward(x[None, None], kernel)
    dout = np.arange(1, out.size + 1, dtype=float).reshape(out.shape) / 10
    dx = maxpool2d_backward(dout, cache)[0, 0]
    fig, axes = _figure(6.4, 2.8, 3, [x.shape[1] + 0.4, out.shape[3] + 0.4, x.shape[1] + 0.4])
    _grid(axes[0], x, shade=dx != 0, gid="x", fmt="{:.0f}")
    _grid(axes[1], dout[0, 0], gid="dout", fmt="{:.1f}")
    _grid(axes[2], dx, shade=dx != 0, gid="dx", fmt="{:.1f}")
    for ax, title, n in zip(axes, ["x (max grey)", "dout", "dx"], [x.shape[1], out.shape[3], x.shape[1]]):
        ax.set_title(title, fontsize=_PT)
        ax.set(xlim=(-0.2, n + 0.2), ylim=(-x.shape[0] - 0.2, 0.2))
    return fig


def rnn_unrolled(T=4):
    """An RNN unrolled over ``T`` steps: inputs x_t, hidden states h_t, losses L_t; the forward arrows
    (black) and the backward paths (red, dashed) through the hidden states, as BPTT follows them."""
    fig, ax = _figure(6.4, 3.4)

    def box(x, y, text, gid, fc="white"):
        ax.text(x, y, text, ha="center", va="center", fontsize=_PT, gid=gid,
                bbox=dict(boxstyle="round,pad=0.4", fc=fc, ec="#24292f"))

    def arrow(x0, y0, x1, y1, gid, back=False, rad=0.0):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), gid=gid, arrowprops=dict(
            arrowstyle="-|>", lw=2 if back else 1.2, color="#cf222e" if back else "#24292f",
            linestyle="--" if back else "-", connectionstyle=f"arc3,rad={rad}"))
    box(-0.2, 1, "h0", "h-0", "#ddf4ff")
    for t in range(1, T + 1):
        box(1.6 * t, 0, f"x{t}", f"x-{t}", "#ddf4ff")
        box(1.6 * t, 1, f"h{t}", f"h-{t}", "#f6f8fa")
        box(1.6 * t, 2, f"L{t}", f"L-{t}", "#fff3b0")
        arrow(1.6 * t, 0.3, 1.6 * t, 0.7, f"forward-x-{t}")
        arrow(1.6 * t - 0.2, 1.3, 1.6 * t - 0.2, 1.7, f"forward-L-{t}")
        arrow(1.6 * (t - 1) + (0.3 if t > 1 else 0.1), 1, 1.6 * t - 0.3, 1, f"forward-h-{t}")
        arrow(1.6 * t + 0.2, 1.7, 1.6 * t + 0.2, 1.3, f"backward-L-{t}", back=True)
        arrow(1.6 * t - 0.2, 0.8, 1.6 * (t - 1) + 0.2, 0.8, f"backward-h-{t}", back=True, rad=-0.5)
    ax.text(0.8 * T, -0.8, "black: forward; red: the gradient, back through time",
            ha="center", fontsize=_PT)
    ax.set(xlim=(-0.8, 1.6 * T + 0.6), ylim=(-1.1, 2.5))
    return fig


def _boxes_and_arrows(ax, boxes, arrows):
    """``boxes``: {name: (x, y, text, colour)}; ``arrows``: [(from, to)], drawn between box centres."""
    drawn = {}
    for name, (x, y, text, fc) in boxes.items():
        drawn[name] = ax.text(x, y, text, ha="center", va="center", fontsize=_PT, gid=f"box-{name}",
                              bbox=dict(boxstyle="round,pad=0.35", fc=fc, ec="#24292f"))
    for a, b in arrows:
        ax.annotate("", xy=boxes[b][:2], xytext=boxes[a][:2], gid=f"arrow-{a}-{b}",
                    arrowprops=dict(arrowstyle="-|>", color="#24292f", lw=1.2, shrinkA=0, shrinkB=0,
                                    patchA=drawn[a].get_bbox_patch(), patchB=drawn[b].get_bbox_patch()))


LSTM_GATES = ("i", "f", "o", "g")                        # the order bpkit.ops stacks them in


def lstm_cell():
    """One LSTM step: the gates i, f, o (sigmoid) and g (tanh) from [h_prev, x], the cell state line
    c_prev -> times f -> plus i times g -> c, and h = o times tanh(c)."""
    fig, ax = _figure(6.4, 4.0)
    act = {"i": "\u03c3", "f": "\u03c3", "o": "\u03c3", "g": "tanh"}
    gate_x = {"f": 1.0, "i": 2.4, "g": 4.0, "o": 5.4}
    boxes = {"in": (3.2, 0, "a = x Wx + h_prev Wh + b", "#ddf4ff"),
             "c_prev": (0, 3, "c_prev", "#ddf4ff"), "times_f": (1.0, 3, "\u00d7", "white"),
             "plus": (3.2, 3, "+", "white"), "times_ig": (3.2, 2.1, "\u00d7", "white"),
             "c": (6.6, 3, "c", "#fff3b0"), "tanh_c": (6.0, 2.1, "tanh", "white"),
             "times_o": (6.0, 1.2, "\u00d7", "white"), "h": (7.2, 1.2, "h", "#fff3b0")}
    for gate in LSTM_GATES:
        boxes[gate] = (gate_x[gate], 1.0, f"{gate}: {act[gate]}", "#f6f8fa")
    arrows = [("in", g) for g in LSTM_GATES] + [
        ("c_prev", "times_f"), ("f", "times_f"), ("times_f", "plus"), ("i", "times_ig"), ("g", "times_ig"),
        ("times_ig", "plus"), ("plus", "c"), ("c", "tanh_c"), ("tanh_c", "times_o"), ("o", "times_o"),
        ("times_o", "h")]
    _boxes_and_arrows(ax, boxes, arrows)
    ax.text(3.2, 3.55, "cell state: c = f \u2299 c_prev + i \u2299 g;  h = o \u2299 tanh(c)", ha="center",
            fontsize=_PT)
    ax.set(xlim=(-0.8, 7.8), ylim=(-0.5, 3.9))
    ax.set_aspect("auto")
    return fig


def autoencoder_bottleneck(model, D=64):
    """The layers of an autoencoder ``model`` (a ``Sequential``) as bars as tall as their widths:
    the input of ``D`` numbers narrows to the code and widens back to ``D``."""
    from matplotlib.patches import Rectangle
    from .nn import Linear
    sizes = [D] + [layer.params["W"].shape[1] for layer in model.layers if isinstance(layer, Linear)]
    code = int(np.argmin(sizes))
    fig, ax = _figure(6.4, 3.4)
    top = max(sizes)
    for k, n in enumerate(sizes):
        colour = "#fff3b0" if k == code else ("#ddf4ff" if k < code else "#f6f8fa")
        ax.add_patch(Rectangle((1.6 * k, -n / top * 1.5), 0.6, 3 * n / top, fc=colour, ec="#24292f",
                               gid=f"layer-{k}"))
        ax.text(1.6 * k + 0.3, -1.75, f"{n}", ha="center", va="top", fontsize=_PT, gid=f"size-{k}")
    for k in range(len(sizes) - 1):
        ax.annotate("", xy=(1.6 * k + 1.5, 0), xytext=(1.6 * k + 0.7, 0),
                    arrowprops=dict(arrowstyle="-|>", color="#24292f"))
    ax.text(1.6 * code + 0.3, 1.75, "code z", ha="center", fontsize=_PT)
    ax.text(0.3, 1.75, "x", ha="center", fontsize=_PT)
    ax.text(1.6 * (len(sizes) - 1) + 0.3, 1.75, "x\u0302", ha="center", fontsize=_PT)
    ax.text(1.6 * code / 2 + 0.3, -2.5, "encoder", ha="center", fontsize=_PT)
    ax.text(1.6 * (code + len(sizes) - 1) / 2 + 0.3, -2.5, "decoder", ha="center", fontsize=_PT)
    ax.set(xlim=(-0.4, 1.6 * (len(sizes) - 1) + 1.0), ylim=(-2.9, 2.2))
    ax.set_aspect("auto")
    return fig
