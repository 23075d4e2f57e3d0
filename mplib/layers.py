r"""Graph neural network layers as pure functions with explicit weights.

Each layer computes exactly what the PyTorch Geometric layer of the same name
computes with its default options, so a learner can check a PyG model against
these lines. The row-vector convention holds throughout: a weight has shape
``(F_in, F_out)`` and is applied as ``x @ weight``. (A ``torch.nn.Linear``
stores the transpose, ``(F_out, F_in)``: copy ``lin.weight.T``.) Edges flow
``src -> dst`` (``j -> i``); parallel edges count once each, as in PyG.

Trainable maps that are not a single matrix (GIN's MLP, NNConv's edge network,
EdgeConv's MLP) are passed as callables; :func:`make_mlp` builds one from a list
of weights, laid out like ``torch.nn.Sequential(Linear, ReLU, ..., Linear)``.

Where a layer is one round of the book's ψ, ⊕, φ, it is written as a call to
:func:`mplib.propagate` (GraphSAGE, GIN, NNConv, EdgeConv); GCN is the sparse
product :math:`\hat S X W`, and GAT computes its attention over each node's
incoming edges before it aggregates.

Training uses these same functions. Every operation below (``@``, ``+``,
indexing, :func:`~mplib.autograd.einsum`, :func:`~mplib.functional.relu`,
:func:`mplib.scatter`, ...) accepts numpy arrays or
:class:`~mplib.autograd.Tensor` objects: with arrays a layer returns an array,
with a tensor among its inputs (weights being trained, say) it returns a tensor
that :func:`~mplib.autograd.value_and_grad` differentiates. See :mod:`mplib.nn`.
"""


import numpy as np

from ._validate import (check_callable, check_choice, check_edge_attr, check_edge_index, check_features, check_int,
                        check_real, check_weight)
from .aggregation import scatter, segment_softmax
from .autograd import Tensor, concat, einsum, sparse_matmul
from .functional import dropout, leaky_relu, relu
from .message_passing import adjacency_matrix, propagate

__all__ = ["make_mlp", "gcn_norm", "gcn_conv", "sage_conv", "gin_conv", "gat_conv", "nn_conv", "edge_conv"]

_AGGRS = ("sum", "mean", "max")


def _check_graph(x, edge_index):
    x = check_features(x, name="x")
    return x, check_edge_index(edge_index, x.shape[0])


def _check_bias(bias, width):
    return None if bias is None else check_weight(bias, "bias", (width,))


def _call(fn, name, inputs, rows):
    """Call a user-supplied network on ``inputs`` and check it returns ``rows`` rows."""
    out = check_callable(fn, name)(inputs)
    out = out if isinstance(out, Tensor) else np.asarray(out)
    if out.ndim != 2 or out.shape[0] != rows:
        raise ValueError(f"`{name}` must return an array of shape ({rows}, F_out), got shape {out.shape}")
    return out


def make_mlp(weights, biases=None):
    r"""Build the multilayer perceptron ``h -> relu(h W_1 + b_1) ... W_L + b_L``.

    .. math::
        \mathrm{MLP}(h) = \big(\ldots\mathrm{ReLU}(h W_1 + b_1)\ldots\big) W_L + b_L

    ReLU sits between layers, not after the last one, exactly as
    ``torch.nn.Sequential(Linear, ReLU, ..., Linear)``.

    Parameters
    ----------
    weights : sequence of array_like (or Tensor), shapes (F_0, F_1), (F_1, F_2), ..., (F_{L-1}, F_L)
    biases : sequence of (array_like of shape (F_k,) or None), optional
        One entry per weight; ``None`` (the default) means no biases at all.

    Returns
    -------
    callable
        ``mlp(h)`` maps an array of shape ``(M, F_0)`` to shape ``(M, F_L)``.

    Raises
    ------
    ValueError
        If there are no weights, consecutive shapes do not chain, or there is not
        one bias per weight; later, if ``h`` does not have ``F_0`` columns.

    Examples
    --------
    >>> mlp = make_mlp([np.eye(2), [[1.0], [1.0]]], [[0.0, -5.0], [0.5]])
    >>> mlp(np.array([[1.0, 2.0]]))  # relu([1, -3]) = [1, 0]; 1 + 0 + 0.5
    array([[1.5]])
    """
    weights = [check_weight(w, f"weights[{k}]", (None, None)) for k, w in enumerate(weights)]
    if not weights:
        raise ValueError("`weights` must hold at least one matrix, got none")
    for k in range(1, len(weights)):
        if weights[k].shape[0] != weights[k - 1].shape[1]:
            raise ValueError(
                f"`weights[{k}]` must have {weights[k - 1].shape[1]} rows to follow `weights[{k - 1}]`, "
                f"got shape {weights[k].shape}"
            )
    if biases is None:
        biases = [None] * len(weights)
    biases = list(biases)
    if len(biases) != len(weights):
        raise ValueError(f"`biases` must have one entry per weight ({len(weights)}), got {len(biases)}")
    biases = [None if b is None else check_weight(b, f"biases[{k}]", (w.shape[1],))
              for k, (w, b) in enumerate(zip(weights, biases))]

    def mlp(h):
        h = check_features(h, name="h", ndim=2)
        if h.shape[1] != weights[0].shape[0]:
            raise ValueError(f"the MLP expects {weights[0].shape[0]} input columns, got shape {h.shape}")
        for k, (w, b) in enumerate(zip(weights, biases)):
            h = h @ w if b is None else h @ w + b
            if k < len(weights) - 1:
                h = relu(h)
        return h

    return mlp


