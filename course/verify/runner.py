"""The verification sandbox's child program.

The grader (:mod:`course.verify.sandbox`) starts this file's source as
``python -I -B -c <source> <request fd> <reply fd> <config json>`` in an empty
temporary directory. Before any student code runs, the child

1. limits itself (``resource.setrlimit``: CPU seconds, address space, file size,
   open files, no core dumps);
2. confines itself with Landlock when the kernel offers it: it may read the
   Python standard library, the installed third-party packages (not ``mplib``,
   not the course) and system libraries, read and write its own directory, and
   nothing else; no TCP, no signals to processes outside the sandbox;
3. gives up root (becomes ``nobody``) and forbids new processes and threads
   (``RLIMIT_NPROC = 0``); an audit hook refuses ``subprocess``, ``os.system``,
   ``fork`` and ``exec`` with a clear error;
4. replaces ``mplib`` by a stub whose functions run in the grader (where the
   grader's tripwire sees them);

then it waits for requests (see :mod:`course.verify.wire` for the format).

The child cannot import :mod:`course`: it runs the source of :mod:`course.verify.wire`
followed by this file's, and imports only the standard library and numpy.
"""

import builtins
import ctypes
import importlib.abc
import importlib.machinery
import json
import os
import resource
import signal
import stat
import struct
import sys
import sysconfig
import types

import numpy as np

if __name__ != "__main__":  # imported by the grader; in the sandbox the wire module's source came first
    from .wire import Channel, decode, encode, rebuilt_class, short, type_name

# Landlock (linux/landlock.h): file-system rights, rule type, syscalls
_FS_EXECUTE, _FS_WRITE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_REMOVE_DIR, _FS_REMOVE_FILE, _FS_MAKE_DIR, _FS_MAKE_REG, _FS_MAKE_SYM = 16, 32, 128, 256, 4096
_FS_REFER, _FS_TRUNCATE = 1 << 13, 1 << 14
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE | _FS_READ_FILE | _FS_TRUNCATE | (1 << 15)
_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
_OWN_DIR = (_FS_READ_FILE | _FS_READ_DIR | _FS_WRITE | _FS_REMOVE_DIR | _FS_REMOVE_FILE | _FS_MAKE_DIR
            | _FS_MAKE_REG | _FS_MAKE_SYM | _FS_REFER | _FS_TRUNCATE)
_BLOCKED_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                   "subprocess.Popen", "pty.spawn", "socket.connect", "socket.bind")


_BLOCKED_SYMBOLS = {"fork", "vfork", "clone", "clone3", "execve", "execv", "execvp", "execl", "execlp",
                    "posix_spawn", "posix_spawnp", "system", "popen", "syscall", "setsid", "unshare", "ptrace",
                    "prctl", "setrlimit", "prlimit", "prlimit64", "mount"}
NOBODY = 65534


def drops_to_nobody():
    """True if the child, started as root, becomes ``nobody``: the Python installation must be readable by others."""
    for folder in {sys.base_prefix, sys.prefix, sysconfig.get_paths()["stdlib"]}:
        path = os.path.realpath(folder)
        parts = [path] + [os.path.dirname(path)]
        while parts[-1] != os.path.dirname(parts[-1]):
            parts.append(os.path.dirname(parts[-1]))
        if any(not os.stat(p).st_mode & 0o001 for p in parts):  # others may not traverse
            return False
    return True


def _drop_capabilities():
    """Clear every capability of this process (uid stays 0), including the bounding and ambient sets."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(47, 4, 0, 0, 0)  # PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL
    for cap in range(64):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (fails harmlessly past the last capability)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    data = (Data * 2)()
    libc.capset(ctypes.byref(Header(0x20080522, 0)), data)


def _landlock(rules):
    """Confine this process to ``rules`` (``[(path, rights)]``); return a description of what was applied."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    L = ctypes.c_long
    abi = libc.syscall(L(444), None, L(0), L(1))
    if abi < 1:
        return f"none (Landlock unavailable: {os.strerror(ctypes.get_errno())})"
    fs_all = (1 << 13) - 1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0) \
        | ((1 << 15) if abi >= 5 else 0)

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

    attr = RulesetAttr(fs_all, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)  # deny TCP; scope signals, sockets
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(L(444), ctypes.byref(attr), L(size), L(0))
    if ruleset < 0:
        return f"none (landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())})"
    for path, rights in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
            beneath = PathBeneath((rights if is_dir else rights & _FILE_RIGHTS) & fs_all, fd)
            libc.syscall(L(445), L(ruleset), L(1), ctypes.byref(beneath), L(0))
        finally:
            os.close(fd)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return "none (prctl failed)"
    if libc.syscall(L(446), L(ruleset), L(0)) != 0:
        return f"none (landlock_restrict_self failed: {os.strerror(ctypes.get_errno())})"
    os.close(ruleset)
    return f"landlock abi {abi}"


