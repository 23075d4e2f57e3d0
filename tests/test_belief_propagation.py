"""Tests of mplib/belief_propagation.py: exact enumeration, loopy BP, naive mean field.

Oracles: a brute-force loop over all states with itertools (for the exact marginals),
closed forms (one spin, one edge, a chain), the exact marginals (for BP on trees) and the
BP / mean-field equations re-evaluated edge by edge with Python loops (for the fixed points).
"""

import itertools

import networkx as nx
import numpy as np
import pytest

from mplib.belief_propagation import (
    MAX_EXACT_NODES,
    ising_bp,
    ising_exact_marginals,
    ising_mean_field,
    reverse_edges,
)
from mplib.generators import complete_graph, cycle_graph, grid_graph, path_graph, tree
from mplib.graph import Graph, from_networkx
from tests.helpers import assert_equivariant, random_graph


def symmetric_couplings(graph, rng, scale=1.0):
    """Random J, one value per undirected edge, copied onto both directions."""
    rev = reverse_edges(graph.edge_index, graph.num_nodes)
    w = scale * rng.standard_normal(graph.num_edges)
    src, dst = graph.edge_index
    return np.where(src < dst, w, w[rev])


def random_tree(rng):
    n = int(rng.integers(2, 15))
    return from_networkx(nx.random_labeled_tree(n, seed=int(rng.integers(2**31))))


