"""Step ``export``: ``grades/<assignment>.csv``, one row per student."""

import csv
from pathlib import Path

from nbgrader.api import MissingEntry

from ..verify.submission import review_reasons
from .cells import cell_key
from .gradebook import open_gradebook, roster
from .status import read_status

__all__ = ["export"]


def export(root, assignment, output=None):
    """Write ``grades/<assignment>.csv``: one row per student, per-task scores and a status.

    Columns: ``student_id, status, reason, score, max_score, review, review_reason,
    nbgrader_score, <one per test cell>, seed, notes``. Scores are empty unless
    the status is ``graded``. The per-task scores are the verified ones (scored
    outside the student's kernel, :mod:`course.verify`), unless the instructor
    entered a manual score; ``nbgrader_score`` is the in-kernel total. ``review``
    is ``yes`` when the two disagree, when the sandbox saw signs of tampering, or
    when a graded submission was not verified; ``review_reason`` says why.
    """
    root = Path(root)
    output = Path(output) if output else root / "grades" / f"{assignment}.csv"
    with open_gradebook(root) as gb:
        nbs = gb.find_assignment(assignment).notebooks
        cells = []  # in notebook order
        for nb in nbs:
            points = {c.name: c.max_score for c in nb.grade_cells}
            cells += [(nb.name, c.name, points[c.name]) for c in nb.source_cells if c.name in points]
        columns = [cell_key(n, c, len(nbs)) for n, c, _ in cells]
        rows = []
        for student in roster(root, assignment):
            status = read_status(root, assignment, student, gb)
            row = {"student_id": student, "status": status["status"], "reason": status.get("reason", ""),
                   "seed": status.get("seed", ""), "notes": " | ".join(status.get("notes", []))}
            verified = status.get("verified")
            if status["status"] == "graded":
                try:
                    gb.find_submission(assignment, student)
                except MissingEntry:
                    row.update(status="failed", reason="status says graded but the gradebook has no scores")
                else:
                    if (verified or {}).get("error"):  # nbgrader's scores alone cannot be trusted
                        row.update(status="failed", reason="could not be verified outside the student's kernel; "
                                                           "autograde it again")
                if row["status"] == "graded":
                    total = kernel = 0.0
                    checked = (verified or {}).get("scores", {})
                    for (nb, cell, _), column in zip(cells, columns):
                        grade = gb.find_grade(cell, nb, assignment, student)
                        score = grade.score
                        if grade.manual_score is None and column in checked:
                            score = checked[column]
                        row[column] = score
                        total += score
                        kernel += grade.auto_score or 0.0
                    row["score"], row["nbgrader_score"] = total, kernel
            if status["status"] != "missing":
                reasons = review_reasons(status.get("scores"), verified, row["status"])
                row["review"] = "yes" if reasons else ""
                row["review_reason"] = " | ".join(reasons)
            row["max_score"] = sum(m for *_, m in cells)
            rows.append(row)
    output.parent.mkdir(parents=True, exist_ok=True)
    fields = ["student_id", "status", "reason", "score", "max_score", "review", "review_reason",
              "nbgrader_score"] + columns + ["seed", "notes"]
    with open(output, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k, "")) for k in fields})
    return output, rows


def _fmt(value):
    if isinstance(value, float):
        return f"{value:g}"
    return value