def _read_rules(sandbox, deny):
    """What the child may read: stdlib, third-party packages except ``deny``, system libraries."""

    def within(path, folder):
        return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)

    def denied(path, folder):  # the course's own packages, or a link from site-packages into the course
        real = os.path.realpath(path)
        name = os.path.basename(path).lower()
        return (name.startswith(("mplib", "course", "__editable__")) and not name.endswith(".dist-info") or
                not within(real, os.path.realpath(folder)) and any(within(real, d) for d in deny))

    rules = [(sandbox, _OWN_DIR), ("/dev/null", _FS_READ_FILE | _FS_WRITE)]
    rules += [(p, _FS_READ_FILE) for p in ("/dev/urandom", "/etc/ld.so.cache", "/proc/cpuinfo")]
    rules += [(p, _READ) for p in ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo",
                                   "/sys/devices/system/cpu")]
    stdlib = sysconfig.get_paths()["stdlib"]
    dirs = [stdlib] + [p for p in sys.path if "site-packages" in p or "dist-packages" in p]
    for folder in dict.fromkeys(dirs):
        if not os.path.isdir(folder):
            continue
        rules.append((folder, _FS_READ_DIR))
        for entry in os.listdir(folder):
            path = os.path.join(folder, entry)
            if entry != "site-packages" and not denied(path, folder):
                rules.append((path, _READ))
    rules += [(p, _READ) for p in sys.path if p.endswith(".zip") and os.path.exists(p)]
    return rules


