"""Hidden checks of assignment 05, diagnosing failure: Dirichlet energy under repeated
averaging, effective resistance and the bottleneck edge, homophily, mixing with neighbours.
"""

import numpy as np

from .registry import Case, array_result, register
from mplib.diagnostics import dirichlet_energy, effective_resistance
from mplib.graph import add_self_loops
from mplib.homophily import edge_homophily, mix_with_neighbours, node_homophily
from mplib.message_passing import propagate

from .graphs import graph_suite, random_edges, undirected
from .wl_refinement import cycle, from_pairs, random_tree, relabelled, union

# -- comparators -----------------------------------------------------------------------------


def float_result(rtol=1e-6, atol=1e-9):
    """Comparator for a real number: a Python or numpy float close to the reference (NaN matches NaN)."""
    def compare(got, want):
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (float, np.floating)):
            kind = f"a {got.dtype} array of shape {got.shape}" if isinstance(got, np.ndarray) else type(got).__name__
            return f"expected a float, got {kind}"
        if np.isnan(want):
            return None if np.isnan(got) else "expected NaN (the ratio is 0 / 0 here), got a number"
        if np.isnan(got):
            return "got NaN where a number is expected"
        return None if np.isclose(got, want, rtol=rtol, atol=atol) else "wrong value"
    return compare


def edge_result():
    """Comparator for an undirected edge given as a tuple ``(u, v)`` of ints with ``u < v``."""
    def compare(got, want):
        if not isinstance(got, tuple) or len(got) != 2:
            return f"expected a tuple (u, v) of two node ids, got {type(got).__name__}"
        if not all(isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) for k in got):
            return "expected two integer node ids"
        if not got[0] < got[1]:
            return f"expected u < v, got ({got[0]}, {got[1]})"
        return None if tuple(map(int, got)) == want else "not the edge of largest effective resistance"
    return compare


# -- references ------------------------------------------------------------------------------


def ref_dirichlet_energy(x, edge_index):
    return dirichlet_energy(x, edge_index)


def ref_energy_under_averaging(x, edge_index, rounds):
    loops, _ = add_self_loops(edge_index, num_nodes=x.shape[0])
    energies = [dirichlet_energy(x, edge_index)]
    for _ in range(rounds):
        x = propagate(x, loops, aggregate="mean")
        energies.append(dirichlet_energy(x, edge_index))
    return np.array(energies)


def ref_effective_resistance(edge_index, num_nodes):
    return effective_resistance(edge_index, num_nodes)


def ref_bottleneck_edge(edge_index, num_nodes):
    r = effective_resistance(edge_index, num_nodes)
    src, dst = edge_index[:, edge_index[0] < edge_index[1]]
    k = int(np.argmax(r[src, dst]))
    return int(src[k]), int(dst[k])


def ref_edge_homophily(edge_index, y):
    return edge_homophily(edge_index, y) if edge_index.shape[1] else float("nan")


def ref_node_homophily(edge_index, y):
    return node_homophily(edge_index, y) if edge_index.shape[1] else float("nan")


def ref_mix_with_neighbours(x, edge_index, alpha):
    return mix_with_neighbours(x, edge_index, alpha)


# -- graphs ----------------------------------------------------------------------------------


def undirected_suite(rng):
    """Simple undirected graphs (every edge both ways, none repeated): the resistance situations."""
    out = []
    n = int(rng.integers(6, 12))
    out.append(("connected random graph", n, relabelled(rng, undirected(np.concatenate(
        [random_tree(rng, n), random_edges(rng, n, n)], axis=1)), n)))
    n = int(rng.integers(6, 12))
    out.append(("random graph, maybe disconnected", n, undirected(random_edges(rng, n, n))))
    a, b = int(rng.integers(3, 6)), int(rng.integers(2, 6))
    out.append(("two components (different components: infinite resistance)", a + b,
                relabelled(rng, union((cycle(a), a), (from_pairs([(0, 1)]) if b == 2 else cycle(b), b))[0], a + b)))
    n = int(rng.integers(5, 9))
    ei = undirected(random_edges(rng, n - 2, 2 * n))
    out.append(("isolated nodes", n, relabelled(rng, ei, n)))
    n = int(rng.integers(2, 6))
    out.append(("no edges at all", n, np.zeros((2, 0), np.int64)))
    out.append(("one node, no edges", 1, np.zeros((2, 0), np.int64)))
    n = int(rng.integers(6, 10))
    ei = undirected(np.concatenate([random_tree(rng, n), random_edges(rng, n, n)], axis=1))
    loops = np.stack([rng.choice(n, 2, replace=False)] * 2)
    out.append(("self-loops (they carry no current)", n, np.concatenate([ei, loops], axis=1)))
    n = int(rng.integers(8, 15))
    out.append(("a tree (every edge a bridge)", n, relabelled(rng, random_tree(rng, n), n)))
    n = 40  # above ~48 nodes a student's np.linalg.pinv may start BLAS threads: slow on a busy machine
    out.append(("larger connected random graph", n, undirected(np.concatenate(
        [random_tree(rng, n), random_edges(rng, n, 2 * n)], axis=1))))
    return [(label, n, np.ascontiguousarray(ei[:, rng.permutation(ei.shape[1])])) for label, n, ei in out]


def _cluster(rng, n):
    """A 2-edge-connected random cluster: a cycle plus random chords (no bridge inside)."""
    return undirected(np.concatenate([cycle(n), random_edges(rng, n, n)], axis=1))


