"""The interactive figures on the built website, in headless Chromium (issue 16).

Every figure made with ``mplib.interactive`` is loaded from ``_build/html`` served on 127.0.0.1
(the set-up of tests/test_site.py and tests/site_check.py: Debian's /usr/bin/chromium driven by
playwright, every request to another host blocked and reported). For each figure:

- it renders with no console error or uncaught exception, and no request leaves the site;
- each control, operated with the keyboard and with the mouse (dragging a slider, clicking an
  option), changes the rendered figure (its pixels and its readout);
- at two settings, the numbers read from the page (the plotted data and the readout sentence)
  equal what ``mplib`` computes here for that setting, from the page's parameters, and where the
  page states a closed form, that too;
- without JavaScript and in print the static image is shown instead, with its alt text;
- Plotly.js is fetched once per page and comes from the cache on the next page;
- no page with a figure transfers more than 3 MB (see :func:`transfer_bytes`).

Without a browser, every frame of every figure in the built HTML is compared with ``mplib`` too.

Run alone: ``.venv/bin/python -m pytest -q tests/test_site_interactive.py`` (after ``make book``).
"""

import gzip
import itertools
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import networkx as nx
import numpy as np
import pytest

import mplib
import site_check
from site_check import SITE, browser, site  # noqa: F401  (pytest fixtures)
from mplib.generators import barbell_graph, grid_graph, heterophilous_graph, wl_pairs
from mplib.graph import Graph, add_self_loops, from_networkx, to_undirected

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "_build" / "screenshots" / "interactive"
LIBRARY = "plotly/plotly-basic.min.js"
MAX_PAGE_BYTES = 3_000_000

pytestmark = pytest.mark.needs_book


# ------------------------------------------------------------------------------------------------
# What mplib computes for each figure, from the parameters its page sets

def rounds_expected(t):
    """01_conversation: h^(t) of the receiver after t rounds of psi = h_u - h_v, sum, phi."""
    edges, h0, receiver, step = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 4), (3, 4), (3, 5)], \
        [3.0, 1.0, 4.0, 1.0, 5.0, 9.0], 1, 0.25
    ei = mplib.to_undirected(np.array(edges).T, num_nodes=6)
    h = np.array(h0)[:, None]
    for _ in range(t):
        h = mplib.propagate(h, ei, message=lambda x_i, x_j, edge_attr: x_j - x_i,
                            aggregate="sum", update=lambda h_v, m: h_v + step * m)
    hops = nx.single_source_shortest_path_length(nx.Graph(edges), receiver, cutoff=t)
    return {"now": [h[receiver, 0]]}, [f"holds h = {h[receiver, 0]:.4g}",
                                       f"holds {len(hops)} of 6 nodes"]


def wl_expected(pair, t):
    """02_local_talk: the joint colour histograms of a pair after t rounds of refinement."""
    pairs = dict(wl_pairs())
    pairs["P6 vs K2+C4"] = tuple(
        Graph(to_undirected(np.array(e).T, num_nodes=6))
        for e in ([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)], [(0, 1), (2, 3), (3, 4), (4, 5), (5, 2)]))
    name = list(pairs)[pair]
    result = mplib.wl_test(*pairs[name], iterations=3)
    c1, c2 = result.history1[t], result.history2[t]
    seen = np.unique(np.concatenate([c1, c2]))
    counts = [[int((c == k).sum()) for k in seen] for c in (c1, c2)]
    same = counts[0] == counts[1]
    return {"bars": counts}, [f"{name}, round {t}", "equal" if same else "different"]


def smoothing_runs():
    graphs = {"grid": grid_graph(6, 6), "karate": from_networkx(nx.karate_club_graph())}
    rng = np.random.default_rng(0)
    inputs = {name: rng.normal(size=(g.num_nodes, 4)) for name, g in graphs.items()}
    return graphs, inputs


