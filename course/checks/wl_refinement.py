"""Hidden checks of assignment 04, the WL test: one refinement round, the stable colouring,
the number of rounds, and the test on two graphs.

Colour ids are names: any relabelling of the classes is as good as another, so
colourings are compared as *partitions* of the nodes (:func:`partition_result`),
never by their raw ids. The graph builders below are plain numpy and are shared
with assignment 06 (:mod:`course.checks.beyond_one_hop`).
"""

import numpy as np

from .registry import Case, exact_result, register
from mplib.graph import Graph
from mplib.wl import wl_colors, wl_history, wl_test

from .graphs import graph_suite, random_edges, undirected

# -- comparators -----------------------------------------------------------------------------


def _kind(value):
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    return type(value).__name__


def partition_result():
    """Comparator for a colouring: an integer array grouping the nodes as the reference does.

    Two colourings are equal when they split the nodes into the same classes,
    whatever the ids: ``[0, 0, 1]`` and ``[7, 7, 2]`` agree, ``[0, 1, 1]`` does not.
    """
    def compare(got, want):
        want = np.asarray(want)
        if type(got) is not np.ndarray:
            return f"expected an integer array of shape {want.shape} (one colour per node), got {_kind(got)}"
        if got.shape != want.shape:
            return f"expected shape {want.shape} (one colour per node), got shape {got.shape}"
        if got.dtype.kind not in "iu":
            return f"expected integer colour ids, got dtype {got.dtype}"
        if want.size == 0:
            return None
        k_got, k_want = np.unique(got).size, np.unique(want).size
        k_pairs = np.unique(np.stack([got.astype(np.int64), want.astype(np.int64)]), axis=1).shape[1]
        if k_got == k_want == k_pairs:
            return None
        if k_got < k_want:
            return (f"{k_got} colour classes where {k_want} are expected: some nodes with different "
                    "signatures got the same colour")
        if k_got > k_want:
            return (f"{k_got} colour classes where {k_want} are expected: some nodes with equal "
                    "signatures got different colours")
        return f"{k_got} colour classes as expected, but they group the nodes differently"
    return compare


# -- graphs (plain numpy; every edge_index int64 of shape (2, E)) ----------------------------


def from_pairs(pairs, num_nodes=None):
    """Undirected edge_index (both directions, sorted) from a list of pairs ``(u, v)``."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2).T
    return undirected(pairs)


def cycle(n, offset=0):
    k = np.arange(n)
    return from_pairs(np.stack([k, (k + 1) % n], axis=1) + offset)


def path(n, offset=0):
    k = np.arange(n - 1)
    return from_pairs(np.stack([k, k + 1], axis=1) + offset)


def union(*graphs):
    """Disjoint union of ``(edge_index, num_nodes)`` pairs."""
    parts, n = [], 0
    for ei, m in graphs:
        parts.append(ei + n)
        n += m
    return np.concatenate(parts, axis=1) if parts else np.zeros((2, 0), np.int64), n


def two_triangles():
    return union((cycle(3), 3), (cycle(3), 3))[0]


def k33():
    return from_pairs([(u, v) for u in range(3) for v in range(3, 6)])


def prism():
    return from_pairs([(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3), (0, 3), (1, 4), (2, 5)])


def rook_4x4():
    """4x4 rook's graph: same row or same column (strongly regular, 16 nodes, 6-regular)."""
    r, c = np.divmod(np.arange(16), 4)
    u, v = np.nonzero(((r[:, None] == r[None, :]) | (c[:, None] == c[None, :])) & ~np.eye(16, dtype=bool))
    return np.stack([u, v]).astype(np.int64)


def shrikhande():
    """Shrikhande graph: Z4 x Z4, differences ±(0,1), ±(1,0), ±(1,1); same parameters as the rook's graph."""
    r, c = np.divmod(np.arange(16), 4)
    dr, dc = (r[None, :] - r[:, None]) % 4, (c[None, :] - c[:, None]) % 4
    steps = {(0, 1), (0, 3), (1, 0), (3, 0), (1, 1), (3, 3)}
    adj = np.zeros((16, 16), dtype=bool)
    for a, b in steps:
        adj |= (dr == a) & (dc == b)
    u, v = np.nonzero(adj)
    return np.stack([u, v]).astype(np.int64)


def relabelled(rng, edge_index, n):
    """The same graph under a random renaming of the nodes, edges in random order."""
    perm = rng.permutation(n)
    ei = perm[edge_index]
    return np.ascontiguousarray(ei[:, rng.permutation(ei.shape[1])]).astype(np.int64)


def random_undirected(rng, n, m):
    return undirected(random_edges(rng, n, m))


def random_tree(rng, n):
    parent = np.array([rng.integers(0, k) for k in range(1, n)], dtype=np.int64)
    return from_pairs(np.stack([parent, np.arange(1, n)], axis=1))


def edge_swaps(rng, edge_index, swaps):
    """Degree-preserving rewiring of an undirected simple graph: (a-b, c-d) -> (a-d, c-b)."""
    pairs = edge_index[:, edge_index[0] < edge_index[1]].T.copy()
    present = {tuple(p) for p in pairs.tolist()}
    done = 0
    for _ in range(50 * swaps):
        if done == swaps or len(pairs) < 2:
            break
        i, j = rng.choice(len(pairs), 2, replace=False)
        (a, b), (c, d) = pairs[i], pairs[j]
        if rng.random() < 0.5:
            c, d = d, c
        new1, new2 = tuple(sorted((a, d))), tuple(sorted((c, b)))
        if a == d or c == b or new1 in present or new2 in present or new1 == new2:
            continue
        present -= {tuple(sorted((a, b))), tuple(sorted((c, d)))}
        present |= {new1, new2}
        pairs[i], pairs[j] = new1, new2
        done += 1
    return from_pairs(pairs)


