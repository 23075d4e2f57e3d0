r"""Real data sets, shipped with the package: the graphs the papers used, and a molecule set.

Usage guide
-----------
:func:`load` returns a data set by name, read from files inside the package (no
download). The node-classification graphs come with their standard splits:

>>> import mplib
>>> cora = mplib.datasets.load("cora")
>>> cora
NodeDataset(name='cora', num_nodes=2708, num_edges=10556, num_features=1433, num_classes=7, split=None)
>>> int(cora.train_mask.sum()), int(cora.val_mask.sum()), int(cora.test_mask.sum())
(140, 500, 1000)

=============  =====  ===========  ========  =======  ==========================
name           nodes  edges (both  features  classes  split
                      directions)
=============  =====  ===========  ========  =======  ==========================
``cora``       2708   10556        1433      7        Planetoid public split
``citeseer``   3327   9104         3703      6        Planetoid public split
``texas``      183    558          1703      5        10 Geom-GCN splits
``wisconsin``  251    900          1703      5        10 Geom-GCN splits
``cornell``    183    554          1703      5        10 Geom-GCN splits
=============  =====  ===========  ========  =======  ==========================

Cora and CiteSeer are citation graphs (a node is a paper, its features the words
it uses, its class the topic); both are strongly homophilous (about 81% and 74%
of edges join two papers of the same class). Texas, Wisconsin and Cornell are
web pages of university departments linked by hyperlinks, with classes such as
*student*, *faculty* or *course*: most links join pages of different classes.
``freesolv`` holds 642 small molecules with their measured hydration free energy
(kcal/mol), a regression target: see :func:`load`.

Where the files come from (repositories, commits, licences, checksums) is written in
``mplib/_datasets/PROVENANCE.md``; ``scripts/convert_datasets.py`` made them from
the files as published.
"""

import csv
import dataclasses
from importlib import resources

import numpy as np
import scipy.sparse as sp

from ._validate import check_int
from .graph import Graph

__all__ = ["NODE_DATASETS", "GRAPH_DATASETS", "NAMES", "NUM_SPLITS", "NodeDataset", "MoleculeDataset",
           "load", "freesolv_atom_features"]

NODE_DATASETS = ("cora", "citeseer", "texas", "wisconsin", "cornell")
GRAPH_DATASETS = ("freesolv",)
NAMES = NODE_DATASETS + GRAPH_DATASETS
NUM_SPLITS = 10

CITATIONS = {
    "cora": "Z. Yang, W. W. Cohen, R. Salakhutdinov, \"Revisiting Semi-Supervised Learning with Graph "
            "Embeddings\", ICML 2016 (Planetoid split of the Cora graph of Sen et al., AI Magazine 2008)",
    "citeseer": "Z. Yang, W. W. Cohen, R. Salakhutdinov, \"Revisiting Semi-Supervised Learning with Graph "
                "Embeddings\", ICML 2016 (Planetoid split of the CiteSeer graph of Sen et al., AI Magazine 2008)",
    "texas": "H. Pei, B. Wei, K. C.-C. Chang, Y. Lei, B. Yang, \"Geom-GCN: Geometric Graph Convolutional "
             "Networks\", ICLR 2020 (WebKB, CMU)",
    "freesolv": "D. L. Mobley, J. P. Guthrie, \"FreeSolv: a database of experimental and calculated hydration "
                "free energies, with input files\", J. Comput. Aided Mol. Des. 28, 711-720 (2014)",
}
CITATIONS["wisconsin"] = CITATIONS["cornell"] = CITATIONS["texas"]


