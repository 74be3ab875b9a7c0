"""Time one training step of a 784-256-256-10 ReLU MLP: bpkit vs PyTorch (CPU) vs a per-example loop.

One step = forward, softmax cross-entropy (mean over the batch), backward, SGD with
momentum 0.9 updating the weights in place. Batch 128, float32. Three implementations:

* ``bpkit``: ``nn.Sequential`` of ``Linear``/``ReLU``, ``losses.softmax_cross_entropy_loss``,
  ``optim.SGD`` -- exactly what the course uses, and what ``bpkit.train.fit`` runs:
  ``model.backward(dlogits, input_grad=False)``, which skips the gradient with respect to
  the data, as PyTorch does for an input that does not require grad.
* ``pytorch``: ``torch.nn`` with the same initial weights, ``F.cross_entropy``,
  ``torch.optim.SGD``; skipped (and said so) if torch is not importable. Its thread count is
  set to the BLAS thread count NumPy uses, so both sides get the same cores.
* ``bpkit, dX too`` and ``pytorch, dX too``: the same steps also computing d(loss)/dX
  (``input_grad=True``; ``X.requires_grad_()``), to compare the libraries at equal work.
* ``loop``: the same maths, one example at a time in a Python loop (matrix-vector products
  and outer products), accumulating the gradients -- what vectorising over the batch saves.

Before timing, the script checks that the implementations compute the same thing, for the
same weights and batch: loss, gradients and two SGD-momentum updates, bpkit vs PyTorch, and
loss and gradients, the loop vs bpkit; in float64 (element-wise relative error < 1e-6) and
float32 (error relative to each array's largest entry < 1e-4). A mismatch exits with
status 1. Data and weights come from ``np.random.default_rng(0)``.

With more than one thread, the implementations are separated by short pauses: OpenBLAS's
idle workers spin for ~0.1 s after each matmul and, on a machine with as many cores as
threads, would slow down the PyTorch block that follows about twofold (see README.md).

Run ``make bench`` (all cores, with ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` unset so
OpenBLAS picks its kernels as on a user's machine) or, for options::

    .venv/bin/python benchmarks/bench_mlp_step.py --threads 1 --repeats 300 --json out.json

Results on the course's reference machine are in ``benchmarks/README.md``.
"""

from __future__ import annotations

# Only the standard library above the thread set-up: OpenBLAS, MKL and OpenMP read their
# thread counts from the environment when the library is loaded, i.e. at `import numpy`.
import argparse
import json
import os
import platform
import statistics
import sys
import time

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=200,
                   help="timed steps for bpkit and PyTorch (default 200)")
    p.add_argument("--warmup", type=int, default=20,
                   help="untimed steps before timing (default 20; the loop uses a quarter)")
    p.add_argument("--rounds", type=int, default=10,
                   help="the implementations are timed in this many alternating blocks (default 10)")
    p.add_argument("--pause", type=float, default=0.2,
                   help="seconds to sleep between blocks when using more than one thread, so the "
                        "previous library's spinning threads go idle (default 0.2)")
    p.add_argument("--loop-repeats", type=int, default=10,
                   help="timed steps for the per-example loop, which is slow (default 10; 0 skips it)")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS/OpenMP threads: sets " + ", ".join(THREAD_VARS) + " before numpy is "
                        "imported (default: whatever the environment says)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is installed")
    p.add_argument("--json", metavar="PATH", help="also write the results and environment as JSON")
    args = p.parse_args(argv)
    for name, low in (("repeats", 1), ("rounds", 1), ("warmup", 0), ("loop_repeats", 0), ("pause", 0)):
        if getattr(args, name) < low:
            p.error(f"--{name.replace('_', '-')} must be >= {low}")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    return args


ARGS = parse_args() if __name__ == "__main__" else parse_args([])     # importable by the tests
if ARGS.threads is not None:
    for var in THREAD_VARS:
        os.environ[var] = str(ARGS.threads)
    if "numpy" in sys.modules and os.environ.get("_BPKIT_BENCH_REEXEC") != "1":
        # numpy was loaded before we could set the variables (e.g. by a sitecustomize):
        # start again in a fresh interpreter that sees them from the beginning.
        os.environ["_BPKIT_BENCH_REEXEC"] = "1"
        os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
