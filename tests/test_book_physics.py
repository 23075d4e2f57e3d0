"""Every claim of book/applications/01_physics.md (belief propagation as message passing), recomputed.

The page is the demo, these tests are the guarantee. They use the page's parameters (kept in
sync by ``test_page_parameters_match_the_tests``) and re-derive each statement with mplib, with
exact enumeration as the oracle. The experiments are rebuilt here from the parameters, not read
from the page.
"""

from functools import lru_cache
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mplib.belief_propagation import ising_bp, ising_exact_marginals, ising_mean_field, reverse_edges
from mplib.generators import grid_graph, path_graph, star_graph
from mplib.graph import from_networkx
from mplib.scatter import scatter

PAGE = Path(__file__).resolve().parent.parent / "book" / "applications" / "01_physics.md"

# The page's parameters (its second code cell).
SEED = 0
TREE_NODES = 16
GRID_SHAPE = (3, 4)
FIELD_STD = 0.5
BETAS = (0.05, 0.07, 0.1, 0.14, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0, 1.4, 2.0)
INSTANCES = 8
WEAK = 0.5
SLOPE_MAX = 0.2
MAX_ITER, TOL = 500, 1e-10
DAMPING = 0.5
LEARN_BETA, OTHER_BETA = 0.5, 0.3
TRAIN, TEST = 20, 20
ALPHAS = np.round(np.linspace(0.8, 1.05, 26), 2)
ROUNDS = 100

FAMILIES = ("ferromagnet", "spin glass")


def test_page_parameters_match_the_tests():
    cell = PAGE.read_text().split("```{code-cell} ipython3", 3)[2].split("```", 1)[0]
    assert "SEED = 0" in cell, "the parameters must be the page's second code cell"
    found = {}
    exec(cell, {"np": np}, found)
    ours = {k: v for k, v in globals().items() if k.isupper() and k not in ("PAGE", "FAMILIES")}
    assert set(found) == set(ours), f"page parameters {sorted(found)} != test parameters {sorted(ours)}"
    for name, value in found.items():
        np.testing.assert_array_equal(value, ours[name], err_msg=name)


# ---------------------------------------------------------------- the page's helpers, re-typed

def bp_round(u, J, h, src, dst, rev, alpha=1.0, cavity_rule=True):
    H = h + scatter(u, dst, num_segments=h.shape[0])
    cavity = H[src] - u[rev] if cavity_rule else H[src]
    return alpha * np.arctanh(np.tanh(J) * np.tanh(cavity))


def bp_beliefs(u, h, dst):
    return np.tanh(h + scatter(u, dst, num_segments=h.shape[0]))


def symmetric(graph, one_way):
    src, dst = graph.edge_index
    rev = reverse_edges(graph.edge_index, graph.num_nodes)
    return np.where(src < dst, one_way, one_way[..., rev])


@lru_cache(maxsize=None)
def tree_instance():
    rng = np.random.default_rng(SEED)
    tree_nx = nx.random_labeled_tree(TREE_NODES, seed=SEED)
    tree = from_networkx(tree_nx)
    J = symmetric(tree, rng.normal(size=tree.num_edges))
    h = rng.normal(size=tree.num_nodes)
    return tree_nx, tree, J, h


