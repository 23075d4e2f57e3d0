"""A real class's LMS downloads collected, graded and exported with nothing lost (issue 11).

The downloads are built by :mod:`lms_fixtures` (a messy Canvas zip of 01_aggregators in two
instalments, a messy Moodle zip of 04_wl, the Canvas gradebook export and the Moodle
grading worksheet); every student's right status and score is known in advance. The tests
run the documented commands (``python -m course ...`` in a temporary course directory) and
check every file and every student: nothing lost, nothing misattributed, the newest file
graded, the report complete, the LMS import sheets in the LMS's own columns.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from course_batch import shared_batch
from lms_fixtures import (CANVAS_ASSIGNMENT, FULL, MOODLE_ASSIGNMENT, canvas_downloads, canvas_gradebook,
                          canvas_students, moodle_download, moodle_students, moodle_worksheet, notebook)

from course.instructor import collect, lms

ROOT = Path(__file__).resolve().parent.parent
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                  "Feedback comments"]


def course_cli(root, *args, check=True):
    """Run ``python -m course ARGS`` in the course directory ``root``, as the instructor does."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "course", *map(str, args)], cwd=root, env=env,
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"python -m course {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def new_course(root):
    """A course directory as the instructor has it: config, solutions and the release."""
    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions", root / "solutions", ignore=shutil.ignore_patterns("README.md"))
    shutil.copytree(ROOT / "exercises", root / "exercises")
    return root


