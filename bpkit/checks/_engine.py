"""The check engine: :class:`CheckResult`, :func:`check_function`, :func:`check_value` and the diagnosis.

Everything a chapter's checks are built from; :mod:`bpkit.checks` exports it.
"""

from __future__ import annotations

import copy
import html
import linecache
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ._context import OWN_WORK_MISTAKE, InKernel, OwnWorkViolation, current_own_work, forbidden_codes, own_work_message, watch_calls
from ._diagnosis import (_arg_names, _fmt, _generic_keys, _generic_mistake, _raises, _reproduces,  # noqa: F401
                         _Run, _sizes, _wrong_order, compare_arrays, describe_case)

__all__ = ["CheckResult", "Mistake", "as_number", "check_function", "check_value", "compare_arrays", "describe_case",
           "handed_in", "handed_in_number", "handed_in_settings", "resolve_answer", "run_student", "with_fix"]

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
        self._hint_box.value = "".join(f"<div>&#128161; <b>Hint {i + 1}.</b> {_hint_html(h)}</div>"
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


def _hint_html(hint: str) -> str:
    """A hint as HTML: a hint with line breaks (code) keeps them, in a ``<pre>`` block."""
    if "\n" in hint:
        return f"<pre style='white-space:pre-wrap;margin:2px 0'>{html.escape(hint)}</pre>"
    return html.escape(hint)


def _looks_like_code(text: str) -> bool:
    """Whether a hint is a line of code (an assignment or ``return`` with code on its right, a NumPy call), not
    a nudge in words that quotes a formula such as ``Z = XW + b``."""
    if "\n" in text or re.search(r"(^|; )\s*return\b", text) or re.search(r"\b(np|ops|losses)\.\w+\(", text):
        return True
    for m in re.finditer(r"(^|[\s:;(])[A-Za-z_]\w*(\[[^\]]*\])?\s[-+*/@]?=\s([^;]*)", text):
        if re.search(r"[(\[@*]|\.T\b|\.\w+\(", m.group(3)):
            return True
    return False


def _dedup(hints) -> list:
    out = []
    for h in hints:
        if h and h not in out:
            out.append(h)
    return out


def with_fix(hints, fix: str) -> list:
    """The hints with a named mistake's ``fix`` in its place on the way from a nudge to the answer.

    A fix in words comes first; a fix that is a line of code comes just before the last
    hint (the answer), so a named mistake never turns hint 1 into the solution.
    """
    hints = _dedup(hints)
    if not fix or fix in hints:
        return hints
    if _looks_like_code(fix) and hints:
        return _dedup(hints[:-1] + [fix] + hints[-1:])
    return _dedup([fix] + hints)


@dataclass
class Mistake:
    """A known wrong answer: ``make(*args)`` computes what that mistake would return.

    ``label`` names the mistake in the verdict ("the bias gradient is not summed over the
    batch"); ``hint`` says how to fix it. A fix in words is shown first among the hints, a
    fix that is a line of code just before the last hint (see :func:`with_fix`). The
    mistake is named only when ``make`` reproduces the student's output on every test case
    it applies to (``make`` raising means it does not apply to that case).
    """

    label: str
    make: Callable | None
    hint: str = ""
    #: For a mistake no function can reproduce (a mask drawn from the student's own random numbers):
    #: ``test(got, *args)`` says whether the output ``got`` shows it (``None``: the case cannot tell).
    test: Callable | None = None


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
        shapes = re.findall(r"\(([\d,\s]*)\)", text.split("shapes", 1)[-1])
        shown = " and ".join(f"({s.strip()})" for s in shapes[:2]) if len(shapes) >= 2 else "these"
        return (f"Arrays of shapes {shown} cannot be combined element by element: NumPy lines shapes up from "
                "the right, and on each axis the sizes must be equal or one of them 1. Print the shapes of the "
                "arrays on that line and check which axis each size stands for.")
    return None


def _mutation_details(names, args, safe) -> tuple:
    """``(changed argument names, details)`` for the input arrays a call changed."""
    changed, details = [], []
    for k, (a, s) in enumerate(zip(args, safe)):
        if not (isinstance(a, np.ndarray) and isinstance(s, np.ndarray)):
            continue
        argname = names[k] if names and k < len(names) else f"argument {k + 1}"
        if a.shape != s.shape:
            changed.append(argname)
            details.append(f"{argname}: shape {a.shape} before the call, {s.shape} after it")
            continue
        diff = ~((a == s) | (np.isnan(a) & np.isnan(s))) if a.dtype.kind in "fc" else a != s
        if np.any(diff):
            changed.append(argname)
            idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), a.shape))
            details.append(f"{argname}: {int(diff.sum())} of {a.size} entries changed; the first at {idx} was "
                           f"{_fmt(a[idx])} before the call and {_fmt(s[idx])} after it")
    return changed, details


