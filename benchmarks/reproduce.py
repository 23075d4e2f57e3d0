"""Reproduce the papers' numbers with mplib alone: ``make reproduce`` (``--quick`` for a few seeds).

Trains, in numpy through mplib's public API (:mod:`mplib.autograd`, :mod:`mplib.nn`,
:mod:`mplib.train`), on the real data sets of :mod:`mplib.datasets`:

- GCN (Kipf & Welling, ICLR 2017, Table 2) and GAT (Velickovic et al., ICLR 2018,
  Table 2) on Cora and CiteSeer with the public Planetoid split and the papers'
  hyper-parameters, over >= 10 seeds. Target: mean test accuracy within 1.5 points.
  GAT stops as the authors' code does (``execute_cora.py``): patience 100 on validation
  loss and accuracy together, keeping the last epoch at which both were at their best.
- MLP, GCN and GraphSAGE (separate ego and neighbour weights, the first design of
  H2GCN, Zhu et al., NeurIPS 2020) on Texas, Wisconsin and Cornell over the 10
  Geom-GCN splits, MLP and GCN trained as H2GCN's code trains its baselines (see
  ``run_webkb``). Target: the MLP beats the GCN by >= 15 points, and GraphSAGE
  recovers (>= 10 points above the GCN, and at least two thirds of the MLP - GCN gap).
- A message-passing network regressing FreeSolv's hydration free energies over
  random 80/10/10 splits, against MoleculeNet's graph convolution (Wu et al., Chem.
  Sci. 2018: test RMSE 1.40 kcal/mol). Target: RMSE at most 1.40 + 0.3.
- Speed: seconds per training run (``s_per_run``) and peak memory of one GCN and one
  GAT run on Cora; PyTorch Geometric side by side with one thread when it is installed
  (``make bench-pyg`` puts it in ``.venv-pyg``; this run then calls ``bench_pyg.py`` there).

Prints a table *ours vs paper* (``MISSED`` where a target is missed) and writes
``_build/reproduce.json``: ``{"cora/gcn": {"acc_mean", "acc_std", "seeds", "paper",
"s_per_run", ...}, ...}`` (accuracies in percent; FreeSolv has ``rmse_mean`` and
``rmse_std`` in kcal/mol instead). Nothing is tuned on test data: every model is
selected on the validation nodes, by the rule of the paper it reproduces (GCN and GraphSAGE:
validation loss; GAT: loss and accuracy; WebKB MLP: accuracy; WebKB GCN: Kipf's stopping rule,
its window picked by mean validation accuracy; FreeSolv: validation RMSE).

Time: about 25 minutes of CPU in all, GAT most of it (about 35 s per run on CiteSeer
under the authors' stopping rule, against about 1 s for GCN; the WebKB MLP's 2000 epochs
take about 9 s per split); on a shared, loaded machine the wall time is several times
longer, so the Planetoid rows also report CPU seconds (``cpu_s_per_run``).

Run: ``.venv/bin/python benchmarks/reproduce.py [--quick] [--only cora/gcn texas ...]``;
``--merge`` updates only the rows run in an existing JSON, ``--seeds``/``--splits``/
``--webkb-epochs`` shrink a smoke run (``tests/test_reproduce.py`` runs one that way).
"""

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

import mplib  # noqa: E402
from mplib import datasets, nn, train  # noqa: E402
from mplib.autograd import Tensor, sparse_matmul, unwrap, value_and_grad  # noqa: E402
from mplib.data import batch_graphs  # noqa: E402
from mplib.functional import cross_entropy, dropout, elu, global_pool, relu  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "reproduce.json"

