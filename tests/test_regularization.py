"""Dropout and batch normalisation: ops and modules.

Gradients against central differences in float64 (2-D and 4-D input, training and evaluation
mode); a planted wrong gradient that the check catches; running averages against the
formulas PyTorch documents; float32 end to end; buffers in ``state_dict``; and, when PyTorch
is installed, parity with ``torch.nn.BatchNorm1d``/``BatchNorm2d``.
"""

import numpy as np
import pytest
from _helpers import random_array
from hypothesis import given
from hypothesis import strategies as st

from bpkit import losses, nn, ops, optim, train
from bpkit.gradcheck import check_gradients

TOL = 1e-7
seeds = st.integers(0, 2**32 - 1)


def _bn_input(rng, shape, dtype=np.float64):
    """Random input whose every feature has a variance of order 1 (a near-constant feature makes
    the normalisation's curvature so large that a finite difference no longer resolves it)."""
    x = rng.standard_normal(shape)
    spread = np.linspace(-1.5, 1.5, shape[0]).reshape((-1,) + (1,) * (len(shape) - 1))
    return (x + spread).astype(dtype)


# At least 3 values per feature: with 2, x-hat is always (-1, 1) and the gradient is pure rounding noise.
shapes = st.one_of(
    st.tuples(st.integers(3, 7), st.integers(1, 5)),
    st.tuples(st.integers(2, 4), st.integers(1, 3), st.integers(2, 3), st.integers(1, 3)),
)


# ----------------------------------------------------------------------------- batch norm: ops

@given(shape=shapes, seed=seeds, eval_mode=st.booleans())
def test_batchnorm_backward_gradcheck(shape, seed, eval_mode):
    rng = np.random.default_rng(seed)
    F = shape[1]
    x = _bn_input(rng, shape)
    gamma, beta = random_array(rng, (F,)) + 1.0, random_array(rng, (F,))
    stats = dict(mean=random_array(rng, (F,)), var=rng.random(F) + 0.5) if eval_mode else {}
    out, cache = ops.batchnorm_forward(x, gamma, beta, **stats)
    assert cache.batch_stats is not eval_mode
    dout = random_array(rng, out.shape)
    dx, dgamma, dbeta = ops.batchnorm_backward(dout, cache)
    assert dx.shape == x.shape and dgamma.shape == dbeta.shape == (F,)
    errs = check_gradients(lambda: ops.batchnorm_forward(x, gamma, beta, **stats)[0],
                           {"x": x, "gamma": gamma, "beta": beta},
                           {"x": dx, "gamma": dgamma, "beta": dbeta}, dout=dout)
    assert max(errs.values()) < TOL, errs


def test_batchnorm_gradcheck_catches_the_missing_statistics_paths(rng):
    """The tempting dx = dout * gamma / std ignores that the mean and variance depend on x: caught."""
    x = _bn_input(rng, (6, 3))
    gamma, beta = np.ones(3), np.zeros(3)
    out, cache = ops.batchnorm_forward(x, gamma, beta)
    dout = random_array(rng, out.shape)
    wrong = dout * gamma * cache.inv_std
    with pytest.raises(AssertionError, match="'x'"):
        check_gradients(lambda: ops.batchnorm_forward(x, gamma, beta)[0], {"x": x}, {"x": wrong}, dout=dout)


