"""Tests for mplib.hops: shortest-path virtual edges, K-hop message passing, SPD-WL."""

import warnings

import networkx as nx
import numpy as np
import pytest

from helpers import assert_equivariant, random_graph, relabel
from mplib.generators import cycle_graph, k33, triangular_prism, two_triangles
from mplib.graph import Graph, from_networkx
from mplib.hops import (UNREACHABLE, khop_propagate, shortest_path_edges, spd_graph, spd_wl_colors,
                        spd_wl_test)
from mplib.message_passing import propagate
from mplib.wl import wl_colors, wl_test


def partition(labels):
    labels = np.asarray(labels)
    return {frozenset(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)}


def nx_digraph(edge_index, n):
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(np.asarray(edge_index).T.tolist())
    return G


def nx_pairs(edge_index, n, cutoff):
    """{(u, v): d} for 1 <= d(u, v) <= cutoff, from networkx's BFS."""
    lengths = dict(nx.all_pairs_shortest_path_length(nx_digraph(edge_index, n), cutoff=cutoff))
    return {(u, v): d for u, row in lengths.items() for v, d in row.items() if u != v}


def simple_graph(rng, undirected=True, n=None):
    """A random graph without parallel edges or self-loops, as (x, edge_index)."""
    x, ei = random_graph(rng, num_nodes=n, undirected=undirected)
    return x, (np.unique(ei, axis=1) if ei.size else ei)


# --- shortest_path_edges -------------------------------------------------------

@pytest.mark.parametrize("undirected", [True, False])
def test_shortest_path_edges_matches_networkx(undirected):
    rng = np.random.default_rng(0)
    for _ in range(60):
        _, ei = random_graph(rng, undirected=undirected)
        n = int(rng.integers(ei.max() + 1 if ei.size else 1, 14))  # maybe some isolated nodes
        loops = rng.integers(0, n, (1, 2)).repeat(2, axis=0)  # a self-loop and parallel edges change nothing
        ei = np.concatenate([ei, ei[:, :3], loops], axis=1)
        for cutoff in (1, 2, 3, None):
            pairs, dist = shortest_path_edges(ei, cutoff, num_nodes=n)
            got = dict(zip(map(tuple, pairs.T.tolist()), dist.tolist()))
            assert len(got) == pairs.shape[1]  # no duplicate pairs
            assert got == nx_pairs(ei, n, cutoff)


def test_shortest_path_edges_layout():
    ei, d = shortest_path_edges(cycle_graph(6), 2)
    assert ei.dtype == np.int64 and d.dtype == np.int64 and ei.shape == (2, 24)
    np.testing.assert_array_equal(np.lexsort((ei[1], ei[0])), np.arange(24))  # sorted (src, dst)
    assert np.all(ei[0] != ei[1])
    np.testing.assert_array_equal(np.bincount(d), [0, 12, 12])


def test_shortest_path_edges_graph_or_edge_index():
    g = Graph([[0, 1], [1, 2]], num_nodes=5)
    a, b = shortest_path_edges(g), shortest_path_edges(g.edge_index, num_nodes=5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], [1, 2, 1])  # directed: 0->1, 0->2, 1->2 only
    empty, dist = shortest_path_edges(np.zeros((2, 0), dtype=int), num_nodes=3)
    assert empty.shape == (2, 0) and dist.shape == (0,)


def test_shortest_path_edges_rejects_bad_input():
    with pytest.raises(ValueError, match="`max_distance` must be >= 1, got 0"):
        shortest_path_edges([[0], [1]], 0)
    with pytest.raises(TypeError, match="`max_distance` must be an integer, got float"):
        shortest_path_edges([[0], [1]], 2.0)
    with pytest.raises(ValueError, match=r"`graph` must have shape \(2, E\)"):
        shortest_path_edges([0, 1])
    with pytest.raises(ValueError, match="`graph` refers to node 3, but the graph has only 2 nodes"):
        shortest_path_edges([[0], [3]], num_nodes=2)


# --- khop_propagate -------------------------------------------------------------

