"""Every claim of book/principles/03_pathologies.md ("When conversations go wrong"), recomputed.

The page is the demo, these tests are the guarantee. They use the page's parameters (kept in sync
by ``test_page_parameters_match_the_tests``) and, where possible, an oracle independent of the
mplib function under test: propagation matrices built by hand from networkx, the closed forms
derived on the page (series resistors, path products, tree-like curvature).
"""

import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mplib.curvature import balanced_forman_curvature, ollivier_ricci_curvature
from mplib.diagnostics import dirichlet_energy, effective_resistance, jacobian_sensitivity, smoothing_rate
from mplib.generators import barbell_graph, cycle_graph, grid_graph, path_graph, star_graph
from mplib.graph import add_self_loops, from_networkx, to_networkx
from mplib.layers import gcn_conv
from mplib.message_passing import propagate

PAGE = Path(__file__).resolve().parent.parent / "book" / "principles" / "03_pathologies.md"

# The page's parameters (its first code cell).
SEED = 0
ROUNDS = 40
CHANNELS = 4
GRID_SHAPE = (6, 6)
THRESHOLD = 1e-3
CLIQUE_SIZES = (4, 8)
PATH_LENGTHS = tuple(range(9))
CURVATURE_BARBELL = (5, 1)
LONG_BARBELL = (5, 3)
TAIL = 10  # the page measures the rate over the last TAIL rounds

GRAPHS = {"grid": lambda: grid_graph(*GRID_SHAPE), "karate": lambda: from_networkx(nx.karate_club_graph())}


def page_inputs():
    """The random features of the page: one draw per graph, in the page's order."""
    rng = np.random.default_rng(SEED)
    return {name: rng.normal(size=(make().num_nodes, CHANNELS)) for name, make in GRAPHS.items()}


def gcn_step(h, edge_index):
    return gcn_conv(h, edge_index, np.eye(h.shape[1]))


def mean_step(h, edge_index):
    loops, _ = add_self_loops(edge_index, num_nodes=h.shape[0])
    return propagate(h, loops, aggregate="mean")


STEPS = {"gcn": (gcn_step, True), "mean": (mean_step, False)}  # operator -> (step, normalised energy)


def energies(operator, x, edge_index, rounds=ROUNDS):
    step, normalized = STEPS[operator]
    out, h = [], x
    for _ in range(rounds + 1):
        out.append(dirichlet_energy(h, edge_index, normalized=normalized))
        h = step(h, edge_index)
    return np.array(out)


def oracle_spectrum(graph):
    """Eigen-decomposition of S_hat = D~^-1/2 (A + I) D~^-1/2, built from networkx by hand."""
    a = nx.to_numpy_array(to_networkx(graph), nodelist=range(graph.num_nodes)) + np.eye(graph.num_nodes)
    inv_sqrt = 1 / np.sqrt(a.sum(axis=1))
    mu, u = np.linalg.eigh(inv_sqrt[:, None] * a * inv_sqrt[None, :])
    return mu, u, a.sum(axis=1)


def oracle_lambda(graph):
    mu, _, _ = oracle_spectrum(graph)
    return np.abs(mu[:-1]).max()  # ascending: leave out the top eigenvalue 1 (connected graph)


def test_page_parameters_match_the_tests():
    text = PAGE.read_text()
    cell = text.split("```{code-cell} ipython3", 2)[1].split("```", 1)[0]
    found = dict(re.findall(r"^([A-Z][A-Z_]+) = ([^#\n]+?)\s*(?:#.*)?$", cell, flags=re.M))
    ours = {k: v for k, v in globals().items() if k.isupper() and k not in ("PAGE", "GRAPHS", "STEPS", "TAIL")}
    assert set(found) == set(ours), f"page parameters {sorted(found)} != test parameters {sorted(ours)}"
    for name, source in found.items():
        assert eval(source, {"tuple": tuple, "range": range}) == ours[name], name
    assert f"tail = {TAIL}" in text


# ---------------------------------------------------------------- over-smoothing


@pytest.mark.parametrize("operator", STEPS)
@pytest.mark.parametrize("name", GRAPHS)
def test_energy_decays_monotonically_below_threshold(name, operator):
    g = GRAPHS[name]()
    e = energies(operator, page_inputs()[name], g.edge_index)
    assert np.all(np.diff(e) < 0), "the energy must fall strictly every round"
    assert e[-1] < THRESHOLD * e[0]


