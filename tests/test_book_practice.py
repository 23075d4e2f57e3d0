"""Claims of the Hands-On Practices pages (book/practice/*.md) and the pages' links: every
download is a released notebook, never a solution.

The numbers the pages glue are read from the executed pages (:func:`book_values.page_values`)
and checked against the released notebooks and closed forms; the warm-up solutions' claims
are checked with hand-computed values."""

import re
from pathlib import Path

import numpy as np
import pytest

from mplib.diagnostics import dirichlet_energy, effective_resistance
from mplib.generators import (barbell_graph, cycle_graph, grid_graph, path_graph, random_graph,
                              star_graph, wl_pairs)
from mplib.graph import Graph, add_self_loops, to_undirected
from mplib.homophily import edge_homophily, node_homophily
from mplib.hops import shortest_path_edges, spd_wl_test
from mplib.layers import gat_conv, gcn_conv
from mplib.message_passing import adjacency_matrix, propagate
from mplib import scatter, segment_softmax
from mplib.wl import wl_history, wl_test

from book_values import page_values
from helpers import assert_invariant

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "book" / "practice").glob("0*.md"))
CHAPTER = {"01": "01_conversation", "02": "01_conversation", "03": "04_smarter", "04": "02_local_talk",
           "05": "03_pathologies", "06": "04_smarter", "07": "05_learning",
           "08": "06_beyond_limits"}


def _union(*graphs):
    parts, n = [], 0
    for g in graphs:
        parts.append(g.edge_index + n)
        n += g.num_nodes
    return Graph(np.concatenate(parts, axis=1), num_nodes=n)


# -- the pages and their links ---------------------------------------------------------------


def test_one_page_per_assignment_and_an_index():
    assert [p.name[:2] for p in PAGES] == sorted(d.name[:2] for d in (ROOT / "exercises").iterdir() if d.is_dir())
    assert (ROOT / "book" / "practice" / "index.md").exists()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_downloads_the_release_and_links_its_chapter(page):
    text = page.read_text()
    targets = re.findall(r"\{download\}`[^<`]*<([^>]+)>`", text)
    assert len(targets) == 1
    target = (page.parent / targets[0]).resolve()
    assert target.parent.parent == ROOT / "exercises" and target.suffix == ".ipynb" and target.exists()
    assert target.parent.name.startswith(page.name[:2])
    assert "solutions/" not in text and "solutions\\" not in text
    assert f"{{doc}}`../principles/{CHAPTER[page.name[:2]]}`" in text
    for chapter in re.findall(r"\{doc\}`(?:[^<`]*<)?(\.\./principles/[\w]+)>?`", text):
        assert (page.parent / f"{chapter}.md").exists()
    assert text.count("```{exercise}") >= 2 and "nbgrader validate" in text


def test_index_links_every_page_and_chapter():
    text = (ROOT / "book" / "practice" / "index.md").read_text()
    for page in PAGES:
        assert f"{{doc}}`{page.stem}`" in text
    assert "solutions/" not in text


# -- claims of the warm-up solutions ---------------------------------------------------------


def test_aggregators_mean_and_max_blind_spots_sum_is_not():
    # {{1}} vs {{1, 1}}: equal means; {{1, 2}} vs {{1, 2, 2}}: equal maxima; sums differ in both
    mean = scatter(np.array([1.0, 1.0, 1.0]), np.array([0, 1, 1]), 2, reduce="mean")
    top = scatter(np.array([1.0, 2.0, 1.0, 2.0, 2.0]), np.array([0, 0, 1, 1, 1]), 2, reduce="max")
    assert mean[0] == mean[1] and top[0] == top[1]
    assert scatter(np.array([1.0, 1.0, 1.0]), np.array([0, 1, 1]), 2).tolist() == [1.0, 2.0]
    assert scatter(np.array([1.0, 2.0, 1.0, 2.0, 2.0]), np.array([0, 0, 1, 1, 1]), 2).tolist() == [3.0, 5.0]


