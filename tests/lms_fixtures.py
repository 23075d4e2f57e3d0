"""Messy LMS downloads with a known right answer for every student (issue 11).

:func:`canvas_class` builds what Canvas's "Download Submissions" gives for 01_aggregators
(flat files ``<name>[_LATE]_<userid>_<submissionid>_<file>``) plus the Canvas gradebook
export; :func:`moodle_class` builds Moodle's "Download all submissions" for 04_wl (folders
``<Full Name>_<participantid>_assignsubmission_file_/<file>``) plus the grading worksheet.
Both contain every case that went wrong in a real class: two students with the same name,
accents, apostrophes and non-ASCII names, `` (1)`` and ``-1`` resubmissions next to the old
file, a zip inside the zip, ``__MACOSX`` and ``.DS_Store`` junk, a PDF, renamed notebooks,
a corrupt notebook, lateness, students who submitted nothing.

Each student's notebook is the solution (full marks), the untouched release (0) or a
corpus variant with a known score, so the right score of every student is known in
advance; the old file of a resubmission is always the one that would score differently.
"""

import csv
import functools
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from corpora import synthetic

ROOT = Path(__file__).resolve().parent.parent
CANVAS_ASSIGNMENT = "01_aggregators"
MOODLE_ASSIGNMENT = "04_wl"
FULL = {CANVAS_ASSIGNMENT: 10.0, MOODLE_ASSIGNMENT: 10.0}
SCORE = {"solution": 10.0, "release": 0.0, "partial": 7.0}  # what each variant earns


@dataclass
class Expected:
    """What the export must say about one student."""

    id: str
    first: str
    last: str
    email: str
    status: str  # graded / failed / missing
    score: float | None = None
    late: bool = False
    reason: str = ""  # a phrase the reason must contain (failed, missing)
    note: str = ""  # a phrase the collect report must say about this student
    kept_aside: list = field(default_factory=list)  # files that must be kept aside, not graded


@functools.lru_cache(maxsize=None)
def notebook(assignment, variant):
    """The text of a one-notebook submission of ``assignment`` (``variant`` as in corpora.synthetic).

    Cached: the downloads and the checks of one test session compare the same texts even if
    ``exercises/`` is regenerated meanwhile.
    """
    if variant == "corrupt":
        (_, text), = synthetic.submission(ROOT, assignment, "release")
        return text[:3000]
    (_, text), = synthetic.submission(ROOT, assignment, variant)
    return text


def _zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "  # what a ._ file starts with
PDF = b"%PDF-1.4\n% a report the student uploaded as well\n%%EOF\n"


# -- Canvas: 01_aggregators ------------------------------------------------------------------

CANVAS_SECTION = "GNN 2026 - Section 1"


def canvas_students():
    """Everyone on the Canvas roster, with the expected export row (Canvas exports no e-mail)."""
    a = CANVAS_ASSIGNMENT
    return [
        Expected("1001", "Anh", "Nguyen", "", "graded", 10),
        Expected("1002", "Anh", "Nguyen", "", "graded", 0),  # same name
        Expected("1003", "Jonas", "Müller", "", "graded", 10),
        Expected("1004", "Siri", "Ødegaard", "", "graded", 10, late=True),
        Expected("1005", "María", "García-López", "", "graded", SCORE["partial"],
                 note="aggregators (1).ipynb"),
        Expected("1006", "Conor", "O'Brien", "", "graded", 10,
                 note="Copy_of_aggregators.ipynb"),
        Expected("1007", "Lucas", "Silva", "", "graded", 10),  # zip in the zip
        Expected("1008", "Wei", "Zhang", "", "graded", 10, late=True,
                 kept_aside=["aggregators.ipynb"]),  # old file 0, newer -1 file 10
        Expected("1009", "Priya", "Patel", "", "graded", SCORE["partial"],
                 note="exercise1.ipynb"),
        Expected("1010", "Tom", "Brown", "", "failed", reason="not a valid notebook"),
        Expected("1011", "Emma", "Wilson", "", "missing",
                 reason=f"submitted nothing for {a}"),
        Expected("1012", "Kenji", "Sato", "", "graded", 10,
                 kept_aside=["aggregators.ipynb"]),  # first download 0, second download 10
        Expected("1013", "Nadia", "Haddad", "", "graded", 10),  # 2nd download only
    ]


