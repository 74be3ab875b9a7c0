"""How a check tells what is wrong: comparing arrays, describing a case, and the diagnoses that hold on every case.

Used by :func:`bpkit.checks.check_function`; split from :mod:`._engine` to keep both short.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass

import numpy as np

__all__ = ["compare_arrays", "describe_case"]


def _fmt(v):
    return np.array2string(np.asarray(v), precision=4, threshold=12, edgeitems=2, suppress_small=True) \
        if np.ndim(v) else f"{float(v):.6g}"


def compare_arrays(got, expected, rtol=1e-6, atol=1e-8, label="output"):
    """``(ok, details)`` for one array: shape, the largest error and the first differing entry.

    The error is given in absolute terms and relative to the array's scale (its largest
    absolute expected entry), which stays meaningful where expected entries are 0.
    """
    exp = np.asarray(expected, dtype=np.float64)
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False, [f"{label}: expected an array of numbers, got {type(got).__name__}"]
    if g.shape != exp.shape:
        return False, [f"{label}: shape expected {exp.shape}, got {g.shape}"]
    details = [f"{label}: shape {exp.shape} ok"]
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(exp)):
        bad = ~np.isfinite(g)
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), g.shape)) if g.ndim else ()
        where = f" ({int(bad.sum())} of {g.size} entries; the first at {idx}: {g[idx]})" if g.ndim else f" ({g})"
        return False, details + [f"{label}: contains nan or inf{where}"]
    err = np.abs(g - exp)
    ok = bool(np.all(err <= atol + rtol * np.abs(exp)))
    if exp.size:
        scale = float(np.abs(exp).max())
        rel = f"{err.max() / scale:.3g} of the largest |expected| entry" if scale > 0 else "the expected array is 0"
        details.append(f"{label}: max abs error {err.max():.3g} ({rel})")
    if not ok:
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err > atol + rtol * np.abs(exp))), exp.shape))
        details.append(f"{label}: first differing entry at {idx}: expected {exp[idx]:.6g}, got {g[idx]:.6g}")
    return ok, details


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-8)


def _generic_keys(got, expected, N=None) -> dict:
    """``{key: text}`` of every mistake that shows in the numbers of one case alone."""
    try:
        g, e = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return {}
    found = {}
    if e.ndim == 2 and g.shape == e.shape[::-1] and e.shape[0] != e.shape[1] and _close(g.T, e):
        found["T"] = "the result is transposed"
    if g.shape != e.shape:
        if g.ndim == e.ndim + 1 and g.shape[0] > 1 and g.shape[1:] == e.shape and _close(g.sum(axis=0), e):
            found["batch"] = "the result is not summed over the batch (axis 0)"
        if e.ndim == 1 and g.ndim == 2 and g.shape[0] == g.shape[1] == e.shape[0]:
            found["square"] = (f"broadcasting turned a {e.shape} result into {g.shape}: an (N, 1) array met an "
                               "(N,) array; reshape one of them")
        return found
    if not np.any(e != 0) or not np.all(np.isfinite(g)):
        return found
    if _close(-g, e):
        found["sign"] = "the sign is wrong"
    for f, key, text in ((2.0, "x2", "twice the correct value (an extra factor 2?)"),
                         (0.5, "x0.5", "half the correct value (a missing factor 2, or an extra 1/2?)")):
        if _close(g, f * e):
            found[key] = text
    if N and N > 1:
        if _close(g, N * e):
            found["xN"] = f"N = {N} times the correct value: a sum where a mean over the batch is needed"
        if _close(g, e / N):
            found["x1/N"] = f"1/N = 1/{N} of the correct value: a mean where a sum over the batch is needed"
    return found


def _sizes(args) -> set:
    """Every size and whole number in a case's arguments (a factor equal to one of them may be that size)."""
    out = set()
    for a in args:
        if isinstance(a, np.ndarray):
            out.update(int(n) for n in a.shape)
        elif isinstance(a, (int, np.integer)) and not isinstance(a, bool):
            out.add(int(a))
        elif isinstance(a, (tuple, list)):
            out.update(_sizes(a))
    return out