from bpkit import losses, nn, optim  # noqa: E402
from bpkit.gradcheck import rel_error  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:
    torch = None
if ARGS.no_torch:
    torch = None

SIZES = (784, 256, 256, 10)
BATCH = 128
LR, MOMENTUM = 0.01, 0.9


# --------------------------------------------------------------------------- environment

def blas_info():
    """(description, threads) of the BLAS NumPy uses: threadpoolctl if present, else show_config."""
    try:
        from threadpoolctl import threadpool_info
        for lib in threadpool_info():
            if lib.get("user_api") == "blas" and "numpy" in lib.get("filepath", ""):
                desc = f"{lib['internal_api']} {lib.get('version')} ({lib.get('architecture') or '?'} " \
                       f"kernels, {lib.get('threading_layer')})"
                return desc, int(lib["num_threads"])
    except Exception:                                   # not installed, or an odd build
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        desc = f"{blas.get('name')} {blas.get('version')} (from np.show_config)"
    except Exception:
        desc = "unknown"
    env = next((os.environ[v] for v in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
                if os.environ.get(v, "").isdigit()), None)
    return desc, int(env) if env else (os.cpu_count() or 1)


# --------------------------------------------------------------------------- the three steps

def make_data(dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[-1], size=BATCH)
    return X, y


def make_bpkit(dtype):
    rng = np.random.default_rng(0)
    layers = []
    for i, (D, M) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        lin = nn.Linear(D, M, rng=rng, dtype=dtype)
        lin.b[...] = rng.uniform(-0.1, 0.1, M)      # non-zero biases, so db is checked for real
        layers.append(lin)
        if i < len(SIZES) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def bpkit_step_fn(model, X, y, opt, input_grad=False):
    """A bpkit training step, as ``bpkit.train.fit`` runs it (``input_grad=False``)."""
    def step():
        logits = model.forward(X)
        loss, dlogits = losses.softmax_cross_entropy_loss(logits, y)
        model.backward(dlogits, input_grad=input_grad)
        opt.step(model.params, model.grads)
        return loss
    return step


def make_torch(model, dtype):
    """A torch.nn MLP holding copies of ``model``'s weights (torch stores W as (M, D))."""
    tdtype = {np.float32: torch.float32, np.float64: torch.float64}[np.dtype(dtype).type]
    mods = []
    for layer in model.layers:
        if isinstance(layer, nn.Linear):
            lin = torch.nn.Linear(layer.D, layer.M, dtype=tdtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.W.T)))
                lin.bias.copy_(torch.from_numpy(layer.b.copy()))
            mods.append(lin)
        else:
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods)


def torch_grads(tmodel):
    """The torch gradients under bpkit's names and layouts: ``{"0.W": (D, M), "0.b": (M,)}``."""
    out = {}
    for i, m in enumerate(tmodel):
        if isinstance(m, torch.nn.Linear):
            out[f"{i}.W"] = m.weight.grad.detach().numpy().T
            out[f"{i}.b"] = m.bias.grad.detach().numpy()
    return out


def torch_params(tmodel):
    out = {}
    for i, m in enumerate(tmodel):
        if isinstance(m, torch.nn.Linear):
            out[f"{i}.W"] = m.weight.detach().numpy().T
            out[f"{i}.b"] = m.bias.detach().numpy()
    return out


