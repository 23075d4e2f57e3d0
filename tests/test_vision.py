"""Tests for mplib.vision: grid graphs vs networkx and loops, convolution as message passing
vs scipy, kNN graphs vs brute-force distances, the two data generators."""

import networkx as nx
import numpy as np
import pytest
from scipy.ndimage import correlate
from scipy.signal import correlate2d

from helpers import relabel
from mplib.generators import grid_graph
from mplib.graph import Graph, from_networkx
from mplib.layers import nn_conv
from mplib.message_passing import propagate
from mplib.vision import digit_image, image_to_graph, knn_graph, outline_points

SHAPES = [(1, 1), (1, 5), (2, 2), (3, 4), (5, 3), (6, 6)]
PERIODIC_SHAPES = [(3, 3), (3, 5), (4, 6), (7, 4)]


def _nx_reference(rows, cols, connectivity, periodic):
    """The same grid from networkx: grid_2d_graph (4) or the strong product of paths/cycles (8)."""
    if connectivity == 4:
        G = nx.grid_2d_graph(rows, cols, periodic=periodic)
    else:
        line = nx.cycle_graph if periodic else nx.path_graph
        G = nx.strong_product(line(rows), line(cols))
    H = nx.Graph()
    H.add_nodes_from(range(rows * cols))
    H.add_edges_from((r * cols + c, s * cols + d) for (r, c), (s, d) in G.edges())
    return from_networkx(H).edge_index


def _loop_offsets(edge_index, rows, cols, periodic):
    """Oracle: the offset of each sender from its receiver, one edge at a time."""
    out = []
    for j, i in edge_index.T:
        dr, dc = j // cols - i // cols, j % cols - i % cols
        if periodic:
            dr = dr - rows if dr > 1 else dr + rows if dr < -1 else dr
            dc = dc - cols if dc > 1 else dc + cols if dc < -1 else dc
        out.append((dr, dc))
    return np.array(out, dtype=float).reshape(-1, 2)


def _conv_by_messages(image, kernel, periodic):
    """A 3x3 cross-correlation as one round of message passing with offset-dependent messages."""
    g = image_to_graph(image, connectivity=8, periodic=periodic)
    off = g.edge_attr.astype(int)
    taps = kernel[off[:, 0] + 1, off[:, 1] + 1]
    agg = propagate(g.x, g.edge_index, message=lambda x_i, x_j, e: taps[:, None] * x_j)
    return (agg + kernel[1, 1] * g.x)[:, 0].reshape(image.shape)


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("rows, cols, periodic", [(r, c, False) for r, c in SHAPES]
                         + [(r, c, True) for r, c in PERIODIC_SHAPES])
def test_image_to_graph_matches_networkx_and_loop_offsets(rows, cols, periodic, connectivity):
    image = np.arange(rows * cols, dtype=float).reshape(rows, cols)
    g = image_to_graph(image, connectivity=connectivity, periodic=periodic)
    assert isinstance(g, Graph) and g.num_nodes == rows * cols
    assert g.edge_index.dtype == np.int64
    np.testing.assert_array_equal(g.edge_index, _nx_reference(rows, cols, connectivity, periodic))
    np.testing.assert_array_equal(g.edge_attr, _loop_offsets(g.edge_index, rows, cols, periodic))
    np.testing.assert_array_equal(g.x[:, 0], image.ravel())
    if connectivity == 4:
        np.testing.assert_array_equal(g.edge_index, grid_graph(rows, cols, periodic).edge_index)
        assert np.all(np.abs(g.edge_attr).sum(axis=1) == 1)
    assert np.all(np.abs(g.edge_attr) <= 1) and not np.any(g.edge_index[0] == g.edge_index[1])


def test_image_to_graph_channels_are_node_features_and_input_is_not_mutated():
    image = np.random.default_rng(0).standard_normal((4, 5, 3))
    before = image.copy()
    g = image_to_graph(image, connectivity=8)
    np.testing.assert_array_equal(image, before)
    assert g.x.shape == (20, 3)
    np.testing.assert_array_equal(g.x[2 * 5 + 3], image[2, 3])


def test_image_to_graph_reproduces_correlation_zero_padding_and_wrap():
    # the page's central claim, on random images and kernels, both border modes
    rng = np.random.default_rng(1)
    for _ in range(20):
        rows, cols = rng.integers(3, 12, size=2)
        image, kernel = rng.standard_normal((rows, cols)), rng.standard_normal((3, 3))
        np.testing.assert_allclose(_conv_by_messages(image, kernel, False),
                                   correlate2d(image, kernel, mode="same", boundary="fill"), atol=1e-12)
        np.testing.assert_allclose(_conv_by_messages(image, kernel, True),
                                   correlate(image, kernel, mode="wrap"), atol=1e-12)


