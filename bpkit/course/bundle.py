"""Hand out chapters: ``bpkit-course assign CH [CH ...] --out DIR [--hub URL --repo GIT_URL]``.

The bundle is a folder a student can use anywhere::

    DIR/
      README.md               how to run (locally, JupyterLab, Colab, JupyterHub) and submit
      01_forward_pass.ipynb   the exercise notebooks (copied from exercises/, never solutions/)
      bpkit/                  the course library, so ``import bpkit`` works from this folder
      pyproject.toml, LICENSE so ``pip install .`` installs bpkit and its dependencies
      bundle.json             what is in the bundle (chapters, exercises, points), for tools

The notebooks sit next to ``bpkit/``: a kernel started in this folder imports it without
installing anything but NumPy, matplotlib, ipywidgets and tqdm. Every import of the notebooks
is checked to be the standard library, bpkit or one of bpkit's declared dependencies.

With ``--hub URL --repo GIT_URL`` the README also lists nbgitpuller links: push the bundle
to that repository (its root is the bundle's root) and each link opens one notebook on the
hub, pulling the repository into the student's home first. (The course's own repository
holds ``solutions/``; do not point students' hubs at it.)

Before returning, the bundle is searched for solution code: any solution region (between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` in ``solutions/*.ipynb``) found in it is an
error and the bundle is removed. A region that is bpkit's own library code, verbatim (e.g.
``return X @ W + b`` is the body of ``linear_forward``), is not a leak: the library is public
and the checks compare against it.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import urlencode

from .catalog import _hm, chapters as load_chapters
from .release import ReleaseError, _render, _source, check

__all__ = ["assign", "find_leaks", "nbgitpuller_link", "solution_regions"]

_MARKER = "bundle.json"
_REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n(.*?)\n[ \t]*### END SOLUTION[ \t]*$", re.S | re.M)
_DIST_TO_MODULE = {"scikit-learn": "sklearn", "pillow": "PIL", "pyyaml": "yaml"}


def nbgitpuller_link(hub: str, repo: str, path: str, branch: str = "main", interface: str = "lab") -> str:
    """The nbgitpuller link that clones/updates ``repo`` on ``hub`` and opens ``path`` in it."""
    repo_dir = repo.rstrip("/").split("/")[-1]
    repo_dir = repo_dir[:-4] if repo_dir.endswith(".git") else repo_dir
    query = urlencode({"repo": repo, "urlpath": f"{interface}/tree/{repo_dir}/{path}", "branch": branch})
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def _library(root: Path) -> Path:
    """The bpkit package to ship: the course's own copy, else the one running this command."""
    own = Path(root) / "bpkit"
    return own if (own / "__init__.py").is_file() else Path(__file__).resolve().parents[1]


def _norm_lines(text: str) -> list:
    return [line.strip() for line in text.splitlines() if line.strip()]


def solution_regions(root=".") -> list:
    """``(notebook name, grade_id, normalised lines)`` for every solution region of ``solutions/``."""
    out = []
    for ch in load_chapters(root):
        for cell in ch.solution["cells"]:
            gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id", "")
            for m in _REGION.finditer(_source(cell)):
                lines = _norm_lines(m.group(1))
                if lines:
                    out.append((f"{ch.stem}.ipynb", gid, lines))
    return out


def _text_files(folder: Path):
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            try:
                yield p, p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def _notebook_code(text: str) -> str:
    try:
        nb = json.loads(text)
        return "\n".join(_source(c) for c in nb.get("cells", []))
    except (ValueError, AttributeError):
        return text


def find_leaks(folder, root=".") -> list:
    """``[(file, notebook, grade_id)]``: solution regions found in ``folder`` (see the module docstring).

    A region leaks when all its lines appear, in order and contiguous, in one file (a notebook's
    cells are joined first, so JSON escaping does not hide them). Regions that are verbatim bpkit
    library code are skipped.
    """
    folder, root = Path(folder), Path(root)
    library = "\n".join("\n".join(_norm_lines(t)) for _, t in _text_files(_library(root)))
    files = [(p, "\n".join(_norm_lines(_notebook_code(t) if p.suffix == ".ipynb" else t)))
             for p, t in _text_files(folder)]
    leaks = []
    for name, gid, lines in solution_regions(root):
        block = "\n".join(lines)
        if block in library:
            continue
        for p, text in files:
            if block in text:
                leaks.append((p.relative_to(folder).as_posix(), name, gid))
    return leaks


def _imports(code: str) -> set:
    import ast
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            mods.add(node.module.split(".")[0])
    return mods


def _declared_modules(pyproject: Path) -> set:
    text = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
    names = set(re.findall(r'^\s*"([A-Za-z0-9_.-]+)\s*[<>=!~;\[]?[^"]*",?\s*$', text, re.M))
    return {_DIST_TO_MODULE.get(n.lower(), n.lower().replace("-", "_")) for n in names}


