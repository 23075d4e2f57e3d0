r"""Graph transformers: positional and structural encodings, and attention over all pairs.

Attention between every pair of nodes removes every bottleneck but also forgets the
graph; these functions put the structure back:

- :func:`laplacian_pe`: Laplacian eigenvectors with their sign fixed;
- :func:`random_walk_pe`: return probabilities of random walks (no sign to fix);
- :func:`attention_conv`: scaled dot-product attention along edges (all ordered pairs: a
  transformer layer), with an additive bias per edge such as minus the shortest-path
  distance of :func:`mplib.expressivity.shortest_path_matrix`.

Node ``k`` is row ``k`` throughout. :func:`attention_conv` takes numpy arrays or
:class:`~mplib.autograd.Tensor` s.
"""

import numpy as np

from ._validate import check_int
from .aggregation import scatter, segment_softmax
from .autograd import Tensor, unwrap
from .expressivity import _adjacency, _graph

__all__ = ["laplacian_pe", "random_walk_pe", "attention_conv"]


def _normalized_laplacian(g):
    a = _adjacency(g)
    deg = a.sum(axis=1)
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    return np.eye(g.num_nodes) - inv[:, None] * a * inv[None, :]


def laplacian_pe(graph, k):
    r"""Laplacian positional encodings: the ``k`` eigenvectors of smallest nonzero eigenvalue, sign-fixed.

    .. math:: L_{\mathrm{sym}} = I - D^{-1/2} A D^{-1/2} = U \Lambda U^\top

    An eigenvector is determined only up to sign, so a model fed :math:`U` could
    learn from a coin toss. Each vector here is flipped so that its entry of
    largest absolute value (the first such, in a tie of magnitude) is positive.
    This fixes the sign whenever that entry is unique up to sign; it cannot fix the
    basis of a repeated eigenvalue, for which sign- and basis-invariant models
    (SignNet, BasisNet) exist.

    Parameters
    ----------
    graph : Graph
    k : int
        Number of eigenvectors, ``1 <= k <= N - 1``; the trivial ones (eigenvalue 0,
        one per connected component) are skipped.

    Returns
    -------
    ndarray, shape (N, k)

    Raises
    ------
    ValueError
        If ``k`` is out of range.

    References
    ----------
    Dwivedi et al., "Benchmarking graph neural networks", JMLR 2023; Lim et al.,
    "Sign and basis invariant networks for spectral graph representation learning", ICLR 2023.

    Examples
    --------
    >>> from mplib.generators import path_graph
    >>> laplacian_pe(path_graph(3), 1).round(3)
    array([[ 0.707],
           [ 0.   ],
           [-0.707]])
    """
    g = _graph(graph)
    lam, u = np.linalg.eigh(_normalized_laplacian(g))
    start = int(np.sum(lam < 1e-9))
    k = check_int(k, "k", minimum=1)
    if start + k > g.num_nodes:
        raise ValueError(f"`k` must be at most {g.num_nodes - start} (nonzero eigenvalues), got {k}")
    u = u[:, start:start + k]
    big = np.argmax(np.round(np.abs(u), 9), axis=0)
    return u * np.sign(u[big, np.arange(k)])[None, :]


def random_walk_pe(graph, k):
    r"""Random-walk structural encodings: the return probabilities of walks of length 1 to ``k``.

    .. math:: p_v = \big((RW)_{vv},\ (RW^2)_{vv},\ \dots,\ (RW^k)_{vv}\big),\qquad RW = A D^{-1}

    No sign or basis to choose, and the entry for length 3 is nonzero exactly when
    :math:`v` lies on a triangle.

    Parameters
    ----------
    graph : Graph
    k : int
        Longest walk, ``k >= 1``.

    Returns
    -------
    ndarray, shape (N, k)
        Zero rows for isolated nodes.

    References
    ----------
    Dwivedi et al., "Graph neural networks with learnable structural and positional
    representations", ICLR 2022.

    Examples
    --------
    >>> from mplib.generators import cycle_graph
    >>> random_walk_pe(cycle_graph(3), 3)[0]
    array([0.  , 0.5 , 0.25])
    """
    g = _graph(graph)
    k = check_int(k, "k", minimum=1)
    a = _adjacency(g)
    deg = a.sum(axis=0)
    rw = a / np.where(deg > 0, deg, 1.0)[None, :]
    out, power = [], np.eye(g.num_nodes)
    for _ in range(k):
        power = rw @ power
        out.append(np.diag(power))
    return np.stack(out, axis=1)


def attention_conv(x, edge_index, w_query, w_key, w_value, bias=None):
    r"""Scaled dot-product attention along the edges ``j -> i`` (all pairs: a transformer layer).

    .. math::
        s_{ij} = \frac{(x_i W_Q)^\top (x_j W_K)}{\sqrt{d}} + b_{ij}, \qquad
        \alpha_{ij} = \operatorname{softmax}_{j \to i}(s_{ij}), \qquad
        x_i' = \sum_{j \to i} \alpha_{ij}\, x_j W_V

    Unlike GAT's score, :math:`s_{ij}` couples the receiver's query with the
    sender's key, so the ranking of senders can differ from receiver to receiver.
    With ``edge_index`` all ordered pairs (self-pairs included) it is the attention
    of a graph transformer; ``bias`` then carries the structure, e.g. minus the
    shortest-path distance (Graphormer's spatial bias). Time and memory grow with
    the number of edges: :math:`N^2` for all pairs.

    Parameters
    ----------
    x : array_like or Tensor, shape (N, F)
    edge_index : array_like of int, shape (2, E)
    w_query, w_key : array_like or Tensor, shape (F, d)
    w_value : array_like or Tensor, shape (F, F')
    bias : array_like, shape (E,), optional
        Added to the scores before the softmax.

    Returns
    -------
    ndarray (Tensor if an input is one), shape (N, F')
        Zero rows for nodes without incoming edges.

    Raises
    ------
    ValueError
        If ``bias`` does not have one entry per edge.

    References
    ----------
    Vaswani et al., "Attention is all you need", NeurIPS 2017; Ying et al.,
    "Do transformers really perform badly for graph representation?", NeurIPS 2021.

    Examples
    --------
    >>> ei = np.array([[0, 1], [1, 1]])    # node 1 attends to 0 and to itself
    >>> out = attention_conv(np.eye(2), ei, np.eye(2), np.eye(2), np.eye(2))
    >>> out.round(2)
    array([[0.  , 0.  ],
           [0.33, 0.67]])
    """
    if not isinstance(x, Tensor):
        x = np.asarray(x, dtype=np.float64)
    src, dst = np.asarray(edge_index)
    n = unwrap(x).shape[0]
    q, key, val = x @ w_query, x @ w_key, x @ w_value
    d = unwrap(q).shape[1]
    scores = (q[dst] * key[src]).sum(axis=1) * (1.0 / np.sqrt(d))
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float64)
        if bias.shape != (src.size,):
            raise ValueError(f"`bias` must have one entry per edge, shape ({src.size},), got {bias.shape}")
        scores = scores + bias
    alpha = segment_softmax(scores, dst, n)
    return scatter(val[src] * alpha.reshape(src.size, 1), dst, n, reduce="sum")
