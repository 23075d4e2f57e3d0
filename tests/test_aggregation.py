"""Tests for mplib/aggregation.py: aggregation is exact, invariant and total."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import assert_gradients
from helpers import assert_invariant, random_graph
from mplib.aggregation import REDUCTIONS, scatter, segment_softmax
from mplib.autograd import Tensor
from mplib.functional import relu

NUMPY_REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}


def loop_scatter(src, index, num_segments, reduce):
    """Independent oracle: one Python loop over segments (readable, slow)."""
    out = np.zeros((num_segments,) + src.shape[1:])
    for i in range(num_segments):
        rows = src[index == i]
        if len(rows):
            out[i] = NUMPY_REDUCE[reduce](rows, axis=0)
    return out


@st.composite
def messages(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 20))
    e = draw(st.integers(0, 80))
    shape = draw(st.sampled_from([(), (3,), (2, 2)]))
    return rng.standard_normal((e,) + shape), rng.integers(0, n, e), n, rng


@pytest.mark.parametrize("reduce", REDUCTIONS)
@settings(max_examples=60, deadline=None)
@given(data=messages())
def test_scatter_matches_loop_oracle(reduce, data):
    src, index, n, _ = data
    np.testing.assert_allclose(scatter(src, index, n, reduce), loop_scatter(src, index, n, reduce), atol=1e-12)


@pytest.mark.parametrize("reduce", REDUCTIONS)
@settings(max_examples=30, deadline=None)
@given(data=messages())
def test_scatter_permutation_invariant(reduce, data):
    src, index, n, rng = data
    assert_invariant(lambda m, i, k: scatter(m, i, k, reduce), src, index, n, rng)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_empty_segments_are_zero(reduce):
    src = np.array([[-5.0], [-7.0]])
    out = scatter(src, [2, 2], 4, reduce)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[[0, 1, 3]], 0.0)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_no_messages_at_all(reduce):
    out = scatter(np.zeros((0, 3)), np.zeros(0, dtype=int), 5, reduce)
    assert out.shape == (5, 3)
    assert np.all(out == 0)


def test_scatter_hub_segments_use_same_result():
    # A star with 500 leaves exercises the reduceat path for high-degree segments.
    rng = np.random.default_rng(0)
    index = np.concatenate([np.zeros(500, dtype=int), rng.integers(1, 10, 50)])
    src = rng.standard_normal((550, 4))
    for reduce in ("max", "min"):
        np.testing.assert_allclose(scatter(src, index, 10, reduce), loop_scatter(src, index, 10, reduce))


def test_scatter_keeps_float32():
    src = np.ones((4, 2), dtype=np.float32)
    for reduce in REDUCTIONS:
        assert scatter(src, [0, 1, 1, 1], 3, reduce).dtype == np.float32


def test_scatter_int_mean_is_float():
    out = scatter(np.array([1, 2]), [0, 0], 1, "mean")
    assert out.dtype == np.float64 and out[0] == 1.5


def test_scatter_does_not_mutate_inputs():
    rng = np.random.default_rng(1)
    src, index = rng.standard_normal((10, 2)), rng.integers(0, 3, 10)
    src0, index0 = src.copy(), index.copy()
    for reduce in REDUCTIONS:
        scatter(src, index, 3, reduce)
    np.testing.assert_array_equal(src, src0)
    np.testing.assert_array_equal(index, index0)


def test_sorting_by_id_is_not_an_aggregator():
    # The book's counter-example: "take the message of the neighbour with the smallest id"
    # changes when the nodes are relabelled, while sum does not.
    src = np.array([[1.0], [5.0]])
    index = np.array([0, 0])
    first_by_id = lambda m, i, n: m[:1]  # noqa: E731 - ordering-dependent on purpose
    assert not np.allclose(first_by_id(src, index, 1), first_by_id(src[::-1], index[::-1], 1))
    np.testing.assert_allclose(scatter(src, index, 1), scatter(src[::-1], index[::-1], 1))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(reduce="median"), ValueError, r"`reduce` must be one of"),
        (dict(index=[0, 1]), ValueError, r"`index` must have length 3"),
        (dict(index=[0, 1, 9]), ValueError, r"`index` refers to segment 9, but `num_segments` is 4"),
        (dict(index=[0, -1, 2]), ValueError, r"`index` holds a negative id"),
        (dict(index=[0.0, 1.0, 2.0]), TypeError, r"`index` must hold integers"),
        (dict(index=[[0, 1, 2]]), ValueError, r"`index` must be 1-D"),
        (dict(num_segments=2.5), TypeError, r"`num_segments` must be an integer"),
        (dict(num_segments=-1), ValueError, r"`num_segments` must be >= 0"),
        (dict(src=np.array(["a", "b", "c"])), TypeError, r"`src` must be a real numeric array"),
        (dict(src=np.float64(3.0)), ValueError, r"`src` must have at least one dimension"),
    ],
)
def test_scatter_bad_input_names_argument(kwargs, error, match):
    args = dict(src=np.ones(3), index=[0, 1, 2], num_segments=4, reduce="sum")
    args.update(kwargs)
    with pytest.raises(error, match=match):
        scatter(**args)


@settings(max_examples=50, deadline=None)
@given(data=messages())
def test_segment_softmax_sums_to_one_per_segment(data):
    scores, index, n, _ = data
    scores = scores.reshape(len(index), int(np.prod(scores.shape[1:])))
    alpha = segment_softmax(scores, index, n)
    assert alpha.shape == scores.shape
    assert np.all(alpha >= 0)
    sums = scatter(alpha, index, n)
    nonempty = np.bincount(index, minlength=n) > 0
    np.testing.assert_allclose(sums[nonempty], 1.0)
    np.testing.assert_array_equal(sums[~nonempty], 0.0)


def test_segment_softmax_matches_direct_formula():
    rng = np.random.default_rng(3)
    scores, index = rng.standard_normal(30), rng.integers(0, 5, 30)
    alpha = segment_softmax(scores, index, 5)
    for i in range(5):
        s = scores[index == i]
        np.testing.assert_allclose(alpha[index == i], np.exp(s) / np.exp(s).sum())


def test_segment_softmax_is_stable_for_huge_scores():
    alpha = segment_softmax(np.array([1000.0, 999.0, -1000.0]), [0, 0, 1], 2)
    assert np.all(np.isfinite(alpha))
    np.testing.assert_allclose(alpha, [1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1)), 1.0])


def test_segment_softmax_shift_invariant():
    rng = np.random.default_rng(4)
    scores, index = rng.standard_normal((12, 2)), rng.integers(0, 4, 12)
    np.testing.assert_allclose(segment_softmax(scores + 7.5, index, 4), segment_softmax(scores, index, 4))


def test_segment_softmax_rejects_nan():
    with pytest.raises(ValueError, match=r"`scores` contains NaN"):
        segment_softmax([0.0, np.nan], [0, 0], 1)


# ----------------------------------------------------------------------------- tensors: same numbers, gradients

SEEDS = settings(max_examples=30, deadline=None)
seeds = st.integers(0, 2**32 - 1)


@SEEDS
@given(seed=seeds, reduce=st.sampled_from(["sum", "mean", "max", "min"]), trailing=st.sampled_from([(), (2,), (2, 3)]))
def test_scatter_tensor_path_equals_array_path_and_gradient(seed, reduce, trailing):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    e = int(rng.integers(0, 3 * n))
    src, index = rng.standard_normal((e,) + trailing), rng.integers(0, n, e)  # empty segments likely
    np.testing.assert_array_equal(scatter(Tensor(src), index, n, reduce).data, scatter(src, index, n, reduce))
    assert_gradients(lambda p: scatter(p["src"], index, n, reduce), {"src": src}, rng)


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_scatter_max_ties_share_the_gradient(reduce):
    sign = 1.0 if reduce == "max" else -1.0
    m = Tensor(sign * np.array([[1.0, 5.0], [3.0, 5.0], [3.0, 5.0], [2.0, 0.0]]), requires_grad=True)
    out = scatter(m, [0, 0, 0, 1], 2, reduce=reduce)
    (out * np.array([[1.0, 10.0], [1.0, 1.0]])).sum().backward()
    # column 0: two tied winners share; column 1: three tie
    np.testing.assert_allclose(m.grad, [[0.0, 10 / 3], [0.5, 10 / 3], [0.5, 10 / 3], [1.0, 1.0]])


def test_scatter_gradient_is_invariant_to_message_order():
    rng = np.random.default_rng(3)
    values = rng.integers(0, 3, (12, 2)).astype(float)  # many ties on purpose
    index = rng.integers(0, 4, 12)
    weights = rng.standard_normal((4, 2))
    grads = []
    for order in (np.arange(12), rng.permutation(12)):
        t = Tensor(values[order], requires_grad=True)
        (scatter(t, index[order], 4, "max") * weights).sum().backward()
        g = np.empty_like(t.grad)
        g[order] = t.grad
        grads.append(g)
    np.testing.assert_array_equal(grads[0], grads[1])


@SEEDS
@given(seed=seeds, heads=st.sampled_from([None, 1, 3]))
def test_segment_softmax_tensor_path_equals_array_path_and_gradient(seed, heads):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    e = int(rng.integers(0, 4 * n))
    shape = (e,) if heads is None else (e, heads)
    scores, index = 2 * rng.standard_normal(shape), rng.integers(0, n, e)
    np.testing.assert_array_equal(segment_softmax(Tensor(scores), index, n).data, segment_softmax(scores, index, n))
    assert_gradients(lambda p: segment_softmax(p["s"], index, n), {"s": scores}, rng)


def test_scatter_errors():
    with pytest.raises(ValueError, match=r"`reduce` must be one of \('sum', 'mean', 'max', 'min'\), got 'prod'"):
        scatter(np.ones(2), [0, 1], 2, reduce="prod")
    with pytest.raises(ValueError, match="`index` must have length 2, got 3"):
        scatter(np.ones(2), [0, 1, 1], 2)
    with pytest.raises(ValueError, match="got a scalar"):
        scatter(1.0, [0], 1)
    with pytest.raises(ValueError, match="`index` refers to segment 4"):
        segment_softmax(np.ones(2), [0, 4], 2)


def test_relu_between_graph_ops_on_random_graph():
    """A chain gather -> relu -> scatter max on a graph with isolated nodes: FD agreement."""
    rng = np.random.default_rng(11)
    x, ei = random_graph(rng, num_nodes=7, num_edges=12)
    assert_gradients(lambda p: scatter(relu(p["x"][ei[0]] - p["x"][ei[1]]), ei[1], 7, "max"), {"x": x}, rng)
