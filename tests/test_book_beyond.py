"""The claims of book/principles/06_beyond_limits.md, checked on the page's own numbers.

Values come from the executed page (:func:`book_values.page_values`). References computed here
without mplib's propagation code: the personalised-PageRank fixed point and matrix powers of the
GCN matrix in numpy from networkx's barbell, closed forms (barbell sensitivity and resistance,
K_n resistance, the tree-like curvature), networkx's resistance distance, WL hash (plain, marked,
with distances as edge labels), isomorphism test and cycle enumeration over its graph atlas, and
the readouts by hand.
"""

import itertools
import math

import networkx as nx
import numpy as np
import pytest

from book_values import page_values

pytestmark = pytest.mark.needs_book

VARIANTS = ("plain", "residual", "initial", "pairnorm", "jk")
REMEDIES = VARIANTS[1:]


@pytest.fixture(scope="module")
def v():
    return page_values("principles/06_beyond_limits")


def gcn_matrix(G):
    a = nx.to_numpy_array(G, nodelist=sorted(G), weight=None) + np.eye(len(G))
    d = a.sum(axis=1)
    return a / np.sqrt(np.outer(d, d))


def mplib_barbell(m, L):
    """mplib's barbell numbering: clique 0..m-1, path m..m+L-1, clique m+L..2m+L-1."""
    G = nx.complete_graph(m)
    G.add_edges_from((a + m + L, b + m + L) for a, b in itertools.combinations(range(m), 2))
    nx.add_path(G, [m - 1, *range(m, m + L), m + L])
    return G


def kirchhoff(G):
    """Total resistance from the pseudoinverse of networkx's Laplacian (no update formula)."""
    lp = np.linalg.pinv(nx.laplacian_matrix(G, nodelist=sorted(G)).toarray().astype(float))
    d = np.diag(lp)
    return float(np.triu(d[:, None] + d[None, :] - 2 * lp, 1).sum())


# -- over-smoothing ------------------------------------------------------------------------


def test_appnp_output_is_the_personalised_pagerank_fixed_point(v):
    alpha, x0 = v["appnp_alpha"], np.array(v["appnp_x0"])
    G = mplib_barbell(5, 3)
    fixed = alpha * np.linalg.solve(np.eye(len(G)) - (1 - alpha) * gcn_matrix(G), x0)
    steps = v["appnp_steps"]
    assert (1 - alpha) ** steps < 1e-5
    assert np.allclose(v["appnp_out"], fixed, atol=1e-5)     # error <= (1 - alpha)^steps |x|
    assert v["appnp_energy_plain"] < 1e-3 < 0.01 < v["appnp_energy"]


def test_names_of_the_sweep_values(v):
    # the sweep tests below build these names; listed for the coverage check of test_book_pages
    names = ["sweep_plain_2_test", "sweep_plain_2_train", "sweep_plain_2_e0", "sweep_plain_2_e1",
             "sweep_plain_16_test", "sweep_plain_16_train", "sweep_plain_16_e0", "sweep_plain_16_e1",
             "sweep_residual_2_test", "sweep_residual_2_train", "sweep_residual_2_e0", "sweep_residual_2_e1",
             "sweep_residual_16_test", "sweep_residual_16_train", "sweep_residual_16_e0",
             "sweep_residual_16_e1", "sweep_initial_2_test", "sweep_initial_2_train", "sweep_initial_2_e0",
             "sweep_initial_2_e1", "sweep_initial_16_test", "sweep_initial_16_train", "sweep_initial_16_e0",
             "sweep_initial_16_e1", "sweep_pairnorm_2_test", "sweep_pairnorm_2_train", "sweep_pairnorm_2_e0",
             "sweep_pairnorm_2_e1", "sweep_pairnorm_16_test", "sweep_pairnorm_16_train",
             "sweep_pairnorm_16_e0", "sweep_pairnorm_16_e1", "sweep_jk_2_test", "sweep_jk_2_train",
             "sweep_jk_2_e0", "sweep_jk_2_e1", "sweep_jk_16_test", "sweep_jk_16_train", "sweep_jk_16_e0",
             "sweep_jk_16_e1"]
    assert all(0 <= v[n] <= 1 for n in names)
    assert v["sweep_depths"] == [v["sweep_shallow"], v["sweep_deep"]] == [2, 16]   # the names above
    assert v["sweep_epochs"] >= 50 and v["sweep_hidden"] >= 8 and v["sweep_k"] >= 5
    assert 0.5 < v["sweep_h"] <= 1                         # a homophilous graph: the labels are smooth


