"""The course machinery: hidden checks (:mod:`course.checks`), nbgrader plug-ins and the
instructor's command line (``python -m course``).

The package is for instructors and graders; students only meet it through the one-line
hidden test cells of the exercise notebooks.
"""
