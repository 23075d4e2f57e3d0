"""mplib.expressivity: properties and independent references (networkx's WL hash, isomorphism,
cycle enumeration, shortest paths, quotient graphs; numpy softmax)."""

import networkx as nx
import numpy as np
import pytest

from mplib.autograd import numerical_grad, value_and_grad
from mplib.expressivity import (cluster_pool, count_cycles, peripheral_features, readout, refinement_invariants,
                                shortest_path_matrix)
from mplib.generators import cycle_graph, k33, random_graph, triangular_prism, two_triangles
from mplib.graph import Graph, from_networkx, to_networkx


def relabel(g, seed):
    """The graph with node v renamed new[v], and new."""
    new = np.random.default_rng(seed).permutation(g.num_nodes)
    return Graph(new[g.edge_index], num_nodes=g.num_nodes), new


def atlas(max_nodes):
    return [G for G in nx.graph_atlas_g() if 0 < len(G) <= max_nodes]


def partition(keys):
    """The set of classes (frozensets of positions) that equal keys form."""
    classes = {}
    for i, key in enumerate(keys):
        classes.setdefault(key, set()).add(i)
    return {frozenset(c) for c in classes.values()}


def nx_marked_key(G):
    """Node-marked refinement by networkx's WL hash: the multiset of the marked copies' hashes."""
    hashes = []
    for v in G:
        H = G.copy()
        nx.set_node_attributes(H, {u: str(int(u == v)) for u in H}, "mark")
        hashes.append(nx.weisfeiler_lehman_graph_hash(H, node_attr="mark", iterations=len(G)))
    return tuple(sorted(hashes))


# -- shortest paths, peripheral features ---------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_shortest_path_matrix_matches_networkx(seed):
    g = random_graph(10, p=0.2, rng=seed)
    G = to_networkx(g)
    d = shortest_path_matrix(g)
    lengths = dict(nx.all_pairs_shortest_path_length(G))
    for u in range(10):
        for v in range(10):
            assert d[v, u] == lengths[u].get(v, -1)


@pytest.mark.parametrize("seed", range(4))
def test_peripheral_features_match_networkx_subgraphs(seed):
    g = random_graph(11, p=0.3, rng=seed)
    G = to_networkx(g)
    feats = peripheral_features(g, hops=3)
    for v in G:
        dist = nx.single_source_shortest_path_length(G, v)
        for k in (1, 2, 3):
            ring = [u for u, d in dist.items() if d == k]
            assert feats[v, 2 * k - 2] == len(ring)
            assert feats[v, 2 * k - 1] == G.subgraph(ring).number_of_edges()


def test_peripheral_features_separate_k33_from_the_prism_and_check_hops():
    assert set(map(tuple, peripheral_features(k33()))) == {(3, 0, 2, 0)}
    assert set(map(tuple, peripheral_features(triangular_prism()))) == {(3, 1, 2, 1)}
    with pytest.raises(ValueError, match="`hops`"):
        peripheral_features(k33(), hops=0)


# -- refinement invariants -----------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The hashes produced:UserWarning")  # only equality of hashes is used
def test_wl_invariants_partition_the_atlas_as_networkx_wl_hash_does():
    graphs = atlas(6)
    ours = refinement_invariants([from_networkx(G) for G in graphs], "wl")
    theirs = [nx.weisfeiler_lehman_graph_hash(G, iterations=len(G)) for G in graphs]
    assert partition(ours) == partition(theirs)
    assert len(partition(ours)) < len(graphs)           # 1-WL does confuse some pairs


def test_marked_invariants_partition_the_atlas_as_networkx_marking_does():
    graphs = atlas(6)
    ours = refinement_invariants([from_networkx(G) for G in graphs], "marked")
    theirs = [nx_marked_key(G) for G in graphs]
    assert partition(ours) == partition(theirs)
    # atlas graphs are pairwise non-isomorphic, and marking tells every one apart
    assert len(set(ours)) == len(graphs)


@pytest.mark.parametrize("method", ["wl", "marked", "peripheral"])
@pytest.mark.parametrize("seed", range(3))
def test_invariants_do_not_depend_on_the_labelling(method, seed):
    g = random_graph(9, p=0.3, rng=seed)
    moved, _ = relabel(g, seed + 10)
    a, b = refinement_invariants([g, moved], method)
    assert a == b


