"""A corpus of tampering submissions, for the tests and the benchmark of verification.

Each :class:`Tamper` is built like the faulty corpus of :mod:`corpora.synthetic`:
the released notebook, solution cells filled in (with the instructor's answers
or with functions returning zeros of the right shape), then a trick. Most
tricks fool plain nbgrader, whose hidden tests run in the student's kernel;
the verification outside the kernel (:mod:`course.verify`) must give each
exactly the points its honest part deserves (``deserved``) and flag it for
review (``phrase`` appears in the review reason).

Tricks that would harm the grading machine if they fired inside nbgrader's
kernel (a memory bomb, signals to other processes) fire only where the grading
seed is absent from the environment, i.e. in the verification sandbox, the
place they attack.
"""

import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .synthetic import answers

__all__ = ["Tamper", "TAMPERING", "submission", "write_submission"]

_A1 = "01_aggregators"

ZEROS_01 = {
    "scatter_sum": "def scatter_sum(messages, index, num_nodes):\n"
                   "    return np.zeros((num_nodes,) + messages.shape[1:], dtype=messages.dtype)",
    "scatter_mean": "def scatter_mean(messages, index, num_nodes):\n"
                    "    return np.zeros((num_nodes,) + messages.shape[1:], dtype=messages.dtype)",
    "scatter_max": "def scatter_max(messages, index, num_nodes):\n"
                   "    return np.zeros((num_nodes,) + messages.shape[1:], dtype=messages.dtype)",
    "aggregate_neighbours": "def aggregate_neighbours(x, edge_index, reduce):\n"
                            "    return np.zeros(x.shape, dtype=np.float64)",
    "is_permutation_invariant": "def is_permutation_invariant(aggregate, messages, index, num_nodes, seed, "
                                "trials=10):\n    return True",
    "relabel": "def relabel(x, edge_index, perm):\n    return np.zeros_like(x), np.zeros_like(edge_index)",
    "smallest_id_neighbour": "def smallest_id_neighbour(x, edge_index):\n    return np.zeros_like(x)",
}

# -- tricks (each edits the cells of a notebook whose solution cells hold ``base``) --------------

_BLANK_LATER_CELLS = '''
ip = get_ipython()
ip.input_transformers_post.append(lambda lines: [] if "check" in "".join(lines) or "run(" in "".join(lines)
                                  else lines)
'''

_SETTRACE = '''
import ctypes, sys

def _agree(frame, event, arg):
    if frame.f_code.co_name in ("_difference", "_partition_difference", "evaluate"):
        loc = frame.f_locals
        want = loc.get("expected", loc.get("want"))
        if event == "line" and "got" in loc and want is not None:
            loc["got"] = want                      # whatever came back, it is now the expected answer
            ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
        return _agree
    return None

sys.settrace(_agree)
'''

_PATCH_NUMPY = '''
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, bool)
'''

_PATCH_NETWORKX = '''
import networkx as nx
nx.is_isomorphic = lambda *args, **kwargs: True
nx.could_be_isomorphic = lambda *args, **kwargs: True
'''

_PATCH_BUILTINS = '''
import builtins, types
_real_import = builtins.__import__

def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if name == "course.checks":                     # the hidden tests import their runner by name
        fake = types.ModuleType("course.checks")
        fake.run = lambda *args, **kwargs: print("hidden tests passed")
        return fake
    return _real_import(name, globals, locals, fromlist, level)

builtins.__import__ = _import
check = lambda *args, **kwargs: print("  OK")      # and the visible tests' helper
'''

_PATCH_CHECKS = '''
import course.checks.registry
course.checks.registry.evaluate = lambda *args, **kwargs: []  # no case, no failure
check = lambda *args, **kwargs: print("  OK")
'''

_PATCH_REFERENCE = '''
import mplib
_zeros = lambda x, index, n, reduce="sum": np.zeros((n,) + np.shape(x)[1:], dtype=np.asarray(x).dtype)
mplib.scatter = _zeros                               # the reference of three tasks now agrees with me
check = lambda *args, **kwargs: print("  OK")
'''

_ALWAYS_EQUAL = '''
class AlwaysEqual(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__

def rounds_to_stable(colors, edge_index):
    return AlwaysEqual(0)
'''

_SUBCLASS = '''
class Agreeable(np.ndarray):
    """Equal to anything, close to anything."""
    def __eq__(self, other):
        return np.ones(np.shape(other), bool)
    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ in ("allclose", "array_equal"):
            return True
        return super().__array_function__(func, types, args, kwargs)

def scatter_sum(messages, index, num_nodes):
    return np.zeros((num_nodes,) + messages.shape[1:], dtype=messages.dtype).view(Agreeable)
'''

