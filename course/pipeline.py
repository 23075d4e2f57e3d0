"""The instructor's steps: release, collect, zip-collect, autograde, feedback, export.

Each function takes the course root (the directory holding ``nbgrader_config.py``)
and runs real nbgrader commands there; ``python -m course <step>`` calls them.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import grading
from .nbgrader_plugins import MARKERS

__all__ = ["release", "collect", "zip_collect", "autograde", "feedback", "export", "roster",
           "assignments", "find_leaks"]


class PipelineError(RuntimeError):
    """A step could not be completed; the message says why and what to do."""


def nbgrader(root, *args, seed=None, timeout=None, check=True):
    """Run ``nbgrader <args>`` in ``root``; return the completed process."""
    env = dict(os.environ, **grading.tool_env(seed, timeout))
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise PipelineError(f"`nbgrader {' '.join(args)}` failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    return proc


def assignments(root):
    """Names of the assignments: the directories of ``solutions/`` holding a notebook."""
    src = Path(root) / "solutions"
    return sorted(p.name for p in src.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def find_leaks(path, solution_root=None):
    """Lines of files under ``path`` that leak a marker or hidden-test text; empty when clean.

    Checks ``.ipynb`` and ``.html`` files for the nbgrader markers and the hidden
    check call (``course.checks``).
    """
    needles = list(MARKERS) + ["course.checks", "from course"]
    leaks = []
    for file in sorted(Path(path).rglob("*")):
        if file.suffix not in (".ipynb", ".html") or not file.is_file():
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        for needle in needles:
            if needle in text:
                leaks.append(f"{file}: contains {needle!r}")
    return leaks


def _convert(root, kind, assignment, student="*"):
    """Run nbgrader's ``generate_assignment`` or ``generate_feedback`` converter in this process."""
    import logging
    from nbgrader.converters import GenerateAssignment, GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log
    from traitlets.config.loader import PyFileConfigLoader

    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):  # nbgrader runs `alembic` from PATH
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    coursedir = CourseDirectory(config=config, root=str(root))
    coursedir.assignment_id, coursedir.student_id = assignment, student
    log = logging.getLogger(f"course.{kind}")
    log.propagate = False
    cls = {"generate_assignment": GenerateAssignment, "generate_feedback": GenerateFeedback}[kind]
    app = cls(coursedir=coursedir, config=config, log=log)
    app.force = True
    result = capture_log(app)
    if not result["success"]:
        raise PipelineError(f"nbgrader {kind} {assignment} failed:\n{result.get('log', '')[-3000:]}"
                            f"{result.get('error', '')[-3000:]}")


def release(root, names=None):
    """Generate ``exercises/<assignment>`` from ``solutions/`` (and record it in the gradebook)."""
    names = names or assignments(root)
    for name in names:
        _convert(root, "generate_assignment", name, ".")
        leaks = find_leaks(Path(root) / "exercises" / name)
        if leaks:
            raise PipelineError("the release leaks hidden content:\n" + "\n".join(leaks))
    return names


def _ensure_in_gradebook(root, assignment):
    from nbgrader.api import Gradebook, MissingEntry
    db = Path(root) / "gradebook.db"
    if db.exists():
        with Gradebook(f"sqlite:///{db}") as gb:
            try:
                gb.find_assignment(assignment)
                return
            except MissingEntry:
                pass
    release(root, [assignment])


def collect(root, assignment, source=None):
    """Copy submissions into ``submitted/<student>/<assignment>/``.

    With ``source``: a directory with one folder per student, holding the
    notebooks directly or in an ``<assignment>/`` subfolder. Without: nbgrader's
    exchange (``nbgrader collect``, for JupyterHub set-ups).
    """
    if source is None:
        nbgrader(root, "collect", assignment)
        return sorted(p.parent.name for p in (Path(root) / "submitted").glob(f"*/{assignment}"))
    students = []
    for folder in sorted(Path(source).iterdir()):
        if not folder.is_dir():
            continue
        inner = folder / assignment if (folder / assignment).is_dir() else folder
        files = [f for f in inner.iterdir() if f.is_file()]
        if not files:
            continue
        dest = Path(root) / "submitted" / folder.name / assignment
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for f in files:
            shutil.copy2(f, dest / f.name)
        students.append(folder.name)
    return students


def zip_collect(root, assignment, archives):
    """Collect an LMS download (zip files or loose notebooks) with ``nbgrader zip_collect``.

    The files go to ``downloaded/<assignment>/archive/``; file names must match
    ``FileNameCollectorPlugin.named_regexp`` in ``nbgrader_config.py``.
    """
    archive_dir = Path(root) / "downloaded" / assignment / "archive"
    archive_dir.mkdir(parents=True, exist_ok=True)
    for item in map(Path, archives):
        if item.is_dir():
            shutil.copytree(item, archive_dir / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, archive_dir / item.name)
    nbgrader(root, "zip_collect", assignment, "--force")
    return sorted(p.parent.name for p in (Path(root) / "submitted").glob(f"*/{assignment}"))


