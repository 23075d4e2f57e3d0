r"""Remedies for over-smoothing and over-squashing, as small pure functions.

Over-smoothing (:mod:`mplib.diagnostics`' Dirichlet energy falls with depth) is
countered inside the network: :func:`pairnorm` re-spreads the node states after
every layer, :func:`appnp_propagate` keeps mixing the input back in (an initial
residual), and :func:`jumping_knowledge` lets the classifier read every layer.
Over-squashing (small Jacobian sensitivity, large effective resistance) is
countered by changing the graph the messages travel on: :func:`add_virtual_node`
joins every node to one new hub, :func:`fully_adjacent_edges` gives a last layer
in which every node hears every other, and :func:`resistance_rewiring` adds the
edges that lower the total effective resistance most.

The feature functions take numpy arrays or :class:`~mplib.autograd.Tensor` s
(they are built from autograd primitives), so they can sit inside a model
trained with :func:`mplib.train.fit`.
"""

import numpy as np

from ._validate import check_int
from .autograd import Tensor, concat, exp, log, sparse_matmul, unwrap
from .graph import Graph
from .layers import gcn_norm

__all__ = ["pairnorm", "appnp_propagate", "jumping_knowledge", "propagation_sweep", "add_virtual_node", "fully_adjacent_edges",
           "total_resistance", "resistance_rewiring"]


def _features(x, name="x"):
    if isinstance(x, Tensor):
        data = x.data
    else:
        x = np.asarray(x, dtype=np.float64)
        data = x
    if data.ndim != 2:
        raise ValueError(f"`{name}` must have shape (N, F), got shape {data.shape}")
    return x


def pairnorm(x, scale=1.0, eps=1e-5):
    r"""PairNorm: centre the node states, then give them a fixed mean squared norm.

    .. math::
        \tilde x_i = x_i - \frac{1}{N}\sum_j x_j, \qquad
        x_i' = s\,\frac{\tilde x_i}{\sqrt{\varepsilon + \frac{1}{N}\sum_j \lVert \tilde x_j\rVert^2}}

    After it, :math:`\frac1N \sum_i \lVert x_i' \rVert^2 \approx s^2`, so the total
    pairwise squared distance :math:`\sum_{i,j}\lVert x_i' - x_j'\rVert^2 = 2 N^2 s^2`
    stays the same however many layers came before: the states cannot all collapse to
    one point.

    Parameters
    ----------
    x : array_like or Tensor, shape (N, F)
    scale : float, default 1.0
        :math:`s`, the root mean squared norm of the output rows.
    eps : float, default 1e-5
        Keeps the division finite when all rows are equal.

    Returns
    -------
    ndarray (Tensor if ``x`` is one), shape (N, F)

    Raises
    ------
    ValueError
        If ``x`` is not two-dimensional or ``scale`` is not positive.

    References
    ----------
    Zhao and Akoglu, "PairNorm: Tackling oversmoothing in GNNs", ICLR 2020.

    Examples
    --------
    >>> y = pairnorm([[1.0, 0.0], [3.0, 0.0]])
    >>> y.round(3)
    array([[-1.,  0.],
           [ 1.,  0.]])
    """
    x = _features(x)
    if not scale > 0:
        raise ValueError(f"`scale` must be positive, got {scale!r}")
    centred = x - x.mean(axis=0, keepdims=True)
    msq = (centred * centred).sum(axis=1).mean()
    inv_root = exp(log(msq + eps) * -0.5)  # 1 / sqrt(eps + mean squared norm)
    return centred * (inv_root * scale)


def appnp_propagate(x, edge_index, alpha=0.1, num_steps=10, adj=None):
    r"""APPNP's propagation: personalised PageRank by power iteration, an initial residual.

    .. math::
        h^{(0)} = x, \qquad h^{(k+1)} = (1 - \alpha)\,\hat S\, h^{(k)} + \alpha\, x

    with :math:`\hat S = \tilde D^{-1/2}\tilde A\tilde D^{-1/2}`. Each step mixes the
    input back in with weight :math:`\alpha`, so however many steps are taken the
    result converges to :math:`\alpha (I - (1-\alpha)\hat S)^{-1} x`, not to the
    smooth fixed point of :math:`\hat S` alone. GCNII uses the same initial residual
    inside each layer.

    Parameters
    ----------
    x : array_like or Tensor, shape (N, F)
    edge_index : array_like of int, shape (2, E)
    alpha : float in [0, 1], default 0.1
        The teleport (restart) probability.
    num_steps : int, default 10
    adj : scipy sparse matrix, optional
        :math:`\hat S` precomputed with :func:`mplib.gcn_norm` (saves work in training).

    Returns
    -------
    ndarray (Tensor if ``x`` is one), shape (N, F)

    Raises
    ------
    ValueError
        If ``alpha`` is outside [0, 1] or ``num_steps`` is negative.

    References
    ----------
    Gasteiger, Bojchevski and Günnemann, "Predict then propagate", ICLR 2019.

    Examples
    --------
    On two joined nodes the difference between them decays to a fixed share, not to 0:

    >>> ei = np.array([[0, 1], [1, 0]])
    >>> appnp_propagate([[1.0], [-1.0]], ei, alpha=0.5, num_steps=50).round(3)
    array([[ 0.5],
           [-0.5]])
    """
    x = _features(x)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must lie in [0, 1], got {alpha!r}")
    num_steps = check_int(num_steps, "num_steps", minimum=0)
    n = unwrap(x).shape[0]
    if adj is None:
        adj = gcn_norm(np.asarray(edge_index), n)
    h = x
    for _ in range(num_steps):
        h = (1.0 - alpha) * _spmm(adj, h) + alpha * x
    return h


