"""Sphinx extension for the course's book: offline MathJax, no duplicate scripts, named
sidebar toggles, and exercise pages that start with their title.

The website must work offline (and the browser smoke test must see no failed
requests), so the MathJax files come from the ``sphinx-mathjax-offline`` package on
PyPI. That package installs its files in a folder whose name has hyphens, so it cannot
be imported as a Sphinx extension; this one finds the files through the package's
metadata instead. Enabled in ``_config.yml`` under ``sphinx.extra_extensions``.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from sphinx.util.fileutil import copy_asset

DIST = "sphinx-mathjax-offline"


def mathjax_dir() -> Path:
    """The folder holding ``tex-chtml.js`` inside the installed distribution."""
    try:
        files = metadata.files(DIST) or []
    except metadata.PackageNotFoundError as err:
        raise RuntimeError(f"the book needs the {DIST} package: pip install -e '.[book]'") from err
    for f in files:
        if f.name == "tex-chtml.js" and "mathjax" in f.parts:
            return Path(f.locate()).parent
    raise RuntimeError(f"{DIST} is installed but holds no mathjax/tex-chtml.js")


def _copy_mathjax(app, exc) -> None:
    if exc is None and app.builder.format == "html":
        copy_asset(str(mathjax_dir()), str(Path(app.outdir) / "_static" / "mathjax"))


INLINE_SCRIPT = re.compile(r"^\s*<script>[^<]*</script>\s*$")


def dedupe_inline_scripts(html: str) -> str:
    """Keep the first copy of each identical one-line inline ``<script>`` of a page.

    With Jupyter Book 1 on Sphinx 7 some extensions' inline scripts appear twice in
    every page, among them sphinx-thebe's ``const THEBE_JS_URL = ...``, and the browser
    reports a SyntaxError for the second ``const``.

    >>> dedupe_inline_scripts("<script>const a = 1;</script>\\n<p>x</p>\\n<script>const a = 1;</script>\\n")
    '<script>const a = 1;</script>\\n<p>x</p>\\n'
    """
    seen, out = set(), []
    for line in html.splitlines(keepends=True):
        if INLINE_SCRIPT.match(line):
            if line.strip() in seen:
                continue
            seen.add(line.strip())
        out.append(line)
    return "".join(out)


SIDEBAR_TOGGLE = re.compile(r'(<a class="(?:current )?reference internal" href="[^"]*">([^<]*)</a>\s*<details[^>]*>\s*)<summary>')


def label_sidebar_toggles(html: str) -> str:
    """Give the sidebar's collapse buttons a name a screen reader can say.

    The theme's toggle for a chapter's sections is a ``<summary>`` holding only a chevron
    icon (``role="presentation"``), which axe reports as a serious violation
    (summary-name); this names it after the chapter it opens.

    >>> label_sidebar_toggles('<a class="reference internal" href="a.html">Tokens</a><details><summary><span>')
    '<a class="reference internal" href="a.html">Tokens</a><details><summary aria-label="Sections of Tokens"><span>'
    """
    return SIDEBAR_TOGGLE.sub(lambda m: f'{m.group(1)}<summary aria-label="Sections of {m.group(2)}">', html)


def _fix_pages(app, exc) -> None:
    if exc is None and app.builder.format == "html":
        for page in Path(app.outdir).rglob("*.html"):
            text = page.read_text(encoding="utf-8")
            fixed = label_sidebar_toggles(dedupe_inline_scripts(text))
            if fixed != text:
                page.write_text(fixed, encoding="utf-8")


SETUP_CELL = "colab_setup"  # nbgrader grade_id of every exercise's first cell (CONTRIBUTING.md)


def tidy_exercise(nb: dict) -> dict:
    """An exercise notebook as the website shows it: the title first, the set-up code folded.

    On the site an exercise is read, not run, so the Colab set-up cell (which only acts on
    Colab) is left out, and the locked code cells between the title and the first section
    (imports, reference data, feedback helpers) get ``hide-input``: the page shows a
    "Show code cell source" toggle instead of screens of helper code. The notebook a learner
    downloads or opens on Colab is not changed.

    >>> cell = lambda kind, src, gid, locked=True: {"cell_type": kind, "source": src, "metadata": {
    ...     "nbgrader": {"grade_id": gid, "locked": locked, "grade": False, "solution": False}}}
    >>> nb = {"cells": [cell("code", "import sys", "colab_setup"), cell("markdown", "# Exercise", "intro"),
    ...                 cell("code", "import torch", "imports"), cell("markdown", "## 1. Start", "md1"),
    ...                 cell("code", "x = 1", "later")]}
    >>> [(c["metadata"]["nbgrader"]["grade_id"], c["metadata"].get("tags")) for c in tidy_exercise(nb)["cells"]]
    [('intro', None), ('imports', ['hide-input']), ('md1', None), ('later', None)]
    """
    cells, out, preamble = nb.get("cells", []), [], True
    for cell in cells:
        meta = cell.get("metadata", {})
        grader = meta.get("nbgrader", {})
        source = "".join(cell.get("source", ""))
        if grader.get("grade_id") == SETUP_CELL:
            continue
        if cell.get("cell_type") == "markdown" and source.lstrip().startswith("## "):
            preamble = False  # the first section: from here on, everything is shown
        if (preamble and cell.get("cell_type") == "code" and grader.get("locked")
                and not grader.get("grade") and not grader.get("solution")):
            tags = meta.setdefault("tags", [])
            if "hide-input" not in tags:
                tags.append("hide-input")
            cell["metadata"] = meta
        out.append(cell)
    nb["cells"] = out
    return nb


def _tidy_exercise_source(app, docname: str, source: list[str]) -> None:
    """``source-read``: rewrite an exercise notebook's JSON before myst-nb parses it."""
    if not docname.startswith("exercises/") or not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    import json

    try:
        nb = json.loads(source[0])
    except ValueError:
        return  # not JSON: leave it to myst-nb, which reports it
    source[0] = json.dumps(tidy_exercise(nb))


def setup(app):
    mathjax_dir()  # fail early, with the install command, when the files are missing
    app.config.mathjax_path = "mathjax/tex-chtml.js"
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _fix_pages)
    app.connect("source-read", _tidy_exercise_source)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