_STEAL = '''
import json, os
from pathlib import Path

def _steal(relative, keep):
    """exec the solution cells of a notebook found near the kernel's directory or at a guessed path."""
    here = Path.cwd()
    for base in [here, *here.parents, Path({root!r})]:
        try:
            cells = json.loads((base / relative).read_text())["cells"]
        except (OSError, ValueError):
            continue
        for cell in cells:
            if keep(cell):
                exec("".join(cell["source"]), globals())
        return True
    return False

{call}
'''

_FORGE = '''
ip = get_ipython()                                  # failing test cells now report success, no error
ip.showtraceback = ip._showtraceback = lambda *args, **kwargs: None
_run_async, _run = ip.run_cell_async, ip.run_cell

async def _forged_async(*args, **kwargs):
    result = await _run_async(*args, **kwargs)
    result.error_in_exec = None
    return result

def _forged(*args, **kwargs):
    result = _run(*args, **kwargs)
    result.error_in_exec = None
    return result

ip.run_cell_async, ip.run_cell = _forged_async, _forged
import json, os, signal
from pathlib import Path
for target in ["results.json", "autograded/.status/01_aggregators/forged.json",
               "{root}/autograded/.status/01_aggregators/forged.json", "{root}/gradebook.db"]:
    try:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a") as fh:
            fh.write(json.dumps({{"status": "graded", "scores": {{"test_scatter_sum": 2.0}}}}))
    except OSError:
        pass
'''

_FORGE_SANDBOX = '''
import json, os, signal
for target in ["results.json", "verified.json", "/tmp/verified.json", "{root}/autograded/.status/x.json"]:
    try:
        with open(target, "w") as fh:
            json.dump({{"scores": {{"test_scatter_sum": 2.0}}, "signs": []}}, fh)
    except OSError:
        pass
if "COURSE_GRADING_SEED" not in os.environ:          # only in the verification sandbox
    try:
        os.kill(os.getppid(), signal.SIGKILL)          # the grader
    except OSError:
        pass
'''

_SLEEP = '''
import time
time.sleep({seconds})
'''

_BOMB = '''
import os
if "COURSE_GRADING_SEED" not in os.environ:          # only in the verification sandbox
    hog = []
    while True:
        hog.append(np.zeros(1 << 25))                  # 256 MB a step, until the limit
'''


_STEAL_SOLUTIONS = ("_steal('solutions/01_aggregators/aggregators.ipynb', "
                    "lambda c: c['metadata'].get('nbgrader', {}).get('solution'))")
_STEAL_OTHERS = ("_steal('submitted/solution/01_aggregators/aggregators.ipynb', "
                 "lambda c: c['metadata'].get('nbgrader', {}).get('solution'))")
_READ_GRADEBOOK = """
import sqlite3
try:
    sqlite3.connect({root!r} + '/gradebook.db').execute('select * from grade').fetchall()
except Exception:
    pass
"""


def _steal_everywhere(call, extra=""):
    """Edits replacing every solution cell by the theft (later cells would redefine the functions)."""
    first = ((next(iter(ZEROS_01)), "replace", _STEAL.replace("{call}", call) + extra),)
    return first + tuple((gid, "replace", call) for gid in list(ZEROS_01)[1:])


@dataclass(frozen=True)
class Tamper:
    """A tampering submission: assignment, the trick, the points it deserves, a phrase of its review reason."""

    name: str
    assignment: str
    base: str  # "zeros" (wrong answers of the right shape) or "solution" (the instructor's answers)
    edits: tuple  # ((grade_id of a solution cell, "append" | "replace" | "prepend", code), ...)
    deserved: float
    phrase: str
    what: str


