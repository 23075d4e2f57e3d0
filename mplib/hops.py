r"""Beyond one hop: shortest-path "virtual edges", K-hop message passing, SPD-WL.

A message-passing layer only hears its direct neighbours. Two ways to hear
further, both from the book:

- give every hop distance its own message function :math:`\psi_d` and
  aggregate the nodes at distance exactly :math:`d` separately
  (:func:`khop_propagate`, Feng et al. 2022);
- add a virtual edge ``j -> i`` for every pair at distance :math:`d`, labelled
  by :math:`d` (:func:`shortest_path_edges`, :func:`spd_graph`), and run colour
  refinement on the labelled graph (:func:`spd_wl_colors`, the SPD-WL test of
  Zhang et al. 2023; distance encodings of Li et al. 2020).

Distances follow the edges: :math:`d(u, v)` is the length of a shortest path
``u -> ... -> v`` (for an undirected graph, both directions are stored, so it
is the usual distance).
"""

import numbers

import numpy as np

from ._validate import check_edge_index, check_features, check_graph, check_int
from .graph import Graph
from .message_passing import adjacency_matrix, propagate
from .wl import wl_colors, wl_history, wl_test

__all__ = ["shortest_path_edges", "khop_propagate", "spd_graph", "spd_wl_colors", "spd_wl_test",
           "UNREACHABLE"]

UNREACHABLE = -1
"""The distance label :func:`spd_graph` gives a pair with no path (distance :math:`\\infty`)."""


def shortest_path_edges(graph, max_distance=None, num_nodes=None):
    r"""One virtual edge ``j -> i`` for every ordered pair at distance :math:`1 \le d(j, i) \le K`.

    .. math::
        \mathcal{N}_d(v) = \{u : d(u, v) = d\}, \qquad
        \mathbb{1}[d(u, v) \le d] = \big[(I + A)^d\big]_{vu} > 0

    Parameters
    ----------
    graph : Graph or array_like of int, shape (2, E)
        The graph, or its ``edge_index`` (edges ``src -> dst``).
    max_distance : int or None, default None
        :math:`K \ge 1`; None keeps every reachable pair.
    num_nodes : int, optional
        Only with an ``edge_index``; defaults to one more than its largest id.

    Returns
    -------
    edge_index : ndarray of int64, shape (2, P)
        Pairs ``j -> i`` with a path from ``j`` to ``i`` of length at most
        :math:`K`, sorted by (source, target); ``u != v``, no duplicates.
    distance : ndarray of int64, shape (P,)
        :math:`d(u, v)`.

    Raises
    ------
    ValueError
        If ``max_distance`` < 1 or ``edge_index`` is malformed.
    TypeError
        If ``max_distance`` is not an int or None.

    Examples
    --------
    The path 0 - 1 - 2:

    >>> ei, d = shortest_path_edges([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> ei
    array([[0, 0, 1, 1, 2, 2],
           [1, 2, 0, 2, 0, 1]])
    >>> d
    array([1, 2, 1, 1, 2, 1])

    Notes
    -----
    A breadth-first search from every node at once, written with sparse
    matrices: the frontier :math:`F_d` (:math:`(F_d)_{vu} = 1` iff
    :math:`d(u, v) = d`) gives :math:`F_{d+1} = (A F_d > 0)` minus every pair
    seen before. Memory grows with the number of pairs returned, not with
    :math:`N^2` (unless they are that many). Self-loops and parallel edges of
    the input do not change distances and are not repeated.

    References
    ----------
    J. Feng, Y. Chen, F. Li, A. Sarkar, M. Zhang, "How powerful are K-hop
    message passing graph neural networks", NeurIPS 2022.
    """
    edge_index, n = check_graph(graph, num_nodes)
    if max_distance is not None:
        max_distance = check_int(max_distance, "max_distance", minimum=1)
    A = adjacency_matrix(edge_index, n, dtype=np.int64)
    A.data[:] = 1  # parallel edges counted once; self-loops only reach pairs already seen
    seen = adjacency_matrix(np.stack([np.arange(n)] * 2), n, dtype=np.int64)  # d(v, v) = 0
    frontier, d = seen, 0
    pieces = []
    while frontier.nnz and (max_distance is None or d < max_distance):
        reached = A @ frontier
        reached.data[:] = 1
        frontier = reached - reached.multiply(seen)  # pairs first reached at this step
        frontier.eliminate_zeros()
        d += 1
        seen = seen + frontier
        coo = frontier.tocoo()
        pieces.append((coo.col, coo.row, np.full(coo.nnz, d)))  # column u -> row v
    src, dst, dist = (np.concatenate([p[k] for p in pieces]).astype(np.int64) if pieces
                      else np.zeros(0, dtype=np.int64) for k in range(3))
    order = np.lexsort((dst, src))
    return np.stack([src[order], dst[order]]), dist[order]


