"""Where autograding runs: the workers of a Dask cluster, or of a local one.

The course does not schedule work itself. Each submission becomes one task of
``dask.distributed``: with ``--cluster ADDRESS`` on the workers of a running
scheduler (lab machines, a SLURM allocation through dask-jobqueue, Kubernetes
through dask-kubernetes; see book/instructors.md), otherwise on a
:class:`~distributed.LocalCluster` of worker *processes* on this machine. The
same task function runs in both cases, and the coordinator (the process that
called :func:`run`) is the only one that touches the course directory and
the gradebook.

Faults are Dask's: a worker that dies while it holds a task makes the
scheduler give the task to another worker; a task whose workers died
``distributed.scheduler.allowed-failures`` times (3 by default) comes back as
:class:`~distributed.KilledWorker` and :func:`run` reports it as an error, so
the caller records a failure with that reason. A scheduler that cannot be
reached is an :class:`EngineError` within :data:`CONNECT_TIMEOUT` seconds.
"""

import logging
import multiprocessing
import os
import re
import tempfile
import uuid
from contextlib import contextmanager

from .tools import PipelineError

# ``distributed`` and ``dask`` are imported where a cluster is used, not here: they cost 0.7 s of
# CPU, and every other command of ``python -m course`` (release, export, ...) imports this module.

__all__ = ["EngineError", "CONNECT_TIMEOUT", "check_address", "client", "run", "worker_name"]

CONNECT_TIMEOUT = 5  # seconds to reach a scheduler before giving up
_ADDRESS = re.compile(r"^(?:(tcp|tls|ws|wss|ucx)://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-_]+):(\d{1,5})$")


class EngineError(PipelineError):
    """The cluster could not be used; the message says why and what to check."""


def check_address(address):
    """``address`` as a scheduler URL (``tcp://host:port``); a clear error when it is not one."""
    match = _ADDRESS.match(str(address).strip())
    if not match or not 0 < int(match.group(3)) < 65536:
        raise EngineError(f"--cluster: expected the address of a Dask scheduler such as tcp://host:8786, "
                          f"got {address!r}")
    return str(address).strip() if match.group(1) else f"tcp://{str(address).strip()}"


def _plugin(function):
    """A worker plug-in calling ``function()`` on every worker as it joins (and on those already there)."""
    from distributed.diagnostics.plugin import WorkerPlugin  # see the note on imports above

    class Setup(WorkerPlugin):
        name = f"course-setup-{function.__module__}.{function.__qualname__}"
        idempotent = True  # registered again by the next run on a long-lived cluster: nothing to redo

        def setup(self, worker):
            function()

    return Setup()


@contextmanager
def client(cluster=None, workers=None, setup=None):
    """A :class:`distributed.Client`: to the scheduler at ``cluster``, else to a local cluster.

    The local cluster has ``workers`` single-threaded worker processes (default:
    the CPU count) and lives as long as the ``with`` block. ``setup``: a function
    (importable by the workers, taking no argument) each worker calls when it joins.
    """
    with _connect(cluster, workers) as conn:
        if setup is not None:
            conn.register_plugin(_plugin(setup))
        yield conn


@contextmanager
def _connect(cluster, workers):
    import distributed  # see the note on imports above
    if cluster:
        address = check_address(cluster)
        try:
            conn = distributed.Client(address, timeout=f"{CONNECT_TIMEOUT}s", set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise EngineError(
                f"could not reach the Dask scheduler at {address} within {CONNECT_TIMEOUT} s "
                f"({type(err).__name__}: {' '.join(str(err).split())[:200]}); is `dask scheduler` running "
                "there, and can this machine reach that port?") from None
        with conn:
            if not conn.scheduler_info(n_workers=-1).get("workers"):
                logging.getLogger("course.engine").warning("the scheduler at %s has no workers yet", address)
            yield conn
        return
    import dask  # see the note on imports above
    n = int(workers or os.cpu_count() or 1)
    if n < 1:
        raise EngineError(f"--workers: expected at least 1 worker process, got {n}")
    with dask.config.set({"distributed.worker.multiprocessing-method": _local_method()}), \
            tempfile.TemporaryDirectory(prefix="course-dask-") as scratch, \
            distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=0,
                                     dashboard_address=":0", silence_logs=logging.ERROR,
                                     local_directory=scratch) as local, \
            distributed.Client(local, set_as_default=False) as conn:
        yield conn


PRELOAD = ("distributed", "nbgrader.converters", "nbgrader.api", "nbgrader.preprocessors", "nbclient",
           "course.instructor.autograde", "course.instructor.kernels", "course.verify.submission")


def _local_method():
    """How the local cluster starts its workers: forked from a server that imported the grader once.

    Each worker then starts in a fraction of a second instead of importing nbgrader
    itself; ``spawn`` where there is no forkserver.
    """
    import dask  # see the note on imports above
    from distributed.utils import get_mp_context
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return "spawn"
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        ctx = get_mp_context()  # dask names its own preload once; ours replaces it before the server starts
    ctx.set_forkserver_preload(list(PRELOAD))
    return "forkserver"


def run(conn, function, items, key):
    """Run ``function(item)`` for every item on the cluster of ``conn``; yield lists of ``(item, result, error)``.

    In order of completion, each list holding every task that finished since the
    previous one (at least one), so the caller can merge them together. ``key(item)``
    names the task (the scheduler shows it); ``error`` is ``None`` or the exception the
    task ended with (e.g. :class:`distributed.KilledWorker` after its workers died too often).
    """
    import distributed  # see the note on imports above
    futures = {}
    for item in items:
        future = conn.submit(function, item, key=f"{key(item)}-{uuid.uuid4().hex[:8]}", pure=False)
        futures[future] = item
    try:
        for done in distributed.as_completed(futures, loop=conn.loop).batches():
            batch = []
            for future in done:
                try:
                    result, error = future.result(), None
                except Exception as err:  # the task could not finish anywhere
                    result, error = None, err
                future.release()
                batch.append((futures[future], result, error))
            yield batch
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            conn.cancel(pending)


def worker_name():
    """Name of the Dask worker running this task, or ``"local"`` outside a worker."""
    try:
        from distributed import get_worker  # see the note on imports above
        return str(get_worker().name)
    except (ImportError, ValueError):
        return "local"
