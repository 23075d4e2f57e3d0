"""Mutation testing of the hidden checks: do plausible wrong implementations lose their points?

Usage: python benchmarks/mutants.py [--seeds 2025,1,2] [--survivors] [--visible] [01 03 ...]

For every graded task, the instructor's solution (``solutions/``) is mutated one
small change at a time, the way real mistakes look: swapped operands and
arguments, ``src`` for ``dst``, a wrong operator or comparison, off-by-one
constants, a wrong reduction (``sum``/``mean``/``max``/``min``), a wrong
initial value (``zeros``/``ones``, ``-inf``/``+inf``/0), a dropped or wrong
``axis``, a dropped ``.copy()``/``.astype``/keyword, a deleted statement, a
negated condition. Each mutant replaces the task's solution cell and is graded
by the task's hidden check (:func:`course.checks.evaluate`, what the grader
runs) under every seed given: it is *killed* when some case fails under every
seed (so a mutant that survives one grading seed counts as alive).

Some mutants are *equivalent*: they compute the same function (a ``.copy()`` of
an array that is new anyway, ``axis=-1`` for ``axis=1`` on 2-d arrays). They
cannot be killed and are excluded, each with its reason, in :data:`EQUIVALENT`.

Prints the kill rate per assignment (the target is 95 % in each) and, with
``--survivors``, every living mutant. ``--visible`` also reports how many
mutants the *visible* test cells catch. Exit status 1 if an assignment is
below the target.
"""

import argparse
import ast
import copy
import io
import re
import signal
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 0.95
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())
SECONDS = 3  # a mutant that runs longer is stopped: it would time out in the grader too
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")

# -- the mutation operators -----------------------------------------------------------------------

_BINOP_SWAPS = {ast.Add: [ast.Sub, ast.Mult], ast.Sub: [ast.Add], ast.Mult: [ast.Div, ast.Add],
                ast.Div: [ast.Mult, ast.FloorDiv], ast.FloorDiv: [ast.Div, ast.Mod], ast.Mod: [ast.FloorDiv],
                ast.Pow: [ast.Mult], ast.MatMult: [ast.Mult], ast.BitAnd: [ast.BitOr], ast.BitOr: [ast.BitAnd]}
_NONCOMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult)
_CMP_SWAPS = {ast.Lt: [ast.LtE, ast.Gt], ast.LtE: [ast.Lt], ast.Gt: [ast.GtE, ast.Lt], ast.GtE: [ast.Gt],
              ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.In: [ast.NotIn], ast.NotIn: [ast.In],
              ast.Is: [ast.IsNot], ast.IsNot: [ast.Is]}
# numpy names (attribute of np, method, or ufunc) a slip replaces by another
_NAME_SWAPS = {"sum": ["mean", "max"], "mean": ["sum", "max"], "max": ["min", "sum"], "min": ["max"],
               "amax": ["amin"], "amin": ["amax"], "maximum": ["minimum", "add"], "minimum": ["maximum", "add"],
               "add": ["maximum", "subtract"], "subtract": ["add"], "zeros": ["ones", "empty"],
               "zeros_like": ["ones_like"], "ones": ["zeros"], "ones_like": ["zeros_like"],
               "argmax": ["argmin"], "argmin": ["argmax"], "any": ["all"], "all": ["any"],
               "prod": ["sum"], "cumsum": ["cumprod"], "log": ["log1p"], "exp": ["expm1"],
               "sort": ["argsort"], "argsort": ["sort"], "unique": ["sort"], "full": ["full_like"],
               "allclose": ["array_equal"], "array_equal": ["allclose"], "isclose": ["equal"]}
_SYMMETRIC = {"maximum", "minimum", "add", "multiply", "array_equal", "allclose", "isclose", "equal",
              "not_equal", "logical_and", "logical_or", "max", "min"}  # swapping their two arguments changes nothing
_DROP_CALLS = {"copy", "astype", "sqrt", "abs", "sorted", "tuple", "float", "int", "ravel", "flatten", "T"}
_DROP_KEYWORDS = {"axis", "keepdims", "minlength", "dtype", "return_counts", "return_inverse", "copy", "out"}
_NAME_PAIRS = [("src", "dst"), ("row", "col"), ("u", "v"), ("i", "j"), ("edge_index1", "edge_index2"),
               ("num_nodes1", "num_nodes2"), ("x", "h"), ("a", "b")]