def report_rows(root, assignment):
    with open(root / "downloaded" / assignment / "collect-report.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def submitted_text(root, student, assignment, name):
    return (root / "submitted" / student / assignment / name).read_text(encoding="utf-8")


# -- reading the archives ------------------------------------------------------------------------

def _assigned(entries):
    return {e.path: e.student if e.skip is None else None for e in entries}


def test_read_canvas_assigns_every_file_to_its_user_id(tmp_path):
    first, second, expected, expected2 = canvas_downloads(tmp_path)
    entries = lms.read_archives([first], "canvas")
    assert _assigned(entries) == expected
    assert all(e.skip for e in entries if e.student is None)  # every unassigned file says why
    late = {e.student for e in entries if e.late}
    assert late == {"1004", "1008"}
    junk = {e.path: e.skip for e in entries if "__MACOSX" in e.path or e.path.endswith(".DS_Store")}
    assert len(junk) == 4 and all(junk.values()), junk
    pdf = next(e for e in entries if e.path.endswith("report.pdf"))
    assert "not a notebook" in pdf.skip
    assert _assigned(lms.read_archives([second], "canvas")) == expected2


def test_read_moodle_assigns_every_file_to_its_participant_id(tmp_path):
    path, expected = moodle_download(tmp_path)
    entries = lms.read_archives([path], "moodle")
    assert _assigned(entries) == expected
    online = next(e for e in entries if e.path.endswith("onlinetext.html"))
    assert "onlinetext" in online.skip
    names = {e.student: e.name for e in entries if e.student}
    assert names["2003"] == "Jonas Müller" and names["2010"] == "Zoë Ünal"
    assert names["2001"] == names["2002"] == "Anh Nguyen"


def test_read_generic_uses_named_regexp(tmp_path):
    path = tmp_path / "download.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("alice_aggregators.ipynb", notebook(CANVAS_ASSIGNMENT, "solution"))
        zf.writestr("bob_late_2024-10-01_aggregators.ipynb", notebook(CANVAS_ASSIGNMENT, "release"))
        zf.writestr("notes.txt", "hello")
    regexp = r".*/(?P<student_id>[^/_]+)_(?:[^/]*_)?(?P<file_id>[^/_]+\.ipynb)$"
    entries = lms.read_archives([path], "generic", named_regexp=regexp)
    assert _assigned(entries) == {"alice_aggregators.ipynb": "alice",
                                  "bob_late_2024-10-01_aggregators.ipynb": "bob", "notes.txt": None}


def test_course_regexp_takes_accented_ids_in_either_unicode_form(tmp_path):
    """The course's own named_regexp (nbgrader_config.py) with a generic download made on macOS."""
    path = tmp_path / "download.zip"
    nfd = "zoe\u0308-u\u0308nal"  # what macOS writes for zoë-ünal
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("zoë-ünal_aggregators.ipynb", notebook(CANVAS_ASSIGNMENT, "release"))
        zf.writestr(f"{nfd}_late_2024-10-02_aggregators.ipynb", notebook(CANVAS_ASSIGNMENT, "solution"))
        zf.writestr("jürgen.o-brien_aggregators.ipynb", notebook(CANVAS_ASSIGNMENT, "solution"))
        zf.writestr("__MACOSX/._jürgen.o-brien_aggregators.ipynb", b"\0\5\x16\7")
    entries = lms.read_archives([path], "generic", named_regexp=collect._named_regexp(ROOT))
    assert {e.path: e.student for e in entries if e.skip is None} == {
        "zoë-ünal_aggregators.ipynb": "zoë-ünal", f"{nfd}_late_2024-10-02_aggregators.ipynb": "zoë-ünal",
        "jürgen.o-brien_aggregators.ipynb": "jürgen.o-brien"}
    assert [e.path for e in entries if e.skip] == ["__MACOSX/._jürgen.o-brien_aggregators.ipynb"]


@pytest.mark.slow
def test_generic_download_with_accented_ids_is_graded_and_exported(tmp_path):
    root = new_course(tmp_path / "course")
    download = tmp_path / "download.zip"
    with zipfile.ZipFile(download, "w") as zf:
        zf.writestr("zoë_aggregators.ipynb", notebook(CANVAS_ASSIGNMENT, "solution"))
        zf.writestr("jürgen_aggregators.ipynb", notebook(CANVAS_ASSIGNMENT, "release"))
    course_cli(root, "release", CANVAS_ASSIGNMENT)
    out = course_cli(root, "zip-collect", CANVAS_ASSIGNMENT, download, "--lms", "generic").stdout
    assert "collected 2 students" in out, out
    course_cli(root, "autograde", CANVAS_ASSIGNMENT, "--workers", "1", "--timeout", "20")
    course_cli(root, "export", CANVAS_ASSIGNMENT)
    rows = _export(root, CANVAS_ASSIGNMENT)
    assert (rows["zoë"]["status"], float(rows["zoë"]["score"])) == ("graded", FULL[CANVAS_ASSIGNMENT]), rows
    assert (rows["jürgen"]["status"], float(rows["jürgen"]["score"])) == ("graded", 0.0), rows


def test_read_refuses_an_unreadable_archive(tmp_path):
    bad = tmp_path / "download.zip"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(lms.ArchiveError, match="download.zip"):
        lms.read_archives([bad], "canvas")
    with pytest.raises(lms.ArchiveError, match="does not exist"):
        lms.read_archives([tmp_path / "nowhere.zip"], "canvas")
    with pytest.raises(ValueError, match="`lms`.*canvas, moodle, generic.*got 'blackboard'"):
        lms.read_archives([bad], "blackboard")


def test_read_lists_a_broken_zip_inside_the_zip(tmp_path):
    path = tmp_path / "submissions.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("doe_1_2_work.zip", b"PK\x03\x04 truncated")
        zf.writestr("roe_3_4_aggregators.ipynb", notebook(CANVAS_ASSIGNMENT, "solution"))
    entries = {e.path: e for e in lms.read_archives([path], "canvas")}
    assert entries["doe_1_2_work.zip"].student == "1" and "cannot be opened" in entries["doe_1_2_work.zip"].skip
    assert entries["roe_3_4_aggregators.ipynb"].skip is None


@pytest.mark.parametrize("filename, base, rank", [
    ("aggregators.ipynb", "aggregators.ipynb", 0), ("aggregators-1.ipynb", "aggregators.ipynb", 1),
    ("aggregators-12.ipynb", "aggregators.ipynb", 12), ("aggregators (2).ipynb", "aggregators.ipynb", 2),
    ("Copy_of_aggregators.ipynb", "aggregators.ipynb", 0), ("Copy of wl (1).ipynb", "wl.ipynb", 1),
    ("message-passing.ipynb", "message-passing.ipynb", 0), ("WL.IPYNB", "wl.ipynb", 0)])
def test_resubmission_suffixes(filename, base, rank):
    assert lms.base_name(filename) == (base, rank)


# -- collecting with the command line --------------------------------------------------------------

def _collect_canvas(root, tmp):
    first, second, _, _ = canvas_downloads(tmp / "canvas")
    course_cli(root, "roster", canvas_gradebook(tmp / "canvas-gradebook.csv"), "--lms", "canvas")
    one = course_cli(root, "zip-collect", CANVAS_ASSIGNMENT, first, "--lms", "canvas")
    two = course_cli(root, "zip-collect", CANVAS_ASSIGNMENT, second, "--lms", "canvas")
    return one, two


def _collect_moodle(root, tmp):
    path, _ = moodle_download(tmp / "moodle")
    course_cli(root, "roster", moodle_worksheet(tmp / "moodle-worksheet.csv"), "--lms", "moodle",
               "--assignment", MOODLE_ASSIGNMENT)
    return course_cli(root, "zip-collect", MOODLE_ASSIGNMENT, path, "--lms", "moodle")


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lms-collect")
    root = new_course(tmp / "course")
    one, two = _collect_canvas(root, tmp)
    three = _collect_moodle(root, tmp)
    return root, tmp, (one, two, three)


def test_zip_collect_counts_students_and_prints_the_report(collected):
    root, _, (one, two, three) = collected
    assert "collected 11 students" in one.stdout  # 1001-1010 and 1012: eleven students, 13 notebooks
    assert "collected 3 students" in two.stdout
    assert "collected 8 students" in three.stdout  # 2001-2006, 2008 (corrupt) and 2010
    for proc in (one, two, three):
        assert "skipped" in proc.stdout and "collect-report.csv" in proc.stdout


def test_zip_collect_canvas_grades_the_right_file_of_every_student(collected):
    root, tmp, _ = collected
    a = CANVAS_ASSIGNMENT
    want = {"1001": "solution", "1002": "release", "1003": "solution", "1004": "solution",
            "1005": "partial", "1006": "solution", "1007": "solution", "1008": "solution",
            "1009": "partial", "1012": "solution", "1013": "solution"}
    for sid, variant in want.items():
        assert submitted_text(root, sid, a, "aggregators.ipynb") == notebook(a, variant), sid
        assert sorted(p.name for p in (root / "submitted" / sid / a).iterdir()) == ["aggregators.ipynb"]
    assert submitted_text(root, "1010", a, "aggregators.ipynb") == notebook(a, "corrupt")
    assert not (root / "submitted" / "1011").exists()
    folders = {p.parent.name for p in (root / "submitted").glob(f"*/{a}")}
    assert folders == set(want) | {"1010"}  # no "." student, no name-based ids


def test_zip_collect_canvas_report_lists_every_file(collected):
    root, tmp, _ = collected
    _, _, expected, expected2 = canvas_downloads(tmp / "again")
    rows = report_rows(root, CANVAS_ASSIGNMENT)  # the latest run: the second download
    assert {r["file"]: r["student"] or None for r in rows} == expected2
    actions = {r["student"]: r["action"] for r in rows}
    assert actions == {"1001": "unchanged", "1012": "replaced", "1013": "collected"}
    history = root / "downloaded" / CANVAS_ASSIGNMENT / "collect-history.csv"
    with open(history, newline="", encoding="utf-8") as fh:
        first_run = [r for r in csv.DictReader(fh) if r["archive"] == "submissions-1.zip"]
    assert {r["file"]: r["student"] or None for r in first_run} == expected
    for r in first_run:
        assert r["action"] in ("collected", "kept aside", "skipped"), r
        assert r["detail"] or r["action"] == "collected", r
    by_file = {r["file"]: r for r in first_run}
    old = next(f for f in expected if "_1008_50008_" in f)
    assert by_file[old]["action"] == "kept aside" and "newer" in by_file[old]["detail"]
    renamed = next(f for f in expected if f.endswith("exercise1.ipynb"))
    assert "exercise1.ipynb" in by_file[renamed]["detail"] and "aggregators.ipynb" in by_file[renamed]["detail"]


def test_zip_collect_keeps_older_files_aside(collected):
    root, _, _ = collected
    aside = root / "downloaded" / CANVAS_ASSIGNMENT / "kept-aside"
    a = CANVAS_ASSIGNMENT
    assert [p.read_text(encoding="utf-8") for p in (aside / "1008").iterdir()] == [notebook(a, "release")]
    assert [p.read_text(encoding="utf-8") for p in (aside / "1012").iterdir()] == [notebook(a, "release")]
    aside = root / "downloaded" / MOODLE_ASSIGNMENT / "kept-aside"
    assert [p.name for p in (aside / "2004").iterdir()] == ["wl.ipynb"]


def test_zip_collect_moodle_grades_the_right_file_of_every_student(collected):
    root, _, _ = collected
    a = MOODLE_ASSIGNMENT
    want = {"2001": "solution", "2002": "release", "2003": "solution", "2004": "solution",
            "2005": "solution", "2006": "solution", "2008": "corrupt", "2010": "release"}
    for sid, variant in want.items():
        assert submitted_text(root, sid, a, "wl.ipynb") == notebook(a, variant), sid
    assert {p.parent.name for p in (root / "submitted").glob(f"*/{a}")} == set(want)
    rows = report_rows(root, a)
    _, expected = moodle_download(root.parent / "again-moodle")
    assert {r["file"]: r["student"] or None for r in rows} == expected
    renamed = next(r for r in rows if r["file"].endswith("WL_solution.ipynb"))
    assert renamed["action"] == "collected" and "WL_solution.ipynb" in renamed["detail"]


def test_zip_collect_twice_is_idempotent(collected, tmp_path):
    root, tmp, _ = collected
    path, _ = moodle_download(tmp_path)
    before = {p: p.read_bytes() for p in (root / "submitted").rglob("*.ipynb")}
    proc = course_cli(root, "zip-collect", MOODLE_ASSIGNMENT, path, "--lms", "moodle")
    assert {r["action"] for r in report_rows(root, MOODLE_ASSIGNMENT) if r["student"]} <= {"unchanged",
                                                                                             "kept aside"}
    assert {p: p.read_bytes() for p in (root / "submitted").rglob("*.ipynb")} == before
    assert proc.returncode == 0


def test_a_later_moodle_download_replaces_whatever_the_suffix(tmp_path):
    from course.instructor.collect import zip_collect
    root = new_course(tmp_path / "course")
    a = MOODLE_ASSIGNMENT
    first, _ = moodle_download(tmp_path / "one")
    zip_collect(root, a, [first], lms="moodle")
    assert submitted_text(root, "2004", a, "wl.ipynb") == notebook(a, "solution")  # `wl (1).ipynb`
    later = tmp_path / "later.zip"  # Moodle hands out only the current files: 2004 uploaded wl.ipynb again
    with zipfile.ZipFile(later, "w") as zf:
        zf.writestr("Siri Ødegaard_2004_assignsubmission_file_/wl.ipynb", notebook(a, "release"))
    result = zip_collect(root, a, [later], lms="moodle")
    assert [r["action"] for r in result.rows] == ["replaced"]
    assert submitted_text(root, "2004", a, "wl.ipynb") == notebook(a, "release")


def test_an_older_canvas_upload_in_a_later_download_is_kept_aside(tmp_path):
    from course.instructor.collect import zip_collect
    root = new_course(tmp_path / "course")
    a = CANVAS_ASSIGNMENT
    new, old = tmp_path / "new.zip", tmp_path / "old.zip"
    with zipfile.ZipFile(new, "w") as zf:
        zf.writestr("doejane_1_900_aggregators.ipynb", notebook(a, "solution"))
    with zipfile.ZipFile(old, "w") as zf:  # an earlier download collected last, by mistake
        zf.writestr("doejane_1_800_aggregators.ipynb", notebook(a, "release"))
    zip_collect(root, a, [new], lms="canvas")
    result = zip_collect(root, a, [old], lms="canvas")
    assert [r["action"] for r in result.rows] == ["kept aside"] and "older" in result.rows[0]["detail"]
    assert submitted_text(root, "1", a, "aggregators.ipynb") == notebook(a, "solution")


def test_zip_collect_unreadable_archive_exits_nonzero(collected, tmp_path):
    root, _, _ = collected
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"not a zip")
    proc = course_cli(root, "zip-collect", CANVAS_ASSIGNMENT, bad, "--lms", "canvas", check=False)
    assert proc.returncode != 0 and "broken.zip" in proc.stderr
    proc = course_cli(root, "zip-collect", "99_nothing", bad, "--lms", "canvas", check=False)
    assert proc.returncode != 0 and "99_nothing" in proc.stderr


