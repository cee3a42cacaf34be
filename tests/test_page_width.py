"""Chapter pages fit the site's content column: no code line wider than 88 characters.

The book's theme gives code about 88 characters before a block scrolls sideways, so a
wider line hides its end from the reader. This reads the MyST sources only (no execution).
The library objects a page shows with ``literalinclude`` + ``:pyobject:`` are held to the
same width, read from the library's source with ast (no import).
"""

import ast
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


# A page shows library code with ```{literalinclude} path + :pyobject: Name (or Class.method);
# Sphinx then shows the object's source, decorators included, at the library's own width.
# The fence may be indented (inside a list item), its options with it.
INCLUDE = re.compile(r"^[ \t]*```+\{literalinclude\}\s+(?P<path>\S+)[ \t]*\n"
                     r"(?P<options>(?:[ \t]*:[^\n]*\n)*)", re.MULTILINE)


def shown_objects(page: Path):
    """Yield (library file, dotted object name) for each ``:pyobject:`` include on a page."""
    for match in INCLUDE.finditer(page.read_text(encoding="utf-8")):
        options = dict(re.findall(r"^[ \t]*:([\w-]+):[ \t]*(.*)$", match["options"], re.MULTILINE))
        if "pyobject" in options:
            yield (page.parent / match["path"]).resolve(), options["pyobject"].strip()


def wide_object_lines(path: Path, dotted: str) -> list[str]:
    """Lines wider than WIDTH in the source of ``dotted`` (decorators included) in ``path``."""
    source = path.read_text(encoding="utf-8")
    body, node = ast.parse(source).body, None
    for part in dotted.split("."):  # Sphinx resolves Class.method by nesting, as here
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                       ast.ClassDef)) and n.name == part), None)
        assert node is not None, f"{path.name} has no {dotted!r} for a page to show"
        body = node.body
    start = min([d.lineno for d in node.decorator_list] + [node.lineno])
    lines = source.splitlines()
    return [f"{path.name}:{number}: {len(lines[number - 1])} characters in {dotted}"
            for number in range(start, node.end_lineno + 1) if len(lines[number - 1]) > WIDTH]


def test_wide_object_lines_counts_a_decorator_and_only_the_named_object(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("\n".join([
        "@decorate(" + "a" * 90 + ")",      # 1: part of f as shown
        "def f():",                           # 2
        "    pass",                           # 3
        "def g():",                           # 4
        "    return '" + "b" * 90 + "'",     # 5: g is not shown
    ]) + "\n")
    assert [line.split(":")[1] for line in wide_object_lines(source, "f")] == ["1"]
    source.write_text("class A:\n    def f(self):\n        return '" + "x" * 90 + "'\n")
    assert [line.split(":")[1] for line in wide_object_lines(source, "A.f")] == ["3"]


def test_shown_objects_reads_plain_and_indented_includes(tmp_path):
    page = tmp_path / "chapters" / "p.md"
    page.parent.mkdir()
    page.write_text("\n".join([
        "```{literalinclude} ../lib/a.py",
        ":pyobject: f",
        "```",
        "- item:",
        "  ```{literalinclude} ../lib/b.py",   # inside a list item
        "  :pyobject: B.g",
        "  ```",
        "```{literalinclude} ../lib/c.py",      # a whole file: no object to check
        "```",
    ]) + "\n")
    assert [(p.name, name) for p, name in shown_objects(page)] == [("a.py", "f"), ("b.py", "B.g")]


@pytest.mark.parametrize("page", sorted(CHAPTERS.glob("*.md")), ids=lambda p: p.name)
def test_library_code_shown_on_the_page_fits_the_column(page):
    wide = [line for path, name in shown_objects(page) for line in wide_object_lines(path, name)]
    assert not wide, "\n".join(wide)
