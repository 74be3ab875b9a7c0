"""Release: generate the student notebooks from the solutions.

``python -m bpkit.course release`` (or ``bpkit-course release``) reads every
``solutions/NN_topic.ipynb`` and writes ``exercises/NN_topic.ipynb``:

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
  ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` at the marker's indentation
  (nbgrader's convention, so nbgrader and this tool agree on the stubs);
* a Markdown answer between the same markers becomes ``YOUR ANSWER HERE``;
* code between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` is removed;
* outputs, execution counts and saved widget state are removed; nbgrader cell metadata
  (``grade_id``, ``solution``, ``grade``, ``points``, ``locked``) is kept.

``python -m bpkit.course check`` exits with status 1 when ``exercises/`` differs from what
``release`` would write, naming the stale files. The output is byte-for-byte
deterministic, so generated notebooks diff cleanly in version control.

``python -m bpkit.course instructor-book --out DIR`` writes ``DIR/_config.yml`` and
``DIR/_toc.yml`` for the instructor edition of the book (``make book-instructor``): the
published book plus each chapter's solution notebook after its exercise page. The default
book never includes ``solutions/``.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

__all__ = ["ReleaseError", "check", "instructor_book", "release", "release_notebook", "release_source"]

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = "YOUR ANSWER HERE"
_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")


class ReleaseError(ValueError):
    """A solution notebook that cannot be turned into an exercise (unbalanced markers, ...)."""


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def release_source(src: str, cell_type: str = "code", where: str = "cell") -> str:
    """The student version of one cell's source (see the module docstring)."""
    out, mode, indent = [], None, ""
    for lineno, line in enumerate(src.splitlines(), 1):
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION or stripped == BEGIN_HIDDEN:
            if mode is not None:
                raise ReleaseError(f"{where}, line {lineno}: {stripped!r} inside an open {mode!r} region; "
                                   "close the first region before opening another.")
            mode, indent = stripped, line[: len(line) - len(line.lstrip())]
            if mode == BEGIN_SOLUTION:
                if cell_type == "code":
                    out += [indent + CODE_STUB[0], indent + CODE_STUB[1]]
                else:
                    out.append(indent + TEXT_STUB)
            continue
        if stripped == END_SOLUTION or stripped == END_HIDDEN:
            want = END_SOLUTION if mode == BEGIN_SOLUTION else END_HIDDEN
            if stripped != want:
                raise ReleaseError(f"{where}, line {lineno}: {stripped!r} without a matching "
                                   f"{'BEGIN' if mode is None else repr(mode)} marker.")
            mode = None
            continue
        if mode is None:
            out.append(line)
    if mode is not None:
        raise ReleaseError(f"{where}: {mode!r} is never closed; add the matching END marker.")
    return "\n".join(out)


def _has_markers(src: str) -> bool:
    return any(m in src for m in (BEGIN_SOLUTION, BEGIN_HIDDEN, END_SOLUTION, END_HIDDEN))


def release_notebook(nb: dict, name: str = "notebook") -> dict:
    """The student version of a solution notebook (a notebook as a JSON dict)."""
    if not isinstance(nb, dict) or "cells" not in nb:
        raise ReleaseError(f"{name}: not a Jupyter notebook (no 'cells').")
    out = copy.deepcopy(nb)
    cells = []
    for i, cell in enumerate(out["cells"]):
        src = _source(cell)
        ctype = cell.get("cell_type")
        where = f"{name}, cell {i}"
        if _has_markers(src):
            src = release_source(src, ctype, where)
            if ctype == "code" and BEGIN_SOLUTION in _source(cell):
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if not meta.get("solution"):
                    raise ReleaseError(f"{where}: has a solution region but no nbgrader metadata with "
                                       "'solution': true; add it (see solutions/README or bpkit.course).")
        cell["source"] = src
        meta = cell.get("metadata", {})
        meta.pop("execution", None)
        meta.pop("collapsed", None)
        cell["metadata"] = meta
        if ctype == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cells.append(cell)
    out["cells"] = cells
    meta = out.get("metadata", {})
    meta.pop("widgets", None)
    out["metadata"] = meta
    return out


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _pairs(root: Path, chapters=None):
    sol = root / "solutions"
    if not sol.is_dir():
        raise ReleaseError(f"no solutions/ folder under {root}; run this from the course's root or pass --root.")
    files = sorted(p for p in sol.glob("*.ipynb") if _NAME.match(p.name))
    if chapters:
        want = {f"{int(c):02d}" for c in chapters}
        files = [p for p in files if p.name[:2] in want]
        missing = want - {p.name[:2] for p in files}
        if missing:
            raise ReleaseError(f"no solution notebook for chapter(s) {', '.join(sorted(missing))} in {sol}.")
    return [(p, root / "exercises" / p.name) for p in files]


