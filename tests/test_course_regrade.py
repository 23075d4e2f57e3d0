"""Re-grading (issue 11): a failed re-grade keeps the previous result and the manual scores;
each submission's seed is stored in the gradebook and reused unless ``--seed`` is given."""

import shutil

import pytest
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
