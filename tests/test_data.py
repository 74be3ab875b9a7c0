"""bpkit.data: shapes, dtypes, labels and class balance; determinism from the seed or rng;
stratified splits; the real digits offline (scikit-learn's bundled file, no network)."""

import socket
import sys

import numpy as np
import pytest

from bpkit import data


def _rng(seed=0):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------- xor

def test_xor_is_the_truth_table():
    X, y = data.xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [[0], [1], [1], [0]])
    assert X.shape == (4, 2) and y.shape == (4, 1)
    assert X.dtype == y.dtype == np.float64
    np.testing.assert_array_equal(y[:, 0], np.logical_xor(X[:, 0], X[:, 1]))


def test_xor_keeps_the_requested_float_dtype_and_returns_fresh_arrays():
    X, y = data.xor(dtype=np.float32)
    assert X.dtype == y.dtype == np.float32
    X[0, 0] = 99.0
    assert data.xor()[0][0, 0] == 0.0


# ----------------------------------------------------------------------------- spirals

@pytest.mark.parametrize("n, classes", [(1, 2), (50, 3), (17, 5)])
def test_spirals_shapes_labels_and_balance(n, classes):
    X, y = data.spirals(n, classes=classes, rng=_rng())
    assert X.shape == (n * classes, 2) and X.dtype == np.float64
    assert y.shape == (n * classes,) and y.dtype.kind == "i"
    np.testing.assert_array_equal(np.bincount(y, minlength=classes), [n] * classes)
    assert y.min() == 0 and y.max() == classes - 1
    assert np.all(np.abs(X) <= 1.0)                     # radius grows from 0 to 1 along each arm
    radius = np.hypot(X[:, 0], X[:, 1])
    for c in range(classes):                              # each arm runs from the centre to the rim
        r = radius[y == c]
        assert r.min() == pytest.approx(0.0) and r.max() == pytest.approx(1.0 if n > 1 else 0.0)


def test_spirals_noise_only_moves_the_angle():
    X0, y0 = data.spirals(40, rng=_rng(0), noise=0.0)
    X1, y1 = data.spirals(40, rng=_rng(0), noise=0.5)
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_allclose(np.hypot(*X0.T), np.hypot(*X1.T), atol=1e-12)
    assert not np.allclose(X0, X1)
    # without noise the data do not depend on the rng at all
    np.testing.assert_array_equal(X0, data.spirals(40, rng=_rng(7), noise=0.0)[0])


def test_spirals_dtype_float32():
    X, y = data.spirals(10, rng=_rng(), dtype=np.float32)
    assert X.dtype == np.float32 and y.dtype.kind == "i"


# ----------------------------------------------------------------------------- moons

