"""The training code path of benchmarks/reproduce.py (``make reproduce``), on tiny slices: fast, no timing.

The models there multiply the sparse input by the first weights before propagating (``X W``
as one sparse product, with Kipf & Welling's sparse dropout); these tests check that this
computes exactly the plain layers of :mod:`mplib.layers` on the dense features, and that
one short training run learns.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mplib
from mplib import datasets, train
from mplib.functional import dropout
from mplib.autograd import Tensor

spec = importlib.util.spec_from_file_location(
    "reproduce", Path(__file__).resolve().parents[1] / "benchmarks" / "reproduce.py")
reproduce = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reproduce)


def _value(out):
    return np.asarray(out.data if isinstance(out, Tensor) else out)


@pytest.fixture(scope="module")
def texas():
    data = datasets.load("texas", sparse=True)
    return data, reproduce.row_normalise(data.x)


def test_row_normalise_rows_sum_to_one(texas):
    data, x = texas
    sums = np.asarray(x.sum(axis=1)).ravel()
    nonzero = np.asarray(data.x.sum(axis=1)).ravel() > 0
    assert np.allclose(sums[nonzero], 1.0) and np.all(sums[~nonzero] == 0)


def test_sparse_dropout_drops_stored_entries_only(texas):
    """mplib's dropout on the sparse features, as the reproduction calls it."""
    _, x = texas
    assert dropout(x, 0.5, training=False, rng=np.random.default_rng(0)) is x
    out = dropout(x, 0.6, training=True, rng=np.random.default_rng(0))
    dense, kept = x.toarray(), out.toarray()
    assert np.all(kept[dense == 0] == 0)
    survivors = kept[dense != 0] != 0
    assert np.allclose(kept[dense != 0][survivors], dense[dense != 0][survivors] / 0.4)
    assert abs(survivors.mean() - 0.4) < 0.02  # about 1 - p of the stored entries survive


def test_split_decay_adam_decays_only_the_named_parameters():
    params = {"W1": np.ones((2, 2)), "W2": np.ones(3)}
    grads = {"W1": np.full((2, 2), 0.1), "W2": np.full(3, 0.1)}
    opt = reproduce.SplitDecayAdam(lr=0.01, weight_decay=0.5, decayed=["W1"])
    new = opt.step(params, grads)
    assert list(new) == ["W1", "W2"]
    assert np.allclose(new["W1"], train.Adam(lr=0.01, weight_decay=0.5).step({"W1": params["W1"]},
                                                                            {"W1": grads["W1"]})["W1"])
    assert np.allclose(new["W2"], train.Adam(lr=0.01).step({"W2": params["W2"]}, {"W2": grads["W2"]})["W2"])


def test_gcn_model_equals_the_plain_layers(texas):
    data, x = texas
    rng = np.random.default_rng(1)
    p = {"W1": rng.normal(size=(data.num_features, 16)), "b1": rng.normal(size=16),
         "W2": rng.normal(size=(16, 5)), "b2": rng.normal(size=5)}
    ours = _value(reproduce.gcn_model(x, data.edge_index, data.num_nodes)(p, data, False, None))
    dense = x.toarray()
    h = np.maximum(mplib.gcn_conv(dense, data.edge_index, p["W1"], p["b1"]), 0)
    assert np.allclose(ours, mplib.gcn_conv(h, data.edge_index, p["W2"], p["b2"]))


def test_gat_model_equals_the_plain_layers(texas):
    data, x = texas
    rng = np.random.default_rng(2)
    p = {"W1": rng.normal(size=(data.num_features, 64)), "a_src1": rng.normal(size=(8, 8)),
         "a_dst1": rng.normal(size=(8, 8)), "b1": rng.normal(size=64), "W2": rng.normal(size=(64, 5)),
         "a_src2": rng.normal(size=(1, 5)), "a_dst2": rng.normal(size=(1, 5)), "b2": rng.normal(size=5)}
    ours = _value(reproduce.gat_model(x, data.edge_index)(p, data, False, None))
    h = mplib.gat_conv(x.toarray(), data.edge_index, p["W1"], p["a_src1"], p["a_dst1"], p["b1"], heads=8)
    h = np.where(h > 0, h, np.expm1(np.minimum(h, 0)))  # ELU
    expected = mplib.gat_conv(h, data.edge_index, p["W2"], p["a_src2"], p["a_dst2"], p["b2"], heads=1,
                              concat=False)
    assert np.allclose(ours, expected)