PROPAGATION_SCHEMES = ("plain", "residual", "initial", "pairnorm", "jk")


def propagation_sweep(x, edge_index, depths, scheme="plain", alpha=0.1, adj=None):
    r"""Features after each of several depths of weightless propagation, one pass for all.

    Decoupled models (SGC, APPNP) propagate first and learn a readout after; the
    propagation has no weights, so a whole depth sweep costs one power iteration.
    With :math:`\hat S = \tilde D^{-1/2}\tilde A\tilde D^{-1/2}` and :math:`h^{(0)} = x`:

    .. math::
        \texttt{plain}: h^{(k+1)} = \hat S h^{(k)}, \quad
        \texttt{residual}: h^{(k+1)} = \tfrac12\big(h^{(k)} + \hat S h^{(k)}\big), \quad
        \texttt{initial}: h^{(k+1)} = (1-\alpha)\hat S h^{(k)} + \alpha x,

    ``"pairnorm"`` applies :func:`pairnorm` after every plain step, and ``"jk"``
    returns the plain states of every step so far side by side,
    :math:`[h^{(0)} \Vert h^{(1)} \Vert \cdots \Vert h^{(K)}]` (jumping knowledge).
    The residual step is halved so that the scale stays fixed: it is the lazy walk
    :math:`\tfrac12(I + \hat S)`.

    Parameters
    ----------
    x : array_like, shape (N, F)
    edge_index : array_like of int, shape (2, E)
    depths : sequence of int
        The numbers of steps :math:`K` to report, increasing, each at least 0.
    scheme : {"plain", "residual", "initial", "pairnorm", "jk"}, default "plain"
    alpha : float in [0, 1], default 0.1
        The restart weight of ``"initial"`` (see :func:`appnp_propagate`).
    adj : scipy sparse matrix, optional
        :math:`\hat S` precomputed with :func:`mplib.gcn_norm`.

    Returns
    -------
    list of ndarray
        One array per depth, shape (N, F), or (N, (K + 1) F) for ``"jk"``.

    Raises
    ------
    ValueError
        If ``depths`` is empty, not increasing or negative, ``scheme`` is unknown or
        ``alpha`` is outside [0, 1].

    Examples
    --------
    >>> ei = np.array([[0, 1], [1, 0]])
    >>> [h.ravel().round(3) for h in propagation_sweep([[1.0], [0.0]], ei, [0, 1, 3])]
    [array([1., 0.]), array([0.5, 0.5]), array([0.5, 0.5])]
    >>> propagation_sweep([[1.0], [0.0]], ei, [2], scheme="jk")[0].shape
    (2, 3)
    """
    x = np.asarray(_features(x), dtype=np.float64)
    if scheme not in PROPAGATION_SCHEMES:
        raise ValueError(f"`scheme` must be one of {PROPAGATION_SCHEMES}, got {scheme!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must lie in [0, 1], got {alpha!r}")
    depths = [check_int(k, "depths", minimum=0) for k in np.atleast_1d(depths).tolist()]
    if not depths or any(b <= a for a, b in zip(depths, depths[1:])):
        raise ValueError(f"`depths` must be a non-empty increasing sequence of steps, got {depths}")
    if adj is None:
        adj = gcn_norm(np.asarray(edge_index), x.shape[0])
    step = {"plain": lambda h: adj @ h, "jk": lambda h: adj @ h,
            "residual": lambda h: 0.5 * (h + adj @ h),
            "initial": lambda h: (1.0 - alpha) * (adj @ h) + alpha * x,
            "pairnorm": lambda h: pairnorm(adj @ h)}[scheme]
    h, hops, out = x, [x], []
    for k in range(depths[-1] + 1):
        if k > 0:
            h = step(h)
            if scheme == "jk":
                hops.append(h)
        if k in depths:
            out.append(np.concatenate(hops, axis=1) if scheme == "jk" else h)
    return out