def smoothing_expected(graph, k):
    """03_pathologies: Dirichlet energy after k rounds of averaging with self-loops."""
    graphs, inputs = smoothing_runs()
    name = ["grid", "karate"][graph]
    g, h = graphs[name], inputs[name]
    loops, _ = add_self_loops(g.edge_index, num_nodes=g.num_nodes)
    start = mplib.dirichlet_energy(h, g.edge_index)
    for _ in range(k):
        h = mplib.propagate(h, loops, aggregate="mean")
    energy = mplib.dirichlet_energy(h, g.edge_index)
    return {"energy now": [energy / start]}, [f"after {k} rounds: Dirichlet energy {energy:.4g}"]


def barbell_expected(m_index, L):
    """03_pathologies: sensitivity and resistance of the far ends; the page's closed forms too."""
    m = (4, 8)[m_index]
    g = barbell_graph(m, L)
    u, v = 0, 2 * m + L - 1
    sens = mplib.jacobian_sensitivity(g, L + 3, operator="gcn")[v, u]
    res = mplib.effective_resistance(g)[u, v]
    assert np.isclose(sens, 3.0**-L / (m * (m + 1) ** 2), rtol=1e-9)   # the page's formula
    assert np.isclose(res, 4 / m + L + 1, rtol=1e-9)
    return ({"sensitivity now": [sens], "resistance now": [res]},
            [f"m = {m}, L = {L}", f"{sens:.3e}", f"{res:.4f} ohm"])


def gat_example():
    edges = np.array([[0, 0, 0, 0, 1, 3, 4, 2], [1, 2, 3, 4, 2, 4, 5, 5]])
    ei = to_undirected(edges, num_nodes=6)
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5], [0.5, -1.0], [2.0, 0.0]])
    _, (att_edges, alpha) = mplib.gat_conv(x, ei, 1.5 * np.eye(2), np.array([[1.0, 0.5]]),
                                           np.array([[0.5, -0.5]]), negative_slope=0.2,
                                           return_attention=True)
    return att_edges, alpha[:, 0]


def attention_expected(i):
    """04_smarter: the GAT coefficients arriving at node i, by sender."""
    (src, dst), alpha = gat_example()
    into = dst == i
    order = np.argsort(src[into])
    weights = alpha[into][order]
    assert np.isclose(weights.sum(), 1.0)
    return {"attention": [weights]}, [f"Node {i} gives"] + [
        f"node {j} {a:.3f}" for j, a in zip(src[into][order], weights) if j != i]


ALPHAS = np.round(np.linspace(0, 1, 21), 2)


def heterophily_expected(k):
    """04_smarter: h'/h of every node after one round of mixing with weight alpha."""
    a = ALPHAS[k]
    bip = heterophilous_graph(6, p=0.5, rng=0)
    ratio = mplib.mix_with_neighbours(bip.x, bip.edge_index, a)[:, 0] / bip.x[:, 0]
    connected = bip.degree() > 0
    assert np.allclose(ratio[connected], 1 - 2 * a)                     # the page's formula
    return {"measured h'/h": [ratio]}, [f"α = {a:.2f}", f"h'/h = {1 - 2 * a:.4f}"]


BETAS = (0.05, 0.07, 0.1, 0.14, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0, 1.4, 2.0)


def bp_expected(family, b):
    """applications/01_physics: exact, BP and mean-field magnetisations of instance 0."""
    grid = grid_graph(3, 4)
    src, dst = grid.edge_index
    rev = mplib.reverse_edges(grid.edge_index, grid.num_nodes)
    rng = np.random.default_rng(1)
    fields = 0.5 * rng.normal(size=(8, grid.num_nodes))
    signs = rng.choice([-1.0, 1.0], size=(8, grid.num_edges))
    signs = np.where(src < dst, signs, signs[:, rev])
    sign = np.ones_like(signs[0]) if family == 0 else signs[0]
    J, h = BETAS[b] * sign, fields[0]
    exact = mplib.ising_exact_marginals(grid, J, h)
    bp = mplib.ising_bp(grid, J, h, max_iter=500, tol=1e-10)
    if not bp.converged:
        bp = mplib.ising_bp(grid, J, h, max_iter=500, tol=1e-10, damping=0.5)
    mf = mplib.ising_mean_field(grid, J, h, max_iter=500, tol=1e-10)
    return ({"exact": [exact], "belief propagation": [bp.magnetization],
             "mean field": [mf.magnetization]},
            [f"β = {BETAS[b]:g}", f"{np.abs(bp.magnetization - exact).mean():.2e} for BP"])


