r"""Vision data as graphs: images as pixel grids, point clouds as k-nearest-neighbour graphs.

An image becomes a grid graph whose nodes are pixels (node ``r * W + c`` is row
``r``, column ``c``) and whose edge features record where the sender sits
relative to the receiver; a point cloud becomes a graph by joining each point
to its ``k`` nearest neighbours. Two small generators (seven-segment digits,
points on a circle or a square outline) give the book images and clouds
without downloading a data set.
"""

import numpy as np
from scipy.spatial import cKDTree

from ._validate import check_features, check_int, check_rng
from .generators import grid_graph
from .graph import Graph

__all__ = ["image_to_graph", "knn_graph", "digit_image", "outline_points"]

# Segments of a seven-segment display, and the digits that light them.
_SEGMENTS = {0: "abcdef", 1: "bc", 2: "abdeg", 3: "abcdg", 4: "bcfg",
             5: "acdfg", 6: "acdefg", 7: "abc", 8: "abcdefg", 9: "abcdfg"}
_OUTLINES = ("circle", "square")


def image_to_graph(image, connectivity=4, periodic=False):
    r"""The grid graph of an image: one node per pixel, edges between touching pixels.

    .. math::
        j \to i \iff (r_j - r_i,\ c_j - c_i) \in
        \{(\pm 1, 0), (0, \pm 1)\}\ (\cup \{(\pm 1, \pm 1)\} \text{ if 8-connected}),
        \qquad e_{ji} = (r_j - r_i,\ c_j - c_i)

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Pixel intensities (C channels).
    connectivity : {4, 8}, default 4
        4: horizontal and vertical neighbours; 8: diagonal neighbours too.
    periodic : bool, default False
        Wrap around the borders (a torus); needs ``H, W >= 3``.

    Returns
    -------
    Graph
        ``num_nodes = H * W``; node ``r * W + c`` is pixel ``(r, c)`` (row-major,
        as :func:`~mplib.generators.grid_graph`). ``x`` has shape ``(H * W, C)``
        (``C = 1`` for a 2-D image); ``edge_attr`` has shape ``(E, 2)`` and holds
        the offset ``(dr, dc)`` of the sender from the receiver, each in
        ``{-1, 0, 1}`` (across a periodic border the wrapped offset). Both
        directions of every edge are stored, sorted by ``(source, target)``;
        there are no self-loops.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D or 3-D, is empty or has non-finite values, if
        ``connectivity`` is not 4 or 8, or if ``periodic`` and ``H`` or ``W`` < 3.
    TypeError
        If ``image`` is not numeric or ``periodic`` is not a bool.

    Examples
    --------
    >>> g = image_to_graph(np.arange(4.0).reshape(2, 2))
    >>> g.edge_index
    array([[0, 0, 1, 1, 2, 2, 3, 3],
           [1, 2, 0, 3, 0, 3, 1, 2]])
    >>> g.edge_attr[:2]  # edge 0 -> 1: the sender sits one column left of the receiver
    array([[ 0., -1.],
           [-1.,  0.]])

    Notes
    -----
    Zero padding corresponds to the missing edges at the border: a border pixel
    simply has fewer senders. With the offsets as edge features a message
    function :math:`\psi(x_j, e_{ji}) = K[e_{ji}]\, x_j` plus the centre tap
    reproduces a 3x3 cross-correlation exactly.

    References
    ----------
    M. M. Bronstein, J. Bruna, T. Cohen and P. Veličković, "Geometric Deep
    Learning: Grids, Groups, Graphs, Geodesics, and Gauges", arXiv:2104.13478, 2021.
    """
    image = check_features(image, name="image", ndim=None)
    if image.ndim not in (2, 3):
        raise ValueError(f"`image` must have shape (H, W) or (H, W, C), got shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"`image` must have at least one pixel, got shape {image.shape}")
    if connectivity not in (4, 8) or isinstance(connectivity, bool):
        raise ValueError(f"`connectivity` must be 4 or 8, got {connectivity!r}")
    if not isinstance(periodic, (bool, np.bool_)):
        raise TypeError(f"`periodic` must be a bool, got {type(periodic).__name__}")
    rows, cols = image.shape[:2]
    if periodic and min(rows, cols) < 3:
        raise ValueError(f"`periodic=True` needs an image of at least 3 x 3 pixels, got {rows} x {cols}")
    edge_index = grid_graph(rows, cols, periodic=bool(periodic)).edge_index
    if connectivity == 8:
        ids = np.arange(rows * cols).reshape(rows, cols)
        if periodic:
            below = np.roll(ids, -1, axis=0)
            diag = [(ids, np.roll(below, -1, axis=1)), (ids, np.roll(below, 1, axis=1))]
        else:
            diag = [(ids[:-1, :-1], ids[1:, 1:]), (ids[:-1, 1:], ids[1:, :-1])]
        ends = [a.ravel() for a, _ in diag], [b.ravel() for _, b in diag]
        src = np.concatenate([edge_index[0], *ends[0], *ends[1]])  # diagonals in both directions
        dst = np.concatenate([edge_index[1], *ends[1], *ends[0]])
        keys = np.sort(src * (rows * cols) + dst)  # no duplicates by construction; a sort is
        edge_index = np.stack([keys // (rows * cols), keys % (rows * cols)])  # far cheaper than np.unique
    src, dst = edge_index
    offset = np.stack([src // cols - dst // cols, src % cols - dst % cols], axis=1)
    if periodic:
        offset = (offset + 1) % np.array([rows, cols]) - 1  # a wrap-around step is still +-1
    x = image.reshape(rows * cols, -1)
    return Graph(edge_index, num_nodes=rows * cols, x=x, edge_attr=offset.astype(np.float64))


def knn_graph(pos, k, loop=False):
    r"""The k-nearest-neighbour graph of a point cloud: each point receives from its ``k`` nearest.

    .. math::
        j \to i \iff j \in \operatorname{kNN}(i), \qquad
        \operatorname{kNN}(i) = \text{the } k \text{ points closest to } x_i
        \text{ (Euclidean)}, \text{ excluding } i \text{ unless } \texttt{loop}

    Parameters
    ----------
    pos : array_like, shape (N, D)
        Point coordinates.
    k : int
        Neighbours per point, ``1 <= k <= N - 1`` (``<= N`` with ``loop``).
    loop : bool, default False
        Count the point itself as one of its ``k`` neighbours (a self-loop).

    Returns
    -------
    ndarray of int64, shape (2, N * k)
        Column ``i * k + m`` is the edge ``j -> i`` from the ``m``-th nearest
        neighbour ``j`` of ``i`` (row 0 the neighbours, row 1 the centres), as
        PyG's ``knn_graph`` with ``flow="source_to_target"``. The graph is
        directed: ``j`` may be among the nearest of ``i`` but not vice versa.

    Raises
    ------
    ValueError
        If ``pos`` is not 2-D, is empty or has non-finite values, or ``k`` is out of range.
    TypeError
        If ``k`` is not an integer or ``loop`` not a bool.

    Examples
    --------
    >>> knn_graph([[0.0], [1.0], [3.0]], k=1)
    array([[1, 0, 1],
           [0, 1, 2]])

    Notes
    -----
    Uses :class:`scipy.spatial.cKDTree` (:math:`O(N \log N)` to build). Ties
    between equally distant neighbours are broken by the tree, so on points
    with ties (a regular grid) another library may pick another neighbour.
    With ``loop=False`` and duplicated points, a point's own index is removed
    from its list; a copy at distance 0 stays a neighbour.

    References
    ----------
    Y. Wang et al., "Dynamic Graph CNN for Learning on Point Clouds", ACM TOG 38(5), 2019.
    """
    pos = check_features(pos, name="pos")
    n = pos.shape[0]
    if n == 0:
        raise ValueError("`pos` must hold at least one point, got shape (0, ...)")
    if not isinstance(loop, (bool, np.bool_)):
        raise TypeError(f"`loop` must be a bool, got {type(loop).__name__}")
    k = check_int(k, "k", minimum=1)
    most = n if loop else n - 1
    if k > most:
        raise ValueError(f"`k` must be <= {most} for {n} points (loop={bool(loop)}), got {k}")
    extra = 0 if loop else 1
    _, idx = cKDTree(pos).query(pos, k=list(range(1, k + extra + 1)))
    idx = np.asarray(idx, dtype=np.int64).reshape(n, k + extra)
    if not loop:
        own = idx == np.arange(n)[:, None]
        own[~own.any(axis=1), -1] = True  # self not listed (duplicates): drop the farthest
        idx = idx[~own].reshape(n, k)
    return np.stack([idx.ravel(), np.repeat(np.arange(n, dtype=np.int64), k)])


def digit_image(digit, height=7, width=5, thickness=1, pad=1):
    """A seven-segment rendering of a digit as a 0/1 image.

    Parameters
    ----------
    digit : int
        0 to 9.
    height, width : int, default 7, 5
        Size of the digit without padding; ``height >= 3 * thickness + 2`` and
        ``width >= 2 * thickness + 1``.
    thickness : int, default 1
        Stroke width in pixels.
    pad : int, default 1
        Rows and columns of zeros added on every side.

    Returns
    -------
    ndarray of float64, shape (height + 2 * pad, width + 2 * pad)
        1 on the lit segments, 0 elsewhere.

    Raises
    ------
    ValueError
        If ``digit`` is not in 0..9 or the sizes are too small.
    TypeError
        If an argument is not an integer.

    Examples
    --------
    >>> digit_image(7, height=5, width=3, pad=0).astype(int)
    array([[1, 1, 1],
           [0, 0, 1],
           [0, 0, 1],
           [0, 0, 1],
           [0, 0, 1]])
    """
    digit = check_int(digit, "digit")
    if digit > 9:
        raise ValueError(f"`digit` must be in 0..9, got {digit}")
    t = check_int(thickness, "thickness", minimum=1)
    h = check_int(height, "height", minimum=3 * t + 2)
    w = check_int(width, "width", minimum=2 * t + 1)
    pad = check_int(pad, "pad")
    mid = (h - t) // 2  # first row of the middle bar
    img = np.zeros((h, w))
    parts = {"a": (slice(0, t), slice(None)), "g": (slice(mid, mid + t), slice(None)),
             "d": (slice(h - t, h), slice(None)),
             "f": (slice(0, mid + t), slice(0, t)), "b": (slice(0, mid + t), slice(w - t, w)),
             "e": (slice(mid, h), slice(0, t)), "c": (slice(mid, h), slice(w - t, w))}
    for seg in _SEGMENTS[digit]:
        img[parts[seg]] = 1.0
    return np.pad(img, pad)


def outline_points(shape, num_points, rng=None, noise=0.0):
    r"""Points drawn uniformly along the outline of a circle or a square, plus Gaussian noise.

    .. math::
        x = p(s) + \sigma \varepsilon, \qquad s \sim \mathcal U[0, L), \quad
        \varepsilon \sim \mathcal N(0, I_2)

    with :math:`p(s)` the point at arc length :math:`s` of the outline (length
    :math:`L`): the unit circle, or the square :math:`[-1, 1]^2` (the circle's
    circumscribed square).

    Parameters
    ----------
    shape : {"circle", "square"}
    num_points : int
        At least 1.
    rng : numpy.random.Generator, int or None
    noise : float, default 0.0
        Standard deviation :math:`\sigma` of the noise, >= 0.

    Returns
    -------
    ndarray of float64, shape (num_points, 2)

    Raises
    ------
    ValueError
        If ``shape`` is unknown, ``num_points < 1`` or ``noise`` is negative or not finite.
    TypeError
        If ``num_points`` is not an integer or ``rng`` is not a Generator, int or None.

    Examples
    --------
    >>> pts = outline_points("square", 4, rng=0)
    >>> bool(np.all(np.isclose(np.abs(pts).max(axis=1), 1.0)))
    True
    """
    if shape not in _OUTLINES:
        raise ValueError(f"`shape` must be one of {_OUTLINES}, got {shape!r}")
    num_points = check_int(num_points, "num_points", minimum=1)
    rng = check_rng(rng)
    if isinstance(noise, (bool, np.bool_)) or not np.isscalar(noise) or not np.isreal(noise) \
            or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"`noise` must be a finite number >= 0, got {noise!r}")
    s = rng.uniform(0.0, 1.0, num_points)  # fraction of the perimeter
    if shape == "circle":
        pts = np.stack([np.cos(2 * np.pi * s), np.sin(2 * np.pi * s)], axis=1)
    else:
        side, u = np.divmod(4.0 * s, 1.0)  # which side (0..3) and where on it
        t = 2.0 * u - 1.0
        one = np.ones_like(t)
        corners = {0: (t, -one), 1: (one, t), 2: (-t, one), 3: (-one, -t)}
        pts = np.zeros((num_points, 2))
        for k, (a, b) in corners.items():
            on = side == k
            pts[on] = np.stack([a[on], b[on]], axis=1)
    return pts + float(noise) * rng.standard_normal((num_points, 2))
