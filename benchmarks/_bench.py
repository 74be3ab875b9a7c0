"""What every ``make bench`` script shares: options, thread set-up, the agreement check, timing, the table.

A benchmark script here does four things, in this order:

1. ``args = parse_args(description, argv, extra)`` and ``apply_threads(args)``, *before* it
   imports NumPy: OpenBLAS, MKL and OpenMP read their thread counts from the environment when
   the library is loaded.
2. It checks that its implementations compute the same thing (``compare`` raises ``Mismatch``;
   ``run_checked`` turns that into exit status 1): in float64 element-wise (``rel_error`` below
   ``TOL64``), in float32 relative to each array's largest entry (``scaled_error`` below ``TOL32``).
3. It times them with ``time_interleaved``: alternating blocks, so the slow drifts of a shared
   machine hit all of them alike, after untimed warm-up steps, inside ``ForeignLoad``, which
   measures how much CPU other processes used meanwhile.
4. ``report`` prints medians, interquartile ranges and the ratio of each median to PyTorch's, and
   writes them as JSON if asked.

This module imports only the standard library at import time, so a script can import it before
NumPy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TOL64, TOL32 = 1e-6, 1e-4
TORCH_HINT = ".venv/bin/pip install torch==2.13.0 (always with ==: an unpinned torch pulls several GB)"


# --------------------------------------------------------------------------- options and threads

def parse_args(description, argv=None, extra=None, repeats=200, warmup=20):
    """The options every script has; ``extra(parser)`` adds a script's own."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=repeats, help=f"timed steps per implementation (default {repeats})")
    p.add_argument("--warmup", type=int, default=warmup,
                   help=f"untimed steps before timing (default {warmup}; slow loops use a quarter)")
    p.add_argument("--rounds", type=int, default=10,
                   help="the implementations are timed in this many alternating blocks (default 10)")
    p.add_argument("--pause", type=float, default=0.2,
                   help="seconds to sleep between blocks when using more than one thread, so the "
                        "previous library's spinning threads go idle (default 0.2)")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS/OpenMP threads: sets " + ", ".join(THREAD_VARS) + " before numpy is "
                        "imported (default: whatever the environment says)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is installed")
    p.add_argument("--json", metavar="PATH", help="also write the results and environment as JSON")
    if extra:
        extra(p)
    args = p.parse_args(argv)
    for name, low in (("repeats", 1), ("rounds", 1), ("warmup", 0), ("pause", 0), ("loop_repeats", 0)):
        if getattr(args, name, low) < low:
            p.error(f"--{name.replace('_', '-')} must be >= {low}")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    return args


def apply_threads(args):
    """Set the thread variables from ``--threads``; re-exec if NumPy was loaded before we could."""
    if args.threads is None:
        return
    for var in THREAD_VARS:
        os.environ[var] = str(args.threads)
    if "numpy" in sys.modules and os.environ.get("_BPKIT_BENCH_REEXEC") != "1":
        # numpy was loaded before we could set the variables (e.g. by a sitecustomize):
        # start again in a fresh interpreter that sees them from the beginning.
        os.environ["_BPKIT_BENCH_REEXEC"] = "1"
        os.execv(sys.executable, [sys.executable] + sys.argv)


def import_torch(args):
    """``torch``, or None if it is not installed or ``--no-torch`` was given."""
    if args.no_torch:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch


# --------------------------------------------------------------------------- environment

def blas_info():
    """(description, threads) of the BLAS NumPy uses: threadpoolctl if present, else show_config."""
    import numpy as np
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


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def environment(torch):
    """Print and return the versions, BLAS and threads; sets torch's threads to NumPy's."""
    import numpy as np
    blas_desc, n_threads = blas_info()
    if torch is not None:
        torch.set_num_threads(n_threads)
    env = {
        "python": platform.python_version(), "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None, "blas": blas_desc,
        "blas_threads": n_threads, "torch_threads": torch.get_num_threads() if torch is not None else None,
        "cpus": os.cpu_count(), "machine": platform.machine(), "processor": cpu_name(),
        "env": {v: os.environ.get(v) for v in THREAD_VARS + ("OPENBLAS_CORETYPE",)},
    }
    print(f"python {env['python']}, numpy {env['numpy']}, torch {env['torch'] or 'not installed'}")
    print(f"BLAS: {blas_desc}; threads: numpy/BLAS {n_threads}"
          + (f", torch {env['torch_threads']}" if torch is not None else "") + f"; {env['cpus']} CPUs ({env['processor']})")
    set_vars = ", ".join(f"{k}={v}" for k, v in env["env"].items() if v is not None)
    print("env: " + (set_vars or "no thread or coretype variables set"))
    return env


