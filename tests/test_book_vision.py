"""Claims of book/applications/03_vision.md ("Computer vision: pixels, points and scenes as graphs").

Nothing is read from the page: the constants below mirror its parameter cell, the random draws
are repeated in the page's order (``page_draws``), and every glued number or stated fact is
recomputed with mplib. Where the page shows one instance of a general fact (a convolution is
message passing; a direction-blind network cannot see orientation), the test also checks it on
random inputs.
"""

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import correlate
from scipy.signal import correlate2d

from mplib.graph import Graph
from mplib.layers import edge_conv, make_mlp, nn_conv
from mplib.message_passing import propagate
from mplib.vision import digit_image, image_to_graph, knn_graph, outline_points
from mplib.wl import wl_test

PAGE = Path(__file__).resolve().parent.parent / "book" / "applications" / "03_vision.md"

# Mirrors the parameter cell of the page.
SEED = 0
DIGIT = dict(digit=2, height=11, width=7, thickness=2, pad=2)
SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
ISO_SELF, ISO_NEIGH = 0.5, 0.25
BAR_SIZE, BAR_ROWS, BAR_COLS = 16, (3, 13), (7, 9)
SHIFT = (2, 3)
NUM_POINTS, K = 48, 6
HIDDEN = 16
TRANSLATION = np.array([3.0, -2.0])
TURN = np.pi / 6
NUM_TRAIN, NUM_TEST, NOISE, RIDGE = 200, 200, 0.03, 1.0
NUM_SHUFFLES = 20

# The page's scenes.
OBJECTS = ["person", "cup", "table", "lamp"]
RELATIONS = ["holding", "on", "left of"]
SCENES = {
    "A: cup on table": [("person", "holding", "cup"), ("cup", "on", "table"), ("lamp", "on", "table")],
    "B: table on cup": [("person", "holding", "cup"), ("table", "on", "cup"), ("lamp", "on", "table")],
    "C: cup left of table": [("person", "holding", "cup"), ("cup", "left of", "table"), ("lamp", "on", "table")],
}
EXPECTED_WL = {  # the page's table: does 1-WL separate scene A from ...?
    "B: table on cup": {"undirected, untyped": False, "directed, untyped": True, "typed + inverses": True},
    "C: cup left of table": {"undirected, untyped": False, "directed, untyped": False, "typed + inverses": True},
}


def page_draws():
    """The page's random draws, in the page's order (one generator seeded with SEED)."""
    rng = np.random.default_rng(SEED)
    d = {"kernel": rng.standard_normal((3, 3))}
    d["w1"], d["w2"] = rng.standard_normal((2, 8)), rng.standard_normal((16, 8))
    d["weights"] = [rng.standard_normal((4, HIDDEN)), rng.standard_normal((HIDDEN, HIDDEN)) / np.sqrt(HIDDEN)]
    d["biases"] = [0.1 * rng.standard_normal(HIDDEN), None]
    d["order"] = rng.permutation(NUM_POINTS)
    d["w_self"] = rng.standard_normal((4, 4))
    d["w_rel"] = rng.standard_normal((2 * len(RELATIONS), 4, 4))
    return d


def conv_by_messages(image, kernel, periodic=False):
    """The page's 3x3 correlation as message passing with offset-dependent weights."""
    g = image_to_graph(image, connectivity=8, periodic=periodic)
    off = g.edge_attr.astype(int)
    taps = kernel[off[:, 0] + 1, off[:, 1] + 1]
    out = propagate(g.x, g.edge_index, message=lambda x_i, x_j, e: taps[:, None] * x_j,
                    update=lambda x, m: kernel[1, 1] * x + m)
    return out[:, 0].reshape(image.shape)


def blind_gnn(img, w1, w2):
    """The page's two-round direction-blind network (max, then sum aggregation)."""
    g = image_to_graph(img, connectivity=8)
    h = np.maximum(np.hstack([g.x, propagate(g.x, g.edge_index, aggregate="max")]) @ w1, 0.0)
    h = np.maximum(np.hstack([h, propagate(h, g.edge_index, aggregate="sum")]) @ w2, 0.0)
    return h.reshape(img.shape + (w2.shape[1],))


def bars():
    vertical = np.zeros((BAR_SIZE, BAR_SIZE))
    vertical[slice(*BAR_ROWS), slice(*BAR_COLS)] = 1.0
    return vertical, vertical.T.copy()


