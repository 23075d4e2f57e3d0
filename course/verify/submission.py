"""Verification: each submission's graded functions scored outside the student's kernel.

nbgrader runs the hidden tests in the kernel that ran the student's code, so
that code can blank later cells, patch ``numpy`` or the checks, return objects
that equal anything, or read ``solutions/``. Verification scores the same
functions again, with nothing of the student's in the grader's process:

1. Take every code cell of the *submitted* notebook, in notebook order: the
   solution cells and the cells the student added run as written (IPython
   syntax turned into Python by IPython's own input transformer, so
   ``%timeit`` and ``%matplotlib inline`` work; see :mod:`course.verify.runner`
   for which magics run), the read-only set-up cells with the instructor's
   source (``solutions/``), as autograde restores them. Test cells are never
   taken from the submission.
2. Run those cells, one at a time, in a :class:`~course.verify.sandbox.Sandbox`
   (fresh process, scrubbed environment, limits, no access to the course, the
   gradebook or other submissions). Each may take one cell timeout
   (nbgrader's ``Execute.timeout``); a cell past it is interrupted and the
   notebook goes on, as in nbgrader. A cell that fails does not stop the
   others.
3. Where a test cell sits, the grader runs the instructor's test cell, visible
   and hidden tests, exactly as the notebook would, except that the student's
   functions are stand-ins calling into the sandbox. Inputs go in and results
   come back as plain arrays and numbers; the hidden checks
   (:mod:`course.checks`: cases from the grading seed, references from
   ``mplib``, comparators, the ``mplib`` tripwire, the in-place modification
   check) run here, in the grader's process. A test cell earns its points if
   it raises nothing, as in nbgrader; each test cell may take one cell
   timeout. When it fails because a name is missing, the message says which
   cell should have defined it and how that cell failed (:func:`explain`).

The result lists the verified points per test cell and every *sign* of
tampering (the process died or exited, ran out of time while defining its
functions, tried to start processes or patch libraries, returned objects the
checks do not accept). :func:`review_reasons` compares it with nbgrader's scores.
"""

import ast
import contextlib
import io
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..checks import seed_scope
from ..cells import cell_key, defined_functions
from .sandbox import Sandbox, SandboxError, SandboxTimeout
from .wire import short

__all__ = ["notebook_spec", "solution_cells", "run_plan", "to_python", "explain", "verify_notebook",
           "verify_submission", "review_reasons", "exported_scores", "score_note", "LIMITS"]

LIMITS = {"memory_mb": int(os.environ.get("COURSE_SANDBOX_MEMORY_MB", "1024")), "file_mb": 16}
RESTARTS = 2  # fresh processes after a crash or a cell that could not be interrupted, before giving up
GRACE = 5  # seconds a cell past its time has to stop after the interrupt, before its process is killed
_SUSPICIOUS = ("SystemExit", "KeyboardInterrupt", "MemoryError", "PermissionError")


def notebook_spec(path):
    """What verification needs from the instructor's notebook ``path`` (in ``solutions/``).

    Returns a dict: ``setup`` (sources of the read-only code cells that are
    not tests) and ``setup_ids`` (their ``grade_id``), ``solutions``
    (``[(grade_id, first function defined)]``), ``tests`` (``[(grade_id,
    points, source)]``) and ``functions`` (every function the solution cells
    define), all in notebook order.
    """
    nb = nbformat.read(str(path), as_version=4)
    spec = {"setup": [], "setup_ids": [], "solutions": [], "tests": [], "functions": []}
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
            spec["setup_ids"].append(meta.get("grade_id"))
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


