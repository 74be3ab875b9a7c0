"""Grade submitted exercise notebooks: ``bpkit-course grade SUBMISSION ... --out DIR``.

For each submission:

1. The file is read (never written): not valid notebook JSON gives a row with the reason.
2. The chapter and the student come from the file name: ``STUDENT_NN_topic.ipynb`` (e.g.
   ``ada_lovelace_01_forward_pass.ipynb`` is student ``ada_lovelace``, chapter 01), or
   ``STUDENT/NN_topic.ipynb`` (a folder per student, as learning platforms export them). A
   file whose name names no chapter is matched by its exercises' ``grade_id``\\s and graded
   under its file name.
3. Its locked cells (nbgrader ``locked: true``: set-up, widgets, checks) are compared with the
   released exercise notebook, cell by ``grade_id`` (or by source when an editor dropped the
   metadata), after normalising trailing white space. An edited or deleted **check** cell gives
   0 points for its exercise; any other edited locked cell is restored from the release (as
   nbgrader does) and noted.
4. The code cells run in a fresh kernel (the Python that runs this command), in a new temporary
   folder holding only a copy of the notebook, which is the kernel's working directory. Errors
   in cells do not stop the run (each check reports on its own exercise); the whole notebook
   has ``timeout`` seconds, after which the kernel is killed and the exercises not checked by
   then get 0. A dead kernel is handled the same way.
5. Each check cell runs the *released* check (``bpkit.course._kernel.run_check``) and returns
   its result (status, points, verdict, hints) as data in the executed notebook; points are
   capped at the check cell's nbgrader ``points``.

Outputs, in ``DIR``: ``grades.csv`` (one row per student, sorted; one column per exercise
``grade_id``; ``total``; ``reason``, empty when nothing went wrong) and
``feedback/STUDENT.html`` with every verdict, the details and the hints. Both are
deterministic: no times, no absolute paths. Progress goes to stderr.

Not a sandbox: the student's code runs with your user's rights. It cannot reach the
submission or the course through its working directory, but a deliberately hostile
notebook could do anything your account can; grade untrusted work in a container.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ._kernel import MIME
from .catalog import chapters as load_chapters
from .release import BEGIN_HIDDEN, ReleaseError, _source, release_source

__all__ = ["DEFAULT_TIMEOUT", "ExerciseGrade", "NotebookGrade", "grade", "grade_notebook", "student_and_chapter"]

DEFAULT_TIMEOUT = 120
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_EXERCISE_ID = re.compile(r"^ex(\d+)_\d+_")


@dataclass
class ExerciseGrade:
    """The outcome of one exercise of one submission."""

    grade_id: str
    number: str
    title: str
    points: float
    max_points: float
    status: str
    message: str
    hints: list = field(default_factory=list)
    details: list = field(default_factory=list)


@dataclass
class NotebookGrade:
    """The outcome of one submitted notebook."""

    student: str
    filename: str
    chapter: str | None
    exercises: list = field(default_factory=list)
    reasons: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)


# ----------------------------------------------------------------------------- names

def student_and_chapter(path, stems) -> tuple:
    """``(student, chapter stem or None)`` from a submission's path (see the module docstring)."""
    path = Path(path)
    base = path.name[:-len(".ipynb")] if path.name.endswith(".ipynb") else path.stem
    for stem in sorted(stems, key=len, reverse=True):
        if base == stem:
            return path.resolve().parent.name, stem
        if base.endswith(stem):
            student = base[:-len(stem)].rstrip("_-. ")
            if student:
                return student, stem
    return base, None


def _safe_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", student).strip("._") or "student"


def _norm(src: str) -> str:
    return "\n".join(line.rstrip() for line in src.strip().splitlines())


