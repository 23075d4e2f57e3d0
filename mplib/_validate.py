"""Argument checks shared by the public functions of :mod:`mplib`.

Every public function validates its inputs here, at the boundary, so that a
mistake is reported with the name of the argument and what was expected,
instead of surfacing later as a cryptic numpy broadcasting error.

The checks of arrays accept :class:`~mplib.autograd.Tensor` objects too: they
check the values inside and hand the Tensor back unchanged, so that one layer
function serves plain arrays and training alike.

Graph functions take connectivity as ``edge_index`` (plus ``num_nodes``), or an
:class:`mplib.Graph` in its place; networkx graphs are converted once, at the
boundary, with :func:`mplib.from_networkx` (:func:`check_graph` says so).
"""

import numbers

import numpy as np

from .autograd import Tensor


def check_int(value, name, minimum=0):
    """Return ``value`` as a Python int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


def check_index(index, name, length=None):
    """Return a 1-D int64 copy of an index array, or raise if it is not one."""
    index = np.asarray(index)
    if index.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D, got shape {index.shape}")
    if index.size and not np.issubdtype(index.dtype, np.integer):
        raise TypeError(f"`{name}` must hold integers, got dtype {index.dtype}")
    if length is not None and index.shape[0] != length:
        raise ValueError(f"`{name}` must have length {length}, got {index.shape[0]}")
    return index.astype(np.int64)


def check_edge_index(edge_index, num_nodes=None, name="edge_index"):
    """Return ``edge_index`` as an int64 array of shape (2, E), checking node ids.

    When ``num_nodes`` is given every id must lie in ``[0, num_nodes)``.
    """
    edge_index = np.asarray(edge_index)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"`{name}` must have shape (2, E), got shape {edge_index.shape}")
    if edge_index.size and not np.issubdtype(edge_index.dtype, np.integer):
        raise TypeError(f"`{name}` must hold integer node ids, got dtype {edge_index.dtype}")
    edge_index = edge_index.astype(np.int64)
    if edge_index.size:
        low = edge_index.min()
        if low < 0:
            raise ValueError(f"`{name}` holds a negative node id ({low}); ids must be >= 0")
        if num_nodes is not None:
            high = edge_index.max()
            if high >= num_nodes:
                raise ValueError(
                    f"`{name}` refers to node {high}, but the graph has only {num_nodes} nodes "
                    f"(ids 0..{num_nodes - 1})"
                )
    return edge_index


def check_features(x, name="x", num_rows=None, ndim=2, allow_nonfinite=False):
    """Return ``x`` as a float array with ``ndim`` dimensions and ``num_rows`` rows.

    Integer and boolean arrays are converted to float64; float arrays keep their dtype.
    A :class:`~mplib.autograd.Tensor` is checked and returned as it is.
    """
    if isinstance(x, Tensor):
        check_features(x.data, name, num_rows, ndim, allow_nonfinite)
        return x
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise TypeError(f"`{name}` must be a numeric array, got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"`{name}` must be real, got dtype {x.dtype}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if ndim is not None and x.ndim != ndim:
        want = "(N, F)" if ndim == 2 else f"{ndim}-D"
        raise ValueError(f"`{name}` must have shape {want}, got shape {x.shape}")
    if num_rows is not None and x.shape[0] != num_rows:
        raise ValueError(f"`{name}` must have {num_rows} rows (one per node/edge), got {x.shape[0]}")
    if not allow_nonfinite and not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` contains NaN or infinite values")
    return x


def check_weight(weight, name, shape):
    """Return ``weight`` as a float array (or Tensor), checking it against ``shape`` (None = any size)."""
    weight = check_features(weight, name=name, ndim=len(shape))
    for axis, (got, want) in enumerate(zip(weight.shape, shape)):
        if want is not None and got != want:
            raise ValueError(
                f"`{name}` must have shape {tuple('*' if s is None else s for s in shape)}, "
                f"got {weight.shape} (axis {axis} should be {want})"
            )
    return weight


def check_rng(rng):
    """Return a ``numpy.random.Generator`` from a Generator, an int seed or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"`rng` must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def check_segment_index(index, name, num_segments, length=None):
    """Return a 1-D int64 index whose ids all lie in ``[0, num_segments)``."""
    index = check_index(index, name, length)
    if index.size:
        if index.min() < 0:
            raise ValueError(f"`{name}` holds a negative id ({index.min()}); ids must be >= 0")
        if index.max() >= num_segments:
            raise ValueError(
                f"`{name}` refers to segment {index.max()}, but `num_segments` is {num_segments}"
            )
    return index


