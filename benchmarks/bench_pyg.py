"""mplib against PyTorch Geometric: seconds of CPU per training run of GCN and GAT on Cora, one thread.

``make bench-pyg`` runs this file in ``.venv-pyg``, a virtual environment of its own with the
project's pinned packages plus ``torch`` and ``torch_geometric`` at the versions pinned in
``benchmarks/pyg-constraints.txt`` (PyG is not a dependency of the project: the project's
``.venv`` never gets it). Run from ``.venv`` (``.venv/bin/python benchmarks/bench_pyg.py``),
it measures mplib alone and says that PyG is not installed.

What is compared, on the same arrays (Cora's public Planetoid split from
``mplib.datasets.load("cora")``, features row-normalised with ``reproduce.row_normalise``):

- GCN, Kipf & Welling's set-up: 16 hidden units, dropout 0.5, Adam with lr 0.01, weight decay
  5e-4 on the first layer's weights, 200 epochs;
- GAT, Velickovic et al.'s set-up: 8 heads of 8 hidden units (ELU), one output head, dropout 0.6
  on the features and the attention, Adam with lr 0.005 and weight decay 5e-4, a fixed 200
  epochs (no early stopping, so both frameworks do the same work).

mplib trains the models of ``benchmarks/reproduce.py`` (``gcn_model``, ``gat_model``) with
:func:`mplib.train.fit`; PyG trains ``GCNConv`` and ``GATConv`` (float32, the GCN's normalised
adjacency cached as mplib's is) in the same loop: each epoch one training step, then one forward
pass in evaluation mode for the validation loss, keeping the parameters of the epoch with the
lowest validation loss; the test accuracy is that of those parameters.

Both get the features as a sparse matrix (1.3% of Cora's entries are non-zero) and drop out only
its stored entries, which is dropout on the dense matrix (a zero stays zero) at a fraction of the
cost; PyG's layers multiply a sparse ``torch`` tensor by their weights as they do a dense one.
(PyG's own examples keep the features dense: ``F.dropout`` on the dense 2708 x 1433 matrix then
costs about 50 ms per epoch on one thread, more than the rest of a GCN epoch, so that set-up
would flatter mplib.) Each framework does one short untimed run of each model first (imports,
caches, lazy initialisation).

Each framework runs in a subprocess of its own with one thread (``OPENBLAS_NUM_THREADS=1``,
``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``), so that its peak memory is its own:
``peak_rss_mb`` is the process's maximum resident set size (``resource.getrusage``, imports
included: libtorch alone is a few hundred MB), ``train_rss_mb`` how far training raised it above
the size before training, and for mplib ``traced_mb`` the peak of the arrays allocated during one
run (``tracemalloc``; numpy reports its allocations to it). Time is ``time.process_time``
(CPU seconds, robust on a loaded machine), the median of ``--runs`` runs (seeds 0, 1, ...).

Prints one table with the ratio mplib / PyG against the target (at most 1.5) and writes
``_build/bench_pyg.json``; exits with 1 when a target is missed. Under two minutes of CPU.

Run: ``make bench-pyg``, or ``.venv-pyg/bin/python benchmarks/bench_pyg.py [--runs 3] [--epochs 200]``.
"""

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy is imported: one BLAS thread

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if importlib.util.find_spec("mplib") is None:  # .venv-pyg does not install mplib: read it from this work tree
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from mplib import datasets, train  # noqa: E402

_spec = importlib.util.spec_from_file_location("reproduce", HERE / "reproduce.py")  # its models, not a copy
reproduce = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reproduce)

OUT = ROOT / "_build" / "bench_pyg.json"
TARGET = 1.5  # mplib's CPU seconds per run at most 1.5 times PyG's
ARCHS = ("gcn", "gat")


# ---------------------------------------------------------------------- the data, as both frameworks see it

def cora():
    """Cora's sparse row-normalised features, labels and split indices."""
    data = datasets.load("cora", sparse=True)
    split = [np.flatnonzero(m) for m in (data.train_mask, data.val_mask, data.test_mask)]
    return data, reproduce.row_normalise(data.x), data.y, split


