"""Claims of book/principles/04_smarter.md ("Making conversations smarter"), re-derived with mplib.

The page glues its numbers; these tests recompute every claim from the same parameters
(mirrored below, nothing is read from the page), and check the general statements behind
them on random inputs and against independent oracles (loops, networkx).
"""

import networkx as nx
import numpy as np
import pytest

from helpers import assert_equivariant, relabel
from mplib.homophily import class_homophily, edge_homophily, mix_with_neighbours, node_homophily
from mplib.generators import (complete_bipartite_graph, complete_graph, contextual_sbm, cycle_graph,
                              heterophilous_graph, random_graph, wl_pairs)
from mplib.graph import Graph, from_networkx, to_networkx, to_undirected
from mplib.hops import UNREACHABLE, khop_propagate, shortest_path_edges, spd_wl_test
from mplib.layers import gat_conv, sage_conv
from mplib.message_passing import propagate
from mplib.scatter import scatter, segment_softmax
from mplib.wl import wl_test

# Mirrors the constants cell at the top of the page.
SEED = 0
ATT_SLOPE = 0.2
ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]
CSBM = dict(num_nodes=1000, avg_degree=5.0, homophily=0.0, mu=1.0, feature_dim=2)
HOMOPHILY_GRID = np.linspace(0.0, 1.0, 11)

# The page's attention example.
EDGES = np.array([[0, 0, 0, 0, 1, 3, 4, 2],
                  [1, 2, 3, 4, 2, 4, 5, 5]])
EDGE_INDEX = to_undirected(EDGES, num_nodes=6)
X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5], [0.5, -1.0], [2.0, 0.0]])
W = 1.5 * np.eye(2)
ATT_SRC = np.array([[1.0, 0.5]])
ATT_DST = np.array([[0.5, -0.5]])
PERM = np.array([3, 5, 0, 4, 1, 2])
BIPARTITE = dict(num_per_class=6, p=0.5)   # heterophilous_graph(**BIPARTITE, rng=SEED)

# The separation table of the page: pair -> method -> separated?
EXPECTED_TABLE = {
    "C6 vs 2xC3": {"1-WL": False, "1-hop GNN": False, "2-hop GNN": True, "SPD-WL": True, "marked node": True},
    "K3,3 vs prism": {"1-WL": False, "1-hop GNN": False, "2-hop GNN": False, "SPD-WL": False,
                      "marked node": True},
}


def page_gat(x, edge_index):
    return gat_conv(x, edge_index, W, ATT_SRC, ATT_DST, negative_slope=ATT_SLOPE, return_attention=True)


def gat_loop(x, edge_index):
    """Oracle: GAT coefficients one receiver at a time, as a dict (j, i) -> alpha_ij."""
    h = x @ W
    src, dst = edge_index
    out = {}
    for i in range(x.shape[0]):
        senders = sorted(set(src[(dst == i) & (src != i)].tolist()) | {i})
        e = np.array([ATT_SRC[0] @ h[j] + ATT_DST[0] @ h[i] for j in senders])
        e = np.where(e > 0, e, ATT_SLOPE * e)
        a = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
        out.update({(j, i): float(w) for j, w in zip(senders, a)})
    return out


# ---------------------------------------------------------------- attention

def test_attention_matches_loop_oracle():
    _, (ei, alpha) = page_gat(X, EDGE_INDEX)
    oracle = gat_loop(X, EDGE_INDEX)
    assert ei.shape[1] == len(oracle)
    for (j, i), a in zip(ei.T.tolist(), alpha[:, 0]):
        assert a == pytest.approx(oracle[(j, i)], abs=1e-12)


def test_attention_sums_to_one_per_node():
    _, (ei, alpha) = page_gat(X, EDGE_INDEX)
    np.testing.assert_allclose(scatter(alpha[:, 0], ei[1], 6), np.ones(6), atol=1e-12)
    # every node has its self-loop, and weights are strictly between 0 and 1
    assert sorted(ei[0][ei[0] == ei[1]].tolist()) == list(range(6))
    assert np.all((alpha > 0) & (alpha < 1))


