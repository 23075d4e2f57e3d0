"""Autograde throughput and scaling: ``python -m course autograde`` against ``nbgrader autograde``.

Builds a temporary course with N synthetic submissions of assignment 01 (honest
and faulty ones from :mod:`corpora.synthetic`, no infinite loops), grades them
once with nbgrader's own sequential command and then with the course's command
on a local Dask cluster of 1, 2 and 4 worker processes (each run verifies every
submission outside the student's kernel, :mod:`course.verify`). Checks that every
run gives every submission the same score as nbgrader and that the verified
scores agree with nbgrader's (no submission flagged); prints the throughput, the
scaling efficiency of each added worker (throughput with w workers divided by w
times the throughput with one; target >= 0.8 while there is a core per worker:
more workers than cores cannot scale and are reported, not judged), the median
cost per submission of nbgrader's grading and of the verification, and the time
of the hidden tests of one notebook per assignment. For each run it also prints
where the coordinator's time went (from ``$COURSE_TIMINGS``, written by
:func:`course.instructor.autograde.grade_all`): start-up (interpreter and imports),
shipping the jobs, starting the cluster, the wait for the first result, and the
merges into the gradebook (count, CPU per result), with the coordinator's CPU
seconds against the run's wall time: what the coordinator does serially is what
caps the scaling. Prints a table.

    python benchmarks/bench_autograde.py [--n 30] [--workers 1,2,4] [--cluster tcp://host:8786]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the corpora package of synthetic submissions

ASSIGNMENT = "01_aggregators"
MIX = ["solution", "partial", "hardcoded", "solution", "syntax-error", "exception", "delegating", "mutating",
       "solution", "edited-tests", "deleted-tests", "stripped-metadata", "release", "corrupt", "kernel-exit"]


def build_course(dest, n):
    """A course directory with ``n`` submissions of assignment 01 (cycling through :data:`MIX`)."""
    from corpora import synthetic
    from course.instructor.release import release
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", dest)
    shutil.copytree(ROOT / "solutions", dest / "solutions")
    release(dest, [ASSIGNMENT])
    for k in range(n):
        synthetic.write_submission(dest, dest / "submitted" / f"s{k:03d}" / ASSIGNMENT, ASSIGNMENT,
                                   MIX[k % len(MIX)])


def scores(course):
    """``{student: total score or None}``; None when nothing was autograded."""
    from nbgrader.api import MissingEntry
    from course.instructor.gradebook import open_gradebook
    out = {}
    with open_gradebook(course) as gb:
        for folder in sorted((course / "submitted").iterdir()):
            student = folder.name
            graded = (course / "autograded" / student / ASSIGNMENT).is_dir()
            try:
                out[student] = gb.find_submission(ASSIGNMENT, student).score if graded else None
            except MissingEntry:
                out[student] = None
    return out


def verification(course):
    """``(median seconds of nbgrader per submission, median seconds of verification per submission,
    graded submissions whose verified score differs, submissions flagged for review)`` from the
    status files and the export of ``course``."""
    import statistics

    from course.instructor.export import export
    from course.instructor.status import STATUS_DIR, load_status
    grading, verifying = [], []
    for path in (course / STATUS_DIR / ASSIGNMENT).glob("*.json"):
        status = load_status(course, ASSIGNMENT, path.stem)
        verified = status.verified or {}
        if "seconds" in verified:
            verifying.append(verified["seconds"])
        if status.seconds is not None:
            grading.append(status.seconds)
    _, rows = export(course, ASSIGNMENT)
    differ = [r["student_id"] for r in rows if r["status"] == "graded" and r["score"] != r["nbgrader_score"]]
    flagged = [r["student_id"] for r in rows if r.get("review")]
    median = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
    return median(grading), median(verifying), differ, flagged


def run_timed(cmd, cwd, env):
    """Run ``cmd``; return (wall seconds, completed process, epoch time it was launched)."""
    launched, start = time.time(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc, launched


def coordinator_rows(timings, launched, seconds):
    """Rows saying where the coordinator's time went, from the ``$COURSE_TIMINGS`` file of one run."""
    if not timings:
        return [("  coordinator", "no timings", "")]
    marks, merges = timings["marks"], timings["merges"]
    at = {name: wall - launched for name, (wall, _) in marks.items()}
    cpu = {name: c for name, (_, c) in marks.items()}
    steps = [("start-up (interpreter, imports)", 0.0, at["enter"], 0.0, cpu["enter"]),
             ("ship jobs, up-to-date check", at["enter"], at["shipped"], cpu["enter"], cpu["shipped"])]
    if "cluster" in at:
        steps.append(("start the cluster", at["shipped"], at["cluster"], cpu["shipped"], cpu["cluster"]))
        first = at.get("first result", at["cluster"])
        steps.append(("wait for the first result", at["cluster"], first, cpu["cluster"], cpu.get("first result", 0)))
    rows = [(f"  coordinator: {name}", f"{b - a:7.1f} s", f"CPU {cb - ca:5.2f} s") for name, a, b, ca, cb in steps]
    if merges["results"]:
        rows.append(("  coordinator: merges into the gradebook", f"{merges['wall']:7.1f} s",
                     f"CPU {merges['cpu']:5.2f} s, {1000 * merges['cpu'] / merges['results']:4.0f} ms/result "
                     f"({merges['results']} results in {merges['batches']} transactions)"))
    rows.append(("  coordinator CPU / run wall", f"{cpu['exit']:5.1f} / {seconds:4.0f} s",
                 "CPU of the coordinator process (with the Dask client and local scheduler)"))
    return rows


