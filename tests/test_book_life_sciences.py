"""Claims of book/applications/02_life_sciences.md ("Life sciences: molecules and protein networks").

Nothing is read from the page: the constants below mirror its parameter cell, the random draws
are repeated in the page's order, and every glued number or stated fact is recomputed with mplib,
with an independent oracle where there is one (networkx for isomorphism, cycles and WL hashes;
the molecular formula for the degree of unsaturation).
"""

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mplib.data import batch_graphs, split_per_class
from mplib.functional import dropout, global_pool, relu
from mplib.generators import contextual_sbm
from mplib.homophily import edge_homophily
from mplib.hops import shortest_path_edges, spd_wl_test
from mplib.molecules import ATOM_TYPES, BOND_TYPES, VALENCE, molecule_graph, parse_smiles, random_molecule
from mplib.nn import gcn_conv, gcn_norm, linear, make_mlp, nn_conv, sage_conv
from mplib.train import Adam, accuracy, fit, init_params, predict
from mplib.wl import wl_test

# Mirrors the parameter cell of the page.
SEED = 0
NUM_MOLECULES, MIN_ATOMS, MAX_ATOMS = 400, 4, 10
NUM_TRAIN = 300
HIDDEN, EPOCHS, LR = 16, 200, 0.05
PPI = dict(num_nodes=400, num_classes=4, avg_degree=8.0, homophily=0.8, feature_dim=8, mu=0.8)
LABELS_PER_CLASS, NUM_VAL, PATIENCE = 10, 100, 30

PAGE = Path(__file__).resolve().parent.parent / "book" / "applications" / "02_life_sciences.md"
DECALIN, BICYCLOPENTYL = "C1CCC2CCCCC2C1", "C1CCC(C1)C1CCCC1"
ORDER = {"single": 1.0, "double": 2.0, "triple": 3.0, "aromatic": 1.5}


def nx_molecule(smiles):
    """networkx graph with 'element' on nodes and 'bond' on edges, built from the parser's lists."""
    atoms, bonds = parse_smiles(smiles)
    G = nx.Graph()
    G.add_nodes_from((k, {"element": a.upper()}) for k, a in enumerate(atoms))
    G.add_edges_from((i, j, {"bond": t}) for i, j, t in bonds)
    return G


def wl_hash(G, edge_attr=None):
    return nx.weisfeiler_lehman_graph_hash(G, node_attr="element", edge_attr=edge_attr, iterations=len(G))


def unsaturation_from_formula(smiles):
    """Degree of unsaturation from the molecular formula C_c H_h N_n O_o: c - h/2 + n/2 + 1,
    hydrogens filling each atom's usual valence (the chemist's route, not the page's)."""
    atoms, bonds = parse_smiles(smiles)
    used = np.zeros(len(atoms))
    for i, j, t in bonds:
        used[[i, j]] += ORDER[t]
    elements = [a.upper() for a in atoms]
    hydrogens = sum(VALENCE[e] for e in elements) - used.sum()
    return elements.count("C") - hydrogens / 2 + elements.count("N") / 2 + 1


# --- molecules as graphs ---------------------------------------------------------

def test_paracetamol_counts():
    atoms, bonds = parse_smiles("CC(=O)Nc1ccc(O)cc1")
    assert len(atoms) == 11 and len(bonds) == 11
    assert sum(t == "aromatic" for _, _, t in bonds) == 6
    assert [t for _, _, t in bonds].count("double") == 1
    g = molecule_graph("CC(=O)Nc1ccc(O)cc1")
    assert g.x.shape == (11, len(ATOM_TYPES)) == (11, 10)
    assert g.num_edges == 22


# --- butenes -----------------------------------------------------------------------

def test_butenes_share_a_skeleton_but_not_bonds():
    but1, but2 = nx_molecule("C=CCC"), nx_molecule("CC=CC")
    assert nx.is_isomorphic(but1, nx.path_graph(4)) and nx.is_isomorphic(but2, nx.path_graph(4))
    assert not nx.is_isomorphic(but1, but2, edge_match=lambda a, b: a["bond"] == b["bond"])
    assert wl_hash(but1) == wl_hash(but2)                       # networkx's WL: same without bonds
    assert wl_hash(but1, "bond") != wl_hash(but2, "bond")      # and different with them


