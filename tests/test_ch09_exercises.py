"""Chapter 9 exercises: the reference solutions pass, and a planted mistake per diagnosis gets its feedback."""

import numpy as np
import pytest

from _notebooks import ROOT, _cells, _gid, _src, assert_every_exercise_planted, assert_planted_feedback, run_exercise

NB = "09_autoencoders.ipynb"


def test_the_reference_solutions_pass_in_process():
    cells = _cells(ROOT / "solutions" / NB)
    solutions = [c for c in cells if c["metadata"].get("nbgrader", {}).get("solution")]
    assert len(solutions) == 7
    for c in solutions:
        result = run_exercise(NB, _gid(c), _src(c))
        assert result.status == "correct", result.summary()
        assert result.points == result.max_points > 0


def test_points_in_the_notebook_match_the_checks():
    from bpkit.checks.ch09 import POINTS
    cells = _cells(ROOT / "solutions" / NB)
    graded = {_gid(c): c["metadata"]["nbgrader"]["points"] for c in cells
              if c["metadata"].get("nbgrader", {}).get("grade")}
    assert sum(graded.values()) == sum(POINTS.values()) == 12
    for gid, pts in graded.items():
        key = gid.split("_", 2)[2].removesuffix("_check")
        assert POINTS[key] == pts, gid


def test_notebook_metadata_states_time_and_prerequisites():
    import json
    meta = json.loads((ROOT / "solutions" / NB).read_text())["metadata"]["bpfs"]
    assert meta["requires"] == ["06_training"]
    cells = _cells(ROOT / "solutions" / NB)
    exercises = {_gid(c) for c in cells if c["metadata"].get("nbgrader", {}).get("solution")}
    assert set(meta["exercise_minutes"]) == exercises and all(m > 0 for m in meta["exercise_minutes"].values())


PCA = ("def pca_reconstruction(X_train, X, H):\n    mu = {MU}\n"
       "    _, _, Vt = np.linalg.svd(X_train - mu, full_matrices=False)\n    V = {V}\n    return {RET}\n")
OK_PCA = dict(MU="X_train.mean(axis=0)", V="Vt[:H].T", RET="(X - mu) @ V @ V.T + mu")
MSE = "def mse_reconstruction(X_hat, X):\n    diff = X_hat - X\n    return {LOSS}, {GRAD}\n"
OK_MSE = dict(LOSS="np.mean(diff ** 2)", GRAD="2 * diff / diff.size")
TIED = ("def tied_backward(X, W, b1, b2, dX_hat):\n    Z = X @ W + b1\n    dZ = dX_hat @ W\n"
        "    return {DW}, dZ.sum(axis=0), dX_hat.sum(axis=0)\n")
OK_TIED = dict(DW="X.T @ dZ + dX_hat.T @ Z")
NOISY = "def denoising_batch(X, p, rng):\n    mask = {MASK}\n    noisy = np.where(mask, 0.0, X)\n    return {RET}\n"
OK_NOISY = dict(MASK="rng.random(X.shape) < p", RET="noisy, X.copy()")


def pca(**kw):
    return PCA.format(**{**OK_PCA, **kw})


def mse(**kw):
    return MSE.format(**{**OK_MSE, **kw})


def tied(**kw):
    return TIED.format(**{**OK_TIED, **kw})


def noisy(**kw):
    return NOISY.format(**{**OK_NOISY, **kw})


PLANTED = [
    # (exercise, wrong answer, expected status, words the verdict or first hint must contain)
    ("ex9_1_pca_reconstruction", pca(MU="np.zeros(X_train.shape[1])"), "incorrect", "the data are not centred"),
    ("ex9_1_pca_reconstruction", pca(RET="(X - mu) @ V @ V.T"), "incorrect", "the mean is not added back"),
    ("ex9_1_pca_reconstruction", pca(V="Vt[:, :H]"), "incorrect", "taken as columns of Vt"),
    ("ex9_1_pca_reconstruction", "def pca_reconstruction(X_train, X, H):\n    mu = X_train.mean(axis=0)\n"
     "    U, _, _ = np.linalg.svd(X_train - mu, full_matrices=False)\n    V = U[:, :H]\n"
     "    return (X - mu) @ V @ V.T + mu\n", "error", "The inner sizes of a matrix product must agree"),
    ("ex9_2_mse_reconstruction", mse(LOSS="np.sum(diff ** 2) / len(X)", GRAD="2 * diff / len(X)"), "incorrect",
     "the mean is over the batch only"),
    ("ex9_2_mse_reconstruction", mse(GRAD="diff / diff.size"), "incorrect", "misses the factor 2"),
    ("ex9_2_mse_reconstruction", mse(GRAD="2 * diff"), "incorrect", "not divided by the number of entries"),
    ("ex9_2_mse_reconstruction", mse(GRAD="-2 * diff / diff.size"), "incorrect", "the wrong sign"),
    ("ex9_3_tied_backward", tied(DW="X.T @ dZ"), "incorrect", "the encoder's use only"),
    ("ex9_3_tied_backward", tied(DW="dX_hat.T @ Z"), "incorrect", "the decoder's use only"),
    ("ex9_3_tied_backward", tied(DW="X.T @ dZ + Z.T @ dX_hat"), "incorrect", "the decoder's share is not transposed"),
    ("ex9_4_denoising_batch", noisy(MASK="rng.random(X.shape) >= p"), "incorrect",
     "p is used as the probability of keeping a pixel"),
    ("ex9_4_denoising_batch", noisy(RET="noisy, noisy"), "incorrect", "the target is the corrupted input"),
    ("ex9_4_denoising_batch", noisy(RET="X.copy(), noisy"), "incorrect", "the input and the target are swapped"),
    ("ex9_4_denoising_batch", "def denoising_batch(X, p, rng):\n    X[rng.random(X.shape) < p] = 0\n    return X, X\n",
     "incorrect", "your function changed X in place"),
    ("ex9_5_autoencoder_num_params", "def autoencoder_num_params(D, hidden, H):\n    return 2 * (D * hidden + hidden * H)",
     "incorrect", "the biases are missing"),
    ("ex9_5_autoencoder_num_params", "def autoencoder_num_params(D, hidden, H):\n"
     "    return D * hidden + hidden + hidden * H + H", "incorrect", "this counts the encoder only"),
    ("ex9_5_autoencoder_num_params", "def autoencoder_num_params(D, hidden, H):\n    return D * H", "incorrect",
     "first differing entry"),
    ("ex9_6_code_size", "def code_size():\n    return 4", "incorrect", "not below 0.02"),
    ("ex9_6_code_size", "def code_size():\n    return 16", "incorrect", "find the smallest"),
    ("ex9_6_code_size", "def code_size():\n    return 5", "incorrect", "must be one of the explorer's"),
    ("ex9_6_code_size", "def code_size():\n    return explorer.values()", "error", "expected a number"),
    ("ex9_7_noise_level", "def noise_level():\n    return 0.3", "incorrect", "decrease the fraction"),
    ("ex9_7_noise_level", "def noise_level():\n    return 0.1", "incorrect", "find the largest"),
    ("ex9_7_noise_level", "def noise_level():\n    return 0.25", "incorrect", "one of the slider's values"),
    ("ex9_7_noise_level", "def noise_level():\n    return 'a fifth'", "error", "expected a number"),
]