def _hop_functions(messages):
    """``messages`` as a dict distance -> callable or None."""
    if isinstance(messages, dict):
        hops = dict(messages)
        for d in hops:
            if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1:
                raise ValueError(f"`messages` keys must be hop distances >= 1, got {d!r}")
    elif isinstance(messages, (list, tuple)):
        hops = {d + 1: fn for d, fn in enumerate(messages)}
    else:
        raise TypeError(f"`messages` must be a list or dict of callables, got {type(messages).__name__}")
    if not hops:
        raise ValueError("`messages` must hold at least one hop")
    for d, fn in hops.items():
        if fn is not None and not callable(fn):
            raise TypeError(f"the message for hop {d} must be callable or None, got {type(fn).__name__}")
    return dict(sorted(hops.items()))


def khop_propagate(x, edge_index, messages, aggregate="sum", combine="sum", update=None, distance=None):
    r"""K-hop message passing: one message function per hop distance.

    .. math::
        m_i^{(d)} = \bigoplus_{j:\ d(j, i) = d} \psi_d(h_i, h_j), \qquad
        h_i' = \phi\Big(h_i,\ \textstyle\sum_{d=1}^{K} m_i^{(d)}\Big)
        \ \text{ or }\ \phi\big(h_i,\ [m_i^{(1)} \,\|\, \dots \,\|\, m_i^{(K)}]\big)

    Each hop is one call of :func:`~mplib.message_passing.propagate` on the
    virtual edges at that distance.

    Parameters
    ----------
    x : array_like, shape (N, F)
        Node states.
    edge_index : array_like of int, shape (2, E)
        The graph's edges, from which the distances are computed; or, when
        ``distance`` is given, the virtual edges of :func:`shortest_path_edges`.
    messages : list or dict of callables (or None)
        :math:`\psi_d`: ``messages[d - 1]`` (list) or ``messages[d]`` (dict),
        called as ``psi(x_i, x_j, dist)`` like the ``message`` of
        ``propagate`` (``dist`` is the array of distances, all equal to ``d``).
        None is the plain message :math:`h_j`. :math:`K` is the largest hop;
        hops missing from a dict are skipped.
    aggregate : {"sum", "mean", "max", "min"} or callable, default "sum"
        :math:`\bigoplus`, within each hop. A node with nobody at distance
        :math:`d` gets :math:`m^{(d)} = 0`.
    combine : {"sum", "concat"}, default "sum"
        How the hops are merged: summed (all :math:`\psi_d` must return the
        same width) or concatenated along the last axis, hop 1 first.
    update : callable, optional
        :math:`\phi(x, m)`; default: return :math:`m`.
    distance : array_like of int, shape (E,), optional
        Hop distances of precomputed virtual edges (saves the search when the
        same graph is used by several layers).

    Returns
    -------
    ndarray
        One row per node.

    Raises
    ------
    ValueError
        If ``messages`` is empty or has a key < 1, ``combine`` is unknown, or
        ``distance`` does not match ``edge_index``.
    TypeError
        If a message is not callable.

    Examples
    --------
    On the path 0 - 1 - 2, hop 1 sums the neighbours, hop 2 counts 10 per node at distance 2:

    >>> x = np.array([[1.0], [2.0], [4.0]])
    >>> ei = [[0, 1, 1, 2], [1, 0, 2, 1]]
    >>> khop_propagate(x, ei, [None, lambda xi, xj, d: np.full_like(xj, 10.0)])
    array([[12.],
           [ 5.],
           [12.]])

    Notes
    -----
    Distances are shortest-path distances (Feng et al.'s "SPD kernel"): node
    :math:`u` speaks to :math:`v` only through :math:`\psi_{d(u,v)}`. Their
    other kernel, graph diffusion, counts walks (:math:`A^d`) instead. With a
    single hop and a graph without self-loops or parallel edges, this is
    exactly ``propagate``.

    References
    ----------
    J. Feng et al., "How powerful are K-hop message passing graph neural
    networks", NeurIPS 2022.
    P. Li, Y. Wang, H. Wang, J. Leskovec, "Distance encoding: design provably
    more powerful neural networks for graph representation learning", NeurIPS 2020.
    """
    x = check_features(x, name="x", ndim=None)
    if x.ndim == 0:
        raise ValueError("`x` must have one row per node, got a scalar")
    hops = _hop_functions(messages)
    if combine not in ("sum", "concat"):
        raise ValueError(f"`combine` must be 'sum' or 'concat', got {combine!r}")
    if update is not None and not callable(update):
        raise TypeError(f"`update` must be callable or None, got {type(update).__name__}")
    n = x.shape[0]
    if distance is None:
        virtual, distance = shortest_path_edges(edge_index, max(hops), num_nodes=n)
    else:
        virtual = check_edge_index(edge_index, n)
        distance = np.asarray(distance)
        if distance.shape != (virtual.shape[1],):
            raise ValueError(
                f"`distance` must have shape ({virtual.shape[1]},), one per edge, got {distance.shape}"
            )
    out = [propagate(x, virtual[:, distance == d], message=fn, aggregate=aggregate,
                     edge_attr=distance[distance == d]) for d, fn in hops.items()]
    if combine == "sum":
        widths = {o.shape[1:] for o in out}
        if len(widths) > 1:
            raise ValueError(f"with combine='sum' every hop must return the same shape, got {sorted(widths)}")
        agg = np.sum(out, axis=0)
    else:
        agg = np.concatenate([o.reshape(n, -1) for o in out], axis=1)
    return agg if update is None else update(x, agg)


