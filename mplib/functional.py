r"""Differentiable functions a graph network needs beyond arithmetic.

Usage guide
-----------
Activations (:func:`relu`, :func:`leaky_relu`, :func:`elu`), :func:`dropout`,
the loss :func:`cross_entropy`, the aggregations :func:`scatter` and
:func:`segment_softmax`, and the graph-level readout :func:`global_pool`. Each
takes :class:`~mplib.autograd.Tensor` objects or plain arrays and returns a
:class:`~mplib.autograd.Tensor`:

>>> from mplib.autograd import Tensor
>>> z = Tensor([[2.0, 0.0], [0.0, 1.0]], requires_grad=True)
>>> loss = cross_entropy(relu(z), [0, 1])
>>> loss.backward()
>>> np.round(z.grad, 3)
array([[-0.06 ,  0.   ],
       [ 0.   , -0.134]])

The layers built from them are in :mod:`mplib.nn`.

The graph primitives
--------------------
Besides the dense operations of :mod:`mplib.autograd`, message passing needs
three graph operations, each with a short backward rule:

- the gather ``x[src]`` (in :mod:`mplib.autograd`): a message's gradient flows
  back to the node that sent it, summed over all its messages;
- :func:`scatter` (sum, mean, max, min): sum sends each node's gradient to all
  of its messages (mean divides it by the in-degree); max and min send it to the
  message that won. When several messages tie for the extreme they share the
  gradient equally: any fixed choice (say, the first) would make the gradient
  depend on the order of the edges, which the aggregation itself ignores;
- :func:`segment_softmax`: :math:`\partial L/\partial s_k = \alpha_k (g_k - \sum_l \alpha_l g_l)`,
  summing over the edges ``l`` into the same node, as for any softmax.
"""

import numpy as np

from ._validate import check_features, check_int, check_real, check_rng, check_segment_index
from .autograd import Tensor, _record, as_tensor  # noqa: F401 (Tensor: used in the examples)
from .scatter import REDUCTIONS, aggregate_rows
from .scatter import segment_softmax as _segment_softmax

__all__ = ["relu", "leaky_relu", "elu", "dropout", "log_softmax", "cross_entropy",
           "scatter", "segment_softmax", "global_pool"]


# ---------------------------------------------------------------------- activations, dropout, loss

def relu(x):
    r""":math:`\max(x, 0)`, elementwise. The gradient passes where :math:`x > 0` (0 at exactly 0)."""
    x = as_tensor(x)
    return _record(np.maximum(x.data, 0.0), (x,), lambda g: (g * (x.data > 0),))


def leaky_relu(x, negative_slope=0.01):
    r""":math:`x` for :math:`x > 0`, else ``negative_slope`` :math:`\cdot x`; the gradient is 1 or the slope."""
    x = as_tensor(x)
    slope = np.where(x.data > 0, 1.0, negative_slope)
    return _record(np.where(x.data > 0, x.data, negative_slope * x.data), (x,), lambda g: (g * slope,))


def elu(x, alpha=1.0):
    r""":math:`x` for :math:`x > 0`, else :math:`\alpha (e^x - 1)`; the gradient is 1 or :math:`\alpha e^x`."""
    x = as_tensor(x)
    neg = alpha * np.expm1(np.minimum(x.data, 0.0))
    return _record(np.where(x.data > 0, x.data, neg), (x,), lambda g: (g * np.where(x.data > 0, 1.0, neg + alpha),))


def dropout(x, p=0.5, training=True, rng=None):
    r"""Zero each entry with probability ``p`` and scale the rest by :math:`1/(1-p)` (inverted dropout).

    Parameters
    ----------
    x : Tensor or array_like
    p : float in [0, 1)
    training : bool, default True
        ``False`` (evaluation) returns ``x`` unchanged and draws no random numbers.
    rng : numpy.random.Generator, int or None
        The only source of randomness; pass the same generator for reproducible runs.

    Returns
    -------
    Tensor, same shape as ``x``

    Raises
    ------
    ValueError
        If ``p`` is not in [0, 1).

    Examples
    --------
    >>> dropout(np.ones(4), 0.5, rng=0).data
    array([2., 0., 0., 0.])
    >>> dropout(np.ones(4), 0.5, training=False).data
    array([1., 1., 1., 1.])
    """
    p = check_real(p, "p")
    if not 0 <= p < 1:
        raise ValueError(f"`p` must be in [0, 1), got {p}")
    x = as_tensor(x)
    if not training or p == 0:
        return x
    keep = check_rng(rng).random(x.shape) >= p
    return x * (keep / (1.0 - p))


