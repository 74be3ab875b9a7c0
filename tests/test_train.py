"""bpkit.train: networks learn (XOR, digits), the loop is deterministic, callbacks work,
and a diverging run stops with a message that names the step."""

import re
import time

import numpy as np
import pytest

from bpkit import data, losses, nn, optim, train


def xor_net(rng, hidden=4):
    return nn.Sequential(nn.Linear(2, hidden, rng=rng, init="xavier"), nn.Tanh(),
                         nn.Linear(hidden, 1, rng=rng, init="xavier"))


def test_xor_reaches_100_percent_with_a_2_4_1_network():
    rng = np.random.default_rng(0)
    X, y = data.xor()
    model = xor_net(rng)
    hist = train.fit(model, losses.bce_with_logits_loss, optim.SGD(lr=0.5, momentum=0.9), X, y, epochs=300,
                     batch_size=4, rng=rng, metrics={"accuracy": train.accuracy}, progress=False)
    assert train.accuracy(train.predict(model, X), y) == 1.0
    assert hist["loss"][-1] < 0.05 < hist["loss"][0]


@pytest.mark.slow
def test_digits_mlp_reaches_96_percent_in_seconds():
    start = time.perf_counter()
    split = data.digits()
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(64, 256, rng=rng), nn.ReLU(), nn.Linear(256, 10, rng=rng))
    hist = train.fit(model, losses.softmax_cross_entropy_loss, optim.Adam(lr=2e-3), split.X_train, split.y_train,
                     epochs=40, batch_size=32, rng=rng, validation=(split.X_val, split.y_val),
                     metrics={"accuracy": train.accuracy}, progress=False,
                     callbacks=[train.EarlyStopping("val_loss", patience=10)])
    test = train.evaluate(model, losses.softmax_cross_entropy_loss, split.X_test, split.y_test,
                          metrics={"accuracy": train.accuracy})
    elapsed = time.perf_counter() - start
    assert test["accuracy"] >= 0.96, f"test accuracy {test['accuracy']:.4f}"
    assert hist["val_accuracy"][-1] >= 0.94
    assert elapsed < 60, f"took {elapsed:.1f} s (about 3 s on an idle 2-core machine)"


def test_same_seed_same_history():
    def run():
        rng = np.random.default_rng(3)
        X, y = data.moons(60, 0.1, rng)
        model = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.ReLU(), nn.Linear(8, 2, rng=rng))
        return train.fit(model, losses.softmax_cross_entropy_loss, optim.Adam(lr=0.01), X, y, epochs=5,
                         batch_size=16, rng=rng, progress=False)["loss"]
    assert run() == run()


def test_history_and_validation_logs():
    rng = np.random.default_rng(0)
    X, y = data.spirals(30, 3, rng)
    model = nn.Sequential(nn.Linear(2, 16, rng=rng), nn.ReLU(), nn.Linear(16, 3, rng=rng))
    hist = train.fit(model, losses.softmax_cross_entropy_loss, optim.Adam(lr=0.01), X, y, epochs=3,
                     batch_size=32, rng=rng, validation=(X[:20], y[:20]), metrics={"accuracy": train.accuracy},
                     progress=False)
    assert list(hist.keys()) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert hist.epochs == [1, 2, 3] and hist.steps == 3 * 3                 # 90 examples / 32 = 3 batches
    assert not hist.stopped_early
    with pytest.raises(KeyError, match="recorded"):
        hist["val_f1"]


def test_verbose_prints_deterministic_lines(capsys):
    rng = np.random.default_rng(0)
    X, y = data.xor()
    train.fit(xor_net(rng), losses.mse_loss, optim.SGD(lr=0.1), X, y, epochs=4, batch_size=4, rng=rng,
              progress=False, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch 2/4  loss ") and lines[1].startswith("epoch 4/4")


def test_progress_bar_runs_and_reports_to_stderr(capsys):
    rng = np.random.default_rng(0)
    X, y = data.xor()
    train.fit(xor_net(rng), losses.mse_loss, optim.SGD(lr=0.1), X, y, epochs=2, batch_size=2, rng=rng)
    err = capsys.readouterr().err
    assert "fit" in err and "4/4" in err


def test_diverging_loss_stops_with_a_message_naming_the_step():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)) * 10
    y = X @ np.array([[1.0], [2.0], [3.0]])
    model = nn.Sequential(nn.Linear(3, 16, rng=rng), nn.ReLU(), nn.Linear(16, 1, rng=rng))
    with np.errstate(all="ignore"), pytest.raises(train.TrainingDiverged) as info:
        train.fit(model, losses.mse_loss, optim.SGD(lr=1.0), X, y, epochs=50, batch_size=16, rng=rng,
                  progress=False)
    msg = str(info.value)
    assert re.search(r"the loss became (nan|inf) at epoch \d+, step \d+ \(batch \d of 4\)", msg), msg
    assert "learning rate" in msg
    assert "GradientClipping" in msg and isinstance(info.value, FloatingPointError)


