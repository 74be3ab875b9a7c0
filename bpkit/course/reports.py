"""What the gradebook gives an instructor: grades.csv, feedback pages, LMS exports, class statistics.

Everything here is written from :class:`bpkit.course.gradebook.Gradebook`, deterministically:
the same gradebook gives the same bytes (no times, no absolute paths).

* :func:`write_reports`: ``grades.csv`` (a row of maximum points first, then one row per
  student, one column per exercise, the total and the reasons), ``feedback/NAME.html``
  and ``report.txt`` (who is missing, which files matched nobody).
* :func:`export`: gradebook CSVs for Canvas and Moodle, and a generic one.
* :func:`statistics`: ``stats/NN_topic.html`` per chapter: points per exercise, the share of
  students who got each right, and the most common named mistakes across the class.
* :func:`release_feedback`: each student's page into a folder of their own, for an LMS or a hub.
"""

from __future__ import annotations

import collections
import csv
import html
import io
import shutil
from pathlib import Path

from .identity import unique_file_names

__all__ = ["EXPORT_FORMATS", "export", "release_feedback", "statistics", "write_reports"]

EXPORT_FORMATS = ("canvas", "moodle", "generic")
_STATUS = {"correct": ("#1a7f37", "correct"), "incorrect": ("#b35900", "incorrect"),
           "not_attempted": ("#57606a", "not attempted"), "error": ("#cf222e", "error"),
           "override": ("#0969da", "set by the instructor")}
_STYLE = ("<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
          "table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}"
          ".ex{border-left:4px solid #888;padding:2px 10px;margin:1em 0}.problem{color:#cf222e}"
          "code{background:#f6f8fa}.bar{background:#0969da;height:0.8em;display:inline-block}</style>")


def _fmt(x) -> str:
    return f"{x:g}"


def _columns(chs, results):
    graded = {c for per in results.values() for c in per}
    return [e for ch in chs if ch.stem in graded for e in ch.exercises]


def _points(book, sid, columns):
    return {e.grade_id: (book.score(sid, e.grade_id) or {}).get("points", 0.0) for e in columns}


def _reasons(book, sid, per_chapter):
    reasons = [r for c in sorted(per_chapter) for r in per_chapter[c].reasons]
    reasons += [f"{o['grade_id']} set to {_fmt(o['points'])} by the instructor on {o['at']}: {o['reason']}"
                for o in book.overrides(sid)]
    return reasons


def _csv_text(book, columns, results) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student"] + [e.grade_id for e in columns] + ["total", "reason"])
    w.writerow(["(max points)"] + [_fmt(e.points) for e in columns] + [_fmt(sum(e.points for e in columns)), ""])
    for s in book.students():
        pts = _points(book, s.id, columns)
        w.writerow([s.id] + [_fmt(pts[e.grade_id]) for e in columns] + [_fmt(sum(pts.values())),
                                                                         "; ".join(_reasons(book, s.id,
                                                                                            results.get(s.id, {})))])
    return buf.getvalue()