@pytest.mark.parametrize("shape", [(64, 3), (8, 3, 4, 5)])
def test_batchnorm_training_output_is_normalised_per_feature(rng, shape):
    x = 5.0 + 3.0 * rng.standard_normal(shape)
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    out, cache = ops.batchnorm_forward(x, np.ones(3), np.zeros(3), eps=0.0)
    np.testing.assert_allclose(out.mean(axis=axes), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=axes), 1.0, rtol=1e-12)
    np.testing.assert_allclose(cache.mean, x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(cache.var, x.var(axis=axes), rtol=1e-12)        # biased, as in the paper
    gamma, beta = np.array([2.0, 0.5, -1.0]), np.array([1.0, -2.0, 0.0])
    out2, _ = ops.batchnorm_forward(x, gamma, beta, eps=0.0)
    np.testing.assert_allclose(out2.mean(axis=axes), beta, atol=1e-12)
    np.testing.assert_allclose(out2.std(axis=axes), np.abs(gamma), rtol=1e-12)


def test_batchnorm_eval_mode_is_the_affine_map_of_the_given_statistics(rng):
    x = rng.standard_normal((4, 2))
    mean, var, gamma, beta = np.array([1.0, -1.0]), np.array([4.0, 0.25]), np.array([2.0, 3.0]), np.array([0.5, 0.0])
    out, _ = ops.batchnorm_forward(x, gamma, beta, eps=0.0, mean=mean, var=var)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var) * gamma + beta, rtol=1e-12)


def test_batchnorm_of_a_constant_feature_stays_finite():
    x = np.column_stack([np.full(5, 3.0), np.arange(5.0)])
    out, cache = ops.batchnorm_forward(x, np.ones(2), np.array([0.7, 0.0]))
    np.testing.assert_allclose(out[:, 0], 0.7)                 # xhat = 0 / sqrt(eps): exactly beta
    dx, dgamma, dbeta = ops.batchnorm_backward(np.ones_like(x), cache)
    assert np.isfinite(dx).all() and np.isfinite(dgamma).all()


def test_batchnorm_does_not_mutate_inputs(rng):
    x, gamma, beta = _bn_input(rng, (5, 3)), np.ones(3), np.zeros(3)
    copies = [a.copy() for a in (x, gamma, beta)]
    out, cache = ops.batchnorm_forward(x, gamma, beta)
    dout = random_array(rng, out.shape)
    dout_copy = dout.copy()
    ops.batchnorm_backward(dout, cache)
    for a, c in zip((x, gamma, beta, dout), copies + [dout_copy]):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 2, 2)])
def test_batchnorm_keeps_float32(rng, shape):
    x = _bn_input(rng, shape, np.float32)
    g, b = np.ones(3, np.float32), np.zeros(3, np.float32)
    out, cache = ops.batchnorm_forward(x, g, b)
    grads = ops.batchnorm_backward(np.ones_like(out), cache)
    assert out.dtype == np.float32 and all(v.dtype == np.float32 for v in grads)
    assert cache.mean.dtype == cache.var.dtype == cache.inv_std.dtype == np.float32


# ----------------------------------------------------------------------------- batch norm: modules

def test_batchnorm1d_running_averages_follow_pytorchs_formula(rng):
    bn = nn.BatchNorm1d(3, momentum=0.1)
    x1, x2 = 2.0 + rng.standard_normal((5, 3)), -1.0 + 3 * rng.standard_normal((5, 3))
    bn(x1)
    bn(x2)
    mean, var = np.zeros(3), np.ones(3)
    for x in (x1, x2):
        mean = 0.9 * mean + 0.1 * x.mean(axis=0)
        var = 0.9 * var + 0.1 * x.var(axis=0, ddof=1)          # unbiased in the running average
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)


def test_batchnorm_eval_uses_running_averages_and_does_not_update_them(rng):
    bn = nn.BatchNorm1d(2)
    for _ in range(50):
        bn(3.0 + 2.0 * rng.standard_normal((32, 2)))
    before = bn.state_dict()
    bn.eval()
    x = rng.standard_normal((4, 2))
    out = bn(x)
    np.testing.assert_allclose(out, (x - bn.running_mean) / np.sqrt(bn.running_var + bn.eps), rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, before["running_mean"])
    # The backward pass is the affine one ...
    dx = bn.backward(np.ones_like(out))
    np.testing.assert_allclose(dx, np.ones_like(x) / np.sqrt(bn.running_var + bn.eps), rtol=1e-12)
    # ... and one example's output does not depend on the rest of its batch.
    np.testing.assert_allclose(bn(x[:1]), out[:1], rtol=1e-12)


