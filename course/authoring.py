"""Build nbgrader source notebooks from Python: cells with the course's conventions.

The notebooks in ``solutions/`` are the source of truth (edit them in Jupyter
or rebuild them with these helpers); see ``solutions/README.md``. Every helper
gives the cell a stable ``id`` so that regenerating a notebook is byte-identical.

>>> nb = notebook([markdown("intro", "# Title"),
...                solution("double", "def double(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION"),
...                tests("test_double", 1, "01.double", "double", "assert double(2) == 4")])
>>> [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
[None, 'double', 'test_double']
"""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

__all__ = ["SETUP", "notebook", "markdown", "code", "setup", "solution", "tests", "hidden_block", "write"]

# The read-only setup cell of every notebook: numpy and the visible-test helper `check`.
SETUP = r'''
import numpy as np

np.set_printoptions(precision=4, suppress=True)


def check(call, got, expected, **inputs):
    """Visible test: print what went in, what was expected and what came back; fail if they differ."""
    print(call)
    for name, value in inputs.items():
        print(f"  {name} = " + repr(value).replace("\n", "\n    "))
    print("  expected: " + repr(expected).replace("\n", "\n            "))
    print("  got:      " + repr(got).replace("\n", "\n            "))
    problem = _difference(got, expected)
    if problem:
        raise AssertionError(f"{call}: {problem}")
    print("  OK\n")


def _difference(got, expected):
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} values, got {type(got).__name__}"
        for k, (g, e) in enumerate(zip(got, expected)):
            problem = _difference(g, e)
            if problem:
                return f"element {k}: {problem}"
        return None
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return f"expected True or False, got {type(got).__name__}"
        return None if bool(got) == bool(expected) else f"expected {expected}, got {got}"
    if not isinstance(got, np.ndarray):
        return f"expected a numpy array, got {type(got).__name__}"
    if got.shape != expected.shape:
        return f"expected shape {expected.shape}, got {got.shape}"
    if got.dtype != expected.dtype:
        return f"expected dtype {expected.dtype}, got {got.dtype}"
    if not np.allclose(got, expected, atol=1e-6):
        return "wrong values"
    return None
'''


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    out = {"nbgrader": meta}
    if locked:
        out.update({"deletable": False, "editable": False})
    return out


def markdown(cell_id, text):
    """A plain markdown cell (statement, explanation); not an nbgrader cell."""
    return new_markdown_cell(text.strip("\n"), id=cell_id)


def code(cell_id, source):
    """A plain code cell (a demo); not graded, the student may edit it."""
    return new_code_cell(source.strip("\n"), id=cell_id)


def setup(cell_id, source):
    """A read-only code cell (imports, the visible-test helper): restored if edited or deleted."""
    return new_code_cell(source.strip("\n"), id=cell_id, metadata=_meta(cell_id, locked=True))


def solution(grade_id, source):
    """The cell the student edits: ``### BEGIN SOLUTION`` / ``### END SOLUTION`` mark the answer."""
    if "### BEGIN SOLUTION" not in source or "### END SOLUTION" not in source:
        raise ValueError(f"solution cell {grade_id!r} has no ### BEGIN/END SOLUTION region")
    return new_code_cell(source.strip("\n"), id=grade_id, metadata=_meta(grade_id, solution=True))


def hidden_block(task, function):
    """The hidden part of a test cell: one call into :mod:`course.checks`."""
    return ("### BEGIN HIDDEN TESTS\n"
            "from course.checks import run\n"
            f"run({task!r}, {function})\n"
            "### END HIDDEN TESTS")


def tests(grade_id, points, task, function, visible):
    """A locked, graded test cell: the visible tests, then the hidden block for ``task``."""
    source = visible.strip("\n") + "\n\n" + hidden_block(task, function)
    return new_code_cell(source, id=grade_id, metadata=_meta(grade_id, grade=True, locked=True, points=points))


def notebook(cells):
    """A Python 3 notebook (nbformat 4.5) holding ``cells``."""
    nb = new_notebook(cells=list(cells))
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return nb


def write(nb, path):
    """Validate and write ``nb`` (deterministic JSON)."""
    nbformat.validate(nb)
    with open(path, "w", encoding="utf-8") as fh:
        nbformat.write(nb, fh)
