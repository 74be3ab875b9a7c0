"""The convolution explorer of Chapter 7, driven through its Python API as notebooks and tests do."""

import time

import numpy as np
import pytest

from bpkit.widgets import ConvolutionExplorer as Exported
from bpkit.widgets.convolution import (CONV_INPUTS, CONV_KERNELS, ConvolutionExplorer, convolve, input_image,
                                       output_size)


@pytest.fixture(scope="module")
def explorer():
    return ConvolutionExplorer(image="digit 3", preset="vertical edge", stride=1, padding=1, row=3, col=2)


def loops(image, kernel, stride, padding):
    """The definition, one product at a time: out[i, j] = sum_kl kernel[k, l] * xp[i*s + k, j*s + l]."""
    xp = np.pad(image, padding)
    n = (len(image) + 2 * padding - 3) // stride + 1
    return np.array([[sum(kernel[k][l] * xp[i * stride + k, j * stride + l] for k in range(3) for l in range(3))
                      for j in range(n)] for i in range(n)])


def test_exported_from_the_widgets_package():
    assert Exported is ConvolutionExplorer


@pytest.mark.parametrize("image", ["digit 0", "digit 7", "square", "cross", "stripes", "diagonal", "impulse"])
@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 1), (3, 2)])
def test_convolve_is_the_cross_correlation_of_the_definition(image, stride, padding):
    for kernel in CONV_KERNELS.values():
        out = convolve(image, kernel, stride, padding)
        assert out.shape == (output_size(8, 3, stride, padding),) * 2
        np.testing.assert_allclose(out, loops(input_image(image), kernel, stride, padding), atol=1e-12)


def test_inputs_are_fixed_8x8_images():
    assert len(CONV_INPUTS) == 15
    for name in CONV_INPUTS:
        img = input_image(name)
        assert img.shape == (8, 8) and img.min() >= 0 and img.max() <= 1 and not img.flags.writeable
    from bpkit import data
    split = data.digits()
    np.testing.assert_array_equal(input_image("digit 4").ravel(), split.X_train[split.y_train == 4][0])
    assert input_image("impulse").sum() == 1 and input_image("square").sum() == 16


def test_the_impulse_shows_the_flipped_kernel():
    kernel = np.arange(1.0, 10.0).reshape(3, 3)
    out = convolve("impulse", kernel, 1, 1)                    # the single 1 sits at row 3, column 4
    np.testing.assert_array_equal(out[2:5, 3:6], kernel[::-1, ::-1])


def test_summary_is_deterministic_and_writes_out_the_sum(explorer):
    lines = explorer.summary().splitlines()
    assert lines[0] == "input: digit 3, 8x8; padding 1 -> 10x10 padded input"
    assert lines[1] == "kernel (vertical edge): [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]"
    assert lines[2] == "stride 1: output 8x8, since floor((8 + 2*1 - 3) / 1) + 1 = 8"
    assert lines[3] == "output[3, 2] sees rows 3-5, columns 2-4 of the padded input"
    assert lines[4].startswith("output[3, 2] = (-1)*") and lines[4].endswith(f"= {explorer.value:.3f}")
    assert len(lines[4].split(" + ")) == 9
    assert explorer.value == pytest.approx(sum(k * x for k, x in explorer.terms()))
    assert explorer.value == explorer.output[3, 2]
    fresh = ConvolutionExplorer(image="digit 3", preset="vertical edge", stride=1, padding=1, row=3, col=2)
    assert fresh.summary() == explorer.summary()


def test_the_receptive_field_is_the_window_of_the_selected_output(explorer):
    explorer.set(stride=2, padding=1, row=1, col=3)
    rows, cols = explorer.receptive_field()
    assert (rows.start, rows.stop, cols.start, cols.stop) == (2, 5, 6, 9)
    window = explorer.padded_input()[2:5, 6:9]
    assert [x for _, x in explorer.terms()] == window.ravel().tolist()
    assert explorer.value == pytest.approx(np.sum(window * explorer.kernel))
    explorer.set(stride=1, padding=1, row=3, col=2)


def test_each_control_changes_the_output_and_the_picture(explorer):
    before_png, before_text = explorer.png, explorer.summary()
    assert before_png[:8] == b"\x89PNG\r\n\x1a\n"
    for name, value in [("image", "cross"), ("preset", "blur"), ("stride", 2), ("padding", 2), ("row", 1),
                        ("col", 0), ("kernel", [[1, 0, 0], [0, 0, 0], [0, 0, -1]])]:
        setattr(explorer, name, value)
        got = getattr(explorer, name)
        assert (np.array_equal(got, value) if name == "kernel" else got == value), name
        assert explorer.summary() != before_text and explorer.png != before_png, name
        before_png, before_text = explorer.png, explorer.summary()
    assert explorer.values() == {"image": "cross", "kernel": [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0]],
                                 "stride": 2, "padding": 2, "row": 1, "col": 0}
    assert "output 5x5" in explorer._status.value
    explorer.set(image="digit 3", preset="vertical edge", stride=1, padding=1, row=3, col=2)


