"""The training loop, its history, and callbacks.

:func:`fit` asks of the model only the contract of :mod:`bpkit.nn`:

* ``model.forward(X) -> scores`` and ``model.backward(dscores) -> dX``, where ``backward``
  leaves the parameter gradients in ``model.grads`` (when ``backward`` also takes
  ``input_grad=``, as bpkit's modules do, ``fit`` passes ``input_grad=False``);
* ``model.params`` / ``model.grads``: dicts with the same keys (what ``optimizer.step`` takes);
* ``model.train()`` / ``model.eval()``.

``loss_fn(scores, y) -> (loss, dscores)`` is any function from :mod:`bpkit.losses` (or
your own with that signature); ``optimizer`` anything with ``step(params, grads)``;
metrics are callables ``metric(scores, y) -> float``. Nothing is looked up by name.

Callbacks are objects with any of these methods (see :class:`Callback`):
``on_train_begin(model, history)``, ``on_after_backward(grads)`` (between backward and
the optimizer step, e.g. to clip), ``on_epoch_end(epoch, logs, model) -> bool`` (return
True to stop) and ``on_train_end(model, history)``.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import shape_str
from .nn import takes_input_grad
from .optim import _positive, clip_grad_norm

__all__ = ["Callback", "EarlyStopping", "GradientClipping", "History", "TrainingDiverged",
           "accuracy", "evaluate", "fit", "predict"]


class TrainingDiverged(FloatingPointError):
    """The loss became nan or inf. ``history`` holds the epochs completed before it happened."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


class History:
    """Per-epoch records of ``fit``: ``history["loss"]``, ``history["val_loss"]``, ...

    ``epochs`` lists the epoch numbers (from 1); ``stop_reason`` says why training stopped
    early (``None`` when it ran all epochs); ``steps`` counts optimizer steps.
    """

    def __init__(self):
        self.epochs: list[int] = []
        self.records: dict[str, list[float]] = {}
        self.stop_reason: str | None = None
        self.steps = 0

    def append(self, epoch, logs):
        self.epochs.append(epoch)
        for k, v in logs.items():
            self.records.setdefault(k, []).append(float(v))

    def __getitem__(self, key):
        try:
            return self.records[key]
        except KeyError:
            raise KeyError(f"History has no '{key}'; it recorded {sorted(self.records)}.") from None

    def __contains__(self, key):
        return key in self.records

    def keys(self):
        return self.records.keys()

    @property
    def stopped_early(self):
        return self.stop_reason is not None

    def last(self):
        """The logs of the last completed epoch, as a dict."""
        return {k: v[-1] for k, v in self.records.items()}

    def __repr__(self):
        if not self.epochs:
            return "History(no epochs)"
        last = ", ".join(f"{k}={v:.4g}" for k, v in self.last().items())
        return f"History({len(self.epochs)} epochs, {self.steps} steps; last: {last})"


class Callback:
    """Base class with no-op hooks; subclass and override the ones you need."""

    def on_train_begin(self, model, history):
        pass

    def on_after_backward(self, grads):
        pass

    def on_epoch_end(self, epoch, logs, model):
        return False

    def on_train_end(self, model, history):
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best=True`` the model's parameters are set back to those of the best
    epoch when training ends.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0,
                 mode="min", restore_best=True):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: 'mode' must be 'min' or 'max', got {mode!r}. Use 'min' for a "
                             "loss and 'max' for a metric such as accuracy.")
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
            raise ValueError(f"EarlyStopping: 'patience' must be an int >= 1, got {patience!r}. It counts "
                             "epochs without improvement, e.g. patience=5.")
        self.monitor, self.patience = monitor, patience
        self.min_delta = float(min_delta)
        self.mode, self.restore_best = mode, restore_best

    def on_train_begin(self, model, history):
        self.best, self.best_epoch, self.wait = None, None, 0
        self._state = None
        self._history = history

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs, model):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping: cannot monitor '{self.monitor}'; this run logs "
                             f"{sorted(logs)}. Pass validation=(X_val, y_val) to fit to get 'val_loss'.")
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self._state = model.state_dict()
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self._history.stop_reason = (
                f"early stopping: {self.monitor} did not improve for "
                f"{self.patience} epochs (best {self.best:.4g} at epoch "
                f"{self.best_epoch})")
            return True
        return False

    def on_train_end(self, model, history):
        if self.restore_best and self._state is not None:
            model.load_state_dict(self._state)


class GradientClipping(Callback):
    """Clip the global gradient norm to ``max_norm`` before every optimizer step.

    ``norms`` records the norm before clipping at every step, to plot.
    """

    def __init__(self, max_norm):
        _positive("GradientClipping", "max_norm", max_norm)
        self.max_norm = max_norm
        self.norms: list[float] = []

    def on_train_begin(self, model, history):
        self.norms = []

    def on_after_backward(self, grads):
        self.norms.append(clip_grad_norm(grads, self.max_norm))


