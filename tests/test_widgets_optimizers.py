"""The optimizer race widget, driven through its Python API."""

import numpy as np
import pytest

from bpkit.optim import SGD, Adam, RMSprop
from bpkit.widgets.optimizers import OPTIMIZERS, OptimizerRace, make_optimizer, run_optimizer, surface


@pytest.fixture(scope="module")
def race():
    return OptimizerRace("quadratic", lr=0.05, steps=30)


def by_hand(opt, grad, start, steps):
    p = np.array(start, dtype=float)
    path = [p.copy()]
    for _ in range(steps):
        opt.step({"p": p}, {"p": grad(p)})
        path.append(p.copy())
    return np.array(path)


def test_trajectories_are_bpkit_optimizers_run_by_hand(race):
    race.set(function="quadratic", kappa=10.0, lr=0.05, momentum=0.8, beta1=0.85, beta2=0.95, steps=30,
             racers=OPTIMIZERS)
    grad = lambda p: np.array([p[0], 10.0 * p[1]])  # noqa: E731
    start = (-4.0, 1.5)
    expected = {"SGD": SGD(lr=0.05), "momentum": SGD(lr=0.05, momentum=0.8),
                "Nesterov": SGD(lr=0.05, momentum=0.8, nesterov=True),
                "RMSprop": RMSprop(lr=0.05, alpha=0.95), "Adam": Adam(lr=0.05, betas=(0.85, 0.95))}
    for name, opt in expected.items():
        np.testing.assert_allclose(race.trajectories[name], by_hand(opt, grad, start, 30), rtol=1e-14, err_msg=name)
        assert race.trajectories[name].shape == (31, 2)


def test_summary_lists_each_racer(race):
    race.set(function="quadratic", kappa=10.0, lr=0.05, momentum=0.9, beta1=0.9, beta2=0.999, steps=100,
             racers=OPTIMIZERS)
    lines = race.summary().splitlines()
    assert lines[0] == ("f = (x^2 + 10 y^2) / 2, 100 steps from (-4, 1.5), lr 0.05, momentum 0.9, "
                        "betas (0.9, 0.999)")
    assert lines[1] == "SGD       (-0.02368, 1.183e-30)  f 0.0002804  distance 0.02368  on its way"
    assert lines[4] == "RMSprop   (-1.413e-16, 1.276e-111)  f 9.986e-33  distance 1.413e-16  converged"
    assert [line.split()[0] for line in lines[1:]] == list(OPTIMIZERS)


def test_the_2_over_L_edge_and_divergence(race):
    race.set(function="quadratic", kappa=25.0, steps=100, racers=["SGD"], lr=0.079)
    assert race.result("SGD")["status"] == "on its way"
    race.lr = 0.081
    assert race.result("SGD")["status"] == "diverged"
    race.set(lr=3.0, steps=2000)                                      # leaves the box: stops early
    r = race.result("SGD")
    assert r["diverged_at"] is not None and r["diverged_at"] < 2000
    assert f"SGD       diverged at step {r['diverged_at']}" in race.summary()


def test_rosenbrock_and_saddle_minima():
    assert surface("rosenbrock").f(np.array([1.0, 1.0])) == 0
    s = surface("saddle")
    assert s.f(np.array([0.0, 1.0])) == -0.25 and np.allclose(s.grad(np.array([0.0, -1.0])), 0)
    assert np.allclose(s.grad(np.zeros(2)), 0)                         # the saddle point itself
    p = run_optimizer(surface("rosenbrock"), make_optimizer("Adam", 0.02, betas=(0.9, 0.99)), 1000)
    assert surface("rosenbrock").distance(p[-1]) < 0.01


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    for name in ("quadratic", "rosenbrock", "saddle"):
        s = surface(name, kappa=7.0)
        p = rng.standard_normal(2)
        h = 1e-6
        fd = [(s.f(p + h * e) - s.f(p - h * e)) / (2 * h) for e in np.eye(2)]
        np.testing.assert_allclose(s.grad(p), fd, rtol=1e-6, atol=1e-6, err_msg=name)


def test_image_changes_with_the_controls(race):
    race.set(function="quadratic", lr=0.05, steps=20, racers=OPTIMIZERS)
    before = race.png
    race.lr = 0.1
    after = race.png
    assert before[:8] == b"\x89PNG\r\n\x1a\n" and before != after
    race.function = "saddle"
    assert race.png != after and race.summary().startswith("f = x^2/2 + y^4/4 - y^2/2")


@pytest.mark.parametrize("control, value, err, words", [
    ("function", "himmelblau", ValueError, "unknown function 'himmelblau'"),
    ("lr", 10.0, ValueError, "outside the slider range"),
    ("lr", "big", TypeError, "lr must be a number"),
    ("momentum", 1.0, ValueError, "outside the slider range"),
    ("steps", 2.5, TypeError, "whole number"),
    ("racers", ["SGD", "LBFGS"], ValueError, "non-empty selection"),
    ("racers", [], ValueError, "non-empty selection"),
])
def test_bad_input_errors(race, control, value, err, words):
    with pytest.raises(err) as info:
        setattr(race, control, value)
    assert words in str(info.value)


def test_unknown_control_and_racer(race):
    with pytest.raises(ValueError, match="unknown control"):
        race.set(learning_rate=0.1)
    race.set(racers=["SGD"])
    with pytest.raises(ValueError, match="is not racing"):
        race.result("Adam")
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("Adagrad", 0.1)
