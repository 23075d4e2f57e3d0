"""mplib.interactive: the HTML block of an interactive figure and the JSON it carries.

The browser side (that the page plays these frames, keyboard and mouse, no-JS fallback) is
tested on the built book in tests/test_site_interactive.py.
"""

import base64
import html.parser
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mplib  # noqa: E402
from mplib.generators import barbell_graph, cycle_graph, path_graph  # noqa: E402
from mplib.interactive import (  # noqa: E402
    InteractiveFigure,
    choice,
    css_colors,
    graph_traces,
    slider,
    subplot_layout,
)
from mplib.plotting import categorical_colors, layout  # noqa: E402


class Parsed(html.parser.HTMLParser):
    """Elements (tag, attrs) in order, the text of some of them, and the JSON data."""

    def __init__(self, text):
        super().__init__()
        self.elements, self.texts, self.stack = [], {}, []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if tag not in ("input", "img"):
            self.stack.append((tag, attrs.get("class", "")))

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack:
            key = self.stack[-1]
            self.texts[key] = self.texts.get(key, "") + data

    def find(self, tag, **attrs):
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def text(self, tag, cls=""):
        return self.texts.get((tag, cls), "")


def small_png_figure():
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    return fig


def smoothing_figure(rounds=4):
    """A figure of repeated mean aggregation on a path, with the Dirichlet energy per round."""
    g = path_graph(5)
    x = np.arange(5.0)[:, None] ** 2
    states = [x]
    loops, _ = mplib.add_self_loops(g.edge_index, num_nodes=5)
    for _ in range(rounds):
        states.append(mplib.propagate(states[-1], loops, aggregate="mean"))
    fig = InteractiveFigure(
        "smoothing", [choice("view", "view", {"raw": "raw", "log": "log"}),
                      slider("k", "round k", range(rounds + 1), initial=1)],
        caption="Smoothing on a path.", alt="A path whose colours even out.",
        layout=subplot_layout(["graph", "plot"]))
    pos = layout(g, "grid", shape=(1, 5))
    for view in ("raw", "log"):
        for k, h in enumerate(states):
            energy = mplib.dirichlet_energy(h, g.edge_index)
            value = np.log10(energy) if view == "log" else energy
            traces = graph_traces(g, pos, h[:, 0]) + [
                dict(type="scatter", x=[k], y=[value], xaxis="x2", yaxis="y2", name="energy")]
            fig.add_frame(traces, f"round {k}: energy {energy:.4g}", view=view, k=k)
    return fig.set_fallback(small_png_figure()), states, g


