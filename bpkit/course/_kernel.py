"""Runs inside the grading kernel: one released check cell, its result sent back as data.

``bpkit-course grade`` replaces every check cell of a submission by a call to
:func:`run_check` with the *released* source of that cell. The result is displayed under
the MIME type :data:`MIME` (a JSON dict: status, points, verdict, hints, ...), which the
grader reads from the executed notebook. Nothing is written to disk, so a submission that
deletes the files of its working directory cannot lose its results. Imports only the
standard library and IPython, which every kernel has.
"""

from __future__ import annotations

import ast
import importlib

__all__ = ["MIME", "run_check"]

MIME = "application/vnd.bpfs.check-result+json"


def _record(grade_id, value):
    if not all(hasattr(value, a) for a in ("status", "points", "max_points", "verdict")):
        return {"grade_id": grade_id, "status": "error",
                "message": f"the check cell returned {type(value).__name__}, not a check result"}
    return {"grade_id": grade_id, "status": str(value.status), "verdict": str(value.verdict),
            "message": str(value.message), "points": float(value.points), "max_points": float(value.max_points),
            "hints": [str(h) for h in getattr(value, "hints", [])],
            "details": [str(d) for d in getattr(value, "details", [])],
            "mistake": None if getattr(value, "mistake", None) is None else str(value.mistake)}


def run_check(grade_id: str, source: str, checks_module: str = "") -> None:
    """Run a check cell's ``source`` in the student's namespace and display its result as data.

    The ``check_*`` names come from ``checks_module`` (e.g. ``bpkit.checks.ch01``), not from the
    student's namespace, so an accidental redefinition of a check cannot grade itself.
    """
    from IPython import get_ipython
    from IPython.display import display

    ns = dict(get_ipython().user_ns)
    try:
        if checks_module:
            mod = importlib.import_module(checks_module)
            ns.update({k: getattr(mod, k) for k in getattr(mod, "__all__", ()) if k.startswith("check_")})
        tree = ast.parse(source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, f"<check {grade_id}>", "exec"), ns)
        value = eval(compile(ast.Expression(last.value), f"<check {grade_id}>", "eval"), ns) if last else None
        record = _record(grade_id, value)
    except Exception as exc:                    # e.g. the student's function was deleted: NameError
        record = {"grade_id": grade_id, "status": "error",
                  "message": f"the check could not run: {type(exc).__name__}: {exc}"}
    display({MIME: record}, raw=True)
