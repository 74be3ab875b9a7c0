"""Where a check runs: test-case seeds, the exercise's own-work rule, and answers that live elsewhere.

The same checks serve two places:

* **In the student's kernel** (JupyterLab, Colab, JupyterLite), for feedback. The student's
  function is a Python function; test cases come from fixed seeds.
* **In the grader** (``bpkit-course grade``), which runs no student code. The student's
  function is a proxy that calls it in a contained process and returns only data; test
  cases come from a secret seed (:func:`secret_cases`), so an answer cannot be prepared for
  them.

Three helpers let one check body work in both places:

* :func:`case_rng` draws test cases (fixed seed, or the grader's secret one);
* :func:`own_work` names the bpkit functions an exercise asks the student to write; a call
  to them, or to any reference function of :mod:`bpkit.checks`, during the student's code
  makes the answer incorrect, with the same message in both places;
* :func:`in_kernel` runs a small driver next to the student's code, for answers that take or
  return objects that cannot travel as data (an autograd ``Value``, a model).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import inspect
import sys

import numpy as np

__all__ = ["OWN_WORK_MISTAKE", "InKernel", "OwnWorkViolation", "case_rng", "forbidden_codes", "in_kernel", "own_work",
           "own_work_message", "references_permitted", "secret_cases", "watch_calls"]

_SECRET = contextvars.ContextVar("bpfs_case_secret", default=None)
_OWN_WORK = contextvars.ContextVar("bpfs_own_work", default=())
_PERMITTED = contextvars.ContextVar("bpfs_references_permitted", default=False)
#: The ``mistake`` of a result whose answer calls bpkit's own version of the exercise.
OWN_WORK_MISTAKE = "calls bpkit's own version"
CHECK_MODULES = tuple(f"bpkit.checks.ch{n:02d}" for n in range(1, 100))


def case_rng(seed: int) -> np.random.Generator:
    """The generator a check draws its random test cases from.

    ``np.random.default_rng(seed)`` for a student's own run (reproducible feedback), and a
    generator mixed with the grader's secret inside :func:`secret_cases`.
    """
    secret = _SECRET.get()
    return np.random.default_rng(seed if secret is None else [int(secret), int(seed)])


@contextlib.contextmanager
def secret_cases(secret: int):
    """Within this block, :func:`case_rng` mixes ``secret`` (a non-negative int) into every seed."""
    if not isinstance(secret, int) or isinstance(secret, bool) or secret < 0:
        raise ValueError(f"secret_cases: the secret must be a non-negative int, got {secret!r}")
    token = _SECRET.set(secret)
    try:
        yield
    finally:
        _SECRET.reset(token)


# ----------------------------------------------------------------------------- own work

def own_work(*names: str):
    """Decorator for a check: the exercise asks the student to write these bpkit functions.

    ``names`` are dotted paths such as ``"bpkit.ops.linear_backward"`` or
    ``"bpkit.nn.Linear.backward"``. The check's ``own_work`` attribute lists them for the
    grader, which also looks for them in the answer's source.
    """
    for n in names:
        if not isinstance(n, str) or not n.startswith("bpkit."):
            raise ValueError(f"own_work: expected dotted names of bpkit functions such as 'bpkit.ops.linear_forward', "
                             f"got {n!r}")

    def decorate(check):
        @functools.wraps(check)
        def wrapper(*args, **kwargs):
            token = _OWN_WORK.set(names)
            try:
                return check(*args, **kwargs)
            finally:
                _OWN_WORK.reset(token)
        wrapper.own_work = names
        return wrapper
    return decorate


def _resolve(dotted: str):
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise ImportError(dotted)


def _code(fn):
    fn = inspect.unwrap(fn)
    return getattr(fn, "__code__", None)


def _parts(modname: str) -> tuple:
    """The modules a chapter's check module is split into (``bpkit.checks.ch08_lstm`` for ``ch08``)."""
    mod = sys.modules.get(modname)
    return tuple(sorted({v.__module__ for v in vars(mod).values() if inspect.isfunction(v)
                         and v.__module__.startswith(modname + "_")})) if mod else ()


@functools.lru_cache(maxsize=None)
def _reference_codes() -> tuple:
    """``(code, name)`` of every reference function in the chapters' check modules."""
    found = []
    for modname in CHECK_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            break
        scaffold = set(getattr(mod, "SCAFFOLD", ()))
        for part in (modname, *_parts(modname)):          # a chapter's checks may be split over modules
            for key, value in vars(sys.modules[part]).items():
                if (inspect.isfunction(value) and value.__module__ == part and not key.startswith("check_")
                        and key not in scaffold):
                    found.append((value.__code__, f"{modname}.{key}"))
    return tuple(found)


def forbidden_codes(names=(), exclude=()) -> dict:
    """``{id(code): (code, dotted name)}``: the functions ``names`` and every reference function of the checks.

    ``exclude`` holds functions that may run (the driver of :func:`in_kernel`).
    """
    if _PERMITTED.get():
        return {}
    skip = {id(c) for c in map(_code, exclude) if c is not None}
    codes = {id(c): (c, n) for c, n in _reference_codes() if id(c) not in skip}
    for n in names:
        try:
            c = _code(_resolve(n))
        except (ImportError, AttributeError):
            continue
        if c is not None and id(c) not in skip:
            codes[id(c)] = (c, n)
    return codes


@contextlib.contextmanager
def references_permitted():
    """Within this block, answers may call bpkit's references (for tests that hand in the reference itself)."""
    token = _PERMITTED.set(True)
    try:
        yield
    finally:
        _PERMITTED.reset(token)


def current_own_work() -> tuple:
    """The names given to :func:`own_work` by the check that is running (empty outside one)."""
    return _OWN_WORK.get()


@contextlib.contextmanager
def watch_calls(codes: dict):
    """Collect, in order, the names of the functions in ``codes`` called within the block."""
    seen = []
    if not codes:
        yield seen
        return
    previous = sys.getprofile()

    def profile(frame, event, arg):
        if event == "call":
            hit = codes.get(id(frame.f_code))
            if hit is not None and hit[0] is frame.f_code and hit[1] not in seen:
                seen.append(hit[1])

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(previous)


class OwnWorkViolation(Exception):
    """The student's code called bpkit's own version of what the exercise asks for."""

    def __init__(self, names):
        super().__init__(", ".join(names))
        self.names = list(names)


def own_work_message(names) -> str:
    """The verdict for an answer that calls bpkit's reference instead of computing it."""
    shown = ", ".join(f"`{n}`" for n in names)
    ref = any(n.startswith("bpkit.checks.") for n in names)
    what = "the reference the check compares with" if ref else "bpkit's own version of what this exercise asks for"
    return (f"your code calls {shown}, {what}. Write it yourself with NumPy: an answer that calls it counts 0 points "
            "when graded.")


# ----------------------------------------------------------------------------- drivers

class InKernel:
    """``driver(student, *args)`` as one callable, run where the student's code lives.

    In a student's kernel this is a plain call. In the grader the student's function is a
    proxy, and :func:`in_kernel` asks the proxy to run ``driver`` next to it instead; so
    ``driver`` must be a module-level function of bpkit that takes and returns data.
    """

    def __init__(self, driver, student):
        self.driver = driver
        self.student = student

    def __call__(self, *args):
        return self.driver(self.student, *args)


def in_kernel(driver, student):
    """A callable computing ``driver(student, *args)`` in the process that holds ``student``."""
    drive = getattr(student, "bpfs_drive", None)
    if drive is not None:
        return drive(driver)
    return InKernel(driver, student)
