r"""The graphs the book talks about, built directly as :class:`~mplib.graph.Graph`.

Every generator returns an undirected graph stored the mplib way: each edge
once in each direction, columns sorted by ``(source, target)`` exactly as
:func:`~mplib.graph.to_undirected` sorts them. Where networkx has a generator
of the same name the node numbering is the same, so ``from_networkx(nx.f(...))``
gives an identical ``edge_index``. Random generators take ``rng`` (a numpy
``Generator``, an int seed or None) and nothing else random.
"""

import numpy as np

from ._validate import check_int, check_rng
from .graph import Graph, to_undirected

__all__ = [
    "cycle_graph", "path_graph", "complete_graph", "star_graph", "grid_graph", "grid_positions",
    "tree", "barbell_graph", "complete_bipartite_graph", "two_triangles", "k33",
    "triangular_prism", "wl_pairs", "heterophilous_graph", "random_graph", "contextual_sbm",
]


def _graph(src, dst, num_nodes, **data):
    """Undirected Graph from one direction of each edge (self-loops dropped)."""
    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    keep = src != dst
    edge_index = to_undirected(np.stack([src[keep], dst[keep]]), num_nodes=num_nodes)
    return Graph(edge_index, num_nodes=num_nodes, **data)


def _pairs(nodes):
    """All pairs ``u < v`` of a 1-D array of node ids, as ``(u, v)``."""
    u, v = np.triu_indices(len(nodes), k=1)
    return nodes[u], nodes[v]


def _real(value, name, high=np.inf):
    """Return ``value`` as a float in ``[0, high]``, or raise naming ``name``."""
    want = "in [0, 1]" if high == 1 else ">= 0"
    if isinstance(value, (bool, np.bool_)) or not np.isscalar(value) or not np.isreal(value):
        raise TypeError(f"`{name}` must be a real number {want}, got {value!r}")
    if not (np.isfinite(value) and 0 <= value <= high):
        raise ValueError(f"`{name}` must be a finite number {want}, got {value}")
    return float(value)


def cycle_graph(n):
    """The cycle :math:`C_n`: node ``k`` joined to ``k + 1 (mod n)``; 2-regular.

    Raises ``ValueError`` if ``n < 3`` (smaller cycles would need a self-loop
    or a double edge). Same numbering as ``networkx.cycle_graph``.

    >>> cycle_graph(4).edge_index
    array([[0, 0, 1, 1, 2, 2, 3, 3],
           [1, 3, 0, 2, 1, 3, 0, 2]])
    """
    n = check_int(n, "n", minimum=3)
    k = np.arange(n)
    return _graph(k, (k + 1) % n, n)


def path_graph(n):
    """The path :math:`P_n` ``0 - 1 - ... - (n-1)`` (``n >= 1`` nodes, ``n - 1`` edges).

    >>> path_graph(3).edge_index
    array([[0, 1, 1, 2],
           [1, 0, 2, 1]])
    """
    n = check_int(n, "n", minimum=1)
    k = np.arange(n - 1)
    return _graph(k, k + 1, n)


def complete_graph(n):
    """The complete graph :math:`K_n` (``n >= 1``): every pair of nodes joined.

    >>> complete_graph(4).num_edges  # 6 edges, both directions
    12
    """
    n = check_int(n, "n", minimum=1)
    return _graph(*_pairs(np.arange(n)), n)


def star_graph(n):
    """A star with centre ``0`` and ``n`` leaves ``1..n`` (``n + 1`` nodes, as networkx).

    >>> star_graph(3).degree()
    array([3, 1, 1, 1])
    """
    n = check_int(n, "n", minimum=0)
    return _graph(np.zeros(n, dtype=np.int64), np.arange(1, n + 1), n + 1)


