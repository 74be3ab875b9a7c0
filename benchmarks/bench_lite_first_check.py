"""Time a student's first minute in the browser: from opening an exercise notebook in JupyterLite to
its first check result.

The built book (``_build/html``, with ``lite/``) is served on 127.0.0.1; headless Debian Chromium
(Playwright, ``/usr/bin/chromium``, never a downloaded browser) opens the notebook's JupyterLite URL,
as the book's "Try it in your browser" link does, in a fresh profile each round (so nothing is in the
browser's cache or storage: a first visit). Requests to other hosts are aborted and counted.
Per round it records, from the navigation:

* ``notebook shown``: the notebook's cells are on the page;
* ``kernel idle``: the Pyodide kernel has started (Pyodide, IPython and the kernel loaded);
* ``first check``: after *Run > Run All Cells* (clicked as soon as the kernel is idle), the first
  check cell has printed its verdict (the set-up cell installed bpkit and its dependencies from
  the site's own wheels, and everything above the first check ran);
* ``run all``: the last check has printed its verdict.

It prints the median and range over ``--rounds`` (default 3), and the size of ``lite/``.

    .venv/bin/python benchmarks/bench_lite_first_check.py [--notebook 01_forward_pass] [--rounds 3] [--json out.json]

(``make bench-lite``; build the book first with ``make book``.)
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("BPFS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
STAGES = ("notebook shown", "kernel idle", "first check", "run all")
VERDICT = r"/(not attempted yet|correct|incorrect|error) \u2014 Exercise/"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def one_round(browser, base, notebook, checks):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    foreign = []
    context.on("request", lambda r: foreign.append(r.url)
               if urlsplit(r.url).hostname not in ("127.0.0.1", "localhost", None)
               and not r.url.startswith(("data:", "blob:")) else None)
    context.route(lambda url: urlsplit(url).hostname not in ("127.0.0.1", "localhost"), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(300_000)
    t = {}
    t0 = time.perf_counter()
    page.goto(f"{base}/lite/notebooks/index.html?path={notebook}.ipynb", wait_until="commit")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    t["notebook shown"] = time.perf_counter() - t0
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    t["kernel idle"] = time.perf_counter() - t0
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    count = f"() => [...document.querySelectorAll('.jp-OutputArea-output')].filter(e => {VERDICT}.test(e.innerText)).length"
    page.wait_for_function(f"{count.replace('() =>', '(n) =>')} >= 1", arg=None)
    t["first check"] = time.perf_counter() - t0
    page.wait_for_function(f"(n) => ({count})() >= n", arg=checks)
    t["run all"] = time.perf_counter() - t0
    context.close()
    return t, foreign


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", default="01_forward_pass")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not (HTML / "lite" / "jupyter-lite.json").exists():
        sys.exit("no _build/html/lite: build the book first (make book)")
    cells = json.loads((ROOT / "exercises" / f"{args.notebook}.ipynb").read_text())["cells"]
    checks = sum(c["cell_type"] == "code" and "".join(c["source"]).startswith("check_") for c in cells)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(HTML)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    from playwright.sync_api import sync_playwright
    rounds, foreign = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for i in range(args.rounds):
            t, f = one_round(browser, base, args.notebook, checks)
            rounds.append(t)
            foreign += f
            print(f"round {i + 1}: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items()), flush=True)
        browser.close()
    server.shutdown()
    size = sum(p.stat().st_size for p in (HTML / "lite").rglob("*") if p.is_file()) / 1e6
    print(f"\n{args.notebook} in JupyterLite, {args.rounds} first visits, seconds from opening the notebook:")
    print(f"{'stage':<16}{'median':>8}{'min':>8}{'max':>8}")
    for k in STAGES:
        v = [r[k] for r in rounds]
        print(f"{k:<16}{statistics.median(v):>8.1f}{min(v):>8.1f}{max(v):>8.1f}")
    print(f"lite/ is {size:.1f} MB; requests to other hosts: {len(foreign)}")
    if args.json:
        args.json.write_text(json.dumps({"notebook": args.notebook, "rounds": rounds, "lite_mb": size,
                                         "foreign_requests": foreign, "cpus": os.cpu_count()}, indent=2))
    return 1 if foreign else 0


if __name__ == "__main__":
    sys.exit(main())
