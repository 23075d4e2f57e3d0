"""Fair verification: honest work written the way students write it keeps exactly nbgrader's score.

Each *habit* below is honest (issue 12): IPython magics and a shell escape in the cells, helper
functions and imports in cells the student added (even the graded function written in an added
cell below its stub), and exploration cells that together run longer than one cell timeout. The
fast tests verify such notebooks directly (:func:`course.verify.submission.verify_notebook`) for
every assignment; the slow one grades them all in one batch with real nbgrader, verification,
export and feedback, and requires verified score = nbgrader's score = the score on the feedback page.
"""

import ast
import json
import re
import shutil
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest
from helpers import ASSIGNMENTS
from course_batch import export_rows, shared_batch

from corpora.synthetic import answers
from course.checks import DEFAULT_SEED
from course.verify.submission import explain, notebook_spec, review_reasons, run_plan, to_python, verify_notebook

ROOT = Path(__file__).resolve().parent.parent

HABITS = ["magics", "added-cells", "slow-exploration"]
TIMEOUT = 3  # seconds per cell in the fast tests; the two exploration cells sleep 0.6 of it each
BATCH_TIMEOUT = 12  # in the nbgrader batch: the kernel's `%matplotlib inline` imports matplotlib, on a busy machine


def _source(assignment):
    return next((ROOT / "solutions" / assignment).glob("*.ipynb"))


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _signature_call(source, name):
    """``(parameters, call)`` of the function ``name`` defined in ``source``: ``"x, k=2"``, ``"x, k=k"``."""
    fn = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) and n.name == name)
    params = ast.unparse(fn.args)
    names = [a.arg for a in fn.args.posonlyargs + fn.args.args] + [a.arg for a in fn.args.kwonlyargs]
    return params, ", ".join(f"{n}={n}" for n in names)


def honest(assignment, habit, timeout=TIMEOUT):
    """The released notebook of ``assignment`` solved with the instructor's answers, written with ``habit``."""
    sol = answers(ROOT, assignment)
    path = next((ROOT / "exercises" / assignment).glob("*.ipynb"))
    nb = nbformat.read(str(path), as_version=4)
    cells, first, explored = [], True, 0
    for cell in nb.cells:
        gid = _grade_id(cell)
        is_solution = cell.metadata.get("nbgrader", {}).get("solution") and gid in sol
        if habit == "magics" and gid == "setup":
            cells += [cell, nbformat.v4.new_code_cell("%load_ext autoreload\n%autoreload 2\n%matplotlib inline\n"
                                                      "!echo checking the shell")]
            continue
        if habit == "added-cells" and gid == "setup":
            cells += [cell, nbformat.v4.new_code_cell(
                "import math\nfrom scipy import sparse  # an import the solutions use\n\n\n"
                "def as_result(value):\n    \"\"\"A helper the solution cells call.\"\"\"\n"
                "    assert math.isfinite(1.0) and sparse.issparse(sparse.eye(1))\n    return value\n")]
            continue
        if not is_solution:
            cells.append(cell)
            continue
        answer = sol[gid]
        if habit == "magics":
            name = gid
            cell.source = f"%%time\n{answer}\n" if first else f"{answer}\n%time _probe = 1 + 1\n%timeit -n 1 -r 1 {name}"
            cells.append(cell)
        elif habit == "added-cells" and first:  # the stub stays; the function is written in a cell below it
            cells += [cell, nbformat.v4.new_code_cell(answer)]
        elif habit == "added-cells":
            params, call = _signature_call(answer, gid)
            cell.source = (f"{answer}\n\n\n_{gid}_first = {gid}\n\n\ndef {gid}({params}):\n"
                           f"    return as_result(_{gid}_first({call}))\n")
            cells.append(cell)
        elif habit == "slow-exploration":  # after two tasks: together longer than one cell timeout
            cell.source = answer
            cells.append(cell)
            if explored < 2:
                cells.append(nbformat.v4.new_code_cell(f"import time\ntime.sleep({0.6 * timeout:g})  # exploring"))
                explored += 1
        else:  # "none": the answers as they are
            cell.source = answer
            cells.append(cell)
        first = False
    nb.cells = cells
    return nb


def _write(nb, folder, assignment):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _source(assignment).name
    nbformat.write(nb, str(path))
    return path


def _full(assignment):
    return sum(points for _, points, _ in notebook_spec(_source(assignment))["tests"])


# -- fast: the verified score of each honest habit, in every assignment --------------------------------


