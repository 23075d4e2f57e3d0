"""mplib.remedies: properties, closed forms, and networkx as the independent reference."""

import itertools

import networkx as nx
import numpy as np
import pytest

from mplib.autograd import numerical_grad, value_and_grad
from mplib.generators import barbell_graph, complete_graph, cycle_graph, path_graph, random_graph
from mplib.graph import Graph, from_networkx, to_networkx
from mplib.remedies import (add_virtual_node, appnp_propagate, fully_adjacent_edges, jumping_knowledge,
                            pairnorm, propagation_sweep, resistance_rewiring, total_resistance)


def gcn_matrix(G):
    """D~^-1/2 (A + I) D~^-1/2 from networkx, as dense numpy."""
    a = nx.to_numpy_array(G, nodelist=sorted(G), weight=None) + np.eye(len(G))
    d = a.sum(axis=1)
    return a / np.sqrt(np.outer(d, d))


def nx_total_resistance(G):
    return sum(nx.resistance_distance(G, u, v) for u, v in itertools.combinations(sorted(G), 2))


def kirchhoff(G):
    """Total resistance by the pseudoinverse of networkx's Laplacian (no update formula)."""
    lp = np.linalg.pinv(nx.laplacian_matrix(G, nodelist=sorted(G)).toarray().astype(float))
    d = np.diag(lp)
    return float(np.triu(d[:, None] + d[None, :] - 2 * lp, 1).sum())


# -- pairnorm ------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [0.5, 1.0, 3.0])
def test_pairnorm_centres_and_fixes_the_mean_squared_norm(scale):
    x = np.random.default_rng(1).normal(size=(20, 3)) * 5 + 2
    y = pairnorm(x, scale=scale, eps=0.0)
    assert np.allclose(y.mean(axis=0), 0)
    assert np.mean(np.sum(y**2, axis=1)) == pytest.approx(scale**2)
    # the total pairwise squared distance is 2 N^2 s^2, whatever the input
    diffs = y[:, None, :] - y[None, :, :]
    assert np.sum(diffs**2) == pytest.approx(2 * 20**2 * scale**2)


def test_pairnorm_gradient_matches_finite_differences():
    x = np.random.default_rng(2).normal(size=(6, 2))

    def loss(p):
        return (pairnorm(x @ p["W"]) * np.arange(12.0).reshape(6, 2)).sum()

    params = {"W": np.random.default_rng(3).normal(size=(2, 2))}
    _, grads = value_and_grad(loss, params)
    assert np.allclose(grads["W"], numerical_grad(loss, params)["W"], atol=1e-6)


def test_pairnorm_rejects_bad_input():
    with pytest.raises(ValueError, match="`x` must have shape"):
        pairnorm(np.ones(3))
    with pytest.raises(ValueError, match="`scale` must be positive"):
        pairnorm(np.ones((3, 2)), scale=0)


# -- appnp_propagate -----------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.1, 0.3, 0.9])
def test_appnp_converges_to_personalised_pagerank(alpha):
    G = nx.barbell_graph(4, 2)
    g = from_networkx(G)
    x = np.random.default_rng(0).normal(size=(g.num_nodes, 2))
    s = gcn_matrix(G)
    fixed = alpha * np.linalg.solve(np.eye(len(G)) - (1 - alpha) * s, x)
    assert np.allclose(appnp_propagate(x, g.edge_index, alpha, num_steps=400), fixed, atol=1e-10)


def test_appnp_edge_cases_and_one_step():
    g = cycle_graph(5)
    x = np.random.default_rng(0).normal(size=(5, 3))
    assert np.array_equal(appnp_propagate(x, g.edge_index, 0.2, num_steps=0), x)
    assert np.allclose(appnp_propagate(x, g.edge_index, 1.0, num_steps=7), x)
    s = gcn_matrix(nx.cycle_graph(5))
    assert np.allclose(appnp_propagate(x, g.edge_index, 0.2, num_steps=1), 0.8 * s @ x + 0.2 * x)


def test_appnp_gradient_and_errors():
    g = path_graph(4)
    x = np.random.default_rng(0).normal(size=(4, 2))

    def loss(p):
        out = appnp_propagate(x @ p["W"], g.edge_index, 0.3, 5)
        return (out * out).sum()

    params = {"W": np.random.default_rng(1).normal(size=(2, 2))}
    assert np.allclose(value_and_grad(loss, params)[1]["W"], numerical_grad(loss, params)["W"], atol=1e-6)
    with pytest.raises(ValueError, match="`alpha` must lie in"):
        appnp_propagate(x, g.edge_index, alpha=1.5)
    with pytest.raises(ValueError, match="`num_steps`"):
        appnp_propagate(x, g.edge_index, num_steps=-1)