def test_attention_is_not_uniform_on_page_graph():
    """The figure is only interesting if the weights differ from 1 / (degree + 1)."""
    _, (ei, alpha) = page_gat(X, EDGE_INDEX)
    uniform = 1.0 / (np.bincount(ei[1], minlength=6)[ei[1]])
    assert np.abs(alpha[:, 0] - uniform).max() > 0.2


def _coefficients_by_edge(x, edge_index):
    _, (ei, alpha) = page_gat(x, edge_index)
    return {(j, i): a for (j, i), a in zip(ei.T.tolist(), alpha[:, 0])}


@pytest.mark.parametrize("trial", range(6))
def test_attention_relabelling_invariant(trial):
    """Same coefficient on the same (renamed) edge; trial 0 is the page's permutation."""
    rng = np.random.default_rng(trial)
    perm = PERM if trial == 0 else rng.permutation(6)
    before = _coefficients_by_edge(X, EDGE_INDEX)
    if trial == 0:  # the page renumbers and reverses the edge list
        x_new = np.empty_like(X)
        x_new[perm] = X
        ei_new = perm[EDGE_INDEX][:, ::-1]
    else:
        x_new, ei_new, _ = relabel(X, EDGE_INDEX, perm)
    after = _coefficients_by_edge(x_new, ei_new)
    assert len(after) == len(before)
    for (j, i), a in before.items():
        assert after[(int(perm[j]), int(perm[i]))] == pytest.approx(a, abs=1e-12)


def test_attention_output_equivariant():
    rng = np.random.default_rng(SEED)
    assert_equivariant(lambda x, ei: page_gat(x, ei)[0], X, EDGE_INDEX, rng, trials=10, atol=1e-12)


def _gatv2_attention(x, edge_index, w_src, w_dst, att):
    src, dst = edge_index
    z = x[src] @ w_src + x[dst] @ w_dst
    return segment_softmax(np.where(z > 0, z, ATT_SLOPE * z) @ att, dst, x.shape[0])


def _favourites(alpha, edge_index, n):
    weight = np.full((n, n), -np.inf)
    src, dst = edge_index
    keep = src != dst
    weight[dst[keep], src[keep]] = alpha[keep]
    return weight.argmax(axis=1)


def _static_check(fav, n):
    """GAT's ranking is static: one node is everyone else's favourite."""
    top = np.bincount(fav, minlength=n).argmax()
    others = np.arange(n) != top
    assert np.all(fav[others] == top)
    assert fav[top] != top
    assert len(np.unique(fav)) == 2


def test_gat_static_attention_page_example():
    rng = np.random.default_rng(SEED)
    k6 = complete_graph(6)
    x6 = rng.standard_normal((6, 3))
    _, (ei, a) = gat_conv(x6, k6.edge_index, rng.standard_normal((3, 8)), rng.standard_normal((1, 8)),
                          rng.standard_normal((1, 8)), negative_slope=ATT_SLOPE, return_attention=True)
    a_v2 = _gatv2_attention(x6, k6.edge_index, rng.standard_normal((3, 8)), rng.standard_normal((3, 8)),
                            rng.standard_normal(8))
    _static_check(_favourites(a[:, 0], ei, 6), 6)
    # the page says GATv2 gives more distinct favourites than GAT's two
    assert len(np.unique(_favourites(a_v2, k6.edge_index, 6))) > 2


