"""Claims of book/intro.md ("Message Passing").

The numbers the page glues (the middle node's value after one round, the size of the karate
club) are read from the executed page and checked against hand arithmetic and networkx; the
facts its figure and prose state are checked with mplib against networkx.
"""

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mplib.generators import grid_graph, wl_pairs
from mplib.graph import Graph, from_networkx, to_networkx
from mplib.message_passing import propagate
from mplib.wl import wl_test

from book_values import page_values

PAGE = Path(__file__).resolve().parent.parent / "book" / "intro.md"


def markdown(text):
    """The page's text without its code cells."""
    first, *cells = text.split("```{code-cell} ipython3")
    return first + "".join(cell.split("\n```", 1)[-1] for cell in cells)


# -- "A first round" -------------------------------------------------------------------------


def test_first_round_row_zero_sends_row_one_receives():
    # a one-way edge 0 -> 1: only node 1 hears anything, which is what "senders u" means
    h = propagate(np.array([[3.0], [0.0]]), np.array([[0], [1]]), aggregate="sum")
    assert h[:, 0].tolist() == [0.0, 3.0]


def test_relabelling_the_nodes_relabels_the_output():
    # the page's promise: nothing depends on the numbering
    edge_index = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    x = np.array([[1.0], [2.0], [4.0]])
    perm = np.array([2, 0, 1])  # old node k becomes new node perm[k]
    x_new = np.empty_like(x)
    x_new[perm] = x
    h = propagate(x, edge_index, aggregate="sum")
    h_new = propagate(x_new, perm[edge_index], aggregate="sum")
    np.testing.assert_array_equal(h_new[perm], h)


# -- the three graphs of the figure -----------------------------------------------------------


def test_karate_club_has_two_clubs():
    karate = nx.karate_club_graph()
    assert {karate.nodes[v]["club"] for v in karate} == {"Officer", "Mr. Hi"}  # two colours in the figure
    assert from_networkx(karate).num_edges == 2 * karate.number_of_edges()    # both directions


def test_karate_round_runs_on_the_whole_club():
    # "the same one-line call would run a round on it"
    g = from_networkx(nx.karate_club_graph())
    h = propagate(np.ones((g.num_nodes, 1)), g.edge_index, aggregate="sum")
    degrees = np.array([d for _, d in nx.karate_club_graph().degree()])
    np.testing.assert_array_equal(h[:, 0], degrees)


def test_grid_of_the_figure_is_four_by_five():
    g = grid_graph(4, 5)
    assert g.num_nodes == 20
    assert nx.is_isomorphic(to_networkx(g), nx.grid_2d_graph(4, 5))


def test_c6_and_two_triangles_look_alike_to_every_node():
    c6, two_c3 = wl_pairs()["C6 vs 2xC3"]
    for g in (c6, two_c3):
        assert g.num_nodes == 6 and np.all(g.degree() == 2)  # every node has two neighbours
    assert not wl_test(c6, two_c3).distinguished
    assert nx.is_connected(to_networkx(c6))
    assert nx.number_connected_components(to_networkx(two_c3)) == 2
    # the figure draws both side by side as one graph of 12 nodes
    pair = Graph(np.concatenate([c6.edge_index, two_c3.edge_index + 6], axis=1), num_nodes=12)
    assert nx.number_connected_components(to_networkx(pair)) == 3


# -- the page itself --------------------------------------------------------------------------


def test_page_glues_its_numbers_instead_of_typing_them():
    text = PAGE.read_text()
    for name in ("intro_middle", "karate_nodes", "karate_edges"):
        assert f'glue("{name}"' in text and f"{{glue:text}}`{name}" in text
    assert "holds {glue:text}`intro_middle" in text
    prose = markdown(text.split("## A first round", 1)[1].split("## What the book covers", 1)[0])
    for typed in ("34", "78", "holds 5"):
        assert typed not in prose


@pytest.mark.needs_book
def test_glued_numbers():
    v = page_values("intro")
    assert v["intro_middle"] == 1.0 + 4.0            # the middle node hears both ends
    G = nx.karate_club_graph()
    assert (v["karate_nodes"], v["karate_edges"]) == (G.number_of_nodes(), G.number_of_edges())
