"""Hidden checks of assignment 02, one round of message passing: ψ, ⊕, φ; GCN; equivariance.

The message, update and layer functions handed to the student's code are
module-level numpy functions (never mplib), nameable from another process.
"""

import numpy as np

import mplib
from mplib.layers import gcn_conv
from .registry import Case, array_result, exact_result, register

from .graphs import graph_suite

# -- ψ and φ handed to message_passing -------------------------------------------------------


def psi_sender(h_i, h_j):
    """ψ = h_j: the sender's state."""
    return h_j.copy()


def psi_difference(h_i, h_j):
    """ψ = h_j − h_i."""
    return h_j - h_i


def psi_gated(h_i, h_j):
    """ψ = tanh(h_i) ⊙ h_j: the receiver gates what it hears."""
    return np.tanh(h_i) * h_j


def psi_concat(h_i, h_j):
    """ψ = [h_i ‖ h_j]: twice as wide as the states."""
    return np.concatenate([h_i, h_j], axis=1)


def phi_message(h, m):
    """φ = m: the new state is the aggregated message."""
    return m.copy()


def phi_residual(h, m):
    """φ = h + m."""
    return h + m


def phi_relu_concat(h, m):
    """φ = ReLU([h ‖ m])."""
    return np.maximum(np.concatenate([h, m], axis=1), 0.0)


SAME_WIDTH = (psi_sender, psi_difference, psi_gated)

# -- layers handed to is_permutation_equivariant ---------------------------------------------


def _sum_in(values, edge_index, n):
    out = np.zeros((n,) + values.shape[1:])
    np.add.at(out, edge_index[1], values[edge_index[0]])
    return out


def layer_sum(x, edge_index):
    """Sum of the neighbours' features (equivariant)."""
    return _sum_in(x, edge_index, x.shape[0])


def layer_mean_residual(x, edge_index):
    """x + mean of the neighbours' features (equivariant)."""
    deg = np.bincount(edge_index[1], minlength=x.shape[0])[:, None]
    return x + _sum_in(x, edge_index, x.shape[0]) / np.maximum(deg, 1)


def layer_degree(x, edge_index):
    """x with the in-degree appended as a column (equivariant)."""
    deg = np.bincount(edge_index[1], minlength=x.shape[0])[:, None]
    return np.concatenate([x, deg], axis=1)


def layer_add_node_id(x, edge_index):
    """x plus the node's id (uses the names: not equivariant)."""
    return x + np.arange(x.shape[0])[:, None]


def layer_first_node(x, edge_index):
    """x plus the features of node 0 (uses the names: not equivariant)."""
    return x + x[0]


def layer_smallest_id(x, edge_index):
    """Features of the lowest-numbered in-neighbour (uses the names: not equivariant)."""
    n = x.shape[0]
    lowest = np.full(n, n)
    np.minimum.at(lowest, edge_index[1], edge_index[0])
    out = np.zeros_like(x)
    out[lowest < n] = x[lowest[lowest < n]]
    return out


def layer_sparse_sum(x, edge_index):
    """Sum of the neighbours' features through a sparse matrix (equivariant; after a relabelling the
    sums are added in another order, so the outputs agree only up to round-off)."""
    from scipy.sparse import csr_matrix
    n = x.shape[0]
    adj = csr_matrix((np.ones(edge_index.shape[1]), (edge_index[1], edge_index[0])), shape=(n, n))
    return adj @ (x * 1e3)


EQUIVARIANT = (layer_sum, layer_mean_residual, layer_degree, layer_sparse_sum)
NOT_EQUIVARIANT = (layer_add_node_id, layer_first_node, layer_smallest_id)

# -- references ------------------------------------------------------------------------------


def ref_message_passing(x, edge_index, message, aggregate, update):
    return mplib.propagate(x, edge_index, message=lambda x_i, x_j, e: message(x_i, x_j),
                           aggregate=aggregate, update=update)


def ref_gcn_normalized_adjacency(edge_index, num_nodes):
    eye = np.eye(num_nodes)
    return gcn_conv(eye, edge_index, eye)  # Ŝ @ I @ I


def ref_gcn_layer(x, edge_index, weight, bias):
    return gcn_conv(x, edge_index, weight, bias)