def test_roster_imports_names_and_ids_from_the_lms(collected):
    root, _, _ = collected
    from course.instructor.gradebook import open_gradebook
    with open_gradebook(root) as gb:
        students = {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}
    for s in canvas_students() + moodle_students():
        assert students[s.id] == (s.first, s.last, s.email or None)
    assert "9999" not in students  # Canvas's test student


def test_roster_plain_and_bad_input(tmp_path):
    root = new_course(tmp_path / "course")
    plain = tmp_path / "students.csv"
    plain.write_text("id,first_name,last_name,email\nu1,Zoë,Ünal,z@x.example\n", encoding="utf-8")
    proc = course_cli(root, "roster", plain, "--lms", "plain")
    assert "1 student" in proc.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("name,mail\nx,y\n", encoding="utf-8")
    proc = course_cli(root, "roster", bad, "--lms", "canvas", check=False)
    assert proc.returncode != 0 and "Student" in proc.stderr and "ID" in proc.stderr


# -- the whole class: autograde and export ----------------------------------------------------

BY_HAND = "1099"


def _grade_class(root):
    tmp = root.parent / f"{root.name}-downloads"
    new_course(root)
    course_cli(root, "release", CANVAS_ASSIGNMENT, MOODLE_ASSIGNMENT)
    _collect_canvas(root, tmp)
    _collect_moodle(root, tmp)
    by_hand = root / "submitted" / BY_HAND / CANVAS_ASSIGNMENT  # copied in by hand, not collected
    by_hand.mkdir(parents=True)
    (by_hand / "exercise1.ipynb").write_text(notebook(CANVAS_ASSIGNMENT, "solution"), encoding="utf-8")
    for a in (CANVAS_ASSIGNMENT, MOODLE_ASSIGNMENT):
        course_cli(root, "autograde", a, "--workers", "2", "--timeout", "20")
        course_cli(root, "export", a)
    (root / "graded.txt").write_text("done\n")


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    return shared_batch(tmp_path_factory, "lms-class", _grade_class, done="graded.txt")


