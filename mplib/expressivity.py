r"""Past 1-WL and past one graph: stronger refinements, cycle counts, readouts and pooling.

Colour refinement (:mod:`mplib.wl`) bounds what message passing can tell apart.
This module holds the book's ways past that bound and the pieces of graph-level
models:

- :func:`peripheral_features`: KP-GNN's peripheral information, the number of nodes
  and of edges among them at each distance from a node;
- :func:`refinement_invariants`: one invariant per graph under plain 1-WL, node-marked
  (subgraph) refinement or K-hop refinement with peripheral information, comparable
  across all graphs of one call;
- :func:`count_cycles`: triangles and 4-cycles, by closed forms in the adjacency matrix;
- :func:`readout`: sum, mean, max or attention over the nodes of each graph;
- :func:`cluster_pool`: DiffPool-style coarsening with an assignment matrix;
- :func:`shortest_path_matrix`: all hop distances, as one array.

The pieces of graph transformers (positional encodings, attention) are in
:mod:`mplib.transformer`.

Node ``k`` is row ``k`` throughout. The learnable functions take numpy arrays or
:class:`~mplib.autograd.Tensor` s.
"""

import numpy as np

from ._validate import check_int
from .aggregation import scatter, segment_softmax
from .autograd import Tensor, unwrap
from .data import batch_graphs
from .graph import Graph
from .hops import UNREACHABLE, shortest_path_edges
from .wl import wl_colors

__all__ = ["peripheral_features", "refinement_invariants", "count_cycles", "readout", "cluster_pool",
           "shortest_path_matrix"]

METHODS = ("wl", "marked", "peripheral")


def _graph(graph, name="graph"):
    if not isinstance(graph, Graph):
        raise TypeError(f"`{name}` must be an mplib.Graph, got {type(graph).__name__}")
    return graph


def _adjacency(g):
    a = np.zeros((g.num_nodes, g.num_nodes))
    a[g.edge_index[0], g.edge_index[1]] = 1.0
    a = np.maximum(a, a.T)
    np.fill_diagonal(a, 0.0)
    return a


def shortest_path_matrix(graph):
    r"""All shortest-path distances, :data:`~mplib.hops.UNREACHABLE` (-1) between components.

    Parameters
    ----------
    graph : Graph

    Returns
    -------
    ndarray of int64, shape (N, N)
        ``d[v, u]`` the number of hops from ``u`` to ``v``; 0 on the diagonal.

    Examples
    --------
    >>> from mplib.generators import path_graph
    >>> shortest_path_matrix(path_graph(3))
    array([[0, 1, 2],
           [1, 0, 1],
           [2, 1, 0]])
    """
    g = _graph(graph)
    d = np.full((g.num_nodes, g.num_nodes), UNREACHABLE, dtype=np.int64)
    np.fill_diagonal(d, 0)
    (src, dst), dist = shortest_path_edges(g)
    d[dst, src] = dist
    return d


def peripheral_features(graph, hops=2):
    r"""KP-GNN's peripheral information: at each distance, how many nodes and how many edges among them.

    .. math::
        Q_v^{(k)} = \{u : d(u, v) = k\}, \qquad
        f_v = \big(|Q_v^{(1)}|,\ |E(Q_v^{(1)})|,\ \dots,\ |Q_v^{(K)}|,\ |E(Q_v^{(K)})|\big)

    where :math:`E(Q)` are the edges with both ends in :math:`Q`. One hop already
    separates :math:`K_{3,3}` (no edge among a node's neighbours) from the triangular
    prism (one).

    Parameters
    ----------
    graph : Graph
        Undirected (both directions stored).
    hops : int, default 2
        :math:`K \ge 1`.

    Returns
    -------
    ndarray of int64, shape (N, 2K)

    Raises
    ------
    TypeError, ValueError
        If ``graph`` is not a Graph or ``hops`` is not an int >= 1.

    References
    ----------
    Feng et al., "How powerful are K-hop message passing graph neural networks", NeurIPS 2022.

    Examples
    --------
    >>> from mplib.generators import k33, triangular_prism
    >>> peripheral_features(k33())[0], peripheral_features(triangular_prism())[0]
    (array([3, 0, 2, 0]), array([3, 1, 2, 1]))
    """
    g = _graph(graph)
    hops = check_int(hops, "hops", minimum=1)
    a, d = _adjacency(g), shortest_path_matrix(g)
    out = []
    for k in range(1, hops + 1):
        ring = (d == k).astype(np.float64)
        out += [ring.sum(axis=1), 0.5 * np.sum((ring @ a) * ring, axis=1)]
    return np.rint(np.stack(out, axis=1)).astype(np.int64)


