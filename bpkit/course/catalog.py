"""What the course contains: chapters, exercises, points, prerequisites and time estimates.

Everything is read from the solution notebooks (``solutions/NN_topic.ipynb``), so ``list``,
``assign``, ``grade`` and the instructors' page of the book share one source of truth:

* an **exercise** is a solution cell (nbgrader ``solution: true``) with ``grade_id`` ``exN_K_name``
  whose check cell (``grade: true``) has ``grade_id`` ``exN_K_name_check`` and nbgrader ``points``;
  its title is the heading ``## Exercise N.K: title (...)`` of the Markdown cell above it;
* the **locked cells** (nbgrader ``locked: true``: the set-up cell, widget cells and check cells)
  belong to the exercise whose ``grade_id`` prefix ``exN_K_`` they share; ``setup`` belongs to all;
* **time estimates** and **prerequisites** are notebook-level metadata of the solution notebook::

      "metadata": {"bpfs": {"requires": ["02_losses"],
                            "exercise_minutes": {"ex3_1_composite": 15, ...}}}

  ``exercise_minutes`` is the authors' estimate of the working time of one exercise for a
  student who has read the chapter. An exercise without an estimate gets
  ``MINUTES_PER_POINT`` minutes per point (marked as derived), so a new chapter has numbers
  before its authors estimate them. The reading time of a chapter is derived from the word
  count of ``chapters/NN_topic.md`` at ``READING_WORDS_PER_MINUTE`` (technical prose with
  equations and code cells that the reader runs), rounded up to 5 minutes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .release import ReleaseError, _pairs, _source, release_notebook

__all__ = ["MINUTES_PER_POINT", "PLANNED", "READING_WORDS_PER_MINUTE", "Chapter", "Exercise", "chapters",
           "find_root", "format_table", "summary_rows"]

MINUTES_PER_POINT = 10
READING_WORDS_PER_MINUTE = 100

#: Chapters planned but not written yet (see book/intro.md): (number, title, prerequisites).
PLANNED: list[tuple[str, str, list[str]]] = []        # all nine chapters of the path are written

_EXERCISE_ID = re.compile(r"^ex(\d+)_(\d+)_[a-z0-9_]+$")
_HEADING = re.compile(r"^##\s+Exercise\s+(\d+\.\d+):\s*(.+?)\s*(\([^()]*\))?\s*$", re.M)


@dataclass
class Exercise:
    """One graded exercise: ``grade_id`` ``ex1_2_dense_forward``, shown as ``1.2``."""

    grade_id: str
    number: str
    title: str
    points: float
    minutes: int
    minutes_derived: bool = False

    @property
    def check_id(self) -> str:
        return self.grade_id + "_check"

    @property
    def prefix(self) -> str:
        """``ex1_2_``: the prefix shared by the exercise's cells (solution, widget, check)."""
        return "_".join(self.grade_id.split("_")[:2]) + "_"


