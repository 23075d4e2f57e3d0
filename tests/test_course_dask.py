"""Autograde on a real ``dask.distributed`` cluster (issue 17).

A scheduler and two worker processes are started as separate commands, each worker in its own
working directory (tests/services.py), as an instructor starts them on several machines. The
batch of tests/course_small.py is graded once locally (no ``--cluster``) as the reference; the
cluster must give the same export, lose nothing when a worker is killed mid-grading, grade only
what is missing after the coordinator crashed, and fail within seconds when the scheduler cannot
be reached.
"""

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from course_small import ASSIGNMENT, BATCH, TIMEOUT, export_table, new_course, write_batch
from services import DaskCluster, ServiceError, free_port

from corpora import synthetic
from course.cli import main

pytestmark = pytest.mark.slow

STATUS = Path("autograded") / ".status" / ASSIGNMENT


@pytest.fixture(scope="module")
def ungraded(tmp_path_factory):
    """A released course with the batch submitted, never graded (copy it before grading)."""
    root = new_course(tmp_path_factory.mktemp("dask") / "course")
    write_batch(root)
    return root


def _copy(src, dest):
    shutil.copytree(src, dest, symlinks=True)
    return dest


@pytest.fixture(scope="module")
def local(ungraded, tmp_path_factory):
    """The reference: the batch graded without ``--cluster``; returns ``(root, header, rows)``."""
    root = _copy(ungraded, tmp_path_factory.mktemp("local") / "course")
    assert main(["--root", str(root), "autograde", ASSIGNMENT, "--workers", "2",
                 "--timeout", str(TIMEOUT)]) == 0
    return (root, *export_table(root))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        with DaskCluster(tmp_path_factory.mktemp("cluster"), n=2) as c:
            yield c
    except ServiceError as err:
        pytest.skip(f"cannot start a dask cluster here: {err}")


def _statuses(root):
    return {p.stem: json.loads(p.read_text()) for p in (Path(root) / STATUS).glob("*.json")}


def test_local_reference_grades_the_batch(local):
    """The reference run itself: full marks, part marks, and two failures with their reasons."""
    root, _, rows = local
    assert sorted(rows) == sorted(BATCH)
    assert (rows["ada"]["status"], float(rows["ada"]["score"])) == ("graded", 10)
    assert rows["bo"]["status"] == "graded" and 0 < float(rows["bo"]["score"]) < 10
    for student in ("ed", "fi"):
        phrase = next(v.phrase for v in synthetic.CORPUS if v.name == BATCH[student])
        assert rows[student]["status"] == "failed" and phrase in rows[student]["reason"], rows[student]


def test_cluster_grades_like_the_local_run(ungraded, local, cluster, tmp_path, capsys):
    root = _copy(ungraded, tmp_path / "course")
    assert main(["--root", str(root), "autograde", ASSIGNMENT, "--cluster", cluster.address,
                 "--timeout", str(TIMEOUT)]) == 0
    err = capsys.readouterr().err
    # the same progress bar as a local run: done/total, counts by status, time left
    final = err.replace("\r", "\n").strip().splitlines()[-1]
    assert f"{len(BATCH)}/{len(BATCH)}" in final and "graded 2" in final and "failed 2" in final, err
    assert "eta" in final
    header, rows = export_table(root)
    assert header == local[1]
    assert rows == local[2]
    # both worker processes graded, each in its own directory, none in the course's
    workers = {s.get("worker") for s in _statuses(root).values() if s["status"] != "missing"}
    assert len(workers) == 2, workers
    for d in cluster.dirs:
        assert not (d / "autograded").exists() and not (d / "gradebook.db").exists()
    assert not list(Path(root).glob("course-*"))  # no scratch left in the course directory


def test_workers_need_no_course_directory(ungraded, local, cluster, tmp_path):
    """The coordinator ships each submission with the assignment's sources; workers never read the course."""
    from distributed import Client

    from course.checks import DEFAULT_SEED
    from course.instructor import autograde
    root = _copy(ungraded, tmp_path / "course")
    jobs = autograde.ship(root, [(ASSIGNMENT, "ada"), (ASSIGNMENT, "bo")], seed=DEFAULT_SEED, timeout=TIMEOUT)
    for job in jobs:
        # the course's path travels only as a folder the sandbox must refuse, never as data to read
        assert job["course_root"] == str(root.resolve())
        rest = {k: v for k, v in job.items() if k != "course_root"}
        assert str(root) not in repr(rest) and str(root).encode() not in pickle.dumps(rest)
    gone = tmp_path / "gone"
    root.rename(gone)  # nothing of the course is left where it was
    with Client(cluster.address, timeout="10s") as client:
        results = client.gather(client.map(autograde.grade_job, jobs, pure=False))
    assert not root.exists()
    by_student = {r["student"]: r for r in results}
    assert by_student["ada"]["status"] == "graded" and sum(by_student["ada"]["scores"].values()) == 10
    assert by_student["bo"]["status"] == "graded"
    assert sum(by_student["bo"]["scores"].values()) == float(local[2]["bo"]["nbgrader_score"])
    # the autograded notebook and the verification come back with the scores
    assert by_student["ada"]["files"] and all(name.endswith(".ipynb") or name == "timestamp.txt"
                                              for name in by_student["ada"]["files"])
    assert sum(by_student["ada"]["verified"]["scores"].values()) == 10


