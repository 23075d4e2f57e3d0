"""Hidden checks of assignment 03, attention: GAT scores, the att_src/att_dst form,
a stable softmax over incoming edges, and a multi-head GAT layer.
"""

import numpy as np

import mplib
from .registry import Case, array_result, register, tuple_result
from mplib.layers import gat_conv

from .graphs import graph_suite

# -- references ------------------------------------------------------------------------------


def ref_gat_scores(x, edge_index, weight, a, negative_slope=0.2):
    """e_ij = LeakyReLU(a · [W h_j ‖ W h_i]) for every edge j -> i (no self-loops added)."""
    h = x @ weight
    src, dst = edge_index
    f = h.shape[1]
    e = h[src] @ a[:f] + h[dst] @ a[f:]
    return np.where(e > 0, e, negative_slope * e)


def ref_split_attention(a):
    f = a.shape[0] // 2
    return a[:f].reshape(1, f).copy(), a[f:].reshape(1, f).copy()


def ref_edge_softmax(scores, index, num_nodes):
    return mplib.segment_softmax(scores, index, num_nodes)


def ref_gat_layer(x, edge_index, weight, att_src, att_dst, heads):
    return gat_conv(x, edge_index, weight, att_src, att_dst, heads=heads, concat=True)


# -- cases -----------------------------------------------------------------------------------


def cases_gat_scores(rng):
    cases = []
    for k, (label, n, ei) in enumerate(graph_suite(rng)):
        f_in, f_out = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        args = (rng.standard_normal((n, f_in)), ei, rng.standard_normal((f_in, f_out)),
                rng.standard_normal(2 * f_out))
        if k % 2:
            cases.append(Case(label + ", negative_slope=0.1", args, {"negative_slope": 0.1}))
        else:
            cases.append(Case(label, args))
    return cases


def cases_split_attention(rng):
    return [Case(f"F' = {f}", (rng.standard_normal(2 * f),)) for f in (1, 2, 3, 5, 8)]


def cases_edge_softmax(rng):
    cases = []
    for k, (label, n, ei) in enumerate(graph_suite(rng)):
        e = ei.shape[1]
        shape = (e,) if k % 2 == 0 else (e, int(rng.integers(2, 4)))
        scores = 3 * rng.standard_normal(shape)
        if k % 3 == 1:
            scores = scores * 400
            label += ", scores in the hundreds (exp overflows)"
        if len(shape) == 2:
            label += f", {shape[1]} heads"
        cases.append(Case(label, (scores, ei[1].copy(), n)))
    for label, n, ei in graph_suite(rng, large=False)[:2]:  # exp underflows to 0 without the shift
        scores = -1000 - rng.standard_normal(ei.shape[1])
        cases.append(Case(f"{label}, every score near -1000", (scores, ei[1].copy(), n)))
    return cases


def cases_gat_layer(rng):
    cases = []
    for k, (label, n, ei) in enumerate(graph_suite(rng)):
        heads = 1 + k % 3
        f_in, f_out = int(rng.integers(1, 5)), int(rng.integers(1, 4))
        args = (rng.standard_normal((n, f_in)), ei, rng.standard_normal((f_in, heads * f_out)),
                rng.standard_normal((heads, f_out)), rng.standard_normal((heads, f_out)), heads)
        cases.append(Case(f"{label}, heads={heads}", args))
    return cases


register("03.gat_scores", "gat_scores", ref_gat_scores, cases_gat_scores, array_result(dtype="float"),
         keep_float=True)
register("03.split_attention", "split_attention", ref_split_attention, cases_split_attention,
         tuple_result(array_result(dtype="float"), array_result(dtype="float")))
register("03.edge_softmax", "edge_softmax", ref_edge_softmax, cases_edge_softmax, array_result(dtype="float"),
         keep_float=True)
register("03.gat_layer", "gat_layer", ref_gat_layer, cases_gat_layer, array_result(dtype="float"),
         keep_float=True)
