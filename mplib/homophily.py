r"""Homophily: do neighbours share labels, and what averaging does when they do not.

:func:`edge_homophily`, :func:`node_homophily` and :func:`class_homophily`
measure how often an edge joins two nodes of the same class;
:func:`mix_with_neighbours` is the averaging step whose effect on a
heterophilous graph, the factor :math:`(1 - 2\alpha)`, the book demonstrates.
"""

import numpy as np

from ._validate import check_edge_index, check_features, check_index, check_int
from .message_passing import propagate

__all__ = ["edge_homophily", "node_homophily", "class_homophily", "mix_with_neighbours"]


def _labels(edge_index, y):
    y = check_index(y, "y")
    if y.size and y.min() < 0:
        raise ValueError(f"`y` must hold class ids >= 0, got {y.min()}")
    src, dst = check_edge_index(edge_index, y.shape[0])
    if src.size == 0:
        raise ValueError("`edge_index` has no edges: homophily is undefined (0 / 0)")
    return src, dst, y


def edge_homophily(edge_index, y):
    r"""Fraction of edges whose two ends have the same label (Zhu et al. 2020).

    .. math::
        h_{\mathrm{edge}} = \frac{|\{(j \to i) : y_j = y_i\}|}{|E|}

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E)
    y : array_like of int, shape (N,)
        Class of each node.

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        If there are no edges (the ratio is 0/0) or ``y`` has a negative class.

    Examples
    --------
    >>> ei = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> edge_homophily(ei, [0, 0, 1])
    0.5

    Notes
    -----
    Every column counts, self-loops included, as in PyG's
    ``homophily(method="edge")``.

    References
    ----------
    J. Zhu et al., "Beyond homophily in graph neural networks: current
    limitations and effective designs", NeurIPS 2020.
    """
    src, dst, y = _labels(edge_index, y)
    return float(np.mean(y[src] == y[dst]))


def node_homophily(edge_index, y):
    r"""Mean over nodes of the fraction of same-label neighbours (Pei et al. 2020).

    .. math::
        h_{\mathrm{node}} = \frac{1}{|V'|} \sum_{i \in V'}
            \frac{|\{j \to i : y_j = y_i\}|}{|\{j \to i\}|},

    where :math:`V'` is the set of nodes with at least one incoming edge.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E)
    y : array_like of int, shape (N,)

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        If there are no edges or ``y`` has a negative class.

    Examples
    --------
    >>> ei = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> node_homophily(ei, [0, 0, 1])   # (1 + 1/2 + 0) / 3
    0.5

    Notes
    -----
    Nodes without neighbours are left out of the mean, since their fraction is
    0/0. PyG's ``homophily(method="node")`` counts them as 0 instead, so on a
    graph with isolated nodes it is smaller by the factor :math:`|V'| / N`.

    References
    ----------
    H. Pei, B. Wei, K. C.-C. Chang, Y. Lei, B. Yang, "Geom-GCN: geometric graph
    convolutional networks", ICLR 2020.
    """
    src, dst, y = _labels(edge_index, y)
    n = y.shape[0]
    same = np.bincount(dst, weights=(y[src] == y[dst]).astype(float), minlength=n)
    deg = np.bincount(dst, minlength=n)
    has = deg > 0
    return float(np.mean(same[has] / deg[has]))


def class_homophily(edge_index, y, num_classes=None):
    r"""Class-insensitive edge homophily of Lim et al. (2021).

    .. math::
        \hat h = \frac{1}{C - 1} \sum_{k=0}^{C-1} \max\Big(0,\ h_k - \frac{|C_k|}{N}\Big),
        \qquad
        h_k = \frac{|\{(j \to i) : y_i = k,\ y_j = k\}|}{|\{(j \to i) : y_i = k\}|}.

    :math:`h_k` is the edge homophily of the edges into class ``k`` and
    :math:`|C_k| / N` what a random graph would give; a class only scores when
    it beats chance. So :math:`\hat h = 0` on any graph wired at random,
    however unbalanced the classes, which plain edge homophily does not do.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E)
    y : array_like of int, shape (N,)
    num_classes : int, optional
        :math:`C`; defaults to ``max(y) + 1`` (as PyG). Must be at least 2.

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        If there are no edges, fewer than 2 classes, or a label ``>= num_classes``.

    Examples
    --------
    >>> ei = np.array([[0, 1, 2, 3], [1, 0, 3, 2]])    # edges 0-1 and 2-3
    >>> class_homophily(ei, [0, 0, 1, 1])              # (1 - 1/2 + 1 - 1/2) / 1
    1.0

    Notes
    -----
    A class that receives no edge has :math:`h_k = 0` and contributes nothing.
    Equals PyG's ``homophily(method="edge_insensitive")``.

    References
    ----------
    D. Lim et al., "Large scale learning on non-homophilous graphs: new
    benchmarks and strong simple methods", NeurIPS 2021.
    """
    src, dst, y = _labels(edge_index, y)
    c = int(y.max()) + 1 if num_classes is None else check_int(num_classes, "num_classes")
    if c < 2:
        raise ValueError(f"class homophily needs at least 2 classes, got num_classes={c}")
    if y.max() >= c:
        raise ValueError(f"`y` holds class {y.max()}, but `num_classes` is {c}")
    into = np.bincount(y[dst], minlength=c)
    same = np.bincount(y[dst], weights=(y[src] == y[dst]).astype(float), minlength=c)
    h = np.divide(same, into, out=np.zeros(c), where=into > 0)
    share = np.bincount(y, minlength=c) / y.shape[0]
    return float(np.maximum(h - share, 0.0).sum() / (c - 1))


def mix_with_neighbours(x, edge_index, alpha):
    r"""One step of averaging each node with the mean of its neighbours.

    .. math::
        h_i' = (1 - \alpha)\, h_i + \alpha \frac{1}{|\mathcal N(i)|} \sum_{j \in \mathcal N(i)} h_j

    On a bipartite graph whose features are :math:`+1` on one side and
    :math:`-1` on the other, every neighbour mean is :math:`-h_i`, so
    :math:`h_i' = (1 - 2\alpha) h_i`: averaging erases the signal at
    :math:`\alpha = 1/2` and flips it beyond.

    Parameters
    ----------
    x : array_like, shape (N, F)
    edge_index : array_like of int, shape (2, E)
        :math:`\mathcal N(v)` are the sources of the edges into ``v``.
    alpha : float in [0, 1]
        Weight of the neighbours.

    Returns
    -------
    ndarray, shape (N, F)
        A node without neighbours gets :math:`(1 - \alpha) h_i` (an empty mean is 0,
        as in :func:`mplib.scatter`).

    Raises
    ------
    ValueError
        If ``alpha`` lies outside [0, 1] or the shapes disagree.

    Examples
    --------
    >>> ei = np.array([[0, 1], [1, 0]])
    >>> mix_with_neighbours(np.array([[1.0], [-1.0]]), ei, 0.25)   # (1 - 2 * 0.25) * x
    array([[ 0.5],
           [-0.5]])

    References
    ----------
    J. Zhu et al., NeurIPS 2020.
    """
    x = check_features(x, name="x")
    if isinstance(alpha, bool) or not np.isscalar(alpha) or not np.isreal(alpha):
        raise TypeError(f"`alpha` must be a real number, got {type(alpha).__name__}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"`alpha` must lie in [0, 1], got {alpha}")
    return (1.0 - alpha) * x + alpha * propagate(x, edge_index, aggregate="mean")
