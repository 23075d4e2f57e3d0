"""House rules that every page of the book keeps (STYLE.md, "The book").

- numbers in the prose are glued from code, and the ``glue(...)`` plumbing sits in
  cells the reader does not see (tag ``remove-cell``);
- code lines fit in 88 columns, so no code box scrolls sideways;
- every page is a MyST notebook listed in ``_toc.yml``, and every page in ``book/`` is listed.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def toc_pages():
    """Every file named in _toc.yml, as a path to its .md source."""
    names = re.findall(r"(?:root|file):\s*(\S+)", (ROOT / "_toc.yml").read_text())
    return [ROOT / f"{name}.md" for name in names]


def code_cells(text):
    """(metadata lines, source lines) of every code cell of a MyST page."""
    cells = []
    for block in text.split("```{code-cell} ipython3")[1:]:
        lines = block.split("\n```", 1)[0].splitlines()[1:]
        meta = [line for line in lines if line.startswith(":")]
        cells.append((meta, lines[len(meta):]))
    return cells


PAGES = toc_pages()


def test_toc_lists_every_page_of_the_book():
    on_disk = {p for p in (ROOT / "book").rglob("*.md")}
    assert set(PAGES) == on_disk, f"not in _toc.yml: {sorted(on_disk - set(PAGES))}; missing: {sorted(set(PAGES) - on_disk)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT / "book")))
def test_glue_calls_sit_in_removed_cells(page):
    for meta, source in code_cells(page.read_text()):
        if any(re.match(r"\s*glue\(", line) for line in source):
            assert any("remove-cell" in line for line in meta), f"visible glue plumbing: {source[:3]}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT / "book")))
def test_code_lines_fit_in_88_columns(page):
    for _, source in code_cells(page.read_text()):
        too_long = [line for line in source if len(line) > 88]
        assert not too_long, too_long


@pytest.mark.parametrize("page", [p for p in PAGES if "code-cell" in p.read_text()],
                         ids=lambda p: str(p.relative_to(ROOT / "book")))
def test_executed_pages_are_myst_notebooks(page):
    head = page.read_text().split("---", 2)[1]
    assert "format_name: myst" in head and "kernelspec" in head


def string_constants(path):
    import ast

    return {node.value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


@pytest.mark.needs_book
def test_every_glued_value_is_read_by_a_book_test():
    """Every number a page glues is asserted by a test, which names it literally.

    The tests read the values with ``book_values.page_values(page)[name]``; a name that no
    ``tests/test_book_*.py`` spells out is a number the prose states that nothing checks.
    """
    from book_values import page_values

    named = set().union(*(string_constants(p) for p in (ROOT / "tests").glob("test_book_*.py")))
    unread = {}
    for page in PAGES:
        if "glue(" in page.read_text():
            stem = str(page.relative_to(ROOT / "book").with_suffix(""))
            missing = sorted(set(page_values(stem)) - named)
            if missing:
                unread[stem] = missing
    assert not unread, f"glued values no test reads: {unread}"
