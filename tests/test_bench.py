"""The benchmark script runs, and its agreement check would catch a wrong implementation."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_mlp_step.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_mlp_step", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_runs_and_prints_a_table():
    out = subprocess.run([sys.executable, str(SCRIPT), "--no-torch", "--repeats", "3", "--warmup", "1",
                          "--rounds", "1", "--loop-repeats", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "PyTorch SKIPPED: --no-torch given" in out.stdout
    rows = [line.split()[0] for line in out.stdout.splitlines() if line.startswith(("bpkit", "loop"))]
    assert rows == ["bpkit", "bpkit,", "loop"], out.stdout


def test_loop_and_bpkit_agree(bench):
    X, y = bench.make_data(np.float64)
    model = bench.make_bpkit(np.float64)
    params = model.state_dict()
    loss, grads = bench.loop_grads(params, X, y)
    from bpkit import losses
    ref, dlogits = losses.softmax_cross_entropy_loss(model.forward(X), y)
    model.backward(dlogits, input_grad=False)
    assert abs(loss - ref) < 1e-12
    for k, g in model.grads.items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-7, atol=1e-12, err_msg=k)


def test_verify_catches_a_wrong_loop(bench, monkeypatch):
    right = bench.loop_grads

    def forgot_the_mean(params, X, y):                 # the classic bug: sum instead of mean over the batch
        loss, grads = right(params, X, y)
        return loss, {k: g * len(X) for k, g in grads.items()}

    monkeypatch.setattr(bench, "loop_grads", forgot_the_mean)
    with pytest.raises(bench.Mismatch, match="loop vs bpkit gradients"):
        bench.verify(use_torch=False)


def test_verify_compares_with_torch_when_installed(bench, monkeypatch):
    pytest.importorskip("torch", reason="torch not installed (optional: pip install torch==2.13.0)")
    bench.verify(use_torch=True)                       # equal loss, grads and two SGD steps
    monkeypatch.setattr(bench, "LR", bench.LR * 2)     # bpkit's optimizer with another lr: must differ
    real_sgd = bench.optim.SGD
    monkeypatch.setattr(bench.optim, "SGD", lambda lr, momentum: real_sgd(lr=lr / 2, momentum=momentum))
    with pytest.raises(bench.Mismatch, match="after two SGD steps"):
        bench.verify(use_torch=True)