def linear_message(rng, f_in, f_out):
    w, v = rng.standard_normal((f_in, f_out)), rng.standard_normal((f_in, f_out))
    return lambda x_i, x_j, d: np.tanh(x_j @ w + x_i @ v)


def test_khop_propagate_one_hop_is_propagate():
    rng = np.random.default_rng(1)
    for _ in range(30):
        x, ei = simple_graph(rng, undirected=bool(rng.integers(2)))
        psi = linear_message(rng, 3, 2)
        for aggregate in ("sum", "mean", "max"):
            np.testing.assert_allclose(khop_propagate(x, ei, [psi], aggregate=aggregate),
                                       propagate(x, ei, psi, aggregate=aggregate), atol=1e-12)
        np.testing.assert_allclose(khop_propagate(x, ei, {1: None}), propagate(x, ei), atol=1e-12)


def test_khop_propagate_matches_loop_over_pairs():
    rng = np.random.default_rng(2)
    for _ in range(20):
        x, ei = random_graph(rng, undirected=bool(rng.integers(2)))
        n = x.shape[0]
        psis = [linear_message(rng, 3, 2) for _ in range(3)]
        dist = dict(nx.all_pairs_shortest_path_length(nx_digraph(ei, n), cutoff=3))
        want_sum, want_cat = np.zeros((n, 2)), np.zeros((n, 6))
        for u in range(n):  # a teaching loop over pairs: the oracle
            for v, d in dist[u].items():
                if d >= 1:
                    m = psis[d - 1](x[v:v + 1], x[u:u + 1], None)[0]
                    want_sum[v] += m
                    want_cat[v, 2 * (d - 1):2 * d] += m
        np.testing.assert_allclose(khop_propagate(x, ei, psis), want_sum, atol=1e-12)
        np.testing.assert_allclose(khop_propagate(x, ei, psis, combine="concat"), want_cat, atol=1e-12)


def test_khop_propagate_dict_skips_missing_hops():
    x = np.arange(6, dtype=float)[:, None]
    out = khop_propagate(x, cycle_graph(6).edge_index, {3: None})  # only the opposite node
    np.testing.assert_array_equal(out[:, 0], [3, 4, 5, 0, 1, 2])


def test_khop_propagate_is_equivariant():
    rng = np.random.default_rng(3)
    for _ in range(10):
        x, ei = random_graph(rng, undirected=bool(rng.integers(2)))
        psis = [linear_message(rng, 3, 4) for _ in range(3)]
        update = lambda h, m: np.concatenate([h, m], axis=1)  # noqa: E731
        assert_equivariant(lambda x_, ei_: khop_propagate(x_, ei_, psis, aggregate="mean", combine="concat",
                                                          update=update), x, ei, rng)
        assert_equivariant(lambda x_, ei_: khop_propagate(x_, ei_, psis, aggregate="max"), x, ei, rng)


def test_khop_propagate_precomputed_distances():
    rng = np.random.default_rng(4)
    x, ei = random_graph(rng, num_nodes=10, num_edges=20, undirected=True)
    psis = [linear_message(rng, 3, 3), None]  # None: the plain message h_u (width 3)
    virtual, dist = shortest_path_edges(ei, 2, num_nodes=10)
    np.testing.assert_allclose(khop_propagate(x, virtual, psis, distance=dist), khop_propagate(x, ei, psis))


def test_khop_propagate_does_not_mutate_input():
    x, ei = np.ones((3, 2)), np.array([[0, 1], [1, 2]])
    khop_propagate(x, ei, [None, None], update=lambda h, m: h + m)
    np.testing.assert_array_equal(x, np.ones((3, 2)))
    np.testing.assert_array_equal(ei, [[0, 1], [1, 2]])


