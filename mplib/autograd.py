r"""Reverse-mode automatic differentiation over numpy arrays, in one small file.

Usage guide
-----------
A :class:`Tensor` wraps a numpy array. Arithmetic on tensors (``+``, ``-``,
``*``, ``/``, ``@``, indexing, ``.sum()``, ``.reshape()``, ...) returns new
tensors and, when an input has ``requires_grad=True``, remembers how each
output was made. Calling ``.backward()`` on a scalar result then fills ``.grad``
of every input that asked for it with :math:`\partial\,\mathrm{result} / \partial\,\mathrm{input}`:

>>> w = Tensor([[1.0], [2.0]], requires_grad=True)
>>> x = np.array([[3.0, 4.0]])
>>> loss = ((x @ w) * (x @ w)).sum()       # (3 + 8)^2 = 121
>>> loss.backward()
>>> w.grad                                  # 2 * 11 * x^T
array([[66.],
       [88.]])

Training code rarely touches ``.backward()`` directly. Parameters live in a plain
``dict`` of numpy arrays, and :func:`value_and_grad` turns them into tensors,
calls your loss function, runs the backward pass and hands back the gradients
as a ``dict`` of the same shape; :func:`numerical_grad` computes the same thing
by central finite differences, to check it. The graph layers
(:mod:`mplib.layers`) and the training loop (:mod:`mplib.train`) are built on these
few pieces.

How it works
------------
Every operation below is a *primitive*: it computes its output with numpy and
attaches a small ``backward(g)`` closure that maps the gradient ``g`` of the
output to one gradient per input (the local chain rule, written next to each
operation as ``# d/da: ...``). :meth:`Tensor.backward` orders the recorded
tensors so that each is visited only after every operation that used it, walks
them from the result back to the inputs, calls each ``backward`` closure, and
adds up the gradients of a tensor used more than once. That is all of
backpropagation.

One code path
-------------
The functions of this module (and of :mod:`mplib.functional`, and the graph
primitives :func:`mplib.scatter`, :func:`mplib.segment_softmax` and
:func:`mplib.propagate`) take plain numpy arrays *or* tensors. Given arrays
only they return a plain array and record nothing, so the layers of
:mod:`mplib.layers` are ordinary numpy code a learner can read; given a tensor
they return a tensor, so the very same layer functions are differentiated
during training (as micrograd and JAX do). :func:`record` is the one place
where that choice is made; a new primitive needs nothing else.

The pieces, in reading order: this module (the engine and array maths),
:mod:`mplib.functional` (activations, dropout, loss, readout),
:mod:`mplib.aggregation` (scatter and segment softmax, with their backward
rules), :mod:`mplib.layers` (the layers), :mod:`mplib.train` (initialisation,
optimisers, the training loop) and :mod:`mplib.data` (label splits, batches of graphs).

Why a tiny autodiff and not hand-written backward functions
-----------------------------------------------------------
A GNN layer is a composition of a dozen array operations. With explicit backward
functions every layer, and every model the book builds from layers (deeper
stacks, skip connections, readouts), would need its own hand-derived gradient;
the GAT one alone takes some thirty careful lines (``benchmarks/bench_train.py``
writes it out, to check this module against it). Here the calculus is written
once per primitive, in two or three lines that can each be checked by hand, and
the chain rule is applied by one short loop. The price is some Python overhead
per operation: on graphs of book size it is small (the karate-club GCN trains
200 epochs in about 0.1 s; a GAT on 1000 nodes runs as fast as the hand-written one).
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["Tensor", "as_tensor", "unwrap", "record", "concat", "einsum", "exp", "log", "sparse_matmul",
           "value_and_grad", "numerical_grad"]


class Tensor:
    r"""A numpy array that records how it was computed, for backpropagation.

    Parameters
    ----------
    data : array_like
        The values. Integer and boolean input is converted to float64; float
        arrays keep their dtype (use float64 for gradient checks).
    requires_grad : bool, default False
        Make this a *leaf* whose ``.grad`` is filled by :meth:`backward`.

    Attributes
    ----------
    data : ndarray
        The values (treat as read-only).
    grad : ndarray or None
        :math:`\partial L / \partial\,\mathrm{data}` after ``L.backward()``; only
        leaves (tensors created with ``requires_grad=True``) keep one.
        Gradients accumulate over several ``backward`` calls, as in PyTorch.

    Examples
    --------
    >>> a = Tensor([1.0, 2.0], requires_grad=True)
    >>> (a * a).sum().backward()
    >>> a.grad
    array([2., 4.])
    """

    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__

    def __init__(self, data, requires_grad=False):
        data = np.asarray(data)
        if not np.issubdtype(data.dtype, np.floating):
            if data.dtype == object or not (np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_):
                raise TypeError(f"`data` must be a numeric array, got dtype {data.dtype}")
            data = data.astype(np.float64)
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._backward = None

    # ------------------------------------------------------------------ basics
    shape = property(lambda self: self.data.shape, doc="Shape of ``data``.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions of ``data``.")
    T = property(lambda self: self.transpose(), doc="The transpose of a 2-D tensor.")

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = np.array2string(self.data, prefix="Tensor(")
        return f"Tensor({body}{', requires_grad=True' if self.requires_grad else ''})"

    def item(self):
        """The value of a one-element tensor as a Python float."""
        return float(self.data.item())

    def numpy(self):
        """The values as a numpy array (a copy, safe to modify)."""
        return self.data.copy()

    # ------------------------------------------------------------------ the engine
    def backward(self, grad=None):
        r"""Backpropagate: add :math:`\partial\,\mathrm{self} / \partial\,\mathrm{leaf}` to every leaf's ``.grad``.

        Parameters
        ----------
        grad : array_like, optional
            Gradient of the final result with respect to ``self``; defaults to 1,
            which requires ``self`` to hold a single number (a loss).

        Raises
        ------
        ValueError
            If ``grad`` is omitted and ``self`` is not a single number, or if
            ``grad`` has the wrong shape.
        """
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"`backward()` without `grad` needs a single number, got shape {self.shape}")
            grad = np.ones_like(self.data)
        grad = np.asarray(grad, dtype=self.data.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"`grad` must have shape {self.shape}, got {grad.shape}")
        # Topological order: every tensor after the tensors it was computed from.
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # depth-first, without recursion (deep models would hit the limit)
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._parents if p.requires_grad and id(p) not in seen)
        grads = {id(self): grad}
        for node in reversed(order):  # from the result back to the leaves
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._backward is None:  # a leaf: keep its gradient
                g = np.array(g, dtype=node.data.dtype)  # own, writable copy
                node.grad = g if node.grad is None else node.grad + g
                continue
            for parent, g_parent in zip(node._parents, node._backward(g)):
                if g_parent is not None and parent.requires_grad:
                    key = id(parent)
                    grads[key] = g_parent if key not in grads else grads[key] + g_parent

    # ------------------------------------------------------------------ operators
    def __add__(self, other):
        a, b = self, as_tensor(other)
        # d/da: g, d/db: g (summed over the axes that were broadcast)
        return _record(a.data + b.data, (a, b),
                       lambda g: (_unbroadcast(g, a.shape), _unbroadcast(g, b.shape)))

    def __mul__(self, other):
        a, b = self, as_tensor(other)
        # d/da: g * b, d/db: g * a
        return _record(a.data * b.data, (a, b),
                       lambda g: (_unbroadcast(g * b.data, a.shape) if a.requires_grad else None,
                                  _unbroadcast(g * a.data, b.shape) if b.requires_grad else None))

    def __truediv__(self, other):
        a, b = self, as_tensor(other)
        # d/da: g / b, d/db: -g * a / b^2
        return _record(a.data / b.data, (a, b),
                       lambda g: (_unbroadcast(g / b.data, a.shape),
                                  _unbroadcast(-g * a.data / (b.data * b.data), b.shape)))

    def __neg__(self):
        return _record(-self.data, (self,), lambda g: (-g,))

    def __sub__(self, other):
        return self + (-as_tensor(other))

    def __radd__(self, other):
        return as_tensor(other) + self

    def __rsub__(self, other):
        return as_tensor(other) - self

    def __rmul__(self, other):
        return as_tensor(other) * self

    def __rtruediv__(self, other):
        return as_tensor(other) / self

    def __matmul__(self, other):
        a, b = self, as_tensor(other)
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError(f"`@` needs two 2-D tensors, got shapes {a.shape} and {b.shape}")
        # d/da: g b^T, d/db: a^T g (skipped when not needed: they are the expensive part)
        return _record(a.data @ b.data, (a, b),
                       lambda g: (g @ b.data.T if a.requires_grad else None,
                                  a.data.T @ g if b.requires_grad else None))

    def __rmatmul__(self, other):
        return as_tensor(other) @ self

    def __getitem__(self, key):
        a = self
        if isinstance(key, Tensor):
            key = key.data.astype(np.int64)
        if isinstance(key, (list, np.ndarray)) and np.asarray(key).ndim == 1 and \
                np.issubdtype(np.asarray(key).dtype, np.integer):
            rows = np.asarray(key, dtype=np.int64)  # a gather x[rows], e.g. x[src]
            # d/da: row k of g goes back to row rows[k] (a sparse sum: many rows may pick one)
            return _record(a.data[rows], (a,), lambda g: (_scatter_rows(g, rows, a.shape[0]),))

        def backward(g):  # any other numpy index: slices, masks, ...
            out = np.zeros_like(a.data)
            np.add.at(out, key, g)
            return (out,)
        return _record(a.data[key], (a,), backward)

    # ------------------------------------------------------------------ shape and reductions
    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (all axes by default); the gradient is copied back to every summand."""
        a = self
        # d/da: g broadcast back over the summed axes
        return _record(a.data.sum(axis=axis, keepdims=keepdims), (a,),
                       lambda g: (np.broadcast_to(_keep_axes(g, axis, keepdims, a.ndim), a.shape),))

    def mean(self, axis=None, keepdims=False):
        """Mean over ``axis``; the gradient is ``g / count`` for every entry averaged."""
        a = self
        out = a.data.mean(axis=axis, keepdims=keepdims)
        count = a.data.size / max(np.size(out), 1)
        return _record(out, (a,),
                       lambda g: (np.broadcast_to(_keep_axes(g, axis, keepdims, a.ndim) / count, a.shape),))

    def reshape(self, *shape):
        """The same values in another shape (``-1`` allowed, as in numpy)."""
        a = self
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return _record(a.data.reshape(shape), (a,), lambda g: (g.reshape(a.shape),))

    def transpose(self):
        """Reverse the axes (matrix transpose for 2-D)."""
        return _record(self.data.T, (self,), lambda g: (g.T,))


