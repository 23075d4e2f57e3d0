"""Tests for mplib.generators: networkx as the oracle, structural facts, CSBM statistics."""

import networkx as nx
import numpy as np
import pytest

from mplib.generators import (
    _unrank_pairs,
    barbell_graph,
    complete_bipartite_graph,
    complete_graph,
    contextual_sbm,
    cycle_graph,
    grid_graph,
    grid_positions,
    heterophilous_graph,
    k33,
    path_graph,
    random_graph,
    star_graph,
    tree,
    triangular_prism,
    two_triangles,
    wl_pairs,
)
from mplib.graph import Graph, from_networkx, to_networkx, to_undirected

# (ours, networkx) with the same node labels, so edge_index must be identical. (For
# barbell_graph(m, 1) networkx iterates the path node last, hence the sort below.)
SAME_NUMBERING = [
    *[(lambda n=n: cycle_graph(n), lambda n=n: nx.cycle_graph(n)) for n in (3, 4, 7)],
    *[(lambda n=n: path_graph(n), lambda n=n: nx.path_graph(n)) for n in (1, 2, 6)],
    *[(lambda n=n: complete_graph(n), lambda n=n: nx.complete_graph(n)) for n in (1, 2, 6)],
    *[(lambda n=n: star_graph(n), lambda n=n: nx.star_graph(n)) for n in (0, 1, 5)],
    *[(lambda r=r, c=c, p=p: grid_graph(r, c, p), lambda r=r, c=c, p=p: nx.grid_2d_graph(r, c, periodic=p))
      for r, c, p in [(1, 1, False), (1, 4, False), (3, 4, False), (3, 3, True), (4, 5, True)]],
    *[(lambda b=b, d=d: tree(b, d), lambda b=b, d=d: nx.balanced_tree(b, d))
      for b, d in [(1, 0), (1, 3), (2, 3), (3, 2)]],
    *[(lambda m=m, L=L: barbell_graph(m, L), lambda m=m, L=L: nx.barbell_graph(m, L))
      for m, L in [(2, 0), (3, 0), (4, 3), (5, 1)]],
    *[(lambda m=m, n=n: complete_bipartite_graph(m, n), lambda m=m, n=n: nx.complete_bipartite_graph(m, n))
      for m, n in [(1, 1), (2, 3), (4, 2)]],
    (k33, lambda: nx.complete_bipartite_graph(3, 3)),
    (triangular_prism, lambda: nx.circular_ladder_graph(3)),
    (two_triangles, lambda: nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3))),
]


@pytest.mark.parametrize("ours, theirs", SAME_NUMBERING)
def test_generators_match_networkx_numbering(ours, theirs):
    g, G = ours(), theirs()
    H = nx.Graph()  # node k of from_networkx is list(G)[k]: sort so that labels, not order, decide
    H.add_nodes_from(sorted(G))
    H.add_edges_from(G.edges())
    ref = from_networkx(H)
    assert isinstance(g, Graph)
    assert g.num_nodes == ref.num_nodes
    assert g.edge_index.dtype == np.int64
    np.testing.assert_array_equal(g.edge_index, ref.edge_index)


def _all_graphs():
    yield from (f() for f, _ in SAME_NUMBERING)
    yield heterophilous_graph(4, p=0.5, rng=0)
    yield random_graph(30, p=0.2, rng=1)
    yield contextual_sbm(60, 3, 4.0, 0.7, feature_dim=3, rng=2)


def test_generators_are_canonical_undirected():
    for g in _all_graphs():
        np.testing.assert_array_equal(g.edge_index, to_undirected(g.edge_index, g.num_nodes))
        assert np.all(g.edge_index[0] != g.edge_index[1]), "no self-loops"


@pytest.mark.filterwarnings("ignore:The hashes produced:UserWarning")
def test_wl_pairs_regular_and_not_isomorphic():
    pairs = wl_pairs()
    assert list(pairs) == ["C6 vs 2xC3", "K3,3 vs prism"]
    for name, (g1, g2), degree, edges in [("C6 vs 2xC3", pairs["C6 vs 2xC3"], 2, 6),
                                          ("K3,3 vs prism", pairs["K3,3 vs prism"], 3, 9)]:
        for g in (g1, g2):
            assert g.num_nodes == 6
            assert g.num_edges == 2 * edges
            np.testing.assert_array_equal(g.degree(), np.full(6, degree))
        G1, G2 = to_networkx(g1), to_networkx(g2)
        assert not nx.is_isomorphic(G1, G2), name
        # 1-WL (networkx's hash) cannot tell them apart: the point of the pair.
        assert nx.weisfeiler_lehman_graph_hash(G1) == nx.weisfeiler_lehman_graph_hash(G2), name