def _clean(text: str, workdir=None, limit=300) -> str:
    """A message without colours, temporary paths or memory addresses (so CSVs are deterministic)."""
    text = _ANSI.sub("", str(text))
    if workdir:
        for p in {str(workdir), os.path.realpath(workdir)}:
            text = text.replace(p + os.sep, "").replace(p, ".")
    text = _ADDRESS.sub("0x...", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ----------------------------------------------------------------------------- one notebook

def _without_hidden_tests(src: str) -> str:
    """A locked cell as released: hidden tests removed (so a solution notebook grades in full)."""
    try:
        return release_source(src) if BEGIN_HIDDEN in src else src
    except ReleaseError:
        return src


def _prepare(sub: dict, ch):
    """The code cells to run, with locked cells restored and check cells replaced; and what was edited."""
    locked = ch.locked_cells()
    by_source = {_norm(src): gid for gid, src in locked.items()}
    checks = {e.check_id for e in ch.exercises}
    run, where, seen, edited, restored = [], [], set(), [], []
    for number, cell in enumerate(sub.get("cells", []), 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = _source(cell)
        gid = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id", "")
        if gid not in locked:
            gid = by_source.get(_norm(src), gid)
        if gid in locked:
            seen.add(gid)
            if _norm(_without_hidden_tests(src)) != _norm(locked[gid]):
                (edited if gid in checks else restored).append(gid)
            src = locked[gid]
            if gid in checks:
                src = ("from bpkit.course._kernel import run_check as _bpfs_run_check\n"
                       f"_bpfs_run_check({gid!r}, {src!r}, {ch.check_module!r})")
        run.append(src)
        where.append((number, gid))
    missing = [g for g in locked if g not in seen]
    if "setup" in missing:                       # nothing runs without it: put the released one first
        run.insert(0, locked["setup"])
        where.insert(0, (0, "setup"))
        restored.append("setup")
        missing.remove("setup")
    return run, where, edited, restored, missing


def _execute(sources, workdir: Path, filename: str, timeout: float):
    """Run the cells in a fresh kernel in ``workdir``; return (notebook, stop, stopped_at_index)."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from traitlets import default

    class _ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name="Python 3 (bpkit-course grade)", language="python")

    class _Manager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _default_specs(self):
            return _ThisPython()

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    (workdir / filename).write_text(nbformat.writes(nb), encoding="utf-8")
    state = {"deadline": None, "index": None}

    def budget(cell):
        now = time.monotonic()
        if state["deadline"] is None:
            state["deadline"] = now + timeout
        return max(1, math.ceil(state["deadline"] - now))

    def started(cell=None, cell_index=None, **_):
        state["index"] = cell_index

    client = NotebookClient(nb, kernel_name="python3", kernel_manager_class=_Manager, timeout_func=budget,
                            allow_errors=True, shutdown_kernel="immediate", record_timing=False,
                            startup_timeout=60, on_cell_start=started, resources={"metadata": {"path": str(workdir)}})
    stop = None
    try:
        client.execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)   # the kernel's own log lines
    except CellTimeoutError:
        stop = "timeout"
    except DeadKernelError:
        stop = "dead"
    except Exception as exc:                     # e.g. the kernel did not start
        stop = f"{type(exc).__name__}: {exc}"
    return nb, stop, state["index"]


def _cell_label(where, index, ch) -> str:
    number, gid = where[index]
    if number == 0:
        return "the restored set-up cell"
    if gid:
        return f"cell {number} ({gid})"
    prev = [g for n, g in where[:index] if g and _EXERCISE_ID.match(g)]
    return f"cell {number}" + (f" (after {prev[-1]})" if prev else "")


def grade_notebook(path, chapters, timeout=DEFAULT_TIMEOUT) -> NotebookGrade:
    """Grade one submission (see the module docstring); ``chapters`` as from :func:`catalog.chapters`."""
    path = Path(path)
    by_stem = {ch.stem: ch for ch in chapters}
    student, stem = student_and_chapter(path, by_stem)
    result = NotebookGrade(student, path.name, stem)
    started = time.monotonic()
    try:
        sub = json.loads(path.read_bytes().decode("utf-8"))
        if not isinstance(sub, dict) or not isinstance(sub.get("cells"), list):
            raise ValueError("no list of cells")
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "not valid notebook JSON" if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)) \
            else "not a Jupyter notebook (no list of cells)"
        result.reasons.append(f"{path.name}: {kind}; every exercise gets 0. Ask for the file again "
                              "(File > Download in JupyterLab or Colab).")
        if stem:
            result.exercises = _zeros(by_stem[stem], "not graded", f"{path.name} could not be read: {kind}.")
        return result
    if stem is None:
        ids = {((c.get("metadata") or {}).get("nbgrader") or {}).get("grade_id", "") for c in sub["cells"]
               if isinstance(c, dict)}
        numbers = {f"{int(m.group(1)):02d}" for m in map(_EXERCISE_ID.match, ids) if m}
        found = [s for s in by_stem if s[:2] in numbers]
        if len(found) != 1:
            result.reasons.append(f"{path.name}: cannot tell which chapter this is (name it STUDENT_NN_topic.ipynb, "
                                  f"e.g. {student}_{sorted(by_stem)[0]}.ipynb); not graded.")
            return result
        stem = result.chapter = found[0]
    ch = by_stem[stem]
    sources, where, edited, restored, missing = _prepare(sub, ch)
    workdir = Path(tempfile.mkdtemp(prefix="bpfs-grade-"))
    try:
        nb, stop, at = _execute(sources, workdir, f"{stem}.ipynb", timeout)
        records, errors = {}, []
        for i, cell in enumerate(nb.cells):
            gid = where[i][1]
            for out in cell.get("outputs", []):
                if gid in {e.check_id for e in ch.exercises} and out.get("output_type") == "display_data" \
                        and MIME in out.get("data", {}):
                    records[gid] = dict(out["data"][MIME])
                elif out.get("output_type") == "error":
                    hint = (" (the grading environment has only the course's packages; use NumPy and bpkit)"
                            if out.get("ename") == "ModuleNotFoundError" else "")
                    errors.append(f"{path.name}: {_cell_label(where, i, ch)} raised "
                                  f"{_clean(out.get('ename'), workdir)}: {_clean(out.get('evalue'), workdir, 160)}{hint}")
        result.reasons += [f"{path.name}: check cell {g} was edited or deleted; 0 points for it. Restore the cell "
                           "from the released notebook." for g in edited + [m for m in missing if m.endswith("_check")]]
        result.reasons += [f"{path.name}: locked cell {g} was edited; graded with the released version"
                           for g in restored]
        result.reasons += errors
        if stop is not None:
            label = _cell_label(where, at, ch) if at is not None and at < len(where) else "the kernel"
            what = {"timeout": f"stopped at the {timeout:g} s time limit in {label}",
                    "dead": f"the kernel died in {label}"}.get(stop, f"could not run: {_clean(stop, workdir)}")
            result.reasons.append(f"{path.name}: {what}; exercises not checked by then get 0.")
        bad = set(edited) | {m for m in missing if m.endswith("_check")}
        for e in ch.exercises:
            rec = records.get(e.check_id)
            if e.check_id in bad:
                g = ExerciseGrade(e.grade_id, e.number, e.title, 0, e.points, "check edited",
                                  "the check cell was edited or deleted, so this exercise gets 0. Restore it from "
                                  "the released notebook (copy the cell back) and submit again.")
            elif rec is None:
                why = {"timeout": f"the notebook hit the {timeout:g} s time limit before this check ran",
                       "dead": "the kernel died before this check ran"}.get(stop, "this check did not run")
                g = ExerciseGrade(e.grade_id, e.number, e.title, 0, e.points, "not run", why + ".")
            else:
                pts = float(rec.get("points", 0)) if rec.get("status") == "correct" else 0.0
                g = ExerciseGrade(e.grade_id, e.number, e.title, min(pts, e.points), e.points,
                                  str(rec.get("status")), _clean(rec.get("message", ""), workdir, 2000),
                                  [_clean(h, workdir, 2000) for h in rec.get("hints", [])],
                                  [_clean(d, workdir, 500) for d in rec.get("details", [])])
            result.exercises.append(g)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


def _zeros(ch, status, message):
    return [ExerciseGrade(e.grade_id, e.number, e.title, 0, e.points, status, message) for e in ch.exercises]


# ----------------------------------------------------------------------------- the batch

def _grade_job(args):
    path, chs, timeout = args
    return grade_notebook(path, chs, timeout)


def _run_all(paths, chs, timeout, jobs, log):
    results, n = [None] * len(paths), len(paths)

    def report(k, r, i):
        status = f"{r.points:g}/{r.max_points:g} points" if r.exercises else "not graded"
        problems = f", {len(r.reasons)} problem(s)" if r.reasons else ""
        log(f"grade: [{k}/{n}] {r.student} ({Path(paths[i]).name}): {status}{problems} ({r.seconds:.1f} s)")

    if jobs <= 1 or n <= 1:
        for i, p in enumerate(paths):
            log(f"grade: [{i + 1}/{n}] running {Path(p).name} ...")
            results[i] = grade_notebook(p, chs, timeout)
            report(i + 1, results[i], i)
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_grade_job, (p, chs, timeout)): i for i, p in enumerate(paths)}
        log(f"grade: running {n} notebooks, {jobs} at a time ...")
        for k, fut in enumerate(as_completed(futures), 1):
            i = futures[fut]
            results[i] = fut.result()
            report(k, results[i], i)
    return results


def _fmt(x) -> str:
    return f"{x:g}"


def _csv(rows, columns) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student"] + [e.grade_id for e in columns] + ["total", "reason"])
    for student, grades in rows:
        points = {e.grade_id: e.points for g in grades for e in g.exercises}
        total = sum(points.get(e.grade_id, 0) for e in columns)
        reasons = [r for g in grades for r in g.reasons]
        w.writerow([student] + [_fmt(points.get(e.grade_id, 0)) for e in columns] + [_fmt(total), "; ".join(reasons)])
    return buf.getvalue()


_STATUS = {"correct": ("#1a7f37", "correct"), "incorrect": ("#b35900", "incorrect"),
           "not_attempted": ("#57606a", "not attempted"), "error": ("#cf222e", "error")}


def _feedback(student, grades, columns) -> str:
    e = html.escape
    got = sum(x.points for g in grades for x in g.exercises)
    total = sum(c.points for c in columns)
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<title>Feedback for {e(student)}</title>",
             "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}"
             ".ex{border-left:4px solid #888;padding:2px 10px;margin:1em 0}.problem{color:#cf222e}"
             "code{background:#f6f8fa}</style></head><body>",
             f"<h1>Feedback for {e(student)}</h1>", f"<p><b>Total: {_fmt(got)} / {_fmt(total)} points.</b></p>"]
    for g in grades:
        parts.append(f"<h2>{e(g.filename)}" + (f" (chapter {e(g.chapter[:2])})" if g.chapter else "") + "</h2>")
        if g.reasons:
            parts.append("<ul class='problem'>" + "".join(f"<li>{e(r)}</li>" for r in g.reasons) + "</ul>")
        if not g.exercises:
            continue
        parts.append("<table><tr><th>Exercise</th><th>Points</th><th>Verdict</th></tr>")
        for x in g.exercises:
            parts.append(f"<tr><td>{e(x.number)} {e(x.title)}</td><td>{_fmt(x.points)} / {_fmt(x.max_points)}</td>"
                         f"<td>{e(_STATUS.get(x.status, ('', x.status))[1])}</td></tr>")
        parts.append("</table>")
        for x in g.exercises:
            colour, label = _STATUS.get(x.status, ("#888", x.status))
            parts.append(f"<div class='ex' style='border-color:{colour}' id='{e(x.grade_id)}'>"
                         f"<h3>Exercise {e(x.number)}: {e(x.title)}</h3>"
                         f"<p><b style='color:{colour}'>{e(label)}</b> ({_fmt(x.points)} / {_fmt(x.max_points)} "
                         f"points) &mdash; {e(x.message)}</p>")
            if x.details:
                parts.append("<details><summary>Details</summary><ul>"
                             + "".join(f"<li><code>{e(d)}</code></li>" for d in x.details) + "</ul></details>")
            if x.hints and x.status != "correct":
                parts.append("<p>Hints, from a nudge to nearly the answer:</p><ol class='hints'>"
                             + "".join(f"<li>{e(h)}</li>" for h in x.hints) + "</ol>")
            parts.append("</div>")
    missing = {c.grade_id for c in columns} - {x.grade_id for g in grades for x in g.exercises}
    if missing:
        parts.append("<p class='problem'>Not submitted: " + e(", ".join(sorted(missing))) + " (0 points).</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def grade(submissions, out, root=".", timeout=DEFAULT_TIMEOUT, jobs=1, log=None):
    """Grade ``submissions`` into ``out``; return ``(csv path, [feedback paths], [NotebookGrade])``."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    paths = [Path(p) for p in submissions]
    if not paths:
        raise ReleaseError("grade: no submissions given; pass one or more .ipynb files.")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ReleaseError(f"grade: no such file: {', '.join(missing)}; check the paths (a folder? pass "
                           "folder/*.ipynb).")
    if timeout <= 0:
        raise ReleaseError(f"grade: --timeout must be a positive number of seconds, got {timeout:g}.")
    chs = load_chapters(root)
    results = _run_all(paths, chs, timeout, jobs, log)
    by_student = {}
    for p, r in sorted(zip(paths, results), key=lambda pr: (pr[1].student, pr[0].name, str(pr[0]))):
        by_student.setdefault(r.student, []).append(r)
    graded = sorted({r.chapter for r in results if r.chapter})
    columns = [e for ch in chs if ch.stem in graded for e in ch.exercises]
    rows = []
    for student, grades in by_student.items():
        seen, kept = set(), []
        for g in grades:
            if g.chapter and g.chapter in seen:
                first = next(k for k in kept if k.chapter == g.chapter)
                first.reasons.append(f"{g.filename}: a second submission for {g.chapter}; only {first.filename} "
                                     "was graded")
                continue
            seen.add(g.chapter)
            kept.append(g)
        for stem in graded:
            if stem not in seen:
                kept.append(NotebookGrade(student, f"{stem}.ipynb", stem,
                                          reasons=[f"no submission for {stem}"]))
        rows.append((student, kept))
    out = Path(out)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    csv_path = out / "grades.csv"
    csv_path.write_text(_csv(rows, columns), encoding="utf-8")
    pages = []
    used = set()
    for student, grades in rows:
        name = _safe_name(student)
        while name in used:
            name += "_"
        used.add(name)
        page = out / "feedback" / f"{name}.html"
        page.write_text(_feedback(student, grades, columns), encoding="utf-8")
        pages.append(page)
    problems = sum(1 for _, gs in rows if any(g.reasons for g in gs))
    log(f"grade: wrote {csv_path} ({len(rows)} students, {len(columns)} exercises; {problems} with problems, see "
        f"the reason column) and {len(pages)} feedback pages in {out / 'feedback'}")
    return csv_path, pages, results