# Published test accuracies (%), and the targets.
PAPER = {
    "cora/gcn": (81.5, None, "Kipf & Welling 2017, Table 2"),
    "citeseer/gcn": (70.3, None, "Kipf & Welling 2017, Table 2"),
    "cora/gat": (83.0, 0.7, "Velickovic et al. 2018, Table 2"),
    "citeseer/gat": (72.5, 0.7, "Velickovic et al. 2018, Table 2"),
}
# WebKB, 48/32/20 Geom-GCN splits: Zhu et al. 2020 (H2GCN), Table 5, mean ± std over the 10 splits.
# The target is the relation between the three models, not these values. Checked against copies of
# the table in later papers (the paper itself was not at hand): the three GCN values (and GCN-Cheby's)
# as quoted in the CoCN paper's Table 2, GraphSAGE on Texas as quoted by HalfHop; the MLP values and
# GraphSAGE on Wisconsin and Cornell are as transcribed here, not re-checked.
PAPER_WEBKB = {
    "texas": {"mlp": (81.89, 4.78), "gcn": (59.46, 5.25), "sage": (82.43, 6.14)},
    "wisconsin": {"mlp": (85.29, 3.61), "gcn": (59.80, 6.99), "sage": (81.18, 5.56)},
    "cornell": {"mlp": (81.08, 6.37), "gcn": (57.03, 4.67), "sage": (75.95, 5.01)},
}
PAPER_WEBKB_SOURCE = "Zhu et al. 2020 (H2GCN), Table 5"
# What "MLP beats GCN by a wide margin and the heterophily-aware design recovers" means, in points:
# MLP - GCN >= 15, SAGE - GCN >= 10, and SAGE closes at least two thirds of the MLP - GCN gap.
# The paper's own table meets all three on the three graphs (shares 102 %, 84 %, 79 %); an earlier
# "SAGE within 5 points of MLP" did not (Cornell: 81.08 - 75.95 = 5.13).
WEBKB_GAP, WEBKB_RECOVER, WEBKB_SHARE = 15.0, 10.0, 2 / 3


def webkb_targets(mlp, gcn, sage):
    """``(gap_ok, recover_ok)`` for the mean test accuracies (%) of the three models on one WebKB graph."""
    gap = mlp - gcn
    return gap >= WEBKB_GAP, sage - gcn >= WEBKB_RECOVER and sage - gcn >= WEBKB_SHARE * gap
PAPER_FREESOLV = (1.40, "MoleculeNet (Wu et al. 2018), graph convolution, random split, test RMSE")
TOLERANCE = 1.5


# ---------------------------------------------------------------------- inputs

def row_normalise(x):
    """Each row divided by its sum (rows of zeros stay zero), as both papers preprocess the features."""
    x = sp.csr_array(x, dtype=np.float64)
    sums = np.asarray(x.sum(axis=1)).ravel()
    return sp.csr_array(sp.diags_array(1.0 / np.where(sums > 0, sums, 1.0)) @ x)


class SplitDecayAdam:
    """Adam with L2 weight decay on some parameters only (Kipf & Welling decay the first layer's weights)."""

    def __init__(self, lr, weight_decay, decayed):
        self.decayed = set(decayed)
        self.with_decay = train.Adam(lr=lr, weight_decay=weight_decay)
        self.without = train.Adam(lr=lr)

    def reset(self):
        self.with_decay.reset()
        self.without.reset()

    def step(self, params, grads):
        a = {k: v for k, v in params.items() if k in self.decayed}
        b = {k: v for k, v in params.items() if k not in self.decayed}
        new = self.with_decay.step(a, {k: grads[k] for k in a})
        new.update(self.without.step(b, {k: grads[k] for k in b}))
        return {k: new[k] for k in params}


def _indices(data):
    return [np.flatnonzero(m) for m in (data.train_mask, data.val_mask, data.test_mask)]


# ---------------------------------------------------------------------- Planetoid: GCN and GAT

def gcn_model(x, edge_index, num_nodes, p_drop=0.5):
    """Kipf & Welling's two-layer GCN; the sparse input times W1 is one sparse product."""
    adj = nn.gcn_norm(edge_index, num_nodes)
    eye = np.eye(16)

    def model(p, data, training, rng):
        h = sparse_matmul(dropout(x, p_drop, training=training, rng=rng), p["W1"])   # X W1
        h = relu(nn.gcn_conv(h, edge_index, eye, p["b1"], adj=adj))                   # Â (X W1) + b1
        h = dropout(h, p_drop, training=training, rng=rng)
        return nn.gcn_conv(h, edge_index, p["W2"], p["b2"], adj=adj)
    return model