# ---------------------------------------------------------------------- helpers

def as_tensor(value):
    """Return ``value`` if it is a :class:`Tensor`, else wrap it as a constant tensor."""
    return value if isinstance(value, Tensor) else Tensor(value)


def unwrap(value):
    """The numpy array behind ``value``: ``value.data`` for a :class:`Tensor`, else ``numpy.asarray(value)``."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def record(out, inputs, backward):
    r"""Return the output ``out`` (an ndarray) of a primitive applied to ``inputs``.

    This is what lets one code path serve both worlds (as in micrograd or JAX):
    when no input is a :class:`Tensor`, ``out`` is returned as the plain numpy
    array it is, and nothing is recorded; otherwise it is wrapped in a Tensor
    that remembers ``backward(g)``, the map from the output's gradient to one
    gradient per input (``None`` for an input that needs none).

    Examples
    --------
    A primitive ``square`` written once, used on arrays and on tensors:

    >>> def square(x):
    ...     d = unwrap(x)
    ...     return record(d * d, (x,), lambda g: (2 * g * d,))
    >>> square(np.array([3.0]))
    array([9.])
    >>> t = Tensor([3.0], requires_grad=True)
    >>> square(t).sum().backward()
    >>> t.grad
    array([6.])
    """
    if not any(isinstance(p, Tensor) for p in inputs):
        return out
    return _record(out, tuple(as_tensor(p) for p in inputs), backward)


def _record(data, parents, backward):
    """Make the output tensor of a primitive; remember ``backward`` only if a gradient is wanted."""
    out = Tensor(data)
    if any(p.requires_grad for p in parents):
        out.requires_grad = True
        out._parents = tuple(parents)
        out._backward = backward
    return out


def _unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def _keep_axes(g, axis, keepdims, ndim):
    """Re-insert the axes a reduction removed, so ``g`` broadcasts against the input."""
    if keepdims or axis is None and np.ndim(g) == 0:
        return g
    axes = tuple(range(ndim)) if axis is None else np.atleast_1d(axis)
    return np.expand_dims(g, tuple(int(a) % ndim for a in axes))


def _scatter_rows(g, rows, num_rows):
    """``out[r] = sum of g[k] over k with rows[k] == r``, as one sparse matrix product."""
    m = sp.csr_matrix((np.ones(rows.shape[0], dtype=g.dtype), (rows, np.arange(rows.shape[0]))),
                      shape=(num_rows, rows.shape[0]))
    flat = g.reshape(g.shape[0], -1) if g.shape[0] else g.reshape(0, int(np.prod(g.shape[1:])))
    return np.asarray(m @ flat).reshape((num_rows,) + g.shape[1:])


# ---------------------------------------------------------------------- functions

def exp(x):
    r"""Elementwise :math:`e^x`; the gradient is :math:`g\, e^x`."""
    out = np.exp(unwrap(x))
    return record(out, (x,), lambda g: (g * out,))


def log(x):
    r"""Elementwise natural logarithm; the gradient is :math:`g / x`."""
    d = unwrap(x)
    return record(np.log(d), (x,), lambda g: (g / d,))


def concat(tensors, axis=-1):
    """Join arrays or tensors along ``axis``; the gradient is cut back into the matching pieces."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("`tensors` must hold at least one tensor, got none")
    data = [unwrap(t) for t in tensors]
    sizes = np.cumsum([d.shape[axis] for d in data])[:-1]
    return record(np.concatenate(data, axis=axis), tensors, lambda g: tuple(np.split(g, sizes, axis=axis)))


