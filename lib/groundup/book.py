"""Sphinx extension for the course's book: offline MathJax, and no duplicate scripts.

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


def _dedupe_pages(app, exc) -> None:
    if exc is None and app.builder.format == "html":
        for page in Path(app.outdir).rglob("*.html"):
            text = page.read_text(encoding="utf-8")
            fixed = dedupe_inline_scripts(text)
            if fixed != text:
                page.write_text(fixed, encoding="utf-8")


def setup(app):
    mathjax_dir()  # fail early, with the install command, when the files are missing
    app.config.mathjax_path = "mathjax/tex-chtml.js"
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _dedupe_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
