"""Shared plumbing of the widgets: a box of controls above a PNG of ``figure()``."""

from __future__ import annotations

import base64
import html
import io

import numpy as np

__all__ = ["Widget"]


def _num(v, digits=2):
    """Format a float with fixed decimals and no negative zero, for stable summaries."""
    r = round(float(v), digits)
    return f"{r + 0.0:.{digits}f}"


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def _leaves(widgets):
    """The value-carrying controls inside ``widgets`` (boxes opened)."""
    out = []
    for w in widgets:
        if hasattr(w, "children"):
            out += _leaves(w.children)
        elif hasattr(w, "value") and type(w).__name__ not in ("HTML", "Label", "Output", "Image"):
            out.append(w)
    return out


def _literal(v) -> str:
    """``v`` as Python source: floats to 6 significant digits, arrays as nested lists."""
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_literal(x) for x in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {_literal(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (bool, np.bool_)):
        return repr(bool(v))
    if isinstance(v, (int, np.integer)):
        return repr(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(f"{float(v):.6g}"))
    return repr(v)


def _variable_name(obj):
    """The name of ``obj`` in the notebook's namespace, if it has one."""
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        return None
    if shell is None:
        return None
    names = sorted(k for k, v in shell.user_ns.items() if v is obj and not k.startswith("_"))
    return names[0] if names else None


def control_property(key, control, cast, doc, store=None):
    """A property for the control ``key``, shown by the ipywidget in attribute ``control``.

    Reading gives ``cast(value)``; assigning checks the value with the widget's
    ``_check_control(key, value)`` and stores ``(store or cast)(value)``, which redraws.
    """
    def get(self):
        return cast(getattr(self, control).value)

    def set_(self, v):
        self._check_control(key, v)
        getattr(self, control).value = (store or cast)(v)
    return property(get, set_, doc=doc)


class Widget:
    """Base class: subclasses build ``_controls()`` and implement ``figure()`` and ``summary()``.

    ``_init_widgets()`` lays out the controls above the picture, ``figure()`` as a PNG, and a
    line of ``summary()`` text; ``update()`` recomputes (``_recompute()``) and redraws. Set
    ``self._hold = True`` while changing several controls, then call ``update()`` once.

    The book shows a widget one way everywhere: once, as the last line of its cell, in a numbered
    figure (the cell's ``mystnb: figure:`` caption). Its saved view is the static book's picture:
    the controls, the PNG with its alt text, and the summary as text below it, which wraps on a
    phone. So the book neither prints ``summary()`` nor draws ``figure()`` for a widget it shows, and
    does not change a widget after showing it (the page saves every widget's final state): another
    state is another widget.

    The picture is an ``<img>`` in an ``ipywidgets.HTML`` rather than an ``ipywidgets.Image``,
    which has no alt text: here ``alt_text()`` (the title and the summary, by default)
    describes the current state to a screen reader, in the notebook and in the book.
    """

    _title = ""

    def _controls(self):          # -> list of ipywidgets
        raise NotImplementedError

    def figure(self):             # -> matplotlib.figure.Figure
        raise NotImplementedError

    def summary(self) -> str:
        raise NotImplementedError

    def _init_widgets(self):
        import ipywidgets as W
        self._W = W
        self._image = W.HTML(layout=W.Layout(max_width="100%"))
        self._status = W.HTML()
        self._keep = W.HTML()
        self._by_hand = False
        controls = self._controls()
        self._box = W.VBox([*controls, self._image, self._status, self._keep])
        self._hold = False
        for c in _leaves(controls):
            c.observe(self._note_hand, names="value")

    # -- what a student moved by hand, as a line of code
    def _answer_call(self):
        """``(method, keywords)`` that put the widget back in its current state (subclasses)."""
        values = getattr(self, "values", None)
        return ("set", values()) if callable(values) else None

    def answer_line(self, name=None) -> str | None:
        """The line that sets this widget as it is now, e.g. ``explorer.set(b=-1.0)`` (``None`` if it has none).

        Sliders moved by hand are not saved in a notebook's code: a notebook that is run again
        from the top, as a grader does, starts with every control where its cell put it. This
        line, copied into an answer, makes the setting part of the notebook.
        """
        call = self._answer_call()
        if call is None:
            return None
        method, kwargs = call
        name = name or _variable_name(self) or "widget"
        if method.startswith("="):                        # an attribute: ("=step", {"step": 10})
            (key, value), = kwargs.items()
            return f"{name}.{key} = {_literal(value)}"
        return f"{name}.{method}(" + ", ".join(f"{k}={_literal(v)}" for k, v in kwargs.items()) + ")"

    def _note_hand(self, change):
        """A control moved in the browser (ipywidgets applies such changes under a property lock)."""
        owner = change.get("owner")
        if getattr(owner, "_property_lock", None):
            self._by_hand = True
            self._show_keep()

    def _show_keep(self):
        line = self.answer_line() if self._by_hand else None
        self._keep.value = "" if not line else (
            "<div style='font-size:90%'>You moved this widget by hand. Sliders are not saved in the notebook: "
            "to hand in this setting, put this line in your answer (a grader runs your notebook from the top):"
            f"<pre style='margin:2px 0'>{html.escape(line)}</pre></div>")

    def update(self):
        """Recompute and redraw: the image and the status line follow the controls."""
        if self._hold:
            return
        self._recompute()
        self._png = _png(self.figure())
        png = base64.b64encode(self._png).decode("ascii")
        self._image.value = (f'<img src="data:image/png;base64,{png}" alt="{html.escape(self.alt_text())}" '
                             'style="max-width:100%;height:auto">')
        self._status.value = ("<pre style='margin:0;font-size:85%;white-space:pre-wrap'>" + html.escape(self.summary())
                              + "</pre>")
        if getattr(self, "_by_hand", False):
            self._show_keep()

    @property
    def png(self) -> bytes:
        """The picture currently shown, as PNG bytes."""
        return self._png

    def alt_text(self) -> str:
        """What the picture shows, for screen readers: the widget's title and its summary."""
        title = self._title or type(self).__name__
        return f"{title}. " + " ".join(self.summary().split())

    def _recompute(self):
        pass

    def _check_control(self, name, value):
        """Raise a clear error if ``value`` is not valid for the control ``name`` (subclasses)."""

    def set(self, **values):
        """Set several controls at once (keywords as in ``values()``) and update once; returns ``self``.

        Every value is checked before any control changes, so a bad one leaves the widget as it was.
        """
        unknown = sorted(set(values) - set(self.values()))
        if unknown:
            raise ValueError(f"{type(self).__name__}.set: unknown control(s) {unknown}; the controls are "
                             f"{list(self.values())}.")
        for k, v in values.items():
            self._check_control(k, v)
        self._hold = True
        try:
            for k, v in values.items():
                setattr(self, k, v)
        finally:
            self._hold = False
        self.update()
        return self

    def _on_change(self, _change=None):
        self.update()

    @property
    def widget(self):
        """The ipywidgets box (controls, picture, summary)."""
        return self._box

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self._box._repr_mimebundle_(include=include, exclude=exclude)
        bundle["text/plain"] = f"{type(self).__name__}: an interactive widget (open the notebook in Jupyter to use it)"
        return bundle

    def __repr__(self):
        return f"{type(self).__name__}()\n{self.summary()}"