def _export(root, assignment):
    with open(root / "grades" / f"{assignment}.csv", newline="", encoding="utf-8") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh)}


@pytest.mark.slow
@pytest.mark.parametrize("assignment, students", [(CANVAS_ASSIGNMENT, canvas_students),
                                                  (MOODLE_ASSIGNMENT, moodle_students)])
def test_every_student_gets_the_right_status_and_score(graded, assignment, students):
    rows = _export(graded, assignment)
    rows.pop(BY_HAND, None)
    expected = students()
    assert set(rows) == {s.id for s in expected}  # none lost, no extra
    for s in expected:
        row = rows[s.id]
        assert (row["first_name"], row["last_name"], row["email"]) == (s.first, s.last, s.email), row
        assert row["status"] == s.status, row
        assert row["late"] == ("yes" if s.late else ""), row
        if s.status == "graded":
            assert float(row["score"]) == s.score and float(row["max_score"]) == FULL[assignment], row
        else:
            assert row["score"] == "" and s.reason in row["reason"], row


@pytest.mark.slow
def test_export_gives_the_real_reason_for_a_misnamed_notebook(graded):
    row = _export(graded, CANVAS_ASSIGNMENT)[BY_HAND]
    assert row["status"] == "failed" and row["score"] == "", row
    assert (f"notebook `exercise1.ipynb` is not part of {CANVAS_ASSIGNMENT}; expected aggregators.ipynb"
            in row["reason"]), row