def test_butenes_wl_claims():
    g1, g2 = molecule_graph("C=CCC"), molecule_graph("CC=CC")
    plain = wl_test(g1, g2)
    assert not plain.distinguished
    assert len(np.unique(plain.colors1)) == 2 and len(np.unique(plain.colors2)) == 2  # ends and middles
    typed = wl_test(g1, g2, use_edge_attr=True)
    assert typed.distinguished and typed.iteration == 1
    assert len(np.unique(typed.colors1)) == 4 and len(np.unique(typed.colors2)) == 2


# --- decalin vs bicyclopentyl ---------------------------------------------------------

def test_saturated_pair_wl_equivalent_even_with_bond_types():
    d, b = molecule_graph(DECALIN), molecule_graph(BICYCLOPENTYL)
    assert d.num_nodes == b.num_nodes == 10 and d.num_edges == b.num_edges == 22
    assert np.all(d.edge_attr.argmax(axis=1) == BOND_TYPES.index("single"))
    assert np.all(b.edge_attr.argmax(axis=1) == BOND_TYPES.index("single"))
    for use_edge_attr in (False, True):
        assert not wl_test(d, b, use_edge_attr=use_edge_attr).distinguished
    assert wl_hash(nx_molecule(DECALIN), "bond") == wl_hash(nx_molecule(BICYCLOPENTYL), "bond")
    # The figure caption: three colour classes of sizes 2, 4, 4 in both.
    result = wl_test(d, b, use_edge_attr=True)
    for colours in (result.colors1, result.colors2):
        assert sorted(np.bincount(colours).tolist()) == [2, 4, 4]
    for G in (nx_molecule(DECALIN), nx_molecule(BICYCLOPENTYL)):  # the page's description of both
        branching = [v for v, k in G.degree() if k == 3]
        assert sorted(k for _, k in G.degree()) == [2] * 8 + [3, 3] and G.has_edge(*branching)


def test_saturated_pair_separated_by_rings_and_distances():
    Gd, Gb = nx_molecule(DECALIN), nx_molecule(BICYCLOPENTYL)
    assert not nx.is_isomorphic(Gd, Gb)
    assert sorted(len(c) for c in nx.minimum_cycle_basis(Gd)) == [6, 6]
    assert sorted(len(c) for c in nx.minimum_cycle_basis(Gb)) == [5, 5]
    assert sorted(len(c) for c in nx.simple_cycles(Gd)) == [6, 6, 10]
    assert sorted(len(c) for c in nx.simple_cycles(Gb)) == [5, 5]
    # The page's explanation: per-atom counts at distances 1 and 2 agree, at distance 3 they differ.
    profiles = {}
    for name, G in (("d", Gd), ("b", Gb)):
        dist = dict(nx.all_pairs_shortest_path_length(G))
        profiles[name] = np.array(sorted([sum(1 for x in dist[u].values() if x == k) for k in (1, 2, 3)]
                                         for u in G))
    assert sorted(map(tuple, profiles["d"][:, :2].tolist())) == sorted(map(tuple, profiles["b"][:, :2].tolist()))
    assert sorted(map(tuple, profiles["d"].tolist())) != sorted(map(tuple, profiles["b"].tolist()))
    assert profiles["d"][:, 2].min() == 2 and profiles["b"][:, 2].min() == 1
    d, b = molecule_graph(DECALIN), molecule_graph(BICYCLOPENTYL)
    separated = {k: spd_wl_test(d, b, max_distance=k).distinguished for k in (1, 2, 3)}
    assert separated == {1: False, 2: False, 3: True}  # the page: from d = 3 on
    assert spd_wl_test(d, b).distinguished


# --- the molecular property task ------------------------------------------------------

