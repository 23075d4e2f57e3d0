"""Hidden checks of assignment 06, beyond one hop: shortest-path virtual edges, distance
profiles, and SPD-WL (colour refinement that sees distances) on one graph and on two.

Virtual edges are compared as *sets* of triples ``(u, v, d)`` (any column order is
right); colourings as partitions (:func:`course.checks.wl_refinement.partition_result`).
"""

import numpy as np

from .registry import Case, array_result, exact_result, register
from mplib.graph import Graph
from mplib.hops import shortest_path_edges, spd_wl_colors, spd_wl_test

from .graphs import graph_suite, random_edges
from .wl_refinement import (cycle, edge_swaps, k33, partition_result, path, prism, random_tree,
                            random_undirected, relabelled, rook_4x4, shrikhande, two_triangles, union)

# -- comparator ------------------------------------------------------------------------------


def triples_result():
    """Comparator for ``(edge_index, distance)``: the same set of triples ``(u, v, d)``, in any order."""
    def compare(got, want):
        if not isinstance(got, tuple) or len(got) != 2:
            return "expected a tuple (edge_index, distance)"
        ei, d = got
        want_ei, want_d = want
        if type(ei) is not np.ndarray or ei.ndim != 2 or ei.shape[0] != 2:
            return "element 0 (edge_index) must be an integer array of shape (2, P)"
        if type(d) is not np.ndarray or d.ndim != 1:
            return "element 1 (distance) must be an integer array of shape (P,)"
        if ei.dtype.kind not in "iu" or d.dtype.kind not in "iu":
            return f"expected integer arrays, got dtypes {ei.dtype} and {d.dtype}"
        if d.shape[0] != ei.shape[1]:
            return f"edge_index has {ei.shape[1]} columns but distance has {d.shape[0]} entries"
        got_set = set(zip(*ei.tolist(), d.tolist()))
        if len(got_set) < d.shape[0]:
            return "some virtual edges are listed twice"
        want_set = set(zip(*want_ei.tolist(), want_d.tolist()))
        if got_set == want_set:
            return None
        pairs_got = {(u, v) for u, v, _ in got_set}
        pairs_want = {(u, v) for u, v, _ in want_set}
        if pairs_got == pairs_want:
            return f"the right pairs, but {len(got_set - want_set)} of them with a wrong distance"
        extra, missing = len(pairs_got - pairs_want), len(pairs_want - pairs_got)
        return f"{len(want_set)} virtual edges expected, got {len(got_set)} ({extra} not expected, {missing} missing)"
    return compare


# -- references ------------------------------------------------------------------------------


def ref_shortest_path_edges(edge_index, num_nodes, max_distance=None):
    return shortest_path_edges(edge_index, max_distance, num_nodes=num_nodes)


def ref_distance_profile(edge_index, num_nodes, max_distance):
    ei, d = shortest_path_edges(edge_index, max_distance, num_nodes=num_nodes)
    out = np.zeros((num_nodes, max_distance), dtype=np.int64)
    np.add.at(out, (ei[1], d - 1), 1)
    return out


def ref_spd_wl_colors(edge_index, num_nodes, max_distance):
    return spd_wl_colors(Graph(edge_index, num_nodes=num_nodes), max_distance)


def ref_spd_wl_distinguishes(edge_index1, num_nodes1, edge_index2, num_nodes2, max_distance):
    g1, g2 = Graph(edge_index1, num_nodes=num_nodes1), Graph(edge_index2, num_nodes=num_nodes2)
    return bool(spd_wl_test(g1, g2, max_distance).distinguished)


# -- cases -----------------------------------------------------------------------------------


def _suite(rng):
    out = [s for s in graph_suite(rng, large=False)]
    n = int(rng.integers(7, 12))
    out.append(("a path (long distances)", n, relabelled(rng, path(n), n)))
    n = int(rng.integers(8, 14))
    out.append(("a directed cycle (distances one way only)", n,
                np.stack([np.arange(n), (np.arange(n) + 1) % n]).astype(np.int64)))
    n = int(rng.integers(10, 16))
    out.append(("a random tree", n, relabelled(rng, random_tree(rng, n), n)))
    n = 120
    out.append(("larger random graph", n, random_edges(rng, n, 240)))
    return out


