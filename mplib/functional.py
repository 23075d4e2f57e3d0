r"""Differentiable functions a graph network needs beyond arithmetic.

Usage guide
-----------
Activations (:func:`relu`, :func:`leaky_relu`, :func:`elu`), :func:`dropout`,
the loss :func:`cross_entropy` and the graph-level readout :func:`global_pool`.
Like every primitive of :mod:`mplib.autograd`, each takes plain arrays or
:class:`~mplib.autograd.Tensor` objects: given arrays it returns an array (this
is how :mod:`mplib.layers` uses them), given a tensor it returns a tensor that
can be differentiated:

>>> from mplib.autograd import Tensor
>>> relu(np.array([-1.0, 2.0]))
array([0., 2.])
>>> z = Tensor([[2.0, 0.0], [0.0, 1.0]], requires_grad=True)
>>> loss = cross_entropy(relu(z), [0, 1])
>>> loss.backward()
>>> np.round(z.grad, 3)
array([[-0.06 ,  0.   ],
       [ 0.   , -0.134]])

The graph aggregations (:func:`mplib.scatter`, :func:`mplib.segment_softmax`)
live in :mod:`mplib.aggregation`, the layers built from all of them in
:mod:`mplib.layers`.
"""

import numpy as np
from scipy import sparse

from ._validate import check_features, check_real, check_rng, check_segment_index
from .aggregation import scatter
from .autograd import Tensor, record, unwrap

__all__ = ["relu", "leaky_relu", "elu", "dropout", "log_softmax", "cross_entropy", "global_pool"]


# ---------------------------------------------------------------------- activations, dropout, loss

def relu(x):
    r""":math:`\max(x, 0)`, elementwise. The gradient passes where :math:`x > 0` (0 at exactly 0)."""
    d = unwrap(x)
    return record(np.maximum(d, 0.0), (x,), lambda g: (g * (d > 0),))


def leaky_relu(x, negative_slope=0.01):
    r""":math:`x` for :math:`x > 0`, else ``negative_slope`` :math:`\cdot x`; the gradient is 1 or the slope."""
    d = unwrap(x)
    return record(np.where(d > 0, d, negative_slope * d), (x,),
                  lambda g: (g * np.where(d > 0, 1.0, negative_slope),))


def elu(x, alpha=1.0):
    r""":math:`x` for :math:`x > 0`, else :math:`\alpha (e^x - 1)`; the gradient is 1 or :math:`\alpha e^x`."""
    d = unwrap(x)
    neg = alpha * np.expm1(np.minimum(d, 0.0))
    return record(np.where(d > 0, d, neg), (x,), lambda g: (g * np.where(d > 0, 1.0, neg + alpha),))


def dropout(x, p=0.5, training=True, rng=None):
    r"""Zero each entry with probability ``p`` and scale the rest by :math:`1/(1-p)` (inverted dropout).

    A scipy sparse matrix (a constant input such as Cora's bag-of-words features) has only
    its stored entries dropped: on its dense form that is the same dropout, since a zero
    stays zero, at the cost of one random number per stored entry instead of one per cell
    (Kipf & Welling's sparse dropout). It comes back as a ``scipy.sparse.csr_array``.

    Parameters
    ----------
    x : array_like, Tensor or scipy sparse matrix
    p : float in [0, 1)
    training : bool, default True
        ``False`` (evaluation) returns ``x`` unchanged and draws no random numbers.
    rng : numpy.random.Generator, int or None
        The only source of randomness; pass the same generator for reproducible runs.

    Returns
    -------
    ndarray (Tensor if ``x`` is one, csr_array if it is sparse), same shape as ``x``

    Raises
    ------
    ValueError
        If ``p`` is not in [0, 1).

    Examples
    --------
    >>> dropout(np.ones(4), 0.5, rng=0)
    array([2., 0., 0., 0.])
    >>> dropout(np.ones(4), 0.5, training=False)
    array([1., 1., 1., 1.])
    >>> from scipy import sparse
    >>> dropout(sparse.eye_array(4), 0.5, rng=0).toarray()    # off-diagonal zeros stay zero
    array([[2., 0., 0., 0.],
           [0., 0., 0., 0.],
           [0., 0., 0., 0.],
           [0., 0., 0., 0.]])
    """
    p = check_real(p, "p")
    if not 0 <= p < 1:
        raise ValueError(f"`p` must be in [0, 1), got {p}")
    if sparse.issparse(x):
        if not training or p == 0:
            return x
        x = sparse.csr_array(x)
        keep = check_rng(rng).random(x.nnz) >= p
        return sparse.csr_array((x.data * keep / (1.0 - p), x.indices, x.indptr), shape=x.shape)
    if not isinstance(x, Tensor):
        x = np.asarray(x)
    if not training or p == 0:
        return x
    keep = check_rng(rng).random(x.shape) >= p
    return x * (keep / (1.0 - p))


def log_softmax(x):
    r"""Row-wise :math:`\log \mathrm{softmax}`, computed stably as :math:`x - m - \log\sum e^{x - m}`."""
    d = unwrap(x)
    shifted = d - d.max(axis=-1, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    # d/dx: g - softmax(x) * (sum of g over the row)
    return record(out, (x,), lambda g: (g - np.exp(out) * g.sum(axis=-1, keepdims=True),))


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
    numpy.float64 (a Tensor holding one number if ``logits`` is a Tensor)

    Raises
    ------
    ValueError
        If shapes disagree, a class id is out of range or ``index`` selects no row.

    Examples
    --------
    >>> round(float(cross_entropy([[0.0, 0.0], [5.0, -5.0]], [1, 0], index=[0])), 4)  # log 2
    0.6931
    """
    z = logits if isinstance(logits, Tensor) else np.asarray(logits, dtype=np.float64)
    check_features(z, name="logits")
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


# ---------------------------------------------------------------------- readout

def global_pool(x, batch, num_graphs=None, reduce="sum"):
    r"""Graph-level readout: pool the node states of each graph of a batch into one row.

    .. math:: h_G = \bigoplus_{i \in G} h_i, \qquad \bigoplus \in \{\textstyle\sum, \mathrm{mean}, \max\}

    Parameters
    ----------
    x : array_like or Tensor, shape (N, F)
    batch : array_like of int, shape (N,)
        Graph of each node, as returned by :func:`mplib.train.batch_graphs`.
    num_graphs : int, optional
        Number of graphs (default ``batch.max() + 1``).
    reduce : {"sum", "mean", "max", "min"}, default "sum"

    Returns
    -------
    ndarray (Tensor if ``x`` is one), shape (num_graphs, F)

    Examples
    --------
    >>> global_pool([[1.0], [2.0], [5.0]], [0, 0, 1], reduce="mean")
    array([[1.5],
           [5. ]])
    """
    batch = np.asarray(batch)
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if batch.size else 0
    return scatter(x, batch, num_graphs, reduce=reduce)