def test_presets_and_custom_values(explorer):
    explorer.preset = "sharpen"
    np.testing.assert_array_equal(explorer.kernel, CONV_KERNELS["sharpen"])
    explorer._cells[1][1].value = 4.0                            # typing one value in a box
    assert explorer.preset == "custom" and explorer.kernel[1, 1] == 4.0
    assert "kernel (custom)" in explorer.summary()
    explorer.kernel = CONV_KERNELS["blur"]                       # values equal to a preset: its name
    assert explorer.preset == "blur"
    explorer._preset.value = "identity"                          # choosing a preset in the menu writes its values
    np.testing.assert_array_equal(explorer.kernel, CONV_KERNELS["identity"])
    explorer.set(preset="vertical edge")


def test_stride_and_padding_move_the_position_sliders(explorer):
    explorer.set(stride=1, padding=2, row=9, col=9)
    assert explorer.output_shape == (10, 10) and explorer._row.max == 9
    explorer.stride = 3                                          # output 4x4: the position is clamped into range
    assert explorer.output_shape == (4, 4) and explorer.position == (3, 3) and explorer._col.max == 3
    explorer.set(stride=2, padding=0, row=2)                     # checked against the new size, 3x3
    assert explorer.position == (2, 2) and explorer.output.shape == (3, 3)
    explorer.set(stride=1, padding=1, row=3, col=2)


def test_values_rebuild_the_same_widget(explorer):
    explorer.set(image="stripes", kernel=[[0, 1, 0], [1, -4, 1], [0, 1, 0]], stride=2, padding=0, row=1, col=2)
    again = ConvolutionExplorer(**explorer.values())
    assert again.summary() == explorer.summary() and again.preset == "custom"
    explorer.set(image="digit 3", preset="vertical edge", stride=1, padding=1, row=3, col=2)


def test_alt_text_describes_the_state(explorer):
    alt = explorer.alt_text()
    assert alt.startswith("Convolution explorer: padded input, 3x3 kernel and output feature map.")
    assert "digit 3" in alt and "vertical edge" in alt and "output[3, 2]" in alt
    assert f'alt="{alt[:40]}' in explorer._image.value


def test_one_update_is_fast(explorer):
    start = time.perf_counter()
    explorer.set(image="digit 8", stride=2)
    assert time.perf_counter() - start < 2.0                     # a few tens of ms here; generous for slow CI
    explorer.set(image="digit 3", stride=1)


@pytest.mark.parametrize("kwargs, match", [
    ({"image": "digit 10"}, "unknown image 'digit 10'"),
    ({"preset": "emboss"}, "unknown kernel preset 'emboss'"),
    ({"kernel": [[1, 0], [0, 1]]}, r"'kernel' must have shape \(3, 3\), got \(2, 2\)"),
    ({"kernel": [[100, 0, 0]] * 3}, "the kernel.s values must be finite numbers between -10 and 10"),
    ({"stride": 0}, "'stride' must be a whole number from 1 to 3"),
    ({"padding": 1.5}, "'padding' must be a whole number from 0 to 2"),
    ({"stride": 2, "padding": 0, "row": 3}, r"'row' must be a whole number from 0 to 2 \(the output is 3x3"),
])
def test_bad_arguments_raise_with_the_widget_name(kwargs, match):
    with pytest.raises(ValueError, match="ConvolutionExplorer: " + match):
        ConvolutionExplorer(**kwargs)


def test_bad_assignments_raise_and_leave_the_state(explorer):
    before = explorer.summary()
    with pytest.raises(ValueError, match="'col' must be a whole number from 0 to 7"):
        explorer.col = 8
    with pytest.raises(ValueError, match="unknown control"):
        explorer.set(dilation=2)
    with pytest.raises(ValueError, match="'row' must be a whole number from 0 to 1"):
        explorer.set(stride=3, padding=0, row=2)
    with pytest.raises(ValueError, match="'kernel' must be a 3x3 array of numbers"):
        explorer.kernel = "sobel"
    assert explorer.summary() == before


def test_displays_as_a_widget_with_stable_text(explorer):
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"].startswith("ConvolutionExplorer: an interactive widget")
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert repr(explorer).startswith("ConvolutionExplorer()\ninput: digit 3")
