"""Tests for mplib/graph.py: the container, networkx round trips, self-loops, undirected."""

import networkx as nx
import numpy as np
import pytest

from helpers import random_graph
from mplib.graph import Graph, add_self_loops, from_networkx, remove_self_loops, to_networkx, to_undirected


def test_graph_infers_num_nodes_from_x_and_edges():
    assert Graph([[0], [1]]).num_nodes == 2
    assert Graph([[0], [1]], x=np.zeros((5, 2))).num_nodes == 5
    assert Graph(np.zeros((2, 0), dtype=int)).num_nodes == 0


def test_graph_casts_edge_index_to_int64_and_copies():
    ei = np.array([[0, 1], [1, 0]], dtype=np.int32)
    g = Graph(ei)
    assert g.edge_index.dtype == np.int64
    g.edge_index[0, 0] = 1
    assert ei[0, 0] == 0


def test_graph_degree_counts_incoming_edges():
    g = Graph([[0, 0, 1], [1, 2, 2]], num_nodes=4)
    np.testing.assert_array_equal(g.degree(), [0, 1, 2, 0])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(edge_index=[[0, 1, 2]]), ValueError, r"`edge_index` must have shape \(2, E\)"),
        (dict(edge_index=[[0.0], [1.0]]), TypeError, r"`edge_index` must hold integer node ids"),
        (dict(edge_index=[[0], [-1]]), ValueError, r"`edge_index` holds a negative node id"),
        (dict(edge_index=[[0], [7]], num_nodes=5), ValueError, r"`edge_index` refers to node 7, but the graph has only 5 nodes"),
        (dict(edge_index=[[0], [7]], x=np.zeros((5, 1))), ValueError, r"refers to node 7, but the graph has only 5"),
        (dict(edge_index=[[0], [1]], x=np.zeros((3, 1)), num_nodes=4), ValueError, r"`x` has 3 rows but `num_nodes` is 4"),
        (dict(edge_index=[[0], [1]], x=[[np.nan], [0.0]]), ValueError, r"`x` contains NaN"),
        (dict(edge_index=[[0], [1]], edge_attr=np.ones((2, 1))), ValueError, r"`edge_attr` must have one row per edge \(1\)"),
        (dict(edge_index=[[0], [1]], num_nodes=2.0), TypeError, r"`num_nodes` must be an integer"),
    ],
)
def test_graph_bad_input_names_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        Graph(**kwargs)


def test_from_networkx_node_order_is_list_of_G():
    G = nx.Graph()
    G.add_edges_from([("c", "a"), ("a", "b")])
    g = from_networkx(G)
    names = list(G)  # ['c', 'a', 'b']
    pairs = {(names[j], names[i]) for j, i in g.edge_index.T}
    assert pairs == {("c", "a"), ("a", "c"), ("a", "b"), ("b", "a")}


def test_from_networkx_attributes_follow_edges():
    G = nx.DiGraph()
    G.add_node(0, feat=[1.0, 2.0], label=3)
    G.add_node(1, feat=[3.0, 4.0], label=4)
    G.add_edge(1, 0, w=2.5)
    g = from_networkx(G, node_attr="feat", edge_attr="w", y="label")
    np.testing.assert_array_equal(g.x, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(g.edge_index, [[1], [0]])
    np.testing.assert_array_equal(g.edge_attr, [[2.5]])
    np.testing.assert_array_equal(g.y, [3, 4])


def test_from_networkx_undirected_edge_attr_both_directions():
    G = nx.Graph()
    G.add_edge(0, 1, w=1.0)
    G.add_edge(1, 2, w=2.0)
    g = from_networkx(G, edge_attr="w")
    for (j, i), w in zip(g.edge_index.T, g.edge_attr[:, 0]):
        assert w == G.edges[j, i]["w"]


def test_from_networkx_missing_attribute_raises():
    G = nx.path_graph(2)
    with pytest.raises(KeyError, match=r"no attribute 'feat'"):
        from_networkx(G, node_attr="feat")
    with pytest.raises(TypeError, match=r"`G` must be a networkx graph"):
        from_networkx([[0, 1]])


@pytest.mark.parametrize("seed", range(20))
def test_networkx_round_trip_is_isomorphic(seed):
    rng = np.random.default_rng(seed)
    G = nx.gnm_random_graph(int(rng.integers(1, 15)), int(rng.integers(0, 30)), seed=seed)
    H = to_networkx(from_networkx(G))
    assert nx.utils.graphs_equal(nx.relabel_nodes(G, {n: k for k, n in enumerate(G)}), H)
    D = to_networkx(from_networkx(G.to_directed()), directed=True)
    assert set(D.edges()) == set(G.to_directed().edges())


def test_add_self_loops_appends_one_per_node():
    ei, ea = add_self_loops([[0, 1], [1, 0]], edge_attr=[[2.0], [3.0]], fill_value=0.5, num_nodes=3)
    np.testing.assert_array_equal(ei, [[0, 1, 0, 1, 2], [1, 0, 0, 1, 2]])
    np.testing.assert_array_equal(ea, [[2.0], [3.0], [0.5], [0.5], [0.5]])


def test_remove_then_add_self_loops_gives_exactly_one_loop_each():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(1, 10))
        ei = rng.integers(0, n, (2, 15))
        out, _ = add_self_loops(remove_self_loops(ei)[0], num_nodes=n)
        loops = out[0] == out[1]
        np.testing.assert_array_equal(np.sort(out[0, loops]), np.arange(n))


def test_to_undirected_is_symmetric_sorted_unique():
    rng = np.random.default_rng(2)
    for _ in range(20):
        _, ei = random_graph(rng)
        und = to_undirected(ei)
        pairs = set(map(tuple, und.T))
        assert pairs == set(map(tuple, ei.T)) | set(map(tuple, ei[::-1].T))
        assert len(pairs) == und.shape[1]
        keys = und[0] * 1000 + und[1]
        assert np.all(np.diff(keys) > 0)


def test_to_undirected_bad_input():
    with pytest.raises(ValueError, match=r"`edge_index` refers to node 3, but the graph has only 2"):
        to_undirected([[0], [3]], num_nodes=2)
