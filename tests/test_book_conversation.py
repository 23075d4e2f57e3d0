"""Claims of book/principles/01_conversation.md ("A conversation between nodes"), re-derived with mplib.

The page computes and glues its numbers; these tests recompute each claim from the
same parameters (mirrored below) and from independent loop oracles, so a change in
mplib that breaks a statement of the page fails here, not silently in the prose.
"""

import numpy as np
import pytest

from helpers import assert_equivariant, assert_invariant, random_graph, relabel
from mplib.generators import cycle_graph
from mplib.graph import Graph, to_undirected
from mplib.layers import gcn_conv
from mplib.message_passing import propagate
from mplib.scatter import scatter

# Mirrors the constants cell at the top of the page.
N_NODES = 6
EDGES = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 4), (3, 4), (3, 5)]
H0 = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0]
RECEIVER = 1
STEP = 0.25
SEED = 0
TRIALS = 100

EDGE_INDEX = to_undirected(np.array(EDGES).T, num_nodes=N_NODES)
X0 = np.array(H0)[:, None]


def psi(h_v, h_u):
    return h_u - h_v


def phi(h_v, m_v):
    return h_v + STEP * m_v


def page_round(x, edge_index):
    """The page's round with propagate: ψ = h_u - h_v, ⊕ = sum, φ = h + STEP m."""
    return propagate(x, edge_index, message=lambda x_i, x_j, e: psi(x_i, x_j), aggregate="sum", update=phi)


def loop_round(x, edge_index):
    """Oracle: the same round one node at a time (vector states allowed)."""
    src, dst = edge_index
    out = np.zeros_like(x)
    for v in range(x.shape[0]):
        messages = [psi(x[v], x[u]) for u in src[dst == v]]
        out[v] = phi(x[v], np.sum(messages, axis=0) if messages else np.zeros_like(x[v]))
    return out


def by_id_loop(x, edge_index, weights=None):
    """Oracle of the page's by-id listener: neighbours sorted by id, weighted 1, 2, 3, ... by rank.

    With ``weights`` given, rank ``r`` gets ``weights[r]`` (0 beyond its end).
    """
    src, dst = edge_index
    out = np.zeros_like(x, dtype=float)
    for v in range(x.shape[0]):
        for rank, u in enumerate(np.sort(src[dst == v])):
            w = rank + 1 if weights is None else (weights[rank] if rank < len(weights) else 0.0)
            out[v] += w * x[u]
    return out


def relabel_sorted(x, edge_index, perm):
    """The page's relabelling: features move with the nodes, edges stored sorted."""
    x_new = np.empty_like(x)
    x_new[perm] = x
    return x_new, to_undirected(perm[edge_index], num_nodes=len(perm))


def changes_under_relabelling(f, x, edge_index, perm, atol=1e-12):
    x_p, ei_p = relabel_sorted(x, edge_index, perm)
    return not np.allclose(f(x_p, ei_p)[perm], f(x, edge_index), rtol=0, atol=atol)


LISTENERS = {
    "sum": lambda x, ei: propagate(x, ei, aggregate="sum"),
    "mean": lambda x, ei: propagate(x, ei, aggregate="mean"),
    "max": lambda x, ei: propagate(x, ei, aggregate="max"),
}


# --- the worked round ---------------------------------------------------------------------------

def test_page_graph_matches_description():
    graph = Graph(EDGE_INDEX, x=X0)
    assert graph.num_nodes == N_NODES
    assert graph.num_edges == 2 * len(EDGES)  # "seven edges become fourteen columns"
    assert graph.degree()[RECEIVER] == 3      # "its three neighbours"


def test_hand_loop_equals_propagate_on_page_graph():
    np.testing.assert_array_equal(page_round(X0, EDGE_INDEX), loop_round(X0, EDGE_INDEX))


def test_hand_loop_equals_propagate_on_random_graphs():
    rng = np.random.default_rng(3)
    for _ in range(50):
        x, edge_index = random_graph(rng, num_features=2)
        np.testing.assert_allclose(page_round(x, edge_index), loop_round(x, edge_index), atol=1e-12)


def test_receiver_hears_only_nonnegative_messages_and_rises():
    src, dst = EDGE_INDEX
    messages = psi(X0[RECEIVER, 0], X0[src[dst == RECEIVER], 0])
    assert len(messages) == 3 and np.all(messages >= 0)
    h1 = page_round(X0, EDGE_INDEX)
    assert h1[RECEIVER, 0] > X0[RECEIVER, 0]


