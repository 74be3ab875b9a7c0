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

The options, the agreement check, the timing and the table are shared with ``bench_layers.py``
(``_bench.py``). Results on the course's reference machine are in ``benchmarks/README.md``.
"""

from __future__ import annotations

# Only the standard library above the thread set-up: OpenBLAS, MKL and OpenMP read their
# thread counts from the environment when the library is loaded, i.e. at `import numpy`.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _bench  # noqa: E402


def _extra(p):
    p.add_argument("--loop-repeats", type=int, default=10,
                   help="timed steps for the per-example loop, which is slow (default 10; 0 skips it)")


ARGS = _bench.parse_args(__doc__.split("\n\n")[0], None if __name__ == "__main__" else [], _extra)
_bench.apply_threads(ARGS)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
from bpkit import losses, nn, optim  # noqa: E402

torch = _bench.import_torch(ARGS)
Mismatch = _bench.Mismatch

SIZES = (784, 256, 256, 10)
BATCH = 128
LR, MOMENTUM = 0.01, 0.9


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

def verify(use_torch):
    """Check that bpkit, PyTorch and the loop compute the same step; raise Mismatch if not.

    float64: element-wise relative error (bpkit.gradcheck.rel_error) below 1e-6.
    float32: error relative to each array's scale below 1e-4 (float32 carries ~7 digits).
    """
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        X, y = make_data(dtype)
        model = make_bpkit(dtype)
        params0 = model.state_dict()
        loss, dlogits = losses.softmax_cross_entropy_loss(model.forward(X), y)
        model.backward(dlogits, input_grad=False)            # as timed below
        grads = {k: v.copy() for k, v in model.grads.items()}

        l_loop, g_loop = loop_grads(params0, X, y)
        _bench.compare(f"{name} loop vs bpkit loss", {"loss": l_loop}, {"loss": loss}, dtype)
        _bench.compare(f"{name} loop vs bpkit gradients", g_loop, grads, dtype)

        if use_torch:
            tmodel = make_torch(model, dtype)
            tX, ty = torch.from_numpy(X), torch.from_numpy(y)
            tloss = torch.nn.functional.cross_entropy(tmodel(tX), ty)
            tloss.backward()
            _bench.compare(f"{name} torch vs bpkit loss", {"loss": tloss.item()}, {"loss": loss}, dtype)
            _bench.compare(f"{name} torch vs bpkit gradients", torch_grads(tmodel), grads, dtype)
            # two SGD-momentum updates from these gradients (the second one uses the
            # velocity) must land on the same weights
            opt, topt = optim.SGD(lr=LR, momentum=MOMENTUM), torch.optim.SGD(
                tmodel.parameters(), lr=LR, momentum=MOMENTUM)
            for _ in range(2):
                opt.step(model.params, model.grads)
                topt.step()
            _bench.compare(f"{name} torch vs bpkit after two SGD steps", torch_params(tmodel), model.params, dtype)


# --------------------------------------------------------------------------- timing

def main():
    use_torch = torch is not None
    print(f"MLP {'-'.join(map(str, SIZES))} ReLU, batch {BATCH}, float32, softmax cross-entropy, "
          f"SGD(lr={LR}, momentum={MOMENTUM})")
    env = _bench.environment(torch)
    if not use_torch:
        _bench.say_torch_skipped(ARGS)
    _bench.run_checked(verify, use_torch)

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
    results, foreign = _bench.measure(steps, ARGS, env["blas_threads"])
    _bench.report("MLP training step", results, foreign)
    if ARGS.json:
        config = {"sizes": SIZES, "batch": BATCH, "dtype": "float32", "lr": LR,
                  "momentum": MOMENTUM, "repeats": ARGS.repeats, "warmup": ARGS.warmup,
                  "rounds": ARGS.rounds, "pause": ARGS.pause, "loop_repeats": ARGS.loop_repeats}
        env["foreign_load_cpus"] = foreign
        _bench.write_json(ARGS.json, config, env, results)


if __name__ == "__main__":
    main()
