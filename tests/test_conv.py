"""Convolution and pooling: ops and modules.

Two oracles, as for every op: central differences in float64 (rel. error < 1e-7) over
hypothesis-generated shapes, strides and paddings, and a plain loop implementation of the
definition; a planted wrong gradient that the check catches; float32 in, float32 out; no
mutation of inputs; the modules in ``Sequential`` (with ``input_grad=False``) and a small CNN
trained on the digits; and, when PyTorch is installed, parity with ``torch.nn.functional``.
"""

import numpy as np
import pytest
from _helpers import random_array
from hypothesis import given
from hypothesis import strategies as st

from bpkit import losses, nn, ops, optim, train
from bpkit.gradcheck import check_gradients, check_module

TOL = 1e-7
seeds = st.integers(0, 2**32 - 1)


@st.composite
def conv_cases(draw):
    """(x shape, W shape, stride, padding): small, with the kernel always fitting the padded input."""
    N, C, F = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    KH, KW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, KH - 2 * padding), 6))
    W = draw(st.integers(max(1, KW - 2 * padding), 6))
    return (N, C, H, W), (F, C, KH, KW), stride, padding


@st.composite
def pool_cases(draw):
    """(x shape, kernel_size, stride): windows that fit, overlapping (stride < kernel) or not."""
    KH, KW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = KH if KH == KW and draw(st.booleans()) else (KH, KW)
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(KH, 7)), draw(st.integers(KW, 7)))
    return shape, kernel, stride


def distinct(rng, shape):
    """Evenly spaced values in [-1, 1], in random places: no tie in a window, and with a few hundred
    values (spacing > 1e-3) no finite-difference step (1e-5) changes which input is a window's maximum."""
    size = int(np.prod(shape))
    return np.linspace(-1.0, 1.0, size)[rng.permutation(size)].reshape(shape)


def conv2d_loops(x, W, b, stride, padding):
    """The definition, one multiply-add at a time: the reference the vectorized op must match."""
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    xp = np.zeros((N, C, H + 2 * padding, Wd + 2 * padding))
    xp[:, :, padding:padding + H, padding:padding + Wd] = x
    H_out, W_out = (H + 2 * padding - KH) // stride + 1, (Wd + 2 * padding - KW) // stride + 1
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    total = b[f]
                    for c in range(C):
                        for k in range(KH):
                            for l in range(KW):
                                total += W[f, c, k, l] * xp[n, c, i * stride + k, j * stride + l]
                    out[n, f, i, j] = total
    return out


# ----------------------------------------------------------------------------- conv2d: ops

@pytest.mark.parametrize("x_shape,W_shape,stride,padding", [
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 0),
    ((1, 2, 7, 6), (3, 2, 3, 2), 2, 1),          # rectangular kernel; the stride leaves the last column out
    ((2, 1, 4, 4), (2, 1, 5, 5), 1, 2),          # kernel larger than the image, fits once padded
    ((1, 2, 3, 3), (2, 2, 1, 1), 1, 0),          # 1x1 convolution: a dense layer on every pixel
])
def test_conv2d_forward_matches_the_loop_definition_exactly(rng, x_shape, W_shape, stride, padding):
    # Small integers: every product and sum is exact in float64, so any order of summation agrees.
    x = rng.integers(-4, 5, x_shape).astype(np.float64)
    W = rng.integers(-3, 4, W_shape).astype(np.float64)
    b = rng.integers(-2, 3, W_shape[0]).astype(np.float64)
    out, _ = ops.conv2d_forward(x, W, b, stride=stride, padding=padding)
    np.testing.assert_array_equal(out, conv2d_loops(x, W, b, stride, padding))


@given(case=conv_cases(), seed=seeds)
def test_conv2d_backward_gradcheck(case, seed):
    x_shape, W_shape, stride, padding = case
    rng = np.random.default_rng(seed)
    x, W, b = random_array(rng, x_shape), random_array(rng, W_shape), random_array(rng, W_shape[:1])
    out, cache = ops.conv2d_forward(x, W, b, stride, padding)
    assert out.shape[:2] == (x_shape[0], W_shape[0])
    assert out.shape[2] == (x_shape[2] + 2 * padding - W_shape[2]) // stride + 1
    dout = random_array(rng, out.shape)
    dx, dW, db = ops.conv2d_backward(dout, cache)
    assert dx.shape == x.shape and dW.shape == W.shape and db.shape == b.shape
    errs = check_gradients(lambda: ops.conv2d_forward(x, W, b, stride, padding)[0], {"x": x, "W": W, "b": b},
                           {"x": dx, "W": dW, "b": db}, dout=dout)
    assert max(errs.values()) < TOL, errs


