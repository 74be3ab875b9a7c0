"""The depth explorer of Chapter 5, driven through its Python API as notebooks and tests do."""

import numpy as np
import pytest

from bpkit import init, nn
from bpkit.widgets.activations import DEPTH_ACTIVATIONS, DEPTH_INITS, DepthExplorer, depth_statistics


@pytest.fixture
def explorer():
    return DepthExplorer(depth=6, activation="tanh", init="xavier", scale=1.0, width=16, n=32, seed=3)


def hand_run(depth, act, init_name, scale, width, n, seed):
    """The network of depth_statistics' docstring, built and run by hand with bpkit."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, width))
    G = rng.standard_normal((n, width))
    linears = [None] * depth
    layers = []
    for l in range(depth):
        linears[l] = nn.Linear(width, width, rng=rng, init=init.scaled(init_name, scale))
        layers += [linears[l], act()]
    model = nn.Sequential(layers)
    stds, A = [], X
    for l in range(depth):
        A = layers[2 * l + 1](linears[l](A))
        stds.append(A.std())
    model.backward(G / n)
    return np.array(stds), np.array([np.linalg.norm(lin.grads["W"]) for lin in linears])


@pytest.mark.parametrize("activation", ["tanh", "relu", "gelu"])
def test_statistics_equal_a_hand_run_bpkit_network(explorer, activation):
    explorer.set(activation=activation, init="he", scale=0.8)
    stds, norms = hand_run(6, {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}[activation], "he", 0.8, 16, 32, 3)
    np.testing.assert_allclose(explorer.act_std, stds, rtol=1e-12)
    np.testing.assert_allclose(explorer.grad_norm, norms, rtol=1e-12)
    assert explorer.ratio() == pytest.approx(norms[0] / norms[-1])


def test_properties_drive_the_controls_and_the_picture(explorer):
    before = explorer.png
    assert before[:8] == b"\x89PNG\r\n\x1a\n"
    explorer.depth = 9
    assert explorer._depth.value == 9 and explorer.depth == 9 and explorer.act_std.shape == (9,)
    assert explorer.png != before, "moving a slider must redraw the picture"
    picture = explorer.png
    explorer.scale = 2.0
    assert explorer._scale.value == 2.0 and explorer.png != picture
    picture = explorer.png
    explorer.activation = "sigmoid"
    assert explorer._act.value == "sigmoid" and explorer.png != picture
    assert "activation sigmoid" in explorer._status.value


def test_summary_text_is_rounded_and_follows_the_state(explorer):
    text = explorer.summary()
    lines = text.splitlines()
    assert lines[0] == "6 layers of width 16, activation tanh, init xavier x 1.00 (weight std 0.25)"
    a, g = explorer.act_std, explorer.grad_norm
    assert lines[1] == f"activation std: layer 1 {a[0]:.3g}, layer 4 {a[3]:.3g}, layer 6 {a[5]:.3g}"
    assert lines[2] == f"gradient norm |dW|: layer 1 {g[0]:.3g}, layer 4 {g[3]:.3g}, layer 6 {g[5]:.3g}"
    assert lines[3] == f"layer 1 / last layer gradient ratio: {g[0] / g[5]:.3g}"
    assert explorer.summary() == text and DepthExplorer(6, "tanh", "xavier", 1.0, 16, 32, 3).summary() == text


def test_weight_std_follows_the_rules(explorer):
    for name, base in [("lecun", np.sqrt(1 / 16)), ("xavier", np.sqrt(2 / 32)), ("he", np.sqrt(2 / 16))]:
        explorer.set(init=name, scale=1.5)
        assert explorer.weight_std() == pytest.approx(1.5 * base)


def test_the_physics_sigmoid_vanishes_and_he_keeps_relu_alive():
    sig = depth_statistics(20, "sigmoid", "xavier", 1.0)
    assert sig["grad_norm"][0] / sig["grad_norm"][-1] < 1e-9
    relu_he = depth_statistics(20, "relu", "he", 1.0)["act_std"]
    relu_lecun = depth_statistics(20, "relu", "lecun", 1.0)["act_std"]
    assert 0.3 < relu_he[-1] < 3 and relu_lecun[-1] < 1e-2


@pytest.mark.parametrize("kwargs, match", [
    ({"depth": 1}, "'depth' must be an int from 2 to 50"),
    ({"depth": 51}, "'depth' must be an int from 2 to 50"),
    ({"depth": 3.0}, "'depth' must be an int"),
    ({"activation": "swish"}, "unknown activation 'swish'"),
    ({"init": "kaiming"}, "unknown init 'kaiming'"),
    ({"scale": 0.0}, "'scale' must be a number from 0.1 to 3"),
    ({"scale": "1"}, "'scale' must be a number"),
])
def test_bad_arguments_raise_with_the_widget_name(kwargs, match):
    with pytest.raises(ValueError, match="DepthExplorer: " + match):
        DepthExplorer(**kwargs)


def test_bad_assignments_raise_and_leave_the_state(explorer):
    before = explorer.summary()
    with pytest.raises(ValueError, match="'scale' must be a number from 0.1 to 3"):
        explorer.scale = 5
    with pytest.raises(ValueError, match="unknown activation"):
        explorer.set(depth=10, activation="softmax")
    assert explorer.summary() == before and explorer.depth == 6


def test_depth_statistics_rejects_bad_names():
    with pytest.raises(ValueError, match="depth_statistics: unknown activation"):
        depth_statistics(3, "elu")
    with pytest.raises(ValueError, match="depth_statistics: unknown init"):
        depth_statistics(3, "tanh", "orthogonal")
    assert set(DEPTH_ACTIVATIONS) == {"sigmoid", "tanh", "relu", "leaky_relu", "gelu"}
    assert DEPTH_INITS == ("lecun", "xavier", "he")


def test_displays_as_a_widget_with_stable_text(explorer):
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"].startswith("DepthExplorer: an interactive widget")
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert repr(explorer).startswith("DepthExplorer()\n6 layers")