def _render(src: Path) -> str:
    try:
        nb = json.loads(src.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{src}: not valid notebook JSON ({exc}).") from None
    return _dump(release_notebook(nb, src.name))


def release(root=".", chapters=None) -> list:
    """Write ``exercises/NN_topic.ipynb`` for every solution notebook; return the paths written."""
    root = Path(root)
    written = []
    for src, dst in _pairs(root, chapters):
        text = _render(src)
        dst.parent.mkdir(exist_ok=True)
        if not dst.exists() or dst.read_text(encoding="utf-8") != text:
            dst.write_text(text, encoding="utf-8")
        written.append(dst)
    return written


def check(root=".") -> list:
    """Paths in ``exercises/`` that are missing, stale or have no solution notebook."""
    root = Path(root)
    stale = [dst for src, dst in _pairs(root) if not dst.exists() or dst.read_text(encoding="utf-8") != _render(src)]
    known = {dst.name for _, dst in _pairs(root)}
    orphans = [p for p in sorted((root / "exercises").glob("*.ipynb")) if p.name not in known]
    return stale + orphans


def instructor_book(root=".", out="_build/instructor"):
    """Write the Jupyter Book config and table of contents of the instructor edition.

    Both are derived from the course's own ``_config.yml`` and ``_toc.yml``, so the two
    editions never drift apart: the config stops excluding ``solutions/`` and shares the
    default build's execution cache (the chapters are not executed twice); the table of
    contents adds ``solutions/NN_topic`` after every ``exercises/NN_topic`` page. Returns
    the paths of the two files.
    """
    try:
        import yaml
    except ImportError as exc:                              # pragma: no cover - the course env has it
        raise ReleaseError("instructor-book needs PyYAML (part of the course environment: "
                           "pip install -r requirements.txt).") from exc
    root, out = Path(root).resolve(), Path(out)
    out = out if out.is_absolute() else root / out
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    config["title"] = f"{config.get('title', 'Book')} (instructor edition)"
    config["exclude_patterns"] = [p for p in config.get("exclude_patterns", []) if p.strip("/") != "solutions"]
    config.setdefault("execute", {})["cache"] = str(root / "_build" / ".jupyter_cache")
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {name: str(root / path)
                                  for name, path in (sphinx.get("local_extensions") or {}).items()}
    added = []

    def walk(entries):
        for entry in entries or []:
            walk(entry.get("sections"))
            walk(entry.get("chapters"))
            sections = entry.get("sections") or []
            for i, sec in enumerate(list(sections)):
                name = str(sec.get("file", ""))
                if name.startswith("exercises/"):
                    sol = "solutions/" + name.split("/", 1)[1]
                    if not (root / f"{sol}.ipynb").exists():
                        raise ReleaseError(f"instructor-book: {name} has no solution notebook {sol}.ipynb.")
                    number = int(name.split("/", 1)[1][:2])
                    sections.insert(sections.index(sec) + 1, {"file": sol, "title": f"Solutions {number}"})
                    added.append(sol)

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    if not added:
        raise ReleaseError("instructor-book: the table of contents lists no exercises/ pages to add solutions to.")
    out.mkdir(parents=True, exist_ok=True)
    header = "# Generated by `python -m bpkit.course instructor-book`; edit _config.yml / _toc.yml instead.\n"
    paths = out / "_config.yml", out / "_toc.yml"
    for path, data in zip(paths, (config, toc)):
        path.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return paths
