"""Assignment 08, expressivity and remedies: its hidden checks, their references against mplib and
against ground truth (networkx's atlas, networkx's triangle counts, brute-force resistance), the
comparators, named wrong answers, and one real nbgrader run (release, autograde, feedback, export).

The generic properties (every solution passes its checks, every stub raises NotImplementedError,
cases are plain data and deterministic) are in test_course_checks.py, which finds this assignment
by itself.
"""

import json
import re
import shutil
from pathlib import Path

import networkx as nx
import nbformat
import numpy as np
import pytest
from course_batch import export_rows, shared_batch, solution_lines

import mplib
from corpora import synthetic
from course import checks
from course.checks import DEFAULT_SEED, CheckFailed
from course.checks import expressivity as ex
from course.instructor.autograde import autograde
from course.instructor.export import export
from course.instructor.feedback import feedback
from course.instructor.release import find_leaks, release
from mplib.expressivity import count_cycles, refinement_invariants
from mplib.graph import Graph, from_networkx
from mplib.remedies import resistance_rewiring

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "08_expressivity"
TASKS = ["gin_layer", "marked_colours", "marked_wl_distinguishes", "count_triangles", "add_virtual_node",
         "rewire_step"]


@pytest.fixture(scope="module")
def sol():
    ns = {"__name__": "__student__"}
    path, = (ROOT / "solutions" / ASSIGNMENT).glob("*.ipynb")
    for cell in nbformat.read(str(path), as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or (meta.get("locked") and not meta.get("grade"))):
            exec(compile(cell.source, f"<{meta['grade_id']}>", "exec"), ns)
    return ns


def _fails(task, fn, match):
    with np.errstate(all="ignore"), pytest.raises(CheckFailed, match=match):
        checks.run(task, fn)


def _answers(task, seeds=(DEFAULT_SEED, 1, 2)):
    for seed in seeds:
        for case in checks.make_cases(task, seed):
            yield case, checks.expected(task, case)


# -- the registry and the cases --------------------------------------------------------------


def test_tasks_registered_with_ten_points():
    assert checks.tasks("08.") == sorted(f"08.{t}" for t in TASKS)
    path, = (ROOT / "solutions" / ASSIGNMENT).glob("*.ipynb")
    cells = nbformat.read(str(path), as_version=4).cells
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"] for c in cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    assert sorted(points) == sorted(f"test_{t}" for t in TASKS) and sum(points.values()) == 10


def test_cases_cover_the_edge_cases():
    labels = " ".join(c.label for t in checks.tasks("08.") for c in checks.make_cases(t))
    for situation in ("isolated nodes", "no edges", "self-loops", "parallel edges", "one node", "float32",
                      "K3,3 and the prism", "non-regular pair on 6 nodes", "different numbers of nodes",
                      "disconnected", "an empty graph (no nodes)", "Shrikhande"):
        assert situation in labels, situation
    for task in ("08.gin_layer", "08.count_triangles", "08.add_virtual_node"):  # every graph kind
        assert sum("larger random graph" in c.label for c in checks.make_cases(task)) == 1


def test_marked_wl_and_rewire_cases_are_balanced():
    answers = [a for _, a in _answers("08.marked_wl_distinguishes")]
    assert 0.3 <= np.mean(answers) <= 0.7, answers
    edges = [a for _, a in _answers("08.rewire_step")]
    assert 0.4 <= np.mean([a is not None for a in edges]) <= 0.8


# -- the references against ground truth and mplib -------------------------------------------


def _string(g):
    return " ".join(f"{u}{v}" for u, v in sorted(tuple(sorted(e)) for e in g.edges()))


def test_atlas_table_is_every_pair_that_1wl_confuses_on_up_to_seven_nodes():
    atlas = [g for g in nx.graph_atlas_g() if 0 < len(g) <= 7]
    invariants = refinement_invariants([from_networkx(g) for g in atlas], "wl")
    classes = {}
    for g, inv in zip(atlas, invariants):
        classes.setdefault(inv, []).append(g)
    confused = [(len(a), _string(a), _string(b)) for c in classes.values()
                for k, a in enumerate(c) for b in c[k + 1:]]
    assert sorted(confused) == sorted(ex.ATLAS_WL_PAIRS)


def test_marking_separates_every_atlas_pair_that_1wl_confuses():
    # the atlas holds one graph per isomorphism class: every pair is non-isomorphic (ground truth)
    for n, a, b in ex.ATLAS_WL_PAIRS:
        ea, eb = ex.atlas_edges(a), ex.atlas_edges(b)
        assert not nx.is_isomorphic(nx.Graph(ea.T.tolist()), nx.Graph(eb.T.tolist()))
        assert not mplib.wl_test(Graph(ea, num_nodes=n), Graph(eb, num_nodes=n)).distinguished
        assert ex.ref_marked_wl_distinguishes(ea, n, eb, n)


