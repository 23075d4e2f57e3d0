"""benchmarks/bench_pyg.py (``make bench-pyg``) on a few epochs: the table, the JSON, the path without PyG.

No timing is asserted here (speed targets live in the benchmark itself); these tests check that
the mplib side trains the set-ups it names and that a run without PyTorch Geometric reports
mplib's numbers and says that PyG is missing, instead of failing.
"""

import importlib.util
import json
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location(
    "bench_pyg", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_pyg.py")
bench_pyg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_pyg)

HAS_PYG = importlib.util.find_spec("torch_geometric") is not None


def test_mplib_worker_measures_one_model():  # the GCN: GAT's worker runs in the test of main below
    result = bench_pyg.worker("mplib", "gcn", runs=2, epochs=3)
    assert result["installed"] and len(result["cpu_s"]) == 2 and len(result["acc"]) == 2
    assert min(result["cpu_s"]) <= result["cpu_s_per_run"] <= max(result["cpu_s"])
    assert all(0 <= a <= 100 for a in result["acc"])
    assert result["traced_mb"] > 0 and result["peak_rss_mb"] >= result["train_rss_mb"] >= 0
    assert {"python", "numpy", "scipy"} <= set(result["versions"])


def test_mplib_run_learns_cora_in_a_few_epochs():
    prepared = bench_pyg.cora()
    data = prepared[0]
    assert (data.num_nodes, data.num_classes) == (2708, 7)
    assert bench_pyg.mplib_run("gcn", 0, 30, prepared) > 60  # 7 classes: chance is about 14%


@pytest.mark.skipif(HAS_PYG, reason="PyTorch Geometric is installed here: the path without it is not reachable")
def test_without_pyg_the_worker_process_says_so():
    result = bench_pyg.measure("pyg", "gcn", runs=1, epochs=1)  # a real subprocess, as main runs it
    assert result["installed"] is False and "torch" in result["reason"]


def test_main_writes_the_table_and_the_json(tmp_path, capsys, monkeypatch):
    calls = []

    def fake_measure(framework, arch, runs, epochs):  # in-process, tiny: the table logic is under test
        calls.append((framework, arch))
        if framework == "pyg":
            if HAS_PYG:
                return bench_pyg.worker("pyg", arch, runs, epochs)
            return {"installed": False, "reason": "ModuleNotFoundError: No module named 'torch'"}
        return bench_pyg.worker(framework, arch, runs, epochs)

    monkeypatch.setattr(bench_pyg, "measure", fake_measure)
    out = tmp_path / "bench_pyg.json"
    code = bench_pyg.main(["--runs", "1", "--epochs", "1", "--out", str(out)])
    report = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert {"cora/gcn", "cora/gat"} <= set(report) and report["epochs"] == 1 and report["target"] == 1.5
    for arch in bench_pyg.ARCHS:
        assert report[f"cora/{arch}"]["mplib"]["cpu_s_per_run"] > 0
        assert f"cora/{arch}" in printed
    if HAS_PYG:
        assert all("ratio" in report[f"cora/{a}"] for a in bench_pyg.ARCHS)
        assert code == (0 if all(report[f"cora/{a}"]["ok"] for a in bench_pyg.ARCHS) else 1)
    else:
        assert code == 0 and report["pyg"]["installed"] is False
        assert "PyTorch Geometric is not installed" in printed
        assert calls == [("mplib", "gcn"), ("mplib", "gat"), ("pyg", "gcn")]  # no second try without PyG


def test_bad_arguments_are_named():
    with pytest.raises(SystemExit):
        bench_pyg.main(["--runs", "0"])
    with pytest.raises(SystemExit):
        bench_pyg.main(["--worker", "jax", "gcn"])