def s(v, kind, depth, what):
    return v[f"sweep_{kind}_{depth}_{what}"]


def test_plain_deep_stack_fails_and_every_remedy_holds_up(v):
    assert s(v, "plain", 16, "test") < 0.6 < s(v, "plain", 2, "test") - 0.2      # "falls to about one half"
    for kind in ("residual", "initial", "jk"):
        assert s(v, kind, 16, "test") > 0.8 and s(v, kind, 16, "test") > s(v, "plain", 16, "test") + 0.25
    # PairNorm: the roughest last layer of all, yet the least accurate remedy
    assert s(v, "pairnorm", 16, "e1") == max(s(v, k, 16, "e1") for k in VARIANTS)
    assert s(v, "pairnorm", 16, "test") == min(s(v, k, 16, "test") for k in REMEDIES)
    assert s(v, "pairnorm", 16, "test") > s(v, "plain", 16, "test")
    # the plain model's energy is the lowest at depth 16 (the figure's alt text)
    assert s(v, "plain", 16, "e1") == min(s(v, k, 16, "e1") for k in VARIANTS)


def test_smooth_at_the_start_versus_untrainable(v):
    # smooth before learning: the plain and PairNorm stacks, not the initial residual
    assert s(v, "plain", 16, "e0") < 1e-3 and s(v, "pairnorm", 16, "e0") < 1e-2
    assert s(v, "initial", 16, "e0") > 0.1
    # trainability: the plain stack does not fit its labelled nodes, every remedy does
    assert s(v, "plain", 16, "train") < 0.7
    assert all(s(v, k, 16, "train") >= 0.95 for k in REMEDIES)
    assert s(v, "plain", 16, "e1") > s(v, "plain", 16, "e0")                  # training raises it
    # the residual model smooths with depth, more than the other remedies, and stays accurate
    assert s(v, "residual", 16, "e1") < s(v, "residual", 2, "e1")
    assert s(v, "residual", 16, "e1") == min(s(v, k, 16, "e1") for k in REMEDIES)


# -- over-squashing ------------------------------------------------------------------------


def test_barbell_before_and_after_each_remedy(v):
    m, L, k = v["sq_m"], v["sq_L"], v["sq_k"]
    assert k == L + 3
    G = mplib_barbell(m, L)
    n, u, w = len(G), 0, 2 * m + L - 1
    S = gcn_matrix(G)
    # original: the closed forms of the pathologies chapter
    assert v["sq_sens_orig"] == pytest.approx(3.0**-L / (m * (m + 1) ** 2), rel=1e-9)
    assert v["sq_res_orig"] == pytest.approx(4 / m + L + 1, rel=1e-9)
    # virtual node: matrix powers and networkx's resistance on the graph with a hub
    H = G.copy()
    H.add_edges_from((n, a) for a in range(n))
    assert v["sq_sens_vn"] == pytest.approx(np.linalg.matrix_power(gcn_matrix(H), k)[w, u], rel=1e-9)
    assert v["sq_res_vn"] == pytest.approx(nx.resistance_distance(H, u, w), rel=1e-9)
    # fully adjacent last layer: (1/N) 1 1^T after k - 1 ordinary rounds; K_N's resistance 2/N
    assert v["sq_sens_fa"] == pytest.approx(np.linalg.matrix_power(S, k - 1)[:, u].sum() / n, rel=1e-9)
    assert v["sq_res_fa"] == pytest.approx(2 / n)
    # rewiring: the added edges join the two cliques directly, and are the greedy optimum
    added = [tuple(e) for e in v["sq_added"]]
    assert len(added) == v["sq_new_edges"]
    assert all(a < m and b >= m + L for a, b in added)
    R = G.copy()
    for a, b in added:
        best = min(kirchhoff(nx.Graph(list(R.edges) + [e])) for e in nx.non_edges(R))
        R.add_edge(a, b)
        assert kirchhoff(R) == pytest.approx(best)
    assert v["sq_total_before"] == pytest.approx(kirchhoff(G))
    assert kirchhoff(G) == pytest.approx(sum(nx.resistance_distance(G, a, b)
                                             for a, b in itertools.combinations(sorted(G), 2)))
    assert v["sq_total_after"] == pytest.approx(kirchhoff(R))
    assert v["sq_sens_rw"] == pytest.approx(np.linalg.matrix_power(gcn_matrix(R), k)[w, u], rel=1e-9)
    assert v["sq_res_rw"] == pytest.approx(nx.resistance_distance(R, u, w), rel=1e-9)
    # every remedy raises the sensitivity and lowers the resistance
    for key in ("vn", "fa", "rw"):
        assert v[f"sq_sens_{key}"] > 10 * v["sq_sens_orig"] and v[f"sq_res_{key}"] < v["sq_res_orig"]
    assert v["sq_res_vn"] < 1                            # the exercise: well below one ohm