def test_conv2d_gradcheck_catches_a_flipped_kernel(rng):
    """The check above can fail: dW with the kernel flipped (convolution instead of
    cross-correlation), and dx without the sum over overlapping windows, are caught."""
    x, W, b = random_array(rng, (2, 2, 5, 5)), random_array(rng, (3, 2, 3, 3)), random_array(rng, (3,))
    out, cache = ops.conv2d_forward(x, W, b, padding=1)
    dout = random_array(rng, out.shape)
    dx, dW, db = ops.conv2d_backward(dout, cache)
    f = lambda: ops.conv2d_forward(x, W, b, padding=1)[0]          # noqa: E731
    with pytest.raises(AssertionError, match="'W'"):
        check_gradients(f, {"W": W}, {"W": dW[:, :, ::-1, ::-1]}, dout=dout)
    with pytest.raises(AssertionError, match="'x'"):
        check_gradients(f, {"x": x}, {"x": dx / 9}, dout=dout)   # as if each pixel were in one window


def test_conv2d_does_not_mutate_inputs(rng):
    x, W, b = random_array(rng, (2, 2, 5, 4)), random_array(rng, (3, 2, 3, 3)), random_array(rng, (3,))
    copies = [a.copy() for a in (x, W, b)]
    out, cache = ops.conv2d_forward(x, W, b, stride=2, padding=1)
    dout = random_array(rng, out.shape)
    dout_copy = dout.copy()
    ops.conv2d_backward(dout, cache)
    for a, c in zip((x, W, b, dout), copies + [dout_copy]):
        np.testing.assert_array_equal(a, c)


def test_conv2d_keeps_float32(rng):
    x, W, b = (random_array(rng, s, dtype=np.float32) for s in [(2, 3, 6, 6), (4, 3, 3, 3), (4,)])
    out, cache = ops.conv2d_forward(x, W, b, padding=1)
    grads = ops.conv2d_backward(np.ones_like(out), cache)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    ref, _ = ops.conv2d_forward(*(a.astype(np.float64) for a in (x, W, b)), padding=1)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_conv2d_output_and_gradients_are_contiguous(rng):
    x, W, b = random_array(rng, (2, 3, 6, 6)), random_array(rng, (4, 3, 3, 3)), random_array(rng, (4,))
    out, cache = ops.conv2d_forward(x, W, b, padding=1)
    assert out.flags.c_contiguous
    assert all(g.flags.c_contiguous for g in ops.conv2d_backward(np.ones_like(out), cache))


# ----------------------------------------------------------------------------- pooling: ops

@given(case=pool_cases(), seed=seeds)
def test_maxpool2d_backward_gradcheck(case, seed):
    shape, kernel, stride = case
    rng = np.random.default_rng(seed)
    x = distinct(rng, shape)
    out, cache = ops.maxpool2d_forward(x, kernel, stride)
    dout = random_array(rng, out.shape)
    dx = ops.maxpool2d_backward(dout, cache)
    assert dx.shape == x.shape
    errs = check_gradients(lambda: ops.maxpool2d_forward(x, kernel, stride)[0], {"x": x}, {"x": dx}, dout=dout)
    assert errs["x"] < TOL


@given(case=pool_cases(), seed=seeds)
def test_avgpool2d_backward_gradcheck(case, seed):
    shape, kernel, stride = case
    rng = np.random.default_rng(seed)
    x = random_array(rng, shape)
    out, cache = ops.avgpool2d_forward(x, kernel, stride)
    dout = random_array(rng, out.shape)
    dx = ops.avgpool2d_backward(dout, cache)
    assert dx.shape == x.shape
    errs = check_gradients(lambda: ops.avgpool2d_forward(x, kernel, stride)[0], {"x": x}, {"x": dx}, dout=dout)
    assert errs["x"] < TOL