@pytest.mark.parametrize("habit", HABITS)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_honest_habit_keeps_every_point(tmp_path, assignment, habit):
    path = _write(honest(assignment, habit), tmp_path, assignment)
    out = verify_notebook(_source(assignment), path, DEFAULT_SEED, timeout=TIMEOUT, deny=[ROOT])
    assert out["messages"] == {} and out["signs"] == []
    assert sum(out["scores"].values()) == _full(assignment)
    if habit == "magics":  # the shell escape did not run, and the notes say where it was
        assert any(re.fullmatch(r"cell 3 line 4: `!echo checking the shell` was not run \(shell .*\)", s)
                   for s in out["skipped"]), out["skipped"]
    if habit == "slow-exploration":
        assert not any("interrupted" in n for n in out["notes"]), out["notes"]


def test_ipython_syntax_becomes_python_as_ipython_does():
    assert to_python("x = 1\n") == "x = 1\n"
    assert "run_line_magic('timeit', 'f(x)')" in to_python("%timeit f(x)\n")
    assert "run_cell_magic('time', '', 'y = 2\\n')" in to_python("%%time\ny = 2\n")
    assert "system('ls')" in to_python("!ls\n")
    assert to_python("%timeit f(x)\ny = 1\n").count("\n") == 2  # line numbers stay where they were


def _verify_cells(tmp_path, edit, assignment="01_aggregators", timeout=TIMEOUT):
    """Verify the instructor's answers with ``edit(cells)`` applied to the notebook's cells."""
    nb = honest(assignment, "none")
    edit(nb.cells)
    path = _write(nb, tmp_path, assignment)
    return verify_notebook(_source(assignment), path, DEFAULT_SEED, timeout=timeout, deny=[ROOT]), nb


def _at(cells, gid):
    return next(k for k, c in enumerate(cells) if _grade_id(c) == gid)


def test_review_reason_names_the_added_cell_that_failed_to_define_a_function(tmp_path):
    def edit(cells):
        k = _at(cells, "scatter_sum")
        source = cells[k].source
        cells[k].source = "def scatter_sum(messages, index, num_nodes):\n    raise NotImplementedError()"
        cells.insert(k + 1, nbformat.v4.new_code_cell("import not_a_module_anywhere\n\n" + source))
    out, nb = _verify_cells(tmp_path, edit)
    number = 1 + next(k for k, c in enumerate(nb.cells) if c.source.startswith("import not_a_module"))
    message = out["messages"]["test_scatter_sum"]
    assert message.startswith(f"function `scatter_sum` was defined in an added cell (cell {number}), which did not "
                              "run to the end: it failed at line 1: ModuleNotFoundError: No module named "
                              "'not_a_module_anywhere'"), message
    reasons = review_reasons({"test_scatter_sum": 2.0}, out)
    assert any(r.startswith("test_scatter_sum: nbgrader 2, verified 0 (function `scatter_sum` was defined in an "
                            f"added cell (cell {number})") for r in reasons), reasons


def test_review_reason_names_a_helper_missing_because_its_cell_failed(tmp_path):
    def edit(cells):
        k = _at(cells, "setup")
        cells.insert(k + 1, nbformat.v4.new_code_cell("x = 1\n1 / 0\n\ndef helper(a):\n    return a"))
        j = _at(cells, "scatter_sum")
        cells[j].source += "\n\n_first = scatter_sum\n\ndef scatter_sum(messages, index, num_nodes):\n" \
                           "    return helper(_first(messages, index, num_nodes))"
    out, _ = _verify_cells(tmp_path, edit)
    message = out["messages"]["test_scatter_sum"]
    assert "function `helper` was defined in an added cell (cell 3), which did not run to the end: it failed " \
           "at line 2: ZeroDivisionError: division by zero" in message, message
    assert out["scores"]["test_scatter_sum"] == 0 and out["scores"]["test_scatter_max"] == 2  # max needs no sum


def test_a_name_no_cell_defines_is_said_so():
    assert explain("NameError: name 'scatter_sum' is not defined", []) == \
        "name `scatter_sum` is not defined by any cell of the notebook (NameError: name 'scatter_sum' is not defined)"
    assert explain("CheckFailed: wrong values", []) == "CheckFailed: wrong values"


def test_a_cell_past_the_timeout_is_interrupted_and_the_notebook_goes_on(tmp_path):
    def edit(cells):
        k = _at(cells, "scatter_sum")
        cells.insert(k, nbformat.v4.new_code_cell("while True:\n    pass"))
    out, nb = _verify_cells(tmp_path, edit, timeout=2)
    number = 1 + next(k for k, c in enumerate(nb.cells) if c.source.startswith("while True"))
    assert f"cell {number} ran past 2 s and was interrupted, as nbgrader does" in out["notes"]
    assert out["signs"] == [] and sum(out["scores"].values()) == _full("01_aggregators")


