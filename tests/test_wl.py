"""Tests for mplib.wl: 1-WL colour refinement, checked against networkx's WL hashes."""

import warnings

import networkx as nx
import numpy as np
import pytest

import mplib.wl as wl_module
from helpers import random_graph, relabel
from mplib.generators import wl_pairs
from mplib.graph import Graph, from_networkx
from mplib.wl import WLResult, wl_colors, wl_history, wl_test


def nx_node_hashes(G, iterations, node_attr=None, edge_attr=None):
    """networkx's per-node WL hashes after ``iterations`` rounds, as an array over list(G)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "hashes changed in v3.5" notice
        h = nx.weisfeiler_lehman_subgraph_hashes(G, iterations=iterations, node_attr=node_attr,
                                                 edge_attr=edge_attr)
    return np.array([h[v][iterations - 1] for v in G])


def nx_graph_hash(G, iterations, node_attr=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return nx.weisfeiler_lehman_graph_hash(G, iterations=iterations, node_attr=node_attr)


def partition(labels):
    """The set of classes (as frozensets of node ids) of a label array."""
    labels = np.asarray(labels)
    return {frozenset(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)}


def random_nx_graph(rng, labels=False, n=None):
    """A random undirected networkx graph on nodes 0..n-1, optionally with 'label' in 0..2."""
    n = int(rng.integers(1, 13)) if n is None else n
    _, ei = random_graph(rng, num_nodes=n, undirected=True)
    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(ei.T.tolist())
    if labels:  # single digits, so networkx's string concatenation is unambiguous
        nx.set_node_attributes(G, {v: int(rng.integers(0, 3)) for v in G}, "label")
    return G


def as_graph(G, labels=False):
    return from_networkx(G, node_attr="label" if labels else None)


# --- agreement with networkx -------------------------------------------------

@pytest.mark.parametrize("labels", [False, True])
def test_wl_colors_matches_networkx_partition(labels):
    rng = np.random.default_rng(0)
    for _ in range(60):
        G = random_nx_graph(rng, labels)
        g = as_graph(G, labels)
        history = wl_history(g, iterations=4)
        assert len(history) == 5
        for k in range(1, 5):
            theirs = nx_node_hashes(G, k, node_attr="label" if labels else None)
            assert partition(history[k]) == partition(theirs), (k, list(G.edges()))
            np.testing.assert_array_equal(wl_colors(g, k), history[k])


def test_wl_colors_initial_partition_from_rows_of_x():
    x = np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0], [-0.0, 0.0], [1.0, 3.0]])
    c0 = wl_history(Graph(np.zeros((2, 0), dtype=int), x=x), iterations=0)[0]
    assert partition(c0) == {frozenset({0, 2}), frozenset({1, 3}), frozenset({4})}
    np.testing.assert_array_equal(c0, [1, 0, 1, 0, 2])  # ranks of the rows, lexicographic


def test_wl_colors_matches_networkx_with_edge_colours():
    rng = np.random.default_rng(1)
    for _ in range(40):
        G = random_nx_graph(rng)
        nx.set_edge_attributes(G, {e: int(rng.integers(0, 3)) for e in G.edges()}, "w")
        g = from_networkx(G, edge_attr="w")
        for k in (1, 2, 3):
            theirs = nx_node_hashes(G, k, edge_attr="w")
            assert partition(wl_colors(g, k, use_edge_attr=True)) == partition(theirs)


@pytest.mark.parametrize("labels", [False, True])
def test_wl_test_distinguishes_iff_networkx_hashes_differ(labels):
    rng = np.random.default_rng(2)
    outcomes = set()
    for trial in range(80):
        if trial % 2:  # pairs of random regular graphs are often WL-equivalent
            n = 2 * int(rng.integers(3, 7))
            G1, G2 = (nx.random_regular_graph(3, n, seed=int(rng.integers(1 << 30))) for _ in range(2))
            if labels:
                for G in (G1, G2):
                    nx.set_node_attributes(G, {v: v % 2 for v in G}, "label")
        else:
            n = int(rng.integers(2, 9))
            G1, G2 = random_nx_graph(rng, labels, n), random_nx_graph(rng, labels, n)
        # networkx's no-attribute hash with iterations=1 ignores the degrees, so start at 2
        for k in (2, 3, 4):
            attr = "label" if labels else None
            differ = nx_graph_hash(G1, k, attr) != nx_graph_hash(G2, k, attr)
            result = wl_test(as_graph(G1, labels), as_graph(G2, labels), iterations=k)
            assert result.distinguished == differ
            outcomes.add(differ)
    assert outcomes == {True, False}  # both outcomes were exercised


# --- classic facts -----------------------------------------------------------

def test_wl_test_cycle6_vs_two_triangles_not_distinguished():
    c6 = from_networkx(nx.cycle_graph(6))
    two_c3 = from_networkx(nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3)))
    for iterations in (None, 1, 5):
        result = wl_test(c6, two_c3, iterations=iterations)
        assert not result.distinguished and result.iteration is None
    assert wl_test(c6, two_c3).rounds == 0  # 2-regular: the uniform colouring is already stable


def test_wl_test_k33_vs_prism_not_distinguished():
    k33, prism = nx.complete_bipartite_graph(3, 3), nx.circular_ladder_graph(3)
    assert not nx.is_isomorphic(k33, prism)
    result = wl_test(from_networkx(k33), from_networkx(prism))
    assert result == WLResult(False, None, 0, result.history1, result.history2)


@pytest.mark.parametrize("name", sorted(wl_pairs()))
def test_wl_test_book_pairs_not_distinguished(name):
    g1, g2 = wl_pairs()[name]
    result = wl_test(g1, g2)
    assert not result.distinguished and result.iteration is None
    assert all(len(set(c.tolist())) == 1 for c in result.history1 + result.history2)  # one colour


def test_wl_test_path_vs_star_distinguished_at_round_1():
    path, star = from_networkx(nx.path_graph(4)), from_networkx(nx.star_graph(3))
    result = wl_test(path, star)
    assert result.distinguished and result.iteration == 1
    # shared vocabulary: the two leaves of the path and the three of the star match
    assert set(result.history1[1][[0, 3]]) == set(result.history2[1][1:])


def test_wl_test_counts_decide_at_round_0_or_1():
    triangle = from_networkx(nx.cycle_graph(3))
    assert wl_test(triangle, from_networkx(nx.cycle_graph(4))).iteration == 0  # 3 vs 4 nodes
    assert wl_test(triangle, from_networkx(nx.path_graph(3))).iteration == 1  # 3 vs 2 edges
    assert wl_test(Graph(np.zeros((2, 0), dtype=int), num_nodes=0), triangle).iteration == 0


def test_wl_test_initial_features_decide_at_round_0():
    ei = [[0, 1], [1, 0]]
    result = wl_test(Graph(ei, x=[[0.0], [1.0]]), Graph(ei, x=[[1.0], [1.0]]))
    assert result.distinguished and result.iteration == 0


def test_wl_test_is_symmetric():
    rng = np.random.default_rng(3)
    for _ in range(30):
        g1, g2 = as_graph(random_nx_graph(rng, n=6)), as_graph(random_nx_graph(rng, n=6))
        a, b = wl_test(g1, g2), wl_test(g2, g1)
        assert (a.distinguished, a.iteration, a.rounds) == (b.distinguished, b.iteration, b.rounds)


def test_wl_colors_in_neighbours_of_directed_graph():
    # 0 -> 1 -> 2: 0 receives nothing, 1 hears from 0, 2 hears from 1
    assert partition(wl_colors(Graph([[0, 1], [1, 2]]))) == {frozenset({0}), frozenset({1}), frozenset({2})}
    # 1 <- 0 -> 2: both leaves hear from the same kind of node
    assert partition(wl_colors(Graph([[0, 0], [1, 2]]))) == {frozenset({0}), frozenset({1, 2})}


def test_wl_colors_counts_parallel_edges():
    colors = wl_colors(Graph([[0, 0, 2], [1, 1, 3]], num_nodes=4), iterations=1)
    assert colors[1] != colors[3] and colors[0] == colors[2]


# --- symmetry and stability --------------------------------------------------

def test_wl_colors_relabelling_permutes_the_colours():
    rng = np.random.default_rng(4)
    for _ in range(30):
        x, ei = random_graph(rng, undirected=bool(rng.integers(2)))
        x = rng.integers(0, 2, (x.shape[0], 1)).astype(float)
        perm = rng.permutation(x.shape[0])
        x_p, ei_p, _ = relabel(x, ei, perm)
        for iterations in (None, 2):
            before = wl_history(Graph(ei, x=x), iterations)
            after = wl_history(Graph(ei_p, x=x_p), iterations)
            assert len(before) == len(after)
            for c, c_p in zip(before, after):
                np.testing.assert_array_equal(c_p[perm], c)  # canonical ids, not only the partition


def test_wl_history_refines_until_stable():
    rng = np.random.default_rng(5)
    for _ in range(40):
        x, ei = random_graph(rng, num_features=1)
        g = Graph(ei, x=np.round(x))
        history = wl_history(g)
        sizes = [int(c.max()) + 1 if c.size else 0 for c in history]
        assert sizes == sorted(set(sizes))  # every kept round split some class
        for old, new in zip(history, history[1:]):
            assert np.all(np.diff(old[np.argsort(new, kind="stable")]) >= 0)  # old = monotone f(new)
        more = wl_colors(g, len(history))  # one more round changes nothing
        assert partition(more) == partition(history[-1])


def test_wl_history_runs_exactly_the_rounds_asked():
    c6 = from_networkx(nx.cycle_graph(6))
    history = wl_history(c6, iterations=3)
    assert len(history) == 4 and all(np.array_equal(c, np.zeros(6)) for c in history)
    assert len(wl_history(c6)) == 1


def test_wl_colors_exact_under_hash_collisions(monkeypatch):
    rng = np.random.default_rng(6)
    graphs = [Graph(random_graph(rng, undirected=True)[1], num_nodes=12) for _ in range(20)]
    expected = [wl_history(g, iterations=3) for g in graphs]
    monkeypatch.setattr(wl_module, "_mix", lambda z: z * np.uint64(0))  # every signature collides
    for g, want in zip(graphs, expected):
        for c, c_want in zip(wl_history(g, iterations=3), want):
            assert partition(c) == partition(c_want)


def test_wl_colors_empty_graph():
    empty = Graph(np.zeros((2, 0), dtype=int), num_nodes=0)
    assert wl_colors(empty).shape == (0,) and wl_colors(empty).dtype == np.int64
    assert not wl_test(empty, empty).distinguished


def test_wl_colors_does_not_mutate_input():
    g = Graph([[0, 1, 2], [1, 2, 0]], x=[[1.0], [2.0], [1.0]])
    ei, x = g.edge_index.copy(), g.x.copy()
    wl_colors(g)
    np.testing.assert_array_equal(g.edge_index, ei)
    np.testing.assert_array_equal(g.x, x)


# --- errors --------------------------------------------------------------------

def test_wl_colors_rejects_bad_input():
    g = Graph([[0], [1]])
    with pytest.raises(TypeError, match="`graph` must be an mplib.Graph, got ndarray"):
        wl_colors(np.array([[0], [1]]))
    with pytest.raises(ValueError, match="`iterations` must be >= 0, got -1"):
        wl_colors(g, iterations=-1)
    with pytest.raises(TypeError, match="`iterations` must be an integer, got float"):
        wl_history(g, iterations=2.0)
    with pytest.raises(ValueError, match="`use_edge_attr=True` but `graph` has no edge_attr"):
        wl_colors(g, use_edge_attr=True)


def test_wl_test_rejects_bad_input():
    g, gx = Graph([[0], [1]]), Graph([[0], [1]], x=[[1.0], [2.0]])
    with pytest.raises(TypeError, match="`g2` must be an mplib.Graph, got list"):
        wl_test(g, [[0], [1]])
    with pytest.raises(ValueError, match="`g1` and `g2` must both have node features `x` or both have none"):
        wl_test(g, gx)
    with pytest.raises(ValueError, match=r"`g1.x` has 1 columns but `g2.x` has 2"):
        wl_test(gx, Graph([[0], [1]], x=np.ones((2, 2))))
    with pytest.raises(ValueError, match="`use_edge_attr=True` but `g1` has no edge_attr"):
        wl_test(g, g, use_edge_attr=True)
    with pytest.raises(ValueError, match="`iterations` must be >= 0"):
        wl_test(g, g, iterations=-2)