# figure -> page, two settings (control index per control, in order), expected values
FIGURES = {
    "rounds": ("book/principles/01_conversation.html", [(1,), (4,)], rounds_expected),
    "wl-pairs": ("book/principles/02_local_talk.html", [(1, 2), (2, 2)], wl_expected),
    "oversmoothing": ("book/principles/03_pathologies.html", [(0, 3), (1, 12)],
                      smoothing_expected),
    "barbell": ("book/principles/03_pathologies.html", [(0, 2), (1, 6)], barbell_expected),
    "attention": ("book/principles/04_smarter.html", [(0,), (3,)], attention_expected),
    "heterophily": ("book/principles/04_smarter.html", [(2,), (16,)], heterophily_expected),
    "bp-coupling": ("book/applications/01_physics.html", [(0, 3), (1, 10)], bp_expected),
}
PAGES = sorted({page for page, _, _ in FIGURES.values()})


# ------------------------------------------------------------------------------------------------
# Browser plumbing

class Visit:
    """One page in a fresh browser context: its errors, its requests, and its figures."""

    def __init__(self, browser, base_url, page, **context_args):
        self.context = site_check.new_context(browser) if not context_args else \
            _context(browser, **context_args)
        self.page = self.context.new_page()
        self.errors, self.requests, self.responses = [], [], []
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("console", lambda msg: self.errors.append(f"console: {msg.text}")
                     if msg.type == "error" else None)
        self.page.on("request", lambda req: self.requests.append(req.url))
        self.page.on("response", lambda response: self.responses.append(response))
        self.base_url = base_url
        self.goto(page)

    def goto(self, page):
        response = self.page.goto(self.base_url + page, wait_until="load")
        assert response.status == 200, f"HTTP {response.status} for {page}"

    def wait_rendered(self, name):
        self.page.wait_for_function(
            "(id) => { const f = document.getElementById(id);"
            " return f && f.dataset.mpRendered && f.dataset.mpRendered === f.dataset.mpKey; }",
            arg=f"mp-fig-{name}", timeout=20000)

    def key(self, name):
        return self.page.get_attribute(f"#mp-fig-{name}", "data-mp-rendered")

    def readout(self, name):
        return self.page.inner_text(f"#mp-fig-{name} .mp-readout")

    def traces(self, name):
        return self.page.evaluate(
            "(id) => document.getElementById(id).data.map(t => ({name: t.name, type: t.type,"
            " x: t.x, y: t.y}))", f"mp-{name}-plot")

    def pixels(self, name):
        return self.page.locator(f"#mp-{name}-plot").screenshot()

    def close(self):
        self.context.close()


def _context(browser, routed=True, **args):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **args)
    if routed:
            context.route("**/*", lambda route: route.continue_()
                      if urlsplit(route.request.url).hostname == site_check.HOST
                      else route.abort("blockedbyclient"))
    return context


@pytest.fixture
def visit(browser, site):
    visits = []

    def open_page(page, **context_args):
        visits.append(Visit(browser, site, page, **context_args))
        return visits[-1]

    yield open_page
    for v in visits:
        v.close()


def controls(v, name):
    """(kind, locator) of each control of a figure, in order."""
    boxes = v.page.locator(f"#mp-fig-{name} [data-mp-control]")
    out = []
    for k in range(boxes.count()):
        box = boxes.nth(k)
        kind = "slider" if box.locator("input[type=range]").count() else "choice"
        out.append((kind, box))
    return out


