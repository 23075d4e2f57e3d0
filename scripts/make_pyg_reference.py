"""Write tests/data/pyg_layers.npz: PyTorch Geometric's outputs for the layers of mplib.layers.

PyTorch is not a dependency of the project; this script is run by hand, once, in a
throwaway virtual environment outside the repository, and its output is committed:

    python3 -m venv /tmp/pygvenv
    /tmp/pygvenv/bin/pip install torch==2.13.0 torch_geometric numpy   # CPU torch is enough
    /tmp/pygvenv/bin/python scripts/make_pyg_reference.py             # from the repository root

(Generated with torch 2.13.0 and torch_geometric 2.8.1, without torch_scatter/torch_sparse;
the versions are stored in the file under ``meta__torch`` and ``meta__pyg``.)

The file holds, for each test graph ``g<k>``, the inputs ``g<k>__x``, ``g<k>__edge_index``,
``g<k>__edge_attr``, ``g<k>__edge_weight`` and, for each case ``<case>``, its weights
``g<k>__<case>__<name>`` in mplib's row-vector layout (``(F_in, F_out)``, the transpose of
torch's ``Linear.weight``) and PyG's output ``g<k>__<case>__out``. tests/test_layers.py
reads it and checks mplib against PyG to 1e-10.
"""

import pathlib

import numpy as np
import torch
import torch_geometric
from torch import nn
from torch_geometric.nn import EdgeConv, GATConv, GCNConv, GINConv, NNConv, SAGEConv

torch.set_default_dtype(torch.float64)
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "pyg_layers.npz"
F_IN, F_OUT, D_EDGE, HIDDEN = 4, 3, 2, 5


def graphs(rng):
    """Three small graphs with isolated nodes, self-loops and parallel edges, and one without edges."""
    # g0: node 5 and 6 isolated, a self-loop on 2, the edge 0 -> 1 twice.
    g0 = np.array([[0, 0, 1, 2, 3, 2, 4, 1, 3],
                   [1, 1, 2, 2, 2, 4, 0, 0, 4]])
    # g1: random undirected-looking graph on 10 nodes plus extras: two self-loops on node 3,
    # a parallel pair 7 -> 8, node 9 isolated.
    src = rng.integers(0, 9, 20)
    dst = rng.integers(0, 9, 20)
    g1 = np.concatenate([np.stack([src, dst]), np.stack([dst, src]),
                         [[3, 3, 7, 7], [3, 3, 8, 8]]], axis=1)
    # g2: three nodes, no edges at all.
    g2 = np.zeros((2, 0), dtype=np.int64)
    out = []
    for ei, n in ((g0, 7), (g1, 10), (g2, 3)):
        ei = ei.astype(np.int64)
        e = ei.shape[1]
        weight = rng.uniform(0.1, 2.0, e)
        loops = ei[0] == ei[1]
        weight[loops] = 0.7  # several loops on one node: PyG keeps one of them, make it not matter
        out.append(dict(x=rng.standard_normal((n, F_IN)), edge_index=ei,
                        edge_attr=rng.standard_normal((e, D_EDGE)), edge_weight=weight))
    return out


def t(a):
    return torch.as_tensor(np.asarray(a))


def set_linear(lin, w, b=None):
    """Copy a row-vector weight (F_in, F_out) into a torch Linear (weight (F_out, F_in))."""
    lin.weight.data = t(w).T.contiguous()
    if b is not None:
        lin.bias.data = t(b)


def mlp(sizes):
    """A torch Sequential(Linear, ReLU, ..., Linear); its weights are set by :func:`fill`."""
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def fill(seq, rng, store, prefix):
    """Give the Linear layers of ``seq`` random weights and record them in ``store``.

    Call it after the conv is built: GINConv, NNConv and EdgeConv re-initialise their
    ``nn`` in ``__init__``.
    """
    for k, lin in enumerate(m for m in seq if isinstance(m, nn.Linear)):
        w = rng.standard_normal((lin.in_features, lin.out_features)) * 0.5
        bias = rng.standard_normal(lin.out_features) * 0.5
        set_linear(lin, w, bias)
        store[f"{prefix}w{k}"], store[f"{prefix}b{k}"] = w, bias


