"""The status record of each graded submission: written by autograde, read by feedback, export
and the command line.

One JSON file per submission, ``autograded/.status/<assignment>/<student>.json``, holding the
recorded fields of a :class:`Status` (the student and the assignment are its path).
:func:`load_status` is the one reader of those files, :func:`write_status` the one writer.
"""

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import MissingEntry

from ..verify.submission import review_reasons

__all__ = ["STATUS_DIR", "GRADED", "FAILED", "MISSING", "Status", "status_path", "load_status",
           "write_status", "read_status"]

STATUS_DIR = Path("autograded") / ".status"
GRADED, FAILED, MISSING = "graded", "failed", "missing"


@dataclass
class Status:
    """What grading said about one student's submission of one assignment.

    ``status`` is ``"graded"`` (scores in the gradebook; ``notes`` say what went wrong per
    task), ``"failed"`` (``reason`` says why: corrupt notebook, kernel died, ...; never an
    honest zero) or ``"missing"``. ``scores`` and ``max_scores`` are nbgrader's in-kernel
    points per test cell (keyed by :func:`course.cells.cell_key`), ``verified``
    the result of :func:`course.verify.submission.verify_submission`. ``up_to_date`` and
    ``kept`` describe one autograde run and are not recorded.
    """

    student: str
    assignment: str
    status: str
    reason: str = ""
    notes: list = field(default_factory=list)
    seed: int | None = None
    scores: dict = field(default_factory=dict)
    max_scores: dict = field(default_factory=dict)
    seconds: float | None = None
    verified: dict | None = None
    worker: str | None = None  # the Dask worker that graded it
    fingerprint: str | None = None  # of the job (submission, seed, timeout, grader): "up to date"
    retry: bool | None = None  # grade again even if up to date (the last attempt was lost)
    regrade_failed: dict | None = None  # a failed re-grade that kept this result: reason, seed, worker
    up_to_date: bool = field(default=False, compare=False)  # this run found it current, did not grade
    kept: bool = field(default=False, compare=False)  # this run's re-grade failed; the record was kept

    RECORDED = ("status", "reason", "notes", "seed", "scores", "max_scores", "seconds", "verified",
                "worker", "fingerprint", "retry", "regrade_failed")

    def __post_init__(self):
        if self.status not in (GRADED, FAILED, MISSING):
            raise ValueError(f"`status` must be {GRADED!r}, {FAILED!r} or {MISSING!r}, got {self.status!r}")

    @classmethod
    def from_result(cls, result):
        """The status in ``result``: a worker's result or a record, with ``student`` and ``assignment``.

        Keys that are not fields (a worker's files, notebooks, timestamp) are left out.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in result.items() if k in names}
        for key in ("notes", "scores", "max_scores"):
            if values.get(key) is None:
                values.pop(key, None)
        values.setdefault("reason", "")
        return cls(**values)

    def record(self):
        """The recorded fields, as written to the status file."""
        return {k: getattr(self, k) for k in self.RECORDED}

    def review_reasons(self):
        """Why this submission needs a human look (:func:`course.verify.submission.review_reasons`)."""
        if self.status == MISSING:
            return []
        return review_reasons(self.scores, self.verified, self.status)


def status_path(root, assignment, student):
    """The status file of ``student``'s submission of ``assignment`` in the course directory ``root``."""
    return Path(root) / STATUS_DIR / assignment / f"{student}.json"


def load_status(root, assignment, student):
    """The recorded :class:`Status` of one submission, or ``None`` when none was recorded."""
    path = status_path(root, assignment, student)
    if not path.exists():
        return None
    return Status.from_result(dict(json.loads(path.read_text()), student=student, assignment=assignment))


def write_status(root, status):
    """Record ``status`` (a :class:`Status`); a crash mid-write leaves the old record, never half a new one."""
    path = status_path(root, status.assignment, status.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(status.record(), indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def read_status(root, assignment, student, gb):
    """The :class:`Status` of one submission: the recorded one, or what the course directory says."""
    recorded = load_status(root, assignment, student)
    if recorded is not None:
        return recorded
    if (Path(root) / "autograded" / student / assignment).is_dir():  # graded by plain `nbgrader autograde`
        try:
            gb.find_submission(assignment, student)
            return Status(student, assignment, GRADED,
                          notes=["graded by nbgrader autograde, not python -m course"])
        except MissingEntry:
            pass
    submitted = Path(root) / "submitted" / student / assignment
    if not submitted.is_dir() or not any(submitted.glob("*.ipynb")):
        return Status(student, assignment, MISSING, reason="no submission")
    return Status(student, assignment, FAILED, reason="submitted but not autograded yet")
