"""The published book in a real browser: offline, math typeset, figures, widgets, search."""

from __future__ import annotations

import re

import pytest

from conftest import HTML, ROOT

PAGES = sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
               if not p.relative_to(HTML).as_posix().startswith(("_static/", "_sources/", "_images/", "lite/")))
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
MATH_PAGES = CHAPTERS + ["book/notation.html"]


def _load(new_page, site, path):
    page, log = new_page()
    page.goto(f"{site}/{path}", wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, log


def test_the_book_has_its_pages():
    assert {"index.html", "search.html", "book/intro.html", "book/how-to-use.html",
            "book/notation.html", "book/bibliography.html"} <= set(PAGES)
    assert len(CHAPTERS) >= 5
    for ch in CHAPTERS:
        assert f"exercises/{ch.split('/')[1]}" in PAGES, f"{ch} has no exercise page"
    assert not [p for p in PAGES if p.startswith("solutions/")], "the default build must not publish solutions"


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_offline_without_console_errors(new_page, site, path):
    page, log = _load(new_page, site, path)
    assert page.title(), path
    assert not log.foreign, f"{path} requested other hosts: {log.foreign[:5]}"
    assert not log.errors, f"{path}: {log.errors[:5]}"
    assert not log.failed, f"{path}: failed requests {log.failed[:5]}"


def test_favicon_is_ours_and_nothing_404s_on_the_intro_page(new_page, site):
    """The site ships its own icon, so no browser asks for a missing /favicon.ico (a 404 on every visit)."""
    page, log = new_page()
    bad = []
    page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{site}/book/intro.html", wait_until="load")
    page.wait_for_load_state("networkidle")
    hrefs = page.eval_on_selector_all("link[rel~='icon']", "els => els.map(e => e.href)")
    assert hrefs, "book/intro.html has no <link rel='icon'>: set html.favicon in _config.yml"
    for href in hrefs:
        assert href.endswith("favicon.svg"), href
        assert (HTML / href[len(site) + 1:].split("#")[0]).resolve().is_file(), f"{href} is not in _build/html"
        assert page.request.get(href).status == 200, href
    assert not bad, f"book/intro.html: responses with an error status {bad}"
    assert not log.failed and not log.errors, (log.failed, log.errors)


@pytest.mark.parametrize("path", MATH_PAGES)
def test_math_is_typeset(new_page, site, path):
    page, log = _load(new_page, site, path)
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")
    counts = page.evaluate("""() => ({
        math: document.querySelectorAll('.math').length,
        typeset: document.querySelectorAll('.math mjx-container').length,
        raw: [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container'))
               .map(e => e.textContent.slice(0, 60)),
        errors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 60)),
        dollars: [...document.querySelectorAll('article p')].filter(e => /\\$\\$/.test(e.textContent)).length,
    })""")
    assert counts["math"] > 0, f"{path} has no math"
    assert not counts["raw"], f"{path}: math not typeset: {counts['raw'][:3]}"
    assert not counts["errors"], f"{path}: MathJax errors: {counts['errors'][:3]}"
    assert counts["dollars"] == 0, f"{path}: raw $$ left in the text"
    assert not log.foreign


@pytest.mark.parametrize("path", CHAPTERS)
def test_figures_load_and_have_alt_text(new_page, site, path, artifacts):
    page, _ = _load(new_page, site, path)
    images = page.evaluate("""() => [...document.querySelectorAll('article img')].map(i => ({
        src: i.getAttribute('src') || '', alt: i.getAttribute('alt') || '',
        ok: i.complete && i.naturalWidth > 0, id: i.id}))""")
    assert images, f"{path} has no figures"
    page.locator("article img").first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"{path.replace('/', '_')}.png"))
    for img in images:
        assert img["alt"].strip(), f"{path}: image without alt text: {img['src'][:60] or img['id']}"
        if img["src"]:                                    # an animation player fills its frame by script
            assert img["ok"], f"{path}: image did not load: {img['src'][:80]}"


def test_saved_widget_state_renders_in_chapter_1(new_page, site):
    page, log = _load(new_page, site, "chapters/01_forward_pass.html")
    widget = page.locator(".widget-slider, .jupyter-widgets .widget-slider").first
    widget.wait_for(state="attached", timeout=15000)
    assert page.locator(".jupyter-widgets").count() > 0
    assert not log.errors


def test_search_finds_a_chapter_3_term(new_page, site, artifacts):
    page, log = new_page()
    page.goto(f"{site}/search.html?q=topological", wait_until="load")
    results = page.locator("#search-results a[href*='chapters/03_chain_rule']")
    results.first.wait_for(timeout=20000)
    page.screenshot(path=str(artifacts / "search.png"))
    assert results.count() >= 1
    assert not log.foreign and not log.errors


def test_chapter_pages_offer_downloads_and_launch_buttons(new_page, site):
    page, _ = _load(new_page, site, "chapters/01_forward_pass.html")
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    assert "../_sources/chapters/01_forward_pass.ipynb" in hrefs
    assert "../_sources/chapters/01_forward_pass.md" in hrefs
    for provider in ("mybinder.org", "colab.research.google.com", "/hub/user-redirect/git-pull"):
        links = [h for h in hrefs if provider in h]
        assert links, f"no {provider} launch link"
        target = re.search(r"(exercises/\d\d_\w+\.ipynb)", links[0]).group(1)
        assert (ROOT / target).exists(), links[0]
    ipynb = page.request.get(f"{site}/_sources/chapters/01_forward_pass.ipynb")
    assert ipynb.ok and '"cells"' in ipynb.text()                   # a notebook, with its outputs
    assert '"outputs": [' in ipynb.text()
