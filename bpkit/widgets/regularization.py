r"""Widget of Chapter 6: a regularisation lab on a 2-D data set.

``RegularizationLab`` trains a small multilayer perceptron (2 inputs, two hidden layers of 64
ReLU units, one output per class) on a few points of a 2-D data set and draws what it
learned: the decision regions with the training points on the left, the training and
validation loss after every epoch on the right. Its controls are the knobs of Chapter 6:
the size of the training set, the strength $\lambda$ of the L2 penalty on the weights, the
dropout rate, batch normalisation on or off, and the number of epochs.

Every number comes from :func:`train_lab`, which tests and exercise checks call directly.
It is deterministic: the data, the initial weights and the dropout masks come from fixed
seeds, so the same controls always give the same network, on every machine.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .. import data, losses, nn, optim
from ._base import Widget as _Widget
from ._base import control_property

__all__ = ["LAB_DATASETS", "LAB_L2", "LabResult", "RegularizationLab", "lab_data", "lab_model", "train_lab"]

#: Data sets offered: name -> (description, noise). Moons has 2 classes, spirals 3.
LAB_DATASETS = {"moons": ("two moons", 0.25), "spirals": ("three spirals", 0.2)}

#: The values of the L2 slider (the strength lambda of the penalty lambda/2 * sum of |W|^2).
LAB_L2 = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)

_N_TRAIN = (10, 300, 10)          # min, max, step
_DROPOUT = (0.0, 0.8, 0.1)
_EPOCHS = (50, 500, 50)
_HIDDEN = 64
_LR = 0.01
_N_VAL = 600
_CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c")


class LabResult(NamedTuple):
    """The outcome of :func:`train_lab`."""

    train_loss: np.ndarray     #: (epochs,) cross-entropy on the training set after each epoch, eval mode
    val_loss: np.ndarray       #: (epochs,) cross-entropy on the validation set after each epoch
    train_acc: float           #: accuracy on the training set at the end
    val_acc: float             #: accuracy on the validation set at the end
    model: nn.Sequential       #: the trained network (in eval mode)

    @property
    def best_epoch(self) -> int:
        """The epoch (from 1) with the lowest validation loss."""
        return int(np.argmin(self.val_loss)) + 1


@functools.lru_cache(maxsize=8)
def _pool(dataset):
    """A training pool of 600 points and a validation set of 600, from fixed seeds."""
    noise = LAB_DATASETS[dataset][1]
    if dataset == "moons":
        X, y = data.moons(600, noise=noise, rng=np.random.default_rng(1))
        Xv, yv = data.moons(_N_VAL, noise=noise, rng=np.random.default_rng(2))
    else:
        X, y = data.spirals(200, 3, rng=np.random.default_rng(1), noise=noise)
        perm = np.random.default_rng(3).permutation(len(X))
        X, y = X[perm], y[perm]
        Xv, yv = data.spirals(_N_VAL // 3, 3, rng=np.random.default_rng(2), noise=noise)
    for a in (X, y, Xv, yv):
        a.setflags(write=False)
    return X, y, Xv, yv


def lab_data(dataset="moons", n_train=40):
    """``(X_train, y_train, X_val, y_val)``: the first ``n_train`` points of a fixed pool, and 600 others.

    A larger ``n_train`` adds points to the same training set; the validation set never changes.
    """
    _check("dataset", dataset)
    _check("n_train", n_train)
    X, y, Xv, yv = _pool(dataset)
    return X[:n_train], y[:n_train], Xv, yv


def lab_model(classes, dropout=0.0, batchnorm=False, seed=0):
    """The lab's network: ``[Linear -> (BatchNorm1d) -> ReLU -> (Dropout)] x 2 -> Linear``.

    Hidden layers have 64 units, with He initialisation from ``np.random.default_rng(seed)``,
    which also drives the dropout masks.
    """
    rng = np.random.default_rng(seed)
    layers, d = [], 2
    for _ in range(2):
        layers.append(nn.Linear(d, _HIDDEN, rng=rng))
        if batchnorm:
            layers.append(nn.BatchNorm1d(_HIDDEN))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout, rng=rng))
        d = _HIDDEN
    layers.append(nn.Linear(d, classes, rng=rng))
    return nn.Sequential(layers)


def _accuracy(scores, y):
    return float(np.mean(scores.argmax(axis=1) == y))


@functools.lru_cache(maxsize=64)
def _train(dataset, n_train, l2, dropout, batchnorm, epochs, seed):
    X, y, Xv, yv = lab_data(dataset, n_train)
    model = lab_model(2 if dataset == "moons" else 3, dropout, batchnorm, seed)
    opt = optim.Adam(lr=_LR)
    weights = [k for k in model.params if k.endswith(".W")]
    train_loss, val_loss = np.empty(epochs), np.empty(epochs)
    for e in range(epochs):
        model.train()
        _, dscores = losses.softmax_cross_entropy_loss(model.forward(X), y)
        model.backward(dscores, input_grad=False)
        grads = dict(model.grads)
        for k in weights:                                    # the L2 penalty: weights only, not biases
            grads[k] = grads[k] + l2 * model.params[k]
        opt.step(model.params, grads)
        model.eval()
        train_loss[e] = losses.softmax_cross_entropy_loss(model.forward(X), y)[0]
        val_loss[e] = losses.softmax_cross_entropy_loss(model.forward(Xv), yv)[0]
    model.eval()
    return LabResult(train_loss, val_loss, _accuracy(model.forward(X), y), _accuracy(model.forward(Xv), yv), model)


def train_lab(dataset="moons", n_train=40, l2=0.0, dropout=0.0, batchnorm=False, epochs=300, seed=0):
    r"""Train the lab's network; return a :class:`LabResult`.

    Full-batch training: every epoch is one step of Adam (learning rate 0.01) on the mean
    cross-entropy of the ``n_train`` training points plus the L2 penalty
    $\tfrac{\lambda}{2}\sum_l \lVert W^{[l]}\rVert^2$ on the weights (not the biases or the
    batch-norm parameters), whose gradient $\lambda W^{[l]}$ is added to each ``dW``. After
    every step the losses on the training and validation sets are measured in evaluation
    mode (no dropout; batch norm with its running averages), without the penalty.

    Results are cached: calling again with the same arguments returns the same object.
    """
    for name, v in (("dataset", dataset), ("n_train", n_train), ("l2", l2), ("dropout", dropout),
                    ("batchnorm", batchnorm), ("epochs", epochs)):
        _check(name, v)
    return _train(dataset, int(n_train), float(l2), round(float(dropout), 2), bool(batchnorm), int(epochs),
                  int(seed))


def _in_steps(v, lo, hi, step):
    return lo - 1e-9 <= v <= hi + 1e-9 and abs((v - lo) / step - round((v - lo) / step)) < 1e-6


def _check(name, v):
    """Validate one control value; the message names the widget, the control and its range."""
    number = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
    if name == "dataset":
        if v not in LAB_DATASETS:
            raise ValueError(f"RegularizationLab: unknown dataset {v!r}; choose one of {list(LAB_DATASETS)}.")
    elif name in ("n_train", "epochs"):
        lo, hi, step = _N_TRAIN if name == "n_train" else _EPOCHS
        if not (number and float(v) == int(v) and _in_steps(int(v), lo, hi, step)):
            raise ValueError(f"RegularizationLab: '{name}' must be a whole number from {lo} to {hi} in steps of "
                             f"{step} (the slider's values), got {v!r}.")
    elif name == "l2":
        if not (number and any(abs(float(v) - o) <= 1e-12 + 1e-9 * o for o in LAB_L2)):
            raise ValueError(f"RegularizationLab: 'l2' must be one of the slider's values "
                             f"{', '.join(f'{o:g}' for o in LAB_L2)}, got {v!r}.")
    elif name == "dropout":
        lo, hi, step = _DROPOUT
        if not (number and _in_steps(float(v), lo, hi, step)):
            raise ValueError(f"RegularizationLab: 'dropout' is the probability of dropping a unit, from {lo:g} "
                             f"to {hi:g} in steps of {step:g}, got {v!r}.")
    elif name == "batchnorm":
        if not isinstance(v, (bool, np.bool_)):
            raise ValueError(f"RegularizationLab: 'batchnorm' must be True or False, got {v!r}.")


def _snap_l2(v):
    return min(LAB_L2, key=lambda o: abs(o - float(v)))


def _pct(v):
    return f"{100 * float(v):.1f}%"


def _f3(v):
    return f"{float(v):.3f}"


class RegularizationLab(_Widget):
    r"""Train a small MLP on a 2-D data set and watch it over- or underfit.

    Controls: ``dataset`` (``"moons"`` or ``"spirals"``), ``n_train`` (10 to 300 training
    points), ``l2`` (the strength $\lambda$ of the L2 penalty, one of :data:`LAB_L2`),
    ``dropout`` (0 to 0.8), ``batchnorm`` (on or off) and ``epochs`` (50 to 500). The
    result is that of :func:`train_lab` with the same arguments.

    Attributes
    ----------
    result : LabResult
        The current run: loss curves, final accuracies and the trained model.
    """

    _title = "Regularisation lab: decision regions and loss curves of a small MLP"

    def __init__(self, dataset="moons", n_train=40, l2=0.0, dropout=0.0, batchnorm=False, epochs=300, seed=0):
        values = {"dataset": dataset, "n_train": n_train, "l2": l2, "dropout": dropout, "batchnorm": batchnorm,
                  "epochs": epochs}
        for k, v in values.items():
            _check(k, v)
        self.seed = int(seed)
        self._init = values
        self._init_widgets()
        self.update()

    def _controls(self):
        W, v = self._W, self._init
        style = {"description_width": "initial"}
        self._dataset = W.Dropdown(options=list(LAB_DATASETS), value=v["dataset"], description="data set")
        self._n_train = W.IntSlider(value=int(v["n_train"]), min=_N_TRAIN[0], max=_N_TRAIN[1], step=_N_TRAIN[2],
                                    description="training points", continuous_update=False, style=style)
        self._l2 = W.SelectionSlider(options=[(f"{o:g}", o) for o in LAB_L2], value=_snap_l2(v["l2"]),
                                     description="L2 lambda", continuous_update=False, style=style)
        self._dropout = W.FloatSlider(value=round(float(v["dropout"]), 2), min=_DROPOUT[0], max=_DROPOUT[1],
                                      step=_DROPOUT[2], description="dropout p", continuous_update=False,
                                      readout_format=".1f", style=style)
        self._bn = W.Checkbox(value=bool(v["batchnorm"]), description="batch norm")
        self._epochs = W.IntSlider(value=int(v["epochs"]), min=_EPOCHS[0], max=_EPOCHS[1], step=_EPOCHS[2],
                                   description="epochs", continuous_update=False)
        controls = (self._dataset, self._n_train, self._l2, self._dropout, self._bn, self._epochs)
        for c in controls:
            c.observe(self._on_change, names="value")
        return [W.HBox([self._dataset, self._n_train, self._epochs]), W.HBox([self._l2, self._dropout, self._bn])]

    dataset = control_property("dataset", "_dataset", str, "The data set: 'moons' (2 classes) or 'spirals' (3).")
    n_train = control_property("n_train", "_n_train", int, "Number of training points (10 to 300, steps of 10).")
    l2 = control_property("l2", "_l2", float,
                          "Strength lambda of the L2 penalty on the weights, one of LAB_L2.", store=_snap_l2)
    dropout = control_property("dropout", "_dropout", lambda v: round(float(v), 2), "Dropout rate p (0 to 0.8).")
    batchnorm = control_property("batchnorm", "_bn", bool, "Batch normalisation after each hidden Linear layer.")
    epochs = control_property("epochs", "_epochs", int, "Number of epochs (full-batch steps), 50 to 500.")

    def values(self) -> dict:
        """The controls as a dict, e.g. to hand in: ``train_lab(**lab.values())`` reproduces the run."""
        return {"dataset": self.dataset, "n_train": self.n_train, "l2": self.l2, "dropout": self.dropout,
                "batchnorm": self.batchnorm, "epochs": self.epochs}

    def _check_control(self, name, value):
        _check(name, value)

    def _recompute(self):
        self.result = train_lab(**self.values(), seed=self.seed)

    def summary(self):
        r, v = self.result, self.values()
        desc, noise = LAB_DATASETS[v["dataset"]]
        classes = 2 if v["dataset"] == "moons" else 3
        return "\n".join([
            f"{desc} (noise {noise:g}), {v['n_train']} training points, {_N_VAL} validation points; "
            f"MLP 2-{_HIDDEN}-{_HIDDEN}-{classes}, batch norm {'on' if v['batchnorm'] else 'off'}",
            f"L2 lambda {v['l2']:g} on the weights, dropout {v['dropout']:.1f}, {v['epochs']} epochs of "
            f"full-batch Adam (lr {_LR:g})",
            f"train: loss {_f3(r.train_loss[-1])}, accuracy {_pct(r.train_acc)}",
            f"validation: loss {_f3(r.val_loss[-1])}, accuracy {_pct(r.val_acc)}",
            f"lowest validation loss {_f3(r.val_loss.min())} at epoch {r.best_epoch}",
        ])

    def figure(self):
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure
        r = self.result
        X, y, Xv, yv = lab_data(self.dataset, self.n_train)
        fig = Figure(figsize=(9.5, 4), layout="constrained")
        ax = fig.add_subplot(1, 2, 1)
        lo, hi = Xv.min(axis=0) - 0.3, Xv.max(axis=0) + 0.3
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        labels = r.model.forward(grid).argmax(axis=1).reshape(gx.shape)
        C = 2 if self.dataset == "moons" else 3
        cmap = ListedColormap(_CLASS_COLOURS[:C])
        ax.contourf(gx, gy, labels, levels=np.arange(C + 1) - 0.5, cmap=cmap, alpha=0.25)
        ax.scatter(Xv[:, 0], Xv[:, 1], c=yv, cmap=cmap, vmin=-0.5, vmax=C - 0.5, s=4, alpha=0.4)
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=C - 0.5, s=30, edgecolors="k",
                   linewidths=0.8)
        ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xticks=[], yticks=[],
               title=f"{self.n_train} training points (large), validation (small)")
        ax.set_aspect("equal")
        ax2 = fig.add_subplot(1, 2, 2)
        epochs = np.arange(1, len(r.train_loss) + 1)
        ax2.semilogy(epochs, r.train_loss, label="training loss")
        ax2.semilogy(epochs, r.val_loss, "--", label="validation loss")
        ax2.plot([r.best_epoch], [r.val_loss.min()], "o", color="C1", label=f"lowest at epoch {r.best_epoch}")
        ax2.set(xlabel="epoch", ylabel="cross-entropy", title="loss after each epoch")
        ax2.grid(alpha=0.3, which="both")
        ax2.legend(frameon=False, fontsize=12)
        fig.suptitle(f"L2 {self.l2:g}, dropout {self.dropout:.1f}, batch norm {'on' if self.batchnorm else 'off'}")
        return fig
