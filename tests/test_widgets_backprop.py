"""The backprop step-through widget, driven through its Python API."""

import math

import pytest

from bpkit.autograd import Value
from bpkit.widgets.backprop import BackpropStepper


def neuron():
    """L = (sigmoid(w x + b) - y)^2 with named nodes."""
    x, w, b, y = Value(1.5, label="x"), Value(-0.8, label="w"), Value(0.3, label="b"), Value(1.0, label="y")
    wx = w * x
    wx.label = "wx"
    z = wx + b
    z.label = "z"
    a = z.sigmoid()
    a.label = "a"
    e = a - y
    e.label = "e"
    L = e ** 2
    L.label = "L"
    return L


@pytest.fixture
def stepper():
    return BackpropStepper(neuron())


def test_counts_and_start(stepper):
    assert (stepper.n_forward, stepper.n_backward, stepper.n_steps) == (5, 9, 14)
    assert stepper.step == 0 and stepper.phase == "start"
    assert stepper.summary().splitlines() == [
        "step 0 of 14 (5 forward, 9 backward): start",
        "leaves: w = -0.8, x = 1.5, b = 0.3, y = 1, 2 = 2"]
    assert stepper.value_of("z") is None and stepper.upstream is None and stepper.grad_of("x") is None


def test_forward_pass_node_by_node(stepper):
    stepper.next().next()
    assert stepper.phase == "forward"
    assert stepper.summary().splitlines()[1] == "z = wx + b = -0.9"
    assert stepper.value_of("z") == pytest.approx(-0.9) and stepper.value_of("a") is None
    stepper.back()
    assert stepper.summary().splitlines()[1] == "wx = w \u00d7 x = -1.2"
    stepper.step = stepper.n_forward
    assert stepper.summary().splitlines()[1] == "L = e ^ 2 = 0.5054"


def test_backward_pass_edge_by_edge_shows_upstream_local_product(stepper):
    a = 1 / (1 + math.exp(0.9))
    k = stepper.goto_edge("a", "z")
    assert k == 5 and stepper.step == stepper.n_forward + 5 and stepper.current_edge == ("a", "z")
    assert stepper.upstream == pytest.approx(2 * (a - 1))
    assert stepper.local == pytest.approx(a * (1 - a))
    assert stepper.product == pytest.approx(2 * (a - 1) * a * (1 - a))
    assert stepper.summary().splitlines() == [
        "step 10 of 14 (5 forward, 9 backward): backward step 5, edge a -> z",
        "upstream dL/da = -1.422, local da/dz = 0.2055, product = -0.2922",
        "z.grad so far = -0.2922 (complete)"]
    stepper.goto_backward(1)
    assert stepper.summary().splitlines()[1] == "upstream dL/dL = 1, local dL/de = -1.422, product = -1.422"


def test_final_gradients_equal_the_engine_and_do_not_touch_the_values():
    L = neuron()
    s = BackpropStepper(L)
    s.step = s.n_steps
    L.backward()
    from bpkit.autograd import topological_order
    for v in topological_order(L):
        if v.label:
            assert s.grad_of(v.label) == pytest.approx(v.grad), v.label
    L2 = neuron()
    s2 = BackpropStepper(L2)
    s2.step = s2.n_steps
    assert all(v.grad == 0 for v in [L2] + list(L2._prev)), "replaying must not write into .grad"


def test_a_value_used_twice_gets_two_contributions():
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    s = BackpropStepper(y)
    s.goto_edge("y", "x", occurrence=1)
    assert s.grad_of("x") == 3.0 and "(complete)" not in s.summary()
    s.goto_edge("y", "x", occurrence=2)
    assert s.grad_of("x") == 6.0 and s.summary().endswith("x.grad so far = 6 (complete)")


def test_image_changes_with_the_step(stepper):
    first = stepper.png
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    stepper.next()
    second = stepper.png
    assert second != first
    stepper.goto_backward(2)
    assert stepper.png not in (first, second)
    assert "backward step 2" in stepper._status.value
    stepper._slider.value = 1                    # what a user's drag does
    assert stepper.step == 1 and stepper.png == second


def test_figure_highlights_the_current_edge(stepper):
    stepper.goto_edge("a", "z")
    fig = stepper.figure()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("upstream -1.422 \u00d7 local 0.2055 = -0.2922" in t for t in texts)
    assert sum(1 for t in fig.axes[0].texts if (t.get_gid() or "").startswith("node-")) == 10
    assert fig.axes[0].get_title().startswith("step 10 of 14")


def test_next_and_back_stop_at_the_ends(stepper):
    stepper.back()
    assert stepper.step == 0
    stepper.step = stepper.n_steps
    stepper.next()
    assert stepper.step == stepper.n_steps


@pytest.mark.parametrize("action, exc, match", [
    (lambda s: setattr(s, "step", 15), ValueError, r"step 15 is outside 0..14 \(5 forward and 9 backward steps\)"),
    (lambda s: setattr(s, "step", -1), ValueError, "outside 0..14"),
    (lambda s: setattr(s, "step", 2.5), TypeError, "step must be an int, got float"),
    (lambda s: s.goto_backward(0), ValueError, "k must be 1..9, got 0"),
    (lambda s: s.goto_edge("a", "q"), ValueError, "no node named 'q'; the nodes are w, x, wx, b, z, a"),
    (lambda s: s.goto_edge("a", "x"), ValueError, "'x' is not an operand of 'a'"),
    (lambda s: s.grad_of("nope"), ValueError, "no node named 'nope'"),
])
def test_bad_input_is_reported(stepper, action, exc, match):
    with pytest.raises(exc, match=match):
        action(stepper)


def test_root_must_be_a_value():
    with pytest.raises(TypeError, match="'root' must be a bpkit.autograd.Value .* got float"):
        BackpropStepper(1.0)


def test_displays_as_a_widget_with_stable_text(stepper):
    bundle = stepper._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("BackpropStepper: an interactive widget")


def test_buttons_step_like_the_api(stepper):
    slider, back, nxt, end_forward, reset = stepper._box.children[0].children
    nxt.click()
    nxt.click()
    assert stepper.step == 2 and slider.value == 2
    back.click()
    assert stepper.step == 1
    end_forward.click()
    assert stepper.step == stepper.n_forward and "forward step 5" in stepper.summary()
    reset.click()
    assert stepper.step == 0 and stepper.phase == "start"


def test_buttons_have_whole_labels_that_wrap_on_a_phone(stepper):
    """The buttons once showed "⏮b…": an icon font the static book lacks, and labels squeezed to fit
    one row beside the slider. Now each label is its text with a symbol, never shortened, and the row
    wraps."""
    row = stepper._box.children[0]
    assert row.layout.flex_flow == "row wrap"
    slider, *buttons = row.children
    assert slider.layout.max_width == "420px" and slider.layout.width == "100%"
    assert [b.description for b in buttons] == list(stepper.BUTTONS)
    for b in buttons:
        assert not b.icon, "an icon needs Font Awesome, which the static book does not load"
        assert b.layout.min_width == "fit-content" and b.layout.flex == "0 0 auto"