def set_by_keyboard(v, name, setting):
    """Reach a setting with the keyboard only: Home + ArrowRight on sliders, arrows on radios."""
    for (kind, box), index in zip(controls(v, name), setting):
        if kind == "slider":
            box.locator("input[type=range]").focus()
            v.page.keyboard.press("Home")
            for _ in range(index):
                v.page.keyboard.press("ArrowRight")
        else:
            radios = box.locator("input[type=radio]")
            radios.nth(0).focus()
            v.page.keyboard.press("Space")           # select the first option
            for _ in range(index):
                v.page.keyboard.press("ArrowRight")   # moves and selects the next one
            assert radios.nth(index).is_checked()
    v.wait_rendered(name)
    assert v.key(name) == ",".join(map(str, setting))


def set_by_mouse(v, name, setting):
    """Reach a setting with the mouse: click the option's label, drag the slider's thumb."""
    for (kind, box), index in zip(controls(v, name), setting):
        if kind == "slider":
            slider = box.locator("input[type=range]")
            top = int(slider.get_attribute("max"))
            for _ in range(5):       # a drag lands within a step of its aim; correct and retry
                now = int(slider.input_value())
                if now == index:
                    break
                drag(v, slider, now, index, top)
            assert int(slider.input_value()) == index
        else:
            box.locator("label").nth(index).click()
    v.wait_rendered(name)
    assert v.key(name) == ",".join(map(str, setting))


def drag(v, slider, start, target, top):
    box = slider.bounding_box()
    thumb = 8                                         # half of Chromium's default thumb width

    def x_of(value):
        return box["x"] + thumb + (box["width"] - 2 * thumb) * value / max(top, 1)

    y = box["y"] + box["height"] / 2
    v.page.mouse.move(x_of(start), y)
    v.page.mouse.down()
    v.page.mouse.move((x_of(start) + x_of(target)) / 2, y, steps=4)
    v.page.mouse.move(x_of(target), y, steps=4)
    v.page.mouse.up()


def check_values(v, name, setting, expected):
    """The plotted numbers and the readout of the current setting equal mplib's."""
    want, phrases = expected(*setting)
    traces = v.traces(name)
    for trace_name, arrays in want.items():
        if trace_name == "bars":
            found = [t["y"] for t in traces if t["type"] == "bar"]
        else:
            found = [t["y"] for t in traces if t["name"] == trace_name]
        assert len(found) == len(arrays), f"{name}: traces named {trace_name!r}: {len(found)}"
        for got, exp in zip(found, arrays):
            np.testing.assert_allclose(np.asarray(got, float), np.asarray(exp, float),
                                       rtol=1e-12, atol=1e-15, err_msg=f"{name} {setting}")
    text = v.readout(name)
    for phrase in phrases:
        assert phrase in text, f"{name} {setting}: {phrase!r} not in the readout {text!r}"


# ------------------------------------------------------------------------------------------------
# Tests

@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_figures_render_without_errors_and_nothing_leaves_the_site(page, visit):
    v = visit(page)
    names = [n for n, (p, _, _) in FIGURES.items() if p == page]
    for name in names:
        v.wait_rendered(name)
        assert v.page.locator(f"#mp-{name}-plot svg.main-svg").count() >= 1
        assert v.page.is_visible(f"#mp-fig-{name} .mp-live")
        assert not v.page.is_visible(f"#mp-fig-{name} img.mp-fallback")
        v.page.locator(f"#mp-fig-{name}").screenshot(path=_shot(name))
    on_page = v.page.eval_on_selector_all("figure.mp-interactive", "fs => fs.map(f => f.id)")
    assert sorted(on_page) == sorted(f"mp-fig-{n}" for n in names), "a figure this test misses"
    v.page.wait_for_load_state("networkidle")
    assert not v.errors, v.errors
    outside = [u for u in v.requests if urlsplit(u).scheme in ("http", "https")
               and urlsplit(u).hostname != site_check.HOST]
    assert not outside, outside
    assert sum(u.split("?")[0].endswith(LIBRARY) for u in v.requests) == 1, \
        "Plotly.js must be fetched exactly once per page"


