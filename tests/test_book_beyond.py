"""The claims of book/principles/06_beyond_limits.md, checked on the page's own numbers.

Values come from the executed page (:func:`book_values.page_values`). References computed here
without mplib's propagation code: the personalised-PageRank fixed point and matrix powers of the
GCN matrix in numpy from networkx's barbell, closed forms (barbell sensitivity and resistance,
K_n resistance, the tree-like curvature), networkx's resistance distance, WL hash (plain, marked,
with distances as edge labels), isomorphism test and cycle enumeration over its graph atlas, and
the readouts by hand. The weightless depth sweep is recomputed on the same SBM graphs and on
Cora with a scipy GCN matrix, the Laplacian quadratic form for the energy, the singular
directions from ``eigh`` (the page uses ``svds``) and ridge by least squares on the primal
(the page solves the dual). The trained sweep is checked for what the prose says of it: the
seed means, the orderings and the monotone trends. The barbell transfer task is checked by
networkx's shortest paths (depth equals the distance; the remedies' shortcuts) and by a binomial
band around the chance level 1 / classes for the plain GCN.
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


def greedy_rewired(G, added):
    """G with the edges ``added``, checking that each is the best of all non-edges at its turn."""
    R = G.copy()
    for a, b in added:
        best = min(kirchhoff(nx.Graph(list(R.edges) + [e])) for e in nx.non_edges(R))
        R.add_edge(a, b)
        assert kirchhoff(R) == pytest.approx(best)
    return R


# -- over-smoothing ------------------------------------------------------------------------


def test_appnp_output_is_the_personalised_pagerank_fixed_point(v):
    alpha, x0 = v["appnp_alpha"], np.array(v["appnp_x0"])
    G = mplib_barbell(5, 3)
    fixed = alpha * np.linalg.solve(np.eye(len(G)) - (1 - alpha) * gcn_matrix(G), x0)
    steps = v["appnp_steps"]
    assert (1 - alpha) ** steps < 1e-5
    assert np.allclose(v["appnp_out"], fixed, atol=1e-5)     # error <= (1 - alpha)^steps |x|
    assert v["appnp_energy_plain"] < 1e-3 < 0.01 < v["appnp_energy"]


SWEEP_SCALARS = ["sweep_plain_2_test", "sweep_plain_8_test", "sweep_plain_16_test", "sweep_residual_16_test",
                 "sweep_initial_16_test", "sweep_pairnorm_16_test", "sweep_jk_16_test", "sweep_plain_2_e0",
                 "sweep_plain_16_e0", "sweep_initial_2_e0", "sweep_initial_16_e0", "sweep_plain_16_train",
                 "sweep_plain_16_e1", "sweep_pairnorm_16_e1", "sweep_residual_2_e1", "sweep_residual_16_e1"]
WHAT = {"test": 0, "train": 1, "e0": 2, "e1": 3}


def mean_run(v, kind, depth, what):
    """Mean over the seeds of one quantity of the trained sweep, from the glued runs."""
    runs = v["sweep_runs"][kind][v["sweep_depths"].index(depth)]
    return float(np.mean([r[WHAT[what]] for r in runs]))


def test_trained_sweep_parameters_and_runs(v):
    assert v["sweep_depths"] == [2, 4, 8, 16] and v["sweep_shallow"] == 2 and v["sweep_deep"] == 16
    assert v["sweep_seeds"] == 3 and v["sweep_epochs"] >= 50 and v["sweep_hidden"] >= 8 and v["sweep_k"] >= 5
    assert 0.5 < v["sweep_h"] <= 1                         # a homophilous graph: the labels are smooth
    runs = v["sweep_runs"]
    assert sorted(runs) == sorted(VARIANTS)
    for kind in VARIANTS:
        arr = np.array(runs[kind])                         # depth x seed x (test, train, e0, e1)
        assert arr.shape == (4, 3, 4)
        assert np.all((0 <= arr[..., :2]) & (arr[..., :2] <= 1)) and np.all(arr[..., 2:] >= 0)
        # energies relative to the norm lie in [0, 2] (the eigenvalues of I - S)
        assert np.all(arr[..., 2:] <= 2)
    # every number the prose states is the mean over the seeds of the glued runs
    for name in SWEEP_SCALARS:
        _, kind, depth, what = name.split("_")
        assert v[name] == pytest.approx(mean_run(v, kind, int(depth), what), abs=1e-12)
    assert v["sweep_remedy_train_min"] == pytest.approx(min(mean_run(v, k, 16, "train") for k in REMEDIES))


def test_plain_deep_stack_fails_and_every_remedy_holds_up(v):
    # "holds up to 8 layers, then falls to a coin toss at 16"
    assert v["sweep_plain_8_test"] > 0.75 and v["sweep_plain_2_test"] > 0.75
    assert v["sweep_plain_16_test"] < 0.6 < v["sweep_plain_2_test"] - 0.2
    for kind in ("residual", "initial", "jk"):
        assert v[f"sweep_{kind}_16_test"] > 0.8 > v["sweep_plain_16_test"] + 0.2
    # PairNorm: the roughest last layer of all, yet the least accurate remedy, still above plain
    assert v["sweep_pairnorm_16_e1"] == max(mean_run(v, k, 16, "e1") for k in VARIANTS)
    assert v["sweep_pairnorm_16_test"] == min(mean_run(v, k, 16, "test") for k in REMEDIES)
    assert v["sweep_pairnorm_16_test"] > v["sweep_plain_16_test"]
    # the residual model's energy falls with depth; at 16 layers the smoothest of all, yet accurate
    res = [mean_run(v, "residual", d, "e1") for d in v["sweep_depths"]]
    assert all(b < a for a, b in zip(res, res[1:]))
    assert v["sweep_residual_16_e1"] == min(mean_run(v, k, 16, "e1") for k in VARIANTS)


def test_smooth_at_the_start_versus_untrainable(v):
    # at the random start the plain stack's energy falls with depth, by two orders of magnitude
    e0 = [mean_run(v, "plain", d, "e0") for d in v["sweep_depths"]]
    assert all(b < a for a, b in zip(e0, e0[1:]))
    assert v["sweep_plain_16_e0"] < v["sweep_plain_2_e0"] / 100
    # the initial residual's goes the other way and stays rough
    e0_init = [mean_run(v, "initial", d, "e0") for d in v["sweep_depths"]]
    assert v["sweep_initial_16_e0"] > v["sweep_initial_2_e0"] and min(e0_init) > 0.1
    # trainability: the plain stack does not fit its labelled nodes, every remedy does
    assert v["sweep_plain_16_train"] < 0.7 and v["sweep_remedy_train_min"] >= 0.9
    assert v["sweep_plain_16_e1"] > v["sweep_plain_16_e0"]                    # training raises it
    # smoothing alone does not explain the trained failure: weightless 16 steps still read well
    assert v["prop_sbm_plain_16"] == pytest.approx(np.mean([r["plain,16"][0] for r in v["prop_sbm_runs"]]))
    assert v["prop_sbm_plain_16"] > v["sweep_plain_16_test"] + 0.1


# -- weightless propagation sweep, recomputed without mplib's propagation -------------------


def sparse_gcn(edge_index, n):
    """D~^-1/2 (A + I) D~^-1/2 as a scipy matrix, from the edge list."""
    import scipy.sparse as sp

    a = sp.csr_matrix((np.ones(edge_index.shape[1]), (edge_index[1], edge_index[0])), shape=(n, n))
    a = a + sp.identity(n, format="csr")
    d = np.asarray(a.sum(axis=1)).ravel() ** -0.5
    return sp.diags(d) @ a @ sp.diags(d)


def states(x, s, scheme, alpha, depths):
    """The propagated features by a plain loop (no mplib)."""
    h, hops, out = x, [x], {}
    for k in range(1, max(depths) + 1):
        h = (1 - alpha) * (s @ h) + alpha * x if scheme == "initial" else s @ h
        hops.append(h)
        if k in depths:
            out[k] = np.hstack(hops) if scheme == "jk" else h
    return out


def ridge_primal(features, y, split, penalties):
    """Ridge by least squares on [A; sqrt(p) I] (the page solves the dual), penalty chosen on val."""
    train, val, test = split
    design = np.hstack([features, np.ones((len(y), 1))])
    target = np.eye(y.max() + 1)[y[train]]
    f = design.shape[1]

    def score(p, rows):
        a = np.vstack([design[train], np.sqrt(p) * np.eye(f)])
        w = np.linalg.lstsq(a, np.vstack([target, np.zeros((f, target.shape[1]))]), rcond=None)[0]
        return float(np.mean((design[rows] @ w).argmax(1) == y[rows]))

    best = max(penalties, key=lambda p: score(p, val))
    return score(best, test)


def rel_energy(h, s):
    """tr(h^T (I - S) h) / |h|^2: the augmented normalised Laplacian's quadratic form."""
    return float(np.sum(h * h) - np.sum(h * (s @ h))) / float(np.sum(h * h))