@pytest.mark.parametrize("grade_id, answer, status, words", PLANTED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_gets_the_intended_feedback(grade_id, answer, status, words):
    assert_planted_feedback(NB, grade_id, answer, status, words)


def test_the_planted_answers_are_otherwise_correct():
    for grade_id, answer in [("ex9_1_pca_reconstruction", pca()), ("ex9_2_mse_reconstruction", mse()),
                             ("ex9_3_tied_backward", tied()), ("ex9_4_denoising_batch", noisy()),
                             ("ex9_6_code_size", "def code_size():\n    return 8"),
                             ("ex9_7_noise_level", "def noise_level():\n    return 0.2")]:
        result = run_exercise(NB, grade_id, answer)
        assert result.status == "correct", result.summary()


def test_every_exercise_has_a_planted_mistake():
    assert_every_exercise_planted(NB, PLANTED)


STUBS = [("ex9_1_pca_reconstruction", "def pca_reconstruction(X_train, X, H):"),
         ("ex9_2_mse_reconstruction", "def mse_reconstruction(X_hat, X):"),
         ("ex9_3_tied_backward", "def tied_backward(X, W, b1, b2, dX_hat):"),
         ("ex9_4_denoising_batch", "def denoising_batch(X, p, rng):"),
         ("ex9_5_autoencoder_num_params", "def autoencoder_num_params(D, hidden, H):"),
         ("ex9_6_code_size", "def code_size():"), ("ex9_7_noise_level", "def noise_level():")]


@pytest.mark.parametrize("grade_id, head", STUBS)
def test_unsolved_stub_is_not_attempted(grade_id, head):
    result = run_exercise(NB, grade_id, head + "\n    # YOUR CODE HERE\n    raise NotImplementedError()")
    assert result.status == "not_attempted" and "not attempted yet" in str(result)


def test_hints_are_progressive():
    result = run_exercise(NB, "ex9_3_tied_backward", tied(DW="X.T @ dZ"))
    assert result.next_hint().startswith("Forward: Z = X @ W + b1")  # a nudge first, even when a mistake is named
    while result.next_hint() is not None:
        pass
    assert "Add the decoder's share" in result.hints[-2]             # the mistake's fix, in code, before the answer
    assert "return X.T @ dZ + dX_hat.T @ Z" in result.hints[-1]


def test_the_widget_answers_have_margin():
    from bpkit.checks.ch09 import CODE_TARGET, DENOISE_TARGET
    from bpkit.widgets.autoencoder import denoising_errors, reconstruction_error
    assert reconstruction_error("nonlinear", 4) > CODE_TARGET * 1.2 and reconstruction_error("nonlinear", 8) < CODE_TARGET * 0.95
    kind, H, target = DENOISE_TARGET["kind"], DENOISE_TARGET["H"], DENOISE_TARGET["mse"]
    assert denoising_errors(kind, H, 0.2)[0] < 0.9 * target < 1.1 * target < denoising_errors(kind, H, 0.3)[0]


def test_references_are_bpkit_s():
    from bpkit import losses
    from bpkit.checks.ch09 import autoencoder_num_params, mse_reconstruction
    rng = np.random.default_rng(0)
    A, B = rng.random((4, 5)), rng.random((4, 5))
    loss, grad = mse_reconstruction(A, B)
    ref = losses.mse_loss(A, B)
    assert loss == pytest.approx(ref[0]) and np.allclose(grad, ref[1])
    assert autoencoder_num_params(64, 64, 8) == 2 * (64 * 64 + 64 * 8) + 64 + 8 + 64 + 64
