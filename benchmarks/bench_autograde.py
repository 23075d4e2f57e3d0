"""Autograde throughput: ``python -m course autograde`` (parallel) against ``nbgrader autograde``.

Builds a temporary course with N synthetic submissions of assignment 01 (honest
and faulty ones from :mod:`corpora.synthetic`, no infinite loops), grades them
once with nbgrader's own sequential command and once with the course's parallel
command, which also verifies every submission outside the student's kernel
(:mod:`course.verify`), checks that both give every submission the same score
and that the verified scores agree with nbgrader's (no submission flagged), and
times the hidden tests of one notebook per assignment. Prints a table.

    python benchmarks/bench_autograde.py [--n 100] [--workers 2]
"""

import argparse
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
    """``(mean seconds of verification per submission, graded submissions whose verified score differs,
    submissions flagged for review)`` from the status files and the export of ``course``."""
    import json
    from course.instructor.export import export
    seconds = []
    for path in (course / "autograded" / ".status" / ASSIGNMENT).glob("*.json"):
        verified = json.loads(path.read_text()).get("verified") or {}
        if "seconds" in verified:
            seconds.append(verified["seconds"])
    _, rows = export(course, ASSIGNMENT)
    differ = [r["student_id"] for r in rows if r["status"] == "graded" and r["score"] != r["nbgrader_score"]]
    flagged = [r["student_id"] for r in rows if r.get("review")]
    return sum(seconds) / max(len(seconds), 1), differ, flagged


def run_timed(cmd, cwd, env):
    """Run ``cmd``; return (wall seconds, completed process)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc


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
    parser.add_argument("--n", type=int, default=100, help="number of submissions")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    from course.instructor.tools import tool_env
    env = dict(os.environ, **tool_env())

    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        base = Path(tmp) / "base"
        build_course(base, args.n)
        seq, par = Path(tmp) / "sequential", Path(tmp) / "parallel"
        shutil.copytree(base, seq, symlinks=True)
        shutil.copytree(base, par, symlinks=True)
        t_seq, p_seq = run_timed([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], seq, env)
        t_par, p_par = run_timed([sys.executable, "-m", "course", "--root", str(par), "autograde", ASSIGNMENT,
                                  "--workers", str(args.workers)], par, env)
        if p_par.returncode != 0:
            print(p_par.stdout, p_par.stderr, file=sys.stderr)
        s_seq, s_par = scores(seq), scores(par)
        t_verify, v_differ, flagged = verification(par)
    same = s_seq == s_par and not v_differ
    differ = [k for k in s_seq if s_seq[k] != s_par.get(k)]
    hidden = hidden_test_seconds()

    rows = [
        ("submissions", f"{args.n}", ""),
        ("nbgrader autograde (sequential)", f"{t_seq:7.1f} s", f"{args.n / t_seq:5.2f} /s"),
        (f"python -m course autograde ({args.workers} workers, verification included)", f"{t_par:7.1f} s",
         f"{args.n / t_par:5.2f} /s"),
        ("speed-up (target >= 1.8x)", f"{t_seq / t_par:7.2f} x", "ok" if t_seq / t_par >= 1.8 else "BELOW TARGET"),
        ("  of which verification, per submission", f"{t_verify:7.2f} s", "in the same workers"),
        ("identical scores", "yes" if s_seq == s_par else f"NO: {differ[:5]}", ""),
        ("verified scores = nbgrader scores", "yes" if not v_differ else f"NO: {v_differ[:5]}",
         f"{len(flagged)} flagged" + (f" ({', '.join(flagged[:3])}...)" if flagged else "")),
    ]
    rows += [(f"hidden tests of {name} (target < 2 s)", f"{sec:7.2f} s", "ok" if sec < 2 else "TOO SLOW")
             for name, sec in hidden.items()]
    width = max(len(r[0]) for r in rows)
    print(f"\nAutograde benchmark ({os.cpu_count()} CPUs)")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>12}  {note}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
