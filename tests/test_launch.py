"""Notebooks run where the book's launch buttons send them (Colab, Binder, a JupyterHub).

* every solution and exercise notebook installs bpkit itself when it is missing, from the
  repository named in ``_config.yml`` (in JupyterLite, from the book's own site);
* the book's extension points the launch buttons of a chapter page at the chapter's
  exercise notebook (which exists), and lets an instructor set their own hub.
"""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from _notebooks import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import course_pages  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = CONFIG["repository"]["url"]
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "exercises").glob("*.ipynb"))


def _setup_cell(path):
    cells = json.loads(path.read_text())["cells"]
    return next(c for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("platform, line", [("linux", f"install -q 'bpkit @ git+{REPO}'"),
                                            ("emscripten", "install -q bpkit")])
def test_first_code_cell_installs_bpkit_when_missing(path, platform, line, monkeypatch):
    """Colab and other fresh environments install from GitHub; JupyterLite (Pyodide, whose
    ``sys.platform`` is ``emscripten``) from the book's own site: its kernel turns the literal
    ``%pip install -q bpkit`` line into ``piplite.install("bpkit")``, served from ``lite/pypi/``."""
    from IPython.core.inputtransformer2 import TransformerManager
    src = "".join(_setup_cell(path)["source"])
    block = src[:src.index("\n\n")]                             # the try/except block on top
    if platform == "emscripten":
        assert "        %pip install -q bpkit\n" in block          # the line the Pyodide kernel rewrites
    install = TransformerManager().transform_cell(block)       # %pip -> get_ipython().run_line_magic
    calls = []
    shell = SimpleNamespace(run_line_magic=lambda name, line: calls.append((name, line)))
    monkeypatch.setitem(sys.modules, "bpkit", None)              # `import bpkit` raises ImportError
    monkeypatch.setattr(sys, "platform", platform)
    exec(install, {"get_ipython": lambda: shell})
    assert calls == [("pip", line)]
    monkeypatch.delitem(sys.modules, "bpkit")                     # installed: nothing to do
    calls.clear()
    exec(install, {"get_ipython": lambda: shell})
    assert calls == []


def test_launch_buttons_are_configured():
    launch = CONFIG["launch_buttons"]
    assert launch["binderhub_url"] == "https://mybinder.org"
    assert launch["colab_url"] == "https://colab.research.google.com"
    assert launch["jupyterhub_url"].startswith("https://")
    assert launch["notebook_interface"] == "jupyterlab"
    assert "course_pages" in CONFIG["sphinx"]["local_extensions"]


def _context(pagename):
    src = f"chapters/{pagename.split('/')[-1]}.md"
    buttons = [{"type": "link", "text": t, "tooltip": f"Launch on {t}",
                "url": f"https://x.example/{t}?path=lab/tree/{src}"} for t in ("Binder", "JupyterHub", "Colab")]
    return {"header_buttons": [{"label": "download-buttons", "buttons": []},
                               {"label": "launch-buttons", "buttons": buttons}]}


def _app():
    return SimpleNamespace(srcdir=str(ROOT), env=SimpleNamespace(doc2path=lambda name: str(ROOT / f"{name}.md")))


@pytest.mark.parametrize("chapter", sorted(p.stem for p in (ROOT / "chapters").glob("*.md")))
def test_chapter_pages_launch_their_exercise_notebook(chapter):
    ctx = _context(f"chapters/{chapter}")
    course_pages._exercise_launch_links(_app(), f"chapters/{chapter}", "page.html", ctx, None)
    buttons = ctx["header_buttons"][1]["buttons"]
    for b in buttons:
        assert b["url"].endswith(f"lab/tree/exercises/{chapter}.ipynb"), b
        assert (ROOT / "exercises" / f"{chapter}.ipynb").exists()
        assert b["tooltip"] == f"Open this chapter's exercises on {b['text']}"


def test_other_pages_keep_their_launch_links():
    ctx = _context("book/intro")
    before = json.dumps(ctx)
    course_pages._exercise_launch_links(_app(), "book/intro", "page.html", ctx, None)
    assert json.dumps(ctx) == before


def test_instructor_sets_their_hub_from_the_environment(monkeypatch):
    config = SimpleNamespace(html_theme_options={"launch_buttons": {"jupyterhub_url": "https://a.example",
                                                                     "colab_url": "c"}})
    monkeypatch.setenv("BPFS_JUPYTERHUB_URL", "https://hub.my-university.edu")
    course_pages._override_hub(None, config)
    assert config.html_theme_options["launch_buttons"] == {"jupyterhub_url": "https://hub.my-university.edu",
                                                           "colab_url": "c"}
    monkeypatch.delenv("BPFS_JUPYTERHUB_URL")
    config2 = SimpleNamespace(html_theme_options={"launch_buttons": {"jupyterhub_url": "https://a.example"}})
    course_pages._override_hub(None, config2)
    assert config2.html_theme_options["launch_buttons"]["jupyterhub_url"] == "https://a.example"
