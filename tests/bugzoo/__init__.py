"""The bug zoo: plausible wrong implementations of every graded function.

One module per chapter, named like the chapter (``ch01_tokens.py``), defines ``BUGS``:
``{function name: {bug name: source code}}``. Each source redefines the function the
way a learner plausibly gets it wrong. ``tests/test_bugzoo.py`` runs the chapter's
solution notebook with each bug in place of the right function and requires at least
one graded test cell to fail, and requires at least three bugs per graded function.
"""
