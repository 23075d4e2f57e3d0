"""Tests for mplib.layers: PyG fixtures, dense oracles, symmetry, purity, error messages, training.

Three independent checks per layer:
1. ``tests/data/pyg_layers.npz`` holds PyTorch Geometric's outputs for fixed graphs and weights
   (made by scripts/make_pyg_reference.py); we must agree to 1e-10.
2. A dense-matrix (or explicit loop) implementation written here from the formula.
3. Permutation equivariance through the shared ``helpers.assert_equivariant``.

And the two halves of "each layer is written once": on random graphs with isolated
nodes, parallel edges and self-loops, the same layer function given tensors returns
exactly the numbers it returns for plain arrays, and its gradient with respect to
every parameter and to the input features agrees with finite differences.
"""

import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import assert_gradients, assert_tensor_path_equals_array_path, graph_with_loops
from helpers import assert_equivariant, relabel
from mplib.autograd import Tensor, value_and_grad
from mplib.functional import relu
from mplib.layers import edge_conv, gat_conv, gcn_conv, gcn_norm, gin_conv, make_mlp, nn_conv, sage_conv

FIXTURE = pathlib.Path(__file__).parent / "data" / "pyg_layers.npz"
SEEDS = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------- helpers

def rand_mlp(rng, sizes):
    ws = [rng.standard_normal((a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.standard_normal(b) for b in sizes[1:]]
    return make_mlp(ws, bs), ws, bs


def counts(ei, n, drop_loops=False):
    """Dense A[i, j] = number of edges j -> i."""
    src, dst = ei
    keep = src != dst if drop_loops else np.ones(src.shape, bool)
    A = np.zeros((n, n))
    np.add.at(A, (dst[keep], src[keep]), 1.0)
    return A


def dense_aggregate(A, x, aggr):
    if aggr == "sum":
        return A @ x
    if aggr == "mean":
        return A @ x / np.maximum(A.sum(1, keepdims=True), 1)
    out = np.where(A[:, :, None] > 0, x[None, :, :], -np.inf).max(axis=1)
    return np.where(np.isfinite(out), out, 0.0)


def plain_mlp(ws, bs):
    """Reference MLP written independently of make_mlp."""
    def f(h):
        for k, (w, b) in enumerate(zip(ws, bs)):
            h = h.dot(w) + b
            if k < len(ws) - 1:
                h = h * (h > 0)
        return h
    return f


# ----------------------------------------------------------------------------- PyG fixtures

def _fixture_cases():
    if not FIXTURE.exists():
        return []
    with np.load(FIXTURE) as d:
        return sorted({tuple(k.split("__")[:2]) for k in d.files if k.count("__") == 2})


def _run_case(d, g, case):
    p = {k.split("__")[2]: d[k] for k in d.files if k.startswith(f"{g}__{case}__")}
    x, ei = d[f"{g}__x"], d[f"{g}__edge_index"]
    kind = case.split("_")[0]
    if kind == "gcn":
        ew = d[f"{g}__edge_weight"] if case == "gcn_weighted" else None
        return gcn_conv(x, ei, p["weight"], p["bias"], edge_weight=ew), p
    if kind == "sage":
        return sage_conv(x, ei, p["weight_neigh"], p.get("weight_root"), p["bias"],
                         aggr=case.split("_")[1]), p
    if kind == "gin":
        mlp = make_mlp([p["mlp_w0"], p["mlp_w1"]], [p["mlp_b0"], p["mlp_b1"]])
        return gin_conv(x, ei, mlp, eps=float(p["eps"])), p
    if kind == "gat":
        out, (ei_loops, alpha) = gat_conv(
            x, ei, p["weight"], p["att_src"], p["att_dst"], p["bias"], heads=int(p["heads"]),
            concat=bool(p["concat"]), return_attention=True)
        np.testing.assert_array_equal(ei_loops, p["att_edge_index"])
        np.testing.assert_allclose(alpha, p["alpha"], rtol=0, atol=1e-10)
        return out, p
    if kind == "nn":
        net = make_mlp([p["net_w0"], p["net_w1"]], [p["net_b0"], p["net_b1"]])
        aggr = {"add": "sum", "mean": "mean"}[case.split("_")[1]]
        return nn_conv(x, ei, d[f"{g}__edge_attr"], net, p["weight_root"], p["bias"], aggr=aggr), p
    if kind == "edge":
        mlp = make_mlp([p["mlp_w0"], p["mlp_w1"]], [p["mlp_b0"], p["mlp_b1"]])
        return edge_conv(x, ei, mlp), p
    raise AssertionError(f"fixture case {case} has no runner")


def test_fixture_covers_every_layer():
    kinds = {case.split("_")[0] for _, case in _fixture_cases()}
    assert kinds == {"gcn", "sage", "gin", "gat", "nn", "edge"}, "regenerate tests/data/pyg_layers.npz"


@pytest.mark.parametrize("graph,case", _fixture_cases())
def test_layers_match_pyg(graph, case):
    with np.load(FIXTURE) as d:
        out, p = _run_case(d, graph, case)
    assert out.shape == p["out"].shape
    np.testing.assert_allclose(out, p["out"], rtol=0, atol=1e-10)


# ----------------------------------------------------------------------------- dense oracles

@SEEDS
@given(seed=seeds, weighted=st.booleans())
def test_gcn_conv_matches_dense(seed, weighted):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    n, e = x.shape[0], ei.shape[1]
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    ew = rng.uniform(0.0, 2.0, e) if weighted else np.ones(e)
    loops = ei[0] == ei[1]
    ew[loops] = 0.5 if weighted else 1.0  # a doubled loop is kept once: give both the same weight
    A = np.zeros((n, n))
    np.add.at(A, (ei[1][~loops], ei[0][~loops]), ew[~loops])
    diag = np.ones(n)
    diag[ei[0][loops]] = ew[loops]
    A += np.diag(diag)
    deg = A.sum(1)
    D = np.diag(np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0))
    expected = D @ A @ D @ x @ W + b
    got = gcn_conv(x, ei, W, b, edge_weight=ew if weighted else None)
    np.testing.assert_allclose(got, expected, atol=1e-12)


@SEEDS
@given(seed=seeds, aggr=st.sampled_from(["mean", "sum", "max"]), root=st.booleans())
def test_sage_conv_matches_dense(seed, aggr, root):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    Wn, Wr, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    expected = dense_aggregate(counts(ei, len(x)), x, aggr) @ Wn + b + (x @ Wr if root else 0)
    got = sage_conv(x, ei, Wn, Wr if root else None, b, aggr=aggr)
    np.testing.assert_allclose(got, expected, atol=1e-12)


@SEEDS
@given(seed=seeds, eps=st.floats(-1.0, 2.0))
def test_gin_conv_matches_dense(seed, eps):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    _, ws, bs = rand_mlp(rng, [3, 5, 2])
    expected = plain_mlp(ws, bs)((1 + eps) * x + counts(ei, len(x)) @ x)
    np.testing.assert_allclose(gin_conv(x, ei, make_mlp(ws, bs), eps=eps), expected, atol=1e-12)


def dense_gat(x, ei, W, a_s, a_d, heads, concat, slope):
    """GAT with dense (N, N, H) score tensors; parallel edges weigh as their multiplicity."""
    n = len(x)
    C = counts(ei, n, drop_loops=True) + np.eye(n)  # multiplicity of j -> i, one self-loop each
    h = (x @ W).reshape(n, heads, -1)
    s = np.einsum("nhf,hf->nh", h, a_s)
    d = np.einsum("nhf,hf->nh", h, a_d)
    S = d[:, None, :] + s[None, :, :]  # S[i, j] = a_dst . h_i + a_src . h_j
    S = np.where(S > 0, S, slope * S)
    P = C[:, :, None] * np.exp(S - S.max(axis=1, keepdims=True))
    per_edge = P / P.sum(axis=1, keepdims=True) / np.where(C > 0, C, 1)[:, :, None]
    out = np.einsum("ijh,jhf->ihf", P / P.sum(axis=1, keepdims=True), h)
    return (out.reshape(n, -1) if concat else out.mean(1)), per_edge


@SEEDS
@given(seed=seeds, heads=st.integers(1, 3), concat=st.booleans(), slope=st.floats(0.0, 1.0))
def test_gat_conv_matches_dense(seed, heads, concat, slope):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    W = rng.standard_normal((3, heads * 2))
    a_s, a_d = rng.standard_normal((heads, 2)), rng.standard_normal((heads, 2))
    out, (ei2, alpha) = gat_conv(x, ei, W, a_s, a_d, heads=heads, concat=concat,
                                 negative_slope=slope, return_attention=True)
    expected, per_edge = dense_gat(x, ei, W, a_s, a_d, heads, concat, slope)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    np.testing.assert_allclose(alpha, per_edge[ei2[1], ei2[0]], atol=1e-12)
    assert out.shape == (len(x), heads * 2 if concat else 2)


@SEEDS
@given(seed=seeds, aggr=st.sampled_from(["sum", "mean", "max"]), root=st.booleans())
def test_nn_conv_matches_loop(seed, aggr, root):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    n, e = x.shape[0], ei.shape[1]
    ea = rng.standard_normal((e, 2))
    net, ws, bs = rand_mlp(rng, [2, 4, 3 * 5])
    Wr, b = rng.standard_normal((3, 5)), rng.standard_normal(5)
    # Explicit loop over receivers, the formula read off the page.
    expected = x @ Wr + b if root else np.tile(b, (n, 1))
    theta = plain_mlp(ws, bs)(ea).reshape(e, 3, 5)
    for i in range(n):
        msgs = [x[j] @ theta[k] for k, j in enumerate(ei[0]) if ei[1, k] == i]
        if msgs:
            expected[i] += {"sum": np.sum, "mean": np.mean, "max": np.max}[aggr](msgs, axis=0)
    got = nn_conv(x, ei, ea, net, Wr if root else None, b, aggr=aggr)
    np.testing.assert_allclose(got, expected, atol=1e-12)


@SEEDS
@given(seed=seeds, aggr=st.sampled_from(["max", "sum", "mean"]))
def test_edge_conv_matches_loop(seed, aggr):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    _, ws, bs = rand_mlp(rng, [6, 4, 2])
    f = plain_mlp(ws, bs)
    expected = np.zeros((len(x), 2))
    for i in range(len(x)):
        nbrs = ei[0, ei[1] == i]
        if nbrs.size:
            m = f(np.concatenate([np.tile(x[i], (nbrs.size, 1)), x[nbrs] - x[i]], axis=1))
            expected[i] = {"sum": np.sum, "mean": np.mean, "max": np.max}[aggr](m, axis=0)
    np.testing.assert_allclose(edge_conv(x, ei, make_mlp(ws, bs), aggr=aggr), expected, atol=1e-12)


# ----------------------------------------------------------------------------- properties

def _layers(rng):
    """Every layer (with random weights) as f(x, edge_index, edge_attr) for 3 input features."""
    W, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    mlp3, _, _ = rand_mlp(rng, [3, 5, 4])
    mlp6, _, _ = rand_mlp(rng, [6, 5, 4])
    net, _, _ = rand_mlp(rng, [2, 5, 12])
    a_s, a_d = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    return {
        "gcn": lambda x, ei, ea: gcn_conv(x, ei, W, b),
        "sage": lambda x, ei, ea: sage_conv(x, ei, W, W[::-1], b),
        "gin": lambda x, ei, ea: gin_conv(x, ei, mlp3, eps=0.1),
        "gat": lambda x, ei, ea: gat_conv(x, ei, W, a_s, a_d, heads=2, concat=False),
        "nn": lambda x, ei, ea: nn_conv(x, ei, ea, net, W, b, aggr="mean"),
        "edge": lambda x, ei, ea: edge_conv(x, ei, mlp6),
    }


@pytest.mark.parametrize("layer", ["gcn", "sage", "gin", "gat", "nn", "edge"])
def test_layer_equivariant(layer):
    rng = np.random.default_rng(7)
    for _ in range(15):
        x, ei = graph_with_loops(rng)
        ea = rng.standard_normal((ei.shape[1], 2))
        f = _layers(rng)[layer]
        assert_equivariant(f, x, ei, rng, trials=3, atol=1e-10, edge_attr=ea)


@pytest.mark.parametrize("layer", ["gcn", "sage", "gin", "gat", "nn", "edge"])
def test_layer_does_not_mutate_inputs(layer):
    rng = np.random.default_rng(3)
    x, ei = graph_with_loops(rng, num_nodes=6, num_edges=15)
    ea = rng.standard_normal((ei.shape[1], 2))
    f = _layers(rng)[layer]
    copies = x.copy(), ei.copy(), ea.copy()
    out = f(x, ei, ea)
    for before, after in zip(copies, (x, ei, ea)):
        np.testing.assert_array_equal(before, after)
    assert out is not x and not np.shares_memory(out, x)


def test_gat_conv_attention_sums_to_one_and_relabels():
    rng = np.random.default_rng(11)
    for _ in range(20):
        x, ei = graph_with_loops(rng)
        n = len(x)
        W, a_s, a_d = rng.standard_normal((3, 6)), rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
        _, (ei2, alpha) = gat_conv(x, ei, W, a_s, a_d, heads=3, return_attention=True)
        sums = np.zeros((n, 3))
        np.add.at(sums, ei2[1], alpha)
        np.testing.assert_allclose(sums, 1.0, atol=1e-12)
        assert np.all(alpha > 0)
        assert np.sum(ei2[0] == ei2[1]) == n  # exactly one self-loop per node

        perm = rng.permutation(n)
        x_p, ei_p, _ = relabel(x, ei, perm)
        _, (ei2_p, alpha_p) = gat_conv(x_p, ei_p, W, a_s, a_d, heads=3, return_attention=True)
        dense, dense_p = np.zeros((n, n, 3)), np.zeros((n, n, 3))
        np.add.at(dense, (ei2[1], ei2[0]), alpha)
        np.add.at(dense_p, (ei2_p[1], ei2_p[0]), alpha_p)
        np.testing.assert_allclose(dense_p[np.ix_(perm, perm)], dense, atol=1e-12)


def test_gcn_conv_self_loops_and_parallel_edges():
    rng = np.random.default_rng(5)
    x, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    base = np.array([[0, 1, 2], [1, 2, 3]])
    ref = gcn_conv(x, base, W)
    # An existing self-loop (even a doubled one) is not added again.
    looped = np.concatenate([base, [[1, 1, 3], [1, 1, 3]]], axis=1)
    np.testing.assert_allclose(gcn_conv(x, looped, W), ref, atol=1e-12)
    # A parallel edge counts twice: the same as weight 2.
    doubled = np.concatenate([base, [[0], [1]]], axis=1)
    np.testing.assert_allclose(gcn_conv(x, doubled, W), gcn_conv(x, base, W, edge_weight=[2.0, 1, 1]),
                               atol=1e-12)
    assert not np.allclose(gcn_conv(x, doubled, W), ref)


def test_layers_isolated_nodes():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    ei = np.zeros((2, 0), dtype=np.int64)
    W, b = np.eye(2), np.array([0.5, -0.5])
    np.testing.assert_allclose(gcn_conv(x, ei, W, b), x + b)  # only the self-loop: D^-1/2 I D^-1/2 = I
    np.testing.assert_allclose(sage_conv(x, ei, W, 2 * W, b), 2 * x + b)
    np.testing.assert_allclose(gin_conv(x, ei, lambda h: h, eps=1.0), 2 * x)
    np.testing.assert_allclose(gat_conv(x, ei, W, np.ones((1, 2)), np.ones((1, 2)), b), x + b)
    np.testing.assert_allclose(nn_conv(x, ei, np.zeros((0, 1)), lambda e: np.zeros((0, 4))), 0.0)
    np.testing.assert_allclose(edge_conv(x, ei, lambda z: z[:, :1]), np.zeros((3, 1)))


def test_make_mlp_matches_plain_and_accepts_no_biases():
    rng = np.random.default_rng(2)
    mlp, ws, bs = rand_mlp(rng, [3, 4, 4, 2])
    h = rng.standard_normal((5, 3))
    np.testing.assert_allclose(mlp(h), plain_mlp(ws, bs)(h), atol=1e-12)
    np.testing.assert_allclose(make_mlp(ws)(h), plain_mlp(ws, [0, 0, 0])(h), atol=1e-12)
    np.testing.assert_allclose(make_mlp(ws[:1])(h), h @ ws[0])  # no ReLU after the last layer


def test_nn_conv_accepts_three_dim_output_and_1d_edge_attr():
    rng = np.random.default_rng(4)
    x, ei = graph_with_loops(rng, num_nodes=5, num_edges=9)
    ea = rng.standard_normal(ei.shape[1])
    T = rng.standard_normal((3, 2))
    flat = nn_conv(x, ei, ea, lambda e: e * T.ravel())
    cube = nn_conv(x, ei, ea, lambda e: e[:, :, None] * T)
    np.testing.assert_allclose(flat, cube, atol=1e-12)
    assert flat.shape == (5, 2)


# ----------------------------------------------------------------------------- errors

X = np.ones((3, 2))
EI = np.array([[0, 1], [1, 2]])


@pytest.mark.parametrize("call,exc,match", [
    (lambda: gcn_conv(X, [[0, 5], [1, 2]], np.eye(2)), ValueError, "`edge_index` refers to node 5"),
    (lambda: gcn_conv(X, EI, np.ones((3, 2))), ValueError, r"`weight` must have shape \(2, '\*'\)"),
    (lambda: gcn_conv(X, EI, np.eye(2), bias=np.ones(3)), ValueError, r"`bias` must have shape \(2,\)"),
    (lambda: gcn_conv(X, EI, np.eye(2), edge_weight=[1.0]), ValueError, "`edge_weight` must have 2 rows"),
    (lambda: gcn_conv(X, EI, np.eye(2), edge_weight=[1.0, -1.0]), ValueError, "non-negative"),
    (lambda: gcn_conv(np.full((3, 2), np.nan), EI, np.eye(2)), ValueError, "`x` contains NaN"),
    (lambda: gcn_conv(np.ones(3), EI, np.eye(2)), ValueError, r"`x` must have shape \(N, F\)"),
    (lambda: sage_conv(X, EI, np.eye(2), aggr="min"), ValueError, "`aggr` must be one of"),
    (lambda: sage_conv(X, EI, np.eye(2), np.ones((2, 3))), ValueError, "`weight_root` must have shape"),
    (lambda: gin_conv(X, EI, "relu"), TypeError, "`mlp` must be callable"),
    (lambda: gin_conv(X, EI, lambda h: h[:2]), ValueError, r"`mlp` must return an array of shape \(3, F_out\)"),
    (lambda: gin_conv(X, EI, lambda h: h, eps="0"), TypeError, "`eps` must be a finite real number"),
    (lambda: gat_conv(X, EI, np.eye(2), np.ones((2, 2)), np.ones((2, 2)), heads=1),
     ValueError, "`att_src` must have shape"),
    (lambda: gat_conv(X, EI, np.eye(2), np.ones((2, 2)), np.ones((2, 2)), heads=2),
     ValueError, r"`weight` must have shape \(2, 4\)"),
    (lambda: gat_conv(X, EI, np.eye(2), np.ones((1, 2)), np.ones((1, 3))),
     ValueError, r"`att_dst` must have shape \(1, 2\)"),
    (lambda: gat_conv(X, EI, np.eye(2), np.ones((1, 2)), np.ones((1, 2)), heads=0),
     ValueError, "`heads` must be >= 1"),
    (lambda: gat_conv(X, EI, np.eye(2), np.ones((1, 2)), np.ones((1, 2)), heads=1.0),
     TypeError, "`heads` must be an integer"),
    (lambda: gat_conv(X, EI, np.ones((2, 4)), np.ones((2, 2)), np.ones((2, 2)), bias=np.ones(4), heads=2,
                      concat=False), ValueError, r"`bias` must have shape \(2,\)"),
    (lambda: gat_conv(X, EI, np.eye(2), np.ones((1, 2)), np.ones((1, 2)), negative_slope=None),
     TypeError, "`negative_slope` must be a finite real number"),
    (lambda: nn_conv(X, EI, np.ones((3, 1)), lambda e: np.ones((2, 4))), ValueError, "`edge_attr` must have 2 rows"),
    (lambda: nn_conv(X, EI, np.ones((2, 1)), lambda e: np.ones((2, 3))), ValueError,
     r"`edge_network` must return shape \(2, 2 \* F_out\)"),
    (lambda: nn_conv(X, EI, np.ones((2, 1)), lambda e: np.ones((2, 4)), np.ones((2, 3))), ValueError,
     r"`edge_network` must return shape \(2, 2 \* 3\)"),
    (lambda: nn_conv(X, EI, np.ones((2, 1)), None), TypeError, "`edge_network` must be callable"),
    (lambda: nn_conv(X, EI, np.ones((2, 1)), lambda e: np.ones((2, 4)), aggr="add"), ValueError,
     "`aggr` must be one of"),
    (lambda: edge_conv(X, EI, lambda z: z[:1]), ValueError, r"`mlp` must return an array of shape \(2, F_out\)"),
    (lambda: make_mlp([]), ValueError, "`weights` must hold at least one matrix"),
    (lambda: make_mlp([np.ones((2, 3)), np.ones((2, 1))]), ValueError, "`weights\\[1\\]` must have 3 rows"),
    (lambda: make_mlp([np.ones((2, 3))], [None, None]), ValueError, "`biases` must have one entry per weight"),
    (lambda: make_mlp([np.ones((2, 3))], [np.ones(2)]), ValueError, r"`biases\[0\]` must have shape \(3,\)"),
    (lambda: make_mlp([np.ones((2, 3))])(np.ones((4, 3))), ValueError, "the MLP expects 2 input columns"),
])
def test_layers_bad_input_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ----------------------------------------------------------------------------- one implementation: tensors

def rand(rng, *shape):
    return rng.standard_normal(shape)


def mlp_params(rng, sizes, prefix):
    p = {}
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        p[f"{prefix}w{k}"], p[f"{prefix}b{k}"] = rand(rng, a, b), rand(rng, b)
    return p


def mlp_from(p, prefix):
    ks = sorted(k for k in p if k.startswith(prefix + "w"))
    return make_mlp([p[k] for k in ks], [p[k.replace(prefix + "w", prefix + "b")] for k in ks])


@SEEDS
@given(seed=seeds, weighted=st.booleans())
def test_gcn_conv_tensor_path_equals_array_path_and_gradient(seed, weighted):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    ew = rng.uniform(0.1, 2.0, ei.shape[1]) if weighted else None
    p = {"x": x, "W": rand(rng, 3, 2), "b": rand(rng, 2)}

    def f(q):
        return gcn_conv(q["x"], ei, q["W"], q["b"], edge_weight=ew)
    out = assert_tensor_path_equals_array_path(f, p)
    np.testing.assert_array_equal(gcn_conv(x, ei, p["W"], p["b"], adj=gcn_norm(ei, len(x), ew)), out)
    assert_gradients(f, p, rng)


@SEEDS
@given(seed=seeds, aggr=st.sampled_from(["mean", "sum", "max"]), root=st.booleans())
def test_sage_conv_tensor_path_equals_array_path_and_gradient(seed, aggr, root):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    p = {"x": x, "Wn": rand(rng, 3, 4), "b": rand(rng, 4)}
    if root:
        p["Wr"] = rand(rng, 3, 4)

    def f(q):
        return sage_conv(q["x"], ei, q["Wn"], q.get("Wr"), q["b"], aggr=aggr)
    assert_tensor_path_equals_array_path(f, p)
    assert_gradients(f, p, rng)


@SEEDS
@given(seed=seeds, eps=st.floats(-1.0, 2.0))
def test_gin_conv_tensor_path_equals_array_path_and_gradient(seed, eps):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    p = {"x": x, **mlp_params(rng, [3, 5, 2], "m")}

    def f(q):
        return gin_conv(q["x"], ei, mlp_from(q, "m"), eps)
    assert_tensor_path_equals_array_path(f, p)
    assert_gradients(f, p, rng)


@SEEDS
@given(seed=seeds, heads=st.integers(1, 3), concat=st.booleans(), slope=st.floats(0.01, 1.0))
def test_gat_conv_tensor_path_equals_array_path_and_gradient(seed, heads, concat, slope):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    p = {"x": x, "W": rand(rng, 3, heads * 2), "as": rand(rng, heads, 2), "ad": rand(rng, heads, 2),
         "b": rand(rng, heads * 2 if concat else 2)}

    def f(q, part=0):
        out = gat_conv(q["x"], ei, q["W"], q["as"], q["ad"], q["b"], heads=heads, concat=concat,
                       negative_slope=slope, return_attention=True)
        return out[0] if part == 0 else out[1][1]
    assert_tensor_path_equals_array_path(f, p)
    assert_tensor_path_equals_array_path(lambda q: f(q, part=1), p)  # the attention weights too
    assert_gradients(f, p, rng)
    # the attention weights themselves are differentiable in the attention vectors
    assert_gradients(lambda q: f({**p, "as": q["as"], "ad": q["ad"]}, part=1), {"as": p["as"], "ad": p["ad"]}, rng)


def test_gat_conv_attention_vectors_get_gradient_through_softmax_and_leaky_relu():
    """On a star whose leaves differ, a_src must move even when attention starts near uniform.

    (Exactly zero attention vectors would put every score on LeakyReLU's kink, where
    finite differences see the mean of the two slopes; hence tiny random ones.)
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2))
    ei = np.array([[1, 2, 3, 4], [0, 0, 0, 0]])
    params = {"as": 1e-2 * rng.standard_normal((1, 2)), "ad": 1e-2 * rng.standard_normal((1, 2))}
    _, grads = value_and_grad(lambda q: gat_conv(x, ei, np.eye(2), q["as"], q["ad"])[0].sum(), params)
    assert np.abs(grads["as"]).max() > 1e-3
    assert_gradients(lambda q: gat_conv(x, ei, np.eye(2), q["as"], q["ad"]), params, rng)


@SEEDS
@given(seed=seeds, p_drop=st.floats(0.1, 0.9))
def test_gat_conv_attention_dropout_only_when_training(seed, p_drop):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng, num_nodes=8, num_edges=20)
    args = (x, ei, rand(rng, 3, 4), rand(rng, 2, 2), rand(rng, 2, 2))
    plain = gat_conv(*args, heads=2)
    np.testing.assert_array_equal(gat_conv(*args, heads=2, dropout_p=p_drop, training=False, rng=0), plain)
    a = gat_conv(*args, heads=2, dropout_p=p_drop, training=True, rng=seed)
    np.testing.assert_array_equal(a, gat_conv(*args, heads=2, dropout_p=p_drop, training=True, rng=seed))
    traced = gat_conv(Tensor(args[0]), *args[1:], heads=2, dropout_p=p_drop, training=True, rng=seed)
    np.testing.assert_array_equal(traced.data, a)  # the same mask on both paths, from the same seed
    # the dropped weights: alpha / (1 - p) where kept, 0 where dropped, drawn per edge and head
    _, (ei2, alpha) = gat_conv(*args, heads=2, return_attention=True)
    keep = np.random.default_rng(seed).random(alpha.shape) >= p_drop
    h = (x @ args[2]).reshape(len(x), 2, 2)
    expected = np.zeros_like(h)
    np.add.at(expected, ei2[1], (alpha * keep / (1 - p_drop))[:, :, None] * h[ei2[0]])
    np.testing.assert_allclose(a, expected.reshape(len(x), 4), atol=1e-12)


@SEEDS
@given(seed=seeds, aggr=st.sampled_from(["sum", "mean", "max"]), root=st.booleans(), flat=st.booleans())
def test_nn_conv_tensor_path_equals_array_path_and_gradient(seed, aggr, root, flat):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    ea = rand(rng, ei.shape[1], 2)
    p = {"x": x, "b": rand(rng, 2), **mlp_params(rng, [2, 4, 6], "e")}
    if root:
        p["Wr"] = rand(rng, 3, 2)

    def f(q):
        mlp = mlp_from(q, "e")
        net = mlp if flat else (lambda e: mlp(e).reshape(-1, 3, 2))
        return nn_conv(q["x"], ei, ea, net, q.get("Wr"), q["b"], aggr=aggr)
    assert_tensor_path_equals_array_path(f, p)
    assert_gradients(f, p, rng)


@SEEDS
@given(seed=seeds, aggr=st.sampled_from(["sum", "mean", "max"]))
def test_edge_conv_tensor_path_equals_array_path_and_gradient(seed, aggr):
    rng = np.random.default_rng(seed)
    x, ei = graph_with_loops(rng)
    p = {"x": x, **mlp_params(rng, [6, 4, 2], "m")}

    def f(q):
        return edge_conv(q["x"], ei, mlp_from(q, "m"), aggr)
    assert_tensor_path_equals_array_path(f, p)
    assert_gradients(f, p, rng)


@SEEDS
@given(seed=seeds)
def test_make_mlp_tensor_path_equals_array_path_and_gradient(seed):
    rng = np.random.default_rng(seed)
    p = {"x": rand(rng, 4, 3), **mlp_params(rng, [3, 5, 4, 2], "m")}
    assert_tensor_path_equals_array_path(lambda q: mlp_from(q, "m")(q["x"]), p)
    assert_gradients(lambda q: mlp_from(q, "m")(q["x"]), p, rng)


def test_stack_of_layers_on_graph_with_isolated_nodes_and_loops():
    """A stack (GAT -> ReLU -> SAGE max -> GCN) to check the chain rule across layers."""
    rng = np.random.default_rng(5)
    x, ei = graph_with_loops(rng, num_nodes=9, num_edges=15)
    assert np.any(np.bincount(ei[1], minlength=9) == 0)  # at least one node receives nothing
    p = {"W1": rand(rng, 3, 4), "as": rand(rng, 2, 2), "ad": rand(rng, 2, 2), "Wn": rand(rng, 4, 3),
         "Wr": rand(rng, 4, 3), "W3": rand(rng, 3, 2), "b3": rand(rng, 2)}

    def f(q):
        h = relu(gat_conv(x, ei, q["W1"], q["as"], q["ad"], heads=2))
        h = relu(sage_conv(h, ei, q["Wn"], q["Wr"], aggr="max"))
        return gcn_conv(h, ei, q["W3"], q["b3"])
    assert_tensor_path_equals_array_path(f, p)
    assert_gradients(f, p, rng)


def test_tensor_inputs_are_checked_like_arrays():
    x, ei = Tensor(np.ones((3, 2)), requires_grad=True), np.array([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match=r"`weight` must have shape \(2, '\*'\), got \(3, 2\)"):
        gcn_conv(x, ei, Tensor(np.ones((3, 2))))
    with pytest.raises(ValueError, match="`x` contains NaN or infinite values"):
        sage_conv(Tensor([[np.nan], [1.0], [2.0]]), ei, np.ones((1, 1)))
    with pytest.raises(ValueError, match=r"`adj` must be a scipy sparse matrix of shape \(3, 3\)"):
        gcn_conv(x, ei, np.ones((2, 2)), adj=np.eye(3))
    with pytest.raises(ValueError, match=r"`mlp` must return an array of shape \(3, F_out\)"):
        gin_conv(x, ei, lambda h: h[:1])
    with pytest.raises(ValueError, match=r"`p` must be in \[0, 1\), got 1.0"):
        gat_conv(x, ei, np.ones((2, 2)), np.ones((1, 2)), np.ones((1, 2)), dropout_p=1.0, training=True)
