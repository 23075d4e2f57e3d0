"""Step ``autograde``: each submission in its own temporary course directory, then verified.

nbgrader grades one submission after another in one process, all writing to
one SQLite gradebook. Here a pool of worker processes grades submissions side
by side, each in a private copy of the course directory (config, a link to
``solutions/``, a snapshot of ``gradebook.db`` and that one submission), so the
workers never share a database. The parent process then merges each result
into the real gradebook and ``autograded/`` one at a time, and records a
status: ``graded`` (with notes on what went wrong per task) or ``failed``
(with the reason: corrupt notebook, kernel died, ...). A crashed notebook is
never recorded as an honest zero.

After nbgrader, the same worker verifies the submission outside the student's
kernel (:mod:`course.verify`); the verified scores, and the signs of
tampering, are recorded in the status file next to nbgrader's scores, and the
export uses them.
"""

import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from nbgrader.utils import capture_log
from traitlets.config.loader import PyFileConfigLoader

from ..checks import DEFAULT_SEED
from ..verify.submission import verify_submission
from .cells import cell_key
from .gradebook import gradebook_path, has_gradebook, open_gradebook, roster
from .kernels import FastExecute, start_zygote
from .plugins import NOTE
from .release import release
from .status import write_status
from .tools import PACKAGE_ROOT, tool_env

__all__ = ["autograde", "grade_all", "grade_one", "merge", "check_notebook_file"]