def _choices_error(value, name, choices):
    return ValueError(f"`{name}` must be one of {', '.join(map(repr, choices))}; got {value!r}")


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class NodeDataset:
    """A graph whose nodes are to be classified, with a train / validation / test split.

    Attributes
    ----------
    name : str
    x : ndarray of float64, shape (N, F), or scipy.sparse.csr_array
        Node features (0/1 word indicators), sparse if ``load(..., sparse=True)``.
    edge_index : ndarray of int64, shape (2, E)
        Undirected: every edge in both directions, no duplicate, no self-loop,
        sorted by (target, source).
    y : ndarray of int64, shape (N,)
        Class of every node; ``-1`` for the 15 CiteSeer nodes without a label.
    train_mask, val_mask, test_mask : ndarray of bool, shape (N,)
        Disjoint; no node with ``y == -1`` is in any of them.
    num_classes : int
    citation : str
        Where the data set was published.
    split : int or None
        Which of the 10 WebKB splits the masks hold; ``None`` for Cora and CiteSeer
        (one public split).
    """

    name: str
    x: object
    edge_index: np.ndarray
    y: np.ndarray
    train_mask: np.ndarray
    val_mask: np.ndarray
    test_mask: np.ndarray
    num_classes: int
    citation: str
    split: object = None

    @property
    def num_nodes(self):
        """Number of nodes N."""
        return self.y.shape[0]

    @property
    def num_edges(self):
        """Number of directed edges E (twice the number of undirected ones)."""
        return self.edge_index.shape[1]

    @property
    def num_features(self):
        """Number of feature columns F."""
        return self.x.shape[1]

    def graph(self):
        """The same data as a :class:`~mplib.graph.Graph` (``x`` dense, ``y`` the labels)."""
        x = self.x.toarray() if sp.issparse(self.x) else self.x
        return Graph(self.edge_index, num_nodes=self.num_nodes, x=x, y=self.y)

    def __repr__(self):
        return (f"NodeDataset(name={self.name!r}, num_nodes={self.num_nodes}, num_edges={self.num_edges}, "
                f"num_features={self.num_features}, num_classes={self.num_classes}, split={self.split!r})")


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class MoleculeDataset:
    """Molecules with one real-valued target each, and a train / validation / test split of the molecules.

    Attributes
    ----------
    name : str
    graphs : list of Graph
        One per molecule: ``x`` atom features (:func:`freesolv_atom_features`),
        ``edge_index`` every bond in both directions, ``edge_attr`` the bond type
        one-hot (single, double, triple, aromatic), ``y`` the target (a float).
    y : ndarray of float64, shape (G,)
        The targets again, in one array.
    smiles, names : list of str
        The molecules as written in the source, and their IUPAC names.
    reference : ndarray of float64, shape (G,)
        A published prediction of the same target to compare with (for FreeSolv:
        the alchemical free-energy calculation of the database, column ``calc``).
    train_mask, val_mask, test_mask : ndarray of bool, shape (G,)
    unit : str
    citation : str
    split : int
    """

    name: str
    graphs: list
    y: np.ndarray
    smiles: list
    names: list
    reference: np.ndarray
    train_mask: np.ndarray
    val_mask: np.ndarray
    test_mask: np.ndarray
    unit: str
    citation: str
    split: int

    @property
    def num_graphs(self):
        """Number of molecules G."""
        return len(self.graphs)

    @property
    def num_features(self):
        """Number of atom-feature columns."""
        return self.graphs[0].x.shape[1]

    def __repr__(self):
        return (f"MoleculeDataset(name={self.name!r}, num_graphs={self.num_graphs}, "
                f"num_features={self.num_features}, unit={self.unit!r}, split={self.split})")


def _file(name):
    return resources.files("mplib").joinpath("_datasets", name)


def _mask(index, n):
    mask = np.zeros(n, dtype=bool)
    mask[index] = True
    return mask