def test_image_to_graph_offsets_one_hot_make_nn_conv_a_convolution():
    rng = np.random.default_rng(2)
    image, kernel = rng.standard_normal((7, 9)), rng.standard_normal((3, 3))
    g = image_to_graph(image, connectivity=8)
    one_hot = np.eye(9)[((g.edge_attr[:, 0] + 1) * 3 + g.edge_attr[:, 1] + 1).astype(int)]
    out = nn_conv(g.x, g.edge_index, one_hot, edge_network=lambda e: e @ kernel.reshape(9, 1),
                  weight_root=[[kernel[1, 1]]])
    np.testing.assert_allclose(out[:, 0].reshape(image.shape), correlate2d(image, kernel, mode="same"),
                               atol=1e-12)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(image=np.zeros(5)), ValueError, r"`image` must have shape \(H, W\) or \(H, W, C\), got shape \(5,\)"),
    (dict(image=np.zeros((0, 3))), ValueError, r"`image` must have at least one pixel"),
    (dict(image=[[1.0, np.nan]]), ValueError, r"`image` contains NaN"),
    (dict(image=[["a"]]), TypeError, r"`image` must be a numeric array"),
    (dict(image=np.zeros((3, 3)), connectivity=6), ValueError, r"`connectivity` must be 4 or 8, got 6"),
    (dict(image=np.zeros((3, 3)), connectivity=True), ValueError, r"`connectivity` must be 4 or 8, got True"),
    (dict(image=np.zeros((2, 5)), periodic=True), ValueError, r"at least 3 x 3 pixels, got 2 x 5"),
    (dict(image=np.zeros((3, 3)), periodic="yes"), TypeError, r"`periodic` must be a bool, got str"),
])
def test_image_to_graph_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        image_to_graph(**kwargs)


def _brute_knn(pos, k, loop):
    """Oracle: all pairwise distances, sorted; ids of the k nearest per point."""
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    if not loop:
        np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize("loop", [False, True])
def test_knn_graph_matches_brute_force_distances(loop):
    rng = np.random.default_rng(3)
    for _ in range(30):
        n, dim = int(rng.integers(2, 40)), int(rng.integers(1, 4))
        k = int(rng.integers(1, n + (1 if loop else 0)))
        pos = rng.standard_normal((n, dim))
        ei = knn_graph(pos, k, loop=loop)
        assert ei.dtype == np.int64 and ei.shape == (2, n * k)
        np.testing.assert_array_equal(ei[1], np.repeat(np.arange(n), k))  # k edges into each point
        np.testing.assert_array_equal(ei[0].reshape(n, k), _brute_knn(pos, k, loop))  # nearest first
        assert loop or not np.any(ei[0] == ei[1])


def test_knn_graph_duplicate_points_never_list_themselves():
    pos = np.array([[0.0, 0.0]] * 4 + [[5.0, 5.0]])
    ei = knn_graph(pos, k=3)
    assert not np.any(ei[0] == ei[1])
    np.testing.assert_array_equal(np.sort(ei[0, :3]), [1, 2, 3])  # point 0: its three copies
    assert set(ei[0, 12:].tolist()) <= {0, 1, 2, 3}


def test_knn_graph_is_equivariant_to_reordering_and_invariant_to_moves():
    rng = np.random.default_rng(4)
    pos = rng.standard_normal((25, 2))
    ei = knn_graph(pos, 4)
    perm = rng.permutation(25)
    pos_p, ei_p, _ = relabel(pos, ei, perm)
    as_set = lambda e: set(map(tuple, e.T.tolist()))
    assert as_set(knn_graph(pos_p, 4)) == as_set(ei_p)
    angle = 0.7
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    assert as_set(knn_graph(pos @ rot.T + [3.0, -2.0], 4)) == as_set(ei)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(pos=np.zeros(5), k=1), ValueError, r"`pos` must have shape \(N, F\), got shape \(5,\)"),
    (dict(pos=np.zeros((0, 2)), k=1), ValueError, r"`pos` must hold at least one point"),
    (dict(pos=np.zeros((3, 2)), k=3), ValueError, r"`k` must be <= 2 for 3 points \(loop=False\), got 3"),
    (dict(pos=np.zeros((3, 2)), k=4, loop=True), ValueError, r"`k` must be <= 3 for 3 points \(loop=True\)"),
    (dict(pos=np.zeros((3, 2)), k=0), ValueError, r"`k` must be >= 1, got 0"),
    (dict(pos=np.zeros((3, 2)), k=1.5), TypeError, r"`k` must be an integer"),
    (dict(pos=np.zeros((3, 2)), k=1, loop=1), TypeError, r"`loop` must be a bool, got int"),
    (dict(pos=[[0.0], [np.inf]], k=1), ValueError, r"`pos` contains NaN or infinite"),
])
def test_knn_graph_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        knn_graph(**kwargs)


