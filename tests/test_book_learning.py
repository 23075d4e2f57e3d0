"""Claims of book/principles/05_learning.md ("Learning in numpy"), re-derived with mplib.

The page glues its numbers; these tests retrain every model from the same parameters (mirrored
below and kept in sync by ``test_page_parameters_match_the_tests``; nothing else is read from
the page) and assert each claim with a margin, so that a last-bit change in floating point
cannot flip them. The task generators are checked against loop oracles, and every experiment is
checked to be reproducible: same seed, same numbers, bit for bit.

The expensive experiments (depth, homophily sweep, trees) run once per session in fixtures.
"""

import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mplib.autograd import numerical_grad, value_and_grad
from mplib.data import batch_graphs, split_per_class
from mplib.diagnostics import dirichlet_energy
from mplib.functional import cross_entropy, dropout, elu, relu
from mplib.generators import contextual_sbm, random_graph, tree
from mplib.graph import Graph, from_networkx
from mplib.layers import gat_conv as plain_gat_conv
from mplib.nn import gat_conv, gcn_conv, gcn_norm, linear, sage_conv
from mplib.train import Adam, accuracy, fit, init_params, predict

PAGE = Path(__file__).resolve().parent.parent / "book" / "principles" / "05_learning.md"

# Mirrors the parameter cell of the page.
SEED = 0
KARATE = dict(labels_per_class=2, hidden=16, dropout=0.5, lr=0.01, weight_decay=5e-4,
              epochs=200)
KARATE_SPLITS = 10
INFORMANTS = dict(num_readers=200, num_informants=2, num_distractors=6,
                  signal_noise=0.5, distractor_scale=2.0)
GAT = dict(hidden=8, lr=0.02, epochs=200, labels_per_class=20)
TRAIN = dict(hidden=16, lr=0.01, epochs=200, labels_per_class=20)
DEPTH_CSBM = dict(num_nodes=400, avg_degree=5.0, homophily=0.7, mu=1.0, feature_dim=2)
DEPTHS = (1, 2, 4, 8, 16)
DEPTH_SEEDS = (0, 1, 2)
HETERO_CSBM = dict(num_nodes=400, avg_degree=5.0, homophily=0.3, mu=1.0, feature_dim=2)
HOMOPHILY_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
TREE = dict(depths=(2, 3, 4), hidden=16, batch=64, steps=300, lr=0.01, tail=50)

PAGE_PARAMETERS = ("SEED", "KARATE", "KARATE_SPLITS", "INFORMANTS", "GAT", "TRAIN", "DEPTH_CSBM", "DEPTHS",
                   "DEPTH_SEEDS", "HETERO_CSBM", "HOMOPHILY_GRID", "TREE")
R = INFORMANTS["num_readers"]
K_LEAVES = INFORMANTS["num_informants"] + INFORMANTS["num_distractors"]


def test_page_parameters_match_the_tests():
    text = PAGE.read_text()
    cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", text, flags=re.S)
    cell = next(c for c in cells if re.search(r"^SEED = ", c, flags=re.M))
    page = {}
    exec(cell, {}, page)
    assert set(page) == set(PAGE_PARAMETERS), f"page parameters {sorted(page)} != {sorted(PAGE_PARAMETERS)}"
    for name, value in page.items():
        assert value == globals()[name], name


# ---------------------------------------------------------------- the machinery

X_PATH = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 1.0]])
EI_PATH = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
Y_PATH = np.array([0, 1, 1])
W0 = {"W": np.array([[0.3, -0.2], [0.1, 0.4]])}


def path_loss(p):
    return cross_entropy(gcn_conv(X_PATH, EI_PATH, p["W"]), Y_PATH)


def test_gradient_of_page_example_matches_finite_differences():
    _, grads = value_and_grad(path_loss, W0)
    numeric = numerical_grad(path_loss, W0)
    assert np.abs(grads["W"] - numeric["W"]).max() < 1e-8
    assert np.abs(grads["W"]).max() > 1e-3          # a zero gradient would agree trivially


