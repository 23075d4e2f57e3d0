"""Autograding on a Dask cluster: submissions shipped to workers, results merged by one coordinator.

nbgrader grades one submission after another in one process, all writing to
one gradebook. Here each submission is one task of :mod:`course.instructor.engine`
(the workers of a Dask scheduler given with ``--cluster``, else a local cluster
of worker processes):

1. :func:`ship` (the coordinator) packs a job: the course's ``nbgrader_config.py``,
   the assignment's sources (``solutions/<assignment>/``), a small SQLite gradebook
   holding only the assignment's cells, the submission's files, the seed and the
   cell timeout. A job names no path of the course directory: a worker needs only
   the installed package, never a shared file system.
2. :func:`grade_job` (a worker) unpacks it into a private scratch directory, runs
   nbgrader's ``Autograde`` there, verifies the submission outside the student's
   kernel in the same sandbox as always (:mod:`course.verify`), and returns the
   autograded notebooks, the scores and the verification.
3. :func:`merge_batch` (the coordinator, the results that have arrived so far,
   in one transaction of the gradebook it keeps open for the run) writes them
   into the course's gradebook (wherever nbgrader's ``db_url`` points: SQLite or
   PostgreSQL), ``autograded/`` and the status record. The gradebook has a
   single writer, and a result is merged whole or not at all (its scores and
   seed in one commit, its status record last).

Each status is ``graded`` (with notes on what went wrong per task), ``failed``
(with the reason: corrupt notebook, kernel died, worker lost, ...) or ``missing``;
a crashed notebook is never recorded as an honest zero. A re-grade that fails
keeps the previous result and its manual scores (the status notes the failed
attempt). Each submission's seed is stored in the gradebook and reused by later
re-grades unless ``--seed`` is given. A run without ``--student`` or ``--force``
grades only what has no up-to-date result (same submission, sources, seed,
timeout and grader code), so a run after a crash picks up where it stopped.
"""

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbgrader.api import Comment, Grade, MissingEntry, Student, SubmittedAssignment, SubmittedNotebook
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from nbgrader.utils import capture_log, parse_utc
from traitlets.config.loader import PyFileConfigLoader

from ..cells import cell_key
from ..checks import DEFAULT_SEED, SEED_ENV
from ..verify.submission import verify_submission
from . import engine
from .gradebook import copy_assignments, ensure_seed_table, has_gradebook, open_gradebook, open_url, roster, \
    store_seed, stored_seeds
from .kernels import FastExecute, start_zygote
from .plugins import NOTE
from .release import release
from .status import GRADED, Status, load_status, write_status
from .tools import PACKAGE_ROOT, tool_env

__all__ = ["autograde", "grade_all", "ship", "grade_job", "merge", "merge_batch", "check_notebook_file",
           "fingerprint"]


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


# jupyter_client's words for a kernel that never became ready (before any cell of the notebook ran)
_NOT_STARTED = ("Kernel died before replying to kernel_info", "Kernel didn't respond in")
KERNEL_ATTEMPTS = 3  # tries to start a kernel for one submission before it is reported failed


def _kernel_not_started(error, log):
    """``True`` when nbgrader failed because the kernel never started, which no submission causes.

    A kernel can fail to start for reasons of the machine, e.g. one of the five ports
    jupyter_client picked for it was taken by another process before the kernel bound it.
    """
    text = (error or "") + "\n" + (log or "")
    return any(words in text for words in _NOT_STARTED)


def _failure_reason(error, log):
    """Turn nbgrader's traceback and log into one line for the export."""
    text = (error or "") + "\n" + (log or "")
    if _kernel_not_started(error, log):
        return ("the notebook's kernel could not start on this machine (not a fault of the submission; "
                f"{KERNEL_ATTEMPTS} attempts); autograde again")
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


# -- the coordinator's side: what a worker receives ------------------------------------------------

