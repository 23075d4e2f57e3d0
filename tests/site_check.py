"""Check a built Jupyter Book the way a reader meets it: served over HTTP, in headless Chromium.

Shared by ``tests/test_site.py`` and ``tests/test_site_interactive.py``: the real book is checked
with these functions, and so are the deliberately broken pages of ``tests/site_fixtures/`` (to show
that every check can fail). The two test modules take their pytest fixtures ``browser`` and ``site``
(the built book served on a free port) from here.

The pieces:

- :func:`toc_pages` lists the HTML pages of the pages named in ``_toc.yml``.
- :func:`serve` serves a directory on 127.0.0.1 (free port, a thread running ``http.server``).
- :func:`launch` starts Debian's ``/usr/bin/chromium`` through the Python ``playwright`` package
  (never ``playwright install``).
- :func:`check_page` loads one page and returns the problems a reader would meet: HTTP status,
  console errors and uncaught exceptions, unrendered or erroneous math, images that did not load,
  figures with neither alt text nor a caption,
  internal links to missing files or anchors, failed sub-resources, any request to another host,
  any URL under ``solutions/``. It saves a screenshot of the page (and one in dark mode if asked).
- :func:`search_hits` runs the site's own search page for a word and returns the result links.
- :func:`find_leaks` scans every built file for nbgrader solution or hidden-test markers.

Every problem is a :class:`Problem` ``(page, kind, detail)``; ``kind`` is one of :data:`KINDS`.
"""

from __future__ import annotations

import contextlib
import functools
import html.parser
import http.server
import re
import threading
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import pytest
import yaml

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HOST = "127.0.0.1"
SITE = Path(__file__).resolve().parent.parent / "_build" / "html"  # where `make book` writes the site
KINDS = ("http", "console", "pageerror", "math", "image", "alt", "link", "resource", "external", "solutions")

# Console messages that are not problems. Every entry needs a written reason; keep it empty if you can.
# Each entry: (regular expression matched against the message text, reason).
CONSOLE_ALLOWLIST: list[tuple[str, str]] = []

# Markers nbgrader leaves in source notebooks; none of them may reach the website.
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "HIDDEN TESTS")


class Problem(NamedTuple):
    page: str
    kind: str
    detail: str

    def __str__(self):
        return f"{self.page}: [{self.kind}] {self.detail}"


# --------------------------------------------------------------------------------------------------
# Table of contents


def toc_pages(book_root):
    """Return the site-relative HTML paths of the pages ``_toc.yml`` lists, in order.

    Handles ``root``, ``parts``/``chapters``/``sections`` (any nesting), ``file`` and ``glob``
    entries; ``url`` entries point outside the book and are skipped.
    """
    book_root = Path(book_root)
    toc = yaml.safe_load((book_root / "_toc.yml").read_text())
    docnames = [_docname(toc["root"])]

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if "file" in node:
                docnames.append(_docname(node["file"]))
            if "glob" in node:
                matches = sorted(
                    p for suffix in (".md", ".ipynb", ".rst") for p in book_root.glob(node["glob"] + suffix)
                )
                docnames.extend(_docname(str(p.relative_to(book_root))) for p in matches)
            for key in ("parts", "chapters", "sections", "subtrees", "entries"):
                if key in node:
                    walk(node[key])

    walk({k: v for k, v in toc.items() if k != "root"})
    seen = set()
    return [d + ".html" for d in docnames if not (d in seen or seen.add(d))]


def _docname(entry):
    entry = str(entry).strip("/")
    for suffix in (".md", ".ipynb", ".rst"):
        if entry.endswith(suffix):
            return entry[: -len(suffix)]
    return entry


