"""Autoencoders on the 8x8 digits: trained once, cached, and explored with a widget.

:func:`trained_autoencoder` trains a linear or a non-linear autoencoder with a code of
``H`` numbers on the training digits of :func:`bpkit.data.digits` (deterministic seeds,
a fraction of a second each) and caches it. :func:`pca_error` gives PCA's reconstruction
error with the same ``H``, and :func:`denoising_errors` the error of a model's output on
test digits whose pixels were masked with probability ``noise``. The
:class:`AutoencoderExplorer` shows one test digit, its corrupted version and the
reconstruction, with those errors.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import data, losses, nn, optim, train
from ._base import Widget as _Widget
from ._base import control_property
from ._base import _num

__all__ = ["AutoencoderExplorer", "CODE_SIZES", "KINDS", "NOISE_LEVELS", "build_autoencoder", "denoising_errors",
           "digits_split", "mask_noise", "pca_error", "reconstruction_error", "trained_autoencoder"]

#: The code sizes the explorer offers (models are trained for these only).
CODE_SIZES = (2, 4, 8, 16)
#: The two kinds of autoencoder, with their display names.
KINDS = {"linear": "linear", "nonlinear": "non-linear (ReLU)"}
#: Fractions of masked pixels: 0, 0.1, ..., 0.8.
NOISE_LEVELS = tuple(round(0.1 * k, 1) for k in range(9))
#: Epochs of Adam (lr 3e-3, batches of 64) for every cached model.
EPOCHS = 100
_NOISE_SEED = 1234


def _check(name, v, who="AutoencoderExplorer"):
    number = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
    if name == "kind" and v not in KINDS:
        raise ValueError(f"{who}: unknown kind {v!r}; choose one of {list(KINDS)}.")
    if name == "H" and not (number and float(v) == int(v) and int(v) in CODE_SIZES):
        raise ValueError(f"{who}: 'H' (the code size) must be one of {list(CODE_SIZES)}, got {v!r}.")
    if name == "noise" and not (number and any(abs(float(v) - n) < 1e-9 for n in NOISE_LEVELS)):
        raise ValueError(f"{who}: 'noise' (the fraction of masked pixels) must be one of "
                         f"{list(NOISE_LEVELS)}, got {v!r}.")
    if name == "digit":
        n = len(digits_split().X_test)
        if not (number and float(v) == int(v) and 0 <= int(v) < n):
            raise ValueError(f"{who}: 'digit' must be the index of a test digit, 0 to {n - 1}, got {v!r}.")


@functools.lru_cache(maxsize=None)
def digits_split():
    """:func:`bpkit.data.digits` with its default split (1,169 training, 269 validation, 359 test digits)."""
    return data.digits()


def build_autoencoder(kind, H, rng):
    """An untrained autoencoder for 64 pixels with a code of ``H`` numbers.

    ``"linear"``: ``Linear(64, H)`` then ``Linear(H, 64)``. ``"nonlinear"``: the encoder
    ``Linear(64, 64), ReLU, Linear(64, H)`` and the decoder ``Linear(H, 64), ReLU, Linear(64, 64)``;
    the code and the output are linear.
    """
    _check("kind", kind, "build_autoencoder")
    if kind == "linear":
        return nn.Sequential(nn.Linear(64, H, rng=rng, init="xavier"),
                             nn.Linear(H, 64, rng=rng, init="xavier"))
    return nn.Sequential(nn.Linear(64, 64, rng=rng), nn.ReLU(),
                         nn.Linear(64, H, rng=rng, init="xavier"),
                         nn.Linear(H, 64, rng=rng), nn.ReLU(),
                         nn.Linear(64, 64, rng=rng, init="xavier"))


@functools.lru_cache(maxsize=None)
def trained_autoencoder(kind, H):
    """The autoencoder of :func:`build_autoencoder`, trained with MSE on the training digits (cached, eval mode)."""
    _check("kind", kind, "trained_autoencoder")
    _check("H", H, "trained_autoencoder")
    X = digits_split().X_train
    rng = np.random.default_rng(H)
    model = build_autoencoder(kind, int(H), rng)
    train.fit(model, losses.mse_loss, optim.Adam(lr=3e-3), X, X, epochs=EPOCHS, batch_size=64, rng=rng,
              progress=False)
    return model.eval()


def mask_noise(X, p, rng):
    """Masking noise: every entry of ``X`` set to 0 with probability ``p`` (one draw ``rng.random(X.shape)``)."""
    return np.where(rng.random(X.shape) < p, 0.0, X)


@functools.lru_cache(maxsize=None)
def _corrupted_test(noise):
    X = digits_split().X_test
    return mask_noise(X, noise, np.random.default_rng(_NOISE_SEED))


@functools.lru_cache(maxsize=None)
def _pca_basis():
    X = digits_split().X_train
    mu = X.mean(axis=0)
    _, S, Vt = np.linalg.svd(X - mu, full_matrices=False)
    return mu, Vt


@functools.lru_cache(maxsize=None)
def pca_error(H):
    """MSE (over all pixels of the test digits) of PCA's reconstruction with ``H`` components of the training set."""
    mu, Vt = _pca_basis()
    X, V = digits_split().X_test, _pca_basis()[1][:int(H)].T
    return float(np.mean(((X - mu) @ V @ V.T + mu - X) ** 2))


