"""Sphinx extension for the course book: launch buttons that open notebooks which exist.

sphinx-book-theme builds the Binder, JupyterHub and Colab links of a page from the page's
own source file. A chapter's source is MyST Markdown (``chapters/NN_topic.md``): Colab
cannot open it at all, and Binder/JupyterHub open it as a text file. Every chapter has an
exercise notebook, ``exercises/NN_topic.ipynb``, which runs anywhere (its first cell
installs bpkit when it is missing), so on chapter pages the launch buttons open that
notebook, and say so. The reading version of the chapter stays one click away in the
download menu, as ``.ipynb`` (generated from the MyST source by the build) and ``.md``.

It adds ``widgets-mathjax3.js`` (from ``book/assets``), which lets the ipywidgets manager
typeset with MathJax 3, and removes a duplicated inline script: sphinx-thebe registers its configuration
(``const THEBE_JS_URL = ...``) once per build phase, and the second copy is a JavaScript
error ("Identifier 'THEBE_JS_URL' has already been declared") on every page.

It also adds ``book.css`` and ``book.js`` (from ``book/assets``): display equations and printed
output scroll inside the column, figures open at full size on click, and the sidebar buttons work on
phones and tablets (a theme bug, see the comment at the top of ``book.js``).

Also: the JupyterHub of the launch buttons can be set without editing ``_config.yml``,
with the environment variable ``BPFS_JUPYTERHUB_URL`` (e.g. ``BPFS_JUPYTERHUB_URL=https://hub.example.edu
make book``), so an instructor builds the book for their own hub.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

CHAPTER = re.compile(r"^chapters/(\d\d_[A-Za-z0-9_]+)$")
PROVIDERS = ("Binder", "JupyterHub", "Colab")


def _override_hub(app, config):
    url = os.environ.get("BPFS_JUPYTERHUB_URL", "").strip()
    if url:
        opts = dict(config.html_theme_options)
        launch = dict(opts.get("launch_buttons", {}))
        launch["jupyterhub_url"] = url
        opts["launch_buttons"] = launch
        config.html_theme_options = opts


def _exercise_launch_links(app, pagename, templatename, context, doctree):
    match = CHAPTER.match(pagename)
    if not match:
        return
    exercise = f"exercises/{match.group(1)}.ipynb"
    if not (Path(app.srcdir) / exercise).exists():
        return
    source = Path(app.env.doc2path(pagename)).relative_to(app.srcdir).as_posix()
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") in PROVIDERS and "url" in button:
                button["url"] = button["url"].replace(source, exercise)
                button["tooltip"] = f"Open this chapter's exercises on {button['text']}"


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", script) or "", repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    if "script_files" in context:
        context["script_files"][:] = kept


def setup(app):
    # MathJax 3 for the ipywidgets manager (book/assets/widgets-mathjax3.js explains why);
    # loaded before the widget manager and before MathJax runs (MathJax is deferred).
    app.add_js_file("widgets-mathjax3.js", priority=200)
    # book.css / book.js: equations and outputs that scroll inside the column, figures that
    # open at full size, and the phone navigation fix (each file says why).
    app.add_css_file("book.css")
    app.add_js_file("book.js", loading_method="defer")
    app.connect("config-inited", _override_hub)
    app.connect("html-page-context", _exercise_launch_links, priority=502)   # after the theme's 501
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
