"""Widgets are driven through their Python API, as solution notebooks and tests do."""

import numpy as np
import pytest

from bpkit.widgets import NetworkPlayground, NeuronExplorer


@pytest.fixture(scope="module")
def explorer():
    return NeuronExplorer(w=(1.0, 2.0), b=0.0, point=(0.5, 0.25), lock_weights=True)


def test_neuron_explorer_properties_drive_the_sliders_and_the_picture(explorer):
    before = explorer.png
    assert before[:8] == b"\x89PNG\r\n\x1a\n"
    explorer.b = -1.0
    assert explorer._sliders["b"].value == -1.0 and explorer.b == -1.0
    assert explorer.png != before, "moving a slider must redraw the picture"
    assert "b = -1.00" in explorer._status.value


def test_neuron_explorer_summary_and_geometry(explorer):
    explorer.set(b=-1.0, activation="sigmoid")
    assert explorer.summary().splitlines() == [
        "neuron: w = (1.00, 2.00), b = -1.00, activation = sigmoid",
        "boundary z = 0: x2 = -0.50 * x1 + 0.50",
        "at the point (0.50, 0.25): z = 0.000, a = 0.500 (on the boundary)"]
    explorer.set(b=-0.5)
    assert "on the positive side" in explorer.summary()
    np.testing.assert_allclose(explorer.output([[0.0, 0.0], [1.0, 1.0]]),
                               1 / (1 + np.exp(-np.array([-0.5, 2.5]))))
    explorer.set(activation="relu")
    np.testing.assert_allclose(explorer.output([[0.0, 0.0], [1.0, 1.0]]), [0.0, 2.5])
    explorer.set(activation="sigmoid", b=0.0)


def test_neuron_explorer_boundary_special_cases():
    e = NeuronExplorer(w=(2.0, 0.0), b=-1.0)
    assert e.boundary() == "x1 = 0.50"
    e.set(w1=0.0)
    assert e.boundary().startswith("none")
    assert "NeuronExplorer" in repr(e) and "boundary" in repr(e)


@pytest.mark.parametrize("kwargs, match", [
    (dict(activation="softplus"), "unknown activation 'softplus'"),
    (dict(w=(1.0, 2.0, 3.0)), r"'w' must have shape \(2,\), got \(3,\)"),
])
def test_neuron_explorer_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match="NeuronExplorer: " + match):
        NeuronExplorer(**kwargs)


def test_neuron_explorer_rejects_values_outside_the_slider(explorer):
    with pytest.raises(ValueError, match=r"b = 7.0 is outside the slider range \[-5, 5\]"):
        explorer.b = 7.0


def test_widget_displays_as_widget_with_stable_text():
    e = NeuronExplorer()
    bundle = e._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("NeuronExplorer: an interactive widget")


def test_playground_hand_set_xor_weights_solve_xor():
    p = NetworkPlayground("xor")
    assert p.accuracy() <= 0.75                        # the random start does not solve XOR
    p.set_weights(W1=[[10, 10], [10, 10]], b1=[-5, -15], W2=[[10], [-10]], b2=[-5])
    assert p._sliders[("b1", (1,))].value == -15.0, "the sliders follow set_weights"
    np.testing.assert_array_less([-1, 0.9, 0.9, -1], np.where([1, 0, 0, 1], -p.probabilities(), p.probabilities()))
    assert p.accuracy() == 1.0
    text = p.summary()
    assert "accuracy 100.0% (4/4)" in text and "00 -> 0.01, 01 -> 0.99, 10 -> 0.99, 11 -> 0.01" in text


def test_playground_slider_moves_one_weight_only():
    p = NetworkPlayground("xor", seed=3)
    before = p.weights
    image = p.png
    p._sliders[("W2", (1, 0))].value = 4.0            # what a user's drag does
    after = p.weights
    assert after["W2"][1, 0] == 4.0
    for k in ("W1", "b1", "b2"):
        np.testing.assert_array_equal(after[k], before[k])
    assert p.png != image


def test_playground_training_lowers_the_loss_and_is_deterministic():
    a, b = NetworkPlayground("moons", hidden=3, activation="tanh"), NetworkPlayground("moons", hidden=3,
                                                                                        activation="tanh")
    start = a.loss()
    a.train(300, lr=1.0)
    b.train(300, lr=1.0)
    assert a.loss() < 0.5 * start
    assert a.accuracy() >= 0.85
    assert len(a.losses) == 301 and a.steps_trained == 300
    assert a.summary() == b.summary()
    np.testing.assert_array_equal(a.weights["W1"], b.weights["W1"])


def test_playground_train_uses_the_boxes_by_default():
    p = NetworkPlayground("xor", steps=5, lr=0.5)
    assert (p.steps, p.lr) == (5, 0.5)
    p.train()
    assert p.steps_trained == 5


def test_playground_bad_arguments():
    with pytest.raises(ValueError, match="NetworkPlayground: unknown dataset 'circles'"):
        NetworkPlayground("circles")
    with pytest.raises(ValueError, match="'hidden' must be an int from 1 to 8, got 20"):
        NetworkPlayground(hidden=20)
    p = NetworkPlayground()
    with pytest.raises(ValueError, match=r"W1 must have shape \(2, 2\), got \(2,\)"):
        p.set_weights(W1=[1.0, 2.0])
    with pytest.raises(ValueError, match="outside the slider range"):
        p.set_weights(b2=[100.0])


def test_the_picture_has_alt_text_that_follows_the_state():
    """Screen readers get the title and the summary; ipywidgets.Image could not carry alt text."""
    import base64
    import html
    import re

    explorer = NeuronExplorer(w=(1.0, 2.0), b=0.0)
    value = explorer._image.value
    src, alt = re.fullmatch(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)" style="[^"]*">', value).groups()
    assert base64.b64decode(src) == explorer.png
    assert html.unescape(alt) == explorer.alt_text()
    assert explorer.alt_text().startswith(explorer._title or "NeuronExplorer")
    assert " ".join(explorer.summary().split()) in explorer.alt_text()
    explorer.b = 1.5
    assert "b = 1.50" in html.unescape(re.search(r'alt="([^"]+)"', explorer._image.value).group(1))
