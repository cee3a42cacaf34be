"""Independent bug zoos: wrong implementations written from the learner's view only.

Each ``chNN_topic.py`` holds ``BUGS = {function: {name: source}}``, the format of
``tests/bugzoo/``, but written by someone who read only the released exercise (task text
and visible tests) and the chapter page, never the hidden tests. ``benchmarks.bugzoo_fresh``
measures what share the graded tests catch; bugs that exposed a gap move to ``tests/bugzoo/``
once the hidden tests close it.
"""