def _files(folder):
    """``{relative path: bytes}`` of every file under ``folder`` (none when it does not exist)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


_GRADING_CODE = ("course/checks", "course/verify", "course/instructor/autograde.py",
                 "course/instructor/plugins.py", "course/instructor/kernels.py",
                 "course/instructor/zygote.py", "course/cells.py",
                 "mplib")


def _grader_version():
    """Hash of the installed code that decides a grade (hidden checks, verification, nbgrader
    plug-ins, the reference ``mplib``): results of another grader are not up to date."""
    digest = hashlib.sha256()  # computed for each batch: the code may change between two runs of a process
    for part in _GRADING_CODE:
        base = Path(PACKAGE_ROOT) / part
        for path in sorted(base.rglob("*.py")) if base.is_dir() else [base]:
            if path.exists():
                digest.update(path.relative_to(PACKAGE_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint(job, grader=None):
    """What a result depends on: config, sources, submission, seed, timeout and the grader's code
    (``grader``: :func:`_grader_version`, computed here when not given)."""
    digest = hashlib.sha256()
    parts = [job["assignment"], job["student"], str(job["seed"]), str(job["timeout"]),
             grader or _grader_version(), job["config"]]
    for part in parts:
        digest.update(part.encode() + b"\0")
    for group in ("sources", "submission"):
        for name, data in sorted(job[group].items()):
            digest.update(f"{group}/{name}".encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def _first_seed():
    """The seed of a submission graded for the first time: ``$COURSE_GRADING_SEED`` or the default."""
    value = os.environ.get(SEED_ENV)
    try:
        return int(value) if value not in (None, "") else DEFAULT_SEED
    except ValueError:
        raise ValueError(f"${SEED_ENV}: expected an integer seed, got {value!r}") from None


def ship(root, pairs, seed=None, timeout=None, gb=None):
    """The jobs grading ``pairs`` (``(assignment, student)``), each self-contained (see the module doc).

    ``seed`` given: every job uses it; else each submission's stored seed, or
    :func:`_first_seed` for a submission never graded. ``gb``: the course's gradebook,
    when the caller has it open.
    """
    if gb is None:
        with open_gradebook(root) as gb:
            return ship(root, pairs, seed, timeout, gb)
    root = Path(root).resolve()
    pairs = list(pairs)
    names = sorted({a for a, _ in pairs})
    config = (root / "nbgrader_config.py").read_text(encoding="utf-8")
    scratch = {}  # one scratch gradebook per assignment, built once: every job of it ships the same bytes
    with tempfile.TemporaryDirectory(prefix="course-ship-") as tmp:
        seeds = {name: stored_seeds(gb, name) for name in names}
        for name in names:
            copy_assignments(gb, [name], Path(tmp) / f"{name}.db")
            scratch[name] = (Path(tmp) / f"{name}.db").read_bytes()
    first = _first_seed() if seed is None else None
    sources = {name: _files(root / "solutions" / name) for name in names}
    grader = _grader_version()
    jobs = []
    for assignment, student in pairs:
        job = {"assignment": assignment, "student": student,
               "seed": int(seed) if seed is not None else seeds[assignment].get(student, first),
               "timeout": None if timeout is None else int(timeout), "config": config,
               "sources": sources[assignment], "gradebook": scratch[assignment],
               "submission": _files(root / "submitted" / student / assignment),
               # not shipped to read: the worker's sandbox flags any attempt to open it
               "course_root": str(root)}
        job["fingerprint"] = fingerprint(job, grader)
        jobs.append(job)
    return jobs


# -- the worker's side ------------------------------------------------------------------------------

_LOCK = threading.Lock()  # one submission at a time per process: grading sets os.environ
_ZYGOTE_LOCK = threading.Lock()  # the zygote is started by the first of: worker set-up, first job
_FAST_KERNELS = None


def _fast_kernels():
    """Start this process's kernel zygote once (kernels forked warm); ``False`` where it cannot.

    Returns at once: the zygote imports in the background, and the first kernel waits for it.
    """
    global _FAST_KERNELS
    with _ZYGOTE_LOCK:
        if _FAST_KERNELS is None:
            _FAST_KERNELS = False
            if os.environ.get("COURSE_FAST_KERNELS", "1") != "0":
                try:  # the environment grading sets (seeds and timeouts aside: each kernel gets its own)
                    start_zygote(env=dict(os.environ, **tool_env()))
                    _FAST_KERNELS = True
                except OSError:  # no fork here: plain kernels
                    pass
    return _FAST_KERNELS


def _scratch_parent():
    """Where a worker unpacks jobs: its Dask local directory, else the temporary directory."""
    try:
        from distributed import get_worker  # imported where used: see course.instructor.engine
        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


def _write_files(folder, files):
    """Write ``{relative path: bytes}`` under ``folder`` (paths leaving it are refused)."""
    for name, data in files.items():
        parts = Path(name).parts
        if not parts or Path(name).is_absolute() or ".." in parts:
            raise ValueError(f"refusing a file name outside its folder: {name!r}")
        path = Path(folder, *parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def grade_job(job):
    """Autograde and verify one shipped submission (runs on a worker; see :func:`ship`).

    Returns the result: ``status``, ``reason``, ``notes``, ``scores`` and
    ``max_scores`` per test cell, ``verified``, and for a graded submission the
    autograded files (``files``) and what the gradebook needs (``timestamp``,
    ``notebooks``). Never raises for a fault of the submission or the grader.
    """
    with _LOCK:
        start = time.perf_counter()
        assignment, student = job["assignment"], job["student"]
        result = {"student": student, "assignment": assignment, "seed": job["seed"], "notes": [],
                  "scores": {}, "max_scores": {}, "worker": engine.worker_name(),
                  "fingerprint": job.get("fingerprint")}
        work = Path(tempfile.mkdtemp(prefix=f"course-grade-{assignment}-", dir=_scratch_parent()))
        try:
            return _grade(job, work, result, start)
        except Exception as err:  # a fault of the grader here, not of the student: try again later
            return dict(result, status="failed", retry=True,
                        reason=f"grading crashed on worker {result['worker']}: {type(err).__name__}: "
                               f"{' '.join(str(err).split())[:200]}")
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _grade(job, work, result, start):
    assignment, student, seed = job["assignment"], job["student"], job["seed"]
    submitted = work / "submitted" / student / assignment
    _write_files(submitted, job["submission"])
    notebooks = sorted(submitted.glob("*.ipynb"))
    if not notebooks:
        return dict(result, status="missing", reason="no notebook in the submission")
    broken = [r for r in map(check_notebook_file, notebooks) if r]
    if broken:
        return dict(result, status="failed", reason="; ".join(broken))
    (work / "nbgrader_config.py").write_text(job["config"], encoding="utf-8")
    _write_files(work / "solutions" / assignment, job["sources"])
    (work / "gradebook.db").write_bytes(job["gradebook"])
    db = f"sqlite:///{work / 'gradebook.db'}"

    os.environ.update(tool_env(seed, job["timeout"]))
    fast = _fast_kernels()
    log = logging.getLogger(f"course.autograde.{student}")
    log.propagate = False
    log.setLevel(logging.INFO)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(work)).load_config()
    config.CourseDirectory.root = str(work)
    config.CourseDirectory.db_url = db  # the scratch copy, never the course's database
    if fast:  # same execution, kernels forked from this worker's warm zygote
        config.Autograde.autograde_preprocessors = [
            FastExecute if pp is Execute else pp for pp in config.Autograde.autograde_preprocessors]
    for _ in range(KERNEL_ATTEMPTS):
        coursedir = CourseDirectory(config=config, root=str(work))
        coursedir.assignment_id, coursedir.student_id = assignment, student
        app = Autograde(coursedir=coursedir, config=config, log=log)
        app.force, app.create_student = True, True
        with warnings.catch_warnings():  # SQLAlchemy 2 chatter from nbgrader's own session handling
            warnings.simplefilter("ignore")
            outcome = capture_log(app)
        if outcome["success"] or not _kernel_not_started(outcome.get("error"), outcome.get("log")):
            break  # else the machine's fault, not the submission's: grade it again from scratch
    logtext = outcome.get("log", "")
    result["notes"] = [ln.split(NOTE, 1)[1].strip() for ln in logtext.splitlines() if NOTE in ln]
    result["seconds"] = round(time.perf_counter() - start, 2)
    cell_timeout = config.Execute.timeout if isinstance(config.Execute.timeout, (int, float)) else 60
    try:
        result["verified"] = verify_submission(work, assignment, submitted, seed, cell_timeout,
                                                deny=[job["course_root"]] if job.get("course_root") else [])
    except Exception as err:  # a fault of the grader, not of the student: the export asks for a review
        result["verified"] = {"error": f"{type(err).__name__}: {' '.join(str(err).split())[:200]}"}
    if not outcome["success"]:
        return dict(result, status="failed", reason=_failure_reason(outcome.get("error"), logtext),
                    retry=_kernel_not_started(outcome.get("error"), logtext) or None)

    notebooks = {}
    with warnings.catch_warnings(), open_url(db) as gb:
        warnings.simplefilter("ignore")
        sub = gb.find_submission(assignment, student)
        result["timestamp"] = sub.timestamp
        for nb in sub.notebooks:
            notebooks[nb.name] = {"late_submission_penalty": nb.late_submission_penalty,
                                  "grades": {g.name: g.auto_score for g in nb.grades},
                                  "comments": {c.name: c.auto_comment for c in nb.comments}}
            for grade in nb.grades:
                key = cell_key(nb.name, grade.name, len(sub.notebooks))
                result["scores"][key] = grade.auto_score
                result["max_scores"][key] = grade.max_score
    graded = work / "autograded" / student / assignment
    for path in sorted(graded.glob("*.ipynb")):
        result["notes"] += _cell_notes(path)
    return dict(result, status="graded", reason="", notebooks=notebooks, files=_files(graded))


# -- the coordinator's side: merging ------------------------------------------------------------

def _replace_folder(dest, files):
    """Make ``dest`` hold exactly ``files``, switching over in one rename (never half-written)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-", dir=dest.parent))
    _write_files(new, files)
    old = dest.parent / f".{dest.name}.old-{os.getpid()}"
    if dest.exists():
        os.rename(dest, old)
    os.rename(new, dest)
    shutil.rmtree(old, ignore_errors=True)


