"""Notebook surgery for grading: check, restore, instrument, read back, clean for feedback.

All of it runs in the grader's own process on notebook JSON; no student code runs here.

* :func:`check` says why a file is not a gradable notebook (bad JSON, empty, invalid).
* :func:`restore` rebuilds a submission against the release: every locked cell and test
  cell is the released one (a deleted one is put back after the nearest released cell
  before it, wherever that is; one changed to markdown or edited is replaced), solution
  cells keep the student's code, the student's own cells stay where they were. Every
  change is named in the returned notes.
* :func:`instrument` turns the instructor's source notebook into the grading source: the
  guard calls of ``guard.py`` and a per-cell seal around every graded test cell, and the
  instructor's private hidden tests merged in.
* :func:`seals` reads each test cell's seal back from the autograded notebook;
  :func:`for_feedback` puts back the released test code (no hidden tests, no seals) and
  keeps only the learner-facing message of each failure.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import hmac
import re

import nbformat

GUARD_IMPORT = "import groundup.grading.guard as _gu_guard"
SEAL_PREFIX = "GU-SEAL"


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test(cell) -> bool:
    """A graded test cell: graded, not a solution, code."""
    m = meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not m.get("solution")


def is_locked_code(cell) -> bool:
    m = meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("locked")) and not m.get("grade") and not m.get("solution")


def check(path) -> str:
    """Why ``path`` cannot be graded, or '' when it can."""
    try:
        if path.stat().st_size == 0:
            return f"{path.name} is an empty file"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # NotJSONError, ValidationError, UnicodeDecodeError, ...
        return f"{path.name} is not a valid notebook ({type(err).__name__}: {str(err)[:200]})"
    return ""


# ----------------------------------------------------------------------------- restore

def restore(student, release, template=None) -> tuple[nbformat.NotebookNode, list[str]]:
    """The submission rebuilt on the release; returns (notebook, notes naming each change).

    ``release`` is what students got (changes are measured against it); ``template``, the
    grader's instrumented release, supplies the cells put in place (default: ``release``).
    """
    template = template or release
    released = {meta(c)["grade_id"]: c for c in release.cells if meta(c).get("grade_id")}
    insert = {meta(c)["grade_id"]: c for c in template.cells if meta(c).get("grade_id")}
    order = [meta(c)["grade_id"] for c in release.cells if meta(c).get("grade_id")]
    notes: list[str] = []
    out: list = []
    seen: set[str] = set()

    def fresh(gid):
        cell = copy.deepcopy(insert[gid])
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        return cell

    for cell in student.cells:
        gid = meta(cell).get("grade_id")
        if gid is None:
            out.append(_plain(cell))
            continue
        if gid not in released or gid in seen:
            why = "a copy of" if gid in seen else "unknown to"
            notes.append(f"cell {gid!r} is {why} the release: run, not graded")
            plain = _plain(cell)
            plain.metadata.pop("nbgrader", None)
            out.append(plain)
            continue
        seen.add(gid)
        ref = released[gid]
        kind = "test cell" if is_test(ref) else "locked cell"
        if meta(ref).get("solution"):
            if cell.cell_type != ref.cell_type:
                notes.append(f"solution cell {gid!r} was changed to {cell.cell_type}: the released stub is graded")
                out.append(fresh(gid))
            else:
                mine = fresh(gid)
                mine.source = cell.source
                out.append(mine)
        else:
            if cell.cell_type != ref.cell_type:
                notes.append(f"{kind} {gid!r} was changed to {cell.cell_type}: restored")
            elif _visible(cell.source) != _visible(ref.source):
                notes.append(f"{kind} {gid!r} was edited: restored")
            out.append(fresh(gid))
    # Put back every released cell that is missing, after the nearest one before it.
    for i, gid in enumerate(order):
        if gid in seen:
            continue
        ref = released[gid]
        kind = ("test cell" if is_test(ref) else "solution cell" if meta(ref).get("solution")
                else "locked cell")
        notes.append(f"{kind} {gid!r} was deleted: restored" + (" (the released stub)" if kind == "solution cell" else ""))
        at = 0
        for prev in reversed(order[:i]):
            pos = next((j for j, c in enumerate(out) if meta(c).get("grade_id") == prev), None)
            if pos is not None:
                at = pos + 1
                break
        out.insert(at, fresh(gid))
        seen.add(gid)
    nb = copy.deepcopy(release)
    nb.cells = out
    return nb, notes


def _visible(source: str) -> str:
    """A test cell's source without its hidden tests (a student never has them)."""
    return re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", "", source, flags=re.S).strip()


def _plain(cell):
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


# ----------------------------------------------------------------------------- instrument

def seal_token(secret: bytes, cell: str) -> str:
    """The seal of one test cell in one run: HMAC(secret, grade_id), so cells differ."""
    return hmac.new(secret, cell.encode(), hashlib.sha256).hexdigest()[:32]