def gat_model(x, edge_index, heads=8, hidden=8, p_drop=0.6):
    """Velickovic et al.'s two-layer GAT: 8 heads of 8 (ELU), one output head; dropout 0.6 on inputs and attention."""
    eye = np.eye(heads * hidden)

    def model(p, data, training, rng):
        h = sparse_matmul(dropout(x, p_drop, training=training, rng=rng), p["W1"])   # X W1, all heads
        h = elu(nn.gat_conv(h, edge_index, eye, p["a_src1"], p["a_dst1"], p["b1"], heads=heads,
                            dropout_p=p_drop, training=training, rng=rng))
        h = dropout(h, p_drop, training=training, rng=rng)
        return nn.gat_conv(h, edge_index, p["W2"], p["a_src2"], p["a_dst2"], p["b2"], heads=1, concat=False,
                           dropout_p=p_drop, training=training, rng=rng)
    return model


def run_planetoid(name, arch, seed, epochs=None):
    """One training run; returns (test accuracy in %, seconds). ``epochs`` caps the run (default: the paper's)."""
    data = datasets.load(name, sparse=True)
    x, y = row_normalise(data.x), np.maximum(data.y, 0)  # CiteSeer's 15 unlabelled nodes are in no mask
    tr, va, te = _indices(data)
    f, c = data.num_features, data.num_classes
    start = time.perf_counter()
    if arch == "gcn":
        model = gcn_model(x, data.edge_index, data.num_nodes)
        params = train.init_params({"W1": (f, 16), "b1": (16,), "W2": (16, c), "b2": (c,)}, rng=seed)
        optimizer = SplitDecayAdam(lr=0.01, weight_decay=5e-4, decayed=["W1"])
        params, _ = train.fit(model, params, data, y, tr, va, optimizer=optimizer, epochs=epochs or 200, rng=seed,
                              verbose=False)
    else:
        model = gat_model(x, data.edge_index)
        params = train.init_params({"W1": (f, 64), "a_src1": (8, 8), "a_dst1": (8, 8), "b1": (64,),
                                    "W2": (64, c), "a_src2": (1, c), "a_dst2": (1, c), "b2": (c,)}, rng=seed)
        # their execute_cora.py: patience 100 on validation loss AND accuracy (monitor="val_loss_and_acc"),
        # up to 100000 epochs (the rule stops every run long before; on CiteSeer within about 900)
        params, _ = train.fit(model, params, data, y, tr, va, optimizer=train.Adam(lr=0.005, weight_decay=5e-4),
                              epochs=epochs or 100_000, patience=100, monitor="val_loss_and_acc", rng=seed,
                              verbose=False)
    seconds = time.perf_counter() - start
    return 100 * train.accuracy(train.predict(model, params, data)[te], y[te]), seconds


# ---------------------------------------------------------------------- WebKB: MLP, GCN, GraphSAGE
#
# The protocol of Zhu et al. (H2GCN, NeurIPS 2020), read in their code (GemsLab/H2GCN):
# - MLP: their own framework with ``--network_setup M64-R-D-MO``: dense 64 units without bias,
#   ReLU, dropout 0.5, dense output without bias; Keras L2 5e-4 (``5e-4 * sum w^2``, so
#   ``1e-3 * w`` in the gradient) on both kernels; Adam lr 0.01; 2000 epochs; the epoch with
#   the best validation accuracy (a later tie wins) is kept.
# - GCN: Kipf & Welling's code (``baselines/gcn``) with ``--hidden1 64`` and
#   ``--early_stopping`` 40, 100 or 200: no biases, dropout 0.5 on the sparse input and the
#   hidden layer, L2 5e-4 on the first layer only, Adam lr 0.01, at most 2000 epochs, stop
#   when the validation loss (with the L2 term, as their ``model.loss``) exceeds the mean of
#   the previous ``window`` epochs, keep the last parameters. Of the three windows we report
#   the one with the best mean validation accuracy over the splits.
# - GraphSAGE (our heterophily-aware design): trained as before with ``mplib.train.fit``.

WEBKB_WINDOWS = (40, 100, 200)
WEBKB_EPOCHS = 2000


