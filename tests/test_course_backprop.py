"""Assignment 07 (learning by hand: backpropagation through a GCN): the references of its hidden
checks against finite differences, named wrong answers and the messages they get, the visible tests
against classic mistakes, and one real nbgrader run (release, autograde, feedback, export).

The generic properties (the solution passes, the stubs raise NotImplementedError, cases are plain
data and deterministic) are in test_course_checks.py, which finds this assignment by itself.
"""

import contextlib
import io
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from course_batch import export_rows, grade_solution_and_release, shared_batch, solution_lines

import mplib
from course import checks
from course.checks import CheckFailed
from course.checks.backprop import (ANALYTIC, grad_result, loss_and_grad_result, step_result, two_layer_loss)
from course.instructor.release import find_leaks
from mplib.autograd import Tensor
from mplib.functional import cross_entropy

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "07_backprop"
TASKS = ["numerical_gradient", "linear_backward", "scatter_mean_backward", "gcn_backward",
         "softmax_cross_entropy", "train_step"]
POINTS = {"numerical_gradient": 1, "linear_backward": 1, "scatter_mean_backward": 2, "gcn_backward": 2,
          "softmax_cross_entropy": 2, "train_step": 2}


def _notebook():
    path, = (ROOT / "solutions" / ASSIGNMENT).glob("*.ipynb")
    return nbformat.read(str(path), as_version=4)


@pytest.fixture(scope="module")
def sol():
    ns = {"__name__": "__student__"}
    for cell in _notebook().cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or (meta.get("locked") and not meta.get("grade"))):
            exec(compile(cell.source, f"<{meta['grade_id']}>", "exec"), ns)
    return ns


def _fails(task, fn, match):
    with np.errstate(all="ignore"), pytest.raises(CheckFailed, match=match):
        checks.run(task, fn)


def _direction(rng, a):
    return rng.standard_normal(np.shape(a))


def _slope(loss, arrays, directions, eps=1e-6):
    """Central difference of ``loss(*arrays)`` along ``directions`` (one pair of evaluations)."""
    up = loss(*[a + eps * d for a, d in zip(arrays, directions)])
    down = loss(*[a - eps * d for a, d in zip(arrays, directions)])
    return (up - down) / (2 * eps)


def _float64_cases(task):
    return [c for c in checks.make_cases(task) if "float32" not in c.label]


# -- the registry and the points ------------------------------------------------------------


def test_tasks_registered_with_ten_points():
    assert checks.tasks("07.") == sorted(f"07.{t}" for t in TASKS)
    graded = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"] for c in _notebook().cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    assert graded == {f"test_{t}": p for t, p in POINTS.items()} and sum(graded.values()) == 10


def test_cases_cover_the_edge_cases():
    labels = " ".join(c.label for t in checks.tasks("07.") for c in checks.make_cases(t))
    for situation in ("isolated nodes", "no edges", "self-loops", "two self-loops on one node", "parallel edges",
                      "one node", "float32", "near +1000", "one node in the mask", "no rows",
                      "exactly 0", "one-sided"):
        assert situation in labels, situation


def test_every_graph_kind_meets_every_graph_task():
    suite = [label for label, _, _ in checks.graphs.graph_suite(np.random.default_rng(0))]
    for task in ("07.scatter_mean_backward", "07.gcn_backward", "07.train_step"):
        labels = [c.label for c in checks.make_cases(task)]
        for kind in suite:
            assert any(label.startswith(kind) for label in labels), (task, kind)


# -- the references are right: finite differences, the independent truth ----------------------


def test_numerical_gradient_reference_matches_the_analytic_gradients():
    for case in checks.make_cases("07.numerical_gradient"):
        f, x = case.args
        eps = case.kwargs.get("eps", 1e-6)
        got = checks.expected("07.numerical_gradient", case)
        exact = ANALYTIC[f](x)
        assert got.shape == x.shape and got.dtype == np.float64
        # the central difference is off by O(eps^2) (times the third derivative), plus round-off
        assert np.allclose(got, exact, rtol=1e-5, atol=1e-5 + 10 * eps ** 2 * (1 + np.abs(x).max(initial=0) ** 3)), \
            case.label