@pytest.mark.parametrize("seed", range(20))
def test_gat_static_attention_random(seed):
    """Brody et al.: for any weights, every receiver ranks the senders the same way."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 9))
    g = complete_graph(n)
    x = rng.standard_normal((n, 3))
    _, (ei, a) = gat_conv(x, g.edge_index, rng.standard_normal((3, 4)), rng.standard_normal((1, 4)),
                          rng.standard_normal((1, 4)), negative_slope=ATT_SLOPE, return_attention=True)
    _static_check(_favourites(a[:, 0], ei, n), n)


def test_exercise_softmax_uniform_and_shift_invariant():
    index = np.zeros(4, dtype=np.int64)
    np.testing.assert_allclose(segment_softmax(np.ones(4), index, 1), np.full(4, 0.25))
    e = np.random.default_rng(SEED).standard_normal(4)
    np.testing.assert_allclose(segment_softmax(e + 7.5, index, 1), segment_softmax(e, index, 1), atol=1e-12)


# ---------------------------------------------------------------- homophily measures

def _page_homophily_graphs():
    karate_nx = nx.karate_club_graph()
    karate = from_networkx(karate_nx)
    karate_y = np.array([karate_nx.nodes[v]["club"] != "Mr. Hi" for v in karate_nx], dtype=np.int64)
    rng = np.random.default_rng(SEED)
    unbalanced = random_graph(300, p=0.03, rng=rng)
    unbalanced_y = (rng.random(300) < 0.1).astype(np.int64)
    k34 = complete_bipartite_graph(3, 4)
    graphs = {"k34": (k34.edge_index, k34.y), "karate": (karate.edge_index, karate_y),
              "unbalanced": (unbalanced.edge_index, unbalanced_y)}
    for h in (0.0, 0.5, 0.9):
        g = contextual_sbm(**{**CSBM, "homophily": h}, rng=SEED)
        graphs[h] = (g.edge_index, g.y)
    return graphs


def test_homophily_table_claims():
    graphs = _page_homophily_graphs()
    score = {k: (edge_homophily(*v), node_homophily(*v), class_homophily(*v)) for k, v in graphs.items()}
    assert score["k34"] == (0.0, 0.0, 0.0)
    assert score["karate"][0] > 0.8                      # "strongly homophilous"
    edge, _, cls = score["unbalanced"]
    assert edge > 0.75 and cls < 0.05                    # high by chance, class-insensitive ~ 0
    assert score[0.0][2] == 0.0 and score[0.0][0] == 0.0  # perfectly heterophilous scores exactly 0
    assert 0.0 <= score[0.5][2] < 0.05                   # random wiring scores close to 0
    assert abs(score[0.5][0] - 0.5) < 0.05               # while edge homophily tells them apart
    assert score[0.9][0] > 0.85 and score[0.9][2] > 0.7


def test_karate_labels_match_networkx_edges():
    """Oracle for the karate row: count same-faction edges with networkx directly."""
    G = nx.karate_club_graph()
    same = sum(G.nodes[u]["club"] == G.nodes[v]["club"] for u, v in G.edges)
    edge_index, y = _page_homophily_graphs()["karate"]
    assert edge_homophily(edge_index, y) == pytest.approx(same / G.number_of_edges())


@pytest.mark.parametrize("seed", range(10))
def test_class_homophily_zero_when_all_edges_cross(seed):
    rng = np.random.default_rng(seed)
    g = heterophilous_graph(int(rng.integers(2, 9)), p=0.7, rng=rng)
    if g.num_edges:
        assert class_homophily(g.edge_index, g.y) == 0.0


# ---------------------------------------------------------------- the (1 - 2 alpha) factor

def test_bipartite_factor_page_graph():
    bip = heterophilous_graph(**BIPARTITE, rng=SEED)
    degree = bip.degree()
    assert (degree == 0).sum() == 1                   # the page says one node is isolated
    assert len(np.unique(degree[degree > 0])) > 2     # and that degrees differ
    for a in ALPHAS:
        ratio = mix_with_neighbours(bip.x, bip.edge_index, a)[:, 0] / bip.x[:, 0]
        np.testing.assert_allclose(ratio[degree > 0], 1 - 2 * a, atol=1e-12)
        np.testing.assert_allclose(ratio[degree == 0], 1 - a, atol=1e-12)


def test_bipartite_factor_at_half_erases_and_beyond_flips():
    bip = heterophilous_graph(**BIPARTITE, rng=SEED)
    has = bip.degree() > 0
    assert np.all(mix_with_neighbours(bip.x, bip.edge_index, 0.5)[has] == 0.0)
    out = mix_with_neighbours(bip.x, bip.edge_index, 0.75)
    assert np.all(np.sign(out[has]) == -np.sign(bip.x[has]))


def _random_bipartite(rng):
    """Random sides (sizes may differ), random cross edges, no isolated node, features +c / -c."""
    while True:
        m, n = (int(k) for k in rng.integers(1, 8, size=2))
        side = rng.permutation(np.repeat([0, 1], [m, n]))
        left, right = np.flatnonzero(side == 0), np.flatnonzero(side == 1)
        u, v = np.meshgrid(left, right, indexing="ij")
        keep = rng.random(u.size) < rng.uniform(0.2, 1.0)
        ei = to_undirected(np.stack([u.ravel()[keep], v.ravel()[keep]]), num_nodes=m + n)
        if np.all(np.bincount(ei[1], minlength=m + n) > 0):
            break
    c = rng.standard_normal(int(rng.integers(1, 4)))
    x = np.where(side[:, None] == 0, c, -c)
    return x, ei


@pytest.mark.parametrize("seed", range(30))
def test_bipartite_factor_random_graphs(seed):
    rng = np.random.default_rng(seed)
    x, ei = _random_bipartite(rng)
    for a in [*ALPHAS, float(rng.uniform())]:
        np.testing.assert_allclose(mix_with_neighbours(x, ei, a), (1 - 2 * a) * x, atol=1e-12)
        # oracle: the formula with a loop over nodes
        src, dst = ei
        loop = np.array([(1 - a) * x[v] + a * x[src[dst == v]].mean(axis=0) for v in range(len(x))])
        np.testing.assert_allclose(loop, (1 - 2 * a) * x, atol=1e-12)


def test_exercise_two_rounds():
    bip = heterophilous_graph(**BIPARTITE, rng=SEED)
    has = bip.degree() > 0
    twice = mix_with_neighbours(mix_with_neighbours(bip.x, bip.edge_index, 0.75), bip.edge_index, 0.75)
    np.testing.assert_allclose(twice[has], 0.25 * bip.x[has], atol=1e-12)
    np.testing.assert_allclose(twice[~has], 0.0625 * bip.x[~has], atol=1e-12)


# ---------------------------------------------------------------- architecture choices on the CSBM

def readout_accuracy(features, y, train):
    design = np.hstack([features, np.ones((len(y), 1))])
    w = np.linalg.lstsq(design[train], 2.0 * y[train] - 1.0, rcond=None)[0]
    return float(np.mean((design[~train] @ w > 0) == y[~train]))


def model_accuracies(g, train):
    x = g.x
    mean1 = propagate(x, g.edge_index, aggregate="mean")
    feats = {"own": x, "mix": 0.5 * x + 0.5 * mean1, "signed": 1.5 * x - 0.5 * mean1,
             "sep": np.hstack([x, mean1])}
    return {k: readout_accuracy(f, g.y, train) for k, f in feats.items()}


def _page_split(n):
    return np.random.default_rng(SEED).permutation(n) < n // 2


def test_csbm_separate_ego_beats_mixing():
    g = contextual_sbm(**CSBM, rng=SEED)
    acc = model_accuracies(g, _page_split(g.num_nodes))
    assert edge_homophily(g.edge_index, g.y) == 0.0
    assert abs(acc["mix"] - 0.5) < 0.05               # "a coin flip"
    assert acc["mix"] < acc["own"]                    # "worse than ignoring the graph"
    assert acc["sep"] > acc["own"] > acc["mix"]
    assert acc["sep"] > acc["mix"] + 0.3
    assert acc["sep"] > 0.95


def test_separate_ego_readout_is_one_sage_layer():
    g = contextual_sbm(**CSBM, rng=SEED)
    train = _page_split(g.num_nodes)
    f = g.x.shape[1]
    design = np.hstack([g.x, propagate(g.x, g.edge_index, aggregate="mean"), np.ones((g.num_nodes, 1))])
    w = np.linalg.lstsq(design[train], 2.0 * g.y[train] - 1.0, rcond=None)[0]
    sage = sage_conv(g.x, g.edge_index, weight_neigh=w[f:2 * f, None], weight_root=w[:f, None], bias=w[2 * f:])
    np.testing.assert_allclose(sage[:, 0], design @ w, atol=1e-12)
    assert np.all(np.abs(w[:2 * f]) > 0.1)   # both halves carry weight: the ego and the neighbours matter


def test_csbm_mixing_cancels_class_means():
    """Why the mix is a coin flip: at knob 0 the mixed class means coincide (only noise is left)."""
    g = contextual_sbm(**CSBM, rng=SEED)
    has = np.bincount(g.edge_index[1], minlength=g.num_nodes) > 0
    mean1 = propagate(g.x, g.edge_index, aggregate="mean")
    mixed = 0.5 * g.x + 0.5 * mean1
    gap_mixed = np.linalg.norm(mixed[has & (g.y == 0)].mean(0) - mixed[has & (g.y == 1)].mean(0))
    gap_raw = np.linalg.norm(g.x[g.y == 0].mean(0) - g.x[g.y == 1].mean(0))
    assert gap_mixed < 0.1 * gap_raw


def test_csbm_sweep_caption():
    train = _page_split(CSBM["num_nodes"])
    sweep = []
    for h in HOMOPHILY_GRID:
        sweep.append(model_accuracies(contextual_sbm(**{**CSBM, "homophily": h}, rng=SEED), train))
    own = sweep[0]["own"]
    assert all(s["own"] == own for s in sweep)               # the flat graph-free line
    assert abs(sweep[0]["mix"] - 0.5) < 0.05                 # mix fails on heterophily
    assert sweep[-1]["mix"] > own + 0.05                     # and helps on homophily
    assert sweep[-1]["signed"] < own - 0.05                  # signed mix fails on homophily
    assert sweep[0]["signed"] > own + 0.03                   # and helps on heterophily
    assert all(s["sep"] >= s["own"] for s in sweep)          # never worse than ignoring the graph
    assert min(sweep[0]["sep"], sweep[-1]["sep"]) > 0.95     # high at both ends


def test_two_hop_pairs_are_homophilous_and_help():
    g = contextual_sbm(**CSBM, rng=SEED)
    virtual, dist = shortest_path_edges(g, max_distance=2)
    assert edge_homophily(virtual[:, dist == 1], g.y) == 0.0
    assert edge_homophily(virtual[:, dist == 2], g.y) == 1.0
    two_hop = khop_propagate(g.x, g.edge_index, [None, None], aggregate="mean", combine="concat")
    acc_2hop = readout_accuracy(np.hstack([g.x, two_hop]), g.y, _page_split(g.num_nodes))
    assert acc_2hop > model_accuracies(g, _page_split(g.num_nodes))["sep"]


# ---------------------------------------------------------------- beyond one hop: separation table

def distances_from(graph, root):
    ei, d = shortest_path_edges(graph)
    out = np.full(graph.num_nodes, UNREACHABLE)
    out[root] = 0
    out[ei[1][ei[0] == root]] = d[ei[0] == root]
    return out


def khop_gnn_readout(graph, hops, layers=3, width=8, seed=SEED):
    rng = np.random.default_rng(seed)
    h = np.ones((graph.num_nodes, 1))
    for _ in range(layers):
        m = khop_propagate(h, graph.edge_index, [None] * hops, aggregate="sum", combine="concat")
        h = np.tanh(np.hstack([h, m]) @ rng.standard_normal((h.shape[1] + m.shape[1], width)))
    return h.sum(axis=0)


def marked_node_separates(g1, g2):
    coloured = lambda graph, root: Graph(graph.edge_index, num_nodes=graph.num_nodes,
                                         x=distances_from(graph, root)[:, None].astype(float))
    return all(wl_test(coloured(g1, a), coloured(g2, b)).distinguished
               for a in range(g1.num_nodes) for b in range(g2.num_nodes))


def test_separation_table():
    for name, (g1, g2) in wl_pairs().items():
        gap = {k: np.abs(khop_gnn_readout(g1, k) - khop_gnn_readout(g2, k)).max() for k in (1, 2)}
        row = {"1-WL": wl_test(g1, g2).distinguished,
               "1-hop GNN": bool(gap[1] > 1e-9),
               "2-hop GNN": bool(gap[2] > 1e-9),
               "SPD-WL": spd_wl_test(g1, g2).distinguished,
               "marked node": marked_node_separates(g1, g2)}
        assert row == EXPECTED_TABLE[name], name
        # a clear margin either way: separated readouts differ by a lot, the others not at all
        for k in (1, 2):
            assert gap[k] > 1.0 or gap[k] < 1e-12


@pytest.mark.parametrize("seed", range(5))
def test_separation_table_any_weights(seed):
    """The GNN columns do not depend on the draw of the random weights."""
    for name, (g1, g2) in wl_pairs().items():
        for k in (1, 2):
            gap = np.abs(khop_gnn_readout(g1, k, seed=seed) - khop_gnn_readout(g2, k, seed=seed)).max()
            assert bool(gap > 1e-9) == EXPECTED_TABLE[name][f"{k}-hop GNN"]


def _distance_profiles(graph):
    """Oracle via networkx: each node's sorted list of distances (inf when unreachable)."""
    G = to_networkx(graph)
    lengths = dict(nx.all_pairs_shortest_path_length(G))
    return [sorted(lengths[v].get(u, np.inf) for u in G if u != v) for v in G]