@dataclass
class Mutant:
    task: str
    function: str
    line: int
    what: str  # e.g. "`a - b` -> `b - a`"
    source: str  # the mutated cell

    @property
    def key(self):
        """Stable name (task and the change), as listed in :data:`EQUIVALENT`."""
        return f"{self.task}: {self.what}"


def _swapped_names():
    out = {}
    for a, b in _NAME_PAIRS:
        out[a], out[b] = b, a
    return out


def _alternatives(node, parent_field):
    """``[(description, new node or None to delete)]`` for one AST node."""
    alts = []
    unparse = ast.unparse
    if isinstance(node, ast.BinOp):
        for op in _BINOP_SWAPS.get(type(node.op), []):
            new = copy.deepcopy(node)
            new.op = op()
            alts.append(new)
        if isinstance(node.op, _NONCOMMUTATIVE):
            alts.append(ast.BinOp(left=copy.deepcopy(node.right), op=type(node.op)(), right=copy.deepcopy(node.left)))
    elif isinstance(node, ast.AugAssign):
        for op in _BINOP_SWAPS.get(type(node.op), []):
            new = copy.deepcopy(node)
            new.op = op()
            alts.append(new)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not, ast.Invert)):
        alts.append(copy.deepcopy(node.operand))
    elif isinstance(node, ast.Compare) and len(node.ops) == 1:
        for op in _CMP_SWAPS.get(type(node.ops[0]), []):
            new = copy.deepcopy(node)
            new.ops = [op()]
            alts.append(new)
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        alts.append(new)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and parent_field != "docstring":
        v = node.value
        cands = [v + 1, v - 1] if isinstance(v, int) else [v + 1.0, v * 2 if v else 1.0, 0.0 if v else 1.0]
        for c in dict.fromkeys(cands):
            if c != v:
                alts.append(ast.Constant(value=c))
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        alts.append(ast.Constant(value=not node.value))
    elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        if node.attr == "inf":
            alts.append(ast.Constant(value=0.0))
        if node.attr in _NAME_SWAPS:
            for name in _NAME_SWAPS[node.attr]:
                new = copy.deepcopy(node)
                new.attr = name
                alts.append(new)
        if node.attr == "T":
            alts.append(copy.deepcopy(node.value))
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        other = _swapped_names().get(node.id)
        if other:
            alts.append(ast.Name(id=other, ctx=ast.Load()))
    elif isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in _DROP_CALLS:
            if isinstance(func, ast.Attribute) and name in ("copy", "astype", "ravel", "flatten"):
                alts.append(copy.deepcopy(func.value))  # x.copy() -> x
            elif node.args and not isinstance(func, ast.Attribute) or name in ("sqrt", "abs") and node.args:
                alts.append(copy.deepcopy(node.args[0]))  # sorted(x) -> x, np.sqrt(x) -> x
        if name == "range" and len(node.args) == 1:
            for op in (ast.Sub, ast.Add):
                new = copy.deepcopy(node)
                new.args = [ast.BinOp(left=node.args[0], op=op(), right=ast.Constant(value=1))]
                alts.append(new)
        positional = [a for a in node.args if not isinstance(a, ast.Starred)]
        if len(positional) >= 2 and len(positional) == len(node.args) and name not in _SYMMETRIC:
            new = copy.deepcopy(node)
            new.args[0], new.args[1] = new.args[1], new.args[0]
            alts.append(new)
            if name == "where" and len(node.args) == 3:
                new = copy.deepcopy(node)
                new.args[1], new.args[2] = new.args[2], new.args[1]
                alts.append(new)
        for k, kw in enumerate(node.keywords):
            if kw.arg in _DROP_KEYWORDS:
                new = copy.deepcopy(node)
                del new.keywords[k]
                alts.append(new)
            if kw.arg == "axis" and isinstance(kw.value, (ast.Constant, ast.UnaryOp)):
                for axis in (0, 1, -1):
                    new = copy.deepcopy(node)
                    if ast.unparse(new.keywords[k].value) != str(axis):
                        new.keywords[k].value = ast.Constant(value=axis)
                        alts.append(new)
    elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        s = node.slice
        if (s.lower is None) != (s.upper is None) and s.step is None:  # a[:f] <-> a[f:]
            new = copy.deepcopy(node)
            new.slice = ast.Slice(lower=s.upper, upper=s.lower)
            alts.append(new)
    elif isinstance(node, (ast.If, ast.While, ast.IfExp)):
        new = copy.deepcopy(node)
        new.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
        alts.append(new)
    out = []
    for new in alts:
        text = unparse(new) if new is not None else ""
        if text != unparse(node):
            out.append((f"`{_one_line(unparse(node))}` -> `{_one_line(text)}`", new))
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr)) and parent_field == "body":
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):  # not the docstring
            out.append((f"deleted `{_one_line(unparse(node))}`", None))
    return out


