"""The check engine: :class:`CheckResult`, :func:`check_function`, :func:`check_value` and the diagnosis.

Everything a chapter's checks are built from; :mod:`bpkit.checks` exports it.
"""

from __future__ import annotations

import copy
import html
import linecache
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ._context import OWN_WORK_MISTAKE, InKernel, OwnWorkViolation, current_own_work, forbidden_codes, own_work_message, watch_calls

__all__ = ["CheckResult", "Mistake", "check_function", "check_value", "compare_arrays", "handed_in", "resolve_answer",
           "run_student"]

_BPKIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STATUS_TEXT = {
    "correct": "correct",
    "incorrect": "incorrect",
    "not_attempted": "not attempted yet",
    "error": "error",
}
_COLOURS = {"correct": "#1a7f37", "incorrect": "#b35900", "not_attempted": "#57606a", "error": "#cf222e"}
_ICONS = {"correct": "\u2714", "incorrect": "\u2718", "not_attempted": "\u2026", "error": "\u26a0"}


@dataclass
class CheckResult:
    """The outcome of one check.

    Attributes
    ----------
    name : str
        The exercise, e.g. ``"Exercise 1.2 (dense_forward)"``.
    status : str
        ``"correct"``, ``"incorrect"``, ``"not_attempted"`` or ``"error"``.
    message : str
        One sentence: what passed, or the diagnosis.
    hints : list of str
        Progressive hints, from a nudge to nearly the answer.
    details : list of str
        Facts for the curious: shapes, errors, the first differing entry.
    points, max_points : float
    """

    name: str
    status: str
    message: str
    hints: list = field(default_factory=list)
    details: list = field(default_factory=list)
    points: float = 0.0
    max_points: float = 1.0
    mistake: str | None = None

    def __post_init__(self):
        if self.status not in STATUS_TEXT:
            raise ValueError(f"CheckResult: unknown status {self.status!r}")
        self.hints_shown = 0
        self._widget = None

    @property
    def passed(self) -> bool:
        return self.status == "correct"

    @property
    def verdict(self) -> str:
        """The one-line verdict, e.g. ``"Exercise 1.2 (dense_forward): correct - 4 test cases pass."``."""
        return f"{self.name}: {STATUS_TEXT[self.status]} - {self.message}"

    def __str__(self):
        return self.verdict

    def __repr__(self):
        return self.verdict

    def next_hint(self) -> str | None:
        """Reveal the next hint and return it (``None`` when all are shown)."""
        if self.hints_shown >= len(self.hints):
            return None
        self.hints_shown += 1
        if self._widget is not None:
            self._render_hints()
        return self.hints[self.hints_shown - 1]

    def summary(self) -> str:
        """Verdict, details and the hints revealed so far, as plain text."""
        lines = [self.verdict, f"points: {self.points:g}/{self.max_points:g}"]
        lines += [f"  {d}" for d in self.details]
        lines += [f"hint {i + 1}: {h}" for i, h in enumerate(self.hints[:self.hints_shown])]
        return "\n".join(lines)

    # -- the widget ---------------------------------------------------------------
    def widget(self):
        """An ipywidgets box: the verdict, details, and a "Show hint" button."""
        if self._widget is not None:
            return self._widget
        import ipywidgets as W
        colour = _COLOURS[self.status]
        head = W.HTML(f"<div style='border-left:4px solid {colour};padding:2px 8px'>"
                      f"<b style='color:{colour}'>{_ICONS[self.status]} {html.escape(STATUS_TEXT[self.status])}</b>"
                      f" &mdash; {html.escape(self.name)}<br>{html.escape(self.message)}</div>")
        parts = [head]
        if self.details:
            det = W.HTML("<ul style='margin:2px 0'>" + "".join(f"<li><code>{html.escape(d)}</code></li>"
                                                               for d in self.details) + "</ul>")
            acc = W.Accordion(children=[det])
            acc.set_title(0, "Details")
            acc.selected_index = None
            parts.append(acc)
        self._hint_box = W.HTML("")
        if self.hints and not self.passed:
            self._button = W.Button(description=f"Show hint (1/{len(self.hints)})", icon="lightbulb-o",
                                    layout=W.Layout(width="auto"))
            self._button.on_click(lambda _b: self.next_hint())
            parts += [self._button, self._hint_box]
        self._widget = W.VBox(parts)
        self._render_hints()
        return self._widget

    def _render_hints(self):
        shown = self.hints[:self.hints_shown]
        self._hint_box.value = "".join(f"<p>&#128161; <b>Hint {i + 1}.</b> {html.escape(h)}</p>"
                                       for i, h in enumerate(shown))
        if hasattr(self, "_button"):
            n = len(self.hints)
            self._button.disabled = self.hints_shown >= n
            self._button.description = ("All hints shown" if self.hints_shown >= n
                                        else f"Show hint ({self.hints_shown + 1}/{n})")

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": self.verdict}
        try:
            w = self.widget()
            bundle.update({k: v for k, v in w._repr_mimebundle_().items() if k != "text/plain"})
        except Exception:                  # no widget support (plain Python, nbconvert to text)
            pass
        return bundle


