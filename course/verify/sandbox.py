"""The grader's side of the verification sandbox: start the child, call into it, serve its calls.

A :class:`Sandbox` runs :mod:`course.verify.runner` in a fresh ``python -I``
process whose working directory is a private temporary directory, with a
scrubbed environment (no ``PYTHONPATH``, no grading seed, one BLAS thread),
limits on CPU time, memory and file size, and Landlock confinement (see the
runner). The grader talks to it through two pipes:

- ``exec_cells(files)`` runs the student's cells (files in the directory);
- ``call(name, args, kwargs)`` calls a function the cells defined, with plain
  arrays and numbers, and returns its result rebuilt from plain data; input
  arrays the student modified in place are modified here too, so the caller
  sees what it would have seen in the notebook;
- while a call runs, the child may call back: into functions the grader passed
  as arguments (an aggregator to test, a layer) or into ``mplib`` (the child's
  ``mplib`` is a stub). Those run *here*, in the grader, where
  :class:`course.checks.watch_mplib` sees them exactly as in the notebook.

Every wait has a deadline; a child past it is killed with its process group.
Anything odd that only a tampering submission would do is collected in
:attr:`Sandbox.signs` for the export's review column.
"""

import builtins
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

import mplib

from . import runner
from . import wire
from .wire import MAX_DEPTH, Channel, ProtocolError, decode, encode, rebuilt_class, short

__all__ = ["Sandbox", "SandboxError", "SandboxTimeout", "SandboxDied", "mplib_table", "RUNNER"]

RUNNER = Path(wire.__file__).read_text(encoding="utf-8") + Path(runner.__file__).read_text(encoding="utf-8")
MAX_INT = 10**6  # largest integer argument the grader accepts in a call from the child
MAX_ARG_BYTES = 16 << 20
_SIGNALS = {signal.SIGXCPU: "used up its CPU time", signal.SIGXFSZ: "wrote a file over the size limit",
            signal.SIGKILL: "was killed", signal.SIGSEGV: "crashed (segmentation fault)",
            signal.SIGABRT: "aborted", signal.SIGTERM: "was terminated"}


class SandboxError(Exception):
    """The sandboxed process cannot answer (an ``Exception``, so a hidden test records it as a failed case)."""


class SandboxTimeout(SandboxError):
    """The student's code ran past its deadline; the process was killed."""


class SandboxDied(SandboxError):
    """The sandboxed process ended (its code exited, was killed or crashed, or broke the protocol)."""


def mplib_table():
    """``(table, handles)``: the names of :mod:`mplib` for the child's stub, and the functions behind them.

    ``table[module][attr]`` is ``["fn", handle]`` or ``["value", encoded constant]``;
    ``handles[handle]`` is the real function, called in the grader.
    """
    global _TABLE
    if _TABLE is None:
        modules = {"mplib": mplib}
        modules.update({n: m for n, m in sorted(sys.modules.items()) if n.startswith("mplib.") and m})
        table, handles = {}, {}
        for modname, module in modules.items():
            entries = {}
            for attr, value in vars(module).items():
                if attr.startswith("__") or isinstance(value, types.ModuleType):
                    continue
                if callable(value) and str(getattr(value, "__module__", "")).startswith("mplib"):
                    handle = f"m:{value.__module__}.{getattr(value, '__qualname__', attr)}"
                    handles[handle] = value
                    entries[attr] = ["fn", handle]
                elif value is None or type(value) in (bool, int, float, str, tuple):
                    blobs = []
                    try:
                        tree = encode(value, blobs)
                    except ProtocolError:
                        continue
                    if not blobs and "opaque" not in json.dumps(tree):
                        entries[attr] = ["value", tree]
            table[modname] = entries
        _TABLE = (table, handles)
    return _TABLE


_TABLE = None


def _check_size(value, limit=MAX_ARG_BYTES):
    """Refuse arguments that would make the grader allocate a lot on the child's behalf."""
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, np.ndarray):
            total += v.nbytes
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool) and abs(int(v)) > MAX_INT:
            raise ValueError(f"integer argument {int(v)} is too large for a call into the grader")
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
    if total > limit:
        raise ValueError(f"arguments of {total >> 20} MB are too large for a call into the grader")


