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
4. The code cells run in a fresh, contained process (:mod:`bpkit.course._contain`: with
   bubblewrap no network, none of the course's files, its own user id and a temporary HOME;
   limits on CPU, memory, processes, file size and open files). Errors in cells do not stop
   the run; the whole notebook has ``timeout`` seconds, after which the process is killed and
   the exercises not checked by then get 0. A process that dies is handled the same way.
5. Each check cell is graded **here**, by the released check function, never in the
   submission's process (:mod:`bpkit.course._remote`): the student's function is a proxy that
   calls it over a pipe with data only (JSON, never pickle), on test cases drawn from a secret
   seed. The verdict, the points and the hints are computed in this process, which runs no
   student code; what the submission prints or displays is never read. An answer that calls
   bpkit's own version of the exercise (named by the check's ``own_work``, or any reference
   of :mod:`bpkit.checks`) gets 0 for it, whether the call is in its source or happens while
   the check calls it.

Outputs, in ``DIR``: ``grades.csv`` (one row per student, sorted; one column per exercise
``grade_id``; ``total``; ``reason``, empty when nothing went wrong) and
``feedback/STUDENT.html`` with every verdict, the details and the hints. Both are
deterministic: no times, no absolute paths. Progress goes to stderr.

What it does not guarantee: a student who copies bpkit's source into the answer under another
name is not detected (that is plagiarism, for a person to judge), and without bubblewrap the
submission can read the files your user can read (a warning says so).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bpkit.checks._context import OWN_WORK_MISTAKE, forbidden_codes, own_work_message, secret_cases

from ._contain import Limits, SandboxError, containment, start, warning
from ._remote import KernelStopped, answer, check_call, load_check, own_work_in_source
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


def _cell_label(where, index, ch) -> str:
    number, gid = where[index]
    if number == 0:
        return "the restored set-up cell"
    if gid:
        return f"cell {number} ({gid})"
    prev = [g for n, g in where[:index] if g and _EXERCISE_ID.match(g)]
    return f"cell {number}" + (f" (after {prev[-1]})" if prev else "")


def _prepare(sub: dict, ch):
    """The code cells to run as ``(source, grade_id, kind)``, locked cells restored; and what was edited.

    ``kind`` is ``"check"`` (graded in the grader from the released source), ``"locked"``
    (run as released) or ``"student"`` (run as submitted).
    """
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
        kind = "student"
        if gid in locked:
            seen.add(gid)
            if _norm(_without_hidden_tests(src)) != _norm(locked[gid]):
                (edited if gid in checks else restored).append(gid)
            src = _without_hidden_tests(locked[gid])
            kind = "check" if gid in checks else "locked"
        run.append((src, gid, kind))
        where.append((number, gid))
    missing = [g for g in locked if g not in seen]
    if "setup" in missing:                       # nothing runs without it: put the released one first
        run.insert(0, (locked["setup"], "setup", "locked"))
        where.insert(0, (0, "setup"))
        restored.append("setup")
        missing.remove("setup")
    return run, where, edited, restored, missing


class _Session:
    """The grader's line to one submission's contained process, with the notebook's deadline."""

    def __init__(self, sandbox, deadline):
        self.sandbox, self.deadline = sandbox, deadline

    def ask(self, message):
        try:
            return self.sandbox.request(message, self.deadline)
        except TimeoutError:
            raise KernelStopped("timeout") from None
        except (EOFError, OSError, ValueError):
            raise KernelStopped("dead") from None


def _record(result) -> dict:
    return {"status": str(result.status), "message": str(result.message), "points": float(result.points),
            "hints": [str(h) for h in result.hints], "details": [str(d) for d in result.details],
            "mistake": result.mistake}


def _grade_check(session, src, ch, answer_sources, all_sources, secret):
    """The record of one check, computed here from the student's answers (see :mod:`bpkit.course._remote`)."""
    parsed = check_call(src)
    if parsed is None:
        return {"status": "error", "message": "the check cell is not of the form check_name(answer); "
                                              "the grader cannot run it."}
    name, args = parsed
    try:
        check = load_check(ch.check_module, name)
    except (ImportError, NameError) as exc:
        return {"status": "error", "message": f"the check could not run: {type(exc).__name__}: {exc}"}
    static = own_work_in_source(answer_sources, all_sources, forbidden_codes(getattr(check, "own_work", ())))
    try:
        answers = [answer(session, a) for a in args]
        with secret_cases(secret):
            result = check(*answers)
    except KernelStopped:
        raise
    except Exception as exc:                    # e.g. the student's function was deleted: NameError
        return {"status": "error", "message": f"the check could not run: {type(exc).__name__}: {exc}"}
    record = _record(result)
    if static:
        record.update(status="incorrect", points=0.0, mistake=OWN_WORK_MISTAKE,
                      message=own_work_message(static) + " (found in the answer's code)")
    return record