def webkb_model(arch, x, edge_index, num_nodes, hidden=64, p_drop=0.5):
    """Two layers each. The sparse input is multiplied by the first weights first (``X W``), then
    propagated: the same numbers as propagating then multiplying, since the aggregations are linear.

    ``mlp`` and ``gcn`` have no biases (as in H2GCN's MLP and Kipf's GCN code); the MLP drops out
    its hidden layer only, the GCN its sparse input and its hidden layer."""
    adj = nn.gcn_norm(edge_index, num_nodes)
    eye = np.eye(hidden)

    def model(p, data, training, rng):
        if arch == "mlp":
            h = relu(sparse_matmul(x, p["W1"]))
            return nn.linear(dropout(h, p_drop, training=training, rng=rng), p["W2"])
        xd = dropout(x, p_drop, training=training, rng=rng)
        if arch == "gcn":
            h = relu(nn.gcn_conv(sparse_matmul(xd, p["W1"]), edge_index, eye, adj=adj))
            return nn.gcn_conv(dropout(h, p_drop, training=training, rng=rng), edge_index, p["W2"], adj=adj)
        # GraphSAGE: the ego embedding x_i W_root plus the neighbours' mean times W_neigh, kept apart
        h = relu(nn.sage_conv(sparse_matmul(xd, p["N1"]), edge_index, eye, None, p["b1"])
                 + sparse_matmul(xd, p["W1"]))
        return nn.sage_conv(dropout(h, p_drop, training=training, rng=rng), edge_index, p["N2"], p["W2"], p["b2"])
    return model


def stop_kipf(val_losses, window):
    """Kipf & Welling's early stopping: True once the last validation loss exceeds the mean of the
    ``window`` before it (checked from epoch ``window + 2`` on, as ``epoch > window`` in their code)."""
    return len(val_losses) > window + 1 and val_losses[-1] > np.mean(val_losses[-(window + 1):-1])


def train_webkb(model, params, data, y, tr, va, optimizer, epochs, rng, window=None, penalty=None):
    """Full-batch training under H2GCN's two protocols (``mplib.train.fit`` keeps the first best
    epoch by one criterion; these keep the last best accuracy, or stop by Kipf's rule).

    ``window=None``: keep the parameters of the last epoch with the best validation accuracy.
    ``window=W``: stop by :func:`stop_kipf` and keep the last parameters. ``penalty(params)``, if
    given, is added to the validation loss (Kipf's code stops on its whole loss, L2 term included).
    Returns ``(params, val_acc, val_loss)``, the curves measured after each epoch's update."""
    rng = np.random.default_rng(rng)
    optimizer.reset()

    def loss_fn(p):
        return cross_entropy(model(p, data, True, rng), y, tr)

    best, val_acc, val_loss = params, [], []
    for _ in range(epochs):
        _, grads = value_and_grad(loss_fn, params)
        params = optimizer.step(params, grads)
        logits = unwrap(model(params, data, False, None))
        val_acc.append(train.accuracy(logits[va], y[va]))
        val_loss.append(float(cross_entropy(logits, y, va)) + (penalty(params) if penalty else 0.0))
        if window is None and val_acc[-1] >= max(val_acc):
            best = params
        if window is not None and stop_kipf(val_loss, window):
            break
    return (best if window is None else params), val_acc, val_loss


def run_webkb(name, arch, split, hidden=64, window=40, epochs=WEBKB_EPOCHS):
    """One training run on one Geom-GCN split (seeded by the split).

    Returns (test accuracy in %, validation accuracy in %, seconds)."""
    data = datasets.load(name, split=split, sparse=True)
    x = row_normalise(data.x)
    tr, va, te = _indices(data)
    f, c = data.num_features, data.num_classes
    model = webkb_model(arch, x, data.edge_index, data.num_nodes, hidden)
    start = time.perf_counter()
    if arch == "mlp":
        params = train.init_params({"W1": (f, hidden), "W2": (hidden, c)}, rng=split)
        params, *_ = train_webkb(model, params, data, data.y, tr, va, train.Adam(lr=0.01, weight_decay=1e-3),
                                 epochs, split)
    elif arch == "gcn":
        params = train.init_params({"W1": (f, hidden), "W2": (hidden, c)}, rng=split)
        optimizer = SplitDecayAdam(lr=0.01, weight_decay=5e-4, decayed=["W1"])

        def l2(p):  # tf.nn.l2_loss(W1) * 5e-4, part of the loss their stopping rule reads
            return 5e-4 * 0.5 * float(np.sum(p["W1"] ** 2))
        params, *_ = train_webkb(model, params, data, data.y, tr, va, optimizer, epochs, split, window=window,
                                 penalty=l2)
    else:
        params = train.init_params({"W1": (f, hidden), "b1": (hidden,), "W2": (hidden, c), "b2": (c,),
                                    "N1": (f, hidden), "N2": (hidden, c)}, rng=split)
        params, _ = train.fit(model, params, data, data.y, tr, va,
                              optimizer=train.Adam(lr=0.01, weight_decay=5e-4), epochs=200, rng=split,
                              verbose=False)
    seconds = time.perf_counter() - start
    pred = train.predict(model, params, data)
    return (100 * train.accuracy(pred[te], data.y[te]), 100 * train.accuracy(pred[va], data.y[va]), seconds)


