"""Throw-away servers for the tests of classes beyond one machine (issue 17).

* :class:`PostgresServer`: a real PostgreSQL server (Debian's ``postgresql`` package, which
  ``make venv`` installs through ``services.mk``), made with ``initdb`` in a temporary
  directory and started with ``pg_ctl`` on a free port of 127.0.0.1. PostgreSQL refuses to run
  as root, so as root the server runs as the unprivileged user ``nobody`` (``runuser``).
* :class:`DaskCluster`: a real ``dask.distributed`` scheduler and worker *processes*, started
  as separate commands (as an instructor starts them on several machines), each worker in its
  own working and local directory, so nothing is shared but the installed package.

Both are context managers that stop what they started. :func:`unavailable` explains why a
server cannot start; the fixtures skip with that reason and never fake a server.
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["PostgresServer", "DaskCluster", "postgres_binaries", "free_port", "ServiceError"]


class ServiceError(RuntimeError):
    """A server could not be started; the message says why (a test skips with it)."""


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_binaries():
    """The directory holding PostgreSQL's ``initdb`` and ``pg_ctl``, or ``None``.

    ``$COURSE_PG_BIN`` first, then ``PATH``, then Debian's ``/usr/lib/postgresql/<version>/bin``
    (newest version first).
    """
    candidates = [os.environ.get("COURSE_PG_BIN", "")]
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
                         reverse=True)
    for folder in candidates:
        if folder and all((Path(folder) / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    return None


class PostgresServer:
    """A PostgreSQL server in a temporary directory: ``with PostgresServer() as pg: pg.url("db")``."""

    def __init__(self, user="postgres"):
        self.user = user
        self.bin = postgres_binaries()
        self.dir = self.port = None

    def _run_as(self):
        """Command prefix running a tool as an unprivileged user (PostgreSQL refuses root)."""
        if os.geteuid() != 0:
            return []
        runuser = shutil.which("runuser")
        if runuser is None:
            raise ServiceError("running as root and `runuser` (util-linux) is missing: PostgreSQL "
                               "refuses to run as root and there is no way to start it as `nobody`")
        return [runuser, "-u", "nobody", "--"]

    def _tool(self, name, *args, check=True):
        cmd = self._run_as() + [str(self.bin / name), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=self.dir, timeout=120)
        if check and proc.returncode != 0:
            log = Path(self.dir) / "server.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise ServiceError(f"`{name} {' '.join(args)}` failed ({proc.returncode}): "
                               f"{(proc.stdout + proc.stderr).strip()[-1500:]} {tail}".strip())
        return proc

    def start(self):
        if self.bin is None:
            raise ServiceError("no PostgreSQL server here: initdb/pg_ctl/postgres are neither on PATH nor in "
                               "/usr/lib/postgresql/*/bin (`make venv` installs Debian's `postgresql` "
                               "through services.mk)")
        # a fresh 0700 directory directly in /tmp, owned by the server's user (pytest's tmp_path
        # lives in a root-only folder that `nobody` cannot enter)
        self.dir = tempfile.mkdtemp(prefix="course-pg-")
        if os.geteuid() == 0:
            os.chown(self.dir, 65534, 65534)  # nobody:nogroup
        self._tool("initdb", "-D", "data", "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync")
        last = None
        for _ in range(3):  # another process may take the free port between probe and bind
            self.port = free_port()
            opts = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c full_page_writes=off"
            proc = self._tool("pg_ctl", "-D", "data", "-l", "server.log", "-w", "-t", "30", "-o", opts,
                              "start", check=False)
            if proc.returncode == 0:
                return self
            last = ServiceError(f"pg_ctl start failed: {(proc.stdout + proc.stderr).strip()[-800:]} "
                                f"{(Path(self.dir) / 'server.log').read_text(errors='replace')[-800:]}")
        self.stop()
        raise last

    def stop(self):
        if self.dir and Path(self.dir, "data", "postmaster.pid").exists():
            self._tool("pg_ctl", "-D", "data", "-m", "fast", "-w", "stop", check=False)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def url(self, database="postgres"):
        """SQLAlchemy URL of ``database``: ``postgresql://`` is psycopg 3 with SQLAlchemy 2.1."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name):
        """Create an empty database ``name``; return its URL."""
        import psycopg
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def tables(self, database):
        """Names of the tables in ``database`` (public schema)."""
        import psycopg
        with psycopg.connect(self.url(database)) as conn:
            rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        return sorted(r[0] for r in rows)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _worker_env():
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)  # workers import the installed package, nothing from the checkout's tests
    return env


class DaskCluster:
    """A ``dask scheduler`` and ``n`` ``dask worker`` processes, each worker in its own directory.

    ``address`` is the scheduler's ``tcp://`` address; ``workers[k]`` the k-th worker process
    (started with ``--no-nanny``: a killed worker stays dead, nothing restarts it);
    ``dirs[k]`` its working directory.
    """

    def __init__(self, base, n=2, threads=1):
        self.base, self.n, self.threads = Path(base), n, threads
        self.scheduler = None
        self.workers, self.dirs = [], []
        self.address = None

    def _spawn(self, args, cwd, log):
        return subprocess.Popen([sys.executable, "-m", *args], cwd=cwd, env=_worker_env(),
                                stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, timeout=60):
        (self.base / "scheduler").mkdir(parents=True, exist_ok=True)
        info = self.base / "scheduler" / "scheduler.json"
        self.scheduler = self._spawn(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                                      "--no-dashboard", "--scheduler-file", str(info)],
                                     self.base / "scheduler", self.base / "scheduler" / "log.txt")
        deadline = time.monotonic() + timeout
        while not info.exists():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ServiceError("the dask scheduler did not start: "
                                   + (self.base / "scheduler" / "log.txt").read_text()[-1500:])
            time.sleep(0.1)
        while True:  # the file is written in one go, but read it only once it parses
            try:
                self.address = json.loads(info.read_text())["address"]
                break
            except (ValueError, KeyError):
                time.sleep(0.05)
        for k in range(self.n):
            self.add_worker()
        self.wait_for_workers(self.n, deadline - time.monotonic())
        return self

    def add_worker(self):
        k = len(self.workers)
        work = self.base / f"worker-{k}"
        work.mkdir(parents=True, exist_ok=True)
        self.dirs.append(work)
        self.workers.append(self._spawn(
            ["distributed.cli.dask_worker", self.address, "--name", f"worker-{k}", "--nthreads",
             str(self.threads), "--no-nanny", "--no-dashboard", "--memory-limit", "0",
             "--local-directory", str(work / "dask")], work, work / "log.txt"))
        return self.workers[-1]

    def wait_for_workers(self, n, timeout=60):
        from distributed import Client
        with Client(self.address, timeout="10s") as client:
            try:
                client.wait_for_workers(n, timeout=max(timeout, 1))
            except TimeoutError:
                logs = " | ".join((d / "log.txt").read_text()[-500:] for d in self.dirs)
                self.stop()
                raise ServiceError(f"{n} dask workers did not connect in time: {logs}") from None

    def kill_worker(self, k):
        """SIGKILL worker ``k`` (and anything it started in its session, e.g. kernels)."""
        proc = self.workers[k]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop(self):
        for proc in self.workers + ([self.scheduler] if self.scheduler else []):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