def accuracy(scores, y, threshold=0.0):
    """Fraction of correct predictions.

    * Class scores ``(N, C)`` with int labels ``(N,)``: the arg-max must equal the label.
    * Binary scores ``(N, 1)`` or ``(N,)`` with 0/1 targets of the same shape: the score must
      be above ``threshold`` exactly where the target is 1. The default 0 suits logits; use
      0.5 for probabilities (a sigmoid output).
    """
    scores, y = np.asarray(scores), np.asarray(y)
    if scores.ndim == 2 and scores.shape[1] > 1:
        if y.shape != (scores.shape[0],):
            raise ValueError(f"accuracy: class scores of shape {shape_str(scores.shape)} need int labels of shape "
                             f"({scores.shape[0]},), got {shape_str(y.shape)}."
                             + (" For one-hot rows pass y.argmax(axis=1)." if y.shape == scores.shape else
                                " Pass the labels of the same examples as the scores."))
        return float(np.mean(scores.argmax(axis=1) == y))
    if scores.shape != y.shape:
        hint = ("Reshape the targets with y.reshape(-1, 1)." if scores.ndim == 2 and y.shape == scores.shape[:1]
                else "Pass the targets of the same examples as the scores.")
        raise ValueError(f"accuracy: binary scores {shape_str(scores.shape)} and targets {shape_str(y.shape)} "
                         f"must have the same shape. {hint}")
    return float(np.mean((scores > threshold) == (y > 0.5)))


def _model_dtype(model):
    dtypes = {p.dtype for p in model.params.values()}
    return dtypes.pop() if len(dtypes) == 1 else None


def _as_input(model, X):
    """Cast float input to the model's dtype, so float64 data can feed a float32 model."""
    X = np.asarray(X)
    dt = _model_dtype(model)
    if dt is not None and X.dtype.kind in "fiub" and X.dtype != dt:
        X = X.astype(dt)
    return X


def predict(model, X, batch_size=None):
    """Model outputs for all of ``X`` in evaluation mode, in batches; the mode is restored."""
    X = _as_input(model, X)
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        if batch_size is None or batch_size >= len(X):
            return model.forward(X)
        return np.concatenate([model.forward(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])
    finally:
        model.train(was_training)


def evaluate(model, loss_fn, X, y, batch_size=None, metrics=None):
    """``{"loss": ..., name: metric, ...}`` on ``(X, y)`` in evaluation mode."""
    scores = predict(model, X, batch_size)
    loss, _ = loss_fn(scores, y)
    out = {"loss": float(loss)}
    for name, metric in (metrics or {}).items():
        out[name] = float(metric(scores, y))
    return out


def _check_fit_args(model, loss_fn, optimizer, X, y, epochs, batch_size, rng, validation, metrics):
    for name in ("forward", "backward", "train", "eval"):
        if not callable(getattr(model, name, None)):
            raise TypeError(f"fit: 'model' must follow the bpkit.nn.Module contract; it ({type(model).__name__}) "
                            f"has no {name}(). Build it from bpkit.nn, e.g. nn.Sequential(nn.Linear(2, 4, rng=rng), "
                            "nn.Tanh(), nn.Linear(4, 1, rng=rng)).")
    if not callable(loss_fn):
        raise TypeError(f"fit: 'loss_fn' must be a function (scores, y) -> (loss, dscores), "
                        f"got {type(loss_fn).__name__}. Pass the function itself, e.g. "
                        "loss_fn=losses.mse_loss, not its name or its result.")
    if isinstance(optimizer, type):
        raise TypeError(f"fit: 'optimizer' must be an optimizer instance, got the class {optimizer.__name__}. "
                        f"Create one first, e.g. {optimizer.__name__}(lr=0.1).")
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"fit: 'optimizer' must have step(params, grads), got {type(optimizer).__name__}. "
                        "Pass an instance, e.g. SGD(lr=0.1), not the class.")
    if len(X) != len(y):
        raise ValueError(f"fit: X has {len(X)} examples but y has {len(y)}; they must match. Pass one "
                         "target per example, e.g. X_train with y_train (not y_val).")
    if len(X) == 0:
        raise ValueError("fit: X is empty (0 examples); pass at least one example.")
    for name, v, example in (("epochs", epochs, 100), ("batch_size", batch_size, 32)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"fit: '{name}' must be an int >= 1, got {v!r}. Pass a whole number, "
                             f"e.g. {name}={example}.")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"fit: 'rng' must be a np.random.Generator (it shuffles the batches), got "
                        f"{type(rng).__name__}. Pass rng=np.random.default_rng(0).")
    if validation is not None and not (isinstance(validation, (tuple, list)) and len(validation) == 2):
        raise ValueError(f"fit: 'validation' must be a pair (X_val, y_val) or None, got "
                         f"{type(validation).__name__}. Pass e.g. validation=(split.X_val, split.y_val).")
    if metrics is not None and not (isinstance(metrics, dict) and all(callable(m) for m in metrics.values())):
        raise TypeError("fit: 'metrics' must be a dict name -> function(scores, y) -> float, "
                        "e.g. {'accuracy': accuracy}.")