# ---------------------------------------------------------------------- FreeSolv

def molecule_model(hidden=64, layers=3):
    """Sum-aggregation message passing (GraphSAGE with ``aggr="sum"``), sum pooling, a two-layer head."""
    def model(p, graph, batch, num_graphs):
        h = relu(nn.linear(graph.x, p["W0"], p["b0"]))
        for k in range(layers):
            h = relu(nn.sage_conv(h, graph.edge_index, p[f"N{k}"], p[f"R{k}"], p[f"b{k + 1}"], aggr="sum"))
        g = global_pool(h, batch, num_graphs, reduce="sum")
        g = relu(nn.linear(g, p["H1"], p["c1"]))
        return nn.linear(g, p["H2"], p["c2"])
    shapes = {"W0": (22, hidden), "b0": (hidden,)}
    for k in range(layers):
        shapes.update({f"N{k}": (hidden, hidden), f"R{k}": (hidden, hidden), f"b{k + 1}": (hidden,)})
    shapes.update({"H1": (hidden, hidden), "c1": (hidden,), "H2": (hidden, 1), "c2": (1,)})
    return model, shapes


def run_freesolv(split, epochs=150, batch_size=64, lr=0.002):
    """Mini-batch Adam on the squared error of standardised targets; the epoch with the best validation RMSE is kept."""
    data = datasets.load("freesolv", split=split)
    rng = np.random.default_rng(split)
    tr, va, te = _indices(data)
    mean, std = data.y[tr].mean(), data.y[tr].std()
    model, shapes = molecule_model()
    params = train.init_params(shapes, rng=split)
    optimizer = train.Adam(lr=lr, weight_decay=1e-5)

    def batch(ids):
        graph, b = batch_graphs([data.graphs[i] for i in ids])
        return graph, b, len(ids)

    def loss_fn(p, graph, b, n, target):
        err = model(p, graph, b, n).reshape(-1) - target
        return (err * err).mean()

    def rmse(p, fixed):
        graph, b, n = fixed
        out = model(p, graph, b, n)
        pred = np.asarray(out.data if isinstance(out, Tensor) else out).reshape(-1) * std + mean
        return float(np.sqrt(np.mean((pred - graph.y) ** 2)))

    val, test = batch(va), batch(te)
    best, best_params = np.inf, params
    start = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(tr)
        for i in range(0, order.size, batch_size):
            graph, b, n = batch(order[i:i + batch_size])
            _, grads = value_and_grad(loss_fn, params, graph, b, n, (graph.y - mean) / std)
            params = optimizer.step(params, grads)
        score = rmse(params, val)
        if score < best:
            best, best_params = score, params
    seconds = time.perf_counter() - start
    run_freesolv.last_val = best
    return rmse(best_params, test), seconds


# ---------------------------------------------------------------------- speed