@pytest.mark.parametrize("method", ["marked", "peripheral"])
def test_stronger_schemes_separate_the_books_wl_pairs(method):
    for g1, g2 in ([k33(), triangular_prism()], [cycle_graph(6), two_triangles()]):
        assert refinement_invariants([g1, g2], "wl")[0] == refinement_invariants([g1, g2], "wl")[1]
        a, b = refinement_invariants([g1, g2], method)
        assert a != b and not nx.is_isomorphic(to_networkx(g1), to_networkx(g2))


def test_refinement_invariants_errors():
    with pytest.raises(ValueError, match="`method` must be one of"):
        refinement_invariants([k33()], "3-wl")
    with pytest.raises(TypeError, match=r"`graphs\[1\]` must be an mplib.Graph"):
        refinement_invariants([k33(), nx.Graph()])


# -- cycles --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_count_cycles_matches_networkx_enumeration(seed):
    g = random_graph(9, p=0.45, rng=seed)
    G = to_networkx(g)
    for length in (3, 4):
        expected = sum(1 for c in nx.simple_cycles(G, length_bound=length) if len(c) == length)
        assert count_cycles(g, length) == expected
    assert count_cycles(g, 3) == sum(nx.triangles(G).values()) // 3


def test_count_cycles_rejects_other_lengths():
    with pytest.raises(ValueError, match="`length` must be 3 or 4"):
        count_cycles(k33(), 5)


# -- readouts and pooling ------------------------------------------------------------------


def test_readouts_agree_with_numpy_per_graph():
    rng = np.random.default_rng(0)
    x, batch = rng.normal(size=(7, 3)), np.array([0, 0, 1, 1, 1, 2, 2])
    for reduce, fn in (("sum", np.sum), ("mean", np.mean), ("max", np.max)):
        expected = np.stack([fn(x[batch == b], axis=0) for b in range(3)])
        assert np.allclose(readout(x, batch, reduce), expected)
    att = rng.normal(size=3)
    out = readout(x, batch, "attention", att=att)
    for b in range(3):
        s = x[batch == b] @ att
        w = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
        assert np.allclose(out[b], w @ x[batch == b])
    assert np.allclose(readout(x, batch, "attention", att=np.zeros(3)), readout(x, batch, "mean"))


def test_readout_confusions():
    a, b = np.array([[1.0], [2.0]]), np.array([[1.0], [1.0], [2.0], [2.0]])
    assert readout(a, reduce="sum") != readout(b, reduce="sum")
    for reduce in ("mean", "max", "attention"):       # a multiset and two copies of it
        att = np.array([0.3]) if reduce == "attention" else None
        assert np.allclose(readout(a, reduce=reduce, att=att), readout(b, reduce=reduce, att=att))


def test_attention_readout_gradient_and_errors():
    x = np.random.default_rng(1).normal(size=(5, 2))

    def loss(p):
        return readout(x, np.array([0, 0, 1, 1, 1]), "attention", att=p["a"]).sum()

    params = {"a": np.array([0.4, -0.2])}
    assert np.allclose(value_and_grad(loss, params)[1]["a"], numerical_grad(loss, params)["a"], atol=1e-6)
    with pytest.raises(ValueError, match="needs the score vector"):
        readout(x, reduce="attention")
    with pytest.raises(ValueError, match="`att` must have shape"):
        readout(x, reduce="attention", att=np.ones(3))
    with pytest.raises(ValueError, match="`reduce`"):
        readout(x, reduce="median")


def test_cluster_pool_matches_networkx_quotient_graph():
    G = nx.barbell_graph(4, 0)
    g = from_networkx(G)
    blocks = [set(range(4)), set(range(4, 8))]
    assign = np.zeros((8, 2))
    for c, block in enumerate(blocks):
        assign[list(block), c] = 1
    x = np.random.default_rng(0).normal(size=(8, 3))
    xp, ap = cluster_pool(x, g.edge_index, assign)
    assert np.allclose(xp, [x[list(b)].sum(axis=0) for b in blocks])
    Q = nx.quotient_graph(G, blocks, relabel=True)
    assert ap[0, 1] == Q.edges[0, 1]["weight"] == 1
    assert np.diag(ap).tolist() == [2 * Q.nodes[c]["nedges"] for c in range(2)]
    assert ap.sum() == g.num_edges                        # every edge lands somewhere once
    with pytest.raises(ValueError, match="`assign` must have shape"):
        cluster_pool(x, g.edge_index, assign[:5])