@pytest.mark.parametrize("n", [2, 101, 200])
def test_moons_shapes_labels_and_balance(n):
    X, y = data.moons(n, rng=_rng())
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype.kind == "i"
    assert set(np.unique(y)) == {0, 1}
    np.testing.assert_array_equal(np.bincount(y), [n // 2, n - n // 2])


def test_moons_without_noise_lie_on_the_two_half_circles():
    X, y = data.moons(60, noise=0.0, rng=_rng())
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)                 # centre (0, 0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)     # centre (1, 0.5)
    assert np.all(upper[:, 1] >= -1e-12) and np.all(lower[:, 1] <= 0.5 + 1e-12)


def test_moons_are_shuffled_so_labels_are_not_in_blocks():
    _, y = data.moons(100, rng=_rng())
    assert 0 < np.count_nonzero(np.diff(y)) and not np.all(y[:50] == 0)


def test_moons_noise_has_the_requested_standard_deviation():
    clean, y0 = data.moons(4000, noise=0.0, rng=_rng(3))
    noisy, y1 = data.moons(4000, noise=0.1, rng=_rng(3))
    np.testing.assert_array_equal(y0, y1)                 # same permutation: same rng stream position
    assert np.std(noisy - clean) == pytest.approx(0.1, rel=0.05)


# ----------------------------------------------------------------------------- sequences

@pytest.mark.parametrize("n, T", [(1, 2), (7, 3), (50, 20)])
def test_adding_problem_shapes_markers_and_target(n, T):
    X, y = data.adding_problem(n, T, _rng())
    assert X.shape == (n, T, 2) and y.shape == (n, 1) and X.dtype == y.dtype == np.float64
    values, markers = X[:, :, 0], X[:, :, 1]
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(markers)) <= {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(axis=1), 2)
    np.testing.assert_array_equal(markers[:, :T // 2].sum(axis=1), 1)      # one marker in each half
    np.testing.assert_array_equal(y[:, 0], (values * markers).sum(axis=1))


def test_adding_problem_baselines_are_one_sixth_and_one_twelfth():
    """Predicting 1 has expected MSE Var(u1 + u2) = 1/6; predicting u2 + 1/2, Var(u1) = 1/12."""
    X, y = data.adding_problem(200_000, 20, _rng())
    second = X[:, 10:, 0][X[:, 10:, 1] == 1]                  # the marked value in the second half
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, rel=0.02)
    assert np.mean((y[:, 0] - (second + 0.5)) ** 2) == pytest.approx(1 / 12, rel=0.02)


def test_adding_problem_float32_and_positions_cover_each_half():
    X, y = data.adding_problem(2000, 8, _rng(), dtype=np.float32)
    assert X.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(y[:, 0], (X[:, :, 0] * X[:, :, 1]).sum(axis=1))   # exact in float32 too
    first, second = np.argmax(X[:, :4, 1], axis=1), 4 + np.argmax(X[:, 4:, 1], axis=1)
    assert set(first) == {0, 1, 2, 3} and set(second) == {4, 5, 6, 7}


def test_sine_sequences_are_shifted_by_one_step_and_follow_the_formula():
    X, y = data.sine_sequences(40, 25, _rng(), periods=(5, 12))
    assert X.shape == y.shape == (40, 25, 1) and X.dtype == y.dtype == np.float64
    np.testing.assert_array_equal(X[:, 1:], y[:, :-1])
    s = np.concatenate([X[:, :, 0], y[:, -1:, 0]], axis=1)     # samples 0 .. T
    # Each sequence is sin(w t + phi): s(t + 1) + s(t - 1) = 2 cos(w) s(t), with 2 pi / 12 <= w <= 2 pi / 5.
    for row in s:
        away = np.abs(row[1:-1]) > 0.1                          # divide only by samples away from 0
        cos_w = ((row[2:] + row[:-2]) / (2 * row[1:-1]))[away]
        np.testing.assert_allclose(cos_w, cos_w[0], rtol=1e-9, atol=1e-9)   # one frequency per sequence
        assert 2 * np.pi / 12 - 1e-9 <= np.arccos(cos_w[0]) <= 2 * np.pi / 5 + 1e-9


def test_sine_sequences_noise_and_repeat_last_value_baseline():
    """Repeating the last value has expected squared error 2 sin^2(pi / P) + 2 noise^2 for period P."""
    P, noise = 16.0, 0.1
    X, y = data.sine_sequences(4000, 30, _rng(), periods=(P, P), noise=noise)
    assert np.mean((X - y) ** 2) == pytest.approx(2 * np.sin(np.pi / P) ** 2 + 2 * noise ** 2, rel=0.02)
    clean, _ = data.sine_sequences(4000, 30, _rng(), periods=(P, P))
    assert np.std(X - clean) == pytest.approx(noise, rel=0.02)     # the same periods and phases, plus noise


def test_sine_sequences_float32():
    X, y = data.sine_sequences(5, 7, _rng(), dtype=np.float32)
    assert X.dtype == y.dtype == np.float32


# ----------------------------------------------------------------------------- determinism

GENERATORS = {
    "spirals": lambda rng: data.spirals(30, classes=3, rng=rng),
    "moons": lambda rng: data.moons(30, rng=rng),
    "adding_problem": lambda rng: data.adding_problem(30, 10, rng),
    "sine_sequences": lambda rng: data.sine_sequences(30, 10, rng, noise=0.1),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_same_data_other_seed_other_data(name):
    make = GENERATORS[name]
    Xa, ya = make(_rng(1))
    Xb, yb = make(_rng(1))
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(ya, yb)
    Xc, _ = make(_rng(2))
    assert not np.allclose(Xa, Xc)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_draw_only_from_the_rng_they_are_given(name):
    """The global NumPy RNG is never touched, and the given generator advances."""
    state = np.random.get_state()
    rng = _rng(5)
    before = rng.bit_generator.state
    GENERATORS[name](rng)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]
    assert rng.bit_generator.state != before


# ----------------------------------------------------------------------------- one_hot

def test_one_hot():
    y = np.array([2, 0, 1, 2], dtype=np.uint8)
    Y = data.one_hot(y, 4)
    assert Y.shape == (4, 4) and Y.dtype == np.float64
    np.testing.assert_array_equal(Y, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    np.testing.assert_array_equal(Y.argmax(axis=1), y)
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)


def test_one_hot_of_no_labels_is_an_empty_matrix():
    assert data.one_hot(np.array([], dtype=np.int64), 3).shape == (0, 3)


# ----------------------------------------------------------------------------- train_val_test_split

def _labelled(counts):
    """X whose single column is the row id, and y with ``counts[c]`` examples of class c."""
    y = np.concatenate([np.full(n, c) for c, n in enumerate(counts)])
    return np.arange(len(y), dtype=float).reshape(-1, 1), y


def test_split_is_a_partition_that_keeps_rows_and_labels_together():
    X, y = _labelled([40, 60, 100])
    s = data.train_val_test_split(X, y, val=0.15, test=0.2, seed=0)
    ids = np.concatenate([s.X_train[:, 0], s.X_val[:, 0], s.X_test[:, 0]]).astype(int)
    assert len(ids) == len(set(ids)) == len(y)                     # disjoint and complete
    for Xp, yp in ((s.X_train, s.y_train), (s.X_val, s.y_val), (s.X_test, s.y_test)):
        np.testing.assert_array_equal(y[Xp[:, 0].astype(int)], yp)  # each row keeps its own label
        assert np.all(np.diff(Xp[:, 0]) > 0)                        # original order within each part


def test_split_is_stratified():
    counts = [40, 60, 100]
    X, y = _labelled(counts)
    s = data.train_val_test_split(X, y, val=0.15, test=0.2, seed=0)
    for c, n in enumerate(counts):
        n_test, n_val = round(0.2 * n), round(0.15 * n)
        assert np.count_nonzero(s.y_test == c) == n_test
        assert np.count_nonzero(s.y_val == c) == n_val
        assert np.count_nonzero(s.y_train == c) == n - n_test - n_val
    # the class proportions of every part are those of the whole set
    for part in (s.y_train, s.y_val, s.y_test):
        np.testing.assert_allclose(np.bincount(part) / len(part), np.array(counts) / sum(counts), atol=0.01)


def test_split_depends_only_on_the_seed():
    X, y = _labelled([30, 30])
    a = data.train_val_test_split(X, y, seed=3)
    b = data.train_val_test_split(X, y, seed=3)
    c = data.train_val_test_split(X, y, seed=4)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert [len(p) for p in a] == [len(p) for p in c]
    assert not np.array_equal(a.X_test, c.X_test)


def test_split_with_zero_fractions_keeps_everything_for_training():
    X, y = _labelled([5, 5])
    s = data.train_val_test_split(X, y, val=0.0, test=0.0)
    assert len(s.X_train) == 10 and len(s.X_val) == len(s.X_test) == 0


# ----------------------------------------------------------------------------- digits

def _offline(load):
    """``load()``, ``load()``, ``load(seed=1)`` and ``load(dtype=np.float32)``, with every socket connection
    refused."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    saved = socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo
    socket.socket.connect = socket.socket.connect_ex = refuse
    socket.create_connection = socket.getaddrinfo = refuse
    try:
        return load(), load(), load(seed=1), load(dtype=np.float32)
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo = saved


@pytest.fixture(scope="module")
def offline_digits():
    """``data.digits()`` loaded with every socket connection refused."""
    return _offline(data.digits)


def test_digits_split_sizes_shapes_and_dtypes(offline_digits):
    s = offline_digits[0]
    assert isinstance(s, data.Split)
    assert [len(s.X_train), len(s.X_val), len(s.X_test)] == [1169, 269, 359]   # as the docstring promises
    assert len(s.X_train) + len(s.X_val) + len(s.X_test) == 1797
    for X, y in ((s.X_train, s.y_train), (s.X_val, s.y_val), (s.X_test, s.y_test)):
        assert X.ndim == 2 and X.shape[1] == 64 and X.dtype == np.float64
        assert y.shape == (len(X),) and y.dtype == np.int64


def test_digits_pixels_are_scaled_to_unit_interval(offline_digits):
    s = offline_digits[0]
    X = np.concatenate([s.X_train, s.X_val, s.X_test])
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, np.round(X * 16))          # 17 grey levels, 0/16 .. 16/16


def test_digits_labels_and_class_balance(offline_digits):
    s = offline_digits[0]
    for y in (s.y_train, s.y_val, s.y_test):
        counts = np.bincount(y, minlength=10)
        assert len(counts) == 10 and counts.min() > 0
        assert counts.max() - counts.min() <= 0.05 * len(y) + 1      # stratified: about 10% each


def test_digits_without_scikit_learn_come_from_bpkits_identical_copy(offline_digits, monkeypatch):
    """In JupyterLite there is no scikit-learn: ``digits()`` reads ``bpkit/_data/digits.npz``, which
    holds exactly scikit-learn's images and labels, so the split is the same everywhere."""
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)      # `from sklearn.datasets import ...` fails
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError):
        import sklearn.datasets  # noqa: F401
    for bundled, sklearns in ((data.digits(), offline_digits[0]), (data.digits(dtype=np.float32), offline_digits[3])):
        for u, v in zip(bundled, sklearns):
            assert u.dtype == v.dtype
            np.testing.assert_array_equal(u, v)