def _readme(chs, hub, repo, branch, version) -> str:
    total = sum(ch.points for ch in chs)
    minutes = sum(ch.reading_minutes + ch.exercise_minutes for ch in chs)
    rows = "\n".join(f"| {ch.number} | [{ch.title}]({ch.stem}.ipynb) | {len(ch.exercises)} | {ch.points:g} | "
                     f"{_hm(ch.reading_minutes + ch.exercise_minutes)} |" for ch in chs)
    first = chs[0].stem
    hub_part = ""
    if hub:
        links = "\n".join(f"- [{ch.number} {ch.title}]({nbgitpuller_link(hub, repo, f'{ch.stem}.ipynb', branch)})"
                          for ch in chs)
        hub_part = f"""
## On the course's JupyterHub

Click a link, log in, and the notebook opens in JupyterLab on {hub}. The first click copies
this folder into your home directory; later clicks fetch your instructor's updates and keep
your own changes.

{links}
"""
    return f"""# Backprop from Scratch: exercises

This folder holds your exercise notebooks and `bpkit` {version}, the course library they use.
It contains no solutions.

| Chapter | Notebook | Exercises | Points | Time (reading + exercises) |
|---|---|--:|--:|--:|
{rows}

{len(chs)} chapter(s), {total:g} points, about {_hm(minutes)} of work. Read each chapter of the book
first; every exercise has a cell marked `# YOUR CODE HERE` and a check cell below it that
tells you at once whether your answer is right, often naming the mistake, with hints.

## On your computer

You need Python 3.10 or newer.

```bash
python -m venv .venv
source .venv/bin/activate        # Windows: .venv\\Scripts\\activate
pip install . jupyterlab         # bpkit from this folder, its dependencies and JupyterLab
jupyter lab
```

## In a JupyterLab you already have

Open this folder in JupyterLab and open a notebook. A notebook started here imports `bpkit`
from the `bpkit/` folder beside it; it needs only NumPy, matplotlib, ipywidgets and tqdm
(`pip install numpy matplotlib ipywidgets tqdm`).

## In Google Colab

In Colab choose *File > Upload notebook* and pick a notebook from this folder. Its first code
cell installs bpkit when it is missing (from the course's public repository), so run the
cells from the top.
{hub_part}
## Handing in

1. Run *Kernel > Restart Kernel and Run All Cells* and check that every check cell prints a
   verdict. The grader runs your notebook the same way, in a fresh kernel, with a time limit
   (a few minutes), so a cell that never finishes costs the exercises after it.
2. Do not edit or delete the set-up and check cells: a check cell that was changed gives
   0 points for its exercise. If you changed one by accident, copy it back from a fresh copy
   of the notebook.
3. Use only NumPy, the standard library and bpkit: the grader has nothing else installed.
4. Save, then rename the file to `YOURNAME_NN_topic.ipynb`, e.g. `ada_lovelace_{first}.ipynb`
   (in Colab: *File > Download > Download .ipynb*), and hand it in the way your instructor
   asked. Your feedback will show each verdict and the hints.
"""


def assign(numbers, out, root=".", hub=None, repo=None, branch="main") -> list:
    """Write the student bundle for chapters ``numbers`` into ``out``; return the files written."""
    root, out = Path(root), Path(out)
    if not numbers:
        raise ReleaseError("assign: name at least one chapter, e.g. `bpkit-course assign 1 2 --out week1`.")
    if hub and not repo:
        raise ReleaseError("assign: --hub needs --repo GIT_URL, the repository you will push this bundle to "
                           "(nbgitpuller pulls notebooks from git), e.g. --repo https://github.com/you/bpfs-week1.")
    if hub and not re.match(r"^https?://", hub):
        raise ReleaseError(f"assign: --hub must be the hub's URL (https://...), got {hub!r}.")
    chs = load_chapters(root, numbers)
    stale = [p for p in check(root) if p.stem in {ch.stem for ch in chs}]
    if stale:
        raise ReleaseError(f"assign: {', '.join(str(p) for p in stale)} is out of date with solutions/; run "
                           "`bpkit-course release` first, so students get the current exercises.")
    if out.exists() and any(out.iterdir()):
        if not (out / _MARKER).is_file():
            raise ReleaseError(f"assign: {out} exists and is not a bundle written by assign; choose a new folder "
                               "or empty it (assign replaces only its own earlier bundles).")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    library = _library(root)
    written = []
    for ch in chs:
        dst = out / f"{ch.stem}.ipynb"
        dst.write_text(_render(root / "solutions" / f"{ch.stem}.ipynb"), encoding="utf-8")   # == exercises/
        written.append(dst)
    shutil.copytree(library, out / "bpkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    for name in ("pyproject.toml", "LICENSE"):
        if (root / name).is_file():
            shutil.copyfile(root / name, out / name)
    # every import of the notebooks is available where the bundle runs
    known = set(sys.stdlib_module_names) | {"bpkit", "IPython"} | _declared_modules(root / "pyproject.toml")
    for ch in chs:
        code = "\n".join(_source(c) for c in ch.released["cells"] if c.get("cell_type") == "code")
        extra = sorted(_imports(code) - known)
        if extra:
            shutil.rmtree(out)
            raise ReleaseError(f"assign: {ch.stem}.ipynb imports {', '.join(extra)}, which is neither the standard "
                               "library nor a dependency of bpkit (pyproject.toml); declare it there first.")
    from .. import __version__ as version
    (out / "README.md").write_text(_readme(chs, hub, repo, branch, version), encoding="utf-8")
    manifest = {"bpkit_version": version, "chapters": [
        {"stem": ch.stem, "title": ch.title, "points": ch.points,
         "exercises": [{"grade_id": e.grade_id, "number": e.number, "points": e.points} for e in ch.exercises]}
        for ch in chs]}
    if hub:
        manifest["jupyterhub"] = {"hub": hub, "repo": repo, "branch": branch,
                                  "links": {ch.stem: nbgitpuller_link(hub, repo, f"{ch.stem}.ipynb", branch)
                                            for ch in chs}}
    (out / _MARKER).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    leaks = find_leaks(out, root)
    if leaks:
        shutil.rmtree(out)
        where = "; ".join(f"{f} contains the solution of {gid} ({nb})" for f, nb, gid in leaks[:5])
        raise ReleaseError(f"assign: refusing to write a bundle with solution code: {where}. This is a bug in the "
                           "course tools or in bpkit; report it.")
    return written + [out / "bpkit", out / "README.md", out / _MARKER]
