r"""Trainable graph layers: the layers of :mod:`mplib.layers`, differentiable.

Usage guide
-----------
Each layer here has the signature of its namesake in :mod:`mplib.layers` and
computes the same numbers, bit for bit (the tests check it), but accepts and
returns :class:`~mplib.autograd.Tensor` objects, so a loss built from them can
be differentiated. Plain numpy arrays are accepted anywhere (as constants).
Callables that the layers take (GIN's MLP, NNConv's edge network, the
``message`` of :func:`propagate`) must be built from differentiable pieces too,
e.g. :func:`make_mlp` from this module.

A model is a plain function of a ``dict`` of parameters; the parameters are
numpy arrays, and :func:`~mplib.autograd.value_and_grad` differentiates:

>>> from mplib.autograd import value_and_grad
>>> from mplib.functional import cross_entropy, relu
>>> x, ei, y = np.eye(3), np.array([[0, 1, 1, 2], [1, 0, 2, 1]]), np.array([0, 1, 1])
>>> def loss(p):
...     h = relu(gcn_conv(x, ei, p["W1"], p["b1"]))
...     return cross_entropy(gcn_conv(h, ei, p["W2"]), y)
>>> rng = np.random.default_rng(0)
>>> params = {"W1": rng.normal(size=(3, 4)), "b1": np.zeros(4), "W2": rng.normal(size=(4, 2))}
>>> value, grads = value_and_grad(loss, params)
>>> grads["W1"].shape
(3, 4)

:mod:`mplib.train` adds the initialiser, the optimisers and the training loop.
Docstrings here give the formula and what differs from :mod:`mplib.layers`;
see there for the full story of each layer (normalisation, self-loops, PyG).
"""

import numpy as np

from ._validate import check_choice, check_edge_index, check_features, check_int, check_real, check_weight
from .autograd import _record, as_tensor, concat, einsum
from .functional import _aggregate, dropout, leaky_relu, relu, scatter, segment_softmax
from .layers import _AGGRS, _check_edge_network, gcn_norm
from .scatter import REDUCTIONS

__all__ = ["linear", "make_mlp", "propagate", "gcn_norm", "gcn_conv", "sage_conv", "gin_conv", "gat_conv",
           "nn_conv", "edge_conv"]


def _graph(x, edge_index):
    x = as_tensor(x)
    check_features(x.data, name="x")
    return x, check_edge_index(edge_index, x.shape[0])


def _weight(value, name, shape):
    """A parameter as a Tensor, its shape checked (``None`` in ``shape`` = any size)."""
    value = as_tensor(value)
    check_weight(value.data, name, shape)
    return value


def _spmm(matrix, x):
    """``matrix @ x`` for a constant scipy sparse ``matrix``; the gradient is ``matrix.T @ g``."""
    return _record(matrix @ x.data, (x,), lambda g: (matrix.T @ g,))


def linear(x, weight, bias=None):
    r"""The affine map :math:`x W + b`, ``weight`` of shape ``(F_in, F_out)`` (row-vector convention).

    Examples
    --------
    >>> linear([[1.0, 2.0]], [[1.0], [1.0]], [0.5]).data
    array([[3.5]])
    """
    x = as_tensor(x)
    weight = _weight(weight, "weight", (x.shape[-1], None))
    out = x @ weight
    return out if bias is None else out + _weight(bias, "bias", (weight.shape[1],))


def make_mlp(weights, biases=None):
    r"""The trainable twin of :func:`mplib.layers.make_mlp`: ``Linear, ReLU, ..., ReLU, Linear``.

    Parameters
    ----------
    weights : sequence of Tensor or array_like, shapes (F_0, F_1), ..., (F_{L-1}, F_L)
    biases : sequence of (Tensor, array_like or None), optional
        One per weight; ``None`` means no biases.

    Returns
    -------
    callable
        ``mlp(h)``: a tensor of shape ``(M, F_0)`` to a Tensor of shape ``(M, F_L)``.

    Raises
    ------
    ValueError
        If there are no weights or not one bias per weight (shapes are checked when called).

    Examples
    --------
    >>> make_mlp([np.eye(2), [[1.0], [1.0]]], [[0.0, -5.0], [0.5]])(np.array([[1.0, 2.0]])).data
    array([[1.5]])
    """
    weights = list(weights)
    biases = [None] * len(weights) if biases is None else list(biases)
    if not weights or len(biases) != len(weights):
        raise ValueError(f"`weights` must be non-empty with one bias per weight, got {len(weights)} "
                         f"weights and {len(biases)} biases")

    def mlp(h):
        for k, (w, b) in enumerate(zip(weights, biases)):
            h = linear(h, w, b)
            if k < len(weights) - 1:
                h = relu(h)
        return h
    return mlp