def test_linear_and_gcn_references_match_finite_differences():
    rng = np.random.default_rng(0)
    for task, forward in [("07.linear_backward", lambda x, ei, w: x @ w),
                          ("07.gcn_backward", lambda x, ei, w: mplib.gcn_conv(x, ei, w))]:
        for case in _float64_cases(task):
            if task == "07.linear_backward":
                (x, w, g), ei = case.args, None
            else:
                x, ei, w, g = case.args
            grad_x, grad_w = checks.expected(task, case)
            dx, dw = _direction(rng, x), _direction(rng, w)
            fd = _slope(lambda a, b: float(np.sum(forward(a, ei, b) * g)), [x, w], [dx, dw])
            assert np.isclose(np.sum(grad_x * dx) + np.sum(grad_w * dw), fd, rtol=1e-6, atol=1e-6), (task, case.label)


def test_scatter_mean_reference_matches_finite_differences():
    rng = np.random.default_rng(1)
    for case in _float64_cases("07.scatter_mean_backward"):
        g, index = case.args
        messages = rng.standard_normal((index.shape[0], g.shape[1]))
        got = checks.expected("07.scatter_mean_backward", case)
        d = _direction(rng, messages)
        fd = _slope(lambda m: float(np.sum(mplib.scatter(m, index, g.shape[0], reduce="mean") * g)), [messages], [d])
        assert got.shape == messages.shape
        assert np.isclose(np.sum(got * d), fd, rtol=1e-6, atol=1e-6), case.label


def test_loss_reference_matches_finite_differences():
    rng = np.random.default_rng(2)
    for case in _float64_cases("07.softmax_cross_entropy"):
        logits, labels, mask = case.args
        loss, grad = checks.expected("07.softmax_cross_entropy", case)
        assert isinstance(loss, float) and np.isfinite(loss)
        assert np.all(grad[~mask] == 0), case.label
        d = _direction(rng, logits)
        fd = _slope(lambda z: float(cross_entropy(z, labels, index=mask)), [logits], [d], eps=1e-4)
        assert np.isclose(np.sum(grad * d), fd, rtol=1e-6, atol=1e-6), case.label


def test_train_step_reference_is_a_descent_step_along_finite_differences():
    rng = np.random.default_rng(3)
    for case in _float64_cases("07.train_step"):
        w1, b1, w2, b2, x, ei, labels, mask, lr = case.args
        *new, loss = checks.expected("07.train_step", case)
        old = [w1, b1, w2, b2]
        grads = [(p - q) / lr for p, q in zip(old, new)]

        def loss_at(*params):
            return float(two_layer_loss(dict(zip(("w1", "b1", "w2", "b2"), params)), x, ei, labels, mask))

        assert np.isclose(loss, loss_at(*old)), case.label
        dirs = [_direction(rng, p) for p in old]
        if "exactly 0" in case.label:  # ReLU's kink: only one-sided slopes exist in w1, b1; keep them fixed
            dirs[0], dirs[1] = 0 * dirs[0], 0 * dirs[1]
            assert np.all(grads[0] == 0) and np.all(grads[1] == 0)
        fd = _slope(loss_at, old, dirs)
        assert np.isclose(sum(np.sum(g * d) for g, d in zip(grads, dirs)), fd, rtol=1e-5, atol=1e-6), case.label


def test_references_keep_float32():
    for task in ("07.linear_backward", "07.gcn_backward", "07.scatter_mean_backward",
                 "07.softmax_cross_entropy", "07.train_step"):
        case = next(c for c in checks.make_cases(task) if "float32" in c.label)
        out = checks.expected(task, case)
        arrays = [a for a in (out if isinstance(out, tuple) else (out,)) if isinstance(a, np.ndarray)]
        assert arrays and all(a.dtype == np.float32 for a in arrays), task


# -- comparators -----------------------------------------------------------------------------