def test_fifty_adam_steps_lower_the_loss_and_leave_the_start_alone():
    before = W0["W"].copy()
    params, opt = W0, Adam(lr=0.1)
    for _ in range(50):
        _, grads = value_and_grad(path_loss, params)
        params = opt.step(params, grads)
    assert path_loss(params).item() < path_loss(W0).item() - 0.1
    np.testing.assert_array_equal(W0["W"], before)


# ---------------------------------------------------------------- karate club

KARATE_GRAPH = from_networkx(nx.karate_club_graph(), y="club")
Y_CLUB = (KARATE_GRAPH.y == "Officer").astype(int)
X_ONEHOT = np.eye(KARATE_GRAPH.num_nodes)
ADJ_KARATE = gcn_norm(KARATE_GRAPH.edge_index, KARATE_GRAPH.num_nodes)


def karate_gcn(p, data, training, rng):
    h = relu(gcn_conv(X_ONEHOT, data.edge_index, p["W1"], p["b1"], adj=ADJ_KARATE))
    h = dropout(h, KARATE["dropout"], training=training, rng=rng)
    return gcn_conv(h, data.edge_index, p["W2"], p["b2"], adj=ADJ_KARATE)


def train_karate(seed):
    train_idx, _, test_idx = split_per_class(Y_CLUB, KARATE["labels_per_class"], rng=seed)
    h = KARATE["hidden"]
    params = init_params({"W1": (34, h), "b1": (h,), "W2": (h, 2), "b2": (2,)}, rng=seed)
    opt = Adam(lr=KARATE["lr"], weight_decay=KARATE["weight_decay"])
    params, history = fit(karate_gcn, params, KARATE_GRAPH, Y_CLUB, train_idx, optimizer=opt,
                          epochs=KARATE["epochs"], rng=seed, verbose=False)
    acc = accuracy(predict(karate_gcn, params, KARATE_GRAPH)[test_idx], Y_CLUB[test_idx])
    return params, history, train_idx, test_idx, acc


def test_karate_gcn_classifies_unlabelled_members():
    _, history, train_idx, test_idx, acc = train_karate(SEED)
    assert train_idx.size == 2 * KARATE["labels_per_class"] and test_idx.size == 30
    assert acc >= 0.9                                   # the page: "nearly all members"
    assert history.train_acc[-1] == 1.0
    assert history.loss[-1] < 0.1 * history.loss[0]


def test_karate_accuracy_over_other_label_draws():
    accs = [train_karate(s)[-1] for s in range(SEED + 1, SEED + 1 + KARATE_SPLITS)]
    assert np.mean(accs) >= 0.85
    assert np.min(accs) >= 0.7


def test_karate_training_is_reproducible():
    p1, h1, *_ = train_karate(SEED)
    p2, h2, *_ = train_karate(SEED)
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])
    assert h1.loss == h2.loss and h1.train_acc == h2.train_acc


# ---------------------------------------------------------------- attention on informants

def informant_task(num_readers, num_informants, num_distractors, signal_noise, distractor_scale, rng):
    rng = np.random.default_rng(rng)
    k = num_informants + num_distractors
    y = rng.integers(0, 2, num_readers)
    reader = np.repeat(np.arange(num_readers), k)
    leaf = num_readers + np.arange(num_readers * k)
    informant = np.tile(np.arange(k) < num_informants, num_readers)
    says = np.where(informant,
                    (2.0 * y[reader] - 1.0) + signal_noise * rng.standard_normal(leaf.size),
                    distractor_scale * rng.standard_normal(leaf.size))
    x = np.zeros((num_readers + leaf.size, 3))
    x[leaf, 0], x[leaf, 1], x[leaf, 2] = informant, ~informant, says
    return Graph(np.stack([leaf, reader]), x=x), y, informant


def gat_model(p, data, training, rng):
    h = elu(gat_conv(data.x, data.edge_index, p["W"], p["att_src"], p["att_dst"], p["b"]))
    return linear(h[:R], p["W_out"], p["b_out"])