def spd_graph(graph, max_distance=None):
    r"""The graph of virtual edges labelled by shortest-path distance, for SPD-WL.

    Parameters
    ----------
    graph : Graph
    max_distance : int or None, default None
        :math:`K`: keep the pairs with :math:`1 \le d(u, v) \le K`. None: keep
        every ordered pair ``u != v``, the unreachable ones labelled
        :data:`UNREACHABLE` (``-1``, standing for :math:`\infty`).

    Returns
    -------
    Graph
        Same nodes and ``x``; ``edge_index`` the virtual edges (sorted by
        source, then target), ``edge_attr`` of shape ``(P,)`` their distances.

    Raises
    ------
    TypeError, ValueError
        If ``graph`` is not a Graph or ``max_distance`` is not an int >= 1 or None.

    Examples
    --------
    Two isolated nodes: with ``max_distance=None`` they still see each other, at :math:`\infty`.

    >>> g = spd_graph(Graph(np.zeros((2, 0), dtype=int), num_nodes=2))
    >>> g.edge_index, g.edge_attr
    (array([[0, 1],
           [1, 0]]), array([-1., -1.]))
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be an mplib.Graph, got {type(graph).__name__}")
    edge_index, distance = shortest_path_edges(graph, max_distance)
    n = graph.num_nodes
    if max_distance is None:  # add the unreachable pairs u != v
        full = np.full((n, n), UNREACHABLE, dtype=np.int64)
        full[edge_index[0], edge_index[1]] = distance
        src, dst = np.nonzero(~np.eye(n, dtype=bool))
        edge_index, distance = np.stack([src, dst]).astype(np.int64), full[src, dst]
    return Graph(edge_index, num_nodes=n, x=graph.x, edge_attr=distance)


def spd_wl_colors(graph, max_distance=None, iterations=None, return_history=False):
    r"""SPD-WL: colour refinement where a node sees every node within :math:`K` hops, with its distance.

    .. math::
        c_i^{(t+1)} = \operatorname{rank}\Big(c_i^{(t)},\
            \{\!\{ (d(j, i),\ c_j^{(t)}) : 1 \le d(j, i) \le K \}\!\}\Big)

    Parameters
    ----------
    graph : Graph
    max_distance : int or None, default None
        :math:`K`. None: every other node, :math:`d = \infty` included as its
        own label (see :func:`spd_graph`). ``max_distance=1`` is plain 1-WL.
    iterations : int or None, default None
        As for :func:`~mplib.wl.wl_colors`.
    return_history : bool, default False
        Return the colouring after every round (as :func:`~mplib.wl.wl_history`).

    Returns
    -------
    ndarray of int64, shape (N,), or list of them

    Raises
    ------
    TypeError, ValueError
        As :func:`spd_graph` and :func:`~mplib.wl.wl_colors`.

    Examples
    --------
    The path 0 - 1 - 2 - 3 - 4 needs two rounds of 1-WL to find its centre; SPD-WL needs one.

    >>> from mplib.wl import wl_history
    >>> path = Graph([[0, 1, 1, 2, 2, 3, 3, 4], [1, 0, 2, 1, 3, 2, 4, 3]])
    >>> len(wl_history(path)) - 1, len(spd_wl_colors(path, return_history=True)) - 1
    (2, 1)

    Notes
    -----
    SPD-WL is at least as strong as 1-WL (distance 1 is in the label) and
    separates :math:`C_6` from two triangles (in :math:`C_6` each node has
    two nodes at distance 2, in a triangle none). It does not separate
    :math:`K_{3,3}` from the prism: in both, every node has three nodes at
    distance 1 and two at distance 2. Nor any two strongly regular graphs
    with the same parameters (e.g. the Shrikhande and 4x4 rook's graphs).

    References
    ----------
    B. Zhang, S. Luo, L. Wang, D. He, "Rethinking the expressive power of GNNs
    via graph biconnectivity", ICLR 2023 (SPD-WL).
    J. Feng et al., NeurIPS 2022.
    """
    virtual = spd_graph(graph, max_distance)
    if return_history:
        return wl_history(virtual, iterations, use_edge_attr=True)
    return wl_colors(virtual, iterations, use_edge_attr=True)


def spd_wl_test(g1, g2, max_distance=None, iterations=None):
    r"""Compare two graphs with SPD-WL, as :func:`~mplib.wl.wl_test` does with 1-WL.

    Parameters
    ----------
    g1, g2 : Graph
    max_distance : int or None, default None
        As :func:`spd_wl_colors`.
    iterations : int or None, default None

    Returns
    -------
    WLResult

    Examples
    --------
    >>> from mplib.generators import cycle_graph, two_triangles
    >>> spd_wl_test(cycle_graph(6), two_triangles())
    WLResult(distinguished=True, iteration=1, rounds=1)

    References
    ----------
    B. Zhang et al., ICLR 2023.
    """
    for name, g in (("g1", g1), ("g2", g2)):
        if not isinstance(g, Graph):
            raise TypeError(f"`{name}` must be an mplib.Graph, got {type(g).__name__}")
    return wl_test(spd_graph(g1, max_distance), spd_graph(g2, max_distance), iterations, use_edge_attr=True)
