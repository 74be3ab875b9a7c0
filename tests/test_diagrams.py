"""bpkit.diagrams draws what the ops compute: each test reads the drawing back (by gid) and compares
it with an independent computation by the op, so a diagram that drifts from the code fails."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bpkit import diagrams, ops  # noqa: E402
from bpkit.ops.conv import _im2col_conv  # noqa: E402
from bpkit.plot import min_font_pt  # noqa: E402
from bpkit.widgets.autoencoder import build_autoencoder  # noqa: E402


@pytest.fixture(autouse=True)
def close_all():
    yield
    plt.close("all")


def _by_gid(fig, prefix):
    return {a.get_gid(): a for ax in fig.axes for a in ax.get_children() if (a.get_gid() or "").startswith(prefix)}


def _texts(fig, prefix, shape):
    found = _by_gid(fig, prefix + "-text-")
    return np.array([[float(found[f"{prefix}-text-{i}-{j}"].get_text()) for j in range(shape[1])]
                     for i in range(shape[0])])


@pytest.mark.parametrize("H, W, k, s, p", [(5, 5, 3, 2, 1), (6, 5, 3, 1, 0), (7, 7, 2, 3, 2)])
def test_conv_windows_start_where_the_convolution_reads(H, W, k, s, p):
    fig = diagrams.conv_windows(H, W, kernel=k, stride=s, padding=p)
    # the op itself says where each window starts: a kernel with a 1 in its top-left corner copies the
    # padded pixel there, and the pixels are numbered row by row
    xp_index = np.arange((H + 2 * p) * (W + 2 * p), dtype=float).reshape(H + 2 * p, W + 2 * p) + 1
    x = xp_index[p:p + H, p:p + W] if p else xp_index
    kernel = np.zeros((1, 1, k, k))
    kernel[0, 0, 0, 0] = 1
    out, _ = ops.conv2d_forward(x[None, None], kernel, np.zeros(1), stride=s, padding=p)
    corners = _by_gid(fig, "corner-")
    assert len(corners) == out.shape[2] * out.shape[3]
    for (i, j), value in np.ndenumerate(out[0, 0]):
        cx, cy = corners[f"corner-{i}-{j}"].get_data()
        r, c = -cy[0] - 0.5, cx[0] - 0.5                  # the dot sits in the middle of its cell
        if value:                                          # a padding cell reads 0: check it lies in the pad
            assert xp_index[int(r), int(c)] == value, f"window ({i}, {j}) drawn at ({r}, {c})"
        else:
            assert not (p <= r < p + H and p <= c < p + W)
    assert len(_by_gid(fig, "window-0-")) == out.shape[3]
    shaded = [a for g, a in _by_gid(fig, "input-").items() if a.get_facecolor()[0] < 0.9]
    assert len(shaded) == (H + 2 * p) * (W + 2 * p) - H * W, "the padding is shaded"


def test_im2col_draws_the_matrix_of_conv2d_forward():
    fig = diagrams.im2col(3, 4, kernel=2)
    x = np.arange(1, 13, dtype=float).reshape(1, 1, 3, 4)
    W = np.array([[[[1.0, -2.0], [3.0, 0.5]]]])
    out, cols = _im2col_conv(x, W, np.zeros(1), 1, 0)
    assert np.array_equal(_texts(fig, "cols", cols.shape), cols)
    # the drawn matrix is the one the convolution multiplies, whichever route conv2d_forward takes
    np.testing.assert_allclose(W.reshape(1, -1) @ cols, ops.conv2d_forward(x, W, np.zeros(1))[0].reshape(1, -1))
    outline = _by_gid(fig, "window-0")["window-0"]
    assert outline.get_xy() == (0, -2) and outline.get_width() == 2, "window 0 is column 0: pixels 1, 2, 5, 6"
    assert cols[:, 0].tolist() == [1, 2, 5, 6]


def test_maxpool_routing_sends_each_gradient_to_its_maximum():
    x = np.array([[0, 7, 1, 2], [3, 1, 9, 4], [8, 2, 0, 1], [1, 1, 3, 5]], dtype=float)
    fig = diagrams.maxpool_routing(x)
    out, cache = ops.maxpool2d_forward(x[None, None], 2)
    dout = np.arange(1, 5, dtype=float).reshape(1, 1, 2, 2) / 10
    dx = ops.maxpool2d_backward(dout, cache)[0, 0]
    assert np.allclose(_texts(fig, "dx", (4, 4)), dx)
    assert np.allclose(_texts(fig, "dout", (2, 2)), dout[0, 0])
    shaded = {g for g, a in _by_gid(fig, "x-").items() if "text" not in g and a.get_facecolor()[0] < 0.9}
    assert shaded == {"x-0-1", "x-1-2", "x-2-0", "x-3-3"}, "the maxima 7, 9, 8, 5 are marked"


def test_rnn_unrolled_has_a_forward_and_a_backward_path_per_step():
    fig = diagrams.rnn_unrolled(T=5)
    for kind in ("h", "x", "L"):
        assert len(_by_gid(fig, f"{kind}-")) == 5 + (kind == "h")
    for path in ("forward-h-", "forward-x-", "forward-L-", "backward-h-", "backward-L-"):
        assert len(_by_gid(fig, path)) == 5
    back = _by_gid(fig, "backward-h-")["backward-h-3"]
    assert back.xy[0] < back.xyann[0], "the gradient runs from h3 back to h2"


def test_lstm_cell_draws_the_update_the_op_computes():
    fig = diagrams.lstm_cell()
    assert diagrams.LSTM_GATES == ("i", "f", "o", "g")
    labels = {g[len("box-"):]: a.get_text() for g, a in _by_gid(fig, "box-").items()}
    assert [labels[g].split(":")[0] for g in diagrams.LSTM_GATES] == ["i", "f", "o", "g"]
    arrows = set(_by_gid(fig, "arrow-"))
    assert {"arrow-f-times_f", "arrow-c_prev-times_f", "arrow-i-times_ig", "arrow-g-times_ig",
            "arrow-times_f-plus", "arrow-times_ig-plus", "arrow-o-times_o", "arrow-tanh_c-times_o"} <= arrows
    assert "arrow-o-times_f" not in arrows and "arrow-f-times_o" not in arrows
    # the same update, from the op's gates (stacked i, f, o, g)
    rng = np.random.default_rng(0)
    x, h, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    Wx, Wh, b = rng.normal(size=(3, 16)), rng.normal(size=(4, 16)), rng.normal(size=16)
    h_new, c_new, _ = ops.lstm_step_forward(x, h, c, Wx, Wh, b)
    a = x @ Wx + h @ Wh + b
    i, f, o, g = (a[:, 4 * k:4 * k + 4] for k in range(4))
    sig = lambda z: 1 / (1 + np.exp(-z))                         # noqa: E731
    assert np.allclose(c_new, sig(f) * c + sig(i) * np.tanh(g))
    assert np.allclose(h_new, sig(o) * np.tanh(c_new))


@pytest.mark.parametrize("kind, H", [("nonlinear", 4), ("linear", 2)])
def test_autoencoder_bottleneck_draws_the_model_layer_sizes(kind, H):
    model = build_autoencoder(kind, H, np.random.default_rng(0))
    fig = diagrams.autoencoder_bottleneck(model)
    sizes = [int(a.get_text()) for _, a in sorted(_by_gid(fig, "size-").items())]
    widths = [64] + [layer.params["W"].shape[1] for layer in model.layers if hasattr(layer, "params")
                     and "W" in layer.params]
    assert sizes == widths and min(sizes) == H
    bars = _by_gid(fig, "layer-")
    heights = [bars[f"layer-{k}"].get_height() for k in range(len(sizes))]
    assert np.allclose(np.array(heights) / heights[0], np.array(sizes) / 64)


@pytest.mark.parametrize("draw", [diagrams.conv_windows, diagrams.im2col, diagrams.maxpool_routing,
                                  diagrams.rnn_unrolled, diagrams.lstm_cell,
                                  lambda: diagrams.autoencoder_bottleneck(
                                      build_autoencoder("nonlinear", 4, np.random.default_rng(0)))])
def test_every_diagram_fits_the_column_with_text_of_the_book_size(draw):
    fig = draw()
    assert fig.get_size_inches()[0] <= 6.4 and min_font_pt(fig) >= 12