@pytest.mark.slow
def test_export_names_the_renamed_notebook(graded):
    rows = _export(graded, CANVAS_ASSIGNMENT)
    assert "exercise1.ipynb" in rows["1009"]["notes"] and "aggregators.ipynb" in rows["1009"]["notes"]
    assert "kept aside" in rows["1008"]["notes"]


@pytest.mark.slow
def test_export_all_canvas_is_a_canvas_gradebook_import(graded, tmp_path):
    out = tmp_path / "canvas.csv"
    proc = course_cli(graded, "export", "--all", "--lms", "canvas", "-o", out)
    assert "left blank" in proc.stdout and "1010" in proc.stdout and "1011" in proc.stdout
    assert f"not on the Canvas roster, so not in the sheet: {BY_HAND}" in proc.stdout
    assert f"{MOODLE_ASSIGNMENT}: collected from Moodle" in proc.stdout
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, points, body = rows[0], rows[1], rows[2:]
    assert header[:5] == CANVAS_COLUMNS and header[5:] == [f"{CANVAS_ASSIGNMENT} (98765)"]
    assert points[0].strip() == "Points Possible" and float(points[5]) == FULL[CANVAS_ASSIGNMENT]
    expected = {s.id: s for s in canvas_students()}
    assert {r[1] for r in body} == set(expected)
    for r in body:
        s = expected[r[1]]
        assert r[0] == f"{s.last}, {s.first}" and r[2] == f"S{s.id}"
        assert r[5] == ("" if s.status != "graded" else f"{s.score:g}"), r
    out0 = tmp_path / "canvas0.csv"
    proc = course_cli(graded, "export", "--all", "--lms", "canvas", "--unscored", "zero", "-o", out0)
    assert "0 written" in proc.stdout
    with open(out0, newline="", encoding="utf-8") as fh:
        zero = {r[1]: r[5] for r in list(csv.reader(fh))[2:]}
    assert zero["1010"] == zero["1011"] == "0"


