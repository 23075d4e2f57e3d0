r"""Trainable graph layers: the layers of :mod:`mplib.layers`, used with tensors.

Usage guide
-----------
There is only one implementation of each layer, in :mod:`mplib.layers`, and
this module hands out the very same functions (``mplib.nn.gcn_conv is
mplib.layers.gcn_conv``) next to :func:`linear`, the one building block a model
needs that is not a graph layer. A layer given plain numpy arrays returns an
array; given a :class:`~mplib.autograd.Tensor` anywhere among its inputs (the
weights being trained, typically) it returns a tensor that can be
differentiated, because every operation inside the layer, from ``@`` to
:func:`mplib.scatter`, is a primitive of :mod:`mplib.autograd` that accepts both.
Callables that the layers take (GIN's MLP, NNConv's edge network, the
``message`` of :func:`propagate`) must be built from such operations too, e.g.
with :func:`make_mlp`.

A model is a plain function of a ``dict`` of parameters; the parameters are
numpy arrays, and :func:`~mplib.autograd.value_and_grad` differentiates:

>>> from mplib.autograd import value_and_grad
>>> from mplib.functional import cross_entropy, relu
>>> x, ei, y = np.eye(3), np.array([[0, 1, 1, 2], [1, 0, 2, 1]]), np.array([0, 1, 1])
>>> def loss(p):
...     h = relu(gcn_conv(x, ei, p["W1"], p["b1"]))
...     return cross_entropy(gcn_conv(h, ei, p["W2"]), y)
>>> rng = np.random.default_rng(0)
>>> params = {"W1": rng.normal(size=(3, 4)), "b1": np.zeros(4), "W2": rng.normal(size=(4, 2))}
>>> value, grads = value_and_grad(loss, params)
>>> grads["W1"].shape
(3, 4)

For training, :func:`gcn_conv` takes ``adj=gcn_norm(edge_index, N)`` computed
once, and :func:`gat_conv` takes ``dropout_p``, ``training`` and ``rng`` for
attention dropout. :mod:`mplib.train` adds the initialiser, the optimisers and
the training loop.
"""

import numpy as np  # noqa: F401 (the examples use it)

from ._validate import check_features, check_weight
from .layers import edge_conv, gat_conv, gcn_conv, gcn_norm, gin_conv, make_mlp, nn_conv, sage_conv
from .message_passing import propagate

__all__ = ["linear", "make_mlp", "propagate", "gcn_norm", "gcn_conv", "sage_conv", "gin_conv", "gat_conv",
           "nn_conv", "edge_conv"]


def linear(x, weight, bias=None):
    r"""The affine map :math:`x W + b`, ``weight`` of shape ``(F_in, F_out)`` (row-vector convention).

    Parameters
    ----------
    x : array_like or Tensor, shape (M, F_in)
    weight : array_like or Tensor, shape (F_in, F_out)
    bias : array_like or Tensor, shape (F_out,), optional

    Returns
    -------
    ndarray (Tensor if an input is one), shape (M, F_out)

    Raises
    ------
    ValueError
        If the shapes do not fit together.

    Examples
    --------
    >>> linear([[1.0, 2.0]], [[1.0], [1.0]], [0.5])
    array([[3.5]])
    """
    x = check_features(x, name="x", ndim=None)
    weight = check_weight(weight, "weight", (x.shape[-1], None))
    out = x @ weight
    return out if bias is None else out + check_weight(bias, "bias", (weight.shape[1],))

