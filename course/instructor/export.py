"""Step ``export``: ``grades/<assignment>.csv`` per assignment, and the LMS's import sheet.

:func:`export` writes one row per student of one assignment (status, reason, scores per
task, review, lateness, seed, names). :func:`export_all` writes the grades of every graded
assignment in the import format of the LMS: the Canvas gradebook CSV (one sheet for the
course) or Moodle's grading worksheet (one per assignment, as Moodle imports them).
"""

import csv
import time
from pathlib import Path

from nbgrader.api import MissingEntry

from ..verify.submission import review_reasons
from ..cells import cell_key
from .collect import expected_notebooks, load_collected
from .gradebook import has_gradebook, open_gradebook, roster
from .release import assignments
from .roster import load_roster
from .status import STATUS_DIR, read_status, status_path
from .tools import PipelineError

__all__ = ["export", "export_all", "assignment_rows", "UNSCORED", "CANVAS_COLUMNS", "MOODLE_COLUMNS"]

UNSCORED = ("blank", "zero")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                  "Feedback comments"]


def _submitted_names(root, assignment, student):
    folder = Path(root) / "submitted" / student / assignment
    return sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else None


def _missing_reason(root, assignment, student):
    names = _submitted_names(root, assignment, student)
    if names is None:
        return f"submitted nothing for {assignment}"
    return f"the submission for {assignment} holds no notebook"


def _clear_reason(root, assignment, student, reason):
    """nbgrader's reason, or the real one when the notebook names do not fit the assignment."""
    names = _submitted_names(root, assignment, student) or []
    try:
        expected = expected_notebooks(root, assignment)
    except PipelineError:
        return reason
    extra = [n for n in names if n not in expected]
    lacking = [n for n in expected if n not in names]
    if extra and lacking:
        return (f"notebook {', '.join(f'`{n}`' for n in extra)} is not part of {assignment}; expected "
                f"{', '.join(lacking)} (rename it, or collect with python -m course collect/zip-collect, "
                f"which matches a single notebook)")
    return reason


def moodle_participants(root, assignment, stored=None):
    """Participant ids of ``assignment`` if it came from Moodle (worksheet or download), else empty."""
    stored = load_roster(root) if stored is None else stored
    ids = set(stored.get("moodle", {}).get(assignment, {}))
    return ids | {i for i, r in load_collected(root, assignment).items() if r.get("lms") == "moodle"}


def students_of(root, assignment, stored=None):
    """The students who get a row in the export of ``assignment``.

    Everyone in the gradebook or with a submission, except that Moodle numbers participants
    per assignment: a Moodle assignment's rows are its own participants (and anyone who
    submitted), and the participant ids of other Moodle assignments are not students of this one.
    """
    root = Path(root)
    stored = load_roster(root) if stored is None else stored
    submitted = {p.parent.name for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir()}
    own = moodle_participants(root, assignment, stored)
    if own:
        return sorted(own | submitted)
    names = {p.parent.name for p in (root / "downloaded").glob("*/collected.json")}
    others = set()
    for a in names | set(stored.get("moodle", {})):
        if a != assignment:
            others |= moodle_participants(root, a, stored)
    return sorted(s for s in roster(root, assignment) if s not in others or s in submitted)


def _graded_at(root, assignment, student):
    """When the result in use was graded: the files of ``autograded/<student>/<assignment>/`` are
    written anew by each successful grading (a failed re-grade that keeps the previous result
    leaves them), else the status record; ``inf`` when neither exists."""
    folder = Path(root) / "autograded" / student / assignment
    times = [p.stat().st_mtime for p in folder.glob("*") if p.is_file()] if folder.is_dir() else []
    record = status_path(root, assignment, student)
    if not times and record.exists():
        times = [record.stat().st_mtime]
    return max(times) if times else float("inf")


