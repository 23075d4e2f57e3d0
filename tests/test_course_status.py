"""The status record of a graded submission (course.instructor.status)."""

import json

import pytest
from nbgrader.api import MissingEntry

from course.instructor.status import (
    FAILED, GRADED, MISSING, STATUS_DIR, Status, load_status, read_status, status_path, write_status,
)


def _graded(**changes):
    values = dict(student="ada", assignment="01_aggregators", status=GRADED, notes=["relabel: NameError"],
                  seed=7, scores={"test_relabel": 0.0, "test_scatter_sum": 2.0},
                  max_scores={"test_relabel": 1.0, "test_scatter_sum": 2.0}, seconds=3.5,
                  verified={"scores": {"test_relabel": 0.0, "test_scatter_sum": 2.0}, "messages": {},
                            "signs": [], "max_scores": {}},
                  worker="tcp://127.0.0.1:1", fingerprint="abc")
    values.update(changes)
    return Status(**values)


class Gradebook:
    """Just enough of nbgrader's Gradebook: which submissions it holds."""

    def __init__(self, submissions=()):
        self.submissions = set(submissions)

    def find_submission(self, assignment, student):
        if (assignment, student) not in self.submissions:
            raise MissingEntry()
        return object()


def test_status_write_then_load_gives_the_same_record(tmp_path):
    status = _graded(up_to_date=True, kept=True)
    write_status(tmp_path, status)
    loaded = load_status(tmp_path, "01_aggregators", "ada")
    assert loaded == status  # equal on every recorded field
    assert (loaded.up_to_date, loaded.kept) == (False, False)  # what one run did is not recorded
    assert [p.name for p in status_path(tmp_path, "01_aggregators", "ada").parent.iterdir()] == ["ada.json"]


def test_status_file_holds_exactly_the_recorded_fields(tmp_path):
    write_status(tmp_path, Status("bo", "04_wl", FAILED, reason="kernel died"))
    path = tmp_path / STATUS_DIR / "04_wl" / "bo.json"
    data = json.loads(path.read_text())
    assert sorted(data) == sorted(Status.RECORDED)
    assert data["status"] == "failed" and data["reason"] == "kernel died"
    assert data["seed"] is None and data["scores"] == {} and data["notes"] == []


def test_status_from_result_keeps_the_fields_and_drops_the_payload():
    result = {"student": "cy", "assignment": "04_wl", "status": "graded", "reason": "", "seed": 3,
              "notes": None, "scores": {"t": 1.0}, "max_scores": {"t": 1.0}, "files": {"wl.ipynb": b"{}"},
              "notebooks": {"wl": {}}, "timestamp": "2026-01-01", "work": "/tmp/x"}
    status = Status.from_result(result)
    assert status == Status("cy", "04_wl", GRADED, seed=3, scores={"t": 1.0}, max_scores={"t": 1.0})
    assert status.notes == []


def test_status_rejects_an_unknown_status():
    with pytest.raises(ValueError, match="`status` must be 'graded', 'failed' or 'missing', got 'done'"):
        Status("ada", "01_aggregators", "done")


def test_read_status_says_why_there_is_no_record(tmp_path):
    gb = Gradebook()
    assert read_status(tmp_path, "01_aggregators", "ada", gb) == \
        Status("ada", "01_aggregators", MISSING, reason="no submission")
    folder = tmp_path / "submitted" / "ada" / "01_aggregators"
    folder.mkdir(parents=True)
    (folder / "aggregators.ipynb").write_text("{}")
    assert read_status(tmp_path, "01_aggregators", "ada", gb).status == FAILED
    (tmp_path / "autograded" / "ada" / "01_aggregators").mkdir(parents=True)
    assert read_status(tmp_path, "01_aggregators", "ada", gb).status == FAILED  # folder, no gradebook entry
    by_nbgrader = read_status(tmp_path, "01_aggregators", "ada", Gradebook({("01_aggregators", "ada")}))
    assert by_nbgrader.status == GRADED and "nbgrader autograde" in by_nbgrader.notes[0]
    write_status(tmp_path, _graded())
    assert read_status(tmp_path, "01_aggregators", "ada", gb) == _graded()  # the record wins


def test_status_review_reasons():
    assert _graded().review_reasons() == []
    assert _graded(scores={"test_relabel": 1.0, "test_scatter_sum": 2.0}).review_reasons() == \
        ["test_relabel: nbgrader 1, verified 0"]
    assert "not verified outside the kernel" in _graded(verified=None).review_reasons()[0]
    assert Status("ada", "01_aggregators", MISSING).review_reasons() == []