def _canvas_name(s):
    """Canvas's file-name prefix: last and first name run together in lower case (accents,
    apostrophes and hyphens kept, as some Canvas instances do)."""
    return (s.last + s.first).lower().replace(" ", "")


def canvas_gradebook(path, students=None):
    """A Canvas gradebook export (the file the roster step reads, and the import format)."""
    students = students or canvas_students()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                    f"{CANVAS_ASSIGNMENT} (98765)", "Current Score", "Final Score"])
        w.writerow(["    Points Possible", "", "", "", "", "10.00", "(read only)", "(read only)"])
        for s in students:
            w.writerow([f"{s.last}, {s.first}", s.id, f"S{s.id}", f"{s.first}.{s.last}".lower(), CANVAS_SECTION,
                        "", "", ""])
        w.writerow(["Student, Test", "9999", "", "", CANVAS_SECTION, "", "", ""])
    return path


def canvas_downloads(folder):
    """Two Canvas "Download Submissions" zips of 01_aggregators, the second one later in term.

    Returns ``(first_zip, second_zip, expected_report)`` where ``expected_report`` maps
    each file of the archives to the student id it belongs to, or ``None`` if it must be
    skipped (junk, PDF, unreadable).
    """
    a = CANVAS_ASSIGNMENT
    by_id = {s.id: s for s in canvas_students()}

    def f(sid, sub, filename, late=False):
        return f"{_canvas_name(by_id[sid])}{'_LATE' if late else ''}_{sid}_{sub}_{filename}"

    inner = _zip_bytes([  # Silva zipped his folder on a Mac
        ("hw1/aggregators.ipynb", notebook(a, "solution")),
        ("__MACOSX/hw1/._aggregators.ipynb", APPLEDOUBLE),
        ("hw1/.DS_Store", b"\x00\x00\x00\x01Bud1"),
    ])
    first = [
        (f("1001", 50001, "aggregators.ipynb"), notebook(a, "solution"), "1001"),
        (f("1002", 50002, "aggregators.ipynb"), notebook(a, "release"), "1002"),
        (f("1003", 50003, "aggregators.ipynb"), notebook(a, "solution"), "1003"),
        (f("1004", 50004, "aggregators.ipynb", late=True), notebook(a, "solution"), "1004"),
        (f("1005", 50005, "aggregators (1).ipynb"), notebook(a, "partial"), "1005"),
        (f("1006", 50006, "Copy_of_aggregators.ipynb"), notebook(a, "solution"), "1006"),
        (f("1007", 50007, "hw1.zip"), inner, "1007"),
        (f("1008", 50008, "aggregators.ipynb"), notebook(a, "release"), "1008"),
        (f("1008", 50020, "aggregators-1.ipynb", late=True), notebook(a, "solution"), "1008"),
        (f("1009", 50009, "exercise1.ipynb"), notebook(a, "partial"), "1009"),
        (f("1010", 50010, "report.pdf"), PDF, None),
        (f("1010", 50011, "aggregators.ipynb"), notebook(a, "corrupt"), "1010"),
        (f("1012", 50012, "aggregators.ipynb"), notebook(a, "release"), "1012"),
        ("__MACOSX/._" + f("1001", 50001, "aggregators.ipynb"), APPLEDOUBLE, None),
        (".DS_Store", b"\x00\x00\x00\x01Bud1", None),
    ]
    second = [  # later: Sato resubmitted, Haddad submitted late, Nguyen's file again
        (f("1001", 50001, "aggregators.ipynb"), notebook(a, "solution"), "1001"),
        (f("1012", 50030, "aggregators-1.ipynb"), notebook(a, "solution"), "1012"),
        (f("1013", 50031, "aggregators.ipynb"), notebook(a, "solution"), "1013"),
    ]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, members in enumerate((first, second), 1):
        path = folder / f"submissions-{k}.zip"
        path.write_bytes(_zip_bytes([(n, d) for n, d, _ in members]))
        paths.append(path)
    report = {n: s for n, _, s in first}
    report.update({f"{f('1007', 50007, 'hw1.zip')}/hw1/aggregators.ipynb": "1007",
                   f"{f('1007', 50007, 'hw1.zip')}/__MACOSX/hw1/._aggregators.ipynb": None,
                   f"{f('1007', 50007, 'hw1.zip')}/hw1/.DS_Store": None})
    del report[f("1007", 50007, "hw1.zip")]  # a container: its files are reported instead
    return paths[0], paths[1], report, {n: s for n, _, s in second}