class Runner:
    """The child's state: the student's namespace, handles, the mplib stub, what looked like tampering."""

    def __init__(self, channel, config):
        self.chan = channel
        self.config = config
        self.shell = Shell(self)
        self.ns = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": self.shell.get_ipython,
                   "display": _display}
        self.handles = {}
        self.next_handle = 1
        self.blocked = []
        self.isolation = "none"
        self._baseline = {}

    # -- confinement --------------------------------------------------------------------------

    def confine(self):
        limits = self.config
        mem = int(limits.get("memory_mb", 1024)) << 20
        cpu = int(limits.get("cpu_seconds", 60))
        fsize = int(limits.get("file_mb", 16)) << 20
        missing = []
        for res, value in (("RLIMIT_CORE", 0), ("RLIMIT_AS", mem), ("RLIMIT_FSIZE", fsize),
                           ("RLIMIT_NOFILE", 64), ("RLIMIT_CPU", cpu)):
            try:
                resource.setrlimit(getattr(resource, res), (value, value + 2 if res == "RLIMIT_CPU" else value))
            except (AttributeError, ValueError, OSError):  # not on this platform: the grader's deadlines remain
                missing.append(res)
        rules = _read_rules(os.getcwd(), limits.get("deny", []))
        self._allowed = tuple(os.path.realpath(p) + (os.sep if os.path.isdir(p) else "")
                              for p, rights in rules if rights & _FS_READ_FILE)
        linux = sys.platform.startswith("linux")
        self.isolation = _landlock(rules) if linux else f"none (no Landlock on {sys.platform})"
        if os.geteuid() == 0:  # give up root: no raising the limits again, no capabilities
            if drops_to_nobody() or not linux:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            else:  # the Python installation is private to root (e.g. under /root): stay uid 0, drop every capability
                _drop_capabilities()
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no new processes or threads (not for uid 0)
        except (AttributeError, ValueError, OSError):
            missing.append("RLIMIT_NPROC")
        if missing:
            self.isolation += f"; without {', '.join(missing)}"
        import subprocess  # only to cut it off below; the child never starts a process itself
        sys.modules.pop("_posixsubprocess", None)  # fork_exec raises no audit event: keep it out of reach
        subprocess._posixsubprocess = None
        self._pid, self._home = os.getpid(), os.getcwd() + os.sep
        stdlib = sysconfig.get_paths()["stdlib"]
        self._stdlib = tuple({stdlib + os.sep, os.path.realpath(stdlib) + os.sep})
        self._packages = tuple({f(p) + os.sep for p in sys.path if "site-packages" in p or "dist-packages" in p
                                for f in (os.path.abspath, os.path.realpath)})
        self._deny = [d.rstrip(os.sep) for d in limits.get("deny", [])]
        self._snapshot()
        sys.addaudithook(self._audit)

    def _by_student(self):
        """True if the nearest caller outside the standard library is a cell (not an installed package).

        matplotlib, for one, tries ``fc-list`` when it builds its font cache: refused like
        anything else, but no sign of tampering when a package does it on its own.
        """
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.startswith(self._stdlib):
            frame = frame.f_back
        return frame is None or not frame.f_code.co_filename.startswith(self._packages)

    def _audit(self, event, args):
        if event == "import" and args[0] == "_posixsubprocess" or \
                event == "ctypes.dlsym" and isinstance(args[1], str) and args[1] in _BLOCKED_SYMBOLS:
            event = f"{event} {args[0] if event == 'import' else args[1]}"
            if event.startswith("ctypes") or self._by_student():
                self.blocked.append(event)
            raise PermissionError(f"the verification sandbox does not allow {event}")
        if event in _BLOCKED_EVENTS:
            if event.startswith("socket") or self._by_student():
                self.blocked.append(event)
            raise PermissionError(f"the verification sandbox does not allow {event}")
        if event == "os.kill" and args[0] not in (0, self._pid):
            self.blocked.append(f"tried to signal process {args[0]}")
        elif event in ("open", "sqlite3.connect") and isinstance(args[0], (str, bytes)):
            path = os.path.abspath(os.fsdecode(args[0]))
            if path.startswith(self._home):
                return
            flags = args[2] if event == "open" and isinstance(args[2], int) else 0
            mode = args[1] if event == "open" and isinstance(args[1], str) else ""
            if any(path == d or path.startswith(d + os.sep) for d in self._deny) and \
                    not (path + os.sep).startswith(self._allowed):
                self.blocked.append(f"tried to open {path}")
            elif (flags & (os.O_WRONLY | os.O_RDWR) or set(mode) & set("wax+")) and path != os.devnull:
                self.blocked.append(f"tried to write {path}")
            if not self.isolation.startswith("landlock"):  # no kernel confinement: the hook is the wall
                real = os.path.realpath(path)
                if not (real + os.sep).startswith(self._allowed) and real not in self._allowed:
                    raise PermissionError(f"the verification sandbox does not allow opening {real}")

    def _snapshot(self):
        watched = {"builtins": builtins, "numpy": np, "numpy.linalg": np.linalg, "numpy.random": np.random,
                   "sys": sys, "os": os, "json": json, "struct": struct}
        self._baseline = {name: (mod, dict(vars(mod))) for name, mod in watched.items()}
        self._modules = {name: sys.modules.get(name) for name in watched}

    def tampering(self):
        """Signs of tampering seen in this process (best effort: the student's code runs here too)."""
        signs = [e if e.startswith("tried") else f"blocked {e}" for e in dict.fromkeys(self.blocked)][:12]
        if sys.gettrace() is not None:
            signs.append("installed a trace function (sys.settrace)")
        if sys.getprofile() is not None:
            signs.append("installed a profile function (sys.setprofile)")
        for name, (mod, before) in self._baseline.items():
            if sys.modules.get(name) is not self._modules[name]:
                signs.append(f"replaced the module {name} in sys.modules")
            now = vars(mod)
            changed = [k for k, v in before.items() if k in now and now[k] is not v
                       and (name == "builtins" or not k.startswith("__"))]
            changed += [k for k in now if k not in before and name == "builtins"]
            if name in ("sys", "os"):
                changed = [k for k in changed if callable(before.get(k))]
            if changed:
                signs.append(f"replaced {', '.join(f'{name}.{k}' for k in sorted(changed)[:6])}")
        sandbox = os.getcwd() + os.sep
        for modname in sorted(sys.modules):
            if not modname.split(".")[0] in ("networkx", "scipy", "numpy", "math", "operator", "functools",
                                             "mplib"):
                continue
            mod = sys.modules[modname]
            try:
                items = list(vars(mod).items())
            except TypeError:
                continue
            bad = [k for k, v in items if getattr(getattr(v, "__code__", None), "co_filename", "").startswith(sandbox)]
            if bad:
                signs.append(f"replaced {', '.join(f'{modname}.{k}' for k in sorted(bad)[:6])}")
        return signs

    # -- the mplib stub -----------------------------------------------------------------------

    def install_mplib(self, table):
        """``mplib`` and its submodules as stubs whose functions call the grader (``table`` from it)."""
        runner = self

        def make_function(handle, name, module):
            def remote(*args, **kwargs):
                return runner.call_remote(handle, args, kwargs)
            remote.__name__ = remote.__qualname__ = name
            remote.__module__ = module
            return remote

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return types.ModuleType(spec.name)

            def exec_module(self, module):
                for attr, (kind, value) in table.get(module.__name__, {}).items():
                    if kind == "fn":
                        setattr(module, attr, make_function(value, attr, module.__name__))
                    elif kind == "value":
                        setattr(module, attr, decode(value, []))
                if module.__name__ == "mplib":
                    module.__path__ = []
                    for sub in table:
                        if sub.startswith("mplib.") and sub.count(".") == 1:
                            setattr(module, sub.split(".")[1], importlib.import_module(sub))
                    for attr, (kind, value) in table["mplib"].items():  # functions win over submodules
                        if kind == "fn":
                            setattr(module, attr, make_function(value, attr, "mplib"))

        class Finder(importlib.abc.MetaPathFinder):
            def find_spec(self, fullname, path=None, target=None):
                if fullname in table:
                    return importlib.machinery.ModuleSpec(fullname, Loader(), is_package=fullname == "mplib")
                if fullname.split(".")[0] in ("mplib", "course"):
                    raise ModuleNotFoundError(f"No module named {fullname!r} (not available when verifying)")
                return None

        sys.meta_path[:] = [Finder()] + [f for f in sys.meta_path if "editable" not in type(f).__module__]
        for name in [m for m in sys.modules if m.split(".")[0] in ("mplib", "course")]:
            del sys.modules[name]

    # -- requests -----------------------------------------------------------------------------

    def register(self, fn):
        handle = self.next_handle
        self.next_handle += 1
        self.handles[handle] = fn
        return handle

    def call_remote(self, handle, args, kwargs):
        """Call the grader's function ``handle``; serve its calls back into this process meanwhile."""
        blobs = []
        mine = set()

        def register(fn):
            h = self.register(fn)
            mine.add(h)
            return h

        header = {"op": "call", "target": {"handle": handle},
                  "args": encode(tuple(args), blobs, register), "kwargs": encode(dict(kwargs), blobs, register)}
        try:
            self.chan.send(header, blobs)
            reply, rblobs = self.serve(until_reply=True)
        finally:
            for h in mine:
                self.handles.pop(h, None)
        if reply["op"] == "raise":
            raise self.rebuilt_error(reply)
        return decode(reply["value"], rblobs, proxy=self.proxy)

    def proxy(self, handle, name):
        def remote(*args, **kwargs):
            return self.call_remote(handle, args, kwargs)
        remote.__name__ = remote.__qualname__ = name
        return remote

    @staticmethod
    def rebuilt_error(reply):
        cls = getattr(builtins, str(reply.get("type")), None)
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            cls = rebuilt_class(Exception, reply.get("type", "Error"))
        try:
            return cls(str(reply.get("msg", "")))
        except Exception:
            return rebuilt_class(Exception, reply.get("type", "Error"))(str(reply.get("msg", "")))

    def exec_cells(self, header):
        """Run the cell files in order; report each failure with its line, and the magics not run."""
        if "mplib" in header:
            self.install_mplib(header["mplib"])
        errors = []
        self.shell.skipped = []
        for name in header["files"]:
            path = os.path.join(os.getcwd(), os.path.basename(name))
            try:
                with open(path, encoding="utf-8") as fh:
                    source = fh.read()
                exec(compile(source, path, "exec"), self.ns)
            except BaseException as err:  # the cell failed; the next one runs, as in a notebook
                errors.append([os.path.basename(name), type_name(err), short(err), _line_in(err, path)])
        return {"op": "done", "errors": errors, "skipped": self.shell.skipped[:50]}, []

    def handle_call(self, header, blobs):
        target = header.get("target", {})
        try:
            if "name" in target:
                fn = self.ns.get(str(target["name"]))
                if fn is None:
                    raise NameError(f"name {str(target['name'])!r} is not defined")
            else:
                fn = self.handles[int(target["handle"])]
            args = decode(header["args"], blobs, proxy=self.proxy)
            kwargs = decode(header["kwargs"], blobs, proxy=self.proxy)
        except BaseException as err:
            return {"op": "raise", "type": type_name(err), "msg": short(err)}, []
        inputs = [(path, a, a.copy()) for path, a in _arrays(args)]
        try:
            result = fn(*args, **kwargs)
        except BaseException as err:
            return {"op": "raise", "type": type_name(err), "msg": short(err)}, []
        try:
            out = []
            value = encode(result, out)
            mutations = [[path, encode(a, out)] for path, a, before in inputs
                         if a.shape != before.shape or a.dtype != before.dtype or a.tobytes() != before.tobytes()]
            return {"op": "return", "value": value, "mutations": mutations}, out
        except BaseException as err:
            return {"op": "raise", "type": type_name(err), "msg": "the result could not be passed out of the "
                                                               f"sandbox: {short(err)}"}, []

    def serve(self, until_reply=False):
        while True:
            header, blobs = self.chan.recv()
            op = header.get("op")
            if until_reply and op in ("return", "raise"):
                return header, blobs
            if op == "exec":
                reply = self.exec_cells(header)
            elif op == "call":
                reply = self.handle_call(header, blobs)
            elif op == "report":
                reply = {"op": "report", "signs": self.tampering(), "isolation": self.isolation}, []
            elif op == "bye":
                os._exit(0)
            else:
                reply = {"op": "raise", "type": "ProtocolError", "msg": f"unknown request {op!r}"}, []
            self.chan.send(*reply)


