"""bpkit.optim: update rules against hand-computed values of the published formulas,
the in-place contract, per-name state, float32, and PyTorch parity when torch is installed."""

import math

import numpy as np
import pytest

from bpkit import optim

# One scalar parameter, three steps with these gradients; expected values below are
# computed by hand from the published rules, written out with plain floats.
GRADS = [0.5, -1.0, 2.0]
THETA0 = 1.0


def run(opt, grads=GRADS, theta0=THETA0):
    p = {"w": np.array([theta0])}
    out = []
    for g in grads:
        opt.step(p, {"w": np.array([g])})
        out.append(float(p["w"][0]))
    return out


def test_sgd_plain():
    assert run(optim.SGD(lr=0.1)) == pytest.approx([0.95, 1.05, 0.85])


def test_sgd_momentum_heavy_ball():
    # v1 = g1 = 0.5; v2 = 0.9*0.5 - 1 = -0.55; v3 = 0.9*-0.55 + 2 = 1.505
    assert run(optim.SGD(lr=0.1, momentum=0.9)) == pytest.approx([0.95, 1.005, 0.8545])


def test_sgd_nesterov():
    # step uses g + mu*v: 0.5 + 0.45 = 0.95; -1 + 0.9*-0.55 = -1.495; 2 + 0.9*1.505 = 3.3545
    assert run(optim.SGD(lr=0.1, momentum=0.9, nesterov=True)) == pytest.approx([0.905, 1.0545, 0.71905])


def test_sgd_weight_decay_is_added_to_the_gradient():
    # g1' = 0.5 + 0.1*1.0 = 0.6 -> 0.94; g2' = -1 + 0.094 = -0.906 -> 1.0306
    assert run(optim.SGD(lr=0.1, weight_decay=0.1), GRADS[:2]) == pytest.approx([0.94, 1.0306])


def test_sgdw_decays_outside_the_gradient():
    # theta * (1 - 0.1*0.1) = 0.99, then the step 0.1*0.5 -> 0.94; 0.94*0.99 = 0.9306, + 0.1 -> 1.0306
    # (without momentum the decoupled and the coupled decay take the same steps)
    assert run(optim.SGDW(lr=0.1, weight_decay=0.1), GRADS[:2]) == pytest.approx([0.94, 1.0306])
    assert optim.SGDW().weight_decay == 0.01                            # AdamW's default


def test_sgdw_with_momentum_keeps_the_decay_out_of_the_velocity():
    # SGDW: theta1 = 0.99 - 0.1*0.5 = 0.94 (v1 = 0.5); theta2 = 0.94*0.99 - 0.1*(0.45 - 1) = 0.9856
    opt = optim.SGDW(lr=0.1, momentum=0.9, weight_decay=0.1)
    assert run(opt, GRADS[:2]) == pytest.approx([0.94, 0.9856])
    assert opt.state["w"]["v"] == pytest.approx([-0.55])                # the loss's gradients only
    # coupled L2 with momentum: v1 = 0.6 -> 0.94; v2 = 0.54 - 0.906 = -0.366 -> 0.9766
    coupled = optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.1)
    assert run(coupled, GRADS[:2]) == pytest.approx([0.94, 0.9766])
    assert coupled.state["w"]["v"] == pytest.approx([-0.366])


def test_sgdw_differs_from_l2_only_with_momentum():
    rng = np.random.default_rng(0)
    w0, grads = rng.normal(size=(3, 4)), [rng.normal(size=(3, 4)) for _ in range(20)]

    def trajectory(opt):
        w, out = w0.copy(), []
        for g in grads:
            opt.step({"w": w}, {"w": g})
            out.append(w.copy())
        return np.array(out)

    plain = dict(lr=0.1, weight_decay=0.05)
    np.testing.assert_allclose(trajectory(optim.SGDW(**plain)), trajectory(optim.SGD(**plain)), rtol=1e-12)
    heavy = dict(lr=0.1, momentum=0.9, weight_decay=0.05)
    gap = np.abs(trajectory(optim.SGDW(**heavy)) - trajectory(optim.SGD(**heavy))).max()
    assert gap > 0.05
    # SGDW with momentum equals: shrink by hand, then SGD with momentum on the raw gradients
    w, opt = w0.copy(), optim.SGD(lr=0.1, momentum=0.9)
    for g in grads:
        w *= 1 - 0.1 * 0.05
        opt.step({"w": w}, {"w": g})
    np.testing.assert_allclose(trajectory(optim.SGDW(**heavy))[-1], w, rtol=1e-12)


def test_rmsprop():
    lr, a, eps = 0.01, 0.99, 1e-8
    s, th, expected = 0.0, THETA0, []
    for g in GRADS:
        s = a * s + (1 - a) * g * g
        th -= lr * g / (math.sqrt(s) + eps)
        expected.append(th)
    # first step by hand: s = 0.01 * 0.25 = 0.0025, sqrt = 0.05, step = 0.01 * 0.5 / 0.05 = 0.1
    assert expected[0] == pytest.approx(0.9)
    assert run(optim.RMSprop(lr=lr)) == pytest.approx(expected, rel=1e-12)


def test_adam_bias_correction_makes_the_first_step_lr_sized():
    """With bias correction, m_hat = g and v_hat = g^2 at t = 1, so the first step is lr * sign(g)."""
    out = run(optim.Adam(lr=0.1), [0.5])
    assert out[0] == pytest.approx(1.0 - 0.1 * 0.5 / (0.5 + 1e-8))


def test_adam_three_steps_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    m = v = 0.0
    th, expected = THETA0, []
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        th -= lr * m_hat / (math.sqrt(v_hat) + eps)
        expected.append(th)
    assert run(optim.Adam(lr=lr)) == pytest.approx(expected, rel=1e-12)


