r"""Edge curvature: where a graph pinches, and where messages get squashed.

An edge is positively curved when the neighbourhoods of its two ends overlap
(triangles, short cycles: messages have many routes) and negatively curved
when it is a bridge between neighbourhoods that only it connects. Topping et
al. (2022) prove that negatively curved edges cause over-squashing.

- :func:`balanced_forman_curvature`: combinatorial, from triangles and 4-cycles.
- :func:`ollivier_ricci_curvature`: from optimal transport between neighbourhoods.

Both take an undirected graph without self-loops or repeated edges (an
``edge_index`` with ``num_nodes``, or a :class:`mplib.Graph`; convert a networkx
graph with :func:`mplib.from_networkx`, node ``k`` = ``list(G)[k]``) and return one value per column of its
``edge_index``; an edge and its reverse get the same value.
"""

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from ._validate import check_graph, check_undirected
from .message_passing import adjacency_matrix

__all__ = ["balanced_forman_curvature", "ollivier_ricci_curvature"]


def _entries(m):
    """A function ``get(rows, cols)`` returning the entries ``m[rows[k], cols[k]]`` (0 if not stored).

    The stored entries of ``m`` are turned once into sorted keys ``row * width + col``; each
    call is then one vectorised binary search.
    """
    m = sp.csr_matrix(m)
    m.sum_duplicates()
    m.sort_indices()
    width = max(m.shape[1], 1)
    keys = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr)) * width + m.indices
    data = m.data

    def get(rows, cols):
        want = np.asarray(rows, dtype=np.int64) * width + np.asarray(cols, dtype=np.int64)
        if keys.size == 0:
            return np.zeros(want.shape)
        pos = np.minimum(np.searchsorted(keys, want), keys.size - 1)
        return np.where(keys[pos] == want, data[pos], 0.0)

    return get


def _neighbour_pairs(a, centers):
    """All pairs ``(t, k)`` with ``k`` a neighbour of ``centers[t]``: ``(owner t, k)`` arrays."""
    count = np.diff(a.indptr)[centers]
    owner = np.repeat(np.arange(centers.size), count)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    return owner, a.indices[np.repeat(a.indptr[centers], count) + offset].astype(np.int64)