def informant_share(p, data):
    _, (att_edges, alpha) = gat_conv(data.x, data.edge_index, p["W"], p["att_src"], p["att_dst"],
                                     p["b"], return_attention=True)
    src, dst = att_edges
    on_informant = data.x[src, 0] == 1
    return np.bincount(dst[on_informant], weights=alpha.data[on_informant, 0], minlength=R)[:R]


def gat_start():
    h = GAT["hidden"]
    return init_params({"W": (3, h), "att_src": (1, h), "att_dst": (1, h), "b": (h,),
                        "W_out": (h, 2), "b_out": (2,)}, rng=SEED)


def train_gat(epochs=GAT["epochs"]):
    stars, y, _ = informant_task(**INFORMANTS, rng=SEED)
    train, _, test = split_per_class(y, GAT["labels_per_class"], rng=SEED)
    start = gat_start()
    params, _ = fit(gat_model, start, stars, y, train, optimizer=Adam(lr=GAT["lr"]), epochs=epochs,
                    rng=SEED, verbose=False)
    acc = accuracy(predict(gat_model, params, stars)[test], y[test])
    return stars, y, train, test, start, params, acc


@pytest.fixture(scope="module")
def gat_run():
    return train_gat()


def test_informant_task_structure():
    stars, y, informant = informant_task(**INFORMANTS, rng=SEED)
    src, dst = stars.edge_index
    assert stars.num_nodes == R * (1 + K_LEAVES)
    np.testing.assert_array_equal(np.bincount(dst, minlength=stars.num_nodes)[:R], K_LEAVES)
    assert np.all(src >= R) and np.all(dst < R)                    # leaves talk to readers only
    np.testing.assert_array_equal(stars.x[:R], 0.0)                # readers have no features
    leaf_x = stars.x[src]
    np.testing.assert_array_equal(leaf_x[:, 0] + leaf_x[:, 1], 1.0)  # one-hot kind
    np.testing.assert_array_equal(leaf_x[:, 0] == 1, informant)
    sign = 2.0 * y[dst] - 1.0
    said = leaf_x[:, 2] * sign
    assert abs(said[informant].mean() - 1.0) < 0.1               # informants say the class
    assert abs(said[~informant].mean()) < 0.15                    # distractors do not
    assert leaf_x[~informant, 2].std() > 1.5 * leaf_x[informant, 2].std()  # and are louder


def test_informant_share_matches_loop_oracle(gat_run):
    stars, *_, params, _ = gat_run
    share = informant_share(params, stars)
    # Oracle: the plain (non-autodiff) layer's coefficients, summed edge by edge.
    _, (ei, alpha) = plain_gat_conv(stars.x, stars.edge_index, params["W"], params["att_src"],
                                    params["att_dst"], params["b"], return_attention=True)
    for reader in (0, 1, 57, R - 1):
        total = sum(a for (j, i), a in zip(ei.T, alpha[:, 0]) if i == reader and stars.x[j, 0] == 1)
        assert share[reader] == pytest.approx(total, abs=1e-12)


def test_gat_moves_attention_onto_informants(gat_run):
    stars, _, _, _, start, params, acc = gat_run
    before, after = informant_share(start, stars), informant_share(params, stars)
    assert before.mean() < 2 / 9 + 0.05                 # about uniform (or less) at the start
    assert after.mean() - before.mean() >= 0.5          # the page: 0.14 -> 0.99
    assert after.mean() >= 0.9 and np.median(after) >= 0.9
    assert acc >= 0.95


