"""The claims of book/applications/02_life_sciences.md, checked on the page's own numbers.

Values come from the executed page (:func:`book_values.page_values`). References: the
molecules drawn again with networkx (ring sizes, cycles, distances, isomorphism, WL hashes),
chemistry's valences, a colour refinement with bond types written here, and the split sizes.
"""

import networkx as nx
import pytest

from book_values import page_values

pytestmark = pytest.mark.needs_book


@pytest.fixture(scope="module")
def v():
    return page_values("applications/02_life_sciences")


def test_valences_and_paracetamol(v):
    assert (v["valence-C"], v["valence-N"], v["valence-O"]) == (4, 3, 2)
    heavy = [c for c in "CC(=O)Nc1ccc(O)cc1" if c.isalpha()]      # hydrogen-free SMILES
    assert v["para-atoms"] == len(heavy)
    assert v["para-bonds"] == len(heavy) - 1 + 1                  # a tree plus one ring
    assert v["para-aromatic"] == 6                                # the benzene ring
    assert v["para-x-cols"] > len(set(c.upper() for c in heavy))


def refine(edges, typed, rounds=6):
    """Colour counts of 1-WL on a chain, with or without bond types on the edges."""
    G = nx.Graph()
    for a, b, t in edges:
        G.add_edge(a, b, t=t if typed else "")
    colours = {u: 0 for u in G}
    for _ in range(rounds):
        sig = {u: (colours[u], tuple(sorted((G[u][w]["t"], colours[w]) for w in G[u]))) for u in G}
        names = {s: i for i, s in enumerate(sorted(set(sig.values())))}
        colours = {u: names[sig[u]] for u in G}
    return len(set(colours.values()))


def test_butenes(v):
    but1 = [(0, 1, "double"), (1, 2, "single"), (2, 3, "single")]
    but2 = [(0, 1, "single"), (1, 2, "double"), (2, 3, "single")]
    assert v["butene-plain"] == "no" and v["butene-plain-colours"] == refine(but1, False) == refine(but2, False) == 2
    assert v["butene-colours-1"] == refine(but1, True) == 4
    assert v["butene-colours-2"] == refine(but2, True) == 2
    assert v["butene-typed-round"] == 1                           # bond types differ at once


def saturated_pair():
    decalin = nx.cycle_graph(6)
    decalin.add_edges_from([(0, 6), (6, 7), (7, 8), (8, 9), (9, 5)])  # a second ring on edge 0-5
    bicyclopentyl = nx.disjoint_union(nx.cycle_graph(5), nx.cycle_graph(5))
    bicyclopentyl.add_edge(0, 5)
    return decalin, bicyclopentyl


def fewest_at(G, d):
    return min(sum(1 for x in nx.single_source_shortest_path_length(G, u).values() if x == d) for u in G)


@pytest.mark.filterwarnings("ignore:The hashes produced")   # networkx 3.5 changed hash values, not equality
def test_decalin_and_bicyclopentyl(v):
    dec, bcp = saturated_pair()
    assert v["sat-atoms"] == dec.number_of_nodes() and v["sat-bonds"] == dec.number_of_edges()
    assert v["sat-branching"] == sum(d == 3 for _, d in dec.degree())
    assert sorted(d for _, d in dec.degree()) == sorted(d for _, d in bcp.degree())
    assert v["sat-wl"] == "no" and nx.weisfeiler_lehman_graph_hash(dec) == nx.weisfeiler_lehman_graph_hash(bcp)
    assert v["sat-iso"] == "no" and not nx.is_isomorphic(dec, bcp)
    for G, rings, cycles in ((dec, "sat-rings-dec", "sat-cycles-dec"), (bcp, "sat-rings-bcp", "sat-cycles-bcp")):
        assert v[rings] == ", ".join(map(str, sorted(len(c) for c in nx.minimum_cycle_basis(G))))
        assert v[cycles] == len(list(nx.simple_cycles(G)))
    d = v["sat-spd-min"]
    assert v["sat-spd-below"] == d - 1
    assert v["sat-far-dec"] == fewest_at(dec, d) != v["sat-far-bcp"] == fewest_at(bcp, d)


def test_molecule_property_prediction(v):
    assert v["mol-test"] == v["mol-n"] - v["mol-train"] and v["mol-epochs"] > 0
    assert v["mol-acc-typed"] > 0.9
    assert v["mol-acc-plain"] == pytest.approx(v["mol-acc-majority"], abs=0.05)   # no better than guessing


def test_protein_network(v):
    assert v["ppi-test"] == v["ppi-n"] - v["ppi-modules"] * v["ppi-labels"] - 100   # 100 validation
    assert v["ppi-homophily"] == pytest.approx(0.8, abs=0.05)
    assert v["ppi-acc-gcn"] > v["ppi-acc-mlp"] + 0.2


def test_self_check_within_two(v):
    for name, n in (("within2-hexane", 6), ("within2-propane", 3)):
        ring = nx.cycle_graph(n)
        reach = {sum(1 for d in nx.single_source_shortest_path_length(ring, u, cutoff=2).values() if d > 0)
                 for u in ring}
        assert v[name] == reach.pop()


def test_freesolv_summary_matches_csv_and_rdkit(v):
    """FreeSolv from the shipped CSV (csv module) and its SMILES parsed by RDKit."""
    import csv
    from importlib import resources

    import numpy as np
    from rdkit import Chem

    with resources.files("mplib").joinpath("_datasets/freesolv.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    expt = np.array([float(r["expt"]) for r in rows])
    calc = np.array([float(r["calc"]) for r in rows])
    mols = [Chem.MolFromSmiles(r["smiles"]) for r in rows]
    atoms = np.array([m.GetNumAtoms() for m in mols])
    assert v["fs-n"] == len(rows) == 642                      # Mobley & Guthrie 2014
    assert v["fs-atoms-mean"] == pytest.approx(atoms.mean(), abs=1e-12)
    assert v["fs-atoms-max"] == atoms.max()
    assert v["fs-y-min"] == expt.min() and v["fs-y-max"] == expt.max()
    assert v["fs-y-mean"] == pytest.approx(expt.mean(), abs=1e-12)
    assert v["fs-calc-rmse"] == pytest.approx(np.sqrt(np.mean((calc - expt) ** 2)), abs=1e-12)
    named = ["C", "N", "O", "F", "P", "S", "Cl", "Br", "I"]
    symbols = [a.GetSymbol() for m in mols for a in m.GetAtoms()]
    counts = {s: symbols.count(s) for s in named}
    counts["other"] = len(symbols) - sum(counts.values())
    assert v["fs-elements"] == counts
    # the prose: mostly carbon, then oxygen, chlorine and nitrogen
    top = sorted(counts, key=counts.get, reverse=True)
    assert top[:4] == ["C", "O", "Cl", "N"] and counts["C"] > sum(counts.values()) / 2