def log_softmax(x):
    r"""Row-wise :math:`\log \mathrm{softmax}`, computed stably as :math:`x - m - \log\sum e^{x - m}`."""
    x = as_tensor(x)
    shifted = x.data - x.data.max(axis=-1, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    # d/dx: g - softmax(x) * (sum of g over the row)
    return _record(out, (x,), lambda g: (g - np.exp(out) * g.sum(axis=-1, keepdims=True),))


def cross_entropy(logits, target, index=None):
    r"""Mean softmax cross-entropy of the rows ``index`` of ``logits`` (all rows by default).

    .. math::
        L = -\frac{1}{|I|} \sum_{i \in I} \log \frac{e^{z_{i, y_i}}}{\sum_c e^{z_{ic}}},
        \qquad \frac{\partial L}{\partial z_{ic}} = \frac{\mathrm{softmax}(z_i)_c - [c = y_i]}{|I|}

    Parameters
    ----------
    logits : Tensor or array_like, shape (N, C)
        Unnormalised class scores; any size is fine (the log-sum-exp is shifted).
    target : array_like of int, shape (N,)
        Class of every row (rows outside ``index`` may hold anything in range).
    index : array_like of int or bool, shape (M,) or (N,), optional
        The rows that count, as ids or as a boolean mask (e.g. the training nodes).

    Returns
    -------
    Tensor holding one number

    Raises
    ------
    ValueError
        If shapes disagree, a class id is out of range or ``index`` selects no row.

    Examples
    --------
    >>> round(cross_entropy([[0.0, 0.0], [5.0, -5.0]], [1, 0], index=[0]).item(), 4)  # log 2
    0.6931
    """
    z = as_tensor(logits)
    check_features(z.data, name="logits")
    n, c = z.shape
    target = check_segment_index(target, "target", c, length=n)
    rows = np.arange(n)
    if index is not None:
        index = np.asarray(index)
        if index.dtype == np.bool_:
            if index.shape != (n,):
                raise ValueError(f"a boolean `index` must have shape ({n},), got {index.shape}")
            rows = np.flatnonzero(index)
        else:
            rows = check_segment_index(index, "index", n)
    if rows.size == 0:
        raise ValueError("`index` must select at least one row, got none")
    logp = log_softmax(z[rows])
    return -logp[np.arange(rows.size), target[rows]].mean()


# ---------------------------------------------------------------------- graph primitives

def _aggregate(values, rows, index, num_segments, reduce):
    """Aggregate ``values[rows[k]]`` into segment ``index[k]`` (:func:`mplib.scatter.aggregate_rows`), differentiably."""
    v = values
    out = aggregate_rows(v.data, rows, index, num_segments, reduce)

    def backward(g):
        if reduce in ("sum", "mean"):
            if reduce == "mean":  # each message counts 1 / in-degree
                g = g / np.maximum(np.bincount(index, minlength=num_segments), 1).reshape((-1,) + (1,) * (g.ndim - 1))
            return (aggregate_rows(g, index, rows, v.shape[0], "sum"),)  # the transposed sum
        edges = np.arange(index.shape[0])
        won = v.data[rows] == out[index]  # the messages equal to their segment's max (or min)
        share = won / aggregate_rows(won.astype(g.dtype), edges, index, num_segments, "sum")[index]
        return (aggregate_rows(share * g[index], edges, rows, v.shape[0], "sum"),)
    return _record(out, (v,), backward)


def scatter(src, index, num_segments, reduce="sum"):
    r"""Differentiable :func:`mplib.scatter.scatter`: reduce the rows of ``src`` that share an ``index``.

    Parameters
    ----------
    src : Tensor or array_like, shape (E, ...)
    index : array_like of int, shape (E,)
    num_segments : int
    reduce : {"sum", "mean", "max", "min"}, default "sum"
        For max and min the gradient of a segment goes to the message that
        attains the extreme; tied messages share it equally.

    Returns
    -------
    Tensor, shape (num_segments, ...); empty segments are 0.

    Examples
    --------
    >>> m = Tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    >>> scatter(m, [0, 0, 0, 1], 2, reduce="max").sum().backward()
    >>> m.grad  # the two tied maxima share the gradient of segment 0
    array([0. , 0.5, 0.5, 1. ])
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"`reduce` must be one of {REDUCTIONS}, got {reduce!r}")
    src = as_tensor(src)
    if src.ndim == 0:
        raise ValueError("`src` must have at least one dimension (one row per message), got a scalar")
    num_segments = check_int(num_segments, "num_segments")
    index = check_segment_index(index, "index", num_segments, length=src.shape[0])
    return _aggregate(src, np.arange(src.shape[0]), index, num_segments, reduce)


def segment_softmax(scores, index, num_segments):
    r"""Differentiable :func:`mplib.scatter.segment_softmax` (softmax over each node's incoming edges).

    Examples
    --------
    >>> segment_softmax([0.0, 0.0, 1000.0], [0, 0, 1], num_segments=2).data
    array([0.5, 0.5, 1. ])
    """
    s = as_tensor(scores)
    index = check_segment_index(index, "index", check_int(num_segments, "num_segments"), length=len(s))
    alpha = _segment_softmax(s.data, index, num_segments)

    def backward(g):  # alpha_k * (g_k - sum_l alpha_l g_l), the sum over the segment of k
        dot = aggregate_rows(alpha * g, np.arange(index.shape[0]), index, num_segments, "sum")
        return (alpha * (g - dot[index]),)
    return _record(alpha, (s,), backward)


def global_pool(x, batch, num_graphs=None, reduce="sum"):
    r"""Graph-level readout: pool the node states of each graph of a batch into one row.

    .. math:: h_G = \bigoplus_{v \in G} h_v, \qquad \bigoplus \in \{\textstyle\sum, \mathrm{mean}, \max\}

    Parameters
    ----------
    x : Tensor or array_like, shape (N, F)
    batch : array_like of int, shape (N,)
        Graph of each node, as returned by :func:`mplib.train.batch_graphs`.
    num_graphs : int, optional
        Number of graphs (default ``batch.max() + 1``).
    reduce : {"sum", "mean", "max", "min"}, default "sum"

    Returns
    -------
    Tensor, shape (num_graphs, F)

    Examples
    --------
    >>> global_pool([[1.0], [2.0], [5.0]], [0, 0, 1], reduce="mean").data
    array([[1.5],
           [5. ]])
    """
    batch = np.asarray(batch)
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if batch.size else 0
    return scatter(x, batch, num_graphs, reduce=reduce)
