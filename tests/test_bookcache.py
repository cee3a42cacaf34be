"""groundup.bookcache executes pages into the cache that Jupyter Book then reads."""

import textwrap

import pytest

from groundup.bookcache import execute_pages, notebook_pages, stale_pages
from harness import ROOT

PAGE = textwrap.dedent("""\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---

    # A page

    ```{code-cell} ipython3
    print(6 * 7)
    ```
    """)


def test_every_chapter_page_is_a_notebook_page_and_nothing_else_is():
    pages = {p.relative_to(ROOT).as_posix() for p in notebook_pages(ROOT)}
    chapters = {p.relative_to(ROOT).as_posix() for p in (ROOT / "chapters").glob("ch[0-9][0-9]_*.md")
                if "{code-cell}" in p.read_text()}
    assert len(chapters) >= 14
    assert chapters <= pages, f"chapter pages the pre-executor would miss: {sorted(chapters - pages)}"
    for plain in ("chapters/references.md", "intro.md", "chapters/ch06_appendix.md"):  # plain Markdown
        assert plain not in pages


@pytest.mark.slow
def test_executed_page_is_found_by_the_cache_and_a_failing_page_is_left_to_the_build(tmp_path):
    good, bad = tmp_path / "good.md", tmp_path / "bad.md"
    good.write_text(PAGE)
    bad.write_text(PAGE.replace("print(6 * 7)", "raise RuntimeError('broken page')"))
    cache = tmp_path / "cache"
    assert stale_pages([good, bad], cache) == [good, bad]
    times = execute_pages([good, bad], cache, jobs=2, log=lambda m: None)
    assert times[str(bad)] is None and times[str(good)] > 0
    assert stale_pages([good, bad], cache) == [bad]  # the good page's outputs are cached, keyed by its code
    good.write_text(PAGE.replace("6 * 7", "6 * 8"))  # changed code: stale again
    assert stale_pages([good], cache) == [good]