def test_pooling_forward_matches_the_definition(rng):
    x = random_array(rng, (2, 3, 7, 6))
    for kernel, stride, (KH, KW), (SH, SW) in [(2, None, (2, 2), (2, 2)), (3, 1, (3, 3), (1, 1)),
                                              ((2, 3), (1, 2), (2, 3), (1, 2))]:
        H_out, W_out = (7 - KH) // SH + 1, (6 - KW) // SW + 1
        windows = np.array([[x[:, :, i * SH:i * SH + KH, j * SW:j * SW + KW] for j in range(W_out)]
                            for i in range(H_out)])                     # (H_out, W_out, N, C, KH, KW)
        np.testing.assert_array_equal(ops.maxpool2d_forward(x, kernel, stride)[0],
                                      windows.max(axis=(4, 5)).transpose(2, 3, 0, 1))
        np.testing.assert_allclose(ops.avgpool2d_forward(x, kernel, stride)[0],
                                   windows.mean(axis=(4, 5)).transpose(2, 3, 0, 1), rtol=1e-14, atol=1e-15)


def test_maxpool2d_ties_send_the_gradient_to_the_first_maximum():
    """On a tie the first maximum in row-major order gets the gradient, as PyTorch does on the CPU."""
    x = np.array([[[[1.0, 1.0, 2.0],
                    [2.0, 0.0, 2.0],
                    [1.0, 2.0, 2.0]]]])
    out, cache = ops.maxpool2d_forward(x, 2, 1)                  # four overlapping windows, all with max 2
    np.testing.assert_array_equal(out, 2.0)
    dx = ops.maxpool2d_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(dx, [[[[0, 0, 1], [2, 0, 1], [0, 0, 0]]]])   # overlapping windows add up


def test_maxpool2d_gradcheck_catches_a_gradient_spread_over_the_window(rng):
    x = distinct(rng, (1, 2, 4, 4))
    out, cache = ops.maxpool2d_forward(x)
    dout = random_array(rng, out.shape)
    spread = ops.avgpool2d_backward(dout, ops.avgpool2d_forward(x)[1])
    with pytest.raises(AssertionError, match="'x'"):
        check_gradients(lambda: ops.maxpool2d_forward(x)[0], {"x": x}, {"x": spread}, dout=dout)


@pytest.mark.parametrize("name", ["maxpool2d", "avgpool2d"])
def test_pooling_keeps_float32_and_does_not_mutate(rng, name):
    forward, backward = getattr(ops, f"{name}_forward"), getattr(ops, f"{name}_backward")
    x = random_array(rng, (2, 3, 6, 5), dtype=np.float32)
    x_copy = x.copy()
    out, cache = forward(x, 3, 2)
    dout = random_array(rng, out.shape, dtype=np.float32)
    dout_copy = dout.copy()
    dx = backward(dout, cache)
    assert out.dtype == dx.dtype == np.float32 and out.shape == (2, 3, 2, 2)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, dout_copy)


def test_pooling_drops_windows_past_the_edge_as_pytorch_does(rng):
    x = random_array(rng, (1, 1, 5, 5))
    out, cache = ops.maxpool2d_forward(x)                          # 2x2 windows over 5 rows: 2 fit
    assert out.shape == (1, 1, 2, 2)
    dx = ops.maxpool2d_backward(np.ones_like(out), cache)
    assert dx[..., 4, :].sum() == 0 and dx[..., :, 4].sum() == 0  # the last row and column get nothing


# ----------------------------------------------------------------------------- modules

def test_conv2d_module_parameters_and_he_scale(rng):
    layer = nn.Conv2d(16, 32, 3, rng=rng)
    assert layer.W.shape == (32, 16, 3, 3) and layer.b.shape == (32,)
    assert set(layer.params) == {"W", "b"} and layer.num_params() == 32 * 16 * 9 + 32
    np.testing.assert_array_equal(layer.b, 0.0)
    assert layer.W.std() == pytest.approx(np.sqrt(2 / (16 * 3 * 3)), rel=0.05)    # fan-in C*KH*KW = 144
    assert abs(layer.W.mean()) < 0.05 * np.sqrt(2 / 144)
    xav = nn.Conv2d(16, 32, (3, 2), rng=rng, init="xavier", bias=False, dtype=np.float32)
    assert xav.W.shape == (32, 16, 3, 2) and xav.W.dtype == np.float32 and set(xav.params) == {"W"}
    assert xav.W.std() == pytest.approx(np.sqrt(2 / (16 * 3 * 2 + 32)), rel=0.05)


