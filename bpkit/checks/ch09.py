"""Checks for Chapter 9, autoencoders.

Each ``check_*`` takes the student's function or answer and returns a
:class:`bpkit.checks.CheckResult`. The references are the short functions below, which the
chapter checks numerically, and the cached models of :mod:`bpkit.widgets.autoencoder`.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..widgets.autoencoder import CODE_SIZES, NOISE_LEVELS, denoising_errors, pca_error, reconstruction_error
from ._context import case_rng, in_kernel, own_work
from ._engine import CheckResult, Mistake, check_function, handed_in_number

__all__ = ["CODE_TARGET", "DENOISE_TARGET", "POINTS", "autoencoder_num_params", "check_autoencoder_num_params",
           "check_code_size", "check_denoising_batch", "check_mse_reconstruction", "check_noise_level",
           "check_pca_reconstruction", "check_tied_backward", "denoising_batch", "mse_reconstruction",
           "pca_reconstruction", "tied_backward"]

#: Points per exercise, read by the course tools.
POINTS = {"pca_reconstruction": 2, "mse_reconstruction": 2, "tied_backward": 3, "denoising_batch": 2,
          "autoencoder_num_params": 1, "code_size": 1, "noise_level": 1}

#: Exercise 9.6: the non-linear autoencoder's test MSE on clean digits must be below this.
CODE_TARGET = 0.02

#: Exercise 9.7: the non-linear autoencoder with H = 16 must keep its output's test MSE below this.
DENOISE_TARGET = {"kind": "nonlinear", "H": 16, "mse": 0.04}


def _rng():
    """Test cases: a fixed seed for feedback, mixed with the grader\'s secret when graded."""
    return case_rng(2026)


# ----------------------------------------------------------------------------- 9.1 PCA reconstruction

def pca_reconstruction(X_train, X, H):
    """Reference: ``X`` projected on the first ``H`` principal directions of ``X_train`` and mapped back."""
    mu = X_train.mean(axis=0)
    _, _, Vt = np.linalg.svd(X_train - mu, full_matrices=False)
    V = Vt[:H].T
    return (X - mu) @ V @ V.T + mu


def _pca_variant(centre=True, add_back=True, columns=False):
    def f(X_train, X, H):
        mu = X_train.mean(axis=0) if centre else np.zeros(X_train.shape[1])
        _, _, Vt = np.linalg.svd(X_train - mu, full_matrices=False)
        V = Vt[:, :H] if columns else Vt[:H].T
        return (X - mu) @ V @ V.T + (mu if add_back else 0.0)
    return f


def check_pca_reconstruction(student):
    """Exercise 9.1: ``pca_reconstruction(X_train, X, H) -> (n, D)``."""
    name, pts = "Exercise 9.1 (pca_reconstruction)", POINTS["pca_reconstruction"]
    rng = _rng()
    cases = []
    for N, n, D, H in ((12, 4, 5, 2), (30, 6, 8, 3), (50, 10, 6, 1)):
        A = rng.normal(size=(D, D))
        cases.append((rng.normal(size=(N, D)) @ A + 3.0, rng.normal(size=(n, D)) @ A + 3.0, H))
    return check_function(
        student, pca_reconstruction, cases, name=name, points=pts, rtol=1e-6, atol=1e-8,
        mistakes=[
            Mistake("the data are not centred: PCA's directions are those of X_train minus its mean (the SVD of "
                    "the raw data finds the direction of the mean first)", _pca_variant(centre=False),
                    "mu = X_train.mean(axis=0); take the SVD of X_train - mu, and project X - mu."),
            Mistake("the mean is not added back: the projection reconstructs X - mu, so the reconstruction of X is "
                    "that plus mu", _pca_variant(add_back=False), "Return (X - mu) @ V @ V.T + mu."),
            Mistake("the principal directions are taken as columns of Vt: np.linalg.svd returns Vt, whose *rows* "
                    "are the directions in pixel space, so V = Vt[:H].T", _pca_variant(columns=True),
                    "U holds one row per example; the directions in the D-dimensional space are the rows of Vt."),
        ],
        hints=["Centre the training data with its mean mu, take np.linalg.svd(X_train - mu, full_matrices=False) "
               "-> U, S, Vt; the first H rows of Vt are the principal directions.",
               "With V = Vt[:H].T, shape (D, H), the code of X is (X - mu) @ V and the reconstruction maps it back "
               "with V.T and adds the mean.",
               "mu = X_train.mean(axis=0); _, _, Vt = np.linalg.svd(X_train - mu, full_matrices=False); "
               "V = Vt[:H].T; return (X - mu) @ V @ V.T + mu"])


