"""The kernel zygote: a process that imported the kernel's modules once and forks a kernel per notebook.

The process side of :mod:`course.instructor.kernels` (which drives the forked kernels
through jupyter_client). The zygote runs ``python -c "from course.instructor.zygote
import _zygote_main; ..."``, so this module imports nothing beyond the standard library:
importing :mod:`course.instructor.kernels` there would load nbgrader and jupyter_client
(2.5 s of CPU before the first kernel: nbformat's jsonschema alone costs 1.8 s).
"""

import importlib
import json
import os
import signal
import subprocess
import sys
import time

__all__ = ["PRELOAD", "ForkedKernel", "Zygote", "start_zygote", "current"]

PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "numpy", "scipy.sparse", "mplib", "course.checks")
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
        code = ("import sys; from course.instructor.zygote import _zygote_main; "
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


def current():
    """This process's zygote when it is running, else ``None``."""
    return _zygote if _zygote is not None and _zygote.alive() else None

