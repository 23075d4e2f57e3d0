"""Tests for mplib.diagnostics: energy, smoothing rate, resistance, sensitivity."""

import networkx as nx
import numpy as np
import pytest

from helpers import random_graph, relabel
from mplib.diagnostics import dirichlet_energy, effective_resistance, jacobian_sensitivity, smoothing_rate
from mplib.graph import Graph, from_networkx
from mplib.message_passing import propagate


def dense_adjacency(edge_index, n):
    a = np.zeros((n, n))
    for j, i in edge_index.T.tolist():
        a[i, j] += 1
    return a


def gcn_dense(edge_index, n):
    """S = D^-1/2 (A + I) D^-1/2 built with plain dense numpy, input self-loops dropped."""
    a = dense_adjacency(edge_index, n)
    np.fill_diagonal(a, 0)
    a += np.eye(n)
    d = a.sum(axis=1)
    return a / np.sqrt(d)[:, None] / np.sqrt(d)[None, :]


def random_connected(rng, n_low=3, n_high=16):
    while True:
        n = int(rng.integers(n_low, n_high))
        G = nx.gnp_random_graph(n, float(rng.uniform(0.15, 0.6)), seed=int(rng.integers(1 << 30)))
        if nx.is_connected(G):
            return G


# ------------------------------------------------------------------ Dirichlet energy

def test_dirichlet_energy_is_half_sum_over_columns():
    rng = np.random.default_rng(0)
    for _ in range(30):
        x, ei = random_graph(rng)
        expected = 0.5 * sum(np.sum((x[i] - x[j]) ** 2) for j, i in ei.T.tolist())
        assert dirichlet_energy(x, ei) == pytest.approx(expected, abs=1e-12)


def test_dirichlet_energy_equals_laplacian_quadratic_forms():
    rng = np.random.default_rng(1)
    for _ in range(30):
        x, ei = random_graph(rng, undirected=True)
        n = x.shape[0]
        G = nx.Graph()
        G.add_nodes_from(range(n))
        G.add_edges_from(ei.T.tolist())
        lap = nx.laplacian_matrix(G, nodelist=range(n)).toarray()
        assert dirichlet_energy(x, ei) == pytest.approx(np.trace(x.T @ lap @ x), abs=1e-9)
        delta = np.eye(n) - gcn_dense(ei, n)   # augmented normalised Laplacian (Cai & Wang 2020)
        assert dirichlet_energy(x, ei, normalized=True) == pytest.approx(np.trace(x.T @ delta @ x), abs=1e-9)


def test_dirichlet_energy_zero_exactly_on_its_kernel():
    rng = np.random.default_rng(2)
    G = nx.disjoint_union(nx.cycle_graph(5), nx.path_graph(4))
    ei = from_networkx(G).edge_index
    const = np.repeat(rng.standard_normal((2, 3)), [5, 4], axis=0)   # constant per component
    assert dirichlet_energy(const, ei) == pytest.approx(0, abs=1e-12)
    assert dirichlet_energy(const, ei, normalized=True) > 1e-3        # degrees differ on the path
    deg = np.bincount(ei[1], minlength=9)
    assert dirichlet_energy(np.sqrt(1 + deg) * const[:, 0], ei, normalized=True) == pytest.approx(0, abs=1e-12)
    assert dirichlet_energy(rng.standard_normal((9, 2)), ei) > 0


def test_dirichlet_energy_invariant_under_relabelling_and_shapes():
    rng = np.random.default_rng(3)
    for _ in range(10):
        x, ei = random_graph(rng)
        for normalized in (False, True):
            e = dirichlet_energy(x, ei, normalized=normalized)
            x_p, ei_p, _ = relabel(x, ei, rng.permutation(x.shape[0]))
            assert dirichlet_energy(x_p, ei_p, normalized=normalized) == pytest.approx(e, abs=1e-9)
            parts = sum(dirichlet_energy(x[:, f], ei, normalized=normalized) for f in range(x.shape[1]))
            assert parts == pytest.approx(e, abs=1e-9)   # (N,) input; energy adds over channels


def test_dirichlet_energy_ignores_self_loops_and_does_not_mutate():
    x = np.array([[0.0], [1.0], [3.0]])
    ei = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    with_loops = np.concatenate([ei, [[0, 2], [0, 2]]], axis=1)
    x0, ei0 = x.copy(), with_loops.copy()
    for normalized in (False, True):
        assert dirichlet_energy(x, with_loops, normalized) == dirichlet_energy(x, ei, normalized)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(with_loops, ei0)
    assert dirichlet_energy(x, np.zeros((2, 0), dtype=int)) == 0.0


