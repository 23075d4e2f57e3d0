"""Tests for mplib/message_passing.py: propagate follows the ψ/⊕/φ formula exactly."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import assert_gradients, assert_tensor_path_equals_array_path, graph_with_loops
from helpers import assert_equivariant, random_graph
from mplib.aggregation import REDUCTIONS, scatter
from mplib.functional import leaky_relu, relu
from mplib.message_passing import adjacency_matrix, propagate

NUMPY_REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}


def loop_propagate(x, edge_index, message, reduce, update):
    """Independent oracle: the formula, one node at a time."""
    src, dst = edge_index
    out = []
    for v in range(x.shape[0]):
        msgs = [message(x[v], x[u]) for u in src[dst == v]]
        agg = NUMPY_REDUCE[reduce](msgs, axis=0) if msgs else np.zeros_like(message(x[v], x[v]))
        out.append(update(x[v], agg))
    return np.array(out)


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("seed", range(15))
def test_propagate_matches_formula(reduce, seed):
    rng = np.random.default_rng(seed)
    x, ei = random_graph(rng)
    W = rng.standard_normal((3, 2))
    psi = lambda x_i, x_j: np.tanh(x_j @ W) + x_i[..., :2]  # noqa: E731
    phi = lambda h, m: np.concatenate([h, m], axis=-1)  # noqa: E731
    got = propagate(x, ei, message=lambda xi, xj, e: psi(xi, xj), aggregate=reduce, update=phi)
    np.testing.assert_allclose(got, loop_propagate(x, ei, psi, reduce, phi), atol=1e-12)


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("seed", range(10))
def test_propagate_default_message_fast_path_equals_explicit(reduce, seed):
    rng = np.random.default_rng(seed)
    x, ei = random_graph(rng)
    fast = propagate(x, ei, aggregate=reduce)
    slow = propagate(x, ei, message=lambda xi, xj, e: xj, aggregate=reduce)
    np.testing.assert_allclose(fast, slow, atol=1e-12)


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("seed", range(10))
def test_propagate_permutation_equivariant(reduce, seed):
    rng = np.random.default_rng(seed)
    x, ei = random_graph(rng)
    W = rng.standard_normal((3, 3))
    layer = lambda x_, ei_: propagate(  # noqa: E731
        x_, ei_, message=lambda xi, xj, e: np.maximum(xj @ W - xi, 0), aggregate=reduce,
        update=lambda h, m: h + m,
    )
    assert_equivariant(layer, x, ei, rng)


def test_propagate_edge_attr_reaches_message():
    x = np.zeros((3, 1))
    ei = np.array([[0, 1], [2, 2]])
    out = propagate(x, ei, message=lambda xi, xj, e: e, edge_attr=np.array([[2.0], [5.0]]), aggregate="max")
    np.testing.assert_array_equal(out, [[0.0], [0.0], [5.0]])


def test_propagate_callable_aggregate():
    x = np.arange(3.0)[:, None]
    ei = np.array([[0, 1], [2, 2]])
    out = propagate(x, ei, aggregate=lambda m, index, n: np.bincount(index, minlength=n)[:, None])
    np.testing.assert_array_equal(out, [[0], [0], [2]])


def test_propagate_isolated_node_aggregates_zero():
    x = np.array([[1.0], [-3.0], [2.0]])
    ei = np.array([[0], [1]])
    for reduce in REDUCTIONS:
        assert propagate(x, ei, aggregate=reduce)[2, 0] == 0.0


def test_propagate_does_not_mutate():
    rng = np.random.default_rng(0)
    x, ei = random_graph(rng, num_nodes=5, num_edges=10)
    x0, ei0 = x.copy(), ei.copy()
    propagate(x, ei, update=lambda h, m: h + m)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(ei, ei0)


def test_adjacency_matrix_rows_are_receivers():
    A = adjacency_matrix([[0, 0, 2], [1, 1, 0]], 3).toarray()
    np.testing.assert_array_equal(A, [[0, 0, 1], [2, 0, 0], [0, 0, 0]])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(aggregate="median"), ValueError, r"`aggregate` must be one of"),
        (dict(message="x_j"), TypeError, r"`message` must be callable"),
        (dict(update=3), TypeError, r"`update` must be callable"),
        (dict(edge_index=[[0], [4]]), ValueError, r"`edge_index` refers to node 4, but the graph has only 3 nodes"),
        (dict(edge_index=[[0.5], [1]]), TypeError, r"`edge_index` must hold integer"),
        (dict(x=np.array([[np.nan], [0.0], [1.0]])), ValueError, r"`x` contains NaN"),
        (dict(edge_attr=np.ones((3, 1))), ValueError, r"`edge_attr` must have one row per edge \(2\)"),
        (dict(message=lambda xi, xj, e: xj[:1]), ValueError, r"`message` must return one row per edge \(2\)"),
        (dict(aggregate=lambda m, i, n: m[:1]), ValueError, r"`aggregate` must return one row per node \(3\)"),
    ],
)
def test_propagate_bad_input_names_argument(kwargs, error, match):
    args = dict(x=np.ones((3, 1)), edge_index=np.array([[0, 1], [1, 2]]))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        propagate(**args)


# ----------------------------------------------------------------------------- tensors: same numbers, gradients

@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), aggregate=st.sampled_from(REDUCTIONS), custom=st.booleans())
def test_propagate_tensor_path_equals_array_path_and_gradient(seed, aggregate, custom):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    ea = rng.standard_normal((ei.shape[1], 3))
    p = {"x": x, "W": rng.standard_normal((3, 3))}
    if custom:  # psi(h_v, h_u, e) = relu((h_u - h_v) W + e), phi(h, m) = h + leaky_relu(m)
        def f(q):
            return propagate(q["x"], ei, aggregate=aggregate, edge_attr=ea,
                             message=lambda xi, xj, e: relu((xj - xi) @ q["W"] + e),
                             update=lambda h, m: h + leaky_relu(m))
        out = assert_tensor_path_equals_array_path(f, p)
        m = np.maximum((x[ei[0]] - x[ei[1]]) @ p["W"] + ea, 0.0)  # the same round, written out
        agg = scatter(m, ei[1], len(x), aggregate)
        np.testing.assert_allclose(out, x + np.where(agg > 0, agg, 0.01 * agg), atol=1e-12)
        assert_gradients(f, p, rng)
    else:
        assert_tensor_path_equals_array_path(lambda q: propagate(q["x"], ei, aggregate=aggregate), {"x": x})
        assert_gradients(lambda q: propagate(q["x"], ei, aggregate=aggregate), {"x": x}, rng)


def test_propagate_callable_aggregate_on_tensors():
    rng = np.random.default_rng(2)
    x, ei = graph_with_loops(rng, num_nodes=6, num_edges=14)
    agg = lambda m, index, n: scatter(m, index, n, "sum") * 0.5  # noqa: E731
    out = assert_tensor_path_equals_array_path(lambda q: propagate(q["x"], ei, aggregate=agg), {"x": x})
    np.testing.assert_allclose(out, 0.5 * propagate(x, ei), atol=1e-14)
    assert_gradients(lambda q: propagate(q["x"], ei, aggregate=agg), {"x": x}, rng)