def test_marked_colours_give_refinement_invariants_marked():
    rng = np.random.default_rng(5)
    graphs = [(ex.atlas_edges(a), n) for n, a, b in ex.ATLAS_WL_PAIRS[:6]]
    graphs += [(ex.atlas_edges(b), n) for n, a, b in ex.ATLAS_WL_PAIRS[:6]]
    graphs += [(ex.random_undirected(rng, 7, 9), 7) for _ in range(4)] + [(np.zeros((2, 0), np.int64), 0)]
    ei, n = ex.union(*graphs)
    table = ex.ref_marked_colours(ei, n)  # the union's copies hold every graph's marked copies
    mine, start = [], 0
    for _, m in graphs:
        rows = table[start:start + m, start:start + m]
        mine.append(tuple(sorted(tuple(sorted(r.tolist())) for r in rows)))
        start += m
    theirs = refinement_invariants([Graph(e, num_nodes=m) for e, m in graphs], "marked")
    for i in range(len(graphs)):
        for j in range(len(graphs)):
            assert (mine[i] == mine[j]) == (theirs[i] == theirs[j]), (i, j)


def test_marking_is_no_complete_test_on_strongly_regular_graphs():
    assert not ex.ref_marked_wl_distinguishes(ex.shrikhande(), 16, ex.rook_4x4(), 16)
    s = nx.Graph(ex.shrikhande().T.tolist())
    assert not nx.is_isomorphic(s, nx.Graph(ex.rook_4x4().T.tolist()))  # yet they differ


def test_triangle_reference_agrees_with_mplib_cycle_count():
    for case, want in _answers("08.count_triangles"):
        ei, n = case.args
        simple = ex.undirected(ei)  # both directions, no loops, no repeats
        assert int(want.sum()) == 3 * count_cycles(Graph(simple, num_nodes=n), 3), case.label
    assert ex.ref_count_triangles(ex.prism(), 6).tolist() == [1] * 6
    assert ex.ref_count_triangles(ex.k33(), 6).tolist() == [0] * 6


def test_rewire_reference_agrees_with_mplib_resistance_rewiring():
    compared = 0
    for case, want in _answers("08.rewire_step"):
        ei, n = case.args
        if want is None:
            continue
        drops = ex.resistance_drops(ei, n)
        simple = Graph(ex.undirected(ei), num_nodes=n)
        (u, v), = resistance_rewiring(simple, 1)[1].tolist()
        assert drops[(u, v)] >= max(drops.values()) - ex.TIE, case.label  # mplib's pick is a best edge
        assert np.isclose(mplib.remedies.total_resistance(simple) - drops[want],
                          mplib.remedies.total_resistance(resistance_rewiring(simple, 1)[0]))
        ties = [e for e, d in drops.items() if d >= max(drops.values()) - ex.TIE]
        if len(ties) == 1:
            assert (u, v) == want, case.label
            compared += 1
    assert compared >= 10


def test_rewire_reference_on_known_graphs():
    assert ex.ref_rewire_step(ex.path(4), 4) == (0, 3)  # mplib's docstring example
    assert ex.ref_rewire_step(ex.cycle(8), 8) == (0, 4)  # the longest chord; the smallest of four
    assert ex.ref_rewire_step(ex.union((ex.cycle(3), 3), (ex.cycle(3), 3))[0], 6) is None
    assert ex.ref_rewire_step(np.zeros((2, 0), np.int64), 1) is None


# -- comparators -----------------------------------------------------------------------------


def test_colour_table_result():
    cmp = ex.colour_table_result()
    want = np.array([[0, 2], [2, 1]])
    assert cmp(np.array([[5, 7], [7, 1]]), want) is None
    assert "shape" in cmp(np.zeros((2, 3), np.int64), want)
    assert "integer colour ids" in cmp(want.astype(float), want)
    separately = np.array([[0, 1], [1, 0]])  # each row right on its own, rows not comparable
    assert "refined together" in cmp(separately, want)
    assert cmp(np.zeros((0, 0), np.int64), np.zeros((0, 0), np.int64)) is None