def _run_cells(sandbox, cells, where, ch, timeout, secret, filename):
    """Run the cells in ``sandbox``, grading check cells here; ``(records, errors, stop, index)``."""
    session = _Session(sandbox, time.monotonic() + timeout)
    all_sources = [src for src, _, _ in cells]
    records, errors, answer_sources = {}, [], []
    for i, (src, gid, kind) in enumerate(cells):
        try:
            if kind == "check":
                records[gid] = _grade_check(session, src, ch, answer_sources, all_sources, secret)
                answer_sources = []
                continue
            if kind == "student":
                answer_sources.append(src)
            reply = session.ask({"op": "run", "source": src})
        except KernelStopped as exc:
            return records, errors, exc.why, i
        if not reply.get("ok") and reply.get("ename"):
            hint = (" (the grading environment has only the course's packages; use NumPy and bpkit)"
                    if reply.get("ename") == "ModuleNotFoundError" else "")
            errors.append(f"{filename}: {_cell_label(where, i, ch)} raised {_clean(reply.get('ename'))}: "
                          f"{_clean(reply.get('evalue'), None, 160)}{hint}")
    return records, errors, None, None


def grade_notebook(path, chapters, timeout=DEFAULT_TIMEOUT, secret=0, slot=0, root=".") -> NotebookGrade:
    """Grade one submission (see the module docstring); ``chapters`` as from :func:`catalog.chapters`.

    ``secret`` seeds the test cases (never sent to the submission); ``slot`` picks the
    contained process's user id, distinct for submissions graded at the same time.
    """
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
    cells, where, edited, restored, missing = _prepare(sub, ch)
    try:
        sandbox = start(slot, Limits(cpu_seconds=int(timeout) + 30), hidden=[str(Path(root).resolve() / "solutions")])
    except SandboxError as exc:
        records, errors, stop, at = {}, [], f"SandboxError: {exc}", None
    else:
        try:
            records, errors, stop, at = _run_cells(sandbox, cells, where, ch, timeout, secret, path.name)
        finally:
            sandbox.close(time.monotonic() + 5)
    result.reasons += [f"{path.name}: check cell {g} was edited or deleted; 0 points for it. Restore the cell "
                       "from the released notebook." for g in edited + [m for m in missing if m.endswith("_check")]]
    result.reasons += [f"{path.name}: locked cell {g} was edited; graded with the released version"
                       for g in restored]
    result.reasons += errors
    if stop is not None:
        label = _cell_label(where, at, ch) if at is not None and at < len(where) else "the kernel"
        what = {"timeout": f"stopped at the {timeout:g} s time limit in {label}",
                "dead": f"the kernel died in {label}"}.get(stop, f"could not run: {_clean(stop)}")
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
                              str(rec.get("status")), _clean(rec.get("message", ""), None, 2000),
                              [_clean(h, None, 2000) for h in rec.get("hints", [])],
                              [_clean(d, None, 500) for d in rec.get("details", [])])
            if rec.get("mistake") == OWN_WORK_MISTAKE:
                result.reasons.append(f"{path.name}: exercise {e.number} calls bpkit's own code; 0 points for it: "
                                      f"{_clean(rec.get('message', ''), None, 300)}")
        result.exercises.append(g)
    result.seconds = time.monotonic() - started
    return result


def _zeros(ch, status, message):
    return [ExerciseGrade(e.grade_id, e.number, e.title, 0, e.points, status, message) for e in ch.exercises]


# ----------------------------------------------------------------------------- the batch

def _grade_job(args):
    path, chs, timeout, secret, slot, root = args
    return grade_notebook(path, chs, timeout, secret, slot, root)


def _run_all(paths, chs, timeout, jobs, log, secret, root):
    results, n = [None] * len(paths), len(paths)
    batch = (os.getpid() % 2000) * 1000          # user ids of the contained processes: distinct per submission

    def report(k, r, i):
        status = f"{r.points:g}/{r.max_points:g} points" if r.exercises else "not graded"
        problems = f", {len(r.reasons)} problem(s)" if r.reasons else ""
        log(f"grade: [{k}/{n}] {r.student} ({Path(paths[i]).name}): {status}{problems} ({r.seconds:.1f} s)")

    jobs_args = [(p, chs, timeout, secret, batch + i % 1000, root) for i, p in enumerate(paths)]
    if jobs <= 1 or n <= 1:
        for i, a in enumerate(jobs_args):
            log(f"grade: [{i + 1}/{n}] running {Path(paths[i]).name} ...")
            results[i] = _grade_job(a)
            report(i + 1, results[i], i)
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_grade_job, a): i for i, a in enumerate(jobs_args)}
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


def grade(submissions, out, root=".", timeout=DEFAULT_TIMEOUT, jobs=None, log=None, seed=None):
    """Grade ``submissions`` into ``out``; return ``(csv path, [feedback paths], [NotebookGrade])``.

    ``jobs`` submissions run at once (default: the number of CPUs). ``seed`` is the secret
    the test cases are drawn from (default: a fresh random one, reported in the log); the
    same seed gives the same files, whatever ``jobs``.
    """
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
    jobs = jobs or os.cpu_count() or 1
    if seed is None:
        seed = secrets.randbits(63)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ReleaseError(f"grade: --seed must be a non-negative integer, got {seed!r}.")
    chs = load_chapters(root)
    mode = containment()
    log(f"grade: test cases from the secret seed {seed} (pass --seed {seed} to grade again the same way); "
        f"submissions contained by {mode}")
    if warning(mode):
        log(warning(mode))
    results = _run_all(paths, chs, timeout, jobs, log, seed, str(Path(root).resolve()))
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
