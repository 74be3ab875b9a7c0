"""The exercises in the reader's browser: JupyterLite (Pyodide) served by the built book.

A student follows a chapter's "Try it in your browser" link, runs the exercise notebook, answers
one exercise and sees its check say ``correct``, and sees a widget; another chapter's checks say
``not attempted yet``. Every request is recorded at the browser-context level (pages, workers and
the service worker): none may go to another host, and none may fail. Screenshots go to
``_build/browser-artifacts/lite-*.png``. The site itself (``_build/html/lite``) is checked too: Pyodide
served locally, no PyPI fallback, the bpkit wheel built from this working copy, the size.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from urllib.parse import urlsplit

import pytest

from conftest import HTML, ROOT
from test_lab import answer_neuron

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import lite_site  # noqa: E402

LITE = HTML / "lite"
TIMEOUT_MS = 180_000
MAX_MB = 60                      # the budget for lite/
RUN_ALL_DONE = """(n) => [...document.querySelectorAll('.jp-OutputArea-output')]
    .filter(e => e.innerText.includes('not attempted yet')).length >= n"""


def _mb(folder):
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _checks(notebook):
    """The check cells of an exercise notebook (each prints one verdict)."""
    cells = json.loads((ROOT / "exercises" / notebook).read_text())["cells"]
    return sum(1 for c in cells if c["cell_type"] == "code" and "".join(c["source"]).startswith("check_"))


# ----------------------------------------------------------------------------- the site, statically

def test_the_site_loads_pyodide_from_itself_and_never_falls_back_to_pypi():
    cfg = json.loads((LITE / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = cfg["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.js"
    assert kernel["disablePyPIFallback"] is True
    assert all(not urlsplit(u).scheme for u in kernel["pipliteUrls"]), kernel["pipliteUrls"]
    assert (LITE / "static" / "pyodide" / "pyodide.asm.wasm").exists()
    assert not list(LITE.rglob("*.map")), "sourcemaps in lite/"
    names = {e["name"] for e in cfg["federated_extensions"]}
    assert names == set(lite_site.LAB_EXTENSIONS), names


def test_every_pyodide_file_is_the_official_one():
    """The shipped lock is the official lock pruned to the pinned packages; each file matches it."""
    shipped = json.loads((LITE / "static" / "pyodide" / "pyodide-lock.json").read_text())
    official = lite_site.verify()                     # the cache, checked against the pinned sha256
    assert shipped["info"] == official["info"]
    pins = lite_site.load_pins()
    assert sorted(shipped["packages"]) == lite_site.needed_packages(official, pins["pyodide"]["packages"])
    for name, entry in shipped["packages"].items():
        assert entry == official["packages"][name], name
        data = (LITE / "static" / "pyodide" / entry["file_name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file_name"]
    assert not {"scipy", "scikit-learn", "pandas"} & set(shipped["packages"]), "unused packages in the bundle"


def test_the_bpkit_wheel_is_built_from_the_working_copy():
    wheels = list((LITE / "pypi").glob("bpkit-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as z:
        files = [n for n in z.namelist() if n.startswith("bpkit/")]
        assert "bpkit/_data/digits.npz" in files and "bpkit/checks/ch01.py" in files
        for name in files:
            assert z.read(name) == (ROOT / name).read_bytes(), f"{name} in the site's wheel is not the working copy's"
    for name in lite_site.load_pins()["pypi"]:
        assert list((LITE / "pypi").glob(f"{name}-*.whl")), name


def test_every_exercise_notebook_is_in_the_site_with_the_browser_note():
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        nb = json.loads((LITE / "files" / path.name).read_text())
        first = "".join(nb["cells"][0]["source"])
        assert "kept in this browser's storage" in first and "Download" in first, path.name
        assert nb["cells"][1:] == json.loads(path.read_text())["cells"], f"{path.name} differs from exercises/"


def test_the_site_is_small_enough(capsys):
    lite, total = _mb(LITE), _mb(HTML)
    with capsys.disabled():
        print(f"\n_build/html: {total:.1f} MB, of which lite/ {lite:.1f} MB (without lite/: {total - lite:.1f} MB)")
    assert lite < MAX_MB, f"lite/ is {lite:.1f} MB"


# ----------------------------------------------------------------------------- a student, in Chromium

@pytest.fixture
def lite_page(new_page):
    """A page whose context records every request (pages, workers, service worker) to another host."""
    page, log = new_page()
    foreign = []

    def on_request(req):
        if not req.url.startswith(("data:", "blob:", "about:")) and urlsplit(req.url).hostname not in (
                "127.0.0.1", "localhost"):
            foreign.append(req.url)

    page.context.on("request", on_request)
    page.set_default_timeout(TIMEOUT_MS)
    return page, log, foreign


def _open_from_the_book(page, site, book_page):
    """Follow the page's "Try it in your browser" link into JupyterLite; wait for the kernel."""
    page.goto(f"{site}/{book_page}", wait_until="load")
    link = page.locator("p.bpfs-lite a", has_text=lite_site.LINK_TEXT)
    assert link.count() == 1
    href = link.get_attribute("href")
    assert href.startswith("../lite/notebooks/index.html?path="), href
    link.click()
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    assert "kept in this browser's storage" in page.locator(".jp-MarkdownCell").first.inner_text()