def _load_node(name, split, sparse):
    with _file(f"{name}.npz").open("rb") as f, np.load(f) as d:
        n, f_ = (int(v) for v in d["x_shape"])
        indices = d["x_indices"].astype(np.int64)
        x = sp.csr_array((np.ones(indices.size), indices, d["x_indptr"].astype(np.int64)), shape=(n, f_))
        pairs = d["edges"].astype(np.int64)
        y = d["y"].astype(np.int64)
        if name in ("cora", "citeseer"):
            masks = [_mask(d[k], n) for k in ("train_index", "val_index", "test_index")]
            split = None
        else:
            masks = [d[k][split].copy() for k in ("train_mask", "val_mask", "test_mask")]
    src = np.concatenate([pairs[0], pairs[1]])
    dst = np.concatenate([pairs[1], pairs[0]])
    order = np.lexsort((src, dst))
    return NodeDataset(
        name=name, x=x if sparse else x.toarray(), edge_index=np.stack([src[order], dst[order]]),
        y=y, train_mask=masks[0], val_mask=masks[1], test_mask=masks[2],
        num_classes=int(y.max()) + 1, citation=CITATIONS[name], split=split)


# ---------------------------------------------------------------------- molecules

FREESOLV_ELEMENTS = ("C", "N", "O", "F", "P", "S", "Cl", "Br", "I")
_DEGREES = 5          # 0..4 heavy-atom neighbours
_HYDROGENS = 4        # 0..3 attached hydrogens
BOND_ORDER = ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC")


def _rdkit():
    try:
        from rdkit import Chem, RDLogger
    except ImportError as err:  # pragma: no cover - rdkit is in requirements.txt
        raise ImportError("the molecule data sets need RDKit to read SMILES: pip install rdkit") from err
    RDLogger.DisableLog("rdApp.*")
    return Chem


def freesolv_atom_features(mol):
    r"""Atom features of an RDKit molecule: 22 columns of 0/1 indicators.

    ========  =============================================================
    columns   meaning
    ========  =============================================================
    0-9       element: C, N, O, F, P, S, Cl, Br, I, other
    10-14     number of heavy-atom neighbours: 0, 1, 2, 3, 4 or more
    15-18     number of attached hydrogens: 0, 1, 2, 3 or more
    19        aromatic
    20        in a ring
    21        non-zero formal charge
    ========  =============================================================

    Parameters
    ----------
    mol : rdkit.Chem.Mol
        Hydrogens implicit (as :func:`rdkit.Chem.MolFromSmiles` returns it).

    Returns
    -------
    ndarray of float64, shape (num_atoms, 22)
    """
    rows = []
    for atom in mol.GetAtoms():
        row = np.zeros(22)
        symbol = atom.GetSymbol()
        row[FREESOLV_ELEMENTS.index(symbol) if symbol in FREESOLV_ELEMENTS else 9] = 1
        row[10 + min(atom.GetDegree(), _DEGREES - 1)] = 1
        row[15 + min(atom.GetTotalNumHs(), _HYDROGENS - 1)] = 1
        row[19] = atom.GetIsAromatic()
        row[20] = atom.IsInRing()
        row[21] = atom.GetFormalCharge() != 0
        rows.append(row)
    return np.array(rows).reshape(-1, 22)


def _molecule(Chem, smiles, target):
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot read the SMILES {smiles!r}")
    bonds = list(mol.GetBonds())
    ends = np.array([[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] for b in bonds], dtype=np.int64).reshape(-1, 2).T
    kinds = np.array([BOND_ORDER.index(str(b.GetBondType())) for b in bonds], dtype=np.int64)
    src, dst = np.concatenate([ends, ends[::-1]], axis=1)
    order = np.lexsort((src, dst))
    edge_attr = np.eye(len(BOND_ORDER))[np.concatenate([kinds, kinds])[order]].reshape(-1, len(BOND_ORDER))
    return Graph(np.stack([src[order], dst[order]]), num_nodes=mol.GetNumAtoms(),
                 x=freesolv_atom_features(mol), edge_attr=edge_attr, y=float(target))