def test_gcn_cannot_pick_its_speakers(gat_run):
    stars, y, train, test, start, _, acc_gat = gat_run
    adj = gcn_norm(stars.edge_index, stars.num_nodes)

    def gcn_model(p, data, training, rng):
        return linear(elu(gcn_conv(data.x, data.edge_index, p["W"], p["b"], adj=adj))[:R],
                      p["W_out"], p["b_out"])

    params, _ = fit(gcn_model, {k: start[k] for k in ("W", "b", "W_out", "b_out")}, stars, y, train,
                    optimizer=Adam(lr=GAT["lr"]), epochs=GAT["epochs"], rng=SEED, verbose=False)
    acc_gcn = accuracy(predict(gcn_model, params, stars)[test], y[test])
    assert acc_gcn <= 0.7
    assert acc_gat - acc_gcn >= 0.25


def test_gat_training_is_reproducible():
    *_, p1, acc1 = train_gat(epochs=20)
    *_, p2, acc2 = train_gat(epochs=20)
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])
    assert acc1 == acc2


# ---------------------------------------------------------------- depth

def deep_gcn(num_layers, adj):
    def model(p, data, training, rng, hidden=False):
        h = data.x
        for layer in range(num_layers):
            h = relu(gcn_conv(h, data.edge_index, p[f"W{layer}"], p[f"b{layer}"], adj=adj))
        return h if hidden else linear(h, p["W_out"], p["b_out"])
    return model


def deep_gcn_shapes(num_layers, f_in, hidden):
    shapes = {}
    for layer in range(num_layers):
        shapes.update({f"W{layer}": (f_in if layer == 0 else hidden, hidden), f"b{layer}": (hidden,)})
    return shapes | {"W_out": (hidden, 2), "b_out": (2,)}


def relative_energy(h, edge_index):
    norm = float(np.sum(h * h))
    return dirichlet_energy(h, edge_index, normalized=True) / norm if norm > 0 else 0.0


def depth_run(seed, depths=DEPTHS):
    g = contextual_sbm(**DEPTH_CSBM, rng=seed)
    adj = gcn_norm(g.edge_index, g.num_nodes)
    train, _, test = split_per_class(g.y, TRAIN["labels_per_class"], rng=seed)
    rows = []
    for num_layers in depths:
        model = deep_gcn(num_layers, adj)
        start = init_params(deep_gcn_shapes(num_layers, g.x.shape[1], TRAIN["hidden"]), rng=seed)
        params, hist = fit(model, start, g, g.y, train, optimizer=Adam(lr=TRAIN["lr"]),
                           epochs=TRAIN["epochs"], rng=seed, verbose=False)
        h = model(params, g, training=False, rng=None, hidden=True).data
        rows.append((accuracy(predict(model, params, g)[test], g.y[test]), hist.train_acc[-1],
                     relative_energy(h, g.edge_index)))
    return np.array(rows)


@pytest.fixture(scope="module")
def depth_mean():
    return np.stack([depth_run(s) for s in DEPTH_SEEDS]).mean(axis=0)


def test_accuracy_falls_with_depth(depth_mean):
    acc = depth_mean[:, 0]
    shallow = acc[:2].max()
    assert shallow >= 0.78
    assert shallow - acc[-1] >= 0.2                    # 16 layers: close to a coin toss
    assert acc[-1] <= 0.6
    assert acc[-2] < shallow                            # 8 layers already below the best shallow one
    assert depth_mean[-1, 1] <= 0.8                     # the deepest do not fit their labels


def test_relative_energy_of_last_hidden_layer_shrinks(depth_mean):
    energy = depth_mean[:, 2]
    assert energy[-1] < 0.3 * energy[0]
    assert np.all(np.diff(energy) < 0)                  # the mean falls at every depth of the page


def test_relative_energy_is_zero_on_the_limit_subspace_and_scale_free():
    rng = np.random.default_rng(SEED)
    g = random_graph(30, p=0.2, rng=rng)
    deg = np.bincount(g.edge_index[1], minlength=30)
    limit = np.sqrt(1.0 + deg)[:, None] * rng.standard_normal((1, 4))
    assert relative_energy(limit, g.edge_index) < 1e-12
    h = rng.standard_normal((30, 4))
    assert relative_energy(3.0 * h, g.edge_index) == pytest.approx(relative_energy(h, g.edge_index))
    assert relative_energy(np.zeros((30, 4)), g.edge_index) == 0.0


