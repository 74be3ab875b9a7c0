r"""Widget of Chapter 7: a convolution explorer.

``ConvolutionExplorer`` convolves one 8x8 image (a handwritten digit from
:func:`bpkit.data.digits` or a synthetic pattern) with one 3x3 kernel, as a convolutional
layer does (cross-correlation, no flip), and draws the padded input, the kernel and the
output feature map. One output position is selected: its receptive field is outlined on the
input, and the summary writes its value out as the sum of the nine products

$$\texttt{out}[i, j] = \sum_{k=0}^{2}\sum_{l=0}^{2} W[k, l]\; x_{\text{pad}}[i s + k,\; j s + l],$$

with $s$ the stride and $x_{\text{pad}}$ the image with ``padding`` rows and columns of
zeros on each side. Every number comes from :func:`convolve`, which calls
:func:`bpkit.ops.conv2d_forward`; tests and exercise checks call it directly.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import ops
from ._base import Widget as _Widget

__all__ = ["CONV_INPUTS", "CONV_KERNELS", "ConvolutionExplorer", "convolve", "input_image", "output_size"]

#: The 3x3 kernel presets. "vertical edge" and "horizontal edge" are Sobel kernels: the first
#: responds to a change of intensity from left to right (a vertical edge), the second to a
#: change from top to bottom.
CONV_KERNELS = {
    "identity": ((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 0.0)),
    "blur": ((1 / 9,) * 3,) * 3,
    "vertical edge": ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0)),
    "horizontal edge": ((-1.0, -2.0, -1.0), (0.0, 0.0, 0.0), (1.0, 2.0, 1.0)),
    "sharpen": ((0.0, -1.0, 0.0), (-1.0, 5.0, -1.0), (0.0, -1.0, 0.0)),
}

_SYNTHETIC = ("square", "cross", "stripes", "diagonal", "impulse")

#: The input images: ``"digit 0"`` to ``"digit 9"`` (the first training image of that class
#: in ``bpkit.data.digits()``) and synthetic 8x8 patterns with values 0 and 1.
CONV_INPUTS = tuple(f"digit {d}" for d in range(10)) + _SYNTHETIC

_SIZE = 8
_STRIDE = (1, 3)
_PADDING = (0, 2)
_KERNEL_LIMIT = 10.0


@functools.lru_cache(maxsize=None)
def _image(name):
    img = np.zeros((_SIZE, _SIZE))
    if name.startswith("digit "):
        from .. import data
        split = data.digits()
        label = int(name.split()[1])
        img = split.X_train[np.flatnonzero(split.y_train == label)[0]].reshape(_SIZE, _SIZE).copy()
    elif name == "square":
        img[2:6, 2:6] = 1.0
    elif name == "cross":
        img[3:5, 1:7] = 1.0
        img[1:7, 3:5] = 1.0
    elif name == "stripes":
        img[:, 2:4] = 1.0
        img[:, 6:8] = 1.0
    elif name == "diagonal":
        img[np.arange(_SIZE), np.arange(_SIZE)] = 1.0
    elif name == "impulse":
        img[3, 4] = 1.0
    img.setflags(write=False)
    return img


def input_image(name):
    """The 8x8 input image ``name`` (one of :data:`CONV_INPUTS`), a read-only float64 array."""
    _check("image", name)
    return _image(name)


def output_size(size, kernel_size=3, stride=1, padding=0):
    r"""$\lfloor (\text{size} + 2\,\text{padding} - \text{kernel\_size}) / \text{stride} \rfloor + 1$."""
    return (size + 2 * padding - kernel_size) // stride + 1


def convolve(image, kernel, stride=1, padding=0):
    """The feature map of ``image`` (H, W) and ``kernel`` (KH, KW): :func:`bpkit.ops.conv2d_forward`
    with one channel, one filter and bias 0. Returns an array of shape (H_out, W_out)."""
    image = np.asarray(input_image(image) if isinstance(image, str) else image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    out, _ = ops.conv2d_forward(image[None, None], kernel[None, None], np.zeros(1), stride, padding)
    return out[0, 0]


def _kernel_array(kernel, where="ConvolutionExplorer"):
    try:
        k = np.array(kernel, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: 'kernel' must be a 3x3 array of numbers, got {kernel!r}.") from None
    if k.shape != (3, 3):
        raise ValueError(f"{where}: 'kernel' must have shape (3, 3), got {k.shape}. Pass e.g. "
                         "[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]].")
    if not np.all(np.isfinite(k)) or np.abs(k).max() > _KERNEL_LIMIT:
        raise ValueError(f"{where}: the kernel's values must be finite numbers between -{_KERNEL_LIMIT:g} and "
                         f"{_KERNEL_LIMIT:g}, got {k.tolist()}.")
    return k


def _check(name, v):
    """Validate one control value; the message names the widget, the control and its range."""
    integer = isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
    if name == "image":
        if v not in CONV_INPUTS:
            raise ValueError(f"ConvolutionExplorer: unknown image {v!r}; choose one of {list(CONV_INPUTS)}.")
    elif name == "preset":
        if v not in CONV_KERNELS:
            raise ValueError(f"ConvolutionExplorer: unknown kernel preset {v!r}; choose one of "
                             f"{list(CONV_KERNELS)} (or set the values with kernel=...).")
    elif name in ("stride", "padding"):
        lo, hi = _STRIDE if name == "stride" else _PADDING
        if not (integer and lo <= v <= hi):
            raise ValueError(f"ConvolutionExplorer: '{name}' must be a whole number from {lo} to {hi} (the slider's "
                             f"values), got {v!r}.")
    elif name == "kernel":
        _kernel_array(v)


def _preset_of(kernel):
    """The name of the preset with exactly these values, or ``"custom"``."""
    return next((n for n, k in CONV_KERNELS.items() if np.array_equal(kernel, k)), "custom")


def _g(v):
    """A number as short, stable text: at most 4 decimals, no negative zero."""
    return f"{round(float(v), 4) + 0.0:g}"


def _f3(v):
    return f"{round(float(v), 3) + 0.0:.3f}"


def _term(k, x):
    return f"{_g(k) if k >= 0 else '(' + _g(k) + ')'}*{_g(x)}"


class ConvolutionExplorer(_Widget):
    r"""Convolve an 8x8 image with a 3x3 kernel and inspect one output position.

    Controls: ``image`` (one of :data:`CONV_INPUTS`), the kernel (a ``preset`` from
    :data:`CONV_KERNELS`, or any values in nine boxes: ``kernel``), ``stride`` (1 to 3),
    ``padding`` (0 to 2) and the output position ``row``, ``col`` whose receptive field is shown.

    Attributes
    ----------
    output : ndarray, shape (H_out, W_out)
        The feature map, :func:`convolve` of the image and the kernel.
    value : float
        ``output[row, col]``.
    """

    _title = "Convolution explorer: padded input, 3x3 kernel and output feature map"

    def __init__(self, image="digit 3", preset="vertical edge", kernel=None, stride=1, padding=1, row=0, col=0):
        _check("image", image)
        _check("preset", preset)
        _check("stride", stride)
        _check("padding", padding)
        k = np.array(CONV_KERNELS[preset]) if kernel is None else _kernel_array(kernel)
        size = output_size(_SIZE, 3, stride, padding)
        for name, v in (("row", row), ("col", col)):
            self._check_position(name, v, size, size)
        self._init = {"image": image, "preset": preset, "kernel": k, "stride": stride, "padding": padding,
                      "row": row, "col": col}
        self._init_widgets()
        self.update()

    # -- controls -------------------------------------------------------------------
    def _controls(self):
        W, v = self._W, self._init
        style = {"description_width": "initial"}
        self._image_menu = W.Dropdown(options=list(CONV_INPUTS), value=v["image"], description="input")
        self._preset = W.Dropdown(options=list(CONV_KERNELS) + ["custom"], description="kernel",
                                  value=_preset_of(v["kernel"]))
        self._cells = [[W.FloatText(value=float(v["kernel"][r, c]), layout=W.Layout(width="70px"))
                        for c in range(3)] for r in range(3)]
        size = output_size(_SIZE, 3, v["stride"], v["padding"])
        self._stride = W.IntSlider(value=v["stride"], min=_STRIDE[0], max=_STRIDE[1], description="stride",
                                   continuous_update=False)
        self._padding = W.IntSlider(value=v["padding"], min=_PADDING[0], max=_PADDING[1], description="padding",
                                    continuous_update=False)
        self._row = W.IntSlider(value=v["row"], min=0, max=size - 1, description="output row",
                                continuous_update=False, style=style)
        self._col = W.IntSlider(value=v["col"], min=0, max=size - 1, description="output column",
                                continuous_update=False, style=style)
        self._image_menu.observe(self._on_change, names="value")
        self._preset.observe(self._on_preset, names="value")
        for cell in (c for row in self._cells for c in row):
            cell.observe(self._on_cell, names="value")
        for s in (self._stride, self._padding):
            s.observe(self._on_geometry, names="value")
        for s in (self._row, self._col):
            s.observe(self._on_change, names="value")
        grid = W.GridBox([c for row in self._cells for c in row],
                         layout=W.Layout(grid_template_columns="repeat(3, 74px)"))
        return [W.HBox([self._image_menu, self._preset]), W.HBox([W.HTML("kernel values:"), grid]),
                W.HBox([self._stride, self._padding]), W.HBox([self._row, self._col])]

    def _on_preset(self, change):
        if change["new"] == "custom":             # "custom" names the values in the boxes; nothing to write
            return
        hold, self._hold = self._hold, True
        try:
            self._write_cells(np.array(CONV_KERNELS[change["new"]]))
        finally:
            self._hold = hold
        self.update()

    def _on_cell(self, _change):
        if self._hold:
            return
        hold, self._hold = self._hold, True
        try:
            self._preset.value = _preset_of(self.kernel)
        finally:
            self._hold = hold
        self.update()

    def _on_geometry(self, _change):
        self._fit_position()
        self.update()

    def _fit_position(self):
        """Follow a new output size: the position sliders' range, with the position clamped into it."""
        H_out, W_out = self.output_shape
        hold, self._hold = self._hold, True
        try:
            self._row.max, self._col.max = H_out - 1, W_out - 1
        finally:
            self._hold = hold

    def _write_cells(self, k):
        for r in range(3):
            for c in range(3):
                self._cells[r][c].value = float(k[r, c])

    @staticmethod
    def _check_position(name, v, H_out, W_out):
        hi = (H_out if name == "row" else W_out) - 1
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or not 0 <= v <= hi:
            raise ValueError(f"ConvolutionExplorer: '{name}' must be a whole number from 0 to {hi} (the output is "
                             f"{H_out}x{W_out} with this stride and padding), got {v!r}.")

    # -- the controls as properties -------------------------------------------------
    @property
    def image(self) -> str:
        """The input image, one of :data:`CONV_INPUTS`."""
        return self._image_menu.value

    @image.setter
    def image(self, name):
        _check("image", name)
        self._image_menu.value = name

    @property
    def preset(self) -> str:
        """The kernel preset, or ``"custom"`` when the values match none of :data:`CONV_KERNELS`."""
        return self._preset.value

    @preset.setter
    def preset(self, name):
        _check("preset", name)
        self._preset.value = name                   # writes the preset's values into the boxes

    @property
    def kernel(self) -> np.ndarray:
        """The 3x3 kernel, as a new array; assign any 3x3 array of numbers in [-10, 10]."""
        return np.array([[float(c.value) for c in row] for row in self._cells])

    @kernel.setter
    def kernel(self, values):
        k = _kernel_array(values)
        hold, self._hold = self._hold, True
        try:
            self._write_cells(k)
            self._preset.value = _preset_of(k)
        finally:
            self._hold = hold
        self.update()

    def _int_prop(name, doc):                   # noqa: N805 - a property factory used in the class body
        def get(self):
            return int(getattr(self, "_" + name).value)

        def set_(self, v):
            if name in ("row", "col"):
                self._check_position(name, v, *self.output_shape)
            else:
                _check(name, v)
            getattr(self, "_" + name).value = int(v)
        return property(get, set_, doc=doc)

    stride = _int_prop("stride", "Step between windows, 1 to 3, in both directions.")
    padding = _int_prop("padding", "Rows and columns of zeros on each side of the image, 0 to 2.")
    row = _int_prop("row", "Row of the selected output position, from 0.")
    col = _int_prop("col", "Column of the selected output position, from 0.")
    del _int_prop

    @property
    def position(self):
        """The selected output position ``(row, col)``."""
        return self.row, self.col

    def values(self) -> dict:
        """The controls as a dict (the kernel as nested lists): ``ConvolutionExplorer(**values)`` rebuilds it."""
        return {"image": self.image, "kernel": self.kernel.tolist(), "stride": self.stride, "padding": self.padding,
                "row": self.row, "col": self.col}

    def set(self, **values):
        """Set several controls at once (keywords as in :meth:`values`, or ``preset``) and redraw once.

        Stride and padding are applied before the position, so ``set(stride=2, row=3)`` checks
        ``row`` against the new output size. Returns ``self``.
        """
        known = {"image", "preset", "kernel", "stride", "padding", "row", "col"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"ConvolutionExplorer.set: unknown control(s) {unknown}; the controls are "
                             f"{sorted(known)}.")
        for k in ("image", "preset", "kernel", "stride", "padding"):
            if k in values:
                _check(k, values[k])
        size = output_size(_SIZE, 3, values.get("stride", self.stride), values.get("padding", self.padding))
        for k in ("row", "col"):
            if k in values:
                self._check_position(k, values[k], size, size)
        self._hold = True
        try:
            for k in ("image", "preset", "kernel", "stride", "padding"):
                if k in values:
                    setattr(self, k, values[k])
            self._fit_position()
            for k in ("row", "col"):
                if k in values:
                    getattr(self, "_" + k).value = int(values[k])
        finally:
            self._hold = False
        self.update()
        return self

    # -- what the widget computes ------------------------------------------------------
    @property
    def output_shape(self):
        """``(H_out, W_out)`` for the current stride and padding."""
        n = output_size(_SIZE, 3, self.stride, self.padding)
        return n, n

    def padded_input(self) -> np.ndarray:
        """The image with ``padding`` rows and columns of zeros on each side."""
        return np.pad(input_image(self.image), self.padding)

    def receptive_field(self):
        """``(rows, cols)``: the ranges of the padded input that the selected output sees."""
        s = self.stride
        return range(self.row * s, self.row * s + 3), range(self.col * s, self.col * s + 3)

    def terms(self):
        """The nine ``(kernel value, input value)`` pairs whose products sum to :attr:`value`."""
        rows, cols = self.receptive_field()
        window = self.padded_input()[rows.start:rows.stop, cols.start:cols.stop]
        return [(float(k), float(x)) for k, x in zip(self.kernel.ravel(), window.ravel())]

    def _recompute(self):
        self.output = convolve(self.image, self.kernel, self.stride, self.padding)
        self.value = float(self.output[self.row, self.col])

    def summary(self):
        k, s, p = self.kernel, self.stride, self.padding
        H_out, W_out = self.output.shape
        rows, cols = self.receptive_field()
        kernel_text = "[" + ", ".join("[" + ", ".join(_g(v) for v in row) + "]" for row in k) + "]"
        products = " + ".join(_term(kv, xv) for kv, xv in self.terms())
        out = self.output
        at_max = np.unravel_index(int(np.argmax(out)), out.shape)
        return "\n".join([
            f"input: {self.image}, {_SIZE}x{_SIZE}; padding {p} -> {_SIZE + 2 * p}x{_SIZE + 2 * p} padded input",
            f"kernel ({self.preset}): {kernel_text}",
            f"stride {s}: output {H_out}x{W_out}, since floor(({_SIZE} + 2*{p} - 3) / {s}) + 1 = {H_out}",
            f"output[{self.row}, {self.col}] sees rows {rows.start}-{rows.stop - 1}, columns {cols.start}-"
            f"{cols.stop - 1} of the padded input",
            f"output[{self.row}, {self.col}] = {products} = {_f3(self.value)}",
            f"feature map: min {_f3(out.min())}, max {_f3(out.max())} at ({at_max[0]}, {at_max[1]})",
        ])

    def alt_text(self):
        rows, cols = self.receptive_field()
        out = self.output
        return (f"{self._title}. The input {self.image} with {self.padding} rows and columns of zero padding, a "
                f"3x3 {self.preset} kernel, and the {out.shape[0]}x{out.shape[1]} output for stride {self.stride}. "
                f"The receptive field of output[{self.row}, {self.col}], rows {rows.start}-{rows.stop - 1} and "
                f"columns {cols.start}-{cols.stop - 1} of the padded input, is outlined; its value is "
                f"{_f3(self.value)}. The feature map ranges from {_f3(out.min())} to {_f3(out.max())}.")

    def figure(self):
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle
        xp, k, out = self.padded_input(), self.kernel, self.output
        p = self.padding
        rows, cols = self.receptive_field()
        fig = Figure(figsize=(10, 3.6), layout="constrained")
        ax1, ax2, ax3 = (fig.add_subplot(1, 3, i) for i in (1, 2, 3))
        ax1.imshow(xp, cmap="Greys", vmin=0, vmax=1)
        if p:
            ax1.add_patch(Rectangle((p - 0.5, p - 0.5), _SIZE, _SIZE, fill=False, ls="--", lw=1, ec="tab:blue"))
        ax1.add_patch(Rectangle((cols.start - 0.5, rows.start - 0.5), 3, 3, fill=False, lw=2.5, ec="tab:red"))
        for r in rows:
            for c in cols:
                ax1.text(c, r, _g(xp[r, c]), ha="center", va="center", fontsize=12,
                         color="white" if xp[r, c] > 0.5 else "black")
        ax1.set_title(f"input {self.image}, padding {p}" + (" (dashed: the image)" if p else ""), fontsize=12)
        lim = max(np.abs(k).max(), 1e-12)
        ax2.imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
        for r in range(3):
            for c in range(3):
                ax2.text(c, r, _g(k[r, c]), ha="center", va="center", fontsize=12,
                         color="white" if abs(k[r, c]) > 0.6 * lim else "black")
        ax2.set_title(f"kernel: {self.preset}", fontsize=12)
        lim = max(np.abs(out).max(), 1e-12)
        ax3.imshow(out, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax3.add_patch(Rectangle((self.col - 0.5, self.row - 0.5), 1, 1, fill=False, lw=2.5, ec="black"))
        ax3.text(self.col, self.row, _f3(self.value), ha="center", va="center", fontsize=12,
                 color="white" if abs(self.value) > 0.6 * lim else "black")
        ax3.set_title(f"output {out.shape[0]}x{out.shape[1]}, stride {self.stride}", fontsize=12)
        for ax, a in ((ax1, xp), (ax2, k), (ax3, out)):
            ax.set_xticks(np.arange(a.shape[1] + 1) - 0.5, minor=True)
            ax.set_yticks(np.arange(a.shape[0] + 1) - 0.5, minor=True)
            ax.grid(which="minor", color="0.8", lw=0.5)
            ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        fig.suptitle(f"output[{self.row}, {self.col}] = sum of kernel * window = {_f3(self.value)}", fontsize=12)
        return fig
