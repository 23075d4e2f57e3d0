"""Tests for mplib.nn: forward bit-identical to mplib.layers, gradients against finite differences.

Every layer is run on random graphs with isolated nodes, parallel edges and
self-loops (one of them doubled); gradients are checked with respect to every
parameter and to the input features, in float64.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import assert_gradients, graph_with_loops
import mplib.nn as nn
from mplib import layers
from mplib.autograd import Tensor, value_and_grad
from mplib.functional import leaky_relu, relu, scatter
from mplib.message_passing import propagate as np_propagate
from mplib.nn import (edge_conv, gat_conv, gcn_conv, gcn_norm, gin_conv, linear, make_mlp, nn_conv, propagate,
                      sage_conv)

SEEDS = settings(max_examples=15, deadline=None)
seeds = st.integers(0, 2**32 - 1)


def rand(rng, *shape):
    return rng.standard_normal(shape)


def mlp_params(rng, sizes, prefix):
    p = {}
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        p[f"{prefix}w{k}"], p[f"{prefix}b{k}"] = rand(rng, a, b), rand(rng, b)
    return p


def mlp_from(p, prefix, module):
    ks = sorted(k for k in p if k.startswith(prefix + "w"))
    return module.make_mlp([p[k] for k in ks], [p[k.replace(prefix + "w", prefix + "b")] for k in ks])


# ----------------------------------------------------------------------------- forward equals mplib.layers

@SEEDS
@given(seed=seeds, weighted=st.booleans())
def test_gcn_conv_forward_equals_layers_and_gradient(seed, weighted):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    ew = rng.uniform(0.1, 2.0, ei.shape[1]) if weighted else None
    p = {"x": x, "W": rand(rng, 3, 2), "b": rand(rng, 2)}
    out = gcn_conv(x, ei, p["W"], p["b"], edge_weight=ew)
    np.testing.assert_array_equal(out.data, layers.gcn_conv(x, ei, p["W"], p["b"], edge_weight=ew))
    cached = gcn_conv(x, ei, p["W"], p["b"], adj=gcn_norm(ei, len(x), ew))
    np.testing.assert_array_equal(cached.data, out.data)
    assert_gradients(lambda q: gcn_conv(q["x"], ei, q["W"], q["b"], edge_weight=ew), p, rng)


@SEEDS
@given(seed=seeds, aggr=st.sampled_from(["mean", "sum", "max"]), root=st.booleans())
def test_sage_conv_forward_equals_layers_and_gradient(seed, aggr, root):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    p = {"x": x, "Wn": rand(rng, 3, 4), "Wr": rand(rng, 3, 4), "b": rand(rng, 4)}
    wr = (lambda q: q["Wr"]) if root else (lambda q: None)
    np.testing.assert_array_equal(sage_conv(x, ei, p["Wn"], wr(p), p["b"], aggr=aggr).data,
                                  layers.sage_conv(x, ei, p["Wn"], wr(p), p["b"], aggr=aggr))
    if not root:
        del p["Wr"]
    assert_gradients(lambda q: sage_conv(q["x"], ei, q["Wn"], wr(q), q["b"], aggr=aggr), p, rng)


@SEEDS
@given(seed=seeds, eps=st.floats(-1.0, 2.0))
def test_gin_conv_forward_equals_layers_and_gradient(seed, eps):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    p = {"x": x, **mlp_params(rng, [3, 5, 2], "m")}
    np.testing.assert_array_equal(gin_conv(x, ei, mlp_from(p, "m", nn), eps).data,
                                  layers.gin_conv(x, ei, mlp_from(p, "m", layers), eps))
    assert_gradients(lambda q: gin_conv(q["x"], ei, mlp_from(q, "m", nn), eps), p, rng)


@SEEDS
@given(seed=seeds, heads=st.integers(1, 3), concat=st.booleans(), slope=st.floats(0.01, 1.0))
def test_gat_conv_forward_equals_layers_and_gradient(seed, heads, concat, slope):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    p = {"x": x, "W": rand(rng, 3, heads * 2), "as": rand(rng, heads, 2), "ad": rand(rng, heads, 2),
         "b": rand(rng, heads * 2 if concat else 2)}
    out, (ei2, alpha) = gat_conv(x, ei, p["W"], p["as"], p["ad"], p["b"], heads=heads, concat=concat,
                                 negative_slope=slope, return_attention=True)
    ref, (ref_ei, ref_alpha) = layers.gat_conv(x, ei, p["W"], p["as"], p["ad"], p["b"], heads=heads,
                                               concat=concat, negative_slope=slope, return_attention=True)
    np.testing.assert_array_equal(out.data, ref)
    np.testing.assert_array_equal(ei2, ref_ei)
    np.testing.assert_array_equal(alpha.data, ref_alpha)

    def f(q):
        return gat_conv(q["x"], ei, q["W"], q["as"], q["ad"], q["b"], heads=heads, concat=concat,
                        negative_slope=slope)
    assert_gradients(f, p, rng)
    # the attention weights themselves are differentiable in the attention vectors
    assert_gradients(lambda q: gat_conv(x, ei, p["W"], q["as"], q["ad"], heads=heads,
                                        negative_slope=slope, return_attention=True)[1][1],
                     {"as": p["as"], "ad": p["ad"]}, rng)


def test_gat_conv_attention_vectors_get_gradient_through_softmax_and_leaky_relu():
    """On a star whose leaves differ, a_src must move even when attention starts near uniform.

    (Exactly zero attention vectors would put every score on LeakyReLU's kink, where
    finite differences see the mean of the two slopes; hence tiny random ones.)
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2))
    ei = np.array([[1, 2, 3, 4], [0, 0, 0, 0]])
    params = {"as": 1e-2 * rng.standard_normal((1, 2)), "ad": 1e-2 * rng.standard_normal((1, 2))}
    _, grads = value_and_grad(lambda q: gat_conv(x, ei, np.eye(2), q["as"], q["ad"])[0].sum(), params)
    assert np.abs(grads["as"]).max() > 1e-3
    assert_gradients(lambda q: gat_conv(x, ei, np.eye(2), q["as"], q["ad"]), params, rng)