# ----------------------------------------------------------------------------- 9.2 the reconstruction loss

def mse_reconstruction(X_hat, X):
    r"""Reference: ``(loss, dX_hat)`` of the mean over all $ND$ entries of $(\hat X - X)^2$."""
    diff = X_hat - X
    return float(np.mean(diff ** 2)), 2.0 * diff / diff.size


def check_mse_reconstruction(student):
    """Exercise 9.2: ``mse_reconstruction(X_hat, X) -> (loss, dX_hat)``."""
    name, pts = "Exercise 9.2 (mse_reconstruction)", POINTS["mse_reconstruction"]
    rng = _rng()
    cases = [(rng.random((N, D)), rng.random((N, D))) for N, D in ((3, 4), (5, 64), (8, 2))]
    return check_function(
        student, mse_reconstruction, cases, name=name, points=pts, output_names=("loss", "dX_hat"),
        mistakes=[
            Mistake("the mean is over the batch only (a sum over the pixels, divided by N): the loss is the mean "
                    "over all N * D entries, as bpkit.losses.mse_loss computes it",
                    lambda Xh, X: (float(np.sum((Xh - X) ** 2) / len(X)), 2 * (Xh - X) / len(X)),
                    "Divide by X.size (N * D), in the loss and in its gradient."),
            Mistake("the gradient misses the factor 2 from the square",
                    lambda Xh, X: (float(np.mean((Xh - X) ** 2)), (Xh - X) / (Xh - X).size),
                    "d/dx of x**2 is 2x: dX_hat = 2 (X_hat - X) / X.size."),
            Mistake("the gradient is not divided by the number of entries: the loss is a mean, so each entry's "
                    "share is 1 / (N * D)",
                    lambda Xh, X: (float(np.mean((Xh - X) ** 2)), 2 * (Xh - X)),
                    "dX_hat = 2 (X_hat - X) / X.size."),
            Mistake("the gradient has the wrong sign: it is 2 (X_hat - X) / (N D), positive where the "
                    "reconstruction is too large",
                    lambda Xh, X: (float(np.mean((Xh - X) ** 2)), 2 * (X - Xh) / X.size),
                    "Differentiate with respect to X_hat: + 2 (X_hat - X) / X.size."),
        ],
        hints=["The loss is np.mean((X_hat - X)**2): every pixel of every example counts once.",
               "Each of the n = N * D entries contributes (x_hat - x)**2 / n, whose derivative is 2 (x_hat - x) / n.",
               "diff = X_hat - X; return np.mean(diff**2), 2 * diff / diff.size"])


# ----------------------------------------------------------------------------- 9.3 tied weights

def tied_backward(X, W, b1, b2, dX_hat):
    r"""Reference: ``(dW, db1, db2)`` for $Z = XW + b_1$, $\hat X = Z W^\top + b_2$: $dW$ is the sum of both uses."""
    Z = X @ W + b1
    dZ = dX_hat @ W
    return X.T @ dZ + dX_hat.T @ Z, dZ.sum(axis=0), dX_hat.sum(axis=0)


def _tied_variant(enc=True, dec=True, dec_T=True):
    def f(X, W, b1, b2, dX_hat):
        Z = X @ W + b1
        dZ = dX_hat @ W
        dW = np.zeros_like(W)
        if enc:
            dW = dW + X.T @ dZ
        if dec:
            dW = dW + (dX_hat.T @ Z if dec_T else Z.T @ dX_hat)
        return dW, dZ.sum(axis=0), dX_hat.sum(axis=0)
    return f