def check_real(value, name):
    """Return ``value`` as a float, or raise if it is not a finite real number."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise TypeError(f"`{name}` must be a finite real number, got {value!r}")
    return float(value)


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``, else raise naming the argument."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}, got {value!r}")
    return value


def check_graph(graph, num_nodes=None, name="graph"):
    """Return ``(edge_index, num_nodes)`` of a graph given by its ``edge_index`` or as an :class:`mplib.Graph`.

    Without ``num_nodes`` an ``edge_index`` has one more node than its largest id.
    A networkx graph is refused with a pointer to :func:`mplib.from_networkx`:
    it is converted once, where it enters, so that node ``k`` means the same
    thing everywhere (``list(G)[k]``).
    """
    if type(graph).__module__.split(".")[0] == "networkx":
        raise TypeError(f"`{name}` is a networkx graph; convert it first with mplib.from_networkx(G) "
                        "(node k of the result is list(G)[k]) and pass its edge_index")
    if hasattr(graph, "edge_index") and hasattr(graph, "num_nodes"):  # an mplib.Graph
        if num_nodes is not None and check_int(num_nodes, "num_nodes") != graph.num_nodes:
            raise ValueError(f"`num_nodes` is {num_nodes} but `{name}` has {graph.num_nodes} nodes")
        return graph.edge_index, graph.num_nodes
    if np.ndim(graph) == 0:
        raise TypeError(f"`{name}` must be an edge_index of shape (2, E) or an mplib.Graph, "
                        f"got {type(graph).__name__}")
    edge_index = check_edge_index(graph, name=name)
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if edge_index.size else 0
    num_nodes = check_int(num_nodes, "num_nodes")
    return check_edge_index(edge_index, num_nodes, name=name), num_nodes


def check_undirected(edge_index, num_nodes, allow_loops=True, name="graph"):
    """Check that ``edge_index`` is a simple undirected graph; return the reverse of each column.

    ``rev[e]`` is the column holding the reverse of edge ``e``. Self-loops (if
    allowed) are their own reverse.
    """
    n = num_nodes
    src, dst = edge_index
    loops = src == dst
    if not allow_loops and loops.any():
        k = int(src[loops][0])
        raise ValueError(f"`{name}` has a self-loop at node {k}; curvature needs a graph without self-loops")
    keys = src * max(n, 1) + dst
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    repeated = sorted_keys[1:] == sorted_keys[:-1]
    if repeated.any():
        key = int(sorted_keys[1:][repeated][0])
        raise ValueError(
            f"`{name}` holds the edge {key // n} -> {key % n} more than once; a simple graph is needed"
        )
    rev_keys = dst * max(n, 1) + src
    pos = np.minimum(np.searchsorted(sorted_keys, rev_keys), max(len(keys) - 1, 0))
    found = sorted_keys[pos] == rev_keys if len(keys) else np.zeros(0, dtype=bool)
    if not found.all():
        e = int(np.flatnonzero(~found)[0])
        raise ValueError(
            f"`{name}` must be undirected (each edge stored in both directions), but edge "
            f"{src[e]} -> {dst[e]} has no reverse; use mplib.to_undirected"
        )
    return order[pos]


def check_callable(fn, name):
    """Return ``fn`` if it is callable, else raise a TypeError naming the argument."""
    if not callable(fn):
        raise TypeError(f"`{name}` must be callable, got {type(fn).__name__}")
    return fn


def check_edge_attr(edge_attr, num_edges):
    """Return ``edge_attr`` as an (E, D) float array (a 1-D array is one feature per edge)."""
    edge_attr = check_features(edge_attr, name="edge_attr", num_rows=num_edges, ndim=None)
    if edge_attr.ndim == 1:
        edge_attr = edge_attr[:, None]
    if edge_attr.ndim != 2:
        raise ValueError(f"`edge_attr` must have shape (E, D) or (E,), got shape {edge_attr.shape}")
    return edge_attr