def test_magics_run_as_in_the_notebook_and_a_failing_one_fails_its_cell(tmp_path):
    def edit(cells):
        k = _at(cells, "scatter_sum")
        cells[k].source += ("\n%time total = scatter_sum(np.ones((2, 1)), np.array([0, 0]), 1)\n"
                            "%timeit -n 1 -r 1 local_only = 1\n"
                            "assert total[0, 0] == 2 and 'local_only' not in globals()\n"
                            "%run helpers.py\n"
                            "%config InlineBackend.figure_format = 'svg'")
        j = _at(cells, "scatter_max")
        cells[j].source += "\n%timeit undefined_name"  # raises NameError, as in IPython: the cell fails there
    out, nb = _verify_cells(tmp_path, edit)
    number = 1 + _at(nb.cells, "scatter_sum")
    assert f"cell {number} line 9: `%run helpers.py` was not run (it reads or writes files or other cells, " \
           "which verification does not do)" in out["skipped"]
    assert out["scores"]["test_scatter_sum"] == 2 and out["scores"]["test_scatter_max"] == 2
    cells = {c["number"]: c for c in out["cells"]}
    assert cells[number]["failure"] == ""
    assert "NameError: name 'undefined_name' is not defined" in cells[1 + _at(nb.cells, "scatter_max")]["failure"]


def test_test_cells_of_the_submission_never_run_in_the_sandbox(tmp_path):
    def edit(cells):
        k = _at(cells, "test_scatter_sum")
        cells[k].source = "def scatter_mean(messages, index, num_nodes):\n    return None\n"
    out, _ = _verify_cells(tmp_path, edit)
    assert sum(out["scores"].values()) == _full("01_aggregators")


def test_run_plan_is_notebook_order_with_the_instructors_set_up_and_tests():
    spec = notebook_spec(_source("01_aggregators"))
    nb = honest("01_aggregators", "added-cells")
    nb.cells[1].source = "raise SystemExit"  # the read-only set-up cell, edited: the original runs
    plan = run_plan(nb, spec)
    kinds = [(kind, item.kind if kind == "cell" else item) for kind, item in plan]
    assert kinds[:5] == [("cell", "setup"), ("cell", "added"), ("cell", "solution"), ("cell", "added"),
                         ("test", "test_scatter_sum")]
    assert plan[0][1].source == spec["setup"][0]
    assert [item for kind, item in plan if kind == "test"] == [gid for gid, *_ in spec["tests"]]


# -- slow: the whole pipeline, nbgrader against verification against the feedback page ----------------

DIFFERENT = "blanks-the-tests"  # a submission whose in-kernel score is not its verified score


def _blanking(assignment="01_aggregators"):
    """Zeros for every function, and an input transformer that blanks the test cells in the kernel."""
    nb = honest(assignment, "none")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            params, _ = _signature_call(cell.source, _grade_id(cell))
            cell.source = f"def {_grade_id(cell)}({params}):\n    return None\n"
    nb.cells[_at(nb.cells, "scatter_sum")].source += textwrap.dedent('''
        ip = get_ipython()
        ip.input_transformers_post.append(lambda lines: [] if "check" in "".join(lines) else lines)
        ''')
    return nb


def _build(root):
    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions", root / "solutions", ignore=shutil.ignore_patterns("README.md"))
    from course.instructor.autograde import autograde
    from course.instructor.export import export
    from course.instructor.feedback import feedback
    from course.instructor.release import release
    release(root, ASSIGNMENTS)
    for assignment in ASSIGNMENTS:
        for habit in HABITS:
            _write(honest(assignment, habit, BATCH_TIMEOUT), root / "submitted" / habit / assignment, assignment)
    _write(_blanking(), root / "submitted" / DIFFERENT / ASSIGNMENTS[0], ASSIGNMENTS[0])
    autograde(root, ASSIGNMENTS, workers=2, seed=DEFAULT_SEED, timeout=BATCH_TIMEOUT, progress=None)
    for assignment in ASSIGNMENTS:
        export(root, assignment)
        feedback(root, assignment)
    (root / "done").write_text("")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return shared_batch(tmp_path_factory, "fairness-batch", _build, done="done")


