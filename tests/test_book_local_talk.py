"""The claims of book/principles/02_local_talk.md, checked on the page's own numbers.

Values come from the executed page (:func:`book_values.page_values`). References: networkx
breadth-first search and adjacency powers, a dictionary implementation of colour
refinement written here, and plain numpy sums, means and maxima of the page's multisets.
"""

import networkx as nx
import numpy as np
import pytest

from book_values import page_values

pytestmark = pytest.mark.needs_book


@pytest.fixture(scope="module")
def v():
    return page_values("principles/02_local_talk")


def grid_and_centre(v):
    G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(v["grid_rows"], v["grid_cols"]),
                                           ordering="sorted")
    return G, v["page_graphs"]["centre"]


def test_receptive_field_is_the_k_hop_ball(v):
    G, centre = grid_and_centre(v)
    dist = nx.single_source_shortest_path_length(G, centre)
    assert centre == (v["grid_rows"] * v["grid_cols"]) // 2      # the middle node
    for k, name in ((1, "field_1"), (2, "field_2"), (3, "field_3")):
        assert v[name] == sum(d <= k for d in dist.values()) == 2 * k * k + 2 * k + 1
    assert v["field_all_match"] == "yes" and v["layers"] == 3


def refine(edges, rounds=10):
    """Colour refinement with dictionaries: colour counts per round until stable."""
    G = nx.Graph(edges)
    colours = {u: 0 for u in G}
    history = [colours]
    for _ in range(rounds):
        sig = {u: (colours[u], tuple(sorted(colours[w] for w in G[u]))) for u in G}
        names = {s: i for i, s in enumerate(sorted(set(sig.values())))}
        new = {u: names[sig[u]] for u in G}
        if len(set(new.values())) == len(set(colours.values())):
            break
        colours = new
        history.append(colours)
    return history


def test_refinement_of_the_six_node_graph(v):
    history = refine(v["page_graphs"]["wl_edges"])
    counts = [len(set(c.values())) for c in history]
    assert v["wl_counts"] == ", ".join(map(str, counts)) == "1, 3, 5, 6"
    assert v["wl_rounds"] == len(history) - 1 and v["wl_next_round"] == len(history)
    assert v["wl_split_04"] == next(t for t, c in enumerate(history) if c[0] != c[4])


def test_contrast_pair_separated_in_round_two(v):
    g1, g2 = (nx.Graph(e) for e in v["page_graphs"]["contrast_edges"])
    assert not nx.is_isomorphic(g1, g2)
    assert sorted(d for _, d in g1.degree()) == sorted(d for _, d in g2.degree())
    union = nx.disjoint_union(g1, g2)                     # one colouring for both graphs
    history = refine(list(union.edges), rounds=4)
    n1 = g1.number_of_nodes()

    def same_histogram(c):
        return sorted(c[u] for u in union if u < n1) == sorted(c[u] for u in union if u >= n1)

    first = next(t for t, c in enumerate(history) if not same_histogram(c))
    assert v["contrast_round"] == first == 2
    # a GIN layer follows the rounds: blind after one layer, separating after two
    assert v["gap_contrast_1"] < 1e-12 and v["gap_contrast_2"] > 1e-6
    assert v["gap_blind"] < 1e-10                         # the 1-WL-equivalent pairs


def test_random_graphs_end_discrete(v):
    assert v["random_nodes"] == 30 and v["random_trials"] > 0
    assert v["random_discrete"] >= 0.95 * v["random_trials"]   # "almost always"


def test_multiset_table_sum_mean_max(v):
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    pairs = [([a], [a, a]), ([a, b], [a, a, b, b]), ([a, a, b], [a, b, b])]
    separated = {name: sum(not np.allclose(f(np.array(m1)), f(np.array(m2))) for m1, m2 in pairs)
                 for name, f in (("sum", lambda m: m.sum(0)), ("mean", lambda m: m.mean(0)),
                                 ("max", lambda m: m.max(0)))}
    assert v["n_multisets"] == len(pairs)
    assert (v["sep_sum"], v["sep_mean"], v["sep_max"]) == (separated["sum"], separated["mean"], separated["max"])
    assert separated == {"sum": 3, "mean": 1, "max": 0}


def test_star_versus_path(v):
    assert v["star_gap_mean"] < 1e-12 and v["star_gap_max"] < 1e-12
    assert v["star_gap_sum"] > 1.0


def test_exercise_1_parity(v):
    G, centre = grid_and_centre(v)
    dist = nx.single_source_shortest_path_length(G, centre)
    A = nx.to_numpy_array(G, nodelist=sorted(G))
    walks3 = np.linalg.matrix_power(A, 3)[centre]
    assert v["ring_1"] == sum(d == 1 for d in dist.values())
    assert v["ring_3"] == sum(d == 3 for d in dist.values())
    assert v["parity_reach"] == np.count_nonzero(walks3) == v["ring_1"] + v["ring_3"]


def test_atlas_pairs_refinement_cannot_separate(v):
    """networkx's WL hash over the atlas: equal hashes <=> equal histograms in every round."""
    n_max = v["atlas_nodes"]
    atlas = [G for G in nx.graph_atlas_g() if 0 < len(G) <= n_max]
    hashes = [nx.weisfeiler_lehman_graph_hash(G, iterations=len(G)) for G in atlas]
    blind = [(G1, G2) for a, (G1, h1) in enumerate(zip(atlas, hashes))
             for G2, h2 in zip(atlas[a + 1:], hashes[a + 1:])
             if len(G1) == len(G2) and h1 == h2]
    assert all(not nx.is_isomorphic(G1, G2) for G1, G2 in blind)   # the atlas has no twins
    regular = [nx.is_regular(G1) for G1, _ in blind]
    assert v["atlas_graphs"] == len(atlas)
    assert v["atlas_blind"] == len(blind) == 4
    assert v["atlas_blind_min_nodes"] == min(len(G1) for G1, _ in blind) == 6
    assert v["atlas_blind_regular"] == sum(regular) == 2               # C6/2C3, K33/prism
    assert v["atlas_blind_nonregular"] == len(blind) - sum(regular) == 2
    degrees = sorted({d for (G1, G2), r in zip(blind, regular) if not r
                      for G in (G1, G2) for _, d in G.degree()})
    assert v["atlas_nonregular_degrees"] == " and ".join(map(str, degrees)) == "2 and 3"