def check_notebook_file(path):
    """``None`` if ``path`` is a readable, valid notebook, else the reason it is not."""
    try:
        with open(path, encoding="utf-8") as fh:
            nb = nbformat.read(fh, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # any failure to read means "corrupt"
        text = " ".join(str(err).split()) or type(err).__name__
        return f"{Path(path).name} is not a valid notebook ({type(err).__name__}: {text[:100]})"
    return None


def _failure_reason(error, log):
    """Turn nbgrader's traceback and log into one line for the export."""
    text = (error or "") + "\n" + (log or "")
    if "DeadKernelError" in text or "Kernel died" in text or "kernel died" in text:
        return "the kernel died while running the notebook (e.g. exit() or os._exit in a cell)"
    if "UnresponsiveKernelError" in text or "kernel became unresponsive" in text:
        return "the kernel stopped responding and could not be interrupted"
    if "CellTimeoutError" in text:
        return "a cell ran past the timeout and could not be recovered"
    lines = [ln for ln in (error or "").strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else "nbgrader failed"
    return f"nbgrader could not grade the notebook: {last[:200]}"


def _cell_notes(notebook_path):
    """One note per error in a graded or solution cell of the autograded notebook."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    notes = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        name = meta.get("grade_id", f"cell {cell.get('id', '?')}")
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                value = " ".join(str(out.evalue).split())
                if len(value) > 240:
                    value = value[:237] + "..."
                notes.append(f"{name}: {out.ename}: {value}" if value else f"{name}: {out.ename}")
    return notes


def _verify(root, assignment, submitted, seed, timeout):
    """Verified scores of one submission (:func:`course.verify.verify_submission`); never raises."""
    try:
        return verify_submission(root, assignment, submitted, seed, timeout)
    except Exception as err:  # a fault of the grader, not of the student: the export asks for a review
        return {"error": f"{type(err).__name__}: {' '.join(str(err).split())[:200]}"}


def grade_one(root, assignment, student, base_db, workdir, seed, timeout):
    """Autograde one submission in a private course directory, then verify it (runs in a worker process)."""
    start = time.perf_counter()
    root, work = Path(root), Path(workdir) / f"course-{assignment}-{student}"
    result = {"student": student, "assignment": assignment, "seed": seed, "notes": [],
              "scores": {}, "max_scores": {}, "work": str(work)}
    submitted = root / "submitted" / student / assignment
    notebooks = sorted(submitted.glob("*.ipynb"))
    if not notebooks:
        return dict(result, status="missing", reason="no notebook in the submission")
    broken = [r for r in map(check_notebook_file, notebooks) if r]
    if broken:
        return dict(result, status="failed", reason="; ".join(broken))

    if work.exists():
        shutil.rmtree(work)
    (work / "submitted" / student).mkdir(parents=True)
    shutil.copy(root / "nbgrader_config.py", work / "nbgrader_config.py")
    os.symlink(root / "solutions", work / "solutions")
    shutil.copy(base_db, gradebook_path(work))
    shutil.copytree(submitted, work / "submitted" / student / assignment)

    os.environ.update(tool_env(seed, timeout))

    log = logging.getLogger(f"course.autograde.{student}")
    log.propagate = False
    log.setLevel(logging.INFO)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(work)).load_config()
    if _FAST_KERNELS:  # same execution, kernels forked from this worker's warm zygote
        config.Autograde.autograde_preprocessors = [
            FastExecute if pp is Execute else pp for pp in config.Autograde.autograde_preprocessors]
    coursedir = CourseDirectory(config=config, root=str(work))
    coursedir.assignment_id, coursedir.student_id = assignment, student
    app = Autograde(coursedir=coursedir, config=config, log=log)
    app.force, app.create_student = True, True
    outcome = capture_log(app)
    logtext = outcome.get("log", "")
    result["notes"] = [ln.split(NOTE, 1)[1].strip() for ln in logtext.splitlines() if NOTE in ln]
    result["seconds"] = round(time.perf_counter() - start, 2)
    cell_timeout = config.Execute.timeout if isinstance(config.Execute.timeout, (int, float)) else 60
    result["verified"] = _verify(root, assignment, submitted, seed, cell_timeout)
    if not outcome["success"]:
        return dict(result, status="failed", reason=_failure_reason(outcome.get("error"), logtext))

    with open_gradebook(work) as gb:
        sub = gb.find_submission(assignment, student)
        for nb in sub.notebooks:
            for grade in nb.grades:
                key = cell_key(nb.name, grade.name, len(sub.notebooks))
                result["scores"][key] = grade.auto_score
                result["max_scores"][key] = grade.max_score
    for path in sorted((work / "autograded" / student / assignment).glob("*.ipynb")):
        result["notes"] += _cell_notes(path)
    return dict(result, status="graded", reason="")


def merge(root, result):
    """Copy one worker's result into the course's gradebook and ``autograded/``; write its status."""
    root, student, assignment = Path(root), result["student"], result["assignment"]
    work = Path(result["work"])
    dest = root / "autograded" / student / assignment
    stale_feedback = root / "feedback" / student / assignment
    for old in (dest, stale_feedback):
        if old.exists():
            shutil.rmtree(old)
    with warnings.catch_warnings(), open_gradebook(root) as main:
        warnings.simplefilter("ignore")  # SQLAlchemy chatter from nbgrader's own session handling
        main.update_or_create_student(student)
        if result["status"] != "graded":
            try:
                main.remove_submission(assignment, student)
            except Exception:  # nothing recorded yet
                pass
        else:
            with open_gradebook(work) as gb:
                sub = gb.find_submission(assignment, student)
                main.update_or_create_submission(assignment, student, timestamp=sub.timestamp)
                for nb in sub.notebooks:
                    target = main.find_submission_notebook(nb.name, assignment, student)
                    target.late_submission_penalty = nb.late_submission_penalty
                    for grade in nb.grades:
                        g = main.find_grade(grade.name, nb.name, assignment, student)
                        g.auto_score = grade.auto_score
                        g.needs_manual_grade = g.manual_score is not None or g.auto_score is None
                    for comment in nb.comments:
                        main.find_comment(comment.name, nb.name, assignment, student).auto_comment = \
                            comment.auto_comment
                main.db.commit()
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(work / "autograded" / student / assignment, dest)
    write_status(root, result)
    if work.exists():
        shutil.rmtree(work, ignore_errors=True)


def _progress(done, total, counts, start, stream):
    width = 30
    filled = int(width * done / max(total, 1))
    rate = (time.perf_counter() - start) / max(done, 1)
    eta = rate * (total - done)
    summary = "  ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    end = "\n" if done == total else ""
    stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {summary}  "
                 f"eta {eta:4.0f} s{end}")
    stream.flush()


def _context():
    """Workers forked from a server that imported nbgrader once (cheaper than a fresh import each)."""
    try:
        ctx = get_context("forkserver")
    except ValueError:  # no forkserver on this platform
        return get_context("spawn")
    ctx.set_forkserver_preload(["course.instructor.autograde", "course.instructor.kernels",
                                "nbgrader.converters", "nbgrader.api", "nbclient", "nbgrader.preprocessors",
                                "course.instructor.plugins"])
    return ctx


_FAST_KERNELS = False


def _init_worker(env):
    global _FAST_KERNELS
    os.environ.update(env)
    sys.path.insert(0, PACKAGE_ROOT)
    # kernels inherit the worker's stdout/stderr: keep their chatter off the progress bar
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    if os.environ.get("COURSE_FAST_KERNELS", "1") != "0":
        try:
            start_zygote()
            _FAST_KERNELS = True
        except OSError:  # no fork: plain kernels
            pass


def grade_all(root, jobs, workers=None, seed=None, timeout=None, progress=sys.stderr):
    """Grade the submissions ``jobs`` (pairs ``(assignment, student)``) with ``workers`` processes.

    Returns the list of results (one dict per job, with ``status``), sorted by
    assignment and student. The course's ``gradebook.db`` must already know the
    assignments (``python -m course release``).
    """
    root = Path(root).resolve()
    seed = DEFAULT_SEED if seed is None else int(seed)
    workers = workers or os.cpu_count() or 1
    env = tool_env(seed, timeout)
    results, counts = [], {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="course-autograde-") as tmp:
        base_db = Path(tmp) / "base.db"
        shutil.copy(gradebook_path(root), base_db)
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context(),
                                 initializer=_init_worker, initargs=(env,)) as pool:
            futures = {pool.submit(grade_one, str(root), a, s, str(base_db), tmp, seed, timeout): (a, s)
                       for a, s in jobs}
            for k, future in enumerate(as_completed(futures), 1):
                assignment, student = futures[future]
                try:
                    result = future.result()
                except Exception as err:  # a worker crashed: record it, keep going
                    result = {"student": student, "assignment": assignment, "status": "failed",
                              "reason": f"grading crashed: {type(err).__name__}: {err}", "notes": [],
                              "seed": seed, "scores": {}, "max_scores": {},
                              "work": str(Path(tmp) / f"course-{assignment}-{student}")}
                merge(root, result)
                results.append(result)
                counts[result["status"]] = counts.get(result["status"], 0) + 1
                if progress:
                    _progress(k, len(futures), counts, start, progress)
    return sorted(results, key=lambda r: (r["assignment"], r["student"]))


def _ensure_in_gradebook(root, assignment):
    if has_gradebook(root):
        with open_gradebook(root) as gb:
            try:
                gb.find_assignment(assignment)
                return
            except MissingEntry:
                pass
    release(root, [assignment])


def autograde(root, assignment, students=None, workers=None, seed=None, timeout=None, progress=sys.stderr):
    """Autograde every submission in parallel (see :func:`grade_all`); return the results.

    ``assignment`` may be a list: all their submissions then share one pool of workers.
    """
    names = [assignment] if isinstance(assignment, str) else list(assignment)
    jobs = []
    for name in names:
        _ensure_in_gradebook(root, name)
        jobs += [(name, student) for student in (students or roster(root, name))]
    return grade_all(root, jobs, workers=workers, seed=seed, timeout=timeout, progress=progress)
