"""Hidden checks of assignment 01, aggregators: scatter sum/mean/max, invariance, node ids.

The aggregate functions handed to ``is_permutation_invariant`` are module-level
numpy functions (never mplib), so they can be named in another process and the
tripwire does not fire when the student's code calls them.
"""

import numpy as np

import mplib
from .registry import Case, array_result, exact_result, register, tuple_result

from .graphs import graph_suite

# -- aggregate functions the student's invariance test is run on -----------------------------


def agg_sum(messages, index, num_nodes):
    """Sum of the messages of each node (invariant)."""
    out = np.zeros((num_nodes,) + messages.shape[1:])
    np.add.at(out, index, messages)
    return out


def agg_mean(messages, index, num_nodes):
    """Mean of the messages of each node (invariant)."""
    count = np.bincount(index, minlength=num_nodes).reshape((-1,) + (1,) * (messages.ndim - 1))
    return agg_sum(messages, index, num_nodes) / np.maximum(count, 1)


def agg_max(messages, index, num_nodes):
    """Maximum of the messages of each node, 0 if none (invariant)."""
    out = np.full((num_nodes,) + messages.shape[1:], -np.inf)
    np.maximum.at(out, index, messages)
    return np.where(np.isinf(out), 0.0, out)


def agg_first(messages, index, num_nodes):
    """The message listed first for each node (depends on the order: not invariant)."""
    out = np.zeros((num_nodes,) + messages.shape[1:])
    out[index[::-1]] = messages[::-1]  # the last write wins, i.e. the first message
    return out


def agg_position_weighted(messages, index, num_nodes):
    """Sum of the messages weighted by their position in the list (not invariant)."""
    weights = np.arange(1, len(index) + 1).reshape((-1,) + (1,) * (messages.ndim - 1))
    return agg_sum(messages * weights, index, num_nodes)


def agg_last(messages, index, num_nodes):
    """The message listed last for each node (depends on the order: not invariant)."""
    out = np.zeros((num_nodes,) + messages.shape[1:])
    out[index] = messages  # the last write wins
    return out


INVARIANT = (agg_sum, agg_mean, agg_max)
ORDER_DEPENDENT = (agg_first, agg_last, agg_position_weighted)

# -- references ------------------------------------------------------------------------------


def ref_scatter_sum(messages, index, num_nodes):
    return mplib.scatter(messages, index, num_nodes, reduce="sum")


def ref_scatter_mean(messages, index, num_nodes):
    return mplib.scatter(messages, index, num_nodes, reduce="mean")


def ref_scatter_max(messages, index, num_nodes):
    return mplib.scatter(messages, index, num_nodes, reduce="max")


def ref_aggregate_neighbours(x, edge_index, reduce):
    return mplib.propagate(x, edge_index, aggregate=reduce)


def ref_is_permutation_invariant(aggregate, messages, index, num_nodes, seed, trials=10):
    """Ground truth: try many more orders than the student's test does (``trials`` is theirs)."""
    rng = np.random.default_rng(seed + 12345)
    base = aggregate(messages, index, num_nodes)
    for _ in range(200):
        order = rng.permutation(len(index))
        if not np.allclose(aggregate(messages[order], index[order], num_nodes), base):
            return False
    return True


def ref_relabel(x, edge_index, perm):
    x_new = np.empty_like(x)
    x_new[perm] = x
    return x_new, perm[edge_index]


def ref_smallest_id_neighbour(x, edge_index):
    src, dst = edge_index
    n = x.shape[0]
    lowest = mplib.scatter(src, dst, n, reduce="min")
    has = np.bincount(dst, minlength=n) > 0
    out = np.zeros_like(x)
    out[has] = x[lowest[has]]
    return out


# -- cases -----------------------------------------------------------------------------------


