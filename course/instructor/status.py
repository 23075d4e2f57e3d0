"""The status of each graded submission, recorded by autograde and read by the export.

One JSON file per submission, ``autograded/.status/<assignment>/<student>.json``.
"""

import json
import os
from pathlib import Path

from nbgrader.api import MissingEntry

__all__ = ["STATUS_DIR", "status_path", "write_status", "read_status"]

STATUS_DIR = Path("autograded") / ".status"


def status_path(root, assignment, student):
    return Path(root) / STATUS_DIR / assignment / f"{student}.json"


def write_status(root, result):
    """Record the status of one autograded submission (``result`` of the autograde step)."""
    status = {k: result.get(k) for k in ("status", "reason", "notes", "seed", "scores", "max_scores",
                                         "seconds", "verified", "worker", "fingerprint", "retry",
                                         "regrade_failed")}
    path = status_path(root, result["assignment"], result["student"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")  # a crash mid-write leaves the old record, never half a new one
    tmp.write_text(json.dumps(status, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def read_status(root, assignment, student, gb):
    """The recorded status of one submission, or what the course directory says about it."""
    path = status_path(root, assignment, student)
    if path.exists():
        return json.loads(path.read_text())
    if (Path(root) / "autograded" / student / assignment).is_dir():  # graded by plain `nbgrader autograde`
        try:
            gb.find_submission(assignment, student)
            return {"status": "graded", "reason": "", "notes": ["graded by nbgrader autograde, not python -m course"]}
        except MissingEntry:
            pass
    submitted = Path(root) / "submitted" / student / assignment
    if not submitted.is_dir() or not any(submitted.glob("*.ipynb")):
        return {"status": "missing", "reason": "no submission", "notes": []}
    return {"status": "failed", "reason": "submitted but not autograded yet", "notes": []}
