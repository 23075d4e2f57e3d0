"""mplib.transformer: encodings against networkx's matrices and numpy's eigensolver, attention
against a dense numpy softmax, equivariance and gradients."""

import networkx as nx
import numpy as np
import pytest

from mplib.autograd import numerical_grad, value_and_grad
from mplib.generators import random_graph
from mplib.graph import Graph, from_networkx, to_networkx
from mplib.transformer import attention_conv, laplacian_pe, random_walk_pe


def relabel(g, seed):
    """The graph with node v renamed new[v], and new."""
    new = np.random.default_rng(seed).permutation(g.num_nodes)
    return Graph(new[g.edge_index], num_nodes=g.num_nodes), new


# -- positional encodings ------------------------------------------------------------------


def test_laplacian_pe_is_a_sign_fixed_eigenbasis():
    g = from_networkx(nx.frucht_graph())
    pe = laplacian_pe(g, 4)
    G = nx.frucht_graph()
    lap = nx.normalized_laplacian_matrix(G, nodelist=sorted(G)).toarray()
    lam = np.sort(np.linalg.eigvalsh(lap))
    assert np.allclose(pe.T @ pe, np.eye(4))
    assert np.allclose(lap @ pe, pe * lam[1:5])
    big = np.argmax(np.abs(pe), axis=0)
    assert np.all(pe[big, range(4)] > 0)


def test_laplacian_pe_moves_with_the_nodes_when_there_is_no_symmetry():
    g = from_networkx(nx.frucht_graph())                   # trivial automorphism group
    moved, new = relabel(g, 3)
    assert np.allclose(laplacian_pe(moved, 5)[new], laplacian_pe(g, 5))
    with pytest.raises(ValueError, match="`k` must be at most 11"):
        laplacian_pe(g, 12)


@pytest.mark.parametrize("seed", range(3))
def test_random_walk_pe_matches_matrix_powers_and_triangles(seed):
    g = random_graph(10, p=0.35, rng=seed)
    G = to_networkx(g)
    a = nx.to_numpy_array(G, nodelist=range(10))
    deg = a.sum(axis=1)
    p = np.divide(a, deg[:, None], out=np.zeros_like(a), where=deg[:, None] > 0)  # row-stochastic
    pe = random_walk_pe(g, 4)
    for t in range(1, 5):
        assert np.allclose(pe[:, t - 1], np.diag(np.linalg.matrix_power(p, t)))
    tri = nx.triangles(G)
    assert all((pe[v, 2] > 0) == (tri[v] > 0) for v in range(10))
    for v in range(10):          # back in two steps: (1 / d_v) sum over neighbours u of 1 / d_u
        expected = sum(1 / deg[u] for u in G[v]) / deg[v] if deg[v] else 0.0
        assert pe[v, 1] == pytest.approx(expected)


# -- attention -----------------------------------------------------------------------------


def dense_attention(x, wq, wk, wv, bias=None):
    s = (x @ wq) @ (x @ wk).T / np.sqrt(wq.shape[1]) + (0 if bias is None else bias)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)) @ (x @ wv)


def test_attention_conv_on_all_pairs_is_softmax_attention():
    rng = np.random.default_rng(0)
    n = 6
    x, wq, wk, wv = rng.normal(size=(n, 3)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.normal(size=(3, 4))
    dst, src = np.nonzero(np.ones((n, n)))
    bias = -rng.integers(0, 3, size=(n, n)).astype(float)
    out = attention_conv(x, np.stack([src, dst]), wq, wk, wv, bias=bias[dst, src])
    assert np.allclose(out, dense_attention(x, wq, wk, wv, bias))


def test_attention_conv_is_permutation_equivariant_and_differentiable():
    rng = np.random.default_rng(1)
    g = random_graph(7, p=0.4, rng=1)
    x = rng.normal(size=(7, 2))
    w = {"q": rng.normal(size=(2, 2)), "k": rng.normal(size=(2, 2)), "v": rng.normal(size=(2, 2))}
    moved, new = relabel(g, 5)
    x_moved = np.empty_like(x)
    x_moved[new] = x
    out = attention_conv(x, g.edge_index, w["q"], w["k"], w["v"])
    assert np.allclose(attention_conv(x_moved, moved.edge_index, w["q"], w["k"], w["v"])[new], out)

    def loss(p):
        return (attention_conv(x, g.edge_index, p["q"], p["k"], p["v"]) * x).sum()

    grads = value_and_grad(loss, w)[1]
    numeric = numerical_grad(loss, w)
    assert all(np.allclose(grads[k], numeric[k], atol=1e-6) for k in w)


def test_attention_conv_rejects_a_bias_of_the_wrong_length():
    with pytest.raises(ValueError, match="one entry per edge"):
        attention_conv(np.eye(2), np.array([[0, 1], [1, 0]]), np.eye(2), np.eye(2), np.eye(2), bias=np.ones(3))