@pytest.mark.parametrize("arch", ["mlp", "gcn", "sage"])
def test_webkb_models_equal_the_plain_layers(texas, arch):
    data, x = texas
    rng = np.random.default_rng(3)
    f, hidden = data.num_features, 64
    p = {"W1": rng.normal(size=(f, hidden)), "b1": rng.normal(size=hidden), "N1": rng.normal(size=(f, hidden)),
         "W2": rng.normal(size=(hidden, 5)), "N2": rng.normal(size=(hidden, 5)), "b2": rng.normal(size=5)}
    ours = _value(reproduce.webkb_model(arch, x, data.edge_index, data.num_nodes)(p, data, False, None))
    dense, ei = x.toarray(), data.edge_index
    if arch == "mlp":  # H2GCN's MLP and Kipf's GCN have no biases (b1, b2 are ignored)
        expected = np.maximum(dense @ p["W1"], 0) @ p["W2"]
    elif arch == "gcn":
        expected = mplib.gcn_conv(np.maximum(mplib.gcn_conv(dense, ei, p["W1"]), 0), ei, p["W2"])
    else:
        h = np.maximum(mplib.sage_conv(dense, ei, p["N1"], p["W1"], p["b1"]), 0)
        expected = mplib.sage_conv(h, ei, p["N2"], p["W2"], p["b2"])
    assert np.allclose(ours, expected)


def test_training_path_learns_on_a_tiny_slice(texas):
    """A hundred epochs of the WebKB GraphSAGE through mplib.train.fit: the loss falls and the training nodes are fitted."""
    data, x = texas
    f, hidden = data.num_features, 16
    model = reproduce.webkb_model("sage", x, data.edge_index, data.num_nodes, hidden=hidden)
    params = train.init_params({"W1": (f, hidden), "b1": (hidden,), "W2": (hidden, 5), "b2": (5,),
                                "N1": (f, hidden), "N2": (hidden, 5)}, rng=0)
    tr, va, _ = (np.flatnonzero(m) for m in (data.train_mask, data.val_mask, data.test_mask))
    params, history = train.fit(model, params, data, data.y, tr, va, optimizer=train.Adam(lr=0.01), epochs=100,
                                rng=0, verbose=False)
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert max(history.train_acc) > 0.9


def test_freesolv_model_runs():
    pytest.importorskip("rdkit")
    rmse, seconds = reproduce.run_freesolv(0, epochs=2)
    y = datasets.load("freesolv").y
    assert np.isfinite(rmse) and 0 < rmse < y.std() and seconds > 0


# ---------------------------------------------------------------------- H2GCN's training protocols

@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=30), st.integers(1, 6))
@settings(max_examples=60, deadline=None)
def test_stop_kipf_is_kipf_and_wellings_rule(losses, window):
    """Their code, at 0-based epoch e: ``e > window and cost[e] > mean(cost[e - window:e])``."""
    e = len(losses) - 1
    expected = e > window and losses[e] > sum(losses[e - window:e]) / window
    assert reproduce.stop_kipf(losses, window) == expected


def _webkb_run(texas, arch, epochs, window, shapes, penalty=None):
    data, x = texas
    model = reproduce.webkb_model(arch, x, data.edge_index, data.num_nodes, hidden=16)
    params = train.init_params(shapes, rng=0)
    tr, va, _ = (np.flatnonzero(m) for m in (data.train_mask, data.val_mask, data.test_mask))
    optimizer = train.Adam(lr=0.01, weight_decay=1e-3)
    return reproduce.train_webkb(model, params, data, data.y, tr, va, optimizer, epochs, 0, window=window,
                                 penalty=penalty)


def test_train_webkb_keeps_the_last_epoch_with_the_best_val_acc(texas):
    data, _ = texas
    shapes = {"W1": (data.num_features, 16), "W2": (16, 5)}
    best, acc, loss = _webkb_run(texas, "mlp", 40, None, shapes)
    assert len(acc) == len(loss) == 40
    chosen = max(i for i, a in enumerate(acc) if a == max(acc))  # a later tie wins
    assert acc.count(max(acc)) > 1 or chosen == acc.index(max(acc))
    again, acc_again, _ = _webkb_run(texas, "mlp", chosen + 1, None, shapes)  # bit-for-bit rerun
    assert acc_again == acc[:chosen + 1]
    for k in best:
        np.testing.assert_array_equal(best[k], again[k])


