"""The claims of book/principles/01_conversation.md, checked on the page's own numbers.

The values come from the executed page (:func:`book_values.page_values`); the references are
networkx (neighbours, edge counts), the update rule as the prose states it, numpy's
permutation for the relabelling, and machine epsilon.
"""

import networkx as nx
import numpy as np
import pytest

from book_values import page_values

pytestmark = pytest.mark.needs_book


@pytest.fixture(scope="module")
def v():
    return page_values("principles/01_conversation")


@pytest.fixture(scope="module")
def graph(v):
    G = nx.Graph(v["page_graph"]["edges"])
    return G, v["page_graph"]["h0"]


def test_edge_count_and_columns(v, graph):
    G, _ = graph
    assert v["n_edges_undirected"] == G.number_of_edges()
    assert v["n_columns"] == 2 * G.number_of_edges()     # both directions stored


def test_worked_round_of_the_receiver(v, graph):
    G, h = graph
    r, step = v["receiver"], v["page_graph"]["step"]
    assert all(h[u] >= h[r] for u in G[r])                # "all at least as high"
    after = h[r] + step * sum(h[u] - h[r] for u in G[r])  # phi(h, sum of psi) from the prose
    assert float(v["h_receiver_before"]) == h[r]
    assert float(v["h_receiver_after"]) == pytest.approx(after) and after > h[r]
    assert v["gap_hand"] == 0.0                            # loop and propagate agree exactly


def by_id(G, h, v):
    return sum((k + 1) * h[u] for k, u in enumerate(sorted(G[v])))


def test_by_id_listener_changes_under_relabelling(v, graph):
    G, h = graph
    r = v["receiver"]
    perm = np.random.default_rng(v["page_graph"]["seed"]).permutation(G.number_of_nodes())
    H = nx.relabel_nodes(G, {k: int(perm[k]) for k in G})
    h_new = np.empty(len(h))
    h_new[perm] = h
    assert v["receiver_new"] == perm[r]
    assert v["byid_before"] == by_id(G, h, r)
    assert v["byid_after"] == by_id(H, h_new, v["receiver_new"]) != v["byid_before"]
    assert v["plain_changed"] == 0 < v["byid_changed"] <= v["trials"]


def test_equivariance_up_to_rounding_and_sharing(v):
    assert v["eps"] == np.finfo(float).eps
    assert v["gcn_gap"] < 100 * v["eps"]
    assert v["unshared_gap"] > 0.1                         # no sharing, no equivariance
    n = len(v["page_graph"]["h0"])
    assert v["n_unshared"] == n * v["n_shared"]            # one matrix per node
