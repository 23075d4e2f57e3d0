"""Drawing helpers that give every figure of the book the same look.

:func:`use_style` applies the house style (``mplib.mplstyle``, shipped with the
package): colour-blind-safe colours (Okabe–Ito for categories, viridis for
sequential values, ``RdBu`` for signed values such as curvature), transparent
backgrounds and mid-grey ink, so a figure reads on the light and on the dark
page theme. :func:`draw_graph` draws a :class:`~mplib.graph.Graph` with
matplotlib alone; :func:`layout` gives deterministic node positions;
:func:`draw_wl_refinement` shows colour refinement round by round.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, to_rgba, to_rgba_array
from matplotlib.patches import FancyArrowPatch

from ._validate import check_features, check_int
from .graph import Graph, to_networkx

__all__ = ["OKABE_ITO", "STYLE_PATH", "use_style", "categorical_colors", "layout", "draw_graph",
           "draw_wl_refinement"]

#: Okabe–Ito colours for categories, black left out (it vanishes on a dark page).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#999999")
#: Path of the style file applied by :func:`use_style`.
STYLE_PATH = Path(__file__).with_name("mplib.mplstyle")
INK = "#808080"  # text and edges: contrast about 4:1 on white and on near-black
SEQUENTIAL, DIVERGING = "viridis", "RdBu"
LAYOUTS = ("auto", "spring", "kamada_kawai", "circular", "shell", "spectral", "grid", "bfs")


def use_style():
    """Apply the book's matplotlib style (``mplib/mplib.mplstyle``) to all later figures.

    >>> import matplotlib as mpl
    >>> with mpl.rc_context():  # a context keeps the doctest from changing global state
    ...     use_style()
    ...     mpl.rcParams["figure.facecolor"]
    'none'
    """
    plt.style.use(STYLE_PATH)


def categorical_colors(values, categories=None):
    """RGBA colour of each value: the ``k``-th category gets palette colour ``k``.

    Parameters
    ----------
    values : array_like of int, shape (N,)
        Category of each item, e.g. WL colours or class labels.
    categories : array_like, optional
        All categories in palette order (default: the sorted distinct ``values``).
        Pass the same list to several plots to make their colours agree.

    Returns
    -------
    ndarray of shape (N, 4)
        Okabe–Ito colours for up to 8 categories; beyond that, evenly spaced
        viridis colours (distinct, but no longer colour-blind safe).

    Raises
    ------
    ValueError
        If a value is not among ``categories``.

    >>> categorical_colors([5, 2, 5])[:, :3].round(2).tolist()
    [[0.9, 0.62, 0.0], [0.0, 0.45, 0.7], [0.9, 0.62, 0.0]]
    """
    values = np.asarray(values)
    cats = np.unique(values) if categories is None else np.asarray(categories)
    rank = np.argsort(cats, kind="stable")
    pos = np.searchsorted(cats[rank], values).clip(0, max(len(cats) - 1, 0))
    if values.size and (len(cats) == 0 or np.any(cats[rank][pos] != values)):
        missing = np.setdiff1d(values, cats)
        raise ValueError(f"`categories` must contain every value; missing {missing[:5].tolist()}")
    k = len(cats)
    palette = to_rgba_array(OKABE_ITO[:k]) if k <= len(OKABE_ITO) else plt.get_cmap(SEQUENTIAL)(np.linspace(0, 1, k))
    return palette[rank[pos]] if values.size else np.zeros((0, 4))


def _check_graph(graph):
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be an mplib.Graph, got {type(graph).__name__}")


def layout(graph, kind="auto", seed=0, shape=None, root=0):
    """Node positions, the same on every call with the same arguments.

    Parameters
    ----------
    graph : Graph
    kind : {'auto', 'spring', 'kamada_kawai', 'circular', 'shell', 'spectral', 'grid', 'bfs'}
        ``'auto'`` (default) is ``'kamada_kawai'`` up to 100 nodes (it keeps
        cliques and separate components readable; no randomness) and
        ``'spring'`` above (Kamada–Kawai costs :math:`O(N^2)`).
        ``'spring'`` is networkx's force-directed layout seeded with ``seed``;
        ``'grid'`` puts node ``r * cols + c`` at ``(c, -r)`` (as
        :func:`~mplib.generators.grid_graph` numbers nodes); ``'bfs'`` puts
        nodes in columns by distance from ``root`` (trees, barbells; the graph
        must be connected).
    seed : int, default 0
        Seed of the spring layout.
    shape : (int, int), optional
        ``(rows, cols)`` for ``'grid'``; default a near-square grid.
    root : int, default 0
        Start node of ``'bfs'``.

    Returns
    -------
    ndarray of shape (N, 2)

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``shape`` holds fewer than N cells.

    >>> from mplib.generators import path_graph
    >>> layout(path_graph(3), "grid", shape=(1, 3)).tolist()
    [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]
    """
    _check_graph(graph)
    n = graph.num_nodes
    if kind not in LAYOUTS:
        raise ValueError(f"`kind` must be one of {LAYOUTS}, got {kind!r}")
    if kind == "grid":
        cols = int(np.ceil(np.sqrt(n))) if shape is None else check_int(shape[1], "shape[1]", 1)
        if shape is not None and check_int(shape[0], "shape[0]", 1) * cols < n:
            raise ValueError(f"`shape` {tuple(shape)} has fewer cells than the {n} nodes")
        r, c = np.divmod(np.arange(n), max(cols, 1))
        return np.stack([c, -r], axis=1).astype(float) + 0.0
    G = to_networkx(graph)
    if kind == "auto":
        kind = "kamada_kawai" if n <= 100 else "spring"
    if kind == "spring":
        where = nx.spring_layout(G, seed=check_int(seed, "seed"))
    elif kind == "bfs":
        where = nx.bfs_layout(G, check_int(root, "root"))
    else:
        where = getattr(nx, f"{kind}_layout")(G)
    return np.array([where[k] for k in range(n)], dtype=float).reshape(n, 2)


def _merge_directions(edge_index, values, reduce):
    """One row per undirected pair ``{i, j}`` (self-loops dropped), values reduced."""
    src, dst = edge_index
    keep = src != dst
    lo, hi = np.minimum(src, dst)[keep], np.maximum(src, dst)[keep]
    pairs, inverse = np.unique(np.stack([lo, hi]), axis=1, return_inverse=True)
    inverse = inverse.ravel()
    merged = []
    for v in values:
        if v is None:
            merged.append(None)
        elif reduce == "max":
            out = np.full(pairs.shape[1], -np.inf)
            np.maximum.at(out, inverse, v[keep])
            merged.append(out)
        else:
            count = np.bincount(inverse, minlength=pairs.shape[1])
            merged.append(np.bincount(inverse, v[keep], minlength=pairs.shape[1]) / count)
    return pairs, merged


def _map_colors(values, name, length, cmap, vmin, vmax, categorical):
    """``(values, mappable)``: ``(None, None)`` for one colour; ints (categories);
    RGBA rows (colour names, if ``categorical``); or floats and their mappable."""
    if values is None or isinstance(values, (str, tuple)):
        return None, None
    values = np.asarray(values)
    if values.ndim != 1 or len(values) != length:
        what = "node" if name.startswith("node") else "edge"
        raise ValueError(f"`{name}` must be one colour or have one entry per {what} ({length}), "
                         f"got shape {values.shape}")
    if categorical and (np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_):
        return values.astype(np.int64), None
    if categorical and values.dtype.kind in "US":  # one colour name per node: RGBA rows
        try:
            return to_rgba_array(values), None
        except ValueError as err:
            raise ValueError(f"`{name}` must hold colours, numbers or integer categories: {err}") from None
    values = check_features(values, name=name, ndim=1)
    signed = bool(values.size) and values.min() < 0 < values.max()
    bound = np.abs(values).max() if signed else None
    norm = Normalize(-bound if vmin is None and signed else vmin, bound if vmax is None and signed else vmax)
    if values.size:
        norm.autoscale_None(values)
    mappable = plt.cm.ScalarMappable(norm, plt.get_cmap(cmap or (DIVERGING if signed else SEQUENTIAL)))
    mappable.set_array(values)
    return values, mappable


def draw_graph(graph, ax=None, pos=None, node_color=None, edge_width=None, edge_color=None, labels=True,
               cmap=None, title=None, *, edge_cmap=None, categories=None, vmin=None, vmax=None,
               edge_vmin=None, edge_vmax=None,
               colorbar=False, directed=False, reduce="max", node_size=None, max_edge_width=4.0,
               layout_kind="auto", seed=0):
    """Draw a graph with matplotlib; node and edge colours and widths may carry data.

    Parameters
    ----------
    graph : Graph
    ax : matplotlib Axes, optional
        Default: a new figure.
    pos : ndarray of shape (N, 2) or dict, optional
        Node positions; default ``layout(graph, layout_kind, seed)``.
    node_color : colour (str or RGB(A) tuple), or list/array of shape (N,), optional
        One colour name per node, or numbers. Integers are categories (e.g. WL
        colours, classes): equal ints, equal colours, see :func:`categorical_colors`
        and ``categories``. Floats go through ``cmap`` (default viridis; ``RdBu`` centred at 0 when the values
        have both signs).
    edge_width : array_like of shape (E,), optional
        One non-negative value per column of ``edge_index`` (e.g. attention);
        drawn proportionally, the largest ``max_edge_width`` points wide.
    edge_color : colour (str or tuple), or list/array of shape (E,), optional
        Numbers (e.g. curvature) go through ``edge_cmap``, as floats for ``node_color``.
    labels : bool, sequence or dict, default True
        Node ids, custom labels (``labels[k]`` for node ``k``) or none.
    cmap, edge_cmap : str or Colormap, optional
    title : str, optional
    categories : array_like, optional
        Palette order for integer ``node_color`` (share it to match figures).
    vmin, vmax : float, optional
        Limits of the node colour map.
    edge_vmin, edge_vmax : float, optional
        Limits of the edge colour map (share them to put several plots on one scale).
    colorbar : bool, default False
        Add a colour bar for float node (and edge) colours.
    directed : bool, default False
        Draw each column of ``edge_index`` as an arrow ``src -> dst``, bending
        the two directions of an undirected edge apart. Otherwise draw one line
        per undirected pair; its width and colour value are the ``reduce``
        (``'max'`` or ``'mean'``) of the two directions. Self-loops are not drawn.
    node_size : float, optional
        Marker area in points²; default 300 up to 16 nodes, smaller for larger graphs.
    layout_kind, seed
        Passed to :func:`layout` when ``pos`` is not given.

    Returns
    -------
    matplotlib.axes.Axes
        Edges are ``ax.collections[0]`` (a LineCollection, one segment per pair)
        or ``ax.patches`` (arrows); nodes are ``ax.collections[-1]``.

    Raises
    ------
    ValueError
        If an array has the wrong length or ``edge_width`` is negative.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from mplib.generators import cycle_graph
    >>> ax = draw_graph(cycle_graph(4), node_color=[0, 1, 0, 1])
    >>> len(ax.collections[0].get_segments()), len(ax.collections[-1].get_offsets())
    (4, 4)
    """
    _check_graph(graph)
    n, e = graph.num_nodes, graph.num_edges
    if reduce not in ("max", "mean"):
        raise ValueError(f"`reduce` must be 'max' or 'mean', got {reduce!r}")
    if pos is None:
        pos = layout(graph, layout_kind, seed=seed)
    elif isinstance(pos, dict):
        pos = np.array([pos[k] for k in range(n)], dtype=float).reshape(n, 2)
    pos = check_features(pos, name="pos")
    if pos.shape != (n, 2):
        raise ValueError(f"`pos` must have shape ({n}, 2), one row per node, got {pos.shape}")
    nodes, node_map = _map_colors(node_color, "node_color", n, cmap, vmin, vmax, True)
    values, edge_map = _map_colors(edge_color, "edge_color", e, edge_cmap, edge_vmin, edge_vmax, False)
    width = None
    if edge_width is not None:
        width = check_features(edge_width, name="edge_width", ndim=1)
        if len(width) != e:
            raise ValueError(f"`edge_width` must have one entry per edge ({e}), got {len(width)}")
        if width.size and width.min() < 0:
            raise ValueError(f"`edge_width` must be >= 0, got {width.min()}")
    if ax is None:
        ax = plt.subplots()[1]
    if node_size is None:
        node_size = 300.0 * min(1.0, 16.0 / max(n, 1)) ** 0.8

    if directed:
        keep = graph.edge_index[0] != graph.edge_index[1]
        pairs = graph.edge_index[:, keep]
        width, values = (None if a is None else a[keep] for a in (width, values))
    else:
        pairs, (width, values) = _merge_directions(graph.edge_index, (width, values), reduce)
    k = pairs.shape[1]
    if width is None:
        width = np.full(k, 1.5)
    elif k and width.max() > 0:
        width = width / width.max() * max_edge_width
    if edge_map is not None:
        colors = edge_map.to_rgba(values)
    else:
        colors = np.tile(to_rgba(INK if edge_color is None else edge_color), (k, 1))
    if directed:
        radius = np.sqrt(node_size) / 2
        for (j, i), w, c in zip(pairs.T, width, colors):
            ax.add_patch(FancyArrowPatch(pos[j], pos[i], arrowstyle="-|>", mutation_scale=8 + 2 * w,
                                         linewidth=w, color=c, shrinkA=radius, shrinkB=radius + 1,
                                         connectionstyle="arc3,rad=0.15", zorder=1, clip_on=False))
    else:
        ax.add_collection(LineCollection(pos[pairs.T], linewidths=width, colors=colors, zorder=1, clip_on=False))

    if nodes is None:
        face = np.tile(to_rgba(OKABE_ITO[4] if node_color is None else node_color), (n, 1))
    elif node_map is None:
        face = nodes if nodes.ndim == 2 else categorical_colors(nodes, categories)
    else:
        face = node_map.to_rgba(nodes)
    ax.scatter(pos[:, 0], pos[:, 1], s=node_size, c=face, edgecolors=INK, linewidths=0.8, zorder=2, clip_on=False)
    if labels is not False and labels is not None:
        text = [str(k) for k in range(n)] if labels is True else [str(labels[k]) for k in range(n)]
        fontsize = float(np.clip(0.46 * np.sqrt(node_size), 3.0, 8.0))
        light = face[:, :3] @ np.array([0.299, 0.587, 0.114]) > 0.5
        for k in range(n):
            ax.text(*pos[k], text[k], ha="center", va="center", fontsize=fontsize, zorder=3, clip_on=False,
                    color="black" if light[k] else "white")
    for mappable, what in ((node_map, "node"), (edge_map, "edge")):
        if colorbar and mappable is not None:
            both = node_map is not None and edge_map is not None
            ax.figure.colorbar(mappable, ax=ax, shrink=0.7, label=what if both else None)
    if title is not None:
        ax.set_title(title)
    ax.set_aspect("equal")
    ax.margins(0.08)
    ax.set_axis_off()
    return ax


def draw_wl_refinement(graph, history, pos=None, axes=None, titles=None, **kwargs):
    """Draw the colouring after each round of colour refinement, side by side.

    A colour class keeps its plot colour from one round to the next when it
    does not split; when it splits, the part holding its smallest node keeps
    the colour and the other parts get new ones.

    Parameters
    ----------
    graph : Graph
    history : list of array_like of int, each of shape (N,)
        The colours after round 0, 1, ... (as the WL module returns them).
    pos : ndarray of shape (N, 2), optional
        Shared by all panels; default ``layout(graph)``.
    axes : sequence of Axes, optional
        One per round; default a new row of panels.
    titles : sequence of str, optional
        Default ``"round t: k colours"``.
    **kwargs
        Passed to :func:`draw_graph`.

    Returns
    -------
    ndarray of Axes

    Raises
    ------
    ValueError
        If ``history`` is empty or a round does not have N colours.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from mplib.generators import path_graph
    >>> axes = draw_wl_refinement(path_graph(3), [[0, 0, 0], [0, 1, 0]])
    >>> [ax.get_title() for ax in axes]
    ['round 0: 1 colour', 'round 1: 2 colours']
    """
    _check_graph(graph)
    n = graph.num_nodes
    if isinstance(history, np.ndarray) and history.ndim == 1 or len(history) == 0:
        raise ValueError("`history` must be a non-empty list of colour arrays, one per round")
    rounds = []
    for t, colors in enumerate(history):
        colors = np.asarray(colors)
        if colors.shape != (n,) or not (np.issubdtype(colors.dtype, np.integer) or n == 0):
            raise ValueError(f"`history[{t}]` must hold {n} integer colours, got shape {colors.shape} "
                             f"and dtype {colors.dtype}")
        rounds.append(colors)
    # Stable plot colours: a class inherits the index of its smallest node's previous class.
    index, fresh, plot = np.zeros(n, dtype=np.int64), 1, []
    for colors in rounds:
        _, first, inverse = np.unique(colors, return_index=True, return_inverse=True)
        new, taken = np.empty(len(first), dtype=np.int64), set()
        for c in np.argsort(first):  # one step per colour class, not per node
            parent = int(index[first[c]])
            new[c] = parent if parent not in taken else fresh
            fresh += parent in taken
            taken.add(int(new[c]))
        index = new[inverse.ravel()]
        plot.append(index)
    if pos is None:
        pos = layout(graph, kwargs.pop("layout_kind", "auto"), seed=kwargs.pop("seed", 0))
    if axes is None:
        fig, axes = plt.subplots(1, len(rounds), figsize=(3.2 * len(rounds), 3.2), squeeze=False)
    axes = np.ravel(axes)
    if len(axes) != len(rounds):
        raise ValueError(f"`axes` must hold one Axes per round ({len(rounds)}), got {len(axes)}")
    for t, (ax, colors) in enumerate(zip(axes, plot)):
        k = len(np.unique(rounds[t]))
        title = titles[t] if titles is not None else f"round {t}: {k} colour{'s' if k != 1 else ''}"
        draw_graph(graph, ax=ax, pos=pos, node_color=colors, categories=np.arange(fresh), title=title, **kwargs)
    return axes