@pytest.mark.slow
def test_export_all_moodle_is_a_grading_worksheet(graded, tmp_path):
    proc = course_cli(graded, "export", "--all", "--lms", "moodle", "-o", tmp_path)
    path = tmp_path / f"{MOODLE_ASSIGNMENT}-worksheet.csv"
    assert str(path.name) in proc.stdout
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == MOODLE_COLUMNS
        rows = {r["Identifier"]: r for r in reader}
    expected = moodle_students()
    assert set(rows) == {f"Participant {s.id}" for s in expected}
    for s in expected:
        row = rows[f"Participant {s.id}"]
        assert row["Full name"] == f"{s.first} {s.last}" and row["Email address"] == s.email
        assert row["Grade"] == ("" if s.status != "graded" else f"{s.score:.2f}"), row
        assert row["Maximum grade"] == "10.00" and row["Last modified (grade)"]


@pytest.mark.slow
def test_manual_score_is_marked_manual(graded, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(graded, course, symlinks=True)
    from course.instructor.gradebook import open_gradebook
    with open_gradebook(course) as gb:
        grade = gb.find_grade("test_relabel", "aggregators", CANVAS_ASSIGNMENT, "1002")
        grade.manual_score = 1.0
        gb.db.commit()
    course_cli(course, "export", CANVAS_ASSIGNMENT)
    row = _export(course, CANVAS_ASSIGNMENT)["1002"]
    assert row["manual"] == "test_relabel" and float(row["score"]) == 1.0


@pytest.mark.slow
def test_a_newer_download_after_grading_is_not_exported_with_the_old_score(graded, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(graded, course, symlinks=True)
    path = tmp_path / "late.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("nguyenanh_1002_50100_aggregators-2.ipynb", notebook(CANVAS_ASSIGNMENT, "solution"))
    course_cli(course, "zip-collect", CANVAS_ASSIGNMENT, path, "--lms", "canvas")
    course_cli(course, "export", CANVAS_ASSIGNMENT)
    row = _export(course, CANVAS_ASSIGNMENT)["1002"]
    assert row["status"] == "failed" and row["score"] == "" and "autograde" in row["reason"], row
    status = json.loads((course / "downloaded" / CANVAS_ASSIGNMENT / "collected.json").read_text())
    assert status["1002"]["file"].endswith("aggregators-2.ipynb")


@pytest.mark.slow
def test_feedback_counts_students_not_the_status_folder(graded, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(graded, course, symlinks=True)
    proc = course_cli(course, "feedback", CANVAS_ASSIGNMENT)
    graded_ids = sorted(s.id for s in canvas_students() if s.status == "graded")
    assert f"feedback for {len(graded_ids)} submissions" in proc.stdout
    assert sorted(p.parent.name for p in (course / "feedback").glob(f"*/{CANVAS_ASSIGNMENT}")) == graded_ids
