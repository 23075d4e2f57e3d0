"""Tests for mplib.molecules: the SMILES reader and writer, molecule graphs, random molecules."""

import networkx as nx
import numpy as np
import pytest

from mplib.graph import from_networkx
from mplib.molecules import (ATOM_TYPES, BOND_TYPES, VALENCE, molecule_graph, parse_smiles, random_molecule,
                             write_smiles)

S, D, T, A = "single", "double", "triple", "aromatic"
BENZENE = [(0, 1, A), (1, 2, A), (2, 3, A), (3, 4, A), (4, 5, A), (0, 5, A)]

# SMILES -> (atoms, bonds), written out by hand from the OpenSMILES rules.
EXPECTED = {
    "C": (["C"], []),
    "CC": (["C", "C"], [(0, 1, S)]),
    "C-C": (["C", "C"], [(0, 1, S)]),
    "C=C": (["C", "C"], [(0, 1, D)]),
    "C#N": (["C", "N"], [(0, 1, T)]),
    "C:C": (["C", "C"], [(0, 1, A)]),
    "ClC(Br)I": (["Cl", "C", "Br", "I"], [(0, 1, S), (1, 2, S), (1, 3, S)]),
    "FC(F)(F)F": (["F", "C", "F", "F", "F"], [(0, 1, S), (1, 2, S), (1, 3, S), (1, 4, S)]),
    "CC(C)C": (["C"] * 4, [(0, 1, S), (1, 2, S), (1, 3, S)]),
    "CC(=O)O": (["C", "C", "O", "O"], [(0, 1, S), (1, 2, D), (1, 3, S)]),
    "C(C(C)C)C": (["C"] * 5, [(0, 1, S), (1, 2, S), (1, 3, S), (0, 4, S)]),
    "OCC(O)CO": (["O", "C", "C", "O", "C", "O"], [(0, 1, S), (1, 2, S), (2, 3, S), (2, 4, S), (4, 5, S)]),
    "C=CCC": (["C"] * 4, [(0, 1, D), (1, 2, S), (2, 3, S)]),
    "CC=CC": (["C"] * 4, [(0, 1, S), (1, 2, D), (2, 3, S)]),
    "C1CC1": (["C"] * 3, [(0, 1, S), (1, 2, S), (0, 2, S)]),
    "C=1CC1": (["C"] * 3, [(0, 1, S), (1, 2, S), (0, 2, D)]),
    "C1CC=1": (["C"] * 3, [(0, 1, S), (1, 2, S), (0, 2, D)]),
    "C=1CC=1": (["C"] * 3, [(0, 1, S), (1, 2, S), (0, 2, D)]),
    "C%12CC%12": (["C"] * 3, [(0, 1, S), (1, 2, S), (0, 2, S)]),
    "C12CC1C2": (["C"] * 4, [(0, 1, S), (1, 2, S), (0, 2, S), (2, 3, S), (0, 3, S)]),
    "C1CC1C1CC1": (["C"] * 6, [(0, 1, S), (1, 2, S), (0, 2, S), (2, 3, S), (3, 4, S), (4, 5, S), (3, 5, S)]),
    "C1CCC2CCCCC2C1": (["C"] * 10, [(0, 1, S), (1, 2, S), (2, 3, S), (3, 4, S), (4, 5, S), (5, 6, S),
                                    (6, 7, S), (7, 8, S), (3, 8, S), (8, 9, S), (0, 9, S)]),
    "C1CCC(C1)C1CCCC1": (["C"] * 10, [(0, 1, S), (1, 2, S), (2, 3, S), (3, 4, S), (0, 4, S), (3, 5, S),
                                      (5, 6, S), (6, 7, S), (7, 8, S), (8, 9, S), (5, 9, S)]),
    "c1ccccc1": (["c"] * 6, BENZENE),
    "c1ccncc1": (["c", "c", "c", "n", "c", "c"], BENZENE),
    "c1ccoc1": (["c", "c", "c", "o", "c"], [(0, 1, A), (1, 2, A), (2, 3, A), (3, 4, A), (0, 4, A)]),
    "c1ccsc1": (["c", "c", "c", "s", "c"], [(0, 1, A), (1, 2, A), (2, 3, A), (3, 4, A), (0, 4, A)]),
    "Cc1ccccc1": (["C"] + ["c"] * 6, [(0, 1, S)] + [(i + 1, j + 1, t) for i, j, t in BENZENE]),
    "Oc1ccccc1": (["O"] + ["c"] * 6, [(0, 1, S)] + [(i + 1, j + 1, t) for i, j, t in BENZENE]),
    "c1ccccc1-c1ccccc1": (["c"] * 12, BENZENE + [(5, 6, S)] + [(i + 6, j + 6, t) for i, j, t in BENZENE]),
    "C1=CC=CC=C1": (["C"] * 6, [(0, 1, D), (1, 2, S), (2, 3, D), (3, 4, S), (4, 5, D), (0, 5, S)]),
    "c1cc2ccccc2cc1": (["c"] * 10, [(0, 1, A), (1, 2, A), (2, 3, A), (3, 4, A), (4, 5, A), (5, 6, A),
                                    (6, 7, A), (2, 7, A), (7, 8, A), (8, 9, A), (0, 9, A)]),
    "BP": (["B", "P"], [(0, 1, S)]),
}