SEGMENTS = {0: "abcdef", 1: "bc", 2: "abdeg", 3: "abcdg", 4: "bcfg",
            5: "acdfg", 6: "acdefg", 7: "abc", 8: "abcdefg", 9: "abcdfg"}


def test_digit_image_eight_by_hand_and_binary():
    expected = np.array([[1, 1, 1, 1, 1],
                         [1, 0, 0, 0, 1],
                         [1, 0, 0, 0, 1],
                         [1, 1, 1, 1, 1],
                         [1, 0, 0, 0, 1],
                         [1, 0, 0, 0, 1],
                         [1, 1, 1, 1, 1]])
    np.testing.assert_array_equal(digit_image(8, pad=0), expected)
    np.testing.assert_array_equal(digit_image(8), np.pad(expected, 1))
    for d in range(10):
        img = digit_image(d, height=11, width=7, thickness=2, pad=2)
        assert img.shape == (15, 11) and set(np.unique(img)) <= {0.0, 1.0}


@pytest.mark.parametrize("size", [dict(), dict(height=11, width=7, thickness=2), dict(height=5, width=3)])
def test_digit_image_inclusion_follows_the_segments(size):
    # digit a's pixels lie inside digit b's exactly when a's segments are a subset of b's
    imgs = {d: digit_image(d, **size) for d in range(10)}
    for a in range(10):
        for b in range(10):
            inside = bool(np.all(imgs[a] <= imgs[b]))
            assert inside == set(SEGMENTS[a]).issubset(SEGMENTS[b]), (a, b)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(digit=10), ValueError, r"`digit` must be in 0..9, got 10"),
    (dict(digit=-1), ValueError, r"`digit` must be >= 0, got -1"),
    (dict(digit=3.0), TypeError, r"`digit` must be an integer"),
    (dict(digit=3, height=4), ValueError, r"`height` must be >= 5, got 4"),
    (dict(digit=3, width=2), ValueError, r"`width` must be >= 3, got 2"),
    (dict(digit=3, thickness=0), ValueError, r"`thickness` must be >= 1, got 0"),
    (dict(digit=3, pad=-1), ValueError, r"`pad` must be >= 0, got -1"),
])
def test_digit_image_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        digit_image(**kwargs)


def test_outline_points_lie_on_the_outline_uniformly():
    circle = outline_points("circle", 4000, rng=5)
    square = outline_points("square", 4000, rng=5)
    assert circle.shape == square.shape == (4000, 2)
    np.testing.assert_allclose(np.linalg.norm(circle, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(square).max(axis=1), 1.0, atol=1e-12)
    assert np.all(np.abs(square) <= 1.0 + 1e-12)
    # uniform along the perimeter: each side, and each quarter of the circle, gets about a quarter
    x, y = square.T
    side = np.select([np.isclose(y, -1), np.isclose(x, 1), np.isclose(y, 1)], [0, 1, 2], default=3)
    quarter = (np.arctan2(circle[:, 1], circle[:, 0]) // (np.pi / 2)).astype(int) % 4
    for counts in (np.bincount(side, minlength=4), np.bincount(quarter, minlength=4)):
        assert np.all(np.abs(counts / 4000 - 0.25) < 0.03), counts


def test_outline_points_noise_and_rng():
    a = outline_points("circle", 3000, rng=np.random.default_rng(6), noise=0.1)
    b = outline_points("circle", 3000, rng=6, noise=0.1)
    np.testing.assert_array_equal(a, b)
    radial = np.linalg.norm(a, axis=1) - 1.0
    assert 0.08 < radial.std() < 0.12
    assert not np.array_equal(a, outline_points("circle", 3000, rng=7, noise=0.1))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(shape="triangle", num_points=3), ValueError, r"`shape` must be one of \('circle', 'square'\)"),
    (dict(shape="circle", num_points=0), ValueError, r"`num_points` must be >= 1, got 0"),
    (dict(shape="circle", num_points=5, noise=-0.1), ValueError, r"`noise` must be a finite number >= 0"),
    (dict(shape="circle", num_points=5, noise=np.nan), ValueError, r"`noise` must be a finite number >= 0"),
    (dict(shape="circle", num_points=5, rng="seed"), TypeError, r"`rng` must be a numpy Generator"),
])
def test_outline_points_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        outline_points(**kwargs)
