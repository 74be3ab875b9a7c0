"""Exercise checks: compare a student's function or value with bpkit's reference and explain.

A check never raises and never lets a student's exception escape as a bpkit traceback.
It returns a :class:`CheckResult`, whose text form is a one-line verdict (what ``nbval``
compares in solution notebooks) and which displays, in a notebook, a widget with the
verdict, details (shapes, errors, the first differing entry) and a "Show hint" button
revealing progressive hints.

The verdicts:

* ``correct``: matches the reference on every test case;
* ``not attempted yet``: the stub still raises ``NotImplementedError``;
* ``incorrect``: with a diagnosis when the answer matches a known wrong variant
  (a transposed weight, a bias gradient not summed over the batch, a mean instead of a
  sum, a missing factor 1/2 or 1/N, a sign error, a shape changed by broadcasting, ...);
* ``error``: the student's code raised; we report the exception and the student's own line.

Chapter-specific checks live in submodules (``bpkit.checks.ch01``, ...), built from
:func:`check_function` and :func:`check_value`.
"""

from ._context import OwnWorkViolation, case_rng, in_kernel, own_work, secret_cases
from ._engine import (CheckResult, Mistake, STATUS_TEXT, _StudentError, _generic_mistake, check_function, check_value,
                      compare_arrays, handed_in, resolve_answer, run_student)

__all__ = ["CheckResult", "Mistake", "OwnWorkViolation", "case_rng", "check_function", "check_value", "compare_arrays", "handed_in", "in_kernel",
           "own_work", "resolve_answer", "run_student", "secret_cases"]
