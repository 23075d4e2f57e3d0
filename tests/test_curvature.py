"""Tests for mplib.curvature: brute-force oracles, the papers' published values, symmetry."""

from fractions import Fraction
from math import lcm

import networkx as nx
import numpy as np
import pytest

from helpers import random_graph, relabel
from mplib.curvature import balanced_forman_curvature, ollivier_ricci_curvature
from mplib.graph import Graph, from_networkx


# ---------------------------------------------------------------- oracles

def bf_oracle(edge_index, n):
    """Balanced Forman curvature straight from Definition 1 of Topping et al. (2022), with sets."""
    S = {v: set() for v in range(n)}
    for j, i in edge_index.T.tolist():
        S[i].add(j)
    out = []
    for i, j in edge_index.T.tolist():
        di, dj = len(S[i]), len(S[j])
        if min(di, dj) == 1:
            out.append(0.0)
            continue
        triangles = S[i] & S[j]
        B_i, B_j = S[i] | {i}, S[j] | {j}
        # c_k: 4-cycles i - k - w - j - i without diagonals, per k
        c_i = {k: len((S[k] & S[j]) - B_i) for k in S[i] - B_j}
        c_j = {k: len((S[k] & S[i]) - B_j) for k in S[j] - B_i}
        sq_i = [k for k, c in c_i.items() if c > 0]
        sq_j = [k for k, c in c_j.items() if c > 0]
        value = 2 / di + 2 / dj - 2 + 2 * len(triangles) / max(di, dj) + len(triangles) / min(di, dj)
        if sq_i or sq_j:
            gamma = max([c_i[k] for k in sq_i] + [c_j[k] for k in sq_j])
            value += (len(sq_i) + len(sq_j)) / (gamma * max(di, dj))
        out.append(value)
    return np.array(out)


def orc_oracle(G, i, j, alpha=Fraction(0)):
    """Ollivier-Ricci curvature of edge i~j by networkx min-cost flow on the full neighbourhoods.

    Masses are exact fractions, scaled to integers; costs are networkx shortest paths in the
    whole graph. No mass is cancelled beforehand (the implementation does cancel it).
    """
    def measure(v):
        m = {v: Fraction(alpha)}
        for k in G[v]:
            m[k] = m.get(k, 0) + (1 - Fraction(alpha)) / G.degree(v)
        return {k: p for k, p in m.items() if p > 0}

    m_i, m_j = measure(i), measure(j)
    scale = lcm(*[p.denominator for p in list(m_i.values()) + list(m_j.values())])
    flow = nx.DiGraph()
    for k, p in m_i.items():
        flow.add_node(("s", k), demand=-int(p * scale))
    for k, p in m_j.items():
        flow.add_node(("t", k), demand=int(p * scale))
    for u in m_i:
        for v in m_j:
            flow.add_edge(("s", u), ("t", v), weight=nx.shortest_path_length(G, u, v))
    return 1 - nx.min_cost_flow_cost(flow) / scale


def random_connected(rng, n_low=4, n_high=14):
    while True:
        n = int(rng.integers(n_low, n_high))
        G = nx.gnp_random_graph(n, float(rng.uniform(0.2, 0.6)), seed=int(rng.integers(1 << 30)))
        if nx.is_connected(G):
            return G


# ---------------------------------------------------------- balanced Forman

def test_balanced_forman_curvature_matches_definition_on_random_graphs():
    rng = np.random.default_rng(0)
    for _ in range(40):
        n = int(rng.integers(2, 16))
        _, ei = random_graph(rng, num_nodes=n, undirected=True)
        np.testing.assert_allclose(balanced_forman_curvature(ei, num_nodes=n), bf_oracle(ei, n), atol=1e-12)


def test_balanced_forman_curvature_matches_definition_on_structured_graphs():
    for G in [nx.petersen_graph(), nx.hypercube_graph(3), nx.karate_club_graph(),
              nx.complete_bipartite_graph(3, 4), nx.wheel_graph(7), nx.barbell_graph(5, 3)]:
        g = from_networkx(G)
        np.testing.assert_allclose(balanced_forman_curvature(g), bf_oracle(g.edge_index, g.num_nodes),
                                   atol=1e-12, err_msg=str(G))


@pytest.mark.parametrize("n", [3, 4, 5, 8])
def test_balanced_forman_curvature_complete_graph(n):
    # Topping et al. 2022, Table 1: K_n has Ric = n / (n - 1)
    np.testing.assert_allclose(balanced_forman_curvature(from_networkx(nx.complete_graph(n))), n / (n - 1))


@pytest.mark.parametrize("n, expected", [(3, 1.5), (4, 1.0), (5, 0.0), (6, 0.0), (11, 0.0)])
def test_balanced_forman_curvature_cycles(n, expected):
    # Topping et al. 2022, Table 1: C_3 = 3/2, C_4 = 1, C_n (n >= 5) = 0
    np.testing.assert_allclose(balanced_forman_curvature(from_networkx(nx.cycle_graph(n))), expected, atol=1e-12)