def test_aggregators_star_leaves_hear_only_the_centre():
    src, dst = star_graph(3).edge_index
    x = np.array([10.0, 1.0, 2.0, 6.0])
    for reduce in ("sum", "mean", "max"):
        assert (scatter(x[src], dst, 4, reduce=reduce)[1:] == 10).all()


def test_message_passing_gcn_matrix_of_the_path():
    s = gcn_conv(np.eye(3), path_graph(3).edge_index, np.eye(3))
    r = 6 ** -0.5
    np.testing.assert_allclose(s, [[1 / 2, r, 0], [r, 1 / 3, r], [0, r, 1 / 2]])


def test_message_passing_sum_readout_is_invariant():
    rng = np.random.default_rng(3)
    g = random_graph(8, p=0.4, rng=rng)
    x, w = rng.normal(size=(8, 3)), rng.normal(size=(3, 2))
    perm = rng.permutation(8)
    x_new = np.empty_like(x)
    x_new[perm] = x
    out, out_new = gcn_conv(x, g.edge_index, w), gcn_conv(x_new, perm[g.edge_index], w)
    np.testing.assert_allclose(out_new[perm], out)
    np.testing.assert_allclose(out_new.sum(axis=0), out.sum(axis=0))


def test_attention_zero_vector_is_the_mean_with_self_loop():
    rng = np.random.default_rng(0)
    g = random_graph(7, p=0.4, rng=rng)
    x, w = rng.normal(size=(7, 3)), rng.normal(size=(3, 2))
    loops, _ = add_self_loops(g.edge_index, num_nodes=7)
    zero = np.zeros((1, 2))
    np.testing.assert_allclose(gat_conv(x, g.edge_index, w, zero, zero), propagate(x @ w, loops, aggregate="mean"))


def test_attention_naive_softmax_overflows_the_shifted_one_does_not():
    scores = np.array([1000.0, 999.0, 0.0])
    with np.errstate(all="ignore"):
        assert np.isnan(np.exp(scores) / np.exp(scores).sum()).any()
    alpha = segment_softmax(scores, np.zeros(3, dtype=np.int64), 1)
    assert np.isfinite(alpha).all() and np.isclose(alpha.sum(), 1) and alpha[2] == 0.0