def python_source(source: str) -> str:
    """Cell source as Python (IPython magics translated), for ``ast``."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def bound_names(source: str) -> list[str]:
    """Top-level names a cell binds: imports, functions, classes, assignments."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return sorted(set(names) - {"_", "__"})


def imported_modules(source: str) -> list[str]:
    """Modules a cell imports (``import torch.nn.functional as F`` -> torch, torch.nn, ...)."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                found += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


def parse_private_tests(text: str) -> dict[str, str]:
    """A private tests file: ``# %% <grade_id>`` starts the extra hidden tests of one cell."""
    blocks: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"#\s*%%\s*([A-Za-z0-9_-]+)\s*$", line)
        if m:
            current = m.group(1)
            if current in blocks:
                raise ValueError(f"private tests: cell {current!r} appears twice")
            blocks[current] = []
        elif current is not None:
            blocks[current].append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            raise ValueError("private tests: code before the first '# %% <grade_id>' line")
    return {k: "\n".join(v).strip("\n") for k, v in blocks.items()}


def instrument(source, secret: bytes, private: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The grading source: guard calls, per-cell seals, private hidden tests merged in."""
    nb = copy.deepcopy(source)
    private = dict(private or {})
    tests = {meta(c).get("grade_id") for c in nb.cells if is_test(c)}
    unknown = set(private) - tests
    if unknown:
        raise ValueError(f"private tests name cells that are not graded test cells: {sorted(unknown)}; "
                         f"graded test cells: {sorted(tests)}")
    # Names test cells bind themselves are theirs to rebind; the guard watches the others.
    rebound = {n for c in nb.cells if is_test(c) for n in bound_names(c.source)}
    for cell in nb.cells:
        gid = meta(cell).get("grade_id")
        names = [n for n in bound_names(cell.source) if n not in rebound] if is_locked_code(cell) else []
        if names:
            cell.source = cell.source.rstrip("\n") + f"\n{GUARD_IMPORT}; _gu_guard.mark(globals(), {names!r})"
        elif is_test(cell):
            body = cell.source.rstrip("\n")
            if gid in private:
                body += f"\n### BEGIN HIDDEN TESTS\n{private[gid]}\n### END HIDDEN TESTS"
            cell.source = (f"{GUARD_IMPORT}; _gu_guard.enter({gid!r}, globals())\n{body}\n"
                           f"print({SEAL_PREFIX + ' ' + seal_token(secret, gid) + ' '!r} + _gu_guard.report(), flush=True)")
    return nb


def guard_cell(source) -> nbformat.NotebookNode:
    """The first cell of every graded notebook: record the state before student code runs."""
    modules: list[str] = []
    for cell in source.cells:
        if cell.cell_type == "code" and (is_locked_code(cell) or is_test(cell)):
            modules += [m for m in imported_modules(cell.source) if m not in modules]
    return nbformat.v4.new_code_cell(f"{GUARD_IMPORT}\n_gu_guard.start({modules!r})")


# ----------------------------------------------------------------------------- static scan

# Code no exercise needs and every known cheat uses: reaching into the kernel, the import
# system, the grader, other files, or the instructor's folders.
SUSPICIOUS = {
    r"\bget_ipython\b|\binput_transformers|\bast_transformers|\bevents\.register": "reaches into IPython",
    r"\bsys\.modules\b|\bimportlib\b|__import__|\bsys\.path\b|\bsys\.meta_path\b": "changes the import system",
    r"\bbuiltins\b|__builtins__": "changes Python's built-ins",
    r"groundup\.grading|_gu_guard|GU-SEAL": "reaches into the grader",
    r"__code__|__closure__|\bgc\.get_|\bctypes\b|\binspect\.(currentframe|stack)|\bCodeType\b"
    r"|(?<![.\w])(compile|exec|eval)\s*\(": "rewrites running code",
    r"\b_ih\b|\b_oh\b|\bIn\s*\[|\bOut\s*\[": "reads the notebook's history",
    r"gradebook|solutions/|\bnbgrader\b": "reaches for the grader's files",
    r"\bos\.(fork|setsid|kill|system|exec\w*)\b|\bsubprocess\b|\bmultiprocessing\b": "starts processes",
    r"\bsocket\b|\burllib\b|\brequests\b": "uses the network",
}


def suspicious_code(nb) -> list[str]:
    """Notes on student-written cells (solution cells and added cells) that use what no exercise needs."""
    notes = []
    for i, cell in enumerate(nb.cells):
        m = meta(cell)
        if cell.cell_type != "code" or (m.get("grade_id") and not m.get("solution")):
            continue
        where = m.get("grade_id") or f"added cell {i}"
        for pattern, what in SUSPICIOUS.items():
            hit = re.search(pattern, cell.source)
            if hit:
                notes.append(f"{where} {what} ({hit.group(0)!r})")
    return notes


# ----------------------------------------------------------------------------- read back

def _text(output) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text


def merged_streams(outputs: list) -> list:
    """``outputs`` with consecutive stream outputs of the same name joined into one.

    The kernel sends stdout in pieces whenever its buffer is flushed, and on a loaded machine
    a flush can fall inside one ``print``: a seal line then arrives as two outputs
    ("GU-SEAL <token>" and " clean\n"), which a line-by-line reader must see as one line.
    """
    merged: list = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and last is not None and last.get("output_type") == "stream"
                and last.get("name") == output.get("name")):
            last["text"] = _text(last) + _text(output)
        else:
            merged.append(copy.deepcopy(output))
    return merged


def seals(nb, secret: bytes) -> dict[str, str | None]:
    """grade_id -> the guard's report printed with the cell's own seal, or None (no seal).

    The seal is looked for in the cell's outputs and in those of the cells after it: on a
    loaded machine the kernel can deliver a cell's last line of stdout after the cell has
    ended, and nbclient files it under the next cell. Only the cell's own last line can
    print its token (an HMAC under this run's secret), wherever the line lands.
    """
    found: dict[str, str | None] = {}
    cells = nb.cells
    for index, cell in enumerate(cells):
        if not is_test(cell):
            continue
        gid = meta(cell)["grade_id"]
        token = f"{SEAL_PREFIX} {seal_token(secret, gid)} "
        found[gid] = None
        for later in cells[index:]:
            for output in merged_streams(later.get("outputs", [])):
                if output.get("output_type") == "stream" and output.get("name") == "stdout":
                    for line in _text(output).splitlines():
                        if line.startswith(token):
                            found[gid] = line[len(token):].strip()
            if found[gid] is not None:
                break
    return found


GUARD_PREFIX = "GU-GUARD"
TIMEOUTS = ("CellTimeoutError", "KeyboardInterrupt")  # the grader interrupts a cell past its limit
NOT_RUN = "CellNotRun"  # cells after one whose kernel ignored the interrupt (runner.py)


def guard_notes(nb) -> dict[str, str]:
    """grade_id -> what the guard undid before that test cell (it prints it first thing)."""
    found = {}
    for cell in nb.cells:
        if is_test(cell):
            gid = meta(cell)["grade_id"]
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream":
                    for line in _text(output).splitlines():
                        if line.startswith(f"{GUARD_PREFIX} {gid}: "):
                            found[gid] = line.split(": ", 1)[1]
    return found


def failures(nb) -> dict[str, str]:
    """grade_id -> 'ename: evalue' for each graded test cell that raised."""
    out = {}
    for cell in nb.cells:
        if is_test(cell):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            errors.sort(key=lambda o: o.get("ename") not in TIMEOUTS)  # a timeout is the cause
            if errors:
                out[meta(cell)["grade_id"]] = f"{errors[0].get('ename')}: {errors[0].get('evalue')}"
    return out


def _cap(outputs: list, limit: int) -> list:
    """Outputs cut to ``limit`` bytes in all (text cut, large rich outputs dropped)."""
    kept, used = [], 0
    for output in outputs:
        size = len(str(output).encode())
        if used + size <= limit:
            kept.append(output)
            used += size
            continue
        if output.get("output_type") == "stream":
            room = max(0, limit - used)
            output = copy.deepcopy(output)
            output["text"] = _text(output)[:room]
            kept.append(output)
        note = f"[output cut at {limit} bytes by the grader]\n"
        kept.append(nbformat.v4.new_output("stream", name="stdout", text=note))
        break
    return kept


def for_feedback(graded, release, output_bytes: int) -> nbformat.NotebookNode:
    """The autograded notebook as a student may see it: released test code, learner-facing messages.

    Graded test cells and locked cells get the released source back (no hidden tests,
    no guard calls, no seals); a failure keeps ``ename: evalue`` (the message the
    ``groundup.checks`` helpers write for a learner) but not its traceback, which quotes
    hidden test code; the grader's first cell goes; outputs are capped at
    ``output_bytes`` bytes per cell.
    """
    nb = copy.deepcopy(graded)
    released = {meta(c)["grade_id"]: c for c in release.cells if meta(c).get("grade_id")}
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith(GUARD_IMPORT + "\n_gu_guard.start("):
            continue
        gid = meta(cell).get("grade_id")
        if gid in released and not meta(cell).get("solution"):
            cell.source = released[gid].source
        if cell.cell_type == "code":
            outputs = []
            for output in merged_streams(cell.get("outputs", [])):
                if output.get("output_type") == "stream":
                    lines = [l for l in _text(output).splitlines(keepends=True)
                             if not l.startswith((SEAL_PREFIX + " ", GUARD_PREFIX + " "))]
                    if not lines:
                        continue
                    output["text"] = "".join(lines)
                elif output.get("output_type") == "error" and is_test(cell):
                    output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
                outputs.append(output)
            cell.outputs = _cap(outputs, output_bytes)
        cells.append(cell)
    nb.cells = cells
    return nb
