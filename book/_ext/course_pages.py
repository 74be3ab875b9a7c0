"""Sphinx extension for the course book: launch buttons that open notebooks which exist.

sphinx-book-theme builds the Binder, JupyterHub and Colab links of a page from the page's
own source file. A chapter's source is MyST Markdown (``chapters/NN_topic.md``): Colab
cannot open it at all, and Binder/JupyterHub open it as a text file. Every chapter has an
exercise notebook, ``exercises/NN_topic.ipynb``, which runs anywhere (its first cell
installs bpkit when it is missing), so on chapter pages the launch buttons open that
notebook, and say so. The reading version of the chapter stays one click away in the
download menu, as ``.ipynb`` (generated from the MyST source by the build) and ``.md``.

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


def setup(app):
    app.connect("config-inited", _override_hub)
    app.connect("html-page-context", _exercise_launch_links, priority=502)   # after the theme's 501
    return {"parallel_read_safe": True, "parallel_write_safe": True}
