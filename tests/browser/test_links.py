"""Every internal link and anchor of the built book resolves; headings nest correctly.

A static check over the HTML files (no browser needed, but it needs the built book, so it
lives with the browser tests).
"""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest

from conftest import HTML

PAGES = sorted(p for p in HTML.rglob("*.html")
               if not p.relative_to(HTML).as_posix().startswith(("_static/", "_sources/", "_images/", "lite/")))


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.headings = set(), [], []
        self._article = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href") is not None:
            self.links.append(("a", a["href"]))
        elif tag in ("img", "script") and a.get("src"):
            self.links.append((tag, a["src"]))
        elif tag == "link" and a.get("href") and a.get("rel") in ("stylesheet", "preload", "icon"):
            self.links.append((tag, a["href"]))
        if tag == "article":
            self._article += 1
        if self._article and re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def handle_endtag(self, tag):
        if tag == "article" and self._article:
            self._article -= 1


_PARSED = {}


def parse(path):
    if path not in _PARSED:
        p = _Page()
        p.feed(path.read_text(encoding="utf-8"))
        _PARSED[path] = p
    return _PARSED[path]


def test_the_book_is_built():
    assert len(PAGES) >= 10, f"only {len(PAGES)} pages in {HTML}: build the book first (make book)"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(HTML).as_posix())
def test_internal_links_and_anchors_resolve(page):
    broken = broken_links(HTML, page)
    assert not broken, f"{page.relative_to(HTML)}: {len(broken)} broken links: {broken[:10]}"


def test_the_link_check_finds_broken_links_and_anchors(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.html").write_text('<h1 id="top">x</h1><a href="../b.html#here">ok</a>'
                                           '<a href="../b.html#gone">bad anchor</a><a href="missing.html">bad</a>'
                                           '<a href="#top">self</a><a href="https://example.org/nope">far</a>')
    (tmp_path / "b.html").write_text('<section id="here"></section>')
    broken = broken_links(tmp_path, tmp_path / "a" / "x.html")
    assert broken == ["../b.html#gone (no anchor #gone in b.html)", "missing.html (no file a/missing.html)"]


def broken_links(HTML, page):
    rel = page.relative_to(HTML).as_posix()
    broken = []
    for tag, url in parse(page).links:
        parts = urlsplit(url)
        if parts.scheme or url.startswith(("//", "mailto:", "javascript:", "data:")):
            continue                                          # another host: not ours to check
        if parts.path:
            target_rel = posixpath.normpath(posixpath.join(posixpath.dirname(rel), unquote(parts.path)))
            if target_rel.startswith(".."):
                broken.append(f"{url} (leaves the site)")
                continue
            target = HTML / target_rel
            if target.is_dir():
                target = target / "index.html"
        else:
            target = page
        if not target.exists():
            broken.append(f"{url} (no file {target.relative_to(HTML)})")
            continue
        if parts.fragment and tag == "a" and target.suffix == ".html":
            if unquote(parts.fragment) not in parse(target).ids:
                broken.append(f"{url} (no anchor #{parts.fragment} in {target.relative_to(HTML)})")
    return broken


@pytest.mark.parametrize("page", [p for p in PAGES if p.name not in ("search.html", "genindex.html")
                                  and "<article" in p.read_text(encoding="utf-8")],   # not the root redirect
                         ids=lambda p: p.relative_to(HTML).as_posix())
def test_headings_nest(page):
    levels = parse(page).headings
    assert levels and levels[0] == 1, f"the page should start with one h1, got {levels[:3]}"
    assert levels.count(1) == 1, f"more than one h1: {levels}"
    jumps = [(a, b) for a, b in zip(levels, levels[1:]) if b > a + 1]
    assert not jumps, f"headings skip a level (h{jumps[0][0]} followed by h{jumps[0][1]})"
