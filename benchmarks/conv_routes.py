"""Time conv2d's two stride-1 routes against each other: im2col and the rows of ``_conv_rows``.

``bpkit.ops.conv2d_forward`` takes the rows route (one product per kernel offset on shifted rows
of pixels, in blocks of images on BLAS's threads) when the stride is 1 and the input has at least
``conv._ROWS_MIN_CHANNELS`` channels, and im2col (one product over all the windows) otherwise.
This script shows where that line comes from: forward plus backward (dx, dW, db), float32, on 64
images of 28 x 28 (the sizes of ``make bench`` and of Chapter 7's LeNet), for several channel
counts and kernels, each route forced, after a check that the two agree. Run it with one thread
and with all::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/conv_routes.py
    env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS .venv/bin/python benchmarks/conv_routes.py

Results on the course's machine are in ``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _bench  # noqa: E402

from bpkit.ops import _conv_rows, _threads, conv  # noqa: E402

#: (N, C, H, F, K): the benchmark's layer, LeNet's two, and the channel counts around the line
CASES = [(64, 1, 28, 16, 3), (64, 2, 28, 32, 3), (64, 4, 28, 32, 3), (64, 8, 28, 32, 3),
         (64, 16, 28, 32, 3), (64, 16, 14, 32, 3), (64, 32, 14, 64, 3), (64, 1, 28, 16, 5), (64, 8, 28, 16, 5)]


def routes(x, W, b, dout, p):
    """The two routes' forward plus backward, as functions of no argument."""
    def rows():
        out = _conv_rows.forward(x, W, b, p)
        return (out,) + _conv_rows.backward(dout, x, W, p)

    def im2col():
        out, cols = conv._im2col_conv(x, W, b, 1, p)
        return (out,) + conv._im2col_conv_backward(dout, (x.shape, W, cols, 1, p))

    return rows, im2col


def median_ms(step, repeats=20):
    return 1e3 * float(np.median(_bench.time_steps(step, 1, repeats)))


def main(argv=None):
    small = "--small" in (sys.argv[1:] if argv is None else argv)   # tiny sizes, for the tests
    cases = [(2, C, 6, F, K) for _, C, _, F, K in CASES[:4]] if small else CASES
    rng = np.random.default_rng(0)
    print(f"BLAS threads: {_threads.blas_threads()}; rows route from {conv._ROWS_MIN_CHANNELS} channels")
    print(f"{'N':>3} {'C':>3} {'HxW':>6} {'F':>3} {'K':>2} {'rows ms':>8} {'im2col ms':>10} {'rows/im2col':>12}")
    for N, C, H, F, K in cases:
        x = rng.standard_normal((N, C, H, H)).astype(np.float32)
        W = (rng.standard_normal((F, C, K, K)) / np.sqrt(C * K * K)).astype(np.float32)
        b = rng.standard_normal(F).astype(np.float32)
        dout = rng.standard_normal((N, F, H, H)).astype(np.float32)
        rows, im2col = routes(x, W, b, dout, K // 2)
        for name, a, c in zip(("out", "dx", "dW", "db"), rows(), im2col()):
            err = np.abs(a - c).max() / np.abs(c).max()
            if not err < 1e-4:
                sys.exit(f"the routes disagree on {name} for {(N, C, H, F, K)}: {err:.1e}")
        t_rows, t_cols = median_ms(rows, 2 if small else 20), median_ms(im2col, 2 if small else 20)
        print(f"{N:3d} {C:3d} {H:3d}x{H:<2d} {F:3d} {K:2d} {t_rows:8.2f} {t_cols:10.2f} {t_rows / t_cols:11.2f}x")


if __name__ == "__main__":
    main()