def propagate(x, edge_index, message=None, aggregate="sum", update=None, edge_attr=None):
    r"""Differentiable :func:`mplib.message_passing.propagate`: one round of ψ, ⊕, φ.

    .. math::
        h_v' = \phi\Big(h_v,\ \bigoplus_{u \in \mathcal{N}(v)} \psi(h_v, h_u, e_{uv})\Big)

    Arguments as in :func:`mplib.propagate`; ``message(x_i, x_j, edge_attr)`` and
    ``update(x, aggregated)`` receive and return Tensors. The built-in
    aggregations ("sum", "mean", "max", "min") are differentiable (see
    :func:`mplib.functional.scatter` for max/min ties); a callable ``aggregate``
    must be built from differentiable operations itself.

    Returns
    -------
    Tensor, one row per node

    Raises
    ------
    ValueError
        On a bad shape or node id, or an unknown aggregation name.

    Examples
    --------
    >>> propagate([[1.0], [2.0], [4.0]], [[0, 1, 1, 2], [1, 0, 2, 1]], aggregate="max").data
    array([[2.],
           [4.],
           [2.]])
    """
    x = as_tensor(x)
    check_features(x.data, name="x", ndim=None)
    if x.ndim == 0:
        raise ValueError("`x` must have one row per node, got a scalar")
    n = x.shape[0]
    src, dst = check_edge_index(edge_index, n)
    if not callable(aggregate) and aggregate not in REDUCTIONS:
        raise ValueError(f"`aggregate` must be one of {REDUCTIONS} or a callable, got {aggregate!r}")
    if message is None and not callable(aggregate):
        agg = _aggregate(x, src, dst, n, aggregate)  # no (E, F) message array needed
    else:
        messages = x[src] if message is None else as_tensor(message(x[dst], x[src], edge_attr))
        if messages.ndim == 0 or messages.shape[0] != src.shape[0]:
            raise ValueError(f"`message` must return one row per edge ({src.shape[0]}), got shape {messages.shape}")
        agg = as_tensor(aggregate(messages, dst, n)) if callable(aggregate) else scatter(messages, dst, n, aggregate)
    return agg if update is None else update(x, agg)


def gcn_conv(x, edge_index, weight, bias=None, edge_weight=None, adj=None):
    r"""Trainable :func:`mplib.layers.gcn_conv`: :math:`X' = \tilde A X W + b`, :math:`\tilde A = \hat D^{-1/2} \hat A \hat D^{-1/2}`.

    :math:`\tilde A` is a constant (a function of the graph only), so the
    backward pass is :math:`\partial L/\partial (XW) = \tilde A^{\top} G`.
    ``edge_weight`` is a constant too.

    Parameters
    ----------
    x, edge_index, weight, bias, edge_weight
        As in :func:`mplib.layers.gcn_conv`.
    adj : scipy sparse matrix, shape (N, N), optional
        :math:`\tilde A` precomputed by :func:`gcn_norm` (from the same
        ``edge_index`` and ``edge_weight``: it is trusted, not checked), to save
        recomputing it at every call; most of a small GCN's training time otherwise.

    Examples
    --------
    >>> gcn_conv([[1.0], [2.0]], [[0, 1], [1, 0]], weight=[[1.0]]).data
    array([[1.5],
           [1.5]])
    """
    x = as_tensor(x)
    check_features(x.data, name="x")
    n = x.shape[0]
    weight = _weight(weight, "weight", (x.shape[1], None))
    if adj is None:
        adj = gcn_norm(edge_index, n, edge_weight)
    elif getattr(adj, "shape", None) != (n, n) or not hasattr(adj, "tocsr"):
        raise ValueError(f"`adj` must be a scipy sparse matrix of shape ({n}, {n}) from gcn_norm, "
                         f"got {type(adj).__name__} of shape {getattr(adj, 'shape', None)}")
    out = _spmm(adj, x @ weight)
    return out if bias is None else out + _weight(bias, "bias", (weight.shape[1],))