def test_wl_pairs_known_invariants():
    c6, two_c3 = wl_pairs()["C6 vs 2xC3"]
    assert nx.is_connected(to_networkx(c6)) and nx.number_connected_components(to_networkx(two_c3)) == 2
    K, prism = wl_pairs()["K3,3 vs prism"]
    assert sum(nx.triangles(to_networkx(K)).values()) == 0
    assert sum(nx.triangles(to_networkx(prism)).values()) // 3 == 2
    assert nx.is_bipartite(to_networkx(K)) and not nx.is_bipartite(to_networkx(prism))


@pytest.mark.parametrize("m, L", [(3, 0), (3, 2), (5, 4)])  # m = 2: the cliques are bridges too
def test_barbell_graph_bridge_ends(m, L):
    G = to_networkx(barbell_graph(m, L))
    left, right = m - 1, m + L
    assert nx.shortest_path_length(G, left, right) == L + 1
    path = nx.shortest_path(G, left, right)
    bridges = {frozenset(e) for e in nx.bridges(G)}
    assert bridges == {frozenset(e) for e in zip(path, path[1:])}  # the path, and nothing else
    assert nx.density(G.subgraph(range(m))) == 1.0
    assert nx.density(G.subgraph(range(m + L, 2 * m + L))) == 1.0


@pytest.mark.parametrize("b, d", [(1, 4), (2, 3), (3, 3), (4, 1)])
def test_tree_is_balanced(b, d):
    g = tree(b, d)
    G = to_networkx(g)
    assert nx.is_tree(G)
    depth = nx.single_source_shortest_path_length(G, 0)
    leaves = [k for k in G if G.degree(k) == 1 and k != 0] if g.num_nodes > 1 else []
    assert len(leaves) == b**d
    assert {depth[k] for k in leaves} == {d}
    assert leaves == list(range(g.num_nodes - b**d, g.num_nodes))


def test_grid_positions_edges_have_unit_length():
    for rows, cols in [(1, 5), (3, 4), (5, 2)]:
        g, pos = grid_graph(rows, cols), grid_positions(rows, cols)
        src, dst = g.edge_index
        np.testing.assert_allclose(np.linalg.norm(pos[src] - pos[dst], axis=1), 1.0)
        assert len(np.unique(pos, axis=0)) == rows * cols
        assert g.num_edges // 2 == rows * (cols - 1) + cols * (rows - 1)


def test_grid_graph_periodic_is_4_regular():
    np.testing.assert_array_equal(grid_graph(3, 5, periodic=True).degree(), np.full(15, 4))


def test_complete_bipartite_graph_sides():
    g = complete_bipartite_graph(3, 5)
    src, dst = g.edge_index
    assert np.all(g.y[src] != g.y[dst])
    assert g.num_edges == 2 * 15


@pytest.mark.parametrize("n, p, seed", [(1, 1.0, 0), (5, 1.0, 0), (20, 0.3, 1), (50, 0.1, 2)])
def test_heterophilous_graph_scales_by_one_minus_two_alpha(n, p, seed):
    g = heterophilous_graph(n, p=p, rng=seed)
    src, dst = g.edge_index
    assert np.all(g.y[src] != g.y[dst])
    np.testing.assert_array_equal(g.x[:, 0], np.where(g.y == 0, 1.0, -1.0))
    deg = np.bincount(dst, minlength=g.num_nodes)
    mean = np.bincount(dst, g.x[src, 0], minlength=g.num_nodes) / np.maximum(deg, 1)
    for alpha in (0.0, 0.25, 0.5, 0.9):
        h = (1 - alpha) * g.x[:, 0] + alpha * mean
        np.testing.assert_allclose(h[deg > 0], (1 - 2 * alpha) * g.x[deg > 0, 0])
    if p == 1.0:
        assert g.num_edges == 2 * n * n