@lru_cache(maxsize=None)
def sweep():
    """The page's comparison on the grid: {(family, beta, t): dict of errors and flags}."""
    grid = grid_graph(*GRID_SHAPE)
    rng = np.random.default_rng(SEED + 1)
    fields = FIELD_STD * rng.normal(size=(INSTANCES, grid.num_nodes))
    signs = symmetric(grid, rng.choice([-1.0, 1.0], size=(INSTANCES, grid.num_edges)))
    couplings = {"ferromagnet": np.ones_like(signs), "spin glass": signs}
    out = {}
    for family in FAMILIES:
        for beta in BETAS:
            for t in range(INSTANCES):
                J, h = beta * couplings[family][t], fields[t]
                exact = ising_exact_marginals(grid, J, h)
                plain = ising_bp(grid, J, h, max_iter=MAX_ITER, tol=TOL)
                bp = plain if plain.converged else ising_bp(grid, J, h, max_iter=MAX_ITER, tol=TOL,
                                                            damping=DAMPING)
                mf = ising_mean_field(grid, J, h, max_iter=MAX_ITER, tol=TOL)
                out[family, beta, t] = dict(
                    bp=np.abs(bp.magnetization - exact).mean(), mf=np.abs(mf.magnetization - exact).mean(),
                    plain=plain.converged, damped=bp.converged, mf_converged=mf.converged,
                    abs_exact=np.abs(exact).mean(), abs_bp=np.abs(bp.magnetization).mean(),
                )
    return out


def per_beta(family, key, reduce=np.mean):
    res = sweep()
    return np.array([reduce([res[family, b, t][key] for t in range(INSTANCES)]) for b in BETAS])


@lru_cache(maxsize=None)
def fit_scale(beta, seed):
    """(RMSE train/test per alpha, largest last-round change, alpha*) of the page's scaled BP."""
    grid = grid_graph(*GRID_SHAPE)
    src, dst = grid.edge_index
    rev = reverse_edges(grid.edge_index, grid.num_nodes)
    h = FIELD_STD * np.random.default_rng(seed).normal(size=(grid.num_nodes, TRAIN + TEST))
    exact = np.stack([ising_exact_marginals(grid, beta, h[:, k]) for k in range(TRAIN + TEST)], axis=1)
    rmse, changes = [], []
    for alpha in ALPHAS:
        u = np.zeros((grid.num_edges, TRAIN + TEST))
        for _ in range(ROUNDS):
            u_new = bp_round(u, beta, h, src, dst, rev, alpha)
            change, u = np.abs(u_new - u).max(), u_new
        sq = (bp_beliefs(u, h, dst) - exact) ** 2
        rmse.append((np.sqrt(sq[:, :TRAIN].mean()), np.sqrt(sq[:, TRAIN:].mean())))
        changes.append(change)
    rmse = np.array(rmse)
    return rmse, max(changes), float(ALPHAS[np.argmin(rmse[:, 0])])


# ---------------------------------------------------------------- exact on trees

def test_bp_is_exact_on_the_page_tree():
    _, tree, J, h = tree_instance()
    bp = ising_bp(tree, J, h)
    exact, corr = ising_exact_marginals(tree, J, h, return_correlations=True)
    assert bp.converged
    assert np.abs(bp.magnetization - exact).max() < 1e-10
    assert np.abs(bp.correlation - corr).max() < 1e-10


def test_bp_stops_about_one_round_after_the_diameter():
    tree_nx, tree, J, h = tree_instance()
    diameter = nx.diameter(tree_nx)
    assert diameter <= ising_bp(tree, J, h).iterations <= diameter + 2


def test_hand_written_round_matches_ising_bp():
    _, tree, J, h = tree_instance()
    src, dst = tree.edge_index
    rev = reverse_edges(tree.edge_index, tree.num_nodes)
    u = np.zeros(tree.num_edges)
    for _ in range(ROUNDS):
        u = bp_round(u, J, h, src, dst, rev)
    assert np.abs(bp_beliefs(u, h, dst) - ising_bp(tree, J, h).magnetization).max() < 1e-12


def test_mean_field_is_visibly_off_on_the_tree():
    _, tree, J, h = tree_instance()
    assert np.abs(ising_mean_field(tree, J, h).magnetization - ising_exact_marginals(tree, J, h)).max() > 0.3


# ---------------------------------------------------------------- loopy grid

def test_grid_is_small_enough_to_enumerate_and_has_squares():
    grid = grid_graph(*GRID_SHAPE)
    G = nx.grid_2d_graph(*GRID_SHAPE)
    assert grid.num_nodes == 12 and 2**grid.num_nodes == 4096
    assert min(len(c) for c in nx.minimum_cycle_basis(G)) == 4