def einsum(spec, a, b):
    r"""``numpy.einsum(spec, a, b)`` for two operands, e.g. ``"nhf,hf->nh"``.

    The gradient of a product summed over shared indices is the same product
    with the output's gradient in place of the operand:
    ``d/da = einsum("out,b->a", g, b)`` and ``d/db = einsum("a,out->b", a, g)``.

    Raises
    ------
    ValueError
        If ``spec`` is not of the form ``"a,b->out"`` with distinct letters per
        operand, each appearing in the output or in the other operand.

    Examples
    --------
    >>> einsum("ij,ij->i", np.ones((2, 3)), np.ones((2, 3)))
    array([3., 3.])
    """
    ins, _, out = spec.replace(" ", "").partition("->")
    parts = ins.split(",")
    if not _ or len(parts) != 2 or any(len(set(p)) != len(p) for p in parts + [out]) or \
            set(parts[0]) - set(out + parts[1]) or set(parts[1]) - set(out + parts[0]):
        raise ValueError(f"`spec` must look like 'ij,jk->ik' (two operands, every index of an operand "
                         f"in the output or the other operand, none repeated), got {spec!r}")
    sa, sb = parts
    da, db = unwrap(a), unwrap(b)
    wants = [isinstance(t, Tensor) and t.requires_grad for t in (a, b)]
    return record(np.einsum(spec, da, db), (a, b),
                  lambda g: (np.einsum(f"{out},{sb}->{sa}", g, db) if wants[0] else None,
                             np.einsum(f"{sa},{out}->{sb}", da, g) if wants[1] else None))


