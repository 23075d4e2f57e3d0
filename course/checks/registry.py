"""Hidden checks: random cases, a reference in :mod:`mplib`, a comparator, per task.

A graded task of an exercise notebook is identified by a task id such as
``"01.scatter_sum"``. Its hidden test cell is a single line::

    course.checks.run("01.scatter_sum", scatter_sum)

Everything the check needs is *data* registered here (by the modules of
:mod:`course.checks`, one per assignment), not code in the notebook:

- ``cases(rng)``: a list of :class:`Case` built from a random generator; the
  generator is seeded from the grading seed (see :func:`grading_seed`) and the
  task id, so grading is deterministic;
- ``reference``: the answer, computed with :mod:`mplib`;
- ``compare(got, expected)``: ``None`` when ``got`` is right, else a short
  message (type, shape, dtype, values).

Inputs and outputs are plain numpy arrays, Python scalars and module-level
functions of the task modules, so the same checks can run outside the
student's kernel: :func:`make_cases` and :func:`expected` in the grader,
the student's function elsewhere, :func:`compare` back in the grader.

While the student's function runs, a profile hook watches for any call into
:mod:`mplib`: a function that merely delegates to the reference earns nothing.
numpy and scipy are allowed.
"""

import contextlib
import contextvars
import copy
import os
import sys
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

import mplib

__all__ = [
    "Case", "Check", "CheckFailed", "Outcome", "SEED_ENV", "DEFAULT_SEED",
    "register", "get", "tasks", "grading_seed", "seed_scope", "make_cases", "expected", "compare",
    "evaluate", "run", "array_result", "exact_result", "tuple_result", "watch_mplib",
]

SEED_ENV = "COURSE_GRADING_SEED"
DEFAULT_SEED = 2025


class CheckFailed(AssertionError):
    """A hidden check failed; the message says which case and what was wrong."""


@dataclass(frozen=True)
class Case:
    """One call of the student's function: ``fn(*args, **kwargs)``.

    ``label`` names the situation ("isolated nodes", "float32 messages") and is
    shown to the student when the case fails; the values are never shown.
    """

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    dtype: str = ""  # the float dtype an array answer must have (the float inputs' dtype); "" any

    def describe(self):
        """A short, value-free description: the label plus the array shapes."""
        shapes = []
        for name, value in list(enumerate(self.args)) + list(self.kwargs.items()):
            if isinstance(value, np.ndarray):
                shapes.append(f"{value.dtype}{list(value.shape)}")
        return f"'{self.label}'" + (f" (inputs {', '.join(shapes)})" if shapes else "")


@dataclass(frozen=True)
class Check:
    """Everything needed to grade one task."""

    task: str
    function: str
    reference: Callable[..., Any]
    cases: Callable[[np.random.Generator], list]
    compare: Callable[[Any, Any], Any]
    allow: tuple = ()
    description: str = ""
    keep_float: bool = False


@dataclass(frozen=True)
class Outcome:
    """Result of one case: ``ok`` and, when not, a message for the student."""

    case: Case
    ok: bool
    message: str = ""


_REGISTRY: dict = {}


def register(task, function, reference, cases, compare=None, allow=(), description="", keep_float=False):
    """Register the hidden check of ``task`` (called by the task modules of :mod:`course.checks`).

    Parameters
    ----------
    task : str
        ``"<assignment number>.<function name>"``, e.g. ``"01.scatter_sum"``.
    function : str
        Name of the function the student writes (used in messages).
    reference : callable
        Same signature as the student's function; may use :mod:`mplib`.
    cases : callable
        ``cases(rng) -> list[Case]``; draw everything from ``rng``.
    compare : callable, optional
        ``compare(got, expected) -> None | str``; default :func:`array_result`.
    allow : tuple of str
        Qualified names of :mod:`mplib` functions the student may call
        (e.g. ``"mplib.graph.add_self_loops"``); everything else in mplib is off limits.
    keep_float : bool
        The dtype rule of every assignment: float features in, floats of the same dtype out. The
        first cases are tried again with every float array in float32, and a float array answer
        must then be float32 (:func:`float32_variant`).
    """
    if task in _REGISTRY:
        raise ValueError(f"task {task!r} is registered twice")
    _REGISTRY[task] = Check(task, function, reference, cases, compare or array_result(),
                            tuple(allow), description, keep_float)
    return _REGISTRY[task]


def get(task):
    """The :class:`Check` registered for ``task``."""
    try:
        return _REGISTRY[task]
    except KeyError:
        raise KeyError(f"no hidden check is registered for task {task!r}; "
                       f"known tasks: {sorted(_REGISTRY)}") from None


def tasks(prefix=""):
    """Sorted ids of the registered tasks starting with ``prefix`` (e.g. ``"01."``)."""
    return sorted(t for t in _REGISTRY if t.startswith(prefix))


_SCOPED_SEED = contextvars.ContextVar("course_grading_seed", default=None)


