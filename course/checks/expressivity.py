"""Hidden checks of assignment 08, expressivity and remedies: a GIN layer, node-marked colour
refinement (the simplest subgraph GNN) on one graph and on two, per-node triangle counts, a
virtual node, and one greedy step of resistance rewiring.

References: :func:`mplib.layers.gin_conv`, :func:`mplib.wl.wl_colors` on the copies with one
node marked, :func:`mplib.expressivity.refinement_invariants` (``"marked"``),
:func:`mplib.remedies.add_virtual_node`. Triangles are counted by networkx (ground truth, not
mplib); the rewiring step by brute force here (every candidate edge added in turn, the total
resistance recomputed with ``np.linalg.pinv``), which ``tests/test_course_expressivity.py``
checks against :func:`mplib.remedies.resistance_rewiring`.
"""

import networkx as nx
import numpy as np

from .registry import Case, array_result, exact_result, register
from mplib.expressivity import refinement_invariants
from mplib.graph import Graph
from mplib.layers import gin_conv
from mplib.remedies import add_virtual_node
from mplib.wl import wl_colors

from .graphs import graph_suite, random_edges, undirected
from .wl_refinement import (cycle, edge_swaps, k33, partition_result, path, prism, random_tree,
                            random_undirected, relabelled, rook_4x4, shrikhande, two_triangles, union)

TIE = 1e-9  # rewire_step: drops of the total resistance this close to the best count as ties

# Every pair of different graphs with 6 or 7 nodes (networkx's atlas) that 1-WL confuses, as
# (nodes, edges of one, edges of the other), an edge "uv" joining nodes u and v.
# tests/test_course_expressivity.py recomputes this table from the atlas.
ATLAS_WL_PAIRS = [
    (6, "01 05 12 23 34 45", "04 05 12 13 23 45"),  # atlas 105, 106: C6, two triangles
    (6, "01 03 05 12 23 34 45", "01 02 03 12 34 35 45"),  # atlas 128, 130
    (6, "01 05 12 15 23 24 34 45", "01 05 12 14 23 25 34 45"),  # atlas 152, 154
    (6, "01 02 03 14 15 23 25 34 45", "01 03 05 12 14 23 25 34 45"),  # atlas 174, 175: K3,3, prism
    (7, "01 05 12 23 34 45", "03 04 25 26 34 56"),  # atlas 268, 269
    (7, "12 14 23 25 36 45 56", "12 13 14 25 26 34 56"),  # atlas 312, 313
    (7, "01 06 12 23 34 45 56", "01 04 14 23 25 36 56"),  # atlas 353, 354
    (7, "01 05 12 15 23 24 34 45", "01 05 06 12 25 26 45 46"),  # atlas 377, 378
    (7, "01 05 06 12 23 34 36 45", "01 04 14 23 25 35 36 46"),  # atlas 449, 450
    (7, "01 02 03 14 15 23 25 34 45", "01 03 05 12 14 23 25 34 45"),  # atlas 471, 472
    (7, "02 05 12 14 23 25 36 45 56", "01 02 12 23 26 34 35 36 45"),  # atlas 555, 557
    (7, "01 03 06 12 14 23 35 45 46", "01 04 05 12 14 26 35 36 56"),  # atlas 573, 575
    (7, "01 02 12 14 16 23 25 34 35 46", "01 02 04 06 12 23 25 34 45 56"),  # atlas 699, 700
    (7, "01 05 12 16 23 26 34 45 46 56", "01 05 15 16 23 24 26 34 46 56"),  # atlas 722, 724
    (7, "01 03 05 12 15 23 26 36 45 46", "01 05 06 12 14 23 25 34 36 45"),  # atlas 729, 730
    (7, "03 06 12 15 24 26 34 35 45 46 56", "01 02 05 06 15 23 24 26 34 46 56"),  # atlas 839, 840
    (7, "01 04 12 14 16 23 26 34 35 45 56", "01 03 05 12 14 16 23 25 26 34 45"),  # atlas 870, 872
    (7, "01 02 04 05 13 14 23 25 36 46 56", "01 02 03 04 12 16 26 34 35 45 56"),  # atlas 877, 878
    (7, "01 03 04 06 12 14 15 23 24 25 34 36", "05 06 13 14 23 24 25 26 35 36 45 46"),  # atlas 946, 948
    (7, "03 04 05 06 12 14 15 23 24 34 36 56", "03 05 06 12 14 16 23 25 34 45 46 56"),  # atlas 998, 1000
    (7, "01 05 06 12 16 23 26 34 36 45 46 56", "03 04 06 12 14 15 24 25 34 36 45 46"),  # atlas 1008, 1009
    (7, "01 02 03 04 05 06 12 13 14 25 26 35 46",
     "03 05 06 12 13 14 15 23 24 34 35 36 56"),  # atlas 1080, 1081
    (7, "01 05 06 13 14 23 24 25 26 34 36 45 56",
     "01 05 06 13 14 23 24 25 26 35 36 45 46"),  # atlas 1104, 1105
    (7, "01 03 04 06 13 16 24 25 26 35 36 45 46 56",
     "01 02 03 04 05 06 15 16 23 24 35 36 45 46"),  # atlas 1150, 1152
    (7, "01 02 05 06 12 13 16 23 24 34 35 45 46 56",
     "03 04 05 06 13 14 15 16 23 24 25 26 36 45"),  # atlas 1170, 1171
    (7, "01 02 03 06 14 15 16 23 25 26 34 36 45 46 56",
     "01 02 03 06 14 15 16 24 25 26 34 35 36 46 56"),  # atlas 1207, 1208
]


