"""The claims of book/principles/03_pathologies.md, checked on the page's own numbers.

Values come from the executed page (:func:`book_values.page_values`). References: the
spectrum of the normalised adjacency computed here with numpy from networkx's graphs, and
the closed forms the page derives (barbell sensitivity and resistance, the tree-like
curvature 2/d_i + 2/d_j - 2, the Petersen graph's transport by hand).
"""

import math

import networkx as nx
import numpy as np
import pytest

from book_values import page_values

pytestmark = pytest.mark.needs_book


@pytest.fixture(scope="module")
def v():
    return page_values("principles/03_pathologies")


def second_eigenvalue(G):
    """Largest |mu| below the top of D~^-1/2 (A + I) D~^-1/2, by a dense numpy eigensolver."""
    A = nx.to_numpy_array(G, weight=None) + np.eye(len(G))   # unweighted, as the page
    d = A.sum(axis=1)
    mu = np.linalg.eigvalsh(A / np.sqrt(np.outer(d, d)))
    return np.abs(mu[:-1]).max()


GRAPHS = {"grid": lambda: nx.grid_2d_graph(6, 6), "karate": nx.karate_club_graph}


def test_graph_sizes(v):
    assert v["grid_nodes"] == len(GRAPHS["grid"]()) and v["karate_nodes"] == len(nx.karate_club_graph())


@pytest.mark.parametrize("name", ["grid", "karate"])
def test_energy_decays_like_lambda_squared(v, name):
    lam = second_eigenvalue(GRAPHS[name]())
    glued = {key: v[f"{key}_{name}"] for key in ("lam", "lam2", "rate", "err", "cross", "bound", "final")}
    assert glued["lam"] == pytest.approx(lam, abs=1e-9) and glued["lam2"] == pytest.approx(lam**2)
    assert glued["rate"] == pytest.approx(lam**2, abs=1e-3)     # measured over the last rounds
    assert glued["err"] < 1e-8                                  # formula = measurement
    assert glued["bound"] == math.ceil(math.log(v["threshold"]) / (2 * math.log(lam)))
    assert glued["cross"] <= glued["bound"]                     # the bound holds for every input
    assert glued["final"] < v["threshold"] and v["tail"] < v["rounds"]


def test_names_of_the_energy_values(v):
    # test_energy_decays_like_lambda_squared builds these names; listed for the coverage check
    names = ["lam_grid", "lam2_grid", "rate_grid", "err_grid", "cross_grid", "bound_grid", "final_grid",
             "lam_karate", "lam2_karate", "rate_karate", "err_karate", "cross_karate", "bound_karate",
             "final_karate"]
    assert all(isinstance(v[n], (int, float)) for n in names)
    assert v["lam_karate"] < v["lam_grid"]                      # faster on the karate club


def test_barbell_sensitivity_and_resistance_closed_forms(v):
    m, M, L = v["m_small"], v["m_big"], v["L_last"]
    assert v["sens_first"] == pytest.approx(1 / (m * (m + 1) ** 2), rel=1e-9)
    assert v["sens_last"] == pytest.approx(3.0**-L / (m * (m + 1) ** 2), rel=1e-9)
    assert v["sens_ratio"] == pytest.approx(1 / 3, rel=1e-9)
    assert v["sens_first_big"] == pytest.approx(1 / (M * (M + 1) ** 2), rel=1e-9)
    assert v["res_first"] == pytest.approx(4 / m + 1, rel=1e-9)   # 2/m + (L + 1) + 2/m
    assert v["res_last"] == pytest.approx(4 / m + L + 1, rel=1e-9)
    assert v["res_step"] == pytest.approx(1.0, rel=1e-9)


def test_curvature_of_the_barbell(v):
    m = v["curv_m"]
    assert v["curv_L"] >= 1
    assert v["tree_formula"] == pytest.approx(2 / m + 2 / 2 - 2)
    assert v["bf_bridge"] == pytest.approx(v["tree_formula"]) and v["or_bridge"] == pytest.approx(v["tree_formula"])
    assert v["bf_clique_min"] > 0 and v["or_clique_min"] > 0
    assert v["long_flat"] == 0 and v["long_L"] >= 2               # a path is flat


def test_curvature_of_star_and_petersen(v):
    hub = 3                                                        # star_graph(3)
    assert v["leaf_curv"] == 0 and v["leaf_formula"] == pytest.approx(2 / 1 + 2 / hub - 2)
    assert nx.girth(nx.petersen_graph()) == 5
    assert v["petersen_bf"] == pytest.approx(2 / 3 + 2 / 3 - 2)
    # neighbour measures: x->y costs 1, one neighbour each side 1 hop via the edge, the last
    # pair 2 hops (a 5-cycle): W1 = (1 + 1 + 2) / 3, curvature 1 - W1
    assert v["petersen_or"] == pytest.approx(1 - 4 / 3)


def test_cora_over_smoothing_matches_numpy(v):
    """Energy and nearest-mean accuracy of Cora's propagated features, again in scipy/numpy."""
    import scipy.sparse as sp

    from mplib import datasets

    cora = datasets.load("cora")
    n, (src, dst) = cora.num_nodes, cora.edge_index
    a = sp.csr_matrix((np.ones(len(src)), (dst, src)), shape=(n, n)) + sp.identity(n)
    d = np.asarray(a.sum(1)).ravel()
    s = sp.diags(d ** -0.5) @ a @ sp.diags(d ** -0.5)
    h = cora.x / cora.x.sum(1, keepdims=True)
    tr, te, y = cora.train_mask, cora.test_mask, cora.y
    energy, acc = [], []
    assert v["cora-depths"] == [0, 1, 2, 4, 8, 16, 32, 64]
    assert v["cora-k-max"] == 64
    for k in range(65):
        if k in v["cora-depths"]:
            g = h / np.sqrt(d)[:, None]                      # x_i / sqrt(1 + d_i)
            energy.append(0.5 * ((g[dst] - g[src]) ** 2).sum())
            means = np.stack([h[tr & (y == c)].mean(0) for c in range(7)])
            nearest = np.array([np.argmin(((means - row) ** 2).sum(1)) for row in h[te]])
            acc.append(np.mean(nearest == y[te]))
        h = s @ h
    ratio = [e / energy[0] for e in energy]
    assert v["cora-energy-ratio"] == pytest.approx(ratio, rel=1e-9)
    assert v["cora-ncm-acc"] == pytest.approx(acc, abs=1e-12)
    assert all(b < a for a, b in zip(ratio, ratio[1:]))     # the energy only falls
    best = int(np.argmax(acc))
    assert v["cora-best-k"] == v["cora-depths"][best] and v["cora-best-acc"] == acc[best]
    assert v["cora-acc-0"] == acc[0] < acc[best] and v["cora-acc-64"] == acc[-1] < acc[0]
    assert v["cora-ratio-64"] == pytest.approx(ratio[-1], rel=1e-9) and ratio[-1] < 1e-3