def gcn_norm(edge_index, num_nodes, edge_weight=None):
    r"""The normalised adjacency :math:`\hat S = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}` of :func:`gcn_conv`.

    It depends on the graph only, so a training loop can compute it once and
    pass it to every :func:`gcn_conv` call as ``adj`` (PyG's ``cached=True``).
    Self-loops and zero degrees are handled as in PyG's ``gcn_norm``.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E)
    num_nodes : int
    edge_weight : array_like, shape (E,), optional
        Non-negative weight of each edge (default 1).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (N, N)
        Row ``i`` holds the weights with which node ``i`` averages its neighbours and itself.

    Raises
    ------
    ValueError
        On a bad node id, or a negative or non-finite edge weight.

    Examples
    --------
    >>> gcn_norm([[0, 1], [1, 0]], 2).toarray()
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    n = check_int(num_nodes, "num_nodes")
    src, dst = check_edge_index(edge_index, n)
    if edge_weight is None:
        w = np.ones(src.shape[0])
    else:
        w = check_features(edge_weight, name="edge_weight", num_rows=src.shape[0], ndim=1)
        if np.any(w < 0):
            raise ValueError("`edge_weight` must be non-negative")
    loop = src == dst
    loop_w = np.ones(n, dtype=w.dtype)
    loop_w[src[loop]] = w[loop]  # an existing self-loop keeps its weight
    nodes = np.arange(n, dtype=np.int64)
    src = np.concatenate([src[~loop], nodes])
    dst = np.concatenate([dst[~loop], nodes])
    w = np.concatenate([w[~loop], loop_w])
    deg = np.bincount(dst, weights=w, minlength=n)
    inv_sqrt = np.zeros(n)
    np.divide(1.0, np.sqrt(deg), out=inv_sqrt, where=deg > 0)
    norm = inv_sqrt[src] * w * inv_sqrt[dst]
    return adjacency_matrix(np.stack([src, dst]), n, weight=norm)


def gcn_conv(x, edge_index, weight, bias=None, edge_weight=None, adj=None):
    r"""Graph convolution of Kipf & Welling (PyG ``GCNConv``).

    .. math::
        X' = \hat S X W + b, \qquad \hat S = \tilde D^{-1/2} \tilde A \tilde D^{-1/2}, \qquad
        \tilde A = A + I, \quad \tilde D_{ii} = \textstyle\sum_j \tilde A_{ij}

    with :math:`A_{ij}` the number (or total weight) of edges ``j -> i``, so
    :math:`\tilde D_{ii}` is the in-degree of ``i`` counting its self-loop.

    Parameters
    ----------
    x : array_like, shape (N, F_in)
    edge_index : array_like of int, shape (2, E)
    weight : array_like, shape (F_in, F_out)
    bias : array_like, shape (F_out,), optional
    edge_weight : array_like, shape (E,), optional
        Non-negative weight of each edge (default 1).
    adj : scipy sparse matrix, shape (N, N), optional
        :math:`\hat S` precomputed by :func:`gcn_norm`
        (from the same ``edge_index`` and ``edge_weight``: it is trusted, not
        checked), to save recomputing it at every call of a training loop.

    Returns
    -------
    ndarray, shape (N, F_out)

    Raises
    ------
    ValueError
        On a shape mismatch, an out-of-range node id, non-finite values or a
        negative edge weight.

    Examples
    --------
    Two nodes joined both ways: :math:`\tilde A` is all ones, every degree is 2.

    >>> gcn_conv([[1.0], [2.0]], [[0, 1], [1, 0]], weight=[[1.0]])
    array([[1.5],
           [1.5]])

    Notes
    -----
    Self-loops are added as by PyG's ``add_remaining_self_loops``: every node
    gets exactly one, with weight 1, unless it already had one, which is kept
    (with its own weight; of several loops on one node only one survives).
    Parallel edges add up in :math:`A`. A node of total in-weight 0 is given
    :math:`\tilde D^{-1/2} = 0` instead of infinity.

    References
    ----------
    T. N. Kipf and M. Welling, "Semi-Supervised Classification with Graph
    Convolutional Networks", ICLR 2017.
    """
    x = check_features(x, name="x")
    n = x.shape[0]
    weight = check_weight(weight, "weight", (x.shape[1], None))
    bias = _check_bias(bias, weight.shape[1])
    if adj is None:
        adj = gcn_norm(edge_index, n, edge_weight)
    elif getattr(adj, "shape", None) != (n, n) or not hasattr(adj, "tocsr"):
        raise ValueError(f"`adj` must be a scipy sparse matrix of shape ({n}, {n}) from gcn_norm, "
                         f"got {type(adj).__name__} of shape {getattr(adj, 'shape', None)}")
    out = sparse_matmul(adj, x @ weight)  # adj @ (x @ weight)
    return out if bias is None else out + bias


def sage_conv(x, edge_index, weight_neigh, weight_root=None, bias=None, aggr="mean"):
    r"""GraphSAGE layer of Hamilton et al. (PyG ``SAGEConv``).

    .. math::
        x_i' = \Big(\operatorname{mean}_{j \in \mathcal N(i)} x_j\Big) W_{\mathrm{neigh}} + b
               + x_i W_{\mathrm{root}}

    Parameters
    ----------
    x : array_like, shape (N, F_in)
    edge_index : array_like of int, shape (2, E)
    weight_neigh : array_like, shape (F_in, F_out)
        Applied to the aggregated neighbours (PyG's ``lin_l.weight.T``).
    weight_root : array_like, shape (F_in, F_out), optional
        Applied to the node's own features (PyG's ``lin_r.weight.T``).
        ``None`` drops the root term (PyG's ``root_weight=False``).
    bias : array_like, shape (F_out,), optional
        PyG's ``lin_l.bias`` (``lin_r`` has none).
    aggr : {"mean", "sum", "max"}, default "mean"

    Returns
    -------
    ndarray, shape (N, F_out)

    Raises
    ------
    ValueError
        On a shape mismatch, an out-of-range node id or an unknown ``aggr``.

    Examples
    --------
    >>> x = [[1.0], [3.0], [10.0]]
    >>> sage_conv(x, [[0, 1], [2, 2]], weight_neigh=[[1.0]], weight_root=[[0.5]])
    array([[0.5],
           [1.5],
           [7. ]])

    Notes
    -----
    A node without in-edges aggregates to 0, so its output is
    :math:`b + x_i W_{\mathrm{root}}`. PyG's ``normalize`` and ``project`` options
    (both off by default) are not implemented.

    References
    ----------
    W. L. Hamilton, R. Ying and J. Leskovec, "Inductive Representation Learning
    on Large Graphs", NeurIPS 2017.
    """
    x, edge_index = _check_graph(x, edge_index)
    aggr = check_choice(aggr, "aggr", _AGGRS)
    weight_neigh = check_weight(weight_neigh, "weight_neigh", (x.shape[1], None))
    f_out = weight_neigh.shape[1]
    out = propagate(x, edge_index, aggregate=aggr) @ weight_neigh  # psi = x_j, then aggr
    if bias is not None:
        out = out + _check_bias(bias, f_out)
    if weight_root is not None:
        out = out + x @ check_weight(weight_root, "weight_root", (x.shape[1], f_out))
    return out


def gin_conv(x, edge_index, mlp, eps=0.0):
    r"""Graph isomorphism network layer of Xu et al. (PyG ``GINConv``).

    .. math::
        x_i' = \mathrm{MLP}\Big((1 + \epsilon)\, x_i + \sum_{j \in \mathcal N(i)} x_j\Big)

    Parameters
    ----------
    x : array_like, shape (N, F_in)
    edge_index : array_like of int, shape (2, E)
    mlp : callable
        Maps an array of shape ``(N, F_in)`` to shape ``(N, F_out)``; for
        example ``make_mlp([W1, W2], [b1, b2])`` for PyG's
        ``Sequential(Linear, ReLU, Linear)``.
    eps : float, default 0.0
        :math:`\epsilon` (fixed here; PyG's ``train_eps`` only makes it trainable).

    Returns
    -------
    ndarray, shape (N, F_out)

    Raises
    ------
    TypeError
        If ``mlp`` is not callable or ``eps`` is not a real number.
    ValueError
        On a bad shape or node id, or if ``mlp`` does not return one row per node.

    Examples
    --------
    >>> gin_conv([[1.0], [2.0]], [[0], [1]], mlp=lambda h: 10 * h, eps=0.5)
    array([[15.],
           [40.]])

    References
    ----------
    K. Xu, W. Hu, J. Leskovec and S. Jegelka, "How Powerful are Graph Neural
    Networks?", ICLR 2019.
    """
    x, edge_index = _check_graph(x, edge_index)
    eps = check_real(eps, "eps")
    check_callable(mlp, "mlp")

    def update(x, summed):  # phi; psi is the plain x_j and the aggregation a sum
        return _call(mlp, "mlp", (1.0 + eps) * x + summed, x.shape[0])
    return propagate(x, edge_index, aggregate="sum", update=update)


def gat_conv(x, edge_index, weight, att_src, att_dst, bias=None, heads=1, concat=True,
             negative_slope=0.2, return_attention=False, dropout_p=0.0, training=False, rng=None):
    r"""Graph attention layer of Veličković et al. (PyG ``GATConv``).

    .. math::
        h = x W, \qquad
        e_{ij} = \mathrm{LeakyReLU}\big(a_{\mathrm{src}} \cdot h_j + a_{\mathrm{dst}} \cdot h_i\big),
        \qquad
        \alpha_{ij} = \frac{\exp e_{ij}}{\sum_{k \in \mathcal N(i) \cup \{i\}} \exp e_{ik}},
        \qquad
        x_i' = \sum_{j \in \mathcal N(i) \cup \{i\}} \alpha_{ij} h_j + b

    computed separately for each head; the heads are then concatenated or averaged.

    Parameters
    ----------
    x : array_like, shape (N, F_in)
    edge_index : array_like of int, shape (2, E)
    weight : array_like, shape (F_in, heads * F_out)
        PyG's ``lin.weight.T``; columns ``k*F_out:(k+1)*F_out`` belong to head ``k``.
    att_src, att_dst : array_like, shape (heads, F_out)
        Attention vectors for the sender ``j`` and the receiver ``i``
        (PyG's ``att_src[0]`` and ``att_dst[0]``).
    bias : array_like, shape (heads * F_out,) if ``concat`` else (F_out,), optional
    heads : int, default 1
    concat : bool, default True
        Concatenate the heads (output ``(N, heads * F_out)``) or average them
        (output ``(N, F_out)``).
    negative_slope : float, default 0.2
    return_attention : bool, default False
        Also return the edges used (with self-loops) and their attention weights
        (before dropout).
    dropout_p : float in [0, 1), default 0.0
        Dropout on the attention weights while training (PyG's ``dropout``;
        0.6 in the GAT paper): each :math:`\alpha_{ij}` is zeroed with this
        probability and the others are scaled by :math:`1/(1-p)`.
    training : bool, default False
        Apply the attention dropout (only when True; evaluation never drops).
    rng : numpy.random.Generator, int or None
        The randomness of the attention dropout.

    Returns
    -------
    out : ndarray, shape (N, heads * F_out) or (N, F_out)
    (edge_index, alpha) : tuple, only if ``return_attention``
        ``edge_index`` of shape ``(2, E')``: the input edges without self-loops,
        then the loops ``0 -> 0, ..., N-1 -> N-1``; ``alpha`` of shape ``(E', heads)``.

    Raises
    ------
    ValueError
        On a shape mismatch (e.g. ``att_src`` not ``(heads, F_out)``) or a bad node id.
    TypeError
        If ``heads`` is not an integer or ``negative_slope`` is not a real number.

    Examples
    --------
    With zero attention vectors every neighbour (and the node itself) gets the same weight:

    >>> out, (ei, alpha) = gat_conv([[0.0], [3.0]], [[0], [1]], [[1.0]], [[0.0]], [[0.0]],
    ...                             return_attention=True)
    >>> out
    array([[0. ],
           [1.5]])
    >>> alpha.ravel()
    array([0.5, 1. , 0.5])

    Notes
    -----
    As in PyG, existing self-loops are removed and one loop per node is added,
    so every node attends at least to itself and the weights :math:`\alpha_{ij}`
    over its incoming edges sum to 1. Parallel edges each get their own weight.
    Attention dropout is off by default, as in PyG.

    References
    ----------
    P. Veličković, G. Cucurull, A. Casanova, A. Romero, P. Liò and Y. Bengio,
    "Graph Attention Networks", ICLR 2018.
    """
    x, (src, dst) = _check_graph(x, edge_index)
    n = x.shape[0]
    heads = check_int(heads, "heads", minimum=1)
    negative_slope = check_real(negative_slope, "negative_slope")
    att_src = check_weight(att_src, "att_src", (heads, None))
    f_out = att_src.shape[1]
    att_dst = check_weight(att_dst, "att_dst", (heads, f_out))
    weight = check_weight(weight, "weight", (x.shape[1], heads * f_out))
    bias = _check_bias(bias, heads * f_out if concat else f_out)

    h = (x @ weight).reshape(n, heads, f_out)
    score_src = einsum("nhf,hf->nh", h, att_src)  # a_src . h_j for every node and head
    score_dst = einsum("nhf,hf->nh", h, att_dst)
    keep = src != dst  # drop existing self-loops, then give every node exactly one
    nodes = np.arange(n, dtype=np.int64)
    src = np.concatenate([src[keep], nodes])
    dst = np.concatenate([dst[keep], nodes])
    e = leaky_relu(score_src[src] + score_dst[dst], negative_slope)
    alpha = segment_softmax(e, dst, n)  # softmax over the edges into each node
    weights = dropout(alpha, dropout_p, training=training, rng=rng)
    out = scatter(weights.reshape(-1, heads, 1) * h[src], dst, n)  # sum_j alpha_ij h_j
    out = out.reshape(n, heads * f_out) if concat else out.mean(axis=1)
    if bias is not None:
        out = out + bias
    if return_attention:
        return out, (np.stack([src, dst]), alpha)
    return out


def nn_conv(x, edge_index, edge_attr, edge_network, weight_root=None, bias=None, aggr="sum"):
    r"""Edge-conditioned convolution, the MPNN edge network of Gilmer et al. (PyG ``NNConv``).

    .. math::
        x_i' = x_i W_{\mathrm{root}} + \bigoplus_{j \in \mathcal N(i)} x_j\, \Theta(e_{ji}) + b

    The message from ``j`` to ``i`` is ``x_j`` times a matrix that a network
    :math:`\Theta` computes from the features of that edge, so the same
    neighbour says different things over different kinds of edges (bond types).

    Parameters
    ----------
    x : array_like, shape (N, F_in)
    edge_index : array_like of int, shape (2, E)
    edge_attr : array_like, shape (E, D) or (E,)
        Features of each edge (a 1-D array is one feature per edge).
    edge_network : callable
        :math:`\Theta`: maps the ``(E, D)`` edge features to shape
        ``(E, F_in * F_out)``, read as ``(E, F_in, F_out)`` in row-major order
        (as PyG's ``view``), or directly to ``(E, F_in, F_out)``. E.g. ``make_mlp(...)``.
    weight_root : array_like, shape (F_in, F_out), optional
        PyG's ``lin.weight.T``; ``None`` drops the root term (``root_weight=False``).
    bias : array_like, shape (F_out,), optional
    aggr : {"sum", "mean", "max"}, default "sum"
        :math:`\bigoplus`; PyG calls "sum" "add".

    Returns
    -------
    ndarray, shape (N, F_out)

    Raises
    ------
    TypeError
        If ``edge_network`` is not callable.
    ValueError
        On a bad shape or node id, or if ``edge_network`` returns a shape that
        does not give one ``(F_in, F_out)`` matrix per edge.

    Examples
    --------
    One edge ``0 -> 1`` whose matrix is :math:`\Theta = 2 e`:

    >>> nn_conv([[1.0], [5.0]], [[0], [1]], edge_attr=[[3.0]], edge_network=lambda e: 2 * e)
    array([[0.],
           [6.]])

    References
    ----------
    J. Gilmer, S. S. Schoenholz, P. F. Riley, O. Vinyals and G. E. Dahl,
    "Neural Message Passing for Quantum Chemistry", ICML 2017.
    """
    x, edge_index = _check_graph(x, edge_index)
    n, f_in = x.shape
    num_edges = edge_index.shape[1]
    aggr = check_choice(aggr, "aggr", _AGGRS)
    edge_attr = check_edge_attr(edge_attr, num_edges)
    theta = check_callable(edge_network, "edge_network")(edge_attr)
    theta = theta if isinstance(theta, Tensor) else np.asarray(theta)
    if weight_root is not None:
        weight_root = check_weight(weight_root, "weight_root", (f_in, None))
    if theta.ndim == 2 and theta.shape[0] == num_edges and theta.shape[1] % f_in == 0:
        theta = theta.reshape(num_edges, f_in, theta.shape[1] // f_in)
    if theta.ndim != 3 or theta.shape[:2] != (num_edges, f_in) or (
            weight_root is not None and theta.shape[2] != weight_root.shape[1]):
        want = "F_out" if weight_root is None else weight_root.shape[1]
        raise ValueError(
            f"`edge_network` must return shape ({num_edges}, {f_in} * {want}) or "
            f"({num_edges}, {f_in}, {want}), got shape {theta.shape}"
        )

    def message(x_i, x_j, theta):  # psi: x_j times the matrix of its edge
        return einsum("ef,efo->eo", x_j, theta)
    out = propagate(x, edge_index, message=message, aggregate=aggr, edge_attr=theta)
    if weight_root is not None:
        out = out + x @ weight_root
    return out if bias is None else out + _check_bias(bias, theta.shape[2])


def edge_conv(x, edge_index, mlp, aggr="max"):
    r"""EdgeConv of the dynamic graph CNN (PyG ``EdgeConv``), for point clouds.

    .. math::
        x_i' = \max_{j \in \mathcal N(i)} \mathrm{MLP}\big([\,x_i,\ x_j - x_i\,]\big)

    The message sees the receiver's position and the offset to the sender, so
    it can combine global shape with local geometry.

    Parameters
    ----------
    x : array_like, shape (N, F_in)
        Node (point) features, e.g. coordinates.
    edge_index : array_like of int, shape (2, E)
        Usually a k-nearest-neighbour graph. No self-loops are added.
    mlp : callable
        Maps an array of shape ``(E, 2 * F_in)`` (receiver features, then the
        difference) to shape ``(E, F_out)``, e.g. ``make_mlp(...)``.
    aggr : {"max", "sum", "mean"}, default "max"

    Returns
    -------
    ndarray, shape (N, F_out)
        A node without in-edges gets 0.

    Raises
    ------
    TypeError
        If ``mlp`` is not callable.
    ValueError
        On a bad shape or node id, or if ``mlp`` does not return one row per edge.

    Examples
    --------
    With the MLP that returns the offset, each point gets its largest offset:

    >>> edge_conv([[0.0], [1.0], [4.0]], [[1, 2], [0, 0]], mlp=lambda z: z[:, 1:])
    array([[4.],
           [0.],
           [0.]])

    References
    ----------
    Y. Wang, Y. Sun, Z. Liu, S. E. Sarma, M. M. Bronstein and J. M. Solomon,
    "Dynamic Graph CNN for Learning on Point Clouds", ACM TOG 38(5), 2019.
    """
    x, edge_index = _check_graph(x, edge_index)
    aggr = check_choice(aggr, "aggr", _AGGRS)
    check_callable(mlp, "mlp")
    num_edges = edge_index.shape[1]

    def message(x_i, x_j, edge_attr):  # psi: the MLP of the receiver and the offset
        return _call(mlp, "mlp", concat([x_i, x_j - x_i], axis=1), num_edges)
    return propagate(x, edge_index, message=message, aggregate=aggr)
