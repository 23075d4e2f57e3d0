"""The import graph of ``course`` and ``mplib`` has no cycle (DESIGN.md: data flows one way).

The graph is read from the source files with :mod:`ast`, every import statement of every module
(at the top or inside a function), so a new module or a new import is checked without a list
to keep up to date. An edge goes to the module an import names: ``from .registry import run``
is an edge to ``course.checks.registry``, ``from course.checks import run`` to the package
``course.checks``, ``from . import aggregators`` to ``course.checks.aggregators``.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("course", "mplib")


def module_files(packages=PACKAGES, root=ROOT):
    """``{module name: path}`` of every ``.py`` file of ``packages`` under ``root``."""
    out = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _resolve(module, is_package, node):
    """The absolute module an ``ImportFrom`` node names (relative imports resolved)."""
    if not node.level:
        return node.module
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(files):
    """``{module: set of modules of files it imports}`` from the source of ``files``."""
    graph = {}
    for module, path in files.items():
        edges = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, path.name == "__init__.py", node)
                names = [f"{target}.{alias.name}" if f"{target}.{alias.name}" in files else target
                         for alias in node.names]
            else:
                continue
            for name in names:
                while name and name not in files:  # `import a.b.c` of a plain module a.b: the edge is to a.b
                    name = name.rpartition(".")[0]
                if name and name != module:
                    edges.add(name)
        graph[module] = edges
    return graph


def find_cycle(graph):
    """One import cycle as a list ``[a, b, ..., a]``, or ``None`` when the graph has none."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_import_graph_of_course_and_mplib_has_no_cycle():
    graph = import_graph(module_files())
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_subpackages_of_course_depend_on_each_other_one_way():
    """Collapsed to its parts (checks, verify, instructor, the top-level modules), course has
    no cycle either: verification never reaches back into the instructor's steps."""
    def part(module):
        names = module.split(".")
        return ".".join(names[:2]) if names[0] == "course" else names[0]

    graph = {}
    for module, targets in import_graph(module_files()).items():
        graph.setdefault(part(module), set()).update(part(t) for t in targets if part(t) != part(module))
    cycle = find_cycle(graph)
    assert cycle is None, "cycle between parts: " + " -> ".join(cycle)
    assert "course.instructor" not in graph["course.verify"]


def test_import_graph_sees_the_edges_that_matter():
    graph = import_graph(module_files())
    # the layers of DESIGN.md: instructor -> verify -> checks -> mplib
    assert "course.verify.submission" in graph["course.instructor.autograde"]
    assert "course.checks" in graph["course.verify.submission"]
    assert "course.checks.registry" in graph["course.checks.aggregators"]
    assert "course.checks.aggregators" in graph["course.checks"]
    assert "mplib" in graph["course.checks.registry"]
    assert not any(m.startswith("course") for edges in (graph[k] for k in graph if k.startswith("mplib"))
                   for m in edges), "mplib must not import course"


def test_checks_registry_imports_no_task_module():
    graph = import_graph(module_files())
    assert {m for m in graph["course.checks.registry"] if m.startswith("course")} == set()


def test_find_cycle_reports_a_cycle_and_accepts_a_dag():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_import_graph_resolves_relative_and_package_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import sub\n")
    (pkg / "sub" / "__init__.py").write_text("from .leaf import f  # noqa\n")
    (pkg / "sub" / "leaf.py").write_text("import json\n\ndef f():\n    from .. import other\n")
    (pkg / "other.py").write_text("import pkg.sub.leaf\n")
    files = module_files(("pkg",), tmp_path)
    graph = import_graph(files)
    assert graph == {"pkg": {"pkg.sub"}, "pkg.sub": {"pkg.sub.leaf"}, "pkg.sub.leaf": {"pkg.other"},
                     "pkg.other": {"pkg.sub.leaf"}}
    assert find_cycle(graph) == ["pkg.sub.leaf", "pkg.other", "pkg.sub.leaf"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_is_in_the_graph(package):
    files = module_files((package,))
    assert files and all(path.suffix == ".py" for path in files.values())
    assert set(import_graph(files)) == set(files)