def torch_step_fn(tmodel, X, y, opt, input_grad=False):
    """A torch training step. ``input_grad=True`` also computes d(loss)/dX, which torch
    normally skips for an input that does not require grad but bpkit's ``backward`` always
    returns: the same work as bpkit, to separate "more work" from "slower at the same work"."""
    tX, ty = torch.from_numpy(X.copy()), torch.from_numpy(y)
    tX.requires_grad_(input_grad)
    F = torch.nn.functional

    def step():
        opt.zero_grad(set_to_none=True)
        tX.grad = None
        loss = F.cross_entropy(tmodel(tX), ty)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def loop_grads(params, X, y):
    """Loss and gradients computed one example at a time, as one would before vectorising."""
    Ws = [params[f"{i}.W"] for i in (0, 2, 4)]
    bs = [params[f"{i}.b"] for i in (0, 2, 4)]
    N = X.shape[0]
    grads = [np.zeros_like(W) for W in Ws], [np.zeros_like(b) for b in bs]
    total = 0.0
    for n in range(N):
        x = X[n]                                            # (D,)
        h1 = np.maximum(x @ Ws[0] + bs[0], 0)               # (256,)
        h2 = np.maximum(h1 @ Ws[1] + bs[1], 0)              # (256,)
        s = h2 @ Ws[2] + bs[2]                              # (10,)
        m = s.max()
        e = np.exp(s - m)
        total += m + np.log(e.sum()) - s[y[n]]
        ds = e / e.sum()
        ds[y[n]] -= 1
        ds /= N                                             # mean over the batch
        dWs, dbs = grads
        dWs[2] += np.outer(h2, ds)
        dbs[2] += ds
        dh2 = (Ws[2] @ ds) * (h2 > 0)
        dWs[1] += np.outer(h1, dh2)
        dbs[1] += dh2
        dh1 = (Ws[1] @ dh2) * (h1 > 0)
        dWs[0] += np.outer(x, dh1)
        dbs[0] += dh1
    dWs, dbs = grads
    g = {}
    for i, dW, db in zip((0, 2, 4), dWs, dbs):
        g[f"{i}.W"], g[f"{i}.b"] = dW, db
    return total / N, g


def loop_step_fn(params, X, y):
    velocity = {}

    def step():
        loss, grads = loop_grads(params, X, y)
        for k, p in params.items():                         # SGD with momentum, as torch does it
            if k in velocity:
                velocity[k] *= MOMENTUM
                velocity[k] += grads[k]
            else:
                velocity[k] = grads[k].copy()
            p -= LR * velocity[k]
        return loss
    return step


# --------------------------------------------------------------------------- correctness

class Mismatch(Exception):
    pass


def scaled_error(a, b):
    """max |a - b| / max(|a|, |b|): the error relative to the array's scale, for float32.

    The element-wise :func:`rel_error` is the strict float64 test; in float32, entries
    that are sums of many cancelling terms (near 0) legitimately differ in relative terms.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-30))


def compare(what, ours, theirs, tol, metric):
    worst = max((metric(ours[k], theirs[k]), k) for k in ours)
    if worst[0] > tol:
        raise Mismatch(f"{what}: '{worst[1]}' differs, relative error {worst[0]:.2e} > {tol:g}")
    return worst[0]


def verify(use_torch):
    """Check that bpkit, PyTorch and the loop compute the same step; raise Mismatch if not.

    float64: element-wise relative error (bpkit.gradcheck.rel_error) below 1e-6.
    float32: error relative to each array's scale below 1e-4 (float32 carries ~7 digits).
    """
    checks = ((np.float64, 1e-6, rel_error, "element-wise rel error"),
              (np.float32, 1e-4, scaled_error, "max error / max |value|"))
    for dtype, tol, metric, metric_name in checks:
        name = np.dtype(dtype).name
        X, y = make_data(dtype)
        model = make_bpkit(dtype)
        params0 = model.state_dict()
        loss, dlogits = losses.softmax_cross_entropy_loss(model.forward(X), y)
        model.backward(dlogits, input_grad=False)            # as timed below
        grads = {k: v.copy() for k, v in model.grads.items()}

        l_loop, g_loop = loop_grads(params0, X, y)
        rl = abs(l_loop - loss) / abs(loss)
        if rl > tol:
            raise Mismatch(f"{name} loop vs bpkit: loss {l_loop!r} vs {loss!r}")
        e = compare(f"{name} loop vs bpkit gradients", g_loop, grads, tol, metric)
        print(f"  {name}: loop  vs bpkit: loss {rl:.1e}, grads {e:.1e}  ({metric_name}, tol {tol:g})")

        if use_torch:
            tmodel = make_torch(model, dtype)
            tX, ty = torch.from_numpy(X), torch.from_numpy(y)
            tloss = torch.nn.functional.cross_entropy(tmodel(tX), ty)
            tloss.backward()
            rl = abs(tloss.item() - loss) / abs(loss)
            if rl > tol:
                raise Mismatch(f"{name} torch vs bpkit: loss {tloss.item()!r} vs {loss!r}")
            e = compare(f"{name} torch vs bpkit gradients", torch_grads(tmodel), grads, tol, metric)
            # two SGD-momentum updates from these gradients (the second one uses the
            # velocity) must land on the same weights
            opt, topt = optim.SGD(lr=LR, momentum=MOMENTUM), torch.optim.SGD(
                tmodel.parameters(), lr=LR, momentum=MOMENTUM)
            for _ in range(2):
                opt.step(model.params, model.grads)
                topt.step()
            e2 = compare(f"{name} torch vs bpkit after two SGD steps", torch_params(tmodel),
                         model.params, tol, metric)
            print(f"  {name}: torch vs bpkit: loss {rl:.1e}, grads {e:.1e}, params after two "
                  f"SGD steps {e2:.1e}  ({metric_name}, tol {tol:g})")


# --------------------------------------------------------------------------- timing

def time_steps(step, warmup, repeats):
    """Per-step wall times (s) of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
    return ts