@dataclass
class Cell:
    """One code cell of the submission that runs in the sandbox."""

    number: int  # position in the notebook, counting every cell from 1 (what the student can count)
    kind: str  # "setup" (the instructor's read-only cell), "solution", or "added" (no grade id of ours)
    grade_id: str
    source: str  # what the student wrote (the instructor's source for a set-up cell)
    python: str = ""  # ``source`` with its IPython syntax turned into Python
    file: str = ""
    error: str = ""  # "line 2: NameError: ..." when the cell failed
    error_line: int = 0  # the line of the cell where it failed (0: unknown)
    interrupted: bool = False
    stopped: str = ""  # the sandbox died or was killed during this cell

    @property
    def label(self):
        if self.kind == "solution":
            return f"the solution cell `{self.grade_id}` (cell {self.number})"
        if self.kind == "setup":
            return f"the read-only cell `{self.grade_id}` (cell {self.number})"
        return f"an added cell (cell {self.number})"

    def failure(self):
        """How the cell failed, in words (empty when it ran to the end)."""
        if self.stopped:
            return f"it {self.stopped}"
        if self.interrupted:
            return "it ran past the time limit of a cell and was interrupted"
        return f"it failed at {self.error}" if self.error else ""


_TRANSFORMER = []


def to_python(source):
    """``source`` with IPython syntax (``%magic``, ``%%cell magic``, ``!shell``, ``obj?``) as plain Python.

    Uses IPython's own input transformer, as the notebook's kernel does; without
    IPython the source is returned as it is.
    """
    if not _TRANSFORMER:
        try:
            from IPython.core.inputtransformer2 import TransformerManager
            _TRANSFORMER.append(TransformerManager())
        except ImportError:
            _TRANSFORMER.append(None)
    manager = _TRANSFORMER[0]
    if manager is None or not any(ch in source for ch in "%!?"):
        return source
    try:
        return manager.transform_cell(source)
    except Exception:  # what IPython cannot transform fails in the kernel as well, as a SyntaxError
        return source


def run_plan(nb, spec):
    """The notebook in the order it runs: ``[("cell", Cell) | ("test", grade_id)]``.

    Every code cell of the submission runs, in notebook order: the student's
    solution cells and the cells they added run in the sandbox, the read-only
    set-up cells too (with the instructor's source, as autograde restores it);
    a test cell is run by the grader, with its original source, where it sits.
    Set-up cells the student deleted run first, deleted test cells last (where
    nbgrader puts them back).
    """
    tests = [gid for gid, *_ in spec["tests"]]
    setup = dict(zip(spec["setup_ids"], spec["setup"]))
    solutions = {gid for gid, _ in spec["solutions"]}
    plan, seen = [], set()
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code":
            continue
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        first = gid not in seen
        seen.add(gid)
        if gid in tests and first:
            plan.append(("test", gid))
        elif gid in setup and first:
            plan.append(("cell", Cell(number, "setup", gid, setup[gid])))
        else:
            kind = "solution" if gid in solutions and first else "added"
            plan.append(("cell", Cell(number, kind, gid if kind == "solution" else "", cell.source)))
    missing = [("cell", Cell(0, "setup", gid, src)) for gid, src in setup.items() if gid not in seen]
    plan = missing + plan + [("test", gid) for gid in tests if gid not in seen]
    for k, (kind, cell) in enumerate(plan):
        if kind == "cell":
            cell.python = to_python(cell.source)
            cell.file = f"{k:03d}_cell{cell.number}.py"
    return plan


