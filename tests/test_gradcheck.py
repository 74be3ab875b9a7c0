"""bpkit.gradcheck: the checker used by tests, chapters and exercises must be right itself."""

import numpy as np
import pytest

from bpkit import ops
from bpkit.gradcheck import (GradientCheckError, check_gradients, numerical_gradient, numerical_vjp,
                             rel_error)


def test_numerical_gradient_of_known_functions():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(numerical_gradient(lambda v: float(np.sum(v ** 3)), x), 3 * x ** 2, rtol=1e-8)
    np.testing.assert_allclose(numerical_gradient(lambda v: float(np.sum(np.sin(v))), x), np.cos(x), rtol=1e-8)


def test_numerical_gradient_restores_the_input():
    x = np.array([0.1, 0.2, 0.3])
    copy = x.copy()
    numerical_gradient(lambda v: float(np.sum(np.exp(v))), x)
    np.testing.assert_array_equal(x, copy)                             # bit for bit


def test_central_difference_is_second_order():
    """Halving h divides the error of the centred difference by about 4 (O(h^2))."""
    x = np.array([0.7])
    f = lambda v: float(np.exp(v[0]))                                   # noqa: E731
    e1 = abs(numerical_gradient(f, x, h=1e-2)[0] - np.exp(0.7))
    e2 = abs(numerical_gradient(f, x, h=5e-3)[0] - np.exp(0.7))
    assert 3.5 < e1 / e2 < 4.5


def test_numerical_vjp_equals_the_backward_pass(rng):
    x, W, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    out, cache = ops.linear_forward(x, W, b)
    dout = rng.standard_normal(out.shape)
    dx, dW, _ = ops.linear_backward(dout, cache)
    assert rel_error(numerical_vjp(lambda v: ops.linear_forward(v, W, b)[0], x, dout), dx) < 1e-8
    assert rel_error(numerical_vjp(lambda v: ops.linear_forward(x, v, b)[0], W, dout), dW) < 1e-8


def test_rel_error():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 2.1)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0                   # no division by zero


@pytest.mark.parametrize("wrong,message", [
    (lambda g: -g, "wrong sign"),
    (lambda g: 0.5 * g, "0.5 times the true one"),
    (lambda g: g.T, "looks transposed"),
    (lambda g: g + 0.1, r"relative error .* At index"),
])
def test_check_gradients_raises_a_readable_error(wrong, message, rng):
    x = rng.standard_normal((2, 3))
    f = lambda: float(np.sum(x ** 2))                                   # noqa: E731
    check_gradients(f, {"x": x}, {"x": 2 * x})                          # right: passes
    with pytest.raises(GradientCheckError, match=message):
        check_gradients(f, {"x": x}, {"x": wrong(2 * x)})


def test_check_gradients_message_names_both_values(rng):
    x = np.array([1.0, 2.0])
    with pytest.raises(GradientCheckError) as info:
        check_gradients(lambda: float(np.sum(x ** 2)), {"x": x}, {"x": np.array([2.0, 5.0])})
    msg = str(info.value)
    assert "'x'" in msg and "index (1,)" in msg and "5" in msg and "central difference gives 4" in msg


def test_float32_is_refused_with_a_fix(rng):
    x = np.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match=r"float64.*astype\(np.float64\)"):
        numerical_gradient(lambda v: float(v.sum()), x)


def test_rounding_noise_floor_accepts_tiny_true_gradients_but_not_wrong_ones():
    """A legitimately tiny gradient entry (here 1e-6 of the function's size) passes, since its
    central difference is only accurate to the rounding noise; the same entry off by a factor
    of 2, or with the wrong sign, is still caught."""
    x = np.array([0.3])
    c = np.array([1e-6])

    def f():                                   # f = sum of a large term and a tiny one
        return np.array([1.0, 2.0, 3.0]) + np.array([0.0, 0.0, 1.0]) * c * np.sin(x[0] * 7)

    true = np.array([1e-6 * 7 * np.cos(0.3 * 7)])
    errs = check_gradients(f, {"x": x}, {"x": true}, dout=np.ones(3))
    assert errs["x"] < 1e-7
    for wrong in (2 * true, -true, true + 1e-8):
        with pytest.raises(GradientCheckError, match="'x'"):
            check_gradients(f, {"x": x}, {"x": wrong}, dout=np.ones(3))
