"""Hidden checks of assignment 07, learning by hand: finite differences, the backward passes of a
linear map, of mean aggregation and of a GCN layer, the softmax cross-entropy and its gradient, and
one gradient-descent step of a two-layer GCN.

The references differentiate :mod:`mplib`'s own layers with :mod:`mplib.autograd` (float64, then
cast to the inputs' dtype); ``tests/test_course_backprop.py`` checks every case of every reference
against central finite differences, the independent truth. The scalar functions handed to
``numerical_gradient`` are module-level numpy functions (their analytic gradients are in
:data:`ANALYTIC`, for the tests).
"""

import numpy as np

from .registry import Case, array_result, register
from mplib.aggregation import scatter
from mplib.autograd import Tensor, numerical_grad, value_and_grad
from mplib.functional import cross_entropy, relu
from mplib.layers import gcn_conv
from mplib.train import SGD

from .graphs import graph_suite, random_edges

# -- comparators -----------------------------------------------------------------------------


def grad_result(rtol=1e-6):
    """Comparator for a gradient (or updated parameters): the reference's dtype, values close.

    The absolute tolerance scales with the largest entry of the answer: 1e-9 of it in float64,
    1e-5 of it in float32 (whose sums of many terms cancel to a few ulps, not to 0).
    """
    def compare(got, want):
        scale = max(float(np.max(np.abs(want))), 1.0) if np.size(want) else 1.0
        atol = (1e-5 if want.dtype == np.float32 else 1e-9) * scale
        return array_result(rtol=rtol, atol=atol, dtype="exact")(got, want)
    return compare


def loss_result(got, want, float32=False):
    """``None`` if ``got`` is a Python float close to the loss ``want``, else a message."""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, float):
        kind = f"a {got.dtype} array of shape {got.shape}" if isinstance(got, np.ndarray) else type(got).__name__
        return f"expected the loss as a Python float (float(...)), got {kind}"
    if not np.isfinite(got):
        return f"the loss is {got}, where a finite number is expected (does exp overflow?)"
    rtol, atol = (1e-5, 1e-5) if float32 else (1e-8, 1e-10)
    return None if np.isclose(got, want, rtol=rtol, atol=atol) else "wrong loss"


def loss_and_grad_result():
    """Comparator for ``(loss, grad_logits)``."""
    grad = grad_result()

    def compare(got, want):
        if not isinstance(got, tuple) or len(got) != 2:
            return "expected a tuple (loss, grad_logits)"
        message = loss_result(got[0], want[0], float32=want[1].dtype == np.float32)
        if message:
            return f"element 0 of the tuple: {message}"
        message = grad(got[1], want[1])
        return f"element 1 of the tuple (grad_logits): {message}" if message else None
    return compare


def step_result():
    """Comparator for ``(w1, b1, w2, b2, loss)`` after one step."""
    grad = grad_result()
    names = ("w1", "b1", "w2", "b2")

    def compare(got, want):
        if not isinstance(got, tuple) or len(got) != 5:
            return "expected a tuple (w1, b1, w2, b2, loss) of 5 values"
        for k, name in enumerate(names):
            message = grad(got[k], want[k])
            if message:
                return f"element {k} of the tuple (the new {name}): {message}"
        message = loss_result(got[4], want[4], float32=want[0].dtype == np.float32)
        return f"element 4 of the tuple (the loss before the step): {message}" if message else None
    return compare


def pair_result():
    """Comparator for ``(grad_x, grad_weight)``."""
    grad = grad_result()

    def compare(got, want):
        if not isinstance(got, tuple) or len(got) != 2:
            return "expected a tuple (grad_x, grad_weight) of two arrays"
        for k, name in enumerate(("grad_x", "grad_weight")):
            message = grad(got[k], want[k])
            if message:
                return f"element {k} of the tuple ({name}): {message}"
        return None
    return compare