def assignment_rows(root, assignment):
    """``(rows, columns, max_score)`` of ``assignment``: one dict per student (see :func:`export`)."""
    root = Path(root)
    collected = load_collected(root, assignment)
    lms = load_roster(root)
    late_lms = lms.get("moodle", {}).get(assignment, {})
    with open_gradebook(root) as gb:
        try:
            nbs = gb.find_assignment(assignment).notebooks
        except MissingEntry:
            raise PipelineError(f"{assignment!r} is not in the gradebook; run python -m course release "
                                f"{assignment} (and autograde) first") from None
        cells = []  # in notebook order
        for nb in nbs:
            points = {c.name: c.max_score for c in nb.grade_cells}
            cells += [(nb.name, c.name, points[c.name]) for c in nb.source_cells if c.name in points]
        columns = [cell_key(n, c, len(nbs)) for n, c, _ in cells]
        people = {s.id: s for s in gb.students}
        rows = []
        for student in students_of(root, assignment, lms):
            status = read_status(root, assignment, student, gb)
            record = collected.get(student, {})
            person = people.get(student)
            notes = list(status.notes)
            row = {"student_id": student, "status": status.status, "reason": status.reason,
                   "seed": "" if status.seed is None else status.seed,
                   "first_name": (person.first_name if person else "") or "",
                   "last_name": (person.last_name if person else "") or "",
                   "email": (person.email if person else "") or "",
                   "lms_name": record.get("name", ""),
                   "late": "yes" if record.get("late") or late_lms.get(student, {}).get("late") else ""}
            if not (row["first_name"] or row["last_name"]) and record.get("name"):
                row["last_name"] = record["name"]  # the LMS's name when the roster was not imported
            if record.get("notes"):
                notes = [f"collect: {n}" for n in record["notes"]] + notes
            if record.get("kept_aside"):
                notes.append(f"collect: kept aside (not graded): {', '.join(record['kept_aside'])} "
                             f"in downloaded/{assignment}/kept-aside/{student}/")
            row["notes"] = " | ".join(notes)
            verified = status.verified
            stale = bool(record.get("collected_epoch")) \
                and record["collected_epoch"] > _graded_at(root, assignment, student)
            if stale:  # the result in use is of an earlier file (or of none), never shown for this one
                row.update(status="failed", reason=f"a newer submission (`{record.get('file')}` from "
                           f"{record.get('archive')}) was collected after grading; autograde it again "
                           f"(--student {student})")
            elif status.status == "missing":
                row["reason"] = _missing_reason(root, assignment, student)
            elif status.status == "failed":
                row["reason"] = _clear_reason(root, assignment, student, row["reason"])
            elif status.status == "graded":
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
                    manual = []
                    checked = (verified or {}).get("scores", {})
                    for (nb, cell, _), column in zip(cells, columns):
                        grade = gb.find_grade(cell, nb, assignment, student)
                        score = grade.score
                        if grade.manual_score is None and column in checked:
                            score = checked[column]
                        if grade.manual_score is not None:
                            manual.append(column)
                        row[column] = score
                        total += score
                        kernel += grade.auto_score or 0.0
                    row["score"], row["nbgrader_score"] = total, kernel
                    row["manual"] = " ".join(manual)
            if row["status"] != "missing" and not stale:
                reasons = review_reasons(status.scores, verified, row["status"])
                row["review"] = "yes" if reasons else ""
                row["review_reason"] = " | ".join(reasons)
            row["max_score"] = sum(m for *_, m in cells)
            rows.append(row)
    return rows, columns, sum(m for *_, m in cells)