def _spmm(adj, h):
    return sparse_matmul(adj, h) if isinstance(h, Tensor) else adj @ h


def jumping_knowledge(states, mode="cat"):
    r"""Jumping knowledge: combine the states of every layer into one per node.

    .. math::
        h_i = \big[h_i^{(1)} \,\Vert\, h_i^{(2)} \,\Vert \cdots \Vert\, h_i^{(L)}\big]
        \ (\texttt{"cat"}) \qquad\text{or}\qquad
        h_i = \tfrac1L \textstyle\sum_l h_i^{(l)} \ (\texttt{"mean"})

    The classifier then sees the shallow layers too, and can lean on them where the
    deep ones have been smoothed.

    Parameters
    ----------
    states : sequence of array_like or Tensor, each of shape (N, F_l)
        The layers' outputs; ``"mean"`` needs equal widths.
    mode : {"cat", "mean"}, default "cat"

    Returns
    -------
    ndarray (Tensor if any state is one), shape (N, sum F_l) or (N, F)

    Raises
    ------
    ValueError
        If ``states`` is empty, the row counts differ, the widths differ for
        ``"mean"``, or ``mode`` is unknown.

    References
    ----------
    Xu et al., "Representation learning on graphs with jumping knowledge networks", ICML 2018.

    Examples
    --------
    >>> jumping_knowledge([np.ones((2, 1)), np.zeros((2, 2))])
    array([[1., 0., 0.],
           [1., 0., 0.]])
    """
    if mode not in ("cat", "mean"):
        raise ValueError(f"`mode` must be 'cat' or 'mean', got {mode!r}")
    states = [_features(s, "states") for s in states]
    if not states:
        raise ValueError("`states` must hold at least one layer's output")
    shapes = [unwrap(s).shape for s in states]
    if len({s[0] for s in shapes}) != 1:
        raise ValueError(f"`states` must all have the same number of rows, got shapes {shapes}")
    if mode == "cat":
        if any(isinstance(s, Tensor) for s in states):
            return concat(states, axis=1)
        return np.concatenate(states, axis=1)
    if len(set(shapes)) != 1:
        raise ValueError(f"`mode='mean'` needs states of one shape, got {shapes}")
    total = states[0]
    for s in states[1:]:
        total = total + s
    return total * (1.0 / len(states))


def _graph(graph, name="graph"):
    if not isinstance(graph, Graph):
        raise TypeError(f"`{name}` must be an mplib.Graph, got {type(graph).__name__}")
    return graph


def add_virtual_node(graph):
    r"""The graph with one extra node, ``N``, joined in both directions to every node.

    Any two nodes are then at most two hops apart, through the virtual node.
    Node features, if any, get a row of zeros for the new node.

    Parameters
    ----------
    graph : Graph

    Returns
    -------
    Graph
        ``N + 1`` nodes, ``E + 2N`` edges (the new ones last). ``edge_attr`` and
        ``y`` are dropped (the new edges and node have none).

    Raises
    ------
    TypeError
        If ``graph`` is not a Graph.

    References
    ----------
    Gilmer et al., "Neural message passing for quantum chemistry", ICML 2017.

    Examples
    --------
    >>> from mplib.generators import path_graph
    >>> g = add_virtual_node(path_graph(3))
    >>> g.num_nodes, g.num_edges
    (4, 10)
    """
    g = _graph(graph)
    n = g.num_nodes
    nodes = np.arange(n, dtype=np.int64)
    hub = np.full(n, n, dtype=np.int64)
    new = np.concatenate([np.stack([nodes, hub]), np.stack([hub, nodes])], axis=1)
    edge_index = np.concatenate([g.edge_index, new], axis=1)
    x = None if g.x is None else np.concatenate([g.x, np.zeros((1,) + g.x.shape[1:])])
    return Graph(edge_index, num_nodes=n + 1, x=x)


def fully_adjacent_edges(num_nodes, batch=None):
    r"""``edge_index`` of the fully adjacent layer: every ordered pair ``j != i``.

    With ``batch``, only pairs within the same graph of a batch.

    Parameters
    ----------
    num_nodes : int
    batch : array_like of int, shape (N,), optional
        Graph of each node (:func:`mplib.data.batch_graphs`).

    Returns
    -------
    ndarray of int64, shape (2, P)
        ``P = N (N - 1)`` without ``batch``.

    Raises
    ------
    ValueError
        If ``num_nodes`` is negative or ``batch`` has the wrong length.

    References
    ----------
    Alon and Yahav, "On the bottleneck of graph neural networks", ICLR 2021.

    Examples
    --------
    >>> fully_adjacent_edges(3)
    array([[1, 2, 0, 2, 0, 1],
           [0, 0, 1, 1, 2, 2]])
    """
    n = check_int(num_nodes, "num_nodes", minimum=0)
    batch = np.zeros(n, dtype=np.int64) if batch is None else np.asarray(batch)
    if batch.shape != (n,):
        raise ValueError(f"`batch` must have shape ({n},), got {batch.shape}")
    dst, src = np.nonzero((batch[:, None] == batch[None, :]) & ~np.eye(n, dtype=bool))
    return np.stack([src, dst]).astype(np.int64)