# -- scalar functions for numerical_gradient (numpy only: they run while the student's code runs) ---


def _positions(x):
    """1, 2, ..., x.size in the shape of x: every entry gets its own weight."""
    return np.arange(1, x.size + 1, dtype=np.float64).reshape(x.shape)


def wavy(x):
    r""":math:`\sum_k k \sin x_k`."""
    return float(np.sum(_positions(x) * np.sin(x)))


def log_sum_exp(x):
    r""":math:`\log \sum_k e^{x_k}` (every slope depends on every entry)."""
    m = np.max(x)
    return float(m + np.log(np.sum(np.exp(x - m))))


def square_of_sum(x):
    r""":math:`\big(\sum_k k\, x_k\big)^2`."""
    return float(np.sum(_positions(x) * x) ** 2)


def cubic(x):
    r""":math:`\sum_k k\, x_k^3`: a large step separates central from one-sided differences."""
    return float(np.sum(_positions(x) * x ** 3))


def bump(x):
    r""":math:`\exp(-\lVert x \rVert^2 / 2)`."""
    return float(np.exp(-0.5 * np.sum(x * x)))


ANALYTIC = {
    wavy: lambda x: _positions(x) * np.cos(x),
    log_sum_exp: lambda x: np.exp(x - np.max(x)) / np.sum(np.exp(x - np.max(x))),
    square_of_sum: lambda x: 2 * np.sum(_positions(x) * x) * _positions(x),
    cubic: lambda x: 3 * _positions(x) * x ** 2,
    bump: lambda x: -x * bump(x),
}

# -- references ------------------------------------------------------------------------------


def _leaf(a):
    return Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def ref_numerical_gradient(f, x, eps=1e-6):
    return numerical_grad(lambda p: f(p["x"].data), {"x": x}, eps=eps)["x"]


def ref_linear_backward(x, weight, grad_out):
    tx, tw = _leaf(x), _leaf(weight)
    (tx @ tw).backward(grad_out.astype(np.float64))
    return tx.grad.astype(x.dtype), tw.grad.astype(x.dtype)


def ref_scatter_mean_backward(grad_out, index):
    messages = _leaf(np.zeros((index.shape[0], grad_out.shape[1])))
    scatter(messages, index, grad_out.shape[0], reduce="mean").backward(grad_out.astype(np.float64))
    return messages.grad.astype(grad_out.dtype)


def ref_gcn_backward(x, edge_index, weight, grad_out):
    tx, tw = _leaf(x), _leaf(weight)
    gcn_conv(tx, edge_index, tw).backward(grad_out.astype(np.float64))
    return tx.grad.astype(x.dtype), tw.grad.astype(x.dtype)


def ref_softmax_cross_entropy(logits, labels, mask):
    value, grads = value_and_grad(lambda p: cross_entropy(p["z"], labels, index=mask),
                                  {"z": logits.astype(np.float64)})
    return value, grads["z"].astype(logits.dtype)


def two_layer_loss(p, x, edge_index, labels, mask):
    """The book's two-layer GCN, :math:`\\hat S\\,\\mathrm{ReLU}(\\hat S X W_1 + b_1) W_2 + b_2`, and its loss."""
    h = relu(gcn_conv(x, edge_index, p["w1"], p["b1"]))
    return cross_entropy(gcn_conv(h, edge_index, p["w2"], p["b2"]), labels, index=mask)


def ref_train_step(w1, b1, w2, b2, x, edge_index, labels, mask, lr):
    params = {k: v.astype(np.float64) for k, v in dict(w1=w1, b1=b1, w2=w2, b2=b2).items()}
    value, grads = value_and_grad(two_layer_loss, params, x.astype(np.float64), edge_index, labels, mask)
    new = SGD(lr=lr).step(params, grads)
    return tuple(new[k].astype(x.dtype) for k in ("w1", "b1", "w2", "b2")) + (value,)


# -- cases -----------------------------------------------------------------------------------


