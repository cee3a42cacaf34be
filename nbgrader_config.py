"""nbgrader configuration: solutions/ is the instructors' source, exercises/ the release.

One assignment per chapter: solutions/ch01_tokens/ch01_tokens.ipynb is released as
exercises/ch01_tokens/ch01_tokens.ipynb by `make exercises`.
"""

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.course_id = "groundup"

# Training cells run longer than nbgrader's 30 s default.
c.ExecutePreprocessor.timeout = 600
# Bring back graded test cells a student deleted (nbgrader PR #1770).
c.OverwriteCells.add_missing_cells = True