# --------------------------------------------------------------------------------------------------
# Serving and browsing


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory):
    """Serve ``directory`` over HTTP on 127.0.0.1 at a free port; yield the base URL (ends in ``/``)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer((HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def launch():
    """Yield a headless Chromium browser (Debian's ``/usr/bin/chromium``) driven by playwright."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: `make venv` installs Debian's chromium (web.mk)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser):
    """A browser context in which every request to a host other than 127.0.0.1 is blocked."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")

    def route(route):
        if urlsplit(route.request.url).hostname == HOST:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", route)
    return context


# --------------------------------------------------------------------------------------------------
# Checks of one page

_MATH_JS = r"""
async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) {
    await Promise.race([mj.startup.promise, new Promise(r => setTimeout(r, 15000))]);
  }
  const problems = [];
  // Every formula Sphinx wrote must now hold MathJax's output.
  for (const el of document.querySelectorAll('span.math, div.math')) {
    if (!el.querySelector('mjx-container')) {
      problems.push('formula not rendered by MathJax: ' + el.textContent.trim().slice(0, 80));
    }
  }
  // TeX errors (MathJax shows them in place of the formula) and undefined macros (shown in red).
  for (const err of document.querySelectorAll('mjx-merror')) {
    problems.push('MathJax error: ' + (err.getAttribute('data-mjx-error') || '').slice(0, 120));
  }
  for (const t of document.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"]')) {
    if (t.textContent.startsWith('\\')) problems.push('undefined TeX macro: ' + t.textContent.slice(0, 80));
  }
  // Raw TeX left in the text a reader sees (outside code, scripts and rendered math).
  const skip = 'PRE, CODE, SCRIPT, STYLE, TEXTAREA, MJX-CONTAINER, .highlight, .cell_input';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => (n.parentElement && n.parentElement.closest(skip)) ? NodeFilter.FILTER_REJECT
                                                                        : NodeFilter.FILTER_ACCEPT,
  });
  const patterns = [/\$\$/, /\\\(/, /\\\[/, /\\begin\{/, /\$[^$\s][^$]*[\\^_{][^$]*\$/];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent;
    if (patterns.some(p => p.test(text))) problems.push('raw TeX in the page text: ' + text.trim().slice(0, 80));
  }
  return problems;
}
"""

_IMAGES_JS = r"""
async () => {
  const imgs = [...document.images];
  await Promise.all(imgs.map(img => {
    img.loading = 'eager';
    if (img.complete) return null;
    return new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r);
                              setTimeout(r, 10000); });
  }));
  const main = document.querySelector('main') || document.body;
  return imgs.map(img => {
    const figure = img.closest('figure');
    const caption = figure ? (figure.querySelector('figcaption') || {}).textContent || '' : '';
    return {src: img.currentSrc || img.src || img.getAttribute('src') || '',
            width: img.naturalWidth, alt: (img.getAttribute('alt') || '').trim(),
            caption: caption.trim(), inMain: main.contains(img)};
  });
}
"""

_LINKS_JS = r"""
() => ({
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.getAttribute('name')),
})
"""


def check_page(context, base_url, site_dir, page, screenshot_dir=None, dark=False):
    """Load ``page`` (site-relative path) and return the list of :class:`Problem` a reader would meet.

    ``site_dir`` is the directory served at ``base_url``; internal links are resolved against it.
    With ``screenshot_dir``, saves a full-page ``<page>.png`` there, and with ``dark`` also
    ``<page>-dark.png`` in the theme's dark mode (about 1 to 2 s more per page).
    """
    site_dir = Path(site_dir)
    problems = []
    closing = []

    def add(kind, detail):
        if not closing:  # ignore what the browser reports while the page is being torn down
            problems.append(Problem(page, kind, detail))

    browser_page = context.new_page()

    def on_console(msg):
        if msg.type != "error":
            return
        text = msg.text
        if any(re.search(pattern, text) for pattern, _reason in CONSOLE_ALLOWLIST):
            return
        location = msg.location.get("url", "") if msg.location else ""
        add("console", f"{text} ({location})" if location else text)

    def on_request(request):
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != HOST:
            add("external", f"request to another host: {request.url}")
        if "solutions/" in unquote(parts.path):
            add("solutions", f"request under solutions/: {request.url}")

    def on_response(response):
        if response.status >= 400:
            add("resource", f"HTTP {response.status} for {response.url}")

    browser_page.on("console", on_console)
    browser_page.on("pageerror", lambda exc: add("pageerror", str(exc)))
    browser_page.on("request", on_request)
    browser_page.on("response", on_response)
    browser_page.on("requestfailed", lambda req: add("resource", f"request failed ({req.failure}): {req.url}")
                    if urlsplit(req.url).hostname == HOST else None)
    try:
        response = browser_page.goto(base_url + page, wait_until="load")
        if response is None or response.status != 200:
            add("http", f"HTTP {response.status if response else 'no response'} for {page}")
            return problems
        for detail in browser_page.evaluate(_MATH_JS):
            add("math", detail)
        for img in browser_page.evaluate(_IMAGES_JS):
            if not img["width"]:
                add("image", f"image did not load: {img['src']}")
            if img["inMain"] and not img["caption"] and _is_placeholder_alt(img["alt"]):
                add("alt", f"figure with neither alt text nor caption: {img['src']} (alt={img['alt']!r})")
        dom = browser_page.evaluate(_LINKS_JS)
        for detail in _check_links(dom["links"], set(dom["ids"]), base_url, site_dir, page):
            add(*detail)
        browser_page.wait_for_load_state("networkidle", timeout=10000)
        if screenshot_dir is not None:
            shot = Path(screenshot_dir) / (page[: -len(".html")] if page.endswith(".html") else page)
            shot.parent.mkdir(parents=True, exist_ok=True)
            browser_page.screenshot(path=f"{shot}.png", full_page=True)
        if screenshot_dir is not None and dark:
            browser_page.emulate_media(color_scheme="dark")
            browser_page.evaluate("() => { document.documentElement.dataset.theme = 'dark';"
                                  " document.documentElement.dataset.mode = 'dark'; }")
            browser_page.wait_for_timeout(200)
            browser_page.screenshot(path=f"{shot}-dark.png", full_page=True)
    finally:
        closing.append(True)
        browser_page.close()
    return problems


def _is_placeholder_alt(alt):
    """Empty alt, or the file name Sphinx/myst-nb put there for want of one."""
    return not alt or bool(re.fullmatch(r"\S+\.(png|jpe?g|svg|gif|webp)", alt, flags=re.IGNORECASE))


def _check_links(hrefs, live_ids, base_url, site_dir, page):
    """Yield ``(kind, detail)`` for internal links to missing files or anchors."""
    base = urlsplit(base_url)
    this_file = (site_dir / page).resolve()
    for href in sorted(set(hrefs)):
        parts = urlsplit(href)
        if parts.scheme not in ("http", "https") or parts.netloc != base.netloc:
            continue  # external links are text a reader may follow; they are not loaded
        path = unquote(parts.path)
        if "solutions/" in path:
            yield "solutions", f"link under solutions/: {href}"
        target = (site_dir / path.lstrip("/")).resolve()
        if path.endswith("/") or target.is_dir():
            target = target / "index.html"
        if site_dir.resolve() not in target.parents or not target.is_file():
            yield "link", f"link to a missing file: {href}"
            continue
        anchor = unquote(parts.fragment)
        if not anchor or target.suffix != ".html":
            continue
        ids = live_ids if target == this_file else set()
        if anchor not in ids and anchor not in _html_ids(target):
            yield "link", f"link to a missing anchor: {href}"


@functools.lru_cache(maxsize=None)
def _html_ids(path):
    collector = _IdCollector()
    collector.feed(Path(path).read_text(encoding="utf-8", errors="replace"))
    return frozenset(collector.ids)


class _IdCollector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


# --------------------------------------------------------------------------------------------------
# Site-wide checks


def search_hits(context, base_url, word):
    """Search the site for ``word`` with its own search page; return the result links (site-relative)."""
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{base_url}search.html?q={word}", wait_until="load")
        page.wait_for_function(
            "() => { const h = document.querySelector('#search-results h2');"
            " return h && !/^Searching/.test(h.textContent); }",
            timeout=20000,
        )
        if errors:
            raise RuntimeError(f"search page raised: {errors}")
        links = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.href)")
    finally:
        page.close()
    return [urlsplit(link).path.lstrip("/") for link in links]


def find_leaks(site_dir):
    """Return ``(path, reason)`` for built files that reveal solutions: nbgrader markers or a solutions/ path."""
    site_dir = Path(site_dir)
    leaks = []
    markers = [m.encode() for m in LEAK_MARKERS]
    for path in sorted(site_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(site_dir).as_posix()
        if "solutions/" in rel + "/":
            leaks.append((rel, "file under a solutions/ directory"))
        if rel.startswith("mathjax/"):
            continue  # the MathJax library itself, copied verbatim from npm
        data = path.read_bytes()
        for marker in markers:
            if marker in data:
                leaks.append((rel, f"contains {marker.decode()!r}"))
                break
    return leaks


# -- pytest fixtures shared by the site tests ------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one test module."""
    with launch() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def site():
    """The base URL of the built book (:data:`SITE`) served for one test module."""
    if not (SITE / "index.html").is_file():
        pytest.fail(f"{SITE} has no built book: run `make book` (or `make test`, which builds it from clean)")
    with serve(SITE) as base_url:
        yield base_url