def test_depth_run_is_reproducible():
    np.testing.assert_array_equal(depth_run(SEED, depths=(2,)), depth_run(SEED, depths=(2,)))


# ---------------------------------------------------------------- heterophily

def two_layer(kind, adj=None):
    def model(p, data, training, rng):
        x, ei = data.x, data.edge_index
        if kind == "gcn":
            h = relu(gcn_conv(x, ei, p["W0"], p["b0"], adj=adj))
            return gcn_conv(h, ei, p["W1"], p["b1"], adj=adj)
        if kind == "sage":
            h = relu(sage_conv(x, ei, p["W0"], p["R0"], p["b0"]))
            return sage_conv(h, ei, p["W1"], p["R1"], p["b1"])
        return linear(relu(linear(x, p["W0"], p["b0"])), p["W1"], p["b1"])
    return model


def train_two_layer(kind, g, seed):
    f, h = g.x.shape[1], TRAIN["hidden"]
    shapes = {"W0": (f, h), "b0": (h,), "W1": (h, 2), "b1": (2,)}
    if kind == "sage":
        shapes |= {"R0": (f, h), "R1": (h, 2)}
    model = two_layer(kind, gcn_norm(g.edge_index, g.num_nodes))
    train, _, test = split_per_class(g.y, TRAIN["labels_per_class"], rng=seed)
    params, _ = fit(model, init_params(shapes, rng=seed), g, g.y, train, optimizer=Adam(lr=TRAIN["lr"]),
                    epochs=TRAIN["epochs"], rng=seed, verbose=False)
    return accuracy(predict(model, params, g)[test], g.y[test])


KINDS = ("gcn", "sage", "mlp")


@pytest.fixture(scope="module")
def sweep():
    out = {kind: [] for kind in KINDS}
    for h in HOMOPHILY_GRID:
        g = contextual_sbm(**(HETERO_CSBM | {"homophily": h}), rng=SEED)
        for kind in KINDS:
            out[kind].append(train_two_layer(kind, g, SEED))
    return {kind: np.array(v) for kind, v in out.items()}


def test_separate_root_weight_beats_mean_gcn_under_heterophily():
    g = contextual_sbm(**HETERO_CSBM, rng=SEED)
    acc = {kind: train_two_layer(kind, g, SEED) for kind in KINDS}
    assert acc["sage"] - acc["gcn"] >= 0.08
    assert acc["gcn"] < acc["mlp"] - 0.03              # the graph hurts the GCN here
    assert acc["sage"] > acc["mlp"]


def test_homophily_sweep(sweep):
    gcn_gap, sage_gap = sweep["gcn"] - sweep["mlp"], sweep["sage"] - sweep["mlp"]
    assert -gcn_gap.min() >= 0.08                       # the GCN sinks somewhere in the middle
    assert 0.2 <= HOMOPHILY_GRID[int(np.argmin(gcn_gap))] <= 0.5
    assert -sage_gap.min() <= 0.04                      # SAGE stays close to or above the MLP
    for kind in ("gcn", "sage"):                        # both excel at the two ends
        assert sweep[kind][0] >= 0.9 and sweep[kind][-1] >= 0.95
    assert sweep["sage"][0] > sweep["gcn"][0]


# ---------------------------------------------------------------- Tree-NeighborsMatch

def neighbors_match(depth, num_trees, rng):
    t = tree(2, depth)
    n, n_leaves = t.num_nodes, 2**depth
    src, dst = t.edge_index
    up = t.edge_index[:, src > dst]
    keys = rng.permuted(np.tile(np.arange(n_leaves), (num_trees, 1)), axis=1)
    labels = rng.integers(0, 2, (num_trees, n_leaves))
    query = rng.integers(0, n_leaves, num_trees)
    graphs = []
    for k in range(num_trees):
        x = np.zeros((n, 2 * n_leaves))
        x[n - n_leaves + np.arange(n_leaves), keys[k]] = 2.0 * labels[k] - 1.0
        x[0, n_leaves + query[k]] = 1.0
        graphs.append(Graph(up, num_nodes=n, x=x))
    g, batch = batch_graphs(graphs)
    answer = labels[np.arange(num_trees), np.argmax(keys == query[:, None], axis=1)]
    return g, batch, answer