def test_new_edge_and_virtual_node_results():
    cmp = ex.new_edge_result()
    assert cmp((np.int64(1), 3), (1, 3)) is None and cmp(None, None) is None
    assert "expected None" in cmp((0, 1), None)
    assert "got None" in cmp(None, (0, 1))
    assert "u < v" in cmp((3, 1), (1, 3))
    assert "smallest" in cmp((0, 2), (1, 3))
    assert "tuple" in cmp([1, 3], (1, 3))
    vn = ex.virtual_node_result()
    want = (np.array([[1.0], [0.0]]), np.array([[0, 0, 1], [0, 1, 0]]))
    assert vn((want[0].copy(), want[1].copy()), want) is None
    assert "wrong order" in vn((want[0], np.array([[0, 1, 0], [0, 0, 1]])), want)
    assert "original edges" in vn((want[0], np.array([[0, 0, 1], [1, 0, 0]])), want)
    assert "dtype float32" in vn((want[0].astype(np.float32), want[1]), (want[0], want[1]))


# -- wrong answers are caught ----------------------------------------------------------------


def test_gin_without_relu_mean_instead_of_sum_or_float64_fails(sol):
    gin = sol["gin_layer"]

    def no_relu(x, ei, eps, w1, b1, w2, b2):
        z = (1 + eps) * x
        np.add.at(z, ei[1], x[ei[0]])
        return (z @ w1 + b1) @ w2 + b2

    def mean(x, ei, eps, w1, b1, w2, b2):
        deg = np.maximum(np.bincount(ei[1], minlength=len(x)), 1)[:, None]
        z = np.zeros_like(x)
        np.add.at(z, ei[1], x[ei[0]])
        return gin((1 + eps) * x + z / deg - z, np.zeros((2, 0), np.int64), 0.0, w1, b1, w2, b2)

    def mutates(x, ei, eps, w1, b1, w2, b2):
        np.add.at(x, ei[1], x[ei[0]])
        return gin(x, np.zeros((2, 0), np.int64), eps, w1, b1, w2, b2)

    _fails("08.gin_layer", no_relu, "ReLU cuts.*wrong values|wrong values")
    _fails("08.gin_layer", mean, "wrong values")
    _fails("08.gin_layer", lambda *a: gin(*a).astype(np.float64), "float32 inputs.*expected dtype float32")
    _fails("08.gin_layer", mutates, "modified its input")


def test_marked_copies_refined_separately_fail(sol):
    refine = sol["refine"]

    def separately(edge_index, num_nodes):
        rows = [refine(np.eye(num_nodes, dtype=np.int64)[v], edge_index) for v in range(num_nodes)]
        return np.array(rows, dtype=np.int64).reshape(num_nodes, num_nodes)

    _fails("08.marked_colours", separately, "refined together")


def test_plain_1wl_instead_of_marking_fails(sol):
    def plain(e1, n1, e2, n2):
        colours = sol["refine"](np.zeros(n1 + n2, np.int64), np.concatenate([e1, e2 + n1], axis=1))
        return sorted(colours[:n1].tolist()) != sorted(colours[n1:].tolist())

    _fails("08.marked_wl_distinguishes", plain, "(C6|K3,3|non-regular).*expected True, got False")


def test_triangles_of_the_raw_edge_list_fail():
    def raw(edge_index, num_nodes):  # directions, parallel edges and loops taken as they come
        a = np.zeros((num_nodes, num_nodes), np.int64)
        np.add.at(a, (edge_index[1], edge_index[0]), 1)
        return np.diag(a @ a @ a) // 2

    _fails("08.count_triangles", raw, "wrong values")


def test_virtual_node_with_interleaved_edges_or_float64_features_fails(sol):
    def interleaved(x, edge_index):
        x_new, ei = sol["add_virtual_node"](x, edge_index)
        n = x.shape[0]
        e = edge_index.shape[1]
        new = ei[:, e:].reshape(2, 2, n).transpose(0, 2, 1).reshape(2, 2 * n)
        return x_new, np.concatenate([edge_index, new], axis=1)

    _fails("08.add_virtual_node", interleaved, "wrong order")
    _fails("08.add_virtual_node", lambda x, ei: (sol["add_virtual_node"](x, ei)[0].astype(np.float64),
                                                 sol["add_virtual_node"](x, ei)[1]),
           "float32 inputs.*dtype float32")