def test_balanced_forman_curvature_grid_interior_is_flat():
    # Topping et al. 2022, Table 1: grid = 0 (edges between two degree-4 nodes)
    g = from_networkx(nx.grid_2d_graph(6, 5))
    deg = g.degree()
    src, dst = g.edge_index
    interior = (deg[src] == 4) & (deg[dst] == 4)
    assert interior.sum() > 10
    np.testing.assert_allclose(balanced_forman_curvature(g)[interior], 0.0, atol=1e-12)


@pytest.mark.parametrize("r", [2, 3, 4])
def test_balanced_forman_curvature_regular_tree(r):
    # Topping et al. 2022, Table 1: the (r+1)-regular tree has Ric = 4/(r+1) - 2 (< 0 for r >= 2)
    g = from_networkx(nx.balanced_tree(r, 4))
    deg = g.degree()
    src, dst = g.edge_index
    inner = (deg[src] == r + 1) & (deg[dst] == r + 1)
    ric = balanced_forman_curvature(g)
    np.testing.assert_allclose(ric[inner], 4 / (r + 1) - 2, atol=1e-12)
    leaf = (deg[src] == 1) | (deg[dst] == 1)
    np.testing.assert_array_equal(ric[leaf], 0.0)   # Definition 1: 0 when min degree is 1


@pytest.mark.parametrize("m", [3, 5, 8])
def test_balanced_forman_curvature_barbell_bridge_is_most_negative(m):
    G = nx.barbell_graph(m, 3)                      # cliques of m nodes, path of 3 between them
    g = from_networkx(G)
    ric = balanced_forman_curvature(g)
    src, dst = g.edge_index
    bridge = ((src == m - 1) & (dst == m)) | ((src == m) & (dst == m - 1))
    np.testing.assert_allclose(ric[bridge], 2 / m - 1)   # degrees m and 2, no triangle or 4-cycle
    assert ric[bridge].max() < 0
    assert ric[bridge].max() == ric.min()


def test_balanced_forman_curvature_bounds_and_symmetry():
    rng = np.random.default_rng(1)
    for _ in range(30):
        g = from_networkx(random_connected(rng))
        ric = balanced_forman_curvature(g)
        assert ric.shape == (g.num_edges,) and ric.dtype == np.float64
        assert np.all(ric > -2)
        src, dst = g.edge_index
        lookup = {(s, d): v for s, d, v in zip(src.tolist(), dst.tolist(), ric)}
        for (s, d), v in lookup.items():
            assert lookup[(d, s)] == pytest.approx(v)


@pytest.mark.parametrize("f", [balanced_forman_curvature, ollivier_ricci_curvature])
def test_curvature_follows_edges_under_relabelling(f):
    rng = np.random.default_rng(2)
    for _ in range(3):
        g = from_networkx(random_connected(rng))
        out = f(g)
        for _ in range(2):
            perm = rng.permutation(g.num_nodes)
            _, ei_p, order = relabel(np.zeros((g.num_nodes, 1)), g.edge_index, perm)
            np.testing.assert_allclose(f(ei_p, num_nodes=g.num_nodes), out[order], atol=1e-9)


@pytest.mark.parametrize("f", [balanced_forman_curvature, ollivier_ricci_curvature])
def test_curvature_accepts_edge_index_or_graph_and_refuses_networkx(f):
    G = nx.barbell_graph(4, 2)
    g = from_networkx(G)
    expected = f(g)
    np.testing.assert_array_equal(f(g.edge_index), expected)
    np.testing.assert_array_equal(f(g.edge_index.tolist(), num_nodes=g.num_nodes), expected)
    with pytest.raises(TypeError, match=r"`graph` is a networkx graph; convert it first with mplib.from_networkx"):
        f(G)


@pytest.mark.parametrize("f", [balanced_forman_curvature, ollivier_ricci_curvature])
def test_curvature_does_not_mutate_and_handles_no_edges(f):
    ei = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    before = ei.copy()
    f(ei)
    np.testing.assert_array_equal(ei, before)
    assert f(Graph(np.zeros((2, 0), dtype=np.int64), num_nodes=3)).shape == (0,)


