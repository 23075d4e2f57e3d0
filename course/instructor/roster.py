"""The class list, taken from the LMS's own export: ``python -m course roster FILE --lms ...``.

Three formats are read:

``canvas``
    The Canvas gradebook export (Grades > Export): columns ``Student`` ("Last, First"),
    ``ID`` (the Canvas user id, which is the student id here), ``SIS User ID``,
    ``SIS Login ID``, ``Section``, then one column per assignment. The "Points Possible"
    row and Canvas's "Student, Test" are not students. Canvas has no e-mail column here.
``moodle``
    Moodle's offline grading worksheet of one assignment (Grading action > Download grading
    worksheet): ``Identifier`` ("Participant 1234"; 1234 is the student id), ``Full name``,
    ``Email address``, ``Status`` (says "... late" for a late submission), ...
    Moodle numbers participants per assignment, so give ``--assignment``.
``plain``
    ``id,first_name,last_name,email``.

Every student goes into nbgrader's gradebook (id, names, e-mail), so that a student who
submits nothing is reported ``missing``; the LMS's extra columns (SIS ids, section, the
Canvas assignment columns, Moodle's lateness) are kept in ``lms/roster.json`` for the
export in the LMS's import format.
"""

import csv
import json
import os
import re
import shutil
import sys
from pathlib import Path

from .gradebook import open_gradebook

__all__ = ["FORMATS", "RosterError", "read_roster", "import_roster", "load_roster", "ROSTER"]

FORMATS = ("canvas", "moodle", "plain")
ROSTER = Path("lms") / "roster.json"
CANVAS_REQUIRED = ["Student", "ID"]
MOODLE_REQUIRED = ["Identifier", "Full name"]
PLAIN_REQUIRED = ["id", "first_name", "last_name"]
_LATE = re.compile(r"\blate\b", re.IGNORECASE)


class RosterError(ValueError):
    """The roster file is not in the format named by ``--lms``."""


def _rows(path, required, lms):
    path = Path(path)
    if not path.is_file():
        raise RosterError(f"roster file {path} does not exist")
    with open(path, newline="", encoding="utf-8-sig") as fh:  # Excel adds a byte-order mark
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise RosterError(f"{path} is not a {lms} roster: expected the columns {', '.join(required)}, "
                              f"missing {', '.join(missing)} (found: {', '.join(header) or 'nothing'})")
        rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    return header, rows


def _split(full):
    """``(first, last)`` of a full name: the last word is the last name."""
    words = full.split()
    return (" ".join(words[:-1]), words[-1]) if len(words) > 1 else ("", full)


