"""Verification outside the student's kernel: the sandbox, the wire format, and a graded batch.

The fast tests drive :class:`course.verify.sandbox.Sandbox` and :func:`course.verify.submission.verify_notebook`
directly. The slow ones grade one batch once (real nbgrader, then verification, in the
parallel pipeline): the tampering corpus of :mod:`corpora.tampering`, which must get exactly
the points its honest part deserves and be flagged for review, and honest submissions
(every solution, partly correct ones), which must score as nbgrader scores them, unflagged.
"""

import csv
import json
import os
import shutil
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from helpers import ASSIGNMENTS
from course_batch import export_rows, shared_batch

import mplib
from corpora import synthetic, tampering
from course.checks import DEFAULT_SEED, SEED_ENV, registry, watch_mplib
from course.instructor.autograde import autograde
from course.instructor.export import export
from course.instructor.release import release
from course.verify.sandbox import Sandbox, SandboxError, SandboxTimeout
from course.verify.submission import notebook_spec, review_reasons, solution_cells, verify_notebook
from course.verify.wire import Opaque, ProtocolError, decode, encode

ROOT = Path(__file__).resolve().parent.parent

# -- the wire format -----------------------------------------------------------------------------


def _round_trip(value, **kw):
    blobs = []
    tree = encode(value, blobs)
    json.dumps(tree)  # the tree is plain JSON
    return decode(json.loads(json.dumps(tree)), blobs, **kw)


def test_codec_round_trips_plain_values_exactly():
    rng = np.random.default_rng(0)
    value = (None, True, 3, -2**70, float("nan"), 1e-310, "é", [1, 2.5], {"k": (1,)},
             rng.standard_normal((3, 2)).astype(np.float32), np.arange(6, dtype=np.int64).reshape(2, 3).T,
             np.float64(0.1), np.int32(7), np.bool_(True), np.zeros((0, 4)))
    back = _round_trip(value)
    assert type(back) is tuple and len(back) == len(value)
    for got, want in zip(back, value):
        assert type(got) is type(want)
        if isinstance(want, np.ndarray):
            assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
        elif isinstance(want, float) and np.isnan(want):
            assert np.isnan(got)
        else:
            assert got == want


class AlwaysEqual(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class Agreeable(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), bool)


class Anything:
    def __eq__(self, other):
        return True


def test_codec_rebuilds_student_types_as_plain_classes_without_their_code():
    seen = []
    eq, arr, obj, named = _round_trip((AlwaysEqual(0), np.zeros(3).view(Agreeable), Anything(),
                                       type("Pair", (tuple,), {})((1, 2))), seen=seen)
    assert type(eq).__name__ == "AlwaysEqual" and isinstance(eq, int) and eq != 5 and eq == 0
    assert type(arr).__name__ == "Agreeable" and type(arr) is not np.ndarray and not (arr == np.ones(3)).all()
    assert isinstance(obj, Opaque) and type(obj).__name__ == "Anything" and obj != obj.__class__()
    assert isinstance(named, tuple) and named == (1, 2)
    assert seen == ["AlwaysEqual", "Agreeable", "Anything", "Pair"]


def test_codec_never_carries_pickles():
    tree = encode(np.array([object(), 1], dtype=object), [])
    assert tree == {"t": "opaque", "type": "ndarray of Python objects"}
    import io
    import pickle
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ProtocolError, match="bad value"):
        decode({"t": "nd", "b": 0}, [buf.getvalue()])
    with pytest.raises(ProtocolError, match="unknown value kind 'pickle'"):
        decode({"t": "pickle", "v": pickle.dumps(1).hex()}, [])


@pytest.mark.parametrize("tree", [{"t": "nd", "b": 3}, {"t": "int", "v": "1" * 5000}, [1, 2],
                                  {"t": "tuple", "v": [{"t": "tuple", "v": []}] * 2 + [7]}])
def test_decode_rejects_malformed_trees(tree):
    with pytest.raises(ProtocolError):
        decode(tree, [])


# -- the sandbox -----------------------------------------------------------------------------------