def cases(rng, g):
    x, ei = t(g["x"]), t(g["edge_index"])
    ea, ew = t(g["edge_attr"]), t(g["edge_weight"])
    res = {}

    def w(*shape):
        return rng.standard_normal(shape) * 0.5

    for name, weighted in (("gcn", False), ("gcn_weighted", True)):
        p = dict(weight=w(F_IN, F_OUT), bias=w(F_OUT))
        conv = GCNConv(F_IN, F_OUT)
        set_linear(conv.lin, p["weight"])
        conv.bias.data = t(p["bias"])
        p["out"] = conv(x, ei, ew if weighted else None)
        res[name] = p

    for aggr, root in (("mean", True), ("sum", True), ("max", True), ("mean", False)):
        p = dict(weight_neigh=w(F_IN, F_OUT), bias=w(F_OUT))
        conv = SAGEConv(F_IN, F_OUT, aggr=aggr, root_weight=root)
        set_linear(conv.lin_l, p["weight_neigh"], p["bias"])
        if root:
            p["weight_root"] = w(F_IN, F_OUT)
            set_linear(conv.lin_r, p["weight_root"])
        p["out"] = conv(x, ei)
        res[f"sage_{aggr}_{'root' if root else 'noroot'}"] = p

    for eps in (0.0, 0.3):
        p = dict(eps=np.array(eps))
        conv = GINConv(mlp([F_IN, HIDDEN, F_OUT]), eps=eps)
        fill(conv.nn, rng, p, "mlp_")
        p["out"] = conv(x, ei)
        res[f"gin_eps{eps}"] = p

    for heads, concat in ((1, True), (3, True), (3, False)):
        width = heads * F_OUT if concat else F_OUT
        p = dict(weight=w(F_IN, heads * F_OUT), att_src=w(heads, F_OUT), att_dst=w(heads, F_OUT),
                 bias=w(width), heads=np.array(heads), concat=np.array(concat))
        conv = GATConv(F_IN, F_OUT, heads=heads, concat=concat)
        set_linear(conv.lin, p["weight"])
        conv.att_src.data = t(p["att_src"])[None]
        conv.att_dst.data = t(p["att_dst"])[None]
        conv.bias.data = t(p["bias"])
        out, (ei_loops, alpha) = conv(x, ei, return_attention_weights=True)
        p.update(out=out, att_edge_index=ei_loops, alpha=alpha)
        res[f"gat_h{heads}_{'concat' if concat else 'mean'}"] = p

    for aggr in ("add", "mean"):
        p = dict(weight_root=w(F_IN, F_OUT), bias=w(F_OUT))
        conv = NNConv(F_IN, F_OUT, mlp([D_EDGE, HIDDEN, F_IN * F_OUT]), aggr=aggr)
        fill(conv.nn, rng, p, "net_")
        set_linear(conv.lin, p["weight_root"])
        conv.bias.data = t(p["bias"])
        p["out"] = conv(x, ei, ea)
        res[f"nn_{aggr}"] = p

    p = {}
    conv = EdgeConv(mlp([2 * F_IN, HIDDEN, F_OUT]), aggr="max")
    fill(conv.nn, rng, p, "mlp_")
    p["out"] = conv(x, ei)
    res["edge_max"] = p
    return res


def main():
    rng = np.random.default_rng(20240607)
    store = {"meta__torch": np.array(torch.__version__), "meta__pyg": np.array(torch_geometric.__version__)}
    with torch.no_grad():
        for k, g in enumerate(graphs(rng)):
            for key, value in g.items():
                store[f"g{k}__{key}"] = value
            for case, params in cases(rng, g).items():
                for key, value in params.items():
                    if isinstance(value, torch.Tensor):
                        value = value.detach().numpy()
                    store[f"g{k}__{case}__{key}"] = np.asarray(value)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **store)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(store)} arrays)")


if __name__ == "__main__":
    main()
