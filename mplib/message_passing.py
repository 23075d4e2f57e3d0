r"""One round of message passing: craft (ψ), aggregate (⊕), update (φ).

.. math::
    h_i' = \phi\Big(h_i,\ \bigoplus_{j \in \mathcal{N}(i)} \psi(h_i, h_j, e_{ji})\Big)

Here :math:`\mathcal{N}(i)` is the set of senders ``j`` of the edges ``j -> i``.

:func:`propagate` takes numpy arrays or :class:`~mplib.autograd.Tensor` objects
(then ``message``, ``aggregate`` and ``update`` receive tensors, and the result
is differentiable); the layers of :mod:`mplib.layers` are built on it.
"""

import numpy as np
import scipy.sparse as sp

from ._validate import check_edge_index, check_features
from .aggregation import REDUCTIONS, aggregate_rows, scatter
from .autograd import Tensor

__all__ = ["propagate", "adjacency_matrix"]


def adjacency_matrix(edge_index, num_nodes, weight=None, dtype=np.float64):
    r"""The sparse ``(N, N)`` matrix :math:`A` with :math:`A_{ij} = 1` for each edge ``j -> i``.

    Row ``i`` collects the messages node ``i`` receives, so ``A @ x`` is the
    sum aggregation of the plain message :math:`\psi = h_j`. Parallel edges add up.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E)
    num_nodes : int
    weight : array_like, shape (E,), optional
        Entry of each edge (default 1).
    dtype : numpy dtype, default float64

    Returns
    -------
    scipy.sparse.csr_matrix, shape (N, N)

    Examples
    --------
    >>> adjacency_matrix([[0, 1], [1, 2]], 3).toarray()
    array([[0., 0., 0.],
           [1., 0., 0.],
           [0., 1., 0.]])
    """
    src, dst = check_edge_index(edge_index, num_nodes)
    data = np.ones(src.shape[0], dtype=dtype) if weight is None else np.asarray(weight, dtype=dtype)
    if data.shape != src.shape:
        raise ValueError(f"`weight` must have shape ({src.shape[0]},), got {data.shape}")
    return sp.csr_matrix((data, (dst, src)), shape=(num_nodes, num_nodes))


def _array(value):
    """``value`` itself if it is a Tensor, else as a numpy array."""
    return value if isinstance(value, Tensor) else np.asarray(value)


def propagate(x, edge_index, message=None, aggregate="sum", update=None, edge_attr=None):
    r"""Run one round of message passing.

    .. math::
        h_i' = \phi\Big(h_i,\ \bigoplus_{j \in \mathcal{N}(i)} \psi(h_i, h_j, e_{ji})\Big)

    Parameters
    ----------
    x : array_like or Tensor, shape (N, F)
        Node states :math:`h`; row ``k`` is node ``k``.
    edge_index : array_like of int, shape (2, E)
        Edges ``j -> i`` (row 0 senders, row 1 receivers).
    message : callable, optional
        :math:`\psi`, called once for all edges as ``message(x_i, x_j, edge_attr)``
        with ``x_i = x[dst]`` (receivers :math:`h_i`), ``x_j = x[src]``
        (senders :math:`h_j`), both of shape ``(E, F)``; it returns an array with
        ``E`` rows. Default: the sender's state, :math:`\psi = h_j`.
    aggregate : {"sum", "mean", "max", "min"} or callable, default "sum"
        :math:`\bigoplus`. A callable is called as ``aggregate(messages, index, num_nodes)``
        and must return one row per node; it should be permutation-invariant.
    update : callable, optional
        :math:`\phi`, called as ``update(x, aggregated)``. Default: return the
        aggregated messages.
    edge_attr : array_like, shape (E, ...), optional
        :math:`e_{ji}`, handed to ``message``.

    Returns
    -------
    ndarray (Tensor if ``x`` or a message is one)
        The new node states, one row per node. A node without incoming edges
        aggregates to 0.

    Raises
    ------
    ValueError
        On a bad shape, an out-of-range node id, an unknown aggregation name, or
        a ``message`` that does not return one row per edge.
    TypeError
        If ``message``/``update``/``aggregate`` is not callable where it must be.

    Examples
    --------
    The path 0 - 1 - 2, each node summing its neighbours' states:

    >>> x = np.array([[1.0], [2.0], [4.0]])
    >>> ei = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> propagate(x, ei)
    array([[2.],
           [5.],
           [2.]])
    >>> propagate(x, ei, aggregate="max", update=lambda h, m: h + m)
    array([[3.],
           [6.],
           [6.]])

    Notes
    -----
    With the default message the ``(E, F)`` array ``x[src]`` is never built:
    sum and mean become the sparse product ``A @ x`` (divided by the in-degree
    for mean), max and min read the rows of ``x`` directly. Same numbers, much
    less memory traffic.
    """
    x = check_features(x, name="x", ndim=None)
    if x.ndim == 0:
        raise ValueError("`x` must have one row per node, got a scalar")
    n = x.shape[0]
    src, dst = check_edge_index(edge_index, n)
    if not callable(aggregate) and aggregate not in REDUCTIONS:
        raise ValueError(f"`aggregate` must be one of {REDUCTIONS} or a callable, got {aggregate!r}")
    for name, fn in (("message", message), ("update", update)):
        if fn is not None and not callable(fn):
            raise TypeError(f"`{name}` must be callable or None, got {type(fn).__name__}")
    if edge_attr is not None:
        edge_attr = edge_attr if isinstance(edge_attr, Tensor) else np.asarray(edge_attr)
        if edge_attr.ndim == 0 or edge_attr.shape[0] != src.shape[0]:
            raise ValueError(
                f"`edge_attr` must have one row per edge ({src.shape[0]}), got shape {edge_attr.shape}"
            )

    if message is None and not callable(aggregate):
        agg = aggregate_rows(x, src, dst, n, aggregate)  # no (E, F) message array needed
    else:
        messages = x[src] if message is None else _array(message(x[dst], x[src], edge_attr))
        if messages.ndim == 0 or messages.shape[0] != src.shape[0]:
            raise ValueError(
                f"`message` must return one row per edge ({src.shape[0]}), got shape {messages.shape}"
            )
        if callable(aggregate):
            agg = _array(aggregate(messages, dst, n))
            if agg.ndim == 0 or agg.shape[0] != n:
                raise ValueError(f"`aggregate` must return one row per node ({n}), got shape {agg.shape}")
        else:
            agg = scatter(messages, dst, n, reduce=aggregate)
    return agg if update is None else update(x, agg)