def test_html_block_has_labelled_controls_readout_fallback_and_caption():
    fig, states, g = smoothing_figure()
    page = Parsed(fig.to_html())
    assert page.find("figure", **{"class": "mp-interactive", "id": "mp-fig-smoothing"})
    # slider: a label for it, a visible value, a play button
    (rng,) = page.find("input", type="range")
    assert (rng["min"], rng["max"], rng["value"]) == ("0", "4", "1")
    assert page.find("label", **{"for": rng["id"]})
    assert page.text("label").endswith("round k")   # radio labels, then the slider's
    assert page.text("output", "mp-value") == "1"
    assert page.text("button", "mp-play") == "Play"
    # choice: a fieldset with a legend and one radio per option, the initial one checked
    radios = page.find("input", type="radio")
    assert [r["value"] for r in radios] == ["0", "1"] and "checked" in radios[0]
    assert page.text("legend") == "view"
    # readout of the initial setting, caption, fallback image with alt text
    energy = mplib.dirichlet_energy(states[1], g.edge_index)
    assert page.text("p", "mp-readout") == f"round 1: energy {energy:.4g}"
    assert page.text("figcaption").startswith("Smoothing on a path.")
    (img,) = page.find("img", **{"class": "mp-fallback"})
    assert img["alt"] == "A path whose colours even out."
    assert base64.b64decode(img["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.find("div", **{"class": "mp-plot", "role": "img", "aria-label": img["alt"]})


def test_json_values_equal_mplib():
    fig, states, g = smoothing_figure()
    text = fig.to_html()
    data = text.split('class="mp-data">', 1)[1].split("</script>", 1)[0]
    spec = json.loads(data)
    assert [c["texts"] for c in spec["controls"]] == [["raw", "log"], ["0", "1", "2", "3", "4"]]
    for view_index, view in enumerate(("raw", "log")):
        for k, h in enumerate(states):
            frame = spec["frames"][f"{view_index},{k}"]
            traces = [spec["traces"][i] for i in frame["data"]]
            nodes = next(t for t in traces if t["name"] == "nodes")
            energy = next(t for t in traces if t["name"] == "energy")
            assert nodes["marker"]["color"] == h[:, 0].tolist()      # exactly, not rounded
            expected = mplib.dirichlet_energy(h, g.edge_index)
            assert energy["y"] == [np.log10(expected) if view == "log" else expected]
            assert frame == {"data": frame["data"], "readout": f"round {k}: energy {expected:.4g}"}


def test_traces_shared_by_frames_are_stored_once():
    fig, states, _ = smoothing_figure()
    spec = fig.spec()
    edges = [t for t in spec["traces"] if t["name"] == "edges"]
    assert len(edges) == 1
    edge_id = spec["traces"].index(edges[0])
    assert all(frame["data"][0] == edge_id for frame in spec["frames"].values())
    assert fig.frame(view="raw", k=2)["data"][0] == edges[0]


def test_output_is_deterministic():
    assert smoothing_figure()[0].to_html() == smoothing_figure()[0].to_html()


def test_json_cannot_end_the_script_element_early():
    fig = InteractiveFigure("tricky", [slider("k", "k", [0])], caption="c", alt="a")
    fig.add_frame([dict(type="scatter", x=[0], y=[0], name="</script><b>")], "</script>!", k=0)
    text = fig.set_fallback(small_png_figure()).to_html()
    data = text.split('class="mp-data">', 1)[1]
    assert data.index("</script>") == len(data.split("</script>", 1)[0])
    spec = json.loads(data.split("</script>", 1)[0])
    assert spec["traces"][0]["name"] == "</script><b>" and spec["frames"]["0"]["readout"] == "</script>!"
    assert "<b>" not in text.replace('"</script><b>"', "").split('class="mp-data">')[0]


def test_nan_is_a_gap_and_infinity_an_error():
    fig = InteractiveFigure("gaps", [slider("k", "k", [0, 1])], caption="c", alt="a")
    fig.add_frame([dict(type="scatter", y=np.array([1.0, np.nan]))], "r", k=0)
    assert fig.frame(k=0)["data"][0]["y"] == [1.0, None]
    with pytest.raises(ValueError, match="infinite"):
        fig.add_frame([dict(type="scatter", y=np.array([np.inf]))], "r", k=1)
    with pytest.raises(TypeError, match="expected numbers"):
        fig.add_frame([dict(type="scatter", y={1, 2})], "r", k=1)


def test_bad_input_gets_a_clear_error():
    good = [slider("k", "round k", [0, 1])]
    with pytest.raises(ValueError, match="`name` must be lower-case"):
        InteractiveFigure("Bad Name", good, caption="c", alt="a")
    with pytest.raises(ValueError, match="`controls` must be a non-empty list"):
        InteractiveFigure("x", [], caption="c", alt="a")
    with pytest.raises(ValueError, match="two controls share a name"):
        InteractiveFigure("x", good * 2, caption="c", alt="a")
    with pytest.raises(ValueError, match="`alt` must be a non-empty string"):
        InteractiveFigure("x", good, caption="c", alt=" ")
    with pytest.raises(ValueError, match="`values` of control 'k' must be distinct"):
        slider("k", "k", [1, 1])
    with pytest.raises(ValueError, match="`initial` of control 'k'"):
        slider("k", "k", [0, 1], initial=2)
    with pytest.raises(ValueError, match="`name` of a control"):
        slider("k k", "k", [0])
    fig = InteractiveFigure("x", good, caption="c", alt="a")
    with pytest.raises(ValueError, match="control 'k' has no value 7"):
        fig.add_frame([], "r", k=7)
    with pytest.raises(ValueError, match=r"unknown \['q'\], missing \['k'\]"):
        fig.add_frame([], "r", q=0)
    fig.add_frame([], "r", k=0)
    with pytest.raises(ValueError, match="already has a frame"):
        fig.add_frame([], "r", k=0)
    with pytest.raises(ValueError, match="`readout` must be a non-empty sentence"):
        fig.add_frame([], "", k=1)
    with pytest.raises(ValueError, match="has no static image"):
        fig.to_html()
    fig.set_fallback(small_png_figure())
    with pytest.raises(ValueError, match=r"no frame for the settings \['1'\]"):
        fig.to_html()


def test_graph_traces_draw_each_edge_once_and_colour_as_mplib():
    g = barbell_graph(3, 1)
    pos = layout(g)
    edges, nodes = graph_traces(g, pos, np.arange(g.num_nodes) % 3)
    assert edges["x"].count(None) == g.edge_index.shape[1] // 2
    assert nodes["marker"]["color"] == css_colors(np.arange(g.num_nodes) % 3)
    rgba = categorical_colors([0, 1, 2])
    assert css_colors([0, 1, 2])[1] == "rgba({:.0f},{:.0f},{:.0f},1)".format(*(rgba[1, :3] * 255))
    _, numeric = graph_traces(g, pos, np.linspace(0, 1, g.num_nodes), cmin=0, cmax=1,
                              colorscale="RdBu")
    assert numeric["marker"]["color"].tolist() == np.linspace(0, 1, g.num_nodes).tolist()
    assert numeric["marker"]["reversescale"] is True       # red low, as matplotlib's RdBu
    with pytest.raises(ValueError, match=r"`pos` must have shape \(7, 2\)"):
        graph_traces(g, pos[:3])


def test_graph_traces_edges_join_the_right_nodes():
    g = cycle_graph(5)
    pos = layout(g, "circular")
    edges, _ = graph_traces(g, pos)
    segments = np.array([v for v in edges["x"] if v is not None]).reshape(-1, 2)
    src, dst = g.edge_index
    keep = src < dst
    assert np.allclose(segments, np.round(pos, 4)[np.stack([src[keep], dst[keep]], 1), 0])


def test_subplot_layout_domains_are_side_by_side():
    out = subplot_layout(["graph", "plot", "plot"], widths=[2, 1, 1], yaxis3=dict(type="log"))
    domains = [out[k]["domain"] for k in ("xaxis", "xaxis2", "xaxis3")]
    assert domains[0][0] == 0 and domains[-1][1] <= 1
    assert all(a[1] < b[0] for a, b in zip(domains, domains[1:]))
    assert out["yaxis"]["scaleanchor"] == "x" and out["yaxis3"]["type"] == "log"
    with pytest.raises(ValueError, match="no axis 'xaxis4'"):
        subplot_layout(["plot"], xaxis4={})
    with pytest.raises(ValueError, match="'graph' or 'plot'"):
        subplot_layout(["map"])
