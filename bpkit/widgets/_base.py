"""Shared plumbing of the widgets: a box of controls above a PNG of ``figure()``."""

from __future__ import annotations

import base64
import html
import io


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
        self._box = W.VBox([*self._controls(), self._image, self._status])
        self._hold = False

    def update(self):
        """Recompute and redraw: the image and the status line follow the controls."""
        if self._hold:
            return
        self._recompute()
        self._png = _png(self.figure())
        png = base64.b64encode(self._png).decode("ascii")
        self._image.value = (f'<img src="data:image/png;base64,{png}" alt="{html.escape(self.alt_text())}" '
                             'style="max-width:100%;height:auto">')
        self._status.value = "<pre style='margin:0;font-size:85%'>" + self.summary() + "</pre>"

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