def test_weightless_sweep_on_the_sbm_recomputed(v):
    from mplib.data import split_per_class
    from mplib.generators import contextual_sbm

    assert v["prop_depths"] == [1, 2, 4, 8, 16, 32, 64] and v["prop_deepest"] == 64
    csbm = dict(num_nodes=400, avg_degree=5.0, homophily=v["sweep_h"], mu=1.0, feature_dim=2)
    for seed, run in enumerate(v["prop_sbm_runs"]):
        g = contextual_sbm(**csbm, rng=seed)             # the data, drawn as the page draws it
        split = split_per_class(g.y, v["sweep_k"], num_val=v["prop_val"], rng=seed)
        s = sparse_gcn(g.edge_index, g.num_nodes)
        for scheme in ("plain", "initial", "jk"):
            for k, h in states(g.x, s, scheme, v["prop_alpha"], v["prop_depths"]).items():
                acc, energy = run[f"{scheme},{k}"]
                assert energy == pytest.approx(rel_energy(h, s), rel=1e-6, abs=1e-14)
                assert acc == pytest.approx(ridge_primal(h, g.y, split, v["prop_penalties"]), abs=0.004)
    assert v["prop_sbm_plain_energy_1"] == pytest.approx(np.mean([r["plain,1"][1] for r in v["prop_sbm_runs"]]))