def test_comparators_name_what_is_wrong():
    want = np.array([[1.0, -2.0]])
    assert grad_result()(want + 1e-12, want) is None
    assert "dtype" in grad_result()(want.astype(np.float32), want)
    assert "wrong values" in grad_result()(want * 1.001, want)
    cmp = loss_and_grad_result()
    assert cmp((0.5, want), (0.5, want)) is None
    assert "Python float" in cmp((np.float32(0.5), want), (0.5, want))
    assert "Python float" in cmp((np.array(0.5), want), (0.5, want))
    assert "overflow" in cmp((float("nan"), want), (0.5, want))
    assert "wrong loss" in cmp((0.6, want), (0.5, want))
    assert "grad_logits" in cmp((0.5, 2 * want), (0.5, want))
    assert "tuple" in cmp([0.5, want], (0.5, want))
    step = step_result()
    params = (want, want[0], want, want[0], 1.0)
    assert step(params, params) is None
    assert "new b2" in step((want, want[0], want, 2 * want[0], 1.0), params)
    assert "before the step" in step(params[:4] + (2.0,), params)


# -- wrong answers are caught, with the right message ------------------------------------------


def test_numerical_gradient_mistakes_fail(sol):
    def one_sided(f, x, eps=1e-6):
        out = np.zeros(x.shape)
        for k in np.ndindex(x.shape):
            step = np.zeros(x.shape)
            step[k] = eps
            out[k] = (f(x + step) - f(x)) / eps
        return out

    _fails("07.numerical_gradient", one_sided, "wrong values")

    def in_place(f, x, eps=1e-6):  # nudges the caller's array and undoes it: round-off remains
        out = np.zeros(x.shape)
        for k in np.ndindex(x.shape):
            x[k] += eps
            up = f(x)
            x[k] -= 2 * eps
            down = f(x)
            x[k] += eps
            out[k] = (up - down) / (2 * eps)
        return out

    _fails("07.numerical_gradient", in_place, "modified its input arrays")

    def flat(f, x, eps=1e-6):
        return sol["numerical_gradient"](f, x, eps).ravel()

    _fails("07.numerical_gradient", flat, "expected shape")


def test_linear_backward_without_transpose_fails():
    _fails("07.linear_backward", lambda x, w, g: (g @ w.T, g.T @ x), "grad_weight.*expected shape")
    _fails("07.linear_backward", lambda x, w, g: (g @ w.T, (x.T @ g).astype(np.float64)), "expected dtype float32")


def test_scatter_mean_backward_mistakes_fail(sol):
    _fails("07.scatter_mean_backward", lambda g, index: g[index], "wrong values")  # the sum's backward
    _fails("07.scatter_mean_backward", lambda g, index: sol["scatter_mean_backward"](g, index).astype(np.float64),
           "float32 inputs.*expected dtype float32")

    def by_receivers(g, index):  # divides by the number of receivers instead of each receiver's count
        return g[index] / max(len(np.unique(index)), 1)

    _fails("07.scatter_mean_backward", by_receivers, "wrong values")


def test_gcn_backward_mistakes_fail(sol):
    def matrix(edge_index, n, keep_loops=False):
        src, dst = edge_index
        keep = np.ones(src.shape, bool) if keep_loops else src != dst
        a = np.eye(n)
        np.add.at(a, (dst[keep], src[keep]), 1.0)
        d = 1 / np.sqrt(a.sum(axis=1))
        return d[:, None] * a * d[None, :]

    def no_transpose(x, ei, w, g):
        back = matrix(ei, x.shape[0]).astype(x.dtype) @ g
        return back @ w.T, x.T @ back

    _fails("07.gcn_backward", no_transpose, "random graph.*wrong values")

    def loops_twice(x, ei, w, g):  # A + I on top of the loops the graph has
        back = matrix(ei, x.shape[0], keep_loops=True).T.astype(x.dtype) @ g
        return back @ w.T, x.T @ back

    _fails("07.gcn_backward", loops_twice, "self-loop.*wrong values")