def atlas_edges(text):
    """Undirected edge_index (both directions) of an :data:`ATLAS_WL_PAIRS` entry."""
    pairs = np.array([[int(e[0]), int(e[1])] for e in text.split()], dtype=np.int64)
    return undirected(pairs.T)


# -- comparators -----------------------------------------------------------------------------


def colour_table_result():
    """Comparator for the (N, N) colour table of the marked copies: the same partition of all cells."""
    flat = partition_result()

    def compare(got, want):
        if type(got) is not np.ndarray:
            return f"expected an integer array of shape {want.shape} (row v: the copy with v marked), " \
                   f"got {type(got).__name__}"
        if got.shape != want.shape:
            return f"expected shape {want.shape} (row v: the copy with v marked), got shape {got.shape}"
        message = flat(got.reshape(-1), want.reshape(-1))
        if message and got.dtype.kind in "iu":
            rows_alone = all(flat(got[v], want[v]) is None for v in range(want.shape[0]))
            if rows_alone:
                return message + " (each row is right on its own: are the copies refined together, " \
                                 "with one vocabulary of colours?)"
        return message
    return compare


def new_edge_result():
    """Comparator for ``rewire_step``: ``None``, or the tuple ``(u, v)`` of Python ints with u < v."""
    def compare(got, want):
        if want is None:
            return None if got is None else \
                f"expected None (no edge to add, or the graph is disconnected), got {got!r}"
        if got is None:
            return "expected an edge (u, v), got None"
        if not isinstance(got, tuple) or len(got) != 2:
            return f"expected a tuple (u, v) of two node ids, got {type(got).__name__}"
        if not all(isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) for k in got):
            return "expected two integer node ids"
        if not got[0] < got[1]:
            return f"expected u < v, got ({got[0]}, {got[1]})"
        if tuple(map(int, got)) == want:
            return None
        return "not the new edge that lowers the total resistance the most (ties: the smallest (u, v))"
    return compare


def virtual_node_result():
    """Comparator for ``(x_new, edge_index_new)``: exact features and the stated edge order."""
    features = array_result(dtype="exact")

    def compare(got, want):
        if not isinstance(got, tuple) or len(got) != 2:
            return f"expected a tuple (x_new, edge_index_new), got {type(got).__name__}"
        message = features(got[0], want[0])
        if message:
            return f"element 0 (x_new): {message}"
        ei, want_ei = got[1], want[1]
        if type(ei) is not np.ndarray or ei.dtype.kind not in "iu":
            return "element 1 (edge_index_new) must be an integer numpy array"
        if ei.shape != want_ei.shape:
            return f"element 1 (edge_index_new): expected shape {want_ei.shape}, got shape {ei.shape}"
        if np.array_equal(ei, want_ei):
            return None
        e = want_ei.shape[1] - 2 * (want[0].shape[0] - 1)
        if not np.array_equal(ei[:, :e], want_ei[:, :e]):
            return "element 1 (edge_index_new): the original edges must come first, unchanged"
        same = sorted(map(tuple, ei.T.tolist())) == sorted(map(tuple, want_ei.T.tolist()))
        if same:
            return "element 1 (edge_index_new): the right edges in the wrong order (first every i -> N, " \
                   "then every N -> i, each by increasing i)"
        return "element 1 (edge_index_new): wrong new edges"
    return compare