# -- jumping knowledge ---------------------------------------------------------------------


# -- propagation_sweep ---------------------------------------------------------------------


def _sweep_graph():
    G = nx.gnm_random_graph(12, 20, seed=4)
    G.add_edge(0, 11)
    return G, from_networkx(G), np.random.default_rng(5).normal(size=(12, 3))


@pytest.mark.parametrize("depths", [[0], [1, 2, 5], [0, 3, 4, 9]])
def test_propagation_sweep_matches_matrix_powers(depths):
    G, g, x = _sweep_graph()
    s = gcn_matrix(G)
    power = np.linalg.matrix_power
    lazy = 0.5 * (np.eye(len(G)) + s)
    for k, h in zip(depths, propagation_sweep(x, g.edge_index, depths)):
        assert np.allclose(h, power(s, k) @ x)
    for k, h in zip(depths, propagation_sweep(x, g.edge_index, depths, "residual")):
        assert np.allclose(h, power(lazy, k) @ x)
    for k, h in zip(depths, propagation_sweep(x, g.edge_index, depths, "jk")):
        assert np.allclose(h, np.hstack([power(s, j) @ x for j in range(k + 1)]))
    for k, h in zip(depths, propagation_sweep(x, g.edge_index, depths, "initial", alpha=0.3)):
        assert np.allclose(h, appnp_propagate(x, g.edge_index, 0.3, num_steps=k))


def test_propagation_sweep_pairnorm_centres_and_rescales_every_step():
    G, g, x = _sweep_graph()
    s = gcn_matrix(G)
    h = x
    out = propagation_sweep(x, g.edge_index, [1, 2, 3], "pairnorm")
    for k in range(3):
        z = s @ h
        z = z - z.mean(axis=0)
        h = z / np.sqrt(1e-5 + np.mean(np.sum(z**2, axis=1)))       # by hand, no mplib
        assert np.allclose(out[k], h)


def test_propagation_sweep_plain_energy_never_rises_and_initial_keeps_some():
    # tr(h^T (I - S) h) = sum (1 - lam) lam^(2k) c^2 can only fall with k; the initial
    # residual converges to alpha (I - (1 - alpha) S)^-1 x, whose energy is not zero
    G, g, x = _sweep_graph()
    s = gcn_matrix(G)
    depths = list(range(0, 40, 3))
    energy = [np.trace(h.T @ (np.eye(len(G)) - s) @ h) for h in propagation_sweep(x, g.edge_index, depths)]
    assert all(b <= a + 1e-12 for a, b in zip(energy, energy[1:])) and energy[-1] < 1e-3 * energy[0]
    fixed = 0.2 * np.linalg.solve(np.eye(len(G)) - 0.8 * s, x)
    last = propagation_sweep(x, g.edge_index, [200], "initial", alpha=0.2)[0]
    assert np.allclose(last, fixed) and np.trace(fixed.T @ (np.eye(len(G)) - s) @ fixed) > 0.01


def test_propagation_sweep_takes_a_precomputed_adjacency_and_rejects_bad_input():
    from mplib.nn import gcn_norm
    G, g, x = _sweep_graph()
    adj = gcn_norm(g.edge_index, g.num_nodes)
    assert np.array_equal(propagation_sweep(x, g.edge_index, [4], adj=adj)[0],
                          propagation_sweep(x, g.edge_index, [4])[0])
    with pytest.raises(ValueError, match="`scheme` must be one of"):
        propagation_sweep(x, g.edge_index, [1], scheme="gcnii")
    with pytest.raises(ValueError, match="`depths` must be a non-empty increasing"):
        propagation_sweep(x, g.edge_index, [4, 2])
    with pytest.raises(ValueError, match="`depths` must be a non-empty increasing"):
        propagation_sweep(x, g.edge_index, [])
    with pytest.raises(ValueError, match="`depths`"):
        propagation_sweep(x, g.edge_index, [-1, 2])
    with pytest.raises(ValueError, match="`alpha` must lie in"):
        propagation_sweep(x, g.edge_index, [1], "initial", alpha=-0.1)
    with pytest.raises(ValueError, match="`x` must have shape"):
        propagation_sweep(np.ones(12), g.edge_index, [1])