@pytest.fixture(scope="module")
def cora_features(v):
    """Cora's word indicators projected on their leading right singular vectors (by eigh, not svds)."""
    from mplib import datasets

    cora = datasets.load("cora")
    _, vecs = np.linalg.eigh(cora.x.T @ cora.x)
    return cora, cora.x @ vecs[:, -v["cora_rank"]:]


def test_weightless_sweep_on_cora_recomputed(v, cora_features):
    cora, x = cora_features
    assert (v["cora_nodes"], v["cora_classes"], v["cora_train"], v["cora_words"]) == (2708, 7, 140, 1433)
    assert v["cora_rank"] < v["cora_words"]
    s = sparse_gcn(cora.edge_index, cora.num_nodes)
    split = [np.flatnonzero(m) for m in (cora.train_mask, cora.val_mask, cora.test_mask)]
    res = v["prop_cora"]
    for scheme, depths in (("plain", v["prop_depths"]), ("initial", v["prop_depths"]), ("jk", [1, 2, 4])):
        for k, h in states(x, s, scheme, v["prop_alpha"], depths).items():
            acc, energy = res[f"{scheme},{k}"]
            assert energy == pytest.approx(rel_energy(h, s), rel=1e-6)
            assert acc == pytest.approx(ridge_primal(h, cora.y, split, v["prop_penalties"]), abs=0.003)
    assert v["prop_cora_plain_energy_1"] == res["plain,1"][1]


PROP_SCALARS = ["prop_sbm_plain_acc", "prop_sbm_plain_energy", "prop_sbm_residual_acc", "prop_sbm_residual_energy",
                "prop_sbm_initial_acc", "prop_sbm_initial_energy", "prop_sbm_pairnorm_acc",
                "prop_sbm_pairnorm_energy", "prop_sbm_jk_acc", "prop_sbm_jk_energy",
                "prop_cora_plain_acc", "prop_cora_plain_energy", "prop_cora_residual_acc",
                "prop_cora_residual_energy", "prop_cora_initial_acc", "prop_cora_initial_energy",
                "prop_cora_pairnorm_acc", "prop_cora_pairnorm_energy", "prop_cora_jk_acc", "prop_cora_jk_energy"]
PROP_BEST = ["prop_sbm_plain_best", "prop_sbm_plain_best_K", "prop_cora_plain_best", "prop_cora_plain_best_K"]


