"""Time the forward plus backward pass of bpkit's conv2d, max pooling and LSTM against PyTorch (CPU).

Each workload is one layer, float32, forward and backward with every gradient (the input's too,
``requires_grad`` on PyTorch's side, so both do the same arithmetic):

* ``conv``: ``conv2d_forward``/``conv2d_backward``, 3x3 kernels, N=64, C=16, 28x28, F=32, stride 1,
  padding 1, against ``F.conv2d``, and a **loop** over the output positions (one matrix product
  over the batch per position, forward and backward): what im2col saves.
* ``pool``: ``maxpool2d_forward``/``maxpool2d_backward``, 2x2 windows, stride 2, N=64, C=32, 28x28,
  against ``F.max_pool2d``.
* ``lstm``: ``lstm_forward``/``lstm_backward``, T=50, N=32, D=64, H=128, every hidden state out and
  backpropagation through time, against ``torch.nn.LSTM`` with the same weights (its gate order
  i, f, g, o and transposed weights, mapped from bpkit's i, f, o, g).

Before timing, each workload checks that its implementations agree on the output and every
gradient for the same data and weights, in float64 (element-wise relative error < 1e-6) and
float32 (error relative to each array's largest entry < 1e-4): bpkit against PyTorch where it is
installed, and against a reference written without the fast paths (the loop over output positions
for conv, a loop over the windows' positions for pooling, ``lstm_step_forward``/``lstm_step_backward``
step by step for the LSTM). A mismatch exits with status 1. Data come from
``np.random.default_rng(0)``.

Run ``make bench`` (all cores, OpenBLAS's own kernel choice) or, for options::

    .venv/bin/python benchmarks/bench_layers.py --layers conv,lstm --threads 1 --json out.json

The options, the agreement check, the timing and the table are shared with ``bench_mlp_step.py``
(``_bench.py``). Results on the course's reference machine are in ``benchmarks/README.md``.
"""

from __future__ import annotations

# Only the standard library above the thread set-up (see _bench.py).
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _bench  # noqa: E402

LAYERS = ("conv", "pool", "lstm")


def _extra(p):
    p.add_argument("--layers", default=",".join(LAYERS),
                   help="comma-separated workloads to run, from " + ", ".join(LAYERS) + " (default: all)")
    p.add_argument("--loop-repeats", type=int, default=5,
                   help="timed steps for the conv loop over output positions (default 5; 0 skips it)")
    p.add_argument("--small", action="store_true", help="tiny sizes, for the tests: seconds, not minutes")


ARGS = _bench.parse_args(__doc__.split("\n\n")[0], None if __name__ == "__main__" else [], _extra,
                         repeats=50, warmup=5)
_bench.apply_threads(ARGS)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
from bpkit import ops  # noqa: E402

torch = _bench.import_torch(ARGS)
Mismatch = _bench.Mismatch


def sizes(small=False):
    """The workloads' sizes: the issue's, or tiny ones for the tests."""
    if small:
        return {"conv": dict(N=2, C=3, H=6, F=4, K=3, stride=1, padding=1),
                "pool": dict(N=2, C=3, H=6, K=2),
                "lstm": dict(N=3, T=4, D=5, H=6)}
    return {"conv": dict(N=64, C=16, H=28, F=32, K=3, stride=1, padding=1),
            "pool": dict(N=64, C=32, H=28, K=2),
            "lstm": dict(N=32, T=50, D=64, H=128)}


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


# --------------------------------------------------------------------------- conv

def conv_data(dtype, N, C, H, F, K, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, H)).astype(dtype)
    W = (rng.standard_normal((F, C, K, K)) / np.sqrt(C * K * K)).astype(dtype)
    b = rng.uniform(-0.1, 0.1, F).astype(dtype)
    H_out = (H + 2 * padding - K) // stride + 1
    dout = rng.standard_normal((N, F, H_out, H_out)).astype(dtype)
    return x, W, b, dout