@pytest.mark.parametrize("operator", STEPS)
@pytest.mark.parametrize("name", GRAPHS)
def test_energy_matches_spectral_formula(name, operator):
    # E(S^k X) = sum_{i >= 2} (1 - mu_i) mu_i^(2k) |c_i|^2, c_i = u_i^T X (GCN) or u_i^T D~^1/2 X (mean)
    g = GRAPHS[name]()
    x = page_inputs()[name]
    mu, u, d_tilde = oracle_spectrum(g)
    coeff = x if operator == "gcn" else np.sqrt(d_tilde)[:, None] * x
    c2 = ((u.T @ coeff) ** 2).sum(axis=1)
    k = np.arange(ROUNDS + 1)[:, None]
    predicted = ((1 - mu[:-1]) * mu[:-1] ** (2 * k) * c2[:-1]).sum(axis=1)  # top mode projected out
    np.testing.assert_allclose(energies(operator, x, g.edge_index), predicted, rtol=1e-8)


@pytest.mark.parametrize("operator", STEPS)
@pytest.mark.parametrize("name", GRAPHS)
def test_energy_decay_rate_matches_spectrum(name, operator):
    g = GRAPHS[name]()
    lam = oracle_lambda(g)
    assert lam**2 == pytest.approx(smoothing_rate(g), rel=1e-10)
    e = energies(operator, page_inputs()[name], g.edge_index)
    measured = (e[-1] / e[-1 - TAIL]) ** (1 / TAIL)
    assert measured == pytest.approx(lam**2, rel=1e-3)
    assert measured <= lam**2 * (1 + 1e-12)  # the faster modes only ever speed the decay up


@pytest.mark.parametrize("operator", STEPS)
@pytest.mark.parametrize("name", GRAPHS)
def test_energy_bound_holds_for_every_input_and_is_attained(name, operator):
    g = GRAPHS[name]()
    lam = oracle_lambda(g)
    bound = lam ** (2 * np.arange(ROUNDS + 1))
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = rng.standard_normal((g.num_nodes, 2)) * rng.exponential(size=(g.num_nodes, 1))
        e = energies(operator, x, g.edge_index)
        assert np.all(e <= bound * e[0] * (1 + 1e-9))
    mu, u, d_tilde = oracle_spectrum(g)
    slow = u[:, np.argmax(np.where(mu < 1 - 1e-9, np.abs(mu), -1))][:, None]
    x = slow if operator == "gcn" else slow / np.sqrt(d_tilde)[:, None]  # an eigenvector of S or P
    e = energies(operator, x, g.edge_index)
    np.testing.assert_allclose(e / e[0], bound, rtol=1e-6)


@pytest.mark.parametrize("name", GRAPHS)
def test_threshold_reached_within_the_spectral_bound(name):
    g = GRAPHS[name]()
    lam = oracle_lambda(g)
    e = energies("gcn", page_inputs()[name], g.edge_index)
    crossing = int(np.argmax(e / e[0] < THRESHOLD))
    promised = int(np.ceil(np.log(THRESHOLD) / (2 * np.log(lam))))
    assert 0 < crossing <= promised <= ROUNDS + 20
    assert lam ** (2 * promised) < THRESHOLD <= lam ** (2 * (promised - 1))


def test_gcn_fixed_point_is_sqrt_degree_not_constant():
    g = GRAPHS["karate"]()
    d_tilde = g.degree() + 1.0
    mu, u, _ = oracle_spectrum(g)
    np.testing.assert_allclose(np.abs(u[:, -1]), np.sqrt(d_tilde) / np.linalg.norm(np.sqrt(d_tilde)), atol=1e-10)
    root = np.sqrt(d_tilde)[:, None]
    np.testing.assert_allclose(gcn_step(root, g.edge_index), root, atol=1e-12)
    assert dirichlet_energy(root, g.edge_index, normalized=True) == pytest.approx(0, abs=1e-12)
    assert dirichlet_energy(root, g.edge_index) > 1.0  # the plain energy would call it rough
    ones = np.ones((g.num_nodes, 1))
    np.testing.assert_allclose(mean_step(ones, g.edge_index), ones)


def test_better_connected_graphs_smooth_faster():
    lam = [oracle_lambda(g) for g in (path_graph(36), GRAPHS["grid"](), GRAPHS["karate"]())]
    assert lam[0] > lam[1] > lam[2]
    assert lam[0] > 0.99


