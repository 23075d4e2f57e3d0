"""``python -m course check NOTEBOOK.ipynb``: the grader's checks on your own notebook, offline.

For learners without an instructor (and for students before they hand in): the
notebook is checked the way :mod:`course.verify` checks a submission. Every cell
you wrote runs, in notebook order, in the same sandboxed process, outside your
kernel; each test cell runs its visible tests and then the hidden checks of its
task (:mod:`course.checks`), which draw random graphs from a **fresh seed** each
time (``--seed`` repeats a run). It prints, per task, pass or fail with the
message the feedback page would show, and exits with status 0 only when every
task passes.

It needs only the notebook: no nbgrader course directory, no gradebook, no npm.
The hidden test of a task is the line ``run("<assignment>.<function>", function)``
that the instructor's notebook holds; it is rebuilt here from the test cell's
``grade_id`` (``test_<function>``) and the registry of :mod:`course.checks`.
"""

import argparse
import secrets
import sys
from pathlib import Path

import nbformat

from .checks import tasks
from .cells import defined_functions
from .verify.submission import verify_notebook

__all__ = ["notebook_checks", "check_notebook", "main"]

HIDDEN = "from course.checks import run\nrun({task!r}, {function})"


def notebook_checks(nb):
    """What :func:`course.verify.submission.verify_notebook` needs, read from the learner's notebook ``nb``.

    Set-up cells are the notebook's read-only cells; each test cell is its
    visible source followed by the hidden test of its task. Raises
    ``ValueError`` when the notebook has no test cell of a known task.
    """
    spec = {"setup": [], "setup_ids": [], "solutions": [], "tests": [], "functions": [], "tasks": {}}
    graded = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    known = {}
    for task in tasks():
        known.setdefault(task.split(".", 1)[1], []).append(task)
    votes = {}
    for cell in graded:
        for task in known.get(cell.metadata["nbgrader"]["grade_id"].removeprefix("test_"), []):
            votes[task.split(".")[0]] = votes.get(task.split(".")[0], 0) + 1
    if not votes:
        raise ValueError("this notebook has no test cell of a course task (cells with nbgrader metadata "
                         "grade_id 'test_<function>'); is it one of the course's exercise notebooks?")
    assignment = max(sorted(votes), key=votes.get)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        gid = meta.get("grade_id")
        if meta.get("grade"):
            function = gid.removeprefix("test_")
            task = f"{assignment}.{function}"
            source = cell.source
            if task in tasks(assignment + "."):
                source = source.rstrip("\n") + "\n" + HIDDEN.format(task=task, function=function)
                spec["tasks"][gid] = task
            spec["tests"].append((gid, float(meta.get("points", 0)), source))
        elif meta.get("solution"):
            names = defined_functions(cell.source)
            spec["solutions"].append((gid, names[0] if names else None))
            spec["functions"] += [n for n in names if n not in spec["functions"]]
        elif meta.get("locked"):
            spec["setup"].append(cell.source)
            spec["setup_ids"].append(gid)
    return spec


def check_notebook(path, seed=None, timeout=60):
    """Check the notebook at ``path``; return ``(seed, spec, result)`` (result of ``verify_notebook``)."""
    nb = nbformat.read(str(path), as_version=4)
    spec = notebook_checks(nb)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    return seed, spec, verify_notebook(spec, path, seed, timeout=timeout)


def report(path, seed, spec, result, out=sys.stdout):
    """Print the per-task verdicts; return True when every task passed."""
    print(f"Checking {path} outside your kernel, with fresh random graphs (seed {seed}; "
          f"--seed {seed} repeats this run)", file=out)
    if result.get("error"):
        print(f"error: {result['error']}", file=out)
        return False
    ok = True
    for gid, points, _ in spec["tests"]:
        got = result["scores"].get(gid, 0.0)
        passed = got == points
        ok &= passed
        label = spec["tasks"].get(gid, gid)
        line = f"  {'PASS' if passed else 'FAIL'}  {label:<32} {got:g} / {points:g}"
        if not passed:
            line += f"\n        {result['messages'].get(gid, 'failed')}"
        print(line, file=out)
    for note in result.get("notes", []):
        print(f"  note: {note}", file=out)
    total = sum(result["scores"].values())
    top = sum(points for _, points, _ in spec["tests"])
    print(f"{total:g} / {top:g} points: " + ("every task passes." if ok else "some tasks fail (see above)."),
          file=out)
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course check", description=__doc__.split("\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--seed", type=int, default=None, help="seed of the random graphs (default: fresh)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds each cell may run (default 60)")
    args = parser.parse_args(argv)
    return run(args)


def run(args):
    """The ``check`` step of ``python -m course``; returns the exit status."""
    if not args.notebook.is_file():
        print(f"error: {args.notebook} is not a file", file=sys.stderr)
        return 2
    try:
        seed, spec, result = check_notebook(args.notebook, args.seed, args.timeout)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except nbformat.reader.NotJSONError as err:
        print(f"error: {args.notebook} is not a notebook ({err})", file=sys.stderr)
        return 2
    return 0 if report(args.notebook, seed, spec, result) else 1


if __name__ == "__main__":
    sys.exit(main())