def prop_table(v, name):
    """(kind, K) -> (accuracy, energy): the seed mean on the SBM, the one run on Cora."""
    if name == "sbm":
        runs = v["prop_sbm_runs"]
        return {key: np.mean([r[key] for r in runs], axis=0) for key in runs[0]}
    return {key: np.array(val) for key, val in v["prop_cora"].items()}


def test_weightless_prose_numbers_are_the_deepest_entries(v):
    deepest = v["prop_depths"][-1]
    for full in PROP_SCALARS:
        _, name, kind, what = full.split("_")
        assert v[full] == pytest.approx(prop_table(v, name)[f"{kind},{deepest}"][("acc", "energy").index(what)])
    for name in ("sbm", "cora"):
        table = prop_table(v, name)
        acc = [table[f"plain,{k}"][0] for k in v["prop_depths"]]
        assert v[PROP_BEST[2 * (name == "cora")]] == pytest.approx(max(acc))
        assert v[PROP_BEST[2 * (name == "cora") + 1]] == v["prop_depths"][acc.index(max(acc))] <= 8


@pytest.mark.parametrize("name", ["sbm", "cora"])
def test_weightless_sweep_claims(v, name):
    depths = v["prop_depths"]
    table = prop_table(v, name)
    per_seed = v["prop_sbm_runs"] if name == "sbm" else [v["prop_cora"]]

    def series(kind, j):
        return [table[f"{kind},{k}"][j] for k in depths]

    # plain: the energy falls with every step (in every seed), the accuracy peaks early, then falls
    for run in per_seed:
        e = [run[f"plain,{k}"][1] for k in depths]
        assert all(b < a for a, b in zip(e, e[1:]))
    assert v[f"prop_{name}_plain_acc"] < max(series("plain", 0)) - 0.05
    # the initial residual levels off at the PPR fixed point and keeps its accuracy; JK too
    e_init = series("initial", 1)
    assert abs(e_init[-1] - e_init[-2]) < 0.01 * e_init[-1] and e_init[-1] > 0.02
    assert v[f"prop_{name}_initial_energy"] > 10 * v[f"prop_{name}_plain_energy"]
    assert v[f"prop_{name}_initial_acc"] > v[f"prop_{name}_plain_acc"] + 0.03
    assert v[f"prop_{name}_jk_acc"] > v[f"prop_{name}_plain_acc"] + 0.03
    assert v[f"prop_{name}_jk_energy"] > 10 * v[f"prop_{name}_plain_energy"]
    # the lazy residual is rougher than plain at every depth (it only slows the collapse)
    assert all(r > p for r, p in zip(series("residual", 1), series("plain", 1)))
    # PairNorm without weights: the accuracy falls like the plain one's
    assert v[f"prop_{name}_pairnorm_acc"] < max(series("pairnorm", 0)) - 0.05
    assert v[f"prop_{name}_pairnorm_acc"] < v[f"prop_{name}_initial_acc"]


def test_weightless_sweep_sbm_extremes(v):
    # on the SBM the plain readout falls to a coin toss, the residual one nearly so
    assert v["prop_sbm_plain_acc"] < 0.55 and v["prop_sbm_residual_acc"] < 0.6
    assert v["prop_sbm_plain_energy"] < 1e-6 < v["prop_sbm_plain_energy_1"]
    # PairNorm keeps the energy a thousandfold above plain, yet "hardly better than a coin"
    assert v["prop_sbm_pairnorm_energy"] > 1e3 * v["prop_sbm_plain_energy"]
    assert v["prop_sbm_pairnorm_acc"] < 0.6


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
    R = greedy_rewired(G, added)
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
    # the greedy rewiring: each added edge is the best one, by the pseudoinverse of the Laplacian
    added = [tuple(e) for e in v["tree_added"]]
    assert len(added) == v["sq_new_edges"]
    R = greedy_rewired(T, added)
    assert v["tree_total_before"] == pytest.approx(kirchhoff(T))
    assert v["tree_total_after"] == pytest.approx(kirchhoff(R)) and v["tree_total_after"] < v["tree_total_before"]
    assert v["tree_sens_rw"] == pytest.approx(np.linalg.matrix_power(gcn_matrix(R), d)[root, leaf], rel=1e-9)
    assert v["tree_res_rw"] == pytest.approx(nx.resistance_distance(R, root, leaf), rel=1e-9)
    # "join the two halves low down, across the root"; resistance down, sensitivity down too
    halves = [set(nx.descendants(nx.bfs_tree(T, 0), c)) | {c} for c in (1, 2)]
    assert all(0 not in e and ((e[0] in halves[0]) != (e[1] in halves[0])) for e in added)
    assert v["tree_res_rw"] < v["tree_res_orig"] and v["tree_sens_rw"] < v["tree_sens_orig"]
    # "rises only modestly": less than fivefold, where the barbell gained orders of magnitude
    for key in ("vn", "fa"):
        assert v["tree_sens_orig"] < v[f"tree_sens_{key}"] < 5 * v["tree_sens_orig"]


