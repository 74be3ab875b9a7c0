"""Course tools: ``python -m bpkit.course COMMAND`` (installed as ``bpkit-course``).

For authors:

* ``release [CH ...]``: write ``exercises/`` from ``solutions/`` (:mod:`bpkit.course.release`);
* ``check``: exit 1 when ``exercises/`` is stale;
* ``instructor-book --out DIR``: the config and table of contents of the instructor edition.

For instructors:

* ``list [--format text|markdown|csv]``: chapters, exercises, points and time estimates
  (:mod:`bpkit.course.catalog`);
* ``assign CH [CH ...] --out DIR [--hub URL --repo GIT_URL]``: a bundle for students, never
  with solutions (:mod:`bpkit.course.bundle`);
* ``grade SUBMISSION [...] --out DIR [--timeout S] [--jobs N] [--seed S]``: run each submission in
  a contained process, grade its answers outside it, and write ``grades.csv`` and feedback pages
  (:mod:`bpkit.course.grading`), merged into ``OUT/gradebook.sqlite``
  (:mod:`bpkit.course.gradebook`); ``--roster CSV``, ``--student NAME``, ``--hints N``;
* ``override STUDENT EXERCISE POINTS --reason TEXT --out DIR``: a score by hand, kept with its
  reason and date;
* ``export --format canvas|moodle|generic --out DIR``, ``stats --out DIR`` (class statistics),
  ``release-feedback --out DIR --to FOLDER`` (:mod:`bpkit.course.reports`).

Every command takes ``--root DIR``, the course folder (default: the current folder). Exit
status: 0 on success, 1 for ``check`` with stale files, 2 for an error (the message names
the command, what was expected and what to do).
"""

from __future__ import annotations

import argparse
import sys

from .release import ReleaseError, check, instructor_book, release, release_notebook, release_source

__all__ = ["ReleaseError", "assign", "check", "chapters", "grade", "instructor_book", "main", "release",
           "release_notebook", "release_source"]


def chapters(root=".", numbers=None):
    """The course's chapters with their exercises (see :func:`bpkit.course.catalog.chapters`)."""
    from .catalog import chapters as _chapters
    return _chapters(root, numbers)


def assign(numbers, out, root=".", hub=None, repo=None, branch="main"):
    """Write a student bundle (see :func:`bpkit.course.bundle.assign`)."""
    from .bundle import assign as _assign
    return _assign(numbers, out, root, hub, repo, branch)


def grade(submissions, out, root=".", timeout=None, jobs=None, log=None, seed=None, roster=None, student=None,
          hints=None):
    """Grade submissions into the gradebook in ``out`` (see :func:`bpkit.course.grading.grade`)."""
    from .grading import DEFAULT_TIMEOUT, grade as _grade
    return _grade(submissions, out, root, DEFAULT_TIMEOUT if timeout is None else timeout, jobs, log, seed, roster,
                  student, hints)


