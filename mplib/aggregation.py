r"""Aggregation, the step :math:`\bigoplus` of message passing: scatter and segment softmax.

Every edge carries a message; ``index[k]`` says which node receives message
``k``. Aggregation reduces all messages with the same receiver to one row. All
reductions here are permutation-invariant: shuffling the messages (together
with their ``index``) does not change the result.

Sum and mean are computed as a sparse matrix product ``S @ src`` where ``S`` is
the ``(num_segments, E)`` matrix with a one at ``(index[k], k)``. Max and min
group the messages by receiver once (a counting sort, linear in ``E``) and then
reduce them rank by rank, every segment at once; there is no loop over nodes or
edges, only one over the position of a message within its segment.

Every function here takes numpy arrays or :class:`~mplib.autograd.Tensor`
objects (see :func:`mplib.autograd.record`); with tensors the result is
differentiable, with these backward rules:

- :func:`scatter` (sum, mean, max, min): sum sends each node's gradient to all
  of its messages (mean divides it by the in-degree); max and min send it to the
  message that won. When several messages tie for the extreme they share the
  gradient equally: any fixed choice (say, the first) would make the gradient
  depend on the order of the edges, which the aggregation itself ignores;
- :func:`segment_softmax`: :math:`\partial L/\partial s_k = \alpha_k (g_k - \sum_l \alpha_l g_l)`,
  summing over the edges ``l`` into the same node, as for any softmax.

(The gather ``x[src]`` that builds the messages is :class:`~mplib.autograd.Tensor`
indexing: a message's gradient flows back to the node that sent it.)
"""

import numpy as np
import scipy.sparse as sp

from ._validate import check_int, check_segment_index
from .autograd import Tensor, record, unwrap

__all__ = ["scatter", "segment_softmax", "aggregate_rows", "group_by_segment", "REDUCTIONS"]

REDUCTIONS = ("sum", "mean", "max", "min")
_RANKS = 64  # segments with more messages than this are reduced with reduceat


def _check_src(src):
    if isinstance(src, Tensor):
        if src.ndim == 0:
            raise ValueError("`src` must have at least one dimension (one row per message), got a scalar")
        return src
    src = np.asarray(src)
    if src.ndim == 0:
        raise ValueError("`src` must have at least one dimension (one row per message), got a scalar")
    if src.dtype == np.bool_:
        src = src.astype(np.int64)
    if not np.issubdtype(src.dtype, np.number) or np.issubdtype(src.dtype, np.complexfloating):
        raise TypeError(f"`src` must be a real numeric array, got dtype {src.dtype}")
    return src


def group_by_segment(index, num_segments):
    """Order the messages by segment: a linear-time counting sort.

    Returns ``(order, indptr)``: the messages of segment ``i`` are
    ``order[indptr[i]:indptr[i + 1]]``, in their original relative order.
    (The sort is done by scipy's conversion to a CSR matrix whose row ``i``
    lists the columns ``k`` with ``index[k] == i``.)
    """
    e = index.shape[0]
    grouped = sp.csr_matrix(
        (np.ones(e, dtype=np.int8), (index, np.arange(e))), shape=(num_segments, e)
    )
    return grouped.indices.astype(np.int64), grouped.indptr.astype(np.int64)