# ---- pixels as nodes ----------------------------------------------------------------------

def test_grid_graph_sizes_of_the_digit():
    image = digit_image(**DIGIT)
    rows, cols = image.shape
    assert (rows, cols) == (15, 11)
    g4, g8 = image_to_graph(image, 4), image_to_graph(image, 8)
    assert g4.num_nodes == g8.num_nodes == 165
    assert g4.num_edges // 2 == rows * (cols - 1) + cols * (rows - 1) == 304
    assert g8.num_edges // 2 == 304 + 2 * (rows - 1) * (cols - 1) == 584
    inner = 5 * cols + 5  # pixel (5, 5) sees all eight directions
    assert sorted(map(tuple, g8.edge_attr[g8.edge_index[1] == inner].tolist())) == \
        [(a, b) for a in (-1.0, 0.0, 1.0) for b in (-1.0, 0.0, 1.0) if (a, b) != (0.0, 0.0)]


# ---- convolution as message passing ------------------------------------------------------

def test_conv_equals_message_passing_on_the_page_and_at_random():
    image, kernel = digit_image(**DIGIT), page_draws()["kernel"]
    assert np.abs(conv_by_messages(image, kernel) - correlate2d(image, kernel, mode="same")).max() < 1e-12
    assert np.abs(conv_by_messages(image, kernel, True) - correlate(image, kernel, mode="wrap")).max() < 1e-12
    rng = np.random.default_rng(1)
    for _ in range(10):
        img, ker = rng.standard_normal(tuple(rng.integers(3, 10, 2))), rng.standard_normal((3, 3))
        assert np.abs(conv_by_messages(img, ker) - correlate2d(img, ker, mode="same")).max() < 1e-12


def test_nn_conv_with_one_hot_offsets_is_the_convolution():
    image, kernel = digit_image(**DIGIT), page_draws()["kernel"]
    g8 = image_to_graph(image, 8)
    off = g8.edge_attr.astype(int)
    y = nn_conv(g8.x, g8.edge_index, edge_attr=np.eye(9)[(off[:, 0] + 1) * 3 + off[:, 1] + 1],
                edge_network=lambda e: e @ kernel.reshape(9, 1), weight_root=[[kernel[1, 1]]])
    assert np.abs(y[:, 0].reshape(image.shape) - correlate2d(image, kernel, mode="same")).max() < 1e-12


def test_conv_on_the_torus_is_shift_equivariant():
    image, kernel = digit_image(**DIGIT), page_draws()["kernel"]
    shifted = conv_by_messages(np.roll(image, SHIFT, axis=(0, 1)), kernel, periodic=True)
    assert np.abs(shifted - np.roll(conv_by_messages(image, kernel, True), SHIFT, axis=(0, 1))).max() < 1e-12


# ---- the direction-blind message ---------------------------------------------------------

def test_plain_layer_is_an_isotropic_convolution():
    image = digit_image(**DIGIT)
    g8 = image_to_graph(image, 8)
    iso = np.full((3, 3), ISO_NEIGH)
    iso[1, 1] = ISO_SELF
    y = propagate(g8.x, g8.edge_index, update=lambda x, m: ISO_SELF * x + ISO_NEIGH * m)
    assert np.abs(y[:, 0].reshape(image.shape) - correlate2d(image, iso, mode="same")).max() < 1e-12
    for q in range(4):
        np.testing.assert_array_equal(np.rot90(iso, q), iso)
        np.testing.assert_array_equal(np.rot90(iso.T, q), iso)
    assert not np.array_equal(SOBEL_X.T, SOBEL_X)  # the Sobel kernel is not: no plain layer gives it


def test_sobel_sees_orientation():
    vertical, horizontal = bars()
    energy = [float((correlate2d(img, SOBEL_X, mode="same") ** 2).sum()) for img in (vertical, horizontal)]
    assert energy == [592.0, 80.0]
    assert energy[0] / energy[1] == pytest.approx(7.4)
    # a convolution does not commute with the transpose: it commutes with translations only
    resp_t = correlate2d(horizontal, SOBEL_X, mode="same")
    assert np.abs(resp_t - correlate2d(vertical, SOBEL_X, mode="same").T).max() == 6.0