class Sandbox:
    """One sandboxed Python process running in ``directory`` (see the module docstring).

    Parameters
    ----------
    directory : path
        The child's working directory; it should hold only the files of one submission.
    memory_mb, cpu_seconds, file_mb : int
        Limits of the child (address space, CPU time, size of any file it writes).
    deny : list of str
        Folders the child must not read even if a package seems to live there (the course root).
    """

    def __init__(self, directory, memory_mb=1024, cpu_seconds=60, file_mb=16, deny=()):
        self.directory = str(directory)
        self.config = {"memory_mb": int(memory_mb), "cpu_seconds": int(cpu_seconds), "file_mb": int(file_mb),
                       "deny": [str(Path(d).resolve()) for d in deny]}
        self.proc = None
        self.chan = None
        self.deadline = None
        self.isolation = ""
        self.signs = []
        self.death = ""
        self._handles = {}
        self._next = 1
        self._errfile = None
        self._hook = None
        self.grace = 0  # seconds between interrupting a request past its deadline and killing the child
        self.interrupted = False
        self.skipped = []
        self._mplib_sent = False

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def alive(self):
        return self.proc is not None and not self.death

    def start(self, deadline):
        r_req, w_req = os.pipe()
        r_rep, w_rep = os.pipe()
        if os.geteuid() == 0 and runner.drops_to_nobody():
            os.chown(self.directory, runner.NOBODY, runner.NOBODY)
        env = {"PATH": "/usr/bin:/bin", "HOME": self.directory, "TMPDIR": self.directory, "LANG": "C.UTF-8",
               "LC_ALL": "C.UTF-8", "TZ": "UTC", "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self._errfile = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", RUNNER, str(r_req), str(w_rep), json.dumps(self.config)],
                cwd=self.directory, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=self._errfile, pass_fds=(r_req, w_rep), start_new_session=True, close_fds=True)
        finally:
            os.close(r_req)
            os.close(w_rep)
        self.chan = Channel(r_rep, w_req, nonblocking=True)
        self.deadline = deadline
        hello, _ = self._recv()
        self.isolation = str(hello.get("isolation", ""))[:80]

    def close(self):
        """Stop the child (politely if it is idle, else killed) and release everything."""
        if self.proc is None:
            return
        if not self.death:
            try:
                self.chan.send({"op": "bye"}, deadline=time.monotonic() + 1)
                self.proc.wait(timeout=1)
            except Exception:  # busy or gone: killed below
                pass
        self._kill()
        for fd in (self.chan.fd_in, self.chan.fd_out):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._errfile:
            self._errfile.close()
        self.proc = None

    def _kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _die(self, kind, why):
        """Record the end of the child and raise the matching error."""
        self._kill()
        code = self.proc.returncode
        if why != "EOF" or code is None:  # our reason: a timeout, a broken protocol
            self.death = why
        elif code < 0:
            self.death = f"the sandboxed process {_SIGNALS.get(-code, f'got signal {-code}')}"
        else:
            self.death = f"the sandboxed process exited with code {code} (sys.exit, os._exit or a crash)"
        if self._errfile is not None and why == "EOF":
            self._errfile.seek(0)
            tail = self._errfile.read()[-400:].decode(errors="replace").strip()
            if tail and "Traceback" in tail:
                self.death += f" [{' '.join(tail.split())[-200:]}]"
        raise kind(self.death)

    # -- messages -----------------------------------------------------------------------------

    def _recv(self):
        if self.death:
            raise SandboxDied(self.death)
        try:
            return self.chan.recv(self.deadline)
        except TimeoutError:
            if self.grace and not self.interrupted:  # as nbgrader does: interrupt, and go on if it stops
                self.interrupted = True
                try:
                    os.killpg(self.proc.pid, signal.SIGINT)
                except (ProcessLookupError, PermissionError):
                    pass
                self.deadline = time.monotonic() + self.grace
                return self._recv()
            self._die(SandboxTimeout, "ran past its time limit and was stopped")
        except EOFError:
            self._die(SandboxDied, "EOF")
        except ProtocolError as err:
            self.signs.append(f"broke the protocol ({err})")
            self._die(SandboxDied, f"broke the protocol ({err})")

    def _send(self, header, blobs=()):
        if self.death:
            raise SandboxDied(self.death)
        try:
            self.chan.send(header, blobs, self.deadline)
        except TimeoutError:
            self._die(SandboxTimeout, "stopped reading its requests and was stopped")
        except (BrokenPipeError, ConnectionResetError):
            self._die(SandboxDied, "EOF")

    def _request(self, header, blobs=()):
        """Send ``header`` and wait for the reply, serving the child's calls into the grader meanwhile."""
        self._send(header, blobs)
        while True:
            reply, rblobs = self._recv()
            if reply.get("op") != "call":
                return reply, rblobs
            try:
                answer = self._serve(reply, rblobs)
            except _MALFORMED as err:
                self._broken(err)
            self._send(*answer)

    def _broken(self, err):
        """The child sent something malformed: a sign of tampering; the child is stopped."""
        why = f"broke the protocol ({type(err).__name__}: {short(err, 80)})"
        self.signs.append(why)
        self._die(SandboxDied, why)

    def _serve(self, header, blobs):
        """Run one call of the child into the grader (an mplib function or a function passed to it)."""
        handle = header.get("target", {}).get("handle")
        fn = mplib_table()[1].get(handle) if isinstance(handle, str) else self._handles.get(handle)
        if fn is None:
            self.signs.append("called a grader function it was not given (an expired or forged handle)")
            return {"op": "raise", "type": "NameError", "msg": "no such function"}, []
        try:
            seen = []
            args = decode(header.get("args"), blobs, proxy=self._proxy, seen=seen)
            kwargs = decode(header.get("kwargs"), blobs, proxy=self._proxy, seen=seen)
            if not isinstance(args, tuple) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
                raise ProtocolError("bad call")
            _check_size((args, kwargs))
        except (ProtocolError, ValueError) as err:
            self.signs.append(f"sent a call the grader refused ({short(err, 120)})")
            return {"op": "raise", "type": "ValueError", "msg": short(err)}, []
        sys.setprofile(self._hook)  # the grader's tripwire sees this call, as in the notebook
        try:
            result = fn(*args, **kwargs)
        except Exception as err:
            return {"op": "raise", "type": type(err).__name__, "msg": short(err)}, []
        finally:
            sys.setprofile(None)
        out = []
        try:
            return {"op": "return", "value": encode(result, out)}, out
        except ProtocolError as err:
            return {"op": "raise", "type": "ValueError", "msg": short(err)}, []

    def _proxy(self, handle, name):
        """A callable of the grader's that calls the child's function ``handle``."""
        def remote(*args, **kwargs):
            return self.call({"handle": handle}, args, kwargs)
        remote.__name__ = remote.__qualname__ = name
        return remote

    def _register(self, fn):
        handle = self._next
        self._next += 1
        self._handles[handle] = fn
        return handle

    # -- the requests ---------------------------------------------------------------------------

    def budget(self, seconds):
        """Give the next request ``seconds`` (then it is interrupted if :attr:`grace`, else killed)."""
        self.deadline = time.monotonic() + seconds
        self.interrupted = False

    def exec_cells(self, files):
        """Run the cell files (names in the directory) in order; ``[[file, error type, message, line]]``.

        Magics and shell escapes the child did not run are left in :attr:`skipped`
        (``[[file, line, text, why]]``).
        """
        header = {"op": "exec", "files": list(files)}
        if not self._mplib_sent:
            header["mplib"], _ = mplib_table()
            self._mplib_sent = True
        reply, _ = self._request(header)
        try:
            if reply.get("op") != "done":
                raise ProtocolError("a reply of the wrong kind")
            self.skipped = [[str(x)[:200] for x in e][:4] for e in reply.get("skipped", [])
                            if isinstance(e, list)][:50]
            return [[str(x)[:300] for x in e][:4] for e in reply.get("errors", []) if isinstance(e, list)][:100]
        except _MALFORMED as err:
            self._broken(err)

    def call(self, target, args, kwargs):
        """Call the child's function ``target`` (``{"name": ...}`` or ``{"handle": ...}``); return its result.

        Raises the student's exception rebuilt as a plain exception of the same
        name, or :class:`SandboxError` if the child cannot answer.
        """
        blobs, mine = [], []

        def register(fn):
            mine.append(self._register(fn))
            return mine[-1]

        # A profile hook (the mplib tripwire) would see every step of the messaging; it is
        # suspended here and put back only while the grader runs a function for the child.
        outer, self._hook = self._hook, sys.getprofile()
        sys.setprofile(None)
        try:
            header = {"op": "call", "target": target, "args": encode(tuple(args), blobs, register),
                      "kwargs": encode(dict(kwargs), blobs, register)}
            reply, rblobs = self._request(header, blobs)
        finally:
            for h in mine:
                self._handles.pop(h, None)
            sys.setprofile(self._hook)
            self._hook = outer
        if reply.get("op") == "raise":
            raise _rebuilt_error(reply)
        seen = []
        try:
            if reply.get("op") != "return":
                raise ProtocolError("a reply of the wrong kind")
            value = decode(reply.get("value"), rblobs, seen=seen)
            for path, tree in list(reply.get("mutations", []))[:64]:
                _apply_mutation(args, path, decode(tree, rblobs))
        except _MALFORMED as err:
            self._broken(err)
        for name in dict.fromkeys(seen):
            sign = f"returned an object of type {name} (only plain numbers, tuples and numpy arrays are compared)"
            if sign not in self.signs:
                self.signs.append(sign)
        return value

    def report(self):
        """Signs of tampering the child noticed in itself (best effort), added to :attr:`signs`."""
        reply, _ = self._request({"op": "report"})
        try:
            for sign in list(reply.get("signs", []))[:20]:
                sign = str(sign)[:200]
                if sign not in self.signs:
                    self.signs.append(sign)
        except _MALFORMED as err:
            self._broken(err)
        return self.signs


_MALFORMED = (ProtocolError, TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError)


def _rebuilt_error(reply):
    """The student's exception as a plain one of the same name (``SystemExit`` becomes an ``Exception`` too)."""
    name = str(reply.get("type", "Error"))[:60]
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)) or issubclass(cls, SandboxError):
        cls = rebuilt_class(Exception, name)
    try:
        return cls(str(reply.get("msg", ""))[:1000])
    except Exception:  # an exception class with another signature
        return rebuilt_class(Exception, name)(str(reply.get("msg", ""))[:1000])


def _apply_mutation(args, path, new):
    """Copy ``new`` into the input array at ``path`` (the student modified it in place)."""
    target = args
    try:
        for k in list(path)[:MAX_DEPTH]:
            target = target[int(k)]
    except (IndexError, TypeError, ValueError, KeyError):
        raise ProtocolError("bad mutation path") from None
    if isinstance(target, np.ndarray) and isinstance(new, np.ndarray) and new.shape == target.shape:
        np.copyto(target, new, casting="unsafe")