def test_bp_beats_mean_field_on_every_weakly_coupled_instance():
    res = sweep()
    ratios = [res[f, b, t]["mf"] / res[f, b, t]["bp"] for f in FAMILIES for b in BETAS if b <= WEAK
              for t in range(INSTANCES)]
    assert min(ratios) > 3
    weakest = [res[f, BETAS[0], t]["mf"] / res[f, BETAS[0], t]["bp"] for f in FAMILIES for t in range(INSTANCES)]
    assert min(weakest) > 100  # "orders of magnitude"


@pytest.mark.parametrize("family", FAMILIES)
def test_error_exponents_four_for_bp_two_for_mean_field(family):
    weak = np.array(BETAS) <= SLOPE_MAX
    log_beta = np.log(np.array(BETAS)[weak])
    slope_bp = np.polyfit(log_beta, np.log(per_beta(family, "bp")[weak]), 1)[0]
    slope_mf = np.polyfit(log_beta, np.log(per_beta(family, "mf")[weak]), 1)[0]
    assert 3.6 < slope_bp < 4.4
    assert 1.8 < slope_mf < 2.5


def test_ferromagnet_bp_converges_but_is_overconfident_at_strong_coupling():
    assert np.all(per_beta("ferromagnet", "damped", np.min) == 1)  # converges, with damping if needed
    assert per_beta("ferromagnet", "abs_bp")[-1] > 0.99
    assert per_beta("ferromagnet", "abs_exact")[-1] < 0.6


def test_spin_glass_bp_stops_converging_and_damping_helps_only_partly():
    plain = per_beta("spin glass", "plain", np.sum)
    damped = per_beta("spin glass", "damped", np.sum)
    fail = int(np.flatnonzero(plain < INSTANCES)[0])
    assert BETAS[fail] > WEAK  # never at weak coupling
    assert plain[fail] < damped[fail] < INSTANCES  # damping raises the count, not to all
    assert damped[-1] < INSTANCES
    # Mean field converges everywhere, but is far off at the strongest coupling; so is BP.
    assert np.all(per_beta("spin glass", "mf_converged", np.min) == 1)
    assert per_beta("spin glass", "mf")[-1] > 0.3 and per_beta("spin glass", "bp")[-1] > 0.3


# ---------------------------------------------------------------- the learned scale

def test_fitted_message_scale_shrinks_messages_and_helps_on_test_instances():
    rmse, last_change, alpha = fit_scale(LEARN_BETA, SEED + 2)
    plain = int(np.flatnonzero(ALPHAS == 1.0)[0])
    best = int(np.flatnonzero(ALPHAS == alpha)[0])
    assert alpha < 1
    assert rmse[best, 0] < rmse[plain, 0]
    assert rmse[best, 1] < 0.8 * rmse[plain, 1]  # at least 20% lower on unseen instances
    assert last_change < 1e-6  # fixed points, not snapshots


def test_hundred_rounds_of_the_loop_reproduce_ising_bp_on_the_grid():
    grid = grid_graph(*GRID_SHAPE)
    src, dst = grid.edge_index
    rev = reverse_edges(grid.edge_index, grid.num_nodes)
    h = FIELD_STD * np.random.default_rng(SEED + 2).normal(size=grid.num_nodes)
    u = np.zeros(grid.num_edges)
    for _ in range(ROUNDS):
        u = bp_round(u, LEARN_BETA, h, src, dst, rev)
    assert np.abs(bp_beliefs(u, h, dst) - ising_bp(grid, LEARN_BETA, h).magnetization).max() < 1e-6


