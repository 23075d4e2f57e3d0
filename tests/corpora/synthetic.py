"""Synthetic submissions: the honest ones and a corpus of faulty ones, for tests and benchmarks.

A submission is built from the *released* notebook (what a student downloads)
by filling in solution cells and then applying a fault. :data:`CORPUS` lists
each faulty submission of assignment 01 with the score it deserves (or the
status ``failed``) and a phrase its note or reason must contain.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

import mplib

__all__ = ["Variant", "CORPUS", "answers", "submission", "write_submission"]

_SCATTER_MODULE = mplib.scatter.__module__  # the module defining mplib.scatter (the tripwire names it)
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def answers(root, assignment):
    """``{grade_id: source}`` of the solution cells of ``solutions/<assignment>``, markers removed."""
    out = {}
    for path in sorted((Path(root) / "solutions" / assignment).glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                lines = [ln for ln in cell.source.split("\n") if not _MARKER.match(ln)]
                out[_grade_id(cell)] = "\n".join(lines)
    return out


def _released(root, assignment):
    paths = sorted((Path(root) / "exercises" / assignment).glob("*.ipynb"))
    return [(p.name, nbformat.read(str(p), as_version=4)) for p in paths]


# -- faults of assignment 01 ----------------------------------------------------------------

HARDCODED_01 = {
    "scatter_sum": '''def scatter_sum(messages, index, num_nodes):
    out = np.array([[6.0, 8.0], [0.0, 0.0], [3.0, 4.0]])
    return out.astype(messages.dtype)''',
    "scatter_mean": '''def scatter_mean(messages, index, num_nodes):
    return np.array([[3.0, 4.0], [0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])''',
    "scatter_max": '''def scatter_max(messages, index, num_nodes):
    return np.array([[-1.0, 6.0], [0.0, 0.0], [-3.0, 4.0]])''',
    "aggregate_neighbours": '''def aggregate_neighbours(x, edge_index, reduce):
    return {"sum": np.array([[2.0], [5.0], [2.0], [0.0]]), "mean": np.array([[2.0], [2.5], [2.0], [0.0]]),
            "max": np.array([[2.0], [4.0], [2.0], [0.0]])}[reduce]''',
    "is_permutation_invariant": '''def is_permutation_invariant(aggregate, messages, index, num_nodes, seed, trials=10):
    return aggregate.__name__ == "scatter_sum"''',
    "relabel": '''def relabel(x, edge_index, perm):
    return np.array([[10.0], [20.0], [0.0]]), np.array([[2, 0], [0, 1]])''',
    "smallest_id_neighbour": '''def smallest_id_neighbour(x, edge_index):
    return np.array([[2.0], [4.0], [0.0], [0.0]])''',
}


def _replace(cells, grade_id, source):
    for cell in cells:
        if _grade_id(cell) == grade_id:
            cell.source = source
            return
    raise KeyError(grade_id)


def _append(cells, grade_id, text):
    for cell in cells:
        if _grade_id(cell) == grade_id:
            cell.source += "\n" + text
            return
    raise KeyError(grade_id)


def _f_hardcoded(nb, sol):
    for gid, src in HARDCODED_01.items():
        _replace(nb.cells, gid, src)


def _f_syntax(nb, sol):
    _replace(nb.cells, "scatter_mean", sol["scatter_mean"].replace("total = ", "total = = ", 1))


def _f_exception(nb, sol):
    _replace(nb.cells, "scatter_max", "def scatter_max(messages, index, num_nodes):\n"
                                      "    raise ValueError('not finished')")


def _f_partial(nb, sol):
    _replace(nb.cells, "scatter_max", '''def scatter_max(messages, index, num_nodes):
    out = np.full((num_nodes,) + messages.shape[1:], -np.inf)  # float64 even for float32 messages
    np.maximum.at(out, index, messages)
    out[np.isinf(out)] = 0
    return out''')


def _f_loop(nb, sol):
    _replace(nb.cells, "is_permutation_invariant", '''def is_permutation_invariant(aggregate, messages, index, num_nodes, seed, trials=10):
    while True:
        pass''')


def _f_edited(nb, sol):
    _replace(nb.cells, "relabel", "def relabel(x, edge_index, perm):\n    return x.copy(), edge_index.copy()")
    _replace(nb.cells, "test_relabel", 'print("relabel looks fine to me")')
    for cell in nb.cells:
        if _grade_id(cell) == "test_relabel":
            cell.metadata["nbgrader"]["points"] = 100  # and the points, while at it


def _f_deleted_solution(nb, sol):
    nb.cells = [c for c in nb.cells if _grade_id(c) not in ("relabel", "test_relabel")]


def _f_deleted(nb, sol):
    _replace(nb.cells, "smallest_id_neighbour",
             "def smallest_id_neighbour(x, edge_index):\n    return np.zeros_like(x)")
    nb.cells = [c for c in nb.cells if not (_grade_id(c) or "").startswith("test_") and _grade_id(c) != "setup"]


def _f_stripped(nb, sol):
    for cell in nb.cells:
        cell.metadata = {}


def _f_exit(nb, sol):
    _append(nb.cells, "relabel", "import os\nos._exit(1)")


def _f_output(nb, sol):
    _append(nb.cells, "scatter_sum", 'print("x" * 3_000_000)\nfor k in range(200_000):\n    print(k)')


def _f_delegating(nb, sol):
    _replace(nb.cells, "scatter_sum", "import mplib\n\ndef scatter_sum(messages, index, num_nodes):\n"
                                      "    return mplib.scatter(messages, index, num_nodes, reduce='sum')")
    _replace(nb.cells, "scatter_mean", f"from {_SCATTER_MODULE} import scatter as _reduce\n\n"
                                       "def scatter_mean(messages, index, num_nodes):\n"
                                       "    return _reduce(messages, index, num_nodes, 'mean')")


def _f_mutating(nb, sol):
    _replace(nb.cells, "scatter_max", '''def scatter_max(messages, index, num_nodes):
    order = np.argsort(index, kind="stable")
    messages[:] = messages[order]          # sorts the caller's arrays in place
    index[:] = index[order]
    out = np.full((num_nodes,) + messages.shape[1:], -np.inf, dtype=messages.dtype)
    np.maximum.at(out, index, messages)
    out[np.isinf(out)] = 0
    return out''')


@dataclass(frozen=True)
class Variant:
    """A synthetic submission: how to build it and what grading must say about it."""

    name: str
    fault: object  # callable(nb, solutions) or None; "corrupt" for a broken file
    score: float | None  # expected total, None when the status is not "graded"
    status: str
    phrase: str  # must appear in the reason (failed) or the notes (graded)


CORPUS = [
    Variant("solution", None, 10, "graded", ""),
    Variant("hardcoded", _f_hardcoded, 0, "graded", "hidden test of `scatter_sum` failed"),
    Variant("syntax-error", _f_syntax, 7, "graded", "SyntaxError"),
    Variant("exception", _f_exception, 7, "graded", "not finished"),
    Variant("partial", _f_partial, 7, "graded", "expected dtype float32, got float64"),  # aggregate_neighbours too: float32 in, float32 out
    Variant("infinite-loop", _f_loop, 9, "graded", "CellTimeoutError"),
    Variant("edited-tests", _f_edited, 9, "graded", "test cell 'test_relabel' was edited"),
    Variant("deleted-tests", _f_deleted, 9, "graded", "test cell 'test_scatter_sum' was deleted"),
    Variant("deleted-solution", _f_deleted_solution, 9, "graded", "solution cell 'relabel' was missing"),
    Variant("stripped-metadata", _f_stripped, 10, "graded", "had lost its nbgrader metadata"),
    Variant("kernel-exit", _f_exit, None, "failed", "kernel died"),
    Variant("huge-output", _f_output, 10, "graded", "truncated"),
    Variant("corrupt", "corrupt", None, "failed", "not a valid notebook"),
    Variant("delegating", _f_delegating, 5, "graded", f"called {_SCATTER_MODULE}.scatter"),
    Variant("mutating", _f_mutating, 7, "graded", "modified its input arrays"),
]


def submission(root, assignment, variant="solution"):
    """``[(filename, text)]`` of a synthetic submission of ``assignment``.

    ``variant`` is ``"release"`` (untouched), ``"solution"`` or a :data:`CORPUS`
    name (faults are defined for ``01_aggregators``).
    """
    sol = answers(root, assignment)
    fault = None if variant in ("release", "solution") else next(v for v in CORPUS if v.name == variant).fault
    files = []
    for name, nb in _released(root, assignment):
        if variant != "release":
            for cell in nb.cells:
                if _grade_id(cell) in sol and cell.metadata.get("nbgrader", {}).get("solution"):
                    cell.source = sol[_grade_id(cell)]
        if fault == "corrupt":
            files.append((name, nbformat.writes(nb)[: 5000]))
            continue
        if fault is not None:
            fault(nb, sol)
        files.append((name, nbformat.writes(nb)))
    return files


def write_submission(root, dest, assignment, variant):
    """Write a synthetic submission into the folder ``dest`` (created)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in submission(root, assignment, variant):
        (dest / name).write_text(text, encoding="utf-8")
    return dest


def expected_total(variant):
    return next(v for v in CORPUS if v.name == variant).score
