"""Chapter 10's ops: embedding, layer norm and scaled dot-product attention.

Two oracles, as for every op: central differences in float64 for every gradient (over
hypothesis-generated shapes), and, when PyTorch is installed, parity with
``F.embedding``, ``F.layer_norm`` and ``F.scaled_dot_product_attention`` (with and without
``is_causal``). Planted wrong gradients are caught; error messages name the function and the
fix; attention is finite for scores of +-1e4; float32 stays float32; inputs are not mutated.
"""

import numpy as np
import pytest
from _helpers import random_array
from hypothesis import given, settings
from hypothesis import strategies as st

from bpkit import ops
from bpkit.gradcheck import GradientCheckError, check_gradients

seeds = st.integers(0, 2**32 - 1)


# --------------------------------------------------------------------------- embedding

@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 3), st.integers(1, 5), st.integers(1, 4), st.integers(1, 3))
def test_embedding_gradient_matches_finite_differences(seed, N, T, V, D):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, V, size=(N, T))
    W = random_array(rng, (V, D))
    dout = random_array(rng, (N, T, D))
    out, cache = ops.embedding_forward(idx, W)
    assert out.shape == (N, T, D)
    dW = ops.embedding_backward(dout, cache)
    check_gradients(lambda: ops.embedding_forward(idx, W)[0], {"W": W}, {"W": dW}, dout=dout)


def test_embedding_repeated_indices_accumulate():
    W = np.arange(6.0).reshape(3, 2)
    idx = np.array([[2, 2, 0, 2]])
    _, cache = ops.embedding_forward(idx, W)
    dW = ops.embedding_backward(np.ones((1, 4, 2)), cache)
    np.testing.assert_array_equal(dW, [[1, 1], [0, 0], [3, 3]])


def test_embedding_overwrite_is_caught_by_the_gradient_check(rng):
    idx = np.array([[1, 1, 0]])
    W = random_array(rng, (3, 2))
    dout = random_array(rng, (1, 3, 2))

    def overwrite():                                     # dW[idx] = dout keeps one of the repeats
        dW = np.zeros_like(W)
        dW[idx.ravel()] = dout.reshape(-1, 2)
        return dW
    with pytest.raises(GradientCheckError):
        check_gradients(lambda: ops.embedding_forward(idx, W)[0], {"W": W}, {"W": overwrite()}, dout=dout)


def test_embedding_errors():
    W = np.zeros((5, 3))
    with pytest.raises(IndexError, match=r"embedding_forward: index 7 at position \(1, 0\).*V = 5"):
        ops.embedding_forward(np.array([[0, 1], [7, 2]]), W)
    with pytest.raises(IndexError, match="index -1"):
        ops.embedding_forward(np.array([-1]), W)
    with pytest.raises(TypeError, match=r"embedding_forward: 'idx' must hold integer.*astype\(int\)"):
        ops.embedding_forward(np.array([1.0, 2.0]), W)
    with pytest.raises(ValueError, match=r"embedding_forward: argument 'W' must have shape \(V, D\)"):
        ops.embedding_forward(np.array([1]), np.zeros(5))
    _, cache = ops.embedding_forward(np.array([[1, 2]]), W)
    with pytest.raises(ValueError, match=r"embedding_backward: 'dout' must have the shape of the forward output \(1, 2, 3\)"):
        ops.embedding_backward(np.zeros((2, 3)), cache)


# --------------------------------------------------------------------------- layer norm

@settings(max_examples=15, deadline=None)
@given(seeds, st.sampled_from([(4,), (2, 3), (2, 3, 4), (1, 2, 5)]))
def test_layernorm_gradients_match_finite_differences(seed, shape):
    rng = np.random.default_rng(seed)
    x = random_array(rng, shape)
    D = shape[-1]
    gamma, beta = random_array(rng, (D,), away_from_zero=0.1), random_array(rng, (D,))
    dout = random_array(rng, shape)
    out, cache = ops.layernorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = ops.layernorm_backward(dout, cache)
    check_gradients(lambda: ops.layernorm_forward(x, gamma, beta)[0],
                    {"x": x, "gamma": gamma, "beta": beta}, {"x": dx, "gamma": dgamma, "beta": dbeta}, dout=dout)


def test_layernorm_normalises_each_position_and_differs_from_batch_norm(rng):
    x = random_array(rng, (6, 4), 3.0) + 5
    out, _ = ops.layernorm_forward(x, np.ones(4), np.zeros(4))
    np.testing.assert_allclose(out.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=-1), 1, rtol=1e-4)            # biased variance, eps = 1e-5
    bn, _ = ops.batchnorm_forward(x, np.ones(4), np.zeros(4))
    assert not np.allclose(out, bn)
    # one example alone gives the same result: layer norm does not look at the batch
    np.testing.assert_allclose(ops.layernorm_forward(x[:1], np.ones(4), np.zeros(4))[0], out[:1])