def _sizes(rng):
    """Two different feature widths (so that a missing transpose cannot go unnoticed)."""
    f_in = int(rng.integers(1, 5))
    return f_in, f_in + int(rng.integers(1, 3))


def _gcn_graphs(rng):
    """The standard suite plus the GCN's own traps: repeated self-loops, a node hearing only itself."""
    suite = graph_suite(rng)
    n = int(rng.integers(4, 8))
    ei = random_edges(rng, n, 2 * n)
    out = [*suite[:3], ("two self-loops on one node (GCN keeps one, of weight 1)", n,
                        np.concatenate([ei, [[1, 1], [1, 1]]], axis=1).astype(np.int64)), *suite[3:]]
    out.append(("a node whose only edge is its self-loop", 3, np.array([[0, 2], [1, 2]], dtype=np.int64)))
    return out


def cases_numerical_gradient(rng):
    normal = rng.standard_normal
    return [
        Case("sum_k k sin(x_k), x of shape (3,)", (wavy, normal(3))),
        Case("log-sum-exp, x of shape (2, 3)", (log_sum_exp, normal((2, 3)))),
        Case("(sum_k k x_k)^2, x of shape (4, 2) (every slope depends on every entry)",
             (square_of_sum, normal((4, 2)))),
        Case("sum_k k x_k^3 with eps=0.01 (a large step: one-sided differences are off)",
             (cubic, normal((2, 3))), {"eps": 1e-2}),
        Case("exp(-|x|^2 / 2), x of shape (2, 2, 2), eps=1e-4", (bump, normal((2, 2, 2))), {"eps": 1e-4}),
        Case("sum_k k x_k^3 with eps=0.1, x of shape (1,) (one entry)", (cubic, normal(1)), {"eps": 0.1}),
        Case("log-sum-exp of large values, x of shape (5,)", (log_sum_exp, 50 + normal(5))),
        Case("x with no entries, shape (0, 3)", (wavy, np.zeros((0, 3)))),
    ]


def cases_linear_backward(rng):
    cases = []
    for label, n, _ in graph_suite(rng):
        f_in, f_out = _sizes(rng)
        cases.append(Case(f"{n} rows ({label}), F_in={f_in}, F_out={f_out}",
                          (rng.standard_normal((n, f_in)), rng.standard_normal((f_in, f_out)),
                           rng.standard_normal((n, f_out)))))
    n, f = int(rng.integers(3, 6)), int(rng.integers(2, 4))
    cases.append(Case("a square weight (F_in = F_out)", (rng.standard_normal((n, f)), rng.standard_normal((f, f)),
                                                         rng.standard_normal((n, f)))))
    cases.append(Case("no rows at all (N = 0)", (np.zeros((0, 3)), rng.standard_normal((3, 2)), np.zeros((0, 2)))))
    return cases


def cases_scatter_mean_backward(rng):
    cases = []
    for label, n, ei in graph_suite(rng):
        f = int(rng.integers(1, 4))
        cases.append(Case(f"{label}, messages to the receivers edge_index[1]",
                          (rng.standard_normal((n, f)), np.ascontiguousarray(ei[1]))))
    n = int(rng.integers(3, 6))
    index = np.repeat(np.arange(n), rng.integers(1, 4, n)).astype(np.int64)
    cases.append(Case("every node receives 1 to 3 messages",
                      (rng.standard_normal((n, 2)), index[rng.permutation(len(index))])))
    return cases


def cases_gcn_backward(rng):
    cases = []
    for label, n, ei in _gcn_graphs(rng):
        f_in, f_out = _sizes(rng)
        cases.append(Case(f"{label}, F_in={f_in}, F_out={f_out}",
                          (rng.standard_normal((n, f_in)), ei, rng.standard_normal((f_in, f_out)),
                           rng.standard_normal((n, f_out)))))
    return cases


