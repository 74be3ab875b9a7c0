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
   metadata), after normalising trailing white space. An edited locked cell, a check cell
   included, is restored from the release (as nbgrader does) and noted; a deleted check cell
   runs, as released, at the end of the notebook.
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

Everything is merged into the gradebook ``DIR/gradebook.sqlite`` (:mod:`bpkit.course.gradebook`),
and written from it (:mod:`bpkit.course.reports`). Who a file belongs to, and which of a student's
files counts, follows :mod:`bpkit.course.identity`.

Outputs, in ``DIR``: ``grades.csv`` (a row of maximum points, then one row per student,
sorted; one column per exercise ``grade_id``; ``total``; ``reason``, empty when nothing went
wrong), ``feedback/STUDENT.html`` with every verdict, the details and the hints but the last
(nearly the answer), and ``report.txt`` (who has no submission). All are deterministic: no
times, no absolute paths. Progress goes to stderr.

What it does not guarantee: a student who copies bpkit's source into the answer under another
name is not detected (that is plagiarism, for a person to judge), and without bubblewrap the
submission can read the files your user can read (a warning says so).
"""

from __future__ import annotations

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
    mistake: str | None = None


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
    """``(student, chapter stem or None)`` from a submission's path, named as :mod:`.identity` names a class's files."""
    from .identity import split_name
    path = Path(path)
    name, stem, _section, _attempt = split_name(path, stems, path.resolve().parent)
    return name, stem


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
    for gid in [g for g in missing if g in checks]:   # a deleted check runs, as released, at the end
        run.append((_without_hidden_tests(locked[gid]), gid, "check"))
        where.append((len(sub.get("cells", [])) + 1, gid))
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
    result.reasons += [f"{path.name}: check cell {g} was edited; graded with the released check" for g in edited]
    result.reasons += [f"{path.name}: check cell {g} was deleted; the released check ran at the end of the notebook"
                       for g in missing if g.endswith("_check")]
    result.reasons += [f"{path.name}: locked cell {g} was edited; graded with the released version"
                       for g in restored]
    result.reasons += errors
    if stop is not None:
        label = _cell_label(where, at, ch) if at is not None and at < len(where) else "the kernel"
        what = {"timeout": f"stopped at the {timeout:g} s time limit in {label}",
                "dead": f"the kernel died in {label}"}.get(stop, f"could not run: {_clean(stop)}")
        result.reasons.append(f"{path.name}: {what}; exercises not checked by then get 0.")
    for e in ch.exercises:
        rec = records.get(e.check_id)
        if rec is None:
            why = {"timeout": f"the notebook hit the {timeout:g} s time limit before this check ran",
                   "dead": "the kernel died before this check ran"}.get(stop, "this check did not run")
            g = ExerciseGrade(e.grade_id, e.number, e.title, 0, e.points, "not run", why + ".")
        else:
            pts = float(rec.get("points", 0)) if rec.get("status") == "correct" else 0.0
            g = ExerciseGrade(e.grade_id, e.number, e.title, min(pts, e.points), e.points,
                              str(rec.get("status")), _clean(rec.get("message", ""), None, 2000),
                              [_clean(h, None, 2000) for h in rec.get("hints", [])],
                              [_clean(d, None, 500) for d in rec.get("details", [])],
                              rec.get("mistake") if rec.get("status") != "correct" else None)
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
    main = sys.modules.get("__main__")
    if main is not None and not hasattr(main, "__spec__"):      # e.g. IPython's stand-in: spawn needs the attribute
        main.__spec__ = None
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_grade_job, a): i for i, a in enumerate(jobs_args)}
        log(f"grade: running {n} notebooks, {jobs} at a time ...")
        for k, fut in enumerate(as_completed(futures), 1):
            i = futures[fut]
            results[i] = fut.result()
            report(k, results[i], i)
    return results


def grade(submissions, out, root=".", timeout=DEFAULT_TIMEOUT, jobs=None, log=None, seed=None, roster=None,
          student=None, hints=None):
    """Grade ``submissions`` into the gradebook in ``out``; return ``(csv path, [feedback paths], [NotebookGrade])``.

    The students found in ``submissions`` are added or updated in ``out/gradebook.sqlite``;
    everyone else keeps their grades. ``student`` grades only that student's files (by id or
    name). ``roster`` is a CSV of the class (see :mod:`bpkit.course.identity`). ``jobs``
    submissions run at once (default: the number of CPUs). ``seed`` is the secret the test
    cases are drawn from (default: a fresh random one, reported in the log); the same seed
    gives the same files, whatever ``jobs``. ``hints`` is how many hints a feedback page
    shows for an exercise that is not correct (default: all but the last, which is nearly
    the answer).
    """
    from .gradebook import Gradebook
    from .identity import Roster, RosterError, choose_latest, common_base, identify
    from .reports import write_reports
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
    try:
        class_list = Roster.read(roster) if roster else None
    except RosterError as exc:
        raise ReleaseError(f"grade: {exc}") from None
    chs = load_chapters(root)
    out = Path(out)
    book = Gradebook(out / "gradebook.sqlite")
    try:
        base = common_base(paths, book.meta("base"))
        if book.meta("base") is None:
            book.set_meta("base", base)
        subs = identify(paths, [ch.stem for ch in chs], class_list, base)
        unmatched = [s for s in subs if s.student is None]
        for s in unmatched:
            log(f"grade: {s.path.name} matches nobody on the roster (name {s.name!r}"
                + (f", section {s.section!r}" if s.section else "") + "); not graded. Rename it or add the student.")
        if student is not None:
            key = str(student)
            subs = [s for s in subs if s.student and key in (s.student.id, s.student.name, s.name)]
            if not subs:
                raise ReleaseError(f"grade: no submission of {key!r} among the files given; pass the class's files "
                                   "with --student NAME (NAME as in grades.csv).")
        unnamed = [s for s in subs if s.student is not None and s.chapter is None]
        kept, superseded = choose_latest(subs)
        for s in superseded:
            log(f"grade: {s.path.name} ({s.student.id}) is {s.note}; not graded")
        todo = kept + unnamed
        mode = containment()
        log(f"grade: test cases from the secret seed {seed} (pass --seed {seed} to grade again the same way); "
            f"submissions contained by {mode}")
        if warning(mode):
            log(warning(mode))
        results = _run_all([s.path for s in todo], chs, timeout, jobs, log, seed, str(Path(root).resolve())) \
            if todo else []
        run = book.start_run(seed, len(todo))
        for s, r in zip(todo, results):
            if s.chapter is None:
                r.reasons.insert(0, f"{s.path.name}: the file name names no chapter; graded as {r.chapter} from its "
                                    f"exercises. Name it {s.name}_NN_topic.ipynb." if r.chapter else
                                 f"{s.path.name}: the file name names no chapter and its exercises match none; "
                                 "not graded.")
            r.reasons += [f"{o.path.name}: {o.note}; not graded" for o in superseded
                          if o.student.id == s.student.id and o.chapter == r.chapter]
            if r.chapter is None:
                log(r.reasons[0])
                continue
            book.add_student(s.student)
            for gid, was, now in book.record(run, s.student, r, s.path):
                log(f"grade: {s.student.id} {gid}: this run gives {now:g}, the override of {was:g} stands "
                    "(see bpkit-course override)")
        csv_path, pages = write_reports(book, chs, out, hints=hints, roster=class_list, log=log)
    finally:
        book.close()
    return csv_path, pages, results