@contextlib.contextmanager
def seed_scope(seed):
    """Inside the block, hidden checks called without a seed grade with ``seed``.

    A hidden test cell is ``run(task, fn)``, without a seed. The grader's verification runs the
    instructor's test cells in its own process inside ``seed_scope(seed)``; nbgrader's kernels,
    separate processes, get the seed in ``$COURSE_GRADING_SEED`` instead (set explicitly by
    :func:`course.instructor.tools.tool_env`). Scopes nest, and each thread or task has its own.
    """
    token = _SCOPED_SEED.set(int(seed))
    try:
        yield
    finally:
        _SCOPED_SEED.reset(token)


def grading_seed(seed=None):
    """The grading seed: ``seed`` if given, else the innermost :func:`seed_scope`, else
    ``$COURSE_GRADING_SEED`` (how it reaches nbgrader's kernels), else :data:`DEFAULT_SEED`."""
    if seed is not None:
        return int(seed)
    if _SCOPED_SEED.get() is not None:
        return _SCOPED_SEED.get()
    value = os.environ.get(SEED_ENV, "").strip()
    if not value:
        return DEFAULT_SEED
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"${SEED_ENV} must be an integer, got {value!r}") from None


def make_cases(task, seed=None):
    """The cases of ``task`` for the grading seed; the same seed gives the same cases."""
    check = get(task)
    rng = np.random.default_rng([grading_seed(seed), zlib.crc32(task.encode())])
    cases = list(check.cases(rng))
    if check.keep_float:
        cases += [float32_variant(case) for case in cases[:FLOAT32_CASES]]
    return cases


FLOAT32_CASES = 3  # how many cases of a keep_float task are tried again in float32


def float32_variant(case):
    """``case`` with every float64 array (in tuples and lists too) in float32; the answer must be float32."""
    def cast(value):
        if isinstance(value, np.ndarray) and value.dtype == np.float64:
            return value.astype(np.float32)
        if isinstance(value, (list, tuple)):
            return type(value)(cast(v) for v in value)
        return value
    return Case(case.label + ", float32 inputs", cast(case.args), {k: cast(v) for k, v in case.kwargs.items()},
                dtype="float32")


def _snapshot(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_snapshot(v) for v in value)
    if callable(value):
        return value
    return copy.deepcopy(value)


def _same(a, b):
    if isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if callable(b):
        return a is b
    return type(a) is type(b) and a == b


def expected(task, case):
    """The reference answer for ``case`` (computed on copies of the inputs)."""
    check = get(task)
    return check.reference(*_snapshot(case.args), **_snapshot(case.kwargs))


def compare(task, case, got, want=None):
    """``None`` if ``got`` is a right answer for ``case``, else a message."""
    check = get(task)
    want = expected(task, case) if want is None else want
    return check.compare(got, want)


# -- the tripwire ---------------------------------------------------------------------------

def _mplib_dir():
    return str(Path(mplib.__file__).resolve().parent) + os.sep


class watch_mplib:
    """Context manager recording every call into :mod:`mplib` (Python frames) while active.

    ``calls`` collects ``"mplib.module.function"`` names not listed in ``allow``.
    The hook is a profile function (``sys.setprofile``) for this thread and
    threads started meanwhile, so it sees calls however the function was
    obtained (module attribute, alias, ``functools.partial``, copied code object).
    """

    def __init__(self, allow=()):
        self.allow = set(allow)
        self.calls = []
        self._prefix = _mplib_dir()
        self._seen = {}

    def _hook(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        verdict = self._seen.get(code)
        if verdict is None:
            verdict = ""
            filename = os.path.realpath(code.co_filename) if code.co_filename else ""
            if filename.startswith(self._prefix):
                module = "mplib." + Path(filename).stem
                name = f"{module}.{getattr(code, 'co_qualname', code.co_name)}"
                if name not in self.allow:
                    verdict = name
            self._seen[code] = verdict
        if verdict and verdict not in self.calls:
            self.calls.append(verdict)

    def __enter__(self):
        self._old = sys.getprofile()
        self._old_thread = threading.getprofile()
        threading.setprofile(self._hook)
        sys.setprofile(self._hook)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self._old)
        threading.setprofile(self._old_thread)
        return False


# -- evaluation -----------------------------------------------------------------------------