def test_batchnorm2d_normalises_each_channel_over_batch_and_space(rng):
    bn = nn.BatchNorm2d(3)
    x = rng.standard_normal((4, 3, 5, 5)) * np.array([1.0, 5.0, 0.1]).reshape(1, 3, 1, 1)
    out = bn(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), x.var(axis=(0, 2, 3)) / (x.var(axis=(0, 2, 3)) + 1e-5),
                               rtol=1e-10)
    m = 4 * 5 * 5
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=(0, 2, 3)) * m / (m - 1), rtol=1e-12)


def test_batchnorm_module_gradients_in_a_network(rng):
    """The module's grads agree with finite differences through a whole network and a loss."""
    model = nn.Sequential(nn.Linear(4, 5, rng=rng), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 3, rng=rng))
    model[1].gamma[...] = 1.0 + 0.3 * rng.standard_normal(5)
    model[1].beta[...] = 0.3 * rng.standard_normal(5)
    x, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    _, dscores = losses.softmax_cross_entropy_loss(model(x), y)
    model.backward(dscores)
    params = model.params

    def loss():
        return losses.softmax_cross_entropy_loss(model.forward(x), y)[0]

    errs = check_gradients(loss, params, {k: v.copy() for k, v in model.grads.items()})
    assert max(errs.values()) < TOL, errs


def test_batchnorm_input_grad_false_gives_the_same_grads(rng):
    model = nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 2, rng=rng))
    x = _bn_input(rng, (5, 3))
    dout = rng.standard_normal((5, 2))
    model(x)
    dx = model.backward(dout)
    grads = {k: v.copy() for k, v in model.grads.items()}
    model(x)
    assert model.backward(dout, input_grad=False) is None
    assert dx.shape == x.shape
    for k, v in model.grads.items():
        np.testing.assert_allclose(v, grads[k], rtol=1e-12)


def test_batchnorm_module_keeps_float32(rng):
    model = nn.Sequential(nn.Linear(3, 4, rng=rng, dtype=np.float32), nn.BatchNorm1d(4, dtype=np.float32))
    out = model(_bn_input(rng, (6, 3), np.float32))
    model.backward(np.ones_like(out))
    assert out.dtype == np.float32
    assert all(v.dtype == np.float32 for v in {**model.params, **model.grads, **model.buffers}.values())


def test_buffers_are_saved_and_restored_but_not_optimised(rng):
    model = nn.Sequential(nn.Linear(2, 3, rng=rng), nn.BatchNorm1d(3))
    assert set(model.params) == {"0.W", "0.b", "1.gamma", "1.beta"}
    assert set(model.buffers) == {"1.running_mean", "1.running_var"}
    saved = model.state_dict()
    assert set(saved) == set(model.params) | set(model.buffers)
    model(_bn_input(rng, (8, 2)))
    assert not np.array_equal(model[1].running_mean, saved["1.running_mean"])
    model.load_state_dict(saved)
    np.testing.assert_array_equal(model[1].running_mean, saved["1.running_mean"])
    np.testing.assert_array_equal(model[1].running_var, saved["1.running_var"])


def test_fit_with_batchnorm_and_dropout_learns_and_early_stopping_restores_buffers(rng):
    from bpkit import data
    X, y, Xv, yv, _, _ = data.digits()
    model = nn.Sequential(nn.Linear(64, 64, rng=rng), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.2, rng=rng),
                          nn.Linear(64, 10, rng=rng))
    stop = train.EarlyStopping(patience=2, restore_best=True)
    hist = train.fit(model, losses.softmax_cross_entropy_loss, optim.Adam(lr=1e-2), X, y, epochs=8,
                     batch_size=64, rng=rng, validation=(Xv, yv), callbacks=[stop],
                     metrics={"acc": train.accuracy}, progress=False)
    best = int(np.argmin(hist["val_loss"]))
    assert hist["val_acc"][best] > 0.9
    # The restored model gives the best epoch's validation loss: its buffers came back too.
    model.eval()
    val_loss = losses.softmax_cross_entropy_loss(model(Xv), yv)[0]
    assert val_loss == pytest.approx(hist["val_loss"][best], rel=1e-12)