@dataclass
class Mistake:
    """A known wrong answer: ``make(*args)`` computes what that mistake would return.

    ``label`` names the mistake in the verdict ("the bias gradient is not summed over the
    batch"); ``hint`` says how to fix it, shown first among the hints.
    """

    label: str
    make: Callable
    hint: str = ""


class _StudentError(Exception):
    def __init__(self, result):
        self.result = result


def _student_line(tb) -> str:
    """The last frame of the traceback that is the student's code, not bpkit's or NumPy's."""
    frames = traceback.extract_tb(tb)
    own = [f for f in frames if not os.path.abspath(f.filename).startswith(_BPKIT_DIR)
           and "site-packages" not in f.filename and "/numpy/" not in f.filename]
    frame = own[-1] if own else (frames[-1] if frames else None)
    if frame is None:
        return ""
    text = (frame.line or linecache.getline(frame.filename, frame.lineno) or "").strip()
    where = "your code" if ("ipykernel" in frame.filename or frame.filename.startswith("<")) \
        else os.path.basename(frame.filename)
    return f"line {frame.lineno} of {where}" + (f": {text}" if text else "")


def _exception_advice(exc) -> str | None:
    """A first hint for the exceptions learners meet most: shapes that do not fit."""
    text = str(exc)
    if isinstance(exc, ValueError) and ("matmul" in text or "not aligned" in text):
        return ("The inner sizes of a matrix product must agree: (N, D) @ (D, M) -> (N, M). Print the "
                "shapes of both operands; a transpose is probably missing or one too many.")
    if isinstance(exc, ValueError) and "broadcast" in text:
        return ("Two arrays could not be broadcast together: print their shapes. Broadcasting matches shapes "
                "from the right, so a bias of shape (M,) fits an (N, M) array but an (N,) one does not.")
    return None


_MUTATION_MESSAGE = ("your function changed its input arrays in place; compute a new array instead "
                     "(e.g. z = x @ W, not x @= W).")


def run_student(fn, args, name, points, hints, mutation_message=None):
    """Call ``fn(*args)`` on copies of ``args``; turn exceptions into a :class:`CheckResult`.

    An input array that comes back changed makes the answer incorrect, with
    ``mutation_message`` (by default: compute a new array instead of changing the input).
    """
    if not callable(fn):
        raise _StudentError(CheckResult(name, "error", f"expected a function, got {type(fn).__name__}. "
                                        "Pass the function itself, without calling it.",
                                        hints, max_points=points))
    safe = copy.deepcopy(args)
    codes = {} if getattr(fn, "bpfs_remote", False) else \
        forbidden_codes(current_own_work(), exclude=[fn.driver] if isinstance(fn, InKernel) else [])
    try:
        with watch_calls(codes) as called:
            out = fn(*safe)
        if called:
            raise OwnWorkViolation(called)
    except OwnWorkViolation as exc:
        raise _StudentError(CheckResult(name, "incorrect", own_work_message(exc.names), hints, max_points=points,
                                        mistake=OWN_WORK_MISTAKE)) from None
    except NotImplementedError:
        raise _StudentError(CheckResult(name, "not_attempted", "replace `raise NotImplementedError()` "
                                        "with your code, then run this cell again.",
                                        hints, max_points=points)) from None
    except Exception as exc:        # the student's bug: report it, never re-raise it
        where = exc.bpfs_where if hasattr(exc, "bpfs_where") else _student_line(sys.exc_info()[2])
        msg = f"your code raised {type(exc).__name__}: {exc}"
        advice = _exception_advice(exc)
        if advice:
            hints = [advice] + hints
        raise _StudentError(CheckResult(name, "error", msg + (f" ({where})" if where else ""), hints,
                                        details=[f"{type(exc).__name__}: {exc}"] + ([where] if where else []),
                                        max_points=points)) from None
    for a, s in zip(args, safe):
        if isinstance(a, np.ndarray) and isinstance(s, np.ndarray) and (a.shape != s.shape or not np.array_equal(a, s)):
            raise _StudentError(CheckResult(name, "incorrect", mutation_message or _MUTATION_MESSAGE,
                                            hints, max_points=points, mistake="mutates input"))
    return out