def evaluate(task, fn, seed=None, stop_at_first=True):
    """Call ``fn`` on every case of ``task`` and grade each answer.

    Returns a list of :class:`Outcome`. A case fails when ``fn`` raises, calls
    into :mod:`mplib` (other than ``allow``), mutates an input, or returns a
    wrong answer (type, shape, dtype, values).
    """
    check = get(task)
    if not callable(fn):
        raise CheckFailed(f"`{check.function}` must be a function, got {type(fn).__name__}")
    outcomes = []
    for case in make_cases(task, seed):
        want = expected(task, case)
        args, kwargs = _snapshot(case.args), _snapshot(case.kwargs)
        try:
            with watch_mplib(check.allow) as watch:
                got = fn(*args, **kwargs)
        except Exception as err:  # the student's error, reported with the case
            outcome = Outcome(case, False, f"raised {type(err).__name__}: {_short(err)}")
        else:
            if watch.calls:
                outcome = Outcome(case, False, f"called {watch.calls[0]} (mplib is the reference and "
                                               "is off limits here): write it with numpy")
            elif not _same(args, case.args) or not _same(kwargs, case.kwargs):
                outcome = Outcome(case, False, "modified its input arrays in place; "
                                               "work on copies and return a new array")
            else:
                message = check.compare(got, want)
                if case.dtype and isinstance(got, np.ndarray) and got.dtype.kind == "f" \
                        and got.dtype != np.dtype(case.dtype):
                    message = f"expected dtype {case.dtype}, got dtype {got.dtype}"
                if case.dtype and message:  # a single array or an element of a tuple: say why
                    message = message.replace(f"expected dtype {case.dtype},",
                                              f"expected dtype {case.dtype} (the dtype of the float inputs),")
                outcome = Outcome(case, message is None, message or "")
        outcomes.append(outcome)
        if stop_at_first and not outcome.ok:
            break
    return outcomes


def _short(err, limit=200):
    text = str(err).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run(task, fn, seed=None):
    """Grade ``fn`` for ``task``; raise :class:`CheckFailed` at the first failing case.

    This is what a hidden test cell calls. On success it prints one line.
    """
    check = get(task)
    outcomes = evaluate(task, fn, seed)
    for outcome in outcomes:
        if not outcome.ok:
            raise CheckFailed(f"hidden test of `{check.function}` failed on case "
                              f"{outcome.case.describe()}: {outcome.message}") from None
    print(f"hidden tests of `{check.function}` passed ({len(outcomes)} random cases)")


# -- comparators ----------------------------------------------------------------------------

def _describe(a):
    if isinstance(a, np.ndarray) and type(a) is not np.ndarray:
        return f"a {type(a).__name__} (a subclass, not a plain numpy array)"
    if isinstance(a, np.ndarray):
        return f"a {a.dtype} array of shape {a.shape}"
    return f"{type(a).__name__}"


def array_result(rtol=1e-6, atol=1e-9, dtype="exact"):
    """Comparator for an ndarray answer.

    ``dtype="exact"`` requires the reference's dtype, ``"float"`` any floating
    dtype, ``"int"`` any integer dtype. Values must be finite where the
    reference is finite and close to it.
    """
    def compare(got, want):
        want = np.asarray(want)
        if type(got) is not np.ndarray:
            return f"expected {_describe(want)}, got {_describe(got)}"
        if got.shape != want.shape:
            return f"expected shape {want.shape}, got shape {got.shape}"
        if dtype == "exact" and got.dtype != want.dtype:
            return f"expected dtype {want.dtype}, got dtype {got.dtype}"
        if dtype == "float" and got.dtype.kind != "f":
            return f"expected a floating-point array, got dtype {got.dtype}"
        if dtype == "int" and got.dtype.kind not in "iu":
            return f"expected an integer array, got dtype {got.dtype}"
        if got.dtype.kind not in "biuf":
            return f"expected a numeric array, got dtype {got.dtype}"
        g, w = got.astype(np.float64), want.astype(np.float64)
        bad_nan = ~np.isfinite(g) & np.isfinite(w)
        if bad_nan.any():
            return f"contains NaN or infinity at {int(bad_nan.sum())} entries where a finite value is expected"
        tol = rtol * 100 if want.dtype == np.float32 or got.dtype == np.float32 else rtol
        wrong = ~np.isclose(g, w, rtol=tol, atol=atol, equal_nan=True)
        if wrong.any():
            where = np.argwhere(wrong)
            rows = sorted({int(r[0]) for r in where})[:8] if where.shape[1] else []
            at = f" (rows {rows})" if rows else ""
            return f"wrong values at {int(wrong.sum())} of {wrong.size} entries{at}"
        return None
    return compare


def exact_result(kind=None):
    """Comparator for a scalar answer (bool, int): equal to the reference and of the right kind."""
    def compare(got, want):
        if kind is bool and not isinstance(got, (bool, np.bool_)):
            return f"expected True or False, got {type(got).__name__}"
        if kind is int and (isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer))):
            return f"expected an integer, got {type(got).__name__}"
        if type(want) in (bool, np.bool_):
            return None if bool(got) == bool(want) else f"expected {bool(want)}, got {bool(got)}"
        return None if got == want else "wrong value"
    return compare


def tuple_result(*parts):
    """Comparator for a tuple answer, one comparator per element."""
    def compare(got, want):
        if not isinstance(got, tuple) or len(got) != len(parts):
            return f"expected a tuple of {len(parts)} values, got {_describe(got)}"
        for k, (cmp, g, w) in enumerate(zip(parts, got, want)):
            message = cmp(g, w)
            if message:
                return f"element {k} of the tuple: {message}"
        return None
    return compare