def _feedback_text(root, student, assignment):
    html = (root / "feedback" / student / assignment / _source(assignment).with_suffix(".html").name).read_text()
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.slow
@pytest.mark.parametrize("habit", HABITS)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_honest_habit_scores_the_same_verified_in_nbgrader_and_on_the_feedback_page(batch, assignment, habit):
    row = export_rows(batch, assignment)[habit]
    full = _full(assignment)
    assert row["status"] == "graded", row
    assert float(row["score"]) == float(row["nbgrader_score"]) == full, row
    assert (row["review"], row["review_reason"]) == ("", "")
    status = json.loads((batch / "autograded" / ".status" / assignment / f"{habit}.json").read_text())
    assert status["verified"]["scores"] == status["scores"]
    text = _feedback_text(batch, habit, assignment)
    assert f"Score that goes to your grade: {full:g} / {full:g}" in text, text[:600]


@pytest.mark.slow
def test_feedback_page_shows_the_exported_score_and_why_it_differs(batch):
    row = export_rows(batch, ASSIGNMENTS[0])[DIFFERENT]
    assert float(row["score"]) == 0 and float(row["nbgrader_score"]) > 0 and row["review"] == "yes"
    text = _feedback_text(batch, DIFFERENT, ASSIGNMENTS[0])
    assert "Score that goes to your grade: 0 / 10" in text, text[:800]
    assert f"this page shows {float(row['nbgrader_score']):g} / 10" in text
    assert "test_scatter_sum: 2 points in your notebook, 0 when checked again, because" in text


# -- visible tests catch the classic mistakes (they ran only in the hidden tests before) -------------

_FLOAT64_MEAN = '''def scatter_mean(messages, index, num_nodes):
    out = np.zeros((num_nodes,) + messages.shape[1:])
    np.add.at(out, index, messages)
    return out / np.maximum(np.bincount(index, minlength=num_nodes), 1)[:, None]'''
_FLOAT64_MAX = '''def scatter_max(messages, index, num_nodes):
    out = np.full((num_nodes,) + messages.shape[1:], -np.inf)
    np.maximum.at(out, index, messages)
    out[np.isinf(out)] = 0
    return out'''
_MUTATING_MAX = '''def scatter_max(messages, index, num_nodes):
    out = np.full((num_nodes,) + messages.shape[1:], -np.inf, dtype=messages.dtype)
    np.maximum.at(out, index, messages)
    out[np.bincount(index, minlength=num_nodes) == 0] = 0
    messages.fill(0)  # the input reused as scratch space: the caller's array is gone
    return out'''
_SELF_LOOP_TWICE = '''def gat_layer(x, edge_index, weight, att_src, att_dst, heads):
    n = x.shape[0]
    src = np.concatenate([edge_index[0], np.arange(n)])
    dst = np.concatenate([edge_index[1], np.arange(n)])
    f = att_src.shape[1]
    h = (x @ weight).reshape(n, heads, f)
    e = (h[src] * att_src).sum(axis=-1) + (h[dst] * att_dst).sum(axis=-1)
    alpha = edge_softmax(np.where(e > 0, e, 0.2 * e), dst, n)
    out = np.zeros((n, heads, f))
    np.add.at(out, dst, alpha[:, :, None] * h[src])
    return out.reshape(n, heads * f)'''
_SEPARATELY = '''def wl_distinguishes(edge_index1, num_nodes1, edge_index2, num_nodes2):
    first = wl_refine(np.zeros(num_nodes1, dtype=np.int64), edge_index1)
    second = wl_refine(np.zeros(num_nodes2, dtype=np.int64), edge_index2)
    return not np.array_equal(np.sort(first), np.sort(second))'''