def _run_all(page, checks):
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(RUN_ALL_DONE, arg=checks)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert not [t for t in errors.all_inner_texts() if "Traceback" in t], "a cell raised"


def test_chapter_1_in_the_browser_answer_one_and_see_a_widget(lite_page, site, artifacts):
    page, log, foreign = lite_page
    try:
        _open_from_the_book(page, site, "chapters/01_forward_pass.html")
        checks = _checks("01_forward_pass.ipynb")
        _run_all(page, checks)
        page.screenshot(path=str(artifacts / "lite-1-run-all.png"))

        answer = page.locator(".jp-CodeCell", has_text="def neuron(x, w, b):").first
        check = page.locator(".jp-CodeCell", has_text="check_neuron(neuron)").first
        answer_neuron(page, answer)
        check.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "lite-2-correct-answer.png"))
        text = " ".join(check.locator(".jp-OutputArea-output").all_inner_texts())
        assert "\u2714 correct \u2014 Exercise 1.1 (neuron)" in text, text

        widget = page.locator(".jp-CodeCell", has_text="explorer = NeuronExplorer").first
        widget.scroll_into_view_if_needed()
        assert widget.locator(".widget-slider").count() >= 3            # w1, w2, b
        img = widget.locator(".jp-OutputArea-output img").first
        img.wait_for()
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")
        assert "boundary z = 0" in widget.locator(".jp-OutputArea").inner_text()
        widget.screenshot(path=str(artifacts / "lite-3-widget.png"))
    except BaseException:
        page.screenshot(path=str(artifacts / "lite-failure.png"))
        raise
    assert not foreign, f"JupyterLite requested other hosts: {foreign[:5]}"
    assert not log.failed, f"failed requests: {log.failed[:5]}"
    assert not log.errors, f"console errors: {log.errors[:5]}"


def test_chapter_2_in_the_browser_says_not_attempted_yet(lite_page, site, artifacts):
    page, log, foreign = lite_page
    try:
        _open_from_the_book(page, site, "exercises/02_losses.html")
        checks = _checks("02_losses.ipynb")
        assert checks >= 5
        _run_all(page, checks)
        page.screenshot(path=str(artifacts / "lite-4-chapter-2.png"))
        verdicts = page.locator(".jp-OutputArea-output", has_text="not attempted yet")
        assert verdicts.count() >= checks
        assert page.locator(".jp-OutputArea-output", has_text="\u2714 correct").count() == 0
    except BaseException:
        page.screenshot(path=str(artifacts / "lite-failure-2.png"))
        raise
    assert not foreign, f"JupyterLite requested other hosts: {foreign[:5]}"
    assert not log.failed, f"failed requests: {log.failed[:5]}"
    assert not log.errors, f"console errors: {log.errors[:5]}"