def test_tree_root_and_leaf_before_and_after(v):
    d = v["nm_depth"]
    T = nx.balanced_tree(2, d)                        # BFS numbering, as mplib's tree
    n, root, leaf = len(T), 0, len(T) - 1
    assert v["tree_nodes"] == n == 2 ** (d + 1) - 1
    S = gcn_matrix(T)
    assert v["tree_sens_orig"] == pytest.approx(np.linalg.matrix_power(S, d)[root, leaf], rel=1e-9)
    assert v["tree_res_orig"] == pytest.approx(d)     # one ohm per edge of the only path
    H = T.copy()
    H.add_edges_from((n, a) for a in range(n))
    assert v["tree_sens_vn"] == pytest.approx(np.linalg.matrix_power(gcn_matrix(H), d)[root, leaf], rel=1e-9)
    assert v["tree_res_vn"] == pytest.approx(nx.resistance_distance(H, root, leaf), rel=1e-9)
    assert v["tree_sens_fa"] == pytest.approx(np.linalg.matrix_power(S, d - 1)[:, leaf].sum() / n, rel=1e-9)
    assert v["tree_res_fa"] == pytest.approx(2 / n)
    # "rises only modestly": less than fivefold, where the barbell gained orders of magnitude
    for key in ("vn", "fa"):
        assert v["tree_sens_orig"] < v[f"tree_sens_{key}"] < 5 * v["tree_sens_orig"]


def test_curvature_falls_under_the_resistance_rewiring(v):
    m = v["sq_m"]
    assert v["sq_curv_before"] == pytest.approx(2 / m + 2 / 2 - 2)   # the bridge edge, tree-like
    assert v["sq_curv_after"] < v["sq_curv_before"]


def test_fully_adjacent_attention_helps_on_tree_neighbors_match(v):
    assert v["nm_depth"] == 3 and v["nm_tail"] < v["nm_steps"]
    assert 0.5 < v["nm_plain"] < v["nm_fa"] - 0.03


# -- past 1-WL -----------------------------------------------------------------------------


def spd_hash(G):
    """SPD-WL by networkx: WL hash on the complete graph whose edges carry the distance."""
    d = dict(nx.all_pairs_shortest_path_length(G))
    K = nx.complete_graph(list(G))
    nx.set_edge_attributes(K, {(a, b): str(d[a].get(b, -1)) for a, b in K.edges}, "d")
    return nx.weisfeiler_lehman_graph_hash(K, edge_attr="d", iterations=len(G))


def marked_hash(G):
    out = []
    for a in G:
        H = G.copy()
        nx.set_node_attributes(H, {b: str(int(a == b)) for b in H}, "mark")
        out.append(nx.weisfeiler_lehman_graph_hash(H, node_attr="mark", iterations=len(G)))
    return tuple(sorted(out))