def _laplacian(edge_index, n):
    a = np.zeros((n, n))
    a[edge_index[0], edge_index[1]] = 1.0
    a = np.maximum(a, a.T)
    np.fill_diagonal(a, 0.0)
    return np.diag(a.sum(axis=1)) - a


def total_resistance(graph):
    r"""The total effective resistance (Kirchhoff index) of a connected graph.

    .. math:: R_{\mathrm{tot}} = \sum_{u < v} R_{uv} = N \operatorname{tr}(L^+)

    Parameters
    ----------
    graph : Graph
        Undirected (both directions stored) and connected.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``graph`` is not a Graph.

    Examples
    --------
    A path on three nodes: 1 + 1 + 2 ohm.

    >>> from mplib.generators import path_graph
    >>> round(total_resistance(path_graph(3)), 6)
    4.0
    """
    g = _graph(graph)
    return float(g.num_nodes * np.trace(np.linalg.pinv(_laplacian(g.edge_index, g.num_nodes))))


def resistance_rewiring(graph, num_edges):
    r"""Greedily add the edges that lower the total effective resistance the most.

    Adding the edge :math:`\{u, v\}` changes :math:`L` to :math:`L + b b^\top` with
    :math:`b = e_u - e_v`, and by the Sherman–Morrison formula the total resistance
    drops by

    .. math::
        \Delta_{uv} = N\,\frac{\lVert L^+ b \rVert^2}{1 + R_{uv}}, \qquad
        R_{uv} = b^\top L^+ b ,

    which is computed for every non-edge at once; the best one is added and
    :math:`L^+` updated, ``num_edges`` times.

    Parameters
    ----------
    graph : Graph
        Undirected (both directions stored) and connected.
    num_edges : int
        Number of new undirected edges.

    Returns
    -------
    new_graph : Graph
        ``graph`` with the new edges appended in both directions (``x`` kept).
    added : ndarray of int64, shape (num_edges, 2)
        The new edges ``(u, v)``, ``u < v``, in the order they were chosen.

    Raises
    ------
    TypeError
        If ``graph`` is not a Graph.
    ValueError
        If ``num_edges`` is negative or more than the number of missing edges.

    References
    ----------
    Black et al., "Understanding oversquashing in GNNs through the lens of effective
    resistance", ICML 2023 (who rewire by resistance); the greedy step here is the
    simplest such rule.

    Examples
    --------
    On a path of four nodes the best single edge closes the cycle:

    >>> from mplib.generators import path_graph
    >>> resistance_rewiring(path_graph(4), 1)[1]
    array([[0, 3]])
    """
    g = _graph(graph)
    n = g.num_nodes
    k = check_int(num_edges, "num_edges", minimum=0)
    lap = _laplacian(g.edge_index, n)
    missing = int(np.count_nonzero(np.triu(lap == 0, 1)))
    if k > missing:
        raise ValueError(f"`num_edges` is {k}, but the graph misses only {missing} edges")
    lp = np.linalg.pinv(lap)
    added = []
    for _ in range(k):
        lp2 = lp @ lp
        d, d2 = np.diag(lp), np.diag(lp2)
        res = d[:, None] + d[None, :] - 2 * lp
        gain = (d2[:, None] + d2[None, :] - 2 * lp2) / (1.0 + res)
        gain[np.tril(np.ones((n, n), dtype=bool)) | (lap != 0)] = -np.inf
        u, v = np.unravel_index(np.argmax(gain), gain.shape)
        b = np.zeros(n)
        b[u], b[v] = 1.0, -1.0
        lb = lp @ b
        lp = lp - np.outer(lb, lb) / (1.0 + b @ lb)
        lap[u, v] = lap[v, u] = -1.0
        lap[u, u] += 1.0
        lap[v, v] += 1.0
        added.append((int(u), int(v)))
    added = np.array(added, dtype=np.int64).reshape(k, 2)
    new = np.concatenate([added.T, added[:, ::-1].T], axis=1)
    return Graph(np.concatenate([g.edge_index, new], axis=1), num_nodes=n, x=g.x), added