@pytest.mark.slow
@pytest.mark.parametrize("name", FIGURES)
def test_each_control_changes_the_figure_by_keyboard_and_mouse(name, visit):
    page, settings, _ = FIGURES[name]
    v = visit(page)
    v.wait_rendered(name)
    v.page.locator(f"#mp-fig-{name}").scroll_into_view_if_needed()
    for position, (kind, box) in enumerate(controls(v, name)):
        assert box.locator("label, legend").first.inner_text().strip(), "a control without a label"
        other = [s[position] for s in settings]
        start = list(map(int, v.key(name).split(",")))
        # keyboard: move this control only
        target = list(start)
        target[position] = other[0] if other[0] != start[position] else other[1]
        before = (v.pixels(name), v.readout(name))
        set_by_keyboard(v, name, target)
        after = (v.pixels(name), v.readout(name))
        assert after[0] != before[0], f"{name}: the plot did not change ({kind}, keyboard)"
        # mouse: move it again
        again = list(target)
        again[position] = start[position]
        set_by_mouse(v, name, again)
        assert v.pixels(name) != after[0], f"{name}: the plot did not change ({kind}, mouse)"
        if kind == "slider":
            value = box.locator("output").inner_text()
            texts = v.page.evaluate(
                "(id) => JSON.parse(document.querySelector('#' + id + ' script.mp-data')"
                ".textContent).controls", f"mp-fig-{name}")[position]["texts"]
            assert value == texts[again[position]], "the slider's visible value is stale"
            assert box.locator("input").get_attribute("aria-valuetext") == value
    assert not v.errors, v.errors


@pytest.mark.slow
@pytest.mark.parametrize("name", FIGURES)
def test_values_at_two_settings_equal_mplib(name, visit):
    page, settings, expected = FIGURES[name]
    v = visit(page)
    v.wait_rendered(name)
    set_by_keyboard(v, name, settings[0])
    check_values(v, name, settings[0], expected)
    set_by_mouse(v, name, settings[1])
    check_values(v, name, settings[1], expected)


@pytest.mark.slow
def test_play_steps_a_slider(visit):
    v = visit(FIGURES["rounds"][0])
    v.wait_rendered("rounds")
    slider = v.page.locator("#mp-rounds-t")
    v.page.click("#mp-fig-rounds button.mp-play")
    v.page.wait_for_function("() => Number(document.getElementById('mp-rounds-t').value) >= 2",
                             timeout=10000)
    assert v.page.get_attribute("#mp-fig-rounds button.mp-play", "aria-pressed") == "true"
    v.page.click("#mp-fig-rounds button.mp-play")                 # pause
    held = slider.input_value()
    v.page.wait_for_timeout(1000)
    assert slider.input_value() == held
    v.wait_rendered("rounds")
    assert v.key("rounds") == held


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_static_fallback_without_javascript_and_in_print(page, visit):
    names = [n for n, (p, _, _) in FIGURES.items() if p == page]
    v = visit(page, java_script_enabled=False)
    for name in names:
        img = v.page.locator(f"#mp-fig-{name} img.mp-fallback")
        assert img.is_visible() and not v.page.is_visible(f"#mp-fig-{name} .mp-live")
        assert img.evaluate("i => i.complete && i.naturalWidth > 100")
        assert len(img.get_attribute("alt")) > 40
        assert v.page.is_visible(f"#mp-fig-{name} figcaption")
        assert v.page.is_visible(f"#mp-fig-{name} .mp-static-note")
    if page == FIGURES["oversmoothing"][0]:
        v.page.locator("#mp-fig-barbell").screenshot(path=_shot("barbell-nojs"))
    printed = visit(page)
    for name in names:
        printed.wait_rendered(name)
    printed.page.emulate_media(media="print")
    for name in names:
        assert printed.page.is_visible(f"#mp-fig-{name} img.mp-fallback")
        assert not printed.page.is_visible(f"#mp-fig-{name} .mp-live")


