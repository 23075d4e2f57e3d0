"""A class of 64 from a Canvas download to the Canvas import sheet: how long each step takes.

Builds the messy Canvas download of :func:`lms_fixtures.canvas_class` (64 students: shared
names, accents, resubmissions, renamed notebooks, a zip inside the zip, junk, corrupt
notebooks, students who submitted nothing) in a temporary course, then runs the documented
commands and times them: ``roster``, ``zip-collect --lms canvas``, ``autograde``, ``export``
and ``export --all --lms canvas``. Fails (exit 1) if any student's status, score or
lateness differs from the known answer.

    python benchmarks/bench_lms.py [--n 64] [--workers 2]
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def run(course, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "course", *map(str, args)], cwd=course, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"python -m course {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return seconds, proc.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64, help="students in the class")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    from lms_fixtures import CANVAS_ASSIGNMENT as A
    from lms_fixtures import canvas_class

    with tempfile.TemporaryDirectory(prefix="bench-lms-") as tmp:
        course = Path(tmp) / "course"
        course.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "solutions", course / "solutions", ignore=shutil.ignore_patterns("README.md"))
        shutil.copytree(ROOT / "exercises", course / "exercises")
        download, gradebook, expected = canvas_class(Path(tmp) / "lms", args.n)
        times = {}
        times["release"], _ = run(course, "release", A)
        times["roster (Canvas gradebook)"], _ = run(course, "roster", gradebook, "--lms", "canvas")
        times["zip-collect --lms canvas"], out = run(course, "zip-collect", A, download, "--lms", "canvas")
        collected = next(ln for ln in out.splitlines() if ln.startswith("collected"))
        times[f"autograde ({args.workers} workers)"], _ = run(course, "autograde", A, "--workers", args.workers)
        times["export"], _ = run(course, "export", A)
        times["export --all --lms canvas"], _ = run(course, "export", "--all", "--lms", "canvas")
        with open(course / "grades" / f"{A}.csv", newline="", encoding="utf-8") as fh:
            rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    wrong = []
    for s in expected:
        row = rows.get(s.id)
        got = (row["status"], float(row["score"]) if row and row["score"] else None, row["late"]) if row else None
        if got != (s.status, s.score if s.score is None else float(s.score), "yes" if s.late else ""):
            wrong.append(f"{s.id}: expected {s.status} {s.score}, got {got}")
    print(f"\nA class of {args.n} from Canvas ({os.cpu_count()} CPUs): {collected}")
    for step, seconds in times.items():
        print(f"  {step:<32} {seconds:8.1f} s")
    graded = sum(1 for s in expected if s.status != "missing")
    print(f"  {'per submission (autograde)':<32} {times[f'autograde ({args.workers} workers)'] / graded:8.2f} s")
    print(f"  every student right: {'yes' if not wrong else 'NO'} ({len(expected) - len(wrong)}/{len(expected)})")
    for line in wrong:
        print("   ", line)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
