"""A named mistake is always the right one (issue 14).

Every check built on :func:`bpkit.checks.check_function` is run once with its solution, and its
call is recorded: the reference, the cases and the named mistakes. Then, for every mistake:

* an answer that *is* the mistake on every case is told it is wrong, and named (that mistake, or
  an earlier one that gives the same outputs);
* an answer that is the mistake on every case but one (where it is slightly off) is *not* given
  the mistake's name: a mistake is named only when it reproduces the answer on every case.
"""

import copy
import importlib
from collections import defaultdict

import numpy as np
import pytest

from _mutate import Exercise
from _notebooks import ROOT, _cells, _gid
from bpkit.checks import _engine
from bpkit.checks._context import _parts, references_permitted

CHAPTERS = sorted(p.name[:2] for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))   # every chapter


def _recorded_calls(chapter, monkeypatch):
    """``[(grade_id, kwargs of check_function)]`` for the function exercises of a chapter."""
    nb = next(p.name for p in (ROOT / "solutions").glob(f"{chapter}_*.ipynb"))
    calls = []
    real = _engine.check_function

    def recorder(student, reference, cases, **kw):
        calls.append((current[0], dict(kw, reference=reference, cases=cases)))
        return real(student, reference, cases, **kw)
    mods = [importlib.import_module(f"bpkit.checks.ch{chapter}")]
    mods += [importlib.import_module(part) for part in _parts(f"bpkit.checks.ch{chapter}")]     # ch08_lstm, ...
    for m in mods:
        if hasattr(m, "check_function"):
            monkeypatch.setattr(m, "check_function", recorder)
    current = [None]
    for c in _cells(ROOT / "solutions" / nb):
        if c["metadata"].get("nbgrader", {}).get("solution") and "():" not in "".join(c["source"]).split("\n")[0]:
            current[0] = _gid(c)
            ex = Exercise(nb, _gid(c))
            assert ex.check(ex.source).passed, _gid(c)
    return calls


def _key(a):
    if isinstance(a, np.ndarray):
        return ("a", a.shape, a.tobytes())
    if isinstance(a, (list, tuple)):
        return tuple(_key(x) for x in a)
    if isinstance(a, dict):
        return tuple((k, _key(v)) for k, v in a.items())
    if callable(a):
        return getattr(a, "__name__", repr(type(a)))
    if isinstance(a, np.random.Generator):
        return "rng"
    return repr(a)


def _nudge(out):
    """``out`` with its first entry a little off (a copy)."""
    parts = list(out) if isinstance(out, tuple) else [out]
    for k, p in enumerate(parts):
        if isinstance(p, np.ndarray) and p.size and p.dtype.kind == "f":
            q = p.copy()
            q.flat[0] += 1e-3 * (1 + abs(q.flat[0]))
            parts[k] = q
            break
        if isinstance(p, (int, float, np.integer, np.floating)) and not isinstance(p, bool):
            parts[k] = p + 1 if isinstance(p, (int, np.integer)) else p + 1e-3 * (1 + abs(p))
            break
    else:
        return None
    return tuple(parts) if isinstance(out, tuple) else parts[0]


def _differs(a, b, kw):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    return len(a) != len(b) or not all(_engine.compare_arrays(x, y, kw.get("rtol", 1e-6), kw.get("atol", 1e-8))[0]
                                       for x, y in zip(a, b))


def _mistake_cases(m, kw):
    """``(applies, differs)``: the indices of the cases the mistake applies to, and where it is wrong."""
    applies, differs = [], []
    for i, args in enumerate(kw["cases"]):
        try:
            wrong = m.make(*copy.deepcopy(args))
        except Exception:
            continue
        applies.append(i)
        if _differs(wrong, kw["reference"](*copy.deepcopy(args)), kw):
            differs.append(i)
    return applies, differs


def _student(m, target):
    key = _key(target) if target is not None else None

    def student(*args):
        out = m.make(*args)
        return _nudge(out) if key is not None and _key(args) == key else out
    return student


STATS = defaultdict(int)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_mistake_is_named_only_when_it_explains_every_case(chapter, monkeypatch):
    calls = _recorded_calls(chapter, monkeypatch)
    monkeypatch.undo()
    with references_permitted(), np.errstate(all="ignore"):         # the planted answers are built from them
        problems = _problems(calls)
    assert not problems, "\n".join(problems)


def _problems(calls):
    problems = []
    for gid, kw in calls:
        kw = dict(kw)
        reference, cases = kw.pop("reference"), kw.pop("cases")
        full = dict(kw, reference=reference, cases=cases)
        for m in kw.get("mistakes", ()):
            if m.make is None:
                continue
            applies, differs = _mistake_cases(m, full)
            if not differs:
                problems.append(f"{gid}: '{m.label[:60]}' is never wrong on the check's cases")
                continue
            exact = _engine.check_function(_student(m, None), reference, cases, **kw)
            same_outputs = [x.label for x in kw["mistakes"] if x.make is not None
                            and all(not _differs(_safe(x, cases[i]), _safe(m, cases[i]), full) for i in applies)]
            raises_somewhere = len(applies) < len(cases)           # then such an answer raises there: an error
            if exact.status == "correct" or (exact.mistake not in same_outputs and exact.mistake != m.label
                                             and not (raises_somewhere and exact.status == "error")):
                problems.append(f"{gid}: '{m.label[:60]}' planted exactly, got {exact.status}: {exact.message[:90]}")
            # off on one case: the last case where the mistake is wrong if it is wrong on two or more, else a case
            # where the mistake happens to be right
            others = [i for i in applies if i not in differs]
            target = differs[-1] if len(differs) > 1 else (others[-1] if others else None)
            if target is None:
                STATS["single-case"] += 1
                continue
            off = _engine.check_function(_student(m, cases[target]), reference, cases, **kw)
            STATS["planted"] += 1
            if off.mistake == m.label or off.status == "correct":
                problems.append(f"{gid}: '{m.label[:60]}' named although case {target + 1} differs from it")
    return problems


def _safe(m, args):
    try:
        return m.make(*copy.deepcopy(args))
    except Exception:
        return None
