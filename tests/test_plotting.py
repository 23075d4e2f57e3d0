"""Tests for mplib.plotting (Agg backend): artists, colours, widths, layouts, style."""

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.colors import to_rgba, to_rgba_array  # noqa: E402

from mplib.generators import (  # noqa: E402
    barbell_graph,
    contextual_sbm,
    cycle_graph,
    grid_graph,
    heterophilous_graph,
    path_graph,
    star_graph,
    tree,
    wl_pairs,
)
from mplib.graph import Graph  # noqa: E402
from mplib.plotting import (  # noqa: E402
    OKABE_ITO,
    STYLE_PATH,
    categorical_colors,
    draw_graph,
    draw_wl_refinement,
    layout,
    use_style,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


GRAPHS = {
    "cycle": lambda: cycle_graph(6),
    "path": lambda: path_graph(1),
    "star": lambda: star_graph(5),
    "grid": lambda: grid_graph(3, 4),
    "torus": lambda: grid_graph(3, 3, periodic=True),
    "tree": lambda: tree(2, 3),
    "barbell": lambda: barbell_graph(4, 2),
    "2xC3": lambda: wl_pairs()["C6 vs 2xC3"][1],
    "prism": lambda: wl_pairs()["K3,3 vs prism"][1],
    "heterophilous": lambda: heterophilous_graph(4, p=0.5, rng=0),
    "csbm": lambda: contextual_sbm(120, 3, 3.0, 0.7, feature_dim=3, rng=1),
    "directed with loop": lambda: Graph([[0, 1, 2, 2], [1, 2, 0, 2]]),
}


def _pairs(graph):
    src, dst = graph.edge_index
    keep = src != dst
    return {frozenset(p) for p in zip(src[keep].tolist(), dst[keep].tolist())}


def _nodes(ax):
    return ax.collections[-1]


def _luminance(rgb):
    rgb = np.asarray(rgb)[..., :3]
    lin = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def _contrast(a, b):
    la, lb = _luminance(to_rgba(a)), _luminance(to_rgba(b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


@pytest.mark.parametrize("name", GRAPHS)
def test_draw_graph_artist_counts(name):
    g = GRAPHS[name]()
    ax = draw_graph(g, labels=True)
    lines, nodes = ax.collections[0], _nodes(ax)
    assert isinstance(lines, LineCollection) and isinstance(nodes, PathCollection)
    assert len(lines.get_segments()) == len(_pairs(g))
    assert len(nodes.get_offsets()) == g.num_nodes
    assert [t.get_text() for t in ax.texts] == [str(k) for k in range(g.num_nodes)]
    assert not ax.axison


@pytest.mark.parametrize("name", GRAPHS)
def test_draw_graph_segments_join_the_right_nodes(name):
    g = GRAPHS[name]()
    pos = layout(g, "circular") if g.num_nodes > 1 else np.zeros((1, 2))
    ax = draw_graph(g, pos=pos, labels=False)
    assert not ax.texts
    drawn = set()
    for seg in ax.collections[0].get_segments():
        ends = [int(np.argmin(np.linalg.norm(pos - p, axis=1))) for p in seg]
        drawn.add(frozenset(ends))
    assert drawn == _pairs(g)


@pytest.mark.parametrize("name", ["cycle", "barbell", "directed with loop"])
def test_draw_graph_directed_draws_one_arrow_per_column(name):
    g = GRAPHS[name]()
    ax = draw_graph(g, directed=True)
    assert len(ax.patches) == int(np.sum(g.edge_index[0] != g.edge_index[1]))
    assert not any(isinstance(c, LineCollection) for c in ax.collections)


def test_draw_graph_categorical_node_colours():
    rng = np.random.default_rng(0)
    g = contextual_sbm(60, 2, 3.0, 0.5, rng=0)
    for k in (1, 3, 8, 13):  # 13 categories: beyond Okabe-Ito, still distinct
        cats = rng.integers(0, k, g.num_nodes) * 7 - 3  # arbitrary integer ids
        face = _nodes(draw_graph(g, node_color=cats)).get_facecolors()
        for a in range(g.num_nodes):
            same = np.all(np.isclose(face, face[a]), axis=1)
            np.testing.assert_array_equal(same, cats == cats[a])
        if len(np.unique(cats)) <= len(OKABE_ITO):
            assert {tuple(c) for c in face} <= {tuple(c) for c in to_rgba_array(OKABE_ITO)}


def test_draw_graph_shared_categories_match_across_figures():
    c6, two_c3 = wl_pairs()["C6 vs 2xC3"]
    cats = np.arange(4)
    f1 = _nodes(draw_graph(c6, node_color=[0, 1, 0, 1, 0, 1], categories=cats)).get_facecolors()
    f2 = _nodes(draw_graph(two_c3, node_color=[3, 3, 1, 1, 1, 1], categories=cats)).get_facecolors()
    np.testing.assert_allclose(f1[1], f2[2])
    np.testing.assert_allclose(f2[0], to_rgba(OKABE_ITO[3]))


def test_draw_graph_continuous_node_colours():
    g = path_graph(5)
    values = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    face = _nodes(draw_graph(g, node_color=values)).get_facecolors()
    np.testing.assert_allclose(face, plt.get_cmap("viridis")(values))
    # Signed values: diverging map centred at 0, so 0 gets the middle colour.
    face = _nodes(draw_graph(g, node_color=np.array([-2.0, -1.0, 0.0, 0.5, 1.0]))).get_facecolors()
    np.testing.assert_allclose(face[2], plt.get_cmap("RdBu")(0.5))
    np.testing.assert_allclose(face[0], plt.get_cmap("RdBu")(0.0))
    face = _nodes(draw_graph(g, node_color=values, cmap="cividis", vmin=0, vmax=2)).get_facecolors()
    np.testing.assert_allclose(face, plt.get_cmap("cividis")(values / 2))


def test_draw_graph_single_colour_and_colorbar():
    g = cycle_graph(4)
    face = _nodes(draw_graph(g, node_color="red")).get_facecolors()
    np.testing.assert_allclose(face, np.tile(to_rgba("red"), (4, 1)))
    face = _nodes(draw_graph(g, node_color=["red", "blue", "red", "#00FF00"])).get_facecolors()
    np.testing.assert_allclose(face, to_rgba_array(["red", "blue", "red", "#00FF00"]))
    face = _nodes(draw_graph(g, node_color=(0.0, 0.5, 1.0))).get_facecolors()
    np.testing.assert_allclose(face[:, :3], np.tile([0.0, 0.5, 1.0], (4, 1)))
    ax = draw_graph(g, node_color=np.linspace(0, 1, 4), colorbar=True)
    assert len(ax.figure.axes) == 2
    ax = draw_graph(g, node_color=[0, 1, 0, 1], colorbar=True)  # categories: no colour bar
    assert len(ax.figure.axes) == 1


@pytest.mark.parametrize("reduce", ["max", "mean"])
def test_draw_graph_edge_widths_follow_edge_width(reduce):
    rng = np.random.default_rng(1)
    g = barbell_graph(4, 2)
    w = rng.random(g.num_edges)
    pos = layout(g)
    ax = draw_graph(g, pos=pos, edge_width=w, reduce=reduce, max_edge_width=5.0)
    src, dst = g.edge_index
    expected = {}
    for k in range(g.num_edges):
        expected.setdefault(frozenset((src[k], dst[k])), []).append(w[k])
    expected = {p: (max(v) if reduce == "max" else np.mean(v)) for p, v in expected.items()}
    top = max(expected.values())
    lines = ax.collections[0]
    for seg, width in zip(lines.get_segments(), lines.get_linewidths()):
        pair = frozenset(int(np.argmin(np.linalg.norm(pos - p, axis=1))) for p in seg)
        assert width == pytest.approx(expected[pair] / top * 5.0)


def test_draw_graph_directed_widths_in_column_order():
    g = cycle_graph(5)
    w = np.arange(1, g.num_edges + 1, dtype=float)
    ax = draw_graph(g, edge_width=w, directed=True, max_edge_width=4.0)
    np.testing.assert_allclose([p.get_linewidth() for p in ax.patches], w / w.max() * 4.0)


def test_draw_graph_edge_colours_signed_values():
    g = path_graph(4)  # columns: 0->1, 1->0, 1->2, 2->1, 2->3, 3->2
    curvature = np.array([-1.0, -1.0, 0.0, 0.0, 2.0, 2.0])
    pos = layout(g, "grid", shape=(1, 4))
    lines = draw_graph(g, pos=pos, edge_color=curvature).collections[0]
    order = np.argsort([seg[:, 0].mean() for seg in lines.get_segments()])
    colours = lines.get_colors()[order]
    cmap = plt.get_cmap("RdBu")
    np.testing.assert_allclose(colours, cmap([0.25, 0.5, 1.0]))


def test_draw_graph_edge_colour_limits_fix_the_scale():
    # Two plots with different ranges share one scale when given the same limits.
    g = path_graph(3)  # columns: 0->1, 1->0, 1->2, 2->1
    pos = layout(g, "grid", shape=(1, 3))
    values = np.array([0.5, 0.5, 1.0, 1.0])
    lines = draw_graph(g, pos=pos, edge_color=values, edge_cmap="RdBu", edge_vmin=-2.0,
                       edge_vmax=2.0).collections[0]
    order = np.argsort([seg[:, 0].mean() for seg in lines.get_segments()])
    np.testing.assert_allclose(lines.get_colors()[order], plt.get_cmap("RdBu")([0.625, 0.75]))


def test_draw_graph_label_ink_contrasts_with_node():
    g = path_graph(2)
    ax = draw_graph(g, node_color="#F0E442")  # Okabe-Ito yellow
    assert to_rgba(ax.texts[0].get_color()) == to_rgba("black")
    ax = draw_graph(g, node_color=np.array([0, 1]), categories=[0, 1])
    assert to_rgba(ax.texts[0].get_color()) == to_rgba("white")  # dark blue node
    ax = draw_graph(g, labels=["a", "b"])
    assert [t.get_text() for t in ax.texts] == ["a", "b"]


def test_layout_deterministic():
    g = contextual_sbm(150, 2, 3.0, 0.5, rng=0)
    for kind in ("spring", "auto", "kamada_kawai", "circular", "shell", "spectral"):
        h = barbell_graph(4, 2) if kind == "kamada_kawai" else g  # Kamada-Kawai is slow on 150 nodes
        a, b = layout(h, kind, seed=3), layout(h, kind, seed=3)
        np.testing.assert_array_equal(a, b)
        assert np.all(np.isfinite(a))
    assert not np.allclose(layout(g, "spring", seed=3), layout(g, "spring", seed=4))
    pos = _nodes(draw_graph(cycle_graph(7), seed=5, layout_kind="spring")).get_offsets()
    np.testing.assert_allclose(pos, layout(cycle_graph(7), "spring", seed=5))


def test_layout_grid_and_bfs():
    np.testing.assert_array_equal(layout(grid_graph(2, 3), "grid", shape=(2, 3)),
                                  [[0, 0], [1, 0], [2, 0], [0, -1], [1, -1], [2, -1]])
    assert layout(path_graph(5), "grid").shape == (5, 2)
    pos = layout(tree(2, 2), "bfs")
    depth = np.array([0, 1, 1, 2, 2, 2, 2])
    for d in range(3):  # one column per distance from the root
        assert len(np.unique(pos[depth == d, 0].round(9))) == 1
    assert len(np.unique(pos[:, 0].round(9))) == 3


def test_draw_wl_refinement_panels_and_stable_colours():
    g = barbell_graph(4, 3)
    history = [np.zeros(11, dtype=int),
               np.array([0, 0, 0, 1, 2, 2, 2, 1, 0, 0, 0]),
               np.array([5, 5, 5, 7, 8, 9, 8, 7, 5, 5, 5])]
    axes = draw_wl_refinement(g, history)
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == ["round 0: 1 colour", "round 1: 3 colours", "round 2: 4 colours"]
    faces = [_nodes(ax).get_facecolors() for ax in axes]
    for face, colors in zip(faces, history):
        for a in range(11):
            np.testing.assert_array_equal(np.all(np.isclose(face, face[a]), axis=1), colors == colors[a])
    np.testing.assert_allclose(faces[1][[0, 3, 4]], faces[2][[0, 3, 4]])  # unsplit classes keep colours
    np.testing.assert_allclose(faces[0][0], faces[2][0])
    fig, own = plt.subplots(1, 3)
    assert list(draw_wl_refinement(g, history, axes=own, titles=["a", "b", "c"])) == list(own)
    assert own[2].get_title() == "c"


def test_categorical_colors_okabe_ito_order():
    np.testing.assert_allclose(categorical_colors([10, 20, 30]), to_rgba_array(OKABE_ITO[:3]))
    assert categorical_colors([]).shape == (0, 4)
    # `categories` gives the palette order, sorted or not.
    np.testing.assert_allclose(categorical_colors([1, 3, 3], categories=[3, 1]), to_rgba_array(OKABE_ITO)[[1, 0, 0]])


def test_use_style_colour_blind_safe_and_readable_on_both_themes():
    assert STYLE_PATH.is_file() and STYLE_PATH.parent.name == "mplib"
    with mpl.rc_context():
        use_style()
        colours = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
        assert [c.upper() for c in colours] == list(OKABE_ITO)
        assert mpl.rcParams["image.cmap"] == "viridis"
        assert mpl.rcParams["figure.facecolor"] == "none" and mpl.rcParams["savefig.transparent"]
        for key in ("text.color", "axes.labelcolor", "axes.edgecolor", "xtick.color", "ytick.color"):
            for page in ("white", "#121212", "#14181e"):  # light page and dark themes
                assert _contrast(mpl.rcParams[key], page) >= 3.0, (key, page)
    assert mpl.rcParams["figure.facecolor"] != "none"  # the context restored the defaults


@pytest.mark.parametrize("call, error, match", [
    (lambda: draw_graph(cycle_graph(4), node_color=[0, 1, 2]), ValueError,
     r"`node_color` must be one colour or have one entry per node \(4\), got shape \(3,\)"),
    (lambda: draw_graph(cycle_graph(4), edge_color=np.ones(5)), ValueError,
     r"`edge_color` must be one colour or have one entry per edge \(8\)"),
    (lambda: draw_graph(cycle_graph(4), edge_width=np.ones(3)), ValueError,
     r"`edge_width` must have one entry per edge \(8\), got 3"),
    (lambda: draw_graph(cycle_graph(4), edge_width=-np.ones(8)), ValueError, r"`edge_width` must be >= 0"),
    (lambda: draw_graph(cycle_graph(4), node_color=["red", "b", "c", "nocolour"]), ValueError,
     r"`node_color` must hold colours, numbers or integer categories"),
    (lambda: draw_graph(cycle_graph(4), edge_color=["red"] * 8), TypeError, r"`edge_color` must be a numeric array"),
    (lambda: draw_graph(cycle_graph(4), pos=np.zeros((3, 2))), ValueError, r"`pos` must have shape \(4, 2\)"),
    (lambda: draw_graph(cycle_graph(4), reduce="sum"), ValueError, r"`reduce` must be 'max' or 'mean'"),
    (lambda: draw_graph(cycle_graph(4), node_color=[0, 1, 0, 5], categories=[0, 1]), ValueError,
     r"`categories` must contain every value; missing \[5\]"),
    (lambda: draw_graph("graph"), TypeError, r"`graph` must be an mplib.Graph, got str"),
    (lambda: layout(cycle_graph(4), "hexagonal"), ValueError, r"`kind` must be one of"),
    (lambda: layout(cycle_graph(5), "grid", shape=(2, 2)), ValueError, r"`shape` \(2, 2\) has fewer cells"),
    (lambda: draw_wl_refinement(cycle_graph(4), []), ValueError, r"`history` must be a non-empty list"),
    (lambda: draw_wl_refinement(cycle_graph(4), [[0, 0, 0]]), ValueError,
     r"`history\[0\]` must hold 4 integer colours, got shape \(3,\)"),
    (lambda: draw_wl_refinement(cycle_graph(4), [[0, 0, 0, 0]], axes=plt.subplots(1, 2)[1]), ValueError,
     r"`axes` must hold one Axes per round \(1\), got 2"),
])
def test_plotting_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