def test_dirichlet_energy_errors():
    ei = np.array([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"`x` must have shape \(N, F\) or \(N,\), got shape \(2, 1, 1\)"):
        dirichlet_energy(np.zeros((2, 1, 1)), ei)
    with pytest.raises(ValueError, match=r"`x` contains NaN"):
        dirichlet_energy(np.array([0.0, np.nan]), ei)
    with pytest.raises(ValueError, match=r"refers to node 1, but the graph has only 1 nodes"):
        dirichlet_energy(np.zeros(1), ei)


# ------------------------------------------------------------------ smoothing rate

def test_smoothing_rate_bounds_gcn_step_and_is_attained():
    rng = np.random.default_rng(4)
    for trial in range(25):
        G = random_connected(rng) if trial % 2 else nx.disjoint_union(random_connected(rng), random_connected(rng))
        g = from_networkx(G)
        n, ei = g.num_nodes, g.edge_index
        s_hat = gcn_dense(ei, n)
        rate = smoothing_rate(g)
        assert 0 <= rate < 1
        for _ in range(5):
            x = rng.standard_normal((n, 3))
            for k in range(1, 4):
                bound = rate**k * dirichlet_energy(x, ei, normalized=True)
                after = dirichlet_energy(np.linalg.matrix_power(s_hat, k) @ x, ei, normalized=True)
                assert after <= bound * (1 + 1e-9) + 1e-12
        # the eigenvector of the largest |mu| other than the top one per component attains it
        mu, vec = np.linalg.eigh(s_hat)
        ncomp = nx.number_connected_components(G)
        order = np.argsort(np.abs(mu - 1))[ncomp:]
        v = vec[:, order[np.argmax(mu[order] ** 2)]]
        ratio = dirichlet_energy(s_hat @ v, ei, normalized=True) / dirichlet_energy(v, ei, normalized=True)
        assert ratio == pytest.approx(rate, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("G, expected", [
    (nx.cycle_graph(4), 1 / 9),          # S = (A + I)/3: eigenvalues 1, 1/3, 1/3, -1/3
    (nx.complete_graph(5), 0.0),         # S = J / n: eigenvalues 1, 0, ...
    (nx.path_graph(2), 0.0),
    (nx.empty_graph(3), 0.0),            # no edges: S = I, nothing left after dropping mu = 1
    (nx.star_graph(3), 1 / 4),           # centre degree 3: eigenvalues 1, 1/2, 1/2, 0 -> 1/4
])
def test_smoothing_rate_known_values(G, expected):
    assert smoothing_rate(from_networkx(G)) == pytest.approx(expected, abs=1e-12)


def test_smoothing_rate_errors():
    with pytest.raises(ValueError, match=r"edge 0 -> 1 has no reverse"):
        smoothing_rate(np.array([[0], [1]]))
    with pytest.raises(ValueError, match=r"edge 1 -> 0 more than once"):
        smoothing_rate(np.array([[0, 1, 1], [1, 0, 0]]))
    with pytest.raises(TypeError, match=r"`graph` must be an edge_index of shape \(2, E\) or an mplib.Graph"):
        smoothing_rate("graph")


@pytest.mark.parametrize("f", [smoothing_rate, effective_resistance, lambda g: jacobian_sensitivity(g, 1)])
def test_networkx_graphs_are_converted_at_the_boundary(f):
    # one input convention: edge_index (or an mplib.Graph); networkx is refused with the way out
    with pytest.raises(TypeError, match=r"`graph` is a networkx graph; convert it first with mplib.from_networkx"):
        f(nx.cycle_graph(4))
    with pytest.raises(ValueError, match=r"`num_nodes` is 5 but `graph` has 4 nodes"):
        smoothing_rate(from_networkx(nx.cycle_graph(4)), num_nodes=5)


# ------------------------------------------------------------------ effective resistance

def test_effective_resistance_matches_networkx():
    rng = np.random.default_rng(5)
    for _ in range(8):
        G = random_connected(rng, 2, 12)
        R = effective_resistance(from_networkx(G))
        for u in G:
            for v in G:
                if u != v:
                    assert R[u, v] == pytest.approx(nx.resistance_distance(G, u, v), rel=1e-9)


@pytest.mark.parametrize("n", [2, 5, 9])
def test_effective_resistance_series_and_parallel(n):
    d = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    np.testing.assert_allclose(effective_resistance(from_networkx(nx.path_graph(n))), d, atol=1e-9)   # in series
    if n >= 3:
        ring = np.minimum(d, n - d)   # two paths of d and n - d ohm in parallel
        np.testing.assert_allclose(effective_resistance(from_networkx(nx.cycle_graph(n))), ring * (n - ring) / n, atol=1e-9)


def test_effective_resistance_foster_symmetry_and_components():
    rng = np.random.default_rng(6)
    for _ in range(15):
        G = nx.disjoint_union(random_connected(rng), nx.disjoint_union(random_connected(rng), nx.empty_graph(1)))
        g = from_networkx(G)
        R = effective_resistance(g)
        assert R.shape == (g.num_nodes, g.num_nodes)
        np.testing.assert_array_equal(R, R.T)
        np.testing.assert_array_equal(np.diag(R), 0)
        comp = np.zeros(g.num_nodes, dtype=int)
        for c, nodes in enumerate(nx.connected_components(G)):
            comp[list(nodes)] = c
        np.testing.assert_array_equal(np.isinf(R), comp[:, None] != comp[None, :])
        # Foster: sum over undirected edges = N - #components (each edge stored twice)
        src, dst = g.edge_index
        assert R[dst, src].sum() / 2 == pytest.approx(g.num_nodes - comp.max() - 1)


def test_effective_resistance_equivariant_and_input_forms():
    rng = np.random.default_rng(7)
    G = random_connected(rng)
    g = from_networkx(G)
    R = effective_resistance(g)
    perm = rng.permutation(g.num_nodes)
    _, ei_p, _ = relabel(np.zeros((g.num_nodes, 1)), g.edge_index, perm)
    R_p = effective_resistance(ei_p, num_nodes=g.num_nodes)
    np.testing.assert_allclose(R_p[np.ix_(perm, perm)], R, atol=1e-9)
    np.testing.assert_array_equal(effective_resistance(g.edge_index), R)
    loops = np.concatenate([g.edge_index, [[0], [0]]], axis=1)   # self-loops carry no current
    np.testing.assert_allclose(effective_resistance(loops), R, atol=1e-12)
    iso = effective_resistance(Graph(g.edge_index, num_nodes=g.num_nodes + 1))
    assert np.isinf(iso[-1, :-1]).all() and iso[-1, -1] == 0
    assert effective_resistance(Graph(np.zeros((2, 0), dtype=int), num_nodes=0)).shape == (0, 0)


def test_effective_resistance_is_commute_time_over_2m():
    # Chandra et al. 1989: the commute time between u and v is 2|E| R_uv
    rng = np.random.default_rng(16)
    for _ in range(5):
        G = random_connected(rng)
        n, m = G.number_of_nodes(), G.number_of_edges()
        P = nx.to_numpy_array(G, nodelist=range(n))
        P /= P.sum(axis=1, keepdims=True)
        R = effective_resistance(from_networkx(G))
        for v in range(n):
            others = [w for w in range(n) if w != v]
            hit = np.zeros(n)   # expected steps to reach v: h = 1 + P h off v, h_v = 0
            hit[others] = np.linalg.solve(np.eye(n - 1) - P[np.ix_(others, others)], np.ones(n - 1))
            for u in others[:3]:
                if u < v:
                    continue
                back = np.zeros(n)
                rest = [w for w in range(n) if w != u]
                back[rest] = np.linalg.solve(np.eye(n - 1) - P[np.ix_(rest, rest)], np.ones(n - 1))
                assert hit[u] + back[v] == pytest.approx(2 * m * R[u, v], rel=1e-9)


def test_effective_resistance_errors():
    with pytest.raises(ValueError, match=r"`graph` must be undirected .* edge 1 -> 2 has no reverse"):
        effective_resistance(np.array([[0, 1, 1], [1, 0, 2]]))
    with pytest.raises(ValueError, match=r"`graph` must have shape \(2, E\), got shape \(3, 1\)"):
        effective_resistance(np.zeros((3, 1), dtype=int))
    with pytest.raises(ValueError, match=r"`num_nodes` must be >= 0, got -1"):
        effective_resistance(np.array([[0], [0]]), num_nodes=-1)


# ------------------------------------------------------------------ Jacobian sensitivity

def _run(x, ei, k, operator):
    """k rounds of message passing with mplib.propagate: the function whose Jacobian we want."""
    n = x.shape[0]
    if operator == "gcn":
        keep = ei[0] != ei[1]
        ei = np.concatenate([ei[:, keep], np.stack([np.arange(n)] * 2)], axis=1)
        d = np.bincount(ei[1], minlength=n).astype(float)
        w = 1 / np.sqrt(d[ei[0]] * d[ei[1]])
        step = lambda h: propagate(h, ei, message=lambda xi, xj, e: xj * e[:, None], edge_attr=w)  # noqa: E731
    else:
        step = lambda h: propagate(h, ei, aggregate=operator)  # noqa: E731
    for _ in range(k):
        x = step(x)
    return x


@pytest.mark.parametrize("operator", ["gcn", "mean", "sum"])
def test_jacobian_sensitivity_matches_finite_differences(operator):
    rng = np.random.default_rng(8)
    for _ in range(8):
        x, ei = random_graph(rng, num_features=2)
        n = x.shape[0]
        k = int(rng.integers(0, 4))
        J = jacobian_sensitivity(ei, k, operator=operator, num_nodes=n)
        base = _run(x, ei, k, operator)
        eps = 1e-6
        for u in range(n):
            cols = []
            for f in range(2):   # the (N*2, 2) Jacobian block of input node u, column by column
                xp = x.copy()
                xp[u, f] += eps
                cols.append((_run(xp, ei, k, operator) - base) / eps)
            block = np.stack(cols, axis=-1)                        # (N, 2 out, 2 in)
            norms = np.linalg.norm(block, ord=2, axis=(1, 2))      # operator norm per output node
            np.testing.assert_allclose(J[:, u], norms, atol=1e-5 * (1 + norms.max()))


@pytest.mark.parametrize("operator", ["gcn", "mean", "sum"])
def test_jacobian_sensitivity_zero_beyond_receptive_field(operator):
    rng = np.random.default_rng(9)
    for _ in range(10):
        _, ei = random_graph(rng)
        n = int(rng.integers(ei.max() + 1, ei.max() + 3)) if ei.size else 2
        k = int(rng.integers(0, 4))
        J = jacobian_sensitivity(Graph(ei, num_nodes=n), k, operator=operator)
        hops = dict(nx.all_pairs_shortest_path_length(nx.DiGraph(ei.T.tolist()) if ei.size else nx.DiGraph()))
        for v in range(n):
            for u in range(n):
                far = hops.get(u, {}).get(v, np.inf) > k and u != v
                if far:
                    assert J[v, u] == 0
                elif operator == "gcn":   # self-loops: every walk of length <= k counts
                    assert J[v, u] > 0


def test_jacobian_sensitivity_mean_rows_are_distributions_and_k0_identity():
    rng = np.random.default_rng(10)
    for _ in range(10):
        n = int(rng.integers(2, 10))
        _, ei = random_graph(rng, num_nodes=n, num_edges=3 * n, isolated=False)
        J = jacobian_sensitivity(ei, 3, operator="mean", num_nodes=n)
        np.testing.assert_allclose(J.sum(axis=1), 1.0)
        for op in ("gcn", "mean", "sum"):
            np.testing.assert_array_equal(jacobian_sensitivity(ei, 0, operator=op, num_nodes=n), np.eye(n))


def test_jacobian_sensitivity_equivariant():
    rng = np.random.default_rng(11)
    for _ in range(5):
        x, ei = random_graph(rng)
        n = x.shape[0]
        for op in ("gcn", "mean", "sum"):
            J = jacobian_sensitivity(ei, 2, operator=op, num_nodes=n)
            perm = rng.permutation(n)
            _, ei_p, _ = relabel(x, ei, perm)
            J_p = jacobian_sensitivity(ei_p, 2, operator=op, num_nodes=n)
            np.testing.assert_allclose(J_p[np.ix_(perm, perm)], J, atol=1e-12)


def test_jacobian_sensitivity_decays_through_barbell_bridge():
    # Over-squashing (Topping et al. 2022): with exactly as many layers as hops, the far
    # clique's influence on the near one shrinks geometrically as the bridge grows.
    values = []
    for length in range(0, 7):
        G = nx.barbell_graph(5, length)
        nodes = list(G)                      # row k of the result is node list(G)[k]
        u, v = nodes.index(0), nodes.index(max(G))
        hops = nx.shortest_path_length(G, 0, max(G))
        assert hops == length + 3
        J = jacobian_sensitivity(from_networkx(G), hops)
        values.append(J[v, u])
        assert J[v, u] == pytest.approx(J[u, v])   # GCN operator is symmetric
    assert all(0 < b < a / 2 for a, b in zip(values, values[1:]))


def test_jacobian_sensitivity_errors():
    G = nx.path_graph(3)
    with pytest.raises(ValueError, match=r"`operator` must be one of \('gcn', 'mean', 'sum'\), got 'max'"):
        jacobian_sensitivity(from_networkx(G), 2, operator="max")
    with pytest.raises(ValueError, match=r"`num_layers` must be >= 0, got -1"):
        jacobian_sensitivity(from_networkx(G), -1)
    with pytest.raises(TypeError, match=r"`num_layers` must be an integer, got float 2.0"):
        jacobian_sensitivity(from_networkx(G), 2.0)