def transfer_bytes(response):
    """Bytes a static host with gzip (as GitHub Pages, nginx's gzip) sends for a response.

    Text (HTML, JavaScript, CSS, JSON, SVG) is counted gzip-compressed; images and fonts, which
    are compressed already, as they are. The local test server does not compress.
    """
    body = response.body()
    kind = (response.headers.get("content-type") or "").split(";")[0]
    texty = kind.startswith("text/") or kind in ("application/javascript", "application/json",
                                                 "image/svg+xml", "application/x-javascript")
    return len(gzip.compress(body, 6)) if texty else len(body)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_weight_and_the_library_served_once_then_cached(page, visit, browser, site):
    # Playwright's request routing (which blocks other hosts) turns the HTTP cache off, so this
    # context does not route; it records every request instead, and none may leave the site.
    v = visit(page, routed=False)
    for name in [n for n, (p, _, _) in FIGURES.items() if p == page]:
        v.wait_rendered(name)
    v.page.wait_for_load_state("networkidle")
    sizes = {r.url: (transfer_bytes(r), len(r.body())) for r in v.responses if r.status == 200}
    total, raw = sum(s for s, _ in sizes.values()), sum(r for _, r in sizes.values())
    print(f"{page}: {total / 1e6:.2f} MB transferred with gzip, {raw / 1e6:.2f} MB uncompressed, "
          f"{len(sizes)} requests")
    assert total <= MAX_PAGE_BYTES, sorted(sizes.items(), key=lambda kv: -kv[1][0])[:8]
    # the next page with a figure takes Plotly.js from the browser's cache
    other = next(p for p in PAGES if p != page)
    cdp = v.context.new_cdp_session(v.page)
    cdp.send("Network.enable")
    fetched = {}
    cdp.on("Network.responseReceived", lambda e: fetched.__setitem__(
        e["requestId"], e["response"]["url"]) if LIBRARY in e["response"]["url"] else None)
    sent = []
    cdp.on("Network.loadingFinished", lambda e: sent.append(e["encodedDataLength"])
           if e["requestId"] in fetched else None)
    v.goto(other)
    for name in [n for n, (p, _, _) in FIGURES.items() if p == other]:
        v.wait_rendered(name)
    assert fetched, "no request for Plotly.js seen on the second page"
    assert sum(sent) < 2000, f"Plotly.js fetched again ({sum(sent)} bytes) instead of cached"
    assert all(urlsplit(u).hostname == site_check.HOST for u in v.requests
               if urlsplit(u).scheme in ("http", "https")), v.requests


def _shot(name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    return str(SHOTS / f"{re.sub('[^a-z0-9-]', '-', name)}.png")


def figure_spec(name):
    """The JSON a built page carries for figure ``name``."""
    page = FIGURES[name][0]
    text = (SITE / page).read_text(encoding="utf-8")
    start = text.index(f'<figure class="mp-interactive" id="mp-fig-{name}">')
    data = text[start:].split('class="mp-data">', 1)[1].split("</script>", 1)[0]
    return json.loads(data)


@pytest.mark.parametrize("name", FIGURES)
def test_every_frame_in_the_built_page_equals_mplib(name):
    """Not just two settings: every frame of every figure, read from the built HTML."""
    if not (SITE / "index.html").is_file():
        pytest.fail(f"{SITE} has no built book: run `make book` first")
    spec = figure_spec(name)
    sizes = [len(c["texts"]) for c in spec["controls"]]
    assert len(spec["frames"]) == int(np.prod(sizes))
    for setting in itertools.product(*map(range, sizes)):
        frame = spec["frames"][",".join(map(str, setting))]
        traces = spec["static"] + [spec["traces"][k] for k in frame["data"]]
        want, phrases = FIGURES[name][2](*setting)
        for trace_name, arrays in want.items():
            found = [t["y"] for t in traces
                     if (t["type"] == "bar" if trace_name == "bars" else t.get("name") == trace_name)]
            assert len(found) == len(arrays), (name, setting, trace_name)
            for got, exp in zip(found, arrays):
                np.testing.assert_allclose(np.asarray(got, float), np.asarray(exp, float),
                                           rtol=1e-12, atol=1e-15, err_msg=f"{name} {setting}")
        for phrase in phrases:
            assert phrase in frame["readout"], (name, setting, phrase, frame["readout"])