@pytest.mark.filterwarnings("ignore:The hashes produced:UserWarning")  # only equality of hashes is used
def test_the_atlas_census(v):
    atlas = [G for G in nx.graph_atlas_g() if 0 < len(G) <= v["atlas_max_nodes"]]
    assert v["atlas_max_nodes"] == 7 and v["atlas_graphs"] == len(atlas)
    hashes = [nx.weisfeiler_lehman_graph_hash(G, iterations=len(G)) for G in atlas]
    assert v["atlas_wl_classes"] == len(set(hashes))
    pairs = sorted(tuple(p) for p in v["atlas_confused_pairs"])
    expected = sorted((a, b) for a, b in itertools.combinations(range(len(atlas)), 2) if hashes[a] == hashes[b])
    assert pairs == expected and v["atlas_confused"] == len(pairs) > 0
    assert not any(nx.is_isomorphic(atlas[a], atlas[b]) for a, b in pairs)
    assert v["atlas_sep_marked"] == sum(marked_hash(atlas[a]) != marked_hash(atlas[b]) for a, b in pairs)
    assert v["atlas_sep_distances"] == sum(spd_hash(atlas[a]) != spd_hash(atlas[b]) for a, b in pairs)
    assert v["atlas_sep_peripheral"] == v["atlas_confused"] == v["atlas_sep_marked"]  # "every pair"
    assert 0 < v["atlas_sep_distances"] < v["atlas_confused"]

    def cycles(G, length):
        return sum(1 for c in nx.simple_cycles(G, length_bound=length) if len(c) == length)

    assert v["atlas_tri_differ"] == sum(cycles(atlas[a], 3) != cycles(atlas[b], 3) for a, b in pairs)
    assert v["atlas_c4_differ"] == sum(cycles(atlas[a], 4) != cycles(atlas[b], 4) for a, b in pairs)


def test_peripheral_features_of_k33_and_the_prism(v):
    for G, key in ((nx.complete_bipartite_graph(3, 3), "pf_k33"), (nx.circular_ladder_graph(3), "pf_prism")):
        d = nx.single_source_shortest_path_length(G, 0)
        rings = [[a for a, k in d.items() if k == hop] for hop in (1, 2)]
        assert v[key] == [x for r in rings for x in (len(r), G.subgraph(r).number_of_edges())]


# -- readouts, pooling ---------------------------------------------------------------------


def test_readouts_by_hand(v):
    sets = {"A": [1.0, 2.0], "B": [1.0, 1.0, 2.0, 2.0], "C": [1.0, 2.0, 2.0]}
    for name, xs in sets.items():
        xs = np.array(xs)
        w = np.exp(0.7 * xs) / np.exp(0.7 * xs).sum()
        assert v[f"ro_sum_{name}"] == pytest.approx(xs.sum())
        assert v[f"ro_mean_{name}"] == pytest.approx(xs.mean())
        assert v[f"ro_max_{name}"] == pytest.approx(xs.max())
        assert v[f"ro_attention_{name}"] == pytest.approx(w @ xs)
    assert len({v["ro_sum_A"], v["ro_sum_B"], v["ro_sum_C"]}) == 3
    assert v["ro_mean_A"] == pytest.approx(v["ro_mean_B"]) and v["ro_mean_C"] != pytest.approx(v["ro_mean_A"])
    assert v["ro_max_A"] == v["ro_max_B"] == v["ro_max_C"]
    assert v["ro_attention_A"] == pytest.approx(v["ro_attention_B"])
    assert v["ro_attention_C"] != pytest.approx(v["ro_attention_A"])


def test_cluster_pooling_of_two_joined_triangles(v):
    G = nx.Graph([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])
    Q = nx.quotient_graph(G, [{0, 1, 2}, {3, 4, 5}], relabel=True)
    assert v["pool_x"] == [3.0, 3.0]
    assert v["pool_inside"] == 2 * Q.nodes[0]["nedges"] == 6
    assert v["pool_between"] == Q.edges[0, 1]["weight"] == 1


# -- graph transformers --------------------------------------------------------------------


def test_encodings_and_bias(v):
    assert v["pe_error"] < 1e-9 and v["pe_error_path"] > 0.1
    # returning after 3 steps: impossible on the bipartite hexagon; 2 * (1/2)^3 on a triangle
    assert v["rw_c6"] == 0 and v["rw_tri"] == pytest.approx(2 * 0.5**3)
    assert v["bias_change"] > 0.1


def test_cost_of_all_pairs(v):
    assert v["cost_scores"] == [n * n for n in v["cost_sizes"]]
    # one float64 score per ordered pair: 8 N^2 bytes, in MiB
    assert v["cost_mib"] == pytest.approx([8 * n * n / 2**20 for n in v["cost_sizes"]])
    assert v["cost_mib_last"] == pytest.approx(8 * v["cost_n_last"] ** 2 / 2**20)
    assert v["cost_n_last"] == max(v["cost_sizes"])