def conv_bpkit(x, W, b, dout, stride, padding):
    out, cache = ops.conv2d_forward(x, W, b, stride, padding)
    dx, dW, db = ops.conv2d_backward(dout, cache)
    return {"out": out, "dx": dx, "dW": dW, "db": db}


def conv_loop(x, W, b, dout, stride, padding):
    """Forward and backward with a Python loop over the output positions: at each (i, j) one
    matrix product over the batch and the filters, (N, C KH KW) @ (C KH KW, F)."""
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    H_out, W_out = dout.shape[2:]
    Wm = W.reshape(F, -1)
    out = np.empty((N, F, H_out, W_out), dtype=x.dtype)
    dxp, dWm = np.zeros_like(xp), np.zeros_like(Wm)
    for i in range(H_out):
        for j in range(W_out):
            rows, cols = slice(i * stride, i * stride + KH), slice(j * stride, j * stride + KW)
            window = xp[:, :, rows, cols].reshape(N, -1)                 # (N, C KH KW)
            out[:, :, i, j] = window @ Wm.T + b
            g = dout[:, :, i, j]                                         # (N, F)
            dWm += g.T @ window
            dxp[:, :, rows, cols] += (g @ Wm).reshape(N, C, KH, KW)
    dx = dxp[:, :, padding:padding + H, padding:padding + Wd]
    return {"out": out, "dx": dx, "dW": dWm.reshape(W.shape), "db": dout.sum(axis=(0, 2, 3))}


def conv_torch(x, W, b, dout, stride, padding):
    tx, tW, tb = (_t(a).requires_grad_() for a in (x, W, b))
    out = torch.nn.functional.conv2d(tx, tW, tb, stride=stride, padding=padding)
    out.backward(_t(dout))
    return {"out": out.detach().numpy(), "dx": tx.grad.numpy(), "dW": tW.grad.numpy(), "db": tb.grad.numpy()}


def conv_torch_step(x, W, b, dout, stride, padding):
    tx, tW, tb = (_t(a).requires_grad_() for a in (x, W, b))
    tdout = _t(dout)

    def step():
        tx.grad = tW.grad = tb.grad = None
        torch.nn.functional.conv2d(tx, tW, tb, stride=stride, padding=padding).backward(tdout)
    return step


# --------------------------------------------------------------------------- max pooling