def _mask(rng, n):
    mask = rng.random(n) < 0.5
    mask[int(rng.integers(0, n))] = True  # at least one labelled node
    return mask


def cases_softmax_cross_entropy(rng):
    cases = []
    for label, n, _ in graph_suite(rng):
        c = int(rng.integers(2, 6))
        cases.append(Case(f"{n} nodes ({label}), {c} classes, some nodes in the mask",
                          (3 * rng.standard_normal((n, c)), rng.integers(0, c, n), _mask(rng, n))))
    n = int(rng.integers(4, 8))
    logits = rng.choice([-1000.0, 1000.0], size=(n, 3)) + rng.standard_normal((n, 3))
    logits[0] = [1000.0, 999.0, 998.0]    # a row all near +1000
    logits[1] = [-1000.0, -999.0, -1001.0]  # a row all near -1000
    logits[2] = [1000.0, -1000.0, 0.0]
    cases.append(Case("logits near +1000 and -1000 (exp overflows unless shifted)",
                      (logits, rng.integers(0, 3, n), np.ones(n, dtype=bool))))
    n = int(rng.integers(3, 7))
    cases.append(Case("every node in the mask", (rng.standard_normal((n, 4)), rng.integers(0, 4, n),
                                                  np.ones(n, dtype=bool))))
    n = int(rng.integers(3, 7))
    one = np.zeros(n, dtype=bool)
    one[int(rng.integers(0, n))] = True
    cases.append(Case("one node in the mask", (rng.standard_normal((n, 3)), rng.integers(0, 3, n), one)))
    n = int(rng.integers(2, 5))
    cases.append(Case("a single class (the loss is 0)", (rng.standard_normal((n, 1)), np.zeros(n, dtype=np.int64),
                                                          _mask(rng, n))))
    return cases


def cases_train_step(rng):
    cases = []
    lrs = [0.5, 1.0, 0.1]
    for k, (label, n, ei) in enumerate(_gcn_graphs(rng)):
        f, hidden, c = int(rng.integers(1, 4)), int(rng.integers(2, 5)), int(rng.integers(2, 4))
        lr = lrs[k % len(lrs)]
        params = (rng.standard_normal((f, hidden)), 0.5 * rng.standard_normal(hidden),
                  rng.standard_normal((hidden, c)), 0.5 * rng.standard_normal(c))
        cases.append(Case(f"{label}, F={f}, hidden={hidden}, C={c}, lr={lr}",
                          params + (rng.standard_normal((n, f)), ei, rng.integers(0, c, n), _mask(rng, n), lr)))
    label, n, ei = graph_suite(rng)[0]
    cases.append(Case(f"{label}, W1 = 0 and b1 = 0 (every pre-activation is exactly 0: ReLU's slope there is 0)",
                      (np.zeros((2, 3)), np.zeros(3), rng.standard_normal((3, 2)), rng.standard_normal(2),
                       rng.standard_normal((n, 2)), ei, rng.integers(0, 2, n), _mask(rng, n), 0.5)))
    return cases


register("07.numerical_gradient", "numerical_gradient", ref_numerical_gradient, cases_numerical_gradient,
         array_result(rtol=1e-6, atol=1e-8))
register("07.linear_backward", "linear_backward", ref_linear_backward, cases_linear_backward, pair_result(),
         keep_float=True)
register("07.scatter_mean_backward", "scatter_mean_backward", ref_scatter_mean_backward,
         cases_scatter_mean_backward, grad_result(), keep_float=True)
register("07.gcn_backward", "gcn_backward", ref_gcn_backward, cases_gcn_backward, pair_result(), keep_float=True)
register("07.softmax_cross_entropy", "softmax_cross_entropy", ref_softmax_cross_entropy,
         cases_softmax_cross_entropy, loss_and_grad_result(), keep_float=True)
register("07.train_step", "train_step", ref_train_step, cases_train_step, step_result(), keep_float=True)