# -- Moodle: 04_wl -----------------------------------------------------------------------------

def moodle_students():
    """Everyone on the Moodle grading worksheet, with the expected export row."""
    a = MOODLE_ASSIGNMENT
    return [
        Expected("2001", "Anh", "Nguyen", "anh.nguyen@uni.example", "graded", 10),
        Expected("2002", "Anh", "Nguyen", "anh.nguyen2@uni.example", "graded", 0),  # same name
        Expected("2003", "Jonas", "Müller", "jonas.mueller@uni.example", "graded", 10),
        Expected("2004", "Siri", "Ødegaard", "siri.odegaard@uni.example", "graded", 10, late=True,
                 kept_aside=["wl.ipynb"]),  # wl.ipynb 0, wl (1).ipynb 10
        Expected("2005", "María", "García-López", "maria.garcia@uni.example", "graded", 10,
                 note="WL_solution.ipynb"),
        Expected("2006", "Conor", "O'Brien", "conor.obrien@uni.example", "graded", 10),  # zip + ._wl
        Expected("2007", "Lucas", "Silva", "lucas.silva@uni.example", "missing",
                 reason=f"submitted nothing for {a}"),  # online text only
        Expected("2008", "Priya", "Patel", "priya.patel@uni.example", "failed", reason="not a valid notebook"),
        Expected("2009", "Emma", "Wilson", "emma.wilson@uni.example", "missing",
                 reason=f"submitted nothing for {a}"),
        Expected("2010", "Zoë", "Ünal", "zoe.unal@uni.example", "graded", 0),  # flat layout
    ]


def moodle_worksheet(path, students=None):
    """Moodle's offline grading worksheet for 04_wl (Identifier "Participant N", ...)."""
    students = students or moodle_students()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum grade",
                    "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                    "Feedback comments"])
        for s in students:
            submitted = s.status != "missing"
            status = "Submitted for grading" if submitted else "No submission"
            if s.late:
                status += " - 1 day 2 hours late"
            w.writerow([f"Participant {s.id}", f"{s.first} {s.last}", s.email, status, "", "10.00", "Yes",
                        "Monday, 5 October 2026, 9:12 AM" if submitted else "-", "-", ""])
    return path


def moodle_download(folder):
    """Moodle's "Download all submissions" zip of 04_wl; returns ``(zip, expected_report)``."""
    a = MOODLE_ASSIGNMENT
    by_id = {s.id: s for s in moodle_students()}

    def d(sid, plugin="file"):
        s = by_id[sid]
        return f"{s.first} {s.last}_{sid}_assignsubmission_{plugin}_"

    inner = _zip_bytes([("wl.ipynb", notebook(a, "solution")), ("__MACOSX/._wl.ipynb", APPLEDOUBLE)])
    members = [
        (f"{d('2001')}/wl.ipynb", notebook(a, "solution"), "2001"),
        (f"{d('2002')}/wl.ipynb", notebook(a, "release"), "2002"),
        (f"{d('2003')}/wl.ipynb", notebook(a, "solution"), "2003"),
        (f"{d('2004')}/wl.ipynb", notebook(a, "release"), "2004"),
        (f"{d('2004')}/wl (1).ipynb", notebook(a, "solution"), "2004"),
        (f"{d('2005')}/WL_solution.ipynb", notebook(a, "solution"), "2005"),
        (f"{d('2006')}/wl.zip", inner, "2006"),
        (f"{d('2007', 'onlinetext')}/onlinetext.html", b"<p>see attached</p>", None),
        (f"{d('2008')}/wl.ipynb", notebook(a, "corrupt"), "2008"),
        (f"{d('2010')}wl.ipynb", notebook(a, "release"), "2010"),  # flat layout (no folders)
        (f"__MACOSX/{d('2003')}/._wl.ipynb", APPLEDOUBLE, None),
        (".DS_Store", b"\x00\x00\x00\x01Bud1", None),
    ]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "GNN-04_wl-submissions.zip"
    path.write_bytes(_zip_bytes([(n, data) for n, data, _ in members]))
    report = {n: s for n, _, s in members}
    del report[f"{d('2006')}/wl.zip"]
    report.update({f"{d('2006')}/wl.zip/wl.ipynb": "2006", f"{d('2006')}/wl.zip/__MACOSX/._wl.ipynb": None})
    return path, report


