"""Browser tests: the built book and JupyterLab in Debian's Chromium, driven by Playwright.

Run with ``make test-browser`` (part of ``make test``) after the book is built. Playwright
drives ``/usr/bin/chromium`` (``BPFS_CHROMIUM`` overrides the path); it never downloads a
browser. When Chromium is missing the tests are skipped with a loud banner, except when
``BPFS_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where a missing browser is an error.
Screenshots go to ``_build/browser-artifacts/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "_build" / "browser-artifacts"
CHROMIUM = os.environ.get("BPFS_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("BPFS_REQUIRE_BROWSER") == "1"
# The flags that keep Chromium from calling home on a closed network (../shared/toolchain.md).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-default-apps", "--disable-extensions"]

_skipped = []


def _missing_browser_reason():
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        return (f"Chromium not found at {CHROMIUM}: install Debian's package "
                "(sudo apt-get install -y chromium), or set BPFS_CHROMIUM")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: pip install -r requirements.txt"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing_browser_reason()
    if reason is None:
        return
    if REQUIRED:
        raise pytest.UsageError(f"browser tests are required (BPFS_REQUIRE_BROWSER=1) but {reason}")
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.skip(reason=f"BROWSER TESTS SKIPPED: {reason}"))
            _skipped.append(item.nodeid)


def pytest_terminal_summary(terminalreporter):
    if _skipped:
        reason = _missing_browser_reason()
        bar = "!" * 78
        terminalreporter.write_line(bar, red=True, bold=True)
        terminalreporter.write_line(f"{len(_skipped)} BROWSER TESTS WERE SKIPPED: {reason}.", red=True, bold=True)
        terminalreporter.write_line("The book's pages and JupyterLab were NOT tested in a browser.", red=True,
                                    bold=True)
        terminalreporter.write_line(bar, red=True, bold=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site():
    """The built book served on 127.0.0.1; yields its base URL."""
    if not (HTML / "index.html").exists():
        pytest.fail(f"{HTML}/index.html does not exist: build the book first (make book)")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                             functools.partial(_QuietHandler, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


class PageLog:
    """Console errors, page errors, failed requests and requests to other hosts of one page."""

    def __init__(self, page, allowed_host="127.0.0.1"):
        self.errors, self.foreign, self.failed = [], [], []

        def on_console(msg):
            if msg.type == "error":
                self.errors.append(f"console: {msg.text}")

        def on_request(req):
            host = urlsplit(req.url).hostname
            if req.url.startswith(("data:", "blob:", "about:")):
                return
            if host not in (allowed_host, "localhost"):
                self.foreign.append(req.url)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("request", on_request)
        page.on("requestfailed", lambda req: self.failed.append(f"{req.url} ({req.failure})"))


@pytest.fixture
def new_page(browser):
    """``new_page() -> (page, log)``: a fresh page in its own context, blocking other hosts."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        # Anything not on 127.0.0.1 is aborted (and recorded by PageLog): the site must work offline.
        context.route(lambda url: urlsplit(url).hostname not in ("127.0.0.1", "localhost"),
                      lambda route: route.abort())
        page = context.new_page()
        return page, PageLog(page)

    yield make
    for c in contexts:
        c.close()