def run_student(fn, args, name, points, hints, mutation_message=None, arg_names=None, where=None):
    """Call ``fn(*args)`` on copies of ``args``; turn exceptions into a :class:`CheckResult`.

    An input array that comes back changed makes the answer incorrect, with
    ``mutation_message`` (by default: your function changed ``<array>`` in place, compute a new
    array instead). ``arg_names`` name the arguments in that verdict and its details, and
    ``where`` (e.g. ``"test case 2 of 4 (x of shape (3, 5))"``) says which case failed.
    """
    if not callable(fn):
        raise _StudentError(CheckResult(name, "error", f"expected a function, got {type(fn).__name__}. "
                                        "Pass the function itself, without calling it.",
                                        hints, max_points=points))
    case = where
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
            hints = _dedup([advice] + list(hints))
        raise _StudentError(CheckResult(name, "error", msg + (f" ({where})" if where else "")
                                        + (f", in {case}" if case else ""), hints,
                                        details=[f"{type(exc).__name__}: {exc}"] + ([where] if where else [])
                                        + ([case] if case else []), max_points=points)) from None
    changed, details = _mutation_details(arg_names, args, safe)
    if changed:
        which = ", ".join(f"`{c}`" for c in changed)
        msg = mutation_message or (f"your function changed {which} in place; compute a new array instead "
                                   "(e.g. z = x @ W, not x @= W, and x = x * 2, not x *= 2).")
        raise _StudentError(CheckResult(name, "incorrect", msg, hints, ([case] if case else []) + details,
                                        max_points=points, mistake="mutates input"))
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


def handed_in_number(answer, name, points, hints, not_attempted="set your answer and run this cell again.",
                     expected="a number", allow_bool=True):
    """:func:`handed_in`, then :func:`as_number`: the student's answer as a float, or the :class:`CheckResult`."""
    got = handed_in(answer, name, points, hints, not_attempted)
    if isinstance(got, CheckResult):
        return got
    return as_number(got, name, points, hints, expected, allow_bool)


def as_number(got, name, points, hints, expected="a number", allow_bool=True):
    """``float(got)``, or an "error" :class:`CheckResult` saying "expected <expected>, got <type> <value>".

    ``allow_bool=False`` refuses ``True`` and ``False``, which ``float`` would take as 1 and 0.
    """
    try:
        if isinstance(got, bool) and not allow_bool:
            raise TypeError
        return float(got)
    except (TypeError, ValueError):
        return CheckResult(name, "error", f"expected {expected}, got {type(got).__name__} {got!r}.", hints,
                           max_points=points)



def handed_in_settings(answer, keys, what, name, points, hints):
    """The settings a widget exercise hands in, as the dict ``what`` (e.g. ``"explorer.values()"``) with the
    keys ``keys`` (the widget itself is accepted too), or the :class:`CheckResult` to return instead."""
    got = handed_in(answer, name, points, hints, f"hand in {what} and run this cell again.")
    if isinstance(got, CheckResult):
        return got
    if hasattr(got, "values") and callable(got.values) and not isinstance(got, dict):
        got = got.values()                                   # the widget itself
    if not isinstance(got, dict) or set(got) != set(keys):
        shown = sorted(got) if isinstance(got, dict) else f"{type(got).__name__} {got!r}"
        return CheckResult(name, "error", f"expected the dict {what} with the keys {sorted(keys)}, got {shown}.",
                           hints, max_points=points)
    return got