def hidden_test_seconds():
    """Seconds the hidden tests of each solution notebook take, run in this process."""
    import nbformat
    from course import checks
    out = {}
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        ns = {}
        calls = []
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") or (meta.get("locked") and not meta.get("grade")):
                exec(cell.source, ns)
            if meta.get("grade"):
                line = next(ln for ln in cell.source.splitlines() if ln.startswith("run("))
                task, function = line[5:-1].split(", ")
                calls.append((task.strip("'\""), function))
        checks.make_cases(calls[0][0])  # import the task modules outside the timing
        start = time.perf_counter()
        for task, function in calls:
            checks.evaluate(task, ns[function])
        out[path.parent.name] = time.perf_counter() - start
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=30, help="number of submissions")
    parser.add_argument("--workers", default="1,2,4", help="worker processes of the local clusters")
    parser.add_argument("--cluster", default=None, help="also time the workers of this Dask scheduler")
    args = parser.parse_args(argv)
    from course.instructor.autograde import TIMINGS_ENV
    from course.instructor.tools import tool_env
    env = dict(os.environ, **tool_env())
    counts = [int(w) for w in args.workers.split(",")]
    cores = os.cpu_count() or 1

    runs = {}  # label -> (workers or None, seconds, scores, grading s, verification s, differ, flagged)
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        base = Path(tmp) / "base"
        build_course(base, args.n)
        seq = Path(tmp) / "sequential"
        shutil.copytree(base, seq, symlinks=True)
        t_seq, _, _ = run_timed([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], seq, env)
        s_seq = scores(seq)
        plans = [(f"{w} worker{'s' * (w > 1)}", ["--workers", str(w)], w) for w in counts]
        if args.cluster:
            plans.append((f"cluster {args.cluster}", ["--cluster", args.cluster], None))
        for label, extra, w in plans:
            course = Path(tmp) / f"run-{len(runs)}"
            shutil.copytree(base, course, symlinks=True)
            timings = Path(tmp) / f"timings-{len(runs)}.json"
            seconds, proc, launched = run_timed(
                [sys.executable, "-m", "course", "--root", str(course), "autograde", ASSIGNMENT, *extra], course,
                dict(env, **{TIMINGS_ENV: str(timings)}))
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr, file=sys.stderr)
            spent = coordinator_rows(json.loads(timings.read_text()) if timings.exists() else None, launched, seconds)
            runs[label] = (w, seconds, scores(course), *verification(course), spent)

    one = next((r[1] for r in runs.values() if r[0] == 1), None)
    rows = [("submissions", f"{args.n}", ""),
            ("nbgrader autograde (sequential)", f"{t_seq:7.1f} s", f"{args.n / t_seq:5.2f} /s")]
    ok = True
    for label, (w, seconds, s, grading, verifying, differ, flagged, spent) in runs.items():
        same = s == s_seq and not differ
        ok &= same
        rows.append((f"python -m course autograde, {label}", f"{seconds:7.1f} s",
                     f"{args.n / seconds:5.2f} /s  {t_seq / seconds:4.2f}x nbgrader  "
                     + ("same scores" if same else f"DIFFERENT SCORES {[k for k in s_seq if s_seq[k] != s.get(k)][:5]}")
                     + (f", {len(flagged)} flagged" if flagged else "")))
        if w and w > 1 and one:
            efficiency = one / (w * seconds)
            if w <= cores:
                verdict = "ok" if efficiency >= 0.8 else "BELOW TARGET"
                ok &= efficiency >= 0.8
            else:
                verdict = f"not judged: {w} workers on {cores} cores"
            rows.append((f"  scaling efficiency, {w} workers (target >= 0.8)", f"{efficiency:7.2f}", verdict))
        rows.append(("  per submission: nbgrader / verification (median)",
                     f"{grading:5.2f} s / {verifying:4.2f} s", "in the same workers"))
        rows += spent
    hidden = hidden_test_seconds()
    rows += [(f"hidden tests of {name} (target < 2 s)", f"{sec:7.2f} s", "ok" if sec < 2 else "TOO SLOW")
             for name, sec in hidden.items()]
    width = max(len(r[0]) for r in rows)
    print(f"\nAutograde benchmark ({cores} CPUs; workers beyond the cores share them)")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>14}  {note}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