def nx_molecule(atoms, bonds):
    G = nx.Graph()
    G.add_nodes_from((k, {"element": a}) for k, a in enumerate(atoms))
    G.add_edges_from((i, j, {"bond": t}) for i, j, t in bonds)
    return G


def same_molecule(m1, m2):
    return nx.is_isomorphic(nx_molecule(*m1), nx_molecule(*m2), node_match=lambda a, b: a == b,
                            edge_match=lambda a, b: a == b)


# --- parse_smiles -----------------------------------------------------------

@pytest.mark.parametrize("smiles", list(EXPECTED))
def test_parse_smiles_matches_hand_written_graphs(smiles):
    atoms, bonds = parse_smiles(smiles)
    want_atoms, want_bonds = EXPECTED[smiles]
    assert atoms == want_atoms
    assert sorted(bonds) == sorted(want_bonds)
    assert all(i < j for i, j, _ in bonds)


@pytest.mark.parametrize("smiles, message", [
    ("", "`smiles` is empty"),
    ("C[nH]", r"position 1: unexpected character '\[' \(bracket atoms are not read\)"),
    ("CX", "position 1: unexpected character 'X'"),
    ("C.C", "position 1: unexpected character '.'"),
    ("C/C=C/C", "position 1: unexpected character '/'"),
    ("=C", "position 0: bond '=' must follow an atom"),
    ("C==C", r"position 2: bond '=' must follow an atom \(two bonds in a row\)"),
    ("(C)C", "position 0: a branch must follow an atom"),
    ("C=(C)", "position 2: a branch must follow an atom"),
    ("C)C", "position 1: '\\)' closes no branch"),
    ("C()C", "position 2: empty branch"),
    ("C(C=)C", "position 4: empty branch or branch ending with a bond"),
    ("1CC1", "position 0: ring closure 1 must follow an atom"),
    ("C11", "position 2: ring closure 1 bonds atom 0 to itself"),
    ("C=1CC#1", "position 6: ring closure 1 is opened with '=' but closed with '#'"),
    ("C12CC12", "position 6: atoms 0 and 2 are bonded twice"),
    ("C1CC", "position 1: ring closure 1 is never closed"),
    ("C1CC2CC", "position 1: ring closure 1 is never closed"),
    ("C(C", r"position 3: 1 branch\(es\) opened with '\(' are never closed"),
    ("CC=", "position 3: the string ends with a bond"),
])
def test_parse_smiles_errors(smiles, message):
    with pytest.raises(ValueError, match=message):
        parse_smiles(smiles)