def sage_conv(x, edge_index, weight_neigh, weight_root=None, bias=None, aggr="mean"):
    r"""Trainable :func:`mplib.layers.sage_conv`: :math:`x_i' = (\bigoplus_{j} x_j) W_{\mathrm{neigh}} + b + x_i W_{\mathrm{root}}`.

    Examples
    --------
    >>> sage_conv([[1.0], [3.0], [10.0]], [[0, 1], [2, 2]], [[1.0]], [[0.5]]).data
    array([[0.5],
           [1.5],
           [7. ]])
    """
    x, (src, dst) = _graph(x, edge_index)
    aggr = check_choice(aggr, "aggr", _AGGRS)
    weight_neigh = _weight(weight_neigh, "weight_neigh", (x.shape[1], None))
    f_out = weight_neigh.shape[1]
    out = _aggregate(x, src, dst, x.shape[0], aggr) @ weight_neigh
    if bias is not None:
        out = out + _weight(bias, "bias", (f_out,))
    if weight_root is not None:
        out = out + x @ _weight(weight_root, "weight_root", (x.shape[1], f_out))
    return out


def gin_conv(x, edge_index, mlp, eps=0.0):
    r"""Trainable :func:`mplib.layers.gin_conv`: :math:`x_i' = \mathrm{MLP}((1 + \epsilon) x_i + \sum_j x_j)`.

    ``mlp`` must map Tensors to Tensors, e.g. :func:`make_mlp`; ``eps`` is fixed.

    Examples
    --------
    >>> gin_conv([[1.0], [2.0]], [[0], [1]], mlp=lambda h: 10 * h, eps=0.5).data
    array([[15.],
           [40.]])
    """
    x, (src, dst) = _graph(x, edge_index)
    eps = check_real(eps, "eps")
    if not callable(mlp):
        raise TypeError(f"`mlp` must be callable, got {type(mlp).__name__}")
    out = as_tensor(mlp((1.0 + eps) * x + _aggregate(x, src, dst, x.shape[0], "sum")))
    if out.ndim != 2 or out.shape[0] != x.shape[0]:
        raise ValueError(f"`mlp` must return an array of shape ({x.shape[0]}, F_out), got shape {out.shape}")
    return out


def gat_conv(x, edge_index, weight, att_src, att_dst, bias=None, heads=1, concat=True,
             negative_slope=0.2, return_attention=False, dropout_p=0.0, training=False, rng=None):
    r"""Trainable :func:`mplib.layers.gat_conv` (graph attention).

    .. math::
        e_{ij} = \mathrm{LeakyReLU}\big(a_{\mathrm{src}} \cdot h_j + a_{\mathrm{dst}} \cdot h_i\big),
        \quad \alpha_{ij} = \operatorname{softmax}_{j \in \mathcal N(i) \cup \{i\}} e_{ij},
        \quad x_i' = \sum_j \alpha_{ij} h_j + b, \quad h = x W

    The gradient reaches :math:`W`, :math:`a_{\mathrm{src}}` and :math:`a_{\mathrm{dst}}` both through the
    values :math:`h_j` and through the attention weights (softmax, then LeakyReLU):
    this is how the attention is learned.

    Parameters
    ----------
    x, edge_index, weight, att_src, att_dst, bias, heads, concat, negative_slope, return_attention
        As in :func:`mplib.layers.gat_conv`; the attention returned is a Tensor
        (take ``.data`` to plot it), before dropout.
    dropout_p : float in [0, 1), default 0.0
        Dropout on the attention weights (PyG's ``dropout``; 0.6 in the GAT paper).
    training : bool, default False
        Attention dropout is applied only when training.
    rng : numpy.random.Generator, int or None
        Randomness of the attention dropout.

    Examples
    --------
    >>> out = gat_conv([[0.0], [3.0]], [[0], [1]], [[1.0]], [[0.0]], [[0.0]])
    >>> out.data
    array([[0. ],
           [1.5]])
    """
    x, (src, dst) = _graph(x, edge_index)
    n = x.shape[0]
    heads = check_int(heads, "heads", minimum=1)
    negative_slope = check_real(negative_slope, "negative_slope")
    att_src = _weight(att_src, "att_src", (heads, None))
    f_out = att_src.shape[1]
    att_dst = _weight(att_dst, "att_dst", (heads, f_out))
    weight = _weight(weight, "weight", (x.shape[1], heads * f_out))
    h = (x @ weight).reshape(n, heads, f_out)
    score_src = einsum("nhf,hf->nh", h, att_src)
    score_dst = einsum("nhf,hf->nh", h, att_dst)
    keep = src != dst
    nodes = np.arange(n, dtype=np.int64)
    src = np.concatenate([src[keep], nodes])
    dst = np.concatenate([dst[keep], nodes])
    alpha = segment_softmax(leaky_relu(score_src[src] + score_dst[dst], negative_slope), dst, n)
    weights = dropout(alpha, dropout_p, training=training, rng=rng)
    out = scatter(weights.reshape(-1, heads, 1) * h[src], dst, n)
    out = out.reshape(n, heads * f_out) if concat else out.mean(axis=1)
    if bias is not None:
        out = out + _weight(bias, "bias", (heads * f_out if concat else f_out,))
    return (out, (np.stack([src, dst]), alpha)) if return_attention else out


