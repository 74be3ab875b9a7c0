"""The gradebook: every grading run merged into one SQLite file, nothing overwritten silently.

``OUT/gradebook.sqlite`` (standard-library ``sqlite3``, no server) keeps:

* ``students``: id, name, email, section (from the roster, or from the file names);
* ``results``: for each student and chapter, the latest graded submission (file, its
  SHA-256, every exercise's verdict, message, details and hints, and the reasons);
* ``scores``: the history of every score, one row per change, never updated or deleted:
  ``source`` is ``auto`` (a grading run) or ``override`` (by hand, with a reason and a date);
* ``runs``: when each run happened, its seed and how many files it graded.

A student's score for an exercise is their latest override if there is one, else the
latest automatic score: a regrade never silently undoes an override (the run's log says when
the two disagree). ``grades.csv``, the feedback pages and the exports are written from the
gradebook, so a run that grades one student rewrites their rows and keeps everyone else's.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import sqlite3
from pathlib import Path

__all__ = ["Gradebook", "GradebookError"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, at TEXT, seed TEXT, files INTEGER);
CREATE TABLE IF NOT EXISTS students(id TEXT PRIMARY KEY, name TEXT, email TEXT, section TEXT);
CREATE TABLE IF NOT EXISTS results(student TEXT, chapter TEXT, run INTEGER, filename TEXT, sha256 TEXT, data TEXT,
                                   PRIMARY KEY(student, chapter));
CREATE TABLE IF NOT EXISTS scores(id INTEGER PRIMARY KEY, student TEXT, grade_id TEXT, points REAL, max_points REAL,
                                  status TEXT, mistake TEXT, source TEXT, reason TEXT, at TEXT, run INTEGER);
"""


class GradebookError(ValueError):
    """A request the gradebook cannot carry out (unknown student or exercise, no reason, ...)."""


def _today() -> str:
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


class Gradebook:
    """One course's grades in ``path`` (created when missing)."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path))
        self.db.executescript(_SCHEMA)

    def close(self):
        self.db.close()

    # -- meta ---------------------------------------------------------------------
    def meta(self, key, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key, value):
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    # -- writing ------------------------------------------------------------------
    def start_run(self, seed, files) -> int:
        with self.db:
            cur = self.db.execute("INSERT INTO runs(at, seed, files) VALUES (?, ?, ?)", (_today(), str(seed), files))
        return cur.lastrowid

    def add_student(self, student):
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO students VALUES (?, ?, ?, ?)",
                            (student.id, student.name, student.email, student.section))

    def record(self, run, student, result, path=None) -> list:
        """Store a graded notebook of ``student``; return the exercises whose override now differs from the run."""
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else ""
        data = json.dumps(dataclasses.asdict(result), sort_keys=True)
        conflicts = []
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)",
                            (student.id, result.chapter, run, result.filename, sha, data))
            for e in result.exercises:
                self.db.execute("INSERT INTO scores(student, grade_id, points, max_points, status, mistake, source, "
                                "reason, at, run) VALUES (?, ?, ?, ?, ?, ?, 'auto', '', ?, ?)",
                                (student.id, e.grade_id, e.points, e.max_points, e.status, e.mistake, _today(), run))
                over = self._latest(student.id, e.grade_id, "override")
                if over is not None and over["points"] != e.points:
                    conflicts.append((e.grade_id, over["points"], e.points))
        return conflicts

    def override(self, student_id, grade_id, points, reason, max_points=None):
        """Set ``student_id``'s score for ``grade_id`` by hand; ``reason`` is required and kept with the date."""
        if not str(reason or "").strip():
            raise GradebookError("override: give a --reason; it is kept in the gradebook with the date.")
        if self.db.execute("SELECT 1 FROM students WHERE id = ?", (student_id,)).fetchone() is None:
            known = ", ".join(r[0] for r in self.db.execute("SELECT id FROM students ORDER BY id LIMIT 8"))
            raise GradebookError(f"override: no student {student_id!r} in the gradebook (known: {known}, ...).")
        last = self._latest(student_id, grade_id, None)
        if last is None and max_points is None:
            raise GradebookError(f"override: {student_id!r} has no score for {grade_id!r} yet; check the exercise id "
                                 "(a column of grades.csv).")
        maxp = float(max_points if max_points is not None else last["max_points"])
        if not 0 <= float(points) <= maxp:
            raise GradebookError(f"override: points must be between 0 and {maxp:g} for {grade_id}, got {points}.")
        with self.db:
            self.db.execute("INSERT INTO scores(student, grade_id, points, max_points, status, mistake, source, reason, "
                            "at, run) VALUES (?, ?, ?, ?, 'override', NULL, 'override', ?, ?, NULL)",
                            (student_id, grade_id, float(points), maxp, str(reason).strip(), _today()))

    # -- reading ------------------------------------------------------------------
    def _latest(self, student_id, grade_id, source):
        q = "SELECT points, max_points, status, mistake, source, reason, at FROM scores WHERE student = ? AND grade_id = ?"
        args = [student_id, grade_id]
        if source:
            q += " AND source = ?"
            args.append(source)
        row = self.db.execute(q + " ORDER BY id DESC LIMIT 1", args).fetchone()
        if row is None:
            return None
        return dict(zip(("points", "max_points", "status", "mistake", "source", "reason", "at"), row))

    def score(self, student_id, grade_id):
        """The current score (see the module docstring), or ``None``."""
        return self._latest(student_id, grade_id, "override") or self._latest(student_id, grade_id, "auto")

    def history(self, student_id, grade_id) -> list:
        rows = self.db.execute("SELECT points, source, reason, at, run FROM scores WHERE student = ? AND grade_id = ? "
                               "ORDER BY id", (student_id, grade_id)).fetchall()
        return [dict(zip(("points", "source", "reason", "at", "run"), r)) for r in rows]

    def students(self) -> list:
        from .identity import Student
        return [Student(*r) for r in self.db.execute("SELECT id, name, email, section FROM students ORDER BY id")]

    def results(self) -> dict:
        """``{student id: {chapter: NotebookGrade}}`` of the latest graded submissions."""
        from .grading import ExerciseGrade, NotebookGrade
        out = {}
        for sid, chapter, data in self.db.execute("SELECT student, chapter, data FROM results ORDER BY student, chapter"):
            d = json.loads(data)
            d["exercises"] = [ExerciseGrade(**e) for e in d["exercises"]]
            out.setdefault(sid, {})[chapter] = NotebookGrade(**d)
        return out

    def overrides(self, student_id) -> list:
        rows = self.db.execute("SELECT grade_id, points, reason, at FROM scores WHERE student = ? AND source = "
                               "'override' ORDER BY id", (student_id,)).fetchall()
        return [dict(zip(("grade_id", "points", "reason", "at"), r)) for r in rows]