def unsaturation(smiles):
    """The page's definition: independent cycles plus pi bonds."""
    atoms, bonds = parse_smiles(smiles)
    return len(bonds) - len(atoms) + 1 + sum(ORDER[t] - 1 for _, _, t in bonds)


@pytest.fixture(scope="module")
def molecules():
    rng = np.random.default_rng(SEED)
    smiles = [random_molecule(int(rng.integers(MIN_ATOMS, MAX_ATOMS + 1)), rng=rng) for _ in range(NUM_MOLECULES)]
    y = np.array([min(int(unsaturation(s)), 3) for s in smiles])
    order = rng.permutation(NUM_MOLECULES)
    train_idx, test_idx = np.sort(order[:NUM_TRAIN]), np.sort(order[NUM_TRAIN:])
    graphs = [molecule_graph(s, atom_types=("C", "N", "O"), bond_types=("single", "double", "triple"))
              for s in smiles]
    g, batch = batch_graphs(graphs)
    return dict(smiles=smiles, y=y, train_idx=train_idx, test_idx=test_idx, graph=g, batch=batch)


def train_molecules(data, edge_attr):
    g, batch = data["graph"], data["batch"]

    def model(p, graph, training, rng):
        h = relu(nn_conv(graph.x, graph.edge_index, edge_attr, make_mlp([p["theta"]]), p["root"], p["bias"]))
        return linear(global_pool(h, batch, NUM_MOLECULES), p["head"], p["head_bias"])
    f_in = g.x.shape[1]
    shapes = {"theta": (edge_attr.shape[1], f_in * HIDDEN), "root": (f_in, HIDDEN), "bias": (HIDDEN,),
              "head": (HIDDEN, 4), "head_bias": (4,)}
    params, history = fit(model, init_params(shapes, rng=SEED), g, data["y"], data["train_idx"],
                          optimizer=Adam(lr=LR), epochs=EPOCHS, rng=SEED, verbose=False)
    pred = predict(model, params, g)
    return params, history, accuracy(pred[data["test_idx"]], data["y"][data["test_idx"]])


@pytest.fixture(scope="module")
def molecule_runs(molecules):
    g = molecules["graph"]
    return {"typed": train_molecules(molecules, g.edge_attr),
            "plain": train_molecules(molecules, np.ones((g.num_edges, 1)))}


def test_unsaturation_matches_molecular_formula(molecules):
    for s in molecules["smiles"]:
        assert unsaturation(s) == unsaturation_from_formula(s)


def test_unsaturation_is_a_sum_over_atoms(molecules):
    # The page: DoU = 1 + sum_i (b_i / 2 - 1), b_i the sum of bond orders at atom i.
    for s in molecules["smiles"] + ["c1ccccc1", "CC(=O)Nc1ccc(O)cc1", "C#CC=C"]:
        atoms, bonds = parse_smiles(s)
        b = np.zeros(len(atoms))
        for i, j, t in bonds:
            b[[i, j]] += ORDER[t]
        assert unsaturation(s) == pytest.approx(1 + np.sum(b / 2 - 1))


def test_molecule_data_set(molecules):
    assert len(molecules["test_idx"]) == NUM_MOLECULES - NUM_TRAIN == 100
    counts = np.bincount(molecules["y"], minlength=4)
    assert np.all(counts >= 30)  # every class is well represented
    assert molecules["graph"].num_nodes == sum(len(parse_smiles(s)[0]) for s in molecules["smiles"])


def test_molecule_training_with_and_without_bond_types(molecules, molecule_runs):
    y, train_idx, test_idx = molecules["y"], molecules["train_idx"], molecules["test_idx"]
    typed, plain = molecule_runs["typed"][2], molecule_runs["plain"][2]
    majority = float(np.mean(y[test_idx] == np.bincount(y[train_idx]).argmax()))
    assert typed >= 0.95
    assert plain <= 0.55
    assert abs(plain - majority) <= 0.1  # "close to always answering the most common class"
    loss_typed, loss_plain = molecule_runs["typed"][1].loss, molecule_runs["plain"][1].loss
    assert loss_typed[-1] < 0.15 < 0.8 < loss_plain[-1]  # the figure: one falls near zero, one stalls


