"""Preparing data for training: label splits and batches of graphs.

Usage guide
-----------
:func:`split_per_class` draws the few labelled nodes of semi-supervised node
classification (``k`` per class) and a validation set; :func:`batch_graphs`
merges many small graphs into one disjoint graph with a ``batch`` vector, so
that a graph classifier runs one forward pass over the whole data set and
reads out one row per graph with :func:`mplib.functional.global_pool`:

>>> from mplib.generators import cycle_graph, path_graph
>>> from mplib.functional import global_pool
>>> g, batch = batch_graphs([cycle_graph(3), path_graph(2)])
>>> global_pool(np.ones((g.num_nodes, 1)), batch)     # nodes per graph
array([[3.],
       [2.]])
"""

import numpy as np

from ._validate import check_int, check_rng
from .graph import Graph

__all__ = ["split_per_class", "batch_graphs"]


def split_per_class(y, num_per_class, num_val=0, rng=None):
    """Pick ``num_per_class`` training targets of every class at random; the rest is validation and test.

    Parameters
    ----------
    y : array_like of int, shape (M,)
    num_per_class : int
        Labelled examples per class (the semi-supervised setting of Kipf & Welling).
    num_val : int, default 0
        Size of the validation set, drawn at random from the remaining targets.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    train_idx, val_idx, test_idx : ndarray of int64, sorted, disjoint, together all of ``range(M)``

    Raises
    ------
    ValueError
        If a class has fewer than ``num_per_class`` members or too few remain for ``num_val``.

    Examples
    --------
    >>> train, val, test = split_per_class([0, 0, 0, 1, 1, 1], 1, num_val=2, rng=0)
    >>> len(train), len(val), len(test)
    (2, 2, 2)
    """
    y = np.asarray(y)
    k = check_int(num_per_class, "num_per_class", minimum=1)
    num_val = check_int(num_val, "num_val")
    rng = check_rng(rng)
    order = rng.permutation(y.shape[0])
    train = []
    for c in np.unique(y):  # a loop over classes, not nodes
        members = order[y[order] == c]
        if members.size < k:
            raise ValueError(f"class {c} has only {members.size} members, fewer than `num_per_class` = {k}")
        train.append(members[:k])
    train = np.concatenate(train)
    rest = order[~np.isin(order, train)]
    if num_val > rest.size:
        raise ValueError(f"`num_val` must be at most {rest.size} (targets left after training), got {num_val}")
    return np.sort(train), np.sort(rest[:num_val]), np.sort(rest[num_val:])


# ---------------------------------------------------------------------- batching graphs

def batch_graphs(graphs):
    r"""Merge graphs into one disjoint union, for graph-level tasks.

    Nodes of graph :math:`k` are renumbered after those of graphs :math:`0..k-1`;
    no edge joins two graphs, so one round of message passing on the union is
    one round on every graph. ``batch[v]`` names the graph of node ``v``, which is
    what :func:`mplib.functional.global_pool` needs to read out one row per graph.

    Parameters
    ----------
    graphs : sequence of Graph
        ``x`` (and ``edge_attr``) must be present in all graphs or in none, with
        the same number of columns.

    Returns
    -------
    graph : Graph
        ``x`` and ``edge_attr`` stacked; ``y`` stacked into shape ``(G,)`` when every
        graph has a scalar label, concatenated (node labels) when every graph has an array.
    batch : ndarray of int64, shape (N,)

    Raises
    ------
    ValueError
        If ``graphs`` is empty or the graphs do not all carry the same attributes.

    Examples
    --------
    >>> g, batch = batch_graphs([Graph([[0], [1]]), Graph([[0, 1], [1, 2]])])
    >>> g.edge_index
    array([[0, 2, 3],
           [1, 3, 4]])
    >>> batch
    array([0, 0, 1, 1, 1])
    """
    graphs = list(graphs)
    if not graphs:
        raise ValueError("`graphs` must hold at least one Graph, got none")
    for k, g in enumerate(graphs):
        if not isinstance(g, Graph):
            raise TypeError(f"`graphs[{k}]` must be a Graph, got {type(g).__name__}")
    sizes = np.array([g.num_nodes for g in graphs], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    edge_index = np.concatenate([g.edge_index + o for g, o in zip(graphs, offset)], axis=1)

    def stack(name, how):
        values = [getattr(g, name) for g in graphs]
        if all(v is None for v in values):
            return None
        if any(v is None for v in values):
            raise ValueError(f"`{name}` must be present in all graphs or in none")
        try:
            return how(values)
        except ValueError:
            raise ValueError(f"`{name}` of the graphs cannot be stacked: shapes "
                             f"{sorted({np.shape(v) for v in values})}") from None

    x = stack("x", lambda v: np.concatenate(v, axis=0))
    edge_attr = stack("edge_attr", lambda v: np.concatenate(v, axis=0))
    y = stack("y", lambda v: np.stack(v) if all(np.ndim(a) == 0 for a in v) else np.concatenate(v, axis=0))
    batch = np.repeat(np.arange(len(graphs), dtype=np.int64), sizes)
    return Graph(edge_index, num_nodes=int(sizes.sum()), x=x, edge_attr=edge_attr, y=y), batch
