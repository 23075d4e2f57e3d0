"""Claims of book/principles/02_local_talk.md ("The power and limits of local talk"), re-derived with mplib.

The page computes and glues its numbers; these tests recompute every claim from the same
parameters (mirrored below) and check it against independent oracles (breadth-first search in
networkx, a loop implementation of colour refinement, networkx isomorphism), over many random
graphs and random weights where the page shows one draw.
"""

import networkx as nx
import numpy as np
import pytest

from helpers import random_graph
from mplib.diagnostics import jacobian_sensitivity
from mplib.generators import grid_graph, path_graph, star_graph, wl_pairs
from mplib.generators import random_graph as gnp_graph
from mplib.graph import Graph, to_networkx, to_undirected
from mplib.layers import gcn_conv, gin_conv, sage_conv
from mplib.scatter import scatter
from mplib.wl import wl_history, wl_test

# Mirrors the constants cell at the top of the page.
SEED = 0
GRID_SHAPE = (7, 7)
CENTRE = 24
RADII = (1, 2, 3)
CHANNELS = 4
LAYERS = 3
WIDTH = 8
WL_EDGES = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 4), (3, 4), (3, 5)]
RANDOM_NODES, RANDOM_P, RANDOM_TRIALS = 30, 0.5, 200
CONTRAST_EDGES = ([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)],
                  [(0, 1), (2, 3), (3, 4), (4, 5), (5, 2)])
SEEDS = range(40)   # random weights tried where the page shows one draw


def undirected(edges, n):
    return Graph(to_undirected(np.array(edges, dtype=np.int64).T, num_nodes=n))


def nx_graph(edge_index, n):
    """networkx oracle graph with all n nodes (isolated ones too)."""
    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(np.asarray(edge_index).T.tolist())
    return G


def ball(G, v, k):
    return sorted(nx.single_source_shortest_path_length(G, v, cutoff=k))


# --- receptive field --------------------------------------------------------------------------

def tanh_gin(x, edge_index, weights, k):
    """The page's network: k layers h <- tanh((h_v + sum of neighbours) W)."""
    h = x
    for W in weights[:k]:
        h = gin_conv(h, edge_index, mlp=lambda z, W=W: np.tanh(z @ W))
    return h


def moved_matrix(x, edge_index, weights, k):
    """moved[u, v]: does output v change when input u is perturbed?"""
    n = x.shape[0]
    base = tanh_gin(x, edge_index, weights, k)
    moved = np.zeros((n, n), dtype=bool)
    for u in range(n):
        x_new = x.copy()
        x_new[u] += 1.0
        moved[u] = np.abs(tanh_gin(x_new, edge_index, weights, k) - base).max(axis=1) > 0
    return moved


def test_receptive_field_equals_khop_ball_on_random_graphs():
    rng = np.random.default_rng(SEED)
    for _ in range(25):
        x, edge_index = random_graph(rng, num_features=CHANNELS, undirected=True)
        n = x.shape[0]
        G = nx_graph(edge_index, n)
        weights = [rng.standard_normal((CHANNELS, CHANNELS)) for _ in range(4)]
        for k in range(5):
            moved = moved_matrix(x, edge_index, weights, k)
            S_k = jacobian_sensitivity(edge_index, k, operator="gcn", num_nodes=n)
            for v in range(n):
                expected = ball(G, v, k)
                assert np.flatnonzero(moved[:, v]).tolist() == expected   # inputs that reach v
                assert np.flatnonzero(moved[v]).tolist() == expected      # outputs that v reaches
                assert np.flatnonzero(S_k[v] > 0).tolist() == expected


def test_receptive_field_grid_counts_as_on_the_page():
    grid = grid_graph(*GRID_SHAPE)
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((grid.num_nodes, CHANNELS))
    weights = [rng.standard_normal((CHANNELS, CHANNELS)) for _ in range(max(RADII))]
    G = to_networkx(grid)
    base = {k: tanh_gin(x, grid.edge_index, weights, k) for k in (0, *RADII)}
    x_new = x.copy()
    x_new[CENTRE] += 1.0
    for k in (0, *RADII):
        moved = np.flatnonzero(np.abs(tanh_gin(x_new, grid.edge_index, weights, k) - base[k]).max(axis=1) > 0)
        assert moved.tolist() == ball(G, CENTRE, k)
        assert len(moved) == 2 * k * k + 2 * k + 1   # the page's formula for an interior node
        assert np.flatnonzero(jacobian_sensitivity(grid, k, operator="gcn")[CENTRE] > 0).tolist() == ball(G, CENTRE, k)