def _has_submission(gb, assignment, student):
    try:
        gb.find_submission(assignment, student)
        return True
    except MissingEntry:
        return False


def _cell_ids(gb, assignment):
    """``{notebook: ({grade or task cell: id}, {solution or task cell: id})}`` of ``assignment``
    (the cells nbgrader's ``find_grade`` and ``find_comment`` look up by name), read once per
    open gradebook: a release never runs during a merge."""
    cache = gb.__dict__.setdefault("_course_cells", {})
    if assignment not in cache:
        cache[assignment] = {
            nb.name: ({c.name: c.id for c in [*nb.grade_cells, *nb.task_cells]},
                      {c.name: c.id for c in [*nb.solution_cells, *nb.task_cells]})
            for nb in gb.find_assignment(assignment).notebooks}
    return cache[assignment]


def _student(gb, student):
    """nbgrader's ``update_or_create_student``, without its commit (the merge commits once)."""
    try:
        return gb.find_student(student)
    except MissingEntry:
        row = Student(id=student)
        gb.db.add(row)
        return row


def _submission(gb, assignment, student, timestamp):
    """nbgrader's ``update_or_create_submission`` (a new one mirrors the assignment's notebooks,
    grades and comments, as ``add_submission`` does), without its commits."""
    try:
        sub = gb.find_submission(assignment, student)
        sub.timestamp = parse_utc(timestamp)
        return sub
    except MissingEntry:
        pass
    sub = SubmittedAssignment(assignment=gb.find_assignment(assignment), student=gb.find_student(student),
                              timestamp=parse_utc(timestamp))
    for notebook in sub.assignment.notebooks:
        nb = SubmittedNotebook(notebook=notebook, assignment=sub)
        for cell in notebook.grade_cells:
            Grade(cell_id=cell.id, notebook=nb)
        for cell in notebook.solution_cells:
            Comment(cell_id=cell.id, notebook=nb)
        for cell in notebook.task_cells:
            Comment(cell_id=cell.id, notebook=nb)
            Grade(cell_id=cell.id, notebook=nb)
    gb.db.add(sub)
    return sub