def ref_is_permutation_equivariant(layer, x, edge_index, seed, trials=10):
    """Ground truth: many more relabellings than the student's test tries (``trials`` is theirs)."""
    rng = np.random.default_rng(seed + 777)
    base = layer(x, edge_index)
    for _ in range(100):
        perm = rng.permutation(x.shape[0])
        x_new = np.empty_like(x)
        x_new[perm] = x
        if not np.allclose(layer(x_new, perm[edge_index])[perm], base):
            return False
    return True


# -- cases -----------------------------------------------------------------------------------


def cases_message_passing(rng):
    """Every aggregate meets every graph kind; ψ and φ rotate.

    With ``max``, every other graph has negative states sent as they are (ψ = h_j, φ = m), so a
    maximum that starts from 0, or a node without messages left at -inf, shows in the result.
    """
    cases = []
    psis = SAME_WIDTH + (psi_concat,)
    phis = (phi_message, phi_residual, phi_relu_concat)
    k = 0
    for i, (label, n, ei) in enumerate(graph_suite(rng)):
        for aggregate in ("sum", "mean", "max"):
            psi = psis[k % len(psis)]
            phi = phis[k % len(phis)] if psi is not psi_concat else (phi_message, phi_relu_concat)[k % 2]
            x = rng.standard_normal((n, int(rng.integers(1, 4))))
            extra = ""
            if aggregate == "max":
                psi, phi = (psi_sender, phi_message) if i % 2 == 0 else (SAME_WIDTH[i // 2 % 3], phi_residual)
                if i % 2 == 0:
                    x, extra = -np.abs(x) - 1, ", negative states"
            cases.append(Case(f"{label}{extra}, message={psi.__name__}, aggregate={aggregate!r}, "
                              f"update={phi.__name__}", (x, ei, psi, aggregate, phi)))
            k += 1
    return cases


def cases_gcn_normalized_adjacency(rng):
    return [Case(label, (ei, n)) for label, n, ei in graph_suite(rng, large=False)]


def cases_gcn_layer(rng):
    cases = []
    for k, (label, n, ei) in enumerate(graph_suite(rng)):
        f_in, f_out = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        x = rng.standard_normal((n, f_in))
        weight = rng.standard_normal((f_in, f_out))
        bias = None if k % 3 == 2 else rng.standard_normal(f_out)
        cases.append(Case(label + (", no bias" if bias is None else ""), (x, ei, weight, bias)))
    return cases


def cases_is_permutation_equivariant(rng):
    cases = []
    for layer in EQUIVARIANT + NOT_EQUIVARIANT:
        n = int(rng.integers(5, 9))
        src = rng.integers(0, n, 3 * n)
        dst = rng.integers(0, n, 3 * n)
        src[:3] = rng.choice(n, 3, replace=False)
        dst[:3] = dst[0]  # some node has three different in-neighbours
        ei = np.stack([src, dst]).astype(np.int64)
        x = rng.standard_normal((n, int(rng.integers(1, 4))))
        cases.append(Case(f"layer={layer.__name__}", (layer, x, ei, int(rng.integers(0, 2**31)))))
    # one trial: any relabelling but the identity (chance 1/n!) shows that node ids are used
    n = int(rng.integers(8, 11))
    ei = np.stack([rng.integers(0, n, 2 * n), rng.integers(0, n, 2 * n)]).astype(np.int64)
    cases.append(Case("layer=layer_add_node_id, trials=1",
                      (layer_add_node_id, rng.standard_normal((n, 2)), ei, int(rng.integers(0, 2**31))),
                      {"trials": 1}))
    return cases


register("02.message_passing", "message_passing", ref_message_passing, cases_message_passing,
         array_result(dtype="float"), keep_float=True)
register("02.gcn_normalized_adjacency", "gcn_normalized_adjacency", ref_gcn_normalized_adjacency,
         cases_gcn_normalized_adjacency, array_result(dtype="float"))
register("02.gcn_layer", "gcn_layer", ref_gcn_layer, cases_gcn_layer, array_result(dtype="float"),
         keep_float=True)
register("02.is_permutation_equivariant", "is_permutation_equivariant", ref_is_permutation_equivariant,
         cases_is_permutation_equivariant, exact_result(bool))
