"""The book on a desktop (1280 px) and a phone (390 px): navigation, equations, printed output, figures.

Each check loads the pages once per width and lists every offender in its message. Screenshots of
the phone menu, a chapter at both widths and a figure opened at full size go to the artifacts folder.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image

from conftest import HTML

CHAPTERS = sorted(f"chapters/{p.name}" for p in (HTML / "chapters").glob("*.html"))
MATH_PAGES = CHAPTERS + ["book/notation.html"]
FIGURE_PAGES = CHAPTERS + ["book/for-instructors.html"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
MIN_FIGURE_TEXT_PX = 9
# Figures too wide for the column at any legible font size, which a reader opens at full size (the
# phone test checks the text there): the computational graph of the whole 1-2-1 network (14 nodes
# in a row, drawn by bpkit.autograd.draw_graph).
TOO_WIDE_FOR_THE_COLUMN = {("chapters/03_chain_rule.html", "Fig. 3.3")}

# Every display equation and printed output (stream, text result) of a page, measured in place.
# "wide": its content is wider than its box; "scrolls": the box scrolls sideways (overflow-x auto);
# "under_number": the equation runs into its number.
MEASURE = """() => {
  const scrolls = e => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  const eqs = [...document.querySelectorAll("div.math")].filter(d => d.querySelector("mjx-container")).map(d => {
    const box = d.querySelector("mjx-container"), math = box.querySelector("mjx-math") || box;
    const no = d.querySelector(".eqno");
    const n = no ? no.getBoundingClientRect() : null, b = box.getBoundingClientRect();
    const mr = math.getBoundingClientRect();   // what shows of it: clipped by a box that scrolls
    const m = scrolls(box) ? {left: Math.max(mr.left, b.left), right: Math.min(mr.right, b.right)} : mr;
    return {name: no ? no.textContent.replace("#", "").trim() : d.id,
            wide: box.scrollWidth > box.clientWidth + 1 || m.right > d.getBoundingClientRect().right + 1,
            scrolls: scrolls(box),
            under_number: !!n && n.width > 0 && m.right > n.left + 1 && m.left < n.right};
  });
  const outs = [...document.querySelectorAll("div.cell_output pre, div.output pre")].map(o => ({
    name: o.textContent.trim().split("\\n")[0].slice(0, 60),
    wide: o.scrollWidth > o.clientWidth + 1, scrolls: scrolls(o)}));
  return {eqs, outs};
}"""


def _open(context, site, path):
    page = context.new_page()
    page.goto(f"{site}/{path}", wait_until="load")
    if page.locator(".math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
    return page


def _each_page(context, site, paths):
    """Open each page in turn (loaded, its images fetched); yields ``(path, page)``."""
    for path in paths:
        page = _open(context, site, path)
        page.wait_for_load_state("networkidle")
        yield path, page
        page.close()


def _context(browser, viewport):
    context = browser.new_context(viewport=viewport)
    context.route(lambda url: urlsplit(url).hostname not in ("127.0.0.1", "localhost"), lambda r: r.abort())
    return context


@pytest.mark.parametrize("width", [900, PHONE["width"]])
def test_the_phone_menu_opens_and_a_link_in_it_works(browser, site, artifacts, width):
    context = _context(browser, {"width": width, "height": 844})
    try:
        page = _open(context, site, "chapters/01_forward_pass.html")
        toggle = page.locator("button.primary-toggle:visible")
        assert toggle.count() == 1, "one visible menu button"
        toggle.click()
        dialog = page.locator("dialog#pst-primary-sidebar-modal[open]")
        dialog.wait_for(timeout=5000)
        link = dialog.locator("a.reference.internal[href*='02_losses']").first
        assert link.is_visible(), "the menu shows the chapters"
        page.screenshot(path=str(artifacts / f"phone-menu-{width}.png"))
        link.click()
        page.wait_for_url("**/chapters/02_losses.html*")
        assert page.locator("h1").first.inner_text().strip()
        # the contents button of the page (right sidebar) opens too
        page.locator("button.secondary-toggle:visible").click()
        page.locator("dialog#pst-secondary-sidebar-modal[open]").wait_for(timeout=5000)
    finally:
        context.close()


def test_the_desktop_menu_button_still_hides_the_sidebar(browser, site):
    context = _context(browser, DESKTOP)
    try:
        page = _open(context, site, "chapters/01_forward_pass.html")
        page.locator("button.primary-toggle:visible").click()
        page.wait_for_function("() => document.querySelector('#pst-primary-sidebar')"
                               ".classList.contains('pst-sidebar-hidden')")
        assert not page.locator("dialog#pst-primary-sidebar-modal[open]").count()
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_no_equation_or_printed_output_is_cut_off(browser, site, artifacts, viewport):
    context = _context(browser, viewport)
    problems, wide_eqs = [], []
    try:
        for path in MATH_PAGES:
            page = _open(context, site, path)
            found = page.evaluate(MEASURE)
            for eq in found["eqs"]:
                if eq["under_number"]:
                    problems.append(f"{path}: equation {eq['name']} runs under its number")
                if eq["wide"]:
                    wide_eqs.append(f"{path} {eq['name']}")
                    if not eq["scrolls"]:
                        problems.append(f"{path}: equation {eq['name']} is clipped (no scrollbar)")
            for out in found["outs"]:
                if out["wide"] and not out["scrolls"]:
                    problems.append(f"{path}: output {out['name']!r} is clipped (no scrollbar)")
                if out["wide"] and viewport is DESKTOP:
                    problems.append(f"{path}: output {out['name']!r} needs sideways scrolling on a desktop")
            if path == "chapters/07_cnn.html":                    # the pooling gradients (7.12)
                page.locator("#equation-eq-cnn-pool").scroll_into_view_if_needed()
                page.screenshot(path=str(artifacts / f"equation-7.12-{viewport['width']}px.png"))
            page.close()
    finally:
        context.close()
    if viewport is DESKTOP:                       # long equations are broken into lines on a desktop
        problems += [f"{e}: wider than the column on a desktop" for e in wide_eqs]
    assert not problems, "\n".join(problems)


def _figure_text_px(img, rendered_width):
    """The smallest text of a figure in CSS px at ``rendered_width``, from its PNG (dpi and the
    smallest font size in points that bpkit.plot.book_style writes into it)."""
    src = HTML / unquote(urlsplit(img["src"]).path).lstrip("/")
    with Image.open(src) as im:
        pt = im.info.get("bpkit-min-font-pt")
        dpi = im.info.get("dpi", (72, 72))[0]
        natural = im.width
    if pt is None:
        return None
    return float(pt) * dpi / 72 * rendered_width / natural


def _figures(page, site, path):
    imgs = page.evaluate("""() => [...document.querySelectorAll('article.bd-article img')]
        .filter(i => i.getAttribute('src') && !i.closest('.jupyter-widgets'))
        .map((i, k) => ({src: i.src, k, width: i.getBoundingClientRect().width,
                         number: i.closest('figure')?.querySelector('.caption-number')?.textContent.trim() || '',
                         enlargeable: i.classList.contains('bpfs-enlargeable')}))""")
    return [dict(i, src=i["src"].replace(site, "")) for i in imgs if i["src"].endswith(".png")]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_figure_text_is_legible(browser, site, artifacts, viewport):
    """At 1280 px every figure's text is at least 9 px as shown in the column. At 390 px the column
    shrinks wide figures, and a tap opens them at full size: there the text is at least 9 px."""
    context = _context(browser, viewport)
    problems, checked = [], 0
    try:
        for path, page in _each_page(context, site, FIGURE_PAGES):
            for img in _figures(page, site, path):
                if not img["enlargeable"]:
                    problems.append(f"{path}: figure {img['src']} does not open at full size")
                px_column = _figure_text_px(img, img["width"])
                if px_column is None:
                    problems.append(f"{path}: {img['src']} was not drawn in the book's figure style")
                    continue
                checked += 1
                if viewport is DESKTOP:
                    if px_column < MIN_FIGURE_TEXT_PX and (path, img["number"]) not in TOO_WIDE_FOR_THE_COLUMN:
                        problems.append(f"{path}: {img['src']}: text {px_column:.1f} px in the column")
                else:
                    figure = page.locator("article.bd-article img.bpfs-enlargeable").nth(
                        [i["src"] for i in _figures(page, site, path)].index(img["src"]))
                    figure.click()
                    viewer = page.locator("dialog.bpfs-figure-viewer[open] img")
                    viewer.wait_for()
                    full = viewer.evaluate("i => i.getBoundingClientRect().width")
                    px_full = _figure_text_px(img, full)
                    if checked == 1:
                        page.screenshot(path=str(artifacts / "figure-full-size-390px.png"))
                    page.keyboard.press("Escape")
                    page.locator("dialog.bpfs-figure-viewer[open]").wait_for(state="detached")
                    if px_full < MIN_FIGURE_TEXT_PX:
                        problems.append(f"{path}: {img['src']}: text {px_full:.1f} px at full size")
    finally:
        context.close()
    assert checked >= 20, f"only {checked} figures measured"
    assert not problems, "\n".join(problems)


EXERCISES = sorted(f"exercises/{p.name}" for p in (HTML / "exercises").glob("*.html"))
WIDGET_CELL = r"\b(NeuronExplorer|NetworkPlayground|LossExplorer|BackpropStepper|OptimizerRace|DepthExplorer|" \
              r"RegularizationLab|ConvolutionExplorer|GradientFlowExplorer|AutoencoderExplorer)\("


def test_every_exercise_widget_shows_its_picture(browser, site, artifacts):
    context = _context(browser, DESKTOP)
    problems, shown = [], 0
    try:
        for path, page in _each_page(context, site, EXERCISES):
            cells = page.evaluate(f"""() => [...document.querySelectorAll('div.cell')]
                .filter(c => new RegExp({WIDGET_CELL!r}).test(c.querySelector('.cell_input')?.textContent || ''))
                .map(c => c.querySelector('.cell_input').textContent.trim().split('\\n')[0].slice(0, 60))""")
            if not cells:
                continue
            try:
                page.wait_for_function(f"""() => [...document.querySelectorAll('div.cell')]
                    .filter(c => new RegExp({WIDGET_CELL!r}).test(c.querySelector('.cell_input')?.textContent || ''))
                    .every(c => [...c.querySelectorAll('.cell_output img')].some(i => i.complete && i.naturalWidth > 0
                                                                                     && i.alt.trim()))""",
                                       timeout=15000)
                shown += len(cells)
            except Exception:                                     # noqa: BLE001 - listed below
                problems.append(f"{path}: a widget without a picture among {cells}")
            if path == EXERCISES[0]:
                page.locator("div.cell_output .jupyter-widgets img").first.scroll_into_view_if_needed()
                page.screenshot(path=str(artifacts / "exercise-widget-1280px.png"))
    finally:
        context.close()
    assert shown >= len(EXERCISES), f"only {shown} widgets on {len(EXERCISES)} exercise pages"
    assert not problems, "\n".join(problems)


def test_printed_output_of_a_cell_is_one_box():
    """A table printed row by row is one block, not one grey box per row (nb_merge_streams)."""
    from bs4 import BeautifulSoup
    split = []
    for path in CHAPTERS:
        soup = BeautifulSoup((HTML / path).read_text(encoding="utf-8"), "html.parser")
        for out in soup.select("div.cell_output"):
            kinds = [" ".join(c.get("class", [])) for c in out.find_all("div", recursive=False)]
            if any(a == b and "stream" in a for a, b in zip(kinds, kinds[1:])):
                split.append(f"{path}: {out.get_text()[:60]!r}")
    assert not split, "\n".join(split)