def test_layernorm_dx_that_drops_the_mean_path_is_caught(rng):
    x, dout = random_array(rng, (3, 4)), random_array(rng, (3, 4))
    g, b = np.ones(4), np.zeros(4)
    _, cache = ops.layernorm_forward(x, g, b)
    xhat, inv_std, _ = cache
    wrong = dout * inv_std                                     # treats mean and variance as constants
    with pytest.raises(GradientCheckError):
        check_gradients(lambda: ops.layernorm_forward(x, g, b)[0], {"x": x}, {"x": wrong}, dout=dout)


def test_layernorm_errors():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"layernorm_forward: argument 'gamma' must have shape \(3,\).*last axis"):
        ops.layernorm_forward(x, np.ones(2), np.zeros(3))
    with pytest.raises(TypeError, match="layernorm_forward: all arrays must share one float dtype"):
        ops.layernorm_forward(x.astype(np.float32), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="layernorm_forward: 'eps' must be a finite number"):
        ops.layernorm_forward(x, np.ones(3), np.zeros(3), eps=-1)
    _, cache = ops.layernorm_forward(x, np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="layernorm_backward: 'dout' must have the shape"):
        ops.layernorm_backward(np.zeros((3, 2)), cache)


# --------------------------------------------------------------------------- attention

@settings(max_examples=20, deadline=None)
@given(seeds, st.integers(1, 2), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.booleans())
def test_attention_gradients_match_finite_differences(seed, N, Tq, Tk, d, dv, causal):
    rng = np.random.default_rng(seed)
    if causal:
        Tk = Tq
    q, k, v = random_array(rng, (N, Tq, d)), random_array(rng, (N, Tk, d)), random_array(rng, (N, Tk, dv))
    dout = random_array(rng, (N, Tq, dv))
    out, cache = ops.attention_forward(q, k, v, causal=causal)
    assert out.shape == (N, Tq, dv)
    dq, dk, dv_ = ops.attention_backward(dout, cache)
    check_gradients(lambda: ops.attention_forward(q, k, v, causal=causal)[0], {"q": q, "k": k, "v": v},
                    {"q": dq, "k": dk, "v": dv_}, dout=dout)


def test_attention_matches_a_loop_over_queries(rng):
    q, k, v = random_array(rng, (2, 3, 4)), random_array(rng, (2, 5, 4)), random_array(rng, (2, 5, 2))
    out, _ = ops.attention_forward(q, k, v)
    for n in range(2):
        for t in range(3):
            s = k[n] @ q[n, t] / 2.0
            w = np.exp(s - s.max())
            np.testing.assert_allclose(out[n, t], (w / w.sum()) @ v[n], rtol=1e-12)


def test_causal_mask_sends_no_gradient_to_the_future(rng):
    q, k, v = (random_array(rng, (1, 4, 3)) for _ in range(3))
    out, cache = ops.attention_forward(q, k, v, causal=True)
    assert np.all(np.triu(cache.p[0], 1) == 0)
    np.testing.assert_allclose(out[0, 0], v[0, 0])              # the first position sees only itself
    dout = np.zeros_like(out)
    dout[0, 1] = 1.0                                            # only query 1 matters
    dq, dk, dv = ops.attention_backward(dout, cache)
    assert np.all(dk[0, 2:] == 0) and np.all(dv[0, 2:] == 0) and np.all(dq[0, [0, 2, 3]] == 0)
    assert np.abs(dk[0, :2]).sum() > 0 and np.abs(dv[0, :2]).sum() > 0


@pytest.mark.parametrize("name", ["no_scale", "wrong_axis", "mask_after", "dq_no_jacobian"])
def test_planted_attention_mistakes_are_caught(rng, name):
    q, k, v = (random_array(rng, (2, 3, 4)) for _ in range(3))
    dout = random_array(rng, (2, 3, 4))
    causal = name == "mask_after"
    ref, cache = ops.attention_forward(q, k, v, causal=causal)
    s = q @ k.transpose(0, 2, 1) / 2.0
    if name == "no_scale":
        p = np.exp(2 * s)
        assert not np.allclose((p / p.sum(-1, keepdims=True)) @ v, ref)
    elif name == "wrong_axis":
        p = np.exp(s)
        assert not np.allclose((p / p.sum(-2, keepdims=True)) @ v, ref)
    elif name == "mask_after":
        p = np.exp(s)
        p = p / p.sum(-1, keepdims=True) * ops.causal_mask(3)   # rows no longer sum to 1
        assert not np.allclose(p @ v, ref)
    else:
        dq_wrong = (dout @ v.transpose(0, 2, 1)) @ k / 2.0
        with pytest.raises(GradientCheckError):
            check_gradients(lambda: ops.attention_forward(q, k, v)[0], {"q": q}, {"q": dq_wrong}, dout=dout)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_is_stable_for_scores_of_1e4(causal):
    q = np.array([[[100.0, 0], [-100.0, 0], [0, 100.0]]])          # scores q.k / sqrt(2) up to ~7e3 ... 1e4
    k = q * np.sqrt(2.0)
    v = np.arange(6.0).reshape(1, 3, 2)
    out, cache = ops.attention_forward(q, k, v, causal=causal)
    assert np.abs(q @ k.transpose(0, 2, 1) / np.sqrt(2)).max() == pytest.approx(1e4)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(cache.p))
    np.testing.assert_allclose(out[0], v[0])                        # each query picks its own key
    grads = ops.attention_backward(np.ones_like(out), cache)
    assert all(np.all(np.isfinite(g)) for g in grads)


