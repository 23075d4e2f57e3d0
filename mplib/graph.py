"""The graph container and conversions to and from networkx.

A graph is stored the way PyTorch Geometric stores it: an ``edge_index`` array of
shape ``(2, E)`` whose column ``k`` is the directed edge ``src[k] -> dst[k]``.
Messages flow along edges, from the source ``j`` (row 0) to the target ``i``
(row 1). An undirected graph stores each edge once in each direction.
"""

import networkx as nx
import numpy as np

from ._validate import check_edge_index, check_features, check_int

__all__ = ["Graph", "from_networkx", "to_networkx", "add_self_loops", "to_undirected"]


class Graph:
    r"""A graph with optional node features, edge features and labels.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E)
        Directed edges, row 0 the sources ``j``, row 1 the targets ``i``.
    num_nodes : int, optional
        Number of nodes. Inferred from ``x`` or, failing that, from the largest
        id in ``edge_index`` (isolated nodes with larger ids are then lost).
    x : array_like, shape (N, F), optional
        Node features, row ``k`` belongs to node ``k``.
    edge_attr : array_like, shape (E, D) or (E,), optional
        Edge features, row ``k`` belongs to column ``k`` of ``edge_index``.
    y : array_like, shape (N,) or (N, ...), optional
        Labels (per node) or a graph-level target of any shape.

    Raises
    ------
    ValueError
        If shapes disagree or an edge refers to a node that does not exist.
    TypeError
        If ``edge_index`` does not hold integers.

    Examples
    --------
    >>> g = Graph([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> g.num_nodes, g.num_edges
    (3, 4)
    >>> g
    Graph(num_nodes=3, num_edges=4)
    """

    def __init__(self, edge_index, num_nodes=None, x=None, edge_attr=None, y=None):
        edge_index = check_edge_index(edge_index)
        if x is not None:
            x = check_features(x, name="x", ndim=None)
            if x.ndim not in (1, 2):
                raise ValueError(f"`x` must have shape (N, F) or (N,), got shape {x.shape}")
            if x.ndim == 1:
                x = x[:, None]
        if num_nodes is None:
            if x is not None:
                num_nodes = x.shape[0]
            else:
                num_nodes = int(edge_index.max()) + 1 if edge_index.size else 0
        num_nodes = check_int(num_nodes, "num_nodes")
        if x is not None and x.shape[0] != num_nodes:
            raise ValueError(f"`x` has {x.shape[0]} rows but `num_nodes` is {num_nodes}")
        self.edge_index = check_edge_index(edge_index, num_nodes)
        self.num_nodes = num_nodes
        self.x = x
        if edge_attr is not None:
            edge_attr = check_features(edge_attr, name="edge_attr", ndim=None)
            if edge_attr.ndim == 0 or edge_attr.shape[0] != self.edge_index.shape[1]:
                raise ValueError(
                    f"`edge_attr` must have one row per edge ({self.edge_index.shape[1]}), "
                    f"got shape {edge_attr.shape}"
                )
        self.edge_attr = edge_attr
        self.y = None if y is None else np.asarray(y)

    @property
    def num_edges(self):
        """Number of directed edges (columns of ``edge_index``)."""
        return self.edge_index.shape[1]

    @property
    def num_node_features(self):
        """Number of columns of ``x`` (0 when there are no features)."""
        return 0 if self.x is None else self.x.shape[1]

    def degree(self):
        """In-degree of every node: how many messages it receives.

        Returns
        -------
        ndarray of int64, shape (N,)

        Examples
        --------
        >>> Graph([[0, 1, 2], [1, 2, 1]]).degree()
        array([0, 2, 1])
        """
        return np.bincount(self.edge_index[1], minlength=self.num_nodes).astype(np.int64)

    def __repr__(self):
        parts = [f"num_nodes={self.num_nodes}", f"num_edges={self.num_edges}"]
        if self.x is not None:
            parts.append(f"x={self.x.shape}")
        if self.edge_attr is not None:
            parts.append(f"edge_attr={self.edge_attr.shape}")
        if self.y is not None:
            parts.append(f"y={self.y.shape}")
        return f"Graph({', '.join(parts)})"