def test_gat_conv_attention_dropout_only_when_training():
    rng = np.random.default_rng(1)
    x, ei = graph_with_loops(rng, num_nodes=8, num_edges=20)
    args = (x, ei, rand(rng, 3, 4), rand(rng, 2, 2), rand(rng, 2, 2))
    plain = gat_conv(*args, heads=2).data
    np.testing.assert_array_equal(gat_conv(*args, heads=2, dropout_p=0.5, training=False, rng=0).data, plain)
    a = gat_conv(*args, heads=2, dropout_p=0.5, training=True, rng=0).data
    np.testing.assert_array_equal(a, gat_conv(*args, heads=2, dropout_p=0.5, training=True, rng=0).data)
    assert not np.array_equal(a, plain)


@SEEDS
@given(seed=seeds, aggr=st.sampled_from(["sum", "mean", "max"]), root=st.booleans(), flat=st.booleans())
def test_nn_conv_forward_equals_layers_and_gradient(seed, aggr, root, flat):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    ea = rand(rng, ei.shape[1], 2)
    p = {"x": x, "Wr": rand(rng, 3, 2), "b": rand(rng, 2), **mlp_params(rng, [2, 4, 6], "e")}

    def net(q, module):
        mlp = mlp_from(q, "e", module)
        return mlp if flat else (lambda e: mlp(e).reshape(-1, 3, 2))
    wr = (lambda q: q["Wr"]) if root else (lambda q: None)
    np.testing.assert_array_equal(nn_conv(x, ei, ea, net(p, nn), wr(p), p["b"], aggr=aggr).data,
                                  layers.nn_conv(x, ei, ea, net(p, layers), wr(p), p["b"], aggr=aggr))
    if not root:
        del p["Wr"]
    assert_gradients(lambda q: nn_conv(q["x"], ei, ea, net(q, nn), wr(q), q["b"], aggr=aggr), p, rng)


@SEEDS
@given(seed=seeds, aggr=st.sampled_from(["sum", "mean", "max"]))
def test_edge_conv_forward_equals_layers_and_gradient(seed, aggr):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    p = {"x": x, **mlp_params(rng, [6, 4, 2], "m")}
    np.testing.assert_array_equal(edge_conv(x, ei, mlp_from(p, "m", nn), aggr).data,
                                  layers.edge_conv(x, ei, mlp_from(p, "m", layers), aggr))
    assert_gradients(lambda q: edge_conv(q["x"], ei, mlp_from(q, "m", nn), aggr), p, rng)


@SEEDS
@given(seed=seeds, aggregate=st.sampled_from(["sum", "mean", "max", "min"]), custom=st.booleans())
def test_propagate_forward_equals_mplib_and_gradient(seed, aggregate, custom):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    ea = rand(rng, ei.shape[1], 3)
    p = {"x": x, "W": rand(rng, 3, 3)}
    if custom:  # psi(h_v, h_u, e) = relu((h_u - h_v) W + e), phi(h, m) = h + leaky_relu(m)
        def run(q, relu_, leaky_):
            return dict(message=lambda xi, xj, e: relu_((xj - xi) @ q["W"] + e),
                        update=lambda h, m: h + leaky_(m))
        got = propagate(x, ei, aggregate=aggregate, edge_attr=ea, **run(p, relu, leaky_relu)).data
        ref = np_propagate(x, ei, aggregate=aggregate, edge_attr=ea,
                           **run(p, lambda a: np.maximum(a, 0.0), lambda a: np.where(a > 0, a, 0.01 * a)))
        np.testing.assert_array_equal(got, ref)
        assert_gradients(lambda q: propagate(q["x"], ei, aggregate=aggregate, edge_attr=ea,
                                             **run(q, relu, leaky_relu)), p, rng)
    else:
        np.testing.assert_array_equal(propagate(x, ei, aggregate=aggregate).data,
                                      np_propagate(x, ei, aggregate=aggregate))
        assert_gradients(lambda q: propagate(q["x"], ei, aggregate=aggregate), {"x": x}, rng)


