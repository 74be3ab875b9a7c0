"""The regularisation lab of Chapter 6, driven through its Python API as notebooks and tests do."""

import time

import numpy as np
import pytest

from bpkit import losses, optim
from bpkit.widgets import RegularizationLab as ExportedLab
from bpkit.widgets.regularization import LAB_DATASETS, LAB_L2, RegularizationLab, lab_data, lab_model, train_lab


@pytest.fixture(scope="module")
def lab():
    return RegularizationLab(dataset="moons", n_train=30, l2=0.0, dropout=0.0, batchnorm=False, epochs=100)


def test_exported_from_the_widgets_package():
    assert ExportedLab is RegularizationLab


def hand_run(dataset, n_train, l2, dropout, batchnorm, epochs):
    """The training loop of train_lab's docstring, written out with bpkit."""
    X, y, Xv, yv = lab_data(dataset, n_train)
    model = lab_model(2 if dataset == "moons" else 3, dropout, batchnorm, seed=0)
    opt = optim.Adam(lr=0.01)
    val = []
    for _ in range(epochs):
        model.train()
        _, dscores = losses.softmax_cross_entropy_loss(model(X), y)
        model.backward(dscores)
        grads = {k: g + l2 * model.params[k] if k.endswith(".W") else g for k, g in model.grads.items()}
        opt.step(model.params, grads)
        model.eval()
        val.append(losses.softmax_cross_entropy_loss(model(Xv), yv)[0])
    return np.array(val), float(np.mean(model(Xv).argmax(axis=1) == yv))


@pytest.mark.parametrize("args", [("moons", 30, 1e-3, 0.0, False, 50), ("spirals", 40, 0.0, 0.3, True, 50)])
def test_train_lab_equals_a_hand_written_loop(args):
    res = train_lab(*args)
    val, acc = hand_run(*args)
    np.testing.assert_allclose(res.val_loss, val, rtol=1e-10)
    assert res.val_acc == pytest.approx(acc)
    assert res.best_epoch == int(np.argmin(val)) + 1
    assert not res.model.training


def test_the_network_has_the_documented_layers():
    model = lab_model(3, dropout=0.2, batchnorm=True)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Dropout"] * 2 + ["Linear"]
    assert model[0].W.shape == (2, 64) and model[-1].W.shape == (64, 3)
    assert [type(layer).__name__ for layer in lab_model(2).layers] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]


def test_more_training_points_extend_the_same_training_set():
    X10, y10, Xv, yv = lab_data("spirals", 10)
    X50, y50, Xv2, _ = lab_data("spirals", 50)
    np.testing.assert_array_equal(X50[:10], X10)
    np.testing.assert_array_equal(y50[:10], y10)
    np.testing.assert_array_equal(Xv, Xv2)
    assert len(Xv) == 600 and set(np.unique(yv)) == {0, 1, 2}


def test_summary_is_deterministic_and_follows_the_controls(lab):
    text = lab.summary()
    lines = text.splitlines()
    assert lines[0] == "two moons (noise 0.25), 30 training points, 600 validation points; MLP 2-64-64-2, batch norm off"
    assert lines[1] == "L2 lambda 0 on the weights, dropout 0.0, 100 epochs of full-batch Adam (lr 0.01)"
    r = lab.result
    assert lines[2] == f"train: loss {r.train_loss[-1]:.3f}, accuracy {100 * r.train_acc:.1f}%"
    assert lines[3] == f"validation: loss {r.val_loss[-1]:.3f}, accuracy {100 * r.val_acc:.1f}%"
    assert lines[4] == f"lowest validation loss {r.val_loss.min():.3f} at epoch {r.best_epoch}"
    fresh = RegularizationLab(dataset="moons", n_train=30, l2=0.0, dropout=0.0, batchnorm=False, epochs=100)
    assert fresh.summary() == text


