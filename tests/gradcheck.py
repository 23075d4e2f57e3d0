"""Gradient checking shared by the autograd, functional, aggregation, layers and train tests.

:func:`assert_gradients` compares the backpropagated gradient of a function of
several parameters against central finite differences, in float64. A function
with a non-scalar output is first reduced to a number with a fixed random
weighting ``sum(R * f(params))``, so every entry of the output (every row of a
layer's output) is checked, not only their plain sum.

:func:`assert_tensor_path_equals_array_path` checks the other half of "one
implementation": the same function given plain arrays returns a plain array,
and given tensors returns a tensor holding the very same numbers.
"""

import numpy as np

from helpers import random_graph
from mplib.autograd import Tensor, numerical_grad, value_and_grad


def assert_tensor_path_equals_array_path(f, params):
    """``f(arrays)`` is an ndarray; ``f(tensors)`` a Tensor with identical numbers; the arrays are untouched."""
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    before = {k: v.copy() for k, v in params.items()}
    plain = f(params)
    assert type(plain) is np.ndarray, f"the array path returned {type(plain).__name__}, not an ndarray"
    for requires_grad in (False, True):
        traced = f({k: Tensor(v, requires_grad=requires_grad) for k, v in params.items()})
        assert isinstance(traced, Tensor), f"the tensor path returned {type(traced).__name__}, not a Tensor"
        assert traced.requires_grad == requires_grad
        np.testing.assert_array_equal(traced.data, plain)
        assert traced.data.dtype == plain.dtype
    for k in params:
        np.testing.assert_array_equal(params[k], before[k], err_msg=f"the layer modified {k}")
    return plain


def assert_gradients(f, params, rng, rtol=1e-5, atol=1e-7, eps=1e-6):
    """Check ``value_and_grad`` of ``sum(R * f(params))`` against finite differences."""
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    out = f({k: Tensor(v) for k, v in params.items()})
    weights = rng.standard_normal(out.shape)

    def loss(p):
        return (f(p) * weights).sum()

    before = {k: v.copy() for k, v in params.items()}
    _, grads = value_and_grad(loss, params)
    expected = numerical_grad(loss, params, eps=eps)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k], err_msg=f"value_and_grad modified {k}")
        assert grads[k].shape == params[k].shape, k
        np.testing.assert_allclose(grads[k], expected[k], rtol=rtol, atol=atol,
                                   err_msg=f"gradient of {k} differs from finite differences")
    return grads


def graph_with_loops(rng, num_features=3, **kw):
    """A random graph from helpers.random_graph (isolated nodes allowed) plus self-loops, one doubled."""
    x, ei = random_graph(rng, num_features=num_features, **kw)
    n = x.shape[0]
    loops = rng.integers(0, n, int(rng.integers(0, 3)))
    loops = np.concatenate([loops, loops[:1]])
    ei = np.concatenate([ei, np.stack([loops, loops])], axis=1).astype(np.int64)
    return x, ei[:, rng.permutation(ei.shape[1])]