def test_khop_propagate_rejects_bad_input():
    x, ei = np.ones((3, 2)), [[0, 1], [1, 2]]
    with pytest.raises(ValueError, match="`messages` must hold at least one hop"):
        khop_propagate(x, ei, [])
    with pytest.raises(TypeError, match="`messages` must be a list or dict of callables, got function"):
        khop_propagate(x, ei, lambda a, b, c: b)
    with pytest.raises(ValueError, match="`messages` keys must be hop distances >= 1, got 0"):
        khop_propagate(x, ei, {0: None})
    with pytest.raises(TypeError, match="the message for hop 2 must be callable or None, got int"):
        khop_propagate(x, ei, [None, 3])
    with pytest.raises(ValueError, match="`combine` must be 'sum' or 'concat', got 'max'"):
        khop_propagate(x, ei, [None], combine="max")
    with pytest.raises(TypeError, match="`update` must be callable or None, got str"):
        khop_propagate(x, ei, [None], update="relu")
    with pytest.raises(ValueError, match=r"`distance` must have shape \(2,\), one per edge, got \(3,\)"):
        khop_propagate(x, ei, [None], distance=[1, 1, 1])
    with pytest.raises(ValueError, match="with combine='sum' every hop must return the same shape"):
        khop_propagate(x, ei, [None, lambda xi, xj, d: np.ones((len(d), 5))])
    with pytest.raises(ValueError, match="`graph` refers to node 2, but the graph has only 2 nodes"):
        khop_propagate(np.ones((2, 1)), ei, [None])


# --- spd_graph and SPD-WL ----------------------------------------------------------

def test_spd_graph_labels_every_pair_when_unbounded():
    g = spd_graph(two_triangles())
    assert g.num_edges == 30
    same_triangle = (g.edge_index[0] // 3) == (g.edge_index[1] // 3)
    np.testing.assert_array_equal(g.edge_attr, np.where(same_triangle, 1, UNREACHABLE))
    bounded = spd_graph(cycle_graph(6), 2)
    ei, d = shortest_path_edges(cycle_graph(6), 2)
    np.testing.assert_array_equal(bounded.edge_index, ei)
    np.testing.assert_array_equal(bounded.edge_attr, d)


def test_spd_wl_colors_with_one_hop_is_wl():
    rng = np.random.default_rng(5)
    for _ in range(40):
        x, ei = simple_graph(rng, undirected=bool(rng.integers(2)))
        g = Graph(ei, x=np.round(x[:, :1]))
        for iterations in (1, 3, None):
            assert partition(spd_wl_colors(g, 1, iterations)) == partition(wl_colors(g, iterations))


def test_spd_wl_colors_refines_wl():
    rng = np.random.default_rng(6)
    for _ in range(40):
        _, ei = random_graph(rng, undirected=True)
        g = Graph(ei)
        wl, spd = wl_colors(g), spd_wl_colors(g)
        for cls in partition(spd):
            assert len(set(wl[list(cls)].tolist())) == 1


def test_spd_wl_colors_matches_networkx_on_distance_labelled_complete_graph():
    # Oracle: networkx WL with edge labels on the complete graph whose edge {u, v} carries d(u, v)
    rng = np.random.default_rng(7)
    for _ in range(30):
        _, ei = random_graph(rng, num_nodes=int(rng.integers(2, 10)), undirected=True)
        n = int(ei.max()) + 1 if ei.size else 1
        lengths = dict(nx.all_pairs_shortest_path_length(nx_digraph(ei, n)))
        K = nx.complete_graph(n)
        nx.set_edge_attributes(K, {(u, v): lengths[u].get(v, 0) for u, v in K.edges()}, "d")  # 0 = infinity
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            hashes = nx.weisfeiler_lehman_subgraph_hashes(K, edge_attr="d", iterations=3)
        for k in (1, 2, 3):
            theirs = [hashes[v][k - 1] for v in range(n)]
            assert partition(spd_wl_colors(Graph(ei, num_nodes=n), None, k)) == partition(theirs)


def test_spd_wl_colors_relabelling_permutes_the_colours():
    rng = np.random.default_rng(8)
    for _ in range(20):
        x, ei = random_graph(rng, num_features=1)
        perm = rng.permutation(x.shape[0])
        x_p, ei_p, _ = relabel(np.round(x), ei, perm)
        for K in (2, None):
            np.testing.assert_array_equal(spd_wl_colors(Graph(ei_p, x=x_p), K)[perm],
                                          spd_wl_colors(Graph(ei, x=np.round(x)), K))


def shrikhande():
    """Cayley graph of Z4 x Z4 with generators ±(1,0), ±(0,1), ±(1,1): srg(16, 6, 2, 2)."""
    a, b = np.divmod(np.arange(16), 4)
    src, dst = [], []
    for da, db in ((1, 0), (0, 1), (1, 1)):
        src.append(4 * a + b)
        dst.append(4 * ((a + da) % 4) + (b + db) % 4)
    G = nx.Graph(list(zip(np.concatenate(src).tolist(), np.concatenate(dst).tolist())))
    return nx.convert_node_labels_to_integers(G, ordering="sorted")


def wl_equivalent_pairs():
    decalin = nx.cycle_graph(10)
    decalin.add_edge(0, 5)  # two hexagons sharing the edge 0-5
    bicyclopentyl = nx.disjoint_union(nx.cycle_graph(5), nx.cycle_graph(5))
    bicyclopentyl.add_edge(0, 5)  # two pentagons joined by the edge 0-5
    return {
        "C6 vs 2C3": (nx.cycle_graph(6), nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3))),
        "C12 vs 2C6": (nx.cycle_graph(12), nx.disjoint_union(nx.cycle_graph(6), nx.cycle_graph(6))),
        "K3,3 vs prism": (nx.complete_bipartite_graph(3, 3), nx.circular_ladder_graph(3)),
        "decalin vs bicyclopentyl": (decalin, bicyclopentyl),
        "Shrikhande vs 4x4 rook": (shrikhande(),
                                   nx.cartesian_product(nx.complete_graph(4), nx.complete_graph(4))),
    }