def test_exercise_node5_by_hand():
    h1 = page_round(X0, EDGE_INDEX)
    src, dst = EDGE_INDEX
    assert src[dst == 5].tolist() == [3]  # "node 5 has a single neighbour, node 3"
    assert h1[5, 0] == phi(X0[5, 0], psi(X0[5, 0], X0[3, 0]))
    assert h1[5, 0] < X0[5, 0]  # "it drops"


def test_round_moves_every_node_towards_its_neighbours():
    # Caption of the first figure: each new state lies between the old one and its neighbours' mean.
    h1 = page_round(X0, EDGE_INDEX)[:, 0]
    mean = propagate(X0, EDGE_INDEX, aggregate="mean")[:, 0]
    h0 = X0[:, 0]
    assert np.all((h1 - h0) * (mean - h0) >= 0)
    assert np.all(np.abs(h1 - h0) <= np.abs(mean - h0))


# --- invariance of the aggregation --------------------------------------------------------------

def test_by_id_listener_not_invariant_on_page_graph():
    perm = np.random.default_rng(SEED).permutation(N_NODES)
    x_p, ei_p = relabel_sorted(X0, EDGE_INDEX, perm)
    before = by_id_loop(X0, EDGE_INDEX)[RECEIVER, 0]
    after = by_id_loop(x_p, ei_p)[perm[RECEIVER], 0]
    assert before != after
    # "take the first neighbour by id" (weights 1, 0, 0, ...) is not invariant either
    assert changes_under_relabelling(lambda x, ei: by_id_loop(x, ei, weights=[1.0]), X0, EDGE_INDEX, perm)


def test_by_id_listener_changes_under_most_relabellings():
    rng = np.random.default_rng(SEED)
    count = sum(changes_under_relabelling(by_id_loop, X0, EDGE_INDEX, rng.permutation(N_NODES))
                for _ in range(TRIALS))
    assert count > TRIALS // 2


@pytest.mark.parametrize("name", sorted(LISTENERS))
def test_sum_mean_max_invariant_over_page_relabellings(name):
    rng = np.random.default_rng(SEED)
    count = sum(changes_under_relabelling(LISTENERS[name], X0, EDGE_INDEX, rng.permutation(N_NODES))
                for _ in range(TRIALS))
    assert count == 0


@pytest.mark.parametrize("name", sorted(LISTENERS))
def test_sum_mean_max_equivariant_on_random_graphs(name):
    rng = np.random.default_rng(11)
    for _ in range(20):
        x, edge_index = random_graph(rng)
        assert_equivariant(LISTENERS[name], x, edge_index, rng, trials=5, atol=1e-12)
        assert_invariant(lambda m, i, n: scatter(m, i, n, reduce=name), x[edge_index[0]], edge_index[1],
                         x.shape[0], rng)


def test_by_id_listener_ignores_edge_storage_order():
    # The page: it depends on the names, not on the order in which the edges are stored.
    rng = np.random.default_rng(5)
    for _ in range(20):
        order = rng.permutation(EDGE_INDEX.shape[1])
        np.testing.assert_array_equal(by_id_loop(X0, EDGE_INDEX[:, order]), by_id_loop(X0, EDGE_INDEX))


def rank_by_value(messages, index, num_segments):
    """Exercise 2 (c): messages sorted by value, weighted 1, 2, 3, ... (scalar messages)."""
    order = np.lexsort((messages[:, 0], index))
    m, i = messages[order], index[order]
    rank = np.arange(len(i)) - np.searchsorted(i, i)
    return scatter((rank + 1)[:, None] * m, i, num_segments)


def second_largest(messages, index, num_segments):
    """Exercise 2 (b): the second-largest message (0 with fewer than two)."""
    out = np.zeros((num_segments, 1))
    for v in range(num_segments):
        mine = np.sort(messages[index == v, 0])
        if len(mine) >= 2:
            out[v, 0] = mine[-2]
    return out


@pytest.mark.parametrize("aggregate", [
    lambda m, i, n: scatter(m, i, n, reduce="min"), second_largest, rank_by_value,
], ids=["min", "second_largest", "rank_by_value"])
def test_exercise_value_based_aggregations_are_invariant(aggregate):
    rng = np.random.default_rng(7)
    for _ in range(20):
        x, edge_index = random_graph(rng, num_features=1)
        x = np.round(x, 1)  # ties, where sorting by value could go wrong
        f = lambda x_, ei_: propagate(x_, ei_, aggregate=aggregate)
        assert_equivariant(f, x, edge_index, rng, trials=5, atol=1e-12)
        assert_invariant(aggregate, x[edge_index[0]], edge_index[1], x.shape[0], rng)


# --- what sum, mean and max can hear ------------------------------------------------------------