def peak_memory_mb(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def pyg_side_by_side():
    """mplib against PyTorch Geometric as ``make bench-pyg`` measures it, or None where PyG is not installed.

    Runs ``benchmarks/bench_pyg.py`` (same arrays, 200 epochs each, one thread, CPU seconds, in
    subprocesses of their own) with the Python of ``.venv-pyg`` (built by ``make bench-pyg``) or,
    failing that, this one if it has PyG; returns ``{"gcn": row, "gat": row}`` from its JSON
    (``row["ratio"]`` is mplib / PyG), which it writes to ``_build/bench_pyg.json``.
    """
    python = ROOT / ".venv-pyg" / "bin" / "python"
    if not python.exists():
        try:
            import torch_geometric  # noqa: F401
        except ImportError:
            return None
        python = Path(sys.executable)
    out = ROOT / "_build" / "bench_pyg.json"
    out.unlink(missing_ok=True)  # a failed run must not leave an older table to be read
    subprocess.run([str(python), str(ROOT / "benchmarks" / "bench_pyg.py"), "--out", str(out)], check=False)
    report = json.loads(out.read_text()) if out.exists() else {}
    if "cora/gcn" not in report or report["cora/gcn"].get("pyg") is None:
        return None
    return {arch: report[f"cora/{arch}"] for arch in ("gcn", "gat")}


# ---------------------------------------------------------------------- the run

def summarise(values):
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seeds and splits (a smoke run, minutes)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per Planetoid model (default 10; --quick 3)")
    parser.add_argument("--splits", type=int, default=None,
                        help="WebKB splits per model (default 10; --quick 3)")
    parser.add_argument("--webkb-epochs", type=int, default=None,
                        help=f"epoch cap of the WebKB MLP and GCN (default H2GCN's {WEBKB_EPOCHS}; smoke runs only)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only the keys containing one of these strings (e.g. cora/gcn texas freesolv)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run are first-seed, first-seed + 1, ...")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--merge", action="store_true",
                        help="update the keys run here in an existing --out file instead of rewriting it")
    args = parser.parse_args(argv)
    seeds = args.seeds or (3 if args.quick else 10)
    splits = args.splits or (3 if args.quick else datasets.NUM_SPLITS)
    epochs_webkb = args.webkb_epochs or WEBKB_EPOCHS

    def wanted(key):
        return not args.only or any(s in key for s in args.only)

    results, missed, lines = {}, [], []
    t0 = time.perf_counter()

    previous = json.loads(args.out.read_text()) if args.merge and args.out.exists() else {}

    def save():
        """Write what is done so far (after every row: an interrupted run keeps its results)."""
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**previous, **results}, indent=2) + "\n")

    def report(key, ours, paper, ok, extra=""):
        status = "ok" if ok else "MISSED"
        if not ok:
            missed.append(key)
        line = f"{key:<20} {ours:<22} {paper:<26} {status:<7} {extra}"
        lines.append(line)
        print(line, flush=True)
        save()

    print(f"{'key':<20} {'ours':<22} {'paper':<26} {'target':<7} notes")
    for key, (paper, paper_std, source) in PAPER.items():
        if not wanted(key):
            continue
        name, arch = key.split("/")
        accs, secs, cpus = [], [], []
        for seed in range(args.first_seed, args.first_seed + seeds):
            cpu = time.process_time()
            acc, sec = run_planetoid(name, arch, seed)
            accs.append(acc), secs.append(sec), cpus.append(time.process_time() - cpu)
            print(f"  {key} seed {seed}: {acc:.1f}% in {sec:.1f} s ({cpus[-1]:.1f} s CPU)", flush=True)
        mean, std = summarise(accs)
        results[key] = {"acc_mean": mean, "acc_std": std, "seeds": seeds, "paper": paper, "paper_std": paper_std,
                        "source": source, "s_per_run": float(np.mean(secs)), "cpu_s_per_run": float(np.mean(cpus)),
                        "accs": [float(a) for a in accs], "target": f"|mean - paper| <= {TOLERANCE}",
                        "ok": abs(mean - paper) <= TOLERANCE}
        paper_txt = f"{paper}" + (f" ± {paper_std}" if paper_std else "")
        report(key, f"{mean:.1f} ± {std:.1f} ({seeds} seeds)", paper_txt, results[key]["ok"],
               f"{np.mean(secs):.1f} s/run ({np.mean(cpus):.1f} s CPU)")

    for name, papers in PAPER_WEBKB.items():
        if not wanted(name):
            continue
        for arch in ("mlp", "gcn", "sage"):
            # the GCN is run with each of Kipf's early-stopping windows; the best mean validation
            # accuracy picks the one reported (the test accuracies of the others are not looked at)
            runs = {w: [run_webkb(name, arch, s, window=w, epochs=epochs_webkb) for s in range(splits)]
                    for w in (WEBKB_WINDOWS if arch == "gcn" else (None,))}
            window = max(runs, key=lambda w: np.mean([r[1] for r in runs[w]]))
            test, val, secs = zip(*runs[window])
            mean, std = summarise(test)
            results[f"{name}/{arch}"] = {"acc_mean": mean, "acc_std": std, "seeds": splits,
                                         "paper": papers[arch][0], "paper_std": papers[arch][1],
                                         "source": PAPER_WEBKB_SOURCE, "val_acc_mean": float(np.mean(val)),
                                         "s_per_run": float(np.mean(secs)),
                                         **({"window": window} if window else {})}
        m, g, s = (results[f"{name}/{a}"]["acc_mean"] for a in ("mlp", "gcn", "sage"))
        gap_ok, recover_ok = webkb_targets(m, g, s)
        for arch, ok, note in (("mlp", gap_ok, f"MLP - GCN = {m - g:.1f} (>= {WEBKB_GAP})"),
                               ("gcn", gap_ok, ""),
                               ("sage", recover_ok, f"SAGE - GCN = {s - g:.1f} (>= {WEBKB_RECOVER}), "
                                                   f"recovers {(s - g) / (m - g):.0%} of MLP - GCN "
                                                   f"(>= {WEBKB_SHARE:.0%})")):
            r = results[f"{name}/{arch}"]
            r["ok"] = ok
            report(f"{name}/{arch}", f"{r['acc_mean']:.1f} ± {r['acc_std']:.1f} ({splits} splits)",
                   f"{papers[arch][0]} ± {papers[arch][1]}", ok,
                   note + (f" (Kipf's early stopping, window {r['window']})" if "window" in r else ""))

    if wanted("freesolv"):
        mol_splits = 2 if args.quick else 5
        rmses, secs = zip(*(run_freesolv(s) for s in range(mol_splits)))
        mean, std = summarise(rmses)
        paper, source = PAPER_FREESOLV
        results["freesolv/mpnn"] = {"rmse_mean": mean, "rmse_std": std, "seeds": mol_splits, "paper": paper,
                                    "source": source, "unit": "kcal/mol", "s_per_run": float(np.mean(secs)),
                                    "ok": mean <= paper + 0.3}
        report("freesolv/mpnn", f"RMSE {mean:.2f} ± {std:.2f} ({mol_splits} splits)", f"RMSE {paper} kcal/mol",
               results["freesolv/mpnn"]["ok"], "target: <= paper + 0.3")

    if wanted("speed"):
        # the peak is reached in the first epoch (the arrays of one step); 20 epochs measure it
        speed = {arch: peak_memory_mb(lambda a=arch: run_planetoid("cora", a, 0, epochs=20)) for arch in ("gcn", "gat")}
        timed, cpu = {}, {}
        for arch in ("gcn", "gat"):
            start = time.process_time()
            timed[arch] = run_planetoid("cora", arch, 0)[1]
            cpu[arch] = time.process_time() - start
        results["speed"] = {f"cora/{a}": {"s_per_run": timed[a], "cpu_s_per_run": cpu[a], "peak_mb": speed[a]}
                            for a in ("gcn", "gat")}
        pyg = pyg_side_by_side()
        for arch in ("gcn", "gat"):
            print(f"speed cora/{arch}: {timed[arch]:.2f} s per training run ({cpu[arch]:.2f} s CPU), peak memory "
                  f"{speed[arch]:.0f} MB (tracemalloc)")
        if pyg is None:
            print("PyTorch Geometric is not installed: no side-by-side timing (target: <= 1.5x PyG's CPU time, "
                  "one thread); `make bench-pyg` installs it in .venv-pyg, after which this run includes it")
            results["speed"]["pyg"] = None
        else:
            for arch, row in pyg.items():
                results["speed"][f"cora/{arch}"]["bench_pyg"] = row
                print(f"speed cora/{arch}, 200 epochs each (bench_pyg.py): "
                      f"mplib {row['mplib']['cpu_s_per_run']:.2f} s, "
                      f"PyG {row['pyg']['cpu_s_per_run']:.2f} s CPU per run, ratio {row['ratio']:.2f} "
                      f"{'ok' if row['ok'] else 'MISSED'} (target <= 1.5); "
                      f"peak MB {row['mplib']['peak_rss_mb']:.0f} "
                      f"/ {row['pyg']['peak_rss_mb']:.0f}")
                if not row["ok"]:
                    missed.append(f"speed cora/{arch}")

    save()
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out} "
          f"in {time.perf_counter() - t0:.0f} s; mplib {mplib.__name__} from {Path(mplib.__file__).parent}")
    if missed:
        print(f"MISSED: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
