"""The loss explorer of Chapter 2, driven through its Python API as notebooks and tests do."""

import numpy as np
import pytest

from bpkit import losses
from bpkit.widgets.losses import LOSSES, LossExplorer, fit_constant


@pytest.fixture
def explorer():
    return LossExplorer(loss="mse", target=0.5, prediction=2.0, delta=1.5, outlier=4.0)


def test_properties_drive_the_controls_and_the_picture(explorer):
    before = explorer.png
    assert before[:8] == b"\x89PNG\r\n\x1a\n"
    explorer.prediction = -1.0
    assert explorer._sliders["prediction"].value == -1.0 and explorer.prediction == -1.0
    assert explorer.png != before, "moving a slider must redraw the picture"
    assert "prediction -1.00" in explorer._status.value
    picture = explorer.png
    explorer.loss = "huber"
    assert explorer._loss.value == "huber" and explorer.png != picture
    picture = explorer.png
    explorer.outlier = 9.0
    assert explorer.png != picture, "moving the outlier must redraw the outlier panel"


@pytest.mark.parametrize("name", list(LOSSES))
def test_values_are_bpkits_losses_for_one_example(explorer, name):
    target = 1.0 if name == "bce" else 0.5
    explorer.set(loss=name, target=target, prediction=1.7, delta=0.8)
    fn = LOSSES[name][0]
    args = (np.array([1.7]), np.array([target])) + ((0.8,) if name == "huber" else ())
    loss, grad = fn(*args)
    assert explorer.value() == (pytest.approx(loss, rel=1e-12), pytest.approx(float(grad[0]), rel=1e-12))
    ls, gs = explorer.curves([1.7, -0.3])
    assert ls[0] == pytest.approx(loss) and gs[0] == pytest.approx(float(grad[0]))


def test_summary_text_and_the_huber_kink(explorer):
    explorer.set(loss="huber", prediction=2.0)
    assert explorer.summary().splitlines() == [
        "loss huber (delta 1.50), target 0.50, prediction 2.00: loss 1.1250, gradient 1.5000",
        "outlier at 4.00: fitted constant MSE 1.600, MAE 1.100, Huber 1.375 (without it: MSE 1.000, MAE 1.000, "
        "Huber 1.000)"]
    # the gradient grows up to target + delta and is flat beyond
    _, g = explorer.curves([1.0, 1.9, 2.0, 2.5, 6.0])
    np.testing.assert_allclose(g, [0.5, 1.4, 1.5, 1.5, 1.5])
    explorer.loss = "mse"
    assert explorer.value()[1] == pytest.approx(2 * 1.5)                 # MSE keeps growing: 2 (p - y)


def test_outlier_pulls_mse_but_not_huber(explorer):
    explorer.set(delta=1.0, outlier=10.0)
    fits = explorer.fits()
    assert fits == {"mse": pytest.approx(2.8), "mae": pytest.approx(1.1), "huber": pytest.approx(1.25, abs=1e-12)}
    explorer.outlier = -10.0
    assert explorer.fits()["huber"] == pytest.approx(0.75, abs=1e-12)
    assert explorer.fits()["mse"] == pytest.approx(-1.2)
    assert explorer.fits(with_outlier=False) == {"mse": pytest.approx(1.0), "mae": pytest.approx(1.0),
                                                 "huber": pytest.approx(1.0)}


def test_fit_constant_minimises_the_mean_loss():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(7) * 3
    for name, fn in [("mse", losses.mse_loss), ("mae", losses.mae_loss), ("huber", losses.huber_loss)]:
        c = fit_constant(y, name, 1.0)
        grid = np.linspace(c - 1, c + 1, 201)
        values = [fn(np.full_like(y, g), y)[0] for g in grid]
        assert fn(np.full_like(y, c), y)[0] <= min(values) + 1e-12, name


def test_bce_target_is_a_probability(explorer):
    explorer.set(target=3.0)
    explorer.loss = "bce"                      # the target slider clamps into [0, 1]
    assert explorer.target == 1.0 and explorer._sliders["target"].max == 1.0
    assert "logit s 2.00" in explorer.summary()
    with pytest.raises(ValueError, match=r"target = 2 is outside the slider range \[0, 1\] \(bce needs a probability\)"):
        explorer.target = 2.0
    explorer.loss = "mse"
    explorer.target = -4.0                     # the full range is back
    assert explorer.target == -4.0


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(loss="hinge"), ValueError, "unknown loss 'hinge'"),
    (dict(prediction=11.0), ValueError, r"prediction = 11 is outside the slider range \[-10, 10\]"),
    (dict(delta=0.0), ValueError, r"delta = 0 is outside the slider range \[0.1, 5\]"),
    (dict(loss="bce", target=-1.0), ValueError, r"target = -1 is outside the slider range \[0, 1\] \(bce needs a probability\)"),
    (dict(inliers=()), ValueError, "'inliers' must be a non-empty"),
    (dict(outlier="far"), TypeError, "outlier must be a number"),
])
def test_bad_arguments_raise_with_the_widget_name(kwargs, error, match):
    with pytest.raises(error, match="LossExplorer: " + match):
        LossExplorer(**kwargs)


def test_bad_assignments_raise(explorer):
    with pytest.raises(ValueError, match="LossExplorer: unknown loss 'l2'"):
        explorer.loss = "l2"
    with pytest.raises(ValueError, match=r"LossExplorer: outlier = 20 is outside"):
        explorer.outlier = 20.0
    with pytest.raises(ValueError, match="fit_constant: 'loss' must be"):
        fit_constant([1.0, 2.0], "bce")
    with pytest.raises(ValueError, match="fit_constant: 'values' must be a non-empty"):
        fit_constant([], "mse")


def test_displays_as_a_widget_with_stable_text(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("LossExplorer: an interactive widget")
    assert repr(explorer).startswith("LossExplorer()\nloss mse")