def test_train_webkb_stops_by_kipfs_rule_and_keeps_the_last_parameters(texas):
    data, _ = texas
    shapes = {"W1": (data.num_features, 16), "W2": (16, 5)}
    last, acc, loss = _webkb_run(texas, "gcn", 300, 3, shapes)
    assert len(loss) < 300 and reproduce.stop_kipf(loss, 3)
    assert not any(reproduce.stop_kipf(loss[:e], 3) for e in range(1, len(loss)))  # the first epoch it holds
    again, _, loss_again = _webkb_run(texas, "gcn", len(loss), 10**6, shapes)  # same epochs, a rule that never fires
    assert loss_again == loss
    for k in last:
        np.testing.assert_array_equal(last[k], again[k])
    # the penalty (Kipf's L2 term) is added to the loss the rule reads: a constant one shifts the
    # curve and, the rule comparing the loss with a mean of losses, stops at the same epoch
    shifted, _, loss_shifted = _webkb_run(texas, "gcn", 300, 3, shapes, penalty=lambda p: 0.25)
    assert loss_shifted == pytest.approx([v + 0.25 for v in loss], abs=1e-12)
    np.testing.assert_array_equal(shifted["W1"], last["W1"])


# ---------------------------------------------------------------------- the command: table and JSON

PLANETOID_FIELDS = {"acc_mean", "acc_std", "seeds", "paper", "paper_std", "source", "s_per_run",
                    "cpu_s_per_run", "accs", "target", "ok"}
WEBKB_FIELDS = {"acc_mean", "acc_std", "seeds", "paper", "paper_std", "source", "val_acc_mean", "s_per_run", "ok"}


def test_main_quick_run_writes_the_table_and_the_json(tmp_path, capsys):
    """A smoke run of the real command on the two cheapest rows (one seed, one split, capped epochs),
    then a --merge run: the keys, the fields and their types, and the targets' logic."""
    out = tmp_path / "reproduce.json"
    code = reproduce.main(["--quick", "--seeds", "1", "--only", "cora/gcn", "--out", str(out)])
    first = json.loads(out.read_text())
    assert list(first) == ["cora/gcn"]
    row = first["cora/gcn"]
    assert set(row) == PLANETOID_FIELDS
    assert row["seeds"] == 1 and len(row["accs"]) == 1 and row["acc_std"] == 0.0
    assert row["acc_mean"] == row["accs"][0] and 70 < row["acc_mean"] <= 100  # 200 epochs of the real model
    assert (row["paper"], row["paper_std"]) == reproduce.PAPER["cora/gcn"][:2]
    assert row["ok"] == (abs(row["acc_mean"] - row["paper"]) <= reproduce.TOLERANCE)
    assert code == (0 if row["ok"] else 1)
    assert row["s_per_run"] > 0 and row["cpu_s_per_run"] > 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split()[:4] == ["key", "ours", "paper", "target"]
    assert any(line.startswith("cora/gcn ") for line in printed.splitlines())

    code = reproduce.main(["--quick", "--splits", "1", "--webkb-epochs", "30", "--only", "cornell",
                           "--out", str(out), "--merge"])
    merged = json.loads(out.read_text())
    assert list(merged) == ["cora/gcn", "cornell/mlp", "cornell/gcn", "cornell/sage"]
    assert merged["cora/gcn"] == row  # kept by --merge
    for arch in ("mlp", "gcn", "sage"):
        r = merged[f"cornell/{arch}"]
        assert set(r) == WEBKB_FIELDS | ({"window"} if arch == "gcn" else set())
        assert r["seeds"] == 1 and 0 <= r["acc_mean"] <= 100 and isinstance(r["ok"], bool)
        assert (r["paper"], r["paper_std"]) == reproduce.PAPER_WEBKB["cornell"][arch]
    assert merged["cornell/gcn"]["window"] in reproduce.WEBKB_WINDOWS
    m, g, s = (merged[f"cornell/{a}"]["acc_mean"] for a in ("mlp", "gcn", "sage"))
    assert merged["cornell/mlp"]["ok"] == merged["cornell/gcn"]["ok"] == (m - g >= 15)
    assert merged["cornell/sage"]["ok"] == (s - g >= 10 and (s - g) >= 2 / 3 * (m - g))
    assert code == (0 if all(merged[f"cornell/{a}"]["ok"] for a in ("mlp", "gcn", "sage")) else 1)


def test_the_papers_own_webkb_table_meets_the_targets():
    """A target the published numbers miss would ask more of mplib than of the paper."""
    for name, paper in reproduce.PAPER_WEBKB.items():
        assert reproduce.webkb_targets(paper["mlp"][0], paper["gcn"][0], paper["sage"][0]) == (True, True), name


@pytest.mark.parametrize("mlp, gcn, sage, expected", [
    (80.0, 66.0, 80.0, (False, True)),    # gap of 14 points: not wide
    (80.0, 60.0, 69.0, (True, False)),    # SAGE 9 points above GCN
    (90.0, 60.0, 79.0, (True, False)),    # 19 of 30 points: under two thirds
    (90.0, 60.0, 80.0, (True, True)),     # 20 of 30: exactly two thirds
])
def test_webkb_targets_at_their_edges(mlp, gcn, sage, expected):
    assert reproduce.webkb_targets(mlp, gcn, sage) == expected