def _one_line(text, limit=70):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Replace(ast.NodeTransformer):
    """Replace the ``target``-th node (in :func:`_nodes` order) by ``new`` (``None``: delete the statement)."""

    def __init__(self, target, new):
        self.target, self.new, self.count = target, new, -1

    def visit(self, node):
        self.count += 1
        if self.count == self.target:
            if self.new is None:
                return ast.Pass()
            return copy.deepcopy(self.new)
        return self.generic_visit(node)


def _nodes(tree):
    """Every node in the order :class:`_Replace` visits them, with the field it sits in and its parent."""
    out = []
    parents = {}

    def walk(node, field):
        out.append((node, field))
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                for k, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        f = "docstring" if (name == "body" and k == 0 and isinstance(node, ast.FunctionDef)
                                            and isinstance(item, ast.Expr)
                                            and isinstance(item.value, ast.Constant)) else name
                        parents[id(item)] = node
                        walk(item, f)
            elif isinstance(value, ast.AST):
                parents[id(value)] = node
                walk(value, name)
    walk(tree, "")
    return out, parents


def mutants(task, function, cell):
    """Every mutant of the solution ``cell`` (source, markers removed) inside its function bodies."""
    tree = ast.parse(cell)
    nodes, parents = _nodes(tree)
    inside = set()
    for node, _ in nodes:
        if isinstance(node, ast.FunctionDef):
            for sub in ast.walk(node):
                if sub is not node and sub not in node.args.defaults and not isinstance(sub, ast.arguments):
                    inside.add(id(sub))
            for sub in ast.walk(node.args):
                inside.discard(id(sub))
    found, seen = [], set()
    for k, (node, field) in enumerate(nodes):
        if id(node) not in inside:
            continue
        if field == "docstring" or isinstance(node, ast.Constant) and isinstance(node.value, str):
            continue
        context = node
        while isinstance(context, (ast.Constant, ast.Name, ast.Attribute, ast.UnaryOp, ast.Tuple, ast.keyword,
                                   ast.Starred)) and id(context) in parents:
            context = parents[id(context)]  # a lone `1` says nothing: name the expression it is in
        for what, new in _alternatives(node, field):
            if context is not node and new is not None:
                what += f" in `{_one_line(ast.unparse(context), 60)}`"
            mutated = _Replace(k, new).visit(copy.deepcopy(tree))
            ast.fix_missing_locations(mutated)
            try:
                source = ast.unparse(mutated)
                compile(source, "<mutant>", "exec")
            except (SyntaxError, ValueError):
                continue
            if source in seen:
                continue
            seen.add(source)
            found.append(Mutant(task, function, getattr(node, "lineno", 0), what, source))
    return found


# -- equivalent mutants: they compute the same function, so no test can kill them ------------------