def say_torch_skipped(args):
    why = "--no-torch given" if args.no_torch else "torch is not installed"
    print(f"PyTorch SKIPPED: {why}. For the comparison: {TORCH_HINT}")


# --------------------------------------------------------------------------- agreement

class Mismatch(Exception):
    pass


def scaled_error(a, b):
    """max |a - b| / max(|a|, |b|): the error relative to the array's scale, for float32.

    The element-wise ``rel_error`` is the strict float64 test; in float32, entries that are sums
    of many cancelling terms (near 0) legitimately differ in relative terms.
    """
    import numpy as np
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-30))


def tolerance(dtype):
    """``(tol, metric, metric name)`` for comparing two implementations in ``dtype``."""
    import numpy as np
    from bpkit.gradcheck import rel_error

    def strict(a, b):
        a, b = np.asarray(a), np.asarray(b)
        return rel_error(a, b) if a.shape == b.shape else float("inf")

    if np.dtype(dtype) == np.float64:
        return TOL64, strict, "element-wise rel error"
    return TOL32, scaled_error, "max error / max |value|"


def compare(what, ours, theirs, dtype):
    """Raise ``Mismatch`` unless every array of the dict ``ours`` matches ``theirs``; return the worst error."""
    tol, metric, name = tolerance(dtype)
    worst = max((metric(ours[k], theirs[k]), k) for k in ours)
    if not worst[0] <= tol:
        raise Mismatch(f"{what}: '{worst[1]}' differs, relative error {worst[0]:.2e} > {tol:g}")
    print(f"  {what}: agree to {worst[0]:.1e}  ({name}, tol {tol:g})")
    return worst[0]


def run_checked(verify, *args):
    """Run the agreement check ``verify(*args)``; on a mismatch print it and exit with status 1."""
    print("checking that the implementations agree ...")
    try:
        verify(*args)
    except Mismatch as exc:
        print(f"MISMATCH: {exc}", file=sys.stderr)
        sys.exit(1)


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


def measure(steps, args, n_threads, reference="pytorch"):
    """Time ``steps`` (see :func:`time_interleaved`); return ``(results, foreign load)``, each result
    with its ratio to the ``reference`` implementation's median (None without it)."""
    rounds = max(1, min(args.rounds, args.repeats))
    with ForeignLoad() as load:
        times = time_interleaved(steps, rounds, args.pause if n_threads > 1 else 0.0)
    results = [summarise(name, ts) for name, ts in times.items() if ts]
    ref = next((r["median_ms"] for r in results if r["impl"] == reference), None)
    for r in results:
        r["vs_pytorch"] = r["median_ms"] / ref if ref else None
    return results, load.cores


def report(title, results, foreign, width=20):
    """Print the table of one workload."""
    print()
    print(title)
    header = f"{'implementation':<{width}} {'steps':>5} {'median ms':>10} {'IQR ms':>8} {'steps/s':>8} {'vs PyTorch':>10}"
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = f"{r['vs_pytorch']:.2f}x" if r["vs_pytorch"] else "-"
        print(f"{r['impl']:<{width}} {r['steps']:>5} {r['median_ms']:>10.3f} {r['iqr_ms']:>8.3f} "
              f"{r['steps_per_s']:>8.1f} {ratio:>10}")
    print("(ratio = median time / PyTorch median time; > 1 is slower)")
    if foreign is not None:
        print(f"other processes used {foreign:.2f} of {os.cpu_count()} CPUs while timing"
              + ("  <- busy machine: expect noisy numbers, run again" if foreign > 0.1 else ""))


def write_json(path, config, env, results):
    with open(path, "w") as f:
        json.dump({"config": config, "env": env, "results": results}, f, indent=2)
    print(f"wrote {path}")