def from_networkx(G, node_attr=None, edge_attr=None, y=None):
    """Convert a networkx graph into a :class:`Graph`.

    Node ``k`` of the result is ``list(G)[k]``, the ``k``-th node in networkx's
    iteration order. An undirected networkx graph becomes two directed edges per
    edge; a directed one keeps its edges as they are.

    Parameters
    ----------
    G : networkx.Graph or networkx.DiGraph
    node_attr : str or list of str, optional
        Node attribute name(s) stacked (as columns) into ``x``.
    edge_attr : str or list of str, optional
        Edge attribute name(s) stacked into ``edge_attr``.
    y : str, optional
        Node attribute holding the label of each node.

    Returns
    -------
    Graph

    Raises
    ------
    TypeError
        If ``G`` is not a networkx graph.
    KeyError
        If a node or edge lacks one of the requested attributes.

    Examples
    --------
    >>> import networkx as nx
    >>> g = from_networkx(nx.path_graph(3))
    >>> g.edge_index
    array([[0, 1, 1, 2],
           [1, 0, 2, 1]])
    """
    if not isinstance(G, nx.Graph):
        raise TypeError(f"`G` must be a networkx graph, got {type(G).__name__}")
    if G.is_multigraph():
        raise TypeError("`G` must not be a multigraph; parallel edges have no place in edge_index")
    nodes = list(G)
    position = {node: k for k, node in enumerate(nodes)}
    edges = list(G.edges(data=True))
    src = [position[u] for u, _, _ in edges]
    dst = [position[v] for _, v, _ in edges]
    if G.is_directed():
        order_src, order_dst, keep = src, dst, list(range(len(edges)))
    else:
        # Each undirected edge once per direction; a self-loop only once.
        order_src, order_dst, keep = [], [], []
        for k, (s, d) in enumerate(zip(src, dst)):
            order_src.append(s), order_dst.append(d), keep.append(k)
            if s != d:
                order_src.append(d), order_dst.append(s), keep.append(k)
    edge_index = np.array([order_src, order_dst], dtype=np.int64).reshape(2, -1)
    if not G.is_directed() and edge_index.size:
        # Sort by (source, target) like to_undirected, so the layout is canonical.
        order = np.lexsort((edge_index[1], edge_index[0]))
        edge_index = edge_index[:, order]
        keep = [keep[k] for k in order]

    def _stack(names, items, what):
        names = [names] if isinstance(names, str) else list(names)
        columns = []
        for name in names:
            try:
                columns.append([np.asarray(attrs[name], dtype=float).ravel() for attrs in items])
            except KeyError:
                raise KeyError(f"a {what} has no attribute {name!r} (asked for by `{what}_attr`)")
        if not items:
            return np.zeros((0, len(names)))
        return np.concatenate([np.stack(col) for col in columns], axis=1)

    x = None if node_attr is None else _stack(node_attr, [G.nodes[n] for n in nodes], "node")
    ea = None
    if edge_attr is not None:
        ea = _stack(edge_attr, [edges[k][2] for k in keep], "edge")
    labels = None
    if y is not None:
        try:
            labels = np.array([G.nodes[n][y] for n in nodes])
        except KeyError:
            raise KeyError(f"a node has no attribute {y!r} (asked for by `y`)")
    return Graph(edge_index, num_nodes=len(nodes), x=x, edge_attr=ea, y=labels)