def balanced_forman_curvature(graph, num_nodes=None):
    r"""Balanced Forman curvature of every edge (Topping et al. 2022, Definition 1).

    For an edge :math:`i \sim j` with degrees :math:`d_i, d_j`,
    :math:`\mathrm{Ric}(i, j) = 0` if :math:`\min(d_i, d_j) = 1`, and otherwise

    .. math::
        \mathrm{Ric}(i,j) = \frac{2}{d_i} + \frac{2}{d_j} - 2
            + 2\frac{|\sharp_\Delta|}{\max(d_i, d_j)} + \frac{|\sharp_\Delta|}{\min(d_i, d_j)}
            + \frac{(\gamma_{\max})^{-1}}{\max(d_i, d_j)} \big(|\sharp^i_\square| + |\sharp^j_\square|\big),

    where, with :math:`S_1(i)` the neighbours of ``i`` and :math:`B_1(i) = S_1(i) \cup \{i\}`,

    - :math:`\sharp_\Delta = S_1(i) \cap S_1(j)`: the triangles on the edge;
    - :math:`\sharp^i_\square = \{k \in S_1(i) \setminus B_1(j) : c_k > 0\}` with
      :math:`c_k = |(S_1(k) \cap S_1(j)) \setminus B_1(i)|`: neighbours of ``i``
      that start a 4-cycle ``i - k - w - j - i`` without a diagonal
      (:math:`\sharp^j_\square` likewise with ``i`` and ``j`` swapped);
    - :math:`\gamma_{\max}` is the largest :math:`c_k` over both sets: the most
      4-cycles through one node. The last term is 0 when there are no 4-cycles.

    Published values (their Table 1): :math:`K_n`: :math:`n/(n-1)`; cycles
    :math:`C_3, C_4, C_{n \ge 5}`: :math:`3/2, 1, 0`; interior edges of a grid: 0;
    an :math:`(r+1)`-regular tree: :math:`4/(r+1) - 2`. Always :math:`> -2`.

    Parameters
    ----------
    graph : array_like of int, shape (2, E), or Graph
        Undirected and simple: both directions stored, no self-loops or repeats.
    num_nodes : int, optional
        Only with an ``edge_index``; defaults to one more than its largest id.

    Returns
    -------
    ndarray of float64, shape (E,)
        One value per column of ``edge_index``.

    Raises
    ------
    ValueError
        If the graph is directed, has a self-loop or repeats an edge.

    Examples
    --------
    >>> from mplib.generators import complete_graph, cycle_graph
    >>> balanced_forman_curvature(complete_graph(4)).round(4)[:3]   # 4/3
    array([1.3333, 1.3333, 1.3333])
    >>> balanced_forman_curvature(cycle_graph(4))                   # C_4
    array([1., 1., 1., 1., 1., 1., 1., 1.])

    Notes
    -----
    Vectorised with sparse products: triangles are :math:`(A^2)_{ij}`;
    :math:`c_k = (A^2)_{kj} - 1 - |S_1(i) \cap S_1(j) \cap S_1(k)|` (the 1 removes
    ``w = i``), the triple intersections coming from
    :math:`(A_{i\cdot} \odot A_{j\cdot}) A`. The authors' released code counts
    4-cycles differently (and does not zero edges at a leaf); this follows the
    paper's definition.

    References
    ----------
    J. Topping, F. Di Giovanni, B. P. Chamberlain, X. Dong, M. M. Bronstein,
    "Understanding over-squashing and bottlenecks on graphs via curvature", ICLR 2022.
    """
    edge_index, n = check_graph(graph, num_nodes)
    rev = check_undirected(edge_index, n, allow_loops=False)
    src, dst = edge_index
    e = src.size
    a = adjacency_matrix(edge_index, n).tocsr()
    a.sort_indices()
    a2 = a @ a
    deg = np.diff(a.indptr).astype(float)
    a_at, a2_at = _entries(a), _entries(a2)
    tri = a2_at(src, dst)

    # Wedges (edge t = (i, j), k in S_1(i)); keep k outside B_1(j).
    owner, k = _neighbour_pairs(a, src)
    j = dst[owner]
    keep = (k != j) & (a_at(k, j) == 0)
    owner, k, j = owner[keep], k[keep], j[keep]
    common = a[src].multiply(a[dst]).tocsr()  # row t: S_1(i) ∩ S_1(j)
    triple = _entries(common @ a)(owner, k)    # |S_1(i) ∩ S_1(j) ∩ S_1(k)|
    c = a2_at(k, j) - 1 - triple
    square = c > 0
    n_square = np.bincount(owner[square], minlength=e).astype(float)
    gamma = np.zeros(e)
    np.maximum.at(gamma, owner[square], c[square])

    d_i, d_j = deg[src], deg[dst]
    d_max, d_min = np.maximum(d_i, d_j), np.minimum(d_i, d_j)
    gamma = np.maximum(gamma, gamma[rev])
    squares = np.divide(n_square + n_square[rev], gamma * d_max, out=np.zeros(e), where=gamma > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ric = 2 / d_i + 2 / d_j - 2 + 2 * tri / d_max + tri / d_min + squares
    return np.where(d_min > 1, ric, 0.0)


def _transport_cost(supply, demand, cost):
    """Earth mover's distance between ``supply`` (rows) and ``demand`` (columns), by a small LP."""
    if supply.size == 0 or demand.size == 0:
        return 0.0
    if supply.size == 1:
        return float(cost[0] @ demand)
    if demand.size == 1:
        return float(cost[:, 0] @ supply)
    s, t = cost.shape
    # Variable a * t + b is the mass moved from source a to sink b. Constraint a < s: what
    # leaves source a; constraint s + b: what reaches sink b (the last one is redundant).
    var = np.arange(s * t)
    row = np.concatenate([var // t, s + var % t])
    keep = row < s + t - 1
    a_eq = sp.csr_matrix((np.ones(keep.sum()), (row[keep], np.tile(var, 2)[keep])),
                         shape=(s + t - 1, s * t))
    if s * t <= 4096:
        a_eq = a_eq.toarray()  # scipy's sparse checks cost more than they save on a tiny LP
    res = linprog(cost.ravel(), A_eq=a_eq, b_eq=np.concatenate([supply, demand[:-1]]),
                  bounds=(0, None), method="highs")
    if res.status != 0:  # pragma: no cover - a balanced transport problem is always feasible
        raise RuntimeError(f"optimal transport LP failed: {res.message}")
    return float(res.fun)


def ollivier_ricci_curvature(graph, alpha=0.0, num_nodes=None):
    r"""Ollivier-Ricci curvature of every edge (Ollivier 2009).

    .. math::
        \kappa(i, j) = 1 - \frac{W_1(m_i, m_j)}{d(i, j)}, \qquad
        m_i = \alpha\, \delta_i + \frac{1 - \alpha}{d_i} \sum_{k \in S_1(i)} \delta_k,

    where :math:`W_1` is the earth mover's distance with shortest-path costs
    and :math:`d(i, j) = 1` on an edge. ``alpha`` is the idleness (``0``: the
    plain walk; ``1/2``: the lazy walk). Known values with ``alpha = 0``:
    :math:`K_n`: :math:`(n-2)/(n-1)`; cycles :math:`C_{n \ge 4}`: 0; a tree edge:
    :math:`-2\,(1 - 1/d_i - 1/d_j)_+`.

    Parameters
    ----------
    graph : array_like of int, shape (2, E), or Graph
        Undirected and simple: both directions stored, no self-loops or repeats.
    alpha : float in [0, 1], default 0.0
        Mass each walk keeps at its start.
    num_nodes : int, optional
        Only with an ``edge_index``; defaults to one more than its largest id.

    Returns
    -------
    ndarray of float64, shape (E,)
        One value per column of ``edge_index``, in :math:`[-2, 1]`.

    Raises
    ------
    ValueError
        If the graph is directed, has a self-loop or repeats an edge, or
        ``alpha`` lies outside [0, 1].

    Examples
    --------
    >>> from mplib.generators import complete_graph
    >>> ollivier_ricci_curvature(complete_graph(4)).round(4)[:3]   # (4-2)/(4-1)
    array([0.6667, 0.6667, 0.6667])

    Notes
    -----
    Teaching implementation: one small linear program (scipy's HiGHS) per
    undirected edge, a loop that cannot be vectorised. Two shortcuts keep each
    LP tiny: mass that ``m_i`` and ``m_j`` share stays put (for a metric cost this
    changes nothing), so only the excess :math:`(m_i - m_j)_\pm` is moved; and
    both supports lie in :math:`B_1(i) \cup B_1(j)`, where every distance is 1,
    2 (a common neighbour) or 3, read off :math:`A` and :math:`A^2`.

    References
    ----------
    Y. Ollivier, "Ricci curvature of Markov chains on metric spaces",
    J. Funct. Anal. 256 (2009).
    J. Jost, S. Liu, "Ollivier's Ricci curvature, local clustering and
    curvature-dimension inequalities on graphs", Discrete Comput. Geom. 2014.
    """
    edge_index, n = check_graph(graph, num_nodes)
    rev = check_undirected(edge_index, n, allow_loops=False)
    if isinstance(alpha, bool) or not np.isscalar(alpha) or not np.isreal(alpha):
        raise TypeError(f"`alpha` must be a real number, got {type(alpha).__name__}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"`alpha` must lie in [0, 1], got {alpha}")
    alpha = float(alpha)
    src, dst = edge_index
    a = adjacency_matrix(edge_index, n).tocsr()
    a.sort_indices()
    a_at, a2_at = _entries(a), _entries(a @ a)
    out = np.zeros(src.size)
    for e in np.flatnonzero(src < dst):
        i, j = src[e], dst[e]
        n_i, n_j = a.indices[a.indptr[i]:a.indptr[i + 1]], a.indices[a.indptr[j]:a.indptr[j + 1]]
        nodes = np.unique(np.concatenate([n_i, n_j, [i, j]]))
        excess = np.zeros(nodes.size)
        np.add.at(excess, np.searchsorted(nodes, [i, j]), [alpha, -alpha])
        np.add.at(excess, np.searchsorted(nodes, n_i), (1 - alpha) / n_i.size)
        np.add.at(excess, np.searchsorted(nodes, n_j), -(1 - alpha) / n_j.size)
        tol = 1e-12
        sources, sinks = nodes[excess > tol], nodes[excess < -tol]
        u, v = np.repeat(sources, sinks.size), np.tile(sinks, sources.size)
        hops = np.where(a_at(u, v) > 0, 1.0, np.where(a2_at(u, v) > 0, 2.0, 3.0))
        w1 = _transport_cost(excess[excess > tol], -excess[excess < -tol],
                             hops.reshape(sources.size, sinks.size))
        out[e] = 1.0 - w1
    upper = src < dst
    out[rev[upper]] = out[upper]
    return out