def time_interleaved(steps, rounds, pause):
    """Time several step functions in alternating blocks, so the slow drifts of a shared
    machine (another process, frequency changes) hit all of them alike.

    ``steps`` maps a name to ``(step, repeats, warmup)``. Each implementation first runs its
    ``warmup`` untimed steps, then each round times a block of about ``repeats / rounds``
    steps per implementation. Before each block we sleep ``pause`` seconds and run two
    untimed steps: after a matmul, OpenBLAS's worker threads keep spinning for up to
    ~0.1 s (OPENBLAS_THREAD_TIMEOUT, 2**28 cycles), and with 2 threads on 2 cores they
    would steal a core from PyTorch's OpenMP threads in the block that follows.
    """
    times = {name: [] for name in steps}
    for step, _, warmup in steps.values():
        time_steps(step, warmup, 0)
    for r in range(rounds):
        for name, (step, repeats, _) in steps.items():
            n = repeats // rounds + (1 if r < repeats % rounds else 0)
            if n:
                time.sleep(pause)
                times[name] += time_steps(step, 2, n)
    return times


def _cpu_jiffies():
    """(busy, total) jiffies over all CPUs from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v) - v[3] - v[4], sum(v)
    except (OSError, ValueError, IndexError):
        return None


class ForeignLoad:
    """Measure how much CPU *other* processes used while timing (Linux only): timings on a
    shared machine are only comparable when this is near zero."""

    def __enter__(self):
        self.j0, self.t0 = _cpu_jiffies(), os.times()
        return self

    def __exit__(self, *exc):
        j1, t1 = _cpu_jiffies(), os.times()
        self.cores = None
        if self.j0 and j1 and t1.elapsed > self.t0.elapsed:
            hz = os.sysconf("SC_CLK_TCK")
            busy = (j1[0] - self.j0[0]) / hz
            own = (t1.user + t1.system) - (self.t0.user + self.t0.system)
            self.cores = max(0.0, busy - own) / (t1.elapsed - self.t0.elapsed)
        return False


def summarise(name, ts):
    ms = sorted(t * 1e3 for t in ts)
    q = statistics.quantiles(ms, n=4, method="inclusive") if len(ms) > 1 else [ms[0]] * 3
    return {"impl": name, "steps": len(ms), "median_ms": q[1], "iqr_ms": q[2] - q[0],
            "q1_ms": q[0], "q3_ms": q[2], "min_ms": ms[0], "steps_per_s": 1e3 / q[1]}


def main():
    blas_desc, n_threads = blas_info()
    use_torch = torch is not None
    if use_torch:
        torch.set_num_threads(n_threads)

    env = {
        "python": platform.python_version(), "numpy": np.__version__,
        "torch": torch.__version__ if use_torch else None, "blas": blas_desc,
        "blas_threads": n_threads, "torch_threads": torch.get_num_threads() if use_torch else None,
        "cpus": os.cpu_count(), "machine": platform.machine(), "processor": _cpu_name(),
        "env": {v: os.environ.get(v) for v in THREAD_VARS + ("OPENBLAS_CORETYPE",)},
    }
    print(f"MLP {'-'.join(map(str, SIZES))} ReLU, batch {BATCH}, float32, softmax cross-entropy, "
          f"SGD(lr={LR}, momentum={MOMENTUM})")
    print(f"python {env['python']}, numpy {env['numpy']}, torch {env['torch'] or 'not installed'}")
    print(f"BLAS: {blas_desc}; threads: numpy/BLAS {n_threads}"
          + (f", torch {env['torch_threads']}" if use_torch else "") + f"; {env['cpus']} CPUs ({env['processor']})")
    set_vars = ", ".join(f"{k}={v}" for k, v in env["env"].items() if v is not None)
    print("env: " + (set_vars or "no thread or coretype variables set"))

    if not use_torch:
        why = "--no-torch given" if ARGS.no_torch else "torch is not installed"
        print(f"PyTorch SKIPPED: {why}. For the comparison: .venv/bin/pip install torch==2.13.0 "
              "(always with ==: an unpinned torch pulls several GB)")
    print("checking that the implementations agree ...")
    try:
        verify(use_torch)
    except Mismatch as exc:
        print(f"MISMATCH: {exc}", file=sys.stderr)
        sys.exit(1)

    dtype = np.float32
    X, y = make_data(dtype)

    model = make_bpkit(dtype)
    params0 = model.state_dict()
    steps = {"bpkit": (bpkit_step_fn(model, X, y, optim.SGD(lr=LR, momentum=MOMENTUM)),
                      ARGS.repeats, ARGS.warmup)}
    if use_torch:
        tmodel = make_torch(make_bpkit(dtype), dtype)
        topt = torch.optim.SGD(tmodel.parameters(), lr=LR, momentum=MOMENTUM)
        steps["pytorch"] = (torch_step_fn(tmodel, X, y, topt), ARGS.repeats, ARGS.warmup)
    model2 = make_bpkit(dtype)
    steps["bpkit, dX too"] = (bpkit_step_fn(model2, X, y, optim.SGD(lr=LR, momentum=MOMENTUM), input_grad=True),
                              ARGS.repeats, ARGS.warmup)
    if use_torch:
        tmodel2 = make_torch(make_bpkit(dtype), dtype)
        topt2 = torch.optim.SGD(tmodel2.parameters(), lr=LR, momentum=MOMENTUM)
        steps["pytorch, dX too"] = (torch_step_fn(tmodel2, X, y, topt2, input_grad=True),
                                    ARGS.repeats, ARGS.warmup)
    if ARGS.loop_repeats:
        loop_params = {k: v.copy() for k, v in params0.items()}
        steps["loop (per example)"] = (loop_step_fn(loop_params, X, y), ARGS.loop_repeats,
                                       max(1, ARGS.warmup // 4))
    rounds = max(1, min(ARGS.rounds, ARGS.repeats))
    with ForeignLoad() as load:
        times = time_interleaved(steps, rounds, ARGS.pause if n_threads > 1 else 0.0)
    results = [summarise(name, ts) for name, ts in times.items() if ts]

    ref = next((r["median_ms"] for r in results if r["impl"] == "pytorch"), None)
    for r in results:
        r["vs_pytorch"] = r["median_ms"] / ref if ref else None

    print()
    header = f"{'implementation':<20} {'steps':>5} {'median ms':>10} {'IQR ms':>8} {'steps/s':>8} {'vs PyTorch':>10}"
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = f"{r['vs_pytorch']:.2f}x" if r["vs_pytorch"] else "-"
        print(f"{r['impl']:<20} {r['steps']:>5} {r['median_ms']:>10.3f} {r['iqr_ms']:>8.3f} "
              f"{r['steps_per_s']:>8.1f} {ratio:>10}")
    print("(ratio = median time / PyTorch median time; > 1 is slower)")
    if load.cores is not None:
        print(f"other processes used {load.cores:.2f} of {os.cpu_count()} CPUs while timing"
              + ("  <- busy machine: expect noisy numbers, run again" if load.cores > 0.1 else ""))

    if ARGS.json:
        with open(ARGS.json, "w") as f:
            config = {"sizes": SIZES, "batch": BATCH, "dtype": "float32", "lr": LR,
                      "momentum": MOMENTUM, "repeats": ARGS.repeats, "warmup": ARGS.warmup,
                      "rounds": ARGS.rounds, "pause": ARGS.pause, "loop_repeats": ARGS.loop_repeats}
            env["foreign_load_cpus"] = load.cores
            json.dump({"config": config,
                       "env": env, "results": results}, f, indent=2)
        print(f"wrote {ARGS.json}")


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
