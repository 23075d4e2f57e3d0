"""The claims of book/applications/01_physics.md (belief propagation), checked on the page's own numbers.

Every value is read from the executed page (:func:`book_values.page_values`) and compared
with an independent reference: closed forms (tanh, the one-edge fixed point), networkx
(diameter, girth), and the bounds the prose states.
"""

import math

import networkx as nx
import numpy as np
import pytest

from book_values import page_values
from mplib.belief_propagation import MAX_EXACT_NODES, ising_exact_marginals
from mplib.generators import path_graph

pytestmark = pytest.mark.needs_book


@pytest.fixture(scope="module")
def v():
    return page_values("applications/01_physics")


def test_enumeration_limit(v):
    assert v["exact_limit"] == MAX_EXACT_NODES
    assert v["exact_states"] == 2 ** v["exact_limit"] > 10**6 * 0.99   # "about a million"
    with pytest.raises(ValueError, match=f"limit is {MAX_EXACT_NODES}"):
        ising_exact_marginals(path_graph(v["exact_limit"] + 1), 1.0, 0.0)


def test_bp_is_exact_on_the_tree_and_stops_after_the_diameter(v):
    diameter = nx.diameter(nx.random_labeled_tree(v["tree_nodes"], seed=v["seed"]))
    assert v["tree_diameter"] == diameter
    assert diameter <= v["tree_iterations"] <= diameter + 2    # "the last round or so confirms"
    assert v["tree_error"] < 1e-10 and v["tree_corr_error"] < 1e-10   # rounding error
    assert v["loop_vs_library"] < 1e-12
    assert v["tree_mf_error"] > 0.3                            # mean field visibly off


def enumerate_magnetisations(edges, J, h):
    """<s_i> by summing over all 2^N states, written here with numpy (the oracle)."""
    n = len(h)
    states = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
    u, w = np.array(edges).T
    log_weight = (states[:, u] * states[:, w]) @ np.array(J) + states @ np.array(h)
    p = np.exp(log_weight - log_weight.max())
    return p @ states / p.sum()


def test_tree_magnetisations_against_enumeration(v):
    tree = v["tree_instance"]
    assert nx.is_tree(nx.Graph(tree["edges"])) and len(tree["h"]) == v["tree_nodes"]
    exact = enumerate_magnetisations(tree["edges"], tree["J"], tree["h"])
    assert np.abs(np.array(tree["bp"]) - exact).max() < 1e-10
    assert np.abs(np.array(tree["mf"]) - exact).max() == pytest.approx(v["tree_mf_error"], abs=1e-9)


def test_grid_size_and_shortest_cycle(v):
    assert v["grid_spins"] == v["grid_rows"] * v["grid_cols"]
    assert v["grid_states"] == 2 ** v["grid_spins"]
    girth = nx.girth(nx.grid_2d_graph(v["grid_rows"], v["grid_cols"]))
    assert girth == 4                                          # squares


def test_weak_coupling_bp_error_exponent_is_the_girth_mean_field_two(v):
    girth = nx.girth(nx.grid_2d_graph(v["grid_rows"], v["grid_cols"]))
    assert v["slope_max"] <= v["weak"]
    for family in ("ferromagnet", "spin"):
        assert abs(v[f"slope_{family}_bp"] - girth) < 0.4
        assert abs(v[f"slope_{family}_mf"] - 2) < 0.4
    # the names the loop above builds, spelled out for the glue-coverage check
    assert {"slope_ferromagnet_bp", "slope_spin_bp", "slope_ferromagnet_mf", "slope_spin_mf"} <= set(v)
    assert v["weak_ratio"] > 3                                 # BP wins on every weak instance
    assert v["weakest"] < v["weak"] and v["weakest_ratio"] > 100   # orders of magnitude


def test_strong_coupling_ferromagnet_overconfident(v):
    assert v["strong"] > v["weak"]
    assert v["ferro_abs_bp"] > 0.99 and v["ferro_abs_exact"] < 0.6


def test_strong_coupling_spin_glass_convergence(v):
    assert v["weak"] < v["first_fail"] <= v["strong"]          # never at weak coupling
    assert v["converged_plain"] < v["converged_damped"] < v["instances"]   # damping helps, partly
    assert v["converged_strong"] < v["instances"]
    assert v["max_iter"] >= 100 and 0 < v["damping"] < 1
    assert v["glass_mf_converged"] == v["glass_runs"] and v["glass_runs"] % v["instances"] == 0
    assert v["glass_mf_strong"] > 0.3                          # converged, but far off


def test_fitted_message_scale(v):
    assert v["alpha_best"] < 1                                 # shrinks the messages
    assert v["rmse_best_train"] < v["rmse_bp_train"]
    assert v["rmse_best_test"] < 0.8 * v["rmse_bp_test"]       # helps on unseen instances
    assert v["test_gain"] == pytest.approx(1 - v["rmse_best_test"] / v["rmse_bp_test"])
    assert v["last_change"] < 1e-6 and v["rounds"] >= 50       # fixed points, not snapshots
    assert v["train"] > 0 and v["test"] > 0
    # refitted where BP is already accurate, the best scale is nearer 1
    assert v["other_beta"] < v["learn_beta"]
    assert abs(v["alpha_other"] - 1) < abs(v["alpha_best"] - 1)


def one_edge_echo(J, h0, h1, rounds=500):
    """Exercise 2 without the cavity rule, by hand: each node sends its full field back."""
    u01 = u10 = 0.0
    for _ in range(rounds):
        u01, u10 = (math.atanh(math.tanh(J) * math.tanh(h0 + u10)),
                    math.atanh(math.tanh(J) * math.tanh(h1 + u01)))
    return math.tanh(h0 + u10), math.tanh(h1 + u01)


def test_exercise_2_numbers(v):
    assert v["ex2_exact1"] == pytest.approx(math.tanh(1.0) ** 2)   # tanh J tanh h0
    assert v["ex2_exact0"] == pytest.approx(math.tanh(1.0))
    m0, m1 = one_edge_echo(1.0, 1.0, 0.0)
    assert v["ex2_echo0"] == pytest.approx(m0, abs=1e-9) and v["ex2_echo1"] == pytest.approx(m1, abs=1e-9)
    assert v["ex2_echo1"] > v["ex2_exact1"] and v["ex2_echo0"] > v["ex2_exact0"]   # inflated


def test_exercise_1_message_identity():
    rng = np.random.default_rng(0)
    J, c = rng.normal(size=50), 3 * rng.normal(size=50)
    u = np.arctanh(np.tanh(J) * np.tanh(c))
    K = 2 * np.sqrt(np.cosh(c + J) * np.cosh(c - J))
    np.testing.assert_allclose(2 * np.cosh(c + J), K * np.exp(u))
    np.testing.assert_allclose(2 * np.cosh(c - J), K * np.exp(-u))