def test_heterophilous_graph_same_seed_same_graph():
    a, b = heterophilous_graph(30, 0.2, rng=5), heterophilous_graph(30, 0.2, rng=5)
    np.testing.assert_array_equal(a.edge_index, b.edge_index)
    assert not np.array_equal(a.edge_index, heterophilous_graph(30, 0.2, rng=6).edge_index)


def test_random_graph_all_pairs_is_complete():
    # Unranking every pair number must give every pair exactly once.
    for n in (2, 3, 7, 40):
        np.testing.assert_array_equal(random_graph(n, num_edges=n * (n - 1) // 2, rng=0).edge_index,
                                      complete_graph(n).edge_index)
        np.testing.assert_array_equal(random_graph(n, p=1.0, rng=0).edge_index, complete_graph(n).edge_index)
    assert random_graph(10, p=0.0, rng=0).num_edges == 0


def test_unrank_pairs_exact_for_large_numbers():
    k = np.array([0, 1, 2, 3, 2**40 - 1, 2**52 + 12345, 10**16 + 7], dtype=np.int64)
    i, j = _unrank_pairs(k)
    assert np.all((0 <= j) & (j < i))
    np.testing.assert_array_equal(i * (i - 1) // 2 + j, k)


def test_random_graph_edge_count():
    for seed in range(5):
        g = random_graph(50, num_edges=120, rng=seed)
        assert g.num_edges == 240
        assert len(np.unique(g.edge_index, axis=1).T) == 240
    counts = [random_graph(200, p=0.05, rng=s).num_edges // 2 for s in range(10)]
    expected, sd = 0.05 * 19900, np.sqrt(19900 * 0.05 * 0.95)
    assert abs(np.mean(counts) - expected) < 4 * sd / np.sqrt(10)


def test_random_graph_pairs_are_uniform():
    # Every pair of 6 nodes is drawn about equally often (chi-square-like bound).
    hits = np.zeros((6, 6))
    for seed in range(600):
        src, dst = random_graph(6, num_edges=3, rng=seed).edge_index
        np.add.at(hits, (src, dst), 1)
    upper = hits[np.triu_indices(6, 1)]  # expected 600 * 3 / 15 = 120 each
    assert np.all(np.abs(upper - 120) < 5 * np.sqrt(120))


@pytest.mark.parametrize("h", [0.0, 0.1, 0.5, 0.8, 1.0])
@pytest.mark.parametrize("classes", [2, 4])
def test_contextual_sbm_edge_homophily_matches_knob(h, classes):
    g = contextual_sbm(6000, classes, avg_degree=10.0, homophily=h, feature_dim=4, rng=42)
    src, dst = g.edge_index
    measured = np.mean(g.y[src] == g.y[dst])
    assert abs(measured - h) < 0.015, (h, measured)
    assert abs(g.num_edges / g.num_nodes - 10.0) < 0.3


def test_contextual_sbm_balanced_labels_and_features():
    g = contextual_sbm(1001, 3, avg_degree=3.0, homophily=0.5, feature_dim=5, mu=2.0, rng=0)
    counts = np.bincount(g.y)
    assert len(counts) == 3 and counts.max() - counts.min() <= 1
    assert g.y.dtype == np.int64 and g.x.shape == (1001, 5)
    means = np.stack([g.x[g.y == c].mean(axis=0) for c in range(3)])
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 2.0, atol=0.35)
    np.testing.assert_allclose(means @ means.T / 4.0, np.eye(3), atol=0.2)  # orthogonal directions
    noise = g.x - means[g.y]
    np.testing.assert_allclose(noise.std(axis=0), 1.0, atol=0.1)


def test_contextual_sbm_two_classes_antipodal_means():
    g = contextual_sbm(4000, 2, avg_degree=2.0, feature_dim=3, mu=1.5, rng=3)
    m0, m1 = g.x[g.y == 0].mean(axis=0), g.x[g.y == 1].mean(axis=0)
    np.testing.assert_allclose(m0, -m1, atol=0.12)
    assert abs(np.linalg.norm(m0) - 1.5) < 0.12
    pure_noise = contextual_sbm(4000, 2, avg_degree=2.0, feature_dim=3, mu=0.0, rng=3)
    assert np.linalg.norm(pure_noise.x[pure_noise.y == 0].mean(axis=0)) < 0.12


def test_contextual_sbm_same_seed_same_graph():
    a = contextual_sbm(300, 3, 4.0, 0.6, feature_dim=3, rng=7)
    b = contextual_sbm(300, 3, 4.0, 0.6, feature_dim=3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.edge_index, b.edge_index)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    c = contextual_sbm(300, 3, 4.0, 0.6, feature_dim=3, rng=8)
    assert not np.array_equal(a.y, c.y)


def test_contextual_sbm_tiny_classes():
    g = contextual_sbm(3, 3, avg_degree=4.0, homophily=1.0, feature_dim=3, rng=0)  # one node per class
    assert g.num_edges == 0
    g = contextual_sbm(2, 2, avg_degree=4.0, homophily=0.0, rng=0)
    assert np.all(g.edge_index == [[0, 1], [1, 0]]) or g.num_edges == 0


@pytest.mark.parametrize("call, error, match", [
    (lambda: cycle_graph(2), ValueError, r"`n` must be >= 3, got 2"),
    (lambda: path_graph(0), ValueError, r"`n` must be >= 1"),
    (lambda: complete_graph(-1), ValueError, r"`n` must be >= 1, got -1"),
    (lambda: star_graph(-2), ValueError, r"`n` must be >= 0"),
    (lambda: star_graph(2.0), TypeError, r"`n` must be an integer"),
    (lambda: grid_graph(0, 3), ValueError, r"`rows` must be >= 1"),
    (lambda: grid_graph(3, 2, periodic=True), ValueError, r"`cols` must be >= 3"),
    (lambda: tree(0, 2), ValueError, r"`branching` must be >= 1"),
    (lambda: tree(2, -1), ValueError, r"`depth` must be >= 0"),
    (lambda: barbell_graph(1, 2), ValueError, r"`clique_size` must be >= 2"),
    (lambda: barbell_graph(3, -1), ValueError, r"`path_length` must be >= 0"),
    (lambda: complete_bipartite_graph(0, 2), ValueError, r"`m` must be >= 1"),
    (lambda: heterophilous_graph(0), ValueError, r"`num_per_class` must be >= 1"),
    (lambda: heterophilous_graph(3, p=1.2), ValueError, r"`p` must be a finite number in \[0, 1\], got 1.2"),
    (lambda: random_graph(5), ValueError, r"exactly one of `p` and `num_edges`"),
    (lambda: random_graph(5, p=0.1, num_edges=2), ValueError, r"exactly one of `p` and `num_edges`"),
    (lambda: random_graph(5, num_edges=11), ValueError, r"`num_edges` must be at most n\(n-1\)/2 = 10"),
    (lambda: random_graph(5, p=-0.1), ValueError, r"`p` must be a finite number in \[0, 1\]"),
    (lambda: random_graph(5, p="x"), TypeError, r"`p` must be a real number"),
    (lambda: random_graph(-1, p=0.1), ValueError, r"`num_nodes` must be >= 0"),
    (lambda: random_graph(5, p=0.1, rng="seed"), TypeError, r"`rng` must be a numpy Generator"),
    (lambda: contextual_sbm(-5), ValueError, r"`num_nodes` must be >= 1"),
    (lambda: contextual_sbm(10, num_classes=1), ValueError, r"`num_classes` must be >= 2"),
    (lambda: contextual_sbm(3, num_classes=4, feature_dim=4), ValueError,
     r"`num_nodes` must be >= `num_classes` \(4\)"),
    (lambda: contextual_sbm(10, homophily=1.5), ValueError,
     r"`homophily` must be a finite number in \[0, 1\], got 1.5"),
    (lambda: contextual_sbm(10, homophily=-0.1), ValueError, r"`homophily` must be a finite number in \[0, 1\]"),
    (lambda: contextual_sbm(10, homophily=None), TypeError, r"`homophily` must be a real number"),
    (lambda: contextual_sbm(10, avg_degree=-1.0), ValueError, r"`avg_degree` must be a finite number >= 0"),
    (lambda: contextual_sbm(10, mu=float("inf")), ValueError, r"`mu` must be a finite number >= 0"),
    (lambda: contextual_sbm(10, feature_dim=0), ValueError, r"`feature_dim` must be >= 1"),
    (lambda: contextual_sbm(10, num_classes=3, feature_dim=2), ValueError,
     r"`feature_dim` must be >= `num_classes` \(3\)"),
])
def test_generators_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