def _remove_submission(gb, assignment, student):
    """nbgrader's ``remove_submission`` (its notebooks, grades and comments too), without its commits."""
    try:
        sub = gb.find_submission(assignment, student)
    except MissingEntry:  # nothing recorded yet
        return
    for nb in sub.notebooks:
        for row in [*nb.grades, *nb.comments, nb]:
            gb.db.delete(row)
    gb.db.delete(sub)


def _lookup(rows, cells, name, what):
    try:
        return rows[cells[name]]
    except KeyError:
        raise MissingEntry(f"No such {what}: {name}") from None


def _merge_scores(gb, root, result):
    """The gradebook's part of merging ``result`` (no commit); returns what the files' part needs."""
    student, assignment = result["student"], result["assignment"]
    dest = Path(root) / "autograded" / student / assignment
    previous = load_status(root, assignment, student)
    _student(gb, student)
    keep = (result["status"] == "failed" and previous is not None and previous.status == GRADED
            and dest.is_dir() and _has_submission(gb, assignment, student))
    if result["status"] == "graded":
        sub = _submission(gb, assignment, student, result.get("timestamp"))
        submitted = {nb.name: nb for nb in sub.notebooks}
        cells = _cell_ids(gb, assignment)
        for nb_name, nb in result["notebooks"].items():
            if nb_name not in submitted or nb_name not in cells:
                raise MissingEntry(f"No such submitted notebook: {nb_name}/{assignment} for {student}")
            target = submitted[nb_name]
            target.late_submission_penalty = nb["late_submission_penalty"]
            grades = {g.cell_id: g for g in target.grades}
            comments = {c.cell_id: c for c in target.comments}
            for name, auto in nb["grades"].items():
                g = _lookup(grades, cells[nb_name][0], name, "grade")
                g.auto_score = auto
                g.needs_manual_grade = g.manual_score is not None or g.auto_score is None
            for name, text in nb["comments"].items():
                _lookup(comments, cells[nb_name][1], name, "comment").auto_comment = text
        store_seed(gb, assignment, student, result["seed"], commit=False)
    elif not keep:
        _remove_submission(gb, assignment, student)
        store_seed(gb, assignment, student, result["seed"], commit=False)
    return previous, keep


