"""Small helpers the book's pages share, written once so that every page (and test) uses the same code.

- :func:`md_table` shows a table of results as Markdown (several chapters print one).
- :func:`task_table` lists the graded tasks of a released exercise notebook (every
  Hands-On page shows one).
- :func:`karate_club`, :func:`karate_gcn` and :func:`train_karate`: the two-layer GCN of
  Kipf & Welling on Zachary's karate club, the first trained network of the book
  (chapter "Learning in numpy"); read them next to that page.

Import them on a page with ``from mplib.pages import md_table``; they are not part of
``import mplib``, because only the pages need them.
"""

import json
from pathlib import Path

import networkx as nx
import numpy as np
from IPython.display import Markdown

from .autograd import unwrap
from .data import split_per_class
from .functional import dropout, relu
from .graph import from_networkx
from .nn import gcn_conv, gcn_norm
from .train import Adam, accuracy, fit, init_params

__all__ = ["md_table", "task_table", "karate_club", "karate_gcn", "train_karate"]


def md_table(header, rows, digits=None):
    """A Markdown table from a header and rows of cells, shown as a table by Jupyter.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : iterable of sequences
        One sequence of cells per row, each as long as ``header``.
    digits : int, optional
        Round float cells to this many decimal places; without it every cell is ``str(cell)``.

    Example
    -------
    >>> print(md_table(["graph", "nodes"], [("path", 3), ("ratio", 0.12345)], digits=2).data)
    | graph | nodes |
    |---|---|
    | path | 3 |
    | ratio | 0.12 |
    """
    header = list(header)

    def cell(v):
        if digits is not None and isinstance(v, (float, np.floating)):
            return f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        row = list(row)
        if len(row) != len(header):
            raise ValueError(f"md_table: a row has {len(row)} cells, but `header` has {len(header)}: {row}")
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return Markdown("\n".join(lines))


def task_table(path):
    """The graded tasks of a released nbgrader notebook: ``[title, function, points]`` per task.

    A task starts at a Markdown cell whose text begins with ``## Task``; its
    solution cell names the function (``grade_id``) and the graded test cells
    after it carry the points.

    Parameters
    ----------
    path : str or Path
        The ``.ipynb`` file of the released notebook.
    """
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    rows, title = [], None
    for cell in cells:
        meta = cell["metadata"].get("nbgrader", {})
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and text.startswith("## Task"):
            title = text.splitlines()[0][3:].rsplit(" (", 1)[0]
        elif meta.get("solution") and title:
            rows.append([title, f"`{meta['grade_id']}`", 0])
        elif meta.get("grade"):
            rows[-1][2] = meta["points"]
    return rows


def karate_club():
    """Zachary's karate club as a :class:`~mplib.graph.Graph`, and each member's club.

    Returns
    -------
    graph : Graph
        34 nodes (node ``k`` is member ``k`` of ``networkx.karate_club_graph()``), 78 friendships.
    y : ndarray of int, shape (34,)
        0 for Mr. Hi's club, 1 for the Officer's.
    """
    graph = from_networkx(nx.karate_club_graph(), y="club")
    return graph, (graph.y == "Officer").astype(int)


def karate_gcn(p, data, training, rng, dropout_p=0.5, adj=None):
    r"""Kipf & Welling's two-layer GCN on one-hot features: :math:`Z = \hat S\,\mathrm{ReLU}(\hat S X W_1 + b_1) W_2 + b_2`.

    The input of member ``k`` is its one-hot indicator (``X = I``), so the network
    sees the friendships only. Dropout acts on the hidden layer while ``training``.

    Parameters
    ----------
    p : dict
        ``W1`` (N, hidden), ``b1`` (hidden,), ``W2`` (hidden, classes), ``b2`` (classes,).
    data : Graph
    training : bool
    rng : numpy.random.Generator or None
        Draws the dropout mask.
    dropout_p : float
    adj : sparse matrix, optional
        :math:`\hat S` from :func:`mplib.nn.gcn_norm`; computed from ``data`` when not given
        (pass it to save that work every epoch).
    """
    if adj is None:
        adj = gcn_norm(data.edge_index, data.num_nodes)
    x = np.eye(data.num_nodes)
    h = relu(gcn_conv(x, data.edge_index, p["W1"], p["b1"], adj=adj))
    h = dropout(h, dropout_p, training=training, rng=rng)
    return gcn_conv(h, data.edge_index, p["W2"], p["b2"], adj=adj)


def train_karate(seed, labels_per_class=2, hidden=16, dropout=0.5, lr=0.01,
                 weight_decay=5e-4, epochs=200, diary=None):
    """Train :func:`karate_gcn` on ``labels_per_class`` members per club drawn with ``seed``.

    Adam with weight decay, cross-entropy on the labelled members, ``epochs`` full steps
    (:func:`mplib.train.fit`).

    Parameters
    ----------
    seed : int
        Draws the labelled members, the initial weights and the dropout masks.
    diary : list, optional
        If given, receives the accuracy on the unlabelled members after every epoch
        (``fit`` evaluates the model once per epoch, without dropout); it only watches.

    Returns
    -------
    params : dict, history : mplib.train.History, train_idx, test_idx : ndarray of int
    """
    graph, y = karate_club()
    adj = gcn_norm(graph.edge_index, graph.num_nodes)
    train_idx, _, test_idx = split_per_class(y, labels_per_class, rng=seed)
    shapes = {"W1": (graph.num_nodes, hidden), "b1": (hidden,), "W2": (hidden, 2), "b2": (2,)}
    params = init_params(shapes, rng=seed)

    def model(p, data, training, rng):
        out = karate_gcn(p, data, training, rng, dropout_p=dropout, adj=adj)
        if diary is not None and not training:
            diary.append(accuracy(unwrap(out)[test_idx], y[test_idx]))
        return out

    opt = Adam(lr=lr, weight_decay=weight_decay)
    params, history = fit(model, params, graph, y, train_idx, optimizer=opt, epochs=epochs,
                          rng=seed, verbose=False)
    return params, history, train_idx, test_idx