# ----------------------------------------------------------------------------- dropout

def test_dropout_is_inverted_and_unbiased(rng):
    x = np.ones((200, 500))
    out, mask = ops.dropout_forward(x, 0.3, rng)
    kept = out != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.005)
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-12)
    assert out.mean() == pytest.approx(1.0, abs=0.01)


def test_dropout_backward_gradcheck_and_mask(rng):
    x = rng.standard_normal((4, 6))
    out, mask = ops.dropout_forward(x, 0.5, np.random.default_rng(1))
    dout = rng.standard_normal(x.shape)
    dx = ops.dropout_backward(dout, mask)
    np.testing.assert_array_equal(dx == 0, out == 0)
    errs = check_gradients(lambda: ops.dropout_forward(x, 0.5, np.random.default_rng(1))[0], {"x": x}, {"x": dx},
                           dout=dout)
    assert errs["x"] < TOL
    with pytest.raises(AssertionError, match="'x'"):          # forgetting the 1/(1-p) scale is caught
        check_gradients(lambda: ops.dropout_forward(x, 0.5, np.random.default_rng(1))[0], {"x": x},
                        {"x": dout * (mask != 0)}, dout=dout)


def test_dropout_edge_rates_and_determinism(rng):
    x = rng.standard_normal((3, 4))
    out, cache = ops.dropout_forward(x, 0.0, rng)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(ops.dropout_backward(np.ones_like(x), cache), 1.0)
    out, _ = ops.dropout_forward(x, 1.0, rng)
    np.testing.assert_array_equal(out, 0.0)
    a, _ = ops.dropout_forward(x, 0.5, np.random.default_rng(7))
    b, _ = ops.dropout_forward(x, 0.5, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


def test_dropout_module_train_and_eval(rng):
    layer = nn.Dropout(0.5, rng=rng)
    x = rng.standard_normal((10, 10)).astype(np.float32)
    out = layer(x)
    assert out.dtype == np.float32 and (out == 0).any()
    dx = layer.backward(np.ones_like(out))
    np.testing.assert_array_equal(dx == 0, out == 0)
    layer.eval()
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), 1.0)
    assert repr(layer) == "Dropout(p=0.5)" and layer.params == {} and layer.buffers == {}


def test_check_module_works_for_batchnorm_and_explains_dropout(rng):
    from bpkit.gradcheck import check_module
    bn = nn.BatchNorm1d(3)
    bn.gamma[...] = [1.5, 0.5, -1.0]
    assert max(check_module(bn, _bn_input(rng, (5, 3))).values()) < 1e-7
    with pytest.raises(ValueError, match=r"Dropout\(p=0\.5\)\.forward gives a different output.*eval\(\)"):
        check_module(nn.Dropout(0.5, rng=rng), rng.standard_normal((4, 3)))
    assert check_module(nn.Dropout(0.5, rng=rng).eval(), rng.standard_normal((4, 3)))["x"] < 1e-7


# ----------------------------------------------------------------------------- PyTorch parity (optional)

@pytest.mark.parametrize("shape", [(6, 3), (3, 3, 2, 4)])
def test_batchnorm_parity_with_torch(rng, shape):
    torch = pytest.importorskip("torch")
    x = _bn_input(rng, shape)
    gamma, beta = 1.0 + 0.2 * rng.standard_normal(3), 0.2 * rng.standard_normal(3)
    dout = rng.standard_normal(shape)
    ours = (nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)(3)
    theirs = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(3).double()
    ours.gamma[...], ours.beta[...] = gamma, beta
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(gamma))
        theirs.bias.copy_(torch.tensor(beta))
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.tensor(dout))
    out = ours(x)
    dx = ours.backward(dout)
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.grads["gamma"], theirs.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.grads["beta"], theirs.bias.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(x), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