def _box(tmp_path, code, deny=(), timeout=10, **limits):
    folder = tmp_path / "box"
    folder.mkdir()
    (folder / "cell.py").write_text(code)
    box = Sandbox(folder, deny=deny, **limits)
    box.start(time.monotonic() + 20)
    box.deadline = time.monotonic() + timeout
    errors = box.exec_cells(["cell.py"])
    return box, errors


def test_sandbox_holds_only_the_submission_and_a_scrubbed_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(SEED_ENV, "4242")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    box, errors = _box(tmp_path, "import os, sys\n"
                                 "def look():\n"
                                 "    return sorted(os.listdir('.')), sorted(os.environ), list(sys.path)\n"
                                 "def helpers():\n    import course.checks\n")
    try:
        assert errors == []
        files, env, path = box.call({"name": "look"}, (), {})
        assert files == ["cell.py"]
        assert SEED_ENV not in env and "PYTHONPATH" not in env
        assert not any(p.startswith(str(ROOT)) and "site-packages" not in p for p in path)
        with pytest.raises(ModuleNotFoundError, match="not available when verifying"):
            box.call({"name": "helpers"}, (), {})
    finally:
        box.close()


def test_sandbox_cannot_read_the_course_or_write_outside(tmp_path):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    (course / "solutions" / "answer.txt").write_text("def scatter_sum(): ...")
    outside = tmp_path / "forged.json"
    box, errors = _box(tmp_path, f"def read():\n    return open({str(course / 'solutions' / 'answer.txt')!r}).read()\n"
                                 f"def write():\n    open({str(outside)!r}, 'w').write('{{}}')\n",
                       deny=[course])
    try:
        with pytest.raises(PermissionError):
            box.call({"name": "read"}, (), {})
        with pytest.raises(PermissionError):
            box.call({"name": "write"}, (), {})
        assert not outside.exists()
        signs = " | ".join(box.report())
        assert "tried to open" in signs and "answer.txt" in signs and "tried to write" in signs
    finally:
        box.close()


def test_sandbox_stops_runaway_code_and_bounds_memory(tmp_path):
    box, _ = _box(tmp_path, "import numpy as np\n"
                            "def spin():\n    while True:\n        pass\n"
                            "def huge():\n    return np.ones(2**31).sum()\n", memory_mb=512)
    try:
        with pytest.raises(MemoryError, match="Unable to allocate"):
            box.call({"name": "huge"}, (), {})
        box.deadline = time.monotonic() + 1.5
        start = time.monotonic()
        with pytest.raises(SandboxTimeout, match="time limit"):
            box.call({"name": "spin"}, (), {})
        assert time.monotonic() - start < 5 and box.proc.poll() is not None
        with pytest.raises(SandboxError):
            box.call({"name": "huge"}, (), {})
    finally:
        box.close()


def test_sandbox_cannot_start_processes(tmp_path):
    box, errors = _box(tmp_path, "import subprocess, os\n"
                                 "try:\n    subprocess.run(['true'])\nexcept PermissionError as e:\n    refused = str(e)\n"
                                 "def pid():\n    return os.fork()\n")
    try:
        assert errors == []
        with pytest.raises(PermissionError, match="does not allow os.fork"):
            box.call({"name": "pid"}, (), {})
        assert any("subprocess.Popen" in s for s in box.report())
    finally:
        box.close()


def test_sandbox_calls_write_back_in_place_changes_and_run_callbacks_under_the_tripwire(tmp_path):
    box, _ = _box(tmp_path, "import mplib\n"
                            "def sort_in_place(a):\n    a.sort()\n    return a.sum()\n"
                            "def twice(f, x):\n    return f(f(x))\n"
                            "def delegate(m, i, n):\n    return mplib.scatter(m, i, n)\n")
    try:
        a = np.array([3.0, 1.0, 2.0])
        assert box.call({"name": "sort_in_place"}, (a,), {}) == 6.0
        assert a.tolist() == [1.0, 2.0, 3.0]  # as if the student's code had run on our array
        assert box.call({"name": "twice"}, (lambda x: x + 1, np.arange(3)), {}).tolist() == [2, 3, 4]
        args = (np.ones((3, 2)), np.array([0, 2, 0]), 3)
        with watch_mplib() as watch:
            got = box.call({"name": "delegate"}, args, {})
        assert watch.calls[0] == f"{mplib.scatter.__module__}.scatter"  # the child's mplib runs here, where it is seen
        assert got.tolist() == [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]
        with pytest.raises(ValueError, match="too large"):
            box.call({"name": "delegate"}, (np.ones((3, 2)), np.array([0, 2, 0]), 10**9), {})
    finally:
        box.close()