def test_jumping_knowledge_cat_and_mean():
    rng = np.random.default_rng(0)
    states = [rng.normal(size=(5, 3)) for _ in range(4)]
    assert np.array_equal(jumping_knowledge(states), np.concatenate(states, axis=1))
    assert np.allclose(jumping_knowledge(states, "mean"), np.mean(states, axis=0))


def test_jumping_knowledge_errors():
    with pytest.raises(ValueError, match="at least one"):
        jumping_knowledge([])
    with pytest.raises(ValueError, match="same number of rows"):
        jumping_knowledge([np.ones((2, 1)), np.ones((3, 1))])
    with pytest.raises(ValueError, match="one shape"):
        jumping_knowledge([np.ones((2, 1)), np.ones((2, 2))], mode="mean")
    with pytest.raises(ValueError, match="`mode`"):
        jumping_knowledge([np.ones((2, 1))], mode="max")


# -- virtual node, fully adjacent edges ----------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_virtual_node_puts_every_pair_within_two_hops(seed):
    g = random_graph(9, p=0.2, rng=seed)
    g = Graph(g.edge_index, num_nodes=9, x=np.ones((9, 2)))
    vn = add_virtual_node(g)
    assert vn.num_nodes == 10 and vn.num_edges == g.num_edges + 18
    assert np.array_equal(vn.x[-1], [0, 0]) and np.array_equal(vn.x[:-1], g.x)
    lengths = dict(nx.all_pairs_shortest_path_length(to_networkx(vn)))
    assert max(lengths[u][v] for u in range(9) for v in range(9)) <= 2


def test_virtual_node_rejects_non_graphs():
    with pytest.raises(TypeError, match="`graph` must be an mplib.Graph"):
        add_virtual_node(np.zeros((2, 0), dtype=int))


def test_fully_adjacent_edges_all_ordered_pairs_within_each_graph():
    ei = fully_adjacent_edges(4)
    assert set(map(tuple, ei.T)) == {(j, i) for j in range(4) for i in range(4) if i != j}
    ei = fully_adjacent_edges(5, batch=[0, 0, 1, 1, 1])
    assert set(map(tuple, ei.T)) == {(0, 1), (1, 0)} | {(j, i) for j in (2, 3, 4) for i in (2, 3, 4) if i != j}
    with pytest.raises(ValueError, match="`batch` must have shape"):
        fully_adjacent_edges(3, batch=[0, 1])


# -- resistance ----------------------------------------------------------------------------


@pytest.mark.parametrize("G", [nx.path_graph(5), nx.barbell_graph(3, 2), nx.petersen_graph()],
                         ids=["path", "barbell", "petersen"])
def test_total_resistance_matches_networkx(G):
    assert total_resistance(from_networkx(G)) == pytest.approx(nx_total_resistance(G))


@pytest.mark.parametrize("n", [3, 5, 8])
def test_total_resistance_of_complete_graph_is_n_minus_one(n):
    # every pair of K_n is 2/n ohm apart, and there are n (n - 1) / 2 pairs
    assert total_resistance(complete_graph(n)) == pytest.approx(n - 1)


@pytest.mark.parametrize("graph", [barbell_graph(3, 2), path_graph(6), cycle_graph(7)], ids=["barbell", "path", "cycle"])
def test_resistance_rewiring_picks_the_best_edge_by_brute_force(graph):
    G = to_networkx(graph)
    new, added = resistance_rewiring(graph, 2)
    for u, v in added:                               # replay the greedy choice, one edge at a time
        best = min(kirchhoff(nx.Graph(list(G.edges) + [e])) for e in nx.non_edges(G))
        G.add_edge(int(u), int(v))
        assert kirchhoff(G) == pytest.approx(best)
    assert nx.utils.edges_equal(to_networkx(new).edges, G.edges)
    assert total_resistance(new) < total_resistance(graph)


def test_resistance_rewiring_errors():
    with pytest.raises(ValueError, match="misses only 0 edges"):
        resistance_rewiring(complete_graph(4), 1)
    with pytest.raises(ValueError, match="`num_edges`"):
        resistance_rewiring(path_graph(4), -1)
    new, added = resistance_rewiring(path_graph(4), 0)
    assert added.shape == (0, 2) and new.num_edges == 6
