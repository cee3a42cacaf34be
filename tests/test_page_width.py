"""Chapter pages fit the site's content column: no code line wider than 88 characters.

The book's theme gives code about 88 characters before a block scrolls sideways, so a
wider line hides its end from the reader. This reads the MyST sources only (no execution).
"""

import re
from pathlib import Path

import pytest

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
WIDTH = 88

# An opening fence: indentation (a fence inside a list item), ``` or ~~~ (3 or more), info string.
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
# Directives whose body is shown as code; any other {directive} (literalinclude's options,
# figure, admonitions) holds markdown or options, which may nest code fences of their own.
CODE_DIRECTIVES = {"code-cell", "code-block", "code", "sourcecode"}


def code_lines(text: str):
    """Yield (line number, line) for each line inside a code cell or a displayed code fence.

    >>> list(code_lines("x\\n```python\\nprint(1)\\n```\\n"))
    [(3, 'print(1)')]
    """
    stack = []  # open fences, innermost last: (fence string, is code)
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if stack:
            fence, is_code = stack[-1]
            closing = (match and match["fence"][0] == fence[0]
                       and len(match["fence"]) >= len(fence) and not match["info"].strip())
            if closing:
                stack.pop()
                continue
            if is_code:
                yield number, line
                continue
        if match:
            info = match["info"].strip()
            name = re.match(r"\{([\w:-]+)\}", info)
            stack.append((match["fence"], name is None or name[1] in CODE_DIRECTIVES))


def too_wide(page: Path) -> list[str]:
    return [f"{page.name}:{number}: {len(line)} characters: {line.strip()[:60]}..."
            for number, line in code_lines(page.read_text(encoding="utf-8"))
            if len(line) > WIDTH]


def test_the_parser_finds_code_cells_and_fences_and_skips_prose_and_options():
    page = "\n".join([
        "A prose line " + "x" * 100,            # 1: prose wraps, not checked
        "```{code-cell} ipython3",             # 2
        ":tags: [hide-input]",                 # 3
        "y = 1",                               # 4
        "```",                                 # 5
        "````{note}",                          # 6: an admonition holds markdown ...
        "Note text " + "x" * 100,              # 7
        "```bash",                             # 8: ... and may nest a code fence
        "ls",                                  # 9
        "```",                                 # 10
        "````",                                # 11
        "```{literalinclude} ../lib/x.py",     # 12
        ":pyobject: f",                        # 13
        "```",                                 # 14
        "  ```",                               # 15: a plain fence inside a list item
        "  z = 2",                             # 16
        "  ```",                               # 17
    ])
    assert [n for n, _ in code_lines(page)] == [3, 4, 9, 16]


@pytest.mark.parametrize("page", sorted(CHAPTERS.glob("*.md")), ids=lambda p: p.name)
def test_code_lines_fit_the_column(page):
    assert not too_wide(page), "\n".join(too_wide(page))