def test_sandbox_stops_a_child_that_breaks_the_protocol(tmp_path):
    box, _ = _box(tmp_path, "import os, sys\n"
                            "def forge():\n    os.write(int(sys.argv[2]), b'\\xff' * 64)\n    return 1\n")
    try:
        with pytest.raises(SandboxError, match="broke the protocol"):
            box.call({"name": "forge"}, (), {})
        assert box.proc.poll() is not None and any("broke the protocol" in s for s in box.signs)
    finally:
        box.close()


# -- cells, scores, review -------------------------------------------------------------------------


def test_solution_cells_are_the_solution_cells_in_notebook_order():
    source = ROOT / "solutions" / "01_aggregators" / "aggregators.ipynb"
    spec = notebook_spec(source)
    nb = nbformat.read(str(ROOT / "exercises" / "01_aggregators" / "aggregators.ipynb"), as_version=4)
    free = nbformat.v4.new_code_cell("def helper():\n    return 1")
    nb.cells.insert(3, free)
    cells = solution_cells(nb, spec)
    assert [gid for gid, _ in cells] == [gid for gid, _ in spec["solutions"]]
    assert all("NotImplementedError" in src for _, src in cells)
    for cell in nb.cells:  # an editor stripped all metadata: recognised by the functions they define
        cell.metadata = {}
    assert [gid for gid, _ in solution_cells(nb, spec)] == [gid for gid, _ in spec["solutions"]]
    assert len(spec["tests"]) == 7 and sum(p for _, p, _ in spec["tests"]) == 10


def test_review_reasons():
    verified = {"scores": {"a": 2.0, "b": 0.0}, "max_scores": {"a": 2, "b": 1}, "messages": {"b": "NameError"},
                "signs": [], "notes": []}
    assert review_reasons({"a": 2.0, "b": 0.0}, verified) == []
    assert review_reasons({"a": 2.0, "b": 1.0}, verified) == ["b: nbgrader 1, verified 0 (NameError)"]
    assert review_reasons({"a": 2.0, "b": 0.0}, dict(verified, signs=["replaced numpy.allclose"])) == \
        ["sandbox: replaced numpy.allclose"]
    assert "not verified" in review_reasons({"a": 2.0}, None)[0]
    assert review_reasons(None, {"error": "TypeError: x"}, "failed") == ["verification failed: TypeError: x"]
    assert review_reasons(None, None, "failed") == []
    assert review_reasons(None, dict(verified, signs=["was killed"]), "failed") == \
        ["nbgrader could not grade it; verified 2 of 3", "sandbox: was killed"]


@pytest.mark.parametrize("variant", ["solution", "partial", "delegating", "mutating"])
def test_verify_notebook_scores_like_the_notebook(tmp_path, variant):
    synthetic.write_submission(ROOT, tmp_path, "01_aggregators", variant)
    out = verify_notebook(ROOT / "solutions" / "01_aggregators" / "aggregators.ipynb",
                          tmp_path / "aggregators.ipynb", DEFAULT_SEED, timeout=20, deny=[ROOT])
    assert sum(out["scores"].values()) == synthetic.expected_total(variant)
    assert out["signs"] == [] and out["isolation"]


def test_verify_notebook_grades_with_its_seed_argument_not_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(SEED_ENV, "1")
    seeds = []
    make_cases = registry.make_cases

    def spy(task, seed=None):
        seeds.append(registry.grading_seed(seed))
        return make_cases(task, seed)

    monkeypatch.setattr(registry, "make_cases", spy)
    synthetic.write_submission(ROOT, tmp_path, "01_aggregators", "solution")
    out = verify_notebook(ROOT / "solutions" / "01_aggregators" / "aggregators.ipynb",
                          tmp_path / "aggregators.ipynb", 7, timeout=20, deny=[ROOT])
    assert sum(out["scores"].values()) == synthetic.expected_total("solution")
    assert seeds and set(seeds) == {7}  # every hidden check ran with the seed passed in
    assert os.environ[SEED_ENV] == "1"  # and the environment was never the messenger