@functools.lru_cache(maxsize=None)
def reconstruction_error(kind, H):
    """MSE (over all pixels of the test digits) of the cached autoencoder's reconstruction of the clean digits."""
    X = digits_split().X_test
    return float(np.mean((trained_autoencoder(kind, H).forward(X) - X) ** 2))


@functools.lru_cache(maxsize=None)
def denoising_errors(kind, H, noise):
    """``(output_error, input_error)``: MSE against the clean test digits of the model's output on the
    masked digits, and of the masked digits themselves (doing nothing)."""
    X, Xn = digits_split().X_test, _corrupted_test(round(float(noise), 1))
    out = trained_autoencoder(kind, H).forward(Xn)
    return float(np.mean((out - X) ** 2)), float(np.mean((Xn - X) ** 2))


class AutoencoderExplorer(_Widget):
    """A test digit, the same digit with masked pixels, and an autoencoder's reconstruction.

    Controls: ``kind`` (``"linear"`` or ``"nonlinear"``), ``H`` (the code size, one of
    :data:`CODE_SIZES`), ``noise`` (the fraction of masked pixels, 0 to 0.8) and ``digit``
    (the index of a test digit). Models are trained on first use and cached, so the first
    visit to a (kind, H) pair takes a second, later ones are instant.
    """

    _title = "An autoencoder reconstructing 8x8 digits"

    def __init__(self, kind="nonlinear", H=8, noise=0.0, digit=0):
        values = {"kind": kind, "H": H, "noise": noise, "digit": digit}
        for k, v in values.items():
            _check(k, v)
        self._init = values
        self._init_widgets()
        self.update()

    def _controls(self):
        W, v = self._W, self._init
        style = {"description_width": "initial"}
        self._kind = W.ToggleButtons(options=[(KINDS[k], k) for k in KINDS], value=v["kind"], description="model")
        self._H = W.SelectionSlider(options=list(CODE_SIZES), value=int(v["H"]), description="code size H",
                                    continuous_update=False, style=style)
        self._noise = W.SelectionSlider(options=list(NOISE_LEVELS), value=round(float(v["noise"]), 1),
                                        description="masked fraction", continuous_update=False, style=style)
        self._digit = W.IntSlider(value=int(v["digit"]), min=0, max=len(digits_split().X_test) - 1,
                                  description="test digit", continuous_update=False, style=style)
        for c in (self._kind, self._H, self._noise, self._digit):
            c.observe(self._on_change, names="value")
        return [W.HBox([self._kind, self._H]), W.HBox([self._noise, self._digit])]

    kind = control_property("kind", "_kind", str, "The model: 'linear' or 'nonlinear'.")
    H = control_property("H", "_H", int, f"The code size, one of {CODE_SIZES}.")
    noise = control_property("noise", "_noise", lambda v: round(float(v), 1),
                             "The fraction of masked pixels, 0 to 0.8.")
    digit = control_property("digit", "_digit", int, "The index of the test digit shown.")

    def values(self) -> dict:
        """The controls as a dict."""
        return {"kind": self.kind, "H": self.H, "noise": self.noise, "digit": self.digit}

    def _check_control(self, name, value):
        _check(name, value)

    def test_error(self) -> float:
        """The current model's MSE on the clean test digits."""
        return reconstruction_error(self.kind, self.H)

    def output_error(self) -> float:
        """The current model's MSE against the clean test digits, given the masked ones."""
        return denoising_errors(self.kind, self.H, self.noise)[0]

    def _recompute(self):
        v = self.values()
        X = digits_split().X_test
        self.clean = X[v["digit"]]
        self.corrupted = _corrupted_test(v["noise"])[v["digit"]]
        self.reconstruction = trained_autoencoder(v["kind"], v["H"]).forward(self.corrupted[None])[0]

    def summary(self):
        v = self.values()
        out, inp = denoising_errors(v["kind"], v["H"], v["noise"])
        label = int(digits_split().y_test[v["digit"]])
        err = float(np.mean((self.reconstruction - self.clean) ** 2))
        return "\n".join([
            f"{KINDS[v['kind']]} autoencoder, code size H = {v['H']}; {int(round(v['noise'] * 100))}% of the "
            f"pixels masked; test digit {v['digit']} (a {label})",
            f"test MSE, clean input: autoencoder {_num(self.test_error(), 4)}, PCA with {v['H']} components "
            f"{_num(pca_error(v['H']), 4)}",
            f"test MSE against the clean digits: masked input {_num(inp, 4)}, autoencoder output {_num(out, 4)}; "
            f"this digit {_num(err, 4)}",
        ])

    def figure(self):
        from matplotlib.figure import Figure
        v = self.values()
        fig = Figure(figsize=(7.5, 2.9), layout="constrained")
        titles = ("original", f"masked ({int(round(v['noise'] * 100))}%)", "reconstruction")
        for k, (img, title) in enumerate(zip((self.clean, self.corrupted, self.reconstruction), titles)):
            ax = fig.add_subplot(1, 3, k + 1)
            ax.imshow(np.clip(img, 0, 1).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            ax.set(title=title, xticks=[], yticks=[])
        fig.suptitle(f"{KINDS[v['kind']]} autoencoder, H = {v['H']}: test MSE {self.test_error():.4f} "
                     f"(PCA {pca_error(v['H']):.4f})")
        return fig