def test_attention_heads_concatenated_or_averaged():
    rng = np.random.default_rng(1)
    g = random_graph(7, p=0.4, rng=rng)
    x = rng.normal(size=(7, 3))
    w, a_src, a_dst = rng.normal(size=(3, 12)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    assert gat_conv(x, g.edge_index, w, a_src, a_dst, heads=4, concat=True).shape == (7, 12)
    assert gat_conv(x, g.edge_index, w, a_src, a_dst, heads=4, concat=False).shape == (7, 3)


def test_wl_star_is_stable_after_one_round():
    history = wl_history(star_graph(3))
    assert len(history) == 2 and len(np.unique(history[1])) == 2


def test_wl_unions_of_cycles_are_confused_and_the_path_takes_three_rounds():
    c8 = cycle_graph(8)
    for other in (_union(cycle_graph(4), cycle_graph(4)), _union(cycle_graph(3), cycle_graph(5))):
        assert not wl_test(c8, other).distinguished
    assert len(wl_history(path_graph(8))) - 1 == 3


def test_diagnostics_energy_is_the_laplacian_quadratic_form():
    rng = np.random.default_rng(0)
    g = random_graph(10, p=0.3, rng=rng)
    x = rng.normal(size=(10, 2))
    a = adjacency_matrix(g.edge_index, 10).toarray()
    assert np.isclose(dirichlet_energy(x, g.edge_index), np.trace(x.T @ (np.diag(a.sum(1)) - a) @ x))


def test_diagnostics_cycle_resistance_foster_and_the_bridge():
    for n in (4, 6, 9):
        r = effective_resistance(cycle_graph(n))
        assert np.isclose(r[0, 1], (n - 1) / n)
    for g in (cycle_graph(6), barbell_graph(4, 0)):
        r = effective_resistance(g)
        src, dst = g.edge_index[:, g.edge_index[0] < g.edge_index[1]]
        assert np.isclose(r[src, dst].sum(), g.num_nodes - 1)
    assert np.isclose(effective_resistance(barbell_graph(4, 0))[3, 4], 1.0)


def test_diagnostics_triangle_with_pendant_homophilies_differ():
    ei = to_undirected(np.array([[0, 1, 2, 2], [1, 2, 0, 3]]), num_nodes=4)
    y = np.array([0, 0, 0, 1])
    assert ei.shape[1] == 8
    assert np.isclose(edge_homophily(ei, y), 6 / 8) and np.isclose(node_homophily(ei, y), (1 + 1 + 2 / 3) / 4)


def test_beyond_grid_distance_profiles():
    pairs, dist = shortest_path_edges(grid_graph(3, 3))
    profile = {v: np.bincount(dist[pairs[1] == v], minlength=5)[1:].tolist() for v in (4, 0)}
    assert profile == {4: [4, 4, 0, 0], 0: [2, 3, 2, 1]}


def test_beyond_c8_against_two_c4_needs_distance_two():
    c8, two_c4 = cycle_graph(8), _union(cycle_graph(4), cycle_graph(4))
    verdict = {k: spd_wl_test(c8, two_c4, max_distance=k).distinguished for k in (1, 2, 3)}
    assert verdict == {1: False, 2: True, 3: True}


# -- warm-up 1 of the aggregators page: which functions of the messages are invariant ------------


def _per_receiver(fn):
    """Apply ``fn`` to the messages of each receiver, in the order they are stored."""
    def aggregate(messages, index, num_segments):
        return np.array([fn(messages[index == v]) if np.any(index == v) else 0.0
                         for v in range(num_segments)])
    return aggregate


def test_aggregators_warm_up_median_range_distinct_are_invariant_first_stored_is_not():
    rng = np.random.default_rng(5)
    messages = rng.integers(0, 4, size=30).astype(float)  # repeats, so "distinct" is not trivial
    index = rng.integers(0, 5, size=30)
    for fn in (np.median, np.ptp, lambda m: len(np.unique(m))):  # (a), (b), (d)
        assert_invariant(_per_receiver(fn), messages, index, 5, rng, trials=20)
    first = _per_receiver(lambda m: m[0])  # (c): the message on the edge stored first
    with pytest.raises(AssertionError, match="reordered"):
        assert_invariant(first, messages, index, 5, rng, trials=20)
    # (d) keeps almost nothing: two different multisets, the same number of distinct values
    distinct = _per_receiver(lambda m: len(np.unique(m)))
    assert distinct(np.array([0.0, 1.0, 9.0, 9.0]), np.array([0, 0, 1, 1]), 2).tolist() == [2, 1]


# -- key takeaways of the pages ----------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_page_has_short_key_takeaways_before_the_warm_ups(page):
    text = page.read_text()
    assert text.count("## Key takeaways") == 1
    section = text.split("## Key takeaways", 1)[1].split("\n## ", 1)[0]
    bullets = [line for line in section.splitlines() if line.startswith("- ")]
    assert 2 <= len(bullets) <= 4
    assert text.index("## Key takeaways") < text.index("## Warm-up problems")


def test_index_title_is_not_the_part_caption():
    text = (ROOT / "book" / "practice" / "index.md").read_text()
    assert next(line for line in text.splitlines() if line.startswith("# ")) == "# About the assignments"


def test_spd_wl_is_cited_to_zhang_and_distance_encodings_to_li():
    text = (ROOT / "book" / "practice" / "06_beyond_one_hop.md").read_text()
    assert "distance encodings {cite:p}`li2020distance`" in text
    assert "SPD-WL\n{cite:p}`zhang2023rethinking`" in text
    assert "@inproceedings{zhang2023rethinking," in (ROOT / "references.bib").read_text()


def test_takeaway_mixing_on_a_bipartite_graph_scales_by_one_minus_two_alpha():
    g = cycle_graph(6)  # bipartite: even positions on one side, odd on the other
    h = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])[:, None]
    for alpha in (0.1, 0.5, 0.75):
        mixed = (1 - alpha) * h + alpha * propagate(h, g.edge_index, aggregate="mean")
        np.testing.assert_allclose(mixed, (1 - 2 * alpha) * h)


