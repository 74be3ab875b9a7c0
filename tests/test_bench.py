"""The benchmark scripts run, and their agreement checks would catch a wrong implementation."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPT = BENCH / "bench_mlp_step.py"
LAYERS = BENCH / "bench_layers.py"


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench():
    return _load(SCRIPT)


@pytest.fixture(scope="module")
def layers():
    return _load(LAYERS)


def _table_rows(stdout, names):
    return [line.split()[0] for line in stdout.splitlines() if line.startswith(names)]


def test_bench_runs_and_prints_a_table():
    out = subprocess.run([sys.executable, str(SCRIPT), "--no-torch", "--repeats", "3", "--warmup", "1",
                          "--rounds", "1", "--loop-repeats", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "PyTorch SKIPPED: --no-torch given" in out.stdout
    assert _table_rows(out.stdout, ("bpkit", "loop")) == ["bpkit", "bpkit,", "loop"], out.stdout


def test_layer_bench_runs_every_workload_and_prints_its_tables():
    out = subprocess.run([sys.executable, str(LAYERS), "--no-torch", "--small", "--repeats", "3", "--warmup", "1",
                          "--rounds", "1", "--loop-repeats", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "PyTorch SKIPPED: --no-torch given" in out.stdout
    for title in ("conv2d 3x3", "max pool 2x2", "LSTM T=4"):
        assert title in out.stdout, out.stdout
    assert _table_rows(out.stdout, ("bpkit", "loop")) == ["bpkit", "loop", "bpkit", "bpkit"], out.stdout
    for check in ("conv float64: loop over positions vs bpkit", "pool float32: loop over windows vs bpkit",
                  "lstm float64: lstm_step_* step by step vs bpkit"):
        assert check in out.stdout


def test_layer_bench_rejects_an_unknown_layer():
    out = subprocess.run([sys.executable, str(LAYERS), "--no-torch", "--small", "--layers", "gru"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "unknown --layers gru" in out.stderr


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


@pytest.mark.parametrize("name", ["conv", "pool", "lstm"])
def test_layer_references_agree_with_bpkit_at_the_benchmarked_sizes(layers, name):
    """The full-size check that ``make bench`` runs first, without torch (the references only)."""
    layers.verify(name, use_torch=False, small=False)


def _wrong(real, key, how):
    def broken(*args, **kw):
        out = dict(real(*args, **kw))
        out[key] = how(out[key])
        return out
    return broken


@pytest.mark.parametrize("name, func, key, how, why", [
    ("conv", "conv_bpkit", "dW", lambda g: g[:, :, ::-1, ::-1], "kernel gradient flipped"),
    ("conv", "conv_bpkit", "dx", lambda g: g * (1 + 1e-3), "input gradient off by 0.1 %"),
    ("pool", "pool_bpkit", "dx", lambda g: np.roll(g, 1, axis=-1), "gradient sent to the wrong pixel"),
    ("lstm", "lstm_bpkit", "dWh", lambda g: g * 0.999, "recurrent weight gradient off by 0.1 %"),
    ("lstm", "lstm_bpkit", "dh0", lambda g: np.zeros_like(g), "no gradient for the initial state"),
])
def test_layer_verify_catches_a_wrong_gradient(layers, monkeypatch, name, func, key, how, why):
    monkeypatch.setattr(layers, func, _wrong(getattr(layers, func), key, how))
    with pytest.raises(layers.Mismatch, match=f"{name} float64: .* vs bpkit: '{key}' differs"):
        layers.verify(name, use_torch=False, small=True)


def test_verify_compares_with_torch_when_installed(bench, monkeypatch):
    pytest.importorskip("torch", reason="torch not installed (optional: pip install torch==2.13.0)")
    bench.verify(use_torch=True)                       # equal loss, grads and two SGD steps
    monkeypatch.setattr(bench, "LR", bench.LR * 2)     # bpkit's optimizer with another lr: must differ
    real_sgd = bench.optim.SGD
    monkeypatch.setattr(bench.optim, "SGD", lambda lr, momentum: real_sgd(lr=lr / 2, momentum=momentum))
    with pytest.raises(bench.Mismatch, match="after two SGD steps"):
        bench.verify(use_torch=True)


@pytest.mark.parametrize("name", ["conv", "pool", "lstm"])
def test_layer_verify_compares_with_torch_when_installed(layers, monkeypatch, name):
    """bpkit agrees with PyTorch; and a torch side given a wrong gradient is caught."""
    pytest.importorskip("torch", reason="torch not installed (optional: pip install torch==2.13.0)")
    layers.verify(name, use_torch=True, small=True)
    func = f"{name}_torch"
    key = {"conv": "dW", "pool": "dx", "lstm": "dWx"}[name]
    monkeypatch.setattr(layers, func, _wrong(getattr(layers, func), key, lambda g: -g))
    with pytest.raises(layers.Mismatch, match=f"{name} float64: torch vs bpkit: '{key}' differs"):
        layers.verify(name, use_torch=True, small=True)


def test_conv_routes_runs_both_routes_and_catches_a_disagreement(monkeypatch, capsys):
    """``conv_routes.py`` times the rows route and im2col after checking they agree; a planted wrong
    ``dW`` on the rows route must stop it before any timing is printed."""
    routes = _load(BENCH / "conv_routes.py")
    routes.main(["--small"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line[:3].strip().isdigit()]
    assert len(lines) == 4 and all(line.rstrip().endswith("x") for line in lines), lines
    real = routes._conv_rows.backward
    monkeypatch.setattr(routes._conv_rows, "backward",
                        lambda dout, x, W, p: (lambda g: (g[0], 1.01 * g[1], g[2]))(real(dout, x, W, p)))
    with pytest.raises(SystemExit, match="disagree on dW"):
        routes.main(["--small"])
