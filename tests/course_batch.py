"""A graded course directory built once per test session and shared by the pytest-xdist workers.

The course tests grade a whole batch of submissions with real nbgrader runs (tens of seconds);
every test then reads the results. :func:`shared_batch` builds the batch under a file lock the
first time any worker asks for it, and hands the same directory to everyone after that.
"""

import csv
import fcntl
import shutil
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def shared_batch(tmp_path_factory, name, build, done):
    """Directory ``name`` made by ``build(root)`` once per session; ``done`` marks it finished."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if base.name.startswith("popen-gw") else base  # common to all workers
    root = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / done).exists():
            if root.exists():
                shutil.rmtree(root)  # a half-built batch from an interrupted run
            build(root)
    return root


def export_rows(root, assignment):
    """The rows of ``grades/<assignment>.csv``, keyed by student id."""
    with open(root / "grades" / f"{assignment}.csv", newline="") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh)}


def solution_lines(assignment):
    """Distinctive lines (25+ characters) of the instructor's solutions, between the markers.

    A leak check looks for any of them in a release or in feedback.
    """
    lines = set()
    for path in (ROOT / "solutions" / assignment).glob("*.ipynb"):
        for cell in nbformat.read(str(path), as_version=4).cells:
            inside = False
            for line in cell.source.split("\n"):
                if "BEGIN SOLUTION" in line:
                    inside = True
                elif "END SOLUTION" in line:
                    inside = False
                elif inside and len(line.strip()) >= 25:
                    lines.add(line.strip())
    return lines


def grade_solution_and_release(root, assignment):
    """A course at ``root`` holding ``assignment`` alone, graded: the instructor's solution and the
    untouched release handed in by two students, autograded, feedback and export written.

    ``results.json`` (each student's status, reason and notes) is written last: pass
    ``done="results.json"`` to :func:`shared_batch`.
    """
    import json

    from corpora import synthetic
    from course.checks import DEFAULT_SEED
    from course.instructor.autograde import autograde
    from course.instructor.export import export
    from course.instructor.feedback import feedback
    from course.instructor.release import release

    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions" / assignment, root / "solutions" / assignment)
    release(root, [assignment])
    for student in ("solution", "release"):
        synthetic.write_submission(root, root / "submitted" / student / assignment, assignment, student)
    results = {}
    for r in autograde(root, [assignment], workers=2, seed=DEFAULT_SEED, progress=None):
        results[r.student] = {k: getattr(r, k) for k in ("status", "reason", "notes")}
    feedback(root, assignment)
    export(root, assignment)
    (root / "results.json").write_text(json.dumps(results))