def test_digits_split_is_deterministic_from_the_seed(offline_digits):
    a, b, c, _ = offline_digits
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert [len(p) for p in c] == [len(p) for p in a]
    assert not np.array_equal(a.y_test, c.y_test)


def test_digits_float32(offline_digits):
    s32, s64 = offline_digits[3], offline_digits[0]
    assert s32.X_train.dtype == np.float32
    np.testing.assert_allclose(s32.X_train, s64.X_train, rtol=1e-7)


def test_digits_comes_from_the_file_bundled_with_scikit_learn():
    import sklearn.datasets as skd
    from importlib.resources import files
    assert files(skd).joinpath("data", "digits.csv.gz").is_file()




# ----------------------------------------------------------------------------- MNIST

@pytest.fixture(scope="module")
def offline_mnist():
    """``data.mnist()`` loaded with every socket connection refused."""
    return _offline(data.mnist)


def test_mnist_split_sizes_shapes_and_dtypes(offline_mnist):
    s = offline_mnist[0]
    assert isinstance(s, data.Split)
    assert [len(p) for p in s] == [3250, 3250, 750, 750, 1000, 1000]
    for X in (s.X_train, s.X_val, s.X_test):
        assert X.shape[1:] == (784,) and X.dtype == np.float64
    for y in (s.y_train, s.y_val, s.y_test):
        assert y.dtype == np.int64


