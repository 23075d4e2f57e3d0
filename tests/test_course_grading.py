"""The instructor's pipeline through real nbgrader runs, in a temporary course directory.

One batch is graded once per test session (shared by pytest-xdist workers through a
file lock): release of every assignment, the faulty corpus of corpora.synthetic plus
honest submissions, parallel autograde, feedback and export.
"""

import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from course_batch import export_rows, shared_batch, solution_lines

from corpora import synthetic
from course.checks import DEFAULT_SEED
from course.cli import main
from course.instructor.autograde import autograde
from course.instructor.collect import collect, zip_collect
from course.instructor.export import export
from course.instructor.feedback import feedback
from course.instructor.release import find_leaks, release

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ["01_aggregators", "02_message_passing", "03_attention"]
FULL = {"01_aggregators": 10, "02_message_passing": 10, "03_attention": 8}
TIMEOUT = 12  # seconds per cell in the batch (the infinite loop costs this once)
AGAIN = ("partial", "mutating", "delegating")


def _build(root):
    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions", root / "solutions", ignore=shutil.ignore_patterns("README.md"))
    release(root, ASSIGNMENTS)
    for variant in synthetic.CORPUS:
        synthetic.write_submission(root, root / "submitted" / variant.name / ASSIGNMENTS[0], ASSIGNMENTS[0],
                                   variant.name)
    for name in AGAIN:  # the same submission twice in one batch: grading must agree
        shutil.copytree(root / "submitted" / name, root / "submitted" / f"again-{name}")
    for name in ASSIGNMENTS:
        for student in ("solution", "release"):
            synthetic.write_submission(root, root / "submitted" / student / name, name, student)
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.add_student("absent")  # on the roster, never submitted
    results = {name: {} for name in ASSIGNMENTS}
    for r in autograde(root, ASSIGNMENTS, workers=2, seed=DEFAULT_SEED, timeout=TIMEOUT, progress=None):
        results[r.assignment][r.student] = {k: getattr(r, k) for k in ("status", "reason", "notes", "scores")}
    for name in ASSIGNMENTS:
        feedback(root, name)
        export(root, name)
    (root / "results.json").write_text(json.dumps(results))


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    return shared_batch(tmp_path_factory, "course-batch", _build, done="results.json")




def _autograded(root, student, assignment):
    path, = (root / "autograded" / student / assignment).glob("*.ipynb")
    return nbformat.read(str(path), as_version=4)