# -- IPython syntax ---------------------------------------------------------------------------------
# The grader turns a cell's IPython syntax into Python with IPython's own input transformer
# (``%timeit f(x)`` becomes ``get_ipython().run_line_magic('timeit', 'f(x)')``); this is the
# ``get_ipython()`` those lines call. Magics that measure or configure run (``%time``, ``%%time``,
# ``%%capture``: the code runs once, as in the notebook; ``%timeit``: the statement runs once, its
# names stay local, as in IPython) or do nothing (``%matplotlib``, ``%load_ext``, ...). Shell
# escapes (``!cmd``, ``%pip``) and magics that read files or other programs are not run here; the
# cell goes on, and the grader reports each one (``skipped``) with its line.

MEASURE_MAGICS = ("time", "timeit", "capture", "prun")
QUIET_MAGICS = ("matplotlib", "config", "load_ext", "reload_ext", "unload_ext", "autoreload", "aimport",
                "precision", "xmode", "pdb", "colors", "pprint", "who", "whos", "who_ls", "lsmagic",
                "pinfo", "pinfo2", "psearch", "pdoc", "pdef", "psource", "doctest_mode", "history",
                "autocall", "automagic", "page", "env", "notebook", "magic", "quickref", "alias_magic",
                "debug", "tb", "reset_selective")