def _tied_case(rng, N, D, H):
    return (rng.random((N, D)), 0.5 * rng.normal(size=(D, H)), 0.1 * rng.normal(size=H),
            0.1 * rng.normal(size=D), rng.normal(size=(N, D)))


def check_tied_backward(student):
    """Exercise 9.3: ``tied_backward(X, W, b1, b2, dX_hat) -> (dW, db1, db2)``."""
    name, pts = "Exercise 9.3 (tied_backward)", POINTS["tied_backward"]
    rng = _rng()
    cases = [_tied_case(rng, N, D, H) for N, D, H in ((4, 3, 3), (5, 6, 2), (7, 8, 3))]
    return check_function(
        student, tied_backward, cases, name=name, points=pts, output_names=("dW", "db1", "db2"),
        batch_size_of=lambda X, *rest: X.shape[0],
        mistakes=[
            Mistake("dW holds the encoder's use only, X.T @ dZ: W is used twice, by the encoder and (transposed) "
                    "by the decoder, and a value used twice receives the sum of the gradients of both uses",
                    _tied_variant(dec=False), "Add the decoder's share: dW = X.T @ dZ + dX_hat.T @ Z."),
            Mistake("dW holds the decoder's use only, dX_hat.T @ Z: the encoder uses W too, so add X.T @ dZ",
                    _tied_variant(enc=False), "dW = X.T @ dZ + dX_hat.T @ Z."),
            Mistake("the decoder's share is not transposed: the decoder multiplies by W.T, whose gradient is "
                    "Z.T @ dX_hat, shape (H, D); the gradient of W itself is its transpose, dX_hat.T @ Z",
                    _tied_variant(dec_T=False), "The decoder's contribution to dW is (Z.T @ dX_hat).T = dX_hat.T @ Z."),
        ],
        hints=["Forward: Z = X @ W + b1, X_hat = Z @ W.T + b2. Backward through the decoder first: dZ = dX_hat @ W "
               "and db2 = dX_hat.sum(axis=0).",
               "W appears twice. The encoder's use gives X.T @ dZ, as in any dense layer; the decoder's use is a "
               "dense layer with weights W.T, whose gradient Z.T @ dX_hat must be transposed back to W's shape. "
               "Add the two (Chapter 3: a value used twice gets the sum).",
               "Z = X @ W + b1; dZ = dX_hat @ W; return X.T @ dZ + dX_hat.T @ Z, dZ.sum(axis=0), dX_hat.sum(axis=0)"])


# ----------------------------------------------------------------------------- 9.4 a denoising batch

def denoising_batch(X, p, rng):
    """Reference: ``(X_noisy, target)``: entries where ``rng.random(X.shape) < p`` set to 0, and the clean ``X``."""
    return np.where(rng.random(X.shape) < p, 0.0, X), X.copy()


def _noise_variant(keep=False, target="clean"):
    def f(X, p, rng):
        u = rng.random(X.shape)
        noisy = np.where(u >= p, 0.0, X) if keep else np.where(u < p, 0.0, X)
        if target == "noisy":
            return noisy, noisy
        if target == "swapped":
            return X.copy(), noisy
        return noisy, X.copy()
    return f