@pytest.mark.parametrize("assignment,gid,wrong", [
    ("01_aggregators", "scatter_mean", _FLOAT64_MEAN),
    ("01_aggregators", "scatter_max", _FLOAT64_MAX),
    ("01_aggregators", "scatter_max", _MUTATING_MAX),
    ("03_attention", "gat_layer", _SELF_LOOP_TWICE),
    ("04_wl", "wl_distinguishes", _SEPARATELY),
], ids=["mean-float64", "max-float64", "max-mutates", "gat-self-loop-twice", "wl-refined-separately"])
def test_visible_tests_catch_the_classic_mistakes(assignment, gid, wrong):
    import contextlib
    import io

    nb = honest(assignment, "none")
    ns, failed = {"__name__": "__main__"}, {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        name = _grade_id(cell)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(wrong if name == gid else cell.source, ns)
        except AssertionError as err:
            failed[name] = str(err)
    assert list(failed) == [f"test_{gid}"], failed
    if wrong is _MUTATING_MAX:
        assert failed["test_scatter_max"] == "scatter_max changed its inputs"


# -- the mutant script (benchmarks/mutants.py): its engine, on one task ------------------------------


def test_mutant_engine_makes_plausible_mistakes_and_the_hidden_check_kills_them():
    import importlib.util

    spec = importlib.util.spec_from_file_location("mutants", ROOT / "benchmarks" / "mutants.py")
    mutants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutants)
    setup, solutions, _, tasks = mutants._cells("01_aggregators")
    found = {m.what: m for m in mutants.mutants("01.scatter_max", "scatter_max", solutions["scatter_max"])}
    wrong_start = next(w for w in found if w.startswith("`np.inf` -> `0.0` in `np.full("))  # max from 0
    assert any(w.startswith("deleted `out[empty] = 0`") for w in found)
    ns = {"__name__": "__main__"}
    for src in setup + [s if g != "scatter_max" else found[wrong_start].source for g, s in solutions.items()]:
        exec(src, ns)
    import signal
    old = signal.signal(signal.SIGALRM, mutants._alarm)
    try:
        assert mutants.killed_by_hidden("01.scatter_max", "scatter_max", ns, [DEFAULT_SEED])
        for src in solutions.values():  # the solution itself lives
            exec(src, ns)
        assert not mutants.killed_by_hidden("01.scatter_max", "scatter_max", ns, [DEFAULT_SEED])
    finally:
        signal.signal(signal.SIGALRM, old)
    assert all(key.split(":")[0] in tasks.values() or key[:2] != "01" for key in mutants.EQUIVALENT)


def test_plotting_in_an_added_cell_is_no_sign_of_tampering(tmp_path):
    """matplotlib tries to run `fc-list` for its font cache: refused, but a package did it, not the student."""
    def edit(cells):
        cells.insert(_at(cells, "scatter_sum"), nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\nimport networkx as nx\n\nfig, ax = plt.subplots()\n"
            "nx.draw(nx.path_graph(3), ax=ax)\nplt.show()\ndisplay(fig)"))
    out, _ = _verify_cells(tmp_path, edit, timeout=30)
    assert out["signs"] == [] and sum(out["scores"].values()) == _full("01_aggregators")
    assert all(c["failure"] == "" for c in out["cells"])


# -- one dtype rule in every assignment: float32 in, float32 out ---------------------------------------

def _keep_float_tasks():
    from course.checks import get, tasks
    return [task for task in tasks() if get(task).keep_float]


def _as_float64(value):
    """``value`` with every float32 array in it (nested in tuples and lists) cast to float64."""
    if isinstance(value, np.ndarray) and value.dtype == np.float32:
        return value.astype(np.float64)
    if isinstance(value, (tuple, list)):
        return type(value)(_as_float64(v) for v in value)
    return value


def test_the_float_rule_covers_a_task_of_every_assignment_that_takes_float_arrays():
    assert {task[:2] for task in _keep_float_tasks()} >= {"01", "02", "03", "05", "07", "08"}


@pytest.mark.parametrize("task", _keep_float_tasks())
def test_float32_inputs_want_float32_answers_in_every_assignment(task):
    from course.checks import evaluate, get
    assignment = next(a for a in ASSIGNMENTS if a.startswith(task[:2]))
    ns = {"__name__": "__main__"}
    nb = honest(assignment, "none")
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
            exec(cell.source, ns)
    right = ns[get(task).function]

    plain = set()                  # whether the answers are single arrays or tuples of them

    def float64(*args, **kwargs):  # the classic slip: np.zeros(...) without a dtype
        answer = right(*args, **kwargs)
        plain.add(isinstance(answer, np.ndarray))
        return _as_float64(answer)

    assert all(o.ok for o in evaluate(task, right, seed=DEFAULT_SEED, stop_at_first=False))
    failed = [o for o in evaluate(task, float64, seed=DEFAULT_SEED, stop_at_first=False) if not o.ok]
    assert failed and all("float32 inputs" in o.case.label for o in failed)
    if plain == {True}:
        assert failed[0].message == "expected dtype float32 (the dtype of the float inputs), got dtype float64"
    else:                          # the comparator of the compound answer names the element
        assert re.fullmatch(r"element \d+[^:]*: expected dtype float32 \(the dtype of the float inputs\), "
                            r"got dtype float64", failed[0].message)


def test_every_notebook_states_the_dtype_rule():
    for assignment in ASSIGNMENTS:
        intro = nbformat.read(str(next((ROOT / "exercises" / assignment).glob("*.ipynb"))), as_version=4).cells[0]
        assert "(float32 in, float32\nout), in every assignment" in intro.source