def test_takeaway_averaging_drives_the_dirichlet_energy_to_zero_on_a_connected_graph():
    g = barbell_graph(4, 1)
    x = np.random.default_rng(6).normal(size=(g.num_nodes, 2))
    start = dirichlet_energy(x, g.edge_index)
    for _ in range(300):
        x = 0.5 * x + 0.5 * propagate(x, g.edge_index, aggregate="mean")
    assert dirichlet_energy(x, g.edge_index) < 1e-6 * start


def test_takeaway_bridge_resistance_is_the_largest_an_edge_can_have():
    g = barbell_graph(4, 0)
    r = effective_resistance(g)
    src, dst = g.edge_index
    assert np.isclose(r[src, dst].max(), 1.0) and np.all(r[src, dst] <= 1.0 + 1e-12)


def test_takeaway_wl_pairs_are_confused_and_spd_wl_separates_only_the_cycles():
    (c6, two_c3), (k33, prism) = wl_pairs()["C6 vs 2xC3"], wl_pairs()["K3,3 vs prism"]
    assert not wl_test(c6, two_c3).distinguished and not wl_test(k33, prism).distinguished
    assert not spd_wl_test(c6, two_c3, max_distance=1).distinguished
    assert spd_wl_test(c6, two_c3, max_distance=2).distinguished
    for k in (1, 2, 3, None):  # "at any K"
        assert not spd_wl_test(k33, prism, max_distance=k).distinguished


def test_gcn_messages_use_one_self_loop_and_symmetric_degrees():
    # takeaway of page 2: a sum over neighbours and exactly one self-loop, scaled 1/sqrt(d_u d_v)
    ei = np.array([[0, 1, 1, 2, 1], [1, 0, 2, 1, 1]])  # the path 0-1-2 with a self-loop on 1
    s = gcn_conv(np.eye(3), ei, np.eye(3))
    r = 6 ** -0.5
    np.testing.assert_allclose(s, [[1 / 2, r, 0], [r, 1 / 3, r], [0, r, 1 / 2]])


# -- the numbers the pages glue ---------------------------------------------------------------


def released_tasks(page):
    """(tasks, points) of the notebook a page links, counted from nbgrader's cell metadata."""
    import json

    path = re.search(r'NOTEBOOK = Path\("\.\./\.\./([^"]+)"\)', page.read_text()).group(1)
    cells = json.loads((ROOT / path).read_text())["cells"]
    tasks = sum(c["cell_type"] == "markdown" and "".join(c["source"]).startswith("## Task") for c in cells)
    points = sum(c["metadata"].get("nbgrader", {}).get("points", 0) for c in cells
                 if c["metadata"].get("nbgrader", {}).get("grade"))
    return tasks, points


@pytest.mark.needs_book
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_glued_task_count_and_points_match_the_released_notebook(page):
    v = page_values(f"practice/{page.stem}")
    assert (v["num-tasks"], v["total-points"]) == released_tasks(page)