def resolve_answer(answer, name, points, hints):
    """``answer()`` when ``answer`` is a function of no arguments, else ``answer`` itself.

    Raises ``_StudentError`` carrying the "not attempted" or "error" result, as
    :func:`run_student` does.
    """
    if callable(answer):
        return run_student(answer, (), name, points, list(hints))
    return answer


def handed_in(answer, name, points, hints, not_attempted="set your answer and run this cell again."):
    """The student's answer (``answer()`` if it is a function), or the :class:`CheckResult` to return instead.

    An exception in the student's function becomes an "error" result (see :func:`run_student`),
    and ``None`` or ``...`` (the unsolved stub's value) a "not attempted" result with the
    message ``not_attempted``. Callers return the result when they get one::

        got = handed_in(answer, name, pts, hints, "hand in your number and run this cell again.")
        if isinstance(got, CheckResult):
            return got
    """
    try:
        got = resolve_answer(answer, name, points, hints)
    except _StudentError as err:
        return err.result
    if got is None or got is Ellipsis:
        return CheckResult(name, "not_attempted", not_attempted, list(hints), max_points=points)
    return got


def _fmt(v):
    return np.array2string(np.asarray(v), precision=4, threshold=12, edgeitems=2, suppress_small=True) \
        if np.ndim(v) else f"{float(v):.6g}"


def compare_arrays(got, expected, rtol=1e-6, atol=1e-8, label="output"):
    """``(ok, details)`` for one array: shape, max abs/rel error and the first differing entry."""
    exp = np.asarray(expected, dtype=np.float64)
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False, [f"{label}: expected an array of numbers, got {type(got).__name__}"]
    if g.shape != exp.shape:
        return False, [f"{label}: shape expected {exp.shape}, got {g.shape}"]
    details = [f"{label}: shape {exp.shape} ok"]
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(exp)):
        return False, details + [f"{label}: contains nan or inf"]
    err = np.abs(g - exp)
    ok = bool(np.all(err <= atol + rtol * np.abs(exp)))
    if exp.size:
        rel = err / np.maximum(np.abs(exp), 1e-12)
        details.append(f"{label}: max abs error {err.max():.3g}, max rel error {rel.max():.3g}")
    if not ok:
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err > atol + rtol * np.abs(exp))), exp.shape))
        details.append(f"{label}: first differing entry at {idx}: expected {exp[idx]:.6g}, got {g[idx]:.6g}")
    return ok, details


def _generic_mistake(got, expected, N=None):
    """Name a mistake that shows in the numbers alone, or ``None``."""
    try:
        g, e = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    close = lambda a, b: a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-8)  # noqa: E731
    if e.ndim == 2 and g.shape == e.shape[::-1] and e.shape[0] != e.shape[1] and close(g.T, e):
        return "the result is transposed"
    if g.shape != e.shape:
        if g.ndim == e.ndim + 1 and g.shape[1:] == e.shape and close(g.sum(axis=0), e):
            return "the result is not summed over the batch (axis 0)"
        if e.ndim >= 1 and g.ndim == 2 and g.shape[0] == g.shape[1] == e.shape[0]:
            return (f"broadcasting turned a {e.shape} result into {g.shape}: an (N, 1) array met an (N,) "
                    "array; reshape one of them")
        if g.ndim == e.ndim and g.size > e.size:
            return (f"the shape is {g.shape} instead of {e.shape}: broadcasting probably combined two arrays "
                    "whose shapes do not match (e.g. a bias of shape (M, 1) instead of (M,)); print the shapes "
                    "of your intermediate arrays")
        return None
    if close(-g, e) and np.any(e != 0):
        return "the sign is wrong"
    factors = [(2.0, "twice the correct value (an extra factor 2?)"),
               (0.5, "half the correct value (a missing factor 2, or an extra 1/2?)")]
    if N and N > 2:
        factors += [(float(N), f"N = {N} times the correct value: a sum where a mean over the batch is needed"),
                    (1.0 / N, f"1/N = 1/{N} of the correct value: a mean where a sum over the batch is needed")]
    for f, text in factors:
        if close(g, f * e) and np.any(e != 0):
            return text
    return None


