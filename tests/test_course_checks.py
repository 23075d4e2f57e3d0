"""The hidden checks of the exercises (course.checks), run in-process without nbgrader."""

import functools
import importlib
import os
import re
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

import mplib
from course import checks
from course.checks import CheckFailed, array_result, exact_result, tuple_result

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted(ROOT.glob("solutions/*/*.ipynb"))
SCATTER_MODULE = mplib.scatter.__module__  # the module defining mplib.scatter, as the tripwire names it
HIDDEN_CALL = re.compile(r"run\('([^']+)', (\w+)\)")


def _namespace(path, kind):
    """Execute the setup and solution cells of a notebook; return the names it defines."""
    nb = nbformat.read(str(path), as_version=4)
    ns = {"__name__": "__student__"}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or (meta.get("locked") and not meta.get("grade"))):
            exec(compile(cell.source, f"<{kind} {meta['grade_id']}>", "exec"), ns)
    return ns


def _hidden_calls(path):
    nb = nbformat.read(str(path), as_version=4)
    return [HIDDEN_CALL.search(c.source).groups() for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")]


def _release(path):
    return ROOT / "exercises" / path.parent.name / path.name


def test_every_test_cell_calls_a_registered_check():
    for path in SOLUTIONS:
        for task, function in _hidden_calls(path):
            check = checks.get(task)
            assert check.function == function, f"{path.name}: {task} grades `{function}`"
            assert task.startswith(path.parent.name[:2] + ".")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.parent.name)
def test_checks_solutions_pass(path):
    ns = _namespace(path, "solution")
    for task, function in _hidden_calls(path):
        outcomes = checks.evaluate(task, ns[function], stop_at_first=False)
        assert outcomes and all(o.ok for o in outcomes), [o.message for o in outcomes if not o.ok]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.parent.name)
def test_checks_release_stubs_fail_with_not_implemented(path):
    assert _release(path).exists(), f"no release of {path.parent.name}: run `python -m course release {path.parent.name}`"
    ns = _namespace(_release(path), "release")
    for task, function in _hidden_calls(path):
        with pytest.raises(CheckFailed, match="raised NotImplementedError"):
            checks.run(task, ns[function])


def test_checks_cases_deterministic_per_seed():
    for task in checks.tasks():
        a, b = checks.make_cases(task, seed=5), checks.make_cases(task, seed=5)
        assert [c.label for c in a] == [c.label for c in b]
        for ca, cb in zip(a, b):
            for x, y in zip(ca.args, cb.args):
                if isinstance(x, np.ndarray):
                    np.testing.assert_array_equal(x, y)
    first = checks.make_cases("01.scatter_sum", seed=1)[0].args[0]
    other = checks.make_cases("01.scatter_sum", seed=2)[0].args[0]
    assert first.shape != other.shape or not np.array_equal(first, other)


def test_checks_seed_from_environment(monkeypatch):
    monkeypatch.setenv(checks.SEED_ENV, "17")
    assert checks.grading_seed() == 17
    monkeypatch.setenv(checks.SEED_ENV, "")
    assert checks.grading_seed() == checks.DEFAULT_SEED
    monkeypatch.setenv(checks.SEED_ENV, "abc")
    with pytest.raises(ValueError, match="COURSE_GRADING_SEED must be an integer"):
        checks.grading_seed()


def test_checks_seed_scope_wins_over_the_environment_and_nests(monkeypatch):
    monkeypatch.setenv(checks.SEED_ENV, "17")
    before = dict(os.environ)
    with checks.seed_scope(5):
        assert checks.grading_seed() == 5
        assert checks.grading_seed(3) == 3  # an explicit argument still wins
        with checks.seed_scope(6):
            assert checks.grading_seed() == 6
        assert checks.grading_seed() == 5
        scoped = checks.make_cases("01.scatter_sum")
        assert dict(os.environ) == before
    assert checks.grading_seed() == 17
    for got, want in zip(scoped, checks.make_cases("01.scatter_sum", seed=5)):
        assert got.label == want.label and all(np.array_equal(a, b) for a, b in zip(got.args, want.args))


def _same_cases(a, b):
    return len(a) == len(b) and all(
        x.label == y.label and len(x.args) == len(y.args)
        and all(np.array_equal(u, v) for u, v in zip(x.args, y.args)) for x, y in zip(a, b))


def test_checks_seed_scope_reaches_evaluate_without_a_seed_argument():
    task = "01.scatter_sum"
    with checks.seed_scope(11):
        outcomes = checks.evaluate(task, _solution(task), stop_at_first=False)
    graded = [o.case for o in outcomes]
    assert all(o.ok for o in outcomes)
    assert _same_cases(graded, checks.make_cases(task, 11))
    assert not _same_cases(graded, checks.make_cases(task, 12))


def _is_plain(value):
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    if isinstance(value, (bool, int, float, str, type(None))):
        return True
    if isinstance(value, types.FunctionType):  # must be importable by name (for out-of-kernel grading)
        module = importlib.import_module(value.__module__)
        return (value.__module__.startswith("course.checks.") and value.__module__ != "course.checks.registry"
                and getattr(module, value.__qualname__) is value)
    return False


def test_checks_cases_are_plain_data():
    for task in checks.tasks():
        for case in checks.make_cases(task):
            values = list(case.args) + list(case.kwargs.values())
            assert all(_is_plain(v) for v in values), (task, case.label)