def _display(*objs, **kwargs):
    """``display()`` of IPython: shows nothing here (output goes nowhere in the sandbox)."""
    return None


def _line_in(err, path):
    """The line of ``path`` where ``err`` was raised (0 if it was not raised in that file)."""
    if isinstance(err, SyntaxError) and err.filename == path:
        return int(err.lineno or 0)
    line, tb = 0, err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class Shell:
    """The ``get_ipython()`` of the sandbox: magics that measure or configure, nothing else."""

    def __init__(self, runner):
        self.runner = runner
        self.skipped = []

    def get_ipython(self):
        return self

    def _where(self):
        """The cell file and line that called the magic (the innermost frame of a cell file)."""
        home, frame = os.getcwd() + os.sep, sys._getframe(1)
        while frame is not None and not frame.f_code.co_filename.startswith(home):
            frame = frame.f_back
        return (os.path.basename(frame.f_code.co_filename), frame.f_lineno) if frame else ("", 0)

    def _skip(self, text, why):
        cell, line = self._where()
        self.skipped.append([cell, line, text[:120], why])

    def _run(self, source, ns, value=False):
        code = compile(source, "<magic>", "eval" if value else "exec")
        return eval(code, ns) if value else exec(code, ns)

    def _statement(self, source, ns):
        """Run ``source``; the value of a lone expression is returned (as ``%time f(x)`` shows it)."""
        try:
            compile(source, "<magic>", "eval")
        except SyntaxError:
            return self._run(source, ns)
        return self._run(source, ns, value=True)

    def run_line_magic(self, name, line, _stack_depth=1):
        name = str(name)
        if name in ("time", "prun"):
            return self._statement(_strip_options(line, "" if name == "time" else "lsTD"), self.runner.ns)
        if name == "timeit":
            self._statement(_strip_options(line, "nrp"), dict(self.runner.ns))
            return None
        if name in QUIET_MAGICS:
            return None
        self._skip(f"%{name} {line}".strip(), _why_not(name))
        return None

    def run_cell_magic(self, name, line, cell):
        name = str(name)
        if name in ("time", "prun"):
            return self._run(cell, self.runner.ns)
        if name == "capture":
            self._run(cell, self.runner.ns)
            target = line.split()[-1] if line.split() and not line.split()[-1].startswith("-") else None
            if target:
                self.runner.ns[target] = _Captured()
            return None
        if name == "timeit":
            scope = dict(self.runner.ns)
            self._run(_strip_options(line, "nrp"), scope)
            self._run(cell, scope)
            return None
        self._skip(f"%%{name} {line}".strip(), _why_not(name))
        return None

    def system(self, cmd, *args, **kwargs):
        self._skip(f"!{cmd}", "shell commands do not run when verifying")
        return None

    def getoutput(self, cmd, *args, **kwargs):
        self._skip(f"!{cmd}", "shell commands do not run when verifying")
        return []

    def magic(self, line):  # the old spelling get_ipython().magic("timeit f(x)")
        name, _, rest = str(line).lstrip("%").partition(" ")
        return self.run_line_magic(name, rest)


