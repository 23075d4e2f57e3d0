"""Gradient checking shared by the autograd, functional, nn and train tests.

:func:`assert_gradients` compares the backpropagated gradient of a function of
several parameters against central finite differences, in float64. A function
with a non-scalar output is first reduced to a number with a fixed random
weighting ``sum(R * f(params))``, so every entry of the output (every row of a
layer's output) is checked, not only their plain sum.
"""

import numpy as np

from mplib.autograd import Tensor, numerical_grad, value_and_grad


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
    from helpers import random_graph
    x, ei = random_graph(rng, num_features=num_features, **kw)
    n = x.shape[0]
    loops = rng.integers(0, n, int(rng.integers(0, 3)))
    loops = np.concatenate([loops, loops[:1]])
    ei = np.concatenate([ei, np.stack([loops, loops])], axis=1).astype(np.int64)
    return x, ei[:, rng.permutation(ei.shape[1])]