def nn_conv(x, edge_index, edge_attr, edge_network, weight_root=None, bias=None, aggr="sum"):
    r"""Trainable :func:`mplib.layers.nn_conv` (edge network): :math:`x_i' = x_i W_{\mathrm{root}} + \bigoplus_j x_j \Theta(e_{ji}) + b`.

    ``edge_network`` maps the ``(E, D)`` edge features to a Tensor of shape
    ``(E, F_in * F_out)`` or ``(E, F_in, F_out)``, e.g. :func:`make_mlp`; its
    own parameters get gradients through :math:`\Theta`.

    Examples
    --------
    >>> nn_conv([[1.0], [5.0]], [[0], [1]], edge_attr=[[3.0]], edge_network=lambda e: 2 * e).data
    array([[0.],
           [6.]])
    """
    x, (src, dst) = _graph(x, edge_index)
    n, f_in = x.shape
    num_edges = src.shape[0]
    aggr = check_choice(aggr, "aggr", _AGGRS)
    edge_attr = _check_edge_network(edge_attr, num_edges, edge_network)
    theta = as_tensor(edge_network(edge_attr))
    if weight_root is not None:
        weight_root = _weight(weight_root, "weight_root", (f_in, None))
    if theta.ndim == 2 and theta.shape[0] == num_edges and theta.shape[1] % f_in == 0:
        theta = theta.reshape(num_edges, f_in, theta.shape[1] // f_in)
    if theta.ndim != 3 or theta.shape[:2] != (num_edges, f_in) or (
            weight_root is not None and theta.shape[2] != weight_root.shape[1]):
        want = "F_out" if weight_root is None else weight_root.shape[1]
        raise ValueError(f"`edge_network` must return shape ({num_edges}, {f_in} * {want}) or "
                         f"({num_edges}, {f_in}, {want}), got shape {theta.shape}")
    out = scatter(einsum("ef,efo->eo", x[src], theta), dst, n, reduce=aggr)
    if weight_root is not None:
        out = out + x @ weight_root
    return out if bias is None else out + _weight(bias, "bias", (theta.shape[2],))


def edge_conv(x, edge_index, mlp, aggr="max"):
    r"""Trainable :func:`mplib.layers.edge_conv`: :math:`x_i' = \bigoplus_j \mathrm{MLP}([x_i,\ x_j - x_i])`.

    Examples
    --------
    >>> edge_conv([[0.0], [1.0], [4.0]], [[1, 2], [0, 0]], mlp=lambda z: z[:, 1:]).data
    array([[4.],
           [0.],
           [0.]])
    """
    x, (src, dst) = _graph(x, edge_index)
    aggr = check_choice(aggr, "aggr", _AGGRS)
    if not callable(mlp):
        raise TypeError(f"`mlp` must be callable, got {type(mlp).__name__}")
    x_i = x[dst]
    messages = as_tensor(mlp(concat([x_i, x[src] - x_i], axis=1)))
    if messages.ndim != 2 or messages.shape[0] != src.shape[0]:
        raise ValueError(f"`mlp` must return an array of shape ({src.shape[0]}, F_out), got shape {messages.shape}")
    return scatter(messages, dst, x.shape[0], reduce=aggr)