def roster(root, assignment):
    """Every student: those in the gradebook plus those with a submission folder."""
    from nbgrader.api import Gradebook
    students = {p.parent.name for p in (Path(root) / "submitted").glob(f"*/{assignment}") if p.is_dir()}
    db = Path(root) / "gradebook.db"
    if db.exists():
        with Gradebook(f"sqlite:///{db}") as gb:
            students |= {s.id for s in gb.students}
    return sorted(students)


def autograde(root, assignment, students=None, workers=None, seed=None, timeout=None, progress=sys.stderr):
    """Autograde every submission in parallel (see :mod:`course.grading`); return the results.

    ``assignment`` may be a list: all their submissions then share one pool of workers.
    """
    names = [assignment] if isinstance(assignment, str) else list(assignment)
    jobs = []
    for name in names:
        _ensure_in_gradebook(root, name)
        jobs += [(name, student) for student in (students or roster(root, name))]
    return grading.autograde(root, jobs, workers=workers, seed=seed, timeout=timeout, progress=progress)


def feedback(root, assignment):
    """HTML feedback for every graded submission, checked for leaks of hidden content."""
    graded = sorted(p.parent.name for p in (Path(root) / "autograded").glob(f"*/{assignment}"))
    if not graded:
        raise PipelineError(f"nothing autograded for {assignment!r}; run autograde first")
    _convert(root, "generate_feedback", assignment)
    leaks = find_leaks(Path(root) / "feedback")
    if leaks:
        raise PipelineError("the feedback leaks hidden content:\n" + "\n".join(leaks))
    return graded


def _status(root, assignment, student, gb):
    from nbgrader.api import MissingEntry
    path = grading.status_path(root, assignment, student)
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


def export(root, assignment, output=None):
    """Write ``grades/<assignment>.csv``: one row per student, per-task scores and a status.

    Columns: ``student_id, status, reason, score, max_score, review, review_reason,
    nbgrader_score, <one per test cell>, seed, notes``. Scores are empty unless
    the status is ``graded``. The per-task scores are the verified ones (scored
    outside the student's kernel, :mod:`course.verify`), unless the instructor
    entered a manual score; ``nbgrader_score`` is the in-kernel total. ``review``
    is ``yes`` when the two disagree, when the sandbox saw signs of tampering, or
    when a graded submission was not verified; ``review_reason`` says why.
    """
    from .verify import review_reasons
    from nbgrader.api import Gradebook, MissingEntry
    root = Path(root)
    output = Path(output) if output else root / "grades" / f"{assignment}.csv"
    db = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(db) as gb:
        nbs = gb.find_assignment(assignment).notebooks
        cells = []  # in notebook order
        for nb in nbs:
            points = {c.name: c.max_score for c in nb.grade_cells}
            cells += [(nb.name, c.name, points[c.name]) for c in nb.source_cells if c.name in points]
        multi = len(nbs) > 1
        columns = [f"{n}/{c}" if multi else c for n, c, _ in cells]
        rows = []
        for student in roster(root, assignment):
            status = _status(root, assignment, student, gb)
            row = {"student_id": student, "status": status["status"], "reason": status.get("reason", ""),
                   "seed": status.get("seed", ""), "notes": " | ".join(status.get("notes", []))}
            verified = status.get("verified")
            if status["status"] == "graded":
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
                    checked = (verified or {}).get("scores", {})
                    for (nb, cell, _), column in zip(cells, columns):
                        grade = gb.find_grade(cell, nb, assignment, student)
                        score = grade.score
                        if grade.manual_score is None and column in checked:
                            score = checked[column]
                        row[column] = score
                        total += score
                        kernel += grade.auto_score or 0.0
                    row["score"], row["nbgrader_score"] = total, kernel
            if status["status"] != "missing":
                reasons = review_reasons(status.get("scores"), verified, row["status"])
                row["review"] = "yes" if reasons else ""
                row["review_reason"] = " | ".join(reasons)
            row["max_score"] = sum(m for *_, m in cells)
            rows.append(row)
    output.parent.mkdir(parents=True, exist_ok=True)
    fields = ["student_id", "status", "reason", "score", "max_score", "review", "review_reason",
              "nbgrader_score"] + columns + ["seed", "notes"]
    with open(output, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k, "")) for k in fields})
    return output, rows


def _fmt(value):
    if isinstance(value, float):
        return f"{value:g}"
    return value