def export(root, assignment, output=None):
    """Write ``grades/<assignment>.csv``: one row per student, per-task scores and a status.

    Columns: ``student_id, status, reason, score, max_score, late, review, review_reason,
    nbgrader_score, <one per test cell>, manual, first_name, last_name, email, seed, notes``.
    Scores are empty unless the status is ``graded``. The per-task scores are the verified
    ones (scored outside the student's kernel, :mod:`course.verify`), unless the instructor
    entered a manual score; ``manual`` lists those tasks. ``nbgrader_score`` is the
    in-kernel total. ``review`` is ``yes`` when the two disagree, when the sandbox saw signs
    of tampering, or when a graded submission was not verified; ``review_reason`` says why.
    ``late`` is ``yes`` when the LMS marked the submission late (no penalty is applied).
    ``notes`` also says what the collect step did (a renamed notebook, files kept aside).
    """
    root = Path(root)
    output = Path(output) if output else root / "grades" / f"{assignment}.csv"
    rows, columns, _ = assignment_rows(root, assignment)
    fields = (["student_id", "status", "reason", "score", "max_score", "late", "review", "review_reason",
               "nbgrader_score"] + columns + ["manual", "first_name", "last_name", "email", "seed", "notes"])
    _write(output, fields, [{k: _fmt(row.get(k, "")) for k in fields} for row in rows])
    return output, rows


def _write(path, fields, rows, header=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if header:
            writer.writerow(fields)
        for row in rows:
            writer.writerow([row.get(k, "") for k in fields] if isinstance(row, dict) else row)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:g}"
    return value


def graded_assignments(root):
    """The assignments with anything collected or graded."""
    root = Path(root)
    names = assignments(root) if (root / "solutions").is_dir() else []
    return [a for a in names if (root / STATUS_DIR / a).is_dir()
            or any((root / "submitted").glob(f"*/{a}"))]


def _value(row, unscored, fmt):
    """The grade cell of one row: the score, or for failed/missing blank or 0 as asked."""
    if row["status"] == "graded":
        return fmt(row["score"])
    return fmt(0.0) if unscored == "zero" else ""


def _g(x):
    return f"{x:g}"


def _two(x):
    return f"{x:.2f}"


def _unscored_lines(assignment, rows, unscored):
    failed = [r["student_id"] for r in rows if r["status"] == "failed"]
    missing = [r["student_id"] for r in rows if r["status"] == "missing"]
    if not failed and not missing:
        return []
    what = "0 written (--unscored zero)" if unscored == "zero" else \
        "left blank, the LMS keeps what it has (--unscored zero writes 0)"
    parts = [f"failed: {', '.join(failed)}" if failed else "", f"missing: {', '.join(missing)}" if missing else ""]
    return [f"{assignment}: {len(failed) + len(missing)} students without a score "
            f"({'; '.join(p for p in parts if p)}): {what}"]