def sparse_matmul(matrix, x):
    r"""``matrix @ x`` for a constant scipy sparse ``matrix`` (e.g. a normalised adjacency).

    The matrix is a function of the graph only, so it gets no gradient; the
    gradient of ``x`` is :math:`A^{\top} G`.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> sparse_matmul(sp.csr_matrix([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0], [2.0]]))
    array([[2.],
           [1.]])
    """
    return record(matrix @ unwrap(x), (x,), lambda g: (matrix.T @ g,))


# ---------------------------------------------------------------------- gradients of functions of parameters

def value_and_grad(fn, params, *args, **kwargs):
    """Evaluate ``fn(params, *args, **kwargs)`` and its gradient with respect to every parameter.

    Parameters
    ----------
    fn : callable
        Takes a ``dict`` of tensors (plus ``args``/``kwargs``) and returns a
        single-number :class:`Tensor`, e.g. a loss.
    params : dict of str to array_like
        The point at which to differentiate. Not modified.

    Returns
    -------
    value : float
    grads : dict of str to ndarray
        Same keys and shapes as ``params``; zeros for a parameter ``fn`` does not use.

    Examples
    --------
    >>> value, grads = value_and_grad(lambda p: (p["w"] * p["w"]).sum(), {"w": np.array([1.0, -3.0])})
    >>> value, grads["w"]
    (10.0, array([ 2., -6.]))
    """
    leaves = {k: Tensor(np.array(as_tensor(v).data), requires_grad=True) for k, v in params.items()}
    out = fn(leaves, *args, **kwargs)
    if not isinstance(out, Tensor) or out.data.size != 1:
        raise ValueError(f"`fn` must return a Tensor holding one number, got {out!r:.60}")
    if out.requires_grad:
        out.backward()
    grads = {k: t.grad if t.grad is not None else np.zeros_like(t.data) for k, t in leaves.items()}
    return out.item(), grads