def bound_names(source):
    """``{name: [lines]}``: what a cell binds at its top level (functions, classes, imports, assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {name: [0] for name in defined_functions(source)}
    names = {}
    for node in tree.body:
        found = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found = [node.name]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found = [(a.asname or a.name).split(".")[0] for a in node.names]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        for name in found:
            names.setdefault(name, []).append(node.lineno)
    return names


def explain(message, cells, names=()):
    """``message`` of a failed test, with its cause when a cell that defines a name it needs failed.

    ``names`` are the graded functions the test calls; a name in a ``NameError``
    is looked at first. If the last cell that defines one of them did not run to
    the end, the message starts with that: "function `scatter_sum` was defined
    in an added cell (cell 7), which did not run to the end: it failed at line
    2: ModuleNotFoundError: ...". A missing name no cell defines is said so.
    """
    found = re.search(r"name '(\w+)' is not defined", message)
    missing = found.group(1) if found else None
    for name in ([missing] if missing else []) + [n for n in names if n != missing]:
        owners = [c for c in cells if name in bound_names(c.python)]
        what = "function" if any(name in defined_functions(c.source) for c in owners) else "name"
        if not owners and name == missing:
            return f"{what} `{name}` is not defined by any cell of the notebook ({message})"
        cell = owners[-1] if owners else None
        # the cell is the cause unless it failed only after its last line binding the name
        if cell and cell.failure() and not (cell.error_line and cell.error_line > max(bound_names(cell.python)[name])):
            return (f"{what} `{name}` was defined in {cell.label}, which did not run to the end: "
                    f"{cell.failure()} ({message})")
    if "NotImplementedError" in message.split(":")[0] + message[-40:] and names:
        return (f"`{names[0]}` is still the stub that raises NotImplementedError: write your code in its "
                f"solution cell ({message})")
    return message


def verify_notebook(source, submitted, seed, timeout=60, deny=(), limits=None):
    """Score the notebook ``submitted`` against the instructor's ``source`` outside the student's kernel.

    Parameters
    ----------
    source, submitted : path
        The instructor's notebook (with hidden tests) and the student's. ``source``
        may also be what :func:`notebook_spec` returns (the self-check builds it from
        the learner's own notebook, :mod:`course.selfcheck`).
    seed : int
        The grading seed of the hidden tests.
    timeout : float
        Seconds each cell may run (nbgrader's ``Execute.timeout``): a student's
        cell or a test cell past it is interrupted, as nbgrader does, and the
        notebook goes on.
    deny : list of path
        Folders the sandbox must never read (the course root).
    limits : dict, optional
        ``memory_mb``, ``file_mb`` of the sandbox (default :data:`LIMITS`).

    Returns
    -------
    dict
        ``scores`` and ``max_scores`` per test cell, ``messages`` (why a cell
        earned nothing, with the cause), ``signs`` (of tampering), ``notes``
        (cells interrupted, magics not run), ``skipped`` (the magics and shell
        commands that did not run, with their cell and line), ``isolation``.
    """
    spec = source if isinstance(source, dict) else notebook_spec(source)
    limits = dict(LIMITS, **(limits or {}))
    out = {"scores": {}, "max_scores": {gid: pts for gid, pts, _ in spec["tests"]}, "messages": {},
           "signs": [], "notes": [], "skipped": [], "isolation": ""}
    try:
        nb = nbformat.read(str(submitted), as_version=4)
    except Exception as err:  # autograde reports corrupt notebooks itself
        out["error"] = f"not a readable notebook ({type(err).__name__})"
        return out
    plan = run_plan(nb, spec)
    cells = [c for kind, c in plan if kind == "cell"]
    by_file = {c.file: c for c in cells}
    folder = Path(tempfile.mkdtemp(prefix="course-verify-"))
    for cell in cells:
        (folder / cell.file).write_text(cell.python, encoding="utf-8")
    cpu = int(timeout * (2 + len(plan)) + GRACE * len(plan))
    state = {"box": None, "fatal": "", "restarts": 0, "done": []}

    def boot():
        """A fresh sandbox that has run again the cells run so far (not those that stopped it)."""
        if state["box"] is not None:
            _collect(out, state["box"])
            state["box"].close()
        box = Sandbox(folder, memory_mb=limits["memory_mb"], cpu_seconds=cpu, file_mb=limits["file_mb"],
                      deny=deny)
        box.grace = GRACE
        state["box"] = box
        box.start(time.monotonic() + max(timeout, 10))
        out["isolation"] = box.isolation
        for file in state["done"]:
            box.budget(timeout)
            box.exec_cells([file])
            if box.interrupted:
                raise SandboxError(f"running cell {by_file[file].number} again took longer than before")

    def alive():
        """The sandbox, started or restarted if need be; ``None`` once it cannot be."""
        box = state["box"]
        if state["fatal"]:
            return None
        if box is not None and box.alive:
            return box
        if box is not None:
            if state["restarts"] >= RESTARTS:
                state["fatal"] = box.death
                return None
            state["restarts"] += 1
        try:
            boot()
        except SandboxError as err:
            state["fatal"] = str(err)
            return None
        return state["box"]

    def run_cell(cell):
        box = alive()
        if box is None:
            cell.stopped = f"did not run ({state['fatal']})"
            return
        box.budget(timeout)
        try:
            errors = box.exec_cells([cell.file])
        except SandboxError as err:  # it could not be interrupted, or the process died
            cell.stopped = ("ran past the time limit and could not be interrupted, so the sandbox was stopped"
                            if isinstance(err, SandboxTimeout) else f"stopped the sandbox ({err})")
            out["notes"].append(f"cell {cell.number}: {cell.stopped}")
            if not isinstance(err, SandboxTimeout):
                box.signs.append(f"{err} during cell {cell.number}")
            return
        cell.interrupted = box.interrupted
        for _, ename, message, line in errors:
            cell.error_line = int(line) if str(line).isdigit() else 0
            cell.error = f"line {line}: {ename}: {message[:200]}" if line not in ("", "0") else \
                f"{ename}: {message[:200]}"
            suspicious = ename in _SUSPICIOUS and not (cell.interrupted and ename == "KeyboardInterrupt")
            if suspicious or "not available when verifying" in message:
                box.signs.append(f"cell {cell.number} raised {ename}: {message[:120]}")
        if cell.interrupted:
            out["notes"].append(f"cell {cell.number} ran past {timeout:g} s and was interrupted, as nbgrader "
                                "does")
        else:
            state["done"].append(cell.file)
        for _, line, text, why in box.skipped:
            skipped = f"cell {cell.number} line {line}: `{text}` was not run ({why})"
            out["skipped"].append(skipped)
            out["notes"].append(skipped)

    ns = {"__name__": "__main__"}

    def stand_in(name):
        def function(*args, **kwargs):
            box = state["box"]
            if box is None or not box.alive:
                raise SandboxError(state["fatal"] or "the sandboxed process is gone")
            return box.call({"name": name}, args, kwargs)
        function.__name__ = function.__qualname__ = name
        return function

    tests = {gid: (points, src) for gid, points, src in spec["tests"]}
    try:
        with seed_scope(seed), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for src in spec["setup"]:
                exec(compile(src, "<setup>", "exec"), ns)
            ns.update({name: stand_in(name) for name in spec["functions"]})
            for kind, item in plan:
                if kind == "cell":
                    run_cell(item)
                    continue
                gid, (points, src) = item, tests[item]
                box = alive()
                if box is None:
                    out["scores"][gid] = 0.0
                    out["messages"][gid] = f"not run: {state['fatal']}"
                    continue
                box.budget(timeout)
                try:
                    exec(compile(src, f"<{gid}>", "exec"), ns)
                except Exception as err:
                    out["scores"][gid] = 0.0
                    called = [n for n in spec["functions"] if re.search(rf"\b{n}\b", src)]
                    out["messages"][gid] = explain(f"{type(err).__name__}: {short(err, 240)}", cells, called)
                else:
                    out["scores"][gid] = points
                if box.death and "time limit" in box.death:
                    out["notes"].append(f"{gid}: ran past {timeout:g} s and could not be interrupted")
                elif box.death:
                    box.signs.append(f"{box.death} during {gid}")
                elif box.interrupted:
                    out["notes"].append(f"{gid}: ran past {timeout:g} s and was interrupted, as nbgrader does")
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
    out["cells"] = [{"number": c.number, "kind": c.kind, "grade_id": c.grade_id, "failure": c.failure()}
                    for c in cells]
    return out


def _collect(out, box):
    for sign in box.signs:
        if sign not in out["signs"]:
            out["signs"].append(sign)
    box.signs = []


def verify_submission(root, assignment, submitted, seed, timeout=60, limits=None, deny=()):
    """Verify every notebook of the folder ``submitted`` (one student's ``assignment``).

    ``root`` holds ``solutions/`` and is never readable from the sandbox; ``deny`` adds
    folders that are not (e.g. the instructor's course directory when a cluster worker
    grades in a scratch copy), so an attempt to read them is flagged as tampering.

    Scores are keyed by :func:`course.cells.cell_key`: the test cell's name, or
    ``notebook/cell`` when the assignment has several notebooks.
    """
    start = time.perf_counter()
    root = Path(root)
    sources = sorted((root / "solutions" / assignment).glob("*.ipynb"))
    result = {"scores": {}, "max_scores": {}, "messages": {}, "signs": [], "notes": [], "skipped": [],
              "isolation": ""}
    for source in sources:
        path = Path(submitted) / source.name
        if not path.exists():
            one = {"scores": {g: 0.0 for g, *_ in notebook_spec(source)["tests"]},
                   "max_scores": {g: p for g, p, _ in notebook_spec(source)["tests"]},
                   "messages": {}, "signs": [], "notes": [f"{source.name} was not submitted"], "isolation": ""}
        else:
            one = verify_notebook(source, path, seed, timeout, deny=[root.resolve(), *map(Path, deny)],
                                  limits=limits)
        if one.get("error"):
            result["error"] = one["error"]
        for field in ("scores", "max_scores", "messages"):
            result[field].update({cell_key(source.stem, k, len(sources)): v for k, v in one[field].items()})
        result["signs"] += [cell_key(source.stem, s, len(sources)) for s in one["signs"]]
        result["notes"] += [cell_key(source.stem, s, len(sources)) for s in one["notes"]]
        result["skipped"] += [cell_key(source.stem, s, len(sources)) for s in one.get("skipped", [])]
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
        if reasons:  # what did not run when verifying may be the cause
            reasons += verified.get("skipped", [])
    elif verified["signs"]:
        total = sum(verified["scores"].values())
        reasons.append(f"nbgrader could not grade it; verified {_pts(total)} of {_pts(sum(verified['max_scores'].values()))}")
    reasons += [f"sandbox: {s}" for s in verified["signs"]]
    return reasons


def exported_scores(nbgrader_scores, verified, manual=None):
    """Points per test cell as the export records them: manual, else verified, else nbgrader's.

    ``manual`` maps a cell to the instructor's manual score (``None``: none given).
    """
    manual, checked = manual or {}, (verified or {}).get("scores", {})
    out = {}
    for cell in dict.fromkeys(list(nbgrader_scores or {}) + list(checked)):
        if manual.get(cell) is not None:
            out[cell] = float(manual[cell])
        elif cell in checked:
            out[cell] = float(checked[cell])
        else:
            out[cell] = float((nbgrader_scores or {}).get(cell) or 0.0)
    return out


def score_note(nbgrader_scores, verified, max_scores, manual=None, cells=None):
    """What a student reads on the feedback page about the score that goes to the grade.

    Returns ``(headline, details)``: the exported score of ``cells`` (default:
    all) out of their maximum, and when it differs from nbgrader's score (the
    one the rest of the page shows), one plain sentence per cell that differs
    and each magic or shell command that did not run when checking again.
    """
    cells = list(cells if cells is not None else max_scores)
    exported = exported_scores(nbgrader_scores, verified, manual)
    kernel = {c: float((nbgrader_scores or {}).get(c) or 0.0) for c in cells}
    total, top = sum(exported.get(c, 0.0) for c in cells), sum(float(max_scores.get(c, 0)) for c in cells)
    shown = sum(kernel.values())
    head = f"Score that goes to your grade: {total:g} / {top:g}"
    if verified is None or verified.get("error"):
        return (head + ". Your functions could not be checked a second time outside your notebook, so your "
                "instructor will look at this submission before the grade is final.", [])
    if abs(total - shown) < 1e-9 and all(abs(exported.get(c, 0.0) - kernel[c]) < 1e-9 for c in cells):
        return (head + ". The grader ran your cells a second time, outside your notebook, and your functions "
                "earned the same points there as on this page.", [])
    head += (f" (this page shows {shown:g} / {top:g}). The grader runs your cells a second time, outside your "
             "notebook, and calls your functions from there; that score goes to your grade. These tests gave "
             "a different result there:")
    details = []
    for c in cells:
        if abs(exported.get(c, 0.0) - kernel[c]) > 1e-9:
            why = (verified.get("messages") or {}).get(c, "")
            if manual and manual.get(c) is not None:
                why = "your instructor set this score by hand"
            details.append(f"{c}: {_points(kernel[c])} in your notebook, {exported.get(c, 0.0):g} when checked "
                           "again" + (f", because {why}" if why else ""))
    details += [f"Not run when checking again: {s}" for s in verified.get("skipped", [])]
    return head, details


def _points(value):
    return f"{value:g} point" + ("" if value == 1 else "s")


def _pts(value):
    return "-" if value is None else f"{float(value):g}"
