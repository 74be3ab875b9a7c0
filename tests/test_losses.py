"""bpkit.losses: values from the definitions, gradients against central differences,
PyTorch's reductions, float32, and stability at logits of +-1e4."""

import warnings

import numpy as np
import pytest
from _helpers import random_array
from hypothesis import given
from hypothesis import strategies as st

from bpkit import losses
from bpkit.gradcheck import check_gradients

TOL = 1e-7
dims = st.integers(1, 6)
seeds = st.integers(0, 2**32 - 1)


def _regression_inputs(seed, N, M):
    """Predictions and targets whose residuals are at least 0.05 away from 0.

    A gradient entry proportional to a tiny residual (say 1e-4) is so small that the rounding
    noise of a central difference spoils its 7th digit; that is not a bug, so such residuals
    are kept out (hypothesis found one, with seed 653).
    """
    rng = np.random.default_rng(seed)
    pred = random_array(rng, (N, M))
    return pred, pred - random_array(rng, (N, M), away_from_zero=0.05), rng


def _gradcheck(loss_fn, pred, *rest):
    loss, dpred = loss_fn(pred, *rest)
    assert isinstance(loss, float)
    assert dpred.shape == pred.shape
    return check_gradients(lambda: loss_fn(pred, *rest)[0], {"pred": pred}, {"pred": dpred})["pred"]


@given(N=dims, M=dims, seed=seeds)
def test_mse(N, M, seed):
    pred, target, _ = _regression_inputs(seed, N, M)
    loss, _ = losses.mse_loss(pred, target)
    assert loss == pytest.approx(sum((p - t) ** 2 for p, t in zip(pred.ravel(), target.ravel())) / (N * M))
    assert _gradcheck(losses.mse_loss, pred, target) < TOL


@given(N=dims, M=dims, seed=seeds)
def test_weighted_mse(N, M, seed):
    pred, target, rng = _regression_inputs(seed, N, M)
    w = rng.uniform(0.1, 3.0, N)
    loss, _ = losses.weighted_mse_loss(pred, target, w)
    expected = sum(w[i] * (pred[i, j] - target[i, j]) ** 2 for i in range(N) for j in range(M)) / (N * M)
    assert loss == pytest.approx(expected)
    assert _gradcheck(losses.weighted_mse_loss, pred, target, w) < TOL
    # weights of one give the plain MSE; full-shape weights work too
    assert losses.weighted_mse_loss(pred, target, np.ones(N))[0] == pytest.approx(losses.mse_loss(pred, target)[0])
    assert losses.weighted_mse_loss(pred, target, np.ones((N, M)))[0] == pytest.approx(
        losses.mse_loss(pred, target)[0])


def test_weighted_mse_avoids_the_broadcasting_trap():
    """(4, 1) squared errors times a (4,) weight vector broadcast to (4, 4): the weights become
    a constant factor. weighted_mse_loss weights each example by its own weight instead."""
    pred = np.array([[0.0], [0.0], [0.0], [0.0]])
    target = np.array([[1.0], [0.0], [0.0], [0.0]])
    w = np.array([10.0, 1.0, 1.0, 1.0])
    trap = np.mean((pred - target) ** 2 * w)         # (4, 4) array: every weight hits every error
    assert trap == pytest.approx(13 / 16)
    loss, dpred = losses.weighted_mse_loss(pred, target, w)
    assert loss == pytest.approx(10 / 4)
    np.testing.assert_allclose(dpred, [[-5.0], [0.0], [0.0], [0.0]])


@given(N=dims, M=dims, seed=seeds, delta=st.sampled_from([0.3, 1.0, 2.5]))
def test_huber(N, M, seed, delta):
    pred, target, _ = _regression_inputs(seed, N, M)
    loss, _ = losses.huber_loss(pred, target, delta)
    r = (pred - target).ravel()
    expected = np.mean([0.5 * v * v if abs(v) <= delta else delta * (abs(v) - 0.5 * delta) for v in r])
    assert loss == pytest.approx(expected)
    # keep finite differences off the two kinks at |r| = delta
    if np.min(np.abs(np.abs(r) - delta)) > 1e-3:
        assert _gradcheck(losses.huber_loss, pred, target, delta) < TOL