@pytest.mark.needs_book
def test_glued_warm_up_numbers():
    star = page_values("practice/01_aggregators")
    assert (star["star-sum"], star["star-mean"], star["star-max"]) == (1 + 2 + 6, (1 + 2 + 6) / 3, 6)
    assert page_values("practice/04_wl")["path8-rounds"] == (8 - 1) // 2   # one node inwards per round
    tri = page_values("practice/05_diagnostics")
    assert tri["tri-edge"] == pytest.approx(6 / 8) and tri["tri-node"] == pytest.approx((1 + 1 + 2 / 3 + 0) / 4)
    import networkx as nx

    def profiles(G, K):
        return sorted(tuple(sorted(d for d in nx.single_source_shortest_path_length(G, u, cutoff=K).values()))
                      for u in G)

    c8, two_c4 = nx.cycle_graph(8), nx.disjoint_union(nx.cycle_graph(4), nx.cycle_graph(4))
    first = next(K for K in range(1, 5) if profiles(c8, K) != profiles(two_c4, K))
    assert page_values("practice/06_beyond_one_hop")["c8-first-k"] == first


@pytest.mark.needs_book
def test_glued_expressivity_warm_up_numbers():
    import networkx as nx

    v = page_values("practice/08_expressivity")
    prism = nx.circular_ladder_graph(3)  # two triangles joined by a matching
    assert v["prism-triangles"] == sum(nx.triangles(prism).values()) // 3 == 2
    assert v["prism-total"] == sum(nx.triangles(prism).values()) == 6
    assert (v["wl-classes"], v["marked-classes"]) == (1, 2)
    path, hub = nx.path_graph(8), nx.path_graph(8)
    hub.add_edges_from((8, k) for k in range(8))
    assert v["path-ends"] == pytest.approx(7.0)  # seven 1-ohm resistors in series
    assert v["path-ends-vn"] == pytest.approx(nx.resistance_distance(hub, 0, 7))
    assert v["path-new-edge"] == "(0, 7)"
    assert v["path-total"] == pytest.approx(sum(abs(u - w) for u in range(8) for w in range(u)))  # 84
    cycle = nx.cycle_graph(8)
    assert v["path-total-after"] == pytest.approx(
        sum(nx.resistance_distance(cycle, u, w) for u in range(8) for w in range(u)))


# -- practice page 7 (learning by hand): the warm-ups' claims and glued numbers ---------------------


def test_backprop_gradient_runs_against_the_edges_one_hop_per_layer():
    # the directed path 0 -> 1 -> 2: node 2's output after k GCN layers depends on the nodes within
    # k hops upstream, read off the k-th power of S_hat (row 2), a closed form of the layer
    r = 0.5 ** 0.5
    s_hat = np.array([[1.0, 0, 0], [r, 0.5, 0], [0, 0.5, 0.5]])  # 1 / sqrt(d_i d_j), d = 1, 2, 2 with the loops
    np.testing.assert_allclose(gcn_conv(np.eye(3), np.array([[0, 1], [1, 2]]), np.eye(3)), s_hat)
    assert np.flatnonzero(s_hat[2]).tolist() == [1, 2]
    assert np.flatnonzero((s_hat @ s_hat)[2]).tolist() == [0, 1, 2]


def test_backprop_huge_score_cross_entropy_and_gradient():
    from mplib.autograd import Tensor
    from mplib.functional import cross_entropy

    t = Tensor(np.array([[1000.0, 0.0]]), requires_grad=True)
    loss = cross_entropy(t, [1])
    loss.backward()
    assert loss.item() == 1000.0  # log(e^1000 + 1) - 0, the 1 far below round-off
    np.testing.assert_allclose(t.grad, [[1.0, -1.0]])
    with np.errstate(all="ignore"):
        assert np.isnan(np.exp([1000.0, 0.0]) / np.exp([1000.0, 0.0]).sum()).any()


@pytest.mark.needs_book
def test_glued_backprop_warm_up_numbers():
    v = page_values("practice/07_backprop")
    assert v["karate-params"] == 34 * 16 + 16 + 16 * 2 + 2 == 594  # W1, b1, W2, b2 of the 34-member club
    assert v["karate-fd-evals"] == 2 * 594
    assert (v["path-one-layer"], v["path-two-layers"]) == ([1, 2], [0, 1, 2])
    assert v["ce-huge"] == 1000.0
