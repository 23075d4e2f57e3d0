"""Verification: each submission's graded functions scored outside the student's kernel.

nbgrader runs the hidden tests in the kernel that ran the student's code, so
that code can blank later cells, patch ``numpy`` or the checks, return objects
that equal anything, or read ``solutions/``. Verification scores the same
functions again, with nothing of the student's in the grader's process:

1. From the *submitted* notebook take the **solution cells only** (nbgrader
   ``solution: true``; a cell that lost its metadata is recognised by the
   function it defines, as in autograde), in notebook order. Cells the student
   added and the test cells are not run: the graded functions must be written
   in the solution cells, as the notebooks ask. The read-only set-up cells
   come from the instructor's notebook (``solutions/``), never the submission.
2. Write them into an empty temporary directory and run them in a
   :class:`~course.verify.sandbox.Sandbox` (fresh process, scrubbed environment,
   limits, no access to the course, the gradebook or other submissions).
   Together they may take one cell timeout.
3. In the grader, run the instructor's set-up cell and then each test cell of
   the instructor's notebook, visible and hidden tests, exactly as the notebook
   would, except that the student's functions are stand-ins calling into the
   sandbox. Inputs go in and results come back as plain arrays and numbers; the
   hidden checks (:mod:`course.checks`: cases from the grading seed, references
   from ``mplib``, comparators, the ``mplib`` tripwire, the in-place
   modification check) run here, in the grader's process. A test cell earns its
   points if it raises nothing, as in nbgrader; each test cell may take one cell
   timeout.

The result lists the verified points per test cell and every *sign* of
tampering (the process died or exited, ran out of time while defining its
functions, tried to start processes or patch libraries, returned objects the
checks do not accept). :func:`review_reasons` compares it with nbgrader's scores.
"""

import contextlib
import io
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from ..checks import SEED_ENV
from ..instructor.cells import cell_key, defined_functions
from .sandbox import Sandbox, SandboxError, SandboxTimeout
from .wire import short

__all__ = ["notebook_spec", "solution_cells", "verify_notebook", "verify_submission", "review_reasons",
           "LIMITS"]

LIMITS = {"memory_mb": int(os.environ.get("COURSE_SANDBOX_MEMORY_MB", "1024")), "file_mb": 16}
RESTARTS = 2  # fresh processes after a crash or timeout in a test cell, before giving up
_SUSPICIOUS = ("SystemExit", "KeyboardInterrupt", "MemoryError", "PermissionError")


def notebook_spec(path):
    """What verification needs from the instructor's notebook ``path`` (in ``solutions/``).

    Returns a dict: ``setup`` (sources of the read-only code cells that are
    not tests), ``solutions`` (``[(grade_id, first function defined)]``),
    ``tests`` (``[(grade_id, points, source)]``) and ``functions`` (every
    function the solution cells define), all in notebook order.
    """
    nb = nbformat.read(str(path), as_version=4)
    spec = {"setup": [], "solutions": [], "tests": [], "functions": []}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            spec["tests"].append((meta["grade_id"], float(meta.get("points", 0)), cell.source))
        elif meta.get("solution"):
            names = defined_functions(cell.source)
            spec["solutions"].append((meta["grade_id"], names[0] if names else None))
            spec["functions"] += [n for n in names if n not in spec["functions"]]
        elif meta.get("locked"):
            spec["setup"].append(cell.source)
    return spec


def solution_cells(nb, spec):
    """``[(grade_id, source)]``: the student's solution cells of ``nb``, in notebook order.

    A cell counts by its ``grade_id`` (the first one wins); a solution cell whose
    metadata is gone is matched by the function it defines, among cells without
    a known ``grade_id``.
    """
    wanted = {gid: name for gid, name in spec["solutions"]}
    known = wanted.keys() | {gid for gid, *_ in spec["tests"]}
    chosen = {}
    code = [(k, c) for k, c in enumerate(nb.cells) if c.cell_type == "code"]
    for k, cell in code:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in wanted and gid not in chosen:
            chosen[gid] = (k, cell.source)
    free = [(k, c) for k, c in code if c.metadata.get("nbgrader", {}).get("grade_id") not in known]
    for gid, name in spec["solutions"]:
        if gid in chosen or not name:
            continue
        for k, cell in free:
            if name in defined_functions(cell.source) and all(k != j for j, _ in chosen.values()):
                chosen[gid] = (k, cell.source)
                break
    return [(gid, src) for gid, (k, src) in sorted(chosen.items(), key=lambda item: item[1][0])]