def test_mnist_pixels_are_256_grey_levels_scaled_to_unit_interval(offline_mnist):
    X = np.concatenate([offline_mnist[0].X_train, offline_mnist[0].X_val, offline_mnist[0].X_test])
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 255, np.round(X * 255))
    assert 0.1 < X.mean() < 0.15                     # MNIST's mean pixel is about 0.13: mostly black paper


def test_mnist_labels_are_balanced_and_all_images_distinct(offline_mnist):
    s = offline_mnist[0]
    for y, n in ((s.y_train, 325), (s.y_val, 75), (s.y_test, 100)):
        np.testing.assert_array_equal(np.bincount(y, minlength=10), np.full(10, n))
    X = np.concatenate([s.X_train, s.X_val, s.X_test])
    assert len(np.unique(X, axis=0)) == 5000


def test_mnist_images_are_upright_digits():
    """Rows are images read row by row: a mean 'one' is a vertical stroke, taller than wide."""
    s = data.mnist()
    ones = s.X_train[s.y_train == 1].mean(axis=0).reshape(28, 28)
    rows, cols = ones.sum(axis=1), ones.sum(axis=0)
    assert (rows > 0.1 * rows.max()).sum() > 1.5 * (cols > 0.1 * cols.max()).sum()


def test_mnist_split_is_deterministic_from_the_seed_and_float32(offline_mnist):
    a, b, c, f32 = offline_mnist
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.y_test, c.y_test) or not np.array_equal(a.X_test, c.X_test)
    assert f32.X_train.dtype == np.float32
    np.testing.assert_allclose(f32.X_train, a.X_train, rtol=1e-7)


def test_mnist_rejects_a_damaged_or_missing_file(tmp_path):
    from bpkit.data import _MNIST_FILE, _MNIST_SHA256, _mnist_arrays
    pixels, labels = _mnist_arrays(_MNIST_FILE, _MNIST_SHA256)
    assert pixels.shape == (5000, 784) and pixels.dtype == np.uint8 and labels.shape == (5000,)
    raw = bytearray(_MNIST_FILE.read_bytes())
    raw[len(raw) // 2] ^= 1                          # one flipped bit
    bad = tmp_path / "mnist_5k.npz"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"mnist: .* is damaged or was replaced: its SHA-256 is [0-9a-f]{64}, "
                                         r"expected " + _MNIST_SHA256):
        _mnist_arrays(bad, _MNIST_SHA256)
    with pytest.raises(FileNotFoundError, match="mnist: bpkit's copy of the MNIST digits is missing .* Reinstall"):
        _mnist_arrays(tmp_path / "nothing.npz", _MNIST_SHA256)


def test_mnist_checks_its_arguments():
    with pytest.raises(ValueError, match="mnist: need fractions"):
        data.mnist(val=0.5, test=0.6)
    with pytest.raises(TypeError, match="mnist: 'dtype' must be a float dtype"):
        data.mnist(dtype=np.int32)


def test_mnist_file_is_package_data():
    """The wheel (and so JupyterLite's bpkit) must carry the file and its licence note."""
    import tomllib
    from pathlib import Path
    root = Path(data.__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["bpkit"]
    assert "_data/*.npz" in globs and "_data/README.md" in globs
    note = (root / "bpkit" / "_data" / "README.md").read_text()
    assert "CC BY-SA 3.0" in note and "LeCun" in note and "Cortes" in note and data._MNIST_SHA256 in note