def test_blind_gnn_cannot_see_orientation():
    d = page_draws()
    vertical, horizontal = bars()
    fv, fh = blind_gnn(vertical, d["w1"], d["w2"]), blind_gnn(horizontal, d["w1"], d["w2"])
    assert np.abs(fh - fv.transpose(1, 0, 2)).max() < 1e-12
    assert np.abs(fh.sum(axis=(0, 1)) - fv.sum(axis=(0, 1))).max() < 1e-12
    ch = int(np.argmax(fv.std(axis=(0, 1))))  # the channel the page shows
    assert fv[..., ch].sum() > 1.0 and np.count_nonzero(fv[..., ch]) > 20  # not trivially zero
    # the general statement: any weights, any square image, transposes and quarter turns
    rng = np.random.default_rng(2)
    for _ in range(5):
        w1, w2 = rng.standard_normal((2, 8)), rng.standard_normal((16, 8))
        img = rng.standard_normal((9, 9))
        f = blind_gnn(img, w1, w2)
        assert np.abs(blind_gnn(img.T, w1, w2) - f.transpose(1, 0, 2)).max() < 1e-12
        assert np.abs(blind_gnn(np.rot90(img), w1, w2) - np.rot90(f)).max() < 1e-12


# ---- point clouds -------------------------------------------------------------------------

def page_mlps():
    d = page_draws()
    mlp_full = make_mlp(d["weights"], d["biases"])
    mlp_local = make_mlp([d["weights"][0][2:], d["weights"][1]], d["biases"])
    return mlp_full, (lambda z: mlp_local(z[:, 2:])), d["order"]


def test_knn_graph_of_the_clouds_has_k_in_edges():
    for pts in (outline_points("circle", NUM_POINTS, rng=SEED), outline_points("square", NUM_POINTS, rng=SEED + 1)):
        ei = knn_graph(pts, K)
        assert ei.shape == (2, NUM_POINTS * K)
        np.testing.assert_array_equal(np.bincount(ei[1], minlength=NUM_POINTS), K)


def test_edge_conv_translation_and_reordering():
    mlp_full, local, order = page_mlps()
    square = outline_points("square", NUM_POINTS, rng=SEED + 1)
    ei = knn_graph(square, K)
    moved = square + TRANSLATION
    ei_moved = knn_graph(moved, K)
    np.testing.assert_array_equal(ei_moved, ei)  # "same graph: yes"
    assert np.abs(edge_conv(moved, ei_moved, local) - edge_conv(square, ei, local)).max() < 1e-12
    move_full = np.abs(edge_conv(moved, ei_moved, mlp_full) - edge_conv(square, ei, mlp_full)).max()
    assert move_full > 1.0  # page: 6.67
    shuffled = square[order]
    reorder = np.abs(edge_conv(shuffled, knn_graph(shuffled, K), mlp_full) - edge_conv(square, ei, mlp_full)[order])
    assert reorder.max() < 1e-12


def test_shape_classifier_beats_its_shuffled_control():
    _, local, _ = page_mlps()

    def random_cloud(shape, rng):
        pts = outline_points(shape, NUM_POINTS, rng=rng, noise=NOISE)
        a = rng.uniform(0, 2 * np.pi)
        turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        return pts @ turn.T + 5.0 * rng.standard_normal(2)

    def dataset(num, rng):
        labels = np.arange(num) % 2
        feats = []
        for y in labels:
            h = edge_conv(pts := random_cloud(("circle", "square")[y], rng), knn_graph(pts, K), local)
            feats.append(np.concatenate([h.max(axis=0), h.mean(axis=0)]))
        return np.array(feats), labels

    def design(feats, mean, std):
        return np.hstack([(feats - mean) / std, np.ones((len(feats), 1))])

    def fit(feats, labels, mean, std):
        a = design(feats, mean, std)
        return np.linalg.solve(a.T @ a + RIDGE * np.eye(a.shape[1]), a.T @ (2.0 * labels - 1))

    rng = np.random.default_rng(SEED + 2)
    x_train, y_train = dataset(NUM_TRAIN, rng)
    x_test, y_test = dataset(NUM_TEST, rng)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-12
    acc = np.mean((design(x_test, mean, std) @ fit(x_train, y_train, mean, std) > 0) == y_test)
    control = np.mean([np.mean((design(x_test, mean, std) @ fit(x_train, rng.permutation(y_train), mean, std) > 0)
                               == y_test) for _ in range(NUM_SHUFFLES)])
    assert acc >= 0.95  # page: 97.5 %
    assert abs(control - 0.5) < 0.05  # page: 50.9 %, "the rate of a coin toss"