EQUIVALENT = {
    '01.scatter_mean: `1` -> `2` in `(-1,) + (1,) * (messages.ndim - 1)`':
        'numpy takes any negative size in a reshape as the one to infer: -2 works as -1',
    '01.is_permutation_invariant: `range(trials)` -> `range(trials + 1)`':
        'one more random trial only finds sooner what the ground truth (hundreds of trials) finds anyway; no fair case tells them apart',
    '02.message_passing: `1` -> `2` in `(-1,) + (1,) * (out.ndim - 1)`':
        'numpy takes any negative size in a reshape as the one to infer: -2 works as -1',
    '02.gcn_normalized_adjacency: `a_hat.sum(axis=1)` -> `a_hat.sum(axis=-1)`':
        'axis -1 is axis 1 of these 2-d arrays',
    '02.is_permutation_equivariant: `range(trials)` -> `range(trials + 1)`':
        'one more random trial only finds sooner what the ground truth (hundreds of trials) finds anyway; no fair case tells them apart',
    '03.gat_scores: `e > 0` -> `e >= 0`':
        'LeakyReLU is 0 at 0 either way',
    '03.gat_layer: `e > 0` -> `e >= 0`':
        'LeakyReLU is 0 at 0 either way',
    '03.split_attention: `0` -> `-1` in `a.shape[0]`':
        '`a` is 1-d: its first axis is its last',
    '03.split_attention: `a[:f].reshape(1, f).copy()` -> `a[:f].reshape(1, f)`':
        "the same values; the result is a view of `a`, which no value check can see (nor the sandbox's plain arrays)",
    '03.split_attention: `a[f:].reshape(1, f).copy()` -> `a[f:].reshape(1, f)`':
        "the same values; the result is a view of `a`, which no value check can see (nor the sandbox's plain arrays)",
    '04.wl_round: `range(n)` -> `range(n + 1)`':
        'one extra, never used, empty list',
    '04.wl_round: `int(colors[u])` -> `colors[u]`':
        'np.int64 counts as an integer for the checks (and hashes and compares like int)',
    '04.wl_round: `int(colors[v])` -> `colors[v]`':
        'np.int64 counts as an integer for the checks (and hashes and compares like int)',
    '04.wl_round: `sorted(set(signatures))` -> `set(signatures)`':
        'colour names are arbitrary: the checks compare partitions, not names',
    '04.wl_round: `np.array([names[s] for s in signatures], dtype=np.int64)` -> `np.array([names[s] for s in signatures])`':
        "numpy's default integer is int64 here, the dtype the checks ask for",
    '04.wl_distinguishes: `np.concatenate([edge_index1, edge_index2 + num_nodes1], axis=1)` -> `np.concatenate([edge_index1, edge_index2 + num_nodes1], axis=-1)`':
        'axis -1 is axis 1 of these 2-d arrays',
    '04.wl_distinguishes: `edge_index2 + num_nodes1` -> `edge_index2 - num_nodes1`':
        "negative node ids wrap around to the same nodes when the sizes are equal; graphs of different sizes are told apart by the histograms' lengths either way",
    '04.wl_distinguishes: `np.zeros(num_nodes1 + num_nodes2, dtype=np.int64)` -> `np.zeros(num_nodes1 + num_nodes2)`':
        'float colours name the same classes (wl_round turns them into ints)',
    '04.wl_distinguishes: `np.zeros` -> `np.ones` in `np.zeros(num_nodes1 + num_nodes2, dtype=np.int64)`':
        'every node starts with the same colour either way',
    '05.dirichlet_energy: `x[dst] - x[src]` -> `x[src] - x[dst]`':
        'the difference is squared',
    '05.dirichlet_energy: `float(0.5 * np.sum(diff * diff))` -> `0.5 * np.sum(diff * diff)`':
        'np.float64 is a float (a subclass), which the checks accept',
    '05.energy_under_averaging: `1` -> `2` in `(-1,) + (1,) * (x.ndim - 1)`':
        'numpy takes any negative size in a reshape as the one to infer: -2 works as -1',
    '05.mix_with_neighbours: `1` -> `2` in `(-1,) + (1,) * (x.ndim - 1)`':
        'numpy takes any negative size in a reshape as the one to infer: -2 works as -1',
    '05.effective_resistance: `np.add` -> `np.maximum` in `np.add.at(a, (dst[keep], src[keep]), 1.0)`':
        'inputs are simple graphs (mplib refuses parallel edges): every entry is added once',
    '05.effective_resistance: `a.sum(axis=1)` -> `a.sum(axis=0)`':
        'the adjacency of an undirected graph is symmetric',
    '05.effective_resistance: `a.sum(axis=1)` -> `a.sum(axis=-1)`':
        'axis -1 is axis 1 of these 2-d arrays',
    '05.effective_resistance: deleted `np.fill_diagonal(r, 0.0)`':
        "the diagonal is 0 already, up to round-off far below the checks' tolerance",
    '05.effective_resistance: `False` -> `True` in `connected_components(csr_matrix(a), directed=False)`':
        'strong components of a symmetric adjacency are its components',
    '05.bottleneck_edge: `src < dst` -> `src <= dst`':
        'a self-loop has resistance 0 and never beats a real edge, whose resistance is positive',
    '05.bottleneck_edge: `int(np.argmax(r[src, dst]))` -> `np.argmax(r[src, dst])`':
        'np.int64 counts as an integer for the checks (and hashes and compares like int)',
    '05.bottleneck_edge: `int(src[k])` -> `src[k]`':
        'np.int64 counts as an integer for the checks (and hashes and compares like int)',
    '05.bottleneck_edge: `int(dst[k])` -> `dst[k]`':
        'np.int64 counts as an integer for the checks (and hashes and compares like int)',
    '05.edge_homophily: `src` -> `dst` in `src.size == 0`':
        '`src` and `dst` have the same size',
    '05.edge_homophily: `0` -> `-1` in `src.size == 0`':
        'the mean over no edges is NaN as well (numpy warns), the answer for a graph without edges',
    '05.edge_homophily: `float(np.mean(y[src] == y[dst]))` -> `np.mean(y[src] == y[dst])`':
        'np.float64 is a float (a subclass), which the checks accept',
    '05.node_homophily: `src` -> `dst` in `src.size == 0`':
        '`src` and `dst` have the same size',
    '05.node_homophily: `0` -> `-1` in `src.size == 0`':
        'the mean over no nodes is NaN as well (numpy warns), the answer for a graph without edges',
    '05.node_homophily: `(y[src] == y[dst]).astype(float)` -> `y[src] == y[dst]`':
        'np.bincount turns boolean weights into floats itself',
    '05.node_homophily: `float(np.mean(same[has] / degree[has]))` -> `np.mean(same[has] / degree[has])`':
        'np.float64 is a float (a subclass), which the checks accept',
    '06.shortest_path_edges: `range(num_nodes)` -> `range(num_nodes + 1)`':
        'one extra, never used, empty list',
    '06.shortest_path_edges: `0` -> `1` in `{start: 0}`':
        'the start itself is left out of the output',
    '06.shortest_path_edges: `0` -> `-1` in `{start: 0}`':
        'the start itself is left out of the output',
    '06.shortest_path_edges: `1` -> `2` in `np.array(triples, dtype=np.int64).reshape(-1, 3)`':
        'numpy takes any negative size in a reshape as the one to infer: -2 works as -1',
    '06.shortest_path_edges: `table[:, :2].T.copy()` -> `table[:, :2].T`':
        'a view of a table the function made itself: the same values, nothing shared with the inputs',
    '06.shortest_path_edges: `table[:, 2].copy()` -> `table[:, 2]`':
        'a view of a table the function made itself: the same values, nothing shared with the inputs',
    '06.spd_wl_colors: `np.zeros(num_nodes, dtype=np.int64)` -> `np.zeros(num_nodes)`':
        'float colours name the same classes (they are turned into ints)',
    '06.spd_wl_colors: `np.zeros` -> `np.ones` in `np.zeros(num_nodes, dtype=np.int64)`':
        'every node starts with the same colour either way',
    '06.spd_wl_colors: `range(num_nodes)` -> `range(num_nodes + 1)`':
        'one extra, never used, empty list',
    '06.spd_wl_colors: `int(colors[u])` -> `colors[u]`':
        'np.int64 counts as an integer for the checks (and hashes and compares like int)',
    '06.spd_wl_colors: `int(colors[v])` -> `colors[v]`':
        'np.int64 counts as an integer for the checks (and hashes and compares like int)',
    '06.spd_wl_colors: `sorted(set(signatures))` -> `set(signatures)`':
        'colour names are arbitrary: the checks compare partitions, not names',
    '06.spd_wl_colors: `np.array([names[s] for s in signatures], dtype=np.int64)` -> `np.array([names[s] for s in signatures])`':
        "numpy's default integer is int64 here, the dtype the checks ask for",
    '06.spd_wl_distinguishes: `np.concatenate([edge_index1, edge_index2 + num_nodes1], axis=1)` -> `np.concatenate([edge_index1, edge_index2 + num_nodes1], axis=-1)`':
        'axis -1 is axis 1 of these 2-d arrays',
    '07.gcn_backward: `a_tilde.sum(axis=1)` -> `a_tilde.sum(axis=-1)`':
        'axis -1 is axis 1 of this 2-d array',
    '07.softmax_cross_entropy: `z.max(axis=1, keepdims=True)` -> `z.max(axis=-1, keepdims=True)`':
        'axis -1 is axis 1 of these 2-d logits',
    '07.softmax_cross_entropy: `np.exp(shifted).sum(axis=1, keepdims=True)` -> `np.exp(shifted).sum(axis=-1, keepdims=True)`':
        'axis -1 is axis 1 of these 2-d logits',
    '08.marked_colours: `np.tile(edge_index, n) + offsets` -> `np.tile(edge_index, n) - offsets`':
        'negative node ids wrap around to whole blocks: the copies land in other blocks, but every block still holds exactly one copy of the graph',
    '08.marked_colours: `np.eye(n, dtype=np.int64)` -> `np.eye(n)`':
        'float marks name the same two colours (refine turns them into ints)',
    '08.marked_colours: `1` -> `2` in `np.eye(n, dtype=np.int64).reshape(-1)`':
        'numpy takes any negative size in a reshape as the one to infer: -2 works as -1',
    '08.marked_wl_distinguishes: `np.concatenate([edge_index1, edge_index2 + n1], axis=1)` -> `np.concatenate([edge_index1, edge_index2 + n1], axis=-1)`':
        'axis -1 is axis 1 of these 2-d arrays',
    '08.marked_wl_distinguishes: `edge_index2 + n1` -> `edge_index2 - n1`':
        "with equal sizes the negative ids wrap around to the second graph's slot of the neighbouring copy, which holds the same unmarked graph; graphs of different sizes have different numbers of copies either way",
    '08.count_triangles: `(a @ a * a).sum(axis=1)` -> `(a @ a * a).sum(axis=0)`':
        'A^2 * A is symmetric for the symmetric A built here',
    '08.count_triangles: `(a @ a * a).sum(axis=1)` -> `(a @ a * a).sum(axis=-1)`':
        'axis -1 is axis 1 of these 2-d arrays',
    '08.rewire_step: deleted `np.fill_diagonal(a, 0.0)`':
        'a diagonal entry of A adds to D_ii what it takes from L_ii = D_ii - A_ii: the Laplacian is the same, and the diagonal is never a candidate',
    '08.rewire_step: `0.0` -> `1.0` in `np.fill_diagonal(a, 0.0)`':
        'a diagonal entry of A adds to D_ii what it takes from L_ii = D_ii - A_ii: the Laplacian is the same, and the diagonal is never a candidate',
    '08.rewire_step: `False` -> `True` in `connected_components(csr_matrix(a), directed=False)`':
        'strong components of a symmetric adjacency are its components',
    '08.rewire_step: `a.sum(axis=1)` -> `a.sum(axis=0)`':
        'the adjacency built here is symmetric',
    '08.rewire_step: `a.sum(axis=1)` -> `a.sum(axis=-1)`':
        'axis -1 is axis 1 of these 2-d arrays',
    '08.rewire_step: `drop >= best - 1e-09` -> `drop > best - 1e-09`':
        'the best drop itself is always within the tolerance; only a drop exactly 1e-9 below it would differ',
    '08.rewire_step: `1e-09` -> `2e-09` in `best - 1e-09`':
        'the cases keep every drop either within round-off of the best (a true tie) or more than 1e-6 below it, so any tolerance in between is the same rule',
    '08.rewire_step: `int(u)` -> `u`':
        'np.int64 counts as an integer for the checks (and hashes and compares like int)',
    '08.rewire_step: `int(v)` -> `v`':
        'np.int64 counts as an integer for the checks (and hashes and compares like int)',
}