# -- references ------------------------------------------------------------------------------


def ref_gin_layer(x, edge_index, eps, weight1, bias1, weight2, bias2):
    def mlp(z):
        return np.maximum(z @ weight1 + bias1, 0.0) @ weight2 + bias2
    return gin_conv(x, edge_index, mlp=mlp, eps=eps)


def _copies(edge_index, num_nodes):
    """The disjoint union of ``num_nodes`` copies, copy v with node v marked (mplib Graph)."""
    n, e = num_nodes, edge_index.shape[1]
    shift = np.repeat(np.arange(n, dtype=np.int64) * n, e)
    union_ei = np.tile(edge_index, (1, n)) + shift
    return Graph(union_ei, num_nodes=n * n, x=np.eye(n).reshape(-1, 1))


def ref_marked_colours(edge_index, num_nodes):
    if num_nodes == 0:
        return np.zeros((0, 0), np.int64)
    return wl_colors(_copies(edge_index, num_nodes)).reshape(num_nodes, num_nodes)


def ref_marked_wl_distinguishes(edge_index1, num_nodes1, edge_index2, num_nodes2):
    inv = refinement_invariants([Graph(edge_index1, num_nodes=num_nodes1),
                                 Graph(edge_index2, num_nodes=num_nodes2)], "marked")
    return bool(inv[0] != inv[1])


def ref_count_triangles(edge_index, num_nodes):
    g = nx.Graph()
    g.add_nodes_from(range(num_nodes))
    g.add_edges_from((int(u), int(v)) for u, v in edge_index.T if u != v)
    t = nx.triangles(g)
    return np.array([t[v] for v in range(num_nodes)], dtype=np.int64)


def ref_add_virtual_node(x, edge_index):
    g = add_virtual_node(Graph(edge_index, num_nodes=x.shape[0], x=x))
    return g.x.astype(x.dtype), g.edge_index


def _simple_laplacian(edge_index, n):
    a = np.zeros((n, n))
    a[edge_index[0], edge_index[1]] = 1.0
    a = np.maximum(a, a.T)
    np.fill_diagonal(a, 0.0)
    return a, np.diag(a.sum(axis=1)) - a


def resistance_drops(edge_index, num_nodes):
    """``{(u, v): drop of N tr(L^+)}`` for every non-edge u < v, by brute force (one pinv each)."""
    n = num_nodes
    a, lap = _simple_laplacian(edge_index, n)
    before = n * np.trace(np.linalg.pinv(lap))
    drops = {}
    for u in range(n):
        for v in range(u + 1, n):
            if a[u, v] == 0:
                b = np.zeros(n)
                b[u], b[v] = 1.0, -1.0
                drops[(u, v)] = before - n * np.trace(np.linalg.pinv(lap + np.outer(b, b)))
    return drops


def connected(edge_index, num_nodes):
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components
    a, _ = _simple_laplacian(edge_index, num_nodes)
    return num_nodes > 0 and connected_components(csr_matrix(a), directed=False)[0] == 1


def ref_rewire_step(edge_index, num_nodes):
    if not connected(edge_index, num_nodes):
        return None
    drops = resistance_drops(edge_index, num_nodes)
    if not drops:
        return None
    best = max(drops.values())
    return min(e for e, d in drops.items() if d >= best - TIE)


# -- cases -----------------------------------------------------------------------------------


