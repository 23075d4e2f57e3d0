"""Tests for mplib.homophily: the three homophily measures and the (1 - 2 alpha) mixing."""

import networkx as nx
import numpy as np
import pytest

from helpers import assert_equivariant, random_graph, relabel
from mplib.graph import from_networkx
from mplib.homophily import class_homophily, edge_homophily, mix_with_neighbours, node_homophily


def test_homophily_hand_example():
    # triangle 0-1-2 plus pendant 3 at node 2; classes 0, 0, 1, 1
    ei = from_networkx(nx.Graph([(0, 1), (1, 2), (0, 2), (2, 3)])).edge_index
    y = np.array([0, 0, 1, 1])
    assert edge_homophily(ei, y) == pytest.approx(4 / 8)      # 0-1 and 2-3, both ways
    # node 0: {1 same, 2 diff} 1/2; node 1: 1/2; node 2: {0, 1 diff, 3 same} 1/3; node 3: 1
    assert node_homophily(ei, y) == pytest.approx((1 / 2 + 1 / 2 + 1 / 3 + 1) / 4)
    # edges into class 0: 0<-1, 0<-2, 1<-0, 1<-2 -> h_0 = 2/4; into class 1: 2<-0, 2<-1, 2<-3, 3<-2 -> 2/4
    assert class_homophily(ei, y) == pytest.approx(0.0)      # both equal their class share 1/2
    # classes 0, 0, 0, 1: 6 of the 7 edges into class 0 are same-class, the 1 edge into node 3 is not
    assert class_homophily(ei, np.array([0, 0, 0, 1])) == pytest.approx(max(0, 6 / 7 - 3 / 4) + max(0, 0 - 1 / 4))


def _pyg_like(ei, y, num_classes):
    """PyG's documented definitions written out with loops (node: isolated nodes count as 0)."""
    src, dst = ei.tolist()
    n = len(y)
    edge = np.mean([y[j] == y[i] for j, i in zip(src, dst)])
    frac = []
    for i in range(n):
        nbrs = [j for j, t in zip(src, dst) if t == i]
        frac.append(np.mean([y[j] == y[i] for j in nbrs]) if nbrs else 0.0)
    total = 0.0
    for k in range(num_classes):
        into = [(j, i) for j, i in zip(src, dst) if y[i] == k]
        h_k = np.mean([y[j] == k for j, _ in into]) if into else 0.0
        total += max(0.0, h_k - np.sum(y == k) / n)
    return edge, np.mean(frac), total / (num_classes - 1), sum(1 for i in range(n) if i in dst)


def test_homophily_matches_pyg_definitions():
    rng = np.random.default_rng(12)
    for _ in range(40):
        _, ei = random_graph(rng)
        if ei.shape[1] == 0:
            continue
        n = int(ei.max()) + 1 + int(rng.integers(0, 2))
        c = int(rng.integers(2, 5))
        y = rng.integers(0, c, n)
        edge, node_pyg, cls, n_with = _pyg_like(ei, y, c)
        assert edge_homophily(ei, y) == pytest.approx(edge)
        assert node_homophily(ei, y) == pytest.approx(node_pyg * n / n_with)   # ours skips isolated nodes
        assert class_homophily(ei, y, num_classes=c) == pytest.approx(cls)


def test_homophily_extremes():
    G = nx.complete_bipartite_graph(3, 4)
    ei = from_networkx(G).edge_index
    y = np.array([0] * 3 + [1] * 4)
    for f in (edge_homophily, node_homophily, class_homophily):
        assert f(ei, y) == 0.0
    assert edge_homophily(ei, np.zeros(7, int)) == 1.0
    assert node_homophily(ei, np.zeros(7, int)) == 1.0
    # two cliques, one per class: perfectly homophilous in all three senses
    ei2 = from_networkx(nx.disjoint_union(nx.complete_graph(3), nx.complete_graph(4))).edge_index
    for f in (edge_homophily, node_homophily, class_homophily):
        assert f(ei2, y) == pytest.approx(1.0)