@contextlib.contextmanager
def _seed(seed):
    old = os.environ.get(SEED_ENV)
    os.environ[SEED_ENV] = str(int(seed))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(SEED_ENV, None)
        else:
            os.environ[SEED_ENV] = old


def verify_notebook(source, submitted, seed, timeout=60, deny=(), limits=None):
    """Score the notebook ``submitted`` against the instructor's ``source`` outside the student's kernel.

    Parameters
    ----------
    source, submitted : path
        The instructor's notebook (with hidden tests) and the student's.
    seed : int
        The grading seed of the hidden tests.
    timeout : float
        Seconds for all the solution cells together, and for each test cell.
    deny : list of path
        Folders the sandbox must never read (the course root).
    limits : dict, optional
        ``memory_mb``, ``file_mb`` of the sandbox (default :data:`LIMITS`).

    Returns
    -------
    dict
        ``scores`` and ``max_scores`` per test cell, ``messages`` (why a cell
        earned nothing), ``signs`` (of tampering), ``notes``, ``isolation``.
    """
    spec = notebook_spec(source)
    limits = dict(LIMITS, **(limits or {}))
    out = {"scores": {}, "max_scores": {gid: pts for gid, pts, _ in spec["tests"]}, "messages": {},
           "signs": [], "notes": [], "isolation": ""}
    try:
        nb = nbformat.read(str(submitted), as_version=4)
    except Exception as err:  # autograde reports corrupt notebooks itself
        out["error"] = f"not a readable notebook ({type(err).__name__})"
        return out
    folder = Path(tempfile.mkdtemp(prefix="course-verify-"))
    files = []
    for k, src in enumerate(spec["setup"]):
        files.append(f"{len(files):02d}_setup{k}.py")
        (folder / files[-1]).write_text(src, encoding="utf-8")
    for gid, src in solution_cells(nb, spec):
        files.append(f"{len(files):02d}_{re.sub(r'[^A-Za-z0-9_]', '_', gid)[:40]}.py")
        (folder / files[-1]).write_text(src, encoding="utf-8")
    cpu = int(timeout * (2 + len(spec["tests"])))
    state = {"box": None, "fatal": "", "restarts": 0}

    def boot():
        if state["box"] is not None:
            _collect(out, state["box"])
            state["box"].close()
        box = Sandbox(folder, memory_mb=limits["memory_mb"], cpu_seconds=cpu, file_mb=limits["file_mb"],
                      deny=deny)
        state["box"] = box
        try:
            box.start(time.monotonic() + max(timeout, 10))
            box.deadline = time.monotonic() + timeout
            errors = box.exec_cells(files)
        except SandboxTimeout:
            box.signs.append(f"its solution cells ran past {timeout:g} s together (one cell's timeout) and "
                             "were stopped")
            raise
        except SandboxError as err:
            box.signs.append(f"while running its solution cells: {err}")
            raise
        if state["restarts"] == 0:
            for name, ename, message in errors:
                if ename in _SUSPICIOUS or "not available when verifying" in message:
                    box.signs.append(f"cell {name[3:-3]} raised {ename}: {message[:120]}")
        out["isolation"] = box.isolation

    ns = {"__name__": "__main__"}

    def stand_in(name):
        def function(*args, **kwargs):
            box = state["box"]
            if box is None or not box.alive:
                raise SandboxError(state["fatal"] or "the sandboxed process is gone")
            return box.call({"name": name}, args, kwargs)
        function.__name__ = function.__qualname__ = name
        return function

    try:
        with _seed(seed), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for src in spec["setup"]:
                exec(compile(src, "<setup>", "exec"), ns)
            ns.update({name: stand_in(name) for name in spec["functions"]})
            try:
                boot()
            except SandboxError as err:
                state["fatal"] = str(err)
            for gid, points, src in spec["tests"]:
                box = state["box"]
                if not state["fatal"] and box is not None and not box.alive:
                    if state["restarts"] >= RESTARTS:
                        state["fatal"] = box.death
                    else:
                        state["restarts"] += 1
                        try:
                            boot()
                        except SandboxError as err:
                            state["fatal"] = str(err)
                if state["fatal"]:
                    out["scores"][gid] = 0.0
                    out["messages"][gid] = f"not run: {state['fatal']}"
                    continue
                state["box"].deadline = time.monotonic() + timeout
                try:
                    exec(compile(src, f"<{gid}>", "exec"), ns)
                except Exception as err:
                    out["scores"][gid] = 0.0
                    out["messages"][gid] = f"{type(err).__name__}: {short(err, 240)}"
                else:
                    out["scores"][gid] = points
                box = state["box"]
                if box.death and "time limit" in box.death:
                    out["notes"].append(f"{gid}: ran past {timeout:g} s and was stopped")
                elif box.death:
                    box.signs.append(f"{box.death} during {gid}")
            box = state["box"]
            if box is not None and box.alive:
                try:
                    box.report()
                except SandboxError:  # it died or broke the protocol: recorded as a sign
                    pass
    finally:
        if state["box"] is not None:
            _collect(out, state["box"])
            state["box"].close()
        shutil.rmtree(folder, ignore_errors=True)
    return out