def test_distance_profiles_explain_the_table():
    c6, two_c3 = wl_pairs()["C6 vs 2xC3"]
    k33, prism = wl_pairs()["K3,3 vs prism"]
    assert all(p == [1, 1, 2, 2, 3] for p in _distance_profiles(c6))
    assert all(p == [1, 1, np.inf, np.inf, np.inf] for p in _distance_profiles(two_c3))
    # every node of K3,3 and of the prism: three at distance 1, two at distance 2
    assert all(p == [1, 1, 1, 2, 2] for p in _distance_profiles(k33) + _distance_profiles(prism))
    # the figure's labels come from distances_from; check them against networkx
    for graph in (c6, two_c3, k33, prism):
        lengths = nx.single_source_shortest_path_length(to_networkx(graph), 0)
        expected = [lengths.get(u, UNREACHABLE) for u in range(graph.num_nodes)]
        assert distances_from(graph, 0).tolist() == expected
    # the pairs really are non-isomorphic, and the prism has triangles while K3,3 has none
    assert not nx.is_isomorphic(to_networkx(c6), to_networkx(two_c3))
    assert not nx.is_isomorphic(to_networkx(k33), to_networkx(prism))
    assert sum(nx.triangles(to_networkx(k33)).values()) == 0 < sum(nx.triangles(to_networkx(prism)).values())