def check_denoising_batch(student):
    """Exercise 9.4: ``denoising_batch(X, p, rng) -> (X_noisy, target)``."""
    name, pts = "Exercise 9.4 (denoising_batch)", POINTS["denoising_batch"]
    rng = _rng()
    cases = [(rng.random((N, D)) + 0.1, p, np.random.default_rng(seed))
             for (N, D, p, seed) in ((3, 4, 0.25, 0), (6, 64, 0.1, 1), (5, 8, 0.5, 2))]
    return check_function(
        student, denoising_batch, cases, name=name, points=pts, output_names=("X_noisy", "target"),
        mistakes=[
            Mistake("p is used as the probability of keeping a pixel: p is the fraction set to 0, so a pixel is "
                    "masked where the uniform number is below p", _noise_variant(keep=True),
                    "mask = rng.random(X.shape) < p marks the pixels to set to 0."),
            Mistake("the target is the corrupted input: a denoising autoencoder reconstructs the clean input from "
                    "the corrupted one (with the corrupted target it only learns to copy)",
                    _noise_variant(target="noisy"), "Return X itself (a copy) as the target."),
            Mistake("the input and the target are swapped: the network sees the corrupted digits and must output "
                    "the clean ones", _noise_variant(target="swapped"), "Return (X_noisy, X)."),
            Mistake("the mask is inverted and the target is the corrupted input",
                    _noise_variant(keep=True, target="noisy"), "Mask where rng.random(X.shape) < p; target X."),
        ],
        mutation_message=("your function changed X in place: a denoising autoencoder needs the clean X as its "
                          "target, so build a new array for the corrupted copy (np.where(mask, 0.0, X))."),
        hints=["Draw one uniform number per entry, u = rng.random(X.shape), and set the entry to 0 where u < p: "
               "each pixel is masked with probability p.",
               "Do not change X: the network's input is the corrupted copy, and its target is the clean X.",
               "mask = rng.random(X.shape) < p; return np.where(mask, 0.0, X), X.copy()"])


# ----------------------------------------------------------------------------- 9.5 counting parameters

def autoencoder_num_params(D, hidden, H):
    """Reference: parameters of ``Linear(D, hidden), ReLU, Linear(hidden, H), Linear(H, hidden), ReLU,
    Linear(hidden, D)``."""
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Linear(D, hidden, rng=rng), nn.ReLU(), nn.Linear(hidden, H, rng=rng),
                         nn.Linear(H, hidden, rng=rng), nn.ReLU(), nn.Linear(hidden, D, rng=rng)).num_params()


def check_autoencoder_num_params(student):
    """Exercise 9.5: ``autoencoder_num_params(D, hidden, H) -> int``."""
    cases = [(64, 64, 2), (784, 256, 32), (10, 5, 3), (64, 32, 8)]
    return check_function(
        student, autoencoder_num_params, cases, name="Exercise 9.5 (autoencoder_num_params)",
        points=POINTS["autoencoder_num_params"],
        mistakes=[
            Mistake("the biases are missing: every Linear layer has one per output, hidden + H + hidden + D in all",
                    lambda D, h, H: 2 * (D * h + h * H), "Add one bias per output unit of each Linear layer."),
            Mistake("this counts the encoder only: the decoder has as many weights, and its biases sizes are "
                    "hidden and D", lambda D, h, H: D * h + h + h * H + H, "Add the decoder, H -> hidden -> D."),
            Mistake("the biases are counted as if every layer had D outputs, or the shapes are mixed up",
                    lambda D, h, H: 2 * (D * h + h * H) + 4 * D, "Count each layer: D_in * D_out + D_out."),
        ],
        hints=["A Linear(D_in, D_out) layer has D_in * D_out weights and D_out biases; ReLU has none.",
               "The four layers are D -> hidden, hidden -> H, H -> hidden and hidden -> D.",
               "return (D * hidden + hidden) + (hidden * H + H) + (H * hidden + hidden) + (hidden * D + D)"])


# ----------------------------------------------------------------------------- 9.6 / 9.7 widget answers

def _number(answer, name, pts, hints, what):
    return handed_in_number(answer, name, pts, hints, f"hand in {what} and run this cell again.",
                            expected=f"a number, {what}", allow_bool=False)