def test_molecule_training_reproducible(molecules, molecule_runs):
    params, _, acc = train_molecules(molecules, molecules["graph"].edge_attr)
    assert acc == molecule_runs["typed"][2]
    for k, v in params.items():
        np.testing.assert_array_equal(v, molecule_runs["typed"][0][k])


# --- self-check exercises -------------------------------------------------------------

def test_exercise_cyclohexane_vs_two_cyclopropanes():
    hexane = molecule_graph("C1CCCCC1")
    two, _ = batch_graphs([molecule_graph("C1CC1"), molecule_graph("C1CC1")])
    assert not wl_test(hexane, two, use_edge_attr=True).distinguished
    assert spd_wl_test(hexane, two, max_distance=2).distinguished


def test_exercise_mean_readout_cannot_count():
    for smiles in ("C1=CC=C1", "C1=CC=CC=C1"):
        assert len(np.unique(wl_test(molecule_graph(smiles), molecule_graph(smiles),
                                     use_edge_attr=True).colors1)) == 1  # every atom alike
    cb, bz = molecule_graph("C1=CC=C1"), molecule_graph("C1=CC=CC=C1")
    colours = wl_test(cb, bz, use_edge_attr=True)
    assert set(colours.colors1.tolist()) == set(colours.colors2.tolist())  # same states in both
    assert unsaturation("C1=CC=C1") == 3 and unsaturation("C1=CC=CC=C1") == 4


# --- the protein network ----------------------------------------------------------------

def ppi_accuracies(homophily=PPI["homophily"], models=("gcn", "mlp")):
    ppi = contextual_sbm(**{**PPI, "homophily": homophily}, rng=SEED)
    train, val, test = split_per_class(ppi.y, LABELS_PER_CLASS, num_val=NUM_VAL, rng=SEED)
    adj = gcn_norm(ppi.edge_index, ppi.num_nodes)

    def gcn(p, data, training, rng):
        h = dropout(relu(gcn_conv(data.x, data.edge_index, p["W1"], p["b1"], adj=adj)), 0.5, training, rng)
        return gcn_conv(h, data.edge_index, p["W2"], p["b2"], adj=adj)

    def mlp(p, data, training, rng):
        h = dropout(relu(linear(data.x, p["W1"], p["b1"])), 0.5, training, rng)
        return linear(h, p["W2"], p["b2"])

    def sage(p, data, training, rng):
        h = dropout(relu(sage_conv(data.x, data.edge_index, p["W1"], p["R1"], p["b1"])), 0.5, training, rng)
        return sage_conv(h, data.edge_index, p["W2"], p["R2"], p["b2"])

    f, c = PPI["feature_dim"], PPI["num_classes"]
    shapes = {"W1": (f, HIDDEN), "b1": (HIDDEN,), "W2": (HIDDEN, c), "b2": (c,)}
    out = {"graph": ppi, "test": test}
    for name in models:
        model = {"gcn": gcn, "mlp": mlp, "sage": sage}[name]
        s = {**shapes, "R1": (f, HIDDEN), "R2": (HIDDEN, c)} if name == "sage" else shapes
        params, _ = fit(model, init_params(s, rng=SEED), ppi, ppi.y, train, val_idx=val, epochs=EPOCHS,
                        patience=PATIENCE, rng=SEED, verbose=False)
        out[name] = accuracy(predict(model, params, ppi)[test], ppi.y[test])
    return out


def test_ppi_gcn_beats_profile_only_model():
    r = ppi_accuracies()
    g = r["graph"]
    assert g.num_nodes == 400 and len(np.unique(g.y)) == 4
    assert abs(edge_homophily(g.edge_index, g.y) - PPI["homophily"]) < 0.05
    assert r["test"].size == 400 - 4 * LABELS_PER_CLASS - NUM_VAL == 260
    assert r["gcn"] >= 0.9
    assert r["mlp"] <= 0.5  # chance is 0.25: the profile alone is weak
    assert r["gcn"] - r["mlp"] >= 0.4