def read_roster(path, lms):
    """``(students, skipped, extra)`` read from the LMS export ``path``.

    ``students`` is a list of dicts (``id, first_name, last_name, email`` and the LMS's own
    fields), ``skipped`` a list of ``(row text, reason)``, ``extra`` what the export
    needs to write the LMS's import format (Canvas's header, Moodle's lateness).

    Raises
    ------
    RosterError
        If the file lacks the columns of the format, or a student id is used twice.
    ValueError
        If ``lms`` is not one of :data:`FORMATS`.
    """
    if lms not in FORMATS:
        raise ValueError(f"`lms` must be one of {', '.join(FORMATS)}; got {lms!r}")
    students, skipped, extra = [], [], {}
    if lms == "canvas":
        header, rows = _rows(path, CANVAS_REQUIRED, lms)
        extra["header"] = header
        for row in rows:
            student, uid = row.get("Student", ""), row.get("ID", "")
            if student.strip() == "Points Possible":
                extra["points"] = row
                continue
            if student == "Student, Test":
                skipped.append((student, "Canvas's test student"))
                continue
            if not uid.isdigit():
                skipped.append((student or str(row), f"no Canvas user id in the ID column ({uid!r})"))
                continue
            last, _, first = student.partition(", ")
            students.append({"id": uid, "first_name": first, "last_name": last, "email": "",
                             "lms": "canvas", "sortable_name": student,
                             "sis_user_id": row.get("SIS User ID", ""),
                             "sis_login_id": row.get("SIS Login ID", ""), "section": row.get("Section", "")})
    elif lms == "moodle":
        header, rows = _rows(path, MOODLE_REQUIRED, lms)
        extra["header"] = header
        for row in rows:
            m = re.fullmatch(r"\D*?(\d+)", row.get("Identifier", ""))
            if not m:
                skipped.append((row.get("Full name", str(row)),
                                f"Identifier {row.get('Identifier', '')!r} is not 'Participant <number>'"))
                continue
            first, last = _split(row.get("Full name", ""))
            status = row.get("Status", "")
            students.append({"id": m.group(1), "first_name": first, "last_name": last,
                             "email": row.get("Email address", ""), "lms": "moodle",
                             "full_name": row.get("Full name", ""), "status": status,
                             "late": bool(_LATE.search(status)),
                             "submitted_at": row.get("Last modified (submission)", ""),
                             "max_grade": row.get("Maximum grade", row.get("Maximum Grade", ""))})
    else:
        _, rows = _rows(path, PLAIN_REQUIRED, lms)
        for row in rows:
            if not row.get("id"):
                skipped.append((str(row), "empty id"))
                continue
            students.append({"id": row["id"], "first_name": row.get("first_name", ""),
                             "last_name": row.get("last_name", ""), "email": row.get("email", ""),
                             "lms": "plain"})
    seen = {}
    for s in students:
        if s["id"] in seen:
            raise RosterError(f"{path}: student id {s['id']} appears twice "
                              f"({seen[s['id']]!r} and {s['first_name']} {s['last_name']!r})")
        seen[s["id"]] = f"{s['first_name']} {s['last_name']}"
    return students, skipped, extra


def load_roster(root):
    """The stored roster (``lms/roster.json``): ``{"students": {id: {...}}, "canvas": ..., "moodle": ...}``."""
    path = Path(root) / ROSTER
    if not path.exists():
        return {"students": {}, "canvas": {}, "moodle": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def import_roster(root, path, lms, assignment=None):
    """Read ``path`` (see :func:`read_roster`) into the gradebook and ``lms/roster.json``.

    ``assignment`` ties a Moodle worksheet to its assignment (lateness, participant ids).
    Returns ``(students, skipped)``; a student already known is updated, never duplicated.
    """
    root = Path(root)
    students, skipped, extra = read_roster(path, lms)
    if lms == "moodle" and not assignment:
        raise RosterError("a Moodle grading worksheet belongs to one assignment: give --assignment")
    stored = load_roster(root)
    bindir = str(Path(sys.executable).parent)  # a new gradebook runs `alembic` from PATH
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    with open_gradebook(root) as gb:
        for s in students:
            known = {k: s[k] for k in ("first_name", "last_name", "email") if s[k]}  # Canvas has no e-mail
            gb.update_or_create_student(s["id"], lms_user_id=s["id"], **known)
    for s in students:
        known = stored["students"].setdefault(s["id"], {})
        known.update({k: v for k, v in s.items() if k not in ("late", "status", "submitted_at")})
    if lms == "canvas":
        stored["canvas"] = {"header": extra["header"], "points": extra.get("points", {})}
    if lms == "moodle":
        stored["moodle"][assignment] = {s["id"]: {"late": s["late"], "status": s["status"],
                                                  "submitted_at": s["submitted_at"],
                                                  "max_grade": s["max_grade"]} for s in students}
    target = root / ROSTER
    target.parent.mkdir(parents=True, exist_ok=True)
    copy = target.parent / (f"{lms}-{assignment}.csv" if assignment else f"{lms}.csv")
    if Path(path).resolve() != copy.resolve():
        shutil.copyfile(path, copy)
    target.write_text(json.dumps(stored, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return students, skipped