def _colours(rng, n, k):
    """Initial colours with gaps between the ids (e.g. 3, 10, 17): the ids themselves mean nothing."""
    return (7 * rng.integers(0, k, n) + 3).astype(np.int64)


def wl_graphs(rng, large=True):
    """``(label, num_nodes, edge_index)``: the standard suite plus graphs needing several rounds."""
    out = graph_suite(rng, large=large)
    n = int(rng.integers(7, 12))
    out.append(("a path (many rounds)", n, relabelled(rng, path(n), n)))
    n = int(rng.integers(10, 20))
    out.append(("a random tree", n, relabelled(rng, random_tree(rng, n), n)))
    out.append(("two triangles (regular)", 6, relabelled(rng, two_triangles(), 6)))
    return out


# -- references ------------------------------------------------------------------------------


def _graph(edge_index, colors=None, num_nodes=None):
    n = len(colors) if colors is not None else num_nodes
    return Graph(edge_index, num_nodes=n, x=None if colors is None else colors[:, None])


def ref_wl_round(colors, edge_index):
    return wl_colors(_graph(edge_index, colors), iterations=1)


def ref_wl_refine(colors, edge_index):
    return wl_colors(_graph(edge_index, colors))


def ref_rounds_to_stable(colors, edge_index):
    return len(wl_history(_graph(edge_index, colors))) - 1


def ref_wl_distinguishes(edge_index1, num_nodes1, edge_index2, num_nodes2):
    return bool(wl_test(_graph(edge_index1, num_nodes=num_nodes1),
                        _graph(edge_index2, num_nodes=num_nodes2)).distinguished)


# -- cases -----------------------------------------------------------------------------------


def cases_wl_round(rng):
    cases = []
    for k, (label, n, ei) in enumerate(wl_graphs(rng)):
        if k % 2:
            cases.append(Case(label + ", one initial colour", (np.zeros(n, np.int64), ei)))
        else:
            cases.append(Case(label + ", colours with gaps (3, 10, 17, ...)", (_colours(rng, n, 3), ei)))
    return cases


def cases_wl_refine(rng):
    cases = []
    for k, (label, n, ei) in enumerate(wl_graphs(rng)):
        colors = _colours(rng, n, 2) if k % 3 == 2 else np.zeros(n, np.int64)
        cases.append(Case(label + (", two initial colours" if k % 3 == 2 else ""), (colors, ei)))
    return cases


def cases_rounds_to_stable(rng):
    return cases_wl_refine(rng)


def cases_wl_distinguishes(rng):
    cases = []

    def add(label, a, na, b, nb):
        if rng.random() < 0.5:
            a, na, b, nb = b, nb, a, na
        cases.append(Case(label, (a, na, b, nb)))

    n = int(rng.integers(8, 14))
    g = random_undirected(rng, n, 2 * n)
    add("a random graph and a relabelled copy", g, n, relabelled(rng, g, n), n)
    n = int(rng.integers(8, 14))
    g = random_edges(rng, n, 2 * n)
    add("a directed graph and a relabelled copy", g, n, relabelled(rng, g, n), n)
    add("C6 and two triangles", relabelled(rng, cycle(6), 6), 6, relabelled(rng, two_triangles(), 6), 6)
    add("K3,3 and the prism", relabelled(rng, k33(), 6), 6, relabelled(rng, prism(), 6), 6)
    a, b = int(rng.integers(3, 6)), int(rng.integers(3, 6))
    add("a cycle and two cycles of the same total length", relabelled(rng, cycle(a + b), a + b), a + b,
        union((cycle(a), a), (cycle(b), b))[0], a + b)
    add("P6 and an edge plus a 4-cycle (same degrees)", relabelled(rng, path(6), 6), 6,
        union((path(2), 2), (cycle(4), 4))[0], 6)
    for _ in range(2):
        n = int(rng.integers(10, 16))
        g = random_undirected(rng, n, 2 * n)
        add("two graphs with the same degrees (edges rewired)", g, n, edge_swaps(rng, g, 3), n)
    n = int(rng.integers(5, 9))
    g = random_undirected(rng, n, 2 * n)
    add("different numbers of nodes (one isolated node added)", g, n, relabelled(rng, g, n), n + 1)
    a, b = int(rng.integers(3, 6)), int(rng.integers(7, 10))
    cases.append(Case("a small cycle, then a larger one", (cycle(a), a, relabelled(rng, cycle(b), b), b)))
    cases.append(Case("a larger path, then a small one", (relabelled(rng, path(b), b), b, path(a), a)))
    n = int(rng.integers(3, 7))
    add("two graphs without edges", np.zeros((2, 0), np.int64), n, np.zeros((2, 0), np.int64), n)
    n = int(rng.integers(6, 10))
    g = random_undirected(rng, n, n)
    loops = np.stack([np.arange(2)] * 2)
    add("a graph and the same graph with self-loops", g, n, np.concatenate([g, loops], axis=1), n)
    ring = np.array([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]], np.int64)
    triangles = np.array([[0, 1, 2, 3, 4, 5], [1, 2, 0, 4, 5, 3]], np.int64)
    add("a directed 6-cycle and two directed triangles", ring, 6, triangles, 6)
    return cases


register("04.wl_round", "wl_round", ref_wl_round, cases_wl_round, partition_result())
register("04.wl_refine", "wl_refine", ref_wl_refine, cases_wl_refine, partition_result())
register("04.rounds_to_stable", "rounds_to_stable", ref_rounds_to_stable, cases_rounds_to_stable,
         exact_result(int))
register("04.wl_distinguishes", "wl_distinguishes", ref_wl_distinguishes, cases_wl_distinguishes,
         exact_result(bool))