def test_marked_node_prism_neighbours_differ():
    """The page's explanation: in the prism the root's neighbours differ in how many of their
    neighbours are also at distance 1; in K3,3 they do not."""
    k33, prism = wl_pairs()["K3,3 vs prism"]

    def counts(graph):
        d = distances_from(graph, 0)
        src, dst = graph.edge_index
        at1 = np.bincount(dst[d[src] == 1], minlength=graph.num_nodes)
        return sorted(at1[d == 1].tolist())

    assert counts(k33) == [0, 0, 0]
    assert counts(prism) == [0, 1, 1]


def test_exercise_c8_vs_two_c4():
    c8 = cycle_graph(8)
    two_c4 = Graph(to_undirected(np.array([[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 0, 5, 6, 7, 4]]), 8), num_nodes=8)
    assert not wl_test(c8, two_c4).distinguished
    assert spd_wl_test(c8, two_c4).distinguished
    assert sorted(distances_from(c8, 0).tolist()) == [0, 1, 1, 2, 2, 3, 3, 4]
    assert sorted(distances_from(two_c4, 0).tolist()) == [UNREACHABLE] * 4 + [0, 1, 1, 2]


# ---------------------------------------------------------------- numbers the prose states

def test_glued_chance_homophily_of_the_unbalanced_graph():
    """'a graph wired at random already scores about sum_k s_k^2' ({hom-chance}), with
    {hom-major-share} of the nodes in the larger class."""
    edge_index, y = _page_homophily_graphs()["unbalanced"]
    shares = np.bincount(y) / len(y)
    chance = float((shares**2).sum())
    assert 0.85 < shares.max() < 0.95                          # "about nine in ten"
    assert chance == pytest.approx(0.847, abs=0.005)          # glued as 0.85
    assert abs(edge_homophily(edge_index, y) - chance) < 0.03  # the random graph scores it


