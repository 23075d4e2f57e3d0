"""The learner's self-check, ``python -m course check NOTEBOOK.ipynb`` (:mod:`course.selfcheck`).

It runs the grader's hidden checks on a notebook, outside the kernel, with a fresh seed, and needs
neither a course directory nor nbgrader: an honest notebook passes (exit 0), a broken task is
named (exit 1), a blank notebook fails every task.
"""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import ASSIGNMENTS

from corpora.synthetic import answers
from course.selfcheck import notebook_checks
from course.verify.submission import notebook_spec

ROOT = Path(__file__).resolve().parent.parent

# nbgrader made unimportable: the self-check must not need it
NO_NBGRADER = ("import sys, runpy; sys.modules['nbgrader'] = None; sys.argv = ['course'] + sys.argv[1:]; "
               "runpy.run_module('course', run_name='__main__')")


def _released(assignment):
    path = next((ROOT / "exercises" / assignment).glob("*.ipynb"))
    return path.name, nbformat.read(str(path), as_version=4)


def _solved(assignment, broken=None):
    """The released notebook with the instructor's answers; the function ``broken`` returns its input."""
    name, nb = _released(assignment)
    sol = answers(ROOT, assignment)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in sol:
            cell.source = sol[gid]
            if gid == broken:  # a plausible slip: the right signature, a wrong answer
                cell.source += f"\n\n_right = {gid}\n\ndef {gid}(*args, **kwargs):\n    out = _right(*args, **kwargs)\n" \
                               "    return out * 2 if hasattr(out, 'shape') else out\n"
    return name, nb


def _check(tmp_path, name, nb, *extra):
    path = tmp_path / name
    nbformat.write(nb, str(path))
    proc = subprocess.run([sys.executable, "-c", NO_NBGRADER, "check", name, "--timeout", "20", *extra],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_self_check_rebuilds_the_instructors_hidden_tests(assignment):
    _, nb = _released(assignment)
    mine = notebook_checks(nb)
    instructor = notebook_spec(next((ROOT / "solutions" / assignment).glob("*.ipynb")))

    def plain(source):
        return [ln for ln in source.split("\n") if ln.strip() and "HIDDEN TESTS" not in ln]

    assert [(g, p) for g, p, _ in mine["tests"]] == [(g, p) for g, p, _ in instructor["tests"]]
    for (_, _, got), (_, _, want) in zip(mine["tests"], instructor["tests"]):
        assert plain(got) == plain(want)


def test_honest_notebook_passes_without_nbgrader_or_a_course_directory(tmp_path):
    code, out = _check(tmp_path, *_solved("03_attention"))
    assert code == 0, out
    assert re.search(r"seed (\d+); --seed \1 repeats this run", out), out
    assert out.count("PASS") == 4 and "FAIL" not in out and "8 / 8 points: every task passes." in out


def test_broken_task_is_named_with_the_feedback_message(tmp_path):
    code, out = _check(tmp_path, *_solved("01_aggregators", broken="smallest_id_neighbour"), "--seed", "7")
    assert code == 1, out
    failed = [ln.split()[1] for ln in out.splitlines() if ln.strip().startswith("FAIL")]
    assert failed == ["01.smallest_id_neighbour"], out
    assert "PASS  01.scatter_sum" in out and "9 / 10 points: some tasks fail" in out
    message = out.split("FAIL  01.smallest_id_neighbour")[1].splitlines()[1].strip()
    assert message.startswith("AssertionError") or message.startswith("CheckFailed"), message
    # a fresh seed each run, unless --seed is given
    _, again = _check(tmp_path, *_solved("01_aggregators", broken="smallest_id_neighbour"), "--seed", "7")
    assert again == out


def test_blank_notebook_fails_every_task(tmp_path):
    code, out = _check(tmp_path, *_released("04_wl"))
    assert code == 1
    assert out.count("FAIL") == 4 and "PASS" not in out and "0 / 10 points" in out
    assert "still the stub" in out


def test_self_check_refuses_what_is_not_an_exercise(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    code, out = _check(tmp_path, "mine.ipynb", nb)
    assert code == 2 and "no test cell of a course task" in out


# -- the student install: the wheel the practice page links -----------------------------------------


def _wheel_tools():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_wheel
    finally:
        sys.path.pop(0)
    return build_wheel


def test_student_wheel_has_its_own_name_both_packages_and_no_solutions(tmp_path):
    import zipfile

    tools = _wheel_tools()
    first, second = tools.build(tmp_path / "a"), tools.build(tmp_path / "b")
    assert first.name == tools.wheel_name() and first.name.startswith("message_passing_mplib-")
    assert first.read_bytes() == second.read_bytes()  # reproducible: both book builds link the same file
    with zipfile.ZipFile(first) as wheel:
        names = wheel.namelist()
        meta = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Name: message-passing-mplib" in meta
    assert {"Requires-Dist: nbformat", "Requires-Dist: ipython"} <= set(meta.splitlines())
    assert "mplib/__init__.py" in names and "course/selfcheck.py" in names and "course/checks/registry.py" in names
    # no notebook at all (no solution cell, no hidden test cell); the checks' references are in
    # course/checks, as the self-check needs them
    assert not [n for n in names if n.startswith(("solutions/", "exercises/", "tests/")) or n.endswith(".ipynb")]


def test_practice_page_and_every_notebook_say_how_to_install():
    name = _wheel_tools().wheel_name()
    page = (ROOT / "book" / "practice" / "index.md").read_text()
    assert f"<../../dist/{name}>" in page and "Do not `pip install mplib`" in page
    assert "python -m course check aggregators.ipynb" in page and "make student" in page
    for assignment in ASSIGNMENTS:
        path, nb = _released(assignment)
        intro = nb.cells[0].source
        assert f"python -m pip install {name}" in intro and "Do not `pip install mplib`" in intro
        assert f"python -m course check {path}" in intro
        assert "The grader runs all your cells in order" in intro and "`%timeit`" in intro