def test_huber_gradient_is_bounded_by_delta():
    _, d = losses.huber_loss(np.array([100.0, -100.0, 0.5]), np.zeros(3), delta=1.0)
    np.testing.assert_allclose(d * 3, [1.0, -1.0, 0.5])


@given(N=dims, M=dims, seed=seeds)
def test_bce_with_logits(N, M, seed):
    rng = np.random.default_rng(seed)
    s = random_array(rng, (N, M))
    y = rng.uniform(0, 1, (N, M))
    y[rng.uniform(size=y.shape) < 0.5] = 1.0
    loss, _ = losses.bce_with_logits_loss(s, y)
    p = 1 / (1 + np.exp(-s))
    assert loss == pytest.approx(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))), rel=1e-10)
    assert _gradcheck(losses.bce_with_logits_loss, s, y) < TOL


@given(N=dims, K=st.integers(2, 7), seed=seeds)
def test_softmax_cross_entropy(N, K, seed):
    rng = np.random.default_rng(seed)
    s = random_array(rng, (N, K))
    y = rng.integers(0, K, N)
    loss, dlogits = losses.softmax_cross_entropy_loss(s, y)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(N), y])), rel=1e-10)
    onehot = np.eye(K)[y]
    np.testing.assert_allclose(dlogits, (p - onehot) / N, atol=1e-15)  # softmax - onehot, over N
    assert _gradcheck(losses.softmax_cross_entropy_loss, s, y) < TOL


def test_losses_do_not_mutate_inputs(rng):
    s, t = random_array(rng, (5, 3)), rng.uniform(0, 1, (5, 3))
    y = np.array([0, 2, 1, 1, 0])
    w = np.ones(5)
    args = [(losses.mse_loss, (s, t)), (losses.weighted_mse_loss, (s, t, w)), (losses.huber_loss, (s, t)),
            (losses.bce_with_logits_loss, (s, t)), (losses.softmax_cross_entropy_loss, (s, y))]
    for fn, a in args:
        copies = [np.array(v).copy() for v in a]
        fn(*a)
        for v, c in zip(a, copies):
            np.testing.assert_array_equal(v, c, err_msg=fn.__name__)


# ----------------------------------------------------------------------------- dtypes

CASES_32 = {
    "mse": lambda s, t, y: losses.mse_loss(s, t),
    "weighted_mse": lambda s, t, y: losses.weighted_mse_loss(s, t, np.ones(len(s), np.float32)),
    "huber": lambda s, t, y: losses.huber_loss(s, t),
    "bce": lambda s, t, y: losses.bce_with_logits_loss(s, t),
    "cross_entropy": lambda s, t, y: losses.softmax_cross_entropy_loss(s, y),
}


@pytest.mark.parametrize("name", list(CASES_32))
def test_float32_gradients_stay_float32(name, rng):
    s = random_array(rng, (4, 3), dtype=np.float32)
    t = rng.uniform(0, 1, (4, 3)).astype(np.float32)
    loss, d = CASES_32[name](s, t, np.array([0, 1, 2, 0]))
    assert d.dtype == np.float32 and isinstance(loss, float)


