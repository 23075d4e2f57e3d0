r"""Colour refinement: the 1-dimensional Weisfeiler-Leman test (1-WL).

Every node starts with a colour (its feature row, or one shared colour) and, in
each round, takes as new colour the pair (own colour, multiset of the colours
of its in-neighbours):

.. math::
    c_i^{(t+1)} = \operatorname{rank}\Big(c_i^{(t)},\
        \{\!\{ c_j^{(t)} : j \to i \}\!\}\Big)

Message passing with a sum aggregation is this rule with the exact relabelling
replaced by a learned function, which is why a message-passing network cannot
tell apart two graphs that 1-WL cannot tell apart (Xu et al. 2019; Morris et
al. 2019).

The relabelling is exact: two nodes get the same new colour if and only if
their signatures are equal. A hash only proposes the classes; every class is
then checked entry by entry, and ranked exactly if a collision ever shows up
(see :func:`wl_history`, Notes).
"""

from dataclasses import dataclass, field

import numpy as np

from ._validate import check_int
from .graph import Graph
from .aggregation import group_by_segment

__all__ = ["wl_colors", "wl_history", "wl_test", "WLResult"]

_MAX_KEY = np.iinfo(np.int64).max


def _rank(keys):
    """Dense ranks ``0..k-1`` of ``keys`` (equal keys, equal rank; order kept)."""
    return np.unique(keys, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _rank_rows(rows):
    """Dense ranks of the rows of a 2-D array, in lexicographic order (-0.0 == 0.0)."""
    if rows.shape[1] == 0:
        return np.zeros(rows.shape[0], dtype=np.int64)
    if rows.shape[1] == 1:
        return _rank(rows[:, 0] + 0.0)
    return np.unique(rows + 0.0, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _pair(major, minor):
    """Injective, order-preserving int64 codes of the pairs ``(major, minor)`` (both >= 0)."""
    if major.size == 0:
        return major.astype(np.int64)
    if (int(major.max()) + 1) * (int(minor.max()) + 1) > _MAX_KEY:
        major, minor = _rank(major), _rank(minor)  # both now < size: the product fits
    return major * (int(minor.max()) + 1) + minor


def _name_sequences(values, seg, length, num_segments):
    """Exact names of the sequences ``values[seg == v]`` (segments contiguous).

    Adjacent elements are paired, ``(v0, v1), (v2, v3), ...`` with a blank after
    an odd last element, and every pair is ranked; this halves each sequence and
    is repeated until every sequence is one name. All sequences go through the
    same number of halvings, so a name stands for exactly one sequence.
    Empty sequences are named -1.
    """
    names = np.full(num_segments, -1, dtype=np.int64)
    if values.size == 0:
        return names
    start = np.cumsum(length) - length
    pos = np.arange(values.size) - np.repeat(start, length)
    nonempty = np.count_nonzero(length)
    while values.size > nonempty:  # some sequence still has two elements or more
        left = np.flatnonzero(pos % 2 == 0)
        right = np.zeros(left.size, dtype=np.int64)  # 0 = blank, names shifted by 1
        has_right = pos[left] + 1 < length[seg[left]]
        right[has_right] = values[left[has_right] + 1] + 1
        values = _rank(_pair(values[left], right))
        seg, pos, length = seg[left], pos[left] // 2, (length + 1) // 2
    names[seg] = values
    return names


def _mix(z):
    """splitmix64 finaliser: a fixed, well-spread map of uint64 to uint64 (wraps mod 2**64)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _refine(colors, src, dst, ptr, edge_colors):
    """One round of refinement; the edges must be sorted by ``dst``, ``ptr`` their offsets."""
    n = colors.shape[0]
    if n == 0:
        return colors
    alone = np.bincount(colors)[colors] == 1
    if np.count_nonzero(alone) > n // 8:  # a node alone in its class stays alone: skip its in-edges
        keep = ~alone[dst]
        src, dst = src[keep], dst[keep]
        edge_colors = None if edge_colors is None else edge_colors[keep]
        ptr = np.concatenate([[0], np.cumsum(np.bincount(dst, minlength=n))])
    deg = np.diff(ptr)
    nb = colors[src] if edge_colors is None else _pair(colors[src], edge_colors)
    if nb.size:
        if n * (int(nb.max()) + 1) > _MAX_KEY:
            nb = _rank(nb)
        base = int(nb.max()) + 1
        key = dst * base + nb
        key.sort(kind="stable")  # dst is sorted already, so this only sorts within runs
        nb = key - dst * base  # by receiver, then neighbour colour: each multiset in sorted order
    # Candidate classes from a hash of (own colour, multiset) ...
    prefix = np.concatenate([[np.uint64(0)], np.cumsum(_mix(nb.astype(np.uint64)), dtype=np.uint64)])
    own = _mix(colors.astype(np.uint64) ^ np.uint64(0x5851F42D4C957F2D))
    h = _mix((prefix[ptr[1:]] - prefix[ptr[:-1]]) ^ own)  # sum of entry hashes, mixed with own colour
    order = np.argsort(h)
    start = np.concatenate([[True], h[order[1:]] != h[order[:-1]]])
    cls = np.empty(n, dtype=np.int64)
    cls[order] = np.cumsum(start) - 1  # rank of the hash
    rep = order[np.flatnonzero(start)][cls]  # a representative of each hash class
    # ... kept only if every node has exactly the signature of its class representative.
    exact = np.array_equal(colors, colors[rep]) and np.array_equal(deg, deg[rep])
    if exact and nb.size:
        shift = ptr[rep] - ptr[:-1]  # from a node's first in-edge to its representative's
        exact = np.array_equal(nb, nb[np.arange(nb.size) + shift[dst]])
    if not exact:  # a hash collision (never seen, but possible): rank the multisets exactly
        cls = _name_sequences(nb, dst, deg, n) + 1  # exact names (-1 for none) shifted to >= 0
    return _rank(_pair(_pair(colors, deg), cls))  # ordered by colour, degree, class


def _prepare(graph, use_edge_attr, name="graph"):
    if not isinstance(graph, Graph):
        raise TypeError(f"`{name}` must be an mplib.Graph, got {type(graph).__name__}")
    if use_edge_attr and graph.edge_attr is None:
        raise ValueError(f"`use_edge_attr=True` but `{name}` has no edge_attr")
    ea = None
    if use_edge_attr:
        ea = graph.edge_attr.reshape(graph.num_edges, int(np.prod(graph.edge_attr.shape[1:])))
    return graph.x, graph.edge_index, graph.num_nodes, ea


def _run(x, edge_index, n, edge_attr, iterations):
    """History of colourings ``[c0, c1, ...]`` (see :func:`wl_history`)."""
    colors = np.zeros(n, dtype=np.int64) if x is None else _rank_rows(x)
    src, dst = edge_index
    order, ptr = group_by_segment(dst, n)  # edges sorted by receiver (counting sort)
    src, dst = src[order], dst[order]
    edge_colors = None if edge_attr is None else _rank_rows(edge_attr)[order]
    history = [colors]
    rounds = 0
    while iterations is None or rounds < iterations:
        new = _refine(history[-1], src, dst, ptr, edge_colors)
        rounds += 1
        if iterations is None and (n == 0 or new.max() == history[-1].max()):
            break  # no class was split: the partition is stable
        history.append(new)
    return history


def wl_history(graph, iterations=None, use_edge_attr=False):
    r"""The 1-WL colouring of every node after each round, starting with round 0.

    .. math::
        c_i^{(t+1)} = \operatorname{rank}\Big(c_i^{(t)},\
            \{\!\{ (e_{ji},\ c_j^{(t)}) : j \to i \}\!\}\Big)

    Parameters
    ----------
    graph : Graph
        Messages flow ``src -> dst``: a node sees the colours of its
        in-neighbours (both directions for an undirected graph). Parallel edges
        count with multiplicity.
    iterations : int or None, default None
        ``None``: refine until a round splits no colour class and return the
        colourings up to the stable one (that last, confirming round is not
        included). An int ``k``: exactly ``k`` rounds, even if the partition was
        stable earlier.
    use_edge_attr : bool, default False
        Also colour the edges by the rows of ``graph.edge_attr`` (equal rows,
        equal colour): a node then sees the multiset of pairs (edge colour,
        neighbour colour).

    Returns
    -------
    list of ndarray of int64, shape (N,)
        ``history[t]`` is the colouring after ``t`` rounds; ``history[0]`` comes
        from the rows of ``graph.x`` (equal rows, equal colour) or is all zeros.

    Raises
    ------
    TypeError
        If ``graph`` is not a :class:`~mplib.graph.Graph` or ``iterations`` is not an int.
    ValueError
        If ``iterations`` is negative, or ``use_edge_attr`` is set on a graph without ``edge_attr``.

    Examples
    --------
    The path 0 - 1 - 2 - 3: ends and middle split in round 1, then nothing changes.

    >>> g = Graph([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    >>> wl_history(g)
    [array([0, 0, 0, 0]), array([0, 1, 1, 0])]

    Notes
    -----
    Colours are canonical: they are computed from the colours alone, never
    from node ids, so relabelling the nodes permutes the colour array and
    nothing else. New colours are ordered by (old colour, in-degree, class), so
    ``c_old`` is a non-decreasing function of ``c_new``; beyond that the order
    carries no meaning.

    How a round is computed, without a loop over nodes: the edges are sorted by
    (receiver, neighbour colour), so every multiset becomes a sorted sequence.
    A 64-bit hash of (own colour, sequence) proposes the classes; then every
    node is compared, entry by entry, with one representative of its class.
    If a collision ever appears, the round falls back to an exact ranking
    (adjacent entries are paired and the pairs ranked with ``np.unique``,
    halving every sequence until each is one name). The result is exact
    either way; the check costs one pass over the edges.

    References
    ----------
    B. Weisfeiler and A. Leman, "The reduction of a graph to canonical form and
    the algebra which appears therein", NTI Series 2(9), 1968.
    C. Morris et al., "Weisfeiler and Leman go neural: higher-order graph neural
    networks", AAAI 2019.
    """
    if iterations is not None:
        iterations = check_int(iterations, "iterations")
    x, edge_index, n, ea = _prepare(graph, use_edge_attr)
    return _run(x, edge_index, n, ea, iterations)


def wl_colors(graph, iterations=None, use_edge_attr=False):
    r"""The 1-WL colour of every node after ``iterations`` rounds (default: until stable).

    .. math::
        c_i^{(t+1)} = \operatorname{rank}\Big(c_i^{(t)},\
            \{\!\{ c_j^{(t)} : j \to i \}\!\}\Big)

    Parameters
    ----------
    graph : Graph
        Colours start from the rows of ``graph.x`` (equal rows, equal colour),
        or all equal when ``graph.x`` is None.
    iterations : int or None, default None
        Number of rounds; ``None`` refines until the partition is stable.
    use_edge_attr : bool, default False
        Colour the edges by the rows of ``graph.edge_attr`` too.

    Returns
    -------
    ndarray of int64, shape (N,)
        Colour ids ``0..k-1``, the last entry of :func:`wl_history`.

    Raises
    ------
    TypeError, ValueError
        As :func:`wl_history`.

    Examples
    --------
    A star with centre 0: the centre and the leaves get different colours.

    >>> wl_colors(Graph([[1, 2, 3, 0, 0, 0], [0, 0, 0, 1, 2, 3]]))
    array([1, 0, 0, 0])

    Notes
    -----
    For a directed graph only in-neighbours are seen, so the result differs
    from networkx's ``weisfeiler_lehman_graph_hash``, which looks both ways.
    With ``x=None`` and ``k`` rounds, the partition equals that of networkx
    with ``iterations=k`` (networkx starts from degrees, which is round 1).

    References
    ----------
    B. Weisfeiler and A. Leman, NTI Series 2(9), 1968.
    K. Xu et al., "How powerful are graph neural networks?", ICLR 2019.
    """
    return wl_history(graph, iterations, use_edge_attr)[-1]


@dataclass
class WLResult:
    """Outcome of :func:`wl_test`.

    Attributes
    ----------
    distinguished : bool
        True if the colour histograms of the two graphs differ at some round.
    iteration : int or None
        The first round at which they differ (0: already the initial colours),
        None if they never do.
    rounds : int
        Number of rounds in the histories.
    history1, history2 : list of ndarray of int64
        Colourings of each graph after each round, in one shared vocabulary
        (a colour id means the same thing in both graphs).
    """

    distinguished: bool
    iteration: int | None
    rounds: int
    history1: list = field(repr=False)
    history2: list = field(repr=False)

    @property
    def colors1(self):
        """Final colouring of the first graph."""
        return self.history1[-1]

    @property
    def colors2(self):
        """Final colouring of the second graph."""
        return self.history2[-1]


def wl_test(g1, g2, iterations=None, use_edge_attr=False):
    r"""Run 1-WL on two graphs side by side and compare their colour histograms.

    .. math::
        G_1 \not\simeq_{\mathrm{WL}} G_2 \iff \exists t:\
        \{\!\{ c_i^{(t)} : i \in V_1 \}\!\} \neq \{\!\{ c_i^{(t)} : i \in V_2 \}\!\}

    Both graphs are refined as one disjoint union, so that colours mean the
    same thing in both.

    Parameters
    ----------
    g1, g2 : Graph
        Either both or neither have node features ``x`` (same number of columns).
    iterations : int or None, default None
        ``None``: refine until the joint partition is stable (then the
        histograms never change again). An int: exactly that many rounds.
    use_edge_attr : bool, default False
        Colour the edges by the rows of ``edge_attr`` (both graphs need it).

    Returns
    -------
    WLResult
        ``distinguished``, ``iteration`` (first separating round), ``rounds``
        and the histories of both graphs.

    Raises
    ------
    TypeError
        If ``g1`` or ``g2`` is not a Graph.
    ValueError
        If only one graph has node (or edge) features, their widths differ, or
        ``iterations`` is negative.

    Examples
    --------
    A path on 3 nodes and a triangle: the degrees differ after one round.

    >>> path = Graph([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> triangle = Graph([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]])
    >>> wl_test(path, triangle)
    WLResult(distinguished=True, iteration=1, rounds=2)

    Notes
    -----
    "Not distinguished" does not mean isomorphic: the 6-cycle and two
    triangles, or :math:`K_{3,3}` and the triangular prism, look the same to
    1-WL (every node has two, resp. three, neighbours of the same colour).

    References
    ----------
    B. Weisfeiler and A. Leman, NTI Series 2(9), 1968.
    K. Xu et al., "How powerful are graph neural networks?", ICLR 2019.
    """
    if iterations is not None:
        iterations = check_int(iterations, "iterations")
    x1, e1, n1, a1 = _prepare(g1, use_edge_attr, "g1")
    x2, e2, n2, a2 = _prepare(g2, use_edge_attr, "g2")
    if (x1 is None) != (x2 is None):
        raise ValueError("`g1` and `g2` must both have node features `x` or both have none")
    if x1 is not None and x1.shape[1] != x2.shape[1]:
        raise ValueError(f"`g1.x` has {x1.shape[1]} columns but `g2.x` has {x2.shape[1]}")
    if a1 is not None and a1.shape[1] != a2.shape[1]:
        raise ValueError(f"`g1.edge_attr` has {a1.shape[1]} columns but `g2.edge_attr` has {a2.shape[1]}")
    x = None if x1 is None else np.concatenate([x1, x2])
    ea = None if a1 is None else np.concatenate([a1, a2])
    history = _run(x, np.concatenate([e1, e2 + n1], axis=1), n1 + n2, ea, iterations)
    iteration = None
    for t, colors in enumerate(history):
        k = int(colors.max()) + 1 if colors.size else 0
        if not np.array_equal(np.bincount(colors[:n1], minlength=k), np.bincount(colors[n1:], minlength=k)):
            iteration = t
            break
    return WLResult(
        distinguished=iteration is not None,
        iteration=iteration,
        rounds=len(history) - 1,
        history1=[c[:n1] for c in history],
        history2=[c[n1:] for c in history],
    )
