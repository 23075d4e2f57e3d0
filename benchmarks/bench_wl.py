"""Colour refinement speed: mplib.wl_colors against networkx's Weisfeiler-Lehman hash.

Graph: 100k nodes and 500k random undirected edges (1M directed ones), no
features; 3 rounds of 1-WL. The baseline is
``networkx.weisfeiler_lehman_graph_hash(G, iterations=3)``, which runs the same
three rounds (it starts from degrees, i.e. round 1) with string hashing in
Python. Target: at least 10x faster. Before timing, the partition of the nodes
after 3 rounds is checked against ``weisfeiler_lehman_subgraph_hashes``.

Run it through ``benchmarks/run.py wl`` (or ``make bench``), which times the cases and
prints the table.
"""

import warnings

import networkx as nx
import numpy as np

from mplib.graph import Graph, to_undirected
from mplib.wl import wl_colors

N, M, ROUNDS = 100_000, 500_000, 3


def _data(seed=0):
    """M distinct undirected edges without self-loops on N nodes, as (Graph, networkx.Graph)."""
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, N, (2, int(M * 1.05)))
    pairs = pairs[:, pairs[0] != pairs[1]]
    keys = np.unique(np.minimum(*pairs) * N + np.maximum(*pairs))
    keys = keys[rng.permutation(keys.size)[:M]]
    a, b = keys // N, keys % N
    graph = Graph(to_undirected(np.stack([a, b]), N), num_nodes=N)
    G = nx.Graph()
    G.add_nodes_from(range(N))
    G.add_edges_from(zip(a.tolist(), b.tolist()))
    return graph, G


def _nx_hash(G):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "hashes changed in v3.5" notice
        return nx.weisfeiler_lehman_graph_hash(G, iterations=ROUNDS)


def same_partition(a, b):
    """True if the label arrays ``a`` and ``b`` split the nodes into the same classes."""
    a, b = np.unique(a, return_inverse=True)[1], np.unique(b, return_inverse=True)[1]
    pairs = np.unique(a * (b.max() + 1) + b).size
    return pairs == a.max() + 1 == b.max() + 1


def check_partition(graph, G):
    """Compare (untimed) our partition after ROUNDS rounds with networkx's subgraph hashes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        hashes = nx.weisfeiler_lehman_subgraph_hashes(G, iterations=ROUNDS)
    theirs = np.array([hashes[v][-1] for v in range(N)])
    if not same_partition(wl_colors(graph, ROUNDS), theirs):
        raise AssertionError("wl_colors and networkx disagree on the WL partition")


def cases():
    graph, G = _data()
    check_partition(graph, G)
    return [
        (f"wl_colors, {N // 1000}k nodes/{M // 1000}k edges, {ROUNDS} rounds",
         "nx.weisfeiler_lehman_graph_hash", lambda: _nx_hash(G), lambda: wl_colors(graph, ROUNDS), 10.0),
    ]