def pool_data(dtype, N, C, H, K):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, H)).astype(dtype)
    dout = rng.standard_normal((N, C, (H - K) // K + 1, (H - K) // K + 1)).astype(dtype)
    return x, dout


def pool_bpkit(x, dout, K):
    out, cache = ops.maxpool2d_forward(x, K)
    return {"out": out, "dx": ops.maxpool2d_backward(dout, cache)}


def pool_loop(x, dout, K):
    """A loop over the windows' positions, each window's maximum found with argmax over the batch."""
    N, C = x.shape[:2]
    H_out, W_out = dout.shape[2:]
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    dx = np.zeros_like(x)
    n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(H_out):
        for j in range(W_out):
            win = x[:, :, i * K:(i + 1) * K, j * K:(j + 1) * K].reshape(N, C, -1)
            k = win.argmax(axis=-1)                                      # first maximum on ties
            out[:, :, i, j] = np.take_along_axis(win, k[..., None], axis=-1)[..., 0]
            dx[n, c, i * K + k // K, j * K + k % K] += dout[:, :, i, j]
    return {"out": out, "dx": dx}


def pool_torch(x, dout, K):
    tx = _t(x).requires_grad_()
    out = torch.nn.functional.max_pool2d(tx, K)
    out.backward(_t(dout))
    return {"out": out.detach().numpy(), "dx": tx.grad.numpy()}


def pool_torch_step(x, dout, K):
    tx, tdout = _t(x).requires_grad_(), _t(dout)

    def step():
        tx.grad = None
        torch.nn.functional.max_pool2d(tx, K).backward(tdout)
    return step


# --------------------------------------------------------------------------- LSTM

def lstm_data(dtype, N, T, D, H):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = (0.1 * rng.standard_normal((N, H))).astype(dtype)
    Wx = (rng.standard_normal((D, 4 * H)) / np.sqrt(D)).astype(dtype)
    Wh = (rng.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(dtype)
    b = rng.uniform(-0.1, 0.1, 4 * H).astype(dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)
    return x, h0, Wx, Wh, b, dh


LSTM_NAMES = ("dx", "dh0", "dWx", "dWh", "db")


def lstm_bpkit(x, h0, Wx, Wh, b, dh):
    h, cache = ops.lstm_forward(x, h0, Wx, Wh, b)
    return dict(h=h, **dict(zip(LSTM_NAMES, ops.lstm_backward(dh, cache))))


def lstm_steps(x, h0, Wx, Wh, b, dh):
    """The reference: ``lstm_step_forward`` and ``lstm_step_backward`` (the clear version), step by step."""
    N, T, _ = x.shape
    h_t, c_t, caches, hs = h0, np.zeros_like(h0), [], []
    for t in range(T):
        h_t, c_t, cache = ops.lstm_step_forward(x[:, t], h_t, c_t, Wx, Wh, b)
        hs.append(h_t)
        caches.append(cache)
    dx = np.empty_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        dx[:, t], dh_next, dc_next, gWx, gWh, gb = ops.lstm_step_backward(dh[:, t] + dh_next, dc_next, caches[t])
        dWx += gWx
        dWh += gWh
        db += gb
    return {"h": np.stack(hs, axis=1), "dx": dx, "dh0": dh_next, "dWx": dWx, "dWh": dWh, "db": db}


def _torch_lstm(Wx, Wh, b, dtype):
    """A ``torch.nn.LSTM`` with bpkit's weights: gate blocks i, f, o, g -> i, f, g, o, transposed."""
    D, H = Wx.shape[0], Wh.shape[0]
    order = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]                    # i, f, g, o taken from i, f, o, g
    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype={np.float32: torch.float32,
                                                        np.float64: torch.float64}[np.dtype(dtype).type])
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(_t(Wx[:, order].T))
        lstm.weight_hh_l0.copy_(_t(Wh[:, order].T))
        lstm.bias_ih_l0.copy_(_t(b[order]))
        lstm.bias_hh_l0.zero_()
    return lstm, order


def lstm_torch(x, h0, Wx, Wh, b, dh):
    lstm, order = _torch_lstm(Wx, Wh, b, x.dtype)
    tx, th0 = _t(x).requires_grad_(), _t(h0[None]).requires_grad_()
    h, _ = lstm(tx, (th0, torch.zeros_like(th0)))
    h.backward(_t(dh))
    back = np.argsort(order)                                             # i, f, g, o -> i, f, o, g
    return {"h": h.detach().numpy(), "dx": tx.grad.numpy(), "dh0": th0.grad.numpy()[0],
            "dWx": lstm.weight_ih_l0.grad.numpy().T[:, back], "dWh": lstm.weight_hh_l0.grad.numpy().T[:, back],
            "db": lstm.bias_ih_l0.grad.numpy()[back]}


def lstm_torch_step(x, h0, Wx, Wh, b, dh):
    lstm, _ = _torch_lstm(Wx, Wh, b, x.dtype)
    tx, th0, tdh = _t(x).requires_grad_(), _t(h0[None]).requires_grad_(), _t(dh)
    tc0 = torch.zeros_like(th0)

    def step():
        tx.grad = th0.grad = None
        lstm.zero_grad(set_to_none=True)
        lstm(tx, (th0, tc0))[0].backward(tdh)
    return step


# --------------------------------------------------------------------------- the workloads

def workload(name, s):
    """``(title, data(dtype), bpkit, reference name, reference, torch, torch step maker)`` of a workload."""
    if name == "conv":
        kw = dict(stride=s["stride"], padding=s["padding"])
        title = (f"conv2d {s['K']}x{s['K']}, N={s['N']}, C={s['C']}, {s['H']}x{s['H']}, F={s['F']}, "
                 f"stride {s['stride']}, padding {s['padding']}: forward + backward (dx, dW, db)")
        return (title, lambda dt: conv_data(dt, **s), lambda *a: conv_bpkit(*a, **kw), "loop over positions",
                lambda *a: conv_loop(*a, **kw), lambda *a: conv_torch(*a, **kw), lambda *a: conv_torch_step(*a, **kw))
    if name == "pool":
        K = s["K"]
        title = f"max pool {K}x{K}, stride {K}, N={s['N']}, C={s['C']}, {s['H']}x{s['H']}: forward + backward"
        return (title, lambda dt: pool_data(dt, **s), lambda *a: pool_bpkit(*a, K), "loop over windows",
                lambda *a: pool_loop(*a, K), lambda *a: pool_torch(*a, K), lambda *a: pool_torch_step(*a, K))
    title = (f"LSTM T={s['T']}, N={s['N']}, D={s['D']}, H={s['H']}: every hidden state, "
             "backpropagation through time")
    return (title, lambda dt: lstm_data(dt, **s), lstm_bpkit, "lstm_step_* step by step", lstm_steps,
            lstm_torch, lstm_torch_step)


def verify(name, use_torch, small=False):
    """Check that bpkit, its reference and PyTorch agree on ``name``'s outputs and gradients."""
    _, data, ours, ref_name, ref, theirs, _ = workload(name, sizes(small)[name])
    for dtype in (np.float64, np.float32):
        d = data(dtype)
        got = ours(*d)
        _bench.compare(f"{name} {np.dtype(dtype).name}: {ref_name} vs bpkit", ref(*d), got, dtype)
        if use_torch:
            _bench.compare(f"{name} {np.dtype(dtype).name}: torch vs bpkit", theirs(*d), got, dtype)


def main():
    use_torch = torch is not None
    names = [n.strip() for n in ARGS.layers.split(",") if n.strip()]
    unknown = sorted(set(names) - set(LAYERS))
    if unknown or not names:
        sys.exit(f"bench_layers: unknown --layers {', '.join(unknown) or '(none)'}; choose from {', '.join(LAYERS)}")
    env = _bench.environment(torch)
    if not use_torch:
        _bench.say_torch_skipped(ARGS)
    for name in names:
        _bench.run_checked(verify, name, use_torch, ARGS.small)

    everything = {}
    for name in names:
        s = sizes(ARGS.small)[name]
        title, data, ours, ref_name, ref, _, torch_step = workload(name, s)
        d = data(np.float32)
        steps = {"bpkit": (lambda: ours(*d), ARGS.repeats, ARGS.warmup)}
        if use_torch:
            steps["pytorch"] = (torch_step(*d), ARGS.repeats, ARGS.warmup)
        if name == "conv" and ARGS.loop_repeats:
            steps["loop over positions"] = (lambda: ref(*d), ARGS.loop_repeats, max(1, ARGS.warmup // 4))
        results, foreign = _bench.measure(steps, ARGS, env["blas_threads"])
        _bench.report(title + ", float32", results, foreign)
        everything[name] = {"sizes": s, "results": results, "foreign_load_cpus": foreign}
    if ARGS.json:
        config = {"layers": names, "dtype": "float32", "repeats": ARGS.repeats, "warmup": ARGS.warmup,
                  "rounds": ARGS.rounds, "pause": ARGS.pause, "loop_repeats": ARGS.loop_repeats, "small": ARGS.small}
        _bench.write_json(ARGS.json, config, env, everything)


if __name__ == "__main__":
    main()