def test_each_control_changes_the_output_and_the_picture(lab):
    before_png, before_text = lab.png, lab.summary()
    assert before_png[:8] == b"\x89PNG\r\n\x1a\n"
    for name, value in [("l2", 1e-2), ("dropout", 0.3), ("batchnorm", True), ("n_train", 60), ("epochs", 150),
                        ("dataset", "spirals")]:
        setattr(lab, name, value)
        assert getattr(lab, name) == value
        assert lab.summary() != before_text and lab.png != before_png, name
        before_png, before_text = lab.png, lab.summary()
    assert lab.values() == {"dataset": "spirals", "n_train": 60, "l2": 1e-2, "dropout": 0.3, "batchnorm": True,
                            "epochs": 150}
    assert "batch norm on" in lab._status.value
    lab.set(dataset="moons", n_train=30, l2=0.0, dropout=0.0, batchnorm=False, epochs=100)


def test_values_reproduce_the_run(lab):
    lab.set(l2=3e-3, dropout=0.1)
    again = train_lab(**lab.values())
    assert again is lab.result                                   # cached: the same run
    np.testing.assert_array_equal(again.val_loss, lab.result.val_loss)
    lab.set(l2=0.0, dropout=0.0)


def test_regularisation_does_what_the_chapter_says():
    unreg = train_lab("spirals", 40)
    l2 = train_lab("spirals", 40, l2=3e-3)
    too_much = train_lab("spirals", 40, l2=0.1)
    assert unreg.train_loss[-1] < 1e-2 and unreg.val_loss[-1] > 2 * l2.val_loss[-1]   # overfits; L2 helps
    assert too_much.train_acc < 0.8 and too_much.train_loss[-1] > 0.5                 # underfits
    assert train_lab("spirals", 150).val_acc > unreg.val_acc                           # more data helps


def test_alt_text_describes_the_state(lab):
    alt = lab.alt_text()
    assert alt.startswith("Regularisation lab: decision regions and loss curves")
    assert "30 training points" in alt and "validation: loss" in alt
    assert f'alt="{alt[:40]}' in lab._image.value


def test_one_update_is_fast():
    lab = RegularizationLab(dataset="spirals", n_train=40, epochs=300)
    start = time.perf_counter()
    lab.set(l2=1e-3, dropout=0.2)                                # not cached: a new training run
    assert time.perf_counter() - start < 3.0                     # about 0.5 s here; generous for slow CI


@pytest.mark.parametrize("kwargs, match", [
    ({"dataset": "circles"}, "unknown dataset 'circles'"),
    ({"n_train": 5}, "'n_train' must be a whole number from 10 to 300 in steps of 10"),
    ({"n_train": 45}, "'n_train' must be a whole number"),
    ({"l2": 0.002}, "'l2' must be one of the slider's values"),
    ({"dropout": 0.9}, "'dropout' is the probability of dropping a unit, from 0 to 0.8"),
    ({"batchnorm": "yes"}, "'batchnorm' must be True or False"),
    ({"epochs": 1000}, "'epochs' must be a whole number from 50 to 500"),
])
def test_bad_arguments_raise_with_the_widget_name(kwargs, match):
    with pytest.raises(ValueError, match="RegularizationLab: " + match):
        RegularizationLab(**kwargs)
    with pytest.raises(ValueError, match="RegularizationLab: " + match):
        train_lab(**kwargs)


def test_bad_assignments_raise_and_leave_the_state(lab):
    before = lab.summary()
    with pytest.raises(ValueError, match="'l2' must be one of"):
        lab.l2 = 0.5
    with pytest.raises(ValueError, match="unknown control"):
        lab.set(lr=0.1)
    with pytest.raises(ValueError, match="'dropout'"):
        lab.set(l2=1e-3, dropout=1.0)
    assert lab.summary() == before


def test_the_slider_offers_exactly_the_documented_values(lab):
    assert [v for _, v in lab._l2.options] == list(LAB_L2)
    assert set(LAB_DATASETS) == {"moons", "spirals"}
    assert (lab._n_train.min, lab._n_train.max, lab._n_train.step) == (10, 300, 10)


def test_displays_as_a_widget_with_stable_text(lab):
    bundle = lab._repr_mimebundle_()
    assert bundle["text/plain"].startswith("RegularizationLab: an interactive widget")
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert repr(lab).startswith("RegularizationLab()\ntwo moons")
