"""The website as readers meet it: every page of the book in headless Chromium (issue 5).

``make test`` builds the book from clean into ``_build/html`` first; these tests serve it on
127.0.0.1 and, for every page ``_toc.yml`` lists, check what :func:`site_check.check_page` checks
(HTTP 200, no console or page errors, every formula rendered, every image loaded, every internal
link resolving, no request leaving the site, nothing under ``solutions/``). A screenshot of each page
lands in ``_build/screenshots/``; with ``SITE_DARK_SCREENSHOTS=1`` (``make screenshots``) one in the
theme's dark mode too, to check that figures read well there.

The second half builds a tiny book of deliberately broken pages (``tests/site_fixtures/``) and
shows that the same checker reports each kind of breakage, and stays quiet on a good page.

Run alone: ``.venv/bin/python -m pytest tests/test_site.py -q`` (after ``make book``).
"""

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import site_check
from site_check import SITE, browser, site  # noqa: F401  (pytest fixtures)

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "_build" / "screenshots"
FIXTURES = Path(__file__).resolve().parent / "site_fixtures"
PAGES = site_check.toc_pages(ROOT)
SEARCH_WORD = "attention"
# Pages Sphinx writes besides the ones in _toc.yml (index.html redirects to the root page).
SPHINX_PAGES = {"index.html", "genindex.html", "search.html", "py-modindex.html"}
NOT_PAGES = ("_static/", "_sources/", "_downloads/", "_images/", "mathjax/", "reports/")
DARK = os.environ.get("SITE_DARK_SCREENSHOTS", "") not in ("", "0")


@pytest.fixture(scope="module")
def context(browser):
    context = site_check.new_context(browser)
    yield context
    context.close()


# ------------------------------------------------------------------------------------------------
# The real book


@pytest.mark.needs_book
@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_site_page_reads_cleanly(page, site, context):
    problems = site_check.check_page(context, site, SITE, page, screenshot_dir=SCREENSHOTS, dark=DARK)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.needs_book
@pytest.mark.slow
def test_site_search_finds_attention(site, context):
    hits = site_check.search_hits(context, site, SEARCH_WORD)
    assert hits, f"the site's search finds no page with {SEARCH_WORD!r}"
    for hit in hits:
        assert (SITE / hit).is_file(), f"search result links to a missing page: {hit}"


@pytest.mark.needs_book
def test_site_has_no_solutions():
    leaks = site_check.find_leaks(SITE)
    assert not leaks, "solutions reachable from the website:\n" + "\n".join(f"{p}: {why}" for p, why in leaks)


@pytest.mark.needs_book
def test_site_offers_every_released_notebook():
    """Each released notebook (exercises/) is downloadable from the site, byte for byte."""
    released = sorted((ROOT / "exercises").rglob("*.ipynb"))
    released = [p for p in released if ".ipynb_checkpoints" not in p.parts]
    downloads = sorted((SITE / "_downloads").rglob("*.ipynb")) if (SITE / "_downloads").is_dir() else []
    missing = [
        str(nb.relative_to(ROOT))
        for nb in released
        if not any(d.name == nb.name and filecmp.cmp(d, nb, shallow=False) for d in downloads)
    ]
    assert not missing, "released notebooks no page offers for download (use {download}`...`): " + ", ".join(missing)


@pytest.mark.needs_book
def test_site_has_no_stale_pages():
    """Every HTML page in the build belongs to _toc.yml (a page dropped from the book must disappear)."""
    built = {
        p.relative_to(SITE).as_posix()
        for p in SITE.rglob("*.html")
        if not p.relative_to(SITE).as_posix().startswith(NOT_PAGES)
    }
    stale = sorted(built - set(PAGES) - SPHINX_PAGES)
    assert not stale, f"pages not in _toc.yml (stale build? run `make book-clean`): {stale}"
    missing = sorted(set(PAGES) - built)
    assert not missing, f"pages in _toc.yml that were not built: {missing}"


# ------------------------------------------------------------------------------------------------
# The checker itself, on deliberately broken pages

# What the checker must report for each fixture page: exactly these kinds of problem.
EXPECTED = {
    "good.html": set(),
    "bad_math.html": {"math"},
    "tex_error.html": {"math"},
    "broken_image.html": {"image", "resource", "console"},  # the console line is Chromium's 404 message
    "corrupt_image.html": {"image"},
    "no_alt.html": {"alt"},
    "broken_link.html": {"link"},
    "missing_anchor.html": {"link"},
    "js_error.html": {"pageerror"},
    "console_error.html": {"console"},
    "external_request.html": {"external", "image", "console"},  # blocked before it leaves
    "leak.html": {"solutions", "link"},
}


def test_toc_pages_lists_every_chapter_in_order():
    assert site_check.toc_pages(FIXTURES) == list(EXPECTED)


def test_toc_pages_reads_parts_sections_and_suffixes(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro.md\nparts:\n  - caption: A\n    chapters:\n"
        "      - file: a/one\n        sections:\n          - file: a/two.ipynb\n"
        "      - url: https://example.invalid\n  - caption: B\n    chapters:\n      - file: b/three\n"
    )
    assert site_check.toc_pages(tmp_path) == ["intro.html", "a/one.html", "a/two.html", "b/three.html"]


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory):
    """Build tests/site_fixtures/ with Jupyter Book into a temporary directory; yield its html dir."""
    node_site = ROOT / "node_modules" / ".site" / "mathjax" / "tex-chtml.js"
    if not node_site.is_file():
        pytest.fail(f"{node_site} is missing: `make venv` stages MathJax (web.mk)")
    book = tmp_path_factory.mktemp("site_fixtures") / "book"
    shutil.copytree(FIXTURES, book)
    (book / "node_modules").symlink_to(ROOT / "node_modules")
    (book / "scripts").symlink_to(ROOT / "scripts")
    jb = [sys.executable, str(ROOT / "scripts" / "jb.py")]
    proc = subprocess.run([*jb, "build", str(book)], cwd=book, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return book / "_build" / "html"


@pytest.mark.slow
def test_site_check_reports_each_broken_page(fixture_site, browser):
    context = site_check.new_context(browser)
    try:
        with site_check.serve(fixture_site) as base_url:
            problems = {
                page: site_check.check_page(context, base_url, fixture_site, page)
                for page in site_check.toc_pages(FIXTURES)
            }
            missing_page = site_check.check_page(context, base_url, fixture_site, "no_such_page.html")
            found = site_check.search_hits(context, base_url, "attention")
            not_found = site_check.search_hits(context, base_url, "zyzzyva")
    finally:
        context.close()
    kinds = {page: {p.kind for p in found_problems} for page, found_problems in problems.items()}
    assert kinds == EXPECTED, "\n".join(str(p) for ps in problems.values() for p in ps)
    details = {page: " ".join(p.detail for p in ps) for page, ps in problems.items()}
    assert "\\frac" in details["tex_error.html"] and "\\notamacro" in details["tex_error.html"]
    assert "no_such_page.html" in details["broken_link.html"]
    assert "no-such-section" in details["missing_anchor.html"]
    assert "thisFunctionDoesNotExist" in details["js_error.html"]
    assert "http" in {p.kind for p in missing_page}, missing_page
    assert found == ["good.html"]
    assert not_found == []
    # The static scan for nbgrader markers (one test, so that pytest -n 2 builds the fixtures once).
    leaks = dict(site_check.find_leaks(fixture_site))
    assert "leak.html" in leaks and "BEGIN SOLUTION" in leaks["leak.html"]
    assert not any(path.startswith(("good", "bad_math")) for path in leaks)