def test_homophily_invariant_under_node_and_class_relabelling():
    rng = np.random.default_rng(13)
    for _ in range(20):
        _, ei = random_graph(rng, num_nodes=int(rng.integers(2, 12)))
        if ei.shape[1] == 0:
            continue
        n = int(ei.max()) + 1
        y = rng.integers(0, 3, n)
        perm = rng.permutation(n)
        y_p, ei_p, _ = relabel(y, ei, perm)
        classes = rng.permutation(3)
        for f in (edge_homophily, node_homophily):
            h = f(ei, y)
            assert f(ei_p, y_p) == pytest.approx(h)
            assert f(ei, classes[y]) == pytest.approx(h)
        h = class_homophily(ei, y, num_classes=3)
        assert class_homophily(ei_p, y_p, num_classes=3) == pytest.approx(h)
        assert class_homophily(ei, classes[y], num_classes=3) == pytest.approx(h)


def test_homophily_errors_and_no_mutation():
    ei = np.array([[0, 1], [1, 0]])
    y = np.array([0, 1])
    for f in (edge_homophily, node_homophily, class_homophily):
        with pytest.raises(ValueError, match=r"`edge_index` has no edges: homophily is undefined"):
            f(np.zeros((2, 0), dtype=int), y)
        with pytest.raises(ValueError, match=r"`y` must hold class ids >= 0, got -1"):
            f(ei, np.array([0, -1]))
        with pytest.raises(ValueError, match=r"refers to node 1, but the graph has only 1 nodes"):
            f(ei, np.array([0]))
        with pytest.raises(TypeError, match=r"`y` must hold integers"):
            f(ei, np.array([0.5, 1.0]))
        f(ei, y)
        np.testing.assert_array_equal(ei, [[0, 1], [1, 0]])
        np.testing.assert_array_equal(y, [0, 1])
    with pytest.raises(ValueError, match=r"needs at least 2 classes, got num_classes=1"):
        class_homophily(ei, np.array([0, 0]))
    with pytest.raises(ValueError, match=r"`y` holds class 2, but `num_classes` is 2"):
        class_homophily(ei, np.array([0, 2]), num_classes=2)
    assert class_homophily(ei, np.array([0, 0]), num_classes=2) == 0.0   # h_0 = 1 = share of class 0


# ------------------------------------------------------------------ mixing

def test_mix_with_neighbours_flips_heterophilous_signal():
    rng = np.random.default_rng(14)
    for _ in range(10):
        G = nx.complete_bipartite_graph(int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        g = from_networkx(G)
        side = np.array([G.nodes[v]["bipartite"] for v in G])
        x = np.where(side == 0, 1.0, -1.0)[:, None] * rng.uniform(0.5, 2)
        alpha = float(rng.uniform(0, 1))
        np.testing.assert_allclose(mix_with_neighbours(x, g.edge_index, alpha), (1 - 2 * alpha) * x)


def test_mix_with_neighbours_equivariant_and_edge_cases():
    rng = np.random.default_rng(15)
    for _ in range(5):
        x, ei = random_graph(rng)
        assert_equivariant(lambda x_, ei_: mix_with_neighbours(x_, ei_, 0.3), x, ei, rng)
    x = np.array([[2.0], [4.0]])
    np.testing.assert_allclose(mix_with_neighbours(x, np.zeros((2, 0), int), 0.25), 0.75 * x)   # no neighbours
    np.testing.assert_array_equal(mix_with_neighbours(x, [[0, 1], [1, 0]], 0), x)
    np.testing.assert_array_equal(mix_with_neighbours(x, [[0, 1], [1, 0]], 1), x[::-1])
    np.testing.assert_array_equal(x, [[2.0], [4.0]])
    with pytest.raises(ValueError, match=r"`alpha` must lie in \[0, 1\], got -0.1"):
        mix_with_neighbours(x, [[0], [1]], -0.1)
    with pytest.raises(TypeError, match=r"`alpha` must be a real number, got list"):
        mix_with_neighbours(x, [[0], [1]], [0.5])
    with pytest.raises(ValueError, match=r"`x` must have shape \(N, F\), got shape \(2,\)"):
        mix_with_neighbours(np.ones(2), [[0], [1]], 0.5)