def to_networkx(graph, directed=False):
    """Convert a :class:`Graph` into a networkx graph with nodes ``0..N-1``.

    Node features, labels and edge features are kept as the attributes
    ``"x"``, ``"y"`` and ``"edge_attr"``.

    Parameters
    ----------
    graph : Graph
    directed : bool, default False
        Return a ``DiGraph`` holding every column of ``edge_index``. Otherwise
        return an undirected ``Graph``, in which ``j -> i`` and ``i -> j``
        become the single edge ``{i, j}``.

    Returns
    -------
    networkx.Graph or networkx.DiGraph

    Examples
    --------
    >>> G = to_networkx(Graph([[0, 1], [1, 0]], num_nodes=3))
    >>> sorted(G.edges()), G.number_of_nodes()
    ([(0, 1)], 3)
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be an mplib.Graph, got {type(graph).__name__}")
    G = nx.DiGraph() if directed else nx.Graph()
    for k in range(graph.num_nodes):
        attrs = {}
        if graph.x is not None:
            attrs["x"] = graph.x[k]
        if graph.y is not None and graph.y.ndim >= 1 and graph.y.shape[0] == graph.num_nodes:
            attrs["y"] = graph.y[k]
        G.add_node(k, **attrs)
    for k, (j, i) in enumerate(graph.edge_index.T.tolist()):
        if graph.edge_attr is None:
            G.add_edge(j, i)
        else:
            G.add_edge(j, i, edge_attr=graph.edge_attr[k])
    return G


def _num_nodes(edge_index, num_nodes):
    if num_nodes is None:
        return int(edge_index.max()) + 1 if edge_index.size else 0
    return check_int(num_nodes, "num_nodes")


def add_self_loops(edge_index, edge_attr=None, fill_value=1.0, num_nodes=None):
    """Append a self-loop ``i -> i`` for every node, as PyG's ``add_self_loops``.

    Existing self-loops are kept, so a node that had one now has two (use
    this on graphs without self-loops, as GAT does after removing them).

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E)
    edge_attr : array_like, shape (E, ...) , optional
        Features of the existing edges; the new loops get ``fill_value``.
    fill_value : float, default 1.0
    num_nodes : int, optional
        Defaults to one more than the largest id in ``edge_index``.

    Returns
    -------
    edge_index : ndarray of int64, shape (2, E + N)
        The old edges followed by the loops ``0 -> 0, 1 -> 1, ...``.
    edge_attr : ndarray or None
        ``edge_attr`` extended with ``N`` rows of ``fill_value`` (None if not given).

    Examples
    --------
    >>> ei, _ = add_self_loops([[0], [1]], num_nodes=2)
    >>> ei
    array([[0, 0, 1],
           [1, 0, 1]])
    """
    edge_index = check_edge_index(edge_index)
    n = _num_nodes(edge_index, num_nodes)
    edge_index = check_edge_index(edge_index, n)
    loops = np.arange(n, dtype=np.int64)
    new_index = np.concatenate([edge_index, np.stack([loops, loops])], axis=1)
    if edge_attr is None:
        return new_index, None
    edge_attr = check_features(edge_attr, name="edge_attr", ndim=None)
    if edge_attr.ndim == 0 or edge_attr.shape[0] != edge_index.shape[1]:
        raise ValueError(
            f"`edge_attr` must have one row per edge ({edge_index.shape[1]}), got shape {edge_attr.shape}"
        )
    fill = np.full((n,) + edge_attr.shape[1:], fill_value, dtype=edge_attr.dtype)
    return new_index, np.concatenate([edge_attr, fill], axis=0)


def remove_self_loops(edge_index, edge_attr=None):
    """Drop every edge ``i -> i``; return ``(edge_index, edge_attr)``.

    Examples
    --------
    >>> remove_self_loops([[0, 1, 1], [0, 1, 0]])[0]
    array([[1],
           [0]])
    """
    edge_index = check_edge_index(edge_index)
    keep = edge_index[0] != edge_index[1]
    if edge_attr is None:
        return edge_index[:, keep], None
    edge_attr = np.asarray(edge_attr)
    if edge_attr.ndim == 0 or edge_attr.shape[0] != edge_index.shape[1]:
        raise ValueError(
            f"`edge_attr` must have one row per edge ({edge_index.shape[1]}), got shape {edge_attr.shape}"
        )
    return edge_index[:, keep], edge_attr[keep]


def to_undirected(edge_index, num_nodes=None):
    """Make a graph undirected: add every reverse edge and drop duplicates.

    The result is sorted by source, then target (as PyG's ``coalesce``), so two
    edge lists describing the same undirected graph give the same array.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E)
    num_nodes : int, optional
        Used to check ids; defaults to one more than the largest id.

    Returns
    -------
    ndarray of int64, shape (2, E')

    Examples
    --------
    >>> to_undirected([[0, 1, 0], [1, 2, 1]])
    array([[0, 1, 1, 2],
           [1, 0, 2, 1]])
    """
    edge_index = check_edge_index(edge_index)
    n = _num_nodes(edge_index, num_nodes)
    edge_index = check_edge_index(edge_index, n)
    both = np.concatenate([edge_index, edge_index[::-1]], axis=1)
    keys = np.sort(both[0] * max(n, 1) + both[1])  # one integer per (source, target)
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if keys.size else keys  # drop repeats
    return np.stack([keys // max(n, 1), keys % max(n, 1)]).astype(np.int64)

