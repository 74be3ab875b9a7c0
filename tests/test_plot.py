"""bpkit.plot with the Agg backend: the artists drawn carry the data, nothing is shown,
and every figure is closed after each test."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from bpkit import plot, train  # noqa: E402


@pytest.fixture(autouse=True)
def no_show_and_close_all(monkeypatch):
    """Fail if a plot function calls plt.show; close every figure afterwards."""
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(True))
    monkeypatch.setattr(matplotlib.figure.Figure, "show", lambda *a, **k: shown.append(True))
    yield
    plt.close("all")
    assert not shown, "a plot function called show()"
    assert plt.get_fignums() == []


def _history():
    h = train.History()
    for epoch, (loss, val, acc) in enumerate([(1.0, 1.2, 0.5), (0.5, 0.7, 0.75), (0.25, 0.6, 0.9)], start=1):
        h.append(epoch, {"loss": loss, "val_loss": val, "accuracy": acc})
    return h


def _lines_by_label(ax):
    return {line.get_label(): line for line in ax.get_lines()}


# ----------------------------------------------------------------------------- plot_history

def test_plot_history_draws_one_line_per_loss_with_the_values():
    ax = plot.plot_history(_history())
    lines = _lines_by_label(ax)
    assert set(lines) == {"loss", "val_loss"}                       # default keys: every *loss record
    np.testing.assert_array_equal(lines["loss"].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines["loss"].get_ydata(), [1.0, 0.5, 0.25])
    np.testing.assert_array_equal(lines["val_loss"].get_ydata(), [1.2, 0.7, 0.6])
    assert lines["loss"].get_linestyle() == "-" and lines["val_loss"].get_linestyle() == "--"
    assert to_rgba(lines["loss"].get_color()) == to_rgba(lines["val_loss"].get_color())
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "val_loss"]
    assert isinstance(ax.figure, matplotlib.figure.Figure)
    assert plt.get_fignums() == [ax.figure.number]                  # exactly one new figure


def test_plot_history_metric_keys_log_scale_title_and_a_plain_dict():
    records = {"loss": [4.0, 2.0], "accuracy": [0.5, 0.75], "val_accuracy": [0.4, 0.7]}
    ax = plot.plot_history(records, keys=["accuracy", "val_accuracy"], logy=True, title="acc")
    lines = _lines_by_label(ax)
    assert set(lines) == {"accuracy", "val_accuracy"}
    np.testing.assert_array_equal(lines["val_accuracy"].get_ydata(), [0.4, 0.7])
    assert ax.get_yscale() == "log" and ax.get_title() == "acc" and ax.get_ylabel() == "accuracy"


def test_plot_history_draws_on_the_given_axes_without_a_new_figure():
    fig, (left, right) = plt.subplots(1, 2)
    out = plot.plot_history(_history(), keys=["accuracy"], ax=right)
    assert out is right and left.get_lines() == []
    np.testing.assert_array_equal(right.get_lines()[0].get_ydata(), [0.5, 0.75, 0.9])
    assert plt.get_fignums() == [fig.number]


def test_plot_history_unknown_key_names_the_available_ones():
    with pytest.raises(ValueError, match=r"plot_history: no records for \['val_accuracy'\]; available: "
                                         r"\['accuracy', 'loss', 'val_loss'\]\. Pass keys"):
        plot.plot_history(_history(), keys=["val_accuracy"])
    assert plt.get_fignums() == []                                   # no empty figure left behind


# ----------------------------------------------------------------------------- plot_decision_boundary

def _blobs():
    X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0], [0.5, 0.2], [-0.5, -0.2]])
    y = (X[:, 0] > 0).astype(int)
    return X, y


def _contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def _scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection) and not isinstance(c, ContourSet)]


def test_decision_boundary_contours_the_predicted_classes_and_scatters_every_point():
    X, y = _blobs()
    calls = []

    def predict(P):
        calls.append(P.copy())
        return np.column_stack([-P[:, 0], P[:, 0]])                 # class 1 right of x = 0

    ax = plot.plot_decision_boundary(predict, X, y, resolution=30, margin=0.25)
    (grid,) = calls
    assert grid.shape == (30 * 30, 2)
    np.testing.assert_allclose(grid.min(axis=0), X.min(axis=0) - 0.25)
    np.testing.assert_allclose(grid.max(axis=0), X.max(axis=0) + 0.25)
    (cs,) = _contour_sets(ax)
    np.testing.assert_array_equal(cs.levels, [-0.5, 0.5, 1.5])       # one band per class
    (sc,) = _scatters(ax)
    np.testing.assert_array_equal(sc.get_offsets(), X)              # every point, in order
    np.testing.assert_array_equal(sc.get_array(), y)                 # coloured by its label
    assert ax.get_xlim() == pytest.approx((-1.25, 1.25)) and ax.get_ylim() == pytest.approx((-1.25, 1.25))


def test_decision_boundary_with_three_classes_and_given_axes():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 2, 1])
    fig, ax = plt.subplots()
    out = plot.plot_decision_boundary(lambda P: np.column_stack([-np.abs(P[:, 0] - c) for c in range(3)]),
                                      X, y, ax=ax, resolution=20, title="three")
    assert out is ax and plt.get_fignums() == [fig.number]
    np.testing.assert_array_equal(_contour_sets(ax)[0].levels, [-0.5, 0.5, 1.5, 2.5])
    assert len(_scatters(ax)[0].get_offsets()) == 4
    assert ax.get_title() == "three"


@pytest.fixture
def contour_labels(monkeypatch):
    """The class-label grid Z that plot_decision_boundary hands to ``contourf``, with its grid."""
    seen = []
    original = matplotlib.axes.Axes.contourf

    def spy(self, gx, gy, Z, *args, **kwargs):
        seen.append((np.array(gx), np.array(gy), np.array(Z)))
        return original(self, gx, gy, Z, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "contourf", spy)
    return seen


def test_decision_boundary_colours_by_argmax_of_class_scores(contour_labels):
    X, y = _blobs()
    plot.plot_decision_boundary(lambda P: np.column_stack([-P[:, 0], P[:, 0]]), X, y, resolution=11)
    ((gx, gy, Z),) = contour_labels
    assert Z.shape == gx.shape == gy.shape == (11, 11)
    np.testing.assert_array_equal(Z, (gx > 0).astype(int))


@pytest.mark.parametrize("make_scores, threshold", [
    (lambda P: P[:, :1] - 0.3, 0.0),                                  # (n, 1) logits, threshold 0
    (lambda P: (P[:, 0] - 0.3).ravel(), 0.0),                         # (n,) logits
    (lambda P: 1 / (1 + np.exp(-(P[:, 0] - 0.3))), 0.5),              # probabilities, threshold 0.5
])
def test_decision_boundary_thresholds_binary_scores(contour_labels, make_scores, threshold):
    X, y = _blobs()
    ax = plot.plot_decision_boundary(make_scores, X, y, resolution=13, threshold=threshold)
    ((gx, _, Z),) = contour_labels
    np.testing.assert_array_equal(Z, (gx > 0.3).astype(int))
    assert 0 < Z.sum() < Z.size                                       # both classes appear
    np.testing.assert_array_equal(_contour_sets(ax)[0].levels, [-0.5, 0.5, 1.5])


def test_decision_boundary_accepts_a_bpkit_model():
    from bpkit import nn
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 3, rng=rng))
    X, y = _blobs()
    ax = plot.plot_decision_boundary(model.forward, X, y, resolution=8)
    assert len(_contour_sets(ax)) == 1 and len(_scatters(ax)[0].get_offsets()) == len(X)


@pytest.mark.parametrize("X, y, predict, message", [
    (np.zeros((5, 3)), np.zeros(5, int), None, r"X must have shape \(N, 2\), got \(5, 3\)\. .*X\[:, :2\]"),
    (np.zeros((5, 2)), np.zeros(4, int), None,
     r"y must hold one label per row of X, shape \(5,\), got 4 labels\. Pass"),
    (np.zeros((5, 2)), np.zeros(5, int), lambda P: np.zeros((3, 2)),
     r"predict must map an \(\d+, 2\) array .* got shape \(3, 2\)\. Pass a function of the points"),
])
def test_decision_boundary_bad_input(X, y, predict, message):
    with pytest.raises(ValueError, match="plot_decision_boundary: " + message):
        plot.plot_decision_boundary(predict or (lambda P: P), X, y, resolution=5)


def test_plot_module_is_the_only_place_that_imports_pyplot():
    """bpkit.plot does not import matplotlib at module level (bpkit's import stays light)."""
    import inspect
    src = inspect.getsource(plot)
    top_level = [line for line in src.splitlines() if line.startswith(("import matplotlib", "from matplotlib"))]
    assert top_level == []


def test_animation_html_is_self_contained_and_has_alt_text():
    from matplotlib import animation

    fig, ax = plt.subplots(figsize=(2, 2), dpi=30)
    line, = ax.plot([], [])

    def draw(k):
        line.set_data(np.arange(k + 1), np.arange(k + 1) ** 2)
        return [line]

    anim = animation.FuncAnimation(fig, draw, frames=3, blit=True)
    html = plot.animation_html(anim, 'A parabola "drawn" point by point.')
    plt.close(fig)
    assert html.count("<img ") == 1
    assert '<img alt="A parabola &quot;drawn&quot; point by point." id=' in html
    assert "<script" in html and 'src="http' not in html
    assert "<link" not in html and "font-awesome" not in html and 'class="fa ' not in html   # no CDN icons
    assert html.count('<span aria-hidden="true">') == 9 and 'aria-label="Play"' in html
    with pytest.raises(ValueError, match="animation_html: 'alt' must describe"):
        plot.animation_html(anim, "  ")
    framed = plot.animation_html(anim, "A parabola.", still=True)
    player, still = framed.split('<img class="bpfs-animation-still" ')
    assert player.startswith('<div class="bpfs-animation"><div class="bpfs-animation-player">')
    assert still.startswith('alt="A parabola." src="data:image/png;base64,')
    from PIL import Image
    import base64
    import io
    png = base64.b64decode(still.split("base64,")[1].split('"')[0])
    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (60, 60)                            # the 2 x 2 in figure at 30 dpi


def test_book_style_sets_the_figure_style_and_min_font_pt_finds_the_smallest_text():
    with matplotlib.rc_context():
        plot.book_style()
        assert plt.rcParams["font.size"] == plot.BOOK_STYLE["font.size"]
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1], label="a line")
        ax.legend()
        assert plot.min_font_pt(fig) == plot.MIN_FONT_PT                # the legend and the tick labels
        ax.text(0.5, 0.5, "small", fontsize=7)
        assert plot.min_font_pt(fig) == 7
        assert all(v >= plot.MIN_FONT_PT for k, v in plot.BOOK_STYLE.items()
                   if k.endswith("size") and k != "figure.figsize")
