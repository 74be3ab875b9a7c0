"""The book on a desktop (1280 px) and a phone (390 px): navigation, equations, printed output, figures.

The pages are loaded once per width (the ``measured`` fixture), and each check lists every offender
in its message. Screenshots of the phone menu, equation (7.12) at both widths, a figure opened at full
size on a phone and an exercise widget go to the artifacts folder.
"""

from __future__ import annotations

import re
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

# Every display equation, printed output (stream, text result) and figure of a page, measured in
# place. "wide": its content is wider than its box; "scrolls": the box scrolls sideways (overflow-x
# auto); "under_number": the equation runs into its number.
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
  const figures = [...document.querySelectorAll("article.bd-article img")]
    .filter(i => (i.getAttribute("src") || "").endsWith(".png") && !i.closest(".jupyter-widgets"))
    .map(i => ({src: new URL(i.src).pathname, width: i.getBoundingClientRect().width,
                number: i.closest("figure")?.querySelector(".caption-number")?.textContent.trim() || "",
                enlargeable: i.classList.contains("bpfs-enlargeable")}));
  // code cells, folded ones opened: the code as the page lists it
  document.querySelectorAll("details.above-input, details.hide").forEach(d => { d.open = true; });
  const codes = [...document.querySelectorAll("div.cell_input pre")].map(c => ({
    name: c.textContent.trim().split("\\n")[0].slice(0, 60),
    wide: c.scrollWidth > c.clientWidth + 1, scrolls: scrolls(c), width: c.clientWidth,
    sections: [...document.querySelectorAll("section")].filter(x => x.contains(c)).map(x => x.id)}));
  return {eqs, outs, figures, codes};
}"""


def _open(context, site, path):
    page = context.new_page()
    page.goto(f"{site}/{path}", wait_until="load")
    if page.locator(".math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
    return page


def _each_page(context, site, paths):
    """Open each page in turn; yields ``(path, page)``."""
    for path in paths:
        page = _open(context, site, path)
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


SHOTS = [("chapters/03_chain_rule.html", "fig-cr-network", 1280), ("chapters/03_chain_rule.html", "fig-cr-stepper", 390),
         ("chapters/04_gradient_descent.html", "fig-race-animation", 390),
         ("chapters/07_cnn.html", "fig-cnn-windows", 1280), ("chapters/08_rnn.html", "fig-lstm-cell", 390)]


@pytest.fixture(scope="module")
def measured(browser, site, artifacts):
    """``{(width, path): MEASURE's result}`` for every page with maths or figures, at 1280 and 390 px,
    each page loaded once per width; and ``"viewer"``: the first figure opened at full size on a phone."""
    results = {}
    for viewport in (DESKTOP, PHONE):
        context = _context(browser, viewport)
        try:
            for path in sorted(set(MATH_PAGES) | set(FIGURE_PAGES)):
                page = _open(context, site, path)
                page.wait_for_function("() => [...document.images].every(i => i.complete)")
                results[viewport["width"], path] = page.evaluate(MEASURE)
                if path == "chapters/07_cnn.html":                    # the pooling gradients (7.12)
                    page.locator("#equation-eq-cnn-pool").scroll_into_view_if_needed()
                    page.screenshot(path=str(artifacts / f"equation-7.12-{viewport['width']}px.png"))
                for shot_path, figure, width in SHOTS:                 # the figures issue 15 redrew
                    if shot_path == path and width == viewport["width"]:
                        page.locator(f"figure#{figure}").scroll_into_view_if_needed()
                        page.locator(f"figure#{figure}").screenshot(
                            path=str(artifacts / f"{figure}-{width}px.png"))
                if viewport is PHONE and path == CHAPTERS[0]:
                    page.locator("article.bd-article img.bpfs-enlargeable").first.click()
                    viewer = page.locator("dialog.bpfs-figure-viewer[open] img")
                    viewer.wait_for()
                    results["viewer"] = viewer.evaluate("i => [i.getBoundingClientRect().width, i.naturalWidth]")
                    page.screenshot(path=str(artifacts / "figure-full-size-390px.png"))
                    page.keyboard.press("Escape")
                    page.locator("dialog.bpfs-figure-viewer[open]").wait_for(state="detached")
                page.close()
        finally:
            context.close()
    return results


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_no_equation_or_printed_output_is_cut_off(measured, viewport):
    problems, wide_eqs = [], []
    for path in MATH_PAGES:
        found = measured[viewport["width"], path]
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
    if viewport is DESKTOP:                       # long equations are broken into lines on a desktop
        problems += [f"{e}: wider than the column on a desktop" for e in wide_eqs]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_no_code_block_scrolls_on_a_desktop(measured, viewport):
    """At 1280 px every code cell fits its box (tests/test_book_code.py keeps lines within 76
    characters); on a phone code may scroll sideways, with a scrollbar."""
    problems, checked = [], 0
    for path in CHAPTERS:
        for code in measured[viewport["width"], path]["codes"]:
            checked += code["width"] > 0
            if code["wide"] and viewport is DESKTOP:
                problems.append(f"{path}: code block {code['name']!r} is wider than its box")
            if code["wide"] and not code["scrolls"]:
                problems.append(f"{path}: code block {code['name']!r} is clipped (no scrollbar)")
    assert not problems, f"{len(problems)} code blocks:\n" + "\n".join(problems)
    assert checked >= 200, f"only {checked} code blocks measured (folded ones are opened first)"


def _figure_text_px(src, rendered_width):
    """The smallest text of a figure in CSS px at ``rendered_width``, from its PNG (dpi and the
    smallest font size in points that bpkit.plot.book_style writes into it)."""
    with Image.open(HTML / unquote(src).lstrip("/")) as im:
        pt = im.info.get("bpkit-min-font-pt")
        dpi = im.info.get("dpi", (72, 72))[0]
        natural = im.width
    return None if pt is None else float(pt) * dpi / 72 * rendered_width / natural


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_figure_text_is_legible(measured, viewport):
    """At 1280 px every figure's text is at least 9 px as shown in the column. At 390 px the column
    shrinks wide figures, and a tap opens them at their natural size: there the text is at least 9 px."""
    problems, checked = [], 0
    if viewport is PHONE:
        shown, natural = measured["viewer"]
        assert abs(shown - natural) <= 1, f"the full-size view shows the figure {shown} px wide, not {natural}"
    for path in FIGURE_PAGES:
        for fig in measured[viewport["width"], path]["figures"]:
            if not fig["enlargeable"]:
                problems.append(f"{path}: figure {fig['src']} does not open at full size")
            if viewport is DESKTOP:
                px = _figure_text_px(fig["src"], fig["width"])
            else:
                with Image.open(HTML / unquote(fig["src"]).lstrip("/")) as im:
                    px = _figure_text_px(fig["src"], im.width)
            if px is None:
                problems.append(f"{path}: {fig['src']} was not drawn in the book's figure style")
                continue
            checked += 1
            if px < MIN_FIGURE_TEXT_PX:
                where = "in the column" if viewport is DESKTOP else "at full size"
                problems.append(f"{path}: {fig['number'] or fig['src']}: text {px:.1f} px {where}")
    assert checked >= 30, f"only {checked} figures measured"
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
    split = []
    for path in CHAPTERS:
        text = (HTML / path).read_text(encoding="utf-8")
        # two printed streams in a row inside one cell's output
        split += [f"{path}: {m.group(1)[:60]!r}" for m in re.finditer(
            r'<div class="output stream[^"]*"><div class="highlight"><pre><span></span>([^<]*)</pre></div>\s*</div>'
            r'\s*<div class="output stream', text)]
    assert not split, "\n".join(split)