def test_attention_keeps_float32_and_does_not_mutate(rng):
    q, k, v = (random_array(rng, (2, 3, 4), dtype=np.float32) for _ in range(3))
    copies = [a.copy() for a in (q, k, v)]
    out, cache = ops.attention_forward(q, k, v, causal=True)
    grads = ops.attention_backward(np.ones_like(out), cache)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    for a, c in zip((q, k, v), copies):
        np.testing.assert_array_equal(a, c)
    x = random_array(rng, (2, 3), dtype=np.float32)
    y, c = ops.layernorm_forward(x, np.ones(3, np.float32), np.zeros(3, np.float32))
    assert y.dtype == np.float32 and all(g.dtype == np.float32 for g in ops.layernorm_backward(y, c))
    e, c = ops.embedding_forward(np.array([0, 1]), np.ones((2, 3), np.float32))
    assert e.dtype == np.float32 and ops.embedding_backward(e, c).dtype == np.float32


def test_attention_errors():
    q = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"attention_forward: 'q' must have shape \(N, Tq, d\).*q\[None\]"):
        ops.attention_forward(q[0], q, q)
    with pytest.raises(ValueError, match=r"attention_forward: 'k' must have shape \(N, Tk, d\) = \(2, \?, 4\)"):
        ops.attention_forward(q, np.zeros((2, 3, 5)), q)
    with pytest.raises(ValueError, match=r"attention_forward: 'v' must have shape \(N, Tk, dv\) = \(2, 3, \?\)"):
        ops.attention_forward(q, q, np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"causal=True needs as many queries as keys.*Tq = 3 and Tk = 5"):
        ops.attention_forward(q, np.zeros((2, 5, 4)), np.zeros((2, 5, 1)), causal=True)
    with pytest.raises(TypeError, match="attention_forward: 'causal' must be True or False"):
        ops.attention_forward(q, q, q, causal="yes")
    _, cache = ops.attention_forward(q, q, q)
    with pytest.raises(ValueError, match=r"attention_backward: 'dout' must have the shape of the forward output \(2, 3, 4\)"):
        ops.attention_backward(np.zeros((2, 4, 3)), cache)


# --------------------------------------------------------------------------- PyTorch parity

@pytest.mark.parametrize("causal", [False, True])
def test_attention_parity_with_torch(rng, causal):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    q, k, v = random_array(rng, (2, 5, 4)), random_array(rng, (2, 5, 4)), random_array(rng, (2, 5, 3))
    dout = random_array(rng, (2, 5, 3))
    out, cache = ops.attention_forward(q, k, v, causal=causal)
    grads = ops.attention_backward(dout, cache)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    to = F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
    to.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, to.detach().numpy(), rtol=1e-10, atol=1e-12)
    for g, t in zip(grads, (tq, tk, tv)):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_layernorm_and_embedding_parity_with_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, g, b = random_array(rng, (2, 3, 5)), random_array(rng, (5,)), random_array(rng, (5,))
    dout = random_array(rng, (2, 3, 5))
    out, cache = ops.layernorm_forward(x, g, b)
    grads = ops.layernorm_backward(dout, cache)
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, g, b))
    to = F.layer_norm(tx, (5,), tg, tb, eps=1e-5)
    to.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, to.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, t in zip(grads, (tx, tg, tb)):
        np.testing.assert_allclose(mine, t.grad.numpy(), rtol=1e-9, atol=1e-12)
    idx = np.array([[0, 3, 3], [1, 0, 3]])
    W = random_array(rng, (4, 5))
    out, cache = ops.embedding_forward(idx, W)
    tW = torch.tensor(W, requires_grad=True)
    to = F.embedding(torch.tensor(idx), tW)
    to.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, to.detach().numpy())
    np.testing.assert_allclose(ops.embedding_backward(dout, cache), tW.grad.numpy(), rtol=1e-12)