def numerical_grad(fn, params, *args, eps=1e-6, **kwargs):
    r"""The gradient of ``fn`` by central finite differences, to check :func:`value_and_grad`.

    .. math::
        \frac{\partial f}{\partial \theta_k} \approx
        \frac{f(\theta + \varepsilon e_k) - f(\theta - \varepsilon e_k)}{2 \varepsilon}

    This is a teaching and testing tool: it calls ``fn`` twice per entry of
    every parameter (a Python loop), so keep the shapes small. Use float64.

    Parameters
    ----------
    fn : callable
        As for :func:`value_and_grad`; may return a Tensor or a float.
    params : dict of str to array_like
    eps : float, default 1e-6

    Returns
    -------
    dict of str to ndarray

    Examples
    --------
    >>> g = numerical_grad(lambda p: (p["w"] * p["w"]).sum(), {"w": np.array([1.0, -3.0])})
    >>> np.round(g["w"], 6)
    array([ 2., -6.])
    """
    point = {k: np.array(as_tensor(v).data, dtype=np.float64) for k, v in params.items()}

    def f():
        out = fn({k: Tensor(v) for k, v in point.items()}, *args, **kwargs)
        return out.item() if isinstance(out, Tensor) else float(out)

    grads = {}
    for name, value in point.items():
        grad = np.zeros_like(value)
        for k in np.ndindex(value.shape):
            original = value[k]
            value[k] = original + eps
            up = f()
            value[k] = original - eps
            down = f()
            value[k] = original
            grad[k] = (up - down) / (2 * eps)
        grads[name] = grad
    return grads