def _parser():
    parser = argparse.ArgumentParser(prog="bpkit-course", description="Course tools for Backprop from Scratch.")
    parser.add_argument("--root", default=".", help="the course folder (default: the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="generate exercises/ from solutions/")
    p.add_argument("chapters", nargs="*", type=int, help="chapter numbers (default: all)")
    sub.add_parser("check", help="exit 1 if exercises/ is not what 'release' generates")
    p = sub.add_parser("instructor-book", help="write the config and toc of the instructor edition of the book")
    p.add_argument("--out", default="_build/instructor", help="output folder (default: _build/instructor)")
    p = sub.add_parser("list", help="chapters, exercises, points and estimated time")
    p.add_argument("--format", choices=("text", "markdown", "csv"), default="text", help="table format")
    p = sub.add_parser("assign", help="write a bundle of exercise notebooks for students (no solutions)")
    p.add_argument("chapters", nargs="+", type=int, help="chapter numbers, e.g. 1 2")
    p.add_argument("--out", required=True, help="the bundle's folder (new, or an earlier bundle to replace)")
    p.add_argument("--hub", help="JupyterHub URL: add nbgitpuller links to the README (needs --repo)")
    p.add_argument("--repo", help="git URL of the repository you push the bundle to (for --hub)")
    p.add_argument("--branch", default="main", help="branch of --repo (default: main)")
    p = sub.add_parser("grade", help="grade submitted notebooks into grades.csv and feedback pages")
    p.add_argument("submissions", nargs="+", help="submitted .ipynb files: STUDENT_NN_topic.ipynb or "
                                                  "STUDENT/NN_topic.ipynb")
    p.add_argument("--out", required=True, help="folder for grades.csv and feedback/")
    p.add_argument("--timeout", type=float, default=None, help="seconds per notebook (default: 120)")
    p.add_argument("--jobs", type=int, default=None, help="notebooks graded at once (default: the number of CPUs)")
    p.add_argument("--roster", help="CSV of the class: id,name,email,section (maps file names to students)")
    p.add_argument("--student", help="regrade only this student (an id or name as in grades.csv)")
    p.add_argument("--hints", type=int, default=None, help="hints shown per exercise on feedback pages "
                                                            "(default: all but the last, which is nearly the answer)")
    p.add_argument("--seed", type=int, default=None, help="the secret seed of the test cases (default: a random one, "
                                                          "printed; the same seed grades the same way)")
    p = sub.add_parser("override", help="set one student's score for one exercise by hand, with a reason")
    p.add_argument("student", help="the student's id, as in grades.csv")
    p.add_argument("exercise", help="the exercise's id, a column of grades.csv, e.g. ex1_2_dense_forward")
    p.add_argument("points", type=float)
    p.add_argument("--reason", required=True, help="why; kept in the gradebook with the date")
    p.add_argument("--out", required=True, help="the grading folder (holds gradebook.sqlite)")
    p = sub.add_parser("export", help="write the gradebook for an LMS: canvas, moodle or generic CSV")
    p.add_argument("--format", choices=("canvas", "moodle", "generic"), required=True)
    p.add_argument("--out", required=True, help="the grading folder (holds gradebook.sqlite)")
    p.add_argument("--to", help="the CSV to write (default: OUT/export-FORMAT.csv)")
    p = sub.add_parser("stats", help="class statistics per chapter: points, share right, most common mistakes")
    p.add_argument("--out", required=True, help="the grading folder (holds gradebook.sqlite)")
    p = sub.add_parser("release-feedback", help="copy each student's feedback page into a folder of their own")
    p.add_argument("--out", required=True, help="the grading folder (holds feedback/)")
    p.add_argument("--to", required=True, help="the folder to fill: TO/STUDENT/feedback.html")
    return parser


def _gradebook(out):
    from pathlib import Path

    from .gradebook import Gradebook
    path = Path(out) / "gradebook.sqlite"
    if not path.is_file():
        raise ReleaseError(f"no gradebook in {out}: run bpkit-course grade ... --out {out} first.")
    return Gradebook(path)


def _book_command(args) -> int:
    from pathlib import Path

    from .catalog import chapters as _chapters
    from .gradebook import GradebookError
    from .reports import export, release_feedback, statistics, write_reports
    if args.command == "release-feedback":
        try:
            copies = release_feedback(args.out, args.to)
        except FileNotFoundError as exc:
            raise ReleaseError(str(exc)) from None
        print(f"copied {len(copies)} feedback page(s) into {args.to}")
        return 0
    book = _gradebook(args.out)
    try:
        chs = _chapters(args.root)
        if args.command == "override":
            try:
                book.override(args.student, args.exercise, args.points, args.reason)
            except GradebookError as exc:
                raise ReleaseError(str(exc)) from None
            write_reports(book, chs, args.out, log=lambda m: None)
            print(f"{args.student} {args.exercise}: {args.points:g} points ({args.reason}); grades.csv and the "
                  "feedback page rewritten")
        elif args.command == "export":
            path = export(book, chs, args.format, args.to or Path(args.out) / f"export-{args.format}.csv")
            print(f"wrote {path}")
        else:
            for page in statistics(book, chs, args.out):
                print(f"wrote {page}")
    finally:
        book.close()
    return 0


def main(argv=None) -> int:
    """The command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "instructor-book":
            for path in instructor_book(args.root, args.out):
                print(f"wrote {path}")
            return 0
        if args.command == "release":
            for path in release(args.root, args.chapters or None):
                print(f"wrote {path}")
            return 0
        if args.command == "list":
            from .catalog import format_table
            sys.stdout.write(format_table(chapters(args.root), args.format))
            return 0
        if args.command == "assign":
            written = assign(args.chapters, args.out, args.root, args.hub, args.repo, args.branch)
            print(f"wrote a bundle of {len(args.chapters)} chapter(s) to {args.out}: "
                  + ", ".join(p.name for p in written))
            return 0
        if args.command == "grade":
            if args.jobs is not None and args.jobs < 1:
                raise ReleaseError(f"grade: --jobs must be 1 or more, got {args.jobs}.")
            csv_path, pages, _ = grade(args.submissions, args.out, args.root, args.timeout, args.jobs, seed=args.seed,
                                       roster=args.roster, student=args.student, hints=args.hints)
            print(f"wrote {csv_path} and {len(pages)} feedback page(s)")
            return 0
        if args.command in ("override", "export", "stats", "release-feedback"):
            return _book_command(args)
        stale = check(args.root)
        for path in stale:
            print(f"stale: {path} (run `python -m bpkit.course release`)")
        if not stale:
            print("exercises/ is up to date")
        return 1 if stale else 0
    except ReleaseError as exc:
        print(f"bpkit-course: {exc}", file=sys.stderr)
        return 2
