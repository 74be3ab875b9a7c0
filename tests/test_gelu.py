"""bpkit.ops.gelu_forward/gelu_backward and nn.GELU: central differences, PyTorch parity for both
forms, dtype, stability for large inputs, and clear errors."""

import math

import numpy as np
import pytest

from bpkit import nn, ops
from bpkit.gradcheck import GradientCheckError, check_gradients, check_module

FORMS = ["none", "tanh"]


def _check(z, approximate, backward=ops.gelu_backward):
    out, cache = ops.gelu_forward(z, approximate)
    dout = np.random.default_rng(1).normal(size=out.shape)
    dz = backward(dout, cache)
    return check_gradients(lambda: ops.gelu_forward(z, approximate)[0], {"z": z}, {"z": dz}, dout=dout)["z"]


@pytest.mark.parametrize("approximate", FORMS)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
def test_backward_matches_central_differences(approximate, shape):
    z = np.random.default_rng(0).uniform(-4, 4, size=shape)
    assert _check(z, approximate) < 1e-7


def test_a_wrong_derivative_fails_the_check():
    """The check above can fail: the derivative without the product rule's z * phi(z) term is caught."""
    z = np.random.default_rng(0).uniform(-3, 3, size=(3, 4))

    def phi_only(dout, cache):
        zz, p, _ = cache
        return dout * p                        # Phi(z) alone: the product rule's second term is missing
    with pytest.raises(GradientCheckError):
        _check(z, "none", phi_only)


def test_forward_is_the_erf_definition():
    z = np.linspace(-5, 5, 41)
    expected = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in z])
    np.testing.assert_allclose(ops.gelu_forward(z)[0], expected, rtol=1e-15, atol=1e-15)
    assert ops.gelu_forward(np.array([0.0]))[0][0] == 0.0


@pytest.mark.parametrize("approximate", FORMS)
def test_parity_with_torch(approximate):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 5)) * 3
    dout = rng.normal(size=z.shape)
    out, cache = ops.gelu_forward(z, approximate)
    zt = torch.tensor(z, requires_grad=True)
    yt = torch.nn.functional.gelu(zt, approximate=approximate)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ops.gelu_backward(dout, cache), zt.grad.numpy(), rtol=1e-6, atol=1e-12)


def test_exact_and_tanh_forms_differ_slightly():
    z = np.linspace(-4, 4, 201)
    gap = np.abs(ops.gelu_forward(z)[0] - ops.gelu_forward(z, "tanh")[0]).max()
    assert 1e-5 < gap < 1e-3


@pytest.mark.parametrize("approximate", FORMS)
def test_float32_stays_float32(approximate):
    z = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    out, cache = ops.gelu_forward(z, approximate)
    dz = ops.gelu_backward(np.ones_like(z), cache)
    assert out.dtype == np.float32 and dz.dtype == np.float32
    np.testing.assert_allclose(out, ops.gelu_forward(z.astype(np.float64), approximate)[0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("approximate", FORMS)
def test_large_inputs_are_finite_and_exact(approximate, dtype):
    z = np.array([-1e4, -50.0, 50.0, 1e4], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):      # underflow to 0 is fine
        out, cache = ops.gelu_forward(z, approximate)
        dz = ops.gelu_backward(np.ones_like(z), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dz))
    np.testing.assert_array_equal(out, np.array([0.0, 0.0, 50.0, 1e4], dtype=dtype))
    np.testing.assert_array_equal(dz, np.array([0.0, 0.0, 1.0, 1.0], dtype=dtype))


def test_does_not_modify_its_input():
    z = np.array([[-1.0, 0.5], [2.0, -3.0]])
    before = z.copy()
    out, cache = ops.gelu_forward(z)
    ops.gelu_backward(np.ones_like(z), cache)
    np.testing.assert_array_equal(z, before)


def test_errors_name_the_function_and_argument():
    with pytest.raises(ValueError, match=r"gelu_forward: 'approximate' must be 'none' or 'tanh'"):
        ops.gelu_forward(np.zeros(3), approximate="fast")
    _, cache = ops.gelu_forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"gelu_backward: 'dout' must have the shape of the forward output \(2, 3\)"):
        ops.gelu_backward(np.zeros((3, 2)), cache)
    with pytest.raises(TypeError, match="gelu_forward"):
        ops.gelu_forward(np.array(["a"]))


@pytest.mark.parametrize("approximate", FORMS)
def test_module_wraps_the_pair(approximate):
    layer = nn.GELU(approximate)
    x = np.random.default_rng(4).normal(size=(3, 5))
    np.testing.assert_array_equal(layer(x), ops.gelu_forward(x, approximate)[0])
    check_module(layer, x)
    assert layer.params == {} and repr(layer).startswith("GELU(")


def test_module_rejects_a_bad_form_and_backward_before_forward():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("erf")
    with pytest.raises(RuntimeError, match="backward called before forward"):
        nn.GELU().backward(np.ones(3))