def test_softmax_cross_entropy_mistakes_fail(sol):
    def naive(logits, labels, mask):
        nodes = np.flatnonzero(mask)
        p = np.exp(logits[nodes]) / np.exp(logits[nodes]).sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(p[np.arange(len(nodes)), labels[nodes]]))
        grad = np.zeros_like(logits)
        grad[nodes] = p
        grad[nodes, labels[nodes]] -= 1
        return float(loss), grad / len(nodes)

    _fails("07.softmax_cross_entropy", naive, "near \\+1000.*(finite|NaN)")

    def numpy_loss(logits, labels, mask):
        loss, grad = sol["softmax_cross_entropy"](logits, labels, mask)
        return logits.dtype.type(loss), grad

    _fails("07.softmax_cross_entropy", numpy_loss, "float32 inputs.*Python float")

    def over_all_nodes(logits, labels, mask):
        loss, grad = sol["softmax_cross_entropy"](logits, labels, mask)
        return loss, grad * mask.sum() / len(mask)

    _fails("07.softmax_cross_entropy", over_all_nodes, "grad_logits.*wrong values")


def test_train_step_mistakes_fail(sol):
    def loss_after(*args):
        *new, _ = sol["train_step"](*args)
        return tuple(new) + (sol["train_step"](*new, *args[4:])[4],)

    _fails("07.train_step", loss_after, "loss before the step.*wrong loss")

    def in_place(w1, b1, w2, b2, *rest):
        *new, loss = sol["train_step"](w1, b1, w2, b2, *rest)
        for p, q in zip((w1, b1, w2, b2), new):
            p[...] = q
        return w1, b1, w2, b2, loss

    _fails("07.train_step", in_place, "modified its input arrays")

    def relu_slope_one_at_zero(w1, b1, w2, b2, x, ei, labels, mask, lr):
        if np.any(w1) or np.any(b1):
            return sol["train_step"](w1, b1, w2, b2, x, ei, labels, mask, lr)
        *new, loss = sol["train_step"](w1, b1, w2, b2, x, ei, labels, mask, lr)
        return (w1 + 0.01, *new[1:], loss)  # W1 moved although no gradient reaches it

    _fails("07.train_step", relu_slope_one_at_zero, "exactly 0.*new w1")


def _autograd_gcn(x, edge_index, weight, grad_out):
    tx, tw = Tensor(x, requires_grad=True), Tensor(weight, requires_grad=True)
    mplib.gcn_conv(tx, edge_index, tw).backward(grad_out)
    return tx.grad, tw.grad


@pytest.mark.parametrize("task, delegate", [
    ("07.numerical_gradient", lambda f, x, eps=1e-6: mplib.autograd.numerical_grad(
        lambda p: f(p["x"].data), {"x": x}, eps=eps)["x"]),
    ("07.gcn_backward", lambda x, ei, w, g: _autograd_gcn(x, ei, w, g)),
    ("07.softmax_cross_entropy", lambda z, y, m: mplib.autograd.value_and_grad(
        lambda p: cross_entropy(p["z"], y, index=m), {"z": z})),
])
def test_delegating_to_mplib_earns_nothing(task, delegate):
    _fails(task, delegate, r"called mplib\.[\w.]+ \(mplib is the reference")


# -- the visible tests catch the classic mistakes ------------------------------------------------

_ONE_SIDED = '''def numerical_gradient(f, x, eps=1e-6):
    out = np.zeros(x.shape)
    for k in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[k] = eps
        out[k] = (f(x + step) - f(x)) / eps
    return out'''
_NO_TRANSPOSE = '''def gcn_backward(x, edge_index, weight, grad_out):
    back = gcn_matrix(edge_index, x.shape[0]).astype(x.dtype) @ grad_out
    return back @ weight.T, x.T @ back'''
_NAIVE_SOFTMAX = '''def softmax_cross_entropy(logits, labels, mask):
    nodes = np.flatnonzero(mask)
    p = np.exp(logits[nodes]) / np.exp(logits[nodes]).sum(axis=1, keepdims=True)
    grad = np.zeros_like(logits)
    grad[nodes] = p
    grad[nodes, labels[nodes]] -= 1
    return float(-np.mean(np.log(p[np.arange(len(nodes)), labels[nodes]]))), grad / len(nodes)'''
_GCN_MATRIX = '''def gcn_matrix(edge_index, num_nodes):
    src, dst = edge_index
    keep = src != dst
    a = np.eye(num_nodes)
    np.add.at(a, (dst[keep], src[keep]), 1.0)
    d = 1 / np.sqrt(a.sum(axis=1))
    return d[:, None] * a * d[None, :]'''
