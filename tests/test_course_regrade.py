"""Re-grading (issue 11): a failed re-grade keeps the previous result and the manual scores;
each submission's seed is stored in the gradebook and reused unless ``--seed`` is given."""

import random
import shutil

import pytest
from nbgrader.api import MissingEntry
from course_small import ASSIGNMENT, TIMEOUT, export_table, new_course, write_batch

from corpora import synthetic
from course.checks import SEED_ENV
from course.cli import main
from course.instructor import gradebook

pytestmark = pytest.mark.slow


def _autograde(root, *args):
    assert main(["--root", str(root), "autograde", ASSIGNMENT, "--timeout", str(TIMEOUT), *args]) == 0


def test_failed_regrade_keeps_the_previous_result_and_the_manual_score(tmp_path, capsys):
    root = new_course(tmp_path / "course")
    write_batch(root, {"ada": "solution", "bo": "partial"})
    _autograde(root, "--workers", "2", "--seed", "7")
    with gradebook.open_gradebook(root) as gb:
        notebook = gb.find_submission(ASSIGNMENT, "ada").notebooks[0]
        grade = notebook.grades[0]
        cell, nb_name, full = grade.name, notebook.name, grade.max_score
        grade.manual_score = full - 0.5  # a TA took half a point off by hand
        gb.db.commit()
        assert gradebook.manual_grades(gb, ASSIGNMENT, "ada") == {(nb_name, cell): full - 0.5}
        assert gradebook.manual_grades(gb, ASSIGNMENT, "bo") == {}
    _, before = export_table(root)
    assert float(before["ada"]["score"]) == 10 - 0.5
    autograded = sorted(p.name for p in (root / "autograded" / "ada" / ASSIGNMENT).iterdir())

    # the student's file is replaced by a broken one and re-graded: the re-grade fails
    submitted = root / "submitted" / "ada" / ASSIGNMENT
    shutil.rmtree(submitted)
    synthetic.write_submission(root, submitted, ASSIGNMENT, "corrupt")
    capsys.readouterr()
    _autograde(root, "--student", "ada")
    out = capsys.readouterr().out
    assert "ada" in out and "not a valid notebook" in out and "previous result kept" in out

    _, after = export_table(root)
    row = after["ada"]
    assert (row["status"], row["score"], row["seed"]) == ("graded", before["ada"]["score"], "7")
    assert "re-grade failed" in row["notes"] and "not a valid notebook" in row["notes"]
    assert after["bo"] == before["bo"]
    with gradebook.open_gradebook(root) as gb:
        assert gradebook.manual_grades(gb, ASSIGNMENT, "ada") == {(nb_name, cell): full - 0.5}
        assert gb.find_submission(ASSIGNMENT, "ada").score == 10 - 0.5
    assert sorted(p.name for p in (root / "autograded" / "ada" / ASSIGNMENT).iterdir()) == autograded
    assert main(["--root", str(root), "feedback", ASSIGNMENT]) == 0  # the kept result still has feedback

    # a successful re-grade replaces the automatic scores and still keeps the manual one
    shutil.rmtree(submitted)
    synthetic.write_submission(root, submitted, ASSIGNMENT, "solution")
    _autograde(root, "--student", "ada")
    _, again = export_table(root)
    assert (again["ada"]["status"], float(again["ada"]["score"])) == ("graded", 10 - 0.5)
    assert "re-grade failed" not in again["ada"]["notes"]


def test_seed_is_stored_per_submission_and_reused(tmp_path, monkeypatch):
    root = new_course(tmp_path / "course")
    write_batch(root, {"ada": "solution", "bo": "partial"})
    _autograde(root, "--workers", "2", "--seed", "7")
    assert gradebook.stored_seed(root, ASSIGNMENT, "ada") == gradebook.stored_seed(root, ASSIGNMENT, "bo") == 7
    _, rows = export_table(root)
    assert {r["seed"] for r in rows.values()} == {"7"}

    # a later re-grade of one student without --seed uses that student's stored seed,
    # even when the environment names another one (it only seeds first gradings)
    monkeypatch.setenv(SEED_ENV, "11")
    _autograde(root, "--student", "ada")
    _, rows = export_table(root)
    assert (rows["ada"]["seed"], rows["bo"]["seed"]) == ("7", "7")

    # --seed wins, and is stored for the next time
    _autograde(root, "--student", "ada", "--seed", "9")
    assert gradebook.stored_seed(root, ASSIGNMENT, "ada") == 9
    assert gradebook.stored_seed(root, ASSIGNMENT, "bo") == 7
    _autograde(root, "--student", "ada")
    _, rows = export_table(root)
    assert (rows["ada"]["seed"], rows["bo"]["seed"]) == ("9", "7")

    # a student graded for the first time gets the environment's seed
    write_batch(root, {"cy": "solution"})
    _autograde(root, "--student", "cy")
    assert gradebook.stored_seed(root, ASSIGNMENT, "cy") == 11