# -- one graded batch: tampering and honest submissions -------------------------------------------

TIMEOUT = 3  # seconds per cell; the sleeper sleeps 2 s in each of its 7 solution cells

HONEST_01 = ["release", "partial", "exception", "syntax-error", "hardcoded", "delegating", "mutating",
             "stripped-metadata", "deleted-solution"]


def _build(root):
    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions", root / "solutions", ignore=shutil.ignore_patterns("README.md"))
    release(root, ASSIGNMENTS)
    for name in ASSIGNMENTS:
        synthetic.write_submission(root, root / "submitted" / "solution" / name, name, "solution")
    for variant in HONEST_01:
        synthetic.write_submission(root, root / "submitted" / variant / ASSIGNMENTS[0], ASSIGNMENTS[0], variant)
    for t in tampering.TAMPERING:
        tampering.write_submission(root, root / "submitted" / t.name / t.assignment, t.name, timeout=TIMEOUT)
    autograde(root, ASSIGNMENTS, workers=2, seed=DEFAULT_SEED, timeout=TIMEOUT, progress=None)
    for name in ASSIGNMENTS:
        export(root, name)
    (root / "done").write_text("")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return shared_batch(tmp_path_factory, "verify-batch", _build, done="done")




@pytest.mark.slow
@pytest.mark.parametrize("tamper", tampering.TAMPERING, ids=lambda t: t.name)
def test_tampering_earns_no_undeserved_point_and_is_flagged(batch, tamper):
    row = export_rows(batch, tamper.assignment)[tamper.name]
    assert row["review"] == "yes", row
    assert tamper.phrase in row["review_reason"], row["review_reason"]
    status = json.loads((batch / "autograded" / ".status" / tamper.assignment / f"{tamper.name}.json").read_text())
    assert sum(status["verified"]["scores"].values()) == tamper.deserved, status["verified"]
    if row["status"] == "graded":  # exported: the verified points
        assert float(row["score"]) == tamper.deserved
        assert sum(float(row[k]) for k in row if k.startswith("test_")) == tamper.deserved
    else:  # the kernel died under nbgrader: nothing exported, a human decides
        assert row["status"] == "failed" and row["score"] == "" and "kernel died" in row["reason"]


@pytest.mark.slow
@pytest.mark.parametrize("student,assignment",
                         [("solution", a) for a in ASSIGNMENTS] + [(v, ASSIGNMENTS[0]) for v in HONEST_01])
def test_honest_submissions_score_as_nbgrader_scores_them(batch, student, assignment):
    row = export_rows(batch, assignment)[student]
    full = notebook_spec(next((ROOT / "solutions" / assignment).glob("*.ipynb")))["tests"]
    want = {"solution": sum(p for _, p, _ in full), "release": 0}.get(student) \
        if student in ("solution", "release") else synthetic.expected_total(student)
    assert row["status"] == "graded"
    assert float(row["score"]) == float(row["nbgrader_score"]) == want
    assert (row["review"], row["review_reason"]) == ("", "")


@pytest.mark.slow
def test_export_columns_and_status_file(batch):
    with open(batch / "grades" / "01_aggregators.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header[:9] == ["student_id", "status", "reason", "score", "max_score", "late", "review",
                          "review_reason", "nbgrader_score"]
    assert header[-2:] == ["seed", "notes"] and "test_scatter_sum" in header
    status = json.loads((batch / "autograded" / ".status" / "01_aggregators" / "solution.json").read_text())
    assert status["verified"]["isolation"] and status["verified"]["signs"] == []
    assert set(status["verified"]["scores"]) == set(status["scores"])
    flagged = {name for name, row in export_rows(batch, "01_aggregators").items() if row["review"]}
    assert flagged == {t.name for t in tampering.TAMPERING if t.assignment == "01_aggregators"}
