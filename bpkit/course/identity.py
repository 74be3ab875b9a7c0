"""Who handed in which file: student identities, rosters and the latest submission.

The rules, in order:

1. **Chapter and name from the path.** ``NAME_NN_topic.ipynb`` is student ``NAME``'s
   Chapter NN; ``NAME/NN_topic.ipynb`` (a folder per student, as learning platforms export
   them) too. Resubmission suffixes that platforms add, ``-1``, ``_2`` or `` (1)``, are not
   part of the name: ``NAME_NN_topic (2).ipynb`` is NAME's second resubmission.
   nbgrader's ``collect`` layout, ``submitted/STUDENT/ASSIGNMENT/NN_topic.ipynb``, names the
   student by the folder after ``submitted``.
2. **Sections.** A folder above the student (``SECTION/NAME_NN_topic.ipynb`` or
   ``SECTION/NAME/NN_topic.ipynb``), below the common folder of all the files given, is a
   section: two students called ``kim`` in ``section_a`` and ``section_b`` are two students.
3. **Roster.** With a roster (CSV with the columns ``id, name, email, section``), a name is
   matched to a roster row by its id, its email, the part of the email before ``@``, or its
   name, compared without case, accents or punctuation; within the file's section when it
   has one. Files that match nobody are reported and not graded, and roster students with
   no file are reported as missing.
4. **The latest submission wins**: the highest resubmission number, then the latest
   modification time, then the file name. The others are listed, not graded.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Roster", "RosterError", "Student", "Submission", "choose_latest", "common_base", "identify", "safe_file_name",
           "split_name", "unique_file_names"]

_RESUBMISSION = re.compile(r"^(?P<base>.*?)(?:\s*\((?P<paren>\d+)\)|[-_](?P<dash>\d+))$")


class RosterError(ValueError):
    """A roster file that cannot be read."""


def _key(text: str) -> str:
    """Text compared without case, accents or punctuation (``"Ada Lovelace"`` = ``ada_lovelace``)."""
    text = unicodedata.normalize("NFKD", str(text)).casefold()
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "", text)


def safe_file_name(text: str) -> str:
    """A file name for ``text`` on any system: letters of any script, digits, ``-`` and ``_``."""
    name = unicodedata.normalize("NFC", str(text))
    name = re.sub(r"[^\w-]+", "_", name).strip("_.") or "student"
    return name[:80]


@dataclass
class Student:
    """One student: ``id`` is unique in the gradebook."""

    id: str
    name: str
    email: str = ""
    section: str = ""


@dataclass
class Roster:
    """The class list: ``students`` by id, and how names, emails and ids map to them."""

    students: dict = field(default_factory=dict)

    @classmethod
    def read(cls, path) -> "Roster":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise RosterError(f"roster {path}: cannot read it ({exc}); give a UTF-8 CSV file.") from None
        rows = list(csv.DictReader(text.splitlines()))
        need = {"id", "name"}
        if not rows or not need <= {k.strip().lower() for k in rows[0]}:
            raise RosterError(f"roster {path}: expected a CSV with a header id,name,email,section (email and section "
                              "optional) and one row per student.")
        out = cls()
        for n, row in enumerate(rows, 2):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            if not row.get("id"):
                raise RosterError(f"roster {path}, line {n}: the id is empty; every student needs a unique id.")
            if row["id"] in out.students:
                raise RosterError(f"roster {path}, line {n}: the id {row['id']!r} appears twice; ids must be unique.")
            out.students[row["id"]] = Student(row["id"], row.get("name") or row["id"], row.get("email", ""),
                                              row.get("section", ""))
        return out

    def match(self, name: str, section: str = ""):
        """The roster student for a file's ``name`` (and folder ``section``), or ``None``."""
        key = _key(name)
        found = []
        for s in self.students.values():
            keys = {_key(s.id), _key(s.name), _key(s.email), _key(s.email.split("@")[0])} - {""}
            if key in keys:
                found.append(s)
        if len(found) > 1 and section:
            found = [s for s in found if _key(s.section) == _key(section)] or found
        return found[0] if len(found) == 1 else None