@pytest.mark.parametrize("f", [balanced_forman_curvature, ollivier_ricci_curvature])
def test_curvature_errors(f):
    with pytest.raises(ValueError, match=r"edge 0 -> 1 has no reverse"):
        f(np.array([[0, 1], [1, 2]]))
    with pytest.raises(ValueError, match=r"self-loop at node 1"):
        f(np.array([[0, 1, 1], [1, 0, 1]]))
    with pytest.raises(ValueError, match=r"edge 0 -> 1 more than once"):
        f(np.array([[0, 0, 1], [1, 1, 0]]))
    with pytest.raises(ValueError, match=r"`graph` must have shape \(2, E\), got shape \(2,\)"):
        f(np.array([0, 1]))
    with pytest.raises(TypeError, match=r"`graph` must be an edge_index of shape \(2, E\) or an mplib.Graph"):
        f(None)
    with pytest.raises(ValueError, match=r"`num_nodes` is 5 but `graph` has 3 nodes"):
        f(from_networkx(nx.path_graph(3)), num_nodes=5)
    with pytest.raises(ValueError, match=r"`graph` refers to node 3, but the graph has only 3 nodes"):
        f(np.array([[0, 3], [3, 0]]), num_nodes=3)


# ---------------------------------------------------------- Ollivier-Ricci

@pytest.mark.parametrize("alpha", [Fraction(0), Fraction(1, 2), Fraction(1, 3)])
def test_ollivier_ricci_curvature_matches_min_cost_flow(alpha):
    rng = np.random.default_rng(3)
    for _ in range(8):
        G = random_connected(rng)
        g = from_networkx(G)
        kappa = ollivier_ricci_curvature(g, alpha=float(alpha))
        for e, (i, j) in enumerate(g.edge_index.T.tolist()):
            assert kappa[e] == pytest.approx(float(orc_oracle(G, i, j, alpha)), abs=1e-9)


@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_ollivier_ricci_curvature_complete_graph(n):
    # alpha = 0: m_i and m_j share n - 2 nodes; 1/(n-1) moves from j to i, so kappa = (n-2)/(n-1)
    np.testing.assert_allclose(ollivier_ricci_curvature(from_networkx(nx.complete_graph(n))), (n - 2) / (n - 1))


@pytest.mark.parametrize("n", [4, 5, 6, 9])
def test_ollivier_ricci_curvature_cycles_are_flat(n):
    np.testing.assert_allclose(ollivier_ricci_curvature(from_networkx(nx.cycle_graph(n))), 0.0, atol=1e-9)


def test_ollivier_ricci_curvature_trees():
    # Jost & Liu 2014: on a tree (alpha = 0), kappa(i, j) = -2 (1 - 1/d_i - 1/d_j)_+
    rng = np.random.default_rng(4)
    for _ in range(10):
        T = nx.random_labeled_tree(int(rng.integers(3, 20)), seed=int(rng.integers(1 << 30)))
        g = from_networkx(T)
        deg = g.degree()
        src, dst = g.edge_index
        expected = -2 * np.maximum(1 - 1 / deg[src] - 1 / deg[dst], 0)
        np.testing.assert_allclose(ollivier_ricci_curvature(g), expected, atol=1e-9)


def test_ollivier_ricci_curvature_barbell_bridge_negative_and_range():
    g = from_networkx(nx.barbell_graph(5, 2))
    for alpha in (0.0, 0.5):
        kappa = ollivier_ricci_curvature(g, alpha=alpha)
        assert kappa.min() < 0 and np.all(kappa >= -2) and np.all(kappa <= 1)
        src, dst = g.edge_index
        bridge = (src == 4) & (dst == 5)   # clique node 4 -> first path node 5
        assert kappa[bridge][0] == kappa.min()


def test_ollivier_ricci_curvature_alpha_one_is_zero():
    # m_i = delta_i, m_j = delta_j: W1 = d(i, j) = 1
    np.testing.assert_allclose(ollivier_ricci_curvature(from_networkx(nx.petersen_graph()), alpha=1.0), 0.0, atol=1e-12)


def test_balanced_forman_is_lower_bound_of_lin_lu_yau_curvature():
    # Topping et al. 2022, Theorem 2: Ric(i, j) <= kappa_LLY(i, j), and kappa_LLY = 2 kappa_{1/2}
    # (Bourne et al. 2018: the idleness function is linear on [1/2, 1]). Sharp on K_n.
    rng = np.random.default_rng(5)
    for _ in range(15):
        g = from_networkx(random_connected(rng))
        lly = 2 * ollivier_ricci_curvature(g, alpha=0.5)
        assert np.all(balanced_forman_curvature(g) <= lly + 1e-9)
    np.testing.assert_allclose(2 * ollivier_ricci_curvature(from_networkx(nx.complete_graph(6)), alpha=0.5), 6 / 5)


def test_ollivier_ricci_curvature_alpha_errors():
    G = nx.path_graph(3)
    with pytest.raises(ValueError, match=r"`alpha` must lie in \[0, 1\], got 1.5"):
        ollivier_ricci_curvature(from_networkx(G), alpha=1.5)
    with pytest.raises(TypeError, match=r"`alpha` must be a real number, got str"):
        ollivier_ricci_curvature(from_networkx(G), alpha="0.5")