PAIRS = [([1.0], [1.0, 1.0]), ([1.0, 3.0], [2.0, 2.0]), ([1.0, 3.0], [1.0, 1.0, 3.0])]
TABLE = {"sum": [True, False, True], "mean": [False, False, True], "max": [False, True, False]}


def tells_apart(a, b, reduce, encode=lambda v: v[:, None]):
    messages = encode(np.array(a + b))
    receiver = np.array([0] * len(a) + [1] * len(b))
    out = scatter(messages, receiver, 2, reduce=reduce)
    return not np.allclose(out[0], out[1])


@pytest.mark.parametrize("reduce", sorted(TABLE))
def test_aggregation_table(reduce):
    assert [tells_apart(a, b, reduce) for a, b in PAIRS] == TABLE[reduce]


def test_one_hot_sum_tells_every_pair_apart():
    one_hot = lambda v: (v[:, None] == np.array([1.0, 2.0, 3.0])).astype(float)
    assert all(tells_apart(a, b, "sum", one_hot) for a, b in PAIRS)


@pytest.mark.parametrize("reduce", ["mean", "max"])
def test_mean_max_deaf_to_multiplicity_under_any_encoding(reduce):
    rng = np.random.default_rng(2)
    for _ in range(20):
        table = rng.standard_normal((4, 5))  # a random encoding of the values 1..3
        encode = lambda v: table[v.astype(int)]
        assert not tells_apart([1.0], [1.0, 1.0], reduce, encode)


# --- parameter sharing and equivariance ---------------------------------------------------------

def gcn_setup():
    rng = np.random.default_rng(SEED + 1)
    x = rng.standard_normal((N_NODES, 3))
    weight = rng.standard_normal((3, 2))
    return rng, x, weight


def test_gcn_conv_equivariant_on_page_relabelling():
    _, x, weight = gcn_setup()
    perm = np.random.default_rng(SEED).permutation(N_NODES)
    x_p, ei_p = relabel_sorted(x, EDGE_INDEX, perm)
    gap = np.abs(gcn_conv(x_p, ei_p, weight)[perm] - gcn_conv(x, EDGE_INDEX, weight)).max()
    assert gap <= 10 * np.finfo(float).eps  # "the size of a rounding error"


def test_gcn_conv_equivariant_over_many_relabellings():
    rng, x, weight = gcn_setup()
    assert_equivariant(lambda x_, ei_: gcn_conv(x_, ei_, weight), x, EDGE_INDEX, rng, trials=TRIALS, atol=1e-12)
    assert gcn_conv(rng.standard_normal((50, 3)), cycle_graph(50).edge_index, weight).shape == (50, 2)


def test_unshared_layer_not_equivariant():
    rng, x, weight = gcn_setup()
    w_own = rng.standard_normal((N_NODES, 3, 2))
    layer = lambda x_, ei_: np.einsum("nf,nfo->no", propagate(x_, ei_, update=lambda h, m: h + m), w_own)
    perm = np.random.default_rng(SEED).permutation(N_NODES)
    x_p, ei_p = relabel_sorted(x, EDGE_INDEX, perm)
    assert np.abs(layer(x_p, ei_p)[perm] - layer(x, EDGE_INDEX)).max() > 0.1
    assert (weight.size, w_own.size) == (6, 36)


def test_exercise_sum_readout_invariant():
    rng, x, weight = gcn_setup()
    readout = gcn_conv(x, EDGE_INDEX, weight).sum(axis=0)
    for _ in range(TRIALS):
        perm = rng.permutation(N_NODES)
        x_p, ei_p, _ = relabel(x, EDGE_INDEX, perm)
        np.testing.assert_allclose(gcn_conv(x_p, ei_p, weight).sum(axis=0), readout, atol=1e-12)


# --- numbers the prose states (glued on the page) -----------------------------------------------

def test_glued_edge_and_column_counts():
    # "our {n_edges_undirected} edges become {n_columns} columns": seven and fourteen
    assert len(EDGES) == 7
    assert EDGE_INDEX.shape == (2, 14)
    assert EDGE_INDEX.shape[1] == 2 * len(EDGES)


def test_glued_plain_changed_is_max_over_sum_mean_max():
    # "sum, mean and max changed it in {plain_changed} (the largest of their three counts)"
    rng = np.random.default_rng(SEED)
    perms = [rng.permutation(N_NODES) for _ in range(TRIALS)]
    counts = {name: sum(changes_under_relabelling(f, X0, EDGE_INDEX, p) for p in perms)
              for name, f in LISTENERS.items()}
    assert max(counts.values()) == 0
    by_id = sum(changes_under_relabelling(by_id_loop, X0, EDGE_INDEX, p) for p in perms)
    assert by_id > max(counts.values())
