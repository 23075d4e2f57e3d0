"""Assignments 04 (WL), 05 (diagnostics) and 06 (beyond one hop): their hidden checks and
comparators in-process, then real nbgrader runs (release, autograde, feedback, export) in a
temporary course directory.

The generic properties (every solution passes its checks, every stub raises
NotImplementedError, cases are plain data and deterministic) are in test_course_checks.py,
which discovers these assignments by itself.
"""

import json
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from course_batch import export_rows, shared_batch, solution_lines

import mplib
from corpora import synthetic
from course import checks
from course.checks import DEFAULT_SEED, CheckFailed
from course.instructor.autograde import autograde
from course.instructor.export import export
from course.instructor.feedback import feedback
from course.instructor.release import find_leaks, release
from course.checks.beyond_one_hop import triples_result
from course.checks.diagnosis import edge_result, float_result
from course.checks.wl_refinement import partition_result, rook_4x4, shrikhande

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ["04_wl", "05_diagnostics", "06_beyond_one_hop"]
FULL = {name: 10 for name in ASSIGNMENTS}
TASKS = {"04": ["wl_round", "wl_refine", "rounds_to_stable", "wl_distinguishes"],
         "05": ["dirichlet_energy", "energy_under_averaging", "effective_resistance", "bottleneck_edge",
                "edge_homophily", "node_homophily", "mix_with_neighbours"],
         "06": ["shortest_path_edges", "distance_profile", "spd_wl_colors", "spd_wl_distinguishes"]}