def test_averaging_without_self_loops_never_smooths_a_bipartite_signal():
    # Self-check exercise 1: +1/-1 on the two sides of an even cycle.
    g = cycle_graph(6)
    x = np.array([1.0, -1.0] * 3)[:, None]
    h = x
    for _ in range(5):
        h = propagate(h, g.edge_index, aggregate="mean")
        assert dirichlet_energy(h, g.edge_index) == pytest.approx(dirichlet_energy(x, g.edge_index))
    e = energies("mean", x, g.edge_index, rounds=5)
    assert np.all(np.diff(e) < 0)


# ---------------------------------------------------------------- over-squashing


def far_ends(m, L):
    return 0, 2 * m + L - 1


@pytest.mark.parametrize("m", CLIQUE_SIZES)
def test_sensitivity_decreases_with_path_length(m):
    sens = []
    for L in PATH_LENGTHS:
        u, v = far_ends(m, L)
        sens.append(jacobian_sensitivity(barbell_graph(m, L), L + 3, operator="gcn")[v, u])
    sens = np.array(sens)
    assert np.all(np.diff(sens) < 0)
    np.testing.assert_allclose(sens[1:] / sens[:-1], 1 / 3, rtol=1e-10)  # one factor 3 per path node
    L = np.array(PATH_LENGTHS)
    np.testing.assert_allclose(sens, 3.0**-L / (m * (m + 1) ** 2), rtol=1e-10)


def test_sensitivity_bigger_cliques_start_lower():
    small, big = CLIQUE_SIZES
    for L in PATH_LENGTHS:
        s_small = jacobian_sensitivity(barbell_graph(small, L), L + 3)[far_ends(small, L)[::-1]]
        s_big = jacobian_sensitivity(barbell_graph(big, L), L + 3)[far_ends(big, L)[::-1]]
        assert s_big < s_small


@pytest.mark.parametrize("m", CLIQUE_SIZES)
def test_sensitivity_is_zero_before_the_message_can_arrive(m):
    for L in PATH_LENGTHS:
        u, v = far_ends(m, L)
        g = barbell_graph(m, L)
        assert nx.shortest_path_length(to_networkx(g), u, v) == L + 3
        assert jacobian_sensitivity(g, L + 2)[v, u] == 0.0


@pytest.mark.parametrize("m", CLIQUE_SIZES)
def test_resistance_grows_one_ohm_per_path_node(m):
    res = []
    for L in PATH_LENGTHS:
        u, v = far_ends(m, L)
        res.append(effective_resistance(barbell_graph(m, L))[u, v])
    res = np.array(res)
    np.testing.assert_allclose(np.diff(res), 1.0, atol=1e-9)  # series resistors
    np.testing.assert_allclose(res, 4 / m + np.array(PATH_LENGTHS) + 1, atol=1e-9)


def test_resistance_matches_networkx():
    m, L = CLIQUE_SIZES[0], 3
    u, v = far_ends(m, L)
    G = nx.barbell_graph(m, L)
    assert effective_resistance(barbell_graph(m, L))[u, v] == pytest.approx(nx.resistance_distance(G, u, v))


def edge_kinds(m, L):
    """Masks over the columns of barbell_graph(m, L).edge_index: clique, attachment, path interior."""
    src, dst = barbell_graph(m, L).edge_index
    left, right = (src < m) & (dst < m), (src >= m + L) & (dst >= m + L)
    clique = left | right
    interior = (src >= m) & (dst >= m) & (src < m + L) & (dst < m + L)
    return clique, ~clique & ~interior, interior


@pytest.mark.parametrize("L", [0, 1, 2, 3])
@pytest.mark.parametrize("m", [3, 4, 5, 6])
def test_curvature_negative_on_bridge_positive_in_cliques(m, L):
    g = barbell_graph(m, L)
    clique, attach, interior = edge_kinds(m, L)
    assert attach.sum() == (2 if L == 0 else 4)  # both directions of the one or two attaching edges
    for curvature in (balanced_forman_curvature(g), ollivier_ricci_curvature(g)):
        assert np.all(curvature[attach] < 0)
        assert np.all(curvature[clique] > 0)
        np.testing.assert_allclose(curvature[interior], 0.0, atol=1e-9)  # a path is flat