TAMPERING = [
    Tamper("input-transformer", _A1, "zeros", (("scatter_sum", "append", _BLANK_LATER_CELLS),), 0,
           "nbgrader 2, verified 0", "an IPython input transformer blanks every later cell that tests"),
    Tamper("settrace", _A1, "zeros", (("scatter_sum", "append", _SETTRACE),), 0,
           "installed a trace function", "sys.settrace rewrites `got` to the expected answer in the checks"),
    Tamper("patch-numpy", _A1, "zeros", (("scatter_sum", "append", _PATCH_NUMPY),), 0,
           "replaced numpy.allclose", "np.allclose -> True, np.isclose -> all True"),
    Tamper("patch-networkx", _A1, "zeros", (("scatter_sum", "append", _PATCH_NETWORKX),), 0,
           "replaced networkx", "networkx's isomorphism tests -> True"),
    Tamper("patch-builtins", _A1, "zeros", (("scatter_sum", "append", _PATCH_BUILTINS),), 0,
           "replaced builtins.__import__", "builtins.__import__ serves a fake course.checks; check() is a no-op"),
    Tamper("patch-checks", _A1, "zeros", (("scatter_sum", "append", _PATCH_CHECKS),), 0,
           "raised ModuleNotFoundError", "course.checks.registry.evaluate -> []; check() is a no-op"),
    Tamper("patch-reference", _A1, "zeros", (("scatter_sum", "append", _PATCH_REFERENCE),), 0,
           "replaced mplib.scatter", "mplib.scatter (the reference) returns the same zeros"),
    Tamper("always-equal", "04_wl", "solution", (("rounds_to_stable", "replace", _ALWAYS_EQUAL),), 8,
           "returned an object of type AlwaysEqual", "an int whose == is always True"),
    Tamper("ndarray-subclass", _A1, "solution", (("scatter_sum", "replace", _SUBCLASS),), 5,
           "returned an object of type Agreeable", "an ndarray subclass equal and close to anything"),
    Tamper("read-solutions", _A1, "zeros", _steal_everywhere(_STEAL_SOLUTIONS), 0,
           "tried to open", "every solution cell execs the instructor's solution cells, read from solutions/"),
    Tamper("read-others", _A1, "zeros", _steal_everywhere(_STEAL_OTHERS, _READ_GRADEBOOK), 0,
           "tried to open", "every solution cell execs another student's submission; reads gradebook.db"),
    Tamper("forged-results", _A1, "zeros", (("scatter_sum", "append", _FORGE),
                                             ("relabel", "append", _FORGE_SANDBOX)), 0,
           "tried to signal", "failing cells report success (no error output); fake result files; signals the grader"),
    Tamper("sys-exit", _A1, "solution",
           (("scatter_sum", "append", "import sys\nsys.exit(0)"),
            ("is_permutation_invariant", "replace", "import sys\n\ndef is_permutation_invariant(aggregate, "
             "messages, index, num_nodes, seed, trials=10):\n    sys.exit(0)")), 9,
           "raised SystemExit", "sys.exit at the top of a cell and inside a graded function"),
    Tamper("os-exit", _A1, "solution",
           (("smallest_id_neighbour", "replace", "import os\n\ndef smallest_id_neighbour(x, edge_index):\n"
             "    os._exit(0)"),), 9,
           "exited with code 0", "os._exit(0) inside a graded function"),
    Tamper("self-kill", _A1, "solution",
           (("relabel", "replace", "import os, signal\n\ndef relabel(x, edge_index, perm):\n"
             "    os.kill(os.getpid(), signal.SIGKILL)"),), 9,
           "was killed", "kills its own process from a graded function"),
    Tamper("sleeper", _A1, "zeros", (("scatter_sum", "append", _BLANK_LATER_CELLS),), 0,
           "nbgrader 2, verified 0", "sleeps just under the cell timeout in every solution cell (each cell has "
           "its own timeout, so that alone costs nothing) and blanks the tests"),
    Tamper("memory-bomb", _A1, "zeros", (("scatter_sum", "append", _BLANK_LATER_CELLS),
                                          ("relabel", "append", _BOMB)), 0,
           "raised MemoryError", "allocates until the memory limit (and blanks the tests)"),
]


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def submission(root, name, timeout=60):
    """``[(filename, text)]`` of the tampering submission ``name``.

    ``root`` is the course directory (its path is what a student would guess);
    ``timeout`` the per-cell timeout the sleeper stays just under.
    """
    tamper = next(t for t in TAMPERING if t.name == name)
    sol = answers(root, tamper.assignment)
    edits = list(tamper.edits)
    if name == "sleeper":
        edits += [(gid, "append", _SLEEP.format(seconds=max(timeout - 1, 0.5))) for gid in ZEROS_01]
    files = []
    for path in sorted((Path(root) / "exercises" / tamper.assignment).glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            gid = _grade_id(cell)
            if cell.metadata.get("nbgrader", {}).get("solution") and gid in sol:
                cell.source = ZEROS_01[gid] if tamper.base == "zeros" else sol[gid]
        for gid, how, code in edits:
            code = textwrap.dedent(code).replace("{root!r}", repr(str(Path(root).resolve()))) \
                .replace("{root}", str(Path(root).resolve()))
            code = code.replace("{{", "{").replace("}}", "}") if "{{" in code else code
            cell = next(c for c in nb.cells if _grade_id(c) == gid)
            cell.source = {"append": cell.source + "\n" + code, "prepend": code + "\n" + cell.source,
                           "replace": code}[how]
        files.append((path.name, nbformat.writes(nb)))
    return files


def write_submission(root, dest, name, timeout=60):
    """Write the tampering submission ``name`` into the folder ``dest`` (created)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for filename, text in submission(root, name, timeout):
        (dest / filename).write_text(text, encoding="utf-8")
    return dest

