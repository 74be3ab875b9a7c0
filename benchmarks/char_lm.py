"""What more training steps give Chapter 10's two character-level language models.

The chapter trains an LSTM and a small transformer for a few hundred steps (its time budget:
the whole chapter executes in under 2 minutes). This script trains the same two models, with the
same seeds, data (``bpkit.data.text()``), batch (32 windows of 64 characters), optimizer
(Adam, lr 3e-3, gradients clipped to norm 1) and float32, for many more steps, and reports the
validation loss per character (nats, on the chapter's fixed 64 validation windows) at
checkpoints, the CPU time, and a sample from each model at the end. Run it offline, e.g.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/char_lm.py --steps 3000 \
        --json benchmarks/char_lm.json

Its output is what the chapter's "more steps" paragraph quotes (the JSON file is read by the
chapter, so the numbers there are this script's).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bpkit import data, lm


def run(kind, steps, every, seed=0):
    text = data.text()
    rng = np.random.default_rng(seed)
    V = len(text.vocab)
    model = lm.char_lstm(V, rng=rng) if kind == "lstm" else lm.char_transformer(V, rng=rng)
    curve, cpu, done = [], 0.0, 0
    while done < steps:
        n = min(every, steps - done)
        start = time.process_time()
        lm.train_lm(model, text.train, n, rng)
        cpu += time.process_time() - start
        done += n
        curve.append((done, lm.evaluate(model, text.val)))
        print(f"{kind:11s} step {done:5d}: validation loss {curve[-1][1]:.3f} nats/char, CPU {cpu:.0f} s", flush=True)
    sample = text.decode(lm.sample(model, text.encode("ROMEO:\n"), 300, np.random.default_rng(1), temperature=0.8))
    return {"steps": [s for s, _ in curve], "val_loss": [v for _, v in curve], "cpu_s": cpu,
            "params": int(sum(p.size for p in model.params.values())), "sample": sample}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--every", type=int, default=250, help="evaluate every this many steps")
    ap.add_argument("--json", default=None, help="write the results to this file")
    args = ap.parse_args(argv)
    out = {"command": f"benchmarks/char_lm.py --steps {args.steps} --every {args.every}"}
    for kind in ("lstm", "transformer"):
        out[kind] = run(kind, args.steps, args.every)
        print(out[kind]["sample"], flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
