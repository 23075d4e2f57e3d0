"""Tests for mplib.nn: the trainable layers are the layers of mplib.layers, plus ``linear``.

The layers themselves (tensor path equal to the array path, gradients against finite
differences) are tested once, in tests/test_layers.py; here: that mplib.nn hands out
those very functions, that ``linear`` is right on both paths, and that a model built
from them trains end to end with ``value_and_grad``.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mplib
import mplib.nn as nn
from gradcheck import assert_gradients, assert_tensor_path_equals_array_path, graph_with_loops
from mplib import layers
from mplib.autograd import Tensor, value_and_grad
from mplib.functional import cross_entropy, relu
from mplib.message_passing import propagate

SEEDS = settings(max_examples=15, deadline=None)
seeds = st.integers(0, 2**32 - 1)


@pytest.mark.parametrize("name", ["make_mlp", "gcn_norm", "gcn_conv", "sage_conv", "gin_conv", "gat_conv",
                                  "nn_conv", "edge_conv"])
def test_nn_layers_are_the_layers_of_mplib_layers(name):
    # one implementation: no copy that could drift
    assert getattr(nn, name) is getattr(layers, name) is getattr(mplib, name)
    assert nn.propagate is propagate is mplib.propagate


@SEEDS
@given(seed=seeds, bias=st.booleans())
def test_linear_tensor_path_equals_array_path_and_gradient(seed, bias):
    rng = np.random.default_rng(seed)
    p = {"x": rng.standard_normal((4, 3)), "W": rng.standard_normal((3, 2))}
    if bias:
        p["b"] = rng.standard_normal(2)

    def f(q):
        return nn.linear(q["x"], q["W"], q.get("b"))
    out = assert_tensor_path_equals_array_path(f, p)
    np.testing.assert_allclose(out, p["x"] @ p["W"] + (p["b"] if bias else 0.0), atol=1e-14)
    assert_gradients(f, p, rng)


def test_gcn_model_trains_with_value_and_grad():
    """Gradient descent on a two-layer GCN lowers the loss; the trained model runs on plain arrays."""
    rng = np.random.default_rng(3)
    x, ei = graph_with_loops(rng, num_nodes=10, num_edges=30)
    y = rng.integers(0, 2, 10)
    adj = nn.gcn_norm(ei, 10)
    params = {"W1": 0.5 * rng.standard_normal((3, 8)), "b1": np.zeros(8), "W2": 0.5 * rng.standard_normal((8, 2))}

    def model(p):
        return nn.gcn_conv(relu(nn.gcn_conv(x, ei, p["W1"], p["b1"], adj=adj)), ei, p["W2"], adj=adj)
    first, _ = value_and_grad(lambda p: cross_entropy(model(p), y), params)
    for _ in range(50):
        loss, grads = value_and_grad(lambda p: cross_entropy(model(p), y), params)
        params = {k: v - 0.2 * grads[k] for k, v in params.items()}
    assert loss < first
    assert type(model(params)) is np.ndarray  # evaluation needs no tensors
    assert cross_entropy(model(params), y) == pytest.approx(
        cross_entropy(model({k: Tensor(v) for k, v in params.items()}), y).item(), abs=0.0)


def test_linear_errors():
    x = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"`bias` must have shape \(2,\)"):
        nn.linear(x, np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match=r"`weight` must have shape \(2, '\*'\), got \(3, 2\)"):
        nn.linear(x, np.ones((3, 2)))
    with pytest.raises(ValueError, match="`x` contains NaN"):
        nn.linear(Tensor([[np.nan, 1.0]]), np.eye(2))
