"""The autoencoder explorer of Chapter 9, driven through its Python API as notebooks and tests do."""

import time

import numpy as np
import pytest

from bpkit import data
from bpkit.widgets.autoencoder import (CODE_SIZES, NOISE_LEVELS, AutoencoderExplorer, build_autoencoder,
                                       denoising_errors, mask_noise, pca_error, reconstruction_error,
                                       trained_autoencoder)


@pytest.fixture(scope="module")
def explorer():
    start = time.perf_counter()
    e = AutoencoderExplorer(kind="nonlinear", H=8, noise=0.0, digit=0)
    e.first_update_seconds = time.perf_counter() - start
    return e


def test_first_update_is_quick_and_later_ones_are_instant(explorer):
    assert explorer.first_update_seconds < 5          # ~1-2 s: one model is trained
    start = time.perf_counter()
    explorer.set(noise=0.3, digit=5)                  # the same model, cached
    assert time.perf_counter() - start < 1.0
    explorer.set(noise=0.0, digit=0)


def test_values_and_summary_are_deterministic(explorer):
    assert explorer.values() == {"kind": "nonlinear", "H": 8, "noise": 0.0, "digit": 0}
    s = explorer.summary()
    assert s == AutoencoderExplorer(kind="nonlinear", H=8, noise=0.0, digit=0).summary()
    assert "code size H = 8" in s and "PCA with 8 components" in s
    assert explorer.alt_text().startswith("An autoencoder reconstructing 8x8 digits.")
    assert explorer.png[:8] == b"\x89PNG\r\n\x1a\n"


def test_pca_error_is_the_svd_reconstruction():
    d = data.digits()
    mu = d.X_train.mean(axis=0)
    _, S, Vt = np.linalg.svd(d.X_train - mu, full_matrices=False)
    for H in CODE_SIZES:
        V = Vt[:H].T
        assert pca_error(H) == pytest.approx(np.mean(((d.X_test - mu) @ V @ V.T + mu - d.X_test) ** 2), rel=1e-12)
    errs = [pca_error(H) for H in CODE_SIZES]
    assert errs == sorted(errs, reverse=True)


def test_linear_autoencoder_cannot_beat_pca_on_its_training_data():
    d = data.digits()
    mu = d.X_train.mean(axis=0)
    _, S, _ = np.linalg.svd(d.X_train - mu, full_matrices=False)
    N, D = d.X_train.shape
    for H in (2, 8):
        m = trained_autoencoder("linear", H)
        assert np.mean((m.forward(d.X_train) - d.X_train) ** 2) >= np.sum(S[H:] ** 2) / (N * D)


def test_nonlinear_beats_pca_and_errors_fall_with_the_code_size():
    errs = [reconstruction_error("nonlinear", H) for H in CODE_SIZES]
    assert errs == sorted(errs, reverse=True)
    assert all(e < pca_error(H) for e, H in zip(errs, CODE_SIZES))


def test_denoising_errors_grow_with_noise_and_zero_noise_is_clean():
    out0, in0 = denoising_errors("nonlinear", 16, 0.0)
    assert in0 == 0 and out0 == pytest.approx(reconstruction_error("nonlinear", 16))
    outs = [denoising_errors("nonlinear", 16, p)[0] for p in NOISE_LEVELS]
    assert outs == sorted(outs)
    for p in NOISE_LEVELS[1:]:
        out, inp = denoising_errors("nonlinear", 16, p)
        assert out < inp                                       # the model repairs part of the damage


def test_mask_noise_masks_with_probability_p_and_keeps_the_input():
    X = np.ones((200, 64))
    Xn = mask_noise(X, 0.3, np.random.default_rng(0))
    assert np.all(X == 1) and abs(np.mean(Xn == 0) - 0.3) < 0.01
    u = np.random.default_rng(0).random(X.shape)
    np.testing.assert_array_equal(Xn == 0, u < 0.3)


def test_build_autoencoder_shapes():
    for kind, n in (("linear", 2), ("nonlinear", 6)):
        m = build_autoencoder(kind, 4, np.random.default_rng(0))
        assert len(m) == n and m.forward(np.zeros((3, 64))).shape == (3, 64)


@pytest.mark.parametrize("bad", [dict(kind="deep"), dict(H=3), dict(noise=0.25), dict(digit=10_000), dict(H=True)])
def test_bad_values_are_refused_with_the_range(bad):
    with pytest.raises(ValueError, match="AutoencoderExplorer"):
        AutoencoderExplorer(**bad)


def test_set_refuses_unknown_controls(explorer):
    with pytest.raises(ValueError, match="unknown control"):
        explorer.set(depth=3)