def _solution_namespace(assignment):
    ns = {"__name__": "__student__"}
    for path in (ROOT / "solutions" / assignment).glob("*.ipynb"):
        for cell in nbformat.read(str(path), as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and (meta.get("solution") or (meta.get("locked") and not meta.get("grade"))):
                exec(compile(cell.source, f"<{meta['grade_id']}>", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def sol():
    ns = {}
    for name in ASSIGNMENTS:
        ns.update(_solution_namespace(name))
    return ns


def _fails(task, fn, match):
    with np.errstate(all="ignore"), pytest.raises(CheckFailed, match=match):
        checks.run(task, fn)


# -- the registry ----------------------------------------------------------------------------


def test_tasks_registered():
    for number, names in TASKS.items():
        assert checks.tasks(number + ".") == sorted(f"{number}.{n}" for n in names)


def test_cases_cover_the_edge_cases():
    for number, situations in [("04", ["isolated", "no edges", "self-loops", "parallel edges"]),
                               ("05", ["isolated", "no edges", "self-loops", "different components"]),
                               ("06", ["isolated", "no edges", "self-loops", "parallel edges"])]:
        labels = " ".join(c.label for t in checks.tasks(number + ".") for c in checks.make_cases(t))
        for situation in situations:
            assert situation in labels, (number, situation)


def test_wl_distinguishes_cases_are_balanced():
    for task in ("04.wl_distinguishes", "06.spd_wl_distinguishes"):
        answers = [checks.expected(task, c) for c in checks.make_cases(task)]
        assert 3 <= sum(answers) <= len(answers) - 3, (task, answers)


def test_shrikhande_and_rook_are_the_strongly_regular_pair():
    for ei in (shrikhande(), rook_4x4()):
        g = mplib.Graph(ei, num_nodes=16)
        assert (g.degree() == 6).all() and g.num_edges == 96
        a = mplib.adjacency_matrix(ei, 16).toarray()
        common = (a @ a)[a > 0]
        assert (common == 2).all()  # srg(16, 6, 2, 2)
    assert not mplib.spd_wl_test(mplib.Graph(shrikhande(), num_nodes=16),
                                 mplib.Graph(rook_4x4(), num_nodes=16)).distinguished


# -- comparators -----------------------------------------------------------------------------


@pytest.mark.parametrize("got, message", [
    ([0, 0, 1], "expected an integer array"),
    (np.array([0, 0]), "expected shape \\(3,\\)"),
    (np.array([0.0, 0.0, 1.0]), "integer colour ids"),
    (np.array([0, 0, 0]), "1 colour classes where 2 are expected"),
    (np.array([0, 1, 2]), "3 colour classes where 2 are expected"),
    (np.array([0, 1, 1]), "group the nodes differently"),
])
def test_partition_result_rejects(got, message):
    assert re.search(message, partition_result()(got, np.array([4, 4, 9])))


def test_partition_result_ignores_colour_ids():
    assert partition_result()(np.array([7, 7, 2], dtype=np.int32), np.array([0, 0, 1])) is None
    assert partition_result()(np.zeros(0, np.int64), np.zeros(0, np.int64)) is None


def test_triples_result():
    want = (np.array([[0, 1, 0], [1, 0, 2]]), np.array([1, 1, 2]))
    cmp = triples_result()
    assert cmp((np.array([[0, 0, 1], [2, 1, 0]]), np.array([2, 1, 1])), want) is None
    assert "listed twice" in cmp((np.array([[0, 0, 1, 1], [2, 1, 0, 0]]), np.array([2, 1, 1, 1])), want)
    assert "wrong distance" in cmp((np.array([[0, 0, 1], [2, 1, 0]]), np.array([1, 1, 1])), want)
    assert "1 missing" in cmp((np.array([[0, 1], [1, 0]]), np.array([1, 1])), want)
    assert "tuple" in cmp([want[0], want[1]], want)
    assert "integer arrays" in cmp((want[0].astype(float), want[1]), want)


def test_float_and_edge_results():
    assert float_result()(0.5, 0.5) is None and float_result()(np.float64(0.5), 0.5) is None
    assert "expected a float" in float_result()(1, 1.0)
    assert "expected a float" in float_result()(np.array(0.5), 0.5)
    assert "expected NaN" in float_result()(0.0, float("nan"))
    assert float_result()(float("nan"), float("nan")) is None
    assert edge_result()((np.int64(2), 3), (2, 3)) is None
    assert "u < v" in edge_result()((3, 2), (2, 3))
    assert "largest effective resistance" in edge_result()((1, 2), (2, 3))
    assert "tuple" in edge_result()([2, 3], (2, 3))


# -- wrong answers are caught ----------------------------------------------------------------


def test_wl_round_without_own_colour_fails():
    def neighbours_only(colors, edge_index):
        src, dst = edge_index
        heard = [tuple(sorted(colors[src[dst == v]].tolist())) for v in range(len(colors))]
        names = {s: k for k, s in enumerate(sorted(set(heard)))}
        return np.array([names[s] for s in heard])

    _fails("04.wl_round", neighbours_only, "colour classes")


def test_wl_round_with_sets_instead_of_multisets_fails():
    def sets(colors, edge_index):
        src, dst = edge_index
        sig = [(int(colors[v]), tuple(sorted(set(colors[src[dst == v]].tolist())))) for v in range(len(colors))]
        names = {s: k for k, s in enumerate(sorted(set(sig)))}
        return np.array([names[s] for s in sig])

    _fails("04.wl_round", sets, "colour classes")


def test_rounds_to_stable_counting_the_confirming_round_fails(sol):
    _fails("04.rounds_to_stable", lambda c, ei: sol["rounds_to_stable"](c, ei) + 1, "wrong value")


def test_wl_test_by_degrees_or_one_round_fails(sol):
    def degrees(e1, n1, e2, n2):
        return not np.array_equal(np.sort(np.bincount(e1[1], minlength=n1)), np.sort(np.bincount(e2[1], minlength=n2)))

    _fails("04.wl_distinguishes", degrees, "expected True, got False")


def test_energy_without_half_and_averaging_without_self_fail(sol):
    _fails("05.dirichlet_energy", lambda x, ei: 2 * sol["dirichlet_energy"](x, ei), "wrong value")

    def neighbours_only(x, edge_index, rounds):
        energies = [sol["dirichlet_energy"](x, edge_index)]
        for _ in range(rounds):
            x = sol["mix_with_neighbours"](x, edge_index, 1.0)
            energies.append(sol["dirichlet_energy"](x, edge_index))
        return np.array(energies)

    _fails("05.energy_under_averaging", neighbours_only, "wrong values")


def test_resistance_without_infinity_across_components_fails():
    def finite(edge_index, num_nodes):
        src, dst = edge_index
        a = np.zeros((num_nodes, num_nodes))
        np.add.at(a, (dst, src), 1.0)
        pinv = np.linalg.pinv(np.diag(a.sum(axis=1)) - a)
        d = np.diag(pinv)
        return d[:, None] + d[None, :] - 2 * pinv

    _fails("05.effective_resistance", finite, "(disconnected|components).*wrong values")


def test_node_homophily_counting_isolated_nodes_as_zero_fails(sol):
    def pyg_style(edge_index, y):
        h = sol["node_homophily"](edge_index, y)
        deg = np.bincount(edge_index[1], minlength=len(y))
        return h * np.mean(deg > 0)

    _fails("05.node_homophily", pyg_style, "wrong value")


def test_shortest_paths_with_self_pairs_or_no_limit_fail(sol):
    def with_self(edge_index, num_nodes, max_distance=None):
        pairs, d = sol["shortest_path_edges"](edge_index, num_nodes, max_distance)
        loops = np.arange(num_nodes)
        return np.concatenate([pairs, np.stack([loops, loops])], axis=1), np.concatenate([d, 0 * loops])

    _fails("06.shortest_path_edges", with_self, "not expected")
    _fails("06.shortest_path_edges", lambda ei, n, max_distance=None: sol["shortest_path_edges"](ei, n),
           "max_distance=[123].*not expected")


def test_spd_wl_with_one_hop_only_fails(sol):
    _fails("06.spd_wl_distinguishes", lambda e1, n1, e2, n2, k: sol["spd_wl_distinguishes"](e1, n1, e2, n2, 1),
           "expected True, got False")


@pytest.mark.parametrize("task, delegate", [
    ("04.wl_round", lambda c, ei: mplib.wl_colors(mplib.Graph(ei, num_nodes=len(c), x=c[:, None]), 1)),
    ("04.wl_distinguishes", lambda e1, n1, e2, n2: mplib.wl_test(mplib.Graph(e1, num_nodes=n1),
                                                                  mplib.Graph(e2, num_nodes=n2)).distinguished),
    ("05.effective_resistance", lambda ei, n: mplib.effective_resistance(ei, n)),
    ("05.edge_homophily", lambda ei, y: mplib.edge_homophily(ei, y) if ei.size else float("nan")),
    ("05.mix_with_neighbours", lambda x, ei, a: mplib.mix_with_neighbours(x, ei, a)),
    ("06.shortest_path_edges", lambda ei, n, max_distance=None: mplib.shortest_path_edges(ei, max_distance, n)),
    ("06.spd_wl_colors", lambda ei, n, k: mplib.spd_wl_colors(mplib.Graph(ei, num_nodes=n), k)),
])
def test_delegating_to_mplib_earns_nothing(task, delegate):
    _fails(task, delegate, r"called mplib\.[\w.]+ \(mplib is the reference")


# -- real nbgrader runs ----------------------------------------------------------------------


def _build(root):
    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for name in ASSIGNMENTS:
        shutil.copytree(ROOT / "solutions" / name, root / "solutions" / name)
    release(root, ASSIGNMENTS)
    for name in ASSIGNMENTS:
        for student in ("solution", "release"):
            synthetic.write_submission(root, root / "submitted" / student / name, name, student)
    results = {}
    for r in autograde(root, ASSIGNMENTS, workers=2, seed=DEFAULT_SEED, progress=None):
        results.setdefault(r.assignment, {})[r.student] = {k: getattr(r, k) for k in ("status", "reason", "notes")}
    for name in ASSIGNMENTS:
        feedback(root, name)
        export(root, name)
    (root / "results.json").write_text(json.dumps(results))


@pytest.fixture(scope="session")
def batch456(tmp_path_factory):
    return shared_batch(tmp_path_factory, "course-batch-456", _build, done="results.json")


def _row(root, assignment, student):
    return export_rows(root, assignment)[student]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_matches_committed_exercises(batch456, assignment):
    fresh = sorted(p.relative_to(batch456) for p in (batch456 / "exercises" / assignment).rglob("*") if p.is_file())
    committed = sorted(p.relative_to(ROOT) for p in (ROOT / "exercises" / assignment).rglob("*") if p.is_file())
    assert fresh == committed, f"run `python -m course release {assignment}`"
    for rel in fresh:
        assert (batch456 / rel).read_bytes() == (ROOT / rel).read_bytes(), \
            f"exercises/{rel} drifted from solutions/; run `python -m course release {assignment}`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_solution_or_hidden_tests(assignment):
    assert find_leaks(ROOT / "exercises" / assignment) == []
    text = "".join(p.read_text() for p in (ROOT / "exercises" / assignment).glob("*.ipynb"))
    assert [line for line in solution_lines(assignment) if line in text] == []
    assert text.count("raise NotImplementedError()") == len(TASKS[assignment[:2]])


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_gets_full_marks(batch456, assignment):
    row = _row(batch456, assignment, "solution")
    assert row["status"] == "graded", row["reason"]
    assert (row["status"], float(row["score"]), float(row["max_score"])) == \
        ("graded", FULL[assignment], FULL[assignment])
    assert row["notes"] == ""


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_gets_zero_and_raises_only_at_the_stubs(batch456, assignment):
    row = _row(batch456, assignment, "release")
    assert row["status"] == "graded", row["reason"]
    assert (row["status"], float(row["score"])) == ("graded", 0)
    path, = (batch456 / "autograded" / "release" / assignment).glob("*.ipynb")
    errors = {}
    for cell in nbformat.read(str(path), as_version=4).cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                errors.setdefault(out.ename, []).append(cell.metadata.get("nbgrader", {}).get("grade_id"))
    assert set(errors) == {"NotImplementedError"}, errors
    assert len(errors["NotImplementedError"]) >= len(TASKS[assignment[:2]])


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_shows_no_hidden_tests_or_solutions(batch456, assignment):
    files = list((batch456 / "feedback").glob(f"*/{assignment}/*.html"))
    assert len(files) == 2
    assert find_leaks(batch456 / "feedback") == []
    text = "".join(f.read_text() for f in files)
    assert [line for line in solution_lines(assignment) if line in text] == []