@dataclass
class Chapter:
    """One chapter with exercises: ``stem`` ``01_forward_pass``, its solution and released notebooks."""

    stem: str
    title: str
    exercises: list
    requires: list = field(default_factory=list)
    reading_minutes: int = 0
    solution: dict = field(default_factory=dict, repr=False)
    released: dict = field(default_factory=dict, repr=False)

    @property
    def number(self) -> str:
        return self.stem[:2]

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def exercise_minutes(self) -> int:
        return sum(e.minutes for e in self.exercises)

    @property
    def check_module(self) -> str:
        return f"bpkit.checks.ch{self.number}"

    def locked_cells(self) -> dict:
        """``{grade_id: source}`` of the released notebook's locked cells, in notebook order."""
        out = {}
        for cell in self.released["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("locked") and meta.get("grade_id"):
                out[meta["grade_id"]] = _source(cell)
        return out

    def exercises_of(self, grade_id: str) -> list:
        """The exercises a cell belongs to: ``setup`` (or an unknown id) to all of them."""
        own = [e for e in self.exercises if grade_id.startswith(e.prefix)]
        return own or list(self.exercises)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _title(root: Path, stem: str, nb: dict) -> str:
    md = root / "chapters" / f"{stem}.md"
    if md.exists():
        for line in md.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    for cell in nb["cells"]:
        if cell.get("cell_type") == "markdown":
            first = _source(cell).strip().splitlines()[:1]
            if first and first[0].startswith("# "):
                text = re.sub(r"^#\s+Exercises\s+\d+:\s*", "", first[0]).strip()
                return text[:1].upper() + text[1:]
    return stem[3:].replace("_", " ").capitalize()


def _reading_minutes(root: Path, stem: str) -> int:
    md = root / "chapters" / f"{stem}.md"
    if not md.exists():
        return 0
    words = len(md.read_text(encoding="utf-8").split())
    return 5 * math.ceil(words / READING_WORDS_PER_MINUTE / 5)


def _chapter(root: Path, path: Path) -> Chapter:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{path}: not valid notebook JSON ({exc}).") from None
    stem = path.stem
    meta = (nb.get("metadata") or {}).get("bpfs") or {}
    estimates = meta.get("exercise_minutes") or {}
    cells = nb.get("cells", [])
    checks = {_nbgrader(c).get("grade_id"): _nbgrader(c) for c in cells if _nbgrader(c).get("grade")}
    exercises, heading = [], {}
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            for num, title, _ in _HEADING.findall(_source(cell)):
                heading[num] = title
        g = _nbgrader(cell)
        gid = g.get("grade_id", "")
        if not (g.get("solution") and _EXERCISE_ID.match(gid)):
            continue
        check = checks.get(gid + "_check")
        if check is None:
            raise ReleaseError(f"{path.name}: exercise {gid} has no check cell with grade_id {gid}_check "
                               "and nbgrader 'grade': true; add one (see bpkit/course/catalog.py).")
        chapter_no, k = _EXERCISE_ID.match(gid).groups()
        number = f"{int(chapter_no)}.{int(k)}"
        points = check.get("points", 0)
        minutes = estimates.get(gid)
        exercises.append(Exercise(gid, number, heading.get(number, gid.split("_", 2)[2].replace("_", " ")),
                                  points, int(minutes if minutes is not None else MINUTES_PER_POINT * points),
                                  minutes is None))
    unknown = sorted(set(estimates) - {e.grade_id for e in exercises})
    if unknown:
        raise ReleaseError(f"{path.name}: metadata.bpfs.exercise_minutes names no exercise: {', '.join(unknown)}; "
                           f"expected grade_ids among {', '.join(e.grade_id for e in exercises)}.")
    return Chapter(stem, _title(root, stem, nb), exercises, list(meta.get("requires") or []),
                   _reading_minutes(root, stem), nb, release_notebook(nb, path.name))


def find_root(start=None) -> Path:
    """The course folder (the one holding ``solutions/``) at or above ``start`` (default: the current folder)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "solutions").is_dir() and (folder / "_toc.yml").is_file():
            return folder
    raise ReleaseError(f"no course folder (with solutions/ and _toc.yml) at or above {here}; run this from the "
                       "course repository or pass --root.")


def chapters(root=".", numbers=None) -> list:
    """The course's chapters with exercises, in order; ``numbers`` (e.g. ``[1, 3]``) selects some."""
    root = Path(root)
    return [_chapter(root, src) for src, _ in _pairs(root, numbers)]


def summary_rows(chs) -> list:
    """One dict per chapter and exercise: the data behind ``bpkit-course list`` and the book's tables."""
    rows = []
    for ch in chs:
        rows.append({"chapter": ch.number, "exercise": "", "title": ch.title, "points": ch.points,
                     "minutes": ch.reading_minutes + ch.exercise_minutes, "reading": ch.reading_minutes,
                     "requires": ", ".join(r[:2] for r in ch.requires), "derived": False})
        for e in ch.exercises:
            rows.append({"chapter": ch.number, "exercise": e.number, "title": e.title, "points": e.points,
                         "minutes": e.minutes, "reading": 0, "requires": "", "derived": e.minutes_derived,
                         "grade_id": e.grade_id})
    return rows


def _hm(minutes) -> str:
    return f"{minutes // 60} h {minutes % 60:02d}" if minutes >= 60 else f"{minutes} min"


def format_table(chs, fmt="text") -> str:
    """The table of ``bpkit-course list``: ``fmt`` is ``text``, ``markdown`` or ``csv``."""
    rows = summary_rows(chs)
    if fmt == "csv":
        import csv
        import io
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["chapter", "exercise", "grade_id", "title", "points", "minutes", "reading_minutes", "requires"])
        for r in rows:
            w.writerow([r["chapter"], r["exercise"], r.get("grade_id", ""), r["title"], f"{r['points']:g}",
                        r["minutes"], r["reading"] or "", r["requires"]])
        return buf.getvalue()
    header = ["Ch.", "Exercise", "Title", "Points", "Time"]
    body = []
    for r in rows:
        if r["exercise"]:
            time = f"{r['minutes']} min" + ("*" if r["derived"] else "")
            body.append(["", r["exercise"], r["title"], f"{r['points']:g}", time])
        else:
            need = f" (after {r['requires']})" if r["requires"] else ""
            body.append([r["chapter"], "", f"**{r['title']}**{need}" if fmt == "markdown" else r["title"] + need,
                         f"{r['points']:g}", f"{_hm(r['minutes'])} ({r['reading']} min reading)"])
    total_pts = sum(ch.points for ch in chs)
    total_min = sum(ch.reading_minutes + ch.exercise_minutes for ch in chs)
    body.append(["", "", "Total", f"{total_pts:g}", _hm(total_min)])
    notes = []
    if any(r["derived"] for r in rows):
        notes.append(f"* no estimate in the solution notebook's metadata.bpfs.exercise_minutes: "
                     f"{MINUTES_PER_POINT} min per point.")
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---", "---", "---", "--:", "--:"]) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        return "\n".join(lines + ([""] + notes if notes else [])) + "\n"
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
    right = {3, 4}
    fmt_row = lambda row: "  ".join(c.rjust(w) if i in right else c.ljust(w)  # noqa: E731
                                    for i, (c, w) in enumerate(zip(row, widths))).rstrip()
    lines = [fmt_row(header), fmt_row(["-" * w for w in widths])] + [fmt_row(r) for r in body]
    return "\n".join(lines + notes) + "\n"