def cases_gin_layer(rng):
    cases = []
    epsilons = [0.0, 0.5, -0.25]
    for k, (label, n, ei) in enumerate(graph_suite(rng)):
        eps = epsilons[k] if k < len(epsilons) else float(np.round(rng.uniform(-0.5, 1.0), 3))
        f, h, o = (int(v) for v in rng.integers(1, 5, 3))
        args = (rng.standard_normal((n, f)), ei, eps, rng.standard_normal((f, h)), rng.standard_normal(h),
                rng.standard_normal((h, o)), rng.standard_normal(o))
        cases.append(Case(f"{label}, eps={eps}, widths {f} -> {h} -> {o}", args))
    n = int(rng.integers(4, 8))
    ei = undirected(random_edges(rng, n, 2 * n))
    w1 = -np.abs(rng.standard_normal((2, 3)))  # positive features: every hidden unit below zero
    cases.append(Case("ReLU cuts every hidden unit (positive features, negative weights)",
                      (np.abs(rng.standard_normal((n, 2))), ei, 0.1, w1, -np.ones(3), rng.standard_normal((3, 2)),
                       rng.standard_normal(2))))
    return cases


def _marked_suite(rng):
    out = graph_suite(rng, large=False)
    out.append(("two triangles (regular: 1-WL sees one colour)", 6, relabelled(rng, two_triangles(), 6)))
    out.append(("K3,3 (regular, no triangle)", 6, relabelled(rng, k33(), 6)))
    n = int(rng.integers(8, 13))
    out.append(("a random tree", n, relabelled(rng, random_tree(rng, n), n)))
    n = 30
    out.append(("larger random graph", n, random_undirected(rng, n, 2 * n)))
    return out


def cases_marked_colours(rng):
    return [Case(label, (ei, n)) for label, n, ei in _marked_suite(rng)]


def cases_marked_wl_distinguishes(rng):
    cases = []

    def add(label, a, na, b, nb):
        if rng.random() < 0.5:
            a, na, b, nb = b, nb, a, na
        cases.append(Case(label, (a, na, b, nb)))

    add("C6 and two triangles", relabelled(rng, cycle(6), 6), 6, relabelled(rng, two_triangles(), 6), 6)
    add("K3,3 and the prism", relabelled(rng, k33(), 6), 6, relabelled(rng, prism(), 6), 6)
    six = [k for k, p in enumerate(ATLAS_WL_PAIRS) if p[0] == 6 and k not in (0, 3)]
    seven = [k for k, p in enumerate(ATLAS_WL_PAIRS) if p[0] == 7]
    for k in [int(rng.choice(six))] + [int(k) for k in rng.choice(seven, 2, replace=False)]:
        n, a, b = ATLAS_WL_PAIRS[k]
        add(f"a non-regular pair on {n} nodes that 1-WL confuses", relabelled(rng, atlas_edges(a), n), n,
            relabelled(rng, atlas_edges(b), n), n)
    add("the Shrikhande graph and the 4x4 rook's graph (strongly regular)",
        relabelled(rng, shrikhande(), 16), 16, relabelled(rng, rook_4x4(), 16), 16)
    for label, n, ei in graph_suite(rng, large=False):
        if n > 1 and label != "no edges at all":
            add(f"{label}, and a relabelled copy", ei, n, relabelled(rng, ei, n), n)
    n = int(rng.integers(8, 12))
    g = random_undirected(rng, n, 2 * n)
    add("two graphs with the same degrees (edges rewired)", g, n, edge_swaps(rng, g, 2), n)
    n = int(rng.integers(3, 7))
    add("two graphs without edges (isolated nodes only)", np.zeros((2, 0), np.int64), n,
        np.zeros((2, 0), np.int64), n)
    n = int(rng.integers(5, 9))
    g = random_undirected(rng, n, 2 * n)
    add("different numbers of nodes (one isolated node added)", g, n, relabelled(rng, g, n), n + 1)
    add("one node and one node", np.zeros((2, 0), np.int64), 1, np.zeros((2, 0), np.int64), 1)
    n = int(rng.integers(4, 8))
    g = relabelled(rng, path(n), n)
    add("a path and the same path with a self-loop", g, n, np.concatenate([g, [[0], [0]]], axis=1), n)
    n = int(rng.integers(5, 9))
    ring = np.stack([np.arange(n), (np.arange(n) + 1) % n]).astype(np.int64)
    add("a directed cycle and the same cycle with one edge reversed", ring, n,
        np.concatenate([ring[:, 1:], ring[::-1, :1]], axis=1), n)
    return cases