def random_loopy_graph(rng, num_nodes):
    """A connected graph with cycles: a random tree plus min(3, room) extra edges (num_nodes >= 3)."""
    G = nx.random_labeled_tree(num_nodes, seed=int(rng.integers(2**31)))
    target = min(num_nodes + 2, num_nodes * (num_nodes - 1) // 2)
    while G.number_of_edges() < target:
        u, v = rng.choice(num_nodes, 2, replace=False)
        G.add_edge(int(u), int(v))
    return from_networkx(G)


def brute_force(graph, J, h):
    """Magnetisations and edge correlations by a plain loop over the 2^N states."""
    src, dst = graph.edge_index
    n = graph.num_nodes
    Z, m, c = 0.0, np.zeros(n), np.zeros(graph.num_edges)
    for spins in itertools.product([-1, 1], repeat=n):
        s = np.array(spins, dtype=float)
        energy = sum(J[k] * s[src[k]] * s[dst[k]] for k in range(graph.num_edges) if src[k] < dst[k])
        w = np.exp(energy + h @ s)
        Z, m, c = Z + w, m + w * s, c + w * s[src] * s[dst]
    return m / Z, c / Z


# ---------------------------------------------------------------- reverse_edges

def test_reverse_edges_maps_each_column_to_its_reverse():
    rng = np.random.default_rng(0)
    for _ in range(20):
        _, ei = random_graph(rng, undirected=True)
        ei = ei[:, rng.permutation(ei.shape[1])]
        rev = reverse_edges(ei, int(ei.max(initial=0)) + 1)
        np.testing.assert_array_equal(ei[:, rev], ei[::-1])
        np.testing.assert_array_equal(rev[rev], np.arange(ei.shape[1]))


def test_reverse_edges_errors():
    with pytest.raises(ValueError, match=r"no self-loops, got edge 1 -> 1 \(column 2\)"):
        reverse_edges(np.array([[0, 1, 1], [1, 0, 1]]), 2)
    with pytest.raises(ValueError, match="no repeated edges, got 0 -> 1 twice"):
        reverse_edges(np.array([[0, 0, 1], [1, 1, 0]]), 2)
    with pytest.raises(ValueError, match="must be undirected .* edge 1 -> 2 has no reverse 2 -> 1"):
        reverse_edges(np.array([[0, 1, 1], [1, 0, 2]]), 3)


# ---------------------------------------------------------------- exact marginals

def test_ising_exact_marginals_match_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(15):
        g = random_loopy_graph(rng, int(rng.integers(3, 8)))
        J, h = symmetric_couplings(g, rng), rng.standard_normal(g.num_nodes)
        m, c = ising_exact_marginals(g, J, h, return_correlations=True)
        m_ref, c_ref = brute_force(g, J, h)
        np.testing.assert_allclose(m, m_ref, atol=1e-12)
        np.testing.assert_allclose(c, c_ref, atol=1e-12)


def test_ising_exact_marginals_closed_forms():
    # Isolated spins: m = tanh h.
    h = np.array([-2.0, 0.0, 0.3])
    np.testing.assert_allclose(ising_exact_marginals(Graph(np.zeros((2, 0), int), 3), 0.7, h), np.tanh(h))
    # Open chain, zero field: <s_i s_{i+1}> = tanh J and <s_i> = 0 (Mezard & Montanari, ch. 2).
    m, c = ising_exact_marginals(path_graph(6), 0.9, 0.0, return_correlations=True)
    np.testing.assert_allclose(m, 0.0, atol=1e-15)
    np.testing.assert_allclose(c, np.tanh(0.9), atol=1e-14)
    # Huge couplings and fields: no overflow, spins pinned to the field.
    m = ising_exact_marginals(cycle_graph(5), 500.0, 300.0)
    np.testing.assert_allclose(m, 1.0)


def test_ising_exact_marginals_spans_several_chunks():
    # 16 nodes = two chunks of 2**15 states; the chain's closed form checks the assembly.
    m, c = ising_exact_marginals(path_graph(16), 0.4, 0.0, return_correlations=True)
    np.testing.assert_allclose(m, 0.0, atol=1e-13)
    np.testing.assert_allclose(c, np.tanh(0.4), atol=1e-13)


def test_ising_exact_marginals_invariant_to_relabelling():
    rng = np.random.default_rng(2)
    g = random_loopy_graph(rng, 8)
    J, h = symmetric_couplings(g, rng), rng.standard_normal(8)

    def f(x, edge_index, edge_attr):
        return ising_exact_marginals(Graph(edge_index, num_nodes=x.shape[0]), edge_attr, x[:, 0])

    assert_equivariant(f, h[:, None], g.edge_index, rng, trials=5, atol=1e-12, edge_attr=J)


def test_ising_exact_marginals_spin_flip_symmetry():
    rng = np.random.default_rng(3)
    g = random_loopy_graph(rng, 9)
    J, h = symmetric_couplings(g, rng), rng.standard_normal(9)
    np.testing.assert_allclose(ising_exact_marginals(g, J, -h), -ising_exact_marginals(g, J, h), atol=1e-14)


def test_ising_exact_marginals_errors():
    g = path_graph(3)
    with pytest.raises(ValueError, match=r"N=21 nodes, the limit is 20"):
        ising_exact_marginals(path_graph(MAX_EXACT_NODES + 1), 1.0, 0.0)
    with pytest.raises(TypeError, match="`graph` must be an mplib Graph, got ndarray"):
        ising_exact_marginals(g.edge_index, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"`J` must be a scalar or have shape \(4,\) .* got shape \(2,\)"):
        ising_exact_marginals(g, [1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match=r"`J` must be symmetric: column 0 \(0 -> 1\) has J=1.0"):
        ising_exact_marginals(g, [1.0, 2.0, 3.0, 3.0], 0.0)
    with pytest.raises(ValueError, match=r"`h` must be a scalar or have shape \(3,\) .* got shape \(2,\)"):
        ising_exact_marginals(g, 1.0, [0.0, 1.0])
    with pytest.raises(ValueError, match="`h` contains NaN"):
        ising_exact_marginals(g, 1.0, [0.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="must be undirected"):
        ising_exact_marginals(Graph([[0], [1]]), 1.0, 0.0)


# ---------------------------------------------------------------- belief propagation

def test_ising_bp_exact_on_random_trees():
    rng = np.random.default_rng(4)
    for _ in range(25):
        g = random_tree(rng)
        J, h = symmetric_couplings(g, rng, scale=1.5), rng.standard_normal(g.num_nodes)
        bp = ising_bp(g, J, h)
        m, c = ising_exact_marginals(g, J, h, return_correlations=True)
        assert bp.converged
        np.testing.assert_allclose(bp.magnetization, m, atol=1e-10)
        np.testing.assert_allclose(bp.correlation, c, atol=1e-10)


def test_ising_bp_on_a_tree_converges_within_the_diameter():
    # Parallel updates: after diam rounds every message is final; one more round sees no change
    # (up to rounding: the cavity field is computed as total minus the reverse message).
    g = tree(2, 3)  # diameter 6
    rng = np.random.default_rng(5)
    J, h = symmetric_couplings(g, rng), rng.standard_normal(g.num_nodes)
    bp = ising_bp(g, J, h, tol=1e-13)
    assert bp.converged and bp.iterations <= 6 + 1
    np.testing.assert_allclose(bp.magnetization, ising_exact_marginals(g, J, h), atol=1e-12)


def test_ising_bp_fixed_point_satisfies_the_bp_equations():
    rng = np.random.default_rng(6)
    for _ in range(10):
        g = random_loopy_graph(rng, 10)
        J, h = symmetric_couplings(g, rng, scale=0.3), rng.standard_normal(10)
        bp = ising_bp(g, J, h, tol=1e-14)
        assert bp.converged
        src, dst = g.edge_index
        u = bp.messages
        for k in range(g.num_edges):  # column k is the message j -> i
            j, i = src[k], dst[k]
            cavity = h[j] + sum(u[l] for l in range(g.num_edges) if dst[l] == j and src[l] != i)
            assert abs(u[k] - np.arctanh(np.tanh(J[k]) * np.tanh(cavity))) < 1e-12
        for i in range(10):
            field = h[i] + sum(u[l] for l in range(g.num_edges) if dst[l] == i)
            assert abs(bp.magnetization[i] - np.tanh(field)) < 1e-12


def test_ising_bp_beats_mean_field_at_weak_coupling():
    # On loopy graphs BP is not exact, but at weak coupling its error is far below mean field's.
    rng = np.random.default_rng(7)
    ratios = []
    for _ in range(10):
        g = random_loopy_graph(rng, 10)
        J, h = symmetric_couplings(g, rng, scale=0.25), rng.standard_normal(10)
        exact = ising_exact_marginals(g, J, h)
        err_bp = np.abs(ising_bp(g, J, h).magnetization - exact).mean()
        err_mf = np.abs(ising_mean_field(g, J, h).magnetization - exact).mean()
        assert err_bp > 1e-9  # loops: BP is only approximate
        ratios.append(err_bp / err_mf)
    assert max(ratios) < 0.5, ratios


def test_ising_bp_damping_and_start_do_not_change_the_fixed_point():
    rng = np.random.default_rng(8)
    g = grid_graph(3, 3)
    J, h = symmetric_couplings(g, rng, scale=0.3), rng.standard_normal(9)
    plain = ising_bp(g, J, h)
    damped = ising_bp(g, J, h, damping=0.6, rng=1)
    assert plain.converged and damped.converged and damped.iterations > plain.iterations
    np.testing.assert_allclose(damped.messages, plain.messages, atol=1e-10)


def test_ising_bp_equivariant_under_relabelling():
    rng = np.random.default_rng(9)
    g = random_loopy_graph(rng, 9)
    J, h = symmetric_couplings(g, rng, scale=0.5), rng.standard_normal(9)

    def f(x, edge_index, edge_attr):
        return ising_bp(Graph(edge_index, num_nodes=x.shape[0]), edge_attr, x[:, 0]).magnetization

    assert_equivariant(f, h[:, None], g.edge_index, rng, trials=5, atol=1e-10, edge_attr=J)


def test_ising_bp_spin_flip_symmetry():
    rng = np.random.default_rng(10)
    g = random_loopy_graph(rng, 9)
    J, h = symmetric_couplings(g, rng, scale=0.5), rng.standard_normal(9)
    np.testing.assert_allclose(ising_bp(g, J, -h).magnetization, -ising_bp(g, J, h).magnetization, atol=1e-12)
    np.testing.assert_allclose(ising_bp(g, J, -h).correlation, ising_bp(g, J, h).correlation, atol=1e-12)


def test_ising_bp_reports_non_convergence():
    # A frustrated complete graph at strong coupling: undamped parallel BP does not settle.
    g = complete_graph(6)
    bp = ising_bp(g, -2.0, 0.0, max_iter=50, rng=0)
    assert not bp.converged and bp.iterations == 50


def test_ising_bp_does_not_overflow_and_keeps_inputs():
    g, J, h = cycle_graph(4), np.full(8, 400.0), np.array([300.0, 0.0, 0.0, 0.0])
    J0, h0 = J.copy(), h.copy()
    bp = ising_bp(g, J, h)
    assert np.all(np.isfinite(bp.messages)) and np.allclose(bp.magnetization, 1.0)
    np.testing.assert_array_equal(J, J0)
    np.testing.assert_array_equal(h, h0)


def test_ising_bp_edgeless_graph():
    bp = ising_bp(Graph(np.zeros((2, 0), int), 3), 1.0, [0.5, 0.0, -1.0])
    np.testing.assert_allclose(bp.magnetization, np.tanh([0.5, 0.0, -1.0]))
    assert bp.converged and bp.iterations == 1 and bp.messages.shape == (0,)


def test_ising_bp_errors():
    g = path_graph(3)
    with pytest.raises(ValueError, match="`max_iter` must be >= 1, got 0"):
        ising_bp(g, 1.0, 0.0, max_iter=0)
    with pytest.raises(ValueError, match=r"`damping` must lie in \[0, 1\), got 1.0"):
        ising_bp(g, 1.0, 0.0, damping=1.0)
    with pytest.raises(ValueError, match="`tol` must be >= 0, got -1.0"):
        ising_bp(g, 1.0, 0.0, tol=-1)
    with pytest.raises(TypeError, match="`tol` must be a finite real number, got 'small'"):
        ising_bp(g, 1.0, 0.0, tol="small")
    with pytest.raises(TypeError, match="`damping` must be a finite real number, got nan"):
        ising_bp(g, 1.0, 0.0, damping=float("nan"))
    with pytest.raises(TypeError, match="`rng` must be a numpy Generator"):
        ising_bp(g, 1.0, 0.0, rng="seed")
    with pytest.raises(ValueError, match=r"`J` must be symmetric"):
        ising_bp(g, [1.0, 0.0, 0.0, 0.0], 0.0)


# ---------------------------------------------------------------- mean field

def test_ising_mean_field_fixed_point_satisfies_its_equation():
    rng = np.random.default_rng(11)
    for _ in range(10):
        g = random_loopy_graph(rng, 10)
        J, h = symmetric_couplings(g, rng, scale=0.3), rng.standard_normal(10)
        mf = ising_mean_field(g, J, h)
        assert mf.converged
        src, dst = g.edge_index
        for i in range(10):
            field = h[i] + sum(J[k] * mf.magnetization[src[k]] for k in range(g.num_edges) if dst[k] == i)
            assert abs(mf.magnetization[i] - np.tanh(field)) < 1e-10


def test_ising_mean_field_exact_without_couplings_and_symmetric():
    rng = np.random.default_rng(12)
    g = random_loopy_graph(rng, 8)
    h = rng.standard_normal(8)
    np.testing.assert_allclose(ising_mean_field(g, 0.0, h).magnetization, np.tanh(h), atol=1e-12)
    J = symmetric_couplings(g, rng, scale=0.3)
    np.testing.assert_allclose(
        ising_mean_field(g, J, -h).magnetization, -ising_mean_field(g, J, h).magnetization, atol=1e-12
    )


def test_ising_mean_field_equivariant_under_relabelling():
    rng = np.random.default_rng(13)
    g = random_loopy_graph(rng, 9)
    J, h = symmetric_couplings(g, rng, scale=0.3), rng.standard_normal(9)

    def f(x, edge_index, edge_attr):
        return ising_mean_field(Graph(edge_index, num_nodes=x.shape[0]), edge_attr, x[:, 0]).magnetization

    assert_equivariant(f, h[:, None], g.edge_index, rng, trials=5, atol=1e-10, edge_attr=J)


def test_ising_mean_field_undamped_can_oscillate():
    # Antiferromagnetic edge, no field, both spins starting positive (seed 1 draws 0.02, 0.90):
    # undamped parallel updates flip both signs at every step; damping settles on m_0 = -m_1.
    g = path_graph(2)
    mf = ising_mean_field(g, -3.0, 0.0, damping=0.0, max_iter=40, rng=1)
    assert not mf.converged and mf.iterations == 40
    damped = ising_mean_field(g, -3.0, 0.0, damping=0.5, rng=1)
    assert damped.converged
    m = damped.magnetization
    assert abs(m[0] + m[1]) < 1e-10 and abs(m[0]) > 0.9


def test_ising_mean_field_errors():
    with pytest.raises(ValueError, match=r"`damping` must lie in \[0, 1\), got -0.1"):
        ising_mean_field(path_graph(3), 1.0, 0.0, damping=-0.1)
    with pytest.raises(TypeError, match="`max_iter` must be an integer, got float"):
        ising_mean_field(path_graph(3), 1.0, 0.0, max_iter=10.0)