def _merge_files(root, result, previous, keep):
    """The course directory's part of merging ``result``: ``autograded/``, feedback, status (last)."""
    root, student, assignment = Path(root), result["student"], result["assignment"]
    dest = root / "autograded" / student / assignment
    stale_feedback = root / "feedback" / student / assignment
    status = Status.from_result(result)
    if status.status == GRADED:
        _replace_folder(dest, result["files"])
        shutil.rmtree(stale_feedback, ignore_errors=True)
        write_status(root, status)
    elif keep:
        note = (f"re-grade failed ({status.reason}; seed {status.seed}); the previous result "
                f"(seed {previous.seed}) is kept")
        write_status(root, dataclasses.replace(
            previous, notes=[n for n in previous.notes if not n.startswith("re-grade failed")] + [note],
            regrade_failed={"reason": status.reason, "seed": status.seed, "worker": status.worker},
            fingerprint=None if status.retry else status.fingerprint))
        status.kept = True
    else:
        for old in (dest, stale_feedback):
            shutil.rmtree(old, ignore_errors=True)
        write_status(root, status)
    return status


def merge_batch(root, results, gb=None):
    """Merge workers' results into the course; return their :class:`Status`, in order.

    The gradebook part of all of them is one transaction of ``gb`` (the course's
    gradebook, opened here when not given; the coordinator keeps one open for a
    whole run), then each result's files and status record are written. A graded
    result replaces the automatic scores (manual ones stay). A failed re-grade of
    a submission that has a graded result keeps that result, its manual scores
    and seed, and notes the failed attempt (:attr:`Status.kept`). The status
    record is written last, so a submission whose merge was cut short counts as
    not graded and is graded again by the next run. When the transaction fails,
    the results are merged one by one, so only the one at fault is not merged
    (and its error is raised).
    """
    results = list(results)
    if gb is None:
        with open_gradebook(root) as gb:
            return merge_batch(root, results, gb)
    ensure_seed_table(gb)  # before the transaction below: creating it inside would wait for its lock
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy chatter from nbgrader's own session handling
        try:
            plans = [_merge_scores(gb, root, result) for result in results]
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            if len(results) == 1:
                raise
            return [status for result in results for status in merge_batch(root, [result], gb)]
    return [_merge_files(root, result, *plan) for result, plan in zip(results, plans)]