def test_checks_cover_edge_cases():
    labels = " ".join(c.label for t in checks.tasks() for c in checks.make_cases(t))
    for situation in ("isolated nodes", "no edges", "self-loops", "parallel edges", "float32"):
        assert situation in labels


def _solution(task):
    path = next(p for p in SOLUTIONS if p.parent.name.startswith(task[:2]))
    return _namespace(path, "solution")[checks.get(task).function]


@pytest.mark.parametrize("make", [
    lambda: lambda m, i, n: mplib.scatter(m, i, n),
    lambda: functools.partial(mplib.scatter, reduce="sum"),
    lambda: types.FunctionType(mplib.scatter.__code__, mplib.scatter.__globals__, "copy",
                               mplib.scatter.__defaults__),
    lambda: functools.partial(
        lambda rows, m, i, n: rows(m, np.arange(len(i)), i, n),
        importlib.import_module(SCATTER_MODULE).aggregate_rows),
], ids=["call", "partial", "copied-code", "internal-helper"])
def test_checks_delegation_to_mplib_earns_nothing(make):
    with pytest.raises(CheckFailed, match=rf"called {re.escape(SCATTER_MODULE)}\.\w+ \(mplib is the reference"):
        checks.run("01.scatter_sum", make())


def test_checks_numpy_and_scipy_are_allowed():
    import scipy.sparse as sp

    def with_scipy(messages, index, num_nodes):
        s = sp.csr_matrix((np.ones(len(index)), (index, np.arange(len(index)))), shape=(num_nodes, len(index)))
        return np.asarray(s @ messages).astype(messages.dtype)

    checks.run("01.scatter_sum", with_scipy)


def test_checks_tripwire_is_removed_afterwards():
    with checks.watch_mplib() as watch:
        pass
    mplib.scatter(np.ones(2), [0, 0], 1)
    assert watch.calls == []


def test_checks_mutation_of_inputs_fails():
    good = _solution("01.scatter_max")

    def mutating(messages, index, num_nodes):
        out = good(messages, index, num_nodes)
        messages *= 2
        return out

    with pytest.raises(CheckFailed, match="modified its input arrays in place"):
        checks.run("01.scatter_max", mutating)


def test_checks_hardcoded_answer_fails():
    def hardcoded(messages, index, num_nodes):
        return np.array([[6.0, 8.0], [0.0, 0.0], [3.0, 4.0]])

    with pytest.raises(CheckFailed, match="expected shape"):
        checks.run("01.scatter_sum", hardcoded)


def test_checks_nan_for_empty_neighbourhood_fails():
    def nan_mean(messages, index, num_nodes):
        out = np.zeros((num_nodes,) + messages.shape[1:], messages.dtype)
        np.add.at(out, index, messages)
        return out / np.bincount(index, minlength=num_nodes)[:, None].astype(messages.dtype)

    with np.errstate(all="ignore"), pytest.raises(CheckFailed, match="NaN or infinity"):
        checks.run("01.scatter_mean", nan_mean)


def test_checks_naive_softmax_overflows():
    def naive(scores, index, num_nodes):
        ex = np.exp(scores)
        total = np.zeros((num_nodes,) + scores.shape[1:])
        np.add.at(total, index, ex)
        return ex / total[index]

    with np.errstate(all="ignore"), pytest.raises(CheckFailed, match="scores in the hundreds"):
        checks.run("03.edge_softmax", naive)


def test_checks_errors_are_reported_with_the_case():
    good = _solution("01.smallest_id_neighbour")

    def crashes(x, edge_index):
        edge_index[1][0]  # IndexError when there are no edges
        return good(x, edge_index)

    with pytest.raises(CheckFailed, match=r"on case 'no edges at all' .*raised IndexError"):
        checks.run("01.smallest_id_neighbour", crashes)


@pytest.mark.parametrize("got, message", [
    ([[1.0]], "expected a float64 array of shape \\(1, 1\\), got list"),
    (np.ones((1, 1)).view(np.matrix), "got a matrix \\(a subclass"),
    (np.ones((2, 1)), "expected shape \\(1, 1\\)"),
    (np.ones((1, 1), np.float32), "expected dtype float64"),
    (np.full((1, 1), np.nan), "NaN or infinity"),
    (np.full((1, 1), 2.0), "wrong values at 1 of 1 entries"),
])
def test_array_result_rejects(got, message):
    assert re.search(message, array_result()(got, np.ones((1, 1))))


def test_array_result_accepts_close_values():
    assert array_result()(np.ones((2, 2)) + 1e-12, np.ones((2, 2))) is None


def test_exact_and_tuple_results():
    assert exact_result(bool)(np.True_, True) is None
    assert "expected True or False" in exact_result(bool)(1, True)
    assert "expected False" in exact_result(bool)(True, False)
    both = tuple_result(array_result(), array_result())
    assert both((np.ones(1), np.ones(1)), (np.ones(1), np.ones(1))) is None
    assert "element 1" in both((np.ones(1), np.zeros(1)), (np.ones(1), np.ones(1)))
    assert "tuple of 2" in both([np.ones(1), np.ones(1)], (np.ones(1), np.ones(1)))


def test_checks_unknown_task():
    with pytest.raises(KeyError, match="no hidden check is registered for task '99.nothing'"):
        checks.get("99.nothing")