def test_best_scale_depends_on_the_coupling():
    _, _, alpha_learn = fit_scale(LEARN_BETA, SEED + 2)
    _, _, alpha_other = fit_scale(OTHER_BETA, SEED + 3)
    assert abs(alpha_other - 1) < abs(alpha_learn - 1)
    assert alpha_other != alpha_learn


# ---------------------------------------------------------------- self-check solutions

def test_exercise_1_message_identity():
    rng = np.random.default_rng(0)
    J, c = rng.normal(size=50), 3 * rng.normal(size=50)
    u = np.arctanh(np.tanh(J) * np.tanh(c))
    plus, minus = 2 * np.cosh(c + J), 2 * np.cosh(c - J)
    K = 2 * np.sqrt(np.cosh(c + J) * np.cosh(c - J))
    np.testing.assert_allclose(plus, K * np.exp(u))
    np.testing.assert_allclose(minus, K * np.exp(-u))


def test_exercise_2_without_the_cavity_rule_one_edge_is_already_wrong():
    g, J, h = path_graph(2), 1.0, np.array([1.0, 0.0])
    src, dst = g.edge_index
    rev = reverse_edges(g.edge_index, 2)
    u = np.zeros(2)
    for _ in range(200):
        u = bp_round(u, J, h, src, dst, rev, cavity_rule=False)
    m = bp_beliefs(u, h, dst)
    exact = ising_exact_marginals(g, J, h)
    np.testing.assert_allclose(exact, [np.tanh(1.0), np.tanh(1.0) ** 2])
    assert round(exact[1], 2) == 0.58 and round(exact[0], 2) == 0.76
    assert round(m[1], 2) == 0.70 and round(m[0], 2) == 0.92


@pytest.mark.parametrize("graph, rounds", [(path_graph(7), 6), (star_graph(5), 2)])
def test_exercise_3_bp_is_exact_after_diameter_rounds_not_before(graph, rounds):
    rng = np.random.default_rng(1)
    J = symmetric(graph, rng.normal(size=graph.num_edges))
    h = rng.normal(size=graph.num_nodes)
    exact = ising_exact_marginals(graph, J, h)
    after = ising_bp(graph, J, h, max_iter=rounds, tol=0.0).magnetization
    before = ising_bp(graph, J, h, max_iter=rounds - 1, tol=0.0).magnetization
    assert np.abs(after - exact).max() < 1e-12
    assert np.abs(before - exact).max() > 1e-6


# ---------------------------------------------------------------- numbers glued, not typed

def test_enumeration_limit_of_the_page():
    from mplib.belief_propagation import MAX_EXACT_NODES

    assert MAX_EXACT_NODES == 20 and 2**MAX_EXACT_NODES == 1_048_576  # "about a million"
    with pytest.raises(ValueError, match="limit is 20"):
        ising_exact_marginals(path_graph(MAX_EXACT_NODES + 1), 1.0, 0.0)
    text = PAGE.read_text()
    assert "{glue:text}`exact_limit`" in text and "{glue:text}`exact_states:,`" in text


def test_mean_field_converged_in_every_spin_glass_run():
    converged = per_beta("spin glass", "mf_converged", np.sum)
    assert converged.sum() == len(BETAS) * INSTANCES  # the page glues both numbers
    assert "{glue:text}`glass_mf_converged`" in PAGE.read_text()


def test_exercise_2_numbers_are_glued():
    solution = PAGE.read_text().split("```{solution} ex-physics-2", 1)[1].split("```", 1)[0]
    for name in ("ex2_exact1", "ex2_exact0", "ex2_echo1", "ex2_echo0"):
        assert f"{{glue:text}}`{name}:.2f`" in solution
    for typed in ("0.58", "0.76", "0.70", "0.92"):
        assert typed not in solution


# ---------------------------------------------------------------- the page's cells


def test_figure_text_is_at_least_8_points():
    import re

    sizes = [float(v) for v in re.findall(r"fontsize=(\d+(?:\.\d+)?)", PAGE.read_text())]
    assert sizes and min(sizes) >= 8