def test_parse_smiles_rejects_non_strings():
    with pytest.raises(TypeError, match="`smiles` must be a string, got list"):
        parse_smiles(["C", "C"])


def test_parse_smiles_reuses_ring_digits():
    # Digit 1 closes the first ring and then opens a second one (OpenSMILES allows reuse).
    atoms, bonds = parse_smiles("C1CC1C1CC1")
    assert len(atoms) == 6 and nx.cycle_basis(nx_molecule(atoms, bonds)).__len__() == 2


# --- molecule_graph -------------------------------------------------------------

@pytest.mark.parametrize("smiles", list(EXPECTED))
def test_molecule_graph_matches_networkx_oracle(smiles):
    atoms, bonds = EXPECTED[smiles]
    G = nx.Graph()
    for k, a in enumerate(atoms):
        G.add_node(k, onehot=[float(ATOM_TYPES.index(a.upper() if len(a) == 1 else a) == c)
                              for c in range(len(ATOM_TYPES))])
    for i, j, t in bonds:
        G.add_edge(i, j, onehot=[float(t == b) for b in BOND_TYPES])
    want = from_networkx(G, node_attr="onehot", edge_attr="onehot")
    got = molecule_graph(smiles)
    assert got.num_nodes == len(atoms)
    np.testing.assert_array_equal(got.edge_index, want.edge_index)
    np.testing.assert_array_equal(got.x, want.x.reshape(len(atoms), len(ATOM_TYPES)))
    np.testing.assert_array_equal(got.edge_attr, want.edge_attr.reshape(-1, len(BOND_TYPES)))


def test_molecule_graph_layout():
    g = molecule_graph("CC(=O)O")
    assert g.x.shape == (4, len(ATOM_TYPES)) and g.edge_attr.shape == (6, len(BOND_TYPES))
    np.testing.assert_array_equal(g.x.sum(axis=1), 1.0)
    np.testing.assert_array_equal(g.edge_attr.sum(axis=1), 1.0)
    src, dst = g.edge_index
    assert np.all(np.lexsort((dst, src)) == np.arange(g.num_edges))  # sorted by (source, target)
    pairs = {(int(s), int(d)): int(k) for s, d, k in zip(src, dst, g.edge_attr.argmax(axis=1))}
    assert all(pairs[d, s] == k for (s, d), k in pairs.items())  # both directions, same bond type
    assert pairs[1, 2] == BOND_TYPES.index("double")


def test_molecule_graph_single_atom():
    g = molecule_graph("O", atom_types=("C", "O"))
    assert g.edge_index.shape == (2, 0) and g.edge_attr.shape == (0, len(BOND_TYPES))
    np.testing.assert_array_equal(g.x, [[0.0, 1.0]])