def test_conv2d_module_reshapes_the_initializers_matrix(rng):
    """Column f of the (C*KH*KW, F) matrix from init is filter f, in (C, KH, KW) order."""
    D = 2 * 3 * 3
    M = np.arange(D * 4, dtype=np.float64).reshape(D, 4)
    layer = nn.Conv2d(2, 4, 3, rng=rng, init=lambda rng, D, M_, dtype: M.astype(dtype))
    for f in range(4):
        np.testing.assert_array_equal(layer.W[f].ravel(), M[:, f])


def test_conv2d_module_same_rng_same_weights():
    a = nn.Conv2d(2, 3, 3, rng=np.random.default_rng(5))
    b = nn.Conv2d(2, 3, 3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.W, b.W)


@pytest.mark.parametrize("make", [
    lambda rng: nn.Conv2d(2, 3, 3, rng=rng),
    lambda rng: nn.Conv2d(2, 3, (2, 3), stride=2, padding=1, rng=rng),
    lambda rng: nn.Conv2d(2, 3, 3, padding=1, rng=rng, bias=False),
    lambda rng: nn.MaxPool2d(2), lambda rng: nn.AvgPool2d(3, stride=1), lambda rng: nn.Flatten(),
    lambda rng: nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=rng), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                              nn.Linear(4 * 3 * 3, 3, rng=rng)),
], ids=["conv", "conv-stride-padding", "conv-nobias", "maxpool", "avgpool", "flatten", "cnn"])
def test_module_gradients(make, rng):
    module = make(rng)
    x = distinct(rng, (3, 2, 6, 6))                      # distinct values: no ties in MaxPool2d
    errs = check_module(module, x, rng=rng)
    assert set(errs) == {"x", *module.params}
    assert max(errs.values()) < 1e-7, errs


def _cnn(rng, dtype=np.float64, lead=()):
    return nn.Sequential(*lead, nn.Conv2d(1, 4, 3, padding=1, rng=rng, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, rng=rng, dtype=dtype), nn.ReLU(), nn.Flatten(),
                         nn.Linear(6 * 2 * 2, 5, rng=rng, dtype=dtype))


@pytest.mark.parametrize("lead", [(), (nn.AvgPool2d(1),)], ids=["conv-first", "pool-first"])
def test_cnn_backward_without_input_grad_gives_the_same_parameter_gradients(rng, lead):
    model = _cnn(rng, lead=lead)
    x = random_array(rng, (3, 1, 8, 8))
    out = model.forward(x)
    assert out.shape == (3, 5)
    dout = random_array(rng, out.shape)
    dx = model.backward(dout)
    assert dx.shape == x.shape
    full = {k: v.copy() for k, v in model.grads.items()}
    model.forward(x)
    assert model.backward(dout, input_grad=False) is None
    assert list(model.grads) == list(full)
    for k in full:
        np.testing.assert_array_equal(model.grads[k], full[k], err_msg=k)


def test_conv2d_without_input_grad_skips_dx(rng, monkeypatch):
    layer = nn.Conv2d(2, 3, 3, rng=rng)
    x = random_array(rng, (2, 2, 5, 5))
    out = layer.forward(x)
    layer.backward(np.ones_like(out))
    full = {k: v.copy() for k, v in layer.grads.items()}

    def refuse(*args):
        raise AssertionError("conv2d_backward was called although dx is not needed")

    monkeypatch.setattr(ops, "conv2d_backward", refuse)
    assert layer.backward(np.ones_like(out), input_grad=False) is None
    for k in full:
        np.testing.assert_array_equal(layer.grads[k], full[k])


def test_flatten_round_trip(rng):
    x = random_array(rng, (4, 3, 2, 5))
    layer = nn.Flatten()
    out = layer(x)
    assert out.shape == (4, 30)
    np.testing.assert_array_equal(out, x.reshape(4, -1))
    np.testing.assert_array_equal(layer.backward(out), x)
    assert layer.backward(out, input_grad=False) is None


def test_float32_cnn_stays_float32(rng):
    model = _cnn(rng, np.float32)
    x = random_array(rng, (3, 1, 8, 8), dtype=np.float32)
    out = model.forward(x)
    dx = model.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == np.float32
    assert all(v.dtype == np.float32 for v in (*model.params.values(), *model.grads.values()))