def _message_cases(rng, negative=False):
    cases = []
    for k, (label, n, ei) in enumerate(graph_suite(rng)):
        f = int(rng.integers(1, 5))
        m = rng.standard_normal((ei.shape[1], f))
        if k % 3 == 1:
            m = m.astype(np.float32)
            label += ", float32 messages"
        if negative and k % 2 == 0:
            m = -np.abs(m) - 1
            label += ", all messages negative"
        cases.append(Case(label, (m, ei[1].copy(), n)))
    return cases


def cases_scatter_sum(rng):
    return _message_cases(rng)


def cases_scatter_mean(rng):
    return _message_cases(rng)


def cases_scatter_max(rng):
    return _message_cases(rng, negative=True)


def cases_aggregate_neighbours(rng):
    cases = []
    for k, (label, n, ei) in enumerate(graph_suite(rng)):
        for reduce in ("sum", "mean", "max"):
            x = rng.standard_normal((n, int(rng.integers(1, 4)))) - (1.5 if reduce == "max" else 0)
            cases.append(Case(f"{label}, reduce={reduce!r}", (x, ei, reduce)))
    return cases


def _busy_graph(rng):
    """Messages and receivers where some node gets at least 3 distinct messages."""
    n = int(rng.integers(3, 8))
    e = int(rng.integers(2 * n, 4 * n))
    index = rng.integers(0, n, e)
    index[:3] = index[0]
    messages = rng.standard_normal((e, int(rng.integers(1, 4))))
    return messages, index.astype(np.int64), n


def cases_is_permutation_invariant(rng):
    cases = []
    for fn in INVARIANT + ORDER_DEPENDENT:
        m, index, n = _busy_graph(rng)
        cases.append(Case(f"aggregate={fn.__name__}", (fn, m, index, n, int(rng.integers(0, 2**31)))))
    cases.append(Case("aggregate=agg_first, no messages",
                      (agg_first, np.zeros((0, 2)), np.zeros(0, np.int64), 3, 7)))
    m = 1e8 * rng.standard_normal((40, 2))
    index = rng.integers(0, 3, 40).astype(np.int64)
    cases.append(Case("aggregate=agg_sum, large messages (round-off)", (agg_sum, m, index, 3, 11)))
    # one trial: any reordering but the identity (chance 1/30!) changes a position-weighted sum
    m = rng.standard_normal((30, 2))
    index = rng.integers(0, 2, 30).astype(np.int64)
    cases.append(Case("aggregate=agg_position_weighted, trials=1",
                      (agg_position_weighted, m, index, 2, int(rng.integers(0, 2**31))), {"trials": 1}))
    return cases


def cases_relabel(rng):
    cases = []
    for label, n, ei in graph_suite(rng, large=False):
        x = rng.standard_normal((n, int(rng.integers(1, 4))))
        cases.append(Case(label, (x, ei, rng.permutation(n).astype(np.int64))))
    return cases


def cases_smallest_id_neighbour(rng):
    cases = []
    for label, n, ei in graph_suite(rng):
        cases.append(Case(label, (rng.standard_normal((n, int(rng.integers(1, 4)))), ei)))
    return cases


register("01.scatter_sum", "scatter_sum", ref_scatter_sum, cases_scatter_sum)
register("01.scatter_mean", "scatter_mean", ref_scatter_mean, cases_scatter_mean)
register("01.scatter_max", "scatter_max", ref_scatter_max, cases_scatter_max)
register("01.aggregate_neighbours", "aggregate_neighbours", ref_aggregate_neighbours,
         cases_aggregate_neighbours, array_result(dtype="float"), keep_float=True)
register("01.is_permutation_invariant", "is_permutation_invariant", ref_is_permutation_invariant,
         cases_is_permutation_invariant, exact_result(bool))
register("01.relabel", "relabel", ref_relabel, cases_relabel,
         tuple_result(array_result(), array_result(dtype="int")))
register("01.smallest_id_neighbour", "smallest_id_neighbour", ref_smallest_id_neighbour,
         cases_smallest_id_neighbour)