def grid_graph(rows, cols, periodic=False):
    """The ``rows x cols`` grid; node ``r * cols + c`` sits in row ``r``, column ``c``.

    With ``periodic=True`` the grid wraps around into a torus (every node has
    degree 4), which needs ``rows, cols >= 3``. The numbering is networkx's
    ``grid_2d_graph`` node order; :func:`grid_positions` gives matching
    coordinates for drawing.

    Raises
    ------
    ValueError
        If ``rows`` or ``cols`` is below 1 (below 3 when ``periodic``).

    >>> g = grid_graph(2, 3)
    >>> g.num_nodes, g.num_edges // 2, g.degree().tolist()
    (6, 7, [2, 3, 2, 2, 3, 2])
    """
    low = 3 if periodic else 1
    rows, cols = check_int(rows, "rows", minimum=low), check_int(cols, "cols", minimum=low)
    ids = np.arange(rows * cols).reshape(rows, cols)
    right = (ids, np.roll(ids, -1, axis=1)) if periodic else (ids[:, :-1], ids[:, 1:])
    down = (ids, np.roll(ids, -1, axis=0)) if periodic else (ids[:-1], ids[1:])
    src = np.concatenate([right[0].ravel(), down[0].ravel()])
    dst = np.concatenate([right[1].ravel(), down[1].ravel()])
    return _graph(src, dst, rows * cols)


def grid_positions(rows, cols):
    """Coordinates ``(c, -r)`` of the nodes of :func:`grid_graph`, shape ``(rows * cols, 2)``.

    >>> grid_positions(2, 2).tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, -1.0], [1.0, -1.0]]
    """
    rows, cols = check_int(rows, "rows", minimum=1), check_int(cols, "cols", minimum=1)
    r, c = np.divmod(np.arange(rows * cols), cols)
    return np.stack([c, -r], axis=1).astype(float) + 0.0  # + 0.0 turns -0.0 into 0.0