def _load_freesolv(split):
    Chem = _rdkit()
    with _file("freesolv.csv").open("r", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    y = np.array([float(r["expt"]) for r in rows])
    graphs = [_molecule(Chem, r["smiles"], t) for r, t in zip(rows, y)]
    g = len(rows)
    order = np.random.default_rng(split).permutation(g)
    n_train, n_val = int(round(0.8 * g)), int(round(0.1 * g))
    masks = [_mask(order[:n_train], g), _mask(order[n_train:n_train + n_val], g), _mask(order[n_train + n_val:], g)]
    return MoleculeDataset(
        name="freesolv", graphs=graphs, y=y, smiles=[r["smiles"] for r in rows], names=[r["iupac"] for r in rows],
        reference=np.array([float(r["calc"]) for r in rows]), train_mask=masks[0], val_mask=masks[1],
        test_mask=masks[2], unit="kcal/mol", citation=CITATIONS["freesolv"], split=split)


def load(name, split=0, *, sparse=False):
    r"""Load a real data set shipped with mplib.

    Parameters
    ----------
    name : {"cora", "citeseer", "texas", "wisconsin", "cornell", "freesolv"}
        Case-insensitive.
    split : int in 0..9, default 0
        Which split the masks hold. Texas, Wisconsin and Cornell: one of the 10
        Geom-GCN splits (``*_split_0.6_0.2_<split>.npz``; despite the name each holds
        about 48% / 32% / 20% of the nodes for training / validation / test).
        FreeSolv: the seed of a random 80% / 10% / 10% split of the molecules (as
        MoleculeNet's random split). Cora and CiteSeer: ignored, since they have one
        public split (20 nodes per class train, 500 validate, 1000 test); it must
        still be an int in 0..9.
    sparse : bool, default False
        Node classification only: return ``x`` as a ``scipy.sparse.csr_array``
        instead of a dense array (CiteSeer's dense ``x`` takes 99 MB).

    Returns
    -------
    NodeDataset
        For the five graphs. ``edge_index`` holds every undirected edge in both
        directions, without duplicates; **self-loops are removed** (the raw CiteSeer
        and WebKB lists have some; add them back with
        :func:`mplib.graph.add_self_loops` where a model wants them).
    MoleculeDataset
        For ``"freesolv"`` (needs RDKit, which parses the SMILES).

    Raises
    ------
    ValueError
        If ``name`` or ``split`` is not one of the choices (the message lists them).
    TypeError
        If ``name`` is not a string.

    Notes
    -----
    CiteSeer has 15 nodes (linked in the graph) that the published files give
    no features and no label: their ``x`` rows are zero and ``y`` is ``-1``. They are
    in no mask; a loss computed on the masks never sees them, but
    :func:`mplib.train.fit` checks every entry of ``y``, so pass it
    ``np.maximum(data.y, 0)`` (the value of those rows does not matter).

    Texas and Cornell share one feature-and-label file in the source repository:
    their ``x`` and ``y`` are identical and only their edges differ.

    References
    ----------
    Z. Yang, W. Cohen, R. Salakhutdinov, "Revisiting Semi-Supervised Learning with
    Graph Embeddings", ICML 2016. H. Pei et al., "Geom-GCN: Geometric Graph
    Convolutional Networks", ICLR 2020. D. L. Mobley, J. P. Guthrie, "FreeSolv",
    J. Comput. Aided Mol. Des. 2014. Z. Wu et al., "MoleculeNet", Chem. Sci. 2018.

    Examples
    --------
    >>> texas = load("texas", split=3)
    >>> texas.num_nodes, texas.num_classes, int(texas.train_mask.sum())
    (183, 5, 87)
    >>> load("pubmed")
    Traceback (most recent call last):
    ...
    ValueError: `name` must be one of 'cora', 'citeseer', 'texas', 'wisconsin', 'cornell', 'freesolv'; got 'pubmed'
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string, one of {NAMES}; got {type(name).__name__}")
    key = name.lower()
    if key not in NAMES:
        raise _choices_error(name, "name", NAMES)
    if isinstance(split, bool) or not isinstance(split, (int, np.integer)) or not 0 <= split < NUM_SPLITS:
        raise _choices_error(split, "split", range(NUM_SPLITS))
    split = check_int(split, "split")
    if key == "freesolv":
        return _load_freesolv(split)
    return _load_node(key, split, bool(sparse))