def _feedback(book, student, per_chapter, columns, hints) -> str:
    e = html.escape
    pts = _points(book, student.id, columns)
    total = sum(c.points for c in columns)
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<title>Feedback for {e(student.name)}</title>", _STYLE, "</head><body>",
             f"<h1>Feedback for {e(student.name)}</h1>",
             f"<p><b>Total: {_fmt(sum(pts.values()))} / {_fmt(total)} points.</b></p>"]
    for o in book.overrides(student.id):
        parts.append(f"<p class='problem'>Exercise {e(o['grade_id'])} was set to {_fmt(o['points'])} points by your "
                     f"instructor on {e(o['at'])}: {e(o['reason'])}</p>")
    for chapter in sorted(per_chapter):
        g = per_chapter[chapter]
        parts.append(f"<h2>{e(g.filename)} (chapter {e(chapter[:2])})</h2>")
        if g.reasons:
            parts.append("<ul class='problem'>" + "".join(f"<li>{e(r)}</li>" for r in g.reasons) + "</ul>")
        if not g.exercises:
            continue
        parts.append("<table><tr><th>Exercise</th><th>Points</th><th>Verdict</th></tr>")
        for x in g.exercises:
            parts.append(f"<tr><td>{e(x.number)} {e(x.title)}</td><td>{_fmt(pts.get(x.grade_id, x.points))} / "
                         f"{_fmt(x.max_points)}</td><td>{e(_STATUS.get(x.status, ('', x.status))[1])}</td></tr>")
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
            shown = x.hints[:max(0, len(x.hints) - 1)] if hints is None else x.hints[:hints]
            if shown and x.status != "correct":
                parts.append("<p>Hints:</p><ol class='hints'>" + "".join(f"<li>{e(h)}</li>" for h in shown) + "</ol>")
            parts.append("</div>")
    missing = sorted({c.grade_id for c in columns} - {x.grade_id for g in per_chapter.values() for x in g.exercises})
    if missing:
        parts.append("<p class='problem'>Not submitted: " + e(", ".join(missing)) + " (0 points).</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_reports(book, chs, out, hints=None, roster=None, log=print):
    """Write ``grades.csv``, the feedback pages and ``report.txt`` from ``book``; return ``(csv path, pages)``."""
    out = Path(out)
    results = book.results()
    columns = _columns(chs, results)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    csv_path = out / "grades.csv"
    csv_path.write_text(_csv_text(book, columns, results), encoding="utf-8")
    students = book.students()
    names = unique_file_names([s.id for s in students])
    pages = []
    for s in students:
        page = out / "feedback" / f"{names[s.id]}.html"
        page.write_text(_feedback(book, s, results.get(s.id, {}), columns, hints), encoding="utf-8")
        pages.append(page)
    graded = sorted({c for per in results.values() for c in per})
    lines = [f"{len(students)} students in the gradebook; chapters graded: {', '.join(graded) or 'none'}"]
    everyone = {s.id for s in students} | (set(roster.students) if roster else set())
    for chapter in graded:
        absent = sorted(sid for sid in everyone if chapter not in results.get(sid, {}))
        lines.append(f"{chapter}: no submission from {len(absent)}" + (f": {', '.join(absent)}" if absent else ""))
    (out / "report.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = sum(1 for s in students if any(g.reasons for g in results.get(s.id, {}).values()))
    log(f"grade: wrote {csv_path} ({len(students)} students, {len(columns)} exercises; {problems} with problems, see "
        f"the reason column), {len(pages)} feedback pages in {out / 'feedback'} and {out / 'report.txt'}")
    for line in lines[1:]:
        log(f"grade: {line}")
    return csv_path, pages


def export(book, chs, fmt, path) -> Path:
    """A gradebook CSV for ``fmt`` (``canvas``, ``moodle`` or ``generic``) at ``path``.

    * canvas: Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section``,
      one column per chapter named ``Chapter N: title``, and a ``Points Possible`` row;
    * moodle: Moodle's grade import (CSV): ``ID number, Email address, Full name`` and one column
      per chapter, to map onto grade items when importing;
    * generic: one row per student, one column per exercise, the total.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export: format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    results = book.results()
    columns = _columns(chs, results)
    chapters = [ch for ch in chs if any(e in columns for e in ch.exercises)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    students = book.students()
    if fmt == "generic":
        w.writerow(["id", "name", "email", "section"] + [e.grade_id for e in columns] + ["total"])
        for s in students:
            pts = _points(book, s.id, columns)
            w.writerow([s.id, s.name, s.email, s.section] + [_fmt(pts[e.grade_id]) for e in columns]
                       + [_fmt(sum(pts.values()))])
    else:
        titles = [f"Chapter {int(ch.stem[:2])}: {ch.title}" for ch in chapters]
        if fmt == "canvas":
            w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + titles)
            w.writerow(["    Points Possible", "", "", "", ""] + [_fmt(sum(e.points for e in ch.exercises))
                                                                   for ch in chapters])
        else:
            w.writerow(["ID number", "Email address", "Full name"] + titles)
        for s in students:
            pts = _points(book, s.id, columns)
            per = [_fmt(sum(pts[e.grade_id] for e in ch.exercises)) for ch in chapters]
            if fmt == "canvas":
                w.writerow([s.name, "", s.id, s.email.split("@")[0] if s.email else s.id, s.section] + per)
            else:
                w.writerow([s.id, s.email, s.name] + per)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def statistics(book, chs, out) -> list:
    """One HTML page per graded chapter in ``out/stats/``; return their paths."""
    e = html.escape
    results = book.results()
    pages = []
    for ch in chs:
        graded = {sid: per[ch.stem] for sid, per in results.items() if ch.stem in per}
        if not graded:
            continue
        n = len(graded)
        parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
                 f"<title>Class statistics: {e(ch.stem)}</title>", _STYLE, "</head><body>",
                 f"<h1>Chapter {int(ch.stem[:2])}: {e(ch.title)}</h1>", f"<p>{n} students graded.</p>",
                 "<h2>Each exercise</h2><table><tr><th>Exercise</th><th>Right</th><th>Points (students)</th></tr>"]
        mistakes = collections.Counter()
        for ex in ch.exercises:
            pts = collections.Counter()
            right = 0
            for sid in graded:
                score = book.score(sid, ex.grade_id) or {"points": 0.0}
                pts[score["points"]] += 1
                right += score["points"] >= ex.points
            for g in graded.values():
                for x in g.exercises:
                    if x.grade_id == ex.grade_id and x.mistake:
                        mistakes[(ex.number, x.mistake)] += 1
            dist = ", ".join(f"{_fmt(p)}: {c}" for p, c in sorted(pts.items()))
            parts.append(f"<tr><td>{e(ex.number)} {e(ex.title)}</td><td><span class='bar' style='width:"
                         f"{round(100 * right / n)}px'></span> {round(100 * right / n)}%</td><td>{e(dist)} "
                         f"(of {_fmt(ex.points)})</td></tr>")
        parts.append("</table><h2>The most common named mistakes</h2>")
        if mistakes:
            parts.append("<ol>" + "".join(f"<li>{round(100 * c / n)}% of the class ({c} of {n}): {e(label)} "
                                          f"({e(number)})</li>"
                                          for (number, label), c in sorted(mistakes.items(),
                                                                           key=lambda kv: (-kv[1], kv[0]))[:10])
                         + "</ol>")
        else:
            parts.append("<p>No named mistakes.</p>")
        parts.append("</body></html>")
        page = Path(out) / "stats" / f"{ch.stem}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("\n".join(parts) + "\n", encoding="utf-8")
        pages.append(page)
    return pages


def release_feedback(out, to) -> list:
    """Copy ``out/feedback/NAME.html`` to ``to/NAME/feedback.html``; return the copies."""
    src = Path(out) / "feedback"
    if not src.is_dir():
        raise FileNotFoundError(f"release-feedback: {src} does not exist; run bpkit-course grade --out {out} first.")
    copies = []
    for page in sorted(src.glob("*.html")):
        dest = Path(to) / page.stem / "feedback.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(page, dest)
        copies.append(dest)
    return copies