def merge(root, result, gb=None):
    """Merge one worker's result into the course (see :func:`merge_batch`); return its :class:`Status`."""
    return merge_batch(root, [result], gb)[0]


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


def _up_to_date(root, job, graded):
    """The recorded :class:`Status` of ``job``'s submission when it is a result of exactly this job, else None."""
    status = load_status(root, job["assignment"], job["student"])
    if status is None or status.fingerprint != job["fingerprint"] or status.retry:
        return None
    if status.status == GRADED and job["student"] not in graded:
        return None  # the gradebook lost it
    return status


def _lost(job, error):
    """The result of a job that could not finish on any worker."""
    return {"student": job["student"], "assignment": job["assignment"], "seed": job["seed"],
            "status": "failed", "retry": True, "notes": [], "scores": {}, "max_scores": {},
            "fingerprint": job["fingerprint"], "worker": None,
            "reason": f"the grading task was lost ({type(error).__name__}: "
                      f"{' '.join(str(error).split())[:200]}); autograde again"}


TIMINGS_ENV = "COURSE_TIMINGS"  # a file path: grade_all writes where the coordinator's time went (JSON)


class _Clock:
    """Where the coordinator's time goes: wall and CPU seconds (this process, all its threads:
    the Dask client and, for a local cluster, the scheduler) at each step, and the merges."""

    def __init__(self):
        self.marks = {"enter": (time.time(), time.process_time())}
        self.merges = {"results": 0, "batches": 0, "wall": 0.0, "cpu": 0.0}

    def mark(self, name):
        self.marks.setdefault(name, (time.time(), time.process_time()))

    @contextmanager
    def merging(self, n):
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.merges["wall"] += time.perf_counter() - wall
        self.merges["cpu"] += time.process_time() - cpu
        self.merges["results"] += n
        self.merges["batches"] += 1

    def write(self, path, **extra):
        """``marks``: ``{step: [epoch seconds, CPU seconds of this process since it started]}``."""
        Path(path).write_text(json.dumps(dict(extra, marks=self.marks, merges=self.merges), indent=1))