def tree(branching, depth):
    r"""The balanced tree: root ``0``, every internal node has ``branching`` children.

    Nodes are numbered level by level (breadth first), as ``networkx.balanced_tree``:
    the parent of node ``k >= 1`` is :math:`\lfloor (k - 1) / b \rfloor`, and the
    leaves are the last :math:`b^{d}` nodes. Tree-NeighborsMatch style tasks put
    the information at the leaves and ask the root for it.

    Parameters
    ----------
    branching : int
        Number of children ``b >= 1`` of each internal node.
    depth : int
        Distance ``d >= 0`` from the root to every leaf.

    Returns
    -------
    Graph
        With :math:`\sum_{l=0}^{d} b^l` nodes.

    >>> tree(2, 2).edge_index[:, :4]
    array([[0, 0, 1, 1],
           [1, 2, 0, 3]])
    """
    b, d = check_int(branching, "branching", minimum=1), check_int(depth, "depth", minimum=0)
    n = sum(b**level for level in range(d + 1))
    child = np.arange(1, n)
    return _graph((child - 1) // b, child, n)


def barbell_graph(clique_size, path_length):
    """Two cliques :math:`K_m` joined by a path: the book's over-squashing bottleneck.

    Numbered as ``networkx.barbell_graph(m, L)``: the left clique is ``0..m-1``,
    the path nodes are ``m..m+L-1`` and the right clique is ``m+L..2m+L-1``.
    The bridge ends are node ``m - 1`` (left) and node ``m + L`` (right); they are
    joined by ``L + 1`` edges (a single edge when ``path_length == 0``).

    Parameters
    ----------
    clique_size : int
        Size ``m >= 2`` of each clique.
    path_length : int
        Number ``L >= 0`` of nodes on the path between the cliques.

    >>> g = barbell_graph(3, 1)   # 0,1,2 = K3; 3 = path; 4,5,6 = K3
    >>> g.num_nodes, g.degree().tolist()
    (7, [2, 2, 3, 2, 3, 2, 2])
    """
    m = check_int(clique_size, "clique_size", minimum=2)
    L = check_int(path_length, "path_length", minimum=0)
    left, right = _pairs(np.arange(m)), _pairs(np.arange(m + L, 2 * m + L))
    chain = np.arange(m - 1, m + L)  # m-1 -> m -> ... -> m+L
    src = np.concatenate([left[0], right[0], chain])
    dst = np.concatenate([left[1], right[1], chain + 1])
    return _graph(src, dst, 2 * m + L)


def complete_bipartite_graph(m, n):
    """:math:`K_{m,n}`: nodes ``0..m-1`` each joined to every node of ``m..m+n-1``.

    ``y`` holds the side of each node (0 or 1). Same numbering as networkx.

    >>> g = complete_bipartite_graph(2, 3)
    >>> g.degree().tolist(), g.y.tolist()
    ([3, 3, 2, 2, 2], [0, 0, 1, 1, 1])
    """
    m, n = check_int(m, "m", minimum=1), check_int(n, "n", minimum=1)
    u, v = np.meshgrid(np.arange(m), np.arange(m, m + n), indexing="ij")
    return _graph(u.ravel(), v.ravel(), m + n, y=np.repeat([0, 1], [m, n]))


def two_triangles():
    """:math:`C_3 \\cup C_3`: triangles ``0,1,2`` and ``3,4,5``; 2-regular like :math:`C_6`.

    >>> two_triangles().degree().tolist()
    [2, 2, 2, 2, 2, 2]
    """
    return _graph([0, 1, 2, 3, 4, 5], [1, 2, 0, 4, 5, 3], 6)


def k33():
    """:math:`K_{3,3}`: sides ``0,1,2`` and ``3,4,5``; 3-regular, no triangle.

    >>> k33().num_edges // 2
    9
    """
    return complete_bipartite_graph(3, 3)


def triangular_prism():
    """The prism: triangles ``0,1,2`` and ``3,4,5`` with rungs ``k - (k + 3)``; 3-regular.

    Same numbering as ``networkx.circular_ladder_graph(3)``.

    >>> triangular_prism().degree().tolist()
    [3, 3, 3, 3, 3, 3]
    """
    return _graph([0, 1, 2, 3, 4, 5, 0, 1, 2], [1, 2, 0, 4, 5, 3, 3, 4, 5], 6)


def wl_pairs():
    """The book's pairs of non-isomorphic graphs that 1-WL cannot tell apart.

    Returns
    -------
    dict of str -> (Graph, Graph)
        ``"C6 vs 2xC3"``: :math:`C_6` and :math:`C_3 \\cup C_3` (both 2-regular,
        6 nodes); ``"K3,3 vs prism"``: :math:`K_{3,3}` and the triangular prism
        (both 3-regular, 6 nodes, 9 edges). In each pair every node has the same
        degree, so colour refinement never splits the initial colour.

    >>> sorted(wl_pairs())
    ['C6 vs 2xC3', 'K3,3 vs prism']
    """
    return {"C6 vs 2xC3": (cycle_graph(6), two_triangles()), "K3,3 vs prism": (k33(), triangular_prism())}


def heterophilous_graph(num_per_class, p=1.0, rng=None):
    r"""A perfectly heterophilous two-class graph: every edge joins the two classes.

    Nodes ``0..n-1`` are class 0 with feature :math:`+1`, nodes ``n..2n-1`` class 1
    with feature :math:`-1`; each cross pair is an edge with probability ``p``
    (``p = 1`` gives :math:`K_{n,n}`). Mixing a node with the mean of its
    neighbours,

    .. math:: h_i' = (1 - \alpha)\, x_i + \alpha \operatorname{mean}_{j \in N(i)} x_j = (1 - 2\alpha)\, x_i,

    shrinks the signal, kills it at :math:`\alpha = 1/2` and flips it beyond.

    Parameters
    ----------
    num_per_class : int
        Nodes per class ``n >= 1``.
    p : float in [0, 1], default 1.0
        Probability of each cross-class edge.
    rng : numpy.random.Generator, int or None
        Only used when ``p < 1``.

    Returns
    -------
    Graph
        ``x`` of shape ``(2n, 1)`` holding :math:`\pm 1`, ``y`` of shape ``(2n,)``.

    Notes
    -----
    With ``p < 1`` a node may end up isolated; its neighbour mean is then 0 and
    the factor above becomes :math:`1 - \alpha` for that node.

    >>> g = heterophilous_graph(2)
    >>> g.x.ravel().tolist(), g.y.tolist(), g.num_edges
    ([1.0, 1.0, -1.0, -1.0], [0, 0, 1, 1], 8)
    """
    n = check_int(num_per_class, "num_per_class", minimum=1)
    p = _real(p, "p", 1)
    rng = check_rng(rng)
    u, v = np.meshgrid(np.arange(n), np.arange(n, 2 * n), indexing="ij")
    keep = np.ones(n * n, dtype=bool) if p == 1.0 else rng.random(n * n) < p
    y = np.repeat([0, 1], n)
    return _graph(u.ravel()[keep], v.ravel()[keep], 2 * n, x=(1.0 - 2.0 * y)[:, None], y=y)


def _unrank_pairs(k):
    """Map pair numbers ``k`` to pairs ``(i, j)``, ``j < i``, with ``k = i (i - 1) / 2 + j``."""
    i = np.floor((1.0 + np.sqrt(1.0 + 8.0 * k)) / 2.0).astype(np.int64)
    i = np.where(i * (i - 1) // 2 > k, i - 1, i)  # guard against rounding
    i = np.where((i + 1) * i // 2 <= k, i + 1, i)
    return i, k - i * (i - 1) // 2


def random_graph(num_nodes, p=None, num_edges=None, rng=None):
    r"""An Erdős–Rényi graph: :math:`G(n, p)` or, with ``num_edges``, :math:`G(n, M)`.

    Draws the number of edges :math:`M \sim \operatorname{Binomial}(\binom{n}{2}, p)`
    (or takes ``num_edges``), then ``M`` distinct node pairs uniformly at random,
    so the cost grows with the number of edges, not with :math:`n^2`.

    Parameters
    ----------
    num_nodes : int
    p : float in [0, 1], optional
        Probability of each edge. Give exactly one of ``p`` and ``num_edges``.
    num_edges : int, optional
        Exact number of undirected edges, at most :math:`\binom{n}{2}`.
    rng : numpy.random.Generator, int or None

    Raises
    ------
    ValueError
        If both or neither of ``p`` and ``num_edges`` are given, ``p`` is outside
        [0, 1], or ``num_edges`` exceeds the number of node pairs.

    >>> g = random_graph(10, num_edges=12, rng=0)
    >>> g.num_nodes, g.num_edges
    (10, 24)
    """
    n = check_int(num_nodes, "num_nodes", minimum=0)
    if (p is None) == (num_edges is None):
        raise ValueError("give exactly one of `p` and `num_edges`")
    rng = check_rng(rng)
    total = n * (n - 1) // 2
    if num_edges is None:
        m = int(rng.binomial(total, _real(p, "p", 1)))
    else:
        m = check_int(num_edges, "num_edges", minimum=0)
        if m > total:
            raise ValueError(f"`num_edges` must be at most n(n-1)/2 = {total} for {n} nodes, got {m}")
    i, j = _unrank_pairs(rng.choice(total, size=m, replace=False))
    return _graph(j, i, n)


def contextual_sbm(num_nodes, num_classes=2, avg_degree=5.0, homophily=0.8, feature_dim=2,
                   mu=1.0, rng=None):
    r"""A contextual stochastic block model with a homophily knob (Deshpande et al., 2018).

    Node labels are balanced (class sizes differ by at most one) and shuffled.
    The number of undirected edges is :math:`M \sim \operatorname{Poisson}(N \bar d / 2)`;
    each edge picks a uniform endpoint :math:`u`, then with probability ``h`` a
    uniform partner in the class of :math:`u` and otherwise a uniform partner in
    another class, so the edge homophily (the share of edges inside a class) is
    ``h`` in expectation. Features are a class mean plus standard Gaussian noise:

    .. math:: x_v = \mu\, q_{y_v} + \varepsilon_v, \qquad \varepsilon_v \sim \mathcal N(0, I_F),

    where the :math:`q_c` are orthonormal random directions (for two classes
    :math:`q_1 = -q_0`, the symmetric model of the paper), so ``mu`` is the
    distance of each mean from the origin in units of the noise.

    Parameters
    ----------
    num_nodes : int
        Number of nodes ``N >= num_classes``.
    num_classes : int, default 2
        Number of classes ``C >= 2``.
    avg_degree : float, default 5.0
        Expected mean degree :math:`\bar d` (slightly less is realised, as the
        rare repeated pairs are merged).
    homophily : float in [0, 1], default 0.8
        ``h``: 1 keeps edges inside classes, 0 makes every edge cross classes,
        ``1 / C`` is about as homophilous as an Erdős–Rényi graph.
    feature_dim : int, default 2
        ``F >= 1``; must be at least ``C`` when ``C > 2``.
    mu : float, default 1.0
        Signal strength, the norm of each class mean (0 gives pure noise).
    rng : numpy.random.Generator, int or None

    Returns
    -------
    Graph
        ``x`` of shape ``(N, F)``, ``y`` int64 of shape ``(N,)``.

    Raises
    ------
    ValueError
        If a size is too small, ``homophily`` is outside [0, 1], ``avg_degree``
        or ``mu`` is negative, or ``feature_dim < num_classes`` with ``C > 2``.

    Notes
    -----
    Self-loops are never drawn; a same-class edge from a class of one node is
    dropped.

    References
    ----------
    Y. Deshpande, A. Montanari, E. Mossel, S. Sen, "Contextual stochastic block
    models", NeurIPS 2018.

    >>> g = contextual_sbm(100, homophily=0.9, rng=0)
    >>> g.x.shape, np.bincount(g.y).tolist()
    ((100, 2), [50, 50])
    """
    n = check_int(num_nodes, "num_nodes", minimum=1)
    c = check_int(num_classes, "num_classes", minimum=2)
    if n < c:
        raise ValueError(f"`num_nodes` must be >= `num_classes` ({c}), got {n}")
    d = _real(avg_degree, "avg_degree")
    h = _real(homophily, "homophily", 1)
    f = check_int(feature_dim, "feature_dim", minimum=1)
    if c > 2 and f < c:
        raise ValueError(f"`feature_dim` must be >= `num_classes` ({c}) when there are more than 2 classes, got {f}")
    mu = _real(mu, "mu")
    rng = check_rng(rng)
    y = rng.permutation(np.arange(n) % c)
    order = np.argsort(y, kind="stable")  # nodes grouped by class
    where = np.empty(n, dtype=np.int64)
    where[order] = np.arange(n)  # position of each node in `order`
    size = np.bincount(y, minlength=c)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])

    m = int(rng.poisson(n * d / 2.0))
    u = rng.integers(0, n, m)
    cu, pu = y[u], where[u]
    same = rng.random(m) < h
    # Same class, not u itself: a uniform slot among size - 1, skipping u's slot.
    slot_in = start[cu] + rng.integers(0, np.maximum(size[cu] - 1, 1))
    slot_in = slot_in + (slot_in >= pu)
    # Another class: a uniform slot among the n - size slots outside u's class block.
    slot_out = rng.integers(0, n - size[cu])
    slot_out = slot_out + size[cu] * (slot_out >= start[cu])
    keep = ~same | (size[cu] > 1)
    v = order[np.minimum(np.where(same, slot_in, slot_out), n - 1)]

    if c == 2:
        q = rng.standard_normal(f)
        means = np.stack([q, -q]) / np.linalg.norm(q)
    else:
        means = np.linalg.qr(rng.standard_normal((f, c)))[0].T
    x = mu * means[y] + rng.standard_normal((n, f))
    return _graph(u[keep], v[keep], n, x=x, y=y.astype(np.int64))