def refinement_invariants(graphs, method="wl", hops=2):
    r"""One invariant per graph; two graphs are told apart exactly when their invariants differ.

    All graphs are refined together (as one disjoint union, until stable), so the
    colours, and hence the invariants, are comparable within one call.

    - ``"wl"``: plain 1-WL colour refinement from uniform colours.
    - ``"marked"``: node-marked refinement, the simplest subgraph GNN. For every node
      :math:`v`, refine the copy of the graph in which :math:`v` alone has a distinct
      colour; the invariant is the multiset of the :math:`N` copies' colour histograms.
    - ``"peripheral"``: K-hop refinement with peripheral information (KP-GNN): start
      from :func:`peripheral_features`, and let every node see the colours of all
      nodes within ``hops`` hops together with their distance.

    Parameters
    ----------
    graphs : sequence of Graph
        Undirected graphs without node features (features are ignored).
    method : {"wl", "marked", "peripheral"}, default "wl"
    hops : int, default 2
        :math:`K` for ``"peripheral"``.

    Returns
    -------
    list of tuple
        Hashable invariants, one per graph, equal for isomorphic graphs.

    Raises
    ------
    TypeError, ValueError
        If an entry is not a Graph, or ``method`` is unknown.

    References
    ----------
    Bevilacqua et al., "Equivariant subgraph aggregation networks", ICLR 2022 (node marking);
    Feng et al., NeurIPS 2022 (peripheral information).

    Examples
    --------
    >>> from mplib.generators import k33, triangular_prism
    >>> pair = [k33(), triangular_prism()]
    >>> [len(set(refinement_invariants(pair, m))) for m in ("wl", "marked", "peripheral")]
    [1, 2, 2]
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}, got {method!r}")
    graphs = [_graph(g, f"graphs[{k}]") for k, g in enumerate(graphs)]
    copies, owner = [], []  # one copy per graph ("wl", "peripheral") or per (graph, node)
    for k, g in enumerate(graphs):
        n = g.num_nodes
        if method == "wl":
            copies.append(Graph(g.edge_index, num_nodes=n, x=np.zeros((n, 1))))
            owner.append(k)
        elif method == "marked":
            for v in range(n):
                mark = np.zeros((n, 1))
                mark[v] = 1.0
                copies.append(Graph(g.edge_index, num_nodes=n, x=mark))
                owner.append(k)
        else:
            (src, dst), dist = shortest_path_edges(g, max_distance=check_int(hops, "hops", minimum=1))
            copies.append(Graph(np.stack([src, dst]), num_nodes=n, x=peripheral_features(g, hops),
                                edge_attr=dist.astype(np.float64)))
            owner.append(k)
    histograms = [() for _ in copies]
    nonempty = [c for c in copies if c.num_nodes > 0]
    if nonempty:
        union, batch = batch_graphs(nonempty)
        colors = wl_colors(union, use_edge_attr=method == "peripheral")
        order = np.argsort(batch, kind="stable")
        split = np.split(colors[order], np.cumsum(np.bincount(batch, minlength=len(nonempty)))[:-1])
        full = iter(tuple(sorted(c.tolist())) for c in split)
        histograms = [next(full) if c.num_nodes > 0 else () for c in copies]
    if method != "marked":
        return histograms
    per_graph = [[] for _ in graphs]
    for k, h in zip(owner, histograms):
        per_graph[k].append(h)
    return [tuple(sorted(h)) for h in per_graph]


def count_cycles(graph, length):
    r"""The number of cycles of length 3 or 4, by closed forms in the adjacency matrix.

    .. math::
        C_3 = \tfrac16 \operatorname{tr} A^3, \qquad
        C_4 = \tfrac18\Big(\operatorname{tr} A^4 - 2\sum_i d_i^2 + \sum_i d_i\Big)

    (:math:`\operatorname{tr} A^4` counts closed walks of length 4; those that are not
    4-cycles walk back and forth along one or two edges.)

    Parameters
    ----------
    graph : Graph
        Undirected, simple.
    length : {3, 4}

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``length`` is not 3 or 4.

    Examples
    --------
    >>> from mplib.generators import complete_graph
    >>> count_cycles(complete_graph(4), 3), count_cycles(complete_graph(4), 4)
    (4, 3)
    """
    if length not in (3, 4):
        raise ValueError(f"`length` must be 3 or 4, got {length!r}")
    a = _adjacency(_graph(graph))
    a2 = a @ a
    if length == 3:
        return int(round(np.trace(a2 @ a) / 6))
    deg = a.sum(axis=1)
    return int(round((np.trace(a2 @ a2) - 2 * np.sum(deg**2) + np.sum(deg)) / 8))


def readout(x, batch=None, reduce="sum", att=None):
    r"""Graph-level readout: one row per graph from the rows of its nodes.

    .. math::
        h_G = \sum_{i} h_i,\quad \frac{1}{|G|}\sum_i h_i,\quad \max_i h_i,
        \quad\text{or}\quad \sum_i \alpha_i h_i,\ \
        \alpha = \operatorname{softmax}_{i \in G}(h_i^\top a)

    Sum can count; mean sees only proportions (it confuses a multiset with two
    copies of itself); max sees only which values occur. Attention weights the
    nodes by a learned score and, like mean, confuses a multiset with its copies.

    Parameters
    ----------
    x : array_like or Tensor, shape (N, F)
    batch : array_like of int, shape (N,), optional
        Graph of each node; default one graph.
    reduce : {"sum", "mean", "max", "attention"}, default "sum"
    att : array_like or Tensor, shape (F,), optional
        The score vector :math:`a` (required for ``"attention"``).

    Returns
    -------
    ndarray (Tensor if an input is one), shape (G, F)

    Raises
    ------
    ValueError
        If ``reduce`` is unknown or ``att`` is missing or of the wrong length.

    Examples
    --------
    >>> x = [[1.0], [2.0], [2.0]]
    >>> [readout(x, reduce=r).item() for r in ("sum", "mean", "max")]
    [5.0, 1.6666666666666667, 2.0]
    """
    if reduce not in ("sum", "mean", "max", "attention"):
        raise ValueError(f"`reduce` must be 'sum', 'mean', 'max' or 'attention', got {reduce!r}")
    if not isinstance(x, Tensor):
        x = np.asarray(x, dtype=np.float64)
    n = unwrap(x).shape[0]
    batch = np.zeros(n, dtype=np.int64) if batch is None else np.asarray(batch, dtype=np.int64)
    if batch.shape != (n,):
        raise ValueError(f"`batch` must have shape ({n},), got {batch.shape}")
    num = int(batch.max()) + 1 if n else 0
    if reduce != "attention":
        return scatter(x, batch, num, reduce=reduce)
    if att is None:
        raise ValueError("`reduce='attention'` needs the score vector `att`")
    if unwrap(att).shape != (unwrap(x).shape[1],):
        raise ValueError(f"`att` must have shape ({unwrap(x).shape[1]},), got {unwrap(att).shape}")
    f = unwrap(x).shape[1]
    att = att.reshape(f, 1) if isinstance(att, Tensor) else np.asarray(att, dtype=np.float64).reshape(f, 1)
    alpha = segment_softmax((x @ att).reshape(n), batch, num)
    return scatter(x * alpha.reshape(n, 1), batch, num, reduce="sum")


def cluster_pool(x, edge_index, assign):
    r"""DiffPool-style coarsening: clusters become nodes, edges are summed between clusters.

    .. math:: X' = S^\top X, \qquad A' = S^\top A\, S

    with :math:`S` the (soft or hard) assignment of nodes to clusters.

    Parameters
    ----------
    x : array_like, shape (N, F)
    edge_index : array_like of int, shape (2, E)
    assign : array_like, shape (N, C)
        Row :math:`v` holds node :math:`v`'s shares of the :math:`C` clusters.

    Returns
    -------
    x_pooled : ndarray, shape (C, F)
    adj_pooled : ndarray, shape (C, C)
        Entry :math:`(c, c')` the total weight of edges from cluster :math:`c'` to
        :math:`c` (the diagonal holds the edges inside a cluster, both directions).

    Raises
    ------
    ValueError
        If ``assign`` does not have one row per node.

    References
    ----------
    Ying et al., "Hierarchical graph representation learning with differentiable pooling", NeurIPS 2018.

    Examples
    --------
    A path 0 - 1 - 2 with nodes 0, 1 in one cluster:

    >>> ei = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> xp, ap = cluster_pool(np.eye(3), ei, [[1, 0], [1, 0], [0, 1]])
    >>> ap
    array([[2., 1.],
           [1., 0.]])
    """
    x = np.asarray(x, dtype=np.float64)
    s = np.asarray(assign, dtype=np.float64)
    n = x.shape[0]
    if s.ndim != 2 or s.shape[0] != n:
        raise ValueError(f"`assign` must have shape ({n}, C), got {s.shape}")
    a = np.zeros((n, n))
    ei = np.asarray(edge_index)
    np.add.at(a, (ei[1], ei[0]), 1.0)
    return s.T @ x, s.T @ a @ s