def test_rewire_by_largest_resistance_or_without_the_tie_rule_fails(sol):
    def farthest(edge_index, num_nodes):  # the pair of largest resistance, not of largest drop
        if sol["rewire_step"](edge_index, num_nodes) is None:
            return None
        a, lap = ex._simple_laplacian(edge_index, num_nodes)
        lp = np.linalg.pinv(lap)
        d = np.diag(lp)
        r = np.where(np.triu(a == 0, 1), d[:, None] + d[None, :] - 2 * lp, -np.inf)
        u, v = np.unravel_index(np.argmax(r), r.shape)
        return int(u), int(v)

    def last_tie(edge_index, num_nodes):
        n = num_nodes
        flipped = (n - 1) - edge_index  # the mirror image: its smallest tie is our largest
        best = sol["rewire_step"](flipped, n)
        return None if best is None else (n - 1 - best[1], n - 1 - best[0])

    def never_none(edge_index, num_nodes):
        best = sol["rewire_step"](edge_index, num_nodes)
        return (0, 1) if best is None else best

    _fails("08.rewire_step", farthest, "not the new edge")
    _fails("08.rewire_step", last_tie, "not the new edge")
    _fails("08.rewire_step", never_none, r"expected None")


@pytest.mark.parametrize("task, delegate", [
    ("08.add_virtual_node", lambda x, ei: (lambda g: (g.x.astype(x.dtype), g.edge_index))(
        mplib.remedies.add_virtual_node(Graph(ei, num_nodes=x.shape[0], x=x)))),
    ("08.gin_layer", lambda x, ei, eps, w1, b1, w2, b2: mplib.gin_conv(
        x, ei, mlp=lambda z: np.maximum(z @ w1 + b1, 0) @ w2 + b2, eps=eps)),
])
def test_delegating_to_mplib_earns_nothing(task, delegate):
    _fails(task, delegate, r"called mplib\.[\w.]+ \(mplib is the reference")


# -- a real nbgrader run ---------------------------------------------------------------------


def _build(root):
    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    release(root, [ASSIGNMENT])
    for student in ("solution", "release"):
        synthetic.write_submission(root, root / "submitted" / student / ASSIGNMENT, ASSIGNMENT, student)
    results = {}
    for r in autograde(root, [ASSIGNMENT], workers=2, seed=DEFAULT_SEED, progress=None):
        results[r.student] = {k: getattr(r, k) for k in ("status", "reason", "notes")}
    feedback(root, ASSIGNMENT)
    export(root, ASSIGNMENT)
    (root / "results.json").write_text(json.dumps(results))


@pytest.fixture(scope="session")
def batch08(tmp_path_factory):
    return shared_batch(tmp_path_factory, "course-batch-08", _build, done="results.json")


def test_release_has_no_solution_or_hidden_tests():
    assert find_leaks(ROOT / "exercises" / ASSIGNMENT) == []
    text = "".join(p.read_text() for p in (ROOT / "exercises" / ASSIGNMENT).glob("*.ipynb"))
    assert [line for line in solution_lines(ASSIGNMENT) if line in text] == []
    assert text.count("raise NotImplementedError()") == len(TASKS)


@pytest.mark.slow
def test_release_matches_committed_exercises(batch08):
    fresh = sorted(p.relative_to(batch08) for p in (batch08 / "exercises" / ASSIGNMENT).rglob("*") if p.is_file())
    committed = sorted(p.relative_to(ROOT) for p in (ROOT / "exercises" / ASSIGNMENT).rglob("*") if p.is_file())
    assert fresh == committed, f"run `python -m course release {ASSIGNMENT}`"
    for rel in fresh:
        assert (batch08 / rel).read_bytes() == (ROOT / rel).read_bytes(), \
            f"exercises/{rel} drifted from solutions/; run `python -m course release {ASSIGNMENT}`"


@pytest.mark.slow
def test_solution_gets_full_marks_and_release_zero(batch08):
    rows = export_rows(batch08, ASSIGNMENT)
    assert (rows["solution"]["status"], float(rows["solution"]["score"]), float(rows["solution"]["max_score"])) \
        == ("graded", 10, 10)
    assert rows["solution"]["notes"] == ""
    assert (rows["release"]["status"], float(rows["release"]["score"])) == ("graded", 0)
    path, = (batch08 / "autograded" / "release" / ASSIGNMENT).glob("*.ipynb")
    errors = {}
    for cell in nbformat.read(str(path), as_version=4).cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                errors.setdefault(out.ename, []).append(cell.metadata.get("nbgrader", {}).get("grade_id"))
    assert set(errors) == {"NotImplementedError"}, errors
    assert len(errors["NotImplementedError"]) >= len(TASKS)


@pytest.mark.slow
def test_feedback_shows_no_hidden_tests_or_solutions(batch08):
    files = list((batch08 / "feedback").glob(f"*/{ASSIGNMENT}/*.html"))
    assert len(files) == 2
    assert find_leaks(batch08 / "feedback") == []
    text = "".join(f.read_text() for f in files)
    assert [line for line in solution_lines(ASSIGNMENT) if line in text] == []
    assert re.search(r"hidden tests of `rewire_step` passed", text)
