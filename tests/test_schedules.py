"""bpkit.schedules: hand-computed values of the formulas, the contract with the optimizer,
bad input, and parity with torch.optim.lr_scheduler when torch is installed."""

import math

import numpy as np
import pytest

from bpkit import schedules
from bpkit.optim import SGD, Adam


def lrs(sched, n):
    """The optimizer's lr before each of n steps, calling sched.step() after each."""
    out = []
    for _ in range(n):
        out.append(sched.optimizer.lr)
        sched.step()
    return out


def test_step_lr_by_hand():
    s = schedules.StepLR(SGD(lr=1.0), step_size=2, gamma=0.5)
    assert lrs(s, 7) == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert s.last_epoch == 7 and s.lr == s.optimizer.lr == 0.125


def test_cosine_lr_by_hand():
    s = schedules.CosineLR(SGD(lr=0.1), T_max=4, eta_min=0.02)
    got = lrs(s, 5)
    # eta_min + (0.1 - 0.02) (1 + cos(pi t / 4)) / 2 for t = 0..4
    expected = [0.1, 0.02 + 0.04 * (1 + math.sqrt(0.5)), 0.06, 0.02 + 0.04 * (1 - math.sqrt(0.5)), 0.02]
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_warmup_cosine_by_hand():
    f = [schedules.warmup_cosine(t, 4, 8, 0.1) for t in range(11)]
    expected = [0, 0.25, 0.5, 0.75, 1.0, 0.1 + 0.9 * (1 + math.sqrt(0.5)) / 2, 0.55,
                0.1 + 0.9 * (1 - math.sqrt(0.5)) / 2, 0.1, 0.1, 0.1]
    np.testing.assert_allclose(f, expected, rtol=1e-14, atol=1e-15)
    s = schedules.WarmupCosineLR(Adam(lr=2.0), warmup=4, total=8, min_factor=0.1)
    np.testing.assert_allclose(lrs(s, 11), 2 * np.array(expected), rtol=1e-14, atol=1e-15)


def test_lambda_lr_and_values_do_not_touch_the_optimizer():
    opt = SGD(lr=0.5)
    s = schedules.LambdaLR(opt, lambda t: 0.9 ** t)
    assert s.values(3) == [0.5, 0.5 * 0.9, 0.5 * 0.81]
    assert opt.lr == 0.5 and s.last_epoch == 0
    s.step()
    assert opt.lr == pytest.approx(0.45)


def test_schedule_drives_the_optimizer_step():
    opt = SGD(lr=1.0)
    s = schedules.StepLR(opt, step_size=1, gamma=0.5)
    p = {"w": np.array([0.0])}
    for _ in range(3):
        opt.step(p, {"w": np.array([1.0])})
        s.step()
    assert p["w"][0] == pytest.approx(-(1 + 0.5 + 0.25))


@pytest.mark.parametrize("make, err, words", [
    (lambda: schedules.StepLR(SGD(lr=0.1), step_size=0), ValueError, "'step_size' must be >= 1"),
    (lambda: schedules.StepLR(SGD(lr=0.1), step_size=2.5), TypeError, "must be an int"),
    (lambda: schedules.StepLR(SGD, step_size=2), TypeError, "optimizer instance"),
    (lambda: schedules.CosineLR(SGD(lr=0.1), T_max=10, eta_min=-1), ValueError, "'eta_min'"),
    (lambda: schedules.LambdaLR(SGD(lr=0.1), 0.5), TypeError, "'fn' must be a function"),
    (lambda: schedules.WarmupCosineLR(SGD(lr=0.1), warmup=10, total=10), ValueError, "must exceed 'warmup'"),
    (lambda: schedules.warmup_cosine(1, 2, 10, min_factor=2.0), ValueError, "'min_factor' must lie in [0, 1]"),
])
def test_bad_input_is_named(make, err, words):
    with pytest.raises(err, match=None) as info:
        make()
    assert words in str(info.value)


def _torch_lrs(torch, make_sched, n, lr):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_sched(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_step_lr_same_as_pytorch():
    torch = pytest.importorskip("torch")
    theirs = _torch_lrs(torch, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.3), 12, 0.2)
    np.testing.assert_allclose(lrs(schedules.StepLR(SGD(lr=0.2), 3, 0.3), 12), theirs, rtol=1e-12)


def test_cosine_lr_same_as_pytorch():
    torch = pytest.importorskip("torch")
    theirs = _torch_lrs(torch, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
                        21, 0.1)
    np.testing.assert_allclose(lrs(schedules.CosineLR(SGD(lr=0.1), 10, 0.001), 21), theirs, rtol=1e-9)


def test_warmup_cosine_same_as_pytorch_lambda_lr():
    torch = pytest.importorskip("torch")
    fn = lambda t: schedules.warmup_cosine(t, 5, 20, 0.05)  # noqa: E731
    theirs = _torch_lrs(torch, lambda o: torch.optim.lr_scheduler.LambdaLR(o, fn), 25, 0.3)
    np.testing.assert_allclose(lrs(schedules.WarmupCosineLR(SGD(lr=0.3), 5, 20, 0.05), 25), theirs, rtol=1e-12)
    # the warm-up part is also torch's LinearLR from 1/5 ... (t / 5 from t = 1 on)
    lin = _torch_lrs(torch, lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=4), 5, 0.3)
    np.testing.assert_allclose(lrs(schedules.WarmupCosineLR(SGD(lr=0.3), 5, 20), 6)[1:], lin, rtol=1e-12)
