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


@pytest.mark.needs_book
def test_no_page_writes_to_stderr():
    """A warning printed by a page is noise for the reader, and its kernel's temporary path
    makes two clean builds differ: every executed page has no stderr output."""
    import json

    from book_values import build_dir

    executed = build_dir() / "jupyter_execute" / "book"
    pages = sorted(executed.rglob("*.ipynb"))
    assert pages, f"no executed pages under {executed}: run `make book`"
    noisy = {}
    for path in pages:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            for out in cell.get("outputs", []):
                if out.get("name") == "stderr":
                    text = "".join(out["text"]).strip().splitlines()
                    noisy[str(path.relative_to(executed))] = text[0] if text else ""
    assert not noisy, f"pages that print to stderr: {noisy}"


# -- the loader the book tests share (tests/book_values.py) -----------------------------------


def test_page_values_without_a_build_says_to_run_make_book(tmp_path, monkeypatch):
    import book_values

    monkeypatch.setenv("BOOK_BUILD", str(tmp_path))
    book_values.page_values.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="run `make book` first"):
            book_values.page_values("principles/02_local_talk")
        with pytest.raises(FileNotFoundError, match="not a page of the book"):
            book_values.page_values("principles/no_such_page")
    finally:
        book_values.page_values.cache_clear()


def test_page_values_reads_glued_literals_and_numpy_reprs(tmp_path, monkeypatch):
    import json

    import book_values

    store = tmp_path / "jupyter_execute" / "book" / "intro.glue.json"
    store.parent.mkdir(parents=True)
    texts = {"n": "34", "x": "np.float64(0.25)", "a": "array([1., 2.])", "d": "{'edges': [(0, 1)]}",
             "s": "'yes'"}
    store.write_text(json.dumps({k: {"data": {"text/plain": t}} for k, t in texts.items()}))
    monkeypatch.setenv("BOOK_BUILD", str(tmp_path))
    book_values.page_values.cache_clear()
    try:
        v = book_values.page_values("intro")
        assert v["n"] == 34 and v["x"] == 0.25 and v["s"] == "yes" and v["d"] == {"edges": [(0, 1)]}
        assert v["a"].tolist() == [1.0, 2.0]
        with pytest.raises(KeyError, match="glues no value named 'missing'"):
            v["missing"]
        with pytest.raises(ValueError, match="glue `array.tolist\\(\\)`"):
            book_values.parse_value("array([0., 0., ..., 0.])")
    finally:
        book_values.page_values.cache_clear()
