"""The course machinery, by role (see DESIGN.md):

- :mod:`course.checks`: the hidden checks, what student code is graded against;
- :mod:`course.verify`: out-of-kernel verification of each submission in a sandbox;
- :mod:`course.instructor`: the nbgrader pipeline, one module per step;
- :mod:`course.cli`: the instructor's command line (``python -m course``);
- :mod:`course.selfcheck`: the learner's offline self-check (``python -m course check``).

The package is for instructors and graders; students only meet it through the one-line
hidden test cells of the exercise notebooks.
"""