def test_propagate_callable_aggregate():
    rng = np.random.default_rng(2)
    x, ei = graph_with_loops(rng, num_nodes=6, num_edges=14)
    agg = lambda m, index, n: scatter(m, index, n, "sum") * 0.5  # noqa: E731
    np.testing.assert_allclose(propagate(x, ei, aggregate=agg).data, 0.5 * np_propagate(x, ei), atol=1e-14)
    assert_gradients(lambda q: propagate(q["x"], ei, aggregate=agg), {"x": x}, rng)


@SEEDS
@given(seed=seeds)
def test_linear_and_mlp_equal_layers_and_gradient(seed):
    rng = np.random.default_rng(seed)
    p = {"x": rand(rng, 4, 3), **mlp_params(rng, [3, 5, 4, 2], "m")}
    np.testing.assert_array_equal(mlp_from(p, "m", nn)(p["x"]).data, mlp_from(p, "m", layers)(p["x"]))
    np.testing.assert_array_equal(linear(p["x"], p["mw0"], p["mb0"]).data, p["x"] @ p["mw0"] + p["mb0"])
    assert_gradients(lambda q: mlp_from(q, "m", nn)(q["x"]), p, rng)


def test_two_layer_model_on_graph_with_isolated_nodes_and_loops():
    """A stack (GAT -> ELU-free ReLU -> SAGE max -> GCN) to check the chain rule across layers."""
    rng = np.random.default_rng(5)
    x, ei = graph_with_loops(rng, num_nodes=9, num_edges=15)
    assert np.any(np.bincount(ei[1], minlength=9) == 0)  # at least one node receives nothing
    p = {"W1": rand(rng, 3, 4), "as": rand(rng, 2, 2), "ad": rand(rng, 2, 2), "Wn": rand(rng, 4, 3),
         "Wr": rand(rng, 4, 3), "W3": rand(rng, 3, 2), "b3": rand(rng, 2)}

    def f(q):
        h = relu(gat_conv(x, ei, q["W1"], q["as"], q["ad"], heads=2))
        h = relu(sage_conv(h, ei, q["Wn"], q["Wr"], aggr="max"))
        return gcn_conv(h, ei, q["W3"], q["b3"])
    assert_gradients(f, p, rng)


# ----------------------------------------------------------------------------- errors and purity

def test_layers_do_not_modify_inputs():
    rng = np.random.default_rng(4)
    x, ei = graph_with_loops(rng, num_nodes=6, num_edges=10)
    W, a = rand(rng, 3, 2), rand(rng, 1, 2)
    copies = [v.copy() for v in (x, ei, W, a)]
    out = gat_conv(Tensor(x, requires_grad=True), ei, W, a, a)
    out.sum().backward()
    gcn_conv(x, ei, W).sum()
    for before, after in zip(copies, (x, ei, W, a)):
        np.testing.assert_array_equal(before, after)


def test_nn_errors():
    x, ei = np.ones((3, 2)), np.array([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match=r"`weight` must have shape \(2, '\*'\), got \(3, 2\)"):
        gcn_conv(x, ei, np.ones((3, 2)))
    with pytest.raises(ValueError, match="`edge_index` refers to node 5"):
        gcn_conv(x, [[0], [5]], np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"`adj` must be a scipy sparse matrix of shape \(3, 3\)"):
        gcn_conv(x, ei, np.ones((2, 2)), adj=np.eye(3))
    with pytest.raises(ValueError, match="`edge_weight` must be non-negative"):
        gcn_norm(ei, 3, [1.0, -1.0])
    with pytest.raises(ValueError, match=r"`aggr` must be one of \('sum', 'mean', 'max'\)"):
        sage_conv(x, ei, np.ones((2, 2)), aggr="min")
    with pytest.raises(TypeError, match="`mlp` must be callable, got int"):
        gin_conv(x, ei, 3)
    with pytest.raises(ValueError, match=r"`mlp` must return an array of shape \(3, F_out\)"):
        gin_conv(x, ei, lambda h: h[:1])
    with pytest.raises(ValueError, match=r"`att_dst` must have shape \(1, 2\)"):
        gat_conv(x, ei, np.ones((2, 2)), np.ones((1, 2)), np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"`edge_network` must return shape \(2, 2 \* F_out\)"):
        nn_conv(x, ei, np.ones((2, 1)), lambda e: np.ones((2, 3)))
    with pytest.raises(TypeError, match="`edge_network` must be callable"):
        nn_conv(x, ei, np.ones((2, 1)), None)
    with pytest.raises(ValueError, match=r"`aggregate` must be one of .* or a callable, got 'prod'"):
        propagate(x, ei, aggregate="prod")
    with pytest.raises(ValueError, match=r"`message` must return one row per edge \(2\)"):
        propagate(x, ei, message=lambda xi, xj, e: xj[:1])
    with pytest.raises(ValueError, match="one bias per weight"):
        make_mlp([np.eye(2)], [None, None])
    with pytest.raises(ValueError, match=r"`bias` must have shape \(2,\)"):
        linear(x, np.eye(2), np.ones(3))