def check_code_size(answer):
    """Exercise 9.6: the smallest code size whose non-linear test MSE is below :data:`CODE_TARGET`."""
    name, pts = "Exercise 9.6 (code_size)", POINTS["code_size"]
    hints = [f"Set the model to non-linear (ReLU) and try the code sizes {list(CODE_SIZES)} from the smallest up; "
             "read 'autoencoder' in the summary's 'test MSE, clean input' line (explorer.test_error()).",
             f"You want the first H at which that number is below {CODE_TARGET:g}; the masked fraction and the "
             "digit shown do not change it.",
             f"for H in {CODE_SIZES}: explorer.set(kind='nonlinear', H=H); if explorer.test_error() < "
             f"{CODE_TARGET:g}: return H"]
    got = _number(answer, name, pts, hints, "the code size H")
    if isinstance(got, CheckResult):
        return got
    if got not in CODE_SIZES:
        return CheckResult(name, "incorrect", f"the code size must be one of the explorer's, {list(CODE_SIZES)}; "
                           f"got {got:g}.", hints, max_points=pts)
    H = int(got)
    err = reconstruction_error("nonlinear", H)
    shown = f"H = {H}: the non-linear autoencoder's test MSE is {err:.4f}"
    if err >= CODE_TARGET:
        return CheckResult(name, "incorrect", f"{shown}, not below {CODE_TARGET:g}; a larger code keeps more.",
                           hints, [shown], max_points=pts, mistake="too small")
    smaller = [h for h in CODE_SIZES if h < H and reconstruction_error("nonlinear", h) < CODE_TARGET]
    if smaller:
        return CheckResult(name, "incorrect", f"{shown}; but H = {smaller[0]} already reaches "
                           f"{reconstruction_error('nonlinear', smaller[0]):.4f}: find the smallest.", hints, [shown],
                           max_points=pts, mistake="not the smallest")
    return CheckResult(name, "correct", f"{shown}, below {CODE_TARGET:g}, and every smaller code size stays above "
                       f"it (PCA with {H} components: {pca_error(H):.4f}).", hints, [shown],
                       points=pts, max_points=pts)


def check_noise_level(answer):
    """Exercise 9.7: the largest masked fraction at which the non-linear H = 16 model's output MSE stays below target."""
    name, pts = "Exercise 9.7 (noise_level)", POINTS["noise_level"]
    kind, H, target = DENOISE_TARGET["kind"], DENOISE_TARGET["H"], DENOISE_TARGET["mse"]
    hints = [f"Keep the non-linear model with H = {H} and move the masked fraction up one step (0.1) at a time; "
             "read 'autoencoder output' in the summary's last line (explorer2.output_error()).",
             f"You want the largest fraction at which that error is still below {target:g}. It grows with the "
             "fraction: the more pixels are missing, the more the model must guess.",
             f"best = 0.0; for p in {list(NOISE_LEVELS)}: explorer2.noise = p; if "
             f"explorer2.output_error() < {target:g}: best = p; return best"]
    got = _number(answer, name, pts, hints, "the masked fraction")
    if isinstance(got, CheckResult):
        return got
    if not any(abs(got - n) < 1e-9 for n in NOISE_LEVELS):
        return CheckResult(name, "incorrect", f"the masked fraction must be one of the slider's values, "
                           f"{NOISE_LEVELS[0]:g} to {NOISE_LEVELS[-1]:g} in steps of 0.1; got {got:g}.", hints,
                           max_points=pts)
    p = round(got, 1)
    err = denoising_errors(kind, H, p)[0]
    shown = f"masked fraction {p:g}: the output's test MSE is {err:.4f}"
    if err >= target:
        return CheckResult(name, "incorrect", f"{shown}, not below {target:g}; decrease the fraction.", hints,
                           [shown], max_points=pts, mistake="too large")
    larger = [n for n in NOISE_LEVELS if n > p and denoising_errors(kind, H, n)[0] < target]
    if larger:
        return CheckResult(name, "incorrect", f"{shown}; but at {larger[-1]:g} it is still "
                           f"{denoising_errors(kind, H, larger[-1])[0]:.4f}: find the largest.", hints, [shown],
                           max_points=pts, mistake="not the largest")
    inp = denoising_errors(kind, H, p)[1]
    return CheckResult(name, "correct", f"{shown}, below {target:g} (the masked input itself is off by {inp:.4f}), "
                       "and every larger fraction goes above it.", hints, [shown], points=pts, max_points=pts)
