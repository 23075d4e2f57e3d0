"""``python -m course <step>``: the instructor's command line (see book/instructors.md).

    python -m course release   [ASSIGNMENT ...]
    python -m course collect    ASSIGNMENT [--from DIR]
    python -m course zip-collect ASSIGNMENT ARCHIVE ... [--lms canvas|moodle|generic]
    python -m course roster     FILE --lms canvas|moodle|plain [--assignment ASSIGNMENT]
    python -m course autograde  ASSIGNMENT [--cluster ADDRESS | --workers N] [--seed S] [--timeout T]
                                [--student ID]... [--force]
    python -m course feedback   ASSIGNMENT
    python -m course export     ASSIGNMENT [-o grades/ASSIGNMENT.csv]
    python -m course export     --all [--lms canvas|moodle] [--unscored blank|zero] [-o PATH]
    python -m course check      NOTEBOOK.ipynb [--seed S] [--timeout T]   (a learner's self-check)

Every step runs in the course root (``--root``, default: the directory holding
``nbgrader_config.py``, searched upwards from the current directory).
"""

import argparse
import sys
from pathlib import Path

from .checks import SEED_ENV
from .instructor.autograde import autograde
from .instructor import lms
from .instructor.collect import collect, zip_collect
from .instructor.export import UNSCORED, export, export_all
from .instructor.feedback import feedback
from .instructor.release import release
from .instructor.roster import FORMATS, RosterError, import_roster
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


def _print_collected(result):
    """The collect report, one line per file, then the counts (python -m course collect/zip-collect)."""
    for r in result.rows:
        who = f" -> {r['student']}" + (f" ({r['name']})" if r["name"] else "") if r["student"] else ""
        detail = f": {r['detail']}" if r["detail"] else ""
        print(f"  {r['action']:<10} {r['archive']}/{r['file']}{who}{detail}")
    for line in result.summary():
        print(line)


def run_collect(root, args):
    result = collect(root, args.assignment, args.source)
    if isinstance(result, list):  # nbgrader's exchange
        print(f"collected {len(result)} students into {root / 'submitted'}")
    else:
        _print_collected(result)


def run_zip_collect(root, args):
    try:
        result = zip_collect(root, args.assignment, args.archives, lms=args.lms)
    except lms.ArchiveError as err:
        raise PipelineError(f"cannot read the download: {err}") from err
    _print_collected(result)


def run_roster(root, args):
    try:
        students, skipped = import_roster(root, args.file, args.lms, args.assignment)
    except RosterError as err:
        raise PipelineError(str(err)) from err
    print(f"roster: {len(students)} students from {args.file} ({args.lms}) in the gradebook")
    for who, why in skipped:
        print(f"  skipped {who}: {why}")


