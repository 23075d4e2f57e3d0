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


def networkx_homophily(name):
    """Edge and class homophily (Lim et al. 2021) of a real graph, counted on networkx."""
    from mplib import datasets

    d = datasets.load(name)
    G = nx.Graph()
    G.add_edges_from(d.edge_index.T.tolist())
    labelled = [n for n in range(d.num_nodes) if d.y[n] >= 0]
    pairs = [(a, b) for a, b in G.edges if d.y[a] >= 0 and d.y[b] >= 0]
    same = [d.y[a] == d.y[b] for a, b in pairs]
    edge = sum(same) / len(pairs)
    ys = d.y[labelled]
    score = 0.0
    for k in range(d.num_classes):   # edges into class k, both directions counted
        into = sum(int(d.y[a] == k) + int(d.y[b] == k) for a, b in pairs)
        inside = sum(2 * ((d.y[a] == k) and s) for (a, b), s in zip(pairs, same))
        score += max(0.0, inside / into - np.mean(ys == k)) if into else 0.0
    return edge, score / (d.num_classes - 1)


@pytest.mark.parametrize("name", ["cora", "citeseer", "texas", "wisconsin", "cornell"])
def test_real_homophily_matches_networkx(v, name):
    assert v["real-hom"][name] == pytest.approx(networkx_homophily(name), abs=1e-12)


def test_real_homophily_prose(v):
    assert v["real-cora-edge"] == v["real-hom"]["cora"][0] == pytest.approx(0.81, abs=0.005)
    assert v["real-texas-edge"] == v["real-hom"]["texas"][0] < 0.1     # "most edges cross"
    for name in ("texas", "wisconsin", "cornell"):
        assert v["real-hom"][name][0] < 0.3 and v["real-hom"][name][1] < 0.05


def test_real_webkb_readouts_match_numpy(v):
    """The ridge readouts again, in plain numpy: A + I normalised by hand, neighbour means."""
    from mplib import datasets

    assert v["real-n-splits"] == 3
    for name in ("texas", "wisconsin", "cornell"):
        runs = []
        for split in range(3):
            d = datasets.load(name, split=split)
            n, (src, dst) = d.num_nodes, d.edge_index
            a = np.zeros((n, n))
            a[dst, src] = 1.0
            deg = a.sum(1)
            s = (a + np.eye(n)) / np.sqrt(np.outer(deg + 1, deg + 1))
            mean = a @ d.x / np.maximum(deg, 1)[:, None]
            feats = [d.x, s @ d.x, np.hstack([d.x, mean])]
            accs = []
            for f in feats:
                design = np.hstack([f, np.ones((n, 1))])
                tr, te = design[d.train_mask], design[d.test_mask]
                onehot = np.eye(d.num_classes)[d.y[d.train_mask]]
                w = tr.T @ np.linalg.lstsq(tr @ tr.T + np.eye(len(tr)), onehot, rcond=None)[0]
                accs.append(np.mean((te @ w).argmax(1) == d.y[d.test_mask]))
            runs.append(accs)
        got = v["real-acc"][name]
        assert list(got.values()) == pytest.approx(np.mean(runs, axis=0).tolist(), abs=1e-9)
    t = v["real-acc"]["texas"]
    assert [v["real-texas-mlp"], v["real-texas-gcn"], v["real-texas-sage"]] == list(t.values())
    assert v["real-texas-gcn"] < v["real-texas-mlp"] - 0.15        # "far below"
    assert v["real-texas-sage"] > v["real-texas-gcn"] + 0.15       # "recovers"