def test_curvature_falls_under_the_resistance_rewiring(v):
    m = v["sq_m"]
    assert v["sq_curv_before"] == pytest.approx(2 / m + 2 / 2 - 2)   # the bridge edge, tree-like
    assert v["sq_curv_after"] < v["sq_curv_before"]


def test_attention_to_the_root_helps_on_tree_neighbors_match_and_a_summing_hub_does_not(v):
    """Answers are fair coin flips (chance 0.5). The orderings and margins the prose states held
    on seeds 0-4 at this budget (400 steps): sums only 0.77-0.85, attention 0.96-1.00, virtual
    node 0.64-0.72; at 200 steps the attention's lead was not there on every seed."""
    assert v["nm_depth"] == 3 and v["nm_tail"] < v["nm_steps"] == 400
    assert 0.5 < v["nm_vn"] < v["nm_plain"] - 0.05          # "below the sums-only network"
    assert v["nm_plain"] + 0.1 < v["nm_fa"]                 # "a direct look-up is easier"


def test_barbell_transfer_reaches_exactly_and_the_shortcuts_shorten(v):
    """The GCN has as many layers as hops from u to v; the remedies' hops by networkx."""
    m, L, k = v["sq_m"], v["sq_L"], v["sq_k"]
    G = mplib_barbell(m, L)
    n, u, w = len(G), 0, 2 * m + L - 1
    assert v["tr_hops_orig"] == nx.shortest_path_length(G, u, w) == k   # just enough rounds
    H = G.copy()
    H.add_edges_from((n, a) for a in range(n))
    R = G.copy()
    R.add_edges_from(tuple(e) for e in v["sq_added"])
    assert v["tr_hops"] == [k, nx.shortest_path_length(H, u, w), nx.shortest_path_length(R, u, w)]
    assert v["tr_hops"][1] == 2                          # through the virtual node
    # "the rewiring's two edges land next to the target": each touches v or a neighbour of v
    assert all(w in e or G.has_edge(w, e[1]) for e in v["sq_added"])
    assert v["tr_hops_rw"] == v["tr_hops"][2] < k
    # ex-beyond-4's solution: "they bring u within two hops of v" (a two-layer GCN then reaches)
    assert max(v["tr_hops"][1:]) <= 2


def test_barbell_transfer_original_at_chance_remedies_across(v):
    """The plain GCN scores within a binomial band around chance; every remedy far above it."""
    c, n_test = v["tr_classes"], v["tr_test"]
    assert v["tr_chance"] == pytest.approx(1 / c)
    assert n_test >= 200 and n_test % v["tr_batch"] == 0
    accs = {"orig": v["tr_acc_orig"], "vn": v["tr_acc_vn"], "rw": v["tr_acc_rw"],
            "fa": v["tr_acc_fa"]}
    # the budget the robustness over seeds 0-7 was checked at (every remedy 1.000, original
    # 0.27-0.37); a smaller one left some remedies at chance on some seeds
    assert v["tr_steps"] == 200 and v["tr_hidden"] == 32 and v["tr_batch"] == 32
    for acc in accs.values():                            # a fraction of the test instances
        assert acc * n_test == pytest.approx(round(acc * n_test))
    # "no better than guessing": within four binomial standard deviations of 1 / c
    p = 1 / c
    assert abs(accs["orig"] - p) <= 4 * math.sqrt(p * (1 - p) / n_test)
    # "every remedy gets the label across", "at least tr_gain_min above the original"
    gains = [accs[key] - accs["orig"] for key in ("vn", "rw", "fa")]
    assert v["tr_gain_min"] == pytest.approx(min(gains))
    assert v["tr_gain_min"] > 0.5
    assert min(accs[key] for key in ("vn", "rw", "fa")) > 0.9


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