_SUM_NOT_MEAN = '''def scatter_mean_backward(grad_out, index):
    return grad_out[index]'''


@pytest.mark.parametrize("gid, wrong", [
    ("numerical_gradient", _ONE_SIDED), ("gcn_backward", _NO_TRANSPOSE + "\n\n\n" + _GCN_MATRIX),
    ("softmax_cross_entropy", _NAIVE_SOFTMAX), ("scatter_mean_backward", _SUM_NOT_MEAN),
], ids=["one-sided-difference", "gcn-without-transpose", "softmax-without-shift", "mean-as-sum"])
def test_visible_tests_catch_the_classic_mistakes(gid, wrong):
    """The test cell of the wrong function fails (the visible part: hidden blocks removed), and no
    other, except train_step's when it calls the wrong function."""
    ns, failed = {"__name__": "__main__"}, {}
    for cell in _notebook().cells:
        if cell.cell_type != "code":
            continue
        name = cell.metadata.get("nbgrader", {}).get("grade_id", cell.id)
        source = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        if name == gid:
            source = wrong
        try:
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                exec(source, ns)
        except AssertionError as err:
            failed[name] = str(err)
    allowed = {f"test_{gid}", "test_train_step"} if gid in ("gcn_backward", "softmax_cross_entropy") \
        else {f"test_{gid}"}
    assert f"test_{gid}" in failed and set(failed) <= allowed, failed


# -- a real nbgrader run ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def batch07(tmp_path_factory):
    return shared_batch(tmp_path_factory, "course-batch-07",
                        lambda root: grade_solution_and_release(root, ASSIGNMENT), done="results.json")


def test_release_has_no_solution_or_hidden_tests():
    assert find_leaks(ROOT / "exercises" / ASSIGNMENT) == []
    text = "".join(p.read_text() for p in (ROOT / "exercises" / ASSIGNMENT).glob("*.ipynb"))
    assert [line for line in solution_lines(ASSIGNMENT) if line in text] == []
    assert text.count("raise NotImplementedError()") == len(TASKS)


@pytest.mark.slow
def test_release_matches_committed_exercises(batch07):
    fresh = sorted(p.relative_to(batch07) for p in (batch07 / "exercises" / ASSIGNMENT).rglob("*") if p.is_file())
    committed = sorted(p.relative_to(ROOT) for p in (ROOT / "exercises" / ASSIGNMENT).rglob("*") if p.is_file())
    assert fresh == committed, f"run `python -m course release {ASSIGNMENT}`"
    for rel in fresh:
        assert (batch07 / rel).read_bytes() == (ROOT / rel).read_bytes(), \
            f"exercises/{rel} drifted from solutions/; run `python -m course release {ASSIGNMENT}`"


@pytest.mark.slow
def test_solution_gets_full_marks_and_release_zero(batch07):
    rows = export_rows(batch07, ASSIGNMENT)
    assert (rows["solution"]["status"], float(rows["solution"]["score"]), float(rows["solution"]["max_score"])) \
        == ("graded", 10, 10)
    assert rows["solution"]["notes"] == ""
    assert (rows["release"]["status"], float(rows["release"]["score"])) == ("graded", 0)
    path, = (batch07 / "autograded" / "release" / ASSIGNMENT).glob("*.ipynb")
    errors = {}
    for cell in nbformat.read(str(path), as_version=4).cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                errors.setdefault(out.ename, []).append(cell.metadata.get("nbgrader", {}).get("grade_id"))
    assert set(errors) == {"NotImplementedError"}, errors
    assert len(errors["NotImplementedError"]) >= len(TASKS)


@pytest.mark.slow
def test_feedback_shows_no_hidden_tests_or_solutions(batch07):
    files = list((batch07 / "feedback").glob(f"*/{ASSIGNMENT}/*.html"))
    assert len(files) == 2
    assert find_leaks(batch07 / "feedback") == []
    text = "".join(f.read_text() for f in files)
    assert [line for line in solution_lines(ASSIGNMENT) if line in text] == []
    assert re.search(r"hidden tests of `train_step` passed", text)
