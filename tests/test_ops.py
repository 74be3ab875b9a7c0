"""bpkit.ops: every backward pass against central differences (float64, rel. error < 1e-7),
over hypothesis-generated shapes and values; dtype preservation; numerical stability."""

import warnings

import numpy as np
import pytest
from _helpers import random_array
from hypothesis import given
from hypothesis import strategies as st

from bpkit import ops
from bpkit.gradcheck import check_gradients, rel_error

TOL = 1e-7
dims = st.integers(1, 6)
seeds = st.integers(0, 2**32 - 1)
# Inputs of order 1: a saturated unit (tanh(9)) has a gradient near 1e-7, below what a float64
# central difference resolves to 7 digits. Large inputs are tested for stability below.
scales = st.sampled_from([0.1, 0.5, 1.0])

# name -> (forward(z) -> (out, cache), backward(dout, cache) -> dz, reference f(z), kink at 0)
ELEMENTWISE = {
    "sigmoid": (ops.sigmoid_forward, ops.sigmoid_backward, lambda z: 1 / (1 + np.exp(-z)), False),
    "tanh": (ops.tanh_forward, ops.tanh_backward, np.tanh, False),
    "relu": (ops.relu_forward, ops.relu_backward, lambda z: np.maximum(z, 0), True),
    "leaky_relu": (ops.leaky_relu_forward, ops.leaky_relu_backward,
                   lambda z: np.where(z > 0, z, 0.01 * z), True),
}


# ----------------------------------------------------------------------------- linear

@given(N=dims, D=dims, M=dims, seed=seeds, scale=scales)
def test_linear_forward_matches_definition(N, D, M, seed, scale):
    rng = np.random.default_rng(seed)
    x, W, b = (random_array(rng, s, scale) for s in [(N, D), (D, M), (M,)])
    out, _ = ops.linear_forward(x, W, b)
    expected = np.array([[sum(x[i, k] * W[k, j] for k in range(D)) + b[j] for j in range(M)] for i in range(N)])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@given(N=dims, D=dims, M=dims, seed=seeds, scale=scales)
def test_linear_backward_gradcheck(N, D, M, seed, scale):
    rng = np.random.default_rng(seed)
    x, W, b = (random_array(rng, s, scale) for s in [(N, D), (D, M), (M,)])
    out, cache = ops.linear_forward(x, W, b)
    dout = random_array(rng, out.shape)
    dx, dW, db = ops.linear_backward(dout, cache)
    assert dx.shape == x.shape and dW.shape == W.shape and db.shape == b.shape
    errs = check_gradients(lambda: ops.linear_forward(x, W, b)[0], {"x": x, "W": W, "b": b},
                           {"x": dx, "W": dW, "b": db}, dout=dout)
    assert max(errs.values()) < TOL


def test_linear_backward_catches_a_wrong_gradient(rng):
    """The gradient check above can fail: a bias gradient averaged instead of summed is caught."""
    x, W, b = random_array(rng, (4, 3)), random_array(rng, (3, 2)), random_array(rng, (2,))
    out, cache = ops.linear_forward(x, W, b)
    dout = random_array(rng, out.shape)
    dx, dW, db = ops.linear_backward(dout, cache)
    with pytest.raises(AssertionError, match=r"'b'.*0\.25 times the true one"):
        check_gradients(lambda: ops.linear_forward(x, W, b)[0], {"x": x, "W": W, "b": b},
                        {"x": dx, "W": dW, "b": dout.mean(axis=0)}, dout=dout)
    with pytest.raises(AssertionError, match="'W'.*looks transposed"):
        check_gradients(lambda: ops.linear_forward(x, W, b)[0], {"W": W}, {"W": dW.T}, dout=dout)


def test_linear_does_not_mutate_inputs(rng):
    x, W, b = random_array(rng, (4, 3)), random_array(rng, (3, 2)), random_array(rng, (2,))
    copies = [a.copy() for a in (x, W, b)]
    out, cache = ops.linear_forward(x, W, b)
    dout = random_array(rng, out.shape)
    dout_copy = dout.copy()
    ops.linear_backward(dout, cache)
    for a, c in zip((x, W, b, dout), copies + [dout_copy]):
        np.testing.assert_array_equal(a, c)


def test_linear_accepts_integer_input_as_float(rng):
    W, b = random_array(rng, (2, 3)), np.zeros(3)
    out, _ = ops.linear_forward([[1, 2]], W, b)
    np.testing.assert_allclose(out, [W[0] + 2 * W[1]])
    assert out.dtype == np.float64


# ----------------------------------------------------------------------------- element-wise

@pytest.mark.parametrize("name", list(ELEMENTWISE))
@given(shape=st.lists(dims, min_size=1, max_size=3), seed=seeds, scale=scales)
def test_elementwise_forward_and_gradcheck(name, shape, seed, scale):
    fwd, bwd, ref, kink = ELEMENTWISE[name]
    rng = np.random.default_rng(seed)
    z = random_array(rng, tuple(shape), scale, away_from_zero=1e-3 if kink else 0.0)
    out, cache = fwd(z)
    np.testing.assert_allclose(out, ref(z), rtol=1e-12, atol=1e-15)
    dout = random_array(rng, out.shape)
    dz = bwd(dout, cache)
    assert dz.shape == z.shape
    errs = check_gradients(lambda: fwd(z)[0], {"z": z}, {"z": dz}, dout=dout)
    assert errs["z"] < TOL


def test_leaky_relu_alpha_is_used(rng):
    z = np.array([-2.0, 3.0])
    out, cache = ops.leaky_relu_forward(z, alpha=0.2)
    np.testing.assert_allclose(out, [-0.4, 3.0])
    np.testing.assert_allclose(ops.leaky_relu_backward(np.ones(2), cache), [0.2, 1.0])