def tree_model(p, g, roots, depth):
    h = g.x
    for layer in range(depth):
        h = relu(sage_conv(h, g.edge_index, p[f"N{layer}"], p[f"R{layer}"], p[f"b{layer}"], aggr="sum"))
    return linear(relu(linear(h[roots], p["M"], p["b_M"])), p["O"], p["b_O"])


def train_on_fresh_trees(depth, seed, steps=TREE["steps"]):
    rng = np.random.default_rng(seed)
    h, f = TREE["hidden"], 2 ** (depth + 1)
    shapes = {}
    for layer in range(depth):
        f_in = f if layer == 0 else h
        shapes |= {f"N{layer}": (f_in, h), f"R{layer}": (f_in, h), f"b{layer}": (h,)}
    params = init_params(shapes | {"M": (h, h), "b_M": (h,), "O": (h, 2), "b_O": (2,)}, rng=rng)
    opt, curve = Adam(lr=TREE["lr"]), []
    for _ in range(steps):
        g, batch, answer = neighbors_match(depth, TREE["batch"], rng)
        roots = np.searchsorted(batch, np.arange(TREE["batch"]))
        scores = {}

        def loss(p):
            scores["logits"] = tree_model(p, g, roots, depth)
            return cross_entropy(scores["logits"], answer)

        _, grads = value_and_grad(loss, params)
        curve.append(accuracy(scores["logits"].data, answer))
        params = opt.step(params, grads)
    return np.array(curve)


def test_neighbors_match_answers_by_loop_oracle():
    rng = np.random.default_rng(SEED)
    for depth in TREE["depths"]:
        g, batch, answer = neighbors_match(depth, 5, rng)
        n, n_leaves = 2 ** (depth + 1) - 1, 2**depth
        assert g.num_nodes == 5 * n and np.array_equal(np.bincount(batch), [n] * 5)
        roots = np.searchsorted(batch, np.arange(5))
        src, dst = g.edge_index
        assert np.all(batch[src] == batch[dst]) and np.all(src > dst)  # inside a tree, towards the root
        assert not np.isin(roots, src).any()                           # the root sends nothing
        for t in range(5):
            x = g.x[batch == t]
            query = int(np.argmax(x[0, n_leaves:]))
            assert x[0, n_leaves:].sum() == 1.0 and np.all(x[1:, n_leaves:] == 0)
            leaf_rows = x[n - n_leaves:, :n_leaves]
            assert np.all(np.count_nonzero(leaf_rows, axis=1) == 1)
            assert np.array_equal(np.sort(np.argmax(np.abs(leaf_rows), axis=1)), np.arange(n_leaves))
            for row in leaf_rows:                                      # find the matching leaf
                if row[query] != 0:
                    assert answer[t] == (1 if row[query] > 0 else 0)
            assert np.all(x[1:n - n_leaves] == 0)                      # inner nodes are blank


@pytest.fixture(scope="module")
def tree_acc():
    return {d: train_on_fresh_trees(d, SEED)[-TREE["tail"]:].mean() for d in TREE["depths"]}


def test_tree_accuracy_falls_with_depth(tree_acc):
    a2, a3, a4 = (tree_acc[d] for d in TREE["depths"])
    assert a2 >= 0.95
    assert a2 - a3 >= 0.08 and a3 - a4 >= 0.15
    assert a4 <= 0.7                                    # chance is 0.5


def test_tree_training_is_reproducible():
    np.testing.assert_array_equal(train_on_fresh_trees(3, SEED, steps=15),
                                  train_on_fresh_trees(3, SEED, steps=15))