def cases_shortest_path_edges(rng):
    cases = []
    for k, (label, n, ei) in enumerate(_suite(rng)):
        if k % 3 == 0:
            cases.append(Case(label + ", max_distance=None", (ei, n)))
        else:
            K = int(rng.integers(1, 4))
            cases.append(Case(f"{label}, max_distance={K}", (ei, n), {"max_distance": K}))
    return cases


def cases_distance_profile(rng):
    return [Case(f"{label}, max_distance={K}", (ei, n, K))
            for label, n, ei in _suite(rng) for K in [int(rng.integers(1, 5))]]


def cases_spd_wl_colors(rng):
    cases = [Case(f"{label}, max_distance={K}", (ei, n, K))
             for label, n, ei in _suite(rng) for K in [int(rng.integers(1, 4))]]
    cases.append(Case("C6 and two triangles side by side, max_distance=2",
                      (relabelled(rng, union((cycle(6), 6), (two_triangles(), 6))[0], 12), 12, 2)))
    return cases


def cases_spd_wl_distinguishes(rng):
    cases = []

    def add(label, a, na, b, nb, K):
        if rng.random() < 0.5:
            a, na, b, nb = b, nb, a, na
        cases.append(Case(f"{label}, max_distance={K}", (a, na, b, nb, K)))

    c6, tt = relabelled(rng, cycle(6), 6), relabelled(rng, two_triangles(), 6)
    add("C6 and two triangles", c6, 6, tt, 6, 2)
    add("C6 and two triangles", c6, 6, tt, 6, 1)
    add("K3,3 and the prism", relabelled(rng, k33(), 6), 6, relabelled(rng, prism(), 6), 6, 2)
    add("the Shrikhande graph and the 4x4 rook's graph", relabelled(rng, shrikhande(), 16), 16,
        relabelled(rng, rook_4x4(), 16), 16, 2)
    a, b = int(rng.integers(4, 6)), int(rng.integers(4, 6))
    add("a cycle and two cycles of the same total length", relabelled(rng, cycle(a + b), a + b), a + b,
        union((cycle(a), a), (cycle(b), b))[0], a + b, int(rng.integers(2, 4)))
    n = int(rng.integers(8, 13))
    g = random_undirected(rng, n, 2 * n)
    add("a random graph and a relabelled copy", g, n, relabelled(rng, g, n), n, int(rng.integers(1, 4)))
    n = int(rng.integers(10, 16))
    g = random_undirected(rng, n, 2 * n)
    add("two graphs with the same degrees (edges rewired)", g, n, edge_swaps(rng, g, 3), n, 2)
    n = int(rng.integers(3, 7))
    add("two graphs without edges", np.zeros((2, 0), np.int64), n, np.zeros((2, 0), np.int64), n, 2)
    n = int(rng.integers(5, 9))
    g = random_undirected(rng, n, 2 * n)
    add("different numbers of nodes (one isolated node added)", g, n, relabelled(rng, g, n), n + 1, 2)
    a, b = int(rng.integers(3, 6)), int(rng.integers(7, 10))
    cases.append(Case("a small cycle, then a larger one, max_distance=2",
                      (cycle(a), a, relabelled(rng, cycle(b), b), b, 2)))
    cases.append(Case("a larger path, then a small one, max_distance=1",
                      (relabelled(rng, path(b), b), b, path(a), a, 1)))
    return cases


register("06.shortest_path_edges", "shortest_path_edges", ref_shortest_path_edges, cases_shortest_path_edges,
         triples_result())
register("06.distance_profile", "distance_profile", ref_distance_profile, cases_distance_profile,
         array_result(dtype="int"))
register("06.spd_wl_colors", "spd_wl_colors", ref_spd_wl_colors, cases_spd_wl_colors, partition_result())
register("06.spd_wl_distinguishes", "spd_wl_distinguishes", ref_spd_wl_distinguishes,
         cases_spd_wl_distinguishes, exact_result(bool))
