"""bpkit.init: the variance rules (LeCun, Xavier, He), ``scaled``, and clear errors."""

import numpy as np
import pytest

from bpkit import init, nn

D, M = 400, 200


@pytest.mark.parametrize("fn, var", [
    (init.he_normal, 2 / D), (init.he_uniform, 2 / D), (init.xavier_normal, 2 / (D + M)),
    (init.xavier_uniform, 2 / (D + M)), (init.lecun_normal, 1 / D)])
def test_variance_rules(fn, var):
    W = fn(np.random.default_rng(0), D, M)
    assert W.shape == (D, M)
    assert abs(W.var() / var - 1) < 0.02         # 80,000 draws: the sample variance is within ~1%
    assert abs(W.mean()) < 0.05 * np.sqrt(var)


def test_he_and_xavier_are_not_swapped_or_missing_a_sqrt():
    rng = np.random.default_rng(1)
    assert abs(init.he_normal(rng, D, M).std() - np.sqrt(2 / D)) < 0.01 * np.sqrt(2 / D)
    assert abs(init.xavier_normal(rng, D, M).std() - np.sqrt(2 / (D + M))) < 0.01 * np.sqrt(2 / (D + M))
    assert abs(init.he_normal(rng, D, M).std() - np.sqrt(2 / M)) > 0.1 * np.sqrt(2 / D)   # uses fan_in, not fan_out


@pytest.mark.parametrize("gain", [0.5, np.sqrt(2), 3])
def test_scaled_multiplies_the_std(gain):
    base = init.lecun_normal(np.random.default_rng(2), D, M)
    W = init.scaled("lecun", gain)(np.random.default_rng(2), D, M)
    np.testing.assert_allclose(W, gain * base, rtol=1e-15)
    assert init.scaled("lecun", gain).__name__ == f"lecun*{float(gain):g}"


def test_scaled_lecun_sqrt2_is_he_in_distribution_and_works_in_linear():
    W = init.scaled(init.lecun_normal, np.sqrt(2))(np.random.default_rng(3), D, M)
    assert abs(W.var() / (2 / D) - 1) < 0.02
    layer = nn.Linear(5, 3, rng=np.random.default_rng(0), init=init.scaled("he", 2.0), dtype=np.float32)
    assert layer.W.dtype == np.float32 and "he*2" in repr(layer)


def test_he_keeps_relu_activations_stable_and_lecun_does_not():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(256, 128))
    stds = {}
    for name in ["he", "lecun"]:
        a = x
        for _ in range(10):
            a = np.maximum(a @ init.get_initializer(name)(rng, 128, 128), 0)
        stds[name] = a.std()
    assert 0.4 < stds["he"] < 2.0
    assert stds["lecun"] < 0.1                    # halved variance per layer: about 2**-5 in std


@pytest.mark.parametrize("gain", [0, -1.0, float("nan"), "2", True])
def test_scaled_rejects_a_bad_gain(gain):
    with pytest.raises(ValueError, match="scaled: 'gain' must be a finite number > 0"):
        init.scaled("he", gain)


def test_scaled_rejects_an_unknown_init():
    with pytest.raises(ValueError, match="scaled: unknown init 'kaiming'"):
        init.scaled("kaiming", 1.0)


def test_initializers_need_an_rng_and_positive_sizes():
    with pytest.raises(TypeError, match="he_normal: 'rng' must be a np.random.Generator"):
        init.he_normal(0, 3, 2)
    with pytest.raises(ValueError, match="'fan_in' must be a positive int"):
        init.xavier_normal(np.random.default_rng(0), 0, 2)