def _results(root, students, rng, status="graded"):
    """Results as a worker returns them, with random automatic scores for every test cell of the assignment."""
    out = []
    with gradebook.open_gradebook(root) as gb:
        notebooks = gb.find_assignment(ASSIGNMENT).notebooks
        for student in students:
            result = {"student": student, "assignment": ASSIGNMENT, "seed": rng.randrange(1000), "notes": [],
                      "scores": {}, "max_scores": {}, "worker": "w", "fingerprint": f"f-{student}",
                      "status": status, "reason": "" if status == "graded" else "the kernel died"}
            if status == "graded":
                result["timestamp"] = None
                result["notebooks"] = {
                    nb.name: {"late_submission_penalty": None,
                              "grades": {c.name: float(rng.randrange(int(c.max_score) + 1)) for c in nb.grade_cells},
                              "comments": {c.name: f"{student} {c.name}" for c in nb.solution_cells}}
                    for nb in notebooks}
                result["files"] = {f"{nb.name}.ipynb": student.encode() for nb in notebooks}
            out.append(result)
    return out


def _recorded(root, students):
    """What the course recorded of each student: automatic scores, comments, seed, status."""
    from course.instructor.status import load_status
    out = {}
    with gradebook.open_gradebook(root) as gb:
        for student in students:
            try:
                sub = gb.find_submission(ASSIGNMENT, student)
                cells = {(nb.name, g.name): g.auto_score for nb in sub.notebooks for g in nb.grades}
                cells.update({(nb.name, c.name): c.auto_comment for nb in sub.notebooks for c in nb.comments})
            except MissingEntry:
                cells = None
            status = load_status(root, ASSIGNMENT, student)
            out[student] = (cells, gradebook.stored_seed(root, ASSIGNMENT, student),
                            status and (status.status, status.notes, status.seed))
    return out


def test_batched_merge_equals_merging_one_at_a_time(tmp_path):
    """merge_batch (one transaction, the coordinator's way) records exactly what merging each result
    alone records, and what the workers sent; a result that cannot be merged costs only itself."""
    from course.instructor.autograde import merge, merge_batch
    rng = random.Random(17)
    one = new_course(tmp_path / "one")
    batched = shutil.copytree(one, tmp_path / "batched")
    students = [f"s{k}" for k in range(6)]
    first = _results(one, students, rng)
    # then: two failed re-grades (kept), a failure never graded before, two graded again
    second = (_results(one, students[:2], rng, status="failed") + _results(one, ["new"], rng, status="failed")
              + _results(one, students[2:4], rng))
    for result in first + second:
        merge(one, result)
    with gradebook.open_gradebook(batched) as gb:
        merge_batch(batched, first, gb)
        statuses = merge_batch(batched, second, gb)
    everyone = students + ["new"]
    assert _recorded(batched, everyone) == _recorded(one, everyone)
    assert [s.kept for s in statuses] == [True, True, False, False, False]

    recorded = _recorded(batched, everyone)
    latest = {r["student"]: r for r in first + second if r["status"] == "graded"}
    for student, result in latest.items():  # the scores the worker sent, independently of merge
        sent = {(nb, name): score for nb, v in result["notebooks"].items() for name, score in v["grades"].items()}
        assert {k: v for k, v in recorded[student][0].items() if k in sent} == sent
        assert recorded[student][1] == result["seed"]
        assert (batched / "autograded" / student / ASSIGNMENT).is_dir()
    assert recorded["s0"][2][0] == "graded" and "re-grade failed" in recorded["s0"][2][1][-1]
    assert recorded["new"][0] is None and recorded["new"][2][0] == "failed"

    # a batch holding a result the gradebook cannot take: the others are merged, its error is raised
    good, bad = _results(batched, ["late"], rng) + _results(batched, ["odd"], rng)
    bad["notebooks"] = {"no-such-notebook": next(iter(bad["notebooks"].values()))}
    with pytest.raises(MissingEntry, match="no-such-notebook"):
        merge_batch(batched, [good, bad])
    after = _recorded(batched, ["late", "odd"])
    assert after["late"][2][0] == "graded" and after["late"][1] == good["seed"]
    assert after["odd"] == (None, None, None)