# -- grading one mutant -----------------------------------------------------------------------------


class _Stop(Exception):
    pass


def _alarm(signum, frame):
    raise _Stop(f"ran past {SECONDS} s")


def _cells(assignment):
    """``(setup sources, {grade_id: solution source}, {grade_id: visible test source}, task of each cell)``."""
    from course.checks import tasks
    path = next((ROOT / "solutions" / assignment).glob("*.ipynb"))
    nb = nbformat.read(str(path), as_version=4)
    setup, solutions, visible = [], {}, {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            solutions[meta["grade_id"]] = "\n".join(ln for ln in cell.source.split("\n") if not _MARKER.match(ln))
        elif meta.get("grade"):
            lines, hidden = [], False
            for line in cell.source.split("\n"):
                hidden = hidden or "BEGIN HIDDEN TESTS" in line
                if not hidden:
                    lines.append(line)
                hidden = hidden and "END HIDDEN TESTS" not in line
            visible[meta["grade_id"]] = "\n".join(lines)
        elif meta.get("locked"):
            setup.append(cell.source)
    prefix = assignment[:2] + "."
    by_function = {t.split(".", 1)[1]: t for t in tasks(prefix)}
    return setup, solutions, visible, by_function


def killed_by_hidden(task, function, ns, seeds):
    """True if the hidden check of ``task`` fails the function ``ns[function]`` under every seed."""
    from course.checks import evaluate
    fn = ns.get(function)
    if fn is None:
        return True
    for seed in seeds:
        signal.alarm(SECONDS)
        try:
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                outcomes = evaluate(task, fn, seed=seed)
            alive = all(o.ok for o in outcomes)
        except _Stop:
            alive = False
        except Exception:  # the check itself raised on this mutant's answer: a failed test cell
            alive = False
        finally:
            signal.alarm(0)
        if alive:
            return False
    return True


def killed_by_visible(source, ns):
    """True if the visible test cell ``source`` fails with the mutant in ``ns``."""
    signal.alarm(SECONDS)
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            exec(compile(source, "<visible>", "exec"), dict(ns))
        return False
    except _Stop:
        return True
    except Exception:
        return True
    finally:
        signal.alarm(0)


def run_assignment(assignment, seeds, visible=False):
    """``{"total", "equivalent", "killed", "visible", "survivors": [Mutant]}`` of one assignment."""
    setup, solutions, tests, by_function = _cells(assignment)
    result = {"total": 0, "equivalent": 0, "killed": 0, "visible": 0, "survivors": [], "stale": []}
    keys = set()
    for gid, cell in solutions.items():
        task = by_function.get(gid)
        if task is None:
            continue
        for m in mutants(task, gid, cell):
            keys.add(m.key)
            result["total"] += 1
            if m.key in EQUIVALENT:
                result["equivalent"] += 1
                continue
            ns = {"__name__": "__main__"}
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                try:
                    for src in setup:
                        exec(compile(src, "<setup>", "exec"), ns)
                    for other, src in solutions.items():
                        exec(compile(m.source if other == gid else src, f"<{other}>", "exec"), ns)
                except Exception:  # the mutant does not even define its function: killed by any test
                    pass
            dead = killed_by_hidden(task, gid, ns, seeds)
            result["killed"] += dead
            if not dead:
                result["survivors"].append(m)
            if visible and f"test_{gid}" in tests:
                result["visible"] += killed_by_visible(tests[f"test_{gid}"], ns)
    result["stale"] = [k for k in EQUIVALENT if k.startswith(assignment[:2] + ".") and k not in keys]
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignments", nargs="*", help="assignment numbers or names (default: all)")
    parser.add_argument("--seeds", default="2025,1,2", help="grading seeds; killed = killed under every one")
    parser.add_argument("--survivors", action="store_true", help="list every living mutant")
    parser.add_argument("--visible", action="store_true", help="also count mutants the visible tests catch")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    chosen = [a for a in ASSIGNMENTS if not args.assignments or any(a.startswith(s) for s in args.assignments)]
    signal.signal(signal.SIGALRM, _alarm)
    np.seterr(all="ignore")
    rows, failed = [], False
    for assignment in chosen:
        start = time.perf_counter()
        r = run_assignment(assignment, seeds, args.visible)
        graded = r["total"] - r["equivalent"]
        rate = r["killed"] / graded if graded else 1.0
        failed |= rate < TARGET
        rows.append((assignment, r, rate, time.perf_counter() - start))
        if args.survivors:
            for m in r["survivors"]:
                print(f"  alive  {m.key}   (line {m.line})")
        for key in r["stale"]:
            print(f"  note   EQUIVALENT lists a mutant that no longer exists: {key}")
    print(f"\nmutants of the solutions killed by the hidden checks (seeds {args.seeds}; killed = under every seed)")
    head = f"{'assignment':<20} {'mutants':>7} {'equiv.':>6} {'killed':>6} {'kill rate':>9}"
    head += f" {'visible':>8}" if args.visible else ""
    print(head + f" {'target':>7}  {'seconds':>7}")
    for assignment, r, rate, seconds in rows:
        line = f"{assignment:<20} {r['total']:>7} {r['equivalent']:>6} {r['killed']:>6} {rate:>8.1%}"
        if args.visible:
            graded = r["total"] - r["equivalent"]
            line += f" {r['visible'] / max(graded, 1):>7.1%}"
        print(line + f" {TARGET:>6.0%}{' ' if rate >= TARGET else '!'} {seconds:>7.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
