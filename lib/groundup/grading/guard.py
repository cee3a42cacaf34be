"""Tamper evidence inside the student's kernel (imported by the cells the grader injects).

Student code runs in the same Python process as the tests, so it can try to make a test
pass without doing the work: redefine a helper the tests call (``expect_close = lambda
*a, **k: None``), patch a module the tests compare against
(``F.scaled_dot_product_attention = my_attention``), or register an IPython input
transformer that empties every later cell. The grader injects three things:

* a first cell, before anything the student can write, that calls :func:`start`: it
  records the functions and classes of the modules the locked cells import (and
  ``builtins``) and IPython's transformer lists;
* after each locked set-up cell, :func:`mark`: it records the names that cell bound
  (helpers, imports, reference models);
* at the top of each graded test cell, :func:`enter`: it compares everything against the
  record, **puts the originals back** (so the test runs against the real helpers and
  modules) and notes what was changed; at its end, a line printing a seal: a per-cell
  secret made by the grader (never the same for two cells or two runs) and
  :func:`report`. The grader counts a test cell's points only when its seal was printed,
  so a cell that was emptied or stopped early earns nothing, and any note makes the
  submission "tampered".

What this does not stop, and why it is enough here: code written against this module
(it is public, like the course) can still forge a seal, e.g. by replacing this module in
``sys.modules`` and rewriting each test cell to print the line it contains. That takes
deliberate code, which the grader's static scan of the student's cells flags
(``notebooks.suspicious_code``), and it leaves the evidence in the submitted notebook.
"""

from __future__ import annotations

import builtins
import importlib
import os
import sys
import types

_modules: dict[str, dict[str, object]] = {}   # module name -> {attribute: original object}
_classes: dict[type, dict[str, object]] = {}  # class -> {attribute: original object}
_names: dict[str, tuple[object, object]] = {}  # global name -> (object, its __code__ or None)
_transformers: dict[str, list] = {}            # IPython list attribute -> original entries
_notes: list[str] = []
# Names the kernel itself rebinds around every cell (ipykernel's input(), IPython's hooks).
KERNEL_MANAGED = {"builtins": {"input", "raw_input", "getpass", "display", "get_ipython", "exit", "quit"},
                  "sys": {"excepthook", "displayhook", "breakpointhook", "unraisablehook"},
                  "getpass": {"getpass"}}


def _shell():
    ip = getattr(builtins, "get_ipython", None)
    return ip() if ip else None


def _transformer_lists(shell) -> dict[str, list]:
    lists = {"input_transformers_cleanup": shell.input_transformers_cleanup,
             "input_transformers_post": shell.input_transformers_post,
             "ast_transformers": shell.ast_transformers}
    manager = getattr(shell, "input_transformer_manager", None)
    for name in ("cleanup_transforms", "line_transforms", "token_transformers"):
        if manager is not None and isinstance(getattr(manager, name, None), list):
            lists[f"input_transformer_manager.{name}"] = getattr(manager, name)
    return lists


def _callables(namespace: dict) -> dict[str, object]:
    return {k: v for k, v in namespace.items()
            if isinstance(v, (types.FunctionType, types.BuiltinFunctionType, type, types.ModuleType))
            or callable(v) and not isinstance(v, (int, float, str, bytes))}


def start(modules: list[str]) -> None:
    """Record the original state (run before any student code)."""
    _modules.clear(), _classes.clear(), _names.clear(), _notes.clear()
    for name in ["builtins", *modules]:
        try:
            module = importlib.import_module(name)
        except Exception:  # a module the notebook would fail to import anyway
            continue
        skip = KERNEL_MANAGED.get(name, set())
        _modules[name] = {k: v for k, v in _callables(vars(module)).items() if k not in skip}
    torch = sys.modules.get("torch")
    if torch is not None:
        for cls in (torch.Tensor, torch.nn.Module):
            for klass in cls.__mro__[:-1]:
                _classes[klass] = dict(vars(klass))
    shell = _shell()
    if shell is not None:
        _transformers.update({k: list(v) for k, v in _transformer_lists(shell).items()})


def mark(namespace: dict, names: list[str]) -> None:
    """Record the helpers (functions, classes, modules) that a locked cell bound to ``names``.

    Data (tensors, models, numbers) is left out: test cells rebind such names themselves.
    """
    for name in names:
        obj = namespace.get(name)
        if isinstance(obj, (types.FunctionType, type, types.ModuleType, types.BuiltinFunctionType)):
            _names[name] = (obj, getattr(obj, "__code__", None))


def enter(cell: str, namespace: dict) -> None:
    """Before a graded test: undo and note every change to what was recorded."""
    del _notes[:]
    for name, original in _modules.items():
        module = sys.modules.get(name)
        if module is None:
            continue
        current = vars(module)
        for attr, obj in original.items():
            now = current.get(attr, _MISSING)
            if now is obj:
                continue
            if _library_wrapper(now, obj):
                original[attr] = now
                continue
            _notes.append(f"{name}.{attr} was replaced")
            setattr(module, attr, obj)
    for klass, original in _classes.items():
        for attr, obj in original.items():
            if klass.__dict__.get(attr, _MISSING) is not obj:
                _notes.append(f"{klass.__qualname__}.{attr} was replaced")
                try:
                    setattr(klass, attr, obj)
                except (TypeError, AttributeError):
                    pass
    for name, (obj, code) in _names.items():
        if namespace.get(name, _MISSING) is not obj:
            _notes.append(f"{name} (defined by a locked cell) was redefined")
            namespace[name] = obj
        elif code is not None and getattr(obj, "__code__", None) is not code:
            _notes.append(f"the code of {name} (defined by a locked cell) was replaced")
            obj.__code__ = code
    shell = _shell()
    if shell is not None and _transformers:
        for attr, current in _transformer_lists(shell).items():
            original = _transformers.get(attr, [])
            extra = [t for t in current if t not in original]
            if extra:
                _notes.append(f"an IPython input transformer was registered ({attr})")
                current[:] = original
    if _notes:  # printed now, so that a test that then fails still shows it
        print(f"GU-GUARD {cell}: " + "; ".join(_notes))


def _library_wrapper(new, old) -> bool:
    """A wrapper an installed library put around ``old`` (``torch._dynamo`` wraps
    ``torch.manual_seed`` when first imported): its code lives in an installed file.

    A student's function has its code in the kernel's cells (``<ipython-input-...>`` or a
    temporary file); making one that claims an installed file takes ``compile`` or
    ``CodeType``, which the static scan flags.
    """
    code = getattr(new, "__code__", None)
    if getattr(new, "__wrapped__", None) is not old or code is None:
        return False
    prefixes = tuple({sys.prefix, sys.base_prefix})
    return code.co_filename.startswith(prefixes) and os.path.isfile(code.co_filename)


class _Missing:
    pass


_MISSING = _Missing()


def report() -> str:
    """``clean``, or what :func:`enter` found changed before this cell."""
    return "clean" if not _notes else "tampered: " + "; ".join(_notes)