def test_release_matches_committed_exercises(batch):
    for name in ASSIGNMENTS:
        fresh = sorted(p.relative_to(batch) for p in (batch / "exercises" / name).rglob("*") if p.is_file())
        committed = sorted(p.relative_to(ROOT) for p in (ROOT / "exercises" / name).rglob("*") if p.is_file())
        assert fresh == committed, f"{name}: files differ; run `python -m course release {name}`"
        for rel in fresh:
            assert (batch / rel).read_bytes() == (ROOT / rel).read_bytes(), \
                f"exercises/{rel} drifted from solutions/; run `python -m course release {name}`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_solution_or_hidden_tests(assignment):
    assert find_leaks(ROOT / "exercises" / assignment) == []
    text = "".join(p.read_text() for p in (ROOT / "exercises" / assignment).glob("*.ipynb"))
    leaked = [line for line in solution_lines(assignment) if line in text]
    assert leaked == []
    assert "raise NotImplementedError()" in text


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_gets_full_marks(batch, assignment):
    row = export_rows(batch, assignment)["solution"]
    assert row["status"] == "graded", row["reason"]
    assert (row["status"], float(row["score"]), float(row["max_score"])) == ("graded", FULL[assignment],
                                                                              FULL[assignment])
    assert row["notes"] == ""


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_gets_zero_and_raises_only_at_the_stubs(batch, assignment):
    row = export_rows(batch, assignment)["release"]
    assert row["status"] == "graded", row["reason"]
    assert (row["status"], float(row["score"])) == ("graded", 0)
    errors = [out for cell in _autograded(batch, "release", assignment).cells if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"]
    assert errors and {e.ename for e in errors} == {"NotImplementedError"}


@pytest.mark.parametrize("variant", synthetic.CORPUS, ids=lambda v: v.name)
def test_corpus_submission_gets_the_right_score_and_a_reason(batch, variant):
    row = export_rows(batch, ASSIGNMENTS[0])[variant.name]
    assert row["status"] == variant.status, row
    if variant.status == "graded":
        assert float(row["score"]) == variant.score, row
        tasks = [k for k in row if k.startswith("test_")]
        assert sum(float(row[k]) for k in tasks) == float(row["score"])
        assert variant.phrase in row["notes"], row["notes"]
    else:
        assert row["score"] == "" and all(row[k] == "" for k in row if k.startswith("test_"))
        assert variant.phrase in row["reason"], row["reason"]


def test_huge_output_is_truncated(batch):
    path, = (batch / "autograded" / "huge-output" / ASSIGNMENTS[0]).glob("*.ipynb")
    assert path.stat().st_size < 300_000


def test_missing_submissions_are_marked_missing(batch):
    assert export_rows(batch, ASSIGNMENTS[0])["absent"]["status"] == "missing"
    rows = export_rows(batch, ASSIGNMENTS[1])
    assert rows["partial"]["status"] == "missing" and rows["partial"]["score"] == ""


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_shows_no_hidden_tests_or_solutions(batch, assignment):
    files = list((batch / "feedback").glob(f"*/{assignment}/*.html"))
    assert files
    assert find_leaks(batch / "feedback") == []
    text = "".join(f.read_text() for f in (batch / "feedback" / "release" / assignment).glob("*.html"))
    assert [line for line in solution_lines(assignment) if line in text] == []
    for f in files:
        html = f.read_text()
        assert "course/checks" not in html and "registry.py" not in html and "run(&#39;" not in html and "run('" not in html


def test_feedback_reports_hidden_test_failures(batch):
    # `hardcoded` passes the visible test of scatter_sum and fails its hidden one (`partial`
    # is now caught by the visible float32 check before any hidden test runs)
    html, = (batch / "feedback" / "hardcoded" / ASSIGNMENTS[0]).glob("*.html")
    assert "hidden test of `scatter_sum` failed" in html.read_text()
    failed = [v.name for v in synthetic.CORPUS if v.status == "failed"]
    assert not any((batch / "feedback" / name / ASSIGNMENTS[0]).exists() for name in failed)


def test_grading_is_deterministic(batch):
    results = json.loads((batch / "results.json").read_text())[ASSIGNMENTS[0]]
    for name in AGAIN:
        assert results[name]["status"] == "graded"
        assert results[f"again-{name}"] == results[name]


def test_cli_export(batch, tmp_path, capsys):
    out = tmp_path / "grades.csv"
    assert main(["--root", str(batch), "export", ASSIGNMENTS[0], "-o", str(out)]) == 0
    assert "rows to" in capsys.readouterr().out
    header = out.read_text().splitlines()[0].split(",")
    assert header[:5] == ["student_id", "status", "reason", "score", "max_score"]
    assert "test_scatter_sum" in header and header[-2:] == ["seed", "notes"]


def test_collect_from_folder_and_zip(batch, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(batch / "nbgrader_config.py", course)
    shutil.copytree(batch / "exercises", course / "exercises")
    notebook = batch / "exercises" / ASSIGNMENTS[0] / "aggregators.ipynb"
    lms = tmp_path / "lms"
    lms.mkdir()
    with zipfile.ZipFile(lms / "download.zip", "w") as zf:
        zf.write(notebook, "alice_aggregators.ipynb")
    shutil.copy(notebook, lms / "bob_late_2024-10-01_aggregators.ipynb")
    students = zip_collect(course, ASSIGNMENTS[0], [lms / "download.zip", lms / "bob_late_2024-10-01_aggregators.ipynb"])
    assert students.students() == ["alice", "bob"]
    assert (course / "submitted" / "alice" / ASSIGNMENTS[0] / "aggregators.ipynb").exists()

    folder = tmp_path / "folder"
    (folder / "carol").mkdir(parents=True)
    shutil.copy(notebook, folder / "carol")
    assert collect(course, ASSIGNMENTS[0], folder).students() == ["carol"]
    assert re.search("NotImplementedError",
                     (course / "submitted" / "carol" / ASSIGNMENTS[0] / "aggregators.ipynb").read_text())