def test_curvature_values_on_the_page():
    m, L = CURVATURE_BARBELL
    g = barbell_graph(m, L)
    clique, attach, interior = edge_kinds(m, L)
    assert not interior.any()  # with one path node every bridge edge attaches to a clique
    bf, orc = balanced_forman_curvature(g), ollivier_ricci_curvature(g)
    tree_like = 2 / m + 2 / 2 - 2  # degrees >= 2, no cycle through the edge: both give this
    np.testing.assert_allclose(bf[attach], tree_like, atol=1e-9)
    np.testing.assert_allclose(orc[attach], tree_like, atol=1e-9)
    assert bf[clique].min() > 0 and orc[clique].min() > 0
    long = barbell_graph(*LONG_BARBELL)
    _, _, mid = edge_kinds(*LONG_BARBELL)
    assert mid.any()
    np.testing.assert_allclose(balanced_forman_curvature(long)[mid], 0.0, atol=1e-12)
    np.testing.assert_allclose(ollivier_ricci_curvature(long)[mid], 0.0, atol=1e-9)


@pytest.mark.parametrize("m", [2, 3, 4, 7])
def test_direct_bridge_curvature_is_4_over_m_minus_2(m):
    # Self-check exercise 3: two K_m joined by one edge; for m = 2 it is a path on 4 nodes.
    g = barbell_graph(m, 0)
    _, attach, _ = edge_kinds(m, 0)
    np.testing.assert_allclose(balanced_forman_curvature(g)[attach], 4 / m - 2, atol=1e-12)


def _shortest_cycle_through(G, i, j):
    """Length of the shortest cycle through the edge i - j (inf if the edge is a bridge)."""
    H = G.copy()
    H.remove_edge(i, j)
    try:
        return 1 + nx.shortest_path_length(H, i, j)
    except nx.NetworkXNoPath:
        return np.inf


def test_curvature_formula_holds_exactly_under_the_page_conditions():
    """The page: with both degrees >= 2 and no cycle of length <= 5 through the edge, both
    curvatures equal 2/d_i + 2/d_j - 2; balanced Forman needs only no cycle of length <= 4;
    at a leaf both are 0. Checked edge by edge on sparse random graphs, each case seen."""
    seen = {"leaf": 0, "tree-like": 0, "5-cycle": 0}
    for seed in range(12):
        G = nx.gnm_random_graph(14, 17, seed=seed)
        g = from_networkx(G)
        bf, orc = balanced_forman_curvature(g), ollivier_ricci_curvature(g)
        src, dst = g.edge_index
        deg = g.degree()
        formula = 2 / deg[src] + 2 / deg[dst] - 2
        for k in range(g.num_edges):
            i, j = int(src[k]), int(dst[k])
            cycle = _shortest_cycle_through(G, i, j)
            if min(deg[i], deg[j]) == 1:
                seen["leaf"] += 1
                assert bf[k] == 0.0 and abs(orc[k]) < 1e-9
                assert formula[k] > 0          # the formula would be wrong here
            elif cycle > 5:
                seen["tree-like"] += 1
                assert bf[k] == pytest.approx(formula[k], abs=1e-12)
                assert orc[k] == pytest.approx(formula[k], abs=1e-9)
            elif cycle == 5:
                seen["5-cycle"] += 1
                assert bf[k] == pytest.approx(formula[k], abs=1e-12)
                assert orc[k] >= formula[k] - 1e-9
    assert all(count > 0 for count in seen.values()), seen


def test_curvature_counterexamples_on_the_page():
    # the star: leaf edges get 0 from both, not 2/1 + 2/3 - 2 = 2/3
    star = star_graph(3)
    assert star.degree().max() == 3
    for curvature in (balanced_forman_curvature(star), ollivier_ricci_curvature(star)):
        np.testing.assert_allclose(curvature, 0.0, atol=1e-9)
    assert 2 / 1 + 2 / star.degree().max() - 2 == pytest.approx(2 / 3)
    # the Petersen graph: 3-regular, girth 5; BF keeps the formula, ORC does not
    G = nx.petersen_graph()
    assert nx.girth(G) == 5 and all(d == 3 for _, d in G.degree())
    bf, orc = balanced_forman_curvature(G), ollivier_ricci_curvature(G)
    np.testing.assert_allclose(bf, 2 / 3 + 2 / 3 - 2, atol=1e-12)      # -2/3
    np.testing.assert_allclose(orc, -1 / 3, atol=1e-9)
    assert orc.max() > bf.max() + 0.3


def test_page_bridge_meets_the_conditions():
    m, L = CURVATURE_BARBELL
    G = to_networkx(barbell_graph(m, L))
    _, attach, _ = edge_kinds(m, L)
    src, dst = barbell_graph(m, L).edge_index
    for i, j in zip(src[attach], dst[attach]):
        assert min(G.degree(int(i)), G.degree(int(j))) >= 2
        assert _shortest_cycle_through(G, int(i), int(j)) == np.inf