@dataclass
class Submission:
    """One submitted file and whose it is."""

    path: Path
    student: Student | None
    chapter: str | None
    name: str
    section: str
    attempt: int
    mtime: float
    note: str = ""


def split_name(path: Path, stems, base: Path) -> tuple:
    """``(name, chapter stem or None, section, attempt)`` of one file; sections are its folders below ``base``."""
    stem_name = path.name[:-len(".ipynb")] if path.name.endswith(".ipynb") else path.stem
    attempt = 0
    m = _RESUBMISSION.match(stem_name)
    candidates = [(stem_name, 0)]
    if m:
        candidates.append((m.group("base"), int(m.group("paren") or m.group("dash"))))
    parts = path.resolve().parts
    if "submitted" in parts[:-2]:               # nbgrader's exchange: submitted/STUDENT/ASSIGNMENT/NN_topic.ipynb
        at = len(parts) - 1 - parts[::-1].index("submitted")
        if at + 2 < len(parts):
            for text, attempt in candidates:
                if text in stems:
                    return parts[at + 1], text, "", attempt
    rel = path.resolve().parent.relative_to(base) if path.resolve().parent != base else Path()
    folders = list(rel.parts)
    for text, attempt in candidates:
        for stem in sorted(stems, key=len, reverse=True):
            if text == stem:
                if folders:
                    return folders[-1], stem, "/".join(folders[:-1]), attempt
                return path.resolve().parent.name, stem, "", attempt
            if text.endswith(stem) and text[:-len(stem)].rstrip("_-. "):
                return text[:-len(stem)].rstrip("_-. "), stem, "/".join(folders), attempt
    return stem_name, None, "/".join(folders), 0


def common_base(paths, remembered=None) -> Path:
    """The folder sections are counted from: ``remembered`` (a gradebook's) when it holds every path."""
    parents = [str(Path(p).resolve().parent) for p in paths]
    if remembered and all(os.path.commonpath([remembered, q]) == remembered for q in parents):
        return Path(remembered)
    return Path(os.path.commonpath(parents)) if parents else Path(".").resolve()


def identify(paths, stems, roster: Roster | None = None, base=None) -> list:
    """A :class:`Submission` for each path (see the module docstring); ``student`` is ``None`` when no roster row
    matches. Sections are the folders between ``base`` (default: the common folder) and the file."""
    paths = [Path(p) for p in paths]
    base = Path(base).resolve() if base else common_base(paths)
    out = []
    for p in paths:
        name, stem, section, attempt = split_name(p, stems, base)
        mtime = p.stat().st_mtime
        if roster is not None:
            student = roster.match(name, section)
        else:
            sid = f"{section}/{name}" if section else name
            student = Student(sid, name, "", section)
        out.append(Submission(p, student, stem, name, section, attempt, mtime))
    return out


def choose_latest(subs) -> tuple:
    """``(kept, superseded)``: per student and chapter, the latest submission (highest attempt, newest, last name)."""
    groups = {}
    for s in subs:
        if s.student is None or s.chapter is None:
            continue
        groups.setdefault((s.student.id, s.chapter), []).append(s)
    kept, superseded = [], []
    for key in sorted(groups):
        ranked = sorted(groups[key], key=lambda s: (s.attempt, s.mtime, s.path.name, str(s.path)))
        kept.append(ranked[-1])
        for s in ranked[:-1]:
            s.note = f"superseded by {ranked[-1].path.name}"
            superseded.append(s)
    return kept, superseded


def unique_file_names(ids) -> dict:
    """``{id: file name}``: safe, and unique even where two ids make the same safe name (or differ in case only)."""
    names, used = {}, set()
    for sid in sorted(ids):
        base = safe_file_name(sid)
        name = base
        if name.casefold() in used:
            name = f"{base}-{hashlib.sha256(sid.encode('utf-8')).hexdigest()[:8]}"
        used.add(name.casefold())
        names[sid] = name
    return names