# -- a whole class, for timings ------------------------------------------------------------------

FIRST = ["Anh", "Jonas", "Siri", "María", "Conor", "Lucas", "Wei", "Priya", "Zoë", "Kenji", "Nadia", "Tom"]
LAST = ["Nguyen", "Müller", "Ødegaard", "García-López", "O'Brien", "Silva", "Zhang", "Patel", "Ünal"]


def canvas_class(folder, n=64):
    """A Canvas download of 01_aggregators for ``n`` students cycling through six cases.

    Returns ``(zip, gradebook_csv, expected)`` with ``expected`` a list of :class:`Expected`
    (names repeat, so several students share a name). The cases: the solution; the release
    (0); a partial answer uploaded as ``aggregators (1).ipynb`` (7); an old release and a
    newer late ``-1`` solution (10, late); the solution as ``Copy_of_aggregators.ipynb`` in
    a zip with ``__MACOSX`` (10); a corrupt notebook next to a PDF (failed). Every seventh
    student submits nothing (missing).
    """
    a = CANVAS_ASSIGNMENT
    texts = {v: notebook(a, v) for v in ("solution", "release", "partial", "corrupt")}
    expected, members = [], [(".DS_Store", b"\x00\x00\x00\x01Bud1")]
    for k in range(n):
        sid = str(3000 + k)
        s = Expected(sid, FIRST[k % len(FIRST)], LAST[k % len(LAST)], "", "graded", 10)
        prefix = _canvas_name(s)
        case = k % 6
        if k % 7 == 6:
            s.status, s.score, s.reason = "missing", None, f"submitted nothing for {a}"
        elif case == 0:
            members.append((f"{prefix}_{sid}_{60000 + k}_aggregators.ipynb", texts["solution"]))
        elif case == 1:
            members.append((f"{prefix}_{sid}_{60000 + k}_aggregators.ipynb", texts["release"]))
            s.score = 0
        elif case == 2:
            members.append((f"{prefix}_{sid}_{60000 + k}_aggregators (1).ipynb", texts["partial"]))
            s.score = 8
        elif case == 3:
            members.append((f"{prefix}_{sid}_{60000 + k}_aggregators.ipynb", texts["release"]))
            members.append((f"{prefix}_LATE_{sid}_{70000 + k}_aggregators-1.ipynb", texts["solution"]))
            s.late = True
        elif case == 4:
            members.append((f"{prefix}_{sid}_{60000 + k}_work.zip", _zip_bytes([
                ("work/Copy_of_aggregators.ipynb", texts["solution"]),
                ("__MACOSX/work/._Copy_of_aggregators.ipynb", APPLEDOUBLE)])))
        else:
            members.append((f"{prefix}_{sid}_{60000 + k}_notes.pdf", PDF))
            members.append((f"{prefix}_{sid}_{60001 + k}_aggregators.ipynb", texts["corrupt"]))
            s.status, s.score, s.reason = "failed", None, "not a valid notebook"
        expected.append(s)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "class-submissions.zip"
    path.write_bytes(_zip_bytes(members))
    return path, canvas_gradebook(folder / "class-gradebook.csv", expected), expected