def test_repr_is_readable(rng):
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=rng), nn.MaxPool2d(2), nn.AvgPool2d((2, 1), stride=1),
                          nn.Conv2d(8, 4, (3, 2), stride=2, rng=rng, bias=False), nn.Flatten())
    assert repr(model) == ("Sequential(\n  (0): Conv2d(1 -> 8, kernel_size=3, padding=1, init=he)\n"
                           "  (1): MaxPool2d(kernel_size=2)\n  (2): AvgPool2d(kernel_size=(2, 1), stride=1)\n"
                           "  (3): Conv2d(8 -> 4, kernel_size=(3, 2), stride=2, init=he, bias=False)\n"
                           "  (4): Flatten()\n)")


@pytest.mark.slow
def test_small_cnn_learns_the_digits(rng):
    """Conv(1->8, 3x3) -> ReLU -> 2x2 max pool -> Linear(128 -> 10) with Adam: >= 95% on validation."""
    from bpkit import data
    d = data.digits()
    X, Xv = d.X_train.reshape(-1, 1, 8, 8), d.X_val.reshape(-1, 1, 8, 8)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(8 * 4 * 4, 10, rng=rng))
    hist = train.fit(model, losses.softmax_cross_entropy_loss, optim.Adam(lr=1e-2), X, d.y_train, epochs=20,
                     batch_size=32, rng=rng, validation=(Xv, d.y_val), metrics={"acc": train.accuracy},
                     progress=False)
    assert hist["val_acc"][-1] >= 0.95, hist["val_acc"]


# ----------------------------------------------------------------------------- PyTorch parity (optional)

@pytest.mark.parametrize("x_shape,W_shape,stride,padding", [
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 1),
    ((3, 2, 9, 8), (5, 2, 3, 2), 2, 0),
    ((1, 4, 6, 6), (2, 4, 5, 5), 2, 2),
])
def test_conv2d_parity_with_torch(rng, x_shape, W_shape, stride, padding):
    torch = pytest.importorskip("torch")
    x, W, b = random_array(rng, x_shape), random_array(rng, W_shape), random_array(rng, W_shape[:1])
    out, cache = ops.conv2d_forward(x, W, b, stride, padding)
    dout = random_array(rng, out.shape)
    dx, dW, db = ops.conv2d_backward(dout, cache)
    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    yt = torch.nn.functional.conv2d(xt, Wt, bt, stride=stride, padding=padding)
    yt.backward(torch.tensor(dout))
    for ours, theirs in [(out, yt.detach()), (dx, xt.grad), (dW, Wt.grad), (db, bt.grad)]:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kernel,stride", [(2, None), (3, 1), ((2, 3), (1, 2)), (3, 2)])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_pooling_parity_with_torch(rng, kernel, stride, ties):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.integers(0, 3, (2, 3, 7, 8)).astype(np.float64) if ties else random_array(rng, (2, 3, 7, 8))
    for ours_f, ours_b, theirs_f in [(ops.maxpool2d_forward, ops.maxpool2d_backward, F.max_pool2d),
                                     (ops.avgpool2d_forward, ops.avgpool2d_backward, F.avg_pool2d)]:
        out, cache = ours_f(x, kernel, stride)
        dout = random_array(rng, out.shape)
        dx = ours_b(dout, cache)
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs_f(xt, kernel, stride)
        yt.backward(torch.tensor(dout))
        np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- the fast paths

@pytest.mark.parametrize("shape, K, s", [((2, 3, 6, 7), (3, 3), 1), ((1, 2, 9, 8), (3, 2), 2), ((3, 1, 7, 7), (5, 5), 3),
                                         ((2, 2, 4, 4), (1, 1), 1)])
