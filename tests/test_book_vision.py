"""The claims of book/applications/03_vision.md, checked on the page's own numbers.

Values come from the executed page (:func:`book_values.page_values`). References: edge
counts of 4- and 8-neighbour grids in closed form, networkx's grid graphs, chance levels,
and the equalities the page demonstrates (up to rounding).
"""

import networkx as nx
import numpy as np
import pytest

from book_values import page_values

pytestmark = pytest.mark.needs_book


@pytest.fixture(scope="module")
def v():
    return page_values("applications/03_vision")


def test_image_as_a_grid_graph(v):
    r, c = v["img-rows"], v["img-cols"]
    assert v["img-nodes"] == r * c
    assert v["img-edges4"] == nx.grid_2d_graph(r, c).number_of_edges() == r * (c - 1) + c * (r - 1)
    assert v["img-edges8"] == v["img-edges4"] + 2 * (r - 1) * (c - 1)   # plus both diagonals


def test_convolution_is_message_passing(v):
    for name in ("conv-diff", "nnconv-diff", "wrap-diff", "shift-diff", "iso-diff",
                 "gnn-transpose-diff", "gnn-pooled-diff", "reorder-diff", "move-local",
                 "scene-untyped-diff"):
        assert v[name] < 1e-10, name
    assert (v["shift-rows"], v["shift-cols"]) == (2, 3)


def sobel_energy(image, kernel):
    """Sum of squares of the 'same'-size cross-correlation, zero padding, by shifted slices."""
    n = image.shape[0]
    padded = np.pad(image, 1)
    out = sum(kernel[a, b] * padded[a:a + n, b:b + n] for a in range(3) for b in range(3))
    return float((out**2).sum())


def test_sobel_sees_the_vertical_bar(v):
    bar = v["bar"]
    vertical = np.zeros((bar["size"], bar["size"]))
    vertical[slice(*bar["rows"]), slice(*bar["cols"])] = 1.0
    kernel = np.array(bar["sobel"])
    assert v["sobel-vertical"] == sobel_energy(vertical, kernel)
    assert v["sobel-horizontal"] == sobel_energy(vertical.T, kernel)
    assert v["sobel-ratio"] == pytest.approx(v["sobel-vertical"] / v["sobel-horizontal"])
    assert v["sobel-ratio"] > 5


def test_point_clouds(v):
    assert v["knn-same-graph"] == "yes" and v["knn-same-turned"] == "yes"
    assert (v["move-x"], v["move-y"]) == (3.0, -2.0) and v["turn-degrees"] == pytest.approx(30.0)
    assert v["move-full"] > 1                     # absolute positions move with the cloud
    assert v["turn-local"] > 0.1                  # relative offsets turn with it
    assert v["cls-points"] > 0 and v["cls-train"] > 0 and v["cls-test"] > 0
    assert v["cls-acc"] > 0.9 and v["cls-control"] == pytest.approx(0.5, abs=0.05)
    assert v["cls-shuffles"] >= 10


def test_scene_graphs_need_edge_types(v):
    assert v["scene-typed-diff"] > 0.1 and v["scene-wl-round"] == 1
