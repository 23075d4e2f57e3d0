"""The training code path of benchmarks/reproduce.py (``make reproduce``), on tiny slices: fast, no timing.

The models there multiply the sparse input by the first weights before propagating (``X W``
as one sparse product, with Kipf & Welling's sparse dropout); these tests check that this
computes exactly the plain layers of :mod:`mplib.layers` on the dense features, and that
one short training run learns.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import mplib
from mplib import datasets, train
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
    _, x = texas
    assert reproduce.sparse_dropout(x, 0.5, False, np.random.default_rng(0)) is x
    out = reproduce.sparse_dropout(x, 0.6, True, np.random.default_rng(0))
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
    if arch == "mlp":
        expected = np.maximum(dense @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]
    elif arch == "gcn":
        expected = mplib.gcn_conv(np.maximum(mplib.gcn_conv(dense, ei, p["W1"], p["b1"]), 0), ei, p["W2"], p["b2"])
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
