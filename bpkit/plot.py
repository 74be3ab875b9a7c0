"""Plots used across the book: training curves, 2-D decision boundaries and the book's figure style.

Every function draws on ``ax`` (a new figure when ``ax`` is None) and returns the axes,
so plots compose. matplotlib is imported here, not when bpkit is imported.
"""

from __future__ import annotations

import numpy as np

from ._checks import shape_str

__all__ = ["BOOK_STYLE", "CODE_LINE_LIMIT", "MIN_FONT_PT", "animation_html", "book_style", "min_font_pt",
           "plot_decision_boundary", "plot_history", "show_source", "source_lines"]


# The book's figure style. The column of the book is about 690 px wide on a desktop and 360 px on a
# phone, and a figure is saved at 100 dpi: a 6.4-inch figure is 640 px and shows at its natural size on
# a desktop, where 12 pt is 16.7 px (the body text is 16 px); a 12-inch figure of three panels shrinks
# to 56 %, and its smallest text (MIN_FONT_PT) is still 9.3 px. On a phone a tap opens a figure at
# full size.
MIN_FONT_PT = 12
BOOK_STYLE = {
    "figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (6.4, 4.0),
    "font.size": 13, "axes.titlesize": 13, "axes.labelsize": 13, "figure.titlesize": 14,
    "xtick.labelsize": 12, "ytick.labelsize": 12, "legend.fontsize": 12, "legend.title_fontsize": 12,
}


def min_font_pt(fig):
    """The smallest font size, in points, of the visible non-empty text in ``fig`` (tick labels included)."""
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties
    from matplotlib.text import Text
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    if any(ax.axison for ax in fig.get_axes()):
        sizes += [FontProperties(size=rcParams[k]).get_size_in_points() for k in ("xtick.labelsize", "ytick.labelsize")]
    return float(min(sizes)) if sizes else float("nan")


def _png_with_font_size(fig):
    from IPython.core.pylabtools import print_figure
    return print_figure(fig, "png", bbox_inches="tight", metadata={"bpkit-min-font-pt": f"{min_font_pt(fig):g}"})


def book_style():
    """Use the book's figure style (``BOOK_STYLE``) for every figure drawn after the call.

    In IPython, figures are shown as PNG at ``savefig.dpi`` with the smallest font size of each
    figure written into the file (text chunk ``bpkit-min-font-pt``), so a test of the built book
    can check that the text of every figure is legible at the size it is displayed.
    """
    import matplotlib.pyplot as plt
    plt.rcParams.update(BOOK_STYLE)
    try:
        from IPython import get_ipython
    except ImportError:                                  # pragma: no cover - IPython ships with the course
        return
    shell = get_ipython()
    if shell is None:
        return
    # pyplot loads its backend with the first figure; in a notebook the inline backend then installs
    # its own PNG formatter for figures. Load it now, so that ours comes after it, and put ours back
    # before every cell in case a backend is loaded or configured again.
    plt.close(plt.figure())
    _install_png_formatter()
    if _install_png_formatter not in shell.events.callbacks["pre_run_cell"]:
        shell.events.register("pre_run_cell", _install_png_formatter)


def _install_png_formatter(*_info):
    from IPython import get_ipython
    from matplotlib.figure import Figure
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(Figure, _png_with_font_size)