def test_early_stopping_restores_the_best_parameters():
    rng = np.random.default_rng(0)
    X, y = data.moons(200, 0.3, rng)
    Xv, yv = data.moons(100, 0.3, rng)
    model = nn.Sequential(nn.Linear(2, 64, rng=rng), nn.ReLU(), nn.Linear(64, 2, rng=rng))
    stopper = train.EarlyStopping("val_loss", patience=3)
    hist = train.fit(model, losses.softmax_cross_entropy_loss, optim.Adam(lr=0.05), X, y, epochs=200,
                     batch_size=200, rng=rng, validation=(Xv, yv), callbacks=[stopper], progress=False)
    assert hist.stopped_early and len(hist.epochs) < 200
    assert "did not improve for 3 epochs" in hist.stop_reason
    best = min(hist["val_loss"])
    assert stopper.best == pytest.approx(best)
    restored = train.evaluate(model, losses.softmax_cross_entropy_loss, Xv, yv)["loss"]
    assert restored == pytest.approx(best)


def test_gradient_clipping_callback_bounds_every_step():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 3)) * 10
    y = X @ np.array([[1.0], [2.0], [3.0]])
    model = nn.Sequential(nn.Linear(3, 8, rng=rng), nn.Tanh(), nn.Linear(8, 1, rng=rng))
    seen = []

    class Spy(train.Callback):
        def on_after_backward(self, grads):
            seen.append(float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))))

    clip = train.GradientClipping(max_norm=1.0)
    train.fit(model, losses.mse_loss, optim.SGD(lr=0.01), X, y, epochs=3, batch_size=8, rng=rng,
              callbacks=[clip, Spy()], progress=False)
    assert len(clip.norms) == len(seen) == 12
    assert max(clip.norms) > 1.0                                        # clipping had work to do
    assert max(seen) <= 1.0 + 1e-6                                      # and every step was bounded


def test_float64_data_feeds_a_float32_model():
    rng = np.random.default_rng(0)
    X, y = data.moons(40, 0.1, rng)
    model = nn.Sequential(nn.Linear(2, 4, rng=rng, dtype=np.float32), nn.ReLU(),
                          nn.Linear(4, 2, rng=rng, dtype=np.float32))
    train.fit(model, losses.softmax_cross_entropy_loss, optim.Adam(), X, y, epochs=1, batch_size=8, rng=rng,
              progress=False)
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert train.predict(model, X).dtype == np.float32


def test_predict_and_evaluate_restore_the_mode():
    rng = np.random.default_rng(0)
    model = xor_net(rng)
    X, y = data.xor()
    model.train()
    train.predict(model, X)
    assert model.training
    model.eval()
    train.evaluate(model, losses.mse_loss, X, y)
    assert not model.training
    np.testing.assert_allclose(train.predict(model, X, batch_size=3), model.forward(X))


def test_accuracy():
    assert train.accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0])) == 0.5
    assert train.accuracy(np.array([[0.3], [-1.0]]), np.array([[1.0], [0.0]])) == 1.0
    assert train.accuracy(np.array([[0.3], [0.9]]), np.array([[0.0], [1.0]]), threshold=0.5) == 1.0


def test_fit_skips_the_input_gradient_and_still_accepts_a_plain_backward():
    """fit asks bpkit models for backward(dscores, input_grad=False); a model whose backward
    takes only dout (a learner's own class) is called the plain way and trains the same."""
    X, y = data.xor()
    seen = []

    class Plain(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        params = property(lambda self: self.inner.params)
        grads = property(lambda self: self.inner.grads)

        def forward(self, x):
            return self.inner.forward(x)

        def backward(self, dout):
            seen.append("plain")
            return self.inner.backward(dout)

    class Spy(nn.Sequential):
        def backward(self, dout, input_grad=True):
            seen.append(input_grad)
            return super().backward(dout, input_grad=input_grad)

    kw = dict(epochs=50, batch_size=4, progress=False)
    spy = Spy(*xor_net(np.random.default_rng(0)).layers)
    h1 = train.fit(spy, losses.bce_with_logits_loss, optim.SGD(lr=0.5), X, y, rng=np.random.default_rng(1), **kw)
    assert set(seen) == {False}
    seen.clear()
    plain = Plain(xor_net(np.random.default_rng(0)))
    h2 = train.fit(plain, losses.bce_with_logits_loss, optim.SGD(lr=0.5), X, y, rng=np.random.default_rng(1), **kw)
    assert set(seen) == {"plain"}
    np.testing.assert_array_equal(h1["loss"], h2["loss"])           # same weights, same numbers
