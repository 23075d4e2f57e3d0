"""Warm kernels for parallel autograding: fork each kernel from a process that already imported everything.

Starting an IPython kernel and importing numpy, scipy and mplib costs about a
second of CPU per notebook, most of the work of grading one. Each autograde
worker therefore starts a *zygote*: a small process that imports ipykernel,
numpy, scipy, mplib and the hidden checks once, then forks a fresh kernel
process for every notebook. Every notebook still runs in its own new process
(nothing is shared between submissions but the already-imported modules), and
the kernel is driven exactly as nbgrader drives any kernel.

The zygote process itself is :mod:`course.instructor.zygote` (standard library only, so
the zygote imports nothing it does not need); this module drives its kernels through
jupyter_client. Used through :class:`FastExecute`, a drop-in for nbgrader's ``Execute``
preprocessor that :mod:`course.instructor.autograde` puts in its workers' configuration.
Without a zygote (e.g. plain ``nbgrader autograde``) kernels start as usual.
"""

import os

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute

from .zygote import PRELOAD, ForkedKernel, current, start_zygote

__all__ = ["start_zygote", "ZygoteKernelManager", "FastExecute", "PRELOAD"]

_LAUNCHER = ["-m", "ipykernel_launcher"]


class ZygoteKernelManager(AsyncKernelManager):
    """Launches ``python -m ipykernel_launcher`` kernels by forking the zygote, when there is one."""

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        zygote = current()
        if zygote is None or list(kernel_cmd[1:3]) != _LAUNCHER:
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