def _extreme(ufunc, values, rows, index, num_segments):
    """Max or min of the messages ``values[rows[k]]`` received by ``index[k]``.

    Segments are processed by rank rather than one by one: the first message of
    every segment, then the second message of every segment that has one, and
    so on, each step a vectorised ``ufunc`` over many segments at once. Segments
    with more than ``_RANKS`` messages (hubs) are reduced with ``ufunc.reduceat``.
    """
    order, indptr = group_by_segment(index, num_segments)
    rows = rows[order]
    counts = np.diff(indptr)
    out = np.zeros((num_segments,) + values.shape[1:], dtype=values.dtype)
    hubs = np.flatnonzero(counts > _RANKS)
    if hubs.size:
        block = np.flatnonzero(np.repeat(counts > _RANKS, counts))  # positions of hub messages
        starts = np.concatenate([[0], np.cumsum(counts[hubs])[:-1]])
        out[hubs] = ufunc.reduceat(values[rows[block]], starts, axis=0)
    nodes = np.flatnonzero((counts > 0) & (counts <= _RANKS))
    nodes = nodes[np.argsort(-counts[nodes], kind="stable")]  # busiest first
    starts, counts = indptr[nodes], counts[nodes]
    acc = values[rows[starts]]
    for rank in range(1, counts[0] if nodes.size else 0):
        k = np.searchsorted(-counts, -rank)  # segments with more than `rank` messages
        ufunc(acc[:k], values[rows[starts[:k] + rank]], out=acc[:k])
    out[nodes] = acc
    return out


def _reduce_rows(values, rows, index, num_segments, reduce):
    """The numpy computation of :func:`aggregate_rows` (arrays only)."""
    if reduce in ("sum", "mean"):
        floating = np.issubdtype(values.dtype, np.floating)
        if values.ndim == 1 and floating:  # one number per message: bincount is the cheapest sum
            out = np.bincount(index, weights=values[rows], minlength=num_segments).astype(values.dtype)
        else:
            M = sp.csr_matrix(
                (np.ones(index.shape[0], dtype=values.dtype if floating else np.int64), (index, rows)),
                shape=(num_segments, values.shape[0]),
            )
            flat = values.reshape(values.shape[0], int(np.prod(values.shape[1:])))
            out = np.asarray(M @ flat).reshape((num_segments,) + values.shape[1:]).astype(values.dtype, copy=False)
        if reduce == "mean":
            counts = np.bincount(index, minlength=num_segments).reshape((-1,) + (1,) * (values.ndim - 1))
            ftype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64
            out = (out / np.maximum(counts, 1)).astype(ftype, copy=False)
        return out
    ufunc = np.maximum if reduce == "max" else np.minimum
    return _extreme(ufunc, values, rows, index, num_segments)


def aggregate_rows(values, rows, index, num_segments, reduce="sum"):
    r"""Aggregate the messages ``values[rows[k]]``, message ``k`` going to segment ``index[k]``.

    This is :func:`scatter` without materialising the ``(E, F)`` message array:
    with ``rows = src`` and ``index = dst`` it aggregates the plain message
    :math:`\psi = h_j` straight from the node states. Arguments are not checked.
    ``values`` may be a Tensor (the result is then differentiable).
    """
    data = unwrap(values)
    out = _reduce_rows(data, rows, index, num_segments, reduce)

    def backward(g):
        if reduce in ("sum", "mean"):
            if reduce == "mean":  # each message counts 1 / in-degree
                counts = np.maximum(np.bincount(index, minlength=num_segments), 1)
                g = g / counts.reshape((-1,) + (1,) * (g.ndim - 1))
            return (_reduce_rows(g, index, rows, data.shape[0], "sum"),)  # the transposed sum
        edges = np.arange(index.shape[0])
        won = data[rows] == out[index]  # the messages equal to their segment's max (or min)
        share = won / _reduce_rows(won.astype(g.dtype), edges, index, num_segments, "sum")[index]
        return (_reduce_rows(share * g[index], edges, rows, data.shape[0], "sum"),)
    return record(out, (values,), backward)