def test_adam_l2_vs_adamw_decoupled_decay():
    lr, wd = 0.1, 0.1
    # Adam + L2: g' = g + wd * theta = 0.6; the first step is still lr * sign(g') -> 0.9
    assert run(optim.Adam(lr=lr, weight_decay=wd), [0.5]) == pytest.approx([0.9])
    # AdamW: theta * (1 - lr*wd) = 0.99, then the Adam step 0.1 -> 0.89
    assert run(optim.AdamW(lr=lr, weight_decay=wd), [0.5]) == pytest.approx([0.89])
    assert optim.AdamW().weight_decay == 0.01                           # PyTorch's default


def test_defaults_match_pytorch():
    assert optim.SGD().lr == 1e-3
    assert optim.RMSprop().lr == 1e-2 and optim.RMSprop().alpha == 0.99 and optim.RMSprop().eps == 1e-8
    assert optim.Adam().lr == 1e-3 and optim.Adam().betas == (0.9, 0.999) and optim.Adam().eps == 1e-8


@pytest.mark.parametrize("make", [lambda: optim.SGD(lr=0.1, momentum=0.9), lambda: optim.RMSprop(),
                                  lambda: optim.Adam(), lambda: optim.AdamW(),
                                  lambda: optim.SGDW(lr=0.1, momentum=0.9)])
def test_contract_in_place_state_per_name_and_dtype(make):
    opt = make()
    W = np.ones((2, 3), dtype=np.float32)
    b = np.zeros(3, dtype=np.float32)
    params = {"W": W, "b": b}
    opt.step(params, {"W": np.full((2, 3), 0.5, np.float32), "b": np.ones(3, np.float32)})
    assert params["W"] is W and params["b"] is b                        # updated in place
    assert W.dtype == np.float32 and b.dtype == np.float32
    assert not np.allclose(W, 1.0) and not np.allclose(b, 0.0)
    assert set(opt.state) == {"W", "b"} and opt.state["W"]["t"] == 1
    for st in opt.state.values():
        for v in st.values():
            if isinstance(v, np.ndarray):
                assert v.dtype == np.float32
    opt.reset()
    assert opt.state == {}


def test_step_does_not_modify_grads():
    g = {"w": np.array([0.5, -1.0])}
    copy = g["w"].copy()
    optim.Adam(weight_decay=0.1).step({"w": np.ones(2)}, g)
    optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.1).step({"w": np.ones(2)}, g)
    np.testing.assert_array_equal(g["w"], copy)


def test_clip_grad_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0, 4.0]])}   # global norm 5
    total = optim.clip_grad_norm(grads, max_norm=1.0)
    assert total == pytest.approx(5.0)
    norm = math.sqrt(sum(float(np.sum(g ** 2)) for g in grads.values()))
    assert norm == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0], rtol=1e-5)      # direction kept
    small = {"a": np.array([0.3, 0.4])}
    assert optim.clip_grad_norm(small, max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(small["a"], [0.3, 0.4])               # below the bound: untouched


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, momentum=0.5, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)), ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)), ("AdamW", dict(lr=0.01, weight_decay=0.3)),
])
def test_same_trajectory_as_pytorch(name, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    theta0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(5)]
    ours = getattr(optim, name)(**kwargs)
    p = {"w": theta0.copy()}
    tp = torch.tensor(theta0.copy(), requires_grad=True)
    theirs = getattr(torch.optim, name)([tp], **kwargs)
    for g in grads:
        ours.step(p, {"w": g})
        tp.grad = torch.tensor(g)
        theirs.step()
        np.testing.assert_allclose(p["w"], tp.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_clip_grad_norm_same_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    for scale in (0.1, 10.0):                                       # below and above the bound
        arrays = [rng.standard_normal((3, 2)) * scale, rng.standard_normal(4) * scale]
        ours = {str(i): a.copy() for i, a in enumerate(arrays)}
        total = optim.clip_grad_norm(ours, max_norm=1.5)
        ts = [torch.zeros(a.shape, dtype=torch.float64, requires_grad=True) for a in arrays]
        for t, a in zip(ts, arrays):
            t.grad = torch.tensor(a.copy())
        their_total = torch.nn.utils.clip_grad_norm_(ts, max_norm=1.5)
        assert total == pytest.approx(float(their_total), rel=1e-12)
        for i, t in enumerate(ts):
            np.testing.assert_allclose(ours[str(i)], t.grad.numpy(), rtol=1e-12)


def test_momentum_keeps_lr_outside_the_velocity_like_pytorch_when_lr_changes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    theta0 = rng.standard_normal(3)
    ours, p = optim.SGD(lr=0.1, momentum=0.9), {"w": theta0.copy()}
    tp = torch.tensor(theta0.copy(), requires_grad=True)
    theirs = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    for k, lr in enumerate([0.1, 0.1, 0.01, 0.5]):                  # a schedule changes lr between steps
        ours.lr = lr
        for group in theirs.param_groups:
            group["lr"] = lr
        g = rng.standard_normal(3)
        ours.step(p, {"w": g})
        tp.grad = torch.tensor(g)
        theirs.step()
        np.testing.assert_allclose(p["w"], tp.detach().numpy(), rtol=1e-12, err_msg=f"step {k}")
    # the other convention (lr inside the velocity) would give different numbers after the change
    v, q = np.zeros(3), theta0.copy()
    rng = np.random.default_rng(5)
    rng.standard_normal(3)
    for lr in [0.1, 0.1, 0.01, 0.5]:
        v = 0.9 * v - lr * rng.standard_normal(3)
        q = q + v
    assert not np.allclose(q, p["w"])