def grade_all(root, pairs, workers=None, seed=None, timeout=None, progress=True, cluster=None,
              force=False):
    """Grade the submissions ``pairs`` (``(assignment, student)``) on a Dask cluster.

    ``cluster``: address of a running scheduler; ``None``: a local cluster of
    ``workers`` processes (default: the CPU count). Without ``force`` a
    submission whose recorded result is up to date (same submission, sources,
    seed, timeout and grader) is not graded again; its result comes back with
    ``up_to_date`` set. Returns one :class:`Status` per pair, sorted by assignment and student.

    The coordinator keeps the course's gradebook open for the whole run and merges
    the results that have arrived together (:func:`merge_batch`: one transaction);
    each worker starts its kernel zygote as it joins the cluster. With
    ``$COURSE_TIMINGS`` naming a file, the run writes there where the coordinator's
    time went (:class:`_Clock`; ``benchmarks/bench_autograde.py`` prints it).
    """
    clock = _Clock()
    root = Path(root).resolve()
    pairs = list(dict.fromkeys(pairs))  # a submission named twice is graded once
    if progress is True:  # the stream of this call, not of import time (a test may capture it)
        progress = sys.stderr
    if cluster:
        cluster = engine.check_address(cluster)
    results, todo, missing = [], [], []
    n = 0
    with open_gradebook(root) as gb:
        jobs = ship(root, pairs, seed=seed, timeout=timeout, gb=gb)
        graded = {}
        if not force:
            for name in {j["assignment"] for j in jobs}:
                graded[name] = {s.student.id for s in gb.find_assignment(name).submissions}
        for job in jobs:
            status = None if force else _up_to_date(root, job, graded[job["assignment"]])
            if status is not None:
                results.append(dataclasses.replace(status, up_to_date=True))
            elif not any(name.endswith(".ipynb") for name in job["submission"]):
                missing.append(dict(job_result(job), status="missing", reason="no notebook in the submission"))
            else:
                todo.append(job)
        results += merge_batch(root, missing, gb) if missing else []
        clock.mark("shipped")
        if todo:
            counts, start, done = {}, time.perf_counter(), 0
            n = workers if cluster else min(workers or os.cpu_count() or 1, len(todo))
            with engine.client(cluster, n, setup=_fast_kernels) as conn:
                clock.mark("cluster")
                for batch in engine.run(conn, grade_job, todo,
                                        key=lambda j: f"grade-{j['assignment']}-{j['student']}"):
                    clock.mark("first result")
                    arrived = [result if error is None else _lost(job, error) for job, result, error in batch]
                    with clock.merging(len(arrived)):
                        statuses = merge_batch(root, arrived, gb)
                    for status in statuses:
                        results.append(status)
                        done += 1
                        counts[status.status] = counts.get(status.status, 0) + 1
                        if progress:
                            _progress(done, len(todo), counts, start, progress)
                clock.mark("last merge")
    clock.mark("exit")
    if os.environ.get(TIMINGS_ENV):
        clock.write(os.environ[TIMINGS_ENV], graded=len(todo), workers=n, cluster=cluster)
    return sorted(results, key=lambda r: (r.assignment, r.student))


def job_result(job):
    """An empty result for ``job`` (what :func:`merge` needs besides the status)."""
    return {"student": job["student"], "assignment": job["assignment"], "seed": job["seed"], "notes": [],
            "scores": {}, "max_scores": {}, "fingerprint": job["fingerprint"], "worker": None}


def _ensure_in_gradebook(root, assignment):
    if has_gradebook(root):
        with open_gradebook(root) as gb:
            try:
                gb.find_assignment(assignment)
                return
            except MissingEntry:
                pass
    release(root, [assignment])


def autograde(root, assignment, students=None, workers=None, seed=None, timeout=None, progress=True,
              cluster=None, force=False):
    """Autograde the submissions of ``assignment`` (see :func:`grade_all`); return their :class:`Status`.

    ``assignment`` may be a list: all their submissions then share one cluster.
    Naming ``students`` grades them again whatever their recorded result.
    """
    names = [assignment] if isinstance(assignment, str) else list(assignment)
    pairs = []
    for name in names:
        _ensure_in_gradebook(root, name)
        pairs += [(name, student) for student in (students or roster(root, name))]
    return grade_all(root, pairs, workers=workers, seed=seed, timeout=timeout, progress=progress,
                     cluster=cluster, force=force or bool(students))
