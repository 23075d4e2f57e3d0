"""Random graphs for the hidden checks: the situations the book discusses, drawn from ``rng``.

Every generator returns plain numpy data: ``edge_index`` int64 of shape (2, E)
(row 0 senders, row 1 receivers) and a node count.
"""

import numpy as np


def random_edges(rng, num_nodes, num_edges, self_loops=False, receivers=None):
    """``num_edges`` random edges (parallel edges possible); receivers drawn from ``receivers``."""
    src = rng.integers(0, num_nodes, num_edges)
    pool = np.arange(num_nodes) if receivers is None else np.asarray(receivers)
    dst = pool[rng.integers(0, len(pool), num_edges)] if len(pool) else np.zeros(0, np.int64)
    if not self_loops:
        loop = src == dst
        src[loop] = (src[loop] + 1 + rng.integers(0, max(num_nodes - 1, 1), loop.sum())) % num_nodes
        if num_nodes == 1:
            src, dst = src[~loop], dst[~loop]
    return np.stack([src, dst]).astype(np.int64)


def undirected(edge_index):
    """Both directions of every edge, without duplicates, sorted by (src, dst)."""
    both = np.concatenate([edge_index, edge_index[::-1]], axis=1)
    both = both[:, both[0] != both[1]]
    return np.unique(both, axis=1).astype(np.int64) if both.size else np.zeros((2, 0), np.int64)


def graph_suite(rng, self_loops=True, large=True):
    """A list of ``(label, num_nodes, edge_index)``: the standard situations.

    Random graphs, isolated nodes (no incoming edge), a graph without edges,
    parallel edges, a hub, nodes that receive exactly one message (the last
    nodes receive none), self-loops (if ``self_loops``), a single node, and a
    larger random graph (if ``large``). Edge order is random.
    """
    out = []
    n = int(rng.integers(5, 10))
    out.append(("random graph", n, random_edges(rng, n, int(rng.integers(n, 3 * n)))))
    n = int(rng.integers(6, 12))
    receivers = rng.choice(n, size=n // 2, replace=False)
    out.append(("isolated nodes (no incoming edges)", n, random_edges(rng, n, 2 * n, receivers=receivers)))
    n = int(rng.integers(2, 6))
    out.append(("no edges at all", n, np.zeros((2, 0), np.int64)))
    n = int(rng.integers(3, 7))
    base = random_edges(rng, n, n)
    out.append(("parallel edges", n, np.concatenate([base, base[:, : n // 2 + 1]], axis=1)))
    n = int(rng.integers(6, 12))
    hub = int(rng.integers(0, n))
    leaves = np.array([k for k in range(n) if k != hub])
    out.append(("a hub receiving from every node", n,
                np.stack([leaves, np.full(n - 1, hub)]).astype(np.int64)))
    n = int(rng.integers(8, 14))
    out.append(("undirected random graph", n, undirected(random_edges(rng, n, 2 * n))))
    n = int(rng.integers(4, 9))  # node k hears node k + 1 only; the last two nodes hear nobody
    out.append(("in-degree one (a directed path; the last nodes receive nothing)", n,
                np.stack([np.arange(1, n - 1), np.arange(0, n - 2)]).astype(np.int64)))
    if self_loops:
        n = int(rng.integers(4, 8))
        ei = random_edges(rng, n, 2 * n)
        loops = rng.choice(n, size=n // 2, replace=False)
        out.append(("self-loops", n, np.concatenate([ei, np.stack([loops, loops])], axis=1)))
        out.append(("one node with a self-loop", 1, np.zeros((2, 1), np.int64)))
    else:
        out.append(("one node, no edges", 1, np.zeros((2, 0), np.int64)))
    if large:
        n = 300
        out.append(("larger random graph", n, random_edges(rng, n, 1500)))
    shuffled = []
    for label, n, ei in out:
        order = rng.permutation(ei.shape[1])
        shuffled.append((label, n, np.ascontiguousarray(ei[:, order])))
    return shuffled