# ---- scenes -------------------------------------------------------------------------------

def scene_graph(triples, typed=True, directed=False):
    s = np.array([OBJECTS.index(a) for a, _, _ in triples])
    o = np.array([OBJECTS.index(b) for _, _, b in triples])
    r = np.array([RELATIONS.index(rel) for _, rel, _ in triples])
    if directed:
        edge_index, edge_type = np.stack([s, o]), r
    else:
        edge_index = np.stack([np.concatenate([s, o]), np.concatenate([o, s])])
        edge_type = np.concatenate([r, r + len(RELATIONS)])
    if not typed:
        edge_type = np.zeros_like(edge_type)
    return Graph(edge_index, num_nodes=len(OBJECTS), x=np.eye(len(OBJECTS)), edge_attr=edge_type[:, None])


def rgcn_layer(graph, w_self, w_rel):
    out = graph.x @ w_self
    edge_type = graph.edge_attr[:, 0].astype(int)
    for r, w in enumerate(w_rel):
        out = out + propagate(graph.x, graph.edge_index[:, edge_type == r], aggregate="mean") @ w
    return out


def test_scenes_share_one_untyped_graph():
    graphs = [scene_graph(t, typed=False) for t in SCENES.values()]
    for g in graphs[1:]:
        as_set = lambda e: set(map(tuple, e.T.tolist()))
        assert as_set(g.edge_index) == as_set(graphs[0].edge_index)


def test_typed_messages_separate_the_scenes():
    d = page_draws()
    a, b = "A: cup on table", "B: table on cup"
    untyped = [rgcn_layer(scene_graph(SCENES[s], typed=False), d["w_self"], d["w_rel"][:1]) for s in (a, b)]
    typed = [rgcn_layer(scene_graph(SCENES[s]), d["w_self"], d["w_rel"]) for s in (a, b)]
    assert np.abs(untyped[0] - untyped[1]).max() == 0.0
    assert np.abs(typed[0] - typed[1]).max() > 0.5  # page: 1.63
    result = wl_test(scene_graph(SCENES[a]), scene_graph(SCENES[b]), use_edge_attr=True)
    assert result.distinguished and result.iteration == 1


@pytest.mark.parametrize("other", list(EXPECTED_WL))
def test_scene_wl_table(other):
    a, o = SCENES["A: cup on table"], SCENES[other]
    got = {
        "undirected, untyped": wl_test(scene_graph(a, typed=False), scene_graph(o, typed=False)).distinguished,
        "directed, untyped": wl_test(scene_graph(a, typed=False, directed=True),
                                     scene_graph(o, typed=False, directed=True)).distinguished,
        "typed + inverses": wl_test(scene_graph(a), scene_graph(o), use_edge_attr=True).distinguished,
    }
    assert got == EXPECTED_WL[other]


def test_exercise_3_without_inverse_types_on_and_under_merge():
    # self-check 3: giving the reverse edge the same type makes "cup on table" and "table on cup" equal
    def same_type_both_ways(triples):
        g = scene_graph(triples)
        return Graph(g.edge_index, num_nodes=g.num_nodes, x=g.x, edge_attr=g.edge_attr % len(RELATIONS))

    a, b = (same_type_both_ways(SCENES[s]) for s in ("A: cup on table", "B: table on cup"))
    assert not wl_test(a, b, use_edge_attr=True).distinguished


