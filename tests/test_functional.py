"""Tests for mplib.functional: activations, dropout, loss, readout (arrays in, arrays out; tensors in, gradients)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import assert_gradients
from mplib.autograd import Tensor
from mplib.functional import cross_entropy, dropout, elu, global_pool, leaky_relu, log_softmax, relu

SEEDS = settings(max_examples=30, deadline=None)
seeds = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------- activations

@SEEDS
@given(seed=seeds, slope=st.floats(0.0, 1.0), alpha=st.floats(0.1, 2.0))
def test_activations_values_and_gradients(seed, slope, alpha):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 3))
    np.testing.assert_array_equal(relu(x), np.where(x > 0, x, 0.0))
    np.testing.assert_allclose(leaky_relu(x, slope), np.where(x > 0, x, slope * x))
    np.testing.assert_allclose(elu(x, alpha), np.where(x > 0, x, alpha * (np.exp(x) - 1)), atol=1e-15)
    for f in (relu, lambda v: leaky_relu(v, slope), lambda v: elu(v, alpha), log_softmax):
        assert type(f(x)) is np.ndarray  # arrays in, arrays out; tensors in, the same numbers
        np.testing.assert_array_equal(f(Tensor(x)).data, f(x))
    assert_gradients(lambda p: relu(p["x"]), {"x": x}, rng)
    assert_gradients(lambda p: leaky_relu(p["x"], slope), {"x": x}, rng)
    assert_gradients(lambda p: elu(p["x"], alpha), {"x": x}, rng)


def test_elu_large_inputs_do_not_overflow():
    with np.errstate(over="raise"):
        out = elu(Tensor([1000.0, -1000.0], requires_grad=True))
        out.sum().backward()
    np.testing.assert_array_equal(out.data, [1000.0, -1.0])


# ----------------------------------------------------------------------------- dropout

def test_dropout_is_identity_in_evaluation_and_for_p_zero():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0, rng=0) is x


@SEEDS
@given(seed=seeds, p=st.floats(0.05, 0.95))
def test_dropout_scales_kept_entries_and_is_seeded(seed, p):
    x = np.random.default_rng(seed).standard_normal((30, 4))
    a, b = dropout(x, p, rng=seed), dropout(x, p, rng=seed)
    np.testing.assert_array_equal(dropout(Tensor(x), p, rng=seed).data, a)
    np.testing.assert_array_equal(a, b)
    kept = a != 0
    np.testing.assert_allclose(a[kept], x[kept] / (1 - p))
    # gradient: the same mask, the same scale
    t = Tensor(x, requires_grad=True)
    dropout(t, p, rng=seed).sum().backward()
    np.testing.assert_allclose(t.grad, kept / (1 - p))


@SEEDS
@given(seed=seeds, p=st.floats(0.05, 0.95), density=st.floats(0.05, 0.6))
def test_sparse_dropout_is_dense_dropout_of_the_stored_entries(seed, p, density):
    """The stored entries meet one draw each, in CSR order; a zero stays zero; scaling as dense."""
    from scipy import sparse

    x = sparse.random_array((20, 7), density=density, rng=seed, format="coo")   # COO in: CSR out
    out = dropout(x, p, rng=seed)
    assert isinstance(out, sparse.csr_array) and out.shape == x.shape
    csr = sparse.csr_array(x)
    keep = np.random.default_rng(seed).random(csr.nnz) >= p       # an independent replay
    expected = sparse.csr_array((csr.data * keep, csr.indices, csr.indptr), shape=x.shape).toarray()
    np.testing.assert_allclose(out.toarray(), expected / (1 - p))
    assert dropout(x, p, training=False) is x and dropout(x, 0.0, rng=seed) is x


def test_dropout_keeps_about_one_minus_p():
    out = dropout(np.ones(100_000), 0.3, rng=1)
    assert abs(np.mean(out != 0) - 0.7) < 0.01  # 0.7 +- 7 standard deviations (sd = 0.0014)
    assert abs(out.mean() - 1.0) < 0.02  # inverted dropout keeps the mean


def test_dropout_errors():
    with pytest.raises(ValueError, match=r"`p` must be in \[0, 1\), got 1.0"):
        dropout(np.ones(2), 1.0)
    with pytest.raises(TypeError, match="`p` must be a finite real number"):
        dropout(np.ones(2), "0.5")


# ----------------------------------------------------------------------------- loss

@SEEDS
@given(seed=seeds)
def test_cross_entropy_matches_loop_and_gradient(seed):
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 8)), int(rng.integers(2, 5))
    z = 3 * rng.standard_normal((n, c))
    y = rng.integers(0, c, n)
    rows = rng.choice(n, int(rng.integers(1, n + 1)), replace=False)
    expected = np.mean([np.log(np.sum(np.exp(z[i]))) - z[i, y[i]] for i in rows])
    assert isinstance(cross_entropy(z, y, rows), np.float64)
    np.testing.assert_allclose(cross_entropy(z, y, rows), expected, rtol=1e-12, atol=1e-14)
    assert cross_entropy(Tensor(z), y, rows).item() == cross_entropy(z, y, rows)
    mask = np.zeros(n, bool)
    mask[rows] = True
    np.testing.assert_allclose(cross_entropy(z, y, mask), expected, rtol=1e-12, atol=1e-14)
    assert_gradients(lambda p: cross_entropy(p["z"], y, rows), {"z": z}, rng)
    assert_gradients(lambda p: log_softmax(p["z"]), {"z": z}, rng)


def test_cross_entropy_is_stable_for_huge_logits():
    z = Tensor([[1000.0, -1000.0], [0.0, 2000.0]], requires_grad=True)
    loss = cross_entropy(z, [0, 0])
    loss.backward()
    assert loss.item() == pytest.approx(1000.0)  # (0 + 2000) / 2
    np.testing.assert_allclose(z.grad, [[0.0, 0.0], [-0.5, 0.5]])
    np.testing.assert_allclose(log_softmax(np.array([[1000.0, 1000.0]])), np.log([[0.5, 0.5]]))


def test_cross_entropy_errors():
    z = np.zeros((3, 2))
    with pytest.raises(ValueError, match="`target` refers to segment 2, but `num_segments` is 2"):
        cross_entropy(z, [0, 1, 2])
    with pytest.raises(ValueError, match="`target` must have length 3, got 2"):
        cross_entropy(z, [0, 1])
    with pytest.raises(ValueError, match="`index` must select at least one row"):
        cross_entropy(z, [0, 1, 1], np.zeros(3, bool))
    with pytest.raises(ValueError, match="`index` refers to segment 5"):
        cross_entropy(z, [0, 1, 1], [5])
    with pytest.raises(ValueError, match=r"`logits` must have shape \(N, F\)"):
        cross_entropy(np.zeros(3), [0, 1, 1])


# ----------------------------------------------------------------------------- readout

@SEEDS
@given(seed=seeds, reduce=st.sampled_from(["sum", "mean", "max", "min"]))
def test_global_pool_matches_loop_and_gradient(seed, reduce):
    rng = np.random.default_rng(seed)
    g = int(rng.integers(1, 5))
    sizes = rng.integers(1, 5, g)
    batch = np.repeat(np.arange(g), sizes)
    x = rng.standard_normal((batch.size, 3))
    fn = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}[reduce]
    expected = np.stack([fn(x[batch == k], axis=0) for k in range(g)])
    np.testing.assert_allclose(global_pool(x, batch, reduce=reduce), expected, atol=1e-14)
    np.testing.assert_array_equal(global_pool(Tensor(x), batch, reduce=reduce).data, global_pool(x, batch, reduce=reduce))
    assert global_pool(x, batch, num_graphs=g + 2, reduce=reduce).shape == (g + 2, 3)  # empty graphs give 0
    assert_gradients(lambda p: global_pool(p["x"], batch, reduce=reduce), {"x": x}, rng)
