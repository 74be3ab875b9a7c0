"""Chapter 10's modules: Embedding, PositionalEncoding, LayerNorm, MultiHeadAttention, TransformerBlock.

Whole modules against central differences in float64 (input and every parameter); the
multi-head split equals a loop over heads; the causal block does not look ahead; a small
model in ``Sequential`` learns to copy; errors name the layer; and the recurrent modules'
``return_state`` continues a sequence exactly where it stopped.
"""

import numpy as np
import pytest

from bpkit import losses, nn, ops, optim
from bpkit.gradcheck import check_gradients, check_module


@pytest.mark.parametrize("make", [
    lambda rng: nn.LayerNorm(4),
    lambda rng: nn.PositionalEncoding(4),
    lambda rng: nn.MultiHeadAttention(4, 2, rng=rng),
    lambda rng: nn.MultiHeadAttention(6, 3, causal=False, rng=rng),
    lambda rng: nn.TransformerBlock(4, 2, rng=rng),
    lambda rng: nn.TransformerBlock(4, 1, rng=rng, residual=False),
    lambda rng: nn.TransformerBlock(4, 2, rng=rng, norm=False),
    lambda rng: nn.TransformerBlock(4, 2, rng=rng, approximate="none"),
])
def test_modules_match_finite_differences(rng, make):
    m = make(rng)
    check_module(m, rng.standard_normal((2, 3, m.D)), rng=rng)


def test_embedding_module_gradient_and_no_input_gradient(rng):
    emb = nn.Embedding(5, 3, rng=rng)
    idx = np.array([[0, 4, 4], [1, 0, 2]])
    dout = rng.standard_normal((2, 3, 3))
    out = emb.forward(idx)
    assert out.shape == (2, 3, 3) and emb.backward(dout) is None
    W = emb.params["W"]
    check_gradients(lambda: emb.forward(idx), {"W": W}, {"W": emb.grads["W"].copy()}, dout=dout)


def test_multi_head_attention_equals_a_loop_over_heads(rng):
    mha = nn.MultiHeadAttention(6, 3, rng=rng)
    x = rng.standard_normal((2, 4, 6))
    y = mha.forward(x)
    P = mha.params
    q, k, v = np.split(x @ P["Wqkv"] + P["bqkv"], 3, axis=-1)
    heads = [ops.attention_forward(q[..., 2 * h:2 * h + 2], k[..., 2 * h:2 * h + 2], v[..., 2 * h:2 * h + 2],
                                   causal=True)[0] for h in range(3)]
    np.testing.assert_allclose(y, np.concatenate(heads, axis=-1) @ P["Wo"] + P["bo"], rtol=1e-12, atol=1e-12)
    assert mha.weights.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(mha.weights.sum(-1), 1)


def test_causal_block_does_not_look_ahead(rng):
    block = nn.TransformerBlock(8, 2, rng=rng)
    x = rng.standard_normal((1, 6, 8))
    y = block.forward(x)
    x2 = x.copy()
    x2[0, 4:] += 10.0                       # change the future
    np.testing.assert_allclose(block.forward(x2)[0, :4], y[0, :4], rtol=1e-12)


def test_a_tiny_transformer_learns_to_copy_the_previous_token(rng):
    V, T = 5, 6
    model = nn.Sequential(nn.Embedding(V, 16, rng=rng), nn.PositionalEncoding(16), nn.TransformerBlock(16, 2, rng=rng),
                          nn.LayerNorm(16), nn.TimeDistributed(nn.Linear(16, V, rng=rng)))
    opt = optim.Adam(lr=1e-2)
    for _ in range(150):
        x = rng.integers(0, V, (16, T))
        logits = model.forward(x)[:, 1:]                 # predict x[t - 1] at step t
        loss, d = losses.softmax_cross_entropy_loss(logits.reshape(-1, V), x[:, :-1].ravel())
        dfull = np.zeros((16, T, V))
        dfull[:, 1:] = d.reshape(16, T - 1, V)
        model.backward(dfull, input_grad=False)
        opt.step(model.params, model.grads)
    assert loss < 0.1