def scatter(src, index, num_segments, reduce="sum"):
    r"""Reduce the rows of ``src`` that share the same ``index``.

    .. math::
        \mathrm{out}_i = \bigoplus_{k \,:\, \mathrm{index}_k = i} \mathrm{src}_k,
        \qquad \bigoplus \in \{\textstyle\sum, \mathrm{mean}, \max, \min\}

    Parameters
    ----------
    src : array_like or Tensor, shape (E, ...)
        One row per message.
    index : array_like of int, shape (E,)
        Segment (receiving node) of each row, in ``[0, num_segments)``.
    num_segments : int
        Number of output rows (the number of nodes).
    reduce : {"sum", "mean", "max", "min"}, default "sum"
        For max and min the gradient of a segment goes to the message that
        attains the extreme; tied messages share it equally.

    Returns
    -------
    ndarray (Tensor if ``src`` is one), shape (num_segments, ...)
        Same dtype as ``src`` (``mean`` returns floats). A segment that
        receives no row is 0 for every reduction, never NaN or ``-inf``.

    Raises
    ------
    ValueError
        If ``reduce`` is unknown, lengths disagree or an id is out of range.
    TypeError
        If ``index`` does not hold integers or ``src`` is not numeric.

    Examples
    --------
    >>> src = np.array([1.0, 2.0, 4.0])
    >>> scatter(src, [0, 0, 2], num_segments=4)
    array([3., 0., 4., 0.])
    >>> scatter(src, [0, 0, 2], num_segments=4, reduce="max")
    array([2., 0., 4., 0.])

    The same call on a :class:`~mplib.autograd.Tensor` is differentiable:

    >>> from mplib.autograd import Tensor
    >>> m = Tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    >>> scatter(m, [0, 0, 0, 1], 2, reduce="max").sum().backward()
    >>> m.grad  # the two tied maxima share the gradient of segment 0
    array([0. , 0.5, 0.5, 1. ])

    Notes
    -----
    Max and min of an empty set are undefined; returning 0 (as PyG does) keeps
    isolated nodes from poisoning the next layer with ``-inf``.
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"`reduce` must be one of {REDUCTIONS}, got {reduce!r}")
    src = _check_src(src)
    num_segments = check_int(num_segments, "num_segments")
    index = check_segment_index(index, "index", num_segments, length=src.shape[0])
    return aggregate_rows(src, np.arange(src.shape[0]), index, num_segments, reduce)


def segment_softmax(scores, index, num_segments):
    r"""Softmax of ``scores`` within each segment (over each node's incoming edges).

    .. math::
        \alpha_k = \frac{\exp(s_k - m_i)}{\sum_{l \,:\, \mathrm{index}_l = i} \exp(s_l - m_i)},
        \qquad i = \mathrm{index}_k,\quad m_i = \max_{l \,:\, \mathrm{index}_l = i} s_l

    Subtracting the segment maximum :math:`m_i` does not change the result but
    keeps ``exp`` from overflowing, so scores of 1000 are fine.

    Parameters
    ----------
    scores : array_like or Tensor, shape (E,) or (E, H)
        One score per edge (and per attention head).
    index : array_like of int, shape (E,)
        Segment (receiving node) of each score.
    num_segments : int

    Returns
    -------
    ndarray of float (Tensor if ``scores`` is one), same shape as ``scores``
        Non-negative weights that sum to 1 within every non-empty segment.

    Raises
    ------
    ValueError
        If ``scores`` holds NaN or infinity, or ``index`` is out of range.

    Examples
    --------
    >>> segment_softmax([0.0, 0.0, 1000.0], [0, 0, 1], num_segments=2)
    array([0.5, 0.5, 1. ])
    """
    scores = _check_src(scores)
    data = unwrap(scores)
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float64)
    if not np.all(np.isfinite(data)):
        raise ValueError("`scores` contains NaN or infinite values")
    num_segments = check_int(num_segments, "num_segments")
    index = check_segment_index(index, "index", num_segments, length=data.shape[0])
    edges = np.arange(data.shape[0])
    seg_max = _reduce_rows(data, edges, index, num_segments, "max")
    exp = np.exp(data - seg_max[index])
    alpha = exp / _reduce_rows(exp, edges, index, num_segments, "sum")[index]

    def backward(g):  # alpha_k * (g_k - sum_l alpha_l g_l), the sum over the segment of k
        dot = _reduce_rows(alpha * g, edges, index, num_segments, "sum")
        return (alpha * (g - dot[index]),)
    return record(alpha, (scores,), backward)
