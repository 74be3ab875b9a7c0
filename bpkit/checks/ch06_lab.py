"""Checks for Chapter 6, part 2: the regularisation lab (Exercises 6.7 and 6.8).

:mod:`bpkit.checks.ch06` imports and exports everything here; notebooks import from there.
The reference is the lab itself (:func:`bpkit.widgets.regularization.train_lab`).
"""

from __future__ import annotations

from ..widgets.regularization import train_lab
from ._engine import CheckResult, handed_in_number, handed_in_settings

__all__ = ["ENOUGH_DATA_ACCURACY", "LAB_FIXED", "LAB_N_TRAIN", "LAB_POINTS", "REGULARIZE_TARGET", "check_enough_data",
           "check_regularize"]

#: Points of Exercises 6.7 and 6.8 (part of :data:`bpkit.checks.ch06.POINTS`).
LAB_POINTS = {"regularize": 1, "enough_data": 1}
POINTS = LAB_POINTS

#: Exercise 6.7: the lab's final validation loss must be below this.
REGULARIZE_TARGET = 0.5

#: Exercise 6.8: the validation accuracy the unregularised network must reach.
ENOUGH_DATA_ACCURACY = 0.9

#: The lab settings of Exercises 6.7 and 6.8 that the student must not change.
LAB_FIXED = {"dataset": "spirals", "epochs": 300, "batchnorm": False}
LAB_N_TRAIN = 40


# ----------------------------------------------------------------------------- 6.7 and 6.8: the lab

_LAB_KEYS = {"dataset", "n_train", "l2", "dropout", "batchnorm", "epochs"}


def check_regularize(answer):
    """Exercise 6.7: lab settings (``lab.values()``) whose final validation loss is below the target."""
    name, pts = "Exercise 6.7 (regularize)", POINTS["regularize"]
    target = REGULARIZE_TARGET
    hints = ["Keep the data set (spirals), the 40 training points, the 300 epochs and batch norm off; move only "
             "the L2 and dropout sliders, and read the validation loss in the summary.",
             f"The unregularised network fits the 40 points perfectly and its validation loss climbs; a moderate "
             f"L2 strength (around 1e-3 to 1e-2) brings it below {target:g}. Too much, and the network underfits.",
             "lab.set(l2=3e-3, dropout=0.0); return lab.values()"]
    got = handed_in_settings(answer, _LAB_KEYS, "lab.values()", name, pts, hints)
    if isinstance(got, CheckResult):
        return got
    changed = [k for k, v in {**LAB_FIXED, "n_train": LAB_N_TRAIN}.items() if got[k] != v]
    if changed:
        return CheckResult(name, "incorrect", f"you changed {', '.join(changed)}: keep the data set spirals, "
                           f"{LAB_N_TRAIN} training points, 300 epochs and batch norm off, and regularise with the "
                           "L2 and dropout sliders only (more data would help too, but that is Exercise 6.8).",
                           hints, max_points=pts, mistake="changed fixed settings")
    try:
        res = train_lab(**got)
    except ValueError as exc:
        return CheckResult(name, "error", f"these settings are not the lab's: {exc}", hints, max_points=pts)
    shown = (f"L2 {got['l2']:g}, dropout {got['dropout']:g}: validation loss {res.val_loss[-1]:.3f}, "
             f"training loss {res.train_loss[-1]:.3f}, training accuracy {100 * res.train_acc:.1f}%")
    if res.val_loss[-1] < target:
        return CheckResult(name, "correct", f"{shown}; below {target:g}: the penalty keeps the network from "
                           "bending its boundaries around individual points.", hints, [shown], points=pts,
                           max_points=pts)
    if got["l2"] == 0 and got["dropout"] == 0:
        why = "this is the unregularised network: it fits the training points perfectly and overfits"
    elif res.train_acc < 0.95:
        why = ("too much regularisation: the network underfits, its training loss is high as well; lower L2 "
               "or the dropout rate")
    else:
        why = "the network still overfits: its training loss is far below its validation loss; regularise more"
    return CheckResult(name, "incorrect", f"{shown}, not below {target:g}: {why}.", hints, [shown],
                       max_points=pts, mistake=why)


def _val_acc(n):
    return train_lab(LAB_FIXED["dataset"], n, 0.0, 0.0, LAB_FIXED["batchnorm"], LAB_FIXED["epochs"]).val_acc


def check_enough_data(answer):
    """Exercise 6.8: the smallest ``n_train`` (slider value) with validation accuracy >= 0.9, unregularised."""
    name, pts = "Exercise 6.8 (enough_data)", POINTS["enough_data"]
    thr = ENOUGH_DATA_ACCURACY
    hints = ["Keep the data set spirals, 300 epochs, no L2, no dropout, batch norm off; increase the number of "
             "training points one slider step (10) at a time and read the validation accuracy.",
             f"You want the first slider value at which the validation accuracy is at least {100 * thr:.0f}%: at "
             "every smaller value it is below.",
             f"for n in range(10, 301, 10): lab2.n_train = n; if lab2.result.val_acc >= {thr:g}: return n"]
    n = handed_in_number(answer, name, pts, hints, "hand in your number and run this cell again.",
                         expected="a number of training points")
    if isinstance(n, CheckResult):
        return n
    if n != int(n) or not 10 <= n <= 300 or int(n) % 10:
        return CheckResult(name, "incorrect", f"the number of training points must be one of the slider's values, "
                           f"10, 20, ..., 300; got {n:g}.", hints, max_points=pts)
    n = int(n)
    acc = _val_acc(n)
    shown = f"{n} training points: validation accuracy {100 * acc:.1f}%"
    if acc < thr:
        why = f"below {100 * thr:.0f}%: the network needs more data"
        return CheckResult(name, "incorrect", f"{shown}, {why}.", hints, [shown], max_points=pts, mistake=why)
    earlier = next((m for m in range(10, n, 10) if _val_acc(m) >= thr), None)
    if earlier is not None:
        why = (f"a smaller slider value also reaches {100 * thr:.0f}%: find the smallest number (try the values "
               "below yours)")
        return CheckResult(name, "incorrect", f"{shown}; but {why}.", hints, [shown], max_points=pts, mistake=why)
    return CheckResult(name, "correct", f"{shown}, the first slider value at or above {100 * thr:.0f}%: with "
                       "more data the same network generalises without any regulariser.", hints, [shown],
                       points=pts, max_points=pts)