def export_all(root, lms, output=None, unscored="blank"):
    """Write the grades of every graded assignment in the import format of ``lms``.

    ``canvas``: one Canvas gradebook CSV (``Student, ID, SIS User ID, SIS Login ID, Section``,
    a "Points Possible" row, one column per assignment, named like the column of the
    gradebook export read by ``python -m course roster`` when there is one), rows for the
    students of the Canvas roster. ``moodle``: one grading worksheet per assignment
    (``<assignment>-worksheet.csv`` in the folder ``output``), rows for its participants.
    ``plain``: ``grades/course.csv``, one row per student, one column per assignment.
    ``unscored`` says what a failed or missing submission gets: ``blank`` (the LMS keeps its
    grade) or ``zero``. Returns ``(paths, lines)``: the files written and what to tell the
    instructor (every student without a score is named).
    """
    if lms not in ("canvas", "moodle", "plain"):
        raise ValueError(f"`lms` must be canvas, moodle or plain; got {lms!r}")
    if unscored not in UNSCORED:
        raise ValueError(f"`unscored` must be one of {', '.join(UNSCORED)}; got {unscored!r}")
    root = Path(root)
    if not has_gradebook(root):
        raise PipelineError("no gradebook yet: release, collect and autograde first")
    names = graded_assignments(root)
    if not names:
        raise PipelineError("nothing collected or graded yet: nothing to export")
    stored = load_roster(root)
    lines = []
    if lms == "plain":
        output = Path(output) if output else root / "grades" / "course.csv"
        header, by_student, people = ["student_id", "first_name", "last_name", "email"], {}, {}
        for a in names:
            rows, _, max_score = assignment_rows(root, a)
            header.append(f"{a} (of {_g(max_score)})")
            for r in rows:
                people.setdefault(r["student_id"], [r["student_id"], r["first_name"], r["last_name"], r["email"]])
                by_student.setdefault(r["student_id"], {})[header[-1]] = _value(r, unscored, _g)
            lines += _unscored_lines(a, rows, unscored)
        body = [people[i] + [by_student[i].get(c, _value({"status": "missing"}, unscored, _g))
                             for c in header[4:]] for i in sorted(people)]
        _write(output, header, body)
        return [output], lines
    if lms == "canvas":
        output = Path(output) if output else root / "grades" / "canvas-import.csv"
        template = stored.get("canvas", {}).get("header", [])
        people = {i: s for i, s in stored["students"].items() if s.get("lms") == "canvas"}
        header, points, by_student = list(CANVAS_COLUMNS), ["    Points Possible", "", "", "", ""], {}
        for a in names:
            if moodle_participants(root, a, stored):
                lines.append(f"{a}: collected from Moodle (participant ids), not in the Canvas sheet")
                continue
            rows, _, max_score = assignment_rows(root, a)
            column = next((h for h in template if h == a or h.startswith(f"{a} (")), a)
            if column == a:
                lines.append(f"{a}: no such column in the Canvas gradebook export; Canvas will create an "
                             f"assignment named {a!r} on import")
            header.append(column)
            points.append(_g(max_score))
            for r in rows:
                by_student.setdefault(r["student_id"], {})[column] = _value(r, unscored, _g)
            lines += _unscored_lines(a, [r for r in rows if not people or r["student_id"] in people], unscored)
        ids = list(people) if people else sorted(by_student)
        outside = sorted(set(by_student) - set(ids))
        if outside:
            lines.append(f"not on the Canvas roster, so not in the sheet: {', '.join(outside)}")
        body = []
        for i in sorted(ids, key=lambda i: (people.get(i, {}).get("sortable_name", ""), i)):
            p = people.get(i, {})
            body.append([p.get("sortable_name", ""), i, p.get("sis_user_id", ""), p.get("sis_login_id", ""),
                         p.get("section", "")] + [by_student.get(i, {}).get(c, _value(
                             {"status": "missing"}, unscored, _g)) for c in header[5:]])
        _write(output, header, [points] + body)
        return [output], lines

    folder = Path(output) if output else root / "grades"
    paths = []
    stamp = time.strftime("%A, %d %B %Y, %I:%M %p").replace(" 0", " ")
    for a in names:
        sheet = stored.get("moodle", {}).get(a, {})
        ids = moodle_participants(root, a, stored)
        if not ids:
            continue
        rows, _, max_score = assignment_rows(root, a)
        body = []
        for r in sorted((r for r in rows if r["student_id"] in ids), key=lambda r: int(r["student_id"])
                        if r["student_id"].isdigit() else 0):
            i, info = r["student_id"], sheet.get(r["student_id"], {})
            person = stored["students"].get(i, {})
            full = person.get("full_name") or " ".join(x for x in (r["first_name"], r["last_name"]) if x)
            status = info.get("status") or ("No submission" if r["status"] == "missing" else "Submitted for grading")
            body.append({"Identifier": f"Participant {i}", "Full name": full, "Email address": r["email"],
                         "Status": status, "Grade": _value(r, unscored, _two),
                         "Maximum grade": info.get("max_grade") or _two(max_score), "Grade can be changed": "Yes",
                         "Last modified (submission)": info.get("submitted_at") or "-",
                         "Last modified (grade)": stamp, "Feedback comments": ""})
        lines += _unscored_lines(a, [r for r in rows if r["student_id"] in ids], unscored)
        path = folder / f"{a}-worksheet.csv"
        _write(path, MOODLE_COLUMNS, body)
        paths.append(path)
    if not paths:
        raise PipelineError("no Moodle students: import the grading worksheet (python -m course roster FILE "
                            "--lms moodle --assignment A) or collect a Moodle download first")
    return paths, lines
