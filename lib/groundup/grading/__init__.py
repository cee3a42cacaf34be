"""Autograding a class that may be hostile, over nbgrader.

``python -m groundup.course autograde <assignment>`` runs :func:`classroom.autograde`:
each submission is graded by ``nbgrader autograde`` in a scratch copy of its own
(``worker.py``), its kernel started under limits and, on Linux, in a bubblewrap sandbox
(``kernel.py``), its test cells sealed and guarded against tampering (``notebooks.py``,
``guard.py``), N submissions at a time; the results are merged into the course's
gradebook by the parent process alone, with a status per student in ``grades.csv``.
``collect.py`` turns LMS exports and Colab downloads into nbgrader's ``submitted/``.
The instructor's page of the book (``chapters/instructors.md``) walks through it.
"""