def test_ppi_exercise_low_homophily():
    base = ppi_accuracies()
    random_like = ppi_accuracies(homophily=0.25)
    opposite = ppi_accuracies(homophily=0.0, models=("gcn", "mlp", "sage"))
    for r in (random_like, opposite):
        assert abs(r["mlp"] - base["mlp"]) <= 0.05  # the perceptron does not use the edges
        assert r["gcn"] <= r["mlp"] + 0.02          # about the perceptron's level or below
    assert opposite["sage"] > opposite["gcn"]


# --- numbers the prose states, now glued: re-derived here ------------------------------

def test_usual_valences_and_benzene():
    # "carbon four, nitrogen three, oxygen two"; "the six carbons of a benzene ring"
    assert (VALENCE["C"], VALENCE["N"], VALENCE["O"]) == (4, 3, 2)
    atoms, bonds = parse_smiles("c1ccccc1")
    assert [a.upper() for a in atoms] == ["C"] * 6
    assert [t for _, _, t in bonds] == ["aromatic"] * 6


def test_saturated_pair_counts_of_the_prose():
    # "ten carbons and eleven single bonds; exactly two carbons have three neighbours"
    for smiles in (DECALIN, BICYCLOPENTYL):
        atoms, bonds = parse_smiles(smiles)
        assert [a.upper() for a in atoms] == ["C"] * 10
        assert len(bonds) == 11 and all(t == "single" for _, _, t in bonds)
        assert int((molecule_graph(smiles).degree() == 3).sum()) == 2


def test_saturated_pair_distance_three_counts_from_shortest_path_edges():
    # the page's route (mplib.hops) to "at least two atoms at distance 3, versus only one"
    far = []
    for smiles in (DECALIN, BICYCLOPENTYL):
        g = molecule_graph(smiles)
        pairs, dist = shortest_path_edges(g, max_distance=3)
        counts = np.stack([np.bincount(pairs[1][dist == d], minlength=10) for d in (1, 2, 3)])
        far.append(counts)
    assert sorted(map(tuple, far[0][:2].T.tolist())) == sorted(map(tuple, far[1][:2].T.tolist()))
    assert far[0][2].min() == 2 and far[1][2].min() == 1


def test_exercise_1_atoms_within_distance_two():
    for smiles, expected in (("C1CCCCC1", 4), ("C1CC1", 2)):
        g = molecule_graph(smiles)
        pairs, _ = shortest_path_edges(g, max_distance=2)
        assert set(np.bincount(pairs[1], minlength=g.num_nodes).tolist()) == {expected}


def test_chance_level_is_one_in_the_number_of_modules():
    ppi = contextual_sbm(**PPI, rng=SEED)
    assert len(np.unique(ppi.y)) == PPI["num_classes"] == 4
    # balanced modules: a random guess is right a quarter of the time
    assert np.bincount(ppi.y).min() == np.bincount(ppi.y).max() == PPI["num_nodes"] // 4


def test_spd_wl_is_cited_to_zhang_and_distance_encodings_to_li():
    text = PAGE.read_text()
    sentence = text.split("colour refinement becomes SPD-WL", 1)[1][:60]
    assert "{cite:p}`zhang2023rethinking`" in sentence
    assert "distance encodings {cite:p}`li2020distance`" in text
    bib = (PAGE.parents[2] / "references.bib").read_text()
    assert "@inproceedings{zhang2023rethinking," in bib


def test_prose_numbers_are_glued_not_typed():
    text = PAGE.read_text()
    for typed in ("ten carbons", "eleven single bonds", "chance is one in four",
                  "distances up to three", "carbon four"):
        assert typed not in text
    for name in ("sat-atoms", "sat-bonds", "sat-branching", "sat-far-dec", "sat-far-bcp",
                 "ppi-modules", "sat-spd-min", "within2-hexane", "within2-propane", "valence-C"):
        assert f"{{glue:text}}`{name}" in text