def test_receptive_field_without_self_term_has_distance_parity():
    """Exercise 1: with S = A only walks of length exactly 3 count: 16 nodes at distances 1 and 3."""
    grid = grid_graph(*GRID_SHAPE)
    dist = nx.single_source_shortest_path_length(to_networkx(grid), CENTRE)
    reach = np.flatnonzero(jacobian_sensitivity(grid, 3, operator="sum")[CENTRE] > 0)
    assert len(reach) == 16
    assert sorted({dist[u] for u in reach}) == [1, 3]
    assert sorted(u for u, d in dist.items() if d in (1, 3)) == reach.tolist()


# --- colour refinement ------------------------------------------------------------------------

def refine_by_loop(edge_index, n, rounds):
    """Oracle: 1-WL with Python dicts, colours named by first appearance of a signature."""
    src, dst = np.asarray(edge_index)
    colors = [0] * n
    history = [colors]
    for _ in range(rounds):
        sigs = [(colors[v], tuple(sorted(colors[u] for u in src[dst == v]))) for v in range(n)]
        names = {}
        colors = [names.setdefault(s, len(names)) for s in sigs]
        history.append(colors)
    return history


def same_partition(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.array_equal(a[:, None] == a[None, :], b[:, None] == b[None, :])


def test_wl_page_graph_rounds_and_signatures():
    g = undirected(WL_EDGES, 6)
    history = wl_history(g)
    assert [len(np.unique(c)) for c in history] == [1, 3, 5, 6]
    assert len(wl_history(g, iterations=len(history))[-1]) == 6   # a 4th round splits nothing (discrete)
    oracle = refine_by_loop(g.edge_index, 6, len(history) - 1)
    for mine, theirs in zip(history, oracle):
        assert same_partition(mine, theirs)
    deg = g.degree()
    assert deg.tolist() == [2, 3, 3, 3, 2, 1]
    # round 1 = degrees; the page names colours 0, 1, 2 of round 1 as degrees 1, 2, 3
    assert same_partition(history[1], deg)
    assert [int(history[1][deg == d][0]) for d in (1, 2, 3)] == [0, 1, 2]
    c2 = history[2]
    assert len({c2[1], c2[2], c2[3]}) == 3            # nodes 1, 2, 3 split three ways in round 2
    assert c2[0] == c2[4]                             # nodes 0 and 4 agree in round 2 ...
    assert history[3][0] != history[3][4]             # ... and split in round 3
    src, dst = g.edge_index
    nbr_deg = {v: sorted(deg[src[dst == v]].tolist()) for v in range(6)}
    assert nbr_deg[1] == [2, 3, 3] and nbr_deg[2] == [2, 2, 3] and nbr_deg[3] == [1, 2, 3]
    assert nbr_deg[0] == nbr_deg[4] == [3, 3]


def test_wl_random_graphs_end_discrete():
    rng = np.random.default_rng(SEED)
    discrete = sum(len(np.unique(wl_history(gnp_graph(RANDOM_NODES, p=RANDOM_P, rng=rng))[-1])) == RANDOM_NODES
                   for _ in range(RANDOM_TRIALS))
    assert discrete == RANDOM_TRIALS   # the page reports the count; "almost never no verdict"


def test_wl_discrete_colouring_identifies_the_graph():
    """A graph whose refinement ends discrete is told apart from every non-isomorphic graph."""
    rng = np.random.default_rng(SEED + 1)
    checked = 0
    for trial in range(10):
        g = gnp_graph(12, p=0.4, rng=rng)
        if len(np.unique(wl_history(g)[-1])) < g.num_nodes:
            continue
        G = to_networkx(g)
        perm = rng.permutation(g.num_nodes)
        relabelled = Graph(to_undirected(perm[g.edge_index], num_nodes=g.num_nodes))
        assert not wl_test(g, relabelled).distinguished
        for swap in range(5):   # same degrees, usually another graph
            H = nx.double_edge_swap(G.copy(), nswap=1 + swap, max_tries=1000, seed=int(rng.integers(1 << 30)))
            h = Graph(to_undirected(np.array(list(H.edges), dtype=np.int64).T, num_nodes=g.num_nodes))
            assert wl_test(g, h).distinguished != nx.is_isomorphic(G, H)
            checked += 1
    assert checked >= 20


def contrast_pair():
    return tuple(undirected(e, 6) for e in CONTRAST_EDGES)


def test_wl_pairs_equivalent_and_not_isomorphic():
    for name, (g1, g2) in wl_pairs().items():
        result = wl_test(g1, g2)
        assert not result.distinguished and result.iteration is None, name
        assert not nx.is_isomorphic(to_networkx(g1), to_networkx(g2)), name
        assert len(np.unique(np.concatenate([result.colors1, result.colors2]))) == 1, name   # monochrome
        assert len(np.unique(g1.degree())) == 1 and np.array_equal(g1.degree(), g2.degree()), name  # regular


def test_contrast_pair_separated_in_round_two():
    g1, g2 = contrast_pair()
    assert g1.num_nodes == g2.num_nodes and g1.num_edges == g2.num_edges
    assert sorted(g1.degree().tolist()) == sorted(g2.degree().tolist()) == [1, 1, 2, 2, 2, 2]
    assert not nx.is_isomorphic(to_networkx(g1), to_networkx(g2))
    result = wl_test(g1, g2)
    assert result.distinguished and result.iteration == 2
    # Figure caption: no stable colour occurs equally often in the two graphs.
    colours = np.unique(np.concatenate([result.colors1, result.colors2]))
    assert all(np.sum(result.colors1 == c) != np.sum(result.colors2 == c) for c in colours)
    # Exercise 2: the round-2 signatures, with round-1 colours named by degree.
    for g, expected in ((g1, {(1, (2,)): 2, (2, (1, 2)): 2, (2, (2, 2)): 2}),
                        (g2, {(1, (1,)): 2, (2, (2, 2)): 4})):
        src, dst = g.edge_index
        deg = g.degree()
        sigs = [(int(deg[v]), tuple(sorted(deg[src[dst == v]].tolist()))) for v in range(6)]
        assert {s: sigs.count(s) for s in set(sigs)} == expected


# --- message-passing networks on the pairs ----------------------------------------------------

def random_layers(rng, layers=LAYERS, width=WIDTH, f_in=1):
    out = []
    for _ in range(layers):
        out.append((rng.standard_normal((f_in, width)) / np.sqrt(f_in), rng.standard_normal(width),
                    rng.standard_normal((width, width)) / np.sqrt(width)))
        f_in = width
    return out


def gin_states(graph, params, x=None):
    h = np.ones((graph.num_nodes, 1)) if x is None else x
    states = []
    for W1, b1, W2 in params:
        h = gin_conv(h, graph.edge_index, mlp=lambda z: np.tanh(z @ W1 + b1) @ W2)
        states.append(h)
    return states


def gcn_states(graph, params, x=None):
    h = np.ones((graph.num_nodes, 1)) if x is None else x
    states = []
    for W1, b1, _ in params:
        h = np.tanh(gcn_conv(h, graph.edge_index, W1, b1))
        states.append(h)
    return states


def readout_gaps(states, g1, g2, params):
    return [np.abs(a.sum(axis=0) - b.sum(axis=0)).max() for a, b in zip(states(g1, params), states(g2, params))]


@pytest.mark.parametrize("states", [gin_states, gcn_states], ids=["GIN", "GCN"])
def test_gnn_outputs_identical_on_wl_pairs(states):
    for seed in SEEDS:
        params = random_layers(np.random.default_rng(seed))
        for name, (g1, g2) in wl_pairs().items():
            s1, s2 = states(g1, params), states(g2, params)
            for a, b in zip(s1, s2):
                # every node of one graph holds the state of every node of the other
                assert np.abs(a - b[:1]).max() < 1e-12 and np.abs(b - a[:1]).max() < 1e-12, (name, seed)
            assert max(readout_gaps(states, g1, g2, params)) < 1e-10, (name, seed)


def test_gnn_on_the_contrast_pair_follows_wl_rounds():
    g1, g2 = contrast_pair()
    for seed in SEEDS:
        params = random_layers(np.random.default_rng(seed))
        gin = readout_gaps(gin_states, g1, g2, params)
        assert gin[0] < 1e-12, seed            # one GIN layer sees degrees only
        assert gin[1] > 1e-6, seed             # two layers see round-2 signatures
        assert gin[1] > 1e6 * max(gin[0], 1e-16), seed
        gcn = readout_gaps(gcn_states, g1, g2, params)
        assert gcn[0] > 1e-6, seed             # GCN's normalisation sees neighbour degrees at once


def test_gin_second_layer_linear_readout_cannot_separate_contrast_pair():
    """The page's explanation: a linear second MLP leaves only sum (1 + deg v) h1_v, equal in both."""
    g1, g2 = contrast_pair()
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        (W1, b1, V1), (W2, _, V2) = random_layers(rng, layers=2)
        readouts = []
        for g in (g1, g2):
            h1 = gin_conv(np.ones((6, 1)), g.edge_index, mlp=lambda z: np.tanh(z @ W1 + b1) @ V1)
            readouts.append(gin_conv(h1, g.edge_index, mlp=lambda z: z @ W2 @ V2).sum(axis=0))
        assert np.abs(readouts[0] - readouts[1]).max() < 1e-9 * (1 + np.abs(readouts[0]).max())


@pytest.mark.parametrize("states, lag", [(gin_states, 0), (gcn_states, 1)], ids=["GIN", "GCN"])
def test_equal_wl_colours_give_equal_states(states, lag):
    """The induction of the page: same colour after t rounds => same state after t layers.

    GCN weights messages by degrees (round-1 colours), so its layer t follows round t + 1,
    and it does run ahead of round t (the page's remark on the contrast pair).
    """
    rng = np.random.default_rng(SEED + 2)
    ahead = False
    for _ in range(30):
        x, edge_index = random_graph(rng, undirected=True)
        n = x.shape[0]
        g = Graph(edge_index, num_nodes=n)
        params = random_layers(rng)
        history = wl_history(g, iterations=LAYERS + 1)
        for t, h in enumerate(states(g, params), start=1):
            gaps = np.abs(h[:, None, :] - h[None, :, :]).max(axis=2)
            same = history[t + lag][:, None] == history[t + lag][None, :]
            assert np.all(gaps[same] < 1e-12)
            ahead |= bool(np.any(gaps[history[t][:, None] == history[t][None, :]] > 1e-6))
    assert ahead == (lag == 1)


# --- sum, mean and max ------------------------------------------------------------------------

def aggregate_pair(first, second, reduce):
    messages = np.array(first + second)
    receiver = np.repeat([0, 1], [len(first), len(second)])
    return scatter(messages, receiver, 2, reduce=reduce)


def multiset_examples(a, b):
    return [([a], [a, a]), ([a, b], [a, a, b, b]), ([a, a, b], [a, b, b])]


def separation_table(a, b):
    return {reduce: [not np.allclose(*aggregate_pair(first, second, reduce))
                     for first, second in multiset_examples(a, b)]
            for reduce in ("sum", "mean", "max")}


def test_multiset_table_one_hot():
    table = separation_table([1.0, 0.0], [0.0, 1.0])
    assert table["sum"] == [True, True, True]      # sum separates all three
    assert table["mean"] == [False, False, True]   # mean fails on the first two
    assert table["max"] == [False, False, False]   # max fails on all three
    # sum of one-hot codes is the vector of counts
    out = aggregate_pair([[1.0, 0.0]] * 2 + [[0.0, 1.0]], [[1.0, 0.0]] + [[0.0, 1.0]] * 2, "sum")
    assert out.tolist() == [[2.0, 1.0], [1.0, 2.0]]


def test_multiset_table_random_vectors():
    rng = np.random.default_rng(SEED)
    for _ in range(100):
        a, b = rng.standard_normal(3).tolist(), rng.standard_normal(3).tolist()
        assert separation_table(a, b) == separation_table([1.0, 0.0], [0.0, 1.0])


def test_gin_eps_keeps_own_state_apart():
    edge = np.array([[0, 1], [1, 0]])
    ab = np.array([[1.0], [3.0]])
    identity = lambda z: z
    assert gin_conv(ab, edge, mlp=identity, eps=0.0).ravel().tolist() == [4.0, 4.0]
    assert gin_conv(ab, edge, mlp=identity, eps=0.5).ravel().tolist() == [4.5, 5.5]
    rng = np.random.default_rng(SEED)
    for _ in range(50):
        x = rng.standard_normal((2, 3))
        assert np.allclose(*gin_conv(x, edge, mlp=identity, eps=0.0))
        assert not np.allclose(*gin_conv(x, edge, mlp=identity, eps=float(rng.uniform(0.1, 1.0))))


def sage_params(rng):
    return [(rng.standard_normal((f, WIDTH)), rng.standard_normal((f, WIDTH)), rng.standard_normal(WIDTH))
            for f in (1,) + (WIDTH,) * (LAYERS - 1)]


def sage_states(graph, aggr, params):
    h = np.ones((graph.num_nodes, 1))
    for W_neigh, W_root, bias in params:
        h = np.tanh(sage_conv(h, graph.edge_index, W_neigh, weight_root=W_root, bias=bias, aggr=aggr))
    return h


def test_mean_and_max_blind_to_star_versus_path():
    star, path = star_graph(5), path_graph(6)
    for seed in SEEDS:
        params = sage_params(np.random.default_rng(seed))
        gap = {aggr: np.abs(sage_states(star, aggr, params).sum(0) - sage_states(path, aggr, params).sum(0)).max()
               for aggr in ("sum", "mean", "max")}
        assert gap["mean"] < 1e-12 and gap["max"] < 1e-12, seed
        assert gap["sum"] > 1e-6, seed
    page = sage_params(np.random.default_rng(SEED))
    assert np.abs(sage_states(star, "sum", page).sum(0) - sage_states(path, "sum", page).sum(0)).max() > 1.0


def test_mean_and_max_give_one_state_without_isolated_nodes():
    """Exercise 3: from identical features, mean/max networks give every node the same state."""
    rng = np.random.default_rng(SEED + 3)
    for _ in range(30):
        n = int(rng.integers(2, 13))
        x, edge_index = random_graph(rng, num_nodes=n, num_edges=3 * n, undirected=True, isolated=False)
        g = Graph(edge_index, num_nodes=n)
        params = sage_params(rng)
        for aggr in ("mean", "max"):
            h = sage_states(g, aggr, params)
            assert np.abs(h - h[:1]).max() < 1e-12


# --- numbers the prose states (glued on the page) ---------------------------------------------

def test_glued_refinement_rounds():
    history = wl_history(undirected(WL_EDGES, 6))
    split_04 = next(t for t, c in enumerate(history) if c[0] != c[4])
    assert split_04 == 3                    # "nodes 0 and 4 agree until round 3"
    assert len(history) - 1 == 3            # three rounds of refinement ...
    assert len(history) == 4                # ... and "round 4 would split nothing"
    again = wl_history(undirected(WL_EDGES, 6), iterations=len(history))
    assert len(np.unique(again[-1])) == len(np.unique(history[-1])) == 6   # every node its own


def test_glued_parity_reach_counts():
    # Exercise 1's solution: "{ring_1} + {ring_3} = {parity_reach} nodes" (4 + 12 = 16)
    grid = grid_graph(*GRID_SHAPE)
    hops = nx.single_source_shortest_path_length(to_networkx(grid), CENTRE)
    ring_1 = sum(d == 1 for d in hops.values())
    ring_3 = sum(d == 3 for d in hops.values())
    reach = np.flatnonzero(jacobian_sensitivity(grid, 3, operator="sum")[CENTRE] > 0)
    assert (ring_1, ring_3) == (4, 12)
    assert ring_1 + ring_3 == len(reach) == 16