def cases_count_triangles(rng):
    cases = [Case(label, (ei, n)) for label, n, ei in graph_suite(rng)]
    cases.append(Case("K3,3 (no triangle)", (relabelled(rng, k33(), 6), 6)))
    cases.append(Case("the prism (one triangle through every node)", (relabelled(rng, prism(), 6), 6)))
    n = int(rng.integers(4, 7))
    full = np.array([[u, v] for u in range(n) for v in range(n) if u != v], np.int64).T
    cases.append(Case(f"the complete graph K{n}", (relabelled(rng, full, n), n)))
    n = int(rng.integers(5, 9))
    tri = np.array([[0, 1, 2], [1, 2, 0]], np.int64)
    both = np.concatenate([tri, tri[::-1], tri], axis=1)  # both directions, and one direction twice
    cases.append(Case("a triangle stored one way only", (tri[:, rng.permutation(3)], 3)))
    cases.append(Case("a triangle stored both ways, one way twice (parallel edges), isolated nodes", (both, n)))
    cases.append(Case("one node, no edges", (np.zeros((2, 0), np.int64), 1)))
    return cases


def cases_add_virtual_node(rng):
    cases = []
    for label, n, ei in graph_suite(rng):
        cases.append(Case(label, (rng.standard_normal((n, int(rng.integers(1, 4)))), ei)))
    cases.append(Case("an empty graph (no nodes)", (np.zeros((0, 2)), np.zeros((2, 0), np.int64))))
    return cases


def _unambiguous(ei, n):
    """No drop within the band where float round-off could decide a tie (best - 1e-6, best - TIE)."""
    if not connected(ei, n):
        return True
    drops = np.array(list(resistance_drops(ei, n).values()))
    if drops.size == 0:
        return True
    gap = drops.max() - drops
    return not np.any((gap > TIE) & (gap < 1e-6))


def wrong_rankings(edge_index, num_nodes):
    """Names of the slips that pick another edge than the right score on this graph.

    The right score of a missing edge is ``|L^+ b|^2 / (1 + R_uv)``; the slips drop or change the
    denominator, change a factor 2 in ``R_uv`` or ``|L^+ b|^2``, weigh the edges 2 (an adjacency
    of 2s), round the drop down to an integer, or rank by the resistance alone.
    """
    n = num_nodes
    a, lap = _simple_laplacian(edge_index, n)
    lp = np.linalg.pinv(lap)
    lp2 = lp @ lp
    d, d2 = np.diag(lp), np.diag(lp2)
    res = d[:, None] + d[None, :] - 2 * lp
    q = d2[:, None] + d2[None, :] - 2 * lp2
    with np.errstate(all="ignore"):  # 0 / 0 on the diagonal, never a candidate
        scores = {"right": q / (1 + res), "no denominator": q, "times (1 + R)": q * (1 + res),
                  "2 + R": q / (2 + res), "R alone": res, "R without the 1": q / np.where(res > 0, res, 1),
                  "2 L^+ as L^+": q / (1 + d[:, None] + d[None, :] - lp),
                  "2 L^+ as 3 L^+": q / (1 + d[:, None] + d[None, :] - 3 * lp),
                  "2 L^+2 as L^+2": (d2[:, None] + d2[None, :] - lp2) / (1 + res),
                  "2 L^+2 as 3 L^+2": (d2[:, None] + d2[None, :] - 3 * lp2) / (1 + res),
                  "adjacency 2": q / (4 + 2 * res), "floored drop": np.floor(n * q / (1 + res)) / n}
        candidate = np.triu(a == 0, 1)
        picks = {}
        for name, score in scores.items():
            score = np.where(candidate, n * score, -np.inf)
            picks[name] = tuple(np.argwhere(score >= score.max() - TIE)[0])  # the tie rule of the task
    return {k for k, e in picks.items() if e != picks["right"]}