def run_autograde(root, args):
    # no --seed: each submission's stored seed, or $COURSE_GRADING_SEED / the default for a first grading
    results = autograde(root, args.assignment, args.student, workers=args.workers, seed=args.seed,
                        timeout=args.timeout, cluster=args.cluster, force=args.force)
    fresh = [r for r in results if not r.up_to_date]
    counts = {}
    for r in fresh:
        counts[r.status] = counts.get(r.status, 0) + 1
    print("autograded " + (", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "nothing"))
    if len(fresh) < len(results):
        print(f"{len(results) - len(fresh)} up to date (graded before with the same submission, seed and "
              "grader; not graded again: --force or --student ID to re-grade)")
    for r in fresh:
        if r.kept:
            print(f"  failed: {r.student}: {r.reason} (re-grade; the previous result kept)")
        elif r.status == "failed":
            print(f"  failed: {r.student}: {r.reason}")
    flagged = [r.student for r in results if r.review_reasons()]
    if flagged:
        print(f"verified outside the kernel; {len(flagged)} to review (the review column of the export): "
              + ", ".join(flagged[:20]) + (" ..." if len(flagged) > 20 else ""))
    weak = {(r.verified or {}).get("isolation", "") for r in results} - {""}
    weak = [w for w in weak if not w.startswith("landlock")]
    if weak:
        print(f"warning: the verification sandbox could not confine file access here ({weak[0]}); "
              "it still runs with limits, a scrubbed environment and audit hooks", file=sys.stderr)


def run_feedback(root, args):
    students = feedback(root, args.assignment)
    print(f"feedback for {len(students)} submissions in {root / 'feedback'}")


def run_export(root, args):
    if args.all == bool(args.assignment):
        raise PipelineError("name one assignment, or give --all for the course sheet (not both)")
    if not args.all:
        if args.lms or args.unscored:
            raise PipelineError("--lms and --unscored go with --all (the LMS import sheet)")
        path, rows = export(root, args.assignment, args.output)
        print(f"wrote {len(rows)} rows to {path}")
        return
    paths, lines = export_all(root, args.lms or "plain", args.output, args.unscored or "blank")
    for line in lines:
        print(line)
    for path in paths:
        print(f"wrote {path}")


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
    p = sub.add_parser("zip-collect", help="collect an LMS download (zips, folders or notebooks)")
    p.add_argument("assignment")
    p.add_argument("archives", nargs="+", type=Path)
    p.add_argument("--lms", choices=lms.LAYOUTS, default="generic",
                   help="who made the download: canvas (student id = Canvas user id), moodle (participant "
                        "id) or generic (named_regexp of nbgrader_config.py; the default)")
    p.set_defaults(run=run_zip_collect)
    p = sub.add_parser("roster", help="the class list from the LMS's export, into the gradebook")
    p.add_argument("file", type=Path, help="Canvas gradebook CSV, Moodle grading worksheet or plain CSV")
    p.add_argument("--lms", choices=FORMATS, required=True,
                   help="canvas (gradebook export), moodle (grading worksheet) or plain "
                        "(id,first_name,last_name,email)")
    p.add_argument("--assignment", help="the assignment a Moodle grading worksheet belongs to")
    p.set_defaults(run=run_roster)
    p = sub.add_parser("autograde", help="grade every submission in parallel")
    p.add_argument("assignment")
    p.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help="grade on the workers of this Dask scheduler, e.g. tcp://host:8786 "
                        "(default: a local cluster of --workers processes)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: CPU count; not with --cluster)")
    p.add_argument("--seed", type=int, default=None,
                   help="grading seed of the hidden tests (default: each submission's stored seed; "
                        f"for a first grading ${SEED_ENV} or the course default)")
    p.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: nbgrader_config.py)")
    p.add_argument("--student", action="append", help="only this student, graded again (repeatable)")
    p.add_argument("--force", action="store_true",
                   help="grade again submissions whose result is up to date")
    p.set_defaults(run=run_autograde)
    p = sub.add_parser("feedback", help="HTML feedback into feedback/ (no hidden tests shown)")
    p.add_argument("assignment")
    p.set_defaults(run=run_feedback)
    p = sub.add_parser("export", help="CSV of per-task scores and a status per student, or the LMS sheet")
    p.add_argument("assignment", nargs="?")
    p.add_argument("--all", action="store_true",
                   help="every graded assignment in one course sheet (with --lms: the LMS's import format)")
    p.add_argument("--lms", choices=["canvas", "moodle"],
                   help="with --all: Canvas gradebook import CSV, or Moodle grading worksheets")
    p.add_argument("--unscored", choices=UNSCORED,
                   help="with --all: what failed and missing submissions get (default blank; named either way)")
    p.add_argument("-o", "--output", type=Path,
                   help="CSV path (default: grades/<assignment>.csv, grades/canvas-import.csv, grades/course.csv; "
                        "a folder for moodle: grades/)")
    p.set_defaults(run=run_export)
    p = sub.add_parser("check", help="a learner's self-check of one notebook: the hidden checks with a fresh "
                                     "seed, outside the kernel; no course directory needed")
    p.add_argument("notebook", type=Path)
    p.add_argument("--seed", type=int, default=None, help="seed of the random graphs (default: fresh)")
    p.add_argument("--timeout", type=float, default=60, help="seconds each cell may run (default 60)")
    return parser


def main(argv=None):
    """Run one step; return the exit status (1 with a message when the step could not be completed)."""
    cli = parser()
    args = cli.parse_args(argv)
    if getattr(args, "cluster", None) and args.workers is not None:
        cli.error("--workers starts local worker processes; with --cluster the scheduler's workers grade "
                  "(start as many as you need there)")
    if args.step == "check":
        from .selfcheck import run
        return run(args)
    root = (args.root or _find_root(Path.cwd())).resolve()
    try:
        args.run(root, args)
    except PipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