class _Captured:
    """What ``%%capture name`` binds: no output was captured in the sandbox."""

    stdout = stderr = ""
    outputs = []

    def show(self):
        return None

    def __call__(self):
        return None


def _strip_options(line, valued):
    """``line`` without the leading options of a magic (``-n 10 -r 3 -q``); ``valued``: options with a value."""
    rest = str(line).lstrip()
    while rest[:1] == "-" and rest[1:2].isalpha():
        option, _, rest = rest.partition(" ")
        rest = rest.lstrip()
        if len(option) == 2 and option[1] in valued:  # -n 10 (but -n10 carries its value)
            rest = rest.partition(" ")[2].lstrip()
    return rest


def _why_not(name):
    if name in ("pip", "conda", "mamba", "system", "sx", "bash", "sh", "script", "cd", "bg", "killbgscripts"):
        return "shell commands do not run when verifying"
    if name in ("run", "load", "loadpy", "writefile", "store", "macro", "save", "edit", "recall", "rerun"):
        return "it reads or writes files or other cells, which verification does not do"
    return "only magics that measure or configure run when verifying"


def _arrays(args, path=()):
    """``[(path, array)]`` of the arrays in ``args`` (tuples and lists followed)."""
    found = []
    for k, value in enumerate(args):
        if type(value) is np.ndarray:
            found.append((list(path) + [k], value))
        elif type(value) in (list, tuple):
            found += _arrays(value, tuple(path) + (k,))
    return found


def main(argv):
    fd_in, fd_out, config = int(argv[1]), int(argv[2]), json.loads(argv[3])
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    channel = Channel(fd_in, fd_out)
    runner = Runner(channel, config)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the grader interrupts a cell past its time
    runner.confine()
    os.dup2(devnull, 2)  # from here on, anything printed goes nowhere
    channel.send({"op": "hello", "isolation": runner.isolation, "uid": os.getuid()})
    runner.serve()


if __name__ == "__main__":
    main(sys.argv)