def test_transformer_errors(rng):
    with pytest.raises(ValueError, match=r"MultiHeadAttention: 'heads' must be a positive int that divides D = 6.*\[1, 2, 3, 6\]"):
        nn.MultiHeadAttention(6, 4, rng=rng)
    with pytest.raises(TypeError, match="MultiHeadAttention: 'rng' must be a np.random.Generator"):
        nn.MultiHeadAttention(6, 2)
    block = nn.TransformerBlock(4, 2, rng=rng)
    with pytest.raises(ValueError, match=r"TransformerBlock\(4, heads=2\).forward: x must have shape \(N, T, 4\).*Embedding"):
        block.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, 4\), got \(2, 3, 5\). Build this layer with D = 5"):
        block.forward(np.zeros((2, 3, 5)))
    with pytest.raises(TypeError, match="is float32 but the layer is float64"):
        block.forward(np.zeros((2, 3, 4), np.float32))
    block.forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"backward: dout must have the shape of this layer's output \(2, 3, 4\)"):
        block.backward(np.zeros((2, 4, 4)))
    with pytest.raises(IndexError, match="index 9 .* V = 5"):
        nn.Embedding(5, 2, rng=rng).forward(np.array([[9]]))
    with pytest.raises(ValueError, match="longer than max_len = 4"):
        nn.PositionalEncoding(2, max_len=4).forward(np.zeros((1, 5, 2)))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        nn.LayerNorm(3).backward(np.zeros((1, 3)))


def test_float32_end_to_end(rng):
    model = nn.Sequential(nn.Embedding(5, 8, rng=rng, dtype=np.float32), nn.PositionalEncoding(8, dtype=np.float32),
                          nn.TransformerBlock(8, 2, rng=rng, dtype=np.float32), nn.LayerNorm(8, dtype=np.float32))
    y = model.forward(np.array([[1, 2, 3]]))
    assert y.dtype == np.float32
    model.backward(np.ones_like(y), input_grad=False)
    assert all(g.dtype == np.float32 for g in model.grads.values())


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM])
def test_recurrent_return_state_continues_a_sequence(rng, cls):
    layer = cls(3, 4, rng=rng)
    x = rng.standard_normal((2, 7, 3))
    full = layer.forward(x)
    assert isinstance(full, np.ndarray)                  # the default is unchanged
    h1, state = layer.forward(x[:, :4], return_state=True)
    if cls is nn.LSTM:
        h2, (hT, cT) = layer.forward(x[:, 4:], *state, return_state=True)
        # the reference cell state: one public step at a time
        h_t, c_t = np.zeros((2, 4)), np.zeros((2, 4))
        for t in range(7):
            h_t, c_t, _ = ops.lstm_step_forward(x[:, t], h_t, c_t, layer.Wx, layer.Wh, layer.b)
        np.testing.assert_allclose(cT, c_t, rtol=1e-12)
    else:
        h2, hT = layer.forward(x[:, 4:], state, return_state=True)
    np.testing.assert_allclose(np.concatenate([h1, h2], axis=1), full, rtol=1e-12)
    np.testing.assert_allclose(hT, full[:, -1])


def test_text_loads_the_shipped_shakespeare_with_its_checksum(rng):
    from bpkit import data
    t = data.text()
    assert len(t.text) == 199_994 and len(t.vocab) == 62 and t.text.startswith("First Citizen:")
    assert len(t.train) + len(t.val) == len(t.text) and t.decode(t.train[:5]) == "First"
    np.testing.assert_array_equal(t.encode("First"), t.train[:5])
    x, y = data.char_windows(t.train, 3, 8, rng)
    assert x.shape == y.shape == (3, 8)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    with pytest.raises(ValueError, match="text: unknown text 'hamlet'"):
        data.text("hamlet")
    with pytest.raises(ValueError, match=r"Text.encode: characters \['é'\] are not in the vocabulary"):
        t.encode("é")
    with pytest.raises(ValueError, match="char_windows: 'ids' must be a 1-D integer array longer than T = 8"):
        data.char_windows(np.arange(5), 2, 8, rng)