def test_class_homophily_is_excess_sum_over_c_minus_1():
    """The page's formula: sum over classes of max(0, h_k - |C_k|/N), divided by C - 1."""
    rng = np.random.default_rng(SEED)
    for _ in range(20):
        n, c = int(rng.integers(6, 30)), int(rng.integers(2, 5))
        y = rng.integers(0, c, size=n)
        y[:c] = np.arange(c)                                  # every class occurs
        g = random_graph(n, p=0.3, rng=rng)
        if g.num_edges == 0:
            continue
        src, dst = g.edge_index
        excess = 0.0
        for k in range(c):
            into = y[dst] == k
            h_k = (y[src][into] == k).mean() if into.any() else 0.0
            excess += max(0.0, h_k - np.mean(y == k))
        assert class_homophily(g.edge_index, y, num_classes=c) == pytest.approx(excess / (c - 1))
    # all edges inside classes gives exactly 1
    ei = to_undirected(np.array([[0, 2, 4], [1, 3, 5]]), num_nodes=6)
    assert class_homophily(ei, np.array([0, 0, 1, 1, 2, 2])) == pytest.approx(1.0)


def test_glued_bipartite_graph_description():
    """'{bip-side} nodes on each side ... degrees from {bip-deg-min} to {bip-deg-max}'."""
    bip = heterophilous_graph(**BIPARTITE, rng=SEED)
    assert np.bincount(bip.y).tolist() == [BIPARTITE["num_per_class"]] * 2   # equal sides of 6
    src, dst = bip.edge_index
    assert np.all(bip.y[src] != bip.y[dst])                                   # every edge crosses
    np.testing.assert_array_equal(bip.x[:, 0], np.where(bip.y == 0, 1.0, -1.0))
    degree = bip.degree()
    assert (degree[degree > 0].min(), degree.max()) == (1, 5)


def test_csbm_features_are_class_means_plus_unit_noise():
    """'+mu q for one class and -mu q for the other, q a unit vector, plus unit noise'."""
    g = contextual_sbm(**CSBM, rng=SEED)
    m0, m1 = g.x[g.y == 0].mean(0), g.x[g.y == 1].mean(0)
    assert np.linalg.norm(m0 + m1) < 0.15                          # opposite means
    assert np.linalg.norm(m0) == pytest.approx(CSBM["mu"], abs=0.1)  # at distance mu
    noise = np.vstack([g.x[g.y == 0] - m0, g.x[g.y == 1] - m1])
    np.testing.assert_allclose(noise.std(axis=0), 1.0, atol=0.1)