def _generic_mistake(got, expected, N=None, sizes=()):
    """Name a mistake that shows in the numbers of one case alone, or ``None``.

    A factor 2 or 1/2 is not named when 2 is also a size in the case (``sizes``): the
    factor may then be that size (a sum over C = 2 classes, a division by N = 2 rows).
    """
    keys = _generic_keys(got, expected, N)
    for k in ("T", "batch", "square", "sign", "xN", "x1/N", "x2", "x0.5"):
        if k in keys and not (k in ("x2", "x0.5") and 2 in set(sizes)):
            return keys[k]
    return None


def _arg_names(fn) -> list:
    try:
        return [p.name for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


def _describe_arg(name, a) -> str:
    if isinstance(a, np.ndarray):
        return f"{name} of shape {a.shape}" if a.size != 1 else f"{name}={_fmt(a.reshape(()))}"
    if isinstance(a, (bool, np.bool_, str)) or a is None:
        return f"{name}={a!r}"
    if isinstance(a, (int, float, np.integer, np.floating)):
        return f"{name}={float(a):g}" if isinstance(a, (float, np.floating)) else f"{name}={int(a)}"
    if isinstance(a, np.random.Generator):
        return f"{name}=a Generator"
    if isinstance(a, (list, tuple)):
        return f"{name}: {type(a).__name__} of length {len(a)}"
    if isinstance(a, dict):
        return f"{name}: dict with keys {', '.join(map(str, list(a)[:6]))}"
    return f"{name}: {type(a).__name__}"


def describe_case(args, names=()) -> str:
    """A case's inputs in a few words: ``"x of shape (2, 3, 7, 6), stride=2, padding=1"``."""
    names = list(names)
    parts = [_describe_arg(names[k] if k < len(names) else f"argument {k + 1}", a) for k, a in enumerate(args)]
    return ", ".join(parts)


@dataclass
class _Run:
    index: int
    args: tuple
    got: tuple
    expected: tuple
    ok: bool
    details: list
    bad: tuple | None           # (label, got, expected) of the first output that differs


def _raises(make, args) -> bool:
    try:
        make(*copy.deepcopy(args))
    except Exception:
        return True
    return False


def _matches(got, wrong, rtol, atol) -> bool:
    """Whether ``got`` is ``wrong`` up to the tolerance, with nan and inf where ``wrong`` has them."""
    try:
        g, w = np.asarray(got, dtype=np.float64), np.asarray(wrong, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if g.shape != w.shape:
        return False
    fin = np.isfinite(w)
    if np.all(fin):
        return compare_arrays(g, w, rtol, atol)[0]
    same_odd = np.all((np.isnan(g) & np.isnan(w)) | (g == w) | fin)
    return bool(same_odd and np.all(np.isfinite(g[fin])) and compare_arrays(g[fin], w[fin], rtol, atol)[0])


def _reproduces(m: Mistake, runs, rtol, atol) -> bool:
    """Whether ``m`` gives the student's output on every case it applies to, and on a failing one."""
    applied_to_failing = False
    for r in sorted(runs, key=lambda r: r.ok):           # failing cases first: most mistakes stop there
        if m.test is not None:
            try:
                verdict = m.test(r.got if len(r.got) > 1 else r.got[0], *copy.deepcopy(r.args))
            except Exception:
                verdict = None
            if verdict is None:
                continue
            if not verdict:
                return False
            applied_to_failing |= not r.ok
            continue
        try:
            wrong = m.make(*copy.deepcopy(r.args))
        except Exception:
            continue                                      # the mistake does not apply to this case
        wparts = wrong if isinstance(wrong, tuple) else (wrong,)
        if len(wparts) != len(r.got) or not all(_matches(g, w, rtol, atol) for g, w in zip(r.got, wparts)):
            return False
        applied_to_failing |= not r.ok
    return applied_to_failing


def _wrong_order(failing, labels, rtol=1e-6, atol=1e-8):
    """The labels in the order the student returned them, when every failing case holds the right outputs
    in one and the same other order; else ``None``."""
    perm = None
    for r in failing:
        if len(r.got) != len(r.expected) or len(r.got) < 2:
            return None
        p = []
        for g in r.got:
            hits = [k for k, e in enumerate(r.expected) if compare_arrays(g, e, rtol, atol)[0]]
            if len(hits) != 1:
                return None
            p.append(hits[0])
        if sorted(p) != list(range(len(p))) or p == sorted(p) or (perm is not None and p != perm):
            return None
        perm = p
    return [labels[k] for k in perm] if perm else None