def check_function(student, reference, cases, *, name, points=1.0, hints=(), mistakes: Sequence[Mistake] = (),
                   output_names=None, rtol=1e-6, atol=1e-8, batch_size_of=None, mutation_message=None,
                   describe=None, arg_names=None):
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
        Progressive hints, from a nudge to the answer; a named mistake's fix joins them
        (see :func:`with_fix`).
    mistakes : sequence of :class:`Mistake`
        Wrong variants to recognise, in order of likelihood. One is named only when it
        reproduces the student's output on every case it applies to.
    output_names : sequence of str, optional
        Names of the outputs when the function returns a tuple (e.g. ``("dx", "dW", "db")``).
    batch_size_of : callable, optional
        ``batch_size_of(*args) -> N``, to recognise "N times"/"1/N" mistakes.
    mutation_message : str, optional
        The verdict when the student's function changes an input array, for exercises where
        changing it and restoring it is allowed (the default names the array changed).
    describe : callable, optional
        ``describe(*args) -> str``, the case's inputs in a few words for the verdict. By
        default the reference's argument names with the shapes of arrays and the values of
        numbers and strings (``"x of shape (2, 3, 7, 6), stride=2, padding=1"``).
    arg_names : sequence of str, optional
        The argument names (by default those of ``reference``).
    """
    hints = _dedup(hints)
    names = list(arg_names) if arg_names is not None else _arg_names(reference)

    def where(i, args):
        try:
            text = describe(*args) if describe else describe_case(args, names)
        except Exception:
            text = ""
        return f"test case {i + 1} of {len(cases)}" + (f" ({text})" if text else "")

    runs, raised = [], None
    for i, args in enumerate(cases):
        try:
            got = run_student(student, args, name, points, hints, mutation_message, names, where(i, args))
        except _StudentError as err:
            if err.result.status != "error" or not any(not r.ok for r in runs):
                return err.result
            raised = (i, err.result)              # after wrong answers: perhaps a mistake that raises here too
            break
        expected = reference(*copy.deepcopy(args))
        multi = isinstance(expected, tuple)
        exp_parts = expected if multi else (expected,)
        labels = list(output_names or (["output"] if not multi else [f"output {k}" for k in range(len(exp_parts))]))
        if multi and not (isinstance(got, (tuple, list)) and len(got) == len(exp_parts)):
            return CheckResult(name, "incorrect", f"return {len(exp_parts)} values ({', '.join(labels)}) as a "
                               f"tuple; got {type(got).__name__}" + (f" of length {len(got)}" if isinstance(
                                   got, (tuple, list)) else "") + ".", hints, [where(i, args)], max_points=points)
        got_parts = tuple(got) if multi else (got,)
        details, all_ok, bad = [where(i, args)], True, None
        for lab, g, e in zip(labels, got_parts, exp_parts):
            ok, d = compare_arrays(g, e, rtol, atol, lab)
            details += d
            if not ok and bad is None:
                bad = (lab, g, e)
            all_ok &= ok
        runs.append(_Run(i, args, got_parts, exp_parts, all_ok, details, bad))
    if raised is not None:
        i, result = raised
        for m in mistakes:
            if m.make is not None and _raises(m.make, cases[i]) and _reproduces(m, runs, rtol, atol):
                return CheckResult(name, "incorrect", f"it looks like {m.label}.", with_fix(hints, m.hint),
                                   [d for r in runs if not r.ok for d in r.details[:1]] + result.details,
                                   max_points=points, mistake=m.label)
        return result
    failing = [r for r in runs if not r.ok]
    if not failing:
        return CheckResult(name, "correct", f"all {len(cases)} test cases match the reference.", hints,
                           [f"{len(cases)} test cases, rtol {rtol:g}"], points=points, max_points=points)
    first = failing[0]
    details = list(first.details)
    if len(cases) > 1:
        details.append(f"failing test cases: {', '.join(str(r.index + 1) for r in failing)} of {len(cases)}")
    # a wrong answer: a known mistake, if one gives the student's output on every case it applies to
    for m in mistakes:
        if _reproduces(m, runs, rtol, atol):
            return CheckResult(name, "incorrect", f"it looks like {m.label}.", with_fix(hints, m.hint), details,
                               max_points=points, mistake=m.label)
    # outputs that are all there, in another order
    order = _wrong_order(failing, labels, rtol, atol)
    if order:
        text = (f"the outputs are in the wrong order: return ({', '.join(labels)}); yours come as "
                f"({', '.join(order)})")
        return CheckResult(name, "incorrect", f"{text}.", hints, details, max_points=points, mistake="output order")
    # a mistake that shows in the numbers, the same on every failing case
    keys = None
    for r in failing:
        N = batch_size_of(*r.args) if batch_size_of else None
        k = {(r.bad[0], key): text for key, text in _generic_keys(r.bad[1], r.bad[2], N).items()
             if not (key in ("x2", "x0.5") and 2 in _sizes(r.args))}
        if keys is None:
            keys = k
        else:
            keys = {key: keys[key] for key in keys if key in k}
    for key in ("T", "batch", "square", "sign", "xN", "x1/N", "x2", "x0.5"):
        hit = next(((lab, kk) for lab, kk in keys if kk == key), None)
        if hit:
            text = keys[hit]
            return CheckResult(name, "incorrect", f"{hit[0]}: {text}.", hints, details, max_points=points,
                               mistake=text)
    # otherwise: what differs, and where, without a guess
    fact = next((d for d in first.details if "shape expected" in d or "first differing" in d or "nan" in d
                 or "expected an array" in d), first.details[-1])
    return CheckResult(name, "incorrect", f"{first.details[0]}: {fact}.", hints, details, max_points=points)


def check_value(answer, expected, *, name, tol, why, points=1.0, hints=(), unit="", reveal=False):
    """Check a number the student read off a widget or derived by hand.

    ``tol`` is the absolute tolerance and ``why`` says where it comes from (e.g. "the
    slider moves in steps of 0.05"), so the student knows how close is close enough.
    The expected value is only revealed when ``reveal`` is true. ``answer`` may be a
    number or a function of no arguments returning it (the exercise-notebook form, whose
    stub raises ``NotImplementedError`` until the student fills it in).
    """
    hints = list(hints)
    a = handed_in_number(answer, name, points, hints)
    if isinstance(a, CheckResult):
        return a
    diff = abs(a - expected)
    tol_text = f"tolerance +-{tol:g}{unit} ({why})"
    if diff <= tol:
        return CheckResult(name, "correct", f"{a:g}{unit} is within the {tol_text}.", hints,
                           [f"your answer {a:g}{unit}"] + ([f"exact value {expected:.6g}{unit}"] if reveal else []),
                           points=points, max_points=points)
    side = "too large" if a > expected else "too small"
    return CheckResult(name, "incorrect", f"{a:g}{unit} is {side}: it is off by more than the {tol_text}.",
                       hints, [f"your answer {a:g}{unit}", f"off by {diff:.3g}{unit}"], max_points=points)
