"""Tests for mplib.autograd: every primitive against finite differences, the engine, the helpers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scipy.sparse as sp

from gradcheck import assert_gradients, assert_tensor_path_equals_array_path
from mplib.autograd import (Tensor, as_tensor, concat, einsum, exp, log, numerical_grad, record, sparse_matmul,
                            unwrap, value_and_grad)

SEEDS = settings(max_examples=30, deadline=None)
seeds = st.integers(0, 2**32 - 1)


def rand_shape(rng, ndim):
    return tuple(int(s) for s in rng.integers(1, 5, ndim))


# ----------------------------------------------------------------------------- primitives vs finite differences

@SEEDS
@given(seed=seeds, op=st.sampled_from(["add", "sub", "mul", "div", "radd", "rsub", "rmul", "rdiv"]))
def test_arithmetic_gradient_with_broadcasting(seed, op):
    rng = np.random.default_rng(seed)
    shape = rand_shape(rng, int(rng.integers(1, 4)))
    # b broadcasts against a: some axes set to 1, maybe fewer axes
    b_shape = tuple(1 if rng.random() < 0.4 else s for s in shape)[int(rng.integers(0, len(shape))):]
    params = {"a": rng.standard_normal(shape), "b": rng.uniform(0.5, 2.0, b_shape) * rng.choice([-1, 1], b_shape)}
    const = rng.uniform(0.5, 2.0, b_shape)
    fns = {
        "add": lambda p: p["a"] + p["b"], "sub": lambda p: p["a"] - p["b"],
        "mul": lambda p: p["a"] * p["b"], "div": lambda p: p["a"] / p["b"],
        "radd": lambda p: const + p["a"], "rsub": lambda p: const - p["a"],
        "rmul": lambda p: const * p["a"] * p["b"], "rdiv": lambda p: const / p["b"] + p["a"],
    }
    assert_gradients(fns[op], params, rng)


@SEEDS
@given(seed=seeds)
def test_matmul_transpose_gradient(seed):
    rng = np.random.default_rng(seed)
    n, k, m = rand_shape(rng, 3)
    params = {"a": rng.standard_normal((n, k)), "b": rng.standard_normal((k, m))}
    assert_gradients(lambda p: p["a"] @ p["b"], params, rng)
    assert_gradients(lambda p: (p["b"].T @ p["a"].T).T, params, rng)
    c = rng.standard_normal((m, n))
    assert_gradients(lambda p: c @ p["a"], {"a": params["a"]}, rng)  # __rmatmul__ with an ndarray


@SEEDS
@given(seed=seeds, keepdims=st.booleans())
def test_sum_mean_reshape_gradient(seed, keepdims):
    rng = np.random.default_rng(seed)
    shape = rand_shape(rng, 3)
    p = {"a": rng.standard_normal(shape)}
    for axis in (None, 0, 1, -1, (0, 2)):
        assert_gradients(lambda q: q["a"].sum(axis=axis, keepdims=keepdims) * 1.0, p, rng)
        assert_gradients(lambda q: q["a"].mean(axis=axis, keepdims=keepdims) * 1.0, p, rng)
    assert_gradients(lambda q: q["a"].reshape(-1, shape[-1]), p, rng)
    assert_gradients(lambda q: q["a"].reshape((shape[0], -1)), p, rng)


@SEEDS
@given(seed=seeds)
def test_getitem_gradient_with_repeated_rows(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    p = {"a": rng.standard_normal((n, 3))}
    rows = rng.integers(0, n, int(rng.integers(0, 3 * n + 1)))  # repeats, maybe empty, maybe missing rows
    assert_gradients(lambda q: q["a"][rows], p, rng)
    assert_gradients(lambda q: q["a"][list(rows)], p, rng)
    assert_gradients(lambda q: q["a"][:, 1:], p, rng)
    mask = rng.random(n) < 0.5
    assert_gradients(lambda q: q["a"][mask], p, rng)
    cols = rng.integers(0, 3, len(rows))
    assert_gradients(lambda q: q["a"][rows, cols], p, rng)  # fancy (row, column) pairs


@SEEDS
@given(seed=seeds)
def test_exp_log_concat_gradient(seed):
    rng = np.random.default_rng(seed)
    p = {"a": rng.standard_normal((3, 2)), "b": rng.uniform(0.5, 3.0, (3, 4))}
    assert_gradients(lambda q: exp(q["a"]), p, rng)
    assert_gradients(lambda q: log(q["b"]), p, rng)
    assert_gradients(lambda q: concat([q["a"], q["b"], q["a"]], axis=1), p, rng)
    assert_gradients(lambda q: concat([q["b"].T, q["a"].T], axis=0), p, rng)
    for f in (lambda q: exp(q["a"]), lambda q: log(q["b"]), lambda q: concat([q["a"], q["b"]], axis=1)):
        assert_tensor_path_equals_array_path(f, p)  # arrays in, arrays out; tensors in, the same numbers


@SEEDS
@given(seed=seeds)
def test_sparse_matmul_paths_and_gradient(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    matrix = sp.random(n, n, density=0.4, random_state=int(rng.integers(1 << 30)), format="csr")
    p = {"x": rng.standard_normal((n, 3))}
    out = assert_tensor_path_equals_array_path(lambda q: sparse_matmul(matrix, q["x"]), p)
    np.testing.assert_allclose(out, matrix.toarray() @ p["x"], atol=1e-12)
    assert_gradients(lambda q: sparse_matmul(matrix, q["x"]), p, rng)


def test_record_returns_arrays_for_arrays_and_tensors_for_tensors():
    def square(x):
        d = unwrap(x)
        return record(d * d, (x,), lambda g: (2 * g * d,))
    assert type(square(np.array([3.0]))) is np.ndarray
    assert type(unwrap([1.0, 2.0])) is np.ndarray
    t = Tensor([3.0], requires_grad=True)
    out = square(t)
    assert isinstance(out, Tensor) and out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, [6.0])
    assert not square(Tensor([3.0])).requires_grad  # a constant tensor records nothing


@SEEDS
@given(seed=seeds, spec=st.sampled_from(["nhf,hf->nh", "ef,efo->eo", "ij,jk->ik", "ij,ij->i", "i,j->ij"]))
def test_einsum_gradient(seed, spec):
    rng = np.random.default_rng(seed)
    (sa, sb), _ = spec.split("->")[0].split(","), None
    size = {c: int(rng.integers(1, 4)) for c in set(sa + sb)}
    p = {"a": rng.standard_normal([size[c] for c in sa]), "b": rng.standard_normal([size[c] for c in sb])}
    assert_gradients(lambda q: einsum(spec, q["a"], q["b"]), p, rng)
    np.testing.assert_array_equal(einsum(spec, p["a"], p["b"]), np.einsum(spec, p["a"], p["b"]))
    np.testing.assert_array_equal(einsum(spec, Tensor(p["a"]), p["b"]).data, np.einsum(spec, p["a"], p["b"]))


# ----------------------------------------------------------------------------- the engine

def test_backward_sums_over_every_use_of_a_tensor():
    a = Tensor([2.0, 3.0], requires_grad=True)
    b = a * a + a  # a used three times
    (b * b).sum().backward()
    np.testing.assert_allclose(a.grad, 2 * (a.data ** 2 + a.data) * (2 * a.data + 1))


def test_backward_accumulates_across_calls():
    a = Tensor([1.0, -1.0], requires_grad=True)
    (a * 3.0).sum().backward()
    (a * 3.0).sum().backward()
    np.testing.assert_array_equal(a.grad, [6.0, 6.0])


def test_backward_handles_deep_graphs_without_recursion():
    a = Tensor([1.0], requires_grad=True)
    h = a
    for _ in range(5000):
        h = h * 1.0001
    h.sum().backward()
    np.testing.assert_allclose(a.grad, [1.0001 ** 5000])


def test_constants_record_nothing():
    c = Tensor([1.0, 2.0]) * 3.0 + np.ones(2)
    assert not c.requires_grad and c._backward is None and c._parents == ()


def test_ndarray_on_the_left_gives_a_tensor():
    a = Tensor([1.0, 2.0], requires_grad=True)
    for out in (np.ones(2) + a, np.ones(2) * a, np.ones(2) - a, np.ones(2) / a):
        assert isinstance(out, Tensor) and out.requires_grad


def test_tensor_converts_ints_and_keeps_float32():
    assert Tensor([1, 2]).data.dtype == np.float64
    assert Tensor(np.ones(2, dtype=np.float32)).data.dtype == np.float32
    assert as_tensor(Tensor([1.0])) is not None and isinstance(as_tensor(np.ones(1)), Tensor)


def test_backward_errors():
    a = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"needs a single number, got shape \(2,\)"):
        (a * 2.0).backward()
    with pytest.raises(ValueError, match=r"`grad` must have shape \(2,\), got \(3,\)"):
        (a * 2.0).backward(np.ones(3))
    with pytest.raises(TypeError, match="`data` must be a numeric array, got dtype <U1"):
        Tensor(["a"])
    with pytest.raises(ValueError, match=r"`@` needs two 2-D tensors, got shapes \(2,\) and \(2,\)"):
        a @ a
    with pytest.raises(ValueError, match="`spec` must look like"):
        einsum("ii,i->i", np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="`spec` must look like"):
        einsum("ij,j", np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="at least one tensor"):
        concat([])


# ----------------------------------------------------------------------------- value_and_grad, numerical_grad

def test_value_and_grad_known_values_and_purity():
    params = {"w": np.array([[1.0, 2.0]]), "unused": np.array([5.0])}
    value, grads = value_and_grad(lambda p: (p["w"] * p["w"]).sum() * 0.5, params)
    assert value == 2.5
    np.testing.assert_array_equal(grads["w"], [[1.0, 2.0]])
    np.testing.assert_array_equal(grads["unused"], [0.0])
    grads["w"][0, 0] = 99.0
    np.testing.assert_array_equal(params["w"], [[1.0, 2.0]])  # the gradient is not a view of params


def test_value_and_grad_rejects_non_scalar():
    with pytest.raises(ValueError, match="`fn` must return a Tensor holding one number"):
        value_and_grad(lambda p: p["w"] * 2.0, {"w": np.ones(3)})


def test_numerical_grad_matches_calculus():
    rng = np.random.default_rng(0)
    w = rng.standard_normal(4)
    got = numerical_grad(lambda p: (exp(p["w"]) * p["w"]).sum(), {"w": w})
    np.testing.assert_allclose(got["w"], np.exp(w) * (1 + w), rtol=1e-8)
    assert numerical_grad(lambda p: float(p["w"].data.sum()), {"w": w})["w"].shape == (4,)