def _axes(ax, figsize=(5, 3.5)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    return plt.subplots(figsize=figsize)[1]


def plot_history(history, keys=None, ax=None, logy=False, title=None):
    """Plot per-epoch curves from a :class:`bpkit.train.History` (or a dict of lists).

    ``keys`` defaults to every loss (``loss``, ``val_loss``); pass e.g.
    ``["accuracy", "val_accuracy"]`` for a metric. Validation curves are dashed and share
    the colour of their training curve.
    """
    records = history.records if hasattr(history, "records") else dict(history)
    if keys is None:
        keys = [k for k in records if k.endswith("loss")]
    missing = [k for k in keys if k not in records]
    if missing:
        raise ValueError(f"plot_history: no records for {missing}; available: {sorted(records)}. "
                         "Pass keys from the available ones (validation curves need fit(..., validation=...)).")
    ax = _axes(ax)
    colours = {}
    for k in keys:
        base = k[4:] if k.startswith("val_") else k
        values = records[k]
        epochs = np.arange(1, len(values) + 1)
        line, = ax.plot(epochs, values, linestyle="--" if k.startswith("val_") else "-",
                        color=colours.get(base), label=k)
        colours.setdefault(base, line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel(", ".join(dict.fromkeys(k[4:] if k.startswith("val_") else k for k in keys)))
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax


def plot_decision_boundary(predict, X, y, ax=None, resolution=200, margin=0.25, cmap="coolwarm",
                           threshold=0.0, title=None):
    """Colour the plane by the predicted class and scatter the data ``X`` (N, 2), ``y`` (N,).

    ``predict(points)`` maps an (n, 2) array to scores: (n, K) class scores (arg-max is
    taken) or (n, 1)/(n,) binary scores (compared with ``threshold``; 0 for logits, 0.5
    for probabilities). A model works as is: pass ``model.forward`` or
    ``lambda P: bpkit.train.predict(model, P)``.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (N, 2), got {shape_str(X.shape)}. "
                         "The plot shows a plane: pass two features, e.g. X[:, :2].")
    y = np.asarray(y).reshape(-1)
    if len(y) != len(X):
        raise ValueError(f"plot_decision_boundary: y must hold one label per row of X, shape ({len(X)},), got "
                         f"{len(y)} labels. Pass the labels of the same points as X.")
    ax = _axes(ax, figsize=(4.5, 4.5))
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    scores = np.asarray(predict(grid))
    if scores.ndim not in (1, 2) or len(scores) != len(grid):
        raise ValueError(f"plot_decision_boundary: predict must map an ({len(grid)}, 2) array of points to "
                         f"({len(grid)}, K) or ({len(grid)},) scores, got shape {shape_str(scores.shape)}. "
                         "Pass a function of the points, e.g. model.forward.")
    if scores.ndim == 2 and scores.shape[1] > 1:
        labels = scores.argmax(axis=1)
    else:
        labels = (scores.reshape(-1) > threshold).astype(int)
    n_classes = int(max(labels.max(), y.max()) + 1)
    ax.contourf(gx, gy, labels.reshape(gx.shape), levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=0, vmax=max(n_classes - 1, 1), s=18, edgecolors="k",
               linewidths=0.4)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def animation_html(anim, alt, default_mode="once", still=False):
    """A matplotlib animation as a self-contained HTML player, with alt text on the frames.

    ``FuncAnimation.to_jshtml`` embeds every frame and its own JavaScript, so the player
    works in a static page without a kernel; but it gives the frame image no ``alt``, which
    screen readers need, and it loads its button icons from a CDN. This adds the alt text
    and draws the buttons with text symbols. Display the result with ``IPython.display.HTML``.

    With ``still=True`` the last frame follows the player as a PNG with the same alt text, and the
    book shows that picture instead of the player in print and on a phone (``bpfs-animation-still``
    in ``book/assets/book.css``), where the player's frames and buttons do not fit the column.
    """
    import html as _html
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("animation_html: 'alt' must describe what the animation shows, got "
                         f"{alt!r}. Pass one or two sentences, e.g. alt=\"Paths of five optimizers ...\".")
    import re
    out = anim.to_jshtml(default_mode=default_mode)
    if out.count("<img id=") != 1:
        raise RuntimeError("animation_html: expected one <img id=...> frame in the player from "
                           "to_jshtml; this matplotlib version writes another layout.")
    out = out.replace("<img id=", f'<img alt="{_html.escape(alt.strip())}" id=', 1)
    # The player's buttons use Font Awesome 4 icons from a CDN: replace them with text
    # symbols, so the page requests nothing from another host (the buttons keep their
    # aria-label for screen readers).
    out = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*">', "", out)
    for icon, text in _PLAYER_ICONS.items():
        out = out.replace(f'<i class="fa {icon}"></i>', f'<span aria-hidden="true">{text}</span>')
    if not still:
        return out
    import base64
    import io
    buf = io.BytesIO()
    anim._fig.savefig(buf, format="png")                 # to_jshtml left the figure at its last frame
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<div class="bpfs-animation"><div class="bpfs-animation-player">{out}</div>'
            f'<img class="bpfs-animation-still" alt="{_html.escape(alt.strip())}" '
            f'src="data:image/png;base64,{png}"></div>')


_PLAYER_ICONS = {"fa-play fa-flip-horizontal": "\u25c0", "fa-minus": "\u2212", "fa-fast-backward": "|\u25c0\u25c0",
                 "fa-step-backward": "|\u25c0", "fa-pause": "\u275a\u275a", "fa-play": "\u25b6",
                 "fa-step-forward": "\u25b6|", "fa-fast-forward": "\u25b6\u25b6|", "fa-plus": "+"}


# The widest code line the book's column shows without scrolling at 1280 px: its code font (14 px
# ui-monospace, 8.4 px a character) in the column's 652 px gives 77 characters (measured in Chromium).
CODE_LINE_LIMIT = 76


def source_lines(obj, docstring=False, checks=False, width=CODE_LINE_LIMIT):
    """The source of the function, method or class ``obj`` as a list of lines, dedented.

    Without ``docstring`` the docstrings (of ``obj`` and of what it defines) are left out; the
    chapters show the maths in their own text. Without ``checks`` the argument checks are left
    out: a statement that calls a helper of a ``_args`` module (such as
    ``x, W, b = _linear_args(x, W, b)``) and an ``if`` that ends in ``raise``. A trailing comment
    that makes a line longer than ``width`` moves onto its own line above the code.
    """
    import ast
    import inspect
    import textwrap
    if not callable(obj):
        raise TypeError(f"source_lines: expected a function, method or class, got {type(obj).__name__}. "
                        "Pass the object itself, e.g. source_lines(ops.linear_forward).")
    lines = textwrap.dedent(inspect.getsource(obj)).splitlines()
    namespace = vars(inspect.getmodule(obj))
    drop = set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        body = list(node.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            if not docstring:
                drop.update(range(body[0].lineno - 1, body[0].end_lineno))
            body = body[1:]
        if not checks and not isinstance(node, ast.ClassDef):
            for stmt in body:
                if _is_check(stmt, namespace):
                    drop.update(range(stmt.lineno - 1, stmt.end_lineno))
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return _comments_above(kept, width)


def _is_check(stmt, namespace):
    """Whether ``stmt`` only checks arguments: it calls a helper of a module named ``..._args``, or it
    is an ``if`` without ``else`` that ends in ``raise`` (with the lines that build its message)."""
    import ast
    if isinstance(stmt, ast.If) and not stmt.orelse and isinstance(stmt.body[-1], ast.Raise):
        return True
    value = getattr(stmt, "value", None)
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)):
        return False
    helper = namespace.get(value.func.id)
    return getattr(helper, "__module__", "").rsplit(".", 1)[-1] == "_args"


def _comments_above(lines, width):
    """Move each trailing comment of a line longer than ``width`` onto its own line above it."""
    import io
    import tokenize
    out = []
    source = "\n".join(lines) + "\n"
    comments = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0] - 1] = tok.start[1]
    except (tokenize.TokenError, IndentationError):       # pragma: no cover - getsource gives whole blocks
        return lines
    for i, line in enumerate(lines):
        col = comments.get(i)
        code = line[:col].rstrip() if col is not None else line
        if len(line) > width and col is not None and code.strip():
            indent = line[:len(line) - len(line.lstrip())]
            out.append(indent + line[col:])
            out.append(code)
        else:
            out.append(line)
    return out


def show_source(*objs, docstring=False, checks=False):
    """Show the source of ``objs`` (one or more functions, methods or classes) as highlighted Python.

    The chapters list bpkit's functions with it (in a cell tagged ``remove-input``), so the page
    always shows the current code: the signature and the body, without the docstring and the
    argument-check line (see :func:`source_lines`), which keeps a function to the lines that do the
    maths. Returns an ``IPython.display.Markdown`` object holding one fenced code block.
    """
    from IPython.display import Markdown
    if not objs:
        raise TypeError("show_source: pass at least one function, e.g. show_source(ops.linear_forward).")
    blocks = ["\n".join(source_lines(obj, docstring, checks)) for obj in objs]
    return Markdown("```python\n" + "\n\n".join(blocks) + "\n```")