def test_im2col_equals_the_window_view_and_col2im_is_its_adjoint(rng, shape, K, s):
    """``conv2d_forward`` builds ``cols`` with one slice copy per kernel offset; the chapter describes it as
    the windows of ``sliding_window_view`` laid out as columns. The two must be the same matrix, and
    ``_col2im`` (the backward pass) must be its transpose: <im2col(x), y> == <x, col2im(y)>."""
    from bpkit.ops.conv import _col2im, _im2col, _windows
    x = random_array(rng, shape)
    C, (KH, KW) = shape[1], K
    win = _windows(x, KH, KW, s, s)
    ref = win.transpose(1, 4, 5, 0, 2, 3).reshape(C * KH * KW, -1)
    cols = _im2col(x, KH, KW, s)
    np.testing.assert_array_equal(cols, ref)
    y = random_array(rng, cols.shape)
    H_out, W_out = win.shape[2:4]
    per_image = y.reshape(C, KH, KW, shape[0], H_out, W_out).transpose(3, 0, 1, 2, 4, 5)
    back = _col2im(per_image, s, np.zeros(shape))
    assert back.shape == shape
    np.testing.assert_allclose(np.sum(cols * y), np.sum(x * back), rtol=1e-12)


@pytest.mark.parametrize("N, block", [(6, 4), (3, 1), (2, 8)])
@pytest.mark.parametrize("s, p", [(1, 1), (2, 0), (2, 2)])
def test_conv2d_backward_in_blocks_equals_one_scatter_over_the_windows(rng, monkeypatch, N, block, s, p):
    """``conv2d_backward`` works ``_BLOCK`` images at a time (col2im for strides above 1, the rows of
    ``_conv_rows`` for stride 1); the clear version forms all of ``W_mat.T @ G`` and adds each
    window back with ``np.add.at``. The last block may be shorter than the others (N = 6, blocks of 4)."""
    from bpkit.ops import _conv_rows, conv
    monkeypatch.setattr(conv, "_BLOCK", block)
    monkeypatch.setattr(_conv_rows, "_BLOCK", block)
    monkeypatch.setattr(conv, "_ROWS_MIN_CHANNELS", 1)             # the rows route even for 2 channels
    x, W, b = random_array(rng, (N, 2, 7, 6)), random_array(rng, (3, 2, 3, 2)), random_array(rng, (3,))
    out, cache = ops.conv2d_forward(x, W, b, stride=s, padding=p)
    dout = random_array(rng, out.shape)
    dx, dW, db = ops.conv2d_backward(dout, cache)
    H_out, W_out = out.shape[2:]
    G = dout.transpose(1, 0, 2, 3).reshape(3, -1)                     # (F, N H_out W_out)
    dwin = (W.reshape(3, -1).T @ G).reshape(2, 3, 2, N, H_out, W_out)   # (C, KH, KW, N, H_out, W_out)
    dxp = np.zeros((N, 2, 7 + 2 * p, 6 + 2 * p))
    for k in range(3):
        for l in range(2):
            for i in range(H_out):
                for j in range(W_out):
                    np.add.at(dxp, (slice(None), slice(None), i * s + k, j * s + l),
                              dwin[:, k, l, :, i, j].T)
    np.testing.assert_allclose(dx, dxp[:, :, p:p + 7, p:p + 6], rtol=1e-12, atol=1e-12)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = conv._windows(xp, 3, 2, s, s).transpose(1, 4, 5, 0, 2, 3).reshape(2 * 3 * 2, -1)
    np.testing.assert_allclose(dW, (G @ cols.T).reshape(W.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, G.sum(axis=1), rtol=1e-12)
    assert dx.flags.c_contiguous and dx.shape == x.shape


@pytest.mark.parametrize("K, S", [(2, 2), (3, 3), (3, 2), (2, 1), ((2, 3), (1, 2)), (2, 3)])
def test_maxpool_offset_loop_equals_an_argmax_over_each_window(rng, K, S):
    """The running maximum over the kernel offsets must pick each window's first maximum, with ties."""
    from bpkit.ops.conv import _windows
    x = np.round(random_array(rng, (2, 3, 9, 8)), 0)                   # few distinct values: many ties
    out, cache = ops.maxpool2d_forward(x, K, S)
    KH, KW = (K, K) if isinstance(K, int) else K
    SH, SW = (S, S) if isinstance(S, int) else S
    win = _windows(x, KH, KW, SH, SW).reshape(out.shape + (KH * KW,))
    np.testing.assert_array_equal(out, win.max(axis=-1))
    np.testing.assert_array_equal(cache[1], win.argmax(axis=-1))
    dout = random_array(rng, out.shape)
    dx = ops.maxpool2d_backward(dout, cache)
    ref = np.zeros_like(x)
    k = win.argmax(axis=-1)
    n, c, i, j = np.indices(out.shape)
    np.add.at(ref, (n, c, i * SH + k // KW, j * SW + k % KW), dout)
    np.testing.assert_allclose(dx, ref, rtol=1e-14, atol=1e-15)


CONV_SHAPES = [((5, 3, 7, 6), (4, 3, 3, 3), 1), ((2, 2, 5, 8), (3, 2, 2, 3), 0), ((3, 1, 4, 4), (2, 1, 1, 1), 2),
               ((1, 4, 6, 5), (2, 4, 5, 2), 2), ((4, 2, 3, 9), (1, 2, 3, 1), 0)]


@pytest.mark.parametrize("x_shape, W_shape, p", CONV_SHAPES)
@pytest.mark.parametrize("block", [16, 2])
def test_stride_one_rows_route_equals_im2col(rng, monkeypatch, x_shape, W_shape, p, block):
    """With stride 1, ``conv2d_forward`` and ``conv2d_backward`` take the rows route of ``_conv_rows``
    (one product per kernel offset on shifted rows, in blocks of images); the chapter shows the im2col
    route. Both must give the same ``out``, ``dx``, ``dW`` and ``db``, for any kernel shape, padding and
    block size, including a short last block, and so must ``Conv2d.backward`` without ``dx``."""
    from bpkit.ops import _conv_rows, conv
    from bpkit.ops.conv import _conv2d_param_grads, _im2col_conv, _im2col_conv_backward
    monkeypatch.setattr(_conv_rows, "_BLOCK", block)
    monkeypatch.setattr(conv, "_ROWS_MIN_CHANNELS", 1)             # small shapes, the rows route all the same
    x, W, b = random_array(rng, x_shape), random_array(rng, W_shape), random_array(rng, W_shape[:1])
    out, cache = ops.conv2d_forward(x, W, b, padding=p)
    assert cache[2] is x, "stride 1 keeps x, not the windows"
    ref_out, cols = _im2col_conv(x, W, b, 1, p)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    dout = random_array(rng, out.shape)
    got = ops.conv2d_backward(dout, cache)
    ref = _im2col_conv_backward(dout, (x.shape, W, cols, 1, p))
    for name, g, r in zip(("dx", "dW", "db"), got, ref):
        assert g.shape == r.shape and g.dtype == r.dtype and g.flags.c_contiguous, name
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12, err_msg=name)
    for name, g, r in zip(("dW", "db"), _conv2d_param_grads(dout, cache), ref[1:]):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12, err_msg=name)


def test_stride_one_rows_route_does_not_read_past_the_edge(rng, monkeypatch):
    """Each output row of the rows route also computes ``KW - 1`` positions that straddle two image
    rows, and the last kernel offset reads into a spare row; none of it may reach the result. A huge
    value in the image's last column and row would show up in any output that read past the edge."""
    from bpkit.ops import conv
    monkeypatch.setattr(conv, "_ROWS_MIN_CHANNELS", 1)
    x = np.zeros((1, 1, 4, 5))
    x[0, 0, :, -1] = 1e300
    x[0, 0, -1, :] = 1e300
    W = np.ones((1, 1, 2, 2))
    out, cache = ops.conv2d_forward(x, W, np.zeros(1))
    np.testing.assert_array_equal(out[0, 0, :-1, :-1], 0.0)
    dx, dW, db = ops.conv2d_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(dx[0, 0], [[1, 2, 2, 2, 1], [2, 4, 4, 4, 2], [2, 4, 4, 4, 2], [1, 2, 2, 2, 1]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_gives_the_same_bits_on_one_thread_and_on_two(rng, monkeypatch, dtype):
    """The rows route splits the batch into blocks that run on as many threads as NumPy's BLAS uses.
    The blocks and the order in which their ``dW`` are summed do not depend on the threads, so the
    results must be identical bit for bit, and BLAS must get its threads back afterwards."""
    pytest.importorskip("threadpoolctl")
    from bpkit.ops import _conv_rows, _threads, conv
    monkeypatch.setattr(_conv_rows, "_BLOCK", 3)
    monkeypatch.setattr(conv, "_ROWS_MIN_CHANNELS", 1)
    x, W, b = (random_array(rng, s).astype(dtype) for s in ((10, 3, 9, 8), (4, 3, 3, 3), (4,)))
    results = {}
    for n in (1, 2):
        monkeypatch.setattr(_threads, "blas_threads", lambda n=n: n)
        out, cache = ops.conv2d_forward(x, W, b, padding=1)
        results[n] = (out,) + ops.conv2d_backward(np.cos(out), cache)
    for name, one, two in zip(("out", "dx", "dW", "db"), results[1], results[2]):
        np.testing.assert_array_equal(one, two, err_msg=name)
    monkeypatch.undo()
    before = _threads.blas_threads()
    seen = _threads.map_blocks(lambda i: (i, _threads.blas_threads()), range(4)) if before > 1 else None
    assert _threads.blas_threads() == before
    if seen is not None:
        assert [i for i, _ in seen] == [0, 1, 2, 3] and all(t == 1 for _, t in seen), seen


def test_map_blocks_keeps_the_order_and_runs_serially_with_one_thread(monkeypatch):
    from bpkit.ops import _threads
    monkeypatch.setattr(_threads, "blas_threads", lambda: 1)
    import threading
    main = threading.get_ident()
    assert _threads.map_blocks(lambda i: (i * i, threading.get_ident() == main), range(5)) == \
        [(i * i, True) for i in range(5)]


@pytest.mark.parametrize("shape, K, S", [((2, 3, 8, 6), 2, 2), ((1, 2, 9, 9), 3, 3), ((2, 1, 7, 6), 2, 2),
                                         ((1, 2, 6, 6), 2, 3)])
def test_maxpool2d_backward_writes_every_input_when_the_windows_tile_the_image(rng, shape, K, S):
    """When the windows tile the image exactly (stride = kernel, sizes divisible), ``maxpool2d_backward``
    starts from an uninitialised array and writes each input once; otherwise (an edge left over,
    gaps between windows) it starts from zeros. Memory full of NaN just freed must not leak through."""
    x = random_array(rng, shape)
    out, cache = ops.maxpool2d_forward(x, K, S)
    dout = random_array(rng, out.shape)
    for _ in range(3):
        junk = np.full(shape, np.nan)
        del junk
        dx = ops.maxpool2d_backward(dout, cache)
        assert np.isfinite(dx).all()
    want = np.zeros(shape)
    for n, c, i, j in np.ndindex(out.shape):
        win = x[n, c, i * S:i * S + K, j * S:j * S + K]
        k, l = np.unravel_index(np.argmax(win), win.shape)
        want[n, c, i * S + k, j * S + l] += dout[n, c, i, j]
    np.testing.assert_array_equal(dx, want)


@pytest.mark.parametrize("C, stride, rows", [(8, 1, True), (16, 1, True), (7, 1, False), (1, 1, False),
                                             (16, 2, False)])
def test_conv2d_takes_the_rows_route_for_stride_one_and_enough_channels(rng, C, stride, rows):
    """With few channels each of the rows route's products has an inner size of C, and im2col's one product
    (inner size C KH KW) is faster; the route is chosen from the stride and the channels, and the cache
    says which: the input itself, or the windows."""
    x, W = random_array(rng, (2, C, 6, 6)), random_array(rng, (3, C, 3, 3))
    _, cache = ops.conv2d_forward(x, W, np.zeros(3), stride=stride, padding=1)
    assert (cache[2] is x) == rows


@given(case=conv_cases(), seed=seeds)
def test_conv2d_rows_route_gradcheck(case, seed):
    """The rows route against central differences in float64, for every shape the hypothesis strategy draws
    (with stride 1, and the route forced for their few channels)."""
    from bpkit.ops import conv
    x_shape, W_shape, _, padding = case
    rng = np.random.default_rng(seed)
    x, W, b = random_array(rng, x_shape), random_array(rng, W_shape), random_array(rng, W_shape[:1])
    saved, conv._ROWS_MIN_CHANNELS = conv._ROWS_MIN_CHANNELS, 1
    try:
        out, cache = ops.conv2d_forward(x, W, b, padding=padding)
        assert cache[2] is x
        dout = random_array(rng, out.shape)
        dx, dW, db = ops.conv2d_backward(dout, cache)
        errs = check_gradients(lambda: ops.conv2d_forward(x, W, b, padding=padding)[0], {"x": x, "W": W, "b": b},
                               {"x": dx, "W": dW, "b": db}, dout=dout)
        assert max(errs.values()) < TOL, errs
    finally:
        conv._ROWS_MIN_CHANNELS = saved
