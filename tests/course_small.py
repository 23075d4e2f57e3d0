"""A small course directory for the tests of the grading engine and the gradebook (issue 17).

:func:`new_course` copies ``nbgrader_config.py`` (optionally with a ``db_url``) and one
assignment's sources into a fresh directory and releases it; :func:`write_batch` writes a few
synthetic submissions (honest, faulty, a dead kernel, a corrupt file) into ``submitted/``;
:func:`export_table` runs the export and reads the CSV back.
"""

import csv
import shutil
from pathlib import Path

from corpora import synthetic

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "01_aggregators"
# student -> variant of corpora.synthetic: full marks, part marks, none, a failed one of each kind
BATCH = {"ada": "solution", "bo": "partial", "ed": "kernel-exit", "fi": "corrupt"}
TIMEOUT = 20  # seconds per cell


def new_course(dest, db_url=None, assignment=ASSIGNMENT):
    """A released course in ``dest`` with ``solutions/<assignment>`` only; returns ``dest``."""
    from course.cli import main
    dest = Path(dest)
    dest.mkdir(parents=True)
    config = (ROOT / "nbgrader_config.py").read_text()
    if db_url:
        config += f"\nc.CourseDirectory.db_url = {db_url!r}\n"
    (dest / "nbgrader_config.py").write_text(config)
    shutil.copytree(ROOT / "solutions" / assignment, dest / "solutions" / assignment)
    assert main(["--root", str(dest), "release", assignment]) == 0
    return dest


def write_batch(root, students=None, folder=None, assignment=ASSIGNMENT):
    """Write the synthetic submissions ``{student: variant}`` (default :data:`BATCH`).

    Into ``submitted/<student>/<assignment>/`` of ``root``, or into ``folder/<student>/``
    (an LMS-like download for ``collect --from``).
    """
    for student, variant in (students or BATCH).items():
        dest = Path(folder) / student if folder else Path(root) / "submitted" / student / assignment
        synthetic.write_submission(root, dest, assignment, variant)


def export_table(root, assignment=ASSIGNMENT):
    """Export ``assignment`` through the command line; return ``(header, {student: row})``."""
    from course.cli import main
    out = Path(root) / "grades" / f"{assignment}.csv"
    assert main(["--root", str(root), "export", assignment, "-o", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = {row["student_id"]: row for row in reader}
    return reader.fieldnames, rows