# First SPD-WL round that separates each pair (None: never), per max_distance 1, 2, 3, None.
# C_{2k} vs 2 C_k: counts at distance d agree up to d = floor(k/2), so K must exceed that.
# K3,3 and the prism: every node has 3 nodes at distance 1 and 2 at distance 2 in both.
# Shrikhande and rook's graph: both strongly regular (16, 6, 2, 2), distance counts 6 and 9.
SPD_WL_TABLE = {
    "C6 vs 2C3": (None, 1, 1, 1),
    "C12 vs 2C6": (None, None, 1, 1),
    "K3,3 vs prism": (None, None, None, None),
    "decalin vs bicyclopentyl": (None, None, 1, 1),
    "Shrikhande vs 4x4 rook": (None, None, None, None),
}


@pytest.mark.parametrize("name", sorted(SPD_WL_TABLE))
def test_spd_wl_test_on_wl_equivalent_pairs(name):
    G1, G2 = wl_equivalent_pairs()[name]
    assert not nx.is_isomorphic(G1, G2)
    g1, g2 = from_networkx(G1), from_networkx(G2)
    assert not wl_test(g1, g2).distinguished  # 1-WL is blind to all of them
    got = tuple(spd_wl_test(g1, g2, K).iteration for K in (1, 2, 3, None))
    assert got == SPD_WL_TABLE[name]


def test_spd_wl_test_book_pairs():
    assert spd_wl_test(cycle_graph(6), two_triangles()).distinguished
    assert not spd_wl_test(k33(), triangular_prism()).distinguished
    assert spd_wl_test(cycle_graph(6), two_triangles(), max_distance=2).iteration == 1


def test_spd_wl_rejects_bad_input():
    with pytest.raises(TypeError, match="`graph` must be an mplib.Graph, got list"):
        spd_graph([[0], [1]])
    with pytest.raises(TypeError, match="`g2` must be an mplib.Graph, got ndarray"):
        spd_wl_test(cycle_graph(3), np.zeros((2, 0)))
    with pytest.raises(ValueError, match="`max_distance` must be >= 1, got 0"):
        spd_wl_colors(cycle_graph(3), max_distance=0)
    with pytest.raises(ValueError, match="`iterations` must be >= 0, got -1"):
        spd_wl_colors(cycle_graph(3), iterations=-1)
