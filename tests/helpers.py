"""Shared test helpers: random graphs, random relabellings, symmetry assertions.

Every aggregator test uses :func:`assert_invariant` and every layer test uses
:func:`assert_equivariant`, so "permutation symmetry" is checked the same way
everywhere.
"""

from pathlib import Path

import numpy as np

# Every assignment, from nbgrader's source directory: a new folder `solutions/NN_topic` is picked up
# by every course test without editing a list.
ASSIGNMENTS = sorted(p.name for p in (Path(__file__).resolve().parent.parent / "solutions").iterdir()
                     if p.is_dir() and p.name[:2].isdigit())


def random_graph(rng, num_nodes=None, num_edges=None, num_features=3, undirected=False, isolated=True):
    """A random graph ``(x, edge_index)``; may contain isolated nodes and parallel edges.

    Parameters
    ----------
    rng : numpy.random.Generator
    num_nodes, num_edges : int, optional
        Drawn at random when not given (1..12 nodes, 0..4N edges).
    undirected : bool
        Store each edge in both directions (without duplicates).
    isolated : bool
        If False, keep resampling until every node has at least one in-edge.
    """
    n = int(rng.integers(1, 13)) if num_nodes is None else num_nodes
    e = int(rng.integers(0, 4 * n + 1)) if num_edges is None else num_edges
    if not isolated:
        e = max(e, 2 * n)  # enough edges that every node can receive one
    while True:
        src = rng.integers(0, n, e)
        dst = rng.integers(0, n, e)
        keep = src != dst
        edge_index = np.stack([src[keep], dst[keep]]).astype(np.int64)
        if undirected:
            both = np.concatenate([edge_index, edge_index[::-1]], axis=1)
            edge_index = np.unique(both, axis=1) if both.size else both
        if isolated or n == 1 or np.all(np.bincount(edge_index[1], minlength=n) > 0):
            break
    x = rng.standard_normal((n, num_features))
    return x, edge_index


def relabel(x, edge_index, perm):
    """Apply the node relabelling ``old node k -> new node perm[k]``; shuffle the edge order too.

    Returns ``(x_new, edge_index_new, edge_order)`` with ``x_new[perm] = x`` and
    ``edge_order`` the column order applied to the edges (for edge features).
    """
    x_new = np.empty_like(x)
    x_new[perm] = x
    edge_order = np.random.default_rng(len(perm)).permutation(edge_index.shape[1])
    edge_index_new = perm[edge_index][:, edge_order]
    return x_new, edge_index_new, edge_order


def assert_equivariant(f, x, edge_index, rng, trials=5, atol=1e-9, edge_attr=None):
    """Check ``f(P x, P A P^T) == P f(x, A)`` for random relabellings ``P``.

    ``f(x, edge_index)`` (or ``f(x, edge_index, edge_attr)`` when ``edge_attr``
    is given) must return one row per node.
    """
    call = (lambda x_, ei_, ea_: f(x_, ei_)) if edge_attr is None else f
    out = np.asarray(call(x, edge_index, edge_attr))
    for _ in range(trials):
        perm = rng.permutation(x.shape[0])
        x_p, ei_p, order = relabel(x, edge_index, perm)
        ea_p = None if edge_attr is None else np.asarray(edge_attr)[order]
        out_p = np.asarray(call(x_p, ei_p, ea_p))
        expected = np.empty_like(out)
        expected[perm] = out
        np.testing.assert_allclose(out_p, expected, atol=atol, err_msg=f"not equivariant under {perm}")


def assert_invariant(aggregate, messages, index, num_segments, rng, trials=5, atol=1e-12):
    """Check that shuffling the messages (with their receivers) leaves ``aggregate`` unchanged."""
    out = aggregate(messages, index, num_segments)
    for _ in range(trials):
        order = rng.permutation(len(index))
        np.testing.assert_allclose(
            aggregate(messages[order], index[order], num_segments), out, atol=atol,
            err_msg=f"aggregation changed when messages were reordered by {order}",
        )