def check_function(student, reference, cases, *, name, points=1.0, hints=(), mistakes: Sequence[Mistake] = (),
                   output_names=None, rtol=1e-6, atol=1e-8, batch_size_of=None, mutation_message=None):
    """Run ``student`` and ``reference`` on every case and compare the outputs.

    Parameters
    ----------
    student, reference : callable
    cases : list of tuples
        Argument tuples: fixed cases first (small, readable), then random ones.
    name : str
        The exercise, as shown in the verdict.
    points : float
        Awarded in full when correct, otherwise 0.
    hints : sequence of str
        Progressive hints; a matched mistake's own hint is shown first.
    mistakes : sequence of :class:`Mistake`
        Wrong variants to recognise, in order of likelihood.
    output_names : sequence of str, optional
        Names of the outputs when the function returns a tuple (e.g. ``("dx", "dW", "db")``).
    batch_size_of : callable, optional
        ``batch_size_of(*args) -> N``, to recognise "N times"/"1/N" mistakes.
    mutation_message : str, optional
        The verdict when the student's function changes an input array, for exercises where
        changing it and restoring it is allowed (the default says to compute a new array).
    """
    hints = list(hints)
    for i, args in enumerate(cases):
        try:
            got = run_student(student, args, name, points, hints, mutation_message)
        except _StudentError as err:
            return err.result
        expected = reference(*copy.deepcopy(args))
        multi = isinstance(expected, tuple)
        exp_parts = expected if multi else (expected,)
        labels = list(output_names or (["output"] if not multi else [f"output {k}" for k in range(len(exp_parts))]))
        if multi and not (isinstance(got, (tuple, list)) and len(got) == len(exp_parts)):
            return CheckResult(name, "incorrect", f"return {len(exp_parts)} values ({', '.join(labels)}) as a "
                               f"tuple; got {type(got).__name__}" + (f" of length {len(got)}" if isinstance(
                                   got, (tuple, list)) else "") + ".", hints, max_points=points)
        got_parts = tuple(got) if multi else (got,)
        details, all_ok = [f"test case {i + 1} of {len(cases)}"], True
        bad_label = None
        for lab, g, e in zip(labels, got_parts, exp_parts):
            ok, d = compare_arrays(g, e, rtol, atol, lab)
            details += d
            if not ok and bad_label is None:
                bad_label, bad_pair = lab, (g, e)
            all_ok &= ok
        if all_ok:
            continue
        # a wrong answer: which mistake is it?
        for m in mistakes:
            try:
                wrong = m.make(*copy.deepcopy(args))
            except Exception:
                continue
            wparts = wrong if isinstance(wrong, tuple) else (wrong,)
            if len(wparts) == len(got_parts) and all(
                    compare_arrays(g, w, rtol, atol)[0] for g, w in zip(got_parts, wparts)):
                return CheckResult(name, "incorrect", f"it looks like {m.label}.", ([m.hint] if m.hint else []) + hints,
                                   details, max_points=points, mistake=m.label)
        N = batch_size_of(*args) if batch_size_of else None
        generic = _generic_mistake(bad_pair[0], bad_pair[1], N)
        if generic:
            return CheckResult(name, "incorrect", f"{bad_label}: {generic}.", hints, details, max_points=points,
                               mistake=generic)
        first = next((d for d in details if "shape expected" in d or "first differing" in d or "nan" in d),
                     details[-1])
        return CheckResult(name, "incorrect", f"{first}.", hints, details, max_points=points)
    return CheckResult(name, "correct", f"all {len(cases)} test cases match the reference.", hints,
                       [f"{len(cases)} test cases, rtol {rtol:g}"], points=points, max_points=points)


def check_value(answer, expected, *, name, tol, why, points=1.0, hints=(), unit="", reveal=False):
    """Check a number the student read off a widget or derived by hand.

    ``tol`` is the absolute tolerance and ``why`` says where it comes from (e.g. "the
    slider moves in steps of 0.05"), so the student knows how close is close enough.
    The expected value is only revealed when ``reveal`` is true. ``answer`` may be a
    number or a function of no arguments returning it (the exercise-notebook form, whose
    stub raises ``NotImplementedError`` until the student fills it in).
    """
    hints = list(hints)
    answer = handed_in(answer, name, points, hints, "set your answer and run this cell again.")
    if isinstance(answer, CheckResult):
        return answer
    try:
        a = float(answer)
    except (TypeError, ValueError):
        return CheckResult(name, "error", f"expected a number, got {type(answer).__name__} {answer!r}.", hints,
                           max_points=points)
    diff = abs(a - expected)
    tol_text = f"tolerance +-{tol:g}{unit} ({why})"
    if diff <= tol:
        return CheckResult(name, "correct", f"{a:g}{unit} is within the {tol_text}.", hints,
                           [f"your answer {a:g}{unit}"] + ([f"exact value {expected:.6g}{unit}"] if reveal else []),
                           points=points, max_points=points)
    side = "too large" if a > expected else "too small"
    return CheckResult(name, "incorrect", f"{a:g}{unit} is {side}: it is off by more than the {tol_text}.",
                       hints, [f"your answer {a:g}{unit}", f"off by {diff:.3g}{unit}"], max_points=points)