def test_exercise_1_plus_kernel_and_mean_breaks_it_at_the_border():
    rng = np.random.default_rng(3)
    image = rng.standard_normal((6, 7))
    g4 = image_to_graph(image, 4)
    plus = np.array([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
    y_sum = propagate(g4.x, g4.edge_index, update=lambda x, m: x + m)[:, 0].reshape(image.shape)
    assert np.abs(y_sum - correlate2d(image, plus, mode="same")).max() < 1e-12
    quarter = np.where(plus == 1, 0.25, 0.0)
    quarter[1, 1] = 1.0
    y_mean = propagate(g4.x, g4.edge_index, aggregate="mean", update=lambda x, m: x + m)[:, 0].reshape(image.shape)
    gap = np.abs(y_mean - correlate2d(image, quarter, mode="same"))
    assert gap[1:-1, 1:-1].max() < 1e-12 and gap[0].min() > 0 and gap[:, 0].min() > 0


# ---- rotations and reflections of a point cloud ------------------------------------------

def rotation(angle):
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def test_edge_conv_features_are_not_rotation_invariant():
    _, local, _ = page_mlps()
    square = outline_points("square", NUM_POINTS, rng=SEED + 1)
    ei = knn_graph(square, K)
    turned = square @ rotation(TURN).T
    np.testing.assert_array_equal(knn_graph(turned, K), ei)  # page: "same graph: yes"
    change = np.abs(edge_conv(turned, ei, local) - edge_conv(square, ei, local)).max()
    assert change > 0.1  # page: 0.50; the offsets turned, so the features moved


def test_exercise_2_rotations_and_reflections_keep_the_knn_graph_not_the_features():
    _, local, _ = page_mlps()
    rng = np.random.default_rng(4)
    mirror = np.array([[1.0, 0.0], [0.0, -1.0]])
    for shape in ("circle", "square"):
        pts = outline_points(shape, NUM_POINTS, rng=rng, noise=NOISE)
        ei = knn_graph(pts, K)
        pairs = set(map(tuple, ei.T.tolist()))
        base = edge_conv(pts, ei, local)
        for transform in [rotation(a) for a in rng.uniform(0.2, 2 * np.pi - 0.2, 3)] + [mirror]:
            moved = pts @ transform.T
            moved_ei = knn_graph(moved, K)
            assert set(map(tuple, moved_ei.T.tolist())) == pairs  # distances are unchanged
            assert np.abs(edge_conv(moved, moved_ei, local) - base).max() > 1e-3
        # but the lengths |x_j - x_i| alone are invariant: the fix the solution names
        src, dst = ei
        lengths = np.linalg.norm(pts[src] - pts[dst], axis=1)
        turned = pts @ rotation(1.0).T
        np.testing.assert_allclose(np.linalg.norm(turned[src] - turned[dst], axis=1), lengths)


def test_exercise_1_mean_taps_are_a_quarter_a_third_and_a_half():
    g4 = image_to_graph(np.zeros((6, 7)), 4)
    degree = np.bincount(g4.edge_index[1], minlength=42).reshape(6, 7)
    assert degree[1:-1, 1:-1].min() == degree[1:-1, 1:-1].max() == 4  # inside: 1/4
    assert set(degree[0, 1:-1].tolist()) == set(degree[1:-1, 0].tolist()) == {3}  # an edge: 1/3
    assert {degree[0, 0], degree[0, -1], degree[-1, 0], degree[-1, -1]} == {2}  # a corner: 1/2


# ---- the page itself ----------------------------------------------------------------------

def code_cells(text):
    """(metadata lines, source lines) of every code cell of a MyST page."""
    cells = []
    for block in text.split("```{code-cell} ipython3\n")[1:]:
        lines = block.split("\n```", 1)[0].splitlines()
        meta = [line for line in lines if line.startswith(":")]
        cells.append((meta, lines[len(meta):]))
    return cells


def test_page_parameters_match_the_tests():
    cells = code_cells(PAGE.read_text())
    params = next(source for _, source in cells if source and source[0].startswith("SEED = 0"))
    found = {}
    exec("\n".join(params), {"np": np}, found)
    for name, value in found.items():
        np.testing.assert_array_equal(value, globals()[name], err_msg=name)



def test_figure_text_is_at_least_8_points():
    sizes = [float(v) for v in re.findall(r"fontsize=(\d+(?:\.\d+)?)", PAGE.read_text())]
    assert sizes and min(sizes) >= 8


def test_rotation_claim_is_computed_and_cross_references_exist():
    text = PAGE.read_text()
    assert "not rotation invariant" in text
    for name in ("turn-degrees", "knn-same-turned", "turn-local"):
        assert f"{{glue:text}}`{name}" in text
    assert "learning chapters" not in text
    for target in re.findall(r"\{doc\}`(?:[^<`]*<)?([^>`]+)>?`", text):
        assert (PAGE.parent / f"{target}.md").exists(), target
