"""Warm kernels for parallel autograding: fork each kernel from a process that already imported everything.

Starting an IPython kernel and importing numpy, scipy and mplib costs about a
second of CPU per notebook, most of the work of grading one. Each autograde
worker therefore starts a *zygote*: a small process that imports ipykernel,
numpy, scipy, mplib and the hidden checks once, then forks a fresh kernel
process for every notebook. Every notebook still runs in its own new process
(nothing is shared between submissions but the already-imported modules), and
the kernel is driven exactly as nbgrader drives any kernel.

Used through :class:`FastExecute`, a drop-in for nbgrader's ``Execute``
preprocessor that :mod:`course.instructor.autograde` puts in its workers' configuration.
Without a zygote (e.g. plain ``nbgrader autograde``) kernels start as usual.
"""

import importlib
import json
import os
import signal
import subprocess
import sys
import time

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute

__all__ = ["start_zygote", "ZygoteKernelManager", "FastExecute", "PRELOAD"]

PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "numpy", "scipy.sparse", "mplib", "course.checks")
_LAUNCHER = ["-m", "ipykernel_launcher"]
_zygote = None


class ForkedKernel:
    """The part of :class:`subprocess.Popen` that jupyter_client uses, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)  # the zygote reaps its children: gone means exited
            except ProcessLookupError:
                self.returncode = 1
        return self.returncode

    def wait(self, timeout=None):
        start = time.monotonic()
        while self.poll() is None:
            if timeout is not None and time.monotonic() - start > timeout:
                raise TimeoutError(f"kernel {self.pid} still running")
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):
        os.kill(self.pid, signum)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class Zygote:
    """Handle on the zygote process: ``spawn(cmd, env, cwd)`` returns a :class:`ForkedKernel`."""

    def __init__(self, preload=PRELOAD, env=None):
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        # A fresh interpreter, not a fork of this process: a Dask worker runs threads, and a forked
        # copy of a threaded process can hang on a lock another thread held. Kernels print nothing
        # to the worker's terminal (their output reaches nbgrader through the kernel protocol).
        code = ("import sys; from course.instructor.kernels import _zygote_main; "
                "_zygote_main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(','))")
        self._proc = subprocess.Popen([sys.executable, "-c", code, str(req_r), str(rep_w), ",".join(preload)],
                                      pass_fds=(req_r, rep_w), env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(req_r)
        os.close(rep_w)
        self.pid = self._proc.pid
        self._requests = os.fdopen(req_w, "w", buffering=1)
        self._replies = os.fdopen(rep_r, "r")

    def alive(self):
        return self._proc.poll() is None

    def spawn(self, cmd, env, cwd):
        self._requests.write(json.dumps({"argv": list(cmd), "env": dict(env), "cwd": str(cwd)}) + "\n")
        reply = self._replies.readline()
        if not reply:
            raise RuntimeError("the kernel zygote has exited")
        return ForkedKernel(json.loads(reply)["pid"])


def _zygote_main(req_fd, rep_fd, preload):
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped automatically
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        keep = sorted({req_fd, rep_fd})  # drop the worker's other pipes: kernels must not hold them
        os.closerange(3, keep[0])
        os.closerange(keep[0] + 1, keep[1])
        os.closerange(keep[1] + 1, 65536)
        for name in preload:
            try:
                importlib.import_module(name)
            except Exception:  # a missing optional module only costs speed
                pass
        requests = os.fdopen(req_fd, "r")
        replies = os.fdopen(rep_fd, "w", buffering=1)
        for line in requests:
            msg = json.loads(line)
            pid = os.fork()
            if pid == 0:
                requests.close()
                replies.close()
                _kernel_main(msg)
            try:
                os.setpgid(pid, pid)  # its own process group, before anyone signals it
            except OSError:
                pass
            replies.write(json.dumps({"pid": pid}) + "\n")
    finally:
        os._exit(0)


def _kernel_main(msg):
    code = 1
    try:
        try:
            os.setpgid(0, 0)
        except OSError:
            pass
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(msg["cwd"])
        os.environ.clear()
        os.environ.update(msg["env"])
        # exit when the zygote (and so the worker) goes away, as a launched kernel does with its parent
        args = msg["argv"][3:] + [f"--IPKernelApp.parent_handle={os.getppid()}"]
        sys.argv = [msg["argv"][0]] + args
        if sys.path and sys.path[0] == "":
            del sys.path[0]
        if "numpy" in sys.modules:  # a fresh process would not share the zygote's global random state
            sys.modules["numpy"].random.seed()
        from ipykernel.kernelapp import IPKernelApp  # preloaded by the zygote; the worker never needs it
        IPKernelApp.launch_instance(argv=args)
        code = 0
    finally:
        os._exit(code)


def start_zygote(env=None):
    """Start this process's zygote (a fresh interpreter; safe in a threaded process such as a Dask worker).

    ``env``: the zygote's environment (default: this process's); each kernel gets its own from
    jupyter_client, but the zygote's ``PYTHONPATH`` decides where the preloaded modules come from.
    """
    global _zygote
    if _zygote is None or not _zygote.alive():
        _zygote = Zygote(env=env)
    return _zygote


class ZygoteKernelManager(AsyncKernelManager):
    """Launches ``python -m ipykernel_launcher`` kernels by forking the zygote, when there is one."""

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        zygote = _zygote
        if zygote is None or not zygote.alive() or list(kernel_cmd[1:3]) != _LAUNCHER:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        process = zygote.spawn(kernel_cmd, kw.get("env") or os.environ, kw.get("cwd") or os.getcwd())
        provisioner = self.provisioner
        provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, process.pid
        provisioner.cwd = kw.get("cwd")
        self._reconcile_connection_info(provisioner.connection_info)

    async def _async_wait(self, pollinterval=0.1):
        # jupyter_client polls every 0.1 s for the kernel to exit after its shutdown request;
        # a forked kernel's poll is one os.kill(pid, 0), so poll every 10 ms (shutdown of
        # each notebook's kernel ends ~0.05 s sooner, on the worker's critical path)
        forked = isinstance(getattr(self.provisioner, "process", None), ForkedKernel)
        await super()._async_wait(pollinterval=min(pollinterval, 0.01) if forked else pollinterval)


class FastExecute(Execute):
    """nbgrader's ``Execute`` (same options, configured as ``Execute``) with zygote-forked kernels."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", ZygoteKernelManager)
        super().__init__(*args, **kwargs)