def rss_mb():
    """The resident set size of this process now (Linux), in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def max_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 10  # Linux reports kB


# ---------------------------------------------------------------------- mplib

def mplib_run(arch, seed, epochs, prepared):
    """One training run with mplib; returns the test accuracy in %."""
    data, x, y, (tr, va, te) = prepared
    f, c = data.num_features, data.num_classes
    if arch == "gcn":
        model = reproduce.gcn_model(x, data.edge_index, data.num_nodes)
        params = train.init_params({"W1": (f, 16), "b1": (16,), "W2": (16, c), "b2": (c,)}, rng=seed)
        optimizer = reproduce.SplitDecayAdam(lr=0.01, weight_decay=5e-4, decayed=["W1"])
    else:
        model = reproduce.gat_model(x, data.edge_index)
        params = train.init_params({"W1": (f, 64), "a_src1": (8, 8), "a_dst1": (8, 8), "b1": (64,),
                                    "W2": (64, c), "a_src2": (1, c), "a_dst2": (1, c), "b2": (c,)}, rng=seed)
        optimizer = train.Adam(lr=0.005, weight_decay=5e-4)
    params, _ = train.fit(model, params, data, y, tr, va, optimizer=optimizer, epochs=epochs, rng=seed,
                          verbose=False)
    return 100 * train.accuracy(train.predict(model, params, data)[te], y[te])


def mplib_peak_traced_mb(arch, epochs, prepared):
    """Peak of the memory traced by tracemalloc during one run (numpy's arrays included), in MB."""
    import tracemalloc
    tracemalloc.start()
    try:
        mplib_run(arch, 0, epochs, prepared)
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------------- PyTorch Geometric

def pyg_run(arch, seed, epochs, prepared):
    """One training run with PyG, the same set-up and loop as :func:`mplib.train.fit`; test accuracy in %."""
    import torch
    import torch.nn.functional as F
    from torch_geometric.nn import GATConv, GCNConv

    data, x, y, (tr, va, te) = prepared
    x = x.tocoo()
    x = torch.sparse_coo_tensor(np.stack([x.row, x.col]), x.data.astype(np.float32), x.shape).coalesce()
    edge_index = torch.tensor(data.edge_index, dtype=torch.long)
    y, tr, va, te = (torch.tensor(a, dtype=torch.long) for a in (y, tr, va, te))
    f, c = data.num_features, data.num_classes
    torch.manual_seed(seed)
    if arch == "gcn":
        convs = torch.nn.ModuleList([GCNConv(f, 16, cached=True), GCNConv(16, c, cached=True)])
        p_drop, act = 0.5, F.relu
        decayed = [convs[0].lin.weight]  # Kipf & Welling decay the first layer's weights only
        rest = [p for p in convs.parameters() if all(p is not d for d in decayed)]
        optimizer = torch.optim.Adam([{"params": decayed, "weight_decay": 5e-4}, {"params": rest}], lr=0.01)
    else:
        convs = torch.nn.ModuleList([GATConv(f, 8, heads=8, dropout=0.6),
                                     GATConv(64, c, heads=1, concat=False, dropout=0.6)])
        p_drop, act = 0.6, F.elu
        optimizer = torch.optim.Adam(convs.parameters(), lr=0.005, weight_decay=5e-4)

    def sparse_dropout(x, training):  # as mplib.functional.dropout on a sparse input: only the stored entries
        if not training:
            return x
        values = F.dropout(x.values(), p_drop, training)
        return torch.sparse_coo_tensor(x.indices(), values, x.shape, is_coalesced=True)

    def forward(training):
        convs.train(training)
        h = act(convs[0](sparse_dropout(x, training), edge_index))
        return convs[1](F.dropout(h, p_drop, training), edge_index)

    best, best_state = float("inf"), None
    for _ in range(epochs):
        optimizer.zero_grad()
        F.cross_entropy(forward(True)[tr], y[tr]).backward()
        optimizer.step()
        with torch.no_grad():
            val_loss = F.cross_entropy(forward(False)[va], y[va]).item()
        if val_loss < best:
            best, best_state = val_loss, {k: v.clone() for k, v in convs.state_dict().items()}
    convs.load_state_dict(best_state)
    with torch.no_grad():
        pred = forward(False).argmax(dim=1)
    return 100 * (pred[te] == y[te]).float().mean().item()


# ---------------------------------------------------------------------- one model of one framework, in its own process

def worker(framework, arch, runs, epochs):
    """Measure one model of one framework; returns the dict that ``--worker`` prints as JSON."""
    import numpy
    import scipy
    versions = {"python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__}
    if framework == "pyg":
        try:
            import torch
            import torch_geometric
        except ImportError as error:
            return {"installed": False, "reason": f"{type(error).__name__}: {error}"}
        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
        versions.update({"torch": torch.__version__, "torch_geometric": torch_geometric.__version__})
        run = pyg_run
    else:
        run = mplib_run
    prepared = cora()
    before = rss_mb()  # libraries imported, data loaded
    run(arch, 0, min(epochs, 5), prepared)  # warm-up, untimed
    cpu, accs = [], []
    for seed in range(runs):
        start = time.process_time()
        accs.append(run(arch, seed, epochs, prepared))
        cpu.append(time.process_time() - start)
    result = {"installed": True, "versions": versions, "cpu_s_per_run": statistics.median(cpu), "cpu_s": cpu,
              "acc": accs, "acc_mean": float(np.mean(accs)), "peak_rss_mb": max_rss_mb(),
              "train_rss_mb": max(max_rss_mb() - before, 0.0)}
    if framework == "mplib":  # after the timed runs (tracing slows allocation down); the first epoch holds the peak
        result["traced_mb"] = mplib_peak_traced_mb(arch, min(epochs, 20), prepared)
    return result


def measure(framework, arch, runs, epochs):
    """Run :func:`worker` in a fresh Python process (this interpreter), so that its memory peak is its own."""
    proc = subprocess.run([sys.executable, __file__, "--worker", framework, arch, "--runs", str(runs),
                           "--epochs", str(epochs)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the {framework} {arch} worker failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- the table

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="training runs per model (seeds 0, 1, ...); the median counts")
    parser.add_argument("--epochs", type=int, default=200, help="epochs per run, the same for both frameworks")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "ARCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.epochs < 1:
        parser.error(f"--runs and --epochs must be at least 1, got {args.runs} and {args.epochs}")
    if args.worker:
        framework, arch = args.worker
        if framework not in ("mplib", "pyg") or arch not in ARCHS:
            parser.error(f"--worker takes mplib or pyg and one of {ARCHS}, got {args.worker}")
        print(json.dumps(worker(framework, arch, args.runs, args.epochs)))
        return 0

    ours = {arch: measure("mplib", arch, args.runs, args.epochs) for arch in ARCHS}
    pyg = {ARCHS[0]: measure("pyg", ARCHS[0], args.runs, args.epochs)}
    installed = pyg[ARCHS[0]]["installed"]
    if installed:
        pyg.update({arch: measure("pyg", arch, args.runs, args.epochs) for arch in ARCHS[1:]})
    versions = {**ours[ARCHS[0]]["versions"], **pyg[ARCHS[0]].get("versions", {})}
    print(f"Cora, {args.epochs} epochs per run, one thread, CPU seconds per run (median of {args.runs}); "
          f"target: mplib <= {TARGET}x PyG")
    print(f"versions: {', '.join(f'{k} {v}' for k, v in versions.items())}")
    head = (f"{'model':<10} {'mplib s':>8} {'PyG s':>8} {'ratio':>6} {'target':>7}  "
            f"{'mplib MB':>8} {'(traced)':>8} {'PyG MB':>7}  {'mplib acc':>9} {'PyG acc':>8}")
    print(head)
    print("-" * len(head))
    report = {"epochs": args.epochs, "runs": args.runs, "threads": 1, "target": TARGET, "versions": versions}
    missed = []
    for arch in ARCHS:
        m, p = ours[arch], pyg[arch] if installed else None
        row = {"mplib": m, "pyg": p}
        cells = (f"{'cora/' + arch:<10} {m['cpu_s_per_run']:>8.2f} "
                 + (f"{p['cpu_s_per_run']:>8.2f} " if p else f"{'-':>8} "))
        if p:
            row["ratio"] = m["cpu_s_per_run"] / p["cpu_s_per_run"]
            row["ok"] = row["ratio"] <= TARGET
            missed += [] if row["ok"] else [f"cora/{arch}"]
            cells += f"{row['ratio']:>5.2f}x {'ok' if row['ok'] else 'MISSED':>7}  "
        else:
            cells += f"{'-':>6} {'-':>7}  "
        cells += f"{m['peak_rss_mb']:>8.0f} {m['traced_mb']:>8.0f} " + (f"{p['peak_rss_mb']:>7.0f}  " if p else
                                                                       f"{'-':>7}  ")
        cells += f"{m['acc_mean']:>8.1f}% " + (f"{p['acc_mean']:>7.1f}%" if p else f"{'-':>8}")
        print(cells)
        report[f"cora/{arch}"] = row
    print("MB: the process's peak resident set, imports included (training raised it by "
          + ", ".join(f"{a} {ours[a]['train_rss_mb']:.0f}" + (f" / {pyg[a]['train_rss_mb']:.0f}" if installed else "")
                      for a in ARCHS)
          + " MB" + (", mplib / PyG" if installed else "") + "); traced: the peak of mplib's arrays (tracemalloc)")
    if not installed:
        reason = pyg[ARCHS[0]]["reason"]
        print(f"PyTorch Geometric is not installed here ({reason}): mplib's numbers only. "
              "`make bench-pyg` builds .venv-pyg with it and runs this side by side.")
        report["pyg"] = {"installed": False, "reason": reason}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    if missed:
        print(f"MISSED: {', '.join(missed)} (mplib slower than {TARGET}x PyG)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