# ----------------------------------------------------------------------------- stability

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stable_at_logits_of_1e4(dtype):
    s = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [0.0, 0.0, 0.0]], dtype=dtype)
    t = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 1.0]], dtype=dtype)
    y = np.array([1, 0, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        ce, dce = losses.softmax_cross_entropy_loss(s, y)
        bce, dbce = losses.bce_with_logits_loss(s, t)
    assert np.isfinite(ce) and np.all(np.isfinite(dce))
    assert np.isfinite(bce) and np.all(np.isfinite(dbce))
    # exact values: wrong-class margins of 2e4 cost 2e4 each; the last row costs log 3
    assert ce == pytest.approx((2e4 + 2e4 + np.log(3)) / 3, rel=1e-6)
    assert bce == pytest.approx((1e4 + 1e4 + np.log(2) + 1e4 + 1e4 + 3 * np.log(2)) / 9, rel=1e-6)
    np.testing.assert_allclose(dce[0], np.array([1, -1, 0]) / 3, atol=1e-7)


def test_cross_entropy_of_a_confident_correct_prediction_is_zero_not_nan():
    loss, d = losses.softmax_cross_entropy_loss(np.array([[1e4, 0.0]]), np.array([0]))
    assert loss == 0.0 and np.all(d == 0)


# ----------------------------------------------------------------------------- PyTorch parity

def test_same_numbers_as_pytorch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    s = random_array(rng, (6, 4), 3.0)
    t = rng.uniform(0, 1, (6, 4))
    y = rng.integers(0, 4, 6)
    w = rng.uniform(0.5, 2, 6)
    cases = [
        (losses.mse_loss(s, t), lambda S: F.mse_loss(S, torch.tensor(t))),
        (losses.huber_loss(s, t, 0.7), lambda S: F.huber_loss(S, torch.tensor(t), delta=0.7)),
        (losses.bce_with_logits_loss(s, t), lambda S: F.binary_cross_entropy_with_logits(S, torch.tensor(t))),
        (losses.softmax_cross_entropy_loss(s, y), lambda S: F.cross_entropy(S, torch.tensor(y))),
        (losses.weighted_mse_loss(s, t, w),
         lambda S: (torch.tensor(w)[:, None] * (S - torch.tensor(t)) ** 2).mean()),
    ]
    for (loss, grad), torch_fn in cases:
        S = torch.tensor(s, requires_grad=True)
        out = torch_fn(S)
        out.backward()
        assert loss == pytest.approx(out.item(), rel=1e-12)
        np.testing.assert_allclose(grad, S.grad.numpy(), rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------------------- mae_loss

@given(N=dims, M=dims, seed=seeds)
def test_mae_value_and_gradient_away_from_ties(N, M, seed):
    rng = np.random.default_rng(seed)
    target = random_array(rng, (N, M))
    pred = target + random_array(rng, (N, M), away_from_zero=0.1)   # |pred - target| >= 0.1: no kink within h
    loss, dpred = losses.mae_loss(pred, target)
    assert loss == pytest.approx(sum(abs(p - t) for p, t in zip(pred.ravel(), target.ravel())) / (N * M))
    assert _gradcheck(losses.mae_loss, pred, target) < TOL
    np.testing.assert_array_equal(np.abs(dpred), np.full((N, M), 1.0 / (N * M)))


def test_mae_subgradient_is_zero_at_ties_and_dtype_is_kept():
    pred = np.array([[1.0, 2.0], [3.0, -1.0]], dtype=np.float32)
    target = np.array([[1.0, 0.0], [3.0, 0.0]], dtype=np.float32)
    loss, dpred = losses.mae_loss(pred, target)
    assert loss == pytest.approx(0.75)
    np.testing.assert_array_equal(dpred, np.array([[0.0, 0.25], [0.0, -0.25]], dtype=np.float32))
    assert dpred.dtype == np.float32


def test_mae_rejects_the_column_minus_vector_trap():
    with pytest.raises(ValueError, match=r"mae_loss: 'pred' and 'target' must have the same shape.*reshape\(-1, 1\)"):
        losses.mae_loss(np.zeros((4, 1)), np.zeros(4))


def test_mae_same_numbers_as_pytorch(rng):
    torch = pytest.importorskip("torch")
    s = random_array(rng, (6, 4), 3.0)
    t = rng.uniform(0, 1, (6, 4))
    s[0, 0] = t[0, 0]                                    # one tie: both use the subgradient 0
    loss, grad = losses.mae_loss(s, t)
    S = torch.tensor(s, requires_grad=True)
    out = torch.nn.functional.l1_loss(S, torch.tensor(t))
    out.backward()
    assert loss == pytest.approx(out.item(), rel=1e-12)
    np.testing.assert_allclose(grad, S.grad.numpy(), rtol=1e-12, atol=0)
    assert grad[0, 0] == 0.0