def test_relu_subgradient_at_zero_is_zero():
    out, cache = ops.relu_forward(np.array([0.0, -1.0, 2.0]))
    np.testing.assert_array_equal(ops.relu_backward(np.ones(3), cache), [0.0, 0.0, 1.0])


@given(N=dims, K=st.integers(2, 6), seed=seeds, scale=scales, axis=st.sampled_from([0, 1, -1]))
def test_softmax_backward_gradcheck(N, K, seed, scale, axis):
    rng = np.random.default_rng(seed)
    x = random_array(rng, (N, K), scale)
    out, cache = ops.softmax_forward(x, axis=axis)
    np.testing.assert_allclose(out.sum(axis=axis), 1.0, rtol=1e-12)
    dout = random_array(rng, out.shape)
    dx = ops.softmax_backward(dout, cache)
    assert check_gradients(lambda: ops.softmax_forward(x, axis=axis)[0], {"x": x}, {"x": dx}, dout=dout)["x"] < TOL


@given(N=dims, K=st.integers(1, 6), seed=seeds, scale=scales)
def test_logsumexp_and_log_softmax_match_definitions(N, K, seed, scale):
    x = random_array(np.random.default_rng(seed), (N, K), scale)
    # atol: for one tiny logit the naive reference log(exp(x)) keeps only ~1e-16 absolute accuracy
    # (relative 5e-12 at x = -4e-6, found by hypothesis), while logsumexp returns x exactly.
    np.testing.assert_allclose(ops.logsumexp(x), np.log(np.exp(x).sum(axis=-1)), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ops.logsumexp(x, axis=0, keepdims=True),
                               np.log(np.exp(x).sum(axis=0, keepdims=True)), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ops.log_softmax(x), np.log(ops.softmax(x)), rtol=1e-10, atol=1e-12)
    # the gradient of logsumexp is softmax
    g = np.zeros_like(x)
    for i in range(N):
        from bpkit.gradcheck import numerical_gradient
        row = x[i].copy()
        g[i] = numerical_gradient(lambda r: float(ops.logsumexp(r)), row)
    assert rel_error(g, ops.softmax(x)) < TOL


# ----------------------------------------------------------------------------- dtypes

FORWARDS_32 = [
    ("linear", lambda rng: ops.linear_forward(*(random_array(rng, s, dtype=np.float32)
                                                 for s in [(4, 3), (3, 2), (2,)]))),
    ("sigmoid", lambda rng: ops.sigmoid_forward(random_array(rng, (4, 3), dtype=np.float32))),
    ("tanh", lambda rng: ops.tanh_forward(random_array(rng, (4, 3), dtype=np.float32))),
    ("relu", lambda rng: ops.relu_forward(random_array(rng, (4, 3), dtype=np.float32))),
    ("leaky_relu", lambda rng: ops.leaky_relu_forward(random_array(rng, (4, 3), dtype=np.float32))),
    ("softmax", lambda rng: ops.softmax_forward(random_array(rng, (4, 3), dtype=np.float32))),
]
BACKWARDS = {"linear": ops.linear_backward, "sigmoid": ops.sigmoid_backward, "tanh": ops.tanh_backward,
             "relu": ops.relu_backward, "leaky_relu": ops.leaky_relu_backward, "softmax": ops.softmax_backward}


@pytest.mark.parametrize("name,forward", FORWARDS_32, ids=[n for n, _ in FORWARDS_32])
def test_float32_in_float32_out(name, forward, rng):
    out, cache = forward(rng)
    assert out.dtype == np.float32
    grads = BACKWARDS[name](random_array(rng, out.shape, dtype=np.float32), cache)
    for g in grads if isinstance(grads, tuple) else (grads,):
        assert g.dtype == np.float32, f"{name}_backward returned {g.dtype}"


@pytest.mark.parametrize("fn", [ops.softmax, ops.log_softmax, ops.logsumexp, ops.sigmoid])
def test_plain_functions_keep_float32(fn):
    assert fn(np.ones((2, 3), dtype=np.float32)).dtype == np.float32


# ----------------------------------------------------------------------------- stability

BIG = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4], [-1e4, 0.0, 1e4]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stable_at_logits_of_1e4(dtype):
    x = BIG.astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        s = ops.softmax(x)
        lse = ops.logsumexp(x)
        ls = ops.log_softmax(x)
        sig = ops.sigmoid(x)
        for name, v in [("softmax", s), ("logsumexp", lse), ("log_softmax", ls), ("sigmoid", sig)]:
            assert np.all(np.isfinite(v)), name
    np.testing.assert_allclose(s[0], [1, 0, 0])
    np.testing.assert_allclose(s[1], [1 / 3] * 3, rtol=1e-6)
    np.testing.assert_allclose(lse[:3], [1e4, -1e4 + np.log(3), 1e4 + np.log(3)], rtol=1e-6)
    assert ls[0, 1] == pytest.approx(-2e4, rel=1e-6)
    np.testing.assert_array_equal(sig[0], [1, 0, 0.5])


def test_sigmoid_is_accurate_for_very_negative_inputs():
    """The branch for z < 0 keeps full relative precision where 1 - sigmoid(-z) would not."""
    z = np.array([-30.0, -700.0])
    np.testing.assert_allclose(ops.sigmoid(z), np.exp(z) / (1 + np.exp(z)), rtol=1e-14)


def test_logsumexp_of_all_minus_infinity_rows():
    out = ops.logsumexp(np.array([[-np.inf, -np.inf], [0.0, -np.inf]]))
    assert out[0] == -np.inf and out[1] == 0.0