def bottleneck_suite(rng):
    """Graphs whose edge of largest effective resistance is unique (by a clear margin)."""
    out = []
    for label, joins in [("two cliques joined by one edge (a barbell)", "clique"),
                         ("two random clusters joined by one edge", 1),
                         ("two random clusters joined by two edges", 2),
                         ("a random connected graph", 0),
                         ("a random connected graph", 0)]:
        while True:
            a, b = int(rng.integers(3, 8)), int(rng.integers(3, 8))
            if joins == "clique":
                left = from_pairs([(u, v) for u in range(a) for v in range(u + 1, a)])
                right = from_pairs([(u, v) for u in range(b) for v in range(u + 1, b)])
                ei, n = union((left, a), (right, b))
                ei = np.concatenate([ei, from_pairs([(int(rng.integers(0, a)), a + int(rng.integers(0, b)))])], axis=1)
            elif joins == 0:
                n = int(rng.integers(8, 16))
                ei = undirected(np.concatenate([random_tree(rng, n), random_edges(rng, n, n)], axis=1))
            else:
                ei, n = union((_cluster(rng, a), a), (_cluster(rng, b), b))
                bridges = [(int(rng.integers(0, a)), a + int(rng.integers(0, b))) for _ in range(joins)]
                ei = undirected(np.concatenate([ei, from_pairs(bridges)], axis=1))
            ei = relabelled(rng, ei, n)
            r = effective_resistance(ei, n)
            src, dst = ei[:, ei[0] < ei[1]]
            top = np.sort(r[src, dst])[::-1]
            if len(top) > 1 and top[0] - top[1] > 1e-6:
                break
        out.append((label, n, ei))
    return out


# -- cases -----------------------------------------------------------------------------------


def cases_dirichlet_energy(rng):
    cases = []
    for k, (label, n, ei) in enumerate(graph_suite(rng)):
        if k % 3 == 1:
            cases.append(Case(label + ", one feature (x of shape (N,))", (rng.standard_normal(n), ei)))
        else:
            cases.append(Case(label, (rng.standard_normal((n, int(rng.integers(1, 4)))), ei)))
    n = int(rng.integers(4, 8))
    ei = undirected(random_edges(rng, n, 2 * n))
    cases.append(Case("constant features (energy 0)", (np.full((n, 2), 1.5), ei)))
    return cases


def cases_energy_under_averaging(rng):
    cases = []
    for k, (label, n, ei) in enumerate(graph_suite(rng)):
        rounds = 0 if k == 2 else int(rng.integers(1, 12))
        x = rng.standard_normal((n, int(rng.integers(1, 4))))
        cases.append(Case(f"{label}, rounds={rounds}", (x, ei, rounds)))
    return cases


def cases_effective_resistance(rng):
    return [Case(label, (ei, n)) for label, n, ei in undirected_suite(rng)]


def cases_bottleneck_edge(rng):
    return [Case(label, (ei, n)) for label, n, ei in bottleneck_suite(rng)]


def _label_cases(rng):
    cases = []
    for label, n, ei in graph_suite(rng):
        c = int(rng.integers(2, 5))
        cases.append(Case(f"{label}, {c} classes", (ei, rng.integers(0, c, n).astype(np.int64))))
    n = int(rng.integers(4, 8))
    half = n // 2
    bip = from_pairs([(u, v) for u in range(half) for v in range(half, n)])
    cases.append(Case("complete bipartite graph, classes = sides", (bip, (np.arange(n) >= half).astype(np.int64))))
    return cases


def cases_edge_homophily(rng):
    return _label_cases(rng)


def cases_node_homophily(rng):
    return _label_cases(rng)


def cases_mix_with_neighbours(rng):
    cases = []
    alphas = [0.0, 0.5, 1.0]
    for k, (label, n, ei) in enumerate(graph_suite(rng)):
        alpha = alphas[k] if k < len(alphas) else float(rng.random())
        x = rng.standard_normal((n, int(rng.integers(1, 4))))
        cases.append(Case(f"{label}, alpha={alpha:.2f}", (x, ei, alpha)))
    n = int(rng.integers(4, 8))
    half = n // 2
    bip = from_pairs([(u, v) for u in range(half) for v in range(half, n)])
    x = np.where(np.arange(n) < half, 1.0, -1.0)[:, None]
    cases.append(Case("complete bipartite graph, +1 / -1 features", (x, bip, float(rng.random()))))
    return cases


register("05.dirichlet_energy", "dirichlet_energy", ref_dirichlet_energy, cases_dirichlet_energy,
         float_result())
register("05.energy_under_averaging", "energy_under_averaging", ref_energy_under_averaging,
         cases_energy_under_averaging, array_result(dtype="float"))
register("05.effective_resistance", "effective_resistance", ref_effective_resistance,
         cases_effective_resistance, array_result(rtol=1e-6, atol=1e-8, dtype="float"))
register("05.bottleneck_edge", "bottleneck_edge", ref_bottleneck_edge, cases_bottleneck_edge, edge_result())
register("05.edge_homophily", "edge_homophily", ref_edge_homophily, cases_edge_homophily, float_result())
register("05.node_homophily", "node_homophily", ref_node_homophily, cases_node_homophily, float_result())
register("05.mix_with_neighbours", "mix_with_neighbours", ref_mix_with_neighbours, cases_mix_with_neighbours,
         array_result(dtype="float"), keep_float=True)