def cases_rewire_step(rng):
    out = []

    def add(label, ei, n):
        out.append(Case(label, (np.ascontiguousarray(ei[:, rng.permutation(ei.shape[1])]), n)))

    missed = {"no denominator", "times (1 + R)", "2 + R", "R alone", "R without the 1", "2 L^+ as L^+",
              "2 L^+ as 3 L^+", "2 L^+2 as L^+2", "2 L^+2 as 3 L^+2", "adjacency 2", "floored drop"}
    for _ in range(200):  # sparse random graphs until each slip picks a wrong edge on one of them
        n = int(rng.integers(7, 14))
        ei = relabelled(rng, undirected(np.concatenate([random_tree(rng, n), random_edges(rng, n, n // 3)],
                                                       axis=1)), n)
        caught = wrong_rankings(ei, n) & missed
        if (caught or not out) and _unambiguous(ei, n):
            missed -= caught
            add("connected sparse random graph", ei, n)
        if not missed and len(out) >= 2:
            break
    n = int(rng.integers(5, 10))
    add("a path (the best edge closes a cycle)", relabelled(rng, path(n), n), n)
    n = int(rng.integers(6, 10))
    add("a cycle (many tied chords: the smallest pair)", relabelled(rng, cycle(n), n), n)
    a, b = int(rng.integers(3, 6)), int(rng.integers(3, 6))
    left = np.array([[u, v] for u in range(a) for v in range(a) if u != v], np.int64).T
    right = np.array([[u, v] for u in range(b) for v in range(b) if u != v], np.int64).T + a
    bridge = undirected(np.array([[int(rng.integers(0, a))], [a + int(rng.integers(0, b))]]))
    add("a barbell: two cliques joined by one edge", relabelled(rng, np.concatenate([left, right, bridge], 1),
                                                                a + b), a + b)
    while True:
        n = int(rng.integers(8, 13))
        ei = relabelled(rng, random_tree(rng, n), n)
        if _unambiguous(ei, n):
            break
    add("a random tree", ei, n)
    while True:
        n = int(rng.integers(6, 10))
        t = random_tree(rng, n)
        ei = np.concatenate([t[:, t[0] < t[1]], random_edges(rng, n, 2)], axis=1)  # one direction only
        loops = np.stack([rng.choice(n, 2, replace=False)] * 2)
        ei = np.concatenate([ei, ei[:, :2], loops], axis=1)
        if _unambiguous(ei, n):
            break
    add("directed edges, parallel edges and self-loops (a simple undirected graph underneath)", ei, n)
    a, b = int(rng.integers(3, 6)), int(rng.integers(2, 5))
    add("two components (disconnected: None)", relabelled(rng, union((cycle(a), a), (path(b), b))[0], a + b), a + b)
    n = int(rng.integers(5, 9))
    ei = relabelled(rng, np.concatenate([path(n - 1), np.zeros((2, 0), np.int64)], axis=1), n)
    add("isolated nodes (disconnected: None)", ei, n)
    n = int(rng.integers(2, 5))
    add("no edges at all (disconnected: None)", np.zeros((2, 0), np.int64), n)
    n = int(rng.integers(3, 6))
    full = np.array([[u, v] for u in range(n) for v in range(n) if u != v], np.int64).T
    add(f"the complete graph K{n} (nothing to add: None)", full, n)
    add("one node (nothing to add: None)", np.zeros((2, 0), np.int64), 1)
    add("an empty graph (no nodes: None)", np.zeros((2, 0), np.int64), 0)
    while True:
        n = 24
        ei = relabelled(rng, undirected(np.concatenate([random_tree(rng, n), random_edges(rng, n, n)], axis=1)), n)
        if _unambiguous(ei, n):
            break
    add("larger connected graph", ei, n)
    return out


register("08.gin_layer", "gin_layer", ref_gin_layer, cases_gin_layer, array_result(dtype="float"),
         keep_float=True)
register("08.marked_colours", "marked_colours", ref_marked_colours, cases_marked_colours,
         colour_table_result())
register("08.marked_wl_distinguishes", "marked_wl_distinguishes", ref_marked_wl_distinguishes,
         cases_marked_wl_distinguishes, exact_result(bool))
register("08.count_triangles", "count_triangles", ref_count_triangles, cases_count_triangles,
         array_result(dtype="int"))
register("08.add_virtual_node", "add_virtual_node", ref_add_virtual_node, cases_add_virtual_node,
         virtual_node_result(), keep_float=True)
register("08.rewire_step", "rewire_step", ref_rewire_step, cases_rewire_step, new_edge_result())
