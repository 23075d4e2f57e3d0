"""``python -m course <step>``: the instructor's command line (see book/instructors.md).

    python -m course release   [ASSIGNMENT ...]
    python -m course collect    ASSIGNMENT [--from DIR]
    python -m course zip-collect ASSIGNMENT FILE_OR_DIR ...
    python -m course autograde  ASSIGNMENT [--workers N] [--seed S] [--timeout T] [--student ID ...]
    python -m course feedback   ASSIGNMENT
    python -m course export     ASSIGNMENT [-o grades/ASSIGNMENT.csv]

Every step runs in the course root (``--root``, default: the directory holding
``nbgrader_config.py``, searched upwards from the current directory).
"""

import argparse
import os
import sys
from pathlib import Path

from .checks import SEED_ENV
from .instructor.autograde import autograde
from .instructor.collect import collect, zip_collect
from .instructor.export import export
from .instructor.feedback import feedback
from .instructor.release import release
from .instructor.tools import PipelineError
from .verify.submission import review_reasons


def _find_root(start):
    for folder in [start, *start.parents]:
        if (folder / "nbgrader_config.py").exists():
            return folder
    raise SystemExit("error: no nbgrader_config.py here or above; pass --root")


def run_release(root, args):
    names = release(root, args.assignments)
    print(f"released {', '.join(names)} into {root / 'exercises'}")


def run_collect(root, args):
    students = collect(root, args.assignment, args.source)
    print(f"collected {len(students)} submissions into {root / 'submitted'}")


def run_zip_collect(root, args):
    students = zip_collect(root, args.assignment, args.archives)
    print(f"collected {len(students)} submissions into {root / 'submitted'}")


def run_autograde(root, args):
    seed = args.seed if args.seed is not None else os.environ.get(SEED_ENV) or None
    results = autograde(root, args.assignment, args.student, workers=args.workers, seed=seed,
                        timeout=args.timeout)
    counts = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print("autograded " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    for r in results:
        if r["status"] == "failed":
            print(f"  failed: {r['student']}: {r['reason']}")
    flagged = [r["student"] for r in results if r["status"] != "missing"
               and review_reasons(r.get("scores"), r.get("verified"), r["status"])]
    if flagged:
        print(f"verified outside the kernel; {len(flagged)} to review (the review column of the export): "
              + ", ".join(flagged[:20]) + (" ..." if len(flagged) > 20 else ""))
    weak = {(r.get("verified") or {}).get("isolation", "") for r in results} - {""}
    weak = [w for w in weak if not w.startswith("landlock")]
    if weak:
        print(f"warning: the verification sandbox could not confine file access here ({weak[0]}); "
              "it still runs with limits, a scrubbed environment and audit hooks", file=sys.stderr)


def run_feedback(root, args):
    students = feedback(root, args.assignment)
    print(f"feedback for {len(students)} submissions in {root / 'feedback'}")


def run_export(root, args):
    path, rows = export(root, args.assignment, args.output)
    print(f"wrote {len(rows)} rows to {path}")


def parser():
    """The argument parser: one sub-command per step, each calling ``run_<step>(root, args)``."""
    parser = argparse.ArgumentParser(prog="python -m course", description=(
        "The instructor's steps: release, collect, zip-collect, autograde, feedback, export "
        "(see book/instructors.md)."))
    parser.add_argument("--root", type=Path, help="course directory (holding nbgrader_config.py)")
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("release", help="generate exercises/ from solutions/ (nbgrader generate_assignment)")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(run=run_release)
    p = sub.add_parser("collect", help="copy submissions into submitted/")
    p.add_argument("assignment")
    p.add_argument("--from", dest="source", type=Path,
                   help="folder with one subfolder per student (default: nbgrader's exchange)")
    p.set_defaults(run=run_collect)
    p = sub.add_parser("zip-collect", help="collect an LMS download (nbgrader zip_collect)")
    p.add_argument("assignment")
    p.add_argument("archives", nargs="+", type=Path)
    p.set_defaults(run=run_zip_collect)
    p = sub.add_parser("autograde", help="grade every submission in parallel")
    p.add_argument("assignment")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count)")
    p.add_argument("--seed", type=int, default=None,
                   help=f"grading seed of the hidden tests (default: ${SEED_ENV} or the course default)")
    p.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: nbgrader_config.py)")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.set_defaults(run=run_autograde)
    p = sub.add_parser("feedback", help="HTML feedback into feedback/ (no hidden tests shown)")
    p.add_argument("assignment")
    p.set_defaults(run=run_feedback)
    p = sub.add_parser("export", help="CSV of per-task scores and a status per student")
    p.add_argument("assignment")
    p.add_argument("-o", "--output", type=Path, help="CSV path (default: grades/<assignment>.csv)")
    p.set_defaults(run=run_export)
    return parser


def main(argv=None):
    """Run one step; return the exit status (1 with a message when the step could not be completed)."""
    args = parser().parse_args(argv)
    root = (args.root or _find_root(Path.cwd())).resolve()
    try:
        args.run(root, args)
    except PipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