def test_molecule_graph_custom_vocabularies():
    g = molecule_graph("c1ccncc1", atom_types=("N", "C"), bond_types=("aromatic",))
    np.testing.assert_array_equal(g.x[:, 0], [0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(g.edge_attr, np.ones((12, 1)))


def test_molecule_graph_errors():
    with pytest.raises(ValueError, match=r"`smiles` 'CCO' has 'O', which is not in `atom_types` \('C',\)"):
        molecule_graph("CCO", atom_types=("C",))
    with pytest.raises(ValueError, match="has 'double', which is not in `bond_types`"):
        molecule_graph("C=C", bond_types=("single",))
    with pytest.raises(ValueError, match="position 1: unexpected character"):
        molecule_graph("C?")


# --- write_smiles -----------------------------------------------------------------

@pytest.mark.parametrize("smiles", list(EXPECTED))
def test_write_smiles_round_trip_of_examples(smiles):
    mol = EXPECTED[smiles]
    written = write_smiles(*mol)
    assert same_molecule(parse_smiles(written), mol)


def test_write_smiles_round_trip_after_relabelling():
    rng = np.random.default_rng(0)
    for _ in range(200):
        atoms, bonds = parse_smiles(random_molecule(int(rng.integers(1, 15)), rng=rng))
        perm = rng.permutation(len(atoms))  # old atom k becomes perm[k]: written from another start
        new_atoms = [None] * len(atoms)
        for k, a in enumerate(atoms):
            new_atoms[perm[k]] = a
        new_bonds = [(int(perm[i]), int(perm[j]), t) for i, j, t in bonds]
        assert same_molecule(parse_smiles(write_smiles(new_atoms, new_bonds)), (atoms, bonds))


def test_write_smiles_many_open_rings():
    # K_12 written depth first keeps more than nine rings open at once: two-digit closures.
    n = 12
    bonds = [(i, j, S) for i in range(n) for j in range(i + 1, n)]
    written = write_smiles(["C"] * n, bonds)
    assert "%10" in written
    assert same_molecule(parse_smiles(written), (["C"] * n, bonds))


def test_write_smiles_marks_unusual_bonds():
    assert write_smiles(["c", "c"], [(0, 1, S)]) == "c-c"   # single between aromatic atoms
    assert write_smiles(["C", "C"], [(0, 1, A)]) == "C:C"   # aromatic between aliphatic atoms
    assert write_smiles(["c", "c"], [(0, 1, A)]) == "cc"


@pytest.mark.parametrize("atoms, bonds, message", [
    ([], [], "`atoms` is empty"),
    (["C", "X"], [(0, 1, S)], r"`atoms` holds 'X': expected one of \('B', 'C'"),
    (["C", "cl"], [(0, 1, S)], "`atoms` holds 'cl'"),
    (["C", "cn"], [(0, 1, S)], "`atoms` holds 'cn'"),
    (["C", "C"], [(0, 1, S), (1, 0, S)], r"`bonds` holds \(1, 0, 'single'\): expected distinct atoms"),
    (["C", "C"], [(0, 0, S)], "expected distinct atoms in 0..1"),
    (["C", "C"], [(0, 2, S)], "expected distinct atoms in 0..1"),
    (["C", "C"], [(0, 1, "quadruple")], "a type in"),
    (["C", "C", "C"], [(0, 1, S)], "not connected: atom 0 reaches 2 of 3 atoms"),
])
def test_write_smiles_errors(atoms, bonds, message):
    with pytest.raises(ValueError, match=message):
        write_smiles(atoms, bonds)


# --- random_molecule --------------------------------------------------------------

def test_random_molecule_is_chemically_valid():
    rng = np.random.default_rng(1)
    seen_rings, seen_orders = set(), set()
    for _ in range(300):
        n = int(rng.integers(1, 13))
        atoms, bonds = parse_smiles(random_molecule(n, rng=rng))
        assert len(atoms) == n and set(atoms) <= {"C", "N", "O"}
        G = nx_molecule(atoms, bonds)
        assert nx.is_connected(G)
        order = {S: 1, D: 2, T: 3}
        used = np.zeros(n)
        for i, j, t in bonds:
            used[[i, j]] += order[t]
            if t == T:  # triple bonds only to end atoms
                assert min(G.degree(i), G.degree(j)) == 1
        assert np.all(used <= [VALENCE[a] for a in atoms])
        cycles = nx.cycle_basis(G)
        assert len(cycles) <= 1
        seen_rings.update(len(c) for c in cycles)
        seen_orders.update(t for _, _, t in bonds)
    assert seen_rings == {5, 6}
    assert seen_orders == {S, D, T}


def test_random_molecule_reproducible():
    assert random_molecule(9, rng=3) == random_molecule(9, rng=3)
    assert len({random_molecule(9, rng=s) for s in range(20)}) > 15
    assert random_molecule(1, rng=0) in {"C", "N", "O"}


def test_random_molecule_errors():
    with pytest.raises(ValueError, match="`num_atoms` must be >= 1, got 0"):
        random_molecule(0)
    with pytest.raises(TypeError, match="`num_atoms` must be an integer"):
        random_molecule(2.5)
    with pytest.raises(TypeError, match="`rng` must be a numpy Generator"):
        random_molecule(3, rng="seed")