def fit(model, loss_fn, optimizer, X, y, epochs, batch_size, rng, validation=None, callbacks=(),
        metrics=None, shuffle=True, progress=True, verbose=0):
    """Train ``model`` with mini-batch gradient descent; return a :class:`History`.

    Parameters
    ----------
    model : bpkit.nn.Module (see the module docstring for the contract)
    loss_fn : callable ``(scores, y) -> (loss, dscores)``
    optimizer : object with ``step(params, grads)``
    X : ndarray, shape (N, ...)
        Inputs; float input is cast once to the model's parameter dtype.
    y : ndarray, length N
        Targets, in whatever form ``loss_fn`` takes.
    epochs, batch_size : int
        Passes over the data, and examples per step (the last batch may be smaller).
    rng : np.random.Generator
        Shuffles the examples at the start of every epoch.
    validation : (X_val, y_val), optional
        Evaluated after every epoch in ``eval()`` mode: ``val_loss`` and ``val_<metric>``.
    callbacks : sequence of :class:`Callback`
    metrics : dict name -> callable ``(scores, y) -> float``, optional
        Computed on the training batches as they go and on the validation set.
    shuffle : bool
    progress : bool
        A progress bar (a widget in notebooks, a text bar in terminals). Turn it off in
        notebooks whose outputs are compared, as it shows timings.
    verbose : int
        Print one line of logs every ``verbose`` epochs (0: never); deterministic text.

    Raises
    ------
    TrainingDiverged
        As soon as the loss is nan or inf, naming the epoch and step.
    """
    _check_fit_args(model, loss_fn, optimizer, X, y, epochs, batch_size, rng, validation, metrics)
    X, y = _as_input(model, X), np.asarray(y)
    metrics = dict(metrics or {})
    callbacks = list(callbacks)
    history = History()
    skip_dx = takes_input_grad(model)      # nobody needs d(loss)/dX to train: let the model skip it
    N = len(X)
    n_batches = math.ceil(N / batch_size)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs * n_batches, desc="fit", unit="step", leave=True)
    for cb in callbacks:
        cb.on_train_begin(model, history)
    try:
        prev_loss = None
        for epoch in range(1, epochs + 1):
            model.train()
            order = rng.permutation(N) if shuffle else np.arange(N)
            sums = dict.fromkeys(["loss", *metrics], 0.0)
            for b in range(n_batches):
                idx = order[b * batch_size:(b + 1) * batch_size]
                xb, yb = X[idx], y[idx]
                scores = model.forward(xb)
                loss, dscores = loss_fn(scores, yb)
                if not np.isfinite(loss):
                    raise TrainingDiverged(
                        f"fit: the loss became {loss} at epoch {epoch}, step {history.steps + 1} "
                        f"(batch {b + 1} of {n_batches}); the loss before it was "
                        f"{'not yet computed' if prev_loss is None else format(prev_loss, '.4g')}. "
                        f"Usual causes: a learning rate too large for this model (try a tenth of "
                        f"{getattr(optimizer, 'lr', 'it')}), exploding gradients (add "
                        f"GradientClipping(max_norm=1.0)), or exp/log of extreme values in a "
                        f"hand-written loss (use the stable losses in bpkit.losses).", history)
                if skip_dx:
                    model.backward(dscores, input_grad=False)
                else:
                    model.backward(dscores)
                grads = model.grads
                for cb in callbacks:
                    cb.on_after_backward(grads)
                optimizer.step(model.params, grads)
                history.steps += 1
                prev_loss = loss
                sums["loss"] += loss * len(idx)
                for name, metric in metrics.items():
                    sums[name] += metric(scores, yb) * len(idx)
                if bar is not None:
                    bar.update(1)
            logs = {k: v / N for k, v in sums.items()}
            if validation is not None:
                val = evaluate(model, loss_fn, validation[0], validation[1], batch_size=max(batch_size, 1024),
                               metrics=metrics)
                logs.update({f"val_{k}": v for k, v in val.items()})
            history.append(epoch, logs)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
            if verbose and (epoch % verbose == 0 or epoch == epochs):
                print(f"epoch {epoch:>{len(str(epochs))}}/{epochs}  "
                      + "  ".join(f"{k} {v:.4f}" for k, v in logs.items()))
            stop = False
            for cb in callbacks:
                stop = bool(cb.on_epoch_end(epoch, logs, model)) or stop
            if stop:
                if history.stop_reason is None:
                    history.stop_reason = "stopped by a callback"
                if verbose:
                    print(f"stopped after epoch {epoch}: {history.stop_reason}")
                break
    finally:
        if bar is not None:
            bar.close()
    for cb in callbacks:
        cb.on_train_end(model, history)
    return history
