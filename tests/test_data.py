"""Tests for mplib.data: label splits per class, batches of graphs and their readout."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import graph_with_loops
from mplib.autograd import value_and_grad
from mplib.data import batch_graphs, split_per_class
from mplib.functional import cross_entropy, global_pool, relu
from mplib.graph import Graph
from mplib.layers import gat_conv, gcn_conv, sage_conv

SEEDS = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------- label splits

@SEEDS
@given(seed=seeds, k=st.integers(1, 3), num_val=st.integers(0, 5))
def test_split_per_class_partitions(seed, k, num_val):
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(30) % 3)
    tr, va, te = split_per_class(y, k, num_val=num_val, rng=seed)
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(30))
    np.testing.assert_array_equal(np.bincount(y[tr], minlength=3), [k, k, k])
    assert len(va) == num_val
    np.testing.assert_array_equal(tr, split_per_class(y, k, num_val=num_val, rng=seed)[0])


def test_split_per_class_errors():
    with pytest.raises(ValueError, match="class 1 has only 1 members, fewer than `num_per_class` = 2"):
        split_per_class([0, 0, 0, 1], 2)
    with pytest.raises(ValueError, match=r"`num_val` must be at most 2 \(targets left after training\), got 3"):
        split_per_class([0, 0, 1, 1], 1, num_val=3)


# ----------------------------------------------------------------------------- batching and readout

def random_graphs(rng, count):
    graphs = []
    for _ in range(count):
        x, ei = graph_with_loops(rng)
        graphs.append(Graph(ei, x=x, edge_attr=rng.standard_normal(ei.shape[1]), y=int(rng.integers(0, 2))))
    return graphs


@SEEDS
@given(seed=seeds, reduce=st.sampled_from(["sum", "mean", "max"]))
def test_batch_graphs_equals_running_each_graph_separately(seed, reduce):
    rng = np.random.default_rng(seed)
    graphs = random_graphs(rng, int(rng.integers(1, 5)))
    big, batch = batch_graphs(graphs)
    W, a, Wn = rng.standard_normal((3, 4)), rng.standard_normal((2, 2)), rng.standard_normal((3, 2))

    def model(x, ei):
        h = relu(gat_conv(x, ei, W, a, a[::-1], heads=2))
        return sage_conv(relu(gcn_conv(h, ei, np.eye(4))), ei, np.eye(4)[:, :2] + 0.1, aggr=reduce) + x @ Wn

    together = model(big.x, big.edge_index)
    separate = [model(g.x, g.edge_index) for g in graphs]
    np.testing.assert_allclose(together, np.concatenate(separate), atol=1e-12)
    pooled = global_pool(together, batch, reduce=reduce)
    np.testing.assert_allclose(pooled, np.stack([global_pool(s, np.zeros(len(s), int), reduce=reduce)[0]
                                                 for s in separate]), atol=1e-12)
    np.testing.assert_array_equal(batch, np.repeat(np.arange(len(graphs)), [g.num_nodes for g in graphs]))
    np.testing.assert_array_equal(big.y, [g.y for g in graphs])
    np.testing.assert_array_equal(big.edge_attr, np.concatenate([g.edge_attr for g in graphs]))


def test_batch_graphs_gradient_is_sum_over_graphs():
    rng = np.random.default_rng(7)
    graphs = random_graphs(rng, 3)
    big, batch = batch_graphs(graphs)
    params = {"W": rng.standard_normal((3, 2))}

    def loss(p, g, b, n):
        return cross_entropy(global_pool(gcn_conv(g.x, g.edge_index, p["W"]), b, n, "mean"), np.atleast_1d(g.y)) * n
    total, grads = value_and_grad(loss, params, big, batch, len(graphs))
    parts = [value_and_grad(loss, params, g, np.zeros(g.num_nodes, int), 1) for g in graphs]
    assert total == pytest.approx(sum(v for v, _ in parts), rel=1e-12)
    np.testing.assert_allclose(grads["W"], sum(g["W"] for _, g in parts), atol=1e-12)


def test_batch_graphs_node_labels_and_errors():
    g1 = Graph([[0], [1]], y=[1, 0])
    g2 = Graph([[0, 1], [1, 2]], y=[0, 1, 1])
    big, batch = batch_graphs([g1, g2])
    np.testing.assert_array_equal(big.y, [1, 0, 0, 1, 1])
    assert big.x is None and big.edge_attr is None
    with pytest.raises(ValueError, match="`graphs` must hold at least one Graph"):
        batch_graphs([])
    with pytest.raises(TypeError, match="`graphs\\[1\\]` must be a Graph, got list"):
        batch_graphs([g1, [[0], [1]]])
    with pytest.raises(ValueError, match="`x` must be present in all graphs or in none"):
        batch_graphs([g1, Graph([[0], [1]], x=np.ones((2, 1)))])
    with pytest.raises(ValueError, match="`x` of the graphs cannot be stacked"):
        batch_graphs([Graph([[0], [1]], x=np.ones((2, 2))), Graph([[0], [1]], x=np.ones((2, 1)))])