def test_killed_worker_loses_nothing(ungraded, local, tmp_path):
    """SIGKILL one of two workers while it grades: its submissions are graded by the other one."""
    from distributed import Client
    root = _copy(ungraded, tmp_path / "course")
    try:
        c = DaskCluster(tmp_path / "cluster", n=2).start()
    except ServiceError as err:
        pytest.skip(f"cannot start a dask cluster here: {err}")
    try:
        outcome = {}

        def run():
            outcome["rc"] = main(["--root", str(root), "autograde", ASSIGNMENT, "--cluster", c.address,
                                  "--timeout", str(TIMEOUT)])

        thread = threading.Thread(target=run)
        thread.start()
        killed = False
        with Client(c.address, timeout="10s") as client:
            victim = next(a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()
                          if w["name"] == "worker-0")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and thread.is_alive():
                busy = client.processing(workers=[victim]).get(victim, [])
                if any(str(k).startswith("grade-") for k in busy):
                    time.sleep(1.0)  # well inside nbgrader: the kernel is running the notebook
                    c.kill_worker(0)
                    killed = True
                    break
                time.sleep(0.1)
        thread.join(timeout=300)
        assert killed, "worker-0 never received a submission"
        assert not thread.is_alive() and outcome["rc"] == 0
    finally:
        c.stop()
    statuses = _statuses(root)
    assert sorted(statuses) == sorted(BATCH)  # nothing lost
    assert all(s.get("worker") == "worker-1" or s.get("worker") == "worker-0" for s in statuses.values()
               if s["status"] != "missing")
    assert export_table(root) == local[1:]  # nothing half-written: same export as the local run


def test_rerun_after_a_crash_grades_only_what_is_missing(ungraded, local, cluster, tmp_path):
    """The coordinator is killed mid-batch; the next run keeps what was merged and grades the rest."""
    root = _copy(ungraded, tmp_path / "course")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "course", "--root", str(root), "autograde", ASSIGNMENT,
                             "--cluster", cluster.address, "--timeout", str(TIMEOUT)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(_statuses(root)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    kept = {p.stem: p.stat().st_mtime_ns for p in (root / STATUS).glob("*.json")}
    assert 2 <= len(kept) < len(BATCH), f"the crash came too late to test anything ({len(kept)} merged)"

    assert main(["--root", str(root), "autograde", ASSIGNMENT, "--cluster", cluster.address,
                 "--timeout", str(TIMEOUT)]) == 0
    after = {p.stem: p.stat().st_mtime_ns for p in (root / STATUS).glob("*.json")}
    assert sorted(after) == sorted(BATCH)
    assert {s: after[s] for s in kept} == kept  # what was merged before the crash was not graded again
    assert export_table(root) == local[1:]


def test_rerun_with_nothing_missing_grades_nothing(local, tmp_path, capsys):
    root = _copy(local[0], tmp_path / "course")
    before = {p.stem: p.stat().st_mtime_ns for p in (root / STATUS).glob("*.json")}
    assert main(["--root", str(root), "autograde", ASSIGNMENT, "--workers", "1", "--timeout", str(TIMEOUT)]) == 0
    assert f"{len(BATCH)} up to date" in capsys.readouterr().out
    assert {p.stem: p.stat().st_mtime_ns for p in (root / STATUS).glob("*.json")} == before
    # --force grades everything again
    assert main(["--root", str(root), "autograde", ASSIGNMENT, "--workers", "2", "--force",
                 "--timeout", str(TIMEOUT), "--student", "ada"]) == 0
    assert (root / STATUS / "ada.json").stat().st_mtime_ns != before["ada"]


def test_unreachable_scheduler_fails_within_seconds(ungraded, tmp_path, capsys):
    root = _copy(ungraded, tmp_path / "course")
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.monotonic()
    assert main(["--root", str(root), "autograde", ASSIGNMENT, "--cluster", address]) == 1
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert f"could not reach the Dask scheduler at {address}" in err, err
    assert elapsed < 30, f"took {elapsed:.0f} s to give up"
    assert not (root / "autograded").exists()


def test_cluster_and_workers_are_exclusive(ungraded, tmp_path, capsys):
    root = _copy(ungraded, tmp_path / "course")
    with pytest.raises(SystemExit):  # argparse's usage error
        main(["--root", str(root), "autograde", ASSIGNMENT, "--cluster", "tcp://127.0.0.1:1", "--workers", "2"])
    assert "--workers" in capsys.readouterr().err
    assert not (root / "autograded").exists()
