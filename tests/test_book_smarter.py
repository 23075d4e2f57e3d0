"""The claims of book/principles/04_smarter.md, checked on the page's own numbers.

Values come from the executed page (:func:`book_values.page_values`). References: networkx
(the karate factions, shortest-path distances of the WL pairs), the closed forms the page
states (chance homophily of a 90/10 split, 1 - 2 alpha, two-hop homophily of a bipartite
graph) and the orderings the prose claims.
"""

import networkx as nx
import numpy as np
import pytest

from book_values import page_values

pytestmark = pytest.mark.needs_book


@pytest.fixture(scope="module")
def v():
    return page_values("principles/04_smarter")


def gat_coefficients(example, i):
    """alpha_ij of receiver i by the formula of Velickovic et al. (2018), in plain numpy."""
    x, W = np.array(example["x"]), np.array(example["W"])
    h = x @ W
    senders = sorted({b for a, b in zip(*example["edges"]) if a == i}
                     | {a for a, b in zip(*example["edges"]) if b == i} | {i})
    e = np.array([np.dot(example["att_src"][0], h[j]) + np.dot(example["att_dst"][0], h[i])
                  for j in senders])
    e = np.where(e > 0, e, example["slope"] * e)               # LeakyReLU
    return dict(zip(senders, np.exp(e) / np.exp(e).sum()))


def test_attention_weights(v):
    alpha = gat_coefficients(v["att-example"], 0)
    top = max((a, j) for j, a in alpha.items() if j != 0)
    assert v["att-node0-top"] == top[1] and v["att-node0-top-alpha"] == pytest.approx(top[0])
    assert v["att-node0-self"] == pytest.approx(alpha[0])
    assert v["att-sum-max-dev"] < 1e-12                       # softmax: weights sum to one
    assert v["att-relabel-dev"] < 1e-12 and v["att-relabel-out-dev"] < 1e-12   # equivariant


def test_static_versus_dynamic_attention(v):
    assert v["gat-n-favourites"] <= 2 < v["gatv2-n-favourites"]   # GAT ranks alike everywhere
    assert v["gat-top"] >= 0


def test_homophily_measures(v):
    share = v["hom-major-share"]
    assert share == pytest.approx(0.9, abs=0.05)
    assert v["hom-chance"] == pytest.approx(share**2 + (1 - share) ** 2)
    assert v["hom-unbalanced-edge"] == pytest.approx(v["hom-chance"], abs=0.05)   # from the big class
    assert v["hom-unbalanced-class"] < 0.05                    # wiring ignores the labels
    G = nx.karate_club_graph()
    same = sum(G.nodes[a]["club"] == G.nodes[b]["club"] for a, b in G.edges) / G.number_of_edges()
    assert v["hom-karate-edge"] == pytest.approx(same)


def test_mixing_on_a_bipartite_graph(v):
    assert v["bip-max-dev"] < 1e-12                            # exactly 1 - 2 alpha
    assert v["bip-side"] == 6 and v["bip-p"] == 0.5
    assert 1 <= v["bip-deg-min"] <= v["bip-deg-max"] <= v["bip-side"]
    assert v["bip-isolated"] >= 1                              # the draw the prose discusses


def test_heterophilous_csbm_readouts(v):
    assert v["csbm-knob"] == 0 and v["csbm-edge-hom"] == 0     # knob 0: every edge across
    assert v["csbm-n"] == 1000 and v["csbm-dim"] == 2 and v["csbm-mu"] == 1.0
    assert v["acc-mix"] == pytest.approx(0.5, abs=0.06)        # averaging cancels the signal
    assert v["acc-mix"] < v["acc-own"] < v["acc-signed"] < v["acc-sep"]
    assert v["sage-dev"] < 1e-12
    # across every edge: one hop always changes class, two hops never do
    assert v["hop1-hom"] == 0 and v["hop2-hom"] == 1
    assert v["acc-2hop"] > v["acc-sep"]


def distance_profiles(G):
    d = dict(nx.all_pairs_shortest_path_length(G))
    return sorted(tuple(sorted(d[u].get(w, -1) for w in G if w != u)) for u in G)


def test_beyond_one_hop_separates_one_wl_pair(v):
    pairs = {"C6 vs 2xC3": (nx.cycle_graph(6), nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3))),
             "K3,3 vs prism": (nx.complete_bipartite_graph(3, 3), nx.circular_ladder_graph(3))}
    separated = 0
    for g1, g2 in pairs.values():
        p1, p2 = distance_profiles(g1), distance_profiles(g2)
        uniform = len(set(p1)) == len(set(p2)) == 1            # refinement can never split a node
        assert p1 != p2 or uniform
        separated += p1 != p2
    assert v["sep-count-spd"] == separated == 1
    assert v["sep-count-2hop"] == 1