def _collect(out, box):
    for sign in box.signs:
        if sign not in out["signs"]:
            out["signs"].append(sign)
    box.signs = []


def verify_submission(root, assignment, submitted, seed, timeout=60, limits=None):
    """Verify every notebook of the folder ``submitted`` (one student's ``assignment``).

    Scores are keyed by :func:`course.instructor.cells.cell_key`: the test cell's name, or
    ``notebook/cell`` when the assignment has several notebooks.
    """
    start = time.perf_counter()
    root = Path(root)
    sources = sorted((root / "solutions" / assignment).glob("*.ipynb"))
    result = {"scores": {}, "max_scores": {}, "messages": {}, "signs": [], "notes": [], "isolation": ""}
    for source in sources:
        path = Path(submitted) / source.name
        if not path.exists():
            one = {"scores": {g: 0.0 for g, *_ in notebook_spec(source)["tests"]},
                   "max_scores": {g: p for g, p, _ in notebook_spec(source)["tests"]},
                   "messages": {}, "signs": [], "notes": [f"{source.name} was not submitted"], "isolation": ""}
        else:
            one = verify_notebook(source, path, seed, timeout, deny=[root.resolve()], limits=limits)
        if one.get("error"):
            result["error"] = one["error"]
        for field in ("scores", "max_scores", "messages"):
            result[field].update({cell_key(source.stem, k, len(sources)): v for k, v in one[field].items()})
        result["signs"] += [cell_key(source.stem, s, len(sources)) for s in one["signs"]]
        result["notes"] += [cell_key(source.stem, s, len(sources)) for s in one["notes"]]
        result["isolation"] = result["isolation"] or one["isolation"]
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result


def review_reasons(nbgrader_scores, verified, status="graded"):
    """Why a submission needs a human look (empty list: it does not).

    ``nbgrader_scores`` are the in-kernel points per test cell (``None`` when
    nbgrader failed), ``verified`` the result of :func:`verify_submission`
    (``None`` when verification did not run).
    """
    if verified is None:
        return ["not verified outside the kernel (graded before verification existed, or by plain "
                "nbgrader autograde): autograde again"] if status == "graded" else []
    if verified.get("error"):
        return [f"verification failed: {verified['error']}"]
    reasons = []
    if status == "graded":
        missing = [cell for cell in (nbgrader_scores or {}) if cell not in verified["scores"]]
        if missing:
            reasons.append(f"not verified: {', '.join(missing)} (not in the instructor's notebook)")
        for cell, got in verified["scores"].items():
            kernel = (nbgrader_scores or {}).get(cell)
            if kernel is None or abs(float(kernel) - float(got)) > 1e-9:
                why = verified["messages"].get(cell, "")
                reasons.append(f"{cell}: nbgrader {_pts(kernel)}, verified {_pts(got)}" + (f" ({why})" if why else ""))
    elif verified["signs"]:
        total = sum(verified["scores"].values())
        reasons.append(f"nbgrader could not grade it; verified {_pts(total)} of {_pts(sum(verified['max_scores'].values()))}")
    reasons += [f"sandbox: {s}" for s in verified["signs"]]
    return reasons


def _pts(value):
    return "-" if value is None else f"{float(value):g}"
